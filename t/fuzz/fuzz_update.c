/*
 * fuzz_update.c - dml_update_decode over arbitrary bytes.
 *
 * An update is named in the ledger by the SHA-256 of its file, so one update
 * must have one spelling: whatever decodes unsigned must encode back to
 * exactly the input bytes, and a signed file must encode back to the same
 * header and payload (without its signer line).  A decoded update must keep
 * the promises of dml/update.h that aggregation relies on: a dimension in
 * 1..DML_UPDATE_MAX_DIM, finite weights, statistics of `samples` rows that
 * dml_suffstats_validate accepts, privacy parameters on weights only, and
 * the file's SHA-256 as its ID.  A failed decode must be a parse or
 * verification error and leave nothing allocated.  Any breach aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/buf.h"
#include "dml/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The input with its signer line removed: the unsigned file of the same
 * update, followed by the signature.
 */
static int
strip_signer(const uint8_t *data, size_t size, struct dml_buf *out)
{
	const uint8_t *hend = NULL, *signer = NULL, *nl;
	size_t i;

	for (i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && data[i + 1] == '\n') {
			hend = data + i + 2;
			break;
		}
	if (hend == NULL)
		return -1;
	for (i = 1; data + i + 7 < hend; i++)
		if (data[i - 1] == '\n' && memcmp(data + i, "signer ", 7) == 0) {
			signer = data + i;
			break;
		}
	if (signer == NULL || (nl = memchr(signer, '\n', (size_t)(hend - signer))) == NULL)
		return -1;
	if (dml_buf_add(out, data, (size_t)(signer - data)) ||
	    dml_buf_add(out, nl + 1, size - (size_t)(nl + 1 - data)))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_update u, v;
	struct dml_buf out = DML_BUF_INIT, want = DML_BUF_INIT;
	const struct dml_error *err;
	unsigned char id[32];
	size_t i;
	int was_signed;

	if ((err = dml_update_decode(&u, data, size)) != NULL) {
		if (err->code != DML_ERR_PARSE && err->code != DML_ERR_VERIFY &&
		    err->code != DML_ERR_NOMEM)
			abort();
		if (u.weights != NULL || u.stats.xtx != NULL || u.stats.xty != NULL)
			abort();	/* a failed decode keeps nothing */
		return 0;
	}
	if (u.d == 0 || u.d > DML_UPDATE_MAX_DIM)
		abort();
	dml_sha256(id, data, size);
	if (memcmp(id, u.id, 32) != 0)
		abort();
	if (u.mode == DML_UPDATE_WEIGHTS) {
		if (u.weights == NULL || u.stats.xtx != NULL)
			abort();
		for (i = 0; i < u.d; i++)
			if (!isfinite(u.weights[i]))
				abort();
		if (u.dp && (!(u.dp_clip > 0) || !isfinite(u.dp_clip) || !(u.dp_noise >= 0) ||
		    !isfinite(u.dp_noise)))
			abort();
	} else {
		if (u.mode != DML_UPDATE_STATS || u.weights != NULL || u.dp ||
		    u.stats.d != u.d || u.stats.n != u.samples ||
		    dml_suffstats_validate(&u.stats) != NULL)
			abort();
	}
	/* one spelling (encoding without a key clears is_signed) */
	was_signed = u.is_signed;
	if (dml_update_encode(&u, NULL, &out) != NULL)
		abort();
	if (!was_signed) {
		if (out.len != size || memcmp(out.data, data, size) != 0)
			abort();
	} else {
		/* the same header without its signer line, and the same payload */
		if (strip_signer(data, size, &want) != 0)
			abort();
		if (want.len < out.len || memcmp(want.data, out.data, out.len) != 0)
			abort();
	}
	/* and what was written reads back the same */
	if (dml_update_decode(&v, out.data, out.len) != NULL)
		abort();
	if (v.d != u.d || v.mode != u.mode || v.samples != u.samples || v.dp != u.dp ||
	    v.is_signed || memcmp(v.round, u.round, 32) != 0)
		abort();
	dml_update_release(&v);
	dml_buf_release(&out);
	dml_buf_release(&want);
	dml_update_release(&u);
	return 0;
}
