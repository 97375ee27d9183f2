/*
 * The real peer, offline: QEMU trace and guest-report parsing, the q35
 * exporter, replay against the emulation and the comparison with the linux
 * policy, on small excerpts captured from real boots (tests/data/peer/,
 * QEMU 7.2 + SeaBIOS 1.16.2 / qboot + Debian Linux 6.1.0-56-cloud-amd64).
 */
#include "test.h"
#include "barspace/barspace.h"
#include "barspace/cfgspace.h"
#include "barspace/qemu.h"

#include <stdlib.h>

static bs_topo *parse(const char *text)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    if (bs_topo_parse(text, strlen(text), "t.topo", &t, &e) != BS_OK) {
        fprintf(stderr, "parse: %s:%d: %s\n", e.file, e.line, e.msg);
        return NULL;
    }
    return t;
}

static const char *const q35_head =
    "window io 0x1000-0xffff\n"
    "window mem 0x10000000-0xafffffff\n"
    "window mem 0xc0000000-0xfebfffff\n"
    "window mem 0x100000000-0x8ffffffff\n"
    "device mch model=q35-host {\n}\n";
static const char *const q35_tail =
    "device lpc model=lpc {\n}\n"
    "device sata model=ahci {\n  bar 4 io 32\n  bar 5 mem32 4K\n}\n"
    "device smb model=smbus {\n  bar 4 io 64\n}\n";

/* Export a topology made of the q35 frame plus `mid`. */
static int export(const char *mid, char *out, size_t cap, bs_error *e)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s%s", q35_head, mid, q35_tail);
    bs_topo *t = parse(text);
    if (!t)
        return -100;
    size_t need = 0;
    int rc = bs_qemu_args(t, "t.topo", out, cap, &need, e);
    bs_topo_free(t);
    return rc;
}

static void test_width(void)
{
    CHECK_EQ(bs_cfg_access_width(0x04, 0x103, 0), 2);      /* command */
    CHECK_EQ(bs_cfg_access_width(0x04, 0x100507, 0), 4);   /* + status */
    CHECK_EQ(bs_cfg_access_width(0x00, 0x8086, 0), 2);
    CHECK_EQ(bs_cfg_access_width(0x00, 0x29c08086, 0), 4);
    CHECK_EQ(bs_cfg_access_width(0x10, 0, 0), 4);          /* BAR */
    CHECK_EQ(bs_cfg_access_width(0x0e, 0x80, 0), 1);       /* header */
    CHECK_EQ(bs_cfg_access_width(0x19, 0xff, 1), 1);       /* sec bus */
    CHECK_EQ(bs_cfg_access_width(0x18, 0x10100, 1), 4);    /* all buses */
    CHECK_EQ(bs_cfg_access_width(0x20, 0xfe80, 1), 2);     /* mem base */
    CHECK_EQ(bs_cfg_access_width(0x56, 0x142, 0), 2);      /* cap, 2-aligned */
    CHECK_EQ(bs_cfg_access_width(0x41, 0x1234, 0), 1);     /* odd: a byte */
    CHECK_EQ(bs_cfg_reg_class(0x30, 0), BS_REG_ROM);
    CHECK_EQ(bs_cfg_reg_class(0x38, 1), BS_REG_ROM);
    CHECK_EQ(bs_cfg_reg_class(0x18, 0), BS_REG_BAR);
    CHECK_EQ(bs_cfg_reg_class(0x18, 1), BS_REG_OTHER);
    CHECK_EQ(bs_cfg_reg_class(0x2c, 1), BS_REG_WINDOW);
    CHECK_EQ(bs_cfg_reg_class(0x05, 0), BS_REG_COMMAND);
    char b[96];
    bs_cfg_reg_describe(0x24, 2, 1, b, sizeof b);
    CHECK(strstr(b, "prefetchable base") != NULL);
    bs_cfg_reg_describe(0x1c, 4, 0, b, sizeof b);
    CHECK(strstr(b, "BAR3") != NULL);
}

static void test_trace_parse(void)
{
    const char *txt =
        "qemu-system-x86_64: warning: nic n3 has no peer\n"
        "pci_cfg_read pcie-root-port 00:03.0 @0xe -> 0x1\n"
        "pci_cfg_write pcie-root-port 00:03.0 @0x19 <- 0xff\n"
        "123@1700000000.000001:pci_cfg_read nvme 01:00.0 @0x10 -> 0xfffffc04\n"
        "pci_update_mappings_add e1000e 00:02.0 0,0xfea40000+0x20000\n"
        "pci_update_mappings_del VGA 00:01.0 6,0xfea80000+0x10000\n";
    bs_qtrace *q = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_qtrace_parse(txt, strlen(txt), "x.log", &q, &e), BS_OK);
    if (!q)
        return;
    CHECK_EQ(bs_qtrace_count(q), 5);
    CHECK_EQ(bs_qtrace_other_lines(q), 1);
    bs_qev ev;
    bs_qtrace_get(q, 1, &ev);
    CHECK_EQ(ev.kind, BS_QEV_WRITE);
    CHECK_EQ(ev.bridge, 1); /* learnt from the header-type read */
    CHECK_EQ(ev.width, 1);
    CHECK_EQ(ev.line, 3);
    bs_qtrace_get(q, 2, &ev);
    CHECK_STR(ev.dev, "nvme");
    CHECK_EQ(ev.bus, 1);
    CHECK_EQ(ev.val, 0xfffffc04u);
    CHECK_EQ(ev.width, 4);
    bs_qtrace_get(q, 3, &ev);
    CHECK_EQ(ev.kind, BS_QEV_MAP_ADD);
    CHECK_EQ(ev.bar, 0);
    CHECK_EQ(ev.addr, 0xfea40000u);
    CHECK_EQ(ev.size, 0x20000u);
    bs_qtrace_get(q, 4, &ev);
    CHECK_EQ(ev.kind, BS_QEV_MAP_DEL);
    CHECK_EQ(ev.bar, 6);
    CHECK_EQ(bs_qtrace_get(q, 5, &ev), BS_ENOENT);
    bs_qtrace_free(q);

    /* A byte walk (OVMF dumps config space that way): every read is 1. */
    const char *walk = "pci_cfg_read ahci 00:1f.2 @0x1e -> 0x0\n"
                       "pci_cfg_read ahci 00:1f.2 @0x1f -> 0x0\n"
                       "pci_cfg_read ahci 00:1f.2 @0x20 -> 0x41\n"
                       "pci_cfg_read ahci 00:1f.2 @0x20 -> 0x6241\n";
    CHECK_EQ(bs_qtrace_parse(walk, strlen(walk), "w.log", &q, &e), BS_OK);
    if (q) {
        bs_qtrace_get(q, 0, &ev);
        CHECK_EQ(ev.width, 1);
        bs_qtrace_get(q, 2, &ev);
        CHECK_EQ(ev.width, 1); /* end of the walk, not a BAR dword */
        bs_qtrace_get(q, 3, &ev);
        CHECK_EQ(ev.width, 4); /* the next read is a BAR read again */
        bs_qtrace_free(q);
    }

    /* Bridge-window probes: SeaBIOS writes a byte to the prefetchable base
     * and reads a byte back; Linux writes 0xe0f0 as a word to the I/O base
     * and limit and restores 0 with a word.  Widths follow the pairs. */
    const char *probe =
        "pci_cfg_read pcie-root-port 00:03.0 @0xe -> 0x81\n"
        "pci_cfg_write pcie-root-port 00:03.0 @0x24 <- 0xff\n"
        "pci_cfg_read pcie-root-port 00:03.0 @0x24 -> 0xf1\n"
        "pci_cfg_read pcie-root-port 00:03.0 @0x24 -> 0x1fff1\n"
        "pci_cfg_write pcie-root-port 00:03.0 @0x1c <- 0xe0f0\n"
        "pci_cfg_read pcie-root-port 00:03.0 @0x1c -> 0xe0f0\n"
        "pci_cfg_write pcie-root-port 00:03.0 @0x1c <- 0x0\n";
    CHECK_EQ(bs_qtrace_parse(probe, strlen(probe), "p.log", &q, &e), BS_OK);
    if (q) {
        static const unsigned want[] = {1, 1, 1, 4, 2, 2, 2};
        for (int i = 0; i < 7; i++) {
            bs_qtrace_get(q, i, &ev);
            CHECK_EQ(ev.width, want[i]);
        }
        bs_qtrace_free(q);
    }

    const char *bad = "pci_cfg_read nvme 01:00.0 @0x10 -> 0x4\n"
                      "pci_cfg_read nvme 01:00.0 @0x10 => 0x4\n";
    q = NULL;
    CHECK_EQ(bs_qtrace_parse(bad, strlen(bad), "bad.log", &q, &e), BS_EPARSE);
    CHECK(q == NULL);
    CHECK_EQ(e.line, 2);
    CHECK_STR(e.file, "bad.log");
    const char *bad2 = "pci_update_mappings_add x 00:01.0 7,0x0+0x10\n";
    CHECK_EQ(bs_qtrace_parse(bad2, strlen(bad2), "b2", &q, &e), BS_EPARSE);
    const char *bad3 = "pci_cfg_read x 00:20.0 @0x0 -> 0x1\n"; /* slot 32 */
    CHECK_EQ(bs_qtrace_parse(bad3, strlen(bad3), "b3", &q, &e), BS_EPARSE);
}

static void test_guest(void)
{
    bs_guest *g = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_guest_load("tests/data/peer/sb-base.out/console.log", &g, &e),
             BS_OK);
    if (!g)
        return;
    CHECK_EQ(bs_guest_dev_count(g), 8);
    CHECK_EQ(bs_guest_window_count(g), 6);
    bs_window_info w;
    bs_guest_window(g, 3, &w);
    CHECK_EQ(w.base, 0x10000000u);
    CHECK_EQ(w.size, 0xa0000000u);
    int slots[2] = {3, 0}, fns[2] = {0, 0};
    int nv = bs_guest_find_path(g, slots, fns, 2);
    CHECK(nv >= 0);
    bs_guest_dev d;
    bs_guest_dev_info(g, nv, &d);
    CHECK_EQ(d.vendor, 0x1b36);
    CHECK_EQ(d.device, 0x0010);
    CHECK_EQ(d.bus, 1);
    bs_guest_res r;
    CHECK_EQ(bs_guest_final(g, nv, BS_SLOT_BAR0 + 2, &r), BS_OK);
    CHECK_EQ(r.start, 0xf8000000u);
    CHECK_EQ(r.size, 64u << 20);
    CHECK_EQ(r.flags, BS_RF_MEM64 | BS_RF_PREF);
    CHECK_EQ(bs_guest_firmware(g, nv, BS_SLOT_BAR0, &r), BS_OK);
    CHECK_EQ(r.start, 0xfe800000u);
    int rp = bs_guest_find_path(g, slots, fns, 1);
    /* SeaBIOS left the root port's I/O window closed; Linux opened it. */
    CHECK_EQ(bs_guest_firmware(g, rp, BS_SLOT_WIN_IO, &r), BS_ENOENT);
    CHECK_EQ(bs_guest_final(g, rp, BS_SLOT_WIN_IO, &r), BS_OK);
    CHECK_EQ(r.start, 0x1000);
    CHECK_EQ(r.size, 0x1000);
    /* The VGA ROM is the shadow copy at 0xc0000: not an assigned BAR. */
    int vga_s[1] = {1}, vga_f[1] = {0};
    int vga = bs_guest_find_path(g, vga_s, vga_f, 1);
    CHECK_EQ(bs_guest_final(g, vga, BS_SLOT_ROM, &r), BS_OK);
    CHECK_EQ(r.assigned, 0);
    CHECK_EQ(bs_guest_failure_count(g), 0);
    bs_guest_free(g);

    const char *cut = "@@PEER dmesg\n[ 1.0] pci 0000:00:01.0: BAR 0 [mem "
                      "0xfc000000-0xfcffffff pref]\n@@PEER sysfs\n";
    CHECK_EQ(bs_guest_parse(cut, strlen(cut), "cut", &g, &e), BS_EPARSE);
    CHECK(strstr(e.msg, "@@PEER end") != NULL);
    const char *junk = "@@PEER dmesg\n@@PEER sysfs\ndev 0000:00:01.0 0x1234\n"
                       "@@PEER end\n";
    CHECK_EQ(bs_guest_parse(junk, strlen(junk), "junk", &g, &e), BS_EPARSE);
    CHECK_EQ(e.line, 3);
    const char *fail = "@@PEER dmesg\n[ 2.1] pci 0000:00:03.0: BAR 0 [mem "
                       "size 0x1000]: can't assign; no space\n@@PEER sysfs\n"
                       "@@PEER end\n";
    CHECK_EQ(bs_guest_parse(fail, strlen(fail), "f", &g, &e), BS_OK);
    if (g) {
        CHECK_EQ(bs_guest_failure_count(g), 1);
        bs_guest_free(g);
    }
}

static void test_export(void)
{
    char out[4096];
    bs_error e = {0};
    CHECK_EQ(export("bridge rp1 hotplug mem=64M pref=1G model=root-port {\n"
                    "  bar 0 mem32 4K\n"
                    "  device s model=ivshmem {\n    bar 0 mem32 256\n"
                    "    bar 2 mem64 16G pref\n  }\n}\n",
                    out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "-m\n256M\n") != NULL);
    CHECK(strstr(out, "q35-pcihost.pci-hole64-size=32G\n") != NULL);
    CHECK(strstr(out, "pcie-root-port,id=n2,bus=pcie.0,addr=0x3,chassis=1,"
                      "slot=0,hotplug=on,mem-reserve=64M,pref64-reserve=1G\n")
          != NULL);
    CHECK(strstr(out, "memory-backend-ram,id=mem3,size=16G,reserve=off\n")
          != NULL);
    CHECK(strstr(out, "ivshmem-plain,id=n3,bus=n2,addr=0x0,memdev=mem3\n")
          != NULL);
    /* VGA and the NIC take QEMU's default slots; no ROM = romfile="". */
    CHECK_EQ(export("device v model=vga {\n  bar 0 mem32 32M pref\n"
                    "  bar 2 mem32 4K\n}\n"
                    "device n model=e1000e {\n  bar 0 mem32 128K\n"
                    "  bar 1 mem32 128K\n  bar 2 io 32\n  bar 3 mem32 16K\n"
                    "  rom 256K\n}\n", out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "VGA,id=n2,bus=pcie.0,addr=0x1,vgamem_mb=32,romfile=\n")
          != NULL);
    CHECK(strstr(out, "e1000e,id=n3,bus=pcie.0,addr=0x2\n") != NULL);

    /* Refusals name the line (the frame has 6 lines before `mid`). */
    CHECK_EQ(export("device d model=nvme {\n  bar 0 mem64 16K fixed=0xfe000000\n"
                    "}\n", out, sizeof out, &e), BS_EINVAL);
    CHECK_EQ(e.line, 8);
    CHECK(strstr(e.msg, "fixed") != NULL);
    CHECK_EQ(export("device d model=gpu {\n  bar 0 mem32 16M\n}\n", out,
                    sizeof out, &e), BS_EINVAL);
    CHECK_EQ(e.line, 7);
    CHECK_EQ(export("device d model=nvme {\n  bar 0 mem64 16K\n"
                    "  bar 2 mem32 64M\n}\n", out, sizeof out, &e), BS_EINVAL);
    CHECK_EQ(e.line, 9);
    CHECK(strstr(e.msg, "layout") != NULL);
    CHECK_EQ(export("device d model=nvme vfs=4 {\n  bar 0 mem64 16K\n"
                    "  vfbar 0 mem64 64K\n}\n", out, sizeof out, &e),
             BS_EINVAL); /* QEMU's VF BAR is 16K */
    CHECK(strstr(e.msg, "vfbar 0 mem64 16K") != NULL);
    CHECK_EQ(export("bridge r model=root-port {\n  bar 0 mem32 4K\n"
                    "  device a model=nvme {\n    bar 0 mem64 16K\n  }\n"
                    "  device b model=nvme {\n    bar 0 mem64 16K\n  }\n}\n",
                    out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "one device") != NULL);
    CHECK_EQ(export("bridge r model=root-port {\n}\n", out, sizeof out, &e),
             BS_EINVAL); /* root port without its 4K BAR0 */

    /* A window q35 does not have, and a missing built-in. */
    const char *w = "window mem 0x20000000-0x3fffffff\n";
    bs_topo *t = parse(w);
    if (t) {
        size_t need;
        CHECK_EQ(bs_qemu_args(t, "w.topo", out, sizeof out, &need, &e),
                 BS_EINVAL);
        CHECK_EQ(e.line, 1);
        bs_topo_free(t);
    }
    char text[1024];
    snprintf(text, sizeof text, "%s", q35_head);
    t = parse(text);
    if (t) {
        size_t need;
        CHECK_EQ(bs_qemu_args(t, "w.topo", out, sizeof out, &need, &e),
                 BS_EINVAL);
        CHECK(strstr(e.msg, "lpc") != NULL);
        bs_topo_free(t);
    }
}

/* The models beyond the first ten, multi-function slots, SR-IOV and the
 * address width, as QEMU 7.2 takes them (docs/peer.md). */
static void test_export_models(void)
{
    char out[4096];
    bs_error e = {0};
    /* SR-IOV: an NVMe subsystem, TotalVFs, two flexible queues per VF. */
    CHECK_EQ(export("device d model=nvme vfs=4 {\n  bar 0 mem64 16K\n"
                    "  vfbar 0 mem64 16K\n}\n", out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "-device\nnvme-subsys,id=ss2\n-device\nnvme,id=n2,"
                      "bus=pcie.0,addr=0x3,serial=n2,subsys=ss2,"
                      "sriov_max_vfs=4,sriov_vq_flexible=8,"
                      "sriov_vi_flexible=4\n") != NULL);
    CHECK_EQ(export("device d model=nvme vfs=4 {\n  bar 0 mem64 16K\n"
                    "  bar 2 mem64 64M pref\n  vfbar 0 mem64 16K\n}\n",
                    out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "controller memory buffer") != NULL);
    CHECK_EQ(export("device d model=rtl8139 vfs=2 {\n  bar 0 io 256\n"
                    "  bar 1 mem32 256\n  vfbar 0 mem64 16K\n}\n", out,
                    sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "only nvme") != NULL);
    CHECK_EQ(export("bridge r model=root-port {\n  bar 0 mem32 4K\n"
                    "  device a fn=0 model=nvme vfs=2 {\n    bar 0 mem64 16K\n"
                    "    vfbar 0 mem64 16K\n  }\n"
                    "  device b fn=1 model=qemu-xhci {\n    bar 0 mem64 16K\n  }\n}\n",
                    out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "ARI") != NULL);

    /* Multi-function: root ports as functions of slot 2. */
    CHECK_EQ(export("bridge a slot=2 fn=0 model=root-port {\n  bar 0 mem32 4K\n}\n"
                    "bridge b slot=2 fn=1 model=root-port {\n  bar 0 mem32 4K\n}\n",
                    out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "bus=pcie.0,addr=0x2.0,multifunction=on,chassis=1") != NULL);
    CHECK(strstr(out, "bus=pcie.0,addr=0x2.1,multifunction=on,chassis=2") != NULL);
    CHECK_EQ(export("device a fn=1 model=qemu-xhci {\n  bar 0 mem64 16K\n}\n",
                    out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "needs slot=") != NULL);
    /* Two functions on one PCIe link. */
    CHECK_EQ(export("bridge r model=root-port {\n  bar 0 mem32 4K\n"
                    "  device a fn=0 model=qemu-xhci {\n    bar 0 mem64 16K\n  }\n"
                    "  device b fn=1 model=megasas {\n    bar 0 mem64 16K\n"
                    "    bar 2 io 256\n    bar 3 mem64 256K\n  }\n}\n",
                    out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "megasas,id=n4,bus=n2,addr=0x0.1,multifunction=on\n") != NULL);

    /* Conventional PCI below pcie-pci-bridge, and pci-bridge below that;
     * the SHPC keeps slot 0. */
    CHECK_EQ(export("bridge p model=pcie-pci-bridge {\n  bar 0 mem64 256\n"
                    "  device n model=e1000 {\n    bar 0 mem32 128K\n"
                    "    bar 1 io 64\n  }\n"
                    "  bridge q model=pci-bridge {\n    bar 0 mem64 256\n"
                    "    device s model=lsi53c895a {\n      bar 0 io 256\n"
                    "      bar 1 mem32 1K\n      bar 2 mem32 8K\n    }\n  }\n}\n",
                    out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "pcie-pci-bridge,id=n2,bus=pcie.0,addr=0x3\n") != NULL);
    CHECK(strstr(out, "e1000,id=n3,bus=n2,addr=0x1,romfile=\n") != NULL);
    CHECK(strstr(out, "pci-bridge,id=n4,bus=n2,addr=0x2,chassis_nr=1\n") != NULL);
    CHECK(strstr(out, "lsi53c895a,id=n5,bus=n4,addr=0x1\n") != NULL);
    CHECK_EQ(export("bridge p model=pcie-pci-bridge {\n  bar 0 mem64 256\n"
                    "  device n slot=0 model=rtl8139 {\n    bar 0 io 256\n"
                    "    bar 1 mem32 256\n  }\n}\n", out, sizeof out, &e),
             BS_EINVAL);
    CHECK(strstr(e.msg, "SHPC") != NULL);
    CHECK_EQ(export("bridge q model=pci-bridge {\n  bar 0 mem64 256\n}\n",
                    out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "conventional") != NULL);
    CHECK_EQ(export("bridge p model=pcie-pci-bridge {\n  bar 0 mem64 256\n"
                    "  bridge r model=root-port {\n    bar 0 mem32 4K\n  }\n}\n",
                    out, sizeof out, &e), BS_EINVAL);

    /* virtio: transitional with its I/O BAR, modern without. */
    CHECK_EQ(export("device v model=virtio-net {\n  bar 0 io 32\n"
                    "  bar 1 mem32 4K\n  bar 4 mem64 16K pref\n}\n"
                    "device w model=virtio-net {\n  bar 1 mem32 4K\n"
                    "  bar 4 mem64 16K pref\n  rom 256K\n}\n",
                    out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "id=n2,bus=pcie.0,addr=0x3,disable-legacy=off,"
                      "disable-modern=off,romfile=\n") != NULL);
    CHECK(strstr(out, "id=n3,bus=pcie.0,addr=0x4,disable-legacy=on,"
                      "disable-modern=off\n") != NULL);

    /* Displays: qxl-vga must come first, one VGA at most. */
    const char *qxl = "device q model=qxl-vga {\n  bar 0 mem32 64M\n"
                      "  bar 1 mem32 64M\n  bar 2 mem32 8K\n  bar 3 io 32\n}\n";
    const char *bochs = "device b model=bochs-display {\n  bar 0 mem32 16M pref\n"
                        "  bar 2 mem32 4K\n}\n";
    char mid[1024];
    snprintf(mid, sizeof mid, "%s%s", qxl, bochs);
    CHECK_EQ(export(mid, out, sizeof out, &e), BS_OK);
    CHECK(strstr(out, "bochs-display,id=n3,bus=pcie.0,addr=0x4,vgamem=16M,"
                      "romfile=\n") != NULL);
    snprintf(mid, sizeof mid, "%s%s", bochs, qxl);
    CHECK_EQ(export(mid, out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "console 0") != NULL);
    snprintf(mid, sizeof mid, "%sdevice v model=vga {\n  bar 0 mem32 16M pref\n"
             "  bar 2 mem32 4K\n}\n", qxl);
    CHECK_EQ(export(mid, out, sizeof out, &e), BS_EINVAL);
    CHECK(strstr(e.msg, "second VGA") != NULL);

    /* The address width: a 4T window sits at 1 TiB and needs 43 bits. */
    char text[2048];
    const char *big = "window io 0x1000-0xffff\n"
                      "window mem 0x10000000-0xafffffff\n"
                      "window mem 0xc0000000-0xfebfffff\n"
                      "window mem 0x10000000000+4T\n"
                      "device mch model=q35-host\n";
    snprintf(text, sizeof text, "%s%s", big, q35_tail);
    bs_topo *t = parse(text);
    size_t need;
    if (t) {
        CHECK_EQ(bs_qemu_args(t, "t.topo", out, sizeof out, &need, &e), BS_OK);
        CHECK(strstr(out, "pci-hole64-size=4T\n-cpu\nmax,phys-bits=43\n") != NULL);
        bs_topo_free(t);
    }
    snprintf(text, sizeof text, "%s%s", q35_head, q35_tail);
    if ((t = parse(text))) { /* 32G at 4G: QEMU's default 40 bits do */
        CHECK_EQ(bs_qemu_args(t, "t.topo", out, sizeof out, &need, &e), BS_OK);
        CHECK(strstr(out, "-cpu") == NULL);
        bs_topo_free(t);
    }
    snprintf(text, sizeof text, "window io 0x1000-0xffff\n"
             "window mem 0x10000000-0xafffffff\n"
             "window mem 0xc0000000-0xfebfffff\n"
             "window mem 0x100000000+4T\n%s", q35_tail);
    if ((t = parse(text))) { /* QEMU would move it to 1 TiB */
        CHECK_EQ(bs_qemu_args(t, "t.topo", out, sizeof out, &need, &e), BS_EINVAL);
        CHECK_EQ(e.line, 4);
        CHECK(strstr(e.msg, "0x10000000000") != NULL);
        bs_topo_free(t);
    }
    CHECK_EQ(bs_qemu_hole64_base(UINT64_C(1008) << 30), UINT64_C(1) << 32);
    CHECK_EQ(bs_qemu_hole64_base(UINT64_C(1009) << 30), UINT64_C(1) << 40);
}

static bs_topo *load(const char *path)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    if (bs_topo_load(path, &t, &e) != BS_OK)
        fprintf(stderr, "load %s: %s\n", path, e.msg);
    return t;
}

static void test_replay(void)
{
    bs_topo *t = load("tests/data/peer/sb-base.topo");
    bs_qtrace *q = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_qtrace_load("tests/data/peer/sb-base.trace", &q, &e), BS_OK);
    if (!t || !q) {
        bs_topo_free(t);
        bs_qtrace_free(q);
        return;
    }
    bs_replay_result r;
    bs_replay_dev *d = calloc((size_t)bs_topo_node_count(t), sizeof *d);
    CHECK_EQ(bs_peer_replay(t, q, BS_HOST_EAGER, "t", &r, d, &e), BS_OK);
    CHECK_EQ(r.unrouted, 0);
    CHECK(r.cls_reads[BS_REG_BAR] > 100);
    CHECK_EQ(r.cls_agree[BS_REG_BAR], r.cls_reads[BS_REG_BAR]);
    CHECK_EQ(r.cls_agree[BS_REG_ROM], r.cls_reads[BS_REG_ROM]);
    CHECK_EQ(r.cls_agree[BS_REG_COMMAND], r.cls_reads[BS_REG_COMMAND]);
    /* Eager is QEMU's policy: the same add/del, device by device. */
    CHECK(r.qemu_add > 10);
    CHECK_EQ(r.maps, r.qemu_add);
    CHECK_EQ(r.unmaps, r.qemu_del);
    CHECK_EQ(r.devices_counts_agree, r.devices);
    int nvme = bs_topo_find(t, "nvme0");
    CHECK(nvme > 0 && d[nvme].qemu_add > 0 && d[nvme].maps == d[nvme].qemu_add);
    bs_topo_free(t);

    /* Deferred keeps mappings across decode-off: fewer calls. */
    t = load("tests/data/peer/sb-base.topo");
    bs_replay_result r2;
    CHECK_EQ(bs_peer_replay(t, q, BS_HOST_DEFERRED, "t", &r2, NULL, &e), BS_OK);
    CHECK(r2.maps < r.maps);
    CHECK(r2.unmaps < r.unmaps);
    CHECK_EQ(r2.reads_agree, r.reads_agree);
    free(d);
    bs_topo_free(t);
    bs_qtrace_free(q);
}

/* Compare a captured guest report with the linux policy on its topology:
 * rows agreeing and differing (-1 when the comparison did not run). */
static void compare_counts(const char *tp, const char *cp, int *agree,
                           int *differ)
{
    bs_topo *t = load(tp);
    bs_guest *g = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_guest_load(cp, &g, &e), BS_OK);
    bs_peer_cmp *c = NULL;
    if (t && g)
        CHECK_EQ(bs_peer_compare(t, g, "", tp, &c, &e), BS_OK);
    if (c) {
        *agree = *differ = 0;
        for (int i = 0; i < bs_peer_cmp_row_count(c); i++) {
            bs_peer_row r;
            bs_peer_cmp_row(c, i, &r);
            *agree += r.match > 0;
            *differ += r.match == 0;
        }
        bs_peer_cmp_free(c);
    }
    bs_guest_free(g);
    bs_topo_free(t);
}

static void test_compare(void)
{
    bs_assign_opts o;
    bs_peer_linux_opts("console=ttyS0 pci=realloc,hpmmiosize=64M "
                       "pci=hpmmioprefsize=0x40000000", &o);
    CHECK_EQ(o.realloc, 1);
    CHECK_EQ(o.hp_mmio, 64u << 20);
    CHECK_EQ(o.hp_mmio_pref, 1u << 30);
    bs_peer_linux_opts("pci=realloc=off pci=hpmemsize=8M", &o);
    CHECK_EQ(o.realloc, -1);
    CHECK_EQ(o.hp_mmio, 8u << 20);
    CHECK_EQ(o.hp_mmio_pref, 8u << 20);

    static const char *const names[] = {"none", "sb"};
    for (int k = 0; k < 2; k++) {
        char tp[128], cp[128];
        snprintf(tp, sizeof tp, "tests/data/peer/%s-base.topo", names[k]);
        snprintf(cp, sizeof cp, "tests/data/peer/%s-base.out/console.log",
                 names[k]);
        int agree = 0, differ = -1;
        compare_counts(tp, cp, &agree, &differ);
        CHECK(agree >= 16);
        CHECK_EQ(differ, 0);
    }

    /* barspace generate seed 45 under SeaBIOS: a 32-bit prefetchable BAR
     * in a bridge's prefetchable window (Linux claims it there), and
     * firmware bridge windows that a new I/O window must not overlap. */
    int agree = 0, differ = -1;
    compare_counts("tests/data/peer/sb-rand45.topo",
                   "tests/data/peer/sb-rand45.out/console.log", &agree, &differ);
    CHECK_EQ(agree, 45);
    CHECK_EQ(differ, 0);
}

/* The QEMU device type of each node, as bs_qemu_args exports it. */
static void test_device_type(void)
{
    bs_topo *t = NULL;
    CHECK_EQ(bs_topo_load("tests/data/peer/sb-base.topo", &t, NULL), BS_OK);
    if (!t)
        return;
    static const struct {
        const char *node, *type;
    } want[] = {{"mch", NULL},   {"vga", "VGA"},  {"nic", "e1000e"},
                {"rp1", "pcie-root-port"},        {"nvme0", "nvme"},
                {"lpc", NULL},   {"sata", NULL},  {"smb", NULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = bs_qemu_device_type(t, bs_topo_find(t, want[i].node));
        if (want[i].type)
            CHECK_STR(got, want[i].type);
        else
            CHECK(got == NULL);
    }
    CHECK(bs_qemu_device_type(t, 0) == NULL);
    CHECK(bs_qemu_device_type(t, -1) == NULL);
    CHECK(bs_qemu_device_type(t, bs_topo_node_count(t)) == NULL);
    bs_topo_free(t);
}

int main(void)
{
    test_width();
    test_trace_parse();
    test_guest();
    test_export();
    test_export_models();
    test_replay();
    test_compare();
    test_device_type();
    TEST_DONE("test_qemu_trace");
}
