/* barspace qemu-args: the QEMU q35 machine for a topology (the real peer). */
#include "cli.h"
#include "barspace/qemu.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace qemu-args FILE [--json]\n"
    "\n"
    "Print the QEMU (q35) arguments that build the machine described by the\n"
    "topology in FILE, one argument per line, so a shell can read them into\n"
    "an argument list without quoting problems.  Only the machine and its\n"
    "devices are printed; firmware, kernel, tracing and console are added by\n"
    "peer/run.  Topologies QEMU cannot reproduce exactly (fixed addresses,\n"
    "SR-IOV, unknown device models, windows q35 does not have) are refused\n"
    "with the line at fault.  Device models: docs/peer.md.\n"
    "\n"
    "  --json   {\"args\": [...]} instead of one argument per line\n"
    "\n"
    "exit: 0 printed, 2 bad input or not expressible in QEMU\n"
    "\n"
    "examples:\n"
    "  barspace qemu-args peer/topologies/sb-base.topo\n"
    "  mapfile -t a < <(barspace qemu-args t.topo) && qemu-system-x86_64 \"${a[@]}\" ...\n";

struct qemu_args_args {
    int json;
};

static const cli_opt opts[] = {
    {"--json", CLI_FLAG, offsetof(struct qemu_args_args, json), 0, NULL, 0, 0,
     NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};

static const cli_cmd cmd = {"qemu-args", usage_text, opts, 1, 1, "FILE"};

int cmd_qemu_args(int argc, char **argv)
{
    struct qemu_args_args a = {0};
    int nops, prc = cli_parse(&cmd, argc, argv, &a, &nops);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    const char *file = argv[0];
    bool json = a.json;
    bs_topo *t = cli_load_topo(file);
    if (!t)
        return EXIT_BADINPUT;
    bs_error e = {0};
    size_t need = 0;
    int rc = bs_qemu_args(t, file, NULL, 0, &need, &e);
    char *buf = rc == BS_OK ? malloc(need + 1) : NULL;
    if (rc == BS_OK && !buf)
        rc = BS_ENOMEM;
    if (rc == BS_OK)
        rc = bs_qemu_args(t, file, buf, need + 1, &need, &e);
    bs_topo_free(t);
    if (rc != BS_OK) {
        free(buf);
        return cli_lib_error(rc, &e);
    }
    if (!json) {
        fputs(buf, stdout);
    } else {
        printf("{\"schema\": \"barspace.qemu-args/1\", \"args\": [");
        char *p = buf;
        int k = 0;
        while (*p) {
            char *nl = strchr(p, '\n');
            if (nl)
                *nl = 0;
            printf("%s", k++ ? ", " : "");
            cli_json_str(stdout, p);
            if (!nl)
                break;
            p = nl + 1;
        }
        printf("]}\n");
    }
    free(buf);
    return EXIT_OK;
}
