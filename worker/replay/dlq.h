/* custsync dlq: lists the dead-letter topic (see dlq --help). */
#ifndef CUSTSYNC_DLQ_H
#define CUSTSYNC_DLQ_H

int dlq_command(int argc, char **argv);

#endif
