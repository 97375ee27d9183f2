/* barspace boot: replay a guest's boot-time config traffic against the
 * emulated machine and report what the host's mapping policy costs. */
#include "cli.h"
#include "barspace/cfgspace.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace boot FILE --guest MODEL --host eager|deferred [--json]\n"
    "                          [--bridge-windows] [--no-driver-enable]\n"
    "                          [--cost-fixed S] [--cost-4k S] [--cost-2m S] [--cost-1g S]\n"
    "\n"
    "Assign the topology in FILE (policy linux), build the emulated machine\n"
    "with memory decode pre-set by the host, run the guest's boot-time config\n"
    "accesses against it and print, per function and in total: decode toggles,\n"
    "map and unmap calls, bytes and pages mapped and the modeled seconds.\n"
    "\n"
    "  --guest linux-prepatch   hv_pci sets decode; Linux 6.1 toggles it per BAR\n"
    "                           while sizing and per 64-bit BAR rewrite\n"
    "  --guest linux-patched    23e118a48acf: decode left clear until the driver\n"
    "  --guest linux-6.13       4453f360862e: one sizing toggle per function\n"
    "  --guest linux-6.1        plain Linux 6.1/6.12 on a SeaBIOS-programmed machine\n"
    "                           (firmware BARs kept; a toggle per BAR while sizing)\n"
    "  --guest linux-7.2        plain Linux 7.2 on it: one sizing toggle per function\n"
    "  --host eager             unmap on every decode-off, map on every decode-on\n"
    "  --host deferred          keep a mapping across decode-off while the BAR\n"
    "                           still names it (docs/boot-cost.md)\n"
    "  --bridge-windows         a BAR is mapped only while its bridges forward it\n"
    "                           (QEMU's flat view); default: per function, as the\n"
    "                           seed's host (Hyper-V) maps\n"
    "  --no-driver-enable       stop before the drivers enable their devices\n"
    "  --cost-fixed S           seconds per map/unmap call (default 0.0001)\n"
    "  --cost-4k/-2m/-1g S      seconds per page of that size (default: calibrated\n"
    "                           to 1.8 s for unmap+map of a 128 GiB BAR)\n"
    "  --json                   machine-readable output (schema barspace.boot/1)\n"
    "\n"
    "exit: 0 ok, 1 not all BARs could be assigned or the emulation check failed,\n"
    "      2 bad input\n"
    "\n"
    "examples:\n"
    "  barspace boot examples/seed-14gpu.topo --guest linux-prepatch --host eager\n"
    "  barspace boot examples/seed-14gpu.topo --guest linux-patched --host eager\n"
    "  barspace boot examples/seed-14gpu.topo --guest linux-prepatch --host deferred --json\n";

static void json_stats(const bs_decode_stats *s)
{
    printf("\"toggles\": %llu, \"decode_off\": %llu, \"decode_on\": %llu, "
           "\"maps\": %llu, \"unmaps\": %llu, \"bytes_mapped\": %llu, "
           "\"bytes_unmapped\": %llu, \"pages_mapped\": %llu, "
           "\"pages_unmapped\": %llu, \"seconds\": %.6f, "
           "\"toggle_seconds\": %.6f, \"cfg_reads\": %llu, \"cfg_writes\": %llu",
           (unsigned long long)s->toggles, (unsigned long long)s->decode_off,
           (unsigned long long)s->decode_on, (unsigned long long)s->maps,
           (unsigned long long)s->unmaps, (unsigned long long)s->bytes_mapped,
           (unsigned long long)s->bytes_unmapped,
           (unsigned long long)s->pages_mapped,
           (unsigned long long)s->pages_unmapped, s->seconds,
           s->toggle_seconds, (unsigned long long)s->cfg_reads,
           (unsigned long long)s->cfg_writes);
}

static void text_row(const char *name, const char *bdf,
                     const bs_decode_stats *s)
{
    printf("%-16s %-8s %7llu %5llu %6llu %10s %8llu %11.3f %11.3f\n", name,
           bdf, (unsigned long long)s->toggles, (unsigned long long)s->maps,
           (unsigned long long)s->unmaps, cli_size(s->bytes_mapped),
           (unsigned long long)s->pages_mapped, s->seconds, s->toggle_seconds);
}

/* A finished boot run, for the two printers. */
struct boot_result {
    const char *file;
    int guest, host, windows, enable;
    bs_vm_opts vo;
    bs_vm *vm;
    const bs_topo *t;
    int n, conflicts, problems;
    bs_decode_stats initial, tot, ideal;
};

static void print_json(const struct boot_result *r)
{
    const char *file = r->file;
    int guest = r->guest;
    int host = r->host;
    int windows = r->windows;
    int enable = r->enable;
    const bs_vm_opts vo = r->vo;
    bs_vm *vm = r->vm;
    const bs_topo *t = r->t;
    int n = r->n;
    bs_decode_stats initial = r->initial;
    bs_decode_stats tot = r->tot;
    bs_decode_stats ideal = r->ideal;
    int conflicts = r->conflicts;
    int problems = r->problems;
    printf("{\"schema\": \"barspace.boot/1\", \"file\": ");
    cli_json_str(stdout, file);
    printf(", \"guest\": \"%s\", \"host\": \"%s\", \"bridge_windows\": %s, "
           "\"driver_enable\": %s,\n",
           bs_boot_guest_name(guest),
           host == BS_HOST_EAGER ? "eager" : "deferred",
           windows ? "true" : "false", enable ? "true" : "false");
    printf(" \"cost\": {\"fixed\": %g, \"per_4k\": %g, \"per_2m\": %g, "
           "\"per_1g\": %g},\n",
           vo.cost.fixed, vo.cost.per_4k, vo.cost.per_2m, vo.cost.per_1g);
    printf(" \"devices\": [");
    bool first = true;
    for (int i = 1; i < n; i++) {
        bs_decode_stats s;
        bs_node_info ni;
        unsigned b, d, f;
        bs_vm_stats(vm, i, &s);
        bs_topo_node_info(t, i, &ni);
        bs_vm_bdf(vm, i, &b, &d, &f);
        printf("%s\n  {\"name\": ", first ? "" : ",");
        cli_json_str(stdout, ni.name);
        printf(", \"bdf\": \"%02x:%02x.%u\", \"bridge\": %s, ", b, d, f,
               ni.kind == BS_NODE_BRIDGE ? "true" : "false");
        json_stats(&s);
        printf("}");
        first = false;
    }
    printf("\n ],\n \"initial\": {");
    json_stats(&initial);
    printf("},\n \"total\": {");
    json_stats(&tot);
    printf("},\n \"ideal\": {\"maps\": %llu, \"bytes_mapped\": %llu, "
           "\"pages_mapped\": %llu, \"seconds\": %.6f},\n",
           (unsigned long long)ideal.maps,
           (unsigned long long)ideal.bytes_mapped,
           (unsigned long long)ideal.pages_mapped, ideal.seconds);
    printf(" \"over_ideal\": %.6f, \"decode_conflicts\": %d, "
           "\"check_problems\": %d}\n",
           ideal.seconds > 0 ? tot.seconds / ideal.seconds - 1 : 0.0,
           conflicts, problems);
}

static void print_text(const struct boot_result *r)
{
    const char *file = r->file;
    int guest = r->guest;
    int host = r->host;
    int windows = r->windows;
    bs_vm *vm = r->vm;
    const bs_topo *t = r->t;
    int n = r->n;
    bs_decode_stats initial = r->initial;
    bs_decode_stats tot = r->tot;
    bs_decode_stats ideal = r->ideal;
    int conflicts = r->conflicts;
    printf("guest %s, host %s%s: %s\n\n", bs_boot_guest_name(guest),
           host == BS_HOST_EAGER ? "eager" : "deferred",
           windows ? " (bridge windows)" : "", file);
    printf("%-16s %-8s %7s %5s %6s %10s %8s %11s %11s\n", "function",
           "bdf", "toggles", "maps", "unmaps", "mapped", "pages",
           "seconds", "toggle s");
    for (int i = 1; i < n; i++) {
        bs_decode_stats s;
        bs_node_info ni;
        unsigned b, d, f;
        bs_vm_stats(vm, i, &s);
        if (!s.toggles && !s.maps && !s.unmaps)
            continue;
        bs_topo_node_info(t, i, &ni);
        bs_vm_bdf(vm, i, &b, &d, &f);
        char bdf[16];
        snprintf(bdf, sizeof bdf, "%02x:%02x.%u", b, d, f);
        text_row(ni.name, bdf, &s);
    }
    text_row("total", "", &tot);
    printf("\nhost pre-set mapping at VM creation: %llu maps, %.3f s "
           "(included above)\n",
           (unsigned long long)initial.maps, initial.seconds);
    printf("ideal (one map per BAR, no toggles): %llu maps, %.3f s\n",
           (unsigned long long)ideal.maps, ideal.seconds);
    printf("this boot: %.3f s = ideal %+.3f s (%.2f%%), of which decode "
           "toggles %.3f s\n",
           tot.seconds, tot.seconds - ideal.seconds,
           ideal.seconds > 0 ? 100.0 * (tot.seconds / ideal.seconds - 1)
                             : 0.0,
           tot.toggle_seconds);
    if (conflicts)
        printf("guest-visible decode conflicts: %d\n", conflicts);
}

struct boot_args {
    int guest, host, json, windows, no_enable;
    double cost_fixed, cost_4k, cost_2m, cost_1g;
};

#define O(f) offsetof(struct boot_args, f)
static const cli_opt opts[] = {
    {"--guest", CLI_CHOICE, O(guest), 0,
     "linux-prepatch|linux-patched|linux-6.13|linux-6.1|linux-7.2", 0, 0,
     "MODEL"},
    {"--host", CLI_CHOICE, O(host), 0, "eager|deferred", 0, 0, "POLICY"},
    {"--bridge-windows", CLI_FLAG, O(windows), 0, NULL, 0, 0, NULL},
    {"--no-driver-enable", CLI_FLAG, O(no_enable), 0, NULL, 0, 0, NULL},
    {"--cost-fixed", CLI_SECS, O(cost_fixed), 0, NULL, 0, 0, "S"},
    {"--cost-4k", CLI_SECS, O(cost_4k), 0, NULL, 0, 0, "S"},
    {"--cost-2m", CLI_SECS, O(cost_2m), 0, NULL, 0, 0, "S"},
    {"--cost-1g", CLI_SECS, O(cost_1g), 0, NULL, 0, 0, "S"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"boot", usage_text, opts, 1, 1, "FILE"};

int cmd_boot(int argc, char **argv)
{
    bs_vm_opts vo;
    bs_vm_opts_init(&vo);
    struct boot_args a = {-1, -1, 0, 0, 0, vo.cost.fixed, vo.cost.per_4k,
                          vo.cost.per_2m, vo.cost.per_1g};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (a.guest < 0)
        return cli_usage_error("boot", "missing --guest MODEL");
    if (a.host < 0)
        return cli_usage_error("boot", "missing --host eager|deferred");
    const char *file = argv[0];
    /* The choices are listed in enum bs_boot_guest order. */
    int guest = a.guest;
    int host = a.host == 0 ? BS_HOST_EAGER : BS_HOST_DEFERRED;
    int json = a.json, windows = a.windows, enable = !a.no_enable;
    vo.cost.fixed = a.cost_fixed;
    vo.cost.per_4k = a.cost_4k;
    vo.cost.per_2m = a.cost_2m;
    vo.cost.per_1g = a.cost_1g;

    bs_topo *t = cli_load_topo(file);
    if (!t)
        return EXIT_BADINPUT;
    bs_error err = {0};
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_LINUX);
    int rc = bs_assign(t, &ao, &err);
    if (rc == BS_ENOSPC) {
        int nf = bs_topo_failure_count(t);
        for (int i = 0; i < nf; i++) {
            bs_failure f;
            bs_node_info ni;
            bs_topo_failure(t, i, &f);
            bs_topo_node_info(t, f.node, &ni);
            if (f.optional)
                continue;
            fprintf(stderr, "barspace: %s:%d: %s %s not assigned: %s\n", file,
                    ni.line, ni.name, bs_slot_name(f.slot), f.reason);
        }
    } else if (rc) {
        if (!err.file[0])
            snprintf(err.file, sizeof err.file, "%s", file);
        cli_print_error(&err);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    vo.policy = host;
    vo.bridge_windows = windows;
    /* hv_pci guests: the host pre-sets memory decode; plain guests start
     * from power-on and the firmware model sets it. */
    vo.initial_command = guest >= BS_GUEST_LINUX_61 ? 0 : BS_CMD_MEM;
    bs_vm *vm = NULL;
    memset(&err, 0, sizeof err);
    rc = bs_vm_new(t, &vo, &vm, &err);
    if (rc) {
        snprintf(err.file, sizeof err.file, "%s", file);
        cli_print_error(&err);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    bs_decode_stats initial;
    bs_vm_stats(vm, -1, &initial);
    bs_boot_opts bo;
    bs_boot_opts_init(&bo, guest);
    bo.driver_enable = enable;
    rc = bs_boot_run(vm, &bo, &err);
    if (rc) {
        snprintf(err.file, sizeof err.file, "%s", file);
        cli_print_error(&err);
        bs_vm_free(vm);
        bs_topo_free(t);
        return rc == BS_ESTATE ? EXIT_FAILED : EXIT_BADINPUT;
    }
    char msg[256];
    int problems = bs_vm_check(vm, msg, sizeof msg);
    int conflicts = bs_vm_decode_conflicts(vm);
    bs_decode_stats tot, ideal;
    bs_vm_stats(vm, -1, &tot);
    bs_vm_ideal(vm, &ideal);
    int n = bs_topo_node_count(t);

    struct boot_result res = {file,      guest, host, windows, enable, vo, vm,
                              t,         n,     conflicts, problems,
                              initial,   tot,   ideal};
    if (json)
        print_json(&res);
    else
        print_text(&res);
    if (problems)
        fprintf(stderr, "barspace: emulation check failed: %s\n", msg);
    bs_vm_free(vm);
    bs_topo_free(t);
    return problems || rc ? EXIT_FAILED : EXIT_OK;
}
