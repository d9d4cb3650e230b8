/*
 * git.c - the libgit2 wrapper (see dml/repo.h).  The only file that includes
 * <git2.h>.
 *
 * Writing is done by hand rather than through libgit2's tree builder and
 * commit functions, for speed on the append path, where profiling showed
 * most time in system calls: those functions look up the objects they name
 * again and, on every write, search the pack directory for the new object.
 * The ledger writes objects through an object database holding only the
 * loose-object backend (a new object needs one stat to know it is new), and
 * formats trees and commits itself: both formats are a few lines, and every
 * test checks the result with `git fsck --strict`.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "crypto.h"
#include "dml/pack.h"
#include "dml/repo.h"
#include "dml/version.h"

struct dml_repo {
	git_repository *git;
	git_odb *odb;
	git_odb *wodb;		/* loose objects only: for writing */
	char *objdir;		/* the object directory, with a final slash */
	/* During a batch: writes go to memory, then into one pack. */
	git_repository *batch_git;
	git_odb *batch_odb;
	git_odb_backend *mempack;
	git_oid *batch_ids;	/* what the batch holds (the mempack cannot list it) */
	size_t nbatch, batch_cap;
	/* During a quarantine: odb is the quarantine's, reading main_odb too. */
	git_odb *main_odb;
	char *qdir;		/* its object directory, with a final slash */
	int qborrowed;		/* another handle's (dml_repo_open_again): never ended here */
};

_Static_assert(sizeof(git_oid) >= DML_OID_RAWLEN, "oid size");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;

static void
init_once(void)
{
	init_rc = git_libgit2_init();
	/* Every object a ref or commit names is written just before (see above). */
	if (init_rc >= 0)
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	/* Objects, packs its indexer writes and refs: flushed, with their
	 * directories, before they are renamed into place. */
	if (init_rc >= 0 && dml_durable())
		git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
}

int
dml_durable(void)
{
	const char *e = getenv("DMLCTL_FSYNC");

	return e == NULL || strcmp(e, "0") != 0;
}

const struct dml_error *
dml_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return dml_error_errno(errno, "cannot open '%s'", dir);
	if (fsync(fd) != 0)
		e = errno;
	close(fd);
	/* Some file systems cannot flush a directory; their renames are
	 * as durable as they get. */
	if (e != 0 && e != EINVAL && e != ENOTSUP)
		return dml_error_errno(e, "cannot flush '%s' to disk", dir);
	return NULL;
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
	static char v[96];
	int major, minor, rev, f;

	(void)gitinit();
	git_libgit2_version(&major, &minor, &rev);
	f = git_libgit2_features();
	/* The transports it was built with: what `dmlctl pull` can reach. */
	snprintf(v, sizeof(v), "%d.%d.%d (transports: file git%s%s)", major, minor, rev,
	    f & GIT_FEATURE_HTTPS ? " https" : "", f & GIT_FEATURE_SSH ? " ssh" : "");
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
	/* Like git, never look above the directories in GIT_CEILING_DIRECTORIES. */
	rc = git_repository_discover(&path, start ? start : ".", 0,
	    getenv("GIT_CEILING_DIRECTORIES"));
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
	dml_repo_batch_end(r, 0);
	dml_repo_quarantine_end(r, 0);
	git_odb_free(r->wodb);
	free(r->objdir);
	git_odb_free(r->odb);
	git_repository_free(r->git);
	free(r);
}

const char *
dml_repo_gitdir(const struct dml_repo *r)
{
	return git_repository_path(r->git);
}

static const struct dml_error *
loose_odb(struct dml_repo *r, git_odb **slot, int level)
{
	git_buf dir = GIT_BUF_INIT;
	git_odb_backend *loose;

	if (*slot == NULL) {
		if (r->qdir == NULL &&
		    git_repository_item_path(&dir, r->git, GIT_REPOSITORY_ITEM_OBJECTS) < 0)
			return giterr("cannot find the object directory");
		if (git_odb_new(slot) < 0 ||
		    git_odb_backend_loose(&loose, r->qdir ? r->qdir : dir.ptr, level, 0, 0, 0) < 0) {
			git_buf_dispose(&dir);
			return giterr("cannot open the object directory");
		}
		git_buf_dispose(&dir);
		if (git_odb_add_backend(*slot, loose, 1) < 0)
			return giterr("cannot open the object directory");
	}
	return NULL;
}

static const struct dml_error *
write_odb(struct dml_repo *r, git_odb **out)
{
	const struct dml_error *err = loose_odb(r, &r->wodb, -1);

	*out = r->wodb;
	return err;
}

/* Write into the open batch, remembering the object for batch_pack. */
static const struct dml_error *
batch_write(struct dml_repo *r, git_oid *out, const void *p, size_t n, git_object_t type)
{
	if (r->nbatch == r->batch_cap) {
		size_t cap = r->batch_cap ? 2 * r->batch_cap : 1024;
		git_oid *v = realloc(r->batch_ids, cap * sizeof(*v));
		if (v == NULL)
			return dml_error_nomem();
		r->batch_ids = v;
		r->batch_cap = cap;
	}
	if (git_odb_write(out, r->batch_odb, p, n, type) < 0)
		return giterr("cannot write object");
	r->batch_ids[r->nbatch++] = *out;
	return NULL;
}

static const struct dml_error *
write_object(struct dml_repo *r, struct dml_oid *out, const void *p, size_t n, git_object_t type)
{
	git_odb *odb = NULL;
	git_oid g;
	const struct dml_error *err;

	if (r->batch_odb) {
		if ((err = batch_write(r, &g, p, n, type)))
			return err;
	} else if ((err = write_odb(r, &odb)))
		return err;
	else if (git_odb_write(&g, odb, p, n, type) < 0)
		return giterr("cannot write object");
	from_git(out, &g);
	return NULL;
}

const char *
dml_repo_workdir(const struct dml_repo *r)
{
	return git_repository_workdir(r->git);
}

static int
oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/*
 * The batch as a pack of our own (dml/pack.h): without deltas and without
 * compressing again (libgit2's pack builder searches deltas among all
 * objects, which cost more than everything else on the append and clone
 * paths; our objects are small statements and trees, and chunks zstd
 * compressed already), and with its index written here rather than by
 * libgit2's indexer, which would parse and hash the whole pack again.
 */
static const struct dml_error *
batch_pack(struct dml_repo *r)
{
	struct dml_packw *w = NULL;
	struct dml_buf e = DML_BUF_INIT;
	struct dml_pack_obj po;
	const char *dir = dml_repo_objects_dir(r);
	size_t i;
	const struct dml_error *err;

	if (dir == NULL)
		return dml_error_nomem();
	if ((err = dml_packw_new(&w, dir)))
		return err;
	/* Sorted, so an object written twice is packed once. */
	qsort(r->batch_ids, r->nbatch, sizeof(*r->batch_ids), oid_cmp);
	for (i = 0; i < r->nbatch && err == NULL; i++) {
		git_odb_object *o;
		if (i > 0 && git_oid_equal(&r->batch_ids[i], &r->batch_ids[i - 1]))
			continue;
		if (git_odb_read(&o, r->batch_odb, &r->batch_ids[i]) < 0) {
			err = giterr("cannot read a batched object");
			break;
		}
		e.len = 0;
		if ((err = dml_pack_entry(&e, &po, (int)git_odb_object_type(o),
		    git_odb_object_data(o), git_odb_object_size(o))) == NULL)
			err = dml_packw_add(w, &po, e.data, e.len);
		git_odb_object_free(o);
	}
	if (err == NULL)
		err = dml_packw_finish(w);
	dml_packw_free(w);
	dml_buf_release(&e);
	return err;
}

const struct dml_error *
dml_repo_batch_begin(struct dml_repo *r)
{
	if (r->batch_git)
		return dml_error_fmt(DML_ERR_INTERNAL, "a batch is already open");
	if (git_repository_new(&r->batch_git) < 0 || git_odb_new(&r->batch_odb) < 0 ||
	    git_mempack_new(&r->mempack) < 0) {
		dml_repo_batch_end(r, 0);
		return giterr("cannot start a batch");
	}
	if (git_odb_add_backend(r->batch_odb, r->mempack, 999) < 0) {
		r->mempack->free(r->mempack);
		r->mempack = NULL;
		dml_repo_batch_end(r, 0);
		return giterr("cannot start a batch");
	}
	git_repository_set_odb(r->batch_git, r->batch_odb);
	return NULL;
}

const struct dml_error *
dml_repo_batch_end(struct dml_repo *r, int keep)
{
	const struct dml_error *err = NULL;

	if (r->batch_git == NULL)
		return NULL;
	if (keep && r->mempack && r->nbatch > 0 && (err = batch_pack(r)) == NULL)
		git_odb_refresh(r->odb);
	/* The odb owns the mempack backend once added. */
	git_odb_free(r->batch_odb);
	git_repository_free(r->batch_git);
	free(r->batch_ids);
	r->batch_ids = NULL;
	r->nbatch = r->batch_cap = 0;
	r->batch_odb = NULL;
	r->batch_git = NULL;
	r->mempack = NULL;
	return err;
}

const struct dml_error *
dml_repo_blob_write(struct dml_repo *r, struct dml_oid *out, const void *p, size_t n)
{
	return write_object(r, out, p, n, GIT_OBJECT_BLOB);
}

const char *
dml_repo_objects_dir(struct dml_repo *r)
{
	git_buf dir = GIT_BUF_INIT;

	if (r->qdir)
		return r->qdir;
	if (r->objdir == NULL && git_repository_item_path(&dir, r->git,
	    GIT_REPOSITORY_ITEM_OBJECTS) == 0) {
		r->objdir = strdup(dir.ptr);
		git_buf_dispose(&dir);
	}
	return r->objdir;
}

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
dml_remove_tree(const char *dir)
{
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The quarantine's objects first, then the store's, which it never writes. */
static const struct dml_error *
quarantine_odb(const char *qdir, const char *objects, git_odb **out)
{
	git_odb_backend *loose, *pack;

	*out = NULL;
	if (git_odb_new(out) < 0 || git_odb_backend_loose(&loose, qdir, -1, 0, 0, 0) < 0 ||
	    git_odb_add_backend(*out, loose, 1) < 0 || git_odb_backend_pack(&pack, qdir) < 0 ||
	    git_odb_add_backend(*out, pack, 2) < 0 || git_odb_add_disk_alternate(*out, objects) < 0) {
		git_odb_free(*out);
		*out = NULL;
		return giterr("cannot set up the quarantine");
	}
	return NULL;
}

const struct dml_error *
dml_repo_open_again(struct dml_repo **out, const struct dml_repo *r)
{
	git_odb *q;
	const struct dml_error *err;

	if ((err = dml_repo_open_path(out, git_repository_path(r->git))) || r->qdir == NULL)
		return err;
	if ((err = quarantine_odb(r->qdir, r->objdir, &q))) {
		dml_repo_free(*out);
		*out = NULL;
		return err;
	}
	git_odb_free((*out)->odb);
	(*out)->odb = q;
	git_repository_set_odb((*out)->git, q);
	/* So that handles it opens again see the quarantine too. */
	(*out)->qborrowed = 1;
	if (((*out)->qdir = strdup(r->qdir)) == NULL || ((*out)->objdir = strdup(r->objdir)) == NULL) {
		dml_repo_free(*out);
		*out = NULL;
		return dml_error_nomem();
	}
	return NULL;
}

/*
 * Remove what killed processes left in dir under names starting with
 * prefix (directories with all they hold, files): those untouched for
 * DML_QUARANTINE_EXPIRE seconds, the age at which git gc prunes its own
 * temporary objects.  Nothing refers to what they hold, and a transfer
 * still running that long is not expected.  Best effort.
 */
static void
sweep_stale(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[4096];
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
		    lstat(path, &st) != 0 || now - st.st_mtime <= DML_QUARANTINE_EXPIRE)
			continue;
		if (S_ISDIR(st.st_mode))
			dml_remove_tree(path);
		else if (S_ISREG(st.st_mode))
			unlink(path);
	}
	closedir(d);
}

const struct dml_error *
dml_repo_quarantine_begin(struct dml_repo *r)
{
	struct dml_buf dir = DML_BUF_INIT;
	const char *objects = dml_repo_objects_dir(r);
	git_odb *q = NULL;
	const struct dml_error *err = NULL;

	if (r->qdir || r->batch_git)
		return dml_error_fmt(DML_ERR_INTERNAL, "a quarantine cannot start inside another "
		    "or inside a batch");
	if (objects == NULL)
		return dml_error_nomem();
	/* quarantines that killed processes left */
	sweep_stale(git_repository_path(r->git), "dmlctl-incoming-");
	/* Beside the store, not in it: git fsck never sees a half-checked object. */
	if ((err = dml_buf_addf(&dir, "%sdmlctl-incoming-XXXXXX", git_repository_path(r->git))))
		return err;
	if (mkdtemp((char *)dir.data) == NULL) {
		err = dml_error_fmt(DML_ERR_IO, "cannot create %s: %s", (char *)dir.data,
		    strerror(errno));
		dml_buf_release(&dir);
		return err;
	}
	if ((err = dml_buf_addf(&dir, "/pack")) == NULL && mkdir((char *)dir.data, 0777) < 0)
		err = dml_error_fmt(DML_ERR_IO, "cannot create %s: %s", (char *)dir.data,
		    strerror(errno));
	if (err == NULL) {
		dir.len -= 4;		/* back to ".../dmlctl-incoming-XXXXXX/" */
		dir.data[dir.len] = '\0';
		if ((r->qdir = strdup((char *)dir.data)) == NULL)
			err = dml_error_nomem();
	}
	if (err == NULL)
		err = quarantine_odb(r->qdir, objects, &q);
	dml_buf_release(&dir);
	if (err) {
		if (r->qdir)
			dml_remove_tree(r->qdir);
		free(r->qdir);
		r->qdir = NULL;
		return err;
	}
	/* Every reader and writer of this handle now goes through q. */
	git_odb_free(r->wodb);
	r->wodb = NULL;
	r->main_odb = r->odb;
	r->odb = q;
	git_repository_set_odb(r->git, q);
	return NULL;
}

/* Move what is in the quarantine directory DIR (one level) into TO. */
static const struct dml_error *
migrate_dir(const char *dir, const char *to, int idx_last)
{
	DIR *d;
	struct dirent *e;
	struct dml_buf a = DML_BUF_INIT, b = DML_BUF_INIT;
	const struct dml_error *err = NULL;
	int pass;

	if (mkdir(to, 0777) < 0 && errno != EEXIST)
		return dml_error_fmt(DML_ERR_IO, "cannot create %s: %s", to, strerror(errno));
	/* Packs: every other file before the .idx that makes a pack visible. */
	for (pass = 0; pass < (idx_last ? 2 : 1) && err == NULL; pass++) {
		if ((d = opendir(dir)) == NULL) {
			if (errno != ENOENT)
				err = dml_error_fmt(DML_ERR_IO, "cannot read %s: %s", dir,
				    strerror(errno));
			break;
		}
		while (err == NULL && (e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name);
			int is_idx = n > 4 && strcmp(e->d_name + n - 4, ".idx") == 0;
			if (e->d_name[0] == '.' || (idx_last && is_idx != pass))
				continue;
			a.len = b.len = 0;
			if ((err = dml_buf_addf(&a, "%s/%s", dir, e->d_name)) ||
			    (err = dml_buf_addf(&b, "%s/%s", to, e->d_name)))
				break;
			if (rename((char *)a.data, (char *)b.data) < 0)
				err = dml_error_fmt(DML_ERR_IO, "cannot move %s into the object "
				    "store: %s", (char *)a.data, strerror(errno));
		}
		closedir(d);
	}
	/* objects/, which names to when to is new, is flushed before a ref
	 * moves (flush_objects_dir). */
	if (err == NULL && dml_durable())
		err = dml_fsync_dir(to);
	dml_buf_release(&a);
	dml_buf_release(&b);
	return err;
}

/* Move the quarantine's loose objects and packs into the object store. */
static const struct dml_error *
migrate(const char *qdir, const char *objects)
{
	DIR *d;
	struct dirent *e;
	char from[4096], to[4096];
	const struct dml_error *err = NULL;

	if ((d = opendir(qdir)) == NULL)
		return dml_error_fmt(DML_ERR_IO, "cannot read %s: %s", qdir, strerror(errno));
	/* xx/ directories of loose objects, and pack/ */
	while (err == NULL && (e = readdir(d)) != NULL) {
		int pack = strcmp(e->d_name, "pack") == 0;
		if (!pack && (strlen(e->d_name) != 2 || !isxdigit((unsigned char)e->d_name[0]) ||
		    !isxdigit((unsigned char)e->d_name[1])))
			continue;
		snprintf(from, sizeof(from), "%s%s", qdir, e->d_name);
		snprintf(to, sizeof(to), "%s%s", objects, e->d_name);
		err = migrate_dir(from, to, pack);
	}
	closedir(d);
	return err;
}

const struct dml_error *
dml_repo_quarantine_end(struct dml_repo *r, int keep)
{
	const struct dml_error *err = NULL;

	char *q = r->qdir;

	if (q == NULL)
		return NULL;
	r->qdir = NULL;
	if (r->qborrowed) {
		free(q);
		return NULL;
	}
	git_odb_free(r->wodb);
	r->wodb = NULL;
	git_repository_set_odb(r->git, r->main_odb);
	git_odb_free(r->odb);
	r->odb = r->main_odb;
	r->main_odb = NULL;
	if (keep && (err = migrate(q, dml_repo_objects_dir(r))) == NULL)
		git_odb_refresh(r->odb);
	dml_remove_tree(q);
	free(q);
	return err;
}

const struct dml_error *
dml_repo_packs_open(struct dml_repo *r, struct dml_packs **out)
{
	const char *dirs[2];
	size_t n = 0;

	/* A quarantine's packs, then the store's. */
	if ((dirs[n] = dml_repo_objects_dir(r)) == NULL)
		return dml_error_nomem();
	n++;
	if (r->qdir != NULL && r->objdir != NULL)
		dirs[n++] = r->objdir;
	return dml_packs_open(out, dirs, n);
}

void
dml_repo_objects_refresh(struct dml_repo *r)
{
	git_odb_refresh(r->odb);
}

int
dml_repo_has(struct dml_repo *r, const struct dml_oid *id)
{
	git_oid g;

	to_git(&g, id);
	return git_odb_exists(r->odb, &g);
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

/* git's tree order: names compare as if a tree's name ended in '/'. */
static int
tree_item_cmp(const void *pa, const void *pb)
{
	const struct dml_tree_item *a = pa, *b = pb;
	size_t la = strlen(a->name), lb = strlen(b->name), n = la < lb ? la : lb;
	int c = memcmp(a->name, b->name, n);
	unsigned char ca, cb;

	if (c != 0)
		return c;
	ca = la > n ? (unsigned char)a->name[n] : (a->is_tree ? '/' : 0);
	cb = lb > n ? (unsigned char)b->name[n] : (b->is_tree ? '/' : 0);
	return (int)ca - (int)cb;
}

const struct dml_error *
dml_repo_tree_write(struct dml_repo *r, struct dml_oid *out, const struct dml_tree_item *items,
    size_t n)
{
	struct dml_tree_item *sorted;
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err = NULL;
	size_t i;

	if ((sorted = malloc((n ? n : 1) * sizeof(*sorted))) == NULL)
		return dml_error_nomem();
	memcpy(sorted, items, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), tree_item_cmp);
	for (i = 0; i < n && err == NULL; i++) {
		const char *name = sorted[i].name;
		if (*name == '\0' || strchr(name, '/') || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0 || strcmp(name, ".git") == 0 ||
		    (i > 0 && strcmp(name, sorted[i - 1].name) == 0)) {
			err = dml_error_fmt(DML_ERR_USAGE, "invalid tree entry name '%s'", name);
			break;
		}
		if ((err = dml_buf_addf(&b, "%s %s", sorted[i].is_tree ? "40000" : "100644", name)) ||
		    (err = dml_buf_add(&b, "", 1)) ||
		    (err = dml_buf_add(&b, sorted[i].oid.id, DML_OID_RAWLEN)))
			break;
	}
	if (err == NULL)
		err = write_object(r, out, b.data, b.len, GIT_OBJECT_TREE);
	free(sorted);
	dml_buf_release(&b);
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
	/*
	 * git never writes a tree out of order or with a name twice, and fsck
	 * rejects one; libgit2 parses it anyway.  Refuse it, so that no two
	 * readers can pick different items of the same name.
	 */
	for (i = 1; i < cnt; i++)
		if (tree_item_cmp(&it[i - 1], &it[i]) >= 0) {
			const struct dml_error *err = dml_error_fmt(DML_ERR_VERIFY,
			    "tree %s has a duplicate or misordered entry '%.80s'", hex, it[i].name);
			dml_tree_items_free(it, cnt);
			return err;
		}
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
	const char *end = strstr(content, "\n\n"), *p;
	struct dml_buf b = DML_BUF_INIT;
	const struct dml_error *err;

	/* The gpgsig header goes last among the headers, continued lines indented. */
	if (end == NULL)
		return dml_error_fmt(DML_ERR_USAGE, "commit text has no message");
	if ((err = dml_buf_add(&b, content, (size_t)(end - content) + 1)) ||
	    (err = dml_buf_adds(&b, "gpgsig ")))
		goto done;
	for (p = signature; *p && err == NULL; p++) {
		err = dml_buf_add(&b, p, 1);
		if (*p == '\n' && p[1] != '\0' && err == NULL)
			err = dml_buf_add(&b, " ", 1);
	}
	if (err == NULL && (b.len == 0 || b.data[b.len - 1] != '\n'))
		err = dml_buf_add(&b, "\n", 1);
	if (err == NULL)
		err = dml_buf_adds(&b, end + 1);
	if (err == NULL)
		err = write_object(r, out, b.data, b.len, GIT_OBJECT_COMMIT);
done:
	dml_buf_release(&b);
	return err;
}

void
dml_commit_info_release(struct dml_commit_info *ci)
{
	dml_buf_release(&ci->signed_data);
	dml_buf_release(&ci->signature);
	free(ci->message);
	ci->message = NULL;
}

/* The "name <email>" of an author or committer line, without the date. */
static void
ident(char *out, size_t n, const char *p, size_t len)
{
	const char *gt = memchr(p, '>', len);
	size_t k = gt ? (size_t)(gt - p) + 1 : 0;

	if (k >= n)
		k = 0;
	memcpy(out, p, k);
	out[k] = '\0';
}

/*
 * Split a raw commit.  Headers are "name value" lines up to the first empty
 * line; a line starting with a space continues the previous header.  The
 * signed data is the commit without its gpgsig header, as git verifies it.
 */
static const struct dml_error *
parse_commit(const char *hex, const char *raw, size_t n, struct dml_commit_info *ci, int full)
{
	const char *p = raw, *end = raw + n, *nl;
	int in_sig = 0, seen_tree = 0, seen_sig = 0;
	const struct dml_error *err = NULL;

	while (p < end) {
		size_t len;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return dml_error_fmt(DML_ERR_VERIFY, "commit %s is truncated", hex);
		len = (size_t)(nl - p);
		if (len == 0) {		/* end of headers */
			if (full && ((err = dml_buf_add(&ci->signed_data, p, (size_t)(end - p))) ||
			    (ci->message = strndup(nl + 1, (size_t)(end - nl - 1))) == NULL))
				return err ? err : dml_error_nomem();
			break;
		}
		if (*p == ' ' && in_sig) {
			if (full && (err = dml_buf_add(&ci->signature, p + 1, len - 1)) == NULL)
				err = dml_buf_add(&ci->signature, "\n", 1);
		} else {
			in_sig = 0;
			if (len == 45 && strncmp(p, "tree ", 5) == 0 && !seen_tree) {
				git_oid g;
				if (git_oid_fromstrn(&g, p + 5, 40) < 0)
					return dml_error_fmt(DML_ERR_VERIFY, "commit %s: bad tree line", hex);
				from_git(&ci->tree, &g);
				seen_tree = 1;
			} else if (len == 47 && strncmp(p, "parent ", 7) == 0) {
				git_oid g;
				if (git_oid_fromstrn(&g, p + 7, 40) < 0)
					return dml_error_fmt(DML_ERR_VERIFY, "commit %s: bad parent line",
					    hex);
				if (ci->nparents < 2)
					from_git(&ci->parents[ci->nparents], &g);
				ci->nparents++;
			} else if (len >= 7 && strncmp(p, "author ", 7) == 0 && !ci->author[0]) {
				ident(ci->author, sizeof(ci->author), p + 7, len - 7);
			} else if (len >= 10 && strncmp(p, "committer ", 10) == 0 &&
			    !ci->committer[0]) {
				ident(ci->committer, sizeof(ci->committer), p + 10, len - 10);
			} else if (len >= 7 && strncmp(p, "gpgsig ", 7) == 0) {
				if (seen_sig++)
					return dml_error_fmt(DML_ERR_VERIFY, "commit %s has two gpgsig headers",
					    hex);
				in_sig = 1;
				if (full && (err = dml_buf_add(&ci->signature, p + 7, len - 7)) == NULL)
					err = dml_buf_add(&ci->signature, "\n", 1);
			}
			if (!in_sig && full)
				err = dml_buf_add(&ci->signed_data, p, len + 1);
		}
		if (err)
			return err;
		p = nl + 1;
	}
	if (!seen_tree)
		return dml_error_fmt(DML_ERR_VERIFY, "commit %s has no tree", hex);
	return NULL;
}

static const struct dml_error *
commit_parse(struct dml_repo *r, const struct dml_oid *id, struct dml_commit_info *ci, int full)
{
	git_odb_object *obj;
	char hex[DML_OID_HEXLEN + 1];
	const struct dml_error *err;

	memset(ci, 0, sizeof(*ci));
	if ((err = odb_read(r, id, GIT_OBJECT_COMMIT, &obj)))
		return err;
	dml_oid_hex(hex, id);
	err = parse_commit(hex, git_odb_object_data(obj), git_odb_object_size(obj), ci, full);
	git_odb_object_free(obj);
	if (err)
		dml_commit_info_release(ci);
	return err;
}

const struct dml_error *
dml_repo_commit_links(struct dml_repo *r, const struct dml_oid *id, struct dml_oid *tree,
    struct dml_oid parents[2], unsigned *nparents)
{
	struct dml_commit_info ci;
	const struct dml_error *err;

	if ((err = commit_parse(r, id, &ci, 0)))
		return err;
	*tree = ci.tree;
	parents[0] = ci.parents[0];
	parents[1] = ci.parents[1];
	*nparents = ci.nparents;
	dml_commit_info_release(&ci);
	return NULL;
}

const struct dml_error *
dml_repo_commit_read(struct dml_repo *r, const struct dml_oid *id, struct dml_commit_info *ci)
{
	return commit_parse(r, id, ci, 1);
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

/*
 * Before a ref moves: objects/, which names the objects/xx/ directories
 * that libgit2 or a quarantine's move made (libgit2 flushes a loose object
 * and its xx/, not objects/; dml_durable).
 */
static const struct dml_error *
flush_objects_dir(struct dml_repo *r)
{
	const char *objects;

	if (!dml_durable() || (objects = dml_repo_objects_dir(r)) == NULL)
		return NULL;
	return dml_fsync_dir(objects);
}

const struct dml_error *
dml_repo_ref_cas(struct dml_repo *r, const char *name, const struct dml_oid *new,
    const struct dml_oid *old, const char *logmsg)
{
	git_reference *ref = NULL;
	git_oid gn, go;
	const struct dml_error *err;
	int rc;

	if ((err = flush_objects_dir(r)))
		return err;
	to_git(&gn, new);
	if (old) {
		to_git(&go, old);
		rc = git_reference_create_matching(&ref, r->git, name, &gn, 1, &go, logmsg);
	} else
		rc = git_reference_create(&ref, r->git, name, &gn, 0, logmsg);
	git_reference_free(ref);
	if (rc == GIT_ELOCKED)
		return dml_error_fmt(DML_ERR_LOCKED,
		    "ref '%s' is locked: if no other dmlctl or git process is running, remove '%s%s.lock'",
		    name, git_repository_path(r->git), name);
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS)
		return dml_error_fmt(DML_ERR_MOVED, "ref '%s' was moved by another writer", name);
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

/* Remotes and transfers. */

#define TRACKING_REF "refs/dml/remotes/%s/ledger"

const struct dml_error *
dml_repo_remote_add(struct dml_repo *r, const char *name, const char *url)
{
	git_remote *rm = NULL;
	char spec[300];
	int rc, valid = 0;

	if (git_remote_name_is_valid(&valid, name) < 0 || !valid || strlen(name) > 200)
		return dml_error_fmt(DML_ERR_USAGE, "'%s' is not a valid remote name", name);
	/* What `git fetch <name>` would do; dmlctl names the refs it moves itself. */
	snprintf(spec, sizeof(spec), "+refs/dml/ledger:" TRACKING_REF, name);
	rc = git_remote_create_with_fetchspec(&rm, r->git, name, url, spec);
	git_remote_free(rm);
	if (rc == GIT_EEXISTS)
		return dml_error_fmt(DML_ERR_EXISTS, "remote '%s' already exists", name);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot add remote"), "%s", name);
	return NULL;
}

const struct dml_error *
dml_repo_remote_remove(struct dml_repo *r, const char *name)
{
	int rc = git_remote_delete(r->git, name);
	char track[300];

	if (rc == GIT_ENOTFOUND)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no remote '%s'", name);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot remove remote"), "%s", name);
	/* Forget what was fetched from it, so that it is new if added again. */
	snprintf(track, sizeof(track), TRACKING_REF, name);
	return dml_repo_ref_delete(r, track);
}

int
dml_repo_remote_tracking(struct dml_repo *r, const char *name, char *out, size_t n)
{
	char key[300], *url = NULL;

	if ((size_t)snprintf(key, sizeof(key), "remote.%s.url", name) >= sizeof(key) ||
	    dml_repo_config_get(r, key, &url) != NULL || url == NULL)
		return 0;
	free(url);
	return (size_t)snprintf(out, n, TRACKING_REF, name) < n;
}

const struct dml_error *
dml_repo_remote_list(struct dml_repo *r, struct dml_remote_info **out, size_t *n)
{
	git_strarray names = { 0 };
	struct dml_remote_info *v = NULL;
	const struct dml_error *err = NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if (git_remote_list(&names, r->git) < 0)
		return giterr("cannot list remotes");
	if (names.count && (v = calloc(names.count, sizeof(*v))) == NULL)
		err = dml_error_nomem();
	for (i = 0; err == NULL && i < names.count; i++) {
		git_remote *rm;
		if (git_remote_lookup(&rm, r->git, names.strings[i]) < 0) {
			err = dml_error_wrap(giterr("cannot read remote"), "%s", names.strings[i]);
			break;
		}
		v[i].name = strdup(names.strings[i]);
		v[i].url = strdup(git_remote_url(rm) ? git_remote_url(rm) : "");
		git_remote_free(rm);
		*n = i + 1;
		if (v[i].name == NULL || v[i].url == NULL)
			err = dml_error_nomem();
	}
	git_strarray_dispose(&names);
	*out = v;
	if (err) {
		dml_remote_info_free(v, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}

void
dml_remote_info_free(struct dml_remote_info *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].url);
	}
	free(v);
}

/* A configured remote by name, or an anonymous one for a URL or path. */
static const struct dml_error *
remote_open(struct dml_repo *r, const char *spec, git_remote **out)
{
	int rc = git_remote_lookup(out, r->git, spec);
	struct stat st;

	if (rc == 0)
		return NULL;
	if (rc != GIT_ENOTFOUND && rc != GIT_EINVALIDSPEC)
		return dml_error_wrap(giterr("cannot read remote"), "%s", spec);
	/* As git: a word that is no remote's name may be a directory. */
	if (strchr(spec, '/') == NULL && strchr(spec, ':') == NULL &&
	    (stat(spec, &st) < 0 || !S_ISDIR(st.st_mode)))
		return dml_error_fmt(DML_ERR_NOTFOUND,
		    "no remote '%s' (see 'dmlctl remote list'; a URL or path works too)", spec);
	if (git_remote_create_anonymous(out, r->git, spec) < 0)
		return dml_error_wrap(giterr("cannot use remote"), "%s", spec);
	return NULL;
}

struct xfer {
	const struct dml_transfer_opts *o;
	int cred_tries;
	char *rejected;		/* push: the remote's reason for refusing the ref */
};

static int
xfer_credentials(git_credential **out, const char *url, const char *user, unsigned int allowed,
    void *payload)
{
	struct xfer *x = payload;

	(void)url;
	/* A URL without a user name: ssh's default, the local user's name.
	 * Not a try: the key comes next. */
	if (allowed == GIT_CREDENTIAL_USERNAME) {
		const struct passwd *pw = getpwuid(getuid());
		const char *name = getenv("USER");

		if (pw != NULL && pw->pw_name != NULL)
			name = pw->pw_name;
		return git_credential_username_new(out, name && *name ? name : "git");
	}
	/* One try: libgit2 asks again after a refusal. */
	if (x->cred_tries++ > 0) {
		if (!(allowed & GIT_CREDENTIAL_SSH_KEY))
			return GIT_PASSTHROUGH;
		git_error_set_str(GIT_ERROR_SSH,
		    "the server accepts none of the keys the ssh agent holds (see ssh-add -l)");
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		if (getenv("SSH_AUTH_SOCK") == NULL) {
			git_error_set_str(GIT_ERROR_SSH, "ssh keys come from the ssh agent, "
			    "and there is none (SSH_AUTH_SOCK is not set)");
			return GIT_EAUTH;
		}
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	}
	if (allowed & GIT_CREDENTIAL_DEFAULT)
		return git_credential_default_new(out);
	return GIT_PASSTHROUGH;
}

static int
xfer_fetch_progress(const git_indexer_progress *p, void *payload)
{
	struct xfer *x = payload;

	if (x->o && x->o->progress)
		x->o->progress(x->o->arg, "receiving objects", p->received_objects, p->total_objects);
	return 0;
}

static int
xfer_push_progress(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
	struct xfer *x = payload;

	if (x->o && x->o->progress)
		x->o->progress(x->o->arg, "sending objects", current, total);
	/*
	 * For tests of an interrupted push: die as a killed process would,
	 * once sending has begun (over the network the first call comes with
	 * the pack's header sent and no object counted yet).
	 */
	if (x->o && x->o->die_midway && (current > 0 || bytes > 0))
		abort();
	return 0;
}

static int
xfer_push_ref(const char *refname, const char *status, void *payload)
{
	struct xfer *x = payload;

	(void)refname;
	if (status != NULL && x->rejected == NULL)
		x->rejected = strdup(status);
	return 0;
}

static void
xfer_callbacks(git_remote_callbacks *cb, struct xfer *x)
{
	cb->credentials = xfer_credentials;
	cb->transfer_progress = xfer_fetch_progress;
	cb->push_transfer_progress = xfer_push_progress;
	cb->push_update_reference = xfer_push_ref;
	cb->payload = x;
}

/*
 * Fetching from a repository on this machine copies the objects itself:
 * libgit2's local transport feeds its indexer one object at a time, and the
 * indexer maps the whole growing pack on every call, which made a clone of
 * 100,000 entries fifty times slower than git's.  Objects are read (libgit2
 * checks each against its name), written children first into packs of
 * LOCAL_PACK_BYTES, so an object we have always has everything it reaches,
 * the rule a fetch's negotiation relies on, even when a copy is cut short.
 */
#define LOCAL_PACK_BYTES (64u << 20)

struct lcopy {
	struct dml_repo *r;
	git_repository *src;
	git_odb *srcodb;
	size_t bytes;
	uint64_t objects;
	const struct dml_transfer_opts *o;
};

static int
lc_have(struct lcopy *c, const git_oid *id)
{
	/* No refresh on a miss: nobody else adds packs we could need meanwhile. */
	return git_odb_exists_ext(c->r->batch_odb, id, GIT_ODB_LOOKUP_NO_REFRESH) ||
	    git_odb_exists_ext(c->r->odb, id, GIT_ODB_LOOKUP_NO_REFRESH);
}

/*
 * The remote's object is missing, damaged or not what a ledger holds: the
 * remote is refused (exit 1), as when a server leaves an object out.  Only
 * a system error reading it is an I/O error.  from_git: libgit2 said why.
 */
static const struct dml_error *
lc_object_error(const char *what, const git_oid *id, int from_git)
{
	const git_error *e = from_git ? git_error_last() : NULL;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	return dml_error_fmt(e && e->klass == GIT_ERROR_OS ? DML_ERR_IO : DML_ERR_VERIFY,
	    "object %s: %s%s%s", hex, what, e && e->message ? ": " : "",
	    e && e->message ? e->message : "");
}

static const struct dml_error *
lc_copy(struct lcopy *c, const git_oid *id, git_object_t want, unsigned depth)
{
	git_odb_object *o = NULL;
	git_tree *t = NULL;
	git_oid got;
	const struct dml_error *err = NULL;
	size_t i, n;

	if (lc_have(c, id))
		return NULL;
	if (depth > 64)
		return lc_object_error("trees nest too deep", id, 0);
	if (git_odb_read(&o, c->srcodb, id) < 0)
		return lc_object_error("the remote cannot give", id, 1);
	if (git_odb_object_type(o) != want) {
		err = lc_object_error("the remote's object has the wrong type", id, 0);
		goto done;
	}
	if (want == GIT_OBJECT_TREE) {
		if (git_tree_lookup(&t, c->src, id) < 0) {
			err = lc_object_error("the remote's tree is unreadable", id, 1);
			goto done;
		}
		n = git_tree_entrycount(t);
		for (i = 0; i < n && err == NULL; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			git_object_t ty = git_tree_entry_type(e);
			if (ty != GIT_OBJECT_TREE && ty != GIT_OBJECT_BLOB)
				err = lc_object_error("a ledger tree names a commit", id, 0);
			else
				err = lc_copy(c, git_tree_entry_id(e), ty, depth + 1);
		}
		if (err)
			goto done;
	}
	if ((err = batch_write(c->r, &got, git_odb_object_data(o), git_odb_object_size(o), want)))
		goto done;
	if (!git_oid_equal(&got, id)) {
		err = lc_object_error("the remote's object does not match its name", id, 0);
		goto done;
	}
	c->bytes += git_odb_object_size(o);
	if (++c->objects % 1024 == 0 && c->o && c->o->progress)
		c->o->progress(c->o->arg, "copying objects", c->objects, 0);
	if (c->bytes >= LOCAL_PACK_BYTES) {
		c->bytes = 0;
		if ((err = dml_repo_batch_end(c->r, 1)) == NULL)
			err = dml_repo_batch_begin(c->r);
	}
done:
	git_tree_free(t);
	git_odb_object_free(o);
	return err;
}

/* The path of a URL on this machine, or NULL: a path, or file://. */
static const char *
local_path(const char *url)
{
	const char *colon = strchr(url, ':'), *slash = strchr(url, '/');

	if (strncmp(url, "file://", 7) == 0)
		return url + 7;
	if (strstr(url, "://") != NULL)
		return NULL;
	if (colon != NULL && (slash == NULL || colon < slash))
		return NULL;	/* scp-like host:path */
	return url;
}

static const struct dml_error *
local_fetch(struct dml_repo *r, const char *path, const char *ref,
    const struct dml_transfer_opts *o, struct dml_oid *got, int *found)
{
	struct lcopy c;
	git_oid head, cur, *chain = NULL;
	size_t n = 0, cap = 0, i;
	const struct dml_error *err = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.o = o;
	if (git_repository_open_ext(&c.src, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0)
		return dml_error_wrap(giterr("cannot open the remote repository"), "%s", path);
	rc = git_reference_name_to_id(&head, c.src, ref);
	if (rc == GIT_ENOTFOUND)
		goto done;
	if (rc < 0 || git_repository_odb(&c.srcodb, c.src) < 0) {
		err = dml_error_wrap(giterr("cannot read the remote repository"), "%s", path);
		goto done;
	}
	from_git(got, &head);
	*found = 1;
	if ((err = dml_repo_batch_begin(r)))
		goto done;
	/* The commits we lack, newest first; then copied oldest first. */
	for (cur = head; !lc_have(&c, &cur);) {
		git_commit *cm;
		unsigned np;
		if (n == cap) {
			git_oid *nc;
			cap = cap ? 2 * cap : 1024;
			if ((nc = realloc(chain, cap * sizeof(*nc))) == NULL) {
				err = dml_error_nomem();
				goto abort;
			}
			chain = nc;
		}
		chain[n++] = cur;
		if (git_commit_lookup(&cm, c.src, &cur) < 0) {
			err = lc_object_error("the remote cannot give", &cur, 1);
			goto abort;
		}
		np = git_commit_parentcount(cm);
		if (np == 1)
			git_oid_cpy(&cur, git_commit_parent_id(cm, 0));
		git_commit_free(cm);
		if (np != 1)
			break;	/* the root; a merge is judged by verification */
	}
	for (i = n; i-- > 0 && err == NULL;) {
		git_commit *cm;
		if (git_commit_lookup(&cm, c.src, &chain[i]) < 0) {
			err = lc_object_error("the remote cannot give", &chain[i], 1);
			break;
		}
		err = lc_copy(&c, git_commit_tree_id(cm), GIT_OBJECT_TREE, 0);
		git_commit_free(cm);
		if (err == NULL)
			err = lc_copy(&c, &chain[i], GIT_OBJECT_COMMIT, 0);
	}
abort:
	if ((err = err ? (dml_repo_batch_end(r, 0), err) : dml_repo_batch_end(r, 1)) == NULL &&
	    o && o->progress)
		o->progress(o->arg, "copying objects", c.objects, c.objects);
done:
	free(chain);
	git_odb_free(c.srcodb);
	git_repository_free(c.src);
	return err;
}

const struct dml_error *
dml_repo_fetch_ref(struct dml_repo *r, const char *remote, const char *ref,
    const struct dml_transfer_opts *o, struct dml_oid *got, int *found)
{
	git_remote *rm = NULL;
	git_remote_callbacks cb;
	git_fetch_options fo;
	const git_remote_head **heads;
	size_t nheads, i;
	char *refspec[1] = { (char *)ref };
	git_strarray specs = { refspec, 1 };
	struct xfer x = { o, 0, NULL };
	const struct dml_error *err = NULL;
	const char *path;

	*found = 0;
	if ((err = gitinit()) || (err = remote_open(r, remote, &rm)))
		return err;
	if (git_remote_url(rm) && (path = local_path(git_remote_url(rm))) != NULL) {
		err = local_fetch(r, path, ref, o, got, found);
		git_remote_free(rm);
		return err;
	}
	git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	xfer_callbacks(&cb, &x);
	if (git_remote_connect(rm, GIT_DIRECTION_FETCH, &cb, NULL, NULL) < 0) {
		err = dml_error_wrap(giterr("cannot reach remote"), "%s", remote);
		goto done;
	}
	if (git_remote_ls(&heads, &nheads, rm) < 0) {
		err = dml_error_wrap(giterr("cannot list the remote's refs"), "%s", remote);
		goto done;
	}
	for (i = 0; i < nheads; i++)
		if (strcmp(heads[i]->name, ref) == 0)
			break;
	if (i == nheads)
		goto done;	/* the remote has no such ref */
	from_git(got, &heads[i]->oid);
	*found = 1;
	if (git_odb_exists(r->odb, &heads[i]->oid))
		goto done;	/* nothing to download: we have it all */
	/* Objects only: no ref, no FETCH_HEAD, no tags. */
	fo.callbacks = cb;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_download(rm, &specs, &fo) < 0)
		err = dml_error_wrap(giterr("cannot fetch"), "%s", remote);
done:
	if (rm) {
		git_remote_disconnect(rm);
		git_remote_free(rm);
	}
	/* Packs written by the download become visible to this handle. */
	if (err == NULL && *found)
		git_odb_refresh(r->odb);
	return err;
}

/*
 * Before pushing to a repository on this machine: sweep the temporary
 * files (pack_git2_*) that libgit2's indexer leaves in its objects/pack
 * when a push there is killed; git gc never removes them (it knows only
 * its own tmp_* names).
 */
static void
sweep_push_temps(const char *path)
{
	git_repository *hub = NULL;
	git_buf objects = GIT_BUF_INIT;
	char dir[4096];

	if (git_repository_open_ext(&hub, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0 &&
	    git_repository_item_path(&objects, hub, GIT_REPOSITORY_ITEM_OBJECTS) == 0 &&
	    (size_t)snprintf(dir, sizeof(dir), "%spack", objects.ptr) < sizeof(dir))
		sweep_stale(dir, "pack_git2_");
	git_buf_dispose(&objects);
	git_repository_free(hub);
	git_error_clear();	/* not the push's error */
}

const struct dml_error *
dml_repo_push_ref(struct dml_repo *r, const char *remote, const char *ref,
    const struct dml_transfer_opts *o)
{
	git_remote *rm = NULL;
	git_push_options po;
	char spec[512];
	char *refspec[1] = { spec };
	git_strarray specs = { refspec, 1 };
	struct xfer x = { o, 0, NULL };
	const struct dml_error *err = NULL;
	const char *path;

	if ((err = gitinit()) || (err = remote_open(r, remote, &rm)))
		return err;
	if (git_remote_url(rm) && (path = local_path(git_remote_url(rm))) != NULL)
		sweep_push_temps(path);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	snprintf(spec, sizeof(spec), "%s:%s", ref, ref);	/* never forced */
	xfer_callbacks(&po.callbacks, &x);
	if (git_remote_push(rm, &specs, &po) < 0) {
		const git_error *e = git_error_last();
		if (e && e->message && (strstr(e->message, "non-fast-forward") ||
		    strstr(e->message, "fast-forward")))
			err = dml_error_fmt(DML_ERR_MOVED, "the remote refused: %s", e->message);
		else
			err = dml_error_wrap(giterr("cannot push"), "%s", remote);
	} else if (x.rejected)
		err = dml_error_fmt(DML_ERR_MOVED, "the remote refused '%s': %s", ref, x.rejected);
	free(x.rejected);
	git_remote_free(rm);
	return err;
}

const struct dml_error *
dml_repo_ref_delete(struct dml_repo *r, const char *name)
{
	int rc = git_reference_remove(r->git, name);

	if (rc < 0 && rc != GIT_ENOTFOUND)
		return dml_error_wrap(giterr("cannot delete ref"), "%s", name);
	return NULL;
}

const struct dml_error *
dml_repo_ref_set(struct dml_repo *r, const char *name, const struct dml_oid *to, const char *logmsg)
{
	git_reference *ref = NULL;
	git_oid g;
	const struct dml_error *err;
	int rc;

	if ((err = flush_objects_dir(r)))
		return err;
	to_git(&g, to);
	rc = git_reference_create(&ref, r->git, name, &g, 1, logmsg);
	git_reference_free(ref);
	if (rc < 0)
		return dml_error_wrap(giterr("cannot update ref"), "%s", name);
	return NULL;
}
