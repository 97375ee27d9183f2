/* barspace churn: replay or generate hot-plug churn and report what the
 * placement policy made of every event. */
#include "cli.h"
#include "churn_report.h"
#include "progress.h"

#include "barspace/churn.h"
#include "barspace/plan.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace churn FILE --trace TRACE [options]\n"
    "       barspace churn --generate SPEC [--events N] [--seed S] [options]\n"
    "\n"
    "Apply hot-plug events (docs/churn.md) to a running topology and print, per\n"
    "event, what happened: placed / placed after N moves / reduced / failed;\n"
    "then a summary: failures, moves per placement (median, p99), bytes moved,\n"
    "total and worst decode-off time, fragmentation over time.\n"
    "\n"
    "  FILE --trace T     topology file and an event trace file ('-': standard\n"
    "                     input, for one of them)\n"
    "  --generate SPEC    seeded workload: nvme, gpu, sriov, mixed, with options\n"
    "                     (nvme:count=25,window=4M  gpu:gpus=8,window=384G\n"
    "                      sriov:pfs=8,window=32M  mixed:devices=24; limits:\n"
    "                      count 2..4096, gpus 1..8, pfs 1..1024, devices 2..200)\n"
    "  --events N         generated events (default 1000, at most 100000000)\n"
    "  --seed S           generator seed (default 1)\n"
    "  --policy P         linux (or linux-X.Y): first fit in the slot's window,\n"
    "                     never moves\n"
    "                     barspace (alias pack): best fit, relocation plans,\n"
    "                     reduced BARs\n"
    "                     (default barspace)\n"
    "  --no-moves         barspace without relocation plans\n"
    "  --no-explain       on a failure without moves (linux, --no-moves), do\n"
    "                     not plan only to report whether moving would have\n"
    "                     placed it (faster; 'had a plan' is then not counted)\n"
    "  --no-reduce        barspace without reduced Resizable BARs\n"
    "  --summary          only the summary, no per-event lines\n"
    "  --verify           run the invariant checker after every event\n"
    "  --write-trace OUT  also write the generated events as a trace\n"
    "  --write-topo OUT   also write the generated starting topology\n"
    "  --json             machine-readable output (schema barspace.churn/1)\n"
    "  --html OUT         also write a self-contained HTML report: plots over\n"
    "                     the events and maps at the start, first failure, end\n"
    "\n"
    "exit: 0 every event placed, 1 some event failed, 2 bad input\n"
    "\n"
    "examples:\n"
    "  barspace churn --generate nvme --events 200\n"
    "  barspace churn --generate gpu --events 100000 --policy linux --summary\n"
    "  barspace churn --generate nvme --write-topo n.topo --write-trace n.trace\n"
    "  barspace churn n.topo --trace n.trace --policy linux\n";

static const char *outcome_name(int o)
{
    switch (o) {
    case BS_OUT_OK: return "ok";
    case BS_OUT_PLACED: return "placed";
    case BS_OUT_MOVED: return "moved";
    case BS_OUT_REDUCED: return "reduced";
    case BS_OUT_FAILED: return "failed";
    }
    return "?";
}

#define FRAG_SAMPLES 10

struct churn_args {
    const char *trace, *spec, *wtrace, *wtopo, *html;
    uint64_t nevents, seed;
    cli_policy policy;
    int json, summary, verify, no_moves, no_explain, no_reduce;
};

#define O(f) offsetof(struct churn_args, f)
static const cli_opt opts[] = {
    {"--trace", CLI_STR, O(trace), 0, NULL, 0, 0, "TRACE"},
    {"--generate", CLI_STR, O(spec), 0, NULL, 0, 0, "SPEC"},
    {"--events", CLI_NUM, O(nevents), 0, NULL, 0, 100000000, "N"},
    {"--seed", CLI_NUM, O(seed), 0, NULL, 0, 0, "S"},
    {"--policy", CLI_POLICY, O(policy), 0, NULL, 0, 0, "P"},
    {"--no-moves", CLI_FLAG, O(no_moves), 0, NULL, 0, 0, NULL},
    {"--no-explain", CLI_FLAG, O(no_explain), 0, NULL, 0, 0, NULL},
    {"--no-reduce", CLI_FLAG, O(no_reduce), 0, NULL, 0, 0, NULL},
    {"--summary", CLI_FLAG, O(summary), 0, NULL, 0, 0, NULL},
    {"--verify", CLI_FLAG, O(verify), 0, NULL, 0, 0, NULL},
    {"--write-trace", CLI_STR, O(wtrace), 0, NULL, 0, 0, "FILE"},
    {"--write-topo", CLI_STR, O(wtopo), 0, NULL, 0, 0, "FILE"},
    {"--html", CLI_STR, O(html), 0, NULL, 0, 0, "FILE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"churn", usage_text, opts, 0, 1, "FILE"};

/* What a run gathers, for the text and the JSON summary. */
struct churn_result {
    const char *policy;
    int nev, nplace, counts[5], feas_fail, errors, grown;
    uint64_t bytes, down, worst, violations;
    uint64_t *moves, *downs;      /* per placement */
    bs_stats moves_st, down_st;
    bs_frag frag[FRAG_SAMPLES + 1];
    int nfrag, json_events;
};

/* Everything a run holds, released in one place (churn_cleanup). */
struct churn_run {
    struct churn_args a;
    bs_churn_opts o;
    bs_topo *t;
    bs_event *evs;
    bs_churn_gen *g;
    bs_churn *c;
    churn_report *rep;
    FILE *wt;
    struct churn_result r;
};

static int load_trace(struct churn_run *run, const char *file)
{
    if (!strcmp(file, "-") && !strcmp(run->a.trace, "-"))
        return cli_usage_error("churn", "FILE and --trace cannot both be "
                               "standard input");
    if (!(run->t = cli_load_topo(file)))
        return EXIT_BADINPUT;
    size_t len;
    char *text = cli_read_input(run->a.trace, (size_t)1 << 30, &len);
    if (!text)
        return EXIT_BADINPUT;
    bs_error err = {0};
    int prc = bs_events_parse(text, len, cli_input_name(run->a.trace),
                              &run->evs, &run->r.nev, &err);
    free(text);
    if (prc)
        cli_print_error(&err);
    return prc ? EXIT_BADINPUT : EXIT_OK;
}

static int load_generated(struct churn_run *run)
{
    bs_error err = {0};
    if (bs_churn_gen_new(run->a.spec, run->a.seed, &run->g, &err)) {
        cli_print_error(&err);
        return EXIT_BADINPUT;
    }
    run->t = bs_topo_clone(bs_churn_gen_topo(run->g));
    run->r.nev = (int)run->a.nevents;
    if (!run->t) {
        fprintf(stderr, "barspace: out of memory\n");
        return EXIT_BADINPUT;
    }
    if (!run->a.wtopo)
        return EXIT_OK;
    size_t need = bs_topo_format(run->t, NULL, 0);
    char *buf = malloc(need + 1);
    if (!buf) {
        fprintf(stderr, "barspace: out of memory\n");
        return EXIT_BADINPUT;
    }
    bs_topo_format(run->t, buf, need + 1);
    int rc = cli_write_file(run->a.wtopo, buf, need);
    free(buf);
    return rc;
}

static void print_event_line(const struct churn_run *run, int i,
                             const char *line, const bs_event_result *r)
{
    if (run->a.json) {
        printf("{\"n\":%d,\"event\":", i + 1);
        cli_json_str(stdout, line);
        printf(",\"outcome\":\"%s\",\"moves\":%d,\"bytes_moved\":%llu,"
               "\"downtime_ns\":%llu,\"msg\":",
               outcome_name(r->outcome), r->moves,
               (unsigned long long)r->bytes_moved,
               (unsigned long long)r->downtime_ns);
        cli_json_str(stdout, r->msg);
        printf("}");
        return;
    }
    printf("%6d  %-58.58s  ", i + 1, line);
    switch (r->outcome) {
    case BS_OUT_MOVED:
        printf("placed after %d move%s (%s moved, downtime %s)\n", r->moves,
               r->moves == 1 ? "" : "s", cli_size(r->bytes_moved),
               cli_duration(r->downtime_ns));
        break;
    case BS_OUT_REDUCED: printf("reduced: %s\n", r->msg); break;
    case BS_OUT_FAILED: printf("FAILED: %s\n", r->msg); break;
    default: printf("%s\n", r->msg); break;
    }
}

/* Count one applied event into the result. */
static void tally(struct churn_run *run, int i, const bs_event_result *r)
{
    struct churn_result *s = &run->r;
    s->counts[r->outcome]++;
    churn_report_event(run->rep, run->c, (uint64_t)i + 1, r->outcome);
    if (r->outcome != BS_OUT_OK) {
        s->moves[s->nplace] = (uint64_t)r->moves;
        s->downs[s->nplace++] = r->downtime_ns;
    }
    if (r->outcome == BS_OUT_FAILED && r->feasible == 1)
        s->feas_fail++;
    if (r->windows)
        s->grown++;
    s->bytes += r->bytes_moved;
    s->down += r->downtime_ns;
    if (r->worst_downtime_ns > s->worst)
        s->worst = r->worst_downtime_ns;
    if (run->a.verify) {
        bs_violation v[4];
        int nv = bs_check(bs_churn_topo(run->c), NULL, v, 4);
        if (nv) {
            s->violations += (uint64_t)nv;
            fprintf(stderr, "barspace: invariant violated after event %d: "
                    "%s\n", i + 1, v[0].msg);
        }
    }
    if (s->nev >= FRAG_SAMPLES && (i + 1) % (s->nev / FRAG_SAMPLES) == 0 &&
        s->nfrag < FRAG_SAMPLES)
        bs_churn_frag(run->c, &s->frag[s->nfrag++]);
}

/* Apply every event; EXIT_OK, or EXIT_BADINPUT on a bad trace event. */
static int apply_all(struct churn_run *run)
{
    struct churn_result *s = &run->r;
    cli_progress prog;
    cli_progress_start(&prog, "churn", (uint64_t)s->nev);
    for (int i = 0; i < s->nev; i++) {
        bs_event ev;
        if (run->g)
            bs_churn_gen_next(run->g, &ev);
        else
            ev = run->evs[i];
        /* The event's text only when something prints it: formatting is
         * most of the cost of a --summary run of millions of events. */
        char line[600] = "";
        if (run->wt || !run->a.summary)
            bs_event_format(&ev, line, sizeof line);
        if (run->wt)
            fprintf(run->wt, "%s\n", line);
        bs_event_result r;
        bs_error err = {0};
        if (bs_churn_apply(run->c, &ev, &r, &err)) {
            if (run->a.trace)
                snprintf(err.file, sizeof err.file, "%s",
                         cli_input_name(run->a.trace));
            cli_print_error(&err);
            s->errors++;
            if (run->a.trace)
                return EXIT_BADINPUT;
            continue;
        }
        tally(run, i, &r);
        cli_progress_update(&prog, (uint64_t)i + 1);
        if (run->a.summary)
            continue;
        /* Separators by what was printed: a skipped event (an error in a
         * generated run) must not leave a leading comma. */
        if (run->a.json && s->json_events++)
            putchar(',');
        print_event_line(run, i, line, &r);
    }
    cli_progress_done(&prog);
    return EXIT_OK;
}

static void print_summary_json(const struct churn_result *s)
{
    int fails = s->counts[BS_OUT_FAILED];
    double rate = s->nplace ? (double)fails / s->nplace : 0;
    printf("],\"summary\":{\"events\":%d,\"placements\":%d,\"placed\":%d,"
           "\"moved\":%d,\"reduced\":%d,\"failed\":%d,"
           "\"failed_with_plan\":%d,\"windows_resized\":%d,\"failure_rate\":%.4f,"
           "\"moves_median\":%llu,\"moves_p99\":%llu,\"moves_max\":%llu,"
           "\"downtime_median_ns\":%llu,\"downtime_p99_ns\":%llu,"
           "\"bytes_moved\":%llu,\"downtime_ns\":%llu,"
           "\"worst_downtime_ns\":%llu,\"violations\":%llu,\"frag\":[",
           s->nev, s->nplace, s->counts[BS_OUT_PLACED], s->counts[BS_OUT_MOVED],
           s->counts[BS_OUT_REDUCED], fails, s->feas_fail, s->grown, rate,
           (unsigned long long)s->moves_st.median,
           (unsigned long long)s->moves_st.p99,
           (unsigned long long)s->moves_st.max,
           (unsigned long long)s->down_st.median,
           (unsigned long long)s->down_st.p99, (unsigned long long)s->bytes,
           (unsigned long long)s->down, (unsigned long long)s->worst,
           (unsigned long long)s->violations);
    for (int i = 0; i < s->nfrag; i++)
        printf("%s{\"free\":%llu,\"largest\":%llu,\"frag\":%.4f}", i ? "," : "",
               (unsigned long long)s->frag[i].free_bytes,
               (unsigned long long)s->frag[i].largest_block, s->frag[i].frag);
    printf("]}}\n");
}

static void print_summary_text(const struct churn_run *run)
{
    const struct churn_result *s = &run->r;
    int fails = s->counts[BS_OUT_FAILED];
    printf("\npolicy %s: %d events, %d placements: %d placed, %d after "
           "moves, %d reduced, %d failed (%.3f%%)",
           s->policy, s->nev, s->nplace, s->counts[BS_OUT_PLACED],
           s->counts[BS_OUT_MOVED], s->counts[BS_OUT_REDUCED], fails,
           s->nplace ? 100.0 * fails / s->nplace : 0);
    if (fails && (run->o.explain ||
                  (run->o.policy == BS_PLACE_BARSPACE && run->o.moves)))
        printf(", %d of them had a plan with moves", s->feas_fail);
    printf("; %d with bridge windows resized", s->grown);
    printf("\nmoves per placement: median %llu, p99 %llu, max %llu; bytes "
           "moved %s\ndowntime per placement: median %s, p99 %s; total %s, "
           "worst device %s\n",
           (unsigned long long)s->moves_st.median,
           (unsigned long long)s->moves_st.p99,
           (unsigned long long)s->moves_st.max, cli_size(s->bytes),
           cli_duration(s->down_st.median), cli_duration(s->down_st.p99),
           cli_duration(s->down), cli_duration(s->worst));
    if (s->nfrag) {
        printf("fragmentation (1 - largest free block / free) at each "
               "tenth:");
        for (int i = 0; i < s->nfrag; i++)
            printf(" %.2f", s->frag[i].frag);
        printf("\n");
    }
    if (run->a.verify)
        printf("invariant checker: %llu violation(s)\n",
               (unsigned long long)s->violations);
}

/* Set up the engine and its outputs; EXIT_OK or an exit code. */
static int start(struct churn_run *run, int nops, char **ops)
{
    int rc = run->a.trace ? load_trace(run, ops[0]) : load_generated(run);
    if (rc)
        return rc;
    if (run->a.wtrace && !(run->wt = cli_open_out(run->a.wtrace)))
        return EXIT_BADINPUT;
    bs_error err = {0};
    if (bs_churn_new(run->t, &run->o, &run->c, &err)) {
        cli_print_error(&err);
        return EXIT_FAILED;
    }
    struct churn_result *s = &run->r;
    s->policy = run->o.policy == BS_PLACE_LINUX ? "linux" : "barspace";
    s->moves = malloc(sizeof *s->moves * (size_t)(s->nev ? s->nev : 1));
    s->downs = malloc(sizeof *s->downs * (size_t)(s->nev ? s->nev : 1));
    if (!s->moves || !s->downs) {
        fprintf(stderr, "barspace: out of memory\n");
        return EXIT_BADINPUT;
    }
    run->rep = churn_report_new(run->a.html,
                                run->a.spec ? run->a.spec : run->a.trace,
                                (uint64_t)s->nev, run->c);
    (void)nops;
    return EXIT_OK;
}

static void churn_cleanup(struct churn_run *run)
{
    churn_report_discard(run->rep);
    if (run->wt && run->wt != stdout)
        fclose(run->wt);
    free(run->r.moves);
    free(run->r.downs);
    bs_churn_free(run->c);
    free(run->evs);
    bs_churn_gen_free(run->g);
    bs_topo_free(run->t);
}

static int check_args(const struct churn_args *a, int nops)
{
    if (!!a->trace + !!a->spec != 1)
        return cli_usage_error("churn", "give either FILE --trace TRACE or "
                               "--generate SPEC");
    if (a->trace && !nops)
        return cli_usage_error("churn", "--trace needs a topology FILE");
    if (a->spec && nops)
        return cli_usage_error("churn", "--generate brings its own topology");
    return EXIT_OK;
}

int cmd_churn(int argc, char **argv)
{
    struct churn_run run = {0};
    run.a.nevents = 1000;
    run.a.seed = 1;
    int nops, prc = cli_parse(&cmd, argc, argv, &run.a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (check_args(&run.a, nops))
        return EXIT_BADINPUT;
    bs_churn_opts_init(&run.o, run.a.policy.set &&
                                       run.a.policy.policy == BS_POLICY_LINUX
                                   ? BS_PLACE_LINUX
                                   : BS_PLACE_BARSPACE);
    run.o.moves = !run.a.no_moves;
    run.o.explain = !run.a.no_explain;
    run.o.reduce = !run.a.no_reduce;
    int rc = start(&run, nops, argv);
    if (rc == EXIT_OK) {
        if (run.a.json)
            printf("{\"schema\":\"barspace.churn/1\",\"policy\":\"%s\","
                   "\"events\":[", run.r.policy);
        rc = apply_all(&run);
        if (rc && run.a.json)
            printf("]}\n");
    }
    if (rc == EXIT_OK) {
        struct churn_result *s = &run.r;
        bs_stats_compute(s->moves, (size_t)s->nplace, &s->moves_st);
        bs_stats_compute(s->downs, (size_t)s->nplace, &s->down_st);
        if (run.a.json)
            print_summary_json(s);
        else
            print_summary_text(&run);
        rc = s->counts[BS_OUT_FAILED] || s->errors || s->violations
                 ? EXIT_FAILED : EXIT_OK;
        if (churn_report_finish(run.rep, run.c))
            rc = EXIT_BADINPUT;
        run.rep = NULL;
        if (run.wt && cli_close_out(run.wt, run.a.wtrace))
            rc = EXIT_BADINPUT;
        run.wt = NULL;
    }
    churn_cleanup(&run);
    return rc;
}
