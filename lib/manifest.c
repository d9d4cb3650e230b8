/*
 * manifest.c - the canonical manifest text (see dml/manifest.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dml/entry.h"
#include "dml/manifest.h"

#define MAGIC "dmlctl-manifest 1"

void
dml_manifest_init(struct dml_manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void
dml_manifest_release(struct dml_manifest *m)
{
	free(m->chunks);
	dml_manifest_init(m);
}

const struct dml_error *
dml_manifest_add(struct dml_manifest *m, const unsigned char id[32], uint32_t size)
{
	if (m->nchunks == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct dml_chunk_ref *c = realloc(m->chunks, cap * sizeof(*c));
		if (c == NULL)
			return dml_error_nomem();
		m->chunks = c;
		m->cap = cap;
	}
	memcpy(m->chunks[m->nchunks].id, id, 32);
	m->chunks[m->nchunks].size = size;
	m->nchunks++;
	return NULL;
}

const struct dml_error *
dml_manifest_encode(const struct dml_manifest *m, struct dml_buf *out)
{
	char id[DML_ID_LEN + 1];
	const struct dml_error *err;
	size_t i;

	dml_id_format(id, m->file);
	if ((err = dml_buf_addf(out, MAGIC "\nfile %s\nsize %llu\nchunker fastcdc-v1 %u %u %u\n"
	    "compression zstd %d\nchunks %zu\n", id, (unsigned long long)m->size, m->cdc_min,
	    m->cdc_avg, m->cdc_max, m->level, m->nchunks)))
		return err;
	for (i = 0; i < m->nchunks; i++) {
		dml_id_format(id, m->chunks[i].id);
		if ((err = dml_buf_addf(out, "chunk %s %u\n", id, m->chunks[i].size)))
			return err;
	}
	return NULL;
}

/* A decimal without leading zeros, at most max. */
static int
number(const char *p, size_t n, uint64_t max, uint64_t *v)
{
	size_t i;
	uint64_t d;

	if (n == 0 || n > 20 || (p[0] == '0' && n > 1))
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		d = (uint64_t)(p[i] - '0');
		/* d > max first: max - d must not wrap (max is a chunker's max, maybe < 9) */
		if (d > max || *v > (max - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

/* Split "a b c" into exactly n space-separated words. */
static int
words(const char *p, size_t len, const char **w, size_t *wl, size_t n)
{
	size_t i = 0, start = 0, k;

	for (k = 0; k <= len; k++) {
		if (k < len && p[k] != ' ')
			continue;
		if (i == n || k == start)
			return -1;
		w[i] = p + start;
		wl[i++] = k - start;
		start = k + 1;
	}
	return i == n ? 0 : -1;
}

const struct dml_error *
dml_manifest_decode(struct dml_manifest *m, const char *text, size_t n)
{
	static const char *const keys[] = { "file", "size", "chunker", "compression", "chunks" };
	const char *p = text, *end = text + n, *nl, *w[5];
	size_t line = 0, wl[5], k;
	uint64_t v[4], nchunks = 0, total = 0;
	const struct dml_error *err = NULL;

	dml_manifest_init(m);
	while (p < end) {
		size_t len;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			err = dml_error_fmt(DML_ERR_PARSE, "manifest line %zu: no final newline", line + 1);
			goto fail;
		}
		len = (size_t)(nl - p);
		line++;
		if (line == 1) {
			if (len != strlen(MAGIC) || memcmp(p, MAGIC, len) != 0)
				goto bad;
		} else if (line <= 6) {
			const char *key = keys[line - 2];
			size_t kl = strlen(key);
			if (len <= kl || memcmp(p, key, kl) != 0 || p[kl] != ' ')
				goto bad;
			switch (line) {
			case 2:
				if (dml_id_parse(m->file, p + 5, len - 5) != 0)
					goto bad;
				break;
			case 3:
				if (number(p + 5, len - 5, INT64_MAX, &m->size))
					goto bad;
				break;
			case 4:
				if (words(p + 8, len - 8, w, wl, 4) || wl[0] != 10 ||
				    memcmp(w[0], "fastcdc-v1", 10) != 0)
					goto bad;
				/* Sizes the chunker accepts: readers allocate `max` bytes. */
				for (k = 0; k < 3; k++)
					if (number(w[k + 1], wl[k + 1], (uint64_t)1 << 30, &v[k]))
						goto bad;
				if (!(v[0] < v[1] && v[1] < v[2]))
					goto bad;
				m->cdc_min = (uint32_t)v[0];
				m->cdc_avg = (uint32_t)v[1];
				m->cdc_max = (uint32_t)v[2];
				break;
			case 5:
				if (words(p + 12, len - 12, w, wl, 2) || wl[0] != 4 ||
				    memcmp(w[0], "zstd", 4) != 0 || number(w[1], wl[1], 22, &v[0]))
					goto bad;
				m->level = (int)v[0];
				break;
			case 6:
				if (number(p + 7, len - 7, SIZE_MAX / sizeof(struct dml_chunk_ref),
				    &nchunks))
					goto bad;
				break;
			}
		} else {
			unsigned char id[32];
			if (len < 6 || memcmp(p, "chunk ", 6) != 0 ||
			    words(p + 6, len - 6, w, wl, 2) || dml_id_parse(id, w[0], wl[0]) != 0 ||
			    number(w[1], wl[1], m->cdc_max, &v[0]) || v[0] == 0 ||
			    m->nchunks == nchunks)
				goto bad;
			total += v[0];
			if ((err = dml_manifest_add(m, id, (uint32_t)v[0])))
				goto fail;
		}
		p = nl + 1;
	}
	if (line < 6) {
		err = dml_error_fmt(DML_ERR_PARSE, "manifest is truncated after line %zu", line);
		goto fail;
	}
	if (m->nchunks != nchunks || total != m->size) {
		err = dml_error_fmt(DML_ERR_PARSE,
		    "manifest lists %zu chunks of %llu bytes, but says %llu chunks of %llu bytes",
		    m->nchunks, (unsigned long long)total, (unsigned long long)nchunks,
		    (unsigned long long)m->size);
		goto fail;
	}
	return NULL;
bad:
	err = dml_error_fmt(DML_ERR_PARSE, "manifest line %zu is malformed", line);
fail:
	dml_manifest_release(m);
	return err;
}
