/*
 * sha.c - SHA-256 through OpenSSL's libcrypto: the only file that includes
 * an OpenSSL header.
 *
 * libsodium's SHA-256 is portable C; libcrypto's uses the CPU's SHA
 * extensions or vector units, several times faster.  Datasets hash every
 * byte twice (per chunk and per file), so this is where the speed goes.
 */
/* The SHA256_* calls: a context that fits our opaque struct, no allocation. */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/sha.h>

#include "crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct dml_sha256_ctx *)0)->opaque),
    "sha256 state does not fit");
_Static_assert(sizeof(SHA_CTX) <= sizeof(((struct dml_sha1_ctx *)0)->opaque),
    "sha1 state does not fit");

void
dml_sha256(unsigned char out[DML_SHA256_LEN], const void *p, size_t n)
{
	SHA256(p, n, out);
}

void
dml_sha1(unsigned char out[20], const void *p, size_t n)
{
	SHA1(p, n, out);
}

void
dml_sha1_init(struct dml_sha1_ctx *c)
{
	SHA1_Init((SHA_CTX *)c->opaque);
}

void
dml_sha1_update(struct dml_sha1_ctx *c, const void *p, size_t n)
{
	SHA1_Update((SHA_CTX *)c->opaque, p, n);
}

void
dml_sha1_final(struct dml_sha1_ctx *c, unsigned char out[20])
{
	SHA1_Final(out, (SHA_CTX *)c->opaque);
}

void
dml_sha256_init(struct dml_sha256_ctx *c)
{
	SHA256_Init((SHA256_CTX *)c->opaque);
}

void
dml_sha256_update(struct dml_sha256_ctx *c, const void *p, size_t n)
{
	SHA256_Update((SHA256_CTX *)c->opaque, p, n);
}

void
dml_sha256_final(struct dml_sha256_ctx *c, unsigned char out[DML_SHA256_LEN])
{
	SHA256_Final(out, (SHA256_CTX *)c->opaque);
}
