/*
 * dml/sshsig.h - OpenSSH's SSHSIG signatures (PROTOCOL.sshsig), Ed25519 only.
 *
 * The signed data is
 *	"SSHSIG" || string namespace || string reserved("") ||
 *	string hash_algorithm || string H(message)
 * and the armored signature is base64 of
 *	"SSHSIG" || uint32 1 || string publickey || string namespace ||
 *	string reserved || string hash_algorithm || string signature
 * wrapped at 70 columns between BEGIN/END SSH SIGNATURE lines, exactly as
 * `ssh-keygen -Y sign` writes it.  Ed25519 is deterministic, so for the same
 * key, namespace and message our output is byte-identical to ssh-keygen's.
 *
 * Namespaces keep signatures from one use from being replayed in another:
 * ledger commits use "git" (for git verify-commit), ledger statements use
 * DML_NS_STATEMENT.
 */
#ifndef DML_SSHSIG_H
#define DML_SSHSIG_H

#include <stddef.h>

#include "dml/buf.h"
#include "dml/error.h"
#include "dml/key.h"

#define DML_NS_STATEMENT "dmlctl-statement@dmlctl.org"
#define DML_NS_GIT "git"

/* Append the armored signature (with final newline) to out.  Uses sha512. */
const struct dml_error *dml_sshsig_sign(struct dml_buf *out, const struct dml_key *k,
    const char *ns, const void *msg, size_t n);

/*
 * Verify an armored signature over msg in namespace ns.  On success *signer
 * holds the key that signed.  A malformed signature is DML_ERR_PARSE; a
 * well-formed one that does not verify (wrong key, namespace or message) is
 * DML_ERR_VERIFY.  The armor must be exactly as ssh-keygen writes it.
 */
const struct dml_error *dml_sshsig_verify(struct dml_pubkey *signer, const char *armored,
    size_t armlen, const char *ns, const void *msg, size_t n)
	__attribute__((warn_unused_result));

#endif
