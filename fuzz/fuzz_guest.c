/*
 * Peer console parser (bs_guest_parse): refusals carry an error record;
 * accepted output answers every query without reading out of bounds.
 *
 * fuzz-needs: bs_guest_parse
 * fuzz-max-len: 8192
 */
#include "fuzz.h"
#include "barspace/qemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_guest *g = NULL;
    bs_error e = {0};
    int rc = bs_guest_parse((const char *)data, size, "fuzz.out", &g, &e);
    if (rc) {
        FUZZ_CHECK(g == NULL);
        fuzz_check_error(&e, rc);
        return 0;
    }
    int n = bs_guest_dev_count(g);
    FUZZ_CHECK(n >= 0);
    for (int i = 0; i < n; i++) {
        bs_guest_dev d;
        FUZZ_CHECK(bs_guest_dev_info(g, i, &d) == BS_OK);
        FUZZ_CHECK(d.depth >= 0 && d.depth <= 16);
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_guest_res r;
            bs_guest_final(g, i, s, &r);
            bs_guest_firmware(g, i, s, &r);
        }
        if (d.depth >= 1)
            FUZZ_CHECK(bs_guest_find_path(g, d.path_slot, d.path_fn,
                                          d.depth) >= 0);
    }
    for (int i = 0; i < bs_guest_window_count(g); i++) {
        bs_window_info w;
        FUZZ_CHECK(bs_guest_window(g, i, &w) == BS_OK);
    }
    for (int i = 0; i < bs_guest_failure_count(g); i++)
        FUZZ_CHECK(bs_guest_failure(g, i) != NULL);
    bs_guest_free(g);
    return 0;
}
