/*
 * Interrupted relocation plans: rollback and resume of a bs_pending_plan
 * (include/barspace/plan.h; a snapshot saves one), built only on the
 * plan-as-data API of barspace/plan.h.
 *
 * Resume is the rest of the step list.  Rollback undoes the steps done, in
 * reverse order: a write is undone by writing the register's earlier value,
 * a quiesce by a resume and a resume by a quiesce.  The machine then passes
 * back through the states it passed through on the way forward, so every
 * state is one the step checker accepted when the plan was checked.  One
 * refinement: the checker counts a lone write to half of a 64-bit BAR as a
 * half-written BAR even when it puts back the old value, so each undone
 * half is written together with its other half; the BAR then holds a
 * complete address at every point, which is never less valid than the
 * forward state.  The earlier value of a register is the last value the
 * steps wrote to it, or, for the first write, the value the `before` state
 * gives it under the register layout of barspace/plan.h.
 */
#include "core/internal.h"
#include "barspace/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_IO 1u
#define CMD_MEM 2u

static bool res_on(const struct bs_res *r)
{
    return (r->flags & BS_RF_ASSIGNED) && r->size;
}

/* Value of one 32-bit half of resource k of node n in `before`. */
static uint32_t bar_value(const struct bs_node *n, int k, bool high)
{
    const struct bs_res *r = &n->res[k];
    uint64_t a = res_on(r) ? r->addr : 0;
    if (high)
        return (uint32_t)(a >> 32);
    return (uint32_t)a | (k == BS_SLOT_ROM && res_on(r) ? 1u : 0u);
}

/* BAR-like register at reg: slot and half, or false. */
static bool bar_at(const struct bs_node *n, unsigned reg, int *slot,
                   bool *high)
{
    bool dev = n->kind == BS_NODE_DEVICE;
    int k = -1;
    if (reg >= 0x10 && reg < (dev ? 0x28u : 0x18u) && reg % 4 == 0)
        k = (int)(reg - 0x10) / 4;
    else if (dev && reg >= BS_CAP_SRIOV + 0x24 && reg < BS_CAP_SRIOV + 0x3c &&
             reg % 4 == 0)
        k = BS_SLOT_VF0 + (int)(reg - (BS_CAP_SRIOV + 0x24)) / 4;
    else if (reg == (dev ? 0x30u : 0x38u))
        k = BS_SLOT_ROM;
    if (k < 0)
        return false;
    *high = k != BS_SLOT_ROM && (n->res[k].flags & BS_RF_UPPER);
    *slot = *high ? k - 1 : k;
    return true;
}

static int log2_u64(uint64_t v)
{
    int l = 0;
    while (v >>= 1)
        l++;
    return l;
}

/* Bridge window k in the base/limit encoding; an unassigned window is
 * encoded as base above limit (off). */
static bool window_value(const struct bs_node *n, unsigned reg, uint32_t *v)
{
    const struct bs_res *io = &n->res[BS_SLOT_WIN_IO];
    const struct bs_res *mem = &n->res[BS_SLOT_WIN_MEM];
    const struct bs_res *pf = &n->res[BS_SLOT_WIN_PREF];
    switch (reg) {
    case 0x1c:
        *v = res_on(io) ? (uint32_t)((io->addr >> 8) & 0xf0) |
                              (uint32_t)(bs_last(io->addr, io->size) & 0xf000)
                        : 0xf0u;
        return true;
    case 0x30:
        *v = res_on(io) ? (uint32_t)((io->addr >> 16) & 0xffff) |
                              (uint32_t)((bs_last(io->addr, io->size) >> 16)
                                         << 16)
                        : 0;
        return true;
    case 0x20:
        *v = res_on(mem) ? (uint32_t)((mem->addr >> 16) & 0xfff0) |
                               (uint32_t)(bs_last(mem->addr, mem->size) &
                                          0xfff00000u)
                         : 0xfff0u;
        return true;
    case 0x24:
        *v = res_on(pf) ? (uint32_t)((pf->addr >> 16) & 0xfff0) |
                              (uint32_t)(bs_last(pf->addr, pf->size) &
                                         0xfff00000u)
                        : 0xfff0u;
        return true;
    case 0x28:
        *v = res_on(pf) ? (uint32_t)(pf->addr >> 32) : 0;
        return true;
    case 0x2c:
        *v = res_on(pf) ? (uint32_t)(bs_last(pf->addr, pf->size) >> 32) : 0;
        return true;
    }
    return false;
}

/* The value register `reg` of node `id` holds in state t, as the step
 * checker of barspace/plan.h reads it.  BS_EINVAL for a register a plan
 * never writes (a rollback cannot know what to put back). */
static int initial_value(const bs_topo *t, int id, unsigned reg, uint32_t *v,
                         char *why, size_t cap)
{
    const struct bs_node *n = &t->nodes[id];
    bool dev = n->kind == BS_NODE_DEVICE;
    if (reg == 0x04) {
        bool any = false;
        for (int k = 0; k < BS_NSLOTS; k++)
            if (!bs_slot_is_window(k) && res_on(&n->res[k]))
                any = true;
        *v = (!dev || any) ? CMD_IO | CMD_MEM : 0;
        return BS_OK;
    }
    int k;
    bool high;
    if (bar_at(n, reg, &k, &high)) {
        *v = bar_value(n, k, high);
        return BS_OK;
    }
    if (!dev && window_value(n, reg, v))
        return BS_OK;
    if (dev && reg == BS_CAP_SRIOV + 0x08) {
        bool on = false;
        for (int q = BS_SLOT_VF0; q < BS_SLOT_VF0 + 6; q++)
            on |= res_on(&n->res[q]);
        *v = on ? 8u : 0u;
        return BS_OK;
    }
    if (dev && reg == BS_CAP_SRIOV + 0x10) {
        for (int q = BS_SLOT_VF0; q < BS_SLOT_VF0 + 6; q++) {
            const struct bs_res *r = &n->res[q];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            if (!r->align || r->size % r->align ||
                r->size / r->align != n->num_vfs) {
                snprintf(why, cap, "%s %s: size is not NumVFs x VF BAR size",
                         n->name, bs_slot_name(q));
                return BS_EINVAL;
            }
        }
        *v = n->num_vfs & 0xffff;
        return BS_OK;
    }
    if (reg >= BS_CAP_REBAR + 8 && reg < BS_CAP_REBAR + 8 + 6 * 8 &&
        (reg - (BS_CAP_REBAR + 8)) % 8 == 0) {
        int idx = (int)(reg - (BS_CAP_REBAR + 8)) / 8;
        uint64_t size = n->res[idx].size;
        if (!bs_is_pow2(size) || size < BS_MIB) {
            snprintf(why, cap,
                     "%s %s: size 0x%llx has no Resizable BAR encoding",
                     n->name, bs_slot_name(idx), (unsigned long long)size);
            return BS_EINVAL;
        }
        *v = (uint32_t)(log2_u64(size >> 20) << 8) | (uint32_t)idx;
        return BS_OK;
    }
    snprintf(why, cap, "%s: register 0x%x is not one a plan writes", n->name,
             reg);
    return BS_EINVAL;
}

/* ----------------------------------------------------------- shadow */

struct reg_ent {
    int node;      /* -1: empty */
    unsigned reg;
    uint32_t val;
};

struct shadow {
    struct reg_ent *e;
    size_t cap;
};

static struct reg_ent *shadow_find(struct shadow *s, int node, unsigned reg)
{
    uint64_t h = ((uint64_t)(unsigned)node * 0x9e3779b97f4a7c15u) ^
                 ((uint64_t)reg * 0xc2b2ae3d27d4eb4fu);
    size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
    while (s->e[i].node >= 0 && (s->e[i].node != node || s->e[i].reg != reg))
        i = (i + 1) & (s->cap - 1);
    return &s->e[i];
}

/* The other half of a 64-bit BAR register, or 0. */
static unsigned partner_reg(const bs_topo *t, int node, unsigned reg)
{
    const struct bs_node *n = &t->nodes[node];
    int k;
    bool high;
    if (!bar_at(n, reg, &k, &high) || k == BS_SLOT_ROM ||
        !(n->res[k].flags & BS_RF_MEM64))
        return 0;
    return high ? reg - 4 : reg + 4;
}

/* Earlier value of (node, reg): the shadow's, else the before state's. */
static int value_of(struct shadow *sh, const bs_topo *t, int node,
                    unsigned reg, struct reg_ent **out, char *why, size_t cap)
{
    struct reg_ent *e = shadow_find(sh, node, reg);
    if (e->node < 0) {
        uint32_t v;
        int rc = initial_value(t, node, reg, &v, why, cap);
        if (rc)
            return rc;
        e->node = node;
        e->reg = reg;
        e->val = v;
    }
    *out = e;
    return BS_OK;
}

static void undo_what(bs_step *u, const char *what)
{
    /* "undo " + as much of the original as fits. */
    memcpy(u->what, "undo ", 5);
    size_t m = strnlen(what, sizeof u->what - 1);
    if (m > sizeof u->what - 6)
        m = sizeof u->what - 6;
    memcpy(u->what + 5, what, m);
    u->what[5 + m] = 0;
}

int bs_pending_rollback(const bs_pending_plan *pp, bs_step **out, int *count,
                        bs_error *err)
{
    *out = NULL;
    *count = 0;
    if (!pp || !pp->before || pp->next < 0 || pp->next > pp->nsteps ||
        (pp->nsteps && !pp->steps)) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "rollback: no pending plan");
        return BS_EINVAL;
    }
    const bs_topo *t = pp->before;
    int k = pp->next;
    struct shadow sh = {0};
    sh.cap = 16;
    while (sh.cap < (size_t)k * 4)
        sh.cap *= 2;
    sh.e = malloc(sizeof *sh.e * sh.cap);
    /* Per step: the value its write replaced and, for half of a 64-bit
     * BAR, the other half's value at that moment. */
    uint32_t *prev = malloc(sizeof *prev * (size_t)(k ? k : 1));
    uint32_t *other = malloc(sizeof *other * (size_t)(k ? k : 1));
    bs_step *r = malloc(sizeof *r * (size_t)(k ? 2 * k : 1));
    if (!sh.e || !prev || !other || !r) {
        free(sh.e);
        free(prev);
        free(other);
        free(r);
        bs_seterr(err, BS_ENOMEM, NULL, 0, 0, "rollback: out of memory");
        return BS_ENOMEM;
    }
    for (size_t i = 0; i < sh.cap; i++)
        sh.e[i].node = -1;
    int rc = BS_OK;
    char why[160];
    for (int i = 0; i < k && !rc; i++) {
        const bs_step *s = &pp->steps[i];
        if (s->node < 1 || s->node >= t->nnodes) {
            bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                      "rollback: step %d is on node %d, which the plan's "
                      "before state does not have", i, s->node);
            rc = BS_EINVAL;
            break;
        }
        if (s->kind != BS_STEP_WRITE)
            continue;
        struct reg_ent *e, *o;
        unsigned pr = partner_reg(t, s->node, s->reg);
        if ((rc = value_of(&sh, t, s->node, s->reg, &e, why, sizeof why)) ||
            (pr && (rc = value_of(&sh, t, s->node, pr, &o, why, sizeof why)))) {
            bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                      "rollback: cannot undo step %d: %s", i, why);
            break;
        }
        /* value_of may have moved nothing: the table never rehashes. */
        e = shadow_find(&sh, s->node, s->reg);
        prev[i] = e->val;
        other[i] = pr ? shadow_find(&sh, s->node, pr)->val : 0;
        e->val = s->value;
    }
    /* Backward: the undo of each step, last first.  A 64-bit BAR half is
     * restored together with its other half, so that the BAR is never left
     * half written: the model of barspace/plan.h counts a lone half write
     * as a half-written BAR even when it puts back the old value. */
    int n = 0;
    for (int i = k - 1; i >= 0 && !rc; i--) {
        const bs_step *s = &pp->steps[i];
        bs_step *u = &r[n++];
        *u = *s;
        switch (s->kind) {
        case BS_STEP_QUIESCE:
            u->kind = BS_STEP_RESUME;
            snprintf(u->what, sizeof u->what, "rollback: resume driver");
            break;
        case BS_STEP_RESUME:
            u->kind = BS_STEP_QUIESCE;
            snprintf(u->what, sizeof u->what, "rollback: quiesce driver");
            break;
        default: {
            uint32_t v = prev[i];
            if (s->width < 4)
                v &= (UINT32_C(1) << (8 * s->width)) - 1;
            u->value = v;
            undo_what(u, s->what);
            unsigned pr = partner_reg(t, s->node, s->reg);
            if (pr) {
                bs_step *w = &r[n++];
                *w = *u;
                w->reg = pr;
                w->width = 4;
                w->value = other[i];
                snprintf(w->what, sizeof w->what, "rollback: %s half",
                         pr > s->reg ? "high" : "low");
                if (pr < s->reg) { /* low first, as the plan writes them */
                    bs_step tmp = *u;
                    *u = *w;
                    *w = tmp;
                }
            }
            break;
        }
        }
    }
    free(sh.e);
    free(prev);
    free(other);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    *count = n;
    return BS_OK;
}

int bs_pending_resume(const bs_pending_plan *pp, bs_step **out, int *count)
{
    *out = NULL;
    *count = 0;
    if (!pp || pp->next < 0 || pp->next > pp->nsteps ||
        (pp->nsteps && !pp->steps))
        return BS_EINVAL;
    int n = pp->nsteps - pp->next;
    bs_step *r = malloc(sizeof *r * (size_t)(n ? n : 1));
    if (!r)
        return BS_ENOMEM;
    if (n)
        memcpy(r, pp->steps + pp->next, sizeof *r * (size_t)n);
    *out = r;
    *count = n;
    return BS_OK;
}

int bs_pending_new(const bs_topo *before, const bs_plan *p,
                   bs_pending_plan **out)
{
    *out = NULL;
    bs_pending_plan *pp = calloc(1, sizeof *pp);
    if (!pp)
        return BS_ENOMEM;
    pp->before = bs_topo_clone(before);
    pp->after = bs_topo_clone(before);
    int rc = (!pp->before || !pp->after) ? BS_ENOMEM : BS_OK;
    if (!rc)
        rc = bs_plan_apply(p, pp->after);
    if (!rc)
        rc = bs_plan_steps(p, before, &pp->steps, &pp->nsteps);
    if (rc) {
        bs_pending_free(pp);
        return rc;
    }
    *out = pp;
    return BS_OK;
}
