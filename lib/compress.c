/*
 * compress.c - the zstd wrapper: the only file that includes <zstd.h>.
 *
 * Dataset chunks are stored as single zstd frames with the content size in
 * the header, so a reader knows exactly what to expect before it allocates.
 */
#include <stdlib.h>

#include <zstd.h>

#include "compress.h"
#include "dml/version.h"

struct dml_zstd {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
};

const char *
dml_zstd_version(void)
{
	return ZSTD_versionString();
}

const struct dml_error *
dml_zstd_new(struct dml_zstd **out)
{
	struct dml_zstd *z = calloc(1, sizeof(*z));

	*out = NULL;
	if (z == NULL || (z->c = ZSTD_createCCtx()) == NULL || (z->d = ZSTD_createDCtx()) == NULL) {
		dml_zstd_free(z);
		return dml_error_nomem();
	}
	*out = z;
	return NULL;
}

void
dml_zstd_free(struct dml_zstd *z)
{
	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

const struct dml_error *
dml_zstd_compress(struct dml_zstd *z, struct dml_buf *out, const void *p, size_t n, int level)
{
	size_t bound = ZSTD_compressBound(n), r;
	const struct dml_error *err;

	dml_buf_reset(out);
	if ((err = dml_buf_grow(out, bound)))
		return err;
	r = ZSTD_compressCCtx(z->c, out->data, bound, p, n, level);
	if (ZSTD_isError(r))
		return dml_error_fmt(DML_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
	out->len = r;
	return NULL;
}

const struct dml_error *
dml_zstd_decompress(struct dml_zstd *z, void *out, size_t size, const void *p, size_t n)
{
	unsigned long long want = ZSTD_getFrameContentSize(p, n);
	size_t frame = ZSTD_findFrameCompressedSize(p, n), r;

	if (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN || want != size)
		return dml_error_fmt(DML_ERR_VERIFY, "not a zstd frame of %zu bytes", size);
	if (ZSTD_isError(frame) || frame != n)
		return dml_error_fmt(DML_ERR_VERIFY, "damaged zstd frame or trailing data");
	r = ZSTD_decompressDCtx(z->d, out, size, p, n);
	if (ZSTD_isError(r) || r != size)
		return dml_error_fmt(DML_ERR_VERIFY, "damaged zstd frame: %s",
		    ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short output");
	return NULL;
}
