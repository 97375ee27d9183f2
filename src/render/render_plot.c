/*
 * A standalone SVG line plot: series of (x, y) points on a linear or
 * log2-of-bytes x axis, a legend, ticks.  Used for fleet studies
 * (docs/fleet.md); deterministic output (fixed decimals) so that equal data
 * give byte-identical files.
 */
#include "render/render_internal.h"

#include <math.h>
#include <stdio.h>

#define W 760
#define H 420
#define L 64   /* left margin */
#define R 200  /* right margin: the legend */
#define T 36
#define B 52

static const char *const colours[] = {"#1565c0", "#c62828", "#2e7d32",
                                      "#ef6c00", "#6a1b9a", "#00838f",
                                      "#5d4037", "#ad1457"};

static double xval(const bs_plot *p, double x)
{
    return p->xsize ? (x > 0 ? log2(x) : 0.0) : x;
}

int bs_render_plot_svg(const bs_plot *p, char *buf, size_t cap, size_t *len)
{
    struct rw w;
    rw_init(&w, buf, cap);
    double x0 = HUGE_VAL, x1 = -HUGE_VAL;
    for (size_t i = 0; i < p->nseries; i++)
        for (size_t k = 0; k < p->series[i].n; k++) {
            double x = xval(p, p->series[i].x[k]);
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
        }
    if (x0 > x1)
        x0 = 0, x1 = 1;
    if (x1 <= x0)
        x1 = x0 + 1;
    double y0 = p->ymin, y1 = p->ymax > p->ymin ? p->ymax : p->ymin + 1;
    double pw = W - L - R, ph = H - T - B;
    rw_printf(&w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\"><style>text{font-family:"
                  "'DejaVu Sans',Verdana,sans-serif;font-size:11px;fill:#333}"
                  "</style><rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>"
                  "<text x=\"%d\" y=\"20\" style=\"font-weight:bold;"
                  "font-size:13px\">", W, H, W, H, L);
    rw_xml(&w, p->title ? p->title : "");
    rw_puts(&w, "</text>\n");
    for (int k = 0; k <= 4; k++) { /* y grid */
        double v = y0 + (y1 - y0) * k / 4.0, y = T + ph - ph * k / 4.0;
        rw_printf(&w, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                      "stroke=\"#eceff1\"/><text x=\"%d\" y=\"%.1f\" "
                      "text-anchor=\"end\">",
                  L, y, L + pw, y, L - 6, y + 4);
        if (p->ypercent)
            rw_printf(&w, "%.0f%%", v * 100);
        else
            rw_printf(&w, "%.3g", v);
        rw_puts(&w, "</text>\n");
    }
    /* x ticks: every distinct x of the first series (the study's gaps). */
    for (size_t k = 0; p->nseries && k < p->series[0].n; k++) {
        double x = L + (xval(p, p->series[0].x[k]) - x0) / (x1 - x0) * pw;
        char t[32];
        if (p->xsize)
            bs_fmt_size((uint64_t)p->series[0].x[k], t, sizeof t);
        else
            snprintf(t, sizeof t, "%.3g", p->series[0].x[k]);
        rw_printf(&w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                      "%s</text>\n", x, T + ph + 16, t);
    }
    rw_printf(&w, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                  "stroke=\"#90a4ae\"/><text x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"middle\">", L, T + ph, L + pw, T + ph,
              L + pw / 2, T + ph + 36.0);
    rw_xml(&w, p->xlabel ? p->xlabel : "");
    rw_printf(&w, "</text><text transform=\"translate(14 %.1f) rotate(-90)\" "
                  "text-anchor=\"middle\">", T + ph / 2);
    rw_xml(&w, p->ylabel ? p->ylabel : "");
    rw_puts(&w, "</text>\n");
    for (size_t i = 0; i < p->nseries; i++) {
        const bs_plot_series *s = &p->series[i];
        const char *c = colours[i % (sizeof colours / sizeof colours[0])];
        rw_printf(&w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\""
                      "%s points=\"", c, i >= 8 ? " stroke-dasharray=\"4 3\"" : "");
        for (size_t k = 0; k < s->n; k++)
            rw_printf(&w, "%.1f,%.1f ",
                      L + (xval(p, s->x[k]) - x0) / (x1 - x0) * pw,
                      T + ph - (s->y[k] - y0) / (y1 - y0) * ph);
        double ly = T + 14.0 * (double)i;
        rw_printf(&w, "\"/>\n<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                      "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\">",
                  L + pw + 12, ly, L + pw + 30, ly, c, L + pw + 34, ly + 4);
        rw_xml(&w, s->label ? s->label : "");
        rw_puts(&w, "</text>\n");
    }
    rw_puts(&w, "</svg>\n");
    return rw_finish(&w, len);
}
