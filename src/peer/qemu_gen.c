/*
 * Seeded random q35 machines for the real peer.  A hand-written suite finds
 * what its author thought of; this one draws trees of root ports, switches
 * (up to three deep), PCIe-to-PCI bridges and multi-function slots, devices
 * of every exported model with sizes from bytes to 128G, ROMs, CMBs and
 * SR-IOV, hot-plug on and off, firmware reserves, RAM sizes, 64-bit windows
 * from too small to roomy, kernel options and a firmware.
 *
 * The topology is built through the library (so the canonical writer
 * prints it), then printed, parsed back and exported: a draw that does not
 * parse or that QEMU cannot express is redrawn from the next sub-seed, so
 * every topology the generator returns is one qemu-args accepts.  The same
 * seed and options give the same bytes on every platform: the only source
 * of randomness is a splitmix64 stream seeded from them.
 */
#include "core/internal.h"
#include "barspace/qemu.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB (UINT64_C(1) << 10)

void bs_gen_opts_init(bs_gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_devices = 8;
    o->firmware = BS_GEN_FW_ANY;
    o->max_bar = UINT64_C(128) << 30;
}

struct gen {
    uint64_t rng;
    const bs_gen_opts *o;
    bs_topo *t;
    int devices;      /* endpoints so far */
    int nbridges;
    int vga;          /* a VGA-class device exists (slot 1 of the root bus) */
    int names;        /* counter for unique names */
    uint64_t pref64;  /* sum of 64-bit prefetchable BARs */
    int rc;
    /* what this topology exercises, for its header and file name */
    unsigned feat;
};

enum {
    F_SWITCH = 1u << 0, F_PCIBR = 1u << 1, F_SRIOV = 1u << 2, F_MULTI = 1u << 3,
    F_CMB = 1u << 4, F_HUGE = 1u << 5, F_TIGHT = 1u << 6, F_RESERVE = 1u << 7,
    F_HOTPLUG = 1u << 8, F_DISPLAY = 1u << 9, F_HBA = 1u << 10,
    F_VIRTIO = 1u << 11, F_PHYSBITS = 1u << 12, F_ROM = 1u << 13,
};

static const char *const feat_words[] = {
    "switch", "pcibridge", "sriov", "multifn", "cmb", "huge", "tight64",
    "reserve", "hotplug", "display", "hba", "virtio", "physbits", "rom",
};

static uint64_t next(struct gen *g)
{
    /* splitmix64 */
    uint64_t z = (g->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned pick(struct gen *g, unsigned n)
{
    return n ? (unsigned)(next(g) % n) : 0;
}

/* True with probability pct/100. */
static bool chance(struct gen *g, unsigned pct)
{
    return pick(g, 100) < pct;
}

/* A power of two between lo and hi (both powers of two), log-uniform. */
static uint64_t pow2_between(struct gen *g, uint64_t lo, uint64_t hi)
{
    int a = 0, b = 0;
    while ((UINT64_C(1) << a) < lo)
        a++;
    while (b < 63 && (UINT64_C(1) << (b + 1)) <= hi)
        b++;
    if (b < a)
        b = a;
    return UINT64_C(1) << (a + (int)pick(g, (unsigned)(b - a + 1)));
}

/* A size limit under --max-bar (pow2_between keeps a model's minimum). */
static uint64_t cap(const struct gen *g, uint64_t v)
{
    return v < g->o->max_bar ? v : g->o->max_bar;
}

static int node(struct gen *g, int parent, int kind, const char *prefix,
                const char *model)
{
    if (g->rc)
        return -1;
    char name[BS_NAME_MAX];
    snprintf(name, sizeof name, "%s%d", prefix, g->names++);
    int id = bs_topo_add_node(g->t, parent, kind, name);
    if (id < 0) {
        g->rc = id;
        return -1;
    }
    snprintf(g->t->nodes[id].model, BS_MODEL_MAX, "%s", model);
    if (kind == BS_NODE_BRIDGE)
        g->nbridges++;
    else
        g->devices++;
    return id;
}

static void bar(struct gen *g, int id, int slot, unsigned flags, uint64_t size)
{
    if (id < 0 || g->rc)
        return;
    int rc = bs_topo_set_bar(g->t, id, slot, flags, size, 0);
    if (rc)
        g->rc = rc;
    if ((flags & (BS_RF_MEM64 | BS_RF_PREF)) == (BS_RF_MEM64 | BS_RF_PREF) &&
        slot < BS_SLOT_VF0)
        g->pref64 += size;
}

enum bus_kind { BUS_ROOT, BUS_PORT, BUS_CONV };

/* One endpoint of a random model, with the BAR layout QEMU gives it.  No
 * lsi53c895a: QEMU 7.2 aborted or crashed under the trace on two early
 * seeds with one on a conventional bus (docs/peer.md), so the generator
 * does not draw it; qemu-args still exports it. */
static void device(struct gen *g, int parent, enum bus_kind bus, int slot,
                   int fn)
{
    static const char *const pcie_models[] = {
        "nvme", "nvme", "nvme", "ivshmem", "ivshmem", "ivshmem", "e1000e",
        "e1000", "rtl8139", "virtio-net", "virtio-gpu", "bochs-display",
        "megasas", "megasas", "qemu-xhci",
    };
    static const char *const conv_models[] = {
        "e1000", "rtl8139", "megasas", "virtio-net", "megasas", "nvme",
        "ivshmem",
    };
    if (g->devices >= g->o->max_devices && fn <= 0)
        return;
    const char *m = bus == BUS_CONV
                        ? conv_models[pick(g, sizeof conv_models / sizeof conv_models[0])]
                        : pcie_models[pick(g, sizeof pcie_models / sizeof pcie_models[0])];
    int id = node(g, parent, BS_NODE_DEVICE, "d", m);
    if (id < 0)
        return;
    struct bs_node *n = &g->t->nodes[id];
    n->slot = slot;
    n->fn = fn;
    bool rom = chance(g, 30);
    if (!strcmp(m, "nvme")) {
        /* not on a conventional bus (no extended config space), nor as a
         * function of a multi-function device (qemu-args says why) */
        bool sriov = bus != BUS_CONV && chance(g, 25) && fn < 0;
        bar(g, id, 0, BS_RF_MEM64, 16 * KIB);
        if (sriov) {
            n->num_vfs = 1 + pick(g, 8);
            bar(g, id, BS_SLOT_VF0, BS_RF_MEM64, 16 * KIB);
            g->feat |= F_SRIOV;
        } else if (chance(g, 30)) {
            bar(g, id, 2, BS_RF_MEM64 | BS_RF_PREF,
                pow2_between(g, BS_MIB, cap(g, BS_GIB)));
            g->feat |= F_CMB;
        }
    } else if (!strcmp(m, "ivshmem")) {
        bar(g, id, 0, 0, 256);
        uint64_t s = pow2_between(g, 4 * KIB, g->o->max_bar);
        if (chance(g, 15))
            s = g->o->max_bar; /* the seed's size: 128G */
        if (s >= (UINT64_C(16) << 30))
            g->feat |= F_HUGE;
        bar(g, id, 2, BS_RF_MEM64 | BS_RF_PREF, s);
    } else if (!strcmp(m, "e1000e")) {
        bar(g, id, 0, 0, 128 * KIB);
        bar(g, id, 1, 0, 128 * KIB);
        bar(g, id, 2, BS_RF_IO, 32);
        bar(g, id, 3, 0, 16 * KIB);
        if (rom)
            bar(g, id, BS_SLOT_ROM, 0, 256 * KIB);
    } else if (!strcmp(m, "e1000")) {
        bar(g, id, 0, 0, 128 * KIB);
        bar(g, id, 1, BS_RF_IO, 64);
        if (rom)
            bar(g, id, BS_SLOT_ROM, 0, 256 * KIB);
    } else if (!strcmp(m, "rtl8139")) {
        bar(g, id, 0, BS_RF_IO, 256);
        bar(g, id, 1, 0, 256);
        if (rom)
            bar(g, id, BS_SLOT_ROM, 0, 256 * KIB);
    } else if (!strcmp(m, "virtio-net")) {
        if (chance(g, 50))
            bar(g, id, 0, BS_RF_IO, 32);
        bar(g, id, 1, 0, 4 * KIB);
        bar(g, id, 4, BS_RF_MEM64 | BS_RF_PREF, 16 * KIB);
        if (rom)
            bar(g, id, BS_SLOT_ROM, 0, 256 * KIB);
        g->feat |= F_VIRTIO;
    } else if (!strcmp(m, "virtio-gpu")) {
        bar(g, id, 1, 0, 4 * KIB);
        bar(g, id, 4, BS_RF_MEM64 | BS_RF_PREF, 16 * KIB);
        g->feat |= F_VIRTIO | F_DISPLAY;
    } else if (!strcmp(m, "bochs-display")) {
        bar(g, id, 0, BS_RF_PREF, pow2_between(g, 4 * BS_MIB, cap(g, 64 * BS_MIB)));
        bar(g, id, 2, 0, 4 * KIB);
        if (rom)
            bar(g, id, BS_SLOT_ROM, 0, 32 * KIB);
        g->feat |= F_DISPLAY;
    } else if (!strcmp(m, "megasas")) {
        bar(g, id, 0, BS_RF_MEM64, 16 * KIB);
        bar(g, id, 2, BS_RF_IO, 256);
        bar(g, id, 3, BS_RF_MEM64, 256 * KIB);
        g->feat |= F_HBA;
    } else { /* qemu-xhci */
        bar(g, id, 0, BS_RF_MEM64, 16 * KIB);
    }
    if (g->t->nodes[id].res[BS_SLOT_ROM].size)
        g->feat |= F_ROM;
}

/* A multi-function device: 2-3 functions in one slot. */
static void multi(struct gen *g, int parent, enum bus_kind bus, int slot)
{
    int nf = 2 + (int)pick(g, 2);
    for (int f = 0; f < nf; f++)
        device(g, parent, bus, slot, f);
    g->feat |= F_MULTI;
}

static bool room(const struct gen *g)
{
    return g->devices < g->o->max_devices && g->nbridges < 24 && !g->rc;
}

static void below_port(struct gen *g, int port, int depth);

/* A conventional PCI bus below pcie-pci-bridge or pci-bridge. */
static void conv_bus(struct gen *g, int br, int depth)
{
    int n = 1 + (int)pick(g, 3);
    for (int s = 1; s <= n && room(g); s++) {
        if (depth < 2 && chance(g, 15)) {
            int pb = node(g, br, BS_NODE_BRIDGE, "pb", "pci-bridge");
            if (pb < 0)
                return;
            g->t->nodes[pb].slot = s;
            bar(g, pb, 0, BS_RF_MEM64, 256);
            conv_bus(g, pb, depth + 1);
        } else if (chance(g, 10)) {
            multi(g, br, BUS_CONV, s);
        } else {
            device(g, br, BUS_CONV, s, -1);
        }
    }
}

static int pcie_pci_bridge(struct gen *g, int parent, int slot)
{
    int br = node(g, parent, BS_NODE_BRIDGE, "ppb", "pcie-pci-bridge");
    if (br < 0)
        return -1;
    g->t->nodes[br].slot = slot;
    bar(g, br, 0, BS_RF_MEM64, 256);
    conv_bus(g, br, 0);
    g->feat |= F_PCIBR;
    return br;
}

/* A root port or a switch's downstream port: hot-plug, reserves. */
static void port_attrs(struct gen *g, int id, bool root)
{
    struct bs_node *n = &g->t->nodes[id];
    if (chance(g, 50)) {
        n->flags |= BS_NF_HOTPLUG;
        g->feat |= F_HOTPLUG;
    }
    if (root && chance(g, 20)) {
        if (chance(g, 40))
            n->reserve[0] = 4 * KIB * (1 + pick(g, 2));
        if (chance(g, 60))
            n->reserve[1] = pow2_between(g, BS_MIB, 64 * BS_MIB);
        if (chance(g, 60))
            n->reserve[2] = pow2_between(g, BS_MIB, 4 * BS_GIB);
        if (n->reserve[0] || n->reserve[1] || n->reserve[2])
            g->feat |= F_RESERVE;
    }
}

static void switch_below(struct gen *g, int port, int depth)
{
    int up = node(g, port, BS_NODE_BRIDGE, "usp", "switch-upstream");
    if (up < 0)
        return;
    g->feat |= F_SWITCH;
    int nd = 1 + (int)pick(g, 4);
    for (int i = 0; i < nd && room(g); i++) {
        int dp = node(g, up, BS_NODE_BRIDGE, "dsp", "switch-downstream");
        if (dp < 0)
            return;
        g->t->nodes[dp].slot = i;
        port_attrs(g, dp, false);
        below_port(g, dp, depth + 1);
    }
}

/* What sits on the link below a PCIe port. */
static void below_port(struct gen *g, int port, int depth)
{
    unsigned r = pick(g, 100);
    bool hp = g->t->nodes[port].flags & BS_NF_HOTPLUG;
    if (!room(g) || (hp && r < 12))
        return; /* an empty slot */
    if (depth < 3 && r < 30)
        switch_below(g, port, depth);
    else if (r < 38)
        pcie_pci_bridge(g, port, -1);
    else if (r < 48)
        multi(g, port, BUS_PORT, -1);
    else
        device(g, port, BUS_PORT, -1, -1);
}

static void root_bus(struct gen *g)
{
    int mch = node(g, 0, BS_NODE_DEVICE, "mch", "q35-host");
    (void)mch;
    g->devices = 0;
    int slot = 1;
    if (chance(g, 30)) { /* a VGA-class display in slot 1, QEMU's console 0 */
        bool qxl = g->o->max_bar >= 64 * BS_MIB && chance(g, 40);
        int v = node(g, 0, BS_NODE_DEVICE, "vga", qxl ? "qxl-vga" : "vga");
        if (v >= 0) {
            g->t->nodes[v].slot = slot;
            if (qxl) {
                bar(g, v, 0, 0, 64 * BS_MIB);
                bar(g, v, 1, 0, 64 * BS_MIB);
                bar(g, v, 2, 0, 8 * KIB);
                bar(g, v, 3, BS_RF_IO, 32);
            } else {
                bar(g, v, 0, BS_RF_PREF, pow2_between(g, BS_MIB, cap(g, 64 * BS_MIB)));
                bar(g, v, 2, 0, 4 * KIB);
            }
            if (chance(g, 30))
                bar(g, v, BS_SLOT_ROM, 0, 64 * KIB);
            g->vga = 1;
            g->feat |= F_DISPLAY;
        }
    }
    slot = 2;
    int items = 1 + (int)pick(g, 8);
    for (int i = 0; i < items && room(g) && slot < 0x1f; i++, slot++) {
        unsigned r = pick(g, 100);
        if (r < 55) {
            /* root ports, now and then several functions of one slot */
            int nf = chance(g, 20) ? 2 + (int)pick(g, 6) : 1;
            for (int f = 0; f < nf && room(g); f++) {
                int rp = node(g, 0, BS_NODE_BRIDGE, "rp", "root-port");
                if (rp < 0)
                    return;
                g->t->nodes[rp].slot = slot;
                g->t->nodes[rp].fn = nf > 1 ? f : -1;
                bar(g, rp, 0, 0, 4 * KIB);
                port_attrs(g, rp, true);
                below_port(g, rp, 0);
            }
            if (nf > 1)
                g->feat |= F_MULTI;
        } else if (r < 62) {
            pcie_pci_bridge(g, 0, slot);
        } else if (r < 70) {
            multi(g, 0, BUS_ROOT, slot);
        } else {
            device(g, 0, BUS_ROOT, slot, -1);
        }
    }
    int endpoints = g->devices;
    int lpc = node(g, 0, BS_NODE_DEVICE, "lpc", "lpc");
    int sata = node(g, 0, BS_NODE_DEVICE, "sata", "ahci");
    bar(g, sata, 4, BS_RF_IO, 32);
    bar(g, sata, 5, 0, 4 * KIB);
    int smb = node(g, 0, BS_NODE_DEVICE, "smbus", "smbus");
    bar(g, smb, 4, BS_RF_IO, 64);
    (void)lpc;
    g->devices = endpoints;
}

static const char *const rams[] = {"256M", "512M", "1G", "2G", "2560M"};
static const uint64_t ram_sizes[] = {
    256 * BS_MIB, 512 * BS_MIB, BS_GIB, 2 * BS_GIB, 2560 * BS_MIB,
};

/* The machine's windows: q35's for a RAM size, and a 64-bit window from too
 * small to roomy for what the devices ask. */
static void windows(struct gen *g, const char **ram_word)
{
    unsigned ri = pick(g, sizeof ram_sizes / sizeof ram_sizes[0]);
    uint64_t ram = ram_sizes[ri];
    *ram_word = rams[ri];
    uint64_t need = (g->pref64 + BS_GIB - 1) & ~(BS_GIB - 1);
    if (need < BS_GIB)
        need = BS_GIB;
    uint64_t w;
    unsigned r = pick(g, 100);
    if (r < 15) {
        w = need / 2 >= BS_GIB ? (need / 2) & ~(BS_GIB - 1) : BS_GIB;
        if (g->pref64 > w)
            g->feat |= F_TIGHT;
    } else if (r < 45) {
        w = need;
    } else if (r < 90) {
        w = need * (UINT64_C(1) << (1 + pick(g, 4)));
    } else {
        w = (UINT64_C(1) << 40) << pick(g, 3); /* 1T..4T: phys-bits */
        if (w < need)
            w = need;
    }
    uint64_t base = bs_qemu_hole64_base(w);
    if (base + w - 1 > (UINT64_C(1) << 40) - 1)
        g->feat |= F_PHYSBITS;
    bs_topo_add_window(g->t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(g->t, 0, ram, UINT64_C(0xb0000000) - ram);
    bs_topo_add_window(g->t, 0, UINT64_C(0xc0000000),
                       UINT64_C(0xfec00000) - UINT64_C(0xc0000000));
    bs_topo_add_window(g->t, 0, base, w);
}

static const char *kernel_args(struct gen *g, char *buf, size_t cap)
{
    static const char *const opts[] = {
        "realloc", "realloc=off", "hpiosize=", "hpmmiosize=",
        "hpmmioprefsize=", "hpmemsize=",
    };
    buf[0] = 0;
    if (chance(g, 40))
        return buf;
    size_t o = 0;
    int n = 1 + (int)pick(g, 2);
    unsigned used = 0;
    for (int i = 0; i < n; i++) {
        unsigned k = pick(g, 6);
        if ((used & (1u << k)) || (k < 2 && (used & 3)))
            continue;
        used |= 1u << k;
        char v[24] = "";
        if (k == 2)
            snprintf(v, sizeof v, "%uK", 4u << pick(g, 3));
        else if (k >= 3)
            snprintf(v, sizeof v, "%" PRIu64 "M",
                     pow2_between(g, BS_MIB, 256 * BS_MIB) >> 20);
        int w = snprintf(buf + o, cap - o, "%s%s%s", o ? "," : "pci=",
                         opts[k], v);
        if (w > 0 && (size_t)w < cap - o)
            o += (size_t)w;
    }
    return buf;
}

static const char *fw_name(int fw)
{
    return fw == BS_GEN_FW_SEABIOS ? "seabios"
           : fw == BS_GEN_FW_OVMF  ? "ovmf"
                                   : "none";
}

/* One draw.  Returns the text in *out (malloc'd) or a negative code. */
static int draw(const bs_gen_opts *o, uint64_t stream, char **out,
                size_t *outlen)
{
    struct gen g = {0};
    g.o = o;
    g.rng = o->seed * UINT64_C(0x2545f4914f6cdd1d) + stream * 2 + 1;
    char tname[64];
    snprintf(tname, sizeof tname, "random-%" PRIu64, o->seed);
    g.t = bs_topo_new(tname);
    if (!g.t)
        return BS_ENOMEM;
    int fw = o->firmware;
    if (fw == BS_GEN_FW_ANY) {
        unsigned r = pick(&g, 100);
        fw = r < 60 ? BS_GEN_FW_NONE : r < 88 ? BS_GEN_FW_SEABIOS : BS_GEN_FW_OVMF;
    }
    root_bus(&g);
    const char *ram_word = "";
    windows(&g, &ram_word);
    char args[96];
    kernel_args(&g, args, sizeof args);
    if (g.rc) {
        bs_topo_free(g.t);
        return g.rc;
    }
    size_t tlen = bs_topo_format(g.t, NULL, 0);
    char feats[256] = "";
    size_t fo = 0;
    for (size_t i = 0; i < sizeof feat_words / sizeof feat_words[0]; i++)
        if (g.feat & (1u << i)) {
            int w = snprintf(feats + fo, sizeof feats - fo, "%s%s",
                             fo ? " " : "", feat_words[i]);
            if (w > 0 && (size_t)w < sizeof feats - fo)
                fo += (size_t)w;
        }
    char dashed[256];
    memcpy(dashed, feats, fo + 1);
    for (size_t i = 0; i < fo; i++)
        if (dashed[i] == ' ')
            dashed[i] = '-';
    /* A header a reader (and peer/run) can use: what the topology
     * exercises, the firmware and kernel arguments to boot it with, and a
     * file name that says what it is. */
    char head[768];
    int hl = snprintf(head, sizeof head,
                      "# random q35 machine, seed %" PRIu64 " (barspace generate): "
                      "%d devices, %d bridges, RAM %s; exercises: %s\n"
                      "# peer: firmware=%s append=\"%s\"\n"
                      "# peer-name: %s-rand%" PRIu64 "%s%s\n",
                      o->seed, g.devices, g.nbridges, ram_word,
                      fo ? feats : "basics", fw_name(fw), args, fw_name(fw),
                      o->seed, fo ? "-" : "", dashed);
    if (hl < 0 || (size_t)hl >= sizeof head) {
        bs_topo_free(g.t);
        return BS_ELIMIT;
    }
    char *txt = malloc((size_t)hl + tlen + 1);
    if (!txt) {
        bs_topo_free(g.t);
        return BS_ENOMEM;
    }
    memcpy(txt, head, (size_t)hl);
    size_t pos = (size_t)hl;
    bs_topo_format(g.t, txt + pos, tlen + 1);
    pos += tlen;
    bs_topo_free(g.t);
    *out = txt;
    *outlen = pos;
    return BS_OK;
}

/* Does the text parse, and does QEMU express it? */
static int validate(const char *txt, size_t len, const char *name,
                    bs_error *err)
{
    bs_topo *t = NULL;
    int rc = bs_topo_parse(txt, len, name, &t, err);
    if (rc)
        return rc;
    size_t need = 0;
    rc = bs_qemu_args(t, name, NULL, 0, &need, err);
    bs_topo_free(t);
    return rc;
}

int bs_qemu_generate(const bs_gen_opts *o, char *buf, size_t cap,
                     size_t *need, bs_error *err)
{
    if (cap)
        buf[0] = 0;
    if (o->max_devices < 1 || o->max_devices > 64 || o->max_bar < 4 * KIB ||
        !bs_is_pow2(o->max_bar) || o->firmware < BS_GEN_FW_ANY ||
        o->firmware > BS_GEN_FW_OVMF) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                  "generate: devices must be 1..64, max BAR a power of two of "
                  "at least 4K, firmware seabios, ovmf, none or any");
        return BS_EINVAL;
    }
    bs_error last = {0};
    for (uint64_t stream = 0; stream < 64; stream++) {
        char *txt = NULL;
        size_t len = 0;
        int rc = draw(o, stream, &txt, &len);
        if (rc == BS_ENOMEM)
            return rc;
        if (rc == BS_OK)
            rc = validate(txt, len, "generated", &last);
        if (rc == BS_OK) {
            if (cap) {
                size_t n = len < cap - 1 ? len : cap - 1;
                memcpy(buf, txt, n);
                buf[n] = 0;
            }
            if (need)
                *need = len;
            free(txt);
            return BS_OK;
        }
        free(txt);
    }
    if (err)
        *err = last;
    return BS_EINVAL;
}
