/*
 * fuzz_sshsig.c - dml_sshsig_verify over arbitrary armor and messages.
 *
 * Input: armored signature, a NUL byte, then the message.  Without a NUL the
 * whole input is the signature and the message is empty.  Each input is
 * checked in both namespaces dmlctl uses.  A signature that verifies must
 * verify again with the same signer (verification is a pure function).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/sshsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ns[] = { DML_NS_GIT, DML_NS_STATEMENT };
	const uint8_t *nul = memchr(data, '\0', size);
	size_t armlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *msg = nul ? nul + 1 : data + size;
	size_t msglen = nul ? size - armlen - 1 : 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		struct dml_pubkey signer, again;
		const struct dml_error *err;

		err = dml_sshsig_verify(&signer, (const char *)data, armlen, ns[i], msg, msglen);
		if (err == NULL) {
			if (dml_sshsig_verify(&again, (const char *)data, armlen, ns[i], msg,
			    msglen) != NULL || memcmp(signer.pk, again.pk, sizeof(again.pk)) != 0)
				abort();
			/* The other namespace must not accept the same signature. */
			if (dml_sshsig_verify(&again, (const char *)data, armlen, ns[1 - i], msg,
			    msglen) == NULL)
				abort();
		} else if (err->code != DML_ERR_PARSE && err->code != DML_ERR_VERIFY &&
		    err->code != DML_ERR_UNSUPPORTED) {
			abort();
		}
	}
	return 0;
}
