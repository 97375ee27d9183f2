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
    const char *dir = argv[0], *topo = a.topology, *append_opt = a.append;
    bool json = a.json;
    if (compare_is_hotplug(dir)) {
        char *app = append_opt ? NULL : read_env(dir, "append");
        int hrc = compare_hotplug(dir, topo, append_opt ? append_opt : app, json);
        free(app);
        return hrc;
    }
    bs_topo *t = cli_load_topo(topo);
    if (!t)
        return EXIT_BADINPUT;
    char path[4096];
    snprintf(path, sizeof path, "%s/console.log", dir);
    bs_guest *g = NULL;
    bs_error e = {0};
    if (bs_guest_load(path, &g, &e) != BS_OK) {
        cli_print_error(&e);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    char *append = append_opt ? strdup(append_opt) : read_env(dir, "append");
    char *fw = read_env(dir, "firmware");
    bs_assign_opts o;
    bs_peer_linux_opts(append ? append : "", &o);
    char *kname = env_kernel(dir);
    const char *rel = kname ? kname : bs_guest_kernel_release(g);
    o.kernel = rel ? bs_kernel_from_release(rel) : 0;
    if (a.policy.set) {
        o.policy = a.policy.policy;
        o.kernel = a.policy.kernel;
    }
    int rc = BS_OK;
    free(kname);
    bs_peer_cmp *c = NULL;
    if (rc == BS_OK)
        rc = bs_peer_compare_opts(t, g, &o, topo, &c, &e);
    if (rc != BS_OK) {
        cli_print_error(&e);
        free(append);
        free(fw);
        bs_guest_free(g);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    const bs_topo *at = bs_peer_cmp_topo(c);
    int n = bs_peer_cmp_row_count(c), agree = 0, differ = 0, skipped = 0;
    int nn = bs_topo_node_count(at);
    int *dev_bad = calloc((size_t)nn, sizeof *dev_bad);
    int *dev_seen = calloc((size_t)nn, sizeof *dev_seen);
    if (!dev_bad || !dev_seen) {
        fprintf(stderr, "barspace: out of memory\n");
        rc = BS_ENOMEM;
    }
    if (json)
        printf("{\"schema\": \"barspace.compare/1\", \"firmware\": \"%s\", "
               "\"policy\": \"%s\", \"rows\": [", fw ? fw : "",
               bs_policy_name(o.policy, o.kernel));
    else
        printf("%-20s %-11s %-28s %-28s %-6s %s\n", "device", "resource",
               "guest", bs_policy_name(o.policy, o.kernel), "agree", "note");
    for (int i = 0; rc == BS_OK && i < n; i++) {
        bs_peer_row r;
        bs_peer_cmp_row(c, i, &r);
        bs_node_info ni;
        bs_topo_node_info(at, r.node, &ni);
        dev_seen[r.node] = 1;
        if (r.match > 0)
            agree++;
        else if (r.match == 0) {
            differ++;
            dev_bad[r.node] = 1;
        } else
            skipped++;
        char gb[48], bb[48];
        res_str(gb, sizeof gb, r.guest.assigned, r.guest.start, r.guest.size);
        res_str(bb, sizeof bb, r.assigned, r.addr, r.size);
        if (json) {
            printf("%s{\"device\": ", i ? ", " : "");
            cli_json_str(stdout, ni.name);
            printf(", \"resource\": ");
            cli_json_str(stdout, bs_slot_name(r.slot));
            printf(", \"guest\": \"%s\", \"barspace\": \"%s\", \"agree\": %s, "
                   "\"note\": ", gb, bb,
                   r.match > 0 ? "true" : r.match == 0 ? "false" : "null");
            cli_json_str(stdout, r.note);
            printf("}");
        } else {
            printf("%-20s %-11s %-28s %-28s %-6s %s\n", ni.name,
                   bs_slot_name(r.slot), gb, bb,
                   r.match > 0 ? "yes" : r.match == 0 ? "NO" : "-", r.note);
        }
    }
    int devs = 0, devs_ok = 0;
    for (int i = 1; rc == BS_OK && i < nn; i++)
        if (dev_seen[i]) {
            devs++;
            devs_ok += !dev_bad[i];
        }
    if (json) {
        printf("], \"notes\": [");
        for (int i = 0; i < bs_peer_cmp_note_count(c); i++) {
            printf("%s", i ? ", " : "");
            cli_json_str(stdout, bs_peer_cmp_note(c, i));
        }
        printf("], \"guest_failures\": [");
        for (int i = 0; i < bs_guest_failure_count(g); i++) {
            printf("%s", i ? ", " : "");
            cli_json_str(stdout, bs_guest_failure(g, i));
        }
        printf("], \"barspace_failures\": %d, \"agree\": %d, \"differ\": %d, "
               "\"not_compared\": %d, \"devices\": %d, \"devices_agree\": %d}\n",
               bs_topo_failure_count(at), agree, differ, skipped, devs, devs_ok);
    } else {
        for (int i = 0; i < bs_peer_cmp_note_count(c); i++)
            printf("note: %s\n", bs_peer_cmp_note(c, i));
        for (int i = 0; i < bs_guest_failure_count(g); i++)
            printf("guest failure: %s\n", bs_guest_failure(g, i));
        for (int i = 0; i < bs_topo_failure_count(at); i++) {
            bs_failure f;
            bs_topo_failure(at, i, &f);
            bs_node_info ni;
            bs_topo_node_info(at, f.node, &ni);
            printf("barspace failure: %s %s: %s\n", ni.name,
                   bs_slot_name(f.slot), f.reason);
        }
        printf("summary: firmware=%s policy=%s resources=%d agree=%d differ=%d "
               "not_compared=%d devices=%d devices_agree=%d guest_failures=%d "
               "barspace_failures=%d exact=%d\n",
               fw ? fw : "?", bs_policy_name(o.policy, o.kernel), agree + differ, agree, differ, skipped, devs,
               devs_ok, bs_guest_failure_count(g), bs_topo_failure_count(at),
               differ == 0);
    }
    free(dev_bad);
    free(dev_seen);
    free(append);
    free(fw);
    bs_peer_cmp_free(c);
    bs_guest_free(g);
    bs_topo_free(t);
    if (rc != BS_OK)
        return EXIT_BADINPUT;
    return differ ? EXIT_FAILED : EXIT_OK;
}
