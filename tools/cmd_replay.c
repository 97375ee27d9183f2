/* barspace replay: a real guest's config traffic against the emulation. */
#include "cli.h"
#include "compare_hotplug.h"
#include "barspace/cfgspace.h"
#include "barspace/qemu.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace replay TRACE --topology FILE [--host eager|deferred]\n"
    "                       [--devices] [--json]\n"
    "\n"
    "Replay QEMU's config-access trace (qemu -trace 'pci_cfg_*' -trace\n"
    "'pci_update_mappings*', as peer/run saves it) against barspace's\n"
    "config-space emulation of the topology, in order, comparing every read\n"
    "with the value QEMU returned.  The first disagreement is printed with the\n"
    "access, both values and the register's meaning (and the first one of\n"
    "each register class).  Then agreement overall and for BAR, command, ROM\n"
    "and bridge-window registers, and QEMU's pci_update_mappings add/del of\n"
    "memory BARs and ROMs beside the emulation's map/unmap calls per device.\n"
    "QEMU does not log access widths; they are inferred from the register\n"
    "and the value (docs/peer.md).\n"
    "\n"
    "  --host P    eager (default; what QEMU does) or deferred\n"
    "  --devices   per-device table of reads and map/unmap counts\n"
    "  --json      machine-readable (schema barspace.replay/1)\n"
    "\n"
    "The last line of text output is 'summary: ...' with key=value counts.\n"
    "exit: 0 every read of a modelled register (BAR, command, ROM, bridge\n"
    "      window) agrees, 1 one differs, 2 bad input or no trace lines\n"
    "\n"
    "examples:\n"
    "  barspace replay OUTDIR/trace.log --topology peer/topologies/sb-base.topo\n"
    "  barspace replay tests/data/peer/sb-base.trace --topology tests/data/peer/sb-base.topo --host deferred --devices\n";

static const char *kind_word(int k)
{
    return k == BS_QEV_READ ? "read" : k == BS_QEV_WRITE ? "write" : "map";
}

static void print_mm(const char *what, const bs_topo *t, const char *trace,
                     const bs_replay_mismatch *m)
{
    bs_node_info ni;
    bs_topo_node_info(t, m->node, &ni);
    printf("%s: %s:%d: %s %s %02x:%02x.%x (%s '%s') @0x%x: QEMU 0x%x, "
           "barspace 0x%x -- %s\n",
           what, trace, m->ev.line, kind_word(m->ev.kind), m->ev.dev,
           m->ev.bus, m->ev.slot, m->ev.fn,
           ni.kind == BS_NODE_BRIDGE ? "bridge" : "device", ni.name,
           m->ev.off, m->ev.val, m->ours, m->reg);
}

static double pct(uint64_t a, uint64_t n)
{
    return n ? 100.0 * (double)a / (double)n : 100.0;
}

/* TRACE, or standard input for '-'; NULL after the message. */
static bs_qtrace *load_trace(const char *trace)
{
    bs_qtrace *q = NULL;
    bs_error e = {0};
    int rc;
    if (strcmp(trace, "-")) {
        rc = bs_qtrace_load(trace, &q, &e);
    } else {
        size_t len;
        char *text = cli_read_input(trace, (size_t)1 << 30, &len);
        if (!text)
            return NULL;
        rc = bs_qtrace_parse(text, len, "<stdin>", &q, &e);
        free(text);
    }
    if (rc != BS_OK)
        cli_print_error(&e);
    return rc == BS_OK ? q : NULL;
}

struct replay_args {
    const char *topology;
    int host, json, devices;
};

#define O(f) offsetof(struct replay_args, f)
static const cli_opt opts[] = {
    {"--topology", CLI_STR, O(topology), 0, NULL, 0, 0, "FILE"},
    {"--host", CLI_CHOICE, O(host), 0, "eager|deferred", 0, 0, "POLICY"},
    {"--devices", CLI_FLAG, O(devices), 0, NULL, 0, 0, NULL},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"replay", usage_text, opts, 1, 1, "TRACE"};

/* One replay: the machine, the trace and the verdicts, released in one
 * place. */
struct replay_run {
    bs_topo *t;
    bs_qtrace *q;
    bs_replay_dev *devs; /* per node */
    bs_replay_result r;
    const char *trace, *host;
};

static const int cls_order[] = {BS_REG_BAR, BS_REG_COMMAND, BS_REG_ROM,
                                BS_REG_WINDOW, BS_REG_ID, BS_REG_OTHER};

static void replay_free(struct replay_run *x)
{
    free(x->devs);
    bs_qtrace_free(x->q);
    bs_topo_free(x->t);
}

/* Load and replay; EXIT_OK or EXIT_BADINPUT after the message. */
static int replay_load(struct replay_run *x, const char *topo, int policy)
{
    bs_error e = {0};
    bs_peer_plug *plugs = NULL;
    int nplugs = 0;
    if (!(x->t = cli_load_topo(topo)) || !(x->q = load_trace(x->trace)))
        return EXIT_BADINPUT;
    /* A peer/hotplug run: the devices plugged in and out on the way. */
    if (replay_hotplug_machine(x->trace, &x->t, &plugs, &nplugs) != EXIT_OK)
        return EXIT_BADINPUT;
    x->devs = calloc((size_t)bs_topo_node_count(x->t), sizeof *x->devs);
    int rc = x->devs ? bs_peer_replay_plugs(x->t, x->q, policy, plugs, nplugs,
                                            topo, &x->r, x->devs, &e)
                     : BS_ENOMEM;
    free(plugs);
    return rc == BS_OK ? EXIT_OK : cli_lib_error(rc, &e);
}

static void json_devices(const struct replay_run *x)
{
    for (int i = 1, k = 0; i < bs_topo_node_count(x->t); i++) {
        const bs_replay_dev *d = &x->devs[i];
        bs_node_info ni;
        if (!d->reads && !d->qemu_add && !d->qemu_del && !d->maps &&
            !d->unmaps)
            continue;
        bs_topo_node_info(x->t, i, &ni);
        printf("%s{\"name\": ", k++ ? ", " : "");
        cli_json_str(stdout, ni.name);
        printf(", \"reads\": %llu, \"agree\": %llu, \"qemu_add\": %llu, "
               "\"qemu_del\": %llu, \"map\": %llu, \"unmap\": %llu}",
               (unsigned long long)d->reads, (unsigned long long)d->reads_agree,
               (unsigned long long)d->qemu_add, (unsigned long long)d->qemu_del,
               (unsigned long long)d->maps, (unsigned long long)d->unmaps);
    }
}

static void print_json(const struct replay_run *x)
{
    const bs_replay_result *r = &x->r;
    printf("{\"schema\": \"barspace.replay/1\", \"host\": \"%s\", "
           "\"reads\": %llu, \"agree\": %llu, \"classes\": {", x->host,
           (unsigned long long)r->reads, (unsigned long long)r->reads_agree);
    for (int k = 0; k < BS_REG_NCLASSES; k++) {
        int c = cls_order[k];
        printf("%s\"%s\": [%llu, %llu]", k ? ", " : "", bs_reg_class_name(c),
               (unsigned long long)r->cls_agree[c],
               (unsigned long long)r->cls_reads[c]);
    }
    printf("}, \"modelled\": [%llu, %llu], \"not_modelled\": [",
           (unsigned long long)r->modelled_agree,
           (unsigned long long)r->modelled_reads);
    for (int k = 0, m = 0; k < BS_REG_NCLASSES; k++)
        if (!bs_reg_class_modelled(cls_order[k]))
            printf("%s\"%s\"", m++ ? ", " : "",
                   bs_reg_class_name(cls_order[k]));
    printf("], \"writes\": %llu, \"unrouted\": %llu, \"devices\": [",
           (unsigned long long)r->writes, (unsigned long long)r->unrouted);
    json_devices(x);
    printf("]}\n");
}

/* The first disagreement overall and per register class, then the counts. */
static void text_classes(const struct replay_run *x)
{
    const bs_replay_result *r = &x->r;
    if (r->have_first_modelled)
        print_mm("first disagreement", x->t, x->trace, &r->first_modelled);
    for (int k = 0; k < BS_REG_NCLASSES; k++) {
        int c = cls_order[k];
        char what[64];
        if (!r->have_first_cls[c] ||
            (r->have_first_modelled &&
             r->first_modelled.ev.line == r->first_cls[c].ev.line))
            continue;
        snprintf(what, sizeof what, "first %s disagreement%s",
                 bs_reg_class_name(c),
                 bs_reg_class_modelled(c) ? "" : " (not modelled)");
        print_mm(what, x->t, x->trace, &r->first_cls[c]);
    }
    printf("reads: %llu of %llu agree (%.2f%%); writes %llu; unrouted %llu\n",
           (unsigned long long)r->reads_agree, (unsigned long long)r->reads,
           pct(r->reads_agree, r->reads), (unsigned long long)r->writes,
           (unsigned long long)r->unrouted);
    for (int k = 0; k < BS_REG_NCLASSES; k++) {
        int c = cls_order[k];
        printf("  %-14s %6llu of %6llu (%.2f%%)%s\n", bs_reg_class_name(c),
               (unsigned long long)r->cls_agree[c],
               (unsigned long long)r->cls_reads[c],
               pct(r->cls_agree[c], r->cls_reads[c]),
               bs_reg_class_modelled(c) ? "" : "  not modelled");
    }
    printf("modelled registers: %llu of %llu reads agree (%.2f%%)\n",
           (unsigned long long)r->modelled_agree,
           (unsigned long long)r->modelled_reads,
           pct(r->modelled_agree, r->modelled_reads));
}

static void text_devices(const struct replay_run *x)
{
    printf("\n%-20s %8s %8s  %9s %9s  %6s %6s\n", "device", "reads", "agree",
           "qemu add", "qemu del", "map", "unmap");
    for (int i = 1; i < bs_topo_node_count(x->t); i++) {
        const bs_replay_dev *d = &x->devs[i];
        bs_node_info ni;
        bs_topo_node_info(x->t, i, &ni);
        printf("%-20s %8llu %8llu  %9llu %9llu  %6llu %6llu%s\n", ni.name,
               (unsigned long long)d->reads, (unsigned long long)d->reads_agree,
               (unsigned long long)d->qemu_add, (unsigned long long)d->qemu_del,
               (unsigned long long)d->maps, (unsigned long long)d->unmaps,
               d->qemu_add == d->maps && d->qemu_del == d->unmaps
                   ? "" : "  <- differs from QEMU");
    }
}

static void text_summary(const struct replay_run *x)
{
    const bs_replay_result *r = &x->r;
    printf("summary: host=%s reads=%llu agree=%llu agree_pct=%.2f "
           "bar=%llu/%llu command=%llu/%llu rom=%llu/%llu "
           "window=%llu/%llu qemu_add=%llu qemu_del=%llu map=%llu "
           "unmap=%llu devices_counts_agree=%d/%d unrouted=%llu\n",
           x->host, (unsigned long long)r->reads,
           (unsigned long long)r->reads_agree, pct(r->reads_agree, r->reads),
           (unsigned long long)r->cls_agree[BS_REG_BAR],
           (unsigned long long)r->cls_reads[BS_REG_BAR],
           (unsigned long long)r->cls_agree[BS_REG_COMMAND],
           (unsigned long long)r->cls_reads[BS_REG_COMMAND],
           (unsigned long long)r->cls_agree[BS_REG_ROM],
           (unsigned long long)r->cls_reads[BS_REG_ROM],
           (unsigned long long)r->cls_agree[BS_REG_WINDOW],
           (unsigned long long)r->cls_reads[BS_REG_WINDOW],
           (unsigned long long)r->qemu_add, (unsigned long long)r->qemu_del,
           (unsigned long long)r->maps, (unsigned long long)r->unmaps,
           r->devices_counts_agree, r->devices,
           (unsigned long long)r->unrouted);
}

int cmd_replay(int argc, char **argv)
{
    struct replay_args a = {0};
    int nops, rc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (rc != CLI_RUN)
        return cli_parse_exit(rc);
    if (!a.topology)
        return cli_usage_error("replay", "missing --topology FILE");
    int policy = a.host == 0 ? BS_HOST_EAGER : BS_HOST_DEFERRED;
    struct replay_run x = {0};
    x.trace = argv[0];
    x.host = policy == BS_HOST_EAGER ? "eager" : "deferred";
    rc = replay_load(&x, a.topology, policy);
    if (rc == EXIT_OK) {
        if (a.json) {
            print_json(&x);
        } else {
            text_classes(&x);
            if (a.devices)
                text_devices(&x);
            text_summary(&x);
        }
        /* The verdict covers what the emulation claims to model. */
        rc = x.r.modelled_agree == x.r.modelled_reads ? EXIT_OK : EXIT_FAILED;
    }
    replay_free(&x);
    return rc;
}
