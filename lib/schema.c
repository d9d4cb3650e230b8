/*
 * schema.c - schema inference and its canonical text (see dml/schema.h).
 *
 * Inference is one pass over the rows with constant work per value.  A
 * column remembers which kinds of values it has seen (boolean, integer,
 * float, other); its type is decided at the end, but once the kinds seen
 * force "string" it stops parsing numbers.  Numeric statistics are kept for
 * every column that may still turn out numeric: booleans and numbers never
 * share a numeric column, so one accumulator serves both.
 *
 * Distinct values are counted for every column from the first row, since
 * any column may turn out to be a string column at its last row.  Each
 * column has a small open-addressing hash set holding up to
 * DML_SCHEMA_DISTINCT_MAX keys; a key is the value itself when it is at
 * most 39 bytes (exact) and its SHA-256 otherwise.  The table hash is
 * seeded per builder so crafted data cannot make every value collide; the
 * seed changes where keys sit, never the count.  When a column sees one
 * value more than the cap the set is freed and the column marked capped.
 *
 * Numbers are read with strtod and printed under a "C" locale installed for
 * the calling thread with uselocale(), so neither the process locale nor
 * another thread can change a digit.  Decoding is strict by
 * construction: after parsing, the schema is encoded again and must give
 * back the input byte for byte; encoding decodes its own output, so nothing
 * that fails to decode can be written.
 */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/schema.h"

#define INLINE_MAX 39		/* longer values are kept as their SHA-256 */
#define KEY_DIGEST 255		/* dent.len of a digest key */
#define NUMBUF 64		/* stack buffer for strtod; longer values use the heap */

enum { K_BOOL = 1, K_INT = 2, K_FLOAT = 4, K_STR = 8 };

struct dent {
	uint64_t h;
	unsigned char len;	/* value length, or KEY_DIGEST */
	unsigned char v[INLINE_MAX];
};

struct colstate {
	unsigned kinds;
	int is_string;		/* the kinds seen already force "string" */
	int capped;
	uint64_t count, missing;
	/* Welford: n values, running mean and sum of squared deviations. */
	uint64_t n;
	double min, max, mean, m2;
	/* The distinct set: dense entries, and slots holding entry index + 1. */
	struct dent *ents;
	uint16_t *slots;
	uint32_t nents, ents_cap, nslots;
};

struct dml_schema_builder {
	struct colstate *cols;
	char **names;
	size_t ncols;
	uint64_t rows;
	uint64_t seed;
};

_Static_assert(DML_SCHEMA_DISTINCT_MAX < 65535, "distinct slots are 16-bit");

/* ---------------------------------------------------------------------------
 * The "C" locale, made once per process. */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;

static void
c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t
get_c_locale(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

/* ---------------------------------------------------------------------------
 * Values */

const char *
dml_coltype_name(enum dml_coltype t)
{
	switch (t) {
	case DML_COL_BOOLEAN: return "boolean";
	case DML_COL_INTEGER: return "integer";
	case DML_COL_FLOAT: return "float";
	case DML_COL_STRING: return "string";
	}
	return "unknown";
}

static int
is_missing(const char *p, size_t n)
{
	return n == 0 || (n == 2 && p[0] == 'N' && p[1] == 'A');
}

/* 1 for true, 0 for false, -1 for neither. */
static int
parse_bool(const char *p, size_t n)
{
	static const char t[] = "true", f[] = "false";
	size_t i;

	if (n == 4) {
		for (i = 0; i < 4; i++)
			if ((p[i] | 0x20) != t[i])
				return -1;
		return 1;
	}
	if (n == 5) {
		for (i = 0; i < 5; i++)
			if ((p[i] | 0x20) != f[i])
				return -1;
		return 0;
	}
	return -1;
}

/*
 * An optional '-' then digits: 1 with *x set when it fits 64 bits, 0 when it
 * is such a literal but too big, -1 when it is not one.
 */
static int
parse_int(const char *p, size_t n, double *x)
{
	size_t i = 0;
	uint64_t v = 0, lim;
	int neg = 0;

	if (n > 0 && p[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		if (v > (lim - d) / 10) {
			/* Too big; the rest must still be digits to be a literal. */
			for (i++; i < n; i++)
				if ((unsigned)((unsigned char)p[i] - '0') > 9)
					return -1;
			return 0;
		}
		v = v * 10 + d;
	}
	*x = neg ? -(double)v : (double)v;
	return 1;
}

/* The float grammar of dml/schema.h, before strtod sees the text. */
static int
float_syntax(const char *p, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i == n || p[i] < '0' || p[i] > '9')
			return 0;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return i == n;
}

/*
 * Clinger's fast path for text that float_syntax() accepted: when the
 * digits form an integer m <= 2^53 and the decimal exponent e has |e| <= 22,
 * m and 10^|e| are exact doubles and one IEEE multiplication or division
 * gives the correctly rounded value, the same bits strtod returns.  Only
 * where double arithmetic is evaluated in double (FLT_EVAL_METHOD 0).
 * Returns 1 with *x set, 0 when strtod must decide.
 */
static int
fast_double(const char *p, size_t n, double *x)
{
	static const double pow10[23] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
		1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	uint64_t m = 0;
	long e = 0, ex = 0;
	size_t i = 0;
	int neg = 0, eneg = 0, point = 0;
	double v;

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
	return 0;
#endif
	if (p[0] == '+' || p[0] == '-')
		neg = p[i++] == '-';
	for (; i < n && p[i] != 'e' && p[i] != 'E'; i++) {
		if (p[i] == '.') {
			point = 1;
			continue;
		}
		if (m > (UINT64_C(1) << 53) / 10)
			return 0;
		m = m * 10 + (uint64_t)(p[i] - '0');
		e -= point;
	}
	if (m > UINT64_C(1) << 53)
		return 0;
	if (i < n) {
		i++;
		if (p[i] == '+' || p[i] == '-')
			eneg = p[i++] == '-';
		for (; i < n; i++) {
			if (ex > 1000)
				return 0;
			ex = ex * 10 + (p[i] - '0');
		}
		e += eneg ? -ex : ex;
	}
	if (e < -22 || e > 22)
		return 0;
	v = (double)m;
	v = e < 0 ? v / pow10[-e] : v * pow10[e];
	*x = neg ? -v : v;
	return 1;
}

/*
 * strtod of exactly p[0..n) in the C locale: 0 with *x finite, 1 when it is
 * not a finite number, -1 when out of memory.
 */
static int
read_double(const char *p, size_t n, double *x)
{
	char stack[NUMBUF], *buf = stack, *end;
	locale_t old;
	int r = 0;

	if (fast_double(p, n, x))
		return 0;
	if (n >= NUMBUF && (buf = malloc(n + 1)) == NULL)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	old = uselocale(get_c_locale());
	*x = strtod(buf, &end);
	uselocale(old);
	if (end != buf + n || !isfinite(*x))
		r = 1;
	if (buf != stack)
		free(buf);
	return r;
}

/*
 * The common case in one scan: [-]digits[.digits] with at most 18 digits in
 * all.  Such text is an integer (no point) within 64 bits, or a float whose
 * digits form an exact double and whose scale is a power of ten of at most
 * 18, so one division gives the correctly rounded value (Clinger).  Returns
 * the kind, or -1 to let the general path decide (anything else, including
 * every text this would judge differently).
 */
static int
quick_number(const char *p, size_t n, double *x)
{
	static const double pow10[19] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
		1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18 };
	uint64_t m = 0;
	size_t i = 0, start, frac = 0;
	int neg = 0;
	unsigned d;

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
	return -1;
#endif
	if (n > 0 && p[0] == '-')
		neg = i = 1;
	/* Digits, then maybe a point and digits; m may wrap when there are
	 * too many, which the count below refuses. */
	for (start = i; i < n && (d = (unsigned char)p[i] - '0') <= 9; i++)
		m = m * 10 + d;
	if (i < n && p[i] == '.') {
		size_t f0 = ++i;
		for (; i < n && (d = (unsigned char)p[i] - '0') <= 9; i++)
			m = m * 10 + d;
		frac = i - f0;
		if (i < n || i - start - 1 == 0 || i - start - 1 > 18 ||
		    m > UINT64_C(1) << 53)
			return -1;
		*x = (double)m / pow10[frac];
		if (neg)
			*x = -*x;
		return DML_VALUE_FLOAT;
	}
	if (i < n || i == start || i - start > 18)
		return -1;
	*x = neg ? -(double)m : (double)m;
	return DML_VALUE_INTEGER;
}

int
dml_value_nonfinite(const char *p, size_t n)
{
	char buf[NUMBUF], *end;
	locale_t old;
	double v;

	if (n == 0 || n >= NUMBUF)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	old = uselocale(get_c_locale());
	v = strtod(buf, &end);
	uselocale(old);
	return end == buf + n && !isfinite(v);
}

int
dml_value_read(const char *p, size_t n, double *x)
{
	int r;

	if ((r = quick_number(p, n, x)) >= 0)
		return r;
	if (is_missing(p, n))
		return DML_VALUE_MISSING;
	if ((r = parse_int(p, n, x)) > 0)
		return DML_VALUE_INTEGER;
	if ((r = parse_bool(p, n)) >= 0) {
		*x = r;
		return DML_VALUE_BOOLEAN;
	}
	if (!float_syntax(p, n))
		return DML_VALUE_STRING;
	if ((r = read_double(p, n, x)) < 0)
		return DML_VALUE_NOMEM;
	return r == 0 ? DML_VALUE_FLOAT : DML_VALUE_STRING;
}

/* ---------------------------------------------------------------------------
 * Distinct sets */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t
hash_short(uint64_t seed, const unsigned char *p, size_t n)
{
	uint64_t h = seed ^ ((uint64_t)n << 56), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = mix64(h ^ w) + i;
	}
	w = 0;
	memcpy(&w, p + i, n - i);
	return mix64(h ^ w ^ 0x9e3779b97f4a7c15ull);
}

static void
dset_free(struct colstate *c)
{
	free(c->ents);
	free(c->slots);
	c->ents = NULL;
	c->slots = NULL;
	c->nents = c->ents_cap = c->nslots = 0;
}

static int
dset_rehash(struct colstate *c, uint32_t nslots)
{
	uint16_t *s = calloc(nslots, sizeof(*s));
	uint32_t k, mask = nslots - 1, idx;

	if (s == NULL)
		return -1;
	for (k = 0; k < c->nents; k++) {
		idx = (uint32_t)c->ents[k].h & mask;
		while (s[idx])
			idx = (idx + 1) & mask;
		s[idx] = (uint16_t)(k + 1);
	}
	free(c->slots);
	c->slots = s;
	c->nslots = nslots;
	return 0;
}

/* Count a value in the column's distinct set: 0, or -1 when out of memory. */
static int
dset_add(struct dml_schema_builder *b, struct colstate *c, const char *val, size_t n)
{
	unsigned char digest[DML_SHA256_LEN];
	const unsigned char *key = (const unsigned char *)val;
	unsigned char klen;
	uint64_t h;
	uint32_t idx, mask;
	struct dent *e;

	if (n <= INLINE_MAX) {
		klen = (unsigned char)n;
		h = hash_short(b->seed, key, n);
	} else {
		dml_sha256(digest, val, n);
		key = digest;
		klen = KEY_DIGEST;
		memcpy(&h, digest, sizeof(h));
	}
	if (c->nslots == 0 && dset_rehash(c, 16))
		return -1;
	mask = c->nslots - 1;
	for (idx = (uint32_t)h & mask; c->slots[idx]; idx = (idx + 1) & mask) {
		e = &c->ents[c->slots[idx] - 1];
		if (e->h == h && e->len == klen &&
		    memcmp(e->v, key, klen == KEY_DIGEST ? DML_SHA256_LEN : klen) == 0)
			return 0;
	}
	if (c->nents == DML_SCHEMA_DISTINCT_MAX) {
		c->capped = 1;
		dset_free(c);
		return 0;
	}
	if (c->nents == c->ents_cap) {
		uint32_t cap = c->ents_cap ? c->ents_cap * 2 : 8;
		struct dent *ne;
		if (cap > DML_SCHEMA_DISTINCT_MAX)
			cap = DML_SCHEMA_DISTINCT_MAX;
		if ((ne = realloc(c->ents, cap * sizeof(*ne))) == NULL)
			return -1;
		c->ents = ne;
		c->ents_cap = cap;
	}
	e = &c->ents[c->nents];
	e->h = h;
	e->len = klen;
	memcpy(e->v, key, klen == KEY_DIGEST ? DML_SHA256_LEN : klen);
	c->slots[idx] = (uint16_t)(++c->nents);
	if (c->nents * 2 > c->nslots && dset_rehash(c, c->nslots * 2))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------------
 * The builder */

void
dml_schema_builder_free(struct dml_schema_builder *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->ncols; i++) {
		dset_free(&b->cols[i]);
		free(b->names[i]);
	}
	free(b->cols);
	free(b->names);
	free(b);
}

const struct dml_error *
dml_schema_builder_new(struct dml_schema_builder **out, const struct dml_csv_field *header,
    size_t n)
{
	const struct dml_error *err = NULL;
	struct dml_schema_builder *b = NULL;
	size_t i;

	*out = NULL;
	if ((err = dml_csv_header_check(header, n, "header")))
		goto done;
	if ((err = dml_crypto_init()))
		goto done;
	if (get_c_locale() == (locale_t)0) {
		err = dml_error_errno(errno ? errno : ENOMEM, "cannot make the C locale");
		goto done;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->cols = calloc(n, sizeof(*b->cols))) == NULL ||
	    (b->names = calloc(n, sizeof(*b->names))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	b->ncols = n;
	for (i = 0; i < n; i++) {
		if ((b->names[i] = malloc(header[i].len + 1)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		memcpy(b->names[i], header[i].p, header[i].len);
		b->names[i][header[i].len] = '\0';
	}
	dml_randombytes(&b->seed, sizeof(b->seed));
	*out = b;
	b = NULL;
done:
	if (b != NULL) {
		if (b->cols == NULL || b->names == NULL)
			b->ncols = 0;
		dml_schema_builder_free(b);
	}
	return err;
}

static void
welford(struct colstate *c, double x)
{
	double delta;

	if (c->n == 0) {
		c->min = c->max = x;
	} else {
		if (x < c->min)
			c->min = x;
		if (x > c->max)
			c->max = x;
	}
	c->n++;
	delta = x - c->mean;
	c->mean += delta / (double)c->n;
	c->m2 += delta * (x - c->mean);
}

const struct dml_error *
dml_schema_builder_add(struct dml_schema_builder *b, const struct dml_csv_field *fields,
    size_t n)
{
	size_t i;

	if (n != b->ncols)
		return dml_error_fmt(DML_ERR_USAGE, "row has %zu fields, the header %zu", n,
		    b->ncols);
	for (i = 0; i < n; i++) {
		struct colstate *c = &b->cols[i];
		double x = 0;
		int v = dml_value_read(fields[i].p, fields[i].len, &x);

		if (v == DML_VALUE_MISSING) {
			c->missing++;
			continue;
		}
		c->count++;
		if (v == DML_VALUE_NOMEM ||
		    (!c->capped && dset_add(b, c, fields[i].p, fields[i].len)))
			return dml_error_nomem();
		if (c->is_string)
			continue;
		c->kinds |= v == DML_VALUE_INTEGER ? K_INT : v == DML_VALUE_BOOLEAN ? K_BOOL :
		    v == DML_VALUE_FLOAT ? K_FLOAT : K_STR;
		if ((c->kinds & K_STR) || ((c->kinds & K_BOOL) && (c->kinds & (K_INT | K_FLOAT)))) {
			c->is_string = 1;
			continue;
		}
		welford(c, x);
	}
	b->rows++;
	return NULL;
}

void
dml_schema_free(struct dml_schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncols; i++)
		free(s->cols[i].name);
	free(s->cols);
	free(s);
}

const struct dml_error *
dml_schema_builder_finish(struct dml_schema_builder *b, struct dml_schema **out)
{
	const struct dml_error *err = NULL;
	struct dml_schema *s = NULL;
	size_t i;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->cols = calloc(b->ncols ? b->ncols : 1, sizeof(*s->cols))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	s->ncols = b->ncols;
	s->rows = b->rows;
	for (i = 0; i < b->ncols; i++) {
		struct colstate *c = &b->cols[i];
		struct dml_column *col = &s->cols[i];

		col->name = b->names[i];
		b->names[i] = NULL;
		col->count = c->count;
		col->missing = c->missing;
		if (c->count == 0 || c->is_string) {
			col->type = DML_COL_STRING;
			col->distinct = c->capped ? DML_SCHEMA_DISTINCT_MAX : c->nents;
			col->distinct_capped = c->capped;
			continue;
		}
		if (c->kinds & K_BOOL)
			col->type = DML_COL_BOOLEAN;
		else if (c->kinds & K_FLOAT)
			col->type = DML_COL_FLOAT;
		else
			col->type = DML_COL_INTEGER;
		col->min = c->min;
		col->max = c->max;
		col->mean = c->mean;
		col->std = sqrt(c->m2 / (double)c->n);
	}
	*out = s;
	s = NULL;
done:
	if (s != NULL && s->cols == NULL)
		s->ncols = 0;
	dml_schema_free(s);
	dml_schema_builder_free(b);
	return err;
}

/* ---------------------------------------------------------------------------
 * Canonical text */

/* Bytes a name may carry unescaped. */
static int
name_plain(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '%';
}

const struct dml_error *
dml_name_escape(const char *name, struct dml_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k, nlen = strlen(name);
	const struct dml_error *err;

	if ((err = dml_buf_grow(out, nlen * 3)))
		return err;
	for (k = 0; k < nlen; k++) {
		unsigned char c = (unsigned char)name[k];
		if (name_plain(c)) {
			out->data[out->len++] = c;
		} else {
			out->data[out->len++] = '%';
			out->data[out->len++] = (unsigned char)hex[c >> 4];
			out->data[out->len++] = (unsigned char)hex[c & 15];
		}
	}
	out->data[out->len] = '\0';
	return NULL;
}

/* "%.17g" in the C locale (the caller has installed it), with fixed spellings for inf and nan. */
static const struct dml_error *
add_double(struct dml_buf *out, const char *key, double v)
{
	if (isnan(v))
		return dml_buf_addf(out, " %s nan", key);
	if (isinf(v))
		return dml_buf_addf(out, " %s %s", key, v < 0 ? "-inf" : "inf");
	return dml_buf_addf(out, " %s %.17g", key, v);
}

/* The text without checks; the caller has installed the C locale. */
static const struct dml_error *
encode_raw(const struct dml_schema *s, struct dml_buf *out)
{
	const struct dml_error *err = NULL;
	size_t i;

	if ((err = dml_buf_addf(out, "dmlctl-schema 1\nrows %llu\n",
	    (unsigned long long)s->rows)))
		goto done;
	for (i = 0; i < s->ncols; i++) {
		const struct dml_column *c = &s->cols[i];

		if ((err = dml_buf_adds(out, "column ")))
			goto done;
		if ((err = dml_name_escape(c->name, out)))
			goto done;
		if ((err = dml_buf_addf(out, " %s count %llu missing %llu",
		    dml_coltype_name(c->type), (unsigned long long)c->count,
		    (unsigned long long)c->missing)))
			goto done;
		if (c->type == DML_COL_STRING) {
			err = dml_buf_addf(out, " distinct %llu%s\n", (unsigned long long)c->distinct,
			    c->distinct_capped ? "+" : "");
		} else if (!(err = add_double(out, "min", c->min)) &&
		    !(err = add_double(out, "max", c->max)) &&
		    !(err = add_double(out, "mean", c->mean)) &&
		    !(err = add_double(out, "std", c->std))) {
			err = dml_buf_adds(out, "\n");
		}
		if (err)
			goto done;
	}
done:
	return err;
}

/* A line being parsed: its tokens, one at a time. */
struct lexer {
	const char *p, *end;	/* the rest of the line */
	size_t line;
};

/* The next space-separated token; -1 when there is none or it is empty. */
static int
next_token(struct lexer *lx, const char **tok, size_t *len)
{
	const char *sp;

	if (lx->p > lx->end)
		return -1;
	sp = memchr(lx->p, ' ', (size_t)(lx->end - lx->p));
	if (sp == NULL)
		sp = lx->end;
	*tok = lx->p;
	*len = (size_t)(sp - lx->p);
	lx->p = sp + 1;	/* past end + 1 once the line is used up */
	return *len > 0 ? 0 : -1;
}

static int
token_is(const char *tok, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(tok, word, len) == 0;
}

/* Decimal without leading zeros, at most UINT64_MAX. */
static int
parse_uint(const char *p, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 20 || (p[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';
		if (d > 9 || *v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

/* A number as add_double writes it; the caller has installed the C locale. */
static int
parse_double(const char *p, size_t n, double *v, int finite)
{
	char buf[64], again[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	if (!finite && token_is(p, n, "nan")) {
		*v = NAN;
		return 0;
	}
	if (!finite && token_is(p, n, "inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!finite && token_is(p, n, "-inf")) {
		*v = -INFINITY;
		return 0;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	*v = strtod(buf, &end);
	if (end != buf + n || !isfinite(*v))
		return -1;
	snprintf(again, sizeof(again), "%.17g", *v);
	return strcmp(again, buf) == 0 ? 0 : -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo the name escapes, strictly; a NUL-terminated copy in *out. */
int
dml_name_unescape(const char *p, size_t n, char **out)
{
	char *s = malloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	*out = NULL;
	if (s == NULL)
		return -2;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c != '%') {
			if (!name_plain(c))
				goto bad;
			s[o++] = (char)c;
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		if ((hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
			goto bad;
		c = (unsigned char)(hi << 4 | lo);
		if (name_plain(c) || c == 0)
			goto bad;
		s[o++] = (char)c;
		i += 2;
	}
	s[o] = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return -1;
}

/* Check the statistics of a parsed column against each other and the row count. */
static const char *
column_check(const struct dml_column *c, uint64_t rows)
{
	if (c->count > rows || c->missing != rows - c->count)
		return "count and missing do not add up to the rows";
	if (c->type == DML_COL_STRING) {
		if (c->distinct > c->count)
			return "more distinct values than values";
		if (c->count > 0 && c->distinct == 0)
			return "no distinct values among values";
		if (c->distinct_capped && c->count <= DML_SCHEMA_DISTINCT_MAX)
			return "capped distinct count with too few values";
		if (c->distinct > DML_SCHEMA_DISTINCT_MAX)
			return "distinct count above the cap";
		return NULL;
	}
	if (c->count == 0)
		return "numeric column without values";
	if (!(c->min <= c->max))
		return "min is above max";
	if (c->type == DML_COL_BOOLEAN && ((c->min != 0 && c->min != 1) ||
	    (c->max != 0 && c->max != 1)))
		return "boolean bounds must be 0 or 1";
	if (c->type == DML_COL_INTEGER && (c->min != floor(c->min) || c->max != floor(c->max)))
		return "integer bounds must be whole";
	if (!isnan(c->std) && (c->std < 0 || signbit(c->std)))
		return "negative deviation";
	return NULL;
}

static const struct dml_error *
decode_locked(struct dml_schema **out, const char *text, size_t n)
{
	const struct dml_error *err = NULL;
	struct dml_schema *s = NULL;
	struct dml_csv_field *names = NULL;
	struct dml_buf again = DML_BUF_INIT;
	const char *pos = text, *end = text + n, *nl, *tok;
	size_t line = 0, cap = 0, len, i;
	uint64_t u;
	struct lexer lx;
	const char *why;

	*out = NULL;
	if (n == 0 || text[n - 1] != '\n') {
		err = dml_error_fmt(DML_ERR_PARSE, "schema does not end with a newline");
		goto done;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (; pos < end; pos = nl + 1) {
		struct dml_column *c;

		nl = memchr(pos, '\n', (size_t)(end - pos));
		line++;
		lx = (struct lexer){ pos, nl, line };
		if (line == 1) {
			if ((size_t)(nl - pos) != strlen("dmlctl-schema 1") ||
			    memcmp(pos, "dmlctl-schema 1", (size_t)(nl - pos)) != 0) {
				if ((size_t)(nl - pos) > 14 && memcmp(pos, "dmlctl-schema ", 14) == 0 &&
				    parse_uint(pos + 14, (size_t)(nl - pos) - 14, &u) == 0)
					err = dml_error_fmt(DML_ERR_UNSUPPORTED,
					    "schema line 1: unsupported schema version");
				else
					err = dml_error_fmt(DML_ERR_PARSE,
					    "schema line 1: expected 'dmlctl-schema 1'");
				goto done;
			}
			continue;
		}
		if (line == 2) {
			if (next_token(&lx, &tok, &len) || !token_is(tok, len, "rows") ||
			    next_token(&lx, &tok, &len) || parse_uint(tok, len, &s->rows) ||
			    lx.p <= lx.end) {
				err = dml_error_fmt(DML_ERR_PARSE, "schema line 2: expected 'rows <count>'");
				goto done;
			}
			continue;
		}
		if (next_token(&lx, &tok, &len) || !token_is(tok, len, "column")) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected 'column'", line);
			goto done;
		}
		if (s->ncols == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct dml_column *nc = realloc(s->cols, ncap * sizeof(*nc));
			if (nc == NULL) {
				err = dml_error_nomem();
				goto done;
			}
			s->cols = nc;
			cap = ncap;
		}
		c = &s->cols[s->ncols];
		memset(c, 0, sizeof(*c));
		s->ncols++;
		if (next_token(&lx, &tok, &len)) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected a column name",
			    line);
			goto done;
		}
		switch (dml_name_unescape(tok, len, &c->name)) {
		case 0:
			break;
		case -2:
			err = dml_error_nomem();
			goto done;
		default:
			err = dml_error_fmt(DML_ERR_PARSE,
			    "schema line %zu: column name is not canonically escaped", line);
			goto done;
		}
		if (next_token(&lx, &tok, &len)) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected a type", line);
			goto done;
		}
		if (token_is(tok, len, "boolean"))
			c->type = DML_COL_BOOLEAN;
		else if (token_is(tok, len, "integer"))
			c->type = DML_COL_INTEGER;
		else if (token_is(tok, len, "float"))
			c->type = DML_COL_FLOAT;
		else if (token_is(tok, len, "string"))
			c->type = DML_COL_STRING;
		else {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: unknown type '%.*s'",
			    line, (int)(len > 32 ? 32 : len), tok);
			goto done;
		}
		if (next_token(&lx, &tok, &len) || !token_is(tok, len, "count") ||
		    next_token(&lx, &tok, &len) || parse_uint(tok, len, &c->count)) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected 'count <n>'",
			    line);
			goto done;
		}
		if (next_token(&lx, &tok, &len) || !token_is(tok, len, "missing") ||
		    next_token(&lx, &tok, &len) || parse_uint(tok, len, &c->missing)) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected 'missing <n>'",
			    line);
			goto done;
		}
		if (c->type == DML_COL_STRING) {
			if (next_token(&lx, &tok, &len) || !token_is(tok, len, "distinct") ||
			    next_token(&lx, &tok, &len)) {
				err = dml_error_fmt(DML_ERR_PARSE,
				    "schema line %zu: expected 'distinct <n>'", line);
				goto done;
			}
			if (tok[len - 1] == '+') {
				c->distinct_capped = 1;
				len--;
			}
			if (parse_uint(tok, len, &u) ||
			    (c->distinct_capped && u != DML_SCHEMA_DISTINCT_MAX)) {
				err = dml_error_fmt(DML_ERR_PARSE,
				    "schema line %zu: expected 'distinct <n>' or 'distinct %d+'", line,
				    DML_SCHEMA_DISTINCT_MAX);
				goto done;
			}
			c->distinct = u;
		} else {
			static const char *const keys[4] = { "min", "max", "mean", "std" };
			double *vals[4] = { &c->min, &c->max, &c->mean, &c->std };
			for (i = 0; i < 4; i++) {
				if (next_token(&lx, &tok, &len) || !token_is(tok, len, keys[i]) ||
				    next_token(&lx, &tok, &len) ||
				    parse_double(tok, len, vals[i], i < 2)) {
					err = dml_error_fmt(DML_ERR_PARSE,
					    "schema line %zu: expected '%s <number>'", line, keys[i]);
					goto done;
				}
			}
		}
		if (lx.p <= lx.end) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: unexpected text at the end",
			    line);
			goto done;
		}
		if ((why = column_check(c, s->rows))) {
			err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: %s", line, why);
			goto done;
		}
	}
	if (line < 2 || s->ncols == 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "schema line %zu: expected '%s'", line + 1,
		    line < 1 ? "dmlctl-schema 1" : line < 2 ? "rows <count>" : "column");
		goto done;
	}
	/* The header rules, and one spelling: the text must be what encoding gives. */
	if ((names = malloc(s->ncols * sizeof(*names))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < s->ncols; i++)
		names[i] = (struct dml_csv_field){ s->cols[i].name, strlen(s->cols[i].name), 0 };
	if ((err = dml_csv_header_check(names, s->ncols, "schema")))
		goto done;
	if ((err = encode_raw(s, &again)))
		goto done;
	if (again.len != n || memcmp(again.data, text, n) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "schema text is not canonical");
		goto done;
	}
	*out = s;
	s = NULL;
done:
	if (s != NULL && s->cols == NULL)
		s->ncols = 0;
	dml_schema_free(s);
	free(names);
	dml_buf_release(&again);
	return err;
}

const struct dml_error *
dml_schema_decode(struct dml_schema **out, const char *text, size_t n)
{
	const struct dml_error *err;
	locale_t old;

	*out = NULL;
	if (get_c_locale() == (locale_t)0)
		return dml_error_errno(errno ? errno : ENOMEM, "cannot make the C locale");
	old = uselocale(c_locale);
	err = decode_locked(out, text, n);
	uselocale(old);
	return err;
}

const struct dml_error *
dml_schema_encode(const struct dml_schema *s, struct dml_buf *out)
{
	const struct dml_error *err = NULL;
	struct dml_buf text = DML_BUF_INIT;
	struct dml_schema *back = NULL;
	locale_t old;

	if (get_c_locale() == (locale_t)0)
		return dml_error_errno(errno ? errno : ENOMEM, "cannot make the C locale");
	old = uselocale(c_locale);
	err = encode_raw(s, &text);
	uselocale(old);
	if (err)
		goto done;
	if ((err = dml_schema_decode(&back, (const char *)text.data, text.len))) {
		if (err->code == DML_ERR_PARSE || err->code == DML_ERR_UNSUPPORTED)
			err = dml_error_fmt(DML_ERR_USAGE, "schema cannot be written canonically: %s",
			    err->msg);
		goto done;
	}
	err = dml_buf_add(out, text.data, text.len);
done:
	dml_schema_free(back);
	dml_buf_release(&text);
	return err;
}
