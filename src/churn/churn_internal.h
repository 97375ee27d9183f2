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
int bs_ritem_cmp_align(const void *a, const void *b);

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
    struct bs_hvc *hv;  /* Hyper-V platform: churn_hv.c runs the events */
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
/* Bounded string copy for names (also used by the generator, churn_gen.c). */
void bs_churn_copy_name(char *dst, size_t cap, const char *src);
bs_space *bs_churn_space(bs_churn *c, int bus, int win);
int bs_churn_open_window(bs_churn *c, int node, int slot);
/* Candidate windows of bus b for a resource of flags f, in preference order:
 * space, window id, lowest and highest usable address. */
int bs_churn_windows(bs_churn *c, int bus, uint32_t f, bs_space **s,
                     int *win, uint64_t *lo, uint64_t *hi, int cap);
uint32_t bs_churn_rflags(const bs_topo *t, int n, int k);

/* place.c: place items (sorted inside) on bus b without moving anything.
 * On success the spaces hold the new allocations and items carry addr/win;
 * on failure nothing changed. */
bool bs_place_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                    int policy);
void bs_unplace_items(bs_churn *c, int bus, const struct bs_ritem *it, int n);
/* Buddy best fit of one range in [lo, hi] of s (not claimed); lowest fit
 * for ranges that are not naturally aligned powers of two. */
bool bs_best_fit(bs_space *s, uint64_t size, uint64_t align, uint64_t lo,
                 uint64_t hi, uint64_t *out);

/* churn_hv.c: the engine on a Hyper-V topology (docs/hyperv.md), where a
 * hot-added function arrives on a vPCI bus of its own. */
int bs_churn_hv_init(bs_churn *c, bs_error *err);
void bs_churn_hv_free(bs_churn *c);
int bs_churn_hv_apply(bs_churn *c, const bs_event *ev, bs_event_result *res,
                      bs_error *err);
void bs_churn_hv_frag(const bs_churn *c, bs_frag *out);

/* place_linux.c: Linux's hot-add into a slot whose port has no other
 * device: first fit, then each failing type's port window released,
 * re-sized and assigned again in the parent, then first fit again.  Items
 * carry addr/win (BS_WIN_NONE: no place); returns how many found none,
 * sets *windows to the number of windows re-assigned and *lost to the BARs
 * of other devices released with their windows (left unassigned). */
int bs_place_linux_slot(bs_churn *c, int bus, struct bs_ritem *it, int n,
                        int *windows, int *lost);

/* plan.c: the plan container (bs_plan_new .. bs_plan_apply), and a
 * relocation plan for items on bus b.  Leaves spaces unchanged.
 * *proven_none is set when no plan exists even moving every movable unit
 * of the bus. */
int bs_plan_push(bs_plan *p, const bs_plan_item *it);
int bs_plan_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                  int subject, bs_plan *out, bool *proven_none);
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
