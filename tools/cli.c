#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_print_error(const bs_error *e)
{
    char buf[600];
    bs_error_format(e, buf, sizeof buf);
    fprintf(stderr, "barspace: %s\n", buf);
}

int cli_lib_error(int rc, const bs_error *e)
{
    if (rc == BS_ENOMEM)
        fprintf(stderr, "barspace: out of memory\n");
    else
        cli_print_error(e);
    return EXIT_BADINPUT;
}

bs_topo *cli_load_topo(const char *path)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    if (bs_topo_load(path, &t, &e) != BS_OK) {
        cli_print_error(&e);
        return NULL;
    }
    return t;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    unsigned shift = 0;
    if (*end) {
        switch (*end) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        case 'P': case 'p': shift = 50; break;
        default: return false;
        }
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "B"))
            end += strlen(end);
        if (*end)
            return false;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

bool cli_is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}

const char *cli_size(uint64_t v)
{
    /* Exact multiples print as "64K"/"128G"; other sizes of 1K and more
     * with one decimal in the largest unit ("996.1M"), so tables stay
     * narrow and readable. */
    static char ring[8][32];
    static int k;
    char *b = ring[k++ & 7];
    static const char unit[] = "KMGTPE";
    int u = -1;
    uint64_t x = v;
    while (x && x % 1024 == 0 && u < 5) {
        x /= 1024;
        u++;
    }
    if (u >= 0 && x < 1024) {
        snprintf(b, 32, "%llu%c", (unsigned long long)x, unit[u]);
        return b;
    }
    if (v < 1024) {
        snprintf(b, 32, "%llu", (unsigned long long)v);
        return b;
    }
    double d = (double)v;
    u = -1;
    while (d >= 1024.0 && u < 5) {
        d /= 1024.0;
        u++;
    }
    snprintf(b, 32, "%.1f%c", d, unit[u]);
    return b;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "barspace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'barspace %s --help')\n", cmd);
    return EXIT_BADINPUT;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

char *cli_read_stream(FILE *f, size_t max, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = cap < max ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got)
            break;
        n += got;
    }
    *len = n;
    return b;
}

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = cli_read_stream(f, SIZE_MAX, len);
    fclose(f);
    return b;
}
