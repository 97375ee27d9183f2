/*
 * The invariant checker.  Pure: it reads a topology (and optionally an
 * earlier state of it) and reports every violated invariant.  Tests, plans
 * and the CLI all call it, so it must stay cheap: O(n log n) in the number
 * of assigned resources.
 *
 * Overlap rule: assigned ranges of one address space (I/O or memory) must
 * form a laminar family in which the only containment allowed is "a bridge
 * window contains resources of nodes below that bridge".  A sweep over the
 * ranges sorted by (start, -end) with a stack of open ranges checks that in
 * one pass (bs_sweep, which the plan step checker shares).
 */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    bs_violation *out;
    int cap, n;
};

static void report(struct sink *s, int code, int node, int slot, int onode,
                   int oslot, const bs_topo *t, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void report(struct sink *s, int code, int node, int slot, int onode,
                   int oslot, const bs_topo *t, const char *fmt, ...)
{
    if (s->n < s->cap) {
        bs_violation *v = &s->out[s->n];
        v->code = code;
        v->node = node;
        v->slot = slot;
        v->other_node = onode;
        v->other_slot = oslot;
        char body[140];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        snprintf(v->msg, sizeof v->msg, "%s %s: %s", t->nodes[node].name,
                 bs_slot_name(slot), body);
    }
    s->n++;
}

static bool inside(uint64_t b, uint64_t s, uint64_t wb, uint64_t ws)
{
    return b >= wb && bs_last(b, s) <= bs_last(wb, ws) && bs_last(b, s) >= b;
}

/* Is resource r of node n (flags f) inside a compatible window of its
 * parent?  Returns true if so; otherwise explains in why. */
static bool placed_ok(const bs_topo *t, int n, int slot, char *why, size_t cap)
{
    const struct bs_node *node = &t->nodes[n];
    const struct bs_res *r = &node->res[slot];
    const struct bs_node *p = &t->nodes[node->parent];
    uint32_t f = bs_slot_is_window(slot) ? bs_window_flags(t, n, slot) : r->flags;
    bool io = f & BS_RF_IO;
    /* A bridge window inherits the placement rules of what it forwards: the
     * memory window is 32-bit, the prefetchable window may be 64-bit. */
    if (node->parent == 0) {
        for (int i = 0; i < t->nwin; i++) {
            const struct bs_rootwin *w = &t->win[i];
            if (!!(w->flags & BS_RF_IO) != io)
                continue;
            if ((w->flags & BS_RF_PREF) && !(f & BS_RF_PREF))
                continue;
            if (inside(r->addr, r->size, w->base, w->size))
                return true;
        }
        snprintf(why, cap, "not inside any root %s window",
                 io ? "I/O" : "memory");
        return false;
    }
    if (p->flags & BS_NF_VPCI) { /* one range per kind: no fallback */
        const struct bs_res *w = &p->res[bs_bridge_slot_for(p, f)];
        if ((w->flags & BS_RF_ASSIGNED) && w->size &&
            inside(r->addr, r->size, w->addr, w->size))
            return true;
        snprintf(why, cap, "not inside the %s range of vpci bus %s",
                 (f & BS_RF_MEM64) ? "high" : "low", p->name);
        return false;
    }
    static const int cand_io[] = {BS_SLOT_WIN_IO};
    static const int cand_np[] = {BS_SLOT_WIN_MEM};
    static const int cand_pf[] = {BS_SLOT_WIN_PREF, BS_SLOT_WIN_MEM};
    const int *cand = io ? cand_io : (f & BS_RF_PREF) ? cand_pf : cand_np;
    int nc = io ? 1 : (f & BS_RF_PREF) ? 2 : 1;
    for (int i = 0; i < nc; i++) {
        const struct bs_res *w = &p->res[cand[i]];
        if (!(w->flags & BS_RF_ASSIGNED) || !w->size)
            continue;
        if (inside(r->addr, r->size, w->addr, w->size))
            return true;
    }
    snprintf(why, cap, "not inside a %s window of %s",
             io ? "I/O" : (f & BS_RF_PREF) ? "memory or prefetchable"
                                                  : "non-prefetchable memory",
             p->name);
    return false;
}

static int cmp_range(const void *a, const void *b)
{
    const struct bs_range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->last != y->last)
        return x->last > y->last ? -1 : 1; /* containers first */
    /* Equal ranges: windows (containers) before what they contain. */
    bool xw = bs_slot_is_window(x->slot), yw = bs_slot_is_window(y->slot);
    if (xw != yw)
        return xw ? -1 : 1;
    return x->node != y->node ? (x->node < y->node ? -1 : 1)
                              : (x->slot < y->slot ? -1 : 1);
}

int bs_sweep(const bs_topo *t, struct bs_range *e, size_t n, bs_sweep_fn bad,
             void *ctx)
{
    if (!n)
        return BS_OK;
    qsort(e, n, sizeof *e, cmp_range);
    size_t *stack = malloc(sizeof *stack * n);
    if (!stack)
        return BS_ENOMEM;
    size_t sp = 0;
    for (size_t i = 0; i < n; i++) {
        while (sp && e[stack[sp - 1]].last < e[i].start)
            sp--;
        if (sp) {
            const struct bs_range *top = &e[stack[sp - 1]];
            bool contained = e[i].last <= top->last;
            if (!contained || !bs_slot_is_window(top->slot) ||
                !bs_topo_is_ancestor(t, top->node, e[i].node)) {
                if (bad(ctx, &e[i], top))
                    break;
                if (!contained)
                    continue;
            }
        }
        stack[sp++] = i;
    }
    free(stack);
    return BS_OK;
}

struct overlap_ctx {
    const bs_topo *t;
    struct sink *s;
};

static bool report_overlap(void *ctx, const struct bs_range *r,
                           const struct bs_range *top)
{
    const struct overlap_ctx *o = ctx;
    bool both_win = bs_slot_is_window(top->slot) && bs_slot_is_window(r->slot);
    report(o->s, both_win ? BS_V_SIBLING : BS_V_OVERLAP, r->node, r->slot,
           top->node, top->slot, o->t,
           "[0x%llx-0x%llx] overlaps %s %s [0x%llx-0x%llx]",
           (unsigned long long)r->start, (unsigned long long)r->last,
           o->t->nodes[top->node].name, bs_slot_name(top->slot),
           (unsigned long long)top->start, (unsigned long long)top->last);
    return false;
}

int bs_check(const bs_topo *t, const bs_topo *before, bs_violation *out,
             int cap)
{
    struct sink s = {out, out ? cap : 0, 0};
    size_t n = 0;
    for (int i = 1; i < t->nnodes; i++)
        for (int k = 0; k < BS_NSLOTS; k++)
            if ((t->nodes[i].res[k].flags & BS_RF_ASSIGNED) &&
                t->nodes[i].res[k].size)
                n++;
    struct bs_range *io = malloc(sizeof *io * (n ? n : 1));
    struct bs_range *mem = malloc(sizeof *mem * (n ? n : 1));
    if (!io || !mem) {
        free(io);
        free(mem);
        return BS_ENOMEM;
    }
    size_t nio = 0, nmem = 0;
    char why[160];
    uint64_t fb_base = 0, fb_size = 0; /* what VMBus keeps on Hyper-V */
    if (t->platform && !bs_hv_fb_claim(t, &fb_base, &fb_size))
        fb_size = 0;
    for (int i = 1; i < t->nnodes; i++) {
        const struct bs_node *node = &t->nodes[i];
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &node->res[k];
            if ((r->flags & BS_RF_FIXED) && (r->flags & BS_RF_ASSIGNED) &&
                r->addr != r->fixed)
                report(&s, BS_V_FIXED_MOVED, i, k, -1, -1, t,
                       "firmware-fixed at 0x%llx but placed at 0x%llx",
                       (unsigned long long)r->fixed,
                       (unsigned long long)r->addr);
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
                continue;
            bool win = bs_slot_is_window(k);
            if (bs_last(r->addr, r->size) < r->addr) {
                report(&s, BS_V_OUTSIDE, i, k, -1, -1, t,
                       "range wraps past 2^64");
                continue;
            }
            if (win) {
                /* vPCI ranges: page multiples from VMBus (docs/hyperv.md) */
                uint64_t g = k == BS_SLOT_WIN_IO || (node->flags & BS_NF_VPCI)
                                 ? 4096 : BS_MIB;
                if ((r->addr | r->size) & (g - 1))
                    report(&s, BS_V_GRANULE, i, k, -1, -1, t,
                           "[0x%llx+0x%llx] not on the %s granule",
                           (unsigned long long)r->addr,
                           (unsigned long long)r->size,
                           g == 4096 ? "4 KiB" : "1 MiB");
                if (r->align && (r->addr & (r->align - 1)))
                    report(&s, BS_V_ALIGN, i, k, -1, -1, t,
                           "at 0x%llx, not aligned to 0x%llx",
                           (unsigned long long)r->addr,
                           (unsigned long long)r->align);
            } else if (r->addr & (r->align - 1)) {
                report(&s, BS_V_ALIGN, i, k, -1, -1, t,
                       "at 0x%llx, not aligned to its size 0x%llx",
                       (unsigned long long)r->addr,
                       (unsigned long long)r->align);
            }
            uint32_t f = win ? bs_window_flags(t, i, k) : r->flags;
            bool need32 = !(f & BS_RF_IO) &&
                          ((!win && !(r->flags & BS_RF_MEM64)) ||
                           k == BS_SLOT_WIN_MEM ||
                           (k == BS_SLOT_WIN_PREF &&
                            (node->flags & BS_NF_PREF32)));
            /* 32 bits of bus address: the host bridge may translate. */
            if (need32 && bs_last(r->addr, r->size) >
                              bs_low_limit(t, r->addr, f))
                report(&s, BS_V_KIND, i, k, -1, -1, t,
                       "32-bit resource placed at 0x%llx, above 4 GiB",
                       (unsigned long long)r->addr);
            if ((node->flags & BS_NF_VPCI) && k == BS_SLOT_WIN_PREF &&
                r->addr < BS_4G)
                report(&s, BS_V_KIND, i, k, -1, -1, t,
                       "high range at 0x%llx, below 4 GiB",
                       (unsigned long long)r->addr);
            if (fb_size && node->parent == 0 && r->addr < fb_base + fb_size &&
                fb_base <= bs_last(r->addr, r->size))
                report(&s, BS_V_OVERLAP, i, k, -1, -1, t,
                       "[0x%llx+0x%llx] overlaps the framebuffer at 0x%llx",
                       (unsigned long long)r->addr,
                       (unsigned long long)r->size,
                       (unsigned long long)fb_base);
            if (!placed_ok(t, i, k, why, sizeof why))
                report(&s, BS_V_OUTSIDE, i, k, -1, -1, t, "%s", why);
            struct bs_range e = {r->addr, bs_last(r->addr, r->size), i, k};
            if (f & BS_RF_IO)
                io[nio++] = e;
            else
                mem[nmem++] = e;
        }
    }
    struct overlap_ctx oc = {t, &s};
    int rc = bs_sweep(t, io, nio, report_overlap, &oc);
    if (!rc)
        rc = bs_sweep(t, mem, nmem, report_overlap, &oc);
    free(io);
    free(mem);
    if (rc)
        return rc;

    if (before) {
        int lim = before->nnodes < t->nnodes ? before->nnodes : t->nnodes;
        for (int i = 1; i < lim; i++) {
            const struct bs_node *a = &before->nodes[i], *b = &t->nodes[i];
            if (!(a->flags & BS_NF_PINNED) || strcmp(a->name, b->name))
                continue;
            for (int k = 0; k < BS_NSLOTS; k++) {
                const struct bs_res *ra = &a->res[k], *rb = &b->res[k];
                if (!(ra->flags & BS_RF_ASSIGNED) || !ra->size ||
                    bs_slot_is_window(k))
                    continue;
                if (!(rb->flags & BS_RF_ASSIGNED) || rb->addr != ra->addr ||
                    rb->size != ra->size)
                    report(&s, BS_V_PINNED_MOVED, i, k, -1, -1, t,
                           "pinned device moved from 0x%llx",
                           (unsigned long long)ra->addr);
            }
        }
    }
    return s.n;
}
