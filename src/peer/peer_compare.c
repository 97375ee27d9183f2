/*
 * barspace's linux policy against a real Linux guest, resource by resource.
 *
 * The kernel does not start from nothing: it keeps what the firmware
 * programmed and only places what is left, inside the host windows ACPI
 * gave it.  So the comparison feeds the policy the same starting point --
 * the guest's own windows and the firmware's BARs as firmware-fixed -- and
 * the firmware itself is not modelled.  Linux's claim step is: a firmware
 * address it cannot claim (outside its bus's windows, or overlapping a
 * claimed sibling) is released and assigned like an unassigned one.  With firmware "none" (qboot) no BAR
 * is programmed and the whole assignment is the policy's.
 */
#include "core/internal.h"
#include "peer/peer_internal.h"
#include "barspace/qemu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bs_peer_cmp {
    bs_topo *t;
    bs_peer_row *rows;
    int nrows, cap;
    char (*notes)[160];
    int nnotes, notecap;
};

void bs_peer_cmp_free(bs_peer_cmp *c)
{
    if (!c)
        return;
    bs_topo_free(c->t);
    free(c->rows);
    free(c->notes);
    free(c);
}

int bs_peer_cmp_row_count(const bs_peer_cmp *c) { return c->nrows; }
int bs_peer_cmp_note_count(const bs_peer_cmp *c) { return c->nnotes; }
const bs_topo *bs_peer_cmp_topo(const bs_peer_cmp *c) { return c->t; }

int bs_peer_cmp_row(const bs_peer_cmp *c, int i, bs_peer_row *out)
{
    if (i < 0 || i >= c->nrows)
        return BS_ENOENT;
    *out = c->rows[i];
    return BS_OK;
}

const char *bs_peer_cmp_note(const bs_peer_cmp *c, int i)
{
    return i >= 0 && i < c->nnotes ? c->notes[i] : NULL;
}

static int note(bs_peer_cmp *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int note(bs_peer_cmp *c, const char *fmt, ...)
{
    if (c->nnotes == c->notecap) {
        int nc = c->notecap ? c->notecap * 2 : 8;
        char(*nn)[160] = realloc(c->notes, sizeof *nn * (size_t)nc);
        if (!nn)
            return BS_ENOMEM;
        c->notes = nn;
        c->notecap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->notes[c->nnotes++], sizeof c->notes[0], fmt, ap);
    va_end(ap);
    return BS_OK;
}

static bs_peer_row *row_new(bs_peer_cmp *c)
{
    if (!bs_grow((void **)&c->rows, &c->cap, c->nrows, sizeof *c->rows, 64))
        return NULL;
    bs_peer_row *r = &c->rows[c->nrows++];
    memset(r, 0, sizeof *r);
    return r;
}

/* "hpmmiosize=2M" style values, with K/M/G suffixes as the kernel takes. */
static bool kparse_size(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (!n)
        return false;
    int base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    size_t digits = 0;
    for (; i < n; i++, digits++) {
        int d = bs_hexval((unsigned char)s[i]);
        if (d < 0 || d >= base)
            break;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (!digits)
        return false;
    if (i < n) {
        switch (s[i]) {
        case 'K': case 'k': v <<= 10; break;
        case 'M': case 'm': v <<= 20; break;
        case 'G': case 'g': v <<= 30; break;
        default: return false;
        }
        i++;
    }
    if (i != n)
        return false;
    *out = v;
    return true;
}

void bs_peer_linux_opts(const char *cmdline, bs_assign_opts *o)
{
    bs_assign_opts_init(o, BS_POLICY_LINUX);
    const char *p = cmdline ? cmdline : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e - p > 4 && !strncmp(p, "pci=", 4)) {
            const char *q = p + 4;
            while (q < e) {
                const char *c = memchr(q, ',', (size_t)(e - q));
                if (!c)
                    c = e;
                size_t n = (size_t)(c - q);
                uint64_t v;
                if ((n == 7 && !strncmp(q, "realloc", 7)) ||
                    (n == 10 && !strncmp(q, "realloc=on", 10)))
                    o->realloc = 1;
                else if (n == 11 && !strncmp(q, "realloc=off", 11))
                    o->realloc = -1;
                else if (n > 10 && !strncmp(q, "hpiosize=", 9) &&
                         kparse_size(q + 9, n - 9, &v))
                    o->hp_io = v;
                else if (n > 11 && !strncmp(q, "hpmmiosize=", 11) &&
                         kparse_size(q + 11, n - 11, &v))
                    o->hp_mmio = v;
                else if (n > 15 && !strncmp(q, "hpmmioprefsize=", 15) &&
                         kparse_size(q + 15, n - 15, &v))
                    o->hp_mmio_pref = v;
                else if (n > 10 && !strncmp(q, "hpmemsize=", 10) &&
                         kparse_size(q + 10, n - 10, &v))
                    o->hp_mmio = o->hp_mmio_pref = v;
                q = c + 1;
            }
        }
        p = e;
    }
}

/* Path of slot.fn hops from the root bus to a node. */
int bs_peer_node_path(const bs_topo *t, int id, int *slots, int *fns,
                      const char *file, bs_error *err)
{
    int depth = t->nodes[id].depth;
    if (depth > 16)
        return BS_ELIMIT;
    for (int n = id, k = depth - 1; n > 0; n = t->nodes[n].parent, k--) {
        int rc = bs_qemu_node_addr(t, n, &slots[k], &fns[k], file, err);
        if (rc)
            return rc;
    }
    return depth;
}

static bool res_equal(const bs_guest_res *g, uint64_t addr, uint64_t size,
                      int assigned)
{
    if (!g->assigned && !assigned)
        return true;
    return g->assigned && assigned && g->start == addr && g->size == size;
}

struct claim {
    int node, slot;
    unsigned io;
    uint64_t lo, hi;
};

/* Could Linux claim [start, start+size) for (node, slot)? */
static bool claimable(const bs_topo *t, const struct claim *cl, int ncl,
                      int node, unsigned flags, uint64_t start, uint64_t size)
{
    uint64_t hi = bs_last(start, size);
    unsigned io = flags & BS_RF_IO;
    int parent = t->nodes[node].parent;
    bool inside = false;
    if (parent == 0) {
        for (int w = 0; w < t->nwin && !inside; w++)
            inside = !((t->win[w].flags ^ io) & BS_RF_IO) &&
                     start >= t->win[w].base &&
                     hi <= bs_last(t->win[w].base, t->win[w].size);
    } else {
        for (int i = 0; i < ncl && !inside; i++)
            inside = cl[i].node == parent && cl[i].io == io &&
                     start >= cl[i].lo && hi <= cl[i].hi &&
                     (io || cl[i].slot == bs_bridge_slot_for(
                                              &t->nodes[parent], flags) ||
                      cl[i].slot == BS_SLOT_WIN_MEM ||
                      /* Linux claims any prefetchable BAR inside a
                       * prefetchable window (pci_find_parent_resource),
                       * a 32-bit one SeaBIOS put there included */
                      (cl[i].slot == BS_SLOT_WIN_PREF &&
                       (flags & BS_RF_PREF)));
    }
    if (!inside)
        return false;
    for (int i = 0; i < ncl; i++)
        if (cl[i].io == io && start <= cl[i].hi && cl[i].lo <= hi &&
            !bs_topo_is_ancestor(t, cl[i].node, node))
            return false;
    return true;
}

/* The host windows the guest's kernel reported replace the topology's, at
 * Linux's x86 floors (nothing below 1 MiB for memory).  Returns 1 with a
 * remark in buf when they differ from the topology's or are missing. */
int bs_peer_guest_windows(bs_topo *t, const bs_guest *g, char *buf, size_t cap)
{
    if (bs_guest_window_count(g) == 0) {
        snprintf(buf, cap, "the guest reported no host windows; using the "
                           "topology's");
        return 1;
    }
    struct bs_rootwin w[BS_MAX_ROOT_WINDOWS];
    int nw = 0;
    for (int i = 0; i < bs_guest_window_count(g) && nw < BS_MAX_ROOT_WINDOWS; i++) {
        bs_window_info wi;
        bs_guest_window(g, i, &wi);
        uint64_t lo = wi.base, hi = bs_last(wi.base, wi.size);
        uint64_t floor = (wi.flags & BS_RF_IO) ? 0 : BS_MIB;
        if (hi < floor)
            continue;
        if (lo < floor)
            lo = floor;
        w[nw].flags = wi.flags;
        w[nw].base = lo;
        w[nw].size = hi - lo + 1;
        w[nw].line = 0;
        w[nw].offset = 0;
        nw++;
    }
    bool same = nw == t->nwin;
    for (int i = 0; same && i < nw; i++)
        same = w[i].base == t->win[i].base && w[i].size == t->win[i].size &&
               !((w[i].flags ^ t->win[i].flags) & BS_RF_IO);
    int differ = 0;
    if (!same) {
        size_t o = (size_t)snprintf(buf, cap, "host windows taken from the "
                                    "guest (differ from the topology's): ");
        for (int i = 0; i < nw && o < cap; i++) {
            int n = snprintf(buf + o, cap - o, "%s%s 0x%llx-0x%llx",
                             i ? ", " : "",
                             (w[i].flags & BS_RF_IO) ? "io" : "mem",
                             (unsigned long long)w[i].base,
                             (unsigned long long)bs_last(w[i].base, w[i].size));
            if (n < 0)
                break;
            o += (size_t)n;
        }
        differ = 1;
    }
    memcpy(t->win, w, sizeof w[0] * (size_t)nw);
    t->nwin = nw;
    return differ;
}

int bs_peer_compare(const bs_topo *t0, const bs_guest *g, const char *cmdline,
                    const char *file, bs_peer_cmp **out, bs_error *err)
{
    bs_assign_opts o;
    bs_peer_linux_opts(cmdline, &o);
    const char *rel = bs_guest_kernel_release(g);
    o.kernel = rel ? bs_kernel_from_release(rel) : BS_KERNEL_NEWEST;
    return bs_peer_compare_opts(t0, g, &o, file, out, err);
}

int bs_peer_compare_opts(const bs_topo *t0, const bs_guest *g,
                         const bs_assign_opts *opts, const char *file,
                         bs_peer_cmp **out, bs_error *err)
{
    *out = NULL;
    bs_peer_cmp *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    c->t = bs_topo_clone(t0);
    int rc = c->t ? BS_OK : BS_ENOMEM;
    bs_topo *t = c->t;
    int *gdev = NULL;

    /* Host windows: the guest's, at Linux's x86 floors. */
    if (rc == BS_OK) {
        char buf[200];
        if (bs_peer_guest_windows(t, g, buf, sizeof buf))
            rc = note(c, "%s", buf);
    }

    /* Which guest function is which node, and at which slot.fn: Linux
     * walks a bus in devfn order, so the policy is told the exported
     * machine's addresses (set once all are known, since the exporter
     * derives a device's free slot from its siblings' hints). */
    int *devfn = NULL;
    if (rc == BS_OK) {
        gdev = malloc(sizeof *gdev * (size_t)t->nnodes);
        devfn = malloc(sizeof *devfn * (size_t)t->nnodes);
        if (!gdev || !devfn)
            rc = BS_ENOMEM;
    }
    for (int id = 1; rc == BS_OK && id < t->nnodes; id++) {
        int slots[16], fns[16];
        int d = bs_peer_node_path(t, id, slots, fns, file, err);
        if (d < 0) {
            rc = d;
            break;
        }
        devfn[id] = slots[d - 1] * 8 + fns[d - 1];
        gdev[id] = bs_guest_find_path(g, slots, fns, d);
        if (gdev[id] < 0)
            rc = note(c, "'%s' (line %d) is not in the guest", t->nodes[id].name,
                      t->nodes[id].line);
    }
    for (int id = 1; rc == BS_OK && id < t->nnodes; id++) {
        t->nodes[id].slot = devfn[id] >> 3;
        t->nodes[id].fn = devfn[id] & 7;
    }
    free(devfn);

    /* What the firmware programmed, Linux claims and keeps (firmware-fixed
     * here); what it cannot claim -- outside every window of its bus, or
     * overlapping another claimed resource that is not an enclosing bridge
     * window ("can't claim; address conflict") -- it releases and assigns
     * anew.  Bridge windows are claimed first, top-down, then BARs. */
    struct claim *cl = NULL;
    int ncl = 0;
    if (rc == BS_OK) {
        cl = malloc(sizeof *cl * (size_t)t->nnodes * BS_NSLOTS);
        if (!cl)
            rc = BS_ENOMEM;
    }
    for (int pass = 0; pass < 2 && rc == BS_OK; pass++) {
        for (int id = 1; rc == BS_OK && id < t->nnodes; id++) {
            if (gdev[id] < 0)
                continue;
            int k0 = pass ? 0 : BS_SLOT_WIN_IO, k1 = pass ? BS_SLOT_WIN_IO : BS_NSLOTS;
            for (int k = k0; k < k1; k++) {
                struct bs_res *r = &t->nodes[id].res[k];
                bs_guest_res fw;
                if (bs_guest_firmware(g, gdev[id], k, &fw) || !fw.assigned)
                    continue;
                bool win = bs_slot_is_window(k);
                if (!win && (!r->size || (r->flags & BS_RF_UPPER)))
                    continue;
                if (!win && (fw.size != r->size || (fw.start & (r->align - 1)))) {
                    rc = note(c, "'%s' %s: firmware left 0x%llx+0x%llx, which "
                                 "does not fit the topology's size; not fixed",
                              t->nodes[id].name, bs_slot_name(k),
                              (unsigned long long)fw.start,
                              (unsigned long long)fw.size);
                    continue;
                }
                unsigned fl = win ? fw.flags : r->flags;
                if (!claimable(t, cl, ncl, id, fl, fw.start, fw.size)) {
                    rc = note(c, "'%s' %s: the guest could not keep the "
                                 "firmware's 0x%llx (outside its windows or "
                                 "in conflict); left to the policy",
                              t->nodes[id].name, bs_slot_name(k),
                              (unsigned long long)fw.start);
                    continue;
                }
                cl[ncl++] = (struct claim){id, k, fl & BS_RF_IO, fw.start,
                                           bs_last(fw.start, fw.size)};
                if (win) {
                    r->size = r->want = fw.size;
                    r->align = (fw.flags & BS_RF_IO) ? 4096 : BS_MIB;
                }
                r->flags |= BS_RF_FIXED;
                r->fixed = fw.start;
                bs_res_assign(t, id, k, fw.start, r->win);
            }
        }
    }
    free(cl);

    if (rc == BS_OK) {
        bs_error aerr = {0};
        int arc = bs_assign(t, opts, &aerr);
        if (arc != BS_OK && arc != BS_ENOSPC) {
            if (err)
                *err = aerr;
            rc = arc;
        }
    }

    for (int id = 1; rc == BS_OK && id < t->nnodes; id++) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[id].res[k];
            if (r->flags & BS_RF_UPPER)
                continue;
            bs_guest_res gf = {0, 0, 0, 0}, fw = {0, 0, 0, 0};
            bool has_g = gdev[id] >= 0 &&
                         bs_guest_final(g, gdev[id], k, &gf) == BS_OK;
            if (gdev[id] >= 0)
                bs_guest_firmware(g, gdev[id], k, &fw);
            bool bs_has = r->size && (r->flags & BS_RF_ASSIGNED);
            bool declared = r->size || (bs_slot_is_window(k) &&
                                        t->nodes[id].kind == BS_NODE_BRIDGE);
            if (!declared && !(has_g && gf.assigned))
                continue;
            if (bs_slot_is_window(k) && !bs_has && !(has_g && gf.assigned))
                continue; /* a window neither side opened */
            bs_peer_row *row = row_new(c);
            if (!row) {
                rc = BS_ENOMEM;
                break;
            }
            row->node = id;
            row->slot = k;
            row->guest_dev = gdev[id];
            if (has_g)
                row->guest = gf;
            row->firmware = fw;
            row->addr = r->addr;
            row->size = r->size;
            row->assigned = bs_has;
            if (gdev[id] < 0) {
                row->match = -1;
                snprintf(row->note, sizeof row->note, "device not in guest");
            } else if (k == BS_SLOT_ROM && has_g && gf.size && !gf.assigned &&
                       gf.start == 0xc0000) {
                row->match = -1;
                snprintf(row->note, sizeof row->note,
                         "guest uses the shadow copy at 0xc0000, not the BAR");
            } else {
                row->match = res_equal(&row->guest, row->addr, row->size,
                                       row->assigned);
                if (!row->match && r->flags & BS_RF_FAILED)
                    snprintf(row->note, sizeof row->note,
                             "barspace could not place it");
                else if (!row->match && !row->guest.assigned)
                    snprintf(row->note, sizeof row->note,
                             "the guest left it unassigned");
                else if (!row->match && fw.assigned)
                    snprintf(row->note, sizeof row->note,
                             "firmware had it at 0x%llx",
                             (unsigned long long)fw.start);
            }
        }
    }
    free(gdev);
    if (rc != BS_OK) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, file, 0, 0, "out of memory");
        bs_peer_cmp_free(c);
        return rc;
    }
    *out = c;
    return BS_OK;
}
