/*
 * armor.h - private: "-----BEGIN <LABEL>-----" blocks of base64 text.
 */
#ifndef DML_LIB_ARMOR_H
#define DML_LIB_ARMOR_H

#include <stddef.h>

#include "dml/buf.h"
#include "dml/error.h"

#define DML_ARMOR_WIDTH 70

/* Append BEGIN line, base64 of data wrapped at 70 columns, END line, "\n". */
const struct dml_error *dml_armor_encode(struct dml_buf *out, const char *label,
    const void *data, size_t n);

/*
 * Decode one armored block.  Strict mode accepts only what dml_armor_encode
 * writes (the canonical form, so one byte string per signature); lenient mode
 * accepts any line width, CRLF, and blank lines around the block, as people's
 * key files have.  Returns 0 and a malloc'd *out, or -1.
 */
int dml_armor_decode(unsigned char **out, size_t *outlen, const char *text, size_t n,
    const char *label, int strict);

#endif
