/*
 * The `pack` policy: barspace's own assignment.
 *
 * 1. Shapes, bottom-up: each bridge window is as small as its children can
 *    be packed: naturally aligned power-of-two items in descending
 *    alignment leave no holes, so only "ragged" items (bridge windows and
 *    SR-IOV regions whose size is not a multiple of their alignment) can
 *    cost space, less than the next item's alignment each.  Hot-plug
 *    reserves are minimum sizes.
 * 2. Placement, top-down: per bus, firmware-fixed resources first, then
 *    32-bit-only items (they have the fewest choices), then 64-bit items,
 *    which prefer space above 4 GiB and fall back below it.
 * 3. If that fails with the reserves, it is tried again without them (the
 *    reserves are then reported as optional failures).
 * 4. If it still fails, an exact search (assign_search.c) looks for any
 *    valid assignment within a node budget.
 * 5. If none is found, each failure names its window and the smallest
 *    growth of that root window with which the greedy pass succeeds.
 */
#include "assign/assign.h"

#include <stdlib.h>
#include <string.h>

struct pk {
    bs_topo *t;
    const bs_assign_opts *o;
    bool reserves;
    bool by_class;   /* root bus: 32-bit-only items before 64-bit ones */
    struct bs_spaces sp;
};

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint32_t rflags(const bs_topo *t, int n, int k)
{
    return bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                : t->nodes[n].res[k].flags;
}

struct item {
    int n, k;
    uint64_t size, align;
    int cls; /* 0: 32-bit only, 1: 64-bit capable (root bus ordering) */
};

/* Sort: class, then descending alignment, power-of-two items before ragged
 * ones of the same alignment (a ragged item leaves a hole smaller than the
 * next item's alignment), then descending size, then tree order. */
static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls - y->cls;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    bool rx = x->size % x->align != 0, ry = y->size % y->align != 0;
    if (rx != ry)
        return rx ? 1 : -1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->n != y->n)
        return x->n - y->n;
    return x->k - y->k;
}

static uint64_t reserve_of(const struct pk *P, int b, int slot)
{
    const struct bs_node *n = &P->t->nodes[b];
    if (!P->reserves)
        return 0;
    uint64_t r = n->reserve[slot - BS_SLOT_WIN_IO];
    if (r || !(n->flags & BS_NF_HOTPLUG))
        return r;
    return slot == BS_SLOT_WIN_IO ? P->o->hp_io
           : slot == BS_SLOT_WIN_MEM ? P->o->hp_mmio : P->o->hp_mmio_pref;
}

/* Collect the resources of bus `b`'s children that go into window `slot`
 * (slot < 0: all, for the root bus). */
static int collect(const bs_topo *t, int b, int slot, struct item *it)
{
    int n = 0;
    BS_FOR_CHILDREN(t, b, c) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[c].res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            uint32_t f = rflags(t, c, k);
            if (slot >= 0 && bs_bridge_slot_for(&t->nodes[b], f) != slot)
                continue;
            bool is32 = !(f & (BS_RF_IO | BS_RF_MEM64));
            it[n++] = (struct item){c, k, r->size, r->align, is32 ? 0 : 1};
        }
    }
    return n;
}

static void shape(struct pk *P, int b, struct item *scratch)
{
    bs_topo *t = P->t;
    BS_FOR_CHILDREN(t, b, c)
        if (t->nodes[c].kind == BS_NODE_BRIDGE)
            shape(P, c, scratch);
    for (int slot = BS_SLOT_WIN_IO; slot <= BS_SLOT_WIN_PREF; slot++) {
        int n = collect(t, b, slot, scratch);
        uint64_t g = slot == BS_SLOT_WIN_IO ? 4096 : BS_MIB;
        uint64_t off = 0, al = g;
        for (int i = 0; i < n; i++)
            scratch[i].cls = 0;
        qsort(scratch, (size_t)n, sizeof *scratch, cmp_item);
        for (int i = 0; i < n; i++) {
            off = bs_align_up(off, scratch[i].align) + scratch[i].size;
            al = max64(al, scratch[i].align);
        }
        uint64_t size = max64(bs_align_up(off, g), bs_align_up(reserve_of(P, b, slot), g));
        struct bs_res *w = &t->nodes[b].res[slot];
        w->size = size;
        w->want = size;
        w->align = size ? al : 0;
    }
}

/* Candidate windows of bus b for flags f, in preference order. */
static int windows_for(struct pk *P, int b, uint32_t f, bs_space **s,
                       int *win, uint64_t *lo, uint64_t *hi)
{
    return bs_spaces_candidates(&P->sp, b, f, s, win, lo, hi,
                                BS_MAX_ROOT_WINDOWS * 2);
}

static bool place(struct pk *P, int b, const struct item *it)
{
    bs_topo *t = P->t;
    uint32_t f = rflags(t, it->n, it->k);
    bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
    int win[BS_MAX_ROOT_WINDOWS * 2];
    uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
    int n = windows_for(P, b, f, s, win, lo, hi);
    uint64_t fl = 0, fh = 0;
    bool fixed = bs_slot_is_window(it->k) && bs_fixed_hull(t, it->n, it->k, &fl, &fh);
    for (int i = 0; i < n; i++) {
        uint64_t l = lo[i], h = hi[i];
        if (fixed) {
            if (fh - fl >= it->size)
                continue;
            uint64_t need = fh - (it->size - 1);
            if (need > l && need <= fh)
                l = need;
            if (fl + (it->size - 1) < h)
                h = fl + (it->size - 1);
        }
        uint64_t a;
        if (l <= h && bs_space_alloc(s[i], it->size, it->align, l, h, &a) == BS_OK) {
            bs_res_assign(t, it->n, it->k, a, win[i]);
            return true;
        }
    }
    return false;
}

static bool claim_fixed(struct pk *P, int b)
{
    bs_topo *t = P->t;
    bool ok = true;
    BS_FOR_CHILDREN(t, b, c) {
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            struct bs_res *r = &t->nodes[c].res[k];
            if (!r->size || !(r->flags & BS_RF_FIXED))
                continue;
            bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
            int win[BS_MAX_ROOT_WINDOWS * 2];
            uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
            int n = windows_for(P, b, r->flags, s, win, lo, hi);
            r->win = BS_WIN_NONE;
            for (int i = 0; i < n && r->win == BS_WIN_NONE; i++)
                if (r->fixed >= lo[i] && bs_last(r->fixed, r->size) <= hi[i] &&
                    bs_space_reserve(s[i], r->fixed, r->size) == BS_OK)
                    r->win = win[i];
            if (r->win == BS_WIN_NONE) {
                ok = false;
                bs_fixed_failed(t, b, c, k);
            }
        }
    }
    return ok;
}

/* Place everything below bus b; returns the number of failed items. */
static int place_tree(struct pk *P, int b, struct item *scratch, bool record)
{
    bs_topo *t = P->t;
    int fails = claim_fixed(P, b) ? 0 : 1;
    int n = collect(t, b, -1, scratch);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (t->nodes[scratch[i].n].res[scratch[i].k].flags & BS_RF_FIXED)
            continue;
        /* Only the root bus mixes 32-bit and 64-bit windows; inside a
         * bridge window the order must be the one shape() packed. */
        if (b != 0 || !P->by_class)
            scratch[i].cls = 0;
        scratch[m++] = scratch[i];
    }
    qsort(scratch, (size_t)m, sizeof *scratch, cmp_item);
    struct item *mine = malloc(sizeof *mine * (size_t)(m ? m : 1));
    if (!mine)
        return -1;
    memcpy(mine, scratch, sizeof *mine * (size_t)m);
    for (int i = 0; i < m; i++) {
        if (place(P, b, &mine[i]))
            continue;
        fails++;
        if (record) {
            struct bs_res *r = &t->nodes[mine[i].n].res[mine[i].k];
            r->flags |= BS_RF_FAILED;
            uint32_t f = rflags(t, mine[i].n, mine[i].k);
            int win = b ? bs_bridge_slot_for(&t->nodes[b], f) : BS_WIN_NONE;
            char sz[32];
            bs_failure_add(t, mine[i].n, mine[i].k, b, win, 0,
                           "no room for %s (aligned %s)",
                           bs_fmt_size(mine[i].size, sz, sizeof sz),
                           bs_fmt_size(mine[i].align, (char[32]){0}, 32));
        }
    }
    free(mine);
    BS_FOR_CHILDREN(t, b, c) {
        if (t->nodes[c].kind != BS_NODE_BRIDGE)
            continue;
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
            struct bs_res *w = &t->nodes[c].res[k];
            if ((w->flags & BS_RF_ASSIGNED) && w->size &&
                bs_spaces_open(&P->sp, c, k))
                return -1;
        }
        int f = place_tree(P, c, scratch, record);
        if (f < 0)
            return -1;
        fails += f;
    }
    return fails;
}

/* One greedy pass; returns failures (or -1 on ENOMEM). */
static int greedy1(struct pk *P, bool reserves, bool record, struct item *scratch)
{
    bs_topo_unassign(P->t);
    P->reserves = reserves;
    BS_FOR_CHILDREN(P->t, 0, c)
        if (P->t->nodes[c].kind == BS_NODE_BRIDGE)
            shape(P, c, scratch);
    if (bs_spaces_init(&P->sp, P->t))
        return -1;
    int f = place_tree(P, 0, scratch, record);
    bs_spaces_fini(&P->sp);
    return f;
}

/* Two orders for the root bus: 32-bit-only items first keeps the scarce
 * low space for what can only go there; plain descending alignment packs
 * best when 64-bit items must share the low window too. */
static int greedy(struct pk *P, bool reserves, bool record, struct item *scratch)
{
    P->by_class = true;
    int f = greedy1(P, reserves, false, scratch);
    if (f == 0)
        return 0;
    P->by_class = false;
    int g = greedy1(P, reserves, record, scratch);
    return g;
}

/* Smallest growth of root window w (in granules) with which greedy
 * succeeds, by bisection; 0 if growing it alone does not help. */
static uint64_t shortfall(struct pk *P, int w, struct item *scratch)
{
    bs_topo *t = P->t;
    struct bs_rootwin saved = t->win[w];
    uint64_t g = (saved.flags & BS_RF_IO) ? 4096 : BS_MIB;
    uint64_t room = UINT64_MAX - bs_last(saved.base, saved.size);
    uint64_t hi = room / g, lo = 0;
    /* Cap the probe at the sum of all requests: more never helps. */
    uint64_t total = 0;
    for (int i = 1; i < t->nnodes; i++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++)
            if (total < UINT64_MAX / 2)
                total += t->nodes[i].res[k].size;
    if (hi > total / g + 64)
        hi = total / g + 64;
    t->win[w].size = saved.size + hi * g;
    int ok = greedy(P, false, false, scratch) == 0;
    uint64_t best = 0;
    if (ok) {
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            t->win[w].size = saved.size + mid * g;
            if (greedy(P, false, false, scratch) == 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        best = lo * g;
    }
    t->win[w] = saved;
    return best;
}

int bs_assign_pack(bs_topo *t, const bs_assign_opts *o)
{
    struct pk P = {.t = t, .o = o};
    int cnt = 0;
    for (int i = 0; i < t->nnodes; i++)
        cnt += BS_NSLOTS;
    struct item *scratch = malloc(sizeof *scratch * (size_t)cnt);
    if (!scratch)
        return BS_ENOMEM;
    int rc = BS_OK;
    int f = greedy(&P, true, false, scratch);
    if (f == 0)
        goto done;
    f = greedy(&P, false, false, scratch);
    if (f == 0) {
        /* Everything fits, but not with every hot-plug reserve: report
         * the reserves that were dropped. */
        for (int b = 1; b < t->nnodes; b++)
            for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
                P.reserves = true;
                uint64_t r = reserve_of(&P, b, k);
                if (r && t->nodes[b].res[k].size < r) {
                    bs_failure *fl = bs_failure_add(
                        t, b, k, t->nodes[b].parent, BS_WIN_NONE, 0,
                        "hot-plug reserve dropped: window smaller than %llu",
                        (unsigned long long)r);
                    if (fl)
                        fl->optional = 1;
                }
            }
        goto done;
    }
    if (f > 0 && bs_pack_search(t, o->search_budget) == BS_OK)
        goto done;
    /* Nothing found: the greedy pass again, recording its failures, then
     * the growth each root window would need. */
    f = greedy(&P, false, true, scratch);
    if (f < 0) {
        rc = BS_ENOMEM;
        goto done;
    }
    for (int w = 0; w < t->nwin; w++) {
        /* Only windows that something failed in (or at the root, unknown). */
        bool relevant = false;
        for (int i = 0; i < t->nfail && !relevant; i++)
            relevant = t->fail[i].win_node == 0 &&
                       (t->fail[i].win == w || t->fail[i].win == BS_WIN_NONE);
        if (!relevant)
            continue;
        bs_topo *c = bs_topo_clone(t);
        if (!c)
            break;
        struct pk Q = {.t = c, .o = o};
        uint64_t need = shortfall(&Q, w, scratch);
        bs_topo_free(c);
        for (int i = 0; i < t->nfail && need; i++) {
            bs_failure *fl = &t->fail[i];
            if (fl->win_node == 0 && fl->win == BS_WIN_NONE)
                fl->win = w;
            if (fl->win_node == 0 && fl->win == w)
                fl->shortfall = need;
        }
    }
    rc = BS_ENOSPC;
done:
    free(scratch);
    if (rc == BS_OK) {
        for (int i = 0; i < t->nfail; i++)
            if (!t->fail[i].optional)
                rc = BS_ENOSPC;
    }
    return rc;
}
