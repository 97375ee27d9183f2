/*
 * Diagnosis: every failed resource is named and explained, and every remedy
 * offered, applied to the reconstructed topology, makes the assignment
 * succeed (hot-plug reserves included).  Real inputs (the QEMU peer's
 * failing boots, ../shared/realdata) and small hand-made machines.
 */
#include "barspace/diagnose.h"
#include "barspace/import.h"
#include "test.h"
#include "testlib.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PEER "tests/data/import/peer/"
#define REALDATA "../shared/realdata"

static int remedies_tested, remedies_ok, logs_with_remedy, logs_failing;

static bs_topo *from_texts(const char *dm, const char *ls)
{
    bs_import *im = bs_import_new();
    bs_error e = {0};
    bs_topo *t = NULL;
    int rc = bs_import_add(im, dm, strlen(dm), "t.log", BS_IMPORT_DMESG, &e);
    if (rc == BS_OK && ls)
        rc = bs_import_add(im, ls, strlen(ls), "t.lspci", BS_IMPORT_LSPCI, &e);
    if (rc == BS_OK)
        rc = bs_import_build(im, &t, &e);
    if (rc)
        fprintf(stderr, "import: %d: %s\n", e.line, e.msg);
    bs_import_free(im);
    return t;
}

/* Is remedy i the last of its chain (nothing comes after it)? */
static bool chain_end(const bs_diag *d, int i)
{
    for (int j = 0; j < bs_diag_remedy_count(d); j++) {
        bs_remedy r;
        bs_diag_remedy_get(d, j, &r);
        if (r.after == i)
            return false;
    }
    return true;
}

/* Diagnose t; check the failures are all named; verify every remedy. */
static bs_diag *verify(const bs_topo *t, int machine, const char *what)
{
    bs_diag *d = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_diagnose(t, machine, &d, &e), BS_OK);
    if (!d)
        return NULL;
    int kernel = 0;
    for (int n = 1; n < bs_topo_node_count(t); n++)
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info r;
            if (!bs_topo_res_info(t, n, s, &r) && (r.flags & BS_RF_FAILED))
                kernel++;
        }
    CHECK_EQ(bs_diag_failure_count(d), kernel);
    for (int i = 0; i < bs_diag_failure_count(d); i++) {
        bs_diag_failure f;
        CHECK_EQ(bs_diag_failure_get(d, i, &f), BS_OK);
        CHECK(f.text[0] != 0);
        CHECK(f.reason >= BS_DR_NO_WINDOW && f.reason <= BS_DR_ROOM_NOW);
        bs_res_info r;
        CHECK(!bs_topo_res_info(t, f.node, f.slot, &r) &&
              (r.flags & BS_RF_FAILED));
    }
    if (kernel)
        logs_failing++;
    if (bs_diag_remedy_count(d))
        logs_with_remedy++;
    for (int i = 0; i < bs_diag_remedy_count(d); i++) {
        bs_remedy r;
        bs_diag_remedy_get(d, i, &r);
        CHECK(r.text[0] != 0);
        if (!chain_end(d, i))
            continue;
        bs_topo *c = bs_topo_clone(t);
        bs_assign_opts o;
        CHECK_EQ(bs_diag_apply(d, i, c, &o), BS_OK);
        int rc = bs_assign(c, &o, NULL);
        remedies_tested++;
        bool ok = rc == BS_OK && bs_topo_failure_count(c) == 0;
        remedies_ok += ok;
        if (!ok)
            fprintf(stderr, "%s: remedy %d (%s) does not work: rc %d, %d "
                    "failure(s)\n", what, i, r.text, rc,
                    bs_topo_failure_count(c));
        CHECK(ok);
        bs_violation v[4];
        CHECK_EQ(bs_check(c, NULL, v, 4), 0);
        bs_topo_free(c);
    }
    return d;
}

static void verify_path(const char *path)
{
    const char *p[1] = {path};
    bs_topo *t = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_import_paths(p, 1, &t, &e), BS_OK);
    if (!t)
        return;
    bs_diag_free(verify(t, BS_DIAG_AUTO, path));
    bs_topo_free(t);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void corpus(void)
{
    DIR *d = opendir(PEER);
    CHECK(d != NULL);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        if (!ends_with(de->d_name, ".dmesg"))
            continue;
        snprintf(p, sizeof p, PEER "%s", de->d_name);
        verify_path(p);
    }
    if (d)
        closedir(d);
    verify_path("tests/data/import/k3-old-forms.log");
    char **files;
    int n = test_list_files(REALDATA, &files);
    if (!n)
        printf("note: %s not found; real-machine logs skipped\n", REALDATA);
    for (int i = 0; i < n; i++)
        verify_path(files[i]);
    test_files_free(files, n);
}

static bs_remedy find(const bs_diag *d, int kind)
{
    bs_remedy r;
    memset(&r, 0, sizeof r);
    for (int i = 0; d && i < bs_diag_remedy_count(d); i++) {
        bs_diag_remedy_get(d, i, &r);
        if (r.kind == kind)
            return r;
    }
    memset(&r, 0, sizeof r);
    return r;
}

/* A QEMU VM whose 64-bit window is too small for a 32G BAR. */
static const char vm_small64[] =
    "pci_bus 0000:00: root bus resource [io  0x0000-0xffff window]\n"
    "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xfebfffff window]\n"
    "pci_bus 0000:00: root bus resource [mem 0x800000000-0xbffffffff window]\n"
    "pci 0000:00:03.0: [1b36:000c] type 01 class 0x060400\n"
    "pci 0000:01:00.0: [1af4:1110] type 00 class 0x050000\n"
    "pci 0000:01:00.0: BAR 0 [mem 0x00000000-0x000000ff]\n"
    "pci 0000:01:00.0: BAR 2 [mem 0x00000000-0x7ffffffff 64bit pref]\n"
    "pci 0000:00:03.0: PCI bridge to [bus 01]\n"
    "pci 0000:00:03.0: bridge window [mem size 0x800000000 64bit pref]: can't assign; no space\n"
    "pci 0000:00:03.0: bridge window [mem size 0x800000000 64bit pref]: failed to assign\n"
    "pci 0000:01:00.0: BAR 2 [mem size 0x800000000 64bit pref]: can't assign; no space\n"
    "pci 0000:01:00.0: BAR 2 [mem size 0x800000000 64bit pref]: failed to assign\n"
    "pci 0000:00:03.0: bridge window [mem 0xc0000000-0xc00fffff]: assigned\n"
    "pci 0000:01:00.0: BAR 0 [mem 0xc0000000-0xc00000ff]: assigned\n";

static void test_vm_window64(void)
{
    bs_topo *t = from_texts(vm_small64, NULL);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_diag *d = verify(t, BS_DIAG_AUTO, "vm_small64");
    bs_diag_summary s;
    bs_diag_get_summary(d, &s);
    CHECK_EQ(s.vm, 1);
    CHECK_EQ(s.failures, 2);
    CHECK_EQ(s.linux_ok, 0);
    CHECK_EQ(s.pack_ok, 0); /* no policy fits 32G in 32G with others there */
    CHECK_EQ(s.move_plan, 0); /* nothing to move makes 32G appear */
    bs_diag_failure f;
    bs_diag_failure_get(d, 1, &f);
    CHECK_EQ(f.size, UINT64_C(32) << 30);
    CHECK_EQ(f.reason, BS_DR_PARENT_FAILED);
    bs_diag_failure_get(d, 0, &f); /* the bridge's pref window */
    CHECK_EQ(f.reason, BS_DR_TOO_SMALL);
    CHECK_EQ(f.win_size, UINT64_C(16) << 30);
    bs_remedy r = find(d, BS_REMEDY_WIN64);
    CHECK_EQ(r.kind, BS_REMEDY_WIN64);
    /* 32G at 0x800000000 holds the 32G BAR: the smallest power of two. */
    CHECK_EQ(r.value, UINT64_C(32) << 30);
    CHECK_EQ(r.base, UINT64_C(0x800000000));
    CHECK(strstr(r.text, "=32G") != NULL);
    CHECK(strstr(r.text, "string=32768") != NULL);
    CHECK(strstr(r.text, "q35-pcihost.pci-hole64-size=") != NULL);
    CHECK(strstr(r.text, "X-PciMmio64Mb,string=") != NULL);
    CHECK(find(d, BS_REMEDY_REALLOC).kind == 0); /* realloc cannot help */
    bs_diag_free(d);

    /* The same machine, worded for a real one. */
    d = verify(t, BS_DIAG_METAL, "metal");
    r = find(d, BS_REMEDY_WIN64);
    CHECK(strstr(r.text, "Above 4G Decoding") != NULL);
    bs_diag_free(d);
    bs_topo_free(t);
}

static void test_rebar(void)
{
    static const char dm[] =
        "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xdfffffff window]\n"
        "pci 0000:00:01.0: [8086:a110] type 01 class 0x060400\n"
        "pci 0000:01:00.0: [10de:1eb8] type 00 class 0x030000\n"
        "pci 0000:01:00.0: reg 0x10: [mem 0x00000000-0x00ffffff]\n"
        "pci 0000:01:00.0: reg 0x14: [mem 0x00000000-0x1ffffffff 64bit pref]\n"
        "pci 0000:00:01.0: PCI bridge to [bus 01]\n"
        "pci 0000:01:00.0: BAR 1: no space for [mem size 0x200000000 64bit pref]\n"
        "pci 0000:01:00.0: BAR 1: failed to assign [mem size 0x200000000 64bit pref]\n"
        "pci 0000:01:00.0: BAR 0: assigned [mem 0xc0000000-0xc0ffffff]\n"
        "pci 0000:00:01.0: PCI bridge to [bus 01]\n"
        "pci 0000:00:01.0:   bridge window [mem 0xc0000000-0xc0ffffff]\n";
    static const char ls[] =
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU104 [10de:1eb8]\n"
        "\tCapabilities: [bb0 v1] Physical Resizable BAR\n"
        "\t\tBAR 1: current size: 8GB, supported: 64MB 128MB 256MB 512MB 1GB 2GB 4GB 8GB\n";
    bs_topo *t = from_texts(dm, ls);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_diag *d = verify(t, BS_DIAG_METAL, "rebar");
    bs_remedy r = find(d, BS_REMEDY_REBAR);
    CHECK_EQ(r.kind, BS_REMEDY_REBAR);
    /* 512M window minus the 16M BAR0: 256M is the largest that fits. */
    CHECK_EQ(r.value, 256u << 20);
    CHECK(strstr(r.text, "resource1_resize") != NULL);
    CHECK(strstr(r.text, "0000:01:00.0") != NULL);
    bs_diag_failure f;
    bs_diag_failure_get(d, 0, &f);
    CHECK_EQ(f.size, UINT64_C(8) << 30);
    bs_diag_free(d);
    bs_topo_free(t);
}

static void test_fragmented_and_clean(void)
{
    /* A 32-bit window with 3M free in pieces; a 2M BAR does not fit. */
    static const char dm[] =
        "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xc03fffff window]\n"
        "pci 0000:00:02.0: [8086:10d3] type 00 class 0x020000\n"
        "pci 0000:00:02.0: reg 0x10: [mem 0xc0280000-0xc0280fff]\n"
        "pci 0000:00:03.0: [8086:10d3] type 00 class 0x020000\n"
        "pci 0000:00:03.0: reg 0x10: [mem 0xc0000000-0xc00fffff]\n"
        "pci 0000:00:04.0: [8086:10d3] type 00 class 0x020000\n"
        "pci 0000:00:04.0: reg 0x10: [mem 0x00000000-0x001fffff]\n"
        "pci 0000:00:04.0: BAR 0: no space for [mem size 0x00200000]\n"
        "pci 0000:00:04.0: BAR 0: failed to assign [mem size 0x00200000]\n";
    bs_topo *t = from_texts(dm, NULL);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_diag *d = verify(t, BS_DIAG_METAL, "fragmented");
    bs_diag_failure f;
    bs_diag_failure_get(d, 0, &f);
    CHECK_EQ(f.reason, BS_DR_FRAGMENTED);
    CHECK_EQ(f.win_free, (4u << 20) - (1u << 20) - 4096);
    CHECK_EQ(f.win_largest, 2u << 20 >> 1);
    CHECK(f.win_extents >= 2);
    bs_diag_summary s;
    bs_diag_get_summary(d, &s);
    CHECK_EQ(s.pack_ok, 1); /* laid out afresh, everything fits */
    /* Moving the 4K BAR out of the way makes the 2M hole. */
    CHECK_EQ(s.move_plan, 1);
    CHECK(s.move_devices >= 1);
    CHECK(find(d, BS_REMEDY_REALLOC).kind == BS_REMEDY_REALLOC);
    bs_diag_free(d);
    bs_topo_free(t);

    /* Nothing failed: nothing to remedy, and the layout is valid. */
    const char *p[1] = {PEER "none-base.dmesg"};
    bs_error e = {0};
    if (bs_import_paths(p, 1, &t, &e) == BS_OK) {
        d = verify(t, BS_DIAG_AUTO, "clean");
        bs_diag_get_summary(d, &s);
        CHECK_EQ(s.failures, 0);
        CHECK_EQ(s.violations, 0);
        CHECK_EQ(bs_diag_remedy_count(d), 0);
        CHECK_EQ(s.linux_ok, 1);
        CHECK_EQ(s.vm, 1);
        bs_diag_free(d);
        bs_topo_free(t);
    } else {
        CHECK(!"none-base.dmesg imports");
    }
}

int main(void)
{
    test_vm_window64();
    test_rebar();
    test_fragmented_and_clean();
    corpus();
    printf("diagnose: %d input(s) with failures, %d with a remedy; %d/%d "
           "remedies make the assignment succeed\n", logs_failing,
           logs_with_remedy, remedies_ok, remedies_tested);
    CHECK(remedies_tested > 0);
    TEST_DONE("test_diagnose");
}
