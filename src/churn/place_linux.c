/*
 * Linux's hot-add into a PCIe slot: pciehp configures the new device with
 * pci_assign_unassigned_bridge_resources() on the slot's port (Linux 6.1,
 * drivers/pci/setup-bus.c), which in the churn model's terms does:
 *
 *  1. every BAR, largest alignment first, at the lowest fitting address of
 *     the port's window of its type (a prefetchable BAR falls back to the
 *     non-prefetchable window: __pci_assign_resource's second try); a BAR
 *     that fits keeps its place whatever happens to the others;
 *  2. for each type that failed, the port's window of that type is released
 *     (pci_bus_release_bridge_resources(): with what the new device had in
 *     it), re-sized to max(what the device needs, its old size, the
 *     hot-plug size pci=hpmmiosize / hpmmioprefsize / hpiosize) aligned to
 *     max(1 MiB, the largest BAR) (pbus_size_mem(), calculate_memsize()
 *     keeping the old size; without the hot-plug size when that does not
 *     fit), and assigned again at the lowest fitting
 *     address of the parent's windows -- so the window moves, it does not
 *     grow in place -- and the released BARs are placed in it;
 *     A port window that was closed (released or reset by an earlier
 *     event) is sized and assigned in the first try already, largest
 *     alignment first; when it finds
 *     no room the failure is on the port's parent bus, and every bridge
 *     there releases its window of that type with whatever is assigned in
 *     it -- working devices on other ports lose their BARs, as in Linux;
 *  3. there is no third try: a window that found no room stays reset (no
 *     size, no type: reset_resource()) and the BARs that needed it stay
 *     unassigned.
 *
 * Only for a slot whose port has no other device (PCIe: always).  Verified
 * event by event against Linux 6.1 under QEMU (docs/peer.md, "Hot-plug").
 */
#include "churn/churn_internal.h"

#include <stdlib.h>

/* First fit of one item among bus b's candidate windows. */
static bool place_one(bs_churn *c, int b, struct bs_ritem *it)
{
    bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
    int win[BS_MAX_ROOT_WINDOWS * 2];
    uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
    int nw = bs_churn_windows(c, b, it->flags, s, win, lo, hi,
                              BS_MAX_ROOT_WINDOWS * 2);
    for (int w = 0; w < nw; w++) {
        uint64_t l = lo[w];
        if (!(it->flags & BS_RF_IO) && l < BS_MIB)
            l = BS_MIB;
        uint64_t a;
        if (s[w] && bs_space_alloc(s[w], it->size, it->align, l, hi[w], &a) ==
                        BS_OK) {
            it->addr = a;
            it->win = win[w];
            return true;
        }
    }
    it->win = BS_WIN_NONE;
    return false;
}

/* The window of bridge b that Linux releases for a failure of type f
 * (pci_bridge_release_resources): I/O, memory, or prefetchable -- the
 * memory window instead when the prefetchable one has lost its type, i.e.
 * was reset after a failed assignment (BS_RF_FAILED here).  A window that
 * was only released, or never opened, keeps its type. */
static int window_for(const bs_topo *t, int b, uint32_t f)
{
    if (f & BS_RF_IO)
        return BS_SLOT_WIN_IO;
    if ((f & BS_RF_PREF) &&
        !(t->nodes[b].res[BS_SLOT_WIN_PREF].flags & BS_RF_FAILED))
        return BS_SLOT_WIN_PREF;
    return BS_SLOT_WIN_MEM;
}

/* Release window ws of bridge b with everything assigned in it: windows of
 * bridges below, BARs of devices below (they lose their addresses), the
 * subject's items.  The window keeps its size (Linux: "keep the old size")
 * for the next sizing. */
static void release_window(bs_churn *c, int b, int ws, struct bs_ritem *it,
                           int n, int *lost)
{
    bs_topo *t = c->t;
    struct bs_res *w = &t->nodes[b].res[ws];
    if (!(w->flags & BS_RF_ASSIGNED) || !w->size)
        return;
    BS_FOR_CHILDREN(t, b, ch) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[ch].res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size || r->win != ws ||
                (r->flags & BS_RF_UPPER))
                continue;
            if (bs_slot_is_window(k)) {
                release_window(c, ch, k, it, n, lost);
                continue;
            }
            (*lost)++;
            bs_res_release(t, ch, k);
            r->flags |= BS_RF_FAILED;
        }
    }
    for (int i = 0; i < n; i++)
        if (it[i].win == ws && c->t->nodes[it[i].node].parent == b)
            it[i].win = BS_WIN_NONE;
    int parent = t->nodes[b].parent;
    bs_space *ps = bs_churn_space(c, parent, w->win);
    if (ps)
        bs_space_release(ps, w->addr, w->size);
    bs_res_release(t, b, ws);
    bs_churn_open_window(c, b, ws);
}

/* pci_bus_release_bridge_resources(bus, type, whole_subtree): below bridge
 * b (0: the root bus) every bridge's window for type f, deepest first, then
 * b's own. */
static void release_tree(bs_churn *c, int b, uint32_t f, struct bs_ritem *it,
                         int n, int *lost)
{
    BS_FOR_CHILDREN(c->t, b, ch)
        if (c->t->nodes[ch].kind == BS_NODE_BRIDGE && c->present[ch])
            release_tree(c, ch, f, it, n, lost);
    if (b > 0)
        release_window(c, b, window_for(c->t, b, f), it, n, lost);
}

/* Alignment of port window ws for the unplaced items that need it:
 * max(its granule, their largest alignment). */
static uint64_t window_align(const bs_topo *t, int bus, int ws,
                             const struct bs_ritem *it, int n)
{
    uint64_t align = ws == BS_SLOT_WIN_IO ? 4096 : BS_MIB;
    for (int i = 0; i < n; i++)
        if (it[i].win == BS_WIN_NONE &&
            bs_bridge_slot_for(&t->nodes[bus], it[i].flags) == ws &&
            it[i].align > align)
            align = it[i].align;
    return align;
}

/* Size and assign the port's closed window ws (pbus_size_mem(): what the
 * unplaced items need, at least the size it kept; the hot-plug size is an
 * optional addition tried first).  1 placed, 0 nothing to place, -1 no
 * room (the window is reset to no size, reset_resource()). */
static int assign_window(bs_churn *c, int bus, int ws, const struct bs_ritem *it,
                         int n, uint64_t *required)
{
    bs_topo *t = c->t;
    struct bs_res *w = &t->nodes[bus].res[ws];
    bool io = ws == BS_SLOT_WIN_IO;
    uint64_t align = window_align(t, bus, ws, it, n), need = 0;
    for (int i = 0; i < n; i++)
        if (it[i].win == BS_WIN_NONE &&
            bs_bridge_slot_for(&t->nodes[bus], it[i].flags) == ws)
            need = bs_align_up(need, it[i].align) + it[i].size;
    uint64_t hp = io ? c->o.hp_io
                     : ws == BS_SLOT_WIN_PREF ? c->o.hp_mmio_pref : c->o.hp_mmio;
    uint64_t req = bs_align_up(need > w->size ? need : w->size, align);
    uint64_t opt = bs_align_up(hp, align);
    uint64_t sizes[2] = {opt > req ? opt : req, req};
    *required = req;
    struct bs_ritem wi = {bus, ws, 0, align, bs_window_flags(t, bus, ws),
                          -1, 0, BS_WIN_NONE, 0};
    bool ok = false;
    for (int k = 0; k < 2 && !ok; k++) {
        wi.size = sizes[k];
        ok = wi.size && place_one(c, t->nodes[bus].parent, &wi);
    }
    if (!ok && !req)
        return 0;
    if (ok) {
        bs_res_assign(t, bus, ws, wi.addr, wi.win);
        w->size = w->want = wi.size;
    } else {
        bs_res_release(t, bus, ws);
        w->flags |= BS_RF_FAILED;
        w->size = w->want = 0;
    }
    w->align = align;
    bs_churn_open_window(c, bus, ws);
    return ok ? 1 : -1;
}

int bs_place_linux_slot(bs_churn *c, int bus, struct bs_ritem *it, int n,
                        int *windows, int *lost)
{
    bs_topo *t = c->t;
    qsort(it, (size_t)n, sizeof *it, bs_ritem_cmp);
    for (int i = 0; i < n; i++)
        it[i].win = BS_WIN_NONE;
    *windows = 0;
    *lost = 0;
    int nfail = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool wfail[3] = {false, false, false};
        uint64_t req[3] = {0, 0, 0};
        bool any = false;
        /* The port's closed windows, largest alignment first (what the
         * window's biggest BAR asks), as the bridge's resources are
         * sorted before assignment. */
        int order[3] = {0, 1, 2};
        uint64_t wal[3];
        for (int q = 0; q < 3; q++)
            wal[q] = window_align(t, bus, BS_SLOT_WIN_IO + q, it, n);
        for (int a = 1; a < 3; a++)
            for (int b = a; b > 0 && wal[order[b]] > wal[order[b - 1]]; b--) {
                int x = order[b];
                order[b] = order[b - 1];
                order[b - 1] = x;
            }
        for (int oi = 0; oi < 3; oi++) {
            int q = order[oi];
            const struct bs_res *w = &t->nodes[bus].res[BS_SLOT_WIN_IO + q];
            if (w->flags & BS_RF_ASSIGNED)
                continue;
            int r = assign_window(c, bus, BS_SLOT_WIN_IO + q, it, n, &req[q]);
            *windows += r != 0;
            wfail[q] = r < 0;
            any |= r < 0;
        }
        nfail = 0;
        for (int i = 0; i < n; i++)
            if (it[i].win == BS_WIN_NONE && !place_one(c, bus, &it[i]))
                nfail++;
        if (!nfail && !any)
            return 0;
        if (attempt == 1)
            break;
        /* A window of the port that found no room is a failure on the
         * port's parent bus: every bridge there releases its window of that
         * type, with what is in it.  A BAR that found no room releases the
         * port's window of its type. */
        for (int q = 0; q < 3; q++)
            if (wfail[q])
                release_tree(c, t->nodes[bus].parent,
                             bs_window_flags(t, bus, BS_SLOT_WIN_IO + q), it, n,
                             lost);
        for (int i = 0; i < n; i++)
            if (it[i].win == BS_WIN_NONE)
                release_tree(c, bus, it[i].flags, it, n, lost);
        /* Then the failed windows get their size back for the second try
         * (the fail list restores start/end; only the type stays lost). */
        for (int q = 0; q < 3; q++)
            if (wfail[q])
                t->nodes[bus].res[BS_SLOT_WIN_IO + q].size = req[q];
    }
    return nfail;
}
