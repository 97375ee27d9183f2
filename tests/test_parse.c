/*
 * The topology text format: the bundled examples, exact errors for
 * malformed input, parse/format round trips on examples and on random
 * topologies built through the API, and mutated input that must never
 * crash.  Runs from the repository root (examples/ is read from there).
 */
#include "barspace/barspace.h"
#include "core/internal.h"
#include "test.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    return test_xorshift64(&rng_state);
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static char *format_alloc(const bs_topo *t)
{
    size_t need = bs_topo_format(t, NULL, 0);
    char *b = malloc(need + 1);
    if (b)
        bs_topo_format(t, b, need + 1);
    return b;
}

static bs_topo *parse_str(const char *s, bs_error *e)
{
    bs_topo *t = NULL;
    bs_error local;
    if (bs_topo_parse(s, strlen(s), "t.topo", &t, e ? e : &local) != BS_OK)
        return NULL;
    return t;
}

/* Same machine: everything but source lines, assignment results and node
 * numbering (a parsed file numbers nodes in file order, a topology built by
 * API in creation order), so trees are walked side by side. */
static int same_node(const bs_topo *a, int ia, const bs_topo *b, int ib,
                     char *why, size_t cap)
{
    const struct bs_node *x = &a->nodes[ia], *y = &b->nodes[ib];
    if (x->kind != y->kind || x->depth != y->depth || x->flags != y->flags ||
        x->slot != y->slot || x->fn != y->fn || x->num_vfs != y->num_vfs ||
        strcmp(x->name, y->name) || strcmp(x->model, y->model) ||
        memcmp(x->reserve, y->reserve, sizeof x->reserve))
        return snprintf(why, cap, "node %s", x->name), 0;
    for (int s = 0; s < BS_SLOT_WIN_IO; s++) {
        const struct bs_res *r = &x->res[s], *q = &y->res[s];
        uint32_t m = BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF | BS_RF_FIXED |
                     BS_RF_UPPER;
        uint64_t rw = r->want ? r->want : r->size;
        uint64_t qw = q->want ? q->want : q->size;
        if (rw != qw || r->align != q->align ||
            (r->flags & m) != (q->flags & m) || r->rebar != q->rebar ||
            ((r->flags & BS_RF_FIXED) && r->fixed != q->fixed))
            return snprintf(why, cap, "node %s slot %s", x->name,
                            bs_slot_name(s)), 0;
    }
    int ca = x->first_child, cb = y->first_child;
    for (; ca >= 0 && cb >= 0;
         ca = a->nodes[ca].next_sibling, cb = b->nodes[cb].next_sibling)
        if (!same_node(a, ca, b, cb, why, cap))
            return 0;
    if (ca >= 0 || cb >= 0)
        return snprintf(why, cap, "children of %s", x->name), 0;
    return 1;
}

static int same_topology(const bs_topo *a, const bs_topo *b, char *why,
                         size_t cap)
{
    if (strcmp(a->name, b->name))
        return snprintf(why, cap, "name"), 0;
    if (a->nwin != b->nwin || a->nnodes != b->nnodes)
        return snprintf(why, cap, "counts %d/%d %d/%d", a->nwin, b->nwin,
                        a->nnodes, b->nnodes), 0;
    for (int i = 0; i < a->nwin; i++)
        if (a->win[i].flags != b->win[i].flags ||
            a->win[i].base != b->win[i].base ||
            a->win[i].size != b->win[i].size)
            return snprintf(why, cap, "window %d", i), 0;
    return same_node(a, 0, b, 0, why, cap);
}

/* parse(text) -> format -> parse -> format: the two texts are equal and
 * both parses describe the same machine. */
static void check_fixed_point(const bs_topo *t, const char *what)
{
    char *t1 = format_alloc(t);
    bs_error e = {0};
    bs_topo *u = NULL;
    int rc = bs_topo_parse(t1, strlen(t1), what, &u, &e);
    CHECK_EQ(rc, BS_OK);
    if (rc) {
        fprintf(stderr, "%s: reparse failed: %s:%d:%d: %s\n---\n%s---\n",
                what, e.file, e.line, e.col, e.msg, t1);
        free(t1);
        return;
    }
    char why[128] = "";
    int same = same_topology(t, u, why, sizeof why);
    CHECK(same);
    if (!same)
        fprintf(stderr, "%s: differs at %s\n%s", what, why, t1);
    char *t2 = format_alloc(u);
    CHECK_STR(t1, t2);
    free(t1);
    free(t2);
    bs_topo_free(u);
}

static bs_topo *load_example(const char *name)
{
    char path[256];
    const char *dir = getenv("BS_SRCDIR");
    snprintf(path, sizeof path, "%s%sexamples/%s", dir ? dir : "",
             dir ? "/" : "", name);
    bs_topo *t = NULL;
    bs_error e = {0};
    int rc = bs_topo_load(path, &t, &e);
    if (rc)
        fprintf(stderr, "load %s: %s:%d:%d: %s\n", path, e.file, e.line,
                e.col, e.msg);
    CHECK_EQ(rc, BS_OK);
    return t;
}

static const struct bs_res *res_of(const bs_topo *t, const char *node,
                                   int slot)
{
    int id = bs_topo_find(t, node);
    if (id < 0) {
        fprintf(stderr, "no node %s\n", node);
        static const struct bs_res none;
        return &none;
    }
    return &t->nodes[id].res[slot];
}

static const struct bs_node *node_of(const bs_topo *t, const char *node)
{
    int id = bs_topo_find(t, node);
    return id < 0 ? &t->nodes[0] : &t->nodes[id];
}

/* ---------------------------------------------------------------- examples */

static const char *const examples[] = {
    "seed-14gpu.topo", "seed-25nvme.topo", "small-window.topo",
    "switch-nested.topo", "sriov.topo", "rebar-gpu.topo",
};

static void test_examples(void)
{
    bs_topo *t;

    /* 14 hot-plug root ports with one GPU each. */
    if ((t = load_example("seed-14gpu.topo"))) {
        CHECK_STR(bs_topo_name(t), "seed-14gpu");
        CHECK_EQ(bs_topo_node_count(t), 1 + 14 + 14);
        CHECK_EQ(t->nwin, 3);
        CHECK_EQ(t->win[0].flags, BS_RF_IO);
        CHECK_EQ(t->win[0].base, 0x1000);
        CHECK_EQ(t->win[0].size, 0xf000);
        CHECK_EQ(t->win[2].base, UINT64_C(1) << 40);
        CHECK_EQ(t->win[2].size, UINT64_C(4) << 40);
        int gpus = 0;
        for (int i = 1; i < t->nnodes; i++) {
            const struct bs_node *n = &t->nodes[i];
            if (n->kind == BS_NODE_BRIDGE) {
                CHECK_EQ(n->flags, BS_NF_HOTPLUG);
                CHECK_EQ(n->depth, 1);
                continue;
            }
            gpus++;
            CHECK_EQ(n->depth, 2);
            CHECK_EQ(n->res[0].size, 16 * BS_MIB);
            CHECK_EQ(n->res[0].flags, 0);
            CHECK_EQ(n->res[1].size, 128 * BS_GIB);
            CHECK_EQ(n->res[1].flags, BS_RF_MEM64 | BS_RF_PREF);
            CHECK_EQ(n->res[2].flags, BS_RF_UPPER);
            CHECK_EQ(n->res[3].size, 32 * BS_MIB);
            CHECK_EQ(n->res[3].flags, BS_RF_MEM64 | BS_RF_PREF);
            CHECK_EQ(n->res[5].size, 0);
        }
        CHECK_EQ(gpus, 14);
        /* Line numbers point at the text: gpu0's BAR1 line says "bar 1". */
        const struct bs_node *g = node_of(t, "gpu0");
        CHECK(g->line > 0 && g->res[1].line == g->line + 2);
        CHECK_EQ(node_of(t, "rp13")->slot, 3);
        CHECK_EQ(node_of(t, "rp13")->fn, 5);
        CHECK_STR(node_of(t, "gpu5")->model, "gpu-128g");
        bs_topo_free(t);
    }

    if ((t = load_example("seed-25nvme.topo"))) {
        CHECK_EQ(bs_topo_node_count(t), 1 + 25 + 25);
        for (int i = 0; i < 25; i++) {
            char nm[16];
            snprintf(nm, sizeof nm, "nvme%d", i);
            const struct bs_res *r = res_of(t, nm, 0);
            CHECK_EQ(r->size, 64 * 1024);
            CHECK_EQ(r->flags, BS_RF_MEM64);
            snprintf(nm, sizeof nm, "rp%d", i);
            CHECK_EQ(node_of(t, nm)->flags, BS_NF_HOTPLUG);
        }
        CHECK_EQ(t->win[1].size, 64 * BS_MIB);
        bs_topo_free(t);
    }

    if ((t = load_example("small-window.topo"))) {
        CHECK_EQ(t->nwin, 2); /* no 64-bit window at all */
        CHECK(t->win[1].base + t->win[1].size <= BS_4G);
        CHECK_EQ(res_of(t, "gpu1", 1)->size, 256 * BS_MIB);
        CHECK_EQ(res_of(t, "vga", BS_SLOT_ROM)->size, 64 * 1024);
        CHECK_EQ(node_of(t, "vga")->parent, 0);
        bs_topo_free(t);
    }

    if ((t = load_example("switch-nested.topo"))) {
        const struct bs_node *a = node_of(t, "ahci");
        CHECK_EQ(a->flags, BS_NF_PINNED);
        CHECK_EQ(a->slot, 31);
        CHECK_EQ(a->fn, 2);
        CHECK_EQ(a->res[4].flags, BS_RF_IO | BS_RF_FIXED | BS_RF_ASSIGNED);
        CHECK_EQ(a->res[4].fixed, 0xc000);
        CHECK_EQ(a->res[4].size, 32);
        CHECK_EQ(a->res[5].fixed, 0xafffe000);
        CHECK_EQ(node_of(t, "nic0")->depth, 4);
        CHECK_EQ(res_of(t, "nic0", BS_SLOT_ROM)->size, 512 * 1024);
        CHECK_EQ(res_of(t, "usp0", 0)->size, 128 * 1024);
        const struct bs_node *d = node_of(t, "dsp2");
        CHECK_EQ(d->reserve[0], 4096);
        CHECK_EQ(d->reserve[1], 8 * BS_MIB);
        CHECK_EQ(d->reserve[2], 256 * BS_MIB);
        CHECK_EQ(d->first_child, -1);
        CHECK_EQ(res_of(t, "serial0", 0)->flags, BS_RF_IO);
        CHECK_EQ(res_of(t, "serial0", 0)->size, 8);
        CHECK_EQ(t->nodes[node_of(t, "serial0")->parent].kind, BS_NODE_BRIDGE);
        bs_topo_free(t);
    }

    if ((t = load_example("sriov.topo"))) {
        const struct bs_node *n = node_of(t, "nic0");
        CHECK_EQ(n->num_vfs, 64);
        CHECK_EQ(n->res[BS_SLOT_VF0].size, 64 * BS_MIB);
        CHECK_EQ(n->res[BS_SLOT_VF0].align, BS_MIB);
        CHECK_EQ(n->res[BS_SLOT_VF0].flags, BS_RF_MEM64 | BS_RF_PREF);
        CHECK_EQ(n->res[BS_SLOT_VF0 + 1].flags, BS_RF_UPPER);
        CHECK_EQ(n->res[BS_SLOT_VF0 + 2].size, 64 * 16 * 1024);
        CHECK_EQ(node_of(t, "nvme0")->num_vfs, 8);
        CHECK_EQ(res_of(t, "nvme0", BS_SLOT_VF0)->size, 8 * 16 * 1024);
        bs_topo_free(t);
    }

    if ((t = load_example("rebar-gpu.topo"))) {
        const struct bs_res *r = res_of(t, "gpu0", 2);
        CHECK_EQ(r->size, 256 * BS_MIB);
        /* 256M .. 32G = 2^8 .. 2^15 MiB */
        CHECK_EQ(r->rebar, 0xff00);
        CHECK_EQ(res_of(t, "gpu0", 4)->size, 128);
        CHECK_EQ(node_of(t, "gpu0_audio")->fn, 1);
        bs_topo_free(t);
    }

    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
        if ((t = load_example(examples[i]))) {
            check_fixed_point(t, examples[i]);
            bs_topo_free(t);
        }
}

/* ---------------------------------------------------------------- errors */

#define W "window mem 0xc0000000+1G\n"
#define DEV "device d {\n"

struct bad {
    const char *text;
    size_t len; /* 0: strlen */
    int code, line, col;
    const char *msg;
};

static const struct bad bad_cases[] = {
    {"", 0, BS_EPARSE, 0, 0, "no root window: a topology needs at least one "
                             "`window` line"},
    {"# nothing\n\n   \t\n", 0, BS_EPARSE, 0, 0, "no root window"},
    {"device d\n", 0, BS_EPARSE, 0, 0, "no root window"},
    {W "frobnicate x\n", 0, BS_EPARSE, 2, 1, "unknown keyword 'frobnicate'"},
    {W "device d colour=red\n", 0, BS_EPARSE, 2, 10,
     "unknown attribute 'colour' for a device"},
    {W "device d hotplug\n", 0, BS_EPARSE, 2, 10,
     "unknown attribute 'hotplug' for a device"},
    {W "device d slot=\n", 0, BS_EPARSE, 2, 10,
     "attribute 'slot' needs a value (slot=N)"},
    {W "device d pinned=1\n", 0, BS_EPARSE, 2, 10,
     "attribute 'pinned' takes no value"},
    {W "device d pinned pinned\n", 0, BS_EPARSE, 2, 17, "given twice"},
    {W "device d slot=32\n", 0, BS_EPARSE, 2, 10, "slot must be 0..31"},
    {W "device d fn=x\n", 0, BS_EPARSE, 2, 10, "expected a number for fn"},
    {W DEV "  bar 0 mem32 abc\n}\n", 0, BS_EPARSE, 3, 15,
     "expected a size (e.g. 64K, 0x1000, 2G), got 'abc'"},
    {W DEV "  bar 0 mem32 64KQ\n}\n", 0, BS_EPARSE, 3, 15,
     "expected a size (e.g. 64K, 0x1000, 2G), got '64KQ'"},
    {W DEV "  bar 0 mem32 99999999999999999999\n}\n", 0, BS_EPARSE, 3, 15,
     "expected a size"},
    {W DEV "  bar 0 mem64 16E\n}\n", 0, BS_EPARSE, 3, 15, "expected a size"},
    {W DEV "  bar 0 mem32 24K\n}\n", 0, BS_EPARSE, 3, 15,
     "size 24K is not a power of two"},
    {W DEV "  bar 0 mem32 8\n}\n", 0, BS_EPARSE, 3, 15,
     "a memory BAR is at least 16 bytes"},
    {W DEV "  bar 0 mem32 4G\n}\n", 0, BS_EPARSE, 3, 15,
     "a 32-bit memory BAR is at most 2G"},
    {W DEV "  bar 0 io 512\n}\n", 0, BS_EPARSE, 3, 12,
     "an I/O BAR is 4 to 256 bytes, got 512"},
    {W DEV "  bar 0 io 2\n}\n", 0, BS_EPARSE, 3, 12, "4 to 256 bytes"},
    {W DEV "  bar 0 io 16 pref\n}\n", 0, BS_EPARSE, 3, 15,
     "an I/O BAR cannot be prefetchable"},
    {W DEV "  rom 1K\n}\n", 0, BS_EPARSE, 3, 7, "an expansion ROM is at least 2K"},
    {W DEV "  bar 6 mem32 4K\n}\n", 0, BS_EPARSE, 3, 7,
     "BAR index must be 0..5, got '6'"},
    {W DEV "  bar 5 mem64 4K\n}\n", 0, BS_EPARSE, 3, 9,
     "a 64-bit BAR at index 5"},
    {W DEV "  bar 0 mem16 4K\n}\n", 0, BS_EPARSE, 3, 9,
     "expected io, mem32 or mem64, got 'mem16'"},
    {W DEV "  bar 0\n}\n", 0, BS_EPARSE, 3, 8,
     "expected io, mem32 or mem64 after the BAR index"},
    {W DEV "  bar 2 mem32 4K\n  bar 2 io 4\n}\n", 0, BS_EPARSE, 4, 7,
     "BAR 2 is already declared on line 3"},
    {W DEV "  bar 0 mem64 4K\n  bar 1 mem32 4K\n}\n", 0, BS_EPARSE, 4, 7,
     "BAR 1 is the upper half of the 64-bit BAR 0 (line 3)"},
    {W DEV "  bar 1 mem32 4K\n  bar 0 mem64 4K\n}\n", 0, BS_EPARSE, 4, 7,
     "64-bit BAR 0 needs BAR 1 too, already declared on line 3"},
    {W DEV "  rom 2K\n  rom 4K\n}\n", 0, BS_EPARSE, 4, 3,
     "the ROM is already declared on line 3"},
    {W DEV "  bar 0 mem32 4K fixed=0xc0000800\n}\n", 0, BS_EPARSE, 3, 18,
     "fixed address 0xc0000800 is not aligned to the size 4K"},
    {W DEV "  bar 0 mem32 4K fixed=0x100000000\n}\n", 0, BS_EPARSE, 3, 18,
     "a mem32 BAR cannot be fixed above 4 GiB"},
    {W DEV "  bar 0 io 16 fixed=0x10000\n}\n", 0, BS_EPARSE, 3, 15,
     "an I/O BAR cannot be fixed above 0xffff"},
    {W DEV "  bar 0 mem32 4K fixed=zz\n}\n", 0, BS_EPARSE, 3, 18,
     "expected an address (e.g. 0xfe000000), got 'zz'"},
    {W DEV "  bar 0 mem64 256M rebar=512M,1G\n}\n", 0, BS_EPARSE, 3, 20,
     "rebar sizes do not include the BAR's size 256M"},
    {W DEV "  bar 0 mem64 256M rebar=256M,512K\n}\n", 0, BS_EPARSE, 3, 20,
     "rebar size '512K' must be a power of two of at least 1M"},
    {W DEV "  bar 0 mem64 256M rebar=256M,\n}\n", 0, BS_EPARSE, 3, 20,
     "expected a size"},
    {W DEV "  bar 0 mem64 1G rebar=1G,1G\n}\n", 0, BS_EPARSE, 3, 18,
     "listed twice"},
    {"window mem 0x2000-0x1000\n", 0, BS_EPARSE, 1, 12,
     "range limit 0x1000 is below its base 0x2000"},
    {"window mem 0xffffffffffff0000+0x20000\n", 0, BS_EPARSE, 1, 12,
     "overflows 2^64"},
    {"window mem 0x1000\n", 0, BS_EPARSE, 1, 12,
     "expected a range BASE-LIMIT or BASE+SIZE"},
    {"window mem 0x1000+0\n", 0, BS_EPARSE, 1, 12, "empty range"},
    {"window mem 0x10000000+4K\nwindow io 0x1000+4K\n"
     "window mem 0x10000800+4K\n", 0, BS_EPARSE, 3, 12,
     "window overlaps the mem window on line 1"},
    {"window io 0x1000-0x1ffff\n", 0, BS_EPARSE, 1, 11,
     "an I/O window must end at or below 0xffff"},
    {"window io 0x1000-0xffff pref\n", 0, BS_EPARSE, 1, 25,
     "an I/O window cannot be prefetchable"},
    {"window mem 0xc0000000-0x13fffffff\n", 0, BS_EPARSE, 1, 12,
     "entirely below 4 GiB or entirely above it"},
    {"window disk 0+1M\n", 0, BS_EPARSE, 1, 8,
     "expected 'io' or 'mem' after 'window', got 'disk'"},
    {W "device a\nbridge b\ndevice a\n", 0, BS_EPARSE, 4, 8,
     "duplicate name 'a' (first used on line 2)"},
    {W "device host\n", 0, BS_EPARSE, 2, 8, "reserved for the host bridge"},
    {W "device 9lives\n", 0, BS_EPARSE, 2, 8, "bad name '9lives'"},
    {W "device a23456789012345678901234567890123456789012345678\n", 0,
     BS_EPARSE, 2, 8, "is longer than 47 characters"},
    {W "device\n", 0, BS_EPARSE, 2, 7, "expected a name after 'device'"},
    {W "device d\n  bar 0 mem32 4K\n", 0, BS_EPARSE, 3, 3,
     "'bar' is outside any device or bridge: '{' missing at the end of "
     "line 2?"},
    {W "bridge b {\n  device d\n  bar 0 mem32 4K\n}\n", 0, BS_EPARSE, 4, 3,
     "'{' missing at the end of line 3?"},
    {W "device d\n{\n", 0, BS_EPARSE, 3, 1,
     "'{' must end the line of the bridge or device it opens"},
    {W "}\n", 0, BS_EPARSE, 2, 1, "unexpected '}': no block is open"},
    {W DEV "} x\n", 0, BS_EPARSE, 3, 3, "unexpected 'x' after '}'"},
    {W "device d { bar 0 mem32 4K\n}\n", 0, BS_EPARSE, 2, 12,
     "unexpected 'bar' after '{'"},
    {W "bridge b {\n  device d {\n    bar 0 mem32 4K\n}\n", 0, BS_EPARSE, 2,
     10, "'{' of bridge 'b' is never closed (missing '}')"},
    {W DEV "  vfbar 0 mem32 4K\n}\n", 0, BS_EPARSE, 3, 3,
     "'vfbar' needs vfs=N on device 'd' (line 2)"},
    {W "device d vfs=4 {\n  vfbar 0 io 4\n}\n", 0, BS_EPARSE, 3, 11,
     "VF BARs are memory only"},
    {W "device d vfs=0\n", 0, BS_EPARSE, 2, 10, "vfs must be 1..65535, got 0"},
    {W "device d vfs=65536\n", 0, BS_EPARSE, 2, 10,
     "vfs must be 1..65535, got 65536"},
    {W "rom 2K\n", 0, BS_EPARSE, 2, 1, "'rom' is outside any device or bridge"},
    {W "bridge b {\n  window mem 0+1M\n}\n", 0, BS_EPARSE, 3, 3,
     "'window' is only allowed at top level"},
    {W DEV "  bridge b\n}\n", 0, BS_EPARSE, 3, 3,
     "a bridge cannot be inside device 'd' (line 2)"},
    {W DEV "  device e\n}\n", 0, BS_EPARSE, 3, 3,
     "a device cannot be inside device 'd' (line 2)"},
    {W "bridge b {\n  bar 2 mem32 4K\n}\n", 0, BS_EPARSE, 3, 7,
     "a bridge has only BAR0 and BAR1"},
    {W "bridge b {\n  bar 1 mem64 4K\n}\n", 0, BS_EPARSE, 3, 9,
     "would need BAR 2, which a bridge does not have"},
    {W "bridge b {\n  vfbar 0 mem32 4K\n}\n", 0, BS_EPARSE, 3, 3,
     "'vfbar' is only allowed inside a device"},
    {W "bridge b {\n  device d\n  device e { bar 0 mem32 4K\n}\n", 0,
     BS_EPARSE, 4, 14, "unexpected 'bar' after '{'"},
    {W "bridge b {\n  device d {\n  }\n  bar 0 mem32 4K\n}\n", 0, BS_EPARSE,
     5, 3, "its own 'bar' lines must come before its children"},
    {W "topology x\n", 0, BS_EPARSE, 2, 1,
     "'topology' must be the first statement"},
    {"topology x y\n" W, 0, BS_EPARSE, 1, 12,
     "unexpected 'y' after the topology name"},
    {"topology\n" W, 0, BS_EPARSE, 1, 9, "expected a topology name"},
    {W "bridge b io=12Q\n", 0, BS_EPARSE, 2, 10,
     "expected a size (e.g. 64K, 0x1000, 2G), got '12Q'"},
    {W "device d model=a/b\n", 0, BS_EPARSE, 2, 10, "bad model 'a/b'"},
    {W "device d model=abcdefghijklmnopqrstuvwxyz\n", 0, BS_EPARSE, 2, 10,
     "model 'abcdefghijklmnopqrstuvwxyz' is longer than 23 characters"},
    {W DEV "  bar 0 mem32 4K junk\n}\n", 0, BS_EPARSE, 3, 18,
     "unknown attribute 'junk' for a bar"},
    {W DEV "  rom 4K pref\n}\n", 0, BS_EPARSE, 3, 10,
     "unknown attribute 'pref' for a rom"},
    /* NUL and non-UTF-8 bytes are shown escaped, never trusted. */
    {W "de\0vice x\n", sizeof(W "de\0vice x\n") - 1, BS_EPARSE, 2, 1,
     "unknown keyword 'de\\x00vice'"},
    {W "device \xff\xfe\n", 0, BS_EPARSE, 2, 8, "bad name '\\xff\\xfe'"},
    /* A NUL inside a number ends nothing: the whole token is bad. */
    {W DEV "  bar 0 mem32 4\0K\n}\n", sizeof(W DEV "  bar 0 mem32 4\0K\n}\n") - 1,
     BS_EPARSE, 3, 15, "got '4\\x00K'"},
    /* Assigned state (at=, win-*=), as `assign -o` writes it. */
    {W DEV "  bar 0 mem32 1M at=0xc0080000\n}\n", 0, BS_EPARSE, 3, 18,
     "address 0xc0080000 is not aligned to the size 1M"},
    {W DEV "  bar 0 mem32 1M at=0xc0000000 fixed=0xc0000000\n}\n", 0,
     BS_EPARSE, 3, 18, "at= and fixed= together"},
    {W DEV "  bar 0 mem32 1M at=0x100000000\n}\n", 0, BS_EPARSE, 3, 18,
     "cannot sit above 4 GiB"},
    {W DEV "  bar 0 mem32 1M at=zz\n}\n", 0, BS_EPARSE, 3, 18, "got 'zz'"},
    {W "bridge b win-mem=0xc0080000-0xc017ffff\n", 0, BS_EPARSE, 2, 18,
     "on a 1 MiB granule"},
    {W "bridge b win-io=0x1000\n", 0, BS_EPARSE, 2, 17,
     "expected a range BASE-LIMIT"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        bs_topo *t = (bs_topo *)&t; /* must be reset to NULL */
        bs_error e;
        memset(&e, 0x55, sizeof e);
        int rc = bs_topo_parse(c->text, len, "bad.topo", &t, &e);
        int ok = rc == c->code && e.code == c->code && e.line == c->line &&
                 e.col == c->col && strstr(e.msg, c->msg) && !t &&
                 !strcmp(e.file, "bad.topo");
        CHECK(ok);
        if (!ok)
            fprintf(stderr,
                    "  case %zu: got rc=%d %d:%d '%s', want %d %d:%d '%s'\n",
                    i, rc, e.line, e.col, e.msg, c->code, c->line, c->col,
                    c->msg);
    }
}

static void test_limits(void)
{
    /* 64 nested bridges are allowed, the 65th is refused with its line. */
    size_t cap = 64 * 1024;
    char *b = malloc(cap);
    for (int depth = 64; depth <= 65; depth++) {
        size_t o = (size_t)snprintf(b, cap, W);
        for (int i = 0; i < depth; i++)
            o += (size_t)snprintf(b + o, cap - o, "bridge b%d {\n", i);
        for (int i = 0; i < depth; i++)
            o += (size_t)snprintf(b + o, cap - o, "}\n");
        bs_topo *t = NULL;
        bs_error e = {0};
        int rc = bs_topo_parse(b, o, "deep.topo", &t, &e);
        if (depth == 64) {
            CHECK_EQ(rc, BS_OK);
            CHECK(t && t->nnodes == 65 && t->nodes[64].depth == 64);
        } else {
            CHECK_EQ(rc, BS_ELIMIT);
            CHECK_EQ(e.code, BS_ELIMIT);
            CHECK_EQ(e.line, 1 + 65);
            CHECK_EQ(e.col, 1);
            CHECK(strstr(e.msg, "nesting deeper than 64") != NULL);
        }
        bs_topo_free(t);
    }
    /* 32 root windows fit, a 33rd is a limit error on its line. */
    size_t o = 0;
    for (int i = 0; i < 33; i++)
        o += (size_t)snprintf(b + o, cap - o, "window mem 0x%x+4K\n",
                              0x100000 * (i + 1));
    bs_topo *t = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_topo_parse(b, o, "w.topo", &t, &e), BS_ELIMIT);
    CHECK_EQ(e.line, 33);
    CHECK(strstr(e.msg, "too many root windows (limit 32)") != NULL);
    free(b);

    /* A line of a million tokens: one error, no overflow. */
    size_t n = 2u << 20;
    char *big = malloc(n);
    memcpy(big, W "device d", sizeof W + 7);
    for (size_t i = sizeof W + 7; i < n; i++)
        big[i] = (i & 1) ? ' ' : 'x';
    t = NULL;
    CHECK_EQ(bs_topo_parse(big, n, "big.topo", &t, &e), BS_EPARSE);
    CHECK_EQ(e.line, 2);
    CHECK(strstr(e.msg, "too many tokens on one line") != NULL);
    free(big);

    /* Unreadable file: EIO naming it. */
    CHECK_EQ(bs_topo_load("/nonexistent/dir/x.topo", &t, &e), BS_EIO);
    CHECK_STR(e.file, "/nonexistent/dir/x.topo");
    CHECK(t == NULL);
    /* A directory opens but cannot be read. */
    CHECK_EQ(bs_topo_load("/", &t, &e), BS_EIO);
    CHECK(t == NULL);
}

/* ---------------------------------------------------------------- accepted */

static void test_accepted(void)
{
    bs_error e = {0};
    /* Every size spelling, BASE+SIZE and BASE-LIMIT, glued braces, CRLF,
     * tabs, comments, a brace-less device and a brace-less empty bridge. */
    const char *text =
        "topology spellings   # comment\r\n"
        "window io 4096+0xf000\r\n"
        "window mem 0xc0000000-0xdfffffff pref\n"
        "window mem 64G+64GiB\n"
        "\n"
        "bridge rp0 hotplug io=4k mem=3M pref=1g pref32 slot=2 fn=7 "
        "model=x-y.z:1{\n"
        "\tdevice d0 pinned vfs=2{   # brace glued to the attribute\n"
        "\t\tbar 0 mem64 0x10M pref fixed=0x1000000000\n"
        "\t\tbar 2 io 0x100\n"
        "\t\tbar 3 mem32 2GiB\n"
        "\t\tvfbar 5 mem32 64KiB\n"
        "\t\trom 0x800 fixed=3G\n"
        "\t}\n"
        "\tdevice d1\n"
        "\tbridge empty hotplug mem=2M\n"
        "}\n"
        "device top model=MODEL\n";
    bs_topo *t = parse_str(text, &e);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "accepted: %d:%d %s\n", e.line, e.col, e.msg);
        return;
    }
    CHECK_STR(t->name, "spellings");
    CHECK_EQ(t->nwin, 3);
    CHECK_EQ(t->win[0].base, 4096);
    CHECK_EQ(t->win[0].size, 0xf000);
    CHECK_EQ(t->win[0].line, 2);
    CHECK_EQ(t->win[1].flags, BS_RF_PREF);
    CHECK_EQ(t->win[1].size, 512 * BS_MIB);
    CHECK_EQ(t->win[2].base, 64 * BS_GIB);
    CHECK_EQ(t->win[2].size, 64 * BS_GIB);
    const struct bs_node *rp = node_of(t, "rp0");
    CHECK_EQ(rp->flags, BS_NF_HOTPLUG | BS_NF_PREF32);
    CHECK_EQ(rp->reserve[0], 4096);
    CHECK_EQ(rp->reserve[1], 3 * BS_MIB);
    CHECK_EQ(rp->reserve[2], BS_GIB);
    CHECK_EQ(rp->slot, 2);
    CHECK_EQ(rp->fn, 7);
    CHECK_STR(rp->model, "x-y.z:1");
    CHECK_EQ(rp->line, 6);
    const struct bs_node *d0 = node_of(t, "d0");
    CHECK_EQ(d0->flags, BS_NF_PINNED);
    CHECK_EQ(d0->num_vfs, 2);
    CHECK_EQ(d0->slot, -1);
    CHECK_EQ(d0->res[0].size, 16 * BS_MIB);
    CHECK_EQ(d0->res[0].fixed, UINT64_C(0x1000000000));
    CHECK_EQ(d0->res[0].flags,
             BS_RF_MEM64 | BS_RF_PREF | BS_RF_FIXED | BS_RF_ASSIGNED);
    CHECK_EQ(d0->res[0].line, 8);
    CHECK_EQ(d0->res[1].flags, BS_RF_UPPER);
    CHECK_EQ(d0->res[2].size, 256);
    CHECK_EQ(d0->res[3].size, 2 * BS_GIB);
    CHECK_EQ(d0->res[BS_SLOT_VF0 + 5].size, 2 * 64 * 1024);
    CHECK_EQ(d0->res[BS_SLOT_ROM].size, 2048);
    CHECK_EQ(d0->res[BS_SLOT_ROM].fixed, 3 * BS_GIB);
    CHECK_EQ(node_of(t, "d1")->parent, bs_topo_find(t, "rp0"));
    CHECK_EQ(node_of(t, "empty")->reserve[1], 2 * BS_MIB);
    CHECK_EQ(node_of(t, "empty")->parent, bs_topo_find(t, "rp0"));
    CHECK_EQ(node_of(t, "top")->parent, 0);
    CHECK_EQ(node_of(t, "top")->line, 17);
    CHECK_EQ(t->nnodes, 6);
    check_fixed_point(t, "spellings");

    /* The canonical text, spelled out once. */
    char *txt = format_alloc(t);
    const char *want =
        "topology spellings\n"
        "window io 0x1000-0xffff\n"
        "window mem 0xc0000000-0xdfffffff pref\n"
        "window mem 0x1000000000-0x1fffffffff\n"
        "\n"
        "bridge rp0 hotplug io=4K mem=3M pref=1G pref32 slot=2 fn=7 "
        "model=x-y.z:1 {\n"
        "    device d0 pinned vfs=2 {\n"
        "        bar 0 mem64 16M pref fixed=0x1000000000\n"
        "        bar 2 io 256\n"
        "        bar 3 mem32 2G\n"
        "        rom 2K fixed=0xc0000000\n"
        "        vfbar 5 mem32 64K\n"
        "    }\n"
        "    device d1\n"
        "    bridge empty hotplug mem=2M\n"
        "}\n"
        "device top model=MODEL\n";
    CHECK_STR(txt, want);

    /* snprintf contract: truncated output is a NUL-terminated prefix and
     * the return value is always the full length. */
    size_t full = strlen(txt);
    char small[40];
    CHECK_EQ(bs_topo_format(t, small, sizeof small), full);
    CHECK_EQ(strlen(small), sizeof small - 1);
    CHECK(!memcmp(small, txt, sizeof small - 1));
    CHECK_EQ(bs_topo_format(t, small, 1), full);
    CHECK_EQ(small[0], 0);
    free(txt);
    bs_topo_free(t);

    /* The writer describes the machine, not an assignment: formatting after
     * bs_assign gives the text of before. */
    if ((t = load_example("switch-nested.topo"))) {
        char *before = format_alloc(t);
        bs_assign_opts o;
        bs_assign_opts_init(&o, BS_POLICY_LINUX);
        bs_assign(t, &o, &e);
        int assigned = 0;
        for (int i = 1; i < t->nnodes; i++)
            if (t->nodes[i].res[BS_SLOT_WIN_MEM].flags & BS_RF_ASSIGNED)
                assigned++;
        CHECK(assigned > 0);
        char *after_ = format_alloc(t);
        CHECK_STR(before, after_);
        CHECK(strstr(after_, "at=") == NULL);
        free(before);
        free(after_);
        bs_topo_free(t);
    }
}

/* ---------------------------------------------------------------- random */

static void random_bars(bs_topo *t, int id, bool bridge)
{
    struct bs_node *n = &t->nodes[id];
    int nbars = bridge ? 2 : 6;
    for (int i = 0; i < nbars; i++) {
        if (n->res[i].size || (n->res[i].flags & BS_RF_UPPER) ||
            rnd_below(3) == 0)
            continue;
        unsigned f = 0;
        uint64_t size, fixed = 0;
        int kind = (int)rnd_below(3);
        bool can64 = i + 1 < nbars && !n->res[i + 1].size;
        if (kind == 0) {
            f = BS_RF_IO;
            size = UINT64_C(4) << rnd_below(7);
            if (rnd_below(4) == 0) {
                f |= BS_RF_FIXED;
                fixed = 0x1000 + size * rnd_below(64);
            }
        } else if (kind == 2 && can64) {
            f = BS_RF_MEM64 | (rnd_below(2) ? BS_RF_PREF : 0);
            size = UINT64_C(16) << rnd_below(44);
            if (rnd_below(5) == 0) {
                f |= BS_RF_FIXED;
                fixed = size * (1 + rnd_below(8));
            }
        } else {
            f = rnd_below(2) ? BS_RF_PREF : 0;
            size = UINT64_C(16) << rnd_below(28);
            if (rnd_below(5) == 0) {
                f |= BS_RF_FIXED;
                fixed = size * rnd_below(BS_4G / size);
            }
        }
        int rc = bs_topo_set_bar(t, id, i, f, size, fixed);
        CHECK_EQ(rc, BS_OK);
        if (!rc && !(f & BS_RF_IO) && size >= BS_MIB && rnd_below(3) == 0) {
            int bit = __builtin_ctzll(size) - 20;
            uint64_t mask = UINT64_C(1) << bit;
            int maxbit = (f & BS_RF_MEM64) ? 43 : 11;
            for (int k = 0; k <= maxbit; k++)
                if (rnd_below(3) == 0)
                    mask |= UINT64_C(1) << k;
            n->res[i].rebar = mask;
        }
    }
    if (rnd_below(4) == 0) {
        uint64_t size = UINT64_C(2048) << rnd_below(10);
        uint64_t fixed = rnd_below(2) ? 0xd0000000 + size * rnd_below(16) : 0;
        CHECK_EQ(bs_topo_set_bar(t, id, BS_SLOT_ROM, fixed ? BS_RF_FIXED : 0,
                                 size, fixed),
                 BS_OK);
    }
    if (!bridge && n->num_vfs) {
        for (int i = 0; i < 6; i++) {
            int s = BS_SLOT_VF0 + i;
            if (n->res[s].size || (n->res[s].flags & BS_RF_UPPER) ||
                rnd_below(2))
                continue;
            unsigned f = (i < 5 && !n->res[s + 1].size && rnd_below(2))
                             ? BS_RF_MEM64 : 0;
            f |= rnd_below(2) ? BS_RF_PREF : 0;
            CHECK_EQ(bs_topo_set_bar(t, id, s, f, UINT64_C(16)
                                                      << rnd_below(20), 0),
                     BS_OK);
        }
    }
}

static bs_topo *random_topology(int seed)
{
    char name[32];
    snprintf(name, sizeof name, seed % 3 ? "rnd-%d" : "", seed);
    bs_topo *t = bs_topo_new(name);
    CHECK_EQ(bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000), 0);
    uint64_t base = 0x80000000 + (rnd_below(16) << 20);
    bs_topo_add_window(t, rnd_below(2) ? BS_RF_PREF : 0, base,
                       (rnd_below(1024) + 1) << 20);
    if (rnd_below(3))
        bs_topo_add_window(t, 0, UINT64_C(1) << (33 + rnd_below(10)),
                           UINT64_C(1) << (30 + rnd_below(12)));
    int nodes = 1 + (int)rnd_below(40);
    for (int i = 0; i < nodes; i++) {
        /* a random bridge (or the root) as the parent */
        int parent = 0;
        for (int tries = 0; tries < 4; tries++) {
            int c = (int)rnd_below((uint64_t)t->nnodes);
            if (t->nodes[c].kind != BS_NODE_DEVICE) {
                parent = c;
                break;
            }
        }
        bool bridge = rnd_below(3) == 0;
        char nm[BS_NAME_MAX];
        snprintf(nm, sizeof nm, "%s%d", bridge ? "br" : "dev.x:y-", i);
        int id = bs_topo_add_node(t, parent,
                                  bridge ? BS_NODE_BRIDGE : BS_NODE_DEVICE, nm);
        CHECK(id > 0);
        if (id <= 0)
            break;
        struct bs_node *n = &t->nodes[id];
        if (rnd_below(2))
            n->slot = (int)rnd_below(32);
        if (rnd_below(2))
            n->fn = (int)rnd_below(8);
        if (rnd_below(3) == 0)
            snprintf(n->model, sizeof n->model, "m%d", (int)rnd_below(1000));
        if (bridge) {
            n->flags = (uint32_t)rnd_below(2) * BS_NF_HOTPLUG |
                       (uint32_t)rnd_below(2) * BS_NF_PREF32;
            for (int r = 0; r < 3; r++)
                if (rnd_below(2))
                    n->reserve[r] = (rnd_below(8) + 1) << (10 + rnd_below(20));
        } else {
            n->flags = (uint32_t)rnd_below(2) * BS_NF_PINNED;
            if (rnd_below(4) == 0)
                n->num_vfs = 1 + (unsigned)rnd_below(65535);
        }
        random_bars(t, id, bridge);
    }
    return t;
}

static void test_random_round_trips(void)
{
    for (int i = 0; i < 300; i++) {
        bs_topo *t = random_topology(i);
        char what[32];
        snprintf(what, sizeof what, "random-%d", i);
        check_fixed_point(t, what);
        bs_topo_free(t);
    }
}

/* ---------------------------------------------------------------- fuzz */

/* Mutated examples and random bytes: an error with a position, or a
 * topology that round-trips.  Never a crash (the sanitizer run checks). */
static void test_mutations(void)
{
    int parsed = 0, rejected = 0, bad_err = 0, bad_rt = 0;
    for (size_t x = 0; x < sizeof examples / sizeof examples[0]; x++) {
        bs_topo *t = load_example(examples[x]);
        if (!t)
            continue;
        char *orig = format_alloc(t);
        bs_topo_free(t);
        size_t len = strlen(orig);
        char *buf = malloc(len + 64);
        for (int it = 0; it < 150; it++) {
            memcpy(buf, orig, len);
            size_t n = len;
            int edits = 1 + (int)rnd_below(4);
            for (int k = 0; k < edits; k++) {
                size_t at = rnd_below(n);
                switch (rnd_below(4)) {
                case 0: buf[at] = (char)rnd(); break;
                case 1: n = at; break;                      /* truncate */
                case 2:                                     /* delete */
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                default: {                                  /* insert */
                    static const char pick[] = "{}#\n 0x=,+-\0\xff";
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = pick[rnd_below(sizeof pick)];
                    n++;
                }
                }
                if (!n)
                    break;
            }
            bs_error e;
            memset(&e, 0, sizeof e);
            bs_topo *u = NULL;
            int rc = bs_topo_parse(buf, n, "mut.topo", &u, &e);
            if (rc == BS_OK) {
                parsed++;
                char *a = format_alloc(u);
                bs_topo *v = NULL;
                if (bs_topo_parse(a, strlen(a), "rt", &v, &e) != BS_OK)
                    bad_rt++;
                else {
                    char *b2 = format_alloc(v);
                    bad_rt += strcmp(a, b2) != 0;
                    free(b2);
                }
                free(a);
                bs_topo_free(v);
                bs_topo_free(u);
            } else {
                rejected++;
                if (u || e.code != rc || !e.msg[0] || e.line < 0 ||
                    e.col < 0 || strcmp(e.file, "mut.topo"))
                    bad_err++;
            }
        }
        free(buf);
        free(orig);
    }
    CHECK_EQ(bad_err, 0);
    CHECK_EQ(bad_rt, 0);
    CHECK(parsed > 0);
    CHECK(rejected > 0);

    /* Pure noise. */
    char noise[512];
    for (int it = 0; it < 300; it++) {
        size_t n = rnd_below(sizeof noise);
        for (size_t i = 0; i < n; i++)
            noise[i] = (char)rnd();
        bs_topo *u = NULL;
        bs_error e;
        int rc = bs_topo_parse(noise, n, "noise", &u, &e);
        CHECK(rc == BS_EPARSE && u == NULL);
    }
}

/* The topology's name index (bs_topo_find) against a scan of the nodes:
 * adds, renames, nodes taken out of the index and put back, duplicates
 * (the lowest id wins, as a scan in tree order would find), clones and a
 * rebuild.  Enough nodes to grow the table several times. */
static int scan_find(const bs_topo *t, const char *name, const char *gone)
{
    for (int i = 0; i < t->nnodes; i++)
        if (!gone[i] && !strcmp(t->nodes[i].name, name))
            return i;
    return BS_ENOENT;
}

static void test_name_index(void)
{
    enum { N = 700 };
    static char gone[N + 1];
    memset(gone, 0, sizeof gone);
    bs_topo *t = bs_topo_new("names");
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_EQ(bs_topo_find(t, "host"), 0);
    char nm[32];
    for (int i = 1; i <= N; i++) {
        /* every 7th name repeats an earlier one */
        snprintf(nm, sizeof nm, "n%d", i % 7 == 0 ? i / 7 : i);
        CHECK_EQ(bs_topo_add_node(t, 0, BS_NODE_BRIDGE, nm), i);
    }
    for (int i = 0; i < N + 20; i++) {
        snprintf(nm, sizeof nm, "n%d", i);
        CHECK_EQ(bs_topo_find(t, nm), scan_find(t, nm, gone));
    }
    /* Taking nodes out and renaming others. */
    for (int i = 3; i <= N; i += 5) {
        bs_topo_unindex(t, i);
        gone[i] = 1;
    }
    for (int i = 4; i <= N; i += 10) {
        snprintf(nm, sizeof nm, "r%d", i / 3);
        CHECK_EQ(bs_topo_rename(t, i, nm), BS_OK);
        CHECK_STR(t->nodes[i].name, nm);
    }
    bs_topo_unindex(t, 3); /* twice: no effect */
    bs_topo *c = bs_topo_clone(t);
    CHECK(c != NULL);
    for (int i = 0; i < N + 20; i++) {
        snprintf(nm, sizeof nm, "n%d", i);
        CHECK_EQ(bs_topo_find(t, nm), scan_find(t, nm, gone));
        if (c)
            CHECK_EQ(bs_topo_find(c, nm), scan_find(t, nm, gone));
        snprintf(nm, sizeof nm, "r%d", i);
        CHECK_EQ(bs_topo_find(t, nm), scan_find(t, nm, gone));
    }
    /* A removed node given a name again is found again. */
    CHECK_EQ(bs_topo_rename(t, 8, "back"), BS_OK);
    CHECK_EQ(bs_topo_find(t, "back"), 8);
    bs_topo_free(c);
    /* A rebuild indexes every node and names the first repeated one. */
    int dup;
    CHECK_EQ(bs_topo_reindex(t, &dup), BS_OK);
    memset(gone, 0, sizeof gone);
    CHECK_EQ(dup, 7);
    for (int i = 0; i < N + 20; i++) {
        snprintf(nm, sizeof nm, "n%d", i);
        CHECK_EQ(bs_topo_find(t, nm), scan_find(t, nm, gone));
    }
    bs_topo_free(t);

    t = bs_topo_new("unique");
    if (!t)
        return;
    bs_topo_add_node(t, 0, BS_NODE_DEVICE, "a");
    bs_topo_add_node(t, 0, BS_NODE_DEVICE, "b");
    CHECK_EQ(bs_topo_reindex(t, &dup), BS_OK);
    CHECK_EQ(dup, -1);
    bs_topo_free(t);
}

/* bs_res_assign / bs_res_release keep flags, address and window together. */
static void test_res_assign(void)
{
    bs_topo *t = bs_topo_new("res");
    if (!t)
        return;
    int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "d");
    CHECK_EQ(bs_topo_set_bar(t, d, 0, BS_RF_MEM64, 4096, 0), BS_OK);
    struct bs_res *r = &t->nodes[d].res[0];
    r->flags |= BS_RF_FAILED;
    bs_res_assign(t, d, 0, 0x10000, 1);
    CHECK((r->flags & (BS_RF_ASSIGNED | BS_RF_FAILED)) == BS_RF_ASSIGNED);
    CHECK_EQ(r->addr, 0x10000);
    CHECK_EQ(r->win, 1);
    CHECK(r->flags & BS_RF_MEM64);
    bs_res_release(t, d, 0);
    CHECK(!(r->flags & BS_RF_ASSIGNED));
    CHECK_EQ(r->win, BS_WIN_NONE);
    CHECK(r->flags & BS_RF_MEM64);
    CHECK(bs_topo_is_ancestor(t, 0, d));
    CHECK(!bs_topo_is_ancestor(t, d, 0));
    CHECK(!bs_topo_is_ancestor(t, d, d));
    bs_topo_free(t);
}

int main(void)
{
    test_examples();
    test_errors();
    test_limits();
    test_accepted();
    test_random_round_trips();
    test_mutations();
    test_name_index();
    test_res_assign();
    TEST_DONE("test_parse");
}
