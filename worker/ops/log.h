/* One line per notable event, key=value pairs, syslog levels. Under
 * journald (JOURNAL_STREAM set) lines carry the sd-daemon "<N>" prefix so
 * levels survive; otherwise a timestamp and level name. Callers never log
 * tokens, Authorization headers or record bodies. */
#ifndef CUSTSYNC_LOG_H
#define CUSTSYNC_LOG_H

#include <syslog.h>

void log_setup(const char *level, int json);
int log_level_parse(const char *name); /* -1 when unknown */
int log_enabled(int level);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
