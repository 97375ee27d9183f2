/*
 * SVG maps.  One panel per root window: the window's band on top, bridge
 * windows as nested bands below it (each band's outline reaches down around
 * everything it forwards), then the leaves -- BARs coloured by device, free
 * gaps hatched, the largest free aligned block outlined -- all ending on
 * one baseline so that the extent row reads like a ruler.  Every drawn
 * element carries data-device / data-slot attributes and a <title>, so a
 * browser shows details on hover and tests can find every device.
 */
#include "render/render_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MARGIN = 12,
    HEAD_H = 34,       /* panel heading: name, range, usage */
    BAND_H = 17,       /* one nesting level */
    LEAF_H = 118,      /* leaf area below the deepest band */
    PANEL_GAP = 22,
    LEGEND_ROW = 17,
    LEGEND_COL = 170,
    LINE_H = 15
};

/* Narrowest extent we still label, and the densest scale we accept before
 * the picture grows wider than asked. */
#define LABEL_MIN_PX 11.0
#define MIN_PX_PER_UNIT 0.9
#define MAX_PX_PER_UNIT 40.0

static void rm_svg_style(struct rw *out)
{
    rw_puts(out,
            "<style>"
            "text{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:11px;"
            "fill:#222}"
            ".h{font-size:13px;font-weight:bold}"
            ".t{font-size:16px;font-weight:bold}"
            ".s{fill:#555}"
            ".lab{font-size:10px}"
            ".fail{fill:#b00020}"
            ".bar{stroke:#fff;stroke-width:0.6}"
            ".root{fill:#37474f}"
            ".bridge{fill:#eceff1;stroke:#78909c;stroke-width:0.8}"
            ".bandlab{font-size:10px;fill:#263238}"
            ".rootlab{fill:#fff;font-weight:bold}"
            ".gap{fill:url(#hatch);stroke:#b0bec5;stroke-width:0.5}"
            ".block{fill:#e8f5e9;stroke:#2e7d32;stroke-width:1.5;"
            "stroke-dasharray:4 2}"
            ".blocklab{fill:#1b5e20;font-size:10px}"
            ".ovl{stroke:#b00020;stroke-width:2}"
            ".mv{fill:none;stroke-width:1.4;opacity:0.8}"
            "</style>"
            "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
            "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            "<rect width=\"6\" height=\"6\" fill=\"#fafafa\"/>"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#cfd8dc\" "
            "stroke-width=\"2\"/></pattern>"
            "<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
            "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
            "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n");
}

struct rm_pos {
    double x, top, bottom;
};

static void hexrange(char *buf, size_t cap, uint64_t base, uint64_t size)
{
    snprintf(buf, cap, "0x%llx-0x%llx", (unsigned long long)base,
             (unsigned long long)bs_last(base, size));
}

static void svg_label(struct rw *out, double x, double w, double top,
                      double bottom, const char *text, const char *cls)
{
    /* Vertical labels fit narrow extents; the text is clipped to the
     * extent's height by cutting it to what fits at ~6 px per glyph. */
    if (w < LABEL_MIN_PX)
        return;
    int maxch = (int)((bottom - top - 6) / 6.2);
    if (maxch < 2)
        return;
    char cut[160];
    snprintf(cut, sizeof cut, "%s", text);
    if ((int)strlen(cut) > maxch)
        cut[maxch] = '\0';
    double cx = x + w / 2 + 3.5, cy = bottom - 4;
    if (w >= 7.0 * (double)strlen(cut) + 8) {
        /* Wide enough to write horizontally. */
        rw_printf(out, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                       "text-anchor=\"middle\">", cls, x + w / 2, bottom - 6);
    } else {
        rw_printf(out, "<text class=\"%s\" transform=\"translate(%.1f,%.1f) "
                       "rotate(-90)\">", cls, cx, cy);
    }
    rw_xml(out, cut);
    rw_puts(out, "</text>");
}

static void svg_items(struct rw *out, const struct rm_model *m, int wi,
                      double x0, double top, double bottom, double ppu,
                      struct rm_pos *pos)
{
    const struct rm_win *w = &m->w[wi];
    const bs_topo *t = m->t;
    char col[48], sz[32], rng[80], lab[160];
    for (int i = 0; i < w->n; i++) {
        const struct rm_item *it = &w->it[i];
        double x = x0 + it->x * ppu, wd = it->w * ppu;
        double y = top + it->depth * BAND_H;
        rm_size(it->size, sz, sizeof sz);
        hexrange(rng, sizeof rng, it->base, it->size);
        if (it->kind == RM_WIN) {
            const char *nm = t->nodes[it->node].name;
            rw_printf(out, "<g class=\"bridge-window\" data-device=\"");
            rw_xml(out, nm);
            rw_printf(out, "\" data-slot=\"%s\"><rect class=\"bridge%s\" "
                           "x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                           "height=\"%.1f\"><title>",
                      bs_slot_name(it->slot), it->overlap ? " ovl" : "", x, y,
                      wd, bottom - y);
            rw_xml(out, nm);
            rw_printf(out, " %s %s %s</title></rect>", bs_slot_name(it->slot),
                      sz, rng);
            snprintf(lab, sizeof lab, "%s %s %s", nm,
                     it->slot == BS_SLOT_WIN_IO ? "io"
                     : it->slot == BS_SLOT_WIN_MEM ? "mem" : "pref", sz);
            int maxch = (int)(wd / 6.0);
            if (maxch >= 3) {
                if ((int)strlen(lab) > maxch)
                    lab[maxch] = '\0';
                rw_printf(out, "<text class=\"bandlab\" x=\"%.2f\" y=\"%.1f\">",
                          x + 2, y + BAND_H - 5);
                rw_xml(out, lab);
                rw_puts(out, "</text>");
            }
            rw_puts(out, "</g>\n");
            if (pos)
                pos[(size_t)it->node * BS_NSLOTS + (size_t)it->slot] =
                    (struct rm_pos){x + wd / 2, y, y + BAND_H};
            if (it->child >= 0)
                svg_items(out, m, it->child, x0, top, bottom, ppu, pos);
            continue;
        }
        if (it->kind == RM_BAR) {
            const char *nm = t->nodes[it->node].name;
            const struct bs_res *r = &t->nodes[it->node].res[it->slot];
            rw_puts(out, "<g class=\"bar-extent\" data-device=\"");
            rw_xml(out, nm);
            rw_printf(out, "\" data-slot=\"%s\"><rect class=\"bar%s\" "
                           "x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                           "height=\"%.1f\" fill=\"%s\"><title>",
                      bs_slot_name(it->slot), it->overlap ? " ovl" : "", x, y,
                      wd, bottom - y, rm_colour(m, it->node, col, sizeof col));
            rw_xml(out, nm);
            rw_printf(out, " %s %s%s%s %s</title></rect>",
                      bs_slot_name(it->slot), sz,
                      (r->flags & BS_RF_PREF) ? " pref" : "",
                      (r->flags & BS_RF_MEM64) ? " 64-bit" : "", rng);
            snprintf(lab, sizeof lab, "%s %s %s", nm, bs_slot_name(it->slot),
                     sz);
            svg_label(out, x, wd, y, bottom, lab, "lab");
            rw_puts(out, "</g>\n");
            if (pos)
                pos[(size_t)it->node * BS_NSLOTS + (size_t)it->slot] =
                    (struct rm_pos){x + wd / 2, y, bottom};
            continue;
        }
        bool blk = it->kind == RM_BLOCK;
        rw_printf(out, "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" "
                       "width=\"%.2f\" height=\"%.1f\"><title>%s %s %s"
                       "</title></rect>",
                  blk ? "block" : "gap", x, y, wd, bottom - y,
                  blk ? "largest free aligned block" : "free", sz, rng);
        snprintf(lab, sizeof lab, "%s %s", blk ? "largest free" : "free", sz);
        svg_label(out, x, wd, y, bottom, lab, blk ? "blocklab" : "lab s");
        rw_puts(out, "\n");
    }
}

/* Scale ruler: what 4K, 1M, 1G and 1T look like at this scale. */
static double ruler_width(double ppu)
{
    static const int log2s[] = {12, 20, 30, 40};
    double w = 40;
    for (size_t i = 0; i < sizeof log2s / sizeof log2s[0]; i++)
        w += rm_units(UINT64_C(1) << log2s[i]) * ppu + 30;
    return w;
}

static double svg_ruler(struct rw *out, double x0, double y0, double ppu)
{
    static const struct { uint64_t size; const char *name; } r[] = {
        {UINT64_C(1) << 12, "4K"}, {UINT64_C(1) << 20, "1M"},
        {UINT64_C(1) << 30, "1G"}, {UINT64_C(1) << 40, "1T"}};
    double x = x0;
    rw_printf(out, "<g class=\"ruler\"><text class=\"s\" x=\"%.1f\" "
                   "y=\"%.1f\">scale:</text>",
              x, y0 + 10);
    x += 40;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        double w = rm_units(r[i].size) * ppu;
        rw_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
                       "height=\"10\" fill=\"#90a4ae\"/><text class=\"s\" "
                       "x=\"%.1f\" y=\"%.1f\">%s</text>",
                  x, y0 + 1, w, x + w + 3, y0 + 10, r[i].name);
        x += w + 30;
    }
    rw_puts(out, "</g>\n");
    return 18;
}

/* One root window: heading, root band, nested bands, leaves. */
static double svg_panel(struct rw *out, const struct rm_model *m, int wi,
                        double x0, double y0, double ppu, double avail,
                        const char *tag, struct rm_pos *pos)
{
    const struct rm_win *w = &m->w[wi];
    char nm[64], sz[32], a[32], b[32], c[32], rng[80];
    rm_win_name(m, w, nm, sizeof nm);
    hexrange(rng, sizeof rng, w->base, w->size);
    rw_printf(out, "<g class=\"panel\" data-window=\"%s\">", nm);
    rw_printf(out, "<text class=\"h\" x=\"%.1f\" y=\"%.1f\">%s%s%s  %s  %s%s"
                   "</text>",
              x0, y0 + 13, tag ? tag : "", tag ? ": " : "", nm, rng,
              rm_size(w->size, sz, sizeof sz),
              (w->flags & BS_RF_IO) ? " I/O"
              : (w->flags & BS_RF_PREF) ? " prefetchable" : "");
    if (w->largest)
        rw_printf(out, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\">used %s, free "
                       "%s, largest free aligned block %s at 0x%llx</text>",
                  x0, y0 + 28, rm_size(w->used, a, sizeof a),
                  rm_size(w->size - w->used, b, sizeof b),
                  rm_size(w->largest, c, sizeof c),
                  (unsigned long long)w->largest_addr);
    else
        rw_printf(out, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\">used %s, no "
                       "free space</text>",
                  x0, y0 + 28, rm_size(w->used, a, sizeof a));
    double rw_ = ruler_width(ppu);
    if (avail - rw_ > 560)
        svg_ruler(out, x0 + avail - rw_, y0 + 3, ppu);
    double top = y0 + HEAD_H;
    double bottom = top + (double)w->maxdepth * BAND_H + LEAF_H;
    double wd = w->units * ppu;
    rw_printf(out, "<rect class=\"root\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                   "height=\"%d\"><title>%s %s %s</title></rect>",
              x0, top, wd, BAND_H, nm, sz, rng);
    rw_printf(out, "<text class=\"bandlab rootlab\" x=\"%.1f\" y=\"%.1f\">%s"
                   "</text>\n",
              x0 + 3, top + BAND_H - 5, nm);
    svg_items(out, m, wi, x0, top, bottom, ppu, pos);
    rw_puts(out, "</g>\n");
    return bottom - y0;
}

/* Layout units of root window wi (the wider of before and after). */
static double panel_units(const struct rm_model *m,
                          const struct rm_model *after, int wi)
{
    double u = wi < m->nroot ? m->w[wi].units : 1;
    if (after && wi < after->nroot && after->w[wi].units > u)
        u = after->w[wi].units;
    return u > 1 ? u : 1;
}

/* Pixels per unit of a panel: fill the width, but neither so dense that
 * labels vanish (the picture grows wider) nor so coarse that three extents
 * span a screen. */
static double panel_ppu(double units, double width)
{
    double ppu = (width - 2 * MARGIN) / units;
    if (ppu < MIN_PX_PER_UNIT)
        ppu = MIN_PX_PER_UNIT;
    if (ppu > MAX_PX_PER_UNIT)
        ppu = MAX_PX_PER_UNIT;
    return ppu;
}

static double needed_width(const struct rm_model *m,
                           const struct rm_model *after, double width)
{
    int nroot = after && after->nroot > m->nroot ? after->nroot : m->nroot;
    double need = width;
    for (int wi = 0; wi < nroot; wi++) {
        double u = panel_units(m, after, wi);
        double w = u * panel_ppu(u, width) + 2 * MARGIN;
        if (w > need)
            need = w;
    }
    return need;
}

static double svg_legend(struct rw *out, const struct rm_model *m,
                         const struct rm_model *after, double x0, double y0,
                         double width)
{
    const bs_topo *t = m->t;
    int per_row = (int)((width - 2 * MARGIN) / LEGEND_COL);
    if (per_row < 1)
        per_row = 1;
    char col[48];
    int k = 0;
    rw_printf(out, "<g class=\"legend\"><text class=\"h\" x=\"%.1f\" "
                   "y=\"%.1f\">Devices</text>",
              x0, y0 + 13);
    double y = y0 + 20;
    /* Before/after: the devices of both states (hot-added ones too). */
    int na = t->nnodes, nb = after ? after->t->nnodes : 0;
    for (int x_ = 1; x_ < na + nb; x_++) {
        const struct rm_model *mm = x_ < na ? m : after;
        int i = x_ < na ? x_ : x_ - na;
        if (i < 1 || mm->colour[i] < 0 ||
            (mm == after && rm_node_in(t, after->t, i) >= 0))
            continue;
        double x = x0 + (k % per_row) * LEGEND_COL;
        double yy = y + (k / per_row) * LEGEND_ROW;
        rw_puts(out, "<g class=\"legend-entry\" data-device=\"");
        rw_xml(out, mm->t->nodes[i].name);
        rw_printf(out, "\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                       "height=\"12\" fill=\"%s\"/><text x=\"%.1f\" "
                       "y=\"%.1f\">",
                  x, yy, rm_colour(mm, i, col, sizeof col), x + 16, yy + 10);
        char nm[BS_NAME_MAX];
        snprintf(nm, sizeof nm, "%s", mm->t->nodes[i].name);
        if (strlen(nm) > 24)
            nm[24] = '\0';
        rw_xml(out, nm);
        rw_puts(out, "</text></g>");
        k++;
    }
    int rows = (k + per_row - 1) / per_row;
    y += rows * LEGEND_ROW + 6;
    /* Key. */
    static const struct { const char *cls, *text; } key[] = {
        {"gap", "free"},
        {"block", "largest free naturally aligned block"},
        {"bridge", "bridge window (nested band)"}};
    double x = x0;
    for (size_t i = 0; i < sizeof key / sizeof key[0]; i++) {
        rw_printf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                       "width=\"24\" height=\"12\"/><text x=\"%.1f\" "
                       "y=\"%.1f\">%s</text>",
                  key[i].cls, x, y, x + 28, y + 10, key[i].text);
        x += 28 + 6.5 * (double)strlen(key[i].text) + 24;
    }
    rw_printf(out, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\">extent width "
                   "is proportional to log2(size)</text>",
              x, y + 10);
    rw_puts(out, "</g>\n");
    return y + LEGEND_ROW + 4 - y0;
}

static double svg_problems(struct rw *out, const struct rm_model *m,
                           double x0, double y0, const char *tag)
{
    const bs_topo *t = m->t;
    double y = y0;
    char nm[120], sz[32], sf[32];
    int nloose = 0;
    for (int i = 0; i < m->nloose; i++)
        nloose += !m->loose[i].failed || m->loose[i].why == RM_LOOSE_OUTSIDE;
    if (!t->nfail && !nloose)
        return 0;
    rw_printf(out, "<g class=\"failures\"><text class=\"h fail\" x=\"%.1f\" "
                   "y=\"%.1f\">%s%s%d failure%s, %d resource%s not in the map"
                   "</text>",
              x0, y + 13, tag ? tag : "", tag ? ": " : "", t->nfail,
              t->nfail == 1 ? "" : "s", nloose, nloose == 1 ? "" : "s");
    y += 18;
    int nopt = 0;
    for (int i = 0; i < t->nfail; i++)
        nopt += t->fail[i].optional != 0;
    if (nopt) {
        rw_printf(out, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\">%d optional "
                       "extra%s dropped (hot-plug reserves, SR-IOV regions)"
                       "</text>\n",
                  x0 + 10, y + 12, nopt, nopt == 1 ? "" : "s");
        y += LINE_H;
    }
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *f = &t->fail[i];
        if (f->optional)
            continue;
        rw_puts(out, "<text class=\"fail failure\" data-device=\"");
        rw_xml(out, t->nodes[f->node].name);
        rw_printf(out, "\" x=\"%.1f\" y=\"%.1f\">", x0 + 10, y + 12);
        rm_res_name(t, f->node, f->slot, nm, sizeof nm);
        rw_xml(out, nm);
        rw_printf(out, " %s%s%s%s: ", rm_size(f->size, sz, sizeof sz),
                  f->shortfall ? ", short by " : "",
                  f->shortfall ? rm_size(f->shortfall, sf, sizeof sf) : "",
                  f->optional ? " (optional)" : "");
        rw_xml(out, f->reason);
        rw_puts(out, "</text>\n");
        y += LINE_H;
    }
    for (int i = 0; i < m->nloose; i++) {
        const struct rm_loose *l = &m->loose[i];
        if (l->failed && l->why != RM_LOOSE_OUTSIDE)
            continue;
        const struct bs_res *r = &t->nodes[l->node].res[l->slot];
        rw_puts(out, "<text class=\"fail unplaced\" data-device=\"");
        rw_xml(out, t->nodes[l->node].name);
        rw_printf(out, "\" x=\"%.1f\" y=\"%.1f\">", x0 + 10, y + 12);
        rw_xml(out, rm_res_name(t, l->node, l->slot, nm, sizeof nm));
        if (l->why == RM_LOOSE_OUTSIDE)
            rw_printf(out, " %s at 0x%llx: outside every window of its "
                           "parent</text>\n",
                      rm_size(r->size, sz, sizeof sz),
                      (unsigned long long)r->addr);
        else
            rw_printf(out, " %s: no address</text>\n",
                      rm_size(r->size, sz, sizeof sz));
        y += LINE_H;
    }
    rw_puts(out, "</g>\n");
    return y - y0 + 6;
}

/* Everything but the <svg> element itself; returns the height used. */
static double svg_body(struct rw *out, const struct rm_model *m,
                       const struct rm_model *after, const bs_render_opts *o,
                       double width)
{
    const char *title = o->title ? o->title : m->t->name;
    double x0 = MARGIN, y = MARGIN;
    bool titled = !o->title || o->title[0];   /* "" asks for no heading */
    if (titled) {
        rw_printf(out, "<text class=\"t\" x=\"%.1f\" y=\"%.1f\">", x0, y + 15);
        rw_xml(out, title[0] ? title : "barspace map");
        rw_puts(out, "</text>");
    }
    if (o->subtitle) {
        rw_printf(out, "<text class=\"s\" x=\"%.1f\" y=\"%.1f\">", x0, y + 32);
        rw_xml(out, o->subtitle);
        rw_puts(out, "</text>");
    }
    y += o->subtitle ? 42 : titled ? 26 : 0;
    y += svg_legend(out, m, after, x0, y, width);
    if (!after) {
        for (int wi = 0; wi < m->nroot; wi++)
            y += svg_panel(out, m, wi, x0, y,
                           panel_ppu(panel_units(m, NULL, wi), o->width),
                           width - 2 * MARGIN, NULL, NULL) + PANEL_GAP;
        y += svg_problems(out, m, x0, y, NULL);
        return y;
    }
    /* Before and after, window by window, then the moves as arrows on top. */
    size_t np = (size_t)m->t->nnodes * BS_NSLOTS;
    size_t nq = (size_t)after->t->nnodes * BS_NSLOTS;
    struct rm_pos *pa = malloc(sizeof *pa * np), *pb = malloc(sizeof *pb * nq);
    struct rm_move *mv = NULL;
    int nmv = 0;
    if (!pa || !pb || rm_moves(m->t, after->t, &mv, &nmv)) {
        free(pa);
        free(pb);
        out->err = BS_ENOMEM;
        return y;
    }
    for (size_t i = 0; i < np; i++)
        pa[i].top = -1;
    for (size_t i = 0; i < nq; i++)
        pb[i].top = -1;
    int nroot = m->nroot > after->nroot ? m->nroot : after->nroot;
    for (int wi = 0; wi < nroot; wi++) {
        double ppu = panel_ppu(panel_units(m, after, wi), o->width);
        if (wi < m->nroot)
            y += svg_panel(out, m, wi, x0, y, ppu, width - 2 * MARGIN,
                           "before", pa) + 40;
        if (wi < after->nroot)
            y += svg_panel(out, after, wi, x0, y, ppu, width - 2 * MARGIN,
                           "after", pb) + PANEL_GAP;
    }
    rw_puts(out, "<g class=\"moves\">");
    char col[48], nm[120];
    for (int i = 0; i < nmv; i++) {
        if (bs_slot_is_window(mv[i].slot) || !mv[i].was || !mv[i].is ||
            mv[i].anode < 0)
            continue;
        struct rm_pos a = pa[(size_t)mv[i].anode * BS_NSLOTS + (size_t)mv[i].slot];
        struct rm_pos b = pb[(size_t)mv[i].bnode * BS_NSLOTS + (size_t)mv[i].slot];
        if (a.top < 0 || b.top < 0)
            continue;
        double bend = fabs(b.top - a.bottom) / 2 + 20;
        double y1 = a.bottom - 8, y2 = b.top + 6;
        rw_puts(out, "<path class=\"mv move\" data-device=\"");
        rw_xml(out, mv[i].name);
        rw_printf(out, "\" data-slot=\"%s\" stroke=\"%s\" "
                       "marker-end=\"url(#arrow)\" d=\"M%.2f,%.1f C%.2f,%.1f "
                       "%.2f,%.1f %.2f,%.1f\"><title>",
                  bs_slot_name(mv[i].slot),
                  rm_colour(m, mv[i].anode, col, sizeof col), a.x, y1, a.x,
                  y1 + (y2 > y1 ? bend : -bend), b.x,
                  y2 - (y2 > y1 ? bend : -bend), b.x, y2);
        snprintf(nm, sizeof nm, "%s %s", mv[i].name, bs_slot_name(mv[i].slot));
        rw_xml(out, nm);
        rw_printf(out, ": 0x%llx -&gt; 0x%llx</title></path>\n",
                  (unsigned long long)mv[i].from, (unsigned long long)mv[i].to);
    }
    rw_puts(out, "</g>\n");
    rw_printf(out, "<text class=\"h\" x=\"%.1f\" y=\"%.1f\">%d move%s</text>",
              x0, y + 13, nmv, nmv == 1 ? "" : "s");
    y += 22;
    y += svg_problems(out, m, x0, y, "before");
    y += svg_problems(out, after, x0, y, "after");
    free(pa);
    free(pb);
    free(mv);
    return y;
}

/* An <svg> element (no XML prolog): inline in HTML or a file's body. */
static void svg_element(struct rw *out, const struct rm_model *m,
                        const struct rm_model *after, const bs_render_opts *o)
{
    double width = needed_width(m, after, o->width);
    struct rw dry;
    rw_init(&dry, NULL, 0);
    double height = svg_body(&dry, m, after, o, width) + MARGIN;
    if (dry.err) {
        out->err = dry.err;
        return;
    }
    rw_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                   "class=\"barspace-map\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\">\n",
              ceil(width), ceil(height), ceil(width), ceil(height));
    rw_puts(out, "<title>");
    rw_xml(out, o->title ? o->title : m->t->name);
    rw_puts(out, "</title>\n");
    rm_svg_style(out);
    rw_printf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    svg_body(out, m, after, o, width);
    rw_puts(out, "</svg>\n");
}

void rm_svg_inline(struct rw *out, const struct rm_model *m,
                   const struct rm_model *after, const bs_render_opts *o)
{
    svg_element(out, m, after, o);
}

void rm_svg_document(struct rw *out, const struct rm_model *m,
                     const struct rm_model *after, const bs_render_opts *o)
{
    rw_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    svg_element(out, m, after, o);
}
