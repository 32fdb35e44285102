/* The config's mapping: section, read against the canonical fields. */
#ifndef CUSTSYNC_CONFIG_FIELDMAP_H
#define CUSTSYNC_CONFIG_FIELDMAP_H

#include <stddef.h>

struct ytree;
struct config_mapping;

/* The mapping at node, in file order; every problem is reported. *dst is
 * set even then, so that what was read is freed with the config. Returns
 * 0 or -1. */
int fieldmap_read(struct ytree *t, size_t node, struct config_mapping **dst,
                  size_t *n_dst);
void fieldmap_free(struct config_mapping *v, size_t n);

#endif
