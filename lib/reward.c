/*
 * reward.c - contribution values and the reward.pay entry (see
 * dml/reward.h).
 *
 * compute() is the one path from an aggregated round to values and tokens;
 * `reward compute`, `reward pay` and the verification of reward.pay entries
 * all run it, the first two on the ledger's trees, the last on the trees
 * the entry carries.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/dataset.h"
#include "dml/payout.h"
#include "dml/reward.h"
#include "dml/round.h"
#include "dml/train.h"

#define AGGREGATE_DIR "aggregate"
#define VALIDATION_DIR "validation"

static const struct dml_field_spec pay_fields[] = {
	{ "round", { DML_V_TOKEN, DML_V_ID }, 0 },
	{ "method", { DML_V_TOKEN }, 0 },
	{ "utility", { DML_V_TOKEN }, 0 },
	{ "samples", { DML_V_UINT }, 0 },
	{ "pool", { DML_V_UINT }, 0 },
	{ "pay", { DML_V_KEY, DML_V_UINT, DML_V_TEXT }, DML_F_REPEATED },
};

void
dml_reward_release(struct dml_reward *r)
{
	free(r->keys);
	free(r->value);
	free(r->half_width);
	free(r->tokens);
	memset(r, 0, sizeof(*r));
}

/* ---- the weights-mode game: the round's rule on S, measured in memory ---- */

enum { U_MSE, U_ACCURACY, U_LOGLOSS };

struct wgame {
	size_t n, d, rows;
	const double *const *w;
	const uint64_t *counts;
	enum dml_agg_rule rule;
	struct dml_agg_params ap;
	const double *x, *y;
	const double *base;
	int utility;
	double empty_loss;
};

struct wstate {
	unsigned char *in;
	const double **sel;
	uint64_t *cnt;
	double *beta, *z;
};

/* MSE, log-loss or error rate of beta on the validation rows. */
static double
loss(const struct wgame *g, const double *beta, double *z)
{
	double sum = 0, c = 0;
	size_t r;

	dml_linear_predict(g->x, g->rows, g->d, beta, z);
	for (r = 0; r < g->rows; r++) {
		double e, t;
		if (g->utility == U_MSE) {
			e = (g->y[r] - z[r]) * (g->y[r] - z[r]);
		} else if (g->utility == U_ACCURACY) {
			e = (z[r] > 0) != (g->y[r] > 0.5);
		} else {
			double p = dml_logit_sigmoid(z[r]);
			p = p < 1e-15 ? 1e-15 : p > 1 - 1e-15 ? 1 - 1e-15 : p;
			e = g->y[r] > 0.5 ? -log(p) : -log1p(-p);
		}
		/* Neumaier: the same bits in any thread */
		t = sum + e;
		c += fabs(sum) >= fabs(e) ? (sum - t) + e : (e - t) + sum;
		sum = t;
	}
	return (sum + c) / (double)g->rows;
}

static const struct dml_error *
w_state_new(void *ctx, void **state)
{
	struct wgame *g = ctx;
	struct wstate *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->in = calloc(g->n, 1)) == NULL ||
	    (s->sel = calloc(g->n, sizeof(*s->sel))) == NULL ||
	    (s->cnt = calloc(g->n, sizeof(*s->cnt))) == NULL ||
	    (s->beta = calloc(g->d, sizeof(*s->beta))) == NULL ||
	    (s->z = calloc(g->rows, sizeof(*s->z))) == NULL) {
		if (s) {
			free(s->in);
			free((void *)s->sel);
			free(s->cnt);
			free(s->beta);
			free(s);
		}
		return dml_error_nomem();
	}
	*state = s;
	return NULL;
}

static void
w_state_free(void *ctx, void *state)
{
	struct wstate *s = state;

	(void)ctx;
	if (s == NULL)
		return;
	free(s->in);
	free((void *)s->sel);
	free(s->cnt);
	free(s->beta);
	free(s->z);
	free(s);
}

static const struct dml_error *
w_reset(void *ctx, void *state)
{
	memset(((struct wstate *)state)->in, 0, ((struct wgame *)ctx)->n);
	return NULL;
}

static const struct dml_error *
w_add(void *ctx, void *state, size_t i)
{
	(void)ctx;
	((struct wstate *)state)->in[i] = 1;
	return NULL;
}

static const struct dml_error *
w_remove(void *ctx, void *state, size_t i)
{
	(void)ctx;
	((struct wstate *)state)->in[i] = 0;
	return NULL;
}

static const struct dml_error *
w_value(void *ctx, void *state, double *u)
{
	struct wgame *g = ctx;
	struct wstate *s = state;
	struct dml_agg_result ar;
	size_t i, k = 0;
	const struct dml_error *err = NULL;
	double l;

	for (i = 0; i < g->n; i++)
		if (s->in[i]) {
			s->sel[k] = g->w[i];
			s->cnt[k++] = g->counts[i];
		}
	if (k == 0) {
		memcpy(s->beta, g->base, g->d * sizeof(double));
	} else {
		memset(&ar, 0, sizeof(ar));
		err = dml_aggregate(g->rule, &g->ap, s->sel, s->cnt, k, g->d, s->beta, &ar);
		dml_agg_result_release(&ar);
		if (err && err->code == DML_ERR_USAGE) {
			/* too few for the rule (bulyan, a trim that leaves nothing): fedavg */
			memset(&ar, 0, sizeof(ar));
			err = dml_aggregate(DML_AGG_FEDAVG, &g->ap, s->sel, s->cnt, k, g->d, s->beta,
			    &ar);
			dml_agg_result_release(&ar);
		}
		if (err)
			return err;
	}
	l = loss(g, s->beta, s->z);
	if (g->utility == U_ACCURACY)
		*u = 1 - l;
	else
		*u = fmin(1, fmax(0, 1 - l / g->empty_loss));
	return NULL;
}

static const struct dml_game_ops wgame_ops = {
	w_state_new, w_state_free, w_reset, w_add, w_remove, w_value,
};

/* ---- one computation ---- */

static int
utility_parse(const char *s)
{
	if (strcmp(s, "mse") == 0)
		return U_MSE;
	if (strcmp(s, "accuracy") == 0)
		return U_ACCURACY;
	if (strcmp(s, "log-loss") == 0)
		return U_LOGLOSS;
	return -1;
}

static const struct dml_error *
compute(struct dml_repo *r, const struct dml_oid *agg_tree, struct dml_dataset_in *vin,
    const struct dml_reward_opts *o, uint64_t pool, struct dml_reward *out)
{
	struct dml_round_data rd;
	struct dml_linear_game *lg = NULL;
	struct dml_suffstats V;
	struct dml_source src;
	struct dml_game game;
	struct dml_shapley_params sp;
	struct dml_shapley_result res;
	struct wgame wg;
	double *vx = NULL, *vy = NULL, *base = NULL;
	const double **w = NULL;
	uint64_t *counts = NULL;
	unsigned char *keys = NULL;
	size_t i, d, vrows = 0, off;
	int util;
	const struct dml_error *err;

	memset(out, 0, sizeof(*out));
	memset(&V, 0, sizeof(V));
	memset(&res, 0, sizeof(res));
	if ((err = dml_round_data_load(r, agg_tree, &rd)))
		return err;
	out->n = rd.naccepted;
	memcpy(out->round_id, rd.agg->id, 32);
	if (rd.naccepted == 0) {
		err = dml_error_fmt(DML_ERR_USAGE, "the round accepted no update: nothing to reward");
		goto done;
	}
	if (vin == NULL) {
		err = dml_error_fmt(DML_ERR_USAGE, "the round names no validation dataset (see "
		    "'round open --validation'): contributions are measured on it");
		goto done;
	}
	snprintf(out->utility, sizeof(out->utility), "%s", o->utility ? o->utility :
	    rd.base.kind == DML_MODEL_LOGISTIC ? "accuracy" : "mse");
	if ((util = utility_parse(out->utility)) < 0 ||
	    (rd.base.kind == DML_MODEL_LOGISTIC) != (util != U_MSE)) {
		err = dml_error_fmt(DML_ERR_USAGE, "utility '%s' does not fit a %s model (mse for "
		    "ols and ridge; accuracy or log-loss for logistic)", out->utility,
		    dml_model_kind_name(rd.base.kind));
		goto done;
	}
	d = dml_model_dim(&rd.base);
	off = rd.base.has_intercept ? 1 : 0;
	if ((base = calloc(d, sizeof(*base))) == NULL ||
	    (counts = calloc(rd.naccepted, sizeof(*counts))) == NULL ||
	    (w = calloc(rd.naccepted, sizeof(*w))) == NULL ||
	    (keys = malloc(rd.naccepted * DML_PUBKEY_LEN)) == NULL ||
	    (out->keys = calloc(rd.naccepted, sizeof(*out->keys))) == NULL ||
	    (out->tokens = calloc(rd.naccepted, sizeof(*out->tokens))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if (off)
		base[0] = rd.base.intercept;
	for (i = 0; i < rd.base.nfeatures; i++)
		base[off + i] = rd.base.features[i].coef;
	for (i = 0; i < rd.naccepted; i++) {
		out->keys[i] = rd.accepted[i].signer;
		memcpy(keys + i * DML_PUBKEY_LEN, rd.accepted[i].signer.pk, DML_PUBKEY_LEN);
		counts[i] = rd.accepted[i].samples;
		w[i] = rd.accepted[i].weights;
	}
	dml_source_dataset(&src, vin);
	if (rd.mode == DML_UPDATE_STATS) {
		struct dml_linear_game_params lp;
		const struct dml_suffstats **players = calloc(rd.naccepted, sizeof(*players));
		if (players == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (i = 0; i < rd.naccepted; i++)
			players[i] = &rd.accepted[i].stats;
		dml_linear_game_params_init(&lp);
		lp.lambda = rd.lambda;
		lp.intercept = off ? 0 : DML_NO_INTERCEPT;
		lp.base = base;
		if ((err = dml_local_stats(&rd.base, &src, 0, &V)) == NULL)
			err = dml_linear_game_new(&lg, players, rd.naccepted, &V, &lp);
		free((void *)players);
		if (err)
			goto done;
		dml_linear_game_game(lg, &game);
	} else {
		if ((err = dml_source_rows(&rd.base, &src, 0, &vx, &vy, &vrows)))
			goto done;
		memset(&wg, 0, sizeof(wg));
		wg.n = rd.naccepted;
		wg.d = d;
		wg.rows = vrows;
		wg.w = w;
		wg.counts = counts;
		wg.rule = rd.rule;
		wg.ap = rd.ap;
		wg.ap.strict = 0;
		wg.ap.threads = 1;
		wg.x = vx;
		wg.y = vy;
		wg.base = base;
		wg.utility = util;
		if (util != U_ACCURACY) {
			double *z = malloc(vrows * sizeof(*z));
			if (z == NULL) {
				err = dml_error_nomem();
				goto done;
			}
			wg.empty_loss = loss(&wg, base, z);
			free(z);
			if (!(wg.empty_loss > 0)) {
				err = dml_error_fmt(DML_ERR_USAGE, "the base model fits the validation "
				    "set exactly: every utility would be 0/0");
				goto done;
			}
		}
		game.n = rd.naccepted;
		game.ctx = &wg;
		game.ops = &wgame_ops;
	}
	dml_shapley_params_init(&sp);
	sp.method = o->method;
	sp.threads = o->threads;
	sp.samples = o->samples;
	sp.epsilon = o->epsilon;
	sp.delta = o->delta;
	sp.counts = counts;
	/* the seed comes from the ledger: everyone draws the same samples */
	dml_sha256(sp.seed, rd.agg->id, 32);
	if ((err = dml_shapley_compute(&game, &sp, &res)))
		goto done;
	out->value = res.value;
	out->half_width = res.half_width;
	res.value = res.half_width = NULL;
	out->method = o->method;
	out->samples = res.samples;
	out->evaluations = res.evaluations;
	out->u_empty = res.u_empty;
	out->u_full = res.u_full;
	out->delta = res.delta;
	out->pool = pool;
	err = dml_payout_split(pool, out->value, keys, rd.naccepted, out->tokens, NULL);
done:
	dml_shapley_result_release(&res);
	dml_linear_game_free(lg);
	dml_suffstats_release(&V);
	dml_round_data_release(&rd);
	free(vx);
	free(vy);
	free(base);
	free(counts);
	free((void *)w);
	free(keys);
	if (err)
		dml_reward_release(out);
	return err;
}

/* ---- from the ledger ---- */

/* The round's aggregate tree and its validation dataset, from the ledger. */
static const struct dml_error *
ledger_inputs(struct dml_ledger *l, const char *name, struct dml_oid *agg_tree,
    struct dml_dataset_in **vin, uint64_t *pool)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_round_head *h = dml_round_find(st, name);
	struct dml_round_info ri;
	const struct dml_field *f;
	const struct dml_error *err;

	*vin = NULL;
	if (h == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no round named '%s'", name);
	if (h->status != DML_ROUND_AGGREGATED)
		return dml_error_fmt(DML_ERR_USAGE, "round '%s' is not aggregated", name);
	if ((err = dml_ledger_entry_tree(l, h->end_seq, agg_tree)) || (err = dml_round_info(l, name, &ri)))
		return err;
	*pool = dml_stmt_u64(ri.stmt, "pool");
	if ((f = dml_stmt_field(ri.stmt, "validation")) != NULL) {
		const struct dml_dataset_head *dh;
		char dn[DML_TOKEN_MAX + 1], num[24];
		const char *p;
		size_t n;
		uint64_t v;
		dml_field_part(f, 0, &p, &n);
		snprintf(dn, sizeof(dn), "%.*s", (int)n, p);
		dml_field_part(f, 1, &p, &n);
		snprintf(num, sizeof(num), "%.*s", (int)n, p);
		v = strtoull(num, NULL, 10);
		if ((dh = dml_dataset_find(st, dn)) == NULL || v == 0 || v > dh->nversions)
			err = dml_error_fmt(DML_ERR_VERIFY, "the round's validation dataset is missing");
		else
			err = dml_dataset_open(vin, l, dh->versions[v - 1].seq);
	}
	dml_round_info_release(&ri);
	return err;
}

const struct dml_error *
dml_reward_compute(struct dml_ledger *l, const struct dml_reward_opts *o,
    struct dml_reward *out)
{
	struct dml_oid agg;
	struct dml_dataset_in *vin = NULL;
	uint64_t pool = 0;
	const struct dml_error *err;

	memset(out, 0, sizeof(*out));
	if ((err = ledger_inputs(l, o->round, &agg, &vin, &pool)) == NULL)
		err = compute(dml_ledger_repo(l), &agg, vin, o, o->have_pool ? o->pool : pool, out);
	dml_dataset_close(vin);
	return err;
}

const struct dml_error *
dml_reward_pay(struct dml_ledger *l, const struct dml_key *k, const struct dml_reward_opts *o,
    uint64_t time, struct dml_reward *out, struct dml_stmt **stmt)
{
	const struct dml_round_head *h;
	struct dml_oid agg;
	struct dml_dataset_in *vin = NULL;
	struct dml_stmt_builder b;
	struct dml_tree_item extra[2];
	char id[DML_ID_LEN + 1], key[DML_KEY_ID_LEN + 1], v[40];
	uint64_t pool = 0;
	size_t i, nextra = 1;
	const struct dml_error *err;

	memset(out, 0, sizeof(*out));
	dml_stmt_builder_init(&b, "reward.pay");
	if ((err = ledger_inputs(l, o->round, &agg, &vin, &pool)))
		goto done;
	if (!o->have_pool && pool == 0) {
		err = dml_error_fmt(DML_ERR_USAGE, "round '%s' has no pool: give --pool <units>",
		    o->round);
		goto done;
	}
	h = dml_round_find(dml_ledger_state(l), o->round);
	if ((err = compute(dml_ledger_repo(l), &agg, vin, o, o->have_pool ? o->pool : pool, out)))
		goto done;
	/* a pool is not paid for noise: the round must have improved on its base */
	if (!(out->u_full - out->u_empty > DML_REWARD_ATOL)) {
		err = dml_error_fmt(DML_ERR_USAGE, "round '%s' did not improve on its base model on "
		    "the validation data (u(all) - u(empty) = %.3g): there is nothing to pay for",
		    o->round, out->u_full - out->u_empty);
		goto done;
	}
	dml_id_format(id, h->end_id);
	if ((err = dml_stmt_builder_addf(&b, "round", "%s %s", o->round, id)) ||
	    (err = dml_stmt_builder_add(&b, "method", dml_shapley_method_name(o->method))) ||
	    (err = dml_stmt_builder_add(&b, "utility", out->utility)) ||
	    (err = dml_stmt_builder_addf(&b, "samples", "%llu", (unsigned long long)out->samples)) ||
	    (err = dml_stmt_builder_addf(&b, "pool", "%llu", (unsigned long long)out->pool)))
		goto done;
	for (i = 0; i < out->n; i++) {
		dml_pubkey_id(key, &out->keys[i]);
		dml_double_format(v, sizeof(v), out->value[i]);
		if ((err = dml_stmt_builder_addf(&b, "pay", "%s %llu %s", key,
		    (unsigned long long)out->tokens[i], v)))
			goto done;
	}
	memset(extra, 0, sizeof(extra));
	extra[0].name = (char *)AGGREGATE_DIR;
	extra[0].is_tree = 1;
	extra[0].oid = agg;
	extra[1].name = (char *)VALIDATION_DIR;
	extra[1].is_tree = 1;
	extra[1].oid = dml_dataset_info(vin)->tree;
	nextra = 2;
	err = dml_ledger_append_store(l, k, &b, time, NULL, 0, extra, nextra, stmt);
done:
	dml_dataset_close(vin);
	dml_stmt_builder_release(&b);
	if (err)
		dml_reward_release(out);
	return err;
}

/* ---- the entry ---- */

struct payline {
	struct dml_pubkey key;
	uint64_t tokens;
	double value;
};

/* The "pay" lines of a statement (in key order). */
static const struct dml_error *
paylines(const struct dml_stmt *s, struct payline **out, size_t *n)
{
	const struct dml_field *f;
	struct payline *pl = NULL;
	size_t i = 0, k = 0;

	while (dml_stmt_next(s, "pay", &i))
		k++;
	if ((pl = calloc(k ? k : 1, sizeof(*pl))) == NULL)
		return dml_error_nomem();
	for (i = 0, k = 0; (f = dml_stmt_next(s, "pay", &i)) != NULL; k++) {
		const char *p;
		size_t len;
		char num[24];
		dml_field_part(f, 0, &p, &len);
		dml_pubkey_parse_id(&pl[k].key, p, len);
		dml_field_part(f, 1, &p, &len);
		snprintf(num, sizeof(num), "%.*s", (int)len, p);
		pl[k].tokens = strtoull(num, NULL, 10);
		dml_field_part(f, 2, &p, &len);
		if (dml_double_parse(p, len, &pl[k].value)) {
			free(pl);
			return dml_error_fmt(DML_ERR_VERIFY, "pay line %zu: the value is not a number "
			    "spelled canonically", k + 1);
		}
	}
	*out = pl;
	*n = k;
	return NULL;
}

static const struct dml_error *
pay_check(const struct dml_state *st, const struct dml_stmt *s)
{
	const struct dml_field *f = dml_stmt_field(s, "round");
	const struct dml_round_head *h;
	struct payline *pl;
	char name[DML_TOKEN_MAX + 1], key[DML_KEY_ID_LEN + 1];
	const char *p;
	unsigned char id[32];
	uint64_t pool = dml_stmt_u64(s, "pool"), sum = 0;
	size_t n, i, len;
	const struct dml_error *err;

	dml_field_part(f, 0, &p, &len);
	snprintf(name, sizeof(name), "%.*s", (int)len, p);
	dml_field_part(f, 1, &p, &len);
	dml_id_parse(id, p, len);
	if ((h = dml_round_find(st, name)) == NULL || h->status != DML_ROUND_AGGREGATED ||
	    memcmp(h->end_id, id, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' was not aggregated by that entry",
		    name);
	if (h->paid_seq)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' was paid at entry #%llu", name,
		    (unsigned long long)h->paid_seq);
	if ((err = paylines(s, &pl, &n)))
		return err;
	for (i = 0; i < n && err == NULL; i++) {
		const struct dml_member *m = dml_state_member(st, &pl[i].key);
		dml_pubkey_id(key, &pl[i].key);
		/* a contributor paid nothing need not be a member any more */
		if (pl[i].tokens > 0 && (m == NULL || m->revoked))
			err = dml_error_fmt(DML_ERR_DENIED, "payee '%s' is not a member", key);
		else if (sum + pl[i].tokens < sum)
			err = dml_error_fmt(DML_ERR_VERIFY, "the payouts overflow");
		sum += pl[i].tokens;
	}
	if (err == NULL && sum != pool)
		err = dml_error_fmt(DML_ERR_VERIFY, "the payouts sum to %llu, the pool is %llu",
		    (unsigned long long)sum, (unsigned long long)pool);
	if (err == NULL && dml_state_balance(st, &s->author) < pool) {
		dml_pubkey_id(key, &s->author);
		err = dml_error_fmt(DML_ERR_DENIED, "'%s' holds %llu tokens, short of the pool of "
		    "%llu", key, (unsigned long long)dml_state_balance(st, &s->author),
		    (unsigned long long)pool);
	}
	/*
	 * pay_apply must not fail once this passed (appending writes the entry
	 * before applying it): no payee twice (lines are in key order), and no
	 * balance beyond 2^64 - 1.  The payer is debited first.
	 */
	for (i = 0; i < n && err == NULL; i++) {
		uint64_t have = dml_state_balance(st, &pl[i].key);
		dml_pubkey_id(key, &pl[i].key);
		if (memcmp(pl[i].key.pk, s->author.pk, DML_PUBKEY_LEN) == 0)
			have -= pool;
		if (i > 0 && memcmp(pl[i].key.pk, pl[i - 1].key.pk, DML_PUBKEY_LEN) == 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "payee '%s' is listed twice", key);
		else if (pl[i].tokens > UINT64_MAX - have)
			err = dml_error_fmt(DML_ERR_VERIFY, "paying '%s' %llu tokens would take its "
			    "balance past 2^64 - 1", key, (unsigned long long)pl[i].tokens);
	}
	free(pl);
	return err;
}

static const struct dml_error *
pay_apply(struct dml_state *st, const struct dml_stmt *s)
{
	const struct dml_field *f = dml_stmt_field(s, "round");
	struct dml_round_head *h;
	struct payline *pl;
	char name[DML_TOKEN_MAX + 1];
	const char *p;
	size_t n, i, len;
	const struct dml_error *err;

	dml_field_part(f, 0, &p, &len);
	snprintf(name, sizeof(name), "%.*s", (int)len, p);
	h = (struct dml_round_head *)dml_round_find(st, name);
	if ((err = paylines(s, &pl, &n)))
		return err;
	err = dml_state_credit(st, &s->author, 0, dml_stmt_u64(s, "pool"));
	for (i = 0; i < n && err == NULL; i++)
		err = dml_state_credit(st, &pl[i].key, pl[i].tokens, 0);
	free(pl);
	if (err == NULL)
		h->paid_seq = s->seq;
	return err;
}

static const struct dml_error *
pay_verify(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	const struct dml_tree_item *at = dml_tree_find(items, n, AGGREGATE_DIR, 1);
	const struct dml_tree_item *vt = dml_tree_find(items, n, VALIDATION_DIR, 1);
	struct dml_round_data rd;
	struct dml_dataset_in *vin = NULL;
	struct dml_reward_opts o;
	struct dml_reward got;
	struct payline *pl = NULL;
	char buf[DML_TOKEN_MAX + 1], key[DML_KEY_ID_LEN + 1];
	unsigned char id[32], *keys = NULL;
	double *w = NULL;
	uint64_t *tokens = NULL;
	size_t np = 0, i, j;
	const struct dml_field *f;
	const char *p;
	size_t len;
	enum dml_shapley_method m;
	const struct dml_error *err;

	memset(&got, 0, sizeof(got));
	if (at == NULL || vt == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry does not carry its round and "
		    "validation data");
	/* the carried aggregate must be the one the statement names */
	if ((err = dml_round_data_load(r, &at->oid, &rd)))
		return err;
	f = dml_stmt_field(s, "round");
	dml_field_part(f, 1, &p, &len);
	dml_id_parse(id, p, len);
	if (memcmp(id, rd.agg->id, 32) != 0)
		err = dml_error_fmt(DML_ERR_VERIFY, "the entry carries another aggregate");
	else if (!rd.have_validation)
		err = dml_error_fmt(DML_ERR_VERIFY, "the round names no validation dataset");
	else
		err = dml_dataset_open_tree(&vin, r, &vt->oid, rd.ventry);
	dml_round_data_release(&rd);
	if (err)
		goto done;
	memset(&o, 0, sizeof(o));
	dml_stmt_field(s, "method");
	dml_field_copy(dml_stmt_field(s, "method"), buf, sizeof(buf));
	if ((err = dml_shapley_method_parse(buf, &m)))
		goto done;
	o.method = m;
	dml_field_copy(dml_stmt_field(s, "utility"), buf, sizeof(buf));
	o.utility = buf;
	o.samples = dml_stmt_u64(s, "samples");
	if ((err = compute(r, &at->oid, vin, &o, dml_stmt_u64(s, "pool"), &got)) ||
	    (err = paylines(s, &pl, &np)))
		goto done;
	if (np != got.n) {
		err = dml_error_fmt(DML_ERR_VERIFY, "%zu payees recorded, %zu contributors", np,
		    got.n);
		goto done;
	}
	/* each contributor's recorded value within tolerance of the recomputed one */
	if ((w = calloc(np, sizeof(*w))) == NULL || (keys = malloc(np * DML_PUBKEY_LEN)) == NULL ||
	    (tokens = calloc(np, sizeof(*tokens))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < got.n; i++) {
		for (j = 0; j < np && memcmp(pl[j].key.pk, got.keys[i].pk, DML_PUBKEY_LEN); j++)
			;
		dml_pubkey_id(key, &got.keys[i]);
		if (j == np) {
			err = dml_error_fmt(DML_ERR_VERIFY, "contributor '%s' is not paid", key);
			goto done;
		}
		if (!(fabs(pl[j].value - got.value[i]) <= DML_REWARD_ATOL)) {
			err = dml_error_fmt(DML_ERR_VERIFY, "the value of '%s' is %.17g, recomputed "
			    "%.17g", key, pl[j].value, got.value[i]);
			goto done;
		}
		w[i] = pl[j].value;
		memcpy(keys + i * DML_PUBKEY_LEN, got.keys[i].pk, DML_PUBKEY_LEN);
	}
	/* the split of the recorded values, bit for bit */
	if ((err = dml_payout_split(dml_stmt_u64(s, "pool"), w, keys, np, tokens, NULL)))
		goto done;
	for (i = 0; i < got.n; i++) {
		for (j = 0; memcmp(pl[j].key.pk, got.keys[i].pk, DML_PUBKEY_LEN); j++)
			;
		if (pl[j].tokens != tokens[i]) {
			dml_pubkey_id(key, &got.keys[i]);
			err = dml_error_fmt(DML_ERR_VERIFY, "'%s' is paid %llu tokens, the split gives "
			    "%llu", key, (unsigned long long)pl[j].tokens,
			    (unsigned long long)tokens[i]);
			goto done;
		}
	}
done:
	dml_dataset_close(vin);
	dml_reward_release(&got);
	free(pl);
	free(w);
	free(keys);
	free(tokens);
	return err;
}

static const char *const pay_store[] = { AGGREGATE_DIR, VALIDATION_DIR, NULL };

const struct dml_entry_type dml_type_reward_pay = {
	.name = "reward.pay",
	.fields = pay_fields,
	.nfields = sizeof(pay_fields) / sizeof(pay_fields[0]),
	.check = pay_check,
	.apply = pay_apply,
	.store = pay_store,
	.verify_store = pay_verify,
};
