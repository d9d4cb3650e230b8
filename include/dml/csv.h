/*
 * dml/csv.h - a streaming RFC 4180 parser for CSV and TSV.
 *
 * Bytes are fed in pieces of any size; each complete record is handed to a
 * callback, so memory is bounded by the longest record, not the file.
 * Accepted: quoted fields holding separators, doubled quotes and line breaks
 * (any byte but NUL, a lone CR included, may sit between quotes); LF or CRLF
 * record ends (mixed is fine); an optional final line break.  An empty line
 * is a record of one empty field, so it is an error unless there is one
 * column; an empty input has no records.
 * Refused, with the line and column (1-based, columns counted in bytes) of
 * the offending character: a quote inside an unquoted field, anything but a
 * separator or line end after a closing quote, a CR outside quotes that is
 * not followed by LF, a NUL byte, an unterminated quote at the end of input
 * (named at the line where the quoted field opened), a record whose field
 * count differs from the first record's (named at the line the record starts
 * on), a record longer than DML_CSV_RECORD_MAX bytes (counted from its
 * first byte, line break included) and a header with more than
 * DML_CSV_FIELDS_MAX fields.  TSV uses the same rules with a tab as
 * separator (quotes allowed).  These errors are DML_ERR_PARSE, and the
 * same bytes give the same records or the same error however they are
 * split into feeds.
 *
 * Errors are sticky: once a feed, the finish or the callback has failed,
 * every later call returns the same error again.
 *
 * Memory is the current record's bytes (only when it spans feeds; records
 * inside one feed are handed out without copying), its field offsets, and
 * a copy of the fields that held doubled quotes.
 *
 * The first record is the header; dml_csv_header_check() validates it.
 */
#ifndef DML_CSV_H
#define DML_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

#define DML_CSV_RECORD_MAX (64u << 20)	/* bytes in one record */
#define DML_CSV_FIELDS_MAX (1u << 20)	/* fields in one record */

struct dml_csv_field {
	const char *p;		/* unescaped bytes (doubled quotes undone); not NUL-terminated */
	size_t len;
	int quoted;		/* was it written between quotes? */
};

/*
 * Called once per record.  `line` is the line the record starts on (1 for
 * the header).  Fields point into the parser's buffers or into the bytes
 * being fed, and stay valid only during the call.  A non-NULL return stops
 * parsing and is passed back (and is sticky, as above).
 */
typedef const struct dml_error *(*dml_csv_record_fn)(void *arg, uint64_t line,
    const struct dml_csv_field *fields, size_t nfields);

struct dml_csv;

/*
 * sep is ',' or '\t' (else DML_ERR_USAGE); `what` names the input in error
 * messages (it is copied).
 */
const struct dml_error *dml_csv_new(struct dml_csv **out, char sep, const char *what);
void dml_csv_free(struct dml_csv *p);
/*
 * Parse more input, calling fn for each record it completes; fn may be NULL
 * to check the syntax only.
 */
const struct dml_error *dml_csv_feed(struct dml_csv *p, const void *data, size_t n,
    dml_csv_record_fn fn, void *arg);
/*
 * End of input: flushes a last record without a final line break, or fails
 * on an unterminated quoted field or a trailing CR.  Feeding after it is a
 * DML_ERR_USAGE error; finishing again does nothing.
 */
const struct dml_error *dml_csv_finish(struct dml_csv *p, dml_csv_record_fn fn, void *arg);
/* Records seen so far, header included. */
uint64_t dml_csv_records(const struct dml_csv *p);

/*
 * Header rules: at least one column; every name valid UTF-8 (shortest form,
 * no surrogates, at most U+10FFFF), non-empty, with no control characters
 * (U+0000-U+001F, U+007F-U+009F), and unique byte for byte.  Errors are
 * DML_ERR_PARSE and name the input and the column (1-based), e.g.
 * "'data.csv' column 5: duplicate column name 'age' (columns 2 and 5)";
 * of several duplicates the one whose second occurrence comes first is named.
 * O(n log n) in the number of columns.
 */
const struct dml_error *dml_csv_header_check(const struct dml_csv_field *fields, size_t n,
    const char *what);

#endif
