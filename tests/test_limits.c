/*
 * Resource limits on hostile input: every input that goes past a limit of
 * the library is refused with an error naming where and what, memory stays
 * within a fixed multiple of the input, and the cases that are legal but
 * extreme (2^64 boundaries, overlapping firmware-fixed BARs) are handled
 * without wrapping arithmetic or a crash (this binary also runs under
 * ASan+UBSan, which turns any overflow into a failure).
 */
#include "core/internal.h"
#include "barspace/churn.h"
#include "barspace/import.h"
#include "barspace/qemu.h"
#include "barspace/snapshot.h"
#include "test.h"

#include <stdlib.h>

static char *buf;
static size_t cap;

static void grow(size_t need)
{
    if (need <= cap)
        return;
    while (cap < need)
        cap = cap ? cap * 2 : 1 << 16;
    buf = realloc(buf, cap);
}

/* printf into the shared buffer at offset *n. */
static void put(size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void put(size_t *n, const char *fmt, ...)
{
    va_list ap;
    grow(*n + 64);
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
        va_end(ap);
        if ((size_t)k < cap - *n) {
            *n += (size_t)k;
            return;
        }
        grow(cap * 2);
    }
}

static int parse(const char *text, size_t len, bs_topo **t, bs_error *e)
{
    memset(e, 0, sizeof *e);
    *t = NULL;
    return bs_topo_parse(text, len, "hostile.topo", t, e);
}

#define WIN "window mem 0x80000000-0x8fffffff\n"

static void expect_refused(const char *text, int code, int line,
                           const char *needle)
{
    bs_topo *t;
    bs_error e;
    int rc = parse(text, strlen(text), &t, &e);
    CHECK_EQ(rc, code);
    CHECK(t == NULL);
    CHECK_EQ(e.line, line);
    if (!strstr(e.msg, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, e.msg);
        CHECK(0);
    }
    bs_topo_free(t);
}

/* ------------------------------------------------------- topology text */

static void topology_limits(void)
{
    /* Nesting: exactly BS_MAX_DEPTH levels of bridges and devices are
     * accepted, one more is refused on the line that opens it. */
    size_t n = 0;
    put(&n, "topology deep\n" WIN);
    for (int i = 0; i < BS_MAX_DEPTH - 1; i++)
        put(&n, "bridge b%d {\n", i);
    put(&n, "device d {\n}\n");
    for (int i = 0; i < BS_MAX_DEPTH - 1; i++)
        put(&n, "}\n");
    bs_topo *t;
    bs_error e;
    CHECK_EQ(parse(buf, n, &t, &e), BS_OK);
    if (t) {
        CHECK_EQ(t->nodes[t->nnodes - 1].depth, BS_MAX_DEPTH);
        bs_assign_opts o;
        bs_assign_opts_init(&o, BS_POLICY_LINUX);
        CHECK_EQ(bs_assign(t, &o, NULL), BS_OK);
        CHECK_EQ(bs_check(t, NULL, NULL, 0), 0);
        bs_topo_free(t);
    }
    n = 0;
    put(&n, "topology deeper\n" WIN);
    for (int i = 0; i < 1000; i++)
        put(&n, "bridge b%d {\n", i);
    CHECK_EQ(parse(buf, n, &t, &e), BS_ELIMIT);
    CHECK_EQ(e.line, 2 + BS_MAX_DEPTH + 1);
    CHECK(strstr(e.msg, "nesting deeper than") != NULL);

    /* Root windows: 32 accepted, the 33rd refused. */
    n = 0;
    put(&n, "topology wins\n");
    for (int i = 0; i <= BS_MAX_ROOT_WINDOWS; i++)
        put(&n, "window mem 0x%llx+16M\n",
            (unsigned long long)(UINT64_C(0x100000000) + (uint64_t)i * BS_GIB));
    CHECK_EQ(parse(buf, n, &t, &e), BS_ELIMIT);
    CHECK_EQ(e.line, 2 + BS_MAX_ROOT_WINDOWS);

    /* Numbers beyond 64 bits, sizes beyond what a BAR can be, VF counts
     * that overflow the VF region. */
    expect_refused("topology n\n" WIN "device a {\n bar 0 mem64 0x10000000000000000\n}\n",
                   BS_EPARSE, 4, "expected a size");
    expect_refused("topology n\n" WIN "device a {\n bar 0 mem64 99999999999999999999\n}\n",
                   BS_EPARSE, 4, "expected a size");
    expect_refused("topology n\n" WIN "device a {\n bar 0 mem64 16E\n}\n",
                   BS_EPARSE, 4, "expected a size");
    expect_refused("topology n\n" WIN "device a {\n bar 0 mem32 4G\n}\n",
                   BS_EPARSE, 4, "at most");
    expect_refused("topology n\n" WIN "device a vfs=65535 {\n vfbar 0 mem64 8E\n}\n",
                   BS_ELIMIT, 4, "overflows 64 bits");
    expect_refused("topology n\n" WIN "device a vfs=4294967297 {\n}\n",
                   BS_EPARSE, 3, "vfs must be");
    expect_refused("topology n\nwindow mem 0-0xffffffffffffffff\n",
                   BS_EPARSE, 2, "all of the 64-bit");
    expect_refused("topology n\nwindow mem 0xffffffffffff0000+0x20000\n",
                   BS_EPARSE, 2, "overflows 2^64");
    expect_refused("topology n\nwindow mem 0x80000000-0x8fffffff\n"
                   "window mem 0x88000000-0x9fffffff\n",
                   BS_EPARSE, 3, "overlaps");

    /* A window ending exactly at 2^64, filled with the largest BARs there
     * are: placed without wrapping. */
    static const char top[] =
        "topology top\n"
        "window mem 0x8000000000000000-0xffffffffffffffff pref\n"
        "device a {\n bar 0 mem64 4E pref\n}\n"
        "device b {\n bar 0 mem64 2E pref\n}\n"
        "device c {\n bar 0 mem64 2E pref\n}\n";
    CHECK_EQ(parse(top, strlen(top), &t, &e), BS_OK);
    if (t) {
        for (int pol = BS_POLICY_LINUX; pol <= BS_POLICY_PACK; pol++) {
            bs_topo *c = bs_topo_clone(t);
            bs_assign_opts o;
            bs_assign_opts_init(&o, pol);
            CHECK_EQ(bs_assign(c, &o, NULL), BS_OK);
            CHECK_EQ(bs_check(c, NULL, NULL, 0), 0);
            const struct bs_res *r = &c->nodes[bs_topo_find(c, "c")].res[0];
            CHECK(r->flags & BS_RF_ASSIGNED);
            CHECK(bs_last(r->addr, r->size) >= r->addr);
            bs_topo_free(c);
        }
        bs_topo_free(t);
    }

    /* A megabyte-long line and a line of 100,000 tokens: refused at once,
     * naming the line. */
    n = 0;
    put(&n, "topology long\n");
    grow(n + (1 << 20) + 16);
    memset(buf + n, 'a', 1 << 20);
    n += 1 << 20;
    CHECK_EQ(parse(buf, n, &t, &e), BS_EPARSE);
    CHECK_EQ(e.line, 2);
    CHECK(strlen(e.msg) < sizeof e.msg - 1);
    n = 0;
    put(&n, "topology toks\n" WIN "device a");
    for (int i = 0; i < 100000; i++)
        put(&n, " x");
    CHECK_EQ(parse(buf, n, &t, &e), BS_EPARSE);
    CHECK_EQ(e.line, 3);
    CHECK(strstr(e.msg, "too many tokens") != NULL);

    /* NUL bytes and binary garbage are input like any other. */
    static const char nul[] = "topology z\n" WIN "device a\0 {\n}\n";
    CHECK_EQ(parse(nul, sizeof nul - 1, &t, &e), BS_EPARSE);
    CHECK_EQ(e.line, 3);

    /* Memory is a fixed multiple of the input: 20,000 one-line devices. */
    n = 0;
    put(&n, "topology many\n" WIN);
    for (int i = 0; i < 20000; i++)
        put(&n, "device d%d\n", i);
    CHECK_EQ(parse(buf, n, &t, &e), BS_OK);
    if (t) {
        size_t mem = (size_t)t->cap * sizeof *t->nodes;
        printf("topology: %zu input bytes -> %zu bytes of nodes (%.0fx)\n",
               n, mem, (double)mem / (double)n);
        CHECK(mem <= n * 400);
        bs_topo_free(t);
    }
}

/* ------------------------------------------------------ overlapping fixed */

static void fixed_overlap(void)
{
    static const char text[] =
        "topology fx\n"
        "window mem 0x80000000-0x8fffffff\n"
        "device a {\n bar 0 mem32 64K fixed=0x80000000\n}\n"
        "device b {\n bar 0 mem32 64K fixed=0x80000000\n}\n"
        "device c {\n bar 0 mem32 1M fixed=0x80000000\n}\n"
        "device d {\n bar 0 mem32 4K fixed=0x90000000\n}\n";
    bs_topo *t;
    bs_error e;
    CHECK_EQ(parse(text, strlen(text), &t, &e), BS_OK);
    if (!t)
        return;
    for (int pol = BS_POLICY_LINUX; pol <= BS_POLICY_PACK; pol++) {
        bs_topo *c = bs_topo_clone(t);
        bs_assign_opts o;
        bs_assign_opts_init(&o, pol);
        CHECK_EQ(bs_assign(c, &o, &e), BS_ENOSPC);
        /* Each fixed BAR that collides names what it collides with; the
         * one outside every window says so; a, claimed first, stays. */
        const char *want[][2] = {
            {"b", "overlaps a BAR0, also fixed (line 4)"},
            {"c", "overlaps a BAR0, also fixed (line 4)"},
            {"d", "is not free inside a window of its bus"},
        };
        CHECK_EQ(bs_topo_failure_count(c), 3);
        for (int i = 0; i < bs_topo_failure_count(c) && i < 3; i++) {
            bs_failure f;
            bs_topo_failure(c, i, &f);
            bs_node_info ni;
            bs_topo_node_info(c, f.node, &ni);
            CHECK(!strcmp(ni.name, want[i][0]));
            CHECK(strstr(f.reason, want[i][1]) != NULL);
        }
        /* The state the library leaves is checker-valid: the losers keep
         * no address, so nothing decodes on top of a. */
        CHECK_EQ(bs_check(c, NULL, NULL, 0), 0);
        bs_topo_free(c);
    }
    bs_topo_free(t);
}

/* ------------------------------------------------- other parsers' limits */

static void events_limits(void)
{
    bs_event *ev = NULL;
    int n = 0;
    bs_error e = {0};
    static const char *const bad[] = {
        "vfs a 4294967296\n",
        "resize a bar0 0x10000000000000000\n",
        "add a at host bar0=mem64:16E\n",
        "add a at host bar0=mem32:4K bar1=mem32:4K bar2=mem32:4K "
        "bar3=mem32:4K bar4=mem32:4K bar5=mem32:4K rom=64K vfbar0=mem32:4K "
        "vfbar1=mem32:4K vfbar2=mem32:4K\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        int rc = bs_events_parse(bad[i], strlen(bad[i]), "t.events", &ev, &n,
                                 &e);
        CHECK(rc < 0);
        CHECK_EQ(e.line, 1);
        CHECK(e.msg[0] != 0);
        free(ev);
        ev = NULL;
    }
    /* A name longer than the event format allows. */
    size_t k = 0;
    put(&k, "add ");
    for (int i = 0; i < 300; i++)
        put(&k, "n");
    put(&k, " at host bar0=mem32:4K\n");
    memset(&e, 0, sizeof e);
    CHECK(bs_events_parse(buf, k, "t.events", &ev, &n, &e) < 0);
    CHECK_EQ(e.line, 1);
    free(ev);
}

static void import_limits(void)
{
    /* A kernel log full of lines about the same few devices with absurd
     * resources: imported or refused, never a wrap. */
    size_t n = 0;
    put(&n, "pci_bus 0000:00: root bus resource [mem 0x80000000-0xffffffffffffffff window]\n");
    put(&n, "pci 0000:00:01.0: [8086:10d3] type 00 class 0x020000\n");
    put(&n, "pci 0000:00:01.0: BAR 0 [mem 0xfffffffffffff000-0xffffffffffffffff 64bit]\n");
    put(&n, "pci 0000:00:01.0: BAR 2 [mem 0x0-0xffffffffffffffff 64bit]\n");
    put(&n, "pci 0000:00:01.0: BAR 4 [mem 0x2000-0x1000]\n");
    put(&n, "pci 0000:00:02.0: [8086:10d3] type 00 class 0x020000\n");
    put(&n, "pci 0000:00:02.0: BAR 0 [mem 0x90000000-0x9000ffff]\n");
    put(&n, "pci 0000:00:03.0: [8086:10d3] type 00 class 0x020000\n");
    put(&n, "pci 0000:00:03.0: BAR 0 [mem 0x90000000-0x9000ffff]\n");
    bs_import *im = bs_import_new();
    bs_error e = {0};
    int rc = bs_import_add(im, buf, n, "hostile.log", BS_IMPORT_DMESG, &e);
    if (rc) {
        CHECK(e.line > 0 && e.msg[0]);
    } else {
        bs_topo *t = NULL;
        rc = bs_import_build(im, &t, &e);
        if (!rc) {
            for (int i = 1; i < t->nnodes; i++)
                for (int s = 0; s < BS_NSLOTS; s++) {
                    const struct bs_res *r = &t->nodes[i].res[s];
                    if ((r->flags & BS_RF_ASSIGNED) && r->size)
                        CHECK(bs_last(r->addr, r->size) >= r->addr);
                }
            /* The two at 0x90000000 contradict each other: one keeps its
             * address, the other is left unplaced with a note naming it,
             * so that the machine checks. */
            bs_violation v[4];
            CHECK_EQ(bs_check(t, NULL, v, 4), 0);
            bool noted = false;
            for (int i = 0; i < bs_import_note_count(im); i++)
                noted |= strstr(bs_import_note(im, i), "left unplaced") != NULL;
            CHECK(noted);
            bs_topo_free(t);
        }
    }
    bs_import_free(im);

    /* The QEMU trace parser on a line of 1 MiB. */
    n = 0;
    put(&n, "pci_cfg_write x 00:01.0 @0x10 <- 0x");
    grow(n + (1 << 20) + 2);
    memset(buf + n, 'f', 1 << 20);
    n += 1 << 20;
    buf[n++] = '\n';
    bs_qtrace *q = NULL;
    memset(&e, 0, sizeof e);
    rc = bs_qtrace_parse(buf, n, "long.trace", &q, &e);
    CHECK(rc == BS_EPARSE);
    CHECK_EQ(e.line, 1);
    bs_qtrace_free(q);
}

/* ------------------------------------------------------------ snapshot */

static void snapshot_limits(void)
{
    /* A snapshot claiming 2^32-1 nodes in a few hundred bytes is refused
     * before anything is allocated for them (ASan would report the
     * allocation otherwise: 2^32 nodes are 5 TB). */
    bs_topo *t = bs_topo_new("s");
    bs_state st = {.topo = t};
    unsigned char *b = NULL;
    size_t len;
    CHECK_EQ(bs_snapshot_save(&st, &b, &len, NULL), BS_OK);
    size_t nc = 28 + 16 + 2 + 1 + 4; /* header, section, name "s", nwin */
    for (int i = 0; i < 4; i++)
        b[nc + (size_t)i] = 0xff;
    bs_state out = {0};
    bs_error e = {0};
    CHECK_EQ(bs_snapshot_restore(b, len, BS_SNAP_NO_CRC, &out, &e),
             BS_ELIMIT);
    CHECK(strstr(e.msg, "node count") != NULL);
    CHECK(out.topo == NULL);
    free(b);
    bs_topo_free(t);
}

int main(void)
{
    topology_limits();
    fixed_overlap();
    events_limits();
    import_limits();
    snapshot_limits();
    free(buf);
    TEST_DONE("test_limits");
}
