/*
 * dml/modelentry.h - the model.train ledger entry: a model trained from
 * published datasets, recorded so that anyone can recompute it.
 *
 * The statement is the recipe and the results:
 *
 *	name, version, previous	the model's name and versions (a later version
 *				only by the owner of version 1)
 *	model			the model file's ID (stored under objects/)
 *	kind, target, column	kind and columns (names spelled as in a schema)
 *	dataset			"<name> <version> <entry ID>" per training dataset
 *				(the entry ID binds the file ID, schema and terms)
 *	validation		the same, for a validation dataset, or
 *	holdout			"<fraction> <seed>"
 *	lambda, options		hyperparameters; options among drop-missing,
 *				intercept, standardize
 *	rows, dropped, held, features, method, rank, iterations
 *	metric			"<set>.<name> <value>", set train or valid
 *	dmlctl			the version that trained it
 *
 * and the entry's tree carries, under datasets/<name>@<version>, the tree of
 * each dataset entry it used (git stores them once), so `ledger verify`
 * recomputes the model from the entry alone: it trains again from the
 * statement and compares the coefficients and metrics within DML_TRAIN_RTOL
 * (dml/train.h).  Against the ledger state it checks that each training
 * dataset's terms allow "train" and the validation dataset's "evaluate".
 */
#ifndef DML_MODELENTRY_H
#define DML_MODELENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "dml/dataset.h"
#include "dml/error.h"
#include "dml/ledger.h"
#include "dml/model.h"
#include "dml/train.h"

/* The model of this name in the ledger state, or NULL. */
const struct dml_model_head *dml_model_find(const struct dml_state *st, const char *name);

struct dml_model_train_opts {
	const char *name;
	enum dml_model_kind kind;
	const uint64_t *datasets;	/* entry seqs of the training datasets */
	size_t ndatasets;
	uint64_t validation;		/* entry seq, or UINT64_MAX */
	const char *target;
	const char *const *columns;	/* NULL: all but the target and `exclude` */
	size_t ncolumns;
	const char *const *exclude;
	size_t nexclude;
	double lambda;
	int intercept, standardize, drop_missing;
	double holdout;			/* 0: none */
	uint64_t seed;
	uint64_t time;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct dml_model_train_result {
	struct dml_train_out out;
	unsigned char model_id[32];
	struct dml_stmt *stmt;		/* the new entry (caller frees) */
};

/*
 * Train and append a model.train entry signed by k.  Nothing is appended
 * unless training succeeded; a dataset whose terms forbid the use is refused
 * (DML_ERR_DENIED) before any data is read.  Release res->out and free
 * res->stmt afterwards, also on error.
 */
const struct dml_error *dml_model_train(struct dml_ledger *l, const struct dml_key *k,
    const struct dml_model_train_opts *o, struct dml_model_train_result *res);

/* The model file and statement of model.train entry `seq`. */
const struct dml_error *dml_model_read(struct dml_ledger *l, uint64_t seq, struct dml_model *m,
    struct dml_stmt **s);

#endif
