/*
 * dataset.c - dmlctl dataset: publish, list, show, log, get, verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/dataset.h"
#include "dml/schema.h"

static void
human_size(char *out, size_t n, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, n, "%.1f %s", v, units[u]);
}

/* "name" or "name@version" to an entry seq. */
const struct dml_error *
resolve_dataset(struct dml_ledger *l, const char *spec, uint64_t *seq, uint64_t *version)
{
	const struct dml_dataset_head *h;
	char name[DML_TOKEN_MAX + 1];
	uint64_t v;
	const struct dml_error *err;

	if ((err = parse_versioned(spec, "dataset", name, &v)))
		return err;
	if ((h = dml_dataset_find(dml_ledger_state(l), name)) == NULL)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no dataset named '%s' (see 'dmlctl dataset list')",
		    name);
	if ((err = pick_version("dataset", name, h->nversions, &v)))
		return err;
	*seq = h->versions[v - 1].seq;
	if (version)
		*version = v;
	return NULL;
}

static void
publish_progress(void *arg, uint64_t done, uint64_t total)
{
	progress(arg, "Publishing", done, total ? total : done);
}

static int
license_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr(".+-:()", s[i]) ||
		    (s[i] == ' ' && i > 0 && i + 1 < n && s[i - 1] != ' ')))
			return 0;
	return 1;
}

static int
dataset_publish(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl dataset publish [-k <key>] --name <name> [--license <spdx-id>] [--price <units>]\n"
		"                              [--allow <use,...>] [--description <text>] [--format (csv | tsv)]\n"
		"                              [--json] (<file> | -)",
		NULL };
	const char *name = NULL, *license = NULL, *allow = "evaluate,train", *desc = NULL;
	const char *format = NULL;
	uint64_t price = 0;
	char allowbuf[1024], sz[32], st[32], id[DML_ID_LEN + 1];
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "name", "<name>", "the dataset's name ([a-z0-9._-])", &name },
		{ OPT_STRING, 0, "license", "<spdx-id>", "its license, e.g. CC-BY-4.0", &license },
		{ OPT_UINT, 0, "price", "<units>", "token units per use (default 0)", &price },
		{ OPT_STRING, 0, "allow", "<use,...>", "uses allowed (default evaluate,train)", &allow },
		{ OPT_STRING, 0, "description", "<text>", "what it is", &desc },
		{ OPT_STRING, 0, "format", "<csv|tsv>", "the input format (default: from the name)",
		    &format },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_publish_opts po;
	struct dml_publish_result res;
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	const struct dml_error *err = NULL;
	int n, fd = -1, rc = 0;
	size_t flen;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'dataset publish' takes one file, or - for standard input");
	if (name == NULL)
		return usage_error("'dataset publish' needs --name <name>");
	if (!dml_value_valid(DML_V_TOKEN, name, strlen(name)))
		return usage_error("--name '%s': use 1-64 of a-z 0-9 . _ - , starting with a letter "
		    "or digit", name);
	if (license && !license_valid(license))
		return usage_error("--license '%s': expected an SPDX identifier or expression",
		    license);
	if ((allow = normalize_roles(allow, allowbuf, sizeof(allowbuf))) == NULL)
		return usage_error("--allow: expected comma-separated uses of [a-z0-9._-]");
	if (desc && !dml_value_valid(DML_V_TEXT, desc, strlen(desc)))
		return usage_error("--description: printable text of at most %d bytes without "
		    "leading or trailing spaces", DML_TEXT_MAX);
	flen = strlen(argv[0]);
	if (format == NULL)
		format = flen > 4 && strcmp(argv[0] + flen - 4, ".tsv") == 0 ? "tsv" : "csv";
	if (strcmp(format, "csv") != 0 && strcmp(format, "tsv") != 0)
		return usage_error("--format '%s': expected csv or tsv", format);
	memset(&po, 0, sizeof(po));
	po.name = name;
	po.sep = format[0] == 't' ? '\t' : ',';
	po.license = license;
	po.price = price;
	po.allow = allow;
	po.description = desc;
	po.what = strcmp(argv[0], "-") == 0 ? "standard input" : argv[0];
	po.progress = publish_progress;
	po.arg = ctx;
	if ((err = now_seconds(&po.time)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)))
		goto done;
	if (strcmp(argv[0], "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(argv[0], O_RDONLY | O_CLOEXEC)) < 0) {
		err = dml_error_errno(errno, "cannot open '%s'", argv[0]);
		goto done;
	}
	/* The key's own authority first, so a refusal costs no read. */
	if ((err = dml_state_authorize(dml_ledger_state(l), &k->pub, "dataset.publish")) ||
	    (err = dml_dataset_publish(l, k, fd, &po, &res)))
		goto done;
	dml_id_format(id, res.stmt->id);
	if (ctx->json) {
		rc = json_print(json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "name", name, "version", (json_int_t)(dml_dataset_find(dml_ledger_state(l),
		    name)->nversions), "seq", (json_int_t)res.stmt->seq, "id", id,
		    "size", (json_int_t)res.size, "stored", (json_int_t)res.stored,
		    "chunks", (json_int_t)res.nchunks, "new_chunks", (json_int_t)res.newchunks,
		    "rows", (json_int_t)res.rows, "columns", (json_int_t)res.columns));
	} else if (!ctx->quiet) {
		human_size(sz, sizeof(sz), res.size);
		human_size(st, sizeof(st), res.stored);
		printf("published %s@%llu as entry #%llu %s\n", name,
		    (unsigned long long)dml_dataset_find(dml_ledger_state(l), name)->nversions,
		    (unsigned long long)res.stmt->seq, id);
		printf("%llu row%s, %llu column%s; %s in %llu chunk%s, %llu new: ",
		    (unsigned long long)res.rows, res.rows == 1 ? "" : "s",
		    (unsigned long long)res.columns, res.columns == 1 ? "" : "s", sz,
		    (unsigned long long)res.nchunks, res.nchunks == 1 ? "" : "s",
		    (unsigned long long)res.newchunks);
		if (res.stored)
			printf("%s stored (dedup and compression ratio %.1fx)\n", st,
			    (double)res.size / (double)res.stored);
		else
			printf("nothing new stored\n");
	}
	dml_stmt_free(res.stmt);
done:
	if (fd > STDIN_FILENO)
		close(fd);
	dml_key_free(k);
	return err ? report(err) : rc;
}

static int
dataset_list(struct ctx *ctx, int argc, char **argv)
{
	struct dml_ledger *l;
	const struct dml_state *st;
	const struct dml_error *err;
	json_t *arr;
	size_t i;
	int n;

	if ((n = list_begin(ctx, argc, argv, "dataset", &l)) >= 0)
		return n;
	st = dml_ledger_state(l);
	if ((arr = json_array()) == NULL)
		return report(dml_error_nomem());
	for (i = 0; i < st->ndatasets; i++) {
		const struct dml_dataset_head *h = &st->datasets[i];
		struct dml_stmt *s;
		char fp[DML_KEY_FP_LEN + 1], owner[DML_KEY_ID_LEN + 1], sz[32];
		uint64_t size = 0, rows = 0;

		if ((err = dml_ledger_read(l, h->versions[h->nversions - 1].seq, &s, NULL))) {
			json_decref(arr);
			return report(err);
		}
		dml_field_uint(dml_stmt_field(s, "size"), &size);
		dml_field_uint(dml_stmt_field(s, "rows"), &rows);
		dml_stmt_free(s);
		dml_pubkey_fingerprint(fp, &h->owner);
		dml_pubkey_id(owner, &h->owner);
		if (ctx->json) {
			json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:I, s:I}", "name",
			    h->name, "versions", (json_int_t)h->nversions, "owner", owner,
			    "size", (json_int_t)size, "rows", (json_int_t)rows));
			continue;
		}
		human_size(sz, sizeof(sz), size);
		printf("%-24s v%-4llu %10s %10llu rows  %.19s\n", h->name,
		    (unsigned long long)h->nversions, sz, (unsigned long long)rows, fp);
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

static int
dataset_show(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl dataset show [--json] <name>[@<version>]",
		NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	struct dml_stmt *s = NULL;
	struct dml_schema *schema = NULL;
	struct dml_buf text = DML_BUF_INIT;
	const struct dml_error *err;
	uint64_t seq, version;
	char fp[DML_KEY_FP_LEN + 1], when[40], sz[32];
	size_t i;
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'dataset show' takes one dataset: <name>[@<version>]");
	if ((err = ctx_ledger(ctx, &l)) || (err = resolve_dataset(l, argv[0], &seq, &version)) ||
	    (err = dml_ledger_read(l, seq, &s, NULL)) ||
	    (err = dml_dataset_schema_text(l, seq, &text)) ||
	    (err = dml_schema_decode(&schema, (const char *)text.data, text.len)))
		goto done;
	if (ctx->json) {
		json_t *o = json_stmt(s), *cols = json_array();
		for (i = 0; i < schema->ncols; i++) {
			const struct dml_column *c = &schema->cols[i];
			json_t *jc = json_pack("{s:s, s:s, s:I, s:I}", "name", c->name, "type",
			    dml_coltype_name(c->type), "count", (json_int_t)c->count, "missing",
			    (json_int_t)c->missing);
			if (c->type == DML_COL_STRING) {
				json_object_set_new(jc, "distinct", json_integer((json_int_t)c->distinct));
				json_object_set_new(jc, "distinct_capped", json_boolean(c->distinct_capped));
			} else if (c->count > 0) {
				json_object_set_new(jc, "min", json_real(c->min));
				json_object_set_new(jc, "max", json_real(c->max));
				json_object_set_new(jc, "mean", json_real(c->mean));
				json_object_set_new(jc, "std", json_real(c->std));
			}
			json_array_append_new(cols, jc);
		}
		json_object_set_new(o, "version", json_integer((json_int_t)version));
		json_object_set_new(o, "columns", cols);
		rc = json_print(o);
		goto done;
	}
	dml_pubkey_fingerprint(fp, &s->author);
	iso_time(when, sizeof(when), s->time);
	{
		uint64_t size = 0;
		dml_field_uint(dml_stmt_field(s, "size"), &size);
		human_size(sz, sizeof(sz), size);
	}
	printf("dataset %.*s@%llu (entry #%llu, %s)\nowner   %s\n", (int)s->fields[0].len,
	    s->fields[0].value, (unsigned long long)version, (unsigned long long)s->seq, when, fp);
	{
		char name[DML_TOKEN_MAX + 1];
		const struct dml_dataset_head *h;
		dml_field_copy(&s->fields[0], name, sizeof(name));
		if ((h = dml_dataset_find(dml_ledger_state(l), name)) != NULL)
			printf("versions %llu (see 'dmlctl dataset log %s')\n",
			    (unsigned long long)h->nversions, name);
	}
	for (i = 0; i < s->nfields; i++) {
		const struct dml_field *f = &s->fields[i];
		if (strcmp(f->spec->name, "name") == 0 || strcmp(f->spec->name, "version") == 0)
			continue;
		printf("%-8s%s%.*s\n", f->spec->name, strlen(f->spec->name) >= 8 ? " " : "",
		    (int)f->len, f->value);
	}
	printf("\n%-24s %-8s %10s %8s  %s\n", "column", "type", "count", "missing", "statistics");
	for (i = 0; i < schema->ncols; i++) {
		const struct dml_column *c = &schema->cols[i];
		printf("%-24s %-8s %10llu %8llu  ", c->name, dml_coltype_name(c->type),
		    (unsigned long long)c->count, (unsigned long long)c->missing);
		if (c->type == DML_COL_STRING)
			printf("%s%llu distinct\n", c->distinct_capped ? "more than " : "",
			    (unsigned long long)c->distinct);
		else if (c->count > 0)
			printf("min %.6g max %.6g mean %.6g std %.6g\n", c->min, c->max, c->mean, c->std);
		else
			printf("-\n");
	}
done:
	dml_schema_free(schema);
	dml_buf_release(&text);
	dml_stmt_free(s);
	return err ? report(err) : rc;
}

static int
dataset_log(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl dataset log [--json] <name>", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	const struct dml_dataset_head *h;
	const struct dml_error *err;
	json_t *arr;
	uint64_t v;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1 || strchr(argv[0], '@'))
		return usage_error("'dataset log' takes one dataset name");
	if ((err = ctx_ledger(ctx, &l)))
		return report(err);
	if ((h = dml_dataset_find(dml_ledger_state(l), argv[0])) == NULL)
		return report(dml_error_fmt(DML_ERR_NOTFOUND,
		    "no dataset named '%s' (see 'dmlctl dataset list')", argv[0]));
	if ((arr = json_array()) == NULL)
		return report(dml_error_nomem());
	for (v = h->nversions; v-- > 0;) {
		struct dml_stmt *s;
		char id[DML_ID_LEN + 1], file[DML_ID_LEN + 1], when[40], sz[32];
		uint64_t size = 0, rows = 0;

		if ((err = dml_ledger_read(l, h->versions[v].seq, &s, NULL))) {
			json_decref(arr);
			return report(err);
		}
		if (ctx->json) {
			json_t *o = json_stmt(s);
			json_object_set_new(o, "version", json_integer((json_int_t)v + 1));
			json_array_append_new(arr, o);
		} else {
			dml_id_format(id, s->id);
			dml_field_copy(dml_stmt_field(s, "file"), file, sizeof(file));
			dml_field_uint(dml_stmt_field(s, "size"), &size);
			dml_field_uint(dml_stmt_field(s, "rows"), &rows);
			iso_time(when, sizeof(when), s->time);
			human_size(sz, sizeof(sz), size);
			printf("v%-4llu #%-6llu %.19s  %s  %10s %10llu rows  file %.19s\n",
			    (unsigned long long)v + 1, (unsigned long long)s->seq, id, when, sz,
			    (unsigned long long)rows, file);
		}
		dml_stmt_free(s);
	}
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

static void
get_progress(void *arg, uint64_t done, uint64_t total)
{
	progress(arg, "Fetching", done, total);
}

struct get_args {
	struct dml_ledger *l;
	uint64_t seq;
	struct ctx *ctx;
};

static const struct dml_error *
get_writer(void *arg, int fd)
{
	struct get_args *a = arg;

	return dml_dataset_get(a->l, a->seq, fd, get_progress, a->ctx);
}

static int
dataset_get(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl dataset get [-o <file>] <name>[@<version>]",
		NULL };
	const char *out = NULL;
	struct opt opts[] = {
		{ OPT_STRING, 'o', "output", "<file>", "write to <file> (default: standard output)",
		    &out },
		{ OPT_END }
	};
	struct dml_ledger *l;
	const struct dml_error *err;
	struct get_args wa;
	uint64_t seq;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'dataset get' takes one dataset: <name>[@<version>]");
	if ((err = ctx_ledger(ctx, &l)) || (err = resolve_dataset(l, argv[0], &seq, NULL)))
		return report(err);
	/* Each chunk is checked before it is written; a bad one stops the stream. */
	wa.l = l;
	wa.seq = seq;
	wa.ctx = ctx;
	return report(write_output(out, get_writer, &wa));
}

static int
dataset_verify(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl dataset verify [--json] [<name>[@<version>]]",
		NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	const struct dml_state *st;
	const struct dml_error *err;
	json_t *arr;
	size_t d;
	uint64_t v, only = UINT64_MAX;
	int n, failed = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 1)
		return usage_error("'dataset verify' takes at most one dataset");
	if ((err = ctx_ledger(ctx, &l)) || (n == 1 && (err = resolve_dataset(l, argv[0], &only, NULL))))
		return report(err);
	st = dml_ledger_state(l);
	if ((arr = json_array()) == NULL)
		return report(dml_error_nomem());
	for (d = 0; d < st->ndatasets; d++)
		for (v = 0; v < st->datasets[d].nversions; v++) {
			const struct dml_dataset_head *h = &st->datasets[d];
			uint64_t seq = h->versions[v].seq;

			if (only != UINT64_MAX && seq != only &&
			    !(strchr(argv[0], '@') == NULL && strcmp(argv[0], h->name) == 0))
				continue;
			err = dml_dataset_verify(l, seq);
			failed |= err != NULL;
			if (ctx->json)
				json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:b, s:s?}", "name",
				    h->name, "version", (json_int_t)v + 1, "seq", (json_int_t)seq, "ok",
				    err == NULL, "error", err ? err->msg : NULL));
			else if (err)
				printf("FAILED %s@%llu (entry #%llu): %s\n", h->name,
				    (unsigned long long)v + 1, (unsigned long long)seq, err->msg);
			else if (!ctx->quiet)
				printf("ok %s@%llu (entry #%llu)\n", h->name, (unsigned long long)v + 1,
				    (unsigned long long)seq);
		}
	if (ctx->json) {
		n = json_print(arr);
		return failed ? EXIT_NO : n;
	}
	json_decref(arr);
	return failed ? EXIT_NO : 0;
}

static const struct verb dataset_verbs[] = {
	{ "publish", dataset_publish, "publish a CSV or TSV file, or a new version of one" },
	{ "list", dataset_list, "list the published datasets" },
	{ "show", dataset_show, "show a dataset's terms, schema and statistics" },
	{ "log", dataset_log, "list a dataset's versions" },
	{ "get", dataset_get, "write a dataset's bytes, every chunk verified" },
	{ "verify", dataset_verify, "recompute every chunk, digest and schema" },
	{ NULL, NULL, NULL }
};

int
cmd_dataset(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "dataset", dataset_verbs, argc, argv);
}
