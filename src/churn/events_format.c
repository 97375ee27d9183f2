/*
 * The event-trace text format (docs/churn.md): one event per line,
 * '#' starts a comment.
 *
 *   add NAME at PARENT BAR... [vfs=N] [pinned]
 *   replace NAME BAR... [vfs=N] [pinned]
 *   remove NAME
 *   resize NAME barN SIZE
 *   vfs NAME N
 *   pin NAME
 *   unpin NAME
 *
 * BAR: barN=KIND:SIZE[:rebar=MIN-MAX] | rom=SIZE | vfbarN=KIND:SIZE, KIND
 * one of mem32 mem64 pref32 pref64 io; SIZE in the one size grammar
 * (core/lex.h, docs/topology-format.md).  Errors name file:line:col and what was expected.
 */
#include "churn/churn_internal.h"
#include "core/lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lx {
    const char *file;
    int line;
    const char *bol;      /* start of the line, for columns */
    bs_error *err;
};

static int fail(const struct lx *L, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static int fail(const struct lx *L, const char *at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bs_seterr(L->err, BS_EPARSE, L->file, L->line, (int)(at - L->bol) + 1,
              "%s", msg);
    return BS_EPARSE;
}

static bool parse_size(const char *s, size_t len, uint64_t *out)
{
    return bs_lex_u64(s, len, BS_LEX_SIZE, out) == BS_OK;
}

/* Next whitespace-separated token of [*p, end). */
static bool token(const char **p, const char *end, const char **tok,
                  size_t *len)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
        q++;
    if (q >= end || *q == '#') {
        *p = q;
        return false;
    }
    *tok = q;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '#')
        q++;
    *len = (size_t)(q - *tok);
    *p = q;
    return true;
}

static bool tok_is(const char *t, size_t n, const char *w)
{
    return strlen(w) == n && !strncmp(t, w, n);
}

static int name_tok(const struct lx *L, const char *t, size_t n, char *out,
                    const char *what)
{
    if (n >= BS_EV_NAME_MAX)
        return fail(L, t, "%s name longer than %d characters", what,
                    BS_EV_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (t[i] == '=')
            return fail(L, t, "expected a %s name, got '%.*s'", what, (int)n, t);
    memcpy(out, t, n);
    out[n] = 0;
    return BS_OK;
}

static int parse_kind(const char *t, size_t n, unsigned *flags)
{
    if (tok_is(t, n, "mem32")) *flags = 0;
    else if (tok_is(t, n, "mem64")) *flags = BS_RF_MEM64;
    else if (tok_is(t, n, "pref32")) *flags = BS_RF_PREF;
    else if (tok_is(t, n, "pref64")) *flags = BS_RF_MEM64 | BS_RF_PREF;
    else if (tok_is(t, n, "io")) *flags = BS_RF_IO;
    else return -1;
    return 0;
}

/* barN=KIND:SIZE[:rebar=MIN-MAX] | rom=SIZE | vfbarN=KIND:SIZE */
static int parse_bar(const struct lx *L, bs_event *ev, const char *t, size_t n)
{
    const char *eq = memchr(t, '=', n);
    if (!eq)
        return fail(L, t, "expected barN=KIND:SIZE, rom=SIZE, vfbarN=KIND:SIZE, "
                    "vfs=N or 'pinned', got '%.*s'", (int)n, t);
    const char *end = t + n;
    size_t kl = (size_t)(eq - t);
    if (ev->nbars >= BS_EV_MAX_BARS)
        return fail(L, t, "more than %d BARs", BS_EV_MAX_BARS);
    bs_bar_spec *b = &ev->bar[ev->nbars];
    memset(b, 0, sizeof *b);
    if (tok_is(t, kl, "rom")) {
        b->slot = BS_SLOT_ROM;
        if (!parse_size(eq + 1, (size_t)(end - eq - 1), &b->size) ||
            !bs_is_pow2(b->size))
            return fail(L, eq + 1, "expected a power-of-two ROM size");
        ev->nbars++;
        return BS_OK;
    }
    int base;
    const char *num;
    if (kl == 4 && !strncmp(t, "bar", 3)) {
        base = BS_SLOT_BAR0;
        num = t + 3;
    } else if (kl == 6 && !strncmp(t, "vfbar", 5)) {
        base = BS_SLOT_VF0;
        num = t + 5;
    } else {
        return fail(L, t, "expected bar0..bar5, vfbar0..vfbar5 or rom, got '%.*s'",
                    (int)kl, t);
    }
    if (*num < '0' || *num > '5')
        return fail(L, num, "BAR index must be 0..5");
    b->slot = base + (*num - '0');
    for (int i = 0; i < ev->nbars; i++)
        if (ev->bar[i].slot == b->slot)
            return fail(L, t, "%s given twice", bs_slot_name(b->slot));
    const char *k = eq + 1;
    const char *c1 = memchr(k, ':', (size_t)(end - k));
    if (!c1 || parse_kind(k, (size_t)(c1 - k), &b->flags))
        return fail(L, k, "expected KIND:SIZE with KIND one of mem32, mem64, "
                    "pref32, pref64, io");
    const char *sz = c1 + 1;
    const char *c2 = memchr(sz, ':', (size_t)(end - sz));
    const char *szend = c2 ? c2 : end;
    if (!parse_size(sz, (size_t)(szend - sz), &b->size) || !bs_is_pow2(b->size))
        return fail(L, sz, "expected a power-of-two size such as 64K or 16G");
    if (c2) {
        const char *r = c2 + 1;
        if ((size_t)(end - r) < 6 || strncmp(r, "rebar=", 6))
            return fail(L, r, "expected rebar=MIN-MAX after the size");
        r += 6;
        const char *dash = memchr(r, '-', (size_t)(end - r));
        uint64_t lo, hi;
        if (!dash || !parse_size(r, (size_t)(dash - r), &lo) ||
            !parse_size(dash + 1, (size_t)(end - dash - 1), &hi) ||
            !bs_is_pow2(lo) || !bs_is_pow2(hi) || lo < BS_MIB || hi < lo ||
            hi > (BS_MIB << 43))
            return fail(L, r, "expected rebar=MIN-MAX, powers of two from 1M");
        for (uint64_t s = lo; s && s <= hi; s <<= 1)
            b->rebar |= (s >> 20);
        if (b->size >= BS_MIB && !(b->rebar & (b->size >> 20)))
            return fail(L, r, "the BAR's size is not in its rebar range");
    }
    ev->nbars++;
    return BS_OK;
}

static int parse_line(const struct lx *L, const char *p, const char *end,
                      bs_event *ev, bool *empty)
{
    const char *t;
    size_t n;
    memset(ev, 0, sizeof *ev);
    ev->line = L->line;
    if (!token(&p, end, &t, &n)) {
        *empty = true;
        return BS_OK;
    }
    *empty = false;
    static const struct { const char *w; int k; } kinds[] = {
        {"add", BS_EV_ADD}, {"remove", BS_EV_REMOVE},
        {"replace", BS_EV_REPLACE}, {"resize", BS_EV_RESIZE},
        {"vfs", BS_EV_VFS}, {"pin", BS_EV_PIN}, {"unpin", BS_EV_UNPIN}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (tok_is(t, n, kinds[i].w))
            ev->kind = kinds[i].k;
    if (!ev->kind)
        return fail(L, t, "expected an event (add, remove, replace, resize, "
                    "vfs, pin, unpin), got '%.*s'", (int)n, t);
    const char *kw = t;
    if (!token(&p, end, &t, &n))
        return fail(L, p, "expected a device name after '%.*s'",
                    (int)(p - kw), kw);
    int rc = name_tok(L, t, n, ev->dev, "device");
    if (rc)
        return rc;
    switch (ev->kind) {
    case BS_EV_ADD:
        if (!token(&p, end, &t, &n))
            return fail(L, p, "expected 'at PARENT' after the device name");
        if (!tok_is(t, n, "at"))
            return fail(L, t, "expected 'at PARENT' after the device name, "
                        "got '%.*s'", (int)n, t);
        if (!token(&p, end, &t, &n))
            return fail(L, p, "expected the parent bridge name ('host' for "
                        "the root bus)");
        if ((rc = name_tok(L, t, n, ev->at, "parent")))
            return rc;
        /* fall through */
    case BS_EV_REPLACE:
        while (token(&p, end, &t, &n)) {
            if (tok_is(t, n, "pinned")) {
                ev->pinned = 1;
            } else if (n > 4 && !strncmp(t, "vfs=", 4)) {
                uint64_t v;
                if (!parse_size(t + 4, n - 4, &v) || v == 0 || v > BS_MAX_VFS)
                    return fail(L, t + 4, "expected NumVFs 1..65535");
                ev->num_vfs = (unsigned)v;
            } else if ((rc = parse_bar(L, ev, t, n))) {
                return rc;
            }
        }
        if (!ev->nbars)
            return fail(L, p, "expected at least one BAR (barN=KIND:SIZE)");
        for (int i = 0; i < ev->nbars; i++)
            if (ev->bar[i].slot >= BS_SLOT_VF0 && !ev->num_vfs)
                return fail(L, p, "VF BARs need vfs=N");
        return BS_OK;
    case BS_EV_RESIZE:
        if (!token(&p, end, &t, &n) || n != 4 || strncmp(t, "bar", 3) ||
            t[3] < '0' || t[3] > '5')
            return fail(L, p, "expected bar0..bar5 after the device name");
        ev->slot = t[3] - '0';
        if (!token(&p, end, &t, &n))
            return fail(L, p, "expected the new size");
        if (!parse_size(t, n, &ev->size) || !bs_is_pow2(ev->size))
            return fail(L, t, "expected a power-of-two size, got '%.*s'", (int)n,
                        t);
        break;
    case BS_EV_VFS: {
        uint64_t v;
        if (!token(&p, end, &t, &n))
            return fail(L, p, "expected NumVFs after the device name");
        if (!parse_size(t, n, &v) || v == 0 || v > BS_MAX_VFS)
            return fail(L, t, "expected NumVFs 1..65535, got '%.*s'", (int)n, t);
        ev->num_vfs = (unsigned)v;
        break;
    }
    default:
        break;
    }
    if (token(&p, end, &t, &n))
        return fail(L, t, "unexpected '%.*s' at the end of the event", (int)n,
                    t);
    return BS_OK;
}

int bs_events_parse(const char *text, size_t len, const char *filename,
                    bs_event **out, int *count, bs_error *err)
{
    *out = NULL;
    *count = 0;
    struct lx L = {filename ? filename : "", 0, text, err};
    bs_event *ev = NULL;
    int n = 0, cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        L.line++;
        L.bol = p;
        if (memchr(p, 0, (size_t)(eol - p))) {
            free(ev);
            return fail(&L, memchr(p, 0, (size_t)(eol - p)),
                        "NUL byte in the trace");
        }
        if (n == cap) {
            if (cap >= (1 << 26)) {
                free(ev);
                bs_seterr(err, BS_ELIMIT, L.file, L.line, 0,
                          "more than %d events", cap);
                return BS_ELIMIT;
            }
            int nc = cap ? cap * 2 : 64;
            bs_event *ne = realloc(ev, sizeof *ne * (size_t)nc);
            if (!ne) {
                free(ev);
                bs_seterr(err, BS_ENOMEM, L.file, L.line, 0, "out of memory");
                return BS_ENOMEM;
            }
            ev = ne;
            cap = nc;
        }
        bool empty;
        int rc = parse_line(&L, p, eol, &ev[n], &empty);
        if (rc) {
            free(ev);
            return rc;
        }
        if (!empty)
            n++;
        p = eol + 1;
    }
    *out = ev;
    *count = n;
    return BS_OK;
}

static const char *kind_name(unsigned f)
{
    if (f & BS_RF_IO)
        return "io";
    if (f & BS_RF_PREF)
        return (f & BS_RF_MEM64) ? "pref64" : "pref32";
    return (f & BS_RF_MEM64) ? "mem64" : "mem32";
}

size_t bs_event_format(const bs_event *ev, char *buf, size_t cap)
{
    char tmp[1024];
    size_t o = 0;
#define OUT(...)                                                             \
    do {                                                                     \
        int w_ = snprintf(tmp + o, sizeof tmp - o, __VA_ARGS__);             \
        if (w_ > 0)                                                          \
            o = o + (size_t)w_ < sizeof tmp ? o + (size_t)w_ : sizeof tmp - 1; \
    } while (0)
    static const char *const names[] = {"?", "add", "remove", "replace",
                                        "resize", "vfs", "pin", "unpin"};
    int k = ev->kind >= 1 && ev->kind <= 7 ? ev->kind : 0;
    OUT("%s %s", names[k], ev->dev);
    char a[32], b[32];
    switch (ev->kind) {
    case BS_EV_ADD:
        OUT(" at %s", ev->at);
        /* fall through */
    case BS_EV_REPLACE:
        for (int i = 0; i < ev->nbars; i++) {
            const bs_bar_spec *s = &ev->bar[i];
            if (s->slot == BS_SLOT_ROM) {
                OUT(" rom=%s", bs_fmt_size(s->size, a, sizeof a));
                continue;
            }
            bool vf = s->slot >= BS_SLOT_VF0;
            OUT(" %sbar%d=%s:%s", vf ? "vf" : "",
                vf ? s->slot - BS_SLOT_VF0 : s->slot, kind_name(s->flags),
                bs_fmt_size(s->size, a, sizeof a));
            if (s->rebar) {
                int lo = __builtin_ctzll(s->rebar);
                int hi = 63 - __builtin_clzll(s->rebar);
                OUT(":rebar=%s-%s", bs_fmt_size(BS_MIB << lo, a, sizeof a),
                    bs_fmt_size(BS_MIB << hi, b, sizeof b));
            }
        }
        if (ev->num_vfs)
            OUT(" vfs=%u", ev->num_vfs);
        if (ev->pinned)
            OUT(" pinned");
        break;
    case BS_EV_RESIZE:
        OUT(" bar%d %s", ev->slot, bs_fmt_size(ev->size, a, sizeof a));
        break;
    case BS_EV_VFS:
        OUT(" %u", ev->num_vfs);
        break;
    default:
        break;
    }
#undef OUT
    if (cap)
        snprintf(buf, cap, "%s", tmp);
    return o;
}
