/*
 * dml/reward.h - contribution values of a round's contributors, and token
 * payouts that anyone can recompute.
 *
 * The players are the accepted updates of an aggregated round, in the order
 * of their IDs, each paid to its signer.  The utility of a coalition S is a
 * validation score in [0, 1] on the round's validation dataset:
 *
 *	mse		(ols, ridge) clip(1 - MSE_S / MSE_empty, 0, 1)
 *	accuracy	(logistic) the share of validation rows classified right
 *	log-loss	(logistic) clip(1 - LL_S / LL_empty, 0, 1)
 *
 * where the empty coalition's model is the round's base model.  In stats
 * mode S's model is re-solved exactly from S's summed statistics and the
 * validation error comes from the validation set's own statistics
 * (dml/shapley.h's linear game); in weights mode S's model is the round's
 * rule applied to S's updates (fedavg when the rule cannot run on so few),
 * measured on the validation rows held in memory.  The seed of the sampled
 * methods is the SHA-256 of the round.aggregate entry's ID, so everyone
 * draws the same samples.
 *
 * Tokens: the pool is split by largest remainder over the values (negative
 * values count as 0; dml/payout.h), so the payouts sum to the pool exactly.
 *
 * A reward.pay entry records the round, the method, the utility, the number
 * of samples, the pool and "pay <key> <tokens> <value>" per contributor.  It
 * is written by a key the policy allows to pay (by default the treasurer),
 * once per round; it moves the pool from the payer's balance to the payees'
 * and is refused when the payer's balance is short or a payee is not a
 * member.  Its tree carries the round.aggregate entry's tree under
 * aggregate/ and the validation dataset's under validation/, and `ledger
 * verify` recomputes the values (each within DML_REWARD_ATOL of the recorded
 * one) and the split of the recorded values, bit for bit.
 */
#ifndef DML_REWARD_H
#define DML_REWARD_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"
#include "dml/key.h"
#include "dml/ledger.h"
#include "dml/shapley.h"

#define DML_REWARD_ATOL 1e-9

struct dml_reward_opts {
	const char *round;
	enum dml_shapley_method method;
	const char *utility;		/* NULL: mse or accuracy by the model's kind */
	uint64_t samples;		/* permutation, banzhaf; 0: from epsilon or exact */
	double epsilon, delta;		/* permutation with samples 0 */
	int have_pool;
	uint64_t pool;			/* else the round's pool */
	unsigned threads;		/* 0: one per core; the values do not depend on it */
};

struct dml_reward {
	size_t n;
	struct dml_pubkey *keys;	/* the contributors, in update ID order */
	double *value;
	double *half_width;		/* sampled methods; else NULL */
	uint64_t *tokens;
	uint64_t pool;
	char utility[16];
	enum dml_shapley_method method;
	uint64_t samples, evaluations;
	double u_empty, u_full, delta;
	unsigned char round_id[32];	/* the round.aggregate entry */
};
void dml_reward_release(struct dml_reward *r);

/* Compute (no entry is written). */
const struct dml_error *dml_reward_compute(struct dml_ledger *l,
    const struct dml_reward_opts *o, struct dml_reward *out);

/* Compute and record a reward.pay entry signed by k. */
const struct dml_error *dml_reward_pay(struct dml_ledger *l, const struct dml_key *k,
    const struct dml_reward_opts *o, uint64_t time, struct dml_reward *out,
    struct dml_stmt **stmt);

#endif
