/*
 * The relocation planner and plan execution: optimality against an
 * independent exhaustive search on small instances, adversarial layouts
 * (pinned devices mid-window, 64-bit BARs straddling 4 GiB, nested
 * bridges), every emitted plan through the step checker, and the checker
 * rejecting unsafe sequences.
 */
#include "barspace/barspace.h"
#include "barspace/cfgspace.h"
#include "barspace/churn.h"
#include "barspace/plan.h"
#include "churn/churn_internal.h"
#include "test.h"
#include "testlib.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 12345;
static uint64_t rnd(void)
{
    return test_xorshift64(&rng);
}

/* ---- independent oracle: backtracking over aligned positions ---- */

struct occ {
    uint64_t a, s;
};

static bool free_at(const struct occ *o, int n, uint64_t a, uint64_t s)
{
    for (int i = 0; i < n; i++)
        if (a < o[i].a + o[i].s && o[i].a < a + s)
            return false;
    return true;
}

/* Place sizes[i..] (descending) into [base, base+win) avoiding o. */
static bool place_all(struct occ *o, int n, const uint64_t *sz, int k, int i,
                      uint64_t base, uint64_t win)
{
    if (i == k)
        return true;
    for (uint64_t a = base; a + sz[i] <= base + win; a += sz[i]) {
        if (!free_at(o, n, a, sz[i]))
            continue;
        o[n] = (struct occ){a, sz[i]};
        if (place_all(o, n + 1, sz, k, i + 1, base, win))
            return true;
    }
    return false;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* Fewest devices to move (then fewest bytes) so that `want` fits; -1 if
 * impossible. */
static int oracle(const uint64_t *addr, const uint64_t *size, const bool *pin,
                  int n, uint64_t want, uint64_t base, uint64_t win,
                  uint64_t *best_bytes)
{
    for (int m = 0; m <= n; m++) {
        bool found = false;
        uint64_t bb = UINT64_MAX;
        for (unsigned mask = 0; mask < (1u << n); mask++) {
            if (__builtin_popcount(mask) != m)
                continue;
            struct occ o[40];
            uint64_t sz[20];
            int no = 0, k = 0;
            uint64_t bytes = 0;
            bool ok = true;
            for (int i = 0; i < n; i++) {
                if (mask & (1u << i)) {
                    if (pin[i])
                        ok = false;
                    sz[k++] = size[i];
                    bytes += size[i];
                } else {
                    o[no++] = (struct occ){addr[i], size[i]};
                }
            }
            if (!ok || bytes >= bb)
                continue;
            sz[k++] = want;
            qsort(sz, (size_t)k, sizeof *sz, cmp_desc);
            if (place_all(o, no, sz, k, 0, base, win)) {
                found = true;
                bb = bytes;
            }
        }
        if (found) {
            *best_bytes = bb;
            return m;
        }
    }
    return -1;
}

/* Replay the steps' config writes through the config-space emulation
 * (cfgspace.h): after every write no two decoded ranges may conflict and
 * the emulated host mappings must be consistent; at the end the emulated
 * registers must name the planned addresses. */
static int replayed, replay_writes;
static int replay_cfg(const bs_topo *before, const bs_topo *after,
                      const bs_step *s, int n)
{
    bs_topo *t = bs_topo_clone(before);
    bs_vm_opts vo;
    bs_vm_opts_init(&vo);
    vo.initial_command = BS_CMD_MEM | BS_CMD_IO;
    bs_vm *vm = NULL;
    bs_error e;
    int bad = 0;
    if (!t || bs_vm_new(t, &vo, &vm, &e)) {
        bs_topo_free(t);
        return 1;
    }
    for (int i = 0; i < n && !bad; i++) {
        if (s[i].kind != BS_STEP_WRITE)
            continue;
        replay_writes++;
        if (bs_cfg_write(vm, s[i].node, s[i].reg, s[i].width, s[i].value)) {
            fprintf(stderr, "cfg write %d refused\n", i);
            bad = 1;
        } else if (bs_vm_decode_conflicts(vm)) {
            fprintf(stderr, "step %d (%s): decode conflict in the emulation\n",
                    i + 1, s[i].what);
            bad = 1;
        }
    }
    char msg[256];
    if (!bad && bs_vm_check(vm, msg, sizeof msg)) {
        fprintf(stderr, "emulation: %s\n", msg);
        bad = 1;
    }
    for (int i = 1; i < bs_topo_node_count(after) && !bad; i++) {
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            bs_res_info a, b;
            if (bs_topo_res_info(after, i, k, &a) || !(a.flags & BS_RF_ASSIGNED) ||
                (a.flags & BS_RF_UPPER) || bs_topo_res_info(t, i, k, &b))
                continue;
            if (b.addr != a.addr) {
                fprintf(stderr, "emulated %d/%d at 0x%llx, planned 0x%llx\n", i,
                        k, (unsigned long long)b.addr, (unsigned long long)a.addr);
                bad = 1;
            }
        }
    }
    replayed++;
    bs_vm_free(vm);
    bs_topo_free(t);
    return bad;
}

/* The step checker skips its sweep after steps that only shrink what a
 * device decodes; its verdict must be the full sweep's on the plan's own
 * steps and on broken variants of them (a step dropped, two swapped, a
 * command write flipped), where violations are what is being found. */
static int shortcut_runs, shortcut_bad;
static void same_verdict(const bs_topo *before, const bs_topo *after,
                         const bs_step *s, int ns)
{
    bs_step *v = malloc(sizeof *v * (size_t)(ns + 1));
    if (!v)
        return;
    for (int variant = 0; variant < 4; variant++) {
        int n = ns;
        memcpy(v, s, sizeof *v * (size_t)ns);
        int at = ns ? (variant * 7 + ns / 2) % ns : 0;
        if (variant == 1 && n > 0) {
            memmove(v + at, v + at + 1, sizeof *v * (size_t)(n - at - 1));
            n--;
        } else if (variant == 2 && at + 1 < n) {
            bs_step x = v[at];
            v[at] = v[at + 1];
            v[at + 1] = x;
        } else if (variant == 3) {
            for (int i = 0; i < n; i++)
                if (v[i].kind == BS_STEP_WRITE && v[i].reg == 0x04) {
                    v[i].value ^= 0x2;
                    break;
                }
        }
        bs_step_report a, b;
        int ra = bs_steps_check(before, after, v, n, NULL, &a, NULL);
        int rb = bs_steps_check_full(before, after, v, n, NULL, &b, NULL);
        CHECK_EQ(ra, rb);
        CHECK_EQ(a.violations, b.violations);
        CHECK_EQ(a.first_bad, b.first_bad);
        shortcut_runs++;
        shortcut_bad += b.violations != 0;
    }
    free(v);
}

static int check_plan(bs_churn *c, const bs_plan *p, bool quiet)
{
    const bs_topo *before = bs_churn_topo(c);
    bs_topo *after = bs_topo_clone(before);
    bs_plan_apply(p, after);
    bs_step *s = NULL;
    int ns = 0;
    int rc = bs_plan_steps(p, before, &s, &ns);
    bs_step_report rep;
    if (!rc) {
        rc = bs_steps_check(before, after, s, ns, NULL, &rep, NULL);
        same_verdict(before, after, s, ns);
    }
    if (rc && !quiet)
        fprintf(stderr, "step check: %s\n", rep.msg);
    if (!rc && replay_cfg(before, after, s, ns))
        rc = BS_ESTATE;
    bs_violation v[4];
    int nv = bs_check(after, before, v, 4);
    if (nv && !quiet)
        fprintf(stderr, "final: %s\n", v[0].msg);
    free(s);
    bs_topo_free(after);
    return rc ? rc : nv ? BS_ESTATE : BS_OK;
}

/* Random fragmented layouts produced by churn events (no moves), then one
 * hot-add planned and compared with the exhaustive oracle. */
static void optimality(void)
{
    int compared = 0, optimal = 0, with_moves = 0, large_same = 0, large_n = 0;
    for (int round = 0; round < 500; round++) {
        const uint64_t base = 0xc0000000, win = 256 * 1024;
        bs_churn_opts o;
        bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
        o.moves = 0;
        o.reduce = 0;
        bs_churn *c = NULL;
        bs_error e;
        /* A pinned placeholder at the window's start (the window needs a
         * user), then random churn without moves. */
        bs_topo *t = NULL;
        const char *txt = "window mem 0xc0000000+256K\n"
                          "device ph pinned {\n  bar 0 mem32 4K\n}\n";
        if (bs_topo_parse(txt, strlen(txt), "opt", &t, &e) ||
            bs_churn_new(t, &o, &c, &e) != BS_OK) {
            bs_topo_free(t);
            CHECK(0);
            continue;
        }
        bs_topo_free(t);
        /* Random churn to get a fragmented layout. */
        int n = 0;
        for (int i = 0; i < 24; i++) {
            bs_event ev;
            memset(&ev, 0, sizeof ev);
            if (n > 3 && rnd() % 3 == 0) {
                ev.kind = BS_EV_REMOVE;
                snprintf(ev.dev, sizeof ev.dev, "x%d", (int)(rnd() % (uint64_t)n));
            } else {
                ev.kind = BS_EV_ADD;
                snprintf(ev.dev, sizeof ev.dev, "x%d", n++);
                snprintf(ev.at, sizeof ev.at, "host");
                ev.nbars = 1;
                ev.bar[0].slot = 0;
                ev.bar[0].size = UINT64_C(4096) << (rnd() % 5);
                ev.pinned = rnd() % 6 == 0;
            }
            bs_event_result r;
            /* may be refused (name already gone); a failed add is taken
             * back so that every present device has an address */
            if (bs_churn_apply(c, &ev, &r, &e) == BS_OK &&
                r.outcome == BS_OUT_FAILED) {
                ev.kind = BS_EV_REMOVE;
                bs_churn_apply(c, &ev, &r, &e);
            }
        }
        /* Snapshot for the oracle: the placed devices. */
        const bs_topo *ct = bs_churn_topo(c);
        uint64_t addr[20], size[20];
        bool pin[20];
        int k = 0;
        for (int i = 1; i < bs_topo_node_count(ct) && k < 12; i++) {
            bs_res_info ri;
            bs_node_info ni;
            if (!bs_churn_present(c, i) ||
                bs_topo_res_info(ct, i, 0, &ri) || !(ri.flags & BS_RF_ASSIGNED))
                continue;
            bs_topo_node_info(ct, i, &ni);
            addr[k] = ri.addr;
            size[k] = ri.size;
            pin[k] = (ni.flags & BS_NF_PINNED) || !strcmp(ni.name, "ph");
            k++;
        }
        if (k >= 11) {
            bs_churn_free(c);
            continue;
        }
        uint64_t want = UINT64_C(32768) << (rnd() % 3);
        uint64_t ob = 0;
        int om = oracle(addr, size, pin, k, want, base, win, &ob);
        bs_churn_opts o2;
        bs_churn_opts_init(&o2, BS_PLACE_BARSPACE);
        o2.reduce = 0;
        bs_churn *c2 = NULL;
        bs_churn_new(ct, &o2, &c2, &e);
        bs_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = BS_EV_ADD;
        snprintf(ev.dev, sizeof ev.dev, "new");
        snprintf(ev.at, sizeof ev.at, "host");
        ev.nbars = 1;
        ev.bar[0].size = want;
        bs_plan *p = bs_plan_new();
        int rc = c2 ? bs_churn_plan_add(c2, &ev, p, &e) : BS_ENOMEM;
        if (om < 0) {
            CHECK_EQ(rc, BS_ENOSPC);
        } else {
            CHECK_EQ(rc, BS_OK);
            if (rc == BS_OK) {
                compared++;
                CHECK_EQ(bs_plan_moved_devices(p), om);
                if (bs_plan_optimal(p)) {
                    optimal++;
                    CHECK_EQ(bs_plan_moved_bytes(p), ob);
                }
                CHECK_EQ(check_plan(c2, p, false), BS_OK);
            }
        }
        if (om > 0)
            with_moves++;
        /* Large-instance mode on the same instance: complete (finds a plan
         * iff one exists), never fewer moves than the optimum. */
        bs_churn_opts o3 = o2;
        o3.exact_limit = 0;
        bs_churn *c3 = NULL;
        bs_plan *p3 = bs_plan_new();
        bs_churn_new(ct, &o3, &c3, &e);
        snprintf(ev.dev, sizeof ev.dev, "new3");
        int rc3 = c3 ? bs_churn_plan_add(c3, &ev, p3, &e) : BS_ENOMEM;
        CHECK_EQ(rc3 == BS_OK, om >= 0);
        if (rc3 == BS_OK && om >= 0) {
            CHECK(bs_plan_moved_devices(p3) >= om);
            large_same += bs_plan_moved_devices(p3) == om;
            large_n++;
            CHECK_EQ(check_plan(c3, p3, false), BS_OK);
        }
        bs_plan_free(p3);
        bs_churn_free(c3);
        bs_plan_free(p);
        bs_churn_free(c2);
        bs_churn_free(c);
    }
    CHECK(compared > 30);
    CHECK(optimal > 0);
    CHECK(with_moves > 10);
    printf("optimality: %d plans compared with the exhaustive oracle (%d needing "
           "moves), %d proven optimal; large-instance mode: fewest moves in "
           "%d of %d\n", compared, with_moves, optimal, large_same, large_n);
}

static bs_churn *from_text(const char *txt, bs_churn_opts *o)
{
    bs_topo *t = NULL;
    bs_error e;
    if (bs_topo_parse(txt, strlen(txt), "adv", &t, &e)) {
        fprintf(stderr, "parse: %s\n", e.msg);
        return NULL;
    }
    bs_churn *c = NULL;
    if (bs_churn_new(t, o, &c, &e))
        fprintf(stderr, "churn: %s\n", e.msg);
    bs_topo_free(t);
    return c;
}

static void apply_line(bs_churn *c, const char *line, bs_event_result *r)
{
    bs_event *ev = NULL;
    int n = 0;
    bs_error e;
    CHECK_EQ(bs_events_parse(line, strlen(line), "t", &ev, &n, &e), BS_OK);
    if (n == 1)
        CHECK_EQ(bs_churn_apply(c, ev, r, &e), BS_OK);
    free(ev);
}

static void plan_line(bs_churn *c, const char *line, int want_rc, int *moved)
{
    bs_event *ev = NULL;
    int n = 0;
    bs_error e;
    CHECK_EQ(bs_events_parse(line, strlen(line), "t", &ev, &n, &e), BS_OK);
    bs_plan *p = bs_plan_new();
    int rc = n == 1 ? bs_churn_plan_add(c, ev, p, &e) : -1;
    CHECK_EQ(rc, want_rc);
    if (rc == BS_OK)
        CHECK_EQ(check_plan(c, p, false), BS_OK);
    if (moved)
        *moved = bs_plan_moved_devices(p);
    bs_plan_free(p);
    free(ev);
}


/* Issue regressions: a window two bridges down grows (both bridges' windows
 * grow, the neighbour on the root bus moves); 32-bit BARs move to make room
 * for a 64-bit one in a non-prefetchable window. */
static void wrong_answers(void)
{
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    o.reduce = 0;
    char txt[2048];
    int len = snprintf(txt, sizeof txt, "window mem 0xc0000000-0xfebfffff\n"
                                        "window mem 0x100000000000+16T\n");
    for (int i = 0; i < 3; i++)
        len += snprintf(txt + len, sizeof txt - (size_t)len,
                        "bridge rp%d hotplug {\n  bridge sw%d {\n"
                        "    device d%d {\n      bar 1 mem64 256M pref\n"
                        "    }\n  }\n}\n", i, i, i);
    int moved = -1;
    const char *at[] = {"add n at rp1 bar0=pref64:256M\n",
                        "add n at sw1 bar0=pref64:256M\n"};
    for (int i = 0; i < 2; i++) {
        bs_churn *c = from_text(txt, &o);
        CHECK(c != NULL);
        if (!c)
            continue;
        plan_line(c, at[i], BS_OK, &moved);
        CHECK_EQ(moved, 1);
        bs_churn_free(c);
    }
    const char *p = "window mem 0xc0000000+512K\n"
                    "device a {\n  bar 0 mem32 128K\n}\n"
                    "device b {\n  bar 0 mem64 64K\n}\n"
                    "device p pinned {\n  bar 0 mem32 64K fixed=0xc0070000\n}\n";
    const char *add[] = {"add n at host bar0=mem32:256K\n",
                         "add n at host bar0=mem64:256K\n"};
    for (int i = 0; i < 2; i++) {
        bs_churn *c = from_text(p, &o);
        CHECK(c != NULL);
        if (!c)
            continue;
        plan_line(c, add[i], BS_OK, &moved);
        CHECK_EQ(moved, 2);
        bs_churn_free(c);
    }
}

static void adversarial(void)
{
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    o.reduce = 0;
    bs_event_result r;
    /* Pinned device in the middle of the window: 8 x 64K in 512K, the
     * pinned one at 256K; a 256K device must go to the free half. */
    bs_churn *c = from_text("window mem 0xc0000000+512K\n"
                            "device a {\n  bar 0 mem32 64K\n}\n"
                            "device b {\n  bar 0 mem32 64K\n}\n"
                            "device p pinned {\n  bar 0 mem32 64K fixed=0xc0040000\n}\n",
                            &o);
    CHECK(c != NULL);
    if (c) {
        apply_line(c, "add q at host bar0=mem32:64K\n", &r);
        apply_line(c, "add s at host bar0=mem32:64K pinned\n", &r);
        /* now a,b,q below p, s somewhere; ask for 128K then 256K */
        int moved = -1;
        plan_line(c, "add big at host bar0=mem32:128K\n", BS_OK, &moved);
        CHECK(moved >= 0);
        bs_churn_free(c);
    }
    /* 64-bit BARs straddling 4 GiB: window [4G-1M, 4G+1M), 64-bit devices
     * whose high dword changes when they move across. */
    c = from_text("window mem 0xfff80000+512K\n"
                  "window mem 0x100000000+512K\n"
                  "device a {\n  bar 0 mem64 256K\n}\n"
                  "device b {\n  bar 0 mem64 256K\n}\n"
                  "device c {\n  bar 0 mem64 256K\n}\n"
                  "device d {\n  bar 0 mem64 256K\n}\n",
                  &o);
    CHECK(c != NULL);
    if (c) {
        /* One 256K hole in each window: a 512K BAR needs a move, and the
         * moved BAR crosses 4 GiB (its high dword changes). */
        const bs_topo *ct = bs_churn_topo(c);
        bs_res_info ri;
        int lo_dev = -1, hi_dev = -1;
        for (int i = 1; i < bs_topo_node_count(ct); i++)
            if (!bs_topo_res_info(ct, i, 0, &ri)) {
                if (ri.addr < (UINT64_C(1) << 32))
                    lo_dev = i;
                else
                    hi_dev = i;
            }
        CHECK(lo_dev > 0 && hi_dev > 0);
        char line[64];
        bs_node_info ni;
        bs_topo_node_info(ct, lo_dev, &ni);
        snprintf(line, sizeof line, "remove %s\n", ni.name);
        apply_line(c, line, &r);
        bs_topo_node_info(ct, hi_dev, &ni);
        snprintf(line, sizeof line, "remove %s\n", ni.name);
        apply_line(c, line, &r);
        apply_line(c, "add x at host bar0=mem64:512K\n", &r);
        CHECK_EQ(r.outcome, BS_OUT_MOVED);
        CHECK_EQ(r.moves, 1);
        const bs_plan *lp = bs_churn_last_plan(c);
        CHECK(lp != NULL);
        if (lp) {
            bs_plan_item it;
            bool crossed = false;
            for (int i = 0; i < bs_plan_item_count(lp); i++)
                if (!bs_plan_item_get(lp, i, &it) && it.op == BS_PLAN_MOVE &&
                    (it.old_addr >> 32) != (it.new_addr >> 32))
                    crossed = true;
            CHECK(crossed);
        }
        bs_violation v[2];
        CHECK_EQ(bs_check(bs_churn_topo(c), NULL, v, 2), 0);
        bs_churn_free(c);
    }
    /* Nested bridges: a switch below a root port; the downstream window
     * must grow, which needs the root port's window to have room. */
    c = from_text("window mem 0xc0000000+64M\n"
                  "bridge rp0 {\n"
                  "  bridge sw0 {\n"
                  "    device n0 {\n  bar 0 mem32 1M\n}\n"
                  "    device n1 {\n  bar 0 mem32 1M\n}\n"
                  "  }\n"
                  "}\n"
                  "bridge rp1 {\n device m0 {\n  bar 0 mem32 4M\n}\n}\n",
                  &o);
    CHECK(c != NULL);
    if (c) {
        int moved = -1;
        /* rp0's window is exactly 2M: growing it needs rp1 out of the way
         * or free space behind it. */
        plan_line(c, "add n2 at rp0 bar0=mem32:2M\n", BS_OK, &moved);
        apply_line(c, "add n3 at rp0 bar0=mem32:2M\n", &r);
        CHECK(r.outcome == BS_OUT_PLACED || r.outcome == BS_OUT_MOVED);
        bs_violation v[2];
        CHECK_EQ(bs_check(bs_churn_topo(c), NULL, v, 2), 0);
        bs_churn_free(c);
    }
    /* Nothing movable: everything pinned, no plan. */
    c = from_text("window mem 0xc0000000+256K\n"
                  "device a pinned {\n  bar 0 mem32 64K\n}\n"
                  "device b pinned {\n  bar 0 mem32 64K\n}\n",
                  &o);
    if (c) {
        apply_line(c, "remove a\n", &r);
        /* 64K free at the start and 128K at the end: 256K cannot fit. */
        plan_line(c, "add x at host bar0=mem32:256K\n", BS_ENOSPC, NULL);
        bs_churn_free(c);
    }
}

/* The checker must reject unsafe sequences. */
static void checker_rejects(void)
{
    bs_topo *t = NULL;
    bs_error e;
    const char *txt = "window mem 0xffe00000+2M\n"
                      "device a {\n  bar 0 mem64 512K\n}\n"
                      "device b {\n  bar 0 mem64 512K\n}\n"
                      "device p pinned {\n  bar 0 mem32 64K\n}\n";
    CHECK_EQ(bs_topo_parse(txt, strlen(txt), "x", &t, &e), BS_OK);
    if (!t)
        return;
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_PACK);
    CHECK_EQ(bs_assign(t, &ao, &e), BS_OK);
    int a = bs_topo_find(t, "a"), b = bs_topo_find(t, "b"), p = bs_topo_find(t, "p");
    bs_res_info ra, rb;
    bs_topo_res_info(t, a, 0, &ra);
    bs_topo_res_info(t, b, 0, &rb);
    bs_topo *after = bs_topo_clone(t);
    bs_step_report rep;
    /* 1. a write to a running device's BAR without quiesce/decode off. */
    bs_step s1[] = {{BS_STEP_WRITE, a, 0x10, 4, (uint32_t)rb.addr, "BAR0 low"}};
    CHECK_EQ(bs_steps_check(t, after, s1, 1, NULL, &rep, NULL), BS_ESTATE);
    /* 2. decode on while a 64-bit BAR is half written. */
    bs_step s2[] = {{BS_STEP_QUIESCE, a, 0, 0, 0, "q"},
                    {BS_STEP_WRITE, a, 0x04, 2, 0, "off"},
                    {BS_STEP_WRITE, a, 0x14, 4, 1, "BAR0 high"},
                    {BS_STEP_WRITE, a, 0x04, 2, 3, "on"}};
    CHECK_EQ(bs_steps_check(t, after, s2, 4, NULL, &rep, NULL), BS_ESTATE);
    CHECK_EQ(rep.first_bad, 3);
    /* 3. moving a onto b while b decodes. */
    bs_step s3[] = {{BS_STEP_QUIESCE, a, 0, 0, 0, "q"},
                    {BS_STEP_WRITE, a, 0x04, 2, 0, "off"},
                    {BS_STEP_WRITE, a, 0x10, 4, (uint32_t)rb.addr, "lo"},
                    {BS_STEP_WRITE, a, 0x14, 4, (uint32_t)(rb.addr >> 32), "hi"},
                    {BS_STEP_WRITE, a, 0x04, 2, 3, "on"}};
    CHECK_EQ(bs_steps_check(t, after, s3, 5, NULL, &rep, NULL), BS_ESTATE);
    CHECK(strstr(rep.msg, "overlaps") != NULL);
    /* 4. a pinned device touched. */
    bs_step s4[] = {{BS_STEP_QUIESCE, p, 0, 0, 0, "q"}};
    CHECK_EQ(bs_steps_check(t, after, s4, 1, NULL, &rep, NULL), BS_ESTATE);
    CHECK(strstr(rep.msg, "pinned") != NULL);
    /* 5. a valid no-op sequence: quiesce, off, on, resume; downtime > 0. */
    bs_step s5[] = {{BS_STEP_QUIESCE, a, 0, 0, 0, "q"},
                    {BS_STEP_WRITE, a, 0x04, 2, 0, "off"},
                    {BS_STEP_WRITE, a, 0x04, 2, 3, "on"},
                    {BS_STEP_RESUME, a, 0, 0, 0, "r"}};
    CHECK_EQ(bs_steps_check(t, after, s5, 4, NULL, &rep, NULL), BS_OK);
    CHECK(rep.total_downtime_ns > 0);
    CHECK_EQ(rep.devices, 1);
    (void)ra;
    bs_topo_free(after);
    bs_topo_free(t);
}

/* A plan nobody has filled has no subject (plan.h: -1), new or cleared. */
static void test_plan_subject(void)
{
    bs_plan *p = bs_plan_new();
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_EQ(bs_plan_subject(p), -1);
    CHECK_EQ(bs_plan_item_count(p), 0);
    p->subject = 3;
    bs_plan_clear(p);
    CHECK_EQ(bs_plan_subject(p), -1);
    bs_plan_free(p);
}

int main(void)
{
    optimality();
    adversarial();
    wrong_answers();
    checker_rejects();
    CHECK(replayed > 50);
    printf("config-space emulation: %d plans replayed, %d writes, no decode "
           "conflict\n", replayed, replay_writes);
    printf("step checker shortcut: %d sequences, %d of them invalid, same "
           "verdict as the full sweep on all\n", shortcut_runs, shortcut_bad);
    CHECK(shortcut_bad > 10 && shortcut_bad < shortcut_runs);
    test_plan_subject();
    TEST_DONE("test_plan");
}
