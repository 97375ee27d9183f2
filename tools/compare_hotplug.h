/* barspace compare on a hot-plug run (peer/hotplug): see compare_hotplug.c. */
#ifndef BARSPACE_COMPARE_HOTPLUG_H
#define BARSPACE_COMPARE_HOTPLUG_H

#include <stdbool.h>

/* OUTDIR holds events.trace: compare after every event.  Exit status as
 * cmd_compare's. */
bool compare_is_hotplug(const char *dir);
int compare_hotplug(const char *dir, const char *topo, const char *append,
                    bool json);

#endif
