/* Internal interface between the assignment entry point and its policies. */
#ifndef BS_ASSIGN_H
#define BS_ASSIGN_H

#include "assign/spaces.h"
#include "core/internal.h"

int bs_assign_linux(bs_topo *t, const bs_assign_opts *o);
/* The kernel BS_KERNEL_NEWEST stands for (policy.c's table). */
int bs_kernel_newest(void);
int bs_assign_pack(bs_topo *t, const bs_assign_opts *o);
/* Exact search for any valid assignment (assign_search.c); BS_OK with the
 * assignment written into t, or BS_ENOSPC when none was found within
 * `budget` search nodes (0: default). */
int bs_pack_search(bs_topo *t, uint64_t budget);


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
