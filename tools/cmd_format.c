/* barspace format: parse a topology file and print its canonical form. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace format FILE [--check] [--json]\n"
    "\n"
    "Parse FILE (docs/topology-format.md) and print it in canonical form:\n"
    "4-space indentation, attributes in a fixed order, sizes with K/M/G/T\n"
    "suffixes, addresses in hex, comments dropped.  The canonical form\n"
    "parses back to the same topology.  Assigned addresses are not part of\n"
    "the format; firmware-fixed ones (fixed=) are.\n"
    "\n"
    "  --check   print nothing; exit 1 if FILE is not already canonical\n"
    "  --json    {\"schema\":\"barspace.format/1\",\"canonical\":...,\"text\":...}\n"
    "\n"
    "exit: 0 ok, 1 not canonical (--check), 2 bad input or usage\n"
    "\n"
    "example:\n"
    "  $ cat gpu.topo\n"
    "  window mem 0xc0000000-0xfebfffff   # below 4 GiB\n"
    "  window mem 0x10000000000+1T        # above 4 GiB\n"
    "  bridge rp0 hotplug mem=2M {\n"
    "    device gpu0 { # a GPU behind a hot-plug root port\n"
    "        bar 0 mem32 0x1000000\n"
    "        bar 1 mem64 128GiB pref\n"
    "      }\n"
    "  }\n"
    "  $ barspace format gpu.topo\n"
    "  window mem 0xc0000000-0xfebfffff\n"
    "  window mem 0x10000000000-0x1ffffffffff\n"
    "\n"
    "  bridge rp0 hotplug mem=2M {\n"
    "      device gpu0 {\n"
    "          bar 0 mem32 16M\n"
    "          bar 1 mem64 128G pref\n"
    "      }\n"
    "  }\n"
    "  $ barspace format --check my.topo || echo 'not canonical'\n";

/* The file as bytes, for --check's comparison. */
int cmd_format(int argc, char **argv)
{
    const char *file = NULL;
    bool json = false, check = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--check")) {
            check = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("format", "unknown option '%s'", argv[i]);
        } else if (file) {
            return cli_usage_error("format", "only one FILE expected");
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return cli_usage_error("format", "missing FILE");
    bs_topo *t = cli_load_topo(file);
    if (!t)
        return EXIT_BADINPUT;
    size_t need = bs_topo_format(t, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) {
        bs_topo_free(t);
        fprintf(stderr, "barspace: out of memory\n");
        return EXIT_FAILED;
    }
    bs_topo_format(t, text, need + 1);
    bs_topo_free(t);

    int rc = EXIT_OK;
    bool canonical = true;
    if (check || json) {
        size_t len = 0;
        char *orig = cli_read_file(file, &len);
        canonical = orig && len == need && !memcmp(orig, text, need);
        free(orig);
    }
    if (json) {
        printf("{\"schema\":\"barspace.format/1\",\"file\":");
        cli_json_str(stdout, file);
        printf(",\"canonical\":%s,\"text\":", canonical ? "true" : "false");
        cli_json_str(stdout, text);
        printf("}\n");
    } else if (!check) {
        fputs(text, stdout);
    } else if (!canonical) {
        fprintf(stderr, "barspace: %s: not in canonical form\n", file);
    }
    if (check && !canonical)
        rc = EXIT_FAILED;
    free(text);
    return rc;
}
