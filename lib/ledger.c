/*
 * ledger.c - reading and appending ledger entries (see dml/ledger.h).
 *
 * An append writes every object first (blobs, tree, signed commit) and then
 * moves refs/dml/ledger with a compare-and-swap.  Objects alone change
 * nothing, and the ref update is one atomic rename, so a crash at any point
 * leaves the ledger at the old head or the new one.  A writer that loses the
 * race catches up with the entries that won, rebuilds its statement on the
 * new head and tries again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "dml/ledger.h"
#include "dml/sshsig.h"

#define STATEMENT_FILE "statement"
#define SIGNATURE_FILE "statement.sig"
#define OBJECTS_DIR "objects"
#define APPEND_PATIENCE 30	/* seconds to keep retrying while others append */
#define LOCK_PATIENCE_MS 2000	/* milliseconds a lock may stay held before we give up */

struct dml_ledger {
	struct dml_repo *repo;
	unsigned flags;
	struct dml_state st;
	int has_head;
	struct dml_oid head;
	struct dml_oid *commits;	/* by seq */
	size_t ncommits, cap;
	int batch;			/* appends go to memory until batch_commit */
	struct dml_oid batch_base;	/* the ref's value when the batch began */
};

const char *const dml_default_founder_roles = "admin,coordinator,member,treasurer";
const char *const dml_default_rules[] = {
	"key.add admin",
	"key.revoke admin",
	"reward.pay treasurer",
	"round.aggregate coordinator",
	"round.close coordinator",
	"round.open coordinator",
};
const size_t dml_default_nrules = sizeof(dml_default_rules) / sizeof(dml_default_rules[0]);

void
dml_attachment_hash(struct dml_attachment *a)
{
	dml_sha256(a->id, a->data, a->len);
}

const struct dml_state *
dml_ledger_state(const struct dml_ledger *l)
{
	return &l->st;
}

uint64_t
dml_ledger_count(const struct dml_ledger *l)
{
	return l->ncommits;
}

void
dml_ledger_free(struct dml_ledger *l)
{
	if (l == NULL)
		return;
	if (l->batch)
		dml_repo_batch_end(l->repo, 0);
	dml_state_release(&l->st);
	free(l->commits);
	free(l);
}

/*
 * Read the statement of one entry commit; also its tree, and its message
 * (malloc'd), when asked for.
 */
static const struct dml_error *
load_statement(struct dml_repo *repo, const struct dml_oid *commit, struct dml_stmt **out,
    struct dml_oid *tree_out, char **message)
{
	struct dml_oid tree, parents[2];
	unsigned np;
	struct dml_commit_info ci;
	struct dml_tree_item *items = NULL;
	size_t n, i;
	struct dml_buf text = DML_BUF_INIT;
	const struct dml_error *err;
	char hex[DML_OID_HEXLEN + 1];

	*out = NULL;
	if (message) {
		if ((err = dml_repo_commit_read(repo, commit, &ci)))
			return err;
		tree = ci.tree;
		*message = ci.message;
		ci.message = NULL;
		dml_commit_info_release(&ci);
	} else if ((err = dml_repo_commit_links(repo, commit, &tree, parents, &np)))
		return err;
	if (tree_out)
		*tree_out = tree;
	if ((err = dml_repo_tree_read(repo, &tree, &items, &n)))
		goto fail;
	for (i = 0; i < n; i++)
		if (!items[i].is_tree && strcmp(items[i].name, STATEMENT_FILE) == 0)
			break;
	if (i == n) {
		dml_oid_hex(hex, commit);
		err = dml_error_fmt(DML_ERR_VERIFY, "ledger commit %s has no statement", hex);
	} else if ((err = dml_repo_blob_read(repo, &items[i].oid, &text)) == NULL)
		err = dml_stmt_parse(out, (const char *)text.data, text.len);
	dml_tree_items_free(items, n);
	dml_buf_release(&text);
	if (err == NULL)
		return NULL;
fail:
	if (message) {
		free(*message);
		*message = NULL;
	}
	return err;
}

static const struct dml_error *
push_commit(struct dml_ledger *l, const struct dml_oid *c)
{
	if (l->ncommits == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct dml_oid *nc = realloc(l->commits, cap * sizeof(*nc));
		if (nc == NULL)
			return dml_error_nomem();
		l->commits = nc;
		l->cap = cap;
	}
	l->commits[l->ncommits++] = *c;
	return NULL;
}

/* Does the commit's message place s where the replay did (seq, ID, chain value)? */
static const struct dml_error *
check_link(const struct dml_ledger *l, const char *message, const struct dml_stmt *s)
{
	char want[DML_LINK_MESSAGE_MAX];

	dml_link_message(want, sizeof(want), s->type->name, s->seq, s->id, l->st.chain);
	if (message != NULL && strcmp(message, want) == 0)
		return NULL;
	return dml_error_fmt(DML_ERR_VERIFY,
	    "its commit does not link it there (seq, entry ID or chain value)");
}

/*
 * Bring the ledger from its known head to `target`: walk back from target to
 * the known head (or to the root when we know nothing), then replay forward.
 */
static const struct dml_error *
catch_up(struct dml_ledger *l, const struct dml_oid *target)
{
	struct dml_oid *chain = NULL, cur = *target, parents[2], tree;
	size_t n = 0, cap = 0, i;
	unsigned np;
	const struct dml_error *err = NULL;
	char hex[DML_OID_HEXLEN + 1];

	for (;;) {
		if (l->has_head && dml_oid_equal(&cur, &l->head))
			break;
		if (n == cap) {
			struct dml_oid *nc;
			cap = cap ? cap * 2 : 64;
			if ((nc = realloc(chain, cap * sizeof(*nc))) == NULL) {
				err = dml_error_nomem();
				goto done;
			}
			chain = nc;
		}
		chain[n++] = cur;
		if ((err = dml_repo_commit_links(l->repo, &cur, &tree, parents, &np)))
			goto done;
		if (np > 1) {
			dml_oid_hex(hex, &cur);
			err = dml_error_fmt(DML_ERR_VERIFY, "ledger commit %s has %u parents", hex, np);
			goto done;
		}
		if (np == 0) {
			if (l->has_head) {
				err = dml_error_fmt(DML_ERR_VERIFY,
				    "the ledger was rewritten: its new head does not descend from the old one");
				goto done;
			}
			break;
		}
		cur = parents[0];
	}
	for (i = n; i-- > 0;) {
		struct dml_stmt *s = NULL;
		char *msg = NULL;
		int replay = !(l->flags & DML_LEDGER_NOREPLAY);

		if ((err = load_statement(l->repo, &chain[i], &s, NULL, replay ? &msg : NULL)))
			goto done;
		s->seq = l->ncommits;
		if (replay && ((err = dml_state_step(&l->st, s)) || (err = check_link(l, msg, s))))
			err = dml_error_wrap(err, "ledger entry %llu is invalid (run 'dmlctl ledger verify')",
			    (unsigned long long)s->seq);
		free(msg);
		dml_stmt_free(s);
		if (err)
			goto done;
		if ((err = push_commit(l, &chain[i])))
			goto done;
		l->head = chain[i];
		l->has_head = 1;
	}
done:
	free(chain);
	return err;
}

const struct dml_error *
dml_ledger_open(struct dml_ledger **out, struct dml_repo *repo, unsigned flags)
{
	struct dml_oid head;
	int exists;
	const struct dml_error *err;

	*out = NULL;
	if ((err = dml_repo_ref_read(repo, DML_LEDGER_REF, &head, &exists)))
		return err;
	if (!exists)
		return dml_error_fmt(DML_ERR_NOTFOUND,
		    "no ledger in this repository (run 'dmlctl init' first)");
	return dml_ledger_open_at(out, repo, &head, flags);
}

const struct dml_error *
dml_ledger_open_at(struct dml_ledger **out, struct dml_repo *repo, const struct dml_oid *head,
    unsigned flags)
{
	struct dml_ledger *l;
	const struct dml_error *err;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return dml_error_nomem();
	l->repo = repo;
	l->flags = flags;
	dml_state_init(&l->st);
	if ((err = catch_up(l, head))) {
		dml_ledger_free(l);
		return err;
	}
	*out = l;
	return NULL;
}

const struct dml_oid *
dml_ledger_commit(const struct dml_ledger *l, uint64_t seq)
{
	return seq < l->ncommits ? &l->commits[seq] : NULL;
}

const struct dml_error *
dml_ledger_relink(struct dml_ledger *l, const struct dml_key *k, const struct dml_oid *old,
    struct dml_stmt **out)
{
	struct dml_oid tree, commit;
	unsigned char chain[32];
	struct dml_stmt *s = NULL;
	const struct dml_error *err;

	*out = NULL;
	if (l->batch || (l->flags & DML_LEDGER_NOREPLAY))
		return dml_error_fmt(DML_ERR_INTERNAL, "cannot re-link in this ledger handle");
	if ((err = load_statement(l->repo, old, &s, &tree, NULL)))
		goto done;
	s->seq = l->st.seq + 1;
	if ((err = dml_state_check(&l->st, s)))
		goto done;
	dml_chain_next(chain, l->st.chain, s->id);
	if ((err = dml_ledger_link(l->repo, k, s, s->seq, chain, &tree, &l->head, &commit)) ||
	    (err = dml_state_step(&l->st, s)) || (err = push_commit(l, &commit)))
		goto done;
	l->head = commit;
	*out = s;
	s = NULL;
done:
	dml_stmt_free(s);
	return err;
}

/* Store statement, signature, attachments and extra subtrees: the entry's tree. */
static const struct dml_error *
write_entry_tree(struct dml_repo *repo, const struct dml_key *k, const struct dml_stmt *s,
    const struct dml_attachment *att, size_t natt, const struct dml_tree_item *extra,
    size_t nextra, struct dml_oid *tree)
{
	struct dml_buf sig = DML_BUF_INIT;
	struct dml_tree_item top[3 + 4], *objs = NULL;
	size_t ntop = 0, i;
	const struct dml_error *err;

	if ((err = dml_sshsig_sign(&sig, k, DML_NS_STATEMENT, s->text, s->len)))
		goto done;
	top[ntop].name = (char *)STATEMENT_FILE;
	top[ntop].is_tree = 0;
	if ((err = dml_repo_blob_write(repo, &top[ntop++].oid, s->text, s->len)))
		goto done;
	top[ntop].name = (char *)SIGNATURE_FILE;
	top[ntop].is_tree = 0;
	if ((err = dml_repo_blob_write(repo, &top[ntop++].oid, sig.data, sig.len)))
		goto done;
	if (natt > 0) {
		if ((objs = calloc(natt, sizeof(*objs))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (i = 0; i < natt; i++) {
			if ((objs[i].name = malloc(65)) == NULL) {
				err = dml_error_nomem();
				goto done;
			}
			dml_hex_encode(objs[i].name, att[i].id, 32);
			if ((err = dml_repo_blob_write(repo, &objs[i].oid, att[i].data, att[i].len)))
				goto done;
		}
		top[ntop].name = (char *)OBJECTS_DIR;
		top[ntop].is_tree = 1;
		if ((err = dml_repo_tree_write(repo, &top[ntop++].oid, objs, natt)))
			goto done;
	}
	for (i = 0; i < nextra; i++) {
		const char *const *name = s->type->store;
		while (name && *name && strcmp(*name, extra[i].name) != 0)
			name++;
		if (name == NULL || *name == NULL || !extra[i].is_tree || ntop == 7) {
			err = dml_error_fmt(DML_ERR_USAGE, "entry type '%s' stores no '%s'",
			    s->type->name, extra[i].name);
			goto done;
		}
		top[ntop++] = extra[i];
	}
	err = dml_repo_tree_write(repo, tree, top, ntop);
done:
	if (objs)
		dml_tree_items_free(objs, natt);
	dml_buf_release(&sig);
	return err;
}

void
dml_link_message(char *out, size_t n, const char *type, uint64_t seq, const unsigned char id[32],
    const unsigned char chain[32])
{
	char eid[DML_ID_LEN + 1], cid[DML_ID_LEN + 1];

	dml_id_format(eid, id);
	dml_id_format(cid, chain);
	snprintf(out, n, "%s #%llu\n\nEntry: %s\nChain: %s\n", type, (unsigned long long)seq,
	    eid, cid);
}

const struct dml_error *
dml_ledger_link(struct dml_repo *repo, const struct dml_key *k, const struct dml_stmt *s,
    uint64_t seq, const unsigned char chain[32], const struct dml_oid *tree,
    const struct dml_oid *parent, struct dml_oid *commit)
{
	struct dml_buf content = DML_BUF_INIT, csig = DML_BUF_INIT;
	char keyid[DML_KEY_ID_LEN + 1], msg[DML_LINK_MESSAGE_MAX];
	const struct dml_error *err;

	dml_pubkey_id(keyid, &k->pub);
	dml_link_message(msg, sizeof(msg), s->type->name, seq, s->id, chain);
	if ((err = dml_repo_commit_buffer(repo, &content, tree, parent, DML_COMMIT_NAME, keyid,
	    (int64_t)s->time, msg)) == NULL &&
	    (err = dml_sshsig_sign(&csig, k, DML_NS_GIT, content.data, content.len)) == NULL)
		err = dml_repo_commit_write_signed(repo, commit, (const char *)content.data,
		    (const char *)csig.data);
	dml_buf_release(&content);
	dml_buf_release(&csig);
	return err;
}

/* The entry's tree and its chain commit on top of st. */
static const struct dml_error *
write_entry(struct dml_repo *repo, const struct dml_key *k, const struct dml_state *st,
    const struct dml_stmt *s, const struct dml_oid *parent, const struct dml_attachment *att,
    size_t natt, const struct dml_tree_item *extra, size_t nextra, struct dml_oid *commit)
{
	struct dml_oid tree;
	unsigned char chain[32];
	const struct dml_error *err;

	if ((err = write_entry_tree(repo, k, s, att, natt, extra, nextra, &tree)))
		return err;
	dml_chain_next(chain, st->chain, s->id);
	return dml_ledger_link(repo, k, s, s->seq, chain, &tree, parent, commit);
}

/* Every OBJECT field has its attachment and every attachment its field. */
static const struct dml_error *
match_attachments(const struct dml_stmt *s, const struct dml_attachment *att, size_t natt)
{
	size_t i, j, nobj = 0;

	for (i = 0; i < s->nfields; i++) {
		unsigned char id[32];
		if (!(s->fields[i].spec->flags & DML_F_OBJECT))
			continue;
		nobj++;
		dml_id_parse(id, s->fields[i].value, s->fields[i].len);
		for (j = 0; j < natt; j++)
			if (memcmp(att[j].id, id, 32) == 0)
				break;
		if (j == natt)
			return dml_error_fmt(DML_ERR_USAGE, "field '%s' names an object not attached",
			    s->fields[i].spec->name);
	}
	for (j = 0; j < natt; j++)
		for (i = j + 1; i < natt; i++)
			if (memcmp(att[j].id, att[i].id, 32) == 0)
				return dml_error_fmt(DML_ERR_USAGE, "the same object is attached twice");
	if (nobj != natt)
		return dml_error_fmt(DML_ERR_USAGE, "an attached object is not named by the entry");
	return NULL;
}

static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

static void
backoff(unsigned attempt)
{
	uint32_t r;
	struct timespec ts;
	long us;

	dml_randombytes(&r, sizeof(r));
	us = 50L << (attempt < 6 ? attempt : 6);	/* 50us .. 3.2ms, jittered */
	us = us / 2 + (long)(r % (uint32_t)us);
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Build, check, sign and store one entry on top of the current state. */
static const struct dml_error *
build_entry(struct dml_ledger *l, const struct dml_key *k, struct dml_stmt_builder *b,
    uint64_t time, const struct dml_attachment *att, size_t natt,
    const struct dml_tree_item *extra, size_t nextra, struct dml_stmt **s,
    struct dml_oid *commit)
{
	const struct dml_error *err;

	memcpy(b->ledger, l->st.genesis, 32);
	b->author = k->pub;
	b->time = time;
	if ((err = dml_stmt_build(s, b)))
		return err;
	(*s)->seq = l->st.seq + 1;
	if ((err = dml_state_check(&l->st, *s)) || (err = match_attachments(*s, att, natt)) ||
	    (err = write_entry(l->repo, k, &l->st, *s, &l->head, att, natt, extra, nextra,
	    commit))) {
		dml_stmt_free(*s);
		*s = NULL;
	}
	return err;
}

const struct dml_error *
dml_ledger_append(struct dml_ledger *l, const struct dml_key *k, struct dml_stmt_builder *b,
    uint64_t time, struct dml_attachment *att, size_t natt, struct dml_stmt **out)
{
	return dml_ledger_append_store(l, k, b, time, att, natt, NULL, 0, out);
}

const struct dml_error *
dml_ledger_append_store(struct dml_ledger *l, const struct dml_key *k,
    struct dml_stmt_builder *b, uint64_t time, struct dml_attachment *att, size_t natt,
    const struct dml_tree_item *extra, size_t nextra, struct dml_stmt **out)
{
	const struct dml_error *err = NULL;
	struct dml_stmt *s = NULL;
	struct dml_oid commit, cur;
	struct timespec start, t, locked_since = { 0, 0 };
	unsigned attempt;
	int exists;

	if (out)
		*out = NULL;
	if (l->flags & DML_LEDGER_NOREPLAY)
		return dml_error_fmt(DML_ERR_INTERNAL, "ledger opened without replay cannot append");
	if (l->batch) {
		/* The ref moves once, at dml_ledger_batch_commit. */
		if ((err = build_entry(l, k, b, time, att, natt, extra, nextra, &s, &commit)))
			return err;
		goto applied;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (attempt = 0;; attempt++) {
		/* The first try trusts the known head; the compare-and-swap checks it. */
		if (attempt > 0) {
			if ((err = dml_repo_ref_read(l->repo, DML_LEDGER_REF, &cur, &exists)))
				return err;
			if (!exists)
				return dml_error_fmt(DML_ERR_NOTFOUND, "the ledger ref disappeared");
			if (!dml_oid_equal(&cur, &l->head) && (err = catch_up(l, &cur)))
				return err;
		}
		if ((err = build_entry(l, k, b, time, att, natt, extra, nextra, &s, &commit)))
			return err;
		err = dml_repo_ref_cas(l->repo, DML_LEDGER_REF, &commit, &l->head, "dmlctl: append");
		if (err == NULL)
			break;
		dml_stmt_free(s);
		s = NULL;
		if (err->code != DML_ERR_LOCKED && err->code != DML_ERR_MOVED)
			return err;
		clock_gettime(CLOCK_MONOTONIC, &t);
		/*
		 * A moved ref means others are making progress: keep trying.  A
		 * lock held for long is likely left by a killed process: like git,
		 * give up and name it rather than wait forever.
		 */
		if (err->code == DML_ERR_MOVED)
			locked_since.tv_sec = 0;
		else if (locked_since.tv_sec == 0)
			locked_since = t;
		else if (ms_between(&locked_since, &t) > LOCK_PATIENCE_MS)
			return err;
		if (t.tv_sec - start.tv_sec > APPEND_PATIENCE)
			return dml_error_wrap(err, "gave up after %u attempts in %d s", attempt + 1,
			    APPEND_PATIENCE);
		backoff(attempt);
	}
applied:
	if ((err = dml_state_step(&l->st, s)) || (err = push_commit(l, &commit))) {
		dml_stmt_free(s);
		return err;
	}
	l->head = commit;
	if (out)
		*out = s;
	else
		dml_stmt_free(s);
	return NULL;
}

/* Forget everything and replay the ledger as the ref now says. */
static const struct dml_error *
reload(struct dml_ledger *l)
{
	struct dml_oid head;
	int exists;
	const struct dml_error *err;

	dml_state_release(&l->st);
	dml_state_init(&l->st);
	l->ncommits = 0;
	l->has_head = 0;
	if ((err = dml_repo_ref_read(l->repo, DML_LEDGER_REF, &head, &exists)))
		return err;
	if (!exists)
		return dml_error_fmt(DML_ERR_NOTFOUND, "the ledger ref disappeared");
	return catch_up(l, &head);
}

const struct dml_error *
dml_ledger_batch_begin(struct dml_ledger *l)
{
	const struct dml_error *err;

	if (l->batch)
		return dml_error_fmt(DML_ERR_INTERNAL, "a batch is already open");
	if (l->flags & DML_LEDGER_NOREPLAY)
		return dml_error_fmt(DML_ERR_INTERNAL, "ledger opened without replay cannot append");
	/* Start from the newest head, so the batch is likely to land. */
	if ((err = reload(l)) || (err = dml_repo_batch_begin(l->repo)))
		return err;
	l->batch = 1;
	l->batch_base = l->head;
	return NULL;
}

const struct dml_error *
dml_ledger_batch_commit(struct dml_ledger *l)
{
	const struct dml_error *err, *rerr;

	if (!l->batch)
		return dml_error_fmt(DML_ERR_INTERNAL, "no batch is open");
	l->batch = 0;
	if (dml_oid_equal(&l->head, &l->batch_base))
		return dml_repo_batch_end(l->repo, 0);	/* nothing appended */
	if ((err = dml_repo_batch_end(l->repo, 1)) == NULL) {
		struct timespec start, t;
		unsigned attempt = 0;

		/* The pack is written; only the ref update may wait for a lock. */
		clock_gettime(CLOCK_MONOTONIC, &start);
		while ((err = dml_repo_ref_cas(l->repo, DML_LEDGER_REF, &l->head, &l->batch_base,
		    "dmlctl: append batch")) != NULL && err->code == DML_ERR_LOCKED) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (ms_between(&start, &t) > LOCK_PATIENCE_MS)
				break;
			backoff(attempt++);
		}
		if (err == NULL)
			return NULL;
	}
	if (err->code == DML_ERR_MOVED)
		err = dml_error_fmt(DML_ERR_MOVED,
		    "another writer appended while the batch was built; no entry of the batch was added");
	{
		struct dml_error keep;
		dml_error_keep(&keep, err);
		if ((rerr = reload(l)))
			return rerr;
		return dml_error_fmt(keep.code, "%s", keep.msg);
	}
}

void
dml_ledger_batch_abort(struct dml_ledger *l)
{
	if (!l->batch)
		return;
	l->batch = 0;
	dml_repo_batch_end(l->repo, 0);
	(void)reload(l);
}

const struct dml_error *
dml_ledger_create(struct dml_repo *repo, const struct dml_key *founder, const struct dml_genesis *g,
    uint64_t time, struct dml_stmt **out)
{
	struct dml_stmt_builder b;
	struct dml_stmt *s = NULL;
	struct dml_state st;
	struct dml_oid head, commit;
	const struct dml_error *err;
	size_t i;
	int exists;

	*out = NULL;
	if ((err = dml_repo_ref_read(repo, DML_LEDGER_REF, &head, &exists)))
		return err;
	if (exists)
		return dml_error_fmt(DML_ERR_EXISTS, "this repository already has a ledger");
	dml_stmt_builder_init(&b, "ledger.genesis");
	dml_state_init(&st);
	memset(b.ledger, 0, 32);
	b.author = founder->pub;
	b.time = time;
	if ((err = dml_stmt_builder_add(&b, "name", g->name)))
		goto done;
	for (i = 0; i < g->nmembers; i++)
		if ((err = dml_stmt_builder_add(&b, "member", g->members[i])))
			goto done;
	for (i = 0; i < g->nsupply; i++)
		if ((err = dml_stmt_builder_add(&b, "supply", g->supply[i])))
			goto done;
	for (i = 0; i < g->nrules; i++)
		if ((err = dml_stmt_builder_add(&b, "allow", g->rules[i])))
			goto done;
	if ((err = dml_stmt_build(&s, &b)) || (err = write_entry(repo, founder, &st, s, NULL, NULL,
	    0, NULL, 0, &commit)) || (err = dml_state_step(&st, s)))
		goto done;
	if ((err = dml_repo_ref_cas(repo, DML_LEDGER_REF, &commit, NULL, "dmlctl: genesis"))) {
		if (err->code == DML_ERR_MOVED)
			err = dml_error_fmt(DML_ERR_EXISTS, "this repository already has a ledger");
		goto done;
	}
	*out = s;
	s = NULL;
done:
	dml_stmt_free(s);
	dml_state_release(&st);
	dml_stmt_builder_release(&b);
	return err;
}

struct dml_repo *
dml_ledger_repo(struct dml_ledger *l)
{
	return l->repo;
}

const struct dml_error *
dml_ledger_read_tree(struct dml_ledger *l, uint64_t seq, struct dml_tree_item **items, size_t *n)
{
	struct dml_oid tree;
	const struct dml_error *err;

	*items = NULL;
	*n = 0;
	if ((err = dml_ledger_entry_tree(l, seq, &tree)))
		return err;
	return dml_repo_tree_read(l->repo, &tree, items, n);
}

const struct dml_error *
dml_ledger_read(struct dml_ledger *l, uint64_t seq, struct dml_stmt **s, struct dml_oid *commit)
{
	const struct dml_error *err;

	*s = NULL;
	if (seq >= l->ncommits)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no entry %llu (the ledger has %zu)",
		    (unsigned long long)seq, l->ncommits);
	if (commit)
		*commit = l->commits[seq];
	if ((err = load_statement(l->repo, &l->commits[seq], s, NULL, NULL)))
		return err;
	(*s)->seq = seq;
	return NULL;
}

const struct dml_error *
dml_ledger_find(struct dml_ledger *l, const char *prefix, uint64_t *seq)
{
	char hex[DML_ID_LEN + 1];
	size_t plen, i, found = 0;
	const struct dml_error *err;

	if (strncmp(prefix, "sha256:", 7) == 0)
		prefix += 7;
	plen = strlen(prefix);
	if (plen < 4 || plen > 64 || !dml_value_valid(DML_V_TOKEN, prefix, plen) ||
	    strspn(prefix, "0123456789abcdef") != plen)
		return dml_error_fmt(DML_ERR_USAGE,
		    "'%s' is not an entry number or an ID prefix of 4 to 64 hex digits", prefix);
	for (i = 0; i < l->ncommits; i++) {
		struct dml_stmt *s;
		if ((err = dml_ledger_read(l, i, &s, NULL)))
			return err;
		dml_id_format(hex, s->id);
		dml_stmt_free(s);
		if (strncmp(hex + 7, prefix, plen) == 0) {
			if (found++)
				return dml_error_fmt(DML_ERR_USAGE, "entry ID prefix '%s' is ambiguous",
				    prefix);
			*seq = i;
		}
	}
	if (!found)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no entry with ID '%s'", prefix);
	return NULL;
}

static void
format_time(char *out, size_t n, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "%llu", (unsigned long long)t);	/* beyond the calendar */
		return;
	}
	strftime(out, n, "%Y%m%d%H%M%SZ", &tm);
}

const struct dml_error *
dml_ledger_allowed_signers(struct dml_ledger *l, struct dml_buf *out)
{
	const struct dml_error *err = NULL;
	size_t i;

	for (i = 0; i < l->st.nmembers && err == NULL; i++) {
		const struct dml_member *m = &l->st.members[i];
		char id[DML_KEY_ID_LEN + 1], when[32];

		dml_pubkey_id(id, &m->key);
		if ((err = dml_buf_addf(out, "%s namespaces=\"git\"", id)))
			break;
		if (m->revoked && m->revoked_time < 253402300799ULL) {	/* ssh's dates end in 9999 */
			/* ssh-keygen's valid-before is exclusive. */
			format_time(when, sizeof(when), m->revoked_time + 1);
			if ((err = dml_buf_addf(out, ",valid-before=\"%s\"", when)))
				break;
		}
		if ((err = dml_buf_adds(out, " ")) || (err = dml_pubkey_openssh(out, &m->key, NULL)))
			break;
		err = dml_buf_adds(out, "\n");
	}
	return err;
}

const struct dml_tree_item *
dml_tree_find(const struct dml_tree_item *items, size_t n, const char *name, int is_tree)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (items[i].is_tree == is_tree && strcmp(items[i].name, name) == 0)
			return &items[i];
	return NULL;
}

const struct dml_error *
dml_entry_object(struct dml_repo *r, const struct dml_tree_item *items, size_t n,
    const unsigned char id[32], struct dml_buf *out)
{
	const struct dml_tree_item *objs = dml_tree_find(items, n, "objects", 1), *it;
	struct dml_tree_item *oi = NULL;
	unsigned char got[32];
	char hex[65];
	size_t on = 0;
	const struct dml_error *err;

	dml_hex_encode(hex, id, 32);
	if (objs == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry stores no objects");
	if ((err = dml_repo_tree_read(r, &objs->oid, &oi, &on)))
		return err;
	if ((it = dml_tree_find(oi, on, hex, 0)) == NULL)
		err = dml_error_fmt(DML_ERR_VERIFY, "object sha256:%s is not stored", hex);
	else if ((err = dml_repo_blob_read(r, &it->oid, out)) == NULL) {
		dml_sha256(got, out->data, out->len);
		if (memcmp(got, id, 32) != 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "object sha256:%s does not match its digest",
			    hex);
	}
	dml_tree_items_free(oi, on);
	return err;
}

const struct dml_error *
dml_ledger_entry_tree(struct dml_ledger *l, uint64_t seq, struct dml_oid *tree)
{
	struct dml_oid parents[2];
	unsigned np;

	if (seq >= l->ncommits)
		return dml_error_fmt(DML_ERR_NOTFOUND, "no entry %llu (the ledger has %zu)",
		    (unsigned long long)seq, l->ncommits);
	return dml_repo_commit_links(l->repo, &l->commits[seq], tree, parents, &np);
}
