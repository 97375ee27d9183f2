/* barspace compare LOG: a kernel log's own decisions vs the model of its
 * kernel.  Arguments and printing only: src/peer/log_compare.c works. */
#include "cli.h"
#include "cmd_compare_log.h"
#include "barspace/logcmp.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: barspace compare LOG... [--kernel X.Y] [--append \"...\"] [--json]\n"
    "\n"
    "Replay a kernel's own PCI decisions.  LOG is a kernel log (dmesg,\n"
    "journalctl -k, a pasted excerpt; several files of one boot may be\n"
    "given).  The machine is rebuilt as the kernel found it: what firmware\n"
    "programmed and the kernel claimed is fixed, what the kernel assigned\n"
    "itself or failed to assign is free.  The model of the log's kernel (the\n"
    "nearest modelled version, named in the summary) lays out the free\n"
    "resources, and every `assigned`, `no space` / `failed to assign` and\n"
    "final bridge window of the log is compared: agree, differ, or not\n"
    "comparable (e.g. the log has no root bus resources).\n"
    "\n"
    "  --kernel X.Y  the log's kernel, when the log does not say\n"
    "  --append S    its command line (pci=realloc, hpmmiosize=, ...), when\n"
    "                the log has no 'Kernel command line:'\n"
    "  --json        machine-readable rows (schema barspace.compare-log/1)\n"
    "\n"
    "The last line is 'summary: ...' with key=value counts.\n"
    "exit: 0 every comparable resource agrees, 1 some differ, 2 bad input\n"
    "(For a peer run directory, see 'barspace compare OUTDIR --topology'.)\n"
    "\n"
    "examples:\n"
    "  barspace compare boot.log\n"
    "  dmesg > boot.log && barspace compare boot.log --json\n";

int cmd_compare_is_log(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--topology") || !strcmp(argv[i], "--append") ||
            !strcmp(argv[i], "--kernel")) {
            i++;
            continue;
        }
        if (argv[i][0] == '-')
            continue;
        struct stat st;
        return stat(argv[i], &st) == 0 && S_ISREG(st.st_mode);
    }
    return 0;
}

static const char *verdict_name(int v)
{
    return v == BS_LC_AGREE ? "agree" : v == BS_LC_DIFFER ? "differ"
                                                          : "not comparable";
}

static void range(char *b, size_t cap, int placed, uint64_t a, uint64_t s)
{
    if (placed)
        snprintf(b, cap, "0x%llx-0x%llx", (unsigned long long)a,
                 (unsigned long long)(a + (s - 1)));
    else
        snprintf(b, cap, "failed (%s)", cli_size(s));
}

static void print_json(const bs_logcmp *c, const char *const *logs, int nlogs,
                       const int counts[3])
{
    const bs_topo *t = bs_logcmp_topo(c);
    printf("{\"schema\":\"barspace.compare-log/1\",\"logs\":[");
    for (int i = 0; i < nlogs; i++) {
        printf("%s", i ? "," : "");
        cli_json_str(stdout, logs[i]);
    }
    printf("],\"kernel\":");
    cli_json_str(stdout, bs_logcmp_kernel(c));
    printf(",\"model\":");
    cli_json_str(stdout, bs_logcmp_model(c));
    printf(",\"rows\":[");
    for (int i = 0; i < bs_logcmp_row_count(c); i++) {
        bs_logcmp_item r;
        bs_node_info ni;
        bs_logcmp_row(c, i, &r);
        bs_topo_node_info(t, r.node, &ni);
        printf("%s{\"device\":", i ? "," : "");
        cli_json_str(stdout, ni.name);
        printf(",\"resource\":");
        cli_json_str(stdout, bs_slot_name(r.slot));
        printf(",\"kernel\":{\"placed\":%s,\"addr\":%llu,\"size\":%llu}",
               r.kernel_placed ? "true" : "false",
               (unsigned long long)r.kernel_addr,
               (unsigned long long)r.kernel_size);
        printf(",\"model\":{\"placed\":%s,\"addr\":%llu,\"size\":%llu}",
               r.model_placed ? "true" : "false",
               (unsigned long long)r.model_addr,
               (unsigned long long)r.model_size);
        printf(",\"verdict\":");
        cli_json_str(stdout, verdict_name(r.verdict));
        printf(",\"why\":");
        cli_json_str(stdout, r.why);
        printf("}");
    }
    printf("],\"notes\":[");
    for (int i = 0; i < bs_logcmp_note_count(c); i++) {
        printf("%s", i ? "," : "");
        cli_json_str(stdout, bs_logcmp_note(c, i));
    }
    printf("],\"compared\":%d,\"agree\":%d,\"differ\":%d,"
           "\"not_comparable\":%d}\n",
           counts[BS_LC_AGREE] + counts[BS_LC_DIFFER], counts[BS_LC_AGREE],
           counts[BS_LC_DIFFER], counts[BS_LC_NA]);
}

static void print_text(const bs_logcmp *c, const int counts[3])
{
    const bs_topo *t = bs_logcmp_topo(c);
    printf("%-22s %-11s %-30s %-30s %s\n", "device", "resource", "kernel",
           "model", "verdict");
    for (int i = 0; i < bs_logcmp_row_count(c); i++) {
        bs_logcmp_item r;
        bs_node_info ni;
        char k[48], m[48];
        bs_logcmp_row(c, i, &r);
        bs_topo_node_info(t, r.node, &ni);
        range(k, sizeof k, r.kernel_placed, r.kernel_addr, r.kernel_size);
        range(m, sizeof m, r.model_placed, r.model_addr, r.model_size);
        printf("%-22s %-11s %-30s %-30s %s%s%s\n", ni.name,
               bs_slot_name(r.slot), k, m, verdict_name(r.verdict),
               r.why[0] ? ": " : "", r.why);
    }
    for (int i = 0; i < bs_logcmp_note_count(c); i++)
        printf("note: %s\n", bs_logcmp_note(c, i));
    printf("summary: kernel=%s model=%s compared=%d agree=%d differ=%d "
           "not_comparable=%d\n",
           bs_logcmp_kernel(c)[0] ? bs_logcmp_kernel(c) : "unknown",
           bs_logcmp_model(c), counts[BS_LC_AGREE] + counts[BS_LC_DIFFER],
           counts[BS_LC_AGREE], counts[BS_LC_DIFFER], counts[BS_LC_NA]);
}

struct log_args {
    const char *kernel, *append;
    int json;
};

#define O(f) offsetof(struct log_args, f)
static const cli_opt opts[] = {
    {"--kernel", CLI_STR, O(kernel), 0, NULL, 0, 0, "X.Y"},
    {"--append", CLI_STR, O(append), 0, NULL, 0, 0, "CMDLINE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"compare", usage_text, opts, 1, -1, "LOG"};

int cmd_compare_log(int argc, char **argv)
{
    struct log_args a = {0};
    int nlogs, prc = cli_parse(&cmd, argc, argv, &a, &nlogs);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    const char *const *logs = (const char *const *)argv;
    bs_logcmp_opts o = {a.kernel, a.append};
    bs_logcmp *c = NULL;
    bs_error e = {0};
    int rc = bs_logcmp_run(logs, nlogs, &o, &c, &e);
    if (rc)
        return cli_lib_error(rc, &e);
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < bs_logcmp_row_count(c); i++) {
        bs_logcmp_item r;
        bs_logcmp_row(c, i, &r);
        counts[r.verdict]++;
    }
    if (a.json)
        print_json(c, logs, nlogs, counts);
    else
        print_text(c, counts);
    bs_logcmp_free(c);
    return counts[BS_LC_DIFFER] ? EXIT_FAILED : EXIT_OK;
}
