/*
 * lspci text and hex, sysfs (directory and ustar), /proc/iomem, and the
 * merge of several inputs of one machine.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "barspace/import.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA "tests/data/import/"
#define PEER DATA "peer/"

static bs_topo *load_n(const char *const *paths, int n, bs_error *e)
{
    bs_topo *t = NULL;
    memset(e, 0, sizeof *e);
    if (bs_import_paths(paths, n, &t, e) != BS_OK)
        return NULL;
    return t;
}

static bs_topo *load1(const char *path, bs_error *e)
{
    const char *p[1] = {path};
    return load_n(p, 1, e);
}

static bs_res_info res(const bs_topo *t, const char *name, int slot)
{
    bs_res_info r;
    memset(&r, 0, sizeof r);
    int n = bs_topo_find(t, name);
    if (n > 0)
        bs_topo_res_info(t, n, slot, &r);
    return r;
}

static void test_lspci_text(void)
{
    bs_error e;
    bs_topo *t = load1(DATA "lspci-vvvnn.txt", &e);
    CHECK(t != NULL);
    if (!t)
        return;
    bs_res_info r = res(t, "pci-0000:01:00.0", 1);
    CHECK_EQ(r.size, 256u << 20);
    CHECK_EQ(r.addr, UINT64_C(0x800000000));
    CHECK(r.flags & BS_RF_MEM64);
    CHECK(r.flags & BS_RF_PREF);
    /* Resizable BAR: 64M..8G supported = bits 6..13. */
    CHECK_EQ(r.rebar, UINT64_C(0xff) << 6);
    r = res(t, "pci-0000:00:02.0", 2);
    CHECK(r.flags & BS_RF_IO);
    CHECK_EQ(r.size, 32);
    r = res(t, "pci-0000:00:02.0", BS_SLOT_ROM);
    CHECK_EQ(r.size, 256u << 10);
    r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_PREF);
    CHECK_EQ(r.size, 256u << 20);
    r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_MEM);
    CHECK_EQ(r.addr, 0xfd000000u);
    CHECK(bs_topo_res_info(t, bs_topo_find(t, "pci-0000:00:1c.0"),
                           BS_SLOT_WIN_IO, &r) != BS_OK);
    bs_node_info ni;
    bs_topo_node_info(t, bs_topo_find(t, "pci-0000:00:1c.0"), &ni);
    CHECK(ni.flags & BS_NF_HOTPLUG);
    bs_topo_node_info(t, bs_topo_find(t, "pci-0000:01:00.0"), &ni);
    CHECK_EQ(ni.parent, bs_topo_find(t, "pci-0000:00:1c.0"));
    CHECK_STR(ni.model, "10de:1eb8");
    bs_topo_free(t);

    /* The same machine from the kernel log and from lspci: same BARs. */
    bs_topo *k = load1(DATA "k5-timestamps.log", &e);
    t = load1(DATA "lspci-vvvnn.txt", &e);
    CHECK(k && t);
    if (k && t) {
        static const char *const devs[] = {"pci-0000:00:02.0",
                                           "pci-0000:01:00.0",
                                           "pci-0000:00:1c.0"};
        for (int i = 0; i < 3; i++)
            for (int s = 0; s < 6; s++) {
                bs_res_info a = res(k, devs[i], s), b = res(t, devs[i], s);
                CHECK_EQ(a.size, b.size);
                CHECK_EQ(a.addr, b.addr);
            }
    }
    bs_topo_free(k);
    bs_topo_free(t);
}

static void test_lspci_hex(void)
{
    bs_error e;
    bs_import *im = bs_import_new();
    CHECK_EQ(bs_import_add_path(im, DATA "lspci-xxx.txt", BS_IMPORT_LSPCI, &e),
             BS_OK);
    bs_topo *t = NULL;
    CHECK_EQ(bs_import_build(im, &t, &e), BS_OK);
    if (t) {
        bs_res_info r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_PREF);
        CHECK_EQ(r.addr, UINT64_C(0x800000000));
        CHECK_EQ(r.size, 256u << 20);
        CHECK(r.flags & BS_RF_MEM64);
        r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_MEM);
        CHECK_EQ(r.size, 17u << 20);
        bs_node_info ni;
        bs_topo_node_info(t, bs_topo_find(t, "pci-0000:01:00.0"), &ni);
        CHECK_EQ(ni.parent, bs_topo_find(t, "pci-0000:00:1c.0"));
        /* BAR0 is in the dump but its size is not: left out, said so. */
        CHECK(res(t, "pci-0000:01:00.0", 0).size == 0);
        int said = 0;
        for (int i = 0; i < bs_import_note_count(im); i++)
            said += strstr(bs_import_note(im, i), "BAR0") != NULL;
        CHECK(said >= 1);
    }
    bs_topo_free(t);
    bs_import_free(im);

    const char *bad = "00:02.0 Ethernet controller: Intel\n00: 86 80 zz\n";
    im = bs_import_new();
    CHECK_EQ(bs_import_add(im, bad, strlen(bad), "bad.txt", BS_IMPORT_LSPCI, &e),
             BS_EPARSE);
    CHECK_EQ(e.line, 2);
    bs_import_free(im);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_sysfs_dir(void)
{
    char dir[] = "/tmp/bs-sysfs-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char p[512];
    /* A /sys/devices-style copy: the endpoint nested in its root port. */
    snprintf(p, sizeof p, "%s/0000:00:1c.0", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/0000:00:1c.0/resource", dir);
    write_file(p,
        "0x00000000febf0000 0x00000000febf0fff 0x0000000000040200\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x00000000fd000000 0x00000000fe0fffff 0x0000000000000200\n"
        "0x0000000800000000 0x000000080fffffff 0x0000000000102201\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0/resource", dir);
    write_file(p,
        "0x00000000fd000000 0x00000000fdffffff 0x0000000000040200\n"
        "0x0000000800000000 0x000000080fffffff 0x000000000014220c\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        "0x00000000fe000000 0x00000000fe07ffff 0x0000000000046200\n");
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0/vendor", dir);
    write_file(p, "0x10de\n");
    bs_error e;
    bs_topo *t = load1(dir, &e);
    CHECK(t != NULL);
    if (t) {
        int rp = bs_topo_find(t, "pci-0000:00:1c.0");
        int gpu = bs_topo_find(t, "pci-0000:01:00.0");
        bs_node_info ni;
        bs_topo_node_info(t, gpu, &ni);
        CHECK_EQ(ni.parent, rp);
        bs_res_info r = res(t, "pci-0000:01:00.0", 1);
        CHECK_EQ(r.size, 256u << 20);
        CHECK(r.flags & BS_RF_MEM64);
        r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_PREF);
        CHECK_EQ(r.addr, UINT64_C(0x800000000));
        r = res(t, "pci-0000:00:1c.0", BS_SLOT_WIN_MEM);
        CHECK_EQ(r.size, 17u << 20);
        bs_topo_free(t);
    }
    /* A resource file that is not one. */
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0/resource", dir);
    write_file(p, "0x00000000fd000000 oops\n");
    t = load1(dir, &e);
    CHECK(t == NULL);
    CHECK_EQ(e.code, BS_EPARSE);
    CHECK_EQ(e.line, 1);
    CHECK(strstr(e.file, "0000:01:00.0/resource") != NULL);
    unlink(p);
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0/vendor", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/0000:00:1c.0/0000:01:00.0", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/0000:00:1c.0/resource", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/0000:00:1c.0", dir);
    rmdir(p);
    /* An empty directory holds no PCI function. */
    t = load1(dir, &e);
    CHECK(t == NULL);
    CHECK_EQ(e.code, BS_EPARSE);
    rmdir(dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_sysfs_tar_and_merge(void)
{
    bs_error e;
    bs_topo *tar = load1(PEER "none-base.sysfs.tar", &e);
    bs_topo *dm = load1(PEER "none-base.dmesg", &e);
    bs_topo *io = load1(PEER "none-base.iomem", &e);
    const char *all[3] = {PEER "none-base.dmesg", PEER "none-base.iomem",
                          PEER "none-base.sysfs.tar"};
    bs_topo *m = load_n(all, 3, &e);
    CHECK(tar && dm && io && m);
    if (tar && dm && io && m) {
        /* Every BAR address the kernel log gives, sysfs gives too. */
        int same = 0, total = 0;
        for (int n = 1; n < bs_topo_node_count(dm); n++) {
            bs_node_info ni;
            bs_topo_node_info(dm, n, &ni);
            for (int s = 0; s < BS_NSLOTS; s++) {
                bs_res_info a, b, c;
                if (bs_topo_res_info(dm, n, s, &a) || !a.size ||
                    !(a.flags & BS_RF_ASSIGNED))
                    continue;
                total++;
                int tn = bs_topo_find(tar, ni.name);
                same += tn > 0 && !bs_topo_res_info(tar, tn, s, &b) &&
                        b.addr == a.addr && b.size == a.size;
                int mn = bs_topo_find(m, ni.name);
                CHECK(mn > 0 && !bs_topo_res_info(m, mn, s, &c) &&
                      c.addr == a.addr && c.size == a.size);
            }
        }
        CHECK(total > 5);
        CHECK_EQ(same, total);
        bs_violation v0[8];
        /* sysfs has no host bridge windows: they are derived from the
         * addresses seen, so that the machine checks and assigns; iomem
         * adds the real ones. */
        CHECK(bs_topo_window_count(tar) >= 1);
        CHECK_EQ(bs_check(tar, NULL, v0, 8), 0);
        CHECK(bs_topo_window_count(io) >= 2);
        bs_violation v[8];
        CHECK_EQ(bs_check(m, NULL, v, 8), 0);
        /* Merged: the same functions, no duplicated BARs from iomem. */
        CHECK_EQ(bs_topo_node_count(m), bs_topo_node_count(dm));
    }
    bs_topo_free(tar);
    bs_topo_free(dm);
    bs_topo_free(io);
    bs_topo_free(m);

    /* A damaged archive: the checksum catches it. */
    size_t len;
    char *b = slurp(PEER "none-base.sysfs.tar", &len);
    CHECK(b != NULL);
    if (b) {
        b[0] ^= 0x20;
        bs_import *im = bs_import_new();
        CHECK_EQ(bs_import_add(im, b, len, "x.tar", BS_IMPORT_SYSFS, &e),
                 BS_EPARSE);
        CHECK(strstr(e.msg, "checksum") != NULL);
        bs_import_free(im);
        b[0] ^= 0x20;
        im = bs_import_new();
        CHECK_EQ(bs_import_add(im, b, 1024 + 100, "x.tar", BS_IMPORT_SYSFS, &e),
                 BS_EPARSE);
        bs_import_free(im);
        free(b);
    }
}

static void test_iomem(void)
{
    bs_error e;
    const char *zero = "00000000-00000000 : PCI Bus 0000:00\n"
                       "  00000000-00000000 : 0000:00:02.0\n";
    bs_import *im = bs_import_new();
    CHECK_EQ(bs_import_add(im, zero, strlen(zero), "iomem", BS_IMPORT_IOMEM, &e),
             BS_EPARSE);
    CHECK(strstr(e.msg, "root") != NULL);
    const char *bad = "c0000000-febfffff : PCI Bus 0000:00\n"
                      "  c0000000 : 0000:00:02.0\n";
    CHECK_EQ(bs_import_add(im, bad, strlen(bad), "iomem", BS_IMPORT_IOMEM, &e),
             BS_EPARSE);
    CHECK_EQ(e.line, 2);
    const char *ok = "c0000000-febfffff : PCI Bus 0000:00\n"
                     "  c0000000-c01fffff : PCI Bus 0000:01\n"
                     "    c0000000-c0003fff : 0000:01:00.0\n"
                     "      c0000000-c0003fff : nvme\n"
                     "  c0200000-c020ffff : 0000:00:02.0\n"
                     "800000000-8ffffffff : PCI Bus 0000:00\n";
    CHECK_EQ(bs_import_add(im, ok, strlen(ok), "iomem", BS_IMPORT_IOMEM, &e),
             BS_OK);
    bs_topo *t = NULL;
    CHECK_EQ(bs_import_build(im, &t, &e), BS_OK);
    if (t) {
        CHECK_EQ(bs_topo_window_count(t), 2);
        /* Bus 01's bridge is not named: a placeholder holds its window. */
        int br = bs_topo_find(t, "bridge-to-0000:01");
        CHECK(br > 0);
        bs_node_info ni;
        bs_topo_node_info(t, bs_topo_find(t, "pci-0000:01:00.0"), &ni);
        CHECK_EQ(ni.parent, br);
        bs_violation v[4];
        CHECK_EQ(bs_check(t, NULL, v, 4), 0);
        bs_topo_free(t);
    }
    bs_import_free(im);
}

int main(void)
{
    test_lspci_text();
    test_lspci_hex();
    test_sysfs_dir();
    test_sysfs_tar_and_merge();
    test_iomem();
    TEST_DONE("test_import_formats");
}
