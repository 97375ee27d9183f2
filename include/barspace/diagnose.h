/*
 * Diagnosis of a machine's BAR assignment, usually one rebuilt by the
 * importers (barspace/import.h): what failed and why (which window, how big,
 * how much was free and how fragmented), whether barspace's `pack` policy
 * would fit everything in the same windows, and remedies with numbers, each
 * checked by running the assignment on a copy with the remedy applied.
 */
#ifndef BARSPACE_DIAGNOSE_H
#define BARSPACE_DIAGNOSE_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Why a resource failed, judged on the machine's own final state. */
enum bs_diag_reason {
    BS_DR_NO_WINDOW = 1,  /* no window of its kind exists where it must go */
    BS_DR_PARENT_FAILED,  /* its bridge's window was itself not assigned */
    BS_DR_TOO_SMALL,      /* the window has fewer free bytes than it needs */
    BS_DR_FRAGMENTED,     /* enough free bytes, but no aligned hole */
    BS_DR_ROOM_NOW        /* an aligned hole exists in the final state
                             (ordering, or space freed later) */
};

typedef struct bs_diag_failure {
    int node, slot;
    unsigned flags;         /* BS_RF_* of the resource */
    uint64_t size, align;
    int reason;             /* enum bs_diag_reason */
    int win_node;           /* 0: root windows; else the parent bridge */
    int win;                /* root window index or bridge window slot; -1 */
    uint64_t win_base, win_size;
    uint64_t win_free;      /* free bytes in that window */
    uint64_t win_largest;   /* largest free naturally aligned block */
    uint64_t win_extents;   /* free runs: fragmentation */
    char text[300];         /* one-line explanation with the numbers */
} bs_diag_failure;

enum bs_remedy_kind {
    BS_REMEDY_REALLOC = 1,  /* boot Linux with pci=realloc */
    BS_REMEDY_WIN64,        /* 64-bit root window at least `value` bytes */
    BS_REMEDY_WIN32,        /* 32-bit root memory window at least `value` */
    BS_REMEDY_WINIO,        /* root I/O window at least `value` */
    BS_REMEDY_HP_MMIO_PREF, /* pci=hpmmioprefsize=value */
    BS_REMEDY_HP_MMIO,      /* pci=hpmmiosize=value */
    BS_REMEDY_HP_IO,        /* pci=hpiosize=value */
    BS_REMEDY_REBAR         /* shrink a Resizable BAR (node, slot) to value */
};

typedef struct bs_remedy {
    int kind;               /* enum bs_remedy_kind */
    int node, slot;         /* BS_REMEDY_REBAR */
    uint64_t value;         /* bytes */
    uint64_t base;          /* WIN*: base of the window after the change */
    int win;                /* WIN*: root window changed, -1 = a new one */
    int after;              /* remedy that must be applied first, -1 none */
    char text[400];         /* what to do, with the numbers */
} bs_remedy;

typedef struct bs_diag_summary {
    int failures;           /* resources marked failed (the kernel's) */
    int violations;         /* bs_check on the final state (-1: not run
                               because something failed) */
    int root_windows;
    int vm;                 /* 1 when the devices show a QEMU machine */
    int linux_ok;           /* barspace's linux model, same windows, from
                               scratch: 1 all placed, 0 not, -1 not run */
    int linux_failures;
    int pack_ok;            /* pack policy, same windows: 1, 0, -1 not run */
    int move_plan;          /* would moving working devices (relocation
                               planner, churn.h) place every failed device
                               in the same windows: 1, 0, -1 = does not
                               apply (no root windows, only bridge windows
                               or bridge BARs failed) */
    int move_devices;       /* devices that move, when move_plan is 1 */
} bs_diag_summary;

typedef struct bs_diag bs_diag;

enum {
    BS_DIAG_AUTO = 0,       /* VM or bare metal from the device IDs */
    BS_DIAG_VM = 1,         /* word remedies for QEMU / OVMF */
    BS_DIAG_METAL = 2       /* word remedies for a real machine's firmware */
};

/* Diagnose `t` (not modified).  `machine` is BS_DIAG_AUTO/VM/METAL. */
int bs_diagnose(const bs_topo *t, int machine, bs_diag **out, bs_error *err);
/* A machine description without addresses (a .topo never assigned) has
 * nothing to diagnose: assign it as Linux would (the linux policy, the
 * newest modelled kernel), so that bs_diagnose explains what Linux would
 * fail.  Returns 1 when it assigned, 0 when t already had addresses or
 * recorded failures (an imported machine), or a negative BS_E* code. */
int bs_diagnose_assign_bare(bs_topo *t, bs_error *err);
void bs_diag_free(bs_diag *d);

void bs_diag_get_summary(const bs_diag *d, bs_diag_summary *out);
int bs_diag_failure_count(const bs_diag *d);
int bs_diag_failure_get(const bs_diag *d, int i, bs_diag_failure *out);
int bs_diag_remedy_count(const bs_diag *d);
int bs_diag_remedy_get(const bs_diag *d, int i, bs_remedy *out);

/* Apply remedy i (and the ones it comes after) to `t`, a copy of the
 * diagnosed topology, and set `o` to the assignment options it implies:
 * afterwards bs_assign(t, o) is what the remedy promises to make succeed. */
int bs_diag_apply(const bs_diag *d, int i, bs_topo *t, bs_assign_opts *o);

const char *bs_diag_reason_name(int reason);
const char *bs_remedy_kind_name(int kind);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
