/*
 * The importers' common model: functions keyed by PCI address, host bridge
 * windows, bus windows; merging of several inputs; and the build step that
 * recovers the hierarchy (bridge secondary/subordinate bus ranges, bus
 * windows, nesting) and turns the facts into a bs_topo.
 *
 * Inputs are parsed into a scratch importer and merged only when the whole
 * input parsed, so a bad file never leaves half of itself behind.
 */
#include "import/import_internal.h"
#include "core/lex.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IMP_MAX_DEVS 65536
#define IMP_MAX_NOTES 256
/* A synthetic bridge (its device is not in the input) uses this device
 * number, outside 0..31, so it can never collide with a real function. */
#define IMP_SYNTH_DEV 0x40u

bs_import *bs_import_new(void)
{
    return calloc(1, sizeof(bs_import));
}

void bs_import_free(bs_import *im)
{
    if (!im)
        return;
    for (int i = 0; i < im->nnote; i++)
        free(im->note[i]);
    free(im->note);
    free(im->dev);
    free(im->hash);
    free(im->win);
    free(im->bw);
    free(im->rb);
    free(im);
}

static unsigned dev_hash(unsigned dom, unsigned bus, unsigned dev,
                         unsigned fn)
{
    uint64_t k = (uint64_t)dom << 32 ^ (uint64_t)bus << 16 ^
                 (uint64_t)dev << 8 ^ fn;
    return (unsigned)((k * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

static void hash_put(bs_import *im, int i)
{
    const struct imp_dev *d = &im->dev[i];
    unsigned m = (unsigned)im->hcap - 1;
    unsigned h = dev_hash(d->dom, d->bus, d->dev, d->fn) & m;
    while (im->hash[h])
        h = (h + 1) & m;
    im->hash[h] = i + 1;
}

/* (Re)build the address index for the current dev array; false on ENOMEM. */
static bool hash_rebuild(bs_import *im)
{
    int cap = 64;
    while (cap < 2 * im->capdev)
        cap *= 2;
    if (cap != im->hcap) {
        int *h = malloc(sizeof *h * (size_t)cap);
        if (!h)
            return false;
        free(im->hash);
        im->hash = h;
        im->hcap = cap;
    }
    memset(im->hash, 0, sizeof *im->hash * (size_t)im->hcap);
    for (int i = 0; i < im->ndev; i++)
        hash_put(im, i);
    return true;
}

struct imp_dev *imp_dev_find(const bs_import *im, unsigned dom, unsigned bus,
                             unsigned dev, unsigned fn)
{
    if (!im->hcap)
        return NULL;
    unsigned m = (unsigned)im->hcap - 1;
    for (unsigned h = dev_hash(dom, bus, dev, fn) & m; im->hash[h];
         h = (h + 1) & m) {
        struct imp_dev *d = &im->dev[im->hash[h] - 1];
        if (d->dom == dom && d->bus == bus && d->dev == dev && d->fn == fn)
            return d;
    }
    return NULL;
}

struct imp_dev *imp_dev_get(bs_import *im, unsigned dom, unsigned bus,
                            unsigned dev, unsigned fn)
{
    struct imp_dev *d = imp_dev_find(im, dom, bus, dev, fn);
    if (d)
        return d;
    if (im->ndev >= IMP_MAX_DEVS)
        return NULL;
    int cap = im->capdev;
    if (!bs_grow((void **)&im->dev, &im->capdev, im->ndev, sizeof *im->dev, 16))
        return NULL;
    if ((cap != im->capdev || !im->hcap) && !hash_rebuild(im))
        return NULL;
    d = &im->dev[im->ndev++];
    memset(d, 0, sizeof *d);
    d->dom = dom;
    d->bus = bus;
    d->dev = dev;
    d->fn = fn;
    d->kind = IMP_KIND_UNKNOWN;
    d->sec = d->sub = -1;
    d->node = -1;
    d->parent = -1;
    hash_put(im, im->ndev - 1);
    return d;
}

int imp_add_root_window(bs_import *im, unsigned dom, unsigned flags,
                        uint64_t base, uint64_t last, const char *src)
{
    return imp_add_root_window_bus(im, dom, flags, base, last, 0, src);
}

int imp_add_root_window_bus(bs_import *im, unsigned dom, unsigned flags,
                            uint64_t base, uint64_t last, uint64_t offset,
                            const char *src)
{
    if (last < base)
        return BS_OK;
    uint64_t size = last - base + 1; /* 0 means the whole 2^64 space */
    if (!size)
        return BS_OK;
    flags &= BS_RF_IO | BS_RF_PREF;
    for (int i = 0; i < im->nwin; i++) {
        struct imp_win *w = &im->win[i];
        if (w->base == base && w->size == size &&
            ((w->flags ^ flags) & BS_RF_IO) == 0) {
            if (offset)
                w->offset = offset;
            w->flags |= flags & BS_RF_PREF; /* DT ranges do not say */
            return BS_OK;
        }
    }
    if (!bs_grow((void **)&im->win, &im->capwin, im->nwin, sizeof *im->win, 16))
        return BS_ENOMEM;
    struct imp_win *w = &im->win[im->nwin++];
    w->flags = flags;
    w->base = base;
    w->size = size;
    w->dom = dom;
    w->offset = offset;
    snprintf(w->src, sizeof w->src, "%s", src ? src : "");
    return BS_OK;
}

int imp_add_root_bus(bs_import *im, unsigned dom, unsigned bus)
{
    for (int i = 0; i < im->nrb; i++)
        if (im->rb[i].dom == dom && im->rb[i].bus == bus)
            return BS_OK;
    if (!bs_grow((void **)&im->rb, &im->caprb, im->nrb, sizeof *im->rb, 16))
        return BS_ENOMEM;
    im->rb[im->nrb].dom = dom;
    im->rb[im->nrb].bus = bus;
    im->nrb++;
    return BS_OK;
}

int imp_add_bus_window(bs_import *im, unsigned dom, unsigned bus,
                       int parent_bus, unsigned flags, uint64_t base,
                       uint64_t last)
{
    if (last < base || last - base + 1 == 0)
        return BS_OK;
    for (int i = 0; i < im->nbw; i++) {
        struct imp_buswin *b = &im->bw[i];
        if (b->dom == dom && b->bus == bus &&
            imp_win_slot(b->flags) == imp_win_slot(flags)) {
            b->base = base;
            b->size = last - base + 1;
            b->flags = flags;
            if (parent_bus >= 0)
                b->parent_bus = parent_bus;
            return BS_OK;
        }
    }
    if (!bs_grow((void **)&im->bw, &im->capbw, im->nbw, sizeof *im->bw, 16))
        return BS_ENOMEM;
    struct imp_buswin *b = &im->bw[im->nbw++];
    b->dom = dom;
    b->bus = bus;
    b->parent_bus = parent_bus;
    b->flags = flags;
    b->base = base;
    b->size = last - base + 1;
    return BS_OK;
}

static int note_add(bs_import *im, const char *text)
{
    for (int i = 0; i < im->nnote; i++)
        if (!strcmp(im->note[i], text))
            return BS_OK;
    if (im->nnote >= IMP_MAX_NOTES)
        return BS_OK; /* the last note already says so */
    if (!bs_grow((void **)&im->note, &im->capnote, im->nnote, sizeof *im->note, 16))
        return BS_ENOMEM;
    const char *t = text;
    char more[] = "more notes left out";
    if (im->nnote == IMP_MAX_NOTES - 1)
        t = more;
    size_t n = strlen(t) + 1;
    char *c = malloc(n);
    if (!c)
        return BS_ENOMEM;
    memcpy(c, t, n);
    im->note[im->nnote++] = c;
    return BS_OK;
}

int imp_note(bs_import *im, const char *fmt, ...)
{
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return note_add(im, buf);
}

int imp_win_slot(unsigned flags)
{
    if (flags & BS_RF_IO)
        return BS_SLOT_WIN_IO;
    if (flags & BS_RF_PREF)
        return BS_SLOT_WIN_PREF;
    return BS_SLOT_WIN_MEM;
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), in the kernel's fixed widths. */
bool imp_parse_bdf(const char *s, unsigned *dom, unsigned *bus, unsigned *dev,
                   unsigned *fn, const char **end)
{
    size_t k = bs_lex_bdf(s, strnlen(s, 16), BS_LEX_BDF_FIXED, dom, bus, dev,
                          fn);
    if (k && end)
        *end = s + k;
    return k != 0;
}

int imp_for_lines(const char *data, size_t len,
                  int (*fn)(const char *, size_t, int, void *), void *ctx)
{
    size_t i = 0;
    int lineno = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && data[j] != '\n')
            j++;
        size_t l = j - i;
        if (l && data[i + l - 1] == '\r')
            l--;
        lineno++;
        int rc = fn(data + i, l, lineno, ctx);
        if (rc)
            return rc;
        i = j + 1;
    }
    return 0;
}

/* ------------------------------------------------------------- merge */

static void merge_res(struct imp_res *d, const struct imp_res *s)
{
    if (!s->present)
        return;
    if (!d->present || d->loose) {
        *d = *s;
        return;
    }
    d->flags |= s->flags;
    if (s->size)
        d->size = s->size;
    if (s->has_fw) {
        d->has_fw = true;
        d->fw = s->fw;
    }
    d->fw_rejected |= s->fw_rejected;
    if (s->has_addr) {
        d->has_addr = true;
        d->addr = s->addr;
    }
    d->kassigned |= s->kassigned;
    if (s->failed > d->failed) {
        d->failed = s->failed;
        memcpy(d->fail_msg, s->fail_msg, sizeof d->fail_msg);
    }
}

int imp_merge(bs_import *dst, bs_import *src)
{
    for (int i = 0; i < src->ndev; i++) {
        const struct imp_dev *s = &src->dev[i];
        struct imp_dev *d = imp_dev_get(dst, s->dom, s->bus, s->dev, s->fn);
        if (!d)
            return BS_ENOMEM;
        if (s->kind != IMP_KIND_UNKNOWN)
            d->kind = s->kind;
        if (s->sec >= 0)
            d->sec = s->sec;
        if (s->sub >= 0)
            d->sub = s->sub;
        d->hotplug |= s->hotplug;
        d->add_size |= s->add_size;
        for (int k = 0; k < 3; k++)
            if (s->add[k] > d->add[k])
                d->add[k] = s->add[k];
        d->pref32 |= s->pref32;
        if (s->num_vfs)
            d->num_vfs = s->num_vfs;
        if (s->has_id) {
            d->has_id = true;
            d->vendor = s->vendor;
            d->device = s->device;
            d->cls = s->cls;
        }
        for (int k = 0; k < 6; k++)
            if (s->rebar[k])
                d->rebar[k] = s->rebar[k];
        for (int k = 0; k < BS_NSLOTS; k++) {
            const struct imp_res *sr = &s->res[k];
            if (!sr->loose) {
                merge_res(&d->res[k], sr);
                continue;
            }
            /* A guessed slot: skip it when any input already placed that
             * address, else take a free BAR slot. */
            bool known = false;
            int freek = -1;
            for (int j = 0; j < BS_SLOT_WIN_IO; j++) {
                known |= d->res[j].present && d->res[j].has_addr &&
                         d->res[j].addr == sr->addr;
                if (j < 6 && freek < 0 && !d->res[j].present &&
                    !(j > 0 && (d->res[j - 1].flags & BS_RF_MEM64)))
                    freek = j;
            }
            if (!known && freek >= 0)
                d->res[freek] = *sr;
        }
    }
    for (int i = 0; i < src->nwin; i++) {
        const struct imp_win *w = &src->win[i];
        int rc = imp_add_root_window_bus(dst, w->dom, w->flags, w->base,
                                         bs_last(w->base, w->size), w->offset,
                                         w->src);
        if (rc)
            return rc;
    }
    for (int i = 0; i < src->nbw; i++) {
        const struct imp_buswin *b = &src->bw[i];
        int rc = imp_add_bus_window(dst, b->dom, b->bus, b->parent_bus,
                                    b->flags, b->base,
                                    bs_last(b->base, b->size));
        if (rc)
            return rc;
    }
    for (int i = 0; i < src->nrb; i++) {
        int rc = imp_add_root_bus(dst, src->rb[i].dom, src->rb[i].bus);
        if (rc)
            return rc;
    }
    for (int i = 0; i < src->nnote; i++) {
        int rc = note_add(dst, src->note[i]);
        if (rc)
            return rc;
    }
    dst->qemu |= src->qemu;
    if (!dst->kernel[0])
        memcpy(dst->kernel, src->kernel, sizeof dst->kernel);
    if (!dst->cmdline[0])
        memcpy(dst->cmdline, src->cmdline, sizeof dst->cmdline);
    if (!dst->name[0])
        memcpy(dst->name, src->name, sizeof dst->name);
    dst->st.files += src->st.files;
    dst->st.lines += src->st.lines;
    dst->st.pci_lines += src->st.pci_lines;
    return BS_OK;
}

/* ---------------------------------------------------------- detection */

static bool line_is_iomem(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    size_t h = 0;
    while (i < n && bs_hexval((unsigned char)s[i]) >= 0)
        i++, h++;
    if (!h || i >= n || s[i] != '-')
        return false;
    i++;
    h = 0;
    while (i < n && bs_hexval((unsigned char)s[i]) >= 0)
        i++, h++;
    return h && i + 2 < n && s[i] == ' ' && s[i + 1] == ':';
}

static bool line_is_lspci_head(const char *s, size_t n)
{
    unsigned d, b, v, f;
    const char *e;
    char tmp[24];
    size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
    memcpy(tmp, s, k);
    tmp[k] = 0;
    return imp_parse_bdf(tmp, &d, &b, &v, &f, &e) && *e == ' ' &&
           e == tmp + (tmp[2] == ':' ? 7 : 12);
}

int bs_import_detect(const char *data, size_t len)
{
    if (len >= 512 && !memcmp(data + 257, "ustar", 5))
        return BS_IMPORT_SYSFS;
    int iomem = 0, lspci = 0, other = 0, sysfs = 0;
    size_t i = 0;
    int lines = 0;
    while (i < len && lines < 400) {
        size_t j = i;
        while (j < len && data[j] != '\n')
            j++;
        const char *s = data + i;
        size_t n = j - i;
        if (n) {
            lines++;
            if (line_is_iomem(s, n))
                iomem++;
            else if (line_is_lspci_head(s, n))
                lspci++;
            else if (n >= 56 && !memcmp(s, "0x", 2) && s[18] == ' ' &&
                     !memcmp(s + 19, "0x", 2))
                sysfs++;
            else if (memchr(s, 'p', n))
                other++;
        }
        i = j + 1;
    }
    if (iomem && iomem >= lspci && iomem * 2 >= lines)
        return BS_IMPORT_IOMEM;
    if (lspci && lspci >= iomem) {
        /* A kernel log never starts a line with a bare PCI address. */
        return BS_IMPORT_LSPCI;
    }
    (void)sysfs;
    (void)other;
    return BS_IMPORT_DMESG;
}

const char *bs_import_format_name(int f)
{
    switch (f) {
    case BS_IMPORT_AUTO: return "auto";
    case BS_IMPORT_DMESG: return "dmesg";
    case BS_IMPORT_LSPCI: return "lspci";
    case BS_IMPORT_SYSFS: return "sysfs";
    case BS_IMPORT_IOMEM: return "iomem";
    }
    return "?";
}

static void set_name(bs_import *im, const char *filename)
{
    if (im->name[0] || !filename)
        return;
    const char *b = strrchr(filename, '/');
    b = b && b[1] ? b + 1 : filename;
    /* The topology format's names: a letter or '_' first, then letters,
     * digits and "_.:-". */
    bool letter = (*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') ||
                  *b == '_';
    snprintf(im->name, sizeof im->name, "%s%s", letter ? "" : "m-", b);
    for (char *p = im->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("_.:-", *p)))
            *p = '_';
}

int bs_import_add(bs_import *im, const char *data, size_t len,
                  const char *filename, int format, bs_error *err)
{
    if (!im || (!data && len))
        return BS_EINVAL;
    if (!filename)
        filename = "<input>";
    if (format == BS_IMPORT_AUTO)
        format = bs_import_detect(data, len);
    bs_import *s = bs_import_new();
    if (!s)
        return BS_ENOMEM;
    int rc;
    switch (format) {
    case BS_IMPORT_DMESG: rc = imp_parse_dmesg(s, data, len, filename, err); break;
    case BS_IMPORT_LSPCI: rc = imp_parse_lspci(s, data, len, filename, err); break;
    case BS_IMPORT_IOMEM: rc = imp_parse_iomem(s, data, len, filename, err); break;
    case BS_IMPORT_SYSFS: rc = imp_parse_sysfs_tar(s, data, len, filename, err); break;
    default:
        bs_seterr(err, BS_EINVAL, filename, 0, 0, "unknown import format %d",
                  format);
        rc = BS_EINVAL;
    }
    if (rc == BS_OK) {
        s->st.files = 1;
        set_name(s, filename);
        rc = imp_merge(im, s);
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, filename, 0, 0, "out of memory");
    } else if (rc == BS_ENOMEM && err && !err->msg[0]) {
        bs_seterr(err, rc, filename, 0, 0, "out of memory");
    }
    /* The function cap is a limit, not a failed allocation: say so, with
     * the count and where the input crossed it. */
    if (rc == BS_ENOMEM && (s->ndev >= IMP_MAX_DEVS || im->ndev >= IMP_MAX_DEVS)) {
        rc = BS_ELIMIT;
        bs_seterr(err, rc, filename, err ? err->line : 0, 0,
                  "more than %d PCI functions: the import limit",
                  IMP_MAX_DEVS);
    }
    bs_import_free(s);
    return rc;
}

/* Largest input we read into memory: kernel logs of big machines are a few
 * MiB; a sysfs tar of thousands of functions stays well below this. */
#define IMP_MAX_FILE (256u << 20)

int bs_import_add_path(bs_import *im, const char *path, int format,
                       bs_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return BS_EIO;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (format != BS_IMPORT_AUTO && format != BS_IMPORT_SYSFS) {
            bs_seterr(err, BS_EINVAL, path, 0, 0,
                      "is a directory; only the sysfs format reads directories");
            return BS_EINVAL;
        }
        bs_import *s = bs_import_new();
        if (!s)
            return BS_ENOMEM;
        int rc = imp_parse_sysfs_dir(s, path, err);
        if (rc == BS_OK) {
            s->st.files = 1;
            set_name(s, path);
            rc = imp_merge(im, s);
        }
        bs_import_free(s);
        return rc;
    }
    char *buf;
    size_t n;
    int rc = bs_read_file(path, IMP_MAX_FILE, &buf, &n, err);
    if (rc != BS_OK)
        return rc;
    /* A lone sysfs resource file: its directory names the function. */
    const char *base = strrchr(path, '/');
    unsigned d, b, v, fn;
    const char *e;
    if (format != BS_IMPORT_DMESG && format != BS_IMPORT_LSPCI &&
        format != BS_IMPORT_IOMEM && base && !strcmp(base, "/resource") &&
        base - path >= 7) {
        const char *q = base - 1;
        while (q > path && q[-1] != '/')
            q--;
        if (imp_parse_bdf(q, &d, &b, &v, &fn, &e) && e == base) {
            bs_import *s = bs_import_new();
            if (!s) {
                free(buf);
                return BS_ENOMEM;
            }
            rc = imp_parse_sysfs_resource(s, d, b, v, fn, buf, n, path, err);
            if (rc == BS_OK) {
                s->st.files = 1;
                set_name(s, path);
                rc = imp_merge(im, s);
            }
            bs_import_free(s);
            free(buf);
            return rc;
        }
    }
    rc = bs_import_add(im, buf, n, path, format, err);
    free(buf);
    return rc;
}

int bs_import_note_count(const bs_import *im) { return im->nnote; }

const char *bs_import_kernel(const bs_import *im) { return im->kernel; }

const char *bs_import_cmdline(const bs_import *im) { return im->cmdline; }

const char *bs_import_note(const bs_import *im, int i)
{
    return i >= 0 && i < im->nnote ? im->note[i] : NULL;
}

void bs_import_get_stats(const bs_import *im, bs_import_stats *st)
{
    *st = im->st;
}

/* ------------------------------------------------------------ build */

static void bdf_name(const struct imp_dev *d, char *buf, size_t cap)
{
    /* Topology names start with a letter: "pci-" + the PCI address. */
    if (d->dev >= IMP_SYNTH_DEV)
        snprintf(buf, cap, "bridge-to-%04x:%02x", d->dom, (unsigned)d->sec);
    else
        snprintf(buf, cap, "pci-%04x:%02x:%02x.%u", d->dom, d->bus, d->dev,
                 d->fn);
}

static bool is_root_bus(const bs_import *im, unsigned dom, unsigned bus)
{
    for (int i = 0; i < im->nrb; i++)
        if (im->rb[i].dom == dom && im->rb[i].bus == bus)
            return true;
    return false;
}

static struct imp_dev *bridge_for_bus(bs_import *im, unsigned dom,
                                      unsigned bus)
{
    for (int i = 0; i < im->ndev; i++) {
        struct imp_dev *d = &im->dev[i];
        if (d->dom == dom && d->sec == (int)bus && d->kind == BS_NODE_BRIDGE)
            return d;
    }
    return NULL;
}

static bool res_is_window_like(const struct imp_dev *d)
{
    for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
        if (d->res[k].present)
            return true;
    return false;
}

/* Give bus windows to their bridges; bridges the input never names get a
 * synthetic node so that the windows (and what sits in them) keep their
 * place in the tree. */
static int place_bus_windows(bs_import *im)
{
    for (int i = 0; i < im->nbw; i++) {
        struct imp_buswin *b = &im->bw[i];
        if (is_root_bus(im, b->dom, b->bus))
            continue;
        struct imp_dev *d = bridge_for_bus(im, b->dom, b->bus);
        if (!d) {
            unsigned pbus = b->parent_bus >= 0 ? (unsigned)b->parent_bus : 0;
            d = imp_dev_get(im, b->dom, pbus, IMP_SYNTH_DEV + (b->bus & 0x3f),
                            b->bus >> 6);
            if (!d)
                return BS_ENOMEM;
            d->kind = BS_NODE_BRIDGE;
            d->sec = d->sub = (int)b->bus;
            int rc = imp_note(im, "bus %04x:%02x: its bridge is not in the "
                              "inputs; a placeholder bridge holds its windows",
                              b->dom, b->bus);
            if (rc)
                return rc;
        }
        struct imp_res *r = &d->res[imp_win_slot(b->flags)];
        /* A bridge's own window line is more precise than a bus line. */
        if (r->present && r->has_addr)
            continue;
        r->present = true;
        r->flags = b->flags & (BS_RF_IO | BS_RF_PREF | BS_RF_MEM64);
        r->size = b->size;
        r->has_addr = true;
        r->addr = b->base;
    }
    return BS_OK;
}

/* The nearest bridge above function i, by bus ranges: the narrowest
 * range holding its bus (equal ranges: the bridge on the higher bus, then
 * the first listed).  `narrow` lists, per bus of i's domain, the answer
 * among all bridges of the domain; it is only wrong when that answer is i
 * itself (a bridge whose range holds its own bus), which a scan settles. */
static int parent_by_range(const bs_import *im, int i, const int *narrow)
{
    const struct imp_dev *d = &im->dev[i];
    if (d->bus < 256 && narrow[d->bus] != i)
        return narrow[d->bus];
    int best = -1, bestw = 1 << 30;
    for (int j = 0; j < im->ndev; j++) {
        const struct imp_dev *b = &im->dev[j];
        if (j == i || b->kind != BS_NODE_BRIDGE || b->dom != d->dom ||
            b->sec < 0)
            continue;
        int sub = b->sub >= (int)b->sec ? b->sub : b->sec;
        if ((int)d->bus < b->sec || (int)d->bus > sub)
            continue;
        int w = sub - b->sec;
        if (w < bestw || (w == bestw && b->bus > im->dev[best].bus)) {
            best = j;
            bestw = w;
        }
    }
    return best;
}

/* When no bus range leads to function i's bus: the bridge of unknown
 * range whose window most narrowly holds an address of i (a ROM assigned
 * at 0xa8620000 sits behind the bridge forwarding 0xa8600000-0xa86fffff),
 * or -1.  Only on that fallback path: a scan is fine. */
static int parent_by_address(const bs_import *im, int i)
{
    const struct imp_dev *d = &im->dev[i];
    int best = -1;
    uint64_t bestsz = 0;
    for (int j = 0; j < im->ndev; j++) {
        const struct imp_dev *b = &im->dev[j];
        if (j == i || b->kind != BS_NODE_BRIDGE || b->dom != d->dom ||
            b->sec >= 0 || b->bus >= d->bus)
            continue;
        for (int w = BS_SLOT_WIN_IO; w <= BS_SLOT_WIN_PREF; w++) {
            const struct imp_res *bw = &b->res[w];
            if (!bw->has_addr || !bw->size)
                continue;
            for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
                const struct imp_res *r = &d->res[k];
                if (!r->has_addr || !r->size ||
                    !!(r->flags & BS_RF_IO) != (w == BS_SLOT_WIN_IO) ||
                    r->addr < bw->addr ||
                    bs_last(r->addr, r->size) > bs_last(bw->addr, bw->size))
                    continue;
                if (best < 0 || bw->size < bestsz) {
                    best = j;
                    bestsz = bw->size;
                }
            }
        }
    }
    return best;
}

struct dom_idx {
    unsigned dom;
    int i;
};

static int cmp_dom_idx(const void *a, const void *b)
{
    const struct dom_idx *x = a, *y = b;
    if (x->dom != y->dom)
        return x->dom < y->dom ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Per domain, per bus: the bridge whose range holds the bus most narrowly
 * (narrow[]), and the best guess when no range is known, the bridge of
 * unknown range on the highest lower bus (guess[]).  Built in O(bridges x
 * 256) per domain instead of a scan of every bridge per function. */
static void bus_tables(const bs_import *im, const int *idx, int lo, int hi,
                       int *narrow, int *guess)
{
    int width[256], first_on_bus[256];
    for (int v = 0; v < 256; v++) {
        narrow[v] = guess[v] = first_on_bus[v] = -1;
        width[v] = 1 << 30;
    }
    for (int x = lo; x < hi; x++) {
        int j = idx[x];
        const struct imp_dev *b = &im->dev[j];
        if (b->kind != BS_NODE_BRIDGE)
            continue;
        if (b->sec < 0) {
            if (b->bus < 256 && first_on_bus[b->bus] < 0)
                first_on_bus[b->bus] = j;
            continue;
        }
        int sub = b->sub >= (int)b->sec ? b->sub : b->sec;
        int w = sub - b->sec;
        for (int v = b->sec; v <= sub && v < 256; v++)
            if (w < width[v] ||
                (w == width[v] && b->bus > im->dev[narrow[v]].bus)) {
                narrow[v] = j;
                width[v] = w;
            }
    }
    int last = -1;
    for (int v = 0; v < 256; v++) {
        guess[v] = last;
        if (first_on_bus[v] >= 0)
            last = first_on_bus[v];
    }
}

static int resolve_parents(bs_import *im)
{
    for (int i = 0; i < im->ndev; i++) {
        struct imp_dev *d = &im->dev[i];
        if (d->kind == IMP_KIND_UNKNOWN)
            d->kind = (d->sec >= 0 || res_is_window_like(d)) ? BS_NODE_BRIDGE
                                                             : BS_NODE_DEVICE;
    }
    /* Functions grouped by domain, in input order within each. */
    int *idx = malloc(sizeof *idx * (size_t)im->ndev);
    struct dom_idx *di = malloc(sizeof *di * (size_t)im->ndev);
    if (!idx || !di) {
        free(idx);
        free(di);
        return BS_ENOMEM;
    }
    for (int i = 0; i < im->ndev; i++)
        di[i] = (struct dom_idx){im->dev[i].dom, i};
    qsort(di, (size_t)im->ndev, sizeof *di, cmp_dom_idx);
    for (int i = 0; i < im->ndev; i++)
        idx[i] = di[i].i;
    free(di);
    int narrow[256], guess[256];
    int rc = BS_OK;
    for (int lo = 0, hi; lo < im->ndev && rc == BS_OK; lo = hi) {
        unsigned dom = im->dev[idx[lo]].dom;
        for (hi = lo; hi < im->ndev && im->dev[idx[hi]].dom == dom; hi++)
            ;
        bus_tables(im, idx, lo, hi, narrow, guess);
        for (int x = lo; x < hi && rc == BS_OK; x++) {
            int i = idx[x];
            struct imp_dev *d = &im->dev[i];
            d->parent = -1;
            if (is_root_bus(im, d->dom, d->bus))
                continue;
            int best = parent_by_range(im, i, narrow);
            if (best >= 0 && im->dev[best].sec != (int)d->bus)
                rc = imp_note(im, "bus %04x:%02x: its bridge is not in the "
                              "inputs; devices on it placed under %04x:%02x:"
                              "%02x.%u, whose bus range holds it",
                              d->dom, d->bus, im->dev[best].dom,
                              im->dev[best].bus, im->dev[best].dev,
                              im->dev[best].fn);
            if (best < 0 && d->bus != 0 &&
                (best = parent_by_address(im, i)) >= 0 && rc == BS_OK)
                rc = imp_note(im, "bus %04x:%02x: no bridge in the inputs "
                              "names it; placed under %04x:%02x:%02x.%u, "
                              "whose window holds its addresses", d->dom,
                              d->bus, im->dev[best].dom, im->dev[best].bus,
                              im->dev[best].dev, im->dev[best].fn);
            if (best < 0 && d->bus != 0) {
                /* No bus ranges at all (failure-only excerpts): the nearest
                 * bridge on a lower bus whose range is unknown is the best
                 * guess, as buses are numbered depth first. */
                best = d->bus < 256 ? guess[d->bus] : -1;
                if (rc == BS_OK && best >= 0)
                    rc = imp_note(im, "bus %04x:%02x: no bridge in the inputs "
                                  "names it; guessed to be behind %04x:%02x:"
                                  "%02x.%u", d->dom, d->bus, im->dev[best].dom,
                                  im->dev[best].bus, im->dev[best].dev,
                                  im->dev[best].fn);
                else if (rc == BS_OK)
                    rc = imp_note(im, "bus %04x:%02x: no bridge in the inputs "
                                  "leads to it; placed under the host bridge",
                                  d->dom, d->bus);
            }
            d->parent = best;
        }
    }
    if (rc) {
        free(idx);
        return rc;
    }
    /* Contradictory bus ranges could make a loop: cut each loop where the
     * walk from the first function leading into it closes it.  Every
     * function is walked once: idx[] now holds 0 unknown, the walk's
     * stamp while on the current path, -1 once its chain is known to end
     * at the host bridge. */
    for (int i = 0; i < im->ndev; i++)
        idx[i] = 0;
    for (int i = 0; i < im->ndev && rc == BS_OK; i++) {
        int p = i;
        while (p >= 0 && idx[p] == 0) {
            idx[p] = i + 1;
            p = im->dev[p].parent;
        }
        if (p >= 0 && idx[p] == i + 1) {
            /* p closes a loop of this walk: it goes under the host bridge. */
            im->dev[p].parent = -1;
            rc = imp_note(im, "%04x:%02x:%02x.%u: bus ranges contradict "
                          "each other; placed under the host bridge",
                          im->dev[p].dom, im->dev[p].bus, im->dev[p].dev,
                          im->dev[p].fn);
        }
        for (p = i; p >= 0 && idx[p] == i + 1; p = im->dev[p].parent)
            idx[p] = -1;
    }
    free(idx);
    return rc;
}

static int cmp_dev(const void *a, const void *b)
{
    const struct imp_dev *x = a, *y = b;
    uint64_t kx = ((uint64_t)x->dom << 24) | (x->bus << 16) | (x->dev << 8) | x->fn;
    uint64_t ky = ((uint64_t)y->dom << 24) | (y->bus << 16) | (y->dev << 8) | y->fn;
    return kx < ky ? -1 : kx > ky;
}

static int cmp_win(const void *a, const void *b)
{
    const struct imp_win *x = a, *y = b;
    if ((x->flags & BS_RF_IO) != (y->flags & BS_RF_IO))
        return (x->flags & BS_RF_IO) ? 1 : -1;
    return x->base < y->base ? -1 : x->base > y->base;
}

static int add_root_windows(bs_import *im, bs_topo *t)
{
    if (im->nwin > 1)
        qsort(im->win, (size_t)im->nwin, sizeof *im->win, cmp_win);
    for (int i = 0; i < im->nwin; i++) {
        const struct imp_win *w = &im->win[i];
        char a[24];
        /* Legacy VGA and option-ROM ranges below 1 MiB are root windows to
         * the kernel, but it never places BARs there. */
        if (!(w->flags & BS_RF_IO) && bs_last(w->base, w->size) < BS_MIB) {
            int rc = imp_note(im, "root window [mem 0x%llx-0x%llx] below 1 MiB "
                              "(legacy) left out", (unsigned long long)w->base,
                              (unsigned long long)bs_last(w->base, w->size));
            if (rc)
                return rc;
            continue;
        }
        if ((w->flags & BS_RF_IO) &&
            bs_last(w->base - w->offset, w->size) > 0xffff) {
            /* Logical port numbers past 64K with no bus address given. */
            int rc = imp_note(im, "root window [io 0x%llx-0x%llx] (%s) ends "
                              "above 0xffff on the bus; left out",
                              (unsigned long long)w->base,
                              (unsigned long long)bs_last(w->base, w->size),
                              w->src);
            if (rc)
                return rc;
            continue;
        }
        int rc = bs_topo_add_window(t, w->flags, w->base, w->size);
        if (rc == BS_ENOMEM)
            return rc;
        if (rc >= 0 && w->offset &&
            bs_topo_set_window_bus(t, rc, w->base - w->offset) != BS_OK) {
            t->nwin--; /* a bus range no bus can have */
            rc = BS_EINVAL;
        }
        if (rc < 0) {
            rc = imp_note(im, "root window [%s 0x%llx+%s] (%s) overlaps "
                          "another or exceeds the limit; left out",
                          (w->flags & BS_RF_IO) ? "io" : "mem",
                          (unsigned long long)w->base,
                          bs_fmt_size(w->size, a, sizeof a), w->src);
            if (rc)
                return rc;
        }
    }
    return BS_OK;
}

static int set_resources(bs_import *im, bs_topo *t, struct imp_dev *d)
{
    char nm[32];
    bdf_name(d, nm, sizeof nm);
    struct bs_node *n = &t->nodes[d->node];
    for (int k = 0; k < BS_SLOT_WIN_IO; k++) {
        struct imp_res *r = &d->res[k];
        if (!r->present)
            continue;
        bool dup = false;
        for (int j = 0; j < BS_SLOT_WIN_IO && r->loose; j++)
            dup |= j != k && d->res[j].present && !d->res[j].loose &&
                   d->res[j].has_addr && d->res[j].addr == r->addr;
        if (dup)
            continue;
        if (!r->size) {
            if (r->failed) {
                int rc = imp_note(im, "%s %s: failure reported without a size; "
                                  "left out", nm, bs_slot_name(k));
                if (rc)
                    return rc;
            }
            continue;
        }
        /* A type 1 header has BAR0 and BAR1 only, and no SR-IOV. */
        if (d->kind == BS_NODE_BRIDGE &&
            ((k > 1 && k != BS_SLOT_ROM) ||
             (k == 1 && (r->flags & BS_RF_MEM64)))) {
            int rc = imp_note(im, "%s %s: a bridge has BAR0 and BAR1 only "
                              "(32-bit, or one 64-bit BAR0); left out (input "
                              "line %d)", nm, bs_slot_name(k), r->line);
            if (rc)
                return rc;
            continue;
        }
        if (n->res[k].flags & BS_RF_UPPER) {
            int rc = imp_note(im, "%s %s: reported, but it is the upper half "
                              "of 64-bit %s; left out", nm, bs_slot_name(k),
                              bs_slot_name(k - 1));
            if (rc)
                return rc;
            continue;
        }
        bool vf = k >= BS_SLOT_VF0;
        uint64_t one = r->size;
        if (vf) {
            if (!d->num_vfs || r->size % d->num_vfs) {
                int rc = imp_note(im, "%s %s: number of VFs unknown; left out",
                                  nm, bs_slot_name(k));
                if (rc)
                    return rc;
                continue;
            }
            one = r->size / d->num_vfs;
        }
        unsigned fl = r->flags & (BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF);
        int idx = vf ? k - BS_SLOT_VF0 : k;
        if ((fl & BS_RF_MEM64) &&
            (k == BS_SLOT_ROM || idx == 5 || d->res[k + 1].present)) {
            fl &= ~(unsigned)BS_RF_MEM64;
            int rc = imp_note(im, "%s %s: 64-bit flag dropped (no room for "
                              "the upper half)", nm, bs_slot_name(k));
            if (rc)
                return rc;
        }
        /* VF BARs firmware left are written where they are (at=), not
         * fixed: the linux model sizes a bridge window without the VF
         * regions (optional extras) and so cannot fit one around fixed
         * ones. */
        bool fixed = !vf && r->has_fw && !r->fw_rejected && !r->failed &&
                     (!r->has_addr || r->addr == r->fw) && one &&
                     bs_is_pow2(one) && !(r->fw & (one - 1));
        int rc = bs_topo_set_bar(t, d->node, k, fl | (fixed ? BS_RF_FIXED : 0),
                                 one, fixed ? r->fw : 0);
        n = &t->nodes[d->node];
        if (rc == BS_ENOMEM)
            return rc;
        if (rc < 0) {
            char s[24];
            rc = imp_note(im, "%s %s: size %s is not a power of two or does "
                          "not fit the slot; left out", nm, bs_slot_name(k),
                          bs_fmt_size(one, s, sizeof s));
            if (rc)
                return rc;
            continue;
        }
        struct bs_res *br = &n->res[k];
        br->rebar = idx < 6 && !vf ? d->rebar[idx] : 0;
        if (r->failed) {
            br->flags |= BS_RF_FAILED;
            continue;
        }
        if (r->has_addr && !fixed) {
            if (r->addr & (one - 1)) {
                rc = imp_note(im, "%s %s: address 0x%llx not aligned to its "
                              "size; left unassigned", nm, bs_slot_name(k),
                              (unsigned long long)r->addr);
                if (rc)
                    return rc;
                continue;
            }
            bs_res_assign(t, d->node, k, r->addr, br->win);
        }
        if (r->kassigned)
            im->st.kernel_assigned++;
    }
    if (d->kind != BS_NODE_BRIDGE)
        return BS_OK;
    for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++) {
        struct imp_res *r = &d->res[k];
        if (!r->present || !r->size)
            continue;
        struct bs_res *br = &n->res[k];
        memset(br, 0, sizeof *br);
        br->win = BS_WIN_NONE;
        br->size = br->want = r->size;
        br->align = k == BS_SLOT_WIN_IO ? 4096 : BS_MIB;
        if (br->size < br->align)
            br->align = bs_is_pow2(br->size) ? br->size : 1;
        br->flags = k == BS_SLOT_WIN_IO ? BS_RF_IO
                    : k == BS_SLOT_WIN_PREF ? BS_RF_PREF : 0;
        if (k == BS_SLOT_WIN_PREF) {
            if ((r->flags & BS_RF_MEM64) ||
                (r->has_addr && bs_last(r->addr, r->size) >
                                    bs_low_limit(t, r->addr, 0)))
                br->flags |= BS_RF_MEM64;
            else if (d->pref32)
                n->flags |= BS_NF_PREF32;
        }
        if (r->failed) {
            br->flags |= BS_RF_FAILED;
            continue;
        }
        if (r->has_addr && bs_last(r->addr, r->size) < r->addr) {
            /* Inputs that disagree (two resource files for one bridge, a
             * log and a dump of different boots) can pair an address with
             * a size that runs past 2^64: no such window exists. */
            int rc = imp_note(im, "%s %s: 0x%llx + 0x%llx runs past 2^64; "
                              "the window is sized afresh", nm,
                              bs_slot_name(k), (unsigned long long)r->addr,
                              (unsigned long long)r->size);
            if (rc)
                return rc;
            br->size = 0;
            continue;
        }
        if (!r->has_addr) {
            br->size = 0; /* the kernel sizes it afresh */
            continue;
        }
        /* A window firmware programmed and the kernel kept is fixed, as
         * Linux claims it; what-if runs (diagnose) unfix everything. */
        bs_res_assign(t, d->node, k, r->addr, br->win);
        if (r->has_fw && !r->fw_rejected && r->fw == r->addr) {
            br->flags |= BS_RF_FIXED;
            br->fixed = r->fw;
        }
        if (r->kassigned)
            im->st.kernel_assigned++;
    }
    return BS_OK;
}

static bool inside(uint64_t a, uint64_t n, uint64_t base, uint64_t size)
{
    return a >= base && bs_last(a, n) <= bs_last(base, size);
}

/* Record where each assigned resource sits (a root window index or the
 * parent's window slot), as bs_assign would. */
static void set_placements(bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++) {
        struct bs_node *nd = &t->nodes[n];
        for (int k = 0; k < BS_NSLOTS; k++) {
            struct bs_res *r = &nd->res[k];
            if (!(r->flags & BS_RF_ASSIGNED) || !r->size)
                continue;
            uint32_t f = bs_slot_is_window(k) ? bs_window_flags(t, n, k)
                                              : r->flags;
            r->win = BS_WIN_NONE;
            if (nd->parent == 0) {
                for (int i = 0; i < t->nwin && r->win == BS_WIN_NONE; i++)
                    if (!((t->win[i].flags ^ f) & BS_RF_IO) &&
                        inside(r->addr, r->size, t->win[i].base,
                               t->win[i].size))
                        r->win = i;
                continue;
            }
            const struct bs_node *p = &t->nodes[nd->parent];
            int cand[2] = {bs_bridge_slot_for(p, f), BS_SLOT_WIN_MEM};
            for (int c = 0; c < 2 && r->win == BS_WIN_NONE; c++) {
                const struct bs_res *w = &p->res[cand[c]];
                if ((w->flags & BS_RF_ASSIGNED) && w->size &&
                    !((w->flags ^ f) & BS_RF_IO) &&
                    inside(r->addr, r->size, w->addr, w->size))
                    r->win = cand[c];
            }
        }
    }
}

/* A bridge with nothing below it whose window failed was asking for a
 * hot-plug reserve (Thunderbolt and PCIe slots): say so in the model. */
/* Does anything below bridge b ask for I/O (io) or memory (!io) space? */
static bool subtree_wants(const bs_topo *t, int b, bool io)
{
    BS_FOR_CHILDREN(t, b, c) {
        const struct bs_node *n = &t->nodes[c];
        for (int k = 0; k < BS_SLOT_WIN_IO; k++)
            if (n->res[k].size && !(n->res[k].flags & BS_RF_UPPER) &&
                !!(n->res[k].flags & BS_RF_IO) == io)
                return true;
        if (n->kind == BS_NODE_BRIDGE && subtree_wants(t, c, io))
            return true;
    }
    return false;
}

/* Linux opens an I/O or memory window on a bridge only for what is below
 * it, or as a hot-plug reserve: a window with nothing to forward marks a
 * hot-plug bridge (QEMU root ports under ACPI hot-plug print no pciehp
 * line). */
/* Bytes of I/O what is below bridge b asks for, each on its granule as
 * the kernel sizes it (pbus_size_io: 4 KiB windows). */
static uint64_t io_below(const bs_topo *t, int b)
{
    uint64_t sum = 0;
    BS_FOR_CHILDREN(t, b, c) {
        const struct bs_node *n = &t->nodes[c];
        for (int k = 0; k < BS_SLOT_WIN_IO; k++)
            if (n->res[k].size && (n->res[k].flags & BS_RF_IO))
                sum += n->res[k].size;
        if (n->kind == BS_NODE_BRIDGE)
            sum += n->res[BS_SLOT_WIN_IO].size;
    }
    return bs_align_up(sum, 4096);
}

static int mark_reserve_windows(bs_import *im, bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++) {
        /* A kernel-sized I/O window larger than all below it needs holds
         * a hot-plug reserve (pci=realloc logs print no add_size). */
        struct bs_node *b = &t->nodes[n];
        const struct bs_res *w = &b->res[BS_SLOT_WIN_IO];
        if (b->kind == BS_NODE_BRIDGE && !(b->flags & BS_NF_HOTPLUG) &&
            b->first_child >= 0 && (w->flags & BS_RF_ASSIGNED) &&
            !(w->flags & BS_RF_FIXED) && w->size > io_below(t, n)) {
            b->flags |= BS_NF_HOTPLUG;
            int rc = imp_note(im, "%s: its I/O window is larger than what "
                              "is below it needs: taken as a hot-plug bridge",
                              b->name);
            if (rc)
                return rc;
        }
    }
    for (int n = 1; n < t->nnodes; n++) {
        struct bs_node *nd = &t->nodes[n];
        if (nd->kind != BS_NODE_BRIDGE || (nd->flags & BS_NF_HOTPLUG) ||
            nd->first_child < 0)
            continue;
        /* Windows of bridges below are forwarded too: leaf bridges only. */
        bool leaf = true;
        BS_FOR_CHILDREN(t, n, c)
            leaf &= t->nodes[c].kind != BS_NODE_BRIDGE;
        if (!leaf)
            continue;
        bool io = (nd->res[BS_SLOT_WIN_IO].flags &
                   (BS_RF_ASSIGNED | BS_RF_FAILED)) && !subtree_wants(t, n, true);
        bool mem = (nd->res[BS_SLOT_WIN_MEM].flags &
                    (BS_RF_ASSIGNED | BS_RF_FAILED)) && !subtree_wants(t, n, false);
        if (!io && !mem)
            continue;
        nd->flags |= BS_NF_HOTPLUG;
        int rc = imp_note(im, "%s: its %s window forwards nothing below it: "
                          "taken as a hot-plug bridge", nd->name,
                          io ? "I/O" : "memory");
        if (rc)
            return rc;
    }
    return BS_OK;
}

static int mark_empty_hotplug(bs_import *im, bs_topo *t)
{
    for (int n = 1; n < t->nnodes; n++) {
        struct bs_node *nd = &t->nodes[n];
        if (nd->kind != BS_NODE_BRIDGE || nd->first_child >= 0)
            continue;
        /* What an empty bridge's windows span (or failed to get) is its
         * hot-plug reserve. */
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
            if (nd->res[k].size &&
                (nd->res[k].flags & (BS_RF_ASSIGNED | BS_RF_FAILED)))
                nd->reserve[k - BS_SLOT_WIN_IO] = nd->res[k].size;
        if (nd->flags & BS_NF_HOTPLUG)
            continue;
        /* Linux sizes an empty bridge's windows only for hot-plug: one
         * the kernel opened itself (pci=realloc prints no add_size) or
         * failed to open marks it. */
        for (int k = BS_SLOT_WIN_IO; k <= BS_SLOT_WIN_PREF; k++)
            if ((nd->res[k].flags & BS_RF_FAILED) ||
                ((nd->res[k].flags & BS_RF_ASSIGNED) && nd->res[k].size &&
                 !(nd->res[k].flags & BS_RF_FIXED))) {
                nd->flags |= BS_NF_HOTPLUG;
                int rc = imp_note(im, "%s: nothing below it, yet its %s "
                                  "was sized: taken as a hot-plug bridge",
                                  nd->name, bs_slot_name(k));
                if (rc)
                    return rc;
                break;
            }
    }
    return BS_OK;
}

static int record_failures(bs_import *im, bs_topo *t, struct imp_dev *d)
{
    for (int k = 0; k < BS_NSLOTS; k++) {
        const struct imp_res *r = &d->res[k];
        const struct bs_res *br = &t->nodes[d->node].res[k];
        if (!r->failed || !(br->flags & BS_RF_FAILED))
            continue;
        int pn = t->nodes[d->node].parent;
        int win = pn > 0 ? bs_bridge_slot_for(&t->nodes[pn], br->flags)
                         : BS_WIN_NONE;
        if (!bs_failure_add(t, d->node, k, pn, win, 0, "kernel: %s",
                            r->fail_msg[0] ? r->fail_msg : "could not assign"))
            return BS_ENOMEM;
        im->st.kernel_failures++;
    }
    return BS_OK;
}

int bs_import_build(bs_import *im, bs_topo **out, bs_error *err)
{
    *out = NULL;
    if (im->ndev == 0) {
        bs_seterr(err, BS_EPARSE, "", 0, 0,
                  "the inputs hold no PCI devices (no enumeration, no BARs, "
                  "no assignment messages)");
        return BS_EPARSE;
    }
    im->st.kernel_failures = im->st.kernel_assigned = 0;
    int rc = imp_settle_windows(im);
    if (rc == BS_OK)
        rc = place_bus_windows(im);
    if (rc == BS_OK)
        rc = resolve_parents(im);
    if (rc)
        goto nomem;
    /* Parents first: nodes are created in bus-address order, repeatedly,
     * each once its parent exists. */
    bs_topo *t = bs_topo_new(im->name[0] ? im->name : "imported");
    if (!t)
        goto nomem;
    /* Sorting moves entries: map parent indexes through BDF keys. */
    for (int i = 0; i < im->ndev; i++)
        im->dev[i].node = i; /* remember original index */
    qsort(im->dev, (size_t)im->ndev, sizeof *im->dev, cmp_dev);
    int *pos = malloc(sizeof *pos * (size_t)im->ndev);
    if (!pos) {
        bs_topo_free(t);
        goto nomem;
    }
    for (int i = 0; i < im->ndev; i++)
        pos[im->dev[i].node] = i;
    for (int i = 0; i < im->ndev; i++) {
        if (im->dev[i].parent >= 0)
            im->dev[i].parent = pos[im->dev[i].parent];
        im->dev[i].node = -1;
    }
    free(pos);
    if (!hash_rebuild(im)) {
        bs_topo_free(t);
        goto nomem;
    }
    rc = add_root_windows(im, t);
    int made = 0;
    while (rc == BS_OK && made < im->ndev) {
        int before = made;
        for (int i = 0; i < im->ndev && rc == BS_OK; i++) {
            struct imp_dev *d = &im->dev[i];
            if (d->node >= 0)
                continue;
            int pnode = d->parent < 0 ? 0 : im->dev[d->parent].node;
            if (pnode < 0)
                continue;
            char nm[32];
            bdf_name(d, nm, sizeof nm);
            int id = bs_topo_add_node(t, pnode, d->kind, nm);
            if (id == BS_ELIMIT && t->nodes[pnode].depth + 1 > BS_MAX_DEPTH) {
                bs_seterr(err, id, "", 0, 0, "%s: bridges nested deeper than "
                          "%d levels: the topology limit", nm, BS_MAX_DEPTH);
                bs_topo_free(t);
                return id;
            }
            if (id < 0) {
                rc = id;
                break;
            }
            d->node = id;
            struct bs_node *n = &t->nodes[id];
            if (d->dev < IMP_SYNTH_DEV) {
                n->slot = (int)d->dev;
                n->fn = (int)d->fn;
            }
            if (d->kind == BS_NODE_BRIDGE && (d->hotplug || d->add_size))
                n->flags |= BS_NF_HOTPLUG;
            if (d->has_id)
                snprintf(n->model, sizeof n->model, "%04x:%04x", d->vendor,
                         d->device);
            if (d->num_vfs > BS_MAX_VFS) {
                /* PCIe's NumVFs is 16 bits: a larger count is a garbled
                 * line, and its VF BARs cannot be sized from it. */
                rc = imp_note(im, "%s: VF count %u is beyond %u; its VF BARs "
                              "are left out", nm, d->num_vfs, BS_MAX_VFS);
                d->num_vfs = 0;
                if (rc)
                    break;
            }
            n->num_vfs = d->num_vfs;
            rc = set_resources(im, t, d);
            if (rc == BS_OK)
                rc = record_failures(im, t, d);
            made++;
        }
        if (made == before)
            break;
    }
    if (rc == BS_ENOMEM) {
        bs_topo_free(t);
        goto nomem;
    }
    if (rc < 0) {
        bs_seterr(err, rc, "", 0, 0, "cannot build the topology: %s",
                  bs_strerror(rc));
        bs_topo_free(t);
        return rc;
    }
    /* An optional extra on a bridge with bridges below may be theirs:
     * such a bridge is hot-plug itself only if its add_size exceeds the
     * sum of its child bridges' (pbus_size_* add their extras up). */
    int *devof = malloc(sizeof *devof * (size_t)t->nnodes);
    if (!devof) {
        bs_topo_free(t);
        goto nomem;
    }
    for (int i = 0; i < t->nnodes; i++)
        devof[i] = -1;
    for (int i = 0; i < im->ndev; i++)
        if (im->dev[i].node >= 0)
            devof[im->dev[i].node] = i;
    for (int i = 0; i < im->ndev; i++) {
        const struct imp_dev *d = &im->dev[i];
        if (d->node < 0 || d->hotplug || !d->add_size)
            continue;
        bool below = false, own = false;
        for (int k = 0; k < 3; k++) {
            uint64_t sum = 0;
            BS_FOR_CHILDREN(t, d->node, c)
                if (t->nodes[c].kind == BS_NODE_BRIDGE) {
                    below = true;
                    if (devof[c] >= 0)
                        sum += im->dev[devof[c]].add[k];
                }
            own |= d->add[k] > sum;
        }
        if (below && !own)
            t->nodes[d->node].flags &= ~(uint32_t)BS_NF_HOTPLUG;
    }
    free(devof);
    rc = imp_derive_windows(im, t);
    if (rc == BS_OK)
        rc = imp_settle_check(im, t);
    if (rc) {
        bs_topo_free(t);
        goto nomem;
    }
    set_placements(t);
    rc = mark_empty_hotplug(im, t);
    if (rc == BS_OK)
        rc = mark_reserve_windows(im, t);
    if (rc) {
        bs_topo_free(t);
        goto nomem;
    }
    im->st.devices = im->ndev;
    im->st.bridges = 0;
    for (int i = 0; i < im->ndev; i++)
        im->st.bridges += im->dev[i].kind == BS_NODE_BRIDGE;
    im->st.root_windows = t->nwin;
    if (t->nwin == 0)
        rc = imp_note(im, "no root bus resources (host bridge windows) in "
                      "these inputs: %s", im->st.kernel_failures
                      ? "failures only; where they should have gone is unknown"
                      : "the tree and addresses only");
    if (rc) {
        bs_topo_free(t);
        goto nomem;
    }
    *out = t;
    return BS_OK;
nomem:
    bs_seterr(err, BS_ENOMEM, "", 0, 0, "out of memory");
    return BS_ENOMEM;
}

int bs_import_paths(const char *const *paths, int n, bs_topo **out,
                    bs_error *err)
{
    *out = NULL;
    bs_import *im = bs_import_new();
    if (!im)
        return BS_ENOMEM;
    int rc = BS_OK;
    for (int i = 0; i < n && rc == BS_OK; i++)
        rc = bs_import_add_path(im, paths[i], BS_IMPORT_AUTO, err);
    if (rc == BS_OK)
        rc = bs_import_build(im, out, err);
    bs_import_free(im);
    return rc;
}
