/* Reading import inputs, shared by `barspace import` and `barspace diagnose`. */
#ifndef BS_CLI_IMPORT_H
#define BS_CLI_IMPORT_H

#include "barspace/import.h"

/* Import files[0..n) ("-" = stdin) with `format`; on success *imp and *out
 * are the caller's.  Prints errors as "barspace: file:line:col: reason" and
 * returns an exit code. */
int cli_import(int n, char **files, const char *cmd, int format,
               bs_import **imp, bs_topo **out);
/* "auto", "dmesg", ... to BS_IMPORT_*, -1 if unknown. */
int cli_import_format(const char *s);
/* --format's value v (NULL: not given) into *format; an exit code. */
int cli_import_format_opt(const char *cmd_name, const char *v, int *format);

#endif
