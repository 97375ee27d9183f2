/* barspace compare LOG: the kernel-log form of `compare` (cmd_compare.c
 * hands over when its argument is a file). */
#ifndef BS_CMD_COMPARE_LOG_H
#define BS_CMD_COMPARE_LOG_H

/* Is argv[1..] the LOG form (a regular file where OUTDIR would be)? */
int cmd_compare_is_log(int argc, char **argv);
int cmd_compare_log(int argc, char **argv);

#endif
