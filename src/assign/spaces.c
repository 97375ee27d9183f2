/*
 * Window spaces (spaces.h): the set of per-window allocators that placement
 * works on, shared by the assignment policies and the churn engine.
 */
#include "assign/spaces.h"

#include <stdlib.h>

int bs_spaces_init(struct bs_spaces *sp, const bs_topo *t)
{
    sp->t = t;
    sp->win = NULL;
    sp->cap = 0;
    sp->root = calloc((size_t)t->nwin, sizeof *sp->root);
    if (!sp->root || bs_spaces_grow(sp, t->nnodes)) {
        bs_spaces_fini(sp);
        return BS_ENOMEM;
    }
    for (int i = 0; i < t->nwin; i++) {
        sp->root[i] = bs_space_new();
        if (!sp->root[i] ||
            bs_space_add_window(sp->root[i], t->win[i].base, t->win[i].size)) {
            bs_spaces_fini(sp);
            return BS_ENOMEM;
        }
    }
    return BS_OK;
}

void bs_spaces_fini(struct bs_spaces *sp)
{
    if (sp->root)
        for (int i = 0; i < sp->t->nwin; i++)
            bs_space_free(sp->root[i]);
    if (sp->win)
        for (size_t i = 0; i < (size_t)sp->cap * BS_BRIDGE_WINDOWS; i++)
            bs_space_free(sp->win[i]);
    free(sp->root);
    free(sp->win);
    sp->root = NULL;
    sp->win = NULL;
    sp->cap = 0;
}

int bs_spaces_grow(struct bs_spaces *sp, int nodes)
{
    if (nodes <= sp->cap)
        return BS_OK;
    size_t n = (size_t)nodes * BS_BRIDGE_WINDOWS;
    bs_space **w = realloc(sp->win, sizeof *w * n);
    if (!w)
        return BS_ENOMEM;
    for (size_t i = (size_t)sp->cap * BS_BRIDGE_WINDOWS; i < n; i++)
        w[i] = NULL;
    sp->win = w;
    sp->cap = nodes;
    return BS_OK;
}

bs_space *bs_spaces_get(const struct bs_spaces *sp, int node, int win)
{
    if (node == 0)
        return (win >= 0 && win < sp->t->nwin) ? sp->root[win] : NULL;
    if (node < 0 || node >= sp->cap || !bs_slot_is_window(win))
        return NULL;
    return sp->win[bs_win_index(node, win)];
}

int bs_spaces_open(struct bs_spaces *sp, int node, int slot)
{
    bs_space **s = &sp->win[bs_win_index(node, slot)];
    bs_space_free(*s);
    *s = NULL;
    const struct bs_res *w = &sp->t->nodes[node].res[slot];
    if (!(w->flags & BS_RF_ASSIGNED) || !w->size)
        return BS_OK;
    *s = bs_space_new();
    if (!*s || bs_space_add_window(*s, w->addr, w->size))
        return BS_ENOMEM;
    return BS_OK;
}

void bs_spaces_claim_children(struct bs_spaces *sp, int node, int slot)
{
    const bs_topo *t = sp->t;
    bs_space *s = bs_spaces_get(sp, node, slot);
    if (!s)
        return;
    BS_FOR_CHILDREN(t, node, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[ch].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size && r->win == slot &&
                !(r->flags & BS_RF_UPPER))
                bs_space_reserve(s, r->addr, r->size);
        }
    }
}

int bs_spaces_build(struct bs_spaces *sp)
{
    const bs_topo *t = sp->t;
    BS_FOR_CHILDREN(t, 0, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[ch].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size && r->win >= 0 &&
                !(r->flags & BS_RF_UPPER))
                bs_space_reserve(sp->root[r->win], r->addr, r->size);
        }
    }
    for (int n = 1; n < t->nnodes; n++) {
        if (t->nodes[n].kind != BS_NODE_BRIDGE)
            continue;
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
            if (bs_spaces_open(sp, n, k))
                return BS_ENOMEM;
            bs_spaces_claim_children(sp, n, k);
        }
    }
    return BS_OK;
}

int bs_spaces_candidates(const struct bs_spaces *sp, int b, uint32_t f,
                         bs_space **s, int *win, uint64_t *lo, uint64_t *hi,
                         int cap)
{
    int n = bs_bus_candidates(sp->t, b, f, win, lo, hi, cap);
    for (int i = 0; i < n; i++)
        s[i] = bs_spaces_get(sp, b, win[i]);
    return n;
}
