/*
 * Topology text parser (bs_topo_parse), and what runs on its output.
 *
 * Contracts checked: a refusal is an error record with a message; an
 * accepted text formats to a text that parses again and formats to the same
 * text (the writer is canonical); the checker, both assignment policies
 * (small search budget) and a snapshot round trip run on every accepted
 * topology; when the input's fixed BARs are consistent and an assignment
 * succeeds, the checker finds nothing.
 *
 * fuzz-needs: bs_topo_parse bs_topo_format bs_check bs_assign bs_snapshot_save
 * fuzz-max-len: 4096
 */
#include "fuzz.h"
#include "barspace/snapshot.h"

static void snapshot_round_trip(bs_topo *t)
{
    bs_state st = {.topo = t};
    unsigned char *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    FUZZ_CHECK(bs_snapshot_save(&st, &buf, &len, NULL) == BS_OK);
    bs_state back = {0};
    bs_error e = {0};
    int rc = bs_snapshot_restore(buf, len, 0, &back, &e);
    if (rc)
        fprintf(stderr, "restore: %s\n", e.msg);
    FUZZ_CHECK(rc == BS_OK);
    FUZZ_CHECK(bs_snapshot_save(&back, &buf2, &len2, NULL) == BS_OK);
    FUZZ_CHECK(len == len2 && !memcmp(buf, buf2, len));
    bs_state_free(&back);
    free(buf);
    free(buf2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    int rc = bs_topo_parse((const char *)data, size, "fuzz.topo", &t, &e);
    if (rc) {
        FUZZ_CHECK(t == NULL);
        fuzz_check_error(&e, rc);
        return 0;
    }
    FUZZ_CHECK(t != NULL);
    fuzz_walk(t);

    size_t n1, n2;
    char *s1 = fuzz_format(t, &n1);
    bs_topo *t2 = NULL;
    bs_error e2 = {0};
    rc = bs_topo_parse(s1, n1, "formatted.topo", &t2, &e2);
    if (rc)
        fprintf(stderr, "formatted text refused: %s:%d:%d: %s\n%s\n", e2.file,
                e2.line, e2.col, e2.msg, s1);
    FUZZ_CHECK(rc == BS_OK);
    char *s2 = fuzz_format(t2, &n2);
    FUZZ_CHECK(n1 == n2 && !memcmp(s1, s2, n1));
    free(s1);
    free(s2);
    bs_topo_free(t2);

    int before = bs_check(t, NULL, NULL, 0);
    FUZZ_CHECK(before >= 0);
    snapshot_round_trip(t);
    for (int pol = BS_POLICY_LINUX; pol <= BS_POLICY_PACK; pol++) {
        bs_topo *c = bs_topo_clone(t);
        FUZZ_CHECK(c != NULL);
        bs_assign_opts o;
        bs_assign_opts_init(&o, pol);
        o.search_budget = 500;
        bs_error ae = {0};
        rc = bs_assign(c, &o, &ae);
        FUZZ_CHECK(rc == BS_OK || rc == BS_ENOSPC || rc == BS_EINVAL ||
                   rc == BS_ELIMIT);
        if (rc == BS_OK && before == 0) {
            bs_violation v;
            int nv = bs_check(c, t, &v, 1);
            if (nv)
                fprintf(stderr, "policy %d: %s\n", pol, v.msg);
            FUZZ_CHECK(nv == 0);
        }
        fuzz_walk(c);
        snapshot_round_trip(c);
        bs_topo_free(c);
    }
    bs_topo_free(t);
    return 0;
}
