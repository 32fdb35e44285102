/* custsync: Kafka customer change events -> a partner's customer API.
 * The CLI, signals and process lifetime; the work is in worker.c. */
#include "cli.h"
#include "config/config.h"
#include "help.h"
#include "lib/jsonpool.h"
#include "replay/dlq_cmd.h"
#include "ops/log.h"
#include "replay/replay.h"
#include "daemon/worker.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static int cmd_check(const char *path)
{
	struct config cfg;

	if (config_load_report(path, &cfg))
		return EX_CONFIG;
	config_done(&cfg);
	printf("%s: configuration OK\n", path);
	return EX_OK;
}

static int cmd_run(const char *path)
{
	struct config cfg;
	struct worker *w;
	char err[512] = "";
	int rc;

	if (cli_start(path, &cfg))
		return EX_CONFIG;
	/* A stop asked for while starting ends here, cleanly: before any
	 * connection, then before the loop (which would honour it too). */
	if (cli_stop) {
		log_info("stopped while starting");
		config_done(&cfg);
		return EX_OK;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		config_done(&cfg);
		return EX_SOFTWARE;
	}
	w = worker_new(&cfg, NULL, NULL, err, sizeof(err));
	if (!w) {
		/* Almost always a kafka.properties or target setting. */
		log_err("cannot start: %s", err);
		curl_global_cleanup();
		config_done(&cfg);
		return EX_CONFIG;
	}
	if (cli_stop) {
		log_info("stopped while starting");
		rc = EX_OK;
	} else {
		rc = worker_run(w, &cli_stop);
	}
	worker_free(w);
	curl_global_cleanup();
	config_done(&cfg);
	return rc;
}

/* custsync --help | --version: the options before any command. */
static int top_options(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c = getopt_long(argc, argv, "hV", opts, NULL);

	if (c == 'h' && optind == argc) {
		help_print(stdout, NULL);
		return EX_OK;
	}
	if (c == 'V' && optind == argc) {
		help_version(stdout);
		return EX_OK;
	}
	help_usage(stderr, NULL);
	return EX_USAGE;
}

/* run and check-config: -c FILE, or --help. */
static int config_command(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			help_print(stdout, cmd);
			return EX_OK;
		default:
			help_usage(stderr, cmd);
			return EX_USAGE;
		}
	}
	if (optind != argc || !path) {
		fprintf(stderr, "custsync %s: %s\n", cmd,
		        path ? "unexpected argument" : "-c FILE is required");
		help_usage(stderr, cmd);
		return EX_USAGE;
	}
	return strcmp(cmd, "run") == 0 ? cmd_run(path) : cmd_check(path);
}

static int command(int argc, char **argv)
{
	const char *cmd = NULL;

	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	if (!cmd)
		return top_options(argc, argv);
	/* Commands with options of their own parse them themselves. */
	if (strcmp(cmd, "replay") == 0)
		return replay_command(argc, argv);
	if (strcmp(cmd, "dlq") == 0)
		return dlq_command(argc, argv);
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check-config") == 0)
		return config_command(cmd, argc, argv);
	fprintf(stderr, "custsync: unknown command '%s'\n", cmd);
	help_usage(stderr, NULL);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	int rc;

	cli_signals();
	/* Every cJSON tree allocates through the pool (lib/jsonpool.h):
	 * about a tenth of the instructions per event were malloc and free
	 * of its nodes. */
	jsonpool_install();
	rc = command(argc, argv);
	jsonpool_drain();
	return rc;
}
