/*
 * Out of memory: the library's allocations are counted and the k-th one is
 * made to fail (the binary is linked with -Wl,--wrap=malloc,calloc,realloc;
 * see the Makefile), for every k until the call no longer allocates.  A
 * call that runs out of memory must say so (BS_ENOMEM), never answer as if
 * it had done its work.
 */
#include "test.h"
#include "barspace/barspace.h"

#include <stdbool.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

/* Allocations left before the one that fails; -1: none fails. */
static long fail_in = -1;
static bool failed;

static bool fail_now(void)
{
    if (fail_in < 0)
        return false;
    if (fail_in-- == 0) {
        failed = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m)
{
    return fail_now() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

/* Two BARs of one device at the same address: one violation. */
static const char overlap[] =
    "topology overlap\n"
    "window mem 0x80000000-0x8fffffff\n"
    "device d {\n"
    "    bar 0 mem32 1M at=0x80000000\n"
    "    bar 1 mem32 1M at=0x80000000\n"
    "}\n"
    "bridge b {\n"
    "    device e {\n"
    "        bar 0 mem32 1M\n"
    "    }\n"
    "}\n";

static void test_check(void)
{
    bs_topo *t = NULL;
    CHECK_EQ(bs_topo_parse(overlap, sizeof overlap - 1, "overlap.topo", &t,
                           NULL), BS_OK);
    if (!t)
        return;
    int want = bs_check(t, NULL, NULL, 0);
    CHECK(want >= 1);
    int enomem = 0;
    for (long k = 0;; k++) {
        failed = false;
        fail_in = k;
        int n = bs_check(t, NULL, NULL, 0);
        fail_in = -1;
        if (!failed) {
            CHECK_EQ(n, want);
            break;
        }
        CHECK_EQ(n, BS_ENOMEM);
        enomem++;
    }
    /* The range arrays and the sweep's stack. */
    CHECK(enomem >= 3);
    bs_topo_free(t);
}

int main(void)
{
    test_check();
    TEST_DONE("test_oom");
}
