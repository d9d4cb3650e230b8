/*
 * dml/key.h - Ed25519 keys: identities, files, and SSH interoperability.
 *
 * A public key is named in ledger text by its key ID, "ed25519:" followed by
 * the 64 lowercase hex digits of the raw key.  People see it also as an
 * OpenSSH line ("ssh-ed25519 AAAA... comment") and as the fingerprint that
 * ssh-keygen -l prints ("SHA256:<base64>").
 *
 * A secret key lives in guarded memory (mlocked, wiped on free).  On disk it
 * is a "dmlctl secret key" file: armored base64 of SSH-wire fields
 *
 *	string	"dmlctl-secret-key-v1"
 *	string	kdf		"none" | "argon2id"
 *	string	kdfoptions	empty | salt[16] || uint64 opslimit || uint64 memlimit
 *	string	cipher		"none" | "xchacha20-poly1305"
 *	string	nonce		empty | 24 bytes
 *	string	publickey	32 bytes
 *	string	secret		32-byte seed, or its 48-byte ciphertext
 *
 * The AEAD's associated data is every byte before the `secret` field, so no
 * header field can be changed without the passphrase check failing.  After
 * decryption the public key is re-derived from the seed and compared.
 */
#ifndef DML_KEY_H
#define DML_KEY_H

#include <stddef.h>

#include "dml/buf.h"
#include "dml/error.h"

#define DML_PUBKEY_LEN 32
#define DML_KEY_ID_LEN (8 + 64)		/* "ed25519:" + hex, without NUL */
#define DML_KEY_FP_LEN (7 + 43)		/* "SHA256:" + unpadded base64 */
#define DML_KEY_NAME_MAX 64

struct dml_pubkey {
	unsigned char pk[DML_PUBKEY_LEN];
};

struct dml_key {
	struct dml_pubkey pub;
	unsigned char *sk;	/* 64 bytes of guarded memory: seed || public key */
};

/* "ed25519:<hex>" into out[DML_KEY_ID_LEN + 1]. */
void dml_pubkey_id(char *out, const struct dml_pubkey *pk);
/* Parse exactly a key ID of n bytes: 0 on success. */
int dml_pubkey_parse_id(struct dml_pubkey *pk, const char *s, size_t n);
/* "SHA256:<base64>" as ssh-keygen -l prints it, into out[DML_KEY_FP_LEN + 1]. */
void dml_pubkey_fingerprint(char *out, const struct dml_pubkey *pk);
/* The SSH wire form: string "ssh-ed25519", string key. */
const struct dml_error *dml_pubkey_wire(struct dml_buf *out, const struct dml_pubkey *pk);
/* "ssh-ed25519 AAAA...[ comment]" (no newline). */
const struct dml_error *dml_pubkey_openssh(struct dml_buf *out, const struct dml_pubkey *pk,
    const char *comment);
/*
 * Parse one OpenSSH public key line, or a key ID: "ssh-ed25519 <base64>
 * [comment]" or "ed25519:<hex>".  Trailing newline allowed.
 */
const struct dml_error *dml_pubkey_parse(struct dml_pubkey *pk, const char *s, size_t n);

/* A fresh random key. */
const struct dml_error *dml_key_generate(struct dml_key **out);
/* A key from a 32-byte seed (tests, known-answer vectors). */
const struct dml_error *dml_key_from_seed(struct dml_key **out, const unsigned char seed[32]);
void dml_key_free(struct dml_key *k);

/* Ed25519 signature over msg into sig[64]. */
void dml_key_sign(const struct dml_key *k, unsigned char sig[64], const void *msg, size_t n);

/* Is this key-file text encrypted?  1 yes, 0 no, -1 not a key file. */
int dml_keyfile_is_encrypted(const char *text, size_t n);
/* The public key in a key file's clear header (not authenticated until decode). */
int dml_keyfile_public(const char *text, size_t n, struct dml_pubkey *pk);
/*
 * Encode a key file.  pass == NULL writes it unencrypted; otherwise the seed
 * is sealed with a key derived from pass by Argon2id.
 */
const struct dml_error *dml_keyfile_encode(struct dml_buf *out, const struct dml_key *k,
    const char *pass, size_t passlen);
/*
 * Decode a key file; `what` names it in messages.  pass is used only when the
 * file is encrypted (NULL then gives DML_ERR_PASSPHRASE).  A wrong passphrase
 * gives DML_ERR_PASSPHRASE; a damaged file DML_ERR_PARSE.
 */
const struct dml_error *dml_keyfile_decode(struct dml_key **out, const char *text, size_t n,
    const char *pass, size_t passlen, const char *what);
/*
 * Decode an unencrypted OpenSSH ed25519 private key ("-----BEGIN OPENSSH
 * PRIVATE KEY-----").  *comment gets its comment (malloc'd, may be empty).
 */
const struct dml_error *dml_openssh_key_decode(struct dml_key **out, char **comment,
    const char *text, size_t n, const char *what);
/* Is this text an OpenSSH private key file? */
int dml_openssh_key_detect(const char *text, size_t n);

/* A key name: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int dml_key_name_valid(const char *name);

#endif
