/*
 * Topology -> QEMU q35 command line.  The point of exporting is comparing
 * barspace with a real machine, so the exporter only accepts topologies
 * whose every BAR, window and device QEMU will present exactly as written:
 * a device is one of a few QEMU models whose BAR layout is known (facts
 * measured on QEMU 7.2, docs/peer.md), and anything QEMU cannot reproduce
 * (firmware-fixed addresses, SR-IOV, resizable BARs, odd window layouts) is
 * refused with the topology line at fault rather than approximated.
 */
#include "core/internal.h"
#include "core/writer.h"
#include "barspace/qemu.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KIB (UINT64_C(1) << 10)

enum model {
    M_NONE = 0,
    M_HOST,      /* q35 MCH, 00.0 */
    M_LPC,       /* ICH9 LPC, 1f.0 */
    M_AHCI,      /* ICH9 AHCI, 1f.2 */
    M_SMBUS,     /* ICH9 SMBus, 1f.3 */
    M_VGA,       /* std VGA */
    M_E1000E,
    M_NVME,
    M_IVSHMEM,   /* ivshmem-plain */
    M_ROOTPORT,  /* pcie-root-port */
    M_UPSTREAM,  /* x3130-upstream */
    M_DOWNSTREAM, /* xio3130-downstream */
    M_PCIEPCI,   /* pcie-pci-bridge: PCIe to conventional PCI */
    M_PCIBRIDGE, /* pci-bridge: conventional PCI to PCI */
    M_E1000,
    M_RTL8139,
    M_VIRTIO_NET, /* virtio-net-pci (transitional when it has an I/O BAR) */
    M_VIRTIO_GPU, /* virtio-gpu-pci (modern only) */
    M_BOCHS,     /* bochs-display */
    M_QXL,       /* qxl-vga */
    M_MEGASAS,
    M_LSI,       /* lsi53c895a */
    M_XHCI       /* qemu-xhci */
};

/* What a model is, beyond its BARs. */
enum {
    MF_BRIDGE = 1u << 0,  /* type 1 header */
    MF_PORT = 1u << 1,    /* PCIe port: its link carries one device (slot 0) */
    MF_CONV = 1u << 2,    /* its secondary bus is conventional PCI (SHPC: no slot 0) */
    MF_VGA = 1u << 3,     /* claims the legacy VGA ranges: one per machine */
    MF_ROMFILE = 1u << 4  /* has an option ROM unless romfile= is empty */
};

static const struct {
    const char *word;
    int model;
    const char *qdev;
    unsigned mf;
} models[] = {
    {"q35-host", M_HOST, NULL, 0},       {"host", M_HOST, NULL, 0},
    {"lpc", M_LPC, NULL, 0},             {"ahci", M_AHCI, NULL, 0},
    {"smbus", M_SMBUS, NULL, 0},
    {"vga", M_VGA, "VGA", MF_VGA | MF_ROMFILE},
    {"e1000e", M_E1000E, "e1000e", MF_ROMFILE},
    {"nvme", M_NVME, "nvme", 0},
    {"ivshmem", M_IVSHMEM, "ivshmem-plain", 0},
    {"ivshmem-plain", M_IVSHMEM, "ivshmem-plain", 0},
    {"root-port", M_ROOTPORT, "pcie-root-port", MF_BRIDGE | MF_PORT},
    {"pcie-root-port", M_ROOTPORT, "pcie-root-port", MF_BRIDGE | MF_PORT},
    {"switch-upstream", M_UPSTREAM, "x3130-upstream", MF_BRIDGE},
    {"switch-up", M_UPSTREAM, "x3130-upstream", MF_BRIDGE},
    {"x3130-upstream", M_UPSTREAM, "x3130-upstream", MF_BRIDGE},
    {"switch-downstream", M_DOWNSTREAM, "xio3130-downstream", MF_BRIDGE | MF_PORT},
    {"switch-down", M_DOWNSTREAM, "xio3130-downstream", MF_BRIDGE | MF_PORT},
    {"xio3130-downstream", M_DOWNSTREAM, "xio3130-downstream", MF_BRIDGE | MF_PORT},
    {"pcie-pci-bridge", M_PCIEPCI, "pcie-pci-bridge", MF_BRIDGE | MF_CONV},
    {"pci-bridge", M_PCIBRIDGE, "pci-bridge", MF_BRIDGE | MF_CONV},
    {"e1000", M_E1000, "e1000", MF_ROMFILE},
    {"rtl8139", M_RTL8139, "rtl8139", MF_ROMFILE},
    {"virtio-net", M_VIRTIO_NET, "virtio-net-pci", MF_ROMFILE},
    {"virtio-net-pci", M_VIRTIO_NET, "virtio-net-pci", MF_ROMFILE},
    {"virtio-gpu", M_VIRTIO_GPU, "virtio-gpu-pci", 0},
    {"virtio-gpu-pci", M_VIRTIO_GPU, "virtio-gpu-pci", 0},
    {"bochs-display", M_BOCHS, "bochs-display", MF_ROMFILE},
    {"qxl-vga", M_QXL, "qxl-vga", MF_VGA | MF_ROMFILE},
    {"megasas", M_MEGASAS, "megasas", 0},
    {"lsi53c895a", M_LSI, "lsi53c895a", 0},
    {"qemu-xhci", M_XHCI, "qemu-xhci", 0},
};

#define NMODELS (sizeof models / sizeof models[0])

static unsigned model_flags(int m)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (models[i].model == m)
            return models[i].mf;
    return 0;
}

static const char *model_qdev(int m)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (models[i].model == m)
            return models[i].qdev;
    return NULL;
}

/* Fixed q35 built-ins: slot.fn on the root bus. */
static bool builtin_addr(int m, int *slot, int *fn)
{
    switch (m) {
    case M_HOST: *slot = 0; *fn = 0; return true;
    case M_LPC: *slot = 0x1f; *fn = 0; return true;
    case M_AHCI: *slot = 0x1f; *fn = 2; return true;
    case M_SMBUS: *slot = 0x1f; *fn = 3; return true;
    }
    return false;
}

static int model_of(const bs_topo *t, int id)
{
    const struct bs_node *n = &t->nodes[id];
    if (n->model[0]) {
        for (size_t i = 0; i < NMODELS; i++)
            if (!strcmp(models[i].word, n->model))
                return models[i].model;
        return -1;
    }
    /* Without a model, a bridge's kind follows from where it sits; a
     * device's from its BAR shape (checked later against the model). */
    if (n->kind == BS_NODE_BRIDGE) {
        if (n->parent == 0)
            return M_ROOTPORT;
        int pm = model_of(t, n->parent);
        return pm == M_UPSTREAM ? M_DOWNSTREAM : M_UPSTREAM;
    }
    const struct bs_res *b2 = &n->res[BS_SLOT_BAR0 + 2];
    const struct bs_res *b0 = &n->res[BS_SLOT_BAR0];
    if (b0->size == 256 && !(b0->flags & BS_RF_MEM64))
        return M_IVSHMEM;
    if ((b0->flags & BS_RF_MEM64) && b0->size == 16 * KIB)
        return M_NVME;
    (void)b2;
    return M_NONE;
}

/* One expected BAR of a model. */
struct xbar {
    int slot;
    unsigned flags; /* BS_RF_IO / MEM64 / PREF */
    uint64_t size;  /* 0: any power of two within [min, max] */
    uint64_t min, max;
    bool optional;
};

static int expected_bars(int m, struct xbar *x)
{
    int n = 0;
#define XB(s, f, sz, mi, ma, opt) x[n++] = (struct xbar){s, f, sz, mi, ma, opt}
    switch (m) {
    case M_AHCI:
        XB(4, BS_RF_IO, 32, 0, 0, false);
        XB(5, 0, 4 * KIB, 0, 0, false);
        break;
    case M_SMBUS:
        XB(4, BS_RF_IO, 64, 0, 0, false);
        break;
    case M_VGA:
        XB(0, BS_RF_PREF, 0, BS_MIB, 256 * BS_MIB, false);
        XB(2, 0, 4 * KIB, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 64 * KIB, 0, 0, true);
        break;
    case M_E1000E:
        XB(0, 0, 128 * KIB, 0, 0, false);
        XB(1, 0, 128 * KIB, 0, 0, false);
        XB(2, BS_RF_IO, 32, 0, 0, false);
        XB(3, 0, 16 * KIB, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 256 * KIB, 0, 0, true);
        break;
    case M_NVME:
        XB(0, BS_RF_MEM64, 16 * KIB, 0, 0, false);
        XB(2, BS_RF_MEM64 | BS_RF_PREF, 0, BS_MIB, UINT64_C(1) << 40, true);
        break;
    case M_IVSHMEM:
        XB(0, 0, 256, 0, 0, false);
        XB(2, BS_RF_MEM64 | BS_RF_PREF, 0, 4 * KIB, UINT64_C(1) << 46, false);
        break;
    case M_ROOTPORT:
        XB(0, 0, 4 * KIB, 0, 0, false);
        break;
    case M_PCIEPCI:
    case M_PCIBRIDGE: /* the SHPC's registers */
        XB(0, BS_RF_MEM64, 256, 0, 0, false);
        break;
    case M_E1000:
        XB(0, 0, 128 * KIB, 0, 0, false);
        XB(1, BS_RF_IO, 64, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 256 * KIB, 0, 0, true);
        break;
    case M_RTL8139:
        XB(0, BS_RF_IO, 256, 0, 0, false);
        XB(1, 0, 256, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 256 * KIB, 0, 0, true);
        break;
    case M_VIRTIO_NET: /* legacy I/O BAR only when transitional */
        XB(0, BS_RF_IO, 32, 0, 0, true);
        XB(1, 0, 4 * KIB, 0, 0, false);
        XB(4, BS_RF_MEM64 | BS_RF_PREF, 16 * KIB, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 256 * KIB, 0, 0, true);
        break;
    case M_VIRTIO_GPU:
        XB(1, 0, 4 * KIB, 0, 0, false);
        XB(4, BS_RF_MEM64 | BS_RF_PREF, 16 * KIB, 0, 0, false);
        break;
    case M_BOCHS:
        XB(0, BS_RF_PREF, 0, 4 * BS_MIB, 256 * BS_MIB, false);
        XB(2, 0, 4 * KIB, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 32 * KIB, 0, 0, true);
        break;
    case M_QXL: /* ram_size_mb and vram_size_mb at their defaults */
        XB(0, 0, 64 * BS_MIB, 0, 0, false);
        XB(1, 0, 64 * BS_MIB, 0, 0, false);
        XB(2, 0, 8 * KIB, 0, 0, false);
        XB(3, BS_RF_IO, 32, 0, 0, false);
        XB(BS_SLOT_ROM, 0, 64 * KIB, 0, 0, true);
        break;
    case M_MEGASAS:
        XB(0, BS_RF_MEM64, 16 * KIB, 0, 0, false);
        XB(2, BS_RF_IO, 256, 0, 0, false);
        XB(3, BS_RF_MEM64, 256 * KIB, 0, 0, false);
        break;
    case M_LSI:
        XB(0, BS_RF_IO, 256, 0, 0, false);
        XB(1, 0, 1 * KIB, 0, 0, false);
        XB(2, 0, 8 * KIB, 0, 0, false);
        break;
    case M_XHCI:
        XB(0, BS_RF_MEM64, 16 * KIB, 0, 0, false);
        break;
    }
#undef XB
    return n;
}

static const char *kind_word(unsigned f)
{
    if (f & BS_RF_IO)
        return "io";
    if (f & BS_RF_MEM64)
        return f & BS_RF_PREF ? "mem64 pref" : "mem64";
    return f & BS_RF_PREF ? "mem32 pref" : "mem32";
}

static const char *model_name(int m)
{
    for (size_t i = 0; i < NMODELS; i++)
        if (models[i].model == m)
            return models[i].word;
    return "?";
}

/* The layout of the model's BARs, for error messages. */
static void describe_model(int m, char *buf, size_t cap)
{
    struct xbar x[8];
    int n = expected_bars(m, x);
    size_t o = 0;
    if (!n)
        snprintf(buf, cap, "no BARs");
    for (int i = 0; i < n && o < cap; i++) {
        char a[16], b[16];
        int w;
        if (x[i].slot == BS_SLOT_ROM)
            w = snprintf(buf + o, cap - o, "%srom %s%s", i ? "; " : "",
                         bs_fmt_size(x[i].size, a, sizeof a),
                         x[i].optional ? " (optional)" : "");
        else if (x[i].size)
            w = snprintf(buf + o, cap - o, "%sbar %d %s %s", i ? "; " : "",
                         x[i].slot, kind_word(x[i].flags),
                         bs_fmt_size(x[i].size, a, sizeof a));
        else
            w = snprintf(buf + o, cap - o, "%sbar %d %s %s..%s%s",
                         i ? "; " : "", x[i].slot, kind_word(x[i].flags),
                         bs_fmt_size(x[i].min, a, sizeof a),
                         bs_fmt_size(x[i].max, b, sizeof b),
                         x[i].optional ? " (optional)" : "");
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static int node_line(const bs_topo *t, int id)
{
    return id > 0 ? t->nodes[id].line : 0;
}

/* Check a node's resources against its model exactly. */
static int check_bars(const bs_topo *t, int id, int m, const char *file,
                      bs_error *err)
{
    const struct bs_node *n = &t->nodes[id];
    struct xbar x[8];
    int nx = expected_bars(m, x);
    char lay[256];
    describe_model(m, lay, sizeof lay);
    for (int s = 0; s <= BS_SLOT_ROM; s++) {
        const struct bs_res *r = &n->res[s];
        if (r->flags & BS_RF_UPPER)
            continue;
        const struct xbar *want = NULL;
        for (int i = 0; i < nx; i++)
            if (x[i].slot == s)
                want = &x[i];
        int line = r->line ? r->line : node_line(t, id);
        if (!r->size) {
            if (want && !want->optional) {
                bs_seterr(err, BS_EINVAL, file, node_line(t, id), 0,
                          "%s '%s': QEMU's %s has %s %s; describe it "
                          "(model layout: %s)",
                          n->kind == BS_NODE_BRIDGE ? "bridge" : "device",
                          n->name, model_name(m), bs_slot_name(s),
                          kind_word(want->flags), lay);
                return BS_EINVAL;
            }
            continue;
        }
        if (r->flags & BS_RF_FIXED) {
            bs_seterr(err, BS_EINVAL, file, line, 0,
                      "'%s' %s has fixed=: under QEMU the firmware chooses "
                      "every address, so a fixed address cannot be expressed",
                      n->name, bs_slot_name(s));
            return BS_EINVAL;
        }
        if (r->rebar) {
            bs_seterr(err, BS_EINVAL, file, line, 0,
                      "'%s' %s has rebar=: no QEMU 7.2 device model offers "
                      "a Resizable BAR capability", n->name, bs_slot_name(s));
            return BS_EINVAL;
        }
        unsigned kind = r->flags & (BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF);
        bool ok = want && (s == BS_SLOT_ROM || kind == want->flags);
        if (ok && want->size)
            ok = r->size == want->size;
        else if (ok)
            ok = r->size >= want->min && r->size <= want->max;
        if (!ok) {
            char a[16];
            bs_seterr(err, BS_EINVAL, file, line, 0,
                      "'%s' %s %s %s: QEMU's %s model cannot present this "
                      "(its layout: %s)", n->name, bs_slot_name(s),
                      s == BS_SLOT_ROM ? "" : kind_word(r->flags),
                      bs_fmt_size(r->size, a, sizeof a), model_name(m), lay);
            return BS_EINVAL;
        }
    }
    return BS_OK;
}

static int node_model(const bs_topo *t, int id, const char *file,
                      bs_error *err)
{
    const struct bs_node *n = &t->nodes[id];
    int m = model_of(t, id);
    if (m < 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': model=%s is not a QEMU model barspace exports "
                  "(q35-host, lpc, ahci, smbus, vga, e1000e, e1000, rtl8139, "
                  "nvme, ivshmem, virtio-net, virtio-gpu, bochs-display, "
                  "qxl-vga, megasas, lsi53c895a, qemu-xhci; bridges: "
                  "root-port, switch-upstream, switch-downstream, "
                  "pcie-pci-bridge, pci-bridge)", n->name, n->model);
        return BS_EINVAL;
    }
    if (m == M_NONE) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "device '%s' matches no QEMU model: give model= (nvme: "
                  "bar 0 mem64 16K [+ bar 2 mem64 SIZE pref]; ivshmem: bar 0 "
                  "mem32 256 + bar 2 mem64 SIZE pref; e1000e; vga)", n->name);
        return BS_EINVAL;
    }
    bool want_bridge = (model_flags(m) & MF_BRIDGE) != 0;
    if (want_bridge != (n->kind == BS_NODE_BRIDGE)) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': model=%s is a %s, declare it with '%s'", n->name,
                  n->model, want_bridge ? "bridge" : "device",
                  want_bridge ? "bridge" : "device");
        return BS_EINVAL;
    }
    return m;
}

int bs_qemu_node_addr(const bs_topo *t, int id, int *slot, int *fn,
                      const char *file, bs_error *err)
{
    if (id <= 0 || id >= t->nnodes)
        return BS_ENOENT;
    const struct bs_node *n = &t->nodes[id];
    int m = node_model(t, id, file, err);
    if (m < 0)
        return m;
    int bs, bf;
    if (builtin_addr(m, &bs, &bf)) {
        if (n->parent != 0 || (n->slot >= 0 && n->slot != bs) ||
            (n->fn >= 0 && n->fn != bf)) {
            bs_seterr(err, BS_EINVAL, file, n->line, 0,
                      "'%s': the q35 %s is built in at 00:%02x.%d on the "
                      "root bus", n->name, model_name(m), bs, bf);
            return BS_EINVAL;
        }
        *slot = bs;
        *fn = bf;
        return BS_OK;
    }
    *fn = n->fn > 0 ? n->fn : 0;
    int pm = n->parent == 0 ? M_NONE : model_of(t, n->parent);
    if (model_flags(pm) & MF_PORT) {
        /* A PCIe link has one device on it: slot 0, functions 0..7. */
        if (n->slot > 0) {
            bs_seterr(err, BS_EINVAL, file, n->line, 0,
                      "'%s': slot=%d below a PCIe port: the link below a "
                      "port has only device 0", n->name, n->slot);
            return BS_EINVAL;
        }
        *slot = 0;
        return BS_OK;
    }
    if (n->fn > 0 && n->slot < 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': fn=%d needs slot= (the functions of one "
                  "multi-function device share a slot)", n->name, n->fn);
        return BS_EINVAL;
    }
    if ((model_flags(pm) & MF_CONV) && n->slot == 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': slot=0 below QEMU's %s: its hot-plug controller "
                  "(SHPC) keeps slot 0 free; use slots 1-31", n->name,
                  model_qdev(pm));
        return BS_EINVAL;
    }
    if (n->slot >= 0) {
        *slot = n->slot;
        return BS_OK;
    }
    /* Children without a hint take the first free slot, in order; on the
     * root bus VGA and the NIC prefer QEMU's default slots 1 and 2, and
     * 0 and 0x1f belong to the MCH and ICH9. */
    bool used[32] = {false};
    if (n->parent == 0)
        used[0] = used[0x1f] = true;
    BS_FOR_CHILDREN(t, n->parent, c) {
        if (t->nodes[c].slot >= 0)
            used[t->nodes[c].slot] = true;
    }
    int s = 32;
    BS_FOR_CHILDREN(t, n->parent, c) {
        int cm = model_of(t, c), s2, f2;
        if (t->nodes[c].slot >= 0 || builtin_addr(cm, &s2, &f2))
            continue;
        int low = (model_flags(pm) & MF_CONV) ? 1 : 0;
        int pref = n->parent != 0 ? low : cm == M_VGA ? 1 : cm == M_E1000E ? 2 : 3;
        s = used[pref] ? (n->parent ? low : 3) : pref;
        while (s < 32 && used[s])
            s++;
        if (s < 32)
            used[s] = true;
        if (c == id)
            break;
    }
    if (s >= 32) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': no free slot left on its bus (32 slots)", n->name);
        return BS_EINVAL;
    }
    *slot = s;
    return BS_OK;
}

const char *bs_qemu_device_type(const bs_topo *t, int node)
{
    if (node <= 0 || node >= t->nnodes)
        return NULL;
    int m = model_of(t, node);
    return m > 0 ? model_qdev(m) : NULL;
}

/* ------------------------------------------------------------ output */

/* The library's text writer (core/writer.c), by a short name. */
#define put rw_printf

static const char *qsize(uint64_t v, char *b, size_t cap)
{
    /* QEMU size syntax: K, M, G, T suffixes. */
    static const char u[] = "KMGT";
    int k = -1;
    while (v && !(v & 1023) && k < 3) {
        v >>= 10;
        k++;
    }
    if (k < 0)
        snprintf(b, cap, "%" PRIu64, v);
    else
        snprintf(b, cap, "%" PRIu64 "%c", v, u[k]);
    return b;
}

#define Q35_MMCONFIG UINT64_C(0xb0000000)
/* QEMU (7.1+) keeps guest addresses of an AMD vCPU -- qemu64 and, under
 * TCG, max are AMD -- out of the HyperTransport range below 1 TiB: when the
 * 64-bit hole would reach 0xfd00000000 it starts at 1 TiB instead of 4G. */
#define AMD_HT_START UINT64_C(0xfd00000000)
#define AMD_ABOVE_1T (UINT64_C(1) << 40)
/* QEMU's default physical address width under TCG. */
#define QEMU_PHYS_BITS 40
#define Q35_HOLE_LO UINT64_C(0xc0000000)
#define Q35_HOLE_HI UINT64_C(0xfebfffff)

/* The host windows must be q35's for a RAM size: [RAM, 0xafffffff],
 * [0xc0000000, 0xfebfffff], [4G, 4G + hole64) and I/O inside 0xd00-0xffff. */
uint64_t bs_qemu_hole64_base(uint64_t size)
{
    return BS_4G + size - 1 >= AMD_HT_START ? AMD_ABOVE_1T : BS_4G;
}

/* Physical address bits the guest needs to reach the end of the 64-bit
 * window (QEMU refuses to start otherwise: "phys-bits too low"). */
static int phys_bits(uint64_t hole64)
{
    uint64_t last = bs_qemu_hole64_base(hole64) + hole64 - 1;
    int bits = 1;
    while (bits < 64 && (last >> bits))
        bits++;
    return bits;
}

static int check_windows(const bs_topo *t, const char *file, uint64_t *ram,
                         uint64_t *hole64, bs_error *err)
{
    *ram = 0;
    *hole64 = 0;
    bool hi32 = false;
    int firstline = t->nwin ? t->win[0].line : 0;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        uint64_t last = bs_last(w->base, w->size);
        if (w->flags & BS_RF_IO) {
            if (w->base < 0xd00 || last > 0xffff) {
                bs_seterr(err, BS_EINVAL, file, w->line, 0,
                          "q35's I/O windows are 0x0-0xcf7 and 0xd00-0xffff "
                          "(Linux allocates from 0x1000): use e.g. window io "
                          "0x1000-0xffff");
                return BS_EINVAL;
            }
            continue;
        }
        if (w->flags & BS_RF_PREF) {
            bs_seterr(err, BS_EINVAL, file, w->line, 0,
                      "q35 has no prefetchable-only host window");
            return BS_EINVAL;
        }
        if (w->base == Q35_HOLE_LO && last == Q35_HOLE_HI) {
            hi32 = true;
        } else if (last == Q35_MMCONFIG - 1 && w->base < Q35_MMCONFIG) {
            if (w->base < 128 * BS_MIB || (w->base & (BS_MIB - 1))) {
                bs_seterr(err, BS_EINVAL, file, w->line, 0,
                          "the window below MMCONFIG starts where RAM ends: "
                          "it must start at a whole MiB of at least 128M "
                          "(the guest needs the RAM)");
                return BS_EINVAL;
            }
            *ram = w->base;
        } else if (w->base == BS_4G || w->base == AMD_ABOVE_1T) {
            if (w->base != bs_qemu_hole64_base(w->size)) {
                char a[16];
                bs_seterr(err, BS_EINVAL, file, w->line, 0,
                          "QEMU puts a %s 64-bit window at 0x%" PRIx64
                          " (it moves the hole to 1 TiB when it would reach "
                          "the HyperTransport range at 0xfd00000000)",
                          bs_fmt_size(w->size, a, sizeof a),
                          bs_qemu_hole64_base(w->size));
                return BS_EINVAL;
            }
            if (w->size & (BS_GIB - 1)) {
                bs_seterr(err, BS_EINVAL, file, w->line, 0,
                          "QEMU sizes the 64-bit window (pci-hole64-size) "
                          "in whole GiB");
                return BS_EINVAL;
            }
            *hole64 = w->size;
        } else {
            bs_seterr(err, BS_EINVAL, file, w->line, 0,
                      "q35 cannot have this window: its memory windows are "
                      "[RAM size, 0xafffffff], 0xc0000000-0xfebfffff and "
                      "0x100000000 + pci-hole64-size (at 1 TiB when that "
                      "would reach 0xfd00000000)");
            return BS_EINVAL;
        }
    }
    if (!*ram || !hi32 || !*hole64) {
        bs_seterr(err, BS_EINVAL, file, firstline, 0,
                  "q35 always has %s: list it so the topology matches the "
                  "machine",
                  !*ram ? "a window from the end of RAM to 0xafffffff (e.g. "
                          "window mem 0x10000000-0xafffffff for 256M)"
                  : !hi32 ? "the window mem 0xc0000000-0xfebfffff"
                          : "a 64-bit window at 0x100000000 (e.g. window mem "
                            "0x100000000-0x8ffffffff)");
        return BS_EINVAL;
    }
    return BS_OK;
}

/* Does another function share this node's slot on its bus? */
static bool multifunction(const bs_topo *t, int id)
{
    int s, f;
    if (bs_qemu_node_addr(t, id, &s, &f, NULL, NULL))
        return false;
    BS_FOR_CHILDREN(t, t->nodes[id].parent, c) {
        int s2, f2;
        if (c != id && !bs_qemu_node_addr(t, c, &s2, &f2, NULL, NULL) &&
            s2 == s)
            return true;
    }
    return false;
}

/* SR-IOV: QEMU 7.2's nvme offers it (sriov_max_vfs, behind an NVMe
 * subsystem); each VF has one 64-bit BAR of 16K.  The topology's vfs= is
 * TotalVFs, which is what Linux sizes the VF BAR region for. */
#define NVME_MAX_VFS 32

static int check_vfs(const bs_topo *t, int id, int m, const char *file,
                     bs_error *err)
{
    const struct bs_node *n = &t->nodes[id];
    bool any = n->num_vfs != 0;
    for (int k = BS_SLOT_VF0; k < BS_SLOT_VF0 + 6; k++)
        any = any || n->res[k].size;
    if (!any)
        return BS_OK;
    if (m != M_NVME) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': vfs=%u: of the exported QEMU models only nvme has "
                  "SR-IOV", n->name, n->num_vfs);
        return BS_EINVAL;
    }
    const struct bs_res *v = &n->res[BS_SLOT_VF0];
    bool ok = n->num_vfs >= 1 && n->num_vfs <= NVME_MAX_VFS &&
              v->size && v->align == 16 * KIB &&
              (v->flags & (BS_RF_MEM64 | BS_RF_PREF)) == BS_RF_MEM64;
    for (int k = BS_SLOT_VF0 + 1; k < BS_SLOT_VF0 + 6; k++)
        ok = ok && (!n->res[k].size || (n->res[k].flags & BS_RF_UPPER));
    if (!ok) {
        bs_seterr(err, BS_EINVAL, file, v->line ? v->line : n->line, 0,
                  "'%s': QEMU's nvme has SR-IOV as vfs=1..%d with exactly "
                  "'vfbar 0 mem64 16K' (one 16K BAR per VF)", n->name,
                  NVME_MAX_VFS);
        return BS_EINVAL;
    }
    if (n->res[BS_SLOT_BAR0 + 2].size) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': QEMU's nvme cannot have a controller memory buffer "
                  "(bar 2) and SR-IOV together", n->name);
        return BS_EINVAL;
    }
    if (multifunction(t, id)) {
        /* Seen with seed 1 of barspace generate: the other functions of
         * the slot went missing in the guest. */
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': an SR-IOV nvme brings an ARI capability, and Linux "
                  "then finds a slot's other functions only through the ARI "
                  "next-function chain, which QEMU's other models do not "
                  "have: give it a slot of its own", n->name);
        return BS_EINVAL;
    }
    return BS_OK;
}

/* Where a model may sit, by the model of its parent (M_NONE: root bus). */
static const char *placement_error(int m, int pm)
{
    unsigned f = model_flags(m), pf = model_flags(pm);
    if (m == M_UPSTREAM && pm != M_ROOTPORT && pm != M_DOWNSTREAM)
        return "a switch's upstream port sits below a root port or a "
               "downstream port";
    if (m == M_DOWNSTREAM && pm != M_UPSTREAM)
        return "a downstream port sits below a switch's upstream port";
    if (pm == M_UPSTREAM && m != M_DOWNSTREAM)
        return "below a switch's upstream port only downstream ports "
               "(bridges) can sit";
    if (m == M_ROOTPORT && pm != M_NONE)
        return "a root port sits on the root bus";
    if (m == M_PCIEPCI && pm != M_NONE && !(pf & MF_PORT))
        return "a pcie-pci-bridge sits on the root bus or below a PCIe port";
    if (m == M_PCIBRIDGE && !(pf & MF_CONV))
        return "a pci-bridge sits on a conventional PCI bus (below a "
               "pcie-pci-bridge or another pci-bridge)";
    if ((pf & MF_CONV) && (f & MF_PORT))
        return "PCIe ports cannot sit on a conventional PCI bus";
    return NULL;
}

static int export_node(const bs_topo *t, int id, struct rw *o,
                       const char *file, unsigned *chassis, bs_error *err)
{
    const struct bs_node *n = &t->nodes[id];
    int m = node_model(t, id, file, err);
    if (m < 0)
        return m;
    int rc = check_bars(t, id, m, file, err);
    if (!rc)
        rc = check_vfs(t, id, m, file, err);
    if (rc)
        return rc;
    int pm = n->parent == 0 ? M_NONE : model_of(t, n->parent);
    const char *why = placement_error(m, pm);
    if (why) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0, "'%s': %s", n->name, why);
        return BS_EINVAL;
    }
    if ((model_flags(pm) & MF_PORT) && t->nodes[n->parent].first_child != id &&
        n->fn <= 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': port '%s' already has a device: a PCIe link "
                  "carries one device (use a switch for more, or fn= for "
                  "the functions of one multi-function device)",
                  n->name, t->nodes[n->parent].name);
        return BS_EINVAL;
    }
    if ((m == M_UPSTREAM || (model_flags(m) & MF_CONV)) &&
        (n->flags & BS_NF_HOTPLUG)) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': %s", n->name, m == M_UPSTREAM
                  ? "a switch's upstream port has no slot to hot-plug into "
                    "(put 'hotplug' on its downstream ports)"
                  : "SHPC hot-plug of a conventional bridge is not exported "
                    "(Linux sees no hot-plug bridge there)");
        return BS_EINVAL;
    }
    if (n->kind == BS_NODE_BRIDGE && m != M_ROOTPORT &&
        (n->reserve[0] || n->reserve[1] || n->reserve[2])) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': io=/mem=/pref= reserves are a pcie-root-port "
                  "property in QEMU; %s has none", n->name, model_qdev(m));
        return BS_EINVAL;
    }
    if (n->flags & BS_NF_PREF32) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': QEMU's bridges have 64-bit prefetchable windows; "
                  "pref32 cannot be expressed", n->name);
        return BS_EINVAL;
    }
    int slot, fn;
    if ((rc = bs_qemu_node_addr(t, id, &slot, &fn, file, err)))
        return rc;
    const char *qdev = model_qdev(m);
    if (!qdev)
        return BS_OK; /* q35 built-in: always there */
    char bus[32];
    if (n->parent == 0)
        snprintf(bus, sizeof bus, "pcie.0");
    else
        snprintf(bus, sizeof bus, "n%d", n->parent);
    char a[32];
    if (m == M_IVSHMEM)
        put(o, "-object\nmemory-backend-ram,id=mem%d,size=%s,reserve=off\n", id,
            qsize(n->res[BS_SLOT_BAR0 + 2].size, a, sizeof a));
    if (n->num_vfs)
        put(o, "-device\nnvme-subsys,id=ss%d\n", id);
    put(o, "-device\n%s,id=n%d,bus=%s,addr=0x%x", qdev, id, bus, slot);
    if (multifunction(t, id))
        put(o, ".%d,multifunction=on", fn);
    switch (m) {
    case M_VGA:
        put(o, ",vgamem_mb=%" PRIu64, n->res[BS_SLOT_BAR0].size >> 20);
        break;
    case M_BOCHS:
        put(o, ",vgamem=%s", qsize(n->res[BS_SLOT_BAR0].size, a, sizeof a));
        break;
    case M_VIRTIO_NET:
        put(o, ",disable-legacy=%s,disable-modern=off",
            n->res[BS_SLOT_BAR0].size ? "off" : "on");
        break;
    case M_NVME:
        put(o, ",serial=n%d", id);
        if (n->res[BS_SLOT_BAR0 + 2].size)
            put(o, ",cmb_size_mb=%" PRIu64,
                n->res[BS_SLOT_BAR0 + 2].size >> 20);
        if (n->num_vfs)
            put(o, ",subsys=ss%d,sriov_max_vfs=%u,sriov_vq_flexible=%u,"
                   "sriov_vi_flexible=%u", id, n->num_vfs, 2 * n->num_vfs,
                n->num_vfs);
        break;
    case M_IVSHMEM:
        put(o, ",memdev=mem%d", id);
        break;
    case M_PCIBRIDGE:
        put(o, ",chassis_nr=%u", (*chassis)++);
        break;
    case M_ROOTPORT:
    case M_DOWNSTREAM:
        put(o, ",chassis=%u,slot=%d,hotplug=%s", (*chassis)++,
            m == M_ROOTPORT ? 0 : slot,
            (n->flags & BS_NF_HOTPLUG) ? "on" : "off");
        if (n->reserve[0])
            put(o, ",io-reserve=%s", qsize(n->reserve[0], a, sizeof a));
        if (n->reserve[1])
            put(o, ",mem-reserve=%s", qsize(n->reserve[1], a, sizeof a));
        if (n->reserve[2])
            put(o, ",pref64-reserve=%s", qsize(n->reserve[2], a, sizeof a));
        break;
    }
    if ((model_flags(m) & MF_ROMFILE) && !n->res[BS_SLOT_ROM].size)
        put(o, ",romfile=");
    put(o, "\n");
    return BS_OK;
}

/* Display devices: one that claims the legacy VGA ranges at most, and
 * QEMU wants a qxl-vga to be the first display on its command line. */
static int check_displays(const bs_topo *t, const char *file, bs_error *err)
{
    int vga = 0, displays = 0;
    for (int id = 1; id < t->nnodes; id++) {
        int m = model_of(t, id);
        bool disp = m == M_VGA || m == M_QXL || m == M_BOCHS ||
                    m == M_VIRTIO_GPU;
        if (m == M_QXL && displays) {
            bs_seterr(err, BS_EINVAL, file, t->nodes[id].line, 0,
                      "'%s': QEMU makes a qxl-vga console 0: put it before "
                      "every other display device", t->nodes[id].name);
            return BS_EINVAL;
        }
        if ((model_flags(m) & MF_VGA) && vga++) {
            bs_seterr(err, BS_EINVAL, file, t->nodes[id].line, 0,
                      "'%s': a second VGA device (vga, qxl-vga): only one "
                      "can claim the legacy VGA ranges", t->nodes[id].name);
            return BS_EINVAL;
        }
        displays += disp;
    }
    return BS_OK;
}

int bs_qemu_args(const bs_topo *t, const char *file, char *buf, size_t cap,
                 size_t *need, bs_error *err)
{
    struct rw o;
    rw_init(&o, buf, cap);
    uint64_t ram, hole64;
    int rc = check_windows(t, file, &ram, &hole64, err);
    if (rc)
        return rc;
    static const int builtins[] = {M_HOST, M_LPC, M_AHCI, M_SMBUS};
    for (size_t b = 0; b < sizeof builtins / sizeof builtins[0]; b++) {
        bool found = false;
        for (int i = 1; i < t->nnodes && !found; i++)
            found = model_of(t, i) == builtins[b];
        if (!found) {
            int s = 0, f = 0;
            builtin_addr(builtins[b], &s, &f);
            bs_seterr(err, BS_EINVAL, file, 0, 0,
                      "q35 always has its %s at 00:%02x.%d: add 'device NAME "
                      "model=%s { ... }' (layout in docs/peer.md) so its "
                      "config reads and BARs are compared too",
                      model_name(builtins[b]), s, f, model_name(builtins[b]));
            return BS_EINVAL;
        }
    }
    if ((rc = check_displays(t, file, err)))
        return rc;
    char a[32];
    put(&o, "-machine\nq35\n-m\n%s\n-nodefaults\n-global\n"
            "q35-pcihost.pci-hole64-size=%s\n",
        qsize(ram, a, sizeof a), qsize(hole64, a + 16, 16));
    if (phys_bits(hole64) > QEMU_PHYS_BITS)
        put(&o, "-cpu\nmax,phys-bits=%d\n", phys_bits(hole64));
    /* Two nodes at one address would make QEMU fail obscurely; say which. */
    unsigned chassis = 1;
    for (int id = 1; id < t->nnodes; id++) {
        if ((rc = export_node(t, id, &o, file, &chassis, err)))
            return rc;
        int s1, f1;
        bs_qemu_node_addr(t, id, &s1, &f1, file, err);
        for (int j = 1; j < id; j++) {
            int s2, f2;
            if (t->nodes[j].parent != t->nodes[id].parent)
                continue;
            bs_qemu_node_addr(t, j, &s2, &f2, file, err);
            if (s1 == s2 && f1 == f2) {
                bs_seterr(err, BS_EINVAL, file, t->nodes[id].line, 0,
                          "'%s' and '%s' (line %d) are both at slot %d "
                          "fn %d of one bus", t->nodes[id].name,
                          t->nodes[j].name, t->nodes[j].line, s1, f1);
                return BS_EINVAL;
            }
        }
    }
    if (need)
        *need = o.len;
    return BS_OK;
}
