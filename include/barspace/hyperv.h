/*
 * Hyper-V: the platform model of a Linux guest whose passed-through PCI
 * functions arrive over VMBus (docs/hyperv.md).
 *
 * On this platform the topology's root windows are VMBus's MMIO gaps (the
 * ranges of its ACPI _CRS), one of them holds the synthetic framebuffer that
 * VMBus keeps for itself, and every passed-through function sits on a vPCI
 * bus: a bridge node flagged BS_NF_VPCI that stands for a root bus in a PCI
 * domain of its own.  A vPCI bus owns three ranges taken from the gaps, in
 * this order: an 8 KiB config window (its BAR0 slot), a low range below
 * 4 GiB for its 32-bit BARs (its mem window slot) and a high range above
 * 4 GiB for its 64-bit BARs (its pref window slot).
 */
#ifndef BARSPACE_HYPERV_H
#define BARSPACE_HYPERV_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ---- a Linux guest's log from a Hyper-V VM (diagnose) ---- */

typedef struct bs_hv_bus_report {
    int domain;                 /* PCI domain, -1 if the log did not say */
    char instance[40];          /* VMBus instance (hv_pci GUID), "" unknown */
    uint64_t need[2];           /* [0] low, [1] high: "Need ..." (0 = none) */
    uint64_t win_base[2], win_size[2]; /* root bus resources seen (0 none) */
    int devices;                /* functions seen on the bus */
    int line;                   /* first line about this bus */
} bs_hv_bus_report;

typedef struct bs_hv_log bs_hv_log;

/* Read a guest log (dmesg, journalctl -k).  BS_ENOENT when it has no
 * pci-hyperv lines at all. */
int bs_hv_log_parse(const char *text, size_t len, const char *filename,
                    bs_hv_log **out, bs_error *err);
void bs_hv_log_free(bs_hv_log *l);
int bs_hv_log_bus_count(const bs_hv_log *l);
int bs_hv_log_bus(const bs_hv_log *l, int i, bs_hv_bus_report *out);

/* By how much the gaps of machine t (platform hyperv) must grow at their
 * top for every failed bus of the log to be placed: re-runs VMBus's
 * allocations, in the log's order, of the buses the log shows, and finds
 * the smallest growth of the highest low gap (grow[0]) and of the highest
 * high gap (grow[1]), in pages.  t may be NULL: then the answer is the
 * lower bound that holds for any gap (each failed need rounded up to its
 * alignment, summed). */
int bs_hv_log_growth(const bs_hv_log *l, const bs_topo *t, uint64_t grow[2],
                     bs_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
