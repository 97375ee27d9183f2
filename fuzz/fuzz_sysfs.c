/*
 * The sysfs importer (bs_import_add with BS_IMPORT_SYSFS); see fuzz_import.h.
 *
 * fuzz-needs: bs_import_add bs_import_build bs_snapshot_save
 * fuzz-max-len: 16384
 */
#define FUZZ_FORMAT BS_IMPORT_SYSFS
#include "fuzz_import.h"
