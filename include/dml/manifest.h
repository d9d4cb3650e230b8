/*
 * dml/manifest.h - the manifest of a stored file: its chunks, in order.
 *
 * Canonical text, one line per field, every line ending in "\n":
 *
 *	dmlctl-manifest 1
 *	file sha256:<hex>		SHA-256 of the whole file (= sha256sum)
 *	size <bytes>
 *	chunker fastcdc-v1 <min> <avg> <max>
 *	compression zstd <level>
 *	chunks <count>
 *	chunk sha256:<hex> <bytes>	once per chunk, in file order
 *
 * Numbers are decimal without leading zeros.  The chunk sizes add up to
 * `size`; each is between 1 and `max`.  A file may repeat a chunk.  The
 * parser refuses anything else, so a manifest has one spelling and its
 * SHA-256 (the manifest ID in the ledger) names its meaning.  An empty file
 * has no chunks.
 */
#ifndef DML_MANIFEST_H
#define DML_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"

struct dml_chunk_ref {
	unsigned char id[32];	/* SHA-256 of the plain bytes */
	uint32_t size;
};

struct dml_manifest {
	unsigned char file[32];
	uint64_t size;
	uint32_t cdc_min, cdc_avg, cdc_max;
	int level;
	struct dml_chunk_ref *chunks;
	size_t nchunks, cap;
};

void dml_manifest_init(struct dml_manifest *m);
void dml_manifest_release(struct dml_manifest *m);
const struct dml_error *dml_manifest_add(struct dml_manifest *m, const unsigned char id[32],
    uint32_t size);
const struct dml_error *dml_manifest_encode(const struct dml_manifest *m, struct dml_buf *out);
/* Strict parse; errors name the line. */
const struct dml_error *dml_manifest_decode(struct dml_manifest *m, const char *text, size_t n);

#endif
