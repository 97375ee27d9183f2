/* barspace check: verify an assigned topology against every invariant. */
#include "cli.h"

#include <stddef.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace check FILE [--before EARLIER.topo] [--json]\n"
    "\n"
    "Check the addresses recorded in FILE (`at=` attributes, as written by\n"
    "`barspace assign -o` or `barspace import`) against every invariant:\n"
    "each BAR inside a window of the right kind and inside its bridge's\n"
    "window, naturally aligned; bridge windows on their granule and disjoint\n"
    "from their siblings; no two BARs overlapping; fixed BARs at their\n"
    "firmware address; with --before, pinned devices unmoved.\n"
    "\n"
    "exit: 0 valid, 1 violations found, 2 bad input (also: FILE has no\n"
    "      addresses, or EARLIER is another machine)\n"
    "\n"
    "examples:\n"
    "  barspace assign examples/switch-nested.topo -o /tmp/a.topo\n"
    "  barspace check /tmp/a.topo\n";

static const char *code_name(int c)
{
    switch (c) {
    case BS_V_OUTSIDE: return "outside";
    case BS_V_ALIGN: return "align";
    case BS_V_OVERLAP: return "overlap";
    case BS_V_SIBLING: return "sibling";
    case BS_V_FIXED_MOVED: return "fixed-moved";
    case BS_V_PINNED_MOVED: return "pinned-moved";
    case BS_V_KIND: return "kind";
    case BS_V_GRANULE: return "granule";
    }
    return "unknown";
}

struct check_args {
    const char *before;
    int json;
};

#define O(f) offsetof(struct check_args, f)
static const cli_opt opts[] = {
    {"--before", CLI_STR, O(before), 0, NULL, 0, 0, "FILE"},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"check", usage_text, opts, 1, 1, "FILE"};

int cmd_check(int argc, char **argv)
{
    struct check_args a = {0};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    const char *file = argv[0], *before_file = a.before;
    bool json = a.json;
    bs_topo *t = cli_load_topo(file), *b = NULL;
    if (!t)
        return EXIT_BADINPUT;
    if (before_file && !(b = cli_load_topo(before_file))) {
        bs_topo_free(t);
        return EXIT_BADINPUT;
    }
    int total, none = !bs_topo_assigned_count(t, &total) && total;
    bs_error e = {0};
    if (none || (b && bs_topo_same_machine(t, b, BS_SAME_DEVICES, &e))) {
        if (none)
            fprintf(stderr, "barspace: %s: nothing assigned (%d resources "
                    "without an address): nothing to check\n", file, total);
        else
            fprintf(stderr, "barspace: %s: --before %s: %s\n", file,
                    before_file, e.msg);
        bs_topo_free(t);
        bs_topo_free(b);
        return EXIT_BADINPUT;
    }
    enum { CAP = 256 };
    static bs_violation v[CAP];
    int n = bs_check(t, b, v, CAP);
    if (json) {
        printf("{\"schema\":\"barspace.check/1\",\"valid\":%s,\"count\":%d,"
               "\"violations\":[", n ? "false" : "true", n);
        for (int i = 0; i < n && i < CAP; i++) {
            printf("%s{\"code\":\"%s\",\"message\":", i ? "," : "",
                   code_name(v[i].code));
            cli_json_str(stdout, v[i].msg);
            printf("}");
        }
        printf("]}\n");
    } else {
        for (int i = 0; i < n && i < CAP; i++)
            printf("%s: %s: %s\n", file, code_name(v[i].code), v[i].msg);
        if (n > CAP)
            printf("%s: ... and %d more\n", file, n - CAP);
        printf("%s: %s (%d violation%s)\n", file, n ? "INVALID" : "valid", n,
               n == 1 ? "" : "s");
    }
    bs_topo_free(t);
    bs_topo_free(b);
    return n ? EXIT_FAILED : EXIT_OK;
}
