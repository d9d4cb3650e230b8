/*
 * fuzz_modelfile.c - dml_model_decode over arbitrary bytes.
 *
 * The SHA-256 of a model file is the model ID that the ledger signs, so one
 * model must have one spelling: whatever decodes must encode back to exactly
 * the input bytes.  A failed decode must be a parse error (or out of memory)
 * and leave the model released.  A decoded model must keep the promises of
 * dml/model.h that prediction relies on: a known kind, labels exactly for
 * logistic models, finite numbers, no more than DML_MODEL_FEATURES_MAX
 * features.  And encode must still refuse what decode refuses: the model
 * with two features swapped, or with its intercept flag dropped while the
 * intercept is not +0.0, is a usage error that appends nothing.  Any breach
 * aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "dml/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_released(const struct dml_model *m)
{
	return m->target == NULL && m->labels[0] == NULL && m->labels[1] == NULL &&
	    m->features == NULL && m->nfeatures == 0 && m->has_intercept == 0;
}

/* Encode must refuse m with a usage error and leave out as it was. */
static void
must_refuse(const struct dml_model *m, struct dml_buf *out)
{
	const struct dml_error *err;
	size_t len = out->len;

	err = dml_model_encode(m, out);
	if (err == NULL || (err->code != DML_ERR_USAGE && err->code != DML_ERR_NOMEM))
		abort();
	if (out->len != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_model m;
	struct dml_buf out = DML_BUF_INIT;
	const struct dml_error *err;
	size_t i;

	if ((err = dml_model_decode(&m, data, size)) != NULL) {
		if (err->code != DML_ERR_PARSE && err->code != DML_ERR_NOMEM)
			abort();
		if (!is_released(&m))
			abort();	/* a failed decode keeps nothing */
		return 0;
	}
	if ((unsigned)m.kind > DML_MODEL_LOGISTIC || m.target == NULL)
		abort();
	if ((m.kind == DML_MODEL_LOGISTIC) != (m.labels[0] != NULL) ||
	    (m.labels[0] != NULL) != (m.labels[1] != NULL))
		abort();
	if ((m.has_intercept != 0 && m.has_intercept != 1) || !isfinite(m.intercept))
		abort();
	if (m.nfeatures > DML_MODEL_FEATURES_MAX || (m.nfeatures == 0 && !m.has_intercept))
		abort();
	for (i = 0; i < m.nfeatures; i++)
		if (m.features[i].column == NULL || !isfinite(m.features[i].coef))
			abort();

	if (dml_model_encode(&m, &out) != NULL)
		abort();
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();	/* two spellings of one model */

	if (m.nfeatures >= 2) {
		struct dml_model_feature t = m.features[0];
		m.features[0] = m.features[1];
		m.features[1] = t;
		must_refuse(&m, &out);
		m.features[1] = m.features[0];
		m.features[0] = t;
	}
	if (m.has_intercept && m.nfeatures > 0 && m.intercept != 0) {
		m.has_intercept = 0;
		must_refuse(&m, &out);
		m.has_intercept = 1;
	}
	dml_buf_release(&out);
	dml_model_release(&m);
	return 0;
}
