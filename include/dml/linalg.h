/*
 * dml/linalg.h - the numerical core of model training: sufficient statistics
 * for linear models, the ridge/OLS solver, and L2-penalised logistic
 * regression by Newton's method.  lib/linalg.c implements all of it and is
 * the only file that talks to LAPACKE and CBLAS.
 *
 * Conventions used throughout:
 *   - A design matrix block is row-major: x[r * d + j] is feature j of row
 *     r, with y[r] its target.  An intercept is an ordinary column of ones
 *     that the caller puts in X; functions that treat it specially (it is
 *     never penalised) take its index, or DML_NO_INTERCEPT.
 *   - Results are deterministic: the same inputs, blocked the same way, on
 *     the same BLAS/LAPACK build give the same bits whatever the number of
 *     cores.  For that, the first call puts OpenBLAS in single-threaded
 *     mode for the whole process (its threaded routines round differently
 *     with different thread counts); run separate problems on separate
 *     threads instead.  Different BLAS builds (or different block
 *     boundaries) sum in different orders, so results agree only to
 *     rounding; compare coefficients with a relative tolerance (see
 *     "Accuracy" below).
 *   - Functions never print, never exit, and keep no global state beyond
 *     that BLAS setting: they are safe to call from several threads on
 *     different objects.
 *
 * Accuracy.  The linear solver works on the normal equations, so the
 * relative error of the coefficients is up to about cond(X)^2 * 1e-16,
 * where cond(X) is the condition number of the design after scaling each
 * column to unit norm (X^T X is rounded as it is accumulated, and no solver
 * can recover what that rounding lost).  Well-conditioned problems get
 * 1e-12 or better; the NIST Longley problem (scaled cond(X) about 4e4)
 * gets 3e-9 thanks to iterative refinement (t/unit/test_linalg.c pins
 * both).
 */
#ifndef DML_LINALG_H
#define DML_LINALG_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

/* "There is no intercept column", for every `intercept` argument. */
#define DML_NO_INTERCEPT ((size_t)-1)

/* The largest number of features (columns) the solvers accept. */
#define DML_LINALG_MAX_D 16384

/*
 * The Cholesky path is used only when LAPACK's estimate of the reciprocal
 * 1-norm condition number of the (scaled) system matrix is at least this;
 * below it the eigen path takes over.
 */
#define DML_SOLVE_RCOND_MIN 1e-12

/*
 * The eigen path treats an eigenvalue of the scaled system matrix as zero
 * when it is at most DML_SOLVE_EIGEN_CUTOFF times the largest eigenvalue.
 * Eigenvalues of a normal matrix formed in double precision carry absolute
 * errors of about d * 1e-16 times the largest, so this keeps every direction
 * the data determine to a few digits and drops the ones that are noise.
 */
#define DML_SOLVE_EIGEN_CUTOFF 1e-12

/* ------------------------------------------------------------------------
 * Sufficient statistics
 *
 * For rows (x_r, y_r): xtx = sum x_r x_r^T (d x d, row-major, always fully
 * symmetric: both triangles are stored and equal), xty = sum y_r x_r,
 * yty = sum y_r^2, n = number of rows.  They determine every least-squares
 * and ridge fit, and the residual sum of squares of any coefficient vector,
 * so summing the statistics of disjoint row sets (dml_suffstats_merge)
 * gives exactly what one pass over the union would: that is federated
 * training and per-coalition re-solving for Shapley values.
 */
struct dml_suffstats {
	size_t d;	/* number of columns, fixed at init */
	uint64_t n;	/* number of rows added (minus rows subtracted) */
	double *xtx;	/* d * d, row-major, symmetric */
	double *xty;	/* d */
	double yty;
};

/*
 * Make s empty statistics for d columns (1 <= d <= DML_LINALG_MAX_D).  On
 * error s is left released (safe to release again).
 */
const struct dml_error *dml_suffstats_init(struct dml_suffstats *s, size_t d);

/* Free s's arrays; s may be zeroed memory or already released. */
void dml_suffstats_release(struct dml_suffstats *s);

/* Reset s to no rows, keeping d and its arrays. */
void dml_suffstats_zero(struct dml_suffstats *s);

/* Copy src into dst, which is initialised with the same d. */
const struct dml_error *dml_suffstats_copy(struct dml_suffstats *dst,
    const struct dml_suffstats *src);

/*
 * Add `rows` rows: x is rows * d row-major, y has rows entries (rows may be
 * 0).  X^T X is accumulated with dsyrk (upper triangle, then mirrored) and
 * X^T y row by row in plain C (OpenBLAS's dgemv depends on the thread
 * count).  Every value
 * must be finite: a NaN or infinity is an error naming the row (counted
 * from 0 within this block) and column, and then s is unchanged.  An
 * overflow to infinity while accumulating is an error too, and then s is
 * unusable until dml_suffstats_zero.
 */
const struct dml_error *dml_suffstats_add_rows(struct dml_suffstats *s, const double *x,
    const double *y, size_t rows);

/*
 * dst += src (federated aggregation).  The dimensions must match.  The sum
 * is elementwise, so merging is exact up to the rounding of one addition per
 * entry: merging statistics of parts equals one pass over all rows to about
 * 1e-15 relative per entry, and merging is commutative bit for bit.
 */
const struct dml_error *dml_suffstats_merge(struct dml_suffstats *dst,
    const struct dml_suffstats *src);

/*
 * dst -= src, for leave-one-out and Gray-code coalition updates; src's rows
 * must have been merged into dst.  Refuses (and leaves dst unchanged) when
 * src->n > dst->n.  Subtraction undoes a merge only up to rounding: after
 * many add/subtract steps, errors of about (steps)^(1/2) * 1e-16 times the
 * largest statistics accumulate, so callers that walk millions of steps
 * should re-derive the running sum from scratch now and then.
 */
const struct dml_error *dml_suffstats_subtract(struct dml_suffstats *dst,
    const struct dml_suffstats *src);

/*
 * Check statistics that came from outside (a decoded update): every value
 * finite, xtx exactly symmetric with a non-negative diagonal, yty >= 0, and
 * each |xtx[i][j]| <= sqrt(xtx[i][i] * xtx[j][j]) (within rounding), as
 * holds for any real data.  NULL if plausible, else a DML_ERR_VERIFY error
 * naming the first problem.
 */
const struct dml_error *dml_suffstats_validate(const struct dml_suffstats *s);

/* How dml_suffstats_solve solved the system. */
enum dml_solve_method {
	DML_SOLVE_CHOLESKY,	/* scaled Cholesky (dposv); full rank */
	DML_SOLVE_EIGEN		/* eigendecomposition (dsyevd); minimum norm */
};

/* "cholesky" or "eigen". */
const char *dml_solve_method_name(enum dml_solve_method m);

struct dml_solve_info {
	enum dml_solve_method method;
	/*
	 * LAPACK's (dpocon) estimate of the reciprocal 1-norm condition number
	 * of the scaled system matrix; 0 when the Cholesky factorisation failed
	 * (the matrix is not numerically positive definite) or a column is all
	 * zeros; NaN when not estimated (DML_SOLVE_NO_RCOND).  An estimate,
	 * reproducible to a few digits (its last bits can vary with OpenBLAS's
	 * start-up configuration even where the coefficients do not).
	 */
	double rcond;
	/* The numerical rank: d on the Cholesky path. */
	size_t rank;
};

/* Flags for dml_suffstats_solve. */
#define DML_SOLVE_DEFAULT 0u
/*
 * Skip the condition estimate (dpocon costs twice the Cholesky solve for
 * d = 20) for hot loops such as exact Shapley values over many coalitions.
 * The Cholesky answer is then refused (eigen path) only when the
 * factorisation fails or a squared pivot of the scaled matrix is below
 * DML_SOLVE_RCOND_MIN: that proves near-singularity, but a system can be
 * badly conditioned without a small pivot, so use this only where the
 * systems are known to be reasonable (ridge with lambda > 0 on columns of
 * similar scale), and call without it to check a final answer.
 */
#define DML_SOLVE_NO_RCOND 1u

/*
 * Solve min_b ||y - X b||^2 + lambda * sum_{j != intercept} b_j^2 from the
 * statistics: (X^T X + lambda P) b = X^T y, with P the identity except a 0
 * for the intercept column.  lambda >= 0 (0 is ordinary least squares);
 * `intercept` is a column index or DML_NO_INTERCEPT; flags is
 * DML_SOLVE_DEFAULT or DML_SOLVE_NO_RCOND.  (This is scikit-learn's Ridge
 * with alpha = lambda; its intercept handling by centring gives the same
 * coefficients.)  beta receives d coefficients.
 *
 * Method.  The system A b = c is first scaled symmetrically to unit
 * diagonal (A_s = D A D, D = diag(A)^(-1/2)), which makes the answer and
 * the condition estimate independent of the units of the columns.  Then:
 *   1. Cholesky: dposv on a copy of A_s; the reciprocal condition number is
 *      estimated with dpocon (1-norm).  If the factorisation succeeds and
 *      rcond >= DML_SOLVE_RCOND_MIN, that is the answer, improved when
 *      rcond < 1e-4 by one step of iterative refinement whose residual
 *      c - A b is computed in double-double from the statistics (on
 *      Longley this takes the error from 1e-7 to 3e-9).
 *   2. Otherwise (or when a column is all zeros): the eigendecomposition of
 *      A_s (dsyevd), eigenvalues at most DML_SOLVE_EIGEN_CUTOFF times the
 *      largest treated as zero, rank = the number kept.  Of all solutions of
 *      the truncated system, beta is the one of minimum Euclidean norm in
 *      the caller's own units (the null space is mapped back through D and
 *      projected out), i.e. the pseudo-inverse solution for an exactly
 *      rank-deficient design, as numpy's lstsq gives.
 * Returns a DML_ERR_USAGE error when s->n == 0 (no rows), lambda is
 * negative or not finite, or the intercept index is out of range; a
 * DML_ERR_VERIFY error when the statistics contain non-finite values or a
 * negative diagonal.  info may be NULL.  Allocates O(d^2) per call.
 */
const struct dml_error *dml_suffstats_solve(const struct dml_suffstats *s, double lambda,
    size_t intercept, unsigned flags, double *beta, struct dml_solve_info *info);

/*
 * The residual sum of squares sum_r (y_r - x_r . beta)^2 of the rows behind
 * s, computed from the statistics alone as yty - 2 beta.xty + beta.xtx.beta
 * (for example: validation error of a coalition's model from the validation
 * set's own statistics).
 *
 * Cancellation: for a good fit the three terms are large and nearly cancel.
 * The expression is evaluated in double-double arithmetic (error-free
 * products and sums), so the evaluation itself adds no more than about
 * 1e-16 relative to the result; what remains is the rounding already in the
 * statistics, about n * 1e-16 * (yty + |beta.xty|) absolute in the worst
 * case (typically sqrt(n) times less).  So an RSS much below 1e-12 * yty has
 * few correct digits.  A slightly negative result is clamped to 0.  beta
 * must be finite; *rss receives the value.
 */
const struct dml_error *dml_suffstats_rss(const struct dml_suffstats *s, const double *beta,
    double *rss);

/* ------------------------------------------------------------------------
 * Row sources: data that need not be in memory at once
 */

/*
 * Called once per block of rows: x is rows * d row-major, y has rows
 * entries.  The pointers are valid only during the call.  A non-NULL return
 * must stop the scan, and the scan returns it.
 */
typedef const struct dml_error *dml_visit_fn(void *vctx, const double *x, const double *y,
    size_t rows);

/*
 * A source of rows: call visit(vctx, ...) for each block of rows in order,
 * returning the first error.  Every scan must present the same rows in the
 * same order (block boundaries may differ, at the cost of bit-exactness).
 */
typedef const struct dml_error *dml_scan_fn(void *sctx, dml_visit_fn *visit, void *vctx);

/* A row source over arrays in memory: pass a struct dml_dense_rows as sctx. */
struct dml_dense_rows {
	const double *x;	/* rows * d, row-major */
	const double *y;	/* rows */
	size_t rows, d;
	size_t block;		/* rows per visit; 0 means all at once */
};
const struct dml_error *dml_dense_rows_scan(void *sctx, dml_visit_fn *visit, void *vctx);

/* ------------------------------------------------------------------------
 * Logistic regression
 *
 * Minimises the penalised negative log-likelihood
 *   L(b) = sum_r [ log(1 + exp(z_r)) - y_r z_r ] + (lambda / 2) sum_{j != intercept} b_j^2,
 * z_r = x_r . b, by Newton's method (IRLS): each iteration makes one pass
 * over the rows to accumulate L, the gradient g = X^T (p - y) + lambda P b
 * and the Hessian X^T W X + lambda P (W = diag(p (1 - p)), accumulated
 * with dsyrk on sqrt(w)-scaled rows), solves H s = -g with the solver of
 * dml_suffstats_solve (so a singular Hessian gives a minimum-norm step), and
 * takes the step with a backtracking (Armijo) line search on L.  A full step
 * that is accepted costs one pass, which also yields the next iteration's
 * gradient and Hessian; each halving costs one loss-only pass.
 *
 * (lambda / 2) matches scikit-learn's LogisticRegression with C = 1 /
 * lambda.  Labels must lie in [0, 1] (normally exactly 0 or 1).
 * log(1 + exp(z)) and the probabilities are evaluated without overflow or
 * cancellation for every z.
 */
struct dml_logit_opts {
	double lambda;		/* >= 0 */
	size_t intercept;	/* unpenalised column, or DML_NO_INTERCEPT */
	/*
	 * Converged when max_j |g_j| <= tol * n, i.e. the gradient of the mean
	 * loss is at most tol; default 1e-10.  Once the decrease a Newton step
	 * predicts is below the resolution of L, the line search cannot judge
	 * steps any more: full steps are taken while they shrink the gradient,
	 * and when one does not, rounding has won and the fit counts as
	 * converged with info->rounding_limited set.
	 */
	double tol;
	unsigned max_iter;	/* default 100 */
	/*
	 * Nonzero: stop after max_iter iterations without error, converged or
	 * not (local steps in federated training).  Separation checks still
	 * apply.
	 */
	int fixed_iter;
	const double *init;	/* starting coefficients (d), or NULL for zeros */
};

/* Defaults: lambda 0, no intercept, tol 1e-10, max_iter 100, start at 0. */
void dml_logit_opts_init(struct dml_logit_opts *o);

struct dml_logit_info {
	unsigned iterations;	/* Newton steps taken */
	unsigned passes;	/* scans of the data, line search included */
	int converged;
	int rounding_limited;	/* stopped because no further decrease is measurable */
	uint64_t n;		/* rows seen per pass */
	double loss;		/* L(beta) */
	double grad_norm;	/* max_j |g_j| at beta */
	struct dml_solve_info last_solve;	/* the last Newton system */
};

/*
 * Fit d coefficients over the rows that scan(sctx, ...) presents; beta
 * receives them.  Errors (DML_ERR_USAGE unless noted), beta then undefined:
 *   - no rows; a label outside [0, 1]; a non-finite x . beta (NaN or infinite
 *     data, or overflow);
 *   - all labels equal while the intercept is unpenalised, or (lambda = 0)
 *     perfect separation: complete separation is detected exactly (some
 *     iterate classifies every row correctly, so the likelihood tends to 1
 *     and no maximum exists); quasi-complete separation by a certificate
 *     checked after the iterations: along v, the direction the coefficients
 *     moved in over the last three steps, no row is on the wrong side of
 *     x . v = 0 by more than 1e-6 * |x|_1 * |v|_inf and some row is strictly
 *     on its side, so the loss keeps falling along v forever.  The message
 *     says so and suggests a positive lambda;
 *   - no convergence within max_iter (unless fixed_iter), or a line search
 *     that finds no decrease (DML_ERR_INTERNAL);
 *   - any error the scan returns, unchanged.
 * info may be NULL.
 */
const struct dml_error *dml_logit_fit(size_t d, dml_scan_fn *scan, void *sctx,
    const struct dml_logit_opts *o, double *beta, struct dml_logit_info *info);

/* ------------------------------------------------------------------------
 * Prediction
 */

/* out[r] = x_r . beta for `rows` row-major rows of x, summed left to right. */
void dml_linear_predict(const double *x, size_t rows, size_t d, const double *beta,
    double *out);

/* 1 / (1 + exp(-z)), without overflow for any z. */
double dml_logit_sigmoid(double z);

/* out[r] = sigmoid(x_r . beta): the probability that y_r = 1. */
void dml_logit_predict(const double *x, size_t rows, size_t d, const double *beta,
    double *out);

#endif
