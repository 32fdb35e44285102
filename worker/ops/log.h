/* One line per notable event: a message plus separate fields, syslog
 * levels. The text format renders `msg k=v k="v w"`, the JSON format one
 * object {"ts","level","msg",<fields>}. Under journald (JOURNAL_STREAM
 * set) both carry the sd-daemon "<N>" prefix so levels survive, and no
 * timestamp, since journald stamps lines itself. Each line is one
 * write(2) under a lock: librdkafka logs from its own threads. Callers
 * never log tokens, Authorization headers or record bodies. */
#ifndef CUSTSYNC_LOG_H
#define CUSTSYNC_LOG_H

#include <stddef.h>
#include <syslog.h>

struct log_field {
	const char *key;
	const char *str; /* NULL: the field is the number num */
	long long num;
};

static inline const char *log_str_(const char *s)
{
	return s ? s : "";
}

#define LOG_S(k, v) ((struct log_field){(k), log_str_(v), 0})
#define LOG_N(k, v) ((struct log_field){(k), NULL, (long long)(v)})

void log_setup(const char *level, int json);
int log_level_parse(const char *name); /* -1 when unknown */
int log_enabled(int level);

void log_fields(int level, const char *msg, const struct log_field *f,
                size_t n);

/* log_kv(LOG_INFO, "partition assigned", LOG_S("topic", t),
 *        LOG_N("partition", p)); */
#define log_kv(level, msg, ...)                                               \
	do {                                                                  \
		const struct log_field log_f_[] = {__VA_ARGS__};              \
		log_fields((level), (msg), log_f_,                            \
		           sizeof(log_f_) / sizeof(log_f_[0]));               \
	} while (0)

/* A message without fields (printf-formatted; put values that come from
 * events in fields instead, so they are escaped). */
void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
