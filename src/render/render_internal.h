/*
 * What the map renderers share: a layout model of an assigned topology
 * (windows, their extents in address order, log-scaled widths) and an
 * snprintf-style output writer.
 */
#ifndef BS_RENDER_INTERNAL_H
#define BS_RENDER_INTERNAL_H

#include "barspace/render.h"
#include "core/internal.h"
#include "core/writer.h"

#include <stdarg.h>
#include <stddef.h>

/* ---- layout model ---- */
enum rm_kind {
    RM_BAR = 0,    /* a device's (or bridge's own) BAR, ROM or VF region */
    RM_WIN = 1,    /* a child bridge's window: nested */
    RM_GAP = 2,    /* free */
    RM_BLOCK = 3   /* the window's largest free naturally aligned block */
};

struct rm_item {
    int kind;
    int node, slot;     /* RM_BAR, RM_WIN */
    int child;          /* RM_WIN: index of the nested rm_win */
    uint64_t base, size;
    int depth;          /* 1 for items directly in a root window */
    int overlap;        /* starts below the end of the previous item */
    double x, w;        /* layout in units (see rm_units) */
};

struct rm_win {
    int node, slot;     /* node 0: slot = root window index */
    uint64_t base, size;
    unsigned flags;     /* BS_RF_IO / PREF / MEM64 of what it forwards */
    int depth;          /* 0 for a root window */
    struct rm_item *it;
    int n, cap;
    uint64_t used;      /* bytes covered by items */
    uint64_t largest, largest_addr; /* largest free aligned block, 0 if none */
    int maxdepth;       /* deepest item depth below (inclusive) */
    double units;
};

enum { RM_LOOSE_UNASSIGNED = 0, RM_LOOSE_OUTSIDE = 1 };
struct rm_loose {
    int node, slot, why;
    int failed;         /* also in the failure list */
};

struct rm_model {
    const bs_topo *t;
    struct rm_win *w;   /* root windows first, in declaration order */
    int nw, wcap, nroot;
    struct rm_loose *loose;
    int nloose, loosecap;
    int *colour;        /* per node: colour ordinal, -1 if it has no BAR */
    int ncolour;
    unsigned char *seen;/* per node*BS_NSLOTS: already placed in a window */
};

/* Width of a leaf of this size, in layout units: log2(size) - 8, at least 1. */
double rm_units(uint64_t size);
int rm_build(struct rm_model *m, const bs_topo *t);
void rm_free(struct rm_model *m);
/* Colour of a node's BARs: "hsl(h,s%,l%)" into buf. */
const char *rm_colour(const struct rm_model *m, int node, char *buf, size_t cap);
/* Short human size "128G", "4K", "96" */
const char *rm_size(uint64_t v, char *buf, size_t cap);
/* "root mem0", "rp3 pref" */
const char *rm_win_name(const struct rm_model *m, const struct rm_win *w,
                        char *buf, size_t cap);
/* Count of non-window resources, failures etc. for headings. */
int rm_device_count(const bs_topo *t);

/* What changed between two states of one topology (matched by node name
 * and slot): BARs and bridge windows whose address or assigned state
 * differs. */
struct rm_move {
    int anode, bnode, slot;  /* anode -1: only in the after state (new) */
    const char *name;        /* node name */
    uint64_t from, to, size_from, size_to;
    int was, is;        /* assigned before / after */
};
int rm_moves(const bs_topo *a, const bs_topo *b, struct rm_move **out,
             int *n);
/* A node's name and slot as "gpu3 BAR1". */
/* Node of t named as node i of `other`, -1 if none: the same index when the
 * two states list their nodes in the same order (O(1), the usual case of a
 * before/after pair), else a search by name. */
int rm_node_in(const bs_topo *t, const bs_topo *other, int i);
const char *rm_res_name(const bs_topo *t, int node, int slot, char *buf,
                        size_t cap);

/* Map bodies, per format.  `after`, when not NULL, makes a before/after
 * drawing with the moves. */
void rm_text(struct rw *out, const struct rm_model *m, const bs_render_opts *o);
void rm_text_diff(struct rw *out, const struct rm_model *a,
                  const struct rm_model *b, const bs_render_opts *o);
void rm_json(struct rw *out, const struct rm_model *m, const bs_render_opts *o);
void rm_json_diff(struct rw *out, const struct rm_model *a,
                  const struct rm_model *b, const bs_render_opts *o);
/* An <svg> element (inline in HTML), or a standalone SVG document. */
void rm_svg_inline(struct rw *out, const struct rm_model *m,
                   const struct rm_model *after, const bs_render_opts *o);
void rm_svg_document(struct rw *out, const struct rm_model *m,
                     const struct rm_model *after, const bs_render_opts *o);
void rm_html_document(struct rw *out, const struct rm_model *m,
                      const struct rm_model *after, const bs_render_opts *o);

#endif
