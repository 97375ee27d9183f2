/*
 * Internal interface of the Hyper-V platform layer: the model of VMBus's
 * MMIO allocator (vmbus.c), the placement of vPCI buses (assign.c) and the
 * reading of a guest's log (log.c).  The platform description itself
 * (framebuffer, vPCI buses, their requests and rules) is in
 * src/core/platform.c.  Not public.
 */
#ifndef BS_HYPERV_H
#define BS_HYPERV_H

#include "core/internal.h"
#include "barspace/hyperv.h"

/* VMBus's MMIO pool: the gaps as vmbus_walk_resources keeps them (sorted,
 * truncated at the vTPM, those ending below 1 MiB dropped), one bs_space
 * holding them, and the framebuffer claim (vmbus_reserve_fb). */
struct bs_vmbus {
    int n;
    uint64_t base[BS_MAX_ROOT_WINDOWS], last[BS_MAX_ROOT_WINDOWS];
    int win[BS_MAX_ROOT_WINDOWS];   /* root window index of each range */
    bs_space *sp;
    uint64_t fb_base, fb_size;      /* the claim that succeeded; size 0 none */
};

int bs_vmbus_init(struct bs_vmbus *v, const bs_topo *t);
void bs_vmbus_fini(struct bs_vmbus *v);
/* Claim every range the buses of t already hold (an assigned topology). */
int bs_vmbus_claim_topo(struct bs_vmbus *v, const bs_topo *t);
/* Does range i qualify for a request of kind `req` (the min/max filter of
 * vmbus_allocate_mmio)? */
bool bs_vmbus_range_ok(const struct bs_vmbus *v, int i, int req);
/* vmbus_allocate_mmio: the lowest aligned address of the first qualifying
 * range, ranges in ascending order.  BS_ENOSPC if none. */
int bs_vmbus_alloc(struct bs_vmbus *v, int req, uint64_t size, uint64_t align,
                   uint64_t *addr, int *win);
/* Root window index holding addr, -1 if none. */
int bs_vmbus_window_of(const struct bs_vmbus *v, uint64_t addr);

/* Record range `req` of bus at addr (window win), or clear it (win < 0). */
void bs_hv_set_range(bs_topo *t, int bus, int req, uint64_t addr,
                     uint64_t size, uint64_t align, int win);
/* Lay out the BARs of the bus's devices inside its low and high ranges as
 * prepopulate_bars does; the ranges must be set. */
void bs_hv_layout(bs_topo *t, int bus);
/* Mark the bus and its devices' BARs unassigned (after a failed probe). */
void bs_hv_unplace(bs_topo *t, int bus);

/* Place every vPCI bus of t in file order, as hv_pci_probe does for each
 * offered channel.  BS_ENOSPC with failures recorded when some bus did not
 * get its ranges. */
int bs_hv_assign(bs_topo *t);


#endif
