/* barspace format: parse a topology file and print its canonical form. */
#include "cli.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace format FILE [--check] [-o OUT.topo] [--json]\n"
    "\n"
    "Parse FILE (docs/topology-format.md) and print it in canonical form:\n"
    "4-space indentation, attributes in a fixed order, sizes with K/M/G/T\n"
    "suffixes, addresses in hex, comments dropped.  The canonical form\n"
    "parses back to the same topology.  Assigned addresses are not part of\n"
    "the format; firmware-fixed ones (fixed=) are.\n"
    "\n"
    "  --check   print nothing; exit 1 if FILE is not already canonical\n"
    "  -o OUT    write the canonical form to OUT instead of standard output\n"
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

struct format_args {
    int json, check;
    const char *out;
};

#define O(f) offsetof(struct format_args, f)
static const cli_opt opts[] = {
    {"--check", CLI_FLAG, O(check), 0, NULL, 0, 0, NULL},
    {"-o", CLI_STR, O(out), 0, NULL, 0, 0, "FILE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"format", usage_text, opts, 1, 1, "FILE"};

/* FILE's bytes and their canonical form; false after the message. */
static bool canonical_text(const char *file, char **orig, size_t *olen,
                           char **text, size_t *tlen)
{
    *text = NULL;
    if (!(*orig = cli_read_input(file, BS_MAX_TOPO_FILE, olen)))
        return false;
    bs_topo *t = NULL;
    bs_error e = {0};
    if (bs_topo_parse(*orig, *olen, cli_input_name(file), &t, &e)) {
        cli_print_error(&e);
        return false;
    }
    *tlen = bs_topo_format(t, NULL, 0);
    if ((*text = malloc(*tlen + 1)))
        bs_topo_format(t, *text, *tlen + 1);
    else
        fprintf(stderr, "barspace: out of memory\n");
    bs_topo_free(t);
    return *text != NULL;
}

int cmd_format(int argc, char **argv)
{
    struct format_args a = {0};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    if (a.check && a.out)
        return cli_usage_error("format", "--check and -o cannot be used "
                               "together");
    const char *file = argv[0];
    FILE *out = NULL;
    if (a.out && !(out = cli_open_out(a.out)))
        return EXIT_BADINPUT;
    char *orig = NULL, *text = NULL;
    size_t olen = 0, need = 0;
    int rc = EXIT_BADINPUT;
    if (canonical_text(file, &orig, &olen, &text, &need)) {
        bool canonical = olen == need && !memcmp(orig, text, need);
        rc = a.check && !canonical ? EXIT_FAILED : EXIT_OK;
        if (a.json) {
            printf("{\"schema\":\"barspace.format/1\",\"file\":");
            cli_json_str(stdout, file);
            printf(",\"canonical\":%s,\"text\":", canonical ? "true" : "false");
            cli_json_str(stdout, text);
            printf("}\n");
        } else if (a.check && !canonical) {
            fprintf(stderr, "barspace: %s: not in canonical form\n",
                    cli_input_name(file));
        }
        if (!a.json && !a.check)
            cli_put(out ? out : stdout, text, need);
    }
    if (out && cli_close_out(out, a.out))
        rc = EXIT_BADINPUT;
    free(orig);
    free(text);
    return rc;
}
