/*
 * csv.c - a streaming RFC 4180 parser (see dml/csv.h).
 *
 * The parser is a state machine over bytes with five states: at the start
 * of a field, inside an unquoted field, inside a quoted field, just after a
 * quote inside a quoted field (a closing quote or the first of a doubled
 * pair: the next byte decides), and just after a CR outside quotes.  Every
 * state is resumable at any byte, so a feed may end anywhere: between the
 * two quotes of a doubled quote, between CR and LF, inside a field.
 *
 * Runs of ordinary bytes are skipped 16 at a time where the CPU has SSE2
 * (every x86-64 does): one comparison per special byte, a mask, and a count
 * of trailing zeros; elsewhere, and in the last 15 bytes of a feed, with a
 * 256-entry class table in a tight loop.  Both stop at the same byte.
 *
 * A field is recorded as the offset of its end within the record (4 bytes,
 * two flag bits on top); its start is one past the previous field's end.
 * Fields are turned into pointers only when the record is complete, and
 * point straight into the caller's bytes when the whole record sits inside
 * one feed.  A record that spans feeds is carried over in a buffer of its
 * own: its bytes from earlier feeds at the end of each feed, and the rest
 * when it completes.  Only fields that held doubled quotes are copied,
 * unescaped, into a scratch buffer.
 *
 * Line and column come from two counters: the current line number and the
 * global byte offset where it starts; a byte's column is its offset minus
 * that, so columns cost nothing until an error needs one.
 *
 * The record size bound is enforced at an exact byte position (the first
 * byte past DML_CSV_RECORD_MAX), so the error does not depend on how the
 * input was split.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dml/csv.h"

enum { C_ORD, C_SEP, C_QUOTE, C_LF, C_CR, C_NUL };
enum { ST_START, ST_UNQUOTED, ST_QUOTED, ST_QUOTE, ST_CR };

#define F_QUOTED 0x80000000u	/* field was quoted */
#define F_DQ 0x40000000u	/* ... and held a doubled quote */
#define OFF_MASK 0x3fffffffu

_Static_assert(DML_CSV_RECORD_MAX <= OFF_MASK, "record offsets must fit in 30 bits");

struct dml_csv {
	unsigned char cls[256];		/* byte classes outside quotes */
	unsigned char qcls[256];	/* inside quotes */
	char sep;
	char *what;
	int state;
	int dq;				/* the open quoted field has a doubled quote */
	int rec_dq;			/* the current record has such a field */
	int failed, finished;
	struct dml_error kept;		/* the sticky error */
	uint64_t off;			/* global offset of the next byte fed */
	uint64_t line, line_start;	/* current line; offset of its first byte */
	uint64_t rec_base, rec_line;	/* where the current record starts */
	uint64_t quote_line;		/* where the open quoted field started */
	uint64_t cr_off;		/* offset of a CR awaiting its LF */
	uint64_t records;
	size_t expected;		/* fields per record, from the header */
	uint32_t *ends;			/* per field: end offset in record | flags */
	size_t nf, ends_cap;
	struct dml_csv_field *fields;
	size_t fields_cap;
	unsigned char *carry;		/* the current record's bytes from earlier feeds */
	size_t carry_len, carry_cap;
	unsigned char *scratch;		/* unescaped fields with doubled quotes */
	size_t scratch_cap;
};

/*
 * The first index from j on (at most lim) whose byte is not ordinary in
 * class table cls, whose special bytes are a, b, c, d and NUL.
 */
static inline size_t
skip_ordinary(const unsigned char *s, size_t j, size_t lim, const unsigned char *cls,
    unsigned char a, unsigned char b, unsigned char c, unsigned char d)
{
#if defined(__SSE2__)
	const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
	const __m128i vc = _mm_set1_epi8((char)c), vd = _mm_set1_epi8((char)d);
	const __m128i zero = _mm_setzero_si128();

	while (j + 16 <= lim) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
		    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)),
		    _mm_cmpeq_epi8(x, zero)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits)
			return j + (size_t)__builtin_ctz(bits);
		j += 16;
	}
#else
	(void)a, (void)b, (void)c, (void)d;
#endif
	while (j < lim && cls[s[j]] == C_ORD)
		j++;
	return j;
}

static const struct dml_error *
sticky(struct dml_csv *p, const struct dml_error *err)
{
	if (err != NULL && !p->failed) {
		p->failed = 1;
		dml_error_keep(&p->kept, err);
	}
	return err;
}

/* An error at global offset `at`, which lies on the current line. */
static const struct dml_error *
fail_at(struct dml_csv *p, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const struct dml_error *
fail_at(struct dml_csv *p, uint64_t at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sticky(p, dml_error_fmt(DML_ERR_PARSE, "'%.300s' line %llu, column %llu: %s",
	    p->what, (unsigned long long)p->line, (unsigned long long)(at - p->line_start + 1),
	    msg));
}

const struct dml_error *
dml_csv_new(struct dml_csv **out, char sep, const char *what)
{
	struct dml_csv *p;

	*out = NULL;
	if (sep != ',' && sep != '\t')
		return dml_error_fmt(DML_ERR_USAGE, "csv separator must be ',' or tab");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return dml_error_nomem();
	if ((p->what = strdup(what ? what : "input")) == NULL) {
		free(p);
		return dml_error_nomem();
	}
	p->sep = sep;
	p->cls[(unsigned char)sep] = C_SEP;
	p->cls['"'] = C_QUOTE;
	p->cls['\n'] = C_LF;
	p->cls['\r'] = C_CR;
	p->cls[0] = C_NUL;
	p->qcls['"'] = C_QUOTE;
	p->qcls['\n'] = C_LF;
	p->qcls[0] = C_NUL;
	p->state = ST_START;
	p->line = 1;
	p->rec_line = 1;
	*out = p;
	return NULL;
}

void
dml_csv_free(struct dml_csv *p)
{
	if (p == NULL)
		return;
	free(p->what);
	free(p->ends);
	free(p->fields);
	free(p->carry);
	free(p->scratch);
	free(p);
}

uint64_t
dml_csv_records(const struct dml_csv *p)
{
	return p->records;
}

/* Grow *buf to hold at least `need` bytes (need <= DML_CSV_RECORD_MAX). */
static int
reserve(unsigned char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	unsigned char *nb;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if ((nb = realloc(*buf, c)) == NULL)
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}

static const struct dml_error *
carry_add(struct dml_csv *p, const unsigned char *d, size_t n)
{
	if (n == 0)
		return NULL;
	if (reserve(&p->carry, &p->carry_cap, p->carry_len + n))
		return sticky(p, dml_error_nomem());
	memcpy(p->carry + p->carry_len, d, n);
	p->carry_len += n;
	return NULL;
}

/* A field ended just before global offset `at`; the slow path of end_field. */
static const struct dml_error *
end_field_grow(struct dml_csv *p, uint64_t at, uint32_t flags)
{
	uint32_t *ne;
	size_t cap;

	if (p->records > 0) {
		/* More fields than the header: count them for the message. */
		p->nf++;
		return NULL;
	}
	if (p->nf >= DML_CSV_FIELDS_MAX)
		return fail_at(p, at, "more than %u fields", DML_CSV_FIELDS_MAX);
	cap = p->ends_cap ? p->ends_cap * 2 : 64;
	if ((ne = realloc(p->ends, cap * sizeof(*ne))) == NULL)
		return sticky(p, dml_error_nomem());
	p->ends = ne;
	p->ends_cap = cap;
	p->ends[p->nf++] = (uint32_t)(at - p->rec_base) | flags;
	return NULL;
}

static inline const struct dml_error *
end_field(struct dml_csv *p, uint64_t at, uint32_t flags)
{
	if (p->nf < p->ends_cap) {
		p->ends[p->nf++] = (uint32_t)(at - p->rec_base) | flags;
		return NULL;
	}
	return end_field_grow(p, at, flags);
}

/*
 * The record's fields are complete; rb holds its bytes from its first.
 * Check the field count, build the field array and call fn.
 */
static const struct dml_error *
emit(struct dml_csv *p, const unsigned char *rb, dml_csv_record_fn fn, void *arg)
{
	const struct dml_error *err = NULL;
	size_t k, start = 0, o = 0;

	if (p->records == 0) {
		struct dml_csv_field *nf = realloc(p->fields, p->nf * sizeof(*nf));
		if (nf == NULL) {
			err = sticky(p, dml_error_nomem());
			goto done;
		}
		p->fields = nf;
		p->fields_cap = p->nf;
		p->expected = p->nf;
	} else if (p->nf != p->expected) {
		err = sticky(p, dml_error_fmt(DML_ERR_PARSE, "'%.300s' line %llu: expected %zu fields, found %zu",
		    p->what, (unsigned long long)p->rec_line, p->expected, p->nf));
		goto done;
	}
	if (p->rec_dq && reserve(&p->scratch, &p->scratch_cap, p->ends[p->nf - 1] & OFF_MASK)) {
		err = sticky(p, dml_error_nomem());
		goto done;
	}
	for (k = 0; k < p->nf; k++) {
		uint32_t e = p->ends[k];
		size_t end = e & OFF_MASK;
		struct dml_csv_field *f = &p->fields[k];

		if (!(e & F_QUOTED)) {
			f->p = (const char *)rb + start;
			f->len = end - start;
			f->quoted = 0;
		} else if (!(e & F_DQ)) {
			f->p = (const char *)rb + start + 1;
			f->len = end - start - 2;
			f->quoted = 1;
		} else {
			/* Between the quotes, every quote is the first of a pair. */
			const unsigned char *s = rb + start + 1, *lim = rb + end - 1, *q;
			unsigned char *dst = p->scratch + o;

			while ((q = memchr(s, '"', (size_t)(lim - s))) != NULL) {
				memcpy(dst, s, (size_t)(q - s) + 1);
				dst += q - s + 1;
				s = q + 2;
			}
			memcpy(dst, s, (size_t)(lim - s));
			dst += lim - s;
			f->p = (const char *)p->scratch + o;
			f->len = (size_t)(dst - (p->scratch + o));
			f->quoted = 1;
			o += f->len;
		}
		start = end + 1;
	}
	p->records++;
	if (fn != NULL)
		err = sticky(p, fn(arg, p->rec_line, p->fields, p->nf));
done:
	return err;
}

/*
 * A record ended with the LF at d[i] (global offset base + i).  rb is the
 * record's bytes: in d when it started in this feed, else the carry buffer,
 * which first gets the rest of them.
 */
static const struct dml_error *
end_record(struct dml_csv *p, const unsigned char *d, uint64_t base, size_t i,
    dml_csv_record_fn fn, void *arg)
{
	const struct dml_error *err;
	const unsigned char *rb;

	if (p->rec_base >= base) {
		rb = d + (p->rec_base - base);
	} else {
		if ((err = carry_add(p, d, i)))
			return err;
		rb = p->carry;
	}
	if ((err = emit(p, rb, fn, arg)))
		return err;
	p->line++;
	p->line_start = base + i + 1;
	p->rec_base = base + i + 1;
	p->rec_line = p->line;
	p->nf = 0;
	p->rec_dq = 0;
	p->carry_len = 0;
	return NULL;
}

static const char *
sep_name(const struct dml_csv *p)
{
	return p->sep == '\t' ? "tab" : "','";
}

/* The first index in d that would make the current record too long. */
static size_t
record_limit(const struct dml_csv *p, uint64_t base, size_t n)
{
	uint64_t lim = p->rec_base + DML_CSV_RECORD_MAX - base;

	return lim < n ? (size_t)lim : n;
}

const struct dml_error *
dml_csv_feed(struct dml_csv *p, const void *data, size_t n, dml_csv_record_fn fn, void *arg)
{
	const unsigned char *d = data, *cls = p->cls, *qcls = p->qcls;
	const struct dml_error *err = NULL;
	uint64_t base = p->off;
	size_t i = 0, j, lim;
	int st = p->state;

	if (p->failed)
		return dml_error_fmt(p->kept.code, "%s", p->kept.msg);
	if (p->finished)
		return dml_error_fmt(DML_ERR_USAGE, "'%.300s': csv input fed after its end", p->what);
	lim = record_limit(p, base, n);
	while (i < n) {
		if (i >= lim) {
			err = fail_at(p, base + i, "record longer than %u bytes (started on line %llu)",
			    DML_CSV_RECORD_MAX, (unsigned long long)p->rec_line);
			goto done;
		}
		switch (st) {
		case ST_START:
			if (d[i] == '"') {
				st = ST_QUOTED;
				p->dq = 0;
				p->quote_line = p->line;
				i++;
				break;
			}
			/* FALLTHROUGH */
		case ST_UNQUOTED:
			j = skip_ordinary(d, i, lim, cls, (unsigned char)p->sep, '"', '\n', '\r');
			i = j;
			if (j == lim) {
				st = ST_UNQUOTED;
				break;
			}
			switch (cls[d[j]]) {
			case C_SEP:
				if ((err = end_field(p, base + i, 0)))
					goto done;
				st = ST_START;
				i++;
				break;
			case C_LF:
				if ((err = end_field(p, base + i, 0)) ||
				    (err = end_record(p, d, base, i, fn, arg)))
					goto done;
				st = ST_START;
				i++;
				lim = record_limit(p, base, n);
				break;
			case C_CR:
				if ((err = end_field(p, base + i, 0)))
					goto done;
				p->cr_off = base + i;
				st = ST_CR;
				i++;
				break;
			case C_QUOTE:
				err = fail_at(p, base + i, "quote in unquoted field");
				goto done;
			default:
				err = fail_at(p, base + i, "NUL byte");
				goto done;
			}
			break;
		case ST_QUOTED:
			j = skip_ordinary(d, i, lim, qcls, '"', '\n', '"', '\n');
			i = j;
			if (j == lim)
				break;
			switch (qcls[d[j]]) {
			case C_QUOTE:
				st = ST_QUOTE;
				break;
			case C_LF:
				p->line++;
				p->line_start = base + i + 1;
				break;
			default:
				err = fail_at(p, base + i, "NUL byte");
				goto done;
			}
			i++;
			break;
		case ST_QUOTE:
			if (d[i] == '"') {
				p->dq = 1;
				p->rec_dq = 1;
				st = ST_QUOTED;
				i++;
				break;
			}
			switch (cls[d[i]]) {
			case C_SEP:
				if ((err = end_field(p, base + i, F_QUOTED | (p->dq ? F_DQ : 0))))
					goto done;
				st = ST_START;
				i++;
				break;
			case C_LF:
				if ((err = end_field(p, base + i, F_QUOTED | (p->dq ? F_DQ : 0))) ||
				    (err = end_record(p, d, base, i, fn, arg)))
					goto done;
				st = ST_START;
				i++;
				lim = record_limit(p, base, n);
				break;
			case C_CR:
				if ((err = end_field(p, base + i, F_QUOTED | (p->dq ? F_DQ : 0))))
					goto done;
				p->cr_off = base + i;
				st = ST_CR;
				i++;
				break;
			case C_NUL:
				err = fail_at(p, base + i, "NUL byte");
				goto done;
			default:
				err = fail_at(p, base + i, "expected %s or line end after closing quote",
				    sep_name(p));
				goto done;
			}
			break;
		case ST_CR:
			if (d[i] != '\n') {
				err = fail_at(p, p->cr_off, "carriage return not followed by line feed");
				goto done;
			}
			if ((err = end_record(p, d, base, i, fn, arg)))
				goto done;
			st = ST_START;
			i++;
			lim = record_limit(p, base, n);
			break;
		}
	}
	/* Keep the unfinished record's bytes for the next feed. */
	if (p->rec_base >= base)
		err = carry_add(p, d + (p->rec_base - base), (size_t)(base + n - p->rec_base));
	else
		err = carry_add(p, d, n);
	p->off = base + n;
done:
	p->state = st;
	return err;
}

const struct dml_error *
dml_csv_finish(struct dml_csv *p, dml_csv_record_fn fn, void *arg)
{
	const struct dml_error *err = NULL;
	uint32_t flags = 0;

	if (p->failed)
		return dml_error_fmt(p->kept.code, "%s", p->kept.msg);
	if (p->finished)
		return NULL;
	p->finished = 1;
	switch (p->state) {
	case ST_QUOTED:
		err = fail_at(p, p->off, "unterminated quoted field (opened on line %llu)",
		    (unsigned long long)p->quote_line);
		goto done;
	case ST_CR:
		err = fail_at(p, p->cr_off, "carriage return not followed by line feed");
		goto done;
	case ST_START:
		if (p->off == p->rec_base)
			goto done;	/* no record pending */
		break;
	case ST_QUOTE:
		flags = F_QUOTED | (p->dq ? F_DQ : 0);
		break;
	}
	if ((err = end_field(p, p->off, flags)) || (err = emit(p, p->carry, fn, arg)))
		goto done;
	p->rec_base = p->off;
	p->nf = 0;
	p->carry_len = 0;
	p->state = ST_START;
done:
	return err;
}

/* ---------------------------------------------------------------------------
 * Header checks */

/*
 * Length of the valid UTF-8 character at p (shortest form, no surrogates,
 * at most U+10FFFF), or 0; *cp gets its code point.
 */
static size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0];
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* How many bytes of a valid name to show in a message: whole characters. */
static int
show_len(const char *p, size_t n)
{
	size_t i = 0, l;
	uint32_t cp;

	while (i < n && i < 80) {
		l = utf8_next((const unsigned char *)p + i, n - i, &cp);
		if (l == 0)
			break;
		i += l;
	}
	return (int)i;
}

struct name_ref {
	const char *p;
	size_t len;
	size_t idx;
};

static int
name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = m ? memcmp(x->p, y->p, m) : 0;

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

const struct dml_error *
dml_csv_header_check(const struct dml_csv_field *fields, size_t n, const char *what)
{
	const struct dml_error *err = NULL;
	struct name_ref *refs = NULL;
	size_t i, k, best = SIZE_MAX, first = 0;

	if (what == NULL)
		what = "input";
	if (n == 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%.300s': header has no columns", what);
		goto done;
	}
	for (i = 0; i < n; i++) {
		const unsigned char *s = (const unsigned char *)fields[i].p;
		size_t len = fields[i].len, l;
		uint32_t cp;

		if (len == 0) {
			err = dml_error_fmt(DML_ERR_PARSE, "'%.300s' column %zu: empty column name",
			    what, i + 1);
			goto done;
		}
		for (k = 0; k < len; k += l) {
			if ((l = utf8_next(s + k, len - k, &cp)) == 0) {
				err = dml_error_fmt(DML_ERR_PARSE,
				    "'%.300s' column %zu: column name is not valid UTF-8 (byte %zu)",
				    what, i + 1, k + 1);
				goto done;
			}
			if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
				err = dml_error_fmt(DML_ERR_PARSE,
				    "'%.300s' column %zu: column name contains control character U+%04X (byte %zu)",
				    what, i + 1, (unsigned)cp, k + 1);
				goto done;
			}
		}
	}
	if ((refs = malloc(n * sizeof(*refs))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < n; i++)
		refs[i] = (struct name_ref){ fields[i].p, fields[i].len, i };
	qsort(refs, n, sizeof(*refs), name_cmp);
	/* In each run of equal names the first two are the earliest pair. */
	for (i = 1; i < n; i++) {
		if (refs[i].len == refs[i - 1].len &&
		    memcmp(refs[i].p, refs[i - 1].p, refs[i].len) == 0 &&
		    (i < 2 || refs[i - 1].len != refs[i - 2].len ||
		    memcmp(refs[i - 1].p, refs[i - 2].p, refs[i].len) != 0) &&
		    refs[i].idx < best) {
			best = refs[i].idx;
			first = refs[i - 1].idx;
		}
	}
	if (best != SIZE_MAX) {
		const char *p = fields[best].p;
		size_t len = fields[best].len;
		int sl = show_len(p, len);

		err = dml_error_fmt(DML_ERR_PARSE,
		    "'%.300s' column %zu: duplicate column name '%.*s%s' (columns %zu and %zu)",
		    what, best + 1, sl, p, (size_t)sl < len ? "..." : "", first + 1, best + 1);
	}
done:
	free(refs);
	return err;
}
