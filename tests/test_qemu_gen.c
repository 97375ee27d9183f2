/*
 * The peer's random topologies (bs_qemu_generate): 1000 seeds each give a
 * topology that parses, round-trips through the canonical writer and is
 * exported by qemu-args; the same seed gives the same bytes; the knobs
 * bound what is drawn; and the draws cover what the generator promises
 * (every firmware, switches, conventional bridges, SR-IOV, windows too
 * small for their BARs).
 */
#include "test.h"
#include "barspace/barspace.h"
#include "barspace/qemu.h"

#include <stdbool.h>
#include <stdlib.h>

#define SEEDS 1000

static char *gen(const bs_gen_opts *o, size_t *len)
{
    bs_error e = {0};
    size_t need = 0;
    if (bs_qemu_generate(o, NULL, 0, &need, &e) != BS_OK) {
        fprintf(stderr, "seed %llu: %s:%d: %s\n", (unsigned long long)o->seed,
                e.file, e.line, e.msg);
        return NULL;
    }
    char *buf = malloc(need + 1);
    if (!buf)
        return NULL;
    size_t need2 = 0;
    if (bs_qemu_generate(o, buf, need + 1, &need2, &e) != BS_OK ||
        need2 != need) {
        free(buf);
        return NULL;
    }
    *len = need;
    return buf;
}

/* Largest drawn size (--max-bar bounds these: ivshmem memory, CMBs,
 * display memory above the models' minimum of 4M) of a topology. */
static uint64_t largest_bar(const bs_topo *t)
{
    uint64_t m = 0;
    for (int n = 1; n < bs_topo_node_count(t); n++) {
        bs_node_info ni;
        bs_topo_node_info(t, n, &ni);
        bool sized = !strcmp(ni.model, "ivshmem") || !strcmp(ni.model, "nvme");
        bs_res_info r;
        if (sized && bs_topo_res_info(t, n, 2, &r) == BS_OK && r.size > m)
            m = r.size;
        if ((!strcmp(ni.model, "vga") || !strcmp(ni.model, "bochs-display")) &&
            bs_topo_res_info(t, n, 0, &r) == BS_OK && r.size > 4 << 20 &&
            r.size > m)
            m = r.size;
    }
    return m;
}

static void test_seeds(void)
{
    int fw[3] = {0, 0, 0}, parsed = 0, exported = 0, same = 0, distinct = 0;
    int sw = 0, conv = 0, sriov = 0, tight = 0, multi = 0, append = 0;
    uint64_t biggest = 0;
    char *prev = NULL;
    for (uint64_t s = 0; s < SEEDS; s++) {
        bs_gen_opts o;
        bs_gen_opts_init(&o);
        o.seed = s;
        size_t len = 0, len2 = 0;
        char *a = gen(&o, &len);
        char *b = gen(&o, &len2);
        if (!a || !b) {
            CHECK(a && b);
            free(a);
            free(b);
            continue;
        }
        same += len == len2 && !memcmp(a, b, len);
        distinct += !prev || strcmp(prev, a) != 0;
        fw[0] += strstr(a, "# peer: firmware=none") != NULL;
        fw[1] += strstr(a, "# peer: firmware=seabios") != NULL;
        fw[2] += strstr(a, "# peer: firmware=ovmf") != NULL;
        append += strstr(a, "append=\"pci=") != NULL;
        sw += strstr(a, "model=switch-upstream") != NULL;
        conv += strstr(a, "model=pcie-pci-bridge") != NULL;
        sriov += strstr(a, "vfbar 0") != NULL;
        multi += strstr(a, " fn=1") != NULL;
        tight += strstr(a, "tight64") != NULL;
        bs_topo *t = NULL;
        bs_error e = {0};
        if (bs_topo_parse(a, len, "gen.topo", &t, &e) == BS_OK) {
            parsed++;
            size_t need = 0;
            if (bs_qemu_args(t, "gen.topo", NULL, 0, &need, &e) == BS_OK)
                exported++;
            else
                fprintf(stderr, "seed %llu: %d: %s\n", (unsigned long long)s,
                        e.line, e.msg);
            /* canonical: format(parse(text)) is the text after its header */
            size_t flen = bs_topo_format(t, NULL, 0);
            char *f = malloc(flen + 1);
            if (f) {
                bs_topo_format(t, f, flen + 1);
                CHECK(flen <= len && !strcmp(a + len - flen, f));
                free(f);
            }
            uint64_t m = largest_bar(t);
            if (m > biggest)
                biggest = m;
            bs_topo_free(t);
        }
        free(prev);
        prev = a;
        free(b);
    }
    free(prev);
    CHECK_EQ(parsed, SEEDS);
    CHECK_EQ(exported, SEEDS);
    CHECK_EQ(same, SEEDS);
    CHECK(distinct > SEEDS * 99 / 100);
    /* what the generator promises shows up in a thousand draws */
    CHECK(fw[0] > SEEDS / 2);
    CHECK(fw[1] > 0 && fw[2] > 0);
    CHECK_EQ(fw[0] + fw[1] + fw[2], SEEDS);
    CHECK(sw > 0 && conv > 0 && sriov > 0 && multi > 0 && tight > 0);
    CHECK(append > 0 && append < SEEDS);
    CHECK_EQ(biggest, UINT64_C(128) << 30);
}

static void test_knobs(void)
{
    for (uint64_t s = 0; s < 100; s++) {
        bs_gen_opts o;
        bs_gen_opts_init(&o);
        o.seed = s;
        o.firmware = BS_GEN_FW_OVMF;
        o.max_devices = 2;
        o.max_bar = UINT64_C(1) << 24;
        size_t len = 0;
        char *a = gen(&o, &len);
        CHECK(a != NULL);
        if (!a)
            continue;
        CHECK(strstr(a, "# peer: firmware=ovmf") != NULL);
        bs_topo *t = NULL;
        bs_error e = {0};
        if (bs_topo_parse(a, len, "gen.topo", &t, &e) == BS_OK) {
            int devices = 0;
            for (int n = 1; n < bs_topo_node_count(t); n++) {
                bs_node_info ni;
                bs_topo_node_info(t, n, &ni);
                devices += ni.kind == BS_NODE_DEVICE;
            }
            /* q35-host, lpc, ahci, smbus; functions of one slot may add */
            CHECK(devices <= 4 + 2 + 2);
            CHECK(largest_bar(t) <= o.max_bar);
            CHECK(strstr(a, "qxl-vga") == NULL); /* its BARs are 64M */
            bs_topo_free(t);
        } else {
            CHECK(0);
        }
        free(a);
    }
    bs_gen_opts o;
    bs_gen_opts_init(&o);
    bs_error e = {0};
    size_t need;
    o.max_bar = 3 << 20;
    CHECK_EQ(bs_qemu_generate(&o, NULL, 0, &need, &e), BS_EINVAL);
    bs_gen_opts_init(&o);
    o.max_devices = 0;
    CHECK_EQ(bs_qemu_generate(&o, NULL, 0, &need, &e), BS_EINVAL);
    /* a short buffer gets a terminated prefix and the full length */
    bs_gen_opts_init(&o);
    o.seed = 5;
    char small[16];
    CHECK_EQ(bs_qemu_generate(&o, small, sizeof small, &need, &e), BS_OK);
    CHECK(need > sizeof small && strlen(small) == sizeof small - 1);
}

int main(void)
{
    test_seeds();
    test_knobs();
    TEST_DONE("test_qemu_gen");
}
