/*
 * fuzz_manifest.c - dml_manifest_decode over arbitrary bytes.
 *
 * The manifest of a dataset is named in the ledger by the SHA-256 of its
 * text, so one meaning must have one spelling: whatever decodes must encode
 * back to exactly the input bytes.  Besides that, a decoded manifest must
 * keep the promises of dml/manifest.h that readers rely on when they size
 * buffers from it: min < avg < max, a zstd level the parser accepts, every
 * chunk between 1 and max bytes, the sizes adding up to `size`.  A failed
 * decode must be a parse error and leave no chunk list behind.  Any breach
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "dml/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_manifest m;
	struct dml_buf out = DML_BUF_INIT;
	const struct dml_error *err;
	uint64_t total = 0;
	size_t i;

	if ((err = dml_manifest_decode(&m, (const char *)data, size)) != NULL) {
		if (err->code != DML_ERR_PARSE && err->code != DML_ERR_NOMEM)
			abort();
		if (m.chunks != NULL || m.nchunks != 0)
			abort();	/* a failed decode keeps nothing */
		return 0;
	}
	if (!(m.cdc_min < m.cdc_avg && m.cdc_avg < m.cdc_max) || m.level < 0 || m.level > 22)
		abort();
	for (i = 0; i < m.nchunks; i++) {
		if (m.chunks[i].size == 0 || m.chunks[i].size > m.cdc_max)
			abort();
		total += m.chunks[i].size;
	}
	if (total != m.size)
		abort();
	if (dml_manifest_encode(&m, &out) != NULL)
		abort();
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();	/* two spellings of one manifest */
	dml_buf_release(&out);
	dml_manifest_release(&m);
	return 0;
}
