/*
 * metrics.c - regression and classification metrics (see dml/metrics.h).
 *
 * Everything here is plain C in a fixed order, so figures recorded in a
 * signed model statement can be recomputed bit for bit by `ledger verify`
 * on any machine.  The AUC is counted in integers: after sorting by score,
 * each tie group adds (positives in the group) * (2 * negatives below it +
 * negatives in the group), twice the Mann-Whitney U, which is exact for
 * up to 2^31 rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/error.h"
#include "dml/metrics.h"

/* Neumaier's compensated summation: the sum is *s + *c. */
static void
neumaier(double *s, double *c, double v)
{
	double t = *s + v;

	if (fabs(*s) >= fabs(v))
		*c += (*s - t) + v;
	else
		*c += (v - t) + *s;
	*s = t;
}

void
dml_regmetrics_init(struct dml_regmetrics *m)
{
	memset(m, 0, sizeof(*m));
}

const struct dml_error *
dml_regmetrics_add(struct dml_regmetrics *m, const double *y, const double *pred, size_t n)
{
	size_t i;
	double e, delta;

	for (i = 0; i < n; i++)
		if (!isfinite(y[i]) || !isfinite(pred[i]))
			return dml_error_fmt(DML_ERR_USAGE, "pair %zu: %s is not a finite number",
			    i, isfinite(y[i]) ? "the prediction" : "the target");
	for (i = 0; i < n; i++) {
		e = y[i] - pred[i];
		neumaier(&m->sse, &m->sse_c, e * e);
		neumaier(&m->sae, &m->sae_c, fabs(e));
		m->n++;
		delta = y[i] - m->mean;
		m->mean += delta / (double)m->n;
		m->m2 += delta * (y[i] - m->mean);
	}
	return NULL;
}

void
dml_regmetrics_merge(struct dml_regmetrics *dst, const struct dml_regmetrics *src)
{
	double na = (double)dst->n, nb = (double)src->n, n, delta;

	if (src->n == 0)
		return;
	if (dst->n == 0) {
		*dst = *src;
		return;
	}
	n = na + nb;
	delta = src->mean - dst->mean;
	dst->mean += delta * (nb / n);
	dst->m2 += src->m2 + delta * delta * (na * nb / n);
	neumaier(&dst->sse, &dst->sse_c, src->sse);
	dst->sse_c += src->sse_c;
	neumaier(&dst->sae, &dst->sae_c, src->sae);
	dst->sae_c += src->sae_c;
	dst->n += src->n;
}

const struct dml_error *
dml_regmetrics_result(const struct dml_regmetrics *m, struct dml_regression_metrics *out)
{
	double sse = m->sse + m->sse_c, sae = m->sae + m->sae_c;

	memset(out, 0, sizeof(*out));
	if (m->n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no rows to measure");
	out->n = m->n;
	out->mse = sse / (double)m->n;
	out->mae = sae / (double)m->n;
	if (m->m2 > 0)
		out->r2 = 1 - sse / m->m2;
	else
		out->r2 = sse == 0 ? 1 : 0;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Classification */

struct scored {
	double score;
	int label;
};

/* By score, then label: a total order, so any sort gives the same array. */
static int
scored_cmp(const void *pa, const void *pb)
{
	const struct scored *a = pa, *b = pb;

	if (a->score < b->score)
		return -1;
	if (a->score > b->score)
		return 1;
	return (a->label > b->label) - (a->label < b->label);
}

const struct dml_error *
dml_classification_metrics(const double *prob, const double *label, size_t n,
    struct dml_classification_metrics *out)
{
	const double lo = DML_LOG_LOSS_EPS, hi = 1 - DML_LOG_LOSS_EPS;
	struct scored *v;
	double ll = 0, llc = 0, p;
	uint64_t u2 = 0, neg_below = 0, gp, gn;
	size_t i, j;
	int y;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no rows to measure");
	if (n > ((size_t)1 << 31))
		return dml_error_fmt(DML_ERR_USAGE, "too many rows to measure (%zu)", n);
	for (i = 0; i < n; i++) {
		if (!(prob[i] >= 0 && prob[i] <= 1))
			return dml_error_fmt(DML_ERR_USAGE, "row %zu: probability %g is not in "
			    "[0, 1]", i, prob[i]);
		if (label[i] != 0 && label[i] != 1)
			return dml_error_fmt(DML_ERR_USAGE, "row %zu: label %g is not 0 or 1", i,
			    label[i]);
	}
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		return dml_error_nomem();
	for (i = 0; i < n; i++) {
		y = label[i] == 1;
		v[i].score = prob[i] == 0 ? 0 : prob[i];	/* -0 ties with 0 anyway */
		v[i].label = y;
		if (y)
			out->positives++;
		else
			out->negatives++;
		if (prob[i] > 0.5) {
			if (y)
				out->tp++;
			else
				out->fp++;
		} else {
			if (y)
				out->fn++;
			else
				out->tn++;
		}
		p = prob[i] < lo ? lo : prob[i] > hi ? hi : prob[i];
		neumaier(&ll, &llc, -(y ? log(p) : log1p(-p)));
	}
	out->n = n;
	out->accuracy = (double)(out->tp + out->tn) / (double)n;
	out->log_loss = (ll + llc) / (double)n;
	out->precision = out->tp + out->fp ? (double)out->tp / (double)(out->tp + out->fp) : 0;
	out->recall = out->tp + out->fn ? (double)out->tp / (double)(out->tp + out->fn) : 0;
	out->f1 = out->tp + out->fp + out->fn ? 2.0 * (double)out->tp /
	    (double)(2 * out->tp + out->fp + out->fn) : 0;

	if (out->positives == 0 || out->negatives == 0) {
		out->auc = NAN;
	} else {
		qsort(v, n, sizeof(*v), scored_cmp);
		for (i = 0; i < n; i = j) {
			gp = gn = 0;
			for (j = i; j < n && v[j].score == v[i].score; j++) {
				if (v[j].label)
					gp++;
				else
					gn++;
			}
			u2 += gp * (2 * neg_below + gn);
			neg_below += gn;
		}
		out->auc = (double)u2 / (2.0 * (double)out->positives * (double)out->negatives);
	}
	free(v);
	return NULL;
}
