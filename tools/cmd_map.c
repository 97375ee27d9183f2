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

/* One map: the machine before, after (a plan, a snapshot or a second
 * file) and where they came from, released in one place. */
struct map_run {
    bs_topo *before, *after;
    bs_state st;
    int plan_rc;     /* --add: the plan's exit code */
    const char *policy;
    char sub[160];   /* the picture's subtitle */
};

static void map_free(struct map_run *r)
{
    bs_topo_free(r->before);
    bs_topo_free(r->after);
    bs_state_free(&r->st);
}

/* --after SNAPSHOT: the pending plan's after-state (and its before-state
 * when FILE is '-'). */
static int load_snapshot(struct map_run *r, const char *path, bool dash)
{
    bs_error e = {0};
    if (bs_snapshot_load_file(path, 0, &r->st, &e) != BS_OK)
        return cli_lib_error(BS_EPARSE, &e);
    if (!r->st.plan) {
        fprintf(stderr, "barspace map: %s: snapshot holds no pending plan "
                        "(nothing to draw after)\n", path);
        return EXIT_BADINPUT;
    }
    r->after = bs_topo_clone(r->st.plan->after);
    if (dash)
        r->before = bs_topo_clone(r->st.plan->before);
    if (!r->after || (dash && !r->before))
        return cli_lib_error(BS_ENOMEM, NULL);
    return EXIT_OK;
}

/* Everything the picture needs; EXIT_OK or EXIT_BADINPUT after the
 * message. */
static int map_load(struct map_run *r, const char *file,
                    const struct map_args *a)
{
    /* FILE '-': the plan's own before-state with --after SNAPSHOT, else
     * standard input. */
    bool snap = a->after && is_snapshot(a->after);
    bool dash = !strcmp(file, "-") && snap;
    int rc = EXIT_OK;
    if (a->add && (r->plan_rc = plan_add(file, a->add, &r->before,
                                         &r->after)) == EXIT_BADINPUT)
        return EXIT_BADINPUT;
    if (snap && (rc = load_snapshot(r, a->after, dash)))
        return rc;
    if (!r->before && (!(r->before = cli_load_topo(file)) ||
                       prepare(r->before, r->policy)))
        return EXIT_BADINPUT;
    if (a->after && !r->after &&
        (!(r->after = cli_load_topo(a->after)) ||
         prepare(r->after, has_addresses(r->after) ? NULL : r->policy)))
        return EXIT_BADINPUT;
    bs_error same = {0};
    if (r->after &&
        bs_topo_same_machine(r->before, r->after, BS_SAME_BRIDGES, &same)) {
        fprintf(stderr, "barspace map: %s --after %s: %s\n", file,
                a->after ? a->after : "-", same.msg);
        return EXIT_BADINPUT;
    }
    if (r->policy)
        snprintf(r->sub, sizeof r->sub, "policy %s", r->policy);
    else if (a->add)
        snprintf(r->sub, sizeof r->sub, "%s, plan to hot-add %s", file, a->add);
    else if (!dash)
        snprintf(r->sub, sizeof r->sub, "%s", file);
    return EXIT_OK;
}

/* Render in one format to a file (path) or standard output (NULL). */
static int map_emit(const struct map_run *r, const struct map_args *a,
                    int format, const char *path)
{
    bs_render_opts o;
    size_t len;
    bs_render_opts_init(&o, format);
    o.width = (int)a->width;
    o.list = path ? 0 : a->list;
    o.subtitle = r->sub[0] ? r->sub : NULL;
    char *buf = render(r->before, r->after, &o, &len);
    if (!buf)
        return EXIT_BADINPUT;
    int rc = path ? cli_write_file(path, buf, len) : EXIT_OK;
    if (!path)
        cli_put(stdout, buf, len);
    free(buf);
    return rc;
}

int cmd_map(int argc, char **argv)
{
    struct map_args a = {0};
    int nops, rc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (rc != CLI_RUN)
        return cli_parse_exit(rc);
    if (check_width(&a))
        return EXIT_BADINPUT;
    if (a.svg && a.html)
        return cli_usage_error("map", "--svg and --html cannot be used "
                               "together");
    if (a.add && (a.after || a.policy.set))
        return cli_usage_error("map", "--add plans with the barspace planner: "
                               "no --after or --policy with it");
    struct map_run r = {0};
    r.policy = a.policy.set ? bs_policy_name(a.policy.policy, a.policy.kernel)
                            : NULL;
    const char *pic = a.svg ? a.svg : a.html;
    rc = map_load(&r, argv[0], &a);
    if (!rc && pic)
        rc = map_emit(&r, &a, a.svg ? BS_RENDER_SVG : BS_RENDER_HTML, pic);
    if (!rc && (a.json || !pic))
        rc = map_emit(&r, &a, a.json ? BS_RENDER_JSON : BS_RENDER_TEXT, NULL);
    else if (!rc)
        printf("wrote %s\n", pic);
    /* With --add the subject has no address before the plan, by design. */
    if (!rc && (r.plan_rc != EXIT_OK || (!a.add && incomplete(r.before)) ||
                (r.after && incomplete(r.after))))
        rc = EXIT_FAILED;
    map_free(&r);
    return rc;
}
