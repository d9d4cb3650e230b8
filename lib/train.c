/*
 * train.c - training linear models from datasets, and scoring rows with them
 * (see dml/train.h).
 *
 * Every pass goes through one row path: the CSV parser's records are mapped
 * through the header of their dataset to the columns the model uses, each
 * row is encoded into raw feature values (numbers as they are, one-hot
 * indicators), and a per-pass action takes it.  Centring and scaling are
 * applied only where rows enter the fit, so metrics and prediction use the
 * stored model exactly as a user of the model file would.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dml/csv.h"
#include "dml/schema.h"
#include "dml/train.h"

#define BLOCK_ROWS 512		/* rows handed to the solver at a time */
#define FILE_READ ((size_t)1 << 20)

/* ---- small helpers ---- */

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int
held_out(const struct dml_train_spec *sp, uint64_t row)
{
	uint64_t u;

	if (sp == NULL || !(sp->holdout > 0))
		return 0;
	u = splitmix64(sp->seed + splitmix64(row));
	return (double)(u >> 11) * 0x1p-53 < sp->holdout;
}

static int
is_missing(const struct dml_csv_field *f)
{
	return f->len == 0 || (f->len == 2 && f->p[0] == 'N' && f->p[1] == 'A');
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

/* A short, printable rendering of a field for messages. */
static const char *
show(const struct dml_csv_field *f, char *buf, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < f->len && k + 4 < n; i++) {
		unsigned char c = (unsigned char)f->p[i];
		buf[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (i < f->len && k + 4 <= n) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

/* ---- the encoder: data columns to features ---- */

struct cat {
	char *p;
	size_t len;
	uint64_t count;		/* training rows holding it (discovery) */
};

struct col {
	char *name;
	int categorical;
	struct cat *cats;	/* sorted byte for byte */
	size_t ncats;
	size_t skip;		/* leading categories without a feature (reference level) */
	size_t out;		/* its first feature's index in a row */
	size_t idx;		/* its index in the current header */
	/* discovery: Welford over the numeric values of the training rows */
	uint64_t n;
	double mean, m2;
};

enum { T_NUMBER, T_BINARY, T_LABELS };

struct enc {
	struct col *cols;
	size_t ncols;
	size_t d;		/* row width, intercept included */
	int intercept;		/* column 0 is the intercept */
	int want_target;
	char *target;
	size_t tidx;
	int tkind;
	char *labels[2];	/* T_LABELS: sorted; T_BINARY: "0"/"1" or "false"/"true" */
	size_t nlabels;
	int drop_missing;
	uint64_t dropped;
};

static void
enc_release(struct enc *e)
{
	size_t i, k;

	for (i = 0; i < e->ncols; i++) {
		for (k = 0; k < e->cols[i].ncats; k++)
			free(e->cols[i].cats[k].p);
		free(e->cols[i].cats);
		free(e->cols[i].name);
	}
	free(e->cols);
	free(e->target);
	free(e->labels[0]);
	free(e->labels[1]);
	memset(e, 0, sizeof(*e));
}

static struct col *
enc_col(struct enc *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->ncols; i++)
		if (strcmp(e->cols[i].name, name) == 0)
			return &e->cols[i];
	return NULL;
}

static const struct dml_error *
enc_add_col(struct enc *e, const char *name, int categorical)
{
	struct col *c;

	if ((c = realloc(e->cols, (e->ncols + 1) * sizeof(*c))) == NULL)
		return dml_error_nomem();
	e->cols = c;
	c = &e->cols[e->ncols];
	memset(c, 0, sizeof(*c));
	if ((c->name = strdup(name)) == NULL)
		return dml_error_nomem();
	c->categorical = categorical;
	e->ncols++;
	return NULL;
}

/* Find a category; *at receives where it is or would go. */
static int
cat_find(const struct col *c, const char *p, size_t n, size_t *at)
{
	size_t lo = 0, hi = c->ncats;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = bytes_cmp(c->cats[mid].p, c->cats[mid].len, p, n);
		if (r == 0) {
			*at = mid;
			return 1;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return 0;
}

static const struct dml_error *
cat_insert(struct col *c, size_t at, const char *p, size_t n)
{
	struct cat *nc;
	char *copy;

	if ((copy = malloc(n + 1)) == NULL)
		return dml_error_nomem();
	memcpy(copy, p, n);
	copy[n] = '\0';
	if ((nc = realloc(c->cats, (c->ncats + 1) * sizeof(*nc))) == NULL) {
		free(copy);
		return dml_error_nomem();
	}
	c->cats = nc;
	memmove(&nc[at + 1], &nc[at], (c->ncats - at) * sizeof(*nc));
	nc[at] = (struct cat){ copy, n, 0 };
	c->ncats++;
	return NULL;
}

/* Give each column its place in a row once the categories are known. */
static const struct dml_error *
enc_layout(struct enc *e)
{
	size_t i, d = e->intercept ? 1 : 0;

	for (i = 0; i < e->ncols; i++) {
		e->cols[i].out = d;
		d += e->cols[i].categorical ? e->cols[i].ncats - e->cols[i].skip : 1;
	}
	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE,
		    "the model would have no features and no intercept");
	if (d > DML_LINALG_MAX_D)
		return dml_error_fmt(DML_ERR_USAGE,
		    "the model would have %zu features, more than the %d allowed (one-hot "
		    "categories count one each)", d, DML_LINALG_MAX_D);
	e->d = d;
	return NULL;
}

/* Map the header of one input to the columns; a missing one is an error. */
static const struct dml_error *
enc_header(struct enc *e, const struct dml_csv_field *f, size_t n, const char *what)
{
	size_t i, k;
	int found;

	for (i = 0; i <= e->ncols; i++) {
		const char *name = i < e->ncols ? e->cols[i].name : e->target;
		size_t len;

		if (i == e->ncols && !e->want_target)
			break;
		len = strlen(name);
		for (found = 0, k = 0; k < n && !found; k++)
			if (f[k].len == len && memcmp(f[k].p, name, len) == 0) {
				found = 1;
				if (i < e->ncols)
					e->cols[i].idx = k;
				else
					e->tidx = k;
			}
		if (!found)
			return dml_error_fmt(DML_ERR_USAGE, "%s has no column '%s'", what, name);
	}
	return NULL;
}

static const struct dml_error *
bad_value(const char *what, uint64_t line, const char *col, const struct dml_csv_field *f,
    const char *why)
{
	char buf[48];

	return dml_error_fmt(DML_ERR_PARSE, "%s line %llu column '%s': '%s' %s", what,
	    (unsigned long long)line, col, show(f, buf, sizeof(buf)), why);
}

/* The class (0 or 1) of a target value of a logistic model, or -1. */
static int
label_of(const struct enc *e, const struct dml_csv_field *f)
{
	double v;
	int k;

	for (k = 0; k < 2; k++)
		if (e->labels[k] && f->len == strlen(e->labels[k]) &&
		    memcmp(f->p, e->labels[k], f->len) == 0)
			return k;
	if (e->tkind != T_BINARY)
		return -1;
	k = dml_value_read(f->p, f->len, &v);
	if ((k == DML_VALUE_INTEGER || k == DML_VALUE_FLOAT || k == DML_VALUE_BOOLEAN) &&
	    (v == 0 || v == 1))
		return (int)v;
	return -1;
}

/*
 * Encode one record into x (e->d values) and *y.  *skip is set for a row
 * dropped for a missing value.  Categories not in a column's list encode as
 * zeros.
 */
static const struct dml_error *
enc_row(struct enc *e, const char *what, uint64_t line, const struct dml_csv_field *f,
    double *x, double *y, int *skip)
{
	size_t i, at;

	*skip = 0;
	if (e->want_target) {
		const struct dml_csv_field *t = &f[e->tidx];
		if (is_missing(t))
			goto missing_target;
		if (e->tkind == T_NUMBER) {
			int k = dml_value_read(t->p, t->len, y);
			if (k == DML_VALUE_NOMEM)
				return dml_error_nomem();
			if (k != DML_VALUE_INTEGER && k != DML_VALUE_FLOAT && k != DML_VALUE_BOOLEAN)
				return bad_value(what, line, e->target, t, "is not a finite number");
		} else {
			int k = label_of(e, t);
			if (k < 0)
				return bad_value(what, line, e->target, t,
				    e->tkind == T_BINARY ? "is not 0 or 1" :
				    "is not one of the model's two labels");
			*y = k;
		}
	}
	if (e->intercept)
		x[0] = 1;
	for (i = 0; i < e->ncols; i++) {
		const struct col *c = &e->cols[i];
		const struct dml_csv_field *v = &f[c->idx];

		if (is_missing(v)) {
			if (!e->drop_missing)
				return dml_error_fmt(DML_ERR_PARSE,
				    "%s line %llu column '%s': missing value (use --drop-missing to "
				    "skip such rows)", what, (unsigned long long)line, c->name);
			*skip = 1;
			return NULL;
		}
		if (c->categorical) {
			size_t k, nf = c->ncats - c->skip;
			for (k = 0; k < nf; k++)
				x[c->out + k] = 0;
			if (cat_find(c, v->p, v->len, &at) && at >= c->skip)
				x[c->out + at - c->skip] = 1;
		} else {
			int k = dml_value_read(v->p, v->len, &x[c->out]);
			if (k == DML_VALUE_NOMEM)
				return dml_error_nomem();
			if (k != DML_VALUE_INTEGER && k != DML_VALUE_FLOAT && k != DML_VALUE_BOOLEAN)
				return bad_value(what, line, c->name, v, "is not a finite number");
		}
	}
	return NULL;
missing_target:
	if (!e->drop_missing)
		return dml_error_fmt(DML_ERR_PARSE,
		    "%s line %llu column '%s': missing target (use --drop-missing to skip such "
		    "rows)", what, (unsigned long long)line, e->target);
	*skip = 1;
	return NULL;
}

/* The encoder of a trained model: its columns and categories, as stored. */
static const struct dml_error *
enc_from_model(struct enc *e, const struct dml_model *m, int want_target, int drop_missing)
{
	const struct dml_error *err;
	size_t i, at;

	memset(e, 0, sizeof(*e));
	e->intercept = m->has_intercept;
	e->want_target = want_target;
	e->drop_missing = drop_missing;
	if ((e->target = strdup(m->target)) == NULL)
		return dml_error_nomem();
	if (m->kind == DML_MODEL_LOGISTIC) {
		if ((e->labels[0] = strdup(m->labels[0])) == NULL ||
		    (e->labels[1] = strdup(m->labels[1])) == NULL)
			return dml_error_nomem();
		e->nlabels = 2;
		e->tkind = (strcmp(m->labels[0], "0") == 0 && strcmp(m->labels[1], "1") == 0) ||
		    (strcmp(m->labels[0], "false") == 0 && strcmp(m->labels[1], "true") == 0) ?
		    T_BINARY : T_LABELS;
	}
	/* Features are sorted by column, numeric before categories. */
	for (i = 0; i < m->nfeatures; i++) {
		const struct dml_model_feature *f = &m->features[i];
		struct col *c = enc_col(e, f->column);

		if (c == NULL) {
			if ((err = enc_add_col(e, f->column, f->category != NULL)))
				return err;
			c = &e->cols[e->ncols - 1];
		} else if (!c->categorical || f->category == NULL) {
			return dml_error_fmt(DML_ERR_USAGE, "the model uses column '%s' twice",
			    f->column);
		}
		if (f->category) {
			if (cat_find(c, f->category, strlen(f->category), &at))
				return dml_error_fmt(DML_ERR_USAGE,
				    "the model lists category '%s' of '%s' twice", f->category,
				    f->column);
			if ((err = cat_insert(c, at, f->category, strlen(f->category))))
				return err;
		}
	}
	return enc_layout(e);
}

/* ---- metrics ---- */

struct evalacc {
	int classification;
	struct dml_regmetrics reg;
	double *prob, *label;
	size_t n, cap;
};

static const struct dml_error *
evalacc_add(struct evalacc *a, double y, double pred)
{
	if (!a->classification)
		return dml_regmetrics_add(&a->reg, &y, &pred, 1);
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 1024;
		double *p = realloc(a->prob, cap * sizeof(*p)), *l;
		if (p == NULL)
			return dml_error_nomem();
		a->prob = p;
		if ((l = realloc(a->label, cap * sizeof(*l))) == NULL)
			return dml_error_nomem();
		a->label = l;
		a->cap = cap;
	}
	a->prob[a->n] = pred;
	a->label[a->n++] = y;
	return NULL;
}

static const struct dml_error *
evalacc_result(struct evalacc *a, struct dml_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->classification = a->classification;
	if (!a->classification) {
		ev->n = a->reg.n;
		return dml_regmetrics_result(&a->reg, &ev->reg);
	}
	ev->n = a->n;
	if (a->n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no rows to measure");
	return dml_classification_metrics(a->prob, a->label, a->n, &ev->cls);
}

static void
evalacc_release(struct evalacc *a)
{
	free(a->prob);
	free(a->label);
	a->prob = a->label = NULL;
	a->n = a->cap = 0;
}

static void
evalacc_init(struct evalacc *a, int classification)
{
	memset(a, 0, sizeof(*a));
	a->classification = classification;
	dml_regmetrics_init(&a->reg);
}

static double
model_output(const struct dml_model *m, const double *x)
{
	double z = 0;
	size_t j, off = m->has_intercept ? 1 : 0;

	/* x[0] is 1 when there is an intercept: the same sum as the linear path */
	if (m->has_intercept)
		z = m->intercept;
	for (j = 0; j < m->nfeatures; j++)
		z += m->features[j].coef * x[off + j];
	return m->kind == DML_MODEL_LOGISTIC ? dml_logit_sigmoid(z) : z;
}

/* ---- passes over the training data ---- */

struct pass;
typedef const struct dml_error *(*row_fn)(struct pass *p, uint64_t line,
    const struct dml_csv_field *f, size_t n, int held);

struct pass {
	struct enc *e;
	const struct dml_train_spec *sp;
	row_fn row;
	struct dml_csv *csv;
	const char *what;
	uint64_t rowno;		/* data rows so far, over all inputs */
	double *x, *y;		/* a block of encoded rows */
	size_t nb;
	/* the action's state */
	struct dml_suffstats *ss;
	const double *center, *scale;
	dml_visit_fn *visit;
	void *vctx;
	struct evalacc *acc[2];	/* training rows, held-out rows */
	const struct dml_model *model;
	/* progress of each pass */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *parg;
	uint64_t done, total;
};

static const struct dml_error *
pass_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct pass *p = arg;
	int held;

	if (line == 1)
		return enc_header(p->e, f, n, p->what);
	held = held_out(p->sp, p->rowno++);
	return p->row(p, line, f, n, held);
}

static const struct dml_error *
pass_feed(void *arg, const unsigned char *b, size_t n)
{
	struct pass *p = arg;
	const struct dml_error *err = dml_csv_feed(p->csv, b, n, pass_record, p);

	if (err == NULL && p->progress) {
		p->done += n;
		p->progress(p->parg, p->done, p->total);
	}
	return err;
}

static const struct dml_error *
dataset_stream(void *arg, dml_bytes_fn fn, void *fnarg)
{
	return dml_dataset_stream(arg, fn, fnarg, NULL, NULL);
}

void
dml_source_dataset(struct dml_source *src, struct dml_dataset_in *in)
{
	const struct dml_dataset_info *info = dml_dataset_info(in);

	snprintf(src->what, sizeof(src->what), "dataset '%s@%llu'", info->name,
	    (unsigned long long)info->version);
	src->sep = info->sep;
	src->size = info->size;
	src->stream = dataset_stream;
	src->arg = in;
}

static const struct dml_error *
file_stream(void *arg, dml_bytes_fn fn, void *fnarg)
{
	struct dml_source *src = arg;
	unsigned char *buf;
	const struct dml_error *err = NULL;
	int fd;

	if ((fd = open(src->path, O_RDONLY | O_CLOEXEC)) < 0)
		return dml_error_errno(errno, "cannot open '%s'", src->path);
	if ((buf = malloc(FILE_READ)) == NULL) {
		close(fd);
		return dml_error_nomem();
	}
	for (;;) {
		ssize_t r = read(fd, buf, FILE_READ);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dml_error_errno(errno, "cannot read '%s'", src->path);
			break;
		}
		if (r == 0 || (err = fn(fnarg, buf, (size_t)r)))
			break;
	}
	free(buf);
	close(fd);
	return err;
}

const struct dml_error *
dml_source_file(struct dml_source *src, const char *path, char sep)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	if (stat(path, &st) != 0)
		return dml_error_errno(errno, "cannot open '%s'", path);
	if (!S_ISREG(st.st_mode))
		return dml_error_fmt(DML_ERR_USAGE, "'%s' is not a regular file: training reads "
		    "its input more than once", path);
	if (snprintf(src->path, sizeof(src->path), "%s", path) >= (int)sizeof(src->path))
		return dml_error_fmt(DML_ERR_USAGE, "'%s': the path is too long", path);
	snprintf(src->what, sizeof(src->what), "'%s'", path);
	src->sep = sep;
	src->size = (uint64_t)st.st_size;
	src->stream = file_stream;
	src->arg = src;
	return NULL;
}

/* Stream every source through p->row. */
static const struct dml_error *
run_pass(struct pass *p, const struct dml_source *src, size_t n)
{
	const struct dml_error *err = NULL;
	size_t i;

	p->rowno = 0;
	p->done = p->total = 0;
	for (i = 0; i < n; i++)
		p->total += src[i].size;
	for (i = 0; i < n && err == NULL; i++) {
		p->what = src[i].what;
		if ((err = dml_csv_new(&p->csv, src[i].sep, src[i].what)))
			break;
		if ((err = src[i].stream(src[i].arg, pass_feed, p)) == NULL)
			err = dml_csv_finish(p->csv, pass_record, p);
		dml_csv_free(p->csv);
		p->csv = NULL;
	}
	return err;
}

/* Discovery: categories, labels, and moments of numeric columns. */
static const struct dml_error *
discover_row(struct pass *p, uint64_t line, const struct dml_csv_field *f, size_t n, int held)
{
	struct enc *e = p->e;
	size_t i, at;

	(void)n;
	if (held)
		return NULL;
	for (i = 0; i < e->ncols; i++)
		if (is_missing(&f[e->cols[i].idx]))
			goto missing;
	if (is_missing(&f[e->tidx]))
		goto missing;
	if (e->tkind == T_LABELS) {
		const struct dml_csv_field *t = &f[e->tidx];
		size_t k;
		for (k = 0; k < e->nlabels; k++)
			if (strlen(e->labels[k]) == t->len && memcmp(e->labels[k], t->p, t->len) == 0)
				break;
		if (k == e->nlabels) {
			char buf[48];
			if (e->nlabels == 2)
				return dml_error_fmt(DML_ERR_USAGE,
				    "%s line %llu: target '%s' has a third class '%s' (besides '%s' "
				    "and '%s'): logistic regression is binary", p->what,
				    (unsigned long long)line, e->target, show(t, buf, sizeof(buf)),
				    e->labels[0], e->labels[1]);
			if ((e->labels[e->nlabels] = malloc(t->len + 1)) == NULL)
				return dml_error_nomem();
			memcpy(e->labels[e->nlabels], t->p, t->len);
			e->labels[e->nlabels++][t->len] = '\0';
		}
	}
	for (i = 0; i < e->ncols; i++) {
		struct col *c = &e->cols[i];
		const struct dml_csv_field *v = &f[c->idx];
		const struct dml_error *err;
		double x, delta;

		if (c->categorical) {
			if (dml_value_nonfinite(v->p, v->len))
				return bad_value(p->what, line, c->name, v, "is not a finite number "
				    "(training refuses NaN and infinite values)");
			if (!cat_find(c, v->p, v->len, &at)) {
				if (c->ncats == DML_SCHEMA_DISTINCT_MAX)
					return dml_error_fmt(DML_ERR_USAGE,
					    "column '%s' has more than %d categories: leave it out "
					    "(--exclude) or publish it as numbers", c->name,
					    DML_SCHEMA_DISTINCT_MAX);
				if ((err = cat_insert(c, at, v->p, v->len)))
					return err;
			}
			c->cats[at].count++;
			continue;
		}
		switch (dml_value_read(v->p, v->len, &x)) {
		case DML_VALUE_INTEGER:
		case DML_VALUE_FLOAT:
		case DML_VALUE_BOOLEAN:
			break;
		case DML_VALUE_NOMEM:
			return dml_error_nomem();
		default:
			return bad_value(p->what, line, c->name, v, "is not a finite number");
		}
		c->n++;
		delta = x - c->mean;
		c->mean += delta / (double)c->n;
		c->m2 += delta * (x - c->mean);
	}
	return NULL;
missing:
	if (!e->drop_missing) {
		/* enc_row names the column; run it for the message */
		double *x = p->x, y;
		int skip;
		return enc_row(e, p->what, line, f, x, &y, &skip);
	}
	return NULL;
}

/* Hand the block to the fit, centred and scaled. */
static const struct dml_error *
flush_fit(struct pass *p)
{
	size_t r, j, d = p->e->d;
	const struct dml_error *err;

	if (p->nb == 0)
		return NULL;
	for (r = 0; r < p->nb; r++)
		for (j = 0; j < d; j++)
			p->x[r * d + j] = (p->x[r * d + j] - p->center[j]) / p->scale[j];
	err = p->ss ? dml_suffstats_add_rows(p->ss, p->x, p->y, p->nb) :
	    p->visit(p->vctx, p->x, p->y, p->nb);
	p->nb = 0;
	return err;
}

static const struct dml_error *
fit_row(struct pass *p, uint64_t line, const struct dml_csv_field *f, size_t n, int held)
{
	int skip;
	const struct dml_error *err;

	(void)n;
	if (held)
		return NULL;
	if ((err = enc_row(p->e, p->what, line, f, p->x + p->nb * p->e->d, p->y + p->nb, &skip)))
		return err;
	if (skip) {
		p->e->dropped++;
		return NULL;
	}
	if (++p->nb == BLOCK_ROWS)
		return flush_fit(p);
	return NULL;
}

static const struct dml_error *
measure_row(struct pass *p, uint64_t line, const struct dml_csv_field *f, size_t n, int held)
{
	double y;
	int skip;
	const struct dml_error *err;

	(void)n;
	if ((err = enc_row(p->e, p->what, line, f, p->x, &y, &skip)))
		return err;
	if (skip)
		return NULL;
	return evalacc_add(p->acc[held], y, model_output(p->model, p->x));
}

/* The scan a logistic fit calls once per pass. */
struct scan {
	struct pass *p;
	const struct dml_source *src;
	size_t n;
};

static const struct dml_error *
logit_scan(void *sctx, dml_visit_fn *visit, void *vctx)
{
	struct scan *s = sctx;
	const struct dml_error *err;

	s->p->visit = visit;
	s->p->vctx = vctx;
	s->p->nb = 0;
	s->p->e->dropped = 0;
	if ((err = run_pass(s->p, s->src, s->n)))
		return err;
	return flush_fit(s->p);
}

/* ---- training ---- */

static int
numeric_type(enum dml_coltype t)
{
	return t == DML_COL_INTEGER || t == DML_COL_FLOAT || t == DML_COL_BOOLEAN;
}

static const struct dml_column *
schema_col(const struct dml_schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return &s->cols[i];
	return NULL;
}

static int
listed(const char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return 1;
	return 0;
}

/* Decide the columns, their kinds and the target's from the schemas. */
static const struct dml_error *
plan(struct enc *e, struct dml_dataset_in *const *in, size_t nin,
    const struct dml_train_spec *sp)
{
	const struct dml_schema *s0 = dml_dataset_info(in[0])->schema;
	const struct dml_error *err;
	size_t i, k;
	int all_bool = 1;

	for (k = 0; k < sp->nexclude; k++)
		if (schema_col(s0, sp->exclude[k]) == NULL)
			return dml_error_fmt(DML_ERR_USAGE, "--exclude: dataset '%s' has no column '%s'",
			    dml_dataset_info(in[0])->name, sp->exclude[k]);
	if (sp->columns) {
		for (k = 0; k < sp->ncolumns; k++) {
			if (strcmp(sp->columns[k], sp->target) == 0)
				return dml_error_fmt(DML_ERR_USAGE,
				    "column '%s' is the target and cannot be a feature", sp->target);
			if (listed(sp->columns, k, sp->columns[k]))
				return dml_error_fmt(DML_ERR_USAGE, "feature '%s' is listed twice",
				    sp->columns[k]);
			if ((err = enc_add_col(e, sp->columns[k], 0)))
				return err;
		}
	} else {
		for (k = 0; k < s0->ncols; k++)
			if (strcmp(s0->cols[k].name, sp->target) != 0 &&
			    !listed(sp->exclude, sp->nexclude, s0->cols[k].name) &&
			    (err = enc_add_col(e, s0->cols[k].name, 0)))
				return err;
	}
	if ((e->target = strdup(sp->target)) == NULL)
		return dml_error_nomem();
	e->want_target = 1;
	e->tkind = sp->kind == DML_MODEL_LOGISTIC ? T_BINARY : T_NUMBER;
	for (i = 0; i < nin; i++) {
		const struct dml_dataset_info *info = dml_dataset_info(in[i]);
		const struct dml_column *t = schema_col(info->schema, sp->target);

		if (t == NULL)
			return dml_error_fmt(DML_ERR_USAGE, "dataset '%s@%llu' has no column '%s'",
			    info->name, (unsigned long long)info->version, sp->target);
		if (t->type == DML_COL_STRING && t->count > 0) {
			if (sp->kind != DML_MODEL_LOGISTIC)
				return dml_error_fmt(DML_ERR_USAGE,
				    "target '%s' is not numeric in dataset '%s@%llu' (a string "
				    "column): %s regression needs numbers", sp->target, info->name,
				    (unsigned long long)info->version, dml_model_kind_name(sp->kind));
			e->tkind = T_LABELS;
		} else if (sp->kind == DML_MODEL_LOGISTIC && t->count > 0 &&
		    (t->min < 0 || t->max > 1)) {
			return dml_error_fmt(DML_ERR_USAGE,
			    "target '%s' in dataset '%s@%llu' ranges from %g to %g: a logistic "
			    "target holds 0 and 1, or two labels", sp->target, info->name,
			    (unsigned long long)info->version, t->min, t->max);
		}
		if (t->type != DML_COL_BOOLEAN)
			all_bool = 0;
		for (k = 0; k < e->ncols; k++) {
			const struct dml_column *c = schema_col(info->schema, e->cols[k].name);
			if (c == NULL)
				return dml_error_fmt(DML_ERR_USAGE,
				    "dataset '%s@%llu' has no column '%s'", info->name,
				    (unsigned long long)info->version, e->cols[k].name);
			if (!numeric_type(c->type) && c->count > 0)
				e->cols[k].categorical = 1;
		}
	}
	if (e->tkind == T_BINARY) {
		e->labels[0] = strdup(all_bool ? "false" : "0");
		e->labels[1] = strdup(all_bool ? "true" : "1");
		if (e->labels[0] == NULL || e->labels[1] == NULL)
			return dml_error_nomem();
		e->nlabels = 2;
	}
	e->intercept = sp->intercept;
	e->drop_missing = sp->drop_missing;
	return NULL;
}

void
dml_train_out_release(struct dml_train_out *out)
{
	dml_model_release(&out->model);
}

/* Fill the model's features from the encoder and the coefficients. */
static const struct dml_error *
fill_model(struct dml_model *m, const struct enc *e, const struct dml_train_spec *sp,
    const double *coef)
{
	size_t i, k, j = 0;

	m->kind = sp->kind;
	m->has_intercept = e->intercept;
	m->intercept = e->intercept ? coef[0] : 0;
	if ((m->target = strdup(e->target)) == NULL)
		return dml_error_nomem();
	if (sp->kind == DML_MODEL_LOGISTIC &&
	    ((m->labels[0] = strdup(e->labels[0])) == NULL ||
	    (m->labels[1] = strdup(e->labels[1])) == NULL))
		return dml_error_nomem();
	m->nfeatures = e->d - (e->intercept ? 1 : 0);
	if ((m->features = calloc(m->nfeatures ? m->nfeatures : 1, sizeof(*m->features))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < e->ncols; i++) {
		const struct col *c = &e->cols[i];
		size_t nf = c->categorical ? c->ncats - c->skip : 1;
		for (k = 0; k < nf; k++, j++) {
			struct dml_model_feature *f = &m->features[j];
			if ((f->column = strdup(c->name)) == NULL)
				return dml_error_nomem();
			if (c->categorical && (f->category = strdup(c->cats[c->skip + k].p)) == NULL)
				return dml_error_nomem();
			f->coef = coef[c->out + k];
		}
	}
	return NULL;
}

/* Sort the model's features as the file format wants them (columns byte order). */
static int
feature_cmp(const void *a, const void *b)
{
	const struct dml_model_feature *x = a, *y = b;
	int c = strcmp(x->column, y->column);

	if (c)
		return c;
	if (x->category == NULL || y->category == NULL)
		return (x->category != NULL) - (y->category != NULL);
	return strcmp(x->category, y->category);
}

const struct dml_error *
dml_train(struct dml_dataset_in *const *in, size_t nin, struct dml_dataset_in *valid,
    const struct dml_train_spec *sp, struct dml_train_out *out)
{
	struct enc e;
	struct pass p;
	struct dml_suffstats ss;
	struct evalacc acc[2];
	double *center = NULL, *scale = NULL, *beta = NULL;
	struct dml_source *src = NULL, vsrc;
	const struct dml_error *err;
	size_t i, j, d;
	int need_discovery = 0;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	memset(&p, 0, sizeof(p));
	memset(&ss, 0, sizeof(ss));
	dml_model_init(&out->model);
	evalacc_init(&acc[0], sp->kind == DML_MODEL_LOGISTIC);
	evalacc_init(&acc[1], sp->kind == DML_MODEL_LOGISTIC);
	if (nin == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no training dataset");
	if (!(sp->lambda >= 0) || !isfinite(sp->lambda))
		return dml_error_fmt(DML_ERR_USAGE, "lambda must be finite and non-negative");
	if (!(sp->holdout >= 0 && sp->holdout < 1))
		return dml_error_fmt(DML_ERR_USAGE, "the holdout fraction must be in [0, 1)");
	if (sp->kind == DML_MODEL_OLS && sp->lambda != 0)
		return dml_error_fmt(DML_ERR_USAGE, "ols takes no lambda (use ridge)");
	if ((src = calloc(nin, sizeof(*src))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < nin; i++)
		dml_source_dataset(&src[i], in[i]);
	if (valid)
		dml_source_dataset(&vsrc, valid);
	if ((err = plan(&e, in, nin, sp)))
		goto done;
	for (i = 0; i < e.ncols; i++)
		need_discovery |= e.cols[i].categorical;
	need_discovery |= e.tkind == T_LABELS || sp->standardize;
	p.e = &e;
	p.sp = sp;
	p.progress = sp->progress;
	p.parg = sp->arg;

	/* 1. discovery */
	if (need_discovery) {
		if ((p.x = malloc(DML_LINALG_MAX_D * sizeof(double))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		p.row = discover_row;
		if ((err = run_pass(&p, src, nin)))
			goto done;
		free(p.x);
		p.x = NULL;
		if (e.tkind == T_LABELS) {
			if (e.nlabels < 2) {
				err = dml_error_fmt(DML_ERR_USAGE,
				    "target '%s' has only one class%s%s%s: logistic regression needs two",
				    e.target, e.nlabels ? " ('" : "", e.nlabels ? e.labels[0] : "",
				    e.nlabels ? "')" : "");
				goto done;
			}
			if (strcmp(e.labels[0], e.labels[1]) > 0) {
				char *t = e.labels[0];
				e.labels[0] = e.labels[1];
				e.labels[1] = t;
			}
		}
		for (i = 0; i < e.ncols; i++)
			if (e.cols[i].categorical)
				e.cols[i].skip = e.intercept && e.cols[i].ncats > 0 ? 1 : 0;
	}
	if ((err = enc_layout(&e)))
		goto done;
	d = e.d;

	/* centring and scaling of each row entry */
	if ((center = calloc(d, sizeof(*center))) == NULL ||
	    (scale = malloc(d * sizeof(*scale))) == NULL ||
	    (beta = calloc(d, sizeof(*beta))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (j = 0; j < d; j++)
		scale[j] = 1;
	for (i = 0; i < e.ncols; i++) {
		struct col *c = &e.cols[i];
		if (c->categorical) {
			uint64_t rows = 0;
			size_t k;
			if (!sp->standardize)
				continue;
			for (k = 0; k < c->ncats; k++)
				rows += c->cats[k].count;
			for (k = c->skip; k < c->ncats; k++) {
				double q = rows ? (double)c->cats[k].count / (double)rows : 0;
				double sd = sqrt(q * (1 - q));
				center[c->out + k - c->skip] = e.intercept ? q : 0;
				scale[c->out + k - c->skip] = sd > 0 ? sd : 1;
			}
		} else if (sp->standardize) {
			double sd = c->n ? sqrt(c->m2 / (double)c->n) : 0;
			center[c->out] = e.intercept ? c->mean : 0;
			scale[c->out] = sd > 0 ? sd : 1;
		} else if (e.intercept) {
			const struct dml_column *sc = schema_col(dml_dataset_info(in[0])->schema,
			    c->name);
			center[c->out] = sc && numeric_type(sc->type) && isfinite(sc->mean) ?
			    sc->mean : 0;
		}
	}

	/* 2. the fit */
	if ((p.x = malloc(BLOCK_ROWS * d * sizeof(double))) == NULL ||
	    (p.y = malloc(BLOCK_ROWS * sizeof(double))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	p.center = center;
	p.scale = scale;
	p.row = fit_row;
	e.dropped = 0;
	if (sp->kind == DML_MODEL_LOGISTIC) {
		struct dml_logit_opts lo;
		struct dml_logit_info li;
		struct scan s = { &p, src, nin };

		dml_logit_opts_init(&lo);
		lo.lambda = sp->lambda;
		lo.intercept = e.intercept ? 0 : DML_NO_INTERCEPT;
		if ((err = dml_logit_fit(d, logit_scan, &s, &lo, beta, &li)))
			goto done;
		out->method = "newton";
		out->iterations = li.iterations;
		out->rank = li.last_solve.rank;
		out->rows = li.n;
	} else {
		struct dml_solve_info si;

		if ((err = dml_suffstats_init(&ss, d)))
			goto done;
		p.ss = &ss;
		if ((err = run_pass(&p, src, nin)) || (err = flush_fit(&p)))
			goto done;
		if (ss.n == 0) {
			err = dml_error_fmt(DML_ERR_USAGE, "no rows left to train on%s",
			    sp->drop_missing ? " after dropping rows with missing values" : "");
			goto done;
		}
		if ((err = dml_suffstats_solve(&ss, sp->lambda, e.intercept ? 0 : DML_NO_INTERCEPT,
		    DML_SOLVE_DEFAULT, beta, &si)))
			goto done;
		out->method = dml_solve_method_name(si.method);
		out->rank = si.rank;
		out->rows = ss.n;
	}
	/* back to the units of the data */
	for (j = 0; j < d; j++)
		beta[j] /= scale[j];
	if (e.intercept)
		for (j = 1; j < d; j++)
			beta[0] -= beta[j] * center[j];
	for (j = 0; j < d; j++)
		if (!isfinite(beta[j])) {
			err = dml_error_fmt(DML_ERR_USAGE, "the fit overflowed: the data are too large "
			    "or too badly scaled");
			goto done;
		}
	if ((err = fill_model(&out->model, &e, sp, beta)))
		goto done;

	out->dropped = e.dropped;

	/*
	 * 3. metrics, with the model exactly as stored: features in the file's
	 * order, and the encoder a user of the model file would build.
	 */
	qsort(out->model.features, out->model.nfeatures, sizeof(*out->model.features),
	    feature_cmp);
	enc_release(&e);
	if ((err = enc_from_model(&e, &out->model, 1, sp->drop_missing)))
		goto done;
	p.e = &e;
	p.model = &out->model;
	p.acc[0] = &acc[0];
	p.acc[1] = &acc[1];
	p.row = measure_row;
	if ((err = run_pass(&p, src, nin)))
		goto done;
	out->held = acc[1].classification ? acc[1].n : acc[1].reg.n;
	if ((err = evalacc_result(&acc[0], &out->train)))
		goto done;
	if (valid) {
		evalacc_release(&acc[1]);
		evalacc_init(&acc[1], sp->kind == DML_MODEL_LOGISTIC);
		p.acc[0] = &acc[1];
		p.sp = NULL;	/* no holdout in the validation data */
		err = run_pass(&p, &vsrc, 1);
		p.sp = sp;
		if (err)
			goto done;
	}
	if (valid || out->held > 0) {
		if ((err = evalacc_result(&acc[1], &out->valid)))
			goto done;
		out->have_valid = 1;
	}
done:
	if (err)
		dml_model_release(&out->model), dml_model_init(&out->model);
	enc_release(&e);
	dml_suffstats_release(&ss);
	evalacc_release(&acc[0]);
	evalacc_release(&acc[1]);
	free(p.x);
	free(p.y);
	free(center);
	free(scale);
	free(beta);
	free(src);
	return err;
}

/* ---- scoring new rows ---- */

struct dml_scorer {
	struct enc e;
	const struct dml_model *m;
	struct dml_csv *csv;
	char *what;
	dml_score_fn row;
	void *arg;
	struct evalacc acc;
	double *x;
};

void
dml_scorer_free(struct dml_scorer *s)
{
	if (s == NULL)
		return;
	enc_release(&s->e);
	dml_csv_free(s->csv);
	evalacc_release(&s->acc);
	free(s->what);
	free(s->x);
	free(s);
}

const struct dml_error *
dml_scorer_new(struct dml_scorer **out, const struct dml_model *m, char sep, const char *what,
    int with_target, int drop_missing, dml_score_fn row, void *arg)
{
	struct dml_scorer *s;
	const struct dml_error *err;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return dml_error_nomem();
	s->m = m;
	s->row = row;
	s->arg = arg;
	evalacc_init(&s->acc, m->kind == DML_MODEL_LOGISTIC);
	if ((s->what = strdup(what)) == NULL)
		err = dml_error_nomem();
	else if ((err = enc_from_model(&s->e, m, with_target, drop_missing)) == NULL &&
	    (err = dml_csv_new(&s->csv, sep, what)) == NULL &&
	    (s->x = malloc(s->e.d * sizeof(double))) == NULL)
		err = dml_error_nomem();
	if (err) {
		dml_scorer_free(s);
		return err;
	}
	*out = s;
	return NULL;
}

static const struct dml_error *
score_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct dml_scorer *s = arg;
	const struct dml_error *err;
	double y = 0, pred;
	int skip;

	if (line == 1) {
		char what[512];
		snprintf(what, sizeof(what), "'%s'", s->what);
		if ((err = enc_header(&s->e, f, n, what)))
			return err;
		return s->row ? s->row(s->arg, line, f, n, NULL, NULL) : NULL;
	}
	if ((err = enc_row(&s->e, s->what, line, f, s->x, &y, &skip)))
		return err;
	if (skip) {
		s->e.dropped++;
		return NULL;
	}
	pred = model_output(s->m, s->x);
	if (s->e.want_target && (err = evalacc_add(&s->acc, y, pred)))
		return err;
	if (s->row == NULL)
		return NULL;
	return s->row(s->arg, line, f, n, &pred,
	    s->m->kind == DML_MODEL_LOGISTIC ? s->m->labels[pred > 0.5] : NULL);
}

const struct dml_error *
dml_scorer_feed(struct dml_scorer *s, const void *p, size_t n)
{
	return dml_csv_feed(s->csv, p, n, score_record, s);
}

const struct dml_error *
dml_scorer_finish(struct dml_scorer *s, struct dml_eval *ev)
{
	const struct dml_error *err;

	if ((err = dml_csv_finish(s->csv, score_record, s)))
		return err;
	if (dml_csv_records(s->csv) == 0)
		return dml_error_fmt(DML_ERR_PARSE, "'%s' is empty: expected a header and rows",
		    s->what);
	if (s->e.want_target && ev)
		return evalacc_result(&s->acc, ev);
	return NULL;
}

uint64_t
dml_scorer_dropped(const struct dml_scorer *s)
{
	return s->e.dropped;
}

/* ---- federated local work on a fixed layout ---- */

/* A pass context for a model's layout: the encoder and no scaling. */
struct layout_pass {
	struct enc e;
	struct pass p;
	double *center, *scale;
};

static void
layout_release(struct layout_pass *lp)
{
	enc_release(&lp->e);
	free(lp->p.x);
	free(lp->p.y);
	free(lp->center);
	free(lp->scale);
}

static const struct dml_error *
layout_init(struct layout_pass *lp, const struct dml_model *m, int drop_missing)
{
	const struct dml_error *err;
	size_t j;

	memset(lp, 0, sizeof(*lp));
	if ((err = enc_from_model(&lp->e, m, 1, drop_missing)))
		return err;
	if ((lp->p.x = malloc(BLOCK_ROWS * lp->e.d * sizeof(double))) == NULL ||
	    (lp->p.y = malloc(BLOCK_ROWS * sizeof(double))) == NULL ||
	    (lp->center = calloc(lp->e.d, sizeof(double))) == NULL ||
	    (lp->scale = malloc(lp->e.d * sizeof(double))) == NULL)
		return dml_error_nomem();
	for (j = 0; j < lp->e.d; j++)
		lp->scale[j] = 1;
	lp->p.e = &lp->e;
	lp->p.center = lp->center;
	lp->p.scale = lp->scale;
	lp->p.row = fit_row;
	return NULL;
}

size_t
dml_model_dim(const struct dml_model *m)
{
	return m->nfeatures + (m->has_intercept ? 1 : 0);
}

const struct dml_error *
dml_local_stats(const struct dml_model *layout, const struct dml_source *src, int drop_missing,
    struct dml_suffstats *ss)
{
	struct layout_pass lp;
	const struct dml_error *err;

	if ((err = layout_init(&lp, layout, drop_missing)) == NULL &&
	    (err = dml_suffstats_init(ss, lp.e.d)) == NULL) {
		lp.p.ss = ss;
		if ((err = run_pass(&lp.p, src, 1)) == NULL)
			err = flush_fit(&lp.p);
		if (err == NULL && ss->n == 0)
			err = dml_error_fmt(DML_ERR_USAGE, "%s has no rows to train on", src->what);
	}
	layout_release(&lp);
	return err;
}

const struct dml_error *
dml_local_fit(const struct dml_model *layout, const struct dml_source *src, double lambda,
    unsigned steps, int drop_missing, double *beta, uint64_t *n)
{
	struct layout_pass lp;
	struct dml_suffstats ss;
	const struct dml_error *err;
	size_t j, off = layout->has_intercept ? 1 : 0;

	memset(&ss, 0, sizeof(ss));
	if (layout->kind != DML_MODEL_LOGISTIC) {
		err = dml_local_stats(layout, src, drop_missing, &ss);
		if (err == NULL)
			err = dml_suffstats_solve(&ss, lambda, off ? 0 : DML_NO_INTERCEPT,
			    DML_SOLVE_DEFAULT, beta, NULL);
		*n = ss.n;
		dml_suffstats_release(&ss);
		return err;
	}
	if ((err = layout_init(&lp, layout, drop_missing)) == NULL) {
		struct dml_logit_opts lo;
		struct dml_logit_info li;
		struct scan s = { &lp.p, src, 1 };
		double *init = malloc(lp.e.d * sizeof(double));

		if (init == NULL) {
			err = dml_error_nomem();
		} else {
			if (off)
				init[0] = layout->intercept;
			for (j = 0; j < layout->nfeatures; j++)
				init[off + j] = layout->features[j].coef;
			dml_logit_opts_init(&lo);
			lo.lambda = lambda;
			lo.intercept = off ? 0 : DML_NO_INTERCEPT;
			lo.max_iter = steps;
			lo.fixed_iter = 1;
			lo.init = init;
			err = dml_logit_fit(lp.e.d, logit_scan, &s, &lo, beta, &li);
			*n = li.n;
			free(init);
		}
	}
	layout_release(&lp);
	return err;
}

const struct dml_error *
dml_model_evaluate(const struct dml_model *m, const struct dml_source *src, int drop_missing,
    struct dml_eval *ev)
{
	struct layout_pass lp;
	struct evalacc acc;
	const struct dml_error *err;

	evalacc_init(&acc, m->kind == DML_MODEL_LOGISTIC);
	if ((err = layout_init(&lp, m, drop_missing)) == NULL) {
		lp.p.model = m;
		lp.p.acc[0] = lp.p.acc[1] = &acc;
		lp.p.row = measure_row;
		if ((err = run_pass(&lp.p, src, 1)) == NULL)
			err = evalacc_result(&acc, ev);
	}
	evalacc_release(&acc);
	layout_release(&lp);
	return err;
}

/* Rows into memory, for games that evaluate many models on one set. */
struct rows_acc {
	double *x, *y;
	size_t rows, cap, d;
};

static const struct dml_error *
keep_row(struct pass *p, uint64_t line, const struct dml_csv_field *f, size_t n, int held)
{
	struct rows_acc *a = p->vctx;
	int skip;
	const struct dml_error *err;

	(void)n;
	(void)held;
	if (a->rows == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 1024;
		double *nx, *ny;
		if (cap > DML_SOURCE_ROWS_MAX / a->d)
			return dml_error_fmt(DML_ERR_USAGE, "%s has more than %zu values: too many to "
			    "hold in memory", p->what, DML_SOURCE_ROWS_MAX);
		if ((nx = realloc(a->x, cap * a->d * sizeof(*nx))) == NULL)
			return dml_error_nomem();
		a->x = nx;
		if ((ny = realloc(a->y, cap * sizeof(*ny))) == NULL)
			return dml_error_nomem();
		a->y = ny;
		a->cap = cap;
	}
	if ((err = enc_row(p->e, p->what, line, f, a->x + a->rows * a->d, a->y + a->rows, &skip)))
		return err;
	if (!skip)
		a->rows++;
	return NULL;
}

const struct dml_error *
dml_source_rows(const struct dml_model *layout, const struct dml_source *src, int drop_missing,
    double **x, double **y, size_t *rows)
{
	struct layout_pass lp;
	struct rows_acc a;
	const struct dml_error *err;

	memset(&a, 0, sizeof(a));
	*x = *y = NULL;
	*rows = 0;
	if ((err = layout_init(&lp, layout, drop_missing)) == NULL) {
		a.d = lp.e.d;
		lp.p.vctx = &a;
		lp.p.row = keep_row;
		err = run_pass(&lp.p, src, 1);
	}
	layout_release(&lp);
	if (err == NULL && a.rows == 0)
		err = dml_error_fmt(DML_ERR_USAGE, "%s has no rows", src->what);
	if (err) {
		free(a.x);
		free(a.y);
		return err;
	}
	*x = a.x;
	*y = a.y;
	*rows = a.rows;
	return NULL;
}
