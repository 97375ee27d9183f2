/*
 * Import always yields a machine.  Logs are excerpts, old kernels print
 * forms that are not windows of their own (subtractive decode), uncore host
 * bridges claim the whole address space, and firmware leaves ranges that
 * straddle 4 GiB.  The steps here turn whatever the inputs said into a
 * topology that parses, assigns and -- where the kernel reported no
 * conflict -- passes bs_check, saying in a note what was left out or
 * assumed and which input line it came from.
 *
 *   imp_settle_windows  before the tree is built: host bridge windows that
 *                       enclose others are dropped, memory windows that
 *                       straddle 4 GiB (bus address) are split there;
 *   imp_derive_windows  once the tree is built: a kind of space the machine
 *                       uses but no root window covers gets a window
 *                       derived from the addresses seen (or assumed);
 *   imp_settle_check    last: every resource bs_check objects to loses its
 *                       address (it stays in the machine, unassigned),
 *                       until the checker is content.
 */
#include "import/import_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool encloses(const struct imp_win *a, const struct imp_win *b)
{
    return !((a->flags ^ b->flags) & BS_RF_IO) && a != b &&
           a->base <= b->base &&
           bs_last(b->base, b->size) <= bs_last(a->base, a->size) &&
           (a->base != b->base || a->size != b->size);
}

int imp_settle_windows(bs_import *im)
{
    /* A window holding another is a catch-all ("default resources" of an
     * uncore host bridge, [mem 0x0-0xffffffffff]): the narrower windows are
     * what devices decode. */
    for (int i = 0; i < im->nwin; i++) {
        bool drop = false;
        for (int j = 0; j < im->nwin && !drop; j++)
            drop = encloses(&im->win[i], &im->win[j]);
        if (!drop)
            continue;
        struct imp_win *w = &im->win[i];
        int rc = imp_note(im, "root window [%s 0x%llx-0x%llx] (%s) encloses "
                          "other host bridge windows: a catch-all, left out",
                          (w->flags & BS_RF_IO) ? "io" : "mem",
                          (unsigned long long)w->base,
                          (unsigned long long)bs_last(w->base, w->size),
                          w->src);
        if (rc)
            return rc;
        memmove(w, w + 1, sizeof *w * (size_t)(im->nwin - i - 1));
        im->nwin--;
        i--;
    }
    /* A memory window across the 4 GiB line of its bus addresses: its
     * lower part is where 32-bit BARs go, the rest is 64-bit only. */
    int n = im->nwin;
    for (int i = 0; i < n; i++) {
        struct imp_win w = im->win[i];
        uint64_t bus = w.base - w.offset;
        if ((w.flags & BS_RF_IO) || bus >= BS_4G ||
            bs_last(bus, w.size) < BS_4G)
            continue;
        uint64_t low = BS_4G - bus;
        int rc = imp_add_root_window_bus(im, w.dom, w.flags, w.base + low,
                                         bs_last(w.base, w.size), w.offset,
                                         w.src);
        if (rc)
            return rc;
        im->win[i].size = low;
        rc = imp_note(im, "root window [mem 0x%llx-0x%llx] (%s) split at "
                      "bus address 4 GiB", (unsigned long long)w.base,
                      (unsigned long long)bs_last(w.base, w.size), w.src);
        if (rc)
            return rc;
    }
    return BS_OK;
}

/* Hull of the assigned resources of one kind: io, memory below 4 GiB,
 * memory above. */
enum { K_IO, K_MEM32, K_MEM64, K_N };

static int kind_of(uint32_t f, uint64_t addr)
{
    if (f & BS_RF_IO)
        return K_IO;
    return addr >= BS_4G ? K_MEM64 : K_MEM32;
}

int imp_derive_windows(bs_import *im, bs_topo *t)
{
    bool have[K_N] = {false, false, false};
    for (int i = 0; i < t->nwin; i++)
        have[kind_of(t->win[i].flags, bs_topo_bus_addr(t, t->win[i].base,
                                                       t->win[i].flags))] =
            true;
    uint64_t lo[K_N], hi[K_N];
    bool seen[K_N] = {false, false, false};
    bool any = false;
    for (int n = 1; n < t->nnodes; n++) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[n].res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            any = true;
            if (!(r->flags & BS_RF_ASSIGNED))
                continue;
            uint32_t f = bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                              : r->flags;
            int c = kind_of(f, r->addr);
            uint64_t l = bs_last(r->addr, r->size);
            if (c == K_MEM32 && l >= BS_4G)
                l = BS_4G - 1; /* split below */
            if (!seen[c] || r->addr < lo[c])
                lo[c] = r->addr;
            if (!seen[c] || l > hi[c])
                hi[c] = l;
            if (c == K_MEM32 && bs_last(r->addr, r->size) >= BS_4G) {
                if (!seen[K_MEM64] || BS_4G < lo[K_MEM64])
                    lo[K_MEM64] = BS_4G;
                if (!seen[K_MEM64] || bs_last(r->addr, r->size) > hi[K_MEM64])
                    hi[K_MEM64] = bs_last(r->addr, r->size);
                seen[K_MEM64] = true;
            }
            seen[c] = true;
        }
    }
    static const char *const kn[K_N] = {"io", "mem", "mem"};
    for (int c = 0; c < K_N; c++) {
        if (have[c] || !seen[c])
            continue;
        /* Rounded out to the granule a bridge window would use. */
        uint64_t g = c == K_IO ? 0x1000 : BS_MIB;
        uint64_t b = lo[c] & ~(g - 1);
        uint64_t l = hi[c] | (g - 1);
        if (c == K_IO && l > 0xffff)
            l = 0xffff; /* what lies above is left unplaced below */
        if (b > l)
            continue;
        if (c == K_MEM32 && l >= BS_4G)
            l = BS_4G - 1;
        int rc = bs_topo_add_window(t, c == K_IO ? BS_RF_IO : 0, b,
                                    l - b + 1);
        if (rc == BS_ENOMEM)
            return rc;
        rc = imp_note(im, rc < 0 ? "no root %s window in the inputs, and none "
                                   "could be derived from the addresses seen"
                                 : "no root %s window in the inputs: [%s "
                                   "0x%llx-0x%llx] derived from the addresses "
                                   "seen",
                      kn[c], kn[c], (unsigned long long)b,
                      (unsigned long long)l);
        if (rc)
            return rc;
    }
    if (t->nwin == 0 && any) {
        /* Failures only: where the space was is unknown.  The usual x86
         * 32-bit hole stands in so that the machine can be assigned. */
        uint64_t b = UINT64_C(0xc0000000), l = UINT64_C(0xfebfffff);
        int rc = bs_topo_add_window(t, 0, b, l - b + 1);
        if (rc < 0)
            return rc == BS_ENOMEM ? rc : BS_OK;
        return imp_note(im, "no root window and no address in the inputs: "
                        "[mem 0x%llx-0x%llx] assumed", (unsigned long long)b,
                        (unsigned long long)l);
    }
    return BS_OK;
}

/* The importer's record of node n (NULL for synthetic bridges and root). */
static const struct imp_dev *dev_of(const bs_import *im, int n)
{
    for (int i = 0; i < im->ndev; i++)
        if (im->dev[i].node == n)
            return &im->dev[i];
    return NULL;
}

/* Forget where (n, k) is: fixed or assigned, it is now to be placed. */
static void unplace(bs_topo *t, int n, int k)
{
    struct bs_res *r = &t->nodes[n].res[k];
    r->flags &= ~(uint32_t)(BS_RF_ASSIGNED | BS_RF_FIXED);
    r->addr = r->fixed = 0;
    r->win = BS_WIN_NONE;
    if (bs_slot_is_window(k))
        r->size = 0; /* a window is sized afresh */
}

int imp_settle_check(bs_import *im, bs_topo *t)
{
    enum { CAP = 64 };
    bs_violation v[CAP];
    /* Each round unplaces at least one resource: bounded by their number. */
    for (;;) {
        bs_topo_locate(t);
        int nv = bs_check(t, NULL, v, CAP);
        if (nv == 0)
            return BS_OK;
        int done = 0;
        for (int i = 0; i < nv && i < CAP; i++) {
            int n = v[i].node, k = v[i].slot;
            /* Of an overlapping pair, the one that is not fixed goes. */
            if (v[i].code == BS_V_OVERLAP && v[i].other_node > 0 &&
                (t->nodes[n].res[k].flags & BS_RF_FIXED) &&
                !(t->nodes[v[i].other_node].res[v[i].other_slot].flags &
                  BS_RF_FIXED)) {
                n = v[i].other_node;
                k = v[i].other_slot;
            }
            if (n <= 0 || k < 0 || k >= BS_NSLOTS ||
                !(t->nodes[n].res[k].flags & (BS_RF_ASSIGNED | BS_RF_FIXED)))
                continue;
            const struct imp_dev *d = dev_of(im, n);
            int line = d ? d->res[k].line : 0;
            char at[32] = "";
            if (line)
                snprintf(at, sizeof at, " (input line %d)", line);
            int rc = imp_note(im, "%s%s: left unplaced: %s", v[i].msg, at,
                              "the inputs contradict the invariants there");
            if (rc)
                return rc;
            unplace(t, n, k);
            done++;
        }
        if (!done)
            return BS_OK; /* nothing more this step can do */
    }
}
