/*
 * init.c - dmlctl init: create or adopt a repository and write the genesis.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static const char *const init_usage[] = {
	"dmlctl init [-k <key>] [--name <name>] [--bare] [--founder-roles <roles>]\n"
	"                   [--allow <type>:<role>]... [--supply <units>] [<dir>]",
	NULL
};

/* "type:role" -> "type role", validated. */
static int
rule_from_arg(const char *arg, char *out, size_t n)
{
	const char *colon = strchr(arg, ':');

	if (colon == NULL || colon == arg || colon[1] == '\0' ||
	    !dml_value_valid(DML_V_TOKEN, arg, (size_t)(colon - arg)) ||
	    !dml_value_valid(DML_V_TOKEN, colon + 1, strlen(colon + 1)) ||
	    strlen(arg) >= n)
		return -1;
	snprintf(out, n, "%.*s %s", (int)(colon - arg), arg, colon + 1);
	return 0;
}

/* The last component of a directory, without ".git": hub.git -> hub, x/.git -> x. */
static const char *
default_name(const char *path, char *buf, size_t n)
{
	char *base, *end;
	size_t len;

	if (realpath(path, buf) == NULL)
		snprintf(buf, n, "%s", path);
	len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (len > 5 && strcmp(buf + len - 5, "/.git") == 0)
		buf[len -= 5] = '\0';
	base = (end = strrchr(buf, '/')) ? end + 1 : buf;
	len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".git") == 0)
		base[len - 4] = '\0';
	return *base ? base : "ledger";
}

int
cmd_init(struct ctx *ctx, int argc, char **argv)
{
	const char *name = NULL, *roles = NULL;
	int bare = 0, created = 0, n, rc = 0;
	uint64_t supply = 0;
	struct strlist allow = { NULL, 0 };
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "name", "<name>", "the ledger's name (default: the directory's)", &name },
		{ OPT_FLAG, 0, "bare", NULL, "create a bare repository", &bare },
		{ OPT_STRING, 0, "founder-roles", "<roles>",
		    "the founding key's roles (default: admin,coordinator,member,treasurer)", &roles },
		{ OPT_LIST, 0, "allow", "<type>:<role>",
		    "policy: role that may write entries of type (repeatable; replaces the default policy)",
		    &allow },
		{ OPT_UINT, 0, "supply", "<units>", "tokens the founding key holds from the start "
		    "(default 0)", &supply },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_repo *repo = NULL;
	struct dml_key *key = NULL;
	struct dml_stmt *genesis = NULL;
	struct dml_genesis g;
	char supply_line[DML_KEY_ID_LEN + 32];
	const char *supply_p;
	const struct dml_error *err = NULL;
	char rolebuf[DML_ROLES_TEXT_MAX], member[DML_KEY_ID_LEN + 2 + sizeof(rolebuf)], (*rules)[160] = NULL;
	char keyid[DML_KEY_ID_LEN + 1];
	char fp[DML_KEY_FP_LEN + 1], id[DML_ID_LEN + 1], dirname_buf[PATH_MAX];
	const char *dir = getenv("DMLCTL_DIR");
	const char *member_p, **rule_p = NULL;
	uint64_t now;
	size_t i;

	if ((n = parse_options(argc, argv, opts, init_usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 1) {
		rc = usage_error("'init' takes at most one directory");
		goto done;
	}
	if (roles == NULL)
		roles = dml_default_founder_roles;
	if ((roles = normalize_roles(roles, rolebuf, sizeof(rolebuf))) == NULL) {
		rc = usage_error("--founder-roles: expected at most %d comma-separated roles of "
		    "[a-z0-9._-], %zu bytes in all", DML_MAX_ROLES, sizeof(rolebuf) - 1);
		goto done;
	}
	if (allow.n > 0) {
		if ((rules = calloc(allow.n, sizeof(*rules))) == NULL ||
		    (rule_p = calloc(allow.n, sizeof(*rule_p))) == NULL) {
			rc = report(dml_error_nomem());
			goto done;
		}
		for (i = 0; i < allow.n; i++) {
			if (rule_from_arg(allow.v[i], rules[i], sizeof(rules[i])) != 0) {
				rc = usage_error("--allow '%s': expected <entry-type>:<role>", allow.v[i]);
				goto done;
			}
			rule_p[i] = rules[i];
		}
	}
	if (n == 1)
		dir = argv[0];
	else if (dir != NULL && *dir == '\0')
		dir = NULL;
	/* An existing repository is adopted, found as every command finds it. */
	if (dir ? dml_repo_open_path(&ctx->repo, dir) == NULL :
	    dml_repo_discover(&ctx->repo, NULL) == NULL)
		repo = ctx->repo;
	/* Name, key and passphrase are settled before anything is created. */
	if (name == NULL)
		name = default_name(repo ? (dml_repo_workdir(repo) ? dml_repo_workdir(repo) :
		    dml_repo_gitdir(repo)) : dir ? dir : ".", dirname_buf, sizeof(dirname_buf));
	if (!dml_value_valid(DML_V_TEXT, name, strlen(name))) {
		rc = usage_error("ledger name '%s' must be printable text without leading or trailing "
		    "spaces", name);
		goto done;
	}
	if ((err = now_seconds(&now)) || (err = ctx_signing_key(ctx, &key)))
		goto done;
	if (repo == NULL) {
		dml_repo_free(ctx->repo);	/* a repository found only for its config */
		ctx->repo = NULL;
		if ((err = dml_repo_init(&repo, dir ? dir : ".", bare, &created)))
			goto done;
		ctx->repo = repo;
	}
	dml_pubkey_id(keyid, &key->pub);
	snprintf(member, sizeof(member), "%s %s", keyid, roles);
	member_p = member;
	memset(&g, 0, sizeof(g));
	g.name = name;
	g.members = &member_p;
	g.nmembers = 1;
	if (supply > 0) {
		snprintf(supply_line, sizeof(supply_line), "%s %llu", keyid,
		    (unsigned long long)supply);
		supply_p = supply_line;
		g.supply = &supply_p;
		g.nsupply = 1;
	}
	g.rules = allow.n ? rule_p : (const char *const *)dml_default_rules;
	g.nrules = allow.n ? allow.n : dml_default_nrules;
	if ((err = dml_ledger_create(repo, key, &g, now, &genesis)))
		goto done;
	dml_id_format(id, genesis->id);
	dml_pubkey_fingerprint(fp, &key->pub);
	if (ctx->json) {
		rc = json_print(json_pack("{s:s, s:s, s:b, s:s, s:s, s:o}", "repository",
		    dml_repo_gitdir(repo), "name", name, "created", created, "founder", keyid,
		    "fingerprint", fp, "genesis", json_stmt(genesis)));
	} else if (!ctx->quiet) {
		printf("%s dmlctl ledger '%s' in %s\n", created ? "Initialized" : "Adopted", name,
		    dml_repo_gitdir(repo));
		printf("founder  %s\n         %s\ngenesis  %s\n", keyid, fp, id);
	}
done:
	if (err)
		rc = report(err);
	dml_stmt_free(genesis);
	dml_key_free(key);
	free(rules);
	free(rule_p);
	free(allow.v);
	return rc;
}
