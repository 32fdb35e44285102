/* custsync: Kafka customer change events -> a partner's customer API.
 * The CLI, signals and process lifetime; the work is in worker.c. */
#include "cli.h"
#include "config/config.h"
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

static void usage(FILE *f)
{
	fputs("usage: custsync COMMAND [OPTIONS]\n"
	      "\n"
	      "Syncs customer change events from Kafka into a partner's\n"
	      "customer API; one outcome per event on the results topic,\n"
	      "what cannot be applied on the dead-letter topic.\n"
	      "\n"
	      "commands:\n"
	      "  run -c FILE           run in the foreground until SIGTERM\n"
	      "  check-config -c FILE  validate FILE; exit 0, or 78 with\n"
	      "                        FILE:LINE:COL: message per problem\n"
	      "  dlq -c FILE [...]     list dead letters (dlq --help)\n"
	      "  replay -c FILE [...]  replay dead letters (replay --help)\n"
	      "  --version             print the version\n"
	      "  --help                print this help\n"
	      "\n"
	      "options:\n"
	      "  -c, --config FILE     the YAML configuration\n",
	      f);
}

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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = NULL, *path = NULL;
	int c;

	cli_signals();
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	/* Commands with options of their own parse them themselves. */
	if (cmd && strcmp(cmd, "replay") == 0)
		return replay_command(argc, argv);
	if (cmd && strcmp(cmd, "dlq") == 0)
		return dlq_command(argc, argv);
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf("custsync %s\n", CUSTSYNC_VERSION);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!cmd || optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!path &&
	    (strcmp(cmd, "run") == 0 || strcmp(cmd, "check-config") == 0)) {
		fprintf(stderr, "custsync %s: -c FILE is required\n", cmd);
		return EX_USAGE;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(path);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check(path);
	fprintf(stderr, "custsync: unknown command '%s'\n", cmd);
	usage(stderr);
	return EX_USAGE;
}
