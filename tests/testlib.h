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

#endif
