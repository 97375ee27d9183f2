/*
 * Importers: rebuild a topology from what a user can copy off a real machine
 * or VM -- kernel logs (dmesg, journalctl -k, syslog, pasted bug reports),
 * lspci text and hex dumps, a copy of /sys/bus/pci/devices (directory or
 * ustar archive) and /proc/iomem.  Several inputs of one machine can be fed
 * to one importer; what each adds is merged by PCI address (domain:bus:
 * device.function).  docs/import-formats.md describes every accepted form.
 *
 * The resulting topology records, per resource:
 *   - BS_RF_FIXED + fixed: the address firmware left in the device, when the
 *     kernel kept it (Linux claims firmware addresses and does not move them
 *     without pci=realloc);
 *   - BS_RF_ASSIGNED + addr: the address the machine finally used;
 *   - BS_RF_FAILED: the kernel reported it could not assign it; each such
 *     resource is also listed by bs_topo_failure() with the kernel's words.
 * Bridge windows carry the same three states.
 */
#ifndef BARSPACE_IMPORT_H
#define BARSPACE_IMPORT_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is the API: exported from libbarspace.so, whose
 * other symbols are hidden (see the Makefile). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

enum bs_import_format {
    BS_IMPORT_AUTO = 0,   /* sniff the content (and a directory = sysfs) */
    BS_IMPORT_DMESG = 1,  /* kernel log in any of its wrappings */
    BS_IMPORT_LSPCI = 2,  /* lspci -vvv[nn] text, optionally with -xxx[x] */
    BS_IMPORT_SYSFS = 3,  /* .../DDDD:BB:DD.F/resource files: dir or tar */
    BS_IMPORT_IOMEM = 4   /* /proc/iomem */
};

typedef struct bs_import bs_import;

bs_import *bs_import_new(void);
void bs_import_free(bs_import *im);

/* Parse one input held in memory.  `filename` names it in errors and notes;
 * for BS_IMPORT_SYSFS the bytes are a ustar archive.  On a parse error
 * returns BS_EPARSE with file, line and reason in err; nothing of that input
 * is kept. */
int bs_import_add(bs_import *im, const char *data, size_t len,
                  const char *filename, int format, bs_error *err);
/* Read a file (format sniffed when BS_IMPORT_AUTO) or a directory (a copy of
 * /sys/bus/pci/devices). */
int bs_import_add_path(bs_import *im, const char *path, int format,
                       bs_error *err);

/* What bs_import_add would take `data` for (never BS_IMPORT_AUTO). */
int bs_import_detect(const char *data, size_t len);
const char *bs_import_format_name(int format);

/* Build the topology from everything added so far.  BS_EPARSE when the
 * inputs hold no PCI enumeration at all. */
int bs_import_build(bs_import *im, bs_topo **out, bs_error *err);

/* Remarks about the inputs: what is missing ("no root bus resources in this
 * input; failures only"), guesses made, things deliberately left out.
 * Valid until the importer is freed. */
int bs_import_note_count(const bs_import *im);
const char *bs_import_note(const bs_import *im, int i);

/* The kernel release that wrote a log ("5.4.0-91-generic", from "Linux
 * version" or a "# kernel:" header) and its command line ("Kernel command
 * line:"); "" when the inputs do not say.  Valid until the importer is
 * freed. */
const char *bs_import_kernel(const bs_import *im);
const char *bs_import_cmdline(const bs_import *im);

typedef struct bs_import_stats {
    int files;            /* inputs added */
    int lines;            /* lines read (text inputs) */
    int pci_lines;        /* lines that were about PCI and were used */
    int devices;          /* functions found (bridges included) */
    int bridges;
    int root_windows;     /* host bridge windows found */
    int kernel_failures;  /* resources the kernel reported it could not assign */
    int kernel_assigned;  /* resources the kernel placed itself */
} bs_import_stats;
void bs_import_get_stats(const bs_import *im, bs_import_stats *st);

/* Convenience: import the given paths (BS_IMPORT_AUTO each) into a topology;
 * notes are dropped. */
int bs_import_paths(const char *const *paths, int n, bs_topo **out,
                    bs_error *err);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
