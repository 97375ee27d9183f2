/*
 * sysfs importer: a copy of /sys/bus/pci/devices (or of /sys/devices/pci*,
 * whose nesting shows the bridges) as a directory tree or a ustar archive.
 * Per function directory DDDD:BB:DD.F it reads `resource` (one line per
 * kernel resource: "0x<start> 0x<end> 0x<flags>") and, when present,
 * `class`, `vendor`, `device`, `secondary_bus_number`,
 * `subordinate_bus_number` and `sriov_totalvfs`.
 *
 * The tar reader is our own: POSIX ustar and GNU long names, regular files
 * and directories; everything else in the archive is skipped.
 */
#include "import/import_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* include/linux/ioport.h */
#define IORES_IO 0x00000100u
#define IORES_MEM 0x00000200u
#define IORES_PREFETCH 0x00002000u
#define IORES_MEM_64 0x00100000u
#define IORES_DISABLED 0x10000000u
#define IORES_UNSET 0x20000000u
#define IORES_ROM_SHADOW 0x00000002u

#define SYSFS_MAX_ATTR 4096

struct rline {
    uint64_t start, end, flags;
};

int imp_parse_sysfs_resource(bs_import *im, unsigned dom, unsigned bus,
                             unsigned dev, unsigned fn, const char *data,
                             size_t len, const char *file, bs_error *err)
{
    struct rline rl[17];
    int n = 0;
    size_t i = 0;
    int lineno = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && data[j] != '\n')
            j++;
        lineno++;
        char buf[128];
        size_t l = j - i < sizeof buf - 1 ? j - i : sizeof buf - 1;
        memcpy(buf, data + i, l);
        buf[l] = 0;
        i = j + 1;
        if (!l)
            continue;
        unsigned long long a, b, f;
        int used = 0;
        if (sscanf(buf, "0x%llx 0x%llx 0x%llx%n", &a, &b, &f, &used) != 3 ||
            (buf[used] && buf[used] != ' ' && buf[used] != '\r')) {
            bs_seterr(err, BS_EPARSE, file, lineno, 1,
                      "expected '0x<start> 0x<end> 0x<flags>' as in a sysfs "
                      "resource file");
            return BS_EPARSE;
        }
        if (n == 17) {
            bs_seterr(err, BS_EPARSE, file, lineno, 1,
                      "more than 17 resource lines");
            return BS_EPARSE;
        }
        rl[n].start = a;
        rl[n].end = b;
        rl[n].flags = f;
        n++;
    }
    if (n < 7) {
        bs_seterr(err, BS_EPARSE, file, lineno, 0,
                  "a resource file has at least 7 lines (6 BARs and the ROM); "
                  "this one has %d", n);
        return BS_EPARSE;
    }
    struct imp_dev *d = imp_dev_get(im, dom, bus, dev, fn);
    if (!d)
        return BS_ENOMEM;
    /* Line counts: 7 endpoint, 11 bridge (no SR-IOV support), 13 endpoint,
     * 17 bridge (SR-IOV slots 7..12 compiled in). */
    bool iov = n >= 13;
    if (n == 11 || n == 17)
        d->kind = BS_NODE_BRIDGE;
    else if (d->kind == IMP_KIND_UNKNOWN)
        d->kind = BS_NODE_DEVICE;
    for (int k = 0; k < n; k++) {
        const struct rline *x = &rl[k];
        if (!x->flags || x->end < x->start ||
            !(x->flags & (IORES_IO | IORES_MEM)))
            continue;
        /* A video ROM shadowed at 0xc0000 is the BIOS copy, not the BAR. */
        if (k == 6 && (x->flags & IORES_ROM_SHADOW))
            continue;
        int slot;
        if (k <= 6)
            slot = k;
        else if (iov && k <= 12)
            slot = BS_SLOT_VF0 + (k - 7);
        else {
            int w = k - (iov ? 13 : 7);
            if (w > 2)
                continue;
            slot = BS_SLOT_WIN_IO + w;
        }
        struct imp_res *r = &d->res[slot];
        r->present = true;
        r->line = k + 1;
        r->size = x->end - x->start + 1;
        r->flags = (x->flags & IORES_IO) ? BS_RF_IO
                   : ((x->flags & IORES_PREFETCH) ? BS_RF_PREF : 0) |
                         ((x->flags & IORES_MEM_64) ? BS_RF_MEM64 : 0);
        bool unset = (x->flags & (IORES_UNSET | IORES_DISABLED)) ||
                     x->start == 0;
        if (!unset) {
            r->has_addr = r->has_fw = true;
            r->addr = r->fw = x->start;
        }
        if (slot == BS_SLOT_WIN_PREF && !(x->flags & IORES_MEM_64))
            d->pref32 = true;
    }
    im->st.pci_lines += n;
    im->st.lines += n;
    return BS_OK;
}

static bool attr_num(const char *data, size_t len, unsigned long *v)
{
    char buf[64];
    size_t l = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, data, l);
    buf[l] = 0;
    char *e;
    errno = 0;
    *v = strtoul(buf, &e, 0);
    while (*e == '\n' || *e == ' ' || *e == '\r')
        e++;
    return !errno && e != buf && !*e;
}

int imp_sysfs_attr(bs_import *im, unsigned dom, unsigned bus, unsigned dev,
                   unsigned fn, const char *name, const char *data,
                   size_t len, const char *file, bs_error *err)
{
    static const char *const names[] = {"class", "vendor", "device",
                                        "secondary_bus_number",
                                        "subordinate_bus_number",
                                        "sriov_totalvfs"};
    int which = -1;
    for (int i = 0; i < 6; i++)
        if (!strcmp(name, names[i]))
            which = i;
    if (which < 0)
        return BS_OK;
    unsigned long v;
    if (!attr_num(data, len, &v)) {
        bs_seterr(err, BS_EPARSE, file, 1, 1, "expected a number in '%s'",
                  name);
        return BS_EPARSE;
    }
    struct imp_dev *d = imp_dev_get(im, dom, bus, dev, fn);
    if (!d)
        return BS_ENOMEM;
    switch (which) {
    case 0:
        d->cls = (uint32_t)v;
        if ((v >> 8) == 0x0604 || (v >> 8) == 0x0607)
            d->kind = BS_NODE_BRIDGE;
        break;
    case 1:
        d->vendor = (uint16_t)v;
        d->has_id = true;
        if (imp_qemu_vendor(v))
            im->qemu = true;
        break;
    case 2: d->device = (uint16_t)v; break;
    case 3:
        if (v <= 255)
            d->sec = (int)v, d->kind = BS_NODE_BRIDGE;
        break;
    case 4:
        if (v <= 255)
            d->sub = (int)v;
        break;
    case 5: d->num_vfs = (unsigned)v; break;
    }
    return BS_OK;
}

/* Walk a path "a/b/0000:00:1c.0/0000:01:00.0/resource": the last BDF
 * component before the file names the function; a BDF component above it
 * is its bridge. */
static int path_file(bs_import *im, const char *path, const char *data,
                     size_t len, const char *shown, bs_error *err,
                     int *used)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return BS_OK;
    const char *fname = slash + 1;
    unsigned cur[4], par[4];
    bool have = false, havepar = false;
    const char *p = path;
    while (p < slash) {
        const char *q = strchr(p, '/');
        if (!q || q > slash)
            q = slash;
        unsigned b4[4];
        const char *e;
        if (imp_parse_bdf(p, &b4[0], &b4[1], &b4[2], &b4[3], &e) && e == q &&
            q - p == 12) {
            if (have) {
                memcpy(par, cur, sizeof par);
                havepar = true;
            }
            memcpy(cur, b4, sizeof cur);
            have = true;
        }
        p = q + 1;
    }
    if (!have)
        return BS_OK;
    if (havepar) {
        struct imp_dev *b = imp_dev_get(im, par[0], par[1], par[2], par[3]);
        if (!b)
            return BS_ENOMEM;
        b->kind = BS_NODE_BRIDGE;
        if (b->sec < 0 || (int)cur[1] < b->sec)
            b->sec = (int)cur[1];
        if ((int)cur[1] > b->sub)
            b->sub = (int)cur[1];
    }
    int rc;
    if (!strcmp(fname, "resource")) {
        rc = imp_parse_sysfs_resource(im, cur[0], cur[1], cur[2], cur[3], data,
                                      len, shown, err);
        *used += rc == BS_OK;
    } else {
        rc = imp_sysfs_attr(im, cur[0], cur[1], cur[2], cur[3], fname, data,
                            len, shown, err);
    }
    return rc;
}

static int finish(bs_import *im, const char *file, int used, bs_error *err)
{
    if (!used) {
        bs_seterr(err, BS_EPARSE, file, 0, 0,
                  "no DDDD:BB:DD.F/resource file found (expected a copy of "
                  "/sys/bus/pci/devices)");
        return BS_EPARSE;
    }
    return imp_note(im, "%s: sysfs resource files give final addresses only "
                    "(no failures, no host bridge windows: add /proc/iomem "
                    "or the kernel log)", file);
}

/* ---------------------------------------------------------- ustar */

static bool octal(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == 0))
        i++;
    if (i == n) {
        *v = 0;
        return true;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '7'; i++) {
        if (x >> 60)
            return false;
        x = x * 8 + (uint64_t)(s[i] - '0');
    }
    for (; i < n; i++)
        if (s[i] != ' ' && s[i] != 0)
            return false;
    *v = x;
    return true;
}

int imp_parse_sysfs_tar(bs_import *im, const char *data, size_t len,
                        const char *file, bs_error *err)
{
    size_t off = 0;
    int used = 0;
    char longname[1024] = "";
    while (off + 512 <= len) {
        const unsigned char *h = (const unsigned char *)data + off;
        bool zero = true;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break; /* end-of-archive blocks */
        uint64_t chk, size;
        if (!octal((const char *)h + 148, 8, &chk) ||
            !octal((const char *)h + 124, 12, &size)) {
            bs_seterr(err, BS_EPARSE, file, 0, 0,
                      "tar header at byte %zu: bad octal field", off);
            return BS_EPARSE;
        }
        uint64_t sum = 0;
        for (int i = 0; i < 512; i++)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        if (sum != chk) {
            bs_seterr(err, BS_EPARSE, file, 0, 0,
                      "tar header at byte %zu: checksum mismatch (not a tar "
                      "archive, or damaged)", off);
            return BS_EPARSE;
        }
        if (size > len - off - 512) {
            bs_seterr(err, BS_EPARSE, file, 0, 0,
                      "tar entry at byte %zu: %llu bytes of content, archive "
                      "truncated", off, (unsigned long long)size);
            return BS_EPARSE;
        }
        char type = (char)h[156];
        const char *body = data + off + 512;
        char name[1024];
        if (longname[0]) {
            snprintf(name, sizeof name, "%s", longname);
            longname[0] = 0;
        } else {
            char pre[156], nm[101];
            memcpy(pre, h + 345, 155);
            pre[155] = 0;
            memcpy(nm, h, 100);
            nm[100] = 0;
            if (!memcmp(h + 257, "ustar", 5) && pre[0])
                snprintf(name, sizeof name, "%s/%s", pre, nm);
            else
                snprintf(name, sizeof name, "%s", nm);
        }
        if (type == 'L') {
            size_t l = size < sizeof longname - 1 ? (size_t)size
                                                  : sizeof longname - 1;
            memcpy(longname, body, l);
            longname[l] = 0;
        } else if ((type == '0' || type == 0) && size <= SYSFS_MAX_ATTR) {
            char shown[1300];
            snprintf(shown, sizeof shown, "%s:%s", file, name);
            char full[1030];
            snprintf(full, sizeof full, "/%s", name);
            int rc = path_file(im, full, body, (size_t)size, shown, err, &used);
            if (rc)
                return rc;
        }
        off += 512 + ((size + 511) / 512) * 512;
    }
    return finish(im, file, used, err);
}

/* ------------------------------------------------------- directory */

#define SYSFS_MAX_DEPTH 12

static int walk(bs_import *im, const char *path, int depth, int *used,
                bs_error *err)
{
    if (depth > SYSFS_MAX_DEPTH)
        return BS_OK;
    DIR *dir = opendir(path);
    if (!dir) {
        bs_seterr(err, BS_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return BS_EIO;
    }
    int rc = BS_OK;
    struct dirent *de;
    while (rc == BS_OK && (de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096];
        int l = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        if (l < 0 || (size_t)l >= sizeof sub)
            continue;
        struct stat sb;
        /* Never follow links: a live /sys is full of loops. */
        if (lstat(sub, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            rc = walk(im, sub, depth + 1, used, err);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_size > SYSFS_MAX_ATTR)
            continue;
        FILE *f = fopen(sub, "rb");
        if (!f)
            continue;
        char buf[SYSFS_MAX_ATTR + 1];
        size_t n = fread(buf, 1, SYSFS_MAX_ATTR, f);
        fclose(f);
        rc = path_file(im, sub, buf, n, sub, err, used);
    }
    closedir(dir);
    return rc;
}

int imp_parse_sysfs_dir(bs_import *im, const char *path, bs_error *err)
{
    int used = 0;
    int rc = walk(im, path, 0, &used, err);
    if (rc == BS_ENOMEM)
        bs_seterr(err, rc, path, 0, 0, "out of memory");
    if (rc)
        return rc;
    return finish(im, path, used, err);
}
