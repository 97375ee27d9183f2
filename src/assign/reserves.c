/*
 * Per-bridge hot-plug reserves (`io=`, `mem=`, `pref=` on a bridge) and the
 * policies.  Linux has no per-bridge reserve: every hot-plug bridge gets the
 * same pci=hpiosize / hpmmiosize / hpmmioprefsize on top of what is below
 * it (pci_bus_size_bridges -> __pci_bus_size_bridges in
 * drivers/pci/setup-bus.c), so the `linux` policy, a model of Linux, cannot
 * honour them.  `pack` takes them as minimum window sizes and reports each
 * one it had to drop as an optional failure.  This file says which
 * reserves a policy leaves aside, so that no output drops them silently.
 */
#include "core/internal.h"

#include <stdio.h>

static bool has_reserve(const struct bs_node *n)
{
    return n->kind == BS_NODE_BRIDGE &&
           (n->reserve[0] || n->reserve[1] || n->reserve[2]);
}

int bs_assign_ignored_reserves(const bs_topo *t, const bs_assign_opts *o,
                               int *nodes, int cap)
{
    if (o->policy != BS_POLICY_LINUX)
        return 0;
    int n = 0;
    for (int i = 1; i < t->nnodes; i++)
        if (has_reserve(&t->nodes[i])) {
            if (nodes && n < cap)
                nodes[n] = i;
            n++;
        }
    return n;
}

int bs_assign_reserve_note(const bs_topo *t, const bs_assign_opts *o,
                           char *buf, size_t cap)
{
    int first = -1, n = 0;
    n = bs_assign_ignored_reserves(t, o, &first, 1);
    if (cap)
        buf[0] = 0;
    if (!n)
        return 0;
    char hp[3][32];
    bs_fmt_size(o->hp_io, hp[0], sizeof hp[0]);
    bs_fmt_size(o->hp_mmio, hp[1], sizeof hp[1]);
    bs_fmt_size(o->hp_mmio_pref, hp[2], sizeof hp[2]);
    snprintf(buf, cap,
             "policy linux ignores the per-bridge hot-plug reserves of %d "
             "bridge(s) (first: %s): Linux has none, it gives every hot-plug "
             "bridge pci=hpiosize/hpmmiosize/hpmmioprefsize (here %s/%s/%s); "
             "the pack policy honours them",
             n, t->nodes[first].name, hp[0], hp[1], hp[2]);
    return n;
}
