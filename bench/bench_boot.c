/*
 * Boot cost of the seed VM (14 GPUs with 128 GiB BARs): modeled host seconds
 * of every guest model under every host policy, against the ideal of one
 * map per BAR measured on the same machine model in the same run, plus the
 * wall-clock time barspace needs to simulate each boot.
 */
#include "barspace/barspace.h"
#include "barspace/cfgspace.h"

#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
           "(docs/boot-cost.md).\n");
    bs_topo_free(t);
    return 0;
}
