/*
 * Internal interface between the churn engine (churn.c), placement
 * (place.c), the relocation planner (plan.c), plan execution (plan_exec.c)
 * and partial BARs (rebar.c).  Not public.
 */
#ifndef BS_CHURN_INTERNAL_H
#define BS_CHURN_INTERNAL_H

#include "assign/spaces.h"
#include "core/internal.h"
#include "barspace/churn.h"
#include "barspace/plan.h"

/* A resource that needs an address: of the subject (new or resized), or of a
 * unit being moved. */
struct bs_ritem {
    int node, slot;
    uint64_t size, align;
    uint32_t flags;     /* placement flags (window flags for bridge windows) */
    int unit;           /* index in the planner's unit array, -1 = subject */
    uint64_t addr;      /* result */
    int win;            /* result */
    /* A bridge window that moves keeps its contents' offsets, so it may
     * only move by multiples of `align`: it must land at an address equal
     * to its current one modulo `align`, i.e. `phase` past an aligned one. */
    uint64_t phase;
};

/* Placement order shared by hot-add placement and the planner (place.c):
 * 32-bit-only items first, then descending alignment and size, then tree
 * order for determinism. */
int bs_ritem_cmp(const void *a, const void *b);

struct bs_churn {
    bs_topo *t;
    bs_churn_opts o;
    struct bs_spaces sp; /* one allocator per window */
    unsigned char *present;
    int *free_next;     /* absent device nodes, linked per parent */
    int *free_head;     /* [node]: first absent child, -1 */
    int pcap;
    bs_plan *last;      /* plan of the last event (moves) */
    bool last_valid;
};

struct bs_plan {
    bs_plan_item *it;
    int n, cap;
    int subject;
    int moved;
    uint64_t bytes;
    int optimal;
    int windows;
};

/* churn.c */
bs_space *bs_churn_space(bs_churn *c, int bus, int win);
int bs_churn_open_window(bs_churn *c, int node, int slot);
/* Candidate windows of bus b for a resource of flags f, in preference order:
 * space, window id, lowest and highest usable address. */
int bs_churn_windows(bs_churn *c, int bus, uint32_t f, bs_space **s,
                     int *win, uint64_t *lo, uint64_t *hi, int cap);
uint32_t bs_churn_rflags(const bs_topo *t, int n, int k);
int bs_plan_push(bs_plan *p, const bs_plan_item *it);

/* place.c: place items (sorted inside) on bus b without moving anything.
 * On success the spaces hold the new allocations and items carry addr/win;
 * on failure nothing changed. */
bool bs_place_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                    int policy);
void bs_unplace_items(bs_churn *c, int bus, const struct bs_ritem *it, int n);

/* plan.c: a relocation plan for items on bus b.  Leaves spaces unchanged.
 * *proven_none is set when no plan exists even moving every movable unit
 * of the bus. */
int bs_plan_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                  int subject, bs_plan *out, bool *proven_none);
/* Grow the subject's bridge windows into free space behind them, moving
 * nothing (what Linux can do for an otherwise empty hot-plug slot). */
int bs_plan_grow_free(bs_churn *c, int bus, struct bs_ritem *it, int n,
                      int subject, bs_plan *out);
/* Apply a plan's moves, window changes and new placements to the churn
 * (topology and spaces). */
int bs_churn_commit(bs_churn *c, const bs_plan *p);

/* plan_exec.c: decode-off time of a plan under the cost model (emits and
 * replays the steps).  Returns BS_OK or BS_ESTATE when a step is invalid. */
/* bs_steps_check with the invariant sweep after every step, without the
 * shortcut for steps that only shrink what a device decodes: the
 * reference the shortcut is tested against (tests/test_plan.c). */
int bs_steps_check_full(const bs_topo *before, const bs_topo *after,
                        const bs_step *s, int n, const bs_churn_opts *o,
                        bs_step_report *rep, uint64_t *per_node);
int bs_plan_cost(const bs_churn *c, const bs_plan *p, const bs_topo *before,
                 bs_step_report *rep);

/* rebar.c: the subject does not fit at full size anywhere; try a reduced
 * Resizable BAR of the subject or a shrunk resizable neighbour.  On success
 * the plan is filled (not yet committed) and *reduced_node/want/got say
 * what was reduced. */
int bs_rebar_fit(bs_churn *c, int bus, struct bs_ritem *it, int n,
                 int subject, bs_plan *out, int *reduced_node, uint64_t *want,
                 uint64_t *got);

#endif
