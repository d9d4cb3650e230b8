/*
 * dml/schema.h - schema inference for tabular data.
 *
 * Each column gets the narrowest type that fits every non-missing value:
 *	boolean		true/false (any letter case)
 *	integer		an optional '-' then ASCII digits (leading zeros allowed),
 *			within 64 bits (INT64_MIN..INT64_MAX)
 *	float		a finite decimal number: an optional sign ('+' or '-'),
 *			digits with at most one '.' and at least one digit, and
 *			an optional exponent ('e' or 'E', optional sign, digits),
 *			read by strtod in the "C" locale whatever the process
 *			locale; its value must be finite (1e999 is a string, an
 *			underflow such as 1e-999 is a float).  No spaces, hex,
 *			inf or nan.  An integer literal beyond 64 bits is a float.
 *	string		anything else (categorical)
 * Booleans mixed with numbers make a string column; integers mixed with
 * floats make a float column.  A value is missing when it is empty or
 * exactly "NA" (quoted or not).  Columns with only missing values are
 * "string".  Numbers get count, missing, min, max, mean and standard
 * deviation (population, by Welford's update in double precision, in input
 * order so the result is deterministic; integers beyond 2^53 are rounded to
 * the nearest double); booleans count as 0 and 1.  Strings get the number of
 * distinct values (compared byte for byte) up to DML_SCHEMA_DISTINCT_MAX,
 * beyond it "more than" (distinct = DML_SCHEMA_DISTINCT_MAX and
 * distinct_capped = 1).  Fields that do not apply to a type are zero: the
 * statistics of strings, the distinct count of the others.
 *
 * Memory is bounded by the column count: a column remembers at most
 * DML_SCHEMA_DISTINCT_MAX distinct values, each as a copy of up to 39 bytes
 * or, if longer, as its SHA-256 (about 52 KiB per column at worst), and
 * forgets them once it has seen more.
 *
 * The canonical text (dml_schema_encode) is what the ledger digests, and a
 * schema has exactly one spelling.  It is ASCII, every line ends with LF,
 * tokens are separated by one space, and there is nothing else:
 *
 *	dmlctl-schema 1
 *	rows <R>
 *	column <name> <type> count <C> missing <M> min <F> max <F> mean <F> std <F>
 *	column <name> string count <C> missing <M> distinct <D>
 *
 * with one "column" line per column, in header order, at least one.  The
 * first form is for boolean, integer and float columns, the second for
 * strings, where <D> is the count, or "1000+" (DML_SCHEMA_DISTINCT_MAX
 * followed by '+') when there were more.  <R>, <C>, <M> and <D> are decimal
 * without leading zeros; <F> is printf's "%.17g" in the C locale, except
 * that a mean or deviation that overflowed (values near DBL_MAX) is spelled
 * "inf", "-inf" or "nan".  <name> is the column name with every byte outside
 * '!'..'~' and every '%' written as '%' and two uppercase hex digits, so
 * "unit price %" is "unit%20price%20%25" and "é" is "%C3%A9".
 *
 * dml_schema_decode accepts exactly what dml_schema_encode writes: any other
 * spelling (lowercase hex, a needless escape, "1.0" for 1, a leading zero,
 * CRLF, a trailing space) is DML_ERR_PARSE naming the line, and so are
 * inconsistent statistics: count + missing != rows, a numeric column
 * without values, min > max, boolean bounds other than 0 and 1, integer
 * bounds that are not whole, a distinct count above the count, and column
 * names that break the header rules of dml_csv_header_check().  Thus
 * encode(decode(text)) == text for every text that decodes.
 */
#ifndef DML_SCHEMA_H
#define DML_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/csv.h"
#include "dml/error.h"

#define DML_SCHEMA_DISTINCT_MAX 1000

enum dml_coltype { DML_COL_BOOLEAN, DML_COL_INTEGER, DML_COL_FLOAT, DML_COL_STRING };

struct dml_column {
	char *name;
	enum dml_coltype type;
	uint64_t count;		/* non-missing values */
	uint64_t missing;
	double min, max, mean, std;	/* numbers (booleans as 0/1) */
	uint64_t distinct;	/* strings: distinct values seen, capped */
	int distinct_capped;	/* 1 when there were more than DML_SCHEMA_DISTINCT_MAX */
};

struct dml_schema {
	struct dml_column *cols;
	size_t ncols;
	uint64_t rows;		/* data rows, header excluded */
};

struct dml_schema_builder;

/*
 * Start from a header.  It is checked with dml_csv_header_check() (the
 * caller should have done so already, naming its input): a schema always
 * has names that its canonical text can carry.
 */
const struct dml_error *dml_schema_builder_new(struct dml_schema_builder **out,
    const struct dml_csv_field *header, size_t n);
/*
 * One data row; n equals the header's count (the CSV parser ensures it;
 * otherwise DML_ERR_USAGE).
 */
const struct dml_error *dml_schema_builder_add(struct dml_schema_builder *b,
    const struct dml_csv_field *fields, size_t n);
/* Finish: the builder is freed, also on error.  Free *out with dml_schema_free. */
const struct dml_error *dml_schema_builder_finish(struct dml_schema_builder *b,
    struct dml_schema **out);
void dml_schema_builder_free(struct dml_schema_builder *b);
void dml_schema_free(struct dml_schema *s);

/*
 * One field as inference reads it (the grammar above): the kind of value,
 * with *x set for integers, floats and booleans (0 or 1).  A text that looks
 * like a float but is not finite (1e999) is a string.  DML_VALUE_NOMEM when
 * a long value could not be copied for strtod.  Safe in any thread and under
 * any locale.
 */
enum dml_value_kind {
	DML_VALUE_NOMEM = -1,
	DML_VALUE_MISSING,
	DML_VALUE_BOOLEAN,
	DML_VALUE_INTEGER,
	DML_VALUE_FLOAT,
	DML_VALUE_STRING
};
int dml_value_read(const char *p, size_t n, double *x);
/*
 * Does the text read (by strtod, in the C locale) as a number that is not
 * finite: nan, inf, infinity or an overflow such as 1e999, in any case and
 * with any sign?  Inference makes such values strings; training refuses them.
 */
int dml_value_nonfinite(const char *p, size_t n);

/*
 * A column name as the canonical text spells it (see above: bytes outside
 * '!'..'~' and '%' as %XX), appended to out.
 */
const struct dml_error *dml_name_escape(const char *name, struct dml_buf *out);
/*
 * Undo it strictly (a needless or lowercase escape is refused): 0 with a
 * malloc'd NUL-terminated name in *out, -1 for a bad spelling, -2 when out
 * of memory.
 */
int dml_name_unescape(const char *p, size_t n, char **out);

/* "boolean", "integer", "float", "string" (or "unknown"). */
const char *dml_coltype_name(enum dml_coltype t);

/*
 * The canonical text (see above), appended to out.  DML_ERR_USAGE when the
 * schema cannot be spelled canonically (a column name that breaks the header
 * rules, an unknown type).
 */
const struct dml_error *dml_schema_encode(const struct dml_schema *s, struct dml_buf *out);
/* Parse canonical text back (strict; for show and verify). */
const struct dml_error *dml_schema_decode(struct dml_schema **out, const char *text, size_t n);

#endif
