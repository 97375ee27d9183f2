/*
 * Reading a whole input file into memory, for every parser that takes a
 * path: topologies, kernel logs and other imports, QEMU traces.  One place
 * decides the error wording (file named, reason given) and the size limit,
 * which holds while reading: a regular file over the limit is refused from
 * its size, a pipe or device (/dev/zero) once the limit is passed.
 */
#include "core/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int too_big(const char *path, size_t max, bs_error *err)
{
    bs_seterr(err, BS_ELIMIT, path, 0, 0,
              "file larger than the limit of %zu MiB for this input",
              max >> 20);
    return BS_ELIMIT;
}

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
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > max) {
        fclose(f);
        return too_big(path, max, err);
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot read: %s", strerror(EISDIR));
        return BS_EIO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    int rc = buf ? BS_OK : BS_ENOMEM;
    while (rc == BS_OK) {
        if (n == cap) {
            if (n > max) {
                rc = too_big(path, max, err);
                break;
            }
            size_t nc = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = nc > cap ? realloc(buf, nc + 1) : NULL;
            if (!nb) {
                rc = nc > cap ? BS_ENOMEM : too_big(path, max, err);
                break;
            }
            buf = nb;
            cap = nc;
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
    if (rc == BS_OK && n > max)
        rc = too_big(path, max, err);
    fclose(f);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, path, 0, 0, "out of memory reading the file");
    if (rc != BS_OK) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return BS_OK;
}
