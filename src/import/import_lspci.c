/*
 * lspci importer: `lspci -vvv`, `-vvvnn`, `-D`, with or without the hex
 * dumps of `-xxx` / `-xxxx` (which may also come alone).
 *
 * From the text: Region lines (address, 32/64-bit, prefetchable, size),
 * Expansion ROM, bridge bus numbers and the three "behind bridge" windows,
 * SltCap HotPlug+, SR-IOV VF regions and Total VFs, Resizable BAR sizes.
 * From a hex dump: header type, bridge bus numbers and windows, IDs, and the
 * Resizable BAR capability (supported sizes, current size).  A hex dump does
 * not hold BAR sizes (they are found by writing the BAR), so BARs known only
 * from hex are left out with a note.
 */
#include "import/import_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lctx {
    bs_import *im;
    const char *file;
    bs_error *err;
    struct imp_dev *d;     /* current function */
    bool in_sriov;         /* inside the SR-IOV capability block */
    bool in_rebar;
    unsigned char cfg[4096];
    int cfg_max;           /* highest config byte seen + 1 */
    bool hex_bars[6];      /* BAR address in hex, no size */
    int facts;
};

static bool parse_size(const char *s, uint64_t *v)
{
    char *e;
    unsigned long long x = strtoull(s, &e, 10);
    if (e == s)
        return false;
    int sh = 0;
    if (*e == 'K')
        sh = 10;
    else if (*e == 'M')
        sh = 20;
    else if (*e == 'G')
        sh = 30;
    else if (*e == 'T')
        sh = 40;
    if (sh && (x >> (64 - sh)))
        return false;
    *v = (uint64_t)x << sh;
    return true;
}

static int perr(struct lctx *c, int line, int col, const char *msg)
{
    bs_seterr(c->err, BS_EPARSE, c->file, line, col, "%s", msg);
    return BS_EPARSE;
}

/* Turn the hex dump of the finished function into facts. */
static int flush_hex(struct lctx *c)
{
    struct imp_dev *d = c->d;
    if (!d || c->cfg_max < 0x40) {
        c->cfg_max = 0;
        return BS_OK;
    }
    const unsigned char *g = c->cfg;
#define W16(o) ((unsigned)g[o] | (unsigned)g[(o) + 1] << 8)
#define W32(o) ((uint32_t)W16(o) | (uint32_t)W16((o) + 2) << 16)
    if (!d->has_id) {
        d->vendor = (uint16_t)W16(0);
        d->device = (uint16_t)W16(2);
        d->has_id = true;
        if (imp_qemu_vendor(d->vendor))
            c->im->qemu = true;
    }
    unsigned ht = g[0x0e] & 0x7f;
    if (ht == 1 || ht == 2)
        d->kind = BS_NODE_BRIDGE;
    else if (d->kind == IMP_KIND_UNKNOWN)
        d->kind = BS_NODE_DEVICE;
    if (ht == 1) {
        if (d->sec < 0) {
            d->sec = g[0x19];
            d->sub = g[0x1a];
        }
        struct imp_res *r = &d->res[BS_SLOT_WIN_IO];
        uint32_t iob = (uint32_t)(g[0x1c] & 0xf0) << 8, iol = ((uint32_t)(g[0x1d] & 0xf0) << 8) | 0xfff;
        if ((g[0x1c] & 0xf) == 1) {
            iob |= (uint32_t)W16(0x30) << 16;
            iol |= (uint32_t)W16(0x32) << 16;
        }
        if (!r->present && iol > iob && iob) {
            r->present = r->has_addr = r->has_fw = true;
            r->flags = BS_RF_IO;
            r->addr = r->fw = iob;
            r->size = (uint64_t)iol - iob + 1;
        }
        r = &d->res[BS_SLOT_WIN_MEM];
        uint32_t mb = (uint32_t)(W16(0x20) & 0xfff0) << 16;
        uint32_t ml = ((uint32_t)(W16(0x22) & 0xfff0) << 16) | 0xfffff;
        if (!r->present && ml > mb && mb) {
            r->present = r->has_addr = r->has_fw = true;
            r->flags = 0;
            r->addr = r->fw = mb;
            r->size = (uint64_t)ml - mb + 1;
        }
        r = &d->res[BS_SLOT_WIN_PREF];
        uint64_t pb = (uint64_t)(W16(0x24) & 0xfff0) << 16;
        uint64_t pl = ((uint64_t)(W16(0x26) & 0xfff0) << 16) | 0xfffff;
        bool p64 = (g[0x24] & 0xf) == 1;
        if (p64) {
            pb |= (uint64_t)W32(0x28) << 32;
            pl |= (uint64_t)W32(0x2c) << 32;
        }
        if (!r->present && pl > pb && pb) {
            r->present = r->has_addr = r->has_fw = true;
            r->flags = BS_RF_PREF | (p64 ? BS_RF_MEM64 : 0);
            r->addr = r->fw = pb;
            r->size = pl - pb + 1;
        }
        if (!p64)
            d->pref32 = true;
    }
    /* Resizable BAR (extended capability 0x15): supported sizes and the
     * current one, which is the BAR's size. */
    if (c->cfg_max >= 0x104) {
        unsigned off = 0x100;
        for (int guard = 0; off >= 0x100 && off + 8 <= 4096 &&
                            (int)off + 8 <= c->cfg_max && guard < 64;
             guard++) {
            uint32_t hdr = W32(off);
            if ((hdr & 0xffff) == 0x15) {
                int nbar = (W32(off + 8) >> 5) & 7;
                for (int i = 0; i < nbar && (int)off + 12 + 8 * i <= c->cfg_max; i++) {
                    uint32_t cap = W32(off + 4 + 8 * i);
                    uint32_t ctl = W32(off + 8 + 8 * i);
                    int bar = ctl & 7;
                    if (bar > 5)
                        continue;
                    d->rebar[bar] = (uint64_t)((cap >> 4) & 0xfffff);
                    unsigned cur = (ctl >> 8) & 0x3f;
                    struct imp_res *r = &d->res[bar];
                    if (cur < 44 && (!r->present || !r->size)) {
                        r->present = true;
                        r->size = BS_MIB << cur;
                    }
                }
            }
            off = hdr >> 20;
            if (!off)
                break;
        }
    }
    for (int i = 0; i < 6; i++)
        if (c->hex_bars[i] && !d->res[i].size) {
            char nm[24];
            snprintf(nm, sizeof nm, "%04x:%02x:%02x.%u", d->dom, d->bus, d->dev,
                     d->fn);
            int rc = imp_note(c->im, "%s BAR%d: only in the hex dump, whose "
                              "BAR sizes are unknown (add -vvv); left out",
                              nm, i);
            if (rc)
                return rc;
            d->res[i].present = false;
        }
#undef W16
#undef W32
    c->cfg_max = 0;
    return BS_OK;
}

/* "Region 0: Memory at fd000000 (32-bit, prefetchable) [size=16M]" */
static int region(struct lctx *c, int line, const char *s, int slot)
{
    struct imp_res *r = &c->d->res[slot];
    const char *at = strstr(s, " at ");
    if (!at)
        return perr(c, line, 1, "expected 'at <address>' in a Region line");
    at += 4;
    bool io = strstr(s, "I/O ports") != NULL;
    r->present = true;
    r->line = line;
    r->flags = io ? BS_RF_IO : 0;
    if (!io && strstr(s, "64-bit"))
        r->flags |= BS_RF_MEM64;
    if (!io && strstr(s, "prefetchable") && !strstr(s, "non-prefetchable"))
        r->flags |= BS_RF_PREF;
    if (*at != '<') {
        char *e;
        unsigned long long a = strtoull(at, &e, 16);
        if (e == at)
            return perr(c, line, (int)(at - s) + 1,
                        "expected a hexadecimal address");
        if (a) {
            r->has_addr = r->has_fw = true;
            r->addr = r->fw = a;
        }
    }
    const char *sz = strstr(s, "[size=");
    if (sz && !parse_size(sz + 6, &r->size))
        return perr(c, line, (int)(sz - s) + 7, "expected a size like 16M");
    if (strstr(s, "[virtual]") && !r->size)
        r->present = false;
    c->facts++;
    return BS_OK;
}

/* "Memory behind bridge: fe800000-fe9fffff [size=2M] [32-bit]" */
static int behind(struct lctx *c, int line, const char *s, int slot)
{
    struct imp_res *r = &c->d->res[slot];
    c->d->kind = BS_NODE_BRIDGE;
    const char *p = strchr(s, ':');
    if (!p)
        return BS_OK;
    p++;
    while (*p == ' ')
        p++;
    if (*p == '[' || !strncmp(p, "None", 4)) /* "[disabled]", "None" */
        return BS_OK;
    char *e;
    unsigned long long a = strtoull(p, &e, 16);
    if (e == p || *e != '-')
        return perr(c, line, (int)(p - s) + 1, "expected 'base-limit'");
    const char *q = e + 1;
    unsigned long long b = strtoull(q, &e, 16);
    if (e == q || b < a)
        return perr(c, line, (int)(q - s) + 1, "expected 'base-limit'");
    r->present = r->has_addr = r->has_fw = true;
    r->addr = r->fw = a;
    r->size = b - a + 1;
    r->flags = slot == BS_SLOT_WIN_IO ? BS_RF_IO
               : slot == BS_SLOT_WIN_PREF ? BS_RF_PREF : 0;
    if (slot == BS_SLOT_WIN_PREF) {
        if (strstr(s, "[64-bit]") || q - p > 12 || b >= BS_4G)
            r->flags |= BS_RF_MEM64;
        else if (strstr(s, "[32-bit]"))
            c->d->pref32 = true;
    }
    c->facts++;
    return BS_OK;
}

static int hexline(struct lctx *c, int line, const char *s)
{
    unsigned off;
    int n = 0;
    if (sscanf(s, "%x:%n", &off, &n) != 1 || off >= 4096 || off % 16)
        return perr(c, line, 1, "expected 'OFF: xx xx ...' in a hex dump");
    const char *p = s + n;
    for (int i = 0; i < 16; i++) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
            return perr(c, line, (int)(p - s) + 1, "expected a hex byte");
        unsigned v;
        sscanf(p, "%2x", &v);
        c->cfg[off + (unsigned)i] = (unsigned char)v;
        if ((int)(off + (unsigned)i) + 1 > c->cfg_max)
            c->cfg_max = (int)(off + (unsigned)i) + 1;
        p += 2;
    }
    /* BAR registers with an address: remember for the size check. */
    if (off <= 0x20 && c->d && c->cfg_max >= 0x28)
        for (int i = 0; i < 6; i++) {
            unsigned o = 0x10 + 4u * (unsigned)i;
            uint32_t v = (uint32_t)c->cfg[o] | (uint32_t)c->cfg[o + 1] << 8 |
                         (uint32_t)c->cfg[o + 2] << 16 |
                         (uint32_t)c->cfg[o + 3] << 24;
            if ((v & ~0xfu) && !c->d->res[i].present && (c->cfg[0x0e] & 0x7f) == 0)
                c->hex_bars[i] = true;
        }
    return BS_OK;
}

static int line_fn(const char *s0, size_t n, int lineno, void *vctx)
{
    struct lctx *c = vctx;
    char buf[1024];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s0, n);
    buf[n] = 0;
    c->im->st.lines++;
    const char *s = buf;
    if (!*s)
        return 0;
    unsigned dom, bus, dev, fn;
    const char *e;
    if (!isspace((unsigned char)s[0]) &&
        imp_parse_bdf(s, &dom, &bus, &dev, &fn, &e) && *e == ' ') {
        int rc = flush_hex(c);
        if (rc)
            return rc;
        c->d = imp_dev_get(c->im, dom, bus, dev, fn);
        if (!c->d)
            return BS_ENOMEM;
        c->in_sriov = c->in_rebar = false;
        memset(c->hex_bars, 0, sizeof c->hex_bars);
        memset(c->cfg, 0, sizeof c->cfg);
        if (strstr(e, "PCI bridge") || strstr(e, "CardBus bridge") ||
            strstr(e, "[0604]") || strstr(e, "[0607]"))
            c->d->kind = BS_NODE_BRIDGE;
        else if (c->d->kind == IMP_KIND_UNKNOWN)
            c->d->kind = BS_NODE_DEVICE;
        /* -nn: "... [8086:29c0] (rev 02)": the last [vvvv:dddd]. */
        for (const char *q = strchr(e, '['); q; q = strchr(q + 1, '[')) {
            unsigned v, dv;
            int used = 0;
            if (sscanf(q, "[%4x:%4x]%n", &v, &dv, &used) == 2 && used == 11) {
                c->d->vendor = (uint16_t)v;
                c->d->device = (uint16_t)dv;
                c->d->has_id = true;
            }
        }
        if (c->d->has_id && imp_qemu_vendor(c->d->vendor))
            c->im->qemu = true;
        if (strstr(e, "QEMU") || strstr(e, "Red Hat, Inc. QEMU"))
            c->im->qemu = true;
        c->facts++;
        c->im->st.pci_lines++;
        return 0;
    }
    if (!c->d)
        return 0; /* preamble */
    /* Hex dump line: "00: 86 80 ..." (at column 0). */
    if (isxdigit((unsigned char)s[0]) && strchr(s, ':') &&
        strchr(s, ':') - s <= 3)
        return hexline(c, lineno, s);
    while (*s == ' ' || *s == '\t')
        s++;
    int rc = 0;
    if (!strncmp(s, "Capabilities:", 13)) {
        c->in_sriov = strstr(s, "SR-IOV") != NULL;
        c->in_rebar = strstr(s, "Resizable BAR") != NULL;
        return 0;
    }
    if (!strncmp(s, "Region ", 7) && isdigit((unsigned char)s[7])) {
        int idx = s[7] - '0';
        if (idx > 5)
            return perr(c, lineno, 8, "Region number above 5");
        rc = region(c, lineno, s, c->in_sriov ? BS_SLOT_VF0 + idx : idx);
        if (!rc && c->in_sriov) {
            /* lspci shows one VF's region; the slot holds all of them. */
            struct imp_res *r = &c->d->res[BS_SLOT_VF0 + idx];
            if (c->d->num_vfs && r->size)
                r->size *= c->d->num_vfs;
            else
                r->present = r->size != 0 && c->d->num_vfs;
        }
    } else if (!strncmp(s, "Expansion ROM at ", 17)) {
        rc = region(c, lineno, s, BS_SLOT_ROM);
        c->d->res[BS_SLOT_ROM].flags = BS_RF_PREF;
    } else if (!strncmp(s, "Bus: primary=", 13)) {
        unsigned p, sec, sub;
        if (sscanf(s, "Bus: primary=%x, secondary=%x, subordinate=%x", &p, &sec,
                   &sub) == 3 && sec <= 255 && sub <= 255) {
            c->d->kind = BS_NODE_BRIDGE;
            c->d->sec = (int)sec;
            c->d->sub = (int)sub;
            c->facts++;
        } else {
            rc = perr(c, lineno, 1, "expected 'Bus: primary=.., secondary=.., "
                      "subordinate=..'");
        }
    } else if (!strncmp(s, "I/O behind bridge:", 18)) {
        rc = behind(c, lineno, s, BS_SLOT_WIN_IO);
    } else if (!strncmp(s, "Memory behind bridge:", 21)) {
        rc = behind(c, lineno, s, BS_SLOT_WIN_MEM);
    } else if (!strncmp(s, "Prefetchable memory behind bridge:", 34)) {
        rc = behind(c, lineno, s, BS_SLOT_WIN_PREF);
    } else if (!strncmp(s, "SltCap:", 7) && strstr(s, "HotPlug+")) {
        c->d->hotplug = true;
    } else if (c->in_sriov && strstr(s, "Total VFs:")) {
        unsigned tv;
        if (sscanf(strstr(s, "Total VFs:"), "Total VFs: %u", &tv) == 1)
            c->d->num_vfs = tv;
    } else if (c->in_rebar && !strncmp(s, "BAR ", 4)) {
        /* "BAR 0: current size: 16MB, supported: 16MB 32MB 64MB" */
        int bar = s[4] - '0';
        const char *sup = strstr(s, "supported:");
        if (bar >= 0 && bar <= 5 && sup) {
            uint64_t mask = 0;
            for (const char *q = sup + 10; *q;) {
                while (*q == ' ')
                    q++;
                uint64_t v;
                if (!parse_size(q, &v))
                    break;
                if (v >= BS_MIB && bs_is_pow2(v)) {
                    int b = 0;
                    while ((BS_MIB << b) < v)
                        b++;
                    if (b < 64)
                        mask |= UINT64_C(1) << b;
                }
                while (*q && *q != ' ')
                    q++;
            }
            c->d->rebar[bar] = mask;
        }
    }
    return rc;
}

int imp_parse_lspci(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err)
{
    struct lctx *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    c->im = im;
    c->file = file;
    c->err = err;
    int rc = imp_for_lines(data, len, line_fn, c);
    if (rc == BS_OK)
        rc = flush_hex(c);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, file, 0, 0, "out of memory");
    if (rc == BS_OK && !c->facts) {
        bs_seterr(err, BS_EPARSE, file, 0, 0,
                  "no PCI function in this lspci output (lines start with "
                  "'BB:DD.F ' or 'DDDD:BB:DD.F ')");
        rc = BS_EPARSE;
    }
    if (rc == BS_OK)
        rc = imp_note(im, "%s: lspci shows final addresses only (no failures, "
                      "no host bridge windows: add /proc/iomem or the kernel "
                      "log)", file);
    free(c);
    return rc;
}
