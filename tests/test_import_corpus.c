/*
 * The import corpus: real Linux 6.1 output from the QEMU peer
 * (tests/data/import/peer: dmesg, /proc/iomem, sysfs of each boot), the
 * hand-made edge cases beside it, and, when the project's shared directory
 * sits beside the clone, the public real-machine logs of ../shared/realdata.
 * Every input must import; wherever the kernel reported no failure the
 * reconstructed assignment must pass the checker.  The round trip (import,
 * forget what the kernel assigned, run the linux policy) is measured
 * against the kernel's own assignment and printed.
 */
#include "barspace/diagnose.h"
#include "barspace/import.h"
#include "test.h"
#include "testlib.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/data/import/"
#define PEER DATA "peer/"
#define REALDATA "../shared/realdata"

static int files_ok, files_total;

static bs_topo *import(const char *const *paths, int n, bool must)
{
    bs_topo *t = NULL;
    bs_error e = {0};
    files_total++;
    int rc = bs_import_paths(paths, n, &t, &e);
    if (rc == BS_OK)
        files_ok++;
    else if (must)
        fprintf(stderr, "import %s: %s:%d: %s\n", paths[0], e.file, e.line,
                e.msg);
    if (must)
        CHECK_EQ(rc, BS_OK);
    return t;
}

static void check_clean(const bs_topo *t, const char *what)
{
    if (!t || bs_topo_failure_count(t) || !bs_topo_window_count(t))
        return;
    bs_violation v[4];
    int n = bs_check(t, NULL, v, 4);
    for (int i = 0; i < n && i < 4; i++)
        fprintf(stderr, "%s: %s\n", what, v[i].msg);
    CHECK_EQ(n, 0);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void read_env(const char *path, bs_assign_opts *o)
{
    bs_assign_opts_init(o, BS_POLICY_LINUX);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "append=", 7))
            continue;
        if (strstr(line, "realloc") && !strstr(line, "realloc=off"))
            o->realloc = 1;
        const char *p;
        unsigned long long v;
        char unit;
        if ((p = strstr(line, "hpmmiosize=")) &&
            sscanf(p + 11, "%llu%c", &v, &unit) >= 1)
            o->hp_mmio = v << (unit == 'M' ? 20 : unit == 'G' ? 30 : unit == 'K' ? 10 : 0);
        if ((p = strstr(line, "hpmmioprefsize=")) &&
            sscanf(p + 15, "%llu%c", &v, &unit) >= 1)
            o->hp_mmio_pref = v << (unit == 'M' ? 20 : unit == 'G' ? 30 : unit == 'K' ? 10 : 0);
    }
    fclose(f);
}

/* Round trip: same resource, same address, as many as agree. */
static void round_trip(const bs_topo *seen, const char *env, int *agree,
                       int *total, int *boots_exact)
{
    bs_topo *t = bs_topo_clone(seen);
    if (!t)
        return;
    bs_assign_opts o;
    read_env(env, &o);
    bs_topo_unassign(t); /* keeps what firmware fixed */
    bs_assign(t, &o, NULL);
    int a = 0, n = 0;
    for (int i = 1; i < bs_topo_node_count(seen); i++)
        for (int s = 0; s < BS_NSLOTS; s++) {
            bs_res_info x, y;
            if (bs_topo_res_info(seen, i, s, &x) || !x.size ||
                (x.flags & BS_RF_UPPER))
                continue;
            if (!(x.flags & (BS_RF_ASSIGNED | BS_RF_FAILED)))
                continue;
            n++;
            if (bs_topo_res_info(t, i, s, &y))
                continue;
            if (x.flags & BS_RF_FAILED)
                a += !(y.flags & BS_RF_ASSIGNED);
            else
                a += (y.flags & BS_RF_ASSIGNED) && y.addr == x.addr &&
                     y.size == x.size;
        }
    *agree += a;
    *total += n;
    *boots_exact += a == n;
    bs_topo_free(t);
}

static void peer_corpus(void)
{
    DIR *d = opendir(PEER);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *de;
    int boots = 0, agree = 0, total = 0, exact = 0, clean = 0;
    /* Per firmware: qboot ("none": Linux assigns all), SeaBIOS, OVMF. */
    static const char *const fw[3] = {"none-", "sb-", "ovmf-"};
    int fa[3] = {0}, ft[3] = {0}, fe[3] = {0}, fb[3] = {0};
    while ((de = readdir(d))) {
        if (!ends_with(de->d_name, ".dmesg"))
            continue;
        char base[256], dm[512], io[512], tar[512], env[512];
        snprintf(base, sizeof base, "%.*s", (int)strlen(de->d_name) - 6,
                 de->d_name);
        snprintf(dm, sizeof dm, PEER "%s.dmesg", base);
        snprintf(io, sizeof io, PEER "%s.iomem", base);
        snprintf(tar, sizeof tar, PEER "%s.sysfs.tar", base);
        snprintf(env, sizeof env, PEER "%s.env", base);
        boots++;
        const char *one[1] = {dm};
        bs_topo *t = import(one, 1, true);
        check_clean(t, dm);
        if (t && !bs_topo_failure_count(t))
            clean++;
        if (t) {
            int a0 = agree, t0 = total, e0 = exact;
            round_trip(t, env, &agree, &total, &exact);
            for (int g = 0; g < 3; g++)
                if (!strncmp(base, fw[g], strlen(fw[g]))) {
                    fa[g] += agree - a0;
                    ft[g] += total - t0;
                    fe[g] += exact - e0;
                    fb[g]++;
                }
        }
        one[0] = io;
        bs_topo *ti = import(one, 1, true);
        check_clean(ti, io);
        bs_topo_free(ti);
        FILE *f = fopen(tar, "rb");
        const char *all[3] = {dm, io, tar};
        int nall = 2;
        if (f) {
            fclose(f);
            one[0] = tar;
            bs_topo *ts = import(one, 1, true);
            bs_topo_free(ts);
            nall = 3;
        }
        bs_topo *tm = import(all, nall, true);
        if (t && tm)
            CHECK_EQ(bs_topo_failure_count(tm), bs_topo_failure_count(t));
        check_clean(tm, dm);
        bs_topo_free(tm);
        bs_topo_free(t);
    }
    closedir(d);
    CHECK(boots > 0);
    CHECK(total > 0);
    printf("peer corpus: %d boots (%d without kernel failures); round trip "
           "import -> assign --policy linux: %d/%d resources (%.1f%%) agree "
           "with the kernel, %d/%d boots exactly\n",
           boots, clean, agree, total, total ? 100.0 * agree / total : 0.0,
           exact, boots);
    for (int g = 0; g < 3; g++)
        if (fb[g])
            printf("  firmware %-5s %d/%d resources, %d/%d boots exactly\n",
                   fw[g], fa[g], ft[g], fe[g], fb[g]);
}

static void edge_cases(void)
{
    DIR *d = opendir(DATA);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!ends_with(de->d_name, ".log") && !ends_with(de->d_name, ".txt"))
            continue;
        char p[512];
        snprintf(p, sizeof p, DATA "%s", de->d_name);
        /* Inputs made to be refused are refused. */
        bool bad = !strncmp(de->d_name, "no-", 3) ||
                   !strncmp(de->d_name, "bad-", 4);
        const char *one[1] = {p};
        bs_topo *t = import(one, 1, !bad);
        if (bad) {
            CHECK(t == NULL);
            files_total--;
        }
        check_clean(t, p);
        bs_topo_free(t);
    }
    closedir(d);
}

/* Does the log hold one of the kernel's failure lines? */
static bool log_reports_failure(const char *path)
{
    static const char *const pat[] = {"no space for", "can't assign",
                                      "failed to assign"};
    FILE *f = fopen(path, "r");
    char line[4096];
    bool hit = false;
    while (f && !hit && fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof pat / sizeof *pat; i++)
            hit |= strstr(line, pat[i]) != NULL;
    if (f)
        fclose(f);
    return hit;
}

static void realdata(void)
{
    char **files;
    int n = test_list_files(REALDATA, &files);
    if (!n) {
        printf("note: %s not found (the shared directory is not beside this "
               "clone); real-machine logs skipped\n", REALDATA);
        return;
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        const char *one[1] = {files[i]};
        int before = files_ok;
        bs_topo *t = import(one, 1, true);
        ok += files_ok > before;
        /* A log that reports failures keeps them; one that reports
         * none rebuilds a machine without any. */
        if (t)
            CHECK_EQ(bs_topo_failure_count(t) > 0, log_reports_failure(files[i]));
        check_clean(t, files[i]);
        bs_topo_free(t);
    }
    test_files_free(files, n);
    printf("realdata: %d/%d logs imported\n", ok, n);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}

/* Hostile input: cut and corrupted copies of real inputs import or are
 * refused with a position, never crash (the suite also runs under ASan). */
static void mutations(void)
{
    static const char *const files[] = {
        PEER "none-io-pressure.dmesg", PEER "none-base.iomem",
        PEER "none-base.sysfs.tar", DATA "lspci-vvvnn.txt",
        DATA "lspci-xxx.txt", DATA "k5-mail-wrapped.log"};
    uint64_t x = 0x9e3779b97f4a7c15u;
    int refused = 0, taken = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        char *orig = slurp(files[i], &len);
        CHECK(orig != NULL);
        if (!orig || !len)
            continue;
        char *b = malloc(len);
        for (int round = 0; b && round < 60; round++) {
            memcpy(b, orig, len);
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t n = round % 3 == 0 ? (size_t)(x % len) : len;
            for (int k = 0; k < 1 + round % 7; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                b[x % len] = (char)(x >> 40);
            }
            for (int fmt = BS_IMPORT_AUTO; fmt <= BS_IMPORT_IOMEM; fmt++) {
                bs_import *im = bs_import_new();
                bs_error e = {0};
                int rc = bs_import_add(im, b, n, "mutant", fmt, &e);
                bs_topo *t = NULL;
                if (rc == BS_OK)
                    rc = bs_import_build(im, &t, &e);
                if (rc == BS_OK) {
                    taken++;
                    bs_violation v[2];
                    bs_check(t, NULL, v, 2);
                    if (round % 10 == 0 && fmt == BS_IMPORT_AUTO) {
                        bs_diag *d = NULL;
                        CHECK_EQ(bs_diagnose(t, BS_DIAG_AUTO, &d, &e), BS_OK);
                        bs_diag_free(d);
                    }
                } else {
                    refused++;
                    CHECK(e.msg[0] != 0);
                }
                bs_topo_free(t);
                bs_import_free(im);
            }
        }
        free(b);
        free(orig);
    }
    CHECK(refused > 0 && taken > 0);
}

int main(void)
{
    mutations();
    peer_corpus();
    edge_cases();
    realdata();
    printf("corpus: %d/%d inputs imported\n", files_ok, files_total);
    TEST_DONE("test_import_corpus");
}
