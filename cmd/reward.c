/*
 * reward.c - dmlctl reward: compute, pay, list; and dmlctl balance.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "dml/keystore.h"
#include "dml/reward.h"
#include "dml/round.h"

/* The options compute and pay share, bound to one struct. */
struct reward_args {
	const char *round, *method, *utility, *epsilon, *delta, *pool_s;
	uint64_t permutations, threads;
};

#define REWARD_OPTS(a) \
	{ OPT_STRING, 0, "round", "<round>", "the aggregated round", &(a)->round }, \
	{ OPT_STRING, 0, "method", "<method>", "exact (default), permutation, loo, banzhaf or " \
	    "proportional", &(a)->method }, \
	{ OPT_STRING, 0, "utility", "<metric>", "mse (ols, ridge), accuracy or log-loss " \
	    "(logistic)", &(a)->utility }, \
	{ OPT_STRING, 0, "epsilon", "<e>", "permutation: target accuracy of each value", \
	    &(a)->epsilon }, \
	{ OPT_STRING, 0, "delta", "<d>", "failure probability of the bounds (default 0.05)", \
	    &(a)->delta }, \
	{ OPT_UINT, 0, "permutations", "<n>", "permutation, banzhaf: samples to draw", \
	    &(a)->permutations }, \
	{ OPT_STRING, 0, "pool", "<units>", "tokens to split (default: the round's pool)", \
	    &(a)->pool_s }, \
	{ OPT_UINT, 0, "threads", "<n>", "threads (default: one per core; same results)", \
	    &(a)->threads }

static int
reward_parse(const struct reward_args *a, struct dml_reward_opts *o)
{
	enum dml_shapley_method m = DML_SHAPLEY_EXACT;
	char *end;

	memset(o, 0, sizeof(*o));
	if (a->round == NULL)
		return usage_error("give --round <round>");
	if (a->method && dml_shapley_method_parse(a->method, &m))
		return usage_error("--method '%s': expected exact, permutation, loo, banzhaf or "
		    "proportional", a->method);
	if (a->epsilon) {
		o->epsilon = strtod(a->epsilon, &end);
		if (*end || end == a->epsilon || !(o->epsilon > 0) || !isfinite(o->epsilon))
			return usage_error("--epsilon '%s': expected a number > 0", a->epsilon);
	}
	if (a->delta) {
		o->delta = strtod(a->delta, &end);
		if (*end || end == a->delta || !(o->delta > 0 && o->delta < 1))
			return usage_error("--delta '%s': expected a number in (0, 1)", a->delta);
	}
	if (m == DML_SHAPLEY_PERMUTATION && a->permutations == 0 && a->epsilon == NULL)
		return usage_error("--method permutation needs --permutations or --epsilon");
	if (a->permutations && m != DML_SHAPLEY_PERMUTATION && m != DML_SHAPLEY_BANZHAF)
		return usage_error("--permutations is for --method permutation or banzhaf");
	if (a->epsilon && m != DML_SHAPLEY_PERMUTATION)
		return usage_error("--epsilon is for --method permutation");
	if (a->pool_s) {
		errno = 0;
		if (a->pool_s[0] < '0' || a->pool_s[0] > '9')
			return usage_error("--pool '%s': expected a whole number", a->pool_s);
		o->pool = strtoull(a->pool_s, &end, 10);
		/* what an entry can record (and JSON print): as --supply and round open --pool */
		if (errno || *end || o->pool > INT64_MAX)
			return usage_error("--pool '%s': expected a whole number up to %lld",
			    a->pool_s, (long long)INT64_MAX);
		o->have_pool = 1;
	}
	if (a->threads > 1024)
		return usage_error("--threads: at most 1024");
	o->round = a->round;
	o->method = m;
	o->utility = a->utility;
	o->samples = a->permutations;
	o->threads = (unsigned)a->threads;
	return 0;
}

static int
print_reward(struct ctx *ctx, const struct dml_reward *r, const struct dml_stmt *s)
{
	double total = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		total += r->value[i] > 0 ? r->value[i] : 0;
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:f, s:f, s:I, s:I}", "method",
		    dml_shapley_method_name(r->method), "utility", r->utility, "pool",
		    (json_int_t)r->pool, "u_empty", r->u_empty, "u_full", r->u_full, "samples",
		    (json_int_t)r->samples, "evaluations", (json_int_t)r->evaluations);
		json_t *arr = json_array();
		if (s) {
			char id[DML_ID_LEN + 1];
			dml_id_format(id, s->id);
			json_object_set_new(o, "seq", json_integer((json_int_t)s->seq));
			json_object_set_new(o, "id", json_string(id));
		}
		for (i = 0; i < r->n; i++) {
			char key[DML_KEY_ID_LEN + 1];
			json_t *c;
			dml_pubkey_id(key, &r->keys[i]);
			c = json_pack("{s:s, s:f, s:f, s:I}", "key", key, "value", r->value[i],
			    "share", total > 0 && r->value[i] > 0 ? r->value[i] / total : 0.0,
			    "tokens", (json_int_t)r->tokens[i]);
			if (r->half_width && r->samples)
				json_object_set_new(c, "half_width", json_real(r->half_width[i]));
			json_array_append_new(arr, c);
		}
		json_object_set_new(o, "contributors", arr);
		return json_print(o);
	}
	if (s) {
		char id[DML_ID_LEN + 1];
		dml_id_format(id, s->id);
		printf("recorded the payout as entry #%llu %s\n", (unsigned long long)s->seq, id);
	}
	printf("%s values, utility %s: u(empty) %.6g, u(all) %.6g", dml_shapley_method_name(r->method),
	    r->utility, r->u_empty, r->u_full);
	if (r->samples)
		printf(", %llu samples", (unsigned long long)r->samples);
	printf("\n%-22s %14s %14s %8s %14s\n", "contributor", "value", r->samples ?
	    "interval" : "", "share", "tokens");
	for (i = 0; i < r->n; i++) {
		char fp[DML_KEY_FP_LEN + 1], hw[32] = "";
		dml_pubkey_fingerprint(fp, &r->keys[i]);
		if (r->half_width && r->samples)
			snprintf(hw, sizeof(hw), "+/- %.4g", r->half_width[i]);
		printf("%-22.22s %14.6g %14s %7.2f%% %14llu\n", fp, r->value[i], hw,
		    total > 0 && r->value[i] > 0 ? 100 * r->value[i] / total : 0.0,
		    (unsigned long long)r->tokens[i]);
	}
	printf("%-22s %14s %14s %8s %14llu\n", "pool", "", "", "", (unsigned long long)r->pool);
	return 0;
}

static int
reward_compute(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl reward compute --round <round> [--method <method>] [--utility <metric>]\n"
		"                             [--epsilon <e> [--delta <d>] | --permutations <n>]\n"
		"                             [--pool <units>] [--threads <n>] [--json]",
		NULL };
	struct reward_args a;
	struct opt opts[] = { REWARD_OPTS(&a), OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_reward_opts o;
	struct dml_reward r;
	struct dml_ledger *l;
	const struct dml_error *err;
	int n, rc;

	memset(&a, 0, sizeof(a));
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 0)
		return usage_error("'reward compute' takes no arguments (see --round)");
	if ((rc = reward_parse(&a, &o)) != 0)
		return rc;
	if ((err = ctx_ledger(ctx, &l)) || (err = dml_reward_compute(l, &o, &r)))
		return report(err);
	rc = print_reward(ctx, &r, NULL);
	dml_reward_release(&r);
	return rc;
}

static int
reward_pay(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl reward pay [-k <key>] --round <round> [--method <method>] [--utility <metric>]\n"
		"                         [--epsilon <e> [--delta <d>] | --permutations <n>]\n"
		"                         [--pool <units>] [--threads <n>] [--json]",
		NULL };
	struct reward_args a;
	struct opt opts[] = { OPT_KEY(&ctx->keyspec), REWARD_OPTS(&a), OPT_JSON(&ctx->json),
		{ OPT_END } };
	struct dml_reward_opts o;
	struct dml_reward r;
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	struct dml_stmt *s = NULL;
	const struct dml_error *err;
	uint64_t now;
	int n, rc;

	memset(&a, 0, sizeof(a));
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 0)
		return usage_error("'reward pay' takes no arguments (see --round)");
	if ((rc = reward_parse(&a, &o)) != 0)
		return rc;
	if ((err = now_seconds(&now)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)) ||
	    (err = dml_state_authorize(dml_ledger_state(l), &k->pub, "reward.pay")) ||
	    (err = dml_reward_pay(l, k, &o, now, &r, &s))) {
		dml_key_free(k);
		return report(err);
	}
	rc = ctx->quiet && !ctx->json ? 0 : print_reward(ctx, &r, s);
	dml_reward_release(&r);
	dml_stmt_free(s);
	dml_key_free(k);
	return rc;
}

static int
reward_list(struct ctx *ctx, int argc, char **argv)
{
	struct dml_ledger *l;
	const struct dml_state *st;
	const struct dml_error *err;
	json_t *arr;
	size_t i;
	int n;

	if ((n = list_begin(ctx, argc, argv, "reward", &l)) >= 0)
		return n;
	/* only now: the returns above would leak it */
	arr = json_array();
	st = dml_ledger_state(l);
	for (i = 0; i < st->nrounds; i++) {
		const struct dml_round_head *r = &st->rounds[i];
		struct dml_stmt *s;
		const struct dml_field *f;
		char m[DML_TOKEN_MAX + 1];
		uint64_t pool = 0;
		size_t j = 0, payees = 0;

		if (r->paid_seq == 0)
			continue;
		if ((err = dml_ledger_read(l, r->paid_seq, &s, NULL))) {
			json_decref(arr);
			return report(err);
		}
		dml_field_copy(dml_stmt_field(s, "method"), m, sizeof(m));
		dml_field_uint(dml_stmt_field(s, "pool"), &pool);
		while ((f = dml_stmt_next(s, "pay", &j)) != NULL)
			payees++;
		if (ctx->json)
			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:I, s:I}", "round",
			    r->name, "seq", (json_int_t)r->paid_seq, "method", m, "pool",
			    (json_int_t)pool, "payees", (json_int_t)payees));
		else
			printf("%-24s #%-6llu %-12s %14llu tokens to %zu contributor%s\n", r->name,
			    (unsigned long long)r->paid_seq, m, (unsigned long long)pool, payees,
			    payees == 1 ? "" : "s");
		dml_stmt_free(s);
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

static const struct verb reward_verbs[] = {
	{ "compute", reward_compute, "compute contribution values and token shares" },
	{ "pay", reward_pay, "record a round's payout in the ledger" },
	{ "list", reward_list, "list the rounds paid" },
	{ NULL, NULL, NULL }
};

int
cmd_reward(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "reward", reward_verbs, argc, argv);
}

/* A key by ID (ed25519:<hex>) or by the name of a key in the key directory. */
static const struct dml_error *
key_arg(const char *arg, struct dml_pubkey *pk)
{
	if (dml_pubkey_parse_id(pk, arg, strlen(arg)) == 0)
		return NULL;
	return dml_keystore_public(pk, arg);
}

int
cmd_balance(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl balance [--json] [<key>]", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	const struct dml_state *st;
	struct dml_pubkey pk;
	const struct dml_error *err;
	char id[DML_KEY_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
	json_t *arr;
	size_t i;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 1)
		return usage_error("'balance' takes at most one key");
	if ((err = ctx_ledger(ctx, &l)) || (n == 1 && (err = key_arg(argv[0], &pk))))
		return report(err);
	st = dml_ledger_state(l);
	if (n == 1) {
		dml_pubkey_id(id, &pk);
		if (ctx->json)
			return json_print(json_pack("{s:s, s:I}", "key", id, "balance",
			    (json_int_t)dml_state_balance(st, &pk)));
		printf("%llu\n", (unsigned long long)dml_state_balance(st, &pk));
		return 0;
	}
	arr = json_array();
	for (i = 0; i < st->nbalances; i++) {
		const struct dml_member *m = dml_state_member(st, &st->balances[i].key);
		dml_pubkey_id(id, &st->balances[i].key);
		dml_pubkey_fingerprint(fp, &st->balances[i].key);
		if (ctx->json)
			json_array_append_new(arr, json_pack("{s:s, s:s?, s:I}", "key", id, "name",
			    m ? m->name : NULL, "balance", (json_int_t)st->balances[i].amount));
		else
			printf("%-52s %-16s %20llu\n", fp, m && m->name ? m->name : "",
			    (unsigned long long)st->balances[i].amount);
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}
