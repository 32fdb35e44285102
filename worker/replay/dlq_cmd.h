/* The `custsync dlq` command: lists the dead-letter topic (see dlq
 * --help). The dead-letter record itself (its headers, written and read)
 * is core/deadletter.h. */
#ifndef CUSTSYNC_DLQ_CMD_H
#define CUSTSYNC_DLQ_CMD_H

int dlq_command(int argc, char **argv);

#endif
