/*
 * compress.c - the zstd wrapper: the only file that includes <zstd.h>.
 * Chunk compression for datasets will live here.
 */
#include <zstd.h>

#include "dml/version.h"

const char *
dml_zstd_version(void)
{
	return ZSTD_versionString();
}
