/* barspace generate: a seeded random q35 machine for the real peer. */
#include "cli.h"
#include "barspace/qemu.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace generate --seed N [--devices N] [--firmware F]\n"
    "                         [--max-bar SIZE] [-o FILE] [--json]\n"
    "\n"
    "Print a random q35 machine as a topology: root ports, switches up to\n"
    "three deep, PCIe-to-PCI bridges, multi-function slots, devices of every\n"
    "model qemu-args exports (sizes up to --max-bar), ROMs, CMBs, SR-IOV,\n"
    "hot-plug on and off, firmware reserves, a RAM size, a 64-bit window from\n"
    "too small to roomy, kernel options and a firmware (in a '# peer:' line\n"
    "that peer/run reads).  The same options print the same bytes; every\n"
    "topology printed is one qemu-args accepts.\n"
    "\n"
    "  --seed N        the seed (required)\n"
    "  --devices N     at most N endpoints besides the q35 built-ins (default 8)\n"
    "  --firmware F    seabios, ovmf, none or any (default any: drawn)\n"
    "  --max-bar SIZE  largest BAR drawn, a power of two (default 128G)\n"
    "  -o FILE         write to FILE instead of stdout\n"
    "  --json          {\"schema\", \"seed\", \"topology\": TEXT} instead\n"
    "\n"
    "exit: 0 printed, 2 bad options\n"
    "\n"
    "examples:\n"
    "  barspace generate --seed 7 > t.topo && peer/run t.topo\n"
    "  barspace generate --seed 7 --firmware none --max-bar 1G\n";

struct generate_args {
    uint64_t seed, devices, max_bar;
    int firmware, json;
    const char *out;
};

#define O(f) offsetof(struct generate_args, f)
static const cli_opt opts[] = {
    {"--seed", CLI_NUM, O(seed), 0, NULL, 0, 0, "N"},
    {"--devices", CLI_NUM, O(devices), 0, NULL, 1, 64, "N"},
    {"--firmware", CLI_CHOICE, O(firmware), 0, "any|none|seabios|ovmf", 0, 0,
     "F"},
    {"--max-bar", CLI_SIZE, O(max_bar), 0, NULL, 0, 0, "SIZE"},
    {"-o", CLI_STR, O(out), 0, NULL, 0, 0, "FILE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"generate", usage_text, opts, 0, 0, NULL};

int cmd_generate(int argc, char **argv)
{
    static const int fws[] = {BS_GEN_FW_ANY, BS_GEN_FW_NONE, BS_GEN_FW_SEABIOS,
                              BS_GEN_FW_OVMF};
    bs_gen_opts o;
    bs_gen_opts_init(&o);
    struct generate_args a = {UINT64_MAX, 0, 0, 0, 0, NULL};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (a.seed == UINT64_MAX)
        return cli_usage_error("generate", "missing --seed N");
    o.seed = a.seed;
    if (a.devices)
        o.max_devices = (int)a.devices;
    o.firmware = fws[a.firmware];
    if (a.max_bar) {
        if (a.max_bar < 4096 || (a.max_bar & (a.max_bar - 1)))
            return cli_usage_error("generate", "--max-bar needs a power of two "
                                   "of at least 4K");
        o.max_bar = a.max_bar;
    }
    FILE *f = cli_open_out(a.out ? a.out : "-");
    if (!f)
        return EXIT_BADINPUT;
    bs_error e = {0};
    size_t need = 0;
    int rc = bs_qemu_generate(&o, NULL, 0, &need, &e);
    char *buf = rc == BS_OK ? malloc(need + 1) : NULL;
    if (rc == BS_OK && !buf)
        rc = BS_ENOMEM;
    if (rc == BS_OK)
        rc = bs_qemu_generate(&o, buf, need + 1, &need, &e);
    if (rc != BS_OK) {
        free(buf);
        cli_close_out(f, a.out ? a.out : "-");
        return cli_lib_error(rc, &e);
    }
    if (a.json) {
        fprintf(f, "{\"schema\": \"barspace.generate/1\", \"seed\": %llu, "
                   "\"topology\": ", (unsigned long long)o.seed);
        cli_json_str(f, buf);
        fputs("}\n", f);
    } else {
        cli_put(f, buf, need);
    }
    free(buf);
    return cli_close_out(f, a.out ? a.out : "-");
}
