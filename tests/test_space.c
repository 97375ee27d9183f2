/*
 * bs_space: unit tests of every function and edge case, then a seeded
 * randomized comparison against a brute-force reference model (sorted array
 * of allocated ranges, lowest fit found by walking the gaps) with the tree
 * invariants validated after every operation.
 */
#include "barspace/barspace.h"
#include "core/space.h"
#include "test.h"

#include <stdlib.h>

#define K4 UINT64_C(0x1000)
#define TOP UINT64_MAX

static void check_valid(const bs_space *s, int line)
{
    char msg[256];
    int rc = bs_space_validate(s, msg, sizeof msg);
    if (rc != BS_OK)
        fprintf(stderr, "line %d: invalid space: %s\n", line, msg);
    CHECK_EQ(rc, BS_OK);
}
#define VALID(s) check_valid((s), __LINE__)

/* ------------------------------------------------------------ unit tests */

static void test_args(void)
{
    bs_space_free(NULL);
    bs_space *s = bs_space_new();
    CHECK(s != NULL);
    uint64_t a = 7;
    CHECK_EQ(bs_space_alloc(s, K4, K4, 0, TOP, &a), BS_ENOSPC); /* empty */
    CHECK_EQ(bs_space_largest_block(s, 0, TOP), 0);
    CHECK_EQ(bs_space_add_window(s, 0x10000, 0), BS_EINVAL);
    CHECK_EQ(bs_space_add_window(s, TOP, 2), BS_EINVAL); /* wraps */
    CHECK_EQ(bs_space_add_window(s, 0x10000, 0x10000), BS_OK);
    CHECK_EQ(bs_space_add_window(s, 0x18000, 0x1000), BS_EINVAL); /* inside */
    CHECK_EQ(bs_space_add_window(s, 0xf000, 0x1001), BS_EINVAL);  /* end */
    CHECK_EQ(bs_space_add_window(s, 0x1ffff, 0x10), BS_EINVAL);   /* start */
    CHECK_EQ(bs_space_add_window(s, 0, 0x100000), BS_EINVAL);     /* covers */
    CHECK_EQ(bs_space_add_window(s, 0xf000, 0x1000), BS_OK); /* touching */
    CHECK_EQ(bs_space_alloc(s, 0, K4, 0, TOP, &a), BS_EINVAL);
    CHECK_EQ(bs_space_alloc(s, K4, 0, 0, TOP, &a), BS_EINVAL);
    CHECK_EQ(bs_space_alloc(s, K4, 3 * K4, 0, TOP, &a), BS_EINVAL);
    CHECK_EQ(bs_space_alloc(s, K4, K4, 0, TOP, NULL), BS_EINVAL);
    CHECK_EQ(bs_space_alloc(NULL, K4, K4, 0, TOP, &a), BS_EINVAL);
    CHECK_EQ(bs_space_alloc(s, K4, K4, 0x20000, 0x10000, &a), BS_ENOSPC);
    CHECK_EQ(a, 7); /* untouched on failure */
    CHECK_EQ(bs_space_reserve(s, 0x10000, 0), BS_EINVAL);
    CHECK_EQ(bs_space_reserve(s, TOP, 2), BS_EINVAL);
    CHECK_EQ(bs_space_release(s, 0x10000, 0), BS_EINVAL);
    CHECK_EQ(bs_space_release(s, TOP, 2), BS_EINVAL);
    CHECK_EQ(bs_space_largest_block(s, 5, 4), 0);
    VALID(s);
    bs_space_free(s);
}

static void test_lowest_fit(void)
{
    bs_space *s = bs_space_new();
    uint64_t a;
    CHECK_EQ(bs_space_add_window(s, 0x100000, 0x100000), BS_OK);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x100000);
    CHECK_EQ(bs_space_alloc(s, 0x4000, 0x4000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x104000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x101000); /* back-fills the hole below */
    CHECK_EQ(bs_space_alloc(s, 0x1800, 0x800, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x102000); /* non-power-of-two size, fits the hole exactly */
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x108000);
    CHECK_EQ(bs_space_alloc(s, 0x800, 0x800, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x103800);
    /* lo and hi limits */
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0x150001, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x151000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 1, 0x160001, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x160001);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, 0x109ffe, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, 0x109fff, &a), BS_OK);
    CHECK_EQ(a, 0x109000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0x1ff000, 0x1fffff, &a),
             BS_OK);
    CHECK_EQ(a, 0x1ff000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0x1ff000, TOP, &a),
             BS_ENOSPC);
    /* alignment bigger than the window */
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x200000, 0, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_alloc(s, 0x1000, UINT64_C(1) << 63, 0, TOP, &a),
             BS_ENOSPC);
    /* bigger than any free extent */
    CHECK_EQ(bs_space_alloc(s, 0x100000, 1, 0, TOP, &a), BS_ENOSPC);
    bs_space_stats st;
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.allocations, 10);
    CHECK_EQ(st.window_bytes, 0x100000);
    VALID(s);
    bs_space_free(s);
}

static void test_edges_of_space(void)
{
    bs_space *s = bs_space_new();
    uint64_t a;
    /* window at 0 and window ending at 2^64 */
    CHECK_EQ(bs_space_add_window(s, 0, 0x10000), BS_OK);
    CHECK_EQ(bs_space_add_window(s, TOP - 0xffff, 0x10000), BS_OK);
    CHECK_EQ(bs_space_alloc(s, 0x1000, UINT64_C(1) << 63, 0, TOP, &a),
             BS_OK);
    CHECK_EQ(a, 0); /* 0 is aligned to everything */
    CHECK_EQ(bs_space_alloc(s, 0x10000, 0x10000, 0x1, TOP, &a), BS_OK);
    CHECK_EQ(a, TOP - 0xffff);
    CHECK_EQ(bs_space_alloc(s, 1, 1, TOP, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_release(s, TOP - 0xffff, 0x10000), BS_OK);
    CHECK_EQ(bs_space_alloc(s, 1, 1, TOP, TOP, &a), BS_OK);
    CHECK_EQ(a, TOP); /* the very last byte */
    CHECK_EQ(bs_space_largest_block(s, 0x10000, TOP), 0x8000);
    CHECK_EQ(bs_space_largest_block(s, 0x10000, TOP - 1), 0x8000);
    CHECK_EQ(bs_space_largest_block(s, TOP - 0x7fff, TOP - 1), 0x4000);
    CHECK_EQ(bs_space_alloc(s, 0x8000, 0x8000, 0x10000, TOP, &a), BS_OK);
    CHECK_EQ(a, TOP - 0xffff);
    CHECK_EQ(bs_space_release(s, TOP, 1), BS_OK);
    CHECK_EQ(bs_space_reserve(s, TOP - 0x7fff, 0x8000), BS_OK);
    CHECK_EQ(bs_space_release(s, TOP - 0x7fff, 0x8000), BS_OK);
    VALID(s);
    bs_space_free(s);

    /* The whole space as two adjacent windows: [0,2^63) and [2^63,2^64).
     * A size of 2^64 is not expressible, so this is as big as it gets. */
    s = bs_space_new();
    uint64_t h = UINT64_C(1) << 63;
    CHECK_EQ(bs_space_add_window(s, h, h), BS_OK);
    CHECK_EQ(bs_space_add_window(s, 0, h), BS_OK);
    CHECK_EQ(bs_space_largest_block(s, 0, TOP), h);
    CHECK_EQ(bs_space_alloc(s, h, h, 1, TOP, &a), BS_OK);
    CHECK_EQ(a, h);
    CHECK_EQ(bs_space_alloc(s, h + 1, 1, 0, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_alloc(s, h - 1, 2, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0);
    CHECK_EQ(bs_space_alloc(s, 1, 1, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, h - 1); /* last byte of the lower window */
    CHECK_EQ(bs_space_alloc(s, 1, 1, 0, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_release(s, h, h), BS_OK);
    CHECK_EQ(bs_space_release(s, h - 1, 1), BS_OK);
    CHECK_EQ(bs_space_release(s, 0, h - 1), BS_OK);
    bs_space_stats st;
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 2); /* not merged across windows */
    CHECK_EQ(st.window_bytes, TOP); /* saturates */
    CHECK_EQ(st.free_bytes, TOP);
    CHECK_EQ(st.blocks[0], TOP);
    CHECK_EQ(st.blocks[63], 2);
    CHECK_EQ(st.blocks[62], 4);
    CHECK_EQ(st.largest_block, h);
    VALID(s);
    bs_space_free(s);

    /* A window ending at 2^64 that starts at 1: biggest expressible. */
    s = bs_space_new();
    CHECK_EQ(bs_space_add_window(s, 1, TOP), BS_OK);
    CHECK_EQ(bs_space_alloc(s, TOP, 1, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 1);
    CHECK_EQ(bs_space_release(s, 1, TOP), BS_OK);
    CHECK_EQ(bs_space_largest_block(s, 0, TOP), h);
    CHECK_EQ(bs_space_alloc(s, h, h, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, h);
    CHECK_EQ(bs_space_largest_block(s, 0, TOP), h >> 1);
    VALID(s);
    bs_space_free(s);
}

static void test_reserve_release(void)
{
    bs_space *s = bs_space_new();
    uint64_t a;
    CHECK_EQ(bs_space_add_window(s, 0x10000, 0x10000), BS_OK);
    CHECK_EQ(bs_space_add_window(s, 0x20000, 0x10000), BS_OK); /* adjacent */
    CHECK_EQ(bs_space_reserve(s, 0x14000, 0x1000), BS_OK);
    CHECK_EQ(bs_space_reserve(s, 0x14000, 0x1000), BS_ENOSPC); /* taken */
    CHECK_EQ(bs_space_reserve(s, 0x13800, 0x1000), BS_ENOSPC); /* partial */
    CHECK_EQ(bs_space_reserve(s, 0x14800, 0x1000), BS_ENOSPC); /* partial */
    CHECK_EQ(bs_space_reserve(s, 0x1f000, 0x2000), BS_ENOSPC); /* 2 windows */
    CHECK_EQ(bs_space_reserve(s, 0x0, 0x1000), BS_ENOSPC);     /* outside */
    CHECK_EQ(bs_space_reserve(s, 0x30000, 0x1000), BS_ENOSPC); /* outside */
    CHECK_EQ(bs_space_reserve(s, 0xf000, 0x2000), BS_ENOSPC);  /* straddle */
    CHECK_EQ(bs_space_alloc(s, 0x20000, 1, 0, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_reserve(s, 0x10000, 0x1000), BS_OK); /* window start */
    CHECK_EQ(bs_space_reserve(s, 0x2f000, 0x1000), BS_OK); /* window end */
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x11000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x12000);
    CHECK_EQ(bs_space_alloc(s, 0x1000, 0x1000, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x13000);
    VALID(s);
    bs_space_stats st;
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.allocations, 6);
    CHECK_EQ(st.free_extents, 2);

    /* release must name an exact live range */
    CHECK_EQ(bs_space_release(s, 0x12000, 0x800), BS_ENOENT);
    CHECK_EQ(bs_space_release(s, 0x12000, 0x2000), BS_ENOENT);
    CHECK_EQ(bs_space_release(s, 0x12800, 0x800), BS_ENOENT);
    CHECK_EQ(bs_space_release(s, 0x15000, 0x1000), BS_ENOENT); /* free */
    CHECK_EQ(bs_space_release(s, 0x40000, 0x1000), BS_ENOENT); /* nowhere */
    CHECK_EQ(bs_space_release(s, 0x11000, 0x2000), BS_ENOENT); /* two */
    /* coalescing: middle first (no neighbour free), then both sides */
    CHECK_EQ(bs_space_release(s, 0x12000, 0x1000), BS_OK);
    CHECK_EQ(bs_space_release(s, 0x12000, 0x1000), BS_ENOENT); /* twice */
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 3);
    CHECK_EQ(bs_space_release(s, 0x11000, 0x1000), BS_OK); /* merge right */
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 3);
    CHECK_EQ(bs_space_release(s, 0x13000, 0x1000), BS_OK); /* merge left */
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 3);
    CHECK_EQ(bs_space_release(s, 0x14000, 0x1000), BS_OK); /* merge both */
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 2);
    CHECK_EQ(st.free_bytes, 0x1e000);
    VALID(s);
    CHECK_EQ(bs_space_release(s, 0x10000, 0x1000), BS_OK);
    CHECK_EQ(bs_space_release(s, 0x2f000, 0x1000), BS_OK);
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 2); /* windows touch but never merge */
    CHECK_EQ(st.allocations, 0);
    CHECK_EQ(st.free_bytes, 0x20000);
    CHECK_EQ(bs_space_alloc(s, 0x10001, 1, 0, TOP, &a), BS_ENOSPC);
    CHECK_EQ(bs_space_alloc(s, 0x10000, 1, 0, TOP, &a), BS_OK);
    CHECK_EQ(a, 0x10000);
    VALID(s);
    bs_space_free(s);
}

static void test_blocks_stats(void)
{
    bs_space *s = bs_space_new();
    bs_space_stats st;
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.free_extents, 0);
    CHECK_EQ(st.largest_block, 0);
    CHECK_EQ(bs_space_add_window(s, 0x1000, 0x4000), BS_OK); /* 1000-4fff */
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.window_bytes, 0x4000);
    CHECK_EQ(st.free_bytes, 0x4000);
    CHECK_EQ(st.free_extents, 1);
    CHECK_EQ(st.largest_block, 0x2000);
    CHECK_EQ(st.blocks[0], 0x4000);
    CHECK_EQ(st.blocks[12], 4);
    CHECK_EQ(st.blocks[13], 1);
    CHECK_EQ(st.blocks[14], 0);
    CHECK_EQ(bs_space_largest_block(s, 0, TOP), 0x2000);
    CHECK_EQ(bs_space_largest_block(s, 0x2001, TOP), 0x1000);
    CHECK_EQ(bs_space_largest_block(s, 0x2001, 0x2fff), 0x800);
    CHECK_EQ(bs_space_largest_block(s, 0x2000, 0x2000), 1);
    CHECK_EQ(bs_space_largest_block(s, 0x5000, TOP), 0);
    CHECK_EQ(bs_space_largest_block(s, 0, 0xfff), 0);
    CHECK_EQ(bs_space_reserve(s, 0x2800, 0x100), BS_OK);
    bs_space_get_stats(s, &st);
    CHECK_EQ(st.largest_block, 0x1000); /* the 0x2000 block is cut */
    CHECK_EQ(st.blocks[12], 3);
    CHECK_EQ(st.blocks[11], 7);
    CHECK_EQ(st.blocks[8], 0x3f);
    CHECK_EQ(st.free_extents, 2);
    CHECK_EQ(st.allocations, 1);
    CHECK_EQ(st.free_bytes, 0x3f00);
    CHECK_EQ(bs_space_largest_block(s, 0, 0x3fff), 0x1000);
    VALID(s);
    bs_space_free(s);
    bs_space_get_stats(NULL, &st);
    CHECK_EQ(st.window_bytes, 0);
}

/* ------------------------------------------------------- reference model */

struct rng {
    uint64_t x;
};

static uint64_t rnd(struct rng *r)
{
    uint64_t z = (r->x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n) { return n ? rnd(r) % n : 0; }

struct range {
    uint64_t start, last;
};

struct model {
    struct range win[8];
    int nwin;
    struct range *al; /* sorted by start */
    size_t n, cap;
};

/* Free gaps in address order; calls fn(gap start, gap last) until it
 * returns nonzero. */
static int model_gaps(const struct model *m,
                      int (*fn)(void *, uint64_t, uint64_t), void *arg)
{
    size_t j = 0;
    for (int w = 0; w < m->nwin; w++) {
        uint64_t cur = m->win[w].start;
        int done = 0; /* cur passed the window's end (maybe 2^64) */
        while (j < m->n && m->al[j].start <= m->win[w].last) {
            if (m->al[j].start > cur && fn(arg, cur, m->al[j].start - 1))
                return 1;
            if (m->al[j].last == m->win[w].last)
                done = 1;
            else
                cur = m->al[j].last + 1;
            j++;
        }
        if (!done && fn(arg, cur, m->win[w].last))
            return 1;
    }
    return 0;
}

struct fitq {
    uint64_t size, align, lo, hi, addr;
};

static int fit_gap(void *arg, uint64_t s, uint64_t l)
{
    struct fitq *q = arg;
    if (s < q->lo)
        s = q->lo;
    if (l > q->hi)
        l = q->hi;
    if (s > l)
        return 0;
    uint64_t r = s % q->align;
    uint64_t a = s;
    if (r) {
        if (q->align - r > UINT64_MAX - s)
            return 0;
        a = s + (q->align - r);
    }
    if (a > l || l - a < q->size - 1)
        return 0;
    q->addr = a;
    return 1;
}

struct lbq {
    uint64_t lo, hi;
    int best;
};

static int largest_gap(void *arg, uint64_t s, uint64_t l)
{
    struct lbq *q = arg;
    if (s < q->lo)
        s = q->lo;
    if (l > q->hi)
        l = q->hi;
    if (s > l)
        return 0;
    for (int k = 63; k > q->best; k--) {
        struct fitq f = {UINT64_C(1) << k, UINT64_C(1) << k, s, l, 0};
        if (fit_gap(&f, s, l)) {
            q->best = k;
            break;
        }
    }
    return 0;
}

struct statq {
    bs_space_stats st;
};

static uint64_t sadd(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int stat_gap(void *arg, uint64_t s, uint64_t l)
{
    bs_space_stats *st = &((struct statq *)arg)->st;
    st->free_extents++;
    st->free_bytes = sadd(st->free_bytes, sadd(l - s, 1));
    for (int k = 0; k < 64; k++) {
        uint64_t b = UINT64_C(1) << k;
        /* multiples of b in [s, l - (b - 1)] */
        if (l - s < b - 1)
            continue;
        uint64_t hi = l - (b - 1);
        uint64_t first = s / b + (s % b != 0);
        uint64_t lastm = hi / b;
        if (lastm >= first)
            st->blocks[k] = sadd(st->blocks[k], sadd(lastm - first, 1));
        if (lastm >= first && (uint64_t)k > st->largest_block)
            st->largest_block = (uint64_t)k; /* log2 for now */
    }
    return 0;
}

static int model_overlaps(const struct model *m, uint64_t s, uint64_t l)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->al[i].start <= l && s <= m->al[i].last)
            return 1;
    return 0;
}

static int model_in_window(const struct model *m, uint64_t s, uint64_t l)
{
    for (int w = 0; w < m->nwin; w++)
        if (s >= m->win[w].start && l <= m->win[w].last)
            return 1;
    return 0;
}

static void model_add(struct model *m, uint64_t s, uint64_t l)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->al = realloc(m->al, m->cap * sizeof *m->al);
    }
    size_t i = m->n;
    while (i > 0 && m->al[i - 1].start > s) {
        m->al[i] = m->al[i - 1];
        i--;
    }
    m->al[i].start = s;
    m->al[i].last = l;
    m->n++;
}

static void model_del(struct model *m, size_t i)
{
    memmove(&m->al[i], &m->al[i + 1], (m->n - i - 1) * sizeof *m->al);
    m->n--;
}

/* Random size: mostly small, sometimes a power of two, sometimes huge. */
static uint64_t rand_size(struct rng *r, int huge)
{
    unsigned c = (unsigned)below(r, 10);
    if (huge && c == 0)
        return UINT64_C(1) << (40 + below(r, 24));
    if (huge && c == 1)
        return (UINT64_C(1) << (40 + below(r, 23))) + below(r, 1u << 20) + 1;
    if (c < 6)
        return UINT64_C(1) << below(r, 14);
    return 1 + below(r, 0x3000);
}

static uint64_t rand_addr_near(struct rng *r, const struct model *m)
{
    const struct range *w = &m->win[below(r, (uint64_t)m->nwin)];
    uint64_t span = w->last - w->start;
    uint64_t off = span == UINT64_MAX ? rnd(r) : below(r, span + 1);
    return w->start + off;
}

static int run_random(uint64_t seed, const struct range *wins, int nwin,
                      int huge, int ops)
{
    struct rng r = {seed};
    struct model m = {{{0, 0}}, 0, NULL, 0, 0};
    bs_space *s = bs_space_new();
    int bad = 0;
    for (int i = 0; i < nwin; i++) {
        CHECK_EQ(bs_space_add_window(s, wins[i].start,
                                     wins[i].last - wins[i].start + 1),
                 BS_OK);
        m.win[i] = wins[i];
    }
    m.nwin = nwin;
    /* keep the model's windows sorted (they were given sorted) */
    char msg[256];
    for (int op = 0; op < ops && !bad; op++) {
        unsigned c = (unsigned)below(&r, 100);
        if (c < 50) {
            uint64_t size = rand_size(&r, huge);
            uint64_t align = UINT64_C(1) << below(&r, huge ? 64 : 16);
            if (below(&r, 3) == 0 && (size & (size - 1)) == 0)
                align = size; /* naturally aligned BAR */
            uint64_t lo = 0, hi = TOP;
            if (below(&r, 3) == 0)
                lo = rand_addr_near(&r, &m);
            if (below(&r, 3) == 0)
                hi = rand_addr_near(&r, &m);
            struct fitq q = {size, align, lo, hi, 0};
            int want = lo <= hi && model_gaps(&m, fit_gap, &q);
            uint64_t a = 0;
            int rc = bs_space_alloc(s, size, align, lo, hi, &a);
            if (rc != (want ? BS_OK : BS_ENOSPC) || (want && a != q.addr)) {
                fprintf(stderr, "op %d alloc(0x%llx, 0x%llx, 0x%llx, "
                        "0x%llx): rc %d addr 0x%llx, model %d 0x%llx\n", op,
                        (unsigned long long)size, (unsigned long long)align,
                        (unsigned long long)lo, (unsigned long long)hi, rc,
                        (unsigned long long)a, want,
                        (unsigned long long)q.addr);
                bad = 1;
            }
            if (want)
                model_add(&m, q.addr, q.addr + (size - 1));
        } else if (c < 80) {
            if (!m.n)
                continue;
            size_t i = (size_t)below(&r, m.n);
            struct range g = m.al[i];
            int rc = bs_space_release(s, g.start, g.last - g.start + 1);
            if (rc != BS_OK) {
                fprintf(stderr, "op %d release rc %d\n", op, rc);
                bad = 1;
            }
            model_del(&m, i);
        } else if (c < 87) {
            uint64_t a = rand_addr_near(&r, &m);
            uint64_t size = rand_size(&r, huge);
            if (below(&r, 2) && m.n) { /* right next to a live range */
                const struct range *g = &m.al[below(&r, m.n)];
                a = g->last == TOP ? g->start : g->last + 1;
            }
            if (size - 1 > UINT64_MAX - a)
                size = UINT64_MAX - a + 1;
            uint64_t l = a + (size - 1);
            int want = model_in_window(&m, a, l) && !model_overlaps(&m, a, l);
            int rc = bs_space_reserve(s, a, size);
            if (rc != (want ? BS_OK : BS_ENOSPC)) {
                fprintf(stderr, "op %d reserve rc %d model %d\n", op, rc,
                        want);
                bad = 1;
            }
            if (want)
                model_add(&m, a, l);
        } else if (c < 93) {
            /* a release that must be refused: neighbour of a live range */
            uint64_t a, size;
            if (m.n && below(&r, 4)) {
                const struct range *g = &m.al[below(&r, m.n)];
                a = g->start;
                size = g->last - g->start + 1;
                if (below(&r, 2) && size > 1)
                    size -= 1;
                else if (a < TOP)
                    a += 1;
                else
                    size += 1; /* size 2 at 2^64 - 1 wraps: EINVAL */
            } else {
                a = rand_addr_near(&r, &m);
                size = 1 + below(&r, 0x2000);
            }
            int exists = 0;
            for (size_t i = 0; i < m.n; i++)
                if (m.al[i].start == a && m.al[i].last - a == size - 1)
                    exists = 1;
            int rc = bs_space_release(s, a, size);
            int wrap = size - 1 > UINT64_MAX - a;
            if (exists ? rc != BS_OK
                       : rc != (wrap ? BS_EINVAL : BS_ENOENT)) {
                fprintf(stderr, "op %d bogus release rc %d\n", op, rc);
                bad = 1;
            }
            if (exists)
                for (size_t i = 0; i < m.n; i++)
                    if (m.al[i].start == a) {
                        model_del(&m, i);
                        break;
                    }
        } else {
            uint64_t lo = below(&r, 4) ? rand_addr_near(&r, &m) : 0;
            uint64_t hi = below(&r, 4) ? rand_addr_near(&r, &m) : TOP;
            struct lbq q = {lo, hi, -1};
            if (lo <= hi)
                model_gaps(&m, largest_gap, &q);
            uint64_t want = q.best < 0 ? 0 : UINT64_C(1) << q.best;
            uint64_t got = bs_space_largest_block(s, lo, hi);
            if (got != want) {
                fprintf(stderr, "op %d largest_block(0x%llx, 0x%llx) 0x%llx "
                        "model 0x%llx\n", op, (unsigned long long)lo,
                        (unsigned long long)hi, (unsigned long long)got,
                        (unsigned long long)want);
                bad = 1;
            }
        }
        if (bs_space_validate(s, msg, sizeof msg) != BS_OK) {
            fprintf(stderr, "op %d: %s\n", op, msg);
            bad = 1;
        }
        if (op % 64 == 0 || bad) {
            struct statq q;
            memset(&q, 0, sizeof q);
            model_gaps(&m, stat_gap, &q);
            q.st.largest_block =
                q.st.free_extents ? UINT64_C(1) << q.st.largest_block : 0;
            bs_space_stats st;
            bs_space_get_stats(s, &st);
            if (st.free_bytes != q.st.free_bytes ||
                st.free_extents != q.st.free_extents ||
                st.allocations != m.n ||
                st.largest_block != q.st.largest_block ||
                memcmp(st.blocks, q.st.blocks, sizeof st.blocks)) {
                fprintf(stderr, "op %d: stats differ from the model\n", op);
                bad = 1;
            }
        }
    }
    CHECK(!bad);
    bs_space_free(s);
    free(m.al);
    return bad;
}

static void test_random(void)
{
    /* small windows at 0, touching, mid-space, and ending at 2^64 */
    const struct range w1[] = {{0, 0x7fff},
                               {0x8000, 0xbfff},
                               {UINT64_C(0x100000000), UINT64_C(0x10001ffff)},
                               {TOP - 0xffff, TOP}};
    run_random(1, w1, 4, 0, 12000);
    /* the whole space, huge sizes and alignments up to 2^63 */
    const struct range w2[] = {{0, (UINT64_C(1) << 63) - 1},
                               {UINT64_C(1) << 63, TOP}};
    run_random(2, w2, 2, 1, 8000);
    /* odd-sized windows at odd addresses */
    const struct range w3[] = {{0x1234, 0x9fff},
                               {0x12345, 0x1ffff},
                               {UINT64_C(0xfff000000), UINT64_C(0xfff005432)},
                               {TOP - 0x1233, TOP - 1}};
    run_random(3, w3, 4, 0, 10000);
}

int main(void)
{
    test_args();
    test_lowest_fit();
    test_edges_of_space();
    test_reserve_release();
    test_blocks_stats();
    test_random();
    TEST_DONE("test_space");
}
