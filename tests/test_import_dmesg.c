/*
 * Kernel log importer: every wrapping of the same boot imports to the same
 * machine; kernel wordings from 3.x to 6.x; errors name file, line, column.
 */
#include "barspace/import.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/import/"

/* A canonical description of a topology: nodes, parents, slots, flags,
 * addresses, root windows and failures. */
static char *describe(const bs_topo *t)
{
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    b[0] = 0;
#define ADD(...) (len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__))
    for (int w = 0; w < bs_topo_window_count(t) && len < cap - 200; w++) {
        bs_window_info wi;
        bs_topo_window_info(t, w, &wi);
        ADD("win %x %llx+%llx\n", wi.flags, (unsigned long long)wi.base,
            (unsigned long long)wi.size);
    }
    for (int n = 1; n < bs_topo_node_count(t) && len < cap - 200; n++) {
        bs_node_info ni;
        bs_topo_node_info(t, n, &ni);
        ADD("%s kind=%d parent=%d flags=%x model=%s\n", ni.name, ni.kind,
            ni.parent, ni.flags, ni.model);
        for (int s = 0; s < BS_NSLOTS && len < cap - 200; s++) {
            bs_res_info r;
            if (bs_topo_res_info(t, n, s, &r) || !r.size)
                continue;
            ADD("  %d fl=%x size=%llx addr=%llx fixed=%llx\n", s, r.flags,
                (unsigned long long)r.size, (unsigned long long)r.addr,
                (unsigned long long)r.fixed);
        }
    }
    ADD("failures %d\n", bs_topo_failure_count(t));
#undef ADD
    return b;
}

static bs_topo *load(const char *path, bs_error *e)
{
    bs_topo *t = NULL;
    const char *p[1] = {path};
    memset(e, 0, sizeof *e);
    int rc = bs_import_paths(p, 1, &t, e);
    return rc == BS_OK ? t : NULL;
}

static bs_topo *from_text(const char *text, bs_error *e)
{
    bs_import *im = bs_import_new();
    bs_topo *t = NULL;
    memset(e, 0, sizeof *e);
    if (bs_import_add(im, text, strlen(text), "inline.log", BS_IMPORT_DMESG,
                      e) == BS_OK)
        bs_import_build(im, &t, e);
    bs_import_free(im);
    return t;
}

static int node(const bs_topo *t, const char *name)
{
    return bs_topo_find(t, name);
}

static bs_res_info res(const bs_topo *t, const char *name, int slot)
{
    bs_res_info r;
    memset(&r, 0, sizeof r);
    int n = node(t, name);
    if (n > 0)
        bs_topo_res_info(t, n, slot, &r);
    return r;
}

static void test_same_boot_every_wrapping(void)
{
    static const char *const variants[] = {
        "k5-level-prefix.log", "k5-no-timestamps.log", "k5-journalctl.log",
        "k5-dmesg-T.log", "k5-mail-wrapped.log", "k6-resource-names.log"};
    bs_error e;
    bs_topo *base = load(DATA "k5-timestamps.log", &e);
    CHECK(base != NULL);
    if (!base)
        return;
    char *want = describe(base);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", variants[i]);
        bs_topo *t = load(path, &e);
        CHECK(t != NULL);
        if (!t) {
            fprintf(stderr, "%s: %s\n", path, e.msg);
            continue;
        }
        char *got = describe(t);
        if (strcmp(got, want))
            fprintf(stderr, "%s differs:\n%s\nvs\n%s\n", path, got, want);
        CHECK_STR(got, want);
        free(got);
        bs_topo_free(t);
    }
    free(want);

    /* What that boot says. */
    CHECK_EQ(bs_topo_window_count(base), 4); /* legacy VGA window left out */
    int rp = node(base, "pci-0000:00:1c.0");
    int gpu = node(base, "pci-0000:01:00.0");
    CHECK(rp > 0 && gpu > 0);
    bs_node_info ni;
    bs_topo_node_info(base, gpu, &ni);
    CHECK_EQ(ni.parent, rp);
    CHECK_STR(ni.model, "10de:1eb8");
    bs_topo_node_info(base, rp, &ni);
    CHECK_EQ(ni.kind, BS_NODE_BRIDGE);
    bs_res_info r = res(base, "pci-0000:01:00.0", BS_SLOT_BAR0 + 1);
    CHECK_EQ(r.size, 256u << 20);
    CHECK(r.flags & BS_RF_MEM64);
    CHECK(r.flags & BS_RF_PREF);
    CHECK(r.flags & BS_RF_FIXED);
    CHECK_EQ(r.fixed, UINT64_C(0x800000000));
    /* The upper half of the 64-bit BAR is not a BAR of its own. */
    r = res(base, "pci-0000:01:00.0", BS_SLOT_BAR0 + 2);
    CHECK(r.flags & BS_RF_UPPER);
    /* The kernel moved the NIC's ROM: assigned, not firmware-fixed. */
    r = res(base, "pci-0000:00:02.0", BS_SLOT_ROM);
    CHECK(r.flags & BS_RF_ASSIGNED);
    CHECK(!(r.flags & BS_RF_FIXED));
    CHECK_EQ(r.addr, 0xfe100000u);
    r = res(base, "pci-0000:00:1c.0", BS_SLOT_WIN_PREF);
    CHECK_EQ(r.addr, UINT64_C(0x800000000));
    CHECK_EQ(r.size, 256u << 20);
    r = res(base, "pci-0000:00:1c.0", BS_SLOT_WIN_MEM);
    CHECK_EQ(r.size, 17u << 20);
    r = res(base, "pci-0000:00:02.0", BS_SLOT_BAR0 + 2);
    CHECK(r.flags & BS_RF_IO);
    CHECK_EQ(r.addr, 0xc000);
    CHECK_EQ(bs_topo_failure_count(base), 0);
    bs_violation v[4];
    CHECK_EQ(bs_check(base, NULL, v, 4), 0);
    bs_topo_free(base);
}

static void test_old_kernel_forms(void)
{
    bs_error e;
    bs_topo *t = load(DATA "k3-old-forms.log", &e);
    CHECK(t != NULL);
    if (!t)
        return;
    /* "pci_root ... host bridge window" lines, legacy one left out. */
    CHECK_EQ(bs_topo_window_count(t), 3);
    bs_res_info r = res(t, "pci-0000:01:00.0", BS_SLOT_BAR0);
    CHECK(r.flags & BS_RF_FAILED);
    CHECK(r.flags & BS_RF_MEM64); /* from "reg 10:", kept over "can't assign mem pref" */
    CHECK_EQ(r.size, 256u << 20);
    r = res(t, "pci-0000:01:00.0", BS_SLOT_ROM);
    CHECK(r.flags & BS_RF_FAILED);
    CHECK_EQ(r.size, 128u << 10);
    r = res(t, "pci-0000:00:01.0", BS_SLOT_WIN_PREF);
    CHECK(r.flags & BS_RF_FAILED);
    CHECK_EQ(bs_topo_failure_count(t), 3);
    bs_failure f;
    CHECK_EQ(bs_topo_failure(t, 0, &f), BS_OK);
    CHECK(strstr(f.reason, "k3-old-forms.log:") != NULL);
    /* type 1 header: a bridge, its child under it. */
    bs_node_info ni;
    bs_topo_node_info(t, node(t, "pci-0000:01:00.0"), &ni);
    CHECK_EQ(ni.parent, node(t, "pci-0000:00:01.0"));
    bs_topo_free(t);
}

static void test_no_iov_numbering(void)
{
    /* Without CONFIG_PCI_IOV the bridge windows are resources 7..9. */
    bs_error e;
    bs_topo *t = load(DATA "k4-no-iov-windows.log", &e);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_res_info r = res(t, "pci-0000:00:00.0", BS_SLOT_WIN_MEM);
    CHECK(r.flags & BS_RF_ASSIGNED);
    CHECK_EQ(r.addr, 0x40000000u);
    CHECK_EQ(r.size, 3u << 20);
    r = res(t, "pci-0000:01:00.0", BS_SLOT_BAR0);
    CHECK_EQ(r.addr, 0x40000000u);
    CHECK(!(r.flags & BS_RF_FIXED)); /* firmware left it at 0 */
    bs_violation v[4];
    CHECK_EQ(bs_check(t, NULL, v, 4), 0);
    bs_topo_free(t);
}

static void test_sriov(void)
{
    bs_error e;
    bs_topo *t = load(DATA "k5-sriov.log", &e);
    CHECK(t != NULL);
    if (!t)
        return;
    int pf = node(t, "pci-0000:03:00.0");
    bs_node_info ni;
    bs_topo_node_info(t, pf, &ni);
    CHECK_EQ(ni.num_vfs, 64);
    bs_res_info r = res(t, "pci-0000:03:00.0", BS_SLOT_VF0);
    CHECK_EQ(r.size, 4u << 20);   /* 64 VFs x 64K */
    CHECK_EQ(r.align, 64u << 10); /* aligned to one VF's BAR */
    r = res(t, "pci-0000:03:00.0", BS_SLOT_VF0 + 3);
    CHECK_EQ(r.size, 1u << 20);
    bs_violation v[4];
    CHECK_EQ(bs_check(t, NULL, v, 4), 0);
    bs_topo_free(t);
}

static void test_errors(void)
{
    bs_error e;
    bs_topo *t = load(DATA "no-pci.log", &e);
    CHECK(t == NULL);
    CHECK_EQ(e.code, BS_EPARSE);
    CHECK(strstr(e.file, "no-pci.log") != NULL);
    CHECK(strstr(e.msg, "no PCI enumeration") != NULL);

    t = load(DATA "bad-resource.log", &e);
    CHECK(t == NULL);
    CHECK_EQ(e.code, BS_EPARSE);
    CHECK_EQ(e.line, 4);
    CHECK_EQ(e.col, 44);

    t = from_text("pci 0000:00:02.0: reg 0x10: [mem 0xfebc0000-0xfebdffff\n"
                  "pci 0000:00:03.0: reg 0x10: [mem 0xfe000000-0xfe0fffff]\n",
                  &e);
    CHECK(t == NULL);
    CHECK_EQ(e.line, 1);
    CHECK(strstr(e.msg, "']'") != NULL);

    t = from_text("pci 0000:00:02.0: [8086:10d3] type 00 class 0x020000\n"
                  "pci 0000:00:02.0: BAR 2: no space for\n", &e);
    CHECK(t == NULL);
    CHECK_EQ(e.line, 2);
    CHECK(strstr(e.msg, "expected the resource") != NULL);

    t = from_text("pci 0000:00:02.0: BAR 0: no space for [mem size 0xq0]\n", &e);
    CHECK(t == NULL);
    CHECK_EQ(e.code, BS_EPARSE);

    /* Lines about PCI that barspace does not need are skipped silently. */
    t = from_text("random words\n"
                  "pci 0000:00:02.0: PME# supported from D0 D3hot\n"
                  "pci 0000:00:02.0: [8086:10d3] type 00 class 0x020000\n"
                  "pci 0000:00:02.0: quirk: [io  0x0600-0x067f] claimed by ICH6\n"
                  "pci 0000:00:02.0: reg 0x10: [mem 0xfebc0000-0xfebdffff]\n",
                  &e);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ(bs_topo_node_count(t), 2);
        CHECK_EQ(res(t, "pci-0000:00:02.0", 0).size, 128u << 10);
        bs_topo_free(t);
    }
}

static void test_wrapped_and_encoded(void)
{
    bs_error e;
    /* Quoted-printable mail attachment, as in real bug reports. */
    bs_topo *t = from_text(
        "[    2.147896] pci 0000:ff:12.0: BAR 2: no space for [mem size =\n"
        "0x00000040]=0A=\n"
        "[    2.154514] pci 0000:ff:12.0: BAR 2: failed to assign [mem size =\n"
        "0x00000040]=0A=\n", &e);
    CHECK(t != NULL);
    if (t) {
        bs_res_info r = res(t, "pci-0000:ff:12.0", 2);
        CHECK(r.flags & BS_RF_FAILED);
        CHECK_EQ(r.size, 64);
        bs_failure f;
        bs_topo_failure(t, 0, &f);
        CHECK(strstr(f.reason, "inline.log:3") != NULL);
        bs_topo_free(t);
    }
    /* Syslog wrapped inside the resource; a wrap cutting a number. */
    t = from_text(
        "Sep 19 09:34:40 kernel: pci 0000:05:00.0: BAR 13: no space for [io  size\n"
        "0x3000]\n"
        "Sep 19 09:34:40 kernel: pci 0000:05:00.0: BAR 13: failed to assign [io  size\n"
        "0x3000]\n"
        "Sep 19 09:34:41 kernel: pci 0000:05:00.0: BAR 14: assigned [mem 0xfe00\n"
        "0000-0xfe1fffff]\n", &e);
    CHECK(t != NULL);
    if (t) {
        bs_res_info r = res(t, "pci-0000:05:00.0", BS_SLOT_WIN_IO);
        CHECK(r.flags & BS_RF_FAILED);
        CHECK_EQ(r.size, 0x3000);
        r = res(t, "pci-0000:05:00.0", BS_SLOT_WIN_MEM);
        CHECK_EQ(r.addr, 0xfe000000u);
        CHECK_EQ(r.size, 2u << 20);
        bs_topo_free(t);
    }
    /* 6.x failure wording, a realloc retry that succeeds in the end. */
    t = from_text(
        "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xcfffffff window]\n"
        "pci 0000:00:01.0: [1b36:000c] type 01 class 0x060400\n"
        "pci 0000:01:00.0: [1af4:1041] type 00 class 0x020000\n"
        "pci 0000:01:00.0: BAR 4 [mem 0x00000000-0x00003fff 64bit pref]\n"
        "pci 0000:00:01.0: PCI bridge to [bus 01]\n"
        "pci 0000:00:01.0: bridge window [mem size 0x00200000 64bit pref]: can't assign; no space\n"
        "pci 0000:00:01.0: bridge window [mem size 0x00200000 64bit pref]: failed to assign\n"
        "pci 0000:01:00.0: BAR 4 [mem size 0x00004000 64bit pref]: can't assign; no space\n"
        "pci 0000:01:00.0: BAR 4 [mem size 0x00004000 64bit pref]: failed to assign\n"
        "pci 0000:00:01.0: bridge window [mem 0xc0000000-0xc01fffff 64bit pref]: releasing\n"
        "pci 0000:00:01.0: bridge window [mem 0xc0000000-0xc01fffff]: assigned\n"
        "pci 0000:01:00.0: BAR 4 [mem 0xc0000000-0xc0003fff 64bit pref]: assigned\n"
        "pci 0000:00:01.0: PCI bridge to [bus 01]\n"
        "pci 0000:00:01.0:   bridge window [mem 0xc0000000-0xc01fffff]\n", &e);
    CHECK(t != NULL);
    if (!t)
        fprintf(stderr, "%d:%d: %s\n", e.line, e.col, e.msg);
    if (t) {
        bs_res_info r = res(t, "pci-0000:01:00.0", 4);
        CHECK(!(r.flags & BS_RF_FAILED));
        CHECK(r.flags & BS_RF_ASSIGNED);
        CHECK_EQ(r.addr, 0xc0000000u);
        r = res(t, "pci-0000:00:01.0", BS_SLOT_WIN_PREF);
        CHECK(r.flags & BS_RF_FAILED); /* the pref window never came back */
        r = res(t, "pci-0000:00:01.0", BS_SLOT_WIN_MEM);
        CHECK(r.flags & BS_RF_ASSIGNED);
        bs_node_info ni;
        bs_topo_node_info(t, node(t, "pci-0000:00:01.0"), &ni);
        CHECK_STR(ni.model, "1b36:000c");
        bs_topo_free(t);
    }
}

static void test_e820_note(void)
{
    const char *text =
        "[    0.000000] BIOS-e820: [mem 0x000000004bc50000-0x00000000cfffffff] reserved\n"
        "[    0.300000] pci_bus 0000:00: root bus resource [mem 0x65400000-0xbfffffff window]\n"
        "[    0.300100] pci 0000:00:15.0: BAR 0: no space for [mem size 0x00001000 64bit]\n";
    bs_import *im = bs_import_new();
    bs_error e = {0};
    CHECK_EQ(bs_import_add(im, text, strlen(text), "e820.log", BS_IMPORT_DMESG,
                           &e), BS_OK);
    int found = 0;
    for (int i = 0; i < bs_import_note_count(im); i++)
        found += strstr(bs_import_note(im, i), "E820 marks [mem 0x4bc50000") != NULL;
    CHECK_EQ(found, 1);
    bs_import_free(im);
}

static void test_detect(void)
{
    const char *dm = "[    0.1] pci 0000:00:02.0: [8086:10d3] type 00 class 0x020000\n";
    const char *ls = "00:02.0 Ethernet controller: Intel Corporation 82574L\n"
                     "\tRegion 0: Memory at febc0000 (32-bit, non-prefetchable) [size=128K]\n";
    const char *io = "00000000-00000fff : Reserved\n"
                     "c0000000-febfffff : PCI Bus 0000:00\n";
    CHECK_EQ(bs_import_detect(dm, strlen(dm)), BS_IMPORT_DMESG);
    CHECK_EQ(bs_import_detect(ls, strlen(ls)), BS_IMPORT_LSPCI);
    CHECK_EQ(bs_import_detect(io, strlen(io)), BS_IMPORT_IOMEM);
    CHECK_STR(bs_import_format_name(BS_IMPORT_SYSFS), "sysfs");
}

/* Bridges whose bus ranges contradict each other (each holds the other's
 * bus) would make a loop: exactly one of them goes under the host bridge,
 * with a note, and every function is kept. */
static void test_contradicting_ranges(void)
{
    const char *text =
        "pci_bus 0000:00: root bus resource [mem 0x80000000-0xbfffffff window]\n"
        "pci 0000:00:01.0: [8086:7c00] type 01 class 0x060400\n"
        "pci 0000:00:01.0: PCI bridge to [bus 05]\n"
        "pci 0000:01:00.0: [8086:7c00] type 01 class 0x060400\n"
        "pci 0000:01:00.0: PCI bridge to [bus 02]\n"
        "pci 0000:02:00.0: [8086:7c00] type 01 class 0x060400\n"
        "pci 0000:02:00.0: PCI bridge to [bus 01]\n"
        "pci 0000:02:01.0: [8086:10d3] type 00 class 0x020000\n"
        "pci 0000:02:01.0: BAR 0 [mem 0x90000000-0x9000ffff]\n";
    bs_import *im = bs_import_new();
    bs_error e = {0};
    bs_topo *t = NULL;
    CHECK_EQ(bs_import_add(im, text, strlen(text), "loop.log", BS_IMPORT_DMESG,
                           &e), BS_OK);
    CHECK_EQ(bs_import_build(im, &t, &e), BS_OK);
    int notes = 0;
    for (int i = 0; i < bs_import_note_count(im); i++)
        notes += strstr(bs_import_note(im, i), "bus ranges contradict") != NULL;
    CHECK_EQ(notes, 1);
    if (t) {
        CHECK_EQ(bs_topo_node_count(t), 5); /* host + 3 bridges + nic */
        /* The loop is cut once: one of the two bridges sits under the host
         * bridge and the other below it. */
        int a = node(t, "pci-0000:01:00.0"), b = node(t, "pci-0000:02:00.0");
        bs_node_info na, nb;
        CHECK(a > 0 && b > 0);
        if (a > 0 && b > 0) {
            bs_topo_node_info(t, a, &na);
            bs_topo_node_info(t, b, &nb);
            CHECK((na.parent == 0 && nb.parent == a) ||
                  (nb.parent == 0 && na.parent == b));
        }
        bs_topo_free(t);
    }
    bs_import_free(im);
}

int main(void)
{
    test_contradicting_ranges();
    test_same_boot_every_wrapping();
    test_old_kernel_forms();
    test_no_iov_numbering();
    test_sriov();
    test_errors();
    test_wrapped_and_encoded();
    test_detect();
    test_e820_note();
    TEST_DONE("test_import_dmesg");
}
