/*
 * The churn engine: a running topology that takes hot-plug events
 * (docs/churn.md).  The seeded workload generator is in churn_gen.c.
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
void bs_churn_copy_name(char *dst, size_t cap, const char *src)
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
    o->fifo = 1;
    o->hp_io = 256;
    o->hp_mmio = o->hp_mmio_pref = 2 * BS_MIB;
}

uint32_t bs_churn_rflags(const bs_topo *t, int n, int k)
{
    return bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                : t->nodes[n].res[k].flags;
}

/* ---------------------------------------------------------- names */

/* Present nodes by name: the topology's index, from which removed devices
 * are taken out (their nodes wait to be reused). */
static int name_find(const bs_churn *c, const char *name)
{
    return bs_topo_find(c->t, name);
}

/* -------------------------------------------------------------- spaces */

static int grow_nodes(bs_churn *c, int need)
{
    if (need <= c->pcap)
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
    if (bs_spaces_grow(&c->sp, ncap))
        return BS_ENOMEM;
    for (int i = c->pcap; i < ncap; i++) {
        c->present[i] = 0;
        c->free_next[i] = -1;
        c->free_head[i] = -1;
    }
    c->pcap = ncap;
    return BS_OK;
}

bs_space *bs_churn_space(bs_churn *c, int bus, int win)
{
    return bs_spaces_get(&c->sp, bus, win);
}

/* (Re)create the space of a bridge window and claim what decodes in it. */
int bs_churn_open_window(bs_churn *c, int node, int slot)
{
    if (bs_spaces_open(&c->sp, node, slot))
        return BS_ENOMEM;
    bs_spaces_claim_children(&c->sp, node, slot);
    return BS_OK;
}

int bs_churn_windows(bs_churn *c, int b, uint32_t f, bs_space **s, int *win,
                     uint64_t *lo, uint64_t *hi, int cap)
{
    return bs_spaces_candidates(&c->sp, b, f, s, win, lo, hi, cap);
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
    if (c->t->platform) { /* Hyper-V: its own engine (churn_hv.c) */
        if ((rc = bs_churn_hv_init(c, err)))
            goto fail;
        *out = c;
        return BS_OK;
    }
    if (needs_assign(c->t)) {
        bs_assign_opts ao;
        bs_assign_opts_init(&ao, c->o.policy == BS_PLACE_LINUX ? BS_POLICY_LINUX
                                                               : BS_POLICY_PACK);
        rc = bs_assign(c->t, &ao, err);
        if (rc)
            goto fail;
    }
    if ((rc = bs_spaces_init(&c->sp, c->t)) ||
        (rc = grow_nodes(c, c->t->nnodes)) || (rc = bs_spaces_build(&c->sp)))
        goto fail;
    for (int n = 0; n < c->t->nnodes; n++)
        c->present[n] = 1;
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
    bs_churn_hv_free(c);
    if (c->sp.t)
        bs_spaces_fini(&c->sp);
    free(c->present);
    free(c->free_next);
    free(c->free_head);
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
    if (c->hv) {
        bs_churn_hv_frag(c, out);
        return;
    }
    memset(out, 0, sizeof *out);
    const bs_topo *t = c->t;
    /* The windows hot-added devices land in: memory windows of the root
     * and of every bridge that has devices below it directly. */
    bs_space_stats st;
    for (int i = 0; i < t->nwin; i++) {
        if (t->win[i].flags & BS_RF_IO)
            continue;
        bs_space_get_stats(bs_spaces_get(&c->sp, 0, i), &st);
        out->free_bytes += st.free_bytes;
        if (st.largest_block > out->largest_block)
            out->largest_block = st.largest_block;
    }
    for (int n = 1; n < t->nnodes; n++) {
        if (t->nodes[n].kind != BS_NODE_BRIDGE || !c->present[n])
            continue;
        for (int k = BS_SLOT_WIN_MEM; k <= BS_SLOT_WIN_PREF; k++) {
            bs_space *s = bs_spaces_get(&c->sp, n, k);
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

/* Apply a plan to the running machine: topology and allocators. */
int bs_churn_commit(bs_churn *c, const bs_plan *p)
{
    bs_topo *t = c->t;
    /* Bridge windows that change are rebuilt from scratch with their
     * children; everything else is released and claimed exactly. */
    unsigned char *dirty = calloc((size_t)t->nnodes * BS_BRIDGE_WINDOWS, 1);
    if (!dirty)
        return BS_ENOMEM;
    for (int i = 0; i < p->n; i++)
        if (bs_slot_is_window(p->it[i].slot))
            dirty[bs_win_index(p->it[i].node, p->it[i].slot)] = 1;
    for (int i = 0; i < p->n; i++) {
        const bs_plan_item *it = &p->it[i];
        int bus = t->nodes[it->node].parent;
        struct bs_res *r = &t->nodes[it->node].res[it->slot];
        if (!(r->flags & BS_RF_ASSIGNED) || !r->size || r->win < 0)
            continue;
        if (bus && dirty[bs_win_index(bus, r->win)])
            continue;
        bs_space *s = bs_churn_space(c, bus, r->win);
        if (s)
            bs_space_release(s, r->addr, r->size);
    }
    int rc = bs_plan_apply(p, t);
    for (int i = 0; i < p->n && !rc; i++) {
        const bs_plan_item *it = &p->it[i];
        int bus = t->nodes[it->node].parent;
        if (bus && dirty[bs_win_index(bus, it->new_win)])
            continue;
        bs_space *s = bs_churn_space(c, bus, it->new_win);
        if (s && bs_space_reserve(s, it->new_addr, it->new_size))
            rc = BS_ESTATE; /* the planner promised a free range */
    }
    /* Parents before children so nested windows see their new ranges. */
    for (int n = 1; n < t->nnodes && !rc; n++)
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
            if (dirty[bs_win_index(n, k)])
                rc = bs_churn_open_window(c, n, k);
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
    bs_topo_unindex(t, n);
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
        bs_res_release(c->t, it[i].node, it[i].slot);
        c->t->nodes[it[i].node].res[it[i].slot].flags |= BS_RF_FAILED;
    }
}

static void write_items(bs_churn *c, const struct bs_ritem *it, int n)
{
    for (int i = 0; i < n; i++) {
        c->t->nodes[it[i].node].res[it[i].slot].size = it[i].size;
        bs_res_assign(c->t, it[i].node, it[i].slot, it[i].addr, it[i].win);
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

/* Is bus b oversubscribed: are there devices on it that are present without
 * their BARs (their placement failed and they were not removed), and do they
 * and the subject ask for more than the free space of the bus's windows? */
static bool bus_oversubscribed(bs_churn *c, int bus, int subject,
                               const struct bs_ritem *it, int n)
{
    uint64_t want = 0, free = 0;
    bool others = false;
    for (int i = 0; i < n; i++)
        want += it[i].size;
    BS_FOR_CHILDREN(c->t, bus, ch) {
        if (ch == subject || !c->present[ch])
            continue;
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &c->t->nodes[ch].res[k];
            if (!(r->flags & BS_RF_FAILED))
                continue;
            others = true;
            if (__builtin_add_overflow(want, r->size, &want))
                return true;
        }
    }
    if (!others)
        return false;
    int nw = bus ? 3 : c->t->nwin;
    for (int w = 0; w < nw; w++) {
        bs_space *s = bs_churn_space(c, bus, bus ? BS_SLOT_WIN_IO + w : w);
        bs_space_stats st;
        bs_space_get_stats(s, &st);
        if (__builtin_add_overflow(free, st.free_bytes, &free))
            return false;
    }
    return want > free;
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
    bool alone = bus > 0;
    if (pol == BS_PLACE_LINUX && bus > 0)
        BS_FOR_CHILDREN(c->t, bus, ch)
            if (ch != subject && c->present[ch])
                alone = false;
    if (pol == BS_PLACE_LINUX && alone) {
        /* A hot-plug slot whose port holds nothing else: pciehp sizes the
         * port's closed windows, places, and re-sizes the windows that are
         * too small (pci_assign_unassigned_bridge_resources). */
        int windows, lost;
        int left = bs_place_linux_slot(c, bus, it, n, &windows, &lost);
        const char *others = lost ? "; BARs of other devices released with "
                                    "their windows" : "";
        res->windows = windows;
        if (left == 0) {
            write_items(c, it, n);
            res_set(res, BS_OUT_PLACED, "placed%s%s",
                    windows ? " (slot's bridge window assigned again)" : "",
                    others);
            return BS_OK;
        }
        /* What found a place keeps it; the rest stays unassigned. */
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (it[i].win != BS_WIN_NONE)
                write_items(c, &it[i], 1);
            else
                it[m++] = it[i];
        }
        mark_failed(c, it, m);
        res->feasible = -1;
        res_set(res, BS_OUT_FAILED, "no space in the slot's bridge window nor "
                                    "for it in its parent's%s", others);
        return BS_OK;
    }
    if (bs_place_items(c, bus, it, n, pol)) {
        write_items(c, it, n);
        res_set(res, BS_OUT_PLACED, "placed");
        return BS_OK;
    }
    bool none = false;
    bool waits = pol == BS_PLACE_BARSPACE && c->o.moves && c->o.fifo &&
                 bus_oversubscribed(c, bus, subject, it, n);
    if (pol == BS_PLACE_LINUX || !c->o.moves || waits) {
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
        res_set(res, BS_OUT_FAILED, "no space in the slot's window%s%s",
                res->feasible == 1 ? " (a plan with moves exists)" : "",
                waits ? "; bus oversubscribed by unplaced devices: no moves"
                      : "");
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
            bs_churn_copy_name(why, sizeof why, res->msg);
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
        int rc = bs_topo_rename(t, n, ev->dev);
        if (rc)
            return rc;
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
    int rc = set_bars(c, n, ev, err);
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
    bs_res_release(t, n, k);
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
        bs_res_assign(t, n, k, old, oldwin);
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
    if (c->hv)
        return bs_churn_hv_apply(c, ev, res, err);
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
    if (c->hv) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0, "no config-write plans "
                  "on Hyper-V: a vPCI bus moves by eject and re-probe "
                  "(churn --policy barspace, docs/hyperv.md)");
        return BS_EINVAL;
    }
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
    if ((rc = set_bars(c, n, ev, err)))
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
