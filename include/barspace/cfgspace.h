/*
 * Config-space and memory-decode emulation for a VMM, and the boot-cost
 * model of the seed (Linux commit 23e118a48acf).
 *
 *   - bs_vm: an emulated machine built from a bs_topo.  The topology stays
 *     the single source of truth for addresses: a guest BAR write that
 *     completes a BAR address updates struct bs_res addr/flags of the same
 *     topology, so bs_check() and planners see what the guest programmed.
 *     The vm keeps the per-function register file (command, BAR latches
 *     including the sizing state, ROM, ReBAR control, bridge base/limit and
 *     bus numbers).
 *   - bs_cfg_read/bs_cfg_write: type-0 and type-1 headers, widths 1/2/4.
 *   - the mapping engine: decode state (command bits, BAR addresses, parent
 *     bridge windows) -> the VMM's map/unmap callbacks, with host policies
 *     eager and deferred, and a cost model of those calls;
 *   - guest models that generate the config traffic of real Linux guests.
 *
 * docs/cfgspace.md describes the register file, docs/boot-cost.md the
 * policies, the cost model and the seed arithmetic.
 */
#ifndef BARSPACE_CFGSPACE_H
#define BARSPACE_CFGSPACE_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ------------------------------------------------------------ constants */

/* Config space size of every function (PCIe: extended space included). */
#define BS_CFG_SIZE 4096u

/* Command register bits (offset 0x04). */
#define BS_CMD_IO 0x0001u
#define BS_CMD_MEM 0x0002u
#define BS_CMD_MASTER 0x0004u
/* Bits a guest can write in the command register; the others read 0. */
#define BS_CMD_WMASK 0x0547u /* IO, MEM, MASTER, PARITY, SERR, INTX_DISABLE */

/* Offset of the Resizable BAR extended capability (ID 0x15) when the
 * function has a resizable BAR; it is the only extended capability. */
#define BS_CFG_REBAR_OFF 0x100u

/* "bar" argument of the callbacks: 0..5 BARs, 6 expansion ROM. */
#define BS_BAR_ROM 6

/* Host mapping policy. */
enum bs_host_policy {
    BS_HOST_EAGER = 0,    /* unmap on every decode-off, map on every
                             decode-on or move while decoding (QEMU,
                             Hyper-V) */
    BS_HOST_DEFERRED = 1  /* keep a mapping across decode-off until the
                             address really changes, something else needs
                             the range, or bs_vm_settle() */
};

/* ------------------------------------------------------------ cost model */
/*
 * Each map or unmap call costs `fixed` seconds plus pages x per-page cost,
 * where the page size is the largest of 1 GiB, 2 MiB, 4 KiB that divides
 * both the range's address and its size (ranges smaller than 4 KiB count as
 * one 4 KiB page).
 */
typedef struct bs_cost_model {
    double fixed;    /* seconds per call */
    double per_4k;   /* seconds per 4 KiB page */
    double per_2m;   /* seconds per 2 MiB page */
    double per_1g;   /* seconds per 1 GiB page */
} bs_cost_model;

/* Default: unmap + map of a naturally aligned 128 GiB BAR costs 1.8 s
 * (the seed's figure); docs/boot-cost.md shows the arithmetic. */
void bs_cost_model_default(bs_cost_model *c);
/* Seconds of one call on [gpa, gpa+size); *pages and *page_size (either may
 * be NULL) receive the page count and the page size used. */
double bs_cost_of(const bs_cost_model *c, uint64_t gpa, uint64_t size,
                  uint64_t *pages, uint64_t *page_size);

/* ------------------------------------------------------------- the vm */

typedef struct bs_vm bs_vm;

/* The VMM's callbacks.  node: topology node id; bar: 0..5 or BS_BAR_ROM.
 * unmap always receives exactly a range an earlier map reported.  Only
 * memory BARs and ROMs are mapped: I/O BARs are trapped port ranges, their
 * decode state is tracked (bs_vm_decoded) but costs nothing. */
typedef void (*bs_map_fn)(void *ctx, uint64_t gpa, uint64_t size, int node,
                          int bar);

typedef struct bs_vm_opts {
    int policy;           /* enum bs_host_policy */
    bs_cost_model cost;   /* used by the counters */
    bs_map_fn map;        /* may be NULL (counting only) */
    bs_map_fn unmap;      /* may be NULL */
    void *ctx;
    /* 1 (default): a BAR is mapped only while every bridge above it
     * forwards the whole range (its command bit and base/limit windows):
     * the guest-physical view a VMM must install.  0: per BAR, regardless
     * of bridges, which is what QEMU's pci_update_mappings add/del trace
     * events report (the window effect lives in QEMU's bridge aliases). */
    int bridge_windows;
    /* 1: BAR and ROM writes are ignored while the function decodes that
     * space (Hyper-V's behaviour); 0 (default): accepted as on hardware. */
    int lock_bars_while_decoding;
    /* Initial command register of functions with an assigned BAR (e.g.
     * BS_CMD_MEM when firmware or the host left decode on); bridges start
     * with IO|MEM when they have windows.  Default 0. */
    unsigned initial_command;
    /* 1: bridge windows nobody assigned read as QEMU's x3130/xio3130
     * switch ports reset them, all zeros, i.e. open at 0 (the topology is
     * updated to say so); 0 (default): closed, as pcie-root-port and
     * firmware-visible hardware leave them.  The QEMU-trace replayer sets
     * it so that reads compare exactly. */
    int qemu_switch_reset;
} bs_vm_opts;

void bs_vm_opts_init(bs_vm_opts *o);

/* Build the machine from the topology: BAR registers hold the assigned
 * addresses (unassigned read 0), bridge base/limit registers the assigned
 * windows (none: base > limit), bus numbers and device numbers as below.
 * The topology must outlive the vm and keep its shape (no nodes added);
 * bs_topo_unassign/bs_assign may run while no guest access is in flight,
 * followed by bs_vm_reload().  BS_ELIMIT when more than 255 buses. */
int bs_vm_new(bs_topo *t, const bs_vm_opts *o, bs_vm **out, bs_error *err);
void bs_vm_free(bs_vm *vm);
/* Re-read BAR and window registers from the topology (mappings follow). */
int bs_vm_reload(bs_vm *vm);
bs_topo *bs_vm_topo(bs_vm *vm);

/* ---- addressing by bus/device/function ----
 * Bus numbers: the root bus is 0; bridges get secondary bus numbers in
 * depth-first order of the tree (children in topology order), as firmware
 * numbers them; subordinate = highest bus below.  Device/function: the
 * node's slot=/fn= hints when set; the q35 built-ins by model ("q35-host"
 * 00.0, "lpc" 1f.0, "ahci"/"ich9-ahci" 1f.2, "smbus" 1f.3); otherwise the
 * first free device number on its bus (on bus 0 numbers 0 and 0x1f are
 * reserved for the host bridge and the ICH9), function 0.  A replayer can
 * override any of this with bs_vm_set_bdf (e.g. with bs_qemu_node_addr).
 * The root node itself has no config space. */
int bs_vm_bdf(const bs_vm *vm, int node, unsigned *bus, unsigned *dev,
              unsigned *fn);
/* Node at bus/dev/fn, or BS_ENOENT (reads there return all-ones). */
int bs_vm_find_bdf(const bs_vm *vm, unsigned bus, unsigned dev, unsigned fn);
/* BS_EINVAL if another node already has that address. */
int bs_vm_set_bdf(bs_vm *vm, int node, unsigned bus, unsigned dev,
                  unsigned fn);

/* ---- identity registers (read-only to the guest) ----
 * Defaults by model: "pcie-root-port"/"root-port" 1b36:000c class 060400,
 * "switch-upstream" 104c:8232, "switch-downstream" 104c:8233, "nvme"
 * 1b36:0010 class 010802, "e1000e"/"nic" 8086:10d3 class 020000, "vga"
 * 1234:1111 class 030000, "ivshmem" 1af4:1110 class 050000, "gpu-*"
 * 10de:20b5 class 030200, "q35-host" 8086:29c0 class 060000, "lpc"
 * 8086:2918 class 060100, "ahci" 8086:2922 class 010601, "smbus" 8086:2930
 * class 0c0500.  Any other bridge 1b36:0001 class 060400 (QEMU's
 * pci-bridge), any other device 1b36:0005 class 00ff00 (QEMU's test
 * device); never 0xffff.  Subsystem = vendor:device, revision 0, interrupt
 * pin 1 (INTA). */
typedef struct bs_cfg_ids {
    uint16_t vendor, device;
    uint16_t subsys_vendor, subsys;
    uint8_t revision;
    uint32_t class_code;  /* 24 bits: class, subclass, prog-if */
    uint8_t int_pin;
} bs_cfg_ids;
int bs_vm_get_ids(const bs_vm *vm, int node, bs_cfg_ids *out);
int bs_vm_set_ids(bs_vm *vm, int node, const bs_cfg_ids *ids);

/* ---- config accesses ----
 * width 1, 2 or 4; offset < BS_CFG_SIZE and a multiple of width, else
 * BS_EINVAL; node without config space: BS_ENOENT.  Reads are exact
 * (identity, command, status = 0, BARs with their flag bits and sizing
 * masks, ROM, bridge registers, ReBAR); unimplemented registers read 0 and
 * ignore writes.  A write may call the map/unmap callbacks before it
 * returns. */
int bs_cfg_read(bs_vm *vm, int node, unsigned offset, unsigned width,
                uint32_t *val);
int bs_cfg_write(bs_vm *vm, int node, unsigned offset, unsigned width,
                 uint32_t value);
/* Same, addressed by bus/device/function (BS_ENOENT: nothing there; a read
 * then also sets *val to all-ones of the width, as the bus would). */
int bs_cfg_read_bdf(bs_vm *vm, unsigned bus, unsigned dev, unsigned fn,
                    unsigned offset, unsigned width, uint32_t *val);
int bs_cfg_write_bdf(bs_vm *vm, unsigned bus, unsigned dev, unsigned fn,
                     unsigned offset, unsigned width, uint32_t value);

/* Deferred policy: drop every kept mapping (one that outlived its decode)
 * whose BAR register no longer names that range, i.e. the guest has moved
 * the BAR and may now give the old space to something else.  A mapping
 * whose register still holds its address stays until the BAR decodes
 * elsewhere or another decoded range needs the space.  Eager: no-op. */
void bs_vm_settle(bs_vm *vm);

/* ---- decode state and its checker ---- */

typedef struct bs_vm_range {
    int node, bar;        /* bar: 0..5 or BS_BAR_ROM */
    uint64_t gpa, size;
    int io;               /* I/O space (else memory) */
} bs_vm_range;

/* What the guest has decoding now (command bit, valid address, bridges
 * forwarding, per opts.bridge_windows) and what the host has mapped now.
 * Up to cap entries into out; returns the total count. */
int bs_vm_decoded(const bs_vm *vm, bs_vm_range *out, int cap);
int bs_vm_mapped(const bs_vm *vm, bs_vm_range *out, int cap);

/* Check, usable after every access: no two host mappings overlap; every
 * mapping is at a range the guest decodes (eager) or decodes or kept
 * across a decode-off (deferred); every decoded range that does not
 * collide with another is mapped; BAR registers agree with the topology's
 * bs_res addr/flags.  Returns the number of problems (0 = consistent) and
 * describes the first one in msg (may be NULL). */
int bs_vm_check(const bs_vm *vm, char *msg, size_t cap);

/* Guest-visible decode conflicts: pairs of decoded memory (or I/O) ranges
 * of different BARs that overlap.  A guest can create them; the host then
 * maps only the first and holds the other back until the conflict ends. */
int bs_vm_decode_conflicts(const bs_vm *vm);

/* ---- counters ---- */

typedef struct bs_decode_stats {
    uint64_t cfg_reads, cfg_writes;
    uint64_t decode_off;      /* memory-decode 1->0 transitions */
    uint64_t decode_on;       /* memory-decode 0->1 transitions */
    uint64_t toggles;         /* off->on round trips (= flips) */
    uint64_t maps, unmaps;    /* callback calls */
    uint64_t bytes_mapped, bytes_unmapped;
    uint64_t pages_mapped, pages_unmapped;
    double seconds;           /* modeled host cost of all calls */
    double toggle_seconds;    /* part of it spent in calls a decode-off
                                 caused (the unmap and its re-map) */
} bs_decode_stats;

/* Per node (node >= 1) or the whole machine (node = -1). */
int bs_vm_stats(const bs_vm *vm, int node, bs_decode_stats *out);
void bs_vm_stats_reset(bs_vm *vm);

/* ---------------------------------------------------------- guest models */

enum bs_guest_model {
    BS_GUEST_LINUX_PREPATCH = 0, /* hv_pci sets decode before the scan;
                                    6.1 sizes per BAR with decode toggled,
                                    rewrites 64-bit BARs with it toggled */
    BS_GUEST_LINUX_PATCHED = 1,  /* 23e118a48acf: decode left clear until
                                    the driver enables the device */
    BS_GUEST_LINUX_613 = 2,      /* 4453f360862e: one toggle per device for
                                    sizing; 64-bit rewrites still toggle */
    /* Plain Linux (no hv_pci) on a machine SeaBIOS programmed: the
     * firmware writes every BAR, runs each option ROM once (ROM enabled,
     * then disabled) and sets decode and bus mastering; Linux claims what
     * it finds (no rewrites) and sizes every function with decode off: */
    BS_GUEST_LINUX_61 = 3,       /* 6.1 and 6.12: per BAR position + ROM */
    BS_GUEST_LINUX_72 = 4        /* 7.2 (4453f360862e, 6.13): once per
                                    function */
};

/* "linux-prepatch", "linux-patched", "linux-6.13", "linux-6.1",
 * "linux-7.2" <-> enum; NULL/-1. */
const char *bs_boot_guest_name(int model);
int bs_boot_guest_parse(const char *name);

typedef struct bs_boot_opts {
    int model;           /* enum bs_guest_model */
    int driver_enable;   /* 1 (default): run the driver-enable phase
                            (pci_enable_device of every endpoint) */
} bs_boot_opts;
void bs_boot_opts_init(bs_boot_opts *o, int model);

/* Run the guest's boot-time config traffic against the vm: the host
 * driver's BAR programming (the addresses assigned in the topology),
 * enumeration, resource update, bs_vm_settle(), then the driver-enable
 * phase (docs/boot-cost.md lists every access).  Needs every BAR of the
 * topology assigned (BS_ESTATE otherwise, naming it in err).  Counters
 * accumulate in the vm (reset them first for a clean figure). */
int bs_boot_run(bs_vm *vm, const bs_boot_opts *o, bs_error *err);

/* The ideal for a topology: one map per assigned, decodable BAR and ROM,
 * no unmaps, under the vm's cost model. */
int bs_vm_ideal(const bs_vm *vm, bs_decode_stats *out);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
