/*
 * test_entry.c - canonical statements (dml/entry.h) and the state rules
 * (dml_state_step in dml/ledger.h).
 *
 * The statement format promises one byte string per meaning.  These tests
 * hold it to that: whatever the builder writes parses back to the same
 * bytes and ID, and every way of writing the same thing differently (a
 * stray space, CRLF, an uppercase digit, a reordered field...) is refused
 * with DML_ERR_PARSE and a message that names the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "dml/entry.h"
#include "dml/ledger.h"

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define HEX_C "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_A "ed25519:" HEX_A
#define KEY_B "ed25519:" HEX_B
#define KEY_C "ed25519:" HEX_C
#define ID_A "sha256:" HEX_A
#define ID_B "sha256:" HEX_B
#define ID_C "sha256:" HEX_C

/* The five header lines of a statement of TYPE (fixed ledger, author, time). */
#define HDR(type) \
	"dmlctl-entry 1\n" \
	"type " type "\n" \
	"ledger " ID_A "\n" \
	"author " KEY_B "\n" \
	"time 1700000000\n"

/* A note whose header lines are the given ones: body "message x" on line 6. */
#define NOTE_WITH(l1, l2, l3, l4, l5) l1 "\n" l2 "\n" l3 "\n" l4 "\n" l5 "\nmessage x\n"
#define L1 "dmlctl-entry 1"
#define L2 "type note"
#define L3 "ledger " ID_A
#define L4 "author " KEY_B
#define L5 "time 1"

#define NOTE HDR("note") "message hello world\n"

/* ---------------------------------------------------------------------------
 * Helpers */

static struct dml_stmt *
parse_ok_n(const char *text, size_t n)
{
	struct dml_stmt *s = NULL;
	const struct dml_error *err = dml_stmt_parse(&s, text, n);

	if (err != NULL)
		fail_msg("unexpected parse error: %s\n--- text:\n%.*s", err->msg, (int)n, text);
	assert_non_null(s);
	return s;
}

static struct dml_stmt *
parse_ok(const char *text)
{
	return parse_ok_n(text, strlen(text));
}

/*
 * Parsing must fail with `code`; when `needle` is set the message must
 * contain it (usually "line N").
 */
static void
parse_fails_n(const char *text, size_t n, enum dml_error_code code, const char *needle)
{
	struct dml_stmt *s = (struct dml_stmt *)1;
	const struct dml_error *err = dml_stmt_parse(&s, text, n);

	if (err == NULL) {
		dml_stmt_free(s);
		fail_msg("non-canonical statement was accepted:\n%.*s", (int)n, text);
	}
	assert_null(s);
	if (err->code != code)
		fail_msg("error code %d, expected %d: %s", err->code, code, err->msg);
	if (needle != NULL && strstr(err->msg, needle) == NULL)
		fail_msg("message '%s' does not contain '%s'", err->msg, needle);
}

static void
parse_fails(const char *text, const char *needle)
{
	parse_fails_n(text, strlen(text), DML_ERR_PARSE, needle);
}

static void
fill(unsigned char *p, size_t n, unsigned char v)
{
	memset(p, v, n);
}

/* The same statement again through the parser and through the builder. */
static void
assert_round_trip(const struct dml_stmt *s)
{
	struct dml_stmt *again = NULL, *rebuilt = NULL;
	struct dml_stmt_builder b;
	unsigned char id[32];
	size_t i;

	/* The ID is the SHA-256 of exactly the statement bytes. */
	dml_sha256(id, s->text, s->len);
	assert_memory_equal(id, s->id, 32);
	assert_int_equal(strlen(s->text), s->len);

	again = parse_ok_n(s->text, s->len);
	assert_int_equal(again->len, s->len);
	assert_memory_equal(again->text, s->text, s->len);
	assert_memory_equal(again->id, s->id, 32);
	assert_ptr_equal(again->type, s->type);
	/* The place in the ledger is not in the statement: the parser leaves it 0. */
	assert_true(again->seq == 0);
	assert_true(again->time == s->time);
	assert_memory_equal(again->ledger, s->ledger, 32);
	assert_memory_equal(again->author.pk, s->author.pk, 32);
	assert_int_equal(again->nfields, s->nfields);

	/* Re-encode from the parsed fields, given in reverse order. */
	dml_stmt_builder_init(&b, again->type->name);
	b.time = again->time;
	memcpy(b.ledger, again->ledger, 32);
	b.author = again->author;
	for (i = again->nfields; i-- > 0;) {
		char *v = malloc(again->fields[i].len + 1);
		assert_non_null(v);
		assert_int_equal(dml_field_copy(&again->fields[i], v, again->fields[i].len + 1), 0);
		assert_null(dml_stmt_builder_add(&b, again->fields[i].spec->name, v));
		free(v);
	}
	assert_null(dml_stmt_build(&rebuilt, &b));
	assert_int_equal(rebuilt->len, s->len);
	assert_memory_equal(rebuilt->text, s->text, s->len);
	assert_memory_equal(rebuilt->id, s->id, 32);
	dml_stmt_builder_release(&b);
	dml_stmt_free(rebuilt);
	dml_stmt_free(again);
}

/* Build TYPE with name/value pairs (NULL-terminated); assert it succeeds. */
static struct dml_stmt *
build(const char *type, unsigned char ledgerbyte, unsigned char authorbyte, uint64_t time, ...)
{
	struct dml_stmt_builder b;
	struct dml_stmt *s = NULL;
	const struct dml_error *err;
	const char *name;
	va_list ap;

	dml_stmt_builder_init(&b, type);
	b.time = time;
	fill(b.ledger, 32, ledgerbyte);
	fill(b.author.pk, 32, authorbyte);
	va_start(ap, time);
	while ((name = va_arg(ap, const char *)) != NULL)
		assert_null(dml_stmt_builder_add(&b, name, va_arg(ap, const char *)));
	va_end(ap);
	err = dml_stmt_build(&s, &b);
	if (err != NULL)
		fail_msg("cannot build '%s': %s", type, err->msg);
	dml_stmt_builder_release(&b);
	return s;
}

/* ---------------------------------------------------------------------------
 * Round trips */

static void
test_round_trip_genesis(void **state)
{
	struct dml_stmt *s = build("ledger.genesis", 0, 0xaa, 1700000000,
	    "allow", "note member",
	    "member", KEY_B " member",
	    "name", "Heart study consortium",
	    "member", KEY_A " admin,member,treasurer",
	    "allow", "key.add admin",
	    NULL);
	static const char want[] =
	    "dmlctl-entry 1\n"
	    "type ledger.genesis\n"
	    "ledger sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
	    "author ed25519:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "time 1700000000\n"
	    "name Heart study consortium\n"
	    "member " KEY_A " admin,member,treasurer\n"
	    "member " KEY_B " member\n"
	    "allow key.add admin\n"
	    "allow note member\n";

	(void)state;
	/* Schema order, repeated values sorted bytewise. */
	assert_string_equal(s->text, want);
	assert_string_equal(s->type->name, "ledger.genesis");
	assert_int_equal(s->nfields, 5);
	assert_round_trip(s);
	dml_stmt_free(s);

	/* Without the optional allow lines. */
	s = build("ledger.genesis", 0, 0xaa, 0, "name", "x", "member", KEY_A " admin", NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_key_add(void **state)
{
	struct dml_stmt *s = build("key.add", 0x11, 0x22, 1700000123,
	    "name", "Alice (lab 2)", "roles", "coordinator,member", "key", KEY_C, NULL);
	const struct dml_field *f;
	unsigned char ledger[32];
	uint64_t v;
	char buf[128];
	const char *p;
	size_t n;

	(void)state;
	assert_non_null(strstr(s->text, "\nledger sha256:1111111111111111111111111111111111111111"
	    "111111111111111111111111\nauthor ed25519:22222222"));
	assert_non_null(strstr(s->text, "\nkey " KEY_C "\nroles coordinator,member\n"
	    "name Alice (lab 2)\n"));
	fill(ledger, 32, 0x11);
	assert_memory_equal(s->ledger, ledger, 32);
	assert_true(s->seq == 0);
	assert_true(s->time == 1700000123);
	f = dml_stmt_field(s, "roles");
	assert_non_null(f);
	assert_int_equal(dml_field_copy(f, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "coordinator,member");
	assert_int_equal(dml_field_copy(f, buf, 5), -1);
	assert_int_equal(dml_field_part(f, 0, &p, &n), 0);
	assert_int_equal(n, strlen("coordinator,member"));
	assert_int_equal(dml_field_part(f, 1, &p, &n), -1);
	assert_int_equal(dml_field_uint(f, &v), -1);
	assert_null(dml_stmt_field(s, "reason"));
	assert_round_trip(s);
	dml_stmt_free(s);

	s = build("key.add", 0x11, 0x22, 5, "key", KEY_C, "roles", "member", NULL);
	assert_null(dml_stmt_field(s, "name"));
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_key_revoke(void **state)
{
	struct dml_stmt *s = build("key.revoke", 0xff, 0x01,
	    9223372036854775807ULL, "reason", "laptop stolen — rotate", "key", KEY_A, NULL);

	(void)state;
	assert_true(s->time == 9223372036854775807ULL);
	assert_round_trip(s);
	dml_stmt_free(s);
	s = build("key.revoke", 1, 2, 3, "key", KEY_A, NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_note(void **state)
{
	struct dml_stmt *s = build("note", 0x33, 0x44, 1,
	    "object", ID_B, "object", ID_A, "object", ID_C,
	    "message", "héllo wörld 日本語 😀 \"quotes\" and a\\backslash", NULL);
	const struct dml_field *f;
	size_t i = 0, count = 0;
	char buf[DML_ID_LEN + 1];

	(void)state;
	/* Objects come out sorted. */
	while ((f = dml_stmt_next(s, "object", &i)) != NULL) {
		assert_int_equal(dml_field_copy(f, buf, sizeof(buf)), 0);
		assert_string_equal(buf, count == 0 ? ID_C : count == 1 ? ID_A : ID_B);
		count++;
	}
	assert_int_equal(count, 3);
	assert_round_trip(s);
	dml_stmt_free(s);

	s = build("note", 0, 0, 0, "message", "x", NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_dataset_publish(void **state)
{
	/* Fields given out of order; optional ones present, then absent. */
	struct dml_stmt *s = build("dataset.publish", 0x10, 0x20, 1700000000,
	    "description", "heart disease — Cleveland subset", "allow", "evaluate,train",
	    "price", "10", "license", "CC-BY-4.0", "columns", "14", "rows", "303",
	    "schema", ID_B, "manifest", ID_A, "format", "csv", "size", "11328",
	    "file", ID_C, "previous", ID_A, "version", "2", "name", "heart", NULL);

	(void)state;
	assert_string_equal(s->type->name, "dataset.publish");
	assert_int_equal(s->nfields, 14);
	assert_round_trip(s);
	dml_stmt_free(s);
	s = build("dataset.publish", 0, 0, 0, "name", "h", "version", "1", "file", ID_C,
	    "size", "0", "format", "tsv", "manifest", ID_A, "schema", ID_A, "rows", "1",
	    "columns", "1", "price", "0", "allow", "train", NULL);
	assert_int_equal(s->nfields, 11);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_model_train(void **state)
{
	/* Repeated fields out of order; a metric value that is not a token. */
	struct dml_stmt *s = build("model.train", 0x30, 0x40, 1700000000,
	    "metric", "valid.r2 -0.25", "metric", "train.mse 0.5", "dmlctl", "0.1.0",
	    "column", "x%20y", "column", "age", "dataset", "b 2 " ID_C, "dataset", "a 1 " ID_B,
	    "holdout", "0.2 7", "lambda", "1e-05", "options", "intercept,standardize",
	    "rows", "10", "dropped", "0", "held", "3", "features", "2", "method", "cholesky",
	    "rank", "3", "kind", "ridge", "target", "y", "model", ID_A, "previous", ID_B,
	    "version", "2", "name", "m", NULL);

	(void)state;
	assert_string_equal(s->type->name, "model.train");
	assert_int_equal(s->nfields, 22);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_rounds(void **state)
{
	struct dml_stmt *s;

	(void)state;
	s = build("round.open", 0x50, 0x60, 1700000000, "pool", "100", "validation",
	    "v 1 " ID_C, "base", ID_A, "min-updates", "2", "lambda", "0.1", "local-steps", "5",
	    "select", "2", "byzantine", "1", "beta", "0.2", "options", "intercept,strict",
	    "column", "x2", "column", "x1", "target", "label", "rule", "multi-krum", "mode",
	    "weights", "kind", "logistic", "name", "r1", NULL);
	assert_int_equal(s->nfields, 17);
	assert_round_trip(s);
	dml_stmt_free(s);
	s = build("update.submit", 0x50, 0x60, 1700000000, "samples", "300", "contributor",
	    KEY_A, "update", ID_B, "round", "r1", NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
	s = build("round.aggregate", 0x50, 0x60, 1700000000, "privacy",
	    ID_A " 1 0.5 9.25", "rejected", ID_C " not selected by krum", "rejected",
	    ID_B " bad signature", "accepted", ID_A, "updates", "3", "model", ID_C, "round",
	    "r1 " ID_B, NULL);
	assert_int_equal(s->nfields, 7);
	assert_round_trip(s);
	dml_stmt_free(s);
	s = build("round.close", 0x50, 0x60, 1700000000, "round", "r2 " ID_B, NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
}

static void
test_round_trip_reward_pay(void **state)
{
	struct dml_stmt *s = build("reward.pay", 0x70, 0x80, 1700000000, "pay",
	    KEY_A " 460 0.40887512", "pay", KEY_B " 540 0.5", "pool", "1000", "samples", "0",
	    "utility", "mse", "method", "exact", "round", "s1 " ID_A, NULL);

	(void)state;
	assert_int_equal(s->nfields, 7);
	assert_round_trip(s);
	dml_stmt_free(s);
	/* genesis with an initial supply */
	s = build("ledger.genesis", 0, 0x10, 1700000000, "supply", KEY_A " 1000000",
	    "member", KEY_A " admin,treasurer", "name", "g", NULL);
	assert_round_trip(s);
	dml_stmt_free(s);
}

/* Every type in the table has a round-trip test above. */
static void
test_round_trip_covers_every_type(void **state)
{
	static const char *const tested[] = { "ledger.genesis", "key.add", "key.revoke", "note",
		"dataset.publish", "model.train", "round.open", "update.submit", "round.aggregate",
		"round.close", "reward.pay" };
	const struct dml_entry_type *t;
	size_t i, j, count = 0;

	(void)state;
	for (i = 0; (t = dml_entry_type_at(i)) != NULL; i++) {
		for (j = 0; j < sizeof(tested) / sizeof(tested[0]); j++)
			if (strcmp(t->name, tested[j]) == 0)
				break;
		if (j == sizeof(tested) / sizeof(tested[0]))
			fail_msg("entry type '%s' has no round-trip test", t->name);
		assert_ptr_equal(dml_entry_type_find(t->name, strlen(t->name)), t);
		count++;
	}
	assert_int_equal(count, sizeof(tested) / sizeof(tested[0]));
	assert_null(dml_entry_type_find("note", 3));
	assert_null(dml_entry_type_find("notes", 5));
}

static void
test_parse_fields(void **state)
{
	struct dml_stmt *s = parse_ok(NOTE);
	unsigned char a[32];

	(void)state;
	assert_string_equal(s->type->name, "note");
	assert_true(s->seq == 0);	/* not in the statement: the ledger sets it */
	assert_true(s->time == 1700000000);
	assert_int_equal(dml_id_parse(a, ID_A, strlen(ID_A)), 0);
	assert_memory_equal(s->ledger, a, 32);
	assert_int_equal(dml_hex_decode(a, 32, HEX_B, 64), 0);
	assert_memory_equal(s->author.pk, a, 32);
	assert_int_equal(s->nfields, 1);
	assert_int_equal(s->fields[0].len, strlen("hello world"));
	assert_memory_equal(s->fields[0].value, "hello world", s->fields[0].len);
	dml_stmt_free(s);

	/* Boundary values that are canonical. */
	dml_stmt_free(parse_ok(NOTE_WITH(L1, L2, L3, L4, "time 0")));
	s = parse_ok(NOTE_WITH(L1, L2, L3, L4, "time 9223372036854775807"));
	assert_true(s->time == 9223372036854775807ULL);
	dml_stmt_free(s);
	/* Any ledger ID is well-formed, the all-zero one (a genesis entry's) too. */
	s = parse_ok(NOTE_WITH(L1, L2, "ledger sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000", L4, L5));
	fill(a, 32, 0);
	assert_memory_equal(s->ledger, a, 32);
	dml_stmt_free(s);
	/* Spaces inside text are part of the text. */
	dml_stmt_free(parse_ok(HDR("note") "message a  b   c\n"));
}

static void
test_id_format_parse(void **state)
{
	unsigned char id[32], back[32];
	char text[DML_ID_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		id[i] = (unsigned char)(i * 37 + 5);
	dml_id_format(text, id);
	assert_int_equal(strlen(text), DML_ID_LEN);
	assert_int_equal(dml_id_parse(back, text, DML_ID_LEN), 0);
	assert_memory_equal(id, back, 32);
	assert_int_equal(dml_id_parse(back, text, DML_ID_LEN - 1), -1);
	text[10] = 'A';
	assert_int_equal(dml_id_parse(back, text, DML_ID_LEN), -1);
	assert_int_equal(dml_id_parse(back, "sha512:" HEX_A, 71), -1);
}

/* ---------------------------------------------------------------------------
 * Builder errors */

static void
test_builder_errors(void **state)
{
	struct dml_stmt_builder b;
	struct dml_stmt *s = (struct dml_stmt *)1;
	const struct dml_error *err;

	(void)state;
	dml_stmt_builder_init(&b, "no.such.type");
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_null(s);
	dml_stmt_builder_release(&b);

	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", "hi"));
	assert_null(dml_stmt_builder_add(&b, "colour", "red"));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	assert_non_null(strstr(err->msg, "'colour'"));
	dml_stmt_builder_release(&b);

	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", "one"));
	assert_null(dml_stmt_builder_add(&b, "message", "two"));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	dml_stmt_builder_release(&b);

	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", "two\nlines"));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_USAGE);
	dml_stmt_builder_release(&b);

	/* A value that is not canonical is the parser's error, naming the field. */
	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", " padded"));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_non_null(strstr(err->msg, "'message'"));
	assert_null(s);
	dml_stmt_builder_release(&b);

	/* A missing required field. */
	dml_stmt_builder_init(&b, "key.add");
	assert_null(dml_stmt_builder_add(&b, "key", KEY_A));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	assert_non_null(strstr(err->msg, "'roles'"));
	dml_stmt_builder_release(&b);

	/* Duplicate values of a repeated field. */
	dml_stmt_builder_init(&b, "note");
	assert_null(dml_stmt_builder_add(&b, "message", "m"));
	assert_null(dml_stmt_builder_addf(&b, "object", "sha256:%s", HEX_A));
	assert_null(dml_stmt_builder_addf(&b, "object", "sha256:%s", HEX_A));
	err = dml_stmt_build(&s, &b);
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PARSE);
	dml_stmt_builder_release(&b);

	/* Release is idempotent. */
	dml_stmt_builder_release(&b);
}

/* ---------------------------------------------------------------------------
 * Rejection of non-canonical forms */

static void
test_reject_framing(void **state)
{
	char *big;

	(void)state;
	parse_fails_n("", 0, DML_ERR_PARSE, "empty");
	parse_fails(HDR("note") "message hello world", "newline");
	parse_fails("dmlctl-entry 1", "newline");
	parse_fails("\n", "line 1");

	/* CRLF line ends, anywhere. */
	parse_fails(NOTE_WITH(L1 "\r", L2 "\r", L3 "\r", L4 "\r", L5 "\r"), "line 1");
	parse_fails(HDR("note") "message hello world\r\n", "line 6");
	parse_fails(NOTE_WITH(L1, L2, L3 "\r", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, L5 "\r"), "line 5");

	/* Blank lines. */
	parse_fails("\n" NOTE, "line 1");
	parse_fails(HDR("note") "\nmessage hello world\n", "line 6");
	parse_fails(NOTE "\n", "line 7");
	parse_fails("dmlctl-entry 1\n\ntype note\n", "line 2");
	parse_fails("dmlctl-entry 1\ntype note\n" L3 "\n\n" L4 "\n" L5 "\nmessage x\n", "line 4");

	/* A line without a value, or without a name. */
	parse_fails(HDR("note") "message\n", "line 6");
	parse_fails(HDR("note") " hello world\n", "line 6");
	parse_fails(NOTE_WITH(L1, L2, "ledger", L4, L5), "line 3");

	/* Over the size limit: refused before anything else is looked at. */
	big = malloc(DML_STMT_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', DML_STMT_MAX + 1);
	memcpy(big, NOTE, strlen(NOTE));
	big[DML_STMT_MAX] = '\n';
	parse_fails_n(big, DML_STMT_MAX + 1, DML_ERR_PARSE, "larger");
	free(big);
}

static void
test_reject_whitespace(void **state)
{
	(void)state;
	/* Trailing spaces. */
	parse_fails(NOTE_WITH(L1 " ", L2, L3, L4, L5), "line 1");
	parse_fails(NOTE_WITH(L1, L2 " ", L3, L4, L5), "line 2");
	parse_fails(NOTE_WITH(L1, L2, L3 " ", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, L4 " ", L5), "line 4");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, L5 " "), "line 5");
	parse_fails(HDR("note") "message hello world \n", "line 6");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin \n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A " \nroles admin\n", "line 6");

	/* Double spaces between name and value, or between parts. */
	parse_fails(NOTE_WITH("dmlctl-entry  1", L2, L3, L4, L5), "line 1");
	parse_fails(NOTE_WITH(L1, "type  note", L3, L4, L5), "line 2");
	parse_fails(NOTE_WITH(L1, L2, "ledger  " ID_A, L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, "author  " KEY_B, L5), "line 4");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time  1"), "line 5");
	parse_fails(HDR("note") "message  hello world\n", "line 6");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A "  admin\n", "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nallow note  member\n",
	    "line 8");

	/* Tabs are neither separators nor text. */
	parse_fails(HDR("note") "message\thello\n", "line 6");
	parse_fails(NOTE_WITH("dmlctl-entry\t1", L2, L3, L4, L5), "line 1");
	parse_fails(NOTE_WITH(L1, L2, "ledger\t" ID_A, L4, L5), "line 3");

	/* Text with leading or trailing space. */
	parse_fails(HDR("ledger.genesis") "name  consortium\nmember " KEY_A " admin\n", "line 6");
	parse_fails(HDR("ledger.genesis") "name consortium \nmember " KEY_A " admin\n", "line 6");
	parse_fails(HDR("key.revoke") "key " KEY_A "\nreason  lost\n", "line 7");
	parse_fails(HDR("key.revoke") "key " KEY_A "\nreason lost \n", "line 7");
	parse_fails(HDR("note") "message  \n", "line 6");
}

static void
test_reject_numbers(void **state)
{
	(void)state;
	/* Leading zeros. */
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 01"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 00"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 01700000000"), "line 5");
	/* Signs, hex, exponents, fractions. */
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time +1"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time -1"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 0x1"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 1e9"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 1.0"), "line 5");
	/* Above 2^63 - 1. */
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 9223372036854775808"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 18446744073709551615"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 18446744073709551616"), "line 5");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time 99999999999999999999999"), "line 5");
	/* The same rules in a body field. */
	dml_stmt_free(parse_ok(HDR("reward.pay") "round r1 " ID_A "\nmethod exact\nutility mse\n"
	    "samples 0\npool 10\npay " KEY_A " 10 1\n"));
	parse_fails(HDR("reward.pay") "round r1 " ID_A "\nmethod exact\nutility mse\n"
	    "samples 0\npool 010\npay " KEY_A " 10 1\n", "line 10: field 'pool'");
	parse_fails(HDR("reward.pay") "round r1 " ID_A "\nmethod exact\nutility mse\n"
	    "samples 0\npool 9223372036854775808\npay " KEY_A " 10 1\n", "line 10: field 'pool'");
}

static void
test_reject_hex(void **state)
{
	(void)state;
	/* Uppercase hex. */
	parse_fails(NOTE_WITH(L1, L2, "ledger "
	    "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", L4, L5),
	    "line 3: field 'ledger'");
	parse_fails(NOTE_WITH(L1, L2, L3, "author "
	    "ed25519:FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210", L5),
	    "line 4: field 'author'");
	parse_fails(NOTE_WITH(L1, L2, "ledger SHA256:" HEX_A, L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, "author Ed25519:" HEX_B, L5), "line 4");
	parse_fails(HDR("note") "message x\nobject "
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF\n", "line 7");
	parse_fails(HDR("key.add") "key "
	    "ed25519:0123456789abcdef0123456789abcdef0123456789abcdef0123456789aBcdef\n"
	    "roles admin\n", "line 6");
	/* Wrong length, or the wrong kind of value. */
	parse_fails(NOTE_WITH(L1, L2, "ledger "
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", L4, L5),
	    "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3 "0", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, "ledger sha256:", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, "ledger " KEY_A, L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, "ledger " HEX_A, L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, "ledger 0", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, L4 "00", L5), "line 4");
	parse_fails(NOTE_WITH(L1, L2, L3, "author ed25519:", L5), "line 4");
	parse_fails(NOTE_WITH(L1, L2, L3, "author " ID_B, L5), "line 4");
	parse_fails(HDR("note") "message x\nobject sha256:" HEX_A "ab\n", "line 7");
	/* Not hex at all. */
	parse_fails(NOTE_WITH(L1, L2, "ledger "
	    "sha256:0123456789abcdefg123456789abcdef0123456789abcdef0123456789abcdef", L4, L5),
	    "line 3");
}

static void
test_reject_header(void **state)
{
	(void)state;
	/* Version: an unknown one is unsupported, a non-canonical one malformed. */
	parse_fails_n(NOTE_WITH("dmlctl-entry 2", L2, L3, L4, L5),
	    strlen(NOTE_WITH("dmlctl-entry 2", L2, L3, L4, L5)), DML_ERR_UNSUPPORTED, "line 1");
	parse_fails_n("dmlctl-entry 10\ntype note\n", strlen("dmlctl-entry 10\ntype note\n"),
	    DML_ERR_UNSUPPORTED, "line 1");
	parse_fails_n("dmlctl-entry 0\n", strlen("dmlctl-entry 0\n"), DML_ERR_UNSUPPORTED,
	    "line 1");
	parse_fails("dmlctl-entry 01\ntype note\n", "line 1");
	parse_fails("dmlctl-entry v1\ntype note\n", "line 1");
	parse_fails("dmlctl-Entry 1\ntype note\n", "line 1");
	parse_fails("type note\ndmlctl-entry 1\n", "line 1");

	/*
	 * The header of the first format, with seq and prev, is not this one:
	 * a statement names its ledger, not its place in it.
	 */
	parse_fails("dmlctl-entry 1\ntype note\nseq 1\nprev " ID_A "\nauthor " KEY_B
	    "\ntime 1\nmessage x\n", "line 3: expected field 'ledger'");
	parse_fails("dmlctl-entry 1\ntype note\nprev " ID_A "\nauthor " KEY_B
	    "\ntime 1\nmessage x\n", "line 3: expected field 'ledger'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\nseq 1\nauthor " KEY_B
	    "\ntime 1\nmessage x\n", "line 4: expected field 'author'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\nprev " ID_A "\nauthor " KEY_B
	    "\ntime 1\nmessage x\n", "line 4: expected field 'author'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\nauthor " KEY_B
	    "\ntime 1\nseq 1\nmessage x\n", "line 6: missing field 'message' before 'seq'");
	parse_fails(NOTE "prev " ID_A "\n", "line 7: unknown field 'prev'");
	parse_fails(NOTE "ledger " ID_A "\n", "line 7: unknown field 'ledger'");
	/* Near misses of the field name. */
	parse_fails(NOTE_WITH(L1, L2, "Ledger " ID_A, L4, L5), "line 3: expected field 'ledger'");
	parse_fails(NOTE_WITH(L1, L2, "ledgers " ID_A, L4, L5), "line 3: expected field 'ledger'");

	/* Header fields out of order. */
	parse_fails(NOTE_WITH(L1, L3, L2, L4, L5), "line 2");
	parse_fails(NOTE_WITH(L1, L2, L4, L3, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, L5, L4), "line 4");
	parse_fails(NOTE_WITH(L2, L1, L3, L4, L5), "line 1");
	/* Header field missing, or repeated. */
	parse_fails("dmlctl-entry 1\ntype note\nauthor " KEY_B "\ntime 1\nmessage x\n",
	    "line 3: expected field 'ledger'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\ntime 1\nmessage x\n",
	    "line 4: expected field 'author'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\nauthor " KEY_B "\n",
	    "line 5: missing field 'time'");
	parse_fails("dmlctl-entry 1\ntype note\nledger " ID_A "\n", "line 4: missing field 'author'");
	parse_fails("dmlctl-entry 1\ntype note\n", "line 3: missing field 'ledger'");
	parse_fails("dmlctl-entry 1\n", "line 2: missing field 'type'");
	parse_fails("dmlctl-entry 1\ntype note\ntype note\n", "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, L3, L5), "line 4");

	/* Unknown types, and types that are not tokens. */
	parse_fails(NOTE_WITH(L1, "type note.delete", L3, L4, L5), "line 2: unknown entry type");
	parse_fails(NOTE_WITH(L1, "type Note", L3, L4, L5), "line 2");
	parse_fails(NOTE_WITH(L1, "type .note", L3, L4, L5), "line 2");
}

static void
test_reject_body_fields(void **state)
{
	(void)state;
	/* Unknown fields, including header names in the body and near misses. */
	parse_fails(NOTE "colour red\n", "line 7: unknown field 'colour'");
	parse_fails(HDR("note") "colour red\nmessage x\n", "line 6");
	parse_fails(NOTE "seq 2\n", "line 7");
	parse_fails(NOTE "author " KEY_A "\n", "line 7");
	parse_fails(NOTE "time 2\n", "line 7");
	parse_fails(HDR("note") "Message x\n", "line 6");
	parse_fails(HDR("note") "messages x\n", "line 6");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin\nreason x\n", "line 8");

	/* Duplicate fields. */
	parse_fails(NOTE "message again\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nkey " KEY_B "\nroles admin\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin\nname a\nname b\n", "line 9");
	parse_fails(HDR("ledger.genesis") "name a\nname b\nmember " KEY_A " admin\n", "line 7");

	/* Out of order. */
	parse_fails(HDR("key.add") "roles admin\nkey " KEY_A "\n", "line 6");
	parse_fails(HDR("key.add") "key " KEY_A "\nname bob\nroles admin\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin\nname bob\nroles member\n",
	    "line 9: field 'roles' is duplicated or out of order");
	parse_fails(HDR("key.revoke") "reason lost\nkey " KEY_A "\n", "line 6");
	parse_fails(HDR("note") "object " ID_A "\nmessage x\n", "line 6");
	parse_fails(HDR("ledger.genesis") "member " KEY_A " admin\nname n\n", "line 6");
	parse_fails(HDR("ledger.genesis") "name n\nallow note admin\nmember " KEY_A " admin\n",
	    "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nallow note admin\n"
	    "member " KEY_B " admin\n", "line 9");

	/* Missing required fields. */
	parse_fails(HDR("note"), "line 6: missing field 'message'");
	parse_fails(HDR("note") "object " ID_A "\n", "missing field 'message'");
	parse_fails(HDR("key.add") "key " KEY_A "\n", "line 7: missing field 'roles'");
	parse_fails(HDR("key.add") "roles admin\n", "missing field 'key'");
	parse_fails(HDR("key.add") "key " KEY_A "\nname bob\n", "missing field 'roles'");
	parse_fails(HDR("key.revoke"), "missing field 'key'");
	parse_fails(HDR("key.revoke") "reason lost\n", "missing field 'key'");
	parse_fails(HDR("ledger.genesis") "name n\n", "line 7: missing field 'member'");
	parse_fails(HDR("ledger.genesis") "member " KEY_A " admin\n", "missing field 'name'");
	parse_fails(HDR("ledger.genesis") "name n\nallow note admin\n", "missing field 'member'");
}

static void
test_reject_repeated(void **state)
{
	(void)state;
	/* Repeated values out of order, or duplicated. */
	parse_fails(NOTE "object " ID_B "\nobject " ID_A "\n",
	    "line 8: field 'object': repeated values must be unique");
	parse_fails(NOTE "object " ID_A "\nobject " ID_A "\n", "line 8");
	parse_fails(NOTE "object " ID_A "\nobject " ID_B "\nobject " ID_B "\n", "line 9");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_B " admin\nmember " KEY_A
	    " admin\n", "line 8");
	/* The same key twice, even with different roles. */
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nmember " KEY_A
	    " admin\n", "line 8");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " member\nmember " KEY_A
	    " admin\n", "line 8");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nallow note member\n"
	    "allow key.add admin\n", "line 9");
	/* Sorted is accepted. */
	dml_stmt_free(parse_ok(NOTE "object " ID_C "\nobject " ID_A "\nobject " ID_B "\n"));
	dml_stmt_free(parse_ok(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nmember "
	    KEY_A " member\n"));

	/* Roles must be strictly increasing tokens. */
	parse_fails(HDR("key.add") "key " KEY_A "\nroles member,admin\n",
	    "line 7: field 'roles'");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin,admin\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin,\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles ,admin\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin,,member\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin, member\n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles Admin\n", "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " treasurer,admin\n",
	    "line 7: field 'member': part 2");
	dml_stmt_free(parse_ok(HDR("key.add") "key " KEY_A "\nroles a,ab,b\n"));
}

static void
test_reject_empty_values(void **state)
{
	(void)state;
	parse_fails("dmlctl-entry \ntype note\n", "line 1");
	parse_fails("dmlctl-entry 1\ntype \nledger " ID_A "\n", "line 2");
	parse_fails(NOTE_WITH(L1, L2, "ledger ", L4, L5), "line 3");
	parse_fails(NOTE_WITH(L1, L2, L3, "author ", L5), "line 4");
	parse_fails(NOTE_WITH(L1, L2, L3, L4, "time "), "line 5");
	parse_fails(HDR("note") "message \n", "line 6");
	parse_fails(HDR("key.add") "key \nroles admin\n", "line 6");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles \n", "line 7");
	parse_fails(HDR("key.add") "key " KEY_A "\nroles admin\nname \n", "line 8");
	parse_fails(HDR("ledger.genesis") "name n\nmember \n", "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A "\n", "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " \n", "line 7");
	parse_fails(HDR("ledger.genesis") "name n\nmember " KEY_A " admin\nallow note\n",
	    "line 8");
	parse_fails(HDR("note") "message x\nobject \n", "line 7");
}

static void
test_reject_control_and_utf8(void **state)
{
	static const char *const bad[] = {
		"a\001b",		/* C0 controls */
		"a\033[31mred",
		"a\rb",
		"a\vb",
		"a\fb",
		"a\177b",		/* DEL */
		"a\302\205b",		/* U+0085, a C1 control */
		"a\302\237b",		/* U+009F */
		"\300\257",		/* overlong '/' */
		"\301\277",		/* overlong U+007F */
		"\340\200\257",		/* overlong, 3 bytes */
		"\360\200\200\257",	/* overlong, 4 bytes */
		"\355\240\200",		/* surrogate U+D800 */
		"\355\277\277",		/* surrogate U+DFFF */
		"\364\220\200\200",	/* U+110000 */
		"\365\200\200\200",
		"\370\210\200\200\200",	/* 5-byte form */
		"\376",
		"\377",
		"\200",			/* bare continuation */
		"a\277b",
		"\342\202",		/* truncated at the end of the value */
		"\342\202 x",		/* truncated before a space */
		"\360\237\230",		/* truncated 4-byte */
		"\303",
		"\303(",		/* lead byte followed by ASCII */
	};
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), HDR("note") "message %s\n", bad[i]);
		parse_fails(text, "line 6: field 'message'");
		/* The same as the value kind says. */
		assert_false(dml_value_valid(DML_V_TEXT, bad[i], strlen(bad[i])));
	}
	/* NUL bytes: in the body and in a name. */
	{
		static const char nul[] = HDR("note") "message a\0b\n";
		static const char nul2[] = HDR("note") "mess\0ge x\n";
		parse_fails_n(nul, sizeof(nul) - 1, DML_ERR_PARSE, "line 6");
		parse_fails_n(nul2, sizeof(nul2) - 1, DML_ERR_PARSE, "line 6");
	}
	/* Valid multi-byte text is fine. */
	dml_stmt_free(parse_ok(HDR("note") "message x\302\240 \344\275\240\345\245\275 "
	    "\360\237\230\200 \357\277\275\n"));
}

static void
test_reject_long_values(void **state)
{
	char text[DML_TEXT_MAX + 512], *p;
	const size_t hl = strlen(HDR("note") "message ");

	(void)state;
	/* Text of exactly DML_TEXT_MAX bytes is fine; one more is not. */
	memcpy(text, HDR("note") "message ", hl);
	p = text + hl;
	memset(p, 'x', DML_TEXT_MAX);
	p[DML_TEXT_MAX] = '\n';
	dml_stmt_free(parse_ok_n(text, hl + DML_TEXT_MAX + 1));
	p[DML_TEXT_MAX] = 'x';
	p[DML_TEXT_MAX + 1] = '\n';
	parse_fails_n(text, hl + DML_TEXT_MAX + 2, DML_ERR_PARSE, "line 6");

	/* Tokens: at most DML_TOKEN_MAX bytes. */
	snprintf(text, sizeof(text), HDR("key.add") "key " KEY_A "\nroles %.*s\n",
	    DML_TOKEN_MAX, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	dml_stmt_free(parse_ok(text));
	snprintf(text, sizeof(text), HDR("key.add") "key " KEY_A "\nroles %.*s\n",
	    DML_TOKEN_MAX + 1,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	parse_fails(text, "line 7");
}

/* ---------------------------------------------------------------------------
 * dml_value_valid, kind by kind */

struct vcase {
	const char *s;
	int ok;
};

static void
check_kind(enum dml_vkind kind, const struct vcase *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (dml_value_valid(kind, c[i].s, strlen(c[i].s)) != c[i].ok)
			fail_msg("kind %d: '%s' should be %s", kind, c[i].s,
			    c[i].ok ? "valid" : "invalid");
}

#define CHECK_KIND(kind, table) check_kind(kind, table, sizeof(table) / sizeof(table[0]))

static void
test_value_uint(void **state)
{
	static const struct vcase c[] = {
		{ "0", 1 }, { "1", 1 }, { "10", 1 }, { "1700000000", 1 },
		{ "9223372036854775807", 1 },
		{ "9223372036854775808", 0 }, { "9999999999999999999", 0 },
		{ "18446744073709551615", 0 }, { "18446744073709551616", 0 },
		{ "00", 0 }, { "01", 0 }, { "007", 0 },
		{ "", 0 }, { " 1", 0 }, { "1 ", 0 }, { "+1", 0 }, { "-1", 0 }, { "-0", 0 },
		{ "1a", 0 }, { "0x10", 0 }, { "1e3", 0 }, { "1.5", 0 }, { "١", 0 },
	};

	(void)state;
	CHECK_KIND(DML_V_UINT, c);
}

static void
test_value_key(void **state)
{
	static const struct vcase c[] = {
		{ KEY_A, 1 }, { KEY_B, 1 }, { KEY_C, 1 },
		{ "ed25519:" "0000000000000000000000000000000000000000000000000000000000000000", 1 },
		{ "ed25519:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", 0 },
		{ "ed25519:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", 0 },
		{ "ed25519:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", 0 },
		{ "ed25519:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", 0 },
		{ "ed25519:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ", 0 },
		{ "Ed25519:" HEX_A, 0 }, { "ed25519 " HEX_A, 0 }, { "ed448:" HEX_A, 0 },
		{ "sha256:" HEX_A, 0 }, { HEX_A, 0 }, { "ed25519:", 0 }, { "", 0 },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIItus8qHZU5SFs1JULO8mLhHBq80N1MOhz9FC+G9Ebr5",
		    0 },
	};

	(void)state;
	CHECK_KIND(DML_V_KEY, c);
}

static void
test_value_id(void **state)
{
	static const struct vcase c[] = {
		{ ID_A, 1 }, { ID_B, 1 },
		{ "sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF", 0 },
		{ "sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", 0 },
		{ "sha256:" HEX_A "0", 0 }, { "SHA256:" HEX_A, 0 }, { "sha512:" HEX_A, 0 },
		{ "sha256" HEX_A, 0 }, { KEY_A, 0 }, { "sha256:", 0 }, { "", 0 },
	};

	(void)state;
	CHECK_KIND(DML_V_ID, c);
}

static void
test_value_token(void **state)
{
	static const struct vcase c[] = {
		{ "a", 1 }, { "0", 1 }, { "note", 1 }, { "key.add", 1 }, { "a_b-c.d", 1 },
		{ "0abc", 1 }, { "a.", 1 }, { "a-", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
		{ "", 0 }, { ".a", 0 }, { "-a", 0 }, { "_a", 0 }, { "A", 0 }, { "aB", 0 },
		{ "a b", 0 }, { "a,b", 0 }, { "a/b", 0 }, { "a:b", 0 }, { "é", 0 }, { " a", 0 },
		{ "a ", 0 }, { "a\tb", 0 },
	};

	(void)state;
	CHECK_KIND(DML_V_TOKEN, c);
}

static void
test_value_roles(void **state)
{
	static const struct vcase c[] = {
		{ "admin", 1 }, { "admin,member", 1 }, { "a,b,c", 1 }, { "a,ab", 1 },
		{ "admin,coordinator,member,treasurer", 1 }, { "a.b,a_b", 1 },
		{ "b,a", 0 }, { "ab,a", 0 }, { "a,a", 0 }, { "a,b,b", 0 }, { "a,c,b", 0 },
		{ "", 0 }, { ",", 0 }, { "a,", 0 }, { ",a", 0 }, { "a,,b", 0 }, { "a, b", 0 },
		{ "a ,b", 0 }, { "Admin", 0 }, { "admin,Member", 0 }, { ".a", 0 }, { "a,-b", 0 },
		{ "a;b", 0 },
	};

	(void)state;
	CHECK_KIND(DML_V_ROLES, c);
}

static void
test_value_text(void **state)
{
	static const struct vcase c[] = {
		{ "x", 1 }, { "hello world", 1 }, { "a  b", 1 }, { "héllo", 1 },
		{ "\344\275\240\345\245\275", 1 }, { "\360\237\230\200", 1 }, { "~!@#$%^&*()", 1 },
		{ "\357\277\275", 1 }, { "\364\217\277\277", 1 },	/* U+FFFD, U+10FFFF */
		{ "", 0 }, { " ", 0 }, { " a", 0 }, { "a ", 0 }, { "a\tb", 0 }, { "a\nb", 0 },
		{ "a\rb", 0 }, { "\177", 0 }, { "\302\200", 0 }, { "\300\200", 0 },
		{ "\355\240\200", 0 }, { "\364\220\200\200", 0 }, { "\342\202", 0 },
	};
	char big[DML_TEXT_MAX + 2];

	(void)state;
	CHECK_KIND(DML_V_TEXT, c);
	memset(big, 'y', sizeof(big));
	assert_true(dml_value_valid(DML_V_TEXT, big, DML_TEXT_MAX));
	assert_false(dml_value_valid(DML_V_TEXT, big, DML_TEXT_MAX + 1));
	/* A multi-byte character may not straddle the 4096-byte limit either. */
	memcpy(big + DML_TEXT_MAX - 1, "\303\251", 2);
	assert_false(dml_value_valid(DML_V_TEXT, big, DML_TEXT_MAX + 1));
	assert_false(dml_value_valid(DML_V_TEXT, "a\0b", 3));
}

static void
test_value_none(void **state)
{
	(void)state;
	assert_false(dml_value_valid(DML_V_NONE, "x", 1));
	assert_false(dml_value_valid(DML_V_NONE, "", 0));
	assert_false(dml_value_valid((enum dml_vkind)99, "1", 1));
}

/* ---------------------------------------------------------------------------
 * State rules */

struct keys {
	struct dml_key *founder, *alice, *bob, *mallory;
	char founder_id[DML_KEY_ID_LEN + 1], alice_id[DML_KEY_ID_LEN + 1],
	    bob_id[DML_KEY_ID_LEN + 1], mallory_id[DML_KEY_ID_LEN + 1];
};

static struct dml_key *
seed_key(unsigned char v, char *id)
{
	unsigned char seed[32];
	struct dml_key *k = NULL;

	memset(seed, v, sizeof(seed));
	assert_null(dml_key_from_seed(&k, seed));
	dml_pubkey_id(id, &k->pub);
	return k;
}

static int
keys_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->founder = seed_key(1, k->founder_id);
	k->alice = seed_key(2, k->alice_id);
	k->bob = seed_key(3, k->bob_id);
	k->mallory = seed_key(4, k->mallory_id);
	*state = k;
	return 0;
}

static int
keys_teardown(void **state)
{
	struct keys *k = *state;

	dml_key_free(k->founder);
	dml_key_free(k->alice);
	dml_key_free(k->bob);
	dml_key_free(k->mallory);
	free(k);
	return 0;
}

/*
 * An entry of TYPE by AUTHOR to follow the state: it names the state's
 * ledger, and its seq (which the ledger, not the statement, says) is the next.
 */
static struct dml_stmt *
entry_after(const struct dml_state *st, const char *type, const struct dml_key *author, ...)
{
	struct dml_stmt_builder b;
	struct dml_stmt *s = NULL;
	const struct dml_error *err;
	const char *name;
	uint64_t seq = st->have_genesis ? st->seq + 1 : 0;
	va_list ap;

	dml_stmt_builder_init(&b, type);
	if (st->have_genesis)
		memcpy(b.ledger, st->genesis, 32);
	b.author = author->pub;
	b.time = 1700000000 + seq;
	va_start(ap, author);
	while ((name = va_arg(ap, const char *)) != NULL)
		assert_null(dml_stmt_builder_add(&b, name, va_arg(ap, const char *)));
	va_end(ap);
	if ((err = dml_stmt_build(&s, &b)) != NULL)
		fail_msg("cannot build '%s': %s", type, err->msg);
	dml_stmt_builder_release(&b);
	s->seq = seq;
	return s;
}

/*
 * Genesis by the founder: founder admin,member; alice member; bob observer.
 * Policy: key.add and key.revoke need admin, note needs member.
 */
static struct dml_stmt *
genesis_named(const struct keys *k, const char *name)
{
	struct dml_state empty;
	char m1[128], m2[128], m3[128];

	dml_state_init(&empty);
	snprintf(m1, sizeof(m1), "%s admin,member", k->founder_id);
	snprintf(m2, sizeof(m2), "%s member", k->alice_id);
	snprintf(m3, sizeof(m3), "%s observer", k->bob_id);
	return entry_after(&empty, "ledger.genesis", k->founder, "name", name,
	    "member", m1, "member", m2, "member", m3,
	    "allow", "key.add admin", "allow", "key.revoke admin", "allow", "note member", NULL);
}

static struct dml_stmt *
genesis(const struct keys *k)
{
	return genesis_named(k, "test ledger");
}

/* SHA-256 of a || b, computed here rather than by dml_chain_next. */
static void
sha256_pair(unsigned char out[32], const unsigned char a[32], const unsigned char b[32])
{
	unsigned char both[64];

	memcpy(both, a, 32);
	memcpy(both + 32, b, 32);
	dml_sha256(out, both, sizeof(both));
}

/*
 * The step must succeed: the state moves to s's seq, the chain value to
 * SHA-256(old chain || ID), and the ID is recorded at that seq.
 */
static void
step_ok(struct dml_state *st, struct dml_stmt *s)
{
	unsigned char want[32];
	int genesis_entry = !st->have_genesis;
	const struct dml_error *err;

	sha256_pair(want, st->chain, s->id);
	assert_true(dml_state_find_id(st, s->id) == -1);
	err = dml_state_step(st, s);
	if (err != NULL)
		fail_msg("step refused: %s\n%s", err->msg, s->text);
	assert_true(st->seq == s->seq);
	assert_true(st->time == s->time);
	assert_memory_equal(st->chain, want, 32);
	assert_true(dml_state_find_id(st, s->id) == (int64_t)s->seq);
	if (genesis_entry)
		assert_memory_equal(st->genesis, s->id, 32);
	dml_stmt_free(s);
}

/* The step must be refused with `code`, and leave the state as it was. */
static void
step_fails(struct dml_state *st, struct dml_stmt *s, enum dml_error_code code, const char *needle)
{
	uint64_t seq = st->seq;
	size_t nmembers = st->nmembers, nids = st->nids;
	int64_t known = dml_state_find_id(st, s->id);
	unsigned char chain[32], gen[32];
	const struct dml_error *err;

	memcpy(chain, st->chain, 32);
	memcpy(gen, st->genesis, 32);
	err = dml_state_step(st, s);
	if (err == NULL)
		fail_msg("step accepted:\n%s", s->text);
	if (err->code != code)
		fail_msg("error code %d, expected %d: %s", err->code, code, err->msg);
	if (needle && strstr(err->msg, needle) == NULL)
		fail_msg("message '%s' does not contain '%s'", err->msg, needle);
	/* dml_state_check says the same without trying. */
	err = dml_state_check(st, s);
	assert_non_null(err);
	assert_int_equal(err->code, code);
	assert_true(st->seq == seq);
	assert_int_equal(st->nmembers, nmembers);
	assert_int_equal(st->nids, nids);
	assert_memory_equal(st->chain, chain, 32);
	assert_memory_equal(st->genesis, gen, 32);
	assert_true(dml_state_find_id(st, s->id) == known);
	dml_stmt_free(s);
}

static void
test_chain_next(void **state)
{
	static const unsigned char zero[32];
	/* SHA-256 of 64 zero bytes. */
	static const char want0[] =
	    "sha256:f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b";
	unsigned char a[32], b[32], c[32], want[32];
	char text[DML_ID_LEN + 1];

	(void)state;
	dml_chain_next(c, zero, zero);
	dml_id_format(text, c);
	assert_string_equal(text, want0);

	/* prev first, then the ID: the order matters. */
	fill(a, 32, 0x11);
	fill(b, 32, 0x22);
	dml_chain_next(c, a, b);
	sha256_pair(want, a, b);
	assert_memory_equal(c, want, 32);
	dml_chain_next(want, b, a);
	assert_memory_not_equal(c, want, 32);

	/* The output may be the previous value itself, as the state updates it. */
	memcpy(c, a, 32);
	dml_chain_next(c, c, b);
	sha256_pair(want, a, b);
	assert_memory_equal(c, want, 32);
}

static void
test_state_genesis(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	struct dml_stmt_builder b;
	struct dml_stmt *s;
	const struct dml_member *m;
	static const unsigned char zero[32];
	unsigned char want[32];
	char m1[128];

	dml_state_init(&st);
	assert_memory_equal(st.chain, zero, 32);
	assert_true(dml_state_find_id(&st, zero) == -1);
	/* The first entry must be a genesis entry. */
	s = entry_after(&st, "note", k->founder, "message", "too early", NULL);
	step_fails(&st, s, DML_ERR_VERIFY, "genesis");

	/* A genesis entry placed at seq 1, or naming a ledger other than zeros. */
	snprintf(m1, sizeof(m1), "%s admin", k->founder_id);
	dml_stmt_builder_init(&b, "ledger.genesis");
	b.author = k->founder->pub;
	assert_null(dml_stmt_builder_add(&b, "name", "x"));
	assert_null(dml_stmt_builder_add(&b, "member", m1));
	assert_null(dml_stmt_build(&s, &b));
	s->seq = 1;
	step_fails(&st, s, DML_ERR_VERIFY, "entry 0");
	b.ledger[31] = 1;
	assert_null(dml_stmt_build(&s, &b));
	step_fails(&st, s, DML_ERR_VERIFY, "all-zero ledger");
	memset(b.ledger, 0xff, 32);
	assert_null(dml_stmt_build(&s, &b));
	step_fails(&st, s, DML_ERR_VERIFY, "all-zero ledger");
	memset(b.ledger, 0, 32);
	/* Its author must be among its members. */
	b.author = k->mallory->pub;
	assert_null(dml_stmt_build(&s, &b));
	step_fails(&st, s, DML_ERR_VERIFY, "author");
	dml_stmt_builder_release(&b);
	assert_false(st.have_genesis);
	assert_int_equal(st.nids, 0);

	/* The genesis names the ledger, and starts the chain: c(0) = SHA-256(zeros || ID). */
	s = genesis(k);
	memcpy(want, s->id, 32);
	step_ok(&st, s);
	assert_true(st.have_genesis);
	assert_memory_equal(st.genesis, want, 32);
	sha256_pair(want, zero, st.genesis);
	assert_memory_equal(st.chain, want, 32);
	assert_true(dml_state_find_id(&st, st.genesis) == 0);
	assert_int_equal(st.nids, 1);
	assert_string_equal(st.name, "test ledger");
	assert_int_equal(st.nmembers, 3);
	assert_int_equal(st.nrules, 3);
	m = dml_state_member(&st, &k->founder->pub);
	assert_non_null(m);
	assert_true(dml_state_has_role(&st, m, "admin"));
	assert_true(dml_state_has_role(&st, m, "member"));
	assert_false(dml_state_has_role(&st, m, "observer"));
	assert_false(dml_state_has_role(&st, m, "nonexistent"));
	m = dml_state_member(&st, &k->bob->pub);
	assert_non_null(m);
	assert_true(dml_state_has_role(&st, m, "observer"));
	assert_null(dml_state_member(&st, &k->mallory->pub));

	/* Only one genesis entry, ever: neither another one nor this one again. */
	s = genesis_named(k, "another");
	s->seq = 1;
	step_fails(&st, s, DML_ERR_VERIFY, "genesis");
	s = genesis(k);
	s->seq = 1;
	step_fails(&st, s, DML_ERR_VERIFY, "genesis");
	s = genesis(k);
	step_fails(&st, s, DML_ERR_VERIFY, "genesis");
	dml_state_release(&st);
}

static void
test_state_links(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	struct dml_stmt_builder b;
	struct dml_stmt *s, *one;
	unsigned char chain[32];
	char want[160], gid[DML_ID_LEN + 1];
	static const unsigned char zero[32];

	dml_state_init(&st);
	step_ok(&st, genesis(k));
	one = entry_after(&st, "note", k->founder, "message", "one", NULL);
	assert_memory_equal(one->ledger, st.genesis, 32);
	assert_null(dml_state_step(&st, one));

	dml_stmt_builder_init(&b, "note");
	b.author = k->founder->pub;
	b.time = 1700000002;
	memcpy(b.ledger, st.genesis, 32);
	assert_null(dml_stmt_builder_add(&b, "message", "two"));
	/* A gap in the sequence, and a seq already taken. */
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 2;
	step_fails(&st, s, DML_ERR_VERIFY, "sequence number 3 does not follow 1");
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq;
	step_fails(&st, s, DML_ERR_VERIFY, "sequence");
	assert_null(dml_stmt_build(&s, &b));
	s->seq = 0;
	step_fails(&st, s, DML_ERR_VERIFY, "sequence");

	/* An entry of another ledger: one byte off, all zeros (a genesis's), ones. */
	dml_id_format(gid, st.genesis);
	snprintf(want, sizeof(want), "the entry belongs to another ledger (this one is %s)", gid);
	b.ledger[0] ^= 1;
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, want);
	memset(b.ledger, 0, 32);
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, "another ledger");
	memset(b.ledger, 0xff, 32);
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, "another ledger");

	/* A replay: the very statement of entry 1 again, at the next seq. */
	assert_null(dml_stmt_parse(&s, one->text, one->len));
	assert_memory_equal(s->id, one->id, 32);
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, "the entry is already in the ledger as #1");
	/* The genesis itself, replayed: refused as a second genesis. */
	s = genesis(k);
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, "genesis");

	/* Right: the chain value is SHA-256(previous chain value || ID). */
	memcpy(b.ledger, st.genesis, 32);
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 1;
	sha256_pair(chain, st.chain, s->id);
	step_ok(&st, s);
	assert_memory_equal(st.chain, chain, 32);
	assert_true(st.seq == 2);
	/* The chain names every entry so far, in order: recompute it from zeros. */
	sha256_pair(chain, zero, st.genesis);
	sha256_pair(chain, chain, one->id);
	assert_null(dml_stmt_build(&s, &b));
	sha256_pair(chain, chain, s->id);
	assert_memory_equal(st.chain, chain, 32);
	/* ...and now that statement is a replay too. */
	s->seq = st.seq + 1;
	step_fails(&st, s, DML_ERR_VERIFY, "already in the ledger as #2");
	/*
	 * The same message by the same author at another time is another
	 * statement, hence no replay.
	 */
	b.time++;
	assert_null(dml_stmt_build(&s, &b));
	s->seq = st.seq + 1;
	step_ok(&st, s);
	assert_int_equal(st.nids, 4);
	dml_stmt_builder_release(&b);
	dml_stmt_free(one);
	dml_state_release(&st);
}

/*
 * A statement names its ledger, not its place: the same bytes follow any
 * state of that ledger, at whatever seq (the way pull re-links entries),
 * and no state of another ledger.
 */
static void
test_state_relink(void **state)
{
	struct keys *k = *state;
	struct dml_state here, there, other;
	struct dml_stmt *g, *s, *mine;
	unsigned char c_here[32], c_there[32];

	dml_state_init(&here);
	dml_state_init(&there);
	dml_state_init(&other);
	g = genesis(k);
	assert_null(dml_stmt_parse(&s, g->text, g->len));
	step_ok(&here, g);
	step_ok(&there, s);
	assert_memory_equal(here.genesis, there.genesis, 32);
	step_ok(&other, genesis_named(k, "another ledger"));
	assert_memory_not_equal(here.genesis, other.genesis, 32);

	/* Written here at seq 1. */
	mine = entry_after(&here, "note", k->alice, "message", "mine", NULL);
	assert_null(dml_stmt_parse(&s, mine->text, mine->len));
	s->seq = 1;
	step_ok(&here, s);
	memcpy(c_here, here.chain, 32);

	/* There, two entries landed first: the same statement follows them at seq 3. */
	step_ok(&there, entry_after(&there, "note", k->founder, "message", "theirs 1", NULL));
	step_ok(&there, entry_after(&there, "note", k->founder, "message", "theirs 2", NULL));
	assert_null(dml_stmt_parse(&s, mine->text, mine->len));
	s->seq = 3;
	step_ok(&there, s);
	assert_true(dml_state_find_id(&there, mine->id) == 3);
	assert_true(dml_state_find_id(&here, mine->id) == 1);
	/* Same entry, other history: another chain value. */
	memcpy(c_there, there.chain, 32);
	assert_memory_not_equal(c_here, c_there, 32);

	/* Another ledger, with alice a member there too, refuses it all the same. */
	assert_null(dml_stmt_parse(&s, mine->text, mine->len));
	s->seq = 1;
	step_fails(&other, s, DML_ERR_VERIFY, "another ledger");
	dml_stmt_free(mine);
	dml_state_release(&here);
	dml_state_release(&there);
	dml_state_release(&other);
}

/* The set of IDs grows past its first table and still finds every entry. */
static void
test_state_find_id(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	unsigned char (*ids)[32];
	unsigned char absent[32];
	const size_t n = 3000;
	char msg[32];
	size_t i;

	ids = calloc(n, 32);
	assert_non_null(ids);
	dml_state_init(&st);
	for (i = 0; i < n; i++) {
		struct dml_stmt *s;
		if (i == 0)
			s = genesis(k);
		else {
			snprintf(msg, sizeof(msg), "note %zu", i);
			s = entry_after(&st, "note", k->alice, "message", msg, NULL);
		}
		memcpy(ids[i], s->id, 32);
		if (dml_state_step(&st, s) != NULL)
			fail_msg("entry %zu refused", i);
		dml_stmt_free(s);
	}
	assert_int_equal(st.nids, n);
	for (i = 0; i < n; i++)
		if (dml_state_find_id(&st, ids[i]) != (int64_t)i)
			fail_msg("entry %zu not found at its seq", i);
	/* IDs that are not there, including ones sharing a prefix with one that is. */
	fill(absent, 32, 0);
	assert_true(dml_state_find_id(&st, absent) == -1);
	memcpy(absent, ids[n / 2], 32);
	absent[31] ^= 1;
	assert_true(dml_state_find_id(&st, absent) == -1);
	memcpy(absent, ids[7], 32);
	absent[0] ^= 0x80;
	assert_true(dml_state_find_id(&st, absent) == -1);
	free(ids);
	dml_state_release(&st);
}

static void
test_state_authority(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	const struct dml_error *err;

	dml_state_init(&st);
	step_ok(&st, genesis(k));

	/* Not a member at all. */
	step_fails(&st, entry_after(&st, "note", k->mallory, "message", "hi", NULL),
	    DML_ERR_DENIED, "not a member");
	step_fails(&st, entry_after(&st, "key.add", k->mallory, "key", k->mallory_id,
	    "roles", "admin", NULL), DML_ERR_DENIED, "not a member");
	/* A member without the role the policy asks for. */
	step_fails(&st, entry_after(&st, "note", k->bob, "message", "hi", NULL),
	    DML_ERR_DENIED, "role member");
	step_fails(&st, entry_after(&st, "key.add", k->alice, "key", k->mallory_id,
	    "roles", "member", NULL), DML_ERR_DENIED, "role admin");
	step_fails(&st, entry_after(&st, "key.revoke", k->alice, "key", k->bob_id, NULL),
	    DML_ERR_DENIED, "role admin");
	/* The same answers from dml_state_authorize. */
	assert_null(dml_state_authorize(&st, &k->alice->pub, "note"));
	assert_null(dml_state_authorize(&st, &k->founder->pub, "key.add"));
	err = dml_state_authorize(&st, &k->bob->pub, "note");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_DENIED);
	err = dml_state_authorize(&st, &k->mallory->pub, "note");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_DENIED);
	/* A type the policy does not mention: any member may write it. */
	assert_null(dml_state_authorize(&st, &k->bob->pub, "some.other.type"));

	/* Members with the role may. */
	step_ok(&st, entry_after(&st, "note", k->alice, "message", "hi", NULL));
	step_ok(&st, entry_after(&st, "key.add", k->founder, "key", k->mallory_id,
	    "roles", "member", "name", "mallory", NULL));
	step_ok(&st, entry_after(&st, "note", k->mallory, "message", "now a member", NULL));
	assert_string_equal(dml_state_member(&st, &k->mallory->pub)->name, "mallory");

	/* The type's own rules. */
	step_fails(&st, entry_after(&st, "key.add", k->founder, "key", k->alice_id,
	    "roles", "admin", NULL), DML_ERR_VERIFY, "already a member");
	dml_state_release(&st);
}

static void
test_state_revocation(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	struct dml_stmt *log[8];
	size_t n = 0, i;
	const struct dml_member *m;
	char roles[64];

	dml_state_init(&st);
	log[n] = genesis(k);
	assert_null(dml_state_step(&st, log[n++]));
	log[n] = entry_after(&st, "note", k->alice, "message", "written before revocation", NULL);
	assert_null(dml_state_step(&st, log[n++]));
	log[n] = entry_after(&st, "key.revoke", k->founder, "key", k->alice_id, "reason",
	    "key lost", NULL);
	assert_null(dml_state_step(&st, log[n++]));

	m = dml_state_member(&st, &k->alice->pub);
	assert_non_null(m);
	assert_true(m->revoked);
	assert_true(m->revoked_seq == 2);

	/* A revoked key may write nothing more, and cannot come back. */
	step_fails(&st, entry_after(&st, "note", k->alice, "message", "after", NULL),
	    DML_ERR_DENIED, "revoked");
	step_fails(&st, entry_after(&st, "key.add", k->founder, "key", k->alice_id,
	    "roles", "member", NULL), DML_ERR_VERIFY, "revoked");
	step_fails(&st, entry_after(&st, "key.revoke", k->founder, "key", k->alice_id, NULL),
	    DML_ERR_VERIFY, "already revoked");
	step_fails(&st, entry_after(&st, "key.revoke", k->founder, "key", k->mallory_id, NULL),
	    DML_ERR_VERIFY, "not a member");
	/* The last key able to add members cannot be revoked. */
	step_fails(&st, entry_after(&st, "key.revoke", k->founder, "key", k->founder_id, NULL),
	    DML_ERR_VERIFY, "no key able to add members");
	log[n] = entry_after(&st, "note", k->founder, "message", "still here", NULL);
	assert_null(dml_state_step(&st, log[n++]));
	dml_state_roles_format(&st, dml_state_member(&st, &k->founder->pub)->roles, roles,
	    sizeof(roles));
	assert_string_equal(roles, "admin,member");
	dml_state_release(&st);

	/* Replaying from scratch: alice's entry before her revocation stays valid. */
	dml_state_init(&st);
	for (i = 0; i < n; i++) {
		const struct dml_error *err = dml_state_step(&st, log[i]);
		if (err != NULL)
			fail_msg("replay of entry %zu refused: %s", i, err->msg);
	}
	assert_true(st.seq == n - 1);
	for (i = 0; i < n; i++)
		dml_stmt_free(log[i]);
	dml_state_release(&st);
}

/*
 * A genesis entry listing one key twice (with different roles: the parser
 * sees two distinct values) would make the key two members, and revoking
 * it would revoke only one of them.
 */
static void
test_state_genesis_duplicate_member(void **state)
{
	struct keys *k = *state;
	struct dml_state st;
	struct dml_stmt *s;
	char m1[128], m2[128], m3[128];

	snprintf(m1, sizeof(m1), "%s admin", k->founder_id);
	snprintf(m2, sizeof(m2), "%s member", k->alice_id);
	snprintf(m3, sizeof(m3), "%s observer", k->alice_id);
	dml_state_init(&st);
	s = entry_after(&st, "ledger.genesis", k->founder, "name", "dup", "member", m1,
	    "member", m2, "member", m3, NULL);
	step_fails(&st, s, DML_ERR_VERIFY, "more than once");
	assert_false(st.have_genesis);

	snprintf(m2, sizeof(m2), "%s member", k->founder_id);
	s = entry_after(&st, "ledger.genesis", k->founder, "name", "dup", "member", m1,
	    "member", m2, NULL);
	step_fails(&st, s, DML_ERR_VERIFY, "more than once");
	dml_state_release(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_genesis),
		cmocka_unit_test(test_round_trip_key_add),
		cmocka_unit_test(test_round_trip_key_revoke),
		cmocka_unit_test(test_round_trip_note),
		cmocka_unit_test(test_round_trip_model_train),
		cmocka_unit_test(test_round_trip_rounds),
		cmocka_unit_test(test_round_trip_reward_pay),
		cmocka_unit_test(test_round_trip_dataset_publish),
		cmocka_unit_test(test_round_trip_covers_every_type),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_id_format_parse),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_reject_framing),
		cmocka_unit_test(test_reject_whitespace),
		cmocka_unit_test(test_reject_numbers),
		cmocka_unit_test(test_reject_hex),
		cmocka_unit_test(test_reject_header),
		cmocka_unit_test(test_reject_body_fields),
		cmocka_unit_test(test_reject_repeated),
		cmocka_unit_test(test_reject_empty_values),
		cmocka_unit_test(test_reject_control_and_utf8),
		cmocka_unit_test(test_reject_long_values),
		cmocka_unit_test(test_value_uint),
		cmocka_unit_test(test_value_key),
		cmocka_unit_test(test_value_id),
		cmocka_unit_test(test_value_token),
		cmocka_unit_test(test_value_roles),
		cmocka_unit_test(test_value_text),
		cmocka_unit_test(test_value_none),
		cmocka_unit_test(test_chain_next),
		cmocka_unit_test_setup_teardown(test_state_genesis, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_genesis_duplicate_member, keys_setup,
		    keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_links, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_relink, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_find_id, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_authority, keys_setup, keys_teardown),
		cmocka_unit_test_setup_teardown(test_state_revocation, keys_setup, keys_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
