/*
 * test_update.c - the update file of federated rounds (dml/update.h), and
 * rounds run through the library (dml/round.h).
 *
 * The codec: round trips of every kind of update, golden bytes worked out
 * independently (python's struct and hashlib), a table of malformed headers
 * each of which must be refused with the documented error code, bad values,
 * bad signatures, and every truncation and every single-byte change of a
 * signed file.  A failed decode must leave nothing allocated.
 *
 * Rounds: each test builds a ledger in a fresh temporary repository whose
 * genesis admits the contributors, opens a round, trains updates on local
 * CSV files and submits them.  Crafted updates (a wrong dimension, another
 * base model, another mode, no samples) and ledger-level faults (a
 * non-member, a revoked key, a second update) must be recorded as rejected
 * with their reason.  A round.aggregate forged by the coordinator, carrying
 * the same round and updates but another model file, is accepted by the
 * ledger state (which cannot tell) and must fail the data check of
 * dml_ledger_verify; the same construction with the true model passes, so
 * the failure is the model's alone.  Last, the privacy noise of an update
 * must not be removable from what the update file says.
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

#include "crypto.h"
#include "dml/aggregate.h"
#include "dml/ledger.h"
#include "dml/repo.h"
#include "dml/round.h"
#include "dml/sshsig.h"
#include "dml/update.h"

/* ---------------------------------------------------------------------------
 * Helpers */

static struct dml_key *
key_seed(unsigned char fill)
{
	unsigned char seed[32];
	struct dml_key *k = NULL;

	memset(seed, fill, sizeof(seed));
	assert_null(dml_key_from_seed(&k, seed));
	return k;
}

/* Decode n bytes from a buffer of exactly n bytes (so ASan sees over-reads). */
static const struct dml_error *
decode_exact(struct dml_update *u, const void *p, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);
	const struct dml_error *err;

	assert_non_null(copy);
	memcpy(copy, p, n);
	err = dml_update_decode(u, copy, n);
	free(copy);
	return err;
}

/* A failed decode keeps nothing. */
static void
assert_released(const struct dml_update *u)
{
	assert_null(u->weights);
	assert_null(u->stats.xtx);
	assert_null(u->stats.xty);
}

static void
put_f64(unsigned char *p, double v)
{
	uint64_t b;
	int i;

	memcpy(&b, &v, sizeof(b));
	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(b >> (8 * i));
}

/*
 * An update file written by hand: "dmlctl-update 1\n", the lines `pre`, a
 * payload line naming the little-endian doubles v (nv of them) by digest and
 * size, the lines `post`, a blank line and the payload.
 */
static void
craft(struct dml_buf *out, const char *pre, const double *v, size_t nv, const char *post)
{
	unsigned char *pl = malloc(nv * 8 + 1), id[32];
	char hex[65];
	size_t i;

	assert_non_null(pl);
	for (i = 0; i < nv; i++)
		put_f64(pl + 8 * i, v[i]);
	dml_sha256(id, pl, nv * 8);
	dml_hex_encode(hex, id, 32);
	dml_buf_reset(out);
	assert_null(dml_buf_addf(out, "dmlctl-update 1\n%spayload sha256:%s %zu\n%s\n", pre, hex,
	    nv * 8, post));
	assert_null(dml_buf_add(out, pl, nv * 8));
	free(pl);
}

static const char ROUND01[] =
    "round sha256:0101010101010101010101010101010101010101010101010101010101010101\n";

/* The golden unsigned update: worked out with python's struct and hashlib. */
static const char GOLDEN_HEADER[] =
    "dmlctl-update 1\n"
    "round sha256:0101010101010101010101010101010101010101010101010101010101010101\n"
    "base none\n"
    "mode weights\n"
    "dimension 2\n"
    "samples 3\n"
    "payload sha256:f138ae8a7b9a72de60b736f59d2474dd5b2357f5817f0dfa3309f5da5e629d87 16\n"
    "\n";
static const unsigned char GOLDEN_PAYLOAD[16] = {
	0, 0, 0, 0, 0, 0, 0xf0, 0x3f,		/* 1.0 */
	0, 0, 0, 0, 0, 0, 0x04, 0xc0,		/* -2.5 */
};
static const char GOLDEN_ID[] =
    "6facaf2d83fbed74a26cef79c86c6a5c4d6d694c7ee53a7795b293a7e355b674";

static void
golden_file(struct dml_buf *out)
{
	dml_buf_reset(out);
	assert_null(dml_buf_adds(out, GOLDEN_HEADER));
	assert_null(dml_buf_add(out, GOLDEN_PAYLOAD, sizeof(GOLDEN_PAYLOAD)));
}

/* A weights update of d values, round 0x01..., base 0x02..., optionally dp. */
static void
make_weights(struct dml_update *u, size_t d, int dp)
{
	size_t i;

	dml_update_init(u);
	memset(u->round, 1, 32);
	u->have_base = 1;
	memset(u->base, 2, 32);
	u->mode = DML_UPDATE_WEIGHTS;
	u->d = d;
	u->samples = 12345;
	u->weights = malloc(d * sizeof(double));
	assert_non_null(u->weights);
	for (i = 0; i < d; i++)
		u->weights[i] = (i % 2 ? -1.0 : 1.0) * (0.1 + (double)i) * pow(10, (double)i - 3);
	if (dp) {
		u->dp = 1;
		u->dp_clip = 1;
		u->dp_noise = 0.5;
		memset(u->dp_commit, 3, 32);
	}
}

/* A stats update of d columns from a few generated rows. */
static void
make_stats(struct dml_update *u, size_t d)
{
	double x[5 * 8], y[5];
	size_t r, j;

	assert_true(d <= 8);
	dml_update_init(u);
	memset(u->round, 1, 32);
	u->have_base = 1;
	memset(u->base, 2, 32);
	u->mode = DML_UPDATE_STATS;
	u->d = d;
	for (r = 0; r < 5; r++) {
		for (j = 0; j < d; j++)
			x[r * d + j] = j == 0 ? 1 : (double)((r * 7 + j * 3) % 11) - 4.5;
		y[r] = 0.25 * (double)r - 1;
	}
	assert_null(dml_suffstats_init(&u->stats, d));
	assert_null(dml_suffstats_add_rows(&u->stats, x, y, 5));
	u->samples = u->stats.n;
}

static void
assert_same_update(const struct dml_update *a, const struct dml_update *b)
{
	assert_memory_equal(a->round, b->round, 32);
	assert_int_equal(a->have_base, b->have_base);
	if (a->have_base)
		assert_memory_equal(a->base, b->base, 32);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->d, b->d);
	assert_int_equal(a->samples, b->samples);
	assert_int_equal(a->dp, b->dp);
	if (a->dp) {
		assert_memory_equal(&a->dp_clip, &b->dp_clip, sizeof(double));
		assert_memory_equal(&a->dp_noise, &b->dp_noise, sizeof(double));
		assert_memory_equal(a->dp_commit, b->dp_commit, 32);
	}
	if (a->mode == DML_UPDATE_WEIGHTS) {
		assert_memory_equal(a->weights, b->weights, a->d * sizeof(double));
	} else {
		assert_int_equal(b->stats.n, a->samples);
		assert_memory_equal(a->stats.xtx, b->stats.xtx, a->d * a->d * sizeof(double));
		assert_memory_equal(a->stats.xty, b->stats.xty, a->d * sizeof(double));
		assert_memory_equal(&a->stats.yty, &b->stats.yty, sizeof(double));
	}
}

/* Encode u (signed by k unless NULL), decode, compare, encode again: same bytes. */
static void
round_trip(struct dml_update *u, const struct dml_key *k)
{
	struct dml_buf a = DML_BUF_INIT, b = DML_BUF_INIT;
	struct dml_update v;
	unsigned char id[32];
	const struct dml_error *err;

	assert_null(dml_update_encode(u, k, &a));
	dml_sha256(id, a.data, a.len);
	assert_memory_equal(u->id, id, 32);
	if ((err = decode_exact(&v, a.data, a.len)))
		fail_msg("an update of dimension %zu, %s, %s does not decode: %s", u->d,
		    dml_update_mode_name(u->mode), k ? "signed" : "unsigned", err->msg);
	assert_same_update(u, &v);
	assert_memory_equal(v.id, id, 32);
	assert_int_equal(v.is_signed, k != NULL);
	if (k)
		assert_memory_equal(v.signer.pk, k->pub.pk, DML_PUBKEY_LEN);
	/* Ed25519 is deterministic: signing again gives the same file */
	if (k)
		assert_null(dml_update_sign(&v, k, &b));
	else
		assert_null(dml_update_encode(&v, NULL, &b));
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	dml_update_release(&v);
	dml_buf_release(&a);
	dml_buf_release(&b);
}

/* ---------------------------------------------------------------------------
 * The codec */

static void
test_mode_names(void **state)
{
	(void)state;
	assert_string_equal(dml_update_mode_name(DML_UPDATE_WEIGHTS), "weights");
	assert_string_equal(dml_update_mode_name(DML_UPDATE_STATS), "stats");
	assert_int_equal(dml_update_mode_parse("weights"), DML_UPDATE_WEIGHTS);
	assert_int_equal(dml_update_mode_parse("stats"), DML_UPDATE_STATS);
	assert_int_equal(dml_update_mode_parse("Stats"), -1);
	assert_int_equal(dml_update_mode_parse(""), -1);
	assert_int_equal(dml_update_mode_parse("weights "), -1);
}

static void
test_round_trips(void **state)
{
	struct dml_key *k = key_seed(1);
	struct dml_update u;
	size_t d;

	(void)state;
	for (d = 1; d <= 9; d += 4) {
		make_weights(&u, d, 0);
		round_trip(&u, NULL);
		round_trip(&u, k);
		u.have_base = 0;
		round_trip(&u, NULL);
		dml_update_release(&u);

		make_weights(&u, d, 1);
		round_trip(&u, NULL);
		round_trip(&u, k);
		dml_update_release(&u);
	}
	for (d = 1; d <= 7; d += 3) {
		make_stats(&u, d);
		round_trip(&u, NULL);
		round_trip(&u, k);
		dml_update_release(&u);
	}
	/* extreme but finite values, and -0, survive bit for bit */
	make_weights(&u, 4, 0);
	u.weights[0] = -0.0;
	u.weights[1] = 4.9406564584124654e-324;
	u.weights[2] = -1.7976931348623157e308;
	u.weights[3] = 0.1;
	u.samples = INT64_MAX;	/* the most an update.submit entry can say */
	round_trip(&u, k);
	dml_update_release(&u);
	dml_key_free(k);
}

static void
test_golden_bytes(void **state)
{
	struct dml_update u, v;
	struct dml_buf out = DML_BUF_INIT, want = DML_BUF_INIT;
	char hex[65];

	(void)state;
	dml_update_init(&u);
	memset(u.round, 1, 32);
	u.mode = DML_UPDATE_WEIGHTS;
	u.d = 2;
	u.samples = 3;
	u.weights = malloc(2 * sizeof(double));
	assert_non_null(u.weights);
	u.weights[0] = 1.0;
	u.weights[1] = -2.5;
	assert_null(dml_update_encode(&u, NULL, &out));
	golden_file(&want);
	assert_int_equal(out.len, want.len);
	assert_int_equal(out.len, 239);
	assert_memory_equal(out.data, want.data, want.len);
	dml_hex_encode(hex, u.id, 32);
	assert_string_equal(hex, GOLDEN_ID);
	/* and it decodes to what was encoded */
	assert_null(decode_exact(&v, want.data, want.len));
	assert_int_equal(v.have_base, 0);
	assert_int_equal(v.is_signed, 0);
	assert_int_equal(v.dp, 0);
	assert_int_equal(v.d, 2);
	assert_int_equal(v.samples, 3);
	assert_true(v.weights[0] == 1.0 && v.weights[1] == -2.5);
	dml_hex_encode(hex, v.id, 32);
	assert_string_equal(hex, GOLDEN_ID);
	dml_update_release(&v);
	dml_update_release(&u);

	/* a stats update of one column: X^T X = 4, X^T y = 6, y^T y = 10 */
	{
		static const char hdr[] =
		    "dmlctl-update 1\n"
		    "round sha256:0101010101010101010101010101010101010101010101010101010101010101\n"
		    "base sha256:0202020202020202020202020202020202020202020202020202020202020202\n"
		    "mode stats\n"
		    "dimension 1\n"
		    "samples 2\n"
		    "payload sha256:be860bb1588385256f786ea2b40ae1965f80b3169280b53bfdc83d74064d5012 24\n"
		    "\n";
		unsigned char pl[24];

		make_stats(&u, 1);
		dml_suffstats_release(&u.stats);
		assert_null(dml_suffstats_init(&u.stats, 1));
		u.stats.xtx[0] = 4;
		u.stats.xty[0] = 6;
		u.stats.yty = 10;
		u.stats.n = 2;
		u.samples = 2;
		dml_buf_reset(&out);
		assert_null(dml_update_encode(&u, NULL, &out));
		put_f64(pl, 4);
		put_f64(pl + 8, 6);
		put_f64(pl + 16, 10);
		dml_buf_reset(&want);
		assert_null(dml_buf_adds(&want, hdr));
		assert_null(dml_buf_add(&want, pl, sizeof(pl)));
		assert_int_equal(out.len, want.len);
		assert_memory_equal(out.data, want.data, want.len);
		dml_update_release(&u);
	}
	/* the dp line: the numbers spelled as dml_double_format spells them */
	make_weights(&u, 1, 1);
	u.dp_clip = 0.25;
	u.dp_noise = 0.1 + 0.2;
	dml_buf_reset(&out);
	assert_null(dml_update_encode(&u, NULL, &out));
	assert_null(dml_buf_add(&out, "", 1));
	assert_non_null(strstr((const char *)out.data, "\nsamples 12345\ndp 0.25 0.30000000000000004 "
	    "0303030303030303030303030303030303030303030303030303030303030303\npayload sha256:"));
	dml_update_release(&u);
	dml_buf_release(&out);
	dml_buf_release(&want);
}

struct bad_case {
	const char *from, *to;	/* the first `from` in the header becomes `to` */
	int dp;			/* start from the file with base and dp lines */
	enum dml_error_code code;
};

#define SEED03 "0303030303030303030303030303030303030303030303030303030303030303"

static const struct bad_case bad_cases[] = {
	/* the magic line */
	{ "dmlctl-update 1\n", "dmlctl-update 2\n", 0, DML_ERR_PARSE },
	{ "dmlctl-update 1\n", "dmlctl-update  1\n", 0, DML_ERR_PARSE },
	{ "dmlctl-update 1\n", "dmlctl-update 1\r\n", 0, DML_ERR_PARSE },
	{ "dmlctl-update 1\n", "DMLCTL-update 1\n", 0, DML_ERR_PARSE },
	{ "dmlctl-update 1\n", "", 0, DML_ERR_PARSE },
	/* round */
	{ "round sha256:", "round sha1:", 0, DML_ERR_PARSE },
	{ "round sha256:", "round  sha256:", 0, DML_ERR_PARSE },
	{ "round sha256:", "Round sha256:", 0, DML_ERR_PARSE },
	{ "round sha256:01", "round sha256:0A", 0, DML_ERR_PARSE },
	{ "round sha256:01", "round sha256:1", 0, DML_ERR_PARSE },
	{ "round sha256:01", "round sha256:0101", 0, DML_ERR_PARSE },
	{ ROUND01, "", 0, DML_ERR_PARSE },
	/* base */
	{ "base none\n", "base None\n", 0, DML_ERR_PARSE },
	{ "base none\n", "base\n", 0, DML_ERR_PARSE },
	{ "base none\n", "base none \n", 0, DML_ERR_PARSE },
	{ "base none\n", "", 0, DML_ERR_PARSE },
	{ "base sha256:02", "base sha256:2", 1, DML_ERR_PARSE },
	{ "base sha256:02", "base 02", 1, DML_ERR_PARSE },
	{ "base sha256:02", "base sha256:0B", 1, DML_ERR_PARSE },
	/* mode */
	{ "mode weights\n", "mode weight\n", 0, DML_ERR_PARSE },
	{ "mode weights\n", "mode Weights\n", 0, DML_ERR_PARSE },
	{ "mode weights\n", "mode weights\r\n", 0, DML_ERR_PARSE },
	{ "mode weights\n", "mode stats\n", 0, DML_ERR_PARSE },	/* 16 bytes, stats want 48 */
	{ "mode weights\n", "", 0, DML_ERR_PARSE },
	{ "mode weights\n", "mode weights\nmode weights\n", 0, DML_ERR_PARSE },
	/* dimension */
	{ "dimension 2\n", "dimension 02\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension +2\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 0\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 3\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 1\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 4097\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 18446744073709551618\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 2.0\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension 2 \n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "dimension  2\n", 0, DML_ERR_PARSE },
	{ "dimension 2\n", "", 0, DML_ERR_PARSE },
	/* samples */
	{ "samples 3\n", "samples 03\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples +3\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples -3\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3.0\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3e0\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 18446744073709551616\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 99999999999999999999\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 9223372036854775808\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 9999999999999999999\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3\nsamples 3\n", 0, DML_ERR_PARSE },
	/* dp: numbers in their one spelling, values in range, a 64-digit seed */
	{ "dp 1 0.5 ", "dp 1.0 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 .5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 0.50 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1e0 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp +1 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 5e-1 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 0 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp -1 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 -0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp nan 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp inf 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 inf ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 nan ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1  0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 0.5  ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp  1 0.5 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "dp 1 ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 " SEED03, "dp 1 0.5", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 " SEED03, "dp 1 0.5 " SEED03 " ", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 03", "dp 1 0.5 0A", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 03", "dp 1 0.5 0g", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 03", "dp 1 0.5 3", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 03", "dp 1 0.5 0303", 1, DML_ERR_PARSE },
	{ "dp 1 0.5 ", "Dp 1 0.5 ", 1, DML_ERR_PARSE },
	{ "mode weights\n", "mode stats\n", 1, DML_ERR_PARSE },
	/* the payload line */
	{ "payload sha256:", "payload sha1:", 0, DML_ERR_PARSE },
	{ "payload sha256:f1", "payload sha256:F1", 0, DML_ERR_PARSE },
	{ "payload sha256:f1", "payload sha256:f0", 0, DML_ERR_VERIFY },
	{ " 16\n", " 17\n", 0, DML_ERR_PARSE },
	{ " 16\n", " 8\n", 0, DML_ERR_PARSE },
	{ " 16\n", " 016\n", 0, DML_ERR_PARSE },
	{ " 16\n", " 16 \n", 0, DML_ERR_PARSE },
	{ " 16\n", "  16\n", 0, DML_ERR_PARSE },
	{ " 16\n", "\n", 0, DML_ERR_PARSE },
	/* lines out of order, unknown, repeated; the end of the header */
	{ "base none\nmode weights\n", "mode weights\nbase none\n", 0, DML_ERR_PARSE },
	{ "dimension 2\nsamples 3\n", "samples 3\ndimension 2\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3\nextra line\n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3\n \n", 0, DML_ERR_PARSE },
	{ "samples 3\n", "samples 3\nsigner\n", 0, DML_ERR_PARSE },
	{ "samples 12345\ndp", "samples 12345\ndp 1 0.5 " SEED03 "\ndp", 1, DML_ERR_PARSE },
	{ " 16\n\n", " 16\n", 0, DML_ERR_PARSE },		/* the header does not end */
	{ " 16\n\n", " 16\n\n\n", 0, DML_ERR_VERIFY },	/* the payload starts with LF */
	{ " 16\n\n", " 16\r\n\r\n", 0, DML_ERR_PARSE },
	/* a signer line without a signature */
	{ " 16\n\n", " 16\nsigner ed25519:"
	    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c\n\n", 0,
	    DML_ERR_PARSE },
	{ " 16\n\n", " 16\nsigner ed25519:8a88\n\n", 0, DML_ERR_PARSE },
};

/* The header with base and dp lines, for the dp cases. */
static void
dp_file(struct dml_buf *out)
{
	struct dml_update u;

	make_weights(&u, 2, 1);
	u.samples = 12345;
	dml_buf_reset(out);
	assert_null(dml_update_encode(&u, NULL, out));
	dml_update_release(&u);
}

static void
test_malformed_headers(void **state)
{
	struct dml_buf good = DML_BUF_INIT, bad = DML_BUF_INIT;
	struct dml_update u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const struct dml_error *err;
		const char *hit;
		size_t off;

		if (c->dp)
			dp_file(&good);
		else
			golden_file(&good);
		/* the untouched file decodes */
		assert_null(decode_exact(&u, good.data, good.len));
		dml_update_release(&u);
		hit = strstr((const char *)good.data, c->from);
		if (hit == NULL || hit > (const char *)good.data + 400)
			fail_msg("case %zu: '%s' is not in the header", i, c->from);
		off = (size_t)(hit - (const char *)good.data);
		dml_buf_reset(&bad);
		assert_null(dml_buf_add(&bad, good.data, off));
		assert_null(dml_buf_adds(&bad, c->to));
		assert_null(dml_buf_add(&bad, good.data + off + strlen(c->from),
		    good.len - off - strlen(c->from)));
		err = decode_exact(&u, bad.data, bad.len);
		if (err == NULL)
			fail_msg("case %zu ('%s' -> '%s'): decoded", i, c->from, c->to);
		if (err->code != c->code)
			fail_msg("case %zu ('%s' -> '%s'): error %d (%s), expected %d", i, c->from,
			    c->to, err->code, err->msg, c->code);
		if (strncmp(err->msg, "update", 6) != 0)
			fail_msg("case %zu: the message '%s' does not name the update", i, err->msg);
		assert_released(&u);
	}
	dml_buf_release(&good);
	dml_buf_release(&bad);
}

static void
test_malformed_framing(void **state)
{
	struct dml_buf f = DML_BUF_INIT;
	struct dml_update u;
	const struct dml_error *err;

	(void)state;
	/* nothing, or the magic alone */
	err = decode_exact(&u, "", 0);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_released(&u);
	err = decode_exact(&u, "dmlctl-update 1\n", 16);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	err = decode_exact(&u, "dmlctl-update 1\n\n", 17);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	/* trailing bytes after an unsigned payload */
	golden_file(&f);
	assert_null(dml_buf_adds(&f, "\n"));
	err = decode_exact(&u, f.data, f.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_released(&u);
	golden_file(&f);
	assert_null(dml_buf_add(&f, GOLDEN_PAYLOAD, 8));
	err = decode_exact(&u, f.data, f.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	/* a payload one byte short */
	golden_file(&f);
	err = decode_exact(&u, f.data, f.len - 1);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_released(&u);
	/* a changed payload byte: the digest says no */
	golden_file(&f);
	f.data[f.len - 1] ^= 0x80;
	err = decode_exact(&u, f.data, f.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_released(&u);
	dml_buf_release(&f);
}

static void
expect_value_error(const char *pre, const double *v, size_t nv, const char *what)
{
	struct dml_buf f = DML_BUF_INIT;
	struct dml_update u;
	const struct dml_error *err;

	craft(&f, pre, v, nv, "");
	err = decode_exact(&u, f.data, f.len);
	if (err == NULL)
		fail_msg("%s: decoded", what);
	if (err->code != DML_ERR_VERIFY && err->code != DML_ERR_PARSE)
		fail_msg("%s: error %d (%s)", what, err->code, err->msg);
	assert_released(&u);
	dml_buf_release(&f);
}

static void
test_bad_values(void **state)
{
	static const char w3[] = "round sha256:0101010101010101010101010101010101010101010101010101"
	    "010101010101\nbase none\nmode weights\ndimension 3\nsamples 3\n";
	static const char s1[] = "round sha256:0101010101010101010101010101010101010101010101010101"
	    "010101010101\nbase none\nmode stats\ndimension 1\nsamples 2\n";
	static const char s2[] = "round sha256:0101010101010101010101010101010101010101010101010101"
	    "010101010101\nbase none\nmode stats\ndimension 2\nsamples 2\n";
	static const char s1dp[] = "round sha256:0101010101010101010101010101010101010101010101010101"
	    "010101010101\nbase none\nmode stats\ndimension 1\nsamples 2\ndp 1 0.5 " SEED03 "\n";
	struct dml_buf f = DML_BUF_INIT;
	struct dml_update u;
	double v[6];

	(void)state;
	/* crafting itself is sound: these decode */
	v[0] = 1, v[1] = 2, v[2] = 3;
	craft(&f, w3, v, 3, "");
	assert_null(decode_exact(&u, f.data, f.len));
	dml_update_release(&u);
	v[0] = 4, v[1] = 6, v[2] = 10;
	craft(&f, s1, v, 3, "");
	assert_null(decode_exact(&u, f.data, f.len));
	assert_true(u.stats.xtx[0] == 4 && u.stats.xty[0] == 6 && u.stats.yty == 10);
	assert_int_equal(u.stats.n, 2);
	dml_update_release(&u);

	/* weights must be finite */
	v[0] = 1, v[1] = NAN, v[2] = 3;
	expect_value_error(w3, v, 3, "NaN weight");
	v[1] = INFINITY;
	expect_value_error(w3, v, 3, "infinite weight");
	v[1] = 2, v[2] = -INFINITY;
	expect_value_error(w3, v, 3, "-infinite weight");
	/* statistics must be plausible */
	v[0] = -4, v[1] = 6, v[2] = 10;
	expect_value_error(s1, v, 3, "negative diagonal");
	v[0] = 4, v[1] = 6, v[2] = -10;
	expect_value_error(s1, v, 3, "negative y^T y");
	v[0] = 4, v[1] = NAN, v[2] = 10;
	expect_value_error(s1, v, 3, "NaN X^T y");
	v[0] = 4, v[1] = 6, v[2] = INFINITY;
	expect_value_error(s1, v, 3, "infinite y^T y");
	/* upper triangle [1 5; . 1]: |5| > sqrt(1 * 1) */
	v[0] = 1, v[1] = 5, v[2] = 1, v[3] = 0, v[4] = 0, v[5] = 0;
	expect_value_error(s2, v, 6, "off-diagonal beyond Cauchy-Schwarz");
	/* privacy noise applies to weights only */
	v[0] = 4, v[1] = 6, v[2] = 10;
	expect_value_error(s1dp, v, 3, "dp in stats mode");
	dml_buf_release(&f);
}

static void
test_encode_refuses(void **state)
{
	struct dml_buf out = DML_BUF_INIT;
	struct dml_update u;
	const struct dml_error *err;

	(void)state;
	/* statistics that are not symmetric cannot be written at all */
	make_stats(&u, 3);
	u.stats.xtx[0 * 3 + 1] += 0.5;
	err = dml_update_encode(&u, NULL, &out);
	assert_non_null(err);
	dml_update_release(&u);
	make_stats(&u, 2);
	u.stats.xtx[3] = -1;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	dml_update_release(&u);
	make_stats(&u, 2);
	u.samples = u.stats.n + 1;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	dml_update_release(&u);
	/* non-finite weights, bad privacy parameters, no dimension */
	make_weights(&u, 3, 0);
	u.weights[2] = NAN;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	dml_update_release(&u);
	make_weights(&u, 3, 1);
	u.dp_clip = 0;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	u.dp_clip = 1;
	u.dp_noise = -1;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	u.dp_noise = INFINITY;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	dml_update_release(&u);
	make_weights(&u, 3, 0);
	u.d = 0;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	u.d = 3;
	/* a sample count the ledger could not record: whatever encode writes, decode reads */
	u.samples = (uint64_t)INT64_MAX + 1;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	u.samples = UINT64_MAX;
	assert_non_null(dml_update_encode(&u, NULL, &out));
	dml_update_release(&u);
	dml_buf_release(&out);
}

/* The header of a file (up to and including the blank line). */
static size_t
header_len(const struct dml_buf *f)
{
	const char *p = strstr((const char *)f->data, "\n\n");

	assert_non_null(p);
	return (size_t)(p + 2 - (const char *)f->data);
}

static void
test_signatures(void **state)
{
	struct dml_key *a = key_seed(1), *b = key_seed(2);
	struct dml_buf fa = DML_BUF_INIT, fb = DML_BUF_INIT, sig = DML_BUF_INIT, x = DML_BUF_INIT;
	struct dml_update u, v;
	struct dml_pubkey who;
	const struct dml_error *err;
	size_t hl, pl;
	char key[DML_KEY_ID_LEN + 1], line[DML_KEY_ID_LEN + 16];

	(void)state;
	make_weights(&u, 3, 0);
	assert_null(dml_update_encode(&u, a, &fa));
	assert_null(dml_update_encode(&u, b, &fb));
	hl = header_len(&fa);
	pl = 3 * 8;
	/* the header names the signer, and the signature covers the header */
	dml_pubkey_id(key, &a->pub);
	snprintf(line, sizeof(line), "\nsigner %s\n\n", key);
	assert_non_null(strstr((const char *)fa.data, line));
	assert_null(dml_sshsig_verify(&who, (const char *)fa.data + hl + pl, fa.len - hl - pl,
	    DML_NS_UPDATE, fa.data, hl));
	assert_memory_equal(who.pk, a->pub.pk, DML_PUBKEY_LEN);
	assert_non_null(dml_sshsig_verify(&who, (const char *)fa.data + hl + pl, fa.len - hl - pl,
	    "git", fa.data, hl));

	/* b's header (signer b) with a's signature over it */
	assert_null(dml_sshsig_sign(&sig, a, DML_NS_UPDATE, fb.data, header_len(&fb)));
	assert_null(dml_buf_add(&x, fb.data, header_len(&fb) + pl));
	assert_null(dml_buf_add(&x, sig.data, sig.len));
	err = decode_exact(&v, x.data, x.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_released(&v);

	/* a's header with a signature in another namespace */
	dml_buf_reset(&sig);
	dml_buf_reset(&x);
	assert_null(dml_sshsig_sign(&sig, a, "git", fa.data, hl));
	assert_null(dml_buf_add(&x, fa.data, hl + pl));
	assert_null(dml_buf_add(&x, sig.data, sig.len));
	err = decode_exact(&v, x.data, x.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_released(&v);

	/* a's header and b's signature of b's header: another message */
	dml_buf_reset(&x);
	assert_null(dml_buf_add(&x, fa.data, hl + pl));
	assert_null(dml_buf_add(&x, fb.data + header_len(&fb) + pl, fb.len - header_len(&fb) - pl));
	err = decode_exact(&v, x.data, x.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);

	/* the header changed after signing: samples 12345 -> 12346 */
	dml_buf_reset(&x);
	assert_null(dml_buf_add(&x, fa.data, fa.len));
	{
		char *s = strstr((char *)x.data, "samples 12345\n");
		assert_non_null(s);
		s[12] = '6';
	}
	err = decode_exact(&v, x.data, x.len);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);

	/* a signed file without its signature, or with half of it */
	err = decode_exact(&v, fa.data, hl + pl);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	err = decode_exact(&v, fa.data, hl + pl + (fa.len - hl - pl) / 2);
	assert_non_null(err);

	/* dml_update_sign replaces a signature: b re-signs a's update */
	assert_null(decode_exact(&v, fa.data, fa.len));
	dml_buf_reset(&x);
	assert_null(dml_update_sign(&v, b, &x));
	assert_int_equal(x.len, fb.len);
	assert_memory_equal(x.data, fb.data, fb.len);
	dml_update_release(&v);
	assert_null(decode_exact(&v, x.data, x.len));
	assert_memory_equal(v.signer.pk, b->pub.pk, DML_PUBKEY_LEN);
	dml_update_release(&v);

	dml_update_release(&u);
	dml_buf_release(&fa);
	dml_buf_release(&fb);
	dml_buf_release(&sig);
	dml_buf_release(&x);
	dml_key_free(a);
	dml_key_free(b);
}

/* Every proper prefix of f fails to decode. */
static void
every_prefix(const struct dml_buf *f)
{
	struct dml_update u;
	size_t k;

	assert_null(decode_exact(&u, f->data, f->len));
	dml_update_release(&u);
	for (k = 0; k < f->len; k++) {
		if (decode_exact(&u, f->data, k) == NULL)
			fail_msg("the prefix of %zu of %zu bytes decodes", k, f->len);
		assert_released(&u);
	}
}

/* Changing any byte of f[from, to) by xor with mask makes it fail to decode. */
static void
every_flip(const struct dml_buf *f, size_t from, size_t to, unsigned char mask)
{
	unsigned char *copy = malloc(f->len);
	struct dml_update u;
	size_t k;

	assert_non_null(copy);
	for (k = from; k < to; k++) {
		memcpy(copy, f->data, f->len);
		copy[k] ^= mask;
		if (dml_update_decode(&u, copy, f->len) == NULL)
			fail_msg("byte %zu of %zu changed (0x%02x -> 0x%02x) still decodes", k, f->len,
			    f->data[k], copy[k]);
		assert_released(&u);
	}
	free(copy);
}

/* Where the signature of a signed file starts. */
static size_t
signature_start(const struct dml_buf *f)
{
	const unsigned char *p = f->data;
	size_t k;

	for (k = 0; k + 10 < f->len; k++)
		if (memcmp(p + k, "-----BEGIN", 10) == 0)
			return k;
	fail_msg("no signature");
	return 0;
}

static void
test_truncations_and_flips(void **state)
{
	struct dml_key *k = key_seed(4);
	struct dml_buf f = DML_BUF_INIT;
	struct dml_update u;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		dml_buf_reset(&f);
		if (i == 2)
			make_stats(&u, 3);
		else
			make_weights(&u, 3, i);
		assert_null(dml_update_encode(&u, k, &f));
		dml_update_release(&u);
		every_prefix(&f);
		every_flip(&f, 0, f.len, 0x01);
		every_flip(&f, 0, f.len, 0x20);
		/* the high bit outside the signature's text (see the next test) */
		every_flip(&f, 0, signature_start(&f), 0x80);
	}
	/*
	 * unsigned: every prefix fails, and every change to the payload (a
	 * changed header may well be another valid update)
	 */
	dml_buf_reset(&f);
	make_weights(&u, 2, 1);
	assert_null(dml_update_encode(&u, NULL, &f));
	dml_update_release(&u);
	every_prefix(&f);
	every_flip(&f, header_len(&f), f.len, 0x01);
	every_flip(&f, header_len(&f), f.len, 0x80);
	dml_buf_release(&f);
	dml_key_free(k);
}

/*
 * The signature's text has one spelling too, or one signed update would have
 * many IDs.  A '/' or '+' of its base64 with the high bit set (0xaf, 0xab)
 * must not read as '/' or '+' (libsodium's decoder, given a signed char,
 * sees only the low bits of those two).
 */
static void
test_signature_text_is_canonical(void **state)
{
	struct dml_key *k = key_seed(4);
	struct dml_buf f = DML_BUF_INIT;
	struct dml_update u;
	size_t start, j, slashes = 0;
	int seed;

	(void)state;
	/* signatures of several updates, until both '/' and '+' have been seen */
	for (seed = 0; seed < 40; seed++) {
		dml_buf_reset(&f);
		make_weights(&u, 3, 0);
		u.samples = 1000 + (uint64_t)seed;
		assert_null(dml_update_encode(&u, k, &f));
		dml_update_release(&u);
		start = signature_start(&f);
		for (j = start; j < f.len; j++)
			slashes += f.data[j] == '/' || f.data[j] == '+';
		every_flip(&f, start, f.len, 0x80);
	}
	assert_true(slashes > 0);
	dml_buf_release(&f);
	dml_key_free(k);
}

/* ---------------------------------------------------------------------------
 * Rounds through the library */

#define NKEYS 8	/* 0 founder (coordinator); 1..6 members; 7 never a member */

struct fixture {
	char dir[64];
	struct dml_repo *repo;
	struct dml_key *k[NKEYS];
	struct dml_ledger *l;
	uint64_t time;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dml_genesis g;
	struct dml_stmt *s = NULL;
	char members[NKEYS - 1][DML_KEY_ID_LEN + 64], id[DML_KEY_ID_LEN + 1];
	const char *mp[NKEYS - 1];
	int created, i;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-update.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_null(dml_repo_init(&f->repo, f->dir, 1, &created));
	for (i = 0; i < NKEYS; i++)
		f->k[i] = key_seed((unsigned char)(0x40 + i));
	for (i = 0; i < NKEYS - 1; i++) {
		dml_pubkey_id(id, &f->k[i]->pub);
		snprintf(members[i], sizeof(members[i]), "%s %s", id,
		    i == 0 ? dml_default_founder_roles : "member");
		mp[i] = members[i];
	}
	memset(&g, 0, sizeof(g));
	g.name = "rounds";
	g.members = mp;
	g.nmembers = NKEYS - 1;
	g.rules = dml_default_rules;
	g.nrules = dml_default_nrules;
	assert_null(dml_ledger_create(f->repo, f->k[0], &g, 1000, &s));
	dml_stmt_free(s);
	assert_null(dml_ledger_open(&f->l, f->repo, 0));
	f->time = 2000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	int i;

	dml_ledger_free(f->l);
	dml_repo_free(f->repo);
	for (i = 0; i < NKEYS; i++)
		dml_key_free(f->k[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Write party p's local data (x1, x2, y; rows rows) to <dir>/p<p>.csv. */
static void
local_csv(struct fixture *f, int p, int rows, char *path, size_t n)
{
	FILE *fp;
	int i;

	snprintf(path, n, "%s/p%d.csv", f->dir, p);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "x1,x2,y\n");
	for (i = 0; i < rows; i++) {
		int x1 = (i * 7 + p) % 13 - 6, x2 = (i * i + 3 * p) % 11;
		double y = 1 + 0.1 * p + 2 * x1 - 0.5 * x2 + 0.01 * (double)((i * 37 + p) % 13 - 6);
		fprintf(fp, "%d,%d,%.17g\n", x1, x2, y);
	}
	assert_int_equal(fclose(fp), 0);
}

static void
open_round(struct fixture *f, const char *name, enum dml_model_kind kind, const char *rule,
    double lambda)
{
	static const char *const cols[] = { "x2", "x1" };
	struct dml_round_opts o;
	struct dml_stmt *s = NULL;

	memset(&o, 0, sizeof(o));
	o.name = name;
	o.kind = kind;
	o.mode = DML_UPDATE_WEIGHTS;
	o.rule = rule;
	o.target = "y";
	o.columns = cols;
	o.ncolumns = 2;
	o.intercept = 1;
	o.beta = -1;
	o.local_steps = 1;
	o.lambda = lambda;
	o.min_updates = 1;
	o.validation = UINT64_MAX;
	o.time = f->time++;
	assert_null(dml_round_open(f->l, f->k[0], &o, &s));
	dml_stmt_free(s);
}

/* Party p trains an update for the round; the file is signed by key `signer`. */
static void
train(struct fixture *f, const char *round, int p, int rows, int signer, double clip,
    double noise, struct dml_update *u, struct dml_buf *file)
{
	struct dml_round_info ri;
	char path[128];

	local_csv(f, p, rows, path, sizeof(path));
	assert_null(dml_round_info(f->l, round, &ri));
	assert_null(dml_update_train(&ri, path, ',', 0, clip, noise, u));
	dml_round_info_release(&ri);
	dml_buf_reset(file);
	assert_null(dml_update_encode(u, signer < 0 ? NULL : f->k[signer], file));
}

static uint64_t
submit(struct fixture *f, int by, const struct dml_buf *file)
{
	struct dml_stmt *s = NULL;
	uint64_t seq;

	assert_null(dml_update_submit(f->l, f->k[by], file->data, file->len, f->time++, &s));
	seq = s->seq;
	dml_stmt_free(s);
	return seq;
}

/* The tree of entry seq's commit. */
static void
entry_tree(struct fixture *f, uint64_t seq, struct dml_oid *tree)
{
	struct dml_stmt *s = NULL;
	struct dml_oid commit;
	struct dml_commit_info ci;

	assert_null(dml_ledger_read(f->l, seq, &s, &commit));
	dml_stmt_free(s);
	assert_null(dml_repo_commit_read(f->repo, &commit, &ci));
	*tree = ci.tree;
	dml_commit_info_release(&ci);
}

/*
 * Append a round.aggregate for `round` by the coordinator with the fields of
 * `genuine` (the statement dml_round_aggregate made), the round and update
 * files the ledger holds, and model file m instead of the genuine one.
 */
static uint64_t
forge_aggregate(struct fixture *f, const char *round, const struct dml_stmt *genuine,
    const struct dml_model *m)
{
	const struct dml_round_head *h = dml_round_find(dml_ledger_state(f->l), round);
	struct dml_stmt_builder b;
	struct dml_tree_item extra[2], *upd;
	struct dml_buf file = DML_BUF_INIT;
	struct dml_attachment att;
	struct dml_stmt *out = NULL;
	char id[DML_ID_LEN + 1];
	size_t i;
	uint64_t seq;

	assert_non_null(h);
	assert_null(dml_model_encode(m, &file));
	att.data = file.data;
	att.len = file.len;
	dml_attachment_hash(&att);
	dml_stmt_builder_init(&b, "round.aggregate");
	for (i = 0; i < genuine->nfields; i++) {
		const struct dml_field *fl = &genuine->fields[i];
		char *v = malloc(fl->len + 1);

		assert_non_null(v);
		memcpy(v, fl->value, fl->len);
		v[fl->len] = '\0';
		if (strcmp(fl->spec->name, "model") == 0) {
			dml_id_format(id, att.id);
			assert_null(dml_stmt_builder_add(&b, "model", id));
		} else {
			assert_null(dml_stmt_builder_add(&b, fl->spec->name, v));
		}
		free(v);
	}
	/* round/: the round.open entry's tree; updates/: every submitted file */
	memset(extra, 0, sizeof(extra));
	extra[0].name = (char *)"round";
	extra[0].is_tree = 1;
	entry_tree(f, h->open_seq, &extra[0].oid);
	upd = calloc(h->nsubs, sizeof(*upd));
	assert_non_null(upd);
	for (i = 0; i < h->nsubs; i++) {
		struct dml_tree_item *ei = NULL, *oi = NULL;
		size_t en = 0, on = 0, j;

		assert_null(dml_ledger_read_tree(f->l, h->subs[i].seq, &ei, &en));
		for (j = 0; j < en && !(ei[j].is_tree && strcmp(ei[j].name, "objects") == 0); j++)
			;
		assert_true(j < en);
		assert_null(dml_repo_tree_read(f->repo, &ei[j].oid, &oi, &on));
		assert_int_equal(on, 1);
		upd[i].name = strdup(oi[0].name);
		upd[i].oid = oi[0].oid;
		dml_tree_items_free(oi, on);
		dml_tree_items_free(ei, en);
	}
	extra[1].name = (char *)"updates";
	extra[1].is_tree = 1;
	assert_null(dml_repo_tree_write(f->repo, &extra[1].oid, upd, h->nsubs));
	assert_null(dml_ledger_append_store(f->l, f->k[0], &b, f->time++, &att, 1, extra, 2,
	    &out));
	seq = out->seq;
	for (i = 0; i < h->nsubs; i++)
		free(upd[i].name);
	free(upd);
	dml_stmt_free(out);
	dml_stmt_builder_release(&b);
	dml_buf_release(&file);
	return seq;
}

/*
 * Verify the ledger: every entry passes, except entry `bad` (UINT64_MAX: none),
 * which fails its data check with a reason containing `why`.
 */
static void
verify(struct fixture *f, uint64_t bad, const char *why)
{
	struct dml_verify_report rep;
	struct dml_verify_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.threads = 2;
	assert_null(dml_ledger_verify(f->repo, &o, &rep));
	assert_int_equal(rep.nentries, dml_ledger_count(f->l));
	assert_int_equal(rep.failed, bad != UINT64_MAX);
	for (i = 0; i < rep.nentries; i++) {
		const struct dml_verify_entry *e = &rep.entries[i];
		if (e->seq != bad) {
			if (e->why)
				fail_msg("entry %llu fails: %s", (unsigned long long)e->seq, e->why);
			continue;
		}
		assert_string_equal(e->type, "round.aggregate");
		assert_int_equal(e->ok[DML_CHECK_SIGNATURE], 1);
		assert_int_equal(e->ok[DML_CHECK_COMMIT_SIGNATURE], 1);
		assert_int_equal(e->ok[DML_CHECK_OBJECTS], 1);
		assert_int_equal(e->ok[DML_CHECK_DATA], 0);
		assert_non_null(e->why);
		if (strstr(e->why, why) == NULL)
			fail_msg("reason '%s' does not mention '%s'", e->why, why);
	}
	dml_verify_report_release(&rep);
}

/*
 * Two parties contribute to a ridge round; the genuine outcome is computed
 * in a batch that is then abandoned, so the round stays open for the forger.
 */
static struct dml_stmt *
two_party_round(struct fixture *f, struct dml_model *model)
{
	struct dml_update u;
	struct dml_buf file = DML_BUF_INIT;
	struct dml_round_outcome out;
	struct dml_stmt *genuine;
	uint64_t count;

	open_round(f, "r", DML_MODEL_RIDGE, "fedavg", 0.5);
	train(f, "r", 1, 30, 1, 0, 0, &u, &file);
	submit(f, 1, &file);
	dml_update_release(&u);
	train(f, "r", 2, 45, 2, 0, 0, &u, &file);
	submit(f, 2, &file);
	dml_update_release(&u);
	count = dml_ledger_count(f->l);
	assert_null(dml_ledger_batch_begin(f->l));
	assert_null(dml_round_aggregate(f->l, f->k[0], "r", f->time, &out));
	assert_int_equal(out.accepted, 2);
	assert_int_equal(out.rejected, 0);
	dml_ledger_batch_abort(f->l);
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_int_equal(dml_round_find(dml_ledger_state(f->l), "r")->status, DML_ROUND_OPEN);
	genuine = out.stmt;
	out.stmt = NULL;
	*model = out.model;
	dml_model_init(&out.model);
	dml_round_outcome_release(&out);
	dml_buf_release(&file);
	return genuine;
}

static void
test_forged_aggregate_control(void **state)
{
	struct fixture *f = *state;
	struct dml_model m, back;
	struct dml_stmt *genuine = two_party_round(f, &m);

	/* the forger's construction with the true model is a valid aggregate */
	forge_aggregate(f, "r", genuine, &m);
	assert_int_equal(dml_round_find(dml_ledger_state(f->l), "r")->status,
	    DML_ROUND_AGGREGATED);
	assert_null(dml_round_model(f->l, "r", &back));
	assert_memory_equal(&back.intercept, &m.intercept, sizeof(double));
	dml_model_release(&back);
	verify(f, UINT64_MAX, NULL);
	dml_model_release(&m);
	dml_stmt_free(genuine);
}

static void
test_forged_aggregate(void **state)
{
	struct fixture *f = *state;
	struct dml_model m;
	struct dml_stmt *genuine = two_party_round(f, &m);
	uint64_t bad;

	/* one coefficient one unit in the last place off */
	assert_int_equal(m.nfeatures, 2);
	m.features[1].coef = nextafter(m.features[1].coef, INFINITY);
	bad = forge_aggregate(f, "r", genuine, &m);
	assert_int_equal(bad, dml_ledger_count(f->l) - 1);
	verify(f, bad, "differs from the stored model");
	dml_model_release(&m);
	dml_stmt_free(genuine);
}

/* The verdict the outcome gives update id: "accepted", or the rejection reason. */
static void
verdict(const struct dml_stmt *s, const unsigned char id[32], char *out, size_t n)
{
	const struct dml_field *fl;
	char hex[DML_ID_LEN + 1];
	size_t i = 0, hl;

	dml_id_format(hex, id);
	hl = strlen(hex);
	snprintf(out, n, "absent");
	while ((fl = dml_stmt_next(s, "accepted", &i)))
		if (fl->len == hl && memcmp(fl->value, hex, hl) == 0)
			snprintf(out, n, "accepted");
	i = 0;
	while ((fl = dml_stmt_next(s, "rejected", &i)))
		if (fl->len > hl && memcmp(fl->value, hex, hl) == 0)
			snprintf(out, n, "%.*s", (int)(fl->len - hl - 1), fl->value + hl + 1);
}

/* Submit an update crafted from the valid update v with `change` applied, signed by k. */
static unsigned char *
submit_crafted(struct fixture *f, int signer, int by, const struct dml_update *v,
    void (*change)(struct dml_update *))
{
	static unsigned char id[32];
	struct dml_update c;
	struct dml_buf file = DML_BUF_INIT;
	size_t i;

	dml_update_init(&c);
	memcpy(c.round, v->round, 32);
	c.have_base = v->have_base;
	memcpy(c.base, v->base, 32);
	c.mode = v->mode;
	c.d = v->d;
	c.samples = v->samples;
	c.weights = malloc((v->d + 1) * sizeof(double));
	assert_non_null(c.weights);
	for (i = 0; i < v->d; i++)
		c.weights[i] = v->weights[i];
	c.weights[v->d] = 0.5;
	change(&c);
	assert_null(dml_update_encode(&c, f->k[signer], &file));
	submit(f, by, &file);
	memcpy(id, c.id, 32);
	dml_update_release(&c);
	dml_buf_release(&file);
	return id;
}

static void
wrong_dimension(struct dml_update *c)
{
	c->d += 1;
}

static void
another_base(struct dml_update *c)
{
	c->base[5] ^= 1;
}

static void
no_base(struct dml_update *c)
{
	c->have_base = 0;
}

static void
another_mode(struct dml_update *c)
{
	double x[3] = { 1, 2, 3 }, y = 4;

	free(c->weights);
	c->weights = NULL;
	c->mode = DML_UPDATE_STATS;
	assert_null(dml_suffstats_init(&c->stats, c->d));
	assert_null(dml_suffstats_add_rows(&c->stats, x, &y, 1));
	c->samples = 1;
}

static void
no_samples(struct dml_update *c)
{
	c->samples = 0;
}

static void
test_rejections(void **state)
{
	struct fixture *f = *state;
	struct dml_update good, dup, outsider, revokee, u;
	struct dml_buf fgood = DML_BUF_INIT, fdup = DML_BUF_INIT, fout = DML_BUF_INIT;
	struct dml_buf frev = DML_BUF_INIT, x = DML_BUF_INIT;
	struct dml_round_outcome out;
	struct dml_stmt_builder b;
	struct dml_model m;
	unsigned char ids[5][32];
	char why[200], kid[DML_KEY_ID_LEN + 1];
	const struct dml_error *err;
	uint64_t count;
	size_t i;

	open_round(f, "r", DML_MODEL_OLS, "fedavg", 0);
	train(f, "r", 1, 30, 1, 0, 0, &good, &fgood);
	submit(f, 1, &fgood);
	/* the same file again is refused outright */
	count = dml_ledger_count(f->l);
	err = dml_update_submit(f->l, f->k[1], fgood.data, fgood.len, f->time++, NULL);
	assert_non_null(err);
	assert_int_equal(dml_ledger_count(f->l), count);
	/* a second, different update from key 1 is recorded */
	train(f, "r", 3, 20, 1, 0, 0, &dup, &fdup);
	submit(f, 1, &fdup);
	/* an outsider's update, submitted by member 1 */
	train(f, "r", 4, 25, 7, 0, 0, &outsider, &fout);
	err = dml_update_submit(f->l, f->k[7], fout.data, fout.len, f->time++, NULL);
	assert_non_null(err);	/* the outsider may not write to the ledger */
	assert_int_equal(err->code, DML_ERR_DENIED);
	submit(f, 1, &fout);
	/* member 6 signs, is revoked, and member 1 submits its update */
	train(f, "r", 5, 25, 6, 0, 0, &revokee, &frev);
	dml_stmt_builder_init(&b, "key.revoke");
	dml_pubkey_id(kid, &f->k[6]->pub);
	assert_null(dml_stmt_builder_add(&b, "key", kid));
	assert_null(dml_ledger_append(f->l, f->k[0], &b, f->time++, NULL, 0, NULL));
	dml_stmt_builder_release(&b);
	submit(f, 1, &frev);
	/* files a member signed that do not fit the round */
	memcpy(ids[0], submit_crafted(f, 2, 2, &good, wrong_dimension), 32);
	memcpy(ids[1], submit_crafted(f, 3, 1, &good, another_base), 32);
	memcpy(ids[2], submit_crafted(f, 4, 4, &good, another_mode), 32);
	memcpy(ids[3], submit_crafted(f, 5, 1, &good, no_samples), 32);
	/* an unsigned file, a tampered one, one for no round here: refused outright */
	count = dml_ledger_count(f->l);
	train(f, "r", 2, 10, -1, 0, 0, &u, &x);
	err = dml_update_submit(f->l, f->k[2], x.data, x.len, f->time++, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_non_null(strstr(err->msg, "dmlctl update sign"));
	dml_buf_reset(&x);
	assert_null(dml_update_encode(&u, f->k[2], &x));
	x.data[header_len(&x) + 3] ^= 4;
	err = dml_update_submit(f->l, f->k[2], x.data, x.len, f->time++, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	u.round[0] ^= 1;
	dml_buf_reset(&x);
	assert_null(dml_update_encode(&u, f->k[2], &x));
	assert_non_null(dml_update_submit(f->l, f->k[2], x.data, x.len, f->time++, NULL));
	assert_int_equal(dml_ledger_count(f->l), count);
	dml_update_release(&u);

	assert_null(dml_round_aggregate(f->l, f->k[0], "r", f->time++, &out));
	assert_int_equal(out.accepted, 1);
	assert_int_equal(out.rejected, 7);
	verdict(out.stmt, good.id, why, sizeof(why));
	assert_string_equal(why, "accepted");
	verdict(out.stmt, dup.id, why, sizeof(why));
	assert_string_equal(why, DML_REASON_DUPLICATE);
	verdict(out.stmt, outsider.id, why, sizeof(why));
	assert_string_equal(why, DML_REASON_NOT_MEMBER);
	verdict(out.stmt, revokee.id, why, sizeof(why));
	assert_string_equal(why, DML_REASON_REVOKED);
	verdict(out.stmt, ids[0], why, sizeof(why));
	assert_string_equal(why, "wrong dimension");
	verdict(out.stmt, ids[1], why, sizeof(why));
	assert_string_equal(why, "another base model");
	verdict(out.stmt, ids[2], why, sizeof(why));
	assert_string_equal(why, "another mode");
	verdict(out.stmt, ids[3], why, sizeof(why));
	assert_string_equal(why, "no samples");
	/* nothing else is affected: the model is the one valid update */
	assert_null(dml_round_model(f->l, "r", &m));
	assert_true(fabs(m.intercept - good.weights[0]) <= 1e-15 * fabs(good.weights[0]));
	for (i = 0; i < m.nfeatures; i++)
		assert_true(fabs(m.features[i].coef - good.weights[1 + i]) <=
		    1e-15 * fabs(good.weights[1 + i]));
	dml_model_release(&m);
	dml_round_outcome_release(&out);
	/* and after the aggregate, nothing more is taken */
	count = dml_ledger_count(f->l);
	train(f, "r", 2, 10, 2, 0, 0, &u, &x);
	err = dml_update_submit(f->l, f->k[2], x.data, x.len, f->time++, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_non_null(dml_round_aggregate(f->l, f->k[0], "r", f->time++, &out));
	assert_non_null(dml_round_close(f->l, f->k[0], "r", f->time++, NULL));
	assert_int_equal(dml_ledger_count(f->l), count);
	dml_update_release(&u);
	verify(f, UINT64_MAX, NULL);

	/* an update naming no base model is judged as for another base model */
	open_round(f, "r2", DML_MODEL_OLS, "fedavg", 0);
	train(f, "r2", 1, 30, 1, 0, 0, &u, &x);
	memcpy(ids[4], submit_crafted(f, 1, 1, &u, no_base), 32);
	dml_update_release(&u);
	train(f, "r2", 2, 30, 2, 0, 0, &u, &x);
	submit(f, 2, &x);
	assert_null(dml_round_aggregate(f->l, f->k[0], "r2", f->time++, &out));
	verdict(out.stmt, ids[4], why, sizeof(why));
	assert_string_equal(why, "another base model");
	verdict(out.stmt, u.id, why, sizeof(why));
	assert_string_equal(why, "accepted");
	dml_round_outcome_release(&out);
	dml_update_release(&u);
	verify(f, UINT64_MAX, NULL);

	dml_update_release(&good);
	dml_update_release(&dup);
	dml_update_release(&outsider);
	dml_update_release(&revokee);
	dml_buf_release(&fgood);
	dml_buf_release(&fdup);
	dml_buf_release(&fout);
	dml_buf_release(&frev);
	dml_buf_release(&x);
}

/*
 * The noise of a private update must not be removable by a reader of the
 * file.  Whatever 32 bytes the header carries, noise regenerated from them
 * and subtracted must not give back the clipped change.  The clip is tiny so
 * that the change is clipped, and the round starts from zeros, so the change
 * is the local fit itself.
 */
static void
test_privacy_noise_is_secret(void **state)
{
	struct fixture *f = *state;
	struct dml_update plain, priv, again;
	struct dml_buf file = DML_BUF_INIT;
	struct dml_round_outcome out;
	const double clip = 1e-3, z = 0.5;
	double clipped[3], guess[3], zero[3] = { 0, 0, 0 }, diff = 0, eps, rho;
	const struct dml_field *fl;
	char want[256], a[40];
	size_t j, i = 0;

	open_round(f, "p", DML_MODEL_OLS, "fedavg", 0);
	train(f, "p", 1, 40, 1, 0, 0, &plain, &file);
	train(f, "p", 1, 40, 1, clip, z, &priv, &file);
	assert_int_equal(priv.dp, 1);
	assert_int_equal(priv.d, 3);
	assert_true(priv.dp_clip == clip && priv.dp_noise == z);
	/* the change, clipped and without noise */
	assert_null(dml_dp_clip_and_noise(plain.weights, 3, clip, 0, priv.dp_commit, clipped, NULL));
	/* the noise the header's bytes would generate */
	assert_null(dml_dp_clip_and_noise(zero, 3, clip, z, priv.dp_commit, guess, NULL));
	for (j = 0; j < 3; j++)
		diff = fmax(diff, fabs(priv.weights[j] - guess[j] - clipped[j]));
	if (!(diff > 1e-3 * clip))
		fail_msg("subtracting the noise generated from the update's dp field gives the "
		    "clipped change back (to %g): the seed is not secret", diff);
	/* fresh randomness each time */
	train(f, "p", 1, 40, 1, clip, z, &again, &file);
	assert_memory_not_equal(again.dp_commit, priv.dp_commit, 32);
	assert_memory_not_equal(again.weights, priv.weights, 3 * sizeof(double));
	dml_update_release(&again);

	/* the outcome records clip, noise and epsilon for one round at delta 1e-5 */
	train(f, "p", 1, 40, 1, clip, z, &again, &file);
	submit(f, 1, &file);
	assert_null(dml_round_aggregate(f->l, f->k[0], "p", f->time++, &out));
	fl = dml_stmt_next(out.stmt, "privacy", &i);
	assert_non_null(fl);
	assert_null(dml_stmt_next(out.stmt, "privacy", &i));
	rho = 1 / (2 * z * z);
	eps = rho + 2 * sqrt(rho * log(1 / DML_ROUND_DP_DELTA));
	dml_id_format(want, again.id);
	assert_true(fl->len > strlen(want) + 10);
	assert_memory_equal(fl->value, want, strlen(want));
	assert_memory_equal(fl->value + strlen(want), " 0.001 0.5 ", 11);
	snprintf(a, sizeof(a), "%.*s", (int)(fl->len - strlen(want) - 11),
	    fl->value + strlen(want) + 11);
	assert_true(fabs(strtod(a, NULL) - eps) <= 1e-12 * eps);
	dml_round_outcome_release(&out);
	dml_update_release(&again);
	verify(f, UINT64_MAX, NULL);

	dml_update_release(&plain);
	dml_update_release(&priv);
	dml_buf_release(&file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_golden_bytes),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_malformed_framing),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_truncations_and_flips),
		cmocka_unit_test(test_signature_text_is_canonical),
		cmocka_unit_test_setup_teardown(test_forged_aggregate_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_aggregate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privacy_noise_is_secret, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
