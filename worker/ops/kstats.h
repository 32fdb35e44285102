/* What a librdkafka statistics report (the consumer's JSON,
 * statistics.interval.ms) says about the consumer: broker connections,
 * the group coordinator, the group's state and the lag of each assigned
 * partition. Pure: JSON in, numbers out. */
#ifndef CUSTSYNC_KSTATS_H
#define CUSTSYNC_KSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lag series kept from one report: an input-controlled resource. */
#define KSTATS_MAX_PARTITIONS 10000

struct kstats_lag {
	const char *topic; /* points into kstats.topics */
	int32_t partition;
	int64_t lag;
};

struct kstats {
	bool seen; /* a report was parsed */
	bool has_cgrp;
	char cgrp_state[32];
	char join_state[48];
	long assignment;
	int brokers; /* configured, learned and logical */
	int brokers_up;
	bool has_coord; /* the logical GroupCoordinator broker */
	bool coord_up;
	/* Last report in which it was up (or the first report). */
	int64_t broker_up_ms;
	int64_t coord_up_ms;
	char **topics;
	size_t n_topics;
	struct kstats_lag *lags;
	size_t n_lags;
};

/* Fills *out (zeroed first) from one report; the up times are left for
 * kstats_carry_times. Returns 0, -EINVAL when json is not a statistics
 * object, or -ENOMEM; on error *out holds nothing to free. */
int kstats_parse(const char *json, size_t len, struct kstats *out);

/* The times that give a lost connection its grace carry over from the
 * previous report (prev unseen: this is the first, at now_ms). */
void kstats_carry_times(const struct kstats *prev, struct kstats *ks,
                        int64_t now_ms);

/* Frees the topics and lags; the rest is left as it was. */
void kstats_clear(struct kstats *ks);

#endif
