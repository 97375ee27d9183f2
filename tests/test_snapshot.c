/*
 * Snapshot and restore.
 *
 *  - round trips of parsed, assigned (both policies), failed and API-built
 *    topologies and of a pending plan: everything comes back, saving again
 *    gives the same bytes;
 *  - a golden snapshot written byte by byte here: the format is the same on
 *    every host and stays readable;
 *  - truncation at every length and hand-made inconsistencies are refused
 *    with the byte offset and what was expected;
 *  - 10,000 randomly corrupted snapshots (bit flips, byte stores, cuts,
 *    splices, forged counts; half of them with their checksums recomputed
 *    so that the structural validation is what must catch them): each is
 *    refused, leaving the caller's state untouched, or restored into a
 *    topology the library can work on (walk, checker, format, assignment,
 *    snapshot again).
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "core/internal.h"
#include "barspace/cfgspace.h"
#include "barspace/snapshot.h"
#include "test.h"
#include "testlib.h"

#include <stdlib.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rnd(void)
{
    return test_xorshift64s(&rng_state);
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

static const char base_text[] =
    "topology snap\n"
    "window io 0x1000-0xffff\n"
    "window mem 0x80000000-0xafffffff\n"
    "window mem 0x4000000000+64G pref\n"
    "bridge rp0 hotplug io=4K mem=2M pref=64M slot=1 {\n"
    "    device nvme0 slot=0 model=nvme {\n"
    "        bar 0 mem64 16K\n"
    "        rom 256K\n"
    "    }\n"
    "}\n"
    "bridge rp1 slot=2 {\n"
    "    bridge up0 {\n"
    "        bridge dn0 {\n"
    "            device gpu0 pinned {\n"
    "                bar 0 mem32 16M\n"
    "                bar 1 mem64 32G pref rebar=1G,2G,4G,8G,16G,32G\n"
    "                bar 3 mem64 32M pref\n"
    "                bar 5 io 128\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "}\n"
    "device nic0 vfs=8 slot=3 {\n"
    "    bar 0 mem32 128K\n"
    "    bar 2 io 32\n"
    "    vfbar 0 mem64 16K pref\n"
    "    vfbar 2 mem64 16K pref\n"
    "}\n"
    "device fixed0 {\n"
    "    bar 0 mem32 4K fixed=0xafff0000\n"
    "}\n";

static bs_topo *parse(const char *text)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    int rc = bs_topo_parse(text, strlen(text), "snap.topo", &t, &e);
    if (rc)
        fprintf(stderr, "parse: %s\n", e.msg);
    return t;
}

/* Two topologies hold the same state (every field the library keeps). */
static bool same_topo(const bs_topo *a, const bs_topo *b)
{
    if (strcmp(a->name, b->name) || a->nnodes != b->nnodes ||
        a->nwin != b->nwin || a->nfail != b->nfail)
        return false;
    for (int i = 0; i < a->nwin; i++)
        if (a->win[i].flags != b->win[i].flags ||
            a->win[i].base != b->win[i].base ||
            a->win[i].size != b->win[i].size || a->win[i].line != b->win[i].line)
            return false;
    for (int i = 0; i < a->nnodes; i++) {
        const struct bs_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->kind != y->kind || x->parent != y->parent ||
            x->first_child != y->first_child ||
            x->next_sibling != y->next_sibling ||
            x->last_child != y->last_child || x->depth != y->depth ||
            x->flags != y->flags || x->line != y->line || x->slot != y->slot ||
            x->fn != y->fn || x->num_vfs != y->num_vfs ||
            memcmp(x->reserve, y->reserve, sizeof x->reserve) ||
            strcmp(x->name, y->name) || strcmp(x->model, y->model))
            return false;
        for (int s = 0; s < BS_NSLOTS; s++) {
            const struct bs_res *r = &x->res[s], *q = &y->res[s];
            if (r->size != q->size || r->align != q->align ||
                r->addr != q->addr || r->fixed != q->fixed ||
                r->rebar != q->rebar || r->want != q->want ||
                r->flags != q->flags || r->win != q->win || r->line != q->line)
                return false;
        }
    }
    for (int i = 0; i < a->nfail; i++) {
        const bs_failure *f = &a->fail[i], *g = &b->fail[i];
        if (f->node != g->node || f->slot != g->slot || f->size != g->size ||
            f->align != g->align || f->win_node != g->win_node ||
            f->win != g->win || f->shortfall != g->shortfall ||
            f->optional != g->optional || strcmp(f->reason, g->reason))
            return false;
    }
    return true;
}

static unsigned char *save(const bs_state *st, size_t *len)
{
    unsigned char *buf = NULL;
    bs_error e = {0};
    int rc = bs_snapshot_save(st, &buf, len, &e);
    CHECK_EQ(rc, BS_OK);
    return buf;
}

/* Round trip: restore gives the same state, saving it the same bytes. */
static void round_trip(const bs_state *st, const char *what)
{
    size_t len, len2;
    unsigned char *buf = save(st, &len);
    bs_state back = {0};
    bs_error e = {0};
    int rc = bs_snapshot_restore(buf, len, 0, &back, &e);
    if (rc)
        fprintf(stderr, "%s: restore: %s\n", what, e.msg);
    CHECK_EQ(rc, BS_OK);
    if (!rc) {
        CHECK(same_topo(st->topo, back.topo));
        CHECK(!st->plan == !back.plan);
        if (st->plan && back.plan) {
            CHECK(same_topo(st->plan->before, back.plan->before));
            CHECK(same_topo(st->plan->after, back.plan->after));
            CHECK_EQ(back.plan->nsteps, st->plan->nsteps);
            CHECK_EQ(back.plan->next, st->plan->next);
            bool steps_same = back.plan->nsteps == st->plan->nsteps;
            for (int i = 0; steps_same && i < st->plan->nsteps; i++) {
                const bs_step *x = &st->plan->steps[i], *y = &back.plan->steps[i];
                steps_same = x->kind == y->kind && x->node == y->node &&
                             x->reg == y->reg && x->width == y->width &&
                             x->value == y->value && !strcmp(x->what, y->what);
            }
            CHECK(steps_same);
        }
        unsigned char *buf2 = save(&back, &len2);
        CHECK(len2 == len && buf2 && !memcmp(buf, buf2, len));
        free(buf2);
        bs_state_free(&back);
        CHECK(back.topo == NULL && back.plan == NULL);
    }
    free(buf);
}

static void add_device(bs_topo *t, int parent, int id)
{
    char name[32];
    snprintf(name, sizeof name, "d%d", id);
    int d = bs_topo_add_node(t, parent, BS_NODE_DEVICE, name);
    if (d < 0)
        return;
    int slot = 0;
    for (int b = 0; b < 1 + rn(3) && slot < 5; b++) {
        unsigned f = rn(4) == 0 ? 0 : BS_RF_MEM64 | (rn(2) ? BS_RF_PREF : 0);
        uint64_t size = UINT64_C(4096) << rn(14);
        bs_topo_set_bar(t, d, slot, f, size, 0);
        slot += (f & BS_RF_MEM64) ? 2 : 1;
    }
    if (rn(4) == 0)
        bs_topo_set_bar(t, d, slot, BS_RF_IO, 32, 0);
    if (rn(5) == 0)
        bs_topo_set_bar(t, d, BS_SLOT_ROM, 0, 65536, 0);
    if (rn(8) == 0) {
        t->nodes[d].num_vfs = 1 + (unsigned)rn(8);
        bs_topo_set_bar(t, d, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF, 16384, 0);
    }
    if (rn(8) == 0)
        t->nodes[d].flags |= BS_NF_PINNED;
}

static bs_topo *random_topo(int ndev, uint64_t low)
{
    bs_topo *t = bs_topo_new("rand");
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(t, 0, 0x80000000, low);
    bs_topo_add_window(t, BS_RF_PREF, UINT64_C(1) << 38, UINT64_C(1) << 36);
    int parents[16] = {0}, np = 1;
    for (int b = 0; b < 1 + rn(6); b++) {
        char name[16];
        snprintf(name, sizeof name, "br%d", b);
        int id = bs_topo_add_node(t, parents[rn(np)], BS_NODE_BRIDGE, name);
        if (id > 0 && rn(2))
            t->nodes[id].flags |= BS_NF_HOTPLUG;
        if (id > 0)
            parents[np++] = id;
    }
    for (int d = 0; d < ndev; d++)
        add_device(t, parents[rn(np)], d);
    return t;
}

/* -------------------------------------------------------- round trips */

static void test_round_trips(void)
{
    bs_topo *t = parse(base_text);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_state st = {.topo = t};
    round_trip(&st, "parsed");

    for (int pol = BS_POLICY_LINUX; pol <= BS_POLICY_PACK; pol++) {
        bs_topo *a = bs_topo_clone(t);
        bs_assign_opts o;
        bs_assign_opts_init(&o, pol);
        bs_error e = {0};
        bs_assign(a, &o, &e);
        st.topo = a;
        round_trip(&st, "assigned");
        CHECK_EQ(bs_check(a, NULL, NULL, 0), 0);
        bs_topo_free(a);
    }

    /* Failures: a low window far too small for everything. */
    rng_state = 0x5eed;
    for (int i = 0; i < 40; i++) {
        bs_topo *r = random_topo(1 + rn(30), (uint64_t)(1 + rn(64)) << 20);
        bs_assign_opts o;
        bs_assign_opts_init(&o, i % 2);
        o.search_budget = 2000;
        bs_error e = {0};
        int rc = bs_assign(r, &o, &e);
        CHECK(rc == BS_OK || rc == BS_ENOSPC);
        st.topo = r;
        round_trip(&st, "random");
        bs_topo_free(r);
    }

    /* Sibling order that is not id order must come back as it was. */
    bs_topo *o = bs_topo_new("order");
    int c1 = bs_topo_add_node(o, 0, BS_NODE_DEVICE, "a");
    int c2 = bs_topo_add_node(o, 0, BS_NODE_DEVICE, "b");
    int c3 = bs_topo_add_node(o, 0, BS_NODE_DEVICE, "c");
    o->nodes[0].first_child = c3;
    o->nodes[c3].next_sibling = c1;
    o->nodes[c2].next_sibling = -1;
    o->nodes[0].last_child = c2;
    st.topo = o;
    round_trip(&st, "reordered");
    bs_topo_free(o);

    /* A pending plan: before, after and steps carried out up to `next`. */
    bs_pending_plan pp = {0};
    pp.before = bs_topo_clone(t);
    pp.after = bs_topo_clone(t);
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_PACK);
    bs_assign(pp.before, &ao, NULL);
    bs_assign(pp.after, &ao, NULL);
    pp.nsteps = 5;
    pp.steps = calloc(5, sizeof *pp.steps);
    int gpu = bs_topo_find(t, "gpu0");
    bs_step st5[5] = {
        {BS_STEP_QUIESCE, gpu, 0, 0, 0, "quiesce"},
        {BS_STEP_WRITE, gpu, 0x04, 2, 0x0400, "decode off"},
        {BS_STEP_WRITE, gpu, 0x14, 4, 0x0000000c, "BAR1 low"},
        {BS_STEP_WRITE, gpu, 0x04, 2, 0x0406, "decode on"},
        {BS_STEP_RESUME, gpu, 0, 0, 0, "resume"}};
    memcpy(pp.steps, st5, sizeof st5);
    pp.next = 3;
    st.topo = t;
    st.plan = &pp;
    round_trip(&st, "plan");
    st.plan = NULL;
    free(pp.steps);
    bs_topo_free(pp.before);
    bs_topo_free(pp.after);

    /* Big: the encoding stays compact and restore linear. */
    rng_state = 0xb16;
    bs_topo *big = random_topo(5000, UINT64_C(1) << 30);
    st.topo = big;
    size_t len;
    unsigned char *buf = save(&st, &len);
    CHECK(len < (size_t)big->nnodes * 400);
    free(buf);
    round_trip(&st, "big");
    bs_topo_free(big);
    bs_topo_free(t);
}

/* ------------------------------------------------------ emulated machine */

struct calls {
    int n;
    uint64_t sum; /* order-sensitive digest of every callback */
};

static void on_call(void *ctx, uint64_t gpa, uint64_t size, int node, int bar,
                    uint64_t kind)
{
    struct calls *c = ctx;
    c->n++;
    c->sum = c->sum * 1000003u ^ (gpa + 3 * size + 7 * (uint64_t)node +
                                  11 * (uint64_t)bar + kind);
}
static void on_map(void *ctx, uint64_t g, uint64_t s, int n, int b)
{
    on_call(ctx, g, s, n, b, 1);
}
static void on_unmap(void *ctx, uint64_t g, uint64_t s, int n, int b)
{
    on_call(ctx, g, s, n, b, 2);
}

static bool same_ranges(const bs_vm_range *a, const bs_vm_range *b, int n)
{
    for (int i = 0; i < n && i < 64; i++)
        if (a[i].node != b[i].node || a[i].bar != b[i].bar ||
            a[i].gpa != b[i].gpa || a[i].size != b[i].size ||
            a[i].io != b[i].io)
            return false;
    return true;
}

/* Everything a guest or a VMM can observe of two machines is equal. */
static bool same_vm(bs_vm *a, bs_vm *b, int nn)
{
    for (int i = 1; i < nn; i++) {
        unsigned b1, d1, f1, b2, d2, f2;
        bs_vm_bdf(a, i, &b1, &d1, &f1);
        bs_vm_bdf(b, i, &b2, &d2, &f2);
        if (b1 != b2 || d1 != d2 || f1 != f2) {
            fprintf(stderr, "node %d: address differs\n", i);
            return false;
        }
        for (unsigned off = 0; off < 0x140; off += 4) {
            uint32_t x = 0, y = 0;
            bs_cfg_read(a, i, off, 4, &x);
            bs_cfg_read(b, i, off, 4, &y);
            if (x != y) {
                fprintf(stderr, "node %d reg 0x%x: 0x%x != 0x%x\n", i, off,
                        x, y);
                return false;
            }
        }
        bs_decode_stats s1, s2;
        bs_vm_stats(a, i, &s1);
        bs_vm_stats(b, i, &s2);
        if (s1.maps != s2.maps || s1.cfg_writes != s2.cfg_writes ||
            s1.toggles != s2.toggles || s1.seconds != s2.seconds) {
            fprintf(stderr, "node %d: counters differ\n", i);
            return false;
        }
    }
    bs_vm_range ra[64], rb[64];
    int na = bs_vm_mapped(a, ra, 64), nb = bs_vm_mapped(b, rb, 64);
    if (na != nb || !same_ranges(ra, rb, na)) {
        fprintf(stderr, "mappings differ (%d, %d)\n", na, nb);
        return false;
    }
    na = bs_vm_decoded(a, ra, 64);
    nb = bs_vm_decoded(b, rb, 64);
    return na == nb && same_ranges(ra, rb, na);
}

/* Random guest traffic: sizing, moves, decode toggles, ROM enables,
 * Resizable BAR control, bridge windows. */
static void traffic(bs_vm *vm, int nn, int n)
{
    static const unsigned regs[] = {0x04, 0x10, 0x14, 0x18, 0x1c, 0x20,
                                    0x24, 0x28, 0x2c, 0x30, 0x38, 0x108};
    for (int i = 0; i < n; i++) {
        int node = 1 + rn(nn - 1);
        unsigned reg = regs[rn(12)];
        uint32_t v;
        switch (rn(4)) {
        case 0: v = 0xffffffffu; break;
        case 1: v = (uint32_t)rnd() & 0x7; break;
        default: v = (uint32_t)rnd() & 0xfff00000u; break;
        }
        if (reg == 0x04)
            bs_cfg_write(vm, node, reg, 2, v & 0xffff);
        else
            bs_cfg_write(vm, node, reg, 4, v);
    }
}

static void test_vm(void)
{
    static const char text[] =
        "topology vmsnap\n"
        "window io 0x1000-0xffff\n"
        "window mem 0xc0000000-0xcfffffff\n"
        "window mem 0x800000000+64G pref\n"
        "bridge rp0 hotplug mem=2M pref=64M {\n"
        "    device gpu0 model=gpu-a100 {\n"
        "        bar 0 mem32 16M\n"
        "        bar 1 mem64 8G pref rebar=1G,2G,4G,8G\n"
        "        rom 128K\n"
        "    }\n"
        "}\n"
        "device nvme0 model=nvme {\n"
        "    bar 0 mem64 16K\n"
        "    bar 2 io 32\n"
        "}\n";
    rng_state = 0x7e57;
    for (int round = 0; round < 40; round++) {
        bs_topo *t = parse(text);
        if (!t)
            return;
        bs_assign_opts ao;
        bs_assign_opts_init(&ao, BS_POLICY_PACK);
        CHECK_EQ(bs_assign(t, &ao, NULL), BS_OK);
        struct calls ca = {0}, cb = {0};
        bs_vm_opts o;
        bs_vm_opts_init(&o);
        o.policy = round % 2 ? BS_HOST_DEFERRED : BS_HOST_EAGER;
        o.bridge_windows = round % 3 != 0;
        o.initial_command = round % 4 ? BS_CMD_MEM : 0;
        o.map = on_map;
        o.unmap = on_unmap;
        o.ctx = &ca;
        bs_vm *vm = NULL;
        CHECK_EQ(bs_vm_new(t, &o, &vm, NULL), BS_OK);
        if (!vm)
            return;
        int nn = bs_topo_node_count(t);
        traffic(vm, nn, round * 3);
        if (round % 5 == 0)
            bs_vm_set_bdf(vm, nn - 1, 7, 3, 1);
        bs_state st = {.topo = t, .vm = vm};
        size_t len;
        unsigned char *buf = save(&st, &len);
        bs_state back = {0};
        bs_error e = {0};
        int rc = bs_snapshot_restore(buf, len, 0, &back, &e);
        if (rc)
            fprintf(stderr, "vm round %d: %s\n", round, e.msg);
        CHECK_EQ(rc, BS_OK);
        if (!rc) {
            CHECK(back.vm && bs_vm_topo(back.vm) == back.topo);
            /* Saved again before anything reads it (reads count). */
            size_t len2;
            unsigned char *buf2 = save(&back, &len2);
            CHECK(len2 == len && !memcmp(buf, buf2, len));
            free(buf2);
            CHECK(same_topo(t, back.topo));
            CHECK(same_vm(vm, back.vm, nn));
            CHECK_EQ(bs_vm_check(back.vm, NULL, 0), 0);
            /* The same traffic from here on does the same on both, down to
             * every map and unmap call. */
            bs_state_set_callbacks(&back, on_map, on_unmap, &cb);
            ca = (struct calls){0};
            uint64_t seed = rng_state;
            traffic(vm, nn, 60);
            rng_state = seed;
            traffic(back.vm, nn, 60);
            CHECK(ca.n == cb.n && ca.sum == cb.sum);
            CHECK(same_vm(vm, back.vm, nn));
            CHECK(same_topo(t, back.topo));
            bs_state_free(&back);
        }
        /* A snapshot whose machine does not belong to its topology is
         * refused at save time. */
        bs_topo *other = bs_topo_clone(t);
        bs_state wrong = {.topo = other, .vm = vm};
        unsigned char *x = NULL;
        size_t xl;
        CHECK_EQ(bs_snapshot_save(&wrong, &x, &xl, NULL), BS_EINVAL);
        bs_topo_free(other);
        free(buf);
        bs_vm_free(vm);
        bs_topo_free(t);
    }
}

/* ------------------------------------------------------------- golden */

/* A one-device machine, encoded by hand from docs/snapshot-format.md. */
static void test_golden(void)
{
    bs_topo *t = bs_topo_new("g");
    bs_topo_add_window(t, 0, 0x80000000, 0x10000000);
    int d = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "d");
    bs_topo_set_bar(t, d, 0, 0, 0x1000, 0);
    t->nodes[d].res[0].flags |= BS_RF_ASSIGNED;
    t->nodes[d].res[0].addr = 0x80000000;
    t->nodes[d].res[0].win = 0;

    unsigned char g[512];
    size_t n = 0;
#define U(v, k) do { for (int i_ = 0; i_ < (k); i_++) g[n++] = (unsigned char)((uint64_t)(v) >> (8 * i_)); } while (0)
#define S(s) do { U(strlen(s), 2); memcpy(g + n, s, strlen(s)); n += strlen(s); } while (0)
    memcpy(g, "\x89" "BSNAP\r\n", 8);
    n = 8;
    U(1, 2); U(0, 2); U(1, 4); U(0, 8); U(0, 4);
    size_t sec = n;
    memcpy(g + n, "TOPO", 4); n += 4;
    U(1, 4); U(0, 8);
    S("g");
    U(1, 4); U(0, 4); U(0x80000000, 8); U(0x10000000, 8); U(0, 4);
    U(2, 4);
    /* root */
    U(0, 1); U(-1, 4); U(1, 4); U(-1, 4); U(1, 4); U(0, 4); U(0, 4);
    U(-1, 4); U(-1, 4); U(0, 4); U(0, 8); U(0, 8); U(0, 8); S("host"); S("");
    U(0, 2);
    /* device d, BAR0 */
    U(2, 1); U(0, 4); U(-1, 4); U(-1, 4); U(-1, 4); U(0, 4); U(0, 4);
    U(-1, 4); U(-1, 4); U(0, 4); U(0, 8); U(0, 8); U(0, 8); S("d"); S("");
    U(1, 2);
    U(BS_RF_ASSIGNED, 4); U(0x1000, 8); U(0x1000, 8); U(0x80000000, 8);
    U(0, 8); U(0, 8); U(0x1000, 8); U(0, 4); U(0, 4);
    U(0, 4); /* failures */
    size_t plen = n - sec - 16;
    for (int i = 0; i < 8; i++)
        g[sec + 8 + i] = (unsigned char)(plen >> (8 * i));
    /* CRCs: computed here independently of the library. */
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = sec; i < n; i++)
        c = tab[(c ^ g[i]) & 0xff] ^ (c >> 8);
    U(~c, 4);
    for (int i = 0; i < 8; i++)
        g[16 + i] = (unsigned char)((uint64_t)n >> (8 * i));
    c = 0xffffffffu;
    for (size_t i = 0; i < 24; i++)
        c = tab[(c ^ g[i]) & 0xff] ^ (c >> 8);
    for (int i = 0; i < 4; i++)
        g[24 + i] = (unsigned char)(~c >> (8 * i));
#undef U
#undef S

    bs_state st = {.topo = t};
    size_t len;
    unsigned char *buf = save(&st, &len);
    CHECK_EQ(len, n);
    CHECK(buf && len == n && !memcmp(buf, g, n));
    bs_state back = {0};
    bs_error e = {0};
    CHECK_EQ(bs_snapshot_restore(g, n, 0, &back, &e), BS_OK);
    CHECK(back.topo && same_topo(back.topo, t));
    bs_state_free(&back);
    free(buf);
    bs_topo_free(t);
}

/* ----------------------------------------------------------- refusals */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recompute the header and section checksums of a (possibly damaged)
 * snapshot, following the section lengths as far as they make sense: the
 * corrupted bytes then reach the structural validation. */
static void forge_crcs(unsigned char *b, size_t len)
{
    uint32_t tab[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        tab[i] = c;
    }
    if (len < 28)
        return;
    size_t off = 28;
    while (len - off >= 20) {
        uint64_t pl = 0;
        for (int i = 7; i >= 0; i--)
            pl = (pl << 8) | b[off + 8 + i];
        if (pl > len - off - 20)
            break;
        size_t end = off + 16 + (size_t)pl;
        uint32_t c = 0xffffffffu;
        for (size_t i = off; i < end; i++)
            c = tab[(c ^ b[i]) & 0xff] ^ (c >> 8);
        put32(b + end, ~c);
        off = end + 4;
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < 24; i++)
        c = tab[(c ^ b[i]) & 0xff] ^ (c >> 8);
    put32(b + 24, ~c);
}

static void set_len(unsigned char *b, size_t len)
{
    if (len < 24)
        return;
    for (int i = 0; i < 8; i++)
        b[16 + i] = (unsigned char)((uint64_t)len >> (8 * i));
}

static bs_error last_err;

static int restore_expect_fail(const unsigned char *b, size_t len,
                               unsigned flags, const char *needle)
{
    bs_state out = {.topo = (bs_topo *)&last_err};
    memset(&last_err, 0, sizeof last_err);
    int rc = bs_snapshot_restore(b, len, flags, &out, &last_err);
    CHECK(rc < 0);
    CHECK(out.topo == (bs_topo *)&last_err && out.plan == NULL);
    CHECK(strstr(last_err.msg, "byte ") == last_err.msg);
    if (needle && !strstr(last_err.msg, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, last_err.msg);
        CHECK(0);
    }
    if (rc == 0) {
        out.plan = NULL;
        bs_state_free(&out);
    }
    return rc;
}

static void test_refusals(void)
{
    bs_topo *t = parse(base_text);
    if (!t)
        return;
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    bs_assign(t, &o, NULL);
    bs_state st = {.topo = t};
    size_t len;
    unsigned char *buf = save(&st, &len);
    unsigned char *b = malloc(len + 64);

    /* Every truncation, with and without a consistent header. */
    for (size_t k = 0; k < len; k++) {
        memcpy(b, buf, len);
        restore_expect_fail(b, k, 0, NULL);
        set_len(b, k);
        forge_crcs(b, k);
        restore_expect_fail(b, k, 0, NULL);
    }
    memcpy(b, buf, len);
    restore_expect_fail(b, len - 7, 0, "truncated");
    memcpy(b, buf, len);
    set_len(b, len - 7);
    forge_crcs(b, len - 7);
    restore_expect_fail(b, len - 7, 0, "runs past the end");

    /* Signature, version, checksum. */
    memcpy(b, buf, len);
    b[1] = 'X';
    restore_expect_fail(b, len, 0, "signature");
    memcpy(b, buf, len);
    b[8] = 2;
    forge_crcs(b, len);
    restore_expect_fail(b, len, 0, "version 1.x, got 2.0");
    memcpy(b, buf, len);
    b[len / 2] ^= 0x10;
    restore_expect_fail(b, len, 0, "checksum");
    CHECK(strstr(last_err.msg, "TOPO") != NULL);

    /* A forged node count: refused before any allocation. */
    size_t nc = 28 + 16 + 2 + 4 + 4 + 3 * 24; /* "snap": 4 bytes of name */
    memcpy(b, buf, len);
    put32(b + nc, 0xfffffff0u);
    forge_crcs(b, len);
    restore_expect_fail(b, len, 0, "exceeds the limit");
    CHECK_EQ(last_err.code, BS_ELIMIT);
    memcpy(b, buf, len);
    put32(b + nc, 100000);
    forge_crcs(b, len);
    restore_expect_fail(b, len, 0, "cannot fit");

    /* A parent that points forward. */
    size_t root = nc + 4;
    size_t n1 = root + 61 + 2 + 4 + 2 + 0 + 2; /* "host", "", mask 0 */
    memcpy(b, buf, len);
    put32(b + n1 + 1, 7);
    forge_crcs(b, len);
    restore_expect_fail(b, len, 0, "expected a parent id below 1, got 7");
    char want[32];
    snprintf(want, sizeof want, "byte %zu ", n1 + 1);
    CHECK(strstr(last_err.msg, want) == last_err.msg);

    /* Trailing bytes, an unknown required section, an unknown optional one. */
    memcpy(b, buf, len);
    memset(b + len, 0, 8);
    set_len(b, len + 8);
    forge_crcs(b, len + 8);
    restore_expect_fail(b, len + 8, 0, NULL);
    {
        size_t n2 = len + 20;
        memcpy(b, buf, len);
        memcpy(b + len, "ZZZZ", 4);
        put32(b + len + 4, 1);
        memset(b + len + 8, 0, 12);
        put32(b + 12, 2);
        set_len(b, n2);
        forge_crcs(b, n2);
        restore_expect_fail(b, n2, 0, "'ZZZZ' is required");
        put32(b + len + 4, 0);
        forge_crcs(b, n2);
        bs_state out = {0};
        CHECK_EQ(bs_snapshot_restore(b, n2, 0, &out, NULL), BS_OK);
        CHECK(out.topo && same_topo(out.topo, t));
        bs_state_free(&out);
    }

    /* --check: a state with an overlap restores only without it. */
    bs_topo *bad = bs_topo_clone(t);
    int nvme = bs_topo_find(bad, "nvme0"), gpu = bs_topo_find(bad, "gpu0");
    bad->nodes[gpu].res[0].addr = bad->nodes[nvme].res[0].addr & ~(UINT64_C(0xffffff));
    st.topo = bad;
    size_t blen;
    unsigned char *bb = save(&st, &blen);
    bs_state out = {0};
    CHECK_EQ(bs_snapshot_restore(bb, blen, 0, &out, NULL), BS_OK);
    bs_state_free(&out);
    restore_expect_fail(bb, blen, BS_SNAP_CHECK, "fails the checker");
    free(bb);
    bs_topo_free(bad);

    /* Requested sizes: unassigning restores a BAR to the size it requests,
     * so an empty BAR may request none and only a reduced one may request
     * another size (a fuzzing finding: an empty BAR requesting 16 MiB came
     * back with alignment 0). */
    {
        struct { int slot; uint64_t size, want; uint32_t set; const char *msg; }
        cases[] = {
            {2, 0, 16 << 20, 0, "an empty BAR requests 0x1000000 bytes"},
            {2, 0, 0, 0x0, NULL},
            {0, ~0ull, 4 << 20, 0, "only a reduced BAR requests another size"},
            {0, ~0ull, 8 << 10, BS_RF_REDUCED, "a reduced BAR requests a larger"},
            {0, ~0ull, 1 << 20, BS_RF_REDUCED, NULL},
            {0, ~0ull, 3 << 20, BS_RF_REDUCED, "a reduced BAR requests a larger"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            bs_topo *w = bs_topo_clone(t);
            struct bs_res *r = &w->nodes[bs_topo_find(w, "nvme0")].res[cases[i].slot];
            if (cases[i].size != ~0ull)
                r->size = cases[i].size;
            r->want = cases[i].want;
            r->flags |= cases[i].set;
            st.topo = w;
            size_t wl;
            unsigned char *wb = save(&st, &wl);
            if (cases[i].msg) {
                restore_expect_fail(wb, wl, 0, cases[i].msg);
            } else {
                bs_state ok = {0};
                bs_error oe = {0};
                CHECK_EQ(bs_snapshot_restore(wb, wl, 0, &ok, &oe), BS_OK);
                if (oe.msg[0])
                    fprintf(stderr, "case %zu: %s\n", i, oe.msg);
                bs_state_free(&ok);
            }
            free(wb);
            bs_topo_free(w);
        }
    }

    /* Save refuses an incomplete pending plan. */
    bs_pending_plan pp = {t, NULL, NULL, 0, 0};
    st.topo = t;
    st.plan = &pp;
    unsigned char *x = NULL;
    size_t xl;
    CHECK_EQ(bs_snapshot_save(&st, &x, &xl, NULL), BS_EINVAL);
    CHECK(x == NULL);

    free(b);
    free(buf);
    bs_topo_free(t);
}

/* ---------------------------------------------------------- corruption */

/* A restored state the library must be able to work on. */
static void exercise(const bs_state *st)
{
    const bs_topo *t = st->topo;
    if (st->vm) {
        CHECK(bs_vm_topo(st->vm) == st->topo);
        CHECK_EQ(bs_vm_check(st->vm, NULL, 0), 0);
        traffic(st->vm, t->nnodes, 10);
        CHECK_EQ(bs_vm_check(st->vm, NULL, 0), 0);
    }
    for (int i = 0; i < bs_topo_node_count(t); i++) {
        bs_node_info ni;
        CHECK_EQ(bs_topo_node_info(t, i, &ni), BS_OK);
        CHECK(ni.parent < i && ni.depth <= BS_MAX_DEPTH);
        CHECK_EQ(bs_topo_find(t, ni.name), i);
    }
    bs_violation v[4];
    /* A corrupted state may well be invalid; what the checker says about
     * it must hold together: the same count with or without room for the
     * details, each detail naming a resource of the topology. */
    const bs_topo *before = st->plan ? st->plan->before : NULL;
    int nv = bs_check(t, before, v, 4);
    CHECK_EQ(bs_check(t, before, NULL, 0), nv);
    for (int i = 0; i < nv && i < 4; i++)
        CHECK(v[i].node > 0 && v[i].node < t->nnodes && v[i].slot >= 0 &&
              v[i].slot < BS_NSLOTS && v[i].msg[0]);
    size_t need = bs_topo_format(t, NULL, 0);
    char *text = malloc(need + 1);
    CHECK(bs_topo_format(t, text, need + 1) == need);
    free(text);
    for (int k = 0; k < bs_topo_window_count(t); k++) {
        bs_window_usage u;
        bs_window_usage_get(t, 0, k, &u);
    }
    bs_topo *c = bs_topo_clone(t);
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    o.search_budget = 200;
    int rc = bs_assign(c, &o, NULL);
    CHECK(rc == BS_OK || rc == BS_ENOSPC || rc == BS_EINVAL);
    bs_topo_unassign(c);
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    rc = bs_assign(c, &o, NULL);
    CHECK(rc == BS_OK || rc == BS_ENOSPC || rc == BS_EINVAL);
    bs_topo_free(c);
    /* Saving what was restored and restoring it again is the identity. */
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t l1, l2;
    CHECK_EQ(bs_snapshot_save(st, &b1, &l1, NULL), BS_OK);
    bs_state again = {0};
    CHECK_EQ(bs_snapshot_restore(b1, l1, 0, &again, NULL), BS_OK);
    if (again.topo) {
        CHECK(same_topo(again.topo, t));
        CHECK_EQ(bs_snapshot_save(&again, &b2, &l2, NULL), BS_OK);
        CHECK(l1 == l2 && !memcmp(b1, b2, l1));
    }
    bs_state_free(&again);
    free(b1);
    free(b2);
}

static size_t corrupt(unsigned char *b, size_t len, size_t cap)
{
    int kind = rn(8);
    switch (kind) {
    case 0: /* bit flips */
        for (int i = 0, n = 1 + rn(4); i < n; i++)
            b[rn((int)len)] ^= (unsigned char)(1u << rn(8));
        break;
    case 1: /* random bytes */
        for (int i = 0, n = 1 + rn(8); i < n; i++)
            b[rn((int)len)] = (unsigned char)rnd();
        break;
    case 2: /* cut */
        len = (size_t)rn((int)len);
        break;
    case 3: { /* splice a copy of one range over another */
        size_t a = (size_t)rn((int)len), z = (size_t)rn((int)len);
        size_t n = (size_t)rn(64);
        if (a + n > len)
            n = len - a;
        if (z + n > len)
            n = len - z;
        memmove(b + z, b + a, n);
        break;
    }
    case 4: { /* insert bytes */
        size_t at = (size_t)rn((int)len), n = 1 + (size_t)rn(16);
        if (len + n > cap)
            break;
        memmove(b + at + n, b + at, len - at);
        for (size_t i = 0; i < n; i++)
            b[at + i] = (unsigned char)rnd();
        len += n;
        break;
    }
    case 5: { /* delete bytes */
        size_t at = (size_t)rn((int)len), n = 1 + (size_t)rn(16);
        if (at + n > len)
            n = len - at;
        memmove(b + at, b + at + n, len - at - n);
        len -= n;
        break;
    }
    case 6: { /* an interesting 32-bit value somewhere */
        static const uint32_t vals[] = {0, 1, 0xffffffffu, 0x7fffffffu,
                                        0x80000000u, 2, 16, 64, 65535};
        if (len >= 4)
            put32(b + rn((int)len - 3), vals[rn(9)]);
        break;
    }
    default: { /* an interesting 64-bit value somewhere */
        if (len >= 8) {
            size_t at = (size_t)rn((int)len - 7);
            uint64_t v = rn(2) ? UINT64_MAX - (uint64_t)rn(4096)
                               : UINT64_C(1) << rn(64);
            for (int i = 0; i < 8; i++)
                b[at + i] = (unsigned char)(v >> (8 * i));
        }
        break;
    }
    }
    return len;
}

static void test_corruption(int n)
{
    rng_state = 0xc0ffee;
    bs_topo *t = parse(base_text);
    if (!t)
        return;
    bs_topo *a = bs_topo_clone(t);
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    bs_assign(a, &o, NULL);
    bs_topo *small = random_topo(6, BS_MIB);
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    o.search_budget = 2000;
    bs_assign(small, &o, NULL); /* has failures */
    bs_pending_plan pp = {0};
    pp.before = a;
    pp.after = t;
    bs_step steps[3] = {{BS_STEP_QUIESCE, 1, 0, 0, 0, "q"},
                        {BS_STEP_WRITE, 1, 0x10, 4, 0x80000000, "BAR0"},
                        {BS_STEP_RESUME, 1, 0, 0, 0, "r"}};
    pp.steps = steps;
    pp.nsteps = 3;
    pp.next = 1;
    bs_topo *vt = bs_topo_clone(a);
    bs_vm *vm = NULL;
    CHECK_EQ(bs_vm_new(vt, NULL, &vm, NULL), BS_OK);
    traffic(vm, vt->nnodes, 20);
    bs_state bases[4] = {{.topo = a},
                         {.topo = small},
                         {.topo = t, .plan = &pp},
                         {.topo = vt, .vm = vm}};
    unsigned char *orig[4];
    size_t olen[4], cap = 0;
    for (int i = 0; i < 4; i++) {
        orig[i] = save(&bases[i], &olen[i]);
        if (olen[i] + 256 > cap)
            cap = olen[i] + 256;
    }
    unsigned char *b = malloc(cap);
    int refused = 0, restored = 0, changed = 0;
    for (int i = 0; i < n; i++) {
        int w = rn(4);
        memcpy(b, orig[w], olen[w]);
        size_t len = olen[w];
        for (int k = 0, m = 1 + rn(3); k < m; k++)
            len = corrupt(b, len, cap);
        bool forged = rn(2);
        if (forged) {
            if (rn(4))
                set_len(b, len);
            forge_crcs(b, len);
        }
        unsigned flags = rn(8) == 0 ? BS_SNAP_NO_CRC : 0;
        bs_topo *sentinel = (bs_topo *)&refused;
        bs_state out = {.topo = sentinel};
        bs_error e = {0};
        int rc = bs_snapshot_restore(b, len, flags, &out, &e);
        if (rc) {
            refused++;
            CHECK(out.topo == sentinel && out.plan == NULL);
            CHECK(e.code == rc && !strncmp(e.msg, "byte ", 5));
            continue;
        }
        restored++;
        if (len != olen[w] || memcmp(b, orig[w], len))
            changed++;
        exercise(&out);
        bs_state_free(&out);
    }
    printf("corrupted snapshots: %d, refused %d, restored %d (%d of them "
           "different from the original)\n", n, refused, restored, changed);
    CHECK_EQ(refused + restored, n);
    CHECK(refused > n / 2);
    free(b);
    for (int i = 0; i < 4; i++)
        free(orig[i]);
    bs_vm_free(vm);
    bs_topo_free(vt);
    bs_topo_free(a);
    bs_topo_free(t);
    bs_topo_free(small);
}

/* bs_snapshot_save_file writes what bs_snapshot_load_file reads back;
 * a file it cannot create is BS_EIO naming the path. */
static void test_files(void)
{
    bs_topo *t = parse(base_text);
    if (!t)
        return;
    bs_assign(t, NULL, NULL);
    bs_state st = {.topo = t};
    char dir[] = "/tmp/bs-snap-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/a.snap", dir);
    bs_error e = {0};
    CHECK_EQ(bs_snapshot_save_file(&st, path, &e), BS_OK);
    bs_state back = {0};
    CHECK_EQ(bs_snapshot_load_file(path, 0, &back, &e), BS_OK);
    if (back.topo) {
        CHECK(same_topo(t, back.topo));
        bs_state_free(&back);
    }
    char bad[80];
    snprintf(bad, sizeof bad, "%s/no/such/dir.snap", dir);
    memset(&e, 0, sizeof e);
    CHECK_EQ(bs_snapshot_save_file(&st, bad, &e), BS_EIO);
    CHECK_STR(e.file, bad);
    remove(path);
    rmdir(dir);
    bs_topo_free(t);
}

int main(void)
{
    test_round_trips();
    test_vm();
    test_golden();
    test_refusals();
    test_corruption(10000);
    test_files();
    TEST_DONE("test_snapshot");
}
