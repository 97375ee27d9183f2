/*
 * Replays every input of the fuzz corpora (fuzz/corpus/<target>/: seeds and
 * the reproducers of every finding, named regress-*) through the same
 * harnesses libFuzzer runs (fuzz/fuzz_*.c), in both passes of make check,
 * so that a fixed finding stays fixed without clang or libFuzzer.
 *
 * fuzz/known/<target>/ holds reproducers of findings in code this suite
 * does not own and that are not fixed yet: they are replayed and reported
 * (still open / now fixed: move it to fuzz/corpus/), without failing.
 */
#define FUZZ_REPLAY 1
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

int fuzz_replay_failures;

#define H(name) int fuzz_##name##_one(const uint8_t *data, size_t size);
H(topo) H(dmesg) H(lspci) H(sysfs) H(iomem) H(qtrace) H(guest) H(events)
H(cfg) H(snapshot)
#undef H

#define LLVMFuzzerTestOneInput fuzz_topo_one
#include "../fuzz/fuzz_topo.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_dmesg_one
#include "../fuzz/fuzz_dmesg.c"
#undef LLVMFuzzerTestOneInput
#undef FUZZ_FORMAT
#define LLVMFuzzerTestOneInput fuzz_lspci_one
#include "../fuzz/fuzz_lspci.c"
#undef LLVMFuzzerTestOneInput
#undef FUZZ_FORMAT
#define LLVMFuzzerTestOneInput fuzz_sysfs_one
#include "../fuzz/fuzz_sysfs.c"
#undef LLVMFuzzerTestOneInput
#undef FUZZ_FORMAT
#define LLVMFuzzerTestOneInput fuzz_iomem_one
#include "../fuzz/fuzz_iomem.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_qtrace_one
#include "../fuzz/fuzz_qtrace.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_guest_one
#include "../fuzz/fuzz_guest.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_events_one
#include "../fuzz/fuzz_events.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cfg_one
#include "../fuzz/fuzz_cfg.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_snapshot_one
#include "../fuzz/fuzz_snapshot.c"
#undef LLVMFuzzerTestOneInput

#include "test.h"

static const struct {
    const char *name;
    int (*fn)(const uint8_t *, size_t);
} targets[] = {
    {"topo", fuzz_topo_one},     {"dmesg", fuzz_dmesg_one},
    {"lspci", fuzz_lspci_one},   {"sysfs", fuzz_sysfs_one},
    {"iomem", fuzz_iomem_one},   {"qtrace", fuzz_qtrace_one},
    {"guest", fuzz_guest_one},   {"events", fuzz_events_one},
    {"cfg", fuzz_cfg_one},       {"snapshot", fuzz_snapshot_one},
};

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

/* Replay every file of dir through harness fn; returns files, counts
 * violations into *bad (NULL: do not count). */
static int replay_dir(const char *dir, int (*fn)(const uint8_t *, size_t),
                      int *regress, bool known)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        unsigned char *b = slurp(path, &len);
        CHECK(b != NULL);
        if (!b)
            continue;
        int before = fuzz_replay_failures;
        fn(b, len);
        bool bad = fuzz_replay_failures != before;
        if (known) {
            printf("known finding %s: %s\n", path,
                   bad ? "still open" : "now fixed: move it to fuzz/corpus/");
            fuzz_replay_failures = before;
        } else {
            if (bad)
                fprintf(stderr, "FAIL %s: a fuzz contract is violated\n",
                        path);
            CHECK(!bad);
        }
        free(b);
        n++;
        if (regress)
            *regress += !strncmp(e->d_name, "regress-", 8);
    }
    closedir(d);
    return n;
}

int main(void)
{
    int files = 0, regress = 0;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "fuzz/corpus/%s", targets[i].name);
        int n = replay_dir(dir, targets[i].fn, &regress, false);
        if (n < 0)
            fprintf(stderr, "%s: cannot open (run from the source tree)\n",
                    dir);
        CHECK(n > 0);
        files += n > 0 ? n : 0;
        snprintf(dir, sizeof dir, "fuzz/known/%s", targets[i].name);
        replay_dir(dir, targets[i].fn, NULL, true);
    }
    printf("fuzz corpora: %d inputs replayed (%d reproducers of findings)\n",
           files, regress);
    TEST_DONE("test_fuzz_corpus");
}
