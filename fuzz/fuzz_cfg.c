/*
 * Config-space emulation: a random stream of config reads and writes (any
 * width, any offset, biased towards the registers that move things)
 * against the functions of a small assigned machine, under a random host
 * policy.  After every access:
 *   - bs_vm_check finds the machine consistent (no overlapping host
 *     mappings, mappings follow decode, BAR registers agree with the
 *     topology);
 *   - the map/unmap callbacks the harness saw describe exactly what
 *     bs_vm_mapped reports, unmap only ever names a range that is mapped,
 *     and no two mapped ranges overlap;
 *   - identity registers never change; a dword read is its four byte reads;
 *   - now and then the machine is snapshotted and restored, and the run
 *     goes on with the restored copy: the host mappings it reports must be
 *     exactly the ones the callbacks built up on the original.
 *
 * Input: byte 0 machine, byte 1 options, then 8-byte accesses.
 *
 * fuzz-needs: bs_vm_new bs_cfg_write bs_cfg_read bs_vm_check bs_vm_mapped
 * fuzz-needs: bs_snapshot_restore bs_snapshot_save
 * fuzz-max-len: 2048
 */
#include "fuzz.h"
#include "barspace/cfgspace.h"
#include "barspace/snapshot.h"

static const char *const machines[] = {
    "topology m0\n"
    "window io 0x1000-0xffff\n"
    "window mem 0xc0000000-0xcfffffff\n"
    "window mem 0x800000000+16G pref\n"
    "bridge rp0 hotplug io=4K mem=2M pref=64M {\n"
    "    device nvme0 model=nvme {\n"
    "        bar 0 mem64 16K\n"
    "        rom 64K\n"
    "    }\n"
    "}\n"
    "device vga model=vga {\n"
    "    bar 0 mem32 16M pref\n"
    "    bar 2 mem32 4K\n"
    "    bar 3 io 32\n"
    "    rom 64K\n"
    "}\n",
    "topology m1\n"
    "window mem 0xc0000000-0xefffffff\n"
    "window mem 0x4000000000+256G pref\n"
    "bridge rp0 {\n"
    "    device gpu0 model=gpu-a100 {\n"
    "        bar 0 mem32 16M\n"
    "        bar 1 mem64 16G pref rebar=1G,2G,4G,8G,16G\n"
    "        bar 3 mem64 32M pref\n"
    "    }\n"
    "}\n"
    "bridge rp1 {\n"
    "    device gpu1 model=gpu-a100 {\n"
    "        bar 0 mem32 16M\n"
    "        bar 1 mem64 16G pref rebar=256M,16G\n"
    "    }\n"
    "}\n",
    "topology m2\n"
    "window io 0x1000-0xffff\n"
    "window mem 0x80000000-0xbfffffff\n"
    "window mem 0x1000000000+64G pref\n"
    "bridge up model=switch-upstream {\n"
    "    bridge dn0 model=switch-downstream hotplug {\n"
    "        device d0 {\n"
    "            bar 0 mem64 1M pref\n"
    "            bar 2 io 64\n"
    "        }\n"
    "    }\n"
    "    bridge dn1 model=switch-downstream {\n"
    "        device d1 {\n"
    "            bar 0 mem32 64K\n"
    "            bar 1 mem64 256M pref\n"
    "        }\n"
    "        device d2 pinned {\n"
    "            bar 0 mem32 8K\n"
    "        }\n"
    "    }\n"
    "}\n",
};
#define NMACHINES (int)(sizeof machines / sizeof machines[0])

static const unsigned hot_regs[] = {
    0x04, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x28, 0x2c, 0x30, 0x38, 0x3c,
    0x0c, 0x18, 0x19, 0x1a, BS_CFG_REBAR_OFF, BS_CFG_REBAR_OFF + 4,
    BS_CFG_REBAR_OFF + 8, BS_CFG_REBAR_OFF + 0x10, 0x00, 0x08};
#define NHOT (sizeof hot_regs / sizeof hot_regs[0])

#define MAXMAP 256
struct host {
    int n;
    bs_vm_range r[MAXMAP];
    int bad; /* unmap of something not mapped, or overlap */
};

static void on_map(void *ctx, uint64_t gpa, uint64_t size, int node, int bar)
{
    struct host *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (gpa <= h->r[i].gpa + (h->r[i].size - 1) &&
            h->r[i].gpa <= gpa + (size - 1))
            h->bad = 1;
    if (h->n < MAXMAP)
        h->r[h->n++] = (bs_vm_range){node, bar, gpa, size, 0};
    else
        h->bad = 2;
}

static void on_unmap(void *ctx, uint64_t gpa, uint64_t size, int node, int bar)
{
    struct host *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (h->r[i].gpa == gpa && h->r[i].size == size &&
            h->r[i].node == node && h->r[i].bar == bar) {
            h->r[i] = h->r[--h->n];
            return;
        }
    h->bad = 3;
}

static void same_as_vm(const bs_vm *vm, const struct host *h)
{
    bs_vm_range got[MAXMAP];
    int n = bs_vm_mapped(vm, got, MAXMAP);
    FUZZ_CHECK(n == h->n);
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int j = 0; j < h->n && !found; j++)
            found = got[i].gpa == h->r[j].gpa && got[i].size == h->r[j].size &&
                    got[i].node == h->r[j].node && got[i].bar == h->r[j].bar;
        FUZZ_CHECK(found);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *text = machines[data[0] % NMACHINES];
    bs_topo *t = NULL;
    FUZZ_CHECK(bs_topo_parse(text, strlen(text), "m", &t, NULL) == BS_OK);
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_PACK);
    FUZZ_CHECK(bs_assign(t, &ao, NULL) == BS_OK);

    static struct host h;
    memset(&h, 0, sizeof h);
    bs_vm_opts o;
    bs_vm_opts_init(&o);
    o.policy = data[1] & 1 ? BS_HOST_DEFERRED : BS_HOST_EAGER;
    o.bridge_windows = (data[1] >> 1) & 1;
    o.lock_bars_while_decoding = (data[1] >> 2) & 1;
    static const unsigned cmds[4] = {0, BS_CMD_MEM, BS_CMD_MEM | BS_CMD_IO,
                                     BS_CMD_MEM | BS_CMD_MASTER};
    o.initial_command = cmds[(data[1] >> 3) & 3];
    o.map = on_map;
    o.unmap = on_unmap;
    o.ctx = &h;
    bs_vm *vm = NULL;
    FUZZ_CHECK(bs_vm_new(t, &o, &vm, NULL) == BS_OK);
    int nn = bs_topo_node_count(t);
    bs_cfg_ids ids0[16];
    for (int i = 1; i < nn && i < 16; i++)
        FUZZ_CHECK(bs_vm_get_ids(vm, i, &ids0[i]) == BS_OK);
    char msg[256];
    int bad = bs_vm_check(vm, msg, sizeof msg);
    if (bad)
        fprintf(stderr, "after build: %s\n", msg);
    FUZZ_CHECK(bad == 0);
    same_as_vm(vm, &h);

    for (size_t p = 2; p + 8 <= size; p += 8) {
        const uint8_t *a = data + p;
        int op = a[0] & 7;
        int node = a[1] % (nn + 1); /* nn: out of range on purpose */
        unsigned width = (a[0] >> 3) & 3;
        width = width == 0 ? 1 : width == 1 ? 2 : 4;
        unsigned off = (unsigned)(a[2] | a[3] << 8);
        if (a[0] & 0x80)
            off = hot_regs[off % NHOT] + ((a[0] >> 5) & 3);
        else
            off %= BS_CFG_SIZE + 8;
        uint32_t val = (uint32_t)a[4] | (uint32_t)a[5] << 8 |
                       (uint32_t)a[6] << 16 | (uint32_t)a[7] << 24;
        bool legal = node >= 1 && node < nn && off % width == 0 &&
                     off + width <= BS_CFG_SIZE;
        int rc;
        if (op <= 3) {
            rc = bs_cfg_write(vm, node, off, width, val);
        } else if (op <= 5) {
            uint32_t v = 0;
            rc = bs_cfg_read(vm, node, off, width, &v);
            if (rc == BS_OK && width == 4) {
                uint32_t b = 0;
                for (unsigned k = 0; k < 4; k++) {
                    uint32_t x = 0;
                    FUZZ_CHECK(bs_cfg_read(vm, node, off + k, 1, &x) == BS_OK);
                    FUZZ_CHECK(x <= 0xff);
                    b |= x << (8 * k);
                }
                FUZZ_CHECK(b == v);
            }
            if (rc == BS_OK && width < 4)
                FUZZ_CHECK(v >> (8 * width) == 0);
        } else if (op == 6 && (a[1] & 1)) {
            bs_state st = {.topo = t, .vm = vm};
            unsigned char *buf = NULL;
            size_t len = 0;
            FUZZ_CHECK(bs_snapshot_save(&st, &buf, &len, NULL) == BS_OK);
            bs_state back = {0};
            bs_error e = {0};
            rc = bs_snapshot_restore(buf, len, 0, &back, &e);
            if (rc)
                fprintf(stderr, "restore: %s\n", e.msg);
            FUZZ_CHECK(rc == BS_OK);
            free(buf);
            if (rc == BS_OK) {
                bs_state_set_callbacks(&back, on_map, on_unmap, &h);
                bs_vm_free(vm);
                bs_topo_free(t);
                t = back.topo;
                vm = back.vm;
            }
            rc = legal ? BS_OK : BS_EINVAL;
        } else if (op == 6) {
            bs_vm_settle(vm);
            rc = legal ? BS_OK : BS_EINVAL;
        } else {
            unsigned bus, dev, fn;
            uint32_t v = 0;
            if (node >= 1 && node < nn &&
                bs_vm_bdf(vm, node, &bus, &dev, &fn) == BS_OK) {
                FUZZ_CHECK(bs_vm_find_bdf(vm, bus, dev, fn) == node);
                rc = bs_cfg_read_bdf(vm, bus, dev, fn, off, width, &v);
            } else {
                rc = bs_cfg_read_bdf(vm, a[1], a[4] & 31, a[5] & 7, off,
                                     width, &v);
                if (rc == BS_ENOENT)
                    FUZZ_CHECK(v == (width == 4 ? 0xffffffffu
                                                : (1u << (8 * width)) - 1));
                rc = legal ? BS_OK : rc;
            }
        }
        if (legal)
            FUZZ_CHECK(rc == BS_OK);
        else
            FUZZ_CHECK(rc != BS_OK || op >= 6);
        bad = bs_vm_check(vm, msg, sizeof msg);
        if (bad)
            fprintf(stderr, "after access %zu (op %d node %d off 0x%x/%u val "
                    "0x%x): %s\n", (p - 2) / 8, op, node, off, width, val,
                    msg);
        FUZZ_CHECK(bad == 0);
        FUZZ_CHECK(h.bad == 0);
        same_as_vm(vm, &h);
        for (int i = 1; i < nn && i < 16; i++) {
            bs_cfg_ids ids;
            FUZZ_CHECK(bs_vm_get_ids(vm, i, &ids) == BS_OK);
            FUZZ_CHECK(!memcmp(&ids, &ids0[i], sizeof ids) ||
                       (ids.vendor == ids0[i].vendor &&
                        ids.device == ids0[i].device &&
                        ids.class_code == ids0[i].class_code));
        }
    }
    bs_vm_free(vm);
    bs_topo_free(t);
    return 0;
}
