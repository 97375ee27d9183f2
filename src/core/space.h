/*
 * Internal hooks of the address-space allocator (src/core/space.c) for tests and
 * benchmarks.  Not part of the public API.
 */
#ifndef BS_SPACE_H
#define BS_SPACE_H

#include "barspace/barspace.h"

#include <stddef.h>

/* Check every structural invariant of both trees (order, AVL balance,
 * augmentation values, coalescing, windows exactly covered by free extents
 * plus allocations, counters).  Returns BS_OK, or BS_ESTATE with a
 * description of the first violation in msg. */
int bs_space_validate(const bs_space *s, char *msg, size_t cap);

/* Bytes of heap memory the space holds (struct, node slabs, directories,
 * window array), including slack in partly used slabs. */
size_t bs_space_mem_bytes(const bs_space *s);

#endif
