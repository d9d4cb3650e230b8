/*
 * test_metrics.c - regression and classification metrics (dml/metrics.h)
 * against values worked out by hand, and the streaming and tie rules.
 *
 * Hand values: the regression example is scikit-learn's documented one
 * (MSE 0.375, MAE 0.5, R^2 = 1 - 1.5 / 29.1875 = 0.948608...); AUCs are
 * counted pair by pair in the comments; log-losses are sums of logarithms
 * written out term by term.
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

#include "dml/error.h"
#include "dml/metrics.h"

static void
ok(const struct dml_error *err)
{
	if (err != NULL)
		fail_msg("unexpected error: %s", err->msg);
}

static void
expect_error(const struct dml_error *err, const char *part)
{
	if (err == NULL)
		fail_msg("expected an error containing \"%s\"", part);
	if (err->code != DML_ERR_USAGE || strstr(err->msg, part) == NULL)
		fail_msg("expected a usage error containing \"%s\", got: %s", part, err->msg);
}

static void
near(double got, double want, double rel, const char *what)
{
	if (!(fabs(got - want) <= rel * fabs(want)))
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* ------------------------------------------------------------------------
 * Regression */

static void
test_regression_hand(void **state)
{
	static const double y[4] = { 3, -0.5, 2, 7 }, p[4] = { 2.5, 0.0, 2, 8 };
	struct dml_regmetrics m;
	struct dml_regression_metrics r;

	(void)state;
	dml_regmetrics_init(&m);
	ok(dml_regmetrics_add(&m, y, p, 4));
	ok(dml_regmetrics_result(&m, &r));
	assert_int_equal(r.n, 4);
	/* Errors 0.5, -0.5, 0, -1: SSE 1.5, SAE 2; mean y 2.875,
	 * SST = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875. */
	near(r.mse, 0.375, 1e-16, "MSE");
	near(r.mae, 0.5, 1e-16, "MAE");
	near(r.r2, 1 - 1.5 / 29.1875, 1e-15, "R^2");
	near(r.r2, 0.9486081370449679, 1e-15, "R^2 (scikit-learn's figure)");
}

/* Blocks and merges give what one pass gives; empty blocks are harmless. */
static void
test_regression_streaming(void **state)
{
	enum { N = 1000 };
	double y[N], p[N];
	struct dml_regmetrics all, a, b, c;
	struct dml_regression_metrics ra, rb;
	uint64_t s = 1;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		s = s * 6364136223846793005u + 1442695040888963407u;
		y[i] = (double)(s >> 11) * 0x1p-53 * 100 - 30;
		p[i] = y[i] + ((double)(s >> 40) - 8388608.0) / 1e6;
	}
	dml_regmetrics_init(&all);
	ok(dml_regmetrics_add(&all, y, p, N));
	dml_regmetrics_init(&a);
	dml_regmetrics_init(&b);
	dml_regmetrics_init(&c);
	ok(dml_regmetrics_add(&a, y, p, 1));
	ok(dml_regmetrics_add(&a, y + 1, p + 1, 0));
	ok(dml_regmetrics_add(&a, y + 1, p + 1, 300));
	ok(dml_regmetrics_add(&b, y + 301, p + 301, N - 301));
	dml_regmetrics_merge(&c, &a);	/* into an empty one */
	dml_regmetrics_merge(&c, &b);
	ok(dml_regmetrics_result(&all, &ra));
	ok(dml_regmetrics_result(&c, &rb));
	assert_int_equal(rb.n, N);
	near(rb.mse, ra.mse, 1e-14, "merged MSE");
	near(rb.mae, ra.mae, 1e-14, "merged MAE");
	near(rb.r2, ra.r2, 1e-14, "merged R^2");
}

/*
 * A target with a large mean: sum y^2 - n mean^2 would cancel every digit;
 * Welford's update does not.  y = 1e9 + (4, 7, 13, 16): mean 1e9 + 10,
 * SST = 36 + 9 + 9 + 36 = 90; predictions off by 1 each: SSE = 4.
 */
static void
test_regression_large_mean(void **state)
{
	static const double y[4] = { 1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16 };
	static const double p[4] = { 1e9 + 5, 1e9 + 6, 1e9 + 14, 1e9 + 15 };
	struct dml_regmetrics m;
	struct dml_regression_metrics r;

	(void)state;
	dml_regmetrics_init(&m);
	ok(dml_regmetrics_add(&m, y, p, 4));
	ok(dml_regmetrics_result(&m, &r));
	near(r.r2, 1 - 4.0 / 90, 1e-15, "R^2 with a large mean");
	near(r.mse, 1, 0, "MSE with a large mean");
}

/* R^2 of a constant target: 1 when perfect, else 0 (scikit-learn). */
static void
test_regression_constant(void **state)
{
	static const double y[3] = { 2, 2, 2 }, good[3] = { 2, 2, 2 }, bad[3] = { 2, 3, 2 };
	struct dml_regmetrics m;
	struct dml_regression_metrics r;

	(void)state;
	dml_regmetrics_init(&m);
	ok(dml_regmetrics_add(&m, y, good, 3));
	ok(dml_regmetrics_result(&m, &r));
	assert_true(r.r2 == 1 && r.mse == 0);
	dml_regmetrics_init(&m);
	ok(dml_regmetrics_add(&m, y, bad, 3));
	ok(dml_regmetrics_result(&m, &r));
	assert_true(r.r2 == 0);
	near(r.mse, 1.0 / 3, 1e-16, "MSE of a constant target");
}

static void
test_regression_errors(void **state)
{
	double y[2] = { 1, NAN }, p[2] = { 1, 2 };
	struct dml_regmetrics m;
	struct dml_regression_metrics r;

	(void)state;
	dml_regmetrics_init(&m);
	expect_error(dml_regmetrics_result(&m, &r), "no rows");
	expect_error(dml_regmetrics_add(&m, y, p, 2), "pair 1: the target");
	assert_int_equal(m.n, 0);
	y[1] = 2;
	p[0] = INFINITY;
	expect_error(dml_regmetrics_add(&m, y, p, 2), "pair 0: the prediction");
}

/* ------------------------------------------------------------------------
 * Classification */

/*
 * scikit-learn's roc_auc_score example: labels 0 0 1 1, scores .1 .4 .35 .8.
 * Pairs (positive, negative): (.35, .1) yes, (.35, .4) no, (.8, .1) yes,
 * (.8, .4) yes: 3 of 4.
 */
static void
test_auc_hand(void **state)
{
	static const double p[4] = { 0.1, 0.4, 0.35, 0.8 }, y[4] = { 0, 0, 1, 1 };
	struct dml_classification_metrics m;

	(void)state;
	ok(dml_classification_metrics(p, y, 4, &m));
	near(m.auc, 0.75, 0, "AUC");
}

/*
 * Ties count one half.  Labels 0 1 0 1 0 1, scores .5 .5 .2 .9 .5 .2.
 * Positives .5 .9 .2, negatives .5 .2 .5:
 *   .5 vs (.5, .2, .5): 1/2 + 1 + 1/2 = 2
 *   .9 vs all three: 3
 *   .2 vs (.5, .2, .5): 0 + 1/2 + 0 = 1/2
 * AUC = 5.5 / 9.
 */
static void
test_auc_ties(void **state)
{
	static const double p[6] = { 0.5, 0.5, 0.2, 0.9, 0.5, 0.2 };
	static const double y[6] = { 0, 1, 0, 1, 0, 1 };
	static const double same[4] = { 0.3, 0.3, 0.3, 0.3 }, y2[4] = { 1, 0, 0, 1 };
	static const double pz[2] = { 0.0, -0.0 }, yz[2] = { 1, 0 };
	double pr[6], yr[6];
	struct dml_classification_metrics m, m2;
	size_t i;

	(void)state;
	ok(dml_classification_metrics(p, y, 6, &m));
	near(m.auc, 5.5 / 9, 1e-16, "AUC with ties");
	/* Order of the input never matters. */
	for (i = 0; i < 6; i++) {
		pr[i] = p[5 - i];
		yr[i] = y[5 - i];
	}
	ok(dml_classification_metrics(pr, yr, 6, &m2));
	assert_memory_equal(&m, &m2, sizeof(m));
	/* All tied: 1/2. */
	ok(dml_classification_metrics(same, y2, 4, &m));
	near(m.auc, 0.5, 0, "AUC all tied");
	/* -0 is a valid probability and ties with 0. */
	ok(dml_classification_metrics(pz, yz, 2, &m));
	near(m.auc, 0.5, 0, "AUC of 0 and -0");
	/* Perfect and reversed rankings. */
	{
		static const double ps[4] = { 0.9, 0.1, 0.2, 0.8 };
		static const double pw[4] = { 0.1, 0.9, 0.8, 0.2 };
		ok(dml_classification_metrics(ps, y2, 4, &m));
		assert_true(m.auc == 1);
		ok(dml_classification_metrics(pw, y2, 4, &m));
		assert_true(m.auc == 0);
	}
}

/*
 * Log-loss: labels 1 0 1, probabilities .9 .2 .6:
 * -(log .9 + log .8 + log .6) / 3 = -log(.432) / 3 = 0.2797765635793423
 * Accuracy at 0.5: all three right.
 */
static void
test_log_loss(void **state)
{
	static const double p[3] = { 0.9, 0.2, 0.6 }, y[3] = { 1, 0, 1 };
	static const double pc[2] = { 0, 1 }, yc[2] = { 1, 1 };
	struct dml_classification_metrics m;

	(void)state;
	ok(dml_classification_metrics(p, y, 3, &m));
	near(m.log_loss, -log(0.432) / 3, 1e-14, "log-loss");
	near(m.log_loss, 0.2797765635793423, 1e-15, "log-loss (decimal)");
	near(m.accuracy, 1, 0, "accuracy");
	/*
	 * Clipping: p = 0 for a 1 costs -log(1e-15) = 34.538776394910684
	 * instead of infinity; p = 1 for a 1 costs -log(1 - 1e-15), about
	 * 1e-15, negligible here.
	 */
	ok(dml_classification_metrics(pc, yc, 2, &m));
	near(m.log_loss, 34.538776394910684 / 2, 1e-15, "clipped log-loss");
	assert_true(isnan(m.auc));	/* one class only */
}

/*
 * Counts at the 0.5 threshold (strictly above is class 1):
 * labels 1 1 1 0 0 0 0, probabilities .8 .5 .3 .7 .5 .1 .2:
 * tp = 1 (.8), fn = 2 (.5, .3), fp = 1 (.7), tn = 3 (.5, .1, .2).
 * precision 1/2, recall 1/3, F1 = 2 / (2 + 1 + 2) = 0.4, accuracy 4/7.
 */
static void
test_confusion(void **state)
{
	static const double p[7] = { 0.8, 0.5, 0.3, 0.7, 0.5, 0.1, 0.2 };
	static const double y[7] = { 1, 1, 1, 0, 0, 0, 0 };
	static const double pn[3] = { 0.1, 0.2, 0.3 }, yn[3] = { 0, 0, 1 };
	struct dml_classification_metrics m;

	(void)state;
	ok(dml_classification_metrics(p, y, 7, &m));
	assert_int_equal(m.tp, 1);
	assert_int_equal(m.fn, 2);
	assert_int_equal(m.fp, 1);
	assert_int_equal(m.tn, 3);
	assert_int_equal(m.positives, 3);
	assert_int_equal(m.negatives, 4);
	near(m.precision, 0.5, 0, "precision");
	near(m.recall, 1.0 / 3, 1e-16, "recall");
	near(m.f1, 0.4, 1e-16, "F1");
	near(m.accuracy, 4.0 / 7, 1e-16, "accuracy");
	/* No predicted positives: precision, recall and F1 are 0. */
	ok(dml_classification_metrics(pn, yn, 3, &m));
	assert_true(m.precision == 0 && m.recall == 0 && m.f1 == 0);
	near(m.accuracy, 2.0 / 3, 1e-16, "accuracy without positives predicted");
}

/* The AUC by counting pairs, on many random data sets with ties. */
static void
test_auc_brute_force(void **state)
{
	enum { N = 200 };
	double p[N], y[N], want;
	struct dml_classification_metrics m;
	uint64_t s = 42;
	size_t i, j, trial, pos, neg;

	(void)state;
	for (trial = 0; trial < 50; trial++) {
		for (i = 0; i < N; i++) {
			s = s * 6364136223846793005u + 1442695040888963407u;
			p[i] = (double)((s >> 33) % (trial + 2)) / (double)(trial + 1);
			y[i] = (double)((s >> 20) & 1);
		}
		want = 0;
		pos = neg = 0;
		for (i = 0; i < N; i++) {
			pos += y[i] == 1;
			neg += y[i] == 0;
			for (j = 0; j < N; j++)
				if (y[i] == 1 && y[j] == 0)
					want += p[i] > p[j] ? 1 : p[i] == p[j] ? 0.5 : 0;
		}
		want /= (double)pos * (double)neg;
		ok(dml_classification_metrics(p, y, N, &m));
		near(m.auc, want, 1e-15, "AUC against pair counting");
	}
}

static void
test_classification_errors(void **state)
{
	double p[2] = { 0.5, 0.5 }, y[2] = { 0, 1 };
	struct dml_classification_metrics m;

	(void)state;
	expect_error(dml_classification_metrics(p, y, 0, &m), "no rows");
	y[1] = 2;
	expect_error(dml_classification_metrics(p, y, 2, &m), "row 1: label 2");
	y[1] = 1;
	p[0] = 1.5;
	expect_error(dml_classification_metrics(p, y, 2, &m), "row 0: probability");
	p[0] = NAN;
	expect_error(dml_classification_metrics(p, y, 2, &m), "row 0: probability");
	p[0] = -0.1;
	expect_error(dml_classification_metrics(p, y, 2, &m), "row 0: probability");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regression_hand),
		cmocka_unit_test(test_regression_streaming),
		cmocka_unit_test(test_regression_large_mean),
		cmocka_unit_test(test_regression_constant),
		cmocka_unit_test(test_regression_errors),
		cmocka_unit_test(test_auc_hand),
		cmocka_unit_test(test_auc_ties),
		cmocka_unit_test(test_log_loss),
		cmocka_unit_test(test_confusion),
		cmocka_unit_test(test_auc_brute_force),
		cmocka_unit_test(test_classification_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
