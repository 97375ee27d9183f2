/*
 * `barspace churn --html`: collects per-event figures while a churn runs
 * (sampled to a few thousand points, failures counted exactly) and maps at
 * chosen events (the start, the first failure, the end), then writes the
 * self-contained report of bs_render_churn_report().
 */
#ifndef BS_CLI_CHURN_REPORT_H
#define BS_CLI_CHURN_REPORT_H

#include "barspace/churn.h"

#include <stdint.h>

typedef struct churn_report churn_report;

/* NULL when path is NULL (no report wanted) or on ENOMEM (reported).
 * `c` is the churn right after bs_churn_new: its state is the first map. */
churn_report *churn_report_new(const char *path, const char *title,
                               uint64_t nevents, const bs_churn *c);
/* After each event (1-based), with its bs_event_result outcome. */
void churn_report_event(churn_report *r, const bs_churn *c, uint64_t event,
                        int outcome);
/* Write the file and free r.  Returns 0, or 2 (EXIT_BADINPUT) when the file
 * cannot be written (reported on stderr).  r may be NULL. */
int churn_report_finish(churn_report *r, const bs_churn *c);

/* Free r without writing anything (the run was abandoned). */
void churn_report_discard(churn_report *r);

#endif
