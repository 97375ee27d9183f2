/*
 * Diagnosis: explain each failed resource from the machine's final state,
 * then ask "what if" questions by running the assignment on copies.  Every
 * remedy offered has been tried that way: bs_diag_apply() replays the exact
 * change, so a test (or a sceptical user) can check it.
 *
 * What-if runs start from the topology with every firmware address
 * forgotten: a remedy (a bigger window, pci=realloc, other hot-plug sizes)
 * means firmware or Linux lays the bus out again.
 */
#include "core/internal.h"
#include "barspace/churn.h"
#include "barspace/diagnose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REMEDIES 16
#define IO_TOP UINT64_C(0x10000)
/* Top of a synthetic 32-bit window: below the x86 I/O APIC, where real
 * 32-bit MMIO holes end. */
#define MEM32_TOP UINT64_C(0xfec00000)
#define MEM32_FLOOR (256 * BS_MIB)
#define MEM64_MAX_ORDER 46

struct bs_diag {
    bs_diag_summary sum;
    bs_diag_failure *f;
    int nf;
    bs_remedy rem[MAX_REMEDIES];
    int nrem;
    const bs_topo *t; /* only during bs_diagnose */
};

const char *bs_diag_reason_name(int r)
{
    switch (r) {
    case BS_DR_NO_WINDOW: return "no-window";
    case BS_DR_PARENT_FAILED: return "parent-window-failed";
    case BS_DR_TOO_SMALL: return "window-too-small";
    case BS_DR_FRAGMENTED: return "fragmented";
    case BS_DR_ROOM_NOW: return "room-now";
    }
    return "?";
}

const char *bs_remedy_kind_name(int k)
{
    switch (k) {
    case BS_REMEDY_REALLOC: return "realloc";
    case BS_REMEDY_WIN64: return "window64";
    case BS_REMEDY_WIN32: return "window32";
    case BS_REMEDY_WINIO: return "window-io";
    case BS_REMEDY_HP_MMIO_PREF: return "hpmmioprefsize";
    case BS_REMEDY_HP_MMIO: return "hpmmiosize";
    case BS_REMEDY_HP_IO: return "hpiosize";
    case BS_REMEDY_REBAR: return "resize-bar";
    }
    return "?";
}

static const char *sz(uint64_t v, char *b) { return bs_fmt_size(v, b, 24); }

/* ------------------------------------------------ failure analysis */

static uint32_t res_flags(const bs_topo *t, int n, int k)
{
    return bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                : t->nodes[n].res[k].flags;
}

/* Free-space picture of [base, base+size) with the assigned resources of
 * `parent`'s children that lie in it. */
static int window_space(const bs_topo *t, int parent, uint64_t base,
                        uint64_t size, bool io, bs_space **out)
{
    bs_space *s = bs_space_new();
    if (!s || bs_space_add_window(s, base, size)) {
        bs_space_free(s);
        return BS_ENOMEM;
    }
    BS_FOR_CHILDREN(t, parent, c) {
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[c].res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size ||
                !!(res_flags(t, c, k) & BS_RF_IO) != io)
                continue;
            uint64_t a = r->addr, l = bs_last(r->addr, r->size);
            if (l < base || a > bs_last(base, size))
                continue;
            if (a < base)
                a = base;
            if (l > bs_last(base, size))
                l = bs_last(base, size);
            bs_space_reserve(s, a, l - a + 1);
        }
    }
    *out = s;
    return BS_OK;
}

static void judge(bs_diag_failure *f, bs_space *s, uint64_t lo, uint64_t hi)
{
    bs_space_stats st;
    bs_space_get_stats(s, &st);
    f->win_free = st.free_bytes;
    f->win_largest = bs_space_largest_block(s, lo, hi);
    f->win_extents = st.free_extents;
    uint64_t a;
    if (bs_space_alloc(s, f->size, f->align ? f->align : 1, lo, hi, &a) ==
        BS_OK)
        f->reason = BS_DR_ROOM_NOW;
    else if (f->win_free >= f->size)
        f->reason = BS_DR_FRAGMENTED;
    else
        f->reason = BS_DR_TOO_SMALL;
}

static int analyse(const bs_topo *t, int n, int k, bs_diag_failure *f)
{
    const struct bs_res *r = &t->nodes[n].res[k];
    memset(f, 0, sizeof *f);
    f->node = n;
    f->slot = k;
    f->flags = res_flags(t, n, k);
    f->size = r->size;
    f->align = bs_slot_is_window(k) ? (k == BS_SLOT_WIN_IO ? 4096 : BS_MIB)
                                    : r->align;
    f->win = -1;
    int p = t->nodes[n].parent;
    f->win_node = p;
    bool io = f->flags & BS_RF_IO;
    bool m64 = (f->flags & BS_RF_MEM64) != 0;
    uint64_t hi = io || m64 ? UINT64_MAX : BS_4G - 1;
    if (p > 0) {
        const struct bs_node *b = &t->nodes[p];
        int cand[2] = {bs_bridge_slot_for(b, f->flags), BS_SLOT_WIN_MEM};
        int nc = cand[0] == BS_SLOT_WIN_PREF ? 2 : 1;
        /* The window it belongs in failed itself: that is the story, even
         * if Linux could have fallen back to another window. */
        if (b->res[cand[0]].flags & BS_RF_FAILED) {
            f->win = cand[0];
            f->reason = BS_DR_PARENT_FAILED;
            return BS_OK;
        }
        for (int i = 0; i < nc && f->win < 0; i++) {
            const struct bs_res *w = &b->res[cand[i]];
            if ((w->flags & BS_RF_ASSIGNED) && w->size)
                f->win = cand[i];
        }
        if (f->win < 0) {
            f->win = cand[0];
            f->reason = (b->res[cand[0]].flags & BS_RF_FAILED)
                            ? BS_DR_PARENT_FAILED : BS_DR_NO_WINDOW;
            return BS_OK;
        }
        const struct bs_res *w = &b->res[f->win];
        f->win_base = w->addr;
        f->win_size = w->size;
        bs_space *s;
        if (window_space(t, p, w->addr, w->size, io, &s))
            return BS_ENOMEM;
        judge(f, s, w->addr, hi);
        bs_space_free(s);
        return BS_OK;
    }
    /* Root: the compatible window with the largest hole is where it had
     * its best chance. */
    uint64_t best = 0;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        if (!!(w->flags & BS_RF_IO) != io)
            continue;
        if ((w->flags & BS_RF_PREF) && !(f->flags & BS_RF_PREF))
            continue;
        if (w->base > hi)
            continue;
        uint64_t wsize = w->size;
        if (bs_last(w->base, w->size) > hi)
            wsize = hi - w->base + 1;
        bs_space *s;
        if (window_space(t, 0, w->base, wsize, io, &s))
            return BS_ENOMEM;
        uint64_t lb = bs_space_largest_block(s, w->base, hi);
        if (f->win < 0 || lb > best) {
            bs_diag_failure g = *f;
            g.win = i;
            g.win_base = w->base;
            g.win_size = wsize;
            judge(&g, s, w->base, hi);
            *f = g;
            best = lb;
        }
        bs_space_free(s);
    }
    if (f->win < 0)
        f->reason = BS_DR_NO_WINDOW;
    return BS_OK;
}

static void describe_more(const bs_topo *t, bs_diag_failure *f)
{
    const struct bs_node *n = &t->nodes[f->node];
    size_t l = strlen(f->text);
    if (bs_slot_is_window(f->slot) && (n->flags & BS_NF_HOTPLUG) &&
        n->first_child < 0)
        snprintf(f->text + l, sizeof f->text - l,
                 " (a hot-plug reserve: nothing is below this bridge now)");
}

static void describe(const bs_topo *t, bs_diag_failure *f)
{
    char a[24], b[24], c[24], d[24], e[24];
    const char *kind = (f->flags & BS_RF_IO) ? "I/O"
                       : (f->flags & BS_RF_MEM64) ? "64-bit memory"
                                                  : "32-bit memory";
    if (f->flags & BS_RF_PREF && !(f->flags & BS_RF_IO))
        kind = (f->flags & BS_RF_MEM64) ? "64-bit prefetchable"
                                        : "32-bit prefetchable";
    const char *where = f->win_node > 0 ? t->nodes[f->win_node].name : "host";
    const char *wname = f->win_node > 0 ? bs_slot_name(f->win) : "root window";
    switch (f->reason) {
    case BS_DR_NO_WINDOW:
        snprintf(f->text, sizeof f->text, "needs %s of %s space; %s has no %s "
                 "for it", sz(f->size, a), kind, where,
                 f->win_node > 0 ? wname : "root window of that kind");
        break;
    case BS_DR_PARENT_FAILED:
        snprintf(f->text, sizeof f->text, "needs %s of %s space; %s's %s was "
                 "itself not assigned", sz(f->size, a), kind, where, wname);
        break;
    default:
        snprintf(f->text, sizeof f->text,
                 "needs %s (aligned %s) of %s space in %s %s [0x%llx+%s]: "
                 "%s free in %llu run(s), largest aligned hole %s -> %s",
                 sz(f->size, a), sz(f->align, b), kind, where,
                 f->win_node > 0 ? wname : "root window",
                 (unsigned long long)f->win_base, sz(f->win_size, c),
                 sz(f->win_free, d), (unsigned long long)f->win_extents,
                 sz(f->win_largest, e),
                 f->reason == BS_DR_TOO_SMALL ? "window too small"
                 : f->reason == BS_DR_FRAGMENTED ? "enough bytes, but fragmented"
                 : "it would fit there now (order of assignment)");
    }
}

/* ------------------------------------------------------ what-ifs */

/* Forget every address and every firmware pin. */
static void scratch(bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_NSLOTS; k++)
            if (!(t->nodes[n].res[k].flags & BS_RF_UPPER))
                t->nodes[n].res[k].flags &= ~(uint32_t)BS_RF_FIXED;
    bs_topo_unassign(t);
}

static int apply_one(const bs_remedy *r, bs_topo *t, bs_assign_opts *o)
{
    switch (r->kind) {
    case BS_REMEDY_REALLOC:
        o->realloc = 1;
        return BS_OK;
    case BS_REMEDY_HP_MMIO_PREF:
        o->hp_mmio_pref = r->value;
        return BS_OK;
    case BS_REMEDY_HP_MMIO:
        o->hp_mmio = r->value;
        return BS_OK;
    case BS_REMEDY_HP_IO:
        o->hp_io = r->value;
        return BS_OK;
    case BS_REMEDY_WIN64:
    case BS_REMEDY_WIN32:
    case BS_REMEDY_WINIO:
        if (r->win >= 0) {
            if (r->win >= t->nwin)
                return BS_EINVAL;
            for (int i = 0; i < t->nwin; i++) {
                const struct bs_rootwin *w = &t->win[i];
                if (i != r->win &&
                    !((w->flags ^ t->win[r->win].flags) & BS_RF_IO) &&
                    r->base <= bs_last(w->base, w->size) &&
                    w->base <= bs_last(r->base, r->value))
                    return BS_EINVAL;
            }
            t->win[r->win].base = r->base;
            t->win[r->win].size = r->value;
            return BS_OK;
        } else {
            int rc = bs_topo_add_window(
                t, r->kind == BS_REMEDY_WINIO ? BS_RF_IO : 0, r->base,
                r->value);
            return rc < 0 ? rc : BS_OK;
        }
    case BS_REMEDY_REBAR: {
        if (r->node <= 0 || r->node >= t->nnodes || r->slot < 0 ||
            r->slot > 5)
            return BS_EINVAL;
        struct bs_res *x = &t->nodes[r->node].res[r->slot];
        uint64_t rebar = x->rebar;
        int rc = bs_topo_set_bar(t, r->node, r->slot,
                                 x->flags & (BS_RF_IO | BS_RF_MEM64 |
                                             BS_RF_PREF), r->value, 0);
        t->nodes[r->node].res[r->slot].rebar = rebar;
        return rc;
    }
    }
    return BS_EINVAL;
}

static int apply_chain(const bs_remedy *rem, int n, int i, bs_topo *t,
                       bs_assign_opts *o, int depth)
{
    if (i < 0 || i >= n || depth > n)
        return BS_EINVAL;
    if (rem[i].after >= 0) {
        int rc = apply_chain(rem, n, rem[i].after, t, o, depth + 1);
        if (rc)
            return rc;
    }
    return apply_one(&rem[i], t, o);
}

int bs_diag_apply(const bs_diag *d, int i, bs_topo *t, bs_assign_opts *o)
{
    bs_assign_opts_init(o, BS_POLICY_LINUX);
    scratch(t);
    return apply_chain(d->rem, d->nrem, i, t, o, 0);
}

/* Would the assignment succeed with remedies `chain` (indexes into d->rem,
 * applied in order) plus `extra`? */
static int try_fix(const bs_diag *d, const bs_remedy *extra, int policy,
                   int *nfail)
{
    bs_topo *c = bs_topo_clone(d->t);
    if (!c)
        return BS_ENOMEM;
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    scratch(c);
    int rc = BS_OK;
    if (extra) {
        bs_remedy tmp[MAX_REMEDIES + 1];
        memcpy(tmp, d->rem, sizeof d->rem[0] * (size_t)d->nrem);
        tmp[d->nrem] = *extra;
        rc = apply_chain(tmp, d->nrem + 1, d->nrem, c, &o, 0);
    }
    o.policy = policy;
    if (rc == BS_OK)
        rc = bs_assign(c, &o, NULL);
    if (nfail)
        *nfail = bs_topo_failure_count(c);
    bs_topo_free(c);
    return rc;
}

/* A remedy must place everything, hot-plug reserves included: the kernel
 * reported those failures too. */
static bool works(const bs_diag *d, const bs_remedy *r)
{
    int nf = 0;
    return try_fix(d, r, BS_POLICY_LINUX, &nf) == BS_OK && nf == 0;
}

static int add_remedy(bs_diag *d, const bs_remedy *r)
{
    if (d->nrem >= MAX_REMEDIES)
        return BS_ELIMIT;
    d->rem[d->nrem++] = *r;
    return BS_OK;
}

/* ------------------------------------------------ window remedies */

struct wkind {
    int kind;       /* BS_REMEDY_WIN* */
    int win;        /* existing root window, -1 none */
    uint64_t cur;   /* its size */
    int level;      /* chosen level, 0 = unchanged */
    int maxlevel;
};

/* Window of `kind` at `level` (1..): the remedy that makes it. */
static bool window_at(const bs_diag *d, const struct wkind *w, int level,
                      bs_remedy *r)
{
    const bs_topo *t = d->t;
    memset(r, 0, sizeof *r);
    r->kind = w->kind;
    r->win = w->win;
    r->after = -1;
    if (level <= 0)
        return false;
    if (w->kind == BS_REMEDY_WINIO) {
        uint64_t n = UINT64_C(2048) << level; /* 4K .. 64K */
        if (n > IO_TOP || n <= w->cur)
            return false;
        r->value = n;
        r->base = IO_TOP - n;
        if (w->win >= 0 && t->win[w->win].base < r->base)
            r->base = t->win[w->win].base, r->value = IO_TOP - r->base;
        return true;
    }
    if (w->kind == BS_REMEDY_WIN32) {
        uint64_t n = BS_MIB << (level - 1);
        if (n <= w->cur)
            return false;
        uint64_t end = w->win >= 0 ? t->win[w->win].base + t->win[w->win].size
                                   : MEM32_TOP;
        if (end < n || end - n < MEM32_FLOOR)
            return false;
        r->value = n;
        r->base = end - n;
        return true;
    }
    int order = 20 + level - 1; /* 64-bit: 1 MiB .. 64 TiB */
    if (order > MEM64_MAX_ORDER)
        return false;
    uint64_t n = UINT64_C(1) << order;
    if (n <= w->cur)
        return false;
    r->value = n;
    if (w->win >= 0) {
        r->base = t->win[w->win].base;
        if (bs_last(r->base, n) < r->base)
            return false;
    } else {
        uint64_t top = BS_4G;
        for (int i = 0; i < t->nwin; i++)
            if (!(t->win[i].flags & BS_RF_IO) &&
                bs_last(t->win[i].base, t->win[i].size) + 1 > top)
                top = bs_last(t->win[i].base, t->win[i].size) + 1;
        r->base = bs_align_up(top, n < BS_GIB ? BS_GIB : n);
        if (!r->base || bs_last(r->base, n) < r->base)
            return false;
    }
    return true;
}

static int largest_window(const bs_topo *t, int kind)
{
    int best = -1;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        bool io = w->flags & BS_RF_IO;
        if ((kind == BS_REMEDY_WINIO) != io)
            continue;
        if (kind == BS_REMEDY_WIN32 && bs_last(w->base, w->size) >= BS_4G)
            continue;
        if (kind == BS_REMEDY_WIN64 && w->base < BS_4G)
            continue;
        if (kind != BS_REMEDY_WINIO && (w->flags & BS_RF_PREF))
            continue;
        if (best < 0 || w->size > t->win[best].size)
            best = i;
    }
    return best;
}

/* Append the chain of window changes at their current levels; false if a
 * level cannot be built. */
static bool chain_push(bs_diag *d, const struct wkind *w, int nw)
{
    int base = d->nrem;
    for (int j = 0; j < nw; j++) {
        bs_remedy r;
        if (!w[j].level)
            continue;
        if (!window_at(d, &w[j], w[j].level, &r))
            return false;
        r.after = d->nrem > base ? d->nrem - 1 : -1;
        if (add_remedy(d, &r))
            return false;
    }
    return true;
}

static bool chain_works(bs_diag *d, const struct wkind *w, int nw)
{
    int base = d->nrem;
    bool ok = false;
    if (chain_push(d, w, nw)) {
        if (d->nrem == base) {
            ok = works(d, NULL);
        } else {
            bs_remedy last = d->rem[d->nrem - 1];
            d->nrem--;
            ok = works(d, &last);
        }
    }
    d->nrem = base;
    return ok;
}

/* The windows that need changing, as one chain of remedies: first check
 * that the largest sensible windows work at all, then shrink each kind to
 * the smallest size that still works with the others as they are. */
static int window_remedies(bs_diag *d, const bool need[3])
{
    struct wkind w[3];
    int nw = 0;
    static const int kinds[3] = {BS_REMEDY_WIN32, BS_REMEDY_WIN64,
                                 BS_REMEDY_WINIO};
    for (int i = 0; i < 3; i++) {
        if (!need[i])
            continue;
        struct wkind *k = &w[nw++];
        k->kind = kinds[i];
        k->win = largest_window(d->t, kinds[i]);
        k->cur = k->win >= 0 ? d->t->win[k->win].size : 0;
        k->maxlevel = 0;
        bs_remedy r;
        for (int l = 1; l < 64; l++)
            if (window_at(d, k, l, &r))
                k->maxlevel = l;
        k->level = k->maxlevel;
    }
    if (!nw || !chain_works(d, w, nw))
        return 0;
    for (int i = 0; i < nw; i++) {
        int best = w[i].level;
        for (int l = 0; l < best; l++) {
            bs_remedy r;
            if (l && !window_at(d, &w[i], l, &r))
                continue;
            w[i].level = l;
            if (chain_works(d, w, nw)) {
                best = l;
                break;
            }
        }
        w[i].level = best;
    }
    int made = 0;
    if (chain_push(d, w, nw))
        for (int i = 0; i < nw; i++)
            made += w[i].level > 0;
    return made;
}

static void word_window(const bs_diag *d, bs_remedy *r)
{
    char a[24], b[24];
    bool vm = d->sum.vm;
    uint64_t cur = r->win >= 0 ? d->t->win[r->win].size : 0;
    char now[64] = "none now";
    if (r->win >= 0)
        snprintf(now, sizeof now, "now %s", sz(cur, b));
    switch (r->kind) {
    case BS_REMEDY_WIN64:
        if (vm)
            snprintf(r->text, sizeof r->text,
                     "enlarge the 64-bit PCI window to at least %s (%s) at "
                     "0x%llx: QEMU -global q35-pcihost.pci-hole64-size=%s "
                     "(i440fx: -global i440FX-pcihost.pci-hole64-size=%s); "
                     "with OVMF -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=%llu",
                     sz(r->value, a), now, (unsigned long long)r->base,
                     sz(r->value, a), sz(r->value, a),
                     (unsigned long long)(r->value >> 20));
        else
            snprintf(r->text, sizeof r->text,
                     "a 64-bit MMIO window of at least %s is needed (%s): "
                     "enable \"Above 4G Decoding\" (64-bit MMIO) in the "
                     "firmware setup%s", sz(r->value, a), now,
                     r->win >= 0 ? " and raise its MMIO-high size" : "");
        break;
    case BS_REMEDY_WIN32:
        if (vm)
            snprintf(r->text, sizeof r->text,
                     "the 32-bit PCI window must be at least %s (%s), i.e. "
                     "start at 0x%llx: give the guest less RAM below 4 GiB, "
                     "e.g. QEMU -machine max-ram-below-4g=%s",
                     sz(r->value, a), now, (unsigned long long)r->base,
                     sz(r->base & ~(BS_MIB - 1), b));
        else
            snprintf(r->text, sizeof r->text,
                     "the 32-bit MMIO window must be at least %s (%s), i.e. "
                     "start at 0x%llx: lower the firmware's MMIO base below "
                     "4 GiB (\"MMIO low base\" / \"PCI MMIO size\"), or make "
                     "the BARs 64-bit", sz(r->value, a), now,
                     (unsigned long long)r->base);
        break;
    case BS_REMEDY_WINIO:
        snprintf(r->text, sizeof r->text,
                 "the I/O port window must be at least %s (%s) at 0x%llx; "
                 "I/O space is 64K at most, so drop unneeded I/O windows "
                 "(pci=hpiosize=0 for hot-plug ports)", sz(r->value, a), now,
                 (unsigned long long)r->base);
        break;
    }
}

/* ------------------------------------------------ move plan */

/* Would the relocation planner (churn.h) place every failed device by
 * moving working ones, inside the same windows?  The machine as it runs
 * (kernel addresses, nothing pinned) loses each failed device's BARs; each
 * is then re-added in place (a "replace" event) with the barspace policy,
 * moves allowed, no reduced BARs.  Sets move_plan 1/0 and the devices that
 * move; leaves -1 when the question does not apply (no root windows, only
 * bridge windows or bridge BARs failed) or the planner refuses. */
static int move_plan(bs_diag *d, const bs_topo *t)
{
    if (!t->nwin)
        return BS_OK;
    bs_topo *c = bs_topo_clone(t);
    bs_event *ev = calloc((size_t)t->nnodes, sizeof *ev);
    int nev = 0, rc = BS_OK;
    if (!c || !ev) {
        rc = BS_ENOMEM;
        goto out;
    }
    for (int n = 1; n < c->nnodes; n++) {
        struct bs_node *nd = &c->nodes[n];
        bool failed = false;
        for (int k = 0; k < BS_NSLOTS; k++) {
            nd->res[k].flags &= ~(uint32_t)BS_RF_FIXED;
            failed |= k < BS_SLOT_WIN_IO && (nd->res[k].flags & BS_RF_FAILED) &&
                      nd->res[k].size;
        }
        if (failed && nd->kind != BS_NODE_DEVICE)
            goto out; /* a bridge's own BAR: not a hot-add */
        bs_event *e = &ev[nev];
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            struct bs_res *r = &nd->res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            if (failed && e->nbars < BS_EV_MAX_BARS) {
                bs_bar_spec *b = &e->bar[e->nbars++];
                b->slot = k;
                b->flags = r->flags & (BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF);
                b->size = k >= BS_SLOT_VF0 ? r->align : r->size;
                b->rebar = r->rebar;
            }
            /* Unassigned resources would make the planner lay everything
             * out afresh: the running machine simply does not have them. */
            if (failed || !(r->flags & BS_RF_ASSIGNED)) {
                r->size = 0;
                r->flags = 0;
                if (k + 1 < BS_NSLOTS && (nd->res[k + 1].flags & BS_RF_UPPER))
                    nd->res[k + 1].flags = 0;
            }
        }
        if (failed) {
            e->kind = BS_EV_REPLACE;
            snprintf(e->dev, sizeof e->dev, "%s", nd->name);
            e->num_vfs = nd->num_vfs;
            nev++;
        }
    }
    if (!nev)
        goto out;
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    o.moves = 1;
    o.reduce = 0;
    bs_churn *ch = NULL;
    if (bs_churn_new(c, &o, &ch, NULL) != BS_OK)
        goto out;
    int ok = 1, moved = 0;
    for (int i = 0; i < nev; i++) {
        bs_event_result res;
        memset(&res, 0, sizeof res);
        if (bs_churn_apply(ch, &ev[i], &res, NULL) != BS_OK) {
            ok = -1;
            break;
        }
        if (res.outcome == BS_OUT_FAILED)
            ok = 0;
        moved += res.moves;
    }
    bs_churn_free(ch);
    d->sum.move_plan = ok;
    d->sum.move_devices = ok == 1 ? moved : 0;
out:
    free(ev);
    bs_topo_free(c);
    return rc;
}

/* ------------------------------------------------------ diagnose */

/* The PCI address in an imported node name ("pci-0000:03:00.0"). */
static const char *sysfs_name(const bs_topo *t, int n)
{
    const char *nm = t->nodes[n].name;
    return strncmp(nm, "pci-", 4) ? nm : nm + 4;
}

static bool is_vm(const bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++)
        if (!strncmp(t->nodes[n].model, "1b36:", 5) ||
            !strncmp(t->nodes[n].model, "1af4:", 5))
            return true;
    return false;
}

static bool any_hotplug(const bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++)
        if (t->nodes[n].flags & BS_NF_HOTPLUG)
            return true;
    return false;
}

int bs_diagnose(const bs_topo *t, int machine, bs_diag **out, bs_error *err)
{
    *out = NULL;
    bs_diag *d = calloc(1, sizeof *d);
    if (!d)
        goto nomem;
    d->t = t;
    d->sum.root_windows = t->nwin;
    d->sum.vm = machine == BS_DIAG_VM ? 1 : machine == BS_DIAG_METAL ? 0
                                                                     : is_vm(t);
    d->sum.move_plan = -1;
    d->sum.linux_ok = d->sum.pack_ok = -1;
    int cnt = 0;
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_NSLOTS; k++)
            cnt += (t->nodes[n].res[k].flags & BS_RF_FAILED) &&
                   t->nodes[n].res[k].size;
    d->f = calloc((size_t)(cnt ? cnt : 1), sizeof *d->f);
    if (!d->f)
        goto nomem;
    bool need[3] = {false, false, false}; /* mem32, mem64, io */
    for (int n = 1; n < t->nnodes; n++)
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct bs_res *r = &t->nodes[n].res[k];
            if (!(r->flags & BS_RF_FAILED) || !r->size)
                continue;
            bs_diag_failure *f = &d->f[d->nf];
            if (analyse(t, n, k, f))
                goto nomem;
            describe(t, f);
            describe_more(t, f);
            d->nf++;
            if (f->flags & BS_RF_IO)
                need[2] = true;
            else if ((f->flags & BS_RF_MEM64) ||
                     ((f->flags & BS_RF_PREF) && bs_slot_is_window(k) &&
                      !(t->nodes[n].flags & BS_NF_PREF32)))
                need[1] = true;
            else
                need[0] = true;
        }
    /* A kind of window the machine has none of, but something wants
     * (failed or not: a remedy must place everything), is needed too. */
    for (int n = 1; n < t->nnodes; n++) {
        const struct bs_node *nd = &t->nodes[n];
        bool hp = nd->flags & BS_NF_HOTPLUG;
        for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
            const struct bs_res *r = &nd->res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            int kind = (r->flags & BS_RF_IO) ? 2 : (r->flags & BS_RF_MEM64) ? 1 : 0;
            if (largest_window(t, kind == 2 ? BS_REMEDY_WINIO
                                  : kind == 1 ? BS_REMEDY_WIN64
                                              : BS_REMEDY_WIN32) < 0 &&
                (kind != 1 || largest_window(t, BS_REMEDY_WIN32) < 0))
                need[kind] = true;
        }
        if (hp && d->nf) {
            need[0] |= largest_window(t, BS_REMEDY_WIN32) < 0;
            need[1] |= largest_window(t, BS_REMEDY_WIN64) < 0 &&
                       largest_window(t, BS_REMEDY_WIN32) < 0;
            need[2] |= largest_window(t, BS_REMEDY_WINIO) < 0;
        }
    }
    d->sum.failures = d->nf;
    bs_violation viol;
    d->sum.violations = bs_check(t, NULL, &viol, 1);
    if (t->nwin) {
        int nf = 0;
        int rc = try_fix(d, NULL, BS_POLICY_LINUX, &nf);
        if (rc == BS_ENOMEM)
            goto nomem;
        d->sum.linux_ok = rc == BS_OK;
        d->sum.linux_failures = nf;
        rc = try_fix(d, NULL, BS_POLICY_PACK, NULL);
        if (rc == BS_ENOMEM)
            goto nomem;
        d->sum.pack_ok = rc == BS_OK;
    }
    if (d->nf && move_plan(d, t) == BS_ENOMEM)
        goto nomem;
    if (d->nf) {
        bs_remedy r;
        char a[24], a2[24];
        if (t->nwin) {
            /* pci=realloc: Linux lays the bus out again itself. */
            memset(&r, 0, sizeof r);
            r.kind = BS_REMEDY_REALLOC;
            r.after = -1;
            if (works(d, &r)) {
                snprintf(r.text, sizeof r.text,
                         "boot Linux with pci=realloc: it releases the bridge "
                         "windows the firmware sized and sizes them again "
                         "for what is below them");
                add_remedy(d, &r);
            }
            /* Hot-plug reserves that crowd out present devices. */
            if (any_hotplug(t)) {
                static const int kinds[3] = {BS_REMEDY_HP_MMIO_PREF,
                                             BS_REMEDY_HP_MMIO,
                                             BS_REMEDY_HP_IO};
                static const char *const names[3] = {"hpmmioprefsize",
                                                     "hpmmiosize", "hpiosize"};
                for (int i = 0; i < 3; i++) {
                    uint64_t v = i == 2 ? 256 : 2 * BS_MIB;
                    for (;;) {
                        /* Halve down to 64K (I/O: straight to 0), then 0. */
                        v = i == 2 || v <= 64 * 1024 ? 0 : v / 2;
                        memset(&r, 0, sizeof r);
                        r.kind = kinds[i];
                        r.after = -1;
                        r.value = v;
                        if (works(d, &r)) {
                            snprintf(r.text, sizeof r.text,
                                     "boot Linux with pci=%s=%s: smaller "
                                     "hot-plug reserves leave room for the "
                                     "devices present", names[i], sz(v, a));
                            add_remedy(d, &r);
                            break;
                        }
                        if (!v)
                            break;
                    }
                }
            }
            /* Resizable BARs: the largest supported size that fits. */
            for (int i = 0; i < d->nf; i++) {
                const bs_diag_failure *f = &d->f[i];
                if (f->slot > 5)
                    continue;
                uint64_t mask = t->nodes[f->node].res[f->slot].rebar;
                for (int b = 63; b >= 0; b--) {
                    if (!(mask & (UINT64_C(1) << b)) || b + 20 >= 64)
                        continue;
                    uint64_t s = UINT64_C(1) << (b + 20);
                    if (s >= f->size)
                        continue;
                    memset(&r, 0, sizeof r);
                    r.kind = BS_REMEDY_REBAR;
                    r.node = f->node;
                    r.slot = f->slot;
                    r.value = s;
                    r.after = -1;
                    if (works(d, &r)) {
                        snprintf(r.text, sizeof r.text,
                                 "reduce %s %s (Resizable BAR) from %s to %s: "
                                 "echo %d > /sys/bus/pci/devices/%s/"
                                 "resource%d_resize before a driver binds, "
                                 "or the device's firmware option",
                                 t->nodes[f->node].name,
                                 bs_slot_name(f->slot), sz(f->size, a),
                                 sz(s, a2), b, sysfs_name(t, f->node),
                                 f->slot);
                        add_remedy(d, &r);
                        break;
                    }
                }
            }
        }
        int first = d->nrem;
        window_remedies(d, need);
        for (int i = first; i < d->nrem; i++)
            word_window(d, &d->rem[i]);
    }
    d->t = NULL;
    *out = d;
    return BS_OK;
nomem:
    bs_diag_free(d);
    bs_seterr(err, BS_ENOMEM, "", 0, 0, "out of memory");
    return BS_ENOMEM;
}

void bs_diag_free(bs_diag *d)
{
    if (!d)
        return;
    free(d->f);
    free(d);
}

void bs_diag_get_summary(const bs_diag *d, bs_diag_summary *out)
{
    *out = d->sum;
}

int bs_diag_failure_count(const bs_diag *d) { return d->nf; }

int bs_diag_failure_get(const bs_diag *d, int i, bs_diag_failure *out)
{
    if (i < 0 || i >= d->nf)
        return BS_ENOENT;
    *out = d->f[i];
    return BS_OK;
}

int bs_diag_remedy_count(const bs_diag *d) { return d->nrem; }

int bs_diag_remedy_get(const bs_diag *d, int i, bs_remedy *out)
{
    if (i < 0 || i >= d->nrem)
        return BS_ENOENT;
    *out = d->rem[i];
    return BS_OK;
}

int bs_diagnose_assign_bare(bs_topo *t, bs_error *err)
{
    int total;
    if (bs_topo_assigned_count(t, &total) || !total || bs_topo_failure_count(t))
        return 0;
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    int rc = bs_assign(t, &o, err);
    return rc == BS_OK || rc == BS_ENOSPC ? 1 : rc;
}
