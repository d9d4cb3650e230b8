/*
 * dml/ledger.h - the signed, hash-linked ledger on refs/dml/ledger.
 *
 * Each entry is one commit whose tree holds
 *	statement		the canonical statement (dml/entry.h)
 *	statement.sig		SSHSIG by the author, namespace DML_NS_STATEMENT
 *	objects/<hex>		each object the statement names by a DML_F_OBJECT
 *				field, stored under its SHA-256 (optional)
 * and whose message places the entry in the chain (dml_link_message):
 *
 *	<type> #<seq>
 *
 *	Entry: sha256:<the statement's ID>
 *	Chain: sha256:<the chain value after it, dml_chain_next>
 *
 * The commit's gpgsig header is an SSHSIG in namespace "git" by the key that
 * linked the entry there (any member at that point: the author when it was
 * appended here, the puller's key when `dmlctl pull` re-linked it), so stock
 * `git verify-commit` accepts it.  The commit's single parent is the previous
 * entry's commit; the genesis commit has none.
 *
 * The state (struct dml_state) is what replaying the entries in order gives:
 * the members with their roles, the policy (which roles may write which entry
 * types), revocations.  Authority is decided against the state just before an
 * entry, so a key's entries before its revocation stay valid.
 */
#ifndef DML_LEDGER_H
#define DML_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "dml/entry.h"
#include "dml/error.h"
#include "dml/key.h"
#include "dml/repo.h"

#define DML_MAX_ROLES 64
/* Room for any role list: DML_MAX_ROLES names of DML_TOKEN_MAX bytes, commas, NUL. */
#define DML_ROLES_TEXT_MAX (DML_MAX_ROLES * (DML_TOKEN_MAX + 1) + 1)

struct dml_member {
	struct dml_pubkey key;
	uint64_t roles;		/* bit i: state->roles[i] */
	char *name;		/* label given when added, or NULL */
	uint64_t added_seq, added_time;
	int revoked;
	uint64_t revoked_seq, revoked_time;
};

struct dml_rule {
	char type[DML_TOKEN_MAX + 1];
	uint64_t roles;		/* any of these roles may write the type */
};

/* One published version of a dataset. */
struct dml_dataset_version {
	uint64_t seq;		/* its entry */
	unsigned char id[32];	/* its entry's statement ID */
	unsigned char file[32];	/* file ID: SHA-256 of the bytes */
	char *allow;		/* permitted uses, comma-separated and sorted */
	uint64_t price;		/* token units per use */
};

/* A dataset name's versions (see dml/dataset.h). */
struct dml_dataset_head {
	char *name;
	struct dml_pubkey owner;
	struct dml_dataset_version *versions;	/* version i + 1 at index i */
	uint64_t nversions;
	unsigned char last[32];	/* statement ID of the newest version */
};

/* A model name's versions (see dml/modelentry.h). */
struct dml_model_head {
	char *name;
	struct dml_pubkey owner;
	uint64_t *seqs;		/* entry seq of version i + 1 */
	uint64_t nversions;
	unsigned char last[32];	/* statement ID of the newest version */
};

/* An update submitted to a round (see dml/round.h). */
struct dml_submission {
	unsigned char update[32];	/* the update's ID */
	struct dml_pubkey contributor;	/* its signer, as the entry names it */
	uint64_t seq;			/* the update.submit entry */
	const char *reason;		/* a DML_REASON_* judged from the ledger, or NULL */
};

enum dml_round_status { DML_ROUND_OPEN, DML_ROUND_AGGREGATED, DML_ROUND_CLOSED };

struct dml_round_head {
	char *name;
	uint64_t open_seq;
	unsigned char open_id[32];	/* the round.open statement's ID */
	enum dml_round_status status;
	uint64_t end_seq;		/* the round.aggregate or round.close entry */
	unsigned char end_id[32];	/* its statement ID */
	struct dml_submission *subs;	/* in submission order */
	size_t nsubs;
	uint64_t paid_seq;		/* its reward.pay entry, or 0 */
};

/* Tokens a key holds: what the ledger gave it minus what it paid. */
struct dml_balance {
	struct dml_pubkey key;
	uint64_t amount;	/* in the smallest token unit */
};

struct dml_id_slot {
	unsigned char id[32];
	uint64_t seq1;		/* seq + 1; 0 for an empty slot */
};

struct dml_state {
	int have_genesis;
	char *name;			/* the ledger's name */
	uint64_t seq;			/* last applied entry */
	unsigned char genesis[32];	/* the genesis entry's ID: names the ledger */
	unsigned char chain[32];	/* chain value after the last entry (dml_chain_next) */
	uint64_t time;
	struct dml_id_slot *ids;	/* every entry ID so far: an open-addressing set */
	size_t nids, idcap;
	char *roles[DML_MAX_ROLES];
	size_t nroles;
	struct dml_member *members;	/* sorted by key */
	size_t nmembers;
	struct dml_rule *rules;		/* sorted by type */
	size_t nrules;
	struct dml_dataset_head *datasets;	/* sorted by name */
	size_t ndatasets;
	struct dml_model_head *models;		/* sorted by name */
	size_t nmodels;
	struct dml_round_head *rounds;		/* sorted by name */
	size_t nrounds;
	struct dml_balance *balances;		/* sorted by key; only keys ever credited */
	size_t nbalances;
};

void dml_state_init(struct dml_state *st);
void dml_state_release(struct dml_state *st);
const struct dml_member *dml_state_member(const struct dml_state *st, const struct dml_pubkey *k);
/* Does the member hold the role? */
int dml_state_has_role(const struct dml_state *st, const struct dml_member *m, const char *role);
/* Comma-separated role names of a bit set into out. */
void dml_state_roles_format(const struct dml_state *st, uint64_t roles, char *out, size_t n);
/*
 * May `author` write an entry of `type` now?  NULL if yes; otherwise a
 * DML_ERR_DENIED error saying why (not a member, revoked, lacks a role).
 */
const struct dml_error *dml_state_authorize(const struct dml_state *st,
    const struct dml_pubkey *author, const char *type);
/*
 * The version rule of named things (datasets, models): version 1 by any
 * author, each later version by the owner of version 1 with the next number
 * and the newest version's ID as "previous".  owner is NULL when the name
 * has no version yet; noun and verb ("dataset", "publish") are for messages.
 */
const struct dml_error *dml_state_check_version(const struct dml_stmt *s, const char *noun,
    const char *name, const struct dml_pubkey *owner, uint64_t nversions,
    const unsigned char last[32], const char *verb);
/* A key's balance (0 for a key never credited). */
uint64_t dml_state_balance(const struct dml_state *st, const struct dml_pubkey *k);
/* balance += add - sub; an error (state unchanged) if it would leave 0..2^64-1. */
const struct dml_error *dml_state_credit(struct dml_state *st, const struct dml_pubkey *k,
    uint64_t add, uint64_t sub);
/*
 * The chain value: c(-1) is 32 zero bytes and c(n) = SHA-256(c(n-1) || ID(n)),
 * so c(n) names the entries 0..n in order.  Ledger commits record it.
 */
void dml_chain_next(unsigned char out[32], const unsigned char prev[32],
    const unsigned char id[32]);
/* Seq of an entry ID already applied, or -1. */
int64_t dml_state_find_id(const struct dml_state *st, const unsigned char id[32]);
/* Check without applying: the first half of dml_state_step. */
const struct dml_error *dml_state_check(const struct dml_state *st, const struct dml_stmt *s);
/*
 * Check that s may follow the state (its ledger, seq, that its ID is new,
 * authority, the type's own rules) and apply it.  Errors are DML_ERR_VERIFY or DML_ERR_DENIED.
 */
const struct dml_error *dml_state_step(struct dml_state *st, const struct dml_stmt *s);

/* An object to store with an entry under its SHA-256. */
struct dml_attachment {
	const void *data;
	size_t len;
	unsigned char id[32];	/* SHA-256 of data: see dml_attachment_hash() */
};

/* Fill in a->id, so the caller can name it in an OBJECT field. */
void dml_attachment_hash(struct dml_attachment *a);

struct dml_ledger;

/*
 * Open the ledger of a repository and replay its statements (without
 * re-verifying signatures: that is dml_ledger_verify's job).
 * DML_ERR_NOTFOUND when the repository has no ledger.
 */
#define DML_LEDGER_NOREPLAY 0x1	/* list entries only: for reading a damaged ledger */
const struct dml_error *dml_ledger_open(struct dml_ledger **out, struct dml_repo *repo,
    unsigned flags);
/* The same for the chain ending at `head` (a fetched one, say), whatever the ref says. */
const struct dml_error *dml_ledger_open_at(struct dml_ledger **out, struct dml_repo *repo,
    const struct dml_oid *head, unsigned flags);
void dml_ledger_free(struct dml_ledger *l);
/* The commit of entry seq, or NULL past the end. */
const struct dml_oid *dml_ledger_commit(const struct dml_ledger *l, uint64_t seq);
/*
 * Link the entry of commit `old` (from another chain) on top of this one,
 * in memory and in the object store, not the ref: the statement, its
 * signature and its tree are kept; the new chain commit is signed by k.
 * DML_ERR_VERIFY or DML_ERR_DENIED when the entry is not valid here (the
 * handle is unchanged); *out is the statement at its new seq.
 */
const struct dml_error *dml_ledger_relink(struct dml_ledger *l, const struct dml_key *k,
    const struct dml_oid *old, struct dml_stmt **out);
const struct dml_state *dml_ledger_state(const struct dml_ledger *l);
/* Number of entries (head seq + 1). */
uint64_t dml_ledger_count(const struct dml_ledger *l);

struct dml_genesis {
	const char *name;		/* the ledger's name */
	const char *const *members;	/* "ed25519:<hex> role,role" lines */
	size_t nmembers;
	const char *const *rules;	/* "type role" lines */
	size_t nrules;
	const char *const *supply;	/* "ed25519:<hex> <units>" lines: initial balances */
	size_t nsupply;
};

/* The default policy: the founder's roles and the rules it implies. */
extern const char *const dml_default_founder_roles;
extern const char *const dml_default_rules[];
extern const size_t dml_default_nrules;

/*
 * Write the genesis entry; DML_ERR_EXISTS if the repository has a ledger.
 * time is seconds since the epoch.
 */
const struct dml_error *dml_ledger_create(struct dml_repo *repo, const struct dml_key *founder,
    const struct dml_genesis *g, uint64_t time, struct dml_stmt **out);

/*
 * Append one entry of `b->type` with body fields from b, signed by k.  The
 * header (ledger, author, time) is filled in here.  Objects in att are
 * stored with the entry; each must be named by an OBJECT field.  Appending
 * is compare-and-swap on the ref: when another writer wins, the entry is
 * rebuilt on the new head and tried again.  The entry is checked against the
 * state first, so nothing the policy forbids is ever written.
 */
const struct dml_error *dml_ledger_append(struct dml_ledger *l, const struct dml_key *k,
    struct dml_stmt_builder *b, uint64_t time, struct dml_attachment *att, size_t natt,
    struct dml_stmt **out);

/*
 * Batches: appends between begin and commit are built and signed in memory
 * and land together, as one pack and one ref update, or not at all.  If
 * another writer moved the ledger meanwhile, commit fails with
 * DML_ERR_MOVED, nothing of the batch is added, and the ledger reloads.
 * Entries in an open batch cannot be read back with dml_ledger_read.
 */
const struct dml_error *dml_ledger_batch_begin(struct dml_ledger *l);
const struct dml_error *dml_ledger_batch_commit(struct dml_ledger *l);
void dml_ledger_batch_abort(struct dml_ledger *l);

/* The same, storing extra subtrees (the type's `store` names) in the entry. */
const struct dml_error *dml_ledger_append_store(struct dml_ledger *l, const struct dml_key *k,
    struct dml_stmt_builder *b, uint64_t time, struct dml_attachment *att, size_t natt,
    const struct dml_tree_item *extra, size_t nextra, struct dml_stmt **out);

/* The repository the ledger lives in. */
struct dml_repo *dml_ledger_repo(struct dml_ledger *l);

/*
 * A ledger commit's author and committer: DML_COMMIT_NAME, with the key ID
 * of the key that signs the commit as the e-mail ("dmlctl <ed25519:...>").
 */
#define DML_COMMIT_NAME "dmlctl"

/* The commit message that links an entry at seq with the given chain value. */
#define DML_LINK_MESSAGE_MAX (DML_TOKEN_MAX + 2 * DML_ID_LEN + 64)
void dml_link_message(char *out, size_t n, const char *type, uint64_t seq,
    const unsigned char id[32], const unsigned char chain[32]);
/*
 * Write the signed chain commit that links entry s (whose tree is `tree`) at
 * seq on top of parent (NULL for the genesis), signed by k.
 */
const struct dml_error *dml_ledger_link(struct dml_repo *repo, const struct dml_key *k,
    const struct dml_stmt *s, uint64_t seq, const unsigned char chain[32],
    const struct dml_oid *tree, const struct dml_oid *parent, struct dml_oid *commit);
/* The top-level items of entry `seq`'s tree. */
const struct dml_error *dml_ledger_read_tree(struct dml_ledger *l, uint64_t seq,
    struct dml_tree_item **items, size_t *n);

/* The tree of entry `seq`'s commit (to carry it in another entry). */
const struct dml_error *dml_ledger_entry_tree(struct dml_ledger *l, uint64_t seq,
    struct dml_oid *tree);
/* The item of that name and kind among an entry tree's items, or NULL. */
const struct dml_tree_item *dml_tree_find(const struct dml_tree_item *items, size_t n,
    const char *name, int is_tree);
/* The object an entry stores under objects/<hex>, checked against its ID. */
const struct dml_error *dml_entry_object(struct dml_repo *r, const struct dml_tree_item *items,
    size_t n, const unsigned char id[32], struct dml_buf *out);

/* Read entry `seq` (statement and its commit ID). */
const struct dml_error *dml_ledger_read(struct dml_ledger *l, uint64_t seq, struct dml_stmt **s,
    struct dml_oid *commit);
/* Find the entry whose ID starts with a hex prefix ("sha256:" optional); -1 if none. */
const struct dml_error *dml_ledger_find(struct dml_ledger *l, const char *prefix, uint64_t *seq);

/* Verification. */
enum dml_check {
	DML_CHECK_CHAIN,	/* commit parent links and tree layout */
	DML_CHECK_STATEMENT,	/* canonical, parseable statement */
	DML_CHECK_LINK,		/* the commit message: seq, entry ID, chain value */
	DML_CHECK_SIGNATURE,	/* statement signature by the author */
	DML_CHECK_COMMIT_SIGNATURE,	/* gpgsig over the commit, by a member then */
	DML_CHECK_OBJECTS,	/* every named object present with its digest */
	DML_CHECK_DATA,		/* stored data recomputed (the type's verify_store) */
	DML_CHECK_AUTHORITY,	/* the author was allowed to write it */
	DML_CHECK_COUNT
};
const char *dml_check_name(enum dml_check c);

struct dml_verify_entry {
	uint64_t seq;
	struct dml_oid commit;
	char id[DML_ID_LEN + 1];	/* statement ID, or "" when unreadable */
	char type[DML_TOKEN_MAX + 1];
	char author[DML_KEY_ID_LEN + 1];
	int ok[DML_CHECK_COUNT];	/* 1 passed, 0 failed, -1 not run */
	char *why;			/* first failure, or NULL */
};

struct dml_verify_report {
	struct dml_verify_entry *entries;	/* in seq order */
	size_t nentries;
	int failed;		/* 1 when any check failed */
	size_t first_bad;	/* index of the first failing entry */
};

struct dml_verify_opts {
	const struct dml_oid *head;	/* the chain to check; NULL: refs/dml/ledger */
	uint64_t from;		/* report entries from this seq on */
	unsigned threads;	/* 0: one per core */
	/* Called now and then with entries done so far; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

/*
 * Recompute every check of every entry: commit chain, canonical statements,
 * links, signatures (in parallel), objects, authority.  A failed check is not
 * an error: it is in the report (rep->failed).  The return value is an error
 * only when verification could not run (no ledger, out of memory).
 */
const struct dml_error *dml_ledger_verify(struct dml_repo *repo,
    const struct dml_verify_opts *o, struct dml_verify_report *rep);
void dml_verify_report_release(struct dml_verify_report *rep);

/* Write the allowed-signers text for git (one line per key ever a member). */
const struct dml_error *dml_ledger_allowed_signers(struct dml_ledger *l, struct dml_buf *out);

#endif
