/*
 * dml/metrics.h - model quality metrics: regression (streaming) and binary
 * classification.  Deterministic: the same inputs give the same bits on
 * every machine (plain C in a fixed order, no BLAS, explicit tie rules).
 *
 * Conventions follow scikit-learn's where it has them, so that figures can
 * be compared with it: R^2 of a constant target is 1 for a perfect
 * prediction and 0 otherwise (force_finite); precision, recall and F1 are 0
 * when their denominator is 0 (zero_division=0); accuracy predicts class 1
 * when the probability is strictly above 0.5 (LogisticRegression.predict).
 */
#ifndef DML_METRICS_H
#define DML_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

/* ------------------------------------------------------------------------
 * Regression: streaming accumulator
 *
 * Fed (target, prediction) pairs in any number of blocks; keeps O(1) state:
 * compensated (Neumaier) sums of squared and absolute errors, and the mean
 * and centred sum of squares of the target by Welford's update, so R^2
 * needs one pass and suffers no cancellation (no sum-of-squares minus
 * squared-sum).  Accumulators over parts combine with
 * dml_regmetrics_merge (Chan et al.'s pairwise update).
 */
struct dml_regmetrics {
	uint64_t n;
	double sse, sse_c;	/* sum of squared errors and its compensation */
	double sae, sae_c;	/* sum of absolute errors and its compensation */
	double mean;		/* mean of the targets so far */
	double m2;		/* sum of squared deviations of the targets from the mean */
};

struct dml_regression_metrics {
	uint64_t n;
	double mse;	/* mean squared error */
	double mae;	/* mean absolute error */
	double r2;	/* 1 - SSE / sum (y - mean y)^2 */
};

void dml_regmetrics_init(struct dml_regmetrics *m);

/*
 * Add n pairs (y[i], pred[i]).  All values must be finite: otherwise a
 * DML_ERR_USAGE error naming the index, and m is unchanged.
 */
const struct dml_error *dml_regmetrics_add(struct dml_regmetrics *m, const double *y,
    const double *pred, size_t n);

/* dst += src: as if src's pairs had been added to dst. */
void dml_regmetrics_merge(struct dml_regmetrics *dst, const struct dml_regmetrics *src);

/* The metrics so far; a DML_ERR_USAGE error when no pairs were added. */
const struct dml_error *dml_regmetrics_result(const struct dml_regmetrics *m,
    struct dml_regression_metrics *out);

/* ------------------------------------------------------------------------
 * Binary classification
 */

/* The clipping bound of the log-loss. */
#define DML_LOG_LOSS_EPS 1e-15

struct dml_classification_metrics {
	uint64_t n, positives, negatives;	/* labels 1 and 0 */
	uint64_t tp, fp, tn, fn;		/* at threshold 0.5 (p > 0.5 is class 1) */
	double accuracy;	/* (tp + tn) / n */
	/*
	 * Mean of -[y log p + (1 - y) log(1 - p)] with p clipped to
	 * [1e-15, 1 - 1e-15] (log(1 - p) as log1p(-p)), summed with Neumaier
	 * compensation.
	 */
	double log_loss;
	/*
	 * Area under the ROC curve, exactly: the probability that a random
	 * positive scores above a random negative, ties counting one half (the
	 * Mann-Whitney U statistic with average ranks).  Computed by sorting,
	 * in integer arithmetic up to the final division.  NaN when the labels
	 * are all one class (it is undefined), as scikit-learn refuses it.
	 */
	double auc;
	double precision;	/* tp / (tp + fp), 0 if no predicted positives */
	double recall;		/* tp / (tp + fn), 0 if no positives */
	double f1;		/* 2 tp / (2 tp + fp + fn), 0 if that is 0 / 0 */
};

/*
 * Metrics of n (probability, label) pairs: prob[i] in [0, 1] is the
 * predicted probability that label[i] is 1; each label is exactly 0 or 1.
 * Errors (DML_ERR_USAGE): n == 0, a probability that is NaN or outside
 * [0, 1], a label other than 0 or 1; DML_ERR_NOMEM.  Allocates n pairs for
 * the sort (O(n log n) time).
 */
const struct dml_error *dml_classification_metrics(const double *prob, const double *label,
    size_t n, struct dml_classification_metrics *out);

#endif
