/* barspace diagnose on a Hyper-V guest's log (docs/hyperv.md): each vPCI
 * bus, the ones that got no MMIO, and by how much the gaps must grow.
 * Called by cmd_diagnose when the log has pci-hyperv lines. */
#include "cli.h"
#include "hv_diagnose.h"

#include "barspace/hyperv.h"

#include <stdlib.h>
#include <string.h>

bool cli_hv_log(const char *path)
{
    size_t len;
    char *text = strcmp(path, "-") ? cli_read_input(path, BS_MAX_TOPO_FILE, &len) : NULL;
    bs_hv_log *l = NULL;
    bs_error e;
    bool yes = text && bs_hv_log_parse(text, len, path, &l, &e) == BS_OK;
    bs_hv_log_free(l);
    free(text);
    return yes;
}

static void range_json(const bs_hv_bus_report *b, int k)
{
    if (!b->win_size[k]) {
        printf("null");
        return;
    }
    printf("{\"base\":%llu,\"size\":%llu}", (unsigned long long)b->win_base[k],
           (unsigned long long)b->win_size[k]);
}

int cli_hv_diagnose(char **files, int nf, bool json)
{
    const char *log = files[0], *vm = nf > 1 ? files[1] : NULL;
    if (nf > 2)
        return cli_usage_error("diagnose", "a Hyper-V log takes at most one "
                               "more FILE: the VM's topology (.topo)");
    size_t len;
    char *text = cli_read_input(log, BS_MAX_TOPO_FILE, &len);
    if (!text) {
        fprintf(stderr, "barspace: %s: cannot read\n", log);
        return EXIT_BADINPUT;
    }
    bs_hv_log *l = NULL;
    bs_error e;
    bs_topo *t = NULL;
    int rc = bs_hv_log_parse(text, len, log, &l, &e);
    free(text);
    if (!rc && vm && !(t = cli_load_topo(vm)))
        rc = BS_EPARSE;
    uint64_t grow[2] = {0, 0};
    if (!rc && (rc = bs_hv_log_growth(l, t, grow, &e)) == BS_EINVAL)
        snprintf(e.file, sizeof e.file, "%s", vm);
    if (rc) {
        if (rc != BS_EPARSE || !vm)
            cli_print_error(&e);
        bs_hv_log_free(l);
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    int n = bs_hv_log_bus_count(l), failed = 0;
    if (json)
        printf("{\"schema\":\"barspace.hv-diagnose/1\",\"buses\":[");
    else
        printf("Hyper-V guest: %d vPCI bus(es) in the log\n", n);
    for (int i = 0; i < n; i++) {
        bs_hv_bus_report b;
        bs_hv_log_bus(l, i, &b);
        bool bad = b.need[0] || b.need[1];
        failed += bad;
        if (json) {
            printf("%s{\"domain\":%d,\"instance\":\"%s\",\"functions\":%d,"
                   "\"line\":%d,\"need_low\":%llu,\"need_high\":%llu,"
                   "\"low\":", i ? "," : "", b.domain, b.instance, b.devices,
                   b.line, (unsigned long long)b.need[0],
                   (unsigned long long)b.need[1]);
            range_json(&b, 0);
            printf(",\"high\":");
            range_json(&b, 1);
            printf("}");
            continue;
        }
        printf("  domain %04x  %s  line %d: ", b.domain < 0 ? 0 : b.domain,
               b.instance, b.line);
        for (int k = 0; k < 2; k++)
            if (b.need[k])
                printf("FAILED, Need %s (0x%llx) of %s MMIO space; ",
                       cli_size(b.need[k]), (unsigned long long)b.need[k],
                       k ? "high" : "low");
            else if (b.win_size[k])
                printf("%s [0x%llx-0x%llx] %s; ", k ? "high" : "low",
                       (unsigned long long)b.win_base[k],
                       (unsigned long long)(b.win_base[k] + b.win_size[k] - 1),
                       cli_size(b.win_size[k]));
        printf("%d function(s)\n", b.devices);
    }
    if (json) {
        printf("],\"failed\":%d,\"exact\":%s,\"grow_low\":%llu,"
               "\"grow_high\":%llu}\n", failed, t ? "true" : "false",
               (unsigned long long)grow[0], (unsigned long long)grow[1]);
    } else if (!failed) {
        printf("every bus got its MMIO\n");
    } else {
        for (int k = 0; k < 2; k++)
            if (grow[k])
                printf("the %s MMIO gap must grow by %s%s (0x%llx bytes) for "
                       "every bus to get its ranges\n", k ? "high" : "low",
                       t ? "" : "at least ", cli_size(grow[k]),
                       (unsigned long long)grow[k]);
        if (!t)
            printf("(give the VM's topology, platform hyperv with its gaps, "
                   "as a second FILE for the exact figure)\n");
    }
    bs_hv_log_free(l);
    bs_topo_free(t);
    return failed ? EXIT_FAILED : EXIT_OK;
}
