/* `custsync replay`: dead letters back through the live sync path.
 *
 * replay.c reads the topics, asks plan.c what each dead letter in the
 * reading range is, and keeps the tally; the daemon's loop (worker.c)
 * runs the selected ones exactly like live events (same profile,
 * conflict handling, per-key order and concurrency) through the hooks
 * replay.c fills (struct worker_hooks), which report each result back.
 * worker.c knows nothing of replay. */
#ifndef CUSTSYNC_REPLAY_H
#define CUSTSYNC_REPLAY_H

/* The command: custsync replay -c FILE [options]. */
int replay_command(int argc, char **argv);

#endif
