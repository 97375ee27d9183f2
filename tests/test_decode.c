/* The mapping engine: cost model, eager and deferred policies, conflicts,
 * bridge gating, and a seeded random walk of legal config writes with the
 * checker (and an independent tracker of the callbacks) after every one. */
#include "core/internal.h"
#include "barspace/cfgspace.h"
#include "test.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)

/* ------------------------------------------------ callback tracker */

struct trk {
    int n;
    struct { uint64_t gpa, size; int node, bar; } r[256];
    int maps, unmaps, bad;
};

static void trk_map(void *ctx, uint64_t gpa, uint64_t size, int node, int bar)
{
    struct trk *k = ctx;
    k->maps++;
    for (int i = 0; i < k->n; i++)
        if (gpa <= k->r[i].gpa + (k->r[i].size - 1) &&
            k->r[i].gpa <= gpa + (size - 1))
            k->bad++; /* a new mapping over an existing one */
    if (k->n < 256) {
        k->r[k->n].gpa = gpa;
        k->r[k->n].size = size;
        k->r[k->n].node = node;
        k->r[k->n].bar = bar;
        k->n++;
    } else {
        k->bad++;
    }
}

static void trk_unmap(void *ctx, uint64_t gpa, uint64_t size, int node,
                      int bar)
{
    struct trk *k = ctx;
    k->unmaps++;
    for (int i = 0; i < k->n; i++)
        if (k->r[i].gpa == gpa && k->r[i].size == size &&
            k->r[i].node == node && k->r[i].bar == bar) {
            k->r[i] = k->r[--k->n];
            return;
        }
    k->bad++; /* unmap of something never mapped */
}

/* The tracker's view equals the engine's. */
static bool trk_agrees(const struct trk *k, const bs_vm *vm)
{
    bs_vm_range r[256];
    int n = bs_vm_mapped(vm, r, 256);
    if (n != k->n)
        return false;
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int j = 0; j < k->n && !found; j++)
            found = k->r[j].gpa == r[i].gpa && k->r[j].size == r[i].size &&
                    k->r[j].node == r[i].node && k->r[j].bar == r[i].bar;
        if (!found)
            return false;
    }
    return true;
}

static bs_vm *mkvm(bs_topo *t, int policy, int windows, unsigned cmd,
                   struct trk *k)
{
    bs_vm_opts o;
    bs_vm_opts_init(&o);
    o.policy = policy;
    o.bridge_windows = windows;
    o.initial_command = cmd;
    o.map = trk_map;
    o.unmap = trk_unmap;
    o.ctx = k;
    bs_vm *vm = NULL;
    CHECK_EQ(bs_vm_new(t, &o, &vm, NULL), BS_OK);
    return vm;
}

static void set_addr(bs_topo *t, int node, int slot, uint64_t a)
{
    t->nodes[node].res[slot].addr = a;
    t->nodes[node].res[slot].flags |= BS_RF_ASSIGNED;
}

static void w(bs_vm *vm, int node, unsigned off, unsigned width, uint32_t v)
{
    CHECK_EQ(bs_cfg_write(vm, node, off, width, v), BS_OK);
    char msg[256];
    int p = bs_vm_check(vm, msg, sizeof msg);
    if (p)
        fprintf(stderr, "check: %s\n", msg);
    CHECK_EQ(p, 0);
}

/* -------------------------------------------------------- cost model */

static void test_cost(void)
{
    bs_cost_model c;
    bs_cost_model_default(&c);
    uint64_t pages, ps;
    double one = bs_cost_of(&c, UINT64_C(1) << 40, 128 * G, &pages, &ps);
    CHECK_EQ(pages, 128);
    CHECK_EQ(ps, G);
    CHECK(fabs(2 * one - 1.8) < 1e-9); /* the seed's calibration */
    double b0 = bs_cost_of(&c, 0xc0000000, 16 * M, &pages, &ps);
    CHECK_EQ(pages, 8);
    CHECK_EQ(ps, 2 * M);
    CHECK(fabs(b0 - (c.fixed + 8 * c.per_2m)) < 1e-12);
    /* 1 GiB at an address only 2 MiB aligned: 512 pages of 2 MiB. */
    bs_cost_of(&c, G + 2 * M, G, &pages, &ps);
    CHECK_EQ(pages, 512);
    CHECK_EQ(ps, 2 * M);
    bs_cost_of(&c, 0x1000, 0x2000, &pages, &ps);
    CHECK_EQ(pages, 2);
    CHECK_EQ(ps, 4096);
    bs_cost_of(&c, 0xc0000010, 16, &pages, &ps); /* sub-page BAR */
    CHECK_EQ(pages, 1);
    CHECK_EQ(ps, 4096);
    /* Parameters are the caller's. */
    c.fixed = 1;
    c.per_1g = 0;
    CHECK(fabs(bs_cost_of(&c, 0, G, NULL, NULL) - 1) < 1e-12);
}

/* --------------------------------------------------------- policies */

/* Two devices on the root bus, each with a 1M mem32 BAR and a 1G mem64 one. */
static bs_topo *two_devs(int *a, int *b)
{
    bs_topo *t = bs_topo_new("pol");
    bs_topo_add_window(t, 0, 0xc0000000, 0x3ec00000);
    bs_topo_add_window(t, 0, UINT64_C(1) << 40, UINT64_C(1) << 40);
    *a = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "a");
    *b = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "b");
    int d[2] = {*a, *b};
    for (int i = 0; i < 2; i++) {
        bs_topo_set_bar(t, d[i], 0, 0, M, 0);
        bs_topo_set_bar(t, d[i], 2, BS_RF_MEM64 | BS_RF_PREF, G, 0);
        set_addr(t, d[i], 0, 0xc0000000 + (uint64_t)i * M);
        set_addr(t, d[i], 2, (UINT64_C(1) << 40) + (uint64_t)i * G);
    }
    return t;
}

static void test_eager(void)
{
    int a, b;
    bs_topo *t = two_devs(&a, &b);
    struct trk k = {0};
    bs_vm *vm = mkvm(t, BS_HOST_EAGER, 1, BS_CMD_MEM, &k);
    CHECK_EQ(k.maps, 4);
    bs_vm_stats_reset(vm);
    w(vm, a, 0x04, 2, 0);
    CHECK_EQ(k.unmaps, 2);
    w(vm, a, 0x04, 2, BS_CMD_MEM);
    CHECK_EQ(k.maps, 6);
    bs_decode_stats s;
    bs_vm_stats(vm, a, &s);
    CHECK_EQ(s.toggles, 1);
    CHECK_EQ(s.maps, 2);
    CHECK_EQ(s.unmaps, 2);
    CHECK(fabs(s.seconds - s.toggle_seconds) < 1e-12); /* all toggle cost */
    CHECK_EQ(s.bytes_mapped, G + M);
    /* A move while decoding: one unmap, one map, not toggle cost. */
    double before = s.toggle_seconds;
    w(vm, a, 0x10, 4, 0xc0400000);
    bs_vm_stats(vm, a, &s);
    CHECK_EQ(s.unmaps, 3);
    CHECK_EQ(s.maps, 3);
    CHECK(fabs(s.toggle_seconds - before) < 1e-12);
    /* Sizing with decode on: the BAR stops decoding while latched. */
    w(vm, a, 0x10, 4, 0xffffffff);
    CHECK_EQ(k.n, 3);
    w(vm, a, 0x10, 4, 0xc0400000);
    CHECK_EQ(k.n, 4);
    CHECK(trk_agrees(&k, vm));
    CHECK_EQ(k.bad, 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_deferred(void)
{
    int a, b;
    bs_topo *t = two_devs(&a, &b);
    struct trk k = {0};
    bs_vm *vm = mkvm(t, BS_HOST_DEFERRED, 1, BS_CMD_MEM, &k);
    CHECK_EQ(k.maps, 4);
    /* Linux 6.1 sizing and rewrite: decode off, BAR latched, restored,
     * decode on - nothing reaches the VMM. */
    w(vm, a, 0x04, 2, 0);
    w(vm, a, 0x10, 4, 0xffffffff);
    w(vm, a, 0x10, 4, 0xc0000000);
    w(vm, a, 0x18, 4, 0xffffffff);
    w(vm, a, 0x1c, 4, 0xffffffff);
    w(vm, a, 0x18, 4, 0);
    w(vm, a, 0x1c, 4, 0x100);
    CHECK_EQ(bs_vm_decoded(vm, NULL, 0), 2); /* only b decodes */
    CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 4);  /* a's are kept */
    w(vm, a, 0x04, 2, BS_CMD_MEM);
    CHECK_EQ(k.maps, 4);
    CHECK_EQ(k.unmaps, 0);
    bs_decode_stats s;
    bs_vm_stats(vm, a, &s);
    CHECK_EQ(s.toggles, 1);
    /* A real move while disabled: kept until decode-on at the new place. */
    w(vm, a, 0x04, 2, 0);
    w(vm, a, 0x10, 4, 0xc0800000);
    CHECK_EQ(k.unmaps, 0);
    w(vm, a, 0x04, 2, BS_CMD_MEM);
    CHECK_EQ(k.unmaps, 1);
    CHECK_EQ(k.maps, 5);
    /* Settle drops a kept mapping whose register moved away, keeps one
     * whose register still names it. */
    w(vm, a, 0x04, 2, 0);
    w(vm, a, 0x10, 4, 0xc0c00000);
    bs_vm_settle(vm);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    CHECK_EQ(k.unmaps, 2);
    CHECK_EQ(k.n, 3); /* a's 64-bit BAR stays mapped */
    CHECK(trk_agrees(&k, vm));
    CHECK_EQ(k.bad, 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_conflict(int policy)
{
    int a, b;
    bs_topo *t = two_devs(&a, &b);
    struct trk k = {0};
    bs_vm *vm = mkvm(t, policy, 1, BS_CMD_MEM, &k);
    /* The guest moves b's BAR0 onto a's while both decode. */
    w(vm, b, 0x10, 4, 0xc0000000);
    CHECK_EQ(bs_vm_decode_conflicts(vm), 1);
    CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 3);
    CHECK_EQ(k.bad, 0);
    /* a moves away: b's held range gets mapped. */
    w(vm, a, 0x10, 4, 0xc0200000);
    CHECK_EQ(bs_vm_decode_conflicts(vm), 0);
    CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 4);
    if (policy == BS_HOST_DEFERRED) {
        /* a disabled keeps its mapping until b needs the space. */
        w(vm, a, 0x04, 2, 0);
        CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 4);
        w(vm, b, 0x10, 4, 0xc0200000);
        CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 3); /* a's kept BAR0 evicted */
        w(vm, a, 0x04, 2, BS_CMD_MEM);          /* now a collides: held */
        CHECK_EQ(bs_vm_decode_conflicts(vm), 1);
        CHECK_EQ(bs_vm_mapped(vm, NULL, 0), 3);
    }
    CHECK(trk_agrees(&k, vm));
    CHECK_EQ(k.bad, 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_bridge_gate(void)
{
    for (int windows = 0; windows < 2; windows++) {
        bs_topo *t = bs_topo_new("br");
        bs_topo_add_window(t, 0, 0xc0000000, 0x3ec00000);
        int rp = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, "rp");
        int d = bs_topo_add_node(t, rp, BS_NODE_DEVICE, "d");
        bs_topo_set_bar(t, d, 0, 0, M, 0);
        set_addr(t, d, 0, 0xc0000000);
        struct bs_res *wm = &t->nodes[rp].res[BS_SLOT_WIN_MEM];
        wm->addr = 0xc0000000;
        wm->size = 2 * M;
        wm->flags |= BS_RF_ASSIGNED;
        struct trk k = {0};
        bs_vm *vm = mkvm(t, BS_HOST_EAGER, windows, BS_CMD_MEM, &k);
        CHECK_EQ(k.n, 1);
        w(vm, rp, 0x04, 2, 0); /* bridge stops forwarding */
        CHECK_EQ(k.n, windows ? 0 : 1);
        w(vm, rp, 0x04, 2, BS_CMD_MEM);
        CHECK_EQ(k.n, 1);
        w(vm, d, 0x10, 4, 0xc0400000); /* outside the 2M window */
        CHECK_EQ(k.n, windows ? 0 : 1);
        CHECK_EQ(k.bad, 0);
        bs_vm_free(vm);
        bs_topo_free(t);
    }
}

/* ----------------------------------------------------- random walk */

static uint64_t rng;
static uint64_t rnd(void)
{
    return test_xorshift64(&rng);
}
static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

static bs_topo *random_topo(void)
{
    bs_topo *t = bs_topo_new("rand");
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(t, 0, 0xc0000000, 0x3ec00000);
    bs_topo_add_window(t, 0, UINT64_C(1) << 40, UINT64_C(1) << 40);
    int nodes[16], nn = 1;
    nodes[0] = 0;
    int count = 2 + (int)pick(8);
    for (int i = 0; i < count; i++) {
        int parent = nodes[pick((unsigned)nn)];
        bool bridge = pick(3) == 0 && t->nodes[parent].depth < 2;
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        int id = bs_topo_add_node(t, parent,
                                  bridge ? BS_NODE_BRIDGE : BS_NODE_DEVICE, name);
        if (bridge) {
            nodes[nn++] = id;
            continue;
        }
        for (int s = 0; s < 6; s++) {
            if (pick(3))
                continue;
            unsigned kind = pick(4);
            if (kind == 0) {
                bs_topo_set_bar(t, id, s, BS_RF_IO, UINT64_C(16) << pick(4), 0);
            } else if (kind == 1 && s < 5 &&
                       !(t->nodes[id].res[s].flags & BS_RF_UPPER)) {
                uint64_t sz = M << pick(12);
                if (bs_topo_set_bar(t, id, s, BS_RF_MEM64 | BS_RF_PREF, sz, 0) ==
                        BS_OK &&
                    pick(2))
                    t->nodes[id].res[s].rebar = (sz >> 20) | (sz >> 21);
                s++;
            } else if (!(t->nodes[id].res[s].flags & BS_RF_UPPER)) {
                bs_topo_set_bar(t, id, s, pick(2) ? BS_RF_PREF : 0,
                                UINT64_C(4096) << pick(10), 0);
            }
        }
        if (!pick(3))
            bs_topo_set_bar(t, id, BS_SLOT_ROM, 0, UINT64_C(2048) << pick(8), 0);
    }
    return t;
}

static uint32_t random_value(bs_vm *vm, const uint32_t *orig, unsigned off)
{
    switch (pick(5)) {
    case 0: return 0xffffffffu;
    case 1: return orig[off / 4];
    case 2: {
        /* Another function's register at the same offset: collisions. */
        int n = bs_topo_node_count(bs_vm_topo(vm));
        uint32_t v = 0;
        bs_cfg_read(vm, 1 + (int)pick((unsigned)(n - 1)), off & ~3u, 4, &v);
        return v;
    }
    default: return (uint32_t)rnd();
    }
}

static int walks, walk_maps, walk_conflicts;

static void random_walk(int seed)
{
    rng = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
    bs_topo *t = random_topo();
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_LINUX);
    if (bs_assign(t, &ao, NULL) != BS_OK) {
        bs_topo_free(t);
        return;
    }
    struct trk k = {0};
    int policy = (int)pick(2);
    bs_vm *vm = mkvm(t, policy, (int)pick(2), pick(2) ? BS_CMD_MEM : 0, &k);
    int n = bs_topo_node_count(t);
    /* The firmware's register values, for "restore" writes. */
    uint32_t orig[64][16];
    for (int i = 1; i < n && i < 64; i++)
        for (unsigned off = 0; off < 64; off += 4)
            bs_cfg_read(vm, i, off, 4, &orig[i][off / 4]);
    static const unsigned regs[] = {0x04, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24,
                                    0x28, 0x2c, 0x30, 0x38, 0x108};
    int bad = 0;
    for (int step = 0; step < 400 && !bad; step++) {
        int node = 1 + (int)pick((unsigned)(n - 1));
        unsigned reg = regs[pick(sizeof regs / sizeof regs[0])];
        unsigned width = 1u << pick(3);
        unsigned off = reg + (reg == 0x04 ? 0 : pick(4 / width) * width);
        uint32_t v;
        if (reg == 0x04)
            v = (uint32_t)rnd() & (BS_CMD_IO | BS_CMD_MEM | BS_CMD_MASTER);
        else if (reg == 0x108)
            v = (uint32_t)pick(40) << 8, off = 0x108, width = 4;
        else
            v = random_value(vm, orig[node < 64 ? node : 1], reg);
        if (reg != 0x04 && reg != 0x108)
            v >>= 8 * (off - reg);
        if (width == 1)
            v &= 0xff;
        else if (width == 2)
            v &= 0xffff;
        if (bs_cfg_write(vm, node, off, width, v) != BS_OK)
            bad++;
        if (pick(50) == 0)
            bs_vm_settle(vm);
        char msg[256];
        if (bs_vm_check(vm, msg, sizeof msg)) {
            fprintf(stderr, "seed %d step %d: %s\n", seed, step, msg);
            bad++;
        }
        if (bs_vm_decode_conflicts(vm) > 0)
            walk_conflicts++;
        if (k.bad || !trk_agrees(&k, vm)) {
            fprintf(stderr, "seed %d step %d: callbacks disagree\n", seed, step);
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    walks++;
    walk_maps += k.maps;
    bs_vm_free(vm);
    bs_topo_free(t);
}

int main(void)
{
    test_cost();
    test_eager();
    test_deferred();
    test_conflict(BS_HOST_EAGER);
    test_conflict(BS_HOST_DEFERRED);
    test_bridge_gate();
    for (int seed = 0; seed < 60; seed++)
        random_walk(seed);
    /* The walk must have exercised something: most seeds assign, mappings
     * happen, and some steps leave guest-made decode conflicts. */
    CHECK(walks >= 40);
    CHECK(walk_maps > 500);
    CHECK(walk_conflicts > 0);
    fprintf(stderr, "random walks: %d, maps %d, steps with a decode conflict %d\n",
            walks, walk_maps, walk_conflicts);
    TEST_DONE("test_decode");
}
