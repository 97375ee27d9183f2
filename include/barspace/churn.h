/*
 * Churn: events on a running topology (hot-add, hot-remove, replace, Resizable
 * BAR resize, SR-IOV VF count changes, pinning), hot-add placement policies,
 * a seeded churn generator and the event-trace text format (docs/churn.md).
 *
 * A bs_churn owns a copy of an assigned topology and the allocators of every
 * window.  Each event is applied in place; what happened (placed, placed after
 * moving N devices, placed at a reduced size, failed) comes back in a
 * bs_event_result, and the relocation plan of the last event, if any, can be
 * read with bs_churn_last_plan (include/barspace/plan.h).
 */
#ifndef BARSPACE_CHURN_H
#define BARSPACE_CHURN_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

enum bs_event_kind {
    BS_EV_ADD = 1,   /* hot-add a device under a bridge (or the host bus) */
    BS_EV_REMOVE,    /* hot-remove (surprise removal or failure) */
    BS_EV_REPLACE,   /* same slot, another device: remove + add, one event */
    BS_EV_RESIZE,    /* Resizable BAR: ask for another size of one BAR */
    BS_EV_VFS,       /* SR-IOV: change NumVFs (VF regions grow or shrink) */
    BS_EV_PIN,       /* the device must not move from now on */
    BS_EV_UNPIN
};

#define BS_EV_MAX_BARS 8
#define BS_EV_NAME_MAX 48

typedef struct bs_bar_spec {
    int slot;          /* BS_SLOT_BAR0.., BS_SLOT_ROM, BS_SLOT_VF0.. */
    unsigned flags;    /* BS_RF_IO / BS_RF_MEM64 / BS_RF_PREF */
    uint64_t size;     /* bytes of one BAR (VF slots: per VF) */
    uint64_t rebar;    /* Resizable BAR sizes, bit n = 2^n MiB; 0 = none */
} bs_bar_spec;

typedef struct bs_event {
    int kind;                    /* enum bs_event_kind */
    char dev[BS_EV_NAME_MAX];    /* device name */
    char at[BS_EV_NAME_MAX];     /* add: parent bridge name, "host" = root */
    int nbars;                   /* add, replace */
    bs_bar_spec bar[BS_EV_MAX_BARS];
    unsigned num_vfs;            /* add/replace: NumVFs; vfs: new NumVFs */
    int pinned;                  /* add/replace: starts pinned */
    int slot;                    /* resize: which BAR */
    uint64_t size;               /* resize: requested size */
    int line;                    /* line in a trace file, 0 if generated */
} bs_event;

/* Hot-add placement policy. */
enum bs_place_policy {
    BS_PLACE_LINUX = 0,    /* first fit in the slot's window; never moves */
    BS_PLACE_BARSPACE = 1  /* buddy best fit, then a relocation plan, then a
                              reduced Resizable BAR */
};

typedef struct bs_churn_opts {
    int policy;              /* enum bs_place_policy */
    int moves;               /* barspace: allow relocation plans (default 1) */
    int reduce;              /* barspace: allow reduced ReBAR sizes (1) */
    uint64_t plan_budget;    /* planner: feasibility tests per event (0:
                                default 20000) */
    int exact_limit;         /* planner: exhaustive over subsets when a window
                                has at most this many movable units (12) */
    /* Cost model for decode-off time (docs/churn.md): one config write,
     * and one hypervisor unmap or map per byte of BAR (picoseconds). */
    uint64_t cfg_write_ns;   /* default 1000 */
    uint64_t map_ps_per_byte;/* default 7 (1.8 s per 128 GiB unmap+map) */
    uint64_t quiesce_ns;     /* driver quiesce + resume, default 100000 */
    int explain;             /* when a placement fails under a policy that
                                does not move (linux, or moves = 0): also
                                plan, only to report whether moving would
                                have placed it (bs_event_result.feasible).
                                Default 1; 0 leaves feasible at -1 and saves
                                the planner's time on every failure */
    int fifo;                /* barspace: no relocation plan while another
                                device on the slot's bus is still unplaced
                                (failed, not removed): an oversubscribed
                                window is served like moves = 0, so moves
                                never trade later placements for this one
                                and planning stays off the hot path.
                                Default 1 */
    /* linux: the hot-plug window sizes a slot's re-sized window tries
     * first (pci=hpiosize, hpmmiosize, hpmmioprefsize; defaults 256, 2M,
     * 2M as Linux's) */
    uint64_t hp_io, hp_mmio, hp_mmio_pref;
} bs_churn_opts;

void bs_churn_opts_init(bs_churn_opts *o, int policy);

enum bs_outcome {
    BS_OUT_OK = 0,      /* remove / pin / unpin / no-op resize done */
    BS_OUT_PLACED,      /* placed without moving anything */
    BS_OUT_MOVED,       /* placed after moving `moves` devices */
    BS_OUT_REDUCED,     /* placed at less than the requested size */
    BS_OUT_FAILED       /* could not be placed (device left unassigned) */
};

typedef struct bs_event_result {
    int outcome;              /* enum bs_outcome */
    int moves;                /* devices relocated (excluding the subject) */
    int windows;              /* bridge windows resized or moved */
    uint64_t bytes_moved;     /* bytes of BARs relocated */
    uint64_t downtime_ns;     /* sum of per-device decode-off time */
    uint64_t worst_downtime_ns;
    uint64_t want, got;       /* reduced: requested and given size */
    int reduced_node;         /* reduced: which device (may be a neighbour) */
    int feasible;             /* failed: 1 if a placement existed after moving
                                 every movable device (planner limits), 0 if
                                 none, -1 unknown */
    char msg[192];
} bs_event_result;

typedef struct bs_churn bs_churn;

/* Start from topology t (copied).  Unassigned resources are assigned first
 * (policy linux -> the linux model, barspace -> pack).  BS_ENOSPC if the
 * initial assignment fails. */
int bs_churn_new(const bs_topo *t, const bs_churn_opts *o, bs_churn **out,
                 bs_error *err);
void bs_churn_free(bs_churn *c);
/* Apply one event.  BS_OK when the event was processed (whatever its
 * outcome, see res); BS_ENOENT / BS_EINVAL when it does not make sense
 * (unknown device, duplicate name, bad BAR); err says why. */
int bs_churn_apply(bs_churn *c, const bs_event *ev, bs_event_result *res,
                   bs_error *err);
/* The running topology (valid until the next event). */
const bs_topo *bs_churn_topo(const bs_churn *c);
/* Is node id present (removed devices keep their node for reuse)? */
int bs_churn_present(const bs_churn *c, int node);

/* Fragmentation of the windows devices are hot-added into: free bytes and
 * largest free naturally aligned block, summed over those windows; frag =
 * 1 - largest/free (0 = one block, near 1 = dust). */
typedef struct bs_frag {
    uint64_t free_bytes;
    uint64_t largest_block;
    double frag;
} bs_frag;
void bs_churn_frag(const bs_churn *c, bs_frag *out);

/* ---- event trace text format (docs/churn.md) ---- */

/* Parse a whole trace.  *out is malloc'd (caller frees). */
int bs_events_parse(const char *text, size_t len, const char *filename,
                    bs_event **out, int *count, bs_error *err);
/* One event as one line (without newline), snprintf-style. */
size_t bs_event_format(const bs_event *ev, char *buf, size_t cap);

/* ---- seeded generator ---- */

/* Workloads: "nvme" (the seed thread: 25 x 64 KiB controllers in a 4 MiB
 * window, failing and replaced by 64 KiB..256 KiB ones), "gpu" (GPUs behind
 * root ports replaced by generations with growing Resizable BARs), "sriov"
 * (PFs whose NumVFs change), "mixed" (a switch with mixed sizes, pinned p2p
 * targets and a firmware-fixed device).  Options after a colon,
 * comma-separated: "nvme:count=12,window=2M", "mixed:devices=40". */
typedef struct bs_churn_gen bs_churn_gen;

int bs_churn_gen_new(const char *spec, uint64_t seed, bs_churn_gen **out,
                     bs_error *err);
void bs_churn_gen_free(bs_churn_gen *g);
/* The workload's starting topology (owned by the generator). */
const bs_topo *bs_churn_gen_topo(const bs_churn_gen *g);
/* Next event; deterministic in (spec, seed), independent of outcomes. */
int bs_churn_gen_next(bs_churn_gen *g, bs_event *ev);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
