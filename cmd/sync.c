/*
 * sync.c - between parties: dmlctl clone, remote, fetch, pull, push.
 */
#define _XOPEN_SOURCE 700	/* realpath */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/sync.h"

static void
xfer_progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	progress(arg, what, done, total);
}

static void
verify_progress(void *arg, uint64_t done, uint64_t total)
{
	progress(arg, "Verifying entries", done, total);
}

/* The signing key, loaded only when a pull has local entries to re-link. */
struct keyholder {
	struct ctx *ctx;
	struct dml_key *key;
};

static const struct dml_error *
get_key(void *arg, const struct dml_key **k)
{
	struct keyholder *h = ((struct ctx *)arg)->sync_key;
	const struct dml_error *err;

	if (h->key == NULL && (err = ctx_signing_key(h->ctx, &h->key)))
		return err;
	*k = h->key;
	return NULL;
}

static void
sync_opts(struct ctx *ctx, struct dml_sync_opts *o, uint64_t threads)
{
	memset(o, 0, sizeof(*o));
	o->xfer.progress = xfer_progress;
	o->xfer.arg = ctx;
	o->xfer.die_midway = getenv("DMLCTL_TEST_DIE_DURING_PUSH") != NULL;
	o->verify_progress = verify_progress;
	o->arg = ctx;
	o->threads = (unsigned)threads;
	o->get_key = get_key;
}

static const char *
how_name(enum dml_sync_how how)
{
	static const char *const names[] = { "up-to-date", "ahead", "fast-forward", "rebased" };
	return names[how];
}

/* The summary of a fetch, pull or push: text or JSON. */
static int
print_result(struct ctx *ctx, const char *verb, const char *remote,
    const struct dml_sync_result *res)
{
	char hex[DML_OID_HEXLEN + 1];
	size_t i;

	dml_oid_hex(hex, &res->head);
	if (ctx->json) {
		json_t *o = json_object(), *left = json_array();
		for (i = 0; i < res->nleft; i++)
			json_array_append_new(left, json_pack("{s:I, s:s, s:s, s:s}",
			    "seq", (json_int_t)res->left[i].seq, "id", res->left[i].id,
			    "type", res->left[i].type, "reason", res->left[i].why));
		json_object_set_new(o, "command", json_string(verb));
		json_object_set_new(o, "remote", json_string(remote));
		json_object_set_new(o, "result", json_string(how_name(res->how)));
		json_object_set_new(o, "common", json_integer((json_int_t)res->common));
		json_object_set_new(o, "local_before", json_integer((json_int_t)res->local));
		json_object_set_new(o, "remote_entries", json_integer((json_int_t)res->remote));
		json_object_set_new(o, "relinked", json_integer((json_int_t)res->relinked));
		json_object_set_new(o, "upstream", json_integer((json_int_t)res->upstream));
		json_object_set_new(o, "entries", json_integer((json_int_t)res->after));
		json_object_set_new(o, "head", json_string(hex));
		json_object_set_new(o, "left_out", left);
		return json_print(o);
	}
	if (ctx->quiet && res->nleft == 0)
		return 0;
	if (strcmp(verb, "push") == 0) {
		if (res->how == DML_SYNC_UP_TO_DATE)
			printf("%s: everything up to date (%llu entries)\n", remote,
			    (unsigned long long)res->after);
		else
			printf("%s: pushed %llu entries (#%llu..#%llu)\n", remote,
			    (unsigned long long)(res->after - res->common),
			    (unsigned long long)res->common, (unsigned long long)res->after - 1);
		return 0;
	}
	switch (res->how) {
	case DML_SYNC_UP_TO_DATE:
		printf("%s: up to date (%llu entries)\n", remote, (unsigned long long)res->after);
		break;
	case DML_SYNC_AHEAD:
		printf("%s: the local ledger is %llu entries ahead (push to share them)\n", remote,
		    (unsigned long long)(res->local - res->common));
		break;
	case DML_SYNC_FAST_FORWARD:
		if (strcmp(verb, "fetch") == 0)
			printf("%s: %llu new entries verified (pull to take them)\n", remote,
			    (unsigned long long)(res->remote - res->common));
		else
			printf("%s: %llu new entries verified; fast-forward to %llu entries\n", remote,
			    (unsigned long long)(res->remote - res->common),
			    (unsigned long long)res->after);
		break;
	case DML_SYNC_REBASED:
		if (strcmp(verb, "fetch") == 0)
			printf("%s: diverged: %llu new entries verified there, %llu local entries here "
			    "(pull re-links them)\n", remote,
			    (unsigned long long)(res->remote - res->common),
			    (unsigned long long)(res->local - res->common));
		else {
			printf("%s: %llu new entries verified; %llu local entries re-linked on top, ",
			    remote, (unsigned long long)(res->remote - res->common),
			    (unsigned long long)res->relinked);
			if (res->upstream)
				printf("%llu already there, ", (unsigned long long)res->upstream);
			printf("%zu left out; %llu entries\n", res->nleft,
			    (unsigned long long)res->after);
		}
		break;
	}
	for (i = 0; i < res->nleft; i++)
		printf("left out: entry %llu (%s %.19s): %s\n", (unsigned long long)res->left[i].seq,
		    res->left[i].type, res->left[i].id, res->left[i].why);
	if (res->nleft)
		printf("the ledger before the pull is kept as %s\n", DML_ORIG_LEDGER_REF);
	return 0;
}

/* fetch, pull, push: [<remote>], default "origin". */
static int
transfer(struct ctx *ctx, int argc, char **argv, const char *verb,
    const struct dml_error *(*fn)(struct dml_repo *, const char *, const struct dml_sync_opts *,
    struct dml_sync_result *))
{
	char usage_line[128];
	const char *usage[] = { usage_line, NULL };
	uint64_t threads = 0;
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_UINT, 0, "threads", "<n>", "threads for verification (default: all cores)",
		    &threads },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_sync_opts o;
	struct dml_sync_result res;
	struct keyholder kh = { ctx, NULL };
	struct dml_repo *repo;
	const struct dml_error *err;
	const char *remote;
	int n, rc;

	/* -k (the first option) only for pull, which may re-link. */
	int signs = strcmp(verb, "pull") == 0;

	snprintf(usage_line, sizeof(usage_line), "dmlctl %s %s[--threads <n>] [--json] [<remote>]",
	    verb, signs ? "[-k <key>] " : "");
	if ((n = parse_options(argc, argv, opts + !signs, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 1)
		return usage_error("'%s' takes at most one remote", verb);
	if (threads > 1024)
		return usage_error("--threads %llu is too many", (unsigned long long)threads);
	remote = n == 1 ? argv[0] : "origin";
	if ((err = ctx_repo(ctx, &repo)))
		return report(err);
	sync_opts(ctx, &o, threads);
	ctx->sync_key = &kh;
	err = fn(repo, remote, &o, &res);
	dml_key_free(kh.key);
	ctx->sync_key = NULL;
	/* A push the remote refuses is a "no", as git says it: exit 1. */
	if (err) {
		rc = err->code == DML_ERR_MOVED && fn == dml_push ? (report(err), EXIT_NO) :
		    report(err);
		dml_sync_result_release(&res);
		return rc;
	}
	rc = print_result(ctx, verb, remote, &res);
	dml_sync_result_release(&res);
	return rc;
}

int
cmd_fetch(struct ctx *ctx, int argc, char **argv)
{
	return transfer(ctx, argc, argv, "fetch", dml_fetch);
}

int
cmd_pull(struct ctx *ctx, int argc, char **argv)
{
	return transfer(ctx, argc, argv, "pull", dml_pull);
}

int
cmd_push(struct ctx *ctx, int argc, char **argv)
{
	return transfer(ctx, argc, argv, "push", dml_push);
}

static int
remote_add(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl remote add <name> <url>", NULL };
	struct opt opts[] = { { OPT_END } };
	struct dml_repo *repo;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 2)
		return usage_error("'remote add' takes a name and a URL");
	if ((err = ctx_repo(ctx, &repo)) || (err = dml_repo_remote_add(repo, argv[0], argv[1])))
		return report(err);
	return 0;
}

static int
remote_remove(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl remote remove <name>", NULL };
	struct opt opts[] = { { OPT_END } };
	struct dml_repo *repo;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'remote remove' takes one name");
	if ((err = ctx_repo(ctx, &repo)) || (err = dml_repo_remote_remove(repo, argv[0])))
		return report(err);
	return 0;
}

static int
remote_list(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl remote list [--json]", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_repo *repo;
	struct dml_remote_info *ri;
	const struct dml_error *err;
	size_t nr, i;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 0)
		return usage_error("'remote list' takes no arguments");
	if ((err = ctx_repo(ctx, &repo)) || (err = dml_repo_remote_list(repo, &ri, &nr)))
		return report(err);
	if (ctx->json) {
		json_t *arr = json_array();
		for (i = 0; i < nr; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "name", ri[i].name,
			    "url", ri[i].url));
		dml_remote_info_free(ri, nr);
		return json_print(arr);
	}
	for (i = 0; i < nr; i++)
		printf("%s\t%s\n", ri[i].name, ri[i].url);
	dml_remote_info_free(ri, nr);
	return 0;
}

int
cmd_remote(struct ctx *ctx, int argc, char **argv)
{
	static const struct verb verbs[] = {
		{ "add", remote_add, "remember a remote under a name" },
		{ "list", remote_list, "list the remotes" },
		{ "remove", remote_remove, "forget a remote and what was fetched from it" },
		{ NULL, NULL, NULL }
	};
	return run_verb(ctx, "remote", verbs, argc, argv);
}

/* The directory a URL clones into: its last component without ".git". */
static void
clone_dir(const char *url, char *out, size_t n)
{
	size_t len = strlen(url);
	const char *base;

	while (len > 1 && url[len - 1] == '/')
		len--;
	base = url + len;
	while (base > url && base[-1] != '/' && base[-1] != ':')
		base--;
	len = (size_t)(url + len - base);
	if (len > 4 && strncmp(base + len - 4, ".git", 4) == 0)
		len -= 4;
	snprintf(out, n, "%.*s", (int)len, base);
}

int
cmd_clone(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl clone [--bare] [--genesis <id>] [--threads <n>] [--json] <url> [<dir>]", NULL };
	const char *genesis = NULL;
	uint64_t threads = 0;
	int bare = 0, created = 0, n, rc;
	struct opt opts[] = {
		{ OPT_FLAG, 0, "bare", NULL, "make a bare repository", &bare },
		{ OPT_STRING, 0, "genesis", "<id>", "require this genesis entry ID (pins the ledger)",
		    &genesis },
		{ OPT_UINT, 0, "threads", "<n>", "threads for verification (default: all cores)",
		    &threads },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	unsigned char want[32];
	char dir[4096], url[4096];
	struct dml_repo *repo = NULL;
	struct dml_sync_opts o;
	struct dml_sync_result res;
	struct stat sb;
	const struct dml_error *err;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n < 1 || n > 2)
		return usage_error("'clone' takes a URL and at most one directory");
	if (genesis && parse_entry_id(genesis, want) != 0)
		return usage_error("--genesis '%s': expected a full entry ID, sha256:<64 hex digits>",
		    genesis);
	if (n == 2)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		clone_dir(argv[0], dir, sizeof(dir));
	if (dir[0] == '\0')
		return usage_error("cannot tell a directory from '%s': name one", argv[0]);
	/* Like git: only into a new or empty directory. */
	if (stat(dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || rmdir(dir) != 0))
		return report(dml_error_fmt(DML_ERR_EXISTS,
		    "destination '%s' already exists and is not an empty directory", dir));
	/* A local path is remembered absolute, as git does, so it works from the clone. */
	if (stat(argv[0], &sb) == 0 && S_ISDIR(sb.st_mode) && realpath(argv[0], url) != NULL)
		;
	else
		snprintf(url, sizeof(url), "%s", argv[0]);
	if ((err = dml_repo_init(&repo, dir, bare, &created)) ||
	    (err = dml_repo_remote_add(repo, "origin", url)))
		goto fail;
	sync_opts(ctx, &o, threads);
	o.genesis = genesis ? want : NULL;
	o.get_key = NULL;	/* a clone has no local entries */
	if ((err = dml_pull(repo, "origin", &o, &res)))
		goto fail;
	if (ctx->json)
		rc = print_result(ctx, "clone", "origin", &res);
	else {
		rc = 0;
		if (!ctx->quiet)
			printf("cloned into '%s': %llu entries, every check passed\n", dir,
			    (unsigned long long)res.after);
	}
	dml_sync_result_release(&res);
	dml_repo_free(repo);
	return rc;
fail:
	dml_repo_free(repo);
	rc = report(err);
	/* Leave nothing behind: a refused clone is no clone. */
	if (created)
		dml_remove_tree(dir);
	return rc;
}
