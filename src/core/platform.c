/*
 * What the core needs to know about the Hyper-V platform to check a
 * topology: VMBus's view of the gaps and the framebuffer claim that holds
 * (vmbus_walk_resources, vmbus_reserve_fb in Linux's drivers/hv/vmbus_drv.c).
 * The allocator that serves vPCI buses from them is src/hyperv/vmbus.c.
 * Also the rest of the platform in the topology: the platform flag, the
 * framebuffer VMBus keeps, vPCI buses, what each bus asks VMBus for, and
 * the rules a Hyper-V topology follows (docs/hyperv.md).
 */
#include "core/internal.h"

#include <stdio.h>

/* vmbus_walk_resources keeps a range that runs over the vTPM's registers
 * up to and including this byte. */
#define VTPM_BASE UINT64_C(0xfed40000)

int bs_hv_gaps(const bs_topo *t, uint64_t *base, uint64_t *last, int *win)
{
    int n = 0;
    for (int i = 0; i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        uint64_t b = w->base, l = bs_last(w->base, w->size);
        if ((w->flags & BS_RF_IO) || l < BS_MIB) /* below 1 MiB: ignored */
            continue;
        if (b < VTPM_BASE && l > VTPM_BASE)
            l = VTPM_BASE;
        int j = n++; /* insertion by base: at most 32 windows */
        while (j > 0 && base[j - 1] > b) {
            base[j] = base[j - 1];
            last[j] = last[j - 1];
            win[j] = win[j - 1];
            j--;
        }
        base[j] = b;
        last[j] = l;
        win[j] = i;
    }
    return n;
}

bool bs_hv_fb_claim(const bs_topo *t, uint64_t *base, uint64_t *size)
{
    uint64_t b[BS_MAX_ROOT_WINDOWS], l[BS_MAX_ROOT_WINDOWS];
    int w[BS_MAX_ROOT_WINDOWS];
    if (!t->fb_size || bs_hv_gaps(t, b, l, w) == 0)
        return false;
    /* The claim is made in the first range, halving from the declared
     * size while it does not fit, down to 1 MiB. */
    for (uint64_t s = t->fb_size; s >= BS_MIB; s >>= 1) {
        uint64_t e = bs_last(t->fb_base, s);
        if (t->fb_base >= b[0] && e >= t->fb_base && e <= l[0]) {
            *base = t->fb_base;
            *size = s;
            return true;
        }
    }
    return false;
}

const int bs_hv_req_slot[BS_HV_NREQ] = {BS_SLOT_BAR0, BS_SLOT_WIN_MEM,
                                        BS_SLOT_WIN_PREF};

int bs_topo_platform(const bs_topo *t) { return t->platform; }

int bs_topo_set_platform(bs_topo *t, int platform)
{
    if (platform != BS_PLATFORM_PC && platform != BS_PLATFORM_HYPERV)
        return BS_EINVAL;
    t->platform = platform;
    return BS_OK;
}

int bs_hv_framebuffer(const bs_topo *t, uint64_t *base, uint64_t *size)
{
    if (!t->fb_size)
        return BS_ENOENT;
    *base = t->fb_base;
    *size = t->fb_size;
    return BS_OK;
}

int bs_hv_set_framebuffer(bs_topo *t, uint64_t base, uint64_t size)
{
    /* vmbus_reserve_fb halves its claim down to 1 MiB, not below. */
    if (size < BS_MIB || bs_last(base, size) < base)
        return BS_EINVAL;
    t->fb_base = base;
    t->fb_size = size;
    return BS_OK;
}

uint64_t bs_hv_align(uint64_t need)
{
    if (!need)
        return 0;
    uint64_t a = 1;
    while (a <= need / 2)
        a <<= 1;
    return a;
}

/* hv_get_dom_num's fallback: the lowest number not in use (0 is invalid). */
static int free_domain(const bs_topo *t)
{
    for (int d = 1; d <= 0xffff; d++) {
        bool used = false;
        for (int i = 1; i < t->nnodes && !used; i++)
            used = (t->nodes[i].flags & BS_NF_VPCI) && t->nodes[i].domain == d;
        if (!used)
            return d;
    }
    return BS_ELIMIT;
}

int bs_hv_add_bus(bs_topo *t, const char *name, int domain)
{
    if (domain < 0 || domain > 0xffff)
        return BS_EINVAL;
    int id = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, name);
    if (id < 0)
        return id;
    struct bs_node *n = &t->nodes[id];
    n->flags |= BS_NF_VPCI;
    n->domain = domain ? domain : free_domain(t);
    if (n->domain < 0)
        return n->domain;
    /* The config window: pci-hyperv's hv_allocate_config_window asks for
     * two pages, page aligned, anywhere (min 0, max -1). */
    struct bs_res *c = &n->res[BS_SLOT_BAR0];
    c->size = c->want = BS_HV_CFG_SIZE;
    c->align = BS_HV_CFG_ALIGN;
    c->flags = BS_RF_MEM64; /* anywhere: below or above 4 GiB */
    n->res[BS_SLOT_BAR0 + 1].flags = BS_RF_UPPER; /* as any 64-bit BAR */
    return id;
}

/* get_bar_size: a BAR's size rounded up to a page, because the hypervisor
 * maps whole pages. */
static uint64_t page_round(uint64_t size) { return bs_align_up(size, 4096); }

int bs_hv_bus_need(const bs_topo *t, int bus, uint64_t *low, uint64_t *high)
{
    if (bus <= 0 || bus >= t->nnodes || !(t->nodes[bus].flags & BS_NF_VPCI))
        return BS_EINVAL;
    *low = *high = 0;
    BS_FOR_CHILDREN(t, bus, d)
        for (int k = BS_SLOT_BAR0; k < BS_SLOT_ROM; k++) {
            const struct bs_res *r = &t->nodes[d].res[k];
            if (!r->size || (r->flags & BS_RF_UPPER))
                continue;
            uint64_t want = r->want ? r->want : r->size;
            *((r->flags & BS_RF_MEM64) ? high : low) += page_round(want);
        }
    return BS_OK;
}

void bs_hv_requests(const bs_topo *t, int bus, uint64_t size[BS_HV_NREQ],
                    uint64_t align[BS_HV_NREQ])
{
    size[BS_HV_CFG] = BS_HV_CFG_SIZE;
    align[BS_HV_CFG] = BS_HV_CFG_ALIGN;
    bs_hv_bus_need(t, bus, &size[BS_HV_LOW], &size[BS_HV_HIGH]);
    align[BS_HV_LOW] = bs_hv_align(size[BS_HV_LOW]);
    align[BS_HV_HIGH] = bs_hv_align(size[BS_HV_HIGH]);
}

/* ---- validation of a parsed topology ---- */

static int bad(bs_error *err, const char *file, int line, const char *fmt,
               const char *a, const char *b)
{
    char msg[200];
    snprintf(msg, sizeof msg, fmt, a, b);
    bs_seterr(err, BS_EPARSE, file, line, 0, "%s", msg);
    return BS_EPARSE;
}

static int check_device(const bs_topo *t, int d, const char *file,
                        bs_error *err)
{
    const struct bs_node *n = &t->nodes[d];
    const char *bus = t->nodes[n->parent].name;
    if (n->kind != BS_NODE_DEVICE)
        return bad(err, file, n->line, "'%s' in vpci bus '%s': pci-hyperv "
                   "exposes functions only, no bridges", n->name, bus);
    for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
        const struct bs_res *r = &n->res[k];
        if (!r->size)
            continue;
        int line = r->line ? r->line : n->line;
        if (k == BS_SLOT_ROM || k >= BS_SLOT_VF0)
            return bad(err, file, line, "device '%s' on vpci bus '%s': only "
                       "BARs are modelled there (no ROM, no VF BARs)",
                       n->name, bus);
        if (r->flags & BS_RF_IO)
            return bad(err, file, line, "device '%s' on vpci bus '%s': "
                       "Hyper-V passes no I/O BARs through", n->name, bus);
        if (r->flags & BS_RF_FIXED)
            return bad(err, file, line, "device '%s' on vpci bus '%s': "
                       "pci-hyperv programs every BAR itself (no fixed=)",
                       n->name, bus);
    }
    return BS_OK;
}

int bs_hv_validate(const bs_topo *t, const char *file, bs_error *err)
{
    bool hv = t->platform == BS_PLATFORM_HYPERV;
    if (!hv && t->fb_size)
        return bad(err, file, t->fb_line, "'framebuffer' needs 'platform "
                   "hyperv'%s%s", "", "");
    for (int i = 0; hv && i < t->nwin; i++) {
        const struct bs_rootwin *w = &t->win[i];
        if (w->flags & (BS_RF_IO | BS_RF_PREF))
            return bad(err, file, w->line, "on Hyper-V the windows are "
                       "VMBus's MMIO gaps: memory, not %s%s",
                       (w->flags & BS_RF_IO) ? "I/O" : "prefetchable", "");
        for (int j = 0; j < t->nwin; j++)
            if (j != i && bs_last(t->win[j].base, t->win[j].size) + 1 ==
                              w->base)
                return bad(err, file, w->line, "gap touches the one on an "
                           "earlier line: VMBus merges adjacent gaps, write "
                           "them as one window%s%s", "", "");
    }
    for (int i = 1; i < t->nnodes; i++) {
        const struct bs_node *n = &t->nodes[i];
        bool vpci = n->flags & BS_NF_VPCI;
        if (vpci && !hv)
            return bad(err, file, n->line, "vpci bus '%s' needs 'platform "
                       "hyperv'%s", n->name, "");
        if (n->parent == 0 && hv && !vpci)
            return bad(err, file, n->line, "'%s' on the root bus: on Hyper-V "
                       "every function sits on a vpci bus%s", n->name, "");
        if (vpci && n->parent != 0)
            return bad(err, file, n->line, "vpci bus '%s' inside '%s': a "
                       "vPCI bus is a root bus of its own", n->name,
                       t->nodes[n->parent].name);
        if (vpci)
            for (int j = 1; j < i; j++)
                if ((t->nodes[j].flags & BS_NF_VPCI) &&
                    t->nodes[j].domain == n->domain) {
                    char d[16];
                    snprintf(d, sizeof d, "%04x", n->domain);
                    return bad(err, file, n->line, "domain %s is already "
                               "used by vpci bus '%s'", d, t->nodes[j].name);
                }
        if (n->parent > 0 && (t->nodes[n->parent].flags & BS_NF_VPCI)) {
            int rc = check_device(t, i, file, err);
            if (rc)
                return rc;
        }
    }
    return BS_OK;
}
