/*
 * The real peer: QEMU (q35) plus firmware plus a Linux guest.
 *
 *   - export: a topology becomes QEMU command-line arguments (q35 built-ins,
 *     pcie-root-port, x3130 switches, nvme, ivshmem-plain, e1000e, VGA);
 *     what QEMU cannot build is refused with the topology line at fault;
 *   - trace: QEMU's `-trace pci_cfg_* -trace pci_update_mappings*` output,
 *     one event per line, with the access width QEMU does not print
 *     inferred from the register and the value;
 *   - guest: what the peer's initramfs prints (kernel PCI log lines,
 *     /proc/iomem, every device's sysfs `resource` with its sysfs path),
 *     i.e. the firmware's assignment as Linux found it and Linux's final one.
 *
 * docs/peer.md describes the formats, the device models and the suite.
 */
#ifndef BARSPACE_QEMU_H
#define BARSPACE_QEMU_H

#include "barspace/barspace.h"
#include "barspace/churn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* ------------------------------------------------------------- export */

/* Address of a node on its parent's bus as the exported machine has it:
 * explicit slot=/fn= hints, the fixed q35 slots of the built-ins, else the
 * first free slot.  BS_EINVAL (with err naming the line) when the topology
 * cannot be exported. */
int bs_qemu_node_addr(const bs_topo *t, int node, int *slot, int *fn,
                      const char *filename, bs_error *err);

/* QEMU arguments for the topology, one argument per line ('\n' after each),
 * snprintf-style into buf (*need receives the length needed).  Only the
 * machine and its devices: firmware, kernel, tracing and console are the
 * caller's.  Returns BS_OK, or BS_EINVAL with err = "file:line: why QEMU
 * cannot express this". */
int bs_qemu_args(const bs_topo *t, const char *filename, char *buf,
                 size_t cap, size_t *need, bs_error *err);

/* Base address QEMU 7.2 gives a q35 64-bit PCI window (pci-hole64-size) of
 * `size` bytes when the guest has no RAM above 4G: 4G, or 1 TiB when the
 * window would reach the AMD HyperTransport range at 0xfd00000000. */
uint64_t bs_qemu_hole64_base(uint64_t size);

/* ------------------------------------------------------------ generate */

/* Seeded random q35 machines for the peer (docs/peer.md, "Random
 * topologies").  Every topology returned parses and is accepted by
 * bs_qemu_args; the same options give the same text. */
enum bs_gen_firmware {
    BS_GEN_FW_ANY = -1,   /* drawn: none 60%, seabios 28%, ovmf 12% */
    BS_GEN_FW_NONE = 0,   /* qboot: Linux assigns everything */
    BS_GEN_FW_SEABIOS = 1,
    BS_GEN_FW_OVMF = 2
};

typedef struct bs_gen_opts {
    uint64_t seed;
    int max_devices;   /* endpoints besides the q35 built-ins (default 8) */
    int firmware;      /* enum bs_gen_firmware (default BS_GEN_FW_ANY) */
    uint64_t max_bar;  /* largest BAR drawn, a power of two (default 128G) */
} bs_gen_opts;

void bs_gen_opts_init(bs_gen_opts *o);
/* The topology text for o->seed, snprintf-style into buf (*need receives
 * its length).  Its first lines are comments: what it exercises,
 * "# peer: firmware=X append=\"...\"" for peer/run, and "# peer-name: NAME"
 * (firmware, seed and features) for keeping it.  BS_EINVAL for bad
 * options. */
int bs_qemu_generate(const bs_gen_opts *o, char *buf, size_t cap,
                     size_t *need, bs_error *err);

/* QEMU device type a node exports to ("nvme", "pcie-root-port", ...), or
 * NULL when it has none. */
const char *bs_qemu_device_type(const bs_topo *t, int node);

/* -------------------------------------------------------------- trace */

enum bs_qev_kind {
    BS_QEV_READ = 0,    /* pci_cfg_read */
    BS_QEV_WRITE = 1,   /* pci_cfg_write */
    BS_QEV_MAP_ADD = 2, /* pci_update_mappings_add */
    BS_QEV_MAP_DEL = 3  /* pci_update_mappings_del */
};

/* Register classes, for agreement by kind of register. */
enum bs_reg_class {
    BS_REG_OTHER = 0,
    BS_REG_COMMAND = 1, /* 0x04..0x05 */
    BS_REG_BAR = 2,     /* BARs (type 0: 0x10..0x27, type 1: 0x10..0x17) */
    BS_REG_ROM = 3,     /* expansion ROM BAR (0x30, bridges 0x38) */
    BS_REG_WINDOW = 4,  /* bridge I/O, memory, prefetchable base/limit */
    BS_REG_ID = 5,      /* vendor, device, class, header type */
    BS_REG_NCLASSES = 6
};

typedef struct bs_qev {
    int kind;          /* enum bs_qev_kind */
    int line;          /* line in the trace file */
    char dev[32];      /* QEMU's name of the device model */
    unsigned bus, slot, fn;
    unsigned off;      /* config offset (accesses) */
    unsigned width;    /* 1, 2 or 4: inferred (QEMU does not print it) */
    uint32_t val;      /* value read or written */
    int bar;           /* mappings: region number (6 = ROM) */
    uint64_t addr, size; /* mappings */
    int bridge;        /* the function has a type-1 header */
} bs_qev;

typedef struct bs_qtrace bs_qtrace;

/* Parse a trace log.  Lines that are not trace events of these four kinds
 * (QEMU warnings, other events) are counted, not errors; a malformed line of
 * one of the four kinds is BS_EPARSE naming the line, and so is a text
 * with no event of the four kinds at all (nothing to replay). */
int bs_qtrace_parse(const char *text, size_t len, const char *filename,
                    bs_qtrace **out, bs_error *err);
int bs_qtrace_load(const char *path, bs_qtrace **out, bs_error *err);
void bs_qtrace_free(bs_qtrace *q);
int bs_qtrace_count(const bs_qtrace *q);
int bs_qtrace_get(const bs_qtrace *q, int i, bs_qev *out);
int bs_qtrace_other_lines(const bs_qtrace *q);

/* Width of a config access QEMU logged at `off` with value `val`: the
 * register's natural width, widened when the value needs more bytes. */
unsigned bs_cfg_access_width(unsigned off, uint32_t val, int bridge);
/* Class of the register at `off` (enum bs_reg_class). */
int bs_cfg_reg_class(unsigned off, int bridge);
/* "BAR2 (0x18)", "command", "memory base", ... into buf. */
const char *bs_cfg_reg_describe(unsigned off, unsigned width, int bridge,
                                char *buf, size_t cap);
const char *bs_reg_class_name(int cls);
/* 1 for the classes the emulation models (command, BAR, ROM, bridge
 * window): a disagreement there is a defect.  Identity and other registers
 * (capabilities, QEMU's IDs) are not modelled; their reads are reported,
 * never judged. */
int bs_reg_class_modelled(int cls);

/* -------------------------------------------------------------- guest */

typedef struct bs_guest bs_guest;

typedef struct bs_guest_dev {
    unsigned domain, bus, slot, fn;
    unsigned vendor, device, class_code;
    int bridge;
    int depth;            /* 1 = on the root bus */
    int path_slot[16];    /* slot.fn of each hop from the root bus down */
    int path_fn[16];
} bs_guest_dev;

/* A resource as the guest reported it.  Slots follow enum bs_slot. */
typedef struct bs_guest_res {
    uint64_t start, size;
    unsigned flags;       /* BS_RF_IO / MEM64 / PREF */
    int assigned;         /* non-zero start */
} bs_guest_res;

/* Parse the peer's console output (markers @@PEER dmesg|iomem|ioports|sysfs
 * written by peer/guest-init).  BS_EPARSE when a section is malformed or
 * missing. */
int bs_guest_parse(const char *text, size_t len, const char *filename,
                   bs_guest **out, bs_error *err);
int bs_guest_load(const char *path, bs_guest **out, bs_error *err);
void bs_guest_free(bs_guest *g);
int bs_guest_dev_count(const bs_guest *g);
int bs_guest_dev_info(const bs_guest *g, int i, bs_guest_dev *out);
/* Final state (sysfs).  BS_ENOENT when the slot is absent or empty. */
int bs_guest_final(const bs_guest *g, int dev, int slot, bs_guest_res *out);
/* The firmware's value as Linux found it when it scanned the bus (kernel
 * log "BAR n [...]" and scan-time "bridge window [...]" lines); assigned = 0
 * when the firmware left it unprogrammed.  BS_ENOENT when not reported. */
int bs_guest_firmware(const bs_guest *g, int dev, int slot,
                      bs_guest_res *out);
/* Host bridge windows ("root bus resource" lines), in kernel order. */
int bs_guest_window_count(const bs_guest *g);
int bs_guest_window(const bs_guest *g, int i, bs_window_info *out);
/* Kernel lines saying something could not be assigned. */
int bs_guest_failure_count(const bs_guest *g);
const char *bs_guest_failure(const bs_guest *g, int i);
/* The kernel release from the log's "Linux version" line
 * ("6.1.0-57-cloud-amd64"), or NULL when the log has none. */
const char *bs_guest_kernel_release(const bs_guest *g);
/* Index of the device at a path of slot.fn hops, or BS_ENOENT. */
int bs_guest_find_path(const bs_guest *g, const int *slots, const int *fns,
                       int depth);


/* ------------------------------------------------------------ compare */

/* Linux options from a kernel command line: pci=realloc[=on|off],
 * pci=hpiosize=, hpmmiosize=, hpmmioprefsize=, hpmemsize= (comma lists
 * after pci= too).  Starts from bs_assign_opts_init(o, BS_POLICY_LINUX). */
void bs_peer_linux_opts(const char *cmdline, bs_assign_opts *o);

typedef struct bs_peer_row {
    int node, slot;
    int guest_dev;        /* index in the guest report, -1 if not found */
    bs_guest_res guest;   /* Linux's final value (assigned = 0: none) */
    bs_guest_res firmware;/* what the firmware left (assigned = 0: none) */
    uint64_t addr, size;  /* barspace's linux policy */
    int assigned;         /* barspace placed it */
    int match;            /* 1 agree, 0 differ, -1 not compared (see note) */
    char note[120];
} bs_peer_row;

typedef struct bs_peer_cmp bs_peer_cmp;

/* Run barspace's linux policy on the topology as the real guest saw it --
 * the host windows the guest's kernel reported (the legacy VGA window and
 * other windows below 1 MiB dropped) and every BAR and bridge window the
 * firmware had programmed and Linux could claim (inside a window of its bus,
 * no conflict with another claimed resource) taken as firmware-fixed, as
 * Linux keeps them -- and compare with the guest's final assignment,
 * resource by resource.  The firmware itself is not modelled.
 * `cmdline` is the guest kernel's extra command line (pci=...). */
int bs_peer_compare(const bs_topo *t, const bs_guest *g, const char *cmdline,
                    const char *filename, bs_peer_cmp **out, bs_error *err);
/* The same with the policy's options given: `o` from bs_peer_linux_opts
 * with o->kernel chosen by the caller.  bs_peer_compare models the kernel
 * the guest's log names (bs_guest_kernel_release), else the newest. */
int bs_peer_compare_opts(const bs_topo *t, const bs_guest *g,
                         const bs_assign_opts *o, const char *filename,
                         bs_peer_cmp **out, bs_error *err);
void bs_peer_cmp_free(bs_peer_cmp *c);
int bs_peer_cmp_row_count(const bs_peer_cmp *c);
int bs_peer_cmp_row(const bs_peer_cmp *c, int i, bs_peer_row *out);
/* Remarks (windows that differ from the topology's, devices missing). */
int bs_peer_cmp_note_count(const bs_peer_cmp *c);
const char *bs_peer_cmp_note(const bs_peer_cmp *c, int i);
/* The topology barspace assigned (owned by the comparison). */
const bs_topo *bs_peer_cmp_topo(const bs_peer_cmp *c);


/* ------------------------------------------------------ hot-plug compare */

/* The churn engine's linux policy against a real kernel's hot-plug (pciehp),
 * event by event: the model starts from the guest's own assignment after
 * boot (`boot`: its report; host windows and every BAR and bridge window as
 * the guest had them), applies evs[i] and compares every resource of every
 * present node with after[i], the guest's report after the same event. */
typedef struct bs_peer_hp_event {
    int line;             /* line in the trace */
    int kind;             /* enum bs_event_kind */
    char dev[BS_EV_NAME_MAX]; /* the event's device */
    int outcome;          /* the model's: enum bs_outcome */
    char msg[192];        /* the model's explanation */
    int guest_failed;     /* the guest left a BAR of the added device without
                             an address */
    int guest_failures;   /* the guest kernel's failure lines for the event */
    int resources;        /* resources compared after the event */
    int differ;           /* of which differ */
    int first_row, nrows; /* the differing ones (bs_peer_hp_row) */
} bs_peer_hp_event;

typedef struct bs_peer_hp_row {
    int event;            /* 1-based index of the event */
    int node;             /* node in the model's running topology */
    char dev[BS_EV_NAME_MAX];
    int slot;             /* enum bs_slot */
    int in_guest;         /* the guest has the node at all */
    bs_guest_res guest;   /* the guest's value (assigned = 0: none) */
    uint64_t addr, size;  /* the model's */
    int assigned;
} bs_peer_hp_row;

typedef struct bs_peer_hp bs_peer_hp;

int bs_peer_hotplug(const bs_topo *t, const bs_guest *boot,
                    const bs_event *evs, int nev,
                    const bs_guest *const *after, const char *cmdline,
                    const char *filename, bs_peer_hp **out, bs_error *err);
void bs_peer_hp_free(bs_peer_hp *h);
int bs_peer_hp_event_count(const bs_peer_hp *h);
int bs_peer_hp_get_event(const bs_peer_hp *h, int i, bs_peer_hp_event *out);
int bs_peer_hp_row_count(const bs_peer_hp *h);
int bs_peer_hp_get_row(const bs_peer_hp *h, int i, bs_peer_hp_row *out);
int bs_peer_hp_note_count(const bs_peer_hp *h);
const char *bs_peer_hp_note(const bs_peer_hp *h, int i);

/* ------------------------------------------------------------- replay */

typedef struct bs_replay_mismatch {
    bs_qev ev;            /* the access, with QEMU's value */
    int node;             /* topology node it was routed to */
    uint32_t ours;        /* what barspace's emulation returned */
    char reg[96];         /* the register's meaning */
} bs_replay_mismatch;

typedef struct bs_replay_result {
    uint64_t reads, reads_agree;
    /* Reads that touch a modelled register (bs_reg_class_modelled), and
     * those whose modelled bytes all agree: the replay's verdict. */
    uint64_t modelled_reads, modelled_agree;
    int have_first_modelled;
    bs_replay_mismatch first_modelled; /* first modelled disagreement */
    uint64_t cls_reads[BS_REG_NCLASSES], cls_agree[BS_REG_NCLASSES];
    uint64_t writes;
    uint64_t unrouted;            /* accesses to no topology node */
    uint64_t qemu_add, qemu_del;  /* memory BARs/ROMs only */
    uint64_t maps, unmaps;        /* the emulation's callbacks */
    int devices, devices_counts_agree; /* add==map and del==unmap */
    int have_first;
    bs_replay_mismatch first;     /* first disagreeing read */
    int have_first_cls[BS_REG_NCLASSES];
    bs_replay_mismatch first_cls[BS_REG_NCLASSES];
} bs_replay_result;

typedef struct bs_replay_dev {
    uint64_t qemu_add, qemu_del, maps, unmaps;
    uint64_t reads, reads_agree;
} bs_replay_dev;

/* Drive barspace's config-space emulation (cfgspace.h) with the trace's
 * accesses in order, on the topology before any assignment (a machine at
 * power-on), and compare every read with QEMU's value.  Functions are
 * found by the exporter's slot.fn (bs_qemu_node_addr) and the bus numbers
 * the trace itself programs into bridges.  policy: enum bs_host_policy.
 * devs (may be NULL) receives one entry per topology node. */
int bs_peer_replay(bs_topo *t, const bs_qtrace *q, int policy,
                   const char *filename, bs_replay_result *res,
                   bs_replay_dev *devs, bs_error *err);

/* A device plugged in or out during the trace (peer/hotplug's hotplug.map):
 * after trace line `line`, node is present (plug = 1) or gone (0).  Sorted
 * by line.  A node whose first entry plugs it in is absent before; a device
 * plugged below a bridge is its device 0.  bs_peer_replay is this without
 * plugs. */
typedef struct bs_peer_plug {
    int line;
    int node;
    int plug;
} bs_peer_plug;

int bs_peer_replay_plugs(bs_topo *t, const bs_qtrace *q, int policy,
                         const bs_peer_plug *plugs, int nplugs,
                         const char *filename, bs_replay_result *res,
                         bs_replay_dev *devs, bs_error *err);

/* The machine of a hot-plug run: topology t (its state at boot) plus a node
 * for every device the event trace plugged in (under its port, with its
 * BARs, unassigned), and the plug schedule read from hotplug.map text.
 * *out and *plugs are malloc'd/owned by the caller (bs_topo_free, free). */
int bs_peer_hp_machine(const bs_topo *t, const bs_event *evs, int nev,
                       const char *map, size_t len, const char *filename,
                       bs_topo **out, bs_peer_plug **plugs, int *nplugs,
                       bs_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
