/*
 * test_train.c - training through the library, and forged model.train
 * entries that verification must catch.
 *
 * Each test builds a ledger in a fresh temporary repository, publishes
 * generated CSV through a pipe with dml_dataset_publish, and trains with
 * dml_model_train (or dml_train on the opened datasets).  The forgeries are
 * entries a legitimate member could sign: a second version of a model whose
 * model file has one coefficient changed, or whose statement records another
 * metric, carrying the same datasets.  Appending accepts them (the ledger
 * state cannot tell); `ledger verify` must fail their data check and name
 * what differs.  The edge cases of the linear solver are checked against
 * answers worked out by hand or computed here by another method.
 */
#include <math.h>
#include <pthread.h>
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
#include "dml/model.h"
#include "dml/modelentry.h"
#include "dml/schema.h"
#include "dml/train.h"

/* ---------------------------------------------------------------------------
 * Fixture: a repository, a founder key and its ledger */

struct fixture {
	char dir[64];
	struct dml_repo *repo;
	struct dml_key *founder;
	struct dml_ledger *l;
	uint64_t time;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dml_genesis g;
	struct dml_stmt *s = NULL;
	char member[DML_KEY_ID_LEN + 64], id[DML_KEY_ID_LEN + 1];
	const char *mp = member;
	unsigned char seed[32];
	int created;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-train.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_null(dml_repo_init(&f->repo, f->dir, 1, &created));
	memset(seed, 7, sizeof(seed));
	assert_null(dml_key_from_seed(&f->founder, seed));
	dml_pubkey_id(id, &f->founder->pub);
	snprintf(member, sizeof(member), "%s %s", id, dml_default_founder_roles);
	memset(&g, 0, sizeof(g));
	g.name = "train";
	g.members = &mp;
	g.nmembers = 1;
	g.rules = dml_default_rules;
	g.nrules = dml_default_nrules;
	assert_null(dml_ledger_create(f->repo, f->founder, &g, 1000, &s));
	dml_stmt_free(s);
	assert_null(dml_ledger_open(&f->l, f->repo, 0));
	f->time = 2000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dml_ledger_free(f->l);
	dml_repo_free(f->repo);
	dml_key_free(f->founder);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Publishing generated CSV through a pipe */

struct writer {
	int fd;
	const char *p;
	size_t n;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->n) {
		ssize_t r = write(w->fd, w->p + off, w->n - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(w->fd);
	return NULL;
}

/* Publish csv as dataset `name` with the given terms; returns its entry seq. */
static uint64_t
publish(struct fixture *f, const char *name, const char *csv, const char *allow)
{
	struct dml_publish_opts o;
	struct dml_publish_result res;
	struct writer w;
	pthread_t th;
	int fds[2];
	uint64_t seq;

	assert_int_equal(pipe(fds), 0);
	w.fd = fds[1];
	w.p = csv;
	w.n = strlen(csv);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	o.name = name;
	o.sep = ',';
	o.allow = allow;
	o.what = "a pipe";
	o.time = f->time++;
	o.threads = 1;
	assert_null(dml_dataset_publish(f->l, f->founder, fds[0], &o, &res));
	assert_int_equal(pthread_join(th, NULL), 0);
	close(fds[0]);
	assert_non_null(res.stmt);
	seq = res.stmt->seq;
	dml_stmt_free(res.stmt);
	return seq;
}

/* A CSV text built with printf-style pieces (caller frees). */
struct text {
	char *p;
	size_t n;
	FILE *f;
};

static void
text_open(struct text *t)
{
	t->p = NULL;
	t->n = 0;
	t->f = open_memstream(&t->p, &t->n);
	assert_non_null(t->f);
}

static char *
text_close(struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
	return t->p;
}

/* A deterministic generator: splitmix64, uniform doubles in [lo, hi). */
static uint64_t rng_state;

static double
uniform(double lo, double hi)
{
	uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	return lo + (hi - lo) * ((double)(x >> 11) * 0x1p-53);
}

/*
 * y = 1 + 2 x1 - 3 x2 + 0.5 x3 + noise * (uniform noise), n rows; every x a
 * short binary fraction, so that without noise y is exact.
 */
static char *
linear_csv(size_t n, double noise)
{
	struct text t;
	size_t i;

	text_open(&t);
	fprintf(t.f, "x1,x2,x3,y\n");
	for (i = 0; i < n; i++) {
		double x1 = floor(uniform(-40, 40)) / 4, x2 = floor(uniform(0, 64)) / 8;
		double x3 = floor(uniform(100, 200));
		double y = 1 + 2 * x1 - 3 * x2 + 0.5 * x3 + noise * uniform(-1, 1);
		fprintf(t.f, "%.17g,%.17g,%.17g,%.17g\n", x1, x2, x3, y);
	}
	return text_close(&t);
}

static const struct dml_model_feature *
feature(const struct dml_model *m, const char *column)
{
	size_t i;

	for (i = 0; i < m->nfeatures; i++)
		if (strcmp(m->features[i].column, column) == 0 && m->features[i].category == NULL)
			return &m->features[i];
	fail_msg("the model has no feature '%s'", column);
	return NULL;
}

static void
assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol * fmax(fabs(want), 1)))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

/* Train model `name` by the library on one dataset; returns the entry seq. */
static uint64_t
train(struct fixture *f, const char *name, uint64_t dseq, enum dml_model_kind kind,
    double lambda, struct dml_model_train_result *res)
{
	struct dml_model_train_opts o;

	memset(&o, 0, sizeof(o));
	o.name = name;
	o.kind = kind;
	o.datasets = &dseq;
	o.ndatasets = 1;
	o.validation = UINT64_MAX;
	o.target = "y";
	o.lambda = lambda;
	o.intercept = 1;
	o.time = f->time++;
	assert_null(dml_model_train(f->l, f->founder, &o, res));
	assert_non_null(res->stmt);
	return res->stmt->seq;
}

/* ---------------------------------------------------------------------------
 * Forging a second version of a model */

/* The shortest %.Ng that reads back to v: the canonical spelling of numbers. */
static void
shortest(char *out, size_t n, double v)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, n, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/*
 * Append the next version of the model of entry `seq` (its version 1),
 * signed by the founder: the fields of version 1 (metric `metric` replaced
 * by `metric_value` if not NULL), the model file m, and the datasets
 * subtree of version 1.
 */
static uint64_t
forge(struct fixture *f, uint64_t seq, const struct dml_model *m, const char *metric,
    double metric_value)
{
	struct dml_stmt *s = NULL, *out = NULL;
	struct dml_stmt_builder b;
	struct dml_tree_item *items = NULL;
	const struct dml_tree_item *ds = NULL;
	struct dml_buf file = DML_BUF_INIT;
	struct dml_attachment att;
	const struct dml_model_head *h;
	char id[DML_ID_LEN + 1], num[64], name[DML_TOKEN_MAX + 1];
	size_t i, n = 0;
	uint64_t got;

	assert_null(dml_ledger_read(f->l, seq, &s, NULL));
	assert_int_equal(dml_field_copy(dml_stmt_field(s, "name"), name, sizeof(name)), 0);
	h = dml_model_find(dml_ledger_state(f->l), name);
	assert_non_null(h);
	assert_null(dml_model_encode(m, &file));
	att.data = file.data;
	att.len = file.len;
	dml_attachment_hash(&att);
	dml_stmt_builder_init(&b, "model.train");
	for (i = 0; i < s->nfields; i++) {
		const struct dml_field *fl = &s->fields[i];
		char *v = malloc(fl->len + 1);

		assert_non_null(v);
		memcpy(v, fl->value, fl->len);
		v[fl->len] = '\0';
		if (strcmp(fl->spec->name, "model") == 0) {
			dml_id_format(id, att.id);
			assert_null(dml_stmt_builder_add(&b, "model", id));
		} else if (strcmp(fl->spec->name, "version") == 0) {
			assert_string_equal(v, "1");
			assert_null(dml_stmt_builder_addf(&b, "version", "%llu",
			    (unsigned long long)h->nversions + 1));
		} else if (metric && strcmp(fl->spec->name, "metric") == 0 &&
		    strncmp(v, metric, strlen(metric)) == 0 && v[strlen(metric)] == ' ') {
			shortest(num, sizeof(num), metric_value);
			assert_null(dml_stmt_builder_addf(&b, "metric", "%s %s", metric, num));
		} else {
			assert_null(dml_stmt_builder_add(&b, fl->spec->name, v));
		}
		free(v);
	}
	dml_id_format(id, h->last);
	assert_null(dml_stmt_builder_add(&b, "previous", id));
	assert_null(dml_ledger_read_tree(f->l, seq, &items, &n));
	for (i = 0; i < n; i++)
		if (items[i].is_tree && strcmp(items[i].name, "datasets") == 0)
			ds = &items[i];
	assert_non_null(ds);
	assert_null(dml_ledger_append_store(f->l, f->founder, &b, f->time++, &att, 1, ds, 1,
	    &out));
	got = out->seq;
	assert_int_equal(got, dml_ledger_count(f->l) - 1);
	dml_stmt_free(out);
	dml_tree_items_free(items, n);
	dml_stmt_builder_release(&b);
	dml_buf_release(&file);
	dml_stmt_free(s);
	return got;
}

/*
 * Verify the ledger: every entry passes every check but entry `bad` (if not
 * UINT64_MAX, and the last entry), which fails its data check only, with a
 * reason containing each of the strings in `why` (NULL-terminated).
 */
static void
verify(struct fixture *f, uint64_t bad, const char *const *why)
{
	struct dml_verify_report rep;
	struct dml_verify_opts o;
	size_t i;
	int c;

	memset(&o, 0, sizeof(o));
	o.threads = 2;
	assert_null(dml_ledger_verify(f->repo, &o, &rep));
	assert_int_equal(rep.nentries, dml_ledger_count(f->l));
	assert_int_equal(rep.failed, bad != UINT64_MAX);
	for (i = 0; i < rep.nentries; i++) {
		const struct dml_verify_entry *e = &rep.entries[i];
		for (c = 0; c < DML_CHECK_COUNT; c++) {
			/* a failed entry's authority is left unjudged (-1) */
			int want = e->seq != bad ? 1 : c == DML_CHECK_DATA ? 0 :
			    c == DML_CHECK_AUTHORITY ? -1 : 1;
			if (e->ok[c] != want)
				fail_msg("entry %llu check %s: %d, expected %d (%s)",
				    (unsigned long long)e->seq, dml_check_name((enum dml_check)c),
				    e->ok[c], want, e->why ? e->why : "no reason");
		}
		if (e->seq == bad) {
			assert_int_equal(rep.first_bad, i);
			assert_string_equal(e->type, "model.train");
			assert_non_null(e->why);
			for (; *why; why++)
				if (strstr(e->why, *why) == NULL)
					fail_msg("reason '%s' does not mention '%s'", e->why, *why);
		} else {
			assert_null(e->why);
		}
	}
	dml_verify_report_release(&rep);
}

/* ---------------------------------------------------------------------------
 * Tests: the library path, and forgeries */

static void
test_train_and_verify(void **state)
{
	struct fixture *f = *state;
	struct dml_model_train_result res;
	struct dml_model m;
	struct dml_stmt *s;
	char *csv;
	uint64_t dseq, mseq;

	rng_state = 1;
	csv = linear_csv(60, 0);
	dseq = publish(f, "lin", csv, "evaluate,train");
	mseq = train(f, "lin", dseq, DML_MODEL_OLS, 0, &res);
	assert_string_equal(res.out.method, "cholesky");
	assert_int_equal(res.out.rows, 60);
	assert_int_equal(res.out.model.nfeatures, 3);
	assert_close(res.out.model.intercept, 1, 1e-10);
	assert_close(feature(&res.out.model, "x1")->coef, 2, 1e-10);
	assert_close(feature(&res.out.model, "x2")->coef, -3, 1e-10);
	assert_close(feature(&res.out.model, "x3")->coef, 0.5, 1e-10);
	/* what the ledger stores is what training returned, bit for bit */
	assert_null(dml_model_read(f->l, mseq, &m, &s));
	assert_int_equal(m.nfeatures, 3);
	assert_memory_equal(&m.intercept, &res.out.model.intercept, sizeof(double));
	assert_memory_equal(&m.features[1].coef, &res.out.model.features[1].coef, sizeof(double));
	dml_model_release(&m);
	dml_stmt_free(s);
	dml_stmt_free(res.stmt);
	dml_train_out_release(&res.out);
	verify(f, UINT64_MAX, NULL);
	free(csv);
}

static void
test_forged_coefficient(void **state)
{
	struct fixture *f = *state;
	struct dml_model_train_result res;
	struct dml_model m;
	struct dml_stmt *s;
	static const char *const why[] = { "data: ", "coefficient of 'x2' is ", "recomputed",
		NULL };
	char *csv;
	uint64_t dseq, mseq, bad;
	size_t i;

	rng_state = 2;
	csv = linear_csv(200, 0.25);
	dseq = publish(f, "noisy", csv, "evaluate,train");
	mseq = train(f, "noisy", dseq, DML_MODEL_RIDGE, 2, &res);
	dml_stmt_free(res.stmt);
	dml_train_out_release(&res.out);

	/* A change far inside the tolerance is accepted ... */
	assert_null(dml_model_read(f->l, mseq, &m, &s));
	for (i = 0; i < m.nfeatures && strcmp(m.features[i].column, "x2") != 0; i++)
		;
	assert_true(i < m.nfeatures);
	m.features[i].coef *= 1 + 1e-9;
	forge(f, mseq, &m, NULL, 0);
	verify(f, UINT64_MAX, NULL);

	/* ... one of 1e-4 is not, and the reason names the coefficient. */
	m.features[i].coef *= 1 + 1e-4;
	bad = forge(f, mseq, &m, NULL, 0);
	verify(f, bad, why);
	dml_model_release(&m);
	dml_stmt_free(s);
	free(csv);
}

static void
test_forged_metric(void **state)
{
	struct fixture *f = *state;
	struct dml_model_train_result res;
	struct dml_model m;
	struct dml_stmt *s;
	static const char *const why[] = { "data: ", "metric 'train.mse' is ", "recomputed",
		NULL };
	char *csv;
	uint64_t dseq, mseq, bad;
	double mse;

	rng_state = 3;
	csv = linear_csv(100, 0.5);
	dseq = publish(f, "noisy", csv, "train");
	mseq = train(f, "noisy", dseq, DML_MODEL_OLS, 0, &res);
	mse = res.out.train.reg.mse;
	assert_true(mse > 0.01 && mse < 1);
	dml_stmt_free(res.stmt);
	dml_train_out_release(&res.out);

	/* the model file unchanged, the recorded training MSE 1% better */
	assert_null(dml_model_read(f->l, mseq, &m, &s));
	bad = forge(f, mseq, &m, "train.mse", mse * 0.99);
	verify(f, bad, why);
	dml_model_release(&m);
	dml_stmt_free(s);
	free(csv);
}

static void
test_terms_refuse_training(void **state)
{
	struct fixture *f = *state;
	struct dml_model_train_opts o;
	struct dml_model_train_result res;
	const struct dml_error *err;
	char *csv;
	uint64_t dseq, before;

	rng_state = 4;
	csv = linear_csv(10, 0);
	dseq = publish(f, "closed", csv, "evaluate");
	before = dml_ledger_count(f->l);
	memset(&o, 0, sizeof(o));
	o.name = "m";
	o.kind = DML_MODEL_OLS;
	o.datasets = &dseq;
	o.ndatasets = 1;
	o.validation = UINT64_MAX;
	o.target = "y";
	o.intercept = 1;
	o.time = f->time++;
	err = dml_model_train(f->l, f->founder, &o, &res);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_DENIED);
	assert_non_null(strstr(err->msg, "does not allow 'train'"));
	assert_null(res.stmt);
	dml_train_out_release(&res.out);
	assert_int_equal(dml_ledger_count(f->l), before);
	free(csv);
}

/* ---------------------------------------------------------------------------
 * Tests: dml_train on opened datasets, edge cases of the solver */

static void
spec_init(struct dml_train_spec *sp, enum dml_model_kind kind, int intercept)
{
	memset(sp, 0, sizeof(*sp));
	sp->kind = kind;
	sp->target = "y";
	sp->intercept = intercept;
}

/* Publish csv and train on it with dml_train; the error, if any. */
static const struct dml_error *
fit(struct fixture *f, const char *name, const char *csv, const struct dml_train_spec *sp,
    struct dml_train_out *out)
{
	struct dml_dataset_in *in;
	const struct dml_error *err;
	uint64_t seq = publish(f, name, csv, "evaluate,train");

	assert_null(dml_dataset_open(&in, f->l, seq));
	err = dml_train(&in, 1, NULL, sp, out);
	dml_dataset_close(in);
	return err;
}

static void
test_duplicate_column(void **state)
{
	struct fixture *f = *state;
	struct dml_train_spec sp;
	struct dml_train_out out;
	struct text t;
	size_t i;

	/* x2 repeats x: y = 1 + 2 x + 3 z splits 2 into 1 + 1 at minimum norm */
	text_open(&t);
	fprintf(t.f, "x,x2,z,y\n");
	rng_state = 5;
	for (i = 0; i < 40; i++) {
		double x = floor(uniform(-50, 50)) / 8, z = floor(uniform(0, 30)) / 2;
		fprintf(t.f, "%.17g,%.17g,%.17g,%.17g\n", x, x, z, 1 + 2 * x + 3 * z);
	}
	text_close(&t);
	spec_init(&sp, DML_MODEL_OLS, 1);
	assert_null(fit(f, "dup", t.p, &sp, &out));
	assert_string_equal(out.method, "eigen");
	assert_int_equal(out.rank, 3);
	assert_int_equal(out.model.nfeatures, 3);
	assert_close(feature(&out.model, "x")->coef, 1, 1e-9);
	assert_close(feature(&out.model, "x2")->coef, 1, 1e-9);
	assert_close(feature(&out.model, "z")->coef, 3, 1e-9);
	assert_close(out.model.intercept, 1, 1e-9);
	assert_true(out.train.reg.mse < 1e-18);
	dml_train_out_release(&out);
	free(t.p);
}

static void
test_constant_column(void **state)
{
	struct fixture *f = *state;
	struct dml_train_spec sp;
	struct dml_train_out out;
	struct text t;
	size_t i;

	text_open(&t);
	fprintf(t.f, "c,x,y\n");
	rng_state = 6;
	for (i = 0; i < 25; i++) {
		double x = floor(uniform(-20, 20)) / 4;
		fprintf(t.f, "5,%.17g,%.17g\n", x, 2 + 3 * x);
	}
	text_close(&t);

	/* With an intercept the constant column adds nothing: it gets 0. */
	spec_init(&sp, DML_MODEL_OLS, 1);
	assert_null(fit(f, "const", t.p, &sp, &out));
	assert_string_equal(out.method, "eigen");
	assert_int_equal(out.rank, 2);
	assert_close(feature(&out.model, "c")->coef, 0, 1e-12);
	assert_close(feature(&out.model, "x")->coef, 3, 1e-10);
	assert_close(out.model.intercept, 2, 1e-10);
	dml_train_out_release(&out);

	/* Without one, it is the intercept: 5 c = 2. */
	spec_init(&sp, DML_MODEL_OLS, 0);
	assert_null(fit(f, "const2", t.p, &sp, &out));
	assert_string_equal(out.method, "cholesky");
	assert_int_equal(out.rank, 2);
	assert_false(out.model.has_intercept);
	assert_close(feature(&out.model, "c")->coef, 0.4, 1e-10);
	assert_close(feature(&out.model, "x")->coef, 3, 1e-10);
	dml_train_out_release(&out);
	free(t.p);
}

static void
test_single_row(void **state)
{
	struct fixture *f = *state;
	struct dml_train_spec sp;
	struct dml_train_out out;

	/* One row and an intercept: the minimum-norm fit is the constant 7. */
	spec_init(&sp, DML_MODEL_OLS, 1);
	assert_null(fit(f, "one", "x,y\n2,7\n", &sp, &out));
	assert_int_equal(out.rows, 1);
	assert_string_equal(out.method, "eigen");
	assert_int_equal(out.rank, 1);
	assert_close(out.model.intercept, 7, 1e-12);
	assert_close(feature(&out.model, "x")->coef, 0, 1e-12);
	assert_int_equal(out.train.n, 1);
	assert_true(out.train.reg.mse < 1e-24);
	assert_true(out.train.reg.r2 == 1);	/* constant target, exact prediction */
	dml_train_out_release(&out);

	/* Without an intercept, one equation and one unknown: 2 b = 7. */
	spec_init(&sp, DML_MODEL_OLS, 0);
	assert_null(fit(f, "one2", "x,y\n2,7\n", &sp, &out));
	assert_string_equal(out.method, "cholesky");
	assert_close(feature(&out.model, "x")->coef, 3.5, 1e-14);
	dml_train_out_release(&out);

	/* Ridge on one row with an intercept: the centred x is 0, so b = 0. */
	spec_init(&sp, DML_MODEL_RIDGE, 1);
	sp.lambda = 1;
	assert_null(fit(f, "one3", "x,y\n2,7\n", &sp, &out));
	assert_close(out.model.intercept, 7, 1e-12);
	assert_close(feature(&out.model, "x")->coef, 0, 1e-12);
	dml_train_out_release(&out);
}

/* Solve the n x n system a x = b (row-major) by Gaussian elimination. */
static void
gauss(double *a, double *b, size_t n)
{
	size_t i, j, k, p;

	for (j = 0; j < n; j++) {
		for (p = j, i = j + 1; i < n; i++)
			if (fabs(a[i * n + j]) > fabs(a[p * n + j]))
				p = i;
		for (k = 0; k < n; k++) {
			double t = a[j * n + k];
			a[j * n + k] = a[p * n + k];
			a[p * n + k] = t;
		}
		{
			double t = b[j];
			b[j] = b[p];
			b[p] = t;
		}
		for (i = j + 1; i < n; i++) {
			double r = a[i * n + j] / a[j * n + j];
			for (k = j; k < n; k++)
				a[i * n + k] -= r * a[j * n + k];
			b[i] -= r * b[j];
		}
	}
	for (i = n; i-- > 0;) {
		for (k = i + 1; k < n; k++)
			b[i] -= a[i * n + k] * b[k];
		b[i] /= a[i * n + i];
	}
}

static void
test_more_features_than_rows(void **state)
{
	struct fixture *f = *state;
	enum { N = 3, P = 5, D = P + 1 };
	static const double x[N][P] = {
		{ 1, 2, 0.5, -1, 3 },
		{ 0, -1, 2, 4, 1 },
		{ 2, 1, -3, 0.25, -2 },
	};
	static const double y[N] = { 4, -2, 7 };
	struct dml_train_spec sp;
	struct dml_train_out out;
	struct dml_dataset_in *in;
	const struct dml_schema *sc;
	double xc[N][D], g[N * N], alpha[N], beta[D], mean[P], scale = 0;
	char name[8];
	struct text t;
	uint64_t seq;
	size_t i, j, k;

	text_open(&t);
	fprintf(t.f, "x1,x2,x3,x4,x5,y\n");
	for (i = 0; i < N; i++) {
		for (j = 0; j < P; j++)
			fprintf(t.f, "%.17g,", x[i][j]);
		fprintf(t.f, "%.17g\n", y[i]);
	}
	text_close(&t);
	seq = publish(f, "wide", t.p, "train");
	assert_null(dml_dataset_open(&in, f->l, seq));
	spec_init(&sp, DML_MODEL_OLS, 1);
	assert_null(dml_train(&in, 1, NULL, &sp, &out));
	assert_string_equal(out.method, "eigen");
	assert_int_equal(out.rank, N);
	assert_int_equal(out.model.nfeatures, P);
	/* it interpolates the rows */
	assert_true(out.train.reg.mse < 1e-20);
	assert_true(out.train.reg.r2 > 1 - 1e-12);

	/*
	 * Of all interpolants, the minimum-norm one in the coordinates the
	 * solver sees: the intercept column and each feature centred on its
	 * schema mean.  Reference: beta = Xc^T (Xc Xc^T)^-1 y.
	 */
	sc = dml_dataset_info(in)->schema;
	for (j = 0; j < P; j++) {
		snprintf(name, sizeof(name), "x%zu", j + 1);
		for (k = 0; k < sc->ncols && strcmp(sc->cols[k].name, name) != 0; k++)
			;
		assert_true(k < sc->ncols);
		mean[j] = sc->cols[k].mean;
	}
	for (i = 0; i < N; i++) {
		xc[i][0] = 1;
		for (j = 0; j < P; j++)
			xc[i][j + 1] = x[i][j] - mean[j];
	}
	for (i = 0; i < N; i++) {
		for (k = 0; k < N; k++) {
			g[i * N + k] = 0;
			for (j = 0; j < D; j++)
				g[i * N + k] += xc[i][j] * xc[k][j];
		}
		alpha[i] = y[i];
	}
	gauss(g, alpha, N);
	for (j = 0; j < D; j++) {
		beta[j] = 0;
		for (i = 0; i < N; i++)
			beta[j] += xc[i][j] * alpha[i];
		scale = fmax(scale, fabs(beta[j]));
	}
	for (j = 0; j < P; j++) {
		snprintf(name, sizeof(name), "x%zu", j + 1);
		assert_close(feature(&out.model, name)->coef / scale, beta[j + 1] / scale, 1e-9);
		beta[0] -= beta[j + 1] * mean[j];
	}
	assert_close(out.model.intercept / scale, beta[0] / scale, 1e-9);
	dml_train_out_release(&out);
	dml_dataset_close(in);
	free(t.p);
}

static void
test_separable_needs_penalty(void **state)
{
	struct fixture *f = *state;
	struct dml_train_spec sp;
	struct dml_train_out out;
	const struct dml_error *err;
	static const char csv[] = "x,y\n1,0\n2,0\n3,0\n4,1\n5,1\n6,1\n";

	spec_init(&sp, DML_MODEL_LOGISTIC, 1);
	err = fit(f, "sep", csv, &sp, &out);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_non_null(strstr(err->msg, "separable"));
	assert_non_null(strstr(err->msg, "lambda"));
	assert_int_equal(out.model.nfeatures, 0);
	dml_train_out_release(&out);

	/* Rows on the boundary from both classes: quasi-complete separation. */
	err = fit(f, "quasi", "x,y\n1,0\n2,0\n3,0\n3,1\n4,1\n5,1\n", &sp, &out);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_non_null(strstr(err->msg, "separable"));
	dml_train_out_release(&out);

	/* A penalty makes the fit exist; the data are then classified right. */
	sp.lambda = 0.1;
	assert_null(fit(f, "sep2", csv, &sp, &out));
	assert_string_equal(out.method, "newton");
	assert_true(out.iterations >= 1);
	assert_true(feature(&out.model, "x")->coef > 0);
	assert_true(out.train.cls.accuracy == 1);
	assert_true(out.train.cls.auc == 1);
	dml_train_out_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_train_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_coefficient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_metric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terms_refuse_training, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constant_column, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_features_than_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_separable_needs_penalty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
