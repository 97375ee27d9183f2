/*
 * The `linux` policy: a model of how Linux 6.1, 6.12 and 7.2
 * (drivers/pci/setup-bus.c, setup-res.c, bus.c, kernel/resource.c) size
 * bridge windows and place BARs when nothing was assigned by firmware,
 * failures included; where the kernels differ, a predicate named after the
 * change (v_optional, v_keep_type, v_tight) switches.  It is the "in vitro"
 * fixture: it should fail where Linux fails.
 *
 * The model, in Linux's own order:
 *  1. Sizing, bottom-up (pbus_size_io / pbus_size_mem): each bridge window
 *     gets a must-have size and a minimum alignment from its children
 *     (alignment buckets per power of two from 1 MiB, calculate_mem_align),
 *     1 MiB granularity for memory and 4 KiB for I/O; hot-plug bridges get
 *     optional extra space (pci=hpiosize/hpmmiosize/hpmmioprefsize) and
 *     SR-IOV VF BARs are optional extras ("realloc_head").
 *  2. Assignment, top-down per bus (__pci_bus_assign_resources): every
 *     unassigned resource of the bus's devices, bridge windows included, in
 *     descending alignment; first try with the optional extras, and if
 *     anything fails, again without them, then grow what can grow.
 *  3. One resource (__pci_assign_resource): exact prefetch/64-bit window
 *     match first, then prefetchable, then any memory window; 64-bit BARs
 *     try above 4 GiB before anywhere; each window first fit at the lowest
 *     address (with x86's ISA alias rule for I/O and the 1 MiB floor).
 *  4. pci=realloc (or SR-IOV BARs present, which turns it on): up to
 *     depth+1 rounds; all but the last treat the optional extras as
 *     must-have; a failed round is released and retried.
 * Known simplifications are listed in docs/assignment.md.
 */
#include "assign/assign.h"

#include <stdlib.h>
#include <string.h>

#define IDX(n, k) ((size_t)(n) * BS_NSLOTS + (size_t)(k))

struct lx {
    bs_topo *t;
    const bs_assign_opts *o;
    int v;               /* kernel modelled, MAJOR * 100 + MINOR */
    bool optional;       /* this round uses Linux's realloc_head */
    bool keep;           /* a retry round: what is assigned stays */
    uint64_t *sz0;       /* must-have size of each resource this round */
    uint64_t *add;       /* optional extra bytes */
    uint64_t *aln;       /* alignment used for sorting and placement */
    uint64_t *addaln;    /* alignment when the extra is included */
    uint64_t *seq;       /* when sizing recorded the extra (realloc_head) */
    uint64_t *old;       /* size a window had when a retry released it or
                            when it failed: the floor of its next sizing */
    uint64_t nseq;
    int *first_dev;      /* each bus's devices in Linux's scan order */
    int *next_dev;
    struct bs_spaces sp;
};

/* A bus's devices as Linux lists them: pci_scan_child_bus() probes devfn
 * 0..255 in turn, so every walk over a bus (sizing, the per-bus sorted
 * list, the recursion into child buses) goes in slot.function order.
 * Devices without slot=/fn= follow in file order. */
#define FOR_DEVS(L, bus, c) \
    for (int c = (L)->first_dev[bus]; c >= 0; c = (L)->next_dev[c])

static int devfn_key(const struct bs_node *n)
{
    return n->slot < 0 ? 256 : n->slot * 8 + (n->fn > 0 ? n->fn : 0);
}

static void scan_order(struct lx *L)
{
    const bs_topo *t = L->t;
    for (int b = 0; b < t->nnodes; b++) {
        L->first_dev[b] = -1;
        /* Insertion into a sorted list: stable, and a bus has few devices. */
        BS_FOR_CHILDREN(t, b, c) {
            int key = devfn_key(&t->nodes[c]);
            int *link = &L->first_dev[b];
            while (*link >= 0 && devfn_key(&t->nodes[*link]) <= key)
                link = &L->next_dev[*link];
            L->next_dev[c] = *link;
            *link = c;
        }
    }
}

static int ctz64(uint64_t x)
{
    int n = 0;
    if (!x)
        return 64;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static uint32_t res_flags(const bs_topo *t, int n, int k)
{
    return bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                : t->nodes[n].res[k].flags;
}

/* Does resource (n,k) take part in this round at all? */
static bool present(const struct lx *L, int n, int k)
{
    const struct bs_res *r = &L->t->nodes[n].res[k];
    if (r->flags & BS_RF_UPPER)
        return false;
    if (bs_slot_is_window(k))
        return L->sz0[IDX(n, k)] || L->add[IDX(n, k)];
    return r->size != 0;
}

static bool is_vf(int k) { return k >= BS_SLOT_VF0 && k < BS_SLOT_VF0 + 6; }

/* ---- what changed between the modelled kernels ----
 *
 * Linux 6.15 (2499f5348431, optional resources reworked): a disabled ROM,
 * an SR-IOV region and an empty bridge window are optional.  Sizing counts
 * them only in the parent's optional extra, never in its must-have size
 * (6.1 and 6.12 add an empty hot-plug window's 1 MiB alignment to it), and
 * after a failed attempt the must-have pass leaves them out.  */
static bool v_optional(const struct lx *L) { return L->v >= 615; }

/* Linux 6.18 (bridge window cleanup, pbus_select_window()): a bridge
 * window that failed keeps its type, so a pci=realloc retry releases the
 * prefetchable window above a failed 64-bit BAR, not the memory one. */
static bool v_keep_type(const struct lx *L) { return L->v >= 618; }

/* After 6.18 ("PCI: Rewrite bridge window head alignment function",
 * "PCI: Stop over-estimating bridge window size"): a memory window starts
 * at a head alignment that leaves no gap before its largest child and its
 * size is only rounded to 1 MiB, where 6.1 and 6.12 round the size up to
 * the start alignment too; a window whose extra needs a bigger alignment
 * than its must-have part is put on the extras list even without extra
 * bytes. */
static bool v_tight(const struct lx *L) { return L->v >= 700; }

/* pci_resource_is_optional() for a resource on a bus being assigned. */
static bool is_optional(const struct lx *L, int n, int k)
{
    if (L->t->nodes[n].res[k].flags & BS_RF_FIXED)
        return false;
    if (bs_slot_is_window(k))
        return !L->sz0[IDX(n, k)];
    if (is_vf(k))
        return L->optional || v_optional(L);
    return k == BS_SLOT_ROM && v_optional(L);
}

/* Hot-plug reserves for a bridge, from the Linux command line. */
static uint64_t hp_reserve(const struct lx *L, int b, int slot)
{
    if (!(L->t->nodes[b].flags & BS_NF_HOTPLUG))
        return 0;
    switch (slot) {
    case BS_SLOT_WIN_IO: return L->o->hp_io;
    case BS_SLOT_WIN_MEM: return L->o->hp_mmio;
    default: return L->o->hp_mmio_pref;
    }
}

/* calculate_head_align(): from the largest child's alignment, halve the
 * start alignment while the smaller children can fill the head room. */
static uint64_t head_align(const uint64_t *aligns, int max_order)
{
    uint64_t head = UINT64_C(1) << (max_order + 20), rem = 0;
    for (int order = max_order - 1; order >= 0; order--) {
        uint64_t align1 = UINT64_C(1) << (order + 20);
        rem += aligns[order];
        while (head > align1 && rem >= head / 2) {
            head /= 2;
            rem -= head;
        }
    }
    return head;
}

/* calculate_mem_align(): the smallest alignment at which the buckets still
 * pack without a hole bigger than the granule. */
static uint64_t mem_align(const uint64_t *aligns, int max_order)
{
    uint64_t align = 0, min_align = 0;
    for (int order = 0; order <= max_order; order++) {
        uint64_t align1 = UINT64_C(1) << (order + 20);
        if (!align)
            min_align = align1;
        else if (bs_align_up(align + min_align, min_align) < align1)
            min_align = align1 >> 1;
        align += aligns[order];
    }
    return min_align;
}

static void size_window(struct lx *L, int b, int slot)
{
    bs_topo *t = L->t;
    const struct bs_node *bn = &t->nodes[b];
    bool io = slot == BS_SLOT_WIN_IO;
    uint64_t aligns[44] = {0};
    int max_order = 0;
    uint64_t size = 0, size_big = 0, children_add = 0, add_align = 0;
    uint64_t min_align = io ? 4096 : BS_MIB;

    const struct bs_res *own = &bn->res[slot];
    if (L->keep && (own->flags & BS_RF_ASSIGNED) && own->size) {
        /* Kept from the last round: Linux sizes only windows without a
         * parent resource (find_bus_resource_of_type). */
        size_t i = IDX(b, slot);
        L->sz0[i] = own->size;
        L->aln[i] = L->addaln[i] = own->align ? own->align : min_align;
        L->add[i] = 0;
        return;
    }

    FOR_DEVS(L, b, c) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            if (!present(L, c, k) ||
                bs_bridge_slot_for(bn, res_flags(t, c, k)) != slot)
                continue;
            size_t i = IDX(c, k);
            if (is_vf(k) && L->optional) {
                /* SR-IOV regions below a bridge are optional extras, and
                 * their per-VF alignment counts for the extra's alignment. */
                L->sz0[i] = 0;
                L->add[i] = t->nodes[c].res[k].size;
                L->aln[i] = L->addaln[i] = t->nodes[c].res[k].align;
                L->seq[i] = ++L->nseq;
                children_add += t->nodes[c].res[k].size;
                add_align = max64(add_align, t->nodes[c].res[k].align);
                continue;
            }
            uint64_t r_size = L->sz0[i], align = L->aln[i];
            if (L->optional && L->seq[i]) {
                /* get_res_add_align(): only what is on realloc_head. */
                children_add += L->add[i];
                add_align = max64(add_align, L->addaln[i]);
            }
            /* pbus_size_mem_optional(): an optional child counts in the
             * extra only; a ROM goes on the extras list here. */
            if (L->optional && !io && v_optional(L) && k == BS_SLOT_ROM &&
                !(t->nodes[c].res[k].flags & BS_RF_FIXED)) {
                L->seq[i] = ++L->nseq;
                L->addaln[i] = align;
                children_add += r_size;
                add_align = max64(add_align, align);
                continue;
            }
            if (L->optional && !io && v_optional(L) &&
                bs_slot_is_window(k) && !r_size) {
                add_align = max64(add_align, align);
                continue;
            }
            /* An empty hot-plug window (only an extra, no must-have size)
             * still counts: Linux aligns it at its start (1 MiB) and adds
             * max(size, align) to its parent's must-have size. */
            if (!r_size && !(bs_slot_is_window(k) && !io))
                continue;
            if (io) {
                if (r_size < 0x400)
                    size += r_size;
                else
                    size_big += r_size;
                min_align = max64(min_align, align);
                continue;
            }
            int order = ctz64(align) - 20;
            if (order < 0)
                order = 0;
            if (order >= 44)
                continue; /* Linux disables such a BAR; cannot occur < 2^64 */
            size += max64(r_size, align);
            if (r_size <= align)
                aligns[order] += align;
            if (order > max_order)
                max_order = order;
        }
    }
    uint64_t reserve = hp_reserve(L, b, slot);
    uint64_t min_size = L->optional ? 0 : reserve;
    uint64_t size0, size1;
    /* A window released for a retry keeps its old size ("Keep the old
     * size", pci_bridge_release_resources), and one that failed keeps
     * the size it failed at: calculate_iosize() and, before 7.2,
     * calculate_memsize() never size it smaller.  So a released window
     * usually fits again where it was. */
    uint64_t old = io || !v_tight(L) ? L->old[IDX(b, slot)] : 0;
    if (io) {
        /* calculate_iosize(): the minimum (a hot-plug reserve in a round
         * without realloc_head) stands in for the small I/O only; windows
         * and BARs of 1 KiB or more come on top of it. */
        uint64_t must = max64(size, min_size) + size_big;
        size0 = bs_align_up(max64(must, old), min_align);
        /* 7.2's pbus_size_io() passes the aligned must-have size where
         * the 1 KiB+ part went, so the small I/O is counted twice. */
        if (v_tight(L))
            must = size + size0;
        size1 = (!L->optional || (!reserve && !children_add))
                    ? size0
                    : bs_align_up(max64(max64(must, reserve) + children_add,
                                        old), min_align);
        add_align = min_align;
    } else {
        bool tight = v_tight(L);
        min_align = max64(tight ? head_align(aligns, max_order)
                                : mem_align(aligns, max_order), BS_MIB);
        size0 = bs_align_up(max64(max64(size, min_size), old),
                            tight ? BS_MIB : min_align);
        add_align = max64(min_align, add_align);
        size1 = (!L->optional || (!reserve && !children_add))
                    ? size0
                    : bs_align_up(max64(max64(max64(size, min_size), reserve) +
                                            children_add, old),
                                      tight ? BS_MIB : add_align);
    }
    size_t i = IDX(b, slot);
    L->sz0[i] = size0;
    L->aln[i] = min_align;
    L->add[i] = size1 > size0 ? size1 - size0 : 0;
    L->addaln[i] = add_align;
    if (L->optional && (L->add[i] ||
                        (v_tight(L) && !io && size0 && add_align > min_align)))
        L->seq[i] = ++L->nseq;
}

static void size_bridge(struct lx *L, int b)
{
    FOR_DEVS(L, b, c)
        if (L->t->nodes[c].kind == BS_NODE_BRIDGE)
            size_bridge(L, c);
    size_window(L, b, BS_SLOT_WIN_IO);
    size_window(L, b, BS_SLOT_WIN_PREF);
    size_window(L, b, BS_SLOT_WIN_MEM);
}

/* ---- placing one resource ---- */

/* A place to try: a window of the bus, with the flags Linux gives it. */
struct cand {
    bs_space *s;
    uint32_t flags;
    uint64_t base, last;
    int win;
};

static int bus_windows(struct lx *L, int bus, struct cand *c)
{
    int n = 0;
    if (bus == 0) {
        for (int i = 0; i < L->t->nwin; i++) {
            const struct bs_rootwin *w = &L->t->win[i];
            c[n++] = (struct cand){L->sp.root[i], w->flags, w->base,
                                   bs_last(w->base, w->size), i};
        }
        return n;
    }
    for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
        const struct bs_res *r = &L->t->nodes[bus].res[k];
        if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
            continue;
        c[n++] = (struct cand){bs_spaces_get(&L->sp, bus, k),
                               bs_window_flags(L->t, bus, k), r->addr,
                               bs_last(r->addr, r->size), k};
    }
    return n;
}

/* Lowest fit in [lo, hi] honouring x86's pcibios_align_resource: I/O
 * addresses with bits 8-9 set alias ISA ports and move to the next 1 KiB. */
static bool fit(bs_space *s, uint64_t size, uint64_t align, uint64_t lo,
                uint64_t hi, bool io, uint64_t *addr)
{
    for (;;) {
        uint64_t a;
        if (lo > hi || bs_space_alloc(s, size, align, lo, hi, &a) != BS_OK)
            return false;
        if (!io || !(a & 0x300)) {
            *addr = a;
            return true;
        }
        bs_space_release(s, a, size);
        lo = (a + 0x3ff) & ~(uint64_t)0x3ff;
    }
}

/* Bytes free from `a` on, up to `hi` (a is free): probed, since the space
 * allocator reports fits, not gaps. */
static uint64_t free_run(bs_space *s, uint64_t a, uint64_t hi)
{
    uint64_t ok = 0, bad = hi - a + 2; /* [a, a+ok) free, [a, a+bad) not */
    if (bad == 0 || bs_space_reserve(s, a, hi - a + 1) == BS_OK) {
        if (bad)
            bs_space_release(s, a, hi - a + 1);
        return hi - a + 1;
    }
    while (bad - ok > 1) {
        uint64_t mid = ok + (bad - ok) / 2;
        if (bs_space_reserve(s, a, mid) == BS_OK) {
            bs_space_release(s, a, mid);
            ok = mid;
        } else {
            bad = mid;
        }
    }
    return ok;
}

/* 7.2's pci_align_resource() (9036bd0efcb6): a memory window whose size is
 * not a multiple of its start alignment may start the remainder below the
 * first aligned address of a free gap, so that its small children fill
 * the head before the big one.  One candidate per gap, lowest gap first,
 * as __find_resource_space() tries them. */
static bool fit_headfill(bs_space *s, uint64_t size, uint64_t align,
                         uint64_t lo, uint64_t hi, uint64_t *addr)
{
    uint64_t rem = size % align;
    while (lo <= hi) {
        uint64_t gs;
        if (bs_space_alloc(s, 1, 1, lo, hi, &gs) != BS_OK)
            return false;
        bs_space_release(s, gs, 1);
        uint64_t run = free_run(s, gs, hi), ge = gs + run - 1;
        uint64_t a = bs_align_up(gs, align);
        if (a >= gs + rem)
            a -= rem;
        if (a >= gs && a <= ge && ge - a >= size - 1 &&
            bs_space_reserve(s, a, size) == BS_OK) {
            *addr = a;
            return true;
        }
        if (ge >= hi)
            return false;
        lo = ge + 1;
    }
    return false;
}

static bool try_windows(struct lx *L, struct cand *c, int nc, uint32_t rf,
                        uint32_t mask, uint64_t rlo, uint64_t rhi,
                        uint64_t size, uint64_t align, uint64_t fl,
                        uint64_t fh, bool has_fixed, uint64_t *addr, int *win)
{
    uint32_t typemask = BS_RF_IO | mask;
    bool io = rf & BS_RF_IO;
    for (int i = 0; i < nc; i++) {
        if ((rf ^ c[i].flags) & typemask)
            continue;
        if ((c[i].flags & BS_RF_PREF) && !(rf & BS_RF_PREF))
            continue;
        /* rlo/rhi are bus addresses (the 4 GiB line is the bus's): clip
         * the window's bus range, then back to CPU addresses. */
        uint64_t off = c[i].base - bs_topo_bus_addr(L->t, c[i].base,
                                                    c[i].flags);
        uint64_t bb = c[i].base - off, bl = c[i].last - off;
        if (bl < rlo || bb > rhi)
            continue;
        uint64_t lo = (bb > rlo ? bb : rlo) + off;
        uint64_t hi = (bl < rhi ? bl : rhi) + off;
        uint64_t floor = io ? 0x1000 : BS_MIB; /* PCIBIOS_MIN_IO, BIOS_END */
        if (lo < floor)
            lo = floor;
        if (has_fixed) {
            /* The window must cover the fixed resources below it. */
            uint64_t need_lo = fh - size + 1 > fh ? 0 : fh - size + 1;
            if (fh - fl >= size)
                continue;
            if (need_lo > lo)
                lo = need_lo;
            if (fl + (size - 1) < hi)
                hi = fl + (size - 1);
        }
        if (lo > hi)
            continue;
        bool headfill = v_tight(L) && !io && size % align &&
                        !((size % align) % BS_MIB);
        if (headfill ? fit_headfill(c[i].s, size, align, lo, hi, addr)
                     : fit(c[i].s, size, align, lo, hi, io, addr)) {
            *win = c[i].win;
            return true;
        }
    }
    return false;
}

/* __pci_assign_resource + pci_bus_alloc_resource for one resource. */
static bool place(struct lx *L, int bus, int n, int k, uint64_t size,
                  uint64_t align)
{
    struct cand c[BS_MAX_ROOT_WINDOWS];
    int nc = bus_windows(L, bus, c);
    uint32_t rf = res_flags(L->t, n, k);
    uint64_t fl = 0, fh = 0;
    bool has_fixed = bs_slot_is_window(k) && bs_fixed_hull(L->t, n, k, &fl, &fh);
    static const uint32_t masks[3] = {BS_RF_PREF | BS_RF_MEM64, BS_RF_PREF, 0};
    uint64_t addr = 0;
    int win = BS_WIN_NONE;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 1 && (rf & (BS_RF_PREF | BS_RF_MEM64)) !=
                             (BS_RF_PREF | BS_RF_MEM64))
            continue;
        if (pass == 2 && !(rf & (BS_RF_PREF | BS_RF_MEM64)))
            continue;
        bool ok;
        if (rf & BS_RF_MEM64)
            ok = try_windows(L, c, nc, rf, masks[pass], BS_4G, UINT64_MAX,
                             size, align, fl, fh, has_fixed, &addr, &win) ||
                 try_windows(L, c, nc, rf, masks[pass], 0, UINT64_MAX, size,
                             align, fl, fh, has_fixed, &addr, &win);
        else
            ok = try_windows(L, c, nc, rf, masks[pass], 0,
                             (rf & BS_RF_IO) ? UINT64_MAX : BS_4G - 1, size,
                             align, fl, fh, has_fixed, &addr, &win);
        if (ok) {
            struct bs_res *r = &L->t->nodes[n].res[k];
            r->size = size;
            /* A head-filled window (7.2) starts below its alignment: it
             * is aligned only as far as its address is. */
            if (bs_slot_is_window(k))
                r->align = (addr & (align - 1)) ? (addr & (~addr + 1)) : align;
            bs_res_assign(L->t, n, k, addr, win);
            return true;
        }
    }
    return false;
}

static void unplace(struct lx *L, int bus, int n, int k)
{
    struct bs_res *r = &L->t->nodes[n].res[k];
    if (!(r->flags & BS_RF_ASSIGNED) || (r->flags & BS_RF_FIXED))
        return;
    bs_space_release(bs_spaces_get(&L->sp, bus, r->win), r->addr, r->size);
    bs_res_release(L->t, n, k);
}

/* The window a failed resource would have gone to, for the report. */
static void record_failure(struct lx *L, int bus, int n, int k, uint64_t size,
                           uint64_t align, bool optional)
{
    bs_topo *t = L->t;
    struct bs_res *r = &t->nodes[n].res[k];
    uint32_t rf = res_flags(t, n, k);
    int win = BS_WIN_NONE;
    uint64_t largest = 0;
    if (bus == 0) {
        for (int i = 0; i < t->nwin; i++) {
            if (!!(t->win[i].flags & BS_RF_IO) != !!(rf & BS_RF_IO))
                continue;
            uint64_t hi = UINT64_MAX;
            if (!(rf & (BS_RF_IO | BS_RF_MEM64)) &&
                !bs_rootwin_low(&t->win[i], &hi))
                continue;
            uint64_t lb = bs_space_largest_block(L->sp.root[i], t->win[i].base, hi);
            if (win == BS_WIN_NONE || lb > largest) {
                win = i;
                largest = lb;
            }
        }
    } else {
        win = bs_bridge_slot_for(&t->nodes[bus], rf);
        bs_space *s = bs_spaces_get(&L->sp, bus, win);
        if (s)
            largest = bs_space_largest_block(s, 0, UINT64_MAX);
    }
    r->flags |= BS_RF_FAILED;
    uint64_t need = bs_align_up(size, align);
    char sz[32];
    bs_failure *f = bs_failure_add(
        t, n, k, bus, win, need > largest ? need - largest : 0,
        "can't assign; no space (%s, largest free block %s at that point)",
        bs_fmt_size(size, sz, sizeof sz),
        largest ? bs_fmt_size(largest, (char[32]){0}, 32) : "none");
    if (f) {
        f->size = size;
        f->align = align;
        f->optional = optional;
    }
}

struct item {
    int n, k;
    uint64_t align;
    int order; /* position in device/slot order, for a stable sort */
    bool kept; /* kept from the attempt with extras, at its full size */
};

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    return x->order - y->order;
}

/* Linux's realloc_head is a LIFO list (add_to_list inserts at the head):
 * extras are granted in the reverse of the order sizing recorded them. */
static int cmp_realloc(const void *a, const void *b, const struct lx *L)
{
    const struct item *x = a, *y = b;
    uint64_t sx = L->seq[IDX(x->n, x->k)], sy = L->seq[IDX(y->n, y->k)];
    return sx == sy ? 0 : sx > sy ? -1 : 1;
}

static void sort_realloc(struct item *it, int n, const struct lx *L)
{
    /* Insertion sort: a bus has few items with extras. */
    for (int i = 1; i < n; i++) {
        struct item x = it[i];
        int j = i - 1;
        while (j >= 0 && cmp_realloc(&it[j], &x, L) > 0) {
            it[j + 1] = it[j];
            j--;
        }
        it[j + 1] = x;
    }
}

/* Type bits of a resource as Linux's fail mask sees them. */
enum { T_IO = 1, T_MEM = 2, T_PREF = 4 };
static unsigned type_bits(uint32_t f)
{
    if (f & BS_RF_IO)
        return T_IO;
    return T_MEM | ((f & BS_RF_PREF) ? T_PREF : 0);
}

/* pci_need_to_release(): after a failed attempt with extras, only what
 * shares a type with a failure is released; the rest keeps its place. */
static bool need_release(const struct lx *L, int bus, const struct item *it,
                         unsigned mask)
{
    uint32_t f = res_flags(L->t, it->n, it->k);
    if (f & BS_RF_IO)
        return mask & T_IO;
    if (f & BS_RF_PREF) {
        if (mask & T_PREF)
            return true;
        int w = L->t->nodes[it->n].res[it->k].win;
        uint32_t wf = w == BS_WIN_NONE ? 0 : bs_window_flags(L->t, bus, w);
        return (mask & T_MEM) && !(wf & BS_RF_PREF);
    }
    return mask & T_MEM;
}

/* pbus_assign_resources_sorted + __assign_resources_sorted for one bus. */
static int assign_bus(struct lx *L, int bus)
{
    bs_topo *t = L->t;
    int cnt = 0;
    BS_FOR_CHILDREN(t, bus, c)
        for (int k = 0; k < BS_NSLOTS; k++)
            cnt++;
    struct item *it = malloc(sizeof *it * (size_t)(cnt ? cnt : 1));
    if (!it)
        return BS_ENOMEM;
    int ni = 0, ord = 0;
    bool any_add = false;
    FOR_DEVS(L, bus, c) {
        for (int k = 0; k < BS_NSLOTS; k++, ord++) {
            struct bs_res *r = &t->nodes[c].res[k];
            if (!present(L, c, k) || (r->flags & (BS_RF_FIXED | BS_RF_ASSIGNED)))
                continue;
            if (L->seq[IDX(c, k)])
                any_add = true;
            it[ni++] = (struct item){c, k, L->aln[IDX(c, k)], ord, false};
        }
    }
    qsort(it, (size_t)ni, sizeof *it, cmp_item);

    /* First attempt: everything with its optional extra, windows at the
     * alignment the extra needs (re-sorted, as Linux moves them up).
     * From 6.15 every bus starts this way, optional resources included,
     * even when no extra is pending. */
    bool done = false;
    if ((L->optional && any_add) || v_optional(L)) {
        for (int j = 0; j < ni; j++) {
            size_t i = IDX(it[j].n, it[j].k);
            if (bs_slot_is_window(it[j].k) && L->seq[i] && L->addaln[i] > it[j].align)
                it[j].align = L->addaln[i];
        }
        qsort(it, (size_t)ni, sizeof *it, cmp_item);
        unsigned mask = 0;
        bool required = false;
        for (int j = 0; j < ni; j++) {
            size_t i = IDX(it[j].n, it[j].k);
            uint64_t al = bs_slot_is_window(it[j].k) ? it[j].align : L->aln[i];
            if (!place(L, bus, it[j].n, it[j].k, L->sz0[i] + L->add[i], al)) {
                mask |= type_bits(res_flags(t, it[j].n, it[j].k));
                required |= !is_optional(L, it[j].n, it[j].k);
            }
        }
        if (!mask) {
            done = true;
        } else if (v_optional(L) && !required && !(L->optional && any_add)) {
            /* Only optional resources failed and no extra is pending:
             * they stay unassigned, the rest keeps its place. */
            for (int j = 0; j < ni; j++) {
                size_t i = IDX(it[j].n, it[j].k);
                if (!(t->nodes[it[j].n].res[it[j].k].flags & BS_RF_ASSIGNED))
                    record_failure(L, bus, it[j].n, it[j].k,
                                   L->sz0[i] + L->add[i], L->aln[i], true);
            }
            done = true;
        } else {
            for (int j = 0; j < ni; j++) {
                struct bs_res *r = &t->nodes[it[j].n].res[it[j].k];
                if ((r->flags & BS_RF_ASSIGNED) && !need_release(L, bus, &it[j], mask))
                    it[j].kept = true;
                else
                    unplace(L, bus, it[j].n, it[j].k);
            }
        }
    }
    if (!done) {
        /* Must-have sizes, in the list's current order. */
        for (int j = 0; j < ni; j++) {
            size_t i = IDX(it[j].n, it[j].k);
            if (it[j].kept || !L->sz0[i] ||
                (v_optional(L) && is_optional(L, it[j].n, it[j].k)))
                continue;
            if (!place(L, bus, it[j].n, it[j].k, L->sz0[i], L->aln[i]))
                record_failure(L, bus, it[j].n, it[j].k, L->sz0[i], L->aln[i],
                               false);
        }
        /* Then the extras (reassign_resources_sorted), LIFO: an optional
         * item is assigned at its full size or left out; an assigned one
         * is reallocated at the lowest place that fits the bigger size
         * (its own old range counting as free), else kept. */
        int m = 0;
        for (int j = 0; j < ni; j++)
            if (!it[j].kept && L->seq[IDX(it[j].n, it[j].k)])
                it[m++] = it[j];
        sort_realloc(it, m, L);
        for (int j = 0; L->optional && j < m; j++) {
            int n = it[j].n, k = it[j].k;
            size_t i = IDX(n, k);
            struct bs_res *r = &t->nodes[n].res[k];
            uint64_t want = L->sz0[i] + L->add[i];
            uint64_t al = max64(L->aln[i], L->addaln[i]);
            if (!(r->flags & BS_RF_ASSIGNED)) {
                if (is_optional(L, n, k) && !place(L, bus, n, k, want, al))
                    record_failure(L, bus, n, k, want, al, true);
                continue;
            }
            /* 7.2 leaves an item alone whose extra is only alignment and
             * whose place already has it. */
            if (v_tight(L) && !L->add[i] && !(r->addr & (al - 1)))
                continue;
            uint64_t old = r->addr, oldsz = r->size;
            int oldwin = r->win;
            unplace(L, bus, n, k);
            if (place(L, bus, n, k, want, al))
                continue;
            /* Keep the must-have placement. */
            bs_space_reserve(bs_spaces_get(&L->sp, bus, oldwin), old, oldsz);
            r->size = oldsz;
            bs_res_assign(t, n, k, old, oldwin);
        }
    }
    free(it);
    return BS_OK;
}

/* Reserve the fixed resources of a bus's devices in the bus's windows:
 * BARs, and the windows of bridges the firmware programmed (Linux claims
 * those too, so nothing new is placed over them). */
static void claim_fixed(struct lx *L, int bus)
{
    bs_topo *t = L->t;
    struct cand c[BS_MAX_ROOT_WINDOWS];
    int nc = bus_windows(L, bus, c);
    FOR_DEVS(L, bus, n) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            if (!r->size || !(r->flags & BS_RF_FIXED))
                continue;
            r->win = BS_WIN_NONE;
            /* a window's type is its slot's */
            unsigned io = k == BS_SLOT_WIN_IO ? BS_RF_IO
                          : bs_slot_is_window(k) ? 0 : r->flags & BS_RF_IO;
            for (int w = 0; w < nc; w++) {
                /* pci_find_parent_resource(): never a non-prefetchable
                 * BAR or window inside a prefetchable window. */
                unsigned pref = k == BS_SLOT_WIN_PREF ? BS_RF_PREF
                                : bs_slot_is_window(k) ? 0
                                : r->flags & BS_RF_PREF;
                if ((io ^ (c[w].flags & BS_RF_IO)) ||
                    ((c[w].flags & BS_RF_PREF) && !pref) ||
                    r->fixed < c[w].base || r->fixed > c[w].last)
                    continue;
                if (bs_space_reserve(c[w].s, r->fixed, r->size) == BS_OK)
                    r->win = c[w].win;
                break;
            }
            if (r->win == BS_WIN_NONE)
                bs_fixed_failed(t, bus, n, k);
        }
        /* A retry round keeps what the last one assigned: its ranges are
         * taken before anything new is placed. */
        for (int k = 0; L->keep && k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            if (!r->size || (r->flags & BS_RF_FIXED) ||
                !(r->flags & BS_RF_ASSIGNED))
                continue;
            bs_space *s = bs_spaces_get(&L->sp, bus, r->win);
            if (!s || bs_space_reserve(s, r->addr, r->size) != BS_OK) {
                /* Cannot happen for a state the last round left; if it
                 * does, place it again rather than overlap. */
                bs_res_release(t, n, k);
            }
        }
    }
}

static int assign_tree(struct lx *L, int bus)
{
    claim_fixed(L, bus);
    int rc = assign_bus(L, bus);
    if (rc)
        return rc;
    FOR_DEVS(L, bus, c) {
        if (L->t->nodes[c].kind != BS_NODE_BRIDGE)
            continue;
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
            struct bs_res *r = &L->t->nodes[c].res[k];
            if ((r->flags & BS_RF_ASSIGNED) && r->size &&
                (rc = bs_spaces_open(&L->sp, c, k)))
                return rc;
        }
        if ((rc = assign_tree(L, c)))
            return rc;
    }
    return BS_OK;
}

/* Every resource below a bridge window that never got one fails too:
 * Linux reports them with "no space" when their bus has no window. */
static void fail_orphans(struct lx *L)
{
    bs_topo *t = L->t;
    for (int n = 1; n < t->nnodes; n++) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            if (!present(L, n, k) || (r->flags & (BS_RF_ASSIGNED | BS_RF_FAILED)))
                continue;
            if (bs_slot_is_window(k) || is_vf(k))
                continue;
            r->flags |= BS_RF_FAILED;
            int p = t->nodes[n].parent;
            bs_failure_add(t, n, k, p,
                           p ? bs_bridge_slot_for(&t->nodes[p], r->flags) : 0,
                           r->size,
                           "can't assign; no space (parent window missing)");
        }
    }
}

static int max_depth(const bs_topo *t)
{
    int d = 0;
    for (int i = 0; i < t->nnodes; i++)
        if (t->nodes[i].kind == BS_NODE_BRIDGE && t->nodes[i].depth > d)
            d = t->nodes[i].depth;
    return d;
}

static bool has_vf(const bs_topo *t)
{
    for (int i = 1; i < t->nnodes; i++)
        for (int k = BS_SLOT_VF0; k < BS_SLOT_VF0 + 6; k++)
            if (t->nodes[i].res[k].size)
                return true;
    return false;
}

static bool hard_failures(const bs_topo *t)
{
    for (int i = 0; i < t->nfail; i++)
        if (!t->fail[i].optional)
            return true;
    return false;
}

/* ---- pci=realloc retry rounds ---- */

/* pci_bridge_release_resources() for one window: it and everything placed
 * in it below the bridge lose their addresses (release_child_resources). */
static void release_window(const struct lx *L, int b, int slot)
{
    bs_topo *t = L->t;
    struct bs_res *w = &t->nodes[b].res[slot];
    if (!(w->flags & BS_RF_ASSIGNED) || (w->flags & BS_RF_FIXED) || !w->size)
        return;
    L->old[IDX(b, slot)] = w->size;
    uint64_t lo = w->addr, hi = bs_last(w->addr, w->size);
    bool io = slot == BS_SLOT_WIN_IO;
    for (int n = b + 1; n < t->nnodes; n++) {
        if (!bs_topo_is_ancestor(t, b, n))
            continue;
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            bool rio = bs_slot_is_window(k) ? k == BS_SLOT_WIN_IO
                                            : (r->flags & BS_RF_IO) != 0;
            if (!(r->flags & BS_RF_ASSIGNED) || (r->flags & BS_RF_FIXED) ||
                !r->size || rio != io || r->addr < lo || r->addr > hi)
                continue;
            bs_res_release(t, n, k);
        }
    }
    bs_res_release(t, b, slot);
}

/* The window of bridge b that a failure of type f releases: I/O, memory,
 * or the prefetchable one when it is 64-bit like the failure; when the
 * prefetchable window itself failed (Linux reset its flags), memory. */
static void release_bridge(const struct lx *L, int b, uint32_t f)
{
    bs_topo *t = L->t;
    const struct bs_res *pw = &t->nodes[b].res[BS_SLOT_WIN_PREF];
    bool pref_ok = v_keep_type(L) || !(pw->flags & BS_RF_FAILED);
    bool pref64 = !(t->nodes[b].flags & BS_NF_PREF32);
    int slot;
    if (f & BS_RF_IO)
        slot = BS_SLOT_WIN_IO;
    else if (!(f & BS_RF_PREF))
        slot = BS_SLOT_WIN_MEM;
    else if ((f & BS_RF_MEM64) && pref_ok && pref64)
        slot = BS_SLOT_WIN_PREF;
    else if (!pref_ok)
        slot = BS_SLOT_WIN_MEM;
    else
        return;
    release_window(L, b, slot);
}

/* pci_bus_release_bridge_resources(): the bridge above bus `bus` gives
 * back its window when it is a leaf (no bridge below), or in a whole-
 * subtree round together with every bridge below it. */
static void release_bus(const struct lx *L, int bus, uint32_t f, bool whole)
{
    const bs_topo *t = L->t;
    bool leaf = true;
    BS_FOR_CHILDREN(t, bus, c) {
        if (t->nodes[c].kind != BS_NODE_BRIDGE)
            continue;
        leaf = false;
        if (whole)
            release_bus(L, c, f, whole);
    }
    if (bus != 0 && (whole || leaf))
        release_bridge(L, bus, f);
}

/* Between two rounds: release above every failure of the last one (the
 * failure's own bus: nothing at the root), then forget the failures. */
static void release_for_retry(const struct lx *L, bool whole)
{
    bs_topo *t = L->t;
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *fl = &t->fail[i];
        if (fl->node > 0 && bs_slot_is_window(fl->slot))
            L->old[IDX(fl->node, fl->slot)] = fl->size;
    }
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *fl = &t->fail[i];
        if (fl->optional || fl->node <= 0)
            continue;
        uint32_t f = bs_slot_is_window(fl->slot)
                         ? bs_window_flags(t, fl->node, fl->slot)
                         : t->nodes[fl->node].res[fl->slot].flags;
        release_bus(L, t->nodes[fl->node].parent, f, whole);
    }
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &t->nodes[n].res[k];
            r->flags &= ~(uint32_t)BS_RF_FAILED;
            /* Windows that lost their place are sized again. */
            if (bs_slot_is_window(k) && !(r->flags & (BS_RF_ASSIGNED | BS_RF_FIXED)))
                r->size = 0;
        }
    bs_failures_clear(t);
}

int bs_assign_linux(bs_topo *t, const bs_assign_opts *o)
{
    struct lx L = {.t = t, .o = o,
                   .v = o->kernel ? o->kernel : bs_kernel_newest()};
    size_t n = (size_t)t->nnodes * BS_NSLOTS;
    L.sz0 = calloc(n, sizeof *L.sz0);
    L.add = calloc(n, sizeof *L.add);
    L.aln = calloc(n, sizeof *L.aln);
    L.addaln = calloc(n, sizeof *L.addaln);
    L.seq = calloc(n, sizeof *L.seq);
    L.old = calloc(n, sizeof *L.old);
    L.first_dev = malloc(sizeof *L.first_dev * (size_t)t->nnodes);
    L.next_dev = malloc(sizeof *L.next_dev * (size_t)t->nnodes);
    int rc = BS_ENOMEM;
    if (!L.sz0 || !L.add || !L.aln || !L.addaln || !L.seq || !L.old ||
        !L.first_dev || !L.next_dev)
        goto out;
    scan_order(&L);
    bool realloc_on = o->realloc > 0 || (o->realloc == 0 && has_vf(t));
    int tries = realloc_on ? max_depth(t) + 1 : 1;
    for (int round = 0; round < tries; round++) {
        L.optional = round == tries - 1;
        /* The first round starts from nothing; a retry keeps what the
         * last one placed except what the failures release (Linux:
         * pci_assign_unassigned_root_bus_resources, leaf bridges in the
         * second round, whole subtrees from the third). */
        L.keep = round > 0;
        if (round == 0)
            bs_topo_unassign(t);
        else
            release_for_retry(&L, round >= 2);
        memset(L.sz0, 0, n * sizeof *L.sz0);
        memset(L.add, 0, n * sizeof *L.add);
        memset(L.addaln, 0, n * sizeof *L.addaln);
        memset(L.seq, 0, n * sizeof *L.seq);
        L.nseq = 0;
        for (int i = 1; i < t->nnodes; i++)
            for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
                L.sz0[IDX(i, k)] = t->nodes[i].res[k].size;
                L.aln[IDX(i, k)] = t->nodes[i].res[k].align;
            }
        FOR_DEVS(&L, 0, c)
            if (t->nodes[c].kind == BS_NODE_BRIDGE)
                size_bridge(&L, c);
        if ((rc = bs_spaces_init(&L.sp, t)))
            goto out;
        rc = assign_tree(&L, 0);
        bs_spaces_fini(&L.sp);
        if (rc)
            goto out;
        fail_orphans(&L);
        if (!hard_failures(t))
            break;
    }
    /* Windows that ended up unused are disabled, as Linux does. */
    for (int i = 1; i < t->nnodes; i++)
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
            if (!(t->nodes[i].res[k].flags & BS_RF_ASSIGNED))
                t->nodes[i].res[k].size = 0;
    rc = hard_failures(t) ? BS_ENOSPC : BS_OK;
out:
    free(L.sz0);
    free(L.add);
    free(L.aln);
    free(L.addaln);
    free(L.seq);
    free(L.old);
    free(L.first_dev);
    free(L.next_dev);
    return rc;
}
