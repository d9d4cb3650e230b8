/*
 * fuzz_pubkey.c - dml_pubkey_parse over arbitrary text.
 *
 * A key that parses must survive both of its text forms: the key ID and
 * the OpenSSH line each parse back to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dml_pubkey pk, back;
	struct dml_buf line = DML_BUF_INIT;
	char id[DML_KEY_ID_LEN + 1], fp[DML_KEY_FP_LEN + 1];
	const struct dml_error *err;

	err = dml_pubkey_parse(&pk, (const char *)data, size);
	if (err != NULL) {
		if (err->code != DML_ERR_PARSE)
			abort();
		return 0;
	}
	dml_pubkey_id(id, &pk);
	if (strlen(id) != DML_KEY_ID_LEN || dml_pubkey_parse(&back, id, strlen(id)) != NULL ||
	    memcmp(back.pk, pk.pk, sizeof(pk.pk)) != 0)
		abort();
	if (dml_pubkey_openssh(&line, &pk, "comment") != NULL ||
	    dml_pubkey_parse(&back, (const char *)line.data, line.len) != NULL ||
	    memcmp(back.pk, pk.pk, sizeof(pk.pk)) != 0)
		abort();
	dml_pubkey_fingerprint(fp, &pk);
	if (strlen(fp) != DML_KEY_FP_LEN)
		abort();
	dml_buf_release(&line);
	return 0;
}
