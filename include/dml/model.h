/*
 * dml/model.h - trained linear models: the model file, and training from
 * published datasets.
 *
 * A model is a target column, a list of features and one coefficient per
 * feature, plus an intercept.  A feature is either a numeric column (integer,
 * float or boolean, booleans as 0 and 1) or one category of a string column
 * (one-hot: 1 when the column holds exactly that value, else 0).
 * Coefficients are in the units of the data, whatever scaling training used,
 * so a prediction is always
 *
 *	z = intercept + sum_j coef[j] * x_j
 *
 * and, for logistic models, the probability of labels[1] is 1 / (1 + e^-z).
 *
 * The model file (dmlctl-model(5)) is a small little-endian binary file; its
 * SHA-256 is the model ID that the model.train entry signs.
 */
#ifndef DML_MODEL_H
#define DML_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"

#define DML_MODEL_MAGIC "DMLMODEL"	/* 8 bytes, no NUL */
#define DML_MODEL_VERSION 1u
#define DML_MODEL_FEATURES_MAX 16384u	/* features in one model */
#define DML_MODEL_NAME_MAX 4096u	/* bytes in a column name, category or label */

enum dml_model_kind { DML_MODEL_OLS = 0, DML_MODEL_RIDGE = 1, DML_MODEL_LOGISTIC = 2 };

/*
 * "ols", "ridge", "logistic" ("unknown" for any other value); parse returns
 * -1 on an unknown name.
 */
const char *dml_model_kind_name(enum dml_model_kind k);
int dml_model_kind_parse(const char *name);

struct dml_model_feature {
	char *column;		/* the data column */
	char *category;		/* NULL: numeric; else the one-hot category */
	double coef;
};

struct dml_model {
	enum dml_model_kind kind;
	char *target;		/* the target column */
	/*
	 * Logistic models: the target value of class 0 and of class 1, as text
	 * ("0"/"1", "false"/"true", or two strings in byte order).  NULL for
	 * regression.
	 */
	char *labels[2];
	int has_intercept;
	double intercept;	/* exactly +0.0 when !has_intercept */
	/*
	 * Sorted by column, then the numeric feature before categories, then
	 * category, all in byte order, without repeats; no column is the
	 * target.  At most DML_MODEL_FEATURES_MAX; none only with an intercept.
	 * The other rules (UTF-8 names, finite numbers) are in dmlctl-model(5).
	 */
	struct dml_model_feature *features;
	size_t nfeatures;
};

void dml_model_init(struct dml_model *m);
void dml_model_release(struct dml_model *m);

/*
 * The file format, appended to out.  DML_ERR_USAGE if the model breaks a rule
 * that decode enforces (the message names the field); on any error nothing
 * is appended.  decode(encode(m)) gives back m bit for bit.
 */
const struct dml_error *dml_model_encode(const struct dml_model *m, struct dml_buf *out);
/*
 * Parse a model file strictly: anything that encode would not write is a
 * DML_ERR_PARSE error naming the byte offset and the field.  m is
 * initialised here; on error it is left released.
 */
const struct dml_error *dml_model_decode(struct dml_model *m, const void *data, size_t n);

#endif
