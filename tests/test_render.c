/*
 * Maps: the layout model (every window covered exactly once by its extents,
 * the largest free aligned block right, nothing assigned left out), the
 * text map's width, the snprintf contract, escaping, before/after moves and
 * the churn report, on hand-made and seeded random topologies.
 */
#include "render/render_internal.h"
#include "test.h"
#include "testlib.h"

#include <stdlib.h>

static uint64_t rng_state;
static uint64_t rnd(void)
{
    return test_xorshift64s(&rng_state);
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

static char *render(const bs_topo *t, const bs_topo *after, int format,
                    int width, size_t *len)
{
    bs_render_opts o;
    bs_render_opts_init(&o, format);
    o.width = width;
    o.list = 1;
    size_t n = 0;
    int rc = after ? bs_render_map_diff(t, after, &o, NULL, 0, &n)
                   : bs_render_map(t, &o, NULL, 0, &n);
    CHECK_EQ(rc, BS_OK);
    char *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    size_t n2 = 0;
    rc = after ? bs_render_map_diff(t, after, &o, buf, n + 1, &n2)
               : bs_render_map(t, &o, buf, n + 1, &n2);
    CHECK_EQ(rc, BS_OK);
    CHECK_EQ(n2, n);
    CHECK_EQ(strlen(buf), n);
    if (len)
        *len = n;
    return buf;
}

static int max_line(const char *s)
{
    int best = 0, cur = 0;
    for (; *s; s++) {
        if (*s == '\n') {
            cur = 0;
            continue;
        }
        if (++cur > best)
            best = cur;
    }
    return best;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Largest naturally aligned block in [a, last], by brute force over the
 * sizes (independent of the renderer's search order). */
static uint64_t block_in(uint64_t a, uint64_t last)
{
    uint64_t best = 0;
    for (int k = 0; k < 64; k++) {
        uint64_t sz = UINT64_C(1) << k;
        uint64_t s = (a + sz - 1) & ~(sz - 1);
        if (s >= a && s <= last && last - s >= sz - 1)
            best = sz;
    }
    return best;
}

/* Every window's extents tile it exactly, in address order; free extents
 * are where nothing is; the marked block is the largest aligned one. */
static void check_window(const struct rm_model *m, int wi, int *nbar)
{
    const struct rm_win *w = &m->w[wi];
    uint64_t cur = w->base, free_sum = 0, best = 0;
    int nblock = 0;
    CHECK(w->n > 0);
    for (int i = 0; i < w->n; i++) {
        const struct rm_item *it = &w->it[i];
        CHECK_EQ(it->base, cur);
        CHECK(it->size > 0);
        CHECK_EQ(it->depth, w->depth + 1);
        CHECK(it->w >= 1.0);
        cur = it->base + it->size;
        if (it->kind == RM_GAP || it->kind == RM_BLOCK) {
            free_sum += it->size;
            /* Adjacent free extents only around the block. */
            if (i && it->kind == RM_GAP && w->it[i - 1].kind == RM_GAP)
                CHECK(0);
            uint64_t b = block_in(it->base, bs_last(it->base, it->size));
            if (b > best)
                best = b;
        }
        if (it->kind == RM_BLOCK) {
            nblock++;
            CHECK_EQ(it->size, w->largest);
            CHECK_EQ(it->base, w->largest_addr);
            CHECK_EQ(it->base & (it->size - 1), 0);
        }
        if (it->kind == RM_BAR)
            (*nbar)++;
        if (it->kind == RM_WIN) {
            CHECK(it->child > wi);
            if (it->child > wi) {
                CHECK_EQ(m->w[it->child].base, it->base);
                CHECK_EQ(m->w[it->child].size, it->size);
                CHECK(it->w == m->w[it->child].units);
                check_window(m, it->child, nbar);
            }
        }
    }
    CHECK_EQ(cur - w->base, w->size);      /* wraps to 0 only at 2^64 */
    CHECK_EQ(w->used + free_sum, w->size);
    CHECK_EQ(best, w->largest);
    CHECK(nblock <= 1);
    if (w->node == 0 || w->used)
        CHECK_EQ(nblock, w->largest ? 1 : 0);
}

static void check_model(const bs_topo *t)
{
    struct rm_model m;
    CHECK_EQ(rm_build(&m, t), BS_OK);
    int nbar = 0, nassigned = 0, outside = 0;
    for (int wi = 0; wi < m.nroot; wi++) {
        check_window(&m, wi, &nbar);
        bs_window_usage u;
        CHECK_EQ(bs_window_usage_get(t, 0, wi, &u), BS_OK);
        CHECK_EQ(u.largest_block, m.w[wi].largest);
        CHECK_EQ(u.used, m.w[wi].used);
    }
    for (int i = 1; i < t->nnodes; i++)
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &t->nodes[i].res[k];
            if (r->size && !(r->flags & BS_RF_UPPER) &&
                (r->flags & BS_RF_ASSIGNED))
                nassigned++;
        }
    for (int i = 0; i < m.nloose; i++)
        outside += m.loose[i].why == RM_LOOSE_OUTSIDE;
    /* A valid assignment: every assigned BAR drawn, none outside. */
    CHECK_EQ(nbar, nassigned);
    CHECK_EQ(outside, 0);
    rm_free(&m);
}

/* ------------------------------------------------------------ topologies */

static bs_topo *small_topo(const char *devname)
{
    bs_topo *t = bs_topo_new("small");
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(t, 0, 0xc0000000, 0x10000000);
    bs_topo_add_window(t, BS_RF_PREF, UINT64_C(0x10000000000), UINT64_C(1) << 40);
    int rp = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, "rp0");
    int gpu = bs_topo_add_node(t, rp, BS_NODE_DEVICE, "gpu0");
    bs_topo_set_bar(t, gpu, 0, 0, 16 << 20, 0);
    bs_topo_set_bar(t, gpu, 1, BS_RF_MEM64 | BS_RF_PREF, UINT64_C(1) << 37, 0);
    int sw = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, "sw-up");
    int dn = bs_topo_add_node(t, sw, BS_NODE_BRIDGE, "sw-down0");
    int nv = bs_topo_add_node(t, dn, BS_NODE_DEVICE, devname);
    bs_topo_set_bar(t, nv, 0, BS_RF_MEM64, 16384, 0);
    bs_topo_set_bar(t, nv, 4, BS_RF_IO, 32, 0);
    int nic = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "nic0");
    bs_topo_set_bar(t, nic, 0, 0, 128 << 10, 0);
    bs_topo_set_bar(t, nic, BS_SLOT_ROM, 0, 256 << 10, 0);
    return t;
}

static void add_random_device(bs_topo *t, int parent, int id)
{
    char name[32];
    snprintf(name, sizeof name, "d%d", id);
    int d = bs_topo_add_node(t, parent, BS_NODE_DEVICE, name);
    int slot = 0, nbars = 1 + rn(3);
    for (int b = 0; b < nbars && slot < 6; b++) {
        int kind = rn(6);
        unsigned f = 0;
        uint64_t size;
        if (kind == 0) {
            f = BS_RF_IO;
            size = UINT64_C(16) << rn(4);
        } else {
            if (kind >= 3 && slot < 5)
                f |= BS_RF_MEM64;
            if (kind >= 4)
                f |= BS_RF_PREF;
            size = UINT64_C(4096) << rn(kind >= 4 ? 22 : 10);
        }
        bs_topo_set_bar(t, d, slot, f, size, 0);
        slot += (f & BS_RF_MEM64) ? 2 : 1;
    }
}

static bs_topo *random_topo(void)
{
    bs_topo *t = bs_topo_new("random");
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(t, 0, 0x80000000, (uint64_t)(64 + rn(1024)) << 20);
    if (rn(4))
        bs_topo_add_window(t, BS_RF_PREF, UINT64_C(1) << 40,
                           UINT64_C(1) << (30 + rn(12)));
    int parents[64] = {0}, np = 1;
    int nb = rn(8);
    for (int b = 0; b < nb && np < 64; b++) {
        char name[32];
        snprintf(name, sizeof name, "br%d", b);
        int id = bs_topo_add_node(t, parents[rn(np)], BS_NODE_BRIDGE, name);
        if (id > 0) {
            if (rn(3) == 0)
                t->nodes[id].flags |= BS_NF_HOTPLUG;
            parents[np++] = id;
        }
    }
    int nd = 1 + rn(14);
    for (int d = 0; d < nd; d++)
        add_random_device(t, parents[rn(np)], d);
    return t;
}

/* ----------------------------------------------------------------- tests */

static void test_small(void)
{
    bs_topo *t = small_topo("nvme0");
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    CHECK_EQ(bs_assign(t, &o, NULL), BS_OK);
    CHECK_EQ(bs_check(t, NULL, NULL, 0), 0);
    check_model(t);

    char *txt = render(t, NULL, BS_RENDER_TEXT, 0, NULL);
    CHECK(txt && max_line(txt) <= 100);
    CHECK(txt && strstr(txt, "gpu0") && strstr(txt, "nvme0") && strstr(txt, "nic0"));
    CHECK(txt && strstr(txt, "[sw-up"));
    CHECK(txt && strstr(txt, "largest free aligned block"));
    CHECK(txt && !strstr(txt, "without an address"));
    free(txt);
    txt = render(t, NULL, BS_RENDER_TEXT, 60, NULL);
    CHECK(txt && max_line(txt) <= 60);
    free(txt);

    size_t n;
    char *svg = render(t, NULL, BS_RENDER_SVG, 0, &n);
    CHECK(svg && !strncmp(svg, "<?xml", 5));
    CHECK(svg && n > 7 && !strcmp(svg + n - 7, "</svg>\n"));
    CHECK(svg && strstr(svg, "data-device=\"gpu0\" data-slot=\"BAR1\""));
    CHECK(svg && strstr(svg, "data-device=\"nvme0\" data-slot=\"BAR0\""));
    CHECK(svg && strstr(svg, "data-device=\"nic0\" data-slot=\"ROM\""));
    CHECK(svg && strstr(svg, "class=\"bridge-window\" data-device=\"sw-down0\""));
    /* Three root windows, each with its largest block. */
    CHECK_EQ(svg ? count(svg, "class=\"panel\"") : 0, 3);
    CHECK(svg && count(svg, "<g") == count(svg, "</g>"));
    free(svg);

    char *html = render(t, NULL, BS_RENDER_HTML, 0, NULL);
    CHECK(html && !strncmp(html, "<!DOCTYPE html>", 15));
    CHECK(html && strstr(html, "Content-Security-Policy"));
    CHECK(html && strstr(html, "<svg xmlns"));
    CHECK(html && !strstr(html, "<script") && !strstr(html, "src=\""));
    CHECK(html && strstr(html, "Every resource has an address."));
    free(html);

    char *js = render(t, NULL, BS_RENDER_JSON, 0, NULL);
    CHECK(js && !strncmp(js, "{\"schema\":\"barspace.map/1\"", 26));
    CHECK(js && count(js, "{") == count(js, "}"));
    CHECK(js && count(js, "[") == count(js, "]"));
    CHECK(js && strstr(js, "\"type\":\"largest_free\""));
    free(js);

    /* snprintf contract: truncation keeps a NUL and reports the full size. */
    size_t full = 0, got = 0;
    bs_render_opts ro;
    bs_render_opts_init(&ro, BS_RENDER_SVG);
    CHECK_EQ(bs_render_map(t, &ro, NULL, 0, &full), BS_OK);
    char small[64];
    memset(small, 'x', sizeof small);
    CHECK_EQ(bs_render_map(t, &ro, small, sizeof small, &got), BS_OK);
    CHECK_EQ(got, full);
    CHECK_EQ(strlen(small), sizeof small - 1);
    ro.format = 42;
    CHECK_EQ(bs_render_map(t, &ro, NULL, 0, &got), BS_EINVAL);
    CHECK_EQ(bs_render_map(NULL, NULL, NULL, 0, &got), BS_EINVAL);
    CHECK_EQ(bs_render_map(t, NULL, NULL, 5, &got), BS_EINVAL);
    bs_topo_free(t);
}

static void test_escaping_and_unassigned(void)
{
    bs_topo *t = small_topo("a&b<c>\"q'");
    /* Not assigned at all: nothing drawn but free space, all listed. */
    char *txt = render(t, NULL, BS_RENDER_TEXT, 0, NULL);
    CHECK(txt && strstr(txt, "6 resources without an address"));
    free(txt);
    char *svg = render(t, NULL, BS_RENDER_SVG, 0, NULL);
    CHECK(svg && strstr(svg, "a&amp;b&lt;c&gt;&quot;q&#39;"));
    CHECK(svg && !strstr(svg, "a&b<c"));
    CHECK(svg && strstr(svg, "class=\"fail unplaced\""));
    free(svg);
    char *js = render(t, NULL, BS_RENDER_JSON, 0, NULL);
    CHECK(js && strstr(js, "\"a&b<c>\\\"q'\""));
    CHECK(js && count(js, "\"reason\":\"unassigned\"") == 6);
    free(js);
    struct rm_model m;
    CHECK_EQ(rm_build(&m, t), BS_OK);
    CHECK_EQ(m.nloose, 6);
    for (int wi = 0; wi < m.nroot; wi++) {
        /* An empty root window is one free block, or gap+block+gap. */
        CHECK(m.w[wi].n >= 1 && m.w[wi].n <= 3);
        CHECK_EQ(m.w[wi].used, 0);
    }
    rm_free(&m);
    bs_topo_free(t);
}

static void test_failures(void)
{
    /* Two 256M BARs into a 256M window: one fails. */
    bs_topo *t = bs_topo_new("tight");
    bs_topo_add_window(t, 0, 0xc0000000, 0x10000000);
    for (int i = 0; i < 2; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "big%d", i);
        int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, nm);
        bs_topo_set_bar(t, d, 0, 0, 0x10000000, 0);
    }
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    CHECK_EQ(bs_assign(t, &o, NULL), BS_ENOSPC);
    check_model(t);
    char *txt = render(t, NULL, BS_RENDER_TEXT, 0, NULL);
    CHECK(txt && strstr(txt, "1 failure:"));
    CHECK(txt && strstr(txt, "big1 BAR0"));
    CHECK(txt && strstr(txt, "free 0"));
    free(txt);
    char *svg = render(t, NULL, BS_RENDER_SVG, 0, NULL);
    CHECK(svg && strstr(svg, "class=\"fail failure\" data-device=\"big1\""));
    free(svg);
    bs_topo_free(t);
}

static void test_overlap_and_top_of_space(void)
{
    /* Hand-made invalid state: two BARs overlap, one is outside every
     * window.  The map must show both problems and never crash. */
    bs_topo *t = bs_topo_new("bad");
    bs_topo_add_window(t, 0, UINT64_C(1) << 63, UINT64_C(1) << 63);
    const char *nm[3] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, nm[i]);
        bs_topo_set_bar(t, d, 0, BS_RF_MEM64, 1 << 20, 0);
        t->nodes[d].res[0].flags |= BS_RF_ASSIGNED;
    }
    t->nodes[1].res[0].addr = UINT64_MAX - (1 << 20) + 1;  /* last MiB of 2^64 */
    t->nodes[2].res[0].addr = UINT64_MAX - (1 << 20) + 1;  /* same: overlap */
    t->nodes[3].res[0].addr = 0x100000;                    /* outside */
    struct rm_model m;
    CHECK_EQ(rm_build(&m, t), BS_OK);
    CHECK_EQ(m.nloose, 1);
    CHECK_EQ(m.loose[0].why, RM_LOOSE_OUTSIDE);
    CHECK_EQ(m.w[0].used, 1 << 20);
    int ov = 0;
    for (int i = 0; i < m.w[0].n; i++)
        ov += m.w[0].it[i].overlap;
    CHECK_EQ(ov, 1);
    CHECK_EQ(m.w[0].largest, UINT64_C(1) << 62);
    rm_free(&m);
    char *txt = render(t, NULL, BS_RENDER_TEXT, 0, NULL);
    CHECK(txt && strstr(txt, "outside every window"));
    CHECK(txt && strstr(txt, "OVERLAPS"));
    CHECK(txt && strchr(txt, '!'));
    free(txt);
    bs_topo_free(t);
}

static void test_random(void)
{
    rng_state = 0x5eed7;
    int checked = 0;
    for (int iter = 0; iter < 300; iter++) {
        bs_topo *t = random_topo();
        bs_assign_opts o;
        bs_assign_opts_init(&o, iter & 1 ? BS_POLICY_PACK : BS_POLICY_LINUX);
        o.search_budget = 500;   /* the map, not the packer, is under test */
        int rc = bs_assign(t, &o, NULL);
        CHECK(rc == BS_OK || rc == BS_ENOSPC);
        if (bs_check(t, NULL, NULL, 0) == 0) {
            check_model(t);
            checked++;
        }
        char *txt = render(t, NULL, BS_RENDER_TEXT, 60 + rn(60), NULL);
        CHECK(txt && max_line(txt) <= 119);
        free(txt);
        if (iter % 10 == 0) {
            char *svg = render(t, NULL, BS_RENDER_SVG, 0, NULL);
            CHECK(svg && count(svg, "<g") == count(svg, "</g>"));
            free(svg);
        }
        bs_topo_free(t);
    }
    CHECK(checked > 250);
}

static void test_diff(void)
{
    bs_topo *a = small_topo("nvme0");
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    CHECK_EQ(bs_assign(a, &o, NULL), BS_OK);
    bs_topo *b = bs_topo_clone(a);
    /* Move nic0's BAR0 to the top of its window by hand. */
    int nic = bs_topo_find(b, "nic0");
    struct bs_res *r = &b->nodes[nic].res[0];
    uint64_t old = r->addr;
    r->addr = 0xc0000000 + 0x10000000 - r->size;
    CHECK(r->addr != old);
    struct rm_move *mv;
    int n;
    CHECK_EQ(rm_moves(a, b, &mv, &n), BS_OK);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK_EQ(mv[0].from, old);
        CHECK_EQ(mv[0].to, r->addr);
        CHECK_EQ(mv[0].slot, 0);
    }
    free(mv);
    char *svg = render(a, b, BS_RENDER_SVG, 0, NULL);
    CHECK_EQ(svg ? count(svg, "class=\"mv move\"") : 0, 1);
    CHECK(svg && strstr(svg, "class=\"mv move\" data-device=\"nic0\""));
    free(svg);
    char *txt = render(a, b, BS_RENDER_TEXT, 0, NULL);
    CHECK(txt && strstr(txt, "1 move:") && max_line(txt) <= 100);
    free(txt);
    char *js = render(a, b, BS_RENDER_JSON, 0, NULL);
    CHECK(js && !strncmp(js, "{\"schema\":\"barspace.mapdiff/1\"", 30));
    CHECK(js && count(js, "\"slot\":\"BAR0\",\"from\"") == 1);
    free(js);
    char *html = render(a, b, BS_RENDER_HTML, 0, NULL);
    CHECK(html && strstr(html, "Moves (1)"));
    free(html);
    /* Identical states: no moves. */
    svg = render(a, a, BS_RENDER_SVG, 0, NULL);
    CHECK_EQ(svg ? count(svg, "class=\"mv move\"") : 1, 0);
    free(svg);
    bs_topo_free(a);
    bs_topo_free(b);
}

static void test_churn_report(void)
{
    enum { N = 20000 };
    bs_render_point *p = calloc(N, sizeof *p);
    if (!p) {
        CHECK(0);
        return;
    }
    for (int i = 0; i < N; i++) {
        p[i].event = (uint64_t)i;
        p[i].fragmentation = (i % 100) / 100.0;
        p[i].free_bytes = (uint64_t)(4 << 20) - (uint64_t)(i % 64) * 4096;
        p[i].largest_block = UINT64_C(65536) << (i % 5);
        p[i].failures = (uint64_t)i / 1000;
        p[i].devices = 25;
    }
    bs_topo *t = small_topo("nvme0");
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    bs_assign(t, &o, NULL);
    bs_render_snapshot s[2] = {{5000, "first failure", t}, {N - 1, "end", t}};
    bs_render_churn c = {"nvme churn", "25 controllers & <friends>", p, N, s, 2};
    size_t len = 0;
    CHECK_EQ(bs_render_churn_report(&c, NULL, NULL, 0, &len), BS_OK);
    char *buf = malloc(len + 1);
    size_t len2 = 0;
    CHECK_EQ(bs_render_churn_report(&c, NULL, buf, len + 1, &len2), BS_OK);
    CHECK_EQ(len, len2);
    CHECK(buf && strstr(buf, "25 controllers &amp; &lt;friends&gt;"));
    CHECK(buf && strstr(buf, "class=\"frag-line\""));
    CHECK(buf && strstr(buf, "class=\"fail-line\""));
    CHECK(buf && strstr(buf, "id=\"event-5000\""));
    CHECK_EQ(buf ? count(buf, "class=\"barspace-map\"") : 0, 2);
    CHECK_EQ(buf ? count(buf, "class=\"snap\"") : 0, 4);
    CHECK(buf && !strstr(buf, "<script") && !strstr(buf, "src=\""));
    /* The plot is bucketed to its width, not one vertex per event. */
    if (buf) {
        const char *pl = strstr(buf, "class=\"frag-line\"");
        const char *end = pl ? strstr(pl, "/>") : NULL;
        int commas = 0;
        for (const char *q = pl; q && q < end; q++)
            commas += *q == ',';
        CHECK(commas > 100 && commas <= 1400);
    }
    free(buf);
    /* No points, no snapshots: still a page. */
    bs_render_churn e = {0};
    CHECK_EQ(bs_render_churn_report(&e, NULL, NULL, 0, &len), BS_OK);
    bs_render_snapshot bad = {1, "x", NULL};
    bs_render_churn eb = {NULL, NULL, NULL, 0, &bad, 1};
    CHECK_EQ(bs_render_churn_report(&eb, NULL, NULL, 0, &len), BS_EINVAL);
    free(p);
    bs_topo_free(t);
}

int main(void)
{
    test_small();
    test_escaping_and_unassigned();
    test_failures();
    test_overlap_and_top_of_space();
    test_random();
    test_diff();
    test_churn_report();
    TEST_DONE("test_render");
}
