/*
 * Partial BARs.  When the subject fits neither directly nor after moving
 * devices, a Resizable BAR (PCIe extended capability 0x15: bit n of the
 * capability = 2^n MiB supported) can make do with less:
 *   (a) the subject's own resizable BAR at the largest supported size that
 *       fits, without moves if any size does, else with the fewest moves;
 *   (b) a resizable neighbour on the same bus shrunk in place (its address
 *       stays: a naturally aligned BAR stays aligned when it shrinks) so
 *       that the subject fits at full size.
 * (a) without moves is preferred (no running device is disturbed); (b) is
 * taken when (a) would have to move devices, since (b) moves none.  What was
 * reduced is reported; the resource keeps its requested size in `want` and
 * carries BS_RF_REDUCED.
 */
#include "churn/churn_internal.h"

#include <string.h>

/* Next supported size below `cur`, 0 if none. */
static uint64_t next_smaller(uint64_t mask, uint64_t cur)
{
    for (int n = 43; n >= 0; n--) {
        uint64_t s = BS_MIB << n;
        if (s < cur && (mask & (UINT64_C(1) << n)))
            return s;
    }
    return 0;
}

static int plan_new(bs_plan *out, int subject, const struct bs_ritem *it,
                    int n)
{
    out->subject = subject;
    for (int i = 0; i < n; i++) {
        bs_plan_item pi = {BS_PLAN_NEW, it[i].node, it[i].slot, 0, 0,
                           it[i].addr, it[i].size, it[i].win};
        int rc = bs_plan_push(out, &pi);
        if (rc)
            return rc;
    }
    return BS_OK;
}

/* Would the items fit on the bus if neighbour BAR r were sz bytes?  w gets
 * where they would go; the space is left as it was. */
static bool fits_if_shrunk(bs_churn *c, int bus, bs_space *s,
                           const struct bs_res *r, uint64_t sz,
                           const struct bs_ritem *it, struct bs_ritem *w, int n)
{
    bs_space_release(s, r->addr, r->size);
    bs_space_reserve(s, r->addr, sz);
    memcpy(w, it, sizeof *w * (size_t)n);
    bool ok = bs_place_items(c, bus, w, n, BS_PLACE_BARSPACE);
    if (ok)
        bs_unplace_items(c, bus, w, n);
    bs_space_release(s, r->addr, sz);
    bs_space_reserve(s, r->addr, r->size);
    return ok;
}

int bs_rebar_fit(bs_churn *c, int bus, struct bs_ritem *it, int n,
                 int subject, bs_plan *out, int *reduced_node, uint64_t *want,
                 uint64_t *got)
{
    bs_topo *t = c->t;
    struct bs_ritem w[BS_NSLOTS], best_w[BS_NSLOTS];
    if (n > BS_NSLOTS || n <= 0)
        return BS_ENOSPC;
    /* (a) the subject's largest resizable BAR. */
    int ri = -1;
    for (int i = 0; i < n; i++) {
        const struct bs_res *r = &t->nodes[it[i].node].res[it[i].slot];
        if (r->rebar && it[i].size >= BS_MIB && bs_is_pow2(it[i].size) &&
            (ri < 0 || it[i].size > it[ri].size))
            ri = i;
    }
    bs_plan *pa = NULL;
    uint64_t a_size = 0;
    int rc;
    if (ri >= 0) {
        const struct bs_res *r = &t->nodes[it[ri].node].res[it[ri].slot];
        uint64_t s = it[ri].size;
        /* Direct first, all sizes; then with moves, all sizes. */
        for (int pass = 0; pass < 2 && !pa; pass++) {
            for (s = next_smaller(r->rebar, it[ri].size); s && !pa;
                 s = next_smaller(r->rebar, s)) {
                memcpy(w, it, sizeof *w * (size_t)n);
                w[ri].size = w[ri].align = s;
                if (pass == 0) {
                    if (!bs_place_items(c, bus, w, n, BS_PLACE_BARSPACE))
                        continue;
                    bs_unplace_items(c, bus, w, n);
                    if (!(pa = bs_plan_new()))
                        return BS_ENOMEM;
                    bs_plan_clear(pa);
                    if ((rc = plan_new(pa, subject, w, n))) {
                        bs_plan_free(pa);
                        return rc;
                    }
                } else if (c->o.moves && c->o.policy == BS_PLACE_BARSPACE) {
                    bs_plan *q = bs_plan_new();
                    bool none;
                    if (!q)
                        return BS_ENOMEM;
                    bs_plan_clear(q);
                    if (bs_plan_items(c, bus, w, n, subject, q, &none) == BS_OK)
                        pa = q;
                    else
                        bs_plan_free(q);
                }
                if (pa)
                    a_size = s;
            }
        }
    }
    if (pa && pa->moved == 0)
        goto take_a;
    /* (b) shrink a resizable neighbour in place. */
    {
        int best_nb = -1, best_k = -1;
        uint64_t best_s = 0;
        BS_FOR_CHILDREN(t, bus, ch) {
            if (ch == subject || !c->present[ch] ||
                (t->nodes[ch].flags & BS_NF_PINNED) ||
                t->nodes[ch].kind != BS_NODE_DEVICE)
                continue;
            for (int k = 0; k < BS_SLOT_VF0; k++) {
                struct bs_res *r = &t->nodes[ch].res[k];
                if (!r->rebar || !(r->flags & BS_RF_ASSIGNED) ||
                    (r->flags & (BS_RF_FIXED | BS_RF_UPPER)) || r->win < 0)
                    continue;
                bs_space *s = bs_churn_space(c, bus, r->win);
                if (!s)
                    continue;
                for (uint64_t sz = next_smaller(r->rebar, r->size); sz;
                     sz = next_smaller(r->rebar, sz)) {
                    if (sz <= best_s)
                        break;
                    if (fits_if_shrunk(c, bus, s, r, sz, it, w, n)) {
                        best_nb = ch;
                        best_k = k;
                        best_s = sz;
                        memcpy(best_w, w, sizeof *w * (size_t)n);
                        break;
                    }
                }
            }
        }
        if (best_nb >= 0) {
            /* best_w: where the subject went beside the shrunk neighbour. */
            struct bs_res *r = &t->nodes[best_nb].res[best_k];
            bs_plan_free(pa);
            bs_plan_clear(out);
            bs_plan_item si = {BS_PLAN_SHRINK, best_nb, best_k, r->addr,
                               r->size, r->addr, best_s, r->win};
            if ((rc = bs_plan_push(out, &si)) ||
                (rc = plan_new(out, subject, best_w, n)))
                return rc;
            out->optimal = 0;
            *reduced_node = best_nb;
            *want = r->want ? r->want : r->size;
            *got = best_s;
            return BS_OK;
        }
    }
    if (!pa)
        return BS_ENOSPC;
take_a:
    bs_plan_clear(out);
    for (int i = 0; i < pa->n; i++)
        if ((rc = bs_plan_push(out, &pa->it[i]))) {
            bs_plan_free(pa);
            return rc;
        }
    out->subject = subject;
    out->moved = pa->moved;
    out->bytes = pa->bytes;
    out->windows = pa->windows;
    out->optimal = 0;
    *reduced_node = subject;
    *want = it[ri].size;
    *got = a_size;
    bs_plan_free(pa);
    return BS_OK;
}
