/*
 * The relocation planner: when the subject's resources do not fit on their
 * bus, choose working devices ("units": a device, or a child bridge with its
 * whole subtree) to move so that everything fits, minimising (1) devices
 * moved, (2) bytes moved, (3) estimated decode-off time.
 *
 * Feasibility of a mover set M: release M's ranges, then place the subject's
 * items and M's items in descending alignment, each at the lowest fitting
 * address of its allowed windows.  For naturally aligned power-of-two ranges
 * in one window this is exact (sizes divide one another, so first fit
 * decreasing fails only if no placement exists), and moving more units never
 * makes it fail.  Hence:
 *   - exact mode (at most opts.exact_limit movable units on the bus): every
 *     subset in increasing size is tested; the first size with a feasible
 *     subset is the fewest moves, and the cheapest subset of that size is
 *     taken: optimal;
 *   - large mode: candidate blocks for the largest item are the aligned
 *     blocks that overlap occupied ranges; the units a block overlaps must
 *     all move (a lower bound for that block).  Blocks are tried cheapest
 *     first.  If none works, every movable unit is moved and the set is then
 *     shrunk one unit at a time while it stays feasible, so the plan is
 *     inclusion-minimal.  If moving everything fails, no plan exists (exact
 *     for power-of-two items in one window).
 * A bridge below which the subject sits can also grow its window in place
 * when the range behind it is free or can be freed by moving units on the
 * parent bus.
 */
#include "churn/churn_internal.h"

#include <stdlib.h>
#include <string.h>

struct unit {
    int node;
    bool movable;
    int first, n;        /* its items in P->ui */
    int devices;         /* devices that stop if it moves */
    uint64_t bytes;
    uint64_t down;       /* decode-off time estimate */
};

struct uitem {
    int unit, node, slot;
    uint64_t addr, size, align;
    uint32_t flags;
    int win;
};

struct pctx {
    bs_churn *c;
    int bus;
    struct unit *u;
    int nu;
    struct uitem *ui;
    int nui;
    const struct bs_ritem *req;
    int nreq;
    int *mov;
    int nmov;
    struct bs_ritem *work;  /* scratch for a test: req + moved items */
    struct bs_ritem *best;  /* placement of the best test */
    int nbest;
    uint64_t tests, budget;
    struct { int win; uint64_t addr, size; } extra[3]; /* kept free too */
    int nextra;
};

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Largest alignment of anything forwarded by window `slot` of bridge b:
 * moving the window by a multiple of it keeps every BAR below aligned. */
static uint64_t subtree_align(const bs_topo *t, int b, int slot)
{
    uint64_t a = 0;
    BS_FOR_CHILDREN(t, b, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[ch].res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size ||
                (r->flags & BS_RF_UPPER))
                continue;
            uint32_t f = bs_churn_rflags(t, ch, k);
            if (bs_bridge_slot_for(&t->nodes[b], f) != slot)
                continue;
            a = max64(a, r->align);
            if (bs_slot_is_window(k))
                a = max64(a, subtree_align(t, ch, k));
        }
    }
    return a;
}

/* Devices below b (with addresses), their bytes, and whether any of them
 * is pinned or firmware-fixed. */
static void subtree_info(const bs_churn *c, int b, int *devs, uint64_t *bytes,
                         bool *stuck)
{
    const bs_topo *t = c->t;
    BS_FOR_CHILDREN(t, b, ch) {
        if (!c->present[ch])
            continue;
        const struct bs_node *nd = &t->nodes[ch];
        if (nd->kind == BS_NODE_BRIDGE) {
            subtree_info(c, ch, devs, bytes, stuck);
            continue;
        }
        bool any = false;
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &nd->res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size ||
                (r->flags & BS_RF_UPPER))
                continue;
            any = true;
            *bytes += r->size;
            if (r->flags & BS_RF_FIXED)
                *stuck = true;
        }
        if (nd->flags & BS_NF_PINNED)
            *stuck = true;
        *devs += any;
    }
}

static uint64_t estimate_down(const bs_churn_opts *o, int devices,
                              uint64_t bytes)
{
    /* quiesce + resume, ~6 config writes, unmap + map of every byte */
    return (uint64_t)devices * (o->quiesce_ns + 6 * o->cfg_write_ns) +
           2 * (bytes / 1000) * o->map_ps_per_byte;
}

static void ctx_free(struct pctx *P)
{
    free(P->u);
    free(P->ui);
    free(P->mov);
    free(P->work);
    free(P->best);
}

/* Units and items of bus b.  `subject` is not a unit (it is being placed). */
static int ctx_init(struct pctx *P, bs_churn *c, int b, int subject,
                    const struct bs_ritem *req, int nreq)
{
    memset(P, 0, sizeof *P);
    P->c = c;
    P->bus = b;
    P->req = req;
    P->nreq = nreq;
    P->budget = c->o.plan_budget ? c->o.plan_budget : 20000;
    const bs_topo *t = c->t;
    int nch = 0;
    BS_FOR_CHILDREN(t, b, ch)
        nch++;
    P->u = malloc(sizeof *P->u * (size_t)(nch + 1));
    P->ui = malloc(sizeof *P->ui * (size_t)(nch + 1) * BS_NSLOTS);
    P->mov = malloc(sizeof *P->mov * (size_t)(nch + 1));
    size_t wcap = (size_t)(nch + 1) * BS_NSLOTS + (size_t)nreq;
    P->work = malloc(sizeof *P->work * wcap);
    P->best = malloc(sizeof *P->best * wcap);
    if (!P->u || !P->ui || !P->mov || !P->work || !P->best)
        return BS_ENOMEM;
    BS_FOR_CHILDREN(t, b, ch) {
        if (!c->present[ch] || ch == subject)
            continue;
        const struct bs_node *nd = &t->nodes[ch];
        struct unit *u = &P->u[P->nu];
        memset(u, 0, sizeof *u);
        u->node = ch;
        u->first = P->nui;
        bool stuck = (nd->flags & BS_NF_PINNED) != 0;
        bool bridge = nd->kind == BS_NODE_BRIDGE;
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &nd->res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size ||
                (r->flags & BS_RF_UPPER) || r->win < 0)
                continue;
            if (r->flags & BS_RF_FIXED)
                stuck = true;
            uint64_t al = r->align ? r->align : 1;
            if (bs_slot_is_window(k)) {
                bool io = k == BS_SLOT_WIN_IO;
                al = max64(max64(al, io ? 4096 : BS_MIB),
                           subtree_align(t, ch, k));
            } else {
                u->bytes += r->size;
            }
            P->ui[P->nui++] = (struct uitem){P->nu, ch, k, r->addr, r->size, al,
                                             bs_churn_rflags(t, ch, k), r->win};
        }
        u->n = P->nui - u->first;
        if (!u->n)
            continue;
        if (bridge) {
            u->bytes = 0;
            subtree_info(c, ch, &u->devices, &u->bytes, &stuck);
        } else {
            u->devices = 1;
        }
        u->movable = !stuck;
        u->down = estimate_down(&c->o, u->devices, u->bytes);
        if (u->movable)
            P->mov[P->nmov++] = P->nu;
        P->nu++;
    }
    return BS_OK;
}

struct block {
    int win;
    uint64_t addr, size;
    bool on;
};

/* Place P->work[0..nw) in order, each at the lowest fitting address of its
 * first window that takes it.  Returns how many were placed (and stay
 * reserved): nw on success. */
static int place_work(struct pctx *P, int nw)
{
    int placed = 0;
    for (; placed < nw; placed++) {
        struct bs_ritem *w = &P->work[placed];
        bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
        int win[BS_MAX_ROOT_WINDOWS * 2];
        uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
        int n = bs_churn_windows(P->c, P->bus, w->flags, s, win, lo, hi,
                                 BS_MAX_ROOT_WINDOWS * 2);
        bool done = false;
        for (int k = 0; k < n && !done; k++) {
            uint64_t a;
            /* Keep a moving window's phase: take an aligned block that
             * also covers the phase, then keep only the window's part. */
            if (bs_space_alloc(s[k], w->size + w->phase, w->align, lo[k],
                               hi[k], &a) != BS_OK)
                continue;
            if (w->phase) {
                bs_space_release(s[k], a, w->size + w->phase);
                bs_space_reserve(s[k], a + w->phase, w->size);
            }
            w->addr = a + w->phase;
            w->win = win[k];
            done = true;
        }
        if (!done)
            break;
    }
    return placed;
}

static void release_work(struct pctx *P, int placed)
{
    for (int i = 0; i < placed; i++)
        bs_space_release(bs_churn_space(P->c, P->bus, P->work[i].win),
                         P->work[i].addr, P->work[i].size);
}

/* Does the 32-bit-first order put a 32-bit-only item before a 64-bit one
 * of larger alignment (so that the alignment order differs)? */
static bool mixed_widths(const struct bs_ritem *w, int n)
{
    uint64_t min32 = UINT64_MAX, max64w = 0;
    for (int i = 0; i < n; i++) {
        if (w[i].flags & BS_RF_IO)
            continue;
        if (w[i].flags & BS_RF_MEM64)
            max64w = max64(max64w, w[i].align);
        else if (w[i].align < min32)
            min32 = w[i].align;
    }
    return min32 != UINT64_MAX && max64w > min32;
}

/* Can the subject's items and the items of units M all be placed, with M's
 * old ranges free and block blk taken by req[0] (when blk->on)?  Leaves the
 * spaces as they were; on success P->best holds the placement. */
static bool try_set(struct pctx *P, const int *M, int m, const struct block *blk)
{
    bs_churn *c = P->c;
    P->tests++;
    for (int i = 0; i < m; i++) {
        const struct unit *u = &P->u[M[i]];
        for (int j = u->first; j < u->first + u->n; j++)
            bs_space_release(bs_churn_space(c, P->bus, P->ui[j].win),
                             P->ui[j].addr, P->ui[j].size);
    }
    int nw = 0, placed = 0;
    bool ok = true, blk_taken = false;
    bs_space *bsp = NULL;
    if (blk && blk->on) {
        bsp = bs_churn_space(c, P->bus, blk->win);
        blk_taken = bsp && bs_space_reserve(bsp, blk->addr, blk->size) == BS_OK;
        ok = blk_taken;
    }
    int ntaken = 0;
    for (; ok && ntaken < P->nextra; ntaken++) {
        bs_space *es = bs_churn_space(c, P->bus, P->extra[ntaken].win);
        if (!es || bs_space_reserve(es, P->extra[ntaken].addr,
                                    P->extra[ntaken].size) != BS_OK)
            ok = false, ntaken--;
    }
    if (ntaken < 0)
        ntaken = 0;
    if (ok) {
        for (int i = (blk && blk->on && P->nreq) ? 1 : 0; i < P->nreq; i++)
            P->work[nw++] = P->req[i];
        for (int i = 0; i < m; i++) {
            const struct unit *u = &P->u[M[i]];
            for (int j = u->first; j < u->first + u->n; j++) {
                const struct uitem *x = &P->ui[j];
                P->work[nw++] = (struct bs_ritem){
                    x->node, x->slot, x->size, x->align, x->flags, M[i], 0,
                    BS_WIN_NONE,
                    bs_slot_is_window(x->slot) ? x->addr & (x->align - 1) : 0};
            }
        }
        qsort(P->work, (size_t)nw, sizeof *P->work, bs_ritem_cmp);
        placed = place_work(P, nw);
        if (placed < nw && mixed_widths(P->work, nw)) {
            /* 32-bit-only items first kept a 64-bit item of larger
             * alignment from the block they took; in one window, largest
             * alignment first is the order for which first fit is exact. */
            release_work(P, placed);
            qsort(P->work, (size_t)nw, sizeof *P->work, bs_ritem_cmp_align);
            placed = place_work(P, nw);
        }
        ok = placed == nw;
    }
    if (ok) {
        P->nbest = 0;
        if (blk && blk->on && P->nreq) {
            P->best[P->nbest] = P->req[0];
            P->best[P->nbest].addr = blk->addr;
            P->best[P->nbest].win = blk->win;
            P->nbest++;
        }
        memcpy(P->best + P->nbest, P->work, sizeof *P->work * (size_t)nw);
        P->nbest += nw;
    }
    release_work(P, placed);
    if (blk_taken)
        bs_space_release(bsp, blk->addr, blk->size);
    for (int i = 0; i < ntaken; i++)
        bs_space_release(bs_churn_space(c, P->bus, P->extra[i].win),
                         P->extra[i].addr, P->extra[i].size);
    for (int i = 0; i < m; i++) {
        const struct unit *u = &P->u[M[i]];
        for (int j = u->first; j < u->first + u->n; j++)
            bs_space_reserve(bs_churn_space(c, P->bus, P->ui[j].win),
                             P->ui[j].addr, P->ui[j].size);
    }
    return ok;
}

/* Actual cost of the placement in P->best: units whose items moved. */
static void best_cost(struct pctx *P, int *devices, uint64_t *bytes,
                      uint64_t *down, unsigned char *moved)
{
    memset(moved, 0, (size_t)P->nu);
    for (int i = 0; i < P->nbest; i++) {
        const struct bs_ritem *w = &P->best[i];
        if (w->unit < 0)
            continue;
        const struct unit *u = &P->u[w->unit];
        for (int j = u->first; j < u->first + u->n; j++)
            if (P->ui[j].slot == w->slot &&
                (P->ui[j].addr != w->addr || P->ui[j].win != w->win))
                moved[w->unit] = 1;
    }
    *devices = 0;
    *bytes = 0;
    *down = 0;
    for (int i = 0; i < P->nu; i++)
        if (moved[i]) {
            *devices += P->u[i].devices;
            *bytes += P->u[i].bytes;
            *down += P->u[i].down;
        }
}

struct cand {
    struct block blk;
    int devices;
    uint64_t bytes, down;
    int first, n;          /* evictee units in P->... cand_units */
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->devices != y->devices)
        return x->devices - y->devices;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? -1 : 1;
    if (x->down != y->down)
        return x->down < y->down ? -1 : 1;
    if (x->blk.addr != y->blk.addr)
        return x->blk.addr < y->blk.addr ? -1 : 1;
    return 0;
}

static int cmp_uitem_addr(const void *a, const void *b)
{
    const struct uitem *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Write the placement in P->best into plan p: new items of the subject and
 * moves of units (a bridge moves with its whole subtree). */
static int emit(struct pctx *P, bs_plan *p, int subject, bool resize)
{
    bs_churn *c = P->c;
    const bs_topo *t = c->t;
    int rc;
    unsigned char *moved = calloc((size_t)P->nu + 1, 1);
    if (!moved)
        return BS_ENOMEM;
    int devs;
    uint64_t bytes, down;
    best_cost(P, &devs, &bytes, &down, moved);
    p->subject = subject;
    p->moved += devs;
    p->bytes += bytes;
    for (int i = 0; i < P->nbest; i++) {
        const struct bs_ritem *w = &P->best[i];
        if (w->unit >= 0) {
            if (!moved[w->unit])
                continue;
            const struct bs_res *r = &t->nodes[w->node].res[w->slot];
            bs_plan_item pi = {bs_slot_is_window(w->slot) ? BS_PLAN_WINDOW
                                                          : BS_PLAN_MOVE,
                               w->node, w->slot, r->addr, r->size, w->addr,
                               r->size, w->win};
            if ((rc = bs_plan_push(p, &pi)))
                goto out;
            if (bs_slot_is_window(w->slot)) {
                p->windows++;
                /* Everything forwarded by this window shifts with it. */
                uint64_t delta = w->addr - r->addr;
                int stack[BS_MAX_DEPTH + 2], sp = 0;
                stack[sp++] = w->node;
                while (sp) {
                    int b = stack[--sp];
                    BS_FOR_CHILDREN(t, b, ch) {
                        if (!c->present[ch])
                            continue;
                        for (int k = 0; k < BS_NSLOTS; k++) {
                            const struct bs_res *q = &t->nodes[ch].res[k];
                            if (!(q->flags & BS_RF_ASSIGNED) || !q->size ||
                                (q->flags & BS_RF_UPPER))
                                continue;
                            if (q->addr < r->addr ||
                                bs_last(q->addr, q->size) > bs_last(r->addr, r->size))
                                continue;
                            bs_plan_item qi = {bs_slot_is_window(k)
                                                   ? BS_PLAN_WINDOW
                                                   : BS_PLAN_MOVE,
                                               ch, k, q->addr, q->size,
                                               q->addr + delta, q->size, q->win};
                            if ((rc = bs_plan_push(p, &qi)))
                                goto out;
                        }
                        if (t->nodes[ch].kind == BS_NODE_BRIDGE &&
                            sp < BS_MAX_DEPTH + 1)
                            stack[sp++] = ch;
                    }
                }
            }
        } else {
            const struct bs_res *r = &t->nodes[w->node].res[w->slot];
            bs_plan_item pi = {resize ? BS_PLAN_RESIZE : BS_PLAN_NEW, w->node,
                               w->slot, 0, 0, w->addr, w->size, w->win};
            (void)r;
            if ((rc = bs_plan_push(p, &pi)))
                goto out;
        }
    }
    rc = BS_OK;
out:
    free(moved);
    return rc;
}

/* Exhaustive over subsets of the movable units, by increasing size. */
static int plan_exact(struct pctx *P, int *bestM, int *bestm, bool *found)
{
    int nm = P->nmov;
    int idx[64];
    int devs_best = 0;
    uint64_t bytes_best = 0, down_best = 0;
    unsigned char *moved = malloc((size_t)P->nu + 1);
    struct bs_ritem *keep = malloc(sizeof *keep * (size_t)(P->nui + P->nreq + 1));
    if (!moved || !keep) {
        free(moved);
        free(keep);
        return BS_ENOMEM;
    }
    int nkeep = 0;
    *found = false;
    for (int m = 0; m <= nm && !*found; m++) {
        for (int i = 0; i < m; i++)
            idx[i] = i;
        for (;;) {
            int M[64];
            for (int i = 0; i < m; i++)
                M[i] = P->mov[idx[i]];
            if (try_set(P, M, m, NULL)) {
                int d;
                uint64_t b, dn;
                best_cost(P, &d, &b, &dn, moved);
                if (!*found || d < devs_best ||
                    (d == devs_best && (b < bytes_best ||
                                        (b == bytes_best && dn < down_best)))) {
                    *found = true;
                    devs_best = d;
                    bytes_best = b;
                    down_best = dn;
                    memcpy(bestM, M, sizeof *M * (size_t)m);
                    *bestm = m;
                    memcpy(keep, P->best, sizeof *keep * (size_t)P->nbest);
                    nkeep = P->nbest;
                }
            }
            if (P->tests > P->budget * 4)
                break;
            int i = m - 1;
            while (i >= 0 && idx[i] == nm - m + i)
                i--;
            if (i < 0)
                break;
            idx[i]++;
            for (int j = i + 1; j < m; j++)
                idx[j] = idx[j - 1] + 1;
        }
    }
    if (*found) {
        memcpy(P->best, keep, sizeof *keep * (size_t)nkeep);
        P->nbest = nkeep;
    }
    free(moved);
    free(keep);
    return BS_OK;
}

/* Large instances: cheapest blocks first, then everything, shrunk. */
static int plan_large(struct pctx *P, bool *found, bool *none, bool *optimal)
{
    bs_churn *c = P->c;
    *found = false;
    *none = false;
    *optimal = false;
    if (!P->nreq)
        return BS_OK;
    /* The item that needs the biggest aligned block. */
    int L = 0;
    for (int i = 1; i < P->nreq; i++)
        if (P->req[i].align > P->req[L].align ||
            (P->req[i].align == P->req[L].align && P->req[i].size > P->req[L].size))
            L = i;
    struct bs_ritem *req = malloc(sizeof *req * (size_t)P->nreq);
    struct uitem *occ = malloc(sizeof *occ * (size_t)(P->nui + 1));
    int *cu = NULL;
    struct cand *cd = NULL;
    int ncd = 0, cdcap = 0, ncu = 0, cucap = 0;
    int rc = BS_ENOMEM;
    unsigned char *stamp = calloc((size_t)P->nu + 1, 1);
    int *all = malloc(sizeof *all * (size_t)(P->nmov + 1));
    if (!req || !occ || !stamp || !all)
        goto out;
    /* Put L first: test() gives the block to req[0]. */
    req[0] = P->req[L];
    for (int i = 0, j = 1; i < P->nreq; i++)
        if (i != L)
            req[j++] = P->req[i];
    const struct bs_ritem *saved_req = P->req;
    P->req = req;
    if (try_set(P, NULL, 0, NULL)) {
        /* Fits as it is. */
        *found = true;
        *optimal = true;
        rc = BS_OK;
        goto out_req;
    }

    bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
    int win[BS_MAX_ROOT_WINDOWS * 2];
    uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
    int nw = bs_churn_windows(c, P->bus, req[0].flags, s, win, lo, hi,
                              BS_MAX_ROOT_WINDOWS * 2);
    uint64_t S = req[0].size, A = req[0].align;
    uint64_t span = bs_align_up(S, A);
    for (int w = 0; w < nw; w++) {
        int no = 0;
        for (int j = 0; j < P->nui; j++)
            if (P->ui[j].win == win[w])
                occ[no++] = P->ui[j];
        qsort(occ, (size_t)no, sizeof *occ, cmp_uitem_addr);
        for (int j = 0; j < no; j++) {
            uint64_t from = occ[j].addr & ~(A - 1);
            for (int b = 0; b < 4; b++) {
                uint64_t a = from + (uint64_t)b * A;
                if (a < from || a > bs_last(occ[j].addr, occ[j].size))
                    break;
                if (a < lo[w] || bs_last(a, span) > hi[w] || bs_last(a, span) < a)
                    continue;
                /* Units overlapping [a, a+S). */
                int k = j;
                while (k > 0 && bs_last(occ[k - 1].addr, occ[k - 1].size) >= a)
                    k--;
                int devs = 0, first = ncu;
                uint64_t bytes = 0, down = 0;
                bool ok = true;
                for (; k < no && occ[k].addr <= bs_last(a, S); k++) {
                    if (bs_last(occ[k].addr, occ[k].size) < a)
                        continue;
                    const struct unit *u = &P->u[occ[k].unit];
                    if (!u->movable) {
                        ok = false;
                        break;
                    }
                    if (stamp[occ[k].unit])
                        continue;
                    stamp[occ[k].unit] = 1;
                    if (ncu == cucap) {
                        cucap = cucap ? cucap * 2 : 64;
                        int *ncu_ = realloc(cu, sizeof *cu * (size_t)cucap);
                        if (!ncu_)
                            goto out_req;
                        cu = ncu_;
                    }
                    cu[ncu++] = occ[k].unit;
                    devs += u->devices;
                    bytes += u->bytes;
                    down += u->down;
                }
                for (int q = first; q < ncu; q++)
                    stamp[cu[q]] = 0;
                if (!ok || ncu == first) {
                    ncu = first;
                    continue;
                }
                if (ncd == cdcap) {
                    cdcap = cdcap ? cdcap * 2 : 64;
                    struct cand *nc = realloc(cd, sizeof *cd * (size_t)cdcap);
                    if (!nc)
                        goto out_req;
                    cd = nc;
                }
                cd[ncd++] = (struct cand){{win[w], a, S, true}, devs, bytes,
                                          down, first, ncu - first};
            }
        }
    }
    if (ncd)
        qsort(cd, (size_t)ncd, sizeof *cd, cmp_cand);
    for (int i = 0; i < ncd && P->tests < P->budget; i++) {
        if (i > 0 && cmp_cand(&cd[i], &cd[i - 1]) == 0 &&
            cd[i].blk.addr == cd[i - 1].blk.addr)
            continue;
        if (try_set(P, cu + cd[i].first, cd[i].n, &cd[i].blk)) {
            *found = true;
            break;
        }
    }
    if (!*found) {
        int na = 0;
        memset(all, 0, sizeof *all * (size_t)(P->nmov + 1));
        for (int i = 0; i < P->nmov; i++)
            all[na++] = P->mov[i];
        if (!try_set(P, all, na, NULL)) {
            *none = true;
        } else {
            /* Shrink: drop units, biggest first, while still feasible. */
            for (int i = 0; i < na; i++)
                for (int j = i + 1; j < na; j++)
                    if (P->u[all[j]].bytes > P->u[all[i]].bytes) {
                        int x = all[i];
                        all[i] = all[j];
                        all[j] = x;
                    }
            struct bs_ritem *keep = malloc(sizeof *keep * (size_t)(P->nui + P->nreq + 1));
            if (!keep)
                goto out_req;
            memcpy(keep, P->best, sizeof *keep * (size_t)P->nbest);
            int nkeep = P->nbest;
            for (int i = 0; i < na && P->tests < P->budget * 4;) {
                int x = all[i];
                all[i] = all[na - 1];
                if (try_set(P, all, na - 1, NULL)) {
                    na--;
                    memcpy(keep, P->best, sizeof *keep * (size_t)P->nbest);
                    nkeep = P->nbest;
                } else {
                    all[i] = x;
                    i++;
                }
            }
            memcpy(P->best, keep, sizeof *keep * (size_t)nkeep);
            P->nbest = nkeep;
            free(keep);
            *found = true;
        }
    }
    rc = BS_OK;
out_req:
    P->req = saved_req;
out:
    free(req);
    free(occ);
    free(cu);
    free(cd);
    free(stamp);
    free(all);
    return rc;
}

/* Moving units never creates free space: the subject's items need at least
 * their size free in the windows they may use, each alone and all together.
 * An O(free extents) test that settles most failures on a full window
 * before any placement is tried. */
static bool enough_free(bs_churn *c, int bus, const struct bs_ritem *it, int n)
{
    enum { CAP = BS_MAX_ROOT_WINDOWS * 2 };
    int ids[CAP], nid = 0;
    uint64_t fr[CAP], need = 0, all = 0;
    for (int i = 0; i < n; i++) {
        bs_space *s[CAP];
        int win[CAP];
        uint64_t lo[CAP], hi[CAP], mine = 0;
        int nw = bs_churn_windows(c, bus, it[i].flags, s, win, lo, hi, CAP);
        for (int k = 0; k < nw; k++) {
            int j = 0;
            while (j < nid && ids[j] != win[k])
                j++;
            if (j == nid) {
                bs_space_stats st;
                bs_space_get_stats(s[k], &st);
                ids[nid] = win[k];
                fr[nid++] = st.free_bytes;
                if (__builtin_add_overflow(all, st.free_bytes, &all))
                    all = UINT64_MAX;
            }
            if (__builtin_add_overflow(mine, fr[j], &mine))
                mine = UINT64_MAX;
        }
        if (mine < it[i].size)
            return false;
        if (__builtin_add_overflow(need, it[i].size, &need))
            return false;
    }
    return need <= all;
}

/* Plan on bus b only (no window growth). */
static int plan_bus(bs_churn *c, int bus, struct bs_ritem *it, int n,
                    int subject, bool resize, bs_plan *out, bool *none)
{
    struct pctx P;
    int rc = ctx_init(&P, c, bus, subject, it, n);
    if (rc) {
        ctx_free(&P);
        return rc;
    }
    bool found = false, optimal = false;
    *none = false;
    if (!enough_free(c, bus, it, n)) {
        *none = true;
        ctx_free(&P);
        return BS_ENOSPC;
    }
    if (P.nmov <= c->o.exact_limit && P.nmov < 64) {
        int M[64], m = 0;
        rc = plan_exact(&P, M, &m, &found);
        optimal = found && P.tests <= P.budget * 4;
        if (!rc && !found && P.tests <= P.budget * 4)
            *none = true;
    } else {
        rc = plan_large(&P, &found, none, &optimal);
    }
    if (!rc && found) {
        rc = emit(&P, out, subject, resize);
        out->optimal = optimal;
    } else if (!rc) {
        rc = BS_ENOSPC;
    }
    ctx_free(&P);
    return rc;
}

/* Grow the subject's bridge windows in place (their ends move up) so that
 * the subject fits behind what is there, freeing the ranges on the parent
 * bus by moving units there if needed (never when `moves` is off). */
static int plan_grow(bs_churn *c, int bus, struct bs_ritem *it, int n,
                     int subject, bool resize, bs_plan *out, bool moves)
{
    bs_topo *t = c->t;
    if (bus == 0 || !n || n > BS_NSLOTS)
        return BS_ENOSPC;
    struct bs_ritem sorted[BS_NSLOTS];
    memcpy(sorted, it, sizeof *it * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, bs_ritem_cmp);
    uint64_t nsize[3] = {0, 0, 0};
    int rc = BS_ENOSPC;
    /* Per window: where the items land in a window grown far enough. */
    for (int ws = BS_SLOT_WIN_IO; ws <= BS_SLOT_WIN_PREF; ws++) {
        const struct bs_res *w = &t->nodes[bus].res[ws];
        uint64_t need = 0;
        bool any = false;
        for (int i = 0; i < n; i++)
            if (bs_bridge_slot_for(&t->nodes[bus], sorted[i].flags) == ws) {
                need += bs_align_up(sorted[i].size, sorted[i].align) +
                        sorted[i].align;
                any = true;
            }
        if (!any)
            continue;
        if (!(w->flags & BS_RF_ASSIGNED) || !w->size || (w->flags & BS_RF_FIXED))
            return BS_ENOSPC;
        uint64_t gran = ws == BS_SLOT_WIN_IO ? 4096 : BS_MIB;
        uint64_t room = w->size + bs_align_up(need, gran);
        if (room < w->size || w->addr + (room - 1) < w->addr)
            return BS_ENOSPC;
        bs_space *tmp = bs_space_new();
        if (!tmp)
            return BS_ENOMEM;
        if (bs_space_add_window(tmp, w->addr, room)) {
            bs_space_free(tmp);
            return BS_ENOSPC;
        }
        BS_FOR_CHILDREN(t, bus, ch) {
            for (int k = 0; k < BS_NSLOTS; k++) {
                const struct bs_res *r = &t->nodes[ch].res[k];
                if ((r->flags & BS_RF_ASSIGNED) && r->size && r->win == ws &&
                    !(r->flags & BS_RF_UPPER) && c->present[ch])
                    bs_space_reserve(tmp, r->addr, r->size);
            }
        }
        uint64_t end = bs_last(w->addr, w->size);
        bool ok = true;
        for (int i = 0; i < n && ok; i++) {
            if (bs_bridge_slot_for(&t->nodes[bus], sorted[i].flags) != ws)
                continue;
            uint64_t hi = bs_last(w->addr, room);
            if (!(sorted[i].flags & (BS_RF_MEM64 | BS_RF_IO)) && hi >= BS_4G)
                hi = BS_4G - 1;
            uint64_t a;
            if (bs_space_alloc(tmp, sorted[i].size, sorted[i].align, w->addr,
                               hi, &a)) {
                ok = false;
                break;
            }
            sorted[i].addr = a;
            sorted[i].win = ws;
            if (bs_last(a, sorted[i].size) > end)
                end = bs_last(a, sorted[i].size);
        }
        bs_space_free(tmp);
        if (!ok)
            return BS_ENOSPC;
        uint64_t ns = bs_align_up(end - w->addr + 1, gran);
        if (ns > w->size) {
            uint32_t wf = bs_window_flags(t, bus, ws);
            if (!(wf & (BS_RF_MEM64 | BS_RF_IO)) &&
                bs_last(w->addr, ns) >= BS_4G)
                return BS_ENOSPC;
            nsize[ws - BS_SLOT_WIN_IO] = ns;
        }
    }
    if (!nsize[0] && !nsize[1] && !nsize[2])
        return BS_ENOSPC; /* fits without growing: not this planner's job */
    /* Level by level: the windows of `cur` grow to nsize; their extensions
     * are kept free on the parent bus, moving the units in the way.  When
     * an extension runs past the parent bridge's own window, that window
     * grows too, on the next level up (only when moves are allowed: Linux
     * regrows the hot-plug bridge's windows alone). */
    int cur = bus;
    rc = BS_OK;
    while (!rc) {
        int par = t->nodes[cur].parent;
        uint64_t psize[3] = {0, 0, 0};
        struct pctx P;
        rc = ctx_init(&P, c, par, -1, NULL, 0);
        int M[256], m = 0;
        bool ok = !rc;
        for (int q = 0; q < 3 && ok; q++) {
            if (!nsize[q])
                continue;
            const struct bs_res *w = &t->nodes[cur].res[BS_SLOT_WIN_IO + q];
            uint64_t ext = w->addr + w->size, extsz = nsize[q] - w->size;
            uint64_t end = bs_last(ext, extsz);
            if (par) {
                const struct bs_res *pw = &t->nodes[par].res[w->win];
                uint64_t pend = bs_last(pw->addr, pw->size);
                if (end > pend) {
                    uint64_t gran = w->win == BS_SLOT_WIN_IO ? 4096 : BS_MIB;
                    uint64_t ns = bs_align_up(end - pw->addr + 1, gran);
                    uint32_t wf = bs_window_flags(t, par, w->win);
                    if (!moves || (pw->flags & BS_RF_FIXED) ||
                        !(pw->flags & BS_RF_ASSIGNED) || ns < pw->size ||
                        bs_last(pw->addr, ns) < pw->addr ||
                        (!(wf & (BS_RF_MEM64 | BS_RF_IO)) &&
                         bs_last(pw->addr, ns) >= BS_4G)) {
                        ok = false;
                        break;
                    }
                    psize[w->win - BS_SLOT_WIN_IO] =
                        max64(psize[w->win - BS_SLOT_WIN_IO], ns);
                    if (ext > pend)
                        continue; /* wholly beyond: nothing of par there */
                    extsz = pend - ext + 1;
                }
            }
            P.extra[P.nextra].win = w->win;
            P.extra[P.nextra].addr = ext;
            P.extra[P.nextra].size = extsz;
            P.nextra++;
            for (int j = 0; j < P.nui && ok; j++) {
                const struct uitem *x = &P.ui[j];
                if (x->win != w->win || x->node == cur)
                    continue;
                if (x->addr > bs_last(ext, extsz) ||
                    bs_last(x->addr, x->size) < ext)
                    continue;
                if (!moves || !P.u[x->unit].movable || m >= 256) {
                    ok = false;
                    break;
                }
                bool dup = false;
                for (int k = 0; k < m; k++)
                    dup |= M[k] == x->unit;
                if (!dup)
                    M[m++] = x->unit;
            }
        }
        if (!rc)
            rc = ok && try_set(&P, M, m, NULL) ? emit(&P, out, subject, resize)
                                               : BS_ENOSPC;
        for (int q = 0; q < 3 && !rc; q++) {
            if (!nsize[q])
                continue;
            const struct bs_res *w = &t->nodes[cur].res[BS_SLOT_WIN_IO + q];
            bs_plan_item wi = {BS_PLAN_WINDOW, cur, BS_SLOT_WIN_IO + q, w->addr,
                               w->size, w->addr, nsize[q], w->win};
            rc = bs_plan_push(out, &wi);
            out->windows++;
        }
        ctx_free(&P);
        if (!psize[0] && !psize[1] && !psize[2])
            break;
        cur = par;
        memcpy(nsize, psize, sizeof nsize);
    }
    /* Items that fit without growth went to their window directly in the
     * temporary space: same addresses. */
    for (int i = 0; i < n && !rc; i++) {
        bs_plan_item pi = {resize ? BS_PLAN_RESIZE : BS_PLAN_NEW,
                           sorted[i].node, sorted[i].slot, 0, 0,
                           sorted[i].addr, sorted[i].size, sorted[i].win};
        rc = bs_plan_push(out, &pi);
    }
    out->subject = subject;
    out->optimal = 0;
    return rc;
}

int bs_plan_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                  int subject, bs_plan *out, bool *proven_none)
{
    bool resize = false;
    for (int i = 0; i < n; i++) {
        const struct bs_res *r = &c->t->nodes[it[i].node].res[it[i].slot];
        if (r->want && r->addr && !(r->flags & BS_RF_ASSIGNED) &&
            !(r->flags & BS_RF_FAILED))
            resize = true;
    }
    bs_plan *inside = bs_plan_new(), *grow = bs_plan_new();
    if (!inside || !grow) {
        bs_plan_free(inside);
        bs_plan_free(grow);
        return BS_ENOMEM;
    }
    bs_plan_clear(inside);
    bs_plan_clear(grow);
    bool none = false;
    int r1 = plan_bus(c, bus, it, n, subject, resize, inside, &none);
    int r2 = plan_grow(c, bus, it, n, subject, resize, grow, true);
    int rc;
    const bs_plan *pick = NULL;
    if (r1 && r1 != BS_ENOSPC)
        rc = r1;
    else if (r2 && r2 != BS_ENOSPC)
        rc = r2;
    else {
        if (!r1)
            pick = inside;
        if (!r2 && (!pick || grow->moved < pick->moved ||
                    (grow->moved == pick->moved && grow->bytes < pick->bytes)))
            pick = grow;
        rc = pick ? BS_OK : BS_ENOSPC;
    }
    *proven_none = rc == BS_ENOSPC && none;
    if (pick) {
        bs_plan_clear(out);
        for (int i = 0; i < pick->n && !rc; i++)
            rc = bs_plan_push(out, &pick->it[i]);
        out->subject = pick->subject;
        out->moved = pick->moved;
        out->bytes = pick->bytes;
        out->windows = pick->windows;
        out->optimal = pick->optimal && pick == inside;
    }
    bs_plan_free(inside);
    bs_plan_free(grow);
    return rc;
}

/* ---------------------------------------------------------------- plans */

bs_plan *bs_plan_new(void)
{
    bs_plan *p = calloc(1, sizeof *p);
    if (p)
        bs_plan_clear(p);
    return p;
}

void bs_plan_free(bs_plan *p)
{
    if (p)
        free(p->it);
    free(p);
}

void bs_plan_clear(bs_plan *p)
{
    p->n = 0;
    p->subject = -1;
    p->moved = 0;
    p->bytes = 0;
    p->optimal = 1;
    p->windows = 0;
}

int bs_plan_push(bs_plan *p, const bs_plan_item *it)
{
    if (!bs_grow((void **)&p->it, &p->cap, p->n, sizeof *p->it, 16))
        return BS_ENOMEM;
    p->it[p->n++] = *it;
    return BS_OK;
}

int bs_plan_item_count(const bs_plan *p) { return p->n; }
int bs_plan_item_get(const bs_plan *p, int i, bs_plan_item *out)
{
    if (i < 0 || i >= p->n)
        return BS_ENOENT;
    *out = p->it[i];
    return BS_OK;
}
int bs_plan_subject(const bs_plan *p) { return p->subject; }
int bs_plan_moved_devices(const bs_plan *p) { return p->moved; }
uint64_t bs_plan_moved_bytes(const bs_plan *p) { return p->bytes; }
int bs_plan_optimal(const bs_plan *p) { return p->optimal; }

int bs_plan_apply(const bs_plan *p, bs_topo *t)
{
    for (int i = 0; i < p->n; i++) {
        const bs_plan_item *it = &p->it[i];
        if (it->node <= 0 || it->node >= t->nnodes || it->slot < 0 ||
            it->slot >= BS_NSLOTS)
            return BS_EINVAL;
        struct bs_res *r = &t->nodes[it->node].res[it->slot];
        r->size = it->new_size;
        bs_res_assign(t, it->node, it->slot, it->new_addr, it->new_win);
        if (!bs_slot_is_window(it->slot)) {
            /* A resized BAR is aligned to its new size; VF regions keep
             * their per-VF alignment. */
            if (it->slot < BS_SLOT_VF0 && bs_is_pow2(it->new_size))
                r->align = it->new_size;
            /* Below what it requests, the BAR is reduced; at or above it
             * (a grown VF region, a BAR restored to full size), what it
             * now has is what it requests. */
            if (!r->want)
                r->want = it->new_size;
            if (r->size < r->want) {
                r->flags |= BS_RF_REDUCED;
            } else {
                r->flags &= ~(uint32_t)BS_RF_REDUCED;
                r->want = r->size;
            }
        } else {
            r->want = r->size;
        }
    }
    return BS_OK;
}
