/*
 * Snapshot and restore of the library state, as a VMM needs for live
 * migration and restart: the topology with its assignment and failures, and
 * a pending relocation plan with how far it got.  The format
 * (docs/snapshot-format.md) is binary, versioned, little-endian whatever the
 * host, with a CRC-32 per section.
 *
 * Restore validates everything before it returns anything: a corrupt,
 * truncated or inconsistent snapshot is refused with BS_EPARSE (BS_ELIMIT
 * for counts beyond the library's limits) and an error naming the byte
 * offset and what was expected there.  It builds new objects and never
 * touches the caller's: on failure *out is left exactly as it was.
 */
#ifndef BARSPACE_SNAPSHOT_H
#define BARSPACE_SNAPSHOT_H

#include "barspace/barspace.h"
#include "barspace/cfgspace.h"
#include "barspace/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define BS_SNAPSHOT_MAJOR 1
#define BS_SNAPSHOT_MINOR 0
/* Largest snapshot bs_snapshot_load reads (bytes). */
#define BS_SNAPSHOT_MAX_FILE (UINT64_C(1) << 30)

/* What a snapshot holds.  topo is required; vm and plan are optional
 * (NULL).  vm, when present, is the emulated machine of topo
 * (bs_vm_topo(vm) == topo): its register files, host mappings, options and
 * counters are saved.  A restored vm has no callbacks (see
 * bs_state_set_callbacks); restore calls none: the mappings a VMM must
 * install on the destination are those bs_vm_mapped reports. */
typedef struct bs_state {
    bs_topo *topo;
    bs_vm *vm;
    bs_pending_plan *plan;
} bs_state;

/* Restore flags. */
enum {
    BS_SNAP_NO_CRC = 1u << 0, /* do not verify checksums (salvage, fuzzing);
                                 every structural check still runs */
    BS_SNAP_CHECK = 1u << 1   /* also refuse a state bs_check finds invalid */
};

/* Serialize st into a malloc'd buffer (*buf, *len; caller frees). */
int bs_snapshot_save(const bs_state *st, unsigned char **buf, size_t *len,
                     bs_error *err);
/* Rebuild a state from a snapshot.  On BS_OK *out holds new objects the
 * caller frees with bs_state_free; on error *out is untouched. */
int bs_snapshot_restore(const void *data, size_t len, unsigned flags,
                        bs_state *out, bs_error *err);

int bs_snapshot_save_file(const bs_state *st, const char *path,
                          bs_error *err);
int bs_snapshot_load_file(const char *path, unsigned flags, bs_state *out,
                          bs_error *err);

/* Free what a state owns and set its members to NULL. */
void bs_state_free(bs_state *st);
/* Give a restored vm the VMM's map/unmap callbacks. */
void bs_state_set_callbacks(bs_state *st, bs_map_fn map, bs_map_fn unmap,
                            void *ctx);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
