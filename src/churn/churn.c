/*
 * The churn engine: a running topology that takes hot-plug events, and the
 * seeded generator of churn workloads (docs/churn.md).
 *
 * The engine keeps one allocator per root window and per assigned bridge
 * window, holding the ranges of what decodes directly in it, so placing a
 * hot-added BAR costs O(log n).  Removed devices keep their node (ids are
 * indices and must stay stable for plans and reports); the node is reused by
 * the next device added under the same parent.
 */
#include "churn/churn_internal.h"
#include "core/lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounded string copy for names: the generator and the event engine copy
 * names on every event, and snprintf's format machinery dominated the cost
 * of long churn runs. */
static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

void bs_churn_opts_init(bs_churn_opts *o, int policy)
{
    memset(o, 0, sizeof *o);
    o->policy = policy;
    o->moves = 1;
    o->reduce = 1;
    o->plan_budget = 20000;
    o->exact_limit = 12;
    o->cfg_write_ns = 1000;
    o->map_ps_per_byte = 7;
    o->quiesce_ns = 100000;
    o->explain = 1;
}

uint32_t bs_churn_rflags(const bs_topo *t, int n, int k)
{
    return bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                : t->nodes[n].res[k].flags;
}

/* ---------------------------------------------------------- name table */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int name_find(const bs_churn *c, const char *name)
{
    size_t m = c->hcap - 1;
    for (size_t i = hash_str(name) & m;; i = (i + 1) & m) {
        int v = c->htab[i];
        if (v == -1)
            return BS_ENOENT;
        if (v >= 0 && !strcmp(c->t->nodes[v].name, name))
            return v;
    }
}

static int name_grow(bs_churn *c);

static int name_put(bs_churn *c, int node)
{
    if ((c->hused + 1) * 2 > c->hcap && name_grow(c))
        return BS_ENOMEM;
    size_t m = c->hcap - 1;
    for (size_t i = hash_str(c->t->nodes[node].name) & m;; i = (i + 1) & m) {
        if (c->htab[i] < 0) {
            if (c->htab[i] == -1)
                c->hused++;
            c->htab[i] = node;
            return BS_OK;
        }
    }
}

static void name_del(bs_churn *c, int node)
{
    size_t m = c->hcap - 1;
    for (size_t i = hash_str(c->t->nodes[node].name) & m;; i = (i + 1) & m) {
        if (c->htab[i] == -1)
            return;
        if (c->htab[i] == node) {
            c->htab[i] = -2;
            return;
        }
    }
}

static int name_grow(bs_churn *c)
{
    size_t ncap = c->hcap ? c->hcap * 2 : 64;
    while (ncap < (size_t)c->t->nnodes * 4)
        ncap *= 2;
    int *old = c->htab;
    size_t ocap = c->hcap;
    c->htab = malloc(sizeof *c->htab * ncap);
    if (!c->htab) {
        c->htab = old;
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < ncap; i++)
        c->htab[i] = -1;
    c->hcap = ncap;
    c->hused = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i] >= 0)
            name_put(c, old[i]);
    free(old);
    return BS_OK;
}

/* -------------------------------------------------------------- spaces */

static int grow_nodes(bs_churn *c, int need)
{
    if (need <= c->pcap && need <= c->wcap)
        return BS_OK;
    int ncap = c->pcap ? c->pcap : 16;
    while (ncap < need)
        ncap *= 2;
    unsigned char *pr = realloc(c->present, (size_t)ncap);
    if (!pr)
        return BS_ENOMEM;
    c->present = pr;
    int *fn = realloc(c->free_next, sizeof *fn * (size_t)ncap);
    if (!fn)
        return BS_ENOMEM;
    c->free_next = fn;
    int *fh = realloc(c->free_head, sizeof *fh * (size_t)ncap);
    if (!fh)
        return BS_ENOMEM;
    c->free_head = fh;
    bs_space **w = realloc(c->win, sizeof *w * (size_t)ncap * 3);
    if (!w)
        return BS_ENOMEM;
    c->win = w;
    for (int i = c->pcap; i < ncap; i++) {
        c->present[i] = 0;
        c->free_next[i] = -1;
        c->free_head[i] = -1;
        c->win[i * 3] = c->win[i * 3 + 1] = c->win[i * 3 + 2] = NULL;
    }
    c->pcap = c->wcap = ncap;
    return BS_OK;
}

bs_space *bs_churn_space(bs_churn *c, int bus, int win)
{
    if (bus == 0)
        return (win >= 0 && win < c->t->nwin) ? c->root[win] : NULL;
    if (!bs_slot_is_window(win))
        return NULL;
    return c->win[bus * 3 + (win - BS_SLOT_WIN_IO)];
}

/* (Re)create the space of a bridge window and claim what decodes in it. */
int bs_churn_open_window(bs_churn *c, int node, int slot)
{
    bs_space **s = &c->win[node * 3 + (slot - BS_SLOT_WIN_IO)];
    bs_space_free(*s);
    *s = NULL;
    const struct bs_res *w = &c->t->nodes[node].res[slot];
    if (!(w->flags & BS_RF_ASSIGNED) || !w->size)
        return BS_OK;
    *s = bs_space_new();
    if (!*s || bs_space_add_window(*s, w->addr, w->size))
        return BS_ENOMEM;
    BS_FOR_CHILDREN(c->t, node, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &c->t->nodes[ch].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size && r->win == slot &&
                !(r->flags & BS_RF_UPPER))
                bs_space_reserve(*s, r->addr, r->size);
        }
    }
    return BS_OK;
}

static int build_spaces(bs_churn *c)
{
    bs_topo *t = c->t;
    c->root = calloc((size_t)t->nwin, sizeof *c->root);
    if (!c->root)
        return BS_ENOMEM;
    for (int i = 0; i < t->nwin; i++) {
        c->root[i] = bs_space_new();
        if (!c->root[i] ||
            bs_space_add_window(c->root[i], t->win[i].base, t->win[i].size))
            return BS_ENOMEM;
    }
    BS_FOR_CHILDREN(t, 0, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[ch].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size && r->win >= 0 &&
                !(r->flags & BS_RF_UPPER))
                bs_space_reserve(c->root[r->win], r->addr, r->size);
        }
    }
    for (int n = 1; n < t->nnodes; n++)
        if (t->nodes[n].kind == BS_NODE_BRIDGE)
            for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
                if (bs_churn_open_window(c, n, k))
                    return BS_ENOMEM;
    return BS_OK;
}

int bs_churn_windows(bs_churn *c, int b, uint32_t f, bs_space **s, int *win,
                     uint64_t *lo, uint64_t *hi, int cap)
{
    int n = bs_bus_candidates(c->t, b, f, win, lo, hi, cap);
    for (int i = 0; i < n; i++)
        s[i] = b == 0 ? c->root[win[i]] : bs_churn_space(c, b, win[i]);
    return n;
}

/* ------------------------------------------------------------- lifecycle */

static bool needs_assign(const bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &t->nodes[n].res[k];
            if (r->size && !(r->flags & (BS_RF_ASSIGNED | BS_RF_UPPER)))
                return true;
        }
    return false;
}

int bs_churn_new(const bs_topo *t, const bs_churn_opts *o, bs_churn **out,
                 bs_error *err)
{
    *out = NULL;
    bs_churn *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    if (o)
        c->o = *o;
    else
        bs_churn_opts_init(&c->o, BS_PLACE_BARSPACE);
    if (!c->o.plan_budget)
        c->o.plan_budget = 20000;
    c->t = bs_topo_clone(t);
    c->last = bs_plan_new();
    int rc = BS_ENOMEM;
    if (!c->t || !c->last)
        goto fail;
    if (c->t->nwin == 0) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "topology has no root window");
        rc = BS_EINVAL;
        goto fail;
    }
    if (needs_assign(c->t)) {
        bs_assign_opts ao;
        bs_assign_opts_init(&ao, c->o.policy == BS_PLACE_LINUX ? BS_POLICY_LINUX
                                                               : BS_POLICY_PACK);
        rc = bs_assign(c->t, &ao, err);
        if (rc)
            goto fail;
    }
    if ((rc = grow_nodes(c, c->t->nnodes)) || (rc = build_spaces(c)) ||
        (rc = name_grow(c)))
        goto fail;
    for (int n = 0; n < c->t->nnodes; n++) {
        c->present[n] = 1;
        if ((rc = name_put(c, n)))
            goto fail;
    }
    *out = c;
    return BS_OK;
fail:
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, NULL, 0, 0, "out of memory");
    bs_churn_free(c);
    return rc;
}

void bs_churn_free(bs_churn *c)
{
    if (!c)
        return;
    if (c->root && c->t)
        for (int i = 0; i < c->t->nwin; i++)
            bs_space_free(c->root[i]);
    if (c->win)
        for (int i = 0; i < c->wcap * 3; i++)
            bs_space_free(c->win[i]);
    free(c->root);
    free(c->win);
    free(c->present);
    free(c->free_next);
    free(c->free_head);
    free(c->htab);
    bs_plan_free(c->last);
    bs_topo_free(c->t);
    free(c);
}

const bs_topo *bs_churn_topo(const bs_churn *c) { return c->t; }

int bs_churn_present(const bs_churn *c, int node)
{
    return node >= 0 && node < c->t->nnodes && c->present[node];
}

const bs_plan *bs_churn_last_plan(const bs_churn *c)
{
    return c->last_valid ? c->last : NULL;
}

void bs_churn_frag(const bs_churn *c, bs_frag *out)
{
    memset(out, 0, sizeof *out);
    const bs_topo *t = c->t;
    /* The windows hot-added devices land in: memory windows of the root
     * and of every bridge that has devices below it directly. */
    bs_space_stats st;
    for (int i = 0; i < t->nwin; i++) {
        if (t->win[i].flags & BS_RF_IO)
            continue;
        bs_space_get_stats(c->root[i], &st);
        out->free_bytes += st.free_bytes;
        if (st.largest_block > out->largest_block)
            out->largest_block = st.largest_block;
    }
    for (int n = 1; n < t->nnodes; n++) {
        if (t->nodes[n].kind != BS_NODE_BRIDGE || !c->present[n])
            continue;
        for (int k = BS_SLOT_WIN_MEM; k <= BS_SLOT_WIN_PREF; k++) {
            bs_space *s = c->win[n * 3 + (k - BS_SLOT_WIN_IO)];
            if (!s)
                continue;
            bs_space_get_stats(s, &st);
            out->free_bytes += st.free_bytes;
            if (st.largest_block > out->largest_block)
                out->largest_block = st.largest_block;
        }
    }
    out->frag = out->free_bytes
                    ? 1.0 - (double)out->largest_block / (double)out->free_bytes
                    : 0.0;
}

/* ---------------------------------------------------------------- plans */

bs_plan *bs_plan_new(void) { return calloc(1, sizeof(bs_plan)); }

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
    if (p->n == p->cap) {
        int ncap = p->cap ? p->cap * 2 : 16;
        bs_plan_item *n = realloc(p->it, sizeof *n * (size_t)ncap);
        if (!n)
            return BS_ENOMEM;
        p->it = n;
        p->cap = ncap;
    }
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
        r->addr = it->new_addr;
        r->size = it->new_size;
        r->win = it->new_win;
        r->flags |= BS_RF_ASSIGNED;
        r->flags &= ~(uint32_t)BS_RF_FAILED;
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

/* Apply a plan to the running machine: topology and allocators. */
int bs_churn_commit(bs_churn *c, const bs_plan *p)
{
    bs_topo *t = c->t;
    /* Bridge windows that change are rebuilt from scratch with their
     * children; everything else is released and claimed exactly. */
    unsigned char *dirty = calloc((size_t)t->nnodes * 3, 1);
    if (!dirty)
        return BS_ENOMEM;
    for (int i = 0; i < p->n; i++)
        if (bs_slot_is_window(p->it[i].slot))
            dirty[p->it[i].node * 3 + (p->it[i].slot - BS_SLOT_WIN_IO)] = 1;
    for (int i = 0; i < p->n; i++) {
        const bs_plan_item *it = &p->it[i];
        int bus = t->nodes[it->node].parent;
        struct bs_res *r = &t->nodes[it->node].res[it->slot];
        if (!(r->flags & BS_RF_ASSIGNED) || !r->size || r->win < 0)
            continue;
        if (bus && dirty[bus * 3 + (r->win - BS_SLOT_WIN_IO)])
            continue;
        bs_space *s = bs_churn_space(c, bus, r->win);
        if (s)
            bs_space_release(s, r->addr, r->size);
    }
    int rc = bs_plan_apply(p, t);
    for (int i = 0; i < p->n && !rc; i++) {
        const bs_plan_item *it = &p->it[i];
        int bus = t->nodes[it->node].parent;
        if (bus && dirty[bus * 3 + (it->new_win - BS_SLOT_WIN_IO)])
            continue;
        bs_space *s = bs_churn_space(c, bus, it->new_win);
        if (s && bs_space_reserve(s, it->new_addr, it->new_size))
            rc = BS_ESTATE; /* the planner promised a free range */
    }
    /* Parents before children so nested windows see their new ranges. */
    for (int n = 1; n < t->nnodes && !rc; n++)
        for (int k = 0; k < 3; k++)
            if (dirty[n * 3 + k])
                rc = bs_churn_open_window(c, n, BS_SLOT_WIN_IO + k);
    free(dirty);
    return rc;
}

/* ------------------------------------------------------------ events */

static void res_set(bs_event_result *r, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void res_set(bs_event_result *r, int outcome, const char *fmt, ...)
{
    r->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

/* Release what a device holds in its bus's spaces. */
static void release_node(bs_churn *c, int n)
{
    bs_topo *t = c->t;
    int bus = t->nodes[n].parent;
    for (int k = 0; k < BS_NSLOTS; k++) {
        struct bs_res *r = &t->nodes[n].res[k];
        if (!(r->flags & BS_RF_ASSIGNED) || !r->size || (r->flags & BS_RF_UPPER))
            continue;
        bs_space *s = bs_churn_space(c, bus, r->win);
        if (s)
            bs_space_release(s, r->addr, r->size);
    }
}

static void remove_node(bs_churn *c, int n)
{
    bs_topo *t = c->t;
    release_node(c, n);
    name_del(c, n);
    struct bs_node *nd = &t->nodes[n];
    for (int k = 0; k < BS_NSLOTS; k++) {
        memset(&nd->res[k], 0, sizeof nd->res[k]);
        nd->res[k].win = BS_WIN_NONE;
    }
    nd->flags = 0;
    nd->num_vfs = 0;
    c->present[n] = 0;
    c->free_next[n] = c->free_head[nd->parent];
    c->free_head[nd->parent] = n;
}

/* Collect the resources of node n that need an address. */
static int node_items(const bs_churn *c, int n, struct bs_ritem *it)
{
    int m = 0;
    for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
        const struct bs_res *r = &c->t->nodes[n].res[k];
        if (!r->size || (r->flags & (BS_RF_UPPER | BS_RF_FIXED)))
            continue;
        it[m++] = (struct bs_ritem){n, k, r->size, r->align, r->flags, -1, 0,
                                    BS_WIN_NONE, 0};
    }
    return m;
}

static void mark_failed(bs_churn *c, const struct bs_ritem *it, int n)
{
    for (int i = 0; i < n; i++) {
        struct bs_res *r = &c->t->nodes[it[i].node].res[it[i].slot];
        r->flags &= ~(uint32_t)BS_RF_ASSIGNED;
        r->flags |= BS_RF_FAILED;
        r->win = BS_WIN_NONE;
    }
}

static void write_items(bs_churn *c, const struct bs_ritem *it, int n)
{
    for (int i = 0; i < n; i++) {
        struct bs_res *r = &c->t->nodes[it[i].node].res[it[i].slot];
        r->addr = it[i].addr;
        r->size = it[i].size;
        r->win = it[i].win;
        r->flags |= BS_RF_ASSIGNED;
        r->flags &= ~(uint32_t)BS_RF_FAILED;
    }
}

/* Run a plan: cost it through its steps, then commit it. */
static int run_plan(bs_churn *c, bs_plan *p, bs_event_result *res)
{
    bs_step_report rep;
    int rc = bs_plan_cost(c, p, c->t, &rep);
    if (rc && rc != BS_ESTATE)
        return rc;
    if (rc == BS_ESTATE) {
        /* Never execute a sequence the checker rejects. */
        snprintf(res->msg, sizeof res->msg, "plan rejected by step checker: %.150s",
                 rep.msg);
        return BS_ESTATE;
    }
    res->downtime_ns = rep.total_downtime_ns;
    res->worst_downtime_ns = rep.worst_downtime_ns;
    res->moves = p->moved;
    res->bytes_moved = p->bytes;
    res->windows = p->windows;
    if ((rc = bs_churn_commit(c, p)))
        return rc;
    c->last_valid = true;
    return BS_OK;
}

/* Place the items of the subject on bus `bus` following the policy. */
static int place_subject(bs_churn *c, int bus, int subject, struct bs_ritem *it,
                         int n, bs_event_result *res)
{
    if (n == 0) {
        res_set(res, BS_OUT_PLACED, "nothing to place");
        return BS_OK;
    }
    int pol = c->o.policy;
    if (bs_place_items(c, bus, it, n, pol)) {
        write_items(c, it, n);
        res_set(res, BS_OUT_PLACED, "placed");
        return BS_OK;
    }
    bool none = false;
    if (pol == BS_PLACE_LINUX && bus > 0) {
        /* Linux re-sizes the windows of a hot-plug bridge whose slot holds
         * nothing else (pci_assign_unassigned_bridge_resources); it can
         * only take space that is free. */
        bool alone = true;
        BS_FOR_CHILDREN(c->t, bus, ch)
            if (ch != subject && c->present[ch])
                alone = false;
        bs_plan_clear(c->last);
        if (alone &&
            bs_plan_grow_free(c, bus, it, n, subject, c->last) == BS_OK &&
            run_plan(c, c->last, res) == BS_OK) {
            res_set(res, BS_OUT_PLACED, "placed (empty slot's bridge window grown)");
            return BS_OK;
        }
    }
    if (pol == BS_PLACE_LINUX || !c->o.moves) {
        /* Would moving have helped?  Asked only to report it. */
        res->feasible = -1;
        if (c->o.explain) {
            bs_plan_clear(c->last);
            int prc = bs_plan_items(c, bus, it, n, subject, c->last, &none);
            res->feasible = prc == BS_OK ? 1 : none ? 0 : -1;
        }
        if (pol == BS_PLACE_BARSPACE && c->o.reduce) {
            int rn;
            uint64_t want, got;
            bs_plan_clear(c->last);
            if (bs_rebar_fit(c, bus, it, n, subject, c->last, &rn, &want,
                             &got) == BS_OK && c->last->moved == 0 &&
                run_plan(c, c->last, res) == BS_OK) {
                res->want = want;
                res->got = got;
                res->reduced_node = rn;
                res_set(res, BS_OUT_REDUCED, "%s reduced from %s to %s",
                        c->t->nodes[rn].name, bs_fmt_size(want, (char[32]){0}, 32),
                        bs_fmt_size(got, (char[32]){0}, 32));
                return BS_OK;
            }
        }
        mark_failed(c, it, n);
        res_set(res, BS_OUT_FAILED, "no space in the slot's window%s",
                res->feasible == 1 ? " (a plan with moves exists)" : "");
        return BS_OK;
    }
    bs_plan *p = c->last;
    bs_plan_clear(p);
    bool rejected = false;
    char why[sizeof res->msg] = "";
    int rc = bs_plan_items(c, bus, it, n, subject, p, &none);
    if (rc == BS_OK) {
        rc = run_plan(c, p, res);
        rejected = rc == BS_ESTATE;
        if (rejected)
            copy_name(why, sizeof why, res->msg);
        if (rc == BS_OK) {
            if (p->moved)
                res_set(res, BS_OUT_MOVED, "placed after %d move(s)%s",
                        p->moved, p->windows ? ", bridge window resized" : "");
            else
                res_set(res, BS_OUT_PLACED, "placed (bridge window grown)");
            res->feasible = 1;
            return BS_OK;
        }
        if (rc != BS_ESTATE)
            return rc;
    } else if (rc != BS_ENOSPC) {
        return rc;
    }
    res->feasible = none ? 0 : -1;
    if (c->o.reduce) {
        int rn;
        uint64_t want, got;
        bs_plan_clear(p);
        if (bs_rebar_fit(c, bus, it, n, subject, p, &rn, &want, &got) == BS_OK &&
            run_plan(c, p, res) == BS_OK) {
            res->want = want;
            res->got = got;
            res->reduced_node = rn;
            res_set(res, BS_OUT_REDUCED, "%s reduced from %s to %s%s",
                    c->t->nodes[rn].name, bs_fmt_size(want, (char[32]){0}, 32),
                    bs_fmt_size(got, (char[32]){0}, 32),
                    p->moved ? " after moves" : "");
            return BS_OK;
        }
    }
    c->last_valid = false;
    mark_failed(c, it, n);
    if (rejected)
        res_set(res, BS_OUT_FAILED, "%.190s", why);
    else
        res_set(res, BS_OUT_FAILED, "%s",
                none ? "no placement exists even moving every movable device"
                     : "no plan found");
    return BS_OK;
}

static int set_bars(bs_churn *c, int n, const bs_event *ev, bs_error *err)
{
    bs_topo *t = c->t;
    t->nodes[n].num_vfs = ev->num_vfs;
    for (int i = 0; i < ev->nbars; i++) {
        const bs_bar_spec *b = &ev->bar[i];
        int rc = bs_topo_set_bar(t, n, b->slot, b->flags, b->size, 0);
        if (rc) {
            bs_seterr(err, rc, NULL, ev->line, 0,
                      "%s: %s of %llu bytes is not valid here", ev->dev,
                      bs_slot_name(b->slot), (unsigned long long)b->size);
            return rc;
        }
        t->nodes[n].res[b->slot].rebar = b->rebar;
    }
    if (ev->pinned)
        t->nodes[n].flags |= BS_NF_PINNED;
    return BS_OK;
}

static int do_add(bs_churn *c, const bs_event *ev, int parent,
                  bs_event_result *res, bs_error *err)
{
    bs_topo *t = c->t;
    if (name_find(c, ev->dev) >= 0) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                  "device '%s' is already present", ev->dev);
        return BS_EINVAL;
    }
    int n = c->free_head[parent];
    if (n >= 0) {
        c->free_head[parent] = c->free_next[n];
        c->free_next[n] = -1;
        copy_name(t->nodes[n].name, sizeof t->nodes[n].name, ev->dev);
    } else {
        n = bs_topo_add_node(t, parent, BS_NODE_DEVICE, ev->dev);
        if (n < 0) {
            bs_seterr(err, n, NULL, ev->line, 0, "cannot add '%s': %s",
                      ev->dev, bs_strerror(n));
            return n;
        }
        int rc = grow_nodes(c, t->nnodes);
        if (rc)
            return rc;
    }
    c->present[n] = 1;
    int rc = name_put(c, n);
    if (!rc)
        rc = set_bars(c, n, ev, err);
    if (rc) {
        remove_node(c, n);
        return rc;
    }
    struct bs_ritem it[BS_NSLOTS];
    int m = node_items(c, n, it);
    return place_subject(c, parent, n, it, m, res);
}

static int find_dev(bs_churn *c, const bs_event *ev, bs_error *err)
{
    int n = name_find(c, ev->dev);
    if (n <= 0 || c->t->nodes[n].kind != BS_NODE_DEVICE) {
        bs_seterr(err, BS_ENOENT, NULL, ev->line, 0, "no device named '%s'",
                  ev->dev);
        return BS_ENOENT;
    }
    return n;
}

/* Resize slot k of device n to `size` (total bytes); Resizable BAR or VF
 * count change.  The device itself is stopped for this. */
static int do_resize(bs_churn *c, int n, int k, uint64_t size, uint64_t align,
                     bs_event_result *res)
{
    bs_topo *t = c->t;
    struct bs_res *r = &t->nodes[n].res[k];
    int bus = t->nodes[n].parent;
    if (!(r->flags & BS_RF_ASSIGNED)) {
        /* Never got an address: just try again at the new size. */
        r->size = r->want = size;
        r->align = align;
        r->flags &= ~(uint32_t)BS_RF_REDUCED;
        struct bs_ritem it = {n, k, size, align, r->flags, -1, 0, BS_WIN_NONE, 0};
        return place_subject(c, bus, n, &it, 1, res);
    }
    bs_space *s = bs_churn_space(c, bus, r->win);
    uint64_t old = r->addr, oldsz = r->size, oldal = r->align;
    int oldwin = r->win;
    r->want = size;
    if (size <= oldsz && !(old & (align - 1))) {
        /* Shrinking in place always fits. */
        if (s) {
            bs_space_release(s, old, oldsz);
            bs_space_reserve(s, old, size);
        }
        r->size = size;
        r->align = align;
        r->flags &= ~(uint32_t)BS_RF_REDUCED;
        res_set(res, BS_OUT_PLACED, "shrunk in place");
        return BS_OK;
    }
    if (s)
        bs_space_release(s, old, oldsz);
    /* Grow in place when the space behind is free and alignment holds. */
    if (s && !(old & (align - 1)) && bs_space_reserve(s, old, size) == BS_OK) {
        r->size = size;
        r->align = align;
        r->flags &= ~(uint32_t)BS_RF_REDUCED;
        res_set(res, BS_OUT_PLACED, "grown in place");
        return BS_OK;
    }
    if (t->nodes[n].flags & BS_NF_PINNED) {
        /* A pinned device may change size only where it is. */
        if (s)
            bs_space_reserve(s, old, oldsz);
        r->want = oldsz;
        res_set(res, BS_OUT_FAILED, "pinned: cannot grow in place and must "
                "not move");
        res->feasible = 0;
        return BS_OK;
    }
    /* Elsewhere: the subject moves (it is stopped anyway), perhaps others. */
    r->flags &= ~(uint32_t)BS_RF_ASSIGNED;
    r->size = size;
    r->align = align;
    struct bs_ritem it = {n, k, size, align, r->flags, -1, 0, BS_WIN_NONE, 0};
    int rc = place_subject(c, bus, n, &it, 1, res);
    if (rc)
        return rc;
    if (res->outcome == BS_OUT_FAILED) {
        /* Keep the device working at its old size. */
        r->size = oldsz;
        r->align = oldal;
        r->addr = old;
        r->win = oldwin;
        r->flags |= BS_RF_ASSIGNED;
        r->flags &= ~(uint32_t)BS_RF_FAILED;
        if (s)
            bs_space_reserve(s, old, oldsz);
        r->want = oldsz;
    }
    return BS_OK;
}

int bs_churn_apply(bs_churn *c, const bs_event *ev, bs_event_result *res,
                   bs_error *err)
{
    memset(res, 0, sizeof *res);
    res->feasible = -1;
    res->reduced_node = -1;
    c->last_valid = false;
    bs_plan_clear(c->last);
    bs_topo *t = c->t;
    switch (ev->kind) {
    case BS_EV_ADD: {
        int parent = name_find(c, ev->at);
        if (parent < 0 || t->nodes[parent].kind == BS_NODE_DEVICE) {
            bs_seterr(err, BS_ENOENT, NULL, ev->line, 0,
                      "no bridge named '%s' to add '%s' under", ev->at,
                      ev->dev);
            return BS_ENOENT;
        }
        return do_add(c, ev, parent, res, err);
    }
    case BS_EV_REMOVE: {
        int n = find_dev(c, ev, err);
        if (n < 0)
            return n;
        remove_node(c, n);
        res_set(res, BS_OUT_OK, "removed");
        return BS_OK;
    }
    case BS_EV_REPLACE: {
        int n = find_dev(c, ev, err);
        if (n < 0)
            return n;
        int parent = t->nodes[n].parent;
        remove_node(c, n);
        return do_add(c, ev, parent, res, err);
    }
    case BS_EV_RESIZE: {
        int n = find_dev(c, ev, err);
        if (n < 0)
            return n;
        int k = ev->slot;
        if (k < 0 || k >= BS_SLOT_VF0 || !t->nodes[n].res[k].size ||
            (t->nodes[n].res[k].flags & BS_RF_UPPER)) {
            bs_seterr(err, BS_EINVAL, NULL, ev->line, 0, "%s has no %s",
                      ev->dev, bs_slot_name(k));
            return BS_EINVAL;
        }
        struct bs_res *r = &t->nodes[n].res[k];
        if (!bs_is_pow2(ev->size) || ev->size < BS_MIB ||
            !(r->rebar & (ev->size >> 20))) {
            bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                      "%s %s does not support a size of %llu bytes "
                      "(no Resizable BAR capability for it)",
                      ev->dev, bs_slot_name(k), (unsigned long long)ev->size);
            return BS_EINVAL;
        }
        if (r->flags & BS_RF_FIXED) {
            bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                      "%s %s is firmware-fixed", ev->dev, bs_slot_name(k));
            return BS_EINVAL;
        }
        return do_resize(c, n, k, ev->size, ev->size, res);
    }
    case BS_EV_VFS: {
        int n = find_dev(c, ev, err);
        if (n < 0)
            return n;
        struct bs_node *nd = &t->nodes[n];
        int k0 = -1;
        for (int k = BS_SLOT_VF0; k < BS_SLOT_VF0 + 6; k++)
            if (nd->res[k].size && !(nd->res[k].flags & BS_RF_UPPER)) {
                k0 = k;
                break;
            }
        if (k0 < 0 || ev->num_vfs == 0 || ev->num_vfs > BS_MAX_VFS) {
            bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                      "%s: no SR-IOV VF BAR, or NumVFs %u outside 1..65535",
                      ev->dev, ev->num_vfs);
            return BS_EINVAL;
        }
        /* Every VF BAR scales; handled one VF BAR at a time (most PFs have
         * one), each a resize of its region. */
        unsigned old = nd->num_vfs;
        bs_event_result sub;
        int worst = BS_OUT_PLACED;
        memset(&sub, 0, sizeof sub);
        for (int k = BS_SLOT_VF0; k < BS_SLOT_VF0 + 6; k++) {
            struct bs_res *r = &nd->res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            uint64_t per = r->align;
            nd->num_vfs = ev->num_vfs;
            memset(&sub, 0, sizeof sub);
            int rc = do_resize(c, n, k, per * ev->num_vfs, per, &sub);
            if (rc)
                return rc;
            if (sub.outcome == BS_OUT_FAILED) {
                nd->num_vfs = old;
                *res = sub;
                return BS_OK;
            }
            res->moves += sub.moves;
            res->bytes_moved += sub.bytes_moved;
            res->downtime_ns += sub.downtime_ns;
            if (sub.worst_downtime_ns > res->worst_downtime_ns)
                res->worst_downtime_ns = sub.worst_downtime_ns;
            if (sub.outcome > worst)
                worst = sub.outcome;
        }
        nd->num_vfs = ev->num_vfs;
        res_set(res, worst, "NumVFs %u -> %u", old, ev->num_vfs);
        return BS_OK;
    }
    case BS_EV_PIN:
    case BS_EV_UNPIN: {
        int n = find_dev(c, ev, err);
        if (n < 0)
            return n;
        if (ev->kind == BS_EV_PIN)
            t->nodes[n].flags |= BS_NF_PINNED;
        else
            t->nodes[n].flags &= ~(uint32_t)BS_NF_PINNED;
        res_set(res, BS_OUT_OK, ev->kind == BS_EV_PIN ? "pinned" : "unpinned");
        return BS_OK;
    }
    }
    bs_seterr(err, BS_EINVAL, NULL, ev->line, 0, "unknown event kind %d",
              ev->kind);
    return BS_EINVAL;
}

int bs_churn_plan_add(bs_churn *c, const bs_event *ev, bs_plan *out,
                      bs_error *err)
{
    bs_plan_clear(out);
    if (ev->kind != BS_EV_ADD) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0, "only add events are planned");
        return BS_EINVAL;
    }
    int parent = name_find(c, ev->at);
    if (parent < 0 || c->t->nodes[parent].kind == BS_NODE_DEVICE) {
        bs_seterr(err, BS_ENOENT, NULL, ev->line, 0, "no bridge named '%s'",
                  ev->at);
        return BS_ENOENT;
    }
    if (name_find(c, ev->dev) >= 0) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                  "device '%s' is already present", ev->dev);
        return BS_EINVAL;
    }
    /* Add the node for real (plans refer to node ids), plan, then leave the
     * device present but without addresses: the caller decides. */
    bs_topo *t = c->t;
    int n = bs_topo_add_node(t, parent, BS_NODE_DEVICE, ev->dev);
    if (n < 0)
        return n;
    int rc = grow_nodes(c, t->nnodes);
    if (rc)
        return rc;
    c->present[n] = 1;
    if ((rc = name_put(c, n)) || (rc = set_bars(c, n, ev, err)))
        return rc;
    struct bs_ritem it[BS_NSLOTS];
    int m = node_items(c, n, it);
    if (c->o.policy == BS_PLACE_LINUX) {
        if (bs_place_items(c, parent, it, m, BS_PLACE_LINUX)) {
            bs_unplace_items(c, parent, it, m);
            out->subject = n;
            for (int i = 0; i < m; i++) {
                bs_plan_item pi = {BS_PLAN_NEW, n, it[i].slot, 0, 0,
                                   it[i].addr, it[i].size, it[i].win};
                if ((rc = bs_plan_push(out, &pi)))
                    return rc;
            }
            return BS_OK;
        }
        bs_seterr(err, BS_ENOSPC, NULL, 0, 0,
                  "linux: no room in the slot's window and it never moves "
                  "working devices");
        return BS_ENOSPC;
    }
    bool none = false;
    rc = bs_plan_items(c, parent, it, m, n, out, &none);
    if (rc == BS_ENOSPC && c->o.reduce) {
        int rn;
        uint64_t want, got;
        bs_plan_clear(out);
        rc = bs_rebar_fit(c, parent, it, m, n, out, &rn, &want, &got);
    }
    if (rc == BS_ENOSPC)
        bs_seterr(err, rc, NULL, 0, 0, "%s",
                  none ? "no placement exists even moving every movable device"
                       : "no plan found");
    return rc;
}

/* ============================================================ generator */

struct gdev {
    char name[BS_EV_NAME_MAX];
    int parent;        /* index into gen->parents */
    int present;
    int pinned;
    int fixed;
    int gen;           /* workload-specific: GPU generation, VF count */
};

struct bs_churn_gen {
    int kind;          /* 0 nvme, 1 gpu, 2 sriov, 3 mixed */
    uint64_t rng;
    bs_topo *t;
    struct gdev *d;
    int nd, cap;
    char parents[8][BS_EV_NAME_MAX];
    int nparents;
    uint64_t p[4];     /* parameters */
    int serial;
};

static uint64_t rnd(bs_churn_gen *g)
{
    /* splitmix64: tiny, seedable, good enough for workloads */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd_below(bs_churn_gen *g, unsigned n)
{
    return n ? (unsigned)(rnd(g) % n) : 0;
}

static int gdev_add(bs_churn_gen *g, const char *name, int parent)
{
    if (g->nd == g->cap) {
        int nc = g->cap ? g->cap * 2 : 32;
        struct gdev *d = realloc(g->d, sizeof *d * (size_t)nc);
        if (!d)
            return BS_ENOMEM;
        g->d = d;
        g->cap = nc;
    }
    struct gdev *d = &g->d[g->nd++];
    memset(d, 0, sizeof *d);
    copy_name(d->name, sizeof d->name, name);
    d->parent = parent;
    d->present = 1;
    return g->nd - 1;
}

static bool opt_u64(const char *opts, const char *key, uint64_t *v, bool *bad)
{
    size_t kl = strlen(key);
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            if (bs_lex_u64(p + kl + 1, len - kl - 1, BS_LEX_SIZE, v)) {
                *bad = true;
                return false;
            }
            return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

static bool opts_known(const char *opts, const char *const *keys)
{
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        const char *eq = strchr(p, '=');
        if (!eq || (e && eq > e))
            return false;
        bool ok = false;
        for (int i = 0; keys[i]; i++)
            if ((size_t)(eq - p) == strlen(keys[i]) &&
                !strncmp(p, keys[i], (size_t)(eq - p)))
                ok = true;
        if (!ok)
            return false;
        p = e ? e + 1 : NULL;
    }
    return true;
}

/* nvme: the seed thread.  Controllers on the host bus, one memory window. */
static int gen_nvme(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t count = 25, window = 4 * BS_MIB;
    opt_u64(opts, "count", &count, bad);
    opt_u64(opts, "window", &window, bad);
    if (count < 2 || count > 4096 || window < BS_MIB || window % BS_MIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = count;
    g->t = bs_topo_new("nvme-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, window);
    snprintf(g->parents[0], BS_EV_NAME_MAX, "host");
    g->nparents = 1;
    for (uint64_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "nvme%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, name);
        if (n < 0 || bs_topo_set_bar(g->t, n, 0, BS_RF_MEM64, 64 * 1024, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        if (i == 0) {
            g->t->nodes[n].flags |= BS_NF_PINNED; /* the boot disk */
            g->d[d].pinned = 1;
        }
    }
    g->serial = (int)count;
    return BS_OK;
}

/* gpu: GPUs behind hot-plug root ports, replaced by generations with
 * bigger Resizable BARs. */
static int gen_gpu(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t gpus = 8, window = 384 * BS_GIB;
    opt_u64(opts, "gpus", &gpus, bad);
    opt_u64(opts, "window", &window, bad);
    if (gpus < 1 || gpus > 8 || window < 64 * BS_GIB || window % BS_GIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = gpus;
    g->t = bs_topo_new("gpu-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, 0x30000000);
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(1) << 40, window);
    g->nparents = (int)gpus;
    for (uint64_t i = 0; i < gpus; i++) {
        char rp[32], name[32];
        snprintf(rp, sizeof rp, "rp%llu", (unsigned long long)i);
        snprintf(name, sizeof name, "gpu%llu", (unsigned long long)i);
        int b = bs_topo_add_node(g->t, 0, BS_NODE_BRIDGE, rp);
        if (b < 0)
            return BS_ENOMEM;
        g->t->nodes[b].flags |= BS_NF_HOTPLUG;
        copy_name(g->parents[i], BS_EV_NAME_MAX, rp);
        int n = bs_topo_add_node(g->t, b, BS_NODE_DEVICE, name);
        if (n < 0 || bs_topo_set_bar(g->t, n, 0, 0, 16 * BS_MIB, 0) ||
            bs_topo_set_bar(g->t, n, 1, BS_RF_MEM64 | BS_RF_PREF, 16 * BS_GIB, 0) ||
            bs_topo_set_bar(g->t, n, 3, BS_RF_MEM64 | BS_RF_PREF, 32 * BS_MIB, 0))
            return BS_ENOMEM;
        g->t->nodes[n].res[1].rebar = UINT64_C(0x1ff00); /* 256M..64G */
        int d = gdev_add(g, name, (int)i);
        if (d < 0)
            return d;
        g->d[d].gen = 0;
    }
    g->serial = (int)gpus;
    return BS_OK;
}

/* sriov: PFs on the host bus whose NumVFs change. */
static int gen_sriov(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t pfs = 8, window = 32 * BS_MIB;
    opt_u64(opts, "pfs", &pfs, bad);
    opt_u64(opts, "window", &window, bad);
    if (pfs < 1 || pfs > 1024 || window < 4 * BS_MIB || window % BS_MIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = pfs;
    g->t = bs_topo_new("sriov-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(0x8000000000), window);
    snprintf(g->parents[0], BS_EV_NAME_MAX, "host");
    g->nparents = 1;
    for (uint64_t i = 0; i < pfs; i++) {
        char name[32];
        snprintf(name, sizeof name, "nic%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, name);
        if (n < 0)
            return BS_ENOMEM;
        g->t->nodes[n].num_vfs = 8;
        if (bs_topo_set_bar(g->t, n, 0, BS_RF_MEM64 | BS_RF_PREF, BS_MIB, 0) ||
            bs_topo_set_bar(g->t, n, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF,
                            64 * 1024, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        g->d[d].gen = 8;
    }
    g->serial = (int)pfs;
    return BS_OK;
}

/* mixed: a hot-plug root port with many devices of mixed sizes behind it,
 * pinned p2p targets and one firmware-fixed device on the host bus. */
static int gen_mixed(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t devices = 24;
    opt_u64(opts, "devices", &devices, bad);
    if (devices < 2 || devices > 200)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = devices;
    g->t = bs_topo_new("mixed-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, 0x10000000);
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(0x1000000000), 4 * BS_GIB);
    int fx = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, "fw0");
    if (fx < 0 || bs_topo_set_bar(g->t, fx, 0, BS_RF_FIXED, BS_MIB, 0xc8000000))
        return BS_ENOMEM;
    int rp = bs_topo_add_node(g->t, 0, BS_NODE_BRIDGE, "rp0");
    if (rp < 0)
        return BS_ENOMEM;
    g->t->nodes[rp].flags |= BS_NF_HOTPLUG;
    snprintf(g->parents[0], BS_EV_NAME_MAX, "rp0");
    g->nparents = 1;
    for (uint64_t i = 0; i < devices; i++) {
        char name[32];
        snprintf(name, sizeof name, "dev%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, rp, BS_NODE_DEVICE, name);
        if (n < 0)
            return BS_ENOMEM;
        uint64_t sz = UINT64_C(4096) << rnd_below(g, 11); /* 4K..4M */
        bool pref = rnd_below(g, 2);
        if (bs_topo_set_bar(g->t, n, 0,
                            pref ? BS_RF_MEM64 | BS_RF_PREF : 0, sz, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        if (i % 8 == 3) {
            g->t->nodes[n].flags |= BS_NF_PINNED;
            g->d[d].pinned = 1;
        }
    }
    g->serial = (int)devices;
    return BS_OK;
}

int bs_churn_gen_new(const char *spec, uint64_t seed, bs_churn_gen **out,
                     bs_error *err)
{
    *out = NULL;
    bs_churn_gen *g = calloc(1, sizeof *g);
    if (!g)
        return BS_ENOMEM;
    g->rng = seed * 0x2545f4914f6cdd1dull + 1;
    char name[32];
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *opts = colon ? colon + 1 : "";
    bool bad = nl >= sizeof name;
    if (!bad) {
        memcpy(name, spec, nl);
        name[nl] = 0;
    }
    static const char *const k_nvme[] = {"count", "window", NULL};
    static const char *const k_gpu[] = {"gpus", "window", NULL};
    static const char *const k_sriov[] = {"pfs", "window", NULL};
    static const char *const k_mixed[] = {"devices", NULL};
    int rc = BS_EINVAL;
    if (bad) {
    } else if (!strcmp(name, "nvme")) {
        g->kind = 0;
        bad = !opts_known(opts, k_nvme);
        rc = bad ? BS_EINVAL : gen_nvme(g, opts, &bad);
    } else if (!strcmp(name, "gpu")) {
        g->kind = 1;
        bad = !opts_known(opts, k_gpu);
        rc = bad ? BS_EINVAL : gen_gpu(g, opts, &bad);
    } else if (!strcmp(name, "sriov")) {
        g->kind = 2;
        bad = !opts_known(opts, k_sriov);
        rc = bad ? BS_EINVAL : gen_sriov(g, opts, &bad);
    } else if (!strcmp(name, "mixed")) {
        g->kind = 3;
        bad = !opts_known(opts, k_mixed);
        rc = bad ? BS_EINVAL : gen_mixed(g, opts, &bad);
    } else {
        bad = true;
    }
    if (rc) {
        if (bad || rc == BS_EINVAL)
            bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                      "bad workload '%s': expected nvme[:count=2..4096,"
                      "window=SIZE (1M steps)], gpu[:gpus=1..8,window=SIZE "
                      "(64G or more, 1G steps)], sriov[:pfs=1..1024,"
                      "window=SIZE (4M or more, 1M steps)] or "
                      "mixed[:devices=2..200]", spec);
        else
            bs_seterr(err, rc, NULL, 0, 0, "out of memory");
        bs_churn_gen_free(g);
        return bad ? BS_EINVAL : rc;
    }
    *out = g;
    return BS_OK;
}

void bs_churn_gen_free(bs_churn_gen *g)
{
    if (!g)
        return;
    bs_topo_free(g->t);
    free(g->d);
    free(g);
}

const bs_topo *bs_churn_gen_topo(const bs_churn_gen *g) { return g->t; }

static int pick(bs_churn_gen *g, int want_present, bool allow_pinned)
{
    int cnt = 0;
    for (int i = 0; i < g->nd; i++)
        if (g->d[i].present == want_present && !g->d[i].fixed &&
            (allow_pinned || !g->d[i].pinned))
            cnt++;
    if (!cnt)
        return -1;
    int k = (int)rnd_below(g, (unsigned)cnt);
    for (int i = 0; i < g->nd; i++)
        if (g->d[i].present == want_present && !g->d[i].fixed &&
            (allow_pinned || !g->d[i].pinned) && k-- == 0)
            return i;
    return -1;
}

static int present_count(const bs_churn_gen *g)
{
    int n = 0;
    for (int i = 0; i < g->nd; i++)
        n += g->d[i].present;
    return n;
}

static void ev_bar(bs_event *ev, int slot, unsigned flags, uint64_t size,
                   uint64_t rebar)
{
    bs_bar_spec *b = &ev->bar[ev->nbars++];
    b->slot = slot;
    b->flags = flags;
    b->size = size;
    b->rebar = rebar;
}

/* BARs of a new device of the workload. */
static void new_bars(bs_churn_gen *g, bs_event *ev, struct gdev *d)
{
    switch (g->kind) {
    case 0: {
        /* Replacement controllers: the same model, one with a controller
         * memory buffer, or a bigger one. */
        unsigned r = rnd_below(g, 100);
        uint64_t sz = r < 35 ? 64 * 1024 : r < 80 ? 128 * 1024 : 256 * 1024;
        ev_bar(ev, 0, BS_RF_MEM64, sz, 0);
        break;
    }
    case 1: {
        unsigned r = rnd_below(g, 100);
        if (r < 20)
            d->gen = 0;
        else if (r < 70 && d->gen < 2)
            d->gen++;
        ev_bar(ev, 0, 0, 16 * BS_MIB, 0);
        ev_bar(ev, 1, BS_RF_MEM64 | BS_RF_PREF, (16 * BS_GIB) << d->gen,
               UINT64_C(0x1ff00));
        ev_bar(ev, 3, BS_RF_MEM64 | BS_RF_PREF, 32 * BS_MIB, 0);
        break;
    }
    case 2:
        d->gen = 1 + (int)rnd_below(g, 32);
        ev->num_vfs = (unsigned)d->gen;
        ev_bar(ev, 0, BS_RF_MEM64 | BS_RF_PREF, BS_MIB, 0);
        ev_bar(ev, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF, 64 * 1024, 0);
        break;
    default: {
        uint64_t sz = UINT64_C(4096) << rnd_below(g, 11);
        bool pref = rnd_below(g, 2);
        ev_bar(ev, 0, pref ? BS_RF_MEM64 | BS_RF_PREF : 0, sz,
               sz >= BS_MIB ? (UINT64_C(1) << (63 - __builtin_clzll(sz >> 20) + 1)) - 1
                            : 0);
        if (rnd_below(g, 4) == 0)
            ev_bar(ev, 2, 0, UINT64_C(4096) << rnd_below(g, 4), 0);
        break;
    }
    }
}

int bs_churn_gen_next(bs_churn_gen *g, bs_event *ev)
{
    memset(ev, 0, sizeof *ev);
    int np = present_count(g);
    unsigned r = rnd_below(g, 100);
    int lo = (int)(g->p[0] * 4 / 5);
    if (lo < 1)
        lo = 1;
    /* Workload-specific event mixes. */
    if (g->kind == 2 && r < 70) {
        int i = pick(g, 1, true);
        if (i >= 0) {
            ev->kind = BS_EV_VFS;
            copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            g->d[i].gen = 1 + (int)rnd_below(g, 63);
            ev->num_vfs = (unsigned)g->d[i].gen;
            return BS_OK;
        }
    }
    if (g->kind == 1 && r < 20) {
        int i = pick(g, 1, true);
        if (i >= 0) {
            ev->kind = BS_EV_RESIZE;
            copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            ev->slot = 1;
            ev->size = (4 * BS_GIB) << rnd_below(g, 5); /* 4G..64G */
            return BS_OK;
        }
    }
    if (r >= 90) {
        /* pin / unpin: p2p DMA sessions come and go. */
        int pinned = 0;
        for (int i = 0; i < g->nd; i++)
            pinned += g->d[i].present && g->d[i].pinned;
        int i = pick(g, 1, true);
        if (i >= 0 && i != 0) {
            if (g->d[i].pinned) {
                ev->kind = BS_EV_UNPIN;
                g->d[i].pinned = 0;
            } else if (pinned < 4) {
                ev->kind = BS_EV_PIN;
                g->d[i].pinned = 1;
            }
            if (ev->kind) {
                copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
                return BS_OK;
            }
        }
    }
    if (r < 15 && np > lo) {
        int i = pick(g, 1, false);
        if (i > 0 || (i == 0 && g->kind != 0)) {
            ev->kind = BS_EV_REMOVE;
            copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            g->d[i].present = 0;
            return BS_OK;
        }
    }
    if (r < 35 && np < (int)g->p[0]) {
        /* Hot-add into a free slot: a new device with a new name. */
        int i = pick(g, 0, true);
        if (i >= 0) {
            int par = g->d[i].parent;
            char name[BS_EV_NAME_MAX];
            snprintf(name, sizeof name, "%.20s-%d",
                     g->kind == 0 ? "nvme" : g->kind == 1 ? "gpu"
                     : g->kind == 2 ? "nic" : "dev", g->serial++);
            copy_name(g->d[i].name, sizeof g->d[i].name, name);
            g->d[i].present = 1;
            g->d[i].pinned = 0;
            ev->kind = BS_EV_ADD;
            copy_name(ev->dev, sizeof ev->dev, name);
            copy_name(ev->at, sizeof ev->at, g->parents[par]);
            new_bars(g, ev, &g->d[i]);
            return BS_OK;
        }
    }
    /* Default: a device fails and is replaced in its slot. */
    int i = pick(g, 1, true);
    if (i == 0 && g->kind == 0)
        i = pick(g, 1, false);
    if (i < 0 || (i == 0 && g->kind == 0)) {
        ev->kind = BS_EV_PIN;
        copy_name(ev->dev, sizeof ev->dev, g->d[0].name);
        return BS_OK;
    }
    ev->kind = BS_EV_REPLACE;
    copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
    g->d[i].pinned = 0;
    new_bars(g, ev, &g->d[i]);
    return BS_OK;
}
