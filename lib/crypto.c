/*
 * crypto.c - the libsodium wrapper.  See crypto.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "dml/version.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == DML_ED25519_PK_LEN, "ed25519 pk size");
_Static_assert(crypto_sign_SECRETKEYBYTES == DML_ED25519_SK_LEN, "ed25519 sk size");
_Static_assert(crypto_sign_BYTES == DML_ED25519_SIG_LEN, "ed25519 sig size");
_Static_assert(crypto_pwhash_SALTBYTES == DML_PWHASH_SALT_LEN, "salt size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == DML_AEAD_NONCE_LEN, "nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == DML_AEAD_TAG_LEN, "tag");

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_result;

static void
init_once(void)
{
	init_result = sodium_init();
}

const struct dml_error *
dml_crypto_init(void)
{
	pthread_once(&once, init_once);
	if (init_result < 0)
		return dml_error_fmt(DML_ERR_INTERNAL, "cannot initialise libsodium");
	return NULL;
}

const char *
dml_sodium_version(void)
{
	return sodium_version_string();
}

void
dml_memzero(void *p, size_t n)
{
	sodium_memzero(p, n);
}

int
dml_memcmp_ct(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n);
}

void
dml_randombytes(void *p, size_t n)
{
	randombytes_buf(p, n);
}

void *
dml_secret_alloc(size_t n)
{
	/* sodium_malloc() aborts the process when sodium_init() has not run. */
	if (dml_crypto_init() != NULL)
		return NULL;
	return sodium_malloc(n);
}

void
dml_secret_free(void *p)
{
	sodium_free(p);
}

void
dml_sha512(unsigned char out[DML_SHA512_LEN], const void *p, size_t n)
{
	crypto_hash_sha512(out, p, n);
}

void
dml_ed25519_from_seed(unsigned char pk[DML_ED25519_PK_LEN], unsigned char sk[DML_ED25519_SK_LEN],
    const unsigned char seed[DML_ED25519_SEED_LEN])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}

void
dml_ed25519_sign(unsigned char sig[DML_ED25519_SIG_LEN], const void *msg, size_t n,
    const unsigned char sk[DML_ED25519_SK_LEN])
{
	crypto_sign_detached(sig, NULL, msg, n, sk);
}

int
dml_ed25519_verify(const unsigned char sig[DML_ED25519_SIG_LEN], const void *msg, size_t n,
    const unsigned char pk[DML_ED25519_PK_LEN])
{
	return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? 0 : -1;
}

void
dml_pwhash_defaults(uint64_t *opslimit, uint64_t *memlimit)
{
	*opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	*memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int
dml_pwhash_limits_ok(uint64_t opslimit, uint64_t memlimit)
{
	/* Refuse files that would make us spin or allocate without bound. */
	/* At most libsodium's "sensitive" cost: 4 passes over 1 GiB. */
	return opslimit >= crypto_pwhash_OPSLIMIT_MIN &&
	    opslimit <= crypto_pwhash_OPSLIMIT_SENSITIVE &&
	    memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
	    memlimit <= crypto_pwhash_MEMLIMIT_SENSITIVE;
}

const struct dml_error *
dml_pwhash(unsigned char key[DML_AEAD_KEY_LEN], const char *pass, size_t passlen,
    const unsigned char salt[DML_PWHASH_SALT_LEN], uint64_t opslimit, uint64_t memlimit)
{
	if (crypto_pwhash(key, DML_AEAD_KEY_LEN, pass, passlen, salt, opslimit, (size_t)memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return dml_error_fmt(DML_ERR_NOMEM, "cannot derive key from passphrase: out of memory");
	return NULL;
}

void
dml_aead_encrypt(unsigned char *out, const unsigned char *in, size_t n, const unsigned char *ad,
    size_t adlen, const unsigned char nonce[DML_AEAD_NONCE_LEN],
    const unsigned char key[DML_AEAD_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, n, ad, adlen, NULL, nonce, key);
}

int
dml_aead_decrypt(unsigned char *out, const unsigned char *in, size_t n, const unsigned char *ad,
    size_t adlen, const unsigned char nonce[DML_AEAD_NONCE_LEN],
    const unsigned char key[DML_AEAD_KEY_LEN])
{
	if (n < DML_AEAD_TAG_LEN)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in, n, ad, adlen, nonce,
	    key) == 0 ? 0 : -1;
}

char *
dml_base64_encode(const void *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int
dml_base64_decode(unsigned char **out, size_t *outlen, const char *s, size_t slen)
{
	size_t cap = slen / 4 * 3 + 3, len, i;
	const char *end;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (slen % 4 != 0)
		return -1;
	/*
	 * libsodium's decoder reads characters as signed chars, so some bytes
	 * above 0x7f decode as '+' and '/': without this check one signature
	 * would have several spellings (and a signed file several IDs).
	 */
	for (i = 0; i < slen; i++)
		if ((unsigned char)s[i] >= 0x80)
			return -1;
	if ((buf = malloc(cap + 1)) == NULL)
		return -1;
	if (sodium_base642bin(buf, cap, s, slen, NULL, &len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen) {
		sodium_memzero(buf, cap + 1);
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

void
dml_hex_encode(char *out, const void *p, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

int
dml_hex_decode(unsigned char *out, size_t n, const char *s, size_t slen)
{
	size_t i;

	if (slen != 2 * n)
		return -1;
	for (i = 0; i < slen; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return sodium_hex2bin(out, n, s, slen, NULL, NULL, NULL) == 0 ? 0 : -1;
}

void
dml_chacha20_block(unsigned char out[64], const unsigned char key[32],
    const unsigned char nonce[12], uint32_t counter)
{
	static const unsigned char zero[64];

	crypto_stream_chacha20_ietf_xor_ic(out, zero, 64, nonce, counter, key);
}
