/*
 * Assignment entry point and what both policies share: options,
 * firmware-fixed resources, window usage reports (the window spaces are in
 * spaces.c).
 */
#include "assign/assign.h"
#include "hyperv/hyperv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bs_assign_opts_init(bs_assign_opts *o, int policy)
{
    memset(o, 0, sizeof *o);
    o->policy = policy;
    o->hp_io = 256;             /* Linux pci_hotplug_io_size */
    o->hp_mmio = 2 * BS_MIB;    /* pci_hotplug_mmio_size */
    o->hp_mmio_pref = 2 * BS_MIB; /* pci_hotplug_mmio_pref_size */
}

int bs_assign(bs_topo *t, const bs_assign_opts *o, bs_error *err)
{
    bs_assign_opts def;
    if (!o) {
        bs_assign_opts_init(&def, BS_POLICY_LINUX);
        o = &def;
    }
    if (t->nwin == 0) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "topology has no root window");
        return BS_EINVAL;
    }
    int rc;
    if (t->platform == BS_PLATFORM_HYPERV) /* one model: the guest's */
        rc = bs_hv_assign(t);
    else switch (o->policy) {
    case BS_POLICY_LINUX: rc = bs_assign_linux(t, o); break;
    case BS_POLICY_PACK: rc = bs_assign_pack(t, o); break;
    default:
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "unknown policy %d", o->policy);
        return BS_EINVAL;
    }
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, NULL, 0, 0, "out of memory during assignment");
    else if (rc == BS_ENOSPC)
        bs_seterr(err, rc, NULL, 0, 0, "%d resource(s) could not be assigned",
                  t->nfail);
    return rc;
}

/* ---- firmware-fixed resources ---- */

void bs_fixed_failed(bs_topo *t, int bus, int node, int slot)
{
    struct bs_res *r = &t->nodes[node].res[slot];
    bs_res_release(t, node, slot);
    r->flags |= BS_RF_FAILED;
    uint64_t last = bs_last(r->fixed, r->size);
    char at[24];
    /* Only on failure: a linear search is fine.  Whatever holds the range
     * first (in tree order) is what the claim ran into. */
    for (int i = 1; i < t->nnodes; i++) {
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *o = &t->nodes[i].res[k];
            if ((i == node && k == slot) || !o->size ||
                (o->flags & (BS_RF_FIXED | BS_RF_ASSIGNED)) !=
                    (BS_RF_FIXED | BS_RF_ASSIGNED) ||
                ((o->flags ^ r->flags) & BS_RF_IO) || o->fixed > last ||
                bs_last(o->fixed, o->size) < r->fixed)
                continue;
            at[0] = 0;
            if (o->line)
                snprintf(at, sizeof at, " (line %d)", o->line);
            bs_failure_add(t, node, slot, bus, BS_WIN_NONE, 0,
                           "firmware-fixed range 0x%llx-0x%llx overlaps %s "
                           "%s, also fixed%s",
                           (unsigned long long)r->fixed,
                           (unsigned long long)last, t->nodes[i].name,
                           bs_slot_name(k), at);
            return;
        }
    }
    bs_failure_add(t, node, slot, bus, BS_WIN_NONE, 0,
                   "firmware-fixed address 0x%llx is not free inside a "
                   "window of its bus", (unsigned long long)r->fixed);
}

/* ---- firmware-fixed resources ---- */

bool bs_fixed_hull(const bs_topo *t, int node, int slot, uint64_t *lo,
                   uint64_t *hi)
{
    /* Walk the subtree: every fixed resource that would be forwarded by this
     * window.  Recursion depth is bounded by BS_MAX_DEPTH. */
    bool any = false;
    const struct bs_node *b = &t->nodes[node];
    BS_FOR_CHILDREN(t, node, c) {
        const struct bs_node *n = &t->nodes[c];
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &n->res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            if (bs_bridge_slot_for(b, bs_slot_is_window(k)
                                          ? bs_window_flags(t, c, k)
                                          : r->flags) != slot)
                continue;
            uint64_t l, h;
            if (bs_slot_is_window(k)) {
                if (!bs_fixed_hull(t, c, k, &l, &h))
                    continue;
            } else if (r->flags & BS_RF_FIXED) {
                l = r->fixed;
                h = bs_last(r->fixed, r->size);
            } else {
                continue;
            }
            if (!any || l < *lo)
                *lo = l;
            if (!any || h > *hi)
                *hi = h;
            any = true;
        }
    }
    return any;
}

int bs_window_usage_get(const bs_topo *t, int node, int win,
                        bs_window_usage *out)
{
    memset(out, 0, sizeof *out);
    uint64_t base, size;
    if (node == 0) {
        if (win < 0 || win >= t->nwin)
            return BS_ENOENT;
        base = t->win[win].base;
        size = t->win[win].size;
    } else {
        if (node < 0 || node >= t->nnodes || !bs_slot_is_window(win))
            return BS_ENOENT;
        const struct bs_res *r = &t->nodes[node].res[win];
        if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
            return BS_ENOENT;
        base = r->addr;
        size = r->size;
    }
    bs_space *s = bs_space_new();
    if (!s || bs_space_add_window(s, base, size)) {
        bs_space_free(s);
        return BS_ENOMEM;
    }
    /* What decodes directly in this window: resources of the children whose
     * recorded placement is this window. */
    for (int c = node == 0 ? t->nodes[0].first_child : t->nodes[node].first_child;
         c >= 0; c = t->nodes[c].next_sibling) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[c].res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size || r->win != win)
                continue;
            if (bs_space_reserve(s, r->addr, r->size) == BS_OK)
                out->used += r->size;
        }
    }
    out->base = base;
    out->size = size;
    out->free = size - out->used;
    out->largest_block = bs_space_largest_block(s, base, bs_last(base, size));
    bs_space_free(s);
    return BS_OK;
}
