/*
 * sync.c - fetch, pull and push the ledger (see dml/sync.h).
 *
 * Everything here goes through the ledger's own checks: the fetched chain is
 * verified with dml_ledger_verify before the local ref moves, re-linked
 * entries pass dml_state_check on their new base, and the local ref moves by
 * compare-and-swap, so a writer appending meanwhile is never overwritten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dml/sync.h"

struct oidseq {
	struct dml_oid oid;
	uint64_t seq;
};

/* What we know about a remote's chain against ours. */
struct view {
	struct dml_ledger *local;	/* NULL when we have no ledger yet */
	struct dml_oid local_head;
	uint64_t nlocal;
	struct oidseq *index;		/* our commits sorted by name, for local_seq */
	struct dml_oid rhead;		/* the remote's head */
	struct dml_oid *fresh;		/* remote commits after the common ones, root first */
	size_t nfresh;
	unsigned char (*fresh_ids)[32];	/* their entry IDs, sorted */
	size_t nfresh_ids;
	uint64_t common;
	int named;			/* a configured remote: it has a tracking ref */
	char track[300];
};

static void
view_release(struct view *v)
{
	dml_ledger_free(v->local);
	free(v->index);
	free(v->fresh);
	free(v->fresh_ids);
	memset(v, 0, sizeof(*v));
}

void
dml_sync_result_release(struct dml_sync_result *res)
{
	free(res->left);
	memset(res, 0, sizeof(*res));
}

static int
oidseq_cmp(const void *a, const void *b)
{
	return memcmp(((const struct oidseq *)a)->oid.id, ((const struct oidseq *)b)->oid.id,
	    DML_OID_RAWLEN);
}

/* Open our ledger and index its commits by name. */
static const struct dml_error *
open_local(struct dml_repo *repo, struct view *v)
{
	const struct dml_error *err;
	uint64_t i;

	if ((err = dml_ledger_open(&v->local, repo, 0)))
		return err;
	v->nlocal = dml_ledger_count(v->local);
	v->local_head = *dml_ledger_commit(v->local, v->nlocal - 1);
	if ((v->index = malloc(v->nlocal * sizeof(*v->index))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < v->nlocal; i++) {
		v->index[i].oid = *dml_ledger_commit(v->local, i);
		v->index[i].seq = i;
	}
	qsort(v->index, v->nlocal, sizeof(*v->index), oidseq_cmp);
	return NULL;
}

/* Our seq of a commit, or -1. */
static int64_t
local_seq(const struct view *v, const struct dml_oid *c)
{
	struct oidseq key, *hit;

	if (v->index == NULL)
		return -1;
	key.oid = *c;
	hit = bsearch(&key, v->index, v->nlocal, sizeof(*v->index), oidseq_cmp);
	return hit ? (int64_t)hit->seq : -1;
}

static const struct dml_error *
commit_stmt_id(struct dml_repo *repo, const struct dml_oid *c, unsigned char id[32])
{
	struct dml_ledger *l;
	struct dml_stmt *s;
	const struct dml_error *err;

	/* One entry, read without replay: the genesis or any single commit's statement. */
	if ((err = dml_ledger_open_at(&l, repo, c, DML_LEDGER_NOREPLAY)))
		return err;
	if ((err = dml_ledger_read(l, dml_ledger_count(l) - 1, &s, NULL)) == NULL) {
		memcpy(id, s->id, 32);
		dml_stmt_free(s);
	}
	dml_ledger_free(l);
	return err;
}

/* The chain ending at head, root first (for the rare report of a rewrite). */
static const struct dml_error *
chain_list(struct dml_repo *repo, const struct dml_oid *head, struct dml_oid **out, size_t *n)
{
	struct dml_ledger *l;
	const struct dml_error *err;
	uint64_t i;

	*out = NULL;
	*n = 0;
	if ((err = dml_ledger_open_at(&l, repo, head, DML_LEDGER_NOREPLAY)))
		return err;
	if ((*out = malloc((dml_ledger_count(l) + 1) * sizeof(**out))) == NULL)
		err = dml_error_nomem();
	else {
		for (i = 0; i < dml_ledger_count(l); i++)
			(*out)[i] = *dml_ledger_commit(l, i);
		*n = dml_ledger_count(l);
	}
	dml_ledger_free(l);
	return err;
}

/* The remote's commit at seq i in the combined view. */
static const struct dml_oid *
remote_at(const struct view *v, uint64_t i)
{
	if (i < v->common)
		return dml_ledger_commit(v->local, i);
	if (i - v->common < v->nfresh)
		return &v->fresh[i - v->common];
	return NULL;
}

static const struct dml_error *
another_ledger(const char *remote, const unsigned char theirs[32], const unsigned char ours[32])
{
	char a[DML_ID_LEN + 1], b[DML_ID_LEN + 1];

	dml_id_format(a, theirs);
	dml_id_format(b, ours);
	return dml_error_fmt(DML_ERR_VERIFY, "remote '%s' holds another ledger: its genesis is %s, "
	    "ours is %s", remote, a, b);
}

/* Does the remote's chain, whose first commit is root, start from our genesis? */
static const struct dml_error *
check_same_ledger(struct dml_repo *repo, const char *remote, const struct view *v,
    const struct dml_oid *root)
{
	unsigned char theirs[32], ours[32];
	const struct dml_error *err;

	if ((err = commit_stmt_id(repo, root, theirs)) ||
	    (err = commit_stmt_id(repo, dml_ledger_commit(v->local, 0), ours)))
		return dml_error_wrap(err, "remote '%s'", remote);
	return memcmp(theirs, ours, 32) ? another_ledger(remote, theirs, ours) : NULL;
}

static const struct dml_error *
rewritten(const char *remote, uint64_t seq)
{
	return dml_error_fmt(DML_ERR_VERIFY,
	    "remote '%s' rewrote its ledger: entry #%llu differs from the chain we already have; "
	    "refused, the local ledger is unchanged", remote, (unsigned long long)seq);
}

/* Has the remote's head left what we fetched from it before? */
static const struct dml_error *
check_tracking(struct dml_repo *repo, const char *remote, const struct view *v)
{
	struct dml_oid t, *tc = NULL;
	size_t nt = 0, i;
	int64_t at;
	int exists;
	const struct dml_error *err;

	if (!v->named || (err = dml_repo_ref_read(repo, v->track, &t, &exists)) || !exists)
		return v->named ? err : NULL;
	if ((at = local_seq(v, &t)) >= 0 && (uint64_t)at < v->common)
		return NULL;
	for (i = 0; i < v->nfresh; i++)
		if (dml_oid_equal(&v->fresh[i], &t))
			return NULL;
	/* Name the first entry that differs. */
	if ((err = chain_list(repo, &t, &tc, &nt)))
		return dml_error_wrap(err, "remote '%s': what we fetched before is unreadable", remote);
	for (i = 0; i < nt; i++) {
		const struct dml_oid *b = remote_at(v, i);
		if (b == NULL || !dml_oid_equal(b, &tc[i]))
			break;
	}
	free(tc);
	return rewritten(remote, i);
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * The IDs of the remote's new entries, sorted: a local entry among them is
 * already there (another party re-linked it and pushed first), so a pull
 * skips it, as git pull --rebase skips a commit already upstream.
 */
static const struct dml_error *
collect_ids(struct view *v, const struct dml_verify_report *rep)
{
	size_t i;

	if (v->nfresh == 0 || v->nlocal == v->common)
		return NULL;
	if ((v->fresh_ids = malloc(v->nfresh * sizeof(*v->fresh_ids))) == NULL)
		return dml_error_nomem();
	for (i = v->common; i < rep->nentries; i++)
		if (dml_id_parse(v->fresh_ids[v->nfresh_ids], rep->entries[i].id,
		    strlen(rep->entries[i].id)) == 0)
			v->nfresh_ids++;
	qsort(v->fresh_ids, v->nfresh_ids, sizeof(*v->fresh_ids), id_cmp);
	return NULL;
}

/*
 * Fetch the remote's chain and check it against ours (see dml/sync.h), into
 * v and res, which examine() has cleared.
 */
static const struct dml_error *
examine_fetched(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o,
    struct view *v, struct dml_sync_result *res)
{
	struct dml_oid cur, tree, parents[2];
	unsigned np;
	int found, exists;
	size_t cap = 0, i;
	int64_t meet = -1;
	const struct dml_error *err;
	struct dml_verify_opts vo;
	struct dml_verify_report rep;

	v->named = dml_repo_remote_tracking(repo, remote, v->track, sizeof(v->track));
	if ((err = dml_repo_fetch_ref(repo, remote, DML_LEDGER_REF, &o->xfer, &v->rhead, &found)))
		return err->code == DML_ERR_VERIFY ? dml_error_wrap(err, "remote '%s'", remote) : err;
	if (!found)
		return dml_error_fmt(DML_ERR_NOTFOUND, "remote '%s' has no ledger", remote);
	if ((err = dml_repo_ref_read(repo, DML_LEDGER_REF, &v->local_head, &exists)))
		return err;
	/* The ref may move between the two reads: the opened ledger is the truth. */
	if (exists && (err = open_local(repo, v)))
		return err;
	/* Walk the remote's chain back to a commit we have, or to its root. */
	for (cur = v->rhead;;) {
		if (v->local && (meet = local_seq(v, &cur)) >= 0)
			break;
		if (v->nfresh == cap) {
			struct dml_oid *nf;
			cap = cap ? 2 * cap : 256;
			if ((nf = realloc(v->fresh, cap * sizeof(*nf))) == NULL)
				return dml_error_nomem();
			v->fresh = nf;
		}
		v->fresh[v->nfresh++] = cur;
		if ((err = dml_repo_commit_links(repo, &cur, &tree, parents, &np)))
			return dml_error_wrap(err, "remote '%s'", remote);
		if (np > 1)
			return dml_error_fmt(DML_ERR_VERIFY,
			    "remote '%s': its ledger has a merge commit, which no ledger has", remote);
		if (np == 0)
			break;
		cur = parents[0];
	}
	for (i = 0; i < v->nfresh / 2; i++) {
		struct dml_oid t = v->fresh[i];
		v->fresh[i] = v->fresh[v->nfresh - 1 - i];
		v->fresh[v->nfresh - 1 - i] = t;
	}
	v->common = meet >= 0 ? (uint64_t)meet + 1 : 0;
	if (v->local && meet < 0)
		return (err = check_same_ledger(repo, remote, v, &v->fresh[0])) ? err :
		    rewritten(remote, 0);
	if (o->genesis && v->common == 0) {
		unsigned char theirs[32];
		char a[DML_ID_LEN + 1], b[DML_ID_LEN + 1];
		if ((err = commit_stmt_id(repo, &v->fresh[0], theirs)))
			return dml_error_wrap(err, "remote '%s'", remote);
		if (memcmp(theirs, o->genesis, 32) != 0) {
			dml_id_format(a, theirs);
			dml_id_format(b, o->genesis);
			return dml_error_fmt(DML_ERR_VERIFY,
			    "remote '%s' holds another ledger: its genesis is %s, not %s", remote, a, b);
		}
	}
	if ((err = check_tracking(repo, remote, v)))
		return err;
	/* Everything new is checked as `ledger verify` checks it. */
	memset(&vo, 0, sizeof(vo));
	vo.head = &v->rhead;
	vo.from = v->common;
	vo.threads = o->threads;
	vo.progress = o->verify_progress;
	vo.arg = o->arg;
	if ((err = dml_ledger_verify(repo, &vo, &rep)))
		return dml_error_wrap(err, "remote '%s'", remote);
	if (rep.failed) {
		const struct dml_verify_entry *e = &rep.entries[rep.first_bad];
		err = dml_error_fmt(DML_ERR_VERIFY,
		    "remote '%s' fails verification at entry #%llu (%s %s): %s; refused, the local "
		    "ledger is unchanged", remote, (unsigned long long)e->seq,
		    e->type[0] ? e->type : "unreadable", e->id[0] ? e->id : "", e->why ? e->why : "?");
	} else
		err = collect_ids(v, &rep);
	dml_verify_report_release(&rep);
	if (err)
		return err;
	res->common = v->common;
	res->local = v->nlocal;
	res->remote = v->common + v->nfresh;
	res->after = v->nlocal;
	res->head = v->local ? v->local_head : v->rhead;
	if (v->nfresh == 0)
		res->how = v->nlocal == v->common ? DML_SYNC_UP_TO_DATE : DML_SYNC_AHEAD;
	else
		res->how = v->nlocal == v->common ? DML_SYNC_FAST_FORWARD : DML_SYNC_REBASED;
	return NULL;
}

/*
 * The same in quarantine: what the remote sent joins the object store only
 * once it passed, so a refused remote leaves nothing a retry would take for
 * objects it has (the retry would then skip them).
 */
static const struct dml_error *
examine(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o, struct view *v,
    struct dml_sync_result *res)
{
	const struct dml_error *err, *qerr;

	memset(v, 0, sizeof(*v));
	memset(res, 0, sizeof(*res));
	if ((err = dml_repo_quarantine_begin(repo)))
		return err;
	err = examine_fetched(repo, remote, o, v, res);
	if ((qerr = dml_repo_quarantine_end(repo, err == NULL)) && err == NULL)
		err = qerr;
	return err;
}

static const struct dml_error *
remember(struct dml_repo *repo, const struct view *v, const struct dml_oid *at)
{
	return v->named ? dml_repo_ref_set(repo, v->track, at, "dmlctl: remote ledger") : NULL;
}

const struct dml_error *
dml_fetch(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o,
    struct dml_sync_result *res)
{
	struct view v;
	const struct dml_error *err;

	if ((err = examine(repo, remote, o, &v, res)) == NULL)
		err = remember(repo, &v, &v.rhead);
	view_release(&v);
	return err;
}

static const struct dml_error *
moved_meanwhile(const struct dml_error *err)
{
	if (err->code == DML_ERR_MOVED)
		return dml_error_fmt(DML_ERR_MOVED,
		    "the local ledger moved while pulling (another writer appended): pull again");
	return err;
}

/* Note an entry that could not be re-linked, with the reason. */
static const struct dml_error *
leave_out(const struct view *v, uint64_t s, const char *why, struct dml_sync_result *res)
{
	struct dml_left_out *lo = &res->left[res->nleft++];
	struct dml_stmt *st;
	size_t wl = strlen(why);
	const struct dml_error *err;

	if (wl >= sizeof(lo->why))
		wl = sizeof(lo->why) - 1;
	memcpy(lo->why, why, wl);	/* before another error reuses it */
	lo->why[wl] = '\0';
	lo->seq = s;
	if ((err = dml_ledger_read(v->local, s, &st, NULL)))
		return err;
	dml_id_format(lo->id, st->id);
	snprintf(lo->type, sizeof(lo->type), "%s", st->type->name);
	dml_stmt_free(st);
	return NULL;
}

/*
 * Re-link our local entries on the remote's head, skipping those the remote
 * already has.  The key is asked for only when one is left to re-link.
 */
static const struct dml_error *
rebase(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o, struct view *v,
    struct dml_sync_result *res)
{
	struct dml_ledger *rl = NULL;
	const struct dml_key *k = NULL;
	const struct dml_member *m;
	const struct dml_error *err;
	uint64_t s, nl = v->nlocal - v->common;
	unsigned char *there;
	char kid[DML_KEY_ID_LEN + 1];

	if ((there = calloc(nl, 1)) == NULL ||
	    (res->left = calloc(nl, sizeof(*res->left))) == NULL) {
		free(there);
		return dml_error_nomem();
	}
	for (s = v->common; s < v->nlocal; s++) {
		struct dml_stmt *st;
		if ((err = dml_ledger_read(v->local, s, &st, NULL)))
			goto done;
		there[s - v->common] = bsearch(st->id, v->fresh_ids, v->nfresh_ids,
		    sizeof(*v->fresh_ids), id_cmp) != NULL;
		res->upstream += there[s - v->common];
		dml_stmt_free(st);
	}
	if ((err = dml_ledger_open_at(&rl, repo, &v->rhead, 0))) {
		err = dml_error_wrap(err, "remote '%s'", remote);
		goto done;
	}
	if (res->upstream < nl) {
		if (o->get_key == NULL) {
			err = dml_error_fmt(DML_ERR_USAGE, "re-linking local entries needs a signing key");
			goto done;
		}
		if ((err = o->get_key(o->arg, &k)))
			goto done;
		dml_pubkey_id(kid, &k->pub);
		m = dml_state_member(dml_ledger_state(rl), &k->pub);
		if (m == NULL || m->revoked) {
			err = dml_error_fmt(DML_ERR_DENIED,
			    "key %s is not a member of the remote's ledger, so it cannot re-link the "
			    "%llu local entries (pass -k with a member's key)", kid,
			    (unsigned long long)(nl - res->upstream));
			goto done;
		}
	}
	for (s = v->common; s < v->nlocal; s++) {
		struct dml_stmt *st = NULL;
		const struct dml_error *why;

		if (there[s - v->common])
			continue;
		if ((why = dml_ledger_relink(rl, k, dml_ledger_commit(v->local, s), &st)) == NULL) {
			dml_stmt_free(st);
			res->relinked++;
			continue;
		}
		if (why->code != DML_ERR_VERIFY && why->code != DML_ERR_DENIED) {
			err = why;
			goto done;
		}
		if ((err = leave_out(v, s, why->msg, res)))
			goto done;
	}
	res->head = *dml_ledger_commit(rl, dml_ledger_count(rl) - 1);
	res->after = dml_ledger_count(rl);
	/* Keep the old chain reachable, as git keeps ORIG_HEAD. */
	if ((err = dml_repo_ref_set(repo, DML_ORIG_LEDGER_REF, &v->local_head,
	    "dmlctl: ledger before pull")))
		goto done;
	if ((err = dml_repo_ref_cas(repo, DML_LEDGER_REF, &res->head, &v->local_head,
	    "dmlctl: pull (re-linked local entries)")))
		err = moved_meanwhile(err);
done:
	free(there);
	dml_ledger_free(rl);
	return err;
}

const struct dml_error *
dml_pull(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o,
    struct dml_sync_result *res)
{
	struct view v;
	const struct dml_error *err;

	if ((err = examine(repo, remote, o, &v, res)))
		goto done;
	switch (res->how) {
	case DML_SYNC_UP_TO_DATE:
	case DML_SYNC_AHEAD:
		break;
	case DML_SYNC_FAST_FORWARD:
		if ((err = dml_repo_ref_cas(repo, DML_LEDGER_REF, &v.rhead,
		    v.local ? &v.local_head : NULL, "dmlctl: pull (fast-forward)"))) {
			err = moved_meanwhile(err);
			goto done;
		}
		res->head = v.rhead;
		res->after = res->remote;
		break;
	case DML_SYNC_REBASED:
		if ((err = rebase(repo, remote, o, &v, res)))
			goto done;
		break;
	}
	err = remember(repo, &v, &v.rhead);
done:
	view_release(&v);
	return err;
}

/* A remote ahead of us: is it still our ledger (else pulling cannot help)? */
static const struct dml_error *
check_pushable(struct dml_repo *repo, const char *remote, const struct view *v,
    const struct dml_oid *head)
{
	struct dml_oid *chain;
	size_t n;
	const struct dml_error *err;

	if ((err = chain_list(repo, head, &chain, &n)))
		return dml_error_wrap(err, "remote '%s'", remote);
	err = check_same_ledger(repo, remote, v, &chain[0]);
	free(chain);
	return err;
}

const struct dml_error *
dml_push(struct dml_repo *repo, const char *remote, const struct dml_sync_opts *o,
    struct dml_sync_result *res)
{
	struct view v;
	struct dml_oid r;
	int found;
	int64_t at = -1;
	const struct dml_error *err;

	memset(&v, 0, sizeof(v));
	memset(res, 0, sizeof(*res));
	v.named = dml_repo_remote_tracking(repo, remote, v.track, sizeof(v.track));
	if ((err = open_local(repo, &v)))
		goto done;
	res->local = res->after = v.nlocal;
	res->head = v.local_head;
	/* Only the remote's head is wanted: what comes with it is dropped. */
	if ((err = dml_repo_quarantine_begin(repo)))
		goto done;
	err = dml_repo_fetch_ref(repo, remote, DML_LEDGER_REF, &o->xfer, &r, &found);
	if (err == NULL && found && (at = local_seq(&v, &r)) < 0 &&
	    (err = check_pushable(repo, remote, &v, &r)) == NULL)
		err = dml_error_fmt(DML_ERR_MOVED,
		    "remote '%s' has entries this ledger lacks: run 'dmlctl pull %s' first", remote,
		    remote);
	dml_repo_quarantine_end(repo, 0);
	if (err)
		goto done;
	res->common = found ? (uint64_t)at + 1 : 0;
	res->remote = res->common;
	if (found && (uint64_t)at + 1 == v.nlocal) {
		res->how = DML_SYNC_UP_TO_DATE;
		err = remember(repo, &v, &r);
		goto done;
	}
	if ((err = dml_repo_push_ref(repo, remote, DML_LEDGER_REF, &o->xfer))) {
		if (err->code == DML_ERR_MOVED)
			err = dml_error_fmt(DML_ERR_MOVED,
			    "remote '%s' has entries this ledger lacks (%s): run 'dmlctl pull %s' first",
			    remote, err->msg, remote);
		goto done;
	}
	res->how = DML_SYNC_AHEAD;
	res->remote = v.nlocal;
	err = remember(repo, &v, &v.local_head);
done:
	view_release(&v);
	return err;
}
