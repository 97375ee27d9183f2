/*
 * Shared by the libFuzzer targets.  A target asserts the library's
 * contracts with FUZZ_CHECK: a violated contract aborts, which libFuzzer
 * records as a finding with the input that caused it.
 */
#ifndef BS_FUZZ_H
#define BS_FUZZ_H

#include "barspace/barspace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FUZZ_REPLAY
/* tests/test_fuzz_corpus.c replays the corpora through the harnesses: a
 * violated contract is counted and reported there instead of aborting. */
extern int fuzz_replay_failures;
#define FUZZ_FAIL_ACTION() (fuzz_replay_failures++)
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define FUZZ_FAIL_ACTION() abort()
#endif

#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz check failed: %s:%d: %s\n", __FILE__,      \
                    __LINE__, #cond);                                        \
            FUZZ_FAIL_ACTION();                                              \
        }                                                                    \
    } while (0)

/* An error record after a failed call: the code the call returned and a
 * terminated, non-empty message. */
static inline void fuzz_check_error(const bs_error *e, int rc)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(e->code == rc);
    FUZZ_CHECK(memchr(e->msg, 0, sizeof e->msg) != NULL);
    FUZZ_CHECK(memchr(e->file, 0, sizeof e->file) != NULL);
    FUZZ_CHECK(e->msg[0] != 0);
    FUZZ_CHECK(e->line >= 0 && e->col >= 0);
    char buf[600];
    bs_error_format(e, buf, sizeof buf);
}

/* Text of a topology, malloc'd. */
static inline char *fuzz_format(const bs_topo *t, size_t *len)
{
    size_t need = bs_topo_format(t, NULL, 0);
    char *s = malloc(need + 1);
    FUZZ_CHECK(s != NULL);
    FUZZ_CHECK(bs_topo_format(t, s, need + 1) == need);
    *len = need;
    return s;
}

/* Cheap structural walk of a topology through the public API only. */
static inline void fuzz_walk(const bs_topo *t)
{
    int n = bs_topo_node_count(t);
    FUZZ_CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        bs_node_info ni;
        FUZZ_CHECK(bs_topo_node_info(t, i, &ni) == BS_OK);
        FUZZ_CHECK(ni.parent < i);
        FUZZ_CHECK((i == 0) == (ni.parent < 0));
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info ri;
            if (bs_topo_res_info(t, i, s, &ri) != BS_OK)
                continue;
            FUZZ_CHECK(ri.node == i && ri.slot == s);
        }
    }
    for (int i = 0; i < bs_topo_window_count(t); i++) {
        bs_window_info wi;
        FUZZ_CHECK(bs_topo_window_info(t, i, &wi) == BS_OK);
        FUZZ_CHECK(wi.size > 0);
    }
    for (int i = 0; i < bs_topo_failure_count(t); i++) {
        bs_failure f;
        FUZZ_CHECK(bs_topo_failure(t, i, &f) == BS_OK);
        FUZZ_CHECK(f.node >= 0 && f.node < n);
    }
}

#endif
