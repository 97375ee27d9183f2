/*
 * Replaying a kernel's own decisions: `barspace compare LOG`.
 *
 * A kernel log says what firmware programmed and the kernel kept (taken as
 * fixed) and what the kernel placed itself or failed to place (left free).
 * The machine is rebuilt as the kernel found it, the model of that kernel
 * (the nearest modelled version) lays out the free resources, and each of
 * the kernel's decisions -- every `assigned`, `no space` / `failed to
 * assign` and final bridge window -- is compared with the model's:
 * agree, differ, or not comparable (the log lacks what the model needs).
 */
#ifndef BARSPACE_LOGCMP_H
#define BARSPACE_LOGCMP_H

#include "barspace/barspace.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

enum bs_logcmp_verdict {
    BS_LC_DIFFER = 0,
    BS_LC_AGREE = 1,
    BS_LC_NA = 2          /* not comparable: see why */
};

typedef struct bs_logcmp_opts {
    const char *kernel;   /* "X.Y[...]" overriding the log's; NULL: the log's */
    const char *cmdline;  /* kernel command line overriding the log's */
} bs_logcmp_opts;

typedef struct bs_logcmp_row {
    int node, slot;            /* in bs_logcmp_topo() */
    int kernel_placed;         /* 1 the kernel placed it, 0 it failed */
    uint64_t kernel_addr, kernel_size;
    int model_placed;          /* 1 the model placed it, 0 it failed */
    uint64_t model_addr, model_size;
    int verdict;               /* enum bs_logcmp_verdict */
    char why[120];             /* for differ and not comparable */
} bs_logcmp_item;

typedef struct bs_logcmp bs_logcmp;

/* Import the given logs (one machine), rebuild it as the kernel found it,
 * run the model and compare.  BS_EPARSE / BS_EIO with err set for bad
 * input, as bs_import_add_path. */
int bs_logcmp_run(const char *const *paths, int n, const bs_logcmp_opts *o,
                  bs_logcmp **out, bs_error *err);
void bs_logcmp_free(bs_logcmp *c);
int bs_logcmp_row_count(const bs_logcmp *c);
int bs_logcmp_row(const bs_logcmp *c, int i, bs_logcmp_item *out);
/* The machine as the kernel found it (names for the rows). */
const bs_topo *bs_logcmp_topo(const bs_logcmp *c);
/* The log's kernel release ("" unknown) and the model used ("linux-6.1"). */
const char *bs_logcmp_kernel(const bs_logcmp *c);
const char *bs_logcmp_model(const bs_logcmp *c);
/* Remarks: the importer's notes, the model chosen and why. */
int bs_logcmp_note_count(const bs_logcmp *c);
const char *bs_logcmp_note(const bs_logcmp *c, int i);


#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
