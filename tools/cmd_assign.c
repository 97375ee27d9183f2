/* barspace assign: run a policy on a topology and print the result. */
#include "cli.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace assign FILE [--policy P] [--realloc|--no-realloc]\n"
    "                            [--hpmmiosize N] [--hpmmioprefsize N] [--hpiosize N]\n"
    "                            [--json] [-o OUT.topo]\n"
    "\n"
    "Assign every BAR and bridge window of the topology in FILE and print a\n"
    "table (device, BAR, kind, size, address range, window) and a summary per\n"
    "window (used, free, largest free aligned block).\n"
    "\n"
    "  --policy linux   model of Linux's allocator, failures included (default;\n"
    "                   linux-X.Y picks a modelled kernel version)\n"
    "  --policy barspace  barspace's global packer (alias: pack): succeeds\n"
    "                   whenever a valid assignment exists, else names each\n"
    "                   window's shortfall\n"
    "  --realloc        linux: as with pci=realloc (--no-realloc: pci=realloc=off)\n"
    "  --hp*size SIZE   linux: pci=hpmmiosize= / hpmmioprefsize= / hpiosize=\n"
    "  -o OUT.topo      also write the topology with the assigned addresses\n"
    "                   ('-': standard output; FILE '-' reads standard input)\n"
    "  --json           machine-readable output (schema barspace.assign/1)\n"
    "\n"
    "exit: 0 all assigned, 1 something could not be assigned, 2 bad input\n"
    "\n"
    "examples:\n"
    "  barspace assign examples/seed-14gpu.topo\n"
    "  barspace assign examples/small-window.topo --policy barspace --json\n";

const char *cli_kind(unsigned flags, int slot)
{
    if (slot == BS_SLOT_WIN_IO)
        return "io window";
    if (slot == BS_SLOT_WIN_MEM)
        return "mem window";
    if (slot == BS_SLOT_WIN_PREF)
        return "pref window";
    if (flags & BS_RF_IO)
        return "io";
    if (flags & BS_RF_MEM64)
        return (flags & BS_RF_PREF) ? "mem64 pref" : "mem64";
    return (flags & BS_RF_PREF) ? "mem32 pref" : "mem32";
}

const char *cli_window_name(const bs_topo *t, int node, int win, char *buf,
                            size_t cap)
{
    if (win < 0) {
        snprintf(buf, cap, "-");
    } else if (node == 0) {
        bs_window_info w;
        bs_topo_window_info(t, win, &w);
        snprintf(buf, cap, "root %s%d", (w.flags & BS_RF_IO) ? "io" : "mem",
                 win);
    } else {
        bs_node_info ni;
        bs_topo_node_info(t, node, &ni);
        snprintf(buf, cap, "%s %s", ni.name,
                 win == BS_SLOT_WIN_IO ? "io" : win == BS_SLOT_WIN_MEM ? "mem" : "pref");
    }
    return buf;
}

static void print_table(const bs_topo *t)
{
    printf("%-24s %-11s %-10s %6s  %-37s %s\n", "device", "BAR", "kind", "size",
           "address range", "window");
    int n = bs_topo_node_count(t);
    for (int i = 1; i < n; i++) {
        bs_node_info ni;
        bs_topo_node_info(t, i, &ni);
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info r;
            if (bs_topo_res_info(t, i, s, &r) || (r.flags & BS_RF_UPPER) || !r.size)
                continue;
            char name[80], range[64], win[64];
            snprintf(name, sizeof name, "%*s%s", (ni.depth - 1) * 2, "", ni.name);
            if (r.flags & BS_RF_ASSIGNED)
                snprintf(range, sizeof range, "0x%012llx-0x%012llx",
                         (unsigned long long)r.addr,
                         (unsigned long long)(r.addr + (r.size - 1)));
            else
                snprintf(range, sizeof range, "UNASSIGNED");
            printf("%-24s %-11s %-10s %6s  %-37s %s%s%s\n", name,
                   bs_slot_name(s), cli_kind(r.flags, s), cli_size(r.size),
                   range, cli_window_name(t, ni.parent, r.win, win, sizeof win),
                   (r.flags & BS_RF_FIXED) ? " fixed" : "",
                   (ni.flags & BS_NF_PINNED) ? " pinned" : "");
        }
    }
}

static unsigned wflags(const bs_topo *t, int i)
{
    bs_window_info w;
    return bs_topo_window_info(t, i, &w) == BS_OK ? w.flags : 0;
}

static void print_windows(const bs_topo *t)
{
    printf("\n%-22s %-37s %8s %8s %8s %8s\n", "window", "range", "size", "used",
           "free", "largest");
    int nw = bs_topo_window_count(t);
    for (int w = 0; w < nw; w++) {
        bs_window_usage u;
        char name[64];
        if (bs_window_usage_get(t, 0, w, &u))
            continue;
        printf("%-22s 0x%012llx-0x%012llx %8s %8s %8s %8s\n",
               cli_window_name(t, 0, w, name, sizeof name),
               (unsigned long long)u.base,
               (unsigned long long)(u.base + (u.size - 1)), cli_size(u.size),
               cli_size(u.used), cli_size(u.free), cli_size(u.largest_block));
    }
    int n = bs_topo_node_count(t);
    for (int i = 1; i < n; i++)
        for (int s = BS_SLOT_WIN_IO; s <= BS_SLOT_WIN_PREF; s++) {
            bs_window_usage u;
            char name[64];
            if (bs_window_usage_get(t, i, s, &u))
                continue;
            printf("%-22s 0x%012llx-0x%012llx %8s %8s %8s %8s\n",
                   cli_window_name(t, i, s, name, sizeof name),
                   (unsigned long long)u.base,
                   (unsigned long long)(u.base + (u.size - 1)), cli_size(u.size),
                   cli_size(u.used), cli_size(u.free),
                   cli_size(u.largest_block));
        }
}

static void print_failures(const bs_topo *t)
{
    int nf = bs_topo_failure_count(t);
    if (!nf)
        return;
    printf("\n%d failure(s):\n", nf);
    for (int i = 0; i < nf; i++) {
        bs_failure f;
        bs_node_info ni;
        char win[64];
        bs_topo_failure(t, i, &f);
        bs_topo_node_info(t, f.node, &ni);
        printf("  %s%s %s: %s, window %s", f.optional ? "(optional) " : "",
               ni.name, bs_slot_name(f.slot), cli_size(f.size),
               cli_window_name(t, f.win_node, f.win, win, sizeof win));
        if (f.shortfall)
            printf(", short by %s", cli_size(f.shortfall));
        printf(": %s\n", f.reason);
    }
}

static void print_json(const bs_topo *t, const char *policy, int rc,
                       const bs_assign_opts *o)
{
    printf("{\"schema\":\"barspace.assign/1\",\"topology\":");
    cli_json_str(stdout, bs_topo_name(t));
    printf(",\"policy\":\"%s\",\"ok\":%s,\"resources\":[", policy,
           rc == BS_OK ? "true" : "false");
    int n = bs_topo_node_count(t), first = 1;
    for (int i = 1; i < n; i++) {
        bs_node_info ni;
        bs_topo_node_info(t, i, &ni);
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info r;
            char win[64];
            if (bs_topo_res_info(t, i, s, &r) || (r.flags & BS_RF_UPPER) || !r.size)
                continue;
            printf("%s{\"device\":", first ? "" : ",");
            first = 0;
            cli_json_str(stdout, ni.name);
            printf(",\"slot\":\"%s\",\"kind\":\"%s\",\"size\":%llu,"
                   "\"assigned\":%s",
                   bs_slot_name(s), cli_kind(r.flags, s),
                   (unsigned long long)r.size,
                   (r.flags & BS_RF_ASSIGNED) ? "true" : "false");
            if (r.flags & BS_RF_ASSIGNED)
                printf(",\"start\":%llu,\"end\":%llu",
                       (unsigned long long)r.addr,
                       (unsigned long long)(r.addr + (r.size - 1)));
            printf(",\"window\":");
            cli_json_str(stdout, cli_window_name(t, ni.parent, r.win, win, sizeof win));
            printf(",\"fixed\":%s}", (r.flags & BS_RF_FIXED) ? "true" : "false");
        }
    }
    printf("],\"windows\":[");
    first = 1;
    for (int i = 0; i < n; i++) {
        int lo = i == 0 ? 0 : BS_SLOT_WIN_IO;
        int hi = i == 0 ? bs_topo_window_count(t) - 1 : BS_SLOT_WIN_PREF;
        for (int s = lo; s <= hi; s++) {
            bs_window_usage u;
            char name[64];
            if (bs_window_usage_get(t, i, s, &u))
                continue;
            printf("%s{\"name\":", first ? "" : ",");
            first = 0;
            cli_json_str(stdout, cli_window_name(t, i, s, name, sizeof name));
            printf(",\"base\":%llu,\"size\":%llu,\"used\":%llu,\"free\":%llu,"
                   "\"largest_free_block\":%llu",
                   (unsigned long long)u.base, (unsigned long long)u.size,
                   (unsigned long long)u.used, (unsigned long long)u.free,
                   (unsigned long long)u.largest_block);
            /* Where the window sits on the bus, when the host translates. */
            uint64_t bus = bs_topo_bus_addr(t, u.base, 0);
            if (s == BS_SLOT_WIN_IO || (i == 0 && wflags(t, s) & BS_RF_IO))
                bus = bs_topo_bus_addr(t, u.base, BS_RF_IO);
            if (bus != u.base)
                printf(",\"bus_base\":%llu", (unsigned long long)bus);
            printf("}");
        }
    }
    printf("],\"failures\":[");
    for (int i = 0; i < bs_topo_failure_count(t); i++) {
        bs_failure f;
        bs_node_info ni;
        char win[64];
        bs_topo_failure(t, i, &f);
        bs_topo_node_info(t, f.node, &ni);
        printf("%s{\"device\":", i ? "," : "");
        cli_json_str(stdout, ni.name);
        printf(",\"slot\":\"%s\",\"size\":%llu,\"window\":", bs_slot_name(f.slot),
               (unsigned long long)f.size);
        cli_json_str(stdout, cli_window_name(t, f.win_node, f.win, win, sizeof win));
        printf(",\"shortfall\":%llu,\"optional\":%s,\"reason\":",
               (unsigned long long)f.shortfall, f.optional ? "true" : "false");
        cli_json_str(stdout, f.reason);
        printf("}");
    }
    /* Per-bridge reserves the policy did not honour (never silently). */
    int ign[64], ni = bs_assign_ignored_reserves(t, o, ign, 64);
    printf("],\"ignored_reserves\":[");
    for (int i = 0; i < ni && i < 64; i++) {
        bs_node_info b;
        bs_topo_node_info(t, ign[i], &b);
        printf("%s", i ? "," : "");
        cli_json_str(stdout, b.name);
    }
    printf("]}\n");
}

struct assign_args {
    cli_policy policy;
    int realloc, json;
    uint64_t hp_mmio, hp_mmio_pref, hp_io;
    const char *out;
};

#define O(f) offsetof(struct assign_args, f)
static const cli_opt opts[] = {
    {"--policy", CLI_POLICY, O(policy), 0, NULL, 0, 0, "P"},
    {"--realloc", CLI_FLAG, O(realloc), 1, NULL, 0, 0, NULL},
    {"--no-realloc", CLI_FLAG, O(realloc), -1, NULL, 0, 0, NULL},
    {"--hpmmiosize", CLI_SIZE, O(hp_mmio), 0, NULL, 0, 0, "SIZE"},
    {"--hpmmioprefsize", CLI_SIZE, O(hp_mmio_pref), 0, NULL, 0, 0, "SIZE"},
    {"--hpiosize", CLI_SIZE, O(hp_io), 0, NULL, 0, 0, "SIZE"},
    {"-o", CLI_STR, O(out), 0, NULL, 0, 0, "FILE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"assign", usage_text, opts, 1, 1, "FILE"};

static void print_text(const bs_topo *t, const char *file, const char *policy,
                       int rc, const bs_assign_opts *o)
{
    printf("%s: policy %s\n\n", bs_topo_name(t)[0] ? bs_topo_name(t) : file,
           policy);
    print_table(t);
    print_windows(t);
    print_failures(t);
    char note[320];
    if (bs_assign_reserve_note(t, o, note, sizeof note))
        printf("\nnote: %s\n", note);
    printf("\n%s\n", rc == BS_OK ? "all resources assigned"
                                 : "some resources could not be assigned");
}

/* The assigned topology into the -o file opened before anything ran. */
static int write_topo(const bs_topo *t, FILE *f, const char *path)
{
    size_t need = bs_topo_format_assigned(t, NULL, 0);
    char *buf = malloc(need + 1);
    if (buf) {
        bs_topo_format_assigned(t, buf, need + 1);
        cli_put(f, buf, need);
        free(buf);
    } else {
        fprintf(stderr, "barspace: out of memory\n");
    }
    int rc = cli_close_out(f, path);
    return buf ? rc : EXIT_BADINPUT;
}

int cmd_assign(int argc, char **argv)
{
    struct assign_args a = {0};
    a.hp_mmio = a.hp_mmio_pref = a.hp_io = UINT64_MAX;
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    bs_assign_opts o;
    bs_assign_opts_init(&o, a.policy.set ? a.policy.policy : BS_POLICY_LINUX);
    if (a.policy.set)
        o.kernel = a.policy.kernel;
    o.realloc = a.realloc;
    if (a.hp_mmio != UINT64_MAX)
        o.hp_mmio = a.hp_mmio;
    if (a.hp_mmio_pref != UINT64_MAX)
        o.hp_mmio_pref = a.hp_mmio_pref;
    if (a.hp_io != UINT64_MAX)
        o.hp_io = a.hp_io;
    const char *policy = bs_policy_name(o.policy, o.kernel);
    FILE *out = NULL;
    if (a.out && !(out = cli_open_out(a.out)))
        return EXIT_BADINPUT;
    bs_topo *t = cli_load_topo(argv[0]);
    int ret = EXIT_BADINPUT, rc = BS_EINVAL, nv = 0;
    bs_error e = {0};
    if (t && (rc = bs_assign(t, &o, &e)) != BS_OK && rc != BS_ENOSPC)
        cli_print_error(&e);
    if (rc == BS_OK || rc == BS_ENOSPC) {
        bs_violation v[8];
        nv = bs_check(t, NULL, v, 8);
        if (a.json)
            print_json(t, policy, rc, &o);
        else
            print_text(t, cli_input_name(argv[0]), policy, rc, &o);
        for (int i = 0; i < nv && i < 8; i++)
            fprintf(stderr, "barspace: internal error: invariant violated: "
                    "%s\n", v[i].msg);
        ret = nv || rc != BS_OK ? EXIT_FAILED : EXIT_OK;
        if (out && write_topo(t, out, a.out))
            ret = EXIT_BADINPUT;
        out = NULL;
    }
    if (out && out != stdout)
        fclose(out);
    bs_topo_free(t);
    return ret;
}
