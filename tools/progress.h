/*
 * Progress of long runs (churn over millions of events, the peer suite) on
 * stderr, only when stderr is a terminal: a single line rewritten in place,
 * at most a few times per second.  Pipes, logs and CI see nothing.
 * BARSPACE_PROGRESS=0 turns it off, =1 forces it on (e.g. to test it).
 *
 *   cli_progress p;
 *   cli_progress_start(&p, "churn", nevents);
 *   for (i = 0; i < nevents; i++) { ...; cli_progress_update(&p, i + 1); }
 *   cli_progress_done(&p);
 */
#ifndef BS_CLI_PROGRESS_H
#define BS_CLI_PROGRESS_H

#include <stdint.h>

typedef struct cli_progress {
    const char *what;
    uint64_t total;     /* 0: unknown, show a count only */
    uint64_t done;
    double last;        /* monotonic seconds of the last line drawn */
    int on;
    int drawn;          /* a line is on screen and needs clearing */
} cli_progress;

void cli_progress_start(cli_progress *p, const char *what, uint64_t total);
void cli_progress_update(cli_progress *p, uint64_t done);
/* Clear the line (the caller prints its results after). */
void cli_progress_done(cli_progress *p);

#endif
