/*
 * fuzz_statement.c - dml_stmt_parse over arbitrary bytes.
 *
 * Besides not crashing, a statement that parses must be canonical: building
 * it again from its parsed header and fields gives the same bytes and ID,
 * and parsing those bytes again gives the same statement.  A difference
 * means two spellings of one meaning, so it aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_stmt *s = NULL, *again = NULL;
	struct dml_stmt_builder b;
	size_t i;

	if (dml_stmt_parse(&s, (const char *)data, size) != NULL) {
		if (s != NULL)
			abort();	/* an error must leave no statement */
		return 0;
	}
	if (s->len != size || memcmp(s->text, data, size) != 0 || s->text[size] != '\0')
		abort();

	/* The place in the ledger is not in the statement: nothing may set it. */
	if (s->seq != 0)
		abort();
	dml_stmt_builder_init(&b, s->type->name);
	b.time = s->time;
	memcpy(b.ledger, s->ledger, sizeof(b.ledger));
	b.author = s->author;
	/* Fields in reverse: the builder must restore schema and value order. */
	for (i = s->nfields; i-- > 0;) {
		char *v = malloc(s->fields[i].len + 1);
		if (v == NULL || dml_field_copy(&s->fields[i], v, s->fields[i].len + 1) != 0 ||
		    dml_stmt_builder_add(&b, s->fields[i].spec->name, v) != NULL)
			abort();
		free(v);
	}
	if (dml_stmt_build(&again, &b) != NULL)
		abort();
	if (again->len != s->len || memcmp(again->text, s->text, s->len) != 0 ||
	    memcmp(again->id, s->id, sizeof(s->id)) != 0 || again->nfields != s->nfields ||
	    memcmp(again->ledger, s->ledger, sizeof(s->ledger)) != 0 ||
	    memcmp(again->author.pk, s->author.pk, sizeof(s->author.pk)) != 0 ||
	    again->time != s->time || again->type != s->type)
		abort();
	dml_stmt_builder_release(&b);
	dml_stmt_free(again);
	dml_stmt_free(s);
	return 0;
}
