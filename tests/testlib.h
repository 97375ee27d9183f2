/*
 * Helpers shared by the test binaries (linked into every one of them).
 */
#ifndef BS_TESTLIB_H
#define BS_TESTLIB_H

/* The regular files below dir, at any depth, in name order, leaving out
 * dot files and README*: a data directory may group its logs in folders.
 * Returns the count (0 when dir cannot be opened) and a malloc'd array of
 * malloc'd paths in *out; free it with test_files_free. */
int test_list_files(const char *dir, char ***out);
void test_files_free(char **files, int n);

#include <stdint.h>

/* Deterministic pseudo-random numbers (the same on every platform), from a
 * state the test keeps (not 0): xorshift64* and plain xorshift64 (13, 7,
 * 17).  Tests that compare against counts measured with one keep it. */
uint64_t test_xorshift64s(uint64_t *state);
uint64_t test_xorshift64(uint64_t *state);

#endif
