/*
 * Relocation plans: which devices move where so that a new or growing device
 * fits, and the executable, verifiable sequence of config-space writes that
 * carries a plan out on a running machine (docs/churn.md).
 *
 * A plan is data.  bs_plan_steps() turns it into steps: quiesce a driver,
 * clear memory decode, write BAR low and high halves, update bridge windows,
 * set decode, resume.  bs_steps_check() replays steps against a model of the
 * machine's config space and validates every intermediate state: no two
 * decoding ranges overlap (a bridge window may contain what is below it), no
 * decoding 64-bit BAR is half written, no running driver loses its MMIO, no
 * pinned device or firmware-fixed BAR is touched; it also reports each
 * device's decode-off time under the cost model of bs_churn_opts.
 *
 * Register layout used by the steps (type 0 / type 1 headers as in the PCI
 * spec): command 0x04 (bit 0 I/O, bit 1 memory), BARs 0x10 + 4i, device ROM
 * 0x30 (bit 0 enable), bridge I/O base/limit 0x1c + upper 16 bits 0x30,
 * memory base/limit 0x20, prefetchable base/limit 0x24, upper base 0x28,
 * upper limit 0x2c, bridge ROM 0x38.  Extended capabilities at fixed
 * offsets of this model: SR-IOV at BS_CAP_SRIOV (control +0x08 bit 3 = VF
 * memory enable, NumVFs +0x10, VF BARs +0x24 + 4i) and Resizable BAR at
 * BS_CAP_REBAR (control of BAR i at +0x08 + 8i: bits 13:8 = log2(size/1 MiB)).
 */
#ifndef BARSPACE_PLAN_H
#define BARSPACE_PLAN_H

#include "barspace/barspace.h"
#include "barspace/churn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define BS_CAP_SRIOV 0x160
#define BS_CAP_REBAR 0x200

enum bs_plan_op {
    BS_PLAN_NEW = 1,  /* a resource of the subject gets its address */
    BS_PLAN_MOVE,     /* a working device's resource moves */
    BS_PLAN_WINDOW,   /* a bridge window grows, shrinks or moves */
    BS_PLAN_SHRINK,   /* a Resizable BAR is made smaller in place */
    BS_PLAN_RESIZE    /* the subject's resource changes size (and place) */
};

typedef struct bs_plan_item {
    int op;                      /* enum bs_plan_op */
    int node, slot;
    uint64_t old_addr, old_size; /* old_size 0: had no address */
    uint64_t new_addr, new_size;
    int new_win;                 /* root window index or parent window slot */
} bs_plan_item;

typedef struct bs_plan bs_plan;

bs_plan *bs_plan_new(void);
void bs_plan_free(bs_plan *p);
void bs_plan_clear(bs_plan *p);
int bs_plan_item_count(const bs_plan *p);
int bs_plan_item_get(const bs_plan *p, int i, bs_plan_item *out);
int bs_plan_subject(const bs_plan *p);       /* node, -1 if none */
int bs_plan_moved_devices(const bs_plan *p); /* working devices that move */
uint64_t bs_plan_moved_bytes(const bs_plan *p);
/* 1: proven optimal (fewest devices, then bytes, then decode-off time);
 * 0: heuristic (inclusion-minimal: no moved device could stay put). */
int bs_plan_optimal(const bs_plan *p);

/* The plan of the last event of a churn (NULL if it had none). */
const bs_plan *bs_churn_last_plan(const bs_churn *c);

/* Plan the hot-add of event ev (kind BS_EV_ADD) on the churn's current state
 * without applying it.  BS_OK with a plan (possibly without moves),
 * BS_ENOSPC if no plan exists within the planner's scope. */
int bs_churn_plan_add(bs_churn *c, const bs_event *ev, bs_plan *out,
                      bs_error *err);

/* ---- steps ---- */

enum bs_step_kind {
    BS_STEP_QUIESCE = 1, /* stop the driver: no MMIO from here on */
    BS_STEP_WRITE,       /* config-space write */
    BS_STEP_RESUME       /* the driver may use the device again */
};

typedef struct bs_step {
    int kind;           /* enum bs_step_kind */
    int node;
    unsigned reg;       /* config offset */
    unsigned width;     /* 1, 2 or 4 bytes */
    uint32_t value;
    char what[48];      /* "decode off", "BAR2 low", "mem window", ... */
} bs_step;

/* Emit the steps of plan p on topology `before` (the state the plan was made
 * for).  *out is malloc'd; caller frees. */
int bs_plan_steps(const bs_plan *p, const bs_topo *before, bs_step **out,
                  int *count);

typedef struct bs_step_report {
    int violations;          /* 0 = every intermediate state valid */
    int first_bad;           /* index of the first bad step, -1 if none */
    char msg[256];           /* the first violation */
    int devices;             /* devices whose decode went off */
    uint64_t elapsed_ns;     /* whole sequence under the cost model */
    uint64_t total_downtime_ns;
    uint64_t worst_downtime_ns;
    int worst_node;
} bs_step_report;

/* Replay steps from `before`; at the end the machine must match `after`
 * (every resource of the plan at its new address and size).  per_node
 * (optional, bs_topo_node_count(after) entries) receives each device's
 * decode-off time.  Returns BS_OK when the sequence is valid, BS_ESTATE
 * with rep->msg otherwise. */
int bs_steps_check(const bs_topo *before, const bs_topo *after,
                   const bs_step *s, int n, const bs_churn_opts *cost,
                   bs_step_report *rep, uint64_t *per_node);

/* Apply a plan to a topology (what bs_churn does after checking it). */
int bs_plan_apply(const bs_plan *p, bs_topo *t);

/* A relocation plan being carried out: the states before and after it, its
 * steps (bs_plan_steps) and the index of the first step not yet done. */
typedef struct bs_pending_plan {
    bs_topo *before;    /* the machine when the plan started */
    bs_topo *after;     /* the machine when every step is done */
    bs_step *steps;     /* malloc'd */
    int nsteps;
    int next;           /* 0..nsteps: steps [0, next) were carried out */
} bs_pending_plan;

/* A pending plan for (before, p) with nothing done yet: copies of before
 * and of the state after the plan, and the plan's steps.  bs_pending_free
 * releases it. */
int bs_pending_new(const bs_topo *before, const bs_plan *p,
                   bs_pending_plan **out);
void bs_pending_free(bs_pending_plan *pp);

/* An interrupted plan (the VMM died after step next-1, or the guest would
 * not quiesce a driver) is either resumed or rolled back.
 *
 * Resume: the steps still to do, [next, nsteps).  Carried out, the machine
 * is in the plan's after state.
 *
 * Rollback: the steps that take the machine from where it stopped back to
 * the before state: the steps done, undone in reverse order (a write by
 * writing the register's earlier value, a quiesce by a resume, a resume by
 * a quiesce).  The machine passes back through the states it passed
 * through on the way forward, so every one is as valid as the plan's own
 * (bs_steps_check on steps [0, next) followed by these, from before to
 * before, verifies it).  BS_EINVAL with err when a step writes a register
 * whose earlier value the before state does not determine.
 *
 * Both return a malloc'd array (*out, *count; caller frees). */
int bs_pending_resume(const bs_pending_plan *pp, bs_step **out, int *count);
int bs_pending_rollback(const bs_pending_plan *pp, bs_step **out, int *count,
                        bs_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
