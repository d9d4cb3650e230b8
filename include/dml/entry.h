/*
 * dml/entry.h - ledger statements: the canonical text that is hashed and signed.
 *
 * A statement is UTF-8 text, one "name value\n" line per field, no blank
 * lines, no optional whitespace.  It starts with five header fields, always in
 * this order:
 *
 *	dmlctl-entry 1
 *	type <entry type>
 *	ledger sha256:<the genesis entry's ID, zeros in the genesis itself>
 *	author ed25519:<hex of the author's public key>
 *	time <seconds since the epoch>
 *
 * followed by the body fields of its type, in the order its schema gives.
 * An optional field is present or absent; a repeated field has its lines
 * next to each other with strictly increasing values (bytewise), so a set
 * has one spelling.  The parser refuses unknown, missing, duplicate and
 * out-of-order fields, values that are not in their kind's canonical form,
 * control characters, invalid UTF-8 and a missing final newline.  Hence
 * exactly one byte string per meaning, and the entry ID, "sha256:<hex>" of
 * the statement bytes, names the meaning.
 *
 * A statement names its ledger but not its place in it: the place (sequence
 * number and chain value) is in the ledger commit, signed by whoever linked
 * the entry (see dml/ledger.h).  So an entry keeps its ID and its author's
 * signature when it is re-linked on top of entries appended elsewhere, the
 * way `dmlctl pull` rebases local entries.
 *
 * Entry types are data (struct dml_entry_type): later features add types to
 * the table in lib/types.c without changing the format of existing ones.
 */
#ifndef DML_ENTRY_H
#define DML_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"
#include "dml/key.h"

#define DML_ENTRY_VERSION "1"
#define DML_ID_LEN (7 + 64)		/* "sha256:" + hex, without NUL */
#define DML_STMT_MAX (1 << 20)		/* statements are small; objects carry bulk */
#define DML_TOKEN_MAX 64
#define DML_TEXT_MAX 4096
#define DML_MAX_PARTS 3

/* Kinds of value parts. */
enum dml_vkind {
	DML_V_NONE = 0,
	DML_V_UINT,	/* decimal, no leading zeros, at most 2^63 - 1 */
	DML_V_KEY,	/* ed25519:<64 hex> */
	DML_V_ID,	/* sha256:<64 hex> */
	DML_V_TOKEN,	/* [a-z0-9][a-z0-9._-]*, at most 64 bytes */
	DML_V_ROLES,	/* comma-separated tokens, strictly increasing */
	DML_V_TEXT	/* printable UTF-8, no leading/trailing space; last part only */
};

#define DML_F_OPTIONAL 0x1	/* may be absent */
#define DML_F_REPEATED 0x2	/* zero or more lines (one or more unless OPTIONAL) */
#define DML_F_OBJECT 0x4	/* an ID naming an object stored with the entry */

struct dml_field_spec {
	const char *name;
	enum dml_vkind parts[DML_MAX_PARTS];	/* space-separated parts */
	unsigned flags;
};

struct dml_state;
struct dml_stmt;
struct dml_repo;
struct dml_tree_item;

struct dml_entry_type {
	const char *name;
	const struct dml_field_spec *fields;
	size_t nfields;
	/* What the entry needs of the ledger state before it (may be NULL). */
	const struct dml_error *(*check)(const struct dml_state *st, const struct dml_stmt *s);
	/* How it changes the state (may be NULL). */
	const struct dml_error *(*apply)(struct dml_state *st, const struct dml_stmt *s);
	/*
	 * Subtrees the entry stores beside statement, signature and objects/
	 * (a NULL-terminated list of names, or NULL), and how `ledger verify`
	 * recomputes what they hold: `items` is the entry's whole tree.  A
	 * failure is reported as the "data" check.
	 */
	const char *const *store;
	const struct dml_error *(*verify_store)(struct dml_repo *r, const struct dml_stmt *s,
	    const struct dml_tree_item *items, size_t n);
};

/* The table of known entry types; NULL when the name is unknown. */
const struct dml_entry_type *dml_entry_type_find(const char *name, size_t n);
/* Iterate over all types: returns NULL after the last. */
const struct dml_entry_type *dml_entry_type_at(size_t i);

struct dml_field {
	const struct dml_field_spec *spec;
	const char *value;	/* points into dml_stmt.text; not NUL-terminated */
	size_t len;
};

struct dml_stmt {
	char *text;		/* the canonical bytes (NUL-terminated copy) */
	size_t len;
	unsigned char id[32];	/* SHA-256 of text */
	const struct dml_entry_type *type;
	uint64_t seq;		/* its place in the ledger: set by the ledger, not parsed */
	unsigned char ledger[32];
	struct dml_pubkey author;
	uint64_t time;
	struct dml_field *fields;	/* body fields, in order */
	size_t nfields;
};

/*
 * Parse a statement.  On error the message names the line and field, e.g.
 * "line 3: field 'ledger': expected sha256:<64 hex digits>".
 */
const struct dml_error *dml_stmt_parse(struct dml_stmt **out, const char *text, size_t n);
void dml_stmt_free(struct dml_stmt *s);

/* The first body field called name, or NULL; *i iterates repeated fields. */
const struct dml_field *dml_stmt_field(const struct dml_stmt *s, const char *name);
const struct dml_field *dml_stmt_next(const struct dml_stmt *s, const char *name, size_t *i);
/* Copy a field's value (or one part of it) into a NUL-terminated buffer. */
int dml_field_copy(const struct dml_field *f, char *out, size_t outlen);
int dml_field_part(const struct dml_field *f, unsigned part, const char **p, size_t *n);
/* Value as a number: 0 on success. */
int dml_field_uint(const struct dml_field *f, uint64_t *v);

/*
 * Conveniences for fields a statement is known to have (the parser checked
 * them): a copy of the value ("" when absent or too long), the value as a
 * number (0 when absent), one part as an ID (zeros when absent), one part
 * copied, and whether a comma-separated value (options, uses) has a token.
 */
void dml_stmt_str(const struct dml_stmt *s, const char *name, char *out, size_t n);
uint64_t dml_stmt_u64(const struct dml_stmt *s, const char *name);
void dml_stmt_id(const struct dml_stmt *s, const char *name, unsigned part, unsigned char id[32]);
void dml_field_part_str(const struct dml_field *f, unsigned part, char *out, size_t n);
int dml_stmt_has(const struct dml_stmt *s, const char *name, const char *token);

/* "sha256:<hex>" of 32 bytes into out[DML_ID_LEN + 1]. */
void dml_id_format(char *out, const unsigned char id[32]);
int dml_id_parse(unsigned char id[32], const char *s, size_t n);

/*
 * Building a statement: set the header, add body fields in any order, then
 * dml_stmt_build() sorts repeated fields, encodes, and parses the result
 * back, so whatever it returns is canonical or an error naming the field.
 */
struct dml_stmt_builder {
	const char *type;
	unsigned char ledger[32];
	struct dml_pubkey author;
	uint64_t time;
	struct {
		char *name;
		char *value;
	} *fields;
	size_t nfields;
};

void dml_stmt_builder_init(struct dml_stmt_builder *b, const char *type);
const struct dml_error *dml_stmt_builder_add(struct dml_stmt_builder *b, const char *name,
    const char *value);
const struct dml_error *dml_stmt_builder_addf(struct dml_stmt_builder *b, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const struct dml_error *dml_stmt_build(struct dml_stmt **out, const struct dml_stmt_builder *b);
void dml_stmt_builder_release(struct dml_stmt_builder *b);

/*
 * Numbers in statements: the shortest "%.<p>g" that reads back to the same
 * double ("nan", "inf", "-inf" for the others), and its strict inverse,
 * which accepts only that spelling (0 on success).  Both assume the C
 * locale's decimal point, which dmlctl never changes.
 */
void dml_double_format(char *out, size_t n, double v);
int dml_double_parse(const char *p, size_t n, double *v);

/* Validate one value part of a kind (used by the parser and by cmd/). */
int dml_value_valid(enum dml_vkind kind, const char *p, size_t n);

#endif
