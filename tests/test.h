/*
 * Minimal test harness: CHECK counts, never aborts, and each binary closes
 * with "name: N passed, N failed" which tests/run.sh sums.
 */
#ifndef BS_TEST_H
#define BS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond)                                                            \
            t_pass++;                                                        \
        else {                                                               \
            t_fail++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                     \
        if (a_ == b_)                                                        \
            t_pass++;                                                        \
        else {                                                               \
            t_fail++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s == %s (0x%" PRIx64               \
                    " != 0x%" PRIx64 ")\n", __FILE__, __LINE__, #a, #b, a_,  \
                    b_);                                                     \
        }                                                                    \
    } while (0)

#define CHECK_STR(a, b)                                                      \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (a_ && b_ && !strcmp(a_, b_))                                     \
            t_pass++;                                                        \
        else {                                                               \
            t_fail++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s == %s (\"%s\" != \"%s\")\n",     \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",          \
                    b_ ? b_ : "(null)");                                     \
        }                                                                    \
    } while (0)

#define TEST_DONE(name)                                                      \
    do {                                                                     \
        printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);          \
        return t_fail ? 1 : 0;                                               \
    } while (0)

#endif
