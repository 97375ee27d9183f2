/*
 * Internal definitions shared by the library's source files.  Nothing here is
 * part of the public API: callers see opaque handles and the *_info structs.
 */
#ifndef BS_INTERNAL_H
#define BS_INTERNAL_H

#include "barspace/barspace.h"
#include "core/lex.h"

#include <stdbool.h>
#include <stdint.h>

#define BS_NAME_MAX 48
#define BS_MODEL_MAX 24
#define BS_MAX_ROOT_WINDOWS 32
/* Hostile-input limits (reliability): a topology larger than this is refused. */
#define BS_MAX_NODES (1 << 20)
#define BS_MAX_DEPTH 64

#define BS_MIB (UINT64_C(1) << 20)
#define BS_GIB (UINT64_C(1) << 30)
#define BS_4G (UINT64_C(1) << 32)

/* Where a resource was placed: a root window or a bridge window slot. */
#define BS_WIN_NONE (-1)

struct bs_res {
    uint64_t size;   /* bytes decoded; 0 = slot not present */
    uint64_t align;  /* power of two */
    uint64_t addr;   /* valid when BS_RF_ASSIGNED */
    uint64_t fixed;  /* firmware address when BS_RF_FIXED */
    uint64_t rebar;  /* Resizable BAR: bit n = 2^n MiB supported */
    uint64_t want;   /* requested size (differs from size when reduced) */
    uint32_t flags;  /* BS_RF_* */
    int win;         /* root window index or parent bridge window slot */
    int line;        /* source line of its description */
};

struct bs_node {
    int kind;                 /* enum bs_node_kind */
    int parent;               /* -1 for the root */
    int first_child, next_sibling, last_child;
    int depth;
    uint32_t flags;           /* BS_NF_* */
    int line;
    int slot, fn;             /* -1 unset */
    unsigned num_vfs;
    uint64_t reserve[3];      /* hot-plug reserve: io, mem, pref */
    char name[BS_NAME_MAX];
    char model[BS_MODEL_MAX];
    struct bs_res res[BS_NSLOTS];
    int domain;               /* vPCI bus: PCI domain (include/barspace/hyperv.h) */
};

struct bs_rootwin {
    uint32_t flags;           /* BS_RF_IO, BS_RF_PREF */
    uint64_t base, size;
    int line;
    /* CPU address minus bus address (Linux's resource_entry offset), modulo
     * 2^64; 0 when the host bridge does not translate.  Every address in a
     * topology is a CPU address; a BAR register holds base - offset. */
    uint64_t offset;
};

struct bs_topo {
    char name[64];
    struct bs_node *nodes;    /* nodes[0] is the root */
    int nnodes, cap;
    struct bs_rootwin win[BS_MAX_ROOT_WINDOWS];
    int nwin;
    bs_failure *fail;         /* failures of the last assignment */
    int nfail, failcap;
    /* Platform (include/barspace/hyperv.h): on Hyper-V the root windows are
     * VMBus's MMIO gaps and [fb_base, +fb_size) the framebuffer it keeps. */
    int platform;
    uint64_t fb_base, fb_size;
    int platform_line, fb_line;
    /* Name index (topology.c): open addressing over node ids, -1 empty,
     * -2 deleted; nused counts both live and deleted entries. */
    int *names;
    size_t ncap, nused, nnamed;
};

/* ---- topology.c helpers used across the library ---- */

/* Assignment of one resource.  These two are the only places that set or
 * clear BS_RF_ASSIGNED, so that an assigned resource always has its address
 * and the window that holds it (struct bs_res.win: a root window index below
 * the host bridge, else the parent's window slot; BS_WIN_NONE where the
 * caller does not know it, e.g. addresses read from a file before
 * bs_topo_locate), and a released one is in no window.  An assigned
 * resource is not failed. */
void bs_res_assign(bs_topo *t, int node, int slot, uint64_t addr, int win);
void bs_res_release(bs_topo *t, int node, int slot);

/* Is anc a proper ancestor of node n (the host bridge is everyone's)? */
bool bs_topo_is_ancestor(const bs_topo *t, int anc, int n);

/* The name index behind bs_topo_find.  bs_topo_add_node indexes every new
 * node; these keep it right when names change outside it:
 *  - bs_topo_rename: give node id another name;
 *  - bs_topo_unindex: node id keeps its name but is no longer found (a
 *    removed hot-plug device whose node waits to be reused);
 *  - bs_topo_reindex: rebuild from the nodes array (a topology read
 *    whole, e.g. from a snapshot); *dup is the first node whose name an
 *    earlier node already has, -1 when every name is unique.
 * Several indexed nodes may share a name; bs_topo_find returns the lowest
 * id, as a scan in tree order would. */
int bs_topo_rename(bs_topo *t, int id, const char *name);
void bs_topo_unindex(bs_topo *t, int id);
int bs_topo_reindex(bs_topo *t, int *dup);

/* Bridge windows per node (io, mem, pref) and where window slot `slot` of
 * node `node` sits in an array that holds them for every node. */
#define BS_BRIDGE_WINDOWS 3
static inline size_t bs_win_index(int node, int slot)
{
    return (size_t)node * BS_BRIDGE_WINDOWS + (size_t)(slot - BS_SLOT_WIN_IO);
}
/* PCIe NumVFs is a 16-bit register. */
#define BS_MAX_VFS 65535u

static inline bool bs_is_pow2(uint64_t x) { return x && !(x & (x - 1)); }
static inline uint64_t bs_align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}
/* Last address of a range, saturating so that base+size = 2^64 works. */
static inline uint64_t bs_last(uint64_t base, uint64_t size)
{
    return base + (size - 1);
}
static inline bool bs_slot_is_window(int slot)
{
    return slot >= BS_SLOT_WIN_IO && slot <= BS_SLOT_WIN_PREF;
}
/* Window slot of a bridge that a resource of these flags would be sized
 * into, following Linux's rule: 64-bit prefetchable goes to the
 * prefetchable window (if the bridge's is 64-bit), I/O to the I/O window,
 * everything else memory into the non-prefetchable window. */
int bs_bridge_slot_for(const struct bs_node *bridge, uint32_t res_flags);

/* Flags a window forwards, as Linux sets them on bus resources: root windows
 * as declared; bridge I/O; memory (32-bit, non-prefetchable); prefetchable
 * (64-bit unless the bridge is pref32). */
uint32_t bs_window_flags(const bs_topo *t, int node, int win);

/* Record, for every assigned resource, which window of its parent holds it
 * (struct bs_res.win), for topologies whose addresses came from outside
 * (a file with at=, an importer). */
void bs_topo_locate(bs_topo *t);

/* Where a resource with flags f may be placed on bus b, in preference
 * order: root windows (64-bit resources above 4 GiB first) or bridge b's
 * windows (prefetchable falling back to memory).  Writes the window (root
 * index or bridge slot) and the [lo, hi] address limits; returns how many. */
int bs_bus_candidates(const bs_topo *t, int b, uint32_t f, int *win,
                      uint64_t *lo, uint64_t *hi, int cap);

/* Bus-address translation (topology.c).  Root window holding CPU address
 * `cpu` in the space of flags (BS_RF_IO or memory), or -1. */
int bs_rootwin_at(const bs_topo *t, uint64_t cpu, uint32_t flags);
/* Last CPU address of root window w whose bus address is below 4 GiB (what
 * a 32-bit BAR or bridge memory window can reach); false if none is. */
bool bs_rootwin_low(const struct bs_rootwin *w, uint64_t *last);
/* The same for the root window holding cpu: the highest CPU address a
 * 32-bit resource placed around cpu may reach (BS_4G - 1 outside windows). */
uint64_t bs_low_limit(const bs_topo *t, uint64_t cpu, uint32_t flags);

/* The inverse of bs_topo_bus_addr: the CPU address of bus address `bus`
 * (the root window whose bus range holds it; itself outside all). */
uint64_t bs_cpu_addr(const bs_topo *t, uint64_t bus, uint32_t flags);
/* Hyper-V vPCI buses (platform.c). */
/* The three ranges a vPCI bus takes from VMBus, in the order pci-hyperv
 * asks for them (hv_pci_probe): config window, low, high. */
enum { BS_HV_CFG = 0, BS_HV_LOW = 1, BS_HV_HIGH = 2, BS_HV_NREQ = 3 };

/* The slot of the bus node that holds each range. */
extern const int bs_hv_req_slot[BS_HV_NREQ];

/* What a bus asks for: size (0 = nothing) and alignment of each range. */
void bs_hv_requests(const bs_topo *t, int bus, uint64_t size[BS_HV_NREQ],
                    uint64_t align[BS_HV_NREQ]);

/* Rules of the Hyper-V platform a parsed topology must follow; errors name
 * the file and line. */
int bs_hv_validate(const bs_topo *t, const char *file, bs_error *err);

/* Hyper-V (platform.c): VMBus's MMIO gaps, sorted by address, cut at the
 * vTPM, those ending below 1 MiB dropped (root window index in win); and
 * the framebuffer claim that holds in the first of them, if any. */
int bs_hv_gaps(const bs_topo *t, uint64_t *base, uint64_t *last, int *win);
bool bs_hv_fb_claim(const bs_topo *t, uint64_t *base, uint64_t *size);
/* ---- the nesting sweep (check.c), for bs_check and the plan step checker
 * ----
 * Ranges of one address space (I/O or memory) must form a laminar family in
 * which the only containment is a bridge window holding ranges of nodes
 * below its bridge.  bs_sweep sorts e by (start, -last; windows first among
 * equal ranges) and walks it with a stack of open ranges; for each range
 * that crosses the innermost open range `top`, or sits inside it without
 * `top` being a window of one of its ancestors, it calls bad(ctx, range,
 * top), which returns true to stop.  A crossing range is not pushed, so the
 * rest of the walk stays laminar.  BS_OK, or BS_ENOMEM. */
struct bs_range {
    uint64_t start, last;
    int node, slot;
};
typedef bool (*bs_sweep_fn)(void *ctx, const struct bs_range *r,
                            const struct bs_range *top);
int bs_sweep(const bs_topo *t, struct bs_range *e, size_t n, bs_sweep_fn bad,
             void *ctx);

/* Room for element n of a growable array of *cap elements of `elem` bytes
 * at *p (grow.c): doubles it, starting at `first`.  false when out of
 * memory; the array is then unchanged. */
bool bs_grow(void **p, int *cap, int n, size_t elem, int first);

/* Append a failure record and return it (NULL only on ENOMEM, when the last
 * record's reason says that more failures were lost). */
bs_failure *bs_failure_add(bs_topo *t, int node, int slot, int win_node,
                           int win, uint64_t shortfall, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void bs_failures_clear(bs_topo *t);

/* Set an error record. */
void bs_seterr(bs_error *e, int code, const char *file, int line, int col,
               const char *fmt, ...);

/* Children iteration. */
#define BS_FOR_CHILDREN(t, parent, c)                                     \
    for (int c = (t)->nodes[(parent)].first_child; c >= 0;                \
         c = (t)->nodes[c].next_sibling)

/* Value of a hexadecimal digit (either case), -1 for any other character;
 * decimal parsers take it when it is below 10. */
static inline int bs_hexval(int c) { return bs_lex_xdigit(c); }

#endif
