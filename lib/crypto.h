/*
 * crypto.h - private: the only doorway to libsodium.
 *
 * lib/crypto.c is the one file that includes <sodium.h>; SHA-256 comes from
 * lib/sha.c, the one file that includes OpenSSL's headers.  Everything here is
 * a thin, documented shim so the rest of the library names operations, not a
 * vendor API, and tests could substitute another implementation.
 */
#ifndef DML_LIB_CRYPTO_H
#define DML_LIB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"
#include "dml/keystore.h"	/* dml_secret_alloc, dml_secret_free, dml_memzero */

#define DML_SHA256_LEN 32
#define DML_SHA512_LEN 64
#define DML_ED25519_PK_LEN 32
#define DML_ED25519_SK_LEN 64	/* seed || public key, as libsodium keeps it */
#define DML_ED25519_SEED_LEN 32
#define DML_ED25519_SIG_LEN 64
#define DML_PWHASH_SALT_LEN 16
#define DML_AEAD_KEY_LEN 32
#define DML_AEAD_NONCE_LEN 24
#define DML_AEAD_TAG_LEN 16

/* Initialise libsodium once; safe from any thread, any number of times. */
const struct dml_error *dml_crypto_init(void);


/* Constant-time comparison: 0 when equal. */
int dml_memcmp_ct(const void *a, const void *b, size_t n);
void dml_randombytes(void *p, size_t n);


void dml_sha256(unsigned char out[DML_SHA256_LEN], const void *p, size_t n);
void dml_sha512(unsigned char out[DML_SHA512_LEN], const void *p, size_t n);
/*
 * SHA-1, for git's object names and pack checksums only: nothing dmlctl
 * trusts rests on it.  libcrypto's, with the CPU's SHA instructions; it
 * does not detect collision attacks as git's does, which matters only for
 * reading objects, never for naming those we write.
 */
void dml_sha1(unsigned char out[20], const void *p, size_t n);
struct dml_sha1_ctx {
	_Alignas(16) unsigned char opaque[128];
};
void dml_sha1_init(struct dml_sha1_ctx *c);
void dml_sha1_update(struct dml_sha1_ctx *c, const void *p, size_t n);
void dml_sha1_final(struct dml_sha1_ctx *c, unsigned char out[20]);

/* Incremental SHA-256, for streams. */
struct dml_sha256_ctx {
	_Alignas(16) unsigned char opaque[128];
};
void dml_sha256_init(struct dml_sha256_ctx *c);
void dml_sha256_update(struct dml_sha256_ctx *c, const void *p, size_t n);
void dml_sha256_final(struct dml_sha256_ctx *c, unsigned char out[DML_SHA256_LEN]);

void dml_ed25519_from_seed(unsigned char pk[DML_ED25519_PK_LEN],
    unsigned char sk[DML_ED25519_SK_LEN], const unsigned char seed[DML_ED25519_SEED_LEN]);
void dml_ed25519_sign(unsigned char sig[DML_ED25519_SIG_LEN], const void *msg, size_t n,
    const unsigned char sk[DML_ED25519_SK_LEN]);
/* 0 when the signature is valid. */
int dml_ed25519_verify(const unsigned char sig[DML_ED25519_SIG_LEN], const void *msg, size_t n,
    const unsigned char pk[DML_ED25519_PK_LEN]) __attribute__((warn_unused_result));

/* Argon2id key derivation; limits are libsodium's ops/mem units. */
const struct dml_error *dml_pwhash(unsigned char key[DML_AEAD_KEY_LEN], const char *pass,
    size_t passlen, const unsigned char salt[DML_PWHASH_SALT_LEN], uint64_t opslimit,
    uint64_t memlimit);
void dml_pwhash_defaults(uint64_t *opslimit, uint64_t *memlimit);
/* Is (ops, mem) within what we accept from a key file? */
int dml_pwhash_limits_ok(uint64_t opslimit, uint64_t memlimit);

/* XChaCha20-Poly1305: out gets n + DML_AEAD_TAG_LEN bytes. */
void dml_aead_encrypt(unsigned char *out, const unsigned char *in, size_t n,
    const unsigned char *ad, size_t adlen, const unsigned char nonce[DML_AEAD_NONCE_LEN],
    const unsigned char key[DML_AEAD_KEY_LEN]);
/* 0 on success; in is n bytes including the tag; out gets n - tag bytes. */
int dml_aead_decrypt(unsigned char *out, const unsigned char *in, size_t n,
    const unsigned char *ad, size_t adlen, const unsigned char nonce[DML_AEAD_NONCE_LEN],
    const unsigned char key[DML_AEAD_KEY_LEN]) __attribute__((warn_unused_result));

/* Standard base64 with padding.  encode returns a malloc'd string. */
char *dml_base64_encode(const void *p, size_t n);
/* Strict decode (padding required, no whitespace): 0 on success, *out malloc'd. */
int dml_base64_decode(unsigned char **out, size_t *outlen, const char *s, size_t slen);
/* Block `counter` of the ChaCha20 (RFC 8439) key stream of key and nonce. */
void dml_chacha20_block(unsigned char out[64], const unsigned char key[32],
    const unsigned char nonce[12], uint32_t counter);
/* Lowercase hex; out must hold 2n+1 bytes. */
void dml_hex_encode(char *out, const void *p, size_t n);
/* Exactly 2n lowercase hex digits: 0 on success. */
int dml_hex_decode(unsigned char *out, size_t n, const char *s, size_t slen);

#endif
