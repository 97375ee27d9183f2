/*
 * The layout model behind every map: which extents each window holds, in
 * address order, where the free space and the largest free aligned block
 * are, and how wide each extent is drawn.  Widths are log-scaled because
 * one VM mixes 4 KiB register BARs with 128 GiB frame buffers: on a linear
 * axis the small ones would vanish.
 */
#include "render/render_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- model */

double rm_units(uint64_t size)
{
    double l = log2((double)size) - 8.0;
    return l < 1.0 ? 1.0 : l;
}

const char *rm_size(uint64_t v, char *buf, size_t cap)
{
    /* The one size format: exact, never "31.97G" for 32736M. */
    return bs_fmt_size(v, buf, cap);
}

int rm_device_count(const bs_topo *t)
{
    int n = 0;
    for (int i = 1; i < t->nnodes; i++)
        n += t->nodes[i].kind == BS_NODE_DEVICE;
    return n;
}

const char *rm_win_name(const struct rm_model *m, const struct rm_win *w,
                        char *buf, size_t cap)
{
    const struct bs_rootwin *rw = w->node == 0 ? &m->t->win[w->slot] : NULL;
    if (rw && rw->offset) /* a translating host: where it sits on the bus */
        snprintf(buf, cap, "root %s%d bus=0x%llx",
                 (w->flags & BS_RF_IO) ? "io" : "mem", w->slot,
                 (unsigned long long)(rw->base - rw->offset));
    else if (rw)
        snprintf(buf, cap, "root %s%d", (w->flags & BS_RF_IO) ? "io" : "mem",
                 w->slot);
    else
        snprintf(buf, cap, "%s %s", m->t->nodes[w->node].name,
                 w->slot == BS_SLOT_WIN_IO ? "io"
                 : w->slot == BS_SLOT_WIN_MEM ? "mem" : "pref");
    return buf;
}

const char *rm_colour(const struct rm_model *m, int node, char *buf,
                      size_t cap)
{
    int k = node >= 0 && node < m->t->nnodes ? m->colour[node] : -1;
    if (k < 0) {
        snprintf(buf, cap, "#999999");
        return buf;
    }
    /* Golden-angle hues keep neighbours apart for any number of devices;
     * lightness alternates so that hues that come round again differ. */
    int hue = (int)fmod(k * 137.508, 360.0);
    int light = 52 + (k % 3) * 8;
    snprintf(buf, cap, "hsl(%d,62%%,%d%%)", hue, light);
    return buf;
}

static int win_new(struct rm_model *m)
{
    if (m->nw == m->wcap) {
        int nc = m->wcap ? m->wcap * 2 : 16;
        struct rm_win *nw = realloc(m->w, sizeof *nw * (size_t)nc);
        if (!nw)
            return BS_ENOMEM;
        m->w = nw;
        m->wcap = nc;
    }
    memset(&m->w[m->nw], 0, sizeof m->w[0]);
    return m->nw++;
}

static struct rm_item *item_new(struct rm_win *w)
{
    if (w->n == w->cap) {
        int nc = w->cap ? w->cap * 2 : 8;
        struct rm_item *ni = realloc(w->it, sizeof *ni * (size_t)nc);
        if (!ni)
            return NULL;
        w->it = ni;
        w->cap = nc;
    }
    struct rm_item *it = &w->it[w->n++];
    memset(it, 0, sizeof *it);
    it->child = -1;
    return it;
}

static int cmp_item(const void *a, const void *b)
{
    const struct rm_item *x = a, *y = b;
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->slot - y->slot;
}

/* Largest naturally aligned power-of-two block inside [a, last]. */
static uint64_t aligned_block(uint64_t a, uint64_t last, uint64_t *at)
{
    for (int k = 63; k >= 0; k--) {
        uint64_t sz = UINT64_C(1) << k;
        if (a > UINT64_MAX - (sz - 1))
            continue;
        uint64_t s = bs_align_up(a, sz);
        if (s < a || s > last || last - s < sz - 1)
            continue;
        *at = s;
        return sz;
    }
    return 0;
}

static bool inside(uint64_t b, uint64_t s, uint64_t wb, uint64_t ws)
{
    return b >= wb && bs_last(b, s) >= b && bs_last(b, s) <= bs_last(wb, ws);
}

static int build_win(struct rm_model *m, int node, int slot, uint64_t base,
                     uint64_t size, unsigned flags, int depth);

/* Fill window `wi` (already created) with its extents. */
static int fill_win(struct rm_model *m, int wi)
{
    const bs_topo *t = m->t;
    struct rm_win W = m->w[wi];   /* copy: m->w moves while recursing */
    bool io = W.flags & BS_RF_IO;
    for (int c = t->nodes[W.node].first_child; c >= 0;
         c = t->nodes[c].next_sibling) {
        const struct bs_node *n = &t->nodes[c];
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &n->res[k];
            unsigned char *seen = &m->seen[(size_t)c * BS_NSLOTS + (size_t)k];
            if (*seen || !r->size || (r->flags & BS_RF_UPPER) ||
                !(r->flags & BS_RF_ASSIGNED))
                continue;
            unsigned f = bs_slot_is_window(k) ? bs_window_flags(t, c, k)
                                              : r->flags;
            if (!!(f & BS_RF_IO) != io || !inside(r->addr, r->size, W.base, W.size))
                continue;
            *seen = 1;
            struct rm_item *it = item_new(&W);
            if (!it) {
                m->w[wi] = W;
                return BS_ENOMEM;
            }
            it->kind = bs_slot_is_window(k) ? RM_WIN : RM_BAR;
            it->node = c;
            it->slot = k;
            it->base = r->addr;
            it->size = r->size;
            it->depth = W.depth + 1;
        }
    }
    if (W.n > 1)
        qsort(W.it, (size_t)W.n, sizeof *W.it, cmp_item);
    m->w[wi] = W;
    /* Nested windows, then free gaps in between. */
    for (int i = 0; i < m->w[wi].n; i++) {
        struct rm_item *it = &m->w[wi].it[i];
        if (it->kind != RM_WIN)
            continue;
        int node = it->node, s = it->slot;
        uint64_t b = it->base, sz = it->size;
        int ci = build_win(m, node, s, b, sz, bs_window_flags(t, node, s),
                           W.depth + 1);
        if (ci < 0)
            return ci;
        m->w[wi].it[i].child = ci;
    }
    /* Gaps: rebuild the item list with free extents interleaved. */
    W = m->w[wi];
    struct rm_item *old = W.it;
    int nold = W.n;
    W.it = NULL;
    W.n = W.cap = 0;
    uint64_t cur = W.base, wlast = bs_last(W.base, W.size);
    bool at_end = false;      /* cur has passed wlast (may wrap at 2^64) */
    uint64_t best = 0, best_at = 0;
    int best_i = -1;
    for (int i = 0; i <= nold; i++) {
        uint64_t next = i < nold ? old[i].base : wlast;
        bool tail = i == nold;
        if (!at_end && (tail ? cur <= wlast : next > cur)) {
            uint64_t glast = tail ? wlast : next - 1;
            struct rm_item *g = item_new(&W);
            if (!g) {
                free(old);
                m->w[wi] = W;
                return BS_ENOMEM;
            }
            g->kind = RM_GAP;
            g->base = cur;
            g->size = glast - cur + 1;   /* 0 only for a whole 2^64 space */
            g->depth = W.depth + 1;
            g->node = -1;
            g->slot = -1;
            uint64_t at = 0, bs = aligned_block(cur, glast, &at);
            if (bs > best) {
                best = bs;
                best_at = at;
                best_i = W.n - 1;
            }
        }
        if (tail)
            break;
        struct rm_item *it = item_new(&W);
        if (!it) {
            free(old);
            m->w[wi] = W;
            return BS_ENOMEM;
        }
        *it = old[i];
        if (!at_end && old[i].base < cur)
            it->overlap = 1;
        else if (at_end)
            it->overlap = 1;
        uint64_t ilast = bs_last(old[i].base, old[i].size);
        if (!at_end && ilast >= cur) {
            W.used += ilast - (old[i].base > cur ? old[i].base : cur) + 1;
            if (ilast >= wlast)
                at_end = true;
            else
                cur = ilast + 1;
        }
    }
    free(old);
    W.largest = best;
    W.largest_addr = best_at;
    /* The gap holding the largest block becomes gap, block, gap; not in an
     * empty bridge window, where the whole window is that block and marking
     * it would drown the blocks that matter. */
    if (best_i >= 0 && (W.node == 0 || W.used)) {
        struct rm_item g = W.it[best_i];
        uint64_t glast = bs_last(g.base, g.size);
        struct rm_item parts[3];
        int np = 0;
        if (best_at > g.base) {
            parts[np] = g;
            parts[np].size = best_at - g.base;
            np++;
        }
        parts[np] = g;
        parts[np].kind = RM_BLOCK;
        parts[np].base = best_at;
        parts[np].size = best;
        np++;
        if (bs_last(best_at, best) < glast) {
            parts[np] = g;
            parts[np].base = best_at + best;
            parts[np].size = glast - parts[np].base + 1;
            np++;
        }
        for (int k = 1; k < np; k++)
            if (!item_new(&W)) {
                m->w[wi] = W;
                return BS_ENOMEM;
            }
        memmove(&W.it[best_i + np], &W.it[best_i + 1],
                sizeof *W.it * (size_t)(W.n - np - best_i));
        memcpy(&W.it[best_i], parts, sizeof parts[0] * (size_t)np);
    }
    /* Widths and depth. */
    W.units = 0;
    W.maxdepth = W.depth + 1;
    for (int i = 0; i < W.n; i++) {
        struct rm_item *it = &W.it[i];
        if (it->kind == RM_WIN && it->child >= 0) {
            it->w = m->w[it->child].units;
            if (m->w[it->child].maxdepth > W.maxdepth)
                W.maxdepth = m->w[it->child].maxdepth;
        } else {
            /* A free gap spanning all 2^64 bytes has size 0. */
            it->w = it->size ? rm_units(it->size) : 56.0;
        }
        W.units += it->w;
    }
    m->w[wi] = W;
    return BS_OK;
}

static int build_win(struct rm_model *m, int node, int slot, uint64_t base,
                     uint64_t size, unsigned flags, int depth)
{
    int wi = win_new(m);
    if (wi < 0)
        return wi;
    struct rm_win *w = &m->w[wi];
    w->node = node;
    w->slot = slot;
    w->base = base;
    w->size = size;
    w->flags = flags;
    w->depth = depth;
    int rc = fill_win(m, wi);
    return rc < 0 ? rc : wi;
}

static void place(struct rm_model *m, int wi, double x)
{
    struct rm_win *w = &m->w[wi];
    for (int i = 0; i < w->n; i++) {
        w->it[i].x = x;
        if (w->it[i].kind == RM_WIN && w->it[i].child >= 0)
            place(m, w->it[i].child, x);
        x += w->it[i].w;
    }
}

static int loose_add(struct rm_model *m, int node, int slot, int why)
{
    if (m->nloose == m->loosecap) {
        int nc = m->loosecap ? m->loosecap * 2 : 8;
        struct rm_loose *nl = realloc(m->loose, sizeof *nl * (size_t)nc);
        if (!nl)
            return BS_ENOMEM;
        m->loose = nl;
        m->loosecap = nc;
    }
    struct rm_loose *l = &m->loose[m->nloose++];
    l->node = node;
    l->slot = slot;
    l->why = why;
    l->failed = 0;
    for (int i = 0; i < m->t->nfail; i++)
        if (m->t->fail[i].node == node && m->t->fail[i].slot == slot)
            l->failed = 1;
    return BS_OK;
}

void rm_free(struct rm_model *m)
{
    for (int i = 0; i < m->nw; i++)
        free(m->w[i].it);
    free(m->w);
    free(m->loose);
    free(m->colour);
    free(m->seen);
    memset(m, 0, sizeof *m);
}

int rm_build(struct rm_model *m, const bs_topo *t)
{
    memset(m, 0, sizeof *m);
    m->t = t;
    m->colour = malloc(sizeof *m->colour * (size_t)t->nnodes);
    m->seen = calloc((size_t)t->nnodes * BS_NSLOTS, 1);
    if (!m->colour || !m->seen) {
        rm_free(m);
        return BS_ENOMEM;
    }
    for (int i = 0; i < t->nnodes; i++) {
        m->colour[i] = -1;
        if (i == 0)
            continue;
        bool bar = t->nodes[i].kind == BS_NODE_DEVICE;
        for (int k = 0; k < BS_SLOT_WIN_IO && !bar; k++)
            bar = t->nodes[i].res[k].size != 0;
        if (bar)
            m->colour[i] = m->ncolour++;
    }
    /* Root windows take indices 0..nwin-1; nested ones follow. */
    for (int i = 0; i < t->nwin; i++) {
        int wi = win_new(m);
        if (wi < 0) {
            rm_free(m);
            return wi;
        }
        struct rm_win *w = &m->w[wi];
        w->node = 0;
        w->slot = i;
        w->base = t->win[i].base;
        w->size = t->win[i].size;
        w->flags = t->win[i].flags;
    }
    m->nroot = t->nwin;
    for (int i = 0; i < t->nwin; i++) {
        int rc = fill_win(m, i);
        if (rc < 0) {
            rm_free(m);
            return rc;
        }
    }
    for (int i = 0; i < m->nroot; i++)
        place(m, i, 0.0);
    for (int i = 1; i < t->nnodes; i++)
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[i].res[k];
            if (!r->size || (r->flags & BS_RF_UPPER) ||
                m->seen[(size_t)i * BS_NSLOTS + (size_t)k])
                continue;
            int rc = loose_add(m, i, k, (r->flags & BS_RF_ASSIGNED)
                                            ? RM_LOOSE_OUTSIDE
                                            : RM_LOOSE_UNASSIGNED);
            if (rc) {
                rm_free(m);
                return rc;
            }
        }
    return BS_OK;
}

/* ------------------------------------------------------------ public API */

void bs_render_opts_init(bs_render_opts *o, int format)
{
    memset(o, 0, sizeof *o);
    o->format = format;
}

static int opts_fix(const bs_render_opts *in, bs_render_opts *o)
{
    if (in)
        *o = *in;
    else
        bs_render_opts_init(o, BS_RENDER_TEXT);
    if (o->format < BS_RENDER_TEXT || o->format > BS_RENDER_JSON)
        return BS_EINVAL;
    if (o->format == BS_RENDER_TEXT) {
        if (!o->width)
            o->width = 100;
        if (o->width < 60)
            o->width = 60;
        if (o->width > 1000)
            o->width = 1000;
    } else {
        if (!o->width)
            o->width = 1400;
        if (o->width < 600)
            o->width = 600;
        if (o->width > 20000)
            o->width = 20000;
    }
    return BS_OK;
}

int bs_render_map(const bs_topo *t, const bs_render_opts *in, char *buf,
                  size_t cap, size_t *len)
{
    bs_render_opts o;
    if (len)
        *len = 0;
    if (!t || (cap && !buf) || opts_fix(in, &o))
        return BS_EINVAL;
    struct rm_model m;
    int rc = rm_build(&m, t);
    if (rc)
        return rc;
    struct rw w;
    rw_init(&w, buf, cap);
    switch (o.format) {
    case BS_RENDER_TEXT: rm_text(&w, &m, &o); break;
    case BS_RENDER_SVG: rm_svg_document(&w, &m, NULL, &o); break;
    case BS_RENDER_HTML: rm_html_document(&w, &m, NULL, &o); break;
    case BS_RENDER_JSON: rm_json(&w, &m, &o); break;
    }
    rm_free(&m);
    return rw_finish(&w, len);
}

int bs_render_map_diff(const bs_topo *before, const bs_topo *after,
                       const bs_render_opts *in, char *buf, size_t cap,
                       size_t *len)
{
    bs_render_opts o;
    if (len)
        *len = 0;
    if (!before || !after || (cap && !buf) || opts_fix(in, &o))
        return BS_EINVAL;
    struct rm_model a, b;
    int rc = rm_build(&a, before);
    if (rc)
        return rc;
    rc = rm_build(&b, after);
    if (rc) {
        rm_free(&a);
        return rc;
    }
    struct rw w;
    rw_init(&w, buf, cap);
    switch (o.format) {
    case BS_RENDER_TEXT: rm_text_diff(&w, &a, &b, &o); break;
    case BS_RENDER_SVG: rm_svg_document(&w, &a, &b, &o); break;
    case BS_RENDER_HTML: rm_html_document(&w, &a, &b, &o); break;
    case BS_RENDER_JSON: rm_json_diff(&w, &a, &b, &o); break;
    }
    rm_free(&a);
    rm_free(&b);
    return rw_finish(&w, len);
}

const char *rm_res_name(const bs_topo *t, int node, int slot, char *buf,
                        size_t cap)
{
    snprintf(buf, cap, "%s %s", t->nodes[node].name, bs_slot_name(slot));
    return buf;
}

int rm_node_in(const bs_topo *t, const bs_topo *other, int i)
{
    if (i < t->nnodes && !strcmp(other->nodes[i].name, t->nodes[i].name))
        return i;
    return bs_topo_find(t, other->nodes[i].name);
}

int rm_moves(const bs_topo *a, const bs_topo *b, struct rm_move **out, int *n)
{
    static const struct bs_res none;
    *out = NULL;
    *n = 0;
    int cap = 0;
    /* Nodes of a (matched in b), then nodes only b has (hot-added). */
    for (int x = 1; x < a->nnodes + b->nnodes; x++) {
        int i, j;
        if (x < a->nnodes) {
            i = x;
            j = rm_node_in(b, a, i);
            if (j <= 0)
                continue;
        } else {
            j = x - a->nnodes;
            if (j < 1 || rm_node_in(a, b, j) > 0)
                continue;
            i = -1;
        }
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *ra = i > 0 ? &a->nodes[i].res[k] : &none;
            const struct bs_res *rb = &b->nodes[j].res[k];
            if ((ra->flags | rb->flags) & BS_RF_UPPER)
                continue;
            int was = (ra->flags & BS_RF_ASSIGNED) && ra->size;
            int is = (rb->flags & BS_RF_ASSIGNED) && rb->size;
            if (!was && !is)
                continue;
            if (was && is && ra->addr == rb->addr && ra->size == rb->size)
                continue;
            if (*n == cap) {
                int nc = cap ? cap * 2 : 16;
                struct rm_move *nm = realloc(*out, sizeof *nm * (size_t)nc);
                if (!nm) {
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    return BS_ENOMEM;
                }
                *out = nm;
                cap = nc;
            }
            struct rm_move *mv = &(*out)[(*n)++];
            mv->anode = i;
            mv->bnode = j;
            mv->name = b->nodes[j].name;
            mv->slot = k;
            mv->from = ra->addr;
            mv->to = rb->addr;
            mv->size_from = ra->size;
            mv->size_to = rb->size;
            mv->was = was;
            mv->is = is;
        }
    }
    return BS_OK;
}
