/*
 * Pictures of an address space: an assigned topology drawn as a map (SVG,
 * a self-contained HTML page, a text map for terminals, or the same map as
 * JSON), a before/after map of a rebalancing with the moves as arrows, and
 * an HTML report of a churn run.
 *
 * The map.  Each root window is one panel.  Extents inside a window are laid
 * out left to right in address order; the width of every leaf extent (a
 * BAR, a free gap, the largest free aligned block) is proportional to
 * log2 of its size, so that 4 KiB and 1 TiB extents are both visible; a
 * bridge window is a band spanning exactly its contents, nested below its
 * parent's band.  BARs are coloured by device.  Free gaps are hatched and
 * the largest free naturally aligned block of every window is drawn as an
 * extent of its own.  Failures and resources without an address are listed.
 *
 * Output is snprintf-style: pass buf = NULL and cap = 0 to learn the length
 * (*len, excluding the terminating NUL), allocate len + 1, call again.
 * When cap > 0 the output is always NUL-terminated, truncated if needed.
 * Functions return BS_OK, BS_EINVAL (bad arguments) or BS_ENOMEM.
 */
#ifndef BARSPACE_RENDER_H
#define BARSPACE_RENDER_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

enum bs_render_format {
    BS_RENDER_TEXT = 0,   /* terminal map, at most `width` columns */
    BS_RENDER_SVG = 1,    /* standalone SVG document */
    BS_RENDER_HTML = 2,   /* self-contained HTML page (inline SVG, no fetches) */
    BS_RENDER_JSON = 3    /* the map's extents, schema barspace.map/1 */
};

typedef struct bs_render_opts {
    int format;           /* enum bs_render_format */
    int width;            /* text: columns (default 100, at least 60);
                             SVG/HTML: pixels (default 1400, at least 600) */
    int list;             /* text: also list every extent with its address */
    const char *title;    /* heading; NULL: the topology's name */
    const char *subtitle; /* second heading line (e.g. "policy linux"); NULL */
} bs_render_opts;

void bs_render_opts_init(bs_render_opts *o, int format);

/* The map of a topology (assigned, partly assigned or not at all). */
int bs_render_map(const bs_topo *t, const bs_render_opts *o, char *buf,
                  size_t cap, size_t *len);

/* Two maps of the same topology, before and after a rebalancing, with an
 * arrow for every BAR that moved.  Nodes are matched by name and slot. */
int bs_render_map_diff(const bs_topo *before, const bs_topo *after,
                       const bs_render_opts *o, char *buf, size_t cap,
                       size_t *len);

/* ------------------------------------------------------------ churn report */

/* Figures of a churn run after one event (or a sample of events). */
typedef struct bs_render_point {
    uint64_t event;        /* event number: the x axis, non-decreasing */
    double fragmentation;  /* 0..1, e.g. 1 - largest free block / free */
    uint64_t free_bytes;
    uint64_t largest_block;/* largest free naturally aligned block */
    uint64_t failures;     /* failed placements so far (cumulative) */
    uint64_t devices;      /* devices present after the event */
} bs_render_point;

/* A state worth a map: "first failure", "end", ... */
typedef struct bs_render_snapshot {
    uint64_t event;
    const char *label;     /* may be NULL */
    const bs_topo *topo;   /* assigned state after that event */
} bs_render_snapshot;

typedef struct bs_render_churn {
    const char *title;       /* NULL: "churn report" */
    const char *description; /* one paragraph of plain text, or NULL */
    const bs_render_point *points;
    size_t npoints;          /* any number: the plot buckets them */
    const bs_render_snapshot *snaps;
    size_t nsnaps;
} bs_render_churn;

/* A self-contained HTML report: fragmentation, largest free block and
 * failures over time as inline SVG plots, snapshot events marked, then the
 * map of every snapshot.  o->format is ignored (always HTML); o may be NULL. */
int bs_render_churn_report(const bs_render_churn *c, const bs_render_opts *o,
                           char *buf, size_t cap, size_t *len);

/* ------------------------------------------------------------- line plot */

typedef struct bs_plot_series {
    const char *label;
    size_t n;
    const double *x, *y;     /* n points, x increasing */
} bs_plot_series;

typedef struct bs_plot {
    const char *title, *xlabel, *ylabel;
    int xsize;               /* x values are byte sizes: log2 axis, "4M" */
    double ymin, ymax;       /* y axis range */
    int ypercent;            /* y ticks as percentages of 1 */
    const bs_plot_series *series;
    size_t nseries;
} bs_plot;

/* A standalone SVG line plot, one polyline and legend entry per series
 * (fleet studies: failure probability against gap size). */
int bs_render_plot_svg(const bs_plot *p, char *buf, size_t cap, size_t *len);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
