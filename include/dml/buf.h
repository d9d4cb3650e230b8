/*
 * dml/buf.h - a growable byte buffer.
 *
 * A buffer owns `data`, which always has one spare byte kept at zero so text
 * can be used as a C string.  dml_buf_release() frees the memory;
 * dml_buf_wipe() first overwrites it, for buffers that held secrets.
 */
#ifndef DML_BUF_H
#define DML_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

struct dml_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

#define DML_BUF_INIT { NULL, 0, 0 }

void dml_buf_init(struct dml_buf *b);
void dml_buf_release(struct dml_buf *b);
/* Overwrite the whole allocation with zeros, then release it. */
void dml_buf_wipe(struct dml_buf *b);
/* Make room for `extra` more bytes. */
const struct dml_error *dml_buf_grow(struct dml_buf *b, size_t extra);
const struct dml_error *dml_buf_add(struct dml_buf *b, const void *p, size_t n);
const struct dml_error *dml_buf_adds(struct dml_buf *b, const char *s);
const struct dml_error *dml_buf_addf(struct dml_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const struct dml_error *dml_buf_vaddf(struct dml_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* SSH wire encoding (RFC 4251): uint32 big-endian, and length-prefixed strings. */
const struct dml_error *dml_buf_add_u32(struct dml_buf *b, uint32_t v);
const struct dml_error *dml_buf_add_sshstr(struct dml_buf *b, const void *p, size_t n);
/* Big-endian 64-bit integers, as key files store Argon2id limits. */
void dml_put_be32(unsigned char p[4], uint32_t v);
uint32_t dml_get_be32(const unsigned char p[4]);
void dml_put_be64(unsigned char p[8], uint64_t v);
uint64_t dml_get_be64(const unsigned char p[8]);
/* Drop the contents, keep the allocation. */
void dml_buf_reset(struct dml_buf *b);
/* Hand the data to the caller (NUL-terminated); the buffer becomes empty. */
char *dml_buf_detach(struct dml_buf *b, size_t *len);

/*
 * A reader over SSH wire data, for parsers that must reject every malformed
 * input: each get fails (and stays failed) when the data runs out.
 */
struct dml_reader {
	const unsigned char *p;
	size_t left;
	int bad;
};

void dml_reader_init(struct dml_reader *r, const void *p, size_t n);
int dml_reader_u32(struct dml_reader *r, uint32_t *v);
/* A length-prefixed string: *p points into the input, not copied. */
int dml_reader_sshstr(struct dml_reader *r, const unsigned char **p, size_t *n);
/* A string that must equal `expect` exactly. */
int dml_reader_expect(struct dml_reader *r, const char *expect);
int dml_reader_bytes(struct dml_reader *r, const unsigned char **p, size_t n);

#endif
