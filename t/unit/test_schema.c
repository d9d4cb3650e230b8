/*
 * test_schema.c - schema inference and the canonical schema text
 * (dml/schema.h).
 *
 * Types are checked over a table of one-column inputs; statistics against
 * values this file computes itself (a two-pass mean and deviation in long
 * double, and an independent Welford in double that must agree bit for
 * bit); the canonical text against known answers, its own decoder, and a
 * table of near misses that must all be refused with the line named.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dml/buf.h"
#include "dml/csv.h"
#include "dml/schema.h"

/* ---------------------------------------------------------------------------
 * Helpers */

static struct dml_csv_field
fld(const char *s)
{
	return (struct dml_csv_field){ s, strlen(s), 0 };
}

/* A schema of one column "x" over the given values (NULL-terminated). */
static struct dml_schema *
one_column(const char *const *vals)
{
	struct dml_schema_builder *b = NULL;
	struct dml_schema *s = NULL;
	struct dml_csv_field h = fld("x"), f;
	size_t i;

	assert_null(dml_schema_builder_new(&b, &h, 1));
	for (i = 0; vals[i]; i++) {
		f = fld(vals[i]);
		assert_null(dml_schema_builder_add(b, &f, 1));
	}
	assert_null(dml_schema_builder_finish(b, &s));
	assert_non_null(s);
	assert_int_equal(s->ncols, 1);
	assert_true(s->rows == i);
	return s;
}

static char *
encode(const struct dml_schema *s)
{
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err = dml_schema_encode(s, &b);

	if (err)
		fail_msg("encode: %s", err->msg);
	return dml_buf_detach(&b, NULL);
}

/* Decode must give back a schema that encodes to exactly the text. */
static struct dml_schema *
decode_ok(const char *text)
{
	struct dml_schema *s = NULL;
	const struct dml_error *err = dml_schema_decode(&s, text, strlen(text));
	char *again;

	if (err)
		fail_msg("decode: %s\n--- text:\n%s", err->msg, text);
	again = encode(s);
	assert_string_equal(again, text);
	free(again);
	return s;
}

static int
same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

/*
 * Encode s, decode the text (which must encode back to itself), check that
 * nothing was lost, and free s: the decoded schema is returned.
 */
static struct dml_schema *
decode_ok_free(struct dml_schema *s)
{
	char *text = encode(s);
	struct dml_schema *d = decode_ok(text);
	size_t i;

	assert_int_equal(d->ncols, s->ncols);
	assert_true(d->rows == s->rows);
	for (i = 0; i < s->ncols; i++) {
		const struct dml_column *a = &s->cols[i], *b = &d->cols[i];
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->type, b->type);
		assert_true(a->count == b->count && a->missing == b->missing);
		assert_true(a->distinct == b->distinct);
		assert_int_equal(a->distinct_capped, b->distinct_capped);
		assert_true(same_double(a->min, b->min) && same_double(a->max, b->max));
		assert_true(same_double(a->mean, b->mean) && same_double(a->std, b->std));
	}
	free(text);
	dml_schema_free(s);
	return d;
}

static void
decode_fails(const char *text, const char *needle)
{
	struct dml_schema *s = (struct dml_schema *)1;
	const struct dml_error *err = dml_schema_decode(&s, text, strlen(text));

	if (err == NULL)
		fail_msg("accepted:\n%s", text);
	assert_null(s);
	if (err->code != DML_ERR_PARSE && err->code != DML_ERR_UNSUPPORTED)
		fail_msg("code %d: %s", err->code, err->msg);
	if (strstr(err->msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'\n--- text:\n%s", err->msg, needle, text);
}

/* ---------------------------------------------------------------------------
 * Types */

struct type_case {
	const char *vals[8];
	enum dml_coltype type;
	uint64_t count, missing;
};

static const struct type_case types[] = {
	{ { "true", "false", "TRUE", "False", "tRuE", NULL }, DML_COL_BOOLEAN, 5, 0 },
	{ { "true", "", "NA", "false", NULL }, DML_COL_BOOLEAN, 2, 2 },
	{ { "yes", "no", NULL }, DML_COL_STRING, 2, 0 },
	{ { "t", "f", NULL }, DML_COL_STRING, 2, 0 },
	{ { "truee", NULL }, DML_COL_STRING, 1, 0 },
	{ { "0", "-5", "007", "-0", "42", NULL }, DML_COL_INTEGER, 5, 0 },
	{ { "9223372036854775807", "-9223372036854775808", NULL }, DML_COL_INTEGER, 2, 0 },
	{ { "1", "9223372036854775808", NULL }, DML_COL_FLOAT, 2, 0 },
	{ { "-9223372036854775809", NULL }, DML_COL_FLOAT, 1, 0 },
	{ { "00000000000000000000000000001", NULL }, DML_COL_INTEGER, 1, 0 },
	{ { "1", "2.5", NULL }, DML_COL_FLOAT, 2, 0 },
	{ { "1e3", "1E-3", "+5", ".5", "5.", "-.5e+2", NULL }, DML_COL_FLOAT, 6, 0 },
	{ { "1e-999", NULL }, DML_COL_FLOAT, 1, 0 },
	{ { "1e999", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1", "1e999", NULL }, DML_COL_STRING, 2, 0 },
	{ { "inf", NULL }, DML_COL_STRING, 1, 0 },
	{ { "-Infinity", NULL }, DML_COL_STRING, 1, 0 },
	{ { "nan", NULL }, DML_COL_STRING, 1, 0 },
	{ { "NaN", NULL }, DML_COL_STRING, 1, 0 },
	{ { "0x10", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1,5", NULL }, DML_COL_STRING, 1, 0 },
	{ { " 1", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1 ", NULL }, DML_COL_STRING, 1, 0 },
	{ { "--1", NULL }, DML_COL_STRING, 1, 0 },
	{ { "-", NULL }, DML_COL_STRING, 1, 0 },
	{ { "+", NULL }, DML_COL_STRING, 1, 0 },
	{ { ".", NULL }, DML_COL_STRING, 1, 0 },
	{ { "e5", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1e", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1e+", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1.2.3", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1e5.5", NULL }, DML_COL_STRING, 1, 0 },
	{ { "1", "true", NULL }, DML_COL_STRING, 2, 0 },
	{ { "true", "2.5", NULL }, DML_COL_STRING, 2, 0 },
	{ { "1", "x", "2", NULL }, DML_COL_STRING, 3, 0 },
	{ { "", "NA", NULL }, DML_COL_STRING, 0, 2 },
	{ { "", NULL }, DML_COL_STRING, 0, 1 },
	{ { "na", "N/A", NULL }, DML_COL_STRING, 2, 0 },
	{ { "1", "NA", "", "3", NULL }, DML_COL_INTEGER, 2, 2 },
	{ { NULL }, DML_COL_STRING, 0, 0 },
};

static void
test_types(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct type_case *c = &types[i];
		struct dml_schema *s = one_column(c->vals);
		const struct dml_column *col = &s->cols[0];

		if (col->type != c->type)
			fail_msg("case %zu ('%s'...): type %s, expected %s", i,
			    c->vals[0] ? c->vals[0] : "", dml_coltype_name(col->type),
			    dml_coltype_name(c->type));
		if (col->count != c->count || col->missing != c->missing)
			fail_msg("case %zu: count %llu missing %llu", i,
			    (unsigned long long)col->count, (unsigned long long)col->missing);
		assert_string_equal(col->name, "x");
		dml_schema_free(decode_ok_free(s));
	}
}

/* ---------------------------------------------------------------------------
 * Statistics */

/* Two-pass mean and population deviation in long double. */
static void
two_pass(const double *v, size_t n, long double *mean, long double *std)
{
	long double sum = 0, ss = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += v[i];
	*mean = sum / n;
	for (i = 0; i < n; i++)
		ss += (v[i] - *mean) * (v[i] - *mean);
	*std = sqrtl(ss / n);
}

static void
assert_close(double got, long double want, double rel, const char *what)
{
	long double d = fabsl((long double)got - want), scale = fabsl(want) > 1 ? fabsl(want) : 1;

	if (d > rel * scale)
		fail_msg("%s: %.17g, expected %.17Lg", what, got, want);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	uint64_t x = rng_state += 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void
test_float_statistics(void **state)
{
	enum { N = 5000 };
	double *v = malloc(N * sizeof(*v)), mean = 0, m2 = 0, lo = INFINITY, hi = -INFINITY;
	char **text = calloc(N + 1, sizeof(*text));
	long double tmean, tstd;
	struct dml_schema *s;
	size_t i, k = 0;

	assert_non_null(v);
	assert_non_null(text);
	for (i = 0; i < N; i++) {
		char buf[64];
		double x = ((double)(rng() >> 11) / 9007199254740992.0 - 0.3) * 1000.0;
		double delta;

		if (i % 97 == 0) {
			text[i] = strdup(i % 2 ? "NA" : "");
			continue;
		}
		snprintf(buf, sizeof(buf), i % 3 ? "%.17g" : "%.3f", x);
		text[i] = strdup(buf);
		x = strtod(buf, NULL);
		v[k++] = x;
		/* An independent Welford, which the builder must match bit for bit. */
		delta = x - mean;
		mean += delta / (double)k;
		m2 += delta * (x - mean);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	s = one_column((const char *const *)text);
	assert_int_equal(s->cols[0].type, DML_COL_FLOAT);
	assert_true(s->cols[0].count == k);
	assert_true(s->cols[0].missing == N - k);
	assert_true(s->cols[0].min == lo);
	assert_true(s->cols[0].max == hi);
	assert_true(s->cols[0].mean == mean);
	assert_true(s->cols[0].std == sqrt(m2 / (double)k));
	assert_true(s->cols[0].distinct == 0);
	two_pass(v, k, &tmean, &tstd);
	assert_close(s->cols[0].mean, tmean, 1e-12, "mean");
	assert_close(s->cols[0].std, tstd, 1e-12, "std");
	dml_schema_free(decode_ok_free(s));
	for (i = 0; i < N; i++)
		free(text[i]);
	free(text);
	free(v);
}

static void
test_integer_and_boolean_statistics(void **state)
{
	static const char *const ints[] = { "3", "-7", "NA", "10", "0", "4", NULL };
	static const char *const bools[] = { "true", "false", "TRUE", "true", NULL };
	static const char *const extremes[] = { "9223372036854775807", "-9223372036854775808",
		NULL };
	static const char *const same[] = { "2.5", "2.5", "2.5", NULL };
	const double iv[] = { 3, -7, 10, 0, 4 };
	long double m, sd;
	struct dml_schema *s;

	s = one_column(ints);
	assert_int_equal(s->cols[0].type, DML_COL_INTEGER);
	assert_true(s->cols[0].min == -7 && s->cols[0].max == 10);
	two_pass(iv, 5, &m, &sd);
	assert_close(s->cols[0].mean, m, 1e-15, "mean");
	assert_close(s->cols[0].std, sd, 1e-15, "std");
	assert_true(s->cols[0].mean == 2);
	dml_schema_free(decode_ok_free(s));

	s = one_column(bools);
	assert_int_equal(s->cols[0].type, DML_COL_BOOLEAN);
	assert_true(s->cols[0].min == 0 && s->cols[0].max == 1);
	assert_true(s->cols[0].mean == 0.75);
	assert_close(s->cols[0].std, sqrtl(0.75L * 0.25L), 1e-15, "std");
	dml_schema_free(decode_ok_free(s));

	s = one_column(extremes);
	assert_int_equal(s->cols[0].type, DML_COL_INTEGER);
	assert_true(s->cols[0].max == 9223372036854775807.0);
	assert_true(s->cols[0].min == -9223372036854775808.0);
	dml_schema_free(decode_ok_free(s));

	s = one_column(same);
	assert_true(s->cols[0].mean == 2.5 && s->cols[0].std == 0);
	dml_schema_free(decode_ok_free(s));
}

/* Squares beyond DBL_MAX: the statistics overflow, and their spelling is fixed. */
static void
test_overflowing_statistics(void **state)
{
	static const char *const huge[] = { "1e308", "-1e308", NULL };
	struct dml_schema *s = one_column(huge);
	char *text = encode(s);

	assert_int_equal(s->cols[0].type, DML_COL_FLOAT);
	assert_true(s->cols[0].min == -1e308 && s->cols[0].max == 1e308);
	assert_true(isinf(s->cols[0].mean) && s->cols[0].mean < 0);
	assert_true(isnan(s->cols[0].std));
	assert_string_equal(text, "dmlctl-schema 1\nrows 2\n"
	    "column x float count 2 missing 0 min -1e+308 max 1e+308 mean -inf std nan\n");
	dml_schema_free(decode_ok_free(s));
	free(text);
}

/* Decimal text goes through Clinger's fast path or strtod: the bits must be strtod's. */
static void
test_float_parsing_matches_strtod(void **state)
{
	enum { N = 20000 };
	struct dml_csv_field *h = calloc(N, sizeof(*h)), *row = calloc(N, sizeof(*row));
	char *names = malloc(N * 8), *vals = malloc(N * 48);
	struct dml_schema_builder *b;
	struct dml_schema *s;
	size_t i;

	assert_non_null(h);
	assert_non_null(row);
	assert_non_null(names);
	assert_non_null(vals);
	for (i = 0; i < N; i++) {
		char *p = vals + 48 * i;
		uint64_t r = rng();
		int digits = 1 + (int)(r % 19), point = (int)((r >> 8) % (digits + 1)), j, o = 0;
		int ex = (int)((r >> 16) % 61) - 30;

		snprintf(names + 8 * i, 8, "c%zu", i);
		h[i] = fld(names + 8 * i);
		if ((r >> 24) & 1)
			p[o++] = '-';
		for (j = 0; j < digits; j++) {
			if (j == point && j > 0)
				p[o++] = '.';
			p[o++] = (char)('0' + (rng() % 10));
		}
		if ((r >> 25) & 1)
			o += snprintf(p + o, 16, "e%d", ex);
		else if (point == 0 || point == digits)
			p[o++] = '.';	/* not an integer */
		p[o] = '\0';
		row[i] = fld(p);
	}
	assert_null(dml_schema_builder_new(&b, h, N));
	assert_null(dml_schema_builder_add(b, row, N));
	assert_null(dml_schema_builder_finish(b, &s));
	for (i = 0; i < N; i++) {
		double want = strtod(row[i].p, NULL);
		if (s->cols[i].type != DML_COL_FLOAT || memcmp(&s->cols[i].min, &want, 8) != 0)
			fail_msg("'%s': %s %.17g, strtod says %.17g", row[i].p,
			    dml_coltype_name(s->cols[i].type), s->cols[i].min, want);
	}
	dml_schema_free(s);
	free(h);
	free(row);
	free(names);
	free(vals);
}

/* The process locale must not change how numbers are read or written. */
static void
test_locale_independent(void **state)
{
	static const char *const locales[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
		"fr_FR.utf8", "nl_NL.UTF-8", "ru_RU.UTF-8" };
	static const char *const vals[] = { "2.5", "1,5e3", "-0.25", NULL };
	static const char *const fvals[] = { "2.5", "-0.25", NULL };
	struct dml_schema *s;
	char *text;
	size_t i;

	for (i = 0; i < sizeof(locales) / sizeof(locales[0]); i++)
		if (setlocale(LC_ALL, locales[i]) != NULL)
			break;
	if (i == sizeof(locales) / sizeof(locales[0]) || localeconv()->decimal_point[0] != ',') {
		setlocale(LC_ALL, "C");
		skip();
	}
	s = one_column(vals);
	assert_int_equal(s->cols[0].type, DML_COL_STRING);	/* "1,5e3" is text */
	dml_schema_free(s);
	s = one_column(fvals);
	assert_int_equal(s->cols[0].type, DML_COL_FLOAT);
	assert_true(s->cols[0].min == -0.25 && s->cols[0].max == 2.5);
	text = encode(s);
	assert_string_equal(text, "dmlctl-schema 1\nrows 2\n"
	    "column x float count 2 missing 0 min -0.25 max 2.5 mean 1.125 std 1.375\n");
	dml_schema_free(decode_ok_free(s));
	free(text);
	setlocale(LC_ALL, "C");
}

/* ---------------------------------------------------------------------------
 * Distinct values */

static struct dml_schema *
distinct_column(size_t ndistinct, size_t repeat, const char *fmt)
{
	struct dml_schema_builder *b;
	struct dml_schema *s;
	struct dml_csv_field h = fld("s"), f;
	char buf[256];
	size_t i, r;

	assert_null(dml_schema_builder_new(&b, &h, 1));
	for (r = 0; r < repeat; r++) {
		for (i = 0; i < ndistinct; i++) {
			snprintf(buf, sizeof(buf), fmt, i);
			f = fld(buf);
			assert_null(dml_schema_builder_add(b, &f, 1));
		}
	}
	assert_null(dml_schema_builder_finish(b, &s));
	return s;
}

static void
test_distinct(void **state)
{
	static const char *const fmts[] = { "v%zu", "%zu",	/* short, and numbers in a string column */
		"a long value that is longer than thirty-nine bytes, number %zu",
		"%zu is the number at the start of this long value, past byte 39" };
	struct dml_schema *s;
	size_t k;

	for (k = 0; k < 4; k++) {
		const char *fmt = fmts[k];

		s = distinct_column(999, 3, fmt);
		if (k == 1) {
			/* Only numbers: an integer column, no distinct count. */
			assert_int_equal(s->cols[0].type, DML_COL_INTEGER);
			assert_true(s->cols[0].distinct == 0);
			dml_schema_free(s);
			continue;
		}
		assert_int_equal(s->cols[0].type, DML_COL_STRING);
		assert_true(s->cols[0].count == 2997);
		assert_true(s->cols[0].distinct == 999);
		assert_int_equal(s->cols[0].distinct_capped, 0);
		dml_schema_free(decode_ok_free(s));

		s = distinct_column(1000, 2, fmt);
		assert_true(s->cols[0].distinct == 1000);
		assert_int_equal(s->cols[0].distinct_capped, 0);
		dml_schema_free(decode_ok_free(s));

		s = distinct_column(1001, 1, fmt);
		assert_true(s->cols[0].distinct == DML_SCHEMA_DISTINCT_MAX);
		assert_int_equal(s->cols[0].distinct_capped, 1);
		dml_schema_free(decode_ok_free(s));
	}
}

/* Numbers seen before the column turns out to be text count as distinct values. */
static void
test_distinct_late_string(void **state)
{
	static const char *const vals[] = { "1", "2", "1", "01", "1.0", "x", "2", "NA", "", NULL };
	static const char *const longs[] = {
		"0123456789012345678901234567890123456789a",
		"0123456789012345678901234567890123456789b",
		"0123456789012345678901234567890123456789a",
		"012345678901234567890123456789012345678",	/* 39 bytes: kept inline */
		"012345678901234567890123456789012345678",
		NULL };
	struct dml_schema *s = one_column(vals);

	assert_int_equal(s->cols[0].type, DML_COL_STRING);
	assert_true(s->cols[0].count == 7 && s->cols[0].missing == 2);
	assert_true(s->cols[0].distinct == 5);
	assert_true(s->cols[0].mean == 0 && s->cols[0].std == 0);
	dml_schema_free(decode_ok_free(s));

	s = one_column(longs);
	assert_true(s->cols[0].distinct == 3);
	dml_schema_free(s);
}

/* ---------------------------------------------------------------------------
 * Canonical text */

/* The known answer: several columns, names that need escapes. */
static void
test_encode_known_answer(void **state)
{
	static const char *const header[] = { "id", "unit price %", "caf\xc3\xa9", "ok", "note",
		"empty" };
	static const char *const rows[][6] = {
		{ "1", "2.5", "a", "true", "x y", "" },
		{ "2", "NA", "b", "false", "x y", "NA" },
		{ "3", "-0.5", "a", "TRUE", "z", "" },
	};
	struct dml_csv_field h[6], f[6];
	struct dml_schema_builder *b;
	struct dml_schema *s;
	char *text;
	size_t i, r;

	for (i = 0; i < 6; i++)
		h[i] = fld(header[i]);
	assert_null(dml_schema_builder_new(&b, h, 6));
	for (r = 0; r < 3; r++) {
		for (i = 0; i < 6; i++)
			f[i] = fld(rows[r][i]);
		assert_null(dml_schema_builder_add(b, f, 6));
	}
	assert_null(dml_schema_builder_finish(b, &s));
	text = encode(s);
	assert_string_equal(text,
	    "dmlctl-schema 1\n"
	    "rows 3\n"
	    "column id integer count 3 missing 0 min 1 max 3 mean 2 std 0.81649658092772603\n"
	    "column unit%20price%20%25 float count 2 missing 1 min -0.5 max 2.5 mean 1 std 1.5\n"
	    "column caf%C3%A9 string count 3 missing 0 distinct 2\n"
	    "column ok boolean count 3 missing 0 min 0 max 1 mean 0.66666666666666663 std 0.47140452079103168\n"
	    "column note string count 3 missing 0 distinct 2\n"
	    "column empty string count 0 missing 3 distinct 0\n");
	assert_string_equal(s->cols[1].name, "unit price %");
	assert_string_equal(s->cols[2].name, "caf\xc3\xa9");
	dml_schema_free(s);
	s = decode_ok(text);
	assert_int_equal(s->ncols, 6);
	assert_true(s->rows == 3);
	assert_string_equal(s->cols[1].name, "unit price %");
	assert_string_equal(s->cols[2].name, "caf\xc3\xa9");
	assert_int_equal(s->cols[3].type, DML_COL_BOOLEAN);
	assert_true(s->cols[0].std == 0.81649658092772603);
	dml_schema_free(s);
	free(text);
}

static void
test_decode_round_trips(void **state)
{
	static const char *const good[] = {
		"dmlctl-schema 1\nrows 0\ncolumn a string count 0 missing 0 distinct 0\n",
		"dmlctl-schema 1\nrows 1001\ncolumn a string count 1001 missing 0 distinct 1000+\n",
		"dmlctl-schema 1\nrows 5\ncolumn a string count 4 missing 1 distinct 4\n",
		"dmlctl-schema 1\nrows 18446744073709551615\n"
		"column a string count 18446744073709551615 missing 0 distinct 1000+\n",
		"dmlctl-schema 1\nrows 2\ncolumn %25%20%C3%A9x float count 2 missing 0 "
		"min -1e-300 max 1.7976931348623157e+308 mean inf std inf\n",
		"dmlctl-schema 1\nrows 1\ncolumn a float count 1 missing 0 min -0 max -0 mean -0 std 0\n",
		"dmlctl-schema 1\nrows 3\ncolumn a integer count 3 missing 0 "
		"min -9.2233720368547758e+18 max 9.2233720368547758e+18 mean 0.10000000000000001 std 5\n"
		"column b boolean count 1 missing 2 min 1 max 1 mean 1 std 0\n",
		"dmlctl-schema 1\nrows 2\ncolumn x float count 2 missing 0 min 0 max 1 mean nan std nan\n",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		dml_schema_free(decode_ok(good[i]));
}

#define V "dmlctl-schema 1\n"
#define R "rows 3\n"
#define COL "column a integer count 3 missing 0 min 1 max 3 mean 2 std 1\n"

struct bad_text {
	const char *text;
	const char *needle;
};

static const struct bad_text bad_texts[] = {
	{ "", "newline" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 2 std 1", "newline" },
	{ V R, "line 3: expected 'column'" },
	{ V, "line 2: expected 'rows <count>'" },
	{ "dmlctl-schema 2\n" R COL, "line 1: unsupported" },
	{ "dmlctl-schema  1\n" R COL, "line 1: expected 'dmlctl-schema 1'" },
	{ "dmlctl-schema 1\r\n" R COL, "line 1: expected 'dmlctl-schema 1'" },
	{ V "rows 03\n" COL, "line 2" },
	{ V "rows -3\n" COL, "line 2" },
	{ V "rows 3 \n" COL, "line 2" },
	{ V "rows  3\n" COL, "line 2" },
	{ V "rows 18446744073709551616\n" COL, "line 2" },
	{ V "rows 3\r\n" COL, "line 2" },
	{ V R "\n", "line 3: expected 'column'" },
	{ V R COL "\n", "line 4: expected 'column'" },
	{ V R "columns a integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3" },
	{ V R "column  integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3" },
	{ V R "column a int count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: unknown type" },
	{ V R "column a Integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: unknown type" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 2 std 1 \n", "line 3" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 2 std 1 x 1\n", "line 3" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 2\n", "line 3: expected 'std" },
	{ V R "column a integer count 3 missing 0 max 3 min 1 mean 2 std 1\n", "line 3: expected 'min" },
	{ V R "column a integer missing 0 count 3 min 1 max 3 mean 2 std 1\n", "line 3: expected 'count" },
	{ V R "column a integer count 3 missing 0 min 1.0 max 3 mean 2 std 1\n", "line 3: expected 'min" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 2.0 std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 0.1 std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 1e0 std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean +2 std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 0x2 std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean -nan std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean NaN std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean infinity std 1\n", "line 3: expected 'mean" },
	{ V R "column a integer count 3 missing 0 min 1 max 3 mean 1e999 std 1\n", "line 3: expected 'mean" },
	{ V R "column a float count 3 missing 0 min nan max 3 mean 2 std 1\n", "line 3: expected 'min" },
	{ V R "column a float count 3 missing 0 min 1 max inf mean 2 std 1\n", "line 3: expected 'max" },
	{ V R "column a float count 3 missing 0 min 1 max 3 mean 2 std -1\n", "line 3: negative deviation" },
	{ V R "column a float count 3 missing 0 min 1 max 3 mean 2 std -0\n", "line 3: negative deviation" },
	{ V R "column a float count 3 missing 0 min 1 max 3 mean 2 std -inf\n", "line 3: negative deviation" },
	{ V R "column a float count 3 missing 0 min 3 max 1 mean 2 std 1\n", "line 3: min is above max" },
	{ V R "column a integer count 3 missing 0 min 1.5 max 3 mean 2 std 1\n", "line 3: integer bounds" },
	{ V R "column a boolean count 3 missing 0 min 0 max 2 mean 1 std 1\n", "line 3: boolean bounds" },
	{ V R "column a integer count 2 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: count and missing" },
	{ V R "column a integer count 4 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: count and missing" },
	{ V R "column a integer count 0 missing 3 min 1 max 3 mean 2 std 1\n", "line 3: numeric column without" },
	{ V R "column a integer count 3 missing 00 min 1 max 3 mean 2 std 1\n", "line 3: expected 'missing" },
	{ V R "column a string count 3 missing 0 distinct 4\n", "line 3: more distinct" },
	{ V R "column a string count 3 missing 0 distinct 0\n", "line 3: no distinct" },
	{ V R "column a string count 3 missing 0 distinct 3+\n", "line 3: expected 'distinct" },
	{ V R "column a string count 3 missing 0 distinct 1000+\n", "line 3: more distinct" },
	{ V "rows 1000\ncolumn a string count 1000 missing 0 distinct 1000+\n", "line 3: capped distinct" },
	{ V R "column a string count 3 missing 0 distinct +\n", "line 3: expected 'distinct" },
	{ V R "column a string count 3 missing 0 distinct\n", "line 3: expected 'distinct" },
	{ V R "column a string count 3 missing 0 distinct 2 min 0\n", "line 3: unexpected text" },
	{ V R "column a string count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: expected 'distinct" },
	{ V R "column a integer count 3 missing 0 distinct 3\n", "line 3: expected 'min" },
	{ V "rows 1001\ncolumn a string count 1001 missing 0 distinct 1001\n", "line 3: distinct count above" },
	{ V R "column a%20b%2 integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column a%2f integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column %41 integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column %00 integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column a\x80 integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column a%zz integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R "column a\tb integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "line 3: column name" },
	{ V R COL COL, "'schema' column 2: duplicate column name 'a' (columns 1 and 2)" },
	{ V R "column %0A integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "control character" },
	{ V R "column %FF integer count 3 missing 0 min 1 max 3 mean 2 std 1\n", "not valid UTF-8" },
	{ V R COL "rows 3\n", "line 4: expected 'column'" },
};

static void
test_decode_rejects(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++)
		decode_fails(bad_texts[i].text, bad_texts[i].needle);
	/* A NUL byte in the text. */
	{
		static const char t[] = V R "column a\0 integer count 3 missing 0 min 1 max 3 mean 2 std 1\n";
		struct dml_schema *s;
		assert_non_null(dml_schema_decode(&s, t, sizeof(t) - 1));
		assert_null(s);
	}
}

/* Encode refuses what it could not spell canonically. */
static void
test_encode_refuses(void **state)
{
	struct dml_column cols[2] = {
		{ .name = (char *)"a", .type = DML_COL_INTEGER, .count = 1, .min = 1, .max = 1,
		  .mean = 1 },
		{ .name = (char *)"a", .type = DML_COL_STRING, .count = 1, .distinct = 1 },
	};
	struct dml_schema s = { cols, 2, 1 };
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err;

	err = dml_schema_encode(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_non_null(strstr(err->msg, "duplicate"));
	assert_int_equal(b.len, 0);

	cols[1].name = (char *)"";
	err = dml_schema_encode(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);

	cols[1].name = (char *)"b";
	cols[1].type = (enum dml_coltype)7;
	err = dml_schema_encode(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);

	/* Appends to what the buffer holds. */
	cols[1].type = DML_COL_STRING;
	assert_null(dml_buf_adds(&b, "x"));
	assert_null(dml_schema_encode(&s, &b));
	assert_string_equal((char *)b.data, "xdmlctl-schema 1\nrows 1\n"
	    "column a integer count 1 missing 0 min 1 max 1 mean 1 std 0\n"
	    "column b string count 1 missing 0 distinct 1\n");
	dml_buf_release(&b);
}

static void
test_builder_usage(void **state)
{
	struct dml_csv_field h[2] = { fld("a"), fld("a") }, row[1] = { fld("1") };
	struct dml_schema_builder *b = (struct dml_schema_builder *)1;
	struct dml_schema *s;
	const struct dml_error *err;

	err = dml_schema_builder_new(&b, h, 2);
	assert_non_null(err);
	assert_null(b);
	assert_non_null(strstr(err->msg, "duplicate column name"));

	h[1] = fld("b");
	assert_null(dml_schema_builder_new(&b, h, 2));
	err = dml_schema_builder_add(b, row, 1);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	dml_schema_builder_free(b);

	/* A builder with no rows. */
	assert_null(dml_schema_builder_new(&b, h, 2));
	assert_null(dml_schema_builder_finish(b, &s));
	assert_true(s->rows == 0);
	assert_int_equal(s->cols[0].type, DML_COL_STRING);
	dml_schema_free(decode_ok_free(s));
	dml_schema_builder_free(NULL);
	dml_schema_free(NULL);
	assert_string_equal(dml_coltype_name(DML_COL_FLOAT), "float");
	assert_string_equal(dml_coltype_name((enum dml_coltype)9), "unknown");
}

/*
 * dml_value_read: every kind, and numbers bit-identical to strtod, on both
 * sides of the one-scan fast path's limits (18 digits, 2^53, a point).
 */
static void
test_value_read(void **state)
{
	static const struct {
		const char *text;
		int kind;
	} cases[] = {
		{ "0", DML_VALUE_INTEGER }, { "-0", DML_VALUE_INTEGER }, { "007", DML_VALUE_INTEGER },
		{ "123456789012345678", DML_VALUE_INTEGER },
		{ "1234567890123456789", DML_VALUE_INTEGER },
		{ "9223372036854775807", DML_VALUE_INTEGER },
		{ "9223372036854775808", DML_VALUE_FLOAT },
		{ "-9223372036854775808", DML_VALUE_INTEGER },
		{ "5.", DML_VALUE_FLOAT }, { ".5", DML_VALUE_FLOAT }, { "-.5", DML_VALUE_FLOAT },
		{ "0.1", DML_VALUE_FLOAT }, { "-1.5", DML_VALUE_FLOAT },
		{ "0.123456789012345678", DML_VALUE_FLOAT },
		{ "0.1234567890123456789", DML_VALUE_FLOAT },
		{ "9007199254740993.5", DML_VALUE_FLOAT }, { "90071992547409.93", DML_VALUE_FLOAT },
		{ "1e5", DML_VALUE_FLOAT }, { "+1", DML_VALUE_FLOAT }, { "+1.25", DML_VALUE_FLOAT },
		{ "1e999", DML_VALUE_STRING }, { "-", DML_VALUE_STRING }, { ".", DML_VALUE_STRING },
		{ "1.2.3", DML_VALUE_STRING }, { "--1", DML_VALUE_STRING }, { "1-", DML_VALUE_STRING },
		{ "inf", DML_VALUE_STRING }, { "nan", DML_VALUE_STRING }, { " 1", DML_VALUE_STRING },
		{ "True", DML_VALUE_BOOLEAN }, { "false", DML_VALUE_BOOLEAN },
		{ "NA", DML_VALUE_MISSING }, { "", DML_VALUE_MISSING }, { "na", DML_VALUE_STRING },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double x = 12345, want;
		int k = dml_value_read(cases[i].text, strlen(cases[i].text), &x);

		if (k != cases[i].kind)
			fail_msg("'%s': kind %d, expected %d", cases[i].text, k, cases[i].kind);
		if (k == DML_VALUE_INTEGER || k == DML_VALUE_FLOAT) {
			want = strtod(cases[i].text, NULL);
			if (memcmp(&x, &want, sizeof(x)) != 0)
				fail_msg("'%s': %.17g, strtod gives %.17g", cases[i].text, x, want);
		}
	}
	/* random plain decimals of every length agree with strtod bit for bit */
	{
		uint64_t st = 88172645463325252ull;
		for (i = 0; i < 200000; i++) {
			char buf[48];
			double x, want;
			int len, point, j;
			st ^= st << 13, st ^= st >> 7, st ^= st << 17;
			len = 1 + (int)(st % 20);
			point = (int)((st >> 8) % (uint64_t)(len + 1));
			j = 0;
			if ((st >> 20) & 1)
				buf[j++] = '-';
			for (int d = 0; d < len; d++) {
				if (d == point && d > 0)
					buf[j++] = '.';
				st ^= st << 13, st ^= st >> 7, st ^= st << 17;
				buf[j++] = (char)('0' + st % 10);
			}
			buf[j] = '\0';
			assert_true(dml_value_read(buf, (size_t)j, &x) >= DML_VALUE_INTEGER);
			want = strtod(buf, NULL);
			if (memcmp(&x, &want, sizeof(x)) != 0)
				fail_msg("'%s': %.17g, strtod gives %.17g", buf, x, want);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_float_statistics),
		cmocka_unit_test(test_integer_and_boolean_statistics),
		cmocka_unit_test(test_overflowing_statistics),
		cmocka_unit_test(test_float_parsing_matches_strtod),
		cmocka_unit_test(test_locale_independent),
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_distinct_late_string),
		cmocka_unit_test(test_encode_known_answer),
		cmocka_unit_test(test_decode_round_trips),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_builder_usage),
		cmocka_unit_test(test_value_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
