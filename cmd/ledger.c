/*
 * ledger.c - dmlctl ledger: log, show, verify, allowed-signers, note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "dml/keystore.h"

#define ATTACH_MAX ((size_t)64 << 20)

/* Open the ledger without replaying it, so a damaged one can still be read. */
static const struct dml_error *
open_for_reading(struct ctx *ctx, struct dml_ledger **out)
{
	struct dml_repo *repo;
	const struct dml_error *err;

	if (ctx->ledger == NULL &&
	    ((err = ctx_repo(ctx, &repo)) ||
	    (err = dml_ledger_open(&ctx->ledger, repo, DML_LEDGER_NOREPLAY))))
		return err;
	*out = ctx->ledger;
	return NULL;
}

static int
ledger_log(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl ledger log [--reverse] [-n <count>] [--json]",
		NULL };
	int reverse = 0, n;
	uint64_t max = UINT64_MAX, count, i, shown = 0;
	struct opt opts[] = {
		{ OPT_UINT, 'n', "max-count", "<count>", "show at most <count> entries", &max },
		{ OPT_FLAG, 0, "reverse", NULL, "oldest first", &reverse },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_ledger *l;
	const struct dml_error *err;
	json_t *arr = NULL;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'ledger log' takes no arguments");
	if ((err = open_for_reading(ctx, &l)))
		return report(err);
	count = dml_ledger_count(l);
	if (ctx->json && (arr = json_array()) == NULL)
		return report(dml_error_nomem());
	for (i = 0; i < count && shown < max; i++, shown++) {
		uint64_t seq = reverse ? i : count - 1 - i;
		struct dml_stmt *s;
		char id[DML_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1], when[32];

		if ((err = dml_ledger_read(l, seq, &s, NULL))) {
			json_decref(arr);
			return report(dml_error_wrap(err, "entry %llu", (unsigned long long)seq));
		}
		if (ctx->json) {
			json_array_append_new(arr, json_stmt(s));
		} else {
			dml_id_format(id, s->id);
			dml_pubkey_fingerprint(fp, &s->author);
			iso_time(when, sizeof(when), s->time);
			printf("%-6llu %.19s  %-16s %s  %.19s\n", (unsigned long long)s->seq, id,
			    s->type->name, when, fp);
		}
		dml_stmt_free(s);
	}
	return ctx->json ? json_print(arr) : 0;
}

static int
ledger_show(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl ledger show [--json] (<seq> | <id>)", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_ledger *l;
	struct dml_stmt *s;
	struct dml_oid commit;
	const struct dml_error *err;
	char hex[DML_OID_HEXLEN + 1], when[32];
	uint64_t seq;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'ledger show' takes one entry: a sequence number or an ID prefix");
	if ((err = open_for_reading(ctx, &l)))
		return report(err);
	if (strspn(argv[0], "0123456789") == strlen(argv[0]) && strlen(argv[0]) < 19)
		seq = strtoull(argv[0], NULL, 10);
	else if ((err = dml_ledger_find(l, argv[0], &seq)))
		return report(err);
	if ((err = dml_ledger_read(l, seq, &s, &commit)))
		return report(err);
	dml_oid_hex(hex, &commit);
	if (ctx->json) {
		json_t *o = json_stmt(s);
		if (o)
			json_object_set_new(o, "commit", json_string(hex));
		dml_stmt_free(s);
		return json_print(o);
	}
	iso_time(when, sizeof(when), s->time);
	printf("entry %llu\ncommit %s\ndate %s\n\n", (unsigned long long)s->seq, hex, when);
	fwrite(s->text, 1, s->len, stdout);
	dml_stmt_free(s);
	return 0;
}

static void
verify_progress(void *arg, uint64_t done, uint64_t total)
{
	progress(arg, "Verifying entries", done, total);
}

static int
ledger_verify(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl ledger verify [--genesis <id>] [--from <seq>] [--threads <n>] [--json]", NULL };
	uint64_t from = 0, threads = 0;
	const char *genesis = NULL;
	char want[DML_ID_LEN + 1];
	int wrong_genesis = 0;
	struct opt opts[] = {
		{ OPT_STRING, 0, "genesis", "<id>", "require this genesis entry ID (pins the ledger)",
		    &genesis },
		{ OPT_UINT, 0, "from", "<seq>", "check entries from <seq> on (earlier ones are only "
		    "replayed)", &from },
		{ OPT_UINT, 0, "threads", "<n>", "threads for signature checks (default: all cores)",
		    &threads },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_verify_opts vo;
	struct dml_verify_report rep;
	struct dml_repo *repo;
	const struct dml_error *err;
	size_t i;
	int n, c;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'ledger verify' takes no arguments");
	if (threads > 1024)
		return usage_error("--threads %llu is too many", (unsigned long long)threads);
	if (genesis) {
		unsigned char id[32];
		if (parse_entry_id(genesis, id) != 0)
			return usage_error("--genesis '%s': expected a full entry ID, sha256:<64 hex "
			    "digits>", genesis);
		dml_id_format(want, id);
	}
	if ((err = ctx_repo(ctx, &repo)))
		return report(err);
	memset(&vo, 0, sizeof(vo));
	vo.from = from;
	vo.threads = (unsigned)threads;
	vo.progress = verify_progress;
	vo.arg = ctx;
	if ((err = dml_ledger_verify(repo, &vo, &rep)))
		return report(err);
	if (from >= rep.nentries && rep.nentries > 0) {
		size_t count = rep.nentries;
		dml_verify_report_release(&rep);
		return usage_error("--from %llu: the ledger has only %zu entries",
		    (unsigned long long)from, count);
	}
	if (genesis && rep.nentries > 0 && strcmp(rep.entries[0].id, want) != 0) {
		wrong_genesis = 1;	/* the first failure, whatever else failed */
		rep.first_bad = 0;
		rep.failed = 1;
	}
	if (ctx->json) {
		json_t *o = json_object(), *arr = json_array();
		for (i = from; i < rep.nentries; i++) {
			const struct dml_verify_entry *e = &rep.entries[i];
			json_t *checks = json_object();
			char hex[DML_OID_HEXLEN + 1];
			dml_oid_hex(hex, &e->commit);
			for (c = 0; c < DML_CHECK_COUNT; c++)
				json_object_set_new(checks, dml_check_name(c), e->ok[c] < 0 ?
				    json_string("skipped") : json_string(e->ok[c] ? "ok" : "failed"));
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:o, s:s?}",
			    "seq", (json_int_t)e->seq, "commit", hex, "id", e->id[0] ? e->id : NULL,
			    "type", e->type[0] ? e->type : NULL,
			    "author", e->author[0] ? e->author : NULL, "checks", checks,
			    "error", e->why));
		}
		json_object_set_new(o, "ok", json_boolean(!rep.failed));
		json_object_set_new(o, "entries", json_integer((json_int_t)rep.nentries));
		json_object_set_new(o, "genesis", rep.entries[0].id[0] ?
		    json_string(rep.entries[0].id) : json_null());
		json_object_set_new(o, "head", rep.entries[rep.nentries - 1].id[0] ?
		    json_string(rep.entries[rep.nentries - 1].id) : json_null());
		if (wrong_genesis)
			json_object_set_new(o, "expected_genesis", json_string(want));
		if (rep.failed) {
			json_object_set_new(o, "first_failure",
			    json_integer((json_int_t)rep.entries[rep.first_bad].seq));
			json_object_set_new(o, "reason", json_string(wrong_genesis ?
			    "the genesis is not the one required by --genesis" :
			    rep.entries[rep.first_bad].why ? rep.entries[rep.first_bad].why :
			    "unreadable"));
		}
		json_object_set_new(o, "results", arr);
		n = json_print(o);
		c = rep.failed ? EXIT_NO : n;
		dml_verify_report_release(&rep);
		return c;
	}
	if (!rep.failed) {
		printf("ledger verified: %zu entries, every check passed\ngenesis %s\nhead    %s\n",
		    rep.nentries, rep.entries[0].id, rep.entries[rep.nentries - 1].id);
		dml_verify_report_release(&rep);
		return 0;
	}
	if (wrong_genesis)
		printf("FAILED genesis is %s, but --genesis requires %s\n", rep.entries[0].id, want);
	for (i = rep.first_bad; i < rep.nentries; i++) {
		const struct dml_verify_entry *e = &rep.entries[i];
		if (e->why == NULL)
			continue;
		printf("%s entry %llu (%s%s%.19s): %s\n",
		    i == rep.first_bad && !wrong_genesis ? "FAILED" : "failed",
		    (unsigned long long)e->seq, e->type[0] ? e->type : "unreadable",
		    e->id[0] ? " " : "", e->id, e->why);
	}
	printf("ledger verification failed at entry %llu\n",
	    (unsigned long long)rep.entries[rep.first_bad].seq);
	dml_verify_report_release(&rep);
	return EXIT_NO;
}

static int
ledger_allowed_signers(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl ledger allowed-signers", NULL };
	struct opt opts[] = { { OPT_END } };
	struct dml_ledger *l;
	struct dml_buf out = DML_BUF_INIT;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'ledger allowed-signers' takes no arguments");
	if ((err = ctx_ledger(ctx, &l)) || (err = dml_ledger_allowed_signers(l, &out)))
		return report(err);
	fwrite(out.data, 1, out.len, stdout);
	dml_buf_release(&out);
	return 0;
}

static int
ledger_note(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl ledger note [-k <key>] -m <message> [--attach <file>]...", NULL };
	const char *message = NULL;
	struct strlist files = { NULL, 0 };
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 'm', "message", "<message>", "the note's text", &message },
		{ OPT_LIST, 0, "attach", "<file>", "store a file with the note (repeatable)", &files },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_stmt_builder b;
	struct dml_attachment *att = NULL;
	struct dml_buf *data = NULL;
	const struct dml_error *err = NULL;
	char id[DML_ID_LEN + 1];
	size_t i, j;
	int n, rc = 0;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0 || message == NULL) {
		free(files.v);
		return usage_error("'ledger note' needs -m <message> and takes no arguments");
	}
	if (!dml_value_valid(DML_V_TEXT, message, strlen(message))) {
		free(files.v);
		return usage_error("-m: the message must be printable text of at most %d bytes "
		    "without leading or trailing spaces", DML_TEXT_MAX);
	}
	dml_stmt_builder_init(&b, "note");
	if ((files.n && ((att = calloc(files.n, sizeof(*att))) == NULL ||
	    (data = calloc(files.n, sizeof(*data))) == NULL))) {
		err = dml_error_nomem();
		goto done;
	}
	if ((err = dml_stmt_builder_add(&b, "message", message)))
		goto done;
	for (i = 0; i < files.n; i++) {
		if ((err = dml_read_file(files.v[i], &data[i], ATTACH_MAX)))
			goto done;
		att[i].data = data[i].data;
		att[i].len = data[i].len;
		dml_attachment_hash(&att[i]);
		for (j = 0; j < i; j++)
			if (memcmp(att[j].id, att[i].id, 32) == 0) {
				rc = usage_error("--attach '%s': the same content as '%s' is attached "
				    "already", files.v[i], files.v[j]);
				goto done;
			}
		dml_id_format(id, att[i].id);
		if ((err = dml_stmt_builder_add(&b, "object", id)))
			goto done;
	}
	rc = append_entry(ctx, &b, att, files.n);
done:
	for (i = 0; data && i < files.n; i++)
		dml_buf_release(&data[i]);
	free(data);
	free(att);
	free(files.v);
	dml_stmt_builder_release(&b);
	return err ? report(err) : rc;
}

static const struct verb ledger_verbs[] = {
	{ "log", ledger_log, "list the entries, newest first" },
	{ "show", ledger_show, "show one entry's statement" },
	{ "verify", ledger_verify, "recompute every link, signature, digest and authority" },
	{ "allowed-signers", ledger_allowed_signers,
	    "print an allowed-signers file for git verify-commit" },
	{ "note", ledger_note, "record a signed note, with files attached" },
	{ NULL, NULL, NULL }
};

int
cmd_ledger(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "ledger", ledger_verbs, argc, argv);
}
