/*
 * dml/train.h - training linear models from published datasets, and using
 * them on new data.
 *
 * Training reads the stored chunks of each dataset through the CSV parser
 * and never writes a copy: every pass streams the verified bytes again, so
 * memory is O(d^2) plus the chunk buffers whatever the number of rows (the
 * one exception is ROC AUC, which sorts every evaluated row's probability:
 * 16 bytes a row for logistic metrics).
 *
 * Passes over the training data:
 *   1. discovery, only when needed: the categories of string feature
 *      columns, the two labels of a string target, and (--standardize) the
 *      mean and standard deviation of every encoded feature;
 *   2. the fit: ols and ridge accumulate X^T X and X^T y in blocks and solve
 *      once (dml/linalg.h); logistic makes one pass per Newton step and line
 *      search trial;
 *   3. the metrics, on the training rows and on the held-out rows, then a
 *      pass over the validation dataset if there is one.
 *
 * Encoding.  A numeric feature column (integer, float or boolean in every
 * training dataset's schema) is one feature; a string column is one-hot
 * encoded over the categories seen in the training rows, sorted byte for
 * byte, and when the model has an intercept the first category is left out
 * (it is the reference level; keeping it would make the design singular).
 * A value of a category the model has not seen encodes as all zeros.
 *
 * Centring and scaling are internal: with an intercept each numeric feature
 * is centred on its schema mean before it is accumulated (so the normal
 * equations are well conditioned whatever the offset of the data), and with
 * --standardize centred on its training mean and divided by its training
 * standard deviation (population; 1 when it is 0) so that the ridge or
 * logistic penalty treats all features alike.  Either way the coefficients
 * are mapped back to the units of the data before they are stored.
 *
 * Rows.  A row with a missing value (empty or NA) in the target or a feature
 * column is an error naming the dataset, line and column, unless
 * drop_missing is set, when it is skipped and counted.  With a holdout
 * fraction h, data row number i (counting from 0 over all training datasets
 * in order, dropped rows included) is held out when
 * splitmix64(seed + splitmix64(i)) / 2^64 < h, which is reproducible
 * anywhere.
 */
#ifndef DML_TRAIN_H
#define DML_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dml/csv.h"
#include "dml/dataset.h"
#include "dml/error.h"
#include "dml/linalg.h"
#include "dml/metrics.h"
#include "dml/model.h"

/*
 * Verification recomputes a model and accepts coefficients and metrics that
 * differ by at most DML_TRAIN_RTOL relative (to the larger magnitude of the
 * value and DML_TRAIN_ATOL times the largest coefficient): different BLAS
 * builds sum in different orders.
 */
#define DML_TRAIN_RTOL 1e-6
#define DML_TRAIN_ATOL 1e-9

/*
 * Where rows come from: a published dataset (verified as it streams) or a
 * local file (read again for every pass, so it must be a regular file).
 */
struct dml_source {
	char what[DML_TOKEN_MAX + 64];	/* its name in messages */
	char path[4096];		/* local files */
	char sep;
	uint64_t size;			/* bytes, for progress */
	const struct dml_error *(*stream)(void *arg, dml_bytes_fn fn, void *fnarg);
	void *arg;
};
void dml_source_dataset(struct dml_source *src, struct dml_dataset_in *in);
const struct dml_error *dml_source_file(struct dml_source *src, const char *path, char sep);

struct dml_train_spec {
	enum dml_model_kind kind;
	const char *target;
	/* Feature columns; NULL: every column but the target and `exclude`. */
	const char *const *columns;
	size_t ncolumns;
	const char *const *exclude;
	size_t nexclude;
	double lambda;		/* >= 0; 0 for ols */
	int intercept;
	int standardize;
	int drop_missing;
	double holdout;		/* fraction in [0, 1); 0 for none */
	uint64_t seed;
	/* Progress of each pass: bytes streamed of the pass's total; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

/* Metrics of a model on one set of rows. */
struct dml_eval {
	int classification;
	uint64_t n;
	struct dml_regression_metrics reg;		/* !classification */
	struct dml_classification_metrics cls;		/* classification */
};

struct dml_train_out {
	struct dml_model model;
	uint64_t rows;		/* rows fitted */
	uint64_t dropped;	/* rows skipped for missing values */
	uint64_t held;		/* rows held out */
	const char *method;	/* "cholesky", "eigen" or "newton" */
	size_t rank;		/* numerical rank of the last linear system */
	unsigned iterations;	/* Newton steps (logistic) */
	struct dml_eval train;
	struct dml_eval valid;	/* held-out rows or the validation dataset */
	int have_valid;
};

/*
 * Fit a model on the training datasets, in the order given (callers order
 * them canonically), and measure it on the held-out rows or on `valid` (NULL
 * for none).  out->model is initialised here; release it with
 * dml_train_out_release even on error.  Errors: DML_ERR_USAGE for what the
 * caller asked that the data cannot give (an unknown column, a non-numeric
 * target, more than two classes, no rows left, separable data without a
 * penalty), DML_ERR_PARSE for data that do not fit (a missing value, a
 * number that is not finite), and whatever reading a dataset gives.
 */
const struct dml_error *dml_train(struct dml_dataset_in *const *train, size_t ntrain,
    struct dml_dataset_in *valid, const struct dml_train_spec *spec, struct dml_train_out *out);
void dml_train_out_release(struct dml_train_out *out);

/*
 * Using a model on new rows.  A scorer is fed CSV or TSV bytes whose header
 * holds every feature column the model uses (and the target, for
 * evaluation); each data row is scored.  Feed with dml_scorer_feed and end
 * with dml_scorer_finish.
 *
 * For prediction, `row` (if not NULL) is called for each record, the header
 * included (line 1, pred NULL), with the record's fields and the model's
 * output: the value for regression; the probability of labels[1] and the
 * predicted label for logistic.
 */
typedef const struct dml_error *(*dml_score_fn)(void *arg, uint64_t line,
    const struct dml_csv_field *fields, size_t nfields, const double *pred, const char *label);

struct dml_scorer;
/* with_target: the target column must be present and every row scored against it. */
const struct dml_error *dml_scorer_new(struct dml_scorer **out, const struct dml_model *m,
    char sep, const char *what, int with_target, int drop_missing, dml_score_fn row, void *arg);
const struct dml_error *dml_scorer_feed(struct dml_scorer *s, const void *p, size_t n);
/* End of input; with_target: the metrics (ev may be NULL otherwise). */
const struct dml_error *dml_scorer_finish(struct dml_scorer *s, struct dml_eval *ev);
/* Rows skipped for missing values (drop_missing). */
uint64_t dml_scorer_dropped(const struct dml_scorer *s);
void dml_scorer_free(struct dml_scorer *s);

/*
 * Federated local work on a fixed layout.  The model `layout` gives the
 * columns (its features), the target, the intercept and the kind, and its
 * coefficients are the starting point.  Row vectors are [1 (intercept),
 * features in the model's order]; dml_model_dim() is their length.
 */
size_t dml_model_dim(const struct dml_model *m);
/* The sufficient statistics of src's rows (stats mode); ss is initialised here. */
const struct dml_error *dml_local_stats(const struct dml_model *layout,
    const struct dml_source *src, int drop_missing, struct dml_suffstats *ss);
/*
 * Weights mode: ols and ridge solve the local problem exactly (one Newton
 * step from anywhere); logistic takes `steps` Newton steps from the
 * layout's coefficients.  beta receives dml_model_dim() values, *n the rows.
 */
const struct dml_error *dml_local_fit(const struct dml_model *layout,
    const struct dml_source *src, double lambda, unsigned steps, int drop_missing,
    double *beta, uint64_t *n);
/*
 * Every row of src encoded for the layout, in memory: x is rows *
 * dml_model_dim() row-major, y the targets (0/1 for logistic).  For
 * validation sets that many models are measured on; refused beyond
 * DML_SOURCE_ROWS_MAX values.  The caller frees *x and *y.
 */
#define DML_SOURCE_ROWS_MAX ((size_t)1 << 28)
const struct dml_error *dml_source_rows(const struct dml_model *layout,
    const struct dml_source *src, int drop_missing, double **x, double **y, size_t *rows);
/* The metrics of a model on src. */
const struct dml_error *dml_model_evaluate(const struct dml_model *m,
    const struct dml_source *src, int drop_missing, struct dml_eval *ev);

#endif
