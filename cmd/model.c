/*
 * model.c - dmlctl model: train, list, show, evaluate, predict, export.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/modelentry.h"

#define READ_SIZE ((size_t)1 << 20)

/* "name" or "name@version" of a model to its entry seq. */
static const struct dml_error *
resolve_model(struct dml_ledger *l, const char *spec, uint64_t *seq, uint64_t *version)
{
	const struct dml_model_head *h;
	char name[DML_TOKEN_MAX + 1];
	uint64_t v;
	const struct dml_error *err;

	if ((err = parse_versioned(spec, "model", name, &v)))
		return err;
	if ((h = dml_model_find(dml_ledger_state(l), name)) == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND,
		    "no model named '%s' (see 'dmlctl model list')", name);
	if ((err = pick_version("model", name, h->nversions, &v)))
		return err;
	*seq = h->seqs[v - 1];
	if (version)
		*version = v;
	return NULL;
}

static void
train_progress(void *arg, uint64_t done, uint64_t total)
{
	progress(arg, "Training", done, total);
}

static json_t *
json_eval(const struct dml_eval *ev)
{
	json_t *o;

	if (ev->classification) {
		o = json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "rows", (json_int_t)ev->n,
		    "accuracy", ev->cls.accuracy, "log_loss", ev->cls.log_loss, "precision",
		    ev->cls.precision, "recall", ev->cls.recall, "f1", ev->cls.f1);
		json_object_set_new(o, "auc", isnan(ev->cls.auc) ? json_null() :
		    json_real(ev->cls.auc));
		return o;
	}
	return json_pack("{s:I, s:f, s:f, s:f}", "rows", (json_int_t)ev->n, "mse", ev->reg.mse,
	    "mae", ev->reg.mae, "r2", ev->reg.r2);
}

static void
print_eval(const char *set, const struct dml_eval *ev)
{
	if (ev->classification)
		printf("%-6s %llu rows: accuracy %.6g  log-loss %.6g  auc %.6g  precision %.6g  "
		    "recall %.6g  f1 %.6g\n", set, (unsigned long long)ev->n, ev->cls.accuracy,
		    ev->cls.log_loss, ev->cls.auc, ev->cls.precision, ev->cls.recall, ev->cls.f1);
	else
		printf("%-6s %llu rows: mse %.6g  mae %.6g  r2 %.6g\n", set, (unsigned long long)ev->n,
		    ev->reg.mse, ev->reg.mae, ev->reg.r2);
}

static int
model_train(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl model train [-k <key>] --name <model> --dataset <name>[@<v>]... --target <column>\n"
		"                          [--features <a,b,...> | --exclude <a,b,...>]\n"
		"                          [--kind (ols | ridge | logistic)] [--lambda <x>] [--standardize]\n"
		"                          [--no-intercept] [--drop-missing]\n"
		"                          [--validation <name>[@<v>] | --holdout <fraction> [--seed <n>]] [--json]",
		NULL };
	const char *name = NULL, *target = NULL, *features = NULL, *exclude = NULL;
	const char *kind = "ridge", *lambda_s = NULL, *validation = NULL, *holdout_s = NULL;
	struct strlist datasets = { NULL, 0 };
	int standardize = 0, no_intercept = 0, drop_missing = 0;
	uint64_t seed = 0;
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "name", "<model>", "the model's name ([a-z0-9._-])", &name },
		{ OPT_LIST, 0, "dataset", "<name>[@<v>]", "train on this dataset (repeatable)",
		    &datasets },
		{ OPT_STRING, 0, "target", "<column>", "the column to predict", &target },
		{ OPT_STRING, 0, "features", "<a,b,...>", "feature columns (default: all others)",
		    &features },
		{ OPT_STRING, 0, "exclude", "<a,b,...>", "columns to leave out", &exclude },
		{ OPT_STRING, 0, "kind", "<kind>", "ols, ridge (default) or logistic", &kind },
		{ OPT_STRING, 0, "lambda", "<x>", "L2 penalty (default 1 for ridge, 0 otherwise)",
		    &lambda_s },
		{ OPT_FLAG, 0, "standardize", NULL, "penalise features on a common scale",
		    &standardize },
		{ OPT_FLAG, 0, "no-intercept", NULL, "fit without an intercept", &no_intercept },
		{ OPT_FLAG, 0, "drop-missing", NULL, "skip rows with missing values", &drop_missing },
		{ OPT_STRING, 0, "validation", "<name>[@<v>]", "measure on this dataset",
		    &validation },
		{ OPT_STRING, 0, "holdout", "<fraction>", "hold out this fraction of the rows",
		    &holdout_s },
		{ OPT_UINT, 0, "seed", "<n>", "seed of the holdout split (default 0)", &seed },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_model_train_opts o;
	struct dml_model_train_result res;
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	const struct dml_error *err = NULL;
	char *fbuf = NULL, *xbuf = NULL, *end, id[DML_ID_LEN + 1], mid[DML_ID_LEN + 1];
	const char **fv = NULL, **xv = NULL;
	uint64_t *seqs = NULL, version = 0;
	size_t nf = 0, nx = 0, i;
	int n, mk, rc = 0;

	memset(&res, 0, sizeof(res));
	if ((n = parse_options(argc, argv, opts, usage)) < 0) {
		rc = PARSE_EXIT(n);
		goto done;
	}
	if (n != 0) {
		rc = usage_error("'model train' takes no arguments (see --dataset)");
		goto done;
	}
	if (name == NULL || target == NULL || datasets.n == 0) {
		rc = usage_error("'model train' needs --name, --dataset and --target");
		goto done;
	}
	if (!dml_value_valid(DML_V_TOKEN, name, strlen(name))) {
		rc = usage_error("--name '%s': use 1-64 of a-z 0-9 . _ - , starting with a letter "
		    "or digit", name);
		goto done;
	}
	if ((mk = dml_model_kind_parse(kind)) < 0) {
		rc = usage_error("--kind '%s': expected ols, ridge or logistic", kind);
		goto done;
	}
	if (features && exclude) {
		rc = usage_error("give --features or --exclude, not both");
		goto done;
	}
	if (validation && holdout_s) {
		rc = usage_error("give --validation or --holdout, not both");
		goto done;
	}
	memset(&o, 0, sizeof(o));
	o.lambda = mk == DML_MODEL_RIDGE ? 1 : 0;
	if (lambda_s) {
		errno = 0;
		o.lambda = strtod(lambda_s, &end);
		if (errno || *end || end == lambda_s || !(o.lambda >= 0) || !isfinite(o.lambda)) {
			rc = usage_error("--lambda '%s': expected a number >= 0", lambda_s);
			goto done;
		}
		if (mk == DML_MODEL_OLS && o.lambda != 0) {
			rc = usage_error("--lambda: ols has no penalty (use --kind ridge)");
			goto done;
		}
	}
	if (holdout_s) {
		errno = 0;
		o.holdout = strtod(holdout_s, &end);
		if (errno || *end || end == holdout_s || !(o.holdout > 0 && o.holdout < 1)) {
			rc = usage_error("--holdout '%s': expected a fraction between 0 and 1",
			    holdout_s);
			goto done;
		}
	}
	if ((features && split_commas(features, &fbuf, &fv, &nf)) ||
	    (exclude && split_commas(exclude, &xbuf, &xv, &nx))) {
		err = dml_error_nomem();
		goto done;
	}
	if ((err = now_seconds(&o.time)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)))
		goto done;
	if ((seqs = calloc(datasets.n, sizeof(*seqs))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < datasets.n; i++)
		if ((err = resolve_dataset(l, datasets.v[i], &seqs[i], NULL)))
			goto done;
	o.validation = UINT64_MAX;
	if (validation && (err = resolve_dataset(l, validation, &o.validation, NULL)))
		goto done;
	o.name = name;
	o.kind = (enum dml_model_kind)mk;
	o.datasets = seqs;
	o.ndatasets = datasets.n;
	o.target = target;
	o.columns = features ? fv : NULL;
	o.ncolumns = nf;
	o.exclude = xv;
	o.nexclude = nx;
	o.intercept = !no_intercept;
	o.standardize = standardize;
	o.drop_missing = drop_missing;
	o.seed = seed;
	o.progress = train_progress;
	o.arg = ctx;
	if ((err = dml_state_authorize(dml_ledger_state(l), &k->pub, "model.train")) ||
	    (err = dml_model_train(l, k, &o, &res)))
		goto done;
	version = dml_model_find(dml_ledger_state(l), name)->nversions;
	dml_id_format(id, res.stmt->id);
	dml_id_format(mid, res.model_id);
	if (ctx->json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I}",
		    "name", name, "version", (json_int_t)version, "seq", (json_int_t)res.stmt->seq,
		    "id", id, "model", mid, "kind", kind, "rows", (json_int_t)res.out.rows,
		    "dropped", (json_int_t)res.out.dropped, "held", (json_int_t)res.out.held,
		    "features", (json_int_t)res.out.model.nfeatures, "method", res.out.method,
		    "rank", (json_int_t)res.out.rank);
		if (mk == DML_MODEL_LOGISTIC)
			json_object_set_new(j, "iterations", json_integer(res.out.iterations));
		json_object_set_new(j, "train", json_eval(&res.out.train));
		if (res.out.have_valid)
			json_object_set_new(j, "valid", json_eval(&res.out.valid));
		rc = json_print(j);
	} else if (!ctx->quiet) {
		printf("trained %s@%llu as entry #%llu %s\n", name, (unsigned long long)version,
		    (unsigned long long)res.stmt->seq, id);
		printf("%s on %zu feature%s, %llu rows", kind, res.out.model.nfeatures,
		    res.out.model.nfeatures == 1 ? "" : "s", (unsigned long long)res.out.rows);
		if (res.out.dropped)
			printf(" (%llu dropped for missing values)", (unsigned long long)res.out.dropped);
		if (mk == DML_MODEL_LOGISTIC)
			printf("; Newton converged in %u iteration%s\n", res.out.iterations,
			    res.out.iterations == 1 ? "" : "s");
		else if (strcmp(res.out.method, "cholesky") == 0)
			printf("; solved by Cholesky\n");
		else
			printf("; the system is rank-deficient or badly conditioned (rank %zu of %zu): "
			    "minimum-norm solution by eigendecomposition\n", res.out.rank,
			    res.out.model.nfeatures + (res.out.model.has_intercept ? 1 : 0));
		print_eval("train", &res.out.train);
		if (res.out.have_valid)
			print_eval(validation ? "valid" : "holdout", &res.out.valid);
	}
done:
	dml_stmt_free(res.stmt);
	dml_train_out_release(&res.out);
	dml_key_free(k);
	free(seqs);
	free(fbuf);
	free(fv);
	free(xbuf);
	free(xv);
	free(datasets.v);
	return err ? report(err) : rc;
}

static int
model_list(struct ctx *ctx, int argc, char **argv)
{
	struct dml_ledger *l;
	const struct dml_state *st;
	const struct dml_error *err;
	json_t *arr;
	size_t i;
	int n;

	if ((n = list_begin(ctx, argc, argv, "model", &l)) >= 0)
		return n;
	st = dml_ledger_state(l);
	if ((arr = json_array()) == NULL)
		return report(dml_error_nomem());
	for (i = 0; i < st->nmodels; i++) {
		const struct dml_model_head *h = &st->models[i];
		struct dml_stmt *s;
		char fp[DML_KEY_FP_LEN + 1], owner[DML_KEY_ID_LEN + 1], kind[DML_TOKEN_MAX + 1];
		char target[DML_TEXT_MAX + 1];
		uint64_t rows = 0;

		if ((err = dml_ledger_read(l, h->seqs[h->nversions - 1], &s, NULL))) {
			json_decref(arr);
			return report(err);
		}
		dml_field_copy(dml_stmt_field(s, "kind"), kind, sizeof(kind));
		dml_field_copy(dml_stmt_field(s, "target"), target, sizeof(target));
		dml_field_uint(dml_stmt_field(s, "rows"), &rows);
		dml_stmt_free(s);
		dml_pubkey_fingerprint(fp, &h->owner);
		dml_pubkey_id(owner, &h->owner);
		if (ctx->json)
			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s, s:s, s:I}", "name",
			    h->name, "versions", (json_int_t)h->nversions, "kind", kind, "target",
			    target, "owner", owner, "rows", (json_int_t)rows));
		else
			printf("%-24s v%-4llu %-9s %-16s %10llu rows  %.19s\n", h->name,
			    (unsigned long long)h->nversions, kind, target, (unsigned long long)rows, fp);
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

static json_t *
json_model(const struct dml_model *m)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "kind", dml_model_kind_name(m->kind), "target",
	    m->target, "has_intercept", m->has_intercept);
	json_t *fs = json_array();
	size_t i;

	if (m->has_intercept)
		json_object_set_new(o, "intercept", json_real(m->intercept));
	if (m->kind == DML_MODEL_LOGISTIC)
		json_object_set_new(o, "labels", json_pack("[s, s]", m->labels[0], m->labels[1]));
	for (i = 0; i < m->nfeatures; i++) {
		const struct dml_model_feature *f = &m->features[i];
		json_array_append_new(fs, json_pack("{s:s, s:s?, s:f}", "column", f->column,
		    "category", f->category, "coef", f->coef));
	}
	json_object_set_new(o, "features", fs);
	return o;
}

static int
model_show(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl model show [--json] <name>[@<version>]",
		NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	struct dml_stmt *s = NULL;
	struct dml_model m;
	const struct dml_error *err;
	uint64_t seq, version;
	char fp[DML_KEY_FP_LEN + 1], when[40];
	size_t i;
	int n, rc = 0;

	dml_model_init(&m);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'model show' takes one model: <name>[@<version>]");
	if ((err = ctx_ledger(ctx, &l)) || (err = resolve_model(l, argv[0], &seq, &version)) ||
	    (err = dml_model_read(l, seq, &m, &s)))
		goto done;
	if (ctx->json) {
		json_t *o = json_stmt(s);
		json_object_set_new(o, "version", json_integer((json_int_t)version));
		json_object_set_new(o, "coefficients", json_model(&m));
		rc = json_print(o);
		goto done;
	}
	dml_pubkey_fingerprint(fp, &s->author);
	iso_time(when, sizeof(when), s->time);
	printf("model   %.*s@%llu (entry #%llu, %s)\ntrainer %s\n", (int)s->fields[0].len,
	    s->fields[0].value, (unsigned long long)version, (unsigned long long)s->seq, when, fp);
	for (i = 0; i < s->nfields; i++) {
		const struct dml_field *f = &s->fields[i];
		if (strcmp(f->spec->name, "name") == 0 || strcmp(f->spec->name, "version") == 0 ||
		    strcmp(f->spec->name, "column") == 0)
			continue;
		printf("%-8s%s%.*s\n", f->spec->name, strlen(f->spec->name) >= 8 ? " " : "",
		    (int)f->len, f->value);
	}
	if (m.kind == DML_MODEL_LOGISTIC)
		printf("labels  0 = '%s', 1 = '%s' (the model gives the probability of '%s')\n",
		    m.labels[0], m.labels[1], m.labels[1]);
	printf("\n%-32s %24s\n", "feature", "coefficient");
	if (m.has_intercept)
		printf("%-32s %24.17g\n", "(intercept)", m.intercept);
	for (i = 0; i < m.nfeatures; i++) {
		char label[256];
		snprintf(label, sizeof(label), "%s%s%s", m.features[i].column,
		    m.features[i].category ? "=" : "",
		    m.features[i].category ? m.features[i].category : "");
		printf("%-32s %24.17g\n", label, m.features[i].coef);
	}
done:
	dml_model_release(&m);
	dml_stmt_free(s);
	return err ? report(err) : rc;
}

/* Feeding a scorer from a dataset's verified bytes. */
static const struct dml_error *
feed_scorer(void *arg, const unsigned char *p, size_t n)
{
	return dml_scorer_feed(arg, p, n);
}

/* Feeding a scorer from a file descriptor. */
static const struct dml_error *
scorer_read_fd(struct dml_scorer *sc, int fd, const char *what)
{
	unsigned char *buf = malloc(READ_SIZE);
	const struct dml_error *err = NULL;

	if (buf == NULL)
		return dml_error_nomem();
	for (;;) {
		ssize_t r = read(fd, buf, READ_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dml_error_errno(errno, "cannot read '%s'", what);
			break;
		}
		if (r == 0 || (err = dml_scorer_feed(sc, buf, (size_t)r)))
			break;
	}
	free(buf);
	return err;
}

static char
sep_for(const char *path, const char *format)
{
	size_t n = strlen(path);

	if (format)
		return strcmp(format, "tsv") == 0 ? '\t' : ',';
	return n > 4 && strcmp(path + n - 4, ".tsv") == 0 ? '\t' : ',';
}

static int
model_evaluate(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl model evaluate [--json] [--drop-missing] <name>[@<v>] (--dataset <d>[@<v>] | --file <csv>)",
		NULL };
	const char *dataset = NULL, *file = NULL, *format = NULL;
	int drop_missing = 0;
	struct opt opts[] = {
		{ OPT_STRING, 0, "dataset", "<name>[@<v>]", "a published dataset", &dataset },
		{ OPT_STRING, 0, "file", "<csv>", "a local CSV or TSV file (- for standard input)",
		    &file },
		{ OPT_STRING, 0, "format", "<csv|tsv>", "the file's format (default: from the name)",
		    &format },
		{ OPT_FLAG, 0, "drop-missing", NULL, "skip rows with missing values", &drop_missing },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_ledger *l;
	struct dml_stmt *s = NULL;
	struct dml_model m;
	struct dml_scorer *sc = NULL;
	struct dml_dataset_in *in = NULL;
	struct dml_eval ev;
	const struct dml_error *err;
	uint64_t seq, dseq;
	int n, fd = -1, rc = 0;

	dml_model_init(&m);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'model evaluate' takes one model: <name>[@<version>]");
	if ((dataset == NULL) == (file == NULL))
		return usage_error("'model evaluate' needs --dataset or --file (one of them)");
	if (format && strcmp(format, "csv") != 0 && strcmp(format, "tsv") != 0)
		return usage_error("--format '%s': expected csv or tsv", format);
	if ((err = ctx_ledger(ctx, &l)) || (err = resolve_model(l, argv[0], &seq, NULL)) ||
	    (err = dml_model_read(l, seq, &m, &s)))
		goto done;
	if (dataset) {
		const struct dml_dataset_head *h;
		const struct dml_dataset_info *info;
		char what[DML_TOKEN_MAX + 32];
		if ((err = resolve_dataset(l, dataset, &dseq, NULL)) ||
		    (err = dml_dataset_open(&in, l, dseq)))
			goto done;
		info = dml_dataset_info(in);
		h = dml_dataset_find(dml_ledger_state(l), info->name);
		if (!dml_dataset_allows(&h->versions[info->version - 1], "evaluate")) {
			err = dml_error_fmt(DML_ERR_DENIED, "dataset '%s@%llu' does not allow "
			    "'evaluate' (its terms allow: %s)", info->name,
			    (unsigned long long)info->version, h->versions[info->version - 1].allow);
			goto done;
		}
		snprintf(what, sizeof(what), "dataset '%s@%llu'", info->name,
		    (unsigned long long)info->version);
		if ((err = dml_scorer_new(&sc, &m, info->sep, what, 1, drop_missing, NULL, NULL)) ||
		    (err = dml_dataset_stream(in, feed_scorer, sc, NULL, NULL)))
			goto done;
	} else {
		const char *what = strcmp(file, "-") == 0 ? "standard input" : file;
		if (strcmp(file, "-") == 0)
			fd = STDIN_FILENO;
		else if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			err = dml_error_errno(errno, "cannot open '%s'", file);
			goto done;
		}
		if ((err = dml_scorer_new(&sc, &m, sep_for(file, format), what, 1, drop_missing,
		    NULL, NULL)) || (err = scorer_read_fd(sc, fd, what)))
			goto done;
	}
	if ((err = dml_scorer_finish(sc, &ev)))
		goto done;
	if (ctx->json) {
		json_t *o = json_eval(&ev);
		json_object_set_new(o, "dropped", json_integer((json_int_t)dml_scorer_dropped(sc)));
		rc = json_print(o);
	} else {
		print_eval("eval", &ev);
		if (dml_scorer_dropped(sc))
			printf("(%llu rows with missing values skipped)\n",
			    (unsigned long long)dml_scorer_dropped(sc));
	}
done:
	if (fd > STDIN_FILENO)
		close(fd);
	dml_scorer_free(sc);
	dml_dataset_close(in);
	dml_model_release(&m);
	dml_stmt_free(s);
	return err ? report(err) : rc;
}

/* ---- predict: the input rows with the model's output appended ---- */

struct predictor {
	FILE *out;
	char sep;
	int logistic;
	const char *names[2];	/* the added columns */
	char namebuf[2][64];
};

static void
put_field(FILE *f, char sep, const char *p, size_t n, int quoted)
{
	size_t i;

	for (i = 0; i < n && !quoted; i++)
		if (p[i] == sep || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
			quoted = 1;
	if (!quoted) {
		fwrite(p, 1, n, f);
		return;
	}
	putc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"')
			putc('"', f);
		putc(p[i], f);
	}
	putc('"', f);
}

/* A name for an added column that the header does not have yet. */
static void
fresh_name(struct predictor *pr, int k, const char *base, const struct dml_csv_field *f,
    size_t n)
{
	unsigned suffix = 0;
	size_t i;
	int taken;

	do {
		if (suffix)
			snprintf(pr->namebuf[k], sizeof(pr->namebuf[k]), "%s.%u", base, suffix);
		else
			snprintf(pr->namebuf[k], sizeof(pr->namebuf[k]), "%s", base);
		taken = 0;
		for (i = 0; i < n && !taken; i++)
			taken = f[i].len == strlen(pr->namebuf[k]) &&
			    memcmp(f[i].p, pr->namebuf[k], f[i].len) == 0;
		if (k == 1 && strcmp(pr->namebuf[1], pr->namebuf[0]) == 0)
			taken = 1;
		suffix++;
	} while (taken);
	pr->names[k] = pr->namebuf[k];
}

static const struct dml_error *
predict_row(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n, const double *pred,
    const char *label)
{
	struct predictor *pr = arg;
	size_t i;

	if (line == 1) {
		fresh_name(pr, 0, pr->logistic ? "probability" : "prediction", f, n);
		if (pr->logistic)
			fresh_name(pr, 1, "prediction", f, n);
	}
	for (i = 0; i < n; i++) {
		put_field(pr->out, pr->sep, f[i].p, f[i].len, f[i].quoted);
		putc(pr->sep, pr->out);
	}
	if (line == 1) {
		fputs(pr->names[0], pr->out);
		if (pr->logistic)
			fprintf(pr->out, "%c%s", pr->sep, pr->names[1]);
	} else {
		fprintf(pr->out, "%.17g", *pred);
		if (pr->logistic) {
			putc(pr->sep, pr->out);
			put_field(pr->out, pr->sep, label, strlen(label), 0);
		}
	}
	putc('\n', pr->out);
	if (ferror(pr->out))
		return dml_error_errno(errno ? errno : EIO, "cannot write the predictions");
	return NULL;
}

struct predict_args {
	const struct dml_model *m;
	const char *input, *format;
	int drop_missing;
};

static const struct dml_error *
predict_writer(void *arg, int fd)
{
	struct predict_args *a = arg;
	struct predictor pr;
	struct dml_scorer *sc = NULL;
	const char *what = strcmp(a->input, "-") == 0 ? "standard input" : a->input;
	const struct dml_error *err;
	int in = -1, dupfd;

	memset(&pr, 0, sizeof(pr));
	pr.sep = sep_for(a->input, a->format);
	pr.logistic = a->m->kind == DML_MODEL_LOGISTIC;
	if ((dupfd = dup(fd)) < 0 || (pr.out = fdopen(dupfd, "w")) == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return dml_error_errno(errno, "cannot write the predictions");
	}
	if (strcmp(a->input, "-") == 0)
		in = STDIN_FILENO;
	else if ((in = open(a->input, O_RDONLY | O_CLOEXEC)) < 0) {
		err = dml_error_errno(errno, "cannot open '%s'", a->input);
		goto done;
	}
	if ((err = dml_scorer_new(&sc, a->m, pr.sep, what, 0, a->drop_missing, predict_row,
	    &pr)) == NULL && (err = scorer_read_fd(sc, in, what)) == NULL)
		err = dml_scorer_finish(sc, NULL);
done:
	if (fflush(pr.out) != 0 && err == NULL)
		err = dml_error_errno(errno, "cannot write the predictions");
	if (fclose(pr.out) != 0 && err == NULL)
		err = dml_error_errno(errno, "cannot write the predictions");
	if (in > STDIN_FILENO)
		close(in);
	dml_scorer_free(sc);
	return err;
}

static int
model_predict(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl model predict [-o <file>] [--format (csv | tsv)] [--drop-missing] <name>[@<v>] (<csv> | -)",
		NULL };
	const char *out = NULL, *format = NULL;
	int drop_missing = 0;
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", "<file>", "write to <file> (default: standard output)",
		    &out },
		{ OPT_STRING, 0, "format", "<csv|tsv>", "the input's format (default: from the name)",
		    &format },
		{ OPT_FLAG, 0, "drop-missing", NULL, "skip rows with missing values", &drop_missing },
		{ OPT_END }
	};
	struct dml_ledger *l;
	struct dml_stmt *s = NULL;
	struct dml_model m;
	struct predict_args a;
	const struct dml_error *err;
	uint64_t seq;
	int n;

	dml_model_init(&m);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 2)
		return usage_error("'model predict' takes a model and a CSV file (or -)");
	if (format && strcmp(format, "csv") != 0 && strcmp(format, "tsv") != 0)
		return usage_error("--format '%s': expected csv or tsv", format);
	if ((err = ctx_ledger(ctx, &l)) == NULL && (err = resolve_model(l, argv[0], &seq,
	    NULL)) == NULL && (err = dml_model_read(l, seq, &m, &s)) == NULL) {
		a.m = &m;
		a.input = argv[1];
		a.format = format;
		a.drop_missing = drop_missing;
		err = write_output(out, predict_writer, &a);
	}
	dml_model_release(&m);
	dml_stmt_free(s);
	return report(err);
}

static const struct dml_error *
export_writer(void *arg, int fd)
{
	const struct dml_model *m = ((const void **)arg)[0];
	const char *format = ((const void **)arg)[1];
	FILE *f;
	int dupfd;
	size_t i;
	const struct dml_error *err = NULL;

	if ((dupfd = dup(fd)) < 0 || (f = fdopen(dupfd, "w")) == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return dml_error_errno(errno, "cannot write the export");
	}
	if (strcmp(format, "json") == 0) {
		json_t *o = json_model(m);
		if (json_dumpf(o, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_SORT_KEYS))
			err = dml_error_fmt(DML_ERR_IO, "cannot write the export");
		putc('\n', f);
		json_decref(o);
	} else {
		fputs("column,category,coefficient\n", f);
		if (m->has_intercept)
			fprintf(f, ",,%.17g\n", m->intercept);
		for (i = 0; i < m->nfeatures; i++) {
			const struct dml_model_feature *ft = &m->features[i];
			put_field(f, ',', ft->column, strlen(ft->column), 0);
			putc(',', f);
			if (ft->category)
				put_field(f, ',', ft->category, strlen(ft->category), 0);
			fprintf(f, ",%.17g\n", ft->coef);
		}
	}
	if (fclose(f) != 0 && err == NULL)
		err = dml_error_errno(errno, "cannot write the export");
	return err;
}

static int
model_export(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl model export [-o <file>] --format (json | csv) <name>[@<v>]", NULL };
	const char *out = NULL, *format = NULL;
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", "<file>", "write to <file> (default: standard output)",
		    &out },
		{ OPT_STRING, 0, "format", "<json|csv>", "json, or csv (one row per coefficient; "
		    "the intercept has no column)", &format },
		{ OPT_END }
	};
	struct dml_ledger *l;
	struct dml_stmt *s = NULL;
	struct dml_model m;
	const struct dml_error *err;
	const void *args[2];
	uint64_t seq;
	int n;

	dml_model_init(&m);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'model export' takes one model: <name>[@<version>]");
	if (format == NULL || (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0))
		return usage_error("'model export' needs --format json or --format csv");
	if ((err = ctx_ledger(ctx, &l)) == NULL && (err = resolve_model(l, argv[0], &seq,
	    NULL)) == NULL && (err = dml_model_read(l, seq, &m, &s)) == NULL) {
		args[0] = &m;
		args[1] = format;
		err = write_output(out, export_writer, (void *)args);
	}
	dml_model_release(&m);
	dml_stmt_free(s);
	return report(err);
}

static const struct verb model_verbs[] = {
	{ "train", model_train, "train a model on published datasets and record it" },
	{ "list", model_list, "list the trained models" },
	{ "show", model_show, "show a model's coefficients, metrics and provenance" },
	{ "evaluate", model_evaluate, "measure a model on a dataset or a file" },
	{ "predict", model_predict, "add the model's predictions to the rows of a file" },
	{ "export", model_export, "write a model's coefficients as JSON or CSV" },
	{ NULL, NULL, NULL }
};

int
cmd_model(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "model", model_verbs, argc, argv);
}
