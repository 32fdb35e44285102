/* worker/ops/metrics.c: the exposition text, librdkafka statistics, the
 * health rule, the listen address (and its config key) and the server. */
#include "config/config.h"
#include "ops/metrics.h"
#include "core/request.h"
#include "core/sync.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Reports of a librdkafka 2.0.2 consumer against the mock cluster (a
 * 3-partition erp.customers topic; histograms cut to a few fields):
 * steady with an assignment, the same after its only broker went away,
 * and waiting for the group's first join. */
static const char STATS_STEADY[] =
    "{\"name\":\"rdkafka#consumer-1\",\"client_id\":\"rdkafka\",\"type\":"
    "\"consumer\",\"ts\":8824848981,\"time\":1795473208,\"age\":11004344,"
    "\"replyq\":0,\"msg_cnt\":0,\"msg_size\":0,\"msg_max\":0,\"msg_size_m"
    "ax\":0,\"simple_cnt\":0,\"metadata_cache_cnt\":1,\"brokers\":{\"127."
    "0.0.1:39639/1\":{\"name\":\"127.0.0.1:39639/1\",\"nodeid\":1,\"noden"
    "ame\":\"127.0.0.1:39639\",\"source\":\"configured\",\"state\":\"UP\""
    ",\"stateage\":10999905,\"outbuf_cnt\":0,\"outbuf_msg_cnt\":0,\"waitr"
    "esp_cnt\":1,\"waitresp_msg_cnt\":0,\"tx\":26,\"txbytes\":2784,\"txer"
    "rs\":0,\"txretries\":0,\"txidle\":335631,\"req_timeouts\":0,\"rx\":2"
    "5,\"rxbytes\":3140,\"rxerrs\":0,\"rxcorriderrs\":0,\"rxpartial\":0,"
    "\"rxidle\":335732,\"zbuf_grow\":0,\"buf_grow\":0,\"wakeups\":70,\"co"
    "nnects\":1,\"disconnects\":0,\"int_latency\":{\"min\":0,\"max\":0,\""
    "avg\":0,\"p99\":0,\"cnt\":0},\"outbuf_latency\":{\"min\":17,\"max\":"
    "62,\"avg\":39,\"p99\":62,\"cnt\":2},\"rtt\":{\"min\":501027,\"max\":"
    "501155,\"avg\":501091,\"p99\":501759,\"cnt\":2},\"throttle\":{\"min"
    "\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"req\":{\"Fetch\":17,"
    "\"ListOffsets\":3,\"Metadata\":2,\"OffsetCommit\":0,\"OffsetFetch\":"
    "0,\"FindCoordinator\":2},\"toppars\":{\"erp.customers-0\":{\"topic\""
    ":\"erp.customers\",\"partition\":0},\"erp.customers-1\":{\"topic\":"
    "\"erp.customers\",\"partition\":1},\"erp.customers-2\":{\"topic\":\""
    "erp.customers\",\"partition\":2}}},\"GroupCoordinator\":{\"name\":\""
    "GroupCoordinator\",\"nodeid\":1,\"nodename\":\"127.0.0.1:39639\",\"s"
    "ource\":\"logical\",\"state\":\"UP\",\"stateage\":10999081,\"outbuf_"
    "cnt\":0,\"outbuf_msg_cnt\":0,\"waitresp_cnt\":0,\"waitresp_msg_cnt\""
    ":0,\"tx\":11,\"txbytes\":589,\"txerrs\":0,\"txretries\":0,\"txidle\""
    ":1984720,\"req_timeouts\":0,\"rx\":11,\"rxbytes\":679,\"rxerrs\":0,"
    "\"rxcorriderrs\":0,\"rxpartial\":0,\"rxidle\":1984711,\"zbuf_grow\":"
    "0,\"buf_grow\":0,\"wakeups\":36,\"connects\":1,\"disconnects\":0,\"i"
    "nt_latency\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"o"
    "utbuf_latency\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},"
    "\"rtt\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"thrott"
    "le\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"req\":{\""
    "Fetch\":0,\"ListOffsets\":0,\"Metadata\":2,\"OffsetCommit\":1,\"Offs"
    "etFetch\":1,\"FindCoordinator\":0},\"toppars\":{}}},\"topics\":{\"er"
    "p.customers\":{\"topic\":\"erp.customers\",\"age\":7995,\"metadata_a"
    "ge\":7995,\"batchsize\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"c"
    "nt\":0},\"batchcnt\":{\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt"
    "\":0},\"partitions\":{\"0\":{\"partition\":0,\"broker\":1,\"leader\""
    ":1,\"desired\":true,\"unknown\":false,\"msgq_cnt\":0,\"msgq_bytes\":"
    "0,\"xmit_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetchq_cnt\":0,\"fetch"
    "q_size\":0,\"fetch_state\":\"active\",\"query_offset\":-2,\"next_off"
    "set\":0,\"app_offset\":-1001,\"stored_offset\":-1001,\"commited_offs"
    "et\":-1001,\"committed_offset\":-1001,\"eof_offset\":0,\"lo_offset\""
    ":0,\"hi_offset\":0,\"ls_offset\":0,\"consumer_lag\":-1,\"consumer_la"
    "g_stored\":-1,\"txmsgs\":0,\"txbytes\":0,\"rxmsgs\":0,\"rxbytes\":0,"
    "\"msgs\":0,\"rx_ver_drops\":0,\"msgs_inflight\":0,\"next_ack_seq\":0"
    ",\"next_err_seq\":0,\"acked_msgid\":0},\"1\":{\"partition\":1,\"brok"
    "er\":1,\"leader\":1,\"desired\":true,\"unknown\":false,\"msgq_cnt\":"
    "0,\"msgq_bytes\":0,\"xmit_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetch"
    "q_cnt\":0,\"fetchq_size\":0,\"fetch_state\":\"active\",\"query_offse"
    "t\":-2,\"next_offset\":1,\"app_offset\":1,\"stored_offset\":1,\"comm"
    "ited_offset\":1,\"committed_offset\":1,\"eof_offset\":1,\"lo_offset"
    "\":0,\"hi_offset\":1,\"ls_offset\":1,\"consumer_lag\":0,\"consumer_l"
    "ag_stored\":0,\"txmsgs\":0,\"txbytes\":0,\"rxmsgs\":1,\"rxbytes\":2,"
    "\"msgs\":1,\"rx_ver_drops\":0,\"msgs_inflight\":0,\"next_ack_seq\":0"
    ",\"next_err_seq\":0,\"acked_msgid\":0},\"2\":{\"partition\":2,\"brok"
    "er\":1,\"leader\":1,\"desired\":true,\"unknown\":false,\"msgq_cnt\":"
    "0,\"msgq_bytes\":0,\"xmit_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetch"
    "q_cnt\":0,\"fetchq_size\":0,\"fetch_state\":\"active\",\"query_offse"
    "t\":-2,\"next_offset\":1,\"app_offset\":1,\"stored_offset\":1,\"comm"
    "ited_offset\":1,\"committed_offset\":5,\"eof_offset\":1,\"lo_offset"
    "\":0,\"hi_offset\":12,\"ls_offset\":1,\"consumer_lag\":7,\"consumer_"
    "lag_stored\":0,\"txmsgs\":0,\"txbytes\":0,\"rxmsgs\":1,\"rxbytes\":2"
    ",\"msgs\":1,\"rx_ver_drops\":0,\"msgs_inflight\":0,\"next_ack_seq\":"
    "0,\"next_err_seq\":0,\"acked_msgid\":0},\"-1\":{\"partition\":-1,\"b"
    "roker\":-1,\"leader\":-1,\"desired\":false,\"unknown\":false,\"msgq_"
    "cnt\":0,\"msgq_bytes\":0,\"xmit_msgq_cnt\":0,\"xmit_msgq_bytes\":0,"
    "\"fetchq_cnt\":0,\"fetchq_size\":0,\"fetch_state\":\"none\",\"query_"
    "offset\":-1001,\"next_offset\":0,\"app_offset\":-1001,\"stored_offse"
    "t\":-1001,\"commited_offset\":-1001,\"committed_offset\":-1001,\"eof"
    "_offset\":-1001,\"lo_offset\":-1001,\"hi_offset\":-1001,\"ls_offset"
    "\":-1001,\"consumer_lag\":-1,\"consumer_lag_stored\":-1,\"txmsgs\":0"
    ",\"txbytes\":0,\"rxmsgs\":0,\"rxbytes\":0,\"msgs\":0,\"rx_ver_drops"
    "\":0,\"msgs_inflight\":0,\"next_ack_seq\":0,\"next_err_seq\":0,\"ack"
    "ed_msgid\":0}}}},\"cgrp\":{\"state\":\"up\",\"stateage\":10998,\"joi"
    "n_state\":\"steady\",\"rebalance_age\":7995,\"rebalance_cnt\":1,\"re"
    "balance_reason\":\"Metadata for subscribed topic(s) has changed\",\""
    "assignment_size\":3},\"tx\":37,\"tx_bytes\":3373,\"rx\":36,\"rx_byte"
    "s\":3819,\"txmsgs\":0,\"txmsg_bytes\":0,\"rxmsgs\":2,\"rxmsg_bytes\""
    ":4}";

static const char STATS_BROKERS_DOWN[] =
    "{\"name\":\"rdkafka#consumer-1\",\"client_id\":\"rdkafka\",\"type\":"
    "\"consumer\",\"ts\":8829849736,\"time\":1795473213,\"age\":16005099,"
    "\"replyq\":0,\"msg_cnt\":0,\"msg_size\":0,\"msg_max\":0,\"msg_size_m"
    "ax\":0,\"simple_cnt\":0,\"metadata_cache_cnt\":1,\"brokers\":{\"127."
    "0.0.1:39639/1\":{\"name\":\"127.0.0.1:39639/1\",\"nodeid\":1,\"noden"
    "ame\":\"127.0.0.1:39639\",\"source\":\"configured\",\"state\":\"TRY_"
    "CONNECT\",\"stateage\":3073957,\"outbuf_cnt\":1,\"outbuf_msg_cnt\":0"
    ",\"waitresp_cnt\":0,\"waitresp_msg_cnt\":0,\"tx\":30,\"txbytes\":313"
    "2,\"txerrs\":0,\"txretries\":3,\"txidle\":-1,\"req_timeouts\":0,\"rx"
    "\":27,\"rxbytes\":3450,\"rxerrs\":1,\"rxcorriderrs\":0,\"rxpartial\""
    ":0,\"rxidle\":-1,\"zbuf_grow\":0,\"buf_grow\":0,\"wakeups\":88,\"con"
    "nects\":4,\"disconnects\":1,\"int_latency\":{\"min\":0,\"max\":0,\"a"
    "vg\":0,\"p99\":0,\"cnt\":0},\"outbuf_latency\":{\"min\":0,\"max\":0,"
    "\"avg\":0,\"p99\":0,\"cnt\":0},\"rtt\":{\"min\":0,\"max\":0,\"avg\":"
    "0,\"p99\":0,\"cnt\":0},\"throttle\":{\"min\":0,\"max\":0,\"avg\":0,"
    "\"p99\":0,\"cnt\":0},\"req\":{\"Fetch\":19,\"ListOffsets\":3,\"Metad"
    "ata\":3,\"OffsetCommit\":0,\"OffsetFetch\":0,\"FindCoordinator\":3},"
    "\"toppars\":{\"erp.customers-0\":{\"topic\":\"erp.customers\",\"part"
    "ition\":0},\"erp.customers-1\":{\"topic\":\"erp.customers\",\"partit"
    "ion\":1},\"erp.customers-2\":{\"topic\":\"erp.customers\",\"partitio"
    "n\":2}}},\"GroupCoordinator\":{\"name\":\"GroupCoordinator\",\"nodei"
    "d\":1,\"nodename\":\"127.0.0.1:39639\",\"source\":\"logical\",\"stat"
    "e\":\"TRY_CONNECT\",\"stateage\":3036992,\"outbuf_cnt\":0,\"outbuf_m"
    "sg_cnt\":0,\"waitresp_cnt\":0,\"waitresp_msg_cnt\":0,\"tx\":13,\"txb"
    "ytes\":676,\"txerrs\":0,\"txretries\":0,\"txidle\":-1,\"req_timeouts"
    "\":0,\"rx\":12,\"rxbytes\":693,\"rxerrs\":2,\"rxcorriderrs\":0,\"rxp"
    "artial\":0,\"rxidle\":-1,\"zbuf_grow\":0,\"buf_grow\":0,\"wakeups\":"
    "48,\"connects\":4,\"disconnects\":2,\"int_latency\":{\"min\":0,\"max"
    "\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"outbuf_latency\":{\"min\":0,\""
    "max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"rtt\":{\"min\":0,\"max\":0,"
    "\"avg\":0,\"p99\":0,\"cnt\":0},\"throttle\":{\"min\":0,\"max\":0,\"a"
    "vg\":0,\"p99\":0,\"cnt\":0},\"req\":{\"Fetch\":0,\"ListOffsets\":0,"
    "\"Metadata\":2,\"OffsetCommit\":1,\"OffsetFetch\":1,\"FindCoordinato"
    "r\":0},\"toppars\":{}}},\"topics\":{\"erp.customers\":{\"topic\":\"e"
    "rp.customers\",\"age\":12995,\"metadata_age\":12996,\"batchsize\":{"
    "\"min\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"batchcnt\":{\"m"
    "in\":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"partitions\":{\"0"
    "\":{\"partition\":0,\"broker\":1,\"leader\":1,\"desired\":true,\"unk"
    "nown\":false,\"msgq_cnt\":0,\"msgq_bytes\":0,\"xmit_msgq_cnt\":0,\"x"
    "mit_msgq_bytes\":0,\"fetchq_cnt\":0,\"fetchq_size\":0,\"fetch_state"
    "\":\"active\",\"query_offset\":-2,\"next_offset\":0,\"app_offset\":-"
    "1001,\"stored_offset\":-1001,\"commited_offset\":-1001,\"committed_o"
    "ffset\":-1001,\"eof_offset\":0,\"lo_offset\":0,\"hi_offset\":0,\"ls_"
    "offset\":0,\"consumer_lag\":-1,\"consumer_lag_stored\":-1,\"txmsgs\""
    ":0,\"txbytes\":0,\"rxmsgs\":0,\"rxbytes\":0,\"msgs\":0,\"rx_ver_drop"
    "s\":0,\"msgs_inflight\":0,\"next_ack_seq\":0,\"next_err_seq\":0,\"ac"
    "ked_msgid\":0},\"1\":{\"partition\":1,\"broker\":1,\"leader\":1,\"de"
    "sired\":true,\"unknown\":false,\"msgq_cnt\":0,\"msgq_bytes\":0,\"xmi"
    "t_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetchq_cnt\":0,\"fetchq_size"
    "\":0,\"fetch_state\":\"active\",\"query_offset\":-2,\"next_offset\":"
    "1,\"app_offset\":1,\"stored_offset\":1,\"commited_offset\":1,\"commi"
    "tted_offset\":1,\"eof_offset\":1,\"lo_offset\":0,\"hi_offset\":1,\"l"
    "s_offset\":1,\"consumer_lag\":0,\"consumer_lag_stored\":0,\"txmsgs\""
    ":0,\"txbytes\":0,\"rxmsgs\":1,\"rxbytes\":2,\"msgs\":1,\"rx_ver_drop"
    "s\":0,\"msgs_inflight\":0,\"next_ack_seq\":0,\"next_err_seq\":0,\"ac"
    "ked_msgid\":0},\"2\":{\"partition\":2,\"broker\":1,\"leader\":1,\"de"
    "sired\":true,\"unknown\":false,\"msgq_cnt\":0,\"msgq_bytes\":0,\"xmi"
    "t_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetchq_cnt\":0,\"fetchq_size"
    "\":0,\"fetch_state\":\"active\",\"query_offset\":-2,\"next_offset\":"
    "1,\"app_offset\":1,\"stored_offset\":1,\"commited_offset\":1,\"commi"
    "tted_offset\":1,\"eof_offset\":1,\"lo_offset\":0,\"hi_offset\":1,\"l"
    "s_offset\":1,\"consumer_lag\":0,\"consumer_lag_stored\":0,\"txmsgs\""
    ":0,\"txbytes\":0,\"rxmsgs\":1,\"rxbytes\":2,\"msgs\":1,\"rx_ver_drop"
    "s\":0,\"msgs_inflight\":0,\"next_ack_seq\":0,\"next_err_seq\":0,\"ac"
    "ked_msgid\":0},\"-1\":{\"partition\":-1,\"broker\":-1,\"leader\":-1,"
    "\"desired\":false,\"unknown\":false,\"msgq_cnt\":0,\"msgq_bytes\":0,"
    "\"xmit_msgq_cnt\":0,\"xmit_msgq_bytes\":0,\"fetchq_cnt\":0,\"fetchq_"
    "size\":0,\"fetch_state\":\"none\",\"query_offset\":-1001,\"next_offs"
    "et\":0,\"app_offset\":-1001,\"stored_offset\":-1001,\"commited_offse"
    "t\":-1001,\"committed_offset\":-1001,\"eof_offset\":-1001,\"lo_offse"
    "t\":-1001,\"hi_offset\":-1001,\"ls_offset\":-1001,\"consumer_lag\":-"
    "1,\"consumer_lag_stored\":-1,\"txmsgs\":0,\"txbytes\":0,\"rxmsgs\":0"
    ",\"rxbytes\":0,\"msgs\":0,\"rx_ver_drops\":0,\"msgs_inflight\":0,\"n"
    "ext_ack_seq\":0,\"next_err_seq\":0,\"acked_msgid\":0}}}},\"cgrp\":{"
    "\"state\":\"query-coord\",\"stateage\":3969,\"join_state\":\"steady"
    "\",\"rebalance_age\":12995,\"rebalance_cnt\":1,\"rebalance_reason\":"
    "\"Metadata for subscribed topic(s) has changed\",\"assignment_size\""
    ":3},\"tx\":43,\"tx_bytes\":3808,\"rx\":39,\"rx_bytes\":4143,\"txmsgs"
    "\":0,\"txmsg_bytes\":0,\"rxmsgs\":2,\"rxmsg_bytes\":4}";

static const char STATS_JOINING[] =
    "{\"name\":\"rdkafka#consumer-1\",\"client_id\":\"rdkafka\",\"type\":"
    "\"consumer\",\"ts\":8815846231,\"time\":1795473199,\"age\":2001594,"
    "\"replyq\":0,\"msg_cnt\":0,\"msg_size\":0,\"msg_max\":0,\"msg_size_m"
    "ax\":0,\"simple_cnt\":0,\"metadata_cache_cnt\":1,\"brokers\":{\"127."
    "0.0.1:39639/1\":{\"name\":\"127.0.0.1:39639/1\",\"nodeid\":1,\"noden"
    "ame\":\"127.0.0.1:39639\",\"source\":\"configured\",\"state\":\"UP\""
    ",\"stateage\":1997155,\"outbuf_cnt\":0,\"outbuf_msg_cnt\":0,\"waitre"
    "sp_cnt\":0,\"waitresp_msg_cnt\":0,\"tx\":6,\"txbytes\":166,\"txerrs"
    "\":0,\"txretries\":0,\"txidle\":1996135,\"req_timeouts\":0,\"rx\":6,"
    "\"rxbytes\":427,\"rxerrs\":0,\"rxcorriderrs\":0,\"rxpartial\":0,\"rx"
    "idle\":1995969,\"zbuf_grow\":0,\"buf_grow\":0,\"wakeups\":19,\"conne"
    "cts\":1,\"disconnects\":0,\"int_latency\":{\"min\":0,\"max\":0,\"avg"
    "\":0,\"p99\":0,\"cnt\":0},\"outbuf_latency\":{\"min\":0,\"max\":0,\""
    "avg\":0,\"p99\":0,\"cnt\":0},\"rtt\":{\"min\":0,\"max\":0,\"avg\":0,"
    "\"p99\":0,\"cnt\":0},\"throttle\":{\"min\":0,\"max\":0,\"avg\":0,\"p"
    "99\":0,\"cnt\":0},\"req\":{\"Fetch\":0,\"ListOffsets\":0,\"Metadata"
    "\":2,\"OffsetCommit\":0,\"OffsetFetch\":0,\"FindCoordinator\":2},\"t"
    "oppars\":{}},\"GroupCoordinator\":{\"name\":\"GroupCoordinator\",\"n"
    "odeid\":1,\"nodename\":\"127.0.0.1:39639\",\"source\":\"logical\",\""
    "state\":\"UP\",\"stateage\":1996331,\"outbuf_cnt\":0,\"outbuf_msg_cn"
    "t\":0,\"waitresp_cnt\":1,\"waitresp_msg_cnt\":0,\"tx\":4,\"txbytes\""
    ":178,\"txerrs\":0,\"txretries\":0,\"txidle\":1995744,\"req_timeouts"
    "\":0,\"rx\":3,\"rxbytes\":203,\"rxerrs\":0,\"rxcorriderrs\":0,\"rxpa"
    "rtial\":0,\"rxidle\":1996181,\"zbuf_grow\":0,\"buf_grow\":0,\"wakeup"
    "s\":11,\"connects\":1,\"disconnects\":0,\"int_latency\":{\"min\":0,"
    "\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"outbuf_latency\":{\"min\""
    ":0,\"max\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"rtt\":{\"min\":0,\"max"
    "\":0,\"avg\":0,\"p99\":0,\"cnt\":0},\"throttle\":{\"min\":0,\"max\":"
    "0,\"avg\":0,\"p99\":0,\"cnt\":0},\"req\":{\"Fetch\":0,\"ListOffsets"
    "\":0,\"Metadata\":1,\"OffsetCommit\":0,\"OffsetFetch\":0,\"FindCoord"
    "inator\":0},\"toppars\":{}}},\"topics\":{},\"cgrp\":{\"state\":\"up"
    "\",\"stateage\":1996,\"join_state\":\"wait-join\",\"rebalance_age\":"
    "0,\"rebalance_cnt\":0,\"rebalance_reason\":\"Metadata for subscribed"
    " topic(s) has changed\",\"assignment_size\":0},\"tx\":10,\"tx_bytes"
    "\":344,\"rx\":9,\"rx_bytes\":630,\"txmsgs\":0,\"txmsg_bytes\":0,\"rx"
    "msgs\":0,\"rxmsg_bytes\":0}";
/* ---- helpers ---- */

static char *render(struct metrics *m, int64_t now)
{
	size_t len = 0;
	char *t = metrics_render(m, now, &len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

/* The whole sample line "name{labels} value" is in text. */
static void expect_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("line '%s' not found in:\n%s", line, text);
}

static void expect_no(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("'%s' unexpectedly found in:\n%s", part, text);
}

/* A label set {a="x",b="y\"z"}: returns the end, or NULL. */
static const char *skip_labels(const char *p)
{
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		while (*p == '_' || (*p >= 'a' && *p <= 'z'))
			p++;
		if (p[0] != '=' || p[1] != '"')
			return NULL;
		for (p += 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return NULL;
			}
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

/* Text format 0.0.4 as Prometheus parses it: every sample belongs to a
 * family announced by # HELP and # TYPE, labels are well escaped, and
 * the value is a number. */
static void expect_valid_text(const char *text)
{
	char families[64][80];
	size_t n_families = 0;
	const char *line = text;

	assert_true(*text && text[strlen(text) - 1] == '\n');
	while (*line) {
		const char *eol = strchr(line, '\n');
		char name[80];
		size_t n = strcspn(line, "{ \n");
		const char *p;
		bool known = false;
		char *end;

		assert_non_null(eol);
		if (strncmp(line, "# HELP ", 7) == 0) {
			line = eol + 1;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t k = strcspn(line + 7, " ");

			assert_true(k < sizeof(families[0]) &&
			            n_families < 64);
			memcpy(families[n_families], line + 7, k);
			families[n_families++][k] = '\0';
			line = eol + 1;
			continue;
		}
		assert_true(n > 0 && n < sizeof(name));
		memcpy(name, line, n);
		name[n] = '\0';
		for (size_t i = 0; i < n_families && !known; i++) {
			size_t f = strlen(families[i]);

			known = strncmp(name, families[i], f) == 0 &&
			        (name[f] == '\0' ||
			         strcmp(name + f, "_bucket") == 0 ||
			         strcmp(name + f, "_sum") == 0 ||
			         strcmp(name + f, "_count") == 0);
		}
		if (!known)
			fail_msg("sample '%s' has no # TYPE before it", name);
		p = skip_labels(line + n);
		if (!p || *p != ' ')
			fail_msg("bad labels in: %.*s", (int)(eol - line),
			         line);
		strtod(p + 1, &end);
		if (end != eol)
			fail_msg("bad value in: %.*s", (int)(eol - line),
			         line);
		line = eol + 1;
	}
}

/* ---- the text ---- */

static void test_counters_and_histogram(void **state)
{
	struct metrics *m;
	char err[256], *t;

	(void)state;
	m = metrics_new("alvys", NULL, err, sizeof(err));
	assert_non_null(m);
	metrics_event(m, SYNC_APPLIED, SYNC_ACTION_CREATE);
	metrics_event(m, SYNC_APPLIED, SYNC_ACTION_CREATE);
	metrics_event(m, SYNC_FAILED, SYNC_ACTION_NONE);
	metrics_event(m, SYNC_STATUS_MAX, SYNC_ACTION_NONE); /* ignored */
	metrics_dead_letter(m);
	metrics_http(m, HTTP_GET, 200, 0.003);
	metrics_http(m, HTTP_POST, 201, 0.2);
	metrics_http(m, HTTP_POST, 503, 0.25);
	metrics_http(m, HTTP_PATCH, 0, 20.0);
	metrics_token_refresh(m, 1);
	metrics_token_refresh(m, 0);
	metrics_token_refresh(m, 1);
	metrics_loop(m, 1000, 7, 3, 2500);
	metrics_concurrency(m, 12, 9);
	t = render(m, 1500);
	expect_valid_text(t);
	expect_line(t,
	            "custsync_build_info{version=\"" CUSTSYNC_VERSION "\"} 1");
	expect_line(t, "custsync_events_total{profile=\"alvys\","
	               "status=\"applied\",action=\"create\"} 2");
	expect_line(t, "custsync_events_total{profile=\"alvys\","
	               "status=\"failed\",action=\"none\"} 1");
	expect_line(t, "custsync_events_total{profile=\"alvys\","
	               "status=\"unchanged\",action=\"none\"} 0");
	expect_line(t, "custsync_dead_letters_total 1");
	expect_line(t, "custsync_http_requests_total{method=\"GET\","
	               "class=\"2xx\"} 1");
	expect_line(t, "custsync_http_requests_total{method=\"POST\","
	               "class=\"2xx\"} 1");
	expect_line(t, "custsync_http_requests_total{method=\"POST\","
	               "class=\"5xx\"} 1");
	expect_line(t, "custsync_http_requests_total{method=\"PATCH\","
	               "class=\"error\"} 1");
	/* Cumulative, upper bounds inclusive. */
	expect_line(t, "custsync_http_request_duration_seconds_bucket"
	               "{le=\"0.005\"} 1");
	expect_line(t, "custsync_http_request_duration_seconds_bucket"
	               "{le=\"0.1\"} 1");
	expect_line(t, "custsync_http_request_duration_seconds_bucket"
	               "{le=\"0.25\"} 3");
	expect_line(t, "custsync_http_request_duration_seconds_bucket"
	               "{le=\"10\"} 3");
	expect_line(t, "custsync_http_request_duration_seconds_bucket"
	               "{le=\"+Inf\"} 4");
	expect_line(t, "custsync_http_request_duration_seconds_count 4");
	expect_line(t, "custsync_http_request_duration_seconds_sum "
	               "20.453000");
	expect_line(t, "# TYPE custsync_http_request_duration_seconds "
	               "histogram");
	expect_line(t, "custsync_token_refreshes_total{result=\"success\"} 2");
	expect_line(t, "custsync_token_refreshes_total{result=\"failure\"} 1");
	expect_line(t, "custsync_http_in_flight 7");
	expect_line(t, "custsync_concurrency_limit 12");
	expect_line(t, "custsync_events_active 9");
	expect_line(t, "custsync_partitions_paused 3");
	expect_line(t, "custsync_retry_after_seconds 2.500");
	expect_line(t, "custsync_loop_heartbeat_age_seconds 0.500");
	/* No rate limit configured: no tokens series. */
	expect_line(t, "custsync_http_429_total 0");
	expect_no(t, "custsync_rate_limit_tokens");
	/* No statistics yet: no lag, no group, healthy on the loop alone. */
	expect_no(t, "custsync_consumer_lag{");
	expect_no(t, "custsync_consumer_group_info");
	expect_line(t, "custsync_healthy 1");
	free(t);
	metrics_free(m);
}

static void test_label_escaping(void **state)
{
	struct metrics *m;
	char err[256], *t;

	(void)state;
	m = metrics_new("a\"b\\c\nd", NULL, err, sizeof(err));
	assert_non_null(m);
	t = render(m, 0);
	expect_valid_text(t);
	expect_line(t, "custsync_events_total{profile=\"a\\\"b\\\\c\\nd\","
	               "status=\"applied\",action=\"create\"} 0");
	free(t);
	metrics_free(m);
}

static const char *next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : p + strlen(p);
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = text; *p; p = next_line(p))
		n += strncmp(p, prefix, len) == 0;
	return n;
}

static struct metrics *new_metrics(void)
{
	char err[256];
	struct metrics *m = metrics_new("alvys", NULL, err, sizeof(err));

	assert_non_null(m);
	return m;
}

/* Only combinations an outcome can have: an applied event always has an
 * action, and nothing else has one. HTTP series come per method used,
 * with every class but 1xx, which a finished request never has. */
static void test_only_reachable_series(void **state)
{
	struct metrics *m;
	char *t;

	(void)state;
	m = new_metrics();
	t = render(m, 0);
	expect_valid_text(t);
	assert_int_equal(count_prefix(t, "custsync_events_total{"), 6);
	expect_no(t, "status=\"applied\",action=\"none\"");
	expect_no(t, "status=\"unchanged\",action=\"update\"");
	expect_no(t, "status=\"failed\",action=\"create\"");
	expect_line(t, "custsync_events_total{profile=\"alvys\","
	               "status=\"skipped\",action=\"none\"} 0");
	expect_line(t, "custsync_events_total{profile=\"alvys\","
	               "status=\"applied\",action=\"delete\"} 0");
	expect_no(t, "custsync_http_requests_total{");
	free(t);

	metrics_http(m, HTTP_DELETE, 204, 0.01);
	metrics_http(m, HTTP_DELETE, 101, 0.01); /* no valid final answer */
	t = render(m, 0);
	expect_valid_text(t);
	assert_int_equal(count_prefix(t, "custsync_http_requests_total{"), 5);
	expect_line(t, "custsync_http_requests_total{method=\"DELETE\","
	               "class=\"2xx\"} 1");
	expect_line(t, "custsync_http_requests_total{method=\"DELETE\","
	               "class=\"error\"} 1");
	expect_line(t, "custsync_http_requests_total{method=\"DELETE\","
	               "class=\"5xx\"} 0");
	expect_no(t, "class=\"1xx\"");
	expect_no(t, "method=\"GET\"");
	free(t);
	metrics_free(m);
}

/* Every code of schemas/dead-letter.md's table has its series from the
 * start; anything else is "other". */
static void test_failures_by_code(void **state)
{
	char path[512], line[1024], want[256], *t;
	struct metrics *m;
	bool in_table = false;
	int codes = 0;
	FILE *f;

	(void)state;
	m = new_metrics();
	metrics_failure(m, "rejected");
	metrics_failure(m, "rejected");
	metrics_failure(m, "invalid_json");
	metrics_failure(m, "customer_not_identifiable");
	metrics_failure(m, "rejected_but_longer");
	metrics_failure(m, NULL);
	t = render(m, 0);
	expect_valid_text(t);
	expect_line(t, "# TYPE custsync_events_failed_total counter");
	expect_line(t, "custsync_events_failed_total{code=\"rejected\"} 2");
	expect_line(t,
	            "custsync_events_failed_total{code=\"invalid_json\"} 1");
	expect_line(t, "custsync_events_failed_total{code=\"other\"} 3");
	expect_line(t, "custsync_events_failed_total{code=\"conflict\"} 0");
	expect_no(t, "customer_not_identifiable");

	snprintf(path, sizeof(path), "%s/schemas/dead-letter.md",
	         TEST_SOURCE_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char code[64];

		if (strncmp(line, "## ", 3) == 0)
			in_table = strcmp(line, "## Error codes\n") == 0;
		if (!in_table || sscanf(line, "| `%63[a-z_]` |", code) != 1)
			continue;
		snprintf(want, sizeof(want),
		         "custsync_events_failed_total{code=\"%s\"} %d", code,
		         strcmp(code, "rejected") == 0       ? 2
		         : strcmp(code, "invalid_json") == 0 ? 1
		                                             : 0);
		expect_line(t, want);
		codes++;
	}
	fclose(f);
	assert_int_equal(codes, 19);
	/* The table's codes and "other", no more. */
	assert_int_equal(count_prefix(t, "custsync_events_failed_total{"),
	                 codes + 1);
	free(t);
	metrics_free(m);
}

static void test_retries_by_reason(void **state)
{
	struct metrics *m;
	char want[128], *t;

	(void)state;
	m = new_metrics();
	metrics_retry(m, SYNC_RETRY_REASON_HTTP_5XX);
	metrics_retry(m, SYNC_RETRY_REASON_HTTP_5XX);
	metrics_retry(m, SYNC_RETRY_REASON_RETRY_AFTER);
	metrics_retry(m, SYNC_RETRY_REASON_CONFLICT);
	metrics_retry(m, SYNC_RETRY_REASON_NONE); /* nothing */
	metrics_retry(m, SYNC_RETRY_REASON_MAX);  /* ignored */
	t = render(m, 0);
	expect_valid_text(t);
	expect_line(t, "# TYPE custsync_retries_total counter");
	expect_line(t, "custsync_retries_total{reason=\"http_5xx\"} 2");
	expect_line(t, "custsync_retries_total{reason=\"retry_after\"} 1");
	expect_line(t, "custsync_retries_total{reason=\"conflict\"} 1");
	expect_line(t, "custsync_retries_total{reason=\"timeout\"} 0");
	expect_no(t, "reason=\"none\"");
	for (unsigned r = SYNC_RETRY_REASON_NONE + 1;
	     r < SYNC_RETRY_REASON_MAX; r++) {
		snprintf(want, sizeof(want),
		         "custsync_retries_total{reason=\"%s\"} ",
		         sync_retry_reason_str(r));
		assert_non_null(strstr(t, want));
	}
	assert_int_equal(count_prefix(t, "custsync_retries_total{"),
	                 SYNC_RETRY_REASON_MAX - 1);
	free(t);
	metrics_free(m);
}

/* A sample's value, or -1 when the line is not there. */
static double sample(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; *p; p = next_line(p))
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* The process collector's six, against what this process knows of
 * itself. */
static void test_process_metrics(void **state)
{
	struct metrics *m;
	struct rlimit rl;
	char *t;
	double now = (double)time(NULL), start, rss, vsz, fds;
	volatile double spin = 0;

	(void)state;
	/* Some CPU time of our own to see. */
	for (long i = 0; i < 30000000L; i++)
		spin = spin + 1;
	m = new_metrics();
	t = render(m, 0);
	expect_valid_text(t);
	expect_line(t, "# TYPE process_cpu_seconds_total counter");
	expect_line(t, "# TYPE process_resident_memory_bytes gauge");
	expect_line(t, "# TYPE process_start_time_seconds gauge");
	assert_true(sample(t, "process_cpu_seconds_total") > 0);
	rss = sample(t, "process_resident_memory_bytes");
	vsz = sample(t, "process_virtual_memory_bytes");
	assert_true(rss > 1e6 && vsz >= rss);
	start = sample(t, "process_start_time_seconds");
	/* Started by ctest a moment ago (the clock ticks round it). */
	assert_true(start > now - 300 && start <= now + 1);
	fds = sample(t, "process_open_fds");
	assert_true(fds >= 3 && fds < 1000);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(sample(t, "process_max_fds") == (double)rl.rlim_cur);
	free(t);
	metrics_free(m);
}

/* NULL is "metrics off": every update is a no-op. */
static void test_null_is_off(void **state)
{
	(void)state;
	metrics_event(NULL, SYNC_APPLIED, SYNC_ACTION_CREATE);
	metrics_dead_letter(NULL);
	metrics_http(NULL, HTTP_GET, 200, 0.1);
	metrics_token_refresh(NULL, 1);
	metrics_failure(NULL, "rejected");
	metrics_retry(NULL, SYNC_RETRY_REASON_HTTP_5XX);
	metrics_loop(NULL, 1, 1, 1, 1);
	assert_int_equal(metrics_kafka_stats(NULL, "{}", 2, 1), 0);
	assert_null(metrics_free(NULL));
}

/* ---- librdkafka statistics ---- */

static struct metrics *with_stats(const char *json, int64_t now)
{
	char err[256];
	struct metrics *m = metrics_new("alvys", NULL, err, sizeof(err));

	assert_non_null(m);
	metrics_loop(m, now, 0, 0, 0);
	assert_int_equal(metrics_kafka_stats(m, json, strlen(json), now), 0);
	return m;
}

static void test_stats_lag_and_group(void **state)
{
	struct metrics *m;
	char why[160], *t;

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	t = render(m, 1000);
	expect_valid_text(t);
	expect_line(t, "custsync_consumer_lag{topic=\"erp.customers\","
	               "partition=\"1\"} 0");
	expect_line(t, "custsync_consumer_lag{topic=\"erp.customers\","
	               "partition=\"2\"} 7");
	/* Partition 0 has no committed offset yet (lag -1), and -1 is the
	 * topic's unassigned pseudo-partition. */
	expect_no(t, "partition=\"0\"");
	expect_no(t, "partition=\"-1\"");
	expect_line(t, "custsync_consumer_assigned_partitions 3");
	expect_line(t, "custsync_kafka_brokers_up 2");
	expect_line(t, "custsync_consumer_group_info{state=\"up\","
	               "join_state=\"steady\"} 1");
	expect_line(t, "custsync_healthy 1");
	free(t);
	assert_int_equal(metrics_health(m, 1000, why, sizeof(why)), 1);
	assert_string_equal(why, "ok");
	metrics_free(m);
}

/* Each report replaces the last: partitions no longer ours go. */
static void test_stats_replace(void **state)
{
	const char *revoked =
	    "{\"brokers\":{},\"topics\":{\"erp.customers\":{"
	    "\"partitions\":{\"2\":{\"partition\":2,\"desired\":false,"
	    "\"consumer_lag\":4}}}},\"cgrp\":{\"state\":\"up\","
	    "\"join_state\":\"wait-join\",\"assignment_size\":0}}";
	struct metrics *m;
	char *t;

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	assert_int_equal(
	    metrics_kafka_stats(m, revoked, strlen(revoked), 1500), 0);
	t = render(m, 1500);
	expect_no(t, "custsync_consumer_lag{");
	expect_line(t, "custsync_consumer_assigned_partitions 0");
	free(t);
	metrics_free(m);
}

/* Numbers no counter holds (1e300 once met a cast to int64_t, which is
 * undefined) are left out like an unknown lag, not turned into one. */
static void test_stats_numbers_out_of_range(void **state)
{
	const char *huge =
	    "{\"brokers\":{},\"topics\":{\"erp.customers\":{"
	    "\"partitions\":{\"1\":{\"partition\":1,\"desired\":true,"
	    "\"consumer_lag\":1e300},\"2\":{\"partition\":2.5,"
	    "\"consumer_lag\":3},\"3\":{\"partition\":3,"
	    "\"consumer_lag\":-1e300},\"4\":{\"partition\":4,"
	    "\"consumer_lag\":5}}}},\"cgrp\":{\"state\":\"up\","
	    "\"join_state\":\"steady\",\"assignment_size\":9e18}}";
	struct metrics *m;
	char *t;

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	assert_int_equal(metrics_kafka_stats(m, huge, strlen(huge), 1500), 0);
	t = render(m, 1500);
	expect_valid_text(t);
	expect_no(t, "partition=\"1\"");
	expect_no(t, "partition=\"2\"");
	expect_no(t, "partition=\"3\"");
	expect_line(t, "custsync_consumer_lag{topic=\"erp.customers\","
	               "partition=\"4\"} 5");
	expect_line(t, "custsync_consumer_assigned_partitions 0");
	free(t);
	metrics_free(m);
}

static void test_stats_rejected(void **state)
{
	static const char *const bad[] = {
	    "", "not json", "[]", "{}", "{\"brokers\":[]}", "{\"br",
	};
	struct metrics *m;
	char *t;

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    metrics_kafka_stats(m, bad[i], strlen(bad[i]), 2000),
		    -EINVAL);
	/* What the last good report said stays. */
	t = render(m, 2000);
	expect_line(t, "custsync_consumer_lag{topic=\"erp.customers\","
	               "partition=\"2\"} 7");
	free(t);
	metrics_free(m);
}

/* ---- health ---- */

static void test_health_loop_stalled(void **state)
{
	struct metrics *m;
	char why[160];

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	assert_int_equal(metrics_health(m, 6000, why, sizeof(why)), 1);
	assert_int_equal(metrics_health(m, 6001, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "event loop stalled"));
	metrics_loop(m, 6001, 0, 0, 0);
	assert_int_equal(metrics_health(m, 6001, why, sizeof(why)), 1);
	metrics_free(m);
}

/* Its broker gone, the consumer still claims its assignment until the
 * session times out; the connections tell. */
static void test_health_brokers_down(void **state)
{
	const char *down = STATS_BROKERS_DOWN;
	struct metrics *m;
	char why[160], *t;

	(void)state;
	m = with_stats(STATS_STEADY, 1000);
	for (int64_t now = 2000; now <= 7000; now += 1000) {
		metrics_loop(m, now, 0, 0, 0);
		assert_int_equal(
		    metrics_kafka_stats(m, down, strlen(down), now), 0);
		/* The last report with a broker up was at 1000. */
		assert_int_equal(metrics_health(m, now, why, sizeof(why)),
		                 now - 1000 < 5000);
	}
	assert_non_null(strstr(why, "no connection to any Kafka broker"));
	assert_non_null(strstr(why, "(0 of 2 up)"));
	t = render(m, 7000);
	expect_line(t, "custsync_kafka_brokers_up 0");
	expect_line(t, "custsync_healthy 0");
	free(t);
	/* Back: healthy at once. */
	assert_int_equal(
	    metrics_kafka_stats(m, STATS_STEADY, strlen(STATS_STEADY), 7500),
	    0);
	assert_int_equal(metrics_health(m, 7500, why, sizeof(why)), 1);
	metrics_free(m);
}

static void test_health_coordinator_lost(void **state)
{
	const char *json =
	    "{\"brokers\":{\"b:9092/1\":{\"source\":\"learned\","
	    "\"state\":\"UP\"},\"GroupCoordinator\":{\"source\":"
	    "\"logical\",\"state\":\"CONNECT\"}},\"cgrp\":{\"state\":"
	    "\"up\",\"join_state\":\"steady\",\"assignment_size\":2}}";
	struct metrics *m;
	char why[160];

	(void)state;
	m = with_stats(json, 1000);
	metrics_loop(m, 6000, 0, 0, 0);
	assert_int_equal(metrics_health(m, 5999, why, sizeof(why)), 1);
	assert_int_equal(metrics_health(m, 6000, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "group coordinator unreachable"));
	metrics_free(m);
}

static void test_health_group_states(void **state)
{
	static const struct {
		const char *state, *join;
		int assigned, healthy;
	} cases[] = {
	    {"up", "steady", 3, 1},
	    {"up", "steady", 0, 0}, /* in the group, nothing to do */
	    {"up", "wait-join", 0, 1},
	    {"up", "wait-sync", 0, 1},
	    {"query-coord", "init", 0, 1},
	    {"wait-coord", "init", 0, 1},
	    {"term", "init", 0, 0},
	};
	char json[512], why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics *m;

		snprintf(json, sizeof(json),
		         "{\"brokers\":{\"b/1\":{\"source\":\"learned\","
		         "\"state\":\"UP\"}},\"cgrp\":{\"state\":\"%s\","
		         "\"join_state\":\"%s\",\"assignment_size\":%d}}",
		         cases[i].state, cases[i].join, cases[i].assigned);
		m = with_stats(json, 1000);
		if (metrics_health(m, 1000, why, sizeof(why)) !=
		    cases[i].healthy)
			fail_msg("%s/%s/%d: got '%s'", cases[i].state,
			         cases[i].join, cases[i].assigned, why);
		metrics_free(m);
	}
}

static void test_health_joining(void **state)
{
	struct metrics *m;
	char why[160];

	(void)state;
	m = with_stats(STATS_JOINING, 1000);
	assert_int_equal(metrics_health(m, 1000, why, sizeof(why)), 1);
	metrics_free(m);
}

/* ---- the listen address ---- */

static void test_listen_address(void **state)
{
	static const char *const good[] = {
	    "127.0.0.1:9464",
	    "0.0.0.0:1",
	    "[::1]:65535",
	    "[::]:9464",
	};
	static const char *const bad[] = {
	    "9464",          ":9464",           "127.0.0.1:",
	    "127.0.0.1:0",   "127.0.0.1:65536", "127.0.0.1:99999999999",
	    "127.0.0.1:94a", "localhost:9464",  "::1:9464",
	    "[::1]9464",     "[::1]",           "[127.0.0.1]:80",
	    "[]:80",         "127.0.0.1:+80",   "",
	};
	struct sockaddr_storage ss;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (metrics_listen_problem(good[i], &ss))
			fail_msg("'%s' refused: %s", good[i],
			         metrics_listen_problem(good[i], NULL));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9464);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!metrics_listen_problem(bad[i], NULL))
			fail_msg("'%s' accepted", bad[i]);
}

#define CONFIG_MIN                                                            \
	"kafka:\n"                                                            \
	"  brokers: b:9092\n"                                                 \
	"  group_id: g\n"                                                     \
	"  topics: [t]\n"                                                     \
	"  results_topic: r\n"                                                \
	"  dead_letter_topic: d\n"                                            \
	"target:\n"                                                           \
	"  profile: alvys\n"                                                  \
	"  base_url: http://api\n"

/* The one error of yaml, as "LINE:COL: msg", or "" when it loads. */
static void load_one(const char *yaml, char *out, size_t n, struct config *c)
{
	struct config_errors e;
	int rc = config_load_buffer("t.yaml", yaml, strlen(yaml), c, &e);

	out[0] = '\0';
	if (rc == 0)
		return;
	assert_int_equal(e.n, 1);
	snprintf(out, n, "%d:%d: %s", e.v[0].line, e.v[0].col, e.v[0].msg);
	config_errors_done(&e);
}

static void test_config_key(void **state)
{
	struct config c;
	char got[256];

	(void)state;
	load_one(CONFIG_MIN, got, sizeof(got), &c);
	assert_string_equal(got, "");
	assert_null(c.metrics.listen);
	config_done(&c);

	load_one(CONFIG_MIN "metrics:\n  listen: 127.0.0.1:9464\n", got,
	         sizeof(got), &c);
	assert_string_equal(got, "");
	assert_string_equal(c.metrics.listen, "127.0.0.1:9464");
	config_done(&c);

	load_one(CONFIG_MIN "metrics:\n  listen: localhost:9464\n", got,
	         sizeof(got), &c);
	assert_string_equal(got,
	                    "11:11: 'metrics.listen' host must be an IPv4 "
	                    "address or an IPv6 address in brackets (names "
	                    "are not looked up)");
	load_one(CONFIG_MIN "metrics:\n  listen: \"127.0.0.1:0\"\n", got,
	         sizeof(got), &c);
	assert_string_equal(got, "11:11: 'metrics.listen' port must be a "
	                         "number between 1 and 65535");
	load_one(CONFIG_MIN "metrics:\n", got, sizeof(got), &c);
	assert_string_equal(got, "10:1: missing required key "
	                         "'metrics.listen'");
	load_one(CONFIG_MIN "metrics:\n  port: 9464\n  listen: 127.0.0.1:1\n",
	         got, sizeof(got), &c);
	assert_string_equal(got, "11:3: unknown key 'metrics.port'");
}

/* ---- the server ---- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct body {
	char buf[65536];
	size_t n;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > sizeof(b->buf) - 1 - b->n)
		return 0;
	memcpy(b->buf + b->n, p, n);
	b->n += n;
	b->buf[b->n] = '\0';
	return n;
}

static long fetch(int port, const char *method, const char *path,
                  struct body *b, char *type, size_t typelen)
{
	char url[128];
	CURL *e = curl_easy_init();
	long code = 0;
	char *ct = NULL;

	assert_non_null(e);
	b->n = 0;
	b->buf[0] = '\0';
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(type, typelen, "%s", ct ? ct : "");
	curl_easy_cleanup(e);
	return code;
}

static void test_server(void **state)
{
	struct metrics *m, *m2;
	struct body *b = malloc(sizeof(*b));
	char listen[64], err[256], type[128];
	int port = free_port(), fds = open_fds();

	(void)state;
	assert_non_null(b);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	m = metrics_new("alvys", listen, err, sizeof(err));
	assert_non_null(m);
	metrics_event(m, SYNC_APPLIED, SYNC_ACTION_UPDATE);

	assert_int_equal(fetch(port, "GET", "/metrics", b, type, sizeof(type)),
	                 200);
	assert_string_equal(type, "text/plain; version=0.0.4; charset=utf-8");
	expect_valid_text(b->buf);
	expect_line(b->buf, "custsync_events_total{profile=\"alvys\","
	                    "status=\"applied\",action=\"update\"} 1");

	assert_int_equal(fetch(port, "GET", "/healthz", b, type, sizeof(type)),
	                 200);
	assert_string_equal(b->buf, "ok\n");
	assert_int_equal(fetch(port, "GET", "/nope", b, type, sizeof(type)),
	                 404);
	assert_int_equal(
	    fetch(port, "POST", "/metrics", b, type, sizeof(type)), 405);

	/* The port is taken: the error says so. */
	m2 = metrics_new("alvys", listen, err, sizeof(err));
	assert_null(m2);
	assert_non_null(strstr(err, "Address already in use"));

	metrics_free(m);
	/* The listening socket went with the server. */
	assert_int_equal(open_fds(), fds);
	free(b);
}

/* Waits add up by reason; 429s are counted whatever the method; only the
 * configured limits have a tokens series. */
static void test_rate_limit_series(void **state)
{
	struct metrics *m = metrics_new("alvys", NULL, NULL, 0);
	char *t;

	(void)state;
	assert_non_null(m);
	metrics_http(m, HTTP_GET, 429, 0.01);
	metrics_http(m, HTTP_PATCH, 429, 0.01);
	metrics_http(m, HTTP_PATCH, 200, 0.01);
	metrics_wait(m, METRICS_WAIT_RATE_LIMIT, 1500);
	metrics_wait(m, METRICS_WAIT_RATE_LIMIT, 250);
	metrics_wait(m, METRICS_WAIT_QUOTA, 30000);
	metrics_wait(m, METRICS_WAIT_MAX, 5);    /* ignored */
	metrics_wait(m, METRICS_WAIT_QUOTA, -3); /* ignored */
	metrics_rate_tokens(m, -1, 4);
	t = render(m, 1000);
	expect_valid_text(t);
	expect_line(t, "custsync_http_429_total 2");
	expect_line(t, "custsync_rate_limit_wait_seconds_total"
	               "{reason=\"rate_limit\"} 1.750");
	expect_line(t, "custsync_rate_limit_wait_seconds_total"
	               "{reason=\"quota\"} 30.000");
	expect_line(
	    t, "custsync_rate_limit_tokens{limit=\"write_rate_limit\"} 4");
	expect_no(t, "custsync_rate_limit_tokens{limit=\"rate_limit\"}");
	free(t);
	metrics_free(m);
}

/* The README's table names every family rendered, and no other. */
static void test_readme_lists_every_family(void **state)
{
	char path[512], line[1024], name[128], type[16], want[160], *t;
	struct metrics *m = with_stats(STATS_STEADY, 1000);
	size_t listed = 0;
	bool in_section = false;
	FILE *f;

	(void)state;
	metrics_http(m, HTTP_GET, 200, 0.01);
	metrics_rate_tokens(m, 1, 1);
	t = render(m, 1000);
	snprintf(path, sizeof(path), "%s/README.md", TEST_SOURCE_DIR);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "#", 1) == 0)
			in_section =
			    strcmp(line, "### Metrics and health\n") == 0;
		if (!in_section ||
		    sscanf(line, "| `%127[a-z0-9_]` | %15[a-z] |", name,
		           type) != 2 ||
		    (strcmp(type, "counter") != 0 &&
		     strcmp(type, "gauge") != 0 &&
		     strcmp(type, "histogram") != 0))
			continue;
		snprintf(want, sizeof(want), "# TYPE %s %s\n", name, type);
		if (!strstr(t, want))
			fail_msg("README lists %s, which is not rendered",
			         name);
		listed++;
	}
	fclose(f);
	assert_int_equal(listed, count_prefix(t, "# TYPE "));
	free(t);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_limit_series),
	    cmocka_unit_test(test_counters_and_histogram),
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_null_is_off),
	    cmocka_unit_test(test_only_reachable_series),
	    cmocka_unit_test(test_failures_by_code),
	    cmocka_unit_test(test_retries_by_reason),
	    cmocka_unit_test(test_process_metrics),
	    cmocka_unit_test(test_readme_lists_every_family),
	    cmocka_unit_test(test_stats_lag_and_group),
	    cmocka_unit_test(test_stats_replace),
	    cmocka_unit_test(test_stats_numbers_out_of_range),
	    cmocka_unit_test(test_stats_rejected),
	    cmocka_unit_test(test_health_loop_stalled),
	    cmocka_unit_test(test_health_brokers_down),
	    cmocka_unit_test(test_health_coordinator_lost),
	    cmocka_unit_test(test_health_group_states),
	    cmocka_unit_test(test_health_joining),
	    cmocka_unit_test(test_listen_address),
	    cmocka_unit_test(test_config_key),
	    cmocka_unit_test(test_server),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
