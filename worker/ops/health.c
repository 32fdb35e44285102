#include "ops/health.h"

#include "ops/kstats.h"

#include <stdio.h>
#include <string.h>

static int kafka_health(const struct kstats *ks, int64_t now, char *why,
                        size_t whylen)
{
	if (!ks->seen)
		return 1;
	if (!ks->brokers_up &&
	    now - ks->broker_up_ms >= HEALTH_KAFKA_GRACE_MS) {
		snprintf(why, whylen,
		         "no connection to any Kafka broker for %.1f s "
		         "(0 of %d up)",
		         (double)(now - ks->broker_up_ms) / 1000.0,
		         ks->brokers);
		return 0;
	}
	if (ks->has_coord && !ks->coord_up &&
	    now - ks->coord_up_ms >= HEALTH_KAFKA_GRACE_MS) {
		snprintf(why, whylen,
		         "group coordinator unreachable for %.1f s",
		         (double)(now - ks->coord_up_ms) / 1000.0);
		return 0;
	}
	if (!ks->has_cgrp)
		return 1;
	if (strcmp(ks->cgrp_state, "term") == 0) {
		snprintf(why, whylen, "consumer has left the group");
		return 0;
	}
	/* Anything short of up+steady is finding the coordinator, joining
	 * or rebalancing: on its way to an assignment. */
	if (strcmp(ks->cgrp_state, "up") == 0 &&
	    strcmp(ks->join_state, "steady") == 0 && ks->assignment <= 0) {
		snprintf(why, whylen,
		         "consumer is in the group but has no partitions");
		return 0;
	}
	return 1;
}

int health_check(int64_t now_ms, int64_t heartbeat_ms, const struct kstats *ks,
                 char *why, size_t whylen)
{
	if (now_ms - heartbeat_ms > HEALTH_LOOP_STALL_MS) {
		snprintf(why, whylen,
		         "event loop stalled: last iteration %.1f s ago",
		         (double)(now_ms - heartbeat_ms) / 1000.0);
		return 0;
	}
	if (!kafka_health(ks, now_ms, why, whylen))
		return 0;
	snprintf(why, whylen, "ok");
	return 1;
}
