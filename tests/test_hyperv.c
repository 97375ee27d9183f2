/*
 * The Hyper-V platform model (docs/hyperv.md): one test per rule of
 * pci-hyperv and vmbus_drv.c that the placement follows, the format's
 * Hyper-V statements and their errors, and the checker's Hyper-V rules.
 */
#include "test.h"

#include "barspace/barspace.h"
#include "barspace/hyperv.h"
#include "barspace/churn.h"
#include "barspace/snapshot.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bs_topo *parse(const char *text)
{
    bs_topo *t = NULL;
    bs_error e;
    int rc = bs_topo_parse(text, strlen(text), "t.topo", &t, &e);
    if (rc)
        fprintf(stderr, "parse: %s:%d: %s\n", e.file, e.line, e.msg);
    return t;
}

/* Parse must fail at `line` with a message containing `what`. */
static void bad(const char *text, int line, const char *what)
{
    bs_topo *t = NULL;
    bs_error e;
    memset(&e, 0, sizeof e);
    int rc = bs_topo_parse(text, strlen(text), "bad.topo", &t, &e);
    CHECK(rc == BS_EPARSE);
    CHECK(t == NULL);
    CHECK_EQ(e.line, line);
    CHECK_STR(e.file, "bad.topo");
    if (!strstr(e.msg, what))
        fprintf(stderr, "message '%s' lacks '%s'\n", e.msg, what);
    CHECK(strstr(e.msg, what) != NULL);
}

static uint64_t addr(const bs_topo *t, const char *node, int slot)
{
    bs_res_info r;
    int n = bs_topo_find(t, node);
    if (n < 0 || bs_topo_res_info(t, n, slot, &r) ||
        !(r.flags & BS_RF_ASSIGNED))
        return UINT64_MAX;
    return r.addr;
}

static uint64_t rsize(const bs_topo *t, const char *node, int slot)
{
    bs_res_info r;
    int n = bs_topo_find(t, node);
    if (n < 0 || bs_topo_res_info(t, n, slot, &r))
        return 0;
    return r.size;
}

static int assign(bs_topo *t)
{
    bs_error e;
    int rc = bs_assign(t, NULL, &e);
    bs_violation v[4];
    int nv = bs_check(t, NULL, v, 4);
    for (int i = 0; i < nv && i < 4; i++)
        fprintf(stderr, "violation: %s\n", v[i].msg);
    CHECK_EQ(nv, 0);
    return rc;
}

#define HDR "platform hyperv\n"                                             \
            "window mem 0xf8000000-0xfbffffff\n"                             \
            "window mem 0x1000000000+16M\n"

/* survey_child_resources + get_bar_size: 32-bit BARs to the low need,
 * 64-bit ones (prefetchable or not) to the high need, each rounded up to a
 * page; hv_pci_allocate_bridge_windows aligns to the largest power of two
 * not above the need. */
static void test_need(void)
{
    bs_topo *t = parse(HDR "vpci b {\n device d {\n"
                           "  bar 0 mem32 16\n  bar 1 mem32 8K\n"
                           "  bar 2 mem64 64K\n  bar 4 mem64 1M pref\n"
                           " }\n}\n");
    CHECK(t != NULL);
    uint64_t lo = 0, hi = 0;
    CHECK_EQ(bs_hv_bus_need(t, bs_topo_find(t, "b"), &lo, &hi), BS_OK);
    CHECK_EQ(lo, 4096 + 8192);
    CHECK_EQ(hi, 0x10000 + 0x100000);
    CHECK_EQ(bs_hv_align(lo), 8192);
    CHECK_EQ(bs_hv_align(hi), 0x100000);
    CHECK_EQ(bs_hv_align(0x30000), 0x20000);
    CHECK_EQ(bs_hv_align(0x10000), 0x10000);
    CHECK_EQ(bs_hv_bus_need(t, bs_topo_find(t, "d"), &lo, &hi), BS_EINVAL);
    bs_topo_free(t);
}

/* hv_pci_probe: config window first (8K, page aligned, lowest free address
 * of the lowest gap), then low below 4 GiB, then high above 4 GiB; the
 * ranges are exactly the need.  prepopulate_bars: sizes downward from the
 * alignment, devices in order, BARs in index order, packed from the start;
 * a sub-page BAR takes a whole page. */
static void test_probe_order_and_layout(void)
{
    bs_topo *t = parse(HDR "vpci b {\n"
                           " device d0 {\n  bar 0 mem32 16\n  bar 1 mem32 8K\n"
                           "  bar 2 mem64 64K\n  bar 4 mem64 1M pref\n }\n"
                           " device d1 {\n  bar 0 mem64 64K\n  bar 2 mem32 4K\n }\n"
                           "}\n");
    CHECK_EQ(assign(t), BS_OK);
    CHECK_EQ(addr(t, "b", BS_SLOT_BAR0), 0xf8000000);
    CHECK_EQ(rsize(t, "b", BS_SLOT_BAR0), 0x2000);
    /* low need 4K+8K+4K = 16K, aligned to 16K after the config window */
    CHECK_EQ(addr(t, "b", BS_SLOT_WIN_MEM), 0xf8004000);
    CHECK_EQ(rsize(t, "b", BS_SLOT_WIN_MEM), 0x4000);
    CHECK_EQ(addr(t, "b", BS_SLOT_WIN_PREF), 0x1000000000);
    CHECK_EQ(rsize(t, "b", BS_SLOT_WIN_PREF), 0x120000);
    /* low: 8K first, then the 4K ones in device/BAR order */
    CHECK_EQ(addr(t, "d0", 1), 0xf8004000);
    CHECK_EQ(addr(t, "d0", 0), 0xf8006000);
    CHECK_EQ(addr(t, "d1", 2), 0xf8007000);
    /* high: 1M, then 64K of d0, then 64K of d1 */
    CHECK_EQ(addr(t, "d0", 4), 0x1000000000);
    CHECK_EQ(addr(t, "d0", 2), 0x1000100000);
    CHECK_EQ(addr(t, "d1", 0), 0x1000110000);
    bs_topo_free(t);
}

/* vmbus_allocate_mmio: first fit upward; the second bus goes after the
 * first; a bus with only 64-bit BARs asks for no low range. */
static void test_first_fit(void)
{
    bs_topo *t = parse(HDR "vpci a {\n device da {\n  bar 0 mem64 64K\n }\n}\n"
                           "vpci b {\n device db {\n  bar 0 mem64 128K\n }\n}\n"
                           "vpci c {\n device dc {\n  bar 0 mem64 64K\n }\n}\n");
    CHECK_EQ(assign(t), BS_OK);
    CHECK_EQ(addr(t, "a", BS_SLOT_BAR0), 0xf8000000);
    CHECK_EQ(addr(t, "b", BS_SLOT_BAR0), 0xf8002000);
    CHECK_EQ(addr(t, "c", BS_SLOT_BAR0), 0xf8004000);
    CHECK_EQ(addr(t, "a", BS_SLOT_WIN_MEM), UINT64_MAX);
    CHECK_EQ(addr(t, "a", BS_SLOT_WIN_PREF), 0x1000000000);
    CHECK_EQ(addr(t, "b", BS_SLOT_WIN_PREF), 0x1000020000); /* 128K aligned */
    CHECK_EQ(addr(t, "c", BS_SLOT_WIN_PREF), 0x1000010000); /* the hole */
    bs_topo_free(t);
}

/* Only whole gaps are filtered by min/max: a high request never lands in a
 * low gap, and a low one never in a high gap, however much room. */
static void test_low_high_split(void)
{
    bs_topo *t = parse("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
                       "window mem 0x1000000000+64K\n"
                       "vpci a {\n device da {\n  bar 0 mem64 64K\n }\n}\n"
                       "vpci b {\n device db {\n  bar 0 mem64 64K\n"
                       "  bar 2 mem32 1M\n }\n}\n");
    CHECK_EQ(assign(t), BS_ENOSPC);
    CHECK_EQ(addr(t, "a", BS_SLOT_WIN_PREF), 0x1000000000);
    /* b: the low range was found, then the high failed: nothing kept */
    CHECK_EQ(addr(t, "b", BS_SLOT_BAR0), UINT64_MAX);
    CHECK_EQ(addr(t, "b", BS_SLOT_WIN_MEM), UINT64_MAX);
    CHECK_EQ(addr(t, "db", 2), UINT64_MAX);
    CHECK_EQ(bs_topo_failure_count(t), 1);
    bs_failure f;
    CHECK_EQ(bs_topo_failure(t, 0, &f), BS_OK);
    CHECK_STR(f.reason, "Need 0x10000 of high MMIO space. Consider "
                        "reconfiguring the VM.");
    CHECK_EQ(f.shortfall, 0x10000); /* the gap must grow by 64K */
    /* a third bus still gets the space b gave back */
    bs_topo_free(t);
    t = parse("platform hyperv\nwindow mem 0xf8000000-0xf80fffff\n"
              "window mem 0x1000000000+16M\n"
              "vpci a {\n device da {\n  bar 0 mem32 1M\n }\n}\n");
    CHECK_EQ(assign(t), BS_ENOSPC);
    CHECK_EQ(bs_topo_failure(t, 0, &f), BS_OK);
    CHECK_STR(f.reason, "Need 0x100000 of low MMIO space. Consider "
                        "reconfiguring the VM.");
    bs_topo_free(t);
}

/* vmbus_reserve_fb: the framebuffer claim lies in the lowest gap and is
 * halved until it fits, not below 1 MiB; nothing is placed over it. */
static void test_framebuffer(void)
{
    bs_topo *t = parse("platform hyperv\nwindow mem 0xf8000000+48M\n"
                       "window mem 0x1000000000+16M\nframebuffer 0xf8000000+64M\n"
                       "vpci a {\n device da {\n  bar 0 mem32 4K\n }\n}\n");
    CHECK_EQ(assign(t), BS_OK);
    /* 64M does not fit in 48M: the claim that held is 32M */
    CHECK_EQ(addr(t, "a", BS_SLOT_BAR0), 0xf8000000 + (32u << 20));
    uint64_t b, s;
    CHECK_EQ(bs_hv_framebuffer(t, &b, &s), BS_OK);
    CHECK_EQ(s, 64u << 20); /* the declaration is kept as written */
    bs_topo_free(t);
    /* outside the lowest gap: no claim at all */
    t = parse("platform hyperv\nwindow mem 0xf8000000+48M\n"
              "window mem 0x1000000000+16M\nframebuffer 0x1000000000+8M\n"
              "vpci a {\n device da {\n  bar 0 mem64 4K\n }\n}\n");
    CHECK_EQ(assign(t), BS_OK);
    CHECK_EQ(addr(t, "a", BS_SLOT_BAR0), 0xf8000000);
    CHECK_EQ(addr(t, "a", BS_SLOT_WIN_PREF), 0x1000000000);
    bs_topo_free(t);
}

/* vmbus_walk_resources: a gap over the vTPM ends at 0xfed40000. */
static void test_vtpm_truncation(void)
{
    bs_topo *t = parse("platform hyperv\nwindow mem 0xfec00000-0xfeffffff\n"
                       "vpci a {\n device da {\n  bar 0 mem32 1M\n }\n}\n"
                       "vpci b {\n device db {\n  bar 0 mem32 256K\n }\n}\n");
    /* a: cfg at 0xfec00000, 1M aligned needs 0xfed00000-0xfedfffff: past
     * the cut.  b: 256K at 0xfec40000 fits. */
    CHECK_EQ(assign(t), BS_ENOSPC);
    CHECK_EQ(addr(t, "da", 0), UINT64_MAX);
    CHECK_EQ(addr(t, "b", BS_SLOT_BAR0), 0xfec00000);
    CHECK_EQ(addr(t, "db", 0), 0xfec40000);
    bs_topo_free(t);
    /* A range that ends below 1 MiB is ignored, however free. */
    t = parse("platform hyperv\nwindow mem 0x80000-0xfffff\n"
              "window mem 0xf8000000-0xfbffffff\n"
              "vpci a {\n device da {\n  bar 0 mem32 4K\n }\n}\n");
    CHECK_EQ(assign(t), BS_OK);
    CHECK_EQ(addr(t, "a", BS_SLOT_BAR0), 0xf8000000);
    CHECK_EQ(addr(t, "da", 0), 0xf8002000);
    bs_topo_free(t);
}

/* Domains: as written, else the lowest free number (hv_get_dom_num). */
static void test_domains(void)
{
    bs_topo *t = parse(HDR "vpci a domain=0x7870 {\n device da {\n"
                           "  bar 0 mem64 4K\n }\n}\n"
                           "vpci b {\n device db {\n  bar 0 mem64 4K\n }\n}\n"
                           "vpci c domain=2\n");
    bs_node_info ni;
    bs_topo_node_info(t, bs_topo_find(t, "a"), &ni);
    CHECK_EQ(ni.domain, 0x7870);
    CHECK(ni.flags & BS_NF_VPCI);
    bs_topo_node_info(t, bs_topo_find(t, "b"), &ni);
    CHECK_EQ(ni.domain, 1);
    CHECK_EQ(bs_topo_platform(t), BS_PLATFORM_HYPERV);
    bs_topo_free(t);
}

/* The text round-trips, plain and assigned; an assigned file checks. */
static void test_round_trip(void)
{
    bs_topo *t = parse("topology rt\n" HDR "framebuffer 0xf8000000+1M\n"
                       "vpci a domain=0x10 {\n device da model=nvme {\n"
                       "  bar 0 mem64 64K\n  bar 2 mem32 4K\n }\n}\n");
    size_t n = bs_topo_format(t, NULL, 0);
    char *a = malloc(n + 1);
    bs_topo_format(t, a, n + 1);
    bs_topo *u = parse(a);
    CHECK(u != NULL);
    size_t m = bs_topo_format(u, NULL, 0);
    char *b = malloc(m + 1);
    bs_topo_format(u, b, m + 1);
    CHECK_STR(a, b);
    CHECK_EQ(assign(t), BS_OK);
    n = bs_topo_format_assigned(t, NULL, 0);
    char *c = malloc(n + 1);
    bs_topo_format_assigned(t, c, n + 1);
    CHECK(strstr(c, "cfg=0xf8100000") != NULL);
    bs_topo *v = parse(c);
    CHECK(v != NULL);
    CHECK_EQ(bs_check(v, NULL, NULL, 0), 0);
    CHECK_EQ(addr(v, "da", 0), addr(t, "da", 0));
    CHECK_EQ(addr(v, "a", BS_SLOT_WIN_MEM), addr(t, "a", BS_SLOT_WIN_MEM));
    free(a);
    free(b);
    free(c);
    bs_topo_free(t);
    bs_topo_free(u);
    bs_topo_free(v);
}

/* The checker's Hyper-V rules: a high range below 4 GiB, anything over the
 * framebuffer, a 64-bit BAR outside the high range. */
static void test_checker(void)
{
    bs_topo *t = parse("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
                       "framebuffer 0xf8000000+1M\n"
                       "vpci a cfg=0xf8000000 win-pref=0xf8100000-0xf810ffff {\n"
                       " device da {\n  bar 0 mem64 64K at=0xf8100000\n }\n}\n");
    CHECK(t != NULL);
    bs_violation v[8];
    int nv = bs_check(t, NULL, v, 8);
    CHECK_EQ(nv, 2);
    bool kind = false, fb = false;
    for (int i = 0; i < nv && i < 8; i++) {
        kind |= v[i].code == BS_V_KIND && strstr(v[i].msg, "below 4 GiB");
        fb |= v[i].code == BS_V_OVERLAP && strstr(v[i].msg, "framebuffer");
    }
    CHECK(kind);
    CHECK(fb);
    bs_topo_free(t);
}

static void test_errors(void)
{
    bad("window mem 0xf8000000-0xfbffffff\nvpci a\n", 2,
        "needs 'platform hyperv'");
    bad("window mem 0xf8000000-0xfbffffff\nframebuffer 0xf8000000+8M\n", 2,
        "needs 'platform hyperv'");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\nvpci a {\n"
        " device d {\n  bar 0 io 16\n }\n}\n", 5, "no I/O BARs");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\nvpci a {\n"
        " bar 0 mem32 4K\n}\n", 4, "no registers of its own");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\nvpci a {\n"
        " bridge b\n}\n", 4, "no bridges");
    bad("platform hyperv\nwindow mem 0xf8000000-0xf9ffffff\n"
        "window mem 0xfa000000-0xfbffffff\n", 3, "merges adjacent gaps");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
        "vpci a domain=5\nvpci b domain=5\n", 4, "already used");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
        "framebuffer 0xf8000000+512K\n", 3, "at least 1 MiB");
    bad("platform kvm\n", 1, "expected 'hyperv'");
    bad("platform hyperv\nplatform hyperv\n", 2, "given twice");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
        "device d\n", 3, "sits on a vpci bus");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
        "vpci a domain=0\n", 3, "domain must be 1..65535");
    bad("platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"
        "vpci a win-mem=0xf8000000-0xf80007ff\n", 3, "4 KiB granule");
    bad("platform hyperv\nwindow io 0x1000-0xffff\n", 2, "not I/O");
}

/* ---- churn on Hyper-V ---- */

#define CHURN_TOPO "platform hyperv\nwindow mem 0xf8000000-0xfbffffff\n"      \
                   "window mem 0x1000000000+256K\n"                           \
                   "vpci ba {\n device a {\n  bar 0 mem64 64K\n }\n}\n"         \
                   "vpci bb {\n device b {\n  bar 0 mem64 64K\n }\n}\n"         \
                   "vpci bc {\n device c {\n  bar 0 mem64 64K\n }\n}\n"         \
                   "vpci bd {\n device d {\n  bar 0 mem64 64K\n }\n}\n"

static bs_churn *churn(int policy, int moves)
{
    bs_topo *t = parse(CHURN_TOPO);
    bs_churn_opts o;
    bs_churn_opts_init(&o, policy);
    o.moves = moves;
    bs_churn *c = NULL;
    bs_error e;
    CHECK_EQ(bs_churn_new(t, &o, &c, &e), BS_OK);
    bs_topo_free(t);
    return c;
}

/* Apply a trace; returns the outcome of the last event. */
static int run(bs_churn *c, const char *trace, bs_event_result *res)
{
    bs_event *ev = NULL;
    int n = 0;
    bs_error e;
    CHECK_EQ(bs_events_parse(trace, strlen(trace), "t.trace", &ev, &n, &e),
             BS_OK);
    for (int i = 0; i < n; i++)
        CHECK_EQ(bs_churn_apply(c, &ev[i], res, &e), BS_OK);
    free(ev);
    CHECK_EQ(bs_check(bs_churn_topo(c), NULL, NULL, 0), 0);
    return res->outcome;
}

static uint64_t dev_addr(bs_churn *c, const char *name)
{
    const bs_topo *t = bs_churn_topo(c);
    for (int n = 1; n < bs_topo_node_count(t); n++) {
        bs_node_info ni;
        bs_res_info r;
        if (bs_topo_node_info(t, n, &ni) == BS_OK && bs_churn_present(c, n) &&
            !strcmp(ni.name, name) && bs_topo_res_info(t, n, 0, &r) == BS_OK &&
            (r.flags & BS_RF_ASSIGNED))
            return r.addr;
    }
    return UINT64_MAX;
}

/* A removal gives the bus's ranges back; first fit reuses the lowest hole,
 * best fit the snug one, which keeps a 128K block for the next device. */
static void test_churn_fit(void)
{
    bs_event_result res;
    const char *tr = "remove a\nremove b\nremove d\n"
                     "add e at host bar0=mem64:64K\n";
    bs_churn *ff = churn(BS_PLACE_LINUX, 0);
    CHECK_EQ(run(ff, tr, &res), BS_OUT_PLACED);
    CHECK_EQ(dev_addr(ff, "e"), 0x1000000000);
    CHECK_EQ(run(ff, "add f at host bar0=mem64:128K\n", &res), BS_OUT_FAILED);
    CHECK_STR(res.msg, "Need 0x20000 of high MMIO space. Consider "
                       "reconfiguring the VM.");
    CHECK_EQ(res.want, 0x20000);
    CHECK_EQ(res.feasible, 1); /* explained: moving one bus would do */
    bs_churn *bf = churn(BS_PLACE_BARSPACE, 0);
    CHECK_EQ(run(bf, tr, &res), BS_OUT_PLACED);
    CHECK_EQ(dev_addr(bf, "e"), 0x1000030000);
    CHECK_EQ(run(bf, "add f at host bar0=mem64:128K\n", &res), BS_OUT_PLACED);
    CHECK_EQ(dev_addr(bf, "f"), 0x1000000000);
    /* the new function is on a new bus with the lowest free domain */
    const bs_topo *t = bs_churn_topo(bf);
    bs_node_info ni;
    int fbus = -1;
    for (int n = 1; n < bs_topo_node_count(t); n++)
        if (bs_topo_node_info(t, n, &ni) == BS_OK && !strcmp(ni.name, "f"))
            fbus = ni.parent;
    CHECK(fbus > 0 && bs_topo_node_info(t, fbus, &ni) == BS_OK &&
          (ni.flags & BS_NF_VPCI));
    CHECK_EQ(ni.domain, 2); /* ba..bd had 1..4; e took 1, b's 2 is free */
    bs_churn_free(ff);
    bs_churn_free(bf);
}

/* Relocation: the cheapest bus set overlapping an aligned position is
 * ejected and probed again; its cost is the device's downtime. */
static void test_churn_relocate(void)
{
    bs_event_result res;
    bs_churn *c = churn(BS_PLACE_BARSPACE, 1);
    CHECK_EQ(run(c, "remove b\nremove d\nadd e at host bar0=mem64:128K\n",
                 &res), BS_OUT_MOVED);
    CHECK_EQ(res.moves, 1);
    CHECK_EQ(res.bytes_moved, 0x10000);
    CHECK_EQ(dev_addr(c, "e"), 0x1000000000);
    CHECK_EQ(dev_addr(c, "a"), 0x1000030000); /* a moved to the free 64K */
    /* quiesce 0.1 ms + 3 config writes of 1 us + unmap and map of 64K */
    CHECK_EQ(res.downtime_ns, 100000 + 3000 + 2 * 0x10000 * 7 / 1000);
    bs_churn_free(c);
    /* A pinned function never moves: then nothing can be done. */
    c = churn(BS_PLACE_BARSPACE, 1);
    CHECK_EQ(run(c, "pin a\npin c\nremove b\nremove d\n"
                    "add e at host bar0=mem64:128K\n", &res), BS_OUT_FAILED);
    CHECK_EQ(dev_addr(c, "a"), 0x1000000000);
    bs_churn_free(c);
}

/* Hyper-V events that make no sense are errors, not outcomes. */
static void test_churn_errors(void)
{
    bs_churn *c = churn(BS_PLACE_LINUX, 0);
    bs_event *ev = NULL;
    int n = 0;
    bs_error e;
    bs_event_result res;
    const char *tr = "add x at bb bar0=mem64:64K\nadd y at host bar0=io:16\n"
                     "add a at host bar0=mem64:64K\n";
    CHECK_EQ(bs_events_parse(tr, strlen(tr), "t", &ev, &n, &e), BS_OK);
    CHECK_EQ(n, 3);
    CHECK_EQ(bs_churn_apply(c, &ev[0], &res, &e), BS_ENOENT);
    CHECK(strstr(e.msg, "add it at host") != NULL);
    CHECK_EQ(bs_churn_apply(c, &ev[1], &res, &e), BS_EINVAL);
    CHECK_EQ(bs_churn_apply(c, &ev[2], &res, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "already present") != NULL);
    CHECK_EQ(bs_check(bs_churn_topo(c), NULL, NULL, 0), 0);
    free(ev);
    bs_churn_free(c);
}

/* ---- a guest's log ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = f ? malloc(1 << 16) : NULL;
    *len = b ? fread(b, 1, 1 << 16, f) : 0;
    if (f)
        fclose(f);
    return b;
}

static void test_log(void)
{
    size_t len;
    char *text = slurp("tests/data/hyperv/gpu-high-fail.dmesg", &len);
    CHECK(text != NULL);
    bs_hv_log *l = NULL;
    bs_error e;
    CHECK_EQ(bs_hv_log_parse(text, len, "g.dmesg", &l, &e), BS_OK);
    CHECK_EQ(bs_hv_log_bus_count(l), 3);
    bs_hv_bus_report b;
    CHECK_EQ(bs_hv_log_bus(l, 0, &b), BS_OK);
    CHECK_EQ(b.domain, 0x7870);
    CHECK_EQ(b.devices, 1);
    CHECK_EQ(b.win_base[1], 0xfc0000000);
    CHECK_EQ(b.win_size[1], 0x10000);
    CHECK_EQ(bs_hv_log_bus(l, 1, &b), BS_OK);
    CHECK_EQ(b.win_size[0], 0x2000);
    CHECK_EQ(bs_hv_log_bus(l, 2, &b), BS_OK);
    CHECK_EQ(b.domain, 0x51e2); /* never printed: from the GUID */
    CHECK_EQ(b.need[1], 0x1020000);
    CHECK_EQ(b.need[0], 0);
    CHECK_EQ(b.line, 15);
    uint64_t g[2];
    /* Without the VM: the need itself, a lower bound. */
    CHECK_EQ(bs_hv_log_growth(l, NULL, g, &e), BS_OK);
    CHECK_EQ(g[1], 0x1020000);
    CHECK_EQ(g[0], 0);
    /* With a 12M high gap: the 16M-aligned range must start at +16M, so
     * the gap must reach +32M+128K: grow by 20M+128K. */
    bs_topo *t = parse("platform hyperv\nwindow mem 0xf8000000-0xfed3ffff\n"
                       "window mem 0xfc0000000+12M\n"
                       "framebuffer 0xf8000000+8M\n");
    CHECK_EQ(bs_hv_log_growth(l, t, g, &e), BS_OK);
    CHECK_EQ(g[1], 0x1420000);
    CHECK_EQ(g[0], 0);
    /* and that much is enough, one page less is not */
    bs_topo_free(t);
    t = parse("platform hyperv\nwindow mem 0xf8000000-0xfed3ffff\n"
              "window mem 0xfc0000000+0x2020000\nframebuffer 0xf8000000+8M\n");
    CHECK_EQ(bs_hv_log_growth(l, t, g, &e), BS_OK);
    CHECK_EQ(g[1], 0);
    bs_topo_free(t);
    t = parse("platform hyperv\nwindow mem 0xf8000000-0xfed3ffff\n"
              "window mem 0xfc0000000+0x201f000\nframebuffer 0xf8000000+8M\n");
    CHECK_EQ(bs_hv_log_growth(l, t, g, &e), BS_OK);
    CHECK_EQ(g[1], 0x1000);
    bs_topo_free(t);
    bs_hv_log_free(l);
    free(text);
    const char *none = "[ 1.0] pci 0000:00:01.0: BAR 0: assigned\n";
    CHECK_EQ(bs_hv_log_parse(none, strlen(none), "x.log", &l, &e), BS_ENOENT);
    CHECK(l == NULL);
}

/* Snapshots keep the platform, the framebuffer and the domains. */
static void test_snapshot(void)
{
    bs_topo *t = parse("topology s\n" HDR "framebuffer 0xf8000000+1M\n"
                       "vpci a domain=0x7870 {\n device da {\n"
                       "  bar 0 mem64 64K\n }\n}\n");
    CHECK_EQ(assign(t), BS_OK);
    bs_state st = {.topo = t};
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK_EQ(bs_snapshot_save(&st, &buf, &len, NULL), BS_OK);
    bs_state back = {0};
    bs_error e;
    int rrc = bs_snapshot_restore(buf, len, 0, &back, &e);
    if (rrc)
        fprintf(stderr, "restore: %s\n", e.msg);
    CHECK_EQ(rrc, BS_OK);
    CHECK(back.topo != NULL);
    if (back.topo) {
        CHECK_EQ(bs_topo_platform(back.topo), BS_PLATFORM_HYPERV);
        size_t n = bs_topo_format_assigned(t, NULL, 0);
        char *a = malloc(n + 1), *b = malloc(n + 1);
        bs_topo_format_assigned(t, a, n + 1);
        CHECK_EQ(bs_topo_format_assigned(back.topo, b, n + 1), n);
        CHECK_STR(a, b);
        free(a);
        free(b);
    }
    bs_state_free(&back);
    free(buf);
    bs_topo_free(t);
}

int main(void)
{
    test_snapshot();
    test_log();
    test_churn_fit();
    test_churn_relocate();
    test_churn_errors();
    test_need();
    test_probe_order_and_layout();
    test_first_fit();
    test_low_high_split();
    test_framebuffer();
    test_vtpm_truncation();
    test_domains();
    test_round_trip();
    test_checker();
    test_errors();
    TEST_DONE("test_hyperv");
}
