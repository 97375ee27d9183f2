/*
 * libbarspace: PCI BAR address-space management for virtual and real machines.
 *
 * Conventions (SQLite's style: opaque handles made by bs_X_new or a loader
 * and released by bs_X_free; one error convention):
 *   - every object is an opaque handle created and destroyed by the caller;
 *   - functions return BS_OK (0) or a negative BS_E* code;
 *   - a caller-owned bs_error, when passed, receives file, line, column and a
 *     message; the library never prints, never exits, keeps no globals.
 *   - lists an object holds: bs_X_Y_count(x) and a getter by index that
 *     copies into a caller's struct and returns BS_OK or BS_ENOENT
 *     (bs_X_Y_get, or bs_X_Y_info for a description of a part); lists of
 *     strings return const char * (NULL out of range), valid until the
 *     object is freed or changed;
 *   - lists computed on demand: a caller-sized array (out, cap); the
 *     function writes up to cap entries and returns how many there are in
 *     all, so (NULL, 0) asks for the count (bs_check, bs_vm_decoded);
 *   - text, snprintf-like: (buf, cap) receives at most cap - 1 bytes and a
 *     NUL when cap > 0, and the length the whole text needs is returned
 *     (size_t, when nothing can fail: bs_topo_format, bs_error_format) or
 *     stored in *len (when the call returns a BS_* code: bs_render_map);
 *     (NULL, 0) asks for the length.
 *
 * Umbrella header: the topology model, the allocator, assignment and the
 * invariant checker.  Further concepts have headers of their own beside it.
 */
#ifndef BARSPACE_H
#define BARSPACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define BS_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ errors */

enum {
    BS_OK = 0,
    BS_ENOMEM = -1,   /* allocation failed */
    BS_EPARSE = -2,   /* input does not follow its format */
    BS_EINVAL = -3,   /* argument outside its domain */
    BS_ENOSPC = -4,   /* something could not be placed */
    BS_ENOENT = -5,   /* no such node, slot or range */
    BS_ELIMIT = -6,   /* input exceeds a resource limit */
    BS_EIO = -7,      /* a file could not be read or written */
    BS_ESTATE = -8    /* operation not valid in the current state */
};

typedef struct bs_error {
    int code;          /* one of the BS_E* codes */
    char file[256];    /* input file name, "" when not about a file */
    int line;          /* 1-based; 0 when not about a line */
    int col;           /* 1-based; 0 when not about a column */
    char msg[256];
} bs_error;

/* Short constant name of a code, e.g. "ENOSPC". */
const char *bs_strerror(int code);

/* "file:line:col: msg" (parts that are unset are left out), into buf. */
size_t bs_error_format(const bs_error *e, char *buf, size_t cap);

/* ------------------------------------------------------------ allocator */
/*
 * An address space made of windows.  Allocations are ranges of any size with
 * a power-of-two alignment (BARs are naturally aligned powers of two; bridge
 * windows are 1 MiB multiples aligned to their largest child).  Finding the
 * lowest fitting address is O(log n) in the number of free extents.
 */
typedef struct bs_space bs_space;

bs_space *bs_space_new(void);
void bs_space_free(bs_space *s);
/* Windows must not overlap one another; size > 0; base+size may reach 2^64. */
int bs_space_add_window(bs_space *s, uint64_t base, uint64_t size);
/* Lowest address a >= lo with a % align == 0, [a, a+size) free and inside one
 * window, and a+size-1 <= hi.  align is a power of two. */
int bs_space_alloc(bs_space *s, uint64_t size, uint64_t align, uint64_t lo,
                   uint64_t hi, uint64_t *addr);
/* Claim a given range (firmware-fixed BARs); BS_ENOSPC if not entirely free. */
int bs_space_reserve(bs_space *s, uint64_t addr, uint64_t size);
/* Give back a range obtained from alloc or reserve (exact addr and size). */
int bs_space_release(bs_space *s, uint64_t addr, uint64_t size);
/* Largest free naturally aligned power-of-two block inside [lo, hi]. */
uint64_t bs_space_largest_block(const bs_space *s, uint64_t lo, uint64_t hi);

typedef struct bs_space_stats {
    uint64_t window_bytes;  /* sum of window sizes (saturating) */
    uint64_t free_bytes;    /* saturating at UINT64_MAX */
    uint64_t free_extents;  /* maximal free runs */
    uint64_t allocations;   /* live allocations + reservations */
    uint64_t largest_block; /* largest free naturally aligned 2^k block */
    /* blocks[k]: number of disjoint free naturally aligned 2^k-byte blocks
     * available if you carve greedily from each free extent (0..63). */
    uint64_t blocks[64];
} bs_space_stats;
void bs_space_get_stats(const bs_space *s, bs_space_stats *st);

/* ------------------------------------------------------------- topology */
/*
 * A topology is a tree: the host bridge (node 0, the root) with its MMIO/IO
 * windows, bridges (root ports, switch ports) and devices.  Each node has
 * resource slots: six BARs, the expansion ROM, six SR-IOV VF BARs and, for
 * bridges, three windows.  Assignment results live on the slots.
 */
typedef struct bs_topo bs_topo;

enum bs_node_kind { BS_NODE_ROOT = 0, BS_NODE_BRIDGE = 1, BS_NODE_DEVICE = 2 };

enum bs_slot {
    BS_SLOT_BAR0 = 0,      /* .. BS_SLOT_BAR0 + 5 */
    BS_SLOT_ROM = 6,
    BS_SLOT_VF0 = 7,       /* .. BS_SLOT_VF0 + 5: SR-IOV VF BAR regions */
    BS_SLOT_WIN_IO = 13,   /* bridge windows */
    BS_SLOT_WIN_MEM = 14,
    BS_SLOT_WIN_PREF = 15,
    BS_NSLOTS = 16
};

/* Resource flags (bs_res_info.flags, bs_window_info.flags). */
enum {
    BS_RF_IO = 1u << 0,       /* I/O space (else memory) */
    BS_RF_MEM64 = 1u << 1,    /* 64-bit capable memory BAR or window */
    BS_RF_PREF = 1u << 2,     /* prefetchable */
    BS_RF_FIXED = 1u << 3,    /* firmware-fixed address: never moves */
    BS_RF_ASSIGNED = 1u << 4, /* addr is valid */
    BS_RF_FAILED = 1u << 5,   /* the last assignment could not place it */
    BS_RF_REDUCED = 1u << 6,  /* placed at less than its requested size */
    BS_RF_UPPER = 1u << 7     /* slot is the upper half of a 64-bit BAR */
};

/* Node flags. */
enum {
    BS_NF_HOTPLUG = 1u << 0,  /* bridge with a hot-plug slot */
    BS_NF_PINNED = 1u << 1,   /* p2p target / boot device: must never move */
    BS_NF_PREF32 = 1u << 2,   /* bridge's prefetchable window is 32-bit only */
    BS_NF_VPCI = 1u << 3      /* Hyper-V vPCI bus (a bridge node): a root bus
                                 in a PCI domain of its own (docs/hyperv.md) */
};

typedef struct bs_node_info {
    int id;
    int kind;           /* enum bs_node_kind */
    int parent;         /* -1 for the root */
    int depth;          /* root = 0 */
    const char *name;   /* owned by the topology */
    const char *model;  /* optional device model hint ("" if none) */
    unsigned flags;     /* BS_NF_* */
    int line;           /* source line, 0 if built by API */
    int slot, fn;       /* PCI slot/function hint, -1 if unset */
    unsigned num_vfs;
    uint64_t reserve[3];/* bridges: hot-plug reserve for io, mem, pref */
    int domain;         /* vPCI bus: PCI domain number, 0 if none */
} bs_node_info;

typedef struct bs_res_info {
    int node, slot;
    unsigned flags;     /* BS_RF_* */
    uint64_t size;      /* bytes decoded (VF slots: per-VF size x num_vfs) */
    uint64_t align;     /* required alignment */
    uint64_t addr;      /* valid if BS_RF_ASSIGNED */
    uint64_t fixed;     /* firmware address if BS_RF_FIXED */
    uint64_t rebar;     /* Resizable BAR sizes: bit n set = 2^n MiB supported */
    uint64_t want;      /* requested size when BS_RF_REDUCED, else = size */
    int win;            /* where placed: root window index, or parent slot */
} bs_res_info;

typedef struct bs_window_info {
    int index;
    unsigned flags;     /* BS_RF_IO, BS_RF_PREF; memory above 4 GiB is 64-bit */
    uint64_t base, size;
    int line;
    uint64_t bus_offset; /* CPU address - bus address (mod 2^64); 0: none */
} bs_window_info;

bs_topo *bs_topo_new(const char *name);
void bs_topo_free(bs_topo *t);
bs_topo *bs_topo_clone(const bs_topo *t);

/* Parse the text format (docs/topology-format.md).  `filename` is only used
 * in error messages. */
int bs_topo_parse(const char *text, size_t len, const char *filename,
                  bs_topo **out, bs_error *err);
int bs_topo_load(const char *path, bs_topo **out, bs_error *err);
/* Write the text format, snprintf-style: returns the length needed. */
size_t bs_topo_format(const bs_topo *t, char *buf, size_t cap);
/* The same with the current assignment (at=, win-io/mem/pref=). */
size_t bs_topo_format_assigned(const bs_topo *t, char *buf, size_t cap);

const char *bs_topo_name(const bs_topo *t);
int bs_topo_node_count(const bs_topo *t);
int bs_topo_node_info(const bs_topo *t, int node, bs_node_info *out);
int bs_topo_res_info(const bs_topo *t, int node, int slot, bs_res_info *out);
int bs_topo_window_count(const bs_topo *t);
int bs_topo_window_info(const bs_topo *t, int index, bs_window_info *out);
int bs_topo_find(const bs_topo *t, const char *name); /* node id or BS_ENOENT */
/* "BAR2", "ROM", "VF BAR0", "io window", ... */
const char *bs_slot_name(int slot);

/* Building by API (importers, VMMs). */
int bs_topo_add_window(bs_topo *t, unsigned flags, uint64_t base,
                       uint64_t size);
/* Bus-address translation: the host bridge decodes root window `index` at
 * bus address bus_base (a device's BAR register holds the bus address; the
 * topology's addresses are CPU addresses).  32-bit-ness is decided by the
 * bus address.  BS_EINVAL if the bus range would run past 2^64 (or 0xffff
 * for I/O). */
int bs_topo_set_window_bus(bs_topo *t, int index, uint64_t bus_base);
/* Bus address of CPU address `cpu` in the I/O (flags & BS_RF_IO) or
 * memory space: cpu minus the offset of the root window holding it (cpu
 * itself outside every root window). */
uint64_t bs_topo_bus_addr(const bs_topo *t, uint64_t cpu, unsigned flags);
/* Returns the new node id, or a negative code. */
int bs_topo_add_node(bs_topo *t, int parent, int kind, const char *name);
/* Describe a BAR/ROM/VF BAR.  size: bytes of one BAR (per VF for VF slots);
 * flags from BS_RF_IO/MEM64/PREF/FIXED; fixed: firmware address. */
int bs_topo_set_bar(bs_topo *t, int node, int slot, unsigned flags,
                    uint64_t size, uint64_t fixed);

/* ------------------------------------------------- Hyper-V platform */
/* On Hyper-V (docs/hyperv.md) the root windows are VMBus's MMIO gaps, one of
 * them holds the synthetic framebuffer, and every passed-through function
 * sits on a vPCI bus of its own (a bridge node flagged BS_NF_VPCI); the
 * VMBus placement and guest-log reading are in barspace/hyperv.h. */
enum bs_platform { BS_PLATFORM_PC = 0, BS_PLATFORM_HYPERV = 1 };

/* Size of a vPCI bus's config window and its alignment (pci-hyperv's
 * PCI_CONFIG_MMIO_LENGTH, page aligned). */
#define BS_HV_CFG_SIZE 0x2000u
#define BS_HV_CFG_ALIGN 0x1000u

int bs_topo_platform(const bs_topo *t);
int bs_topo_set_platform(bs_topo *t, int platform);
/* The framebuffer as declared (the size VMBus starts its claim with).
 * BS_ENOENT if none. */
int bs_hv_framebuffer(const bs_topo *t, uint64_t *base, uint64_t *size);
int bs_hv_set_framebuffer(bs_topo *t, uint64_t base, uint64_t size);
/* Add a vPCI bus on the root bus; domain 0 picks the lowest free number.
 * Returns the node id or a negative code. */
int bs_hv_add_bus(bs_topo *t, const char *name, int domain);

/* MMIO a vPCI bus asks VMBus for: the page-rounded sizes of its devices'
 * 32-bit BARs (low) and 64-bit BARs (high), as survey_child_resources adds
 * them up. */
int bs_hv_bus_need(const bs_topo *t, int bus, uint64_t *low, uint64_t *high);
/* The alignment pci-hyperv asks for: the largest power of two <= need. */
uint64_t bs_hv_align(uint64_t need);

/* ----------------------------------------------------------- assignment */

enum bs_policy { BS_POLICY_LINUX = 0, BS_POLICY_PACK = 1 };

/* Linux versions the linux policy can model, as MAJOR * 100 + MINOR.
 * BS_KERNEL_NEWEST (0) stands for the newest modelled one. */
enum bs_kernel {
    BS_KERNEL_NEWEST = 0,
    BS_KERNEL_6_1 = 601,
    BS_KERNEL_6_12 = 612,
    BS_KERNEL_7_2 = 702
};

typedef struct bs_assign_opts {
    int policy;            /* enum bs_policy */
    int kernel;            /* linux: enum bs_kernel (0: the newest modelled) */
    int realloc;           /* linux: pci=realloc: 1 on, -1 off, 0 auto (on
                              when SR-IOV VF BARs exist, as Linux does) */
    uint64_t hp_io;        /* linux: pci=hpiosize (default 256) */
    uint64_t hp_mmio;      /* linux: pci=hpmmiosize (default 2 MiB) */
    uint64_t hp_mmio_pref; /* linux: pci=hpmmioprefsize (default 2 MiB) */
    uint64_t search_budget;/* pack: exact-search node budget (0: default) */
} bs_assign_opts;

void bs_assign_opts_init(bs_assign_opts *o, int policy);

/* The one vocabulary of policy names, for every command and caller:
 * "linux" (the newest modelled kernel), "linux-X.Y" (one modelled kernel),
 * "barspace" (barspace's own policy; "pack" is its older name).  Sets
 * *policy (enum bs_policy) and *kernel (enum bs_kernel); BS_EINVAL for an
 * unknown name, with the accepted names in err. */
int bs_policy_parse(const char *name, int *policy, int *kernel, bs_error *err);
/* The canonical name of a policy and kernel ("linux-6.1", "barspace"). */
const char *bs_policy_name(int policy, int kernel);
/* The modelled kernel that stands for a Linux release string ("6.1.0-57-
 * cloud-amd64", "7.2.13+deb14-cloud-amd64", a Debian package name such as
 * "linux-image-6.12.118+deb12-cloud-amd64"): the newest model not newer
 * than the release, the oldest one for an older release.  0 when the
 * string holds no MAJOR.MINOR. */
int bs_kernel_from_release(const char *release);
/* The model for Linux MAJOR * 100 + MINOR (enum bs_kernel): the newest
 * modelled version not above it, the oldest modelled for an older kernel;
 * 0 (unknown) gives the newest. */
int bs_kernel_nearest(int version);

/* Assign every unassigned resource.  Returns BS_OK when all were placed,
 * BS_ENOSPC when some failed (see bs_topo_failure), other codes on error. */
int bs_assign(bs_topo *t, const bs_assign_opts *o, bs_error *err);

/* Bridges whose own hot-plug reserves (io=, mem=, pref=) the policy of o
 * leaves aside: `linux` (Linux has only the global pci=hp*size, applied to
 * every hot-plug bridge) ignores them all, `pack` honours them as minimum
 * sizes.  Returns how many; their node ids go to nodes[0..cap). */
int bs_assign_ignored_reserves(const bs_topo *t, const bs_assign_opts *o,
                               int *nodes, int cap);
/* The same as one sentence for a note in an output ("" and 0 when no
 * reserve is ignored). */
int bs_assign_reserve_note(const bs_topo *t, const bs_assign_opts *o,
                           char *buf, size_t cap);

/* Forget all non-fixed assignments (addresses, failures). */
void bs_topo_unassign(bs_topo *t);

typedef struct bs_failure {
    int node, slot;       /* what could not be placed */
    uint64_t size, align;
    int win_node;         /* where it should have gone: 0 = root window */
    int win;              /* root window index or bridge window slot; -1 none */
    uint64_t shortfall;   /* bytes the window lacked (0 if unknown) */
    int optional;         /* only a hot-plug reserve or SR-IOV extra failed;
                             every device BAR itself was placed */
    char reason[128];
} bs_failure;

int bs_topo_failure_count(const bs_topo *t);
int bs_topo_failure(const bs_topo *t, int i, bs_failure *out);

/* Usage of a root window (node 0, win = window index) or of a bridge
 * window (node = bridge, win = BS_SLOT_WIN_*). */
typedef struct bs_window_usage {
    uint64_t base, size;
    uint64_t used, free;
    uint64_t largest_block;
} bs_window_usage;
int bs_window_usage_get(const bs_topo *t, int node, int win,
                        bs_window_usage *out);

/* Resources that carry an address an assignment gave them; *total
 * (optional) receives how many need one (firmware-fixed ones do not).
 * 0 of a non-zero total: a machine description that was never assigned. */
int bs_topo_assigned_count(const bs_topo *t, int *total);

/* Do a and b describe the same machine?  BS_SAME_DEVICES: the same root
 * windows, the same nodes in the same order with the same BARs (requested
 * sizes and kinds), as two assignments of one file.  BS_SAME_BRIDGES: the
 * same root windows and bridges, devices may differ (a later state after
 * hot-plug) but at least one device is common.  BS_OK, or BS_EINVAL with the
 * first difference in err. */
enum { BS_SAME_DEVICES = 0, BS_SAME_BRIDGES = 1 };
int bs_topo_same_machine(const bs_topo *a, const bs_topo *b, int how,
                         bs_error *err);

/* -------------------------------------------------------------- checker */

enum bs_violation_code {
    BS_V_OUTSIDE = 1,   /* resource not inside a window of the right kind */
    BS_V_ALIGN,         /* not naturally aligned */
    BS_V_OVERLAP,       /* two resources overlap */
    BS_V_SIBLING,       /* sibling bridge windows intersect */
    BS_V_FIXED_MOVED,   /* a fixed resource is not at its fixed address */
    BS_V_PINNED_MOVED,  /* a pinned device moved relative to `before` */
    BS_V_KIND,          /* 32-bit resource above 4 GiB, pref mismatch, ... */
    BS_V_GRANULE        /* bridge window not on its 1 MiB / 4 KiB granule */
};

typedef struct bs_violation {
    int code;
    int node, slot;
    int other_node, other_slot; /* -1 when not about a pair */
    char msg[200];
} bs_violation;

/* Check every invariant.  `before` (may be NULL) is an earlier state of the
 * same topology: pinned devices must not have moved since.  Writes up to
 * `cap` violations and returns how many there are in all (0 = valid), or
 * BS_ENOMEM when it ran out of memory (then nothing is known). */
int bs_check(const bs_topo *t, const bs_topo *before, bs_violation *out,
             int cap);

/* ------------------------------------------------- numbers, sizes, stats */

/* Numbers and sizes in barspace's one grammar, the one the topology format,
 * event traces, generator specs and every command-line option use
 * (docs/topology-format.md, "Numbers and sizes"): decimal or 0x hex; a size
 * may carry a binary unit K M G T P E (64K = 64KiB = 64KB) and be a sum of
 * terms (128G+32M).  BS_OK, BS_EPARSE on bad syntax, BS_ELIMIT beyond
 * 2^64 - 1. */
int bs_parse_size(const char *s, uint64_t *out);
int bs_parse_number(const char *s, uint64_t *out);

/* Read a whole file, the one reader of every parser that takes a path:
 * BS_EIO (cannot open or read: strerror in err), BS_ELIMIT (more than `max`
 * bytes: refused before reading when the size is known, and as soon as the
 * limit is passed for pipes and devices) or BS_ENOMEM, with the file named
 * in err; on BS_OK *out (NUL-terminated, *len bytes) is the caller's. */
int bs_read_file(const char *path, size_t max, char **out, size_t *len,
                 bs_error *err);
/* The same for a text input (topology, trace, log): BS_EPARSE at the first
 * NUL byte, which no text format holds. */
int bs_read_text_file(const char *path, size_t max, char **out, size_t *len,
                      bs_error *err);
/* The largest topology file bs_topo_load reads (a topology holds at most
 * 2^20 nodes; no real one comes near this). */
#define BS_MAX_TOPO_FILE ((size_t)256 << 20)

/* A size as barspace prints it everywhere, exact and parsed back by
 * bs_parse_size: "96", "64K", "128G" for a whole number of one unit;
 * "128G+32M", "16K+32" or "15T+773G+928M" for up to three terms, hex
 * ("0x40100401") otherwise.  Into buf
 * (32 bytes hold any value); returns buf. */
const char *bs_fmt_size(uint64_t v, char *buf, size_t cap);

/* Order statistics of n values, which are sorted in place, by nearest
 * rank (the smallest value with at least that share of the values at or
 * below it): median = v[ceil(n / 2) - 1], p99 = v[ceil(0.99 n) - 1],
 * max = v[n - 1]; all 0 when n is 0. */
typedef struct bs_stats {
    uint64_t median, p99, max;
} bs_stats;
void bs_stats_compute(uint64_t *v, size_t n, bs_stats *out);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
