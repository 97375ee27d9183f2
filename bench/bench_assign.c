/*
 * Whole-topology assignment at scale: topologies from 10 to 100,000 BARs
 * (switch fan-outs of NVMe-like devices, SR-IOV PFs with up to 2,048 VFs),
 * for the `linux` and `pack` policies.  Each size runs in a child process
 * so that its peak RSS is its own.  Prints time, peak memory and the growth
 * exponent between consecutive sizes (log(time ratio) / log(size ratio)):
 * 1.0 is linear, n log n shows as slightly above 1.
 */
#define _DEFAULT_SOURCE
#include "core/internal.h"
#include "barspace/churn.h"
#include "barspace/plan.h"
#include "barspace/render.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A host with root ports, each with a switch fanning out to devices; every
 * 16th device is an SR-IOV PF.  Returns the number of BAR-like resources. */
static bs_topo *build(int target, bool sriov, int *nbars, int *nranges)
{
    bs_topo *t = bs_topo_new("scale");
    bs_topo_add_window(t, 0, 0x80000000, 0x7ec00000);
    bs_topo_add_window(t, 0, UINT64_C(1) << 40, UINT64_C(1) << 46);
    bs_topo_add_window(t, BS_RF_IO, 0x1000, 0xf000);
    int bars = 0, dev = 0, rp = 0, ranges = 0;
    while (bars < target) {
        char name[32];
        snprintf(name, sizeof name, "rp%d", rp);
        int port = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, name);
        snprintf(name, sizeof name, "up%d", rp);
        int up = bs_topo_add_node(t, port, BS_NODE_BRIDGE, name);
        rp++;
        for (int d = 0; d < 32 && bars < target; d++) {
            snprintf(name, sizeof name, "dn%d.%d", rp, d);
            int dn = bs_topo_add_node(t, up, BS_NODE_BRIDGE, name);
            snprintf(name, sizeof name, "dev%d", dev);
            int n = bs_topo_add_node(t, dn, BS_NODE_DEVICE, name);
            /* 64-bit prefetchable register BARs, and a 32-bit one on every
             * 8th device: each downstream port with a 32-bit BAR costs a
             * 1 MiB granule of the scarce low window. */
            bs_topo_set_bar(t, n, 0, BS_RF_MEM64 | BS_RF_PREF,
                            UINT64_C(16384) << (dev % 4), 0);
            bars++;
            ranges += 2; /* the BAR and its downstream port's window */
            if (dev % 128 == 0) {
                bs_topo_set_bar(t, n, 4, 0, 4096, 0);
                bars++;
                ranges += 2;
            }
            if (sriov && dev % 16 == 15) {
                unsigned vfs = 64u << (dev / 16 % 6); /* 64 .. 2048 */
                t->nodes[n].num_vfs = vfs;
                bs_topo_set_bar(t, n, BS_SLOT_VF0, BS_RF_MEM64 | BS_RF_PREF,
                                16384, 0);
                bars += (int)vfs;
                ranges++;
            } else {
                bs_topo_set_bar(t, n, 2, BS_RF_MEM64 | BS_RF_PREF,
                                UINT64_C(1) << (20 + dev % 6), 0);
                bars++;
                ranges++;
            }
            dev++;
        }
    }
    *nbars = bars;
    *nranges = ranges + 4 * rp;
    return t;
}

struct result {
    double secs;
    long maxrss_kb;
    int ok;
    int bars, ranges;
};

static struct result run_child(int target, bool sriov, int policy)
{
    int fd[2];
    struct result r = {0};
    if (pipe(fd))
        return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        int bars, ranges;
        bs_topo *t = build(target, sriov, &bars, &ranges);
        bs_assign_opts o;
        bs_assign_opts_init(&o, policy);
        double t0 = now();
        int rc = bs_assign(t, &o, NULL);
        double t1 = now();
        struct result c = {t1 - t0, 0,
                           rc == BS_OK && bs_check(t, NULL, NULL, 0) == 0,
                           bars, ranges};
        if (write(fd[1], &c, sizeof c) != (ssize_t)sizeof c)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r)
        r.ok = -1;
    close(fd[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) > 0)
        r.maxrss_kb = ru.ru_maxrss;
    return r;
}

/* CPU time of this process (the scale rows are compared across sizes; on
 * a shared machine wall-clock time measures the neighbours too). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds to render the SVG map of one state (the baseline), of a
 * before/after pair (map --after) and of a hot-add plan (map --add). */
static void map_scale(int target, double *one, double *after, double *add)
{
    int bars, ranges;
    bs_topo *t = build(target, false, &bars, &ranges);
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    bs_assign(t, &o, NULL);
    bs_topo *b = bs_topo_clone(t);
    bs_topo_unassign(b);
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    bs_assign(b, &o, NULL);
    bs_render_opts ro;
    bs_render_opts_init(&ro, BS_RENDER_SVG);
    size_t len;
    double t0 = cpu_now();
    bs_render_map(t, &ro, NULL, 0, &len);
    double t1 = cpu_now();
    bs_render_map_diff(t, b, &ro, NULL, 0, &len);
    double t2 = cpu_now();
    *one = t1 - t0;
    *after = t2 - t1;
    /* map --add: plan a hot-add below a downstream port, draw the plan. */
    bs_churn_opts co;
    bs_churn_opts_init(&co, BS_PLACE_BARSPACE);
    bs_churn *c = NULL;
    bs_plan *p = bs_plan_new();
    bs_event ev = {.kind = BS_EV_ADD, .nbars = 1};
    snprintf(ev.dev, sizeof ev.dev, "new0");
    snprintf(ev.at, sizeof ev.at, "dn1.0");
    ev.bar[0] = (bs_bar_spec){0, BS_RF_MEM64 | BS_RF_PREF, 16384, 0};
    *add = -1;
    t0 = cpu_now();
    if (p && bs_churn_new(t, &co, &c, NULL) == BS_OK &&
        bs_churn_plan_add(c, &ev, p, NULL) == BS_OK) {
        bs_topo *x = bs_topo_clone(bs_churn_topo(c)), *y = bs_topo_clone(x);
        if (x && y && bs_plan_apply(p, y) == BS_OK &&
            bs_render_map_diff(x, y, &ro, NULL, 0, &len) == BS_OK)
            *add = cpu_now() - t0;
        bs_topo_free(x);
        bs_topo_free(y);
    }
    bs_churn_free(c);
    bs_plan_free(p);
    bs_topo_free(b);
    bs_topo_free(t);
}

static void map_scale_table(void)
{
    static const int sizes[] = {10000, 20000, 40000, 80000};
    printf("\n### map at scale: SVG of one state (baseline), before/after "
           "(map --after) and a hot-add plan (map --add)\n\n"
           "Switch fan-out as above, `linux` before, `pack` after.  Growth "
           "exponent: log(time ratio) / log(size ratio) to the row above.\n\n"
           "| BARs | one map (CPU s) | --after (CPU s) | growth | --add (CPU s) | growth |\n"
           "|---:|---:|---:|---:|---:|---:|\n");
    double pa = 0, pd = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        double one, after, add;
        map_scale(sizes[i], &one, &after, &add);
        char ga[16] = "-", gd[16] = "-";
        if (i && pa > 0)
            snprintf(ga, sizeof ga, "%.2f", log(after / pa) / log(2.0));
        if (i && pd > 0 && add > 0)
            snprintf(gd, sizeof gd, "%.2f", log(add / pd) / log(2.0));
        printf("| %d | %.3f | %.3f | %s | %.3f | %s |\n", sizes[i], one, after,
               ga, add, gd);
        fflush(stdout);
        pa = after;
        pd = add;
    }
}

int main(void)
{
    static const int sizes[] = {10, 100, 1000, 10000, 100000};
    static const char *names[] = {"linux", "pack"};
    printf("### bench_assign: whole-topology assignment, 10 to 100,000 BARs\n\n");
    printf("BARs counts every VF BAR; ranges counts what is placed (BARs, "
           "VF regions, bridge windows).\n\n");
    printf("| topology | policy | BARs | ranges | time (ms) | peak RSS (MiB) "
           "| valid | growth exponent |\n");
    printf("|---|---|---:|---:|---:|---:|---|---:|\n");
    fflush(stdout);
    for (int fam = 0; fam < 2; fam++) {
        for (int p = 0; p < 2; p++) {
            double prev_t = 0;
            int prev_n = 0;
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                struct result r = run_child(sizes[i], fam == 1, p);
                char growth[32] = "-";
                if (prev_n && prev_t > 0 && r.secs > 0)
                    snprintf(growth, sizeof growth, "%.2f",
                             log(r.secs / prev_t) /
                                 log((double)r.ranges / prev_n));
                printf("| %s | %s | %d | %d | %.3f | %.1f | %s | %s |\n",
                       fam ? "switches + SR-IOV" : "switch fan-out", names[p],
                       r.bars, r.ranges, r.secs * 1e3,
                       (double)r.maxrss_kb / 1024.0, r.ok == 1 ? "yes" : "NO",
                       growth);
                fflush(stdout);
                prev_t = r.secs;
                prev_n = r.ranges;
            }
        }
    }
    printf("\nGrowth exponent: log(time ratio) / log(ranges ratio) between "
           "consecutive rows.\nTarget: pack assigns 100,000 BARs in under 1 s, "
           "growth no worse than n log n.\n");
    map_scale_table();
    return 0;
}
