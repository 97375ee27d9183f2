/*
 * What a topology file holds, seen from the commands that compare or judge
 * it: does it carry an assignment at all, and do two files describe the same
 * machine.  `check` on a file without addresses would otherwise report
 * "valid" for nothing checked; `check --before` and `map --after` on two
 * different machines would compare unrelated resources by name.
 */
#include "core/internal.h"

#include <string.h>

/* A resource that an assignment places: present, not the upper half of a
 * 64-bit bridge window. */
static bool placeable(const struct bs_res *r)
{
    return r->size && !(r->flags & BS_RF_UPPER);
}

int bs_topo_assigned_count(const bs_topo *t, int *total)
{
    int n = 0, all = 0;
    for (int i = 1; i < t->nnodes; i++)
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[i].res[k];
            if (!placeable(r) || (r->flags & BS_RF_FIXED))
                continue;
            all++;
            n += (r->flags & BS_RF_ASSIGNED) != 0;
        }
    if (total)
        *total = all;
    return n;
}

static const char *parent_name(const bs_topo *t, int i)
{
    int p = t->nodes[i].parent;
    return p > 0 ? t->nodes[p].name : "host";
}

/* The sizes a device asks for: what it requests, not what it got. */
static uint64_t asked(const struct bs_res *r)
{
    return r->want ? r->want : r->size;
}

static int differ(bs_error *err, const char *what, const char *name)
{
    bs_seterr(err, BS_EINVAL, NULL, 0, 0, "not the same machine: %s%s%s",
              what, name ? " " : "", name ? name : "");
    return BS_EINVAL;
}

int bs_topo_same_machine(const bs_topo *a, const bs_topo *b, int how,
                         bs_error *err)
{
    if (a->nwin != b->nwin)
        return differ(err, "different root windows", NULL);
    for (int w = 0; w < a->nwin; w++)
        if (a->win[w].base != b->win[w].base ||
            a->win[w].size != b->win[w].size ||
            a->win[w].flags != b->win[w].flags)
            return differ(err, "different root windows", NULL);
    if (how == BS_SAME_DEVICES) {
        if (a->nnodes != b->nnodes)
            return differ(err, "different numbers of bridges and devices", NULL);
        for (int i = 1; i < a->nnodes; i++) {
            const struct bs_node *x = &a->nodes[i], *y = &b->nodes[i];
            if (x->kind != y->kind || strcmp(x->name, y->name) ||
                x->parent != y->parent)
                return differ(err, "no node", x->name);
            for (int k = 0; k < BS_NSLOTS; k++) {
                const struct bs_res *r = &x->res[k], *q = &y->res[k];
                if (bs_slot_is_window(k) || (r->flags & BS_RF_UPPER))
                    continue;
                uint32_t kind = BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF;
                if (asked(r) != asked(q) || (r->flags & kind) != (q->flags & kind))
                    return differ(err, "different BARs on", x->name);
            }
        }
        return BS_OK;
    }
    /* BS_SAME_BRIDGES: devices may come and go (hot-plug); the bridges,
     * in file order, are the machine's. */
    int i = 1, j = 1;
    for (;;) {
        while (i < a->nnodes && a->nodes[i].kind != BS_NODE_BRIDGE)
            i++;
        while (j < b->nnodes && b->nodes[j].kind != BS_NODE_BRIDGE)
            j++;
        if (i >= a->nnodes || j >= b->nnodes)
            break;
        if (strcmp(a->nodes[i].name, b->nodes[j].name) ||
            strcmp(parent_name(a, i), parent_name(b, j)))
            return differ(err, "no bridge", a->nodes[i].name);
        i++;
        j++;
    }
    if (i < a->nnodes || j < b->nnodes)
        return differ(err, "different bridges", NULL);
    /* No device in common at all: not a later state of this machine. */
    int common = 0, devs = 0;
    for (int n = 1; n < a->nnodes; n++) {
        if (a->nodes[n].kind != BS_NODE_DEVICE)
            continue;
        devs++;
        int m = n < b->nnodes && !strcmp(a->nodes[n].name, b->nodes[n].name)
                    ? n
                    : -1;
        common += m > 0;
    }
    if (devs && !common)
        return differ(err, "no device in common", NULL);
    return BS_OK;
}
