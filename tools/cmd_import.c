/* barspace import: rebuild a topology from a real machine's logs and dumps. */
#include "cli.h"
#include "cli_import.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: barspace import FILE... [-o OUT.topo] [--format F] [--machine-only]\n"
    "                       [--json]\n"
    "\n"
    "Rebuild the PCI hierarchy of a real machine or VM from what can be\n"
    "copied off it, and write it in the topology format (stdout without -o).\n"
    "Several inputs of one machine are merged by PCI address.  FILE is '-'\n"
    "for standard input.\n"
    "\n"
    "inputs (the format is sniffed; --format forces it for every FILE):\n"
    "  dmesg    kernel log: dmesg, dmesg -T, journalctl -k, syslog, <6>\n"
    "           prefixes, pasted mail (quoted-printable, '> '), wrapped lines\n"
    "  lspci    lspci -vvv / -vvvnn / -D text, -xxx / -xxxx hex dumps\n"
    "  sysfs    a copy of /sys/bus/pci/devices (a directory, or a tar of it)\n"
    "  iomem    /proc/iomem (read as root)\n"
    "\n"
    "Addresses the firmware set and the kernel kept are written as fixed=,\n"
    "the machine's final addresses as at= and win-*= (so `barspace check`\n"
    "checks the real assignment); notes say what the inputs lack (e.g. no\n"
    "host bridge windows).\n"
    "\n"
    "  -o OUT.topo     write the topology there\n"
    "  --machine-only  leave out the final addresses (fixed= only)\n"
    "  --json        summary as JSON (schema barspace.import/1)\n"
    "\n"
    "exit: 0 imported, 2 bad input (file:line: reason)\n"
    "\n"
    "examples:\n"
    "  dmesg | barspace import - -o machine.topo\n"
    "  barspace import boot.log /proc/iomem -o machine.topo\n"
    "  tar chf pci.tar /sys/bus/pci/devices/*/resource && "
    "barspace import pci.tar\n";

int cli_import_format(const char *s)
{
    static const char *const names[] = {"auto", "dmesg", "lspci", "sysfs",
                                        "iomem"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

int cli_import(int argc, char **argv, const char *cmd, int format,
               bs_import **imp, bs_topo **out)
{
    bs_import *im = bs_import_new();
    if (!im) {
        fprintf(stderr, "barspace %s: out of memory\n", cmd);
        return EXIT_FAILED;
    }
    bs_error e = {0};
    for (int i = 0; i < argc; i++) {
        int rc;
        if (!strcmp(argv[i], "-")) {
            size_t n;
            char *buf = cli_read_stream(stdin, (size_t)256 << 20, &n);
            if (!buf) {
                fprintf(stderr, "barspace %s: cannot read standard input\n", cmd);
                bs_import_free(im);
                return EXIT_BADINPUT;
            }
            rc = bs_import_add(im, buf, n, "<stdin>", format, &e);
            free(buf);
        } else {
            rc = bs_import_add_path(im, argv[i], format, &e);
        }
        if (rc) {
            cli_print_error(&e);
            bs_import_free(im);
            return EXIT_BADINPUT;
        }
    }
    if (bs_import_build(im, out, &e)) {
        cli_print_error(&e);
        bs_import_free(im);
        return EXIT_BADINPUT;
    }
    *imp = im;
    return EXIT_OK;
}

struct import_args {
    const char *out, *format;
    int json, machine_only;
};

#define O(f) offsetof(struct import_args, f)
static const cli_opt opts[] = {
    {"-o", CLI_STR, O(out), 0, NULL, 0, 0, "FILE"},
    {"--format", CLI_STR, O(format), 0, NULL, 0, 0, "F"},
    {"--machine-only", CLI_FLAG, O(machine_only), 0, NULL, 0, 0, NULL},
    {"--json", CLI_FLAG, O(json), 0, NULL, 0, 0, NULL},
    {NULL, 0, 0, 0, NULL, 0, 0, NULL},
};
#undef O

static const cli_cmd cmd = {"import", usage_text, opts, 1, -1, "FILE"};

int cli_import_format_opt(const char *cmd_name, const char *v, int *format)
{
    if (!v)
        return EXIT_OK;
    if ((*format = cli_import_format(v)) >= 0)
        return EXIT_OK;
    return cli_usage_error(cmd_name, "--format: expected auto|dmesg|lspci|"
                           "sysfs|iomem, got '%s'", v);
}

int cmd_import(int argc, char **argv)
{
    struct import_args a = {0};
    int nf, prc = cli_parse(&cmd, argc, argv, &a, &nf);
    if (prc != CLI_RUN)
        return cli_parse_exit(prc);
    int format = BS_IMPORT_AUTO;
    if (cli_import_format_opt("import", a.format, &format))
        return EXIT_BADINPUT;
    const char *out = a.out;
    bool json = a.json, machine_only = a.machine_only;
    FILE *of = NULL;
    if (out && !(of = cli_open_out(out)))
        return EXIT_BADINPUT;
    bs_import *im = NULL;
    bs_topo *t = NULL;
    int rc = cli_import(nf, argv, "import", format, &im, &t);
    if (rc) {
        if (of && of != stdout)
            fclose(of);
        return rc;
    }
    size_t (*fmt)(const bs_topo *, char *, size_t) =
        machine_only ? bs_topo_format : bs_topo_format_assigned;
    size_t need = fmt(t, NULL, 0);
    char *text = malloc(need + 1);
    if (!text) {
        if (of && of != stdout)
            fclose(of);
        bs_topo_free(t);
        bs_import_free(im);
        return EXIT_FAILED;
    }
    fmt(t, text, need + 1);
    rc = EXIT_OK;
    if (of) {
        cli_put(of, text, need);
        rc = cli_close_out(of, out);
    }
    if (rc) {
        free(text);
        bs_topo_free(t);
        bs_import_free(im);
        return rc;
    }
    bs_import_stats st;
    bs_import_get_stats(im, &st);
    if (json) {
        printf("{\"schema\":\"barspace.import/1\",\"files\":%d,\"lines\":%d,"
               "\"pci_lines\":%d,\"devices\":%d,\"bridges\":%d,"
               "\"root_windows\":%d,\"kernel_failures\":%d,"
               "\"kernel_assigned\":%d,\"output\":",
               st.files, st.lines, st.pci_lines, st.devices, st.bridges,
               st.root_windows, st.kernel_failures, st.kernel_assigned);
        if (out)
            cli_json_str(stdout, out);
        else
            printf("null");
        printf(",\"notes\":[");
        for (int i = 0; i < bs_import_note_count(im); i++) {
            if (i)
                putchar(',');
            cli_json_str(stdout, bs_import_note(im, i));
        }
        printf("],\"failures\":[");
        for (int i = 0; i < bs_topo_failure_count(t); i++) {
            bs_failure f;
            bs_node_info ni;
            bs_topo_failure(t, i, &f);
            bs_topo_node_info(t, f.node, &ni);
            printf("%s{\"node\":", i ? "," : "");
            cli_json_str(stdout, ni.name);
            printf(",\"slot\":");
            cli_json_str(stdout, bs_slot_name(f.slot));
            printf(",\"size\":%llu,\"reason\":", (unsigned long long)f.size);
            cli_json_str(stdout, f.reason);
            putchar('}');
        }
        printf("]}\n");
    } else {
        if (!out)
            fputs(text, stdout);
        FILE *msg = out ? stdout : stderr;
        fprintf(msg, "imported %d function(s), %d bridge(s), %d root window(s), "
                "%d kernel failure(s) from %d input(s)%s%s\n",
                st.devices, st.bridges, st.root_windows, st.kernel_failures,
                st.files, out ? " -> " : "", out ? out : "");
        for (int i = 0; i < bs_import_note_count(im); i++)
            fprintf(msg, "note: %s\n", bs_import_note(im, i));
    }
    free(text);
    bs_topo_free(t);
    bs_import_free(im);
    return rc;
}
