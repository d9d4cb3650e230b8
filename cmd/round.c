/*
 * round.c - dmlctl round: open, list, status, aggregate, close; and dmlctl
 * update: train, sign, verify, submit.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/aggregate.h"
#include "dml/modelentry.h"
#include "dml/round.h"

/* A base model: a trained model name[@v], or an aggregated round's model. */
static const struct dml_error *
load_base(struct dml_ledger *l, const char *spec, struct dml_model *m)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_model_head *h;
	char name[DML_TOKEN_MAX + 1];
	struct dml_stmt *s = NULL;
	uint64_t v;
	const struct dml_error *err;

	if ((err = parse_versioned(spec, "model", name, &v)))
		return err;
	if ((h = dml_model_find(st, name)) != NULL) {
		if ((err = pick_version("model", name, h->nversions, &v)))
			return err;
		err = dml_model_read(l, h->seqs[v - 1], m, &s);
		dml_stmt_free(s);
		return err;
	}
	if (v == 0 && dml_round_find(st, name))
		return dml_round_model(l, name, m);
	return dml_error_fmt(DML_ERR_NOTFOUND, "--base-model '%s': no such model or round", spec);
}

static int
round_open(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl round open [-k <key>] --name <round> --kind (ols | ridge | logistic)\n"
		"                         --target <column> --features <a,b,...> | --base-model <model>\n"
		"                         [--rule <rule>] [--beta <b>] [--byzantine <f>] [--select <m>]\n"
		"                         [--strict] [--mode (weights | stats)] [--local-steps <n>]\n"
		"                         [--lambda <x>] [--no-intercept] [--min-updates <n>]\n"
		"                         [--validation <dataset>] [--pool <units>] [--json]",
		NULL };
	const char *name = NULL, *kind = NULL, *target = NULL, *features = NULL, *base = NULL;
	const char *rule = "fedavg", *beta_s = NULL, *mode = "weights", *lambda_s = NULL;
	const char *validation = NULL;
	uint64_t byz = 0, sel = 0, steps = 1, minu = 1, pool = 0;
	int strict = 0, no_intercept = 0, mk = DML_MODEL_RIDGE, md;
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "name", "<round>", "the round's name", &name },
		{ OPT_STRING, 0, "kind", "<kind>", "ols, ridge or logistic (default: the base "
		    "model's, else ridge)", &kind },
		{ OPT_STRING, 0, "target", "<column>", "the column to predict", &target },
		{ OPT_STRING, 0, "features", "<a,b,...>", "numeric feature columns", &features },
		{ OPT_STRING, 0, "base-model", "<model>", "start from a model or an aggregated round",
		    &base },
		{ OPT_STRING, 0, "rule", "<rule>", "fedavg (default), median, trimmed-mean, krum, "
		    "multi-krum, bulyan", &rule },
		{ OPT_STRING, 0, "beta", "<b>", "trimmed-mean: the fraction cut at each end", &beta_s },
		{ OPT_UINT, 0, "byzantine", "<f>", "krum, multi-krum, bulyan: faulty updates "
		    "tolerated", &byz },
		{ OPT_UINT, 0, "select", "<m>", "multi-krum: updates averaged", &sel },
		{ OPT_FLAG, 0, "strict", NULL, "refuse parameters the rule's guarantee does not "
		    "cover", &strict },
		{ OPT_STRING, 0, "mode", "<mode>", "weights (default) or stats (ols, ridge)", &mode },
		{ OPT_UINT, 0, "local-steps", "<n>", "logistic: Newton steps per update (default 1)",
		    &steps },
		{ OPT_STRING, 0, "lambda", "<x>", "L2 penalty (default 1 for ridge, 0 otherwise)",
		    &lambda_s },
		{ OPT_FLAG, 0, "no-intercept", NULL, "no intercept", &no_intercept },
		{ OPT_UINT, 0, "min-updates", "<n>", "valid updates needed to aggregate (default 1)",
		    &minu },
		{ OPT_STRING, 0, "validation", "<dataset>", "validation data for rewards",
		    &validation },
		{ OPT_UINT, 0, "pool", "<units>", "reward pool in token units", &pool },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_round_opts o;
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	struct dml_model bm;
	struct dml_stmt *s = NULL;
	const struct dml_error *err = NULL;
	char *fbuf = NULL, *end, id[DML_ID_LEN + 1];
	const char **fv = NULL;
	size_t nf = 0;
	int n, rc = 0;

	dml_model_init(&bm);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 0)
		return usage_error("'round open' takes no arguments");
	if (name == NULL || !dml_value_valid(DML_V_TOKEN, name, strlen(name)))
		return usage_error("'round open' needs --name <round> ([a-z0-9._-])");
	if (kind && (mk = dml_model_kind_parse(kind)) < 0)
		return usage_error("--kind '%s': expected ols, ridge or logistic", kind);
	if ((md = dml_update_mode_parse(mode)) < 0)
		return usage_error("--mode '%s': expected weights or stats", mode);
	{
		enum dml_agg_rule r;
		if (dml_agg_rule_parse(rule, &r))
			return usage_error("--rule '%s': expected fedavg, median, trimmed-mean, krum, "
			    "multi-krum or bulyan", rule);
		if (beta_s && r != DML_AGG_TRIMMED_MEAN)
			return usage_error("--beta is for --rule trimmed-mean");
		if (sel && r != DML_AGG_MULTI_KRUM)
			return usage_error("--select is for --rule multi-krum");
		if (md == DML_UPDATE_STATS && r != DML_AGG_FEDAVG)
			return usage_error("--mode stats sums statistics: it takes --rule fedavg only");
	}
	if ((base == NULL) == (features == NULL && target == NULL) ||
	    (base == NULL && (features == NULL || target == NULL)))
		return usage_error("give --target and --features, or --base-model");
	memset(&o, 0, sizeof(o));
	o.beta = -1;
	if (beta_s) {
		o.beta = strtod(beta_s, &end);
		if (*end || end == beta_s || !(o.beta >= 0) || !(o.beta < 0.5))
			return usage_error("--beta '%s': expected a fraction in [0, 0.5)", beta_s);
	}
	if (lambda_s) {
		o.lambda = strtod(lambda_s, &end);
		if (*end || end == lambda_s || !(o.lambda >= 0) || !isfinite(o.lambda))
			return usage_error("--lambda '%s': expected a number >= 0", lambda_s);
	}
	if (byz > 1000000 || sel > 1000000 || steps > 1000 || minu > 1000000)
		return usage_error("a count is out of range");
	if (features && split_commas(features, &fbuf, &fv, &nf))
		return report(dml_error_nomem());
	o.name = name;
	o.mode = (enum dml_update_mode)md;
	o.rule = rule;
	o.target = target;
	o.columns = fv;
	o.ncolumns = nf;
	o.intercept = !no_intercept;
	o.strict = strict;
	o.byzantine = (unsigned)byz;
	o.select = (unsigned)sel;
	o.local_steps = (unsigned)steps;
	o.min_updates = (unsigned)minu;
	o.pool = pool;
	o.validation = UINT64_MAX;
	if ((err = now_seconds(&o.time)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)) ||
	    (err = dml_state_authorize(dml_ledger_state(l), &k->pub, "round.open")))
		goto done;
	if (base) {
		if ((err = load_base(l, base, &bm)))
			goto done;
		o.base = &bm;
		if (kind == NULL)
			mk = bm.kind;
	} else if (kind == NULL) {
		mk = DML_MODEL_RIDGE;
	}
	o.kind = (enum dml_model_kind)mk;
	if (mk == DML_MODEL_OLS && o.lambda != 0) {
		err = dml_error_fmt(DML_ERR_USAGE, "--lambda: ols has no penalty (use --kind ridge)");
		goto done;
	}
	if (lambda_s == NULL)
		o.lambda = mk == DML_MODEL_RIDGE ? 1 : 0;
	if (md == DML_UPDATE_STATS && mk == DML_MODEL_LOGISTIC) {
		err = dml_error_fmt(DML_ERR_USAGE, "--mode stats is for ols and ridge");
		goto done;
	}
	if (validation && (err = resolve_dataset(l, validation, &o.validation, NULL)))
		goto done;
	if ((err = dml_round_open(l, k, &o, &s)))
		goto done;
	dml_id_format(id, s->id);
	if (ctx->json)
		rc = json_print(json_pack("{s:s, s:I, s:s}", "name", name, "seq", (json_int_t)s->seq,
		    "id", id));
	else if (!ctx->quiet)
		printf("opened round %s as entry #%llu %s\n", name, (unsigned long long)s->seq, id);
done:
	dml_stmt_free(s);
	dml_model_release(&bm);
	dml_key_free(k);
	free(fbuf);
	free(fv);
	return err ? report(err) : rc;
}

static const char *
status_word(enum dml_round_status s)
{
	return s == DML_ROUND_OPEN ? "open" : s == DML_ROUND_AGGREGATED ? "aggregated" : "closed";
}

static int
round_list(struct ctx *ctx, int argc, char **argv)
{
	struct dml_ledger *l;
	const struct dml_state *st;
	json_t *arr;
	size_t i;
	int n;

	if ((n = list_begin(ctx, argc, argv, "round", &l)) >= 0)
		return n;
	arr = json_array();
	st = dml_ledger_state(l);
	for (i = 0; i < st->nrounds; i++) {
		const struct dml_round_head *r = &st->rounds[i];
		if (ctx->json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "name", r->name,
			    "status", status_word(r->status), "opened", (json_int_t)r->open_seq,
			    "updates", (json_int_t)r->nsubs));
		else
			printf("%-24s %-10s opened #%-6llu %zu update%s\n", r->name,
			    status_word(r->status), (unsigned long long)r->open_seq, r->nsubs,
			    r->nsubs == 1 ? "" : "s");
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

static int
round_status(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl round status [--json] <round>", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	const struct dml_round_head *r;
	struct dml_round_info ri;
	struct dml_stmt *end = NULL;
	struct dml_model gm;
	const struct dml_error *err;
	json_t *o = NULL, *subs;
	size_t i;
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'round status' takes one round");
	dml_model_init(&gm);
	if ((err = ctx_ledger(ctx, &l)) || (err = dml_round_info(l, argv[0], &ri)))
		return report(err);
	r = dml_round_find(dml_ledger_state(l), argv[0]);
	if (r->status != DML_ROUND_OPEN && (err = dml_ledger_read(l, r->end_seq, &end, NULL)))
		goto done;
	o = json_stmt(ri.stmt);
	json_object_set_new(o, "status", json_string(status_word(r->status)));
	subs = json_array();
	for (i = 0; i < r->nsubs; i++) {
		char id[DML_ID_LEN + 1], who[DML_KEY_ID_LEN + 1];
		dml_id_format(id, r->subs[i].update);
		dml_pubkey_id(who, &r->subs[i].contributor);
		json_array_append_new(subs, json_pack("{s:s, s:s, s:I, s:s?}", "update", id,
		    "contributor", who, "seq", (json_int_t)r->subs[i].seq, "ledger_reason",
		    r->subs[i].reason));
	}
	json_object_set_new(o, "updates", subs);
	if (end)
		json_object_set_new(o, "outcome", json_stmt(end));
	if (r->status == DML_ROUND_AGGREGATED && (err = dml_round_model(l, argv[0], &gm)))
		goto done;
	if (r->status == DML_ROUND_AGGREGATED) {
		json_t *c = json_object();
		if (gm.has_intercept)
			json_object_set_new(c, "(intercept)", json_real(gm.intercept));
		for (i = 0; i < gm.nfeatures; i++)
			json_object_set_new(c, gm.features[i].column, json_real(gm.features[i].coef));
		json_object_set_new(o, "coefficients", c);
	}
	if (ctx->json) {
		rc = json_print(o);
		o = NULL;
		goto done;
	}
	printf("round   %s (entry #%llu): %s\n", argv[0], (unsigned long long)ri.stmt->seq,
	    status_word(r->status));
	for (i = 0; i < ri.stmt->nfields; i++) {
		const struct dml_field *f = &ri.stmt->fields[i];
		if (strcmp(f->spec->name, "name") != 0)
			printf("%-8s%s%.*s\n", f->spec->name, strlen(f->spec->name) >= 8 ? " " : "",
			    (int)f->len, f->value);
	}
	printf("\n%zu update%s submitted\n", r->nsubs, r->nsubs == 1 ? "" : "s");
	for (i = 0; i < r->nsubs; i++) {
		char id[DML_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
		dml_id_format(id, r->subs[i].update);
		dml_pubkey_fingerprint(fp, &r->subs[i].contributor);
		printf("  #%-6llu %.23s  by %.19s%s%s%s\n", (unsigned long long)r->subs[i].seq, id,
		    fp, r->subs[i].reason ? "  (will be rejected: " : "",
		    r->subs[i].reason ? r->subs[i].reason : "", r->subs[i].reason ? ")" : "");
	}
	if (end) {
		printf("\noutcome (entry #%llu):\n", (unsigned long long)end->seq);
		for (i = 0; i < end->nfields; i++)
			printf("  %s %.*s\n", end->fields[i].spec->name, (int)end->fields[i].len,
			    end->fields[i].value);
	}
	if (r->status == DML_ROUND_AGGREGATED) {
		printf("\n%-32s %24s\n", "global model", "coefficient");
		if (gm.has_intercept)
			printf("%-32s %24.17g\n", "(intercept)", gm.intercept);
		for (i = 0; i < gm.nfeatures; i++)
			printf("%-32s %24.17g\n", gm.features[i].column, gm.features[i].coef);
	}
done:
	json_decref(o);
	dml_model_release(&gm);
	dml_stmt_free(end);
	dml_round_info_release(&ri);
	return err ? report(err) : rc;
}

static int
round_aggregate(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl round aggregate [-k <key>] [--json] <round>",
		NULL };
	struct opt opts[] = { OPT_KEY(&ctx->keyspec), OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_round_outcome out;
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	const struct dml_error *err;
	uint64_t now;
	char id[DML_ID_LEN + 1];
	size_t i;
	int n, rc = 0;

	memset(&out, 0, sizeof(out));
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'round aggregate' takes one round");
	if ((err = now_seconds(&now)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)) ||
	    (err = dml_state_authorize(dml_ledger_state(l), &k->pub, "round.aggregate")) ||
	    (err = dml_round_aggregate(l, k, argv[0], now, &out)))
		goto done;
	dml_id_format(id, out.stmt->id);
	if (ctx->json) {
		json_t *o = json_stmt(out.stmt);
		json_object_set_new(o, "accepted_count", json_integer((json_int_t)out.accepted));
		json_object_set_new(o, "rejected_count", json_integer((json_int_t)out.rejected));
		rc = json_print(o);
	} else if (!ctx->quiet) {
		printf("aggregated round %s as entry #%llu %s: %zu accepted, %zu rejected\n",
		    argv[0], (unsigned long long)out.stmt->seq, id, out.accepted, out.rejected);
		for (i = 0; i < out.stmt->nfields; i++)
			if (strcmp(out.stmt->fields[i].spec->name, "rejected") == 0 ||
			    strcmp(out.stmt->fields[i].spec->name, "caveat") == 0)
				printf("  %s %.*s\n", out.stmt->fields[i].spec->name,
				    (int)out.stmt->fields[i].len, out.stmt->fields[i].value);
	}
done:
	dml_round_outcome_release(&out);
	dml_key_free(k);
	return err ? report(err) : rc;
}

static int
round_close(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl round close [-k <key>] <round>", NULL };
	struct opt opts[] = { OPT_KEY(&ctx->keyspec), { OPT_END } };
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	struct dml_stmt *s = NULL;
	const struct dml_error *err;
	uint64_t now;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'round close' takes one round");
	if ((err = now_seconds(&now)) == NULL && (err = ctx_ledger(ctx, &l)) == NULL &&
	    (err = ctx_signing_key(ctx, &k)) == NULL &&
	    (err = dml_state_authorize(dml_ledger_state(l), &k->pub, "round.close")) == NULL &&
	    (err = dml_round_close(l, k, argv[0], now, &s)) == NULL && !ctx->quiet)
		printf("closed round %s at entry #%llu\n", argv[0], (unsigned long long)s->seq);
	dml_stmt_free(s);
	dml_key_free(k);
	return report(err);
}

static const struct verb round_verbs[] = {
	{ "open", round_open, "open a federated round" },
	{ "list", round_list, "list the rounds" },
	{ "status", round_status, "show a round, its updates and its outcome" },
	{ "aggregate", round_aggregate, "aggregate a round's valid updates by its rule" },
	{ "close", round_close, "close a round without aggregating it" },
	{ NULL, NULL, NULL }
};

int
cmd_round(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "round", round_verbs, argc, argv);
}

/* ---- update ---- */

static const struct dml_error *
read_file(const char *path, struct dml_buf *out)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	unsigned char buf[65536];
	const struct dml_error *err = NULL;

	if (fd < 0)
		return dml_error_errno(errno, "cannot open '%s'", path);
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dml_error_errno(errno, "cannot read '%s'", path);
			break;
		}
		if (r == 0 || (err = dml_buf_add(out, buf, (size_t)r)))
			break;
		if (out->len > ((size_t)1 << 30)) {
			err = dml_error_fmt(DML_ERR_USAGE, "'%s' is too large for an update", path);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return err;
}

static const struct dml_error *
write_buf(void *arg, int fd)
{
	const struct dml_buf *b = arg;
	size_t off = 0;

	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return dml_error_errno(errno, "cannot write the update");
		off += (size_t)w;
	}
	return NULL;
}

static int
update_train(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl update train --round <round> [--format (csv | tsv)] [--drop-missing]\n"
		"                          [--dp-clip <C> --dp-noise <z>] -o <update> <local.csv>",
		NULL };
	const char *round = NULL, *out = NULL, *format = NULL, *clip_s = NULL, *noise_s = NULL;
	int drop_missing = 0;
	struct opt opts[] = {
		{ OPT_STRING, 0, "round", "<round>", "the round", &round },
		{ OPT_STRING, 'o', "output", "<update>", "the update file to write", &out },
		{ OPT_STRING, 0, "format", "<csv|tsv>", "the input's format (default: from the name)",
		    &format },
		{ OPT_FLAG, 0, "drop-missing", NULL, "skip rows with missing values", &drop_missing },
		{ OPT_STRING, 0, "dp-clip", "<C>", "clip the change to L2 norm C", &clip_s },
		{ OPT_STRING, 0, "dp-noise", "<z>", "add Gaussian noise of deviation z*C", &noise_s },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_ledger *l;
	struct dml_round_info ri;
	struct dml_update u;
	struct dml_buf file = DML_BUF_INIT;
	const struct dml_error *err;
	double clip = 0, noise = 0;
	char *end, id[DML_ID_LEN + 1];
	size_t plen;
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1 || round == NULL || out == NULL)
		return usage_error("'update train' needs --round, -o and one local file");
	if ((clip_s == NULL) != (noise_s == NULL))
		return usage_error("give --dp-clip and --dp-noise together");
	if (clip_s) {
		clip = strtod(clip_s, &end);
		if (*end || end == clip_s || !(clip > 0) || !isfinite(clip))
			return usage_error("--dp-clip '%s': expected a number > 0", clip_s);
		noise = strtod(noise_s, &end);
		if (*end || end == noise_s || !(noise >= 0) || !isfinite(noise))
			return usage_error("--dp-noise '%s': expected a number >= 0", noise_s);
	}
	if (format && strcmp(format, "csv") && strcmp(format, "tsv"))
		return usage_error("--format '%s': expected csv or tsv", format);
	plen = strlen(argv[0]);
	if ((err = ctx_ledger(ctx, &l)) || (err = dml_round_info(l, round, &ri)))
		return report(err);
	if ((err = dml_update_train(&ri, argv[0], format ? format[0] == 't' ? '\t' : ',' :
	    plen > 4 && strcmp(argv[0] + plen - 4, ".tsv") == 0 ? '\t' : ',', drop_missing, clip,
	    noise, &u)) == NULL) {
		if ((err = dml_update_encode(&u, NULL, &file)) == NULL &&
		    (err = write_output(out, write_buf, &file)) == NULL) {
			dml_id_format(id, u.id);
			if (ctx->json)
				rc = json_print(json_pack("{s:s, s:s, s:I, s:I}", "round", round, "mode",
				    dml_update_mode_name(u.mode), "samples", (json_int_t)u.samples,
				    "dimension", (json_int_t)u.d));
			else if (!ctx->quiet)
				fprintf(strcmp(out, "-") == 0 ? stderr : stdout,
				    "wrote an unsigned %s update (%s) from %llu rows to %s; sign it with "
				    "'dmlctl update sign %s'\n", dml_update_mode_name(u.mode),
				    u.mode == DML_UPDATE_STATS ? "sufficient statistics" : "coefficients",
				    (unsigned long long)u.samples, out, out);
		}
		dml_update_release(&u);
	}
	dml_buf_release(&file);
	dml_round_info_release(&ri);
	return err ? report(err) : rc;
}

static int
update_sign(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl update sign [-k <key>] [-o <file>] <update>",
		NULL };
	const char *out = NULL;
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 'o', "output", "<file>", "write here (default: sign in place)", &out },
		{ OPT_END }
	};
	struct dml_key *k = NULL;
	struct dml_update u;
	struct dml_buf in = DML_BUF_INIT, file = DML_BUF_INIT;
	const struct dml_error *err;
	char id[DML_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
	int n;

	dml_update_init(&u);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'update sign' takes one update file");
	if ((err = read_file(argv[0], &in)) == NULL &&
	    (err = dml_update_decode(&u, in.data, in.len)) == NULL &&
	    (err = ctx_signing_key(ctx, &k)) == NULL &&
	    (err = dml_update_sign(&u, k, &file)) == NULL &&
	    (err = write_output(out ? out : argv[0], write_buf, &file)) == NULL && !ctx->quiet) {
		dml_id_format(id, u.id);
		dml_pubkey_fingerprint(fp, &u.signer);
		fprintf(stderr, "signed update %s by %s\n", id, fp);
	}
	dml_update_release(&u);
	dml_buf_release(&in);
	dml_buf_release(&file);
	dml_key_free(k);
	return report(err);
}

static int
update_verify(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl update verify [--json] <update>", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_update u;
	struct dml_buf in = DML_BUF_INIT;
	const struct dml_error *err;
	char id[DML_ID_LEN + 1], round[DML_ID_LEN + 1], who[DML_KEY_ID_LEN + 1];
	char fp[DML_KEY_FP_LEN + 1];
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'update verify' takes one update file");
	if ((err = read_file(argv[0], &in)) || (err = dml_update_decode(&u, in.data, in.len))) {
		dml_buf_release(&in);
		return err->code == DML_ERR_VERIFY ? (report(err), EXIT_NO) : report(err);
	}
	dml_buf_release(&in);
	if (!u.is_signed) {
		dml_update_release(&u);
		fprintf(stderr, "error: '%s' is not signed\n", argv[0]);
		return EXIT_NO;
	}
	dml_id_format(id, u.id);
	dml_id_format(round, u.round);
	dml_pubkey_id(who, &u.signer);
	dml_pubkey_fingerprint(fp, &u.signer);
	if (ctx->json)
		rc = json_print(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "update", id,
		    "round", round, "signer", who, "mode", dml_update_mode_name(u.mode), "samples",
		    (json_int_t)u.samples, "dimension", (json_int_t)u.d, "dp", u.dp));
	else
		printf("good signature by %s (%s)\nupdate  %s\nround   %s\nmode    %s, %zu values, "
		    "%llu samples%s\n", fp, who, id, round, dml_update_mode_name(u.mode), u.d,
		    (unsigned long long)u.samples, u.dp ? ", with privacy noise" : "");
	dml_update_release(&u);
	return rc;
}

static int
update_submit(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl update submit [-k <key>] [--json] <update>",
		NULL };
	struct opt opts[] = { OPT_KEY(&ctx->keyspec), OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	struct dml_stmt *s = NULL;
	struct dml_buf in = DML_BUF_INIT;
	const struct dml_error *err;
	uint64_t now;
	char id[DML_ID_LEN + 1];
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'update submit' takes one update file");
	if ((err = read_file(argv[0], &in)) == NULL && (err = now_seconds(&now)) == NULL &&
	    (err = ctx_ledger(ctx, &l)) == NULL && (err = ctx_signing_key(ctx, &k)) == NULL &&
	    (err = dml_update_submit(l, k, in.data, in.len, now, &s)) == NULL) {
		dml_id_format(id, s->id);
		if (ctx->json)
			rc = json_print(json_pack("{s:I, s:s}", "seq", (json_int_t)s->seq, "id", id));
		else if (!ctx->quiet)
			printf("submitted as entry #%llu %s\n", (unsigned long long)s->seq, id);
	}
	dml_stmt_free(s);
	dml_buf_release(&in);
	dml_key_free(k);
	return err ? report(err) : rc;
}

static const struct verb update_verbs[] = {
	{ "train", update_train, "train an update for a round on a local file" },
	{ "sign", update_sign, "sign an update file" },
	{ "verify", update_verify, "check an update file's signature offline" },
	{ "submit", update_submit, "record a signed update in the ledger" },
	{ NULL, NULL, NULL }
};

int
cmd_update(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "update", update_verbs, argc, argv);
}
