/*
 * linalg.c - the LAPACKE and OpenBLAS wrapper: the only file that includes
 * <lapacke.h> and <cblas.h>.  It holds the numerical core of training (see
 * dml/linalg.h): sufficient statistics, the ridge/OLS solver, logistic
 * regression by Newton's method.
 *
 * Design notes.
 *
 * Symmetric matrices are kept full (both triangles) and row-major.  A full
 * symmetric matrix is its own transpose, so it is handed to LAPACK as
 * column-major directly: no transposed copies (LAPACKE's row-major entry
 * points would make them), which matters when exact Shapley values solve a
 * million small systems.
 *
 * The solver scales the system to unit diagonal before anything else.  The
 * normal equations of raw data (a year column near 2000 beside a column of
 * ones, a GNP column in the hundreds of thousands) have condition numbers
 * far beyond 1e16 purely from units; after scaling, what remains is the
 * real collinearity.  The Cholesky factor and the condition estimate are
 * both of the scaled matrix.  The eigen fallback works on the scaled matrix
 * too (so the rank it reports does not depend on units) and then restores
 * the minimum-norm property in the caller's units by projecting out the
 * null space mapped back through the scaling.
 *
 * Sums that the caller compares across runs (loss, RSS, matrix-vector
 * products) are computed in a fixed order in plain C rather than by BLAS,
 * so they do not depend on the BLAS build; the big products (dsyrk,
 * LAPACK) do, within rounding.
 *
 * BLAS runs single-threaded.  With threads, OpenBLAS's dgemv, its
 * threaded Cholesky (d of a few hundred up) and the eigensolver's
 * reductions (any d) give different bits on machines with different
 * numbers of cores, and a model, an aggregate or a Shapley value that
 * `ledger verify` recomputes elsewhere must come out the same.
 * Parallelism belongs to the callers: separate problems (coalitions,
 * chunks of rows merged in a fixed order) on separate threads.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "dml/error.h"
#include "dml/linalg.h"
#include "dml/version.h"

/* Rows per BLAS call: bounds scratch memory and keeps counts within int. */
#define CHUNK_ROWS 2048		/* logistic passes, for d <= 256 */
#define ADD_CHUNK_ROWS 65536	/* dml_suffstats_add_rows */

void
dml_linalg_version(char *lapack, size_t lapacklen, char *blas, size_t blaslen)
{
	lapack_int major = 0, minor = 0, patch = 0;

	LAPACKE_ilaver(&major, &minor, &patch);
	snprintf(lapack, lapacklen, "%d.%d.%d", (int)major, (int)minor, (int)patch);
	snprintf(blas, blaslen, "%s", openblas_get_config());
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void
blas_single_thread(void)
{
	openblas_set_num_threads(1);
}

/* Called before the first BLAS or LAPACK call of every entry point. */
static void
blas_setup(void)
{
	pthread_once(&blas_once, blas_single_thread);
}

/*
 * Matrix-vector products are plain C in a fixed order: OpenBLAS's dgemv
 * gives different bits with different numbers of threads (dsyrk does not:
 * each thread owns whole entries of the result), and they cost O(rows * d)
 * beside dsyrk's O(rows * d^2).
 */

/* g += X^T v for rows x d row-major X: row by row, so blocking is moot. */
static void
add_xt_v(double *g, const double *x, const double *v, size_t rows, size_t d)
{
	size_t r, j;
	double vr;

	for (r = 0; r < rows; r++) {
		vr = v[r];
		for (j = 0; j < d; j++)
			g[j] += x[r * d + j] * vr;
	}
}

/* z = X b. */
static void
x_times(double *z, const double *x, const double *b, size_t rows, size_t d)
{
	size_t r, j;
	double t;

	for (r = 0; r < rows; r++) {
		t = 0;
		for (j = 0; j < d; j++)
			t += x[r * d + j] * b[j];
		z[r] = t;
	}
}

/* Copy the upper triangle of row-major a (j >= i) into the lower one. */
static void
mirror_upper(double *a, size_t d)
{
	size_t i, j;

	for (i = 0; i < d; i++)
		for (j = i + 1; j < d; j++)
			a[j * d + i] = a[i * d + j];
}

/* ------------------------------------------------------------------------
 * Sufficient statistics */

const struct dml_error *
dml_suffstats_init(struct dml_suffstats *s, size_t d)
{
	memset(s, 0, sizeof(*s));
	if (d == 0 || d > DML_LINALG_MAX_D)
		return dml_error_fmt(DML_ERR_USAGE, "cannot make statistics for %zu columns: "
		    "the number must be 1 to %d", d, DML_LINALG_MAX_D);
	s->xtx = calloc(d * d, sizeof(double));
	s->xty = calloc(d, sizeof(double));
	if (s->xtx == NULL || s->xty == NULL) {
		dml_suffstats_release(s);
		return dml_error_nomem();
	}
	s->d = d;
	return NULL;
}

void
dml_suffstats_release(struct dml_suffstats *s)
{
	free(s->xtx);
	free(s->xty);
	memset(s, 0, sizeof(*s));
}

void
dml_suffstats_zero(struct dml_suffstats *s)
{
	if (s->d == 0)
		return;
	memset(s->xtx, 0, s->d * s->d * sizeof(double));
	memset(s->xty, 0, s->d * sizeof(double));
	s->yty = 0;
	s->n = 0;
}

const struct dml_error *
dml_suffstats_copy(struct dml_suffstats *dst, const struct dml_suffstats *src)
{
	if (dst->d != src->d || dst->d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "cannot copy statistics of %zu columns "
		    "into statistics of %zu", src->d, dst->d);
	memcpy(dst->xtx, src->xtx, src->d * src->d * sizeof(double));
	memcpy(dst->xty, src->xty, src->d * sizeof(double));
	dst->yty = src->yty;
	dst->n = src->n;
	return NULL;
}

const struct dml_error *
dml_suffstats_add_rows(struct dml_suffstats *s, const double *x, const double *y,
    size_t rows)
{
	size_t d = s->d, r, j, done, m;
	double yty = 0;

	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "statistics are not initialised");
	if (rows > UINT64_MAX - s->n)
		return dml_error_fmt(DML_ERR_USAGE, "too many rows for the statistics");
	blas_setup();
	/* Check first, so that a bad value leaves s as it was. */
	for (r = 0; r < rows; r++) {
		if (!isfinite(y[r]))
			return dml_error_fmt(DML_ERR_USAGE, "row %zu: the target is not a "
			    "finite number", r);
		for (j = 0; j < d; j++)
			if (!isfinite(x[r * d + j]))
				return dml_error_fmt(DML_ERR_USAGE, "row %zu, column %zu: "
				    "not a finite number", r, j);
	}
	for (done = 0; done < rows; done += m) {
		m = rows - done < ADD_CHUNK_ROWS ? rows - done : ADD_CHUNK_ROWS;
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint)d, (blasint)m,
		    1.0, x + done * d, (blasint)d, 1.0, s->xtx, (blasint)d);
	}
	mirror_upper(s->xtx, d);
	add_xt_v(s->xty, x, y, rows, d);
	for (r = 0; r < rows; r++)
		yty += y[r] * y[r];
	s->yty += yty;
	s->n += rows;
	if (!isfinite(s->yty))
		return dml_error_fmt(DML_ERR_USAGE, "the sum of squared targets overflows");
	for (j = 0; j < d; j++)
		if (!isfinite(s->xtx[j * d + j]) || !isfinite(s->xty[j]))
			return dml_error_fmt(DML_ERR_USAGE, "the sums of squares of column "
			    "%zu overflow", j);
	return NULL;
}

static const struct dml_error *
combine(struct dml_suffstats *dst, const struct dml_suffstats *src, double sign)
{
	size_t i, d = dst->d;

	if (d == 0 || src->d != d)
		return dml_error_fmt(DML_ERR_USAGE, "cannot combine statistics of %zu and "
		    "%zu columns", d, src->d);
	if (sign < 0 && src->n > dst->n)
		return dml_error_fmt(DML_ERR_USAGE, "cannot subtract statistics of %llu rows "
		    "from statistics of %llu rows", (unsigned long long)src->n,
		    (unsigned long long)dst->n);
	if (sign > 0 && src->n > UINT64_MAX - dst->n)
		return dml_error_fmt(DML_ERR_USAGE, "too many rows for the statistics");
	/* Elementwise over both triangles keeps the matrix exactly symmetric. */
	if (sign > 0) {
		for (i = 0; i < d * d; i++)
			dst->xtx[i] += src->xtx[i];
		for (i = 0; i < d; i++)
			dst->xty[i] += src->xty[i];
		dst->yty += src->yty;
		dst->n += src->n;
	} else {
		for (i = 0; i < d * d; i++)
			dst->xtx[i] -= src->xtx[i];
		for (i = 0; i < d; i++)
			dst->xty[i] -= src->xty[i];
		dst->yty -= src->yty;
		dst->n -= src->n;
	}
	return NULL;
}

const struct dml_error *
dml_suffstats_merge(struct dml_suffstats *dst, const struct dml_suffstats *src)
{
	return combine(dst, src, 1.0);
}

const struct dml_error *
dml_suffstats_subtract(struct dml_suffstats *dst, const struct dml_suffstats *src)
{
	return combine(dst, src, -1.0);
}

const struct dml_error *
dml_suffstats_validate(const struct dml_suffstats *s)
{
	size_t i, j, d = s->d;
	double a, bound;

	if (d == 0 || d > DML_LINALG_MAX_D || s->xtx == NULL || s->xty == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "statistics have no columns");
	if (!isfinite(s->yty) || s->yty < 0)
		return dml_error_fmt(DML_ERR_VERIFY, "the sum of squared targets is negative "
		    "or not finite");
	for (i = 0; i < d; i++) {
		if (!isfinite(s->xty[i]))
			return dml_error_fmt(DML_ERR_VERIFY, "X^T y[%zu] is not finite", i);
		a = s->xtx[i * d + i];
		if (!isfinite(a) || a < 0)
			return dml_error_fmt(DML_ERR_VERIFY, "X^T X[%zu][%zu] is negative or not "
			    "finite", i, i);
	}
	for (i = 0; i < d; i++)
		for (j = 0; j < d; j++) {
			a = s->xtx[i * d + j];
			if (!isfinite(a))
				return dml_error_fmt(DML_ERR_VERIFY, "X^T X[%zu][%zu] is not "
				    "finite", i, j);
			if (a != s->xtx[j * d + i])
				return dml_error_fmt(DML_ERR_VERIFY, "X^T X is not symmetric at "
				    "[%zu][%zu]", i, j);
			/* Cauchy-Schwarz, with room for rounding. */
			bound = sqrt(s->xtx[i * d + i]) * sqrt(s->xtx[j * d + j]);
			if (fabs(a) > bound * (1 + 1e-9) + DBL_MIN)
				return dml_error_fmt(DML_ERR_VERIFY, "X^T X[%zu][%zu] exceeds what "
				    "its diagonal allows", i, j);
		}
	return NULL;
}

const char *
dml_solve_method_name(enum dml_solve_method m)
{
	return m == DML_SOLVE_CHOLESKY ? "cholesky" : "eigen";
}

/* ------------------------------------------------------------------------
 * Double-double arithmetic for the RSS and iterative refinement (the error
 * terms are exact because -ffp-contract=off forbids fused multiply-adds) */

struct dd {
	double hi, lo;
};

static void
two_sum(double a, double b, double *s, double *e)
{
	double x = a + b, bb = x - a;

	*e = (a - (x - bb)) + (b - bb);
	*s = x;
}

/* Veltkamp splitting; exact for |a| < 2^995. */
static void
split(double a, double *h, double *l)
{
	double t = 134217729.0 * a;	/* 2^27 + 1 */

	*h = t - (t - a);
	*l = a - *h;
}

static void
two_prod(double a, double b, double *p, double *e)
{
	double ah, al, bh, bl;

	*p = a * b;
	split(a, &ah, &al);
	split(b, &bh, &bl);
	*e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}

static void
dd_add(struct dd *acc, double hi, double lo)
{
	double s, e, t;

	two_sum(acc->hi, hi, &s, &e);
	e += acc->lo + lo;
	t = s + e;
	acc->lo = e - (t - s);
	acc->hi = t;
}

/* ------------------------------------------------------------------------
 * The symmetric solver */

static double
dot(const double *a, const double *b, size_t n)
{
	double s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/*
 * The unscaled system (xtx + lambda P) x = xty, for iterative refinement:
 * its residual is computed in double-double from the statistics.
 */
struct refine {
	const double *xtx, *xty;
	double lambda;
	size_t intercept;
};

/* Below this rcond the Cholesky answer gets one step of refinement. */
#define REFINE_RCOND 1e-4

/*
 * One step of iterative refinement with an accurate residual: r = c - A x
 * in double-double, then x += A^-1 r through the Cholesky factor of the
 * scaled matrix (f, scaling s).  The computed x solves the system to about
 * rounding in place of cond * rounding: on Longley, 2.6e-9 rather than
 * 1e-7 (what remains is the rounding of X^T X itself).  r is d scratch.
 */
static void
refine_step(const struct refine *rf, const double *f, const double *s, size_t d, double *x,
    double *r)
{
	struct dd acc;
	double p, e;
	size_t i, j;

	for (i = 0; i < d; i++) {
		acc.hi = rf->xty[i];
		acc.lo = 0;
		for (j = 0; j < d; j++) {
			two_prod(rf->xtx[i * d + j], x[j], &p, &e);
			dd_add(&acc, -p, -e);
		}
		if (i != rf->intercept) {
			two_prod(rf->lambda, x[i], &p, &e);
			dd_add(&acc, -p, -e);
		}
		r[i] = (acc.hi + acc.lo) * s[i];
	}
	if (LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)d, 1, f, (lapack_int)d, r,
	    (lapack_int)d) != 0)
		return;
	for (i = 0; i < d; i++)
		x[i] += r[i] * s[i];
}

/*
 * Solve a x = c for symmetric positive semi-definite a (d x d, full, both
 * triangles).  a and c are overwritten; f is d * d scratch.  rf, if not
 * NULL, is the same system for refinement.  See the file comment and
 * dml_suffstats_solve's contract for the method.
 */
static const struct dml_error *
sym_solve(double *a, double *c, size_t d, double *x, double *f, const struct refine *rf,
    unsigned flags, struct dml_solve_info *info)
{
	const struct dml_error *err = NULL;
	double *s = NULL, *w, *work, *tau, anorm, colsum, rcond = 0, cutoff, t, pivot;
	lapack_int *iwork = NULL, n = (lapack_int)d, rc;
	size_t i, j, k, rank, nul;
	int zero_diag = 0, accept = 0, refine = 0;

	blas_setup();
	s = malloc(6 * d * sizeof(double));
	iwork = malloc(d * sizeof(lapack_int));
	if (s == NULL || iwork == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	w = s + d;
	work = w + d;	/* 3d, for dpocon */
	tau = work + 3 * d;

	for (i = 0; i < d; i++) {
		if (!isfinite(c[i])) {
			err = dml_error_fmt(DML_ERR_VERIFY, "right-hand side %zu is not finite", i);
			goto done;
		}
		for (j = 0; j < d; j++)
			if (!isfinite(a[i * d + j])) {
				err = dml_error_fmt(DML_ERR_VERIFY, "matrix entry [%zu][%zu] is not "
				    "finite", i, j);
				goto done;
			}
		if (a[i * d + i] < 0) {
			err = dml_error_fmt(DML_ERR_VERIFY, "diagonal entry %zu is negative", i);
			goto done;
		}
		if (a[i * d + i] > 0) {
			s[i] = 1 / sqrt(a[i * d + i]);
		} else {
			s[i] = 1;	/* an all-zero column: singular */
			zero_diag = 1;
		}
	}
	/* s[i] * s[j] is commutative, so the scaled matrix stays symmetric. */
	for (i = 0; i < d; i++) {
		for (j = 0; j < d; j++)
			a[i * d + j] *= s[i] * s[j];
		c[i] *= s[i];
	}

	if (!zero_diag) {
		memcpy(f, a, d * d * sizeof(double));
		memcpy(x, c, d * sizeof(double));
		/* The _work entry point: the values were checked above. */
		rc = LAPACKE_dposv_work(LAPACK_COL_MAJOR, 'U', n, 1, f, n, x, n);
		if (rc < 0) {
			err = dml_error_fmt(DML_ERR_INTERNAL, "dposv: argument %d is invalid",
			    (int)-rc);
			goto done;
		}
		if (rc == 0 && (flags & DML_SOLVE_NO_RCOND)) {
			/*
			 * Each squared pivot of the unit-diagonal matrix is at least
			 * its smallest eigenvalue, so a tiny one proves (but a large
			 * one does not rule out) near-singularity.
			 */
			rcond = NAN;
			pivot = 1;
			for (i = 0; i < d; i++)
				if (!(f[i * d + i] * f[i * d + i] >= pivot))
					pivot = f[i * d + i] * f[i * d + i];
			accept = pivot >= DML_SOLVE_RCOND_MIN;
			refine = pivot < REFINE_RCOND;
		} else if (rc == 0) {
			anorm = 0;
			for (j = 0; j < d; j++) {
				colsum = 0;
				for (i = 0; i < d; i++)
					colsum += fabs(a[i * d + j]);
				if (colsum > anorm)
					anorm = colsum;
			}
			rc = LAPACKE_dpocon_work(LAPACK_COL_MAJOR, 'U', n, f, n, anorm, &rcond,
			    work, iwork);
			if (rc != 0) {
				err = dml_error_fmt(DML_ERR_INTERNAL, "dpocon failed (%d)",
				    (int)rc);
				goto done;
			}
			accept = rcond >= DML_SOLVE_RCOND_MIN;
			refine = rcond < REFINE_RCOND;
		} else {
			rcond = (flags & DML_SOLVE_NO_RCOND) ? NAN : 0;
		}
		if (accept) {
			for (i = 0; i < d; i++)
				x[i] *= s[i];
			if (rf != NULL && refine)
				refine_step(rf, f, s, d, x, w);
			info->method = DML_SOLVE_CHOLESKY;
			info->rcond = rcond;
			info->rank = d;
			goto done;
		}
	} else {
		rcond = (flags & DML_SOLVE_NO_RCOND) ? NAN : 0;
	}

	/* Eigen path: f = V (column k = eigenvector k), w ascending. */
	memcpy(f, a, d * d * sizeof(double));
	rc = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, f, n, w);
	if (rc != 0) {
		err = dml_error_fmt(DML_ERR_INTERNAL, "dsyevd failed (%d)", (int)rc);
		goto done;
	}
	cutoff = DML_SOLVE_EIGEN_CUTOFF * w[d - 1];
	nul = 0;
	while (nul < d && !(w[nul] > cutoff && w[nul] > 0))
		nul++;
	rank = d - nul;
	/* The minimum-norm solution of the truncated scaled system... */
	memset(x, 0, d * sizeof(double));
	for (k = nul; k < d; k++) {
		t = dot(f + k * d, c, d) / w[k];
		for (i = 0; i < d; i++)
			x[i] += t * f[k * d + i];
	}
	/* ...in the caller's units... */
	for (i = 0; i < d; i++)
		x[i] *= s[i];
	/* ...minus its part in the null space, mapped back: columns D v_k. */
	if (nul > 0) {
		for (k = 0; k < nul; k++)
			for (i = 0; i < d; i++)
				a[k * d + i] = s[i] * f[k * d + i];
		rc = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, n, (lapack_int)nul, a, n, tau);
		if (rc == 0)
			rc = LAPACKE_dorgqr(LAPACK_COL_MAJOR, n, (lapack_int)nul, (lapack_int)nul,
			    a, n, tau);
		if (rc != 0) {
			err = dml_error_fmt(DML_ERR_INTERNAL, "QR of the null space failed (%d)",
			    (int)rc);
			goto done;
		}
		for (k = 0; k < nul; k++) {
			t = dot(a + k * d, x, d);
			for (i = 0; i < d; i++)
				x[i] -= t * a[k * d + i];
		}
	}
	info->method = DML_SOLVE_EIGEN;
	info->rcond = rcond;
	info->rank = rank;
done:
	free(s);
	free(iwork);
	return err;
}

const struct dml_error *
dml_suffstats_solve(const struct dml_suffstats *s, double lambda, size_t intercept,
    unsigned flags, double *beta, struct dml_solve_info *info)
{
	const struct dml_error *err = NULL;
	struct dml_solve_info dummy;
	struct refine rf;
	double *a = NULL;
	size_t d = s->d, j;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "statistics are not initialised");
	if (s->n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no rows to fit");
	if (!(lambda >= 0) || !isfinite(lambda))
		return dml_error_fmt(DML_ERR_USAGE, "the penalty must be a finite number >= 0, "
		    "not %g", lambda);
	if (intercept != DML_NO_INTERCEPT && intercept >= d)
		return dml_error_fmt(DML_ERR_USAGE, "intercept column %zu is out of range "
		    "(%zu columns)", intercept, d);
	a = malloc((2 * d * d + d) * sizeof(double));
	if (a == NULL)
		return dml_error_nomem();
	memcpy(a, s->xtx, d * d * sizeof(double));
	memcpy(a + 2 * d * d, s->xty, d * sizeof(double));
	for (j = 0; j < d; j++)
		if (j != intercept)
			a[j * d + j] += lambda;
	rf.xtx = s->xtx;
	rf.xty = s->xty;
	rf.lambda = lambda;
	rf.intercept = intercept;
	err = sym_solve(a, a + 2 * d * d, d, beta, a + d * d, &rf, flags, info);
	free(a);
	return err;
}

const struct dml_error *
dml_suffstats_rss(const struct dml_suffstats *s, const double *beta, double *rss)
{
	const double big = 0x1p480;	/* products of two stay below 2^995 */
	struct dd acc = { 0, 0 };
	size_t d = s->d, i, j;
	double p, e, q, f, a;

	*rss = 0;
	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "statistics are not initialised");
	for (i = 0; i < d; i++)
		if (!isfinite(beta[i]) || fabs(beta[i]) > big)
			return dml_error_fmt(DML_ERR_USAGE, "coefficient %zu is not a finite "
			    "number of sensible size", i);
	if (!isfinite(s->yty) || fabs(s->yty) > big)
		return dml_error_fmt(DML_ERR_VERIFY, "the sum of squared targets is out of range");
	dd_add(&acc, s->yty, 0);
	for (i = 0; i < d; i++) {
		if (!isfinite(s->xty[i]) || fabs(s->xty[i]) > big)
			return dml_error_fmt(DML_ERR_VERIFY, "X^T y[%zu] is out of range", i);
		two_prod(beta[i], s->xty[i], &p, &e);
		dd_add(&acc, -2 * p, -2 * e);
	}
	/* beta.xtx.beta over the upper triangle, off-diagonal terms doubled. */
	for (i = 0; i < d; i++)
		for (j = i; j < d; j++) {
			a = s->xtx[i * d + j];
			if (!isfinite(a) || fabs(a) > big)
				return dml_error_fmt(DML_ERR_VERIFY, "X^T X[%zu][%zu] is out of "
				    "range", i, j);
			two_prod(beta[i], beta[j], &p, &e);
			two_prod(p, a, &q, &f);
			f += e * a;
			if (j != i) {
				q *= 2;
				f *= 2;
			}
			dd_add(&acc, q, f);
		}
	p = acc.hi + acc.lo;
	*rss = p > 0 ? p : 0;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Row sources */

const struct dml_error *
dml_dense_rows_scan(void *sctx, dml_visit_fn *visit, void *vctx)
{
	const struct dml_dense_rows *dr = sctx;
	const struct dml_error *err;
	size_t done, m, block = dr->block ? dr->block : dr->rows;

	for (done = 0; done < dr->rows; done += m) {
		m = dr->rows - done < block ? dr->rows - done : block;
		if ((err = visit(vctx, dr->x + done * dr->d, dr->y + done, m)) != NULL)
			return err;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Logistic regression */

enum pass_mode {
	PASS_FULL,	/* loss, gradient, Hessian */
	PASS_LOSS,	/* loss only */
	PASS_DIR	/* the separation certificate along a direction */
};

struct pass {
	enum pass_mode mode;
	size_t d;
	const double *b;	/* coefficients, or the direction for PASS_DIR */
	double *g, *h;		/* PASS_FULL accumulators; h upper triangle */
	double loss, comp;	/* Neumaier sum */
	uint64_t n, n0, n1;	/* rows, labels exactly 0, exactly 1 */
	uint64_t misfit;	/* rows not strictly on their label's side */
	uint64_t against, along;	/* PASS_DIR: rows against / strictly along */
	double vscale;		/* PASS_DIR: max |v_j| */
	size_t chunk;		/* rows per BLAS call */
	double *z, *r, *xs;	/* scratch: chunk, chunk, chunk * d */
};

static void
neumaier(double *sum, double *comp, double v)
{
	double t = *sum + v;

	if (fabs(*sum) >= fabs(v))
		*comp += (*sum - t) + v;
	else
		*comp += (v - t) + *sum;
	*sum = t;
}

double
dml_logit_sigmoid(double z)
{
	double e = exp(-fabs(z));

	return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

static const struct dml_error *
visit_chunk(struct pass *ps, const double *x, const double *y, size_t m, uint64_t first)
{
	size_t d = ps->d, r, j;
	double yv, zv, e, inv, p, q, sw, l, mag;

	x_times(ps->z, x, ps->b, m, d);
	for (r = 0; r < m; r++) {
		yv = y[r];
		zv = ps->z[r];
		if (!(yv >= 0 && yv <= 1))
			return dml_error_fmt(DML_ERR_USAGE, "row %llu: label %g is not in [0, 1]",
			    (unsigned long long)(first + r), yv);
		if (!isfinite(zv))
			return dml_error_fmt(DML_ERR_USAGE, "row %llu: the linear predictor is "
			    "not finite (a NaN or infinite value, or overflow)",
			    (unsigned long long)(first + r));
		if (ps->mode == PASS_DIR) {
			/*
			 * Rows of a diverging fit lie strictly on their label's side
			 * of the hyperplane x . v = 0 or on it; "on it" means within
			 * 1e-6 of the largest |x . v| the row could have.
			 */
			mag = 0;
			for (j = 0; j < d; j++)
				mag += fabs(x[r * d + j]);
			mag *= 1e-6 * ps->vscale;
			if (yv == 1 ? zv < -mag : yv == 0 ? zv > mag : fabs(zv) > mag)
				ps->against++;
			else if ((yv == 1 && zv > mag) || (yv == 0 && zv < -mag))
				ps->along++;
			continue;
		}
		ps->n0 += yv == 0;
		ps->n1 += yv == 1;
		if ((yv == 1 && !(zv > 0)) || (yv == 0 && !(zv < 0)) || (yv > 0 && yv < 1))
			ps->misfit++;
		/* log(1 + exp(z)) - y z, without overflow or cancellation. */
		e = exp(-fabs(zv));
		l = (zv > 0 ? (1 - yv) * zv : -yv * zv) + log1p(e);
		neumaier(&ps->loss, &ps->comp, l);
		if (ps->mode != PASS_FULL)
			continue;
		inv = 1 / (1 + e);
		if (zv >= 0) {
			p = inv;
			q = e * inv;
		} else {
			p = e * inv;
			q = inv;
		}
		ps->r[r] = yv == 1 ? -q : p - yv;
		sw = sqrt(p * q);
		for (j = 0; j < d; j++)
			ps->xs[r * d + j] = sw * x[r * d + j];
	}
	if (ps->mode == PASS_FULL) {
		add_xt_v(ps->g, x, ps->r, m, d);
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (blasint)d, (blasint)m, 1.0,
		    ps->xs, (blasint)d, 1.0, ps->h, (blasint)d);
	}
	return NULL;
}

static const struct dml_error *
visit_rows(void *vctx, const double *x, const double *y, size_t rows)
{
	struct pass *ps = vctx;
	const struct dml_error *err;
	size_t done, m;

	for (done = 0; done < rows; done += m) {
		m = rows - done < ps->chunk ? rows - done : ps->chunk;
		err = visit_chunk(ps, x + done * ps->d, y + done, m, ps->n + done);
		if (err != NULL)
			return err;
	}
	ps->n += rows;
	return NULL;
}

/* One scan of the data in the given mode at b; adds the penalty terms. */
static const struct dml_error *
run_pass(struct pass *ps, enum pass_mode mode, const double *b, dml_scan_fn *scan,
    void *sctx, const struct dml_logit_opts *o, unsigned *passes)
{
	const struct dml_error *err;
	size_t d = ps->d, j;
	double pen = 0;

	ps->mode = mode;
	ps->b = b;
	ps->loss = ps->comp = 0;
	ps->n = ps->n0 = ps->n1 = ps->misfit = ps->against = ps->along = 0;
	if (mode == PASS_FULL) {
		memset(ps->g, 0, d * sizeof(double));
		memset(ps->h, 0, d * d * sizeof(double));
	}
	(*passes)++;
	if ((err = scan(sctx, visit_rows, ps)) != NULL)
		return err;
	if (mode == PASS_DIR)
		return NULL;
	ps->loss += ps->comp;
	if (mode == PASS_FULL)
		mirror_upper(ps->h, d);
	for (j = 0; j < d; j++) {
		if (j == o->intercept)
			continue;
		pen += b[j] * b[j];
		if (mode == PASS_FULL) {
			ps->g[j] += o->lambda * b[j];
			ps->h[j * d + j] += o->lambda;
		}
	}
	ps->loss += 0.5 * o->lambda * pen;
	if (!isfinite(ps->loss))
		return dml_error_fmt(DML_ERR_USAGE, "the loss is not finite");
	return NULL;
}

static double
maxabs(const double *v, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs(v[i]) > m)
			m = fabs(v[i]);
	return m;
}

static const struct dml_error *
separation_error(const char *what)
{
	return dml_error_fmt(DML_ERR_USAGE, "the classes are perfectly separable (%s): without "
	    "a penalty the coefficients diverge and no maximum-likelihood fit exists; "
	    "hint: use an L2 penalty (lambda > 0)", what);
}

void
dml_logit_opts_init(struct dml_logit_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lambda = 0;
	o->intercept = DML_NO_INTERCEPT;
	o->tol = 1e-10;
	o->max_iter = 100;
	o->fixed_iter = 0;
	o->init = NULL;
}

/* How many past iterates the separation certificate looks back over. */
#define HIST 4

const struct dml_error *
dml_logit_fit(size_t d, dml_scan_fn *scan, void *sctx, const struct dml_logit_opts *o,
    double *beta, struct dml_logit_info *info)
{
	const struct dml_error *err = NULL;
	struct dml_logit_info dummy;
	struct pass ps, trial;
	double *mem = NULL, *bt, *step, *a, *f, *c, *hist, *v, *tmp;
	double tol, gn, dec, L, t;
	unsigned it = 0, halvings;
	size_t j, back, chunk;
	int binary, accepted;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	memset(&ps, 0, sizeof(ps));
	memset(&trial, 0, sizeof(trial));
	if (d == 0 || d > DML_LINALG_MAX_D)
		return dml_error_fmt(DML_ERR_USAGE, "cannot fit %zu coefficients: the number "
		    "must be 1 to %d", d, DML_LINALG_MAX_D);
	if (!(o->lambda >= 0) || !isfinite(o->lambda))
		return dml_error_fmt(DML_ERR_USAGE, "the penalty must be a finite number >= 0, "
		    "not %g", o->lambda);
	if (o->intercept != DML_NO_INTERCEPT && o->intercept >= d)
		return dml_error_fmt(DML_ERR_USAGE, "intercept column %zu is out of range "
		    "(%zu columns)", o->intercept, d);
	if (!(o->tol >= 0) || !isfinite(o->tol))
		return dml_error_fmt(DML_ERR_USAGE, "the tolerance must be a finite number >= 0");
	blas_setup();

	/*
	 * Memory: two Hessians (current, trial), the solver's matrix and
	 * scratch, gradients, vectors, iterate history, and per-chunk scratch
	 * of at most CHUNK_ROWS * 256 doubles.
	 */
	chunk = d <= 256 ? CHUNK_ROWS : CHUNK_ROWS * 256 / d;
	if (chunk < 16)
		chunk = 16;
	mem = malloc((4 * d * d + (6 + HIST) * d + (2 + d) * chunk) * sizeof(double));
	if (mem == NULL)
		return dml_error_nomem();
	ps.d = trial.d = d;
	ps.chunk = trial.chunk = chunk;
	ps.h = mem;
	trial.h = ps.h + d * d;
	a = trial.h + d * d;
	f = a + d * d;
	ps.g = f + d * d;
	trial.g = ps.g + d;
	bt = trial.g + d;
	step = bt + d;
	c = step + d;
	v = c + d;
	hist = v + d;
	ps.z = trial.z = hist + HIST * d;
	ps.r = trial.r = ps.z + chunk;
	ps.xs = trial.xs = ps.r + chunk;

	if (o->init != NULL)
		memcpy(beta, o->init, d * sizeof(double));
	else
		memset(beta, 0, d * sizeof(double));
	for (j = 0; j < d; j++)
		if (!isfinite(beta[j])) {
			err = dml_error_fmt(DML_ERR_USAGE, "starting coefficient %zu is not finite",
			    j);
			goto done;
		}
	memcpy(hist, beta, d * sizeof(double));

	if ((err = run_pass(&ps, PASS_FULL, beta, scan, sctx, o, &info->passes)) != NULL)
		goto done;
	info->n = ps.n;
	if (ps.n == 0) {
		err = dml_error_fmt(DML_ERR_USAGE, "no rows to fit");
		goto done;
	}
	binary = ps.n0 + ps.n1 == ps.n;
	if (o->intercept != DML_NO_INTERCEPT && (ps.n0 == ps.n || ps.n1 == ps.n)) {
		err = dml_error_fmt(DML_ERR_USAGE, "every label is %d: the intercept diverges "
		    "and no fit exists; logistic regression needs both classes",
		    ps.n1 == ps.n);
		goto done;
	}
	tol = o->tol * (double)ps.n;
	L = ps.loss;

	for (;;) {
		if (o->lambda == 0 && binary && ps.misfit == 0) {
			err = separation_error("complete separation: some coefficients classify "
			    "every row correctly");
			goto done;
		}
		gn = maxabs(ps.g, d);
		if (gn <= tol) {
			info->converged = 1;
			break;
		}
		if (it >= o->max_iter)
			break;
		memcpy(a, ps.h, d * d * sizeof(double));
		for (j = 0; j < d; j++)
			c[j] = -ps.g[j];
		if ((err = sym_solve(a, c, d, step, f, NULL, 0, &info->last_solve)) != NULL)
			goto done;
		dec = -dot(ps.g, step, d);
		if (!isfinite(dec)) {
			err = dml_error_fmt(DML_ERR_INTERNAL, "the Newton step is not finite");
			goto done;
		}
		/*
		 * The quadratic model predicts a decrease of dec / 2.  When that
		 * is below the resolution of L, the loss cannot judge the step,
		 * but Newton's method is deep in its quadratic phase: take the
		 * full step if it shrinks the gradient, else rounding has won.
		 */
		if (dec <= 4 * DBL_EPSILON * fabs(L)) {
			for (j = 0; j < d; j++)
				bt[j] = beta[j] + step[j];
			err = run_pass(&trial, PASS_FULL, bt, scan, sctx, o, &info->passes);
			if (err != NULL)
				goto done;
			if (!(maxabs(trial.g, d) < gn)) {
				info->converged = 1;
				info->rounding_limited = 1;
				break;
			}
			t = 1;
			accepted = 1;
		} else {
			t = 1;
			accepted = 0;
		}
		for (halvings = 0; !accepted && halvings < 60; halvings++) {
			for (j = 0; j < d; j++)
				bt[j] = beta[j] + t * step[j];
			err = run_pass(&trial, t == 1 ? PASS_FULL : PASS_LOSS, bt, scan, sctx, o,
			    &info->passes);
			if (err != NULL)
				goto done;
			/* Armijo, with room for the rounding of L itself. */
			if (trial.loss <= L - 1e-4 * t * dec + 16 * DBL_EPSILON * fabs(L)) {
				accepted = 1;
				break;
			}
			t *= 0.5;
		}
		if (!accepted) {
			err = dml_error_fmt(DML_ERR_INTERNAL, "the line search found no decrease "
			    "of the loss (iteration %u, gradient %g)", it + 1, gn);
			goto done;
		}
		memcpy(beta, bt, d * sizeof(double));
		if (t == 1) {
			tmp = ps.h;
			ps.h = trial.h;
			trial.h = tmp;
			tmp = ps.g;
			ps.g = trial.g;
			trial.g = tmp;
			ps.loss = trial.loss;
			ps.misfit = trial.misfit;
		} else if ((err = run_pass(&ps, PASS_FULL, beta, scan, sctx, o,
		    &info->passes)) != NULL) {
			goto done;
		}
		L = ps.loss;
		it++;
		memcpy(hist + (it % HIST) * d, beta, d * sizeof(double));
	}
	info->loss = L;
	info->grad_norm = maxabs(ps.g, d);

	/*
	 * Quasi-complete separation: the coefficients move off to infinity
	 * along a direction v that puts every row on its label's side or on
	 * the hyperplane x . v = 0, while the gradient still shrinks.  Take v
	 * as the movement over the last few steps and check that certificate.
	 */
	if (o->lambda == 0 && it > 0) {
		back = it < HIST - 1 ? it : HIST - 1;
		for (j = 0; j < d; j++)
			v[j] = beta[j] - hist[((it - back) % HIST) * d + j];
		trial.vscale = maxabs(v, d);
		if ((err = run_pass(&trial, PASS_DIR, v, scan, sctx, o, &info->passes)) != NULL)
			goto done;
		if (trial.against == 0 && trial.along > 0) {
			err = separation_error("quasi-complete separation: the coefficients "
			    "diverge along a direction that separates the classes");
			goto done;
		}
	}
	if (!info->converged && !o->fixed_iter) {
		err = dml_error_fmt(DML_ERR_USAGE, "logistic regression did not converge in %u "
		    "iterations (gradient %g, tolerance %g)", it, info->grad_norm, tol);
		goto done;
	}
done:
	info->iterations = it;
	free(mem);
	return err;
}

/* ------------------------------------------------------------------------
 * Prediction */

void
dml_linear_predict(const double *x, size_t rows, size_t d, const double *beta, double *out)
{
	x_times(out, x, beta, rows, d);
}

void
dml_logit_predict(const double *x, size_t rows, size_t d, const double *beta, double *out)
{
	size_t r;

	dml_linear_predict(x, rows, d, beta, out);
	for (r = 0; r < rows; r++)
		out[r] = dml_logit_sigmoid(out[r]);
}
