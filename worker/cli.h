/* What every long-running command (run, replay, dlq) does first. */
#ifndef CUSTSYNC_CLI_H
#define CUSTSYNC_CLI_H

#include <signal.h>

struct config;

/* Set by SIGTERM or SIGINT once cli_signals has run. */
extern volatile sig_atomic_t cli_stop;

/* Makes SIGTERM and SIGINT set cli_stop and ignores SIGPIPE. main()
 * calls it first, so a stop that comes while a command is still
 * starting (reading its config) is a request, not the end. */
void cli_signals(void);

/* Loads path (every problem printed as FILE:LINE:COL) and sets up
 * logging. 0, or EX_CONFIG with cfg left zeroed. */
int cli_start(const char *path, struct config *cfg);

#endif
