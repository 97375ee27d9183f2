/* barspace diagnose: why BARs failed on a real machine, and what fixes it. */
#include "cli.h"
#include "cli_import.h"
#include "hv_diagnose.h"
#include "barspace/diagnose.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace diagnose FILE... [--format F] [--vm|--metal] [--json]\n"
    "\n"
    "Import FILE... as `barspace import` does (kernel log, lspci, sysfs copy,\n"
    "/proc/iomem; or one .topo file), then print:\n"
    "  - the reconstructed tree with every BAR and window and its address;\n"
    "  - every failed resource: which window it needed, how big, how much was\n"
    "    free there and how fragmented;\n"
    "  - whether barspace's linux model and its pack policy assign everything\n"
    "    inside the same windows, and whether moving working devices (the\n"
    "    relocation planner) makes room for the failed ones;\n"
    "  - remedies with numbers, each verified by assigning a copy of the\n"
    "    topology with the remedy applied (pci=realloc, pci=hpmmioprefsize=,\n"
    "    a bigger 64-bit window: QEMU pci-hole64-size / OVMF X-PciMmio64Mb,\n"
    "    Above 4G Decoding, a smaller Resizable BAR, ...).\n"
    "\n"
    "  --vm / --metal  word remedies for a QEMU VM / a real machine (default:\n"
    "                  guessed from the device IDs)\n"
    "  --format F      auto|dmesg|lspci|sysfs|iomem for every FILE\n"
    "  --json          machine-readable output (schema barspace.diagnose/1)\n"
    "\n"
    "exit: 0 nothing failed, 1 something failed (see the remedies), 2 bad input\n"
    "\n"
    "examples:\n"
    "  dmesg | barspace diagnose -\n"
    "  barspace diagnose boot.log /proc/iomem --vm\n"
    "  barspace diagnose machine.topo --json\n"
    "  barspace diagnose guest.log vm.topo   # Hyper-V guest (docs/hyperv.md)\n";

static void print_tree(const bs_topo *t)
{
    int n = bs_topo_node_count(t);
    for (int w = 0; w < bs_topo_window_count(t); w++) {
        bs_window_info wi;
        bs_topo_window_info(t, w, &wi);
        printf("  root window %d: %s [0x%llx-0x%llx] %s\n", w,
               (wi.flags & BS_RF_IO) ? "io " : "mem",
               (unsigned long long)wi.base,
               (unsigned long long)(wi.base + (wi.size - 1)), cli_size(wi.size));
    }
    for (int i = 1; i < n; i++) {
        bs_node_info ni;
        bs_topo_node_info(t, i, &ni);
        printf("  %*s%s%s%s%s\n", (ni.depth - 1) * 2, "", ni.name,
               ni.kind == BS_NODE_BRIDGE ? " (bridge)" : "",
               (ni.flags & BS_NF_HOTPLUG) ? " hot-plug" : "",
               ni.model[0] ? "" : "");
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info r;
            if (bs_topo_res_info(t, i, s, &r) || (r.flags & BS_RF_UPPER) ||
                !r.size)
                continue;
            char where[64];
            if (r.flags & BS_RF_FAILED)
                snprintf(where, sizeof where, "FAILED");
            else if (r.flags & BS_RF_ASSIGNED)
                snprintf(where, sizeof where, "0x%llx-0x%llx%s",
                         (unsigned long long)r.addr,
                         (unsigned long long)(r.addr + (r.size - 1)),
                         (r.flags & BS_RF_FIXED) ? " (firmware)" : "");
            else
                snprintf(where, sizeof where, "unassigned");
            printf("  %*s  %-11s %-11s %6s  %s\n", (ni.depth - 1) * 2, "",
                   bs_slot_name(s), cli_kind(r.flags, s), cli_size(r.size),
                   where);
        }
    }
}

static const char *tri(int v)
{
    return v < 0 ? "not evaluated" : v ? "yes" : "no";
}

struct diagnose_args {
    int machine, json;
    const char *format;
};

#define O(f) offsetof(struct diagnose_args, f)
static const cli_opt opts[] = {
    {"--vm", CLI_FLAG, O(machine), BS_DIAG_VM, NULL, 0, 0, NULL},
    {"--metal", CLI_FLAG, O(machine), BS_DIAG_METAL, NULL, 0, 0, NULL},
    {"--format", CLI_STR, O(format), 0, NULL, 0, 0, "F"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"diagnose", usage_text, opts, 1, -1, "FILE"};

/* One diagnosis: the machine, the importer that rebuilt it (NULL for a
 * .topo file) and the verdicts, released in one place. */
struct diag_run {
    bs_import *im;
    bs_topo *t;
    bs_diag *d;
    int bare; /* > 0: a .topo without addresses, assigned first */
    bs_diag_summary s;
};

static const char bare_note[] = "the file has no addresses: assigned by the "
                                "linux model, then diagnosed";

static void diag_free(struct diag_run *r)
{
    bs_diag_free(r->d);
    bs_topo_free(r->t);
    bs_import_free(r->im);
}

/* Read the machine (a .topo file, or logs to import) and diagnose it;
 * EXIT_OK, or the exit code after the message. */
static int diag_load(struct diag_run *r, char **files, int nf, int format,
                     int machine)
{
    size_t l0 = strlen(files[0]);
    if (nf == 1 && l0 > 5 && !strcmp(files[0] + l0 - 5, ".topo")) {
        if (!(r->t = cli_load_topo(files[0])))
            return EXIT_BADINPUT;
    } else {
        int rc = cli_import(nf, files, "diagnose", format, &r->im, &r->t);
        if (rc)
            return rc;
    }
    bs_error e = {0};
    r->bare = r->im ? 0 : bs_diagnose_assign_bare(r->t, &e);
    if (r->bare < 0 || bs_diagnose(r->t, machine, &r->d, &e)) {
        cli_print_error(&e);
        return EXIT_FAILED;
    }
    bs_diag_get_summary(r->d, &r->s);
    return EXIT_OK;
}

static void json_failures(const struct diag_run *r)
{
    for (int i = 0; i < bs_diag_failure_count(r->d); i++) {
        bs_diag_failure f;
        bs_node_info ni;
        bs_diag_failure_get(r->d, i, &f);
        bs_topo_node_info(r->t, f.node, &ni);
        printf("%s{\"node\":", i ? "," : "");
        cli_json_str(stdout, ni.name);
        printf(",\"slot\":");
        cli_json_str(stdout, bs_slot_name(f.slot));
        printf(",\"size\":%llu,\"reason\":\"%s\",\"window_base\":%llu,"
               "\"window_size\":%llu,\"free\":%llu,\"largest_free\":%llu,"
               "\"free_runs\":%llu,\"text\":",
               (unsigned long long)f.size, bs_diag_reason_name(f.reason),
               (unsigned long long)f.win_base, (unsigned long long)f.win_size,
               (unsigned long long)f.win_free,
               (unsigned long long)f.win_largest,
               (unsigned long long)f.win_extents);
        cli_json_str(stdout, f.text);
        putchar('}');
    }
}

static void print_json(const struct diag_run *r)
{
    const bs_diag_summary *s = &r->s;
    printf("{\"schema\":\"barspace.diagnose/1\",\"functions\":%d,"
           "\"root_windows\":%d,\"vm\":%s,\"failures\":[",
           bs_topo_node_count(r->t) - 1, s->root_windows,
           s->vm ? "true" : "false");
    json_failures(r);
    printf("],\"check_violations\":%d,\"linux_ok\":%d,\"pack_ok\":%d,"
           "\"move_plan\":%d,\"move_devices\":%d,\"remedies\":[",
           s->violations, s->linux_ok, s->pack_ok, s->move_plan,
           s->move_devices);
    for (int i = 0; i < bs_diag_remedy_count(r->d); i++) {
        bs_remedy m;
        bs_diag_remedy_get(r->d, i, &m);
        printf("%s{\"kind\":\"%s\",\"value\":%llu,\"after\":%d,\"text\":",
               i ? "," : "", bs_remedy_kind_name(m.kind),
               (unsigned long long)m.value, m.after);
        cli_json_str(stdout, m.text);
        putchar('}');
    }
    printf("],\"notes\":[");
    if (r->bare > 0)
        cli_json_str(stdout, bare_note);
    for (int i = 0; r->im && i < bs_import_note_count(r->im); i++) {
        if (i || r->bare > 0)
            putchar(',');
        cli_json_str(stdout, bs_import_note(r->im, i));
    }
    printf("]}\n");
}

/* The machine, its notes, its tree and what failed. */
static void text_machine(const struct diag_run *r)
{
    int nfail = bs_diag_failure_count(r->d);
    printf("machine: %d function(s), %d root window(s)%s\n",
           bs_topo_node_count(r->t) - 1, r->s.root_windows,
           r->s.vm ? ", a QEMU VM" : "");
    if (r->bare > 0)
        printf("note: %s\n", bare_note);
    for (int i = 0; r->im && i < bs_import_note_count(r->im); i++)
        printf("note: %s\n", bs_import_note(r->im, i));
    printf("\ntree:\n");
    print_tree(r->t);
    printf("\nfailed: %d\n", nfail);
    for (int i = 0; i < nfail; i++) {
        bs_diag_failure f;
        bs_node_info ni;
        bs_diag_failure_get(r->d, i, &f);
        bs_topo_node_info(r->t, f.node, &ni);
        printf("  %s %s: %s\n", ni.name, bs_slot_name(f.slot), f.text);
    }
    if (!nfail)
        printf("  nothing; the final assignment %s the checker (%d "
               "violation(s))\n", r->s.violations ? "fails" : "passes",
               r->s.violations);
}

/* What would have worked: afresh, with moves, and the verified remedies. */
static void text_whatif(const struct diag_run *r)
{
    const bs_diag_summary *s = &r->s;
    int nfail = bs_diag_failure_count(r->d), nrem = bs_diag_remedy_count(r->d);
    printf("\nwhat if, in the same windows:\n");
    printf("  laid out afresh by the linux model:     %s", tri(s->linux_ok));
    if (s->linux_ok == 0)
        printf(" (%d failure(s))", s->linux_failures);
    printf("\n  laid out afresh by the pack policy:     %s\n", tri(s->pack_ok));
    printf("  moving working devices fixes it:        ");
    if (s->move_plan == 1)
        printf("yes (%d device(s) move; barspace plan)\n", s->move_devices);
    else if (s->move_plan == 0)
        printf("no (relocation planner)\n");
    else
        printf("does not apply%s\n", nfail ? " (no root windows, or "
               "only bridges failed)" : "");
    if (!nfail)
        return;
    printf("\nremedies (each verified: the assignment succeeds with it):\n");
    if (!nrem)
        printf("  none found%s\n", s->root_windows ? ""
               : " (no root windows in the input, and no window size holds "
                 "these resources)");
    for (int i = 0; i < nrem; i++) {
        bs_remedy m;
        bs_diag_remedy_get(r->d, i, &m);
        printf("  %d. %s", i + 1, m.text);
        if (m.after >= 0)
            printf(" [together with %d]", m.after + 1);
        printf("\n");
    }
}

int cmd_diagnose(int argc, char **argv)
{
    struct diagnose_args a = {BS_DIAG_AUTO, 0, NULL};
    int nf, prc = cli_parse(&cmd, argc, argv, &a, &nf);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    int format = BS_IMPORT_AUTO;
    if (cli_import_format_opt("diagnose", a.format, &format))
        return EXIT_BADINPUT;
    if (cli_hv_log(argv[0])) /* a Hyper-V guest: tools/hv_diagnose.c */
        return cli_hv_diagnose(argv, nf, a.json);
    struct diag_run r = {0};
    int rc = diag_load(&r, argv, nf, format, a.machine);
    if (rc == EXIT_OK) {
        if (a.json) {
            print_json(&r);
        } else {
            text_machine(&r);
            text_whatif(&r);
        }
        rc = bs_diag_failure_count(r.d) || r.s.violations ? EXIT_FAILED
                                                         : EXIT_OK;
    }
    diag_free(&r);
    return rc;
}
