/* Config-space registers of the emulated machine, one behaviour at a time. */
#include "core/internal.h"
#include "barspace/cfgspace.h"
#include "test.h"

#include <stdlib.h>

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)

static void set_addr(bs_topo *t, int node, int slot, uint64_t a)
{
    t->nodes[node].res[slot].addr = a;
    t->nodes[node].res[slot].flags |= BS_RF_ASSIGNED;
}

static void set_win(bs_topo *t, int node, int slot, uint64_t a, uint64_t sz)
{
    struct bs_res *r = &t->nodes[node].res[slot];
    r->addr = a;
    r->size = sz;
    r->align = BS_MIB;
    r->flags |= BS_RF_ASSIGNED;
}

static uint32_t rd(bs_vm *vm, int node, unsigned off, unsigned w)
{
    uint32_t v = 0xdeadbeef;
    int rc = bs_cfg_read(vm, node, off, w, &v);
    CHECK_EQ(rc, BS_OK);
    return v;
}

static void wr(bs_vm *vm, int node, unsigned off, unsigned w, uint32_t v)
{
    int rc = bs_cfg_write(vm, node, off, w, v);
    CHECK_EQ(rc, BS_OK);
}

/* Root port rp (node 1) with gpu (node 2) below; nic (node 3) on bus 0. */
static bs_topo *machine(int *rp, int *gpu, int *nic)
{
    bs_topo *t = bs_topo_new("cfg");
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    bs_topo_add_window(t, 0, 0xc0000000, 0x3ec00000);
    bs_topo_add_window(t, 0, UINT64_C(1) << 40, UINT64_C(1) << 42);
    *rp = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, "rp");
    *gpu = bs_topo_add_node(t, *rp, BS_NODE_DEVICE, "gpu");
    *nic = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "nic");
    snprintf(t->nodes[*gpu].model, BS_MODEL_MAX, "gpu-128g");
    snprintf(t->nodes[*rp].model, BS_MODEL_MAX, "pcie-root-port");
    bs_topo_set_bar(t, *gpu, 0, 0, 16 * M, 0);
    bs_topo_set_bar(t, *gpu, 1, BS_RF_MEM64 | BS_RF_PREF, 128 * G, 0);
    bs_topo_set_bar(t, *gpu, 3, BS_RF_IO, 256, 0);
    bs_topo_set_bar(t, *gpu, 4, BS_RF_PREF, 1 * M, 0);
    bs_topo_set_bar(t, *gpu, BS_SLOT_ROM, 0, 512 * 1024, 0);
    t->nodes[*gpu].res[1].rebar = (UINT64_C(1) << 10) | (UINT64_C(1) << 17);
    bs_topo_set_bar(t, *nic, 0, BS_RF_MEM64, 16 * 1024, 0);
    set_addr(t, *gpu, 0, 0xc0000000);
    set_addr(t, *gpu, 1, UINT64_C(1) << 40);
    set_addr(t, *gpu, 3, 0x1000);
    set_addr(t, *gpu, 4, 0xc1000000);
    set_addr(t, *gpu, BS_SLOT_ROM, 0xc1100000);
    set_addr(t, *nic, 0, 0xc2000000);
    set_win(t, *rp, BS_SLOT_WIN_IO, 0x1000, 0x1000);
    set_win(t, *rp, BS_SLOT_WIN_MEM, 0xc0000000, 32 * M);
    set_win(t, *rp, BS_SLOT_WIN_PREF, UINT64_C(1) << 40, 256 * G);
    return t;
}

static bs_vm *new_vm(bs_topo *t, unsigned cmd, int lock)
{
    bs_vm_opts o;
    bs_vm_opts_init(&o);
    o.initial_command = cmd;
    o.lock_bars_while_decoding = lock;
    bs_vm *vm = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_vm_new(t, &o, &vm, &e), BS_OK);
    return vm;
}

static void test_identity_and_access(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, 0, 0);
    CHECK_EQ(rd(vm, gpu, 0x00, 4), 0x20b510de);
    CHECK_EQ(rd(vm, gpu, 0x00, 2), 0x10de);
    CHECK_EQ(rd(vm, gpu, 0x01, 1), 0x10);
    CHECK_EQ(rd(vm, gpu, 0x08, 4) >> 8, 0x030200);
    CHECK_EQ(rd(vm, gpu, 0x0e, 1), 0);
    CHECK_EQ(rd(vm, rp, 0x0e, 1), 1);
    CHECK_EQ(rd(vm, rp, 0x00, 4), 0x000c1b36);
    CHECK_EQ(rd(vm, nic, 0x00, 4), 0x00051b36); /* no model: test device */
    CHECK_EQ(rd(vm, gpu, 0x2c, 4), 0x20b510de); /* subsystem */
    CHECK_EQ(rd(vm, gpu, 0x3d, 1), 1);          /* INTA */
    /* Read-only identity. */
    wr(vm, gpu, 0x00, 4, 0x12345678);
    wr(vm, gpu, 0x0b, 1, 0x77);
    CHECK_EQ(rd(vm, gpu, 0x00, 4), 0x20b510de);
    CHECK_EQ(rd(vm, gpu, 0x0b, 1), 0x03);
    /* Illegal widths and offsets. */
    uint32_t v;
    CHECK_EQ(bs_cfg_read(vm, gpu, 0x00, 3, &v), BS_EINVAL);
    CHECK_EQ(bs_cfg_read(vm, gpu, 0x02, 4, &v), BS_EINVAL);
    CHECK_EQ(bs_cfg_read(vm, gpu, 0x01, 2, &v), BS_EINVAL);
    CHECK_EQ(bs_cfg_read(vm, gpu, BS_CFG_SIZE, 1, &v), BS_EINVAL);
    CHECK_EQ(bs_cfg_write(vm, gpu, 0x06, 4, 0), BS_EINVAL);
    CHECK_EQ(bs_cfg_read(vm, 0, 0x00, 4, &v), BS_ENOENT);
    CHECK_EQ(bs_cfg_read(vm, 99, 0x00, 4, &v), BS_ENOENT);
    /* Unimplemented registers read 0 and ignore writes. */
    wr(vm, gpu, 0x40, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x40, 4), 0);
    CHECK_EQ(rd(vm, gpu, 0xffc, 4), 0);
    CHECK_EQ(rd(vm, nic, 0x100, 4), 0); /* no ReBAR: no capability */
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_command(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, 0, 0);
    CHECK_EQ(rd(vm, gpu, 0x04, 2), 0);
    wr(vm, gpu, 0x04, 2, 0xffff);
    CHECK_EQ(rd(vm, gpu, 0x04, 2), BS_CMD_WMASK);
    wr(vm, gpu, 0x04, 2, 0);
    /* Byte writes: the high byte holds SERR (8) and INTx disable (10). */
    wr(vm, gpu, 0x05, 1, 0xff);
    CHECK_EQ(rd(vm, gpu, 0x04, 2), 0x0500);
    wr(vm, gpu, 0x04, 1, BS_CMD_MEM | BS_CMD_MASTER | 0x08);
    CHECK_EQ(rd(vm, gpu, 0x04, 1), BS_CMD_MEM | BS_CMD_MASTER);
    CHECK_EQ(rd(vm, gpu, 0x04, 4) & 0xffff, 0x0506);
    /* Status is read-only zero. */
    wr(vm, gpu, 0x06, 2, 0xffff);
    CHECK_EQ(rd(vm, gpu, 0x06, 2), 0);
    bs_decode_stats s;
    bs_vm_stats(vm, gpu, &s);
    CHECK_EQ(s.decode_on, 2);  /* 0xffff, then MEM after the clear */
    CHECK_EQ(s.decode_off, 1);
    CHECK_EQ(s.toggles, 1);
    wr(vm, gpu, 0x04, 2, 0);
    wr(vm, gpu, 0x04, 2, BS_CMD_MEM);
    bs_vm_stats(vm, gpu, &s);
    CHECK_EQ(s.decode_off, 2);
    CHECK_EQ(s.toggles, 2);
    bs_vm_free(vm);
    bs_topo_free(t);
}

/* Size from a sizing read-back, the way a guest computes it. */
static uint64_t size_of_mask(uint64_t mask) { return ~mask + 1; }

static void test_bar_sizing(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, 0, 0);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc0000000);
    CHECK_EQ(rd(vm, gpu, 0x14, 4), 0x0000000c); /* 64-bit pref, low half 0 */
    CHECK_EQ(rd(vm, gpu, 0x18, 4), 0x00000100);
    CHECK_EQ(rd(vm, gpu, 0x1c, 4), 0x00001001);
    CHECK_EQ(rd(vm, gpu, 0x20, 4), 0xc1000008);
    /* mem32 16M */
    wr(vm, gpu, 0x10, 4, 0xffffffff);
    uint32_t m = rd(vm, gpu, 0x10, 4);
    CHECK_EQ(m, 0xff000000);
    CHECK_EQ(size_of_mask((uint64_t)(m & ~0xfu) | UINT64_C(0xffffffff00000000)),
             16 * M);
    /* Mid-sizing the topology keeps the real address. */
    CHECK_EQ(t->nodes[gpu].res[0].addr, 0xc0000000);
    wr(vm, gpu, 0x10, 4, 0xc0000000);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc0000000);
    /* mem64 pref 128G: the low half has no writable address bits. */
    wr(vm, gpu, 0x14, 4, 0xffffffff);
    wr(vm, gpu, 0x18, 4, 0xffffffff);
    uint64_t lo = rd(vm, gpu, 0x14, 4), hi = rd(vm, gpu, 0x18, 4);
    CHECK_EQ(lo, 0x0000000c);
    CHECK_EQ(hi, 0xffffffe0);
    CHECK_EQ(size_of_mask((hi << 32) | (lo & ~UINT64_C(0xf))), 128 * G);
    wr(vm, gpu, 0x14, 4, 0);
    wr(vm, gpu, 0x18, 4, 0x100);
    CHECK_EQ(t->nodes[gpu].res[1].addr, UINT64_C(1) << 40);
    /* I/O 256: bit 0 set, bit 1 reserved. */
    wr(vm, gpu, 0x1c, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x1c, 4), 0xffffff01);
    wr(vm, gpu, 0x1c, 4, 0x1000);
    /* mem32 pref 1M */
    wr(vm, gpu, 0x20, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x20, 4), 0xfff00008);
    wr(vm, gpu, 0x20, 4, 0xc1000000);
    /* BAR5 not implemented */
    wr(vm, gpu, 0x24, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x24, 4), 0);
    /* Flag bits cannot be written. */
    wr(vm, gpu, 0x10, 1, 0x0f);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc0000000);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_partial_bar_writes(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, 0, 0);
    /* Byte write of address bits 31:24. */
    wr(vm, gpu, 0x13, 1, 0xc1);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc1000000);
    CHECK_EQ(t->nodes[gpu].res[0].addr, 0xc1000000);
    /* Bits 23:4 are read-only for a 16M BAR. */
    wr(vm, gpu, 0x10, 2, 0xffff);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc1000000);
    CHECK_EQ(rd(vm, gpu, 0x12, 2), 0xc100);
    CHECK_EQ(rd(vm, gpu, 0x13, 1), 0xc1);
    wr(vm, gpu, 0x12, 2, 0xc000);
    CHECK_EQ(t->nodes[gpu].res[0].addr, 0xc0000000);
    /* 64-bit BAR written one half at a time: the topology follows each
     * half (the hardware state between the two writes is real). */
    wr(vm, gpu, 0x18, 4, 0x200);
    CHECK_EQ(t->nodes[gpu].res[1].addr, UINT64_C(0x20000000000));
    wr(vm, gpu, 0x18, 2, 0x100);
    CHECK_EQ(rd(vm, gpu, 0x18, 4), 0x100);
    CHECK_EQ(t->nodes[gpu].res[1].addr, UINT64_C(1) << 40);
    /* Writing address 0 unassigns. */
    wr(vm, gpu, 0x20, 4, 0);
    CHECK(!(t->nodes[gpu].res[4].flags & BS_RF_ASSIGNED));
    wr(vm, gpu, 0x20, 4, 0xc1000000);
    CHECK(t->nodes[gpu].res[4].flags & BS_RF_ASSIGNED);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_rom(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, BS_CMD_MEM, 0);
    CHECK_EQ(rd(vm, gpu, 0x30, 4), 0xc1100000);
    wr(vm, gpu, 0x30, 4, 0xfffff800);
    CHECK_EQ(rd(vm, gpu, 0x30, 4), 0xfff80000); /* 512K, disabled */
    wr(vm, gpu, 0x30, 4, 0xc1100000);
    bs_vm_range r[16];
    int n = bs_vm_mapped(vm, r, 16);
    bool rom = false;
    for (int i = 0; i < n; i++)
        rom |= r[i].node == gpu && r[i].bar == BS_BAR_ROM;
    CHECK(!rom); /* decode on, ROM enable off: not mapped */
    wr(vm, gpu, 0x30, 1, 0x01);
    CHECK_EQ(rd(vm, gpu, 0x30, 4), 0xc1100001);
    n = bs_vm_mapped(vm, r, 16);
    for (int i = 0; i < n; i++)
        if (r[i].node == gpu && r[i].bar == BS_BAR_ROM) {
            rom = true;
            CHECK_EQ(r[i].gpa, 0xc1100000);
            CHECK_EQ(r[i].size, 512 * 1024);
        }
    CHECK(rom);
    /* Reserved bits 10:1 read zero. */
    wr(vm, gpu, 0x30, 2, 0x07fe);
    CHECK_EQ(rd(vm, gpu, 0x30, 4), 0xc1100000);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_bridge(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, BS_CMD_MEM, 0);
    CHECK_EQ(rd(vm, rp, 0x18, 4) & 0xffffff, 0x010100); /* 0 -> 1..1 */
    CHECK_EQ(rd(vm, rp, 0x1c, 2), 0x1010);              /* 16-bit I/O */
    CHECK_EQ(rd(vm, rp, 0x20, 4), 0xc1f0c000);
    CHECK_EQ(rd(vm, rp, 0x24, 4), 0xfff10001);          /* 64-bit pref */
    CHECK_EQ(rd(vm, rp, 0x28, 4), 0x100);
    CHECK_EQ(rd(vm, rp, 0x2c, 4), 0x13f);
    CHECK_EQ(rd(vm, rp, 0x04, 2), BS_CMD_IO | BS_CMD_MEM);
    /* Low nibbles are read-only (type bits). */
    wr(vm, rp, 0x1c, 2, 0xffff);
    CHECK_EQ(rd(vm, rp, 0x1c, 2), 0xf0f0);
    wr(vm, rp, 0x1c, 2, 0x1010);
    wr(vm, rp, 0x24, 2, 0xffff);
    CHECK_EQ(rd(vm, rp, 0x24, 2), 0xfff1);
    /* Moving the pref window: topology follows, the GPU's 128G BAR falls
     * outside it and is unmapped while windows are honoured. */
    wr(vm, rp, 0x28, 4, 0x200);
    wr(vm, rp, 0x2c, 4, 0x23f);
    wr(vm, rp, 0x24, 4, 0xfff10001);
    CHECK_EQ(t->nodes[rp].res[BS_SLOT_WIN_PREF].addr, UINT64_C(0x20000000000));
    CHECK_EQ(t->nodes[rp].res[BS_SLOT_WIN_PREF].size, 256 * G);
    bs_vm_range r[16];
    int n = bs_vm_mapped(vm, r, 16);
    for (int i = 0; i < n; i++)
        CHECK(!(r[i].node == gpu && r[i].bar == 1));
    wr(vm, rp, 0x28, 4, 0x100);
    wr(vm, rp, 0x2c, 4, 0x13f);
    n = bs_vm_mapped(vm, r, 16);
    bool big = false;
    for (int i = 0; i < n; i++)
        big |= r[i].node == gpu && r[i].bar == 1;
    CHECK(big);
    /* Closing the memory window (base > limit). */
    wr(vm, rp, 0x20, 4, 0x0000fff0);
    CHECK(!(t->nodes[rp].res[BS_SLOT_WIN_MEM].flags & BS_RF_ASSIGNED));
    /* Bus numbers are writable. */
    wr(vm, rp, 0x1a, 1, 0x05);
    CHECK_EQ(rd(vm, rp, 0x1a, 1), 5);
    /* I/O upper 16 bits are not implemented (16-bit I/O). */
    wr(vm, rp, 0x30, 4, 0xffffffff);
    CHECK_EQ(rd(vm, rp, 0x30, 4), 0);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_rebar(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, 0, 0);
    CHECK_EQ(rd(vm, gpu, 0x100, 4), 0x00010015);
    CHECK_EQ(rd(vm, gpu, 0x104, 4), ((1u << 10) | (1u << 17)) << 4);
    uint32_t c = rd(vm, gpu, 0x108, 4);
    CHECK_EQ(c & 7, 1);              /* BAR index */
    CHECK_EQ((c >> 5) & 7, 1);       /* one resizable BAR */
    CHECK_EQ((c >> 8) & 0x3f, 17);   /* 128G = 2^17 MiB */
    /* Unsupported size: ignored. */
    wr(vm, gpu, 0x109, 1, 12);
    CHECK_EQ((rd(vm, gpu, 0x108, 4) >> 8) & 0x3f, 17);
    /* Resize to 1G: the sizing mask and the topology follow. */
    wr(vm, gpu, 0x108, 4, (c & ~0x3f00u) | (10u << 8) | 0xffff00f8u);
    CHECK_EQ((rd(vm, gpu, 0x108, 4) >> 8) & 0x3f, 10);
    CHECK_EQ(rd(vm, gpu, 0x108, 4) & 0xff, c & 0xff); /* RO bits kept */
    CHECK_EQ(t->nodes[gpu].res[1].size, 1 * G);
    wr(vm, gpu, 0x14, 4, 0xffffffff);
    wr(vm, gpu, 0x18, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x14, 4), 0xc000000c);
    CHECK_EQ(rd(vm, gpu, 0x18, 4), 0xffffffff);
    wr(vm, gpu, 0x14, 4, 0);
    wr(vm, gpu, 0x18, 4, 0x100);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_lock_while_decoding(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, BS_CMD_MEM, 1);
    wr(vm, gpu, 0x10, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xc0000000); /* ignored (Hyper-V) */
    wr(vm, gpu, 0x1c, 4, 0xffffffff);          /* I/O decode is off */
    CHECK_EQ(rd(vm, gpu, 0x1c, 4), 0xffffff01);
    wr(vm, gpu, 0x1c, 4, 0x1000);
    wr(vm, gpu, 0x04, 2, 0);
    wr(vm, gpu, 0x10, 4, 0xffffffff);
    CHECK_EQ(rd(vm, gpu, 0x10, 4), 0xff000000);
    bs_vm_free(vm);
    bs_topo_free(t);
}

static void test_bdf(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    int a = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "fn0");
    int b = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "fn1");
    int h = bs_topo_add_node(t, 0, BS_NODE_DEVICE, "host");
    t->nodes[a].slot = 5;
    t->nodes[a].fn = 0;
    t->nodes[b].slot = 5;
    t->nodes[b].fn = 1;
    snprintf(t->nodes[h].model, BS_MODEL_MAX, "q35-host");
    bs_vm *vm = new_vm(t, 0, 0);
    unsigned bus, dev, fn;
    CHECK_EQ(bs_vm_bdf(vm, h, &bus, &dev, &fn), BS_OK);
    CHECK_EQ(bus * 256 + dev * 8 + fn, 0);
    CHECK_EQ(bs_vm_bdf(vm, rp, &bus, &dev, &fn), BS_OK);
    CHECK_EQ(bus * 256 + dev * 8 + fn, 1 * 8); /* first free: 01.0 */
    CHECK_EQ(bs_vm_bdf(vm, nic, &bus, &dev, &fn), BS_OK);
    CHECK_EQ(bus * 256 + dev * 8 + fn, 2 * 8);
    CHECK_EQ(bs_vm_bdf(vm, gpu, &bus, &dev, &fn), BS_OK);
    CHECK_EQ(bus * 256 + dev * 8 + fn, 256);   /* 01:00.0 */
    CHECK_EQ(bs_vm_find_bdf(vm, 0, 5, 1), b);
    CHECK_EQ(bs_vm_find_bdf(vm, 7, 0, 0), BS_ENOENT);
    CHECK_EQ(rd(vm, a, 0x0e, 1), 0x80);        /* multi-function */
    CHECK_EQ(rd(vm, b, 0x0e, 1), 0x00);
    uint32_t v = 0;
    CHECK_EQ(bs_cfg_read_bdf(vm, 1, 0, 0, 0, 4, &v), BS_OK);
    CHECK_EQ(v, 0x20b510de);
    CHECK_EQ(bs_cfg_read_bdf(vm, 9, 0, 0, 0, 2, &v), BS_ENOENT);
    CHECK_EQ(v, 0xffff);
    CHECK_EQ(bs_cfg_write_bdf(vm, 1, 0, 0, 0x04, 2, BS_CMD_MEM), BS_OK);
    CHECK_EQ(rd(vm, gpu, 0x04, 2), BS_CMD_MEM);
    CHECK_EQ(bs_vm_set_bdf(vm, nic, 0, 5, 0), BS_EINVAL); /* taken */
    CHECK_EQ(bs_vm_set_bdf(vm, nic, 0, 9, 0), BS_OK);
    CHECK_EQ(bs_vm_find_bdf(vm, 0, 9, 0), nic);
    bs_cfg_ids ids;
    CHECK_EQ(bs_vm_get_ids(vm, nic, &ids), BS_OK);
    ids.vendor = 0x1af4;
    ids.device = 0x1041;
    CHECK_EQ(bs_vm_set_ids(vm, nic, &ids), BS_OK);
    CHECK_EQ(rd(vm, nic, 0x00, 4), 0x10411af4);
    ids.vendor = 0xffff;
    CHECK_EQ(bs_vm_set_ids(vm, nic, &ids), BS_EINVAL);
    bs_vm_free(vm);
    /* Two nodes claiming one address: refused. */
    t->nodes[b].fn = 0;
    bs_vm *bad = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_vm_new(t, NULL, &bad, &e), BS_EINVAL);
    CHECK(bad == NULL);
    CHECK(e.msg[0] != 0);
    bs_topo_free(t);
}

/* A planner moves things in the topology; reload makes the registers and
 * the mappings follow. */
static void test_reload(void)
{
    int rp, gpu, nic;
    bs_topo *t = machine(&rp, &gpu, &nic);
    bs_vm *vm = new_vm(t, BS_CMD_MEM, 0);
    t->nodes[nic].res[0].addr = 0xc3000000;
    t->nodes[gpu].res[1].addr = (UINT64_C(1) << 40) + 128 * G;
    t->nodes[rp].res[BS_SLOT_WIN_PREF].size = 512 * G;
    CHECK(bs_vm_check(vm, NULL, 0) > 0); /* registers now disagree */
    CHECK_EQ(bs_vm_reload(vm), BS_OK);
    CHECK_EQ(rd(vm, nic, 0x10, 4), 0xc3000004);
    CHECK_EQ(rd(vm, gpu, 0x18, 4), 0x120);
    CHECK_EQ(rd(vm, rp, 0x2c, 4), 0x17f);
    bs_vm_range r[16];
    int n = bs_vm_mapped(vm, r, 16);
    bool moved = false;
    for (int i = 0; i < n; i++)
        moved |= r[i].node == gpu && r[i].bar == 1 &&
                 r[i].gpa == (UINT64_C(1) << 40) + 128 * G;
    CHECK(moved);
    CHECK_EQ(bs_vm_check(vm, NULL, 0), 0);
    bs_vm_free(vm);
    bs_topo_free(t);
}

/* A host bridge that translates: registers hold bus addresses, the
 * topology and the guest's mappings CPU addresses; a BAR moved by a config
 * write lands in the topology translated back. */
static void test_bus_offset(void)
{
    static const char text[] =
        "window mem 0xe180000000-0xe1ffffffff bus=0x80000000\n"
        "bridge rp {\n"
        "    device nic {\n"
        "        bar 0 mem32 1M\n"
        "    }\n"
        "}\n";
    bs_topo *t = NULL;
    bs_error e = {0};
    CHECK_EQ(bs_topo_parse(text, sizeof text - 1, "tra", &t, &e), BS_OK);
    if (!t)
        return;
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_LINUX);
    CHECK_EQ(bs_assign(t, &ao, &e), BS_OK);
    int rp = bs_topo_find(t, "rp"), nic = bs_topo_find(t, "nic");
    bs_res_info r;
    bs_topo_res_info(t, nic, BS_SLOT_BAR0, &r);
    CHECK_EQ(r.addr, UINT64_C(0xe180000000));
    bs_vm *vm = new_vm(t, BS_CMD_MEM, 0);
    if (!vm) {
        bs_topo_free(t);
        return;
    }
    CHECK_EQ(rd(vm, nic, 0x10, 4), 0x80000000);
    CHECK_EQ(rd(vm, rp, 0x20, 2), 0x8000); /* memory base, bus address */
    bs_vm_range m[4];
    int n = bs_vm_decoded(vm, m, 4);
    bool cpu = false;
    for (int i = 0; i < n; i++)
        cpu |= m[i].node == nic && m[i].gpa == UINT64_C(0xe180000000);
    CHECK(cpu);
    wr(vm, nic, 0x10, 4, 0x80000000); /* rewrite: still the same place */
    bs_topo_res_info(bs_vm_topo(vm), nic, BS_SLOT_BAR0, &r);
    CHECK_EQ(r.addr, UINT64_C(0xe180000000));
    char msg[200];
    CHECK_EQ(bs_vm_check(vm, msg, sizeof msg), BS_OK);
    bs_vm_free(vm);
    bs_topo_free(t);
}

int main(void)
{
    test_bus_offset();
    test_identity_and_access();
    test_command();
    test_bar_sizing();
    test_partial_bar_writes();
    test_rom();
    test_bridge();
    test_rebar();
    test_lock_while_decoding();
    test_bdf();
    test_reload();
    TEST_DONE("test_cfgspace");
}
