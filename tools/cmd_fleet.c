/* barspace fleet: many independent churn histories (seeds x workloads x gap
 * sizes) under each policy, one JSON line per run, a summary and a plot;
 * sharded for array jobs, and the merge of the shards. */
#include "cli.h"
#include "progress.h"

#include "barspace/fleet.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace fleet [--workload SPEC]... [--gaps G1,G2,...] [options]\n"
    "       barspace fleet --merge FILE... [--svg OUT] [--json]\n"
    "\n"
    "Run a fleet study (docs/fleet.md): for each workload, gap size and seed\n"
    "one churn history of --years VM-years, under the policies firstfit (the\n"
    "guest's VMBus first fit), bestfit and relocate (barspace); print the\n"
    "share of VMs with a failed hot-add within a year per workload, policy\n"
    "and gap.\n"
    "\n"
    "  --workload SPEC     a seeded workload without gap= (default hyperv;\n"
    "                      repeatable), e.g. hyperv:big=100,count=25\n"
    "  --gaps LIST         gap sizes (default 2M,2304K,2560K,2816K,3M)\n"
    "  --seeds N           histories per workload and gap (default 100)\n"
    "  --seed S            seed of the first history (default 1)\n"
    "  --events-per-year N churn events in a VM-year (default 24)\n"
    "  --years Y           VM-years per history (default 1)\n"
    "  --shard I/N         run only the I-th of N deterministic slices\n"
    "  -o FILE             write one JSON line per run (barspace.fleet-run/1)\n"
    "  --merge FILE...     sum the runs of shard outputs instead of running\n"
    "  --svg OUT           also write the plot: P(failure) against gap size\n"
    "  --json              the summary as JSON (barspace.fleet/1)\n"
    "\n"
    "exit: 0 done, 2 bad input or a file that cannot be read or written\n"
    "\n"
    "examples:\n"
    "  barspace fleet --seeds 1000 --svg fleet.svg\n"
    "  barspace fleet --seeds 1000 --shard 3/8 -o shard3.jsonl\n"
    "  barspace fleet --merge shard*.jsonl --svg fleet.svg\n";

static int merge_file(bs_fleet_sum *sum, const char *path)
{
    size_t len;
    char *text = cli_read_input(path, BS_MAX_TOPO_FILE, &len);
    if (!text) {
        fprintf(stderr, "barspace: %s: cannot read\n", path);
        return EXIT_BADINPUT;
    }
    int line = 0, rc = BS_OK;
    for (char *p = text, *e = text + len; p < e && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
        line++;
        bs_fleet_run r;
        bs_error err;
        if (n && (rc = bs_fleet_run_parse(p, n, path, line, &r, &err)))
            cli_print_error(&err);
        else if (n && (rc = bs_fleet_sum_add(sum, &r)))
            fprintf(stderr, "barspace: %s:%d: %s\n", path, line,
                    rc == BS_EINVAL ? "this run was merged before (a shard "
                                      "given twice?)" : "out of memory");
        p = nl ? nl + 1 : e;
    }
    free(text);
    return rc ? EXIT_BADINPUT : EXIT_OK;
}

static int run_study(bs_fleet_sum *sum, const bs_fleet_study *st, FILE *jl)
{
    cli_progress pr;
    uint64_t n = bs_fleet_histories(st);
    cli_progress_start(&pr, "fleet", n);
    for (uint64_t i = (uint64_t)st->shard; i < n; i += (uint64_t)st->nshards) {
        for (int p = 0; p < BS_FLEET_NPOLICIES; p++) {
            bs_fleet_run r;
            bs_error err;
            char line[512];
            if (bs_fleet_run_history(st, i, p, &r, &err)) {
                cli_progress_done(&pr);
                cli_print_error(&err);
                return EXIT_BADINPUT;
            }
            if (bs_fleet_sum_add(sum, &r))
                return EXIT_BADINPUT;
            if (jl) {
                bs_fleet_run_format(&r, line, sizeof line);
                fprintf(jl, "%s\n", line);
            }
        }
        cli_progress_update(&pr, i + 1);
    }
    cli_progress_done(&pr);
    return EXIT_OK;
}

static int print_summary(const bs_fleet_sum *sum, bool json, const char *svg)
{
    size_t n = json ? bs_fleet_sum_json(sum, NULL, 0)
                    : bs_fleet_sum_table(sum, NULL, 0);
    char *b = malloc(n + 1);
    if (!b)
        return EXIT_BADINPUT;
    if (json)
        bs_fleet_sum_json(sum, b, n + 1);
    else
        bs_fleet_sum_table(sum, b, n + 1);
    fputs(b, stdout);
    if (!json)
        printf("%llu runs, %llu VM-years\n",
               (unsigned long long)bs_fleet_sum_runs(sum),
               (unsigned long long)bs_fleet_sum_vm_years(sum));
    free(b);
    if (!svg)
        return EXIT_OK;
    size_t len = 0;
    bs_fleet_sum_svg(sum, NULL, 0, &len);
    char *s = malloc(len + 1);
    FILE *f = fopen(svg, "w");
    bool ok = s && f && !bs_fleet_sum_svg(sum, s, len + 1, &len) &&
              fwrite(s, 1, len, f) == len;
    ok = (f && !fclose(f)) && ok;
    free(s);
    if (!ok)
        fprintf(stderr, "barspace: %s: cannot write\n", svg);
    return ok ? EXIT_OK : EXIT_BADINPUT;
}

/* An option of fleet's that takes a value (given last, without it). */
static bool takes_value(const char *a)
{
    static const char *const names[] = {"--workload", "--gaps", "--seeds",
        "--seed", "--events-per-year", "--years", "--shard", "-o", "--svg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i]))
            return true;
    return false;
}

int cmd_fleet(int argc, char **argv)
{
    bs_fleet_study st;
    bs_fleet_study_init(&st);
    st.seeds = 100;
    const char *wl[16], *out = NULL, *svg = NULL;
    static uint64_t gaps[64] = {2 << 20, 2304 << 10, 2560 << 10, 2816 << 10,
                                3 << 20};
    int nwl = 0, ngaps = 5, merge = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        uint64_t v;
        if (cli_is_help(a)) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--")) {
            /* ends the options; fleet takes no operands */
            if (i + 1 < argc)
                return cli_usage_error("fleet", "unexpected argument '%s'",
                                       argv[i + 1]);
            break;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--merge")) {
            merge = i + 1;
            while (i + 1 < argc && argv[i + 1][0] != '-')
                i++;
            if (merge > i)
                return cli_usage_error("fleet", "--merge needs FILEs");
        } else if (!strcmp(a, "--workload") && more) {
            if (nwl == 16)
                return cli_usage_error("fleet", "at most 16 workloads");
            wl[nwl++] = argv[++i];
        } else if (!strcmp(a, "--gaps") && more) {
            ngaps = 0;
            for (char *p = argv[++i], *c; p; p = c ? c + 1 : NULL) {
                c = strchr(p, ',');
                if (c)
                    *c = 0;
                if (ngaps == 64 || !cli_parse_u64(p, &gaps[ngaps++]))
                    return cli_usage_error("fleet", "bad gap size '%s'", p);
            }
        } else if ((!strcmp(a, "--seeds") || !strcmp(a, "--seed") ||
                    !strcmp(a, "--events-per-year") || !strcmp(a, "--years")) &&
                   more) {
            if (!cli_parse_u64(argv[++i], &v) || (v == 0 && strcmp(a, "--seed")) ||
                (strcmp(a, "--seeds") && strcmp(a, "--seed") && v > 100000))
                return cli_usage_error("fleet", "bad value for %s: '%s'", a,
                                       argv[i]);
            if (!strcmp(a, "--seeds"))
                st.seeds = v;
            else if (!strcmp(a, "--seed"))
                st.seed = v;
            else if (!strcmp(a, "--years"))
                st.years = (int)v;
            else
                st.events_per_year = (int)v;
        } else if (!strcmp(a, "--shard") && more) {
            unsigned si, sn;
            char c;
            if (sscanf(argv[++i], "%u/%u%c", &si, &sn, &c) != 2 || sn == 0 ||
                si >= sn || sn > 1000000)
                return cli_usage_error("fleet", "--shard wants I/N with "
                                       "0 <= I < N, got '%s'", argv[i]);
            st.shard = (int)si;
            st.nshards = (int)sn;
        } else if (!strcmp(a, "-o") && more) {
            out = argv[++i];
        } else if (!strcmp(a, "--svg") && more) {
            svg = argv[++i];
        } else if (takes_value(a)) {
            return cli_usage_error("fleet", "%s needs a value", a);
        } else {
            return cli_usage_error("fleet", "unknown option '%s'", a);
        }
    }
    bs_fleet_sum *sum = bs_fleet_sum_new();
    if (!sum)
        return EXIT_BADINPUT;
    int rc = EXIT_OK;
    for (int i = merge; merge && i < argc && argv[i][0] != '-' && !rc; i++)
        rc = merge_file(sum, argv[i]);
    if (!merge) {
        if (!nwl)
            wl[nwl++] = "hyperv";
        st.workloads = wl;
        st.nworkloads = nwl;
        st.gaps = gaps;
        st.ngaps = ngaps;
        FILE *jl = out ? fopen(out, "w") : NULL;
        if (out && !jl) {
            fprintf(stderr, "barspace: %s: cannot write\n", out);
            rc = EXIT_BADINPUT;
        }
        if (!rc)
            rc = run_study(sum, &st, jl);
        if (jl && (ferror(jl) | fclose(jl)) && !rc) {
            fprintf(stderr, "barspace: %s: cannot write\n", out);
            rc = EXIT_BADINPUT;
        }
    }
    if (!rc)
        rc = print_summary(sum, json, svg);
    bs_fleet_sum_free(sum);
    return rc;
}
