/*
 * The seeded churn workload generator (nvme, gpu, sriov, mixed): a starting
 * topology and a reproducible stream of hot-plug events (docs/churn.md).
 * It knows nothing of placement: the same stream drives every policy.
 */
#include "churn/churn_internal.h"
#include "core/lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ============================================================ generator */

struct gdev {
    char name[BS_EV_NAME_MAX];
    int parent;        /* index into gen->parents */
    int present;
    int pinned;
    int fixed;
    int gen;           /* workload-specific: GPU generation, VF count */
};

struct bs_churn_gen {
    int kind;          /* 0 nvme, 1 gpu, 2 sriov, 3 mixed */
    uint64_t rng;
    bs_topo *t;
    struct gdev *d;
    int nd, cap;
    char parents[8][BS_EV_NAME_MAX];
    int nparents;
    uint64_t p[4];     /* parameters */
    int serial;
};

static uint64_t rnd(bs_churn_gen *g)
{
    /* splitmix64: tiny, seedable, good enough for workloads */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rnd_below(bs_churn_gen *g, unsigned n)
{
    return n ? (unsigned)(rnd(g) % n) : 0;
}

static int gdev_add(bs_churn_gen *g, const char *name, int parent)
{
    if (g->nd == g->cap) {
        int nc = g->cap ? g->cap * 2 : 32;
        struct gdev *d = realloc(g->d, sizeof *d * (size_t)nc);
        if (!d)
            return BS_ENOMEM;
        g->d = d;
        g->cap = nc;
    }
    struct gdev *d = &g->d[g->nd++];
    memset(d, 0, sizeof *d);
    bs_churn_copy_name(d->name, sizeof d->name, name);
    d->parent = parent;
    d->present = 1;
    return g->nd - 1;
}

static bool opt_u64(const char *opts, const char *key, uint64_t *v, bool *bad)
{
    size_t kl = strlen(key);
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            if (bs_lex_u64(p + kl + 1, len - kl - 1, BS_LEX_SIZE, v)) {
                *bad = true;
                return false;
            }
            return true;
        }
        p = e ? e + 1 : NULL;
    }
    return false;
}

static bool opts_known(const char *opts, const char *const *keys)
{
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        const char *eq = strchr(p, '=');
        if (!eq || (e && eq > e))
            return false;
        bool ok = false;
        for (int i = 0; keys[i]; i++)
            if ((size_t)(eq - p) == strlen(keys[i]) &&
                !strncmp(p, keys[i], (size_t)(eq - p)))
                ok = true;
        if (!ok)
            return false;
        p = e ? e + 1 : NULL;
    }
    return true;
}

/* nvme: the seed thread.  Controllers on the host bus, one memory window. */
static int gen_nvme(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t count = 25, window = 4 * BS_MIB;
    opt_u64(opts, "count", &count, bad);
    opt_u64(opts, "window", &window, bad);
    if (count < 2 || count > 4096 || window < BS_MIB || window % BS_MIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = count;
    g->t = bs_topo_new("nvme-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, window);
    snprintf(g->parents[0], BS_EV_NAME_MAX, "host");
    g->nparents = 1;
    for (uint64_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "nvme%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, name);
        if (n < 0 || bs_topo_set_bar(g->t, n, 0, BS_RF_MEM64, 64 * 1024, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        if (i == 0) {
            g->t->nodes[n].flags |= BS_NF_PINNED; /* the boot disk */
            g->d[d].pinned = 1;
        }
    }
    g->serial = (int)count;
    return BS_OK;
}

/* hyperv: the seed on Hyper-V (docs/hyperv.md): NVMe functions of 64 KiB,
 * each on a vPCI bus of its own, in a VM whose high MMIO gap is `gap`;
 * replacements have a controller memory buffer (128 KiB) `big` percent of
 * the time.  The event mix is nvme's. */
static int gen_hyperv(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t count = 25, gap = 4 * BS_MIB, big = 50;
    opt_u64(opts, "count", &count, bad);
    opt_u64(opts, "gap", &gap, bad);
    opt_u64(opts, "big", &big, bad);
    if (count < 2 || count > 4096 || gap < 64 * 1024 || gap % 4096 ||
        gap > 64 * BS_GIB || big > 100)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = count;
    g->p[1] = big;
    g->t = bs_topo_new("hyperv-churn");
    if (!g->t)
        return BS_ENOMEM;
    /* A Generation 2 VM's low gap up to the vTPM, its framebuffer at the
     * bottom, and the high gap at 63 GiB. */
    bs_topo_set_platform(g->t, BS_PLATFORM_HYPERV);
    bs_topo_add_window(g->t, 0, 0xf8000000, 0xfed40000 - 0xf8000000);
    bs_topo_add_window(g->t, 0, UINT64_C(0xfc0000000), gap);
    bs_hv_set_framebuffer(g->t, 0xf8000000, 8 * BS_MIB);
    snprintf(g->parents[0], BS_EV_NAME_MAX, "host");
    g->nparents = 1;
    for (uint64_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "bus%llu", (unsigned long long)i);
        int b = bs_hv_add_bus(g->t, name, 0);
        snprintf(name, sizeof name, "nvme%llu", (unsigned long long)i);
        int n = b < 0 ? b : bs_topo_add_node(g->t, b, BS_NODE_DEVICE, name);
        if (n < 0 || bs_topo_set_bar(g->t, n, 0, BS_RF_MEM64, 64 * 1024, 0))
            return BS_ENOMEM;
        if (gdev_add(g, name, 0) < 0)
            return BS_ENOMEM;
    }
    g->serial = (int)count;
    return BS_OK;
}

/* gpu: GPUs behind hot-plug root ports, replaced by generations with
 * bigger Resizable BARs. */
static int gen_gpu(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t gpus = 8, window = 384 * BS_GIB;
    opt_u64(opts, "gpus", &gpus, bad);
    opt_u64(opts, "window", &window, bad);
    if (gpus < 1 || gpus > 8 || window < 64 * BS_GIB || window % BS_GIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = gpus;
    g->t = bs_topo_new("gpu-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, 0x30000000);
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(1) << 40, window);
    g->nparents = (int)gpus;
    for (uint64_t i = 0; i < gpus; i++) {
        char rp[32], name[32];
        snprintf(rp, sizeof rp, "rp%llu", (unsigned long long)i);
        snprintf(name, sizeof name, "gpu%llu", (unsigned long long)i);
        int b = bs_topo_add_node(g->t, 0, BS_NODE_BRIDGE, rp);
        if (b < 0)
            return BS_ENOMEM;
        g->t->nodes[b].flags |= BS_NF_HOTPLUG;
        bs_churn_copy_name(g->parents[i], BS_EV_NAME_MAX, rp);
        int n = bs_topo_add_node(g->t, b, BS_NODE_DEVICE, name);
        if (n < 0 || bs_topo_set_bar(g->t, n, 0, 0, 16 * BS_MIB, 0) ||
            bs_topo_set_bar(g->t, n, 1, BS_RF_MEM64 | BS_RF_PREF, 16 * BS_GIB, 0) ||
            bs_topo_set_bar(g->t, n, 3, BS_RF_MEM64 | BS_RF_PREF, 32 * BS_MIB, 0))
            return BS_ENOMEM;
        g->t->nodes[n].res[1].rebar = UINT64_C(0x1ff00); /* 256M..64G */
        int d = gdev_add(g, name, (int)i);
        if (d < 0)
            return d;
        g->d[d].gen = 0;
    }
    g->serial = (int)gpus;
    return BS_OK;
}

/* sriov: PFs on the host bus whose NumVFs change. */
static int gen_sriov(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t pfs = 8, window = 32 * BS_MIB;
    opt_u64(opts, "pfs", &pfs, bad);
    opt_u64(opts, "window", &window, bad);
    if (pfs < 1 || pfs > 1024 || window < 4 * BS_MIB || window % BS_MIB)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = pfs;
    g->t = bs_topo_new("sriov-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(0x8000000000), window);
    snprintf(g->parents[0], BS_EV_NAME_MAX, "host");
    g->nparents = 1;
    for (uint64_t i = 0; i < pfs; i++) {
        char name[32];
        snprintf(name, sizeof name, "nic%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, name);
        if (n < 0)
            return BS_ENOMEM;
        g->t->nodes[n].num_vfs = 8;
        if (bs_topo_set_bar(g->t, n, 0, BS_RF_MEM64 | BS_RF_PREF, BS_MIB, 0) ||
            bs_topo_set_bar(g->t, n, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF,
                            64 * 1024, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        g->d[d].gen = 8;
    }
    g->serial = (int)pfs;
    return BS_OK;
}

/* mixed: a hot-plug root port with many devices of mixed sizes behind it,
 * pinned p2p targets and one firmware-fixed device on the host bus. */
static int gen_mixed(bs_churn_gen *g, const char *opts, bool *bad)
{
    uint64_t devices = 24;
    opt_u64(opts, "devices", &devices, bad);
    if (devices < 2 || devices > 200)
        *bad = true;
    if (*bad)
        return BS_EINVAL;
    g->p[0] = devices;
    g->t = bs_topo_new("mixed-churn");
    if (!g->t)
        return BS_ENOMEM;
    bs_topo_add_window(g->t, 0, 0xc0000000, 0x10000000);
    bs_topo_add_window(g->t, BS_RF_PREF, UINT64_C(0x1000000000), 4 * BS_GIB);
    int fx = bs_topo_add_node(g->t, 0, BS_NODE_DEVICE, "fw0");
    if (fx < 0 || bs_topo_set_bar(g->t, fx, 0, BS_RF_FIXED, BS_MIB, 0xc8000000))
        return BS_ENOMEM;
    int rp = bs_topo_add_node(g->t, 0, BS_NODE_BRIDGE, "rp0");
    if (rp < 0)
        return BS_ENOMEM;
    g->t->nodes[rp].flags |= BS_NF_HOTPLUG;
    snprintf(g->parents[0], BS_EV_NAME_MAX, "rp0");
    g->nparents = 1;
    for (uint64_t i = 0; i < devices; i++) {
        char name[32];
        snprintf(name, sizeof name, "dev%llu", (unsigned long long)i);
        int n = bs_topo_add_node(g->t, rp, BS_NODE_DEVICE, name);
        if (n < 0)
            return BS_ENOMEM;
        uint64_t sz = UINT64_C(4096) << rnd_below(g, 11); /* 4K..4M */
        bool pref = rnd_below(g, 2);
        if (bs_topo_set_bar(g->t, n, 0,
                            pref ? BS_RF_MEM64 | BS_RF_PREF : 0, sz, 0))
            return BS_ENOMEM;
        int d = gdev_add(g, name, 0);
        if (d < 0)
            return d;
        if (i % 8 == 3) {
            g->t->nodes[n].flags |= BS_NF_PINNED;
            g->d[d].pinned = 1;
        }
    }
    g->serial = (int)devices;
    return BS_OK;
}

int bs_churn_gen_new(const char *spec, uint64_t seed, bs_churn_gen **out,
                     bs_error *err)
{
    *out = NULL;
    bs_churn_gen *g = calloc(1, sizeof *g);
    if (!g)
        return BS_ENOMEM;
    g->rng = seed * 0x2545f4914f6cdd1dull + 1;
    char name[32];
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *opts = colon ? colon + 1 : "";
    bool bad = nl >= sizeof name;
    if (!bad) {
        memcpy(name, spec, nl);
        name[nl] = 0;
    }
    static const char *const k_nvme[] = {"count", "window", NULL};
    static const char *const k_gpu[] = {"gpus", "window", NULL};
    static const char *const k_sriov[] = {"pfs", "window", NULL};
    static const char *const k_mixed[] = {"devices", NULL};
    static const char *const k_hyperv[] = {"count", "gap", "big", NULL};
    int rc = BS_EINVAL;
    if (bad) {
    } else if (!strcmp(name, "nvme")) {
        g->kind = 0;
        bad = !opts_known(opts, k_nvme);
        rc = bad ? BS_EINVAL : gen_nvme(g, opts, &bad);
    } else if (!strcmp(name, "gpu")) {
        g->kind = 1;
        bad = !opts_known(opts, k_gpu);
        rc = bad ? BS_EINVAL : gen_gpu(g, opts, &bad);
    } else if (!strcmp(name, "sriov")) {
        g->kind = 2;
        bad = !opts_known(opts, k_sriov);
        rc = bad ? BS_EINVAL : gen_sriov(g, opts, &bad);
    } else if (!strcmp(name, "hyperv")) {
        g->kind = 4;
        bad = !opts_known(opts, k_hyperv);
        rc = bad ? BS_EINVAL : gen_hyperv(g, opts, &bad);
    } else if (!strcmp(name, "mixed")) {
        g->kind = 3;
        bad = !opts_known(opts, k_mixed);
        rc = bad ? BS_EINVAL : gen_mixed(g, opts, &bad);
    } else {
        bad = true;
    }
    if (rc) {
        if (bad || rc == BS_EINVAL)
            bs_seterr(err, BS_EINVAL, NULL, 0, 0,
                      "bad workload '%s': expected nvme[:count=2..4096,"
                      "window=SIZE (1M steps)], gpu[:gpus=1..8,window=SIZE "
                      "(64G or more, 1G steps)], sriov[:pfs=1..1024,"
                      "window=SIZE (4M or more, 1M steps)], "
                      "mixed[:devices=2..200] or hyperv[:count=2..4096,"
                      "gap=SIZE (64K..64G, 4K steps),big=0..100]", spec);
        else
            bs_seterr(err, rc, NULL, 0, 0, "out of memory");
        bs_churn_gen_free(g);
        return bad ? BS_EINVAL : rc;
    }
    *out = g;
    return BS_OK;
}

void bs_churn_gen_free(bs_churn_gen *g)
{
    if (!g)
        return;
    bs_topo_free(g->t);
    free(g->d);
    free(g);
}

const bs_topo *bs_churn_gen_topo(const bs_churn_gen *g) { return g->t; }

static int pick(bs_churn_gen *g, int want_present, bool allow_pinned)
{
    int cnt = 0;
    for (int i = 0; i < g->nd; i++)
        if (g->d[i].present == want_present && !g->d[i].fixed &&
            (allow_pinned || !g->d[i].pinned))
            cnt++;
    if (!cnt)
        return -1;
    int k = (int)rnd_below(g, (unsigned)cnt);
    for (int i = 0; i < g->nd; i++)
        if (g->d[i].present == want_present && !g->d[i].fixed &&
            (allow_pinned || !g->d[i].pinned) && k-- == 0)
            return i;
    return -1;
}

static int present_count(const bs_churn_gen *g)
{
    int n = 0;
    for (int i = 0; i < g->nd; i++)
        n += g->d[i].present;
    return n;
}

static void ev_bar(bs_event *ev, int slot, unsigned flags, uint64_t size,
                   uint64_t rebar)
{
    bs_bar_spec *b = &ev->bar[ev->nbars++];
    b->slot = slot;
    b->flags = flags;
    b->size = size;
    b->rebar = rebar;
}

/* BARs of a new device of the workload. */
static void new_bars(bs_churn_gen *g, bs_event *ev, struct gdev *d)
{
    switch (g->kind) {
    case 0: {
        /* Replacement controllers: the same model, one with a controller
         * memory buffer, or a bigger one. */
        unsigned r = rnd_below(g, 100);
        uint64_t sz = r < 35 ? 64 * 1024 : r < 80 ? 128 * 1024 : 256 * 1024;
        ev_bar(ev, 0, BS_RF_MEM64, sz, 0);
        break;
    }
    case 1: {
        unsigned r = rnd_below(g, 100);
        if (r < 20)
            d->gen = 0;
        else if (r < 70 && d->gen < 2)
            d->gen++;
        ev_bar(ev, 0, 0, 16 * BS_MIB, 0);
        ev_bar(ev, 1, BS_RF_MEM64 | BS_RF_PREF, (16 * BS_GIB) << d->gen,
               UINT64_C(0x1ff00));
        ev_bar(ev, 3, BS_RF_MEM64 | BS_RF_PREF, 32 * BS_MIB, 0);
        break;
    }
    case 4: /* hyperv: the same controller, or one with a CMB */
        ev_bar(ev, 0, BS_RF_MEM64,
               rnd_below(g, 100) < g->p[1] ? 128 * 1024 : 64 * 1024, 0);
        break;
    case 2:
        d->gen = 1 + (int)rnd_below(g, 32);
        ev->num_vfs = (unsigned)d->gen;
        ev_bar(ev, 0, BS_RF_MEM64 | BS_RF_PREF, BS_MIB, 0);
        ev_bar(ev, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF, 64 * 1024, 0);
        break;
    default: {
        uint64_t sz = UINT64_C(4096) << rnd_below(g, 11);
        bool pref = rnd_below(g, 2);
        ev_bar(ev, 0, pref ? BS_RF_MEM64 | BS_RF_PREF : 0, sz,
               sz >= BS_MIB ? (UINT64_C(1) << (63 - __builtin_clzll(sz >> 20) + 1)) - 1
                            : 0);
        if (rnd_below(g, 4) == 0)
            ev_bar(ev, 2, 0, UINT64_C(4096) << rnd_below(g, 4), 0);
        break;
    }
    }
}

int bs_churn_gen_next(bs_churn_gen *g, bs_event *ev)
{
    memset(ev, 0, sizeof *ev);
    int np = present_count(g);
    unsigned r = rnd_below(g, 100);
    int lo = (int)(g->p[0] * 4 / 5);
    if (lo < 1)
        lo = 1;
    /* Workload-specific event mixes. */
    if (g->kind == 2 && r < 70) {
        int i = pick(g, 1, true);
        if (i >= 0) {
            ev->kind = BS_EV_VFS;
            bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            g->d[i].gen = 1 + (int)rnd_below(g, 63);
            ev->num_vfs = (unsigned)g->d[i].gen;
            return BS_OK;
        }
    }
    if (g->kind == 1 && r < 20) {
        int i = pick(g, 1, true);
        if (i >= 0) {
            ev->kind = BS_EV_RESIZE;
            bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            ev->slot = 1;
            ev->size = (4 * BS_GIB) << rnd_below(g, 5); /* 4G..64G */
            return BS_OK;
        }
    }
    if (r >= 90) {
        /* pin / unpin: p2p DMA sessions come and go. */
        int pinned = 0;
        for (int i = 0; i < g->nd; i++)
            pinned += g->d[i].present && g->d[i].pinned;
        int i = pick(g, 1, true);
        if (i >= 0 && i != 0) {
            if (g->d[i].pinned) {
                ev->kind = BS_EV_UNPIN;
                g->d[i].pinned = 0;
            } else if (pinned < 4) {
                ev->kind = BS_EV_PIN;
                g->d[i].pinned = 1;
            }
            if (ev->kind) {
                bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
                return BS_OK;
            }
        }
    }
    if (r < 15 && np > lo) {
        int i = pick(g, 1, false);
        if (i > 0 || (i == 0 && g->kind != 0)) {
            ev->kind = BS_EV_REMOVE;
            bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
            g->d[i].present = 0;
            return BS_OK;
        }
    }
    if (r < 35 && np < (int)g->p[0]) {
        /* Hot-add into a free slot: a new device with a new name. */
        int i = pick(g, 0, true);
        if (i >= 0) {
            int par = g->d[i].parent;
            char name[BS_EV_NAME_MAX];
            snprintf(name, sizeof name, "%.20s-%d",
                     g->kind == 0 || g->kind == 4 ? "nvme"
                     : g->kind == 1 ? "gpu"
                     : g->kind == 2 ? "nic" : "dev", g->serial++);
            bs_churn_copy_name(g->d[i].name, sizeof g->d[i].name, name);
            g->d[i].present = 1;
            g->d[i].pinned = 0;
            ev->kind = BS_EV_ADD;
            bs_churn_copy_name(ev->dev, sizeof ev->dev, name);
            bs_churn_copy_name(ev->at, sizeof ev->at, g->parents[par]);
            new_bars(g, ev, &g->d[i]);
            return BS_OK;
        }
    }
    /* Default: a device fails and is replaced in its slot. */
    int i = pick(g, 1, true);
    if (i == 0 && g->kind == 0)
        i = pick(g, 1, false);
    if (i < 0 || (i == 0 && g->kind == 0)) {
        ev->kind = BS_EV_PIN;
        bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[0].name);
        return BS_OK;
    }
    ev->kind = BS_EV_REPLACE;
    bs_churn_copy_name(ev->dev, sizeof ev->dev, g->d[i].name);
    g->d[i].pinned = 0;
    new_bars(g, ev, &g->d[i]);
    return BS_OK;
}
