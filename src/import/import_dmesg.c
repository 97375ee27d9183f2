/*
 * Kernel log importer: dmesg, dmesg -T, journalctl -k, syslog, <N> level
 * prefixes, and the shapes logs take when pasted into mail and bug reports
 * (quoted-printable soft breaks, "> " quoting, lines wrapped inside a
 * resource).  Kernel wordings from 2.6/3.x ("BAR 6: can't assign mem",
 * "reg 10:") through 4.x-6.7 ("reg 0x10:", "BAR 0: no space for [..]",
 * "BAR 0: failed to assign [..]") to 6.8+ ("BAR 0 [mem ..]",
 * "BAR 0 [mem size ..]: can't assign; no space", "bridge window [..]:
 * assigned") are understood; see docs/import-formats.md.
 *
 * A line is looked at only if it holds a PCI message ("pci DDDD:BB:DD.F: ",
 * "pci_bus DDDD:BB: ", "PCI host bridge to bus", host bridge windows,
 * pciehp slots); everything else is skipped.  A PCI message whose resource
 * cannot be read is an error naming the line.
 */
#include "import/import_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- logical lines */

struct lline {
    char *s;
    int line; /* first physical line */
};

struct lines {
    struct lline *v;
    int n, cap;
    char *buf; /* decoded text, lines NUL-separated in place */
};

static int lines_push(struct lines *L, char *s, int line)
{
    if (L->n == L->cap) {
        int nc = L->cap ? L->cap * 2 : 256;
        struct lline *nv = realloc(L->v, sizeof *nv * (size_t)nc);
        if (!nv)
            return BS_ENOMEM;
        L->v = nv;
        L->cap = nc;
    }
    L->v[L->n].s = s;
    L->v[L->n].line = line;
    L->n++;
    return BS_OK;
}

/* Mail archives store attachments quoted-printable: a line ending in '='
 * continues on the next, "=0A" is a newline, "=3D" an equals sign.  A
 * kernel log line never ends in '=', so two such lines are proof enough. */
static bool looks_qp(const char *d, size_t n)
{
    int soft = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == '=' && (d[i + 1] == '\n' || (d[i + 1] == '\r' &&
                                                  i + 2 < n && d[i + 2] == '\n')))
            soft++;
    return soft >= 2;
}

/* Decode (QP or not) into L->buf, splitting lines; each decoded line keeps
 * the physical line it starts on. */
static int split_lines(const char *d, size_t n, struct lines *L)
{
    bool qp = looks_qp(d, n);
    L->buf = malloc(n + 1);
    if (!L->buf)
        return BS_ENOMEM;
    char *o = L->buf;
    char *start = o;
    int phys = 1, start_line = 1;
    bool fresh = true; /* nothing of the current line written yet */
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        if (qp && c == '=') {
            if (i + 1 < n && d[i + 1] == '\n') {
                i++;
                phys++;
                continue;
            }
            if (i + 2 < n && d[i + 1] == '\r' && d[i + 2] == '\n') {
                i += 2;
                phys++;
                continue;
            }
            int h1 = i + 1 < n ? bs_hexval((unsigned char)d[i + 1]) : -1;
            int h2 = i + 2 < n ? bs_hexval((unsigned char)d[i + 2]) : -1;
            if (h1 >= 0 && h2 >= 0) {
                c = (char)(h1 * 16 + h2);
                i += 2;
                if (c == '\n') {
                    *o++ = 0;
                    if (lines_push(L, start, start_line))
                        return BS_ENOMEM;
                    start = o;
                    fresh = true;
                    continue;
                }
                if (c == '\r')
                    continue;
                if (fresh)
                    start_line = phys, fresh = false;
                *o++ = c;
                continue;
            }
        }
        if (c == '\n') {
            *o++ = 0;
            if (lines_push(L, start, start_line))
                return BS_ENOMEM;
            phys++;
            start = o;
            fresh = true;
            continue;
        }
        if (c == '\r' || c == 0)
            continue;
        if (fresh)
            start_line = phys, fresh = false;
        *o++ = c == '\t' ? ' ' : c;
    }
    *o = 0;
    if (o != start && lines_push(L, start, start_line))
        return BS_ENOMEM;
    return BS_OK;
}

/* Strip mail quoting ("> > ") and leading blanks, in place. */
static char *unquote(char *s)
{
    for (;;) {
        while (*s == ' ')
            s++;
        if (*s == '>')
            s++;
        else
            break;
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' '))
        s[--n] = 0;
    return s;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
                                     "Jun", "Jul", "Aug", "Sep", "Oct",
                                     "Nov", "Dec"};

/* Does this (unquoted) line start a new log record? */
static bool starts_record(const char *s)
{
    if (s[0] == '[' && (s[1] == ' ' || isdigit((unsigned char)s[1]) ||
                        isalpha((unsigned char)s[1])) &&
        strncmp(s, "[mem", 4) && strncmp(s, "[io", 3) && strncmp(s, "[bus", 4))
        return true;
    if (s[0] == '<' && isdigit((unsigned char)s[1]))
        return true;
    for (int i = 0; i < 12; i++)
        if (!strncmp(s, months[i], 3) && s[3] == ' ')
            return true;
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) &&
        s[4] == '-' && isdigit((unsigned char)s[5]) &&
        isdigit((unsigned char)s[6]) && s[7] == '-')
        return true;
    return strstr(s, "pci") || strstr(s, "kernel:") || strstr(s, "PCI");
}

static int bracket_balance(const char *s)
{
    int b = 0;
    for (; *s; s++)
        b += *s == '[' ? 1 : *s == ']' ? -1 : 0;
    return b;
}

/* The last token of s is a hexadecimal number cut short ("0xfe00"). */
static bool ends_in_number(const char *s)
{
    size_t n = strlen(s);
    size_t i = n;
    while (i && bs_hexval((unsigned char)s[i - 1]) >= 0)
        i--;
    return i >= 2 && i < n && s[i - 1] == 'x' && s[i - 2] == '0';
}

/* The line starts with the rest of a number cut short: hex digits up to a
 * blank, '-' or ']' ("ffff]" yes, "64bit pref]" no). */
static bool hex_token(const char *s)
{
    const char *p = s;
    while (bs_hexval((unsigned char)*p) >= 0)
        p++;
    return p > s && (*p == 0 || *p == ' ' || *p == '-' || *p == ']');
}

/* ----------------------------------------------- resource text (%pR) */

enum { RT_MEM, RT_IO, RT_BUS, RT_OTHER };

struct pres {
    int type;
    bool unset;    /* "size 0x.." form: no address */
    bool disabled;
    bool range;    /* start/end valid */
    uint64_t start, end, size;
    unsigned flags; /* BS_RF_MEM64, BS_RF_PREF */
    bool window;
};

static bool parse_num(const char **pp, bool hex_only, uint64_t *v)
{
    const char *p = *pp;
    int base = 16;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    else if (!hex_only && !isxdigit((unsigned char)*p))
        return false;
    if (!isxdigit((unsigned char)*p))
        return false;
    uint64_t x = 0;
    while (isxdigit((unsigned char)*p)) {
        if (x >> 60)
            return false;
        x = x * (uint64_t)base + (uint64_t)bs_hexval((unsigned char)*p);
        p++;
    }
    *v = x;
    *pp = p;
    return true;
}

/* Parse "[type ...]" at s.  Returns NULL and fills r, *end past ']'; or an
 * explanation of what was expected. */
static const char *parse_res(const char *s, struct pres *r, const char **end)
{
    memset(r, 0, sizeof *r);
    if (*s != '[')
        return "expected '[' starting a resource";
    const char *p = s + 1;
    while (*p == ' ')
        p++;
    if (!strncmp(p, "mem", 3) && (p[3] == ' ' || p[3] == ']'))
        r->type = RT_MEM, p += 3;
    else if (!strncmp(p, "io", 2) && (p[2] == ' ' || p[2] == ']'))
        r->type = RT_IO, p += 2;
    else if (!strncmp(p, "bus", 3) && p[3] == ' ')
        r->type = RT_BUS, p += 3;
    else {
        r->type = RT_OTHER;
        while (*p && *p != ' ' && *p != ']')
            p++;
    }
    bool any = false;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == ']') {
            p++;
            break;
        }
        if (!*p)
            return "resource not closed by ']'";
        if (!strncmp(p, "size", 4) && p[4] == ' ') {
            p += 5;
            while (*p == ' ')
                p++;
            if (!parse_num(&p, false, &r->size))
                return "expected a size after 'size'";
            r->unset = true;
            any = true;
        } else if (!strncmp(p, "disabled", 8)) {
            r->disabled = true;
            p += 8;
            any = true;
        } else if (!strncmp(p, "64bit", 5)) {
            r->flags |= BS_RF_MEM64;
            p += 5;
        } else if (!strncmp(p, "pref", 4)) {
            r->flags |= BS_RF_PREF;
            p += 4;
        } else if (!strncmp(p, "window", 6)) {
            r->window = true;
            p += 6;
        } else if (!strncmp(p, "flags", 5) && p[5] == ' ') {
            p += 6;
            uint64_t dummy;
            if (!parse_num(&p, false, &dummy))
                return "expected a number after 'flags'";
        } else if (isxdigit((unsigned char)*p) && !any) {
            if (!parse_num(&p, r->type == RT_BUS, &r->start))
                return r->type == RT_BUS ? "expected a bus number"
                                         : "expected an address (0x...)";
            r->end = r->start;
            if (*p == '-') {
                p++;
                if (!parse_num(&p, r->type == RT_BUS, &r->end))
                    return "expected the end address of the range";
            }
            r->range = true;
            any = true;
        } else {
            /* Unknown flag words ("shadowed", "virtual", ...) are harmless. */
            const char *q = p;
            while (*q && *q != ' ' && *q != ']')
                q++;
            if (q == p)
                return "unexpected character in resource";
            if (isdigit((unsigned char)*p) || *p == '=' || *p == '-')
                return "malformed number in resource";
            p = q;
        }
        if (*p && *p != ' ' && *p != ']')
            return "unexpected character in resource";
    }
    if (!any && r->type != RT_OTHER)
        return "resource has neither an address range nor a size";
    if (r->range) {
        if (r->end < r->start) {
            r->range = false; /* disabled window: limit below base */
            r->disabled = true;
        } else {
            r->size = r->end - r->start + 1;
        }
    }
    *end = p;
    return NULL;
}

/* -------------------------------------------------------- parsing */

struct dctx {
    bs_import *im;
    const char *file;
    bs_error *err;
    int line;
    bool iov;         /* the log numbers resources with SR-IOV slots */
    bool setup;       /* past enumeration: assignment messages seen */
    int facts;        /* PCI facts recorded */
    int pending_root; /* windows from "host bridge window" lines, no bus yet */
    uint64_t e820[16][2]; /* firmware-reserved ranges ("BIOS-e820: .. reserved") */
    int ne820;
};

static int perr(struct dctx *c, int col, const char *fmt, const char *a)
{
    bs_seterr(c->err, BS_EPARSE, c->file, c->line, col, fmt, a);
    return BS_EPARSE;
}

static unsigned res_flags(const struct pres *r)
{
    unsigned f = r->flags;
    if (r->type == RT_IO)
        f = BS_RF_IO;
    return f;
}

/* Map a kernel resource index to a barspace slot; -1 if none. */
static int map_index(struct dctx *c, const struct imp_dev *d, int idx,
                     const struct pres *r)
{
    if (idx >= 0 && idx <= 6)
        return idx;
    if (idx >= 13 && idx <= 15)
        return r ? imp_win_slot(res_flags(r)) : BS_SLOT_WIN_IO + idx - 13;
    if (idx >= 7 && idx <= 12) {
        if (c->iov || d->kind == BS_NODE_DEVICE)
            return BS_SLOT_VF0 + idx - 7;
        /* Kernels without CONFIG_PCI_IOV number bridge windows 7..10. */
        if (idx <= 9)
            return r ? imp_win_slot(res_flags(r)) : BS_SLOT_WIN_IO + idx - 7;
    }
    return -1;
}

static void src_note(struct dctx *c, char *buf, size_t cap, const char *what)
{
    const char *b = strrchr(c->file, '/');
    b = b ? b + 1 : c->file;
    snprintf(buf, cap, "%s (%s:%d)", what, b, c->line);
}

enum st { ST_PROBE, ST_NOSPACE, ST_FAILED, ST_ASSIGNED, ST_RELEASED,
          ST_NOCLAIM, ST_WINDOW };

static int apply(struct dctx *c, struct imp_dev *d, int slot,
                 const struct pres *r, int st)
{
    if (slot < 0 || slot >= BS_NSLOTS)
        return BS_OK;
    struct imp_res *x = &d->res[slot];
    bool win = bs_slot_is_window(slot);
    if (win && d->kind == IMP_KIND_UNKNOWN)
        d->kind = BS_NODE_BRIDGE;
    x->present = true;
    x->line = c->line;
    if (r) {
        unsigned f = res_flags(r);
        if (r->type == RT_IO || r->type == RT_MEM)
            x->flags = f;
        if ((r->range || r->unset) && r->size)
            x->size = r->size;
    }
    bool addr_ok = r && r->range && !r->disabled && r->start != 0;
    c->facts++;
    switch (st) {
    case ST_PROBE:
        if (addr_ok) {
            x->has_fw = true;
            x->fw = r->start;
            x->has_addr = true;
            x->addr = r->start;
        }
        break;
    case ST_WINDOW:
        if (r && r->disabled) {
            x->has_addr = false;
            break;
        }
        if (addr_ok) {
            if (!d->bt_setup && !x->has_fw) {
                x->has_fw = true;
                x->fw = r->start;
            }
            x->has_addr = true;
            x->addr = r->start;
            x->failed = 0;
        }
        break;
    case ST_NOSPACE:
        c->setup = true;
        if (x->failed < 1)
            x->failed = 1;
        x->has_addr = false;
        src_note(c, x->fail_msg, sizeof x->fail_msg, "no space");
        break;
    case ST_FAILED:
        c->setup = true;
        x->failed = 2;
        x->has_addr = false;
        src_note(c, x->fail_msg, sizeof x->fail_msg, "failed to assign");
        break;
    case ST_ASSIGNED:
        c->setup = true;
        if (addr_ok || (r && r->range)) {
            x->failed = 0;
            x->has_addr = true;
            x->addr = r->start;
            x->kassigned = !(x->has_fw && x->fw == r->start);
        }
        break;
    case ST_RELEASED:
        c->setup = true;
        x->has_addr = false;
        break;
    case ST_NOCLAIM:
        x->fw_rejected = true;
        x->has_addr = false;
        break;
    }
    return BS_OK;
}

/* Where "[" is in s, or NULL. */
static const char *find_res(const char *s) { return strchr(s, '['); }

static int parse_res_at(struct dctx *c, const char *line, const char *at,
                        struct pres *r, const char **end)
{
    const char *e = parse_res(at, r, end);
    if (e)
        return perr(c, (int)(at - line) + 1, "%s", e);
    return BS_OK;
}

/* "N [res]" after a fixed prefix: the index N and the resource that follows
 * it.  1 when both were read, 0 when the line names no resource (left
 * alone), or a parse error naming the column. */
static int indexed_res(struct dctx *c, const char *line, const char *p,
                       int *idx, struct pres *r, const char **end)
{
    *idx = (int)strtol(p, (char **)&p, 10);
    const char *b = find_res(p);
    if (!b)
        return 0;
    int rc = parse_res_at(c, line, b, r, end);
    return rc ? rc : 1;
}

static int status_of(const char *s)
{
    if (strstr(s, "no space") || strstr(s, "can't assign"))
        return ST_NOSPACE;
    if (strstr(s, "failed to assign"))
        return ST_FAILED;
    if (strstr(s, "releas"))
        return ST_RELEASED;
    if (strstr(s, "can't claim"))
        return ST_NOCLAIM;
    if (strstr(s, "assigned") || !strncmp(s, "set to", 6) ||
        !strncmp(s, "updated", 7))
        return ST_ASSIGNED;
    return -1;
}

/* Old kernels: "BAR 6: can't assign mem pref (size 0x20000)". */
static int old_cant_assign(struct dctx *c, struct imp_dev *d, int idx,
                           const char *s)
{
    const char *sz = strstr(s, "(size ");
    if (!sz)
        return BS_OK;
    struct pres r;
    memset(&r, 0, sizeof r);
    const char *p = sz + 6;
    if (!parse_num(&p, false, &r.size))
        return perr(c, (int)(p - s) + 1, "%s", "expected a size after '(size'");
    r.unset = true;
    r.type = strstr(s, " io") && !strstr(s, " mem") ? RT_IO : RT_MEM;
    if (strstr(s, "pref"))
        r.flags |= BS_RF_PREF;
    int slot = map_index(c, d, idx, &r);
    /* This wording does not say "64bit": keep what enumeration said. */
    if (slot >= 0 && slot < BS_NSLOTS && r.type == RT_MEM)
        r.flags |= d->res[slot].flags & BS_RF_MEM64;
    apply(c, d, slot, &r, ST_NOSPACE);
    return apply(c, d, slot, &r, ST_FAILED);
}

/* Everything after "pci DDDD:BB:DD.F: ". */
static int device_msg(struct dctx *c, struct imp_dev *d, const char *line,
                      const char *m)
{
    while (*m == ' ')
        m++;
    struct pres r;
    const char *e;
    int rc;
    unsigned v, dv;
    /* Enumeration: "[8086:29c0] type 00 class 0x060000". */
    if (m[0] == '[' && sscanf(m, "[%4x:%4x]", &v, &dv) == 2) {
        const char *ty = strstr(m, "] type ");
        if (ty) {
            unsigned type = 0, cls = 0;
            const char *q = ty + 7;
            if (sscanf(q, "%x", &type) == 1) {
                d->kind = (type & 0x7f) == 0 ? BS_NODE_DEVICE : BS_NODE_BRIDGE;
            }
            const char *cl = strstr(q, "class 0x");
            if (cl && sscanf(cl + 8, "%x", &cls) == 1)
                d->cls = cls;
            d->has_id = true;
            d->vendor = (uint16_t)v;
            d->device = (uint16_t)dv;
            if (imp_qemu_vendor(d->vendor))
                c->im->qemu = true;
            c->facts++;
        }
        return BS_OK;
    }
    /* "reg 0x10: [..]" and 3.x "reg 10: [..]". */
    if (!strncmp(m, "reg ", 4)) {
        const char *p = m + 4;
        uint64_t off;
        if (!parse_num(&p, true, &off) || *p != ':')
            return BS_OK;
        const char *b = find_res(p);
        if (!b)
            return BS_OK;
        if ((rc = parse_res_at(c, line, b, &r, &e)))
            return rc;
        int slot = -1;
        if (off >= 0x10 && off <= 0x24 && !(off & 3))
            slot = (int)(off - 0x10) / 4;
        else if (off == 0x30 || off == 0x38)
            slot = BS_SLOT_ROM;
        if (off == 0x38 && d->kind == IMP_KIND_UNKNOWN)
            d->kind = BS_NODE_BRIDGE;
        if (slot < 0)
            return BS_OK; /* SR-IOV registers: the VF(n) line follows */
        return apply(c, d, slot, &r, ST_PROBE);
    }
    /* "PCI bridge to [bus 01-06]" (optionally " (subtractive decode)"). */
    if (!strncmp(m, "PCI bridge to ", 14)) {
        const char *b = find_res(m);
        if (!b)
            return BS_OK;
        if ((rc = parse_res_at(c, line, b, &r, &e)))
            return rc;
        if (r.type != RT_BUS || !r.range)
            return perr(c, (int)(b - line) + 1, "%s",
                        "expected a bus range such as [bus 01-06]");
        d->kind = BS_NODE_BRIDGE;
        if (r.start > 255 || r.end > 255)
            return perr(c, (int)(b - line) + 1, "%s", "bus number above ff");
        d->sec = (int)r.start;
        d->sub = (int)r.end;
        d->bt_count++;
        d->bt_setup = c->setup || d->bt_count > 1;
        c->facts++;
        return BS_OK;
    }
    /* Hot-plug sizing: "bridge window [..] to [bus 02] add_size 200000". */
    const char *bw = strstr(m, "bridge window ");
    if (bw == m) {
        const char *b = find_res(m);
        if (!b)
            return BS_OK;
        if ((rc = parse_res_at(c, line, b, &r, &e)))
            return rc;
        if (r.type != RT_IO && r.type != RT_MEM)
            return BS_OK;
        int slot = imp_win_slot(res_flags(&r));
        while (*e == ' ')
            e++;
        /* A subtractive-decode bridge lists its bus's windows after its
         * own: they are the parent's ranges, not windows it programs. */
        if (strstr(e, "(subtractive decode)"))
            return BS_OK;
        if (!strncmp(e, "to [bus", 7)) {
            const char *as = strstr(e, "add_size ");
            if (as) {
                d->add_size = true;
                const char *q = as + 9;
                uint64_t av;
                if (parse_num(&q, true, &av) &&
                    av > d->add[slot - BS_SLOT_WIN_IO])
                    d->add[slot - BS_SLOT_WIN_IO] = av;
            }
            d->kind = BS_NODE_BRIDGE;
            return BS_OK;
        }
        if (*e == ':') {
            int st = status_of(e + 1);
            if (st < 0)
                return BS_OK;
            return apply(c, d, slot, &r, st);
        }
        if (r.type == RT_MEM && (r.flags & BS_RF_PREF) &&
            !(r.flags & BS_RF_MEM64))
            d->pref32 = true;
        return apply(c, d, slot, &r, ST_WINDOW);
    }
    /* 6.8+: "BAR 0 [..]", "ROM [..]", "VF BAR 0 [..]" with an optional
     * ": status" after the resource. */
    {
        int idx = -1;
        bool vf = false;
        const char *p = m;
        if (!strncmp(p, "VF BAR ", 7)) {
            vf = true;
            p += 7;
        } else if (!strncmp(p, "BAR ", 4)) {
            p += 4;
        } else if (!strncmp(p, "ROM [", 5)) {
            idx = 6;
            p += 3;
        } else {
            p = NULL;
        }
        if (p && idx < 0 && isdigit((unsigned char)*p)) {
            idx = (int)strtol(p, (char **)&p, 10);
        }
        if (p && idx >= 0 && *p == ' ' && p[1] == '[') {
            if ((rc = parse_res_at(c, line, p + 1, &r, &e)))
                return rc;
            int slot;
            if (vf) {
                if (idx > 5)
                    return BS_OK;
                slot = BS_SLOT_VF0 + idx;
                c->iov = true;
            } else {
                slot = map_index(c, d, idx, &r);
            }
            while (*e == ' ')
                e++;
            if (*e == ':') {
                const char *cn = strstr(e, "contains BAR");
                unsigned nvf;
                if (vf && cn && sscanf(cn, "contains BAR %*d for %u VFs", &nvf) == 1) {
                    d->num_vfs = nvf;
                    return apply(c, d, slot, &r, ST_PROBE);
                }
                int st = status_of(e + 1);
                if (st < 0)
                    return BS_OK;
                return apply(c, d, slot, &r, st);
            }
            if (vf) {
                /* Per-VF size at enumeration; the total comes with the
                 * "contains" line. */
                return BS_OK;
            }
            return apply(c, d, slot, &r, ST_PROBE);
        }
        /* 3.x-6.7: "BAR 2: no space for [..]", "BAR 2: assigned [..]". */
        if (p && !vf && idx >= 0 && *p == ':') {
            const char *s = p + 1;
            while (*s == ' ')
                s++;
            if (!strncmp(s, "can't assign", 12) && !find_res(s))
                return old_cant_assign(c, d, idx, s);
            int st = status_of(s);
            if (st < 0)
                return BS_OK;
            const char *b = find_res(s);
            if (!b) {
                if (st == ST_NOSPACE || st == ST_FAILED)
                    return perr(c, (int)(s - line) + 1, "%s",
                                "expected the resource ([mem size ...]) "
                                "that could not be assigned");
                return BS_OK; /* "assigned to efifb" and the like */
            }
            if ((rc = parse_res_at(c, line, b, &r, &e)))
                return rc;
            if (r.type != RT_IO && r.type != RT_MEM)
                return BS_OK;
            return apply(c, d, map_index(c, d, idx, &r), &r, st);
        }
    }
    /* The boot video device's ROM is the BIOS shadow at 0xc0000 from now
     * on: Linux never places that BAR. */
    if (!strncmp(m, "Video device with shadowed ROM", 30)) {
        struct imp_res *x = &d->res[BS_SLOT_ROM];
        memset(x, 0, sizeof *x);
        c->facts++;
        char nm[40];
        snprintf(nm, sizeof nm, "pci-%04x:%02x:%02x.%u", d->dom, d->bus,
                 d->dev, d->fn);
        return imp_note(c->im, "%s ROM: shadowed at 0xc0000 by the BIOS "
                        "(boot video), not a BAR to place; left out", nm);
    }
    /* Older claim failures: "can't claim BAR 6 [..]: no compatible ..". */
    if (!strncmp(m, "can't claim BAR ", 16)) {
        int idx;
        if ((rc = indexed_res(c, line, m + 16, &idx, &r, &e)) <= 0)
            return rc;
        return apply(c, d, map_index(c, d, idx, &r), &r, ST_NOCLAIM);
    }
    /* Older realloc: "resource 15 [..] released". */
    if (!strncmp(m, "resource ", 9) && strstr(m, "released")) {
        int idx;
        if ((rc = indexed_res(c, line, m + 9, &idx, &r, &e)) <= 0)
            return rc;
        return apply(c, d, map_index(c, d, idx, &r), &r, ST_RELEASED);
    }
    /* SR-IOV before 6.8: "VF(n) BAR0 space: [..] (contains BAR0 for 16 VFs)". */
    if (!strncmp(m, "VF(n) BAR", 9)) {
        const char *p = m + 9;
        int idx = (int)strtol(p, (char **)&p, 10);
        const char *b = find_res(p);
        if (!b || idx < 0 || idx > 5)
            return BS_OK;
        if ((rc = parse_res_at(c, line, b, &r, &e)))
            return rc;
        unsigned nvf;
        const char *cn = strstr(e, "for ");
        if (cn && sscanf(cn, "for %u VFs", &nvf) == 1)
            d->num_vfs = nvf;
        c->iov = true;
        return apply(c, d, BS_SLOT_VF0 + idx, &r, ST_PROBE);
    }
    return BS_OK;
}

/* A host bridge that translates says where the window sits on the bus:
 * "[mem 0xe180000000-0xe1ffffffff] (bus address [0x80000000-0xffffffff])"
 * (ACPI _TRA, DT ranges).  The offset is CPU minus bus address; 0 when
 * the line does not say. */
static uint64_t bus_offset(const struct pres *r, const char *after)
{
    const char *b = strstr(after, "(bus address [");
    if (!b)
        return 0;
    const char *p = b + 14;
    uint64_t bus;
    if (!parse_num(&p, true, &bus))
        return 0;
    return r->start - bus;
}

/* A root window, translated or not. */
static int root_window(struct dctx *c, unsigned dom, const struct pres *r,
                       const char *after, const char *what)
{
    char src[64];
    src_note(c, src, sizeof src, what);
    return imp_add_root_window_bus(c->im, dom, res_flags(r) & ~BS_RF_MEM64,
                                   r->start, r->end, bus_offset(r, after),
                                   src);
}

/* Device-tree host bridges list their ranges before the bus is scanned:
 * "pci-host-generic 40000000.pcie:      MEM 0x0010000000..0x003efeffff ->
 * 0x0010000000" (CPU range -> bus address).  Memory ranges become root
 * windows with their offset; I/O ranges are mapped to logical ports that
 * the root bus resource lines give. */
static int dt_range_line(struct dctx *c, const char *s)
{
    const char *m = strstr(s, " MEM 0x");
    const char *dots = m ? strstr(m, "..") : NULL;
    const char *arrow = dots ? strstr(dots, " -> ") : NULL;
    if (!arrow)
        return BS_OK;
    const char *p = m + 5;
    uint64_t lo, hi, bus;
    if (!parse_num(&p, true, &lo) || p != dots)
        return BS_OK;
    p = dots + 2;
    if (!parse_num(&p, true, &hi) || p != arrow)
        return BS_OK;
    p = arrow + 4;
    if (!parse_num(&p, true, &bus) || hi < lo)
        return BS_OK;
    struct pres r;
    memset(&r, 0, sizeof r);
    r.type = RT_MEM;
    r.start = lo;
    r.end = hi;
    char src[64];
    src_note(c, src, sizeof src, "DT ranges");
    c->facts++;
    c->im->st.pci_lines++;
    return imp_add_root_window_bus(c->im, 0, 0, lo, hi, lo - bus, src);
}

/* "pci_bus DDDD:BB: ..." */
static int bus_msg(struct dctx *c, unsigned dom, unsigned bus,
                   const char *line, const char *m)
{
    struct pres r;
    const char *e;
    int rc;
    while (*m == ' ')
        m++;
    if (!strncmp(m, "root bus resource ", 18)) {
        if ((rc = parse_res_at(c, line, m + 18, &r, &e)))
            return rc;
        if ((rc = imp_add_root_bus(c->im, dom, bus)))
            return rc;
        c->facts++;
        if (r.type == RT_BUS || !r.range || r.disabled)
            return BS_OK;
        return root_window(c, dom, &r, e, "root bus resource");
    }
    if (!strncmp(m, "resource ", 9)) {
        int idx;
        if ((rc = indexed_res(c, line, m + 9, &idx, &r, &e)) <= 0)
            return rc;
        if ((r.type != RT_IO && r.type != RT_MEM) || !r.range || r.disabled)
            return BS_OK;
        bool root = false;
        for (int i = 0; i < c->im->nrb && !root; i++)
            root = c->im->rb[i].dom == dom && c->im->rb[i].bus == bus;
        /* "window" marks a host bridge window -- unless a bridge leads to
         * the bus: then it is a subtractive-decode bridge forwarding its
         * parent's windows. */
        bool behind = false;
        for (int i = 0; i < c->im->ndev && r.window && !root && !behind; i++) {
            const struct imp_dev *br = &c->im->dev[i];
            behind = br->dom == dom && br->sec >= 0 && (int)bus >= br->sec &&
                     (int)bus <= (br->sub >= br->sec ? br->sub : br->sec);
        }
        if (behind)
            return BS_OK;
        root |= r.window;
        c->facts++;
        if (root) {
            if ((rc = imp_add_root_bus(c->im, dom, bus)))
                return rc;
            return root_window(c, dom, &r, e, "bus resource");
        }
        /* A bridge's own windows are bus resources 0-2; 4 and up on a
         * bus behind a bridge are its parent's, forwarded by subtractive
         * decode. */
        if (idx >= 4)
            return BS_OK;
        return imp_add_bus_window(c->im, dom, bus, -1, res_flags(&r),
                                  r.start, r.end);
    }
    /* "busn_res: [bus 03-ff] end is updated to 03" */
    const char *bn = strstr(m, "busn_res: ");
    if (bn) {
        if ((rc = parse_res_at(c, line, bn + 10, &r, &e)))
            return rc;
        unsigned upd;
        const char *u = strstr(e, "end is updated to ");
        if (r.type == RT_BUS && u && sscanf(u + 18, "%x", &upd) == 1) {
            for (int i = 0; i < c->im->ndev; i++) {
                struct imp_dev *d = &c->im->dev[i];
                if (d->dom == dom && d->sec == (int)r.start)
                    d->sub = (int)upd;
            }
        }
        return BS_OK;
    }
    return BS_OK;
}

/* Host bridge windows from older kernels that do not name the bus:
 * "pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7]". */
static int hostwin_msg(struct dctx *c, const char *line, const char *m)
{
    struct pres r;
    const char *e;
    const char *b = find_res(m);
    if (!b)
        return BS_OK;
    int rc = parse_res_at(c, line, b, &r, &e);
    if (rc)
        return rc;
    if ((r.type != RT_IO && r.type != RT_MEM) || !r.range || r.disabled)
        return BS_OK;
    /* "(ignored, not CPU addressable)": the kernel did not use it. */
    if (strstr(e, "(ignored"))
        return BS_OK;
    c->facts++;
    c->pending_root++;
    return root_window(c, 0, &r, e, "host bridge window");
}

static const char *find_bdf_msg(const char *s, const char *tag, unsigned *dom,
                                unsigned *bus, unsigned *dev, unsigned *fn)
{
    size_t tl = strlen(tag);
    for (const char *p = strstr(s, tag); p; p = strstr(p + 1, tag)) {
        if (p != s && p[-1] != ' ' && p[-1] != ']' && p[-1] != ':' &&
            p[-1] != '>')
            continue;
        const char *e;
        if (imp_parse_bdf(p + tl, dom, bus, dev, fn, &e) && *e == ':')
            return e + 1;
    }
    return NULL;
}

/* "BIOS-e820: [mem 0x..-0x..] reserved": firmware says nothing may be
 * placed there; some kernels clip host bridge windows by it. */
static void e820_line(struct dctx *c, const char *s)
{
    const char *r = strstr(s, "] reserved");
    const char *b = strstr(s, "[mem 0x");
    struct pres x;
    const char *e;
    if (!r || !b || b > r || c->ne820 >= 16 || strstr(s, "pci"))
        return;
    if (parse_res(b, &x, &e) || !x.range || e != r + 1)
        return;
    c->e820[c->ne820][0] = x.start;
    c->e820[c->ne820][1] = x.end;
    c->ne820++;
}

static int e820_notes(struct dctx *c)
{
    for (int i = 0; i < c->ne820; i++)
        for (int w = 0; w < c->im->nwin; w++) {
            const struct imp_win *x = &c->im->win[w];
            uint64_t last = bs_last(x->base, x->size);
            if ((x->flags & BS_RF_IO) || c->e820[i][0] > last ||
                x->base > c->e820[i][1])
                continue;
            int rc = imp_note(c->im, "E820 marks [mem 0x%llx-0x%llx] "
                              "reserved over root window [mem 0x%llx-0x%llx]: "
                              "kernels that clip host bridge windows by E820 "
                              "lose that space (try pci=no_e820); not modelled",
                              (unsigned long long)c->e820[i][0],
                              (unsigned long long)c->e820[i][1],
                              (unsigned long long)x->base,
                              (unsigned long long)last);
            if (rc)
                return rc;
        }
    return BS_OK;
}

/* What kernel wrote the log, and with which command line: "Linux version
 * 5.4.0-91-generic (...)", a header comment "# kernel: 5.4.0-91-GENERIC",
 * "Kernel command line: ... pci=realloc". */
static void kernel_line(struct dctx *c, const char *s)
{
    const char *p;
    bs_import *im = c->im;
    if (!im->kernel[0] && ((p = strstr(s, "Linux version ")) ||
                           (p = strstr(s, "# kernel: ")))) {
        p += *p == 'L' ? 14 : 10;
        size_t n = strcspn(p, " ;,()\t");
        if (n && n < sizeof im->kernel && isdigit((unsigned char)*p)) {
            memcpy(im->kernel, p, n);
            im->kernel[n] = 0;
        }
    }
    if (!im->cmdline[0] && (p = strstr(s, "Kernel command line: ")))
        snprintf(im->cmdline, sizeof im->cmdline, "%s", p + 21);
}

static int one_line(struct dctx *c, const char *s)
{
    unsigned dom, bus, dev, fn;
    const char *m;
    e820_line(c, s);
    kernel_line(c, s);
    if ((m = find_bdf_msg(s, "pci ", &dom, &bus, &dev, &fn))) {
        struct imp_dev *d = imp_dev_get(c->im, dom, bus, dev, fn);
        if (!d)
            return BS_ENOMEM;
        int before = c->facts;
        int rc = device_msg(c, d, s, m);
        if (rc)
            return rc;
        c->im->st.pci_lines += c->facts != before;
        return BS_OK;
    }
    const char *p = strstr(s, "pci_bus ");
    if (p) {
        unsigned b;
        int end = 0;
        /* "dddd:bb:" exactly: %n is set only when the whole form matched,
         * so the colons are known to be inside the line before they are
         * looked at. */
        if (sscanf(p + 8, "%4x:%2x:%n", &dom, &b, &end) == 2 && end == 8 &&
            p[12] == ':' && p[15] == ':') {
            int before = c->facts;
            int rc = bus_msg(c, dom, b, s, p + 16);
            c->im->st.pci_lines += c->facts != before;
            return rc;
        }
        return BS_OK;
    }
    if (strstr(s, " MEM 0x") && strstr(s, " -> 0x"))
        return dt_range_line(c, s);
    if ((p = strstr(s, "PCI host bridge to bus "))) {
        unsigned b;
        if (sscanf(p + 23, "%4x:%2x", &dom, &b) == 2) {
            c->facts++;
            c->im->st.pci_lines++;
            return imp_add_root_bus(c->im, dom, b);
        }
        return BS_OK;
    }
    if ((p = strstr(s, "host bridge window ")) &&
        (strstr(s, "pci_root ") || strstr(s, "acpi ") || strstr(s, "PNP0A0"))) {
        c->im->st.pci_lines++;
        return hostwin_msg(c, s, p);
    }
    if ((p = strstr(s, "PCI Root Bridge [")) && strstr(p, "(domain ")) {
        unsigned b;
        const char *q = strstr(p, "(domain ");
        if (sscanf(q, "(domain %4x [bus %2x", &dom, &b) == 2) {
            c->im->st.pci_lines++;
            return imp_add_root_bus(c->im, dom, b);
        }
        return BS_OK;
    }
    if ((p = strstr(s, "pciehp")) && strstr(s, "HotPlug+")) {
        /* "pcieport 0000:00:1c.0: pciehp: Slot #0 ... HotPlug+" or older
         * "pciehp 0000:00:1c.0:pcie004: Slot #0 ...". */
        for (const char *q = s; *q; q++) {
            const char *e;
            if ((q == s || q[-1] == ' ') &&
                imp_parse_bdf(q, &dom, &bus, &dev, &fn, &e) && *e == ':') {
                struct imp_dev *d = imp_dev_get(c->im, dom, bus, dev, fn);
                if (!d)
                    return BS_ENOMEM;
                d->hotplug = true;
                d->kind = BS_NODE_BRIDGE;
                c->im->st.pci_lines++;
                break;
            }
        }
        return BS_OK;
    }
    return BS_OK;
}

/* Pre-scan: do resource numbers go past 12 (SR-IOV slots compiled in)? */
static bool scan_iov(const struct lines *L)
{
    for (int i = 0; i < L->n; i++) {
        const char *s = L->v[i].s;
        if (strstr(s, "VF(n)") || strstr(s, "VF BAR "))
            return true;
        for (const char *p = strstr(s, "BAR 1"); p; p = strstr(p + 1, "BAR 1"))
            if (p[5] >= '3' && p[5] <= '6' && (p[6] == ':' || p[6] == ' '))
                return true;
    }
    return false;
}

int imp_parse_dmesg(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err)
{
    struct lines L = {0};
    int rc = split_lines(data, len, &L);
    struct dctx c;
    memset(&c, 0, sizeof c);
    c.im = im;
    c.file = file;
    c.err = err;
    char *joined = NULL;
    size_t jcap = 0;
    if (rc)
        goto out;
    im->st.lines += L.n;
    for (int i = 0; i < L.n; i++)
        L.v[i].s = unquote(L.v[i].s);
    c.iov = scan_iov(&L);
    for (int i = 0; i < L.n && !im->qemu; i++)
        if (strstr(L.v[i].s, "QEMU"))
            im->qemu = true;
    for (int i = 0; i < L.n; i++) {
        const char *s = L.v[i].s;
        c.line = L.v[i].line;
        /* Rejoin a record wrapped inside a resource, or cut right before
         * it ("... no space for" / "[mem size ...]"). */
        int k = i;
        if (strstr(s, "pci")) {
            size_t need = strlen(s) + 1;
            int bal = bracket_balance(s);
            bool open_end = bal > 0 || (!strchr(s, '[') &&
                            (strstr(s, " for") || strstr(s, "assign") ||
                             strstr(s, "bridge to") || strstr(s, "resource") ||
                             strstr(s, "window")) && k + 1 < L.n &&
                            L.v[k + 1].s[0] == '[' && !starts_record(L.v[k + 1].s));
            if (open_end) {
                if (jcap < need + 1) {
                    jcap = need + 256;
                    char *nj = realloc(joined, jcap);
                    if (!nj) {
                        rc = BS_ENOMEM;
                        goto out;
                    }
                    joined = nj;
                }
                memcpy(joined, s, need);
                while (k + 1 < L.n && k - i < 4 &&
                       (bracket_balance(joined) > 0 || !strchr(joined, '[')) &&
                       !starts_record(L.v[k + 1].s) && L.v[k + 1].s[0]) {
                    const char *nx = L.v[k + 1].s;
                    size_t jl = strlen(joined), nl = strlen(nx);
                    if (jl + nl + 2 > jcap) {
                        jcap = jl + nl + 256;
                        char *nj = realloc(joined, jcap);
                        if (!nj) {
                            rc = BS_ENOMEM;
                            goto out;
                        }
                        joined = nj;
                    }
                    bool glue = (ends_in_number(joined) && hex_token(nx)) ||
                                (jl && joined[jl - 1] == '-');
                    if (!glue && jl && joined[jl - 1] != ' ')
                        joined[jl++] = ' ';
                    memcpy(joined + jl, nx, nl + 1);
                    k++;
                }
                s = joined;
            }
        }
        rc = one_line(&c, s);
        if (rc == BS_ENOMEM)
            bs_seterr(err, rc, file, c.line, 0, "out of memory");
        if (rc)
            goto out;
        i = k;
    }
    rc = e820_notes(&c);
    if (rc)
        goto out;
    if (!c.facts) {
        bs_seterr(err, BS_EPARSE, file, 0, 0,
                  "no PCI enumeration in this log: no 'pci DDDD:BB:DD.F' "
                  "resource, bridge or assignment message and no root bus "
                  "resource (is it a kernel log? for lspci, sysfs or "
                  "/proc/iomem say so with --format)");
        rc = BS_EPARSE;
    }
out:
    free(joined);
    free(L.v);
    free(L.buf);
    return rc;
}
