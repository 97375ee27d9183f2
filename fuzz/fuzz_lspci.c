/*
 * The lspci importer (bs_import_add with BS_IMPORT_LSPCI); see fuzz_import.h.
 *
 * fuzz-needs: bs_import_add bs_import_build bs_snapshot_save
 * fuzz-max-len: 8192
 */
#define FUZZ_FORMAT BS_IMPORT_LSPCI
#include "fuzz_import.h"
