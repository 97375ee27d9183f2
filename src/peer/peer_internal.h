/* Shared inside the peer layer: how a topology node is found in a guest
 * report, and the guest's host windows (peer_compare.c). */
#ifndef BARSPACE_PEER_INTERNAL_H
#define BARSPACE_PEER_INTERNAL_H

#include "core/internal.h"
#include "barspace/qemu.h"

/* slot.fn hops from the root bus to node id; returns the depth. */
int bs_peer_node_path(const bs_topo *t, int id, int *slots, int *fns,
                      const char *file, bs_error *err);
/* Replace t's host windows by the guest's (memory above 1 MiB); 1 with a
 * remark in buf when they differ from the topology's or are missing. */
int bs_peer_guest_windows(bs_topo *t, const bs_guest *g, char *buf, size_t cap);

#endif
