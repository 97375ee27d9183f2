/*
 * Churn on Hyper-V (docs/hyperv.md): a hot-added function arrives on a vPCI
 * bus of its own, which takes a config window, a low and a high range from
 * VMBus's gaps; removing it gives all three back.
 *
 * Policies:
 *   linux     what the guest does: vmbus_allocate_mmio's first fit, nothing
 *             moves (a failed add is the guest's "Need ... MMIO space");
 *   barspace  buddy best fit for each range (bs_best_fit), then, when a
 *             range still does not fit, relocation: a set of other buses is
 *             released and probed again elsewhere.  On Hyper-V a bus cannot
 *             move while bound: the guest ejects it (driver unbound, device
 *             gone), VMBus frees its ranges, and the bus is probed again
 *             (ranges allocated, BARs written by prepopulate_bars, driver
 *             bound).  Every moved bus costs its device a driver quiesce and
 *             rebind plus the host's unmap and map of its BARs.
 *
 * Removed devices keep their nodes (and their vPCI bus nodes) for reuse,
 * renamed "~ID" so that names stay unique.
 */
#include "churn/churn_internal.h"
#include "hyperv/hyperv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bs_hvc {
    struct bs_vmbus vb;
};

/* One range of a bus, as placed or to be placed. */
struct hv_rng {
    int bus, req;
    uint64_t size, align, addr, old;
    int win;
};

static void say(bs_event_result *r, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(bs_event_result *r, int outcome, const char *fmt, ...)
{
    r->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

static int grow_present(bs_churn *c)
{
    if (c->t->nnodes <= c->pcap)
        return BS_OK;
    int ncap = c->pcap ? c->pcap : 16;
    while (ncap < c->t->nnodes)
        ncap *= 2;
    unsigned char *p = realloc(c->present, (size_t)ncap);
    if (!p)
        return BS_ENOMEM;
    memset(p + c->pcap, 0, (size_t)(ncap - c->pcap));
    c->present = p;
    c->pcap = ncap;
    return BS_OK;
}

int bs_churn_hv_init(bs_churn *c, bs_error *err)
{
    bs_topo *t = c->t;
    bool fresh = false;
    for (int b = 1; b < t->nnodes && !fresh; b++)
        fresh = (t->nodes[b].flags & BS_NF_VPCI) &&
                !(t->nodes[b].res[BS_SLOT_BAR0].flags & BS_RF_ASSIGNED);
    int rc = fresh ? bs_assign(t, NULL, err) : BS_OK;
    if (rc)
        return rc;
    if (!(c->hv = calloc(1, sizeof *c->hv)))
        return BS_ENOMEM;
    if ((rc = bs_vmbus_init(&c->hv->vb, t)) ||
        (rc = bs_vmbus_claim_topo(&c->hv->vb, t)) || (rc = grow_present(c))) {
        if (rc != BS_ENOMEM)
            bs_seterr(err, rc, NULL, 0, 0, "assigned vPCI ranges overlap");
        return rc;
    }
    for (int n = 0; n < t->nnodes; n++)
        c->present[n] = 1;
    return BS_OK;
}

void bs_churn_hv_free(bs_churn *c)
{
    if (!c->hv)
        return;
    bs_vmbus_fini(&c->hv->vb);
    free(c->hv);
    c->hv = NULL;
}

/* Fragmentation of the high gaps, where 64-bit BARs (every NVMe, GPU and
 * NIC of the workloads) go; the low gap is dominated by its size. */
void bs_churn_hv_frag(const bs_churn *c, bs_frag *out)
{
    const struct bs_vmbus *v = &c->hv->vb;
    const bs_topo *t = c->t;
    uint64_t total = 0, used = 0, largest = 0;
    for (int i = 0; i < v->n; i++) {
        if (v->base[i] < BS_4G)
            continue;
        total += v->last[i] - v->base[i] + 1;
        uint64_t l = bs_space_largest_block(v->sp, v->base[i], v->last[i]);
        largest = l > largest ? l : largest;
    }
    for (int b = 1; b < t->nnodes; b++) {
        const struct bs_res *r = &t->nodes[b].res[BS_SLOT_WIN_PREF];
        if ((t->nodes[b].flags & BS_NF_VPCI) && (r->flags & BS_RF_ASSIGNED))
            used += r->size;
    }
    out->free_bytes = total - used;
    out->largest_block = largest;
    out->frag = out->free_bytes ? 1.0 - (double)largest / (double)out->free_bytes
                                : 0.0;
}

/* ---- buses and their ranges ---- */

static int find_present(const bs_churn *c, const char *name, int kind)
{
    for (int n = 1; n < c->t->nnodes; n++)
        if (c->present[n] && c->t->nodes[n].kind == kind &&
            !strcmp(c->t->nodes[n].name, name))
            return n;
    return BS_ENOENT;
}

/* The ranges bus b holds now. */
static int held(const bs_churn *c, int b, struct hv_rng *r)
{
    int m = 0;
    for (int q = 0; q < BS_HV_NREQ; q++) {
        const struct bs_res *x = &c->t->nodes[b].res[bs_hv_req_slot[q]];
        if (!(x->flags & BS_RF_ASSIGNED) || !x->size)
            continue;
        r[m] = (struct hv_rng){b, q, x->size, x->align, x->addr, x->addr,
                               x->win};
        m++;
    }
    return m;
}

static bool bus_pinned(const bs_topo *t, int b)
{
    if (t->nodes[b].flags & BS_NF_PINNED)
        return true;
    BS_FOR_CHILDREN(t, b, d)
        if (t->nodes[d].flags & BS_NF_PINNED)
            return true;
    return false;
}

/* Allocate one range under the policy: first fit (the guest's) or best fit
 * over the qualifying gaps in order. */
static bool alloc_one(struct bs_vmbus *v, int policy, struct hv_rng *r)
{
    if (policy == BS_PLACE_LINUX)
        return bs_vmbus_alloc(v, r->req, r->size, r->align, &r->addr,
                              &r->win) == BS_OK;
    for (int i = 0; i < v->n; i++) {
        uint64_t a;
        if (!bs_vmbus_range_ok(v, i, r->req) ||
            !bs_best_fit(v->sp, r->size, r->align, v->base[i], v->last[i],
                         &a) ||
            bs_space_reserve(v->sp, a, r->size) != BS_OK)
            continue;
        r->addr = a;
        r->win = v->win[i];
        return true;
    }
    return false;
}

static void write_bus(bs_topo *t, int b, const struct hv_rng *r, int m)
{
    for (int i = 0; i < m; i++)
        if (r[i].bus == b)
            bs_hv_set_range(t, b, r[i].req, r[i].addr, r[i].size, r[i].align,
                            r[i].win);
    bs_hv_layout(t, b);
}

static void release(struct bs_vmbus *v, const struct hv_rng *r, int m,
                    bool old)
{
    for (int i = 0; i < m; i++)
        bs_space_release(v->sp, old ? r[i].old : r[i].addr, r[i].size);
}

static int cmp_rng(const void *a, const void *b)
{
    const struct hv_rng *x = a, *y = b;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->bus != y->bus ? x->bus - y->bus : x->req - y->req;
}

/* ---- relocation ---- */

#define HV_MAX_MOVERS 64
#define HV_CANDIDATES 64
#define HV_POSITIONS (1 << 16)

struct cand {
    int n;
    uint64_t bytes;
    uint64_t pos;
    int bus[HV_MAX_MOVERS];
};

static uint64_t bus_bytes(const bs_topo *t, int b)
{
    uint64_t s = 0;
    BS_FOR_CHILDREN(t, b, d)
        for (int k = BS_SLOT_BAR0; k < BS_SLOT_ROM; k++)
            if (!(t->nodes[d].res[k].flags & BS_RF_UPPER))
                s += t->nodes[d].res[k].size;
    return s;
}

/* Which present buses overlap [p, p+size)?  False when something that
 * cannot move does (a pinned bus, the framebuffer, or too many). */
static bool blockers(const bs_churn *c, int subject, uint64_t p, uint64_t size,
                     struct cand *k)
{
    const bs_topo *t = c->t;
    const struct bs_vmbus *v = &c->hv->vb;
    uint64_t l = bs_last(p, size);
    if (v->fb_size && p <= bs_last(v->fb_base, v->fb_size) && v->fb_base <= l)
        return false;
    k->n = 0;
    k->bytes = 0;
    k->pos = p;
    for (int b = 1; b < t->nnodes; b++) {
        if (b == subject || !c->present[b] || !(t->nodes[b].flags & BS_NF_VPCI))
            continue;
        bool hit = false;
        for (int q = 0; q < BS_HV_NREQ && !hit; q++) {
            const struct bs_res *x = &t->nodes[b].res[bs_hv_req_slot[q]];
            hit = (x->flags & BS_RF_ASSIGNED) && x->size && x->addr <= l &&
                  p <= bs_last(x->addr, x->size);
        }
        if (!hit)
            continue;
        if (bus_pinned(t, b) || k->n == HV_MAX_MOVERS)
            return false;
        k->bus[k->n++] = b;
        k->bytes += bus_bytes(t, b);
    }
    return true;
}

static bool cand_less(const struct cand *a, const struct cand *b)
{
    return a->n != b->n ? a->n < b->n : a->bytes < b->bytes;
}

/* Release the movers, put range `fq` of the subject at k->pos, then place
 * the subject's other ranges and the movers' ranges, largest first, by
 * first fit.  On success the space holds the new layout and r[0..*m) the
 * new addresses; on failure everything is as before. */
static bool try_cand(bs_churn *c, const struct cand *k, struct hv_rng *sub,
                     int nsub, int fq, struct hv_rng *r, int *m)
{
    struct bs_vmbus *v = &c->hv->vb;
    int n = 0;
    for (int i = 0; i < k->n; i++)
        n += held(c, k->bus[i], r + n);
    release(v, r, n, true);
    int placed = 0;
    bool ok = bs_space_reserve(v->sp, k->pos, sub[fq].size) == BS_OK;
    if (ok) {
        sub[fq].addr = k->pos;
        sub[fq].win = bs_vmbus_window_of(v, k->pos);
        for (int i = 0; i < nsub; i++)
            if (i != fq)
                r[n + placed++] = sub[i];
        int total = n + placed;
        qsort(r, (size_t)total, sizeof *r, cmp_rng);
        for (placed = 0; placed < total && ok; placed++)
            ok = alloc_one(v, BS_PLACE_LINUX, &r[placed]);
        if (!ok)
            placed--;
        if (ok) {
            r[total] = sub[fq];
            *m = total + 1;
            return true;
        }
        release(v, r, placed, false);
        bs_space_release(v->sp, k->pos, sub[fq].size);
        /* Restore the movers' ranges from their recorded old addresses. */
        n = 0;
        for (int i = 0; i < k->n; i++)
            n += held(c, k->bus[i], r + n);
    }
    for (int i = 0; i < n; i++)
        bs_space_reserve(v->sp, r[i].old, r[i].size);
    return false;
}

/* Cheapest relocation that makes room for the subject's range fq: every
 * aligned position of that range in a qualifying gap names the buses that
 * would have to move; the cheapest sets are tried first. */
static bool relocate(bs_churn *c, int subject, struct hv_rng *sub, int nsub,
                     int fq, struct hv_rng *r, int *m, struct cand *best)
{
    struct bs_vmbus *v = &c->hv->vb;
    struct cand *cs = malloc(sizeof *cs * HV_CANDIDATES);
    struct cand *k = malloc(sizeof *k);
    if (!cs || !k) {
        free(cs);
        free(k);
        return false;
    }
    int nc = 0, seen = 0;
    uint64_t size = sub[fq].size, align = sub[fq].align;
    for (int i = 0; i < v->n && seen < HV_POSITIONS; i++) {
        if (!bs_vmbus_range_ok(v, i, sub[fq].req))
            continue;
        for (uint64_t p = bs_align_up(v->base[i], align);
             p >= v->base[i] && bs_last(p, size) <= v->last[i] &&
             seen < HV_POSITIONS;
             p += align, seen++) {
            if (!blockers(c, subject, p, size, k) || k->n == 0)
                continue;
            /* Keep the HV_CANDIDATES cheapest, sorted. */
            int at = nc < HV_CANDIDATES ? nc : HV_CANDIDATES - 1;
            if (nc == HV_CANDIDATES && !cand_less(k, &cs[at]))
                continue;
            while (at > 0 && cand_less(k, &cs[at - 1])) {
                cs[at] = cs[at - 1];
                at--;
            }
            cs[at] = *k;
            if (nc < HV_CANDIDATES)
                nc++;
        }
    }
    bool ok = false;
    for (int i = 0; i < nc && !ok; i++)
        if ((ok = try_cand(c, &cs[i], sub, nsub, fq, r, m)))
            *best = cs[i];
    free(cs);
    free(k);
    return ok;
}

/* ---- events ---- */

static int set_bars(bs_churn *c, int d, const bs_event *ev, bs_error *err)
{
    bs_topo *t = c->t;
    for (int k = 0; k < BS_NSLOTS; k++) {
        memset(&t->nodes[d].res[k], 0, sizeof t->nodes[d].res[k]);
        t->nodes[d].res[k].win = BS_WIN_NONE;
    }
    t->nodes[d].flags = ev->pinned ? BS_NF_PINNED : 0;
    if (ev->num_vfs) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0, "%s: on Hyper-V each VF "
                  "arrives as a function of its own (no vfs=)", ev->dev);
        return BS_EINVAL;
    }
    for (int i = 0; i < ev->nbars; i++) {
        const bs_bar_spec *b = &ev->bar[i];
        int rc = BS_EINVAL;
        if (b->slot < BS_SLOT_ROM && !(b->flags & BS_RF_IO))
            rc = bs_topo_set_bar(t, d, b->slot, b->flags, b->size, 0);
        if (rc) {
            bs_seterr(err, rc, NULL, ev->line, 0,
                      "%s: %s is not valid on a vPCI bus (memory BARs 0-5 "
                      "only)", ev->dev, bs_slot_name(b->slot));
            return rc;
        }
    }
    return BS_OK;
}

/* A bus node and a device node for a new function: recycled or new. */
static int new_pair(bs_churn *c, const char *dev, int *bus, int *d)
{
    bs_topo *t = c->t;
    *bus = -1;
    for (int b = 1; b < t->nnodes && *bus < 0; b++)
        if (!c->present[b] && (t->nodes[b].flags & BS_NF_VPCI))
            *bus = b;
    char name[BS_NAME_MAX];
    if (*bus < 0) {
        snprintf(name, sizeof name, "~%d", t->nnodes);
        int b = bs_hv_add_bus(t, name, 0);
        if (b < 0)
            return b;
        int n = bs_topo_add_node(t, b, BS_NODE_DEVICE, dev);
        if (n < 0)
            return n;
        int rc = grow_present(c);
        if (rc)
            return rc;
        *bus = b;
    }
    *d = t->nodes[*bus].first_child;
    /* The lowest domain not in use by a present bus. */
    int dom = 1;
    for (bool used = true; used; dom += used) {
        used = false;
        for (int b = 1; b < t->nnodes && !used; b++)
            used = c->present[b] && (t->nodes[b].flags & BS_NF_VPCI) &&
                   t->nodes[b].domain == dom;
    }
    t->nodes[*bus].domain = dom;
    snprintf(t->nodes[*bus].name, BS_NAME_MAX, "vpci%04x", dom);
    snprintf(t->nodes[*d].name, BS_NAME_MAX, "%s", dev);
    c->present[*bus] = c->present[*d] = 1;
    return BS_OK;
}

static void drop_pair(bs_churn *c, int bus)
{
    bs_topo *t = c->t;
    struct hv_rng r[BS_HV_NREQ];
    int m = held(c, bus, r);
    release(&c->hv->vb, r, m, true);
    bs_hv_unplace(t, bus);
    c->present[bus] = 0;
    snprintf(t->nodes[bus].name, BS_NAME_MAX, "~%d", bus);
    t->nodes[bus].flags &= ~(uint32_t)BS_NF_PINNED;
    BS_FOR_CHILDREN(t, bus, d) {
        c->present[d] = 0;
        snprintf(t->nodes[d].name, BS_NAME_MAX, "~%d", d);
        for (int k = 0; k < BS_NSLOTS; k++)
            t->nodes[d].res[k].flags &= ~(uint32_t)BS_RF_FAILED;
    }
}

static uint64_t move_cost(const bs_churn_opts *o, const bs_topo *t, int b,
                          uint64_t *bytes)
{
    *bytes = bus_bytes(t, b);
    int writes = 2; /* command register off and on */
    BS_FOR_CHILDREN(t, b, d)
        for (int k = BS_SLOT_BAR0; k < BS_SLOT_ROM; k++)
            writes += t->nodes[d].res[k].size ? 1 : 0; /* low dword, upper */
    return o->quiesce_ns + (uint64_t)writes * o->cfg_write_ns +
           2 * (*bytes) * o->map_ps_per_byte / 1000;
}

static int place_bus(bs_churn *c, int bus, bs_event_result *res)
{
    bs_topo *t = c->t;
    struct bs_vmbus *v = &c->hv->vb;
    struct hv_rng sub[BS_HV_NREQ];
    uint64_t size[BS_HV_NREQ], align[BS_HV_NREQ];
    bs_hv_requests(t, bus, size, align);
    int nsub = 0, fq = -1;
    for (int q = 0; q < BS_HV_NREQ; q++)
        if (size[q])
            sub[nsub++] = (struct hv_rng){bus, q, size[q], align[q], 0, 0, -1};
    int got = 0;
    while (got < nsub && alloc_one(v, c->o.policy, &sub[got]))
        got++;
    if (got == nsub) {
        write_bus(t, bus, sub, nsub);
        say(res, BS_OUT_PLACED, "domain %04x: placed", t->nodes[bus].domain);
        return BS_OK;
    }
    fq = got;
    release(v, sub, got, false);
    bool may_move = c->o.policy == BS_PLACE_BARSPACE && c->o.moves;
    struct hv_rng *r = malloc(sizeof *r * (HV_MAX_MOVERS * BS_HV_NREQ + 4));
    struct cand best;
    int m = 0;
    bool found = r && (may_move || c->o.explain) &&
                 relocate(c, bus, sub, nsub, fq, r, &m, &best);
    res->want = size[sub[fq].req];
    if (found && !may_move) { /* explain only: take it back */
        release(v, r, m, false);
        for (int i = 0; i < m; i++)
            if (r[i].bus != bus)
                bs_space_reserve(v->sp, r[i].old, r[i].size);
    }
    if (found && may_move) {
        for (int i = 0; i < best.n; i++) {
            write_bus(t, best.bus[i], r, m);
            uint64_t bytes, ns = move_cost(&c->o, t, best.bus[i], &bytes);
            res->bytes_moved += bytes;
            res->downtime_ns += ns;
            if (ns > res->worst_downtime_ns)
                res->worst_downtime_ns = ns;
        }
        write_bus(t, bus, r, m);
        res->moves = best.n;
        res->got = res->want;
        say(res, BS_OUT_MOVED, "domain %04x: placed after ejecting and "
            "re-probing %d bus(es)", t->nodes[bus].domain, best.n);
        free(r);
        return BS_OK;
    }
    free(r);
    /* Only the cheapest candidate sets are tried: "none found" is not a
     * proof that none exists. */
    res->feasible = found ? 1 : -1;
    bs_hv_unplace(t, bus);
    if (sub[fq].req == BS_HV_CFG)
        say(res, BS_OUT_FAILED, "no room for the 8K config window");
    else
        say(res, BS_OUT_FAILED, "Need 0x%llx of %s MMIO space. Consider "
            "reconfiguring the VM.", (unsigned long long)size[sub[fq].req],
            sub[fq].req == BS_HV_LOW ? "low" : "high");
    return BS_OK;
}

static int do_add(bs_churn *c, const bs_event *ev, bs_event_result *res,
                  bs_error *err)
{
    if (find_present(c, ev->dev, BS_NODE_DEVICE) >= 0) {
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                  "device '%s' is already present", ev->dev);
        return BS_EINVAL;
    }
    int bus, d;
    int rc = new_pair(c, ev->dev, &bus, &d);
    if (!rc)
        rc = set_bars(c, d, ev, err);
    if (rc) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, NULL, ev->line, 0, "out of memory");
        if (bus > 0)
            drop_pair(c, bus);
        return rc;
    }
    return place_bus(c, bus, res);
}

int bs_churn_hv_apply(bs_churn *c, const bs_event *ev, bs_event_result *res,
                      bs_error *err)
{
    bs_topo *t = c->t;
    if (ev->kind == BS_EV_ADD) {
        if (strcmp(ev->at, "host")) {
            bs_seterr(err, BS_ENOENT, NULL, ev->line, 0,
                      "on Hyper-V '%s' arrives on a vPCI bus of its own: "
                      "add it at host", ev->dev);
            return BS_ENOENT;
        }
        return do_add(c, ev, res, err);
    }
    int d = find_present(c, ev->dev, BS_NODE_DEVICE);
    if (d < 0) {
        bs_seterr(err, BS_ENOENT, NULL, ev->line, 0, "no device named '%s'",
                  ev->dev);
        return BS_ENOENT;
    }
    int bus = t->nodes[d].parent;
    switch (ev->kind) {
    case BS_EV_REMOVE:
        drop_pair(c, bus);
        say(res, BS_OUT_OK, "removed: the bus's ranges are free again");
        return BS_OK;
    case BS_EV_REPLACE:
        /* The old bus is rescinded, the new function arrives on a new one. */
        drop_pair(c, bus);
        return do_add(c, ev, res, err);
    case BS_EV_PIN:
    case BS_EV_UNPIN:
        if (ev->kind == BS_EV_PIN)
            t->nodes[d].flags |= BS_NF_PINNED;
        else
            t->nodes[d].flags &= ~(uint32_t)BS_NF_PINNED;
        say(res, BS_OUT_OK, "%s", ev->kind == BS_EV_PIN ? "pinned"
                                                        : "unpinned");
        return BS_OK;
    default:
        bs_seterr(err, BS_EINVAL, NULL, ev->line, 0,
                  "%s: resize and NumVFs events are not modelled on Hyper-V",
                  ev->dev);
        return BS_EINVAL;
    }
}
