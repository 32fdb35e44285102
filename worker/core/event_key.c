/* The ordering key of a record from a quick look (event_order_key). A
 * record is parsed twice: when it arrives, only for the key it waits
 * behind, and in full when it starts (a waiting event keeps no parsed
 * form). The first needs no tree when the key is plain to see: a
 * Debezium record is keyed by its Kafka key whatever its value holds,
 * and a native envelope by a plain "key" string at its top level.
 * Anything the look does not settle (escapes, the schema wrapper, Avro,
 * odd or duplicated members, anything not JSON) goes to the whole
 * parse, which then decides exactly as before.
 *
 * One difference is accepted: a native envelope whose key the look
 * reads but whose whole parse fails later (a bad customer, say) is
 * ordered and reported under its envelope key, where the whole parse
 * would fall back to the Kafka key. Both name the same customer in any
 * sane producer; the envelope's is the one the change meant. */
#include "core/event.h"

#include "core/event_avro.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Deeper values go to the whole parse (cJSON allows 1000). */
#define SCAN_DEPTH 32
/* cJSON reads a number through a 64-byte buffer: a longer one fails
 * there, so the look must not take it. */
#define NUMBER_MAX 63

enum kind { ABSENT, STRING, JSON_NULL, OTHER };

struct member {
	enum kind kind;
	const unsigned char *s; /* STRING: its bytes, no escapes in them */
	size_t n;
};

struct scan {
	const unsigned char *p, *end;
};

static void skip_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
	                           *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static bool digit(const struct scan *sc, const unsigned char *p)
{
	return p < sc->end && *p >= '0' && *p <= '9';
}

/* A string at sc->p (its opening quote). *plain: without escapes. Not
 * taken: a \u escape (cJSON's decoding of surrogates and \u0000 is the
 * whole parse's to judge), a control character, bad UTF-8, no end. */
static bool scan_string(struct scan *sc, const unsigned char **s, size_t *n,
                        bool *plain)
{
	const unsigned char *p = sc->p + 1;

	*s = p;
	*plain = true;
	while (p < sc->end) {
		size_t k;

		if (*p == '"') {
			*n = (size_t)(p - *s);
			sc->p = p + 1;
			return true;
		}
		if (*p < 0x20)
			return false;
		if (*p == '\\') {
			if (p + 1 >= sc->end)
				return false;
			switch (p[1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				break;
			default:
				return false;
			}
			*plain = false;
			p += 2;
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = utf8_char(p, (size_t)(sc->end - p));
		if (!k)
			return false;
		p += k;
	}
	return false;
}

/* JSON's number grammar, which cJSON accepts and more. */
static bool scan_number(struct scan *sc)
{
	const unsigned char *p = sc->p;

	if (p < sc->end && *p == '-')
		p++;
	if (p < sc->end && *p == '0')
		p++;
	else if (digit(sc, p))
		while (digit(sc, p))
			p++;
	else
		return false;
	if (p < sc->end && *p == '.') {
		if (!digit(sc, ++p))
			return false;
		while (digit(sc, p))
			p++;
	}
	if (p < sc->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < sc->end && (*p == '+' || *p == '-'))
			p++;
		if (!digit(sc, p))
			return false;
		while (digit(sc, p))
			p++;
	}
	if (p - sc->p > NUMBER_MAX)
		return false;
	sc->p = p;
	return true;
}

static bool scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
		return false;
	sc->p += n;
	return true;
}

static bool scan_value(struct scan *sc, int depth);

/* An object or array after its opening bracket, up to its closing one. */
static bool scan_items(struct scan *sc, bool object, int depth)
{
	const unsigned char *s;
	size_t n;
	bool plain;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == (object ? '}' : ']')) {
		sc->p++;
		return true;
	}
	for (;;) {
		skip_ws(sc);
		if (object) {
			if (sc->p >= sc->end || *sc->p != '"' ||
			    !scan_string(sc, &s, &n, &plain))
				return false;
			skip_ws(sc);
			if (sc->p >= sc->end || *sc->p != ':')
				return false;
			sc->p++;
		}
		if (!scan_value(sc, depth + 1))
			return false;
		skip_ws(sc);
		if (sc->p >= sc->end)
			return false;
		if (*sc->p == ',') {
			sc->p++;
			continue;
		}
		if (*sc->p != (object ? '}' : ']'))
			return false;
		sc->p++;
		return true;
	}
}

static bool scan_value(struct scan *sc, int depth)
{
	const unsigned char *s;
	size_t n;
	bool plain;

	skip_ws(sc);
	if (sc->p >= sc->end || depth > SCAN_DEPTH)
		return false;
	switch (*sc->p) {
	case '"':
		return scan_string(sc, &s, &n, &plain);
	case '{':
		return scan_items(sc, true, depth);
	case '[':
		return scan_items(sc, false, depth);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		return scan_number(sc);
	}
}

struct top {
	struct member op, key, id;
};

static struct member *wanted(struct top *t, const unsigned char *s, size_t n)
{
	if (n == 2 && memcmp(s, "op", 2) == 0)
		return &t->op;
	if (n == 3 && memcmp(s, "key", 3) == 0)
		return &t->key;
	if (n == 8 && memcmp(s, "event_id", 8) == 0)
		return &t->id;
	return NULL;
}

/* The whole value must be one JSON object (and nothing after it); its
 * op, key and event_id are noted. A second op, key or event_id is the
 * whole parse's to refuse. */
static bool scan_top(const void *value, size_t len, struct top *t)
{
	struct scan sc = {value, (const unsigned char *)value + len};
	const unsigned char *s;
	struct member *m;
	size_t n;
	bool plain;

	memset(t, 0, sizeof(*t));
	skip_ws(&sc);
	if (sc.p >= sc.end || *sc.p != '{')
		return false;
	sc.p++;
	skip_ws(&sc);
	if (sc.p < sc.end && *sc.p == '}') {
		sc.p++;
		goto end;
	}
	for (;;) {
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p != '"' ||
		    !scan_string(&sc, &s, &n, &plain))
			return false;
		/* A name with an escape in it is none of ours. */
		m = plain ? wanted(t, s, n) : NULL;
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p != ':')
			return false;
		sc.p++;
		skip_ws(&sc);
		if (m && m->kind != ABSENT)
			return false;
		if (m && sc.p < sc.end && *sc.p == '"') {
			if (!scan_string(&sc, &m->s, &m->n, &plain) || !plain)
				return false;
			m->kind = STRING;
		} else if (m && scan_literal(&sc, "null")) {
			m->kind = JSON_NULL;
		} else if (!scan_value(&sc, 1)) {
			return false;
		} else if (m) {
			m->kind = OTHER;
		}
		skip_ws(&sc);
		if (sc.p >= sc.end)
			return false;
		if (*sc.p == ',') {
			sc.p++;
			continue;
		}
		if (*sc.p != '}')
			return false;
		sc.p++;
		break;
	}
end:
	skip_ws(&sc);
	return sc.p == sc.end;
}

static bool is_native_op(const struct member *op)
{
	static const char *const ops[] = {"create", "update", "upsert",
	                                  "delete"};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (op->n == strlen(ops[i]) &&
		    memcmp(op->s, ops[i], op->n) == 0)
			return true;
	return false;
}

/* The key a record keyed by Kafka gets, parsed or not: "" for none. */
static int kafka_only(const void *kkey, size_t klen,
                      const struct event_options *opt, char **out)
{
	*out = event_key_with(kkey, klen, opt);
	if (!*out)
		*out = strdup("");
	return *out ? 1 : -ENOMEM;
}

int event_order_key(const void *value, size_t value_len, const void *kafka_key,
                    size_t kafka_key_len, const struct event_options *opt,
                    char **out)
{
	struct top t;

	*out = NULL;
	/* Tombstones, Debezium envelopes and flattened rows are keyed by
	 * the Kafka key alone; a value that does not parse falls back to
	 * the same key. */
	if (!value || opt->format == INPUT_DEBEZIUM ||
	    opt->format == INPUT_DEBEZIUM_FLAT ||
	    (opt->format == INPUT_AVRO && opt->flat))
		return kafka_only(kafka_key, kafka_key_len, opt, out);
	/* An Avro envelope's op needs its schema; a native envelope with
	 * an Avro Kafka key falls back to it only if it decodes. */
	if (opt->format == INPUT_AVRO ||
	    event_avro_key_is_avro(opt, kafka_key, kafka_key_len))
		return 0;
	if (!scan_top(value, value_len, &t) || t.op.kind != STRING)
		return 0;
	if (t.op.n == 1)
		return opt->format == INPUT_NATIVE
		           ? 0
		           : kafka_only(kafka_key, kafka_key_len, opt, out);
	if (!is_native_op(&t.op) || t.id.kind == OTHER ||
	    (t.id.kind == STRING && t.id.n > EVENT_ID_MAX) ||
	    t.key.kind == OTHER ||
	    (t.key.kind == STRING && t.key.n > EVENT_KEY_MAX))
		return 0;
	if (t.key.kind != STRING || t.key.n == 0)
		return kafka_only(kafka_key, kafka_key_len, opt, out);
	*out = strndup((const char *)t.key.s, t.key.n);
	return *out ? 1 : -ENOMEM;
}
