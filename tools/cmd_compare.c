/* barspace compare: a real guest's final assignment vs the linux policy. */
#include "cli.h"
#include "cmd_compare_log.h"
#include "compare_hotplug.h"
#include "barspace/qemu.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace compare OUTDIR --topology FILE [--append \"...\"]\n"
    "                        [--policy linux-X.Y] [--json]\n"
    "\n"
    "Compare the final PCI assignment of a real Linux guest (OUTDIR is what\n"
    "peer/run saved: console.log with the guest's kernel lines and sysfs\n"
    "resources, run.env with the kernel command line) with barspace's linux\n"
    "policy on the same topology, device by device, BAR by BAR, bridge window\n"
    "by bridge window.  The policy starts where the kernel started: the host\n"
    "windows the guest reported and every BAR the firmware had programmed as\n"
    "firmware-fixed (Linux keeps them); the firmware is not modelled.  With\n"
    "firmware none (qboot) nothing is programmed, so every address is the\n"
    "policy's own.\n"
    "\n"
    "  --append S  kernel command line to model (default: run.env's append)\n"
    "  (an OUTDIR of peer/hotplug, with events.trace: the churn engine's linux\n"
    "  policy against the guest after every hot-plug event; docs/peer.md)\n"
    "  --policy P  kernel model (linux-6.1, linux-6.12, linux-7.2; default:\n"
    "              the guest's kernel, from run.env's kernel= or the console's\n"
    "              'Linux version' line)\n"
    "  --json      machine-readable rows (schema barspace.compare/1)\n"
    "\n"
    "The last line is 'summary: ...' with key=value counts.\n"
    "exit: 0 every compared resource agrees, 1 some differ, 2 bad input\n"
    "\n"
    "examples:\n"
    "  barspace compare tests/data/peer/none-base.out --topology tests/data/peer/none-base.topo\n"
    "\n"
    "With a kernel log instead of OUTDIR, `compare LOG` replays the kernel's\n"
    "own decisions against the model of its kernel (barspace compare LOG --help).\n";

static char *read_env(const char *dir, const char *key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.env", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[1024];
    size_t kl = strlen(key);
    char *val = NULL;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, key, kl) && line[kl] == '=') {
            line[strcspn(line, "\n")] = 0;
            val = strdup(line + kl + 1);
            break;
        }
    }
    fclose(f);
    return val;
}

/* The guest's kernel as peer/run recorded it: a kernel= line, or kernel=
 * inside params= (runs saved before there were several kernels). */
static char *env_kernel(const char *dir)
{
    char *k = read_env(dir, "kernel");
    if (k)
        return k;
    char *params = read_env(dir, "params");
    const char *p = params ? strstr(params, "kernel=") : NULL;
    if (p) {
        p += 7;
        k = strndup(p, strcspn(p, " "));
    }
    free(params);
    return k;
}

const char *res_str(char *b, size_t cap, int assigned, uint64_t a,
                    uint64_t s)
{
    if (!assigned)
        snprintf(b, cap, "unassigned");
    else
        snprintf(b, cap, "0x%llx-0x%llx", (unsigned long long)a,
                 (unsigned long long)(a + s - 1));
    return b;
}

struct compare_args {
    const char *topology, *append;
    cli_policy policy;
    int json;
};

#define O(f) offsetof(struct compare_args, f)
static const cli_opt opts[] = {
    {"--topology", CLI_STR, O(topology), 0, NULL, 0, 0, "FILE"},
    {"--append", CLI_STR, O(append), 0, NULL, 0, 0, "CMDLINE"},
    {"--policy", CLI_POLICY, O(policy), 0, NULL, 0, 0, "P"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"compare", usage_text, opts, 1, 1, "OUTDIR"};

/* One compare of a boot OUTDIR: its inputs, the verdicts and the counts
 * both printers need, released in one place. */
struct compare_run {
    bs_topo *t;
    bs_guest *g;
    bs_peer_cmp *c;
    char *fw;
    bs_assign_opts o;
    int agree, differ, skipped, devs, devs_ok;
};

static void compare_free(struct compare_run *r)
{
    bs_peer_cmp_free(r->c);
    bs_guest_free(r->g);
    bs_topo_free(r->t);
    free(r->fw);
}

/* The model's options: the run's command line, the guest's kernel (run.env,
 * else the console's banner), unless --append or --policy say otherwise. */
static void compare_opts(struct compare_run *r, const char *dir,
                         const struct compare_args *a)
{
    char *append = a->append ? NULL : read_env(dir, "append");
    const char *app = a->append ? a->append : append;
    bs_peer_linux_opts(app ? app : "", &r->o);
    free(append);
    char *kname = env_kernel(dir);
    const char *rel = kname ? kname : bs_guest_kernel_release(r->g);
    r->o.kernel = rel ? bs_kernel_from_release(rel) : 0;
    free(kname);
    if (a->policy.set) {
        r->o.policy = a->policy.policy;
        r->o.kernel = a->policy.kernel;
    }
}

/* Load OUTDIR and the topology and run the comparison; EXIT_OK or
 * EXIT_BADINPUT after the message. */
static int compare_load(struct compare_run *r, const char *dir,
                        const struct compare_args *a)
{
    bs_error e = {0};
    char path[4096];
    if (!(r->t = cli_load_topo(a->topology)))
        return EXIT_BADINPUT;
    snprintf(path, sizeof path, "%s/console.log", dir);
    if (bs_guest_load(path, &r->g, &e) != BS_OK)
        return cli_lib_error(BS_EPARSE, &e);
    r->fw = read_env(dir, "firmware");
    compare_opts(r, dir, a);
    int rc = bs_peer_compare_opts(r->t, r->g, &r->o, a->topology, &r->c, &e);
    return rc == BS_OK ? EXIT_OK : cli_lib_error(rc, &e);
}

/* Verdict counts, and devices whose every resource agrees. */
static int compare_count(struct compare_run *r)
{
    const bs_topo *at = bs_peer_cmp_topo(r->c);
    int nn = bs_topo_node_count(at);
    char *bad = calloc((size_t)nn, 2);
    if (!bad)
        return cli_lib_error(BS_ENOMEM, NULL);
    char *seen = bad + nn;
    for (int i = 0; i < bs_peer_cmp_row_count(r->c); i++) {
        bs_peer_row row;
        bs_peer_cmp_row(r->c, i, &row);
        seen[row.node] = 1;
        if (row.match > 0)
            r->agree++;
        else if (row.match == 0)
            r->differ++, bad[row.node] = 1;
        else
            r->skipped++;
    }
    for (int i = 1; i < nn; i++)
        if (seen[i])
            r->devs++, r->devs_ok += !bad[i];
    free(bad);
    return EXIT_OK;
}

static const char *match_word(int match, bool json)
{
    if (json)
        return match > 0 ? "true" : match == 0 ? "false" : "null";
    return match > 0 ? "yes" : match == 0 ? "NO" : "-";
}

static void print_rows(const struct compare_run *r, bool json)
{
    const bs_topo *at = bs_peer_cmp_topo(r->c);
    const char *pol = bs_policy_name(r->o.policy, r->o.kernel);
    if (json)
        printf("{\"schema\": \"barspace.compare/1\", \"firmware\": \"%s\", "
               "\"policy\": \"%s\", \"rows\": [", r->fw ? r->fw : "", pol);
    else
        printf("%-20s %-11s %-28s %-28s %-6s %s\n", "device", "resource",
               "guest", pol, "agree", "note");
    for (int i = 0; i < bs_peer_cmp_row_count(r->c); i++) {
        bs_peer_row row;
        bs_node_info ni;
        char gb[48], bb[48];
        bs_peer_cmp_row(r->c, i, &row);
        bs_topo_node_info(at, row.node, &ni);
        res_str(gb, sizeof gb, row.guest.assigned, row.guest.start,
                row.guest.size);
        res_str(bb, sizeof bb, row.assigned, row.addr, row.size);
        if (!json) {
            printf("%-20s %-11s %-28s %-28s %-6s %s\n", ni.name,
                   bs_slot_name(row.slot), gb, bb, match_word(row.match, 0),
                   row.note);
            continue;
        }
        printf("%s{\"device\": ", i ? ", " : "");
        cli_json_str(stdout, ni.name);
        printf(", \"resource\": ");
        cli_json_str(stdout, bs_slot_name(row.slot));
        printf(", \"guest\": \"%s\", \"barspace\": \"%s\", \"agree\": %s, "
               "\"note\": ", gb, bb, match_word(row.match, 1));
        cli_json_str(stdout, row.note);
        printf("}");
    }
}

static void print_tail_json(const struct compare_run *r)
{
    printf("], \"notes\": [");
    for (int i = 0; i < bs_peer_cmp_note_count(r->c); i++) {
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, bs_peer_cmp_note(r->c, i));
    }
    printf("], \"guest_failures\": [");
    for (int i = 0; i < bs_guest_failure_count(r->g); i++) {
        printf("%s", i ? ", " : "");
        cli_json_str(stdout, bs_guest_failure(r->g, i));
    }
    printf("], \"barspace_failures\": %d, \"agree\": %d, \"differ\": %d, "
           "\"not_compared\": %d, \"devices\": %d, \"devices_agree\": %d}\n",
           bs_topo_failure_count(bs_peer_cmp_topo(r->c)), r->agree, r->differ,
           r->skipped, r->devs, r->devs_ok);
}

static void print_tail_text(const struct compare_run *r)
{
    const bs_topo *at = bs_peer_cmp_topo(r->c);
    for (int i = 0; i < bs_peer_cmp_note_count(r->c); i++)
        printf("note: %s\n", bs_peer_cmp_note(r->c, i));
    for (int i = 0; i < bs_guest_failure_count(r->g); i++)
        printf("guest failure: %s\n", bs_guest_failure(r->g, i));
    for (int i = 0; i < bs_topo_failure_count(at); i++) {
        bs_failure f;
        bs_node_info ni;
        bs_topo_failure(at, i, &f);
        bs_topo_node_info(at, f.node, &ni);
        printf("barspace failure: %s %s: %s\n", ni.name,
               bs_slot_name(f.slot), f.reason);
    }
    printf("summary: firmware=%s policy=%s resources=%d agree=%d differ=%d "
           "not_compared=%d devices=%d devices_agree=%d guest_failures=%d "
           "barspace_failures=%d exact=%d\n",
           r->fw ? r->fw : "?", bs_policy_name(r->o.policy, r->o.kernel),
           r->agree + r->differ, r->agree, r->differ, r->skipped, r->devs,
           r->devs_ok, bs_guest_failure_count(r->g),
           bs_topo_failure_count(at), r->differ == 0);
}

int cmd_compare(int argc, char **argv)
{
    /* A kernel log takes compare LOG's options (tools/cmd_compare_log.c). */
    if (cmd_compare_is_log(argc, argv))
        return cmd_compare_log(argc, argv);
    struct compare_args a = {0};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (!a.topology)
        return cli_usage_error("compare", "missing --topology FILE");
    const char *dir = argv[0];
    if (compare_is_hotplug(dir)) {
        char *app = a.append ? NULL : read_env(dir, "append");
        int hrc = compare_hotplug(dir, a.topology, a.append ? a.append : app,
                                  a.json);
        free(app);
        return hrc;
    }
    struct compare_run r = {0};
    int rc = compare_load(&r, dir, &a);
    if (rc == EXIT_OK)
        rc = compare_count(&r);
    if (rc == EXIT_OK) {
        print_rows(&r, a.json);
        if (a.json)
            print_tail_json(&r);
        else
            print_tail_text(&r);
        rc = r.differ ? EXIT_FAILED : EXIT_OK;
    }
    compare_free(&r);
    return rc;
}
