/*
 * Self-contained HTML: the map page (inline SVG plus window and failure
 * tables) and the churn report (plots of fragmentation, free space and
 * failures over the events, then the map at chosen events).  Pages carry a
 * Content-Security-Policy that forbids every fetch, so a report opened from
 * a mail attachment or a CI artifact cannot reach the network.
 */
#include "render/render_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void html_head(struct rw *out, const char *title)
{
    rw_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                 "<meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\""
                 "default-src 'none'; style-src 'unsafe-inline'\">\n"
                 "<title>");
    rw_xml(out, title);
    rw_puts(out, "</title>\n<style>\n"
                 "body{font-family:'DejaVu Sans',Verdana,sans-serif;"
                 "margin:16px;color:#222}\n"
                 "h1{font-size:20px}h2{font-size:16px;margin-top:24px}\n"
                 ".map{overflow-x:auto}\n"
                 "table{border-collapse:collapse;font-size:13px}\n"
                 "th,td{padding:2px 10px;border-bottom:1px solid #ddd;"
                 "text-align:right}\n"
                 "th{background:#eceff1}td.l,th.l{text-align:left}\n"
                 ".mono{font-family:'DejaVu Sans Mono',monospace}\n"
                 ".fail{color:#b00020}\n"
                 "p.note{color:#555;max-width:60em}\n"
                 "</style>\n</head>\n<body>\n");
}

static void win_rows(struct rw *out, const struct rm_model *m, int wi)
{
    const struct rm_win *w = &m->w[wi];
    char nm[64], a[32], b[32], c[32], d[32];
    rm_win_name(m, w, nm, sizeof nm);
    rw_printf(out, "<tr><td class=\"l\">%*s", w->depth * 2, "");
    for (int i = 0; i < w->depth; i++)
        rw_puts(out, "&#160;&#160;");
    rw_xml(out, nm);
    rw_printf(out, "</td><td class=\"l mono\">0x%llx-0x%llx</td><td>%s</td>"
                   "<td>%s</td><td>%s</td><td>%s</td></tr>\n",
              (unsigned long long)w->base,
              (unsigned long long)bs_last(w->base, w->size),
              rm_size(w->size, a, sizeof a), rm_size(w->used, b, sizeof b),
              rm_size(w->size - w->used, c, sizeof c),
              w->largest ? rm_size(w->largest, d, sizeof d) : "-");
    for (int i = 0; i < w->n; i++)
        if (w->it[i].kind == RM_WIN && w->it[i].child >= 0)
            win_rows(out, m, w->it[i].child);
}

static void html_tables(struct rw *out, const struct rm_model *m,
                        const char *tag)
{
    const bs_topo *t = m->t;
    rw_printf(out, "<h2>Windows%s%s</h2>\n<table class=\"windows\">"
                   "<tr><th class=\"l\">window</th><th class=\"l\">range</th>"
                   "<th>size</th><th>used</th><th>free</th>"
                   "<th>largest free aligned block</th></tr>\n",
              tag ? ": " : "", tag ? tag : "");
    for (int wi = 0; wi < m->nroot; wi++)
        win_rows(out, m, wi);
    rw_puts(out, "</table>\n");
    int nloose = 0;
    for (int i = 0; i < m->nloose; i++)
        nloose += !m->loose[i].failed || m->loose[i].why == RM_LOOSE_OUTSIDE;
    if (!t->nfail && !nloose) {
        rw_puts(out, "<p>Every resource has an address.</p>\n");
        return;
    }
    char nm[120], sz[32], sf[32];
    rw_printf(out, "<h2 class=\"fail\">Failures%s%s</h2>\n<ul class=\"failures\">\n",
              tag ? ": " : "", tag ? tag : "");
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *f = &t->fail[i];
        rw_puts(out, "<li class=\"fail\">");
        rw_xml(out, rm_res_name(t, f->node, f->slot, nm, sizeof nm));
        rw_printf(out, " %s%s%s%s: ", rm_size(f->size, sz, sizeof sz),
                  f->shortfall ? ", short by " : "",
                  f->shortfall ? rm_size(f->shortfall, sf, sizeof sf) : "",
                  f->optional ? " (optional)" : "");
        rw_xml(out, f->reason);
        rw_puts(out, "</li>\n");
    }
    for (int i = 0; i < m->nloose; i++) {
        const struct rm_loose *l = &m->loose[i];
        if (l->failed && l->why != RM_LOOSE_OUTSIDE)
            continue;
        rw_puts(out, "<li class=\"fail\">");
        rw_xml(out, rm_res_name(t, l->node, l->slot, nm, sizeof nm));
        rw_puts(out, l->why == RM_LOOSE_OUTSIDE
                         ? ": outside every window of its parent</li>\n"
                         : ": no address</li>\n");
    }
    rw_puts(out, "</ul>\n");
}

void rm_html_document(struct rw *out, const struct rm_model *m,
                      const struct rm_model *after, const bs_render_opts *o)
{
    const char *title = o->title ? o->title : m->t->name;
    if (!title[0])
        title = "barspace map";
    html_head(out, title);
    rw_puts(out, "<h1>");
    rw_xml(out, title);
    rw_puts(out, "</h1>\n");
    if (o->subtitle) {
        rw_puts(out, "<p class=\"note\">");
        rw_xml(out, o->subtitle);
        rw_puts(out, "</p>\n");
    }
    rw_puts(out, "<div class=\"map\">\n");
    rm_svg_inline(out, m, after, o);
    rw_puts(out, "</div>\n");
    if (after) {
        struct rm_move *mv;
        int n;
        if (rm_moves(m->t, after->t, &mv, &n)) {
            out->err = BS_ENOMEM;
            return;
        }
        rw_printf(out, "<h2>Moves (%d)</h2>\n<table class=\"moves\"><tr>"
                       "<th class=\"l\">resource</th><th>size</th>"
                       "<th class=\"l\">before</th><th class=\"l\">after</th>"
                       "</tr>\n", n);
        char nm[120], sz[32];
        for (int i = 0; i < n; i++) {
            rw_puts(out, "<tr><td class=\"l\">");
            snprintf(nm, sizeof nm, "%s %s", mv[i].name,
                     bs_slot_name(mv[i].slot));
            rw_xml(out, nm);
            rw_printf(out, "</td><td>%s</td><td class=\"l mono\">",
                      rm_size(mv[i].is ? mv[i].size_to : mv[i].size_from, sz,
                              sizeof sz));
            if (mv[i].was)
                rw_printf(out, "0x%llx", (unsigned long long)mv[i].from);
            else
                rw_puts(out, "(none)");
            rw_puts(out, "</td><td class=\"l mono\">");
            if (mv[i].is)
                rw_printf(out, "0x%llx", (unsigned long long)mv[i].to);
            else
                rw_puts(out, "(none)");
            rw_puts(out, "</td></tr>\n");
        }
        rw_puts(out, "</table>\n");
        free(mv);
        html_tables(out, m, "before");
        html_tables(out, after, "after");
    } else {
        html_tables(out, m, NULL);
    }
    rw_puts(out, "<p class=\"note\">Drawn by barspace " BS_VERSION_STRING
                 ". Extent widths are proportional to log2 of their sizes; "
                 "bridge windows are the nested bands; hover for addresses."
                 "</p>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------ churn report */

enum { PLOT_H = 220, PLOT_L = 70, PLOT_R = 70, PLOT_T = 28, PLOT_B = 34 };

struct bucket {
    uint64_t event;
    double fmin, fmax;
    uint64_t fail, freeb, largest_min, largest_max;
};

static double log2b(uint64_t v) { return v ? log2((double)v) : 0.0; }

static const char *size_tick(int log2v, char *buf, size_t cap)
{
    return bs_fmt_size(UINT64_C(1) << log2v, buf, cap);
}

/* x of an event inside the plot area. */
static double ev_x(uint64_t ev, uint64_t e0, uint64_t e1, double left,
                   double pw)
{
    if (e1 <= e0)
        return left + pw / 2;
    return left + (double)(ev - e0) / (double)(e1 - e0) * pw;
}

static void plot_frame(struct rw *out, double w, const char *title,
                       const char *cls)
{
    rw_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot %s\" "
                   "width=\"%.0f\" height=\"%d\" viewBox=\"0 0 %.0f %d\">"
                   "<style>text{font-family:'DejaVu Sans',Verdana,sans-serif;"
                   "font-size:11px;fill:#333}.ax{stroke:#90a4ae;stroke-width:1}"
                   ".grid{stroke:#eceff1;stroke-width:1}</style>"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
                   "<text x=\"%d\" y=\"16\" style=\"font-weight:bold;"
                   "font-size:13px\">",
              cls, w, PLOT_H, w, PLOT_H, PLOT_L);
    rw_xml(out, title);
    rw_puts(out, "</text>\n");
}

static void plot_markers(struct rw *out, const bs_render_churn *c, uint64_t e0,
                         uint64_t e1, double pw)
{
    for (size_t i = 0; i < c->nsnaps; i++) {
        double x = ev_x(c->snaps[i].event, e0, e1, PLOT_L, pw);
        rw_printf(out, "<line class=\"snap\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                       "y2=\"%d\" stroke=\"#6a1b9a\" stroke-dasharray=\"3 3\"/>"
                       "<text x=\"%.1f\" y=\"%d\" style=\"fill:#6a1b9a;"
                       "font-size:10px\">",
                  x, PLOT_T, x, PLOT_H - PLOT_B, x + 3, PLOT_T + 10 + (int)(i % 3) * 11);
        rw_xml(out, c->snaps[i].label ? c->snaps[i].label : "");
        rw_puts(out, "</text>\n");
    }
}

static void plot_xaxis(struct rw *out, uint64_t e0, uint64_t e1, double pw)
{
    double y = PLOT_H - PLOT_B;
    rw_printf(out, "<line class=\"ax\" x1=\"%d\" y1=\"%.0f\" x2=\"%.1f\" "
                   "y2=\"%.0f\"/>",
              PLOT_L, y, PLOT_L + pw, y);
    for (int k = 0; k <= 4; k++) {
        uint64_t ev = e0 + (uint64_t)((double)(e1 - e0) * k / 4.0);
        double x = ev_x(ev, e0, e1, PLOT_L, pw);
        rw_printf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">"
                       "%llu</text>",
                  x, y + 14, (unsigned long long)ev);
    }
    rw_printf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">event"
                   "</text>\n",
              PLOT_L + pw / 2, y + 28);
}

static void churn_plots(struct rw *out, const bs_render_churn *c, double width)
{
    size_t n = c->npoints;
    double pw = width - PLOT_L - PLOT_R, ph = PLOT_H - PLOT_T - PLOT_B;
    size_t nb = n < (size_t)pw ? n : (size_t)pw;
    if (nb == 0)
        return;
    struct bucket *b = calloc(nb, sizeof *b);
    if (!b) {
        out->err = BS_ENOMEM;
        return;
    }
    uint64_t maxfail = 0, lmax = 0, lmin = UINT64_MAX;
    double fmax_all = 0;
    for (size_t j = 0; j < nb; j++) {
        size_t lo = j * n / nb, hi = (j + 1) * n / nb;
        b[j].event = c->points[lo].event;
        b[j].fmin = 1e9;
        b[j].fmax = -1e9;
        b[j].largest_min = UINT64_MAX;
        for (size_t i = lo; i < hi; i++) {
            const bs_render_point *p = &c->points[i];
            double f = p->fragmentation;
            if (!(f >= 0))   /* also NaN */
                f = 0;
            if (f > 1)
                f = 1;
            if (f < b[j].fmin)
                b[j].fmin = f;
            if (f > b[j].fmax)
                b[j].fmax = f;
            if (p->largest_block < b[j].largest_min)
                b[j].largest_min = p->largest_block;
            if (p->largest_block > b[j].largest_max)
                b[j].largest_max = p->largest_block;
            b[j].fail = p->failures;
            b[j].freeb = p->free_bytes;
            uint64_t vals[2] = {p->largest_block, p->free_bytes};
            for (int k = 0; k < 2; k++) {
                if (vals[k] > lmax)
                    lmax = vals[k];
                if (vals[k] && vals[k] < lmin)
                    lmin = vals[k];
            }
        }
        if (b[j].fail > maxfail)
            maxfail = b[j].fail;
        if (b[j].fmax > fmax_all)
            fmax_all = b[j].fmax;
    }
    uint64_t e0 = c->points[0].event, e1 = c->points[n - 1].event;
    double base = PLOT_H - PLOT_B;

    /* Plot 1: fragmentation (left axis) and failures (right axis). */
    plot_frame(out, width, "fragmentation and failures", "frag");
    for (int k = 0; k <= 4; k++) {
        double y = base - ph * k / 4.0;
        rw_printf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
                       "text-anchor=\"end\">%d%%</text>",
                  PLOT_L, y, PLOT_L + pw, y, PLOT_L - 6, y + 4, k * 25);
    }
    uint64_t fscale = maxfail ? maxfail : 1;
    for (int k = 0; k <= 4; k++) {
        double y = base - ph * k / 4.0;
        rw_printf(out, "<text x=\"%.1f\" y=\"%.1f\" style=\"fill:#b00020\">"
                       "%llu</text>",
                  PLOT_L + pw + 6, y + 4,
                  (unsigned long long)((double)fscale * k / 4.0 + 0.5));
    }
    /* Min..max envelope of each bucket, then its maximum as a line. */
    rw_puts(out, "<polygon class=\"frag-band\" fill=\"#90caf9\" "
                 "fill-opacity=\"0.5\" points=\"");
    for (size_t j = 0; j < nb; j++)
        rw_printf(out, "%.1f,%.1f ", ev_x(b[j].event, e0, e1, PLOT_L, pw),
                  base - ph * b[j].fmax);
    for (size_t j = nb; j-- > 0;)
        rw_printf(out, "%.1f,%.1f ", ev_x(b[j].event, e0, e1, PLOT_L, pw),
                  base - ph * b[j].fmin);
    rw_puts(out, "\"/>\n<polyline class=\"frag-line\" fill=\"none\" "
                 "stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"");
    for (size_t j = 0; j < nb; j++)
        rw_printf(out, "%.1f,%.1f ", ev_x(b[j].event, e0, e1, PLOT_L, pw),
                  base - ph * b[j].fmax);
    rw_puts(out, "\"/>\n<polyline class=\"fail-line\" fill=\"none\" "
                 "stroke=\"#b00020\" stroke-width=\"1.5\" points=\"");
    for (size_t j = 0; j < nb; j++) {
        double x = ev_x(b[j].event, e0, e1, PLOT_L, pw);
        double y = base - ph * (double)b[j].fail / (double)fscale;
        rw_printf(out, "%.1f,%.1f ", x, y);
    }
    rw_printf(out, "\"/>\n<text x=\"%.1f\" y=\"16\" text-anchor=\"end\" "
                   "style=\"fill:#1565c0\">fragmentation (max %.0f%%)</text>"
                   "<text x=\"%.1f\" y=\"16\" text-anchor=\"end\" "
                   "style=\"fill:#b00020\">failures (%llu)</text>\n",
              PLOT_L + pw - 130, fmax_all * 100, PLOT_L + pw,
              (unsigned long long)maxfail);
    plot_markers(out, c, e0, e1, pw);
    plot_xaxis(out, e0, e1, pw);
    rw_puts(out, "</svg>\n");

    /* Plot 2: free bytes and largest free aligned block, log2 axis. */
    int lo2 = lmin == UINT64_MAX ? 12 : (int)floor(log2b(lmin));
    int hi2 = lmax ? (int)ceil(log2b(lmax)) : lo2 + 1;
    if (hi2 <= lo2)
        hi2 = lo2 + 1;
    plot_frame(out, width, "free space and largest free aligned block (log scale)",
               "space");
    int step = (hi2 - lo2 + 5) / 6;
    if (step < 1)
        step = 1;
    char tk[32];
    for (int k = lo2; k <= hi2; k += step) {
        double y = base - ph * (k - lo2) / (double)(hi2 - lo2);
        rw_printf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\" "
                       "text-anchor=\"end\">%s</text>",
                  PLOT_L, y, PLOT_L + pw, y, PLOT_L - 6, y + 4,
                  size_tick(k, tk, sizeof tk));
    }
    const char *names[2] = {"free-line", "largest-line"};
    const char *cols[2] = {"#2e7d32", "#ef6c00"};
    for (int s = 0; s < 2; s++) {
        rw_printf(out, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"1.5\" points=\"",
                  names[s], cols[s]);
        for (size_t j = 0; j < nb; j++) {
            uint64_t v = s == 0 ? b[j].freeb : b[j].largest_min;
            double l = v ? log2b(v) : lo2;
            if (l < lo2)
                l = lo2;
            rw_printf(out, "%.1f,%.1f ", ev_x(b[j].event, e0, e1, PLOT_L, pw),
                      base - ph * (l - lo2) / (hi2 - lo2));
        }
        rw_puts(out, "\"/>\n");
    }
    rw_printf(out, "<text x=\"%.1f\" y=\"16\" text-anchor=\"end\" "
                   "style=\"fill:#2e7d32\">free</text><text x=\"%.1f\" "
                   "y=\"16\" text-anchor=\"end\" style=\"fill:#ef6c00\">"
                   "largest free aligned block (minimum per bucket)</text>\n",
              PLOT_L + pw - 300, PLOT_L + pw);
    plot_markers(out, c, e0, e1, pw);
    plot_xaxis(out, e0, e1, pw);
    rw_puts(out, "</svg>\n");
    free(b);
}

int bs_render_churn_report(const bs_render_churn *c, const bs_render_opts *in,
                           char *buf, size_t cap, size_t *len)
{
    if (len)
        *len = 0;
    if (!c || (cap && !buf) || (c->npoints && !c->points) ||
        (c->nsnaps && !c->snaps))
        return BS_EINVAL;
    for (size_t i = 0; i < c->nsnaps; i++)
        if (!c->snaps[i].topo)
            return BS_EINVAL;
    bs_render_opts o;
    if (in)
        o = *in;
    else
        bs_render_opts_init(&o, BS_RENDER_HTML);
    o.format = BS_RENDER_HTML;
    if (!o.width)
        o.width = 1400;
    if (o.width < 600)
        o.width = 600;
    if (o.width > 20000)
        o.width = 20000;
    const char *title = c->title ? c->title : o.title ? o.title : "churn report";
    struct rw w;
    rw_init(&w, buf, cap);
    html_head(&w, title);
    rw_puts(&w, "<h1>");
    rw_xml(&w, title);
    rw_puts(&w, "</h1>\n");
    if (c->description) {
        rw_puts(&w, "<p class=\"note\">");
        rw_xml(&w, c->description);
        rw_puts(&w, "</p>\n");
    }
    if (c->npoints) {
        const bs_render_point *last = &c->points[c->npoints - 1];
        double fmax = 0;
        for (size_t i = 0; i < c->npoints; i++)
            if (c->points[i].fragmentation > fmax)
                fmax = c->points[i].fragmentation;
        char a[32], b[32];
        rw_printf(&w, "<table class=\"summary\"><tr><th class=\"l\">events"
                      "</th><th>failures</th><th>max fragmentation</th>"
                      "<th>devices at end</th><th>free at end</th>"
                      "<th>largest free block at end</th></tr><tr>"
                      "<td class=\"l\">%llu-%llu (%zu samples)</td><td>%llu</td>"
                      "<td>%.1f%%</td><td>%llu</td><td>%s</td><td>%s</td></tr>"
                      "</table>\n",
                  (unsigned long long)c->points[0].event,
                  (unsigned long long)last->event, c->npoints,
                  (unsigned long long)last->failures, fmax * 100,
                  (unsigned long long)last->devices,
                  rm_size(last->free_bytes, a, sizeof a),
                  rm_size(last->largest_block, b, sizeof b));
        rw_puts(&w, "<h2>Over time</h2>\n<div class=\"plots\">\n");
        churn_plots(&w, c, o.width);
        rw_puts(&w, "</div>\n");
    } else {
        rw_puts(&w, "<p>No events.</p>\n");
    }
    for (size_t i = 0; i < c->nsnaps && !w.err; i++) {
        const bs_render_snapshot *s = &c->snaps[i];
        struct rm_model m;
        int rc = rm_build(&m, s->topo);
        if (rc) {
            w.err = rc;
            break;
        }
        char head[200];
        snprintf(head, sizeof head, "event %llu%s%s",
                 (unsigned long long)s->event, s->label ? ": " : "",
                 s->label ? s->label : "");
        rw_printf(&w, "<h2 class=\"snapshot\" id=\"event-%llu\">",
                  (unsigned long long)s->event);
        rw_xml(&w, head);
        rw_puts(&w, "</h2>\n<div class=\"map\">\n");
        bs_render_opts so = o;
        so.title = "";          /* the <h2> above names the event */
        so.subtitle = NULL;
        so.width = o.width > 640 ? o.width - 40 : 600;
        rm_svg_inline(&w, &m, NULL, &so);
        rw_puts(&w, "</div>\n");
        rm_free(&m);
    }
    rw_puts(&w, "<p class=\"note\">Drawn by barspace " BS_VERSION_STRING
                ". Plots bucket the events to the plot's width: the shaded "
                "band spans each bucket's minimum and maximum "
                "fragmentation.</p>\n</body>\n</html>\n");
    return rw_finish(&w, len);
}
