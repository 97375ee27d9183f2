/*
 * Policy names: one table, so that every command accepts the same words and
 * prints the same ones.  A new kernel model is one row here (and its
 * switches in assign_linux.c); the first linux-X.Y row is the newest.
 */
#include "assign/assign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct policy_row {
    const char *name;
    int policy, kernel;
    int alias;              /* accepted, never printed */
};

static const struct policy_row rows[] = {
    {"linux-7.2", BS_POLICY_LINUX, BS_KERNEL_7_2, 0},
    {"linux-6.12", BS_POLICY_LINUX, BS_KERNEL_6_12, 0},
    {"linux-6.1", BS_POLICY_LINUX, BS_KERNEL_6_1, 0},
    {"barspace", BS_POLICY_PACK, 0, 0},
    {"linux", BS_POLICY_LINUX, BS_KERNEL_NEWEST, 1},
    {"pack", BS_POLICY_PACK, 0, 1},
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

/* The kernel that BS_KERNEL_NEWEST stands for: the first linux-X.Y row. */
int bs_kernel_newest(void)
{
    for (int i = 0; i < NROWS; i++)
        if (rows[i].policy == BS_POLICY_LINUX && rows[i].kernel)
            return rows[i].kernel;
    return BS_KERNEL_6_1;
}

int bs_policy_parse(const char *name, int *policy, int *kernel, bs_error *err)
{
    for (int i = 0; name && i < NROWS; i++)
        if (!strcmp(name, rows[i].name)) {
            *policy = rows[i].policy;
            *kernel = rows[i].kernel ? rows[i].kernel
                      : rows[i].policy == BS_POLICY_LINUX ? bs_kernel_newest() : 0;
            return BS_OK;
        }
    char list[256] = "";
    for (int i = 0; i < NROWS; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", rows[i].name);
    }
    bs_seterr(err, BS_EINVAL, NULL, 0, 0, "unknown policy '%s' (expected one of: %s)",
              name ? name : "", list);
    return BS_EINVAL;
}

const char *bs_policy_name(int policy, int kernel)
{
    if (policy == BS_POLICY_LINUX && !kernel)
        kernel = bs_kernel_newest();
    for (int i = 0; i < NROWS; i++)
        if (!rows[i].alias && rows[i].policy == policy &&
            (policy != BS_POLICY_LINUX || rows[i].kernel == kernel))
            return rows[i].name;
    return "unknown";
}

/* A kernel has every rule up to its version: the model for it is the newest
 * modelled kernel not above it (the oldest for a kernel older than all). */
int bs_kernel_nearest(int version)
{
    if (version <= 0)
        return bs_kernel_newest();
    int best = 0, oldest = 0;
    for (int i = 0; i < NROWS; i++) {
        int k = rows[i].kernel;
        if (rows[i].policy != BS_POLICY_LINUX || !k)
            continue;
        if (k <= version && k > best)
            best = k;
        if (!oldest || k < oldest)
            oldest = k;
    }
    return best ? best : oldest;
}

int bs_kernel_from_release(const char *s)
{
    /* The first MAJOR.MINOR: skips a package name's "linux-image-". */
    for (; s && *s; s++) {
        if (*s < '0' || *s > '9' || (s[1] != '.' && (s[1] < '0' || s[1] > '9')))
            continue;
        char *e;
        long major = strtol(s, &e, 10);
        if (*e != '.' || e[1] < '0' || e[1] > '9') {
            s = e - 1;
            continue;
        }
        long minor = strtol(e + 1, NULL, 10);
        if (major > 99 || minor > 99)
            return 0;
        return bs_kernel_nearest((int)(major * 100 + minor));
    }
    return 0;
}
