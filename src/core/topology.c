/*
 * The topology tree: host bridge (node 0), bridges and devices, with their
 * resource slots.  Nodes live in one array and link by index so that a
 * topology can be cloned with a single copy and snapshotted without pointer
 * fix-ups.
 */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bs_strerror(int code)
{
    switch (code) {
    case BS_OK: return "OK";
    case BS_ENOMEM: return "ENOMEM";
    case BS_EPARSE: return "EPARSE";
    case BS_EINVAL: return "EINVAL";
    case BS_ENOSPC: return "ENOSPC";
    case BS_ENOENT: return "ENOENT";
    case BS_ELIMIT: return "ELIMIT";
    case BS_EIO: return "EIO";
    case BS_ESTATE: return "ESTATE";
    }
    return "EUNKNOWN";
}

void bs_seterr(bs_error *e, int code, const char *file, int line, int col,
               const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    e->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

size_t bs_error_format(const bs_error *e, char *buf, size_t cap)
{
    char pos[300] = "";
    if (e->file[0] && e->line > 0 && e->col > 0)
        snprintf(pos, sizeof pos, "%s:%d:%d: ", e->file, e->line, e->col);
    else if (e->file[0] && e->line > 0)
        snprintf(pos, sizeof pos, "%s:%d: ", e->file, e->line);
    else if (e->file[0])
        snprintf(pos, sizeof pos, "%s: ", e->file);
    int n = snprintf(buf, cap, "%s%s", pos, e->msg);
    return n < 0 ? 0 : (size_t)n;
}

const char *bs_slot_name(int slot)
{
    static const char *const names[BS_NSLOTS] = {
        "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM",
        "VF BAR0", "VF BAR1", "VF BAR2", "VF BAR3", "VF BAR4", "VF BAR5",
        "io window", "mem window", "pref window"};
    if (slot < 0 || slot >= BS_NSLOTS)
        return "?";
    return names[slot];
}

static void node_init(struct bs_node *n, int kind, int parent, const char *name)
{
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->parent = parent;
    n->first_child = n->next_sibling = n->last_child = -1;
    n->slot = n->fn = -1;
    snprintf(n->name, sizeof n->name, "%s", name ? name : "");
    for (int s = 0; s < BS_NSLOTS; s++)
        n->res[s].win = BS_WIN_NONE;
}

bs_topo *bs_topo_new(const char *name)
{
    bs_topo *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    t->cap = 16;
    t->nodes = malloc(sizeof *t->nodes * (size_t)t->cap);
    if (!t->nodes) {
        free(t);
        return NULL;
    }
    node_init(&t->nodes[0], BS_NODE_ROOT, -1, "host");
    t->nnodes = 1;
    int dup;
    if (bs_topo_reindex(t, &dup)) {
        bs_topo_free(t);
        return NULL;
    }
    return t;
}

void bs_topo_free(bs_topo *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->fail);
    free(t->names);
    free(t);
}

bs_topo *bs_topo_clone(const bs_topo *t)
{
    bs_topo *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    *c = *t;
    c->nodes = malloc(sizeof *c->nodes * (size_t)t->cap);
    c->fail = t->failcap ? malloc(sizeof *c->fail * (size_t)t->failcap) : NULL;
    c->names = t->ncap ? malloc(sizeof *c->names * t->ncap) : NULL;
    if (!c->nodes || (t->failcap && !c->fail) || (t->ncap && !c->names)) {
        free(c->nodes);
        free(c->fail);
        free(c->names);
        free(c);
        return NULL;
    }
    memcpy(c->nodes, t->nodes, sizeof *c->nodes * (size_t)t->nnodes);
    if (t->ncap)
        memcpy(c->names, t->names, sizeof *c->names * t->ncap);
    if (t->nfail)
        memcpy(c->fail, t->fail, sizeof *c->fail * (size_t)t->nfail);
    return c;
}

const char *bs_topo_name(const bs_topo *t) { return t->name; }
int bs_topo_node_count(const bs_topo *t) { return t->nnodes; }
int bs_topo_window_count(const bs_topo *t) { return t->nwin; }

int bs_topo_node_info(const bs_topo *t, int id, bs_node_info *o)
{
    if (id < 0 || id >= t->nnodes)
        return BS_ENOENT;
    const struct bs_node *n = &t->nodes[id];
    o->id = id;
    o->kind = n->kind;
    o->parent = n->parent;
    o->depth = n->depth;
    o->name = n->name;
    o->model = n->model;
    o->flags = n->flags;
    o->line = n->line;
    o->slot = n->slot;
    o->fn = n->fn;
    o->num_vfs = n->num_vfs;
    memcpy(o->reserve, n->reserve, sizeof o->reserve);
    o->domain = n->domain;
    return BS_OK;
}

int bs_topo_res_info(const bs_topo *t, int id, int slot, bs_res_info *o)
{
    if (id < 0 || id >= t->nnodes || slot < 0 || slot >= BS_NSLOTS)
        return BS_ENOENT;
    const struct bs_res *r = &t->nodes[id].res[slot];
    if (!r->size && !(r->flags & BS_RF_UPPER))
        return BS_ENOENT;
    o->node = id;
    o->slot = slot;
    o->flags = r->flags;
    o->size = r->size;
    o->align = r->align;
    o->addr = r->addr;
    o->fixed = r->fixed;
    o->rebar = r->rebar;
    o->want = r->want ? r->want : r->size;
    o->win = r->win;
    return BS_OK;
}

int bs_topo_window_info(const bs_topo *t, int i, bs_window_info *o)
{
    if (i < 0 || i >= t->nwin)
        return BS_ENOENT;
    o->index = i;
    o->flags = t->win[i].flags;
    o->base = t->win[i].base;
    o->size = t->win[i].size;
    o->line = t->win[i].line;
    o->bus_offset = t->win[i].offset;
    return BS_OK;
}

int bs_topo_set_window_bus(bs_topo *t, int index, uint64_t bus_base)
{
    if (index < 0 || index >= t->nwin)
        return BS_ENOENT;
    struct bs_rootwin *w = &t->win[index];
    uint64_t bus_last = bus_base + (w->size - 1);
    if (bus_last < bus_base ||
        ((w->flags & BS_RF_IO) && bus_last > 0xffff))
        return BS_EINVAL;
    w->offset = w->base - bus_base;
    return BS_OK;
}

int bs_rootwin_at(const bs_topo *t, uint64_t cpu, uint32_t flags)
{
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        if (!((w->flags ^ flags) & BS_RF_IO) && cpu >= w->base &&
            cpu <= bs_last(w->base, w->size))
            return i;
    }
    return -1;
}

uint64_t bs_topo_bus_addr(const bs_topo *t, uint64_t cpu, unsigned flags)
{
    int w = bs_rootwin_at(t, cpu, flags);
    return w < 0 ? cpu : cpu - t->win[w].offset;
}

uint64_t bs_cpu_addr(const bs_topo *t, uint64_t bus, uint32_t flags)
{
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        uint64_t b = w->base - w->offset;
        if (w->offset && !((w->flags ^ flags) & BS_RF_IO) && bus >= b &&
            bus <= bs_last(b, w->size))
            return bus + w->offset;
    }
    return bus;
}

bool bs_rootwin_low(const struct bs_rootwin *w, uint64_t *last)
{
    uint64_t bus = w->base - w->offset;
    if (bus >= BS_4G)
        return false;
    uint64_t bus_last = bs_last(bus, w->size);
    if (bus_last >= BS_4G)
        bus_last = BS_4G - 1;
    *last = w->base + (bus_last - bus);
    return true;
}

uint64_t bs_low_limit(const bs_topo *t, uint64_t cpu, uint32_t flags)
{
    int i = bs_rootwin_at(t, cpu, flags);
    uint64_t last;
    if (i < 0 || !t->win[i].offset)
        return BS_4G - 1;
    return bs_rootwin_low(&t->win[i], &last) ? last : 0;
}

/* ---- name index ---- */

static size_t name_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return (size_t)h;
}

int bs_topo_find(const bs_topo *t, const char *name)
{
    int best = BS_ENOENT;
    if (!t->ncap)
        return best;
    size_t m = t->ncap - 1;
    /* At most half the table is used, so the probe ends at an empty entry. */
    for (size_t i = name_hash(name) & m; t->names[i] != -1; i = (i + 1) & m) {
        int v = t->names[i];
        if (v >= 0 && (best < 0 || v < best) && !strcmp(t->nodes[v].name, name))
            best = v;
    }
    return best;
}

static void index_slot(int *tab, size_t cap, const char *name, int id)
{
    size_t m = cap - 1, i = name_hash(name) & m;
    while (tab[i] >= 0)
        i = (i + 1) & m;
    tab[i] = id;
}

/* A table for `live` names, without deleted entries. */
static int index_resize(bs_topo *t, size_t live)
{
    size_t ncap = 64;
    while (ncap < live * 4)
        ncap *= 2;
    int *nt = malloc(sizeof *nt * ncap);
    if (!nt)
        return BS_ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        nt[i] = -1;
    for (size_t i = 0; i < t->ncap; i++)
        if (t->names[i] >= 0)
            index_slot(nt, ncap, t->nodes[t->names[i]].name, t->names[i]);
    free(t->names);
    t->names = nt;
    t->ncap = ncap;
    t->nused = t->nnamed;
    return BS_OK;
}

static int index_put(bs_topo *t, int id)
{
    if ((t->nused + 1) * 2 > t->ncap && index_resize(t, t->nnamed + 1))
        return BS_ENOMEM;
    size_t m = t->ncap - 1, i = name_hash(t->nodes[id].name) & m;
    while (t->names[i] >= 0)
        i = (i + 1) & m;
    if (t->names[i] == -1)
        t->nused++;
    t->names[i] = id;
    t->nnamed++;
    return BS_OK;
}

void bs_topo_unindex(bs_topo *t, int id)
{
    if (!t->ncap)
        return;
    size_t m = t->ncap - 1;
    for (size_t i = name_hash(t->nodes[id].name) & m; t->names[i] != -1;
         i = (i + 1) & m) {
        if (t->names[i] == id) {
            t->names[i] = -2;
            t->nnamed--;
            return;
        }
    }
}

int bs_topo_rename(bs_topo *t, int id, const char *name)
{
    bs_topo_unindex(t, id);
    char *nm = t->nodes[id].name;
    size_t n = strnlen(name, sizeof t->nodes[id].name - 1);
    memcpy(nm, name, n);
    nm[n] = 0;
    return index_put(t, id);
}

int bs_topo_reindex(bs_topo *t, int *dup)
{
    *dup = -1;
    free(t->names);
    t->names = NULL;
    t->ncap = t->nused = t->nnamed = 0;
    if (index_resize(t, (size_t)t->nnodes))
        return BS_ENOMEM;
    for (int i = 0; i < t->nnodes; i++) {
        if (*dup < 0 && bs_topo_find(t, t->nodes[i].name) >= 0)
            *dup = i;
        if (index_put(t, i))
            return BS_ENOMEM;
    }
    return BS_OK;
}

bool bs_topo_is_ancestor(const bs_topo *t, int anc, int n)
{
    for (int p = t->nodes[n].parent; p >= 0; p = t->nodes[p].parent)
        if (p == anc)
            return true;
    return false;
}

/* ---- assignment of one resource ---- */

void bs_res_assign(bs_topo *t, int node, int slot, uint64_t addr, int win)
{
    struct bs_res *r = &t->nodes[node].res[slot];
    r->addr = addr;
    r->win = win;
    r->flags |= BS_RF_ASSIGNED;
    r->flags &= ~(uint32_t)BS_RF_FAILED;
}

void bs_res_release(bs_topo *t, int node, int slot)
{
    struct bs_res *r = &t->nodes[node].res[slot];
    r->flags &= ~(uint32_t)BS_RF_ASSIGNED;
    r->win = BS_WIN_NONE;
}

int bs_topo_add_window(bs_topo *t, unsigned flags, uint64_t base,
                       uint64_t size)
{
    if (!size || (base + (size - 1)) < base)
        return BS_EINVAL;
    if (t->nwin >= BS_MAX_ROOT_WINDOWS)
        return BS_ELIMIT;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        if (((w->flags ^ flags) & BS_RF_IO) == 0 &&
            base <= bs_last(w->base, w->size) && w->base <= bs_last(base, size))
            return BS_EINVAL;
    }
    struct bs_rootwin *w = &t->win[t->nwin++];
    w->flags = flags & (BS_RF_IO | BS_RF_PREF);
    w->base = base;
    w->size = size;
    w->line = 0;
    w->offset = 0;
    return t->nwin - 1;
}

int bs_topo_add_node(bs_topo *t, int parent, int kind, const char *name)
{
    if (parent < 0 || parent >= t->nnodes ||
        t->nodes[parent].kind == BS_NODE_DEVICE ||
        (kind != BS_NODE_BRIDGE && kind != BS_NODE_DEVICE))
        return BS_EINVAL;
    if (t->nnodes >= BS_MAX_NODES)
        return BS_ELIMIT;
    if (t->nodes[parent].depth + 1 > BS_MAX_DEPTH)
        return BS_ELIMIT;
    if (t->nnodes == t->cap) {
        int ncap = t->cap * 2;
        struct bs_node *nn = realloc(t->nodes, sizeof *nn * (size_t)ncap);
        if (!nn)
            return BS_ENOMEM;
        t->nodes = nn;
        t->cap = ncap;
    }
    int id = t->nnodes++;
    struct bs_node *n = &t->nodes[id];
    node_init(n, kind, parent, name);
    if (index_put(t, id)) {
        t->nnodes--;
        return BS_ENOMEM;
    }
    n->depth = t->nodes[parent].depth + 1;
    struct bs_node *p = &t->nodes[parent];
    if (p->last_child >= 0)
        t->nodes[p->last_child].next_sibling = id;
    else
        p->first_child = id;
    p->last_child = id;
    return id;
}

int bs_topo_set_bar(bs_topo *t, int id, int slot, unsigned flags,
                    uint64_t size, uint64_t fixed)
{
    if (id <= 0 || id >= t->nnodes || slot < 0 || slot >= BS_SLOT_WIN_IO)
        return BS_EINVAL;
    struct bs_node *n = &t->nodes[id];
    bool vf = slot >= BS_SLOT_VF0;
    int idx = vf ? slot - BS_SLOT_VF0 : slot;
    if (!bs_is_pow2(size))
        return BS_EINVAL;
    if (flags & BS_RF_IO)
        flags &= ~(unsigned)(BS_RF_MEM64 | BS_RF_PREF);
    if ((flags & BS_RF_MEM64) && (slot == BS_SLOT_ROM || idx == 5))
        return BS_EINVAL;
    if (slot == BS_SLOT_ROM && (flags & BS_RF_IO))
        return BS_EINVAL;
    if ((flags & BS_RF_FIXED) && (fixed & (size - 1)))
        return BS_EINVAL;
    struct bs_res *r = &n->res[slot];
    if (r->flags & BS_RF_UPPER)
        return BS_EINVAL;
    uint64_t total = size;
    if (vf) {
        if (!n->num_vfs)
            return BS_EINVAL;
        if (size > UINT64_MAX / n->num_vfs)
            return BS_ELIMIT;
        total = size * n->num_vfs;
    }
    if ((flags & BS_RF_MEM64) && n->res[slot + 1].size)
        return BS_EINVAL;
    memset(r, 0, sizeof *r);
    r->size = total;
    r->want = total;
    r->align = size;
    r->flags = flags & (BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF | BS_RF_FIXED);
    r->fixed = fixed;
    r->win = BS_WIN_NONE;
    if (r->flags & BS_RF_FIXED)
        bs_res_assign(t, id, slot, fixed, BS_WIN_NONE);
    if (flags & BS_RF_MEM64) {
        memset(&n->res[slot + 1], 0, sizeof n->res[slot + 1]);
        n->res[slot + 1].flags = BS_RF_UPPER;
        n->res[slot + 1].win = BS_WIN_NONE;
    }
    return BS_OK;
}

void bs_topo_unassign(bs_topo *t)
{
    for (int i = 0; i < t->nnodes; i++) {
        for (int s = 0; s < BS_NSLOTS; s++) {
            struct bs_res *r = &t->nodes[i].res[s];
            if (r->flags & BS_RF_UPPER)
                continue;
            if (r->want && r->want != r->size && !bs_slot_is_window(s)) {
                /* A BAR is aligned to its size; VF regions keep their
                 * per-VF alignment. */
                if (s < BS_SLOT_VF0 && bs_is_pow2(r->want) &&
                    r->align < r->want)
                    r->align = r->want;
                r->size = r->want;
            }
            r->flags &= ~(uint32_t)(BS_RF_FAILED | BS_RF_REDUCED);
            if (r->flags & BS_RF_FIXED) {
                bs_res_assign(t, i, s, r->fixed, BS_WIN_NONE);
            } else {
                bs_res_release(t, i, s);
                r->addr = 0;
            }
            if (bs_slot_is_window(s) && !(r->flags & BS_RF_FIXED))
                r->size = 0;
        }
    }
    bs_failures_clear(t);
}

uint32_t bs_window_flags(const bs_topo *t, int node, int win)
{
    if (node == 0)
        return t->win[win].flags;
    if (win == BS_SLOT_WIN_IO)
        return BS_RF_IO;
    if (win == BS_SLOT_WIN_MEM)
        return 0;
    if (t->nodes[node].flags & BS_NF_VPCI) /* high range: any 64-bit BAR */
        return BS_RF_MEM64;
    return (t->nodes[node].flags & BS_NF_PREF32) ? BS_RF_PREF
                                                 : BS_RF_PREF | BS_RF_MEM64;
}

int bs_bridge_slot_for(const struct bs_node *bridge, uint32_t f)
{
    if (f & BS_RF_IO)
        return BS_SLOT_WIN_IO;
    if (bridge->flags & BS_NF_VPCI) /* pci-hyperv: 64-bit BARs high, else low */
        return (f & BS_RF_MEM64) ? BS_SLOT_WIN_PREF : BS_SLOT_WIN_MEM;
    if ((f & BS_RF_PREF) && (f & BS_RF_MEM64) && !(bridge->flags & BS_NF_PREF32))
        return BS_SLOT_WIN_PREF;
    if ((f & BS_RF_PREF) && (bridge->flags & BS_NF_PREF32))
        return BS_SLOT_WIN_PREF;
    return BS_SLOT_WIN_MEM;
}

void bs_failures_clear(bs_topo *t) { t->nfail = 0; }

bs_failure *bs_failure_add(bs_topo *t, int node, int slot, int win_node,
                           int win, uint64_t shortfall, const char *fmt, ...)
{
    if (t->nfail == t->failcap) {
        int ncap = t->failcap ? t->failcap * 2 : 8;
        bs_failure *nf = realloc(t->fail, sizeof *nf * (size_t)ncap);
        if (!nf) {
            /* Keep the count honest even when the detail cannot be stored. */
            if (t->nfail)
                snprintf(t->fail[t->nfail - 1].reason,
                         sizeof t->fail[0].reason, "more failures (no memory)");
            return NULL;
        }
        t->fail = nf;
        t->failcap = ncap;
    }
    bs_failure *f = &t->fail[t->nfail++];
    const struct bs_res *r = &t->nodes[node].res[slot];
    f->node = node;
    f->slot = slot;
    f->size = r->size;
    f->align = r->align;
    f->win_node = win_node;
    f->win = win;
    f->shortfall = shortfall;
    f->optional = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof f->reason, fmt, ap);
    va_end(ap);
    return f;
}

int bs_topo_failure_count(const bs_topo *t) { return t->nfail; }

int bs_topo_failure(const bs_topo *t, int i, bs_failure *out)
{
    if (i < 0 || i >= t->nfail)
        return BS_ENOENT;
    *out = t->fail[i];
    return BS_OK;
}

static bool holds(uint64_t wb, uint64_t ws, uint64_t b, uint64_t s)
{
    return b >= wb && bs_last(b, s) <= bs_last(wb, ws) && bs_last(b, s) >= b;
}

void bs_topo_locate(bs_topo *t)
{
    for (int i = 1; i < t->nnodes; i++) {
        const struct bs_node *p = &t->nodes[t->nodes[i].parent];
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[i].res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
                continue;
            uint32_t f = bs_slot_is_window(k) ? bs_window_flags(t, i, k) : r->flags;
            r->win = BS_WIN_NONE;
            if (t->nodes[i].parent == 0) {
                for (int w = 0; w < t->nwin && r->win == BS_WIN_NONE; w++)
                    if (!!(t->win[w].flags & BS_RF_IO) == !!(f & BS_RF_IO) &&
                        holds(t->win[w].base, t->win[w].size, r->addr, r->size))
                        r->win = w;
                continue;
            }
            int first = bs_bridge_slot_for(p, f);
            int cand[2] = {first, BS_SLOT_WIN_MEM};
            bool two = first == BS_SLOT_WIN_PREF && !(p->flags & BS_NF_VPCI);
            for (int j = 0; j < (two ? 2 : 1); j++) {
                const struct bs_res *w = &p->res[cand[j]];
                if ((w->flags & BS_RF_ASSIGNED) &&
                    holds(w->addr, w->size, r->addr, r->size)) {
                    r->win = cand[j];
                    break;
                }
            }
        }
    }
}

int bs_bus_candidates(const bs_topo *t, int b, uint32_t f, int *win,
                      uint64_t *lo, uint64_t *hi, int cap)
{
    int n = 0;
    bool io = f & BS_RF_IO;
    if (b == 0) {
        /* 64-bit items: windows above 4 GiB first; 32-bit items only the
         * part of a window below 4 GiB. */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < t->nwin && n < cap; i++) {
                const struct bs_rootwin *w = &t->win[i];
                if (!!(w->flags & BS_RF_IO) != io)
                    continue;
                if ((w->flags & BS_RF_PREF) && !(f & BS_RF_PREF))
                    continue;
                /* Above or below 4 GiB as the bus sees it. */
                uint64_t low;
                bool has_low = bs_rootwin_low(w, &low);
                bool high = !has_low || low != bs_last(w->base, w->size);
                if (!io && (f & BS_RF_MEM64) && high != (pass == 0))
                    continue;
                if ((io || !(f & BS_RF_MEM64)) && pass == 1)
                    continue;
                if (!io && !(f & BS_RF_MEM64) && !has_low)
                    continue;
                win[n] = i;
                lo[n] = w->base;
                hi[n] = (io || (f & BS_RF_MEM64)) ? bs_last(w->base, w->size)
                                                  : low;
                n++;
            }
        }
        return n;
    }
    /* Below a bridge: its window of the matching kind, then (for
     * prefetchable resources) its memory window. */
    int first = bs_bridge_slot_for(&t->nodes[b], f);
    int order[2] = {first, BS_SLOT_WIN_MEM};
    int cnt = (first == BS_SLOT_WIN_PREF && !(t->nodes[b].flags & BS_NF_VPCI))
                  ? 2 : 1;
    for (int j = 0; j < cnt && n < cap; j++) {
        const struct bs_res *w = &t->nodes[b].res[order[j]];
        if (!(w->flags & BS_RF_ASSIGNED) || !w->size)
            continue;
        win[n] = order[j];
        lo[n] = w->addr;
        hi[n] = bs_last(w->addr, w->size);
        if (!(f & BS_RF_MEM64) && !io) {
            uint64_t low = bs_low_limit(t, w->addr, f);
            if (hi[n] > low)
                hi[n] = low;
        }
        n++;
    }
    return n;
}
