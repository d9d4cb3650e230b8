/*
 * test_modelfile.c - the model file (dml/model.h, dmlctl-model(5)).
 *
 * One small model is checked against bytes written out by hand; models of
 * every kind must survive encode and decode bit for bit; and a table of
 * near misses, built by a writer in this file that knows nothing of the
 * rules, must all be refused by decode with the offset and field named,
 * and refused by encode when they come as a struct.
 */
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
#include "dml/model.h"

/* ---------------------------------------------------------------------------
 * Helpers */

static uint64_t
bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Decode exactly n bytes from a buffer of that size, so ASan sees overreads. */
static const struct dml_error *
decode_exact(struct dml_model *m, const unsigned char *p, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);
	const struct dml_error *err;

	assert_non_null(copy);
	memcpy(copy, p, n);
	err = dml_model_decode(m, copy, n);
	free(copy);
	return err;
}

static void
assert_released(const struct dml_model *m)
{
	assert_null(m->target);
	assert_null(m->labels[0]);
	assert_null(m->labels[1]);
	assert_null(m->features);
	assert_int_equal(m->nfeatures, 0);
	assert_int_equal(m->has_intercept, 0);
	assert_true(bits(m->intercept) == 0);
}

static void
assert_same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

/* Equal field by field, doubles bit for bit. */
static void
assert_same_model(const struct dml_model *a, const struct dml_model *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_same_string(a->target, b->target);
	assert_same_string(a->labels[0], b->labels[0]);
	assert_same_string(a->labels[1], b->labels[1]);
	assert_int_equal(a->has_intercept, b->has_intercept);
	assert_true(bits(a->intercept) == bits(b->intercept));
	assert_int_equal(a->nfeatures, b->nfeatures);
	for (i = 0; i < a->nfeatures; i++) {
		assert_string_equal(a->features[i].column, b->features[i].column);
		assert_same_string(a->features[i].category, b->features[i].category);
		assert_true(bits(a->features[i].coef) == bits(b->features[i].coef));
	}
}

/* Encode m, decode it back, compare, and encode the copy to the same bytes. */
static void
round_trip(const struct dml_model *m)
{
	struct dml_buf b = DML_BUF_INIT, again = DML_BUF_INIT;
	struct dml_model d;
	const struct dml_error *err;

	if ((err = dml_model_encode(m, &b)) != NULL)
		fail_msg("encode: %s", err->msg);
	if ((err = decode_exact(&d, b.data, b.len)) != NULL)
		fail_msg("decode: %s", err->msg);
	assert_same_model(m, &d);
	assert_null(dml_model_encode(&d, &again));
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	dml_model_release(&d);
	dml_buf_release(&b);
	dml_buf_release(&again);
}

#define FEAT(col, cat, c) { (char *)(col), (char *)(cat), (c) }

/* ---------------------------------------------------------------------------
 * The known answer */

static struct dml_model_feature golden_features[] = {
	FEAT("age", NULL, -0.25),
	FEAT("city", "oslo", 2.0),
};

static const struct dml_model golden_model = {
	.kind = DML_MODEL_LOGISTIC,
	.target = (char *)"y",
	.labels = { (char *)"no", (char *)"yes" },
	.has_intercept = 1,
	.intercept = 0.5,
	.features = golden_features,
	.nfeatures = 2,
};

static const unsigned char golden[] = {
	/* 0 magic */ 'D', 'M', 'L', 'M', 'O', 'D', 'E', 'L',
	/* 8 version */ 0x01, 0x00, 0x00, 0x00,
	/* 12 kind: logistic */ 0x02, 0x00, 0x00, 0x00,
	/* 16 flags: intercept */ 0x01, 0x00, 0x00, 0x00,
	/* 20 features */ 0x02, 0x00, 0x00, 0x00,
	/* 24 intercept 0.5 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f,
	/* 32 target */ 0x01, 0x00, 0x00, 0x00, 'y',
	/* 37 label 0 */ 0x02, 0x00, 0x00, 0x00, 'n', 'o',
	/* 43 label 1 */ 0x03, 0x00, 0x00, 0x00, 'y', 'e', 's',
	/* 50 feature 0 column */ 0x03, 0x00, 0x00, 0x00, 'a', 'g', 'e',
	/* 57 has_category */ 0x00,
	/* 58 coefficient -0.25 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0xbf,
	/* 66 feature 1 column */ 0x04, 0x00, 0x00, 0x00, 'c', 'i', 't', 'y',
	/* 74 has_category */ 0x01,
	/* 75 category */ 0x04, 0x00, 0x00, 0x00, 'o', 's', 'l', 'o',
	/* 83 coefficient 2.0 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40,
	/* 91 end */
};

static void
test_encode_known_answer(void **state)
{
	struct dml_buf b = DML_BUF_INIT;
	struct dml_model m;

	assert_null(dml_model_encode(&golden_model, &b));
	assert_int_equal(b.len, sizeof(golden));
	assert_memory_equal(b.data, golden, sizeof(golden));

	assert_null(decode_exact(&m, golden, sizeof(golden)));
	assert_same_model(&golden_model, &m);
	assert_int_equal(m.kind, DML_MODEL_LOGISTIC);
	assert_string_equal(m.labels[1], "yes");
	assert_null(m.features[0].category);
	assert_string_equal(m.features[1].category, "oslo");
	assert_true(m.features[0].coef == -0.25);
	dml_model_release(&m);
	assert_released(&m);
	dml_model_release(&m);	/* twice is harmless */

	/* Encode appends to what the buffer holds. */
	dml_buf_reset(&b);
	assert_null(dml_buf_adds(&b, "x"));
	assert_null(dml_model_encode(&golden_model, &b));
	assert_int_equal(b.len, 1 + sizeof(golden));
	assert_memory_equal(b.data + 1, golden, sizeof(golden));
	dml_buf_release(&b);
}

/* ---------------------------------------------------------------------------
 * Round trips */

static void
test_round_trips(void **state)
{
	static struct dml_model_feature ols_f[] = {
		FEAT("a", NULL, 1.0),
		FEAT("b", NULL, -0.0),
		FEAT("ba", NULL, 4.9406564584124654e-324),	/* the smallest subnormal */
		FEAT("c", NULL, 1.7976931348623157e308),
	};
	static struct dml_model_feature ridge_f[] = {
		/* Numeric first, then categories in byte order; "B" < "a" < "\xc3\xa9". */
		FEAT("colour", NULL, 0.125),
		FEAT("colour", "B", -3.5),
		FEAT("colour", "a", 1e-300),
		FEAT("colour", "ab", 2.0),
		FEAT("colour", "\xc3\xa9t\xc3\xa9", 7.0),
		FEAT("z\xc3\xbcrich", NULL, -1e300),
		FEAT("\xe2\x82\xac", "\xf4\x8f\xbf\xbf", 0.1),	/* U+20AC, U+10FFFF */
	};
	static struct dml_model_feature logit_f[] = {
		FEAT("x", NULL, 0.3),
	};
	struct dml_model m;
	char *longname;

	dml_model_init(&m);
	m.kind = DML_MODEL_OLS;
	m.target = (char *)"y";
	m.features = ols_f;
	m.nfeatures = 4;
	round_trip(&m);	/* no intercept */
	m.has_intercept = 1;
	m.intercept = -0.0;	/* a negative zero is kept, bit for bit */
	round_trip(&m);

	m.kind = DML_MODEL_RIDGE;
	m.target = (char *)"price \xe2\x82\xac";
	m.features = ridge_f;
	m.nfeatures = sizeof(ridge_f) / sizeof(ridge_f[0]);
	m.intercept = 123456.789;
	round_trip(&m);

	/* An intercept alone. */
	m.nfeatures = 0;
	m.features = NULL;
	round_trip(&m);

	m.kind = DML_MODEL_LOGISTIC;
	m.labels[0] = (char *)"0";
	m.labels[1] = (char *)"1";
	round_trip(&m);
	m.labels[0] = (char *)"false";
	m.labels[1] = (char *)"true";
	m.features = logit_f;
	m.nfeatures = 1;
	round_trip(&m);
	m.labels[0] = (char *)"a";
	m.labels[1] = (char *)"ab";	/* a prefix sorts first */
	m.has_intercept = 0;
	m.intercept = 0.0;
	round_trip(&m);

	/* Names of the longest length. */
	longname = malloc(DML_MODEL_NAME_MAX + 1);
	assert_non_null(longname);
	memset(longname, 'n', DML_MODEL_NAME_MAX);
	longname[DML_MODEL_NAME_MAX] = '\0';
	m.target = longname;
	m.labels[1] = longname;
	round_trip(&m);
	free(longname);
}

/* The most features a model may have, and one more. */
static void
test_feature_limit(void **state)
{
	size_t n = DML_MODEL_FEATURES_MAX + 1, i;
	struct dml_model_feature *f = calloc(n, sizeof(*f));
	char (*names)[8] = calloc(n, sizeof(*names));
	struct dml_model m;
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err;

	assert_non_null(f);
	assert_non_null(names);
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "f%05zu", i);
		f[i].column = names[i];
		f[i].coef = (double)i;
	}
	dml_model_init(&m);
	m.kind = DML_MODEL_RIDGE;
	m.target = (char *)"y";
	m.features = f;
	m.nfeatures = DML_MODEL_FEATURES_MAX;
	round_trip(&m);

	/* One more: encode refuses, and so does decode when the count is patched. */
	assert_null(dml_model_encode(&m, &b));
	m.nfeatures = n;
	err = dml_model_encode(&m, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	b.data[20] = (unsigned char)(n & 0xff);
	b.data[21] = (unsigned char)(n >> 8);
	err = decode_exact(&m, b.data, b.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_string_equal(err->msg, "model file offset 20: feature count: 16385 features, "
	    "at most 16384");
	assert_released(&m);
	dml_buf_release(&b);
	free(names);
	free(f);
}

static void
test_kind_names(void **state)
{
	static const char *const names[] = { "ols", "ridge", "logistic" };
	int k;

	for (k = 0; k < 3; k++) {
		assert_string_equal(dml_model_kind_name((enum dml_model_kind)k), names[k]);
		assert_int_equal(dml_model_kind_parse(names[k]), k);
	}
	assert_int_equal(dml_model_kind_parse("OLS"), -1);
	assert_int_equal(dml_model_kind_parse("logit"), -1);
	assert_int_equal(dml_model_kind_parse(""), -1);
	assert_int_equal(dml_model_kind_parse("ols "), -1);
	assert_int_equal(dml_model_kind_parse(NULL), -1);
	assert_string_equal(dml_model_kind_name((enum dml_model_kind)3), "unknown");
}

/* ---------------------------------------------------------------------------
 * Malformed files
 *
 * A raw model is written field by field as it says, whatever the rules;
 * each case of the table overrides a few fields of a valid base, the
 * logistic golden model.
 */

struct rstr {
	const char *p;		/* NULL with n > 0: n bytes of 'a' */
	size_t n;
};

#define S(lit) { (lit), sizeof(lit) - 1 }
#define LONG(len) { NULL, (len) }

struct rfeature {
	struct rstr column;
	unsigned has_category;	/* written as is; a category follows when 1 */
	struct rstr category;
	uint64_t coef;
};

struct raw {
	const char *magic;	/* 8 bytes */
	uint32_t version, kind, flags, nfeatures;
	uint64_t intercept;
	struct rstr target;
	int has_labels;
	struct rstr label0, label1;
	struct rfeature f[3];
	size_t nf;		/* features written */
	struct rstr trailer;
};

#define B_HALF UINT64_C(0x3fe0000000000000)	/* 0.5 */
#define B_ONE UINT64_C(0x3ff0000000000000)
#define B_TWO UINT64_C(0x4000000000000000)
#define B_NEGZERO UINT64_C(0x8000000000000000)
#define B_NAN UINT64_C(0x7ff8000000000000)
#define B_SNAN UINT64_C(0x7ff0000000000001)
#define B_INF UINT64_C(0x7ff0000000000000)
#define B_NEGINF UINT64_C(0xfff0000000000000)

#define F_AGE { S("age"), 0, { NULL, 0 }, B_ONE }
#define F_CITY(cat) { S("city"), 1, S(cat), B_TWO }
#define F_CITYNUM { S("city"), 0, { NULL, 0 }, B_TWO }

#define BASE .magic = "DMLMODEL", .version = 1, .kind = 2, .flags = 1, .nfeatures = 2, \
	.intercept = B_HALF, .target = S("y"), .has_labels = 1, .label0 = S("no"), \
	.label1 = S("yes"), .f = { F_AGE, F_CITY("oslo") }, .nf = 2

struct bad_case {
	struct raw r;
	const char *needle;	/* in the message */
};

#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

static const struct bad_case bad_cases[] = {
	{ { BASE }, NULL },	/* the base is valid */
	{ { BASE, .magic = "DMLMODEl" }, "offset 0: magic: not \"DMLMODEL\"" },
	{ { BASE, .magic = "dmlmodel" }, "offset 0: magic" },
	{ { BASE, .version = 2 }, "offset 8: version: unsupported version 2" },
	{ { BASE, .version = 0 }, "offset 8: version" },
	{ { BASE, .version = 0x01000000 }, "offset 8: version" },	/* big-endian 1 */
	{ { BASE, .kind = 3 }, "offset 12: kind: unknown kind 3" },
	{ { BASE, .kind = 0x02000000 }, "offset 12: kind" },
	{ { BASE, .flags = 3 }, "offset 16: flags: unknown flag bits 0x2" },
	{ { BASE, .flags = 0x80000001 }, "offset 16: flags" },
	{ { BASE, .nfeatures = DML_MODEL_FEATURES_MAX + 1 }, "offset 20: feature count" },
	{ { BASE, .nfeatures = UINT32_MAX }, "offset 20: feature count" },
	{ { BASE, .flags = 0, .intercept = 0, .nfeatures = 0, .nf = 0 },
	  "offset 20: feature count: no features and no intercept" },
	{ { BASE, .nfeatures = 3 }, "offset 91: feature 2 column: truncated: needs 4 bytes, 0 left" },
	{ { BASE, .nfeatures = 1 }, "offset 66: after the last feature: 25 trailing bytes" },
	{ { BASE, .trailer = S("\0") }, "offset 91: after the last feature: 1 trailing byte" },
	{ { BASE, .intercept = B_NAN }, "offset 24: intercept: not a number" },
	{ { BASE, .intercept = B_SNAN }, "offset 24: intercept: not a number" },
	{ { BASE, .intercept = B_INF }, "offset 24: intercept: infinite" },
	{ { BASE, .intercept = B_NEGINF }, "offset 24: intercept: infinite" },
	{ { BASE, .flags = 0, .intercept = B_ONE },
	  "offset 24: intercept: not +0.0 in a model without intercept" },
	{ { BASE, .flags = 0, .intercept = B_NEGZERO }, "offset 24: intercept" },
	{ { BASE, .flags = 0, .intercept = 1 }, "offset 24: intercept" },	/* a subnormal */
	{ { BASE, .f = { { S("age"), 0, { NULL, 0 }, B_NAN }, F_CITY("oslo") } },
	  "offset 58: feature 0 coefficient: not a number" },
	{ { BASE, .f = { F_AGE, { S("city"), 1, S("oslo"), B_NEGINF } } },
	  "offset 83: feature 1 coefficient: infinite" },
	/* Order and uniqueness. */
	{ { BASE, .f = { F_CITY("oslo"), F_AGE } }, "offset 75: feature 1: sorts before feature 0" },
	{ { BASE, .f = { F_AGE, F_AGE } }, "offset 66: feature 1: repeats feature 0" },
	{ { BASE, .f = { F_CITY("oslo"), F_CITY("oslo") } }, "feature 1: repeats feature 0" },
	{ { BASE, .f = { F_CITY("oslo"), F_CITYNUM } }, "feature 1: sorts before feature 0" },
	{ { BASE, .f = { F_CITY("oslo"), F_CITY("bergen") } }, "feature 1: sorts before feature 0" },
	{ { BASE, .f = { F_CITY("oslo2"), F_CITY("oslo") } }, "feature 1: sorts before feature 0" },
	{ { BASE, .nfeatures = 3, .nf = 3, .f = { F_AGE, F_CITY("a"), F_CITY("a") } },
	  "feature 2: repeats feature 1" },
	{ { BASE, .f = { { S("ag"), 0, { NULL, 0 }, B_ONE }, F_AGE } }, NULL },	/* prefix first: valid */
	{ { BASE, .f = { F_AGE, { S("ag"), 0, { NULL, 0 }, B_ONE } } }, "sorts before feature 0" },
	{ { BASE, .f = { F_AGE, { S("city"), 2, { NULL, 0 }, B_TWO } } },
	  "offset 74: feature 1 has_category: 2, not 0 or 1" },
	{ { BASE, .f = { F_AGE, { S("city"), 0x80, S("oslo"), B_TWO } } }, "feature 1 has_category" },
	/* Labels. */
	{ { BASE, .kind = 0 }, "feature 0 has_category: 3, not 0 or 1" },	/* "no" read as a column */
	{ { BASE, .kind = 1, .label1 = S("\x02\0\0\0no") }, "feature 0" },
	{ { BASE, .has_labels = 0 }, "offset 44: label 1: empty" },	/* "age" read as label 0 */
	{ { BASE, .has_labels = 0, .nfeatures = 0, .nf = 0 },
	  "offset 37: label 0: truncated: needs 4 bytes, 0 left" },
	{ { BASE, .label1 = S("no") }, "offset 43: label 1: equals label 0" },
	{ { BASE, .label0 = S("yes"), .label1 = S("no") }, "offset 44: label 1: sorts before label 0" },
	{ { BASE, .label0 = S("no"), .label1 = S("n") }, "label 1: sorts before label 0" },
	{ { BASE, .label0 = S("no"), .label1 = S("No") }, "label 1: sorts before label 0" },
	/* Strings. */
	{ { BASE, .target = S("") }, "offset 32: target: empty" },
	{ { BASE, .label0 = S("") }, "offset 37: label 0: empty" },
	{ { BASE, .label1 = S("") }, "label 1: empty" },
	{ { BASE, .f = { { S(""), 0, { NULL, 0 }, B_ONE }, F_CITY("oslo") } },
	  "offset 50: feature 0 column: empty" },
	{ { BASE, .f = { F_AGE, F_CITY("") } }, "offset 75: feature 1 category: empty" },
	{ { BASE, .target = LONG(DML_MODEL_NAME_MAX + 1) },
	  "offset 32: target: 4097 bytes long, at most 4096" },
	{ { BASE, .f = { F_AGE, { S("city"), 1, LONG(DML_MODEL_NAME_MAX + 1), B_TWO } } },
	  "feature 1 category: 4097 bytes long" },
	{ { BASE, .f = { { LONG(DML_MODEL_NAME_MAX + 1), 0, { NULL, 0 }, B_ONE } } },
	  "feature 0 column: 4097 bytes long" },
	{ { BASE, .target = S("\xff") }, "offset 36: target: invalid UTF-8" },
	{ { BASE, .target = S("ab\xc3") }, "offset 38: target: invalid UTF-8" },	/* cut short */
	{ { BASE, .target = S("\xc0\xaf") }, "target: invalid UTF-8" },	/* overlong '/' */
	{ { BASE, .target = S("\xe0\x80\xaf") }, "target: invalid UTF-8" },
	{ { BASE, .target = S("\xf0\x80\x80\xaf") }, "target: invalid UTF-8" },
	{ { BASE, .target = S("\xed\xa0\x80") }, "target: invalid UTF-8" },	/* U+D800 */
	{ { BASE, .target = S("\xed\xbf\xbf") }, "target: invalid UTF-8" },	/* U+DFFF */
	{ { BASE, .target = S("\xf4\x90\x80\x80") }, "target: invalid UTF-8" },	/* U+110000 */
	{ { BASE, .target = S("\x80") }, "target: invalid UTF-8" },
	{ { BASE, .target = S("\xc3\x28") }, "target: invalid UTF-8" },
	{ { BASE, .label0 = S("n\xfe") }, "offset 42: label 0: invalid UTF-8" },
	{ { BASE, .f = { { S("\xffge"), 0, { NULL, 0 }, B_ONE }, F_CITY("oslo") } },
	  "model file offset 54: feature 0 column: invalid UTF-8" },
	{ { BASE, .f = { F_AGE, F_CITY("os\xa0o") } }, "offset 81: feature 1 category: invalid UTF-8" },
	{ { BASE, .target = S("a\tb") }, "offset 37: target: control character U+0009" },
	{ { BASE, .target = S("a\0b") }, "target: control character U+0000" },
	{ { BASE, .target = S("\n") }, "target: control character U+000A" },
	{ { BASE, .target = S("\x1f") }, "target: control character U+001F" },
	{ { BASE, .target = S("\x7f") }, "target: control character U+007F" },
	{ { BASE, .target = S("\xc2\x80") }, "target: control character U+0080" },
	{ { BASE, .target = S("\xc2\x85") }, "target: control character U+0085" },
	{ { BASE, .target = S("\xc2\x9f") }, "target: control character U+009F" },
	{ { BASE, .target = S("\xc2\xa0") }, NULL },	/* U+00A0 is fine */
	{ { BASE, .label1 = S("yes\r") }, "label 1: control character U+000D" },
	{ { BASE, .f = { F_AGE, F_CITY("os\x1blo") } }, "feature 1 category: control character" },
	/* The target is not a feature. */
	{ { BASE, .target = S("age") }, "offset 52: feature 0 column: is the target column" },
	{ { BASE, .target = S("city") }, "feature 1 column: is the target column" },
	{ { BASE, .target = S("ag") }, NULL },
	{ { BASE, .target = S("oslo") }, NULL },	/* a category may equal the target's name */
};

static void
write_u32(struct dml_buf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8),
		(unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	assert_null(dml_buf_add(b, p, 4));
}

static void
write_u64(struct dml_buf *b, uint64_t v)
{
	unsigned char p[8];
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	assert_null(dml_buf_add(b, p, 8));
}

static void
write_str(struct dml_buf *b, const struct rstr *s)
{
	size_t i;

	write_u32(b, (uint32_t)s->n);
	if (s->p != NULL) {
		assert_null(dml_buf_add(b, s->p, s->n));
		return;
	}
	for (i = 0; i < s->n; i++)
		assert_null(dml_buf_add(b, "a", 1));
}

static void
write_raw(struct dml_buf *b, const struct raw *r)
{
	unsigned char c;
	size_t i;

	assert_null(dml_buf_add(b, r->magic, 8));
	write_u32(b, r->version);
	write_u32(b, r->kind);
	write_u32(b, r->flags);
	write_u32(b, r->nfeatures);
	write_u64(b, r->intercept);
	write_str(b, &r->target);
	if (r->has_labels) {
		write_str(b, &r->label0);
		write_str(b, &r->label1);
	}
	for (i = 0; i < r->nf; i++) {
		write_str(b, &r->f[i].column);
		c = (unsigned char)r->f[i].has_category;
		assert_null(dml_buf_add(b, &c, 1));
		if (c == 1)
			write_str(b, &r->f[i].category);
		write_u64(b, r->f[i].coef);
	}
	if (r->trailer.n)
		assert_null(dml_buf_add(b, r->trailer.p, r->trailer.n));
}

static void
test_decode_rejects(void **state)
{
	struct dml_buf b = DML_BUF_INIT, again = DML_BUF_INIT;
	struct dml_model m;
	const struct dml_error *err;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		dml_buf_reset(&b);
		write_raw(&b, &bad_cases[i].r);
		err = decode_exact(&m, b.data, b.len);
		if (bad_cases[i].needle == NULL) {
			if (err != NULL)
				fail_msg("case %zu refused: %s", i, err->msg);
			dml_buf_reset(&again);
			assert_null(dml_model_encode(&m, &again));
			assert_int_equal(again.len, b.len);
			assert_memory_equal(again.data, b.data, b.len);
			dml_model_release(&m);
			continue;
		}
		if (err == NULL)
			fail_msg("case %zu accepted, expected '%s'", i, bad_cases[i].needle);
		if (err->code != DML_ERR_PARSE)
			fail_msg("case %zu: code %d: %s", i, err->code, err->msg);
		if (strncmp(err->msg, "model file offset ", 18) != 0 ||
		    strstr(err->msg, bad_cases[i].needle) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, err->msg,
			    bad_cases[i].needle);
		assert_released(&m);
	}
	dml_buf_release(&b);
	dml_buf_release(&again);
}

/* Every proper prefix of a valid file is truncated, and says so. */
static void
test_truncated_everywhere(void **state)
{
	static const struct raw ridge = { BASE, .kind = 1, .has_labels = 0,
		.f = { F_CITYNUM, F_CITY("oslo") } };
	struct dml_buf b = DML_BUF_INIT;
	struct dml_model m;
	const struct dml_error *err;
	size_t n, k;

	for (k = 0; k < 2; k++) {
		const unsigned char *file = golden;
		n = sizeof(golden);
		if (k == 1) {
			write_raw(&b, &ridge);
			assert_null(decode_exact(&m, b.data, b.len));
			dml_model_release(&m);
			file = b.data;
			n = b.len;
		}
		while (n-- > 0) {
			err = decode_exact(&m, file, n);
			assert_non_null(err);
			assert_int_equal(err->code, DML_ERR_PARSE);
			if (strstr(err->msg, "truncated") == NULL)
				fail_msg("prefix of %zu bytes: %s", n, err->msg);
			assert_released(&m);
		}
	}
	dml_buf_release(&b);

	err = dml_model_decode(&m, NULL, 0);
	assert_non_null(err);
	assert_string_equal(err->msg, "model file offset 0: magic: truncated: needs 8 bytes, 0 left");
	/* Offsets and fields of a few cuts of the known answer. */
	err = decode_exact(&m, golden, 42);
	assert_non_null(err);
	assert_string_equal(err->msg, "model file offset 37: label 0: truncated: 2 bytes long, 1 left");
	err = decode_exact(&m, golden, 57);
	assert_non_null(err);
	assert_string_equal(err->msg,
	    "model file offset 57: feature 0 has_category: truncated: needs 1 byte, 0 left");
	err = decode_exact(&m, golden, 90);
	assert_non_null(err);
	assert_string_equal(err->msg,
	    "model file offset 83: feature 1 coefficient: truncated: needs 8 bytes, 7 left");
}

/* ---------------------------------------------------------------------------
 * Encode refuses what decode would refuse */

static void
encode_fails(const struct dml_model *m, const char *needle)
{
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err;

	assert_null(dml_buf_adds(&b, "kept"));
	err = dml_model_encode(m, &b);
	if (err == NULL)
		fail_msg("encoded, expected '%s'", needle);
	if (err->code != DML_ERR_USAGE)
		fail_msg("code %d: %s", err->code, err->msg);
	if (strstr(err->msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, needle);
	/* Nothing was appended. */
	assert_int_equal(b.len, 4);
	assert_string_equal((char *)b.data, "kept");
	dml_buf_release(&b);
}

static void
test_encode_refuses(void **state)
{
	struct dml_model_feature f[3] = {
		FEAT("age", NULL, 1.0),
		FEAT("city", "oslo", 2.0),
		FEAT("city", "paris", 3.0),
	};
	struct dml_model m = golden_model;
	char *longname;

	m.features = f;
	m.nfeatures = 3;
	round_trip(&m);

	m.kind = (enum dml_model_kind)3;
	encode_fails(&m, "model kind: unknown kind 3");
	m.kind = (enum dml_model_kind)-1;
	encode_fails(&m, "model kind");
	m.kind = DML_MODEL_OLS;
	encode_fails(&m, "model label 0: only a logistic model has labels");
	m.labels[0] = NULL;
	encode_fails(&m, "model label 1");
	m.labels[1] = NULL;
	round_trip(&m);
	m.kind = DML_MODEL_LOGISTIC;
	encode_fails(&m, "model label 0: missing");
	m.labels[0] = (char *)"b";
	encode_fails(&m, "model label 1: missing");
	m.labels[1] = (char *)"b";
	encode_fails(&m, "model label 1: equals label 0");
	m.labels[1] = (char *)"a";
	encode_fails(&m, "model label 1: sorts before label 0");
	m.labels[0] = (char *)"";
	encode_fails(&m, "model label 0: empty");
	m.labels[0] = (char *)"a";
	m.labels[1] = (char *)"b\x7f";
	encode_fails(&m, "model label 1: control character U+007F");
	m.labels[1] = (char *)"b";
	round_trip(&m);

	m.has_intercept = 2;
	encode_fails(&m, "model has_intercept: 2, not 0 or 1");
	m.has_intercept = -1;
	encode_fails(&m, "model has_intercept");
	m.has_intercept = 0;
	encode_fails(&m, "model intercept: not +0.0 in a model without intercept");
	m.intercept = -0.0;
	encode_fails(&m, "model intercept");
	m.intercept = 0.0;
	round_trip(&m);
	m.has_intercept = 1;
	m.intercept = NAN;
	encode_fails(&m, "model intercept: not a number");
	m.intercept = -INFINITY;
	encode_fails(&m, "model intercept: infinite");
	m.intercept = 1.0;

	m.target = NULL;
	encode_fails(&m, "model target: missing");
	m.target = (char *)"city";
	encode_fails(&m, "model feature 1 column: is the target column");
	m.target = (char *)"\xed\xb0\x80";
	encode_fails(&m, "model target: invalid UTF-8");
	longname = malloc(DML_MODEL_NAME_MAX + 2);
	assert_non_null(longname);
	memset(longname, 'x', DML_MODEL_NAME_MAX + 1);
	longname[DML_MODEL_NAME_MAX + 1] = '\0';
	m.target = longname;
	encode_fails(&m, "model target: 4097 bytes long, at most 4096");
	m.target = (char *)"y";

	f[1].coef = INFINITY;
	encode_fails(&m, "model feature 1 coefficient: infinite");
	f[1].coef = 2.0;
	f[2].category = NULL;
	encode_fails(&m, "model feature 2: sorts before feature 1");
	f[2].category = (char *)"oslo";
	encode_fails(&m, "model feature 2: repeats feature 1");
	f[2].category = (char *)"";
	encode_fails(&m, "model feature 2 category: empty");
	f[2].category = longname;
	encode_fails(&m, "model feature 2 category: 4097 bytes long");
	f[2].category = (char *)"paris";
	f[0].column = (char *)"d";
	encode_fails(&m, "model feature 1: sorts before feature 0");
	f[0].column = NULL;
	encode_fails(&m, "model feature 0 column: missing");
	f[0].column = (char *)"a\nb";
	encode_fails(&m, "model feature 0 column: control character U+000A");
	f[0].column = (char *)"age";

	m.features = NULL;
	encode_fails(&m, "model features: missing");
	m.nfeatures = 0;
	round_trip(&m);	/* only an intercept */
	m.has_intercept = 0;
	m.intercept = 0.0;
	encode_fails(&m, "model feature count: no features and no intercept");
	m.nfeatures = (size_t)DML_MODEL_FEATURES_MAX + 1;
	encode_fails(&m, "model feature count: 16385 features, at most 16384");
	free(longname);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_known_answer),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_feature_limit),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_encode_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
