/*
 * modelfile.c - the model file, version 1 (see dml/model.h and
 * dmlctl-model(5)).
 *
 * One parser reads the file field by field and checks every rule as soon as
 * the field is read, so that an error names the byte offset and the field.
 * It runs in two modes: filling a model (dml_model_decode), and filling
 * nothing, as a checker over the bytes dml_model_encode has just written.
 * Encoding is thus strict by construction, as in schema.c: whatever it
 * writes decodes.  The few faults of a struct dml_model that its bytes
 * cannot show (NULL strings, labels on a regression model, a has_intercept
 * other than 0 or 1, a string too long for its length field) are refused
 * before writing.  Together these make decode(encode(m)) give back m bit
 * for bit, and encode(decode(b)) give back b byte for byte, so the SHA-256
 * of the file names one model.
 *
 * Doubles are moved as their IEEE-754 binary64 bit patterns, one byte at a
 * time from a uint64_t, so the host's byte order never reaches the file.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dml/model.h"

_Static_assert(sizeof(double) == 8 && DBL_MANT_DIG == 53 && DBL_MAX_EXP == 1024,
    "the model file stores IEEE-754 binary64 doubles");
#if defined(__FLOAT_WORD_ORDER__) && defined(__BYTE_ORDER__) && \
    __FLOAT_WORD_ORDER__ != __BYTE_ORDER__
#error "doubles and integers of different byte order are not supported"
#endif

#define MAGIC_LEN 8
#define FLAG_INTERCEPT 1u

const char *
dml_model_kind_name(enum dml_model_kind k)
{
	switch (k) {
	case DML_MODEL_OLS: return "ols";
	case DML_MODEL_RIDGE: return "ridge";
	case DML_MODEL_LOGISTIC: return "logistic";
	}
	return "unknown";
}

int
dml_model_kind_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "ols") == 0)
		return DML_MODEL_OLS;
	if (strcmp(name, "ridge") == 0)
		return DML_MODEL_RIDGE;
	if (strcmp(name, "logistic") == 0)
		return DML_MODEL_LOGISTIC;
	return -1;
}

void
dml_model_init(struct dml_model *m)
{
	memset(m, 0, sizeof(*m));	/* kind OLS, intercept +0.0, no strings */
}

void
dml_model_release(struct dml_model *m)
{
	size_t i;

	free(m->target);
	free(m->labels[0]);
	free(m->labels[1]);
	if (m->features != NULL)
		for (i = 0; i < m->nfeatures; i++) {
			free(m->features[i].column);
			free(m->features[i].category);
		}
	free(m->features);
	dml_model_init(m);
}

/* ---------------------------------------------------------------------------
 * Rules shared by both directions */

static uint64_t
double_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bits_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * Length of the UTF-8 scalar at p (shortest form, no surrogates, at most
 * U+10FFFF), with *cp set; 0 when the bytes there are not one.
 */
static size_t
utf8_scalar(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t len, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (uint32_t)(p[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Check the bytes of a name (column, category, label): NULL when they are
 * fine, else the problem, with *at the offset of the bad character.  The
 * length has been checked already.
 */
static const char *
name_problem(const unsigned char *p, size_t n, size_t *at, char *buf, size_t bufsize)
{
	size_t i = 0, l;
	uint32_t cp;

	while (i < n) {
		*at = i;
		if ((l = utf8_scalar(p + i, n - i, &cp)) == 0)
			return "invalid UTF-8";
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			snprintf(buf, bufsize, "control character U+%04X", (unsigned)cp);
			return buf;
		}
		i += l;
	}
	return NULL;
}

/* Byte order, a prefix first. */
static int
bytes_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

/* ---------------------------------------------------------------------------
 * The parser */

enum field {
	F_MAGIC, F_VERSION, F_KIND, F_FLAGS, F_NFEATURES, F_INTERCEPT, F_TARGET, F_LABEL0,
	F_LABEL1, F_FEATURE, F_COLUMN, F_HAS_CATEGORY, F_CATEGORY, F_COEF, F_END
};

struct slice {
	const unsigned char *p;	/* NULL: absent */
	size_t n;
};

struct parser {
	const unsigned char *data;
	size_t n, off;
	struct dml_model *m;	/* NULL: only check */
	/* The fault, when parse() returns -1. */
	int nomem;
	size_t fault_off;
	enum field field;
	size_t index;		/* the feature, for F_FEATURE .. F_COEF */
	char why[160];
};

static void
field_name(char *buf, size_t size, enum field f, size_t index)
{
	static const char *const names[] = {
		[F_MAGIC] = "magic", [F_VERSION] = "version", [F_KIND] = "kind",
		[F_FLAGS] = "flags", [F_NFEATURES] = "feature count",
		[F_INTERCEPT] = "intercept", [F_TARGET] = "target", [F_LABEL0] = "label 0",
		[F_LABEL1] = "label 1", [F_FEATURE] = "", [F_COLUMN] = " column",
		[F_HAS_CATEGORY] = " has_category", [F_CATEGORY] = " category",
		[F_COEF] = " coefficient", [F_END] = "after the last feature",
	};

	if (f >= F_FEATURE && f <= F_COEF)
		snprintf(buf, size, "feature %zu%s", index, names[f]);
	else
		snprintf(buf, size, "%s", names[f]);
}

static int
fail(struct parser *ps, size_t off, enum field f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(struct parser *ps, size_t off, enum field f, const char *fmt, ...)
{
	va_list ap;

	ps->fault_off = off;
	ps->field = f;
	va_start(ap, fmt);
	vsnprintf(ps->why, sizeof(ps->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int
nomem(struct parser *ps)
{
	ps->nomem = 1;
	return -1;
}

/* The next k bytes of field f, or a truncation fault. */
static int
take(struct parser *ps, enum field f, size_t k, const unsigned char **p)
{
	*p = NULL;
	if (ps->n - ps->off < k)
		return fail(ps, ps->off, f, "truncated: needs %zu byte%s, %zu left", k,
		    k == 1 ? "" : "s", ps->n - ps->off);
	*p = ps->data + ps->off;
	ps->off += k;
	return 0;
}

static int
get_u8(struct parser *ps, enum field f, unsigned *v)
{
	const unsigned char *p;

	if (take(ps, f, 1, &p))
		return -1;
	*v = p[0];
	return 0;
}

static int
get_u32(struct parser *ps, enum field f, uint32_t *v)
{
	const unsigned char *p;

	if (take(ps, f, 4, &p))
		return -1;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return 0;
}

/* A double that must be finite. */
static int
get_f64(struct parser *ps, enum field f, double *v)
{
	const unsigned char *p;
	size_t start = ps->off;
	uint64_t u = 0;
	int i;

	if (take(ps, f, 8, &p))
		return -1;
	for (i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	*v = bits_double(u);
	if (!isfinite(*v))
		return fail(ps, start, f, "%s", isnan(*v) ? "not a number" : "infinite");
	return 0;
}

/* A name: u32 length (1 to DML_MODEL_NAME_MAX), then that many bytes. */
static int
get_name(struct parser *ps, enum field f, struct slice *s)
{
	const char *why;
	char buf[64];
	size_t start = ps->off, at = 0;
	uint32_t len;

	if (get_u32(ps, f, &len))
		return -1;
	if (len == 0)
		return fail(ps, start, f, "empty");
	if (len > DML_MODEL_NAME_MAX)
		return fail(ps, start, f, "%lu bytes long, at most %u", (unsigned long)len,
		    DML_MODEL_NAME_MAX);
	if (ps->n - ps->off < len)
		return fail(ps, start, f, "truncated: %lu bytes long, %zu left",
		    (unsigned long)len, ps->n - ps->off);
	if (take(ps, f, len, &s->p))
		return -1;
	s->n = len;
	if ((why = name_problem(s->p, s->n, &at, buf, sizeof(buf))) != NULL)
		return fail(ps, start + 4 + at, f, "%s", why);
	return 0;
}

/* A NUL-terminated copy of s into *dst, when filling a model. */
static int
keep(struct parser *ps, const struct slice *s, char **dst)
{
	if (ps->m == NULL)
		return 0;
	if ((*dst = malloc(s->n + 1)) == NULL)
		return nomem(ps);
	memcpy(*dst, s->p, s->n);
	(*dst)[s->n] = '\0';
	return 0;
}

/* Room for one more feature in ps->m, up to want; the new one is zeroed and counted. */
static int
add_feature(struct parser *ps, size_t *cap, size_t want)
{
	struct dml_model *m = ps->m;

	if (m == NULL)
		return 0;
	if (m->nfeatures == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct dml_model_feature *nf;
		if (ncap > want)
			ncap = want;
		if ((nf = realloc(m->features, ncap * sizeof(*nf))) == NULL)
			return nomem(ps);
		m->features = nf;
		*cap = ncap;
	}
	memset(&m->features[m->nfeatures], 0, sizeof(m->features[0]));
	m->nfeatures++;
	return 0;
}

/* 0, or -1 with the fault in ps (ps->nomem for out of memory). */
static int
parse(struct parser *ps)
{
	struct dml_model *m = ps->m;
	const unsigned char *p;
	struct slice target, label0, label1, col, cat, prev_col = { NULL, 0 },
	    prev_cat = { NULL, 0 };
	uint32_t version, kind, flags, nfeatures;
	unsigned has_cat;
	size_t start, i, cap = 0;
	double v;
	int c;

	if (take(ps, F_MAGIC, MAGIC_LEN, &p))
		return -1;
	if (memcmp(p, DML_MODEL_MAGIC, MAGIC_LEN) != 0)
		return fail(ps, 0, F_MAGIC, "not \"" DML_MODEL_MAGIC "\"");

	start = ps->off;
	if (get_u32(ps, F_VERSION, &version))
		return -1;
	if (version != DML_MODEL_VERSION)
		return fail(ps, start, F_VERSION, "unsupported version %lu (this is version %u)",
		    (unsigned long)version, DML_MODEL_VERSION);

	start = ps->off;
	if (get_u32(ps, F_KIND, &kind))
		return -1;
	if (kind > DML_MODEL_LOGISTIC)
		return fail(ps, start, F_KIND, "unknown kind %lu", (unsigned long)kind);
	if (m != NULL)
		m->kind = (enum dml_model_kind)kind;

	start = ps->off;
	if (get_u32(ps, F_FLAGS, &flags))
		return -1;
	if (flags & ~FLAG_INTERCEPT)
		return fail(ps, start, F_FLAGS, "unknown flag bits 0x%lx",
		    (unsigned long)(flags & ~FLAG_INTERCEPT));
	if (m != NULL)
		m->has_intercept = (flags & FLAG_INTERCEPT) != 0;

	start = ps->off;
	if (get_u32(ps, F_NFEATURES, &nfeatures))
		return -1;
	if (nfeatures > DML_MODEL_FEATURES_MAX)
		return fail(ps, start, F_NFEATURES, "%lu features, at most %u",
		    (unsigned long)nfeatures, DML_MODEL_FEATURES_MAX);
	if (nfeatures == 0 && !(flags & FLAG_INTERCEPT))
		return fail(ps, start, F_NFEATURES, "no features and no intercept");

	start = ps->off;
	if (get_f64(ps, F_INTERCEPT, &v))
		return -1;
	if (!(flags & FLAG_INTERCEPT) && double_bits(v) != 0)
		return fail(ps, start, F_INTERCEPT, "not +0.0 in a model without intercept");
	if (m != NULL)
		m->intercept = v;

	if (get_name(ps, F_TARGET, &target) || keep(ps, &target, m ? &m->target : NULL))
		return -1;

	if (kind == DML_MODEL_LOGISTIC) {
		if (get_name(ps, F_LABEL0, &label0) ||
		    keep(ps, &label0, m ? &m->labels[0] : NULL))
			return -1;
		start = ps->off;
		if (get_name(ps, F_LABEL1, &label1))
			return -1;
		if (bytes_cmp(label0.p, label0.n, label1.p, label1.n) >= 0)
			return fail(ps, start, F_LABEL1, "%s label 0",
			    label0.n == label1.n && memcmp(label0.p, label1.p, label0.n) == 0 ?
			    "equals" : "sorts before");
		if (keep(ps, &label1, m ? &m->labels[1] : NULL))
			return -1;
	}

	for (i = 0; i < nfeatures; i++) {
		struct dml_model_feature *f = NULL;
		size_t fstart = ps->off;

		ps->index = i;
		if (add_feature(ps, &cap, nfeatures))
			return -1;
		if (m != NULL)
			f = &m->features[i];
		if (get_name(ps, F_COLUMN, &col))
			return -1;
		if (col.n == target.n && memcmp(col.p, target.p, col.n) == 0)
			return fail(ps, fstart, F_COLUMN, "is the target column");
		if (keep(ps, &col, f ? &f->column : NULL))
			return -1;

		start = ps->off;
		if (get_u8(ps, F_HAS_CATEGORY, &has_cat))
			return -1;
		if (has_cat > 1)
			return fail(ps, start, F_HAS_CATEGORY, "%u, not 0 or 1", has_cat);
		cat.p = NULL;
		cat.n = 0;
		if (has_cat && (get_name(ps, F_CATEGORY, &cat) ||
		    keep(ps, &cat, f ? &f->category : NULL)))
			return -1;

		if (i > 0) {
			c = bytes_cmp(prev_col.p, prev_col.n, col.p, col.n);
			if (c == 0 && (prev_cat.p == NULL) != (cat.p == NULL))
				c = prev_cat.p == NULL ? -1 : 1;
			else if (c == 0 && cat.p != NULL)
				c = bytes_cmp(prev_cat.p, prev_cat.n, cat.p, cat.n);
			if (c >= 0)
				return fail(ps, fstart, F_FEATURE, "%s feature %zu",
				    c == 0 ? "repeats" : "sorts before", i - 1);
		}
		prev_col = col;
		prev_cat = cat;

		if (get_f64(ps, F_COEF, &v))
			return -1;
		if (f != NULL)
			f->coef = v;
	}
	if (ps->off != ps->n)
		return fail(ps, ps->off, F_END, "%zu trailing byte%s", ps->n - ps->off,
		    ps->n - ps->off == 1 ? "" : "s");
	return 0;
}

const struct dml_error *
dml_model_decode(struct dml_model *m, const void *data, size_t n)
{
	struct parser ps;
	char field[64];

	dml_model_init(m);
	memset(&ps, 0, sizeof(ps));
	ps.data = data;
	ps.n = n;
	ps.m = m;
	if (parse(&ps) == 0)
		return NULL;
	dml_model_release(m);
	if (ps.nomem)
		return dml_error_nomem();
	field_name(field, sizeof(field), ps.field, ps.index);
	return dml_error_fmt(DML_ERR_PARSE, "model file offset %zu: %s: %s", ps.fault_off, field,
	    ps.why);
}

/* ---------------------------------------------------------------------------
 * Encoding */

static const struct dml_error *
put_u32(struct dml_buf *out, uint32_t v)
{
	unsigned char b[4];

	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
	b[2] = (unsigned char)(v >> 16);
	b[3] = (unsigned char)(v >> 24);
	return dml_buf_add(out, b, sizeof(b));
}

static const struct dml_error *
put_f64(struct dml_buf *out, double d)
{
	unsigned char b[8];
	uint64_t u = double_bits(d);
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (8 * i));
	return dml_buf_add(out, b, sizeof(b));
}

static const struct dml_error *
put_name(struct dml_buf *out, const char *s)
{
	const struct dml_error *err;
	size_t n = strlen(s);

	if ((err = put_u32(out, (uint32_t)n)))
		return err;
	return dml_buf_add(out, s, n);
}

/* A string the length field can carry; the other rules are left to parse(). */
static const struct dml_error *
name_fits(const char *s, const char *field)
{
	size_t n;

	if (s == NULL)
		return dml_error_fmt(DML_ERR_USAGE, "model %s: missing", field);
	if ((n = strlen(s)) > DML_MODEL_NAME_MAX)
		return dml_error_fmt(DML_ERR_USAGE, "model %s: %zu bytes long, at most %u", field,
		    n, DML_MODEL_NAME_MAX);
	return NULL;
}

/* What bytes cannot show: checked before writing. */
static const struct dml_error *
encode_check(const struct dml_model *m)
{
	const struct dml_error *err;
	char field[64];
	int logistic;
	size_t i;

	if ((unsigned)m->kind > DML_MODEL_LOGISTIC)
		return dml_error_fmt(DML_ERR_USAGE, "model kind: unknown kind %d", (int)m->kind);
	if (m->has_intercept != 0 && m->has_intercept != 1)
		return dml_error_fmt(DML_ERR_USAGE, "model has_intercept: %d, not 0 or 1",
		    m->has_intercept);
	if ((err = name_fits(m->target, "target")))
		return err;
	logistic = m->kind == DML_MODEL_LOGISTIC;
	for (i = 0; i < 2; i++) {
		if (!logistic && m->labels[i] != NULL)
			return dml_error_fmt(DML_ERR_USAGE,
			    "model label %zu: only a logistic model has labels", i);
		if (logistic && (err = name_fits(m->labels[i], i ? "label 1" : "label 0")))
			return err;
	}
	if (m->nfeatures > DML_MODEL_FEATURES_MAX)
		return dml_error_fmt(DML_ERR_USAGE, "model feature count: %zu features, at most %u",
		    m->nfeatures, DML_MODEL_FEATURES_MAX);
	if (m->nfeatures > 0 && m->features == NULL)
		return dml_error_fmt(DML_ERR_USAGE, "model features: missing");
	for (i = 0; i < m->nfeatures; i++) {
		field_name(field, sizeof(field), F_COLUMN, i);
		if ((err = name_fits(m->features[i].column, field)))
			return err;
		field_name(field, sizeof(field), F_CATEGORY, i);
		if (m->features[i].category != NULL &&
		    (err = name_fits(m->features[i].category, field)))
			return err;
	}
	return NULL;
}

const struct dml_error *
dml_model_encode(const struct dml_model *m, struct dml_buf *out)
{
	const struct dml_error *err;
	struct parser ps;
	size_t start = out->len, i;
	char field[64];

	if ((err = encode_check(m)))
		return err;
	if ((err = dml_buf_add(out, DML_MODEL_MAGIC, MAGIC_LEN)) ||
	    (err = put_u32(out, DML_MODEL_VERSION)) ||
	    (err = put_u32(out, (uint32_t)m->kind)) ||
	    (err = put_u32(out, m->has_intercept ? FLAG_INTERCEPT : 0)) ||
	    (err = put_u32(out, (uint32_t)m->nfeatures)) ||
	    (err = put_f64(out, m->intercept)) ||
	    (err = put_name(out, m->target)))
		goto fail;
	if (m->kind == DML_MODEL_LOGISTIC &&
	    ((err = put_name(out, m->labels[0])) || (err = put_name(out, m->labels[1]))))
		goto fail;
	for (i = 0; i < m->nfeatures; i++) {
		const struct dml_model_feature *f = &m->features[i];
		unsigned char has_cat = f->category != NULL;

		if ((err = put_name(out, f->column)) || (err = dml_buf_add(out, &has_cat, 1)) ||
		    (has_cat && (err = put_name(out, f->category))) ||
		    (err = put_f64(out, f->coef)))
			goto fail;
	}

	/* Write nothing that decode would refuse. */
	memset(&ps, 0, sizeof(ps));
	ps.data = out->data + start;
	ps.n = out->len - start;
	if (parse(&ps) != 0) {
		field_name(field, sizeof(field), ps.field, ps.index);
		err = dml_error_fmt(DML_ERR_USAGE, "model %s: %s", field, ps.why);
		goto fail;
	}
	return NULL;
fail:
	if (out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	return err;
}
