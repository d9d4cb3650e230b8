/*
 * buf.c - growable buffers and a bounds-checked SSH wire reader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "crypto.h"

void
dml_buf_init(struct dml_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
dml_buf_release(struct dml_buf *b)
{
	free(b->data);
	dml_buf_init(b);
}

void
dml_buf_wipe(struct dml_buf *b)
{
	if (b->data != NULL)
		dml_memzero(b->data, b->cap);
	dml_buf_release(b);
}

const struct dml_error *
dml_buf_grow(struct dml_buf *b, size_t extra)
{
	size_t need, cap;
	unsigned char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return dml_error_nomem();
	need = b->len + extra + 1;
	if (need <= b->cap)
		return NULL;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return dml_error_nomem();
	b->data = p;
	b->cap = cap;
	return NULL;
}

const struct dml_error *
dml_buf_add(struct dml_buf *b, const void *p, size_t n)
{
	const struct dml_error *err = dml_buf_grow(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return NULL;
}

const struct dml_error *
dml_buf_adds(struct dml_buf *b, const char *s)
{
	return dml_buf_add(b, s, strlen(s));
}

const struct dml_error *
dml_buf_vaddf(struct dml_buf *b, const char *fmt, va_list ap)
{
	const struct dml_error *err;
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return dml_error_fmt(DML_ERR_INTERNAL, "cannot format text");
	if ((err = dml_buf_grow(b, (size_t)n)))
		return err;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return NULL;
}

const struct dml_error *
dml_buf_addf(struct dml_buf *b, const char *fmt, ...)
{
	const struct dml_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = dml_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return err;
}

const struct dml_error *
dml_buf_add_u32(struct dml_buf *b, uint32_t v)
{
	unsigned char x[4];

	dml_put_be32(x, v);
	return dml_buf_add(b, x, 4);
}

const struct dml_error *
dml_buf_add_sshstr(struct dml_buf *b, const void *p, size_t n)
{
	const struct dml_error *err;

	if (n > UINT32_MAX)
		return dml_error_fmt(DML_ERR_USAGE, "string too long for ssh encoding");
	if ((err = dml_buf_add_u32(b, (uint32_t)n)))
		return err;
	return dml_buf_add(b, p, n);
}

void
dml_put_be32(unsigned char p[4], uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
dml_get_be32(const unsigned char p[4])
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
dml_put_be64(unsigned char p[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

uint64_t
dml_get_be64(const unsigned char p[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
dml_buf_reset(struct dml_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *
dml_buf_detach(struct dml_buf *b, size_t *len)
{
	char *p;

	if (b->data == NULL && dml_buf_grow(b, 0) != NULL)
		return NULL;
	p = (char *)b->data;
	if (len)
		*len = b->len;
	dml_buf_init(b);
	return p;
}

void
dml_reader_init(struct dml_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->bad = 0;
}

int
dml_reader_bytes(struct dml_reader *r, const unsigned char **p, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return -1;
	}
	*p = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

int
dml_reader_u32(struct dml_reader *r, uint32_t *v)
{
	const unsigned char *p;

	if (dml_reader_bytes(r, &p, 4))
		return -1;
	*v = dml_get_be32(p);
	return 0;
}

int
dml_reader_sshstr(struct dml_reader *r, const unsigned char **p, size_t *n)
{
	uint32_t len;

	if (dml_reader_u32(r, &len) || dml_reader_bytes(r, p, len))
		return -1;
	*n = len;
	return 0;
}

int
dml_reader_expect(struct dml_reader *r, const char *expect)
{
	const unsigned char *p;
	size_t n;

	if (dml_reader_sshstr(r, &p, &n))
		return -1;
	if (n != strlen(expect) || memcmp(p, expect, n) != 0) {
		r->bad = 1;
		return -1;
	}
	return 0;
}
