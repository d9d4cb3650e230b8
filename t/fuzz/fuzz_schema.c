/*
 * fuzz_schema.c - dml_schema_decode over arbitrary bytes.
 *
 * Besides not crashing: an error leaves no schema, and a text that decodes
 * is canonical, so encoding the result gives back exactly the input.  A
 * difference means two spellings of one schema, so it aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "dml/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_schema *s = (struct dml_schema *)1;
	struct dml_buf out = DML_BUF_INIT;

	if (dml_schema_decode(&s, (const char *)data, size) != NULL) {
		if (s != NULL)
			abort();	/* an error must leave no schema */
		return 0;
	}
	if (dml_schema_encode(s, &out) != NULL)
		abort();
	if (out.len != size || memcmp(out.data, data, size) != 0)
		abort();
	dml_schema_free(s);
	dml_buf_release(&out);
	return 0;
}
