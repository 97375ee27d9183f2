/* barspace compare on a hot-plug run (peer/hotplug): see compare_hotplug.c. */
#ifndef BARSPACE_COMPARE_HOTPLUG_H
#define BARSPACE_COMPARE_HOTPLUG_H

#include <stdbool.h>

#include "barspace/barspace.h"

/* OUTDIR holds events.trace: compare after every event.  Exit status as
 * cmd_compare's. */
bool compare_is_hotplug(const char *dir);
int compare_hotplug(const char *dir, const char *topo, const char *append,
                    bool json);

/* barspace replay on a peer/hotplug run's trace.log: when hotplug.map and
 * events.trace sit beside it, replace *t by the machine with every device
 * the run plugged in (bs_peer_hp_machine) and return its plug schedule.
 * EXIT_OK (also when the trace is not a hot-plug run), or EXIT_BADINPUT
 * after printing the error. */
/* "0xSTART-0xEND" or "unassigned" (cmd_compare.c). */
const char *res_str(char *b, size_t cap, int assigned, uint64_t a, uint64_t s);

struct bs_peer_plug;
int replay_hotplug_machine(const char *trace, bs_topo **t,
                           struct bs_peer_plug **plugs, int *nplugs);

#endif
