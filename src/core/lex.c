/*
 * The one lexer of numbers, sizes and PCI addresses; the grammar is in
 * lex.h and docs/topology-format.md.  Pure functions over (pointer,
 * length), so a parser can hand in a token without copying it.
 */
#include "core/lex.h"

#include "barspace/barspace.h"

#include <stdio.h>
#include <string.h>

int bs_lex_xdigit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* One term: a number and, with units, its unit.  *i advances past it. */
static int term(const char *s, size_t n, size_t *i, bool units, uint64_t *out)
{
    size_t k = *i;
    unsigned base = 10;
    if (n - k >= 2 && s[k] == '0' && lower(s[k + 1]) == 'x') {
        base = 16;
        k += 2;
    }
    size_t start = k;
    uint64_t v = 0;
    bool big = false;
    for (; k < n; k++) {
        int d = bs_lex_xdigit((unsigned char)s[k]);
        if (d < 0 || (unsigned)d >= base)
            break;
        if (v > (UINT64_MAX - (unsigned)d) / base)
            big = true;
        v = v * base + (unsigned)d;
    }
    if (k == start)
        return BS_EPARSE;
    if (units && k < n) {
        static const char unit[] = "kmgtpe";
        int c = lower((unsigned char)s[k]);
        for (unsigned u = 0; u < sizeof unit - 1; u++)
            if (c == unit[u]) {
                unsigned shift = 10u * (u + 1);
                k++;
                if (k + 1 < n && lower(s[k]) == 'i' && lower(s[k + 1]) == 'b')
                    k += 2;
                else if (k < n && lower(s[k]) == 'b')
                    k++;
                if (v > (UINT64_MAX >> shift))
                    big = true;
                v <<= shift;
                break;
            }
    }
    *i = k;
    *out = v;
    return big ? BS_ELIMIT : BS_OK;
}

int bs_lex_u64(const char *s, size_t n, unsigned flags, uint64_t *out)
{
    size_t i = 0;
    uint64_t sum = 0;
    int rc = BS_OK;
    for (;;) {
        uint64_t v;
        int t = term(s, n, &i, flags & BS_LEX_UNITS, &v);
        if (t == BS_EPARSE)
            return BS_EPARSE;
        if (t || sum + v < sum)
            rc = BS_ELIMIT;
        sum += v;
        if (i < n && s[i] == '+' && (flags & BS_LEX_SUM)) {
            i++;
            continue;
        }
        break;
    }
    if (i != n)
        return BS_EPARSE;
    if (rc == BS_OK)
        *out = sum;
    return rc;
}

/* Exactly `w` hex digits (w > 0), or 1..max digits when w == 0. */
static size_t field(const char *s, size_t n, size_t w, size_t max,
                    unsigned *out)
{
    unsigned v = 0;
    size_t k = 0;
    size_t lim = w ? w : max;
    for (; k < lim && k < n; k++) {
        int d = bs_lex_xdigit((unsigned char)s[k]);
        if (d < 0)
            break;
        v = v * 16 + (unsigned)d;
    }
    if (!k || (w && k != w))
        return 0;
    *out = v;
    return k;
}

size_t bs_lex_bdf(const char *s, size_t n, unsigned flags, unsigned *dom,
                  unsigned *bus, unsigned *dev, unsigned *fn)
{
    bool fixed = flags & BS_LEX_BDF_FIXED;
    unsigned f[4] = {0, 0, 0, 0};
    size_t k = 0, got[3];
    /* Up to three ':'-separated fields before the '.'. */
    int nf = 0;
    for (;;) {
        size_t m = field(s + k, n - k, 0, 4, &f[nf]);
        if (!m)
            return 0;
        got[nf] = m;
        k += m;
        nf++;
        if (nf == 3 || k >= n || s[k] != ':')
            break;
        k++;
    }
    if (nf < 2 || k >= n || s[k] != '.')
        return 0;
    k++;
    size_t m = field(s + k, n - k, 1, 1, &f[3]);
    if (!m)
        return 0;
    k += m;
    unsigned d = nf == 3 ? f[0] : 0, b = f[nf - 2], v = f[nf - 1];
    if ((flags & BS_LEX_BDF_DOMAIN) && nf != 3)
        return 0;
    if (fixed && ((nf == 3 && got[0] != 4) || got[nf - 2] != 2 ||
                  got[nf - 1] != 2 || (k < n && bs_lex_xdigit((unsigned char)s[k]) >= 0)))
        return 0;
    if (b > 0xff || v > 31 || f[3] > 7 || (nf == 2 && got[0] > 2) ||
        got[nf - 1] > 2)
        return 0;
    *dom = d;
    *bus = b;
    *dev = v;
    *fn = f[3];
    return k;
}

int bs_parse_size(const char *s, uint64_t *out)
{
    return s ? bs_lex_u64(s, strlen(s), BS_LEX_SIZE, out) : BS_EPARSE;
}

int bs_parse_number(const char *s, uint64_t *out)
{
    return s ? bs_lex_u64(s, strlen(s), 0, out) : BS_EPARSE;
}

/* The largest unit (0 = bytes, 1 = K, ...) not above v. */
static int unit_of(uint64_t v)
{
    int u = 0;
    while (u < 6 && (v >> (10 * (u + 1))))
        u++;
    return u;
}

/* "q" followed by unit u's letter; u == 0 prints bytes. */
static int term_fmt(char *buf, size_t cap, uint64_t q, int u)
{
    static const char unit[] = " KMGTPE";
    if (!u)
        return snprintf(buf, cap, "%llu", (unsigned long long)q);
    return snprintf(buf, cap, "%llu%c", (unsigned long long)q, unit[u]);
}

/* Whole-unit form "kU" when v is a multiple of some unit with k < 1024
 * (or of E); false otherwise. */
static bool one_term(uint64_t v, char *buf, size_t cap)
{
    int u = 0;
    while (u < 6 && v && !(v & ((UINT64_C(1) << (10 * (u + 1))) - 1)))
        u++;
    uint64_t q = v >> (10 * u);
    if (q >= 1024 && u < 6)
        return false;
    term_fmt(buf, cap, q, u);
    return true;
}

const char *bs_fmt_size(uint64_t v, char *buf, size_t cap)
{
    /* Exact, short and read back by bs_parse_size: a size that is not a
     * whole number of units shows its remainder rather than rounding
     * ("128.0G" would hide 32M): up to three terms, else hex. */
    char t[3][32];
    int nt = 0;
    uint64_t rest = v;
    while (nt < 3 && !one_term(rest, t[nt], sizeof t[nt])) {
        int u = unit_of(rest);
        uint64_t mask = (UINT64_C(1) << (10 * u)) - 1;
        term_fmt(t[nt++], sizeof t[0], rest >> (10 * u), u);
        rest &= mask;
    }
    if (nt == 3) {
        snprintf(buf, cap, "0x%llx", (unsigned long long)v);
        return buf;
    }
    nt++; /* the last, whole-unit term */
    size_t o = 0;
    for (int i = 0; i < nt && o < cap; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s", i ? "+" : "", t[i]);
        o += n > 0 ? (size_t)n : 0;
    }
    return buf;
}
