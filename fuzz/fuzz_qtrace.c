/*
 * QEMU trace parser (bs_qtrace_parse): refusals carry an error record;
 * accepted traces have well-formed events (widths 1/2/4 for accesses, the
 * register helpers accept every offset the trace holds).
 *
 * fuzz-needs: bs_qtrace_parse
 * fuzz-max-len: 8192
 */
#include "fuzz.h"
#include "barspace/qemu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bs_qtrace *q = NULL;
    bs_error e = {0};
    int rc = bs_qtrace_parse((const char *)data, size, "fuzz.trace", &q, &e);
    if (rc) {
        FUZZ_CHECK(q == NULL);
        fuzz_check_error(&e, rc);
        return 0;
    }
    int n = bs_qtrace_count(q);
    FUZZ_CHECK(n >= 0 && bs_qtrace_other_lines(q) >= 0);
    int last_line = 0;
    for (int i = 0; i < n; i++) {
        bs_qev ev;
        FUZZ_CHECK(bs_qtrace_get(q, i, &ev) == BS_OK);
        FUZZ_CHECK(ev.kind >= BS_QEV_READ && ev.kind <= BS_QEV_MAP_DEL);
        FUZZ_CHECK(ev.line > last_line);
        last_line = ev.line;
        FUZZ_CHECK(memchr(ev.dev, 0, sizeof ev.dev) != NULL);
        if (ev.kind == BS_QEV_READ || ev.kind == BS_QEV_WRITE) {
            FUZZ_CHECK(ev.width == 1 || ev.width == 2 || ev.width == 4);
            char buf[64];
            bs_cfg_reg_describe(ev.off, ev.width, ev.bridge, buf, sizeof buf);
            int cls = bs_cfg_reg_class(ev.off, ev.bridge);
            FUZZ_CHECK(cls >= 0 && cls < BS_REG_NCLASSES);
            FUZZ_CHECK(bs_reg_class_name(cls) != NULL);
        }
    }
    bs_qev ev;
    FUZZ_CHECK(bs_qtrace_get(q, n, &ev) != BS_OK);
    bs_qtrace_free(q);
    return 0;
}
