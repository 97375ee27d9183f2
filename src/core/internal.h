/*
 * Internal definitions shared by the library's source files.  Nothing here is
 * part of the public API: callers see opaque handles and the *_info structs.
 */
#ifndef BS_INTERNAL_H
#define BS_INTERNAL_H

#include "barspace/barspace.h"

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
};

struct bs_rootwin {
    uint32_t flags;           /* BS_RF_IO, BS_RF_PREF */
    uint64_t base, size;
    int line;
};

struct bs_topo {
    char name[64];
    struct bs_node *nodes;    /* nodes[0] is the root */
    int nnodes, cap;
    struct bs_rootwin win[BS_MAX_ROOT_WINDOWS];
    int nwin;
    bs_failure *fail;         /* failures of the last assignment */
    int nfail, failcap;
};

/* ---- topology.c helpers used across the library ---- */
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

#endif
