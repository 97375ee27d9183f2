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
    M_DOWNSTREAM /* xio3130-downstream */
};

static const struct {
    const char *word;
    int model;
    const char *qdev;
} models[] = {
    {"q35-host", M_HOST, NULL},       {"host", M_HOST, NULL},
    {"lpc", M_LPC, NULL},             {"ahci", M_AHCI, NULL},
    {"smbus", M_SMBUS, NULL},         {"vga", M_VGA, "VGA"},
    {"e1000e", M_E1000E, "e1000e"},   {"nvme", M_NVME, "nvme"},
    {"ivshmem", M_IVSHMEM, "ivshmem-plain"},
    {"ivshmem-plain", M_IVSHMEM, "ivshmem-plain"},
    {"root-port", M_ROOTPORT, "pcie-root-port"},
    {"pcie-root-port", M_ROOTPORT, "pcie-root-port"},
    {"switch-upstream", M_UPSTREAM, "x3130-upstream"},
    {"switch-up", M_UPSTREAM, "x3130-upstream"},
    {"x3130-upstream", M_UPSTREAM, "x3130-upstream"},
    {"switch-downstream", M_DOWNSTREAM, "xio3130-downstream"},
    {"switch-down", M_DOWNSTREAM, "xio3130-downstream"},
    {"xio3130-downstream", M_DOWNSTREAM, "xio3130-downstream"},
};

static const char *model_qdev(int m)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
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
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
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
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
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
                  "(q35-host, lpc, ahci, smbus, vga, e1000e, nvme, ivshmem, "
                  "root-port, switch-upstream, switch-downstream)", n->name, n->model);
        return BS_EINVAL;
    }
    if (m == M_NONE) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "device '%s' matches no QEMU model: give model= (nvme: "
                  "bar 0 mem64 16K [+ bar 2 mem64 SIZE pref]; ivshmem: bar 0 "
                  "mem32 256 + bar 2 mem64 SIZE pref; e1000e; vga)", n->name);
        return BS_EINVAL;
    }
    bool want_bridge = m == M_ROOTPORT || m == M_UPSTREAM || m == M_DOWNSTREAM;
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
    if (n->fn > 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': fn=%d: only the ICH9 built-ins are multi-function "
                  "in the exported machine", n->name, n->fn);
        return BS_EINVAL;
    }
    *fn = 0;
    int pm = n->parent == 0 ? M_NONE : model_of(t, n->parent);
    if (pm == M_ROOTPORT || pm == M_DOWNSTREAM) {
        /* A PCIe link has one device on it: slot 0. */
        if (n->slot > 0) {
            bs_seterr(err, BS_EINVAL, file, n->line, 0,
                      "'%s': slot=%d below a PCIe port: the link below a "
                      "port has only device 0", n->name, n->slot);
            return BS_EINVAL;
        }
        *slot = 0;
        return BS_OK;
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
        int pref = n->parent != 0 ? 0 : cm == M_VGA ? 1 : cm == M_E1000E ? 2 : 3;
        s = used[pref] ? (n->parent ? 0 : 3) : pref;
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
#define Q35_HOLE_LO UINT64_C(0xc0000000)
#define Q35_HOLE_HI UINT64_C(0xfebfffff)

/* The host windows must be q35's for a RAM size: [RAM, 0xafffffff],
 * [0xc0000000, 0xfebfffff], [4G, 4G + hole64) and I/O inside 0xd00-0xffff. */
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
        } else if (w->base == BS_4G) {
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
                      "0x100000000 + pci-hole64-size");
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

static int export_node(const bs_topo *t, int id, struct rw *o,
                       const char *file, unsigned *chassis, bs_error *err)
{
    const struct bs_node *n = &t->nodes[id];
    int m = node_model(t, id, file, err);
    if (m < 0)
        return m;
    int rc = check_bars(t, id, m, file, err);
    if (rc)
        return rc;
    if (n->num_vfs) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': vfs=%u: the exported QEMU models have no SR-IOV",
                  n->name, n->num_vfs);
        return BS_EINVAL;
    }
    int pm = n->parent == 0 ? M_NONE : model_of(t, n->parent);
    if (m == M_UPSTREAM && pm != M_ROOTPORT && pm != M_DOWNSTREAM) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': a switch's upstream port sits below a root port or "
                  "a downstream port", n->name);
        return BS_EINVAL;
    }
    if (m == M_DOWNSTREAM && pm != M_UPSTREAM) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': a downstream port sits below a switch's upstream "
                  "port", n->name);
        return BS_EINVAL;
    }
    if (pm == M_UPSTREAM && m != M_DOWNSTREAM) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': below a switch's upstream port only downstream "
                  "ports (bridges) can sit", n->name);
        return BS_EINVAL;
    }
    if (m == M_ROOTPORT && n->parent != 0) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': a root port sits on the root bus", n->name);
        return BS_EINVAL;
    }
    if ((pm == M_ROOTPORT || pm == M_DOWNSTREAM) &&
        t->nodes[n->parent].first_child != id) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': port '%s' already has a device: a PCIe link "
                  "carries one device (use a switch for more)",
                  n->name, t->nodes[n->parent].name);
        return BS_EINVAL;
    }
    if (m == M_UPSTREAM && (n->flags & BS_NF_HOTPLUG)) {
        bs_seterr(err, BS_EINVAL, file, n->line, 0,
                  "'%s': a switch's upstream port has no slot to hot-plug "
                  "into (put 'hotplug' on its downstream ports)", n->name);
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
                  "'%s': QEMU's PCIe ports have 64-bit prefetchable windows; "
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
    put(o, "-device\n%s,id=n%d,bus=%s,addr=0x%x", qdev, id, bus, slot);
    switch (m) {
    case M_VGA:
        put(o, ",vgamem_mb=%" PRIu64, n->res[BS_SLOT_BAR0].size >> 20);
        break;
    case M_NVME:
        put(o, ",serial=n%d", id);
        if (n->res[BS_SLOT_BAR0 + 2].size)
            put(o, ",cmb_size_mb=%" PRIu64,
                n->res[BS_SLOT_BAR0 + 2].size >> 20);
        break;
    case M_IVSHMEM:
        put(o, ",memdev=mem%d", id);
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
    if ((m == M_VGA || m == M_E1000E) && !n->res[BS_SLOT_ROM].size)
        put(o, ",romfile=");
    put(o, "\n");
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
    char a[32];
    put(&o, "-machine\nq35\n-m\n%s\n-nodefaults\n-global\n"
            "q35-pcihost.pci-hole64-size=%s\n",
        qsize(ram, a, sizeof a), qsize(hole64, a + 16, 16));
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
