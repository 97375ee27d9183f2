/*
 * /proc/iomem importer.  The file nests ranges by two spaces per level:
 *
 *   80000000-afffffff : PCI Bus 0000:00          host bridge window
 *     80000000-8fffffff : PCI Bus 0000:01        bridge window of bus 01
 *       80000000-8fffffff : 0000:01:00.0         a BAR of that function
 *
 * It names neither BAR numbers nor prefetchability, and holds no I/O ports,
 * so what it adds is marked as a guess (slot order, "pref" for a second
 * window of a bus or anything above 4 GiB) and yields to other inputs.
 */
#include "import/import_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define IOMEM_DEPTH 32

struct frame {
    int indent;
    int bus;          /* "PCI Bus DDDD:BB": the bus, else -1 */
    unsigned dom;
    unsigned flags;   /* of that bus window */
};

struct ictx {
    bs_import *im;
    const char *file;
    bs_error *err;
    struct frame st[IOMEM_DEPTH];
    int sp;
    int facts;
    int zero;         /* ranges read as 0-0 (file read without root) */
    int ranges;
};

static bool hexnum(const char **pp, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    int n = 0;
    while (isxdigit((unsigned char)*p)) {
        if (n == 16)
            return false;
        x = x * 16 + (uint64_t)bs_hexval((unsigned char)*p);
        p++;
        n++;
    }
    if (!n)
        return false;
    *v = x;
    *pp = p;
    return true;
}

/* Count earlier windows of this bus in this input: the second one of a bus
 * below 4 GiB is taken to be the prefetchable window. */
static int bus_windows_seen(const bs_import *im, unsigned dom, unsigned bus)
{
    int n = 0;
    for (int i = 0; i < im->nbw; i++)
        n += im->bw[i].dom == dom && im->bw[i].bus == bus;
    return n;
}

static int line_fn(const char *s, size_t n, int lineno, void *vctx)
{
    struct ictx *c = vctx;
    char buf[512];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *p = buf;
    int indent = 0;
    while (*p == ' ') {
        p++;
        indent++;
    }
    if (!*p)
        return 0;
    uint64_t a, b;
    const char *q = p;
    if (!hexnum(&q, &a) || *q != '-') {
        bs_seterr(c->err, BS_EPARSE, c->file, lineno, (int)(q - buf) + 1,
                  "expected 'start-end : name' as in /proc/iomem");
        return BS_EPARSE;
    }
    q++;
    const char *q2 = q;
    if (!hexnum(&q2, &b) || strncmp(q2, " : ", 3)) {
        bs_seterr(c->err, BS_EPARSE, c->file, lineno, (int)(q2 - buf) + 1,
                  "expected 'start-end : name' as in /proc/iomem");
        return BS_EPARSE;
    }
    if (b < a) {
        bs_seterr(c->err, BS_EPARSE, c->file, lineno, (int)(q - buf) + 1,
                  "range ends before it starts");
        return BS_EPARSE;
    }
    const char *name = q2 + 3;
    c->ranges++;
    if (a == 0 && b == 0)
        c->zero++;
    while (c->sp > 0 && c->st[c->sp - 1].indent >= indent)
        c->sp--;
    struct frame fr = {indent, -1, 0, 0};
    const struct frame *up = c->sp > 0 ? &c->st[c->sp - 1] : NULL;
    /* Nearest enclosing bus window. */
    const struct frame *upbus = NULL;
    for (int i = c->sp - 1; i >= 0 && !upbus; i--)
        if (c->st[i].bus >= 0)
            upbus = &c->st[i];
    (void)up;
    unsigned dom, bus, dev, fn;
    const char *e;
    int rc = BS_OK;
    if (!strncmp(name, "PCI Bus ", 8) &&
        sscanf(name + 8, "%4x:%2x", &dom, &bus) == 2) {
        fr.bus = (int)bus;
        fr.dom = dom;
        if (!upbus) {
            char src[64];
            snprintf(src, sizeof src, "%s:%d", c->file, lineno);
            rc = imp_add_root_bus(c->im, dom, bus);
            if (!rc)
                rc = imp_add_root_window(c->im, dom, 0, a, b, src);
        } else {
            unsigned f = 0;
            if (b >= BS_4G)
                f = BS_RF_PREF | BS_RF_MEM64;
            else if (bus_windows_seen(c->im, dom, bus))
                f = BS_RF_PREF;
            fr.flags = f;
            rc = imp_add_bus_window(c->im, dom, bus, upbus->bus, f, a, b);
        }
        c->facts++;
    } else if (imp_parse_bdf(name, &dom, &bus, &dev, &fn, &e) && !*e) {
        struct imp_dev *d = imp_dev_get(c->im, dom, bus, dev, fn);
        if (!d)
            return BS_ENOMEM;
        uint64_t size = b - a + 1;
        bool dup = false;
        for (int k = 0; k < BS_SLOT_WIN_IO; k++)
            dup |= d->res[k].present && d->res[k].has_addr &&
                   d->res[k].addr == a;
        int slot = -1;
        for (int k = 0; k < 6 && slot < 0 && !dup; k++)
            if (!d->res[k].present &&
                !(k > 0 && (d->res[k - 1].flags & BS_RF_MEM64)))
                slot = k;
        if (slot >= 0) {
            struct imp_res *r = &d->res[slot];
            r->present = true;
            r->loose = true;
            r->size = size;
            r->has_addr = r->has_fw = true;
            r->addr = r->fw = a;
            if (b >= BS_4G)
                r->flags = BS_RF_MEM64 | BS_RF_PREF;
            else if (upbus && (upbus->flags & BS_RF_PREF))
                r->flags = BS_RF_PREF;
            r->line = lineno;
        }
        c->facts++;
        c->im->st.pci_lines++;
    }
    if (rc)
        return rc;
    if (c->sp < IOMEM_DEPTH)
        c->st[c->sp++] = fr;
    return 0;
}

int imp_parse_iomem(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err)
{
    struct ictx c;
    memset(&c, 0, sizeof c);
    c.im = im;
    c.file = file;
    c.err = err;
    int rc = imp_for_lines(data, len, line_fn, &c);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, file, 0, 0, "out of memory");
    if (rc)
        return rc;
    if (c.ranges && c.zero == c.ranges) {
        bs_seterr(err, BS_EPARSE, file, 1, 0,
                  "every range is 00000000-00000000: /proc/iomem was read "
                  "without root; read it as root");
        return BS_EPARSE;
    }
    if (!c.facts) {
        bs_seterr(err, BS_EPARSE, file, 0, 0,
                  "no 'PCI Bus' window and no PCI function in this iomem");
        return BS_EPARSE;
    }
    return imp_note(im, "%s: /proc/iomem names no BAR numbers and no "
                    "prefetchability; slots and 'pref' are guessed", file);
}
