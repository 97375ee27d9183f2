/*
 * The churn engine's linux policy against a real kernel's hot-plug, event by
 * event (peer/hotplug drives the events through QEMU's monitor; docs/peer.md).
 *
 * The model starts where the guest was after boot: every BAR and bridge
 * window at the address the guest reported (assigned, not fixed: the linux
 * policy never moves a working device anyway, and a slot's windows may be
 * re-sized when a hot-add does not fit), inside the guest's host windows.
 * Then each event is applied to a bs_churn (policy linux) and every
 * resource of every present device and bridge is compared with the guest's
 * report after the same event.  A hot-add fails on the guest's side when a
 * BAR of the added device is left without an address.
 */
#include "core/internal.h"
#include "peer/peer_internal.h"
#include "barspace/churn.h"
#include "barspace/qemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bs_peer_hp {
    bs_peer_hp_event *ev;
    int nev;
    bs_peer_hp_row *rows;
    int nrows, cap;
    char notes[4][200];
    int nnotes;
};

void bs_peer_hp_free(bs_peer_hp *h)
{
    if (!h)
        return;
    free(h->ev);
    free(h->rows);
    free(h);
}

int bs_peer_hp_event_count(const bs_peer_hp *h) { return h->nev; }
int bs_peer_hp_row_count(const bs_peer_hp *h) { return h->nrows; }
int bs_peer_hp_note_count(const bs_peer_hp *h) { return h->nnotes; }

int bs_peer_hp_get_event(const bs_peer_hp *h, int i, bs_peer_hp_event *out)
{
    if (i < 0 || i >= h->nev)
        return BS_ENOENT;
    *out = h->ev[i];
    return BS_OK;
}

int bs_peer_hp_get_row(const bs_peer_hp *h, int i, bs_peer_hp_row *out)
{
    if (i < 0 || i >= h->nrows)
        return BS_ENOENT;
    *out = h->rows[i];
    return BS_OK;
}

const char *bs_peer_hp_note(const bs_peer_hp *h, int i)
{
    return i >= 0 && i < h->nnotes ? h->notes[i] : NULL;
}

static int add_row(bs_peer_hp *h, const bs_peer_hp_row *r)
{
    if (h->nrows == h->cap) {
        int nc = h->cap ? h->cap * 2 : 32;
        bs_peer_hp_row *nr = realloc(h->rows, sizeof *nr * (size_t)nc);
        if (!nr)
            return BS_ENOMEM;
        h->rows = nr;
        h->cap = nc;
    }
    h->rows[h->nrows++] = *r;
    return BS_OK;
}

/* The guest function of node id in report g, or -1. */
static int guest_dev(const bs_topo *t, int id, const bs_guest *g,
                     const char *file, bs_error *err)
{
    int slots[17], fns[17];
    /* A device below a PCIe port is its device 0 whatever its BARs (a
     * hot-added one need not look like any exported model). */
    int par = t->nodes[id].parent;
    bool below = par > 0 && t->nodes[id].kind == BS_NODE_DEVICE;
    int d = bs_peer_node_path(t, below ? par : id, slots, fns, file, err);
    if (d < 0)
        return d;
    if (below) {
        slots[d] = 0;
        fns[d++] = 0;
    }
    int gd = bs_guest_find_path(g, slots, fns, d);
    return gd < 0 ? -1 : gd;
}

/* The model's state after boot: the guest's own assignment. */
static int boot_state(bs_topo *t, const bs_guest *g, bs_peer_hp *h,
                      const char *file, bs_error *err)
{
    if (bs_peer_guest_windows(t, g, h->notes[h->nnotes], sizeof h->notes[0]))
        h->nnotes++;
    for (int id = 1; id < t->nnodes; id++) {
        int gd = guest_dev(t, id, g, file, err);
        if (gd < -1)
            return gd;
        struct bs_node *n = &t->nodes[id];
        if (gd < 0 && h->nnotes < 4)
            snprintf(h->notes[h->nnotes++], sizeof h->notes[0],
                     "'%s' (line %d) is not in the guest after boot", n->name,
                     n->line);
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &n->res[k];
            bs_guest_res gr;
            bool win = bs_slot_is_window(k);
            if ((!win && (!r->size || (r->flags & BS_RF_UPPER))) ||
                (win && n->kind != BS_NODE_BRIDGE))
                continue;
            if (gd < 0 || bs_guest_final(g, gd, k, &gr) || !gr.assigned) {
                if (win) {
                    r->size = r->want = 0;
                    bs_res_release(t, id, k);
                }
                continue;
            }
            if (!win && gr.size != r->size) {
                bs_seterr(err, BS_EINVAL, file, n->line, 0,
                          "'%s' %s: the guest has 0x%llx bytes, the topology "
                          "0x%llx", n->name, bs_slot_name(k),
                          (unsigned long long)gr.size,
                          (unsigned long long)r->size);
                return BS_EINVAL;
            }
            if (win) {
                r->size = r->want = gr.size;
                r->align = (gr.flags & BS_RF_IO) ? 4096 : BS_MIB;
            }
            bs_res_assign(t, id, k, gr.start, r->win);
        }
    }
    bs_topo_locate(t);
    return BS_OK;
}

/* Compare every resource of every present node after event e. */
static int compare_state(bs_peer_hp *h, const bs_churn *c, const bs_guest *g,
                         int e, int subject, const char *file, bs_error *err)
{
    const bs_topo *t = bs_churn_topo(c);
    bs_peer_hp_event *ev = &h->ev[e];
    ev->first_row = h->nrows;
    for (int id = 1; id < t->nnodes; id++) {
        if (!bs_churn_present(c, id))
            continue;
        const struct bs_node *n = &t->nodes[id];
        int gd = guest_dev(t, id, g, file, err);
        if (gd < -1)
            return gd;
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &n->res[k];
            bool win = bs_slot_is_window(k);
            if (r->flags & BS_RF_UPPER || (win && n->kind != BS_NODE_BRIDGE))
                continue;
            bs_guest_res gr = {0, 0, 0, 0};
            bool has_g = gd >= 0 && bs_guest_final(g, gd, k, &gr) == BS_OK;
            bool ours = r->size && (r->flags & BS_RF_ASSIGNED);
            if (!r->size && !(has_g && gr.assigned))
                continue;
            if (win && !ours && !(has_g && gr.assigned))
                continue;
            if (id == subject && !win && r->size && !gr.assigned)
                ev->guest_failed = 1;
            ev->resources++;
            bool same = gd >= 0 &&
                        ((!ours && !gr.assigned) ||
                         (ours && gr.assigned && gr.start == r->addr &&
                          gr.size == r->size));
            if (same)
                continue;
            ev->differ++;
            bs_peer_hp_row row;
            memset(&row, 0, sizeof row);
            row.event = e + 1;
            row.node = id;
            snprintf(row.dev, sizeof row.dev, "%s", n->name);
            row.slot = k;
            row.in_guest = gd >= 0;
            row.guest = gr;
            row.addr = r->addr;
            row.size = r->size;
            row.assigned = ours;
            int rc = add_row(h, &row);
            if (rc)
                return rc;
        }
    }
    ev->nrows = h->nrows - ev->first_row;
    return BS_OK;
}

static int find_node(const bs_churn *c, const char *name)
{
    const bs_topo *t = bs_churn_topo(c);
    for (int id = 1; id < t->nnodes; id++)
        if (bs_churn_present(c, id) && !strcmp(t->nodes[id].name, name))
            return id;
    return -1;
}

int bs_peer_hotplug(const bs_topo *t0, const bs_guest *boot,
                    const bs_event *evs, int nev, const bs_guest *const *after,
                    const char *cmdline, const char *file, bs_peer_hp **out,
                    bs_error *err)
{
    *out = NULL;
    bs_peer_hp *h = calloc(1, sizeof *h);
    bs_topo *t = bs_topo_clone(t0);
    bs_churn *c = NULL;
    int rc = h && t ? BS_OK : BS_ENOMEM;
    if (rc == BS_OK) {
        h->ev = calloc((size_t)(nev > 0 ? nev : 1), sizeof *h->ev);
        rc = h->ev ? BS_OK : BS_ENOMEM;
    }
    if (rc == BS_OK)
        rc = boot_state(t, boot, h, file, err);
    if (rc == BS_OK) {
        bs_churn_opts o;
        bs_churn_opts_init(&o, BS_PLACE_LINUX);
        o.explain = 0;
        bs_assign_opts ao;
        bs_peer_linux_opts(cmdline, &ao);
        o.hp_io = ao.hp_io ? ao.hp_io : o.hp_io;
        o.hp_mmio = ao.hp_mmio ? ao.hp_mmio : o.hp_mmio;
        o.hp_mmio_pref = ao.hp_mmio_pref ? ao.hp_mmio_pref : o.hp_mmio_pref;
        rc = bs_churn_new(t, &o, &c, err);
    }
    for (int e = 0; rc == BS_OK && e < nev; e++) {
        bs_peer_hp_event *pe = &h->ev[e];
        h->nev = e + 1;
        pe->line = evs[e].line;
        pe->kind = evs[e].kind;
        snprintf(pe->dev, sizeof pe->dev, "%s", evs[e].dev);
        bs_event_result res;
        rc = bs_churn_apply(c, &evs[e], &res, err);
        if (rc)
            break;
        pe->outcome = res.outcome;
        snprintf(pe->msg, sizeof pe->msg, "%s", res.msg);
        pe->guest_failures = bs_guest_failure_count(after[e]);
        int subject = evs[e].kind == BS_EV_REMOVE ? -1 : find_node(c, evs[e].dev);
        rc = compare_state(h, c, after[e], e, subject, file, err);
    }
    bs_churn_free(c);
    bs_topo_free(t);
    if (rc) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, file, 0, 0, "out of memory");
        bs_peer_hp_free(h);
        return rc;
    }
    *out = h;
    return BS_OK;
}

/* ---------------------------------------------- the machine of a replay */

static int plug_push(bs_peer_plug **p, int *n, int *cap, int line, int node,
                     int plug)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 32;
        bs_peer_plug *np = realloc(*p, sizeof *np * (size_t)nc);
        if (!np)
            return BS_ENOMEM;
        *p = np;
        *cap = nc;
    }
    (*p)[(*n)++] = (bs_peer_plug){line, node, plug};
    return BS_OK;
}

/* Node currently holding device name `name`: owner[id] is 0 for no device,
 * -1 for a device of the boot topology (its own name), e + 1 for the one
 * event e plugged in (named by the event; the node may be renamed). */
static int holder(const bs_topo *t, const int *owner, const bs_event *evs,
                  const char *name)
{
    for (int id = t->nnodes - 1; id > 0; id--) {
        if (!owner[id])
            continue;
        const char *nm = owner[id] < 0 ? t->nodes[id].name : evs[owner[id] - 1].dev;
        if (!strcmp(nm, name))
            return id;
    }
    return -1;
}

/* One hotplug.map line: "add LINE PARENT NAME" or "del LINE NAME". */
static int map_line(const char *s, size_t n, char *kind, int *line,
                    char *parent, char *name)
{
    char buf[160];
    if (n >= sizeof buf)
        return BS_EPARSE;
    memcpy(buf, s, n);
    buf[n] = 0;
    int used = 0;
    parent[0] = 0;
    if (sscanf(buf, "add %d %47s %47s%n", line, parent, name, &used) == 3 &&
        !buf[used]) {
        *kind = 'a';
        return BS_OK;
    }
    if (sscanf(buf, "del %d %47s%n", line, name, &used) == 2 && !buf[used]) {
        *kind = 'd';
        return BS_OK;
    }
    return BS_EPARSE;
}

int bs_peer_hp_machine(const bs_topo *t0, const bs_event *evs, int nev,
                       const char *map, size_t len, const char *file,
                       bs_topo **out, bs_peer_plug **plugs, int *nplugs,
                       bs_error *err)
{
    *out = NULL;
    *plugs = NULL;
    *nplugs = 0;
    bs_topo *t = bs_topo_clone(t0);
    int *owner = NULL, cap = 0, ocap = 0, rc = t ? BS_OK : BS_ENOMEM;
    if (rc == BS_OK) {
        ocap = t->nnodes + nev + 1;
        owner = calloc((size_t)ocap, sizeof *owner);
        rc = owner ? BS_OK : BS_ENOMEM;
    }
    for (int id = 1; rc == BS_OK && id < t->nnodes; id++)
        owner[id] = t->nodes[id].kind == BS_NODE_DEVICE ? -1 : 0;
    /* The map's lines follow the events one to one: remove -> del,
     * add -> add, replace -> del then add. */
    const char *p = map, *end = map ? map + len : NULL;
    int lineno = 0, e = 0, step = 0;
    while (rc == BS_OK && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        char kind, parent[48], name[48];
        int tline;
        if (map_line(p, n, &kind, &tline, parent, name) != BS_OK) {
            bs_seterr(err, BS_EPARSE, file, lineno, 1,
                      "expected 'add LINE PARENT NAME' or 'del LINE NAME'");
            rc = BS_EPARSE;
            break;
        }
        p = nl ? nl + 1 : end;
        while (e < nev && (evs[e].kind != BS_EV_ADD && evs[e].kind != BS_EV_REMOVE &&
                           evs[e].kind != BS_EV_REPLACE))
            e++;
        char want = e >= nev ? 0
                    : evs[e].kind == BS_EV_ADD ? 'a'
                    : evs[e].kind == BS_EV_REMOVE ? 'd'
                    : step == 0 ? 'd' : 'a';
        if (want != kind || strcmp(evs[e].dev, name)) {
            bs_seterr(err, BS_EINVAL, file, lineno, 1,
                      "'%s' does not follow the event trace (event %d)", name,
                      e + 1);
            rc = BS_EINVAL;
            break;
        }
        if (kind == 'd') {
            int id = holder(t, owner, evs, name);
            if (id < 0) {
                bs_seterr(err, BS_ENOENT, file, lineno, 1,
                          "no device '%s' to unplug", name);
                rc = BS_ENOENT;
                break;
            }
            owner[id] = 0;
            rc = plug_push(plugs, nplugs, &cap, tline, id, 0);
        } else {
            int par = bs_topo_find(t, parent);
            if (par <= 0 || t->nodes[par].kind != BS_NODE_BRIDGE) {
                bs_seterr(err, BS_ENOENT, file, lineno, 1,
                          "no bridge named '%s'", parent);
                rc = BS_ENOENT;
                break;
            }
            char nm[BS_EV_NAME_MAX + 8];
            snprintf(nm, sizeof nm, "%s", name);
            for (unsigned k = 2; bs_topo_find(t, nm) >= 0 && k < 10000; k++)
                snprintf(nm, sizeof nm, "%.40s~%u", name, k % 10000);
            int id = bs_topo_add_node(t, par, BS_NODE_DEVICE, nm);
            if (id < 0 || id >= ocap) {
                rc = id < 0 ? id : BS_ELIMIT;
                bs_seterr(err, rc, file, lineno, 1, "cannot add '%s'", name);
                break;
            }
            for (int b = 0; rc == BS_OK && b < evs[e].nbars; b++)
                rc = bs_topo_set_bar(t, id, evs[e].bar[b].slot,
                                     evs[e].bar[b].flags, evs[e].bar[b].size, 0);
            if (rc) {
                bs_seterr(err, rc, file, lineno, 1, "'%s': a BAR the machine "
                          "cannot hold", name);
                break;
            }
            owner[id] = e + 1;
            rc = plug_push(plugs, nplugs, &cap, tline, id, 1);
        }
        if (evs[e].kind == BS_EV_REPLACE && step == 0) {
            step = 1;
        } else {
            step = 0;
            e++;
        }
    }
    free(owner);
    if (rc) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, file, 0, 0, "out of memory");
        bs_topo_free(t);
        free(*plugs);
        *plugs = NULL;
        *nplugs = 0;
        return rc;
    }
    *out = t;
    return BS_OK;
}
