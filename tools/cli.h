/* Helpers shared by the CLI's commands: argument parsing and printing only. */
#ifndef BS_CLI_H
#define BS_CLI_H

#include "barspace/barspace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes, stable across versions (docs/cli.md). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_BADINPUT = 2 };

#define BS_CMD(name, help) int cmd_##name(int argc, char **argv);
#include "commands.h"
#undef BS_CMD

/*
 * Options.  Every command declares its options in one table of cli_opt
 * rows and its operands in a cli_cmd; cli_parse does the rest the same way
 * for every command (docs/cli.md, "Conventions"):
 *   --opt value and --opt=value; -- ends the options; '-' is an operand
 *   (standard input for an input file); -h/--help prints the help;
 *   unknown options, missing or bad values and two options that set the
 *   same thing differently (--realloc --no-realloc) are refused, exit 2.
 * Values land in the command's argument struct at the row's offset.
 */
enum cli_opt_kind {
    CLI_FLAG,   /* int = value (1 when value is 0) */
    CLI_STR,    /* const char * */
    CLI_SIZE,   /* uint64_t, size grammar (bs_parse_size) */
    CLI_NUM,    /* uint64_t, plain number in [min, max] */
    CLI_SECS,   /* double, seconds >= 0 */
    CLI_POLICY, /* cli_policy: bs_policy_parse's vocabulary */
    CLI_CHOICE, /* int = index of the value in choices ("a|b|c") */
    CLI_LIST,   /* cli_list: every use appends one value (repeatable) */
    CLI_SIZES,  /* cli_sizes: comma-separated sizes ("2M,3M") */
};

typedef struct cli_opt {
    const char *name;    /* "--json", "-o" */
    int kind;            /* enum cli_opt_kind */
    size_t off;          /* offsetof(args struct, field) */
    int value;           /* CLI_FLAG: what it stores */
    const char *choices; /* CLI_CHOICE: "eager|deferred" */
    uint64_t min, max;   /* CLI_NUM: accepted range (max 0: no limit) */
    const char *meta;    /* value's name in messages ("FILE", "N") */
} cli_opt;

/* A policy option's result; set = 0 until the option was given. */
typedef struct cli_policy {
    int set, policy, kernel;
} cli_policy;

/* A repeatable option's values (CLI_LIST). */
typedef struct cli_list {
    const char *v[16];
    int n;
} cli_list;

/* A comma-separated list of sizes (CLI_SIZES); set = 0 until given. */
typedef struct cli_sizes {
    uint64_t v[64];
    int n, set;
} cli_sizes;

typedef struct cli_cmd {
    const char *name;      /* "qemu-args" */
    const char *usage;     /* the help text */
    const cli_opt *opts;   /* ends with a row whose name is NULL */
    int min_operands, max_operands; /* max -1: any number */
    const char *operand;   /* "FILE", "OUTDIR": for messages */
} cli_cmd;

enum { CLI_RUN = 0, CLI_HELP = -1, CLI_BAD = -2 };
/* Parse argv[1..argc) into args.  Moves the operands to argv[0..*n).
 * Returns CLI_RUN, CLI_HELP (help printed: exit 0) or CLI_BAD (message
 * printed: exit 2). */
int cli_parse(const cli_cmd *c, int argc, char **argv, void *args, int *n);
/* The help text of a command, to stdout; EXIT_OK. */
int cli_help(const cli_cmd *c);
/* The exit code of a cli_parse that did not return CLI_RUN. */
int cli_parse_exit(int rc);
/* Print a usage error ("barspace CMD: ...", a pointer to --help) and
 * return EXIT_BADINPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run `barspace help CMD`: the command's own --help. */
int cli_help_command(const char *name);

/* ------------------------------------------------------------- input */

/* Load a topology file ("-": standard input), printing
 * "barspace: file:line:col: message" on error. */
bs_topo *cli_load_topo(const char *path);
/* Print an error record to stderr as "barspace: file:line:col: msg". */
void cli_print_error(const bs_error *e);
/* Report a failed library call (out of memory, or its error record) and
 * return EXIT_BADINPUT. */
int cli_lib_error(int rc, const bs_error *e);
/* A whole file ("-": standard input) into a malloc'd buffer (caller
 * frees); on failure prints "barspace: cannot read PATH: reason" and
 * returns NULL. */
char *cli_read_input(const char *path, size_t max, size_t *len);
/* All of stream f; NULL when out of memory, unreadable or over max bytes. */
char *cli_read_stream(FILE *f, size_t max, size_t *len);
/* The name an input is reported under: "<stdin>" for "-". */
const char *cli_input_name(const char *path);

/* ------------------------------------------------------------ output */

/* Open an output file for writing ("-": standard output) before anything
 * is printed, so that a bad path fails first.  NULL after printing
 * "barspace: cannot write PATH: reason". */
FILE *cli_open_out(const char *path);
/* Close what cli_open_out opened, checking that every byte was written;
 * EXIT_OK, or EXIT_BADINPUT after "barspace: cannot write PATH: reason".
 * f may be NULL (then EXIT_OK). */
int cli_close_out(FILE *f, const char *path);
/* fwrite that remembers why it failed, for cli_close_out's message. */
size_t cli_put(FILE *f, const void *buf, size_t len);
/* The whole of buf into path: cli_open_out + fwrite + cli_close_out. */
int cli_write_file(const char *path, const char *buf, size_t len);
/* The one wording of a failed write. */
void cli_write_error(const char *path, int errnum);
/* Standard output's fate at exit: EXIT_OK, or EXIT_BADINPUT after the
 * message when something printed was lost. */
int cli_finish_stdout(void);

/* ------------------------------------------------------------ printing */

/* A size in the one format (bs_fmt_size) in a static rotating buffer. */
const char *cli_size(uint64_t v);
/* A duration: "850 ns", "12.3 us", "4.56 ms", "1.92 s"; rotating buffer. */
const char *cli_duration(uint64_t ns);
/* "io", "mem64 pref", "mem window", ... for a resource. */
const char *cli_kind(unsigned flags, int slot);
/* "root mem1", "rp3 pref": where a resource sits (node = its parent). */
const char *cli_window_name(const bs_topo *t, int node, int win, char *buf,
                            size_t cap);
/* JSON string escaping. */
void cli_json_str(FILE *f, const char *s);

#endif
