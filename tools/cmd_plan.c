/* barspace plan: plan one hot-add on an assigned topology and print the
 * plan and its config-space steps, checked step by step. */
#include "cli.h"

#include "barspace/churn.h"
#include "barspace/plan.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace plan FILE --add 'NAME at PARENT BAR...' [--policy P] [--json]\n"
    "\n"
    "Assign FILE (pack), then plan the hot-add of one device: where its BARs\n"
    "go, which working devices move (fewest devices, then fewest bytes, then\n"
    "least decode-off time; pinned and fixed devices never move), which bridge\n"
    "windows change, and the config-space writes that carry it out: quiesce,\n"
    "decode off, BAR low/high, windows, decode on, resume.  Every intermediate\n"
    "state is checked (no overlapping decoders, no half-written 64-bit BAR\n"
    "decoding, no pinned device touched) and each device's downtime printed.\n"
    "\n"
    "  --add SPEC    the device, as in an 'add' line of a trace (docs/churn.md):\n"
    "                NAME at PARENT barN=KIND:SIZE[:rebar=MIN-MAX] ... [vfs=N]\n"
    "  --policy P    barspace (default; alias pack) or linux / linux-X.Y\n"
    "                (never moves; fails instead)\n"
    "  --json        machine-readable output (schema barspace.plan/1)\n"
    "\n"
    "exit: 0 a plan exists, 1 none, 2 bad input\n"
    "\n"
    "example:\n"
    "  barspace plan examples/seed-25nvme.topo --add 'nvme25 at host bar0=mem64:128K'\n";

static const char *op_name(int op)
{
    switch (op) {
    case BS_PLAN_NEW: return "place";
    case BS_PLAN_MOVE: return "move";
    case BS_PLAN_WINDOW: return "window";
    case BS_PLAN_SHRINK: return "shrink";
    case BS_PLAN_RESIZE: return "resize";
    }
    return "?";
}

/* Median and p99 of the devices' decode-off times (those that went down). */
static void print_downtime_stats(const uint64_t *per, int n)
{
    uint64_t *v = per ? malloc(sizeof *v * (size_t)n) : NULL;
    size_t k = 0;
    for (int i = 1; v && i < n; i++)
        if (per[i])
            v[k++] = per[i];
    if (k) {
        bs_stats st;
        bs_stats_compute(v, k, &st);
        printf("downtime per device: median %s, p99 %s, max %s\n",
               cli_duration(st.median), cli_duration(st.p99),
               cli_duration(st.max));
    }
    free(v);
}

/* A move that leaves the BAR where it was is no move: not listed. */
static bool noop(const bs_plan_item *it)
{
    return it->op == BS_PLAN_MOVE && it->old_addr == it->new_addr &&
           it->old_size == it->new_size;
}

/* A found plan and what checking it gave, for the two printers. */
struct plan_result {
    const char *dev;
    const bs_plan *p;
    const bs_topo *after;
    const bs_step *steps;
    int ns, n, crc, nv;
    bs_step_report rep;
    uint64_t *per; /* downtime per node */
};

static void print_json(const struct plan_result *r)
{
    printf("{\"schema\":\"barspace.plan/1\",\"found\":true,\"optimal\":%s,"
           "\"moved_devices\":%d,\"moved_bytes\":%llu,\"items\":[",
           bs_plan_optimal(r->p) ? "true" : "false", bs_plan_moved_devices(r->p),
           (unsigned long long)bs_plan_moved_bytes(r->p));
    int nitems = 0;
    for (int i = 0; i < bs_plan_item_count(r->p); i++) {
        bs_plan_item it;
        bs_plan_item_get(r->p, i, &it);
        if (noop(&it))
            continue;
        bs_node_info ni;
        bs_topo_node_info(r->after, it.node, &ni);
        printf("%s{\"op\":\"%s\",\"device\":", nitems++ ? "," : "",
               op_name(it.op));
        cli_json_str(stdout, ni.name);
        printf(",\"slot\":");
        cli_json_str(stdout, bs_slot_name(it.slot));
        printf(",\"old_addr\":%llu,\"old_size\":%llu,\"new_addr\":%llu,"
               "\"new_size\":%llu}",
               (unsigned long long)it.old_addr, (unsigned long long)it.old_size,
               (unsigned long long)it.new_addr, (unsigned long long)it.new_size);
    }
    printf("],\"steps\":[");
    for (int i = 0; i < r->ns; i++) {
        bs_node_info ni;
        bs_topo_node_info(r->after, r->steps[i].node, &ni);
        printf("%s{\"kind\":\"%s\",\"device\":", i ? "," : "",
               r->steps[i].kind == BS_STEP_QUIESCE ? "quiesce"
               : r->steps[i].kind == BS_STEP_RESUME ? "resume" : "write");
        cli_json_str(stdout, ni.name);
        printf(",\"reg\":%u,\"width\":%u,\"value\":%u,\"what\":",
               r->steps[i].reg, r->steps[i].width, r->steps[i].value);
        cli_json_str(stdout, r->steps[i].what);
        printf("}");
    }
    printf("],\"check\":{\"valid\":%s,\"msg\":", r->crc ? "false" : "true");
    cli_json_str(stdout, r->rep.msg);
    printf(",\"devices_down\":%d,\"total_downtime_ns\":%llu,"
           "\"worst_downtime_ns\":%llu,\"elapsed_ns\":%llu,"
           "\"final_violations\":%d}}\n",
           r->rep.devices, (unsigned long long)r->rep.total_downtime_ns,
           (unsigned long long)r->rep.worst_downtime_ns,
           (unsigned long long)r->rep.elapsed_ns, r->nv);
}

static void print_text(const struct plan_result *r)
{
    printf("plan for %s: %d device(s) moved, %s moved, %s\n", r->dev,
           bs_plan_moved_devices(r->p), cli_size(bs_plan_moved_bytes(r->p)),
           bs_plan_optimal(r->p) ? "proven optimal"
                              : "inclusion-minimal (not proven optimal)");
    for (int i = 0; i < bs_plan_item_count(r->p); i++) {
        bs_plan_item it;
        bs_plan_item_get(r->p, i, &it);
        if (noop(&it))
            continue;
        bs_node_info ni;
        bs_topo_node_info(r->after, it.node, &ni);
        if (it.old_size)
            printf("  %-7s %-16s %-11s 0x%012llx+%-5s -> 0x%012llx+%s\n",
                   op_name(it.op), ni.name, bs_slot_name(it.slot),
                   (unsigned long long)it.old_addr, cli_size(it.old_size),
                   (unsigned long long)it.new_addr, cli_size(it.new_size));
        else
            printf("  %-7s %-16s %-11s %-20s -> 0x%012llx+%s\n",
                   op_name(it.op), ni.name, bs_slot_name(it.slot), "",
                   (unsigned long long)it.new_addr, cli_size(it.new_size));
    }
    printf("\nsteps:\n");
    for (int i = 0; i < r->ns; i++) {
        bs_node_info ni;
        bs_topo_node_info(r->after, r->steps[i].node, &ni);
        if (r->steps[i].kind == BS_STEP_WRITE)
            printf("  %3d  %-16s write 0x%03x/%u = 0x%08x  %s\n", i + 1,
                   ni.name, r->steps[i].reg, r->steps[i].width, r->steps[i].value,
                   r->steps[i].what);
        else
            printf("  %3d  %-16s %s\n", i + 1, ni.name, r->steps[i].what);
    }
    printf("\nstep check: %s%s%s\n", r->crc ? "INVALID at step " : "every state valid",
           r->crc ? "" : "", r->crc ? r->rep.msg : "");
    for (int i = 1; i < r->n; i++)
        if (r->per && r->per[i]) {
            bs_node_info ni;
            bs_topo_node_info(r->after, i, &ni);
            printf("  downtime %-16s %s\n", ni.name, cli_duration(r->per[i]));
        }
    print_downtime_stats(r->per, r->n);
    printf("sequence time %s; final state: %d invariant violation(s)\n",
           cli_duration(r->rep.elapsed_ns), r->nv);
}

struct plan_args {
    const char *add;
    cli_policy policy;
    int json;
};

#define O(f) offsetof(struct plan_args, f)
static const cli_opt opts[] = {
    {"--add", CLI_STR, O(add), 0, NULL, 0, 0, "SPEC"},
    {"--policy", CLI_POLICY, O(policy), 0, NULL, 0, 0, "P"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"plan", usage_text, opts, 1, 1, "FILE"};


int cmd_plan(int argc, char **argv)
{
    struct plan_args a = {0};
    int nops, pr = cli_parse(&cmd, argc, argv, &a, &nops);
    if (pr != CLI_RUN)
        return cli_parse_exit(pr);
    if (!a.add)
        return cli_usage_error("plan", "missing --add SPEC");
    const char *file = argv[0], *add = a.add;
    bool json = a.json;
    bs_churn_opts o;
    bs_churn_opts_init(&o, a.policy.set && a.policy.policy == BS_POLICY_LINUX
                               ? BS_PLACE_LINUX : BS_PLACE_BARSPACE);
    bs_topo *t = cli_load_topo(file);
    if (!t)
        return EXIT_BADINPUT;
    char line[1024];
    snprintf(line, sizeof line, "add %s", add);
    bs_error err = {0};
    bs_event *ev = NULL;
    int nev = 0;
    if (bs_events_parse(line, strlen(line), "--add", &ev, &nev, &err) ||
        nev != 1) {
        if (!err.msg[0])
            snprintf(err.msg, sizeof err.msg, "expected one device spec");
        cli_print_error(&err);
        free(ev);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    int rc = EXIT_BADINPUT;
    bs_churn *c = NULL;
    bs_plan *p = bs_plan_new();
    bs_step *steps = NULL;
    int ns = 0;
    bs_topo *after = NULL;
    if (!p)
        goto out;
    if (bs_churn_new(t, &o, &c, &err)) {
        cli_print_error(&err);
        rc = EXIT_FAILED;
        goto out;
    }
    int prc = bs_churn_plan_add(c, ev, p, &err);
    if (prc == BS_ENOSPC) {
        if (json) {
            printf("{\"schema\":\"barspace.plan/1\",\"found\":false,\"reason\":");
            cli_json_str(stdout, err.msg);
            printf("}\n");
        } else {
            printf("no plan: %s\n", err.msg);
        }
        rc = EXIT_FAILED;
        goto out;
    }
    if (prc) {
        cli_print_error(&err);
        goto out;
    }
    const bs_topo *before = bs_churn_topo(c);
    after = bs_topo_clone(before);
    if (!after || bs_plan_apply(p, after) ||
        bs_plan_steps(p, before, &steps, &ns)) {
        fprintf(stderr, "barspace: out of memory\n");
        goto out;
    }
    bs_step_report rep;
    int n = bs_topo_node_count(after);
    uint64_t *per = calloc((size_t)n, sizeof *per);
    int crc = bs_steps_check(before, after, steps, ns, &o, &rep, per);
    bs_violation v[8];
    int nv = bs_check(after, before, v, 8);
    struct plan_result res = {ev->dev, p, after, steps, ns, n, crc, nv, rep,
                              per};
    if (json)
        print_json(&res);
    else
        print_text(&res);
    free(per);
    rc = crc || nv ? EXIT_FAILED : EXIT_OK;
out:
    free(steps);
    bs_topo_free(after);
    bs_plan_free(p);
    bs_churn_free(c);
    free(ev);
    bs_topo_free(t);
    return rc;
}
