/* barspace: the command-line front end of libbarspace. */
#include "cli.h"

#include <string.h>

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
};

static const struct command commands[] = {
#define BS_CMD(name, help) {#name, cmd_##name, help},
#include "commands.h"
#undef BS_CMD
};

static void usage(FILE *f)
{
    fprintf(f, "usage: barspace COMMAND [ARGS...]\n\n"
               "PCI BAR address-space management: assignment, boot cost,\n"
               "churn and rebalancing, diagnosis of real machines.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    {
        char nm[32];
        snprintf(nm, sizeof nm, "%s", commands[i].name);
        for (char *c = nm; *c; c++)
            if (*c == '_')
                *c = '-';
        fprintf(f, "  %-14s %s\n", nm, commands[i].help);
    }
    fprintf(f, "\n'barspace COMMAND --help' shows a command's options and "
               "examples.\nexit codes: 0 success, 1 something could not be "
               "done (e.g. a BAR not assigned), 2 bad input or usage.\n");
}

/* C identifiers cannot hold '-': "qemu-args" runs cmd_qemu_args. */
static int same_command(const char *typed, const char *name)
{
    for (; *typed && *name; typed++, name++)
        if (*typed != *name && !(*typed == '-' && *name == '_'))
            return 0;
    return *typed == *name;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_BADINPUT;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("barspace %s\n", BS_VERSION_STRING);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (same_command(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "barspace: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_BADINPUT;
}
