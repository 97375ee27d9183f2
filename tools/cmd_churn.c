/* barspace churn: replay or generate hot-plug churn and report what the
 * placement policy made of every event. */
#include "cli.h"
#include "churn_report.h"
#include "progress.h"

#include "barspace/churn.h"
#include "barspace/plan.h"

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
    "  FILE --trace T     topology file and an event trace file\n"
    "  --generate SPEC    seeded workload: nvme, gpu, sriov, mixed, with options\n"
    "                     (nvme:count=25,window=4M  gpu:gpus=8,window=384G\n"
    "                      sriov:pfs=8,window=32M  mixed:devices=24)\n"
    "  --events N         generated events (default 1000)\n"
    "  --seed S           generator seed (default 1)\n"
    "  --policy P         linux: first fit in the slot's window, never moves\n"
    "                     barspace: best fit, relocation plans, reduced BARs\n"
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
    "  barspace churn examples/seed-25nvme.topo --trace examples/nvme.trace\n";

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

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

static const char *ns_str(uint64_t ns)
{
    static char ring[4][32];
    static int k;
    char *b = ring[k++ & 3];
    if (ns >= 1000000000)
        snprintf(b, 32, "%.2f s", (double)ns / 1e9);
    else if (ns >= 1000000)
        snprintf(b, 32, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(b, 32, "%.1f us", (double)ns / 1e3);
    return b;
}

#define FRAG_SAMPLES 10

int cmd_churn(int argc, char **argv)
{
    const char *file = NULL, *trace = NULL, *spec = NULL;
    const char *wtrace = NULL, *wtopo = NULL, *html = NULL;
    uint64_t nevents = 1000, seed = 1;
    bool json = false, summary = false, verify = false;
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        bool has = i + 1 < argc;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--summary")) summary = true;
        else if (!strcmp(a, "--verify")) verify = true;
        else if (!strcmp(a, "--no-moves")) o.moves = 0;
        else if (!strcmp(a, "--no-explain")) o.explain = 0;
        else if (!strcmp(a, "--no-reduce")) o.reduce = 0;
        else if (!strcmp(a, "--trace") && has) trace = argv[++i];
        else if (!strcmp(a, "--generate") && has) spec = argv[++i];
        else if (!strcmp(a, "--write-trace") && has) wtrace = argv[++i];
        else if (!strcmp(a, "--write-topo") && has) wtopo = argv[++i];
        else if (!strcmp(a, "--html") && has) html = argv[++i];
        else if (!strcmp(a, "--events") && has) {
            if (!cli_parse_u64(argv[++i], &nevents) || nevents > 100000000)
                return cli_usage_error("churn", "--events: expected a count, got '%s'", argv[i]);
        } else if (!strcmp(a, "--seed") && has) {
            if (!cli_parse_u64(argv[++i], &seed))
                return cli_usage_error("churn", "--seed: expected a number, got '%s'", argv[i]);
        } else if (!strcmp(a, "--policy") && has) {
            const char *p = argv[++i];
            int pp, pk;
            if (bs_policy_parse(p, &pp, &pk, NULL) != BS_OK) pp = -1;
            if (pp == BS_POLICY_LINUX) o.policy = BS_PLACE_LINUX;
            else if (pp == BS_POLICY_PACK) o.policy = BS_PLACE_BARSPACE;
            else return cli_usage_error("churn", "--policy: expected linux or barspace, got '%s'", p);
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("churn", "unknown option '%s'%s", a,
                                   has ? "" : " (or missing its value)");
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("churn", "unexpected argument '%s'", a);
        }
    }
    if (!!trace + !!spec != 1)
        return cli_usage_error("churn", "give either FILE --trace TRACE or --generate SPEC");
    if (trace && !file)
        return cli_usage_error("churn", "--trace needs a topology FILE");
    if (spec && file)
        return cli_usage_error("churn", "--generate brings its own topology; drop FILE '%s'", file);

    bs_error err = {0};
    bs_topo *t = NULL;
    bs_event *evs = NULL;
    int nev = 0;
    bs_churn_gen *g = NULL;
    int rc = EXIT_BADINPUT;
    if (trace) {
        t = cli_load_topo(file);
        if (!t)
            return EXIT_BADINPUT;
        size_t len;
        char *text = cli_read_file(trace, &len);
        if (!text) {
            fprintf(stderr, "barspace: %s: cannot read\n", trace);
            bs_topo_free(t);
            return EXIT_BADINPUT;
        }
        int prc = bs_events_parse(text, len, trace, &evs, &nev, &err);
        free(text);
        if (prc) {
            cli_print_error(&err);
            bs_topo_free(t);
            return EXIT_BADINPUT;
        }
    } else {
        if (bs_churn_gen_new(spec, seed, &g, &err)) {
            cli_print_error(&err);
            return EXIT_BADINPUT;
        }
        t = bs_topo_clone(bs_churn_gen_topo(g));
        nev = (int)nevents;
        if (wtopo) {
            FILE *f = fopen(wtopo, "w");
            size_t need = bs_topo_format(t, NULL, 0);
            char *buf = malloc(need + 1);
            if (!f || !buf) {
                fprintf(stderr, "barspace: %s: cannot write\n", wtopo);
                if (f)
                    fclose(f);
                free(buf);
                goto out;
            }
            bs_topo_format(t, buf, need + 1);
            fputs(buf, f);
            fclose(f);
            free(buf);
        }
    }
    FILE *wt = NULL;
    if (wtrace && !(wt = fopen(wtrace, "w"))) {
        fprintf(stderr, "barspace: %s: cannot write\n", wtrace);
        goto out;
    }
    bs_churn *c = NULL;
    if (bs_churn_new(t, &o, &c, &err)) {
        cli_print_error(&err);
        rc = EXIT_FAILED;
        if (wt)
            fclose(wt);
        goto out;
    }
    const char *pol = o.policy == BS_PLACE_LINUX ? "linux" : "barspace";
    churn_report *rep = churn_report_new(html, spec ? spec : trace,
                                         (uint64_t)nev, c);
    cli_progress prog;
    cli_progress_start(&prog, "churn", (uint64_t)nev);
    int *moves = malloc(sizeof *moves * (size_t)(nev ? nev : 1));
    int nplace = 0, counts[5] = {0}, feas_fail = 0, errors = 0, grown = 0;
    uint64_t bytes = 0, down = 0, worst = 0, violations = 0;
    bs_frag frag[FRAG_SAMPLES + 1];
    int nfrag = 0;
    if (!moves) {
        churn_report_discard(rep);
        bs_churn_free(c);
        if (wt)
            fclose(wt);
        goto out;
    }
    if (json)
        printf("{\"schema\":\"barspace.churn/1\",\"policy\":\"%s\",\"events\":[", pol);
    int json_events = 0;
    for (int i = 0; i < nev; i++) {
        bs_event ev;
        if (g)
            bs_churn_gen_next(g, &ev);
        else
            ev = evs[i];
        /* The event's text only when something prints it: formatting is
         * most of the cost of a --summary run of millions of events. */
        char line[600] = "";
        if (wt || !summary)
            bs_event_format(&ev, line, sizeof line);
        if (wt)
            fprintf(wt, "%s\n", line);
        bs_event_result r;
        int arc = bs_churn_apply(c, &ev, &r, &err);
        if (arc) {
            if (trace)
                snprintf(err.file, sizeof err.file, "%s", trace);
            cli_print_error(&err);
            errors++;
            if (trace) {
                rc = EXIT_BADINPUT;
                churn_report_discard(rep);
                bs_churn_free(c);
                free(moves);
                if (wt)
                    fclose(wt);
                if (json)
                    printf("]}\n");
                goto out;
            }
            continue;
        }
        counts[r.outcome]++;
        churn_report_event(rep, c, (uint64_t)i + 1, r.outcome);
        cli_progress_update(&prog, (uint64_t)i + 1);
        if (r.outcome != BS_OUT_OK)
            moves[nplace++] = r.moves;
        if (r.outcome == BS_OUT_FAILED && r.feasible == 1)
            feas_fail++;
        if (r.windows)
            grown++;
        bytes += r.bytes_moved;
        down += r.downtime_ns;
        if (r.worst_downtime_ns > worst)
            worst = r.worst_downtime_ns;
        if (verify) {
            bs_violation v[4];
            int nv = bs_check(bs_churn_topo(c), NULL, v, 4);
            if (nv) {
                violations += (uint64_t)nv;
                fprintf(stderr, "barspace: invariant violated after event %d: %s\n",
                        i + 1, v[0].msg);
            }
        }
        if (nev >= FRAG_SAMPLES && (i + 1) % (nev / FRAG_SAMPLES) == 0 &&
            nfrag < FRAG_SAMPLES)
            bs_churn_frag(c, &frag[nfrag++]);
        if (summary)
            continue;
        if (json) {
            /* Separators by what was printed: a skipped event (an error in
             * a generated run) must not leave a leading comma. */
            printf("%s{\"n\":%d,\"event\":", json_events++ ? "," : "", i + 1);
            cli_json_str(stdout, line);
            printf(",\"outcome\":\"%s\",\"moves\":%d,\"bytes_moved\":%llu,"
                   "\"downtime_ns\":%llu,\"msg\":",
                   outcome_name(r.outcome), r.moves,
                   (unsigned long long)r.bytes_moved,
                   (unsigned long long)r.downtime_ns);
            cli_json_str(stdout, r.msg);
            printf("}");
        } else {
            printf("%6d  %-58.58s  ", i + 1, line);
            switch (r.outcome) {
            case BS_OUT_OK: printf("%s\n", r.msg); break;
            case BS_OUT_PLACED: printf("%s\n", r.msg); break;
            case BS_OUT_MOVED:
                printf("placed after %d move%s (%s moved, downtime %s)\n",
                       r.moves, r.moves == 1 ? "" : "s",
                       cli_size(r.bytes_moved), ns_str(r.downtime_ns));
                break;
            case BS_OUT_REDUCED: printf("reduced: %s\n", r.msg); break;
            case BS_OUT_FAILED: printf("FAILED: %s\n", r.msg); break;
            }
        }
    }
    cli_progress_done(&prog);
    qsort(moves, (size_t)nplace, sizeof *moves, cmp_int);
    int med = nplace ? moves[nplace / 2] : 0;
    int p99 = nplace ? moves[(size_t)((nplace - 1) * 99 / 100)] : 0;
    int mx = nplace ? moves[nplace - 1] : 0;
    int fails = counts[BS_OUT_FAILED];
    double rate = nplace ? 100.0 * fails / nplace : 0;
    if (json) {
        printf("],\"summary\":{\"events\":%d,\"placements\":%d,\"placed\":%d,"
               "\"moved\":%d,\"reduced\":%d,\"failed\":%d,"
               "\"failed_with_plan\":%d,\"windows_resized\":%d,\"failure_rate\":%.4f,"
               "\"moves_median\":%d,\"moves_p99\":%d,\"moves_max\":%d,"
               "\"bytes_moved\":%llu,\"downtime_ns\":%llu,"
               "\"worst_downtime_ns\":%llu,\"violations\":%llu,\"frag\":[",
               nev, nplace, counts[BS_OUT_PLACED], counts[BS_OUT_MOVED],
               counts[BS_OUT_REDUCED], fails, feas_fail, grown, rate / 100, med, p99,
               mx, (unsigned long long)bytes, (unsigned long long)down,
               (unsigned long long)worst, (unsigned long long)violations);
        for (int i = 0; i < nfrag; i++)
            printf("%s{\"free\":%llu,\"largest\":%llu,\"frag\":%.4f}",
                   i ? "," : "", (unsigned long long)frag[i].free_bytes,
                   (unsigned long long)frag[i].largest_block, frag[i].frag);
        printf("]}}\n");
    } else {
        printf("\npolicy %s: %d events, %d placements: %d placed, %d after "
               "moves, %d reduced, %d failed (%.3f%%)",
               pol, nev, nplace, counts[BS_OUT_PLACED], counts[BS_OUT_MOVED],
               counts[BS_OUT_REDUCED], fails, rate);
        if (fails && (o.explain || (o.policy == BS_PLACE_BARSPACE && o.moves)))
            printf(", %d of them had a plan with moves", feas_fail);
        printf("; %d with bridge windows resized", grown);
        printf("\nmoves per placement: median %d, p99 %d, max %d; bytes moved "
               "%s; downtime total %s, worst device %s\n",
               med, p99, mx, cli_size(bytes), ns_str(down), ns_str(worst));
        if (nfrag) {
            printf("fragmentation (1 - largest free block / free) at each "
                   "tenth:");
            for (int i = 0; i < nfrag; i++)
                printf(" %.2f", frag[i].frag);
            printf("\n");
        }
        if (verify)
            printf("invariant checker: %llu violation(s)\n",
                   (unsigned long long)violations);
    }
    rc = fails || errors || violations ? EXIT_FAILED : EXIT_OK;
    if (churn_report_finish(rep, c))
        rc = EXIT_BADINPUT;
    free(moves);
    bs_churn_free(c);
    if (wt)
        fclose(wt);
out:
    free(evs);
    bs_churn_gen_free(g);
    bs_topo_free(t);
    return rc;
}
