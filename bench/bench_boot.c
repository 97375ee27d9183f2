/*
 * Boot cost of the seed VM (14 GPUs with 128 GiB BARs): modeled host seconds
 * of every guest model under every host policy, against the ideal of one
 * map per BAR measured on the same machine model in the same run, plus the
 * wall-clock time barspace needs to simulate each boot.
 */
#include "barspace/barspace.h"
#include "barspace/cfgspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* n devices (16K + 1M BARs) behind switches of 20 ports of 32 devices:
 * up to 7,680 devices in 252 buses. */
static bs_topo *fleet(int n)
{
    bs_topo *t = bs_topo_new("fleet");
    bs_topo_add_window(t, 0, 0x80000000, 0x70000000);
    bs_topo_add_window(t, BS_RF_PREF, UINT64_C(0x8000000000), UINT64_C(1) << 42);
    char name[32];
    for (int i = 0, sw = -1, port = -1; i < n; i++) {
        if (i % (20 * 32) == 0) {
            snprintf(name, sizeof name, "sw%d", i / 640);
            sw = bs_topo_add_node(t, 0, BS_NODE_BRIDGE, name);
        }
        if (i % 32 == 0) {
            snprintf(name, sizeof name, "p%d", i / 32);
            port = bs_topo_add_node(t, sw, BS_NODE_BRIDGE, name);
        }
        snprintf(name, sizeof name, "d%d", i);
        int d = bs_topo_add_node(t, port, BS_NODE_DEVICE, name);
        bs_topo_set_bar(t, d, 0, BS_RF_MEM64, 16384, 0);
        bs_topo_set_bar(t, d, 2, BS_RF_MEM64 | BS_RF_PREF, 1 << 20, 0);
    }
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_LINUX);
    bs_assign(t, &ao, NULL);
    return t;
}

/* Wall-clock cost of emulation as machines grow: a whole pre-patch boot,
 * and a hostile guest that programs every BAR0 to one address and enables
 * decode on each (all but one are held back).  Each row's ratio is to the
 * row above; twice the devices should cost about twice the time. */
static int scale(void)
{
    printf("### bench_boot: emulation cost as the machine grows (growth: "
           "time ratio to the row above, 2.0 = linear)\n\n");
    printf("| devices | boot ms | boot us/device | growth | one-address "
           "ms | growth | mapped there |\n"
           "|---:|---:|---:|---:|---:|---:|---:|\n");
    double prev_boot = 0, prev_host = 0;
    for (int n = 480; n <= 7680; n *= 2) {
        bs_topo *t = fleet(n);
        bs_vm_opts vo;
        bs_vm_opts_init(&vo);
        vo.initial_command = BS_CMD_MEM;
        bs_vm *vm = NULL;
        bs_error e = {0};
        if (bs_vm_new(t, &vo, &vm, &e))
            return 1;
        bs_boot_opts bo;
        bs_boot_opts_init(&bo, BS_GUEST_LINUX_PREPATCH);
        double t0 = now();
        int rc = bs_boot_run(vm, &bo, &e);
        double boot = now() - t0;
        bs_vm_free(vm);
        vo.initial_command = 0;
        vo.bridge_windows = 0; /* per function, as the hostile guest wants */
        if (rc || bs_vm_new(t, &vo, &vm, &e))
            return 1;
        int nn = bs_topo_node_count(t), held = 0;
        t0 = now();
        for (int i = 1; i < nn; i++) {
            bs_node_info ni;
            bs_topo_node_info(t, i, &ni);
            if (ni.kind != BS_NODE_DEVICE)
                continue;
            bs_cfg_write(vm, i, 0x10, 4, 0x40000004);
            bs_cfg_write(vm, i, 0x14, 4, 0x80);
            bs_cfg_write(vm, i, 0x04, 2, BS_CMD_MEM);
        }
        bs_vm_range *mr = malloc(sizeof *mr * (size_t)nn * 7);
        int nm = mr ? bs_vm_mapped(vm, mr, nn * 7) : 0;
        for (int i = 0; i < nm; i++)
            held += mr[i].gpa == UINT64_C(0x8040000000);
        free(mr);
        double host = now() - t0;
        char msg[160];
        if (bs_vm_check(vm, msg, sizeof msg)) {
            fprintf(stderr, "bench_boot: %s\n", msg);
            return 1;
        }
        bs_vm_free(vm);
        bs_topo_free(t);
        char g1[16] = "-", g2[16] = "-";
        if (prev_boot > 0)
            snprintf(g1, sizeof g1, "%.2f", boot / prev_boot);
        if (prev_host > 0)
            snprintf(g2, sizeof g2, "%.2f", host / prev_host);
        printf("| %d | %.1f | %.2f | %s | %.1f | %s | %d |\n", n, boot * 1e3,
               boot * 1e6 / n, g1, host * 1e3, g2, held);
        prev_boot = boot;
        prev_host = host;
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "examples/seed-14gpu.topo";
    bs_topo *t = NULL;
    bs_error e = {0};
    if (bs_topo_load(file, &t, &e)) {
        fprintf(stderr, "bench_boot: %s:%d:%d: %s\n", e.file, e.line, e.col, e.msg);
        return 1;
    }
    bs_assign_opts ao;
    bs_assign_opts_init(&ao, BS_POLICY_LINUX);
    if (bs_assign(t, &ao, &e)) {
        fprintf(stderr, "bench_boot: %s: assignment failed\n", file);
        return 1;
    }
    printf("### bench_boot: modeled boot cost of %s (seed: 8 flips per GPU, "
           "~201.6 s pre-patch)\n\n", file);
    printf("| guest | host | toggles | maps | unmaps | modeled s | of which "
           "toggles s | ideal s | ratio to ideal | simulated in ms |\n");
    printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    static const int hosts[2] = {BS_HOST_EAGER, BS_HOST_DEFERRED};
    for (int g = BS_GUEST_LINUX_PREPATCH; g <= BS_GUEST_LINUX_613; g++) {
        for (int h = 0; h < 2; h++) {
            bs_vm_opts vo;
            bs_vm_opts_init(&vo);
            vo.policy = hosts[h];
            vo.initial_command = BS_CMD_MEM;
            /* Map per device as Hyper-V does (the seed's host), not gated
             * by bridge windows: the same setting as `barspace boot`. */
            vo.bridge_windows = 0;
            bs_vm *vm = NULL;
            if (bs_vm_new(t, &vo, &vm, &e))
                return 1;
            bs_boot_opts bo;
            bs_boot_opts_init(&bo, g);
            double t0 = now();
            int rc = bs_boot_run(vm, &bo, &e);
            double t1 = now();
            bs_decode_stats s, ideal;
            bs_vm_stats(vm, -1, &s);
            bs_vm_ideal(vm, &ideal);
            printf("| %s | %s | %llu | %llu | %llu | %.3f | %.3f | %.3f | "
                   "%.3f | %.3f |\n",
                   bs_boot_guest_name(g), h ? "deferred" : "eager",
                   (unsigned long long)s.toggles, (unsigned long long)s.maps,
                   (unsigned long long)s.unmaps, s.seconds, s.toggle_seconds,
                   ideal.seconds, ideal.seconds > 0 ? s.seconds / ideal.seconds : 0,
                   (t1 - t0) * 1e3);
            bs_vm_free(vm);
            if (rc)
                return 1;
        }
    }
    printf("\nideal = one map per assigned BAR, no unmaps, same cost model "
           "(docs/boot-cost.md).\n\n");
    bs_topo_free(t);
    return scale();
}
