/*
 * Guest models: the config-space traffic a Linux guest generates at boot,
 * replayed against a bs_vm so that the mapping engine and its cost model
 * see what a hypervisor would see.
 *
 * The sequence follows the Hyper-V guest's probe (facts from Linux
 * drivers/pci/controller/pci-hyperv.c and drivers/pci/probe.c, setup-res.c):
 *   1. host driver: clear memory decode, program every BAR with the address
 *      the guest chose, and (before 23e118a48acf) set memory decode again;
 *   2. enumeration: bus by bus, each function's BARs and ROM are sized.
 *      Linux 6.1's __pci_read_base clears and restores decode around every
 *      call (6 BAR positions, a 64-bit BAR taking two, plus the ROM - also
 *      for BARs that are not implemented); 6.13 (4453f360862e) does it once
 *      per function;
 *   3. resource update: each BAR is written back; 64-bit ones with memory
 *      decode off around the two halves (pci_std_update_resource); bridge
 *      windows are programmed after the buses below them;
 *   4. driver enable: bridges upstream first, then the function's decode
 *      bits and bus mastering.
 */
#include "vm/vm_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const guest_names[] = {"linux-prepatch", "linux-patched",
                                          "linux-6.13", "linux-6.1",
                                          "linux-7.2"};

const char *bs_boot_guest_name(int model)
{
    if (model < 0 || model > BS_GUEST_LINUX_72)
        return NULL;
    return guest_names[model];
}

int bs_boot_guest_parse(const char *name)
{
    for (int i = 0; i <= BS_GUEST_LINUX_72; i++)
        if (!strcmp(name, guest_names[i]))
            return i;
    return -1;
}

void bs_boot_opts_init(bs_boot_opts *o, int model)
{
    memset(o, 0, sizeof *o);
    o->model = model;
    o->driver_enable = 1;
}

/* ------------------------------------------------------------ accessors */

static uint32_t rd(bs_vm *vm, int node, unsigned off, unsigned w)
{
    uint32_t v = 0;
    (void)bs_cfg_read(vm, node, off, w, &v);
    return v;
}

static void wr(bs_vm *vm, int node, unsigned off, unsigned w, uint32_t v)
{
    (void)bs_cfg_write(vm, node, off, w, v);
}

/* ----------------------------------------------------------- scan order */

struct order {
    int *n;
    int len;
};


/* The functions on the bus below `parent` in device/function order, as
 * Linux scans them: a malloc'd array in *out (NULL when the bus is empty)
 * and its length in *n.  Insertion sort: a bus holds at most 256
 * functions. */
static int bus_functions(const bs_vm *vm, int parent, int **out, int *n)
{
    int k = 0;
    *out = NULL;
    *n = 0;
    BS_FOR_CHILDREN(vm->t, parent, c) k++;
    if (!k)
        return BS_OK;
    int *o = malloc(sizeof *o * (size_t)k);
    if (!o)
        return BS_ENOMEM;
    k = 0;
    BS_FOR_CHILDREN(vm->t, parent, c) {
        unsigned key = vm->f[c].dev * 8 + vm->f[c].fn;
        int j = k++;
        while (j > 0 && vm->f[o[j - 1]].dev * 8 + vm->f[o[j - 1]].fn > key) {
            o[j] = o[j - 1];
            j--;
        }
        o[j] = c;
    }
    *out = o;
    *n = k;
    return BS_OK;
}

/* Linux's scan order: every function of a bus, then the buses behind its
 * bridges in device order. */
static int scan_order(const bs_vm *vm, int parent, struct order *o)
{
    int *k, nk, rc = bus_functions(vm, parent, &k, &nk);
    for (int i = 0; i < nk; i++)
        o->n[o->len++] = k[i];
    for (int i = 0; i < nk && !rc; i++)
        if (vm->t->nodes[k[i]].kind == BS_NODE_BRIDGE)
            rc = scan_order(vm, k[i], o);
    free(k);
    return rc;
}

/* ------------------------------------------------------------- phases */

static bool is_upper(const struct bs_node *n, int i)
{
    return n->res[i].flags & BS_RF_UPPER;
}

/* pci-hyperv's prepopulate_bars(): BARs written with decode off. */
static void host_driver(bs_vm *vm, const struct order *o, int model)
{
    for (int k = 0; k < o->len; k++) {
        int node = o->n[k];
        const struct bs_node *n = &vm->t->nodes[node];
        if (n->kind != BS_NODE_DEVICE)
            continue;
        uint64_t addr[6];
        for (int i = 0; i < 6; i++)
            addr[i] = n->res[i].addr;
        uint32_t cmd = rd(vm, node, 0x04, 2);
        wr(vm, node, 0x04, 2, cmd & ~BS_CMD_MEM);
        for (int i = 0; i < 6; i++) {
            if (!n->res[i].size || is_upper(n, i))
                continue;
            wr(vm, node, 0x10 + 4u * (unsigned)i, 4, (uint32_t)addr[i]);
            if (n->res[i].flags & BS_RF_MEM64)
                wr(vm, node, 0x14 + 4u * (unsigned)i, 4,
                   (uint32_t)(addr[i] >> 32));
        }
        if (model != BS_GUEST_LINUX_PATCHED) {
            cmd = rd(vm, node, 0x04, 2);
            wr(vm, node, 0x04, 2, cmd | BS_CMD_MEM);
        }
    }
}

/* One BAR position sized the way __pci_read_base does; returns 1 when the
 * BAR was 64-bit (the next position is its upper half). */
static int size_one(bs_vm *vm, int node, unsigned off, bool rom)
{
    uint32_t l = rd(vm, node, off, 4);
    wr(vm, node, off, 4, rom ? (l | 0xfffff800u) : 0xffffffffu);
    (void)rd(vm, node, off, 4);
    wr(vm, node, off, 4, l);
    if (rom || (l & 1) || ((l >> 1) & 3) != 2)
        return 0;
    uint32_t h = rd(vm, node, off + 4, 4);
    wr(vm, node, off + 4, 4, 0xffffffffu);
    (void)rd(vm, node, off + 4, 4);
    wr(vm, node, off + 4, 4, h);
    return 1;
}

static uint32_t decode_off(bs_vm *vm, int node, bool *toggled)
{
    uint32_t cmd = rd(vm, node, 0x04, 2);
    *toggled = cmd & (BS_CMD_IO | BS_CMD_MEM);
    if (*toggled)
        wr(vm, node, 0x04, 2, cmd & ~(uint32_t)(BS_CMD_IO | BS_CMD_MEM));
    return cmd;
}

static void enumerate(bs_vm *vm, const struct order *o, int model)
{
    for (int k = 0; k < o->len; k++) {
        int node = o->n[k];
        bool bridge = vm->f[node].bridge;
        (void)rd(vm, node, 0x00, 4);  /* vendor/device */
        (void)rd(vm, node, 0x08, 4);  /* class, revision */
        (void)rd(vm, node, 0x0e, 1);  /* header type */
        unsigned howmany = bridge ? 2 : 6, rom = bridge ? 0x38 : 0x30;
        bool tog;
        uint32_t cmd = 0;
        if (model == BS_GUEST_LINUX_613 || model == BS_GUEST_LINUX_72) {
            cmd = decode_off(vm, node, &tog);
            for (unsigned pos = 0; pos < howmany; pos++)
                pos += (unsigned)size_one(vm, node, 0x10 + 4 * pos, false);
            size_one(vm, node, rom, true);
            if (tog)
                wr(vm, node, 0x04, 2, cmd);
        } else {
            for (unsigned pos = 0; pos < howmany; pos++) {
                cmd = decode_off(vm, node, &tog);
                pos += (unsigned)size_one(vm, node, 0x10 + 4 * pos, false);
                if (tog)
                    wr(vm, node, 0x04, 2, cmd);
            }
            cmd = decode_off(vm, node, &tog);
            size_one(vm, node, rom, true);
            if (tog)
                wr(vm, node, 0x04, 2, cmd);
        }
        if (bridge) /* pci_read_bridge_bases: reads only */
            for (unsigned off = 0x1c; off < 0x34; off += 4)
                (void)rd(vm, node, off, 4);
    }
}

static void update_bars(bs_vm *vm, int node)
{
    const struct bs_node *n = &vm->t->nodes[node];
    uint64_t addr[6];
    for (int i = 0; i < 6; i++)
        addr[i] = n->res[i].addr;
    for (int i = 0; i < 6; i++) {
        if (!n->res[i].size || is_upper(n, i) ||
            !(n->res[i].flags & BS_RF_ASSIGNED))
            continue;
        unsigned off = 0x10 + 4u * (unsigned)i;
        bool disable = n->res[i].flags & BS_RF_MEM64;
        uint32_t cmd = 0;
        if (disable) {
            cmd = rd(vm, node, 0x04, 2);
            wr(vm, node, 0x04, 2, cmd & ~BS_CMD_MEM);
        }
        uint32_t flagbits = rd(vm, node, off, 4) &
                            ((n->res[i].flags & BS_RF_IO) ? 0x3u : 0xfu);
        wr(vm, node, off, 4, (uint32_t)addr[i] | flagbits);
        (void)rd(vm, node, off, 4);
        if (disable) {
            wr(vm, node, off + 4, 4, (uint32_t)(addr[i] >> 32));
            (void)rd(vm, node, off + 4, 4);
            wr(vm, node, 0x04, 2, cmd);
        }
    }
}

/* pci_setup_bridge(): each window closed first where Linux does so. */
static void setup_bridge(bs_vm *vm, int node)
{
    const struct bs_node *n = &vm->t->nodes[node];
    struct bs_res w[3];
    for (int s = 0; s < 3; s++)
        w[s] = n->res[BS_SLOT_WIN_IO + s];
    const struct bs_res *io = &w[0], *mem = &w[1], *pf = &w[2];
    uint32_t l;
    wr(vm, node, 0x30, 4, 0x0000ffffu); /* I/O upper 16: disable first */
    if (io->size && (io->flags & BS_RF_ASSIGNED)) {
        uint64_t e = bs_last(io->addr, io->size);
        l = (uint32_t)((io->addr >> 8) & 0xf0) | (uint32_t)(e & 0xf000);
        wr(vm, node, 0x1c, 2, l);
        wr(vm, node, 0x30, 4,
           (uint32_t)(io->addr >> 16) | (uint32_t)(e >> 16) << 16);
    } else {
        wr(vm, node, 0x1c, 2, 0x00f0);
        wr(vm, node, 0x30, 4, 0);
    }
    if (mem->size && (mem->flags & BS_RF_ASSIGNED)) {
        uint64_t e = bs_last(mem->addr, mem->size);
        l = (uint32_t)((mem->addr >> 16) & 0xfff0) |
            (uint32_t)(e & 0xfff00000u);
    } else {
        l = 0x0000fff0u;
    }
    wr(vm, node, 0x20, 4, l);
    wr(vm, node, 0x2c, 4, 0); /* pref limit upper 32 cleared first */
    if (pf->size && (pf->flags & BS_RF_ASSIGNED)) {
        uint64_t e = bs_last(pf->addr, pf->size);
        l = (uint32_t)((pf->addr >> 16) & 0xfff0) |
            (uint32_t)(e & 0xfff00000u);
        wr(vm, node, 0x24, 4, l);
        wr(vm, node, 0x28, 4, (uint32_t)(pf->addr >> 32));
        wr(vm, node, 0x2c, 4, (uint32_t)(e >> 32));
    } else {
        wr(vm, node, 0x24, 4, 0x0000fff0u);
        wr(vm, node, 0x28, 4, 0);
    }
    wr(vm, node, 0x3e, 2, rd(vm, node, 0x3e, 2));
}

/* pci_bus_assign_resources(): the bus's functions, then each bus below,
 * then the bridge leading to it. */
static int assign_bus(bs_vm *vm, int parent)
{
    int *k, nk, rc = bus_functions(vm, parent, &k, &nk);
    for (int i = 0; i < nk; i++)
        update_bars(vm, k[i]);
    for (int i = 0; i < nk && !rc; i++)
        if (vm->t->nodes[k[i]].kind == BS_NODE_BRIDGE) {
            rc = assign_bus(vm, k[i]);
            setup_bridge(vm, k[i]);
        }
    free(k);
    return rc;
}

static void enable_fn(bs_vm *vm, int node)
{
    const struct bs_node *n = &vm->t->nodes[node];
    uint32_t want = 0;
    for (int i = 0; i < 6; i++)
        if (n->res[i].size && !is_upper(n, i) &&
            (n->res[i].flags & BS_RF_ASSIGNED))
            want |= (n->res[i].flags & BS_RF_IO) ? BS_CMD_IO : BS_CMD_MEM;
    if (n->kind == BS_NODE_BRIDGE) {
        if (n->res[BS_SLOT_WIN_IO].size)
            want |= BS_CMD_IO;
        if (n->res[BS_SLOT_WIN_MEM].size || n->res[BS_SLOT_WIN_PREF].size)
            want |= BS_CMD_MEM;
    }
    uint32_t cmd = rd(vm, node, 0x04, 2);
    if ((cmd | want) != cmd)
        wr(vm, node, 0x04, 2, cmd | want);
    cmd = rd(vm, node, 0x04, 2); /* pci_set_master */
    if (!(cmd & BS_CMD_MASTER))
        wr(vm, node, 0x04, 2, cmd | BS_CMD_MASTER);
}

static void enable_upstream(bs_vm *vm, int node, bool *enabled)
{
    int p = vm->t->nodes[node].parent;
    if (p <= 0 || enabled[p])
        return;
    enable_upstream(vm, p, enabled);
    enable_fn(vm, p);
    enabled[p] = true;
}

/* SeaBIOS's part on a plain machine, in scan order: bridge windows, every
 * BAR, each option ROM enabled once and disabled again (it runs it), then
 * I/O and memory decode for what the function has, and bus mastering. */
static void firmware(bs_vm *vm, const struct order *o)
{
    for (int k = 0; k < o->len; k++) {
        int node = o->n[k];
        const struct bs_node *n = &vm->t->nodes[node];
        if (n->kind == BS_NODE_BRIDGE)
            setup_bridge(vm, node);
        uint32_t want = 0;
        for (int i = 0; i < 6; i++) {
            const struct bs_res *r = &n->res[i];
            if (!r->size || is_upper(n, i) || !(r->flags & BS_RF_ASSIGNED))
                continue;
            wr(vm, node, 0x10 + 4u * (unsigned)i, 4, (uint32_t)r->addr);
            if (r->flags & BS_RF_MEM64)
                wr(vm, node, 0x14 + 4u * (unsigned)i, 4,
                   (uint32_t)(r->addr >> 32));
            want |= (r->flags & BS_RF_IO) ? BS_CMD_IO : BS_CMD_MEM;
        }
        if (n->kind == BS_NODE_BRIDGE) {
            if (n->res[BS_SLOT_WIN_IO].size)
                want |= BS_CMD_IO;
            if (n->res[BS_SLOT_WIN_MEM].size || n->res[BS_SLOT_WIN_PREF].size)
                want |= BS_CMD_MEM;
        }
        wr(vm, node, 0x04, 2, want | BS_CMD_MASTER);
        const struct bs_res *rom = &n->res[BS_SLOT_ROM];
        if (n->kind == BS_NODE_DEVICE && rom->size &&
            (rom->flags & BS_RF_ASSIGNED)) {
            wr(vm, node, 0x30, 4, (uint32_t)rom->addr | 1);
            wr(vm, node, 0x30, 4, (uint32_t)rom->addr);
        }
    }
}

static int check_assigned(const bs_topo *t, bs_error *err)
{
    for (int i = 1; i < t->nnodes; i++) {
        const struct bs_node *n = &t->nodes[i];
        for (int s = 0; s < 6; s++) {
            const struct bs_res *r = &n->res[s];
            if (r->size && !(r->flags & BS_RF_UPPER) &&
                !(r->flags & BS_RF_ASSIGNED)) {
                bs_seterr(err, BS_ESTATE, "", r->line ? r->line : n->line, 0,
                          "%s %s has no address: assign the topology first",
                          n->name, bs_slot_name(s));
                return BS_ESTATE;
            }
        }
    }
    return BS_OK;
}

int bs_boot_run(bs_vm *vm, const bs_boot_opts *o, bs_error *err)
{
    if (!o || o->model < 0 || o->model > BS_GUEST_LINUX_72) {
        bs_seterr(err, BS_EINVAL, "", 0, 0, "unknown guest model");
        return BS_EINVAL;
    }
    /* A plain machine boots with what the firmware could place; the rest
     * stays unprogrammed and never decodes. */
    int rc = o->model >= BS_GUEST_LINUX_61 ? BS_OK : check_assigned(vm->t, err);
    if (rc)
        return rc;
    struct order ord = {malloc(sizeof(int) * (size_t)vm->n), 0};
    bool *enabled = calloc((size_t)vm->n, sizeof *enabled);
    if (!ord.n || !enabled) {
        free(ord.n);
        free(enabled);
        return BS_ENOMEM;
    }
    rc = scan_order(vm, 0, &ord);
    bool plain = o->model >= BS_GUEST_LINUX_61;
    if (!rc) {
        if (plain) {
            firmware(vm, &ord);
        } else {
            host_driver(vm, &ord, o->model);
        }
        enumerate(vm, &ord, o->model);
        /* Plain Linux claims what the firmware programmed: no rewrites. */
        if (!plain)
            rc = assign_bus(vm, 0);
    }
    if (!rc) {
        bs_vm_settle(vm);
        if (o->driver_enable)
            for (int k = 0; k < ord.len; k++) {
                int node = ord.n[k];
                if (vm->t->nodes[node].kind != BS_NODE_DEVICE)
                    continue;
                enable_upstream(vm, node, enabled);
                enable_fn(vm, node);
            }
    }
    free(ord.n);
    free(enabled);
    return rc;
}
