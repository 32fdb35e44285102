/* custsync dlq: what is on the dead-letter topic, one row per dead
 * letter. Reads up to the end the topic has now; never commits. */
#include "replay/dlq_cmd.h"

#include "cli.h"
#include "help.h"
#include "config/config.h"
#include "core/deadletter.h"
#include "lib/utf8.h"
#include "ops/log.h"
#include "core/outcome.h"
#include "edge/scan.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define MESSAGE_COLUMN 60

struct listing {
	const struct config *cfg;
	struct dlq_filter filter;
	int json;
	size_t read, shown, foreign;
};

/* s as one table cell (caller frees): on one line, bytes that are not
 * UTF-8 shown as '?', at most max code points (0: any) with "..."
 * marking a cut. Headers and keys come from whoever wrote the record, so
 * nothing in them may break the table or the terminal. */
static char *cell(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, o = 0, chars = 0, keep;
	char *out = malloc(n + 4);

	if (!out)
		return NULL;
	for (i = 0; i < n; chars++) {
		size_t len = utf8_char(u + i, n - i);

		i += len ? len : 1;
	}
	keep = max && chars > max ? max - 3 : chars;
	for (i = 0; keep > 0; keep--) {
		size_t len = utf8_char(u + i, n - i);

		if (!len)
			out[o++] = '?';
		else if (len == 1 && (u[i] < 0x20 || u[i] == 0x7F))
			out[o++] = ' ';
		else {
			memcpy(out + o, u + i, len);
			o += len;
		}
		i += len ? len : 1;
	}
	if (max && chars > max) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* s with every byte that is not UTF-8 replaced by U+FFFD, so each line
 * of --json stays valid JSON (cJSON escapes, but does not check). */
static char *json_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0;
	char *out = malloc(3 * n + 1);

	if (!out)
		return NULL;
	while (i < n) {
		size_t len = utf8_char(u + i, n - i);

		if (!len) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, u + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	return out;
}

static void add_text(cJSON *o, const char *name, const char *s)
{
	char *t = json_text(s);

	cJSON_AddStringToObject(o, name, t ? t : "");
	free(t);
}

static void print_header(void)
{
	printf("%-4s %-8s %-24s %-16s %-24s %-18s %-4s %-3s %-3s %s\n", "PART",
	       "OFFSET", "TIME", "KEY", "EVENT_ID", "CODE", "HTTP", "ATT",
	       "RPL", "MESSAGE");
}

static void print_row(const struct dead_letter *dl)
{
	char when[32], http[24] = "-";
	char *key = cell(dl->key[0] ? dl->key : "-", 0);
	char *id = cell(dl->event_id[0] ? dl->event_id : "-", 0);
	char *code = cell(dl->code, 0);
	char *msg = cell(dl->message, MESSAGE_COLUMN);

	/* A record without a usable timestamp shows "-", like HTTP. */
	if (outcome_time(dl->timestamp_ms, when, sizeof(when)))
		snprintf(when, sizeof(when), "-");
	if (dl->http_status > 0)
		snprintf(http, sizeof(http), "%ld", dl->http_status);
	printf("%-4d %-8lld %-24s %-16s %-24s %-18s %-4s %-3d %-3d %s\n",
	       (int)dl->partition, (long long)dl->offset, when,
	       key ? key : "?", id ? id : "?", code ? code : "?", http,
	       dl->attempts, dl->replay_count, msg ? msg : "?");
	free(code);
	free(key);
	free(id);
	free(msg);
}

static void print_json(const struct dead_letter *dl)
{
	cJSON *o = cJSON_CreateObject(), *src;
	char when[32], *text;

	if (!o)
		return;
	cJSON_AddNumberToObject(o, "partition", dl->partition);
	cJSON_AddNumberToObject(o, "offset", (double)dl->offset);
	/* null: the record has no timestamp (or none that is a date). */
	if (outcome_time(dl->timestamp_ms, when, sizeof(when)))
		cJSON_AddNullToObject(o, "time");
	else
		cJSON_AddStringToObject(o, "time", when);
	add_text(o, "key", dl->key);
	add_text(o, "event_id", dl->event_id);
	add_text(o, "code", dl->code);
	add_text(o, "message", dl->message);
	if (dl->http_status > 0)
		cJSON_AddNumberToObject(o, "http_status", dl->http_status);
	else
		cJSON_AddNullToObject(o, "http_status");
	cJSON_AddNumberToObject(o, "attempts", dl->attempts);
	cJSON_AddNumberToObject(o, "replay_count", dl->replay_count);
	add_text(o, "failed_at", dl->failed_at);
	src = cJSON_AddObjectToObject(o, "source");
	if (src && dl->source_topic) {
		add_text(src, "topic", dl->source_topic);
		cJSON_AddNumberToObject(src, "partition",
		                        dl->source_partition);
		cJSON_AddNumberToObject(src, "offset",
		                        (double)dl->source_offset);
	}
	text = cJSON_PrintUnformatted(o);
	if (text)
		puts(text);
	free(text);
	cJSON_Delete(o);
}

static int on_record(void *arg, const rd_kafka_message_t *m)
{
	struct listing *l = arg;
	struct dead_letter dl;

	l->read++;
	if (dead_letter_parse(l->cfg, m, &dl)) {
		l->foreign++;
		fprintf(stderr,
		        "custsync dlq: partition %d offset %lld is not a "
		        "custsync dead letter (no %s header), skipped\n",
		        (int)m->partition, (long long)m->offset,
		        dead_letter_header_name(DL_HDR_ERROR_CODE));
		return 0;
	}
	if (dlq_filter_match(&l->filter, &dl)) {
		if (!l->shown && !l->json)
			print_header();
		l->shown++;
		if (l->json)
			print_json(&dl);
		else
			print_row(&dl);
	}
	dead_letter_done(&dl);
	/* A closed pipe or a full disk: reading on is pointless. */
	return ferror(stdout) ? 2 : 0;
}

static int parse_args(int argc, char **argv, const char **config,
                      struct listing *l)
{
	enum { O_JSON = 1000 };
	static const struct option opts[] = {
	    DLQ_FILTER_OPTIONS,
	    {"json", no_argument, NULL, O_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		int r = dlq_filter_option(c, optarg, config, &l->filter);

		if (r < 0)
			return EX_USAGE;
		if (r > 0)
			continue;
		if (c == O_JSON) {
			l->json = 1;
		} else if (c == 'h') {
			help_print(stdout, "dlq");
			return -1;
		} else {
			help_usage(stderr, "dlq");
			return EX_USAGE;
		}
	}
	if (optind != argc || !*config) {
		fprintf(stderr, "custsync dlq: %s\n",
		        *config ? "unexpected argument"
		                : "-c FILE is required");
		help_usage(stderr, "dlq");
		return EX_USAGE;
	}
	return 0;
}

int dlq_command(int argc, char **argv)
{
	struct listing l = {0};
	struct scan_opts so = {.timeout_ms = 10000, .stop = &cli_stop};
	const char *path = NULL;
	struct config cfg;
	char err[512] = "";
	int rc = parse_args(argc, argv, &path, &l);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	if (cli_start(path, &cfg))
		return EX_CONFIG;
	l.cfg = &cfg;
	so.topic = cfg.kafka.dead_letter_topic;
	/* Dead letters are written in time order, so --since can skip. */
	so.since_ms = l.filter.since_ms;
	rc =
	    scan_topic(&cfg, &so, on_record, &l, NULL, NULL, err, sizeof(err));
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "custsync dlq: cannot write the listing\n");
		rc = EX_IOERR;
	} else if (rc < 0) {
		fprintf(stderr, "custsync dlq: %s\n", err);
		rc = EX_UNAVAILABLE;
	} else {
		fprintf(stderr, "%zu dead letter%s shown, %zu read", l.shown,
		        l.shown == 1 ? "" : "s", l.read);
		if (l.foreign)
			fprintf(stderr, ", %zu of them not dead letters",
			        l.foreign);
		fprintf(stderr, "%s\n", rc == 1 ? " (interrupted)" : "");
		rc = EX_OK;
	}
	config_done(&cfg);
	return rc;
}
