/*
 * Import always yields a machine.  The property: for every input of the
 * repository (tests/data), the fuzz corpus (fuzz/corpus) and, when the
 * shared directory sits beside the clone, ../shared/realdata, whatever
 * imports is written, parsed back, passes the checker, and assigns under
 * both policies without breaking an invariant.  Beside it, regressions
 * with logs written for the purpose in the kernel's line formats:
 * translated host bridges (bus addresses), subtractive-decode bridges of
 * old kernels, SR-IOV VF BARs, fixed BARs under a failed window, lspci
 * alone, and bridge-to-bus links from addresses instead of line order.
 */
#include "barspace/import.h"
#include "barspace/snapshot.h"
#include "test.h"
#include "testlib.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/import/"
#define REALDATA "../shared/realdata"

static int inputs, taken, refused;

/* write -> parse: the text barspace writes, barspace reads back. */
static bs_topo *round_trip(const bs_topo *t, const char *what)
{
    size_t need = bs_topo_format_assigned(t, NULL, 0);
    char *buf = malloc(need + 1);
    CHECK(buf != NULL);
    if (!buf)
        return NULL;
    bs_topo_format_assigned(t, buf, need + 1);
    bs_topo *back = NULL;
    bs_error e = {0};
    int rc = bs_topo_parse(buf, need, what, &back, &e);
    if (rc)
        fprintf(stderr, "%s: written topology does not parse: line %d: %s\n",
                what, e.line, e.msg);
    CHECK_EQ(rc, BS_OK);
    free(buf);
    return back;
}

static void assign_clean(const bs_topo *t, int policy, const char *what)
{
    bs_topo *c = bs_topo_clone(t);
    CHECK(c != NULL);
    if (!c)
        return;
    bs_assign_opts o;
    bs_assign_opts_init(&o, policy);
    bs_error e = {0};
    int rc = bs_assign(c, &o, &e);
    CHECK(rc == BS_OK || rc == BS_ENOSPC);
    bs_violation v[4];
    int nv = bs_check(c, NULL, v, 4);
    for (int i = 0; i < nv && i < 4; i++)
        fprintf(stderr, "%s (%s): after assign: %s\n", what,
                policy == BS_POLICY_LINUX ? "linux" : "pack", v[i].msg);
    CHECK_EQ(nv, 0);
    bs_topo_free(c);
}

/* The whole property for one input; returns the imported topology (the
 * caller frees it) or NULL when the input was refused. */
static bs_topo *property(const char *path, bool must, bs_import **imp)
{
    inputs++;
    bs_import *im = bs_import_new();
    bs_error e = {0};
    bs_topo *t = NULL;
    int rc = bs_import_add_path(im, path, BS_IMPORT_AUTO, &e);
    if (rc == BS_OK)
        rc = bs_import_build(im, &t, &e);
    if (rc != BS_OK) {
        refused++;
        if (must)
            fprintf(stderr, "%s: refused: %s:%d: %s\n", path, e.file, e.line,
                    e.msg);
        CHECK(!must);
        CHECK(e.msg[0] != 0); /* refused with a reason */
        if (imp)
            *imp = NULL;
        bs_import_free(im);
        return NULL;
    }
    taken++;
    bs_violation v[4];
    int nv = bs_check(t, NULL, v, 4);
    for (int i = 0; i < nv && i < 4; i++)
        fprintf(stderr, "%s: imported machine: %s\n", path, v[i].msg);
    CHECK_EQ(nv, 0);
    CHECK(bs_topo_window_count(t) > 0);
    bs_topo *back = round_trip(t, path);
    if (back) {
        nv = bs_check(back, NULL, v, 4);
        for (int i = 0; i < nv && i < 4; i++)
            fprintf(stderr, "%s: written machine: %s\n", path, v[i].msg);
        CHECK_EQ(nv, 0);
        assign_clean(back, BS_POLICY_LINUX, path);
        assign_clean(back, BS_POLICY_PACK, path);
        bs_topo_free(back);
    }
    if (imp)
        *imp = im;
    else
        bs_import_free(im);
    return t;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Inputs of a machine (logs, dumps, archives), not the scripts and
 * settings beside them; bad-* and no-pci* are refused on purpose. */
static bool is_machine_input(const char *p)
{
    static const char *const ext[] = {".log", ".dmesg", ".txt", ".iomem",
                                      ".tar"};
    /* Bad inputs on purpose; a hot-plug run's per-event kernel lines and
     * QEMU's config-space trace are fragments of a boot, not a machine. */
    if (strstr(p, "/bad-") || strstr(p, "/no-pci") || strstr(p, "/events/") ||
        ends_with(p, "trace.log"))
        return false;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (ends_with(p, ext[i]))
            return true;
    return false;
}

static void walk(const char *dir, bool must, const char *skip)
{
    char **files;
    int n = test_list_files(dir, &files);
    if (!n) {
        printf("note: %s not found; skipped\n", dir);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (skip && strstr(files[i], skip))
            continue;
        bs_topo *t = property(files[i], must && is_machine_input(files[i]),
                              NULL);
        bs_topo_free(t);
    }
    test_files_free(files, n);
}

static bool has_note(const bs_import *im, const char *s)
{
    for (int i = 0; i < bs_import_note_count(im); i++)
        if (strstr(bs_import_note(im, i), s))
            return true;
    return false;
}

static int parent_of(const bs_topo *t, const char *name)
{
    bs_node_info ni;
    int n = bs_topo_find(t, name);
    if (n < 0 || bs_topo_node_info(t, n, &ni))
        return -2;
    return ni.parent;
}

/* A DT host bridge that translates: the 32-bit window sits at CPU
 * 0xe180000000, bus 0x80000000. */
static void bus_address(void)
{
    bs_import *im = NULL;
    bs_topo *t = property(DATA "k6-arm64-bus-address.log", true, &im);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_window_info w;
    bool found = false;
    for (int i = 0; i < bs_topo_window_count(t); i++) {
        bs_topo_window_info(t, i, &w);
        if (w.base == UINT64_C(0xe180000000)) {
            found = true;
            CHECK_EQ(w.base - w.bus_offset, UINT64_C(0x80000000));
        }
    }
    CHECK(found);
    CHECK_EQ(bs_topo_bus_addr(t, UINT64_C(0xe180100000), 0),
             UINT64_C(0x80100000));
    /* Written with bus=, and the kernel's layout is what linux gives. */
    size_t need = bs_topo_format(t, NULL, 0);
    char *buf = malloc(need + 1);
    bs_topo_format(t, buf, need + 1);
    CHECK(strstr(buf, "bus=0x80000000") != NULL);
    free(buf);
    bs_topo *c = bs_topo_clone(t);
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    bs_error e = {0};
    CHECK_EQ(bs_assign(c, &o, &e), BS_OK);
    int n = bs_topo_find(c, "pci-0000:01:00.1");
    bs_res_info r;
    CHECK(n > 0 && bs_topo_res_info(c, n, BS_SLOT_BAR0, &r) == BS_OK);
    CHECK_EQ(r.addr, UINT64_C(0xe180100000));
    bs_topo_free(c);
    bs_topo_free(t);
    bs_import_free(im);
}

/* Text with a translated window: parse, 32-bit BARs above 4 GiB of CPU
 * address but below it on the bus, assign, check. */
static void bus_address_format(void)
{
    static const char text[] =
        "topology tra\n"
        "window mem 0x4000000000-0x403fffffff bus=0xc0000000\n"
        "device a {\n"
        "    bar 0 mem32 256M\n"
        "    bar 1 mem32 1M fixed=0x4030000000\n"
        "}\n";
    bs_topo *t = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_topo_parse(text, sizeof text - 1, "tra", &t, &e), BS_OK);
    if (!t)
        return;
    for (int p = BS_POLICY_LINUX; p <= BS_POLICY_PACK; p++) {
        bs_topo *c = bs_topo_clone(t);
        bs_assign_opts o;
        bs_assign_opts_init(&o, p);
        CHECK_EQ(bs_assign(c, &o, &e), BS_OK);
        bs_violation v[2];
        CHECK_EQ(bs_check(c, NULL, v, 2), 0);
        bs_res_info r;
        bs_topo_res_info(c, 1, BS_SLOT_BAR0, &r);
        CHECK(bs_topo_bus_addr(c, r.addr, 0) < UINT64_C(0x100000000));
        bs_topo_free(c);
    }
    /* A snapshot keeps the translation; the restored machine checks. */
    bs_state st = {t, NULL, NULL}, back = {NULL, NULL, NULL};
    unsigned char *snap = NULL;
    size_t slen = 0;
    CHECK_EQ(bs_snapshot_save(&st, &snap, &slen, &e), BS_OK);
    CHECK_EQ(bs_snapshot_restore(snap, slen, BS_SNAP_CHECK, &back, &e), BS_OK);
    if (back.topo) {
        bs_window_info w;
        CHECK_EQ(bs_topo_window_info(back.topo, 0, &w), BS_OK);
        CHECK_EQ(w.base - w.bus_offset, UINT64_C(0xc0000000));
    }
    bs_state_free(&back);
    free(snap);
    /* What the writer writes for a fixed VF BAR, the parser reads. */
    static const char vft[] =
        "window mem 0x2000000000-0x2fffffffff\n"
        "\n"
        "device d vfs=4 {\n"
        "    bar 0 mem64 1M pref fixed=0x2000000000\n"
        "    vfbar 0 mem64 64K pref fixed=0x2000100000\n"
        "}\n";
    bs_topo *vf = NULL;
    CHECK_EQ(bs_topo_parse(vft, sizeof vft - 1, "vf", &vf, &e), BS_OK);
    if (vf) {
        char out[512];
        size_t n = bs_topo_format(vf, out, sizeof out);
        CHECK(n == sizeof vft - 1 && !memcmp(out, vft, n));
        assign_clean(vf, BS_POLICY_LINUX, "vf");
        assign_clean(vf, BS_POLICY_PACK, "vf");
    }
    bs_topo_free(vf);
    /* The bus range may not straddle 4 GiB, nor an I/O one 0xffff. */
    static const char bad[] =
        "window mem 0x4000000000-0x40ffffffff bus=0xc0000000\n";
    bs_topo *b = NULL;
    CHECK_EQ(bs_topo_parse(bad, sizeof bad - 1, "bad", &b, &e), BS_EPARSE);
    CHECK(strstr(e.msg, "bus") != NULL);
    bs_topo_free(b);
    bs_topo_free(t);
}

static void regressions(void)
{
    bs_import *im = NULL;
    /* 3.14 i686: a subtractive-decode bridge's forwarded windows are not
     * its own (they made a non-4 KiB I/O window). */
    bs_topo *t = property(DATA "k3-i686-subtractive.log", true, &im);
    CHECK(t != NULL);
    if (t) {
        int b = bs_topo_find(t, "pci-0000:00:1e.0");
        bs_res_info r;
        CHECK(b > 0 && bs_topo_res_info(t, b, BS_SLOT_WIN_MEM, &r) == BS_OK &&
              r.addr == UINT64_C(0xdfd00000) && r.size == (UINT64_C(1) << 20));
        CHECK(bs_topo_res_info(t, b, BS_SLOT_WIN_IO, &r) != BS_OK ||
              !(r.flags & BS_RF_ASSIGNED) || !r.size);
    }
    bs_topo_free(t);
    bs_import_free(im);
    /* SR-IOV VF BARs are written as the format takes them. */
    t = property(DATA "k5-sriov.log", true, NULL);
    CHECK(t != NULL);
    bs_topo_free(t);
    /* A fixed BAR under a bridge whose window failed: no invariant broken
     * after assignment (property() assigns with both policies). */
    t = property(DATA "k3-old-forms.log", true, NULL);
    CHECK(t != NULL);
    bs_topo_free(t);
    /* lspci alone: windows derived from the addresses seen, with a note. */
    t = property(DATA "lspci-vvvnn.txt", true, &im);
    CHECK(t != NULL && bs_topo_window_count(t) >= 1);
    CHECK(im && has_note(im, "derived from the addresses seen"));
    bs_topo_free(t);
    bs_import_free(im);
    /* No bus range leads to bus 03: the bridge whose window holds its
     * addresses is its parent, not the one before it in the log. */
    t = property(DATA "k5-thunderbolt-excerpt.log", true, NULL);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ(parent_of(t, "pci-0000:03:00.0"),
                 bs_topo_find(t, "pci-0000:00:1c.1"));
        CHECK_EQ(parent_of(t, "pci-0000:04:00.0"),
                 bs_topo_find(t, "pci-0000:00:1c.2"));
    }
    bs_topo_free(t);
}

int main(void)
{
    bus_address();
    bus_address_format();
    regressions();
    /* Deliberately bad inputs are refused with a position: the rest of
     * tests/data must import. */
    walk("tests/data/import", true, NULL);
    int before = refused;
    walk("tests/data/peer", true, NULL);
    walk("fuzz/corpus", false, NULL);
    walk(REALDATA, true, NULL);
    printf("import property: %d inputs, %d imported and checked, %d refused "
           "(%d outside tests/data/import)\n", inputs, taken, refused,
           refused - before);
    TEST_DONE("test_import_machine");
}
