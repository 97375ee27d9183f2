/* Helpers shared by the CLI's commands: argument parsing and printing only. */
#ifndef BS_CLI_H
#define BS_CLI_H

#include "barspace/barspace.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit codes, stable across versions (docs/cli.md). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_BADINPUT = 2 };

#define BS_CMD(name, help) int cmd_##name(int argc, char **argv);
#include "commands.h"
#undef BS_CMD

/* Load a topology file, printing "file:line:col: message" on error. */
bs_topo *cli_load_topo(const char *path);
/* Print an error record to stderr as "barspace: file:line:col: msg". */
void cli_print_error(const bs_error *e);
/* Report a failed library call (out of memory, or its error record) and
 * return EXIT_BADINPUT. */
int cli_lib_error(int rc, const bs_error *e);
/* Parse "64K", "0x1000", "2G", "1T"...; false on bad syntax. */
bool cli_parse_u64(const char *s, uint64_t *out);
/* True if argv[i] equals one of the help flags. */
bool cli_is_help(const char *arg);
/* Human-readable size into a static rotating buffer (for printf). */
const char *cli_size(uint64_t v);
/* Print a usage error and return EXIT_BADINPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* "io", "mem64 pref", "mem window", ... for a resource. */
const char *cli_kind(unsigned flags, int slot);
/* "root mem1", "rp3 pref": where a resource sits (node = its parent). */
const char *cli_window_name(const bs_topo *t, int node, int win, char *buf,
                            size_t cap);
/* A whole file into a malloc'd buffer (caller frees); NULL if it cannot be
 * opened or memory runs out.  The caller names the file in its message. */
char *cli_read_file(const char *path, size_t *len);
/* All of stream f (stdin); NULL when out of memory or once it would need
 * more than `max` bytes of buffer. */
char *cli_read_stream(FILE *f, size_t max, size_t *len);
/* JSON string escaping to stdout. */
void cli_json_str(FILE *f, const char *s);

#endif
