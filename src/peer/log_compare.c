/*
 * `barspace compare LOG`: the kernel's own decisions replayed.
 *
 * The importer already splits a log's resources the way this needs: what
 * firmware programmed and the kernel claimed is BS_RF_FIXED; what the
 * kernel placed itself is assigned but not fixed; what it could not place
 * is BS_RF_FAILED.  bs_topo_unassign() keeps the first and frees the rest,
 * so the model of the log's kernel starts where the kernel started, and
 * every free resource is one of the kernel's decisions to compare.
 */
#include "core/internal.h"
#include "barspace/import.h"
#include "barspace/logcmp.h"
#include "barspace/qemu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bs_logcmp {
    bs_topo *found;        /* as the kernel found it, with its results */
    bs_logcmp_item *rows;
    int nrows;
    char kernel[64];
    char model[32];
    char **notes;
    int nnotes;
};

static int add_note(bs_logcmp *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_note(bs_logcmp *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **n = realloc(c->notes, sizeof *n * (size_t)(c->nnotes + 1));
    if (!n)
        return BS_ENOMEM;
    c->notes = n;
    if (!(n[c->nnotes] = strdup(buf)))
        return BS_ENOMEM;
    c->nnotes++;
    return BS_OK;
}

/* MAJOR * 100 + MINOR of a release string ("5.4.0-91-generic"), 0 if none. */
static int release_version(const char *s)
{
    unsigned maj, min;
    if (!s || sscanf(s, "%u.%u", &maj, &min) != 2 || maj > 99 || min > 99)
        return 0;
    return (int)(maj * 100 + min);
}

/* Is (n, k) one of the kernel's own decisions (not a firmware address it
 * kept)? */
static bool kernel_decided(const struct bs_res *r)
{
    if (!r->size || (r->flags & (BS_RF_UPPER | BS_RF_FIXED)))
        return false;
    return (r->flags & (BS_RF_ASSIGNED | BS_RF_FAILED)) != 0;
}

/* Why nothing of this log can be compared, or NULL. */
static const char *incomparable(const bs_import *im)
{
    for (int i = 0; i < bs_import_note_count(im); i++) {
        const char *n = bs_import_note(im, i);
        if (strstr(n, "derived from the addresses seen") ||
            strstr(n, "assumed"))
            return "the log has no root bus resources: where the kernel "
                   "could place things is unknown";
    }
    return NULL;
}

static int compare(bs_logcmp *c, const bs_topo *m, const char *na)
{
    const bs_topo *t = c->found;
    for (int n = 1; n < t->nnodes; n++) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[n].res[k];
            if (!kernel_decided(r))
                continue;
            bs_logcmp_item *rows = realloc(c->rows, sizeof *rows *
                                                       (size_t)(c->nrows + 1));
            if (!rows)
                return BS_ENOMEM;
            c->rows = rows;
            bs_logcmp_item *w = &rows[c->nrows++];
            memset(w, 0, sizeof *w);
            w->node = n;
            w->slot = k;
            w->kernel_placed = (r->flags & BS_RF_ASSIGNED) != 0;
            w->kernel_addr = w->kernel_placed ? r->addr : 0;
            w->kernel_size = r->size;
            const struct bs_res *x = &m->nodes[n].res[k];
            w->model_placed = (x->flags & BS_RF_ASSIGNED) && x->size;
            w->model_addr = w->model_placed ? x->addr : 0;
            w->model_size = x->size;
            if (na) {
                w->verdict = BS_LC_NA;
                snprintf(w->why, sizeof w->why, "%s", na);
                continue;
            }
            if (w->kernel_placed != w->model_placed) {
                w->verdict = BS_LC_DIFFER;
            } else if (!w->kernel_placed) {
                w->verdict = BS_LC_AGREE;
            } else {
                w->verdict = w->kernel_addr == w->model_addr &&
                                     w->kernel_size == w->model_size
                                 ? BS_LC_AGREE
                                 : BS_LC_DIFFER;
            }
            if (w->verdict == BS_LC_DIFFER)
                snprintf(w->why, sizeof w->why, "%s",
                         w->kernel_placed && !w->model_placed
                             ? "the model could not place it"
                         : !w->kernel_placed && w->model_placed
                             ? "the model placed what the kernel could not"
                         : w->kernel_size != w->model_size
                             ? "sized differently"
                             : "placed at another address");
        }
    }
    return BS_OK;
}

int bs_logcmp_run(const char *const *paths, int n, const bs_logcmp_opts *o,
                  bs_logcmp **out, bs_error *err)
{
    *out = NULL;
    bs_logcmp *c = calloc(1, sizeof *c);
    bs_import *im = bs_import_new();
    bs_topo *m = NULL;
    int rc = c && im ? BS_OK : BS_ENOMEM;
    for (int i = 0; i < n && rc == BS_OK; i++)
        rc = bs_import_add_path(im, paths[i], BS_IMPORT_AUTO, err);
    if (rc == BS_OK)
        rc = bs_import_build(im, &c->found, err);
    if (rc) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, "", 0, 0, "out of memory");
        bs_import_free(im);
        bs_logcmp_free(c);
        return rc;
    }
    const char *rel = o && o->kernel ? o->kernel : bs_import_kernel(im);
    snprintf(c->kernel, sizeof c->kernel, "%s", rel ? rel : "");
    bs_assign_opts ao;
    bs_peer_linux_opts(o && o->cmdline ? o->cmdline : bs_import_cmdline(im),
                       &ao);
    int v = release_version(c->kernel);
    ao.kernel = bs_kernel_nearest(v);
    snprintf(c->model, sizeof c->model, "%s",
             bs_policy_name(BS_POLICY_LINUX, ao.kernel));
    rc = add_note(c, "model %s: %s", c->model,
                  v ? "the modelled kernel nearest to the log's"
                    : "the log does not say its kernel; the newest model");
    for (int i = 0; i < bs_import_note_count(im) && rc == BS_OK; i++)
        rc = add_note(c, "%s", bs_import_note(im, i));
    if (rc == BS_OK) {
        m = bs_topo_clone(c->found);
        rc = m ? BS_OK : BS_ENOMEM;
    }
    if (rc == BS_OK) {
        bs_topo_unassign(m);
        bs_error ae = {0};
        rc = bs_assign(m, &ao, &ae);
        if (rc == BS_ENOSPC)
            rc = BS_OK;
        else if (rc)
            *err = ae;
    }
    if (rc == BS_OK)
        rc = compare(c, m, incomparable(im));
    bs_topo_free(m);
    bs_import_free(im);
    if (rc) {
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, "", 0, 0, "out of memory");
        bs_logcmp_free(c);
        return rc;
    }
    *out = c;
    return BS_OK;
}

void bs_logcmp_free(bs_logcmp *c)
{
    if (!c)
        return;
    bs_topo_free(c->found);
    free(c->rows);
    for (int i = 0; i < c->nnotes; i++)
        free(c->notes[i]);
    free(c->notes);
    free(c);
}

int bs_logcmp_row_count(const bs_logcmp *c) { return c->nrows; }

int bs_logcmp_row(const bs_logcmp *c, int i, bs_logcmp_item *out)
{
    if (i < 0 || i >= c->nrows)
        return BS_ENOENT;
    *out = c->rows[i];
    return BS_OK;
}

const bs_topo *bs_logcmp_topo(const bs_logcmp *c) { return c->found; }
const char *bs_logcmp_kernel(const bs_logcmp *c) { return c->kernel; }
const char *bs_logcmp_model(const bs_logcmp *c) { return c->model; }
int bs_logcmp_note_count(const bs_logcmp *c) { return c->nnotes; }

const char *bs_logcmp_note(const bs_logcmp *c, int i)
{
    return i >= 0 && i < c->nnotes ? c->notes[i] : "";
}
