#include "help.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <string.h>
#include <yaml.h>

#define WIDTH      79
#define OPT_COL    24 /* where an option's text starts */
#define EXIT_COL   8
#define OPT_INDENT 2

/* The dead-letter filters dlq and replay share (dlq_filter_option). */
#define FILTER_OPTIONS                                                        \
	{"-c, --config FILE", "the daemon's YAML configuration"},             \
	    {"--code CODE", "only dead letters with this error code (e.g. "   \
	                    "forbidden, validation, not_found)"},             \
	    {"--key KEY", "only this customer key"},                          \
	{                                                                     \
		"--since TIME",                                               \
		    "only dead letters written at or after TIME: "            \
		    "2026-11-23T10:00:00Z, 2026-11-23, or a duration back "   \
		    "from now: 90s 15m 2h 7d"                                 \
	}
#define HELP_OPTION                                                           \
	{                                                                     \
		"-h, --help", "print this help and exit"                      \
	}

static const struct help_option top_options[] = {
    HELP_OPTION,
    {"-V, --version",
     "print custsync's version and the versions of the libraries it runs "
     "with (librdkafka and its built-in features, libcurl and its TLS "
     "library, cJSON, libyaml), then exit"},
    {NULL, NULL},
};

/* Each command's, together (custsync(1) has one EXIT STATUS). */
static const struct help_exit top_exits[] = {
    {0, "success; run: stopped by SIGTERM or SIGINT"},
    {64, "usage: an unknown command or option, a missing -c FILE"},
    {69, "dlq, replay: Kafka or the dead-letter topic cannot be reached"},
    {70, "run: an outcome could not be produced"},
    {74, "dlq: the listing cannot be written"},
    {75, "run: fatal Kafka client error"},
    {78, "configuration: FILE cannot be read or has problems; run: a "
         "consumer fenced by another with the same group.instance.id"},
    {0, NULL},
};

static const struct help_option config_options[] = {
    {"-c, --config FILE", "the YAML configuration (custsync.yaml(5)); "
                          "required"},
    HELP_OPTION,
    {NULL, NULL},
};

static const struct help_exit run_exits[] = {
    {0, "stopped by SIGTERM or SIGINT, also while still starting"},
    {64, "usage"},
    {70, "an outcome could not be produced; its event is processed again "
         "after the restart"},
    {75, "fatal Kafka client error"},
    {78, "configuration, or a consumer fenced by another with the same "
         "group.instance.id (a restart would fence the other in turn)"},
    {0, NULL},
};

static const struct help_exit check_exits[] = {
    {0, "the configuration is valid (warnings, if any, on stderr)"},
    {64, "usage"},
    {78, "FILE cannot be read or has problems"},
    {0, NULL},
};

static const struct help_option dlq_options[] = {
    FILTER_OPTIONS,
    {"--json", "one JSON object per line, every field and the full "
               "message, no header"},
    HELP_OPTION,
    {NULL, NULL},
};

static const struct help_exit dlq_exits[] = {
    {0, "listed, also when stopped early by SIGINT or SIGTERM"},
    {64, "usage"},
    {69, "the dead-letter topic cannot be read (broker unreachable, no "
         "such topic)"},
    {74, "the listing cannot be written"},
    {78, "configuration"},
    {0, NULL},
};

static const struct help_option replay_options[] = {
    FILTER_OPTIONS,
    {"--dry-run", "print what each would do (create, the patch it would "
                  "send, delete, stale) with reads only; write, produce "
                  "and commit nothing"},
    {"--force", "replay stale dead letters too (a later change of the key "
                "was already applied)"},
    {"--from-beginning", "read the dead-letter topic from its start, not "
                         "from where the last replay stopped; dead "
                         "letters already replayed stay done"},
    HELP_OPTION,
    {NULL, NULL},
};

static const struct help_exit replay_exits[] = {
    {0, "replayed, also after SIGTERM (the next replay continues)"},
    {64, "usage"},
    {69, "Kafka unreachable"},
    {78, "configuration"},
    {0, NULL},
};

static const struct help_command commands[] = {
    {
        .name = NULL,
        .args = "COMMAND [OPTIONS]",
        .text = "Syncs customer change events from Kafka into a partner's "
                "customer REST API: each event becomes a create, partial "
                "update or delete; one outcome per event goes to the "
                "results topic, and what cannot be applied to the "
                "dead-letter topic.\n"
                "Every command reads the YAML configuration named by -c "
                "(see custsync.yaml(5)). custsync COMMAND --help "
                "describes a command and its options.\n",
        .options = top_options,
        .exits = top_exits,
    },
    {
        .name = "run",
        .args = "-c FILE",
        .summary = "run in the foreground until SIGTERM or SIGINT",
        .text = "Consumes the input topics and applies each event to the "
                "partner's API, as the systemd service custsync@NAME "
                "does. Logs go to stderr; under systemd it reports "
                "READY=1, STATUS= and WATCHDOG=1. On SIGTERM or SIGINT it "
                "stops taking events, lets requests in flight finish "
                "(worker.shutdown_timeout_ms), flushes outcomes, commits "
                "offsets and leaves the consumer group.\n",
        .options = config_options,
        .exits = run_exits,
    },
    {
        .name = "check-config",
        .args = "-c FILE",
        .summary = "validate FILE; FILE:LINE:COL: message per problem",
        .text = "Checks FILE as run would load it, without connecting to "
                "anything: every key, type and bound, ${VAR} expansions, "
                "the *_file secrets, and each kafka.properties entry as "
                "librdkafka's own configuration sees it. Prints every "
                "problem as FILE:LINE:COL: message, or FILE: "
                "configuration OK. Secret files that group or others can "
                "read are warned about by name.\n",
        .options = config_options,
        .exits = check_exits,
    },
    {
        .name = "dlq",
        .args = "-c FILE [--code CODE] [--key KEY] [--since TIME] [--json]",
        .summary = "list dead letters",
        .text = "Lists the dead letters on the dead-letter topic, up to "
                "its end as it is now: partition, offset, time, customer "
                "key, event_id, error code, HTTP status, message "
                "(shortened), attempts and how many times the event was "
                "replayed. Commits nothing.\n"
                "Rows come in offset order per partition; a summary line "
                "goes to stderr. SIGINT or SIGTERM stops the reading "
                "early.\n",
        .options = dlq_options,
        .exits = dlq_exits,
    },
    {
        .name = "replay",
        .args = "-c FILE [--code CODE] [--key KEY] [--since TIME] "
                "[--dry-run] [--force] [--from-beginning]",
        .summary = "run dead letters through the sync path again",
        .text = "Runs dead letters through the sync path again, from "
                "where the previous replay stopped (consumer group "
                "GROUP_ID.replay) up to the end of the dead-letter topic "
                "as it is now. Each replayed event gets an outcome with a "
                "\"replay\" member; one that fails again goes back to the "
                "dead-letter topic. Dead letters the filters pass over "
                "stay for a later replay.\n"
                "Prints one line per replayed dead letter and a "
                "summary.\n",
        .options = replay_options,
        .exits = replay_exits,
    },
};

const struct help_command *help_at(size_t i)
{
	return i < sizeof(commands) / sizeof(commands[0]) ? &commands[i]
	                                                  : NULL;
}

const struct help_command *help_find(const char *name)
{
	const struct help_command *c;

	for (size_t i = 0; (c = help_at(i)) != NULL; i++)
		if (name ? c->name && strcmp(c->name, name) == 0 : !c->name)
			return c;
	return NULL;
}

/* The next word of s: up to a space outside brackets, so that an
 * optional "[--since TIME]" is never split across lines. */
static size_t word_len(const char *s, size_t n)
{
	size_t i = 0;
	int depth = 0;

	for (; i < n && (depth > 0 || s[i] != ' '); i++) {
		if (s[i] == '[')
			depth++;
		else if (s[i] == ']' && depth > 0)
			depth--;
	}
	return i;
}

/* Writes s[0, n) filled to WIDTH, continuing from column col with the
 * lines after the first indented by indent. Returns the column. */
static int fill(FILE *out, const char *s, size_t n, int col, int indent)
{
	size_t i = 0;
	int first = 1;

	while (i < n) {
		size_t w;

		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		w = word_len(s + i, n - i);
		if (!first && col + 1 + (int)w > WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', out);
			col++;
		}
		fwrite(s + i, 1, w, out);
		col += (int)w;
		i += w;
		first = 0;
	}
	return col;
}

static void print_paragraphs(FILE *out, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);

		fputc('\n', out);
		fill(out, text, n, 0, 0);
		fputc('\n', out);
		text += n + (nl != NULL);
	}
}

/* "  LABEL" then text from column at, or from the next line when LABEL
 * is too long to leave room. */
static void print_item(FILE *out, const char *label, const char *text, int at)
{
	int col = fprintf(out, "%*s%s", OPT_INDENT, "", label);

	if (col + 2 > at) {
		fputc('\n', out);
		col = 0;
	}
	fprintf(out, "%*s", at - col, "");
	fill(out, text, strlen(text), at, at);
	fputc('\n', out);
}

static void print_usage_line(FILE *out, const struct help_command *c)
{
	int col = fprintf(out, "usage: custsync%s%s ", c->name ? " " : "",
	                  c->name ? c->name : "");

	fill(out, c->args, strlen(c->args), col, col);
	fputc('\n', out);
	if (!c->name)
		fputs("       custsync --help | --version\n", out);
}

/* "dlq -c FILE [...]": the command and its required arguments. */
static void print_command_item(FILE *out, const struct help_command *c)
{
	const char *opt = strstr(c->args, " [");
	char label[64];

	snprintf(label, sizeof(label), "%s %.*s%s", c->name,
	         opt ? (int)(opt - c->args) : (int)strlen(c->args), c->args,
	         opt ? " [...]" : "");
	print_item(out, label, c->summary, OPT_COL);
}

void help_print(FILE *out, const char *name)
{
	const struct help_command *c = help_find(name), *sub;

	if (!c)
		return;
	print_usage_line(out, c);
	print_paragraphs(out, c->text);
	if (!c->name) {
		fputs("\ncommands:\n", out);
		for (size_t i = 0; (sub = help_at(i)) != NULL; i++)
			if (sub->name)
				print_command_item(out, sub);
	}
	fputs("\noptions:\n", out);
	for (const struct help_option *o = c->options; o->flags; o++)
		print_item(out, o->flags, o->text, OPT_COL);
	fputs("\nexit status:\n", out);
	for (const struct help_exit *e = c->exits; e->text; e++) {
		char label[16];

		snprintf(label, sizeof(label), "%d", e->status);
		print_item(out, label, e->text, EXIT_COL);
	}
}

void help_usage(FILE *out, const char *name)
{
	const struct help_command *c = help_find(name);

	if (!c)
		return;
	print_usage_line(out, c);
	if (name)
		fprintf(out, "Run 'custsync %s --help' for its options.\n",
		        name);
	else
		fputs("Run 'custsync --help' for the commands.\n", out);
}

/* librdkafka's builtin.features, which says whether SASL, SSL, zstd...
 * are there: what a secured cluster's failure first needs checked. */
static void print_rdkafka(FILE *out)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char features[512];
	size_t n = sizeof(features);

	fprintf(out, "librdkafka %s", rd_kafka_version_str());
	if (conf && rd_kafka_conf_get(conf, "builtin.features", features,
	                              &n) == RD_KAFKA_CONF_OK)
		fprintf(out, " (builtin.features=%s)", features);
	fputc('\n', out);
	if (conf)
		rd_kafka_conf_destroy(conf);
}

void help_version(FILE *out)
{
	const curl_version_info_data *curl =
	    curl_version_info(CURLVERSION_NOW);

	fprintf(out, "custsync %s\n", CUSTSYNC_VERSION);
	print_rdkafka(out);
	fprintf(out, "libcurl %s (%s)\n", curl->version,
	        curl->ssl_version ? curl->ssl_version : "no TLS");
	fprintf(out, "cJSON %s\n", cJSON_Version());
	fprintf(out, "libyaml %s\n", yaml_get_version_string());
}
