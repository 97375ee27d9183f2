/*
 * Internal state of the emulated machine (bs_vm): shared by cfgspace.c (the
 * register file), decode.c (the mapping engine) and guest.c (guest models).
 */
#ifndef BS_VM_INTERNAL_H
#define BS_VM_INTERNAL_H

#include "core/internal.h"
#include "barspace/cfgspace.h"

#define VM_NBAR 7 /* BAR0..5 and the ROM (index BS_BAR_ROM) */
#define VM_HDR 64 /* bytes of the standard header kept per function */

enum vm_bar_kind {
    VB_NONE = 0, /* not implemented: reads 0, ignores writes */
    VB_MEM32,
    VB_MEM64,    /* lower dword of a 64-bit BAR */
    VB_UPPER,    /* upper dword of the BAR below */
    VB_IO,
    VB_ROM
};

struct vm_map {
    bool mapped;          /* the host has [gpa, gpa+size) mapped */
    bool held;            /* decoded but colliding with a mapped range */
    int32_t tl, tr;       /* mapped: children in the mapping index (-1) */
    int32_t heldpos;      /* held: position in bs_vm.held, else -1 */
    uint64_t gpa, size;
    bool tog_valid;       /* last unmap was caused by a decode drop */
    uint64_t tog_gpa, tog_size;
};

struct vm_fn {
    bool present;         /* has config space (not the root) */
    bool bridge;          /* type-1 header */
    unsigned bus, dev, fn;
    uint8_t cfg[VM_HDR];
    uint8_t wm[VM_HDR];   /* writable bits */
    uint8_t kind[VM_NBAR];
    uint64_t size[VM_NBAR];
    uint32_t raw[VM_NBAR];/* dwords as last written, unmasked (sizing) */
    /* Resizable BAR: entries in capability order. */
    int nrebar;
    int rebar_bar[6];
    uint64_t rebar_mask[6]; /* bit n = 2^n MiB */
    uint32_t rebar_ctrl[6]; /* size field (bits 13:8) value */
    struct vm_map m[VM_NBAR];
    bool had_off;         /* memory decode went 1 -> 0 at least once */
    bs_decode_stats st;
};

struct bs_vm {
    bs_topo *t;
    bs_vm_opts o;
    struct vm_fn *f;      /* indexed by node id */
    int n;
    /* Mapping index: every mapped range, a treap keyed by gpa (mappings
     * never overlap, so the key orders them completely), so that a new
     * mapping finds what it collides with in O(log n), not by scanning
     * every function.  Ids are node * VM_NBAR + bar. */
    int32_t troot;
    /* Held BARs, unordered, so that a config write retries only those. */
    int32_t *held;
    int nheld;
    int32_t *scratch;     /* n * VM_NBAR ids: query results */
    int32_t *retry;       /* n * VM_NBAR ids: the held BARs being retried */
    /* A held BAR can only get its range after an unmap (a change of its
     * own decode reconciles it directly), so held BARs are retried only
     * when unmaps happened since the last retry. */
    uint64_t unmap_gen, retry_gen;
    bs_decode_stats tot;
    int nbus;
};

/* ---- cfgspace.c ---- */
static inline uint32_t vm_rd32(const struct vm_fn *f, unsigned off)
{
    return (uint32_t)f->cfg[off] | (uint32_t)f->cfg[off + 1] << 8 |
           (uint32_t)f->cfg[off + 2] << 16 | (uint32_t)f->cfg[off + 3] << 24;
}
static inline uint16_t vm_rd16(const struct vm_fn *f, unsigned off)
{
    return (uint16_t)(f->cfg[off] | f->cfg[off + 1] << 8);
}
/* Config offset of BAR i (ROM: 0x30 or 0x38). */
unsigned vm_bar_off(const struct vm_fn *f, int i);
/* Address the BAR's registers hold; false while a dword of it is latched
 * for sizing (all address bits written as ones) or not implemented. */
bool vm_bar_addr(const struct vm_fn *f, int i, uint64_t *addr);
/* Bridge window [base, limit] of BS_SLOT_WIN_*; false when base > limit. */
bool vm_window(const struct vm_fn *f, int slot, uint64_t *base,
               uint64_t *limit);

/* ---- decode.c ---- */
/* Range BAR i of node decodes now (command bit, ROM enable, valid address,
 * bridges per opts); false if none. */
bool vm_decoded(const bs_vm *vm, int node, int i, uint64_t *gpa,
                uint64_t *size, int *io);
/* Bring the host mappings of node's BARs (and with `subtree`, of every
 * function below it) in line with the decode state. */
void vm_reconcile(bs_vm *vm, int node, bool subtree);
/* Count a memory-decode transition of node. */
void vm_note_command(bs_vm *vm, int node, uint16_t before, uint16_t after);
/* Allocate the mapping index and held list of a new machine (all empty). */
int vm_index_init(bs_vm *vm);
void vm_index_free(bs_vm *vm);
/* Rebuild both from the mapped/held flags (after a restore wrote them). */
void vm_index_rebuild(bs_vm *vm);

#endif
