/*
 * armor.c - base64 armor in the style of OpenSSH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "crypto.h"

const struct dml_error *
dml_armor_encode(struct dml_buf *out, const char *label, const void *data, size_t n)
{
	const struct dml_error *err;
	char *b64;
	size_t len, i;

	if ((b64 = dml_base64_encode(data, n)) == NULL)
		return dml_error_nomem();
	len = strlen(b64);
	err = dml_buf_addf(out, "-----BEGIN %s-----\n", label);
	for (i = 0; err == NULL && i < len; i += DML_ARMOR_WIDTH) {
		size_t w = len - i < DML_ARMOR_WIDTH ? len - i : DML_ARMOR_WIDTH;
		if ((err = dml_buf_add(out, b64 + i, w)) == NULL)
			err = dml_buf_add(out, "\n", 1);
	}
	if (err == NULL)
		err = dml_buf_addf(out, "-----END %s-----\n", label);
	dml_memzero(b64, len);
	free(b64);
	return err;
}

/* Next line of text[*pos..n): sets line/len without the terminator. */
static int
next_line(const char *text, size_t n, size_t *pos, const char **line, size_t *len, int *crlf)
{
	const char *nl;

	if (*pos >= n)
		return -1;
	*line = text + *pos;
	nl = memchr(*line, '\n', n - *pos);
	if (nl == NULL) {
		*len = n - *pos;
		*pos = n;
		*crlf = -1;		/* no terminator at all */
		return 0;
	}
	*len = (size_t)(nl - *line);
	*pos += *len + 1;
	*crlf = *len > 0 && (*line)[*len - 1] == '\r';
	if (*crlf)
		(*len)--;
	return 0;
}

int
dml_armor_decode(unsigned char **out, size_t *outlen, const char *text, size_t n,
    const char *label, int strict)
{
	char begin[128], end[128];
	struct dml_buf b64 = DML_BUF_INIT;
	const char *line;
	size_t pos = 0, len, prevlen = DML_ARMOR_WIDTH;
	int crlf, state = 0, rc = -1;

	*out = NULL;
	*outlen = 0;
	/* Sized once: armor may hold a secret key, and realloc would leave copies. */
	if (dml_buf_grow(&b64, n) != NULL)
		return -1;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	while (next_line(text, n, &pos, &line, &len, &crlf) == 0) {
		if (strict && crlf != 0)
			goto done;
		if (state == 0) {
			if (len == 0 && !strict)
				continue;
			if (len != strlen(begin) || memcmp(line, begin, len) != 0)
				goto done;
			state = 1;
		} else if (state == 1) {
			if (len == strlen(end) && memcmp(line, end, len) == 0) {
				state = 2;
				continue;
			}
			if (strict) {
				/* Every line full width except the last one. */
				if (len == 0 || len > DML_ARMOR_WIDTH || prevlen != DML_ARMOR_WIDTH)
					goto done;
				prevlen = len;
			}
			if (dml_buf_add(&b64, line, len))
				goto done;
		} else {
			if (strict || len != 0)
				goto done;
		}
	}
	if (state != 2 || b64.len == 0)
		goto done;
	if (dml_base64_decode(out, outlen, (const char *)b64.data, b64.len) != 0)
		goto done;
	rc = 0;
done:
	dml_buf_wipe(&b64);
	return rc;
}
