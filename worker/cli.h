/* What every long-running command (run, replay, dlq) does first. */
#ifndef CUSTSYNC_CLI_H
#define CUSTSYNC_CLI_H

#include <signal.h>

struct config;

/* Set by SIGTERM or SIGINT once cli_start has run. */
extern volatile sig_atomic_t cli_stop;

/* Loads path (every problem printed as FILE:LINE:COL), sets up logging
 * and the stop signals, ignores SIGPIPE. 0, or EX_CONFIG with cfg
 * left zeroed. */
int cli_start(const char *path, struct config *cfg);

#endif
