/* diagnose on a Hyper-V guest's log (tools/hv_diagnose.c). */
#ifndef BS_HV_DIAGNOSE_H
#define BS_HV_DIAGNOSE_H

#include <stdbool.h>

/* Does the file hold pci-hyperv lines? */
bool cli_hv_log(const char *path);
/* files[0]: the log; files[1], optional: the VM's topology. */
int cli_hv_diagnose(char **files, int nf, bool json);

#endif
