/*
 * round.c - federated rounds: round.open, update.submit, round.aggregate and
 * round.close entries, local training of updates, and aggregation (see
 * dml/round.h).
 *
 * Aggregation and its verification share one function, judge_and_combine():
 * it takes the round's statement, its base model and the submitted update
 * files in the order of their IDs, judges each file, applies the rule, and
 * returns the accepted and rejected lists and the model file's bytes.  The
 * aggregate command feeds it the ledger's view; `ledger verify` feeds it
 * what the entry carries, and the two must agree byte for byte.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/aggregate.h"
#include "dml/dataset.h"
#include "dml/round.h"
#include "dml/schema.h"
#include "dml/train.h"

#define ROUND_DIR "round"
#define UPDATES_DIR "updates"

/* ---- fields ---- */

static const struct dml_field_spec open_fields[] = {
	{ "name", { DML_V_TOKEN }, 0 },
	{ "kind", { DML_V_TOKEN }, 0 },
	{ "mode", { DML_V_TOKEN }, 0 },
	{ "rule", { DML_V_TOKEN }, 0 },
	{ "target", { DML_V_TEXT }, 0 },
	{ "column", { DML_V_TEXT }, DML_F_REPEATED },
	{ "options", { DML_V_ROLES }, DML_F_OPTIONAL },
	{ "beta", { DML_V_TOKEN }, DML_F_OPTIONAL },
	{ "byzantine", { DML_V_UINT }, 0 },
	{ "select", { DML_V_UINT }, DML_F_OPTIONAL },
	{ "local-steps", { DML_V_UINT }, 0 },
	{ "lambda", { DML_V_TOKEN }, 0 },
	{ "min-updates", { DML_V_UINT }, 0 },
	{ "base", { DML_V_ID }, DML_F_OBJECT },
	{ "validation", { DML_V_TOKEN, DML_V_UINT, DML_V_ID }, DML_F_OPTIONAL },
	{ "pool", { DML_V_UINT }, DML_F_OPTIONAL },
};

static const struct dml_field_spec submit_fields[] = {
	{ "round", { DML_V_TOKEN }, 0 },
	{ "update", { DML_V_ID }, DML_F_OBJECT },
	{ "contributor", { DML_V_KEY }, 0 },
	{ "samples", { DML_V_UINT }, 0 },
};

static const struct dml_field_spec aggregate_fields[] = {
	{ "round", { DML_V_TOKEN, DML_V_ID }, 0 },
	{ "model", { DML_V_ID }, DML_F_OBJECT },
	{ "updates", { DML_V_UINT }, 0 },
	{ "accepted", { DML_V_ID }, DML_F_OPTIONAL | DML_F_REPEATED },
	{ "rejected", { DML_V_ID, DML_V_TEXT }, DML_F_OPTIONAL | DML_F_REPEATED },
	{ "privacy", { DML_V_ID, DML_V_TEXT }, DML_F_OPTIONAL | DML_F_REPEATED },
	{ "caveat", { DML_V_TEXT }, DML_F_OPTIONAL | DML_F_REPEATED },
};

static const struct dml_field_spec close_fields[] = {
	{ "round", { DML_V_TOKEN, DML_V_ID }, 0 },
};

/* ---- small helpers ---- */

/* ---- the state ---- */

const struct dml_round_head *
dml_round_find(const struct dml_state *st, const char *name)
{
	size_t lo = 0, hi = st->nrounds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->rounds[mid].name, name);
		if (c == 0)
			return &st->rounds[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *
status_name(enum dml_round_status s)
{
	return s == DML_ROUND_OPEN ? "open" : s == DML_ROUND_AGGREGATED ? "aggregated" : "closed";
}

static const struct dml_error *
open_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1], buf[DML_TOKEN_MAX + 1];
	enum dml_agg_rule rule;
	double x;
	int mode, kind;

	dml_stmt_str(s, "name", name, sizeof(name));
	if (dml_round_find(st, name))
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' exists already", name);
	dml_stmt_str(s, "kind", buf, sizeof(buf));
	if ((kind = dml_model_kind_parse(buf)) < 0)
		return dml_error_fmt(DML_ERR_VERIFY, "unknown model kind '%s'", buf);
	dml_stmt_str(s, "mode", buf, sizeof(buf));
	if ((mode = dml_update_mode_parse(buf)) < 0)
		return dml_error_fmt(DML_ERR_VERIFY, "unknown mode '%s'", buf);
	dml_stmt_str(s, "rule", buf, sizeof(buf));
	if (dml_agg_rule_parse(buf, &rule))
		return dml_error_fmt(DML_ERR_VERIFY, "unknown rule '%s'", buf);
	if (mode == DML_UPDATE_STATS && (kind == DML_MODEL_LOGISTIC || strcmp(buf, "fedavg")))
		return dml_error_fmt(DML_ERR_VERIFY, "stats mode is for ols and ridge with fedavg");
	dml_stmt_str(s, "lambda", buf, sizeof(buf));
	if (dml_double_parse(buf, strlen(buf), &x) || !(x >= 0) || !isfinite(x))
		return dml_error_fmt(DML_ERR_VERIFY, "bad lambda '%s'", buf);
	if (dml_stmt_field(s, "beta")) {
		dml_stmt_str(s, "beta", buf, sizeof(buf));
		if (dml_double_parse(buf, strlen(buf), &x) || !(x >= 0) || !(x < 0.5))
			return dml_error_fmt(DML_ERR_VERIFY, "bad beta '%s'", buf);
	}
	if (dml_stmt_field(s, "validation")) {
		const struct dml_field *f = dml_stmt_field(s, "validation");
		const struct dml_dataset_head *h;
		char dn[DML_TOKEN_MAX + 1], num[24];
		unsigned char id[32];
		uint64_t v;
		dml_field_part_str(f, 0, dn, sizeof(dn));
		dml_field_part_str(f, 1, num, sizeof(num));
		v = strtoull(num, NULL, 10);
		dml_stmt_id(s, "validation", 2, id);
		if ((h = dml_dataset_find(st, dn)) == NULL || v == 0 || v > h->nversions ||
		    memcmp(h->versions[v - 1].id, id, 32) != 0)
			return dml_error_fmt(DML_ERR_VERIFY, "validation dataset '%s@%s' is not that "
			    "entry", dn, num);
		if (!dml_dataset_allows(&h->versions[v - 1], "evaluate"))
			return dml_error_fmt(DML_ERR_DENIED, "dataset '%s@%s' does not allow "
			    "'evaluate' (its terms allow: %s)", dn, num, h->versions[v - 1].allow);
	}
	return NULL;
}

static const struct dml_error *
open_apply(struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	struct dml_round_head *r;
	size_t i;

	dml_stmt_str(s, "name", name, sizeof(name));
	if ((r = realloc(st->rounds, (st->nrounds + 1) * sizeof(*r))) == NULL)
		return dml_error_nomem();
	st->rounds = r;
	for (i = st->nrounds; i > 0 && strcmp(r[i - 1].name, name) > 0; i--)
		r[i] = r[i - 1];
	memset(&r[i], 0, sizeof(r[i]));
	if ((r[i].name = strdup(name)) == NULL) {
		memmove(&r[i], &r[i + 1], (st->nrounds - i) * sizeof(*r));
		return dml_error_nomem();
	}
	r[i].open_seq = s->seq;
	memcpy(r[i].open_id, s->id, 32);
	r[i].status = DML_ROUND_OPEN;
	st->nrounds++;
	return NULL;
}

static const struct dml_error *
round_is_open(const struct dml_state *st, const char *name, const struct dml_round_head **out)
{
	const struct dml_round_head *r = dml_round_find(st, name);

	if (r == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "no round named '%s'", name);
	if (r->status != DML_ROUND_OPEN)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' was %s at entry #%llu", name,
		    status_name(r->status), (unsigned long long)r->end_seq);
	*out = r;
	return NULL;
}

static const struct dml_error *
submit_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	const struct dml_round_head *r;
	unsigned char id[32];
	size_t i;
	const struct dml_error *err;

	dml_stmt_str(s, "round", name, sizeof(name));
	if ((err = round_is_open(st, name, &r)))
		return err;
	dml_stmt_id(s, "update", 0, id);
	for (i = 0; i < r->nsubs; i++)
		if (memcmp(r->subs[i].update, id, 32) == 0)
			return dml_error_fmt(DML_ERR_VERIFY, "this update was submitted at entry #%llu",
			    (unsigned long long)r->subs[i].seq);
	return NULL;
}

/*
 * The stored file's header must name the entry's contributor as its signer,
 * so that membership, judged from the entry, is the signer's.  Everything
 * else about the file (its signature included) is judged at aggregation.
 */
static const struct dml_error *
submit_verify(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	const struct dml_field *f = dml_stmt_field(s, "contributor");
	struct dml_buf file = DML_BUF_INIT;
	struct dml_update u;
	struct dml_pubkey who;
	unsigned char id[32];
	const struct dml_error *err;

	dml_stmt_id(s, "update", 0, id);
	dml_pubkey_parse_id(&who, f->value, f->len);
	if ((err = dml_entry_object(r, items, n, id, &file)) == NULL &&
	    (err = dml_update_header(&u, file.data, file.len)) == NULL) {
		if (!u.is_signed || memcmp(u.signer.pk, who.pk, DML_PUBKEY_LEN) != 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "the update's signer is not the "
			    "contributor the entry names");
		else if (u.samples != dml_stmt_u64(s, "samples"))
			err = dml_error_fmt(DML_ERR_VERIFY, "the update's sample count is not the "
			    "entry's");
		dml_update_release(&u);
	}
	dml_buf_release(&file);
	return err;
}

/* The reason the ledger gives against a submission, or NULL. */
static const char *
ledger_reason(const struct dml_state *st, const struct dml_round_head *r,
    const struct dml_pubkey *who)
{
	const struct dml_member *m = dml_state_member(st, who);
	size_t i;

	if (m == NULL)
		return DML_REASON_NOT_MEMBER;
	if (m->revoked)
		return DML_REASON_REVOKED;
	for (i = 0; i < r->nsubs; i++)
		if (memcmp(r->subs[i].contributor.pk, who->pk, DML_PUBKEY_LEN) == 0)
			return DML_REASON_DUPLICATE;
	return NULL;
}

static const struct dml_error *
submit_apply(struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	struct dml_round_head *r;
	struct dml_submission *sub;
	const struct dml_field *f = dml_stmt_field(s, "contributor");
	struct dml_pubkey who;

	dml_stmt_str(s, "round", name, sizeof(name));
	r = (struct dml_round_head *)dml_round_find(st, name);
	dml_pubkey_parse_id(&who, f->value, f->len);
	if ((sub = realloc(r->subs, (r->nsubs + 1) * sizeof(*sub))) == NULL)
		return dml_error_nomem();
	r->subs = sub;
	sub = &r->subs[r->nsubs];
	memset(sub, 0, sizeof(*sub));
	dml_stmt_id(s, "update", 0, sub->update);
	sub->contributor = who;
	sub->seq = s->seq;
	sub->reason = ledger_reason(st, r, &who);
	r->nsubs++;
	return NULL;
}

/* The statement's verdict on one update: 1 accepted, 0 rejected (why), -1 absent. */
static int
verdict(const struct dml_stmt *s, const unsigned char id[32], char *why, size_t n)
{
	const struct dml_field *f;
	unsigned char x[32];
	const char *p;
	size_t i = 0, len;

	while ((f = dml_stmt_next(s, "accepted", &i))) {
		dml_id_parse(x, f->value, f->len);
		if (memcmp(x, id, 32) == 0)
			return 1;
	}
	i = 0;
	while ((f = dml_stmt_next(s, "rejected", &i))) {
		dml_field_part(f, 0, &p, &len);
		dml_id_parse(x, p, len);
		if (memcmp(x, id, 32) == 0) {
			dml_field_part_str(f, 1, why, n);
			return 0;
		}
	}
	return -1;
}

static const struct dml_error *
aggregate_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1], why[DML_TEXT_MAX + 1], hex[65];
	const struct dml_round_head *r;
	const struct dml_field *f = dml_stmt_field(s, "round");
	unsigned char id[32];
	size_t i, listed;
	const struct dml_error *err;

	dml_field_part_str(f, 0, name, sizeof(name));
	if ((err = round_is_open(st, name, &r)))
		return err;
	dml_stmt_id(s, "round", 1, id);
	if (memcmp(id, r->open_id, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' was opened by another entry", name);
	if (dml_stmt_u64(s, "updates") != r->nsubs)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' has %zu updates, the entry says "
		    "%llu", name, r->nsubs, (unsigned long long)dml_stmt_u64(s, "updates"));
	/* every submission judged once, and the ledger's reasons as the ledger gives them */
	for (i = 0; i < r->nsubs; i++) {
		int v = verdict(s, r->subs[i].update, why, sizeof(why));
		dml_hex_encode(hex, r->subs[i].update, 32);
		if (v < 0)
			return dml_error_fmt(DML_ERR_VERIFY, "update sha256:%.16s is neither accepted "
			    "nor rejected", hex);
		if (r->subs[i].reason && (v != 0 || strcmp(why, r->subs[i].reason) != 0))
			return dml_error_fmt(DML_ERR_VERIFY, "update sha256:%.16s must be rejected: "
			    "%s", hex, r->subs[i].reason);
		if (!r->subs[i].reason && v == 0 && (strcmp(why, DML_REASON_NOT_MEMBER) == 0 ||
		    strcmp(why, DML_REASON_REVOKED) == 0 || strcmp(why, DML_REASON_DUPLICATE) == 0))
			return dml_error_fmt(DML_ERR_VERIFY, "update sha256:%.16s is rejected as '%s', "
			    "which the ledger does not say", hex, why);
	}
	listed = 0;
	for (i = 0; dml_stmt_next(s, "accepted", &i);)
		listed++;
	for (i = 0; dml_stmt_next(s, "rejected", &i);)
		listed++;
	if (listed != r->nsubs)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry lists %zu updates, the round has %zu",
		    listed, r->nsubs);
	return NULL;
}

static const struct dml_error *
end_apply(struct dml_state *st, const struct dml_stmt *s, enum dml_round_status status)
{
	char name[DML_TOKEN_MAX + 1];
	struct dml_round_head *r;

	dml_field_part_str(dml_stmt_field(s, "round"), 0, name, sizeof(name));
	r = (struct dml_round_head *)dml_round_find(st, name);
	r->status = status;
	r->end_seq = s->seq;
	memcpy(r->end_id, s->id, 32);
	return NULL;
}

static const struct dml_error *
aggregate_apply(struct dml_state *st, const struct dml_stmt *s)
{
	return end_apply(st, s, DML_ROUND_AGGREGATED);
}

static const struct dml_error *
close_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	const struct dml_round_head *r;
	unsigned char id[32];
	const struct dml_error *err;

	dml_field_part_str(dml_stmt_field(s, "round"), 0, name, sizeof(name));
	if ((err = round_is_open(st, name, &r)))
		return err;
	dml_stmt_id(s, "round", 1, id);
	if (memcmp(id, r->open_id, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "round '%s' was opened by another entry", name);
	return NULL;
}

static const struct dml_error *
close_apply(struct dml_state *st, const struct dml_stmt *s)
{
	return end_apply(st, s, DML_ROUND_CLOSED);
}

/* ---- the round's parameters ---- */

struct params {
	enum dml_model_kind kind;
	enum dml_update_mode mode;
	enum dml_agg_rule rule;
	struct dml_agg_params ap;
	double lambda;
	unsigned min_updates;
};

static void
params_from_stmt(const struct dml_stmt *s, struct params *p)
{
	char buf[DML_TOKEN_MAX + 1];

	memset(p, 0, sizeof(*p));
	dml_stmt_str(s, "kind", buf, sizeof(buf));
	p->kind = (enum dml_model_kind)dml_model_kind_parse(buf);
	dml_stmt_str(s, "mode", buf, sizeof(buf));
	p->mode = (enum dml_update_mode)dml_update_mode_parse(buf);
	dml_stmt_str(s, "rule", buf, sizeof(buf));
	dml_agg_rule_parse(buf, &p->rule);
	dml_stmt_str(s, "lambda", buf, sizeof(buf));
	dml_double_parse(buf, strlen(buf), &p->lambda);
	dml_agg_params_init(&p->ap);
	if (dml_stmt_field(s, "beta")) {
		dml_stmt_str(s, "beta", buf, sizeof(buf));
		dml_double_parse(buf, strlen(buf), &p->ap.beta);
	}
	p->ap.f = (unsigned)dml_stmt_u64(s, "byzantine");
	p->ap.m = (unsigned)dml_stmt_u64(s, "select");
	p->ap.strict = dml_stmt_has(s, "options", "strict");
	p->min_updates = (unsigned)dml_stmt_u64(s, "min-updates");
}

/* ---- judging and combining ---- */

struct candidate {
	unsigned char id[32];
	const unsigned char *file;	/* the update file's bytes */
	size_t len;
	struct dml_pubkey contributor;	/* as the submission names it */
	const char *ledger_reason;	/* decided from the ledger, or NULL */
	/* results */
	struct dml_update u;
	char why[160];			/* rejection reason, "" when accepted */
	int accepted;
	double epsilon;
};

static int
candidate_cmp(const void *a, const void *b)
{
	return memcmp(((const struct candidate *)a)->id, ((const struct candidate *)b)->id, 32);
}

/* Judge one file against the round; why is empty if it may enter the rule. */
static void
judge(struct candidate *c, const unsigned char round_id[32], const unsigned char base_id[32],
    const struct params *p, const struct dml_model *base)
{
	size_t d = dml_model_dim(base);
	const struct dml_error *err;

	c->why[0] = '\0';
	if (c->ledger_reason) {
		snprintf(c->why, sizeof(c->why), "%s", c->ledger_reason);
		return;
	}
	if ((err = dml_update_decode(&c->u, c->file, c->len))) {
		const char *msg = strncmp(err->msg, "update", 6) == 0 ? err->msg + 6 : err->msg;
		if (strstr(err->msg, "signature") || strstr(err->msg, "signed by"))
			snprintf(c->why, sizeof(c->why), "bad signature");
		else
			snprintf(c->why, sizeof(c->why), "bad file%.140s", msg);
		return;
	}
	if (!c->u.is_signed)
		snprintf(c->why, sizeof(c->why), "not signed");
	else if (memcmp(c->u.signer.pk, c->contributor.pk, DML_PUBKEY_LEN) != 0)
		snprintf(c->why, sizeof(c->why), "signer differs from the submission");
	else if (memcmp(c->u.round, round_id, 32) != 0)
		snprintf(c->why, sizeof(c->why), "another round");
	else if (!c->u.have_base || memcmp(c->u.base, base_id, 32) != 0)
		snprintf(c->why, sizeof(c->why), "another base model");
	else if (c->u.mode != p->mode)
		snprintf(c->why, sizeof(c->why), "another mode");
	else if (c->u.d != d)
		snprintf(c->why, sizeof(c->why), "wrong dimension");
	else if (c->u.samples == 0)
		snprintf(c->why, sizeof(c->why), "no samples");
	else if (c->u.mode == DML_UPDATE_STATS && base->has_intercept &&
	    c->u.stats.xtx[0] != (double)c->u.samples)
		/* the intercept column's sum of squares counts the rows */
		snprintf(c->why, sizeof(c->why), "sample count does not match the statistics");
}

/*
 * The rule over the candidates that passed judgement, in ID order.  The new
 * coefficients go to beta (d values).
 */
static const struct dml_error *
combine(struct candidate *c, size_t n, const struct params *p, const struct dml_model *base,
    size_t d, double *beta, unsigned *outside)
{
	size_t *idx = NULL, k = 0, i, j;
	const double **x = NULL;
	uint64_t *counts = NULL;
	struct dml_agg_result ar;
	struct dml_suffstats sum;
	const struct dml_error *err = NULL;

	memset(&sum, 0, sizeof(sum));
	memset(&ar, 0, sizeof(ar));
	if ((idx = calloc(n ? n : 1, sizeof(*idx))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < n; i++)
		if (c[i].why[0] == '\0')
			idx[k++] = i;
	if (k < p->min_updates || k == 0) {
		err = dml_error_fmt(DML_ERR_USAGE, "%zu valid update%s, the round needs at least %u",
		    k, k == 1 ? "" : "s", p->min_updates ? p->min_updates : 1);
		goto done;
	}
	if (p->mode == DML_UPDATE_STATS) {
		/* fedavg of statistics: the centralized solution on the union */
		if ((err = dml_suffstats_init(&sum, d)))
			goto done;
		for (i = 0; i < k; i++)
			if ((err = dml_suffstats_merge(&sum, &c[idx[i]].u.stats)))
				goto done;
		err = dml_suffstats_solve(&sum, p->lambda, base->has_intercept ? 0 :
		    DML_NO_INTERCEPT, DML_SOLVE_DEFAULT, beta, NULL);
		for (i = 0; i < k && err == NULL; i++)
			c[idx[i]].accepted = 1;
		goto done;
	}
	if ((x = malloc(k * sizeof(*x))) == NULL ||
	    (counts = malloc(k * sizeof(*counts))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < k; i++) {
		x[i] = c[idx[i]].u.weights;
		counts[i] = c[idx[i]].u.samples;
	}
	if ((err = dml_aggregate(p->rule, &p->ap, x, counts, k, d, beta, &ar)))
		goto done;
	*outside = ar.plan.outside;
	for (i = 0; i < k; i++) {
		if (ar.used[i])
			c[idx[i]].accepted = 1;
		else
			snprintf(c[idx[i]].why, sizeof(c[idx[i]].why), "not selected by %s",
			    dml_agg_rule_name(p->rule));
	}
	for (j = 0; j < d && err == NULL; j++)
		if (!isfinite(beta[j]))
			err = dml_error_fmt(DML_ERR_USAGE, "the aggregate is not finite");
done:
	dml_agg_result_release(&ar);
	dml_suffstats_release(&sum);
	free(idx);
	free((void *)x);
	free(counts);
	return err;
}

/* The model with the layout of base and the coefficients beta. */
static const struct dml_error *
model_with(const struct dml_model *base, const double *beta, struct dml_model *out)
{
	struct dml_buf b = DML_BUF_INIT;
	size_t j, off = base->has_intercept ? 1 : 0;
	const struct dml_error *err;

	/* a deep copy through the file format */
	if ((err = dml_model_encode(base, &b)) == NULL)
		err = dml_model_decode(out, b.data, b.len);
	dml_buf_release(&b);
	if (err)
		return err;
	if (off)
		out->intercept = beta[0];
	for (j = 0; j < out->nfeatures; j++)
		out->features[j].coef = beta[off + j];
	return NULL;
}

/*
 * Judge every candidate (sorted here by ID) and combine the valid ones:
 * mfile receives the new model file, model the model.
 */
static const struct dml_error *
judge_and_combine(const struct dml_stmt *open, const struct dml_model *base,
    const unsigned char base_id[32], struct candidate *c, size_t n, struct dml_buf *mfile,
    struct dml_model *model, unsigned *outside)
{
	struct params p;
	size_t d = dml_model_dim(base), i;
	double *beta;
	const struct dml_error *err;

	params_from_stmt(open, &p);
	qsort(c, n, sizeof(*c), candidate_cmp);
	for (i = 0; i < n; i++) {
		judge(&c[i], open->id, base_id, &p, base);
		if (c[i].why[0] == '\0' && c[i].u.dp &&
		    dml_dp_epsilon(c[i].u.dp_noise, 1, DML_ROUND_DP_DELTA, &c[i].epsilon, NULL))
			c[i].epsilon = INFINITY;
	}
	if ((beta = calloc(d, sizeof(*beta))) == NULL)
		return dml_error_nomem();
	*outside = 0;
	if ((err = combine(c, n, &p, base, d, beta, outside)) == NULL &&
	    (err = model_with(base, beta, model)) == NULL)
		err = dml_model_encode(model, mfile);
	free(beta);
	return err;
}

static void
candidates_release(struct candidate *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++)
		dml_update_release(&c[i].u);
	free(c);
}

/* ---- the round.open entry as another entry carries it ---- */

struct opened {
	struct dml_stmt *stmt;
	struct dml_model base;
	unsigned char base_id[32];
};

static void
opened_release(struct opened *o)
{
	dml_stmt_free(o->stmt);
	dml_model_release(&o->base);
	memset(o, 0, sizeof(*o));
}

static const struct dml_error *
opened_load(struct dml_repo *r, const struct dml_oid *tree, struct opened *o)
{
	struct dml_tree_item *items = NULL;
	const struct dml_tree_item *it;
	struct dml_buf text = DML_BUF_INIT;
	size_t n = 0;
	const struct dml_error *err;

	memset(o, 0, sizeof(*o));
	dml_model_init(&o->base);
	if ((err = dml_repo_tree_read(r, tree, &items, &n)))
		return err;
	if ((it = dml_tree_find(items, n, "statement", 0)) == NULL)
		err = dml_error_fmt(DML_ERR_VERIFY, "the round tree holds no statement");
	else if ((err = dml_repo_blob_read(r, &it->oid, &text)) == NULL &&
	    (err = dml_stmt_parse(&o->stmt, (const char *)text.data, text.len)) == NULL &&
	    strcmp(o->stmt->type->name, "round.open") != 0)
		err = dml_error_fmt(DML_ERR_VERIFY, "the round tree holds a %s statement",
		    o->stmt->type->name);
	if (err == NULL) {
		dml_stmt_id(o->stmt, "base", 0, o->base_id);
		dml_buf_reset(&text);
		if ((err = dml_entry_object(r, items, n, o->base_id, &text)) == NULL)
			err = dml_model_decode(&o->base, text.data, text.len);
	}
	dml_buf_release(&text);
	dml_tree_items_free(items, n);
	if (err)
		opened_release(o);
	return err;
}

/* ---- verification of round.aggregate ---- */

static int
has_text(const struct dml_stmt *s, const char *field, const char *text)
{
	const struct dml_field *f;
	size_t i = 0, n = strlen(text);

	while ((f = dml_stmt_next(s, field, &i)))
		if (f->len == n && memcmp(f->value, text, n) == 0)
			return 1;
	return 0;
}

/* The statement fields an outcome gives, for building and for comparing. */
static const struct dml_error *
outcome_fields(struct dml_stmt_builder *b, const struct candidate *c, size_t n,
    unsigned outside)
{
	static const struct {
		unsigned bit;
		const char *text;
	} caveats[] = {
		{ DML_AGG_OUT_FEDAVG_F, "fedavg has no defence against the faulty updates declared" },
		{ DML_AGG_OUT_MEDIAN_F, "median with 2f >= n: faulty updates may be a majority" },
		{ DML_AGG_OUT_TRIM_HALF, "trimmed-mean with beta >= 0.5" },
		{ DML_AGG_OUT_TRIM_F, "trimmed-mean cuts fewer than f values at each end" },
		{ DML_AGG_OUT_KRUM_N, "krum with n <= 2f + 2: the neighbour count was clamped" },
		{ DML_AGG_OUT_SELECT, "multi-krum selects more than n - f updates" },
	};
	char id[DML_ID_LEN + 1], a[40], z[40], e[40];
	const struct dml_error *err = NULL;
	size_t i;

	for (i = 0; i < sizeof(caveats) / sizeof(caveats[0]) && err == NULL; i++)
		if (outside & caveats[i].bit)
			err = dml_stmt_builder_add(b, "caveat", caveats[i].text);
	for (i = 0; i < n && err == NULL; i++) {
		dml_id_format(id, c[i].id);
		if (c[i].accepted)
			err = dml_stmt_builder_add(b, "accepted", id);
		else
			err = dml_stmt_builder_addf(b, "rejected", "%s %s", id, c[i].why);
		if (err == NULL && c[i].accepted && c[i].u.dp) {
			dml_double_format(a, sizeof(a), c[i].u.dp_clip);
			dml_double_format(z, sizeof(z), c[i].u.dp_noise);
			dml_double_format(e, sizeof(e), c[i].epsilon);
			err = dml_stmt_builder_addf(b, "privacy", "%s %s %s %s", id, a, z, e);
		}
	}
	return err;
}

static const struct dml_error *
aggregate_verify(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	const struct dml_tree_item *rt = dml_tree_find(items, n, ROUND_DIR, 1);
	const struct dml_tree_item *ut = dml_tree_find(items, n, UPDATES_DIR, 1);
	struct dml_tree_item *ui = NULL;
	struct dml_buf *blobs = NULL, mfile = DML_BUF_INIT, stored = DML_BUF_INIT;
	struct candidate *c = NULL;
	struct dml_stmt_builder b;
	struct opened o;
	struct dml_model model;
	unsigned char id[32];
	unsigned outside = 0;
	size_t un = 0, i, k;
	const struct dml_error *err;

	memset(&o, 0, sizeof(o));
	dml_model_init(&model);
	dml_stmt_builder_init(&b, "round.aggregate");
	if (rt == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry does not carry its round");
	if ((err = opened_load(r, &rt->oid, &o)))
		return err;
	dml_stmt_id(s, "round", 1, id);
	if (memcmp(id, o.stmt->id, 32) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the entry carries another round");
		goto done;
	}
	if (ut && (err = dml_repo_tree_read(r, &ut->oid, &ui, &un)))
		goto done;
	if (un != dml_stmt_u64(s, "updates")) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the entry carries %zu updates, it says %llu", un,
		    (unsigned long long)dml_stmt_u64(s, "updates"));
		goto done;
	}
	if ((c = calloc(un ? un : 1, sizeof(*c))) == NULL ||
	    (blobs = calloc(un ? un : 1, sizeof(*blobs))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < un; i++) {
		char why[DML_TEXT_MAX + 1];
		if (ui[i].is_tree || strlen(ui[i].name) != 64 ||
		    dml_hex_decode(c[i].id, 32, ui[i].name, 64)) {
			err = dml_error_fmt(DML_ERR_VERIFY, "updates/%s is not an update", ui[i].name);
			goto done;
		}
		if ((err = dml_repo_blob_read(r, &ui[i].oid, &blobs[i])))
			goto done;
		c[i].file = blobs[i].data;
		c[i].len = blobs[i].len;
		dml_sha256(id, blobs[i].data, blobs[i].len);
		if (memcmp(id, c[i].id, 32) != 0) {
			err = dml_error_fmt(DML_ERR_VERIFY, "updates/%s holds another update",
			    ui[i].name);
			goto done;
		}
		/* the ledger's reasons come from the statement (aggregate_check confirms them) */
		if (verdict(s, c[i].id, why, sizeof(why)) == 0) {
			if (strcmp(why, DML_REASON_NOT_MEMBER) == 0)
				c[i].ledger_reason = DML_REASON_NOT_MEMBER;
			else if (strcmp(why, DML_REASON_REVOKED) == 0)
				c[i].ledger_reason = DML_REASON_REVOKED;
			else if (strcmp(why, DML_REASON_DUPLICATE) == 0)
				c[i].ledger_reason = DML_REASON_DUPLICATE;
		}
		/* the contributor is the signer the header names (submit_verify) */
		{
			struct dml_update tmp;
			if ((err = dml_update_header(&tmp, c[i].file, c[i].len)))
				goto done;
			c[i].contributor = tmp.signer;
			dml_update_release(&tmp);
		}
	}
	if ((err = judge_and_combine(o.stmt, &o.base, o.base_id, c, un, &mfile, &model,
	    &outside)))
		goto done;
	dml_stmt_id(s, "model", 0, id);
	if ((err = dml_entry_object(r, items, n, id, &stored)))
		goto done;
	if (stored.len != mfile.len || memcmp(stored.data, mfile.data, mfile.len) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the aggregate recomputed differs from the "
		    "stored model");
		goto done;
	}
	if ((err = outcome_fields(&b, c, un, outside)))
		goto done;
	for (k = 0; k < b.nfields; k++)
		if (!has_text(s, b.fields[k].name, b.fields[k].value)) {
			err = dml_error_fmt(DML_ERR_VERIFY, "recomputed '%s %s' is not recorded",
			    b.fields[k].name, b.fields[k].value);
			goto done;
		}
done:
	for (i = 0; blobs && i < un; i++)
		dml_buf_release(&blobs[i]);
	free(blobs);
	candidates_release(c, un);
	dml_tree_items_free(ui, un);
	dml_buf_release(&mfile);
	dml_buf_release(&stored);
	dml_model_release(&model);
	dml_stmt_builder_release(&b);
	opened_release(&o);
	return err;
}

static const char *const aggregate_store[] = { ROUND_DIR, UPDATES_DIR, NULL };

/* The stored base model must have the layout the statement describes. */
static const struct dml_error *
open_verify(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	struct dml_buf blob = DML_BUF_INIT, e = DML_BUF_INIT;
	struct dml_model m;
	struct params p;
	const struct dml_field *f;
	unsigned char id[32];
	size_t i, k = 0;
	const struct dml_error *err;

	dml_model_init(&m);
	dml_stmt_id(s, "base", 0, id);
	params_from_stmt(s, &p);
	if ((err = dml_entry_object(r, items, n, id, &blob)) ||
	    (err = dml_model_decode(&m, blob.data, blob.len)))
		goto done;
	if (m.kind != p.kind || m.has_intercept != dml_stmt_has(s, "options", "intercept")) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the base model's kind or intercept differs "
		    "from the round's");
		goto done;
	}
	if ((err = dml_name_escape(m.target, &e)))
		goto done;
	f = dml_stmt_field(s, "target");
	if (f->len != e.len || memcmp(f->value, e.data, e.len) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the base model predicts another target");
		goto done;
	}
	/* the same set of columns (the statement sorts them by their escaped spelling) */
	for (k = 0, i = 0; dml_stmt_next(s, "column", &i);)
		k++;
	if (k != m.nfeatures) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the base model has %zu features, the round %zu "
		    "columns", m.nfeatures, k);
		goto done;
	}
	for (i = 0; i < m.nfeatures && err == NULL; i++) {
		size_t j = 0;
		if (m.features[i].category) {
			err = dml_error_fmt(DML_ERR_VERIFY, "the base model has a one-hot feature");
			break;
		}
		dml_buf_reset(&e);
		if ((err = dml_name_escape(m.features[i].column, &e)))
			break;
		while ((f = dml_stmt_next(s, "column", &j)) &&
		    (f->len != e.len || memcmp(f->value, e.data, e.len) != 0))
			;
		if (f == NULL)
			err = dml_error_fmt(DML_ERR_VERIFY, "the round does not name the base model's "
			    "column '%s'", m.features[i].column);
	}
done:
	dml_model_release(&m);
	dml_buf_release(&blob);
	dml_buf_release(&e);
	return err;
}

const struct dml_entry_type dml_type_round_open = {
	.name = "round.open",
	.fields = open_fields,
	.nfields = sizeof(open_fields) / sizeof(open_fields[0]),
	.check = open_check,
	.apply = open_apply,
	.verify_store = open_verify,
};

const struct dml_entry_type dml_type_update_submit = {
	.name = "update.submit",
	.fields = submit_fields,
	.nfields = sizeof(submit_fields) / sizeof(submit_fields[0]),
	.check = submit_check,
	.apply = submit_apply,
	.verify_store = submit_verify,
};

const struct dml_entry_type dml_type_round_aggregate = {
	.name = "round.aggregate",
	.fields = aggregate_fields,
	.nfields = sizeof(aggregate_fields) / sizeof(aggregate_fields[0]),
	.check = aggregate_check,
	.apply = aggregate_apply,
	.store = aggregate_store,
	.verify_store = aggregate_verify,
};

const struct dml_entry_type dml_type_round_close = {
	.name = "round.close",
	.fields = close_fields,
	.nfields = sizeof(close_fields) / sizeof(close_fields[0]),
	.check = close_check,
	.apply = close_apply,
};

/* ---- commands ---- */

static const struct dml_error *
add_escaped(struct dml_stmt_builder *b, const char *field, const char *name)
{
	struct dml_buf e = DML_BUF_INIT;
	const struct dml_error *err;

	if ((err = dml_name_escape(name, &e)) == NULL)
		err = dml_stmt_builder_add(b, field, (const char *)e.data);
	dml_buf_release(&e);
	return err;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const struct dml_error *
dml_round_open(struct dml_ledger *l, const struct dml_key *k, const struct dml_round_opts *o,
    struct dml_stmt **out)
{
	struct dml_stmt_builder b;
	struct dml_model zero, *base;
	struct dml_buf mfile = DML_BUF_INIT;
	struct dml_attachment att;
	char num[64], id[DML_ID_LEN + 1], opts[32] = "";
	const char **cols = NULL;
	size_t i;
	const struct dml_error *err = NULL;

	dml_stmt_builder_init(&b, "round.open");
	dml_model_init(&zero);
	{
		enum dml_agg_rule rule;
		const struct dml_error *e = dml_agg_rule_parse(o->rule, &rule);
		if (e)
			return e;
	}
	/* the layout: the base model's, or zeros over the sorted columns */
	if (o->base) {
		base = (struct dml_model *)o->base;
	} else {
		if (o->ncolumns == 0)
			return dml_error_fmt(DML_ERR_USAGE, "a round needs feature columns or a base "
			    "model");
		if ((cols = malloc(o->ncolumns * sizeof(*cols))) == NULL)
			return dml_error_nomem();
		memcpy(cols, o->columns, o->ncolumns * sizeof(*cols));
		qsort(cols, o->ncolumns, sizeof(*cols), str_cmp);
		zero.kind = o->kind;
		zero.has_intercept = o->intercept;
		if ((zero.target = strdup(o->target)) == NULL ||
		    (zero.features = calloc(o->ncolumns, sizeof(*zero.features))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		zero.nfeatures = o->ncolumns;
		for (i = 0; i < o->ncolumns; i++)
			if ((zero.features[i].column = strdup(cols[i])) == NULL) {
				err = dml_error_nomem();
				goto done;
			}
		if (o->kind == DML_MODEL_LOGISTIC &&
		    ((zero.labels[0] = strdup("0")) == NULL || (zero.labels[1] = strdup("1")) == NULL)) {
			err = dml_error_nomem();
			goto done;
		}
		base = &zero;
	}
	if (base->kind != o->kind) {
		err = dml_error_fmt(DML_ERR_USAGE, "the base model is %s, the round %s",
		    dml_model_kind_name(base->kind), dml_model_kind_name(o->kind));
		goto done;
	}
	for (i = 0; i < base->nfeatures; i++)
		if (base->features[i].category) {
			err = dml_error_fmt(DML_ERR_USAGE, "rounds take numeric features only; the "
			    "base model one-hot encodes '%s'", base->features[i].column);
			goto done;
		}
	if ((err = dml_model_encode(base, &mfile)))
		goto done;
	att = (struct dml_attachment){ mfile.data, mfile.len, { 0 } };
	dml_attachment_hash(&att);
	if ((err = dml_stmt_builder_add(&b, "name", o->name)) ||
	    (err = dml_stmt_builder_add(&b, "kind", dml_model_kind_name(o->kind))) ||
	    (err = dml_stmt_builder_add(&b, "mode", dml_update_mode_name(o->mode))) ||
	    (err = dml_stmt_builder_add(&b, "rule", o->rule)) ||
	    (err = add_escaped(&b, "target", base->target)))
		goto done;
	for (i = 0; i < base->nfeatures; i++)
		if ((i == 0 || strcmp(base->features[i].column, base->features[i - 1].column)) &&
		    (err = add_escaped(&b, "column", base->features[i].column)))
			goto done;
	if (base->has_intercept)
		strcat(opts, "intercept,");
	if (o->strict)
		strcat(opts, "strict,");
	if (opts[0]) {
		opts[strlen(opts) - 1] = '\0';
		if ((err = dml_stmt_builder_add(&b, "options", opts)))
			goto done;
	}
	if (o->beta >= 0) {
		dml_double_format(num, sizeof(num), o->beta);
		if ((err = dml_stmt_builder_add(&b, "beta", num)))
			goto done;
	}
	dml_double_format(num, sizeof(num), o->lambda);
	dml_id_format(id, att.id);
	if ((err = dml_stmt_builder_addf(&b, "byzantine", "%u", o->byzantine)) ||
	    (o->select && (err = dml_stmt_builder_addf(&b, "select", "%u", o->select))) ||
	    (err = dml_stmt_builder_addf(&b, "local-steps", "%u", o->local_steps)) ||
	    (err = dml_stmt_builder_add(&b, "lambda", num)) ||
	    (err = dml_stmt_builder_addf(&b, "min-updates", "%u", o->min_updates)) ||
	    (err = dml_stmt_builder_add(&b, "base", id)) ||
	    (o->pool && (err = dml_stmt_builder_addf(&b, "pool", "%llu",
	    (unsigned long long)o->pool))))
		goto done;
	if (o->validation != UINT64_MAX) {
		struct dml_dataset_in *in;
		const struct dml_dataset_info *info;
		if ((err = dml_dataset_open(&in, l, o->validation)))
			goto done;
		info = dml_dataset_info(in);
		dml_id_format(id, info->stmt->id);
		err = dml_stmt_builder_addf(&b, "validation", "%s %llu %s", info->name,
		    (unsigned long long)info->version, id);
		dml_dataset_close(in);
		if (err)
			goto done;
	}
	err = dml_ledger_append(l, k, &b, o->time, &att, 1, out);
done:
	free(cols);
	dml_model_release(&zero);
	dml_buf_release(&mfile);
	dml_stmt_builder_release(&b);
	return err;
}

void
dml_round_info_release(struct dml_round_info *ri)
{
	dml_stmt_free(ri->stmt);
	dml_model_release(&ri->base);
	memset(ri, 0, sizeof(*ri));
}

const struct dml_error *
dml_round_info(struct dml_ledger *l, const char *name, struct dml_round_info *ri)
{
	const struct dml_round_head *h = dml_round_find(dml_ledger_state(l), name);
	struct dml_oid tree;
	struct opened o;
	struct params p;
	const struct dml_error *err;

	memset(ri, 0, sizeof(*ri));
	dml_model_init(&ri->base);
	if (h == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no round named '%s' (see 'dmlctl round "
		    "list')", name);
	if ((err = dml_ledger_entry_tree(l, h->open_seq, &tree)) ||
	    (err = opened_load(dml_ledger_repo(l), &tree, &o)))
		return err;
	ri->stmt = o.stmt;
	ri->base = o.base;
	memcpy(ri->base_id, o.base_id, 32);
	params_from_stmt(o.stmt, &p);
	ri->mode = p.mode;
	ri->lambda = p.lambda;
	ri->local_steps = (unsigned)dml_stmt_u64(o.stmt, "local-steps");
	return NULL;
}

const struct dml_error *
dml_update_train(const struct dml_round_info *ri, const char *path, char sep,
    int drop_missing, double dp_clip, double dp_noise, struct dml_update *u)
{
	struct dml_source src;
	size_t d = dml_model_dim(&ri->base), j, off = ri->base.has_intercept ? 1 : 0;
	unsigned char seed[DML_DP_SEED_LEN];
	double *start = NULL;
	const struct dml_error *err;

	dml_update_init(u);
	memcpy(u->round, ri->stmt->id, 32);
	memcpy(u->base, ri->base_id, 32);
	u->have_base = 1;
	u->mode = ri->mode;
	u->d = d;
	if (dp_clip > 0 && ri->mode != DML_UPDATE_WEIGHTS)
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy applies to weights-mode "
		    "rounds");
	if ((err = dml_source_file(&src, path, sep)))
		return err;
	if (ri->mode == DML_UPDATE_STATS) {
		if ((err = dml_local_stats(&ri->base, &src, drop_missing, &u->stats)))
			goto done;
		u->samples = u->stats.n;
		goto done;
	}
	if ((u->weights = malloc(d * sizeof(double))) == NULL ||
	    (start = malloc(d * sizeof(double))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if ((err = dml_local_fit(&ri->base, &src, ri->lambda, ri->local_steps ? ri->local_steps : 1,
	    drop_missing, u->weights, &u->samples)))
		goto done;
	if (dp_clip > 0) {
		if (off)
			start[0] = ri->base.intercept;
		for (j = 0; j < ri->base.nfeatures; j++)
			start[off + j] = ri->base.features[j].coef;
		u->dp = 1;
		u->dp_clip = dp_clip;
		u->dp_noise = dp_noise;
		/*
		 * The seed is a secret (dml/aggregate.h): whoever has it can
		 * subtract the noise.  The update carries only a commitment to it.
		 */
		dml_randombytes(seed, sizeof(seed));
		dml_sha256(u->dp_commit, seed, sizeof(seed));
		for (j = 0; j < d; j++)
			u->weights[j] -= start[j];
		err = dml_dp_clip_and_noise(u->weights, d, dp_clip, dp_noise, seed, u->weights,
		    NULL);
		dml_memzero(seed, sizeof(seed));
		if (err)
			goto done;
		for (j = 0; j < d; j++)
			u->weights[j] += start[j];
	}
done:
	free(start);
	if (err)
		dml_update_release(u);
	return err;
}

const struct dml_error *
dml_update_submit(struct dml_ledger *l, const struct dml_key *k, const void *file, size_t n,
    uint64_t time, struct dml_stmt **out)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_round_head *h = NULL;
	struct dml_update u;
	struct dml_stmt_builder b;
	struct dml_attachment att;
	char id[DML_ID_LEN + 1], key[DML_KEY_ID_LEN + 1];
	size_t i;
	const struct dml_error *err;

	/* signatures are verified before anything signed is used */
	if ((err = dml_update_decode(&u, file, n)))
		return err;
	if (!u.is_signed) {
		dml_update_release(&u);
		return dml_error_fmt(DML_ERR_USAGE, "the update is not signed (see 'dmlctl update "
		    "sign')");
	}
	for (i = 0; i < st->nrounds; i++)
		if (memcmp(st->rounds[i].open_id, u.round, 32) == 0)
			h = &st->rounds[i];
	if (h == NULL) {
		dml_update_release(&u);
		return dml_error_fmt(DML_ERR_NOTFOUND, "the update is for a round this ledger does "
		    "not have");
	}
	dml_stmt_builder_init(&b, "update.submit");
	att = (struct dml_attachment){ file, n, { 0 } };
	dml_attachment_hash(&att);
	dml_id_format(id, att.id);
	dml_pubkey_id(key, &u.signer);
	if ((err = dml_stmt_builder_add(&b, "round", h->name)) ||
	    (err = dml_stmt_builder_add(&b, "update", id)) ||
	    (err = dml_stmt_builder_add(&b, "contributor", key)) ||
	    (err = dml_stmt_builder_addf(&b, "samples", "%llu", (unsigned long long)u.samples)))
		goto done;
	err = dml_ledger_append(l, k, &b, time, &att, 1, out);
done:
	dml_update_release(&u);
	dml_stmt_builder_release(&b);
	return err;
}

void
dml_round_outcome_release(struct dml_round_outcome *o)
{
	dml_stmt_free(o->stmt);
	dml_model_release(&o->model);
	memset(o, 0, sizeof(*o));
	dml_model_init(&o->model);
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dml_tree_item *)a)->name,
	    ((const struct dml_tree_item *)b)->name);
}

const struct dml_error *
dml_round_aggregate(struct dml_ledger *l, const struct dml_key *k, const char *name,
    uint64_t time, struct dml_round_outcome *out)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_round_head *h = dml_round_find(st, name);
	struct dml_round_head hc;
	struct candidate *c = NULL;
	struct dml_buf *blobs = NULL, mfile = DML_BUF_INIT;
	struct dml_tree_item *items = NULL, extra[2];
	struct dml_stmt_builder b;
	struct dml_attachment att;
	struct dml_oid rtree;
	struct opened o;
	char id[DML_ID_LEN + 1], hex[65];
	unsigned outside = 0;
	size_t i, n = 0;
	const struct dml_error *err;

	memset(out, 0, sizeof(*out));
	memset(&o, 0, sizeof(o));
	dml_model_init(&out->model);
	dml_stmt_builder_init(&b, "round.aggregate");
	memset(extra, 0, sizeof(extra));
	if (h == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no round named '%s'", name);
	if ((err = round_is_open(st, name, &h)))
		return err;
	hc = *h;
	n = hc.nsubs;
	if ((err = dml_ledger_entry_tree(l, hc.open_seq, &rtree)) ||
	    (err = opened_load(dml_ledger_repo(l), &rtree, &o)))
		goto done;
	if ((c = calloc(n ? n : 1, sizeof(*c))) == NULL ||
	    (blobs = calloc(n ? n : 1, sizeof(*blobs))) == NULL ||
	    (items = calloc(n ? n : 1, sizeof(*items))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct dml_tree_item *ei = NULL;
		size_t en = 0;
		struct dml_stmt *s;
		const struct dml_tree_item *objs;
		struct dml_tree_item *oi = NULL;
		size_t on = 0;

		if ((err = dml_ledger_read(l, hc.subs[i].seq, &s, NULL)))
			goto done;
		dml_stmt_free(s);
		if ((err = dml_ledger_read_tree(l, hc.subs[i].seq, &ei, &en)))
			goto done;
		objs = dml_tree_find(ei, en, "objects", 1);
		dml_hex_encode(hex, hc.subs[i].update, 32);
		if (objs && (err = dml_repo_tree_read(dml_ledger_repo(l), &objs->oid, &oi, &on)) ==
		    NULL) {
			const struct dml_tree_item *it = dml_tree_find(oi, on, hex, 0);
			if (it == NULL)
				err = dml_error_fmt(DML_ERR_VERIFY, "entry #%llu lacks its update",
				    (unsigned long long)hc.subs[i].seq);
			else {
				items[i].oid = it->oid;
				err = dml_repo_blob_read(dml_ledger_repo(l), &it->oid, &blobs[i]);
			}
		}
		dml_tree_items_free(oi, on);
		dml_tree_items_free(ei, en);
		if (err)
			goto done;
		if ((items[i].name = strdup(hex)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		memcpy(c[i].id, hc.subs[i].update, 32);
		c[i].file = blobs[i].data;
		c[i].len = blobs[i].len;
		c[i].contributor = hc.subs[i].contributor;
		c[i].ledger_reason = hc.subs[i].reason;
	}
	if ((err = judge_and_combine(o.stmt, &o.base, o.base_id, c, n, &mfile, &out->model,
	    &outside)))
		goto done;
	att = (struct dml_attachment){ mfile.data, mfile.len, { 0 } };
	dml_attachment_hash(&att);
	dml_id_format(id, hc.open_id);
	if ((err = dml_stmt_builder_addf(&b, "round", "%s %s", name, id)))
		goto done;
	dml_id_format(id, att.id);
	if ((err = dml_stmt_builder_add(&b, "model", id)) ||
	    (err = dml_stmt_builder_addf(&b, "updates", "%zu", n)) ||
	    (err = outcome_fields(&b, c, n, outside)))
		goto done;
	for (i = 0; i < n; i++)
		out->accepted += (size_t)c[i].accepted;
	out->rejected = n - out->accepted;
	for (i = 0; i < n; i++)
		items[i].is_tree = 0;
	qsort(items, n, sizeof(*items), item_cmp);
	extra[0].name = (char *)ROUND_DIR;
	extra[0].is_tree = 1;
	extra[0].oid = rtree;
	extra[1].name = (char *)UPDATES_DIR;
	extra[1].is_tree = 1;
	if ((err = dml_repo_tree_write(dml_ledger_repo(l), &extra[1].oid, items, n)))
		goto done;
	err = dml_ledger_append_store(l, k, &b, time, &att, 1, extra, 2, &out->stmt);
done:
	for (i = 0; blobs && i < n; i++)
		dml_buf_release(&blobs[i]);
	free(blobs);
	for (i = 0; items && i < n; i++)
		free(items[i].name);
	free(items);
	candidates_release(c, n);
	dml_buf_release(&mfile);
	dml_stmt_builder_release(&b);
	opened_release(&o);
	return err;
}

const struct dml_error *
dml_round_close(struct dml_ledger *l, const struct dml_key *k, const char *name, uint64_t time,
    struct dml_stmt **out)
{
	const struct dml_round_head *h;
	struct dml_stmt_builder b;
	char id[DML_ID_LEN + 1];
	const struct dml_error *err;

	if ((err = round_is_open(dml_ledger_state(l), name, &h)))
		return err;
	dml_stmt_builder_init(&b, "round.close");
	dml_id_format(id, h->open_id);
	if ((err = dml_stmt_builder_addf(&b, "round", "%s %s", name, id)) == NULL)
		err = dml_ledger_append(l, k, &b, time, NULL, 0, out);
	dml_stmt_builder_release(&b);
	return err;
}

const struct dml_error *
dml_round_model(struct dml_ledger *l, const char *name, struct dml_model *m)
{
	const struct dml_round_head *h = dml_round_find(dml_ledger_state(l), name);
	struct dml_stmt *s = NULL;
	struct dml_tree_item *items = NULL;
	struct dml_buf blob = DML_BUF_INIT;
	unsigned char id[32];
	size_t n = 0;
	const struct dml_error *err;

	dml_model_init(m);
	if (h == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no round named '%s'", name);
	if (h->status != DML_ROUND_AGGREGATED)
		return dml_error_fmt(DML_ERR_NOTFOUND, "round '%s' is %s, not aggregated", name,
		    status_name(h->status));
	if ((err = dml_ledger_read(l, h->end_seq, &s, NULL)) == NULL &&
	    (err = dml_ledger_read_tree(l, h->end_seq, &items, &n)) == NULL) {
		dml_stmt_id(s, "model", 0, id);
		if ((err = dml_entry_object(dml_ledger_repo(l), items, n, id, &blob)) == NULL)
			err = dml_model_decode(m, blob.data, blob.len);
	}
	dml_buf_release(&blob);
	dml_tree_items_free(items, n);
	dml_stmt_free(s);
	return err;
}

/* ---- an aggregated round, as its aggregate entry carries it (for rewards) ---- */

void
dml_round_data_release(struct dml_round_data *rd)
{
	size_t i;

	for (i = 0; rd->accepted && i < rd->naccepted; i++)
		dml_update_release(&rd->accepted[i]);
	free(rd->accepted);
	dml_stmt_free(rd->open);
	dml_stmt_free(rd->agg);
	dml_model_release(&rd->base);
	memset(rd, 0, sizeof(*rd));
	dml_model_init(&rd->base);
}

const struct dml_error *
dml_round_data_load(struct dml_repo *r, const struct dml_oid *tree, struct dml_round_data *rd)
{
	struct dml_tree_item *items = NULL, *ui = NULL;
	const struct dml_tree_item *it, *rt, *ut;
	struct dml_buf text = DML_BUF_INIT;
	struct opened o;
	struct params p;
	const struct dml_field *f;
	size_t n = 0, un = 0, i = 0, k;
	const struct dml_error *err;

	memset(rd, 0, sizeof(*rd));
	dml_model_init(&rd->base);
	memset(&o, 0, sizeof(o));
	if ((err = dml_repo_tree_read(r, tree, &items, &n)))
		return err;
	if ((it = dml_tree_find(items, n, "statement", 0)) == NULL ||
	    (rt = dml_tree_find(items, n, ROUND_DIR, 1)) == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "not a round.aggregate entry's tree");
		goto done;
	}
	if ((err = dml_repo_blob_read(r, &it->oid, &text)) ||
	    (err = dml_stmt_parse(&rd->agg, (const char *)text.data, text.len)))
		goto done;
	if (strcmp(rd->agg->type->name, "round.aggregate") != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "not a round.aggregate entry's tree");
		goto done;
	}
	if ((err = opened_load(r, &rt->oid, &o)))
		goto done;
	rd->open = o.stmt;
	rd->base = o.base;
	o.stmt = NULL;
	dml_model_init(&o.base);
	params_from_stmt(rd->open, &p);
	rd->mode = p.mode;
	rd->rule = p.rule;
	rd->ap = p.ap;
	rd->lambda = p.lambda;
	if ((f = dml_stmt_field(rd->open, "validation")) != NULL) {
		char num[24];
		dml_field_part_str(f, 0, rd->vname, sizeof(rd->vname));
		dml_field_part_str(f, 1, num, sizeof(num));
		rd->vversion = strtoull(num, NULL, 10);
		dml_stmt_id(rd->open, "validation", 2, rd->ventry);
		rd->have_validation = 1;
	}
	for (k = 0, i = 0; dml_stmt_next(rd->agg, "accepted", &i);)
		k++;
	if ((rd->accepted = calloc(k ? k : 1, sizeof(*rd->accepted))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if ((ut = dml_tree_find(items, n, UPDATES_DIR, 1)) != NULL &&
	    (err = dml_repo_tree_read(r, &ut->oid, &ui, &un)))
		goto done;
	/* the accepted updates, in the statement's order, which is their IDs' */
	i = 0;
	while ((f = dml_stmt_next(rd->agg, "accepted", &i)) != NULL) {
		unsigned char id[32], got[32];
		char hex[65];
		const struct dml_tree_item *u;
		dml_id_parse(id, f->value, f->len);
		dml_hex_encode(hex, id, 32);
		if ((u = dml_tree_find(ui, un, hex, 0)) == NULL) {
			err = dml_error_fmt(DML_ERR_VERIFY, "accepted update sha256:%.16s is not carried",
			    hex);
			goto done;
		}
		dml_buf_reset(&text);
		if ((err = dml_repo_blob_read(r, &u->oid, &text)))
			goto done;
		dml_sha256(got, text.data, text.len);
		if (memcmp(got, id, 32) != 0) {
			err = dml_error_fmt(DML_ERR_VERIFY, "update sha256:%.16s does not match its ID",
			    hex);
			goto done;
		}
		if ((err = dml_update_decode(&rd->accepted[rd->naccepted], text.data, text.len)))
			goto done;
		rd->naccepted++;
	}
done:
	dml_buf_release(&text);
	dml_tree_items_free(items, n);
	dml_tree_items_free(ui, un);
	opened_release(&o);
	if (err)
		dml_round_data_release(rd);
	return err;
}
