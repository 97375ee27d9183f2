/*
 * Snapshot restore on arbitrary bytes, checksums not verified so that the
 * structural validation is what is exercised.  Contracts: a refusal names
 * a byte offset and leaves the output untouched; an accepted snapshot is a
 * state the library works on (walk, checker, writer, assignment) and saving
 * it and restoring that gives the same bytes again.
 *
 * fuzz-needs: bs_snapshot_restore bs_snapshot_save
 * fuzz-max-len: 8192
 */
#include "fuzz.h"
#include "barspace/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int sentinel;
    bs_state st = {.topo = (bs_topo *)&sentinel};
    bs_error e = {0};
    int rc = bs_snapshot_restore(data, size, BS_SNAP_NO_CRC, &st, &e);
    if (rc) {
        fuzz_check_error(&e, rc);
        FUZZ_CHECK(!strncmp(e.msg, "byte ", 5));
        FUZZ_CHECK(st.topo == (bs_topo *)&sentinel && st.plan == NULL);
        return 0;
    }
    fuzz_walk(st.topo);
    FUZZ_CHECK(bs_check(st.topo, NULL, NULL, 0) >= 0);
    size_t n;
    free(fuzz_format(st.topo, &n));
    bs_topo *c = bs_topo_clone(st.topo);
    bs_assign_opts o;
    bs_assign_opts_init(&o, BS_POLICY_PACK);
    o.search_budget = 200;
    bs_assign(c, &o, NULL);
    bs_topo_unassign(c);
    bs_assign_opts_init(&o, BS_POLICY_LINUX);
    bs_assign(c, &o, NULL);
    bs_topo_free(c);
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t l1, l2;
    FUZZ_CHECK(bs_snapshot_save(&st, &b1, &l1, NULL) == BS_OK);
    bs_state again = {0};
    FUZZ_CHECK(bs_snapshot_restore(b1, l1, 0, &again, NULL) == BS_OK);
    FUZZ_CHECK(bs_snapshot_save(&again, &b2, &l2, NULL) == BS_OK);
    FUZZ_CHECK(l1 == l2 && !memcmp(b1, b2, l1));
    free(b1);
    free(b2);
    bs_state_free(&again);
    bs_state_free(&st);
    return 0;
}
