#include "cli.h"

#include "config/config.h"
#include "ops/log.h"

#include <string.h>
#include <sysexits.h>

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cli_start(const char *path, struct config *cfg)
{
	if (config_load_report(path, cfg))
		return EX_CONFIG;
	log_setup(cfg->log.level, cfg->log.format == LOG_FORMAT_JSON);
	return 0;
}
