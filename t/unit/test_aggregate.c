/*
 * test_aggregate.c - aggregation rules, the Gaussian mechanism and the
 * privacy accountant (dml/aggregate.h).
 *
 * Three kinds of evidence:
 *   - small cases worked out by hand, in the comments beside them, for every
 *     rule and its edge cases (n = 1, n = 2, ties, a beta that trims
 *     everything, f too large in strict and clamped modes, Bulyan at exactly
 *     n = 4f + 3);
 *   - a plain reference written here (sorting everything, re-scoring Krum
 *     from scratch at every pick, long double sums) that must agree with the
 *     library on random inputs: the same selections exactly, values to
 *     1e-15 relative to the largest value averaged;
 *   - invariances: permuting the updates, and any number of threads.
 * For the noise, libsodium is the reference for the generator's bytes, and
 * sample moments of 1e5 draws are held to 5 standard errors.  Epsilon values
 * were computed with bc -l to 30 digits.
 *
 * Data come from xorshift64 with fixed seeds, so they are the same on every
 * machine.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dml/aggregate.h"
#include "dml/error.h"

/* ------------------------------------------------------------------------
 * Helpers */

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Uniform in [-1, 1). */
static double
uniform(uint64_t *s)
{
	return (double)(xorshift64(s) >> 11) * 0x1p-52 - 1;
}

static void
expect_error(const struct dml_error *err, enum dml_error_code code, const char *part)
{
	if (err == NULL)
		fail_msg("expected an error containing \"%s\"", part);
	if (err->code != code || strstr(err->msg, part) == NULL)
		fail_msg("expected code %d containing \"%s\", got %d: %s", (int)code, part,
		    (int)err->code, err->msg);
}

static void
expect_ok(const struct dml_error *err)
{
	if (err)
		fail_msg("unexpected error: %s", err->msg);
}

static void
assert_below(double err, double tol, const char *what)
{
	if (!(err <= tol))
		fail_msg("%s: error %.3g exceeds %.3g", what, err, tol);
}

static void
assert_same_bits(const double *a, const double *b, size_t d, const char *what)
{
	size_t j;

	for (j = 0; j < d; j++)
		if (memcmp(&a[j], &b[j], sizeof(double)) != 0)
			fail_msg("%s: coordinate %zu differs: %.17g vs %.17g", what, j, a[j], b[j]);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Row pointers into a row-major n x d array (at most 1100 rows here). */
struct rows {
	const double *p[1100];
};

static const double *const *
rows_of(struct rows *r, const double *x, size_t n, size_t d)
{
	size_t i;

	assert_true(n <= 1100);
	for (i = 0; i < n; i++)
		r->p[i] = x + i * d;
	return r->p;
}

static struct dml_agg_params
params(double beta, unsigned f, unsigned m, int strict)
{
	struct dml_agg_params p;

	dml_agg_params_init(&p);
	p.beta = beta;
	p.f = f;
	p.m = m;
	p.strict = strict;
	p.threads = 1;
	return p;
}

/* Aggregate the row-major x; res may be NULL. */
static const struct dml_error *
agg(enum dml_agg_rule rule, struct dml_agg_params p, const double *x, const uint64_t *counts,
    size_t n, size_t d, double *out, struct dml_agg_result *res)
{
	struct rows r;

	return dml_aggregate(rule, &p, rows_of(&r, x, n, d), counts, n, d, out, res);
}

/* ------------------------------------------------------------------------
 * Names and parameters */

static void
test_rule_names(void **state)
{
	enum dml_agg_rule r, back;
	static const char *const names[] = { "fedavg", "median", "trimmed-mean", "krum",
		"multi-krum", "bulyan" };

	(void)state;
	for (r = DML_AGG_FEDAVG; r <= DML_AGG_BULYAN; r++) {
		assert_string_equal(dml_agg_rule_name(r), names[r]);
		expect_ok(dml_agg_rule_parse(names[r], &back));
		assert_int_equal(back, r);
	}
	expect_error(dml_agg_rule_parse("trimmed_mean", &back), DML_ERR_USAGE, "'trimmed_mean'");
	expect_error(dml_agg_rule_parse("", &back), DML_ERR_USAGE, "unknown aggregation rule");
}

static void
test_plan(void **state)
{
	struct dml_agg_params p = params(0.2, 0, 0, 0);
	struct dml_agg_plan plan;

	(void)state;
	expect_error(dml_agg_plan(DML_AGG_MEDIAN, &p, 0, &plan), DML_ERR_USAGE, "no updates");
	/* Defaults: beta 0.2; with n = 10, lo = 2. */
	expect_ok(dml_agg_plan(DML_AGG_TRIMMED_MEAN, NULL, 10, &plan));
	assert_int_equal(plan.trim, 2);
	/* krum: k = max(1, n - f - 2). */
	p.f = 2;
	expect_ok(dml_agg_plan(DML_AGG_KRUM, &p, 10, &plan));
	assert_int_equal(plan.neighbours, 6);
	assert_int_equal(plan.select, 1);
	assert_int_equal(plan.outside, 0);
	/* multi-krum: m = 0 means n - f. */
	expect_ok(dml_agg_plan(DML_AGG_MULTI_KRUM, &p, 10, &plan));
	assert_int_equal(plan.select, 8);
	/* bulyan: theta = n - 2f, beta = theta - 2f. */
	expect_ok(dml_agg_plan(DML_AGG_BULYAN, &p, 11, &plan));
	assert_int_equal(plan.select, 7);
	assert_int_equal(plan.closest, 3);
	assert_int_equal(plan.neighbours, 7);
	expect_error(dml_agg_plan(DML_AGG_BULYAN, &p, 10, &plan), DML_ERR_USAGE,
	    "at least 4f + 3 = 11");
	/* Strict mode refuses what the guarantees do not cover; the rest clamps. */
	p.strict = 1;
	expect_error(dml_agg_plan(DML_AGG_FEDAVG, &p, 10, &plan), DML_ERR_USAGE, "fedavg cannot");
	expect_error(dml_agg_plan(DML_AGG_MEDIAN, &p, 4, &plan), DML_ERR_USAGE, "n > 2f");
	expect_ok(dml_agg_plan(DML_AGG_MEDIAN, &p, 5, &plan));
	p.strict = 0;
	expect_ok(dml_agg_plan(DML_AGG_FEDAVG, &p, 10, &plan));
	assert_int_equal(plan.outside, DML_AGG_OUT_FEDAVG_F);
	expect_ok(dml_agg_plan(DML_AGG_MEDIAN, &p, 4, &plan));
	assert_int_equal(plan.outside, DML_AGG_OUT_MEDIAN_F);
}

/* ------------------------------------------------------------------------
 * fedavg */

static void
test_fedavg(void **state)
{
	/* (1 [1 2] + 2 [3 4] + 1 [5 6]) / 4 = [12 16] / 4 = [3 4] */
	static const double x[] = { 1, 2, 3, 4, 5, 6 };
	static const uint64_t counts[] = { 1, 2, 1 }, zero[] = { 0, 3, 0 }, none[] = { 0, 0, 0 };
	/* 1e16 + 1 - 1e16: a plain sum loses the 1, the compensated sum keeps it. */
	static const double cancel[] = { 1e16, 1, -1e16 };
	static const uint64_t ones[] = { 1, 1, 1 };
	static const double huge[] = { 1e308, 1e308 };
	static const uint64_t big[] = { UINT64_MAX, 1 };
	double out[2];
	struct dml_agg_result res;

	(void)state;
	expect_ok(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, counts, 3, 2, out, &res));
	assert_true(out[0] == 3 && out[1] == 4);
	assert_int_equal(res.nused, 3);
	assert_true(res.used[0] && res.used[1] && res.used[2]);
	assert_null(res.score);
	dml_agg_result_release(&res);
	dml_agg_result_release(&res);	/* released twice is fine */

	/* n = 1: the update itself. */
	expect_ok(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x + 2, counts + 1, 1, 2, out, NULL));
	assert_true(out[0] == 3 && out[1] == 4);
	/* A zero count weighs nothing: only the middle update counts. */
	expect_ok(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, zero, 3, 2, out, NULL));
	assert_true(out[0] == 3 && out[1] == 4);
	expect_error(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, none, 3, 2, out, NULL),
	    DML_ERR_USAGE, "sample count 0");
	expect_error(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, NULL, 3, 2, out, NULL),
	    DML_ERR_USAGE, "needs the sample counts");
	expect_error(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, big, 2, 1, out, NULL),
	    DML_ERR_USAGE, "add up to more");
	/* The exact mean of {1e16, 1, -1e16} is 1/3. */
	expect_ok(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), cancel, ones, 3, 1, out, NULL));
	assert_true(out[0] == 1.0 / 3);
	/* 3e308 does not fit in a double: an overflow of the result, not of the input. */
	expect_error(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), huge, counts, 2, 1, out, NULL),
	    DML_ERR_VERIFY, "overflows at coordinate 0");
	expect_error(agg(DML_AGG_FEDAVG, params(0, 0, 0, 0), x, counts, 3, 0, out, NULL),
	    DML_ERR_USAGE, "0 values");
}

/* ------------------------------------------------------------------------
 * median and trimmed-mean */

static void
test_median(void **state)
{
	/* Columns: {1 5 3} -> 3; {4 -2 4} -> 4 (a tie is still a median). */
	static const double odd[] = { 1, 4, 5, -2, 3, 4 };
	/* {1 2 3 10} -> (2 + 3) / 2 = 2.5; {2 2 2 7} -> 2. */
	static const double even[] = { 3, 2, 1, 7, 10, 2, 2, 2 };
	/* numpy's (a + b) / 2 overflows here; a / 2 + b / 2 does not. */
	static const double huge[] = { DBL_MAX, DBL_MAX };
	double out[2];
	struct dml_agg_result res;

	(void)state;
	expect_ok(agg(DML_AGG_MEDIAN, params(0, 0, 0, 0), odd, NULL, 3, 2, out, &res));
	assert_true(out[0] == 3 && out[1] == 4);
	assert_int_equal(res.nused, 3);	/* coordinate-wise: every update is used */
	dml_agg_result_release(&res);
	expect_ok(agg(DML_AGG_MEDIAN, params(0, 0, 0, 0), even, NULL, 4, 2, out, NULL));
	assert_true(out[0] == 2.5 && out[1] == 2);
	/* n = 1 and n = 2. */
	expect_ok(agg(DML_AGG_MEDIAN, params(0, 0, 0, 0), odd + 2, NULL, 1, 2, out, NULL));
	assert_true(out[0] == 5 && out[1] == -2);
	expect_ok(agg(DML_AGG_MEDIAN, params(0, 0, 0, 0), odd, NULL, 2, 2, out, NULL));
	assert_true(out[0] == 3 && out[1] == 1);
	expect_ok(agg(DML_AGG_MEDIAN, params(0, 0, 0, 0), huge, NULL, 2, 1, out, NULL));
	assert_true(out[0] == DBL_MAX);
}

static void
test_trimmed_mean(void **state)
{
	/* beta 0.2, n 5: lo = 1, mean of {2 3 4} = 3 (100 and 1 cut). */
	static const double x[] = { 4, 100, 1, 3, 2 };
	double y[100], out[1];
	struct dml_agg_result res;
	size_t i;

	(void)state;
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0.2, 0, 0, 0), x, NULL, 5, 1, out, &res));
	assert_true(out[0] == 3);
	assert_int_equal(res.plan.trim, 1);
	assert_int_equal(res.nused, 5);
	dml_agg_result_release(&res);
	/* beta 0: the plain mean, (4 + 100 + 1 + 3 + 2) / 5 = 22. */
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0, 0, 0, 0), x, NULL, 5, 1, out, NULL));
	assert_true(out[0] == 22);
	/* 0.29 * 100 is 28.999999999999996 in doubles: Python's int() gives 28, so do we. */
	for (i = 0; i < 100; i++)
		y[i] = (double)i;
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0.29, 0, 0, 0), y, NULL, 100, 1, out, &res));
	assert_int_equal(res.plan.trim, 28);
	assert_true(out[0] == 49.5);	/* mean of 28..71 */
	dml_agg_result_release(&res);
	/* beta 0.5, n 4: lo = 2 = n - lo, nothing left; Flower would return NaN. */
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(0.5, 0, 0, 0), x, NULL, 4, 1, out, NULL),
	    DML_ERR_USAGE, "nothing is left");
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(0.7, 0, 0, 0), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "nothing is left");
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(1e300, 0, 0, 0), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "nothing is left");
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(-0.1, 0, 0, 0), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "beta -0.1");
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(NAN, 0, 0, 0), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "beta nan");
	/* beta 0.5, n 5: lo = 2, one value left (the median); strict refuses beta >= 0.5. */
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0.5, 0, 0, 0), x, NULL, 5, 1, out, &res));
	assert_true(out[0] == 3);
	assert_int_equal(res.plan.outside, DML_AGG_OUT_TRIM_HALF);
	dml_agg_result_release(&res);
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(0.5, 0, 0, 1), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "below 0.5");
	/* f = 2 but only 1 value cut from each end: strict refuses, otherwise noted. */
	expect_error(agg(DML_AGG_TRIMMED_MEAN, params(0.2, 2, 0, 1), x, NULL, 5, 1, out, NULL),
	    DML_ERR_USAGE, "fewer than f = 2");
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0.2, 2, 0, 0), x, NULL, 5, 1, out, &res));
	assert_int_equal(res.plan.outside, DML_AGG_OUT_TRIM_F);
	dml_agg_result_release(&res);
	/* n = 1 with beta < 0.5 cuts nothing. */
	expect_ok(agg(DML_AGG_TRIMMED_MEAN, params(0.4, 0, 0, 1), x + 1, NULL, 1, 1, out, NULL));
	assert_true(out[0] == 100);
}

/* ------------------------------------------------------------------------
 * Krum and multi-krum */

/*
 * Five updates in the plane: the unit square's corners and an outlier.
 *   x0 (0,0)  x1 (1,0)  x2 (0,1)  x3 (1,1)  x4 (10,10)
 * Squared distances: 01 = 02 = 13 = 23 = 1, 03 = 12 = 2, 04 = 200,
 * 14 = 24 = 181, 34 = 162.  With f = 1, k = 5 - 1 - 2 = 2: every corner
 * scores 1 + 1 = 2, the outlier 162 + 181 = 343.  The corners tie, so
 * Krum takes the lowest index.
 */
static const double square[] = { 0, 0, 1, 0, 0, 1, 1, 1, 10, 10 };
static const uint64_t square_counts[] = { 1, 2, 3, 4, 100 };

static void
test_krum(void **state)
{
	double out[2], perm[10];
	struct dml_agg_result res;
	size_t i;
	/* The outlier first, then the corners in reverse: x4 x3 x2 x1 x0. */
	static const size_t order[] = { 4, 3, 2, 1, 0 };

	(void)state;
	expect_ok(agg(DML_AGG_KRUM, params(0, 1, 0, 1), square, NULL, 5, 2, out, &res));
	assert_true(out[0] == 0 && out[1] == 0);
	assert_int_equal(res.plan.neighbours, 2);
	assert_int_equal(res.nused, 1);
	for (i = 0; i < 4; i++) {
		assert_true(res.score[i] == 2);
		assert_int_equal(res.rank[i], i);
	}
	assert_true(res.score[4] == 343);
	assert_int_equal(res.rank[4], 4);
	assert_true(res.used[0] && !res.used[1] && !res.used[4]);
	dml_agg_result_release(&res);

	/* Permuted: the tie now goes to x3, at the lowest index among the corners. */
	for (i = 0; i < 5; i++)
		memcpy(perm + 2 * i, square + 2 * order[i], 2 * sizeof(double));
	expect_ok(agg(DML_AGG_KRUM, params(0, 1, 0, 1), perm, NULL, 5, 2, out, &res));
	assert_true(out[0] == 1 && out[1] == 1);
	assert_true(res.used[1] && !res.used[0]);
	assert_true(res.score[0] == 343);
	dml_agg_result_release(&res);

	/*
	 * multi-krum, m = 0 -> n - f = 4: the corners, weighted 1 2 3 4:
	 * (1 (0,0) + 2 (1,0) + 3 (0,1) + 4 (1,1)) / 10 = (6, 7) / 10.
	 */
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 1, 0, 1), square, square_counts, 5, 2, out,
	    &res));
	assert_true(out[0] == 0.6 && out[1] == 0.7);
	assert_int_equal(res.plan.select, 4);
	assert_int_equal(res.nused, 4);
	assert_true(!res.used[4]);
	dml_agg_result_release(&res);
	/* m = 2: the two best by (score, index), x0 and x1: (0 + 2 (1,0)) / 3. */
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 1, 2, 1), square, square_counts, 5, 2, out,
	    NULL));
	assert_true(out[0] == 2.0 / 3 && out[1] == 0);
	/* m > n - f: strict refuses; otherwise m = 9 is clamped to n = 5. */
	expect_error(agg(DML_AGG_MULTI_KRUM, params(0, 1, 9, 1), square, square_counts, 5, 2, out,
	    NULL), DML_ERR_USAGE, "at most n - f");
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 1, 9, 0), square, square_counts, 5, 2, out,
	    &res));
	assert_int_equal(res.plan.select, 5);
	assert_int_equal(res.plan.outside, DML_AGG_OUT_SELECT);
	assert_int_equal(res.nused, 5);
	dml_agg_result_release(&res);
	expect_error(agg(DML_AGG_MULTI_KRUM, params(0, 1, 0, 1), square, NULL, 5, 2, out, NULL),
	    DML_ERR_USAGE, "sample counts");
}

static void
test_krum_edges(void **state)
{
	static const double two[] = { 1, 2, 3, 5 };
	static const uint64_t counts[] = { 1, 3 }, zero[] = { 0, 0 };
	double out[2];
	struct dml_agg_result res;

	(void)state;
	/* n = 1: that update, score 0, whatever f is. */
	expect_ok(agg(DML_AGG_KRUM, params(0, 3, 0, 0), two + 2, NULL, 1, 2, out, &res));
	assert_true(out[0] == 3 && out[1] == 5);
	assert_true(res.score[0] == 0);
	assert_int_equal(res.plan.neighbours, 0);
	dml_agg_result_release(&res);
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 0, 0, 0), two + 2, counts, 1, 2, out, NULL));
	assert_true(out[0] == 3 && out[1] == 5);
	/* n = 2: k = max(1, 2 - 0 - 2) = 1, both score D01 = 4 + 9 = 13: index 0 wins. */
	expect_ok(agg(DML_AGG_KRUM, params(0, 0, 0, 0), two, NULL, 2, 2, out, &res));
	assert_true(out[0] == 1 && out[1] == 2);
	assert_true(res.score[0] == 13 && res.score[1] == 13);
	dml_agg_result_release(&res);
	/* n = 2, multi-krum m = n - f = 2: the weighted mean (1 (1,2) + 3 (3,5)) / 4. */
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 0, 0, 0), two, counts, 2, 2, out, NULL));
	assert_true(out[0] == 2.5 && out[1] == 4.25);
	expect_error(agg(DML_AGG_MULTI_KRUM, params(0, 0, 0, 0), two, zero, 2, 2, out, NULL),
	    DML_ERR_USAGE, "sample count 0");
	/*
	 * f too large: n = 5, f = 2 needs n > 2f + 2 = 6.  Strict refuses;
	 * clamped, k = max(1, 5 - 2 - 2) = 1 and the run goes on (noted).
	 * With k = 1 each corner scores 1 and the outlier 162: x0 again.
	 */
	expect_error(agg(DML_AGG_KRUM, params(0, 2, 0, 1), square, NULL, 5, 2, out, NULL),
	    DML_ERR_USAGE, "n > 2f + 2 = 6");
	expect_ok(agg(DML_AGG_KRUM, params(0, 2, 0, 0), square, NULL, 5, 2, out, &res));
	assert_int_equal(res.plan.outside, DML_AGG_OUT_KRUM_N);
	assert_int_equal(res.plan.neighbours, 1);
	assert_true(out[0] == 0 && out[1] == 0 && res.score[4] == 162);
	dml_agg_result_release(&res);
	/* f = 100 > n: still clamped to k = 1 and m = 1. */
	expect_ok(agg(DML_AGG_MULTI_KRUM, params(0, 100, 0, 0), square, square_counts, 5, 2, out,
	    &res));
	assert_int_equal(res.plan.neighbours, 1);
	assert_int_equal(res.plan.select, 1);
	assert_int_equal(res.plan.outside, DML_AGG_OUT_KRUM_N | DML_AGG_OUT_SELECT);
	dml_agg_result_release(&res);
	expect_error(agg(DML_AGG_MULTI_KRUM, params(0, 100, 0, 1), square, square_counts, 5, 2,
	    out, NULL), DML_ERR_USAGE, "krum of 5 updates cannot tolerate f = 100");
}

/* A distance that overflows is +infinity and ranks last; it is no error. */
static void
test_krum_overflow(void **state)
{
	static const double x[] = { 0, 1, 2, 1e300, -1e300 };
	double out[1];
	struct dml_agg_result res;

	(void)state;
	expect_ok(agg(DML_AGG_KRUM, params(0, 1, 0, 0), x, NULL, 5, 1, out, &res));
	assert_true(out[0] == 1);
	assert_true(isinf(res.score[4]) && isinf(res.score[3]));
	dml_agg_result_release(&res);
}

/*
 * Scores are part of what `ledger verify` compares, so the distance recipe is
 * pinned bit for bit: per block of 512 coordinates, four accumulators taking
 * the coordinates in turn, added as (s0 + s1) + (s2 + s3); the blocks added
 * in order; a score is the sum of the k nearest, nearest first.
 */
static double
recipe_dist(const double *a, const double *b, size_t d)
{
	double total = 0, acc[4], t;
	size_t c0, c, len, whole;

	for (c0 = 0; c0 < d; c0 += 512) {
		len = d - c0 < 512 ? d - c0 : 512;
		whole = len - len % 4;	/* a block's last len % 4 coordinates go to s0 */
		acc[0] = acc[1] = acc[2] = acc[3] = 0;
		for (c = 0; c < len; c++) {
			t = a[c0 + c] - b[c0 + c];
			acc[c < whole ? c % 4 : 0] += t * t;
		}
		total += (acc[0] + acc[1]) + (acc[2] + acc[3]);
	}
	return total;
}

static void
test_krum_recipe(void **state)
{
	enum { N = 9, D = 1500 };
	double x[N * D], out[D], dist[N], want;
	uint64_t seed = 31337;
	struct dml_agg_result res;
	size_t i, j, k = N - 2 - 2;

	(void)state;
	for (i = 0; i < N * D; i++)
		x[i] = uniform(&seed) * (1 + i % 7);
	expect_ok(agg(DML_AGG_KRUM, params(0, 2, 0, 1), x, NULL, N, D, out, &res));
	for (i = 0; i < N; i++) {
		size_t m = 0;
		for (j = 0; j < N; j++)
			if (j != i)
				dist[m++] = recipe_dist(x + i * D, x + j * D, D);
		qsort(dist, m, sizeof(double), cmp_double);
		for (j = 0, want = 0; j < k; j++)
			want += dist[j];
		if (memcmp(&want, &res.score[i], sizeof(double)) != 0)
			fail_msg("update %zu: score %.17g, recipe %.17g", i, res.score[i], want);
	}
	dml_agg_result_release(&res);
}

/* -0 and +0 are the same value: the order of the updates cannot pick one. */
static void
test_signed_zero(void **state)
{
	static const double a[] = { -0.0, 0.0, 5 }, b[] = { 0.0, -0.0, 5 };
	static const double c[] = { -0.0, -0.0, -0.0, 1 };
	enum dml_agg_rule r;
	double out[1];

	(void)state;
	for (r = DML_AGG_MEDIAN; r <= DML_AGG_TRIMMED_MEAN; r++) {
		expect_ok(agg(r, params(0.34, 0, 0, 0), a, NULL, 3, 1, out, NULL));
		assert_true(out[0] == 0 && !signbit(out[0]));
		expect_ok(agg(r, params(0.34, 0, 0, 0), b, NULL, 3, 1, out, NULL));
		assert_true(out[0] == 0 && !signbit(out[0]));
		expect_ok(agg(r, params(0.25, 0, 0, 0), c, NULL, 4, 1, out, NULL));
		assert_true(out[0] == 0 && !signbit(out[0]));
	}
}

/* ------------------------------------------------------------------------
 * Bulyan */

/*
 * n = 7 = 4f + 3 with f = 1, one coordinate: v = 0 1 3 6 10 15 1000.
 * theta = 5 picks, beta = 3 values averaged.  Squared distances are
 * (v_i - v_j)^2.  Picks (k = max(1, r - 3) for r left):
 *   r 7, k 4: scores 146 111 71 86 171 446 huge  -> x2 (v 3)
 *   r 6, k 3: x0 137, x1 107, x3 77, x4 122, x5 302 -> x3 (v 6)
 *   r 5, k 2: x0 101, x1 82, x4 106, x5 221     -> x1 (v 1)
 *   r 4, k 1: x0 100, x4 25, x5 25, x6 970225  -> x4 (tie with x5: lower index)
 *   r 3, k 1: x0 225, x5 225, x6 970225         -> x0 (tie with x5)
 * Picked {0 1 2 3 4}: values {0 1 3 6 10}, median 3, distances 3 2 0 3 7.
 * The 3 closest: 3, 1, and a tie at distance 3 between v0 = 0 and v3 = 6,
 * which goes to the lower index: {3 1 0}, mean 4/3 (10/3 the other way).
 */
static void
test_bulyan(void **state)
{
	static const double v[] = { 0, 1, 3, 6, 10, 15, 1000 };
	static const size_t want_rank[] = { 4, 2, 0, 1, 3, DML_AGG_NOT_PICKED, DML_AGG_NOT_PICKED };
	static const double want_score[] = { 225, 82, 71, 77, 25, 225, 970225 };
	static const double small[] = { 1, 2, 6 };
	double out[1];
	struct dml_agg_result res;
	size_t i;

	(void)state;
	expect_ok(agg(DML_AGG_BULYAN, params(0, 1, 0, 1), v, NULL, 7, 1, out, &res));
	assert_true(out[0] == 4.0 / 3);
	assert_int_equal(res.plan.select, 5);
	assert_int_equal(res.plan.closest, 3);
	assert_int_equal(res.nused, 5);
	for (i = 0; i < 7; i++) {
		if (res.rank[i] != want_rank[i] || res.score[i] != want_score[i])
			fail_msg("update %zu: rank %zu score %g, want %zu %g", i, res.rank[i],
			    res.score[i], want_rank[i], want_score[i]);
		assert_int_equal(res.used[i], i < 5);
	}
	dml_agg_result_release(&res);
	/* n = 6 < 4f + 3: an error in both modes. */
	expect_error(agg(DML_AGG_BULYAN, params(0, 1, 0, 0), v, NULL, 6, 1, out, NULL),
	    DML_ERR_USAGE, "at least 4f + 3 = 7");
	/* f = 0: everything is picked and averaged, (1 + 2 + 6) / 3 = 3. */
	expect_ok(agg(DML_AGG_BULYAN, params(0, 0, 0, 1), small, NULL, 3, 1, out, NULL));
	assert_true(out[0] == 3);
}

/* ------------------------------------------------------------------------
 * Non-finite input */

static void
test_nonfinite(void **state)
{
	double x[7 * 3], out[3];
	uint64_t counts[7];
	enum dml_agg_rule r;
	size_t i;

	(void)state;
	for (i = 0; i < 21; i++)
		x[i] = (double)(i % 5);
	for (i = 0; i < 7; i++)
		counts[i] = 1;
	x[4 * 3 + 2] = NAN;
	x[5 * 3 + 1] = INFINITY;
	for (r = DML_AGG_FEDAVG; r <= DML_AGG_BULYAN; r++) {
		const struct dml_error *err = agg(r, params(0.2, 1, 0, 0), x, counts, 7, 3, out,
		    NULL);
		expect_error(err, DML_ERR_VERIFY, "update 4: coordinate 2 is not a finite number");
	}
	x[4 * 3 + 2] = 0;
	expect_error(agg(DML_AGG_MEDIAN, params(0.2, 1, 0, 0), x, counts, 7, 3, out, NULL),
	    DML_ERR_VERIFY, "update 5: coordinate 1 is not a finite number (inf)");
}

/* ------------------------------------------------------------------------
 * A plain reference, on random inputs */

struct keyed {
	double key;
	size_t i;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static double
ref_median(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long double
ref_dist(const double *a, const double *b, size_t d)
{
	long double s = 0, t;
	size_t j;

	for (j = 0; j < d; j++) {
		t = (long double)a[j] - b[j];
		s += t * t;
	}
	return s;
}

/* Krum scores among alive, from scratch: sort each row. */
static void
ref_scores(const double *x, size_t n, size_t d, const int *alive, size_t k, double *score)
{
	struct keyed *row = malloc(n * sizeof(*row));
	size_t i, j, m;
	long double s;

	for (i = 0; i < n; i++) {
		if (!alive[i])
			continue;
		for (j = 0, m = 0; j < n; j++)
			if (j != i && alive[j]) {
				row[m].key = (double)ref_dist(x + i * d, x + j * d, d);
				row[m].i = j;
				m++;
			}
		qsort(row, m, sizeof(*row), cmp_keyed);
		for (j = 0, s = 0; j < k && j < m; j++)
			s += row[j].key;
		score[i] = (double)s;
	}
	free(row);
}

/* The reference aggregate; used[] the updates that enter it. */
static void
ref_aggregate(enum dml_agg_rule rule, size_t f, double beta, size_t m, const double *x,
    const uint64_t *counts, size_t n, size_t d, double *out, int *used)
{
	double *v = malloc(n * sizeof(double)), *score = malloc(n * sizeof(double));
	struct keyed *kd = malloc(n * sizeof(*kd));
	int *alive = malloc(n * sizeof(int));
	size_t i, j, q, lo, k, left, theta, nb, pick, best;
	long double s, w;

	for (i = 0; i < n; i++) {
		alive[i] = 1;
		used[i] = 0;
	}
	switch (rule) {
	case DML_AGG_FEDAVG:
	case DML_AGG_MEDIAN:
	case DML_AGG_TRIMMED_MEAN:
		for (i = 0; i < n; i++)
			used[i] = 1;
		lo = (size_t)(beta * (double)n);
		for (j = 0; j < d; j++) {
			for (i = 0, s = 0, w = 0; i < n; i++) {
				v[i] = x[i * d + j];
				s += (long double)counts[i] * v[i];
				w += counts[i];
			}
			if (rule == DML_AGG_FEDAVG) {
				out[j] = (double)(s / w);
			} else if (rule == DML_AGG_MEDIAN) {
				out[j] = ref_median(v, n);
			} else {
				/* The documented recipe exactly: sorted, TwoSum, one division. */
				double ds = 0, dc = 0, t, z;
				qsort(v, n, sizeof(double), cmp_double);
				for (i = lo; i < n - lo; i++) {
					t = ds + v[i];
					z = t - ds;
					dc += (ds - (t - z)) + (v[i] - z);
					ds = t;
				}
				out[j] = (ds + dc) / (double)(n - 2 * lo);
			}
		}
		break;
	case DML_AGG_KRUM:
	case DML_AGG_MULTI_KRUM:
		k = n >= f + 3 ? n - f - 2 : 1;
		ref_scores(x, n, d, alive, k, score);
		for (i = 0; i < n; i++) {
			kd[i].key = score[i];
			kd[i].i = i;
		}
		qsort(kd, n, sizeof(*kd), cmp_keyed);
		if (rule == DML_AGG_KRUM)
			m = 1;
		for (q = 0; q < m; q++)
			used[kd[q].i] = 1;
		for (j = 0; j < d; j++) {
			for (i = 0, s = 0, w = 0; i < n; i++)
				if (used[i]) {
					s += (long double)counts[i] * x[i * d + j];
					w += counts[i];
				}
			out[j] = (double)(s / w);
		}
		break;
	case DML_AGG_BULYAN:
		theta = n - 2 * f;
		nb = theta - 2 * f;
		for (pick = 0, left = n; pick < theta; pick++, left--) {
			k = left >= f + 3 ? left - f - 2 : 1;
			ref_scores(x, n, d, alive, k, score);
			for (i = 0, best = n; i < n; i++)
				if (alive[i] && (best == n || score[i] < score[best]))
					best = i;
			alive[best] = 0;
			used[best] = 1;
		}
		for (j = 0; j < d; j++) {
			double med;
			for (i = 0, q = 0; i < n; i++)
				if (used[i])
					v[q++] = x[i * d + j];
			med = ref_median(v, theta);
			for (i = 0, q = 0; i < n; i++)
				if (used[i]) {
					kd[q].key = fabs(x[i * d + j] - med);
					kd[q].i = i;
					q++;
				}
			qsort(kd, theta, sizeof(*kd), cmp_keyed);
			for (q = 0, s = 0; q < nb; q++)
				s += x[kd[q].i * d + j];
			out[j] = (double)(s / nb);
		}
		break;
	}
	free(v);
	free(score);
	free(kd);
	free(alive);
}

/*
 * Random updates around a common point, a few of them far off (the byzantine
 * ones), some coordinates rounded to a coarse grid so that values tie.
 */
static void
random_updates(uint64_t *seed, double *x, uint64_t *counts, size_t n, size_t d, size_t bad)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		counts[i] = 1 + xorshift64(seed) % 1000;
		for (j = 0; j < d; j++) {
			double v = 1 + 0.1 * uniform(seed);
			if (j % 3 == 0)
				v = round(v * 8) / 8;
			if (i % (n / (bad ? bad : 1) + 1) == 1 && bad)
				v += 50 * uniform(seed);
			x[i * d + j] = v;
		}
	}
}

/*
 * Sizes: n, d, f, and the last rule to try (the distance rules' reference
 * is O(n^3 d) and skipped for the largest n).  Both ways through median
 * (selection network up to n = 100, introselect from 101) and trimmed-mean
 * (network up to 1024, introsort from 1025) are covered.
 */
static void
test_reference(void **state)
{
	static const size_t sizes[][4] = { { 7, 5, 1, DML_AGG_BULYAN },
		{ 12, 33, 2, DML_AGG_BULYAN }, { 23, 1100, 5, DML_AGG_BULYAN },
		{ 40, 600, 9, DML_AGG_BULYAN }, { 100, 70, 10, DML_AGG_TRIMMED_MEAN },
		{ 101, 70, 10, DML_AGG_TRIMMED_MEAN }, { 300, 9, 30, DML_AGG_TRIMMED_MEAN },
		{ 1024, 5, 100, DML_AGG_TRIMMED_MEAN }, { 1025, 5, 100, DML_AGG_TRIMMED_MEAN } };
	enum dml_agg_rule r;
	size_t t, i, j, n, d, f;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		n = sizes[t][0];
		d = sizes[t][1];
		f = sizes[t][2];
		double *x = malloc(n * d * sizeof(double)), *out = malloc(d * sizeof(double)),
		    *want = malloc(d * sizeof(double));
		uint64_t *counts = malloc(n * sizeof(uint64_t));
		int *used = malloc(n * sizeof(int));
		random_updates(&seed, x, counts, n, d, f);
		for (r = DML_AGG_FEDAVG; r <= (enum dml_agg_rule)sizes[t][3]; r++) {
			struct dml_agg_result res;
			struct dml_agg_params p = params(0.25, (unsigned)f, 0, 0);
			if (r == DML_AGG_FEDAVG)
				p.f = 0;
			if (r == DML_AGG_MULTI_KRUM)
				p.m = (unsigned)(n / 2);
			expect_ok(agg(r, p, x, counts, n, d, out, &res));
			ref_aggregate(r, r == DML_AGG_FEDAVG ? 0 : f, 0.25, n / 2, x, counts, n, d,
			    want, used);
			for (i = 0; i < n; i++)
				if (res.used[i] != used[i])
					fail_msg("%s n %zu: update %zu used %d, reference %d",
					    dml_agg_rule_name(r), n, i, res.used[i], used[i]);
			/*
			 * Relative to the magnitude of the values averaged: fedavg's
			 * terms n_i x_i are rounded once each, so where they cancel
			 * the error is relative to sum n_i |x_i| / sum n_i.
			 */
			for (j = 0; j < d; j++) {
				double mag = fabs(want[j]);
				for (i = 0; i < n; i++)
					if (fabs(x[i * d + j]) > mag)
						mag = fabs(x[i * d + j]);
				if (fabs(out[j] - want[j]) > 1e-15 * mag ||
				    ((r == DML_AGG_MEDIAN || r == DML_AGG_TRIMMED_MEAN) &&
				    out[j] != want[j]))
					fail_msg("%s n %zu: coordinate %zu: %.17g, reference %.17g",
					    dml_agg_rule_name(r), n, j, out[j], want[j]);
			}
			dml_agg_result_release(&res);
		}
		free(x);
		free(out);
		free(want);
		free(counts);
		free(used);
	}
}

/* ------------------------------------------------------------------------
 * Invariances */

/*
 * Permuting the updates: median, trimmed-mean and bulyan's second phase sum
 * sorted values, so their bits cannot change; fedavg on values whose
 * weighted sums are exact does not change either.  Krum picks the same
 * update unless scores tie.  Integer data, so ties abound.
 */
static void
test_permutation(void **state)
{
	enum { N = 11, D = 40 };
	double x[N * D], y[N * D], a[D], b[D];
	uint64_t counts[N], pc[N], seed = 12345;
	size_t perm[N], i, j, t, k;
	struct dml_agg_result ra, rb;
	enum dml_agg_rule r;

	(void)state;
	for (i = 0; i < N; i++) {
		counts[i] = 1 + i % 4;
		for (j = 0; j < D; j++)
			x[i * D + j] = (double)(xorshift64(&seed) % 7) - 3;
	}
	x[5 * D] = 1000;	/* an outlier in update 5 */
	for (t = 0; t < 20; t++) {
		for (i = 0; i < N; i++)
			perm[i] = i;
		for (i = N - 1; i > 0; i--) {
			k = xorshift64(&seed) % (i + 1);
			size_t tmp = perm[i];
			perm[i] = perm[k];
			perm[k] = tmp;
		}
		for (i = 0; i < N; i++) {
			memcpy(y + i * D, x + perm[i] * D, D * sizeof(double));
			pc[i] = counts[perm[i]];
		}
		for (r = DML_AGG_FEDAVG; r <= DML_AGG_TRIMMED_MEAN; r++) {
			expect_ok(agg(r, params(0.2, 0, 0, 0), x, counts, N, D, a, NULL));
			expect_ok(agg(r, params(0.2, 0, 0, 0), y, pc, N, D, b, NULL));
			assert_same_bits(a, b, D, dml_agg_rule_name(r));
		}
		/*
		 * Krum: scores follow their updates bit for bit (each is a sum of
		 * sorted distances); the winner is the lowest position among the
		 * best scores, never the outlier.
		 */
		expect_ok(agg(DML_AGG_KRUM, params(0, 2, 0, 1), x, NULL, N, D, a, &ra));
		expect_ok(agg(DML_AGG_KRUM, params(0, 2, 0, 1), y, NULL, N, D, b, &rb));
		for (i = 0, k = 0; i < N; i++) {
			assert_true(memcmp(&ra.score[perm[i]], &rb.score[i], sizeof(double)) == 0);
			if (rb.score[i] < rb.score[k])
				k = i;
		}
		assert_int_equal(rb.rank[k], 0);
		assert_true(rb.used[k] && rb.nused == 1 && perm[k] != 5);
		assert_same_bits(b, y + k * D, D, "krum winner");
		dml_agg_result_release(&ra);
		dml_agg_result_release(&rb);
	}
}

/* Any number of threads gives the bits of one thread, for every rule. */
static void
test_threads(void **state)
{
	enum { N = 57, D = 3001 };
	double *x = malloc(N * D * sizeof(double)), *a = malloc(D * sizeof(double)),
	    *b = malloc(D * sizeof(double));
	uint64_t counts[N], seed = 777;
	static const unsigned threads[] = { 2, 3, 7, 0 };
	enum dml_agg_rule r;
	size_t t, i;

	(void)state;
	random_updates(&seed, x, counts, N, D, 6);
	for (r = DML_AGG_FEDAVG; r <= DML_AGG_BULYAN; r++) {
		struct dml_agg_params p = params(0.1, r == DML_AGG_FEDAVG ? 0 : 6, 0, 0);
		struct dml_agg_result ra, rb;
		expect_ok(agg(r, p, x, counts, N, D, a, &ra));
		for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
			p.threads = threads[t];
			expect_ok(agg(r, p, x, counts, N, D, b, &rb));
			assert_same_bits(a, b, D, dml_agg_rule_name(r));
			assert_memory_equal(ra.used, rb.used, N);
			if (ra.score)
				for (i = 0; i < N; i++)
					assert_true(memcmp(&ra.score[i], &rb.score[i], sizeof(double)) ==
					    0 && ra.rank[i] == rb.rank[i]);
			dml_agg_result_release(&rb);
		}
		dml_agg_result_release(&ra);
	}
	free(x);
	free(a);
	free(b);
}

/* Bulyan's re-scoring is shared out only when a round is big enough: n = 400. */
static void
test_threads_bulyan(void **state)
{
	enum { N = 400, D = 3 };
	double *x = malloc(N * D * sizeof(double)), a[D], b[D];
	uint64_t counts[N], seed = 4242;
	struct dml_agg_params p = params(0, 20, 0, 1);
	struct dml_agg_result ra, rb;

	(void)state;
	random_updates(&seed, x, counts, N, D, 20);
	expect_ok(agg(DML_AGG_BULYAN, p, x, counts, N, D, a, &ra));
	p.threads = 2;
	expect_ok(agg(DML_AGG_BULYAN, p, x, counts, N, D, b, &rb));
	assert_same_bits(a, b, D, "bulyan");
	assert_memory_equal(ra.rank, rb.rank, N * sizeof(size_t));
	assert_memory_equal(ra.score, rb.score, N * sizeof(double));
	dml_agg_result_release(&ra);
	dml_agg_result_release(&rb);
	free(x);
}

/* ------------------------------------------------------------------------
 * Differential privacy */

static const unsigned char seed_a[DML_DP_SEED_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const unsigned char seed_b[DML_DP_SEED_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 11 };

/* The generator is libsodium's randombytes_buf_deterministic, byte for byte. */
static void
test_dp_stream(void **state)
{
	static const size_t lens[] = { 0, 1, 8, 63, 64, 65, 200, 4096, 100003 };
	unsigned char *mine = malloc(100003), *theirs = malloc(100003);
	size_t t;

	(void)state;
	assert_true(sodium_init() >= 0);
	for (t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		memset(mine, 0xaa, lens[t]);
		dml_dp_stream(mine, lens[t], seed_a);
		randombytes_buf_deterministic(theirs, lens[t], seed_a);
		assert_memory_equal(mine, theirs, lens[t]);
	}
	free(mine);
	free(theirs);
}

static void
test_dp_clip(void **state)
{
	static const double small[] = { 3, -4 };	/* norm 5 */
	static const double huge[] = { 3e300, 4e300 }, tiny[] = { 3e-310, 4e-310 };
	double out[2], back[2];
	struct dml_dp_info info;
	uint64_t seed = 99;
	size_t t, j;

	(void)state;
	/* Within the bound: unchanged, bit for bit. */
	expect_ok(dml_dp_clip_and_noise(small, 2, 5, 0, seed_a, out, &info));
	assert_same_bits(out, small, 2, "unclipped");
	assert_true(info.norm == 5 && info.factor == 1 && !info.clipped && info.sigma == 0);
	/* Clipped to 1: (0.6, -0.8). */
	expect_ok(dml_dp_clip_and_noise(small, 2, 1, 0, seed_a, out, &info));
	assert_true(info.clipped && info.factor == 0.2);
	assert_true(out[0] == 3 * 0.2 && out[1] == -4 * 0.2);
	/* Norms that would overflow or underflow as plain sums of squares. */
	expect_ok(dml_dp_clip_and_noise(huge, 2, 1, 0, seed_a, out, &info));
	assert_below(fabs(info.norm - 5e300) / 5e300, 1e-15, "huge norm");
	assert_below(fabs(out[0] - 0.6) + fabs(out[1] - 0.8), 4e-16, "huge clipped");
	expect_ok(dml_dp_clip_and_noise(tiny, 2, 1, 0, seed_a, out, &info));
	assert_true(!info.clipped);
	assert_below(fabs(info.norm - 5e-310) / 5e-310, 1e-8, "subnormal norm");
	/* Random vectors clipped to random bounds never exceed them. */
	for (t = 0; t < 200; t++) {
		double v[37], c = 0.01 + fabs(uniform(&seed)), s = 0;
		for (j = 0; j < 37; j++)
			v[j] = 3 * uniform(&seed);
		expect_ok(dml_dp_clip_and_noise(v, 37, c, 0, seed_a, v, &info));
		for (j = 0; j < 37; j++)
			s += v[j] * v[j];
		assert_true(info.clipped);
		assert_true(sqrt(s) <= c * (1 + 1e-15));
		assert_below(fabs(sqrt(s) - c) / c, 1e-15, "clipped norm");
	}
	/* In place, and errors. */
	memcpy(back, small, sizeof(back));
	expect_ok(dml_dp_clip_and_noise(back, 2, 10, 0, seed_a, back, NULL));
	assert_same_bits(back, small, 2, "in place");
	expect_error(dml_dp_clip_and_noise(small, 2, 0, 1, seed_a, out, NULL), DML_ERR_USAGE,
	    "clipping norm 0");
	expect_error(dml_dp_clip_and_noise(small, 2, 1, -1, seed_a, out, NULL), DML_ERR_USAGE,
	    "noise multiplier -1");
	expect_error(dml_dp_clip_and_noise(small, 0, 1, 1, seed_a, out, NULL), DML_ERR_USAGE,
	    "no values");
	back[1] = NAN;
	expect_error(dml_dp_clip_and_noise(back, 2, 1, 1, seed_a, out, NULL), DML_ERR_VERIFY,
	    "coordinate 1");
}

static void
test_dp_noise(void **state)
{
	enum { N = 100001 };	/* odd: the last deviate of a pair is dropped */
	double *zero = calloc(N, sizeof(double)), *a = malloc(N * sizeof(double)),
	    *b = malloc(N * sizeof(double));
	double mean = 0, var = 0, m4 = 0, within = 0, diff = 0;
	struct dml_dp_info info;
	size_t j;

	(void)state;
	/* Same seed, same bits; noise scales exactly with z C. */
	expect_ok(dml_dp_clip_and_noise(zero, N, 1, 1, seed_a, a, &info));
	assert_true(info.sigma == 1 && !info.clipped);
	expect_ok(dml_dp_clip_and_noise(zero, N, 1, 1, seed_a, b, NULL));
	assert_same_bits(a, b, N, "same seed");
	expect_ok(dml_dp_clip_and_noise(zero, N, 1, 2, seed_a, b, NULL));
	for (j = 0; j < N; j++)
		assert_true(b[j] == 2 * a[j]);
	/* Another seed, other noise (all but a few coordinates differ). */
	expect_ok(dml_dp_clip_and_noise(zero, N, 1, 1, seed_b, b, NULL));
	for (j = 0; j < N; j++)
		diff += a[j] != b[j];
	assert_true(diff > N - 10);
	/*
	 * Moments of N(0, 1) from 1e5 draws, within 5 standard errors: mean
	 * 1/sqrt(N), variance sqrt(2/N), fourth moment sqrt(96/N), P(|x| < 1)
	 * sqrt(p (1 - p) / N).
	 */
	for (j = 0; j < N; j++) {
		mean += a[j];
		var += a[j] * a[j];
		m4 += a[j] * a[j] * a[j] * a[j];
		within += fabs(a[j]) < 1;
	}
	mean /= N;
	var /= N;
	m4 /= N;
	within /= N;
	assert_below(fabs(mean), 5 / sqrt(N), "noise mean");
	assert_below(fabs(var - 1), 5 * sqrt(2.0 / N), "noise variance");
	assert_below(fabs(m4 - 3), 5 * sqrt(96.0 / N), "noise fourth moment");
	assert_below(fabs(within - 0.682689492137086), 5 * sqrt(0.2167 / N), "P(|x| < 1)");
	/* z = 0.5: half the deviates, exactly. */
	expect_ok(dml_dp_clip_and_noise(zero, N, 1, 0.5, seed_a, b, NULL));
	for (j = 0; j < N; j++)
		assert_true(b[j] == 0.5 * a[j]);
	free(zero);
	free(a);
	free(b);
}

/*
 * The documented recipe, rebuilt from libsodium's stream and libm's log:
 * the same accept/reject decisions, deviates equal to rounding (the log is
 * the library's own, within 2 ulp of libm's, and a square root halves that).
 */
static void
test_dp_recipe(void **state)
{
	enum { D = 20001, BYTES = 16 * D };
	unsigned char *stream = malloc(BYTES);
	double *zero = calloc(D, sizeof(double)), *got = malloc(D * sizeof(double)), u, v, q, r;
	uint64_t w[2];
	size_t j = 0, pos = 0, k, b;

	(void)state;
	assert_true(sodium_init() >= 0);
	randombytes_buf_deterministic(stream, BYTES, seed_b);
	expect_ok(dml_dp_clip_and_noise(zero, D, 2, 1.5, seed_b, got, NULL));
	while (j < D) {
		for (k = 0; k < 2; k++, pos += 8)
			for (b = 8, w[k] = 0; b-- > 0;)
				w[k] = w[k] << 8 | stream[pos + b];
		u = (double)(w[0] >> 11) * 0x1p-52 - 1;
		v = (double)(w[1] >> 11) * 0x1p-52 - 1;
		q = u * u + v * v;
		if (q >= 1 || q == 0)
			continue;
		r = sqrt(-2 * log(q) / q);
		assert_below(fabs(got[j] - 3 * (u * r)), 1e-15 * fabs(3 * u * r) + 1e-300,
		    "deviate");
		if (j + 1 < D)
			assert_below(fabs(got[j + 1] - 3 * (v * r)), 1e-15 * fabs(3 * v * r) + 1e-300,
			    "deviate");
		j += 2;
	}
	free(stream);
	free(zero);
	free(got);
}

/* ------------------------------------------------------------------------
 * Accounting */

static void
test_dp_epsilon(void **state)
{
	/* z, T, delta, epsilon, alpha*: bc -l, 30 digits. */
	static const struct {
		double z;
		uint64_t t;
		double delta, eps, alpha;
	} cases[] = {
		{ 1, 1, 1e-5, 5.298525912188081207567368868904, 5.798525912188081207567368868904 },
		{ 1.1, 100, 1e-5, 84.945276887660242382843849221444,
		  1.527837850340688932832410575578 },
		{ 0.5, 10, 1e-6, 53.245162725382198500781888149932,
		  1.831129068134554962519547203748 },
		{ 4, 1000, 1e-8, 79.235259121880812075673688689046,
		  1.767764145950092993210779019024 },
		{ 2, 1, 0.5, 0.713705011257737345505784663228, 3.354820045030949382023138652919 },
	};
	double eps, alpha, e2, rho, l;
	size_t t, k;
	uint64_t seed = 5;

	(void)state;
	for (t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		expect_ok(dml_dp_epsilon(cases[t].z, cases[t].t, cases[t].delta, &eps, &alpha));
		assert_below(fabs(eps - cases[t].eps) / cases[t].eps, 4e-16, "epsilon");
		assert_below(fabs(alpha - cases[t].alpha) / cases[t].alpha, 4e-16, "order");
		/* It is the minimum over alpha of T alpha / (2 z^2) + log(1/delta) / (alpha - 1). */
		for (k = 0; k < 2; k++) {
			double a = alpha * (k ? 1.01 : 0.99), z = cases[t].z;
			if (a <= 1)
				continue;
			assert_true((double)cases[t].t * a / (2 * z * z) +
			    log(1 / cases[t].delta) / (a - 1) > eps);
		}
	}
	/* T rounds of one z, or their rho added up, agree. */
	for (k = 0, rho = 0; k < 50; k++)
		rho += dml_dp_rho(1.3);
	expect_ok(dml_dp_epsilon_rho(rho, 1e-5, &e2, NULL));
	expect_ok(dml_dp_epsilon(1.3, 50, 1e-5, &eps, NULL));
	assert_below(fabs(eps - e2) / eps, 1e-14, "rho sum");
	/* The library's own logarithm, checked through epsilon over a wide range of delta. */
	for (k = 0; k < 2000; k++) {
		double delta = exp(-700 * fabs(uniform(&seed))) * (1 - 1e-12);
		long double want;
		if (delta <= 0 || delta >= 1)
			continue;
		expect_ok(dml_dp_epsilon_rho(0.5, delta, &eps, NULL));
		l = -log(delta);
		want = 0.5L + 2 * sqrtl(0.5L * (long double)l);
		assert_below(fabsl((long double)eps - want) / want, 8e-16, "log through epsilon");
	}
	/* Edges. */
	expect_ok(dml_dp_epsilon(1, 0, 1e-5, &eps, &alpha));
	assert_true(eps == 0 && isinf(alpha));
	expect_error(dml_dp_epsilon(0, 1, 1e-5, &eps, NULL), DML_ERR_USAGE, "must be positive");
	expect_error(dml_dp_epsilon(NAN, 1, 1e-5, &eps, NULL), DML_ERR_USAGE, "must be positive");
	expect_error(dml_dp_epsilon(1, 1, 0, &eps, NULL), DML_ERR_USAGE, "delta 0");
	expect_error(dml_dp_epsilon(1, 1, 1, &eps, NULL), DML_ERR_USAGE, "delta 1");
	expect_error(dml_dp_epsilon_rho(-1, 0.1, &eps, NULL), DML_ERR_USAGE, "RDP cost -1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_names),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_fedavg),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_trimmed_mean),
		cmocka_unit_test(test_krum),
		cmocka_unit_test(test_krum_edges),
		cmocka_unit_test(test_krum_overflow),
		cmocka_unit_test(test_krum_recipe),
		cmocka_unit_test(test_signed_zero),
		cmocka_unit_test(test_bulyan),
		cmocka_unit_test(test_nonfinite),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_permutation),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_bulyan),
		cmocka_unit_test(test_dp_stream),
		cmocka_unit_test(test_dp_clip),
		cmocka_unit_test(test_dp_noise),
		cmocka_unit_test(test_dp_recipe),
		cmocka_unit_test(test_dp_epsilon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
