/*
 * Reading a whole input file into memory, for every parser that takes a
 * path: topologies, kernel logs and other imports, QEMU traces.  One place
 * decides the error wording (file named, reason given) and the size limit,
 * which holds while reading: a regular file over the limit is refused from
 * its size, a pipe or device once the limit is passed.  Text inputs are
 * refused at their first NUL byte, so `barspace assign /dev/zero` stops
 * after one block instead of reading up to the limit.
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

/* Name the first NUL byte by line and column, as a parser would. */
static int nul_error(const char *path, const char *buf, size_t off,
                     bs_error *err)
{
    int line = 1;
    size_t bol = 0;
    for (size_t i = 0; i < off; i++)
        if (buf[i] == '\n') {
            line++;
            bol = i + 1;
        }
    bs_seterr(err, BS_EPARSE, path, line, (int)(off - bol) + 1,
              "binary data (a NUL byte): not a text file");
    return BS_EPARSE;
}

static int read_all(const char *path, size_t max, bool text, char **out,
                    size_t *len, bs_error *err)
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
        const char *nul = text ? memchr(buf + n, 0, got) : NULL;
        if (nul) {
            rc = nul_error(path, buf, (size_t)(nul - buf), err);
            break;
        }
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

int bs_read_file(const char *path, size_t max, char **out, size_t *len,
                 bs_error *err)
{
    return read_all(path, max, false, out, len, err);
}

int bs_read_text_file(const char *path, size_t max, char **out, size_t *len,
                      bs_error *err)
{
    return read_all(path, max, true, out, len, err);
}
