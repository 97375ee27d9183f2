/* Internal interface between the assignment entry point and its policies. */
#ifndef BS_ASSIGN_H
#define BS_ASSIGN_H

#include "core/internal.h"

int bs_assign_linux(bs_topo *t, const bs_assign_opts *o);
/* The kernel BS_KERNEL_NEWEST stands for (policy.c's table). */
int bs_kernel_newest(void);
int bs_assign_pack(bs_topo *t, const bs_assign_opts *o);
/* Exact search for any valid assignment (assign_search.c); BS_OK with the
 * assignment written into t, or BS_ENOSPC when none was found within
 * `budget` search nodes (0: default). */
int bs_pack_search(bs_topo *t, uint64_t budget);


/* One allocator per root window and per assigned bridge window. */
struct bs_spaces {
    const bs_topo *t;
    bs_space **root; /* [nwin] */
    bs_space **win;  /* [nnodes * 3], io/mem/pref of each bridge */
};
int bs_spaces_init(struct bs_spaces *sp, const bs_topo *t);
void bs_spaces_fini(struct bs_spaces *sp);
bs_space *bs_spaces_get(struct bs_spaces *sp, int node, int win);
/* (Re)create the space of an assigned bridge window. */
int bs_spaces_open(struct bs_spaces *sp, int node, int slot);

/* Hull [lo, hi] of the firmware-fixed resources that a bridge window must
 * forward; false when there are none.  A window that forwards fixed BARs
 * can only be placed where it covers them. */
bool bs_fixed_hull(const bs_topo *t, int node, int slot, uint64_t *lo,
                   uint64_t *hi);

/* A firmware-fixed resource (node, slot) on `bus` could not be claimed:
 * it keeps no address (so the state stays checker-valid) and the failure
 * names the resource it collides with, or says it lies outside every
 * window of its bus. */
void bs_fixed_failed(bs_topo *t, int bus, int node, int slot);

#endif
