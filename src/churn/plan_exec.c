/*
 * Plans as executable sequences of config-space writes, and the step
 * checker that replays them against a model of the machine.
 *
 * Emission is driven by the checker itself: the plan is cut into actions
 * (move one device; move a bridge with its subtree; grow a bridge window in
 * place; shrink a Resizable BAR; bring up the subject) and the next action
 * taken is the first one whose every step leaves a valid state.  When no
 * action can go (two devices swap places), the first blocked move is split:
 * its device is quiesced and its decode cleared early, which frees its old
 * range, and the search goes on.  So a device is only down while it moves,
 * unless a cycle forces it to wait.
 */
#include "churn/churn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_IO 1u
#define CMD_MEM 2u

struct mres {
    uint64_t addr, size;
    unsigned pend;    /* 64-bit BAR: 1 = low written, 2 = high written */
};

struct mnode {
    unsigned cmd;
    bool quiesced, running, rom_en, vf_mse;
    struct mres r[BS_NSLOTS];  /* windows: addr = base, size = limit-base+1 */
    uint64_t wlimit[3];        /* window limits (inclusive), base > limit: off */
};

struct mstate {
    const bs_topo *t;          /* shape: kinds, parents, flags, alignments */
    int n;
    bool full;                 /* sweep after every step, no shortcut */
    struct mnode *nd;
    uint64_t now;
    uint64_t *down_start;
};

static bool is_window(int k) { return bs_slot_is_window(k); }

static int state_init(struct mstate *S, const bs_topo *t)
{
    S->t = t;
    S->n = t->nnodes;
    S->now = 0;
    S->full = false;
    S->nd = calloc((size_t)t->nnodes, sizeof *S->nd);
    S->down_start = calloc((size_t)t->nnodes, sizeof *S->down_start);
    if (!S->nd || !S->down_start)
        return BS_ENOMEM;
    for (int i = 1; i < t->nnodes; i++) {
        const struct bs_node *n = &t->nodes[i];
        struct mnode *m = &S->nd[i];
        bool any = false;
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &n->res[k];
            m->r[k].size = r->size;
            if (is_window(k)) {
                int w = k - BS_SLOT_WIN_IO;
                if ((r->flags & BS_RF_ASSIGNED) && r->size) {
                    m->r[k].addr = r->addr;
                    m->wlimit[w] = bs_last(r->addr, r->size);
                } else {
                    m->r[k].addr = 1;
                    m->wlimit[w] = 0;
                }
                continue;
            }
            if ((r->flags & BS_RF_ASSIGNED) && r->size) {
                m->r[k].addr = r->addr;
                any = true;
                if (k == BS_SLOT_ROM)
                    m->rom_en = true;
                if (k >= BS_SLOT_VF0)
                    m->vf_mse = true;
            }
        }
        if (n->kind == BS_NODE_BRIDGE || any)
            m->cmd = CMD_IO | CMD_MEM;
        m->running = n->kind == BS_NODE_DEVICE && any;
    }
    return BS_OK;
}

static void state_free(struct mstate *S)
{
    free(S->nd);
    free(S->down_start);
}

static int state_copy(struct mstate *dst, const struct mstate *src)
{
    *dst = *src;
    dst->nd = malloc(sizeof *dst->nd * (size_t)src->n);
    dst->down_start = malloc(sizeof *dst->down_start * (size_t)src->n);
    if (!dst->nd || !dst->down_start) {
        free(dst->nd);
        free(dst->down_start);
        return BS_ENOMEM;
    }
    memcpy(dst->nd, src->nd, sizeof *dst->nd * (size_t)src->n);
    memcpy(dst->down_start, src->down_start,
           sizeof *dst->down_start * (size_t)src->n);
    return BS_OK;
}

/* ---- decoding ranges and the invariant sweep ---- */

/* Does the CPU reach node n's decoders (all bridges above forward)? */
static bool reachable(const struct mstate *S, int n, bool io)
{
    for (int p = S->t->nodes[n].parent; p > 0; p = S->t->nodes[p].parent)
        if (!(S->nd[p].cmd & (io ? CMD_IO : CMD_MEM)))
            return false;
    return true;
}

/* Does slot k of node n decode in its own registers (command, enables,
 * window base <= limit)?  Bridges above are reachable() 's business. */
static bool mslot_decodes(const struct bs_node *n, const struct mnode *m,
                          int k)
{
    const struct bs_res *r = &n->res[k];
    if (!m->r[k].size || (r->flags & BS_RF_UPPER))
        return false;
    if (is_window(k)) {
        int w = k - BS_SLOT_WIN_IO;
        if (m->r[k].addr > m->wlimit[w])
            return false;
        return m->cmd & (k == BS_SLOT_WIN_IO ? CMD_IO : CMD_MEM);
    }
    if (!(r->flags & BS_RF_ASSIGNED) && !m->r[k].addr)
        return false;
    if (k >= BS_SLOT_VF0)
        return m->vf_mse;
    if (k == BS_SLOT_ROM)
        return m->rom_en && (m->cmd & CMD_MEM);
    return m->cmd & ((r->flags & BS_RF_IO) ? CMD_IO : CMD_MEM);
}

static bool slot_decodes(const struct mstate *S, int i, int k)
{
    return mslot_decodes(&S->t->nodes[i], &S->nd[i], k);
}

static uint64_t slot_last(const struct mstate *S, int i, int k)
{
    const struct mnode *m = &S->nd[i];
    if (is_window(k))
        return m->wlimit[k - BS_SLOT_WIN_IO];
    return bs_last(m->r[k].addr, m->r[k].size);
}

static bool ranges_overlap(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
    return a <= bl && b <= al;
}

/* A step on a device, from a valid state: only the device's own ranges
 * can be new, so they alone are checked (against every range that
 * decodes), with the rules of validate(); O(n), no sort.  No one else's
 * validity depends on a device. */
static int device_delta(const struct mstate *S, int i, const struct mnode *was,
                        char *msg, size_t cap)
{
    const bs_topo *t = S->t;
    const struct bs_node *n = &t->nodes[i];
    const struct mnode *m = &S->nd[i];
    for (int k = 0; k < BS_NSLOTS; k++) {
        if (!mslot_decodes(n, m, k))
            continue;
        const struct bs_res *r = &n->res[k];
        bool isio = r->flags & BS_RF_IO;
        if (!reachable(S, i, isio))
            continue;
        if ((r->flags & BS_RF_MEM64) &&
            (m->r[k].pend == 1 || m->r[k].pend == 2)) {
            snprintf(msg, cap, "%s %s decodes while half written", n->name,
                     bs_slot_name(k));
            return 1;
        }
        uint64_t a = m->r[k].addr, al = slot_last(S, i, k);
        int p = n->parent;
        if (p > 0 && m->running && !m->quiesced) {
            bool in = false;
            int ws[2] = {isio ? BS_SLOT_WIN_IO : BS_SLOT_WIN_MEM,
                         BS_SLOT_WIN_PREF};
            for (int w = 0; w < (isio ? 1 : 2); w++)
                if (slot_decodes(S, p, ws[w]) && a >= S->nd[p].r[ws[w]].addr &&
                    al <= slot_last(S, p, ws[w]))
                    in = true;
            if (!in) {
                snprintf(msg, cap, "running %s %s [0x%llx] outside %s's window",
                         n->name, bs_slot_name(k), (unsigned long long)a,
                         t->nodes[p].name);
                return 1;
            }
        }
        if (mslot_decodes(n, was, k) && was->r[k].addr == a &&
            was->r[k].size == m->r[k].size)
            continue; /* decoded there before: checked then */
        for (int j = 1; j < S->n; j++) {
            for (int q = 0; q < BS_NSLOTS; q++) {
                /* Cheapest test first: most ranges are elsewhere. */
                if (!S->nd[j].r[q].size || (j == i && q == k))
                    continue;
                uint64_t b = S->nd[j].r[q].addr, bl = slot_last(S, j, q);
                if (!ranges_overlap(a, al, b, bl) || !slot_decodes(S, j, q))
                    continue;
                bool qio = is_window(q) ? q == BS_SLOT_WIN_IO
                                        : (t->nodes[j].res[q].flags & BS_RF_IO);
                if (qio != isio || !reachable(S, j, qio))
                    continue;
                if (is_window(q) && bs_topo_is_ancestor(t, j, i) && b <= a && al <= bl)
                    continue; /* inside a window above it */
                snprintf(msg, cap,
                         "%s %s [0x%llx-0x%llx] overlaps %s %s [0x%llx-0x%llx] "
                         "while both decode", n->name, bs_slot_name(k),
                         (unsigned long long)a, (unsigned long long)al,
                         t->nodes[j].name, bs_slot_name(q),
                         (unsigned long long)b, (unsigned long long)bl);
                return 1;
            }
        }
    }
    return 0;
}

/* After step s took node i from `was` to its current state: can the step
 * have made a valid state invalid?  Not when it only quiesced a driver,
 * or when it touched a device (no one's decode depends on a device) and
 * every range the device decodes now it decoded before, unchanged and not
 * half written.  Then the full sweep is skipped: its verdict would be the
 * same.  Bridges always get the sweep (their windows and forwarding are
 * what their children's drivers reach their BARs through). */
static bool only_shrank(const struct mstate *S, const bs_step *s,
                        const struct mnode *was)
{
    if (s->kind == BS_STEP_QUIESCE)
        return true;
    const struct bs_node *n = &S->t->nodes[s->node];
    const struct mnode *m = &S->nd[s->node];
    if (s->kind != BS_STEP_WRITE || n->kind != BS_NODE_DEVICE ||
        m->quiesced != was->quiesced || m->running != was->running)
        return false;
    for (int k = 0; k < BS_NSLOTS; k++) {
        if (!mslot_decodes(n, m, k))
            continue;
        if (!mslot_decodes(n, was, k) || m->r[k].addr != was->r[k].addr ||
            m->r[k].size != was->r[k].size || m->r[k].pend != was->r[k].pend)
            return false;
    }
    return true;
}

struct decode_overlap {
    const bs_topo *t;
    char *msg;
    size_t cap;
    bool found;
};

/* The first two ranges that overlap while both decode. */
static bool decode_overlap(void *ctx, const struct bs_range *r,
                           const struct bs_range *top)
{
    struct decode_overlap *o = ctx;
    snprintf(o->msg, o->cap,
             "%s %s [0x%llx-0x%llx] overlaps %s %s [0x%llx-0x%llx] while both "
             "decode", o->t->nodes[r->node].name, bs_slot_name(r->slot),
             (unsigned long long)r->start, (unsigned long long)r->last,
             o->t->nodes[top->node].name, bs_slot_name(top->slot),
             (unsigned long long)top->start, (unsigned long long)top->last);
    o->found = true;
    return true;
}

static int validate(const struct mstate *S, char *msg, size_t cap)
{
    const bs_topo *t = S->t;
    size_t cnt = 0;
    for (int i = 1; i < S->n; i++)
        for (int k = 0; k < BS_NSLOTS; k++)
            if (S->nd[i].r[k].size)
                cnt++;
    struct bs_range *io = malloc(sizeof *io * (cnt + 1));
    struct bs_range *mem = malloc(sizeof *mem * (cnt + 1));
    if (!io || !mem) {
        free(io);
        free(mem);
        snprintf(msg, cap, "out of memory");
        return 1;
    }
    size_t nio = 0, nmem = 0;
    int bad = 0;
    for (int i = 1; i < S->n && !bad; i++) {
        const struct mnode *m = &S->nd[i];
        for (int k = 0; k < BS_NSLOTS && !bad; k++) {
            if (!slot_decodes(S, i, k))
                continue;
            bool isio = is_window(k) ? k == BS_SLOT_WIN_IO
                                     : (t->nodes[i].res[k].flags & BS_RF_IO);
            if (!reachable(S, i, isio))
                continue;
            const struct bs_res *r = &t->nodes[i].res[k];
            if (!is_window(k) && (r->flags & BS_RF_MEM64) &&
                (m->r[k].pend == 1 || m->r[k].pend == 2)) {
                snprintf(msg, cap, "%s %s decodes while half written",
                         t->nodes[i].name, bs_slot_name(k));
                bad = 1;
                break;
            }
            struct bs_range d = {m->r[k].addr, slot_last(S, i, k), i, k};
            if (isio)
                io[nio++] = d;
            else
                mem[nmem++] = d;
            /* A running driver must reach its BARs through its bridge. */
            int p = t->nodes[i].parent;
            if (!is_window(k) && p > 0 && m->running && !m->quiesced) {
                bool in = false;
                int ws[2] = {isio ? BS_SLOT_WIN_IO : BS_SLOT_WIN_MEM,
                             BS_SLOT_WIN_PREF};
                for (int w = 0; w < (isio ? 1 : 2); w++)
                    if (slot_decodes(S, p, ws[w]) &&
                        d.start >= S->nd[p].r[ws[w]].addr &&
                        d.last <= slot_last(S, p, ws[w]))
                        in = true;
                if (!in) {
                    snprintf(msg, cap, "running %s %s [0x%llx] outside %s's window",
                             t->nodes[i].name, bs_slot_name(k),
                             (unsigned long long)d.start, t->nodes[p].name);
                    bad = 1;
                }
            }
        }
    }
    struct decode_overlap o = {t, msg, cap, false};
    for (int pass = 0; pass < 2 && !bad; pass++) {
        if (bs_sweep(t, pass ? mem : io, pass ? nmem : nio, decode_overlap,
                     &o)) {
            snprintf(msg, cap, "out of memory");
            bad = 1;
        } else if (o.found) {
            bad = 1;
        }
    }
    free(io);
    free(mem);
    return bad;
}

/* ---- applying one step ---- */

struct cost {
    uint64_t cfg, quiesce, map_ps;
};

static uint64_t decoding_bytes(const struct mstate *S, int i)
{
    /* A bridge that stops forwarding unmaps its windows' contents. */
    uint64_t b = 0;
    for (int k = 0; k < BS_NSLOTS; k++)
        if (k != BS_SLOT_WIN_IO && slot_decodes(S, i, k))
            b += S->nd[i].r[k].size;
    return b;
}

static void bar_dword(struct mstate *S, int i, int k, bool high, uint32_t v)
{
    struct mres *r = &S->nd[i].r[k];
    uint32_t f = S->t->nodes[i].res[k].flags;
    if (high) {
        r->addr = (r->addr & 0xffffffffu) | ((uint64_t)v << 32);
        r->pend |= 2;
    } else {
        uint32_t mask = (f & BS_RF_IO) ? ~3u : (k == BS_SLOT_ROM ? ~0x7ffu : ~0xfu);
        r->addr = (r->addr & ~(uint64_t)0xffffffffu) | (v & mask);
        if (k == BS_SLOT_ROM)
            S->nd[i].rom_en = v & 1;
        r->pend |= 1;
    }
    if (!(f & BS_RF_MEM64) || r->pend == 3)
        r->pend = 0;
}

static void win_write(struct mstate *S, int i, unsigned reg, uint32_t v,
                      unsigned width)
{
    struct mnode *m = &S->nd[i];
    struct mres *io = &m->r[BS_SLOT_WIN_IO], *mem = &m->r[BS_SLOT_WIN_MEM],
                *pf = &m->r[BS_SLOT_WIN_PREF];
    uint64_t *lim = m->wlimit;
    switch (reg) {
    case 0x1c:
        io->addr = (io->addr & ~(uint64_t)0xffff) | ((uint64_t)(v & 0xf0) << 8);
        lim[0] = (lim[0] & ~(uint64_t)0xffff) | ((uint64_t)(v & 0xf000)) | 0xfff;
        break;
    case 0x30:
        io->addr = (io->addr & 0xffff) | ((uint64_t)(v & 0xffff) << 16);
        lim[0] = (lim[0] & 0xffff) | ((uint64_t)(v >> 16) << 16);
        break;
    case 0x20:
        mem->addr = (uint64_t)(v & 0xfff0) << 16;
        lim[1] = ((uint64_t)(v & 0xfff00000)) | 0xfffff;
        break;
    case 0x24:
        pf->addr = (pf->addr & ~(uint64_t)0xffffffffu) | ((uint64_t)(v & 0xfff0) << 16);
        lim[2] = (lim[2] & ~(uint64_t)0xffffffffu) | (v & 0xfff00000) | 0xfffff;
        break;
    case 0x28:
        pf->addr = (pf->addr & 0xffffffffu) | ((uint64_t)v << 32);
        break;
    case 0x2c:
        lim[2] = (lim[2] & 0xffffffffu) | ((uint64_t)v << 32);
        break;
    }
    (void)width;
    /* Keep the modelled sizes in step for the sweep. */
    for (int w = 0; w < 3; w++) {
        struct mres *r = &m->r[BS_SLOT_WIN_IO + w];
        r->size = r->addr <= lim[w] ? lim[w] - r->addr + 1 : 1;
    }
}

/* Apply step s; returns 0 or 1 with msg when the step itself is illegal. */
static int apply(struct mstate *S, const bs_step *s, const struct cost *C,
                 char *msg, size_t cap, uint64_t *down)
{
    const bs_topo *t = S->t;
    if (s->node <= 0 || s->node >= S->n) {
        snprintf(msg, cap, "step on unknown node %d", s->node);
        return 1;
    }
    int i = s->node;
    const struct bs_node *n = &t->nodes[i];
    struct mnode *m = &S->nd[i];
    if (n->flags & BS_NF_PINNED) {
        snprintf(msg, cap, "pinned device %s touched", n->name);
        return 1;
    }
    switch (s->kind) {
    case BS_STEP_QUIESCE:
        S->now += C->quiesce / 2;
        m->quiesced = true;
        S->down_start[i] = S->now;
        return 0;
    case BS_STEP_RESUME:
        S->now += C->quiesce / 2;
        if (!m->quiesced) {
            snprintf(msg, cap, "%s resumed but was not quiesced", n->name);
            return 1;
        }
        m->quiesced = false;
        if (down)
            down[i] += S->now - S->down_start[i];
        return 0;
    case BS_STEP_WRITE:
        break;
    default:
        snprintf(msg, cap, "unknown step kind %d", s->kind);
        return 1;
    }
    S->now += C->cfg;
    unsigned reg = s->reg;
    uint32_t v = s->value;
    bool dev = n->kind == BS_NODE_DEVICE;
    if (reg == 0x04) {
        uint64_t before = decoding_bytes(S, i);
        unsigned old = m->cmd;
        m->cmd = v & 0xffff;
        uint64_t after = decoding_bytes(S, i);
        S->now += ((before > after ? before - after : after - before) / 1000) *
                  C->map_ps;
        if (dev && m->running && !m->quiesced && (old & ~m->cmd & CMD_MEM)) {
            snprintf(msg, cap, "decode cleared under %s's running driver",
                     n->name);
            return 1;
        }
        return 0;
    }
    /* Anything else changes where the device decodes: a running driver
     * would lose its MMIO. */
    if (dev && m->running && !m->quiesced) {
        snprintf(msg, cap, "config write 0x%x to %s while its driver runs",
                 reg, n->name);
        return 1;
    }
    int k = -1;
    bool high = false;
    if (reg >= 0x10 && reg < (dev ? 0x28u : 0x18u)) {
        int idx = (int)(reg - 0x10) / 4;
        if (n->res[idx].flags & BS_RF_UPPER) {
            k = idx - 1;
            high = true;
        } else {
            k = idx;
        }
    } else if (dev && reg == 0x30) {
        k = BS_SLOT_ROM;
    } else if (!dev && reg == 0x38) {
        k = BS_SLOT_ROM;
    } else if (dev && reg >= BS_CAP_SRIOV + 0x24 && reg < BS_CAP_SRIOV + 0x3c) {
        int idx = (int)(reg - (BS_CAP_SRIOV + 0x24)) / 4;
        int slot = BS_SLOT_VF0 + idx;
        if (n->res[slot].flags & BS_RF_UPPER) {
            k = slot - 1;
            high = true;
        } else {
            k = slot;
        }
    } else if (dev && reg == BS_CAP_SRIOV + 0x08) {
        bool on = v & 8;
        uint64_t vb = 0;
        for (int q = BS_SLOT_VF0; q < BS_SLOT_VF0 + 6; q++)
            vb += m->r[q].size;
        if (on != m->vf_mse)
            S->now += (vb / 1000) * C->map_ps;
        m->vf_mse = on;
        return 0;
    } else if (dev && reg == BS_CAP_SRIOV + 0x10) {
        if (m->vf_mse) {
            snprintf(msg, cap, "%s NumVFs changed with VF memory enabled",
                     n->name);
            return 1;
        }
        for (int q = BS_SLOT_VF0; q < BS_SLOT_VF0 + 6; q++)
            if (n->res[q].size && !(n->res[q].flags & BS_RF_UPPER))
                m->r[q].size = n->res[q].align * (v & 0xffff);
        return 0;
    } else if (reg >= BS_CAP_REBAR + 8 && reg < BS_CAP_REBAR + 8 + 6 * 8) {
        int idx = (int)(reg - (BS_CAP_REBAR + 8)) / 8;
        if (m->cmd & CMD_MEM) {
            snprintf(msg, cap, "%s BAR%d resized with memory decode on",
                     n->name, idx);
            return 1;
        }
        m->r[idx].size = BS_MIB << ((v >> 8) & 0x3f);
        return 0;
    } else if (!dev && (reg == 0x1c || reg == 0x20 || reg == 0x24 ||
                        reg == 0x28 || reg == 0x2c || reg == 0x30)) {
        win_write(S, i, reg, v, s->width);
        return 0;
    }
    if (k < 0 || !n->res[k].size) {
        snprintf(msg, cap, "write to 0x%x of %s: no such register", reg,
                 n->name);
        return 1;
    }
    if (n->res[k].flags & BS_RF_FIXED) {
        snprintf(msg, cap, "firmware-fixed %s %s written", n->name,
                 bs_slot_name(k));
        return 1;
    }
    bar_dword(S, i, k, high, v);
    return 0;
}

/* ---- emission ---- */

struct emitter {
    bs_step *s;
    int n, cap;
};

static int push(struct emitter *E, int kind, int node, unsigned reg,
                unsigned width, uint32_t value, const char *what)
{
    if (!bs_grow((void **)&E->s, &E->cap, E->n, sizeof *E->s, 64))
        return BS_ENOMEM;
    bs_step *s = &E->s[E->n++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->node = node;
    s->reg = reg;
    s->width = width;
    s->value = value;
    snprintf(s->what, sizeof s->what, "%s", what);
    return BS_OK;
}

static unsigned bar_reg(const bs_topo *t, int node, int k)
{
    if (k == BS_SLOT_ROM)
        return t->nodes[node].kind == BS_NODE_BRIDGE ? 0x38 : 0x30;
    if (k >= BS_SLOT_VF0)
        return BS_CAP_SRIOV + 0x24 + 4u * (unsigned)(k - BS_SLOT_VF0);
    return 0x10 + 4u * (unsigned)k;
}

/* Writes that give resource k of node its new address (and size). */
static int emit_res(struct emitter *E, const bs_topo *t, int node, int k,
                    uint64_t addr, uint64_t size, uint64_t old_size)
{
    const struct bs_res *r = &t->nodes[node].res[k];
    char what[48];
    int rc;
    if (size != old_size && k < BS_SLOT_VF0 && size >= BS_MIB) {
        unsigned lg = (unsigned)(63 - __builtin_clzll(size >> 20));
        snprintf(what, sizeof what, "%s resize to %s", bs_slot_name(k),
                 bs_fmt_size(size, (char[32]){0}, 32));
        if ((rc = push(E, BS_STEP_WRITE, node, BS_CAP_REBAR + 8 + 8u * (unsigned)k,
                       4, (lg << 8) | (unsigned)k, what)))
            return rc;
    }
    if (size != old_size && k >= BS_SLOT_VF0 && r->align) {
        snprintf(what, sizeof what, "NumVFs %llu",
                 (unsigned long long)(size / r->align));
        if ((rc = push(E, BS_STEP_WRITE, node, BS_CAP_SRIOV + 0x10, 2,
                       (uint32_t)(size / r->align), what)))
            return rc;
    }
    unsigned reg = bar_reg(t, node, k);
    uint32_t lo = (uint32_t)addr | (k == BS_SLOT_ROM ? 1u : 0u);
    snprintf(what, sizeof what, "%s low", bs_slot_name(k));
    if ((rc = push(E, BS_STEP_WRITE, node, reg, 4, lo, what)))
        return rc;
    if (r->flags & BS_RF_MEM64) {
        snprintf(what, sizeof what, "%s high", bs_slot_name(k));
        if ((rc = push(E, BS_STEP_WRITE, node, reg + 4, 4,
                       (uint32_t)(addr >> 32), what)))
            return rc;
    }
    return BS_OK;
}

/* Window registers of bridge b for window k = [base, base+size). */
static int emit_window(struct emitter *E, int b, int k, uint64_t base,
                       uint64_t size, bool high_first)
{
    uint64_t last = size ? bs_last(base, size) : 0;
    if (!size)
        base = 0xfff00000, last = 0; /* disabled: base above limit */
    int rc;
    if (k == BS_SLOT_WIN_IO) {
        if ((rc = push(E, BS_STEP_WRITE, b, 0x30, 4,
                       (uint32_t)((base >> 16) & 0xffff) |
                           (uint32_t)((last >> 16) << 16),
                       "io window upper")))
            return rc;
        return push(E, BS_STEP_WRITE, b, 0x1c, 2,
                    (uint32_t)(((base >> 8) & 0xf0) | (last & 0xf000)),
                    "io window");
    }
    uint32_t bl = (uint32_t)((base >> 16) & 0xfff0) |
                  (uint32_t)(last & 0xfff00000);
    if (k == BS_SLOT_WIN_MEM)
        return push(E, BS_STEP_WRITE, b, 0x20, 4, bl, "mem window");
    if (high_first) {
        if ((rc = push(E, BS_STEP_WRITE, b, 0x28, 4, (uint32_t)(base >> 32),
                       "pref window upper base")) ||
            (rc = push(E, BS_STEP_WRITE, b, 0x2c, 4, (uint32_t)(last >> 32),
                       "pref window upper limit")))
            return rc;
        return push(E, BS_STEP_WRITE, b, 0x24, 4, bl, "pref window");
    }
    if ((rc = push(E, BS_STEP_WRITE, b, 0x24, 4, bl, "pref window")) ||
        (rc = push(E, BS_STEP_WRITE, b, 0x28, 4, (uint32_t)(base >> 32),
                   "pref window upper base")))
        return rc;
    return push(E, BS_STEP_WRITE, b, 0x2c, 4, (uint32_t)(last >> 32),
                "pref window upper limit");
}

enum { A_DEV = 1, A_BRIDGE, A_WIN, A_SHRINK, A_NEW, A_RESIZE };

struct action {
    int kind, node;
    bool off_done;   /* quiesce + decode off already emitted */
    bool done;
    int variant;     /* A_WIN: write order / protection */
};

static bool dev_decoding(const bs_topo *t, int n)
{
    for (int k = 0; k < BS_SLOT_WIN_IO; k++)
        if ((t->nodes[n].res[k].flags & BS_RF_ASSIGNED) && t->nodes[n].res[k].size)
            return true;
    return false;
}

/* Devices below bridge b that run (have addresses). */
static int subtree_devices(const bs_topo *t, int b, int *out, int cap)
{
    int n = 0;
    int stack[BS_MAX_DEPTH + 2], sp = 0;
    stack[sp++] = b;
    while (sp) {
        int x = stack[--sp];
        BS_FOR_CHILDREN(t, x, ch) {
            if (t->nodes[ch].kind == BS_NODE_BRIDGE) {
                if (sp < BS_MAX_DEPTH + 1)
                    stack[sp++] = ch;
            } else if (dev_decoding(t, ch) && n < cap) {
                out[n++] = ch;
            }
        }
    }
    return n;
}

struct emit_ctx {
    const bs_plan *p;
    const bs_topo *t;
};

/* The steps of one action (or of its first half when `half`). */
static int action_steps(const struct emit_ctx *X, struct action *a,
                        struct emitter *E, bool half)
{
    const bs_topo *t = X->t;
    const bs_plan *p = X->p;
    int rc;
    int n = a->node;
    uint32_t cmd = (uint32_t)(CMD_IO | CMD_MEM);
    bool vf = false, needs_vf_off = false;
    switch (a->kind) {
    case A_DEV:
    case A_SHRINK:
    case A_RESIZE:
        for (int i = 0; i < p->n; i++)
            if (p->it[i].node == n && p->it[i].slot >= BS_SLOT_VF0 &&
                p->it[i].slot < BS_SLOT_WIN_IO)
                vf = true;
        needs_vf_off = vf;
        if (!a->off_done) {
            if ((rc = push(E, BS_STEP_QUIESCE, n, 0, 0, 0, "quiesce driver")))
                return rc;
            if (needs_vf_off &&
                (rc = push(E, BS_STEP_WRITE, n, BS_CAP_SRIOV + 0x08, 2, 0,
                           "VF memory off")))
                return rc;
            if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, 0, "decode off")))
                return rc;
            if (half)
                return BS_OK;
        }
        for (int i = 0; i < p->n; i++) {
            const bs_plan_item *it = &p->it[i];
            if (it->node != n || bs_slot_is_window(it->slot))
                continue;
            uint64_t old = t->nodes[n].res[it->slot].size;
            if ((rc = emit_res(E, t, n, it->slot, it->new_addr, it->new_size,
                               old)))
                return rc;
        }
        if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, cmd, "decode on")))
            return rc;
        if (needs_vf_off &&
            (rc = push(E, BS_STEP_WRITE, n, BS_CAP_SRIOV + 0x08, 2, 8,
                       "VF memory on")))
            return rc;
        return push(E, BS_STEP_RESUME, n, 0, 0, 0, "resume driver");
    case A_NEW:
        for (int i = 0; i < p->n; i++) {
            const bs_plan_item *it = &p->it[i];
            if (it->node != n || bs_slot_is_window(it->slot))
                continue;
            if (it->slot >= BS_SLOT_VF0)
                vf = true;
            uint64_t old = t->nodes[n].res[it->slot].size;
            if ((rc = emit_res(E, t, n, it->slot, it->new_addr, it->new_size,
                               old)))
                return rc;
        }
        if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, cmd, "decode on")))
            return rc;
        if (vf)
            return push(E, BS_STEP_WRITE, n, BS_CAP_SRIOV + 0x08, 2, 8,
                        "VF memory on");
        return BS_OK;
    case A_WIN: {
        /* Growth or shrink in place of one bridge's windows.  Variant 0:
         * low dword first, 1: upper first, 2: with the bridge's forwarding
         * off and the devices below quiesced. */
        int devs[256], nd = 0;
        if (a->variant == 2) {
            nd = subtree_devices(t, n, devs, 256);
            for (int i = 0; i < nd; i++)
                if ((rc = push(E, BS_STEP_QUIESCE, devs[i], 0, 0, 0,
                               "quiesce driver")))
                    return rc;
            if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, CMD_IO,
                           "bridge forwarding off")))
                return rc;
        }
        for (int i = 0; i < p->n; i++) {
            const bs_plan_item *it = &p->it[i];
            if (it->node == n && bs_slot_is_window(it->slot) &&
                (rc = emit_window(E, n, it->slot, it->new_addr, it->new_size,
                                  a->variant == 1)))
                return rc;
        }
        if (a->variant == 2) {
            if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, cmd,
                           "bridge forwarding on")))
                return rc;
            for (int i = 0; i < nd; i++)
                if ((rc = push(E, BS_STEP_RESUME, devs[i], 0, 0, 0,
                               "resume driver")))
                    return rc;
        }
        return BS_OK;
    }
    case A_BRIDGE: {
        /* Relocate a bridge and everything below it: the devices stop, the
         * bridge stops forwarding, every register is rewritten. */
        int devs[1024];
        int nd = subtree_devices(t, n, devs, 1024);
        for (int i = 0; i < nd; i++)
            if ((rc = push(E, BS_STEP_QUIESCE, devs[i], 0, 0, 0,
                           "quiesce driver")))
                return rc;
        if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, 0,
                       "bridge forwarding off")))
            return rc;
        for (int i = 0; i < p->n; i++) {
            const bs_plan_item *it = &p->it[i];
            if (it->node != n && !bs_topo_is_ancestor(t, n, it->node))
                continue;
            if (bs_slot_is_window(it->slot))
                rc = emit_window(E, it->node, it->slot, it->new_addr,
                                 it->new_size, false);
            else
                rc = emit_res(E, t, it->node, it->slot, it->new_addr,
                              it->new_size, it->old_size);
            if (rc)
                return rc;
        }
        if ((rc = push(E, BS_STEP_WRITE, n, 0x04, 2, cmd,
                       "bridge forwarding on")))
            return rc;
        for (int i = 0; i < nd; i++)
            if ((rc = push(E, BS_STEP_RESUME, devs[i], 0, 0, 0, "resume driver")))
                return rc;
        return BS_OK;
    }
    }
    return BS_EINVAL;
}

/* After step s on a valid state: is the new state still valid?  The full
 * sweep for bridges; for a device only what it now decodes differently. */
static int check_step(const struct mstate *S, const bs_step *s,
                      const struct mnode *was, char *msg, size_t cap)
{
    if (only_shrank(S, s, was))
        return 0;
    if (S->t->nodes[s->node].kind == BS_NODE_DEVICE)
        return device_delta(S, s->node, was, msg, cap);
    return validate(S, msg, cap);
}

/* Run steps [from, to) of E on S; 0 if every state stays valid. */
static int run(struct mstate *S, const bs_step *s, int from, int to,
               const struct cost *C, char *msg, size_t cap, uint64_t *down,
               int *bad)
{
    for (int i = from; i < to; i++) {
        struct mnode was;
        if (s[i].node > 0 && s[i].node < S->n)
            was = S->nd[s[i].node];
        if (apply(S, &s[i], C, msg, cap, down) ||
            (S->full ? validate(S, msg, cap) : check_step(S, &s[i], &was, msg, cap))) {
            if (bad)
                *bad = i;
            return 1;
        }
    }
    return 0;
}

static struct cost cost_of(const bs_churn_opts *o)
{
    bs_churn_opts d;
    if (!o) {
        bs_churn_opts_init(&d, BS_PLACE_BARSPACE);
        o = &d;
    }
    return (struct cost){o->cfg_write_ns, o->quiesce_ns, o->map_ps_per_byte};
}

/* Emit action a (its first half when `half`) and keep it only if every
 * step leaves S valid: then S moves on and *ok is set; otherwise its steps
 * are taken back and S is untouched. */
static int try_action(const struct emit_ctx *X, struct action *a,
                      struct emitter *E, struct mstate *S,
                      const struct cost *C, bool half, bool *ok)
{
    *ok = false;
    int mark = E->n;
    int rc = action_steps(X, a, E, half);
    if (rc)
        return rc;
    struct mstate T;
    if ((rc = state_copy(&T, S)))
        return rc;
    char msg[256];
    if (!run(&T, E->s, mark, E->n, C, msg, sizeof msg, NULL, NULL)) {
        state_free(S);
        *S = T;
        *ok = true;
    } else {
        state_free(&T);
        E->n = mark;
    }
    return BS_OK;
}

static int steps_impl(const bs_plan *p, const bs_topo *before,
                      const bs_churn_opts *o, bs_step **out, int *count)
{
    *out = NULL;
    *count = 0;
    const bs_topo *t = before;
    struct action *A = calloc((size_t)p->n + 1, sizeof *A);
    if (!A)
        return BS_ENOMEM;
    int na = 0;
    /* Topmost relocated bridges carry their subtree. */
    for (int i = 0; i < p->n; i++) {
        const bs_plan_item *it = &p->it[i];
        int n = it->node, kind;
        bool relocated = bs_slot_is_window(it->slot) &&
                         it->old_size && it->old_addr != it->new_addr;
        bool covered = false;
        for (int j = 0; j < p->n; j++) {
            const bs_plan_item *q = &p->it[j];
            if (bs_slot_is_window(q->slot) && q->old_size &&
                q->old_addr != q->new_addr && q->node != n &&
                bs_topo_is_ancestor(t, q->node, n))
                covered = true;
        }
        if (covered)
            continue;
        if (relocated)
            kind = A_BRIDGE;
        else if (bs_slot_is_window(it->slot))
            kind = A_WIN;
        else if (it->op == BS_PLAN_SHRINK)
            kind = A_SHRINK;
        else if (it->op == BS_PLAN_NEW)
            kind = dev_decoding(t, n) ? A_RESIZE : A_NEW;
        else if (it->op == BS_PLAN_RESIZE)
            kind = dev_decoding(t, n) ? A_RESIZE : A_NEW;
        else
            kind = A_DEV;
        bool dup = false;
        for (int j = 0; j < na; j++)
            if (A[j].node == n) {
                dup = true;
                if (kind == A_BRIDGE)
                    A[j].kind = A_BRIDGE;
            }
        if (!dup)
            A[na++] = (struct action){kind, n, false, false, 0};
    }
    /* Preferred order: shrinks free space, then moves, windows, subject. */
    static const int order[] = {A_SHRINK, A_DEV, A_BRIDGE, A_WIN, A_RESIZE, A_NEW};
    struct action *S2 = malloc(sizeof *S2 * (size_t)(na + 1));
    if (!S2) {
        free(A);
        return BS_ENOMEM;
    }
    int ns = 0;
    for (size_t o2 = 0; o2 < sizeof order / sizeof order[0]; o2++)
        for (int i = 0; i < na; i++)
            if (A[i].kind == order[o2])
                S2[ns++] = A[i];
    free(A);
    A = S2;

    struct cost C = cost_of(o);
    struct mstate S;
    struct emitter E = {0};
    struct emit_ctx X = {p, t};
    int rc = state_init(&S, t);
    int left = ns;
    while (!rc && left) {
        bool progress = false;
        for (int i = 0; i < ns && !rc; i++) {
            if (A[i].done)
                continue;
            int variants = A[i].kind == A_WIN ? 3 : 1;
            for (int v = 0; v < variants && !A[i].done; v++) {
                A[i].variant = v;
                bool ok;
                if ((rc = try_action(&X, &A[i], &E, &S, &C, false, &ok)))
                    break;
                if (ok) {
                    A[i].done = true;
                    left--;
                    progress = true;
                }
            }
            if (progress)
                break;
        }
        if (rc || progress)
            continue;
        /* Stuck: stop the first blocked device early to free its range. */
        bool split = false;
        for (int i = 0; i < ns && !split; i++) {
            if (A[i].done || A[i].off_done ||
                (A[i].kind != A_DEV && A[i].kind != A_RESIZE))
                continue;
            if ((rc = try_action(&X, &A[i], &E, &S, &C, true, &split)))
                break;
            A[i].off_done = split;
        }
        if (rc || split)
            continue;
        /* Nothing safe: emit the rest as is; the checker will say why. */
        for (int i = 0; i < ns && !rc; i++)
            if (!A[i].done) {
                rc = action_steps(&X, &A[i], &E, false);
                A[i].done = true;
            }
        left = 0;
    }
    state_free(&S);
    free(A);
    if (rc) {
        free(E.s);
        return rc;
    }
    *out = E.s;
    *count = E.n;
    return BS_OK;
}

int bs_plan_steps(const bs_plan *p, const bs_topo *before, bs_step **out,
                  int *count)
{
    return steps_impl(p, before, NULL, out, count);
}

static int steps_check(const bs_topo *before, const bs_topo *after,
                       const bs_step *s, int n, const bs_churn_opts *o,
                       bs_step_report *rep, uint64_t *per_node, bool full);

int bs_steps_check(const bs_topo *before, const bs_topo *after,
                   const bs_step *s, int n, const bs_churn_opts *o,
                   bs_step_report *rep, uint64_t *per_node)
{
    return steps_check(before, after, s, n, o, rep, per_node, false);
}

int bs_steps_check_full(const bs_topo *before, const bs_topo *after,
                        const bs_step *s, int n, const bs_churn_opts *o,
                        bs_step_report *rep, uint64_t *per_node)
{
    return steps_check(before, after, s, n, o, rep, per_node, true);
}

static int steps_check(const bs_topo *before, const bs_topo *after,
                       const bs_step *s, int n, const bs_churn_opts *o,
                       bs_step_report *rep, uint64_t *per_node, bool full)
{
    memset(rep, 0, sizeof *rep);
    rep->first_bad = -1;
    rep->worst_node = -1;
    if (before->nnodes > after->nnodes) {
        snprintf(rep->msg, sizeof rep->msg, "after has fewer nodes than before");
        rep->violations = 1;
        return BS_ESTATE;
    }
    struct cost C = cost_of(o);
    struct mstate S;
    uint64_t *down = calloc((size_t)before->nnodes + 1, sizeof *down);
    int rc = down ? state_init(&S, before) : BS_ENOMEM;
    if (rc) {
        free(down);
        return rc;
    }
    int bad = -1;
    S.full = full;
    if (validate(&S, rep->msg, sizeof rep->msg)) {
        rep->violations = 1;
        bad = 0;
    } else if (run(&S, s, 0, n, &C, rep->msg, sizeof rep->msg, down, &bad)) {
        rep->violations = 1;
    }
    if (!rep->violations) {
        /* The end state is the planned one, and everyone is back. */
        for (int i = 1; i < before->nnodes && !rep->violations; i++) {
            if (S.nd[i].quiesced) {
                snprintf(rep->msg, sizeof rep->msg, "%s never resumed",
                         before->nodes[i].name);
                rep->violations = 1;
                break;
            }
            for (int k = 0; k < BS_NSLOTS; k++) {
                const struct bs_res *r = &after->nodes[i].res[k];
                if (!(r->flags & BS_RF_ASSIGNED) || !r->size ||
                    (r->flags & BS_RF_UPPER))
                    continue;
                uint64_t a = S.nd[i].r[k].addr;
                uint64_t sz = bs_slot_is_window(k)
                                  ? S.nd[i].wlimit[k - BS_SLOT_WIN_IO] - a + 1
                                  : S.nd[i].r[k].size;
                if (a != r->addr || sz != r->size || !slot_decodes(&S, i, k)) {
                    snprintf(rep->msg, sizeof rep->msg,
                             "%s %s ends at 0x%llx+0x%llx%s, planned 0x%llx+0x%llx",
                             after->nodes[i].name, bs_slot_name(k),
                             (unsigned long long)a, (unsigned long long)sz,
                             slot_decodes(&S, i, k) ? "" : " (not decoding)",
                             (unsigned long long)r->addr,
                             (unsigned long long)r->size);
                    rep->violations = 1;
                    break;
                }
            }
        }
        bad = rep->violations ? n : -1;
    }
    rep->first_bad = bad;
    rep->elapsed_ns = S.now;
    for (int i = 1; i < before->nnodes; i++) {
        if (!down[i])
            continue;
        rep->devices++;
        rep->total_downtime_ns += down[i];
        if (down[i] > rep->worst_downtime_ns) {
            rep->worst_downtime_ns = down[i];
            rep->worst_node = i;
        }
        if (per_node)
            per_node[i] = down[i];
    }
    state_free(&S);
    free(down);
    return rep->violations ? BS_ESTATE : BS_OK;
}

int bs_plan_cost(const bs_churn *c, const bs_plan *p, const bs_topo *before,
                 bs_step_report *rep)
{
    memset(rep, 0, sizeof *rep);
    bs_topo *after = bs_topo_clone(before);
    if (!after)
        return BS_ENOMEM;
    int rc = bs_plan_apply(p, after);
    bs_step *s = NULL;
    int n = 0;
    if (!rc)
        rc = steps_impl(p, before, &c->o, &s, &n);
    if (!rc)
        rc = bs_steps_check(before, after, s, n, &c->o, rep, NULL);
    free(s);
    bs_topo_free(after);
    return rc;
}
