/*
 * Order statistics users ask of a run (moves per placement, downtime per
 * device): computed here once so that every report states the same
 * median and p99.
 */
#include "barspace/barspace.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void bs_stats_compute(uint64_t *v, size_t n, bs_stats *out)
{
    out->median = out->p99 = out->max = 0;
    if (!n)
        return;
    qsort(v, n, sizeof *v, cmp_u64);
    /* Nearest rank: the smallest value with at least that share of the
     * values at or below it, so p99 >= median for any n. */
    out->median = v[(n - 1) / 2];
    out->p99 = v[(n * 99 + 99) / 100 - 1];
    out->max = v[n - 1];
}
