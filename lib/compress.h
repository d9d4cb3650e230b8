/*
 * compress.h - private: zstd, through lib/compress.c only.
 */
#ifndef DML_LIB_COMPRESS_H
#define DML_LIB_COMPRESS_H

#include <stddef.h>

#include "dml/buf.h"
#include "dml/error.h"

#define DML_ZSTD_LEVEL 3

struct dml_zstd;	/* a reusable compression and decompression context */

const struct dml_error *dml_zstd_new(struct dml_zstd **out);
void dml_zstd_free(struct dml_zstd *z);
/* Compress n bytes at `level` into out (replacing its contents). */
const struct dml_error *dml_zstd_compress(struct dml_zstd *z, struct dml_buf *out, const void *p,
    size_t n, int level);
/*
 * Decompress one frame that must hold exactly `size` bytes into out[size].
 * Anything else (a damaged frame, a different size, trailing data) is
 * DML_ERR_VERIFY.
 */
const struct dml_error *dml_zstd_decompress(struct dml_zstd *z, void *out, size_t size,
    const void *p, size_t n);

#endif
