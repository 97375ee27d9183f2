/*
 * One importer (include/barspace/import.h) fed arbitrary bytes: every
 * refusal is an error record; an accepted input builds a topology (or is
 * refused for holding no PCI enumeration) that the checker, the text
 * writer and a snapshot round trip handle.  FUZZ_FORMAT selects the
 * importer.
 */
#include "fuzz.h"
#include "barspace/import.h"
#include "barspace/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_import *im = bs_import_new();
    FUZZ_CHECK(im != NULL);
    bs_error e = {0};
    int rc = bs_import_add(im, (const char *)data, size, "fuzz.in",
                           FUZZ_FORMAT, &e);
    if (rc) {
        fuzz_check_error(&e, rc);
        bs_import_free(im);
        return 0;
    }
    bs_topo *t = NULL;
    bs_error be = {0};
    rc = bs_import_build(im, &t, &be);
    for (int i = 0; i < bs_import_note_count(im); i++)
        FUZZ_CHECK(bs_import_note(im, i) != NULL);
    bs_import_stats st;
    bs_import_get_stats(im, &st);
    if (rc) {
        FUZZ_CHECK(t == NULL);
        fuzz_check_error(&be, rc);
        bs_import_free(im);
        return 0;
    }
    fuzz_walk(t);
    FUZZ_CHECK(bs_check(t, NULL, NULL, 0) >= 0);
    size_t n;
    free(fuzz_format(t, &n));
    bs_state s = {.topo = t};
    unsigned char *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(bs_snapshot_save(&s, &buf, &len, NULL) == BS_OK);
    bs_state back = {0};
    bs_error re = {0};
    rc = bs_snapshot_restore(buf, len, 0, &back, &re);
    if (rc)
        fprintf(stderr, "restore of an imported topology: %s\n", re.msg);
    FUZZ_CHECK(rc == BS_OK);
    bs_state_free(&back);
    free(buf);
    bs_topo_free(t);
    bs_import_free(im);
    return 0;
}
