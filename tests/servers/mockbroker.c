/* mockbroker: a Kafka-protocol test broker in its own process.
 *
 *   mockbroker [--brokers N] [--topic NAME:PARTITIONS]... [--debug CTX]
 *
 * Runs librdkafka's mock cluster (rdkafka_mock.h) so that the built
 * daemon, kafkatool and any other client can talk to it over TCP on
 * 127.0.0.1. Prints "BOOTSTRAP host:port[,host:port...]" once the
 * cluster and its topics exist, then serves until SIGTERM or SIGINT.
 *
 * Optional commands on stdin, one per line, each answered on stdout with
 * "OK" or "ERR <why>":
 *   down <broker_id>            close the broker's listener and
 *                               connections (-1 or "all": every broker)
 *   up <broker_id>              listen again, on the same port
 *   topic <name> <partitions>   create a topic
 *   rtt <broker_id> <ms>        delay every response of that broker
 *   errors <api_key> <err>...   fail the next requests of that API
 *                               (e.g. "errors 0 6 6": two Produce
 *                               requests get NOT_LEADER_FOR_PARTITION)
 * EOF on stdin only ends the commands; the broker keeps running.
 *
 * What the 2.0.2 mock cluster does and does not do (read in
 * src/rdkafka_mock*.c at v2.0.2), so tests expect the right things:
 * - A Metadata request naming an unknown topic creates it with 4
 *   partitions unless the request says AllowAutoTopicCreation=false
 *   (only Metadata v4+ can say so). Producers ask by default, and a
 *   consumer's rd_kafka_topic_new() did too in testing, so a misspelled
 *   topic does not fail: create every topic a test uses up front
 *   (--topic), and list all topics to check that one exists.
 * - Replicas and leaders: every partition is replicated on
 *   min(3, N) brokers whatever replication factor is asked for, and its
 *   leader is picked at random among them. "down" does not move
 *   leadership, so partitions led by a down broker are unavailable
 *   until "up". The group coordinator is a hash of the group id over
 *   the brokers; with --brokers 1 "down 1" takes everything away.
 * - Consumer groups: the protocol is opaque to the mock, so
 *   cooperative-sticky works (the client does the incremental part).
 *   But the group protocol is "the leader's first protocol" and the mock
 *   rd_assert()s (aborts this process) if another member's first
 *   protocol differs: every member of a group must list the same
 *   partition.assignment.strategy first.
 * - Join timing: the first join of an empty group waits 3 s (like
 *   group.initial.rebalance.delay.ms). Any later rebalance (a member
 *   joins or leaves, or times out) waits session.timeout.ms - 1 s before
 *   electing a leader, even when every member has already rejoined; a
 *   cooperative hand-over needs two such rebalances. Keep
 *   session.timeout.ms small (e.g. 6000) in tests that scale out.
 * - Static membership (group.instance.id) is parsed and ignored: a
 *   restarted member is a new member, and the old one stays in the group
 *   until its session times out.
 * - OffsetCommit is refused with REBALANCE_IN_PROGRESS while the group
 *   is joining or syncing, with ILLEGAL_GENERATION for an old generation
 *   and UNKNOWN_MEMBER_ID from an evicted member; it is accepted while
 *   rebalancing, and never checked against the member's assignment.
 * - Idempotent producers get a producer id (InitProducerId works), but
 *   sequence numbers are only checked for transactional producers: a
 *   plain idempotent producer's retries are not de-duplicated and never
 *   see OUT_OF_ORDER_SEQUENCE_NUMBER. Transactions are accepted, but
 *   TxnOffsetCommit offsets are read and dropped (never committed).
 * - Each partition keeps at most 100000 message sets or 5 MiB; older
 *   ones are dropped (the log start offset moves), so size benchmarks
 *   with more partitions or compression.
 * - No SASL, no TLS, no CreateTopics/DeleteTopics API.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "../tools/parse_long.h"

#define MAX_LINE    1024
#define MAX_ERRORS  64
#define MAX_BROKERS 32

static volatile sig_atomic_t run = 1;

static void on_signal(int sig)
{
	(void)sig;
	run = 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mockbroker [--brokers N] "
	           "[--topic NAME:PARTITIONS]... [--debug CONTEXTS]\n");
}

/* A broker id as the mock takes it: 1..N, or -1 / "all" for every one. */
static int parse_broker_id(const char *s, int32_t *out)
{
	long v;

	if (strcmp(s, "all") == 0) {
		*out = -1;
		return 0;
	}
	if (parse_long(s, -1, INT32_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (int32_t)v;
	return 0;
}

static void reply(rd_kafka_resp_err_t err, const char *why)
{
	if (why)
		printf("ERR %s\n", why);
	else if (err)
		printf("ERR %s\n", rd_kafka_err2str(err));
	else
		printf("OK\n");
	fflush(stdout);
}

static void create_topic(rd_kafka_mock_cluster_t *mc, const char *name,
                         const char *parts_s)
{
	long parts;

	if (parse_long(parts_s, 1, 100000, &parts) < 0) {
		reply(0, "bad partition count");
		return;
	}
	reply(rd_kafka_mock_topic_create(mc, name, (int)parts, 1), NULL);
}

static void push_errors(rd_kafka_mock_cluster_t *mc, char **argv, int argc)
{
	rd_kafka_resp_err_t errs[MAX_ERRORS];
	long key, code;
	int i;

	if (argc < 3 || argc - 2 > MAX_ERRORS) {
		reply(0, "usage: errors <api_key> <err>...");
		return;
	}
	if (parse_long(argv[1], 0, INT16_MAX, &key) < 0) {
		reply(0, "bad api key");
		return;
	}
	for (i = 2; i < argc; i++) {
		if (parse_long(argv[i], -200, 1000, &code) < 0) {
			reply(0, "bad error code");
			return;
		}
		errs[i - 2] = (rd_kafka_resp_err_t)code;
	}
	rd_kafka_mock_push_request_errors_array(mc, (int16_t)key,
	                                        (size_t)(argc - 2), errs);
	reply(0, NULL);
}

/* Runs one command line (modified in place) and answers it. */
static void run_command(rd_kafka_mock_cluster_t *mc, char *line)
{
	char *argv[MAX_ERRORS + 3];
	char *save = NULL;
	char *tok;
	int argc = 0;
	int32_t id;
	long ms;

	for (tok = strtok_r(line, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0]))) {
			reply(0, "too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	if (argc == 0)
		return; /* blank lines are not commands: no answer */

	if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) &&
	    argc == 2) {
		if (parse_broker_id(argv[1], &id) < 0) {
			reply(0, "bad broker id");
			return;
		}
		if (argv[0][0] == 'd')
			reply(rd_kafka_mock_broker_set_down(mc, id), NULL);
		else
			reply(rd_kafka_mock_broker_set_up(mc, id), NULL);
	} else if (strcmp(argv[0], "topic") == 0 && argc == 3) {
		create_topic(mc, argv[1], argv[2]);
	} else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
		if (parse_broker_id(argv[1], &id) < 0) {
			reply(0, "bad broker id");
			return;
		}
		if (parse_long(argv[2], 0, INT_MAX / 1000, &ms) < 0) {
			reply(0, "bad rtt");
			return;
		}
		reply(rd_kafka_mock_broker_set_rtt(mc, id, (int)ms), NULL);
	} else if (strcmp(argv[0], "errors") == 0) {
		push_errors(mc, argv, argc);
	} else {
		reply(0, "unknown command or wrong arguments");
	}
}

/* Reads what stdin has and runs each complete line. Returns -1 at EOF
 * or on a read error, so the caller stops watching stdin. */
static int read_commands(rd_kafka_mock_cluster_t *mc, char *buf, size_t *len,
                         int *skipping)
{
	char *nl;
	ssize_t n;

	n = read(STDIN_FILENO, buf + *len, MAX_LINE - *len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	*len += (size_t)n;

	for (;;) {
		size_t used;

		nl = memchr(buf, '\n', *len);
		if (!nl)
			break;
		used = (size_t)(nl - buf) + 1;

		*nl = '\0';
		if (*skipping)
			*skipping = 0; /* the end of an over-long line */
		else
			run_command(mc, buf);
		memmove(buf, buf + used, *len - used);
		*len -= used;
	}
	if (*len == MAX_LINE) {
		/* Answer once, then drop the rest of the line: a client
		 * waiting for a reply must get one. */
		if (!*skipping)
			reply(0, "line too long");
		*skipping = 1;
		*len = 0;
	}
	return 0;
}

/* Serves commands until SIGTERM/SIGINT. The signals stay blocked except
 * inside ppoll(), so one arriving between checks is never lost. */
static void serve(rd_kafka_mock_cluster_t *mc, const sigset_t *waitmask)
{
	char buf[MAX_LINE + 1];
	size_t len = 0;
	int skipping = 0;
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

	while (run) {
		int r = ppoll(&pfd, 1, NULL, waitmask);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("mockbroker: ppoll");
			return;
		}
		if (r == 0 || pfd.fd < 0)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (read_commands(mc, buf, &len, &skipping) < 0)
				pfd.fd = -1; /* ppoll ignores it now */
		}
	}
}

static int parse_topic_arg(const char *arg, char *name, size_t size,
                           long *parts)
{
	const char *colon = strrchr(arg, ':');
	size_t n;

	if (!colon || colon == arg)
		return -EINVAL;
	n = (size_t)(colon - arg);
	if (n >= size)
		return -EINVAL;
	memcpy(name, arg, n);
	name[n] = '\0';
	return parse_long(colon + 1, 1, 100000, parts);
}

int main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	struct sigaction sa;
	sigset_t block, waitmask;
	const char *debug = NULL;
	long brokers = 1;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		if (strcmp(argv[i], "--brokers") == 0) {
			if (parse_long(argv[++i], 1, MAX_BROKERS, &brokers) <
			    0) {
				fprintf(stderr,
				        "mockbroker: bad --brokers "
				        "%s\n",
				        argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--debug") == 0) {
			debug = argv[++i];
		} else if (strcmp(argv[i], "--topic") != 0) {
			usage(stderr);
			return 2;
		} else {
			i++; /* topics are created once the cluster runs */
		}
	}

	/* Block the signals before librdkafka starts its threads, so they
	 * inherit the mask and only ppoll() in serve() takes them. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A test that stops reading our replies must not kill the broker. */
	signal(SIGPIPE, SIG_IGN);

	/* The mock cluster needs a client handle to run on; this producer
	 * is never used otherwise, and without bootstrap.servers it never
	 * connects anywhere. */
	conf = rd_kafka_conf_new();
	/* Level 5 would only say "no bootstrap.servers" about that unused
	 * producer; --debug needs level 7. */
	if (rd_kafka_conf_set(conf, "log_level", debug ? "7" : "4", errstr,
	                      sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    (debug && rd_kafka_conf_set(conf, "debug", debug, errstr,
	                                sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
		fprintf(stderr, "mockbroker: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 2;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "mockbroker: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	conf = NULL; /* rd_kafka_new took ownership */

	mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
	if (!mc) {
		fprintf(stderr, "mockbroker: cannot create mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}

	for (i = 1; i < argc; i++) {
		char name[256];
		rd_kafka_resp_err_t err;
		long parts;

		if (strcmp(argv[i], "--topic") != 0) {
			i++; /* skip the value of --brokers / --debug */
			continue;
		}
		i++;
		if (parse_topic_arg(argv[i], name, sizeof(name), &parts) < 0) {
			fprintf(stderr,
			        "mockbroker: bad --topic %s "
			        "(want NAME:PARTITIONS)\n",
			        argv[i]);
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 2;
		}
		err = rd_kafka_mock_topic_create(mc, name, (int)parts, 1);
		if (err) {
			fprintf(stderr, "mockbroker: topic %s: %s\n", name,
			        rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}

	printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	serve(mc, &waitmask);

	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
