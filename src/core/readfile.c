/*
 * Reading a whole input file into memory, for every parser that takes a
 * path: topologies, kernel logs and other imports, QEMU traces.  One place
 * decides the error wording (file named, reason given) and the size limit.
 */
#include "core/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bs_read_file(const char *path, size_t max, char **out, size_t *len,
                 bs_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return BS_EIO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? BS_OK : BS_ENOMEM;
    while (rc == BS_OK) {
        if (n == cap) {
            if (cap >= max) {
                rc = BS_ELIMIT;
                bs_seterr(err, rc, path, 0, 0, "file larger than %zu MiB",
                          max >> 20);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = BS_ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = BS_EIO;
                bs_seterr(err, rc, path, 0, 0, "cannot read: %s",
                          strerror(errno));
            }
            break;
        }
    }
    fclose(f);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, path, 0, 0, "out of memory reading the file");
    if (rc != BS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return BS_OK;
}
