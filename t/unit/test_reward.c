/*
 * test_reward.c - reward.pay entries through the library (dml/reward.h)
 * and the balances they move (dml_state_credit, dml_state_balance).
 *
 * Each ledger test builds a fresh repository whose genesis gives the
 * founder (a treasurer) a supply, publishes a validation CSV, opens a
 * stats-mode ridge round on it, lets parties train and submit updates
 * from local CSV files and aggregates it.
 *
 * A genuine payment must move exactly the pool, equal what compute said,
 * verify, and not happen twice.  Then the forgeries: reward.pay entries
 * the treasurer could sign, built field by field the way dml_reward_pay
 * builds them and carrying the same trees, that the ledger state accepts
 * (it checks membership, the sum and the balance, not the values):
 *   - the true values and split: verification passes (the control: the
 *     construction itself is faithful);
 *   - one value moved within DML_REWARD_ATOL, its split recomputed: passes
 *     (the documented tolerance);
 *   - one value moved by 1e-6: the data check fails naming the value;
 *   - one token moved between two payees, the sum kept: the data check
 *     fails naming the split.
 * A payment the state must refuse (a sum that is not the pool, a payee
 * listed twice, a payee's balance that would pass 2^64 - 1) must leave no
 * entry behind: appending writes an entry before applying it, so what the
 * state's check lets through must apply.
 *
 * Last, dml_state_credit and dml_state_balance on their own: the edges of
 * 0..2^64-1, refusals that leave the state exactly as it was, and keys
 * inserted in any order.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dml/dataset.h"
#include "dml/ledger.h"
#include "dml/payout.h"
#include "dml/repo.h"
#include "dml/reward.h"
#include "dml/round.h"
#include "dml/update.h"

/* 0 founder (treasurer); 1..3 parties; 4 member and treasurer; 5 never a member */
#define NKEYS 6

struct fixture {
	char dir[64];
	struct dml_repo *repo;
	struct dml_key *k[NKEYS];
	struct dml_ledger *l;
	uint64_t time;
	uint64_t vseq;		/* the validation dataset's entry */
};

static void
ok(const struct dml_error *err)
{
	if (err)
		fail_msg("unexpected error: %s", err->msg);
}

static void
expect_error(const struct dml_error *err, enum dml_error_code code, const char *part)
{
	if (err == NULL)
		fail_msg("expected an error containing \"%s\"", part);
	if (err->code != code || strstr(err->msg, part) == NULL)
		fail_msg("expected code %d containing \"%s\", got %d: %s", (int)code, part,
		    (int)err->code, err->msg);
}

static struct dml_key *
key_seed(unsigned char fill)
{
	unsigned char seed[32];
	struct dml_key *k = NULL;

	memset(seed, fill, sizeof(seed));
	ok(dml_key_from_seed(&k, seed));
	return k;
}

/* Write rows of (x1, x2, y) for party p to <dir>/<name>.csv. */
static void
write_csv(struct fixture *f, const char *name, int p, int rows, char *path, size_t n)
{
	FILE *fp;
	int i;

	snprintf(path, n, "%s/%s.csv", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "x1,x2,y\n");
	for (i = 0; i < rows; i++) {
		int x1 = (i * 7 + p) % 13 - 6, x2 = (i * i + 3 * p) % 11 - 5;
		double noise = 0.3 * (double)((i * 37 + 11 * p) % 13 - 6);
		/* party 3's targets are mostly noise: it is worth the least */
		double y = p == 3 ? 4 * noise : 1 + 2 * x1 - 0.5 * x2 + noise;
		fprintf(fp, "%d,%d,%.17g\n", x1, x2, y);
	}
	assert_int_equal(fclose(fp), 0);
}

/* A genesis supply line: key index (< 0 ends a list) and units. */
struct supply {
	int key;
	uint64_t units;
};

/*
 * A ledger whose genesis admits every key but the last, with the given
 * supply lines, and a published validation set.
 */
static struct fixture *
fixture_new(const struct supply *supply)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dml_genesis g;
	struct dml_stmt *s = NULL;
	struct dml_publish_opts po;
	struct dml_publish_result pr;
	char members[NKEYS - 1][DML_KEY_ID_LEN + 64], sup[NKEYS][DML_KEY_ID_LEN + 32];
	char id[DML_KEY_ID_LEN + 1], path[128];
	const char *mp[NKEYS - 1], *sp[NKEYS];
	int created, i, fd;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-reward.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	ok(dml_repo_init(&f->repo, f->dir, 1, &created));
	for (i = 0; i < NKEYS; i++)
		f->k[i] = key_seed((unsigned char)(0x60 + i));
	for (i = 0; i < NKEYS - 1; i++) {
		dml_pubkey_id(id, &f->k[i]->pub);
		snprintf(members[i], sizeof(members[i]), "%s %s", id,
		    i == 0 ? dml_default_founder_roles : i == 4 ? "member,treasurer" : "member");
		mp[i] = members[i];
	}
	memset(&g, 0, sizeof(g));
	g.name = "rewards";
	g.members = mp;
	g.nmembers = NKEYS - 1;
	g.rules = dml_default_rules;
	g.nrules = dml_default_nrules;
	for (i = 0; supply[i].key >= 0; i++) {
		dml_pubkey_id(id, &f->k[supply[i].key]->pub);
		snprintf(sup[i], sizeof(sup[i]), "%s %llu", id,
		    (unsigned long long)supply[i].units);
		sp[i] = sup[i];
	}
	g.supply = sp;
	g.nsupply = (size_t)i;
	ok(dml_ledger_create(f->repo, f->k[0], &g, 1000, &s));
	dml_stmt_free(s);
	ok(dml_ledger_open(&f->l, f->repo, 0));
	f->time = 2000;

	write_csv(f, "validation", 9, 40, path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	memset(&po, 0, sizeof(po));
	memset(&pr, 0, sizeof(pr));
	po.name = "val";
	po.sep = ',';
	po.allow = "evaluate,train";
	po.what = path;
	po.time = f->time++;
	po.threads = 1;
	ok(dml_dataset_publish(f->l, f->k[0], fd, &po, &pr));
	close(fd);
	f->vseq = pr.stmt->seq;
	dml_stmt_free(pr.stmt);
	return f;
}


static int
setup(void **state)
{
	static const struct supply supply[] = { { 0, 1000000 }, { -1, 0 } };

	*state = fixture_new(supply);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	int i;

	dml_ledger_free(f->l);
	dml_repo_free(f->repo);
	for (i = 0; i < NKEYS; i++)
		dml_key_free(f->k[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Open a stats-mode ridge round with the given pool (0: none). */
static void
open_round(struct fixture *f, const char *name, uint64_t pool)
{
	static const char *const cols[] = { "x1", "x2" };
	struct dml_round_opts o;
	struct dml_stmt *s = NULL;

	memset(&o, 0, sizeof(o));
	o.name = name;
	o.kind = DML_MODEL_RIDGE;
	o.mode = DML_UPDATE_STATS;
	o.rule = "fedavg";
	o.target = "y";
	o.columns = cols;
	o.ncolumns = 2;
	o.intercept = 1;
	o.beta = -1;
	o.local_steps = 1;
	o.lambda = 1;
	o.min_updates = 1;
	o.validation = f->vseq;
	o.pool = pool;
	o.time = f->time++;
	ok(dml_round_open(f->l, f->k[0], &o, &s));
	dml_stmt_free(s);
}

/* Party p (key p) trains on its own CSV of `rows` rows, signs and submits. */
static void
contribute(struct fixture *f, const char *round, int p, int rows)
{
	struct dml_round_info ri;
	struct dml_update u;
	struct dml_buf file = DML_BUF_INIT;
	struct dml_stmt *s = NULL;
	char path[128], name[32];

	snprintf(name, sizeof(name), "%s-p%d", round, p);
	write_csv(f, name, p, rows, path, sizeof(path));
	ok(dml_round_info(f->l, round, &ri));
	ok(dml_update_train(&ri, path, ',', 0, 0, 0, &u));
	dml_round_info_release(&ri);
	ok(dml_update_encode(&u, f->k[p], &file));
	ok(dml_update_submit(f->l, f->k[p], file.data, file.len, f->time++, &s));
	dml_stmt_free(s);
	dml_update_release(&u);
	dml_buf_release(&file);
}

static void
aggregate(struct fixture *f, const char *round)
{
	struct dml_round_outcome out;

	ok(dml_round_aggregate(f->l, f->k[0], round, f->time++, &out));
	dml_round_outcome_release(&out);
}

/* Round "r" with pool 1000 and parties 1, 2, 3, aggregated. */
static void
three_party_round(struct fixture *f)
{
	open_round(f, "r", 1000);
	contribute(f, "r", 1, 30);
	contribute(f, "r", 2, 45);
	contribute(f, "r", 3, 25);
	aggregate(f, "r");
}

static void
opts_exact(struct dml_reward_opts *o, const char *round)
{
	memset(o, 0, sizeof(*o));
	o->round = round;
	o->method = DML_SHAPLEY_EXACT;
	o->threads = 2;
}

static uint64_t
balance(struct fixture *f, int k)
{
	return dml_state_balance(dml_ledger_state(f->l), &f->k[k]->pub);
}

/* The contributor index of key k in r, or -1. */
static int
index_of(const struct dml_reward *r, const struct dml_key *k)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (memcmp(r->keys[i].pk, k->pub.pk, DML_PUBKEY_LEN) == 0)
			return (int)i;
	return -1;
}

/* The tree of entry seq's commit. */
static void
entry_tree(struct fixture *f, uint64_t seq, struct dml_oid *tree)
{
	struct dml_stmt *s = NULL;
	struct dml_oid commit;
	struct dml_commit_info ci;

	ok(dml_ledger_read(f->l, seq, &s, &commit));
	dml_stmt_free(s);
	ok(dml_repo_commit_read(f->repo, &commit, &ci));
	*tree = ci.tree;
	dml_commit_info_release(&ci);
}

/*
 * Append, signed by the founder, the reward.pay entry dml_reward_pay would
 * write for round `round` with the method, utility, samples and pool of r
 * but the values `value` and tokens `tokens` (in r's contributor order),
 * carrying the round's aggregate tree and the validation dataset's tree.
 * Returns what appending returned; *seq receives the entry on success.
 */
static const struct dml_error *
forge_pay(struct fixture *f, const char *round, const struct dml_reward *r,
    const double *value, const uint64_t *tokens, uint64_t *seq)
{
	const struct dml_round_head *h = dml_round_find(dml_ledger_state(f->l), round);
	struct dml_stmt_builder b;
	struct dml_tree_item extra[2];
	struct dml_dataset_in *vin = NULL;
	struct dml_stmt *out = NULL;
	char id[DML_ID_LEN + 1], key[DML_KEY_ID_LEN + 1], v[40];
	const struct dml_error *err;
	size_t i;

	assert_non_null(h);
	assert_int_equal(h->status, DML_ROUND_AGGREGATED);
	dml_stmt_builder_init(&b, "reward.pay");
	dml_id_format(id, h->end_id);
	ok(dml_stmt_builder_addf(&b, "round", "%s %s", round, id));
	ok(dml_stmt_builder_add(&b, "method", dml_shapley_method_name(r->method)));
	ok(dml_stmt_builder_add(&b, "utility", r->utility));
	ok(dml_stmt_builder_addf(&b, "samples", "%llu", (unsigned long long)r->samples));
	ok(dml_stmt_builder_addf(&b, "pool", "%llu", (unsigned long long)r->pool));
	for (i = 0; i < r->n; i++) {
		dml_pubkey_id(key, &r->keys[i]);
		dml_double_format(v, sizeof(v), value[i]);
		ok(dml_stmt_builder_addf(&b, "pay", "%s %llu %s", key,
		    (unsigned long long)tokens[i], v));
	}
	memset(extra, 0, sizeof(extra));
	extra[0].name = (char *)"aggregate";
	extra[0].is_tree = 1;
	entry_tree(f, h->end_seq, &extra[0].oid);
	ok(dml_dataset_open(&vin, f->l, f->vseq));
	extra[1].name = (char *)"validation";
	extra[1].is_tree = 1;
	extra[1].oid = dml_dataset_info(vin)->tree;
	err = dml_ledger_append_store(f->l, f->k[0], &b, f->time++, NULL, 0, extra, 2, &out);
	if (err == NULL) {
		*seq = out->seq;
		dml_stmt_free(out);
	}
	dml_dataset_close(vin);
	dml_stmt_builder_release(&b);
	return err;
}

/*
 * Verify the ledger: every entry passes, except entry `bad` (UINT64_MAX:
 * none), a reward.pay whose signatures and objects are fine and whose data
 * check fails with a reason containing `why` and then `why2`.
 */
static void
verify(struct fixture *f, uint64_t bad, const char *why, const char *why2)
{
	struct dml_verify_report rep;
	struct dml_verify_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.threads = 2;
	ok(dml_ledger_verify(f->repo, &o, &rep));
	assert_int_equal(rep.nentries, dml_ledger_count(f->l));
	assert_int_equal(rep.failed, bad != UINT64_MAX);
	for (i = 0; i < rep.nentries; i++) {
		const struct dml_verify_entry *e = &rep.entries[i];
		const char *p;
		if (e->seq != bad) {
			if (e->why)
				fail_msg("entry %llu fails: %s", (unsigned long long)e->seq,
				    e->why);
			continue;
		}
		assert_string_equal(e->type, "reward.pay");
		assert_int_equal(e->ok[DML_CHECK_SIGNATURE], 1);
		assert_int_equal(e->ok[DML_CHECK_COMMIT_SIGNATURE], 1);
		assert_int_equal(e->ok[DML_CHECK_OBJECTS], 1);
		assert_int_equal(e->ok[DML_CHECK_DATA], 0);
		assert_non_null(e->why);
		if ((p = strstr(e->why, why)) == NULL || strstr(p, why2) == NULL)
			fail_msg("reason '%s' does not mention '%s' ... '%s'", e->why, why, why2);
	}
	dml_verify_report_release(&rep);
}

/* ---------------------------------------------------------------------------
 * Payments */

static void
test_pay(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward c, p;
	struct dml_stmt *s = NULL;
	uint64_t before[NKEYS], count, sum = 0;
	size_t i;
	int k;

	three_party_round(f);
	for (k = 0; k < NKEYS; k++)
		before[k] = balance(f, k);
	assert_int_equal(before[0], 1000000);
	assert_int_equal(before[1], 0);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &c));
	assert_int_equal(c.n, 3);
	assert_int_equal(c.pool, 1000);
	assert_string_equal(c.utility, "mse");
	/* computing writes nothing */
	count = dml_ledger_count(f->l);
	ok(dml_reward_pay(f->l, f->k[0], &o, f->time++, &p, &s));
	assert_int_equal(dml_ledger_count(f->l), count + 1);
	assert_non_null(s);
	assert_string_equal(s->type->name, "reward.pay");
	assert_int_equal(dml_round_find(dml_ledger_state(f->l), "r")->paid_seq, s->seq);
	/* what is paid is what compute said, to the bit */
	assert_int_equal(p.n, c.n);
	assert_memory_equal(p.value, c.value, c.n * sizeof(double));
	assert_memory_equal(p.tokens, c.tokens, c.n * sizeof(uint64_t));
	assert_memory_equal(p.keys, c.keys, c.n * sizeof(*c.keys));
	/* the pool moved from the treasurer to the contributors, and nothing else */
	assert_int_equal(balance(f, 0), before[0] - 1000);
	for (k = 1; k < NKEYS; k++) {
		int j = index_of(&p, f->k[k]);
		assert_int_equal(balance(f, k), before[k] + (j < 0 ? 0 : p.tokens[j]));
		assert_true((k >= 1 && k <= 3) == (j >= 0));
	}
	for (i = 0; i < p.n; i++)
		sum += p.tokens[i];
	assert_int_equal(sum, 1000);
	/* the noisy party is worth the least and gets the least */
	k = index_of(&p, f->k[3]);
	for (i = 0; i < p.n; i++)
		if ((int)i != k) {
			assert_true(p.value[i] > p.value[k]);
			assert_true(p.tokens[i] > p.tokens[k]);
		}
	verify(f, UINT64_MAX, NULL, NULL);
	dml_stmt_free(s);
	s = NULL;
	dml_reward_release(&p);

	/* once only, and the refusal leaves everything as it was */
	count = dml_ledger_count(f->l);
	expect_error(dml_reward_pay(f->l, f->k[0], &o, f->time++, &p, &s), DML_ERR_VERIFY,
	    "was paid at entry #");
	assert_null(s);
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_int_equal(balance(f, 0), before[0] - 1000);
	/* nor may another treasurer, with another pool */
	o.have_pool = 1;
	o.pool = 1;
	expect_error(dml_reward_pay(f->l, f->k[4], &o, f->time++, &p, &s), DML_ERR_VERIFY,
	    "was paid at entry #");
	assert_int_equal(dml_ledger_count(f->l), count);
	dml_reward_release(&c);
}

static void
test_pay_refusals(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	struct dml_stmt *s = NULL;
	uint64_t count;

	three_party_round(f);
	open_round(f, "open", 10);
	contribute(f, "open", 1, 20);
	count = dml_ledger_count(f->l);
	opts_exact(&o, "open");
	expect_error(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s), DML_ERR_USAGE,
	    "is not aggregated");
	opts_exact(&o, "nosuch");
	expect_error(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s), DML_ERR_NOTFOUND,
	    "no round named 'nosuch'");
	/* a treasurer holding nothing */
	opts_exact(&o, "r");
	expect_error(dml_reward_pay(f->l, f->k[4], &o, f->time++, &r, &s), DML_ERR_DENIED,
	    "holds 0 tokens, short of the pool of 1000");
	/* one unit beyond the founder's balance */
	o.have_pool = 1;
	o.pool = 1000001;
	expect_error(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s), DML_ERR_DENIED,
	    "holds 1000000 tokens, short of the pool of 1000001");
	/* a utility that does not fit */
	opts_exact(&o, "r");
	o.utility = "accuracy";
	expect_error(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s), DML_ERR_USAGE,
	    "does not fit a ridge model");
	assert_null(s);
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_int_equal(balance(f, 0), 1000000);
	/* the whole balance may be paid */
	opts_exact(&o, "r");
	o.have_pool = 1;
	o.pool = 1000000;
	ok(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s));
	assert_int_equal(balance(f, 0), 0);
	dml_stmt_free(s);
	dml_reward_release(&r);
	verify(f, UINT64_MAX, NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * Forged reward.pay entries */

static void
test_forged_control(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	uint64_t seq = 0;

	three_party_round(f);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &r));
	ok(forge_pay(f, "r", &r, r.value, r.tokens, &seq));
	assert_int_equal(seq, dml_ledger_count(f->l) - 1);
	assert_int_equal(dml_round_find(dml_ledger_state(f->l), "r")->paid_seq, seq);
	assert_int_equal(balance(f, 0), 1000000 - 1000);
	verify(f, UINT64_MAX, NULL, NULL);
	dml_reward_release(&r);
}

/* A value moved within the documented tolerance, its split redone: accepted. */
static void
test_forged_within_tolerance(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	unsigned char keys[3 * DML_PUBKEY_LEN];
	double v[3];
	uint64_t t[3], seq = 0;
	size_t i;

	three_party_round(f);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &r));
	assert_int_equal(r.n, 3);
	memcpy(v, r.value, sizeof(v));
	v[0] += 0.5 * DML_REWARD_ATOL;
	assert_true(v[0] != r.value[0]);
	for (i = 0; i < 3; i++)
		memcpy(keys + i * DML_PUBKEY_LEN, r.keys[i].pk, DML_PUBKEY_LEN);
	ok(dml_payout_split(r.pool, v, keys, 3, t, NULL));
	ok(forge_pay(f, "r", &r, v, t, &seq));
	verify(f, UINT64_MAX, NULL, NULL);
	dml_reward_release(&r);
}

static void
test_forged_value(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	char key[DML_KEY_ID_LEN + 1];
	double v[3];
	uint64_t seq = 0;

	three_party_round(f);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &r));
	assert_int_equal(r.n, 3);
	memcpy(v, r.value, sizeof(v));
	v[1] += 1e-6;
	/* the tokens are the true split: only the value is wrong */
	ok(forge_pay(f, "r", &r, v, r.tokens, &seq));
	dml_pubkey_id(key, &r.keys[1]);
	verify(f, seq, "the value of '", key);
	dml_reward_release(&r);
}

static void
test_forged_split(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	char key[DML_KEY_ID_LEN + 1], want[64];
	uint64_t t[3], seq = 0;
	size_t from, to;

	three_party_round(f);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &r));
	assert_int_equal(r.n, 3);
	/* one token from the best-paid payee to another: the sum is kept */
	from = r.tokens[0] >= r.tokens[1] ? 0 : 1;
	from = r.tokens[from] >= r.tokens[2] ? from : 2;
	to = (from + 1) % 3;
	assert_true(r.tokens[from] > 0);
	memcpy(t, r.tokens, sizeof(t));
	t[from]--;
	t[to]++;
	ok(forge_pay(f, "r", &r, r.value, t, &seq));
	/* the state took it: the forger's payees hold the forged amounts */
	assert_int_equal(dml_state_balance(dml_ledger_state(f->l), &r.keys[to]), t[to]);
	dml_pubkey_id(key, &r.keys[from < to ? from : to]);
	snprintf(want, sizeof(want), "is paid %llu tokens, the split gives %llu",
	    (unsigned long long)t[from < to ? from : to],
	    (unsigned long long)r.tokens[from < to ? from : to]);
	verify(f, seq, key, want);
	dml_reward_release(&r);
}

/* A split that does not add up to the pool is not written at all. */
static void
test_forged_sum(void **state)
{
	struct fixture *f = *state;
	struct dml_reward_opts o;
	struct dml_reward r;
	uint64_t t[3], seq = 0, count;

	three_party_round(f);
	opts_exact(&o, "r");
	ok(dml_reward_compute(f->l, &o, &r));
	memcpy(t, r.tokens, sizeof(t));
	t[2]++;
	count = dml_ledger_count(f->l);
	expect_error(forge_pay(f, "r", &r, r.value, t, &seq), DML_ERR_VERIFY,
	    "the payouts sum to 1001, the pool is 1000");
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_int_equal(balance(f, 0), 1000000);
	/* nor is one payee listed twice (another's share moved to it) */
	r.keys[2] = r.keys[1];
	expect_error(forge_pay(f, "r", &r, r.value, r.tokens, &seq), DML_ERR_VERIFY,
	    "is listed twice");
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_int_equal(balance(f, 0), 1000000);
	dml_reward_release(&r);
	verify(f, UINT64_MAX, NULL, NULL);
}

/*
 * Three genesis supplies of INT64_MAX: party 1 is paid a whole pool of
 * INT64_MAX by the founder (2^64 - 2 in all), then a second treasurer
 * would pay it 2 more.  The state must refuse that before anything is
 * written, as it refuses any payment it could not apply.
 */
static void
test_payee_overflow(void **state)
{
	static const struct supply supply[] = {
		{ 0, INT64_MAX }, { 1, INT64_MAX }, { 4, INT64_MAX }, { -1, 0 }
	};
	struct fixture *f = fixture_new(supply);
	struct dml_reward_opts o;
	struct dml_reward r;
	struct dml_stmt *s = NULL;
	uint64_t count;

	*state = f;
	open_round(f, "a", INT64_MAX);
	contribute(f, "a", 1, 30);
	aggregate(f, "a");
	open_round(f, "b", 2);
	contribute(f, "b", 1, 30);
	aggregate(f, "b");
	opts_exact(&o, "a");
	ok(dml_reward_pay(f->l, f->k[0], &o, f->time++, &r, &s));
	dml_stmt_free(s);
	s = NULL;
	dml_reward_release(&r);
	assert_int_equal(balance(f, 0), 0);
	assert_true(balance(f, 1) == UINT64_MAX - 1);
	count = dml_ledger_count(f->l);
	opts_exact(&o, "b");
	expect_error(dml_reward_pay(f->l, f->k[4], &o, f->time++, &r, &s), DML_ERR_VERIFY,
	    "2^64");
	assert_null(s);
	assert_int_equal(dml_ledger_count(f->l), count);
	assert_true(balance(f, 1) == UINT64_MAX - 1);
	assert_true(balance(f, 4) == INT64_MAX);
	assert_int_equal(dml_round_find(dml_ledger_state(f->l), "b")->paid_seq, 0);
	/* nothing reached the repository either: it opens and verifies */
	{
		struct dml_ledger *again = NULL;
		ok(dml_ledger_open(&again, f->repo, 0));
		assert_int_equal(dml_ledger_count(again), count);
		dml_ledger_free(again);
	}
	verify(f, UINT64_MAX, NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * Balances */

static void
pk_fill(struct dml_pubkey *k, unsigned char b)
{
	memset(k, 0, sizeof(*k));
	memset(k->pk, b, DML_PUBKEY_LEN);
}

static void
assert_sorted(const struct dml_state *st)
{
	size_t i;

	for (i = 1; i < st->nbalances; i++)
		assert_true(memcmp(st->balances[i - 1].key.pk, st->balances[i].key.pk,
		    DML_PUBKEY_LEN) < 0);
}

static void
test_credit(void **state)
{
	struct dml_state st;
	struct dml_pubkey a, b, c, d;
	size_t i;

	(void)state;
	dml_state_init(&st);
	pk_fill(&a, 0xa0);
	pk_fill(&b, 0x0b);
	pk_fill(&c, 0xcc);
	pk_fill(&d, 0x55);
	assert_int_equal(dml_state_balance(&st, &a), 0);

	/* a key never credited cannot be debited, and is not added by trying */
	expect_error(dml_state_credit(&st, &a, 0, 1), DML_ERR_VERIFY, "2^64");
	assert_int_equal(st.nbalances, 0);
	expect_error(dml_state_credit(&st, &a, 4, 5), DML_ERR_VERIFY, "2^64");
	assert_int_equal(st.nbalances, 0);
	assert_int_equal(dml_state_balance(&st, &a), 0);

	/* credits, in any key order, are kept sorted and found */
	ok(dml_state_credit(&st, &a, 5, 0));
	ok(dml_state_credit(&st, &c, 7, 0));
	ok(dml_state_credit(&st, &b, 0, 0));
	ok(dml_state_credit(&st, &d, 9, 2));
	assert_int_equal(st.nbalances, 4);
	assert_sorted(&st);
	assert_int_equal(dml_state_balance(&st, &a), 5);
	assert_int_equal(dml_state_balance(&st, &b), 0);
	assert_int_equal(dml_state_balance(&st, &c), 7);
	assert_int_equal(dml_state_balance(&st, &d), 7);

	/* a debit beyond the balance: refused, nothing changes */
	expect_error(dml_state_credit(&st, &a, 0, 6), DML_ERR_VERIFY, "2^64");
	assert_int_equal(dml_state_balance(&st, &a), 5);
	expect_error(dml_state_credit(&st, &a, 1, 7), DML_ERR_VERIFY, "2^64");
	assert_int_equal(dml_state_balance(&st, &a), 5);
	/* down to exactly 0 is fine */
	ok(dml_state_credit(&st, &a, 0, 5));
	assert_int_equal(dml_state_balance(&st, &a), 0);
	assert_int_equal(st.nbalances, 4);

	/* up to exactly 2^64 - 1, and not one unit more */
	ok(dml_state_credit(&st, &c, UINT64_MAX - 7, 0));
	assert_true(dml_state_balance(&st, &c) == UINT64_MAX);
	expect_error(dml_state_credit(&st, &c, 1, 0), DML_ERR_VERIFY, "2^64");
	expect_error(dml_state_credit(&st, &c, UINT64_MAX, 0), DML_ERR_VERIFY, "2^64");
	assert_true(dml_state_balance(&st, &c) == UINT64_MAX);
	/* what the result is counts, not the order of the two parts */
	ok(dml_state_credit(&st, &c, 1, 1));
	assert_true(dml_state_balance(&st, &c) == UINT64_MAX);
	ok(dml_state_credit(&st, &c, UINT64_MAX, UINT64_MAX));
	assert_true(dml_state_balance(&st, &c) == UINT64_MAX);
	ok(dml_state_credit(&st, &c, 0, UINT64_MAX));
	assert_int_equal(dml_state_balance(&st, &c), 0);
	ok(dml_state_credit(&st, &b, UINT64_MAX, 0));
	expect_error(dml_state_credit(&st, &b, 2, 1), DML_ERR_VERIFY, "2^64");
	assert_true(dml_state_balance(&st, &b) == UINT64_MAX);

	/* a key never credited can take the whole range */
	pk_fill(&a, 0xff);
	ok(dml_state_credit(&st, &a, UINT64_MAX, 0));
	assert_true(dml_state_balance(&st, &a) == UINT64_MAX);
	assert_int_equal(st.nbalances, 5);
	assert_sorted(&st);
	for (i = 0; i < st.nbalances; i++)
		assert_true(dml_state_balance(&st, &st.balances[i].key) == st.balances[i].amount);
	dml_state_release(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pay_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_within_tolerance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_sum, setup, teardown),
		cmocka_unit_test_teardown(test_payee_overflow, teardown),
		cmocka_unit_test(test_credit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
