/*
 * dml/repo.h - the store: a git repository, reached only through lib/git.c.
 *
 * lib/git.c is the one file that includes <git2.h>.  Object IDs here are
 * git's own (SHA-1) names, an implementation detail: every link security
 * rests on is a SHA-256 digest inside signed bytes (see dml/entry.h).
 *
 * A struct dml_repo must be used by one thread at a time; threads that read
 * in parallel each open their own with dml_repo_open_path().
 */
#ifndef DML_REPO_H
#define DML_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"

#define DML_LEDGER_REF "refs/dml/ledger"
#define DML_OID_RAWLEN 20
#define DML_OID_HEXLEN 40

struct dml_repo;

struct dml_oid {
	unsigned char id[DML_OID_RAWLEN];
};


/*
 * Find the repository as git does: from `start` (or the working directory
 * when NULL) upwards.  DML_ERR_NOTFOUND when there is none.
 */
const struct dml_error *dml_repo_discover(struct dml_repo **out, const char *start);
/* Open exactly this repository (a .git directory, a bare one, or a work tree). */
const struct dml_error *dml_repo_open_path(struct dml_repo **out, const char *path);
/*
 * Open the repository at `path`, creating it (non-bare unless `bare`) when
 * there is none; *created says which.  An existing repository's branches,
 * index and work tree are never touched.
 */
const struct dml_error *dml_repo_init(struct dml_repo **out, const char *path, int bare,
    int *created);
void dml_repo_free(struct dml_repo *r);
/* The git directory (with a trailing slash). */
const char *dml_repo_gitdir(const struct dml_repo *r);
/* The work tree (with a trailing slash), or NULL for a bare repository. */
const char *dml_repo_workdir(const struct dml_repo *r);

void dml_oid_hex(char out[DML_OID_HEXLEN + 1], const struct dml_oid *o);
int dml_oid_equal(const struct dml_oid *a, const struct dml_oid *b);

/*
 * Batches: between begin and end, objects are written to memory; end with
 * keep = 1 stores them all as one pack (one file instead of one per object),
 * keep = 0 drops them.  Objects written in a batch cannot be read back until
 * it ends.
 */
const struct dml_error *dml_repo_batch_begin(struct dml_repo *r);
const struct dml_error *dml_repo_batch_end(struct dml_repo *r, int keep);

const struct dml_error *dml_repo_blob_write(struct dml_repo *r, struct dml_oid *out,
    const void *p, size_t n);
/* The object directory (with a final slash), for writers in other threads. */
const char *dml_repo_objects_dir(struct dml_repo *r);
/* See objects written behind libgit2's back (a pack of dml/pack.h). */
void dml_repo_objects_refresh(struct dml_repo *r);
/* Its packs, for direct reads (dml/pack.h): a quarantine's too while one is open. */
struct dml_packs;
const struct dml_error *dml_repo_packs_open(struct dml_repo *r, struct dml_packs **out);
/* Is the object in the repository? */
int dml_repo_has(struct dml_repo *r, const struct dml_oid *id);
/* Read a blob; DML_ERR_NOTFOUND if missing, DML_ERR_VERIFY if not a blob. */
const struct dml_error *dml_repo_blob_read(struct dml_repo *r, const struct dml_oid *id,
    struct dml_buf *out);

struct dml_tree_item {
	char *name;
	struct dml_oid oid;
	int is_tree;	/* 0: regular file blob (100644) */
};

/* Write a tree; items need not be sorted. */
const struct dml_error *dml_repo_tree_write(struct dml_repo *r, struct dml_oid *out,
    const struct dml_tree_item *items, size_t n);
/* Read a tree's items (names malloc'd); free with dml_tree_items_free(). */
const struct dml_error *dml_repo_tree_read(struct dml_repo *r, const struct dml_oid *id,
    struct dml_tree_item **items, size_t *n);
void dml_tree_items_free(struct dml_tree_item *items, size_t n);

/* The raw content of a commit object (for signing) from its parts. */
const struct dml_error *dml_repo_commit_buffer(struct dml_repo *r, struct dml_buf *out,
    const struct dml_oid *tree, const struct dml_oid *parent, const char *name,
    const char *email, int64_t time, const char *message);
/* Write a commit from raw content plus a gpgsig header value. */
const struct dml_error *dml_repo_commit_write_signed(struct dml_repo *r, struct dml_oid *out,
    const char *content, const char *signature);

struct dml_commit_info {
	struct dml_oid tree;
	struct dml_oid parents[2];
	unsigned nparents;	/* the real count, even when above 2 */
	struct dml_buf signed_data;	/* the commit without its gpgsig header */
	struct dml_buf signature;	/* gpgsig value with a final newline; empty if none */
	char *message;
	/* "name <email>" of the first author and committer lines ("" if none or too long) */
	char author[128], committer[128];
};

const struct dml_error *dml_repo_commit_read(struct dml_repo *r, const struct dml_oid *id,
    struct dml_commit_info *ci);
/* Only the tree and parent links: cheaper, for walking a chain. */
const struct dml_error *dml_repo_commit_links(struct dml_repo *r, const struct dml_oid *id,
    struct dml_oid *tree, struct dml_oid parents[2], unsigned *nparents);
void dml_commit_info_release(struct dml_commit_info *ci);

/* Read a ref: *exists = 0 when it does not exist. */
const struct dml_error *dml_repo_ref_read(struct dml_repo *r, const char *name,
    struct dml_oid *out, int *exists);
/*
 * Compare-and-swap a ref: set `name` to `new` only if it is now `old` (or
 * absent when old is NULL).  DML_ERR_LOCKED when another writer holds the
 * lock, DML_ERR_MOVED when one moved the ref first: the caller re-reads and
 * retries.
 */
const struct dml_error *dml_repo_ref_cas(struct dml_repo *r, const char *name,
    const struct dml_oid *new, const struct dml_oid *old, const char *logmsg);

/* Set a ref whatever it holds (for refs only dmlctl moves: remote-tracking, backups). */
const struct dml_error *dml_repo_ref_set(struct dml_repo *r, const char *name,
    const struct dml_oid *to, const char *logmsg);
/* Delete a ref; no error when it does not exist. */
const struct dml_error *dml_repo_ref_delete(struct dml_repo *r, const char *name);

/*
 * Remotes are git's own (remote.<name>.url in the repository's config), so
 * `git remote -v` shows them too.  Where a remote is named below, a URL or
 * a path works as well: local paths, file://, git://, ssh:// (keys from the
 * ssh agent) and https://, as far as libgit2 was built with them.
 */
struct dml_remote_info {
	char *name;
	char *url;
};
/*
 * Each remote has a tracking ref, refs/dml/remotes/<name>/ledger: what was
 * last fetched from it.  remove deletes it with the remote.
 */
const struct dml_error *dml_repo_remote_add(struct dml_repo *r, const char *name,
    const char *url);
const struct dml_error *dml_repo_remote_remove(struct dml_repo *r, const char *name);
/* Is `name` a configured remote?  If so, its tracking ref's name in out. */
int dml_repo_remote_tracking(struct dml_repo *r, const char *name, char *out, size_t n);
const struct dml_error *dml_repo_remote_list(struct dml_repo *r, struct dml_remote_info **out,
    size_t *n);
void dml_remote_info_free(struct dml_remote_info *v, size_t n);

struct dml_transfer_opts {
	/* Called now and then during a transfer; may be NULL. */
	void (*progress)(void *arg, const char *what, uint64_t done, uint64_t total);
	void *arg;
	int die_midway;		/* tests only: abort() once sending has begun */
};

/*
 * Download one ref of a remote and every object it reaches, writing no ref
 * at all: *got is what the remote's ref points to (*found = 0 when it has
 * no such ref).  The caller decides whether to keep it.
 */
const struct dml_error *dml_repo_fetch_ref(struct dml_repo *r, const char *remote,
    const char *ref, const struct dml_transfer_opts *o, struct dml_oid *got, int *found);
/*
 * Quarantine, as git's receive-pack keeps incoming objects: between begin
 * and end every object written (a fetch's packs included) goes to a
 * directory of its own beside the object store, readable with the store's
 * objects; end with keep = 1 moves them into the store, keep = 0 deletes
 * them, so a refused transfer leaves nothing that a later fetch would take
 * for objects it already has.  begin also removes the quarantines that
 * killed processes left, once untouched for DML_QUARANTINE_EXPIRE seconds.
 */
#define DML_QUARANTINE_EXPIRE (14 * 24 * 3600)
const struct dml_error *dml_repo_quarantine_begin(struct dml_repo *r);
const struct dml_error *dml_repo_quarantine_end(struct dml_repo *r, int keep);
/*
 * Another handle on r's repository, for reading from another thread: it
 * sees what r sees, r's quarantine included (which must outlive it).
 */
const struct dml_error *dml_repo_open_again(struct dml_repo **out, const struct dml_repo *r);
/* Remove a directory and everything under it (symbolic links not followed). */
int dml_remove_tree(const char *dir);
/*
 * Durability (more than git's default, which flushes packs only): what a
 * command writes to the repository (packs, objects, refs) reaches the
 * disk, and the directories that name it, before a ref names it, so that a
 * crash or a power cut never leaves a ref naming something lost.  On
 * unless the environment sets DMLCTL_FSYNC=0, for repositories that can be
 * made again.  dml_fsync_dir flushes a directory's entries.
 */
int dml_durable(void);
const struct dml_error *dml_fsync_dir(const char *dir);
/*
 * Push a ref to the same name on a remote, never forced: DML_ERR_MOVED when
 * the remote refuses because ours does not descend from its ref.
 */
const struct dml_error *dml_repo_push_ref(struct dml_repo *r, const char *remote,
    const char *ref, const struct dml_transfer_opts *o);

/* A git config value (repository, then global), malloc'd, or NULL if unset. */
const struct dml_error *dml_repo_config_get(struct dml_repo *r, const char *key, char **value);
/* The same without a repository (global/system config only). */
const struct dml_error *dml_config_get_default(const char *key, char **value);

#endif
