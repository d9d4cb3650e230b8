/*
 * key.c - dmlctl key: local key files and ledger membership.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "dml/keystore.h"

static void
print_pub(struct dml_buf *b, const struct dml_pubkey *pk)
{
	dml_buf_reset(b);
	dml_pubkey_openssh(b, pk, NULL);
}

static int
key_generate(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl key generate [--no-passphrase] [<name>]", NULL };
	int nopass = 0, n, rc = 0;
	struct opt opts[] = {
		{ OPT_FLAG, 0, "no-passphrase", NULL, "store the secret key unencrypted", &nopass },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	const char *name;
	struct dml_key *k = NULL;
	char *pass = NULL, id[DML_KEY_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
	size_t passlen = 0;
	const struct dml_error *err;
	struct dml_buf dir = DML_BUF_INIT;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 1)
		return usage_error("'key generate' takes one name");
	name = n == 1 ? argv[0] : "default";
	if (!dml_key_name_valid(name))
		return usage_error("invalid key name '%s': use 1-64 of A-Z a-z 0-9 . _ - "
		    "(not first . or -)", name);
	if ((err = dml_key_generate(&k)))
		goto done;
	if (!nopass && (err = ask_new_passphrase(name, &pass, &passlen)))
		goto done;
	if ((err = dml_keystore_save(name, k, pass, passlen, NULL)) || (err = dml_keydir(&dir)))
		goto done;
	dml_pubkey_id(id, &k->pub);
	dml_pubkey_fingerprint(fp, &k->pub);
	if (ctx->json)
		rc = json_print(json_pack("{s:s, s:s, s:s, s:b, s:s}", "name", name, "id", id,
		    "fingerprint", fp, "encrypted", !nopass, "path", (const char *)dir.data));
	else if (!ctx->quiet)
		printf("Generated key '%s' (%s) in %s\n%s\n%s\n", name,
		    nopass ? "unencrypted" : "encrypted", dir.data, id, fp);
done:
	if (pass)
		dml_secret_free(pass);
	dml_key_free(k);
	dml_buf_release(&dir);
	return err ? report(err) : rc;
}

static int
key_import(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl key import [--name <name>] [--no-passphrase] <openssh-private-key>", NULL };
	int nopass = 0, n, rc = 0;
	const char *name = NULL;
	struct opt opts[] = {
		{ OPT_STRING, 0, "name", "<name>", "name in the key directory (default: the file's)",
		    &name },
		{ OPT_FLAG, 0, "no-passphrase", NULL, "store the secret key unencrypted", &nopass },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_buf text = DML_BUF_INIT;
	struct dml_key *k = NULL;
	char *comment = NULL, *pass = NULL, *base = NULL, id[DML_KEY_ID_LEN + 1];
	char fp[DML_KEY_FP_LEN + 1];
	size_t passlen = 0;
	const struct dml_error *err;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'key import' takes one OpenSSH private key file");
	if (name == NULL) {
		char *dot;
		if ((base = strdup(argv[0])) == NULL)
			return report(dml_error_nomem());
		name = basename(base);
		if ((dot = strchr(name, '.')) != NULL && dot != name)
			*dot = '\0';
	}
	if (!dml_key_name_valid(name)) {
		rc = usage_error("invalid key name '%s': choose one with --name", name);
		goto out;
	}
	if ((err = dml_read_file(argv[0], &text, 65536)))
		goto done;
	if (!dml_openssh_key_detect((const char *)text.data, text.len)) {
		err = dml_error_fmt(DML_ERR_PARSE,
		    "'%s' is not an OpenSSH private key (expected '-----BEGIN OPENSSH PRIVATE KEY-----')",
		    argv[0]);
		goto done;
	}
	if ((err = dml_openssh_key_decode(&k, &comment, (const char *)text.data, text.len,
	    argv[0])))
		goto done;
	if (!nopass && (err = ask_new_passphrase(name, &pass, &passlen)))
		goto done;
	if ((err = dml_keystore_save(name, k, pass, passlen, comment && *comment ? comment : NULL)))
		goto done;
	dml_pubkey_id(id, &k->pub);
	dml_pubkey_fingerprint(fp, &k->pub);
	if (ctx->json)
		rc = json_print(json_pack("{s:s, s:s, s:s, s:b}", "name", name, "id", id,
		    "fingerprint", fp, "encrypted", !nopass));
	else if (!ctx->quiet)
		printf("Imported key '%s' (%s)\n%s\n%s\n", name, nopass ? "unencrypted" : "encrypted",
		    id, fp);
done:
	if (err)
		rc = report(err);
out:
	if (pass)
		dml_secret_free(pass);
	dml_key_free(k);
	free(comment);
	free(base);
	dml_buf_wipe(&text);
	return rc;
}

/* Ledger members, if this is a repository with a ledger. */
static const struct dml_state *
maybe_state(struct ctx *ctx)
{
	struct dml_ledger *l;

	if (getenv("DMLCTL_DIR") == NULL && ctx->repo == NULL) {
		struct dml_repo *r;
		if (ctx_repo(ctx, &r) != NULL)
			return NULL;
	}
	return ctx_ledger(ctx, &l) == NULL ? dml_ledger_state(l) : NULL;
}

static json_t *
json_member(const struct dml_state *st, const struct dml_member *m)
{
	char roles[DML_ROLES_TEXT_MAX], id[DML_KEY_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
	json_t *o;

	dml_pubkey_id(id, &m->key);
	dml_pubkey_fingerprint(fp, &m->key);
	dml_state_roles_format(st, m->roles, roles, sizeof(roles));
	o = json_pack("{s:s, s:s, s:s?, s:s, s:I, s:b}", "id", id, "fingerprint", fp, "name",
	    m->name, "roles", roles, "added", (json_int_t)m->added_seq, "revoked", m->revoked);
	if (o && m->revoked)
		json_object_set_new(o, "revoked_at", json_integer((json_int_t)m->revoked_seq));
	return o;
}

static int
key_list(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl key list [--members] [--json]", NULL };
	int members = 0, n;
	struct opt opts[] = {
		{ OPT_FLAG, 0, "members", NULL, "list the ledger's members instead of local keys",
		    &members },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_keyinfo *keys = NULL;
	size_t nkeys = 0, i;
	const struct dml_error *err;
	char fp[DML_KEY_FP_LEN + 1], roles[DML_ROLES_TEXT_MAX];
	json_t *arr;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'key list' takes no arguments");
	if (members) {
		struct dml_ledger *l;
		const struct dml_state *st;
		if ((err = ctx_ledger(ctx, &l)))
			return report(err);
		st = dml_ledger_state(l);
		arr = json_array();
		for (i = 0; i < st->nmembers; i++) {
			const struct dml_member *m = &st->members[i];
			if (ctx->json) {
				json_array_append_new(arr, json_member(st, m));
				continue;
			}
			dml_pubkey_fingerprint(fp, &m->key);
			dml_state_roles_format(st, m->roles, roles, sizeof(roles));
			printf("%s  %-8s %s%s%s\n", fp, m->revoked ? "revoked" : "active", roles,
			    m->name ? "  " : "", m->name ? m->name : "");
		}
		if (ctx->json)
			return json_print(arr);
		json_decref(arr);
		return 0;
	}
	if ((err = dml_keystore_list(&keys, &nkeys)))
		return report(err);
	arr = json_array();
	for (i = 0; i < nkeys; i++) {
		char id[DML_KEY_ID_LEN + 1];
		const char *enc = keys[i].encrypted < 0 ? "unreadable" :
		    keys[i].encrypted ? "encrypted" : "unencrypted";
		dml_pubkey_fingerprint(fp, &keys[i].pub);
		dml_pubkey_id(id, &keys[i].pub);
		if (ctx->json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name",
			    keys[i].name, "id", id, "fingerprint", fp, "protection", enc));
		else
			printf("%-20s %s  %s\n", keys[i].name, fp, enc);
	}
	dml_keyinfo_free(keys, nkeys);
	if (ctx->json)
		return json_print(arr);
	json_decref(arr);
	return 0;
}

/* A public key from a spec, or from a ledger member's name. */
static const struct dml_error *
resolve_public(struct ctx *ctx, const char *spec, struct dml_pubkey *pk)
{
	const struct dml_error *err = dml_keystore_public(pk, spec);
	const struct dml_state *st;
	size_t i;

	if (err == NULL || strncmp(spec, "ssh-ed25519 ", 12) == 0 || strncmp(spec, "ed25519:", 8) == 0)
		return err;
	if ((st = maybe_state(ctx)) != NULL)
		for (i = 0; i < st->nmembers; i++)
			if (st->members[i].name && strcmp(st->members[i].name, spec) == 0) {
				*pk = st->members[i].key;
				return NULL;
			}
	return err;
}

static int
key_show(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl key show [--json] <key>", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	struct dml_pubkey pk;
	struct dml_buf line = DML_BUF_INIT;
	const struct dml_state *st;
	const struct dml_member *m = NULL;
	const struct dml_error *err;
	char id[DML_KEY_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1], roles[DML_ROLES_TEXT_MAX];
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'key show' takes one key");
	if ((err = resolve_public(ctx, argv[0], &pk)))
		return report(err);
	dml_pubkey_id(id, &pk);
	dml_pubkey_fingerprint(fp, &pk);
	print_pub(&line, &pk);
	if ((st = maybe_state(ctx)) != NULL)
		m = dml_state_member(st, &pk);
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", id, "fingerprint", fp, "openssh",
		    (const char *)line.data);
		dml_buf_release(&line);
		if (o && st)
			json_object_set_new(o, "member", m ? json_member(st, m) : json_null());
		return json_print(o);
	}
	printf("id           %s\nfingerprint  %s\nopenssh      %s\n", id, fp, line.data);
	if (m) {
		dml_state_roles_format(st, m->roles, roles, sizeof(roles));
		printf("member       %s since entry %llu%s%s\n", roles,
		    (unsigned long long)m->added_seq, m->name ? ", named " : "",
		    m->name ? m->name : "");
		if (m->revoked)
			printf("revoked      at entry %llu\n", (unsigned long long)m->revoked_seq);
	} else if (st)
		printf("member       no\n");
	dml_buf_release(&line);
	return 0;
}

static int
key_export(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl key export <key>", NULL };
	struct opt opts[] = { { OPT_END } };
	struct dml_pubkey pk;
	struct dml_buf line = DML_BUF_INIT;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'key export' takes one key");
	if ((err = resolve_public(ctx, argv[0], &pk)) ||
	    (err = dml_pubkey_openssh(&line, &pk, strchr(argv[0], '/') || strchr(argv[0], ' ') ||
	    strchr(argv[0], ':') ? NULL : argv[0])))
		return report(err);
	printf("%s\n", line.data);
	dml_buf_release(&line);
	return 0;
}

/*
 * Append a key.add or key.revoke entry naming key pk, with up to two more
 * fields (a NULL value leaves a field out).
 */
static int
append_key_entry(struct ctx *ctx, const char *type, const struct dml_pubkey *pk,
    const char *f1, const char *v1, const char *f2, const char *v2)
{
	struct dml_stmt_builder b;
	const struct dml_error *err;
	char id[DML_KEY_ID_LEN + 1];
	int rc;

	dml_pubkey_id(id, pk);
	dml_stmt_builder_init(&b, type);
	if ((err = dml_stmt_builder_add(&b, "key", id)) ||
	    (v1 && (err = dml_stmt_builder_add(&b, f1, v1))) ||
	    (v2 && (err = dml_stmt_builder_add(&b, f2, v2))))
		rc = report(err);
	else
		rc = append_entry(ctx, &b, NULL, 0);
	dml_stmt_builder_release(&b);
	return rc;
}

static int
key_add(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl key add [-k <key>] [--role <roles>] [--name <label>] <public-key>", NULL };
	const char *roles = "member", *name = NULL;
	char rolebuf[DML_ROLES_TEXT_MAX];
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "role", "<roles>", "comma-separated roles (default: member)", &roles },
		{ OPT_STRING, 0, "name", "<label>", "a label for the member", &name },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_pubkey pk;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'key add' takes one public key (a .pub file, an ssh-ed25519 "
		    "line, a key ID or a key name)");
	if ((roles = normalize_roles(roles, rolebuf, sizeof(rolebuf))) == NULL)
		return usage_error("--role: expected comma-separated roles of [a-z0-9._-]");
	if (name && !dml_value_valid(DML_V_TEXT, name, strlen(name)))
		return usage_error("--name '%s': expected printable text without leading or trailing "
		    "spaces", name);
	if ((err = dml_keystore_public(&pk, argv[0])))
		return report(err);
	return append_key_entry(ctx, "key.add", &pk, "roles", roles, "name", name);
}

static int
key_revoke(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = {
		"dmlctl key revoke [-k <key>] [--reason <text>] <key>", NULL };
	const char *reason = NULL;
	struct opt opts[] = {
		OPT_KEY(&ctx->keyspec),
		{ OPT_STRING, 0, "reason", "<text>", "why the key is revoked", &reason },
		OPT_JSON(&ctx->json),
		{ OPT_END }
	};
	struct dml_pubkey pk;
	const struct dml_error *err;
	int n;

	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n != 1)
		return usage_error("'key revoke' takes one key");
	if (reason && !dml_value_valid(DML_V_TEXT, reason, strlen(reason)))
		return usage_error("--reason '%s': expected printable text without leading or "
		    "trailing spaces", reason);
	if ((err = resolve_public(ctx, argv[0], &pk)))
		return report(err);
	return append_key_entry(ctx, "key.revoke", &pk, "reason", reason, NULL, NULL);
}

static const struct verb key_verbs[] = {
	{ "generate", key_generate, "create a new key in the key directory" },
	{ "import", key_import, "import an unencrypted OpenSSH ed25519 private key" },
	{ "list", key_list, "list local keys, or the ledger's members" },
	{ "show", key_show, "show a key's ID, fingerprint and membership" },
	{ "export", key_export, "print a public key as an OpenSSH line" },
	{ "add", key_add, "make a key a member (a key.add entry)" },
	{ "revoke", key_revoke, "revoke a member's key (a key.revoke entry)" },
	{ NULL, NULL, NULL }
};

int
cmd_key(struct ctx *ctx, int argc, char **argv)
{
	return run_verb(ctx, "key", key_verbs, argc, argv);
}
