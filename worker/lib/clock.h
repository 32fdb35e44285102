/* The daemon's two clocks, in int64 milliseconds. Durations, deadlines
 * and timers use the monotonic one; only what a person or another
 * system reads as a date (a record's finished_at, --since) uses the
 * wall clock. */
#ifndef CUSTSYNC_CLOCK_H
#define CUSTSYNC_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: never jumps; its zero means nothing. */
int64_t clock_mono_ms(void);

/* CLOCK_REALTIME: milliseconds since 1970-01-01 UTC. */
int64_t clock_wall_ms(void);

#endif
