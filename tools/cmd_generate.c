/* barspace generate: a seeded random q35 machine for the real peer. */
#include "cli.h"
#include "barspace/qemu.h"

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

static int parse_fw(const char *s, int *fw)
{
    static const struct { const char *w; int v; } fws[] = {
        {"any", BS_GEN_FW_ANY}, {"none", BS_GEN_FW_NONE},
        {"seabios", BS_GEN_FW_SEABIOS}, {"ovmf", BS_GEN_FW_OVMF},
    };
    for (size_t i = 0; i < sizeof fws / sizeof fws[0]; i++)
        if (!strcmp(s, fws[i].w)) {
            *fw = fws[i].v;
            return 0;
        }
    return -1;
}

int cmd_generate(int argc, char **argv)
{
    bs_gen_opts o;
    bs_gen_opts_init(&o);
    const char *outfile = NULL;
    bool have_seed = false, json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (cli_is_help(a)) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        bool takes = !strcmp(a, "--seed") || !strcmp(a, "--devices") ||
                     !strcmp(a, "--firmware") || !strcmp(a, "--max-bar") ||
                     !strcmp(a, "-o");
        if (takes && !v)
            return cli_usage_error("generate", "%s needs a value", a);
        if (!strcmp(a, "--seed")) {
            if (!cli_parse_u64(v, &o.seed))
                return cli_usage_error("generate", "--seed needs a number, got '%s'", v);
            have_seed = true;
        } else if (!strcmp(a, "--devices")) {
            if (!cli_parse_u64(v, &n) || n < 1 || n > 64)
                return cli_usage_error("generate", "--devices needs 1..64, got '%s'", v);
            o.max_devices = (int)n;
        } else if (!strcmp(a, "--firmware")) {
            if (parse_fw(v, &o.firmware))
                return cli_usage_error("generate", "--firmware needs seabios, "
                                       "ovmf, none or any, got '%s'", v);
        } else if (!strcmp(a, "--max-bar")) {
            if (!cli_parse_u64(v, &o.max_bar) || o.max_bar < 4096 ||
                (o.max_bar & (o.max_bar - 1)))
                return cli_usage_error("generate", "--max-bar needs a power "
                                       "of two of at least 4K, got '%s'", v);
        } else if (!strcmp(a, "-o")) {
            outfile = v;
        } else {
            return cli_usage_error("generate", "unknown argument '%s'", a);
        }
        if (takes)
            i++;
    }
    if (!have_seed)
        return cli_usage_error("generate", "missing --seed N");
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
        return cli_lib_error(rc, &e);
    }
    FILE *f = outfile ? fopen(outfile, "w") : stdout;
    if (!f) {
        fprintf(stderr, "barspace: %s: cannot write\n", outfile);
        free(buf);
        return EXIT_BADINPUT;
    }
    bool short_write;
    if (json) {
        fprintf(f, "{\"schema\": \"barspace.generate/1\", \"seed\": %llu, "
                   "\"topology\": ", (unsigned long long)o.seed);
        cli_json_str(f, buf);
        fputs("}\n", f);
        short_write = ferror(f) != 0;
    } else {
        short_write = fwrite(buf, 1, need, f) != need;
    }
    int bad = short_write || (outfile ? fclose(f) : fflush(f));
    free(buf);
    if (bad) {
        fprintf(stderr, "barspace: %s: write error\n", outfile ? outfile : "stdout");
        return EXIT_BADINPUT;
    }
    return EXIT_OK;
}
