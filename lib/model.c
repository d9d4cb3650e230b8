/*
 * model.c - the model.train entry: training a model from published
 * datasets, recording it, and recomputing it (see dml/modelentry.h).
 *
 * The statement is the whole recipe.  Publishing and verifying both turn it
 * into the same dml_train_spec (spec_from_stmt), so what verification
 * recomputes is by construction what training ran: the feature columns and
 * the datasets are taken in the canonical order of the statement's repeated
 * fields, and numbers are spelled so that they read back to the same bits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/modelentry.h"
#include "dml/schema.h"
#include "dml/train.h"

#ifndef DML_VERSION
#define DML_VERSION "unknown"
#endif

#define DATASETS_DIR "datasets"

static const struct dml_field_spec train_fields[] = {
	{ "name", { DML_V_TOKEN }, 0 },
	{ "version", { DML_V_UINT }, 0 },
	{ "previous", { DML_V_ID }, DML_F_OPTIONAL },
	{ "model", { DML_V_ID }, DML_F_OBJECT },
	{ "kind", { DML_V_TOKEN }, 0 },
	{ "target", { DML_V_TEXT }, 0 },
	{ "column", { DML_V_TEXT }, DML_F_OPTIONAL | DML_F_REPEATED },
	{ "dataset", { DML_V_TOKEN, DML_V_UINT, DML_V_ID }, DML_F_REPEATED },
	{ "validation", { DML_V_TOKEN, DML_V_UINT, DML_V_ID }, DML_F_OPTIONAL },
	{ "holdout", { DML_V_TOKEN, DML_V_UINT }, DML_F_OPTIONAL },
	{ "lambda", { DML_V_TEXT }, 0 },
	{ "options", { DML_V_ROLES }, DML_F_OPTIONAL },
	{ "rows", { DML_V_UINT }, 0 },
	{ "dropped", { DML_V_UINT }, 0 },
	{ "held", { DML_V_UINT }, 0 },
	{ "features", { DML_V_UINT }, 0 },
	{ "method", { DML_V_TOKEN }, 0 },
	{ "rank", { DML_V_UINT }, 0 },
	{ "iterations", { DML_V_UINT }, DML_F_OPTIONAL },
	{ "metric", { DML_V_TOKEN, DML_V_TEXT }, DML_F_REPEATED },
	{ "dmlctl", { DML_V_TEXT }, 0 },
};

/* ---- reading fields ---- */

/* "name version file" of a dataset or validation field. */
struct dsref {
	char name[DML_TOKEN_MAX + 1];
	uint64_t version;
	unsigned char entry[32];	/* the dataset.publish entry's statement ID */
};

static void
dsref_read(const struct dml_field *f, struct dsref *d)
{
	const char *p;
	size_t n;
	char num[24];

	dml_field_part(f, 0, &p, &n);
	memcpy(d->name, p, n);
	d->name[n] = '\0';
	dml_field_part(f, 1, &p, &n);
	memcpy(num, p, n);
	num[n] = '\0';
	d->version = strtoull(num, NULL, 10);
	dml_field_part(f, 2, &p, &n);
	dml_id_parse(d->entry, p, n);
}

/* ---- the state: models by name ---- */

const struct dml_model_head *
dml_model_find(const struct dml_state *st, const char *name)
{
	size_t lo = 0, hi = st->nmodels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->models[mid].name, name);
		if (c == 0)
			return &st->models[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Does a version of a dataset exist with this file and allow the use? */
static const struct dml_error *
dataset_allows(const struct dml_state *st, const struct dsref *d, const char *use)
{
	const struct dml_dataset_head *h = dml_dataset_find(st, d->name);
	const struct dml_dataset_version *v;

	if (h == NULL || d->version == 0 || d->version > h->nversions)
		return dml_error_fmt(DML_ERR_VERIFY, "dataset '%s@%llu' does not exist", d->name,
		    (unsigned long long)d->version);
	v = &h->versions[d->version - 1];
	if (memcmp(v->id, d->entry, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "dataset '%s@%llu' is another entry",
		    d->name, (unsigned long long)d->version);
	if (dml_dataset_allows(v, use))
		return NULL;
	return dml_error_fmt(DML_ERR_DENIED, "dataset '%s@%llu' does not allow '%s' (its terms "
	    "allow: %s)", d->name, (unsigned long long)d->version, use, v->allow);
}

static const struct dml_error *
train_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1], kind[DML_TOKEN_MAX + 1], lam[DML_TOKEN_MAX + 1];
	const struct dml_model_head *h;
	const struct dml_field *f;
	struct dsref d;
	double lambda;
	size_t i = 0;
	const struct dml_error *err;
	int k;

	dml_stmt_str(s, "name", name, sizeof(name));
	dml_stmt_str(s, "kind", kind, sizeof(kind));
	dml_stmt_str(s, "lambda", lam, sizeof(lam));
	if ((k = dml_model_kind_parse(kind)) < 0)
		return dml_error_fmt(DML_ERR_VERIFY, "unknown model kind '%s'", kind);
	if (dml_double_parse(lam, strlen(lam), &lambda) || !(lambda >= 0) || !isfinite(lambda) ||
	    (k == DML_MODEL_OLS && lambda != 0))
		return dml_error_fmt(DML_ERR_VERIFY, "bad lambda '%s' for a %s model", lam, kind);
	if (dml_stmt_field(s, "holdout") && dml_stmt_field(s, "validation"))
		return dml_error_fmt(DML_ERR_VERIFY, "a model has a holdout or a validation "
		    "dataset, not both");
	while ((f = dml_stmt_next(s, "dataset", &i))) {
		dsref_read(f, &d);
		if ((err = dataset_allows(st, &d, "train")))
			return err;
	}
	if ((f = dml_stmt_field(s, "validation"))) {
		dsref_read(f, &d);
		if ((err = dataset_allows(st, &d, "evaluate")))
			return err;
	}
	h = dml_model_find(st, name);
	return dml_state_check_version(s, "model", name, h ? &h->owner : NULL,
	    h ? h->nversions : 0, h ? h->last : NULL, "train");
}

static const struct dml_error *
train_apply(struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	struct dml_model_head *h;
	uint64_t *seqs;
	size_t i;

	dml_stmt_str(s, "name", name, sizeof(name));
	h = (struct dml_model_head *)dml_model_find(st, name);
	if (h == NULL) {
		struct dml_model_head *nm;
		if ((nm = realloc(st->models, (st->nmodels + 1) * sizeof(*nm))) == NULL)
			return dml_error_nomem();
		st->models = nm;
		for (i = st->nmodels; i > 0 && strcmp(nm[i - 1].name, name) > 0; i--)
			nm[i] = nm[i - 1];
		memset(&nm[i], 0, sizeof(nm[i]));
		if ((nm[i].name = strdup(name)) == NULL) {
			memmove(&nm[i], &nm[i + 1], (st->nmodels - i) * sizeof(*nm));
			return dml_error_nomem();
		}
		nm[i].owner = s->author;
		st->nmodels++;
		h = &nm[i];
	}
	if ((seqs = realloc(h->seqs, (h->nversions + 1) * sizeof(*seqs))) == NULL)
		return dml_error_nomem();
	h->seqs = seqs;
	h->seqs[h->nversions++] = s->seq;
	memcpy(h->last, s->id, 32);
	return NULL;
}

/* ---- the recipe ---- */

struct recipe {
	struct dml_train_spec spec;
	char *target;
	char **columns;
	size_t ncolumns;
	struct dsref *ds;
	size_t nds;
	struct dsref valid;
	int have_valid;
};

static void
recipe_release(struct recipe *r)
{
	size_t i;

	for (i = 0; i < r->ncolumns; i++)
		free(r->columns[i]);
	free(r->columns);
	free(r->target);
	free(r->ds);
	memset(r, 0, sizeof(*r));
}

static const struct dml_error *
unescape_field(const struct dml_field *f, char **out)
{
	switch (dml_name_unescape(f->value, f->len, out)) {
	case 0:
		return NULL;
	case -2:
		return dml_error_nomem();
	}
	return dml_error_fmt(DML_ERR_VERIFY, "field '%s': bad column name spelling",
	    f->spec->name);
}

/* The training spec a model.train statement describes. */
static const struct dml_error *
spec_from_stmt(const struct dml_stmt *s, struct recipe *r)
{
	const struct dml_field *f;
	char buf[DML_TOKEN_MAX + 1];
	const char *p;
	size_t i = 0, n;
	const struct dml_error *err;

	memset(r, 0, sizeof(*r));
	dml_stmt_str(s, "kind", buf, sizeof(buf));
	r->spec.kind = (enum dml_model_kind)dml_model_kind_parse(buf);
	dml_stmt_str(s, "lambda", buf, sizeof(buf));
	if (dml_double_parse(buf, strlen(buf), &r->spec.lambda))
		return dml_error_fmt(DML_ERR_VERIFY, "field 'lambda': '%s' is not canonical", buf);
	if ((err = unescape_field(dml_stmt_field(s, "target"), &r->target)))
		return err;
	r->spec.target = r->target;
	while ((f = dml_stmt_next(s, "column", &i))) {
		char **c = realloc(r->columns, (r->ncolumns + 1) * sizeof(*c));
		if (c == NULL)
			return dml_error_nomem();
		r->columns = c;
		if ((err = unescape_field(f, &r->columns[r->ncolumns])))
			return err;
		r->ncolumns++;
	}
	r->spec.columns = (const char *const *)r->columns;
	r->spec.ncolumns = r->ncolumns;
	if (r->columns == NULL)
		r->spec.columns = (const char *const *)&r->target;	/* no features: not NULL */
	i = 0;
	while ((f = dml_stmt_next(s, "dataset", &i))) {
		struct dsref *d = realloc(r->ds, (r->nds + 1) * sizeof(*d));
		if (d == NULL)
			return dml_error_nomem();
		r->ds = d;
		dsref_read(f, &r->ds[r->nds++]);
	}
	if ((f = dml_stmt_field(s, "validation"))) {
		dsref_read(f, &r->valid);
		r->have_valid = 1;
	}
	if ((f = dml_stmt_field(s, "holdout"))) {
		char num[24];
		dml_field_part(f, 0, &p, &n);
		if (dml_double_parse(p, n, &r->spec.holdout) || !(r->spec.holdout > 0) ||
		    !(r->spec.holdout < 1))
			return dml_error_fmt(DML_ERR_VERIFY, "field 'holdout': bad fraction");
		dml_field_part(f, 1, &p, &n);
		memcpy(num, p, n);
		num[n] = '\0';
		r->spec.seed = strtoull(num, NULL, 10);
	}
	r->spec.intercept = dml_stmt_has(s, "options", "intercept");
	r->spec.standardize = dml_stmt_has(s, "options", "standardize");
	r->spec.drop_missing = dml_stmt_has(s, "options", "drop-missing");
	return NULL;
}

/* ---- the statement of a trained model ---- */

static const struct dml_error *
add_metrics(struct dml_stmt_builder *b, const char *set, const struct dml_eval *ev)
{
	char v[64], key[DML_TOKEN_MAX + 1];
	struct {
		const char *name;
		double value;
	} m[6];
	size_t i, n;
	const struct dml_error *err;

	if (ev->classification) {
		m[0].name = "accuracy", m[0].value = ev->cls.accuracy;
		m[1].name = "auc", m[1].value = ev->cls.auc;
		m[2].name = "f1", m[2].value = ev->cls.f1;
		m[3].name = "log-loss", m[3].value = ev->cls.log_loss;
		m[4].name = "precision", m[4].value = ev->cls.precision;
		m[5].name = "recall", m[5].value = ev->cls.recall;
		n = 6;
	} else {
		m[0].name = "mae", m[0].value = ev->reg.mae;
		m[1].name = "mse", m[1].value = ev->reg.mse;
		m[2].name = "r2", m[2].value = ev->reg.r2;
		n = 3;
	}
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s.%s", set, m[i].name);
		dml_double_format(v, sizeof(v), m[i].value);
		if ((err = dml_stmt_builder_addf(b, "metric", "%s %s", key, v)))
			return err;
	}
	return NULL;
}

/* Results into the builder: everything after the recipe. */
static const struct dml_error *
add_results(struct dml_stmt_builder *b, const struct dml_train_out *o)
{
	const struct dml_error *err;

	if ((err = dml_stmt_builder_addf(b, "rows", "%llu", (unsigned long long)o->rows)) ||
	    (err = dml_stmt_builder_addf(b, "dropped", "%llu", (unsigned long long)o->dropped)) ||
	    (err = dml_stmt_builder_addf(b, "held", "%llu", (unsigned long long)o->held)) ||
	    (err = dml_stmt_builder_addf(b, "features", "%zu", o->model.nfeatures)) ||
	    (err = dml_stmt_builder_add(b, "method", o->method)) ||
	    (err = dml_stmt_builder_addf(b, "rank", "%zu", o->rank)) ||
	    (o->model.kind == DML_MODEL_LOGISTIC &&
	    (err = dml_stmt_builder_addf(b, "iterations", "%u", o->iterations))) ||
	    (err = add_metrics(b, "train", &o->train)) ||
	    (o->have_valid && (err = add_metrics(b, "valid", &o->valid))) ||
	    (err = dml_stmt_builder_add(b, "dmlctl", DML_VERSION)))
		return err;
	return NULL;
}

/* ---- recomputation ---- */

static int
close_enough(double a, double b, double scale)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return fabs(a - b) <= DML_TRAIN_RTOL * fmax(fabs(a), fabs(b)) + DML_TRAIN_ATOL * scale;
}

/* Compare a recomputed model and its results with the recorded ones. */
static const struct dml_error *
compare(const struct dml_stmt *s, const struct dml_model *m, const struct dml_train_out *o)
{
	const struct dml_model *r = &o->model;
	struct dml_stmt_builder b;
	struct dml_stmt *again = NULL;
	double scale = fabs(m->intercept);
	const struct dml_field *f, *g;
	size_t i = 0, j = 0;
	const struct dml_error *err;

	if (r->kind != m->kind || r->has_intercept != m->has_intercept ||
	    r->nfeatures != m->nfeatures || strcmp(r->target, m->target) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "the recomputed model has other features");
	for (i = 0; i < 2 && m->kind == DML_MODEL_LOGISTIC; i++)
		if (strcmp(r->labels[i], m->labels[i]) != 0)
			return dml_error_fmt(DML_ERR_VERIFY, "the recomputed model has other labels");
	for (i = 0; i < m->nfeatures; i++)
		scale = fmax(scale, fabs(m->features[i].coef));
	for (i = 0; i < m->nfeatures; i++) {
		const struct dml_model_feature *a = &r->features[i], *c = &m->features[i];
		if (strcmp(a->column, c->column) != 0 || (a->category == NULL) !=
		    (c->category == NULL) || (a->category && strcmp(a->category, c->category) != 0))
			return dml_error_fmt(DML_ERR_VERIFY,
			    "the recomputed model has other features (feature %zu)", i + 1);
		if (!close_enough(a->coef, c->coef, scale))
			return dml_error_fmt(DML_ERR_VERIFY, "coefficient of '%s%s%s' is %.17g, "
			    "recomputed %.17g", c->column, c->category ? "=" : "",
			    c->category ? c->category : "", c->coef, a->coef);
	}
	if (!close_enough(r->intercept, m->intercept, scale))
		return dml_error_fmt(DML_ERR_VERIFY, "intercept is %.17g, recomputed %.17g",
		    m->intercept, r->intercept);
	if (dml_stmt_u64(s, "rows") != o->rows || dml_stmt_u64(s, "dropped") != o->dropped ||
	    dml_stmt_u64(s, "held") != o->held || dml_stmt_u64(s, "features") != r->nfeatures)
		return dml_error_fmt(DML_ERR_VERIFY, "row or feature counts differ from the "
		    "recomputation");
	/* the metrics, through the same spelling */
	dml_stmt_builder_init(&b, "model.train");
	err = add_results(&b, o);
	if (err == NULL) {
		size_t k;
		for (k = 0; k < b.nfields && err == NULL; k++) {
			double want, got;
			const char *sp;
			if (strcmp(b.fields[k].name, "metric") != 0)
				continue;
			sp = strchr(b.fields[k].value, ' ');
			i = 0;
			while ((f = dml_stmt_next(s, "metric", &i))) {
				const char *p;
				size_t n;
				dml_field_part(f, 0, &p, &n);
				if (n == (size_t)(sp - b.fields[k].value) &&
				    memcmp(p, b.fields[k].value, n) == 0)
					break;
			}
			if (f == NULL) {
				err = dml_error_fmt(DML_ERR_VERIFY, "metric '%.*s' is not recorded",
				    (int)(sp - b.fields[k].value), b.fields[k].value);
				break;
			}
			{
				const char *p;
				size_t n;
				dml_field_part(f, 1, &p, &n);
				if (dml_double_parse(p, n, &want)) {
					err = dml_error_fmt(DML_ERR_VERIFY, "metric '%.*s': bad number",
					    (int)(sp - b.fields[k].value), b.fields[k].value);
					break;
				}
			}
			got = strtod(sp + 1, NULL);
			if (!close_enough(got, want, 1))
				err = dml_error_fmt(DML_ERR_VERIFY, "metric '%.*s' is %.17g, "
				    "recomputed %.17g", (int)(sp - b.fields[k].value),
				    b.fields[k].value, want, got);
			j++;
		}
	}
	dml_stmt_builder_release(&b);
	dml_stmt_free(again);
	if (err == NULL) {
		i = 0;
		while ((g = dml_stmt_next(s, "metric", &i)))
			if (j-- == 0)
				return dml_error_fmt(DML_ERR_VERIFY, "more metrics recorded than computed");
	}
	return err;
}

/* Open a dataset the entry carries under datasets/<name>@<version>. */
static const struct dml_error *
open_carried(struct dml_repo *r, const struct dml_tree_item *items, size_t n,
    const struct dsref *d, struct dml_dataset_in **in)
{
	char key[DML_TOKEN_MAX + 32];
	const struct dml_tree_item *it;

	snprintf(key, sizeof(key), "%s@%llu", d->name, (unsigned long long)d->version);
	if ((it = dml_tree_find(items, n, key, 1)) == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry does not carry dataset '%s'", key);
	return dml_dataset_open_tree(in, r, &it->oid, d->entry);
}

/* Read the model file an entry stores. */
static const struct dml_error *
load_model(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n, struct dml_model *m)
{
	struct dml_buf blob = DML_BUF_INIT;
	unsigned char id[32];
	const struct dml_error *err;

	dml_model_init(m);
	dml_stmt_id(s, "model", 0, id);
	if ((err = dml_entry_object(r, items, n, id, &blob)) == NULL)
		err = dml_model_decode(m, blob.data, blob.len);
	dml_buf_release(&blob);
	return err;
}

/* Recompute a model.train entry from the datasets it carries. */
static const struct dml_error *
train_verify(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	const struct dml_tree_item *dsd = dml_tree_find(items, n, DATASETS_DIR, 1);
	struct dml_tree_item *di = NULL;
	struct dml_dataset_in **in = NULL, *valid = NULL;
	struct dml_train_out out;
	struct dml_model m;
	struct recipe rc;
	struct dml_buf esc = DML_BUF_INIT;
	size_t dn = 0, i;
	const struct dml_error *err;

	memset(&out, 0, sizeof(out));
	dml_model_init(&out.model);
	if ((err = load_model(r, s, items, n, &m)))
		return err;
	if ((err = spec_from_stmt(s, &rc)))
		goto done;
	if (dsd == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the entry carries no datasets");
		goto done;
	}
	if ((err = dml_repo_tree_read(r, &dsd->oid, &di, &dn)))
		goto done;
	if (dn != rc.nds + (size_t)rc.have_valid) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the entry carries %zu datasets, the statement "
		    "names %zu", dn, rc.nds + (size_t)rc.have_valid);
		goto done;
	}
	if ((in = calloc(rc.nds, sizeof(*in))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < rc.nds; i++)
		if ((err = open_carried(r, di, dn, &rc.ds[i], &in[i])))
			goto done;
	if (rc.have_valid && (err = open_carried(r, di, dn, &rc.valid, &valid)))
		goto done;
	if ((err = dml_train(in, rc.nds, valid, &rc.spec, &out)))
		goto done;
	err = compare(s, &m, &out);
done:
	for (i = 0; in && i < rc.nds; i++)
		dml_dataset_close(in[i]);
	free(in);
	dml_dataset_close(valid);
	dml_tree_items_free(di, dn);
	dml_train_out_release(&out);
	dml_model_release(&m);
	dml_buf_release(&esc);
	recipe_release(&rc);
	return err;
}

static const char *const train_store[] = { DATASETS_DIR, NULL };

const struct dml_entry_type dml_type_model_train = {
	.name = "model.train",
	.fields = train_fields,
	.nfields = sizeof(train_fields) / sizeof(train_fields[0]),
	.check = train_check,
	.apply = train_apply,
	.store = train_store,
	.verify_store = train_verify,
};

/* ---- training and recording ---- */

static int
text_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The escaped spelling of a column name, as a malloc'd string. */
static const struct dml_error *
escaped(const char *name, char **out)
{
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err;

	*out = NULL;
	if ((err = dml_name_escape(name, &b)) == NULL && (*out = strdup((char *)b.data)) == NULL)
		err = dml_error_nomem();
	dml_buf_release(&b);
	return err;
}

static const struct dml_error *
dataset_tree(struct dml_ledger *l, uint64_t seq, struct dml_tree_item *it)
{
	struct dml_dataset_in *in;
	const struct dml_dataset_info *info;
	char key[DML_TOKEN_MAX + 32];
	const struct dml_error *err;

	if ((err = dml_dataset_open(&in, l, seq)))
		return err;
	info = dml_dataset_info(in);
	snprintf(key, sizeof(key), "%s@%llu", info->name, (unsigned long long)info->version);
	if ((it->name = strdup(key)) == NULL)
		err = dml_error_nomem();
	it->oid = info->tree;
	it->is_tree = 1;
	dml_dataset_close(in);
	return err;
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dml_tree_item *)a)->name,
	    ((const struct dml_tree_item *)b)->name);
}

const struct dml_error *
dml_model_train(struct dml_ledger *l, const struct dml_key *k,
    const struct dml_model_train_opts *o, struct dml_model_train_result *res)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_model_head *h = dml_model_find(st, o->name);
	struct dml_stmt_builder b;
	struct dml_stmt *req = NULL;
	struct recipe rc;
	struct dml_dataset_in **in = NULL, *valid = NULL;
	struct dml_dataset_in *first = NULL;
	struct dml_tree_item *items = NULL, extra;
	struct dml_attachment att;
	struct dml_buf mfile = DML_BUF_INIT;
	char **cols = NULL, id[DML_ID_LEN + 1], num[64], opts[64] = "";
	size_t ncols = 0, nitems = 0, i;
	const struct dml_error *err;

	memset(res, 0, sizeof(*res));
	memset(&rc, 0, sizeof(rc));
	dml_model_init(&res->out.model);
	dml_stmt_builder_init(&b, "model.train");
	memset(&extra, 0, sizeof(extra));
	if (o->ndatasets == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no training dataset");
	if (o->holdout > 0 && o->validation != UINT64_MAX)
		return dml_error_fmt(DML_ERR_USAGE, "give a holdout or a validation dataset, not both");

	/* the feature columns, canonical: from the first dataset's schema if not given */
	if ((err = dml_dataset_open(&first, l, o->datasets[0])))
		goto done;
	if (o->columns == NULL) {
		const struct dml_schema *sc = dml_dataset_info(first)->schema;
		size_t x;
		for (x = 0; x < o->nexclude; x++) {
			size_t c;
			for (c = 0; c < sc->ncols && strcmp(sc->cols[c].name, o->exclude[x]); c++)
				;
			if (c == sc->ncols) {
				err = dml_error_fmt(DML_ERR_USAGE, "--exclude: dataset '%s' has no "
				    "column '%s'", dml_dataset_info(first)->name, o->exclude[x]);
				goto done;
			}
		}
		if ((cols = calloc(sc->ncols, sizeof(*cols))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (i = 0; i < sc->ncols; i++) {
			size_t x2;
			int skip = strcmp(sc->cols[i].name, o->target) == 0;
			for (x2 = 0; x2 < o->nexclude && !skip; x2++)
				skip = strcmp(sc->cols[i].name, o->exclude[x2]) == 0;
			if (!skip && (err = escaped(sc->cols[i].name, &cols[ncols++])))
				goto done;
		}
	} else {
		if ((cols = calloc(o->ncolumns ? o->ncolumns : 1, sizeof(*cols))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (i = 0; i < o->ncolumns; i++)
			if ((err = escaped(o->columns[i], &cols[ncols++])))
				goto done;
	}
	qsort(cols, ncols, sizeof(*cols), text_cmp);
	for (i = 0; i + 1 < ncols; i++)
		if (strcmp(cols[i], cols[i + 1]) == 0) {
			err = dml_error_fmt(DML_ERR_USAGE, "feature '%s' is listed twice", cols[i]);
			goto done;
		}
	if (ncols == 0 && !o->intercept) {
		err = dml_error_fmt(DML_ERR_USAGE, "no feature columns and no intercept");
		goto done;
	}

	/* the recipe fields */
	if ((err = dml_stmt_builder_add(&b, "name", o->name)) ||
	    (err = dml_stmt_builder_addf(&b, "version", "%llu",
	    (unsigned long long)(h ? h->nversions + 1 : 1))))
		goto done;
	if (h) {
		dml_id_format(id, h->last);
		if ((err = dml_stmt_builder_add(&b, "previous", id)))
			goto done;
	}
	if ((err = dml_stmt_builder_add(&b, "kind", dml_model_kind_name(o->kind))))
		goto done;
	{
		char *t;
		if ((err = escaped(o->target, &t)))
			goto done;
		err = dml_stmt_builder_add(&b, "target", t);
		free(t);
		if (err)
			goto done;
	}
	for (i = 0; i < ncols; i++)
		if ((err = dml_stmt_builder_add(&b, "column", cols[i])))
			goto done;
	if ((items = calloc(o->ndatasets + 1, sizeof(*items))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < o->ndatasets + (o->validation != UINT64_MAX); i++) {
		uint64_t seq = i < o->ndatasets ? o->datasets[i] : o->validation;
		struct dml_dataset_in *d;
		const struct dml_dataset_info *info;
		size_t x;

		if ((err = dml_dataset_open(&d, l, seq)))
			goto done;
		info = dml_dataset_info(d);
		dml_id_format(id, info->stmt->id);
		err = dml_stmt_builder_addf(&b, i < o->ndatasets ? "dataset" : "validation",
		    "%s %llu %s", info->name, (unsigned long long)info->version, id);
		dml_dataset_close(d);
		if (err || (err = dataset_tree(l, seq, &items[nitems])))
			goto done;
		for (x = 0; x < nitems; x++)
			if (strcmp(items[x].name, items[nitems].name) == 0) {
				err = dml_error_fmt(DML_ERR_USAGE, "dataset '%s' is named twice",
				    items[nitems].name);
				nitems++;
				goto done;
			}
		nitems++;
	}
	if (o->holdout > 0) {
		dml_double_format(num, sizeof(num), o->holdout);
		if ((err = dml_stmt_builder_addf(&b, "holdout", "%s %llu", num,
		    (unsigned long long)o->seed)))
			goto done;
	}
	dml_double_format(num, sizeof(num), o->lambda);
	if ((err = dml_stmt_builder_add(&b, "lambda", num)))
		goto done;
	if (o->drop_missing)
		strcat(opts, "drop-missing,");
	if (o->intercept)
		strcat(opts, "intercept,");
	if (o->standardize)
		strcat(opts, "standardize,");
	if (opts[0]) {
		opts[strlen(opts) - 1] = '\0';
		if ((err = dml_stmt_builder_add(&b, "options", opts)))
			goto done;
	}

	/*
	 * Train from the recipe as verification will read it: the statement is
	 * built with placeholder results and parsed back, and the spec derived
	 * from it exactly as train_verify derives it.
	 */
	{
		struct dml_stmt_builder b3;
		struct dml_train_out dummy;
		unsigned char zero[32] = { 0 };
		size_t f;

		memset(&dummy, 0, sizeof(dummy));
		dummy.method = "cholesky";
		dummy.model.kind = o->kind;
		dml_stmt_builder_init(&b3, "model.train");
		b3.author = k->pub;
		b3.time = o->time;
		for (f = 0; f < b.nfields && err == NULL; f++)
			err = dml_stmt_builder_add(&b3, b.fields[f].name, b.fields[f].value);
		dml_id_format(id, zero);
		if (err == NULL && (err = dml_stmt_builder_add(&b3, "model", id)) == NULL &&
		    (err = add_results(&b3, &dummy)) == NULL)
			err = dml_stmt_build(&req, &b3);
		dml_stmt_builder_release(&b3);
		if (err || (err = spec_from_stmt(req, &rc)))
			goto done;
	}
	rc.spec.progress = o->progress;
	rc.spec.arg = o->arg;
	if ((in = calloc(rc.nds, sizeof(*in))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	/* the datasets in the statement's (canonical) order */
	for (i = 0; i < rc.nds; i++) {
		size_t x;
		for (x = 0; x < nitems; x++) {
			char key[DML_TOKEN_MAX + 32];
			snprintf(key, sizeof(key), "%s@%llu", rc.ds[i].name,
			    (unsigned long long)rc.ds[i].version);
			if (strcmp(items[x].name, key) == 0)
				break;
		}
		if ((err = dml_dataset_open_tree(&in[i], dml_ledger_repo(l), &items[x].oid,
		    rc.ds[i].entry)))
			goto done;
	}
	if (rc.have_valid) {
		char key[DML_TOKEN_MAX + 32];
		size_t x;
		snprintf(key, sizeof(key), "%s@%llu", rc.valid.name,
		    (unsigned long long)rc.valid.version);
		for (x = 0; x < nitems && strcmp(items[x].name, key) != 0; x++)
			;
		if ((err = dml_dataset_open_tree(&valid, dml_ledger_repo(l), &items[x].oid,
		    rc.valid.entry)))
			goto done;
	}
	/* refuse what the policy and terms refuse before the long work */
	if ((err = train_check(st, req)) && err->code == DML_ERR_DENIED)
		goto done;
	err = NULL;
	if ((err = dml_train(in, rc.nds, valid, &rc.spec, &res->out)))
		goto done;
	if ((err = dml_model_encode(&res->out.model, &mfile)))
		goto done;
	att = (struct dml_attachment){ mfile.data, mfile.len, { 0 } };
	dml_attachment_hash(&att);
	memcpy(res->model_id, att.id, 32);
	dml_id_format(id, att.id);
	if ((err = dml_stmt_builder_add(&b, "model", id)) || (err = add_results(&b, &res->out)))
		goto done;
	/* the carried datasets */
	qsort(items, nitems, sizeof(*items), item_cmp);
	extra.name = (char *)DATASETS_DIR;
	extra.is_tree = 1;
	if ((err = dml_repo_tree_write(dml_ledger_repo(l), &extra.oid, items, nitems)))
		goto done;
	err = dml_ledger_append_store(l, k, &b, o->time, &att, 1, &extra, 1, &res->stmt);
done:
	for (i = 0; in && i < rc.nds; i++)
		dml_dataset_close(in[i]);
	free(in);
	dml_dataset_close(valid);
	dml_dataset_close(first);
	for (i = 0; i < nitems; i++)
		free(items[i].name);
	free(items);
	for (i = 0; i < ncols; i++)
		free(cols[i]);
	free(cols);
	dml_stmt_free(req);
	recipe_release(&rc);
	dml_stmt_builder_release(&b);
	dml_buf_release(&mfile);
	return err;
}

const struct dml_error *
dml_model_read(struct dml_ledger *l, uint64_t seq, struct dml_model *m, struct dml_stmt **s)
{
	struct dml_tree_item *items = NULL;
	size_t n = 0;
	const struct dml_error *err;

	dml_model_init(m);
	*s = NULL;
	if ((err = dml_ledger_read(l, seq, s, NULL)))
		return err;
	if (strcmp((*s)->type->name, "model.train") != 0)
		err = dml_error_fmt(DML_ERR_NOTFOUND, "entry %llu is not a model",
		    (unsigned long long)seq);
	else if ((err = dml_ledger_read_tree(l, seq, &items, &n)) == NULL)
		err = load_model(dml_ledger_repo(l), *s, items, n, m);
	dml_tree_items_free(items, n);
	if (err) {
		dml_stmt_free(*s);
		*s = NULL;
	}
	return err;
}
