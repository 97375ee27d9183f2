/*
 * Window spaces: one address-space allocator (bs_space) per root window and
 * per assigned bridge window of a topology, holding what is placed in that
 * window directly.  Both assignment policies and the churn engine place
 * resources through this set.
 */
#ifndef BS_SPACES_H
#define BS_SPACES_H

#include "core/internal.h"

struct bs_spaces {
    const bs_topo *t;
    bs_space **root; /* [t->nwin] */
    bs_space **win;  /* [cap * BS_BRIDGE_WINDOWS], at bs_win_index() */
    int cap;         /* nodes the win array has room for */
};

/* A space for every root window, empty; no bridge window space yet. */
int bs_spaces_init(struct bs_spaces *sp, const bs_topo *t);
void bs_spaces_fini(struct bs_spaces *sp);
/* Room for bridge window spaces of `nodes` nodes (a topology that grows). */
int bs_spaces_grow(struct bs_spaces *sp, int nodes);
/* The space of root window `win` (node 0) or of window slot `win` of bridge
 * `node`; NULL where there is none. */
bs_space *bs_spaces_get(const struct bs_spaces *sp, int node, int win);
/* (Re)create the space of window `slot` of bridge `node`: empty, spanning
 * the window's range, or none when the window is not assigned. */
int bs_spaces_open(struct bs_spaces *sp, int node, int slot);
/* Reserve in that space what the bridge's children have placed in it
 * (the recorded struct bs_res.win). */
void bs_spaces_claim_children(struct bs_spaces *sp, int node, int slot);
/* Spaces of a topology that is assigned already: every window opened and
 * holding what is placed in it. */
int bs_spaces_build(struct bs_spaces *sp);
/* Candidate windows of bus b for a resource of flags f, in preference
 * order (bs_bus_candidates), with their spaces.  Returns how many. */
int bs_spaces_candidates(const struct bs_spaces *sp, int b, uint32_t f,
                         bs_space **s, int *win, uint64_t *lo, uint64_t *hi,
                         int cap);

#endif
