/*
 * verify.c - `ledger verify`: recompute everything, trust nothing.
 *
 * Three passes.  (1) Walk the commit chain from the ref back to the root,
 * one parent per commit.  (2) In parallel, one git handle per thread: read
 * each entry's commit and tree, parse the statement, check both signatures
 * and every attached object's SHA-256.  (3) In order: the links (each
 * commit message names its seq, the entry and the chain value), the
 * authority of each author and of each commit's signer, by replaying the
 * state exactly as appending does.  The report is indexed by seq, so it is the same whatever
 * the number of threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "dml/ledger.h"
#include "dml/sshsig.h"

const char *
dml_check_name(enum dml_check c)
{
	static const char *const names[DML_CHECK_COUNT] = { "chain", "statement", "link",
		"signature", "commit-signature", "objects", "data", "authority" };

	return c < DML_CHECK_COUNT ? names[c] : "?";
}

/* What pass 2 learns of an entry's commit, for pass 3. */
struct link {
	char *message;
	struct dml_pubkey signer;
	int signed_ok;		/* the gpgsig verified: signer is its key */
};

struct job {
	struct dml_repo *main;
	struct dml_verify_entry *entries;
	struct dml_stmt **stmts;
	struct link *links;
	size_t n;
	uint64_t from;
	atomic_size_t next;
	atomic_size_t done;
	atomic_int failed_open;		/* a worker could not open the repository */
	struct dml_error fatal;
	pthread_mutex_t lock;
};

static void
fail(struct dml_verify_entry *e, enum dml_check c, const char *why)
{
	e->ok[c] = 0;
	if (e->why == NULL) {
		size_t n = strlen(dml_check_name(c)) + strlen(why) + 3;
		if ((e->why = malloc(n)) != NULL)
			snprintf(e->why, n, "%s: %s", dml_check_name(c), why);
	}
}

/* Did any check of the entry fail?  (Decided by ok[], never by why.) */
static int
entry_failed(const struct dml_verify_entry *e)
{
	int c;

	for (c = 0; c < DML_CHECK_COUNT; c++)
		if (e->ok[c] == 0)
			return 1;
	return 0;
}

static void
failf(struct dml_verify_entry *e, enum dml_check c, const struct dml_error *err)
{
	fail(e, c, err->msg);
}

static int
hexname_to_id(const char *name, unsigned char id[32])
{
	return dml_hex_decode(id, 32, name, strlen(name));
}

/* Objects: the objects/ tree holds exactly the OBJECT fields' digests. */
static void
check_objects(struct dml_repo *r, struct dml_verify_entry *e, const struct dml_stmt *s,
    const struct dml_oid *objtree)
{
	struct dml_tree_item *items = NULL;
	struct dml_buf data = DML_BUF_INIT;
	size_t n = 0, i, j, nref = 0;
	const struct dml_error *err;
	char msg[256];

	for (i = 0; i < s->nfields; i++)
		if (s->fields[i].spec->flags & DML_F_OBJECT)
			nref++;
	if (objtree == NULL) {
		if (nref)
			fail(e, DML_CHECK_OBJECTS, "the entry names objects but stores none");
		else
			e->ok[DML_CHECK_OBJECTS] = 1;
		return;
	}
	if ((err = dml_repo_tree_read(r, objtree, &items, &n))) {
		failf(e, DML_CHECK_OBJECTS, err);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char want[32], got[32];
		if (items[i].is_tree || hexname_to_id(items[i].name, want) != 0) {
			snprintf(msg, sizeof(msg), "unexpected item 'objects/%.80s'", items[i].name);
			fail(e, DML_CHECK_OBJECTS, msg);
			goto done;
		}
		for (j = 0; j < s->nfields; j++) {
			unsigned char id[32];
			if (!(s->fields[j].spec->flags & DML_F_OBJECT))
				continue;
			dml_id_parse(id, s->fields[j].value, s->fields[j].len);
			if (memcmp(id, want, 32) == 0)
				break;
		}
		if (j == s->nfields) {
			snprintf(msg, sizeof(msg), "object sha256:%s is not named by the statement",
			    items[i].name);
			fail(e, DML_CHECK_OBJECTS, msg);
			goto done;
		}
		if ((err = dml_repo_blob_read(r, &items[i].oid, &data))) {
			failf(e, DML_CHECK_OBJECTS, err);
			goto done;
		}
		dml_sha256(got, data.data, data.len);
		if (memcmp(got, want, 32) != 0) {
			snprintf(msg, sizeof(msg), "object sha256:%s does not match its digest",
			    items[i].name);
			fail(e, DML_CHECK_OBJECTS, msg);
			goto done;
		}
	}
	/* Tree names are unique (dml_repo_tree_read), and so are the IDs. */
	if (n != nref) {
		fail(e, DML_CHECK_OBJECTS, "an object the statement names is missing");
		goto done;
	}
	e->ok[DML_CHECK_OBJECTS] = 1;
done:
	dml_tree_items_free(items, n);
	dml_buf_release(&data);
}

/*
 * Do the commit's author and committer name the key that signed it, as
 * dml_ledger_link writes them?  git log shows them, so they must not name
 * another key than the signature's.
 */
static int
ident_names(const struct dml_commit_info *ci, const struct dml_pubkey *signer)
{
	char want[DML_KEY_ID_LEN + sizeof(DML_COMMIT_NAME) + 4], kid[DML_KEY_ID_LEN + 1];

	dml_pubkey_id(kid, signer);
	snprintf(want, sizeof(want), DML_COMMIT_NAME " <%s>", kid);
	return strcmp(ci->author, want) == 0 && strcmp(ci->committer, want) == 0;
}

/* Everything about one entry that needs no other entry. */
static void
check_entry(struct dml_repo *r, struct dml_verify_entry *e, struct dml_stmt **sp,
    struct link *lk, int sigs)
{
	struct dml_commit_info ci;
	struct dml_tree_item *items = NULL;
	struct dml_buf text = DML_BUF_INIT, sig = DML_BUF_INIT;
	const struct dml_oid *stmt_oid = NULL, *sig_oid = NULL, *obj_oid = NULL;
	struct dml_stmt *s = NULL;
	struct dml_pubkey signer;
	const struct dml_error *err;
	size_t n = 0, i, nstore = 0;
	char msg[256];

	if ((err = dml_repo_commit_read(r, &e->commit, &ci))) {
		failf(e, DML_CHECK_CHAIN, err);
		return;
	}
	if (ci.nparents > 1) {
		fail(e, DML_CHECK_CHAIN, "the commit has more than one parent");
		goto done;
	}
	lk->message = ci.message;
	ci.message = NULL;
	if ((err = dml_repo_tree_read(r, &ci.tree, &items, &n))) {
		failf(e, DML_CHECK_CHAIN, err);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (!items[i].is_tree && strcmp(items[i].name, "statement") == 0)
			stmt_oid = &items[i].oid;
		else if (!items[i].is_tree && strcmp(items[i].name, "statement.sig") == 0)
			sig_oid = &items[i].oid;
		else if (items[i].is_tree && strcmp(items[i].name, "objects") == 0)
			obj_oid = &items[i].oid;
		else if (items[i].is_tree)
			nstore++;	/* judged once the statement says the type */
		else {
			snprintf(msg, sizeof(msg), "unexpected item '%.80s' in the entry tree",
			    items[i].name);
			fail(e, DML_CHECK_CHAIN, msg);
			goto done;
		}
	}
	if (stmt_oid == NULL || sig_oid == NULL) {
		fail(e, DML_CHECK_CHAIN, "the entry tree lacks 'statement' or 'statement.sig'");
		goto done;
	}
	e->ok[DML_CHECK_CHAIN] = 1;
	if ((err = dml_repo_blob_read(r, stmt_oid, &text)) ||
	    (err = dml_stmt_parse(&s, (const char *)text.data, text.len))) {
		failf(e, DML_CHECK_STATEMENT, err);
		goto done;
	}
	e->ok[DML_CHECK_STATEMENT] = 1;
	for (i = 0; i < n && nstore > 0; i++) {
		const char *const *name = s->type->store;
		if (!items[i].is_tree || strcmp(items[i].name, "objects") == 0)
			continue;
		while (name && *name && strcmp(*name, items[i].name) != 0)
			name++;
		if (name == NULL || *name == NULL) {
			snprintf(msg, sizeof(msg), "unexpected item '%.80s' in the entry tree",
			    items[i].name);
			fail(e, DML_CHECK_CHAIN, msg);
			goto done;
		}
	}
	dml_id_format(e->id, s->id);
	snprintf(e->type, sizeof(e->type), "%s", s->type->name);
	dml_pubkey_id(e->author, &s->author);
	if (sigs) {
		if ((err = dml_repo_blob_read(r, sig_oid, &sig)) ||
		    (err = dml_sshsig_verify(&signer, (const char *)sig.data, sig.len,
		    DML_NS_STATEMENT, s->text, s->len)))
			failf(e, DML_CHECK_SIGNATURE, err);
		else if (memcmp(signer.pk, s->author.pk, DML_PUBKEY_LEN) != 0)
			fail(e, DML_CHECK_SIGNATURE, "statement is signed by a key other than its author");
		else
			e->ok[DML_CHECK_SIGNATURE] = 1;
		/* Whether the signer may link entries is judged in pass 3. */
		if (ci.signature.len == 0)
			fail(e, DML_CHECK_COMMIT_SIGNATURE, "the commit is not signed");
		else if ((err = dml_sshsig_verify(&lk->signer, (const char *)ci.signature.data,
		    ci.signature.len, DML_NS_GIT, ci.signed_data.data, ci.signed_data.len)))
			failf(e, DML_CHECK_COMMIT_SIGNATURE, err);
		else if (!ident_names(&ci, &lk->signer))
			fail(e, DML_CHECK_COMMIT_SIGNATURE, "the commit's author and committer are not "
			    "'dmlctl <key ID>' of the key that signed it");
		else
			lk->signed_ok = 1;
		check_objects(r, e, s, obj_oid);
		if (s->type->verify_store == NULL)
			e->ok[DML_CHECK_DATA] = 1;
		else if ((err = s->type->verify_store(r, s, items, n)))
			failf(e, DML_CHECK_DATA, err);
		else
			e->ok[DML_CHECK_DATA] = 1;
	}
	*sp = s;
	s = NULL;
done:
	dml_stmt_free(s);
	dml_tree_items_free(items, n);
	dml_buf_release(&text);
	dml_buf_release(&sig);
	dml_commit_info_release(&ci);
}

/*
 * Does the commit message link s at s->seq with this chain value?  0 if so;
 * otherwise why not, in why.
 */
static int
link_check(const char *msg, const struct dml_stmt *s, const unsigned char chain[32], char *why,
    size_t n)
{
	char want[DML_LINK_MESSAGE_MAX], id[DML_ID_LEN + 1];
	const char *p, *q;
	unsigned long long said;

	dml_link_message(want, sizeof(want), s->type->name, s->seq, s->id, chain);
	if (msg != NULL && strcmp(msg, want) == 0)
		return 0;
	/* Say what differs, as precisely as the message allows. */
	dml_id_format(id, s->id);
	if (msg == NULL)
		snprintf(why, n, "the commit has no message");
	else if ((p = strstr(msg, " #")) != NULL && (q = strchr(msg, '\n')) != NULL && p < q &&
	    sscanf(p + 2, "%llu", &said) == 1 && said != s->seq)
		snprintf(why, n, "the commit says #%llu at position %llu", said,
		    (unsigned long long)s->seq);
	else if ((p = strstr(msg, "\nEntry: ")) == NULL || strncmp(p + 8, id, DML_ID_LEN) != 0)
		snprintf(why, n, "the commit does not name its statement %s", id);
	else if ((p = strstr(msg, "\nChain: ")) == NULL ||
	    (dml_id_format(id, chain), strncmp(p + 8, id, DML_ID_LEN) != 0))
		snprintf(why, n, "the chain value is not SHA-256 of the previous one and the entry ID");
	else
		snprintf(why, n, "the commit message is not the canonical link message");
	return -1;
}

/*
 * May `signer` link s here?  The genesis is linked by its author; every
 * other entry by a key that is a member, not revoked, just before it.
 */
static int
linker_check(const struct dml_state *st, const struct dml_stmt *s, const struct dml_pubkey *signer,
    char *why, size_t n)
{
	const struct dml_member *m;
	char kid[DML_KEY_ID_LEN + 1];

	dml_pubkey_id(kid, signer);
	if (!st->have_genesis) {
		if (memcmp(signer->pk, s->author.pk, DML_PUBKEY_LEN) == 0)
			return 0;
		snprintf(why, n, "the genesis commit is signed by %.24s..., not by its author", kid);
		return -1;
	}
	if ((m = dml_state_member(st, signer)) == NULL) {
		snprintf(why, n, "the commit is signed by %.24s..., not a member", kid);
		return -1;
	}
	if (m->revoked) {
		snprintf(why, n, "the commit is signed by %.24s..., revoked at #%llu", kid,
		    (unsigned long long)m->revoked_seq);
		return -1;
	}
	return 0;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct dml_repo *r = NULL;
	const struct dml_error *err;
	size_t i;

	if ((err = dml_repo_open_again(&r, j->main))) {
		pthread_mutex_lock(&j->lock);
		if (j->fatal.code == DML_ERR_OK)
			dml_error_keep(&j->fatal, err);
		pthread_mutex_unlock(&j->lock);
		atomic_store(&j->failed_open, 1);
		return NULL;
	}
	while ((i = atomic_fetch_add(&j->next, 1)) < j->n) {
		check_entry(r, &j->entries[i], &j->stmts[i], &j->links[i],
		    j->entries[i].seq >= j->from);
		atomic_fetch_add(&j->done, 1);
	}
	dml_repo_free(r);
	return NULL;
}

void
dml_verify_report_release(struct dml_verify_report *rep)
{
	size_t i;

	for (i = 0; i < rep->nentries; i++)
		free(rep->entries[i].why);
	free(rep->entries);
	memset(rep, 0, sizeof(*rep));
}

/* Pass 1: the chain of commits, root first. */
static const struct dml_error *
walk_chain(struct dml_repo *repo, const struct dml_oid *head, struct dml_verify_report *rep)
{
	struct dml_oid cur, parents[2], tree;
	struct dml_verify_entry *e;
	size_t n = 0, cap = 0, i;
	unsigned np;
	int exists;
	const struct dml_error *err;
	char *broken = NULL;
	int is_broken = 0;

	if (head)
		cur = *head;
	else if ((err = dml_repo_ref_read(repo, DML_LEDGER_REF, &cur, &exists)))
		return err;
	else if (!exists)
		return dml_error_fmt(DML_ERR_NOTFOUND,
		    "no ledger in this repository (run 'dmlctl init' first)");
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((e = realloc(rep->entries, cap * sizeof(*e))) == NULL)
				return dml_error_nomem();
			rep->entries = e;
		}
		e = &rep->entries[n++];
		memset(e, 0, sizeof(*e));
		e->commit = cur;
		rep->nentries = n;
		if ((err = dml_repo_commit_links(repo, &cur, &tree, parents, &np))) {
			broken = strdup(err->msg);
			is_broken = 1;
			break;
		}
		if (np == 0)
			break;
		/* A merge fails its own chain check (see check_entry); the walk
		 * follows its first parent, so that every entry keeps its number. */
		cur = parents[0];
	}
	/* Reverse into root-first order. */
	for (i = 0; i < n / 2; i++) {
		struct dml_verify_entry t = rep->entries[i];
		rep->entries[i] = rep->entries[n - 1 - i];
		rep->entries[n - 1 - i] = t;
	}
	for (i = 0; i < n; i++) {
		int c;
		rep->entries[i].seq = i;
		for (c = 0; c < DML_CHECK_COUNT; c++)
			rep->entries[i].ok[c] = -1;
	}
	if (is_broken) {
		/* The oldest commit we reached could not be followed. */
		rep->entries[0].ok[DML_CHECK_CHAIN] = 0;
		fail(&rep->entries[0], DML_CHECK_CHAIN, broken ? broken : "out of memory");
		free(broken);
	}
	return NULL;
}

const struct dml_error *
dml_ledger_verify(struct dml_repo *repo, const struct dml_verify_opts *o,
    struct dml_verify_report *rep)
{
	struct job j;
	pthread_t *tids = NULL;
	unsigned nthreads, t, started = 0;
	struct dml_state st;
	const struct dml_error *err;
	unsigned char chain[32];
	size_t i;
	int replayable, chain_known;

	memset(rep, 0, sizeof(*rep));
	if ((err = dml_crypto_init()) || (err = walk_chain(repo, o ? o->head : NULL, rep)))
		goto fail;
	memset(&j, 0, sizeof(j));
	j.main = repo;
	j.entries = rep->entries;
	j.n = rep->nentries;
	j.from = o ? o->from : 0;
	/* An unreadable oldest commit is skipped, and counts as done. */
	atomic_init(&j.next, rep->entries[0].ok[DML_CHECK_CHAIN] == 0 ? 1 : 0);
	atomic_init(&j.done, atomic_load(&j.next));
	atomic_init(&j.failed_open, 0);
	pthread_mutex_init(&j.lock, NULL);
	if ((j.stmts = calloc(j.n, sizeof(*j.stmts))) == NULL ||
	    (j.links = calloc(j.n, sizeof(*j.links))) == NULL) {
		err = dml_error_nomem();
		goto fail;
	}
	nthreads = o && o->threads ? o->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > j.n)
		nthreads = (unsigned)j.n;
	if ((tids = calloc(nthreads, sizeof(*tids))) == NULL) {
		err = dml_error_nomem();
		goto fail_stmts;
	}
	for (t = 0; t < nthreads; t++)
		if (pthread_create(&tids[t], NULL, worker, &j) == 0)
			started++;
	if (started == 0)
		worker(&j);
	while (o && o->progress && atomic_load(&j.done) < j.n && !atomic_load(&j.failed_open) &&
	    started > 0) {
		o->progress(o->arg, atomic_load(&j.done), j.n);
		usleep(100000);
	}
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (o && o->progress)
		o->progress(o->arg, j.n, j.n);
	if (j.fatal.code != DML_ERR_OK) {
		err = dml_error_fmt(j.fatal.code, "%s", j.fatal.msg);
		goto fail_stmts;
	}
	/* Pass 3: links and authority, in order. */
	dml_state_init(&st);
	replayable = 1;
	chain_known = 1;
	memset(chain, 0, sizeof(chain));
	for (i = 0; i < j.n; i++) {
		struct dml_verify_entry *e = &rep->entries[i];
		struct dml_stmt *s = j.stmts[i];
		struct link *lk = &j.links[i];
		char why[160];

		if (s == NULL) {
			replayable = chain_known = 0;
			continue;
		}
		s->seq = i;
		if (chain_known) {
			dml_chain_next(chain, chain, s->id);
			if (link_check(lk->message, s, chain, why, sizeof(why)))
				fail(e, DML_CHECK_LINK, why);
			else
				e->ok[DML_CHECK_LINK] = 1;
		}
		/*
		 * Authority is judged against the state the entries before built.
		 * After the first entry that fails anything that state is unknown,
		 * so later entries' authority is not judged (left "skipped") rather
		 * than blamed for their predecessor.
		 */
		if (replayable && lk->signed_ok) {
			if (linker_check(&st, s, &lk->signer, why, sizeof(why)))
				fail(e, DML_CHECK_COMMIT_SIGNATURE, why);
			else
				e->ok[DML_CHECK_COMMIT_SIGNATURE] = 1;
		}
		if (replayable && !entry_failed(e)) {
			if ((err = dml_state_step(&st, s)))
				failf(e, DML_CHECK_AUTHORITY, err);
			else
				e->ok[DML_CHECK_AUTHORITY] = 1;
		}
		if (entry_failed(e))
			replayable = 0;
	}
	dml_state_release(&st);
	/*
	 * Any failed check fails the ledger, before --from too: the entries
	 * before it are replayed to know who was allowed, and a replay that
	 * fails leaves later authority unjudged.
	 */
	for (i = 0; i < j.n; i++) {
		if (j.stmts[i] == NULL || entry_failed(&rep->entries[i])) {
			if (!rep->failed)
				rep->first_bad = i;
			rep->failed = 1;
		}
	}
	err = NULL;
fail_stmts:
	for (i = 0; i < j.n; i++) {
		dml_stmt_free(j.stmts[i]);
		if (j.links)
			free(j.links[i].message);
	}
	free(j.stmts);
	free(j.links);
	free(tids);
	pthread_mutex_destroy(&j.lock);
	if (err == NULL)
		return NULL;
fail:
	dml_verify_report_release(rep);
	return err;
}
