/* barspace fleet: many independent churn histories (seeds x workloads x gap
 * sizes) under each policy, one JSON line per run, a summary and a plot;
 * sharded for array jobs, and the merge of the shards. */
#include "cli.h"
#include "progress.h"

#include "barspace/fleet.h"

#include <stddef.h>
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
    if (!text)
        return EXIT_BADINPUT;
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
    if (!s || bs_fleet_sum_svg(sum, s, len + 1, &len)) {
        free(s);
        return cli_lib_error(BS_ENOMEM, NULL);
    }
    int rc = cli_write_file(svg, s, len);
    free(s);
    return rc;
}

struct fleet_args {
    cli_list workloads;
    cli_sizes gaps;
    uint64_t seeds, seed, events_per_year, years;
    const char *shard, *out, *svg;
    int merge, json;
};

#define O(f) offsetof(struct fleet_args, f)
static const cli_opt opts[] = {
    {"--workload", CLI_LIST, O(workloads), 0, NULL, 0, 0, "SPEC"},
    {"--gaps", CLI_SIZES, O(gaps), 0, NULL, 0, 0, "LIST"},
    {"--seeds", CLI_NUM, O(seeds), 0, NULL, 1, 0, "N"},
    {"--seed", CLI_NUM, O(seed), 0, NULL, 0, 0, "S"},
    {"--events-per-year", CLI_NUM, O(events_per_year), 0, NULL, 1, 100000, "N"},
    {"--years", CLI_NUM, O(years), 0, NULL, 1, 100000, "Y"},
    {"--shard", CLI_STR, O(shard), 0, NULL, 0, 0, "I/N"},
    {"-o", CLI_STR, O(out), 0, NULL, 0, 0, "FILE"},
    {"--svg", CLI_STR, O(svg), 0, NULL, 0, 0, "OUT"},
    {"--merge", CLI_FLAG, O(merge), 0, NULL, 0, 0, NULL},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"fleet", usage_text, opts, 0, -1, "FILE"};

/* The study the options describe; EXIT_OK or EXIT_BADINPUT after the
 * message. */
static int study_from(bs_fleet_study *st, struct fleet_args *a)
{
    static const uint64_t dflt_gaps[] = {2 << 20, 2304 << 10, 2560 << 10,
                                         2816 << 10, 3 << 20};
    st->seeds = a->seeds;
    st->seed = a->seed;
    st->years = (int)a->years;
    st->events_per_year = (int)a->events_per_year;
    if (a->shard) {
        unsigned si, sn;
        char c;
        if (sscanf(a->shard, "%u/%u%c", &si, &sn, &c) != 2 || sn == 0 ||
            si >= sn || sn > 1000000)
            return cli_usage_error("fleet", "--shard wants I/N with 0 <= I "
                                   "< N, got '%s'", a->shard);
        st->shard = (int)si;
        st->nshards = (int)sn;
    }
    if (!a->workloads.n)
        a->workloads.v[a->workloads.n++] = "hyperv";
    st->workloads = a->workloads.v;
    st->nworkloads = a->workloads.n;
    if (!a->gaps.set) {
        a->gaps.n = (int)(sizeof dflt_gaps / sizeof dflt_gaps[0]);
        memcpy(a->gaps.v, dflt_gaps, sizeof dflt_gaps);
    }
    st->gaps = a->gaps.v;
    st->ngaps = a->gaps.n;
    return EXIT_OK;
}

/* Run the study into sum, one JSON line a run into -o. */
static int run_to(bs_fleet_sum *sum, const bs_fleet_study *st, const char *out)
{
    FILE *jl = out ? cli_open_out(out) : NULL;
    if (out && !jl)
        return EXIT_BADINPUT;
    int rc = run_study(sum, st, jl);
    int crc = cli_close_out(jl, out);
    return rc ? rc : crc;
}

int cmd_fleet(int argc, char **argv)
{
    bs_fleet_study st;
    bs_fleet_study_init(&st);
    struct fleet_args a = {.seeds = 100, .seed = st.seed,
                           .events_per_year = (uint64_t)st.events_per_year,
                           .years = (uint64_t)st.years};
    int nops, rc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (rc != CLI_RUN)
        return cli_parse_exit(rc);
    if (a.merge && !nops)
        return cli_usage_error("fleet", "--merge needs FILEs");
    if (!a.merge && nops)
        return cli_usage_error("fleet", "unexpected argument '%s'", argv[0]);
    if ((rc = study_from(&st, &a)))
        return rc;
    bs_fleet_sum *sum = bs_fleet_sum_new();
    if (!sum)
        return cli_lib_error(BS_ENOMEM, NULL);
    for (int i = 0; i < nops && !rc; i++)
        rc = merge_file(sum, argv[i]);
    if (!a.merge)
        rc = run_to(sum, &st, a.out);
    if (!rc)
        rc = print_summary(sum, a.json, a.svg);
    bs_fleet_sum_free(sum);
    return rc;
}
