/*
 * fuzz_csv.c - the streaming CSV parser over arbitrary bytes, split.
 *
 * The first byte picks the separator (its top bit: tab, else comma) and
 * where the rest is cut in two (its low seven bits, modulo the length).
 * The two-piece parse, and a byte-by-byte parse of short inputs, must give
 * exactly the records and the error message of a single-feed parse.  The
 * records also go through the header check and, when it passes, the schema
 * builder, whose canonical text must agree between the parses and decode
 * back to itself.  Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "dml/csv.h"
#include "dml/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct dml_buf dump;		/* every record, length-prefixed */
	struct dml_schema_builder *b;
	int seen_header;
};

static const struct dml_error *
on_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct run *r = arg;
	const struct dml_error *err;
	size_t i;

	if ((err = dml_buf_addf(&r->dump, "%llu %zu:", (unsigned long long)line, n)))
		return err;
	for (i = 0; i < n; i++) {
		if ((err = dml_buf_addf(&r->dump, "%zu%c", f[i].len, f[i].quoted ? 'q' : 'u')) ||
		    (err = dml_buf_add(&r->dump, f[i].p, f[i].len)))
			return err;
	}
	if (!r->seen_header) {
		r->seen_header = 1;
		if (line != 1)
			abort();
		if (dml_csv_header_check(f, n, "fuzz") == NULL &&
		    dml_schema_builder_new(&r->b, f, n) != NULL)
			abort();	/* a checked header must be accepted */
		return NULL;
	}
	if (r->b != NULL && dml_schema_builder_add(r->b, f, n) != NULL)
		abort();	/* the parser guarantees the field count */
	return NULL;
}

/* Parse with the given cut points; *msg gets the error or "" and *schema the text. */
static void
parse(const uint8_t *in, size_t n, char sep, const size_t *cuts, size_t ncuts, struct run *r,
    char *msg, struct dml_buf *schema)
{
	struct dml_csv *p;
	const struct dml_error *err = NULL;
	size_t at = 0, k;

	memset(r, 0, sizeof(*r));
	if (dml_csv_new(&p, sep, "fuzz") != NULL)
		abort();
	for (k = 0; k <= ncuts && err == NULL; k++) {
		size_t to = k < ncuts ? cuts[k] : n;
		err = dml_csv_feed(p, in + at, to - at, on_record, r);
		at = to;
	}
	if (err == NULL)
		err = dml_csv_finish(p, on_record, r);
	snprintf(msg, DML_ERROR_MSGLEN, "%s", err ? err->msg : "");
	if (err != NULL && err->code != DML_ERR_PARSE)
		abort();
	dml_csv_free(p);
	dml_buf_reset(schema);
	if (r->b != NULL) {
		struct dml_schema *s = NULL, *back = NULL;
		struct dml_buf again = DML_BUF_INIT;

		if (dml_schema_builder_finish(r->b, &s) != NULL || dml_schema_encode(s, schema) != NULL)
			abort();
		if (dml_schema_decode(&back, (const char *)schema->data, schema->len) != NULL ||
		    dml_schema_encode(back, &again) != NULL || again.len != schema->len ||
		    memcmp(again.data, schema->data, again.len) != 0)
			abort();
		dml_schema_free(s);
		dml_schema_free(back);
		dml_buf_release(&again);
	}
}

static int
same(const struct run *a, const char *amsg, const struct dml_buf *as, const struct run *b,
    const char *bmsg, const struct dml_buf *bs)
{
	return strcmp(amsg, bmsg) == 0 && a->dump.len == b->dump.len &&
	    (a->dump.len == 0 || memcmp(a->dump.data, b->dump.data, a->dump.len) == 0) &&
	    as->len == bs->len && (as->len == 0 || memcmp(as->data, bs->data, as->len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char msg1[DML_ERROR_MSGLEN], msg2[DML_ERROR_MSGLEN];
	struct dml_buf s1 = DML_BUF_INIT, s2 = DML_BUF_INIT;
	struct run whole, split;
	const uint8_t *in;
	size_t n, cut, *cuts, i;
	char sep;

	if (size == 0)
		return 0;
	sep = data[0] & 0x80 ? '\t' : ',';
	in = data + 1;
	n = size - 1;
	cut = (data[0] & 0x7f) % (n + 1);

	parse(in, n, sep, NULL, 0, &whole, msg1, &s1);
	parse(in, n, sep, &cut, 1, &split, msg2, &s2);
	if (!same(&whole, msg1, &s1, &split, msg2, &s2))
		abort();
	dml_buf_release(&split.dump);
	if (n <= 4096 && (cuts = malloc((n + 1) * sizeof(*cuts))) != NULL) {
		for (i = 0; i < n; i++)
			cuts[i] = i;
		parse(in, n, sep, cuts, n, &split, msg2, &s2);
		if (!same(&whole, msg1, &s1, &split, msg2, &s2))
			abort();
		dml_buf_release(&split.dump);
		free(cuts);
	}
	dml_buf_release(&whole.dump);
	dml_buf_release(&s1);
	dml_buf_release(&s2);
	return 0;
}
