#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ options */

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

int cli_help(const cli_cmd *c)
{
    fputs(c->usage, stdout);
    return EXIT_OK;
}

int cli_parse_exit(int rc)
{
    return rc == CLI_HELP ? EXIT_OK : EXIT_BADINPUT;
}

static const cli_opt *find_opt(const cli_cmd *c, const char *a, size_t n)
{
    for (const cli_opt *o = c->opts; o && o->name; o++)
        if (strlen(o->name) == n && !strncmp(o->name, a, n))
            return o;
    return NULL;
}

/* "a|b|c": the index of v, -1 if it is not one of them. */
static int choice_index(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == vl && !strncmp(p, v, n))
            return i;
        if (!e)
            break;
        p = e + 1;
    }
    return -1;
}

/* "2M,2304K,3M" into l; false after the message. */
static bool store_sizes(const cli_cmd *c, const cli_opt *o, const char *v,
                        cli_sizes *l)
{
    char one[64];
    l->n = 0;
    l->set = 1;
    for (const char *p = v;; p++) {
        size_t n = strcspn(p, ",");
        if (l->n == (int)(sizeof l->v / sizeof l->v[0]) || n >= sizeof one) {
            cli_usage_error(c->name, "%s: at most %d sizes", o->name, l->n);
            return false;
        }
        memcpy(one, p, n);
        one[n] = 0;
        if (bs_parse_size(one, &l->v[l->n++]) != BS_OK) {
            cli_usage_error(c->name, "%s: expected sizes such as 2M,3M, got "
                            "'%s'", o->name, one);
            return false;
        }
        p += n;
        if (!*p)
            return true;
    }
}

/* Store the value of option o into args; false after the message. */
static bool store(const cli_cmd *c, const cli_opt *o, const char *v, char *args)
{
    void *dst = args + o->off;
    uint64_t u;
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)dst = o->value ? o->value : 1;
        return true;
    case CLI_STR:
        *(const char **)dst = v;
        return true;
    case CLI_SIZE:
        if (bs_parse_size(v, (uint64_t *)dst) == BS_OK)
            return true;
        cli_usage_error(c->name, "%s: expected a size such as 64K, 2M+4K or "
                        "0x200000, got '%s'", o->name, v);
        return false;
    case CLI_NUM: {
        int rc = bs_parse_number(v, &u);
        if (rc == BS_OK && u >= o->min && (!o->max || u <= o->max)) {
            *(uint64_t *)dst = u;
            return true;
        }
        if (rc == BS_OK || rc == BS_ELIMIT)
            cli_usage_error(c->name, "%s: %s is out of range (%llu..%llu)",
                            o->name, v, (unsigned long long)o->min,
                            (unsigned long long)(o->max ? o->max : UINT64_MAX));
        else
            cli_usage_error(c->name, "%s: expected a number, got '%s'",
                            o->name, v);
        return false;
    }
    case CLI_SECS: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (*v && !*end && !errno && d >= 0 && d <= 1e9) {
            *(double *)dst = d;
            return true;
        }
        cli_usage_error(c->name, "%s: expected seconds such as 0.0001, got "
                        "'%s'", o->name, v);
        return false;
    }
    case CLI_POLICY: {
        cli_policy *p = dst;
        bs_error e = {0};
        if (bs_policy_parse(v, &p->policy, &p->kernel, &e) == BS_OK) {
            p->set = 1;
            return true;
        }
        cli_usage_error(c->name, "%s: %s", o->name, e.msg);
        return false;
    }
    case CLI_LIST: {
        cli_list *l = dst;
        if (l->n < (int)(sizeof l->v / sizeof l->v[0])) {
            l->v[l->n++] = v;
            return true;
        }
        cli_usage_error(c->name, "%s: at most %d", o->name, l->n);
        return false;
    }
    case CLI_SIZES:
        return store_sizes(c, o, v, dst);
    case CLI_CHOICE: {
        int i = choice_index(o->choices, v);
        if (i >= 0) {
            *(int *)dst = i;
            return true;
        }
        cli_usage_error(c->name, "%s: expected %s, got '%s'", o->name,
                        o->choices, v);
        return false;
    }
    }
    return false;
}

/* Two different options that set the same field refuse each other. */
static bool conflicts(const cli_cmd *c, const cli_opt **seen, int nseen,
                      const cli_opt *o)
{
    for (int i = 0; i < nseen; i++)
        if (seen[i] != o && seen[i]->off == o->off) {
            cli_usage_error(c->name, "%s and %s cannot be used together",
                            seen[i]->name, o->name);
            return true;
        }
    return false;
}

static bool takes_value(const cli_opt *o)
{
    return o->kind != CLI_FLAG;
}

int cli_parse(const cli_cmd *c, int argc, char **argv, void *args, int *n)
{
    const cli_opt *seen[64];
    int nseen = 0, nops = 0;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (opts_done || a[0] != '-' || !a[1]) {
            argv[nops++] = a; /* nops <= i - 1: never overwrites ahead */
            continue;
        }
        if (!strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return cli_help(c), CLI_HELP;
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = find_opt(c, a, nl);
        if (!o) {
            cli_usage_error(c->name, "unknown option '%.*s'", (int)nl, a);
            return CLI_BAD;
        }
        const char *v = NULL;
        if (takes_value(o)) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else {
                cli_usage_error(c->name, "option '%s' needs a value (%s)",
                                o->name, o->meta ? o->meta : "VALUE");
                return CLI_BAD;
            }
        } else if (eq) {
            cli_usage_error(c->name, "option '%s' takes no value", o->name);
            return CLI_BAD;
        }
        if (conflicts(c, seen, nseen, o) || !store(c, o, v, args))
            return CLI_BAD;
        if (nseen < (int)(sizeof seen / sizeof seen[0]))
            seen[nseen++] = o;
    }
    const char *what = c->operand ? c->operand : "FILE";
    if (nops < c->min_operands) {
        cli_usage_error(c->name, "missing %s", what);
        return CLI_BAD;
    }
    if (c->max_operands >= 0 && nops > c->max_operands) {
        cli_usage_error(c->name, "unexpected argument '%s' (one %s only)",
                        argv[c->max_operands], what);
        return CLI_BAD;
    }
    *n = nops;
    return CLI_RUN;
}

/* ------------------------------------------------------------- input */

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

const char *cli_input_name(const char *path)
{
    return strcmp(path, "-") ? path : "<stdin>";
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
    if (b && ferror(f)) {
        free(b);
        b = NULL;
    }
    *len = n;
    return b;
}

char *cli_read_input(const char *path, size_t max, size_t *len)
{
    if (strcmp(path, "-")) {
        char *buf = NULL;
        bs_error e = {0};
        if (bs_read_text_file(path, max, &buf, len, &e) != BS_OK) {
            cli_print_error(&e);
            return NULL;
        }
        return buf;
    }
    char *b = cli_read_stream(stdin, max, len);
    if (!b)
        fprintf(stderr, "barspace: cannot read <stdin>: %s\n",
                ferror(stdin) ? strerror(errno)
                              : "larger than the limit, or out of memory");
    return b;
}

bs_topo *cli_load_topo(const char *path)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    int rc;
    if (!strcmp(path, "-")) {
        size_t len;
        char *text = cli_read_input(path, BS_MAX_TOPO_FILE, &len);
        if (!text)
            return NULL;
        rc = bs_topo_parse(text, len, "<stdin>", &t, &e);
        free(text);
    } else {
        rc = bs_topo_load(path, &t, &e);
    }
    if (rc != BS_OK) {
        cli_print_error(&e);
        return NULL;
    }
    return t;
}

/* ------------------------------------------------------------ output */

/* The errno of the first failed write to a file, for its message at close:
 * by then fflush may have nothing left to fail on. */
static int write_errno;

size_t cli_put(FILE *f, const void *buf, size_t len)
{
    size_t n = fwrite(buf, 1, len, f);
    if (n != len && !write_errno)
        write_errno = errno;
    return n;
}

void cli_write_error(const char *path, int errnum)
{
    fprintf(stderr, "barspace: cannot write %s: %s\n",
            strcmp(path, "-") ? path : "<stdout>",
            strerror(errnum ? errnum : EIO));
}

FILE *cli_open_out(const char *path)
{
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        cli_write_error(path, errno);
    return f;
}

int cli_close_out(FILE *f, const char *path)
{
    if (!f)
        return EXIT_OK;
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno ? errno : write_errno;
    if (f != stdout && fclose(f) && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        cli_write_error(path, e);
        return EXIT_BADINPUT;
    }
    return EXIT_OK;
}

int cli_write_file(const char *path, const char *buf, size_t len)
{
    FILE *f = cli_open_out(path);
    if (!f)
        return EXIT_BADINPUT;
    cli_put(f, buf, len);
    return cli_close_out(f, path);
}

int cli_finish_stdout(void)
{
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno ? errno : write_errno;
    if (!bad)
        return EXIT_OK;
    cli_write_error("-", e);
    return EXIT_BADINPUT;
}

/* ------------------------------------------------------------ printing */

const char *cli_size(uint64_t v)
{
    static char ring[8][32];
    static int k;
    return bs_fmt_size(v, ring[k++ & 7], sizeof ring[0]);
}

const char *cli_duration(uint64_t ns)
{
    static char ring[4][32];
    static int k;
    char *b = ring[k++ & 3];
    if (ns >= 1000000000)
        snprintf(b, 32, "%.2f s", (double)ns / 1e9);
    else if (ns >= 1000000)
        snprintf(b, 32, "%.2f ms", (double)ns / 1e6);
    else if (ns >= 1000)
        snprintf(b, 32, "%.1f us", (double)ns / 1e3);
    else
        snprintf(b, 32, "%llu ns", (unsigned long long)ns);
    return b;
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
