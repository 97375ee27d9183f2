/*
 * Parser of the topology text format (docs/topology-format.md).
 *
 * The input is a byte buffer of known length, not a C string: NUL bytes,
 * stray bytes and enormous lines are ordinary (rejected) input.  The parser
 * works one line at a time, splits it into tokens that point into the
 * buffer, and builds the tree only through the builder API of topology.c so
 * that files and importers produce identical structures.  Every rejection
 * names the line and the column of the token at fault.
 */
#include "core/internal.h"
#include "core/lex.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A statement has at most a dozen tokens; more is garbage, not a limit. */
#define MAX_TOKENS 40
#define IO_SPACE_LAST UINT64_C(0xffff)
#define TOPO_NAME_MAX 63

struct tok {
    const char *p;
    size_t n;
    int col;
};

struct frame {
    int node;
    int line, col; /* of the '{' */
};

struct parser {
    const char *file;
    bs_error *err;
    bs_topo *t;
    int line;
    struct tok tk[MAX_TOKENS];
    int ntk;
    int nstmts;
    struct frame stack[BS_MAX_DEPTH + 1];
    int depth;
    /* Last brace-less bridge/device header: a BAR line after it most likely
     * means its '{' was forgotten, and the error says so. */
    int open_hint_line;
};

/* ------------------------------------------------------------ errors */

/* A token for a message: bytes that are not printable ASCII are escaped so
 * that binary input cannot garble a terminal, long tokens are cut. */
static const char *show(const struct tok *t, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < t->n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)t->p[i];
        if (i >= 32) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    buf[o] = 0;
    return buf;
}

static int verr(struct parser *p, int code, int line, int col, const char *fmt,
                va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    bs_seterr(p->err, code, p->file, line, col, "%s", msg);
    return code;
}

static int perr(struct parser *p, const struct tok *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, const struct tok *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verr(p, BS_EPARSE, p->line, at ? at->col : 0, fmt, ap);
    va_end(ap);
    return rc;
}

static int perr_code(struct parser *p, int code, const struct tok *at,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr_code(struct parser *p, int code, const struct tok *at,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = verr(p, code, p->line, at ? at->col : 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* Where a missing token should have been: just past the previous one. */
static struct tok after(const struct tok *prev)
{
    struct tok t = {prev->p + prev->n, 0, prev->col};
    if ((size_t)INT_MAX - (size_t)prev->col > prev->n)
        t.col = prev->col + (int)prev->n;
    return t;
}

/* ------------------------------------------------------------ tokens */

static bool tok_is(const struct tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->n == n && !memcmp(t->p, s, n);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Split [s, e) into tokens.  '{' and '}' are tokens of their own even when
 * glued to a word ("gpu0{"); '#' starts a comment anywhere. */
static int tokenize(struct parser *p, const char *s, const char *e)
{
    p->ntk = 0;
    const char *ls = s;
    while (s < e) {
        unsigned char c = (unsigned char)*s;
        if (is_space(c)) {
            s++;
            continue;
        }
        if (c == '#')
            break;
        struct tok t = {s, 0, 0};
        size_t off = (size_t)(s - ls);
        t.col = off >= (size_t)INT_MAX ? INT_MAX : (int)off + 1;
        if (c == '{' || c == '}') {
            t.n = 1;
        } else {
            const char *q = s;
            while (q < e && !is_space((unsigned char)*q) && *q != '#' &&
                   *q != '{' && *q != '}')
                q++;
            t.n = (size_t)(q - s);
        }
        if (p->ntk == MAX_TOKENS) {
            char b[64];
            return perr(p, &t, "too many tokens on one line (at '%s')",
                        show(&t, b, sizeof b));
        }
        p->tk[p->ntk++] = t;
        s += t.n;
    }
    return BS_OK;
}

/* ------------------------------------------------------------ numbers */

/* A number, or with units a size, in the one grammar (core/lex.h). */
static bool parse_num(const char *s, size_t n, bool units, uint64_t *out)
{
    return bs_lex_u64(s, n, units ? BS_LEX_SIZE : 0, out) == BS_OK;
}

static int want_size(struct parser *p, const struct tok *t, const char *v,
                     size_t n, uint64_t *out)
{
    if (!parse_num(v, n, true, out)) {
        char b[64];
        struct tok vt = {v, n, t->col};
        return perr(p, t, "expected a size (e.g. 64K, 0x1000, 2G), got '%s'",
                    show(&vt, b, sizeof b));
    }
    return BS_OK;
}

static int want_addr(struct parser *p, const struct tok *t, const char *v,
                     size_t n, uint64_t *out)
{
    if (!parse_num(v, n, true, out)) {
        char b[64];
        struct tok vt = {v, n, t->col};
        return perr(p, t, "expected an address (e.g. 0xfe000000), got '%s'",
                    show(&vt, b, sizeof b));
    }
    return BS_OK;
}

static int want_int(struct parser *p, const struct tok *t, const char *v,
                    size_t n, uint64_t lo, uint64_t hi, const char *what,
                    uint64_t *out)
{
    char b[64];
    struct tok vt = {v, n, t->col};
    if (!parse_num(v, n, false, out))
        return perr(p, t, "expected a number for %s, got '%s'", what,
                    show(&vt, b, sizeof b));
    if (*out < lo || *out > hi)
        return perr(p, t, "%s must be %llu..%llu, got %s", what,
                    (unsigned long long)lo, (unsigned long long)hi,
                    show(&vt, b, sizeof b));
    return BS_OK;
}

/* ------------------------------------------------------------ names */

static bool name_char(unsigned char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')
        return true;
    if (first)
        return false;
    return (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-';
}

static int check_word(struct parser *p, const struct tok *t, const char *v,
                      size_t n, size_t max, bool ident, const char *what)
{
    char b[64];
    struct tok vt = {v, n, t->col};
    if (!n)
        return perr(p, t, "expected %s, got nothing", what);
    for (size_t i = 0; i < n; i++)
        if (!name_char((unsigned char)v[i], ident && i == 0))
            return perr(p, t,
                        "bad %s '%s': use letters, digits, '_', '.', ':' "
                        "and '-'%s",
                        what, show(&vt, b, sizeof b),
                        ident ? ", starting with a letter or '_'" : "");
    if (n > max)
        return perr(p, t, "%s '%s' is longer than %zu characters", what,
                    show(&vt, b, sizeof b), max);
    return BS_OK;
}

/* ------------------------------------------------------------ attributes */

/* "key=value" -> key and value; a bare word has vn = SIZE_MAX. */
static void split_attr(const struct tok *t, size_t *kn, const char **v,
                       size_t *vn)
{
    const char *eq = memchr(t->p, '=', t->n);
    if (!eq) {
        *kn = t->n;
        *v = NULL;
        *vn = SIZE_MAX;
        return;
    }
    *kn = (size_t)(eq - t->p);
    *v = eq + 1;
    *vn = t->n - *kn - 1;
}

static bool key_is(const struct tok *t, size_t kn, const char *k)
{
    return strlen(k) == kn && !memcmp(t->p, k, kn);
}

enum attr_kind { A_FLAG, A_VALUE };

struct attr_def {
    const char *key;
    enum attr_kind kind;
    const char *hint; /* value syntax for messages */
};

/* Match a token against a table; returns the index, or an error code after
 * reporting unknown / missing value / unexpected value / repeated. */
static int match_attr(struct parser *p, const struct tok *t,
                      const struct attr_def *defs, int ndefs, unsigned *seen,
                      const char *owner, const char *expected,
                      const char **v, size_t *vn)
{
    size_t kn;
    char b[64];
    split_attr(t, &kn, v, vn);
    for (int i = 0; i < ndefs; i++) {
        if (!key_is(t, kn, defs[i].key))
            continue;
        if (*seen & (1u << i))
            return perr(p, t, "attribute '%s' given twice", defs[i].key);
        *seen |= 1u << i;
        if (defs[i].kind == A_FLAG && *vn != SIZE_MAX)
            return perr(p, t, "attribute '%s' takes no value", defs[i].key);
        if (defs[i].kind == A_VALUE && (*vn == SIZE_MAX || *vn == 0))
            return perr(p, t, "attribute '%s' needs a value (%s=%s)",
                        defs[i].key, defs[i].key, defs[i].hint);
        return i;
    }
    struct tok kt = {t->p, kn ? kn : t->n, t->col};
    return perr(p, t, "unknown attribute '%s' for %s (expected %s)",
                show(&kt, b, sizeof b), owner, expected);
}

/* ------------------------------------------------------------ statements */

static int cur_node(const struct parser *p)
{
    return p->depth ? p->stack[p->depth - 1].node : 0;
}

static int st_topology(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    if (p->nstmts > 0)
        return perr(p, k, "'topology' must be the first statement of the "
                          "file");
    if (p->ntk < 2) {
        struct tok a = after(k);
        return perr(p, &a, "expected a topology name after 'topology'");
    }
    const struct tok *nm = &p->tk[1];
    int rc = check_word(p, nm, nm->p, nm->n, TOPO_NAME_MAX, true,
                        "topology name");
    if (rc)
        return rc;
    if (p->ntk > 2)
        return perr(p, &p->tk[2], "unexpected '%s' after the topology name",
                    show(&p->tk[2], b, sizeof b));
    char name[TOPO_NAME_MAX + 1];
    memcpy(name, nm->p, nm->n);
    name[nm->n] = 0;
    p->t = bs_topo_new(name);
    return p->t ? BS_OK : BS_ENOMEM;
}

static int parse_range(struct parser *p, const struct tok *t, uint64_t *base,
                       uint64_t *size)
{
    char b[64];
    const char *sep = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->p[i] == '-' || t->p[i] == '+') {
            sep = t->p + i;
            break;
        }
    uint64_t lo, hi;
    if (!sep || !parse_num(t->p, (size_t)(sep - t->p), true, &lo) ||
        !parse_num(sep + 1, t->n - (size_t)(sep - t->p) - 1, true, &hi))
        return perr(p, t,
                    "expected a range BASE-LIMIT or BASE+SIZE (e.g. "
                    "0x80000000-0xafffffff), got '%s'",
                    show(t, b, sizeof b));
    if (*sep == '-') {
        if (hi < lo)
            return perr(p, t, "range limit 0x%llx is below its base 0x%llx",
                        (unsigned long long)hi, (unsigned long long)lo);
        if (lo == 0 && hi == UINT64_MAX)
            return perr(p, t, "a window cannot cover all of the 64-bit "
                              "address space");
        *base = lo;
        *size = hi - lo + 1;
    } else {
        if (hi == 0)
            return perr(p, t, "empty range: size is 0");
        if (lo + (hi - 1) < lo)
            return perr(p, t, "range 0x%llx+0x%llx overflows 2^64",
                        (unsigned long long)lo, (unsigned long long)hi);
        *base = lo;
        *size = hi;
    }
    return BS_OK;
}

static int st_window(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    if (p->depth)
        return perr(p, k, "'window' is only allowed at top level (root "
                          "windows belong to the host bridge)");
    if (p->ntk < 2) {
        struct tok a = after(k);
        return perr(p, &a, "expected 'io' or 'mem' after 'window'");
    }
    const struct tok *ty = &p->tk[1];
    bool io = tok_is(ty, "io");
    if (!io && !tok_is(ty, "mem"))
        return perr(p, ty, "expected 'io' or 'mem' after 'window', got '%s'",
                    show(ty, b, sizeof b));
    if (p->ntk < 3) {
        struct tok a = after(ty);
        return perr(p, &a, "expected a range BASE-LIMIT or BASE+SIZE after "
                           "'window %s'", io ? "io" : "mem");
    }
    const struct tok *rt = &p->tk[2];
    uint64_t base = 0, size = 0;
    int rc = parse_range(p, rt, &base, &size);
    if (rc)
        return rc;
    unsigned flags = io ? BS_RF_IO : 0;
    /* bus=ADDR: the host bridge translates; the window's base is at ADDR
     * on the bus (docs/topology-format.md). */
    uint64_t bus = base;
    const struct tok *bus_tok = NULL;
    for (int i = 3; i < p->ntk; i++) {
        const struct tok *a = &p->tk[i];
        if (tok_is(a, "pref") && !io && !(flags & BS_RF_PREF)) {
            flags |= BS_RF_PREF;
            continue;
        }
        if (a->n > 4 && !memcmp(a->p, "bus=", 4) && !bus_tok) {
            if ((rc = want_addr(p, a, a->p + 4, a->n - 4, &bus)))
                return rc;
            if (bus + (size - 1) < bus)
                return perr(p, a, "bus range 0x%llx + size overflows 2^64",
                            (unsigned long long)bus);
            bus_tok = a;
            continue;
        }
        if (tok_is(a, "pref") && io)
            return perr(p, a, "an I/O window cannot be prefetchable");
        if (tok_is(a, "pref"))
            return perr(p, a, "attribute 'pref' given twice");
        return perr(p, a, "unknown attribute '%s' for a window (expected "
                          "pref or bus=)", show(a, b, sizeof b));
    }
    uint64_t last = bs_last(bus, size);
    if (io && last > IO_SPACE_LAST)
        return perr(p, bus_tok ? bus_tok : rt,
                    "an I/O window must end at or below 0xffff on the bus "
                    "(the x86 port space), got limit 0x%llx",
                    (unsigned long long)last);
    if (!io && bus < BS_4G && last >= BS_4G)
        return perr(p, rt, "a memory window must lie entirely below 4 GiB or "
                           "entirely above it on the bus (split it at bus "
                           "address 0x100000000)");
    last = bs_last(base, size);
    for (int i = 0; i < p->t->nwin; i++) {
        const struct bs_rootwin *w = &p->t->win[i];
        if (((w->flags ^ flags) & BS_RF_IO) == 0 &&
            base <= bs_last(w->base, w->size) && w->base <= last)
            return perr(p, rt, "window overlaps the %s window on line %d",
                        io ? "io" : "mem", w->line);
    }
    if (p->t->nwin >= BS_MAX_ROOT_WINDOWS)
        return perr_code(p, BS_ELIMIT, k, "too many root windows (limit %d)",
                         BS_MAX_ROOT_WINDOWS);
    int idx = bs_topo_add_window(p->t, flags, base, size);
    if (idx < 0)
        return perr_code(p, idx, k, "cannot add window (%s)",
                         bs_strerror(idx));
    p->t->win[idx].line = p->line;
    if (bus_tok && (rc = bs_topo_set_window_bus(p->t, idx, bus)))
        return perr_code(p, rc, bus_tok, "cannot translate the window (%s)",
                         bs_strerror(rc));
    p->open_hint_line = 0;
    return BS_OK;
}

/* `platform hyperv` and `framebuffer RANGE` (docs/hyperv.md). */
static int st_platform(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    if (p->depth)
        return perr(p, k, "'platform' is only allowed at top level");
    if (p->t->platform_line)
        return perr(p, k, "'platform' given twice (first on line %d)",
                    p->t->platform_line);
    if (p->ntk < 2 || !tok_is(&p->tk[1], "hyperv")) {
        struct tok a = p->ntk < 2 ? after(k) : p->tk[1];
        return perr(p, &a, "expected 'hyperv' after 'platform'%s%s%s",
                    p->ntk < 2 ? "" : ", got '",
                    p->ntk < 2 ? "" : show(&p->tk[1], b, sizeof b),
                    p->ntk < 2 ? "" : "'");
    }
    if (p->ntk > 2)
        return perr(p, &p->tk[2], "unexpected '%s' after 'platform hyperv'",
                    show(&p->tk[2], b, sizeof b));
    bs_topo_set_platform(p->t, BS_PLATFORM_HYPERV);
    p->t->platform_line = p->line;
    return BS_OK;
}

static int st_framebuffer(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    if (p->depth)
        return perr(p, k, "'framebuffer' is only allowed at top level");
    if (p->t->fb_line)
        return perr(p, k, "'framebuffer' given twice (first on line %d)",
                    p->t->fb_line);
    if (p->ntk < 2) {
        struct tok a = after(k);
        return perr(p, &a, "expected a range BASE-LIMIT or BASE+SIZE after "
                           "'framebuffer'");
    }
    uint64_t base, size;
    int rc = parse_range(p, &p->tk[1], &base, &size);
    if (rc)
        return rc;
    if (p->ntk > 2)
        return perr(p, &p->tk[2], "unexpected '%s' after the framebuffer "
                                  "range", show(&p->tk[2], b, sizeof b));
    if (bs_hv_set_framebuffer(p->t, base, size))
        return perr(p, &p->tk[1], "a framebuffer needs at least 1 MiB (VMBus "
                                  "stops halving its claim there)");
    p->t->fb_line = p->line;
    return BS_OK;
}

static const struct attr_def bridge_attrs[] = {
    {"hotplug", A_FLAG, ""},    {"io", A_VALUE, "SIZE"},
    {"mem", A_VALUE, "SIZE"},   {"pref", A_VALUE, "SIZE"},
    {"pref32", A_FLAG, ""},     {"slot", A_VALUE, "N"},
    {"fn", A_VALUE, "N"},       {"model", A_VALUE, "WORD"},
    {"win-io", A_VALUE, "BASE-LIMIT"}, {"win-mem", A_VALUE, "BASE-LIMIT"},
    {"win-pref", A_VALUE, "BASE-LIMIT"},
};
/* A Hyper-V vPCI bus (docs/hyperv.md): its domain, and when assigned its
 * config window and its low and high ranges (4 KiB granule). */
static const struct attr_def vpci_attrs[] = {
    {"domain", A_VALUE, "N"}, {"cfg", A_VALUE, "ADDR"},
    {"win-mem", A_VALUE, "BASE-LIMIT"}, {"win-pref", A_VALUE, "BASE-LIMIT"},
};
static const struct attr_def device_attrs[] = {
    {"pinned", A_FLAG, ""}, {"slot", A_VALUE, "N"}, {"fn", A_VALUE, "N"},
    {"model", A_VALUE, "WORD"}, {"vfs", A_VALUE, "N"},
};

/* kind: BS_NODE_BRIDGE, BS_NODE_DEVICE, or ST_VPCI (a bridge node flagged
 * BS_NF_VPCI). */
#define ST_VPCI 3
static int st_node(struct parser *p, int kind)
{
    const struct tok *k = &p->tk[0];
    bool vpci = kind == ST_VPCI;
    if (vpci)
        kind = BS_NODE_BRIDGE;
    const char *what = vpci ? "vpci bus" : kind == BS_NODE_BRIDGE ? "bridge"
                                                                  : "device";
    char b[64];
    int parent = cur_node(p);
    const struct bs_node *pn = &p->t->nodes[parent];
    if (pn->kind == BS_NODE_DEVICE)
        return perr(p, k,
                    "a %s cannot be inside device '%s' (line %d): only "
                    "bridges have children; '}' missing?",
                    what, pn->name, pn->line);
    if (p->ntk < 2 || tok_is(&p->tk[1], "{")) {
        struct tok a = after(k);
        return perr(p, &a, "expected a name after '%s'", what);
    }
    const struct tok *nt = &p->tk[1];
    int rc = check_word(p, nt, nt->p, nt->n, BS_NAME_MAX - 1, true, "name");
    if (rc)
        return rc;
    if (tok_is(nt, "host"))
        return perr(p, nt, "the name 'host' is reserved for the host bridge");
    char name[BS_NAME_MAX];
    memcpy(name, nt->p, nt->n);
    name[nt->n] = 0;
    int dup = bs_topo_find(p->t, name);
    if (dup >= 0)
        return perr(p, nt, "duplicate name '%s' (first used on line %d)",
                    show(nt, b, sizeof b), p->t->nodes[dup].line);

    bool brace = false;
    unsigned seen = 0;
    uint32_t flags = 0;
    uint64_t reserve[3] = {0, 0, 0}, slot = UINT64_MAX, fn = UINT64_MAX,
             vfs = 0, domain = 0, cfg = UINT64_MAX;
    /* Assigned bridge windows (win-io= ...), as written for an assigned
     * topology by bs_topo_format_assigned(). */
    uint64_t wbase[3] = {0, 0, 0}, wsize[3] = {0, 0, 0};
    const char *model = NULL;
    size_t model_n = 0;
    const struct attr_def *defs =
        vpci ? vpci_attrs : kind == BS_NODE_BRIDGE ? bridge_attrs : device_attrs;
    int ndefs = vpci ? (int)(sizeof vpci_attrs / sizeof vpci_attrs[0])
                : kind == BS_NODE_BRIDGE
                    ? (int)(sizeof bridge_attrs / sizeof bridge_attrs[0])
                    : (int)(sizeof device_attrs / sizeof device_attrs[0]);
    const char *expected =
        vpci ? "domain=, cfg=, win-mem=, win-pref= or '{'"
        : kind == BS_NODE_BRIDGE
            ? "hotplug, io=, mem=, pref=, pref32, slot=, fn=, model=, "
              "win-io=, win-mem=, win-pref= or '{'"
            : "pinned, slot=, fn=, model=, vfs= or '{'";
    for (int i = 2; i < p->ntk; i++) {
        const struct tok *a = &p->tk[i];
        if (brace)
            return perr(p, a, "unexpected '%s' after '{' (the block's "
                              "contents go on the following lines)",
                        show(a, b, sizeof b));
        if (tok_is(a, "{")) {
            brace = true;
            continue;
        }
        if (tok_is(a, "}"))
            return perr(p, a, "'}' must be on a line of its own");
        const char *v;
        size_t vn;
        int ai = match_attr(p, a, defs, ndefs, &seen,
                            vpci ? "a vpci bus"
                            : kind == BS_NODE_BRIDGE ? "a bridge" : "a device",
                            expected, &v, &vn);
        if (ai < 0)
            return ai;
        const char *key = defs[ai].key;
        if (!strcmp(key, "hotplug"))
            flags |= BS_NF_HOTPLUG;
        else if (!strcmp(key, "pref32"))
            flags |= BS_NF_PREF32;
        else if (!strcmp(key, "pinned"))
            flags |= BS_NF_PINNED;
        else if (!strcmp(key, "io") || !strcmp(key, "mem") ||
                 !strcmp(key, "pref")) {
            int r = !strcmp(key, "io") ? 0 : !strcmp(key, "mem") ? 1 : 2;
            if ((rc = want_size(p, a, v, vn, &reserve[r])))
                return rc;
        } else if (!strncmp(key, "win-", 4)) {
            int r = !strcmp(key, "win-io") ? 0 : !strcmp(key, "win-mem") ? 1 : 2;
            struct tok vt = {v, vn, a->col + (int)(v - a->p)};
            if ((rc = parse_range(p, &vt, &wbase[r], &wsize[r])))
                return rc;
            uint64_t g = r == 0 || vpci ? 4096 : BS_MIB;
            if ((wbase[r] | wsize[r]) & (g - 1))
                return perr(p, &vt, "a %s %s window is on a %s granule: "
                                    "base and size must be multiples of it",
                            vpci ? "vpci bus" : "bridge",
                            r == 0 ? "I/O" : "memory",
                            g == 4096 ? "4 KiB" : "1 MiB");
        } else if (!strcmp(key, "slot")) {
            if ((rc = want_int(p, a, v, vn, 0, 31, "slot", &slot)))
                return rc;
        } else if (!strcmp(key, "fn")) {
            if ((rc = want_int(p, a, v, vn, 0, 7, "fn", &fn)))
                return rc;
        } else if (!strcmp(key, "domain")) {
            if ((rc = want_int(p, a, v, vn, 1, 0xffff, "domain", &domain)))
                return rc;
        } else if (!strcmp(key, "cfg")) {
            if ((rc = want_addr(p, a, v, vn, &cfg)))
                return rc;
            if (cfg & (BS_HV_CFG_ALIGN - 1))
                return perr(p, a, "a config window is page aligned, got "
                                  "0x%llx", (unsigned long long)cfg);
        } else if (!strcmp(key, "vfs")) {
            if ((rc = want_int(p, a, v, vn, 1, BS_MAX_VFS, "vfs", &vfs)))
                return rc;
        } else if (!strcmp(key, "model")) {
            if ((rc = check_word(p, a, v, vn, BS_MODEL_MAX - 1, false,
                                 "model")))
                return rc;
            model = v;
            model_n = vn;
        }
    }
    if (p->depth >= BS_MAX_DEPTH)
        return perr_code(p, BS_ELIMIT, k, "nesting deeper than %d levels",
                         BS_MAX_DEPTH);
    if (p->t->nnodes >= BS_MAX_NODES)
        return perr_code(p, BS_ELIMIT, k, "more than %d nodes", BS_MAX_NODES);

    int id = vpci ? bs_hv_add_bus(p->t, name, (int)domain)
                  : bs_topo_add_node(p->t, parent, kind, name);
    if (id < 0)
        return perr_code(p, id, k, "cannot add %s '%s' (%s)", what, name,
                         bs_strerror(id));
    struct bs_node *n = &p->t->nodes[id];
    n->flags |= flags;
    if (vpci && cfg != UINT64_MAX) {
        bs_res_assign(p->t, id, BS_SLOT_BAR0, cfg, n->res[BS_SLOT_BAR0].win);
    }
    n->line = p->line;
    memcpy(n->reserve, reserve, sizeof n->reserve);
    n->slot = slot == UINT64_MAX ? -1 : (int)slot;
    n->fn = fn == UINT64_MAX ? -1 : (int)fn;
    n->num_vfs = (unsigned)vfs;
    if (model) {
        memcpy(n->model, model, model_n);
        n->model[model_n] = 0;
    }
    for (int r = 0; r < 3; r++) {
        if (!wsize[r])
            continue;
        struct bs_res *w = &n->res[BS_SLOT_WIN_IO + r];
        w->addr = wbase[r];
        w->size = w->want = wsize[r];
        w->align = r == 0 ? 4096 : vpci ? bs_hv_align(wsize[r]) : BS_MIB;
        w->flags = 0;
        w->line = p->line;
        bs_res_assign(p->t, id, BS_SLOT_WIN_IO + r, wbase[r], w->win);
    }
    if (brace) {
        struct frame *f = &p->stack[p->depth++];
        f->node = id;
        f->line = p->line;
        f->col = p->tk[p->ntk - 1].col;
        p->open_hint_line = 0;
    } else {
        p->open_hint_line = p->line;
    }
    return BS_OK;
}

/* The enclosing node for a bar/rom/vfbar line, or an error. */
static int bar_owner(struct parser *p, const char *kw, bool device_only)
{
    const struct tok *k = &p->tk[0];
    if (!p->depth) {
        if (p->open_hint_line)
            return perr(p, k, "'%s' is outside any device or bridge: '{' "
                              "missing at the end of line %d?",
                        kw, p->open_hint_line);
        return perr(p, k, "'%s' is outside any device or bridge", kw);
    }
    int id = cur_node(p);
    const struct bs_node *n = &p->t->nodes[id];
    if (n->flags & BS_NF_VPCI)
        return perr(p, k, "'%s' inside vpci bus '%s': a vPCI bus has no "
                          "registers of its own; put it in a device block",
                    kw, n->name);
    if (n->kind == BS_NODE_BRIDGE && device_only)
        return perr(p, k, "'%s' is only allowed inside a device, not in "
                          "bridge '%s'", kw, n->name);
    if (n->kind == BS_NODE_BRIDGE && n->first_child >= 0) {
        const struct bs_node *c = &p->t->nodes[n->last_child];
        if (c->first_child < 0 && p->open_hint_line == c->line)
            return perr(p, k, "'%s' after the children of bridge '%s': '{' "
                              "missing at the end of line %d?",
                        kw, n->name, c->line);
        return perr(p, k, "bridge '%s': its own '%s' lines must come before "
                          "its children", n->name, kw);
    }
    return id;
}

/* Line of whatever already occupies a slot, or 0 if it is free. */
static int slot_taken(const struct bs_node *n, int slot)
{
    const struct bs_res *r = &n->res[slot];
    if (r->size || (r->flags & BS_RF_UPPER))
        return r->line ? r->line : -1;
    return 0;
}

static int taken_err(struct parser *p, const struct tok *at,
                     const struct bs_node *n, int slot, bool vf)
{
    const struct bs_res *r = &n->res[slot];
    const char *pre = vf ? "VF BAR" : "BAR";
    int idx = vf ? slot - BS_SLOT_VF0 : slot;
    if (r->flags & BS_RF_UPPER)
        return perr(p, at, "%s %d is the upper half of the 64-bit %s %d "
                           "(line %d)", pre, idx, pre, idx - 1, r->line);
    return perr(p, at, "%s %d is already declared on line %d", pre, idx,
                r->line);
}

static int parse_rebar(struct parser *p, const struct tok *a, const char *v,
                       size_t vn, uint64_t max, uint64_t *mask)
{
    char b[64], sb[32];
    *mask = 0;
    size_t i = 0;
    while (i <= vn) {
        size_t j = i;
        while (j < vn && v[j] != ',')
            j++;
        uint64_t s;
        int rc = want_size(p, a, v + i, j - i, &s);
        if (rc)
            return rc;
        struct tok st = {v + i, j - i, a->col};
        if (!bs_is_pow2(s) || s < BS_MIB)
            return perr(p, a, "rebar size '%s' must be a power of two of at "
                              "least 1M", show(&st, b, sizeof b));
        if (s > max)
            return perr(p, a, "rebar size '%s' is larger than this BAR can "
                              "be (%s)", show(&st, b, sizeof b),
                        bs_fmt_size(max, sb, sizeof sb));
        int bit = __builtin_ctzll(s) - 20;
        if (*mask & (UINT64_C(1) << bit))
            return perr(p, a, "rebar size '%s' listed twice",
                        show(&st, b, sizeof b));
        *mask |= UINT64_C(1) << bit;
        i = j + 1;
    }
    return BS_OK;
}

/* bar N io|mem32|mem64 SIZE [pref] [fixed=ADDR] [rebar=...]
 * vfbar N mem32|mem64 SIZE [pref]
 * rom SIZE [fixed=ADDR] */
static int st_bar(struct parser *p, int what)
{
    enum { BAR, ROM, VFBAR };
    const struct tok *k = &p->tk[0];
    const char *kw = what == BAR ? "bar" : what == ROM ? "rom" : "vfbar";
    char b[64], sb[32];
    int id = bar_owner(p, kw, what == VFBAR);
    if (id < 0)
        return id;
    struct bs_node *n = &p->t->nodes[id];
    bool bridge = n->kind == BS_NODE_BRIDGE;
    int ti = 1, rc;
    uint64_t idx = 0;
    unsigned flags = 0;
    const struct tok *prev = k;

    if (what != ROM) {
        if (ti >= p->ntk) {
            struct tok a = after(prev);
            return perr(p, &a, "expected a BAR index 0..5 after '%s'", kw);
        }
        const struct tok *it = &p->tk[ti++];
        if (!parse_num(it->p, it->n, false, &idx) || idx > 5)
            return perr(p, it, "BAR index must be 0..5, got '%s'",
                        show(it, b, sizeof b));
        if (bridge && idx > 1)
            return perr(p, it, "a bridge has only BAR0 and BAR1 (type 1 "
                               "header), got BAR %d", (int)idx);
        prev = it;
        if (ti >= p->ntk) {
            struct tok a = after(prev);
            return perr(p, &a, "expected %s after the BAR index",
                        what == BAR ? "io, mem32 or mem64" : "mem32 or mem64");
        }
        const struct tok *ty = &p->tk[ti++];
        if (tok_is(ty, "io") && what == BAR)
            flags = BS_RF_IO;
        else if (tok_is(ty, "io"))
            return perr(p, ty, "VF BARs are memory only (SR-IOV has no I/O "
                               "VF BARs)");
        else if (tok_is(ty, "mem64"))
            flags = BS_RF_MEM64;
        else if (!tok_is(ty, "mem32"))
            return perr(p, ty, "expected %s, got '%s'",
                        what == BAR ? "io, mem32 or mem64" : "mem32 or mem64",
                        show(ty, b, sizeof b));
        prev = ty;
        if ((flags & BS_RF_MEM64) && idx == 5)
            return perr(p, ty, "a 64-bit BAR at index 5 would need a BAR 6, "
                               "which does not exist");
        if ((flags & BS_RF_MEM64) && bridge && idx == 1)
            return perr(p, ty, "a 64-bit BAR 1 of a bridge would need BAR 2, "
                               "which a bridge does not have");
    }
    if (ti >= p->ntk) {
        struct tok a = after(prev);
        return perr(p, &a, "expected a size (e.g. 64K, 0x1000, 2G) after "
                           "'%.*s'", (int)(prev->n > 32 ? 32 : prev->n),
                    prev->p);
    }
    const struct tok *szt = &p->tk[ti++];
    uint64_t size;
    if ((rc = want_size(p, szt, szt->p, szt->n, &size)))
        return rc;
    if (!bs_is_pow2(size))
        return perr(p, szt, "size %s is not a power of two (BARs decode "
                            "naturally aligned power-of-two ranges)",
                    show(szt, b, sizeof b));
    uint64_t max;
    if (what == ROM) {
        if (size < 2048)
            return perr(p, szt, "an expansion ROM is at least 2K, got %s",
                        show(szt, b, sizeof b));
        max = BS_GIB * 2;
    } else if (flags & BS_RF_IO) {
        if (size < 4 || size > 256)
            return perr(p, szt, "an I/O BAR is 4 to 256 bytes, got %s",
                        show(szt, b, sizeof b));
        max = 256;
    } else {
        if (size < 16)
            return perr(p, szt, "a memory BAR is at least 16 bytes, got %s",
                        show(szt, b, sizeof b));
        max = (flags & BS_RF_MEM64) ? UINT64_C(1) << 63 : BS_GIB * 2;
    }
    if (size > max)
        return perr(p, szt, "a %s is at most %s, got %s",
                    what == ROM ? "ROM" : "32-bit memory BAR",
                    bs_fmt_size(max, sb, sizeof sb), show(szt, b, sizeof b));

    uint64_t fixed = 0, rebar = 0;
    bool have_rebar = false;
    unsigned seen = 0;
    static const struct attr_def bar_attrs[] = {
        {"pref", A_FLAG, ""},
        {"at", A_VALUE, "ADDR"},
        {"fixed", A_VALUE, "ADDR"},
        {"rebar", A_VALUE, "SIZE,SIZE,..."},
    };
    static const struct attr_def rom_attrs[] = {{"at", A_VALUE, "ADDR"},
                                                {"fixed", A_VALUE, "ADDR"}};
    const struct attr_def *defs = what == ROM ? rom_attrs : bar_attrs;
    int ndefs = what == ROM ? 2 : what == VFBAR ? 3 : 4;
    const char *expected = what == ROM     ? "at= or fixed="
                           : what == VFBAR ? "pref, at= or fixed="
                                           : "pref, at=, fixed= or rebar=";
    const struct tok *fixed_tok = NULL, *at_tok = NULL;
    uint64_t at_addr = 0;
    for (; ti < p->ntk; ti++) {
        const struct tok *a = &p->tk[ti];
        if (tok_is(a, "{") || tok_is(a, "}"))
            return perr(p, a, "unexpected '%c' after a %s line", a->p[0],
                        kw);
        const char *v;
        size_t vn;
        int ai = match_attr(p, a, defs, ndefs, &seen,
                            what == ROM ? "a rom" : what == VFBAR ? "a vfbar"
                                                                  : "a bar",
                            expected, &v, &vn);
        if (ai < 0)
            return ai;
        const char *key = defs[ai].key;
        if (!strcmp(key, "pref")) {
            if (flags & BS_RF_IO)
                return perr(p, a, "an I/O BAR cannot be prefetchable");
            flags |= BS_RF_PREF;
        } else if (!strcmp(key, "fixed")) {
            if ((rc = want_addr(p, a, v, vn, &fixed)))
                return rc;
            flags |= BS_RF_FIXED;
            fixed_tok = a;
        } else if (!strcmp(key, "at")) {
            if ((rc = want_addr(p, a, v, vn, &at_addr)))
                return rc;
            at_tok = a;
        } else {
            if (flags & BS_RF_IO)
                return perr(p, a, "an I/O BAR cannot be resizable");
            if ((rc = parse_rebar(p, a, v, vn, max, &rebar)))
                return rc;
            if (size < BS_MIB ||
                !((rebar >> (__builtin_ctzll(size) - 20)) & 1))
                return perr(p, a, "rebar sizes do not include the BAR's size "
                                  "%s", bs_fmt_size(size, sb, sizeof sb));
            have_rebar = true;
        }
    }
    if (fixed_tok) {
        const struct tok *a = fixed_tok;
        if (fixed & (size - 1))
            return perr(p, a, "fixed address 0x%llx is not aligned to the "
                              "size %s", (unsigned long long)fixed,
                        bs_fmt_size(size, sb, sizeof sb));
        uint64_t last = fixed + (size - 1);
        if (last < fixed)
            return perr(p, a, "fixed address 0x%llx + size overflows 2^64",
                        (unsigned long long)fixed);
        /* Register widths bound the bus address, not the CPU's. */
        last = bs_topo_bus_addr(p->t, last, flags);
        if ((flags & BS_RF_IO) && last > IO_SPACE_LAST)
            return perr(p, a, "an I/O BAR cannot be fixed above 0xffff");
        if (!(flags & (BS_RF_IO | BS_RF_MEM64)) && last >= BS_4G)
            return perr(p, a, "a %s cannot be fixed above 4 GiB (it has "
                              "32 address bits)",
                        what == ROM ? "ROM" : "mem32 BAR");
    }

    if (at_tok) {
        /* An assigned (movable) address: aligned, and not also fixed. */
        if (fixed_tok)
            return perr(p, at_tok, "at= and fixed= together: a fixed BAR is "
                                   "always at its fixed address");
        if (at_addr & (size - 1))
            return perr(p, at_tok, "address 0x%llx is not aligned to the "
                                   "size %s", (unsigned long long)at_addr,
                        bs_fmt_size(size, sb, sizeof sb));
        if (!(flags & (BS_RF_IO | BS_RF_MEM64)) &&
            bs_topo_bus_addr(p->t, at_addr + (size - 1), flags) >= BS_4G)
            return perr(p, at_tok, "a %s cannot sit above 4 GiB (it has 32 "
                                   "address bits)",
                        what == ROM ? "ROM" : "mem32 BAR");
    }

    int slot = what == ROM ? BS_SLOT_ROM
                           : (what == VFBAR ? BS_SLOT_VF0 : BS_SLOT_BAR0) +
                                 (int)idx;
    const struct tok *at = what == ROM ? k : &p->tk[1];
    if (slot_taken(n, slot)) {
        if (what == ROM)
            return perr(p, k, "the ROM is already declared on line %d",
                        n->res[slot].line);
        return taken_err(p, at, n, slot, what == VFBAR);
    }
    if ((flags & BS_RF_MEM64) && slot_taken(n, slot + 1))
        return perr(p, at, "64-bit %s %d needs %s %d too, already declared "
                           "on line %d",
                    what == VFBAR ? "VF BAR" : "BAR", (int)idx,
                    what == VFBAR ? "VF BAR" : "BAR", (int)idx + 1,
                    n->res[slot + 1].line);
    if (what == VFBAR) {
        if (!n->num_vfs)
            return perr(p, k, "'vfbar' needs vfs=N on device '%s' (line %d)",
                        n->name, n->line);
        if (size > UINT64_MAX / n->num_vfs)
            return perr_code(p, BS_ELIMIT, szt, "VF BAR of %s x %u VFs "
                                                "overflows 64 bits",
                             bs_fmt_size(size, sb, sizeof sb), n->num_vfs);
    }
    rc = bs_topo_set_bar(p->t, id, slot, flags, size, fixed);
    if (rc)
        return perr_code(p, rc, k, "cannot set %s of '%s' (%s)",
                         bs_slot_name(slot), n->name, bs_strerror(rc));
    n->res[slot].line = p->line;
    if (at_tok) {
        if (at_addr + (n->res[slot].size - 1) < at_addr)
            return perr(p, at_tok, "address 0x%llx + size overflows 2^64",
                        (unsigned long long)at_addr);
        bs_res_assign(p->t, id, slot, at_addr, n->res[slot].win);
    }
    if (have_rebar)
        n->res[slot].rebar = rebar;
    if (flags & BS_RF_MEM64)
        n->res[slot + 1].line = p->line;
    return BS_OK;
}

static int st_close(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    if (!p->depth)
        return perr(p, k, "unexpected '}': no block is open");
    if (p->ntk > 1)
        return perr(p, &p->tk[1], "unexpected '%s' after '}'",
                    show(&p->tk[1], b, sizeof b));
    p->depth--;
    p->open_hint_line = 0;
    return BS_OK;
}

static int statement(struct parser *p)
{
    const struct tok *k = &p->tk[0];
    char b[64];
    int rc;
    if (tok_is(k, "topology"))
        return st_topology(p);
    if (!p->t && !(p->t = bs_topo_new("")))
        return BS_ENOMEM;
    if (tok_is(k, "window"))
        rc = st_window(p);
    else if (tok_is(k, "bridge"))
        rc = st_node(p, BS_NODE_BRIDGE);
    else if (tok_is(k, "device"))
        rc = st_node(p, BS_NODE_DEVICE);
    else if (tok_is(k, "vpci"))
        rc = st_node(p, ST_VPCI);
    else if (tok_is(k, "platform"))
        rc = st_platform(p);
    else if (tok_is(k, "framebuffer"))
        rc = st_framebuffer(p);
    else if (tok_is(k, "bar"))
        rc = st_bar(p, 0);
    else if (tok_is(k, "rom"))
        rc = st_bar(p, 1);
    else if (tok_is(k, "vfbar"))
        rc = st_bar(p, 2);
    else if (tok_is(k, "}"))
        rc = st_close(p);
    else if (tok_is(k, "{"))
        rc = perr(p, k, "'{' must end the line of the bridge or device it "
                        "opens");
    else
        rc = perr(p, k, "unknown keyword '%s' (expected topology, window, "
                        "bridge, device, bar, rom, vfbar, platform, "
                        "framebuffer, vpci or '}')",
                  show(k, b, sizeof b));
    return rc;
}

int bs_topo_parse(const char *text, size_t len, const char *filename,
                  bs_topo **out, bs_error *err)
{
    if (!out || (!text && len))
        return BS_EINVAL;
    *out = NULL;
    struct parser *p = calloc(1, sizeof *p);
    if (!p) {
        bs_seterr(err, BS_ENOMEM, filename, 0, 0, "out of memory");
        return BS_ENOMEM;
    }
    p->file = filename ? filename : "";
    p->err = err;
    int rc = BS_OK;
    if (len > (size_t)INT_MAX) {
        rc = BS_ELIMIT;
        bs_seterr(err, rc, p->file, 0, 0, "input larger than 2 GiB");
    }
    const char *s = text, *end = text ? text + len : NULL;
    while (!rc && s && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        p->line++;
        rc = tokenize(p, s, le);
        if (!rc && p->ntk) {
            rc = statement(p);
            p->nstmts++;
        }
        s = nl ? nl + 1 : end;
    }
    if (!rc && p->depth) {
        const struct frame *f = &p->stack[p->depth - 1];
        const struct bs_node *n = &p->t->nodes[f->node];
        bs_seterr(err, BS_EPARSE, p->file, f->line, f->col,
                  "'{' of %s '%s' is never closed (missing '}')",
                  n->kind == BS_NODE_BRIDGE ? "bridge" : "device", n->name);
        rc = BS_EPARSE;
    }
    if (!rc && (!p->t || !p->t->nwin)) {
        bs_seterr(err, BS_EPARSE, p->file, 0, 0,
                  "no root window: a topology needs at least one `window` "
                  "line");
        rc = BS_EPARSE;
    }
    if (!rc)
        rc = bs_hv_validate(p->t, p->file, err);
    if (rc == BS_ENOMEM)
        bs_seterr(err, BS_ENOMEM, p->file, p->line, 0, "out of memory");
    if (rc) {
        bs_topo_free(p->t);
    } else {
        bs_topo_locate(p->t);
        *out = p->t;
        if (err)
            memset(err, 0, sizeof *err);
    }
    free(p);
    return rc;
}

int bs_topo_load(const char *path, bs_topo **out, bs_error *err)
{
    if (!path || !out)
        return BS_EINVAL;
    *out = NULL;
    char *buf;
    size_t len;
    int rc = bs_read_text_file(path, BS_MAX_TOPO_FILE, &buf, &len, err);
    if (!rc)
        rc = bs_topo_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}
