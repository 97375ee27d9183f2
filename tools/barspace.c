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

static const struct command *find(const char *typed)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (same_command(typed, commands[i].name))
            return &commands[i];
    return NULL;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_BADINPUT;
    }
    const char *a = argv[1];
    if (!strcmp(a, "-h") || !strcmp(a, "--help") ||
        (!strcmp(a, "help") && argc == 2)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(a, "--version")) {
        printf("barspace %s\n", BS_VERSION_STRING);
        return EXIT_OK;
    }
    if (!strcmp(a, "help")) {
        /* `barspace help CMD` is `barspace CMD --help`. */
        const struct command *c = find(argv[2]);
        if (!c || argc > 3) {
            fprintf(stderr, "barspace help: unknown command '%s'\n", argv[2]);
            return EXIT_BADINPUT;
        }
        char *hv[] = {argv[2], "--help", NULL};
        return c->fn(2, hv);
    }
    const struct command *c = find(a);
    if (c)
        return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "barspace: unknown command '%s'\n", a);
    usage(stderr);
    return EXIT_BADINPUT;
}

int main(int argc, char **argv)
{
    int rc = run(argc, argv);
    /* Output lost on the way (a full disk, /dev/full, a closed pipe) is an
     * error, never a success: exit 2 with the reason. */
    if (cli_finish_stdout() != EXIT_OK)
        rc = EXIT_BADINPUT;
    return rc;
}
