/*
 * A Linux guest's log from a Hyper-V VM: what pci-hyperv said about each
 * vPCI bus, and by how much the VM's gaps must grow for the buses that got
 * no MMIO.
 *
 * Lines read (dmesg or journalctl -k; timestamps and prefixes skipped):
 *   hv_pci GUID: PCI VMBus probing: Using version 0x10004   a bus, in order
 *   hv_pci GUID: PCI host bridge to bus 7870:00            its domain
 *   hv_pci GUID: PCI dom# 0x7870 has collision, using 0x1  its domain
 *   hv_pci GUID: Need 0x300000 of high MMIO space. ...      a failed range
 *   pci_bus 7870:00: root bus resource [mem A-B window]    a range it got
 *   pci 7870:00:00.0: [15b3:1016] type 00 class ...        a function
 * A bus that failed never prints its domain; hv_pci_probe takes it from
 * bytes 4 and 5 of the instance GUID, which %pUl prints as the second
 * group ("hv_pci 3dd2c4a1-7870-..." asks for domain 0x7870).
 */
#include "hyperv/hyperv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUSES 4096

struct bs_hv_log {
    bs_hv_bus_report *b;
    int n, cap;
};

static const char *find(const char *p, const char *e, const char *needle)
{
    size_t k = strlen(needle);
    for (; p + k <= e; p++)
        if (!memcmp(p, needle, k))
            return p;
    return NULL;
}

static bool hexnum(const char **p, const char *e, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    if (e - s > 2 && s[0] == '0' && s[1] == 'x')
        s += 2;
    const char *d = s;
    for (; s < e; s++) {
        int c = *s, h = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0)
            break;
        if (x >> 60)
            return false;
        x = x << 4 | (uint64_t)h;
    }
    *p = s;
    *v = x;
    return s > d;
}

/* The bus named by "hv_pci GUID:" on this line (added when new). */
static bs_hv_bus_report *bus_of(bs_hv_log *l, const char *p, const char *e,
                                int line, bool create)
{
    const char *g = find(p, e, "hv_pci ");
    if (!g)
        return NULL;
    g += 7;
    const char *c = memchr(g, ':', (size_t)(e - g));
    size_t n = c ? (size_t)(c - g) : 0;
    if (n != 36)
        return NULL;
    for (int i = 0; i < l->n; i++)
        if (!memcmp(l->b[i].instance, g, 36))
            return &l->b[i];
    if (!create || l->n == MAX_BUSES)
        return NULL;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 8;
        bs_hv_bus_report *nb = realloc(l->b, sizeof *nb * (size_t)nc);
        if (!nb)
            return NULL;
        l->b = nb;
        l->cap = nc;
    }
    bs_hv_bus_report *b = &l->b[l->n++];
    memset(b, 0, sizeof *b);
    memcpy(b->instance, g, 36);
    b->line = line;
    /* hv_pci_probe's request: the GUID's second group. */
    const char *q = g + 9;
    uint64_t d;
    b->domain = hexnum(&q, g + 13, &d) && q == g + 13 ? (int)d : -1;
    return b;
}

static bs_hv_bus_report *bus_by_domain(bs_hv_log *l, uint64_t dom)
{
    for (int i = l->n - 1; i >= 0; i--)
        if (l->b[i].domain == (int)dom)
            return &l->b[i];
    return NULL;
}

static void one_line(bs_hv_log *l, const char *p, const char *e, int line)
{
    const char *m;
    bs_hv_bus_report *b;
    uint64_t v, w;
    if (find(p, e, "PCI VMBus probing"))
        bus_of(l, p, e, line, true);
    else if ((m = find(p, e, "PCI host bridge to bus ")) &&
             (b = bus_of(l, p, e, line, true))) {
        m += 23;
        if (hexnum(&m, e, &v) && v <= 0xffff)
            b->domain = (int)v;
    } else if ((m = find(p, e, "has collision, using ")) &&
               (b = bus_of(l, p, e, line, true))) {
        m += 21;
        if (hexnum(&m, e, &v) && v <= 0xffff)
            b->domain = (int)v;
    } else if ((m = find(p, e, ": Need ")) && (b = bus_of(l, p, e, line, true))) {
        m += 7;
        if (hexnum(&m, e, &v)) {
            if (find(m, e, " of low MMIO"))
                b->need[0] = v;
            else if (find(m, e, " of high MMIO"))
                b->need[1] = v;
        }
    } else if ((m = find(p, e, "pci_bus ")) &&
               find(m, e, ": root bus resource [mem ")) {
        m += 8;
        if (!hexnum(&m, e, &v) || !(b = bus_by_domain(l, v)))
            return;
        m = find(m, e, "[mem ") + 5;
        if (!hexnum(&m, e, &v) || m >= e || *m != '-' || (m++, !hexnum(&m, e, &w)) ||
            w < v)
            return;
        int k = v >= BS_4G;
        b->win_base[k] = v;
        b->win_size[k] = w - v + 1;
    } else if ((m = find(p, e, "pci ")) && find(m, e, ": [") &&
               find(m, e, " type 00 ")) {
        m += 4;
        if (hexnum(&m, e, &v) && m < e && *m == ':' && (b = bus_by_domain(l, v)))
            b->devices++;
    }
}

int bs_hv_log_parse(const char *text, size_t len, const char *filename,
                    bs_hv_log **out, bs_error *err)
{
    *out = NULL;
    bs_hv_log *l = calloc(1, sizeof *l);
    if (!l) {
        bs_seterr(err, BS_ENOMEM, filename, 0, 0, "out of memory");
        return BS_ENOMEM;
    }
    int line = 0;
    for (const char *p = text, *e = text + len; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        one_line(l, p, le, ++line);
        p = nl ? nl + 1 : e;
    }
    if (!l->n) {
        bs_hv_log_free(l);
        bs_seterr(err, BS_ENOENT, filename, 0, 0, "no pci-hyperv (hv_pci) "
                  "lines: not a log of a Hyper-V guest with vPCI devices");
        return BS_ENOENT;
    }
    *out = l;
    return BS_OK;
}

void bs_hv_log_free(bs_hv_log *l)
{
    if (l)
        free(l->b);
    free(l);
}

int bs_hv_log_bus_count(const bs_hv_log *l) { return l->n; }

int bs_hv_log_bus(const bs_hv_log *l, int i, bs_hv_bus_report *out)
{
    if (i < 0 || i >= l->n)
        return BS_ENOENT;
    *out = l->b[i];
    return BS_OK;
}

/* ---- growth ---- */

/* Replay VMBus's allocations for the log's buses in t's gaps, the highest
 * low gap grown by g[0] and the highest high gap by g[1]: do all fit? */
static int replay(const bs_hv_log *l, const bs_topo *t, const uint64_t g[2],
                  bool *all)
{
    bs_topo *u = bs_topo_clone(t);
    if (!u)
        return BS_ENOMEM;
    for (int k = 0; k < 2; k++) {
        int hi = -1;
        for (int i = 0; i < u->nwin; i++)
            if (!(u->win[i].flags & BS_RF_IO) && (u->win[i].base >= BS_4G) == k &&
                (hi < 0 || u->win[i].base > u->win[hi].base))
                hi = i;
        if (hi >= 0)
            u->win[hi].size += g[k];
    }
    struct bs_vmbus v;
    int rc = bs_vmbus_init(&v, u);
    *all = true;
    for (int i = 0; !rc && i < l->n && *all; i++) {
        const bs_hv_bus_report *b = &l->b[i];
        uint64_t size[BS_HV_NREQ] = {BS_HV_CFG_SIZE, 0, 0};
        for (int k = 0; k < 2; k++)
            size[1 + k] = b->need[k] ? b->need[k] : b->win_size[k];
        uint64_t a;
        int w;
        for (int q = 0; q < BS_HV_NREQ && *all; q++) {
            uint64_t al = q == BS_HV_CFG ? BS_HV_CFG_ALIGN : bs_hv_align(size[q]);
            if (size[q] && bs_vmbus_alloc(&v, q, size[q], al, &a, &w))
                *all = false;
        }
    }
    bs_vmbus_fini(&v);
    bs_topo_free(u);
    return rc;
}

int bs_hv_log_growth(const bs_hv_log *l, const bs_topo *t, uint64_t grow[2],
                     bs_error *err)
{
    grow[0] = grow[1] = 0;
    uint64_t bound[2] = {0, 0};
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < 2; k++)
            bound[k] += bs_align_up(l->b[i].need[k], 4096);
    if (!t) {
        grow[0] = bound[0];
        grow[1] = bound[1];
        return BS_OK;
    }
    if (t->platform != BS_PLATFORM_HYPERV) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "the VM's topology needs "
                  "'platform hyperv' and its gaps");
        return BS_EINVAL;
    }
    /* Each kind on its own, the other grown generously: the smallest
     * growth in pages that places every bus, by bisection (growing the top
     * of a gap only adds room above every earlier placement). */
    for (int k = 0; k < 2; k++) {
        if (!bound[k])
            continue;
        uint64_t g[2];
        g[1 - k] = 2 * bound[1 - k] + 2 * BS_GIB;
        uint64_t lo = 0, hi = 2 * bound[k] + 2 * BS_GIB;
        bool ok;
        g[k] = hi;
        int rc = replay(l, t, g, &ok);
        if (rc)
            return rc;
        if (!ok) {
            bs_seterr(err, BS_ENOSPC, NULL, 0, 0, "the %s need does not fit "
                      "even in a much bigger gap", k ? "high" : "low");
            return BS_ENOSPC;
        }
        while (hi - lo > 4096) {
            g[k] = bs_align_up(lo + (hi - lo) / 2, 4096);
            if ((rc = replay(l, t, g, &ok)))
                return rc;
            if (ok)
                hi = g[k];
            else
                lo = g[k];
        }
        g[k] = lo;
        if ((rc = replay(l, t, g, &ok)))
            return rc;
        grow[k] = ok ? lo : hi;
    }
    return BS_OK;
}
