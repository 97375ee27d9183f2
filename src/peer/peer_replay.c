/*
 * Replay a real guest's config-space traffic (QEMU's trace) against the
 * emulation.  The trace names functions by bus number, and bus numbers are
 * whatever the firmware and the kernel wrote into the bridges at that
 * moment, so routing follows the trace's own writes rather than the
 * emulation's numbering.
 */
#include "core/internal.h"
#include "barspace/cfgspace.h"
#include "barspace/qemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rp_ctx {
    bs_replay_dev *dev;   /* per node */
    uint64_t maps, unmaps;
};

static void on_map(void *ctx, uint64_t gpa, uint64_t size, int node, int bar)
{
    struct rp_ctx *c = ctx;
    (void)gpa;
    (void)size;
    (void)bar;
    c->maps++;
    if (c->dev)
        c->dev[node].maps++;
}

static void on_unmap(void *ctx, uint64_t gpa, uint64_t size, int node, int bar)
{
    struct rp_ctx *c = ctx;
    (void)gpa;
    (void)size;
    (void)bar;
    c->unmaps++;
    if (c->dev)
        c->dev[node].unmaps++;
}

/* Node at (bus, slot, fn): bus 0 is the root; any other bus is the
 * secondary bus a bridge was last programmed with.  Nodes not plugged in
 * at this point of the trace (present[n] == 0) are skipped. */
static int route(const bs_topo *t, const int *secbus, const int *addr_slot,
                 const int *addr_fn, const unsigned char *present,
                 unsigned bus, unsigned slot, unsigned fn)
{
    int parent = -1;
    if (bus == 0)
        parent = 0;
    else
        for (int i = t->nnodes - 1; i > 0; i--)
            if (t->nodes[i].kind == BS_NODE_BRIDGE && secbus[i] == (int)bus) {
                parent = i;
                break;
            }
    if (parent < 0)
        return -1;
    BS_FOR_CHILDREN(t, parent, c) {
        if (present[c] && addr_slot[c] == (int)slot && addr_fn[c] == (int)fn)
            return c;
    }
    return -1;
}

static bool is_io_bar(const bs_topo *t, int node, int bar)
{
    if (bar == 6)
        return false;
    return (t->nodes[node].res[bar].flags & BS_RF_IO) != 0;
}

int bs_peer_replay(bs_topo *t, const bs_qtrace *q, int policy,
                   const char *filename, bs_replay_result *res,
                   bs_replay_dev *devs, bs_error *err)
{
    return bs_peer_replay_plugs(t, q, policy, NULL, 0, filename, res, devs,
                                err);
}

int bs_peer_replay_plugs(bs_topo *t, const bs_qtrace *q, int policy,
                         const bs_peer_plug *plugs, int nplugs,
                         const char *filename, bs_replay_result *res,
                         bs_replay_dev *devs, bs_error *err)
{
    memset(res, 0, sizeof *res);
    int n = t->nnodes;
    if (devs)
        memset(devs, 0, sizeof *devs * (size_t)n);
    int *secbus = malloc(sizeof *secbus * (size_t)n);
    int *as = malloc(sizeof *as * (size_t)n);
    int *af = malloc(sizeof *af * (size_t)n);
    unsigned char *present = malloc((size_t)n);
    int rc = secbus && as && af && present ? BS_OK : BS_ENOMEM;
    for (int i = 0; rc == BS_OK && i < n; i++)
        present[i] = 1;
    /* A node whose first plug event plugs it in is absent until then; a
     * device plugged into a PCIe port is its device 0. */
    for (int p = nplugs - 1; rc == BS_OK && p >= 0; p--)
        if (plugs[p].node > 0 && plugs[p].node < n)
            present[plugs[p].node] = !plugs[p].plug;
    for (int i = 0; rc == BS_OK && i < n; i++) {
        secbus[i] = -1;
        as[i] = af[i] = -1;
        bool plugged = false;
        for (int p = 0; p < nplugs && !plugged; p++)
            plugged = plugs[p].node == i && plugs[p].plug;
        if (plugged && t->nodes[t->nodes[i].parent].kind == BS_NODE_BRIDGE)
            as[i] = af[i] = 0;
        else if (i > 0)
            rc = bs_qemu_node_addr(t, i, &as[i], &af[i], filename, err);
    }
    int next_plug = 0;
    struct rp_ctx ctx = {devs, 0, 0};
    bs_vm *vm = NULL;
    if (rc == BS_OK) {
        bs_vm_opts o;
        bs_vm_opts_init(&o);
        o.policy = policy;
        o.map = on_map;
        o.unmap = on_unmap;
        o.ctx = &ctx;
        o.bridge_windows = 0; /* QEMU's add/del are per BAR */
        o.qemu_switch_reset = 1; /* reads compare with QEMU's reset values */
        rc = bs_vm_new(t, &o, &vm, err);
    }
    int cnt = rc == BS_OK ? bs_qtrace_count(q) : 0;
    for (int i = 0; rc == BS_OK && i < cnt; i++) {
        bs_qev e;
        bs_qtrace_get(q, i, &e);
        for (; next_plug < nplugs && plugs[next_plug].line < e.line; next_plug++) {
            int pn = plugs[next_plug].node;
            if (pn <= 0 || pn >= n)
                continue;
            if (present[pn] && !plugs[next_plug].plug)
                /* The slot was powered off before the device left: QEMU
                 * unmapped what it still decoded (pci_set_power(), traced
                 * as pci_update_mappings_del); so does the emulation. */
                bs_cfg_write(vm, pn, 0x4, 2, 0);
            present[pn] = (unsigned char)plugs[next_plug].plug;
        }
        int node = route(t, secbus, as, af, present, e.bus, e.slot, e.fn);
        if (node <= 0) {
            res->unrouted++;
            continue;
        }
        bool bridge = t->nodes[node].kind == BS_NODE_BRIDGE;
        if (e.kind == BS_QEV_MAP_ADD || e.kind == BS_QEV_MAP_DEL) {
            if (is_io_bar(t, node, e.bar))
                continue; /* I/O ranges are trapped, never mapped */
            if (e.kind == BS_QEV_MAP_ADD) {
                res->qemu_add++;
                if (devs)
                    devs[node].qemu_add++;
            } else {
                res->qemu_del++;
                if (devs)
                    devs[node].qemu_del++;
            }
            continue;
        }
        /* The parser inferred the width against the trace's own
         * header-type reads; the topology knows the header for sure. */
        unsigned w = e.bridge == bridge ? e.width
                                        : bs_cfg_access_width(e.off, e.val,
                                                              bridge);
        e.width = w;
        e.bridge = bridge;
        if (e.kind == BS_QEV_WRITE) {
            res->writes++;
            int wr = bs_cfg_write(vm, node, e.off, w, e.val);
            if (wr != BS_OK && wr != BS_EINVAL) {
                rc = wr;
                break;
            }
            /* Secondary bus number: byte 0x19 or inside a wider write. */
            if (bridge && e.off <= 0x19 && e.off + w > 0x19)
                secbus[node] = (int)((e.val >> (8 * (0x19 - e.off))) & 0xff);
            continue;
        }
        uint32_t ours = 0;
        int rr = bs_cfg_read(vm, node, e.off, w, &ours);
        if (rr != BS_OK && rr != BS_EINVAL) {
            rc = rr;
            break;
        }
        /* A wide read can cover several registers (command + status at
         * 0x04): each class it touches is judged on its own bytes. */
        int cls = bs_cfg_reg_class(e.off, bridge);
        bool touched[BS_REG_NCLASSES] = {false}, bad[BS_REG_NCLASSES] = {false};
        for (unsigned b = 0; b < w; b++) {
            int c = bs_cfg_reg_class(e.off + b, bridge);
            touched[c] = true;
            if (rr != BS_OK || ((ours ^ e.val) >> (8 * b) & 0xff))
                bad[c] = true;
        }
        bool mod = false, mod_bad = false;
        for (int c = 0; c < BS_REG_NCLASSES; c++) {
            if (!touched[c])
                continue;
            res->cls_reads[c]++;
            if (!bad[c])
                res->cls_agree[c]++;
            else
                cls = c;
            if (bs_reg_class_modelled(c)) {
                mod = true;
                mod_bad |= bad[c];
            }
        }
        res->modelled_reads += mod;
        res->modelled_agree += mod && !mod_bad;
        res->reads++;
        if (devs)
            devs[node].reads++;
        if (rr == BS_OK && ours == e.val) {
            res->reads_agree++;
            if (devs)
                devs[node].reads_agree++;
            continue;
        }
        bs_replay_mismatch mm;
        mm.ev = e;
        mm.node = node;
        mm.ours = ours;
        bs_cfg_reg_describe(e.off, w, bridge, mm.reg, sizeof mm.reg);
        if (!res->have_first) {
            res->have_first = 1;
            res->first = mm;
        }
        if (mod_bad && !res->have_first_modelled) {
            res->have_first_modelled = 1;
            res->first_modelled = mm;
        }
        if (!res->have_first_cls[cls]) {
            res->have_first_cls[cls] = 1;
            res->first_cls[cls] = mm;
        }
    }
    if (rc == BS_OK)
        bs_vm_settle(vm);
    res->maps = ctx.maps;
    res->unmaps = ctx.unmaps;
    if (rc == BS_OK && devs) {
        for (int i = 1; i < n; i++) {
            bs_replay_dev *d = &devs[i];
            if (!d->qemu_add && !d->qemu_del && !d->maps && !d->unmaps)
                continue;
            res->devices++;
            if (d->qemu_add == d->maps && d->qemu_del == d->unmaps)
                res->devices_counts_agree++;
        }
    }
    bs_vm_free(vm);
    free(secbus);
    free(as);
    free(af);
    free(present);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, filename, 0, 0, "out of memory");
    return rc;
}
