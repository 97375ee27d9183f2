/*
 * Fleet studies (docs/fleet.md): many independent churn histories, seeds x
 * workloads x gap sizes, each replayed under several placement policies,
 * summed into the question a platform team asks: with gaps of this size and
 * this churn, what share of our VMs hits a failed hot-add within a year?
 *
 * A study is a list of histories numbered 0..N-1 (workload-major, then gap,
 * then seed); shard I of K runs the histories i with i % K == I, so a study
 * split into shards and merged gives exactly the summary of one run.
 */
#ifndef BARSPACE_FLEET_H
#define BARSPACE_FLEET_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Policies compared in a study. */
enum bs_fleet_policy {
    BS_FLEET_FIRSTFIT = 0, /* the guest: VMBus first fit, nothing moves */
    BS_FLEET_BESTFIT = 1,  /* barspace without moves: buddy best fit */
    BS_FLEET_RELOCATE = 2, /* barspace: best fit, then eject and re-probe */
    BS_FLEET_NPOLICIES = 3
};
const char *bs_fleet_policy_name(int policy); /* "firstfit", ... */

#define BS_FLEET_SPEC_MAX 64

/* One history under one policy: one JSON line (schema barspace.fleet-run/1). */
typedef struct bs_fleet_run {
    char workload[BS_FLEET_SPEC_MAX]; /* generator spec without gap= */
    uint64_t gap;            /* bytes of the gap the workload is given */
    uint64_t seed;
    int policy;              /* enum bs_fleet_policy */
    int years;               /* VM-years simulated */
    int events;              /* events applied */
    int adds;                /* hot-adds and replacements */
    int failed;              /* of them failed */
    int first_failure;       /* event index of the first failure, -1 none */
    int failed_year1;        /* a failure within the first VM-year */
    int moves;               /* buses ejected and re-probed */
    uint64_t bytes_moved;
    uint64_t downtime_ns;
} bs_fleet_run;

typedef struct bs_fleet_study {
    const char *const *workloads; /* e.g. "hyperv:big=50"; gap= is added */
    int nworkloads;
    const uint64_t *gaps;
    int ngaps;
    uint64_t seeds;          /* histories per workload and gap */
    uint64_t seed;           /* seed of history 0 (default 1) */
    int events_per_year;     /* default 24 */
    int years;               /* default 1 */
    unsigned policies;       /* bit per enum bs_fleet_policy; 0 = all */
    int shard, nshards;      /* this shard of nshards (0, 1: everything) */
} bs_fleet_study;

void bs_fleet_study_init(bs_fleet_study *s);
/* Number of histories in the whole study. */
uint64_t bs_fleet_histories(const bs_fleet_study *s);

/* Run history i of the study under policy p. */
int bs_fleet_run_history(const bs_fleet_study *s, uint64_t i, int policy,
                         bs_fleet_run *out, bs_error *err);

/* One run as a JSON line (no newline), snprintf-style; and back.  The
 * parser names file:line in err for a line that is not such a run. */
size_t bs_fleet_run_format(const bs_fleet_run *r, char *buf, size_t cap);
int bs_fleet_run_parse(const char *line, size_t len, const char *file,
                       int lineno, bs_fleet_run *out, bs_error *err);

/* The summary: one row per workload, policy and gap, whatever the order
 * the runs are added in. */
typedef struct bs_fleet_sum bs_fleet_sum;
bs_fleet_sum *bs_fleet_sum_new(void);
void bs_fleet_sum_free(bs_fleet_sum *s);
/* BS_EINVAL when the same run (workload, gap, seed, policy) was added
 * before: a shard merged twice. */
int bs_fleet_sum_add(bs_fleet_sum *s, const bs_fleet_run *r);
/* Runs added in all, and VM-years they cover. */
uint64_t bs_fleet_sum_runs(const bs_fleet_sum *s);
uint64_t bs_fleet_sum_vm_years(const bs_fleet_sum *s);
/* The table (text), the summary as one JSON document (schema
 * barspace.fleet/1), and the plot (SVG: probability of a failed hot-add
 * within a year against gap size, a line per workload and policy);
 * snprintf-style. */
size_t bs_fleet_sum_table(const bs_fleet_sum *s, char *buf, size_t cap);
size_t bs_fleet_sum_json(const bs_fleet_sum *s, char *buf, size_t cap);
int bs_fleet_sum_svg(const bs_fleet_sum *s, char *buf, size_t cap,
                     size_t *len);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
