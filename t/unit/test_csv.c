/*
 * test_csv.c - the streaming CSV parser and header checks (dml/csv.h).
 *
 * Records are compared through a dump: one line per record, "<line>:" then
 * each field as <bytes> (unquoted) or q<bytes> (quoted), with \n, \r, \t,
 * \\, \< and \> escaped, so every expectation below reads as text.  Every
 * valid input must give the same dump fed whole, byte by byte and split in
 * two at every position; every malformed one the same message, however it
 * is split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dml/buf.h"
#include "dml/csv.h"

/* ---------------------------------------------------------------------------
 * Helpers */

static const struct dml_error *
dump_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct dml_buf *out = arg;
	const struct dml_error *err;
	size_t i, k;

	if ((err = dml_buf_addf(out, "%llu:", (unsigned long long)line)))
		return err;
	for (i = 0; i < n; i++) {
		if ((err = dml_buf_adds(out, f[i].quoted ? "q<" : "<")))
			return err;
		for (k = 0; k < f[i].len; k++) {
			char c = f[i].p[k];
			const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" :
			    c == '\\' ? "\\\\" : c == '<' ? "\\<" : c == '>' ? "\\>" : NULL;
			err = esc ? dml_buf_adds(out, esc) : dml_buf_add(out, &c, 1);
			if (err)
				return err;
		}
		if ((err = dml_buf_adds(out, ">")))
			return err;
	}
	return dml_buf_adds(out, "\n");
}

/*
 * Parse `in` cut at the given positions (increasing, ncuts of them); the
 * dump goes to *dump, the error message (or "") to msg.  Returns the record count.
 */
static uint64_t
parse_cuts(const char *in, size_t n, char sep, const size_t *cuts, size_t ncuts,
    struct dml_buf *dump, char *msg, size_t msglen)
{
	struct dml_csv *p = NULL;
	const struct dml_error *err = NULL;
	size_t at = 0, k;
	uint64_t records;

	dml_buf_reset(dump);
	assert_null(dml_csv_new(&p, sep, "t.csv"));
	for (k = 0; k <= ncuts && err == NULL; k++) {
		size_t to = k < ncuts ? cuts[k] : n;
		err = dml_csv_feed(p, in + at, to - at, dump_record, dump);
		at = to;
	}
	if (err == NULL)
		err = dml_csv_finish(p, dump_record, dump);
	snprintf(msg, msglen, "%s", err ? err->msg : "");
	if (err != NULL)
		assert_int_equal(err->code, DML_ERR_PARSE);
	records = dml_csv_records(p);
	dml_csv_free(p);
	return records;
}

/* Whole, byte by byte, and every 2-piece split must agree with `want_dump`/`want_msg`. */
static void
check_all_splits(const char *name, const char *in, size_t n, char sep, const char *want_dump,
    const char *want_msg)
{
	struct dml_buf dump = DML_BUF_INIT;
	char msg[DML_ERROR_MSGLEN];
	size_t *cuts = malloc((n + 1) * sizeof(*cuts)), i;

	assert_non_null(cuts);
	parse_cuts(in, n, sep, NULL, 0, &dump, msg, sizeof(msg));
	if (strcmp(msg, want_msg) != 0)
		fail_msg("%s: whole input: message '%s', expected '%s'", name, msg, want_msg);
	if (want_dump && strcmp(dump.data ? (char *)dump.data : "", want_dump) != 0)
		fail_msg("%s: whole input: records\n%s\nexpected\n%s", name,
		    dump.data ? (char *)dump.data : "", want_dump);

	for (i = 0; i < n; i++)
		cuts[i] = i;
	parse_cuts(in, n, sep, cuts, n, &dump, msg, sizeof(msg));
	if (strcmp(msg, want_msg) != 0)
		fail_msg("%s: byte by byte: message '%s', expected '%s'", name, msg, want_msg);
	if (want_dump && strcmp(dump.data ? (char *)dump.data : "", want_dump) != 0)
		fail_msg("%s: byte by byte: records\n%s\nexpected\n%s", name,
		    dump.data ? (char *)dump.data : "", want_dump);

	for (i = 0; i <= n; i++) {
		parse_cuts(in, n, sep, &i, 1, &dump, msg, sizeof(msg));
		if (strcmp(msg, want_msg) != 0)
			fail_msg("%s: split at %zu: message '%s', expected '%s'", name, i, msg,
			    want_msg);
		if (want_dump && strcmp(dump.data ? (char *)dump.data : "", want_dump) != 0)
			fail_msg("%s: split at %zu: records\n%s\nexpected\n%s", name, i,
			    dump.data ? (char *)dump.data : "", want_dump);
	}
	free(cuts);
	dml_buf_release(&dump);
}

/* ---------------------------------------------------------------------------
 * Valid inputs */

struct valid_case {
	const char *name;
	const char *in;
	char sep;
	const char *dump;	/* expected records */
	uint64_t records;
};

static const struct valid_case valid[] = {
	{ "simple", "a,b,c\n1,2,3\n", ',', "1:<a><b><c>\n2:<1><2><3>\n", 2 },
	{ "no final newline", "a,b\n1,2", ',', "1:<a><b>\n2:<1><2>\n", 2 },
	{ "crlf", "a,b\r\n1,2\r\n", ',', "1:<a><b>\n2:<1><2>\n", 2 },
	{ "crlf no final newline", "a,b\r\n1,2", ',', "1:<a><b>\n2:<1><2>\n", 2 },
	{ "mixed line ends", "a,b\r\n1,2\n3,4\r\n", ',', "1:<a><b>\n2:<1><2>\n3:<3><4>\n", 3 },
	{ "quoted separator", "a,b\n\"x,y\",z\n", ',', "1:<a><b>\n2:q<x,y><z>\n", 2 },
	{ "doubled quotes", "a\n\"say \"\"hi\"\"\"\n", ',', "1:<a>\n2:q<say \"hi\">\n", 2 },
	{ "only a doubled quote", "a,b\n\"\"\"\",x\n", ',', "1:<a><b>\n2:q<\"><x>\n", 2 },
	{ "doubled quotes at the ends", "a\n\"\"\"x\"\"\"\n", ',', "1:<a>\n2:q<\"x\">\n", 2 },
	{ "embedded lf", "a,b\n\"line1\nline2\",x\n3,4\n", ',',
	    "1:<a><b>\n2:q<line1\\nline2><x>\n4:<3><4>\n", 3 },
	{ "embedded crlf", "a,b\r\n\"l1\r\nl2\",x\r\n3,4\r\n", ',',
	    "1:<a><b>\n2:q<l1\\r\\nl2><x>\n4:<3><4>\n", 3 },
	{ "lone cr inside quotes", "a\n\"x\ry\"\n", ',', "1:<a>\n2:q<x\\ry>\n", 2 },
	{ "empty fields", "a,b,c\n,,\n", ',', "1:<a><b><c>\n2:<><><>\n", 2 },
	{ "empty field last without newline", "a,b\nx,", ',', "1:<a><b>\n2:<x><>\n", 2 },
	{ "empty quoted field", "a,b\n\"\",x\n", ',', "1:<a><b>\n2:q<><x>\n", 2 },
	{ "empty quoted field last", "a,b\nx,\"\"", ',', "1:<a><b>\n2:<x>q<>\n", 2 },
	{ "quoted crlf end", "a,b\r\n\"1\",\"2\"\r\n", ',', "1:<a><b>\n2:q<1>q<2>\n", 2 },
	{ "quoted header", "\"a\",\"b c\"\n1,2\n", ',', "1:q<a>q<b c>\n2:<1><2>\n", 2 },
	{ "one column", "x\n1\n2\n", ',', "1:<x>\n2:<1>\n3:<2>\n", 3 },
	{ "one column empty line", "x\n1\n\n2\n", ',', "1:<x>\n2:<1>\n3:<>\n4:<2>\n", 4 },
	{ "one column final empty line", "x\n\n", ',', "1:<x>\n2:<>\n", 2 },
	{ "one row", "a,b,c\n", ',', "1:<a><b><c>\n", 1 },
	{ "one row no newline", "a,b,c", ',', "1:<a><b><c>\n", 1 },
	{ "only a newline", "\n", ',', "1:<>\n", 1 },
	{ "empty input", "", ',', "", 0 },
	{ "tsv", "a\tb\n1\t2,5\n", '\t', "1:<a><b>\n2:<1><2,5>\n", 2 },
	{ "tsv quoted tab", "a\tb\n\"x\ty\"\tz\n", '\t', "1:<a><b>\n2:q<x\\ty><z>\n", 2 },
	{ "tsv crlf", "a\tb\r\n1\t\r\n", '\t', "1:<a><b>\n2:<1><>\n", 2 },
	{ "utf-8", "nom,ville\nRen\xc3\xa9,\xe6\x9d\xb1\xe4\xba\xac\n", ',',
	    "1:<nom><ville>\n2:<Ren\xc3\xa9><\xe6\x9d\xb1\xe4\xba\xac>\n", 2 },
	{ "spaces kept", "a,b\n x , y \n", ',', "1:<a><b>\n2:< x >< y >\n", 2 },
	{ "quoted then crlf in last record", "a\n\"x\"\r\n", ',', "1:<a>\n2:q<x>\n", 2 },
	{ "escapes in dump", "a\n<\\>\n", ',', "1:<a>\n2:<\\<\\\\\\>>\n", 2 },
	{ "many doubled quotes across fields", "a,b\n\"\"\"\"\"\",\"a\"\"b\"\"c\"\n", ',',
	    "1:<a><b>\n2:q<\"\">q<a\"b\"c>\n", 2 },
};

static void
test_valid_inputs(void **state)
{
	struct dml_buf dump = DML_BUF_INIT;
	char msg[DML_ERROR_MSGLEN];
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct valid_case *c = &valid[i];
		uint64_t r = parse_cuts(c->in, strlen(c->in), c->sep, NULL, 0, &dump, msg,
		    sizeof(msg));
		if (r != c->records)
			fail_msg("%s: %llu records, expected %llu", c->name, (unsigned long long)r,
			    (unsigned long long)c->records);
		check_all_splits(c->name, c->in, strlen(c->in), c->sep, c->dump, "");
	}
	dml_buf_release(&dump);
}

/* ---------------------------------------------------------------------------
 * Malformed inputs */

struct bad_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen */
	char sep;
	const char *msg;
};

static const struct bad_case bad[] = {
	{ "quote in unquoted field", "a,b\nx,y\"z\n", 0, ',',
	    "'t.csv' line 2, column 4: quote in unquoted field" },
	{ "quote after text", "a\nab\"\n", 0, ',',
	    "'t.csv' line 2, column 3: quote in unquoted field" },
	{ "text after closing quote", "a,b\n\"x\"y,z\n", 0, ',',
	    "'t.csv' line 2, column 4: expected ',' or line end after closing quote" },
	{ "space after closing quote", "a,b\n\"x\" ,z\n", 0, ',',
	    "'t.csv' line 2, column 4: expected ',' or line end after closing quote" },
	{ "tsv text after closing quote", "a\tb\n\"x\",z\n", 0, '\t',
	    "'t.csv' line 2, column 4: expected tab or line end after closing quote" },
	{ "bare cr", "a,b\r1,2\n", 0, ',',
	    "'t.csv' line 1, column 4: carriage return not followed by line feed" },
	{ "bare cr at end", "a,b\n1,2\r", 0, ',',
	    "'t.csv' line 2, column 4: carriage return not followed by line feed" },
	{ "bare cr after quote", "a\n\"x\"\ry\n", 0, ',',
	    "'t.csv' line 2, column 4: carriage return not followed by line feed" },
	{ "cr cr lf", "a\r\r\n", 0, ',',
	    "'t.csv' line 1, column 2: carriage return not followed by line feed" },
	{ "nul unquoted", "a,b\n1,\0002\n", 9, ',', "'t.csv' line 2, column 3: NUL byte" },
	{ "nul quoted", "a,b\n1,\"x\0\"\n", 11, ',', "'t.csv' line 2, column 5: NUL byte" },
	{ "nul after closing quote", "a\n\"x\"\0\n", 7, ',', "'t.csv' line 2, column 4: NUL byte" },
	{ "nul in header", "\0", 1, ',', "'t.csv' line 1, column 1: NUL byte" },
	{ "unterminated quote", "a,b\n1,2\n\"x,\ny\nzz", 0, ',',
	    "'t.csv' line 5, column 3: unterminated quoted field (opened on line 3)" },
	{ "unterminated quote, final newline", "a\n\"x\n", 0, ',',
	    "'t.csv' line 3, column 1: unterminated quoted field (opened on line 2)" },
	{ "unterminated after doubled quote", "a\n\"x\"\"", 0, ',',
	    "'t.csv' line 2, column 5: unterminated quoted field (opened on line 2)" },
	{ "lone quote", "\"", 0, ',',
	    "'t.csv' line 1, column 2: unterminated quoted field (opened on line 1)" },
	{ "too few fields", "a,b,c,d\n1,2,3,4\n1,2,3\n", 0, ',',
	    "'t.csv' line 3: expected 4 fields, found 3" },
	{ "too many fields", "a,b\n1,2,3,4,5\n", 0, ',',
	    "'t.csv' line 2: expected 2 fields, found 5" },
	{ "too few fields without newline", "a,b\n1", 0, ',',
	    "'t.csv' line 2: expected 2 fields, found 1" },
	{ "empty line", "a,b\n1,2\n\n3,4\n", 0, ',',
	    "'t.csv' line 3: expected 2 fields, found 1" },
	{ "field count names the record's first line", "a,b\n\"x\ny\"\n", 0, ',',
	    "'t.csv' line 2: expected 2 fields, found 1" },
	{ "column counts bytes", "h\n\xc3\xa9\xc3\xa9\"\n", 0, ',',
	    "'t.csv' line 2, column 5: quote in unquoted field" },
	{ "column after quoted newline", "a,b\n\"x\ny\"z,1\n", 0, ',',
	    "'t.csv' line 3, column 3: expected ',' or line end after closing quote" },
};

static void
test_malformed_inputs(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_case *c = &bad[i];
		check_all_splits(c->name, c->in, c->len ? c->len : strlen(c->in), c->sep, NULL,
		    c->msg);
	}
}

/* Records before the error are delivered, and nothing after it. */
static void
test_records_before_error(void **state)
{
	struct dml_buf dump = DML_BUF_INIT;
	char msg[DML_ERROR_MSGLEN];
	const char *in = "a,b\n1,2\n3,\"4\n5,6\n";

	parse_cuts(in, strlen(in), ',', NULL, 0, &dump, msg, sizeof(msg));
	assert_string_equal((char *)dump.data, "1:<a><b>\n2:<1><2>\n");
	assert_string_equal(msg, "'t.csv' line 5, column 1: unterminated quoted field (opened on line 3)");
	dml_buf_release(&dump);
}

/* ---------------------------------------------------------------------------
 * API behaviour */

static const struct dml_error *
fail_on_second(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	int *calls = arg;

	if (++*calls == 2)
		return dml_error_fmt(DML_ERR_VERIFY, "callback says no on line %llu",
		    (unsigned long long)line);
	return NULL;
}

static void
test_callback_error_is_sticky(void **state)
{
	struct dml_csv *p;
	const struct dml_error *err;
	int calls = 0;

	assert_null(dml_csv_new(&p, ',', "t.csv"));
	err = dml_csv_feed(p, "a\n1\n2\n", 6, fail_on_second, &calls);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_string_equal(err->msg, "callback says no on line 2");
	assert_int_equal(calls, 2);
	err = dml_csv_feed(p, "3\n", 2, fail_on_second, &calls);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_string_equal(err->msg, "callback says no on line 2");
	err = dml_csv_finish(p, fail_on_second, &calls);
	assert_non_null(err);
	assert_string_equal(err->msg, "callback says no on line 2");
	assert_int_equal(calls, 2);
	dml_csv_free(p);
}

static void
test_parse_error_is_sticky(void **state)
{
	struct dml_csv *p;
	const struct dml_error *err;

	assert_null(dml_csv_new(&p, ',', "t.csv"));
	err = dml_csv_feed(p, "a\nx\"\n", 5, NULL, NULL);
	assert_non_null(err);
	assert_string_equal(err->msg, "'t.csv' line 2, column 2: quote in unquoted field");
	err = dml_csv_feed(p, "ok\n", 3, NULL, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_string_equal(err->msg, "'t.csv' line 2, column 2: quote in unquoted field");
	dml_csv_free(p);
}

static void
test_usage(void **state)
{
	struct dml_csv *p = (struct dml_csv *)1;
	const struct dml_error *err;

	err = dml_csv_new(&p, ';', "t.csv");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_null(p);

	assert_null(dml_csv_new(&p, ',', "t.csv"));
	assert_null(dml_csv_feed(p, "a\n1", 3, NULL, NULL));
	assert_int_equal(dml_csv_records(p), 1);
	assert_null(dml_csv_finish(p, NULL, NULL));
	assert_int_equal(dml_csv_records(p), 2);
	assert_null(dml_csv_finish(p, NULL, NULL));	/* again: nothing */
	assert_int_equal(dml_csv_records(p), 2);
	err = dml_csv_feed(p, "2\n", 2, NULL, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	dml_csv_free(p);
	dml_csv_free(NULL);
}

/* Feeds of zero bytes change nothing, also between CR and LF and inside quotes. */
static void
test_empty_feeds(void **state)
{
	struct dml_buf dump = DML_BUF_INIT;
	struct dml_csv *p;
	const char *in = "a,b\r\n\"x\"\"y\",z\r\n";
	size_t i;

	assert_null(dml_csv_new(&p, ',', "t.csv"));
	for (i = 0; in[i]; i++) {
		assert_null(dml_csv_feed(p, in + i, 0, dump_record, &dump));
		assert_null(dml_csv_feed(p, in + i, 1, dump_record, &dump));
	}
	assert_null(dml_csv_finish(p, dump_record, &dump));
	assert_string_equal((char *)dump.data, "1:<a><b>\n2:q<x\"y><z>\n");
	dml_csv_free(p);
	dml_buf_release(&dump);
}

/*
 * Longer inputs, split at pseudo-random points into many pieces: whole,
 * the parser scans 16 bytes at a time; in short pieces, byte by byte.
 */
static void
test_random_pieces(void **state)
{
	struct dml_buf text = DML_BUF_INIT, whole = DML_BUF_INIT, pieces = DML_BUF_INIT;
	char msg[DML_ERROR_MSGLEN];
	static const char *const vals[] = { "1", "-2.5", "", "\"\"", "\"a,b\"", "\"q\"\"q\"",
		"\"l1\nl2\"", "\"l1\r\nl2\"", "text", "\"\"\"\"", "\xc3\xa9t\xc3\xa9",
		/* longer than the 16 bytes the parser scans at once */
		"0123456789abcdefghijklmnopqrstuvwxyz0123456789",
		"\"0123456789abcdef,0123456789abcdef\r\n0123456789abcdefghij\"\"x\"" };
	uint32_t seed = 12345;
	size_t cuts[64], r, c, k, j;

	assert_null(dml_buf_adds(&text, "a,b,c,d\n"));
	for (r = 0; r < 300; r++) {
		for (c = 0; c < 4; c++) {
			seed = seed * 1103515245 + 12345;
			assert_null(dml_buf_adds(&text, vals[(seed >> 16) % 13]));
			assert_null(dml_buf_adds(&text, c < 3 ? "," : (seed >> 8) & 1 ? "\r\n" : "\n"));
		}
	}
	parse_cuts((char *)text.data, text.len, ',', NULL, 0, &whole, msg, sizeof(msg));
	assert_string_equal(msg, "");
	for (k = 0; k < 50; k++) {
		size_t last = 0;
		for (j = 0; j < 64; j++) {
			seed = seed * 1103515245 + 12345;
			last += (seed >> 16) % (2 * text.len / 64 + 1);
			if (last > text.len)
				last = text.len;
			cuts[j] = last;
		}
		parse_cuts((char *)text.data, text.len, ',', cuts, 64, &pieces, msg, sizeof(msg));
		assert_string_equal(msg, "");
		assert_int_equal(pieces.len, whole.len);
		assert_memory_equal(pieces.data, whole.data, whole.len);
	}
	dml_buf_release(&text);
	dml_buf_release(&whole);
	dml_buf_release(&pieces);
}

/* ---------------------------------------------------------------------------
 * Limits */

static const struct dml_error *
count_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	size_t *total = arg;

	*total += n;
	return NULL;
}

static void
test_record_limit(void **state)
{
	size_t n = DML_CSV_RECORD_MAX + 16, total = 0, off, step;
	char *in = malloc(n);
	char want[256];
	struct dml_csv *p;
	const struct dml_error *err;
	int pass;

	assert_non_null(in);
	memcpy(in, "h\nx\n", 4);
	memset(in + 4, 'y', n - 4);
	/* The record on line 3 starts at offset 4; its byte MAX + 1 is refused. */
	snprintf(want, sizeof(want),
	    "'t.csv' line 3, column %u: record longer than %u bytes (started on line 3)",
	    DML_CSV_RECORD_MAX + 1, DML_CSV_RECORD_MAX);
	for (pass = 0; pass < 3; pass++) {
		step = pass == 0 ? n : pass == 1 ? 1u << 20 : 65521;
		assert_null(dml_csv_new(&p, ',', "t.csv"));
		err = NULL;
		for (off = 0; off < n && err == NULL; off += step)
			err = dml_csv_feed(p, in + off, n - off < step ? n - off : step, count_record,
			    &total);
		assert_non_null(err);
		assert_string_equal(err->msg, want);
		assert_int_equal(dml_csv_records(p), 2);
		dml_csv_free(p);
	}
	/* Exactly at the limit, line break included, is fine. */
	in[4 + DML_CSV_RECORD_MAX - 1] = '\n';
	assert_null(dml_csv_new(&p, ',', "t.csv"));
	assert_null(dml_csv_feed(p, in, 4 + DML_CSV_RECORD_MAX, count_record, &total));
	assert_null(dml_csv_finish(p, count_record, &total));
	assert_int_equal(dml_csv_records(p), 3);
	dml_csv_free(p);
	free(in);
}

static void
test_field_limit(void **state)
{
	size_t n = 2 * (DML_CSV_FIELDS_MAX + 1), i;
	char *in = malloc(n);
	char want[256];
	struct dml_csv *p;
	const struct dml_error *err;

	assert_non_null(in);
	for (i = 0; i < n; i += 2) {
		in[i] = 'c';
		in[i + 1] = ',';
	}
	in[n - 1] = '\n';
	snprintf(want, sizeof(want), "'t.csv' line 1, column %zu: more than %u fields",
	    2 * (size_t)DML_CSV_FIELDS_MAX + 2, DML_CSV_FIELDS_MAX);
	assert_null(dml_csv_new(&p, ',', "t.csv"));
	err = dml_csv_feed(p, in, n, NULL, NULL);
	assert_non_null(err);
	assert_string_equal(err->msg, want);
	dml_csv_free(p);

	/* One field fewer is fine. */
	assert_null(dml_csv_new(&p, ',', "t.csv"));
	assert_null(dml_csv_feed(p, in + 2, n - 2, NULL, NULL));
	assert_null(dml_csv_finish(p, NULL, NULL));
	dml_csv_free(p);
	free(in);
}

/* ---------------------------------------------------------------------------
 * Header checks */

static void
header_fails(const char *const *names, const size_t *lens, size_t n, const char *want)
{
	struct dml_csv_field *f = calloc(n ? n : 1, sizeof(*f));
	const struct dml_error *err;
	size_t i;

	assert_non_null(f);
	for (i = 0; i < n; i++) {
		f[i].p = names[i];
		f[i].len = lens && lens[i] ? lens[i] : strlen(names[i]);
	}
	err = dml_csv_header_check(f, n, "t.csv");
	if (err == NULL)
		fail_msg("header accepted, expected '%s'", want);
	assert_int_equal(err->code, DML_ERR_PARSE);
	if (strcmp(err->msg, want) != 0)
		fail_msg("message '%s', expected '%s'", err->msg, want);
	free(f);
}

static void
header_ok(const char *const *names, size_t n)
{
	struct dml_csv_field f[16];
	const struct dml_error *err;
	size_t i;

	for (i = 0; i < n; i++)
		f[i] = (struct dml_csv_field){ names[i], strlen(names[i]), 0 };
	if ((err = dml_csv_header_check(f, n, "t.csv")))
		fail_msg("header refused: %s", err->msg);
}

static void
test_header_rules(void **state)
{
	static const char *const ok1[] = { "a" };
	static const char *const ok2[] = { "age", "Age", "\xc3\xa9t\xc3\xa9", "unit price %",
		"\xf0\x9f\x98\x80", "a b", "\xc2\xa0nbsp", "\xef\xbf\xbf" };
	static const char *const empty[] = { "a", "", "c" };
	static const char *const dup[] = { "a", "b", "c", "b", "a" };
	static const char *const dup3[] = { "x", "y", "x", "x" };
	static const char *const ctl[] = { "a", "b\tc" };
	static const char *const del[] = { "a\x7f" };
	static const char *const c1[] = { "ok", "x\xc2\x85" };
	static const char *const lf[] = { "a\n" };
	static const char *const bad1[] = { "a", "b\xff" };
	static const char *const overlong[] = { "\xc0\xaf" };
	static const char *const surrogate[] = { "x", "y", "\xed\xa0\x80" };
	static const char *const beyond[] = { "\xf4\x90\x80\x80" };
	static const char *const truncated[] = { "ab\xe2\x82" };
	static const char *const overlong3[] = { "\xe0\x80\xaf" };
	static const char *const nul[] = { "a\0b" };
	static const size_t nul_len[] = { 3 };

	header_ok(ok1, 1);
	header_ok(ok2, sizeof(ok2) / sizeof(ok2[0]));
	header_fails(NULL, NULL, 0, "'t.csv': header has no columns");
	header_fails(empty, NULL, 3, "'t.csv' column 2: empty column name");
	header_fails(dup, NULL, 5, "'t.csv' column 4: duplicate column name 'b' (columns 2 and 4)");
	header_fails(dup3, NULL, 4, "'t.csv' column 3: duplicate column name 'x' (columns 1 and 3)");
	header_fails(ctl, NULL, 2,
	    "'t.csv' column 2: column name contains control character U+0009 (byte 2)");
	header_fails(del, NULL, 1,
	    "'t.csv' column 1: column name contains control character U+007F (byte 2)");
	header_fails(c1, NULL, 2,
	    "'t.csv' column 2: column name contains control character U+0085 (byte 2)");
	header_fails(lf, NULL, 1,
	    "'t.csv' column 1: column name contains control character U+000A (byte 2)");
	header_fails(nul, nul_len, 1,
	    "'t.csv' column 1: column name contains control character U+0000 (byte 2)");
	header_fails(bad1, NULL, 2, "'t.csv' column 2: column name is not valid UTF-8 (byte 2)");
	header_fails(overlong, NULL, 1, "'t.csv' column 1: column name is not valid UTF-8 (byte 1)");
	header_fails(overlong3, NULL, 1, "'t.csv' column 1: column name is not valid UTF-8 (byte 1)");
	header_fails(surrogate, NULL, 3, "'t.csv' column 3: column name is not valid UTF-8 (byte 1)");
	header_fails(beyond, NULL, 1, "'t.csv' column 1: column name is not valid UTF-8 (byte 1)");
	header_fails(truncated, NULL, 1, "'t.csv' column 1: column name is not valid UTF-8 (byte 3)");
}

/* A long duplicated name is shown cut at a character boundary. */
static void
test_header_duplicate_long_name(void **state)
{
	char name[301], want[512];
	const char *names[2] = { name, name };
	size_t i;

	for (i = 0; i < 300; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[300] = '\0';
	snprintf(want, sizeof(want),
	    "'t.csv' column 2: duplicate column name '%.80s...' (columns 1 and 2)", name);
	header_fails(names, NULL, 2, want);
}

/* Headers of 10,000 and 200,000 columns: sorted, not compared pairwise. */
static void
test_header_wide(void **state)
{
	size_t n = 200000, i;
	struct dml_csv_field *f = calloc(n, sizeof(*f));
	char *names = malloc(n * 8);
	const struct dml_error *err;
	clock_t t0;

	assert_non_null(f);
	assert_non_null(names);
	for (i = 0; i < n; i++) {
		snprintf(names + 8 * i, 8, "c%zu", i);
		f[i] = (struct dml_csv_field){ names + 8 * i, strlen(names + 8 * i), 0 };
	}
	assert_null(dml_csv_header_check(f, 10000, "t.csv"));
	t0 = clock();
	assert_null(dml_csv_header_check(f, n, "t.csv"));
	/* A pairwise check would take minutes here. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);

	/* The last of 10,000 repeats the first. */
	f[9999] = f[0];
	err = dml_csv_header_check(f, 10000, "t.csv");
	assert_non_null(err);
	assert_string_equal(err->msg,
	    "'t.csv' column 10000: duplicate column name 'c0' (columns 1 and 10000)");
	/* Of two duplicates, the one whose repeat comes first. */
	f[5000] = f[7];
	err = dml_csv_header_check(f, 10000, "t.csv");
	assert_non_null(err);
	assert_string_equal(err->msg,
	    "'t.csv' column 5001: duplicate column name 'c7' (columns 8 and 5001)");
	free(f);
	free(names);
}

/* A wide file parses and checks through the parser itself. */
static const struct dml_error *
check_header_cb(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	size_t *ncols = arg;

	if (line == 1) {
		*ncols = n;
		return dml_csv_header_check(f, n, "wide.csv");
	}
	return NULL;
}

static void
test_wide_file(void **state)
{
	struct dml_buf in = DML_BUF_INIT;
	struct dml_csv *p;
	size_t i, r, ncols = 0;

	for (i = 0; i < 10000; i++)
		assert_null(dml_buf_addf(&in, "%scol%zu", i ? "," : "", i));
	assert_null(dml_buf_adds(&in, "\n"));
	for (r = 0; r < 3; r++) {
		for (i = 0; i < 10000; i++)
			assert_null(dml_buf_addf(&in, "%s%zu", i ? "," : "", i * r));
		assert_null(dml_buf_adds(&in, "\r\n"));
	}
	assert_null(dml_csv_new(&p, ',', "wide.csv"));
	assert_null(dml_csv_feed(p, in.data, in.len, check_header_cb, &ncols));
	assert_null(dml_csv_finish(p, check_header_cb, &ncols));
	assert_int_equal(ncols, 10000);
	assert_int_equal(dml_csv_records(p), 4);
	dml_csv_free(p);
	dml_buf_release(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_inputs),
		cmocka_unit_test(test_malformed_inputs),
		cmocka_unit_test(test_records_before_error),
		cmocka_unit_test(test_callback_error_is_sticky),
		cmocka_unit_test(test_parse_error_is_sticky),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_empty_feeds),
		cmocka_unit_test(test_random_pieces),
		cmocka_unit_test(test_record_limit),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_header_duplicate_long_name),
		cmocka_unit_test(test_header_wide),
		cmocka_unit_test(test_wide_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
