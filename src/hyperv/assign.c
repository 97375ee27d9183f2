/*
 * Placement of vPCI buses, as a Linux guest does it on Hyper-V.
 *
 * For every offered bus, in order, hv_pci_probe asks VMBus for three ranges
 * (drivers/pci/controller/pci-hyperv.c):
 *   1. hv_allocate_config_window: 8 KiB, page aligned, anywhere;
 *   2. hv_pci_allocate_bridge_windows: the low need (32-bit BARs) below
 *      4 GiB, then the high need (64-bit BARs) above 4 GiB, each exactly
 *      the need (a multiple of a page, not rounded to a power of two) and
 *      aligned to the largest power of two not above it.  When the high
 *      range fails the low one is given back; when either fails the probe
 *      fails and the config window goes too, and the guest logs "Need %#llx
 *      of low|high MMIO space. Consider reconfiguring the VM.".
 * Then prepopulate_bars writes the BARs: sizes from the range's alignment
 * downwards, for each size every device in order and every BAR in index
 * order, packed upward from the range's start.  The PCI core keeps those
 * addresses: they are aligned and inside the bus's resources.
 */
#include "hyperv/hyperv.h"

#include <stdio.h>

static uint64_t page_round(uint64_t s) { return bs_align_up(s, 4096); }

void bs_hv_set_range(bs_topo *t, int bus, int req, uint64_t addr,
                     uint64_t size, uint64_t align, int win)
{
    struct bs_res *r = &t->nodes[bus].res[bs_hv_req_slot[req]];
    if (win < 0) {
        bs_res_release(t, bus, bs_hv_req_slot[req]);
        r->addr = 0;
        if (req != BS_HV_CFG)
            r->size = r->want = 0;
        return;
    }
    r->size = size;
    r->want = size;
    r->align = align;
    bs_res_assign(t, bus, bs_hv_req_slot[req], addr, win);
}

void bs_hv_layout(bs_topo *t, int bus)
{
    const struct bs_res *lw = &t->nodes[bus].res[BS_SLOT_WIN_MEM];
    const struct bs_res *hw = &t->nodes[bus].res[BS_SLOT_WIN_PREF];
    uint64_t lsize = (lw->flags & BS_RF_ASSIGNED) ? bs_hv_align(lw->size) : 0;
    uint64_t hsize = (hw->flags & BS_RF_ASSIGNED) ? bs_hv_align(hw->size) : 0;
    uint64_t lbase = lw->addr, hbase = hw->addr;
    while (lsize || hsize) {
        BS_FOR_CHILDREN(t, bus, d)
            for (int k = BS_SLOT_BAR0; k < BS_SLOT_ROM; k++) {
                struct bs_res *r = &t->nodes[d].res[k];
                if (!r->size || (r->flags & BS_RF_UPPER))
                    continue;
                uint64_t ps = page_round(r->want ? r->want : r->size);
                bool high = r->flags & BS_RF_MEM64;
                if (ps != (high ? hsize : lsize))
                    continue;
                bs_res_assign(t, d, k, high ? hbase : lbase,
                              high ? BS_SLOT_WIN_PREF : BS_SLOT_WIN_MEM);
                *(high ? &hbase : &lbase) += ps;
            }
        lsize >>= 1;
        hsize >>= 1;
    }
}

void bs_hv_unplace(bs_topo *t, int bus)
{
    for (int q = 0; q < BS_HV_NREQ; q++)
        bs_hv_set_range(t, bus, q, 0, 0, 0, -1);
    BS_FOR_CHILDREN(t, bus, d)
        for (int k = BS_SLOT_BAR0; k < BS_SLOT_ROM; k++) {
            struct bs_res *r = &t->nodes[d].res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            bs_res_release(t, d, k);
            r->flags |= BS_RF_FAILED;
            r->addr = 0;
        }
}

/* How far the last qualifying gap would have to grow at its top for the
 * request to fit above everything it holds now. */
static uint64_t growth(const bs_topo *t, const struct bs_vmbus *v, int req,
                       uint64_t size, uint64_t align)
{
    int i = v->n - 1;
    while (i >= 0 && !bs_vmbus_range_ok(v, i, req))
        i--;
    if (i < 0)
        return size;
    uint64_t top = v->base[i]; /* first byte above what the gap holds */
    if (v->fb_size && v->fb_base >= v->base[i] && v->fb_base <= v->last[i])
        top = v->fb_base + v->fb_size;
    for (int b = 1; b < t->nnodes; b++)
        for (int q = 0; q < BS_HV_NREQ; q++) {
            const struct bs_res *r = &t->nodes[b].res[bs_hv_req_slot[q]];
            if ((t->nodes[b].flags & BS_NF_VPCI) &&
                (r->flags & BS_RF_ASSIGNED) && r->size &&
                r->addr >= v->base[i] && r->addr <= v->last[i] &&
                r->addr + r->size > top)
                top = r->addr + r->size;
        }
    uint64_t end = bs_last(bs_align_up(top, align), size);
    return end > v->last[i] ? end - v->last[i] : 0;
}

/* Probe one bus: its three ranges or nothing. */
static int probe_bus(bs_topo *t, struct bs_vmbus *v, int bus)
{
    uint64_t size[BS_HV_NREQ], align[BS_HV_NREQ], addr[BS_HV_NREQ];
    int win[BS_HV_NREQ];
    bs_hv_requests(t, bus, size, align);
    for (int q = 0; q < BS_HV_NREQ; q++) {
        if (!size[q] ||
            bs_vmbus_alloc(v, q, size[q], align[q], &addr[q], &win[q]) ==
                BS_OK)
            continue;
        uint64_t grow = growth(t, v, q, size[q], align[q]);
        for (int u = 0; u < q; u++)
            if (size[u])
                bs_space_release(v->sp, addr[u], size[u]);
        bs_hv_unplace(t, bus);
        bs_failure *f;
        if (q == BS_HV_CFG)
            f = bs_failure_add(t, bus, BS_SLOT_BAR0, 0, BS_WIN_NONE, grow,
                               "no room for the 8K config window");
        else
            f = bs_failure_add(t, bus, bs_hv_req_slot[q], 0, BS_WIN_NONE,
                               grow, "Need 0x%llx of %s MMIO space. Consider "
                               "reconfiguring the VM.",
                               (unsigned long long)size[q],
                               q == BS_HV_LOW ? "low" : "high");
        if (f) {
            f->size = size[q];
            f->align = align[q];
        }
        return BS_ENOSPC;
    }
    for (int q = 0; q < BS_HV_NREQ; q++)
        if (size[q])
            bs_hv_set_range(t, bus, q, addr[q], size[q], align[q], win[q]);
    bs_hv_layout(t, bus);
    return BS_OK;
}

static bool bus_assigned(const bs_topo *t, int bus)
{
    return t->nodes[bus].res[BS_SLOT_BAR0].flags & BS_RF_ASSIGNED;
}

int bs_hv_assign(bs_topo *t)
{
    struct bs_vmbus v;
    int rc = bs_vmbus_init(&v, t);
    if (!rc)
        rc = bs_vmbus_claim_topo(&v, t);
    if (rc) {
        bs_vmbus_fini(&v);
        return rc == BS_ENOMEM ? rc : BS_EINVAL;
    }
    bs_failures_clear(t);
    int failed = 0;
    BS_FOR_CHILDREN(t, 0, b)
        if ((t->nodes[b].flags & BS_NF_VPCI) && !bus_assigned(t, b))
            failed += probe_bus(t, &v, b) != BS_OK;
    bs_vmbus_fini(&v);
    return failed ? BS_ENOSPC : BS_OK;
}
