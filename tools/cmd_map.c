/* barspace map: draw the address map of a topology (text, SVG, HTML, JSON). */
#include "cli.h"

#include "barspace/plan.h"
#include "barspace/render.h"
#include "barspace/snapshot.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace map FILE [--policy P] [--svg OUT.svg | --html OUT.html]\n"
    "                         [--after AFTER | --add SPEC] [--list] [--width N] [--json]\n"
    "\n"
    "Draw every window of the topology in FILE: root windows as panels, bridge\n"
    "windows as nested bands, BARs coloured by device, free gaps and each\n"
    "window's largest free naturally aligned block marked, failures listed.\n"
    "Extent widths are proportional to log2 of their sizes, so 4 KiB and 1 TiB\n"
    "extents are both visible.  FILE's own addresses (`at=`, as written by\n"
    "`barspace assign -o` or `barspace import`) are used when it has any;\n"
    "otherwise, or with --policy, the topology is assigned first.\n"
    "\n"
    "  --policy P     assign with policy linux, linux-X.Y or barspace (alias\n"
    "                 pack; default: FILE's addresses, else linux)\n"
    "  --svg OUT      write an SVG picture\n"
    "  --html OUT     write a self-contained HTML page (inline SVG, no fetches)\n"
    "  --after AFTER  draw before and after, with every moved BAR as an arrow:\n"
    "                 AFTER is a topology with addresses (e.g. written by\n"
    "                 `barspace assign -o`) or a snapshot holding a pending plan\n"
    "                 (then FILE may be `-` to take the plan's own before-state;\n"
    "                 otherwise FILE `-` is standard input)\n"
    "  --add SPEC     draw before and after the relocation plan for hot-adding\n"
    "                 SPEC, as `barspace plan --add SPEC` makes it (FILE is\n"
    "                 assigned with pack first)\n"
    "  --list         text map: also list every extent with its address range\n"
    "  --width N      text: columns, 60..1000 (default 100); SVG/HTML: pixels,\n"
    "                 600..20000 (default 1400)\n"
    "  --json         print the map's extents as JSON (schema barspace.map/1;\n"
    "                 with --after: barspace.mapdiff/1)\n"
    "\n"
    "Without --svg, --html or --json, prints a text map that fits the width.\n"
    "\n"
    "exit: 0 everything has an address, 1 something could not be assigned,\n"
    "      2 bad input\n"
    "\n"
    "examples:\n"
    "  barspace map examples/seed-14gpu.topo\n"
    "  barspace map examples/seed-14gpu.topo --svg seed.svg\n"
    "  barspace map examples/small-window.topo --policy barspace --html map.html\n"
    "  barspace assign examples/switch-nested.topo --policy barspace -o after.topo\n"
    "  barspace map examples/switch-nested.topo --after after.topo --html moves.html\n"
    "  barspace map examples/seed-25nvme.topo --add 'nvme25 at host bar0=mem64:128K' \\\n"
    "      --svg plan.svg\n";

/* Does the topology carry addresses other than firmware-fixed ones? */
static bool has_addresses(const bs_topo *t)
{
    int n = bs_topo_node_count(t);
    for (int i = 1; i < n; i++)
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info r;
            if (bs_topo_res_info(t, i, s, &r) || !r.size)
                continue;
            if ((r.flags & BS_RF_ASSIGNED) && !(r.flags & BS_RF_FIXED))
                return true;
        }
    return false;
}

/* Something without an address that should have one? */
static bool incomplete(const bs_topo *t)
{
    for (int i = 0; i < bs_topo_failure_count(t); i++) {
        bs_failure f;
        if (bs_topo_failure(t, i, &f) == BS_OK && !f.optional)
            return true;
    }
    int n = bs_topo_node_count(t);
    for (int i = 1; i < n; i++)
        for (int s = 0; s < BS_SLOT_WIN_IO; s++) {
            bs_res_info r;
            if (bs_topo_res_info(t, i, s, &r) || !r.size || (r.flags & BS_RF_UPPER))
                continue;
            if (!(r.flags & BS_RF_ASSIGNED) && s < BS_SLOT_VF0)
                return true;
        }
    return false;
}

/* Assign unless the file already has addresses (or a policy was asked for). */
static int prepare(bs_topo *t, const char *policy)
{
    if (!policy && has_addresses(t))
        return BS_OK;
    bs_assign_opts o;
    int pol = BS_POLICY_LINUX, kernel = 0;
    if (policy)
        bs_policy_parse(policy, &pol, &kernel, NULL);
    bs_assign_opts_init(&o, pol);
    o.kernel = kernel;
    if (policy)
        bs_topo_unassign(t);
    bs_error e = {0};
    int rc = bs_assign(t, &o, &e);
    if (rc != BS_OK && rc != BS_ENOSPC) {
        cli_print_error(&e);
        return rc;
    }
    return BS_OK;
}

static bool is_snapshot(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    return n == 8 && !memcmp(m, "\x89" "BSNAP\r\n", 8);
}

/* Before and after the barspace planner's plan for hot-adding `spec`. */
static int plan_add(const char *file, const char *spec, bs_topo **before,
                    bs_topo **after)
{
    bs_topo *t = cli_load_topo(file);
    if (!t)
        return EXIT_BADINPUT;
    char line[1024];
    snprintf(line, sizeof line, "add %s", spec);
    bs_error err = {0};
    bs_event *ev = NULL;
    int nev = 0, rc = EXIT_BADINPUT;
    bs_churn *c = NULL;
    bs_plan *p = bs_plan_new();
    bs_churn_opts o;
    bs_churn_opts_init(&o, BS_PLACE_BARSPACE);
    if (bs_events_parse(line, strlen(line), "--add", &ev, &nev, &err) ||
        nev != 1) {
        if (!err.msg[0])
            snprintf(err.msg, sizeof err.msg, "expected one device spec");
        cli_print_error(&err);
        goto out;
    }
    if (!p || bs_churn_new(t, &o, &c, &err)) {
        cli_print_error(&err);
        goto out;
    }
    int prc = bs_churn_plan_add(c, ev, p, &err);
    *before = bs_topo_clone(bs_churn_topo(c));
    if (prc == BS_ENOSPC) {
        fprintf(stderr, "barspace map: no plan: %s\n", err.msg);
        *after = *before ? bs_topo_clone(*before) : NULL;
        rc = *after ? EXIT_FAILED : EXIT_BADINPUT;
        goto out;
    }
    if (prc) {
        cli_print_error(&err);
        goto out;
    }
    *after = *before ? bs_topo_clone(*before) : NULL;
    if (!*after || bs_plan_apply(p, *after)) {
        fprintf(stderr, "barspace map: cannot apply the plan\n");
        goto out;
    }
    rc = EXIT_OK;
out:
    bs_churn_free(c);
    bs_plan_free(p);
    free(ev);
    bs_topo_free(t);
    return rc;
}

static char *render(const bs_topo *a, const bs_topo *b,
                    const bs_render_opts *o, size_t *len)
{
    int rc = b ? bs_render_map_diff(a, b, o, NULL, 0, len)
               : bs_render_map(a, o, NULL, 0, len);
    char *buf = rc == BS_OK ? malloc(*len + 1) : NULL;
    if (!buf) {
        fprintf(stderr, "barspace map: cannot render: %s\n",
                bs_strerror(rc ? rc : BS_ENOMEM));
        return NULL;
    }
    rc = b ? bs_render_map_diff(a, b, o, buf, *len + 1, len)
           : bs_render_map(a, o, buf, *len + 1, len);
    if (rc) {
        fprintf(stderr, "barspace map: cannot render: %s\n", bs_strerror(rc));
        free(buf);
        return NULL;
    }
    return buf;
}

struct map_args {
    cli_policy policy;
    const char *svg, *html, *after, *add;
    int json, list;
    uint64_t width;
};

#define O(f) offsetof(struct map_args, f)
static const cli_opt opts[] = {
    {"--policy", CLI_POLICY, O(policy), 0, NULL, 0, 0, "P"},
    {"--svg", CLI_STR, O(svg), 0, NULL, 0, 0, "FILE"},
    {"--html", CLI_STR, O(html), 0, NULL, 0, 0, "FILE"},
    {"--after", CLI_STR, O(after), 0, NULL, 0, 0, "FILE"},
    {"--add", CLI_STR, O(add), 0, NULL, 0, 0, "SPEC"},
    {"--list", CLI_FLAG, O(list), 0, NULL, 0, 0, NULL},
    {"--width", CLI_NUM, O(width), 0, NULL, 1, 20000, "N"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"map", usage_text, opts, 1, 1, "FILE"};

/* The renderer's width range for the output asked for: refused outside
 * it rather than silently clamped. */
static int check_width(const struct map_args *a)
{
    bool pix = (a->svg || a->html) && !a->json;
    uint64_t lo = pix ? 600 : 60, hi = pix ? 20000 : 1000;
    if (a->width && (a->width < lo || a->width > hi))
        return cli_usage_error("map", "--width: %llu is out of range for %s "
                               "(%llu..%llu)", (unsigned long long)a->width,
                               pix ? "SVG/HTML pixels" : "text columns",
                               (unsigned long long)lo, (unsigned long long)hi);
    return EXIT_OK;
}

int cmd_map(int argc, char **argv)
{
    struct map_args a = {0};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (check_width(&a))
        return EXIT_BADINPUT;
    const char *file = argv[0], *svg = a.svg, *html = a.html;
    const char *after_file = a.after, *add = a.add;
    const char *policy = a.policy.set ? bs_policy_name(a.policy.policy,
                                                       a.policy.kernel)
                                      : NULL;
    bool json = a.json, list = a.list;
    uint64_t width = a.width;
    if (svg && html)
        return cli_usage_error("map", "--svg and --html cannot be used "
                               "together");
    if (add && (after_file || policy))
        return cli_usage_error("map", "--add plans with the barspace planner: "
                               "no --after or --policy with it");
    /* FILE '-': the plan's own before-state with --after SNAPSHOT, else
     * standard input. */
    bool dash = !strcmp(file, "-") && after_file && is_snapshot(after_file);

    bs_topo *before = NULL, *after = NULL;
    bs_state st = {0};
    int ret = EXIT_BADINPUT, plan_rc = EXIT_OK;
    if (add) {
        plan_rc = plan_add(file, add, &before, &after);
        if (plan_rc == EXIT_BADINPUT)
            goto out;
    } else if (after_file && is_snapshot(after_file)) {
        bs_error e = {0};
        if (bs_snapshot_load_file(after_file, 0, &st, &e) != BS_OK) {
            cli_print_error(&e);
            return EXIT_BADINPUT;
        }
        if (!st.plan) {
            fprintf(stderr, "barspace map: %s: snapshot holds no pending "
                            "plan (nothing to draw after)\n", after_file);
            goto out;
        }
        after = bs_topo_clone(st.plan->after);
        if (dash)
            before = bs_topo_clone(st.plan->before);
        if (!after || (dash && !before)) {
            fprintf(stderr, "barspace map: out of memory\n");
            goto out;
        }
    }
    if (!before) {
        if (!(before = cli_load_topo(file)))
            goto out;
        if (prepare(before, policy))
            goto out;
    }
    if (after_file && !after) {
        if (!(after = cli_load_topo(after_file)))
            goto out;
        if (prepare(after, has_addresses(after) ? NULL : policy))
            goto out;
    }
    bs_error same = {0};
    if (after && bs_topo_same_machine(before, after, BS_SAME_BRIDGES, &same)) {
        fprintf(stderr, "barspace map: %s --after %s: %s\n", file,
                after_file ? after_file : "-", same.msg);
        goto out;
    }

    bs_render_opts o;
    char sub[160];
    snprintf(sub, sizeof sub, "%s", policy ? policy : "");
    if (policy)
        snprintf(sub, sizeof sub, "policy %s", policy);
    else if (add)
        snprintf(sub, sizeof sub, "%s, plan to hot-add %s", file, add);
    else if (!dash)
        snprintf(sub, sizeof sub, "%s", file);
    const char *out_path = svg ? svg : html;
    if (out_path) {
        bs_render_opts_init(&o, svg ? BS_RENDER_SVG : BS_RENDER_HTML);
        o.width = (int)width;
        o.subtitle = sub[0] ? sub : NULL;
        size_t len;
        char *buf = render(before, after, &o, &len);
        if (!buf)
            goto out;
        int wrc = cli_write_file(out_path, buf, len);
        free(buf);
        if (wrc)
            goto out;
    }
    if (json || !out_path) {
        bs_render_opts_init(&o, json ? BS_RENDER_JSON : BS_RENDER_TEXT);
        o.width = (int)width;
        o.list = list;
        o.subtitle = sub[0] ? sub : NULL;
        size_t len;
        char *buf = render(before, after, &o, &len);
        if (!buf)
            goto out;
        cli_put(stdout, buf, len);
        free(buf);
    } else {
        printf("wrote %s\n", out_path);
    }
    /* With --add the subject has no address before the plan, by design. */
    ret = plan_rc != EXIT_OK || (!add && incomplete(before)) ||
                  (after && incomplete(after))
              ? EXIT_FAILED
              : EXIT_OK;
out:
    bs_topo_free(before);
    bs_topo_free(after);
    bs_state_free(&st);
    return ret;
}
