/*
 * test_ledger.c - appending, batches and verification through the library.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dml/ledger.h"

struct fixture {
	char dir[64];
	struct dml_repo *repo;
	struct dml_key *founder, *other;
	struct dml_ledger *l;
};

static void
key_seed(struct dml_key **k, unsigned char fill)
{
	unsigned char seed[32];

	memset(seed, fill, sizeof(seed));
	assert_null(dml_key_from_seed(k, seed));
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dml_genesis g;
	struct dml_stmt *s = NULL;
	char member[DML_KEY_ID_LEN + 64], id[DML_KEY_ID_LEN + 1];
	const char *mp = member;
	int created;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-ledger.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_null(dml_repo_init(&f->repo, f->dir, 1, &created));
	assert_int_equal(created, 1);
	key_seed(&f->founder, 1);
	key_seed(&f->other, 2);
	dml_pubkey_id(id, &f->founder->pub);
	snprintf(member, sizeof(member), "%s %s", id, dml_default_founder_roles);
	memset(&g, 0, sizeof(g));
	g.name = "unit";
	g.members = &mp;
	g.nmembers = 1;
	g.rules = dml_default_rules;
	g.nrules = dml_default_nrules;
	assert_null(dml_ledger_create(f->repo, f->founder, &g, 1000, &s));
	assert_int_equal(s->seq, 0);
	dml_stmt_free(s);
	assert_null(dml_ledger_open(&f->l, f->repo, 0));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	dml_ledger_free(f->l);
	dml_repo_free(f->repo);
	dml_key_free(f->founder);
	dml_key_free(f->other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static const struct dml_error *
note(struct dml_ledger *l, const struct dml_key *k, const char *msg)
{
	struct dml_stmt_builder b;
	const struct dml_error *err;

	dml_stmt_builder_init(&b, "note");
	if ((err = dml_stmt_builder_add(&b, "message", msg)) == NULL)
		err = dml_ledger_append(l, k, &b, 2000, NULL, 0, NULL);
	dml_stmt_builder_release(&b);
	return err;
}

/* The founder adds f->other as a member; its key ID in id. */
static void
add_other(struct fixture *f, char id[DML_KEY_ID_LEN + 1])
{
	struct dml_stmt_builder b;

	dml_pubkey_id(id, &f->other->pub);
	dml_stmt_builder_init(&b, "key.add");
	assert_null(dml_stmt_builder_add(&b, "key", id));
	assert_null(dml_stmt_builder_add(&b, "roles", "member"));
	assert_null(dml_ledger_append(f->l, f->founder, &b, 3000, NULL, 0, NULL));
	dml_stmt_builder_release(&b);
}

static void
assert_verifies(struct fixture *f, size_t entries)
{
	struct dml_verify_report rep;
	struct dml_verify_opts o = { 0 };

	assert_null(dml_ledger_verify(f->repo, &o, &rep));
	assert_int_equal(rep.nentries, entries);
	assert_int_equal(rep.failed, 0);
	dml_verify_report_release(&rep);
}

static void
test_append_and_verify(void **state)
{
	struct fixture *f = *state;

	assert_null(note(f->l, f->founder, "one"));
	assert_null(note(f->l, f->founder, "two"));
	assert_int_equal(dml_ledger_count(f->l), 3);
	assert_verifies(f, 3);
}

static void
test_non_member_refused(void **state)
{
	struct fixture *f = *state;
	const struct dml_error *err = note(f->l, f->other, "intruder");

	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_DENIED);
	assert_non_null(strstr(err->msg, "not a member"));
	assert_int_equal(dml_ledger_count(f->l), 1);
	assert_verifies(f, 1);
}

static void
test_batch_lands_whole(void **state)
{
	struct fixture *f = *state;
	struct dml_ledger *l2;
	char msg[32];
	int i;

	assert_null(dml_ledger_batch_begin(f->l));
	for (i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "batched %d", i);
		assert_null(note(f->l, f->founder, msg));
	}
	/* Not visible to another reader before the commit. */
	assert_null(dml_ledger_open(&l2, f->repo, 0));
	assert_int_equal(dml_ledger_count(l2), 1);
	dml_ledger_free(l2);
	assert_null(dml_ledger_batch_commit(f->l));
	assert_int_equal(dml_ledger_count(f->l), 6);
	assert_verifies(f, 6);
}

static void
test_batch_conflict_adds_nothing(void **state)
{
	struct fixture *f = *state;
	struct dml_ledger *l2;
	const struct dml_error *err;

	assert_null(dml_ledger_open(&l2, f->repo, 0));
	assert_null(dml_ledger_batch_begin(f->l));
	assert_null(note(f->l, f->founder, "batched 1"));
	assert_null(note(f->l, f->founder, "batched 2"));
	assert_null(note(l2, f->founder, "meanwhile"));
	err = dml_ledger_batch_commit(f->l);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_MOVED);
	/* Reloaded: it sees the other writer's entry, none of its own batch. */
	assert_int_equal(dml_ledger_count(f->l), 2);
	assert_null(note(f->l, f->founder, "after"));
	assert_int_equal(dml_ledger_count(f->l), 3);
	dml_ledger_free(l2);
	assert_verifies(f, 3);
}

static void
test_batch_abort(void **state)
{
	struct fixture *f = *state;

	assert_null(dml_ledger_batch_begin(f->l));
	assert_null(note(f->l, f->founder, "dropped"));
	dml_ledger_batch_abort(f->l);
	assert_int_equal(dml_ledger_count(f->l), 1);
	assert_null(note(f->l, f->founder, "kept"));
	assert_verifies(f, 2);
}

static void
test_attachments_must_match(void **state)
{
	struct fixture *f = *state;
	struct dml_stmt_builder b;
	struct dml_attachment a = { "payload", 7, { 0 } }, other = { "other", 5, { 0 } };
	char id[DML_ID_LEN + 1];
	const struct dml_error *err;

	dml_attachment_hash(&a);
	dml_attachment_hash(&other);
	dml_id_format(id, a.id);
	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", "with object"));
	assert_null(dml_stmt_builder_add(&b, "object", id));
	err = dml_ledger_append(f->l, f->founder, &b, 3000, &other, 1, NULL);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	err = dml_ledger_append(f->l, f->founder, &b, 3000, NULL, 0, NULL);
	assert_non_null(err);
	assert_null(dml_ledger_append(f->l, f->founder, &b, 3000, &a, 1, NULL));
	dml_stmt_builder_release(&b);
	assert_verifies(f, 2);
}

/*
 * A statement names its ledger, not its place, so the same author writing
 * the same thing at the same time makes the same statement: appending it
 * again would replay it, and is refused, in a batch too.
 */
static void
test_replay_refused(void **state)
{
	struct fixture *f = *state;
	const struct dml_error *err;

	assert_null(note(f->l, f->founder, "once"));
	err = note(f->l, f->founder, "once");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_VERIFY);
	assert_non_null(strstr(err->msg, "the entry is already in the ledger as #1"));
	assert_int_equal(dml_ledger_count(f->l), 2);
	assert_null(dml_ledger_batch_begin(f->l));
	assert_null(note(f->l, f->founder, "in a batch"));
	err = note(f->l, f->founder, "in a batch");
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "already in the ledger as #2"));
	assert_null(dml_ledger_batch_commit(f->l));
	assert_int_equal(dml_ledger_count(f->l), 3);
	assert_verifies(f, 3);
}

static void
test_link_message(void **state)
{
	unsigned char id[32], chain[32];
	char msg[DML_LINK_MESSAGE_MAX];

	(void)state;
	memset(id, 0xab, sizeof(id));
	memset(chain, 0x01, sizeof(chain));
	dml_link_message(msg, sizeof(msg), "round.aggregate", 12345, id, chain);
	assert_string_equal(msg, "round.aggregate #12345\n\n"
	    "Entry: sha256:abababababababababababababababababababababababababababababababab\n"
	    "Chain: sha256:0101010101010101010101010101010101010101010101010101010101010101\n");
}

/* Verify the chain ending at head; the first failure's seq, check and reason. */
static int
verify_head(struct fixture *f, const struct dml_oid *head, size_t entries, uint64_t *seq,
    enum dml_check *check, char *why, size_t n)
{
	struct dml_verify_report rep;
	struct dml_verify_opts o = { 0 };
	const struct dml_verify_entry *e;
	int c, failed;

	o.head = head;
	assert_null(dml_ledger_verify(f->repo, &o, &rep));
	assert_int_equal(rep.nentries, entries);
	failed = rep.failed;
	if (failed) {
		e = &rep.entries[rep.first_bad];
		*seq = e->seq;
		for (c = 0; c < DML_CHECK_COUNT; c++)
			if (e->ok[c] == 0)
				break;
		*check = (enum dml_check)c;
		snprintf(why, n, "%s", e->why ? e->why : "");
	}
	dml_verify_report_release(&rep);
	return failed;
}

/*
 * An entry keeps its ID and its author's signature wherever it is linked,
 * and any member may link it: here other's note, linked again by the
 * founder on the same parent, verifies.  The link is checked all the same:
 * a wrong seq or a non-member's signature on the commit fails.
 */
static void
test_relink_by_another_member(void **state)
{
	struct fixture *f = *state;
	struct dml_stmt *s = NULL, *s1 = NULL;
	struct dml_key *stranger;
	struct dml_oid tree, parent, orig, relinked, bad;
	unsigned char chain[32];
	char id[DML_KEY_ID_LEN + 1], why[256];
	uint64_t seq = 0;
	enum dml_check check = DML_CHECK_COUNT;

	add_other(f, id);
	assert_null(note(f->l, f->other, "written by other"));
	assert_verifies(f, 3);

	assert_null(dml_ledger_read(f->l, 1, &s1, &parent));
	assert_null(dml_ledger_read(f->l, 2, &s, &orig));
	assert_true(s->seq == 2);
	assert_memory_equal(s->author.pk, f->other->pub.pk, DML_PUBKEY_LEN);
	assert_null(dml_ledger_entry_tree(f->l, 2, &tree));
	memcpy(chain, dml_ledger_state(f->l)->chain, 32);

	/* Linked by the founder: another commit, as valid. */
	assert_null(dml_ledger_link(f->repo, f->founder, s, 2, chain, &tree, &parent, &relinked));
	assert_memory_not_equal(relinked.id, orig.id, sizeof(orig.id));
	assert_int_equal(verify_head(f, &relinked, 3, &seq, &check, why, sizeof(why)), 0);

	/* At a seq that is not its place. */
	assert_null(dml_ledger_link(f->repo, f->founder, s, 3, chain, &tree, &parent, &bad));
	assert_int_equal(verify_head(f, &bad, 3, &seq, &check, why, sizeof(why)), 1);
	assert_true(seq == 2);
	assert_int_equal(check, DML_CHECK_LINK);
	assert_string_equal(why, "link: the commit says #3 at position 2");

	/* With a chain value that is not c(2). */
	assert_null(dml_ledger_link(f->repo, f->founder, s, 2, dml_ledger_state(f->l)->genesis,
	    &tree, &parent, &bad));
	assert_int_equal(verify_head(f, &bad, 3, &seq, &check, why, sizeof(why)), 1);
	assert_int_equal(check, DML_CHECK_LINK);
	if (strcmp(why, "link: the chain value is not SHA-256 of the previous one and the entry ID"))
		fail_msg("unexpected reason: %s", why);

	/* Signed by a key that is no member. */
	key_seed(&stranger, 9);
	assert_null(dml_ledger_link(f->repo, stranger, s, 2, chain, &tree, &parent, &bad));
	assert_int_equal(verify_head(f, &bad, 3, &seq, &check, why, sizeof(why)), 1);
	assert_true(seq == 2);
	assert_int_equal(check, DML_CHECK_COMMIT_SIGNATURE);
	assert_non_null(strstr(why, "not a member"));
	dml_key_free(stranger);

	/* And the ledger itself is as it was. */
	assert_verifies(f, 3);
	dml_stmt_free(s);
	dml_stmt_free(s1);
}

static void
test_revocation_is_forward_only(void **state)
{
	struct fixture *f = *state;
	struct dml_stmt_builder b;
	char id[DML_KEY_ID_LEN + 1];
	const struct dml_error *err;

	add_other(f, id);
	assert_null(note(f->l, f->other, "before revocation"));
	dml_stmt_builder_init(&b, "key.revoke");
	assert_null(dml_stmt_builder_add(&b, "key", id));
	assert_null(dml_ledger_append(f->l, f->founder, &b, 3000, NULL, 0, NULL));
	dml_stmt_builder_release(&b);
	err = note(f->l, f->other, "after revocation");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_DENIED);
	assert_non_null(strstr(err->msg, "revoked"));
	assert_verifies(f, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_member_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_lands_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_conflict_adds_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attachments_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revocation_is_forward_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_refused, setup, teardown),
		cmocka_unit_test(test_link_message),
		cmocka_unit_test_setup_teardown(test_relink_by_another_member, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
