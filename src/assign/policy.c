/*
 * Policy names: one table, so that every command accepts the same words and
 * prints the same ones.  A new kernel model is one row here (and its
 * switches in assign_linux.c); the first linux-X.Y row is the newest.
 */
#include "assign/assign.h"
#include "barspace/logcmp.h"

#include <stdio.h>
#include <string.h>

struct policy_row {
    const char *name;
    int policy, kernel;
    int alias;              /* accepted, never printed */
};

static const struct policy_row rows[] = {
    {"linux-6.1", BS_POLICY_LINUX, BS_KERNEL_6_1, 0},
    {"barspace", BS_POLICY_PACK, 0, 0},
    {"linux", BS_POLICY_LINUX, BS_KERNEL_NEWEST, 1},
    {"pack", BS_POLICY_PACK, 0, 1},
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

/* The kernel that BS_KERNEL_NEWEST stands for: the first linux-X.Y row. */
static int newest_kernel(void)
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
                      : rows[i].policy == BS_POLICY_LINUX ? newest_kernel() : 0;
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
        kernel = newest_kernel();
    for (int i = 0; i < NROWS; i++)
        if (!rows[i].alias && rows[i].policy == policy &&
            (policy != BS_POLICY_LINUX || rows[i].kernel == kernel))
            return rows[i].name;
    return "unknown";
}

int bs_kernel_nearest(int version)
{
    int best = 0, bestd = 0;
    for (int i = 0; version > 0 && i < NROWS; i++) {
        if (rows[i].policy != BS_POLICY_LINUX || !rows[i].kernel)
            continue;
        int d = rows[i].kernel > version ? rows[i].kernel - version
                                         : version - rows[i].kernel;
        if (!best || d < bestd) {
            best = rows[i].kernel;
            bestd = d;
        }
    }
    return best ? best : newest_kernel();
}
