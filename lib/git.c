/*
 * git.c - the libgit2 wrapper (see dml/repo.h).  The only file that includes
 * <git2.h>.
 *
 * Two things are done here by hand rather than through libgit2, for speed on
 * the append path: the unsigned commit text is formatted directly from the
 * tree and parent IDs (git_commit_create_buffer would first look both objects
 * up again), and strict object creation is turned off because the ledger
 * writes every object a tree or commit names just before naming it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "dml/repo.h"

struct dml_repo {
	git_repository *git;
	git_odb *odb;
};

_Static_assert(sizeof(git_oid) >= DML_OID_RAWLEN, "oid size");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;

static void
init_once(void)
{
	init_rc = git_libgit2_init();
	if (init_rc >= 0)
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
}

static const struct dml_error *
gitinit(void)
{
	pthread_once(&once, init_once);
	if (init_rc < 0)
		return dml_error_fmt(DML_ERR_INTERNAL, "cannot initialise libgit2");
	return NULL;
}

static const struct dml_error *
giterr(const char *what)
{
	const git_error *e = git_error_last();

	return dml_error_fmt(DML_ERR_IO, "%s: %s", what, e && e->message ? e->message : "git error");
}

const char *
dml_git_version(void)
{
	static char v[32];
	int major, minor, rev;

	git_libgit2_version(&major, &minor, &rev);
	snprintf(v, sizeof(v), "%d.%d.%d", major, minor, rev);
	return v;
}

static void
to_git(git_oid *g, const struct dml_oid *o)
{
	memset(g, 0, sizeof(*g));
	memcpy(g->id, o->id, DML_OID_RAWLEN);
}

static void
from_git(struct dml_oid *o, const git_oid *g)
{
	memcpy(o->id, g->id, DML_OID_RAWLEN);
}

void
dml_oid_hex(char out[DML_OID_HEXLEN + 1], const struct dml_oid *o)
{
	git_oid g;

	to_git(&g, o);
	git_oid_tostr(out, DML_OID_HEXLEN + 1, &g);
}

int
dml_oid_equal(const struct dml_oid *a, const struct dml_oid *b)
{
	return memcmp(a->id, b->id, DML_OID_RAWLEN) == 0;
}

static const struct dml_error *
wrap(struct dml_repo **out, git_repository *g)
{
	struct dml_repo *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		git_repository_free(g);
		return dml_error_nomem();
	}
	r->git = g;
	if (git_repository_odb(&r->odb, g) < 0) {
		git_repository_free(g);
		free(r);
		return giterr("cannot open object database");
	}
	*out = r;
	return NULL;
}

const struct dml_error *
dml_repo_discover(struct dml_repo **out, const char *start)
{
	git_buf path = GIT_BUF_INIT;
	git_repository *g;
	const struct dml_error *err;
	int rc;

	*out = NULL;
	if ((err = gitinit()))
		return err;
	rc = git_repository_discover(&path, start ? start : ".", 0, NULL);
	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND,
		    "not a git repository (or any of the parent directories)");
	if (rc < 0)
		return giterr("cannot look for a repository");
	rc = git_repository_open(&g, path.ptr);
	git_buf_dispose(&path);
	if (rc < 0)
		return giterr("cannot open repository");
	return wrap(out, g);
}

const struct dml_error *
dml_repo_open_path(struct dml_repo **out, const char *path)
{
	git_repository *g;
	const struct dml_error *err;
	int rc;

	*out = NULL;
	if ((err = gitinit()))
		return err;
	rc = git_repository_open_ext(&g, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND, "'%s' is not a git repository", path);
	if (rc < 0)
		return giterr("cannot open repository");
	return wrap(out, g);
}

const struct dml_error *
dml_repo_init(struct dml_repo **out, const char *path, int bare, int *created)
{
	git_repository *g;
	const struct dml_error *err;
	int rc;

	*out = NULL;
	*created = 0;
	if ((err = gitinit()))
		return err;
	rc = git_repository_open_ext(&g, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == GIT_ENOTFOUND) {
		if (git_repository_init(&g, path, bare) < 0)
			return giterr("cannot create repository");
		*created = 1;
	} else if (rc < 0)
		return giterr("cannot open repository");
	return wrap(out, g);
}

void
dml_repo_free(struct dml_repo *r)
{
	if (r == NULL)
		return;
	git_odb_free(r->odb);
	git_repository_free(r->git);
	free(r);
}

const char *
dml_repo_gitdir(const struct dml_repo *r)
{
	return git_repository_path(r->git);
}

const struct dml_error *
dml_repo_blob_write(struct dml_repo *r, struct dml_oid *out, const void *p, size_t n)
{
	git_oid g;

	if (git_odb_write(&g, r->odb, p, n, GIT_OBJECT_BLOB) < 0)
		return giterr("cannot write object");
	from_git(out, &g);
	return NULL;
}

static const struct dml_error *
odb_read(struct dml_repo *r, const struct dml_oid *id, git_object_t want, git_odb_object **obj)
{
	git_oid g;
	char hex[DML_OID_HEXLEN + 1];
	int rc;

	to_git(&g, id);
	rc = git_odb_read(obj, r->odb, &g);
	dml_oid_hex(hex, id);
	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND, "object %s is missing", hex);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot read object"), "%s", hex);
	if (git_odb_object_type(*obj) != want) {
		git_object_t got = git_odb_object_type(*obj);
		git_odb_object_free(*obj);
		*obj = NULL;
		return dml_error_fmt(DML_ERR_VERIFY, "object %s is a %s, expected a %s", hex,
		    git_object_type2string(got), git_object_type2string(want));
	}
	return NULL;
}

const struct dml_error *
dml_repo_blob_read(struct dml_repo *r, const struct dml_oid *id, struct dml_buf *out)
{
	git_odb_object *obj;
	const struct dml_error *err;

	if ((err = odb_read(r, id, GIT_OBJECT_BLOB, &obj)))
		return err;
	dml_buf_reset(out);
	err = dml_buf_add(out, git_odb_object_data(obj), git_odb_object_size(obj));
	git_odb_object_free(obj);
	return err;
}

const struct dml_error *
dml_repo_tree_write(struct dml_repo *r, struct dml_oid *out, const struct dml_tree_item *items,
    size_t n)
{
	git_treebuilder *bld;
	git_oid g;
	const struct dml_error *err = NULL;
	size_t i;

	if (git_treebuilder_new(&bld, r->git, NULL) < 0)
		return giterr("cannot build tree");
	for (i = 0; i < n && err == NULL; i++) {
		to_git(&g, &items[i].oid);
		if (git_treebuilder_insert(NULL, bld, items[i].name, &g,
		    items[i].is_tree ? GIT_FILEMODE_TREE : GIT_FILEMODE_BLOB) < 0)
			err = giterr("cannot add tree entry");
	}
	if (err == NULL && git_treebuilder_write(&g, bld) < 0)
		err = giterr("cannot write tree");
	if (err == NULL)
		from_git(out, &g);
	git_treebuilder_free(bld);
	return err;
}

void
dml_tree_items_free(struct dml_tree_item *items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

const struct dml_error *
dml_repo_tree_read(struct dml_repo *r, const struct dml_oid *id, struct dml_tree_item **items,
    size_t *n)
{
	git_tree *tree;
	git_oid g;
	size_t i, cnt;
	struct dml_tree_item *it;
	char hex[DML_OID_HEXLEN + 1];
	int rc;

	*items = NULL;
	*n = 0;
	to_git(&g, id);
	dml_oid_hex(hex, id);
	rc = git_tree_lookup(&tree, r->git, &g);
	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND, "tree %s is missing", hex);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot read tree"), "%s", hex);
	cnt = git_tree_entrycount(tree);
	if ((it = calloc(cnt ? cnt : 1, sizeof(*it))) == NULL) {
		git_tree_free(tree);
		return dml_error_nomem();
	}
	for (i = 0; i < cnt; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);

		if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_TREE) {
			dml_tree_items_free(it, i);
			git_tree_free(tree);
			return dml_error_fmt(DML_ERR_VERIFY, "tree %s: entry '%s' has mode %o", hex,
			    git_tree_entry_name(e), (unsigned)mode);
		}
		if ((it[i].name = strdup(git_tree_entry_name(e))) == NULL) {
			dml_tree_items_free(it, i);
			git_tree_free(tree);
			return dml_error_nomem();
		}
		from_git(&it[i].oid, git_tree_entry_id(e));
		it[i].is_tree = mode == GIT_FILEMODE_TREE;
	}
	git_tree_free(tree);
	*items = it;
	*n = cnt;
	return NULL;
}

const struct dml_error *
dml_repo_commit_buffer(struct dml_repo *r, struct dml_buf *out, const struct dml_oid *tree,
    const struct dml_oid *parent, const char *name, const char *email, int64_t time,
    const char *message)
{
	char th[DML_OID_HEXLEN + 1], ph[DML_OID_HEXLEN + 1];
	const struct dml_error *err;

	(void)r;
	if (strpbrk(name, "<>\n") || strpbrk(email, "<>\n"))
		return dml_error_fmt(DML_ERR_USAGE, "commit identity contains '<', '>' or newline");
	dml_oid_hex(th, tree);
	dml_buf_reset(out);
	if ((err = dml_buf_addf(out, "tree %s\n", th)))
		return err;
	if (parent) {
		dml_oid_hex(ph, parent);
		if ((err = dml_buf_addf(out, "parent %s\n", ph)))
			return err;
	}
	return dml_buf_addf(out, "author %s <%s> %lld +0000\ncommitter %s <%s> %lld +0000\n\n%s",
	    name, email, (long long)time, name, email, (long long)time, message);
}

const struct dml_error *
dml_repo_commit_write_signed(struct dml_repo *r, struct dml_oid *out, const char *content,
    const char *signature)
{
	git_oid g;
	char *sig;
	size_t n = strlen(signature);
	int rc;

	/* libgit2 adds the header's final newline itself. */
	if ((sig = strdup(signature)) == NULL)
		return dml_error_nomem();
	while (n > 0 && sig[n - 1] == '\n')
		sig[--n] = '\0';
	rc = git_commit_create_with_signature(&g, r->git, content, sig, "gpgsig");
	free(sig);
	if (rc < 0)
		return giterr("cannot write commit");
	from_git(out, &g);
	return NULL;
}

void
dml_commit_info_release(struct dml_commit_info *ci)
{
	dml_buf_release(&ci->signed_data);
	dml_buf_release(&ci->signature);
	free(ci->message);
	ci->message = NULL;
}

const struct dml_error *
dml_repo_commit_links(struct dml_repo *r, const struct dml_oid *id, struct dml_oid *tree,
    struct dml_oid parents[2], unsigned *nparents)
{
	git_commit *c;
	git_oid g;
	unsigned i;
	char hex[DML_OID_HEXLEN + 1];
	int rc;

	to_git(&g, id);
	rc = git_commit_lookup(&c, r->git, &g);
	if (rc < 0) {
		dml_oid_hex(hex, id);
		if (rc == GIT_ENOTFOUND)
			return dml_error_fmt(DML_ERR_NOTFOUND, "commit %s is missing", hex);
		return dml_error_wrap(giterr("cannot read commit"), "%s", hex);
	}
	from_git(tree, git_commit_tree_id(c));
	*nparents = git_commit_parentcount(c);
	for (i = 0; i < *nparents && i < 2; i++)
		from_git(&parents[i], git_commit_parent_id(c, i));
	git_commit_free(c);
	return NULL;
}

const struct dml_error *
dml_repo_commit_read(struct dml_repo *r, const struct dml_oid *id, struct dml_commit_info *ci)
{
	git_commit *c = NULL;
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_oid g;
	unsigned i;
	char hex[DML_OID_HEXLEN + 1];
	const struct dml_error *err = NULL;
	int rc;

	memset(ci, 0, sizeof(*ci));
	to_git(&g, id);
	dml_oid_hex(hex, id);
	rc = git_commit_lookup(&c, r->git, &g);
	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND, "commit %s is missing", hex);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot read commit"), "%s", hex);
	from_git(&ci->tree, git_commit_tree_id(c));
	ci->nparents = git_commit_parentcount(c);
	for (i = 0; i < ci->nparents && i < 2; i++)
		from_git(&ci->parents[i], git_commit_parent_id(c, i));
	if ((ci->message = strdup(git_commit_message_raw(c))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	rc = git_commit_extract_signature(&sig, &data, r->git, &g, "gpgsig");
	if (rc == 0) {
		if ((err = dml_buf_add(&ci->signed_data, data.ptr, data.size)) ||
		    (err = dml_buf_add(&ci->signature, sig.ptr, sig.size)))
			goto done;
		if (ci->signature.len == 0 || ci->signature.data[ci->signature.len - 1] != '\n')
			err = dml_buf_add(&ci->signature, "\n", 1);
	} else if (rc != GIT_ENOTFOUND) {
		err = dml_error_wrap(giterr("cannot read commit signature"), "%s", hex);
	}
done:
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	git_commit_free(c);
	if (err)
		dml_commit_info_release(ci);
	return err;
}

const struct dml_error *
dml_repo_ref_read(struct dml_repo *r, const char *name, struct dml_oid *out, int *exists)
{
	git_reference *ref;
	int rc;

	*exists = 0;
	rc = git_reference_lookup(&ref, r->git, name);
	if (rc == GIT_ENOTFOUND)
		return NULL;
	if (rc < 0)
		return dml_error_wrap(giterr("cannot read ref"), "%s", name);
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		git_reference_free(ref);
		return dml_error_fmt(DML_ERR_VERIFY, "ref '%s' is symbolic", name);
	}
	from_git(out, git_reference_target(ref));
	git_reference_free(ref);
	*exists = 1;
	return NULL;
}

const struct dml_error *
dml_repo_ref_cas(struct dml_repo *r, const char *name, const struct dml_oid *new,
    const struct dml_oid *old, const char *logmsg)
{
	git_reference *ref = NULL;
	git_oid gn, go;
	int rc;

	to_git(&gn, new);
	if (old) {
		to_git(&go, old);
		rc = git_reference_create_matching(&ref, r->git, name, &gn, 1, &go, logmsg);
	} else
		rc = git_reference_create(&ref, r->git, name, &gn, 0, logmsg);
	git_reference_free(ref);
	if (rc == GIT_EMODIFIED || rc == GIT_ELOCKED || rc == GIT_EEXISTS)
		return dml_error_fmt(DML_ERR_LOCKED, "ref '%s' was locked or moved by another writer",
		    name);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot update ref"), "%s", name);
	return NULL;
}

static const struct dml_error *
config_get(git_config *cfg, const char *key, char **value)
{
	git_buf b = GIT_BUF_INIT;
	int rc;

	*value = NULL;
	rc = git_config_get_string_buf(&b, cfg, key);
	if (rc == GIT_ENOTFOUND)
		return NULL;
	if (rc < 0)
		return dml_error_wrap(giterr("cannot read git config"), "%s", key);
	*value = strdup(b.ptr);
	git_buf_dispose(&b);
	return *value ? NULL : dml_error_nomem();
}

const struct dml_error *
dml_repo_config_get(struct dml_repo *r, const char *key, char **value)
{
	git_config *cfg;
	const struct dml_error *err;

	*value = NULL;
	if (git_repository_config_snapshot(&cfg, r->git) < 0)
		return giterr("cannot read git config");
	err = config_get(cfg, key, value);
	git_config_free(cfg);
	return err;
}

const struct dml_error *
dml_config_get_default(const char *key, char **value)
{
	git_config *cfg, *snap;
	const struct dml_error *err;

	*value = NULL;
	if ((err = gitinit()))
		return err;
	if (git_config_open_default(&cfg) < 0)
		return NULL;	/* no config files at all */
	if (git_config_snapshot(&snap, cfg) < 0) {
		git_config_free(cfg);
		return giterr("cannot read git config");
	}
	err = config_get(snap, key, value);
	git_config_free(snap);
	git_config_free(cfg);
	return err;
}
