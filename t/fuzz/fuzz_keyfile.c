/*
 * fuzz_keyfile.c - dml_keyfile_decode (and the header readers) over
 * arbitrary text, with the fixed passphrase "fuzz".
 *
 * Argon2id cost: the decoder refuses limits above 4 passes and 1 GiB, but
 * a file inside those limits can still ask for seconds of work.  So an
 * input whose header asks for more than FUZZ_MAX_OPS passes or
 * FUZZ_MAX_MEM bytes is decoded without a passphrase instead: the decoder
 * still parses and checks it completely, then stops before the KDF with
 * DML_ERR_PASSPHRASE (or refuses the limits with DML_ERR_PARSE).  Cheap
 * argon2id inputs (the seeds use ops 1, 8 KiB) run the whole AEAD path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "dml/key.h"

#define FUZZ_PASS "fuzz"
#define FUZZ_MAX_OPS 4
#define FUZZ_MAX_MEM ((uint64_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Would decoding this with a passphrase run an expensive Argon2id? */
static int
expensive(const uint8_t *data, size_t size)
{
	unsigned char *blob;
	size_t len;
	struct dml_reader r;
	const unsigned char *p, *opt;
	size_t n, optlen;
	int rc = 0;

	if (dml_armor_decode(&blob, &len, (const char *)data, size, "DMLCTL SECRET KEY", 0) != 0)
		return 0;
	dml_reader_init(&r, blob, len);
	if (dml_reader_sshstr(&r, &p, &n) == 0 && dml_reader_sshstr(&r, &p, &n) == 0 &&
	    dml_reader_sshstr(&r, &opt, &optlen) == 0 && optlen == 32)
		rc = dml_get_be64(opt + 16) > FUZZ_MAX_OPS || dml_get_be64(opt + 24) > FUZZ_MAX_MEM;
	free(blob);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dml_key *k = NULL, *again = NULL;
	struct dml_pubkey pub;
	struct dml_buf out = DML_BUF_INIT;
	const struct dml_error *err;
	int enc = dml_keyfile_is_encrypted(text, size);
	int haspub = dml_keyfile_public(text, size, &pub);
	int costly = expensive(data, size);

	if ((enc < 0) != (haspub < 0))
		abort();
	err = dml_keyfile_decode(&k, text, size, costly ? NULL : FUZZ_PASS,
	    costly ? 0 : strlen(FUZZ_PASS), "fuzz.key");
	if (err != NULL) {
		if (k != NULL || (err->code != DML_ERR_PARSE && err->code != DML_ERR_PASSPHRASE))
			abort();
		return 0;
	}
	/* A decoded key is what the clear header said it is, and re-encodes. */
	if (enc < 0 || memcmp(pub.pk, k->pub.pk, sizeof(pub.pk)) != 0)
		abort();
	if (dml_keyfile_encode(&out, k, NULL, 0) != NULL ||
	    dml_keyfile_decode(&again, (const char *)out.data, out.len, NULL, 0, "again") != NULL ||
	    memcmp(again->pub.pk, k->pub.pk, sizeof(pub.pk)) != 0 ||
	    memcmp(again->sk, k->sk, 64) != 0)
		abort();
	dml_buf_wipe(&out);
	dml_key_free(again);
	dml_key_free(k);
	return 0;
}
