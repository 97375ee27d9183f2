/*
 * Growable arrays: one doubling rule for every list the library builds.
 */
#include "core/internal.h"

#include <stdlib.h>

bool bs_grow(void **p, int *cap, int n, size_t elem, int first)
{
    if (n < *cap)
        return true;
    int ncap = *cap ? *cap * 2 : first;
    void *np = realloc(*p, elem * (size_t)ncap);
    if (!np)
        return false;
    *p = np;
    *cap = ncap;
    return true;
}
