/* Collecting a churn run for its HTML report; see churn_report.h. */
#include "churn_report.h"

#include "barspace/render.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Enough points for a plot a few thousand pixels wide; the renderer
 * buckets them further. */
#define MAX_POINTS 4096

enum { SNAP_START, SNAP_FAIL, SNAP_END, NSNAP };

struct churn_report {
    char *path;
    char title[200];
    uint64_t stride, failures, nevents;
    bs_render_point *pts;
    size_t npts;
    bs_topo *snap[NSNAP];
    uint64_t snap_ev[NSNAP];
};

static uint64_t devices(const bs_churn *c)
{
    const bs_topo *t = bs_churn_topo(c);
    uint64_t n = 0;
    for (int i = 1; i < bs_topo_node_count(t); i++) {
        bs_node_info ni;
        if (bs_topo_node_info(t, i, &ni) == BS_OK &&
            ni.kind == BS_NODE_DEVICE && bs_churn_present(c, i))
            n++;
    }
    return n;
}

static void sample(churn_report *r, const bs_churn *c, uint64_t event)
{
    if (r->npts >= MAX_POINTS + 2)
        return;
    bs_frag f;
    bs_churn_frag(c, &f);
    bs_render_point *p = &r->pts[r->npts++];
    p->event = event;
    p->fragmentation = f.frag;
    p->free_bytes = f.free_bytes;
    p->largest_block = f.largest_block;
    p->failures = r->failures;
    p->devices = devices(c);
}

churn_report *churn_report_new(const char *path, const char *title,
                               uint64_t nevents, const bs_churn *c)
{
    if (!path)
        return NULL;
    churn_report *r = calloc(1, sizeof *r);
    if (r) {
        r->pts = malloc(sizeof *r->pts * (MAX_POINTS + 2));
        r->path = malloc(strlen(path) + 1);
        r->snap[SNAP_START] = bs_topo_clone(bs_churn_topo(c));
    }
    if (!r || !r->pts || !r->path || !r->snap[SNAP_START]) {
        fprintf(stderr, "barspace churn: --html: out of memory\n");
        if (r) {
            free(r->pts);
            free(r->path);
            bs_topo_free(r->snap[SNAP_START]);
            free(r);
        }
        return NULL;
    }
    strcpy(r->path, path);
    snprintf(r->title, sizeof r->title, "churn: %s", title ? title : "");
    r->nevents = nevents;
    r->stride = nevents / MAX_POINTS + 1;
    sample(r, c, 0);
    return r;
}

void churn_report_event(churn_report *r, const bs_churn *c, uint64_t event,
                        int outcome)
{
    if (!r)
        return;
    if (outcome == BS_OUT_FAILED) {
        r->failures++;
        if (!r->snap[SNAP_FAIL]) {
            r->snap[SNAP_FAIL] = bs_topo_clone(bs_churn_topo(c));
            r->snap_ev[SNAP_FAIL] = event;
            sample(r, c, event);
            return;
        }
    }
    if (event % r->stride == 0 || event == r->nevents)
        sample(r, c, event);
}

void churn_report_discard(churn_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < NSNAP; i++)
        bs_topo_free(r->snap[i]);
    free(r->pts);
    free(r->path);
    free(r);
}

int churn_report_finish(churn_report *r, const bs_churn *c)
{
    if (!r)
        return 0;
    int rc = 0;
    uint64_t last = r->npts ? r->pts[r->npts - 1].event : 0;
    r->snap[SNAP_END] = bs_topo_clone(bs_churn_topo(c));
    r->snap_ev[SNAP_END] = last;
    static const char *const labels[NSNAP] = {"start", "first failure", "end"};
    bs_render_snapshot s[NSNAP];
    size_t ns = 0;
    for (int i = 0; i < NSNAP; i++)
        if (r->snap[i])
            s[ns++] = (bs_render_snapshot){r->snap_ev[i], labels[i], r->snap[i]};
    char desc[300];
    snprintf(desc, sizeof desc, "%llu events, %llu failed placements. "
             "Fragmentation is 1 - largest free aligned block / free bytes "
             "over the windows devices are hot-added into.",
             (unsigned long long)last, (unsigned long long)r->failures);
    bs_render_churn ch = {r->title, desc, r->pts, r->npts, s, ns};
    size_t len = 0;
    char *buf = NULL;
    int e = bs_render_churn_report(&ch, NULL, NULL, 0, &len);
    if (!e && !(buf = malloc(len + 1)))
        e = BS_ENOMEM;
    if (!e)
        e = bs_render_churn_report(&ch, NULL, buf, len + 1, &len);
    if (e) {
        fprintf(stderr, "barspace churn: --html: %s\n", bs_strerror(e));
        rc = EXIT_BADINPUT;
    } else {
        rc = cli_write_file(r->path, buf, len);
    }
    free(buf);
    churn_report_discard(r);
    return rc;
}
