/*
 * VMBus's MMIO allocator, as Linux's drivers/hv/vmbus_drv.c runs it.
 *
 * vmbus_walk_resources collects the address descriptors of VMBus's ACPI
 * _CRS into a list sorted by address (adjacent ranges merged, a range
 * running over the vTPM at 0xfed40000 cut to end there, ranges ending below
 * 1 MiB dropped).  vmbus_reserve_fb then claims the framebuffer inside the
 * first (lowest) range, halving the claim until it fits, not below 1 MiB.
 * vmbus_allocate_mmio serves a request (min, max, size, align) from the
 * first range that is not entirely outside [min, max], at the lowest
 * aligned address that is free: first fit, upward, range by range.  Note
 * that only whole ranges are filtered by min and max; a range that starts
 * below max is searched to its end.
 *
 * One bs_space holds every range; the framebuffer claim is a reservation in
 * it, so nothing else can overlap it.
 */
#include "hyperv/hyperv.h"

#include <string.h>

int bs_vmbus_init(struct bs_vmbus *v, const bs_topo *t)
{
    memset(v, 0, sizeof *v);
    v->sp = bs_space_new();
    if (!v->sp)
        return BS_ENOMEM;
    v->n = bs_hv_gaps(t, v->base, v->last, v->win);
    for (int i = 0; i < v->n; i++) {
        int rc = bs_space_add_window(v->sp, v->base[i],
                                     v->last[i] - v->base[i] + 1);
        if (rc)
            return rc;
    }
    if (bs_hv_fb_claim(t, &v->fb_base, &v->fb_size) &&
        bs_space_reserve(v->sp, v->fb_base, v->fb_size) != BS_OK)
        v->fb_size = 0;
    return BS_OK;
}

void bs_vmbus_fini(struct bs_vmbus *v)
{
    bs_space_free(v->sp);
    v->sp = NULL;
}

int bs_vmbus_window_of(const struct bs_vmbus *v, uint64_t addr)
{
    for (int i = 0; i < v->n; i++)
        if (addr >= v->base[i] && addr <= v->last[i])
            return v->win[i];
    return -1;
}

int bs_vmbus_claim_topo(struct bs_vmbus *v, const bs_topo *t)
{
    for (int b = 1; b < t->nnodes; b++) {
        if (!(t->nodes[b].flags & BS_NF_VPCI))
            continue;
        for (int q = 0; q < BS_HV_NREQ; q++) {
            const struct bs_res *r = &t->nodes[b].res[bs_hv_req_slot[q]];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
                continue;
            int rc = bs_space_reserve(v->sp, r->addr, r->size);
            if (rc)
                return rc;
        }
    }
    return BS_OK;
}

bool bs_vmbus_range_ok(const struct bs_vmbus *v, int i, int req)
{
    /* hv_allocate_config_window: min 0, max -1; low: 0..0xffffffff;
     * high: 0x100000000..-1.  A range is skipped when start >= max or
     * end <= min. */
    uint64_t min = req == BS_HV_HIGH ? BS_4G : 0;
    uint64_t max = req == BS_HV_LOW ? BS_4G - 1 : UINT64_MAX;
    return !(v->base[i] >= max || v->last[i] <= min);
}

int bs_vmbus_alloc(struct bs_vmbus *v, int req, uint64_t size, uint64_t align,
                   uint64_t *addr, int *win)
{
    for (int i = 0; i < v->n; i++) {
        if (!bs_vmbus_range_ok(v, i, req))
            continue;
        if (bs_space_alloc(v->sp, size, align, v->base[i], v->last[i],
                           addr) == BS_OK) {
            *win = v->win[i];
            return BS_OK;
        }
    }
    return BS_ENOSPC;
}
