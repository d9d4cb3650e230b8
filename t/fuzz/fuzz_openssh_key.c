/*
 * fuzz_openssh_key.c - dml_openssh_key_decode over arbitrary text.
 *
 * A decoded key's secret half must hold its public key, and an error must
 * leave neither a key nor a comment behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_key *k = NULL;
	char *comment = NULL;
	const struct dml_error *err;

	(void)dml_openssh_key_detect((const char *)data, size);
	err = dml_openssh_key_decode(&k, &comment, (const char *)data, size, "fuzz");
	if (err != NULL) {
		if (k != NULL || comment != NULL ||
		    (err->code != DML_ERR_PARSE && err->code != DML_ERR_UNSUPPORTED))
			abort();
		return 0;
	}
	if (k == NULL || comment == NULL || memcmp(k->sk + 32, k->pub.pk, 32) != 0)
		abort();
	dml_key_free(k);
	free(comment);
	return 0;
}
