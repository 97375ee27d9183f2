/*
 * Readers for what the real peer produces: QEMU's config-access trace and
 * the guest's own report (kernel log lines, /proc/iomem, sysfs resources).
 * Both are line formats written by programs we do not control, so every
 * line of a kind we recognise must parse completely or it is an error with
 * its line number; lines of other kinds are counted, never guessed at.
 */
#include "core/internal.h"
#include "core/lex.h"
#include "barspace/qemu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static int read_whole(const char *path, char **text, size_t *len,
                      bs_error *err)
{
    /* Traces of a long boot run to tens of MiB; a gigabyte is not one. */
    return bs_read_file(path, (size_t)1 << 30, text, len, err);
}

/* Next line of [p, end): sets l and ll (without '\n'), returns the rest. */
static const char *next_line(const char *p, const char *end, const char **l,
                             size_t *ll)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *l = p;
    *ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (*ll && p[*ll - 1] == '\r')
        (*ll)--;
    return nl ? nl + 1 : end;
}


/* Copy a line into a NUL-terminated buffer (truncating very long lines is
 * safe: nothing we parse is longer than a few hundred bytes). */
static void line_copy(char *dst, size_t cap, const char *l, size_t ll)
{
    if (ll >= cap)
        ll = cap - 1;
    memcpy(dst, l, ll);
    dst[ll] = 0;
}

static bool parse_hex(const char **s, uint64_t *v)
{
    const char *p = *s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    uint64_t x = 0;
    int nd = 0;
    for (;; p++, nd++) {
        int d = bs_hexval((unsigned char)*p);
        if (d < 0)
            break;
        if (nd >= 16)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    if (!nd)
        return false;
    *v = x;
    *s = p;
    return true;
}

static bool lit(const char **s, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(*s, w, n))
        return false;
    *s += n;
    return true;
}

/* "BB:SS.F" (hex, as QEMU prints it: no fixed widths) */
static bool parse_bdf(const char **s, unsigned *bus, unsigned *slot,
                      unsigned *fn)
{
    unsigned dom = 0;
    *bus = *slot = *fn = 0;
    size_t k = bs_lex_bdf(*s, strnlen(*s, 16), 0, &dom, bus, slot, fn);
    if (!k || dom)
        return false;
    *s += k;
    return true;
}

/* --------------------------------------------------- register knowledge */

struct reg {
    unsigned off, width, cls;
    const char *name;
};

static const struct reg regs_common[] = {
    {0x00, 2, BS_REG_ID, "vendor ID"},
    {0x02, 2, BS_REG_ID, "device ID"},
    {0x04, 2, BS_REG_COMMAND, "command"},
    {0x06, 2, BS_REG_OTHER, "status"},
    {0x08, 1, BS_REG_ID, "revision"},
    {0x09, 1, BS_REG_ID, "programming interface"},
    {0x0a, 2, BS_REG_ID, "class code"},
    {0x0c, 1, BS_REG_OTHER, "cache line size"},
    {0x0d, 1, BS_REG_OTHER, "latency timer"},
    {0x0e, 1, BS_REG_ID, "header type"},
    {0x0f, 1, BS_REG_OTHER, "BIST"},
    {0x34, 1, BS_REG_OTHER, "capabilities pointer"},
    {0x3c, 1, BS_REG_OTHER, "interrupt line"},
    {0x3d, 1, BS_REG_OTHER, "interrupt pin"},
};

static const struct reg regs_type0[] = {
    {0x10, 4, BS_REG_BAR, "BAR0"}, {0x14, 4, BS_REG_BAR, "BAR1"},
    {0x18, 4, BS_REG_BAR, "BAR2"}, {0x1c, 4, BS_REG_BAR, "BAR3"},
    {0x20, 4, BS_REG_BAR, "BAR4"}, {0x24, 4, BS_REG_BAR, "BAR5"},
    {0x28, 4, BS_REG_OTHER, "CardBus CIS pointer"},
    {0x2c, 2, BS_REG_OTHER, "subsystem vendor ID"},
    {0x2e, 2, BS_REG_OTHER, "subsystem ID"},
    {0x30, 4, BS_REG_ROM, "expansion ROM BAR"},
    {0x3e, 1, BS_REG_OTHER, "min grant"},
    {0x3f, 1, BS_REG_OTHER, "max latency"},
};

static const struct reg regs_type1[] = {
    {0x10, 4, BS_REG_BAR, "BAR0"}, {0x14, 4, BS_REG_BAR, "BAR1"},
    {0x18, 1, BS_REG_OTHER, "primary bus"},
    {0x19, 1, BS_REG_OTHER, "secondary bus"},
    {0x1a, 1, BS_REG_OTHER, "subordinate bus"},
    {0x1b, 1, BS_REG_OTHER, "secondary latency timer"},
    {0x1c, 1, BS_REG_WINDOW, "I/O base"},
    {0x1d, 1, BS_REG_WINDOW, "I/O limit"},
    {0x1e, 2, BS_REG_OTHER, "secondary status"},
    {0x20, 2, BS_REG_WINDOW, "memory base"},
    {0x22, 2, BS_REG_WINDOW, "memory limit"},
    {0x24, 2, BS_REG_WINDOW, "prefetchable base"},
    {0x26, 2, BS_REG_WINDOW, "prefetchable limit"},
    {0x28, 4, BS_REG_WINDOW, "prefetchable base upper 32 bits"},
    {0x2c, 4, BS_REG_WINDOW, "prefetchable limit upper 32 bits"},
    {0x30, 2, BS_REG_WINDOW, "I/O base upper 16 bits"},
    {0x32, 2, BS_REG_WINDOW, "I/O limit upper 16 bits"},
    {0x38, 4, BS_REG_ROM, "expansion ROM BAR"},
    {0x3e, 2, BS_REG_OTHER, "bridge control"},
};

static const struct reg *find_reg(unsigned off, int bridge)
{
    for (size_t i = 0; i < sizeof regs_common / sizeof regs_common[0]; i++)
        if (off >= regs_common[i].off &&
            off < regs_common[i].off + regs_common[i].width)
            return &regs_common[i];
    const struct reg *t = bridge ? regs_type1 : regs_type0;
    size_t n = bridge ? sizeof regs_type1 / sizeof regs_type1[0]
                      : sizeof regs_type0 / sizeof regs_type0[0];
    for (size_t i = 0; i < n; i++)
        if (off >= t[i].off && off < t[i].off + t[i].width)
            return &t[i];
    return NULL;
}

static unsigned value_bytes(uint32_t v)
{
    return v > 0xffffu ? 4 : v > 0xffu ? 2 : 1;
}

unsigned bs_cfg_access_width(unsigned off, uint32_t val, int bridge)
{
    const struct reg *r = find_reg(off, bridge);
    unsigned w;
    if (r && r->off == off)
        w = r->width;
    else if (off >= 0x100)
        w = 4; /* extended capabilities are read as dwords */
    else
        w = 1;
    unsigned need = value_bytes(val);
    if (need > w)
        w = need;
    /* Config accesses are naturally aligned; a width that would straddle
     * its alignment cannot have been what the guest used. */
    if (w > 2 && (off & 3))
        w = 2;
    if (w > 1 && (off & 1))
        w = 1;
    return w;
}

int bs_cfg_reg_class(unsigned off, int bridge)
{
    const struct reg *r = find_reg(off, bridge);
    return r ? (int)r->cls : BS_REG_OTHER;
}

int bs_reg_class_modelled(int cls)
{
    return cls == BS_REG_COMMAND || cls == BS_REG_BAR || cls == BS_REG_ROM ||
           cls == BS_REG_WINDOW;
}

const char *bs_reg_class_name(int cls)
{
    static const char *const n[BS_REG_NCLASSES] = {
        "other", "command", "BAR", "ROM", "bridge window", "identity"};
    return cls >= 0 && cls < BS_REG_NCLASSES ? n[cls] : "?";
}

const char *bs_cfg_reg_describe(unsigned off, unsigned width, int bridge,
                                char *buf, size_t cap)
{
    const struct reg *r = find_reg(off, bridge);
    if (r && r->off == off)
        snprintf(buf, cap, "%s (0x%02x, %u byte%s)", r->name, off, width,
                 width > 1 ? "s" : "");
    else if (r)
        snprintf(buf, cap, "%s byte %u (0x%02x, %u byte%s)", r->name,
                 off - r->off, off, width, width > 1 ? "s" : "");
    else if (off >= 0x100)
        snprintf(buf, cap, "extended capability space (0x%03x, %u bytes)",
                 off, width);
    else
        snprintf(buf, cap, "capability space (0x%02x, %u byte%s)", off, width,
                 width > 1 ? "s" : "");
    return buf;
}

/* -------------------------------------------------------------- trace */

struct bs_qtrace {
    bs_qev *ev;
    int n, cap;
    int other;
};

/* Per-function header type learnt from the trace itself (the guest and
 * the firmware always read it before touching a bridge's windows). */
struct hdr_seen {
    unsigned key;
    int bridge;
};

static int hdr_lookup(struct hdr_seen *h, int nh, unsigned key)
{
    for (int i = 0; i < nh; i++)
        if (h[i].key == key)
            return h[i].bridge;
    return -1;
}

static int trace_push(bs_qtrace *q, const bs_qev *e)
{
    if (!bs_grow((void **)&q->ev, &q->cap, q->n, sizeof *q->ev, 1024))
        return BS_ENOMEM;
    q->ev[q->n++] = *e;
    return BS_OK;
}

/* Lines from the "log" trace backend may carry a "PID@SEC.USEC:" prefix
 * (when QEMU is asked for timestamps); skip it. */
static const char *skip_trace_prefix(const char *s)
{
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p != s && *p == '@') {
        const char *c = strchr(p, ':');
        if (c && c - p < 40)
            return c[1] == ' ' ? c + 2 : c + 1;
    }
    return s;
}

int bs_qtrace_parse(const char *text, size_t len, const char *filename,
                    bs_qtrace **out, bs_error *err)
{
    *out = NULL;
    bs_qtrace *q = calloc(1, sizeof *q);
    if (!q)
        return BS_ENOMEM;
    struct hdr_seen *hs = NULL;
    int nh = 0, hcap = 0;
    const char *p = text, *end = text + len;
    int lineno = 0, rc = BS_OK;
    char buf[512];
    while (p < end) {
        const char *l;
        size_t ll;
        p = next_line(p, end, &l, &ll);
        lineno++;
        line_copy(buf, sizeof buf, l, ll);
        const char *s = skip_trace_prefix(buf);
        bs_qev e;
        memset(&e, 0, sizeof e);
        e.line = lineno;
        if (!strncmp(s, "pci_cfg_read ", 13)) {
            e.kind = BS_QEV_READ;
            s += 13;
        } else if (!strncmp(s, "pci_cfg_write ", 14)) {
            e.kind = BS_QEV_WRITE;
            s += 14;
        } else if (!strncmp(s, "pci_update_mappings_add ", 24)) {
            e.kind = BS_QEV_MAP_ADD;
            s += 24;
        } else if (!strncmp(s, "pci_update_mappings_del ", 24)) {
            e.kind = BS_QEV_MAP_DEL;
            s += 24;
        } else {
            q->other++;
            continue;
        }
        /* The device name is QEMU's model name: no spaces in practice, but
         * take everything up to the last space before the address. */
        const char *sp = strchr(s, ' ');
        bool ok = sp && (size_t)(sp - s) < sizeof e.dev;
        if (ok) {
            memcpy(e.dev, s, (size_t)(sp - s));
            e.dev[sp - s] = 0;
            s = sp + 1;
            ok = parse_bdf(&s, &e.bus, &e.slot, &e.fn) && lit(&s, " ");
        }
        uint64_t a = 0, b = 0, c = 0;
        if (ok && (e.kind == BS_QEV_READ || e.kind == BS_QEV_WRITE)) {
            ok = lit(&s, "@") && parse_hex(&s, &a) && a < 4096 &&
                 lit(&s, e.kind == BS_QEV_READ ? " -> " : " <- ") &&
                 parse_hex(&s, &b) && b <= 0xffffffffu && *s == 0;
            e.off = (unsigned)a;
            e.val = (uint32_t)b;
        } else if (ok) {
            char *ep;
            long bar = strtol(s, &ep, 10);
            s = ep;
            ok = bar >= 0 && bar <= 6 && lit(&s, ",") && parse_hex(&s, &a) &&
                 lit(&s, "+") && parse_hex(&s, &c) && *s == 0;
            e.bar = (int)bar;
            e.addr = a;
            e.size = c;
        }
        if (!ok) {
            bs_seterr(err, BS_EPARSE, filename, lineno, 0,
                      "malformed QEMU trace line (expected e.g. "
                      "'pci_cfg_read DEV BB:SS.F @0xOFF -> 0xVAL' or "
                      "'pci_update_mappings_add DEV BB:SS.F BAR,0xADDR+0xSIZE')");
            rc = BS_EPARSE;
            break;
        }
        unsigned key = e.bus << 8 | e.slot << 3 | e.fn;
        if (e.kind == BS_QEV_READ && (e.off == 0x0e || e.off == 0x0c)) {
            unsigned ht = e.off == 0x0e ? e.val & 0x7f : (e.val >> 16) & 0x7f;
            if (e.off == 0x0e || e.val > 0xffff) {
                int known = hdr_lookup(hs, nh, key);
                if (known < 0) {
                    if (nh == hcap) {
                        int nc = hcap ? hcap * 2 : 32;
                        struct hdr_seen *n2 = realloc(hs, sizeof *n2 * (size_t)nc);
                        if (!n2) {
                            rc = BS_ENOMEM;
                            break;
                        }
                        hs = n2;
                        hcap = nc;
                    }
                    hs[nh].key = key;
                    hs[nh].bridge = ht == 1;
                    nh++;
                }
            }
        }
        int br = hdr_lookup(hs, nh, key);
        e.bridge = br > 0;
        if (e.kind == BS_QEV_READ || e.kind == BS_QEV_WRITE)
            e.width = bs_cfg_access_width(e.off, e.val, e.bridge);
        if ((rc = trace_push(q, &e)) != BS_OK)
            break;
    }
    free(hs);
    if (rc != BS_OK) {
        bs_qtrace_free(q);
        return rc;
    }
    /* Some readers (OVMF's config dumps) walk config space a byte or a word
     * at a time; the next read of the same function 1 or 2 bytes further
     * on says how wide this one was, and the end of a byte walk is a byte. */
    for (int i = 0; i < q->n; i++) {
        bs_qev *e = &q->ev[i];
        if (e->kind != BS_QEV_READ)
            continue;
        unsigned step = 0;
        for (int j = i + 1; j < q->n; j++) {
            const bs_qev *f = &q->ev[j];
            if (f->kind > BS_QEV_WRITE || f->bus != e->bus ||
                f->slot != e->slot || f->fn != e->fn)
                continue;
            if (f->kind == BS_QEV_READ && f->off > e->off &&
                f->off - e->off <= 2)
                step = f->off - e->off;
            break;
        }
        if (!step)
            for (int j = i - 1; j >= 0; j--) {
                const bs_qev *f = &q->ev[j];
                if (f->kind > BS_QEV_WRITE || f->bus != e->bus ||
                    f->slot != e->slot || f->fn != e->fn)
                    continue;
                if (f->kind == BS_QEV_READ && f->off + 1 == e->off &&
                    f->width == 1)
                    step = 1;
                break;
            }
        if (step && value_bytes(e->val) <= step && !(e->off & (step - 1)))
            e->width = step;
    }
    /* Firmware probes a bridge window by writing a byte and reading it
     * back (SeaBIOS: 0xff to the prefetchable base, expecting 0xf1 for a
     * 64-bit window).  When a window-register write is followed at once by
     * a read of the same offset and both values fit in fewer bytes than
     * the register, both were accesses of that narrower width. */
    for (int i = 0; i + 1 < q->n; i++) {
        bs_qev *w = &q->ev[i];
        if (w->kind != BS_QEV_WRITE ||
            bs_cfg_reg_class(w->off, w->bridge) != BS_REG_WINDOW)
            continue;
        for (int j = i + 1; j < q->n; j++) {
            bs_qev *r = &q->ev[j];
            if (r->kind > BS_QEV_WRITE || r->bus != w->bus ||
                r->slot != w->slot || r->fn != w->fn)
                continue;
            if (r->kind == BS_QEV_READ && r->off == w->off) {
                unsigned n = value_bytes(w->val) > value_bytes(r->val)
                                 ? value_bytes(w->val)
                                 : value_bytes(r->val);
                if (n < w->width) {
                    w->width = n;
                    r->width = n;
                }
            }
            break;
        }
    }
    /* Probe-and-restore: Linux writes 0xe0f0 as a word to the I/O base and
     * limit, reads it back, then restores 0 with another word write.  A
     * write that soon follows a wider write of the same offset of the same
     * function has that width too. */
    for (int i = 0; i < q->n; i++) {
        bs_qev *w = &q->ev[i];
        if (w->kind != BS_QEV_WRITE ||
            bs_cfg_reg_class(w->off, w->bridge) != BS_REG_WINDOW)
            continue;
        for (int j = i - 1, seen = 0; j >= 0 && seen < 8; j--) {
            const bs_qev *pw = &q->ev[j];
            if (pw->kind > BS_QEV_WRITE || pw->bus != w->bus ||
                pw->slot != w->slot || pw->fn != w->fn)
                continue;
            seen++;
            if (pw->kind == BS_QEV_WRITE && pw->off == w->off) {
                if (pw->width > w->width)
                    w->width = pw->width;
                break;
            }
        }
    }
    if (!q->n) {
        /* Nothing to replay: an empty file, random bytes or another log
         * must not read as a trace on which everything agrees. */
        bs_seterr(err, BS_EPARSE, filename, 0, 0,
                  "no QEMU PCI trace lines (pci_cfg_read, pci_cfg_write, "
                  "pci_update_mappings_add/del) in %d line(s): enable them "
                  "with -trace 'pci_cfg_*' -trace 'pci_update_mappings_*'",
                  lineno);
        bs_qtrace_free(q);
        return BS_EPARSE;
    }
    *out = q;
    return BS_OK;
}

int bs_qtrace_load(const char *path, bs_qtrace **out, bs_error *err)
{
    char *text;
    size_t len;
    int rc = read_whole(path, &text, &len, err);
    if (rc != BS_OK)
        return rc;
    rc = bs_qtrace_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void bs_qtrace_free(bs_qtrace *q)
{
    if (!q)
        return;
    free(q->ev);
    free(q);
}

int bs_qtrace_count(const bs_qtrace *q) { return q->n; }
int bs_qtrace_other_lines(const bs_qtrace *q) { return q->other; }

int bs_qtrace_get(const bs_qtrace *q, int i, bs_qev *out)
{
    if (i < 0 || i >= q->n)
        return BS_ENOENT;
    *out = q->ev[i];
    return BS_OK;
}

/* -------------------------------------------------------------- guest */

#define GRES_SLOTS BS_NSLOTS

struct gdev {
    bs_guest_dev info;
    bs_guest_res fin[GRES_SLOTS];
    bool has_fin[GRES_SLOTS];
    bs_guest_res fw[GRES_SLOTS];
    bool has_fw[GRES_SLOTS];
    bool fw_windows_done; /* scan-time windows seen (first "PCI bridge to") */
    bool in_bridge_block;
};

struct bs_guest {
    struct gdev *dev;
    int ndev, devcap;
    bs_window_info win[BS_MAX_ROOT_WINDOWS];
    int nwin;
    char **fail;
    int nfail, failcap;
    char release[64];     /* "Linux version RELEASE": empty when not seen */
};

void bs_guest_free(bs_guest *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->nfail; i++)
        free(g->fail[i]);
    free(g->fail);
    free(g->dev);
    free(g);
}

static int gdev_find(const bs_guest *g, unsigned dom, unsigned bus,
                     unsigned slot, unsigned fn)
{
    for (int i = 0; i < g->ndev; i++) {
        const bs_guest_dev *d = &g->dev[i].info;
        if (d->domain == dom && d->bus == bus && d->slot == slot &&
            d->fn == fn)
            return i;
    }
    return -1;
}

static int gdev_get(bs_guest *g, unsigned dom, unsigned bus, unsigned slot,
                    unsigned fn)
{
    int i = gdev_find(g, dom, bus, slot, fn);
    if (i >= 0)
        return i;
    if (g->ndev == g->devcap) {
        int nc = g->devcap ? g->devcap * 2 : 32;
        struct gdev *nd = realloc(g->dev, sizeof *nd * (size_t)nc);
        if (!nd)
            return BS_ENOMEM;
        g->dev = nd;
        g->devcap = nc;
    }
    struct gdev *d = &g->dev[g->ndev];
    memset(d, 0, sizeof *d);
    d->info.domain = dom;
    d->info.bus = bus;
    d->info.slot = slot;
    d->info.fn = fn;
    return g->ndev++;
}

/* "DDDD:BB:SS.F" */
static bool parse_full_bdf(const char **s, unsigned *dom, unsigned *bus,
                           unsigned *slot, unsigned *fn)
{
    *dom = *bus = *slot = *fn = 0;
    size_t k = bs_lex_bdf(*s, strnlen(*s, 20), BS_LEX_BDF_DOMAIN, dom, bus,
                          slot, fn);
    *s += k;
    return k != 0;
}

/* "[mem 0x..-0x.. 64bit pref]" / "[io  0x..-0x..]" / with "window". */
static bool parse_kres(const char *s, bs_guest_res *r, bool *is_window)
{
    const char *p = strchr(s, '[');
    if (!p)
        return false;
    p++;
    unsigned fl = 0;
    if (lit(&p, "mem "))
        ;
    else if (lit(&p, "io  ") || lit(&p, "io "))
        fl |= BS_RF_IO;
    else
        return false;
    while (*p == ' ')
        p++;
    uint64_t a, b;
    if (!parse_hex(&p, &a) || !lit(&p, "-") || !parse_hex(&p, &b))
        return false;
    const char *close = strchr(p, ']');
    if (!close)
        return false;
    char attrs[128];
    size_t n = (size_t)(close - p);
    if (n >= sizeof attrs)
        n = sizeof attrs - 1;
    memcpy(attrs, p, n);
    attrs[n] = 0;
    if (strstr(attrs, "64bit"))
        fl |= BS_RF_MEM64;
    if (strstr(attrs, "pref"))
        fl |= BS_RF_PREF;
    if (is_window)
        *is_window = strstr(attrs, "window") != NULL;
    r->start = a;
    /* An empty (closed) window prints as base > limit, e.g. 0x1000-0x0fff. */
    r->size = b >= a ? b - a + 1 : 0;
    r->flags = fl;
    r->assigned = a != 0 && b >= a;
    return true;
}

static int add_failure(bs_guest *g, const char *line)
{
    if (g->nfail == g->failcap) {
        int nc = g->failcap ? g->failcap * 2 : 8;
        char **nf = realloc(g->fail, sizeof *nf * (size_t)nc);
        if (!nf)
            return BS_ENOMEM;
        g->fail = nf;
        g->failcap = nc;
    }
    size_t n = strlen(line);
    char *c = malloc(n + 1);
    if (!c)
        return BS_ENOMEM;
    memcpy(c, line, n + 1);
    g->fail[g->nfail++] = c;
    return BS_OK;
}

static int window_slot_of(unsigned flags)
{
    if (flags & BS_RF_IO)
        return BS_SLOT_WIN_IO;
    return (flags & BS_RF_PREF) ? BS_SLOT_WIN_PREF : BS_SLOT_WIN_MEM;
}

/* One kernel log line.  Only the scan-time state (what firmware left) and
 * failures are taken from the log; the final state comes from sysfs. */
static int guest_dmesg_line(bs_guest *g, const char *s)
{
    if (s[0] == '[') {
        const char *c = strchr(s, ']');
        if (c)
            s = c + 1;
        while (*s == ' ')
            s++;
    }
    if (!strncmp(s, "Linux version ", 14)) {
        size_t n = strcspn(s + 14, " ");
        if (n >= sizeof g->release)
            n = sizeof g->release - 1;
        memcpy(g->release, s + 14, n);
        g->release[n] = 0;
        return BS_OK;
    }
    if (strstr(s, "failed to assign") || strstr(s, "no space") ||
        strstr(s, "can't assign") || strstr(s, "can't claim") ||
        strstr(s, "no compatible bridge window"))
        return add_failure(g, s);
    if (!strncmp(s, "pci_bus ", 8) && strstr(s, "root bus resource [")) {
        bs_guest_res r;
        bool w;
        if (!strstr(s, "[bus ") && parse_kres(strstr(s, "resource ["), &r, &w)) {
            if (g->nwin >= BS_MAX_ROOT_WINDOWS)
                return BS_ELIMIT;
            bs_window_info *wi = &g->win[g->nwin];
            wi->index = g->nwin;
            wi->flags = r.flags & (BS_RF_IO | BS_RF_PREF);
            wi->base = r.start;
            wi->size = r.size;
            wi->line = 0;
            g->nwin++;
        }
        return BS_OK;
    }
    if (strncmp(s, "pci ", 4))
        return BS_OK;
    const char *p = s + 4;
    unsigned dom, bus, slot, fn;
    if (!parse_full_bdf(&p, &dom, &bus, &slot, &fn) || !lit(&p, ": "))
        return BS_OK;
    int di = gdev_get(g, dom, bus, slot, fn);
    if (di < 0)
        return di;
    struct gdev *d = &g->dev[di];
    if (strstr(p, "] type 01 class"))
        d->info.bridge = 1;
    if (!strncmp(p, "PCI bridge to [bus", 18)) {
        d->in_bridge_block = !d->fw_windows_done;
        d->fw_windows_done = true;
        return BS_OK;
    }
    if (!strncmp(p, "  bridge window [", 17)) {
        if (d->in_bridge_block) {
            bs_guest_res r;
            if (parse_kres(p, &r, NULL)) {
                int sl = window_slot_of(r.flags);
                d->fw[sl] = r;
                d->has_fw[sl] = true;
            }
        }
        return BS_OK;
    }
    d->in_bridge_block = false;
    int slot_id = -1;
    if (!strncmp(p, "BAR ", 4) && p[4] >= '0' && p[4] <= '5' && p[5] == ' ')
        slot_id = BS_SLOT_BAR0 + (p[4] - '0');
    else if (!strncmp(p, "ROM [", 5))
        slot_id = BS_SLOT_ROM;
    else if (!strncmp(p, "VF BAR ", 7) && p[7] >= '0' && p[7] <= '5')
        slot_id = BS_SLOT_VF0 + (p[7] - '0');
    if (slot_id < 0)
        return BS_OK;
    /* Scan-time lines end at ']'; later ones say what happened to it. */
    const char *close = strchr(p, ']');
    if (!close || close[1] != 0 || d->has_fw[slot_id])
        return BS_OK;
    bs_guest_res r;
    if (parse_kres(p, &r, NULL)) {
        d->fw[slot_id] = r;
        d->has_fw[slot_id] = true;
    }
    return BS_OK;
}

/* sysfs `resource` flags -> BS_RF_* (Linux IORESOURCE_* bits). */
static unsigned sysfs_flags(uint64_t f)
{
    unsigned o = 0;
    if (f & 0x100)
        o |= BS_RF_IO;
    if (f & 0x2000)
        o |= BS_RF_PREF;
    if (f & 0x100000)
        o |= BS_RF_MEM64;
    return o;
}

static int guest_sysfs_line(bs_guest *g, int *cur, const char *s,
                            const char *filename, int lineno, bs_error *err)
{
    if (!strncmp(s, "dev ", 4)) {
        const char *p = s + 4;
        unsigned dom, bus, slot, fn;
        uint64_t ven, dev, cls;
        if (!parse_full_bdf(&p, &dom, &bus, &slot, &fn) || !lit(&p, " ") ||
            !parse_hex(&p, &ven) || !lit(&p, " ") || !parse_hex(&p, &dev) ||
            !lit(&p, " ") || !parse_hex(&p, &cls) || !lit(&p, " ")) {
            bs_seterr(err, BS_EPARSE, filename, lineno, 0,
                      "expected 'dev DDDD:BB:SS.F VENDOR DEVICE CLASS "
                      "SYSFS-PATH'");
            return BS_EPARSE;
        }
        int di = gdev_get(g, dom, bus, slot, fn);
        if (di < 0)
            return di;
        bs_guest_dev *d = &g->dev[di].info;
        d->vendor = (unsigned)ven;
        d->device = (unsigned)dev;
        d->class_code = (unsigned)cls;
        if ((cls >> 8) == 0x0604)
            d->bridge = 1;
        /* /sys/devices/pci0000:00/0000:00:03.0/0000:01:00.0 */
        d->depth = 0;
        const char *q = strstr(p, "/pci");
        q = q ? strchr(q + 1, '/') : NULL;
        while (q && *q == '/') {
            q++;
            unsigned a, b, c, e;
            if (!parse_full_bdf(&q, &a, &b, &c, &e) || d->depth >= 16)
                break;
            d->path_slot[d->depth] = (int)c;
            d->path_fn[d->depth] = (int)e;
            d->depth++;
        }
        if (d->depth == 0) {
            bs_seterr(err, BS_EPARSE, filename, lineno, 0,
                      "sysfs path of %s has no PCI hops", s + 4);
            return BS_EPARSE;
        }
        *cur = di;
        return BS_OK;
    }
    /* "N:0xSTART 0xEND 0xFLAGS", N = 1-based resource index */
    char *ep;
    long idx = strtol(s, &ep, 10);
    const char *p = ep;
    uint64_t a, b, f;
    if (*cur < 0 || idx < 1 || idx > 17 || !lit(&p, ":") ||
        !parse_hex(&p, &a) || !lit(&p, " ") || !parse_hex(&p, &b) ||
        !lit(&p, " ") || !parse_hex(&p, &f) || *p) {
        bs_seterr(err, BS_EPARSE, filename, lineno, 0,
                  "expected 'N:0xSTART 0xEND 0xFLAGS' after a 'dev' line");
        return BS_EPARSE;
    }
    int slot = (int)idx - 1; /* 0-5 BARs, 6 ROM, 7-12 VF BARs, 13-15 windows */
    if (slot >= BS_NSLOTS)
        return BS_OK; /* 16: unused bridge resource */
    struct gdev *d = &g->dev[*cur];
    bs_guest_res *r = &d->fin[slot];
    r->start = a;
    r->size = b >= a ? b - a + 1 : 0;
    r->flags = sysfs_flags(f);
    r->assigned = a != 0 && b >= a;
    /* A shadowed ROM (the VGA BIOS copy at 0xc0000) is not a BAR. */
    if (slot == BS_SLOT_ROM && (f & 0x2))
        r->assigned = 0;
    d->has_fin[slot] = true;
    return BS_OK;
}

int bs_guest_parse(const char *text, size_t len, const char *filename,
                   bs_guest **out, bs_error *err)
{
    *out = NULL;
    bs_guest *g = calloc(1, sizeof *g);
    if (!g)
        return BS_ENOMEM;
    enum { S_NONE, S_DMESG, S_IOMEM, S_IOPORTS, S_SYSFS, S_END } sec = S_NONE;
    bool seen[S_END + 1] = {false};
    const char *p = text, *end = text + len;
    int lineno = 0, rc = BS_OK, cur = -1;
    char buf[1024];
    while (p < end && rc == BS_OK) {
        const char *l;
        size_t ll;
        p = next_line(p, end, &l, &ll);
        lineno++;
        /* Firmware may leave terminal escapes before the first marker. */
        line_copy(buf, sizeof buf, l, ll);
        const char *mk = strstr(buf, "@@PEER ");
        if (mk) {
            memmove(buf, mk + 7, strlen(mk + 7) + 1);
            if (!strcmp(buf, "dmesg"))
                sec = S_DMESG;
            else if (!strcmp(buf, "iomem"))
                sec = S_IOMEM;
            else if (!strcmp(buf, "ioports"))
                sec = S_IOPORTS;
            else if (!strcmp(buf, "sysfs"))
                sec = S_SYSFS;
            else if (!strcmp(buf, "end"))
                sec = S_END;
            else {
                bs_seterr(err, BS_EPARSE, filename, lineno, 0,
                          "unknown section marker '@@PEER %s'", buf);
                rc = BS_EPARSE;
                break;
            }
            seen[sec] = true;
            continue;
        }
        line_copy(buf, sizeof buf, l, ll);
        if (sec == S_DMESG)
            rc = guest_dmesg_line(g, buf);
        else if (sec == S_SYSFS && ll)
            rc = guest_sysfs_line(g, &cur, buf, filename, lineno, err);
        if (sec == S_END)
            sec = S_NONE; /* the console goes on with the power-off lines */
    }
    if (rc == BS_OK && (!seen[S_DMESG] || !seen[S_SYSFS] || !seen[S_END])) {
        bs_seterr(err, BS_EPARSE, filename, 0, 0,
                  "not a complete peer report: missing '@@PEER %s' (did the "
                  "guest reach its /init and finish?)",
                  !seen[S_DMESG] ? "dmesg" : !seen[S_SYSFS] ? "sysfs" : "end");
        rc = BS_EPARSE;
    }
    if (rc == BS_ENOMEM || rc == BS_ELIMIT)
        bs_seterr(err, rc, filename, lineno, 0, "%s",
                  rc == BS_ENOMEM ? "out of memory" : "too many root windows");
    if (rc != BS_OK) {
        bs_guest_free(g);
        return rc;
    }
    *out = g;
    return BS_OK;
}

int bs_guest_load(const char *path, bs_guest **out, bs_error *err)
{
    char *text;
    size_t len;
    int rc = read_whole(path, &text, &len, err);
    if (rc != BS_OK)
        return rc;
    rc = bs_guest_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int bs_guest_dev_count(const bs_guest *g) { return g->ndev; }

int bs_guest_dev_info(const bs_guest *g, int i, bs_guest_dev *out)
{
    if (i < 0 || i >= g->ndev)
        return BS_ENOENT;
    *out = g->dev[i].info;
    return BS_OK;
}

int bs_guest_final(const bs_guest *g, int dev, int slot, bs_guest_res *out)
{
    if (dev < 0 || dev >= g->ndev || slot < 0 || slot >= BS_NSLOTS ||
        !g->dev[dev].has_fin[slot])
        return BS_ENOENT;
    *out = g->dev[dev].fin[slot];
    return BS_OK;
}

int bs_guest_firmware(const bs_guest *g, int dev, int slot, bs_guest_res *out)
{
    if (dev < 0 || dev >= g->ndev || slot < 0 || slot >= BS_NSLOTS ||
        !g->dev[dev].has_fw[slot])
        return BS_ENOENT;
    *out = g->dev[dev].fw[slot];
    return BS_OK;
}

int bs_guest_window_count(const bs_guest *g) { return g->nwin; }

int bs_guest_window(const bs_guest *g, int i, bs_window_info *out)
{
    if (i < 0 || i >= g->nwin)
        return BS_ENOENT;
    *out = g->win[i];
    return BS_OK;
}

int bs_guest_failure_count(const bs_guest *g) { return g->nfail; }

const char *bs_guest_failure(const bs_guest *g, int i)
{
    return i >= 0 && i < g->nfail ? g->fail[i] : NULL;
}

const char *bs_guest_kernel_release(const bs_guest *g)
{
    return g->release[0] ? g->release : NULL;
}

int bs_guest_find_path(const bs_guest *g, const int *slots, const int *fns,
                       int depth)
{
    for (int i = 0; i < g->ndev; i++) {
        const bs_guest_dev *d = &g->dev[i].info;
        if (d->depth != depth)
            continue;
        int k = 0;
        while (k < depth && d->path_slot[k] == slots[k] &&
               d->path_fn[k] == fns[k])
            k++;
        if (k == depth)
            return i;
    }
    return BS_ENOENT;
}
