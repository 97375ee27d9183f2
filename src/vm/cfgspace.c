/*
 * Config space of the emulated machine: type-0 and type-1 headers, BAR
 * sizing latches, the expansion ROM, the command register, bridge base and
 * limit registers and the Resizable BAR extended capability.
 *
 * Registers live in a 64-byte header image per function with a writable-bit
 * mask beside it, so that "read-only bits stay read-only, reserved bits read
 * zero" is one rule for every register instead of a case per register.
 * After each write the registers that changed are pushed into the topology
 * (the single source of truth for addresses) and the mapping engine runs.
 */
#include "vm/vm_internal.h"

#include <stdlib.h>
#include <string.h>

#define CFG_COMMAND 0x04
#define CFG_BAR0 0x10
#define CFG_ROM0 0x30 /* type 0 */
#define CFG_ROM1 0x38 /* type 1 */

/* ------------------------------------------------------------ identity */

static const struct model_id {
    const char *model; /* exact word, or prefix when ending in '*' */
    uint16_t vendor, device;
    uint32_t class_code;
} model_ids[] = {
    {"pcie-root-port", 0x1b36, 0x000c, 0x060400},
    {"root-port", 0x1b36, 0x000c, 0x060400},
    {"switch-upstream", 0x104c, 0x8232, 0x060400},
    {"x3130-upstream", 0x104c, 0x8232, 0x060400},
    {"switch-downstream", 0x104c, 0x8233, 0x060400},
    {"xio3130-downstream", 0x104c, 0x8233, 0x060400},
    {"nvme*", 0x1b36, 0x0010, 0x010802},
    {"e1000e", 0x8086, 0x10d3, 0x020000},
    {"nic*", 0x8086, 0x10d3, 0x020000},
    {"vga", 0x1234, 0x1111, 0x030000},
    {"bochs-display", 0x1234, 0x1111, 0x038000},
    {"ivshmem*", 0x1af4, 0x1110, 0x050000},
    {"gpu*", 0x10de, 0x20b5, 0x030200},
    {"q35-host", 0x8086, 0x29c0, 0x060000},
    {"host", 0x8086, 0x29c0, 0x060000},
    {"lpc", 0x8086, 0x2918, 0x060100},
    {"ahci", 0x8086, 0x2922, 0x010601},
    {"ich9-ahci", 0x8086, 0x2922, 0x010601},
    {"smbus", 0x8086, 0x2930, 0x0c0500},
    {"hda", 0x8086, 0x293e, 0x040300},
    {"pcie-pci-bridge", 0x1b36, 0x000e, 0x060400},
    {"pci-bridge", 0x1b36, 0x0001, 0x060400},
    {"e1000", 0x8086, 0x100e, 0x020000},
    {"rtl8139", 0x10ec, 0x8139, 0x020000},
    {"virtio-net*", 0x1af4, 0x1000, 0x020000},
    {"virtio-gpu*", 0x1af4, 0x1050, 0x038000},
    {"qxl-vga", 0x1b36, 0x0100, 0x030000},
    {"megasas", 0x1000, 0x0060, 0x010400},
    {"lsi53c895a", 0x1000, 0x0012, 0x010000},
    {"qemu-xhci", 0x1b36, 0x000d, 0x0c0330},
};

/* QEMU bridges whose unprogrammed windows reset to all zeros (the x3130
 * switch ports and the conventional PCI bridges), unlike pcie-root-port. */
static bool qemu_zero_window_model(const char *m)
{
    static const char *const zero[] = {
        "switch-upstream", "switch-up", "x3130-upstream",
        "switch-downstream", "switch-down", "xio3130-downstream",
        "pcie-pci-bridge", "pci-bridge",
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (!strcmp(m, zero[i]))
            return true;
    return false;
}

static const struct model_id *model_lookup(const char *m)
{
    for (size_t i = 0; i < sizeof model_ids / sizeof model_ids[0]; i++) {
        const char *w = model_ids[i].model;
        size_t n = strlen(w);
        if (w[n - 1] == '*' ? !strncmp(m, w, n - 1) : !strcmp(m, w))
            return &model_ids[i];
    }
    return NULL;
}

/* q35 built-ins sit at fixed device.function numbers on the root bus. */
static bool builtin_devfn(const char *m, unsigned *dev, unsigned *fn)
{
    static const struct { const char *m; unsigned d, f; } b[] = {
        {"q35-host", 0, 0}, {"host", 0, 0},   {"lpc", 0x1f, 0},
        {"ahci", 0x1f, 2},  {"ich9-ahci", 0x1f, 2}, {"smbus", 0x1f, 3}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (!strcmp(m, b[i].m)) {
            *dev = b[i].d;
            *fn = b[i].f;
            return true;
        }
    return false;
}

static void put8(struct vm_fn *f, unsigned off, uint8_t v, uint8_t wm)
{
    f->cfg[off] = v;
    f->wm[off] = wm;
}
static void put16(struct vm_fn *f, unsigned off, uint16_t v, uint16_t wm)
{
    put8(f, off, (uint8_t)v, (uint8_t)wm);
    put8(f, off + 1, (uint8_t)(v >> 8), (uint8_t)(wm >> 8));
}
static void put32(struct vm_fn *f, unsigned off, uint32_t v, uint32_t wm)
{
    put16(f, off, (uint16_t)v, (uint16_t)wm);
    put16(f, off + 2, (uint16_t)(v >> 16), (uint16_t)(wm >> 16));
}

static void set_ids(struct vm_fn *f, const bs_cfg_ids *id)
{
    put16(f, 0x00, id->vendor, 0);
    put16(f, 0x02, id->device, 0);
    put8(f, 0x08, id->revision, 0);
    put8(f, 0x09, (uint8_t)id->class_code, 0);
    put8(f, 0x0a, (uint8_t)(id->class_code >> 8), 0);
    put8(f, 0x0b, (uint8_t)(id->class_code >> 16), 0);
    put8(f, 0x3d, id->int_pin, 0);
    if (!f->bridge) {
        put16(f, 0x2c, id->subsys_vendor, 0);
        put16(f, 0x2e, id->subsys, 0);
    }
}

static void default_ids(const struct bs_node *n, bool bridge, bs_cfg_ids *id)
{
    const struct model_id *m = n->model[0] ? model_lookup(n->model) : NULL;
    memset(id, 0, sizeof *id);
    if (m) {
        id->vendor = m->vendor;
        id->device = m->device;
        id->class_code = m->class_code;
    } else if (bridge) {
        id->vendor = 0x1b36;
        id->device = 0x0001;
        id->class_code = 0x060400;
    } else {
        id->vendor = 0x1b36;
        id->device = 0x0005;
        id->class_code = 0x00ff00;
    }
    id->subsys_vendor = id->vendor;
    id->subsys = id->device;
    id->int_pin = 1;
}

/* ----------------------------------------------------------------- BARs */

unsigned vm_bar_off(const struct vm_fn *f, int i)
{
    if (i == BS_BAR_ROM)
        return f->bridge ? CFG_ROM1 : CFG_ROM0;
    return CFG_BAR0 + 4u * (unsigned)i;
}

/* Bits of a BAR dword that carry the address (the rest are flags). */
static uint32_t addr_field(int kind)
{
    switch (kind) {
    case VB_MEM32:
    case VB_MEM64: return 0xfffffff0u;
    case VB_UPPER: return 0xffffffffu;
    case VB_IO: return 0xfffffffcu;
    case VB_ROM: return 0xfffff800u;
    }
    return 0;
}

static bool latched(const struct vm_fn *f, int i)
{
    uint32_t fld = addr_field(f->kind[i]);
    return fld && (f->raw[i] | ~fld) == 0xffffffffu;
}

bool vm_bar_addr(const struct vm_fn *f, int i, uint64_t *addr)
{
    int k = f->kind[i];
    if (k == VB_NONE || k == VB_UPPER || latched(f, i))
        return false;
    uint64_t a = vm_rd32(f, vm_bar_off(f, i)) & addr_field(k);
    if (k == VB_MEM64) {
        if (latched(f, i + 1))
            return false;
        a |= (uint64_t)vm_rd32(f, vm_bar_off(f, i + 1)) << 32;
    }
    *addr = a;
    return true;
}

/* Writable mask and read-only flag bits of a BAR of this kind and size. */
static void bar_layout(struct vm_fn *f, int i)
{
    uint64_t sz = f->size[i];
    unsigned off = vm_bar_off(f, i);
    uint32_t keep = vm_rd32(f, off);
    uint32_t wm = 0, ro = 0;
    switch (f->kind[i]) {
    case VB_MEM32:
    case VB_MEM64:
        if (sz < 16)
            sz = 16;
        wm = (uint32_t)~(sz - 1) & 0xfffffff0u;
        ro = keep & 0xfu;
        break;
    case VB_UPPER:
        sz = f->size[i - 1] < 16 ? 16 : f->size[i - 1];
        wm = (uint32_t)(~(sz - 1) >> 32);
        break;
    case VB_IO:
        if (sz < 4)
            sz = 4;
        wm = (uint32_t)~(sz - 1) & 0xfffffffcu;
        ro = 1;
        break;
    case VB_ROM:
        if (sz < 2048)
            sz = 2048;
        wm = ((uint32_t)~(sz - 1) & 0xfffff800u) | 1u;
        break;
    }
    put32(f, off, (keep & wm) | ro, wm);
}

/* BAR and window registers hold bus addresses; the topology CPU ones. */
static uint64_t to_bus(const bs_topo *t, uint64_t cpu, uint32_t flags)
{
    return bs_topo_bus_addr(t, cpu, flags & BS_RF_IO);
}

static void bar_init(const bs_topo *t, struct vm_fn *f, int i,
                     const struct bs_res *r, const struct bs_res *lower)
{
    unsigned off = vm_bar_off(f, i);
    uint32_t flags = 0;
    uint64_t a = 0;
    if (lower) {
        f->kind[i] = VB_UPPER;
        f->size[i] = lower->size;
        if (lower->flags & BS_RF_ASSIGNED)
            a = to_bus(t, lower->addr, lower->flags) >> 32;
    } else {
        if (i == BS_BAR_ROM)
            f->kind[i] = VB_ROM;
        else if (r->flags & BS_RF_IO)
            f->kind[i] = VB_IO, flags = 1;
        else if (r->flags & BS_RF_MEM64)
            f->kind[i] = VB_MEM64, flags = 4;
        else
            f->kind[i] = VB_MEM32;
        if ((r->flags & BS_RF_PREF) && f->kind[i] != VB_IO &&
            f->kind[i] != VB_ROM)
            flags |= 8;
        f->size[i] = r->size;
        if (r->flags & BS_RF_ASSIGNED)
            a = to_bus(t, r->addr, r->flags) & 0xffffffffu;
    }
    put32(f, off, (uint32_t)a | flags, 0);
    bar_layout(f, i);
    f->raw[i] = vm_rd32(f, off);
}

/* -------------------------------------------------------------- windows */

bool vm_window(const struct vm_fn *f, int slot, uint64_t *base,
               uint64_t *limit)
{
    uint64_t b, l;
    if (slot == BS_SLOT_WIN_IO) {
        b = (uint64_t)(f->cfg[0x1c] & 0xf0) << 8;
        l = ((uint64_t)(f->cfg[0x1d] & 0xf0) << 8) | 0xfff;
    } else if (slot == BS_SLOT_WIN_MEM) {
        b = (uint64_t)(vm_rd16(f, 0x20) & 0xfff0) << 16;
        l = ((uint64_t)(vm_rd16(f, 0x22) & 0xfff0) << 16) | 0xfffff;
    } else {
        b = (uint64_t)(vm_rd16(f, 0x24) & 0xfff0) << 16;
        l = ((uint64_t)(vm_rd16(f, 0x26) & 0xfff0) << 16) | 0xfffff;
        if (f->cfg[0x24] & 1) {
            b |= (uint64_t)vm_rd32(f, 0x28) << 32;
            l |= (uint64_t)vm_rd32(f, 0x2c) << 32;
        }
    }
    *base = b;
    *limit = l;
    return b <= l;
}

static void window_init(const bs_topo *t, struct vm_fn *f,
                        const struct bs_node *n, bool qemu_switch_reset)
{
    bool pref64 = !(n->flags & BS_NF_PREF32);
    const struct bs_res *io = &n->res[BS_SLOT_WIN_IO];
    const struct bs_res *mem = &n->res[BS_SLOT_WIN_MEM];
    const struct bs_res *pf = &n->res[BS_SLOT_WIN_PREF];
    /* Unprogrammed windows read closed (base above limit), as QEMU's
     * pcie-root-port resets them; QEMU's x3130/xio3130 switch ports reset
     * them to all zeros instead (open at 0), which the replayer asks for. */
    bool zeros = qemu_switch_reset && qemu_zero_window_model(n->model);
    uint64_t b = zeros ? 0 : 0xf000, l = 0;
    if (io->size && (io->flags & BS_RF_ASSIGNED) &&
        to_bus(t, io->addr, BS_RF_IO) <= 0xffff)
        b = to_bus(t, io->addr, BS_RF_IO), l = bs_last(b, io->size);
    put8(f, 0x1c, (uint8_t)((b >> 8) & 0xf0), 0xf0);
    put8(f, 0x1d, (uint8_t)((l >> 8) & 0xf0), 0xf0);
    put16(f, 0x30, 0, 0);
    put16(f, 0x32, 0, 0);
    b = zeros ? 0 : 0xfff00000u, l = 0;
    if (mem->size && (mem->flags & BS_RF_ASSIGNED))
        b = to_bus(t, mem->addr, 0), l = bs_last(b, mem->size);
    put16(f, 0x20, (uint16_t)((b >> 16) & 0xfff0), 0xfff0);
    put16(f, 0x22, (uint16_t)((l >> 16) & 0xfff0), 0xfff0);
    b = zeros ? 0 : 0xfff00000u, l = 0;
    if (pf->size && (pf->flags & BS_RF_ASSIGNED))
        b = to_bus(t, pf->addr, 0), l = bs_last(b, pf->size);
    put16(f, 0x24, (uint16_t)(((b >> 16) & 0xfff0) | pref64), 0xfff0);
    put16(f, 0x26, (uint16_t)(((l >> 16) & 0xfff0) | pref64), 0xfff0);
    uint32_t uwm = pref64 ? 0xffffffffu : 0;
    put32(f, 0x28, pref64 ? (uint32_t)(b >> 32) : 0, uwm);
    put32(f, 0x2c, pref64 ? (uint32_t)(l >> 32) : 0, uwm);
}

/* ---------------------------------------------------------- topology sync */

static int bar_slot(int i) { return i == BS_BAR_ROM ? BS_SLOT_ROM : i; }

static void sync_bar(bs_vm *vm, int node, int i)
{
    struct vm_fn *f = &vm->f[node];
    if (f->kind[i] == VB_UPPER)
        i--;
    uint64_t a;
    if (!vm_bar_addr(f, i, &a))
        return; /* mid-sizing: the topology keeps the last real address */
    /* The window a guest-written address lies in is not tracked here. */
    struct bs_res *r = &vm->t->nodes[node].res[bar_slot(i)];
    if (a) {
        bs_res_assign(vm->t, node, bar_slot(i),
                      bs_cpu_addr(vm->t, a, r->flags & BS_RF_IO), r->win);
    } else {
        bs_res_release(vm->t, node, bar_slot(i));
        r->addr = 0;
    }
}

static void sync_windows(bs_vm *vm, int node)
{
    struct vm_fn *f = &vm->f[node];
    for (int s = BS_SLOT_WIN_IO; s <= BS_SLOT_WIN_PREF; s++) {
        struct bs_res *r = &vm->t->nodes[node].res[s];
        uint64_t b, l;
        if (vm_window(f, s, &b, &l)) {
            r->size = l - b + 1;
            bs_res_assign(vm->t, node, s,
                          bs_cpu_addr(vm->t, b, s == BS_SLOT_WIN_IO ? BS_RF_IO : 0),
                          r->win);
        } else {
            r->addr = 0;
            r->size = 0;
            bs_res_release(vm->t, node, s);
        }
    }
}

/* ------------------------------------------------------------ addressing */

struct kid {
    int node;
    unsigned devfn;
};

static int cmp_kid(const void *a, const void *b)
{
    const struct kid *x = a, *y = b;
    return (x->devfn > y->devfn) - (x->devfn < y->devfn);
}

/* Device/function numbers of node's children (dev*8+fn), hints first. */
static int number_children(bs_vm *vm, int parent, bs_error *err)
{
    const bs_topo *t = vm->t;
    uint8_t used[32] = {0}; /* bit per function */
    if (parent == 0) {
        bool host = false, ich = false;
        BS_FOR_CHILDREN(t, 0, c) {
            unsigned d, fn;
            if (!builtin_devfn(t->nodes[c].model, &d, &fn))
                continue;
            if (d == 0)
                host = true;
            else
                ich = true;
        }
        /* Reserved for the MCH and the ICH9 even when not modelled. */
        used[0] = host ? 0 : 0xff;
        used[0x1f] = ich ? 0 : 0xff;
    }
    for (int pass = 0; pass < 2; pass++) {
        BS_FOR_CHILDREN(t, parent, c) {
            const struct bs_node *n = &t->nodes[c];
            unsigned d = 0, fn = n->fn >= 0 ? (unsigned)n->fn : 0;
            bool hinted = true;
            if (n->slot >= 0)
                d = (unsigned)n->slot;
            else if (!(parent == 0 && builtin_devfn(n->model, &d, &fn)))
                hinted = false;
            if (hinted != (pass == 0))
                continue;
            if (!hinted) {
                for (d = 0; d < 32; d++)
                    if (fn == 0 ? !used[d] : !(used[d] & (1u << fn)))
                        break;
                if (d == 32) {
                    bs_seterr(err, BS_ELIMIT, "", n->line, 0,
                              "'%s': no free device number on its bus",
                              n->name);
                    return BS_ELIMIT;
                }
            } else if (used[d] & (1u << fn)) {
                bs_seterr(err, BS_EINVAL, "", n->line, 0,
                          "'%s': device %02x.%u is already taken on its bus",
                          n->name, d, fn);
                return BS_EINVAL;
            }
            used[d] |= (uint8_t)(1u << fn);
            vm->f[c].dev = d;
            vm->f[c].fn = fn;
        }
    }
    return BS_OK;
}

static int number_bus(bs_vm *vm, int parent, unsigned bus, bs_error *err)
{
    const bs_topo *t = vm->t;
    int rc = number_children(vm, parent, err);
    if (rc)
        return rc;
    int nk = 0;
    BS_FOR_CHILDREN(t, parent, c) nk++;
    if (!nk)
        return BS_OK;
    struct kid *k = malloc(sizeof *k * (size_t)nk);
    if (!k)
        return BS_ENOMEM;
    nk = 0;
    BS_FOR_CHILDREN(t, parent, c) {
        k[nk].node = c;
        k[nk].devfn = vm->f[c].dev * 8 + vm->f[c].fn;
        vm->f[c].bus = bus;
        nk++;
    }
    qsort(k, (size_t)nk, sizeof *k, cmp_kid);
    /* Multi-function bit on function 0 of a slot with others. */
    for (int i = 0; i < nk; i++)
        for (int j = 0; j < nk; j++)
            if (i != j && vm->f[k[i].node].fn == 0 &&
                vm->f[k[j].node].dev == vm->f[k[i].node].dev)
                vm->f[k[i].node].cfg[0x0e] |= 0x80;
    for (int i = 0; i < nk && !rc; i++) {
        int c = k[i].node;
        if (t->nodes[c].kind != BS_NODE_BRIDGE)
            continue;
        if (vm->nbus >= 255) {
            bs_seterr(err, BS_ELIMIT, "", t->nodes[c].line, 0,
                      "'%s': more than 255 buses", t->nodes[c].name);
            rc = BS_ELIMIT;
            break;
        }
        unsigned sec = (unsigned)++vm->nbus;
        struct vm_fn *f = &vm->f[c];
        put8(f, 0x18, (uint8_t)bus, 0xff);
        put8(f, 0x19, (uint8_t)sec, 0xff);
        rc = number_bus(vm, c, sec, err);
        put8(f, 0x1a, (uint8_t)vm->nbus, 0xff);
    }
    free(k);
    return rc;
}

/* ------------------------------------------------------------- creation */

void bs_vm_opts_init(bs_vm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->policy = BS_HOST_EAGER;
    bs_cost_model_default(&o->cost);
    o->bridge_windows = 1;
}

static int rebar_init(struct vm_fn *f, const struct bs_node *n)
{
    f->nrebar = 0;
    for (int i = 0; i < 6; i++) {
        const struct bs_res *r = &n->res[i];
        if (!r->rebar || !r->size || (r->flags & BS_RF_UPPER))
            continue;
        f->rebar_bar[f->nrebar] = i;
        f->rebar_mask[f->nrebar] = r->rebar;
        unsigned e = 0;
        while (e < 63 && (BS_MIB << e) < r->size)
            e++;
        f->rebar_ctrl[f->nrebar] = e;
        f->nrebar++;
    }
    return BS_OK;
}

static int fn_init(bs_vm *vm, int node, bs_error *err)
{
    const struct bs_node *n = &vm->t->nodes[node];
    struct vm_fn *f = &vm->f[node];
    f->present = true;
    f->bridge = n->kind == BS_NODE_BRIDGE;
    bs_cfg_ids id;
    default_ids(n, f->bridge, &id);
    set_ids(f, &id);
    put8(f, 0x0c, 0, 0xff);          /* cache line size */
    put8(f, 0x0e, f->bridge ? 1 : 0, 0);
    put8(f, 0x3c, 0xff, 0xff);       /* interrupt line */
    int nbar = f->bridge ? 2 : 6;
    bool any = false;
    /* A Hyper-V vPCI bus stands in for the root bus of its domain: its
     * config window (BAR0 slot) is VMBus's, not a BAR of any function. */
    for (int i = 0; i < 6 && !(n->flags & BS_NF_VPCI); i++) {
        const struct bs_res *r = &n->res[i];
        bool has = r->size || (r->flags & BS_RF_UPPER);
        if (i >= nbar) {
            if (has) {
                bs_seterr(err, BS_EINVAL, "", r->line ? r->line : n->line, 0,
                          "'%s': a bridge has only BAR0 and BAR1", n->name);
                return BS_EINVAL;
            }
            continue;
        }
        if (r->flags & BS_RF_UPPER)
            bar_init(vm->t, f, i, r, &n->res[i - 1]);
        else if (r->size)
            bar_init(vm->t, f, i, r, NULL);
        if (r->size && (r->flags & BS_RF_ASSIGNED))
            any = true;
    }
    if (n->res[BS_SLOT_ROM].size) {
        bar_init(vm->t, f, BS_BAR_ROM, &n->res[BS_SLOT_ROM], NULL);
        if (n->res[BS_SLOT_ROM].flags & BS_RF_ASSIGNED)
            any = true;
    }
    uint16_t cmd = 0;
    if (any)
        cmd = (uint16_t)(vm->o.initial_command & BS_CMD_WMASK);
    if (f->bridge) {
        put16(f, 0x3e, 0, 0x007f);   /* bridge control */
        window_init(vm->t, f, n, vm->o.qemu_switch_reset);
        /* A bridge forwards what firmware assigned it; a window that only
         * reads open because of its reset value (switch ports) does not
         * turn decode on. */
        const struct bs_res *w = &n->res[BS_SLOT_WIN_IO];
        uint64_t b, l;
        if ((w[0].flags & BS_RF_ASSIGNED) && w[0].size &&
            vm_window(f, BS_SLOT_WIN_IO, &b, &l))
            cmd |= BS_CMD_IO;
        if ((((w[1].flags & BS_RF_ASSIGNED) && w[1].size) ||
             ((w[2].flags & BS_RF_ASSIGNED) && w[2].size)) &&
            (vm_window(f, BS_SLOT_WIN_MEM, &b, &l) ||
             vm_window(f, BS_SLOT_WIN_PREF, &b, &l)))
            cmd |= BS_CMD_MEM;
        /* The tree says what the registers say, open-at-0 resets included. */
        if (vm->o.qemu_switch_reset)
            sync_windows(vm, node);
    }
    put16(f, CFG_COMMAND, cmd, BS_CMD_WMASK);
    f->had_off = false;
    return rebar_init(f, n);
}

int bs_vm_new(bs_topo *t, const bs_vm_opts *o, bs_vm **out, bs_error *err)
{
    *out = NULL;
    if (!t)
        return BS_EINVAL;
    bs_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return BS_ENOMEM;
    vm->t = t;
    if (o)
        vm->o = *o;
    else
        bs_vm_opts_init(&vm->o);
    if (vm->o.policy != BS_HOST_EAGER && vm->o.policy != BS_HOST_DEFERRED) {
        bs_seterr(err, BS_EINVAL, "", 0, 0, "unknown host policy %d",
                  vm->o.policy);
        free(vm);
        return BS_EINVAL;
    }
    vm->n = t->nnodes;
    vm->f = calloc((size_t)vm->n, sizeof *vm->f);
    if (!vm->f) {
        free(vm);
        return BS_ENOMEM;
    }
    int rc = vm_index_init(vm);
    for (int i = 1; i < vm->n && !rc; i++)
        rc = fn_init(vm, i, err);
    if (!rc)
        rc = number_bus(vm, 0, 0, err);
    if (rc) {
        bs_vm_free(vm);
        return rc;
    }
    for (int i = 1; i < vm->n; i++)
        vm_reconcile(vm, i, false);
    *out = vm;
    return BS_OK;
}

void bs_vm_free(bs_vm *vm)
{
    if (!vm)
        return;
    vm_index_free(vm);
    free(vm->f);
    free(vm);
}

bs_topo *bs_vm_topo(bs_vm *vm) { return vm->t; }

int bs_vm_reload(bs_vm *vm)
{
    if (vm->t->nnodes != vm->n)
        return BS_ESTATE;
    for (int node = 1; node < vm->n; node++) {
        const struct bs_node *n = &vm->t->nodes[node];
        struct vm_fn *f = &vm->f[node];
        for (int i = 0; i < VM_NBAR; i++) {
            int k = f->kind[i];
            if (k == VB_NONE || k == VB_UPPER)
                continue;
            const struct bs_res *r = &n->res[bar_slot(i)];
            uint32_t en = k == VB_ROM ? (vm_rd32(f, vm_bar_off(f, i)) & 1) : 0;
            f->size[i] = r->size;
            uint64_t a = (r->flags & BS_RF_ASSIGNED)
                             ? to_bus(vm->t, r->addr, r->flags) : 0;
            unsigned off = vm_bar_off(f, i);
            uint32_t lo = (vm_rd32(f, off) & ~addr_field(k)) | (uint32_t)a | en;
            put32(f, off, lo, f->wm[off] | (uint32_t)f->wm[off + 1] << 8 |
                                  (uint32_t)f->wm[off + 2] << 16 |
                                  (uint32_t)f->wm[off + 3] << 24);
            bar_layout(f, i);
            f->raw[i] = vm_rd32(f, off);
            if (k == VB_MEM64) {
                f->size[i + 1] = r->size;
                unsigned up = vm_bar_off(f, i + 1);
                put32(f, up, (uint32_t)(a >> 32), 0);
                bar_layout(f, i + 1);
                f->raw[i + 1] = vm_rd32(f, up);
            }
        }
        if (f->bridge) {
            uint8_t keep[4] = {f->cfg[0x18], f->cfg[0x19], f->cfg[0x1a], 0};
            window_init(vm->t, f, n, vm->o.qemu_switch_reset);
            f->cfg[0x18] = keep[0];
            f->cfg[0x19] = keep[1];
            f->cfg[0x1a] = keep[2];
        }
    }
    for (int i = 1; i < vm->n; i++)
        vm_reconcile(vm, i, false);
    return BS_OK;
}

int bs_vm_bdf(const bs_vm *vm, int node, unsigned *bus, unsigned *dev,
              unsigned *fn)
{
    if (node <= 0 || node >= vm->n)
        return BS_ENOENT;
    *bus = vm->f[node].bus;
    *dev = vm->f[node].dev;
    *fn = vm->f[node].fn;
    return BS_OK;
}

int bs_vm_find_bdf(const bs_vm *vm, unsigned bus, unsigned dev, unsigned fn)
{
    for (int i = 1; i < vm->n; i++)
        if (vm->f[i].bus == bus && vm->f[i].dev == dev && vm->f[i].fn == fn)
            return i;
    return BS_ENOENT;
}

int bs_vm_set_bdf(bs_vm *vm, int node, unsigned bus, unsigned dev,
                  unsigned fn)
{
    if (node <= 0 || node >= vm->n)
        return BS_ENOENT;
    if (bus > 255 || dev > 31 || fn > 7)
        return BS_EINVAL;
    int other = bs_vm_find_bdf(vm, bus, dev, fn);
    if (other >= 0 && other != node)
        return BS_EINVAL;
    vm->f[node].bus = bus;
    vm->f[node].dev = dev;
    vm->f[node].fn = fn;
    return BS_OK;
}

int bs_vm_get_ids(const bs_vm *vm, int node, bs_cfg_ids *o)
{
    if (node <= 0 || node >= vm->n)
        return BS_ENOENT;
    const struct vm_fn *f = &vm->f[node];
    o->vendor = vm_rd16(f, 0x00);
    o->device = vm_rd16(f, 0x02);
    o->revision = f->cfg[0x08];
    o->class_code = (uint32_t)f->cfg[0x09] | (uint32_t)f->cfg[0x0a] << 8 |
                    (uint32_t)f->cfg[0x0b] << 16;
    o->int_pin = f->cfg[0x3d];
    o->subsys_vendor = f->bridge ? 0 : vm_rd16(f, 0x2c);
    o->subsys = f->bridge ? 0 : vm_rd16(f, 0x2e);
    return BS_OK;
}

int bs_vm_set_ids(bs_vm *vm, int node, const bs_cfg_ids *ids)
{
    if (node <= 0 || node >= vm->n)
        return BS_ENOENT;
    if (ids->vendor == 0xffff || ids->class_code > 0xffffff)
        return BS_EINVAL;
    set_ids(&vm->f[node], ids);
    return BS_OK;
}

/* -------------------------------------------------------------- accesses */

static int check_access(const bs_vm *vm, int node, unsigned off,
                        unsigned width)
{
    if (width != 1 && width != 2 && width != 4)
        return BS_EINVAL;
    if (off >= BS_CFG_SIZE || off % width)
        return BS_EINVAL;
    if (node <= 0 || node >= vm->n || !vm->f[node].present)
        return BS_ENOENT;
    return BS_OK;
}

/* Dword of the ReBAR capability at off (0x100-aligned region). */
static uint32_t rebar_dword(const struct vm_fn *f, unsigned off)
{
    if (!f->nrebar || off < BS_CFG_REBAR_OFF)
        return 0;
    unsigned rel = off - BS_CFG_REBAR_OFF;
    if (rel == 0)
        return 0x15u | 1u << 16; /* ID 0x15, version 1, last capability */
    unsigned k = (rel - 4) / 8;
    if ((int)k >= f->nrebar)
        return 0;
    uint64_t m = f->rebar_mask[k];
    if ((rel - 4) % 8 == 0)
        return (uint32_t)(m & 0x0fffffffu) << 4;
    uint32_t c = (uint32_t)f->rebar_bar[k] | f->rebar_ctrl[k] << 8 |
                 (uint32_t)((m >> 28) & 0xffffu) << 16;
    if (k == 0)
        c |= (uint32_t)f->nrebar << 5;
    return c;
}

static uint8_t read_byte(const struct vm_fn *f, unsigned off)
{
    if (off < VM_HDR)
        return f->cfg[off];
    return (uint8_t)(rebar_dword(f, off & ~3u) >> (8 * (off & 3)));
}

int bs_cfg_read(bs_vm *vm, int node, unsigned off, unsigned width,
                uint32_t *val)
{
    int rc = check_access(vm, node, off, width);
    if (rc)
        return rc;
    struct vm_fn *f = &vm->f[node];
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint32_t)read_byte(f, off + i) << (8 * i);
    *val = v;
    f->st.cfg_reads++;
    vm->tot.cfg_reads++;
    return BS_OK;
}

/* BAR index whose dword holds config byte `off`, or -1. */
static int bar_at(const struct vm_fn *f, unsigned off)
{
    unsigned rom = f->bridge ? CFG_ROM1 : CFG_ROM0;
    if (off >= rom && off < rom + 4)
        return BS_BAR_ROM;
    unsigned end = f->bridge ? 0x18 : 0x28;
    if (off >= CFG_BAR0 && off < end)
        return (int)((off - CFG_BAR0) / 4);
    return -1;
}

static bool bar_is_io(const struct vm_fn *f, int i)
{
    if (f->kind[i] == VB_UPPER)
        i--;
    return f->kind[i] == VB_IO;
}

static void rebar_write(bs_vm *vm, int node, unsigned off, unsigned width,
                        uint32_t value)
{
    struct vm_fn *f = &vm->f[node];
    unsigned d = off & ~3u, rel = d - BS_CFG_REBAR_OFF;
    if (!f->nrebar || d < BS_CFG_REBAR_OFF + 8 || (rel - 4) % 8 != 4)
        return;
    unsigned k = (rel - 4) / 8;
    if ((int)k >= f->nrebar)
        return;
    /* Only bits 13:8 (BAR Size) are writable. */
    unsigned sh = 8 * (off & 3);
    uint32_t wmask = (width == 4 ? 0xffffffffu : ((1u << (8 * width)) - 1))
                     << sh;
    if (!(wmask & 0x3f00u))
        return;
    uint32_t cur = rebar_dword(f, d);
    uint32_t nv = (cur & ~wmask) | ((value << sh) & wmask);
    unsigned e = (nv >> 8) & 0x3f;
    if (e == f->rebar_ctrl[k] || e > 43 || !(f->rebar_mask[k] >> e & 1))
        return; /* unsupported sizes are ignored */
    f->rebar_ctrl[k] = e;
    int i = f->rebar_bar[k];
    uint64_t nsz = BS_MIB << e;
    f->size[i] = nsz;
    bar_layout(f, i);
    f->raw[i] = vm_rd32(f, vm_bar_off(f, i));
    if (f->kind[i] == VB_MEM64) {
        f->size[i + 1] = nsz;
        bar_layout(f, i + 1);
        f->raw[i + 1] = vm_rd32(f, vm_bar_off(f, i + 1));
    }
    /* The guest chose this size: it is now what the BAR requests, so
     * unassigning does not bring the old size back. */
    struct bs_res *r = &vm->t->nodes[node].res[i];
    r->size = r->want = nsz;
    r->align = nsz;
    r->flags &= ~(uint32_t)BS_RF_REDUCED;
    sync_bar(vm, node, i);
    vm_reconcile(vm, node, false);
}

int bs_cfg_write(bs_vm *vm, int node, unsigned off, unsigned width,
                 uint32_t value)
{
    int rc = check_access(vm, node, off, width);
    if (rc)
        return rc;
    struct vm_fn *f = &vm->f[node];
    f->st.cfg_writes++;
    vm->tot.cfg_writes++;
    if (off >= VM_HDR) {
        rebar_write(vm, node, off, width, value);
        return BS_OK;
    }
    uint16_t cmd0 = vm_rd16(f, CFG_COMMAND);
    bool touched_cmd = false, touched_win = false;
    bool touched_bar[VM_NBAR] = {false};
    for (unsigned i = 0; i < width; i++) {
        unsigned o = off + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        int bar = bar_at(f, o);
        if (bar >= 0 && f->kind[bar] != VB_NONE) {
            uint16_t dec = bar_is_io(f, bar) ? BS_CMD_IO : BS_CMD_MEM;
            if (vm->o.lock_bars_while_decoding && (cmd0 & dec))
                continue; /* Hyper-V: silently ignored */
            unsigned sh = 8 * (o & 3);
            f->raw[bar] = (f->raw[bar] & ~(0xffu << sh)) | (uint32_t)b << sh;
            touched_bar[bar] = true;
        }
        f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wm[o]) | (b & f->wm[o]));
        if (o == CFG_COMMAND || o == CFG_COMMAND + 1)
            touched_cmd = true;
        if (f->bridge && o >= 0x1c && o < 0x34 && !(o >= 0x1e && o < 0x20))
            touched_win = true;
    }
    bool any_bar = false;
    for (int i = 0; i < VM_NBAR; i++)
        if (touched_bar[i]) {
            sync_bar(vm, node, i);
            any_bar = true;
        }
    if (touched_win)
        sync_windows(vm, node);
    if (touched_cmd)
        vm_note_command(vm, node, cmd0, vm_rd16(f, CFG_COMMAND));
    if (touched_cmd || touched_win || any_bar)
        vm_reconcile(vm, node, f->bridge && (touched_cmd || touched_win));
    return BS_OK;
}

int bs_cfg_read_bdf(bs_vm *vm, unsigned bus, unsigned dev, unsigned fn,
                    unsigned off, unsigned width, uint32_t *val)
{
    if (width != 1 && width != 2 && width != 4)
        return BS_EINVAL;
    int node = bs_vm_find_bdf(vm, bus, dev, fn);
    if (node < 0) {
        *val = width == 4 ? 0xffffffffu : (1u << (8 * width)) - 1;
        return BS_ENOENT;
    }
    return bs_cfg_read(vm, node, off, width, val);
}

int bs_cfg_write_bdf(bs_vm *vm, unsigned bus, unsigned dev, unsigned fn,
                     unsigned off, unsigned width, uint32_t value)
{
    int node = bs_vm_find_bdf(vm, bus, dev, fn);
    if (node < 0)
        return BS_ENOENT;
    return bs_cfg_write(vm, node, off, width, value);
}
