/*
 * The address-space allocator (bs_space): lowest-fit placement of ranges in
 * a set of disjoint windows, in O(log n).  Design notes, invariants and
 * measured figures: docs/allocator.md.
 *
 * Free extents: an AVL tree keyed by start address, each node augmented
 * with the subtree maximum of (a) log2 of the largest naturally aligned
 * power-of-two block inside one extent and (b) extent length - 1, so that
 * searches skip every subtree that cannot fit.  Live allocations and
 * reservations: an open-addressing hash table keyed by start, so that a
 * release is checked exactly in O(1) expected time.  Every range is kept as
 * [start, last] (inclusive) so a window ending at 2^64 needs no 65-bit end.
 *
 * Tree nodes live in one array per space, linked by 32-bit index (index 0 is
 * an all-zero sentinel: height 0, augmentations 0): small nodes, no malloc
 * per operation, and one multiply-add per child access.  Every operation
 * reserves the memory it may need before it changes anything, so ENOMEM
 * never leaves a half-done operation and the array never moves while node
 * pointers are held.
 */
#include "core/internal.h"
#include "core/space.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 16u
#define MAX_DEPTH 96 /* AVL height <= 1.44 log2(2^32) ~ 46 */

/* A free extent: 32 bytes, two per cache line (the array is 64-byte
 * aligned).  The top 6 bits of the child links hold the AVL height (in lw)
 * and the subtree maximum of extent_k() (in rw). */
struct fnode {
    uint32_t lw, rw;
    uint64_t start, last;
    uint64_t maxspan; /* subtree max of last - start */
};

#define IDX_BITS 26
#define IDX_MASK ((UINT32_C(1) << IDX_BITS) - 1)
#define MAX_NODES IDX_MASK /* 67M free extents; beyond that: ENOMEM */

static inline uint32_t L(const struct fnode *n) { return n->lw & IDX_MASK; }
static inline uint32_t R(const struct fnode *n) { return n->rw & IDX_MASK; }
static inline unsigned H(const struct fnode *n) { return n->lw >> IDX_BITS; }
static inline unsigned MK(const struct fnode *n) { return n->rw >> IDX_BITS; }
static inline void set_l(struct fnode *n, uint32_t i)
{
    n->lw = (n->lw & ~IDX_MASK) | i;
}
static inline void set_r(struct fnode *n, uint32_t i)
{
    n->rw = (n->rw & ~IDX_MASK) | i;
}

struct tree {
    struct fnode *n;   /* n[0] is the all-zero sentinel */
    uint32_t cap;      /* slots in n, a power of two */
    uint32_t next;     /* first never-used index */
    uint32_t freelist; /* recycled nodes, linked through l */
    uint32_t nfree;
    uint32_t used;     /* live extents */
    uint32_t root;
};

/* A live allocation or reservation, in an open-addressing hash table keyed
 * by start (linear probing, backward-shift deletion).  Empty: last < start. */
struct arange {
    uint64_t start, last;
};

struct aset {
    struct arange *e;
    size_t cap, n;     /* cap: power of two, or 0 */
    unsigned shift;    /* 64 - log2(cap) */
};

struct win {
    uint64_t base, last;
};

struct bs_space {
    struct tree fr;  /* free extents */
    struct aset al;  /* allocations and reservations */
    struct win *win;
    size_t nwin, wincap;
};

/* ------------------------------------------------------------ arithmetic */

static int floor_log2(uint64_t x) /* x > 0 */
{
    return 63 - __builtin_clzll(x);
}

/* Round x up to a multiple of mask+1; false if that passes 2^64. */
static int align_up_ok(uint64_t x, uint64_t mask, uint64_t *out)
{
    if (!(x & mask)) {
        *out = x;
        return 1;
    }
    if ((x | mask) == UINT64_MAX)
        return 0;
    *out = (x | mask) + 1;
    return 1;
}

/* log2 of the largest naturally aligned power-of-two block inside
 * [s, l].  A range of length >= 2^(j+1) always holds an aligned 2^j block,
 * so only j = floor_log2(length) and j - 1 are candidates.  The whole 2^64
 * space reports 63: 2^64 is not representable. */
static unsigned extent_k(uint64_t s, uint64_t l)
{
    uint64_t span = l - s;
    if (span == UINT64_MAX)
        return 63;
    int j = floor_log2(span + 1);
    uint64_t mask = (UINT64_C(1) << j) - 1, a;
    if (align_up_ok(s, mask, &a) && a <= l && l - a >= mask)
        return (unsigned)j;
    return (unsigned)(j - 1);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ------------------------------------------------------------ node array */

#define ND(t, i) (&(t)->n[(i)])

/* Make sure k nodes can be taken without moving the array. */
static int tree_reserve(struct tree *t, uint32_t k)
{
    if (t->nfree + (t->cap - t->next) >= k)
        return BS_OK;
    uint32_t cap = t->cap ? t->cap : FIRST_CAP / 2;
    while (t->nfree + (cap - t->next) < k) {
        if (cap > MAX_NODES / 2)
            return BS_ENOMEM;
        cap *= 2;
    }
    /* aligned so that no node straddles two cache lines */
    struct fnode *n = aligned_alloc(64, (size_t)cap * sizeof *n);
    if (!n)
        return BS_ENOMEM;
    if (t->cap)
        memcpy(n, t->n, (size_t)t->next * sizeof *n);
    else
        memset(&n[0], 0, sizeof n[0]);
    if (!t->cap)
        t->next = 1;
    free(t->n);
    t->n = n;
    t->cap = cap;
    return BS_OK;
}

static void set_bounds(struct fnode *n, uint64_t start, uint64_t last)
{
    n->start = start;
    n->last = last;
}

/* Only after tree_reserve: never fails. */
static uint32_t node_take(struct tree *t, uint64_t start, uint64_t last)
{
    uint32_t i;
    if (t->freelist) {
        i = t->freelist;
        t->freelist = L(ND(t, i));
        t->nfree--;
    } else {
        i = t->next++;
    }
    struct fnode *n = ND(t, i);
    n->lw = n->rw = 0;
    set_bounds(n, start, last);
    t->used++;
    return i;
}

static void node_put(struct tree *t, uint32_t i)
{
    ND(t, i)->lw = t->freelist;
    t->freelist = i;
    t->nfree++;
    t->used--;
}

/* ------------------------------------------------------------- AVL core */

static inline void upd(const struct tree *t, uint32_t i)
{
    struct fnode *n = ND(t, i);
    const struct fnode *a = ND(t, L(n)), *b = ND(t, R(n));
    unsigned h = 1 + (H(a) > H(b) ? H(a) : H(b));
    unsigned k = extent_k(n->start, n->last);
    if (MK(a) > k)
        k = MK(a);
    if (MK(b) > k)
        k = MK(b);
    n->lw = L(n) | (uint32_t)h << IDX_BITS;
    n->rw = R(n) | (uint32_t)k << IDX_BITS;
    uint64_t sp = n->last - n->start;
    if (a->maxspan > sp)
        sp = a->maxspan;
    if (b->maxspan > sp)
        sp = b->maxspan;
    n->maxspan = sp;
}

static uint32_t rot_right(const struct tree *t, uint32_t x)
{
    uint32_t y = L(ND(t, x));
    set_l(ND(t, x), R(ND(t, y)));
    set_r(ND(t, y), x);
    upd(t, x);
    upd(t, y);
    return y;
}

static uint32_t rot_left(const struct tree *t, uint32_t x)
{
    uint32_t y = R(ND(t, x));
    set_r(ND(t, x), L(ND(t, y)));
    set_l(ND(t, y), x);
    upd(t, x);
    upd(t, y);
    return y;
}

static inline int hgt(const struct tree *t, uint32_t i)
{
    return (int)H(ND(t, i));
}

static uint32_t rebalance(const struct tree *t, uint32_t x)
{
    struct fnode *n = ND(t, x);
    int bf = hgt(t, L(n)) - hgt(t, R(n));
    if (bf > 1) {
        const struct fnode *c = ND(t, L(n));
        if (hgt(t, L(c)) < hgt(t, R(c)))
            set_l(n, rot_left(t, L(n)));
        return rot_right(t, x);
    }
    if (bf < -1) {
        const struct fnode *c = ND(t, R(n));
        if (hgt(t, R(c)) < hgt(t, L(c)))
            set_r(n, rot_right(t, R(n)));
        return rot_left(t, x);
    }
    upd(t, x);
    return x;
}

static uint32_t avl_insert(const struct tree *t, uint32_t x, uint32_t i)
{
    if (!x) {
        upd(t, i);
        return i;
    }
    struct fnode *n = ND(t, x);
    if (ND(t, i)->start < n->start)
        set_l(n, avl_insert(t, L(n), i));
    else
        set_r(n, avl_insert(t, R(n), i));
    return rebalance(t, x);
}

static uint32_t avl_remove_min(const struct tree *t, uint32_t x,
                               uint32_t *min)
{
    struct fnode *n = ND(t, x);
    if (!L(n)) {
        *min = x;
        return R(n);
    }
    set_l(n, avl_remove_min(t, L(n), min));
    return rebalance(t, x);
}

/* Unlink the node keyed `key` (which must exist); returns the new root and
 * the unlinked node in *gone. */
static uint32_t avl_remove(const struct tree *t, uint32_t x, uint64_t key,
                           uint32_t *gone)
{
    struct fnode *n = ND(t, x);
    if (key < n->start) {
        set_l(n, avl_remove(t, L(n), key, gone));
    } else if (key > n->start) {
        set_r(n, avl_remove(t, R(n), key, gone));
    } else {
        *gone = x;
        if (!L(n))
            return R(n);
        if (!R(n))
            return L(n);
        uint32_t m;
        uint32_t r = avl_remove_min(t, R(n), &m);
        set_l(ND(t, m), L(n));
        set_r(ND(t, m), r);
        return rebalance(t, m);
    }
    return rebalance(t, x);
}

static void tree_insert(struct tree *t, uint64_t start, uint64_t last)
{
    uint32_t i = node_take(t, start, last);
    t->root = avl_insert(t, t->root, i);
}

static void tree_delete(struct tree *t, uint64_t key)
{
    uint32_t gone = 0;
    t->root = avl_remove(t, t->root, key, &gone);
    node_put(t, gone);
}

/* Give the extent at the end of path[0..d) (root first) new bounds that
 * keep its place in address order, and recompute the augmentations on the
 * path. */
static void path_rebound(struct tree *t, const uint32_t *path, int d,
                         uint64_t start, uint64_t last)
{
    set_bounds(ND(t, path[d - 1]), start, last);
    while (d > 0)
        upd(t, path[--d]);
}

/* The same for the extent keyed `key`, finding its path first. */
static void tree_rebound(struct tree *t, uint64_t key, uint64_t start,
                         uint64_t last)
{
    uint32_t path[MAX_DEPTH];
    int d = 0;
    uint32_t x = t->root;
    while (x) {
        path[d++] = x;
        const struct fnode *n = ND(t, x);
        if (key == n->start)
            break;
        x = key < n->start ? L(n) : R(n);
    }
    path_rebound(t, path, d, start, last);
}

/* ------------------------------------------------------ allocation table */

#define A_EMPTY(e) ((e)->last < (e)->start)

static size_t a_home(const struct aset *a, uint64_t key)
{
    /* Fibonacci hashing: the high product bits mix all key bits, so
     * addresses that are multiples of big powers of two still spread. */
    return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> a->shift);
}

static void a_put(struct aset *a, uint64_t start, uint64_t last)
{
    size_t m = a->cap - 1, i = a_home(a, start);
    while (!A_EMPTY(&a->e[i]))
        i = (i + 1) & m;
    a->e[i].start = start;
    a->e[i].last = last;
    a->n++;
}

/* Room for one more entry at a load factor of at most 3/4. */
static int aset_reserve(struct aset *a)
{
    if ((a->n + 1) * 4 <= a->cap * 3)
        return BS_OK;
    size_t cap = a->cap ? a->cap * 2 : 16;
    struct arange *e = malloc(cap * sizeof *e);
    if (!e)
        return BS_ENOMEM;
    for (size_t i = 0; i < cap; i++) {
        e[i].start = 1;
        e[i].last = 0;
    }
    struct aset old = *a;
    a->e = e;
    a->cap = cap;
    a->n = 0;
    a->shift = (unsigned)(64 - floor_log2(cap));
    for (size_t i = 0; i < old.cap; i++)
        if (!A_EMPTY(&old.e[i]))
            a_put(a, old.e[i].start, old.e[i].last);
    free(old.e);
    return BS_OK;
}

static struct arange *a_find(const struct aset *a, uint64_t start)
{
    if (!a->cap)
        return NULL;
    size_t m = a->cap - 1, i = a_home(a, start);
    while (!A_EMPTY(&a->e[i])) {
        if (a->e[i].start == start)
            return &a->e[i];
        i = (i + 1) & m;
    }
    return NULL;
}

/* Backward-shift deletion keeps every probe run gap-free, so no
 * tombstones accumulate under churn. */
static void a_del(struct aset *a, struct arange *e)
{
    size_t m = a->cap - 1, i = (size_t)(e - a->e);
    for (size_t j = (i + 1) & m; !A_EMPTY(&a->e[j]); j = (j + 1) & m) {
        size_t home = a_home(a, a->e[j].start);
        if (((j - home) & m) >= ((j - i) & m)) {
            a->e[i] = a->e[j];
            i = j;
        }
    }
    a->e[i].start = 1;
    a->e[i].last = 0;
    a->n--;
}

/* ---------------------------------------------------------------- search */

struct req {
    uint64_t size1; /* size - 1 */
    uint64_t mask;  /* align - 1 */
    uint64_t lo, hi;
    unsigned k;     /* every fitting extent holds an aligned 2^k block */
};

static int fits(const struct req *q, uint64_t s, uint64_t l, uint64_t *a)
{
    if (s < q->lo)
        s = q->lo;
    if (l > q->hi)
        l = q->hi;
    if (s > l)
        return 0;
    uint64_t x;
    if (!align_up_ok(s, q->mask, &x) || x > l || l - x < q->size1)
        return 0;
    *a = x;
    return 1;
}

/* First extent in address order that fits; on success path[0..*d) leads
 * from the root to it.  A subtree is entered only if its augmentations
 * allow a fit; for size == align (a power of two) and a subtree entirely
 * inside [lo, hi] that test is exact, so only subtrees on the search paths
 * of lo and hi can be entered in vain. */
static int find_first(const struct tree *t, uint32_t x, const struct req *q,
                      uint64_t *a, uint32_t *path, int *d)
{
    int d0 = *d;
    while (x) {
        const struct fnode *f = ND(t, x);
        if (MK(f) < q->k || f->maxspan < q->size1)
            break;
        /* both children may be visited: overlap their cache misses */
        __builtin_prefetch(ND(t, R(f)));
        __builtin_prefetch(ND(t, L(f)));
        path[(*d)++] = x;
        if (f->start > q->lo && find_first(t, L(f), q, a, path, d))
            return 1;
        if (f->start > q->hi)
            break;
        if (fits(q, f->start, f->last, a))
            return 1;
        if (f->last >= q->hi)
            break;
        x = R(f);
    }
    *d = d0;
    return 0;
}

/* Largest block (as log2) inside [lo, hi].  lo_ok / hi_ok: every extent of
 * this subtree starts at or after lo / ends at or before hi, so the
 * subtree's augmentation is the exact answer. */
static void largest_in(const struct tree *t, uint32_t x, uint64_t lo,
                       uint64_t hi, int lo_ok, int hi_ok, int *best)
{
    while (x) {
        const struct fnode *n = ND(t, x);
        if ((int)MK(n) <= *best)
            return;
        if (lo_ok && hi_ok) {
            *best = (int)MK(n);
            return;
        }
        if (n->start > lo)
            largest_in(t, L(n), lo, hi, lo_ok, hi_ok || n->start <= hi,
                       best);
        if (n->start > hi)
            return;
        uint64_t s = n->start > lo ? n->start : lo;
        uint64_t l = n->last < hi ? n->last : hi;
        if (s <= l) {
            int k = (int)extent_k(s, l);
            if (k > *best)
                *best = k;
        }
        if (n->last >= hi)
            return;
        lo_ok = lo_ok || n->last >= lo;
        x = R(n);
    }
}

/* ---------------------------------------------------------------- windows */

/* Index of the first window with base > x. */
static size_t win_upper(const bs_space *s, uint64_t x)
{
    size_t lo = 0, hi = s->nwin;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (s->win[m].base <= x)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

static int is_window_start(const bs_space *s, uint64_t x)
{
    size_t i = win_upper(s, x);
    return i > 0 && s->win[i - 1].base == x;
}

/* ------------------------------------------------------------ public API */

bs_space *bs_space_new(void)
{
    return calloc(1, sizeof(bs_space));
}

void bs_space_free(bs_space *s)
{
    if (!s)
        return;
    free(s->fr.n);
    free(s->al.e);
    free(s->win);
    free(s);
}

int bs_space_add_window(bs_space *s, uint64_t base, uint64_t size)
{
    if (!s || !size || size - 1 > UINT64_MAX - base)
        return BS_EINVAL;
    uint64_t last = base + (size - 1);
    size_t i = win_upper(s, base);
    if (i > 0 && s->win[i - 1].last >= base)
        return BS_EINVAL;
    if (i < s->nwin && s->win[i].base <= last)
        return BS_EINVAL;
    if (s->nwin == s->wincap) {
        size_t cap = s->wincap ? s->wincap * 2 : 4;
        struct win *w = realloc(s->win, cap * sizeof *w);
        if (!w)
            return BS_ENOMEM;
        s->win = w;
        s->wincap = cap;
    }
    int rc = tree_reserve(&s->fr, 1);
    if (rc)
        return rc;
    memmove(&s->win[i + 1], &s->win[i], (s->nwin - i) * sizeof *s->win);
    s->win[i].base = base;
    s->win[i].last = last;
    s->nwin++;
    /* never merged with a neighbour: allocations must stay in one window */
    tree_insert(&s->fr, base, last);
    return BS_OK;
}

/* Take [a, l] out of the free extent at the end of path[0..d), which
 * contains it. */
static void carve(bs_space *s, const uint32_t *path, int d, uint64_t a,
                  uint64_t l)
{
    struct tree *t = &s->fr;
    const struct fnode *x = ND(t, path[d - 1]);
    uint64_t s0 = x->start, l0 = x->last;
    if (s0 == a && l0 == l) {
        tree_delete(t, s0);
    } else if (s0 == a) {
        path_rebound(t, path, d, l + 1, l0);
    } else if (l0 == l) {
        path_rebound(t, path, d, s0, a - 1);
    } else {
        path_rebound(t, path, d, s0, a - 1);
        tree_insert(t, l + 1, l0);
    }
}

/* Path from the root to the extent containing addr; 0 if none does. */
static int tree_path_to(const struct tree *t, uint64_t addr, uint32_t *path)
{
    int d = 0, dbest = 0;
    uint32_t x = t->root;
    while (x) {
        const struct fnode *n = ND(t, x);
        path[d++] = x;
        if (n->start <= addr) {
            dbest = d;
            if (n->start == addr)
                break;
            x = R(n);
        } else {
            x = L(n);
        }
    }
    return dbest && ND(t, path[dbest - 1])->last >= addr ? dbest : 0;
}

static int reserve_nodes(bs_space *s)
{
    int rc = tree_reserve(&s->fr, 1);
    return rc ? rc : aset_reserve(&s->al);
}

int bs_space_alloc(bs_space *s, uint64_t size, uint64_t align, uint64_t lo,
                   uint64_t hi, uint64_t *addr)
{
    if (!s || !addr || !size || !bs_is_pow2(align))
        return BS_EINVAL;
    if (lo > hi || !s->fr.root)
        return BS_ENOSPC;
    int rc = reserve_nodes(s);
    if (rc)
        return rc;
    struct req q = {size - 1, align - 1, lo, hi, 0};
    int ks = floor_log2(size), ka = floor_log2(align);
    q.k = (unsigned)(ks < ka ? ks : ka);
    uint64_t a = 0;
    uint32_t path[MAX_DEPTH];
    int d = 0;
    if (!find_first(&s->fr, s->fr.root, &q, &a, path, &d))
        return BS_ENOSPC;
    __builtin_prefetch(&s->al.e[a_home(&s->al, a)]);
    carve(s, path, d, a, a + q.size1);
    a_put(&s->al, a, a + q.size1);
    *addr = a;
    return BS_OK;
}

int bs_space_reserve(bs_space *s, uint64_t addr, uint64_t size)
{
    if (!s || !size || size - 1 > UINT64_MAX - addr)
        return BS_EINVAL;
    uint64_t last = addr + (size - 1);
    uint32_t path[MAX_DEPTH];
    int d = tree_path_to(&s->fr, addr, path);
    if (!d || ND(&s->fr, path[d - 1])->last < last)
        return BS_ENOSPC;
    int rc = reserve_nodes(s);
    if (rc)
        return rc;
    carve(s, path, d, addr, last);
    a_put(&s->al, addr, last);
    return BS_OK;
}

int bs_space_release(bs_space *s, uint64_t addr, uint64_t size)
{
    if (!s || !size || size - 1 > UINT64_MAX - addr)
        return BS_EINVAL;
    uint64_t last = addr + (size - 1);
    int rc = tree_reserve(&s->fr, 1);
    if (rc)
        return rc;
    if (s->al.cap)
        __builtin_prefetch(&s->al.e[a_home(&s->al, addr)]);

    /* Neighbours in the free tree (predecessor p and successor q by
     * address), found while the table slot is being fetched.  Both lie on
     * the search path: dp / dq are their path lengths. */
    struct tree *t = &s->fr;
    uint32_t path[MAX_DEPTH];
    int d = 0, dp = 0, dq = 0;
    uint32_t p = 0, q = 0, y = t->root;
    while (y) {
        const struct fnode *n = ND(t, y);
        path[d++] = y;
        if (n->start < addr) {
            p = y;
            dp = d;
            y = R(n);
        } else {
            q = y;
            dq = d;
            y = L(n);
        }
    }
    struct arange *e = a_find(&s->al, addr);
    if (!e || e->last != last)
        return BS_ENOENT;
    a_del(&s->al, e);
    int mp = p && ND(t, p)->last + 1 == addr && !is_window_start(s, addr);
    int mq = q && last != UINT64_MAX && ND(t, q)->start == last + 1 &&
             !is_window_start(s, last + 1);
    if (mp && mq) {
        uint64_t ps = ND(t, p)->start, ql = ND(t, q)->last;
        tree_delete(t, last + 1);
        tree_rebound(t, ps, ps, ql);
    } else if (mp) {
        path_rebound(t, path, dp, ND(t, p)->start, last);
    } else if (mq) {
        path_rebound(t, path, dq, addr, ND(t, q)->last);
    } else {
        tree_insert(t, addr, last);
    }
    return BS_OK;
}

uint64_t bs_space_largest_block(const bs_space *s, uint64_t lo, uint64_t hi)
{
    if (!s || lo > hi)
        return 0;
    int best = -1;
    largest_in(&s->fr, s->fr.root, lo, hi, lo == 0, hi == UINT64_MAX, &best);
    return best < 0 ? 0 : UINT64_C(1) << best;
}

/* In-order walk with an explicit stack (depth is bounded by AVL height). */
#define INORDER(t, var, body)                                                \
    do {                                                                     \
        uint32_t st_[MAX_DEPTH];                                             \
        int sp_ = 0;                                                         \
        uint32_t x_ = (t)->root;                                             \
        while (x_ || sp_) {                                                  \
            while (x_ && sp_ < MAX_DEPTH) {                                  \
                st_[sp_++] = x_;                                             \
                x_ = L(ND((t), x_));                                         \
            }                                                                \
            x_ = st_[--sp_];                                                 \
            const struct fnode *var = ND((t), x_);                           \
            body;                                                            \
            x_ = R(var);                                                     \
        }                                                                    \
    } while (0)

void bs_space_get_stats(const bs_space *s, bs_space_stats *st)
{
    if (!st)
        return;
    memset(st, 0, sizeof *st);
    if (!s)
        return;
    for (size_t i = 0; i < s->nwin; i++) {
        uint64_t span = s->win[i].last - s->win[i].base;
        st->window_bytes = sat_add(st->window_bytes, sat_add(span, 1));
    }
    st->allocations = s->al.n;
    st->free_extents = s->fr.used;
    if (s->fr.root)
        st->largest_block = UINT64_C(1) << MK(ND(&s->fr, s->fr.root));
    INORDER(&s->fr, n, {
        uint64_t span = n->last - n->start;
        st->free_bytes = sat_add(st->free_bytes, sat_add(span, 1));
        st->blocks[0] = sat_add(st->blocks[0], sat_add(span, 1));
        int kmax = (int)extent_k(n->start, n->last);
        for (int k = 1; k <= kmax; k++) {
            uint64_t m = (UINT64_C(1) << k) - 1;
            uint64_t first = (n->start >> k) + ((n->start & m) != 0);
            uint64_t endi = (n->last - m) >> k; /* last block that fits */
            st->blocks[k] = sat_add(st->blocks[k], endi - first + 1);
        }
    });
}

/* ------------------------------------------------------------ validation */

struct vctx {
    const struct tree *t;
    char *msg;
    size_t cap;
    int bad;
    uint32_t count;
};

static void vfail(struct vctx *v, const char *what, uint32_t x)
{
    if (v->bad++)
        return;
    const struct fnode *n = ND(v->t, x);
    snprintf(v->msg, v->cap, "free tree: %s at node %u [0x%llx, 0x%llx]",
             what, (unsigned)x, (unsigned long long)n->start,
             (unsigned long long)n->last);
}

/* Checks the subtree against the bounds given by its ancestors (every
 * extent must end before `hi` and start after `lo`); returns its height. */
static int vnode(struct vctx *v, uint32_t x, int has_lo, uint64_t lo,
                 int has_hi, uint64_t hi, int depth)
{
    if (!x)
        return 0;
    const struct tree *t = v->t;
    if (depth > MAX_DEPTH || x >= t->next) {
        vfail(v, "bad link or too deep", x);
        return 0;
    }
    v->count++;
    const struct fnode *n = ND(t, x);
    if (n->last < n->start)
        vfail(v, "last < start", x);
    if ((has_lo && n->start <= lo) || (has_hi && n->last >= hi))
        vfail(v, "order or overlap with an ancestor", x);
    int hl = vnode(v, L(n), has_lo, lo, 1, n->start, depth + 1);
    int hr = vnode(v, R(n), 1, n->last, has_hi, hi, depth + 1);
    if ((int)H(n) != 1 + (hl > hr ? hl : hr))
        vfail(v, "stored height wrong", x);
    if (hl - hr > 1 || hr - hl > 1)
        vfail(v, "AVL balance", x);
    const struct fnode *a = ND(t, L(n)), *b = ND(t, R(n));
    unsigned k = extent_k(n->start, n->last);
    uint64_t sp = n->last - n->start;
    if (L(n) && MK(a) > k)
        k = MK(a);
    if (R(n) && MK(b) > k)
        k = MK(b);
    if (L(n) && a->maxspan > sp)
        sp = a->maxspan;
    if (R(n) && b->maxspan > sp)
        sp = b->maxspan;
    if (MK(n) != k)
        vfail(v, "maxk augmentation", x);
    if (n->maxspan != sp)
        vfail(v, "maxspan augmentation", x);
    return 1 + (hl > hr ? hl : hr);
}

static int vaset(const struct aset *a, char *msg, size_t cap)
{
    size_t n = 0, m = a->cap ? a->cap - 1 : 0;
    if (a->cap && (a->cap & m)) {
        snprintf(msg, cap, "alloc table: capacity %zu", a->cap);
        return 1;
    }
    if (a->n * 4 > a->cap * 3) {
        snprintf(msg, cap, "alloc table: overloaded");
        return 1;
    }
    for (size_t i = 0; i < a->cap; i++) {
        if (A_EMPTY(&a->e[i]))
            continue;
        n++;
        /* linear probing: no empty slot between home and position */
        for (size_t j = a_home(a, a->e[i].start); j != i; j = (j + 1) & m)
            if (A_EMPTY(&a->e[j])) {
                snprintf(msg, cap, "alloc table: 0x%llx unreachable",
                         (unsigned long long)a->e[i].start);
                return 1;
            }
    }
    if (n != a->n) {
        snprintf(msg, cap, "alloc table: %zu entries, %zu counted", n, a->n);
        return 1;
    }
    return 0;
}

int bs_space_validate(const bs_space *s, char *msg, size_t cap)
{
    if (cap)
        msg[0] = 0;
    const struct tree *t = &s->fr;
    struct vctx v = {t, msg, cap, 0, 0};
    if (t->cap && (t->n[0].lw || t->n[0].rw || t->n[0].maxspan))
        vfail(&v, "sentinel not zero", 0);
    vnode(&v, t->root, 0, 0, 0, 0, 0);
    if (!v.bad && v.count != t->used) {
        snprintf(msg, cap, "free tree: %u nodes reachable, %u counted",
                 (unsigned)v.count, (unsigned)t->used);
        v.bad = 1;
    }
    if (v.bad || vaset(&s->al, msg, cap))
        return BS_ESTATE;
    for (size_t i = 0; i < s->nwin; i++)
        if (s->win[i].last < s->win[i].base ||
            (i && s->win[i - 1].last >= s->win[i].base)) {
            snprintf(msg, cap, "windows unsorted or overlapping at %zu", i);
            return BS_ESTATE;
        }
    /* Free extents and allocations together must tile every window
     * exactly, and two free extents may touch only at a window boundary.
     * Walk each window from its base, taking the free extent or the
     * allocation (looked up by address) that starts at each position. */
    struct arange *f = malloc(((size_t)t->used + 1) * sizeof *f);
    if (!f) {
        snprintf(msg, cap, "out of memory while validating");
        return BS_ENOMEM;
    }
    size_t nf = 0, fi = 0, seen = 0;
    INORDER(t, n, {
        f[nf].start = n->start;
        f[nf++].last = n->last;
    });
    int rc = BS_OK;
    for (size_t w = 0; w < s->nwin && rc == BS_OK; w++) {
        uint64_t pos = s->win[w].base, wl = s->win[w].last, end;
        int prev_free = 0;
        for (;;) {
            if (fi < nf && f[fi].start == pos) {
                if (prev_free) {
                    snprintf(msg, cap, "uncoalesced free extents at 0x%llx",
                             (unsigned long long)pos);
                    rc = BS_ESTATE;
                    break;
                }
                end = f[fi++].last;
                prev_free = 1;
            } else {
                const struct arange *e = a_find(&s->al, pos);
                if (!e || (fi < nf && f[fi].start <= e->last)) {
                    snprintf(msg, cap, "hole or overlap at 0x%llx",
                             (unsigned long long)pos);
                    rc = BS_ESTATE;
                    break;
                }
                end = e->last;
                seen++;
                prev_free = 0;
            }
            if (end > wl) {
                snprintf(msg, cap, "range ending at 0x%llx crosses the end "
                         "of window %zu", (unsigned long long)end, w);
                rc = BS_ESTATE;
                break;
            }
            if (end == wl)
                break;
            pos = end + 1;
        }
    }
    if (rc == BS_OK && (fi != nf || seen != s->al.n)) {
        snprintf(msg, cap, "%zu of %zu free extents and %zu of %zu "
                 "allocations tile the windows", fi, nf, seen, s->al.n);
        rc = BS_ESTATE;
    }
    free(f);
    return rc;
}

size_t bs_space_mem_bytes(const bs_space *s)
{
    return sizeof *s + (size_t)s->fr.cap * sizeof *s->fr.n +
           s->al.cap * sizeof *s->al.e + s->wincap * sizeof *s->win;
}
