/*
 * dml/sync.h - between parties: fetch, pull, push and clone a ledger over
 * any git remote.
 *
 * Only refs/dml/ledger moves, with every object its entries reach.  What a
 * remote holds is checked before anything local changes:
 *
 *   - Its chain must share our genesis, and must not be a different chain
 *     over entries we already have: a remote whose new head does not descend
 *     from what we last fetched from it (refs/dml/remotes/<name>/ledger), or
 *     that links one of our entries elsewhere, rewrote history and is refused
 *     with the first sequence number that differs.
 *   - Its new entries pass every check of `ledger verify` (signatures,
 *     objects, recomputed data, authority); entries we share are replayed,
 *     not re-checked.
 *
 * Then a pull fast-forwards, or, when both sides appended since the last
 * common entry, re-links our local entries on top of the remote's head, as
 * `git pull --rebase` does.  Statements and their authors' signatures stay
 * (dml/entry.h: statements name no position); the chain commits are signed
 * again by the puller's key.  An entry no longer valid there (a second
 * aggregate of a round, an update to a round already aggregated) is left
 * out and reported with the reason; the old chain stays reachable from
 * refs/dml/orig-ledger.
 */
#ifndef DML_SYNC_H
#define DML_SYNC_H

#include "dml/entry.h"
#include "dml/key.h"
#include "dml/ledger.h"
#include "dml/repo.h"

#define DML_ORIG_LEDGER_REF "refs/dml/orig-ledger"

struct dml_sync_opts {
	struct dml_transfer_opts xfer;
	unsigned threads;		/* for verification: 0 one per core */
	/* Verification progress; may be NULL. */
	void (*verify_progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
	const unsigned char *genesis;	/* clone: the genesis ID we expect, or NULL */
	/* The key that re-links local entries; asked for only when needed. */
	const struct dml_error *(*get_key)(void *arg, const struct dml_key **k);
};

/* An entry that could not be re-linked. */
struct dml_left_out {
	uint64_t seq;			/* where it was */
	char id[DML_ID_LEN + 1];
	char type[DML_TOKEN_MAX + 1];
	char why[256];
};

enum dml_sync_how {
	DML_SYNC_UP_TO_DATE,	/* nothing new on either side */
	DML_SYNC_AHEAD,		/* only we have new entries */
	DML_SYNC_FAST_FORWARD,	/* only the remote has */
	DML_SYNC_REBASED	/* both: ours re-linked on theirs */
};

struct dml_sync_result {
	enum dml_sync_how how;
	uint64_t common;		/* entries both chains share */
	uint64_t local;			/* our entries before */
	uint64_t remote;		/* the remote's entries */
	uint64_t relinked;		/* ours re-linked on theirs */
	uint64_t upstream;		/* ours the remote already had (by ID), skipped */
	uint64_t after;			/* our entries after */
	struct dml_oid head;		/* our head after */
	struct dml_left_out *left;	/* entries left out, in their old order */
	size_t nleft;
};
void dml_sync_result_release(struct dml_sync_result *res);

/*
 * Fetch and check the remote's ledger, then remember it as
 * refs/dml/remotes/<remote>/ledger (a named remote only).  The local ledger
 * does not change; res->how says how the two relate (REBASED: diverged).
 * DML_ERR_VERIFY when the remote is refused; DML_ERR_NOTFOUND when it has no
 * ledger.
 */
const struct dml_error *dml_fetch(struct dml_repo *repo, const char *remote,
    const struct dml_sync_opts *o, struct dml_sync_result *res);
/* Fetch, check, and bring the local ledger up to the remote's (see above). */
const struct dml_error *dml_pull(struct dml_repo *repo, const char *remote,
    const struct dml_sync_opts *o, struct dml_sync_result *res);
/*
 * Push the local ledger.  DML_ERR_MOVED, with a hint to pull, when the remote
 * has entries we lack.
 */
const struct dml_error *dml_push(struct dml_repo *repo, const char *remote,
    const struct dml_sync_opts *o, struct dml_sync_result *res);

#endif
