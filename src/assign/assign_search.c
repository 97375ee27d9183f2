/*
 * Exact search behind the `pack` policy, for the instances its greedy pass
 * cannot place.  It searches over leaf resources (BARs, ROMs, VF regions);
 * bridge windows are derived: each is the hull of the leaves it forwards,
 * rounded out to its granule (1 MiB memory, 4 KiB I/O).
 *
 * Completeness: take any valid assignment and, window by window in address
 * order, slide every leaf down until it is blocked.  Blocked means its
 * aligned start sits on a window base, on the end of a lower leaf, or on
 * the granule-rounded end of a lower leaf (the edge of another bridge's
 * window).  So a depth-first search that places leaves in address order per
 * root window, trying exactly those aligned candidates, visits a normalised
 * copy of every valid assignment.  Leaves that are indistinguishable (same
 * parent, flags, size) are placed in a fixed order to cut symmetric
 * branches.  The search stops after `budget` nodes.
 *
 * A prefetchable leaf either rides the prefetchable windows of all its
 * bridges or the memory windows of all of them ("route"); mixed routes are
 * not searched.
 */
#include "assign/assign.h"

#include <stdlib.h>
#include <string.h>

enum { R_IO = 0, R_MEM = 1, R_PREF = 2 };

#define BS_SEARCH_MAX_LEAVES 40

struct leaf {
    int n, k;
    uint64_t size, align;
    uint32_t f;
    bool fixed;
    int cls;          /* symmetry class: first leaf index with same shape */
};

struct srch {
    bs_topo *t;
    struct leaf *lf;
    int nl;
    uint64_t *pos;
    int *win, *route;
    bool *placed;
    uint64_t *frontier; /* per root window: end of last placed leaf + 1 */
    bool *fr_set;
    uint64_t budget, nodes;
    /* hull scratch: per node, per route */
    uint64_t *hlo, *hhi;
    bool *has;
    int *hwin;
};

static int slot_of_route(int r)
{
    return r == R_IO ? BS_SLOT_WIN_IO : r == R_MEM ? BS_SLOT_WIN_MEM : BS_SLOT_WIN_PREF;
}

static uint64_t gran(int r) { return r == R_IO ? 4096 : BS_MIB; }

/* Recompute every bridge hull from the placed leaves and check the
 * derived windows against each other and against the leaves. */
static bool hulls_ok(struct srch *S)
{
    bs_topo *t = S->t;
    size_t nh = (size_t)t->nnodes * BS_BRIDGE_WINDOWS;
    memset(S->has, 0, nh * sizeof *S->has);
    for (int i = 0; i < S->nl; i++) {
        if (!S->placed[i])
            continue;
        int r = S->route[i];
        uint64_t lo = S->pos[i], hi = bs_last(S->pos[i], S->lf[i].size);
        for (int p = t->nodes[S->lf[i].n].parent; p > 0; p = t->nodes[p].parent) {
            size_t h = bs_win_index(p, slot_of_route(r));
            if (!S->has[h]) {
                S->has[h] = true;
                S->hlo[h] = lo;
                S->hhi[h] = hi;
                S->hwin[h] = S->win[i];
            } else {
                if (S->hwin[h] != S->win[i])
                    return false; /* a window cannot span two root windows */
                if (lo < S->hlo[h])
                    S->hlo[h] = lo;
                if (hi > S->hhi[h])
                    S->hhi[h] = hi;
            }
        }
    }
    /* Round to the granule and check kind limits. */
    for (size_t h = 0; h < nh; h++) {
        if (!S->has[h])
            continue;
        int r = (int)(h % 3), b = (int)(h / 3);
        uint64_t g = gran(r);
        S->hlo[h] &= ~(g - 1);
        if ((S->hhi[h] | (g - 1)) < S->hhi[h])
            return false;
        S->hhi[h] |= g - 1;
        const struct bs_rootwin *w = &t->win[S->hwin[h]];
        if (S->hlo[h] < w->base || S->hhi[h] > bs_last(w->base, w->size))
            return false;
        bool need32 = r == R_MEM || (r == R_PREF && (t->nodes[b].flags & BS_NF_PREF32));
        if (need32 && S->hhi[h] > bs_low_limit(t, S->hlo[h], 0))
            return false;
    }
    /* Hull against hull: only nested along one route. */
    for (size_t a = 0; a < nh; a++) {
        if (!S->has[a])
            continue;
        for (size_t b = a + 1; b < nh; b++) {
            if (!S->has[b] || S->hhi[a] < S->hlo[b] || S->hhi[b] < S->hlo[a])
                continue;
            if ((a % 3) != (b % 3))
                return false;
            int na = (int)(a / 3), nb = (int)(b / 3);
            if (!bs_topo_is_ancestor(t, na, nb) && !bs_topo_is_ancestor(t, nb, na))
                return false;
        }
    }
    /* Hull against leaf: a leaf inside a window must be forwarded by it. */
    for (size_t h = 0; h < nh; h++) {
        if (!S->has[h])
            continue;
        int b = (int)(h / 3), r = (int)(h % 3);
        for (int i = 0; i < S->nl; i++) {
            if (!S->placed[i])
                continue;
            uint64_t lo = S->pos[i], hi = bs_last(S->pos[i], S->lf[i].size);
            if (hi < S->hlo[h] || S->hhi[h] < lo)
                continue;
            if (S->route[i] != r || !bs_topo_is_ancestor(t, b, S->lf[i].n))
                return false;
        }
    }
    return true;
}

static bool leaf_free(struct srch *S, int i, uint64_t a)
{
    uint64_t hi = bs_last(a, S->lf[i].size);
    bool io = S->lf[i].f & BS_RF_IO;
    for (int j = 0; j < S->nl; j++) {
        if (!S->placed[j] || !!(S->lf[j].f & BS_RF_IO) != io)
            continue;
        if (!(hi < S->pos[j] || bs_last(S->pos[j], S->lf[j].size) < a))
            return false;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool dfs(struct srch *S, int left);

static bool try_at(struct srch *S, int i, int w, int r, uint64_t a, int left)
{
    S->pos[i] = a;
    S->win[i] = w;
    S->route[i] = r;
    S->placed[i] = true;
    uint64_t old = S->frontier[w];
    bool olds = S->fr_set[w];
    S->frontier[w] = bs_last(a, S->lf[i].size) + 1;
    S->fr_set[w] = true;
    bool ok = hulls_ok(S) && dfs(S, left - 1);
    if (!ok) {
        S->placed[i] = false;
        S->frontier[w] = old;
        S->fr_set[w] = olds;
    }
    return ok;
}

static bool dfs(struct srch *S, int left)
{
    if (left == 0)
        return true;
    if (++S->nodes > S->budget)
        return false;
    bs_topo *t = S->t;
    uint64_t *cand = malloc(sizeof *cand * (size_t)(3 * S->nl + 2));
    if (!cand)
        return false;
    bool found = false;
    for (int i = 0; i < S->nl && !found; i++) {
        if (S->placed[i])
            continue;
        /* Symmetry: an identical leaf with a lower index goes first. */
        if (S->lf[i].cls != i && !S->placed[S->lf[i].cls])
            continue;
        const struct leaf *L = &S->lf[i];
        bool io = L->f & BS_RF_IO;
        bool under_bridge = t->nodes[L->n].parent != 0;
        int routes[2], nr = 0;
        if (io)
            routes[nr++] = R_IO;
        else if ((L->f & BS_RF_PREF) && under_bridge) {
            routes[nr++] = R_PREF;
            routes[nr++] = R_MEM;
        } else
            routes[nr++] = R_MEM;
        for (int w = 0; w < t->nwin && !found; w++) {
            const struct bs_rootwin *W = &t->win[w];
            if (!!(W->flags & BS_RF_IO) != io)
                continue;
            if ((W->flags & BS_RF_PREF) && !(L->f & BS_RF_PREF))
                continue;
            uint64_t wlast = bs_last(W->base, W->size);
            /* 32-bit items: the part of the window below 4 GiB of bus. */
            if (!io && !(L->f & BS_RF_MEM64) && !bs_rootwin_low(W, &wlast))
                continue;
            if (wlast < W->base)
                continue;
            uint64_t floor = S->fr_set[w] ? S->frontier[w] : W->base;
            int nc = 0;
            cand[nc++] = floor;
            for (int j = 0; j < S->nl; j++) {
                if (!S->placed[j] || S->win[j] != w)
                    continue;
                uint64_t e = bs_last(S->pos[j], S->lf[j].size) + 1;
                uint64_t g = gran(S->route[j]);
                cand[nc++] = e;
                cand[nc++] = bs_align_up(e, g);
            }
            qsort(cand, (size_t)nc, sizeof *cand, cmp_u64);
            uint64_t prev = 0;
            bool have_prev = false;
            for (int c = 0; c < nc && !found; c++) {
                if (cand[c] < floor)
                    continue;
                uint64_t a = bs_align_up(cand[c], L->align);
                if (a < cand[c] || (have_prev && a == prev))
                    continue;
                prev = a;
                have_prev = true;
                if (bs_last(a, L->size) < a || bs_last(a, L->size) > wlast)
                    continue;
                if (!leaf_free(S, i, a))
                    continue;
                for (int ri = 0; ri < nr && !found; ri++)
                    found = try_at(S, i, w, routes[ri], a, left);
            }
        }
    }
    free(cand);
    return found;
}

static bool same_shape(const struct leaf *a, const struct leaf *b,
                       const bs_topo *t)
{
    return !a->fixed && !b->fixed && a->size == b->size &&
           a->align == b->align && a->f == b->f &&
           t->nodes[a->n].parent == t->nodes[b->n].parent &&
           t->nodes[a->n].kind == BS_NODE_DEVICE &&
           t->nodes[b->n].kind == BS_NODE_DEVICE;
}

/* Write the found positions and derived windows into the topology. */
static void commit(struct srch *S)
{
    bs_topo *t = S->t;
    hulls_ok(S);
    for (int i = 0; i < S->nl; i++) {
        int n = S->lf[i].n;
        bs_res_assign(t, n, S->lf[i].k, S->pos[i],
                      t->nodes[n].parent ? slot_of_route(S->route[i]) : S->win[i]);
    }
    for (int b = 1; b < t->nnodes; b++) {
        for (int r = 0; r < 3; r++) {
            struct bs_res *w = &t->nodes[b].res[slot_of_route(r)];
            size_t h = bs_win_index(b, slot_of_route(r));
            if (!S->has[h]) {
                w->size = 0;
                bs_res_release(t, b, slot_of_route(r));
                continue;
            }
            w->size = S->hhi[h] - S->hlo[h] + 1;
            w->align = gran(r);
            bs_res_assign(t, b, slot_of_route(r), S->hlo[h],
                          t->nodes[b].parent ? slot_of_route(r) : S->hwin[h]);
        }
    }
}

int bs_pack_search(bs_topo *t, uint64_t budget)
{
    struct srch S = {.t = t, .budget = budget ? budget : 200000};
    int nl = 0;
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++)
            if (t->nodes[n].res[k].size)
                nl++;
    /* The search is for small instances: beyond this many leaves its
     * per-node hull check (O(bridges x leaves)) makes even a modest budget
     * too slow to be worth it, and greedy failures there are real.  Gate
     * before anything else: the symmetry classes below are O(leaves^2). */
    if (nl > BS_SEARCH_MAX_LEAVES)
        return BS_ENOSPC;
    size_t nh = (size_t)t->nnodes * BS_BRIDGE_WINDOWS;
    S.lf = calloc((size_t)nl + 1, sizeof *S.lf);
    S.pos = calloc((size_t)nl + 1, sizeof *S.pos);
    S.win = calloc((size_t)nl + 1, sizeof *S.win);
    S.route = calloc((size_t)nl + 1, sizeof *S.route);
    S.placed = calloc((size_t)nl + 1, sizeof *S.placed);
    S.frontier = calloc((size_t)t->nwin + 1, sizeof *S.frontier);
    S.fr_set = calloc((size_t)t->nwin + 1, sizeof *S.fr_set);
    S.hlo = calloc(nh, sizeof *S.hlo);
    S.hhi = calloc(nh, sizeof *S.hhi);
    S.has = calloc(nh, sizeof *S.has);
    S.hwin = calloc(nh, sizeof *S.hwin);
    int rc = BS_ENOMEM;
    if (!S.lf || !S.pos || !S.win || !S.route || !S.placed || !S.frontier ||
        !S.fr_set || !S.hlo || !S.hhi || !S.has || !S.hwin)
        goto out;
    bs_topo_unassign(t);
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            if (!r->size)
                continue;
            struct leaf *L = &S.lf[S.nl];
            *L = (struct leaf){n, k, r->size, r->align, r->flags,
                               (r->flags & BS_RF_FIXED) != 0, S.nl};
            for (int j = 0; j < S.nl; j++)
                if (same_shape(&S.lf[j], L, t)) {
                    L->cls = S.lf[j].cls;
                    break;
                }
            S.nl++;
        }
    int left = 0;
    for (int i = 0; i < S.nl; i++) {
        if (!S.lf[i].fixed) {
            left++;
            continue;
        }
        /* Fixed leaves are obstacles placed in advance. */
        S.pos[i] = t->nodes[S.lf[i].n].res[S.lf[i].k].fixed;
        S.placed[i] = true;
        S.win[i] = -1;
        for (int w = 0; w < t->nwin; w++)
            if (!!(t->win[w].flags & BS_RF_IO) == !!(S.lf[i].f & BS_RF_IO) &&
                S.pos[i] >= t->win[w].base &&
                S.pos[i] <= bs_last(t->win[w].base, t->win[w].size))
                S.win[i] = w;
        S.route[i] = (S.lf[i].f & BS_RF_IO) ? R_IO
                     : (S.lf[i].f & BS_RF_PREF) ? R_PREF : R_MEM;
        if (S.win[i] < 0) {
            rc = BS_ENOSPC;
            goto out;
        }
    }
    rc = BS_ENOSPC;
    if (dfs(&S, left)) {
        commit(&S);
        rc = bs_check(t, NULL, NULL, 0) == 0 ? BS_OK : BS_ENOSPC;
        if (rc != BS_OK)
            bs_topo_unassign(t);
    }
out:
    free(S.lf);
    free(S.pos);
    free(S.win);
    free(S.route);
    free(S.placed);
    free(S.frontier);
    free(S.fr_set);
    free(S.hlo);
    free(S.hhi);
    free(S.has);
    free(S.hwin);
    return rc;
}
