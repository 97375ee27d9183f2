/*
 * Fleet studies (docs/fleet.md): independent churn histories summed into
 * the probability of a failed hot-add within a VM-year, per workload,
 * policy and gap size.
 *
 * History i of a study is (workload w, gap g, seed k) with
 * i = (w * ngaps + g) * seeds + k; its generator seed is study seed + k, so
 * the same k gives the same event stream at every gap size (common random
 * numbers: the curves differ by the gap, not by luck).  Runs carry only
 * integers, and the summary sums integers, so any split into shards, merged
 * in any order, gives byte-identical tables.
 */
#include "churn/churn_internal.h"
#include "barspace/fleet.h"
#include "barspace/render.h"
#include "render/render_internal.h" /* the buffer writer (rw_*) */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pol_names[BS_FLEET_NPOLICIES] = {
    "firstfit", "bestfit", "relocate"};

const char *bs_fleet_policy_name(int p)
{
    return p >= 0 && p < BS_FLEET_NPOLICIES ? pol_names[p] : "?";
}

void bs_fleet_study_init(bs_fleet_study *s)
{
    memset(s, 0, sizeof *s);
    s->seed = 1;
    s->events_per_year = 24;
    s->years = 1;
    s->nshards = 1;
}

uint64_t bs_fleet_histories(const bs_fleet_study *s)
{
    return (uint64_t)s->nworkloads * (uint64_t)s->ngaps * s->seeds;
}

/* ---- one history ---- */

int bs_fleet_run_history(const bs_fleet_study *s, uint64_t i, int policy,
                         bs_fleet_run *out, bs_error *err)
{
    memset(out, 0, sizeof *out);
    if (i >= bs_fleet_histories(s) || policy < 0 ||
        policy >= BS_FLEET_NPOLICIES || s->events_per_year < 1 ||
        s->years < 1) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "no history %" PRIu64, i);
        return BS_EINVAL;
    }
    uint64_t k = i % s->seeds;
    int g = (int)(i / s->seeds % (uint64_t)s->ngaps);
    int w = (int)(i / s->seeds / (uint64_t)s->ngaps);
    const char *wl = s->workloads[w];
    if (strlen(wl) >= BS_FLEET_SPEC_MAX || strstr(wl, "gap=")) {
        bs_seterr(err, BS_EINVAL, NULL, 0, 0, "workload '%s': at most %d "
                  "characters, without gap= (the study sets it)", wl,
                  BS_FLEET_SPEC_MAX - 1);
        return BS_EINVAL;
    }
    char spec[BS_FLEET_SPEC_MAX + 40];
    snprintf(spec, sizeof spec, "%s%sgap=%" PRIu64, wl,
             strchr(wl, ':') ? "," : ":", s->gaps[g]);
    snprintf(out->workload, sizeof out->workload, "%s", wl);
    out->gap = s->gaps[g];
    out->seed = s->seed + k;
    out->policy = policy;
    out->years = s->years;
    out->first_failure = -1;

    bs_churn_gen *gen = NULL;
    int rc = bs_churn_gen_new(spec, out->seed, &gen, err);
    if (rc)
        return rc;
    bs_churn_opts o;
    bs_churn_opts_init(&o, policy == BS_FLEET_FIRSTFIT ? BS_PLACE_LINUX
                                                       : BS_PLACE_BARSPACE);
    o.moves = policy == BS_FLEET_RELOCATE;
    o.reduce = 0;
    o.explain = 0;
    bs_churn *c = NULL;
    rc = bs_churn_new(bs_churn_gen_topo(gen), &o, &c, err);
    if (rc == BS_ENOSPC) {
        /* The gap cannot even hold the VM's starting devices. */
        out->failed = out->failed_year1 = 1;
        out->first_failure = 0;
        bs_churn_gen_free(gen);
        return BS_OK;
    }
    int n = s->years * s->events_per_year;
    for (int e = 0; !rc && e < n; e++) {
        bs_event ev;
        bs_event_result res;
        if ((rc = bs_churn_gen_next(gen, &ev)) ||
            (rc = bs_churn_apply(c, &ev, &res, err)))
            break;
        out->events++;
        if (ev.kind == BS_EV_ADD || ev.kind == BS_EV_REPLACE)
            out->adds++;
        if (res.outcome == BS_OUT_FAILED) {
            out->failed++;
            if (out->first_failure < 0)
                out->first_failure = e;
            if (e < s->events_per_year)
                out->failed_year1 = 1;
        }
        out->moves += res.moves;
        out->bytes_moved += res.bytes_moved;
        out->downtime_ns += res.downtime_ns;
    }
    bs_churn_free(c);
    bs_churn_gen_free(gen);
    return rc;
}

/* ---- JSON lines ---- */

size_t bs_fleet_run_format(const bs_fleet_run *r, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
                     "{\"schema\":\"barspace.fleet-run/1\",\"workload\":\"%s\","
                     "\"gap\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"policy\":\"%s\","
                     "\"years\":%d,\"events\":%d,\"adds\":%d,\"failed\":%d,"
                     "\"first_failure\":%d,\"failed_year1\":%d,\"moves\":%d,"
                     "\"bytes_moved\":%" PRIu64 ",\"downtime_ns\":%" PRIu64 "}",
                     r->workload, r->gap, r->seed, bs_fleet_policy_name(r->policy),
                     r->years, r->events, r->adds, r->failed, r->first_failure,
                     r->failed_year1, r->moves, r->bytes_moved, r->downtime_ns);
    return n < 0 ? 0 : (size_t)n;
}

struct jp {
    const char *p, *e;
};

static void ws(struct jp *j)
{
    while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static bool lit(struct jp *j, char c)
{
    ws(j);
    if (j->p < j->e && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

/* A string of spec characters (no escapes: what the writer writes). */
static bool str(struct jp *j, char *out, size_t cap)
{
    if (!lit(j, '"'))
        return false;
    size_t n = 0;
    while (j->p < j->e && *j->p != '"') {
        char c = *j->p++;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || strchr(":=,._-/", c);
        if (!ok || n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = 0;
    return j->p < j->e && *j->p++ == '"';
}

static bool num(struct jp *j, int64_t lo, uint64_t hi, uint64_t *v, bool *neg)
{
    ws(j);
    *neg = j->p < j->e && *j->p == '-';
    if (*neg) {
        j->p++;
        if (lo >= 0)
            return false;
    }
    uint64_t x = 0;
    const char *s = j->p;
    while (j->p < j->e && *j->p >= '0' && *j->p <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(*j->p++ - '0');
    }
    *v = x;
    return j->p > s && (*neg ? x <= (uint64_t)-lo : x <= hi);
}

int bs_fleet_run_parse(const char *line, size_t len, const char *file,
                       int lineno, bs_fleet_run *out, bs_error *err)
{
    static const char *const keys[] = {
        "schema", "workload", "gap", "seed", "policy", "years", "events",
        "adds", "failed", "first_failure", "failed_year1", "moves",
        "bytes_moved", "downtime_ns"};
    enum { NK = sizeof keys / sizeof keys[0] };
    memset(out, 0, sizeof *out);
    struct jp j = {line, line + len};
    unsigned seen = 0;
    char key[32], sv[BS_FLEET_SPEC_MAX];
    const char *why = "expected '{'";
    if (!lit(&j, '{'))
        goto bad;
    do {
        why = "expected a \"key\":";
        if (!str(&j, key, sizeof key) || !lit(&j, ':'))
            goto bad;
        int k = 0;
        while (k < NK && strcmp(key, keys[k]))
            k++;
        why = "unknown or repeated key";
        if (k == NK || (seen & (1u << k)))
            goto bad;
        seen |= 1u << k;
        uint64_t v = 0;
        bool neg = false;
        why = "bad value";
        if (k == 0 || k == 1 || k == 4) {
            if (!str(&j, sv, sizeof sv))
                goto bad;
            if (k == 0 && strcmp(sv, "barspace.fleet-run/1"))
                goto bad;
            if (k == 1)
                snprintf(out->workload, sizeof out->workload, "%s", sv);
            if (k == 4) {
                out->policy = -1;
                for (int p = 0; p < BS_FLEET_NPOLICIES; p++)
                    if (!strcmp(sv, pol_names[p]))
                        out->policy = p;
                if (out->policy < 0)
                    goto bad;
            }
            continue;
        }
        bool small = k != 2 && k != 3 && k != 12 && k != 13;
        if (!num(&j, k == 9 ? -1 : 0, small ? INT32_MAX : UINT64_MAX, &v,
                 &neg))
            goto bad;
        int iv = neg ? -(int)v : (int)v;
        switch (k) {
        case 2: out->gap = v; break;
        case 3: out->seed = v; break;
        case 5: out->years = iv; break;
        case 6: out->events = iv; break;
        case 7: out->adds = iv; break;
        case 8: out->failed = iv; break;
        case 9: out->first_failure = iv; break;
        case 10: out->failed_year1 = iv; break;
        case 11: out->moves = iv; break;
        case 12: out->bytes_moved = v; break;
        default: out->downtime_ns = v; break;
        }
    } while (lit(&j, ','));
    why = "expected '}' at the end of the run";
    if (!lit(&j, '}'))
        goto bad;
    ws(&j);
    why = "unexpected text after the run";
    if (j.p != j.e)
        goto bad;
    why = "a key is missing";
    if (seen != (1u << NK) - 1)
        goto bad;
    why = "inconsistent counts";
    if (out->years < 1 || out->failed > out->adds + 1 ||
        out->failed_year1 > 1 || (out->failed > 0) != (out->first_failure >= 0))
        goto bad;
    return BS_OK;
bad:
    bs_seterr(err, BS_EPARSE, file, lineno, (int)(j.p - line) + 1,
              "not a fleet run (%s); expected a line of barspace fleet -o",
              why);
    return BS_EPARSE;
}

/* ---- summary ---- */

struct row {
    char workload[BS_FLEET_SPEC_MAX];
    int policy;
    uint64_t gap;
    uint64_t runs, years, failed_runs, adds, failed, moves, bytes, ns;
    uint64_t *seeds;    /* open addressing, seed + 1 (0 = empty): a run
                           merged twice is an error, not a double count */
    size_t scap;
};

struct bs_fleet_sum {
    struct row *r;
    size_t n, cap;
};

bs_fleet_sum *bs_fleet_sum_new(void) { return calloc(1, sizeof(bs_fleet_sum)); }

void bs_fleet_sum_free(bs_fleet_sum *s)
{
    if (s) {
        for (size_t i = 0; i < s->n; i++)
            free(s->r[i].seeds);
        free(s->r);
    }
    free(s);
}

static int row_cmp(const struct row *a, const char *w, int p, uint64_t g)
{
    int c = strcmp(a->workload, w);
    if (c)
        return c;
    if (a->policy != p)
        return a->policy < p ? -1 : 1;
    return a->gap < g ? -1 : a->gap > g;
}

int bs_fleet_sum_add(bs_fleet_sum *s, const bs_fleet_run *r)
{
    /* Rows stay sorted (workload, policy, gap): the table's order. */
    size_t at = 0;
    while (at < s->n && row_cmp(&s->r[at], r->workload, r->policy, r->gap) < 0)
        at++;
    if (at == s->n || row_cmp(&s->r[at], r->workload, r->policy, r->gap)) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 16;
            struct row *nr = realloc(s->r, sizeof *nr * nc);
            if (!nr)
                return BS_ENOMEM;
            s->r = nr;
            s->cap = nc;
        }
        memmove(s->r + at + 1, s->r + at, sizeof *s->r * (s->n - at));
        memset(&s->r[at], 0, sizeof s->r[at]);
        snprintf(s->r[at].workload, sizeof s->r[at].workload, "%s",
                 r->workload);
        s->r[at].policy = r->policy;
        s->r[at].gap = r->gap;
        s->n++;
    }
    struct row *w = &s->r[at];
    if (2 * (w->runs + 1) > w->scap) {
        size_t nc = w->scap ? w->scap * 2 : 64;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return BS_ENOMEM;
        for (size_t i = 0; i < w->scap; i++)
            if (w->seeds[i]) {
                size_t h = (size_t)(w->seeds[i] * 0x9e3779b97f4a7c15ull) & (nc - 1);
                while (ns[h])
                    h = (h + 1) & (nc - 1);
                ns[h] = w->seeds[i];
            }
        free(w->seeds);
        w->seeds = ns;
        w->scap = nc;
    }
    uint64_t key = r->seed + 1;
    size_t h = (size_t)(key * 0x9e3779b97f4a7c15ull) & (w->scap - 1);
    while (w->seeds[h] && w->seeds[h] != key)
        h = (h + 1) & (w->scap - 1);
    if (w->seeds[h])
        return BS_EINVAL; /* the same run twice */
    w->seeds[h] = key;
    w->runs++;
    w->years += (uint64_t)r->years;
    w->failed_runs += (uint64_t)r->failed_year1;
    w->adds += (uint64_t)r->adds;
    w->failed += (uint64_t)r->failed;
    w->moves += (uint64_t)r->moves;
    w->bytes += r->bytes_moved;
    w->ns += r->downtime_ns;
    return BS_OK;
}

uint64_t bs_fleet_sum_runs(const bs_fleet_sum *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->r[i].runs;
    return n;
}

uint64_t bs_fleet_sum_vm_years(const bs_fleet_sum *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->r[i].years;
    return n;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

size_t bs_fleet_sum_table(const bs_fleet_sum *s, char *buf, size_t cap)
{
    struct rw o;
    rw_init(&o, buf, cap);
    rw_printf(&o, "%-24s %-9s %8s %8s %9s %10s %10s %10s %12s\n", "workload",
        "policy", "gap", "runs", "VM-years", "P(fail 1y)", "fail/1k add",
        "moves/VMy", "downtime/mv");
    char g[32];
    for (size_t i = 0; i < s->n; i++) {
        const struct row *r = &s->r[i];
        rw_printf(&o, "%-24s %-9s %8s %8" PRIu64 " %9" PRIu64 " %10.4f %10.2f "
                "%10.3f %9.2f ms\n",
            r->workload, bs_fleet_policy_name(r->policy),
            bs_fmt_size(r->gap, g, sizeof g), r->runs, r->years,
            ratio(r->failed_runs, r->runs), 1000 * ratio(r->failed, r->adds),
            ratio(r->moves, r->years), ratio(r->ns, r->moves) / 1e6);
    }
    return o.len;
}

size_t bs_fleet_sum_json(const bs_fleet_sum *s, char *buf, size_t cap)
{
    struct rw o;
    rw_init(&o, buf, cap);
    rw_printf(&o, "{\"schema\":\"barspace.fleet/1\",\"runs\":%" PRIu64
            ",\"vm_years\":%" PRIu64 ",\"rows\":[",
        bs_fleet_sum_runs(s), bs_fleet_sum_vm_years(s));
    for (size_t i = 0; i < s->n; i++) {
        const struct row *r = &s->r[i];
        rw_printf(&o, "%s{\"workload\":\"%s\",\"policy\":\"%s\",\"gap\":%" PRIu64
                ",\"runs\":%" PRIu64 ",\"vm_years\":%" PRIu64
                ",\"failed_runs\":%" PRIu64 ",\"p_fail_year\":%.6f,"
                "\"adds\":%" PRIu64 ",\"failed_adds\":%" PRIu64
                ",\"moves\":%" PRIu64 ",\"bytes_moved\":%" PRIu64
                ",\"downtime_ns\":%" PRIu64 "}",
            i ? "," : "", r->workload, bs_fleet_policy_name(r->policy), r->gap,
            r->runs, r->years, r->failed_runs, ratio(r->failed_runs, r->runs),
            r->adds, r->failed, r->moves, r->bytes, r->ns);
    }
    rw_printf(&o, "]}\n");
    return o.len;
}

int bs_fleet_sum_svg(const bs_fleet_sum *s, char *buf, size_t cap,
                     size_t *len)
{
    /* One series per (workload, policy): consecutive rows. */
    size_t ns = 0;
    for (size_t i = 0; i < s->n; i++)
        ns += i == 0 || row_cmp(&s->r[i - 1], s->r[i].workload,
                                s->r[i].policy, s->r[i - 1].gap) != 0;
    bs_plot_series *ser = calloc(ns ? ns : 1, sizeof *ser);
    double *xy = malloc(sizeof *xy * 2 * (s->n ? s->n : 1));
    char (*labels)[BS_FLEET_SPEC_MAX + 16] = calloc(ns ? ns : 1,
                                                     sizeof *labels);
    if (!ser || !xy || !labels) {
        free(ser);
        free(xy);
        free(labels);
        return BS_ENOMEM;
    }
    size_t k = (size_t)-1;
    for (size_t i = 0; i < s->n; i++) {
        const struct row *r = &s->r[i];
        if (i == 0 || row_cmp(&s->r[i - 1], r->workload, r->policy,
                              s->r[i - 1].gap) != 0) {
            k++;
            snprintf(labels[k], sizeof labels[k], "%s %s", r->workload,
                     bs_fleet_policy_name(r->policy));
            ser[k].label = labels[k];
            ser[k].x = xy + i;
            ser[k].y = xy + s->n + i;
        }
        xy[i] = (double)r->gap;
        xy[s->n + i] = ratio(r->failed_runs, r->runs);
        ser[k].n++;
    }
    bs_plot p = {"P(a hot-add fails within a VM-year) against the MMIO gap",
                 "gap size", "VMs with a failed hot-add", 1, 0.0, 1.0, 1,
                 ser, ns};
    int rc = bs_render_plot_svg(&p, buf, cap, len);
    free(ser);
    free(xy);
    free(labels);
    return rc;
}
