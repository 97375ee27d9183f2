/*
 * Terminal and JSON forms of the map.  The text map gives each root window
 * a bar: one character row per bridge nesting level ("[rp0 pref---]"
 * bands) and one row of extents, a symbol per device, '.' free, '#' the
 * largest free aligned block.  Every line fits the requested width; a
 * window with more extents than columns wraps onto further lines.
 */
#include "render/render_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char syms[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static char dev_sym(const struct rm_model *m, int node)
{
    int k = node > 0 && node < m->t->nnodes ? m->colour[node] : -1;
    if (k < 0)
        return '?';
    return k < (int)sizeof syms - 1 ? syms[k] : '*';
}

/* One output line, cut to `width` columns. */
static void tline(struct rw *out, int width, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tline(struct rw *out, int width, const char *fmt, ...)
{
    char line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if ((int)strlen(line) > width)
        line[width] = '\0';
    rw_puts(out, line);
    rw_puts(out, "\n");
}

static int hexdigits(uint64_t v)
{
    int d = 1;
    while (v >>= 4)
        d++;
    return d;
}

static const char *kind_word(unsigned flags)
{
    if (flags & BS_RF_IO)
        return "io";
    if (flags & BS_RF_MEM64)
        return (flags & BS_RF_PREF) ? "mem64 pref" : "mem64";
    return (flags & BS_RF_PREF) ? "mem32 pref" : "mem32";
}

/* ------------------------------------------------------------ bar layout */

struct tleaf {
    const struct rm_item *it;
    int c, start;
};
struct tband {
    const struct rm_item *it;
    int depth, first, last; /* leaf range */
};
struct tbar {
    struct tleaf *l;
    int nl, lcap;
    struct tband *b;
    int nb, bcap;
    int err;
};

static void collect(const struct rm_model *m, int wi, struct tbar *tb)
{
    const struct rm_win *w = &m->w[wi];
    for (int i = 0; i < w->n && !tb->err; i++) {
        const struct rm_item *it = &w->it[i];
        if (it->kind == RM_WIN && it->child >= 0) {
            if (tb->nb == tb->bcap) {
                int nc = tb->bcap ? tb->bcap * 2 : 16;
                struct tband *nb = realloc(tb->b, sizeof *nb * (size_t)nc);
                if (!nb) {
                    tb->err = BS_ENOMEM;
                    return;
                }
                tb->b = nb;
                tb->bcap = nc;
            }
            int bi = tb->nb++;
            tb->b[bi].it = it;
            tb->b[bi].depth = it->depth;
            tb->b[bi].first = tb->nl;
            collect(m, it->child, tb);
            tb->b[bi].last = tb->nl - 1;
            continue;
        }
        if (tb->nl == tb->lcap) {
            int nc = tb->lcap ? tb->lcap * 2 : 32;
            struct tleaf *nl = realloc(tb->l, sizeof *nl * (size_t)nc);
            if (!nl) {
                tb->err = BS_ENOMEM;
                return;
            }
            tb->l = nl;
            tb->lcap = nc;
        }
        tb->l[tb->nl].it = it;
        tb->l[tb->nl].c = 1;
        tb->nl++;
    }
}

/* Share `cols` columns: one each, the rest in proportion to width units
 * (largest remainder), so the bar keeps the log scale as far as it can. */
static int allot(struct tleaf *l, int n, int cols)
{
    if (n <= 0)
        return 0;
    if (n < cols) {
        double total = 0;
        for (int i = 0; i < n; i++)
            total += l[i].it->w;
        int extra = cols - n, given = 0;
        double *rem = malloc(sizeof *rem * (size_t)n);
        if (!rem)
            return BS_ENOMEM;
        for (int i = 0; i < n; i++) {
            double share = total > 0 ? extra * l[i].it->w / total : 0;
            int whole = (int)share;
            l[i].c = 1 + whole;
            rem[i] = share - whole;
            given += whole;
        }
        while (given < extra) {
            int best = 0;
            for (int i = 1; i < n; i++)
                if (rem[i] > rem[best])
                    best = i;
            rem[best] = -1;
            l[best].c++;
            given++;
        }
        free(rem);
    }
    int pos = 0;
    for (int i = 0; i < n; i++) {
        l[i].start = pos;
        pos += l[i].c;
    }
    return pos;
}

static void text_bar(struct rw *out, const struct rm_model *m, int wi,
                     int width)
{
    struct tbar tb = {0};
    collect(m, wi, &tb);
    int cols = width - 4;
    int total = tb.err ? 0 : allot(tb.l, tb.nl, cols);
    if (tb.err || total < 0) {
        out->err = BS_ENOMEM;
        goto done;
    }
    int maxd = m->w[wi].maxdepth;   /* band rows for depths 1..maxd-1 */
    int nrows = maxd;               /* bands + the extent row */
    char *grid = malloc((size_t)nrows * (size_t)total + 1);
    if (!grid) {
        out->err = BS_ENOMEM;
        goto done;
    }
    memset(grid, ' ', (size_t)nrows * (size_t)total);
    char *ext = grid + (size_t)(nrows - 1) * (size_t)total;
    for (int i = 0; i < tb.nl; i++) {
        const struct rm_item *it = tb.l[i].it;
        char c = it->kind == RM_GAP ? '.' : it->kind == RM_BLOCK ? '#'
                 : it->overlap ? '!' : dev_sym(m, it->node);
        memset(ext + tb.l[i].start, c, (size_t)tb.l[i].c);
    }
    for (int i = 0; i < tb.nb; i++) {
        const struct tband *b = &tb.b[i];
        if (b->first > b->last || b->depth < 1 || b->depth >= nrows)
            continue;
        char *row = grid + (size_t)(b->depth - 1) * (size_t)total;
        int s = tb.l[b->first].start;
        int e = tb.l[b->last].start + tb.l[b->last].c - 1;
        int len = e - s + 1;
        if (len == 1) {
            row[s] = '|';
            continue;
        }
        memset(row + s, '-', (size_t)len);
        row[s] = '[';
        row[e] = ']';
        const char *nm = m->t->nodes[b->it->node].name;
        const char *kw = b->it->slot == BS_SLOT_WIN_IO ? "io"
                         : b->it->slot == BS_SLOT_WIN_MEM ? "mem" : "pref";
        char label[80];
        snprintf(label, sizeof label, "%s %s", nm, kw);
        if ((int)strlen(label) > len - 2)
            snprintf(label, sizeof label, "%s", nm);
        int ll = (int)strlen(label);
        if (ll > len - 2)
            ll = len - 2;
        memcpy(row + s + 1, label, (size_t)ll);
    }
    for (int c0 = 0; c0 < total; c0 += cols) {
        int n = total - c0 < cols ? total - c0 : cols;
        for (int r = 0; r < nrows; r++) {
            const char *row = grid + (size_t)r * (size_t)total + c0;
            bool blank = true;
            for (int k = 0; k < n && blank; k++)
                blank = row[k] == ' ';
            if (blank && r < nrows - 1)
                continue;
            tline(out, width, "  %c%.*s", c0 ? '>' : '|', n, row);
        }
    }
    free(grid);
done:
    free(tb.l);
    free(tb.b);
}

static void text_list(struct rw *out, const struct rm_model *m, int wi,
                      int width, int digits)
{
    const struct rm_win *w = &m->w[wi];
    char sz[32], nm[120];
    for (int i = 0; i < w->n; i++) {
        const struct rm_item *it = &w->it[i];
        int ind = 2 + 2 * it->depth;
        uint64_t last = bs_last(it->base, it->size);
        rm_size(it->size, sz, sizeof sz);
        switch (it->kind) {
        case RM_BAR:
            tline(out, width, "%*s0x%0*llx-0x%0*llx %6s  %c %s %s (%s)%s", ind,
                  "", digits, (unsigned long long)it->base, digits,
                  (unsigned long long)last, sz, dev_sym(m, it->node),
                  m->t->nodes[it->node].name, bs_slot_name(it->slot),
                  kind_word(m->t->nodes[it->node].res[it->slot].flags),
                  it->overlap ? " OVERLAPS" : "");
            break;
        case RM_WIN:
            snprintf(nm, sizeof nm, "%s %s", m->t->nodes[it->node].name,
                     bs_slot_name(it->slot));
            tline(out, width, "%*s0x%0*llx-0x%0*llx %6s  %s%s", ind, "",
                  digits, (unsigned long long)it->base, digits,
                  (unsigned long long)last, sz, nm,
                  it->overlap ? " OVERLAPS" : "");
            if (it->child >= 0)
                text_list(out, m, it->child, width, digits);
            break;
        default:
            tline(out, width, "%*s0x%0*llx-0x%0*llx %6s  %s", ind, "", digits,
                  (unsigned long long)it->base, digits,
                  (unsigned long long)last, sz,
                  it->kind == RM_BLOCK ? "# largest free aligned block"
                                       : ". free");
        }
    }
}

static void text_problems(struct rw *out, const struct rm_model *m, int width,
                          int list)
{
    const bs_topo *t = m->t;
    char nm[120], sz[32], sf[32];
    int nopt = 0;
    for (int i = 0; i < t->nfail; i++)
        nopt += t->fail[i].optional != 0;
    if (t->nfail) {
        tline(out, width, "%d failure%s%s:", t->nfail, t->nfail == 1 ? "" : "s",
              nopt ? " (optional extras: hot-plug reserves, SR-IOV regions)"
                   : "");
        if (nopt && !list)
            tline(out, width, "  %d optional extra%s dropped (--list shows "
                              "them)", nopt, nopt == 1 ? "" : "s");
        for (int i = 0; i < t->nfail; i++) {
            const bs_failure *f = &t->fail[i];
            if (f->optional && !list)
                continue;
            rm_res_name(t, f->node, f->slot, nm, sizeof nm);
            rm_size(f->size, sz, sizeof sz);
            if (f->shortfall)
                tline(out, width, "  %s%s %s, short by %s: %s",
                      f->optional ? "(optional) " : "", nm, sz,
                      rm_size(f->shortfall, sf, sizeof sf), f->reason);
            else
                tline(out, width, "  %s%s %s: %s",
                      f->optional ? "(optional) " : "", nm, sz, f->reason);
        }
    }
    int nun = 0, nout = 0;
    for (int i = 0; i < m->nloose; i++) {
        if (m->loose[i].why == RM_LOOSE_OUTSIDE)
            nout++;
        else if (!m->loose[i].failed)
            nun++;
    }
    if (nun) {
        tline(out, width, "%d resource%s without an address:", nun,
              nun == 1 ? "" : "s");
        for (int i = 0; i < m->nloose; i++)
            if (m->loose[i].why == RM_LOOSE_UNASSIGNED && !m->loose[i].failed)
                tline(out, width, "  %s %s",
                      rm_res_name(t, m->loose[i].node, m->loose[i].slot, nm,
                                  sizeof nm),
                      rm_size(t->nodes[m->loose[i].node]
                                  .res[m->loose[i].slot].size, sz, sizeof sz));
    }
    if (nout) {
        tline(out, width, "%d resource%s outside every window of its parent:",
              nout, nout == 1 ? "" : "s");
        for (int i = 0; i < m->nloose; i++) {
            if (m->loose[i].why != RM_LOOSE_OUTSIDE)
                continue;
            const struct bs_res *r =
                &t->nodes[m->loose[i].node].res[m->loose[i].slot];
            tline(out, width, "  %s at 0x%llx, %s",
                  rm_res_name(t, m->loose[i].node, m->loose[i].slot, nm,
                              sizeof nm),
                  (unsigned long long)r->addr, rm_size(r->size, sz, sizeof sz));
        }
    }
}

static void text_map(struct rw *out, const struct rm_model *m,
                     const bs_render_opts *o, const char *title)
{
    const bs_topo *t = m->t;
    int width = o->width;
    int ndev = rm_device_count(t), nbr = 0;
    for (int i = 1; i < t->nnodes; i++)
        nbr += t->nodes[i].kind == BS_NODE_BRIDGE;
    tline(out, width, "%s: %d device%s, %d bridge%s, %d root window%s",
          title, ndev, ndev == 1 ? "" : "s", nbr, nbr == 1 ? "" : "s",
          t->nwin, t->nwin == 1 ? "" : "s");
    if (o->subtitle)
        tline(out, width, "%s", o->subtitle);
    tline(out, width, "(extent width ~ log2 of its size; . free, "
                      "# largest free aligned block, [bridge window])");
    /* Legend: symbol and name, wrapped. */
    char line[1100];
    size_t ll = 0;
    line[0] = '\0';
    for (int i = 1; i < t->nnodes; i++) {
        if (m->colour[i] < 0)
            continue;
        char ent[80];
        snprintf(ent, sizeof ent, "%s%c %s", ll ? "  " : "  ", dev_sym(m, i),
                 t->nodes[i].name);
        if (ll && ll + strlen(ent) > (size_t)width) {
            tline(out, width, "%s", line);
            ll = 0;
            snprintf(ent, sizeof ent, "  %c %s", dev_sym(m, i),
                     t->nodes[i].name);
        }
        snprintf(line + ll, sizeof line - ll, "%s", ent);
        ll = strlen(line);
    }
    if (ll)
        tline(out, width, "%s", line);
    char sz[32], a[32], b[32], c[32];
    for (int wi = 0; wi < m->nroot; wi++) {
        const struct rm_win *w = &m->w[wi];
        char nm[64];
        rm_win_name(m, w, nm, sizeof nm);
        tline(out, width, "%s", "");
        tline(out, width, "%s  0x%llx-0x%llx  %s%s", nm,
              (unsigned long long)w->base,
              (unsigned long long)bs_last(w->base, w->size),
              rm_size(w->size, sz, sizeof sz),
              (w->flags & BS_RF_IO) ? "  I/O"
              : (w->flags & BS_RF_PREF) ? "  prefetchable" : "");
        text_bar(out, m, wi, width);
        if (w->largest)
            tline(out, width, "  used %s  free %s  largest free aligned block "
                              "%s at 0x%llx",
                  rm_size(w->used, a, sizeof a),
                  rm_size(w->size - w->used, b, sizeof b),
                  rm_size(w->largest, c, sizeof c),
                  (unsigned long long)w->largest_addr);
        else
            tline(out, width, "  used %s  free 0", rm_size(w->used, a, sizeof a));
        if (o->list)
            text_list(out, m, wi, width, hexdigits(bs_last(w->base, w->size)));
    }
    if (t->nfail || m->nloose)
        tline(out, width, "%s", "");
    text_problems(out, m, width, o->list);
}

void rm_text(struct rw *out, const struct rm_model *m, const bs_render_opts *o)
{
    text_map(out, m, o, o->title ? o->title : m->t->name);
}

void rm_text_diff(struct rw *out, const struct rm_model *a,
                  const struct rm_model *b, const bs_render_opts *o)
{
    char title[200];
    const char *base = o->title ? o->title : a->t->name;
    snprintf(title, sizeof title, "%s: before", base);
    text_map(out, a, o, title);
    tline(out, o->width, "%s", "");
    snprintf(title, sizeof title, "%s: after", base);
    text_map(out, b, o, title);
    struct rm_move *mv;
    int n;
    if (rm_moves(a->t, b->t, &mv, &n)) {
        out->err = BS_ENOMEM;
        return;
    }
    tline(out, o->width, "%s", "");
    tline(out, o->width, "%d move%s:", n, n == 1 ? "" : "s");
    char nm[120], sz[32];
    for (int i = 0; i < n; i++) {
        snprintf(nm, sizeof nm, "%s %s", mv[i].name, bs_slot_name(mv[i].slot));
        if (mv[i].was && mv[i].is)
            tline(out, o->width, "  %-28s %6s  0x%llx -> 0x%llx", nm,
                  rm_size(mv[i].size_to, sz, sizeof sz),
                  (unsigned long long)mv[i].from, (unsigned long long)mv[i].to);
        else if (mv[i].is)
            tline(out, o->width, "  %-28s %6s  (none) -> 0x%llx", nm,
                  rm_size(mv[i].size_to, sz, sizeof sz),
                  (unsigned long long)mv[i].to);
        else
            tline(out, o->width, "  %-28s %6s  0x%llx -> (none)", nm,
                  rm_size(mv[i].size_from, sz, sizeof sz),
                  (unsigned long long)mv[i].from);
    }
    free(mv);
}

/* ------------------------------------------------------------------ JSON */

static void json_win(struct rw *out, const struct rm_model *m, int wi,
                     const char *parent)
{
    const struct rm_win *w = &m->w[wi];
    char nm[64];
    rm_win_name(m, w, nm, sizeof nm);
    rw_puts(out, "{\"name\":");
    rw_json(out, nm);
    rw_puts(out, ",\"parent\":");
    if (parent)
        rw_json(out, parent);
    else
        rw_puts(out, "null");
    rw_printf(out, ",\"depth\":%d,\"space\":\"%s\",\"prefetchable\":%s,"
                   "\"base\":%llu,\"size\":%llu,\"used\":%llu,\"free\":%llu,"
                   "\"largest_free_block\":%llu",
              w->depth, (w->flags & BS_RF_IO) ? "io" : "mem",
              (w->flags & BS_RF_PREF) ? "true" : "false",
              (unsigned long long)w->base, (unsigned long long)w->size,
              (unsigned long long)w->used,
              (unsigned long long)(w->size - w->used),
              (unsigned long long)w->largest);
    if (w->largest)
        rw_printf(out, ",\"largest_free_addr\":%llu",
                  (unsigned long long)w->largest_addr);
    rw_puts(out, ",\"extents\":[");
    for (int i = 0; i < w->n; i++) {
        const struct rm_item *it = &w->it[i];
        static const char *const kn[] = {"bar", "window", "free",
                                         "largest_free"};
        rw_printf(out, "%s{\"type\":\"%s\",\"start\":%llu,\"end\":%llu,"
                       "\"size\":%llu",
                  i ? "," : "", kn[it->kind], (unsigned long long)it->base,
                  (unsigned long long)bs_last(it->base, it->size),
                  (unsigned long long)it->size);
        if (it->kind == RM_BAR || it->kind == RM_WIN) {
            rw_puts(out, ",\"device\":");
            rw_json(out, m->t->nodes[it->node].name);
            rw_printf(out, ",\"slot\":\"%s\",\"overlap\":%s",
                      bs_slot_name(it->slot), it->overlap ? "true" : "false");
        }
        rw_puts(out, "}");
    }
    rw_puts(out, "]}");
    for (int i = 0; i < w->n; i++)
        if (w->it[i].kind == RM_WIN && w->it[i].child >= 0) {
            rw_puts(out, ",");
            json_win(out, m, w->it[i].child, nm);
        }
}

static void json_map(struct rw *out, const struct rm_model *m)
{
    const bs_topo *t = m->t;
    char buf[64];
    rw_puts(out, "{\"schema\":\"barspace.map/1\",\"topology\":");
    rw_json(out, t->name);
    rw_puts(out, ",\"devices\":[");
    int first = 1;
    for (int i = 1; i < t->nnodes; i++) {
        if (m->colour[i] < 0)
            continue;
        rw_puts(out, first ? "{\"name\":" : ",{\"name\":");
        first = 0;
        rw_json(out, t->nodes[i].name);
        rw_printf(out, ",\"kind\":\"%s\",\"colour\":\"%s\"}",
                  t->nodes[i].kind == BS_NODE_DEVICE ? "device" : "bridge",
                  rm_colour(m, i, buf, sizeof buf));
    }
    rw_puts(out, "],\"windows\":[");
    for (int wi = 0; wi < m->nroot; wi++) {
        if (wi)
            rw_puts(out, ",");
        json_win(out, m, wi, NULL);
    }
    rw_puts(out, "],\"unplaced\":[");
    for (int i = 0; i < m->nloose; i++) {
        const struct bs_res *r = &t->nodes[m->loose[i].node].res[m->loose[i].slot];
        rw_puts(out, i ? ",{\"device\":" : "{\"device\":");
        rw_json(out, t->nodes[m->loose[i].node].name);
        rw_printf(out, ",\"slot\":\"%s\",\"size\":%llu,\"reason\":\"%s\"}",
                  bs_slot_name(m->loose[i].slot), (unsigned long long)r->size,
                  m->loose[i].why == RM_LOOSE_OUTSIDE ? "outside" : "unassigned");
    }
    rw_puts(out, "],\"failures\":[");
    for (int i = 0; i < t->nfail; i++) {
        const bs_failure *f = &t->fail[i];
        rw_puts(out, i ? ",{\"device\":" : "{\"device\":");
        rw_json(out, t->nodes[f->node].name);
        rw_printf(out, ",\"slot\":\"%s\",\"size\":%llu,\"shortfall\":%llu,"
                       "\"optional\":%s,\"reason\":",
                  bs_slot_name(f->slot), (unsigned long long)f->size,
                  (unsigned long long)f->shortfall,
                  f->optional ? "true" : "false");
        rw_json(out, f->reason);
        rw_puts(out, "}");
    }
    rw_puts(out, "]}");
}

void rm_json(struct rw *out, const struct rm_model *m, const bs_render_opts *o)
{
    json_map(out, m);
    rw_puts(out, "\n");
}

void rm_json_diff(struct rw *out, const struct rm_model *a,
                  const struct rm_model *b, const bs_render_opts *o)
{
    struct rm_move *mv;
    int n;
    if (rm_moves(a->t, b->t, &mv, &n)) {
        out->err = BS_ENOMEM;
        return;
    }
    rw_puts(out, "{\"schema\":\"barspace.mapdiff/1\",\"before\":");
    json_map(out, a);
    rw_puts(out, ",\"after\":");
    json_map(out, b);
    rw_puts(out, ",\"moves\":[");
    for (int i = 0; i < n; i++) {
        rw_puts(out, i ? ",{\"device\":" : "{\"device\":");
        rw_json(out, mv[i].name);
        rw_printf(out, ",\"slot\":\"%s\"", bs_slot_name(mv[i].slot));
        if (mv[i].was)
            rw_printf(out, ",\"from\":%llu,\"size_before\":%llu",
                      (unsigned long long)mv[i].from,
                      (unsigned long long)mv[i].size_from);
        if (mv[i].is)
            rw_printf(out, ",\"to\":%llu,\"size_after\":%llu",
                      (unsigned long long)mv[i].to,
                      (unsigned long long)mv[i].size_to);
        rw_puts(out, "}");
    }
    rw_puts(out, "]}\n");
    free(mv);
}
