/*
 * Private to the importers (src/import_*.c): the machine as the inputs
 * describe it, keyed by PCI address, before it becomes a bs_topo.  Each
 * parser only records facts; src/import/import_model.c resolves the hierarchy and
 * builds the topology once every input is in.
 */
#ifndef BS_IMPORT_INTERNAL_H
#define BS_IMPORT_INTERNAL_H

#include "core/internal.h"
#include "barspace/import.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMP_KIND_UNKNOWN (-1)

/* One resource slot of a function as the inputs report it. */
struct imp_res {
    bool present;        /* something was said about it */
    unsigned flags;      /* BS_RF_IO | BS_RF_MEM64 | BS_RF_PREF */
    uint64_t size;       /* bytes (VF slots: all VFs); 0 = unknown */
    bool has_fw;         /* firmware address seen at enumeration */
    uint64_t fw;
    bool fw_rejected;    /* kernel could not claim the firmware address */
    bool has_addr;       /* the last address the machine used */
    uint64_t addr;
    bool kassigned;      /* the kernel assigned it itself */
    int failed;          /* 0 no; 1 "no space" seen; 2 "failed to assign" */
    char fail_msg[96];   /* the kernel's words, with file:line */
    bool loose;          /* slot guessed (iomem): yields to other inputs */
    int line;
};

struct imp_dev {
    unsigned dom, bus, dev, fn;
    int kind;            /* IMP_KIND_UNKNOWN, BS_NODE_BRIDGE, BS_NODE_DEVICE */
    int sec, sub;        /* bridge bus range, -1 unknown */
    bool hotplug, pref32;
    uint64_t add[3];     /* the add_size values per window (io, mem, pref) */
    bool add_size;       /* "bridge window .. add_size": hot-plug, or extras
                            of bridges below it */
    unsigned num_vfs;
    uint16_t vendor, device;
    bool has_id;
    uint32_t cls;
    uint64_t rebar[6];   /* Resizable BAR: bit n = 2^n MiB supported */
    struct imp_res res[BS_NSLOTS];
    int node;            /* topology node while building */
    /* Per input (scratch importer only): "PCI bridge to" lines seen and
     * whether the last one belonged to the setup phase. */
    int bt_count;
    bool bt_setup;
    int parent;          /* index in im->dev, -1 = root */
};

struct imp_win {
    unsigned flags;      /* BS_RF_IO / BS_RF_PREF */
    uint64_t base, size;
    unsigned dom;
    uint64_t offset;     /* CPU - bus address (host bridge translation) */
    char src[64];        /* file:line */
};

/* A bus window reported without the bridge ("pci_bus 0000:01: resource 1",
 * iomem's "PCI Bus 0000:01"): given to the bridge whose secondary bus it is. */
struct imp_buswin {
    unsigned dom, bus;
    int parent_bus;      /* iomem nesting: bus of the enclosing window, -1 */
    unsigned flags;
    uint64_t base, size;
};

struct imp_rootbus {
    unsigned dom, bus;
};

struct bs_import {
    struct imp_dev *dev;
    int ndev, capdev;
    /* Open-addressing index of dev by PCI address: slot holds index + 1,
     * 0 empty; hcap a power of two >= 2 x capdev.  Rebuilt when dev grows
     * or is reordered. */
    int *hash;
    int hcap;
    struct imp_win *win;
    int nwin, capwin;
    struct imp_buswin *bw;
    int nbw, capbw;
    struct imp_rootbus *rb;
    int nrb, caprb;
    char **note;
    int nnote, capnote;
    bool qemu;           /* the inputs show a QEMU machine */
    char kernel[64];     /* "Linux version" release, "" unknown */
    char cmdline[512];   /* "Kernel command line:", "" unknown */
    char name[64];       /* topology name: the first input's base name */
    bs_import_stats st;
};

/* Find or create the function dom:bus:dev.fn; NULL on ENOMEM. */
struct imp_dev *imp_dev_get(bs_import *im, unsigned dom, unsigned bus,
                            unsigned dev, unsigned fn);
struct imp_dev *imp_dev_find(const bs_import *im, unsigned dom, unsigned bus,
                             unsigned dev, unsigned fn);
int imp_add_root_window(bs_import *im, unsigned dom, unsigned flags,
                        uint64_t base, uint64_t last, const char *src);
/* The same for a host bridge that translates: bus address = CPU - offset.
 * A window already known (same CPU range) takes the offset. */
int imp_add_root_window_bus(bs_import *im, unsigned dom, unsigned flags,
                            uint64_t base, uint64_t last, uint64_t offset,
                            const char *src);
int imp_add_root_bus(bs_import *im, unsigned dom, unsigned bus);
int imp_add_bus_window(bs_import *im, unsigned dom, unsigned bus,
                       int parent_bus, unsigned flags, uint64_t base,
                       uint64_t last);
/* A vendor ID only QEMU's devices carry: Red Hat's QEMU devices (0x1b36)
 * and virtio (0x1af4).  One such device marks the machine a VM. */
static inline bool imp_qemu_vendor(unsigned v)
{
    return v == 0x1b36 || v == 0x1af4;
}
int imp_note(bs_import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Window slot for a bridge window of these flags. */
int imp_win_slot(unsigned flags);

/* Text helpers shared by the parsers. */
bool imp_parse_bdf(const char *s, unsigned *dom, unsigned *bus, unsigned *dev,
                   unsigned *fn, const char **end);
/* Split text into lines: calls fn(line, len, lineno, ctx) for each; stops
 * and returns its first non-zero result. */
int imp_for_lines(const char *data, size_t len,
                  int (*fn)(const char *, size_t, int, void *), void *ctx);

/* Parsers: each returns BS_OK, or BS_EPARSE/BS_ENOMEM with err set.  They
 * work on a scratch importer so that a failed input leaves nothing behind. */
int imp_parse_dmesg(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err);
int imp_parse_lspci(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err);
int imp_parse_iomem(bs_import *im, const char *data, size_t len,
                    const char *file, bs_error *err);
/* One device's sysfs `resource` file. */
int imp_parse_sysfs_resource(bs_import *im, unsigned dom, unsigned bus,
                             unsigned dev, unsigned fn, const char *data,
                             size_t len, const char *file, bs_error *err);
int imp_parse_sysfs_tar(bs_import *im, const char *data, size_t len,
                        const char *file, bs_error *err);
int imp_parse_sysfs_dir(bs_import *im, const char *path, bs_error *err);
/* A small text file of a sysfs device directory (class, vendor, device,
 * secondary_bus_number, subordinate_bus_number); unknown names ignored. */
int imp_sysfs_attr(bs_import *im, unsigned dom, unsigned bus, unsigned dev,
                   unsigned fn, const char *name, const char *data,
                   size_t len, const char *file, bs_error *err);

/* Import always yields a machine (import_settle.c): catch-all and
 * 4 GiB-straddling root windows settled before the build; root windows
 * derived from the addresses seen where the inputs have none; resources
 * the checker objects to left unplaced, each with a note. */
int imp_settle_windows(bs_import *im);
int imp_derive_windows(bs_import *im, bs_topo *t);
int imp_settle_check(bs_import *im, bs_topo *t);

/* Merge src into dst (used to commit a scratch importer). */
int imp_merge(bs_import *dst, bs_import *src);

#endif
