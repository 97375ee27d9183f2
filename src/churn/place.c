/*
 * Hot-add placement without moving anything.
 *
 * `linux`: what Linux does when a device appears in a hot-plug slot whose
 * bridge windows are already assigned: each BAR, largest alignment first,
 * goes to the lowest fitting address of the first window that takes it
 * (64-bit BARs above 4 GiB first).  Nothing else moves.
 *
 * `barspace`: buddy best fit.  A BAR of 2^k bytes goes into the smallest
 * free naturally aligned block that holds it: the lowest free aligned 2^j
 * block (j >= k, increasing) whose enclosing 2^(j+1) block is not entirely
 * free.  So a larger free aligned block is never broken while a snug one
 * exists (within a bounded number of probes), which keeps room for the next
 * large device.  Each probe is an O(log n) query of the window's allocator.
 */
#include "churn/churn_internal.h"

#include <stdlib.h>

int bs_ritem_cmp(const void *a, const void *b)
{
    const struct bs_ritem *x = a, *y = b;
    /* 32-bit-only items first on buses where they share windows. */
    bool x32 = !(x->flags & (BS_RF_IO | BS_RF_MEM64));
    bool y32 = !(y->flags & (BS_RF_IO | BS_RF_MEM64));
    if (x32 != y32)
        return x32 ? -1 : 1;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->node != y->node)
        return x->node - y->node;
    return x->slot - y->slot;
}

/* Largest alignment first, whatever the width: the order for which first
 * fit in one window is exact (the planner's second try, see plan.c). */
int bs_ritem_cmp_align(const void *a, const void *b)
{
    const struct bs_ritem *x = a, *y = b;
    if (x->align != y->align)
        return x->align > y->align ? -1 : 1;
    return bs_ritem_cmp(a, b);
}

/* Is [a, a+size) entirely free in s?  Probed with reserve + release. */
static bool range_free(bs_space *s, uint64_t a, uint64_t size)
{
    if (bs_space_reserve(s, a, size) != BS_OK)
        return false;
    bs_space_release(s, a, size);
    return true;
}

#define PROBES 8
#define ORDERS 12

/* Best fit inside [lo, hi]; false if nothing fits. */
bool bs_best_fit(bs_space *s, uint64_t size, uint64_t align, uint64_t lo,
                     uint64_t hi, uint64_t *out)
{
    uint64_t first;
    if (bs_space_alloc(s, size, align, lo, hi, &first) != BS_OK)
        return false;
    bs_space_release(s, first, size);
    if (!bs_is_pow2(size) || size != align) {
        *out = first; /* ragged regions (SR-IOV): lowest fit */
        return true;
    }
    for (int j = 0; j < ORDERS; j++) {
        uint64_t blk = size << j;
        if (blk < size || blk == 0)
            break;
        uint64_t from = lo;
        for (int p = 0; p < PROBES; p++) {
            uint64_t a;
            if (from > hi || bs_space_alloc(s, blk, blk, from, hi, &a) != BS_OK)
                break;
            bs_space_release(s, a, blk);
            uint64_t par = blk << 1;
            uint64_t pa = a & ~(par - 1);
            if (par < blk || pa < lo || bs_last(pa, par) > hi ||
                !range_free(s, pa, par)) {
                *out = a;
                return true;
            }
            /* The parent is free too: skip the whole free aligned run. */
            uint64_t run = par;
            while (run << 1 > run) {
                uint64_t ra = a & ~((run << 1) - 1);
                if (ra < lo || bs_last(ra, run << 1) > hi ||
                    !range_free(s, ra, run << 1))
                    break;
                run <<= 1;
            }
            uint64_t next = (a & ~(run - 1)) + run;
            if (next <= a)
                break;
            from = next;
        }
    }
    *out = first;
    return true;
}

void bs_unplace_items(bs_churn *c, int bus, const struct bs_ritem *it, int n)
{
    for (int i = 0; i < n; i++) {
        bs_space *s = bs_churn_space(c, bus, it[i].win);
        if (s)
            bs_space_release(s, it[i].addr, it[i].size);
    }
}

bool bs_place_items(bs_churn *c, int bus, struct bs_ritem *it, int n,
                    int policy)
{
    qsort(it, (size_t)n, sizeof *it, bs_ritem_cmp);
    for (int i = 0; i < n; i++) {
        bs_space *s[BS_MAX_ROOT_WINDOWS * 2];
        int win[BS_MAX_ROOT_WINDOWS * 2];
        uint64_t lo[BS_MAX_ROOT_WINDOWS * 2], hi[BS_MAX_ROOT_WINDOWS * 2];
        int nw = bs_churn_windows(c, bus, it[i].flags, s, win, lo, hi,
                                  BS_MAX_ROOT_WINDOWS * 2);
        bool ok = false;
        for (int w = 0; w < nw && !ok; w++) {
            uint64_t l = lo[w];
            if (policy == BS_PLACE_LINUX && !(it[i].flags & BS_RF_IO) &&
                l < BS_MIB)
                l = BS_MIB;
            uint64_t a;
            if (policy == BS_PLACE_LINUX) {
                ok = bs_space_alloc(s[w], it[i].size, it[i].align, l, hi[w],
                                    &a) == BS_OK;
            } else {
                ok = bs_best_fit(s[w], it[i].size, it[i].align, l, hi[w], &a) &&
                     bs_space_reserve(s[w], a, it[i].size) == BS_OK;
            }
            if (ok) {
                it[i].addr = a;
                it[i].win = win[w];
            }
        }
        if (!ok) {
            bs_unplace_items(c, bus, it, i);
            return false;
        }
    }
    return true;
}
