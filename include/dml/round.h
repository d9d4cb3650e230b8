/*
 * dml/round.h - federated rounds in the ledger.
 *
 * A round is opened by a coordinator (round.open), receives signed updates
 * (update.submit, by the contributor or by anyone holding the contributor's
 * signed file), is aggregated once (round.aggregate) and may be closed
 * without aggregation (round.close).
 *
 * round.open stores the round's base model file (zeros when the round starts
 * from nothing), which fixes the layout every update must have: the feature
 * columns, the target, the intercept and the kind.  Its fields:
 *	name, kind, mode (weights | stats), rule, target, column...,
 *	options (intercept, strict), beta, byzantine, select, local-steps,
 *	lambda, min-updates, base (the model file), validation, pool
 *
 * update.submit names the round, stores the update file (dml/update.h) and
 * repeats its signer and sample count.  It is refused once the round is
 * aggregated or closed; everything else about an update is judged when the
 * round is aggregated, and a rejected update is recorded with its reason.
 *
 * round.aggregate names the round and its round.open entry, stores the new
 * global model file, and lists every submitted update as accepted (used by
 * the rule) or rejected with a reason:
 *	not a member, revoked, second update from this key	(from the ledger)
 *	bad file / bad signature / signer differs / another round / another base
 *	model / another mode / wrong dimension / no samples	(from the file)
 *	not selected by <rule>					(by the rule)
 * and, for updates with differential privacy, "privacy <update> <clip>
 * <noise> <epsilon>" (the Gaussian mechanism's epsilon for one round at
 * DML_ROUND_DP_DELTA).  Its tree carries the round.open entry's tree under
 * round/ and every submitted update file under updates/, so `ledger verify`
 * re-runs the aggregation from the entry alone and compares the model file
 * byte for byte (the rules are deterministic: updates in the order of their
 * IDs, fixed summation order).
 */
#ifndef DML_ROUND_H
#define DML_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include "dml/aggregate.h"
#include "dml/error.h"
#include "dml/key.h"
#include "dml/ledger.h"
#include "dml/model.h"
#include "dml/update.h"

#define DML_ROUND_DP_DELTA 1e-5

/* Reasons decided from the ledger state at submission. */
#define DML_REASON_NOT_MEMBER "not a member"
#define DML_REASON_REVOKED "revoked"
#define DML_REASON_DUPLICATE "second update from this key"

const struct dml_round_head *dml_round_find(const struct dml_state *st, const char *name);

struct dml_round_opts {
	const char *name;
	enum dml_model_kind kind;
	enum dml_update_mode mode;
	const char *rule;
	const char *target;
	const char *const *columns;	/* numeric feature columns */
	size_t ncolumns;
	int intercept, strict;
	double beta;			/* trimmed-mean; < 0: not given */
	unsigned byzantine;
	unsigned select;		/* multi-krum; 0: not given */
	unsigned local_steps;
	double lambda;
	unsigned min_updates;
	const struct dml_model *base;	/* NULL: start from zeros */
	uint64_t validation;		/* dataset entry seq, or UINT64_MAX */
	uint64_t pool;			/* 0: none */
	uint64_t time;
};

const struct dml_error *dml_round_open(struct dml_ledger *l, const struct dml_key *k,
    const struct dml_round_opts *o, struct dml_stmt **out);

/* What a round asks of its contributors. */
struct dml_round_info {
	struct dml_stmt *stmt;		/* the round.open statement */
	struct dml_model base;		/* the base model (the layout) */
	unsigned char base_id[32];
	enum dml_update_mode mode;
	double lambda;
	unsigned local_steps;
};
const struct dml_error *dml_round_info(struct dml_ledger *l, const char *name,
    struct dml_round_info *ri);
void dml_round_info_release(struct dml_round_info *ri);

/*
 * Train an update for a round on a local CSV or TSV file (never published):
 * weights mode fits locally from the base model (dml_local_fit), stats mode
 * computes the sufficient statistics.  With dp_clip > 0 the change from the
 * base model is clipped to L2 norm dp_clip and Gaussian noise of standard
 * deviation dp_noise * dp_clip is added, from a generator seeded with 32
 * random bytes recorded in the update.  The update is unsigned.
 */
const struct dml_error *dml_update_train(const struct dml_round_info *ri, const char *path,
    char sep, int drop_missing, double dp_clip, double dp_noise, struct dml_update *u);

/* Record a signed update file as an update.submit entry. */
const struct dml_error *dml_update_submit(struct dml_ledger *l, const struct dml_key *k,
    const void *file, size_t n, uint64_t time, struct dml_stmt **out);

struct dml_round_outcome {
	struct dml_stmt *stmt;		/* the round.aggregate entry */
	size_t accepted, rejected;
	struct dml_model model;		/* the new global model */
};
void dml_round_outcome_release(struct dml_round_outcome *o);

/* Aggregate a round and record the outcome; refused below min-updates. */
const struct dml_error *dml_round_aggregate(struct dml_ledger *l, const struct dml_key *k,
    const char *name, uint64_t time, struct dml_round_outcome *out);

/* Close a round without aggregating it. */
const struct dml_error *dml_round_close(struct dml_ledger *l, const struct dml_key *k,
    const char *name, uint64_t time, struct dml_stmt **out);

/* The global model of an aggregated round. */
const struct dml_error *dml_round_model(struct dml_ledger *l, const char *name,
    struct dml_model *m);

/* An aggregated round as its round.aggregate entry's tree carries it. */
struct dml_round_data {
	struct dml_stmt *open, *agg;	/* the round.open and round.aggregate statements */
	struct dml_model base;		/* the layout and the empty coalition's model */
	enum dml_update_mode mode;
	enum dml_agg_rule rule;
	struct dml_agg_params ap;
	double lambda;
	struct dml_update *accepted;	/* in the order of their IDs */
	size_t naccepted;
	int have_validation;		/* the round names a validation dataset: */
	char vname[DML_TOKEN_MAX + 1];
	uint64_t vversion;
	unsigned char ventry[32];	/* its entry ID */
};
const struct dml_error *dml_round_data_load(struct dml_repo *r, const struct dml_oid *tree,
    struct dml_round_data *rd);
void dml_round_data_release(struct dml_round_data *rd);

#endif
