/* kafka.properties as librdkafka will see them: the K_file form of a
 * property, and each property checked by librdkafka's own parser (and
 * file properties checked for a readable file) while the config loads,
 * so that check-config and run report it at its place. */
#ifndef CUSTSYNC_CONFIG_KPROPS_H
#define CUSTSYNC_CONFIG_KPROPS_H

#include <stdbool.h>
#include <stddef.h>

struct ytree;
struct rd_kafka_conf_s;

/* K for a key "K_file" (K non-empty, fits base), else NULL. */
const char *kprops_file_base(const char *key, char *base, size_t size);

/* Hands key=value to probe (a throwaway rd_kafka_conf_t) and reports
 * librdkafka's message at node as "PATH: message"; a file property must
 * name a readable file. secret: value came from a K_file and is not
 * shown. Returns 0 or -1 after reporting. */
int kprops_check(struct ytree *t, size_t node, const char *path,
                 struct rd_kafka_conf_s *probe, const char *key,
                 const char *value, bool secret);

#endif
