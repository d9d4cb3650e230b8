/*
 * key.c - Ed25519 keys, their text forms, and secret key files.
 *
 * Secret material is only ever held in guarded memory (dml_secret_alloc) or
 * in buffers wiped before release.  Parsers of key files are strict and never
 * trust a length they have not checked; decoding a damaged or foreign file
 * is an error, never a garbage key.
 */
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "crypto.h"
#include "dml/key.h"

#define KEYFILE_MAGIC "dmlctl-secret-key-v1"
#define KEYFILE_LABEL "DMLCTL SECRET KEY"
#define OPENSSH_LABEL "OPENSSH PRIVATE KEY"
#define OPENSSH_MAGIC "openssh-key-v1"	/* followed by a NUL byte */

void
dml_pubkey_id(char *out, const struct dml_pubkey *pk)
{
	memcpy(out, "ed25519:", 8);
	dml_hex_encode(out + 8, pk->pk, DML_PUBKEY_LEN);
}

int
dml_pubkey_parse_id(struct dml_pubkey *pk, const char *s, size_t n)
{
	if (n != DML_KEY_ID_LEN || memcmp(s, "ed25519:", 8) != 0)
		return -1;
	return dml_hex_decode(pk->pk, DML_PUBKEY_LEN, s + 8, n - 8);
}

const struct dml_error *
dml_pubkey_wire(struct dml_buf *out, const struct dml_pubkey *pk)
{
	const struct dml_error *err;

	if ((err = dml_buf_add_sshstr(out, "ssh-ed25519", 11)))
		return err;
	return dml_buf_add_sshstr(out, pk->pk, DML_PUBKEY_LEN);
}

void
dml_pubkey_fingerprint(char *out, const struct dml_pubkey *pk)
{
	struct dml_buf w = DML_BUF_INIT;
	unsigned char h[DML_SHA256_LEN];
	char *b64;
	size_t len;

	memcpy(out, "SHA256:", 8);
	if (dml_pubkey_wire(&w, pk) != NULL)
		return;
	dml_sha256(h, w.data, w.len);
	dml_buf_release(&w);
	if ((b64 = dml_base64_encode(h, sizeof(h))) == NULL)
		return;
	len = strlen(b64);
	while (len > 0 && b64[len - 1] == '=')
		len--;
	memcpy(out + 7, b64, len);
	out[7 + len] = '\0';
	free(b64);
}

const struct dml_error *
dml_pubkey_openssh(struct dml_buf *out, const struct dml_pubkey *pk, const char *comment)
{
	struct dml_buf w = DML_BUF_INIT;
	const struct dml_error *err;
	char *b64;

	if ((err = dml_pubkey_wire(&w, pk)))
		return err;
	b64 = dml_base64_encode(w.data, w.len);
	dml_buf_release(&w);
	if (b64 == NULL)
		return dml_error_nomem();
	err = dml_buf_addf(out, "ssh-ed25519 %s%s%s", b64, comment && *comment ? " " : "",
	    comment && *comment ? comment : "");
	free(b64);
	return err;
}

const struct dml_error *
dml_pubkey_parse(struct dml_pubkey *pk, const char *s, size_t n)
{
	const char *sp;
	unsigned char *wire = NULL;
	size_t b64len, wlen;
	struct dml_reader r;
	const unsigned char *key;
	size_t klen;
	int ok;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n >= 8 && memcmp(s, "ed25519:", 8) == 0) {
		if (dml_pubkey_parse_id(pk, s, n) != 0)
			return dml_error_fmt(DML_ERR_PARSE,
			    "invalid key id: expected 'ed25519:' and 64 lowercase hex digits");
		return NULL;
	}
	if (n < 12 || memcmp(s, "ssh-ed25519 ", 12) != 0)
		return dml_error_fmt(DML_ERR_PARSE,
		    "not an ed25519 public key: expected 'ssh-ed25519 AAAA...' or 'ed25519:<hex>'");
	s += 12;
	n -= 12;
	sp = memchr(s, ' ', n);
	b64len = sp ? (size_t)(sp - s) : n;
	if (dml_base64_decode(&wire, &wlen, s, b64len) != 0)
		return dml_error_fmt(DML_ERR_PARSE, "public key has invalid base64");
	dml_reader_init(&r, wire, wlen);
	ok = dml_reader_expect(&r, "ssh-ed25519") == 0 && dml_reader_sshstr(&r, &key, &klen) == 0 &&
	    klen == DML_PUBKEY_LEN && r.left == 0;
	if (ok)
		memcpy(pk->pk, key, DML_PUBKEY_LEN);
	free(wire);
	if (!ok)
		return dml_error_fmt(DML_ERR_PARSE, "public key blob is not a valid ssh-ed25519 key");
	return NULL;
}

static const struct dml_error *
key_alloc(struct dml_key **out)
{
	struct dml_key *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return dml_error_nomem();
	if ((k->sk = dml_secret_alloc(DML_ED25519_SK_LEN)) == NULL) {
		free(k);
		return dml_error_nomem();
	}
	*out = k;
	return NULL;
}

const struct dml_error *
dml_key_from_seed(struct dml_key **out, const unsigned char seed[32])
{
	const struct dml_error *err;

	if ((err = dml_crypto_init()) || (err = key_alloc(out)))
		return err;
	dml_ed25519_from_seed((*out)->pub.pk, (*out)->sk, seed);
	return NULL;
}

const struct dml_error *
dml_key_generate(struct dml_key **out)
{
	const struct dml_error *err;
	unsigned char *seed;

	if ((err = dml_crypto_init()))
		return err;
	if ((seed = dml_secret_alloc(DML_ED25519_SEED_LEN)) == NULL)
		return dml_error_nomem();
	dml_randombytes(seed, DML_ED25519_SEED_LEN);
	err = dml_key_from_seed(out, seed);
	dml_secret_free(seed);
	return err;
}

void
dml_key_free(struct dml_key *k)
{
	if (k == NULL)
		return;
	dml_secret_free(k->sk);
	free(k);
}

void
dml_key_sign(const struct dml_key *k, unsigned char sig[64], const void *msg, size_t n)
{
	dml_ed25519_sign(sig, msg, n, k->sk);
}

int
dml_key_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > DML_KEY_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

const struct dml_error *
dml_keyfile_encode(struct dml_buf *out, const struct dml_key *k, const char *pass, size_t passlen)
{
	struct dml_buf blob = DML_BUF_INIT;
	unsigned char kdfopt[DML_PWHASH_SALT_LEN + 16], nonce[DML_AEAD_NONCE_LEN];
	unsigned char sealed[DML_ED25519_SEED_LEN + DML_AEAD_TAG_LEN];
	unsigned char *aeadkey = NULL;
	uint64_t ops, mem;
	const struct dml_error *err;

	if ((err = dml_crypto_init()))
		return err;
	if ((err = dml_buf_add_sshstr(&blob, KEYFILE_MAGIC, strlen(KEYFILE_MAGIC))))
		goto done;
	if (pass == NULL) {
		if ((err = dml_buf_add_sshstr(&blob, "none", 4)) ||
		    (err = dml_buf_add_sshstr(&blob, "", 0)) ||
		    (err = dml_buf_add_sshstr(&blob, "none", 4)) ||
		    (err = dml_buf_add_sshstr(&blob, "", 0)) ||
		    (err = dml_buf_add_sshstr(&blob, k->pub.pk, DML_PUBKEY_LEN)) ||
		    (err = dml_buf_add_sshstr(&blob, k->sk, DML_ED25519_SEED_LEN)))
			goto done;
	} else {
		dml_pwhash_defaults(&ops, &mem);
		dml_randombytes(kdfopt, DML_PWHASH_SALT_LEN);
		dml_put_be64(kdfopt + DML_PWHASH_SALT_LEN, ops);
		dml_put_be64(kdfopt + DML_PWHASH_SALT_LEN + 8, mem);
		dml_randombytes(nonce, sizeof(nonce));
		if ((aeadkey = dml_secret_alloc(DML_AEAD_KEY_LEN)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		if ((err = dml_pwhash(aeadkey, pass, passlen, kdfopt, ops, mem)))
			goto done;
		if ((err = dml_buf_add_sshstr(&blob, "argon2id", 8)) ||
		    (err = dml_buf_add_sshstr(&blob, kdfopt, sizeof(kdfopt))) ||
		    (err = dml_buf_add_sshstr(&blob, "xchacha20-poly1305", 18)) ||
		    (err = dml_buf_add_sshstr(&blob, nonce, sizeof(nonce))) ||
		    (err = dml_buf_add_sshstr(&blob, k->pub.pk, DML_PUBKEY_LEN)))
			goto done;
		dml_aead_encrypt(sealed, k->sk, DML_ED25519_SEED_LEN, blob.data, blob.len, nonce,
		    aeadkey);
		if ((err = dml_buf_add_sshstr(&blob, sealed, sizeof(sealed))))
			goto done;
	}
	err = dml_armor_encode(out, KEYFILE_LABEL, blob.data, blob.len);
done:
	if (aeadkey)
		dml_secret_free(aeadkey);
	dml_buf_wipe(&blob);
	return err;
}

struct keyfile {
	const unsigned char *kdf, *kdfopt, *cipher, *nonce, *pub, *secret;
	size_t kdflen, kdfoptlen, cipherlen, noncelen, publen, secretlen;
	size_t adlen;		/* bytes before the secret field */
};

static int
eq(const unsigned char *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

static int
keyfile_parse(struct keyfile *kf, const unsigned char *blob, size_t n)
{
	struct dml_reader r;

	dml_reader_init(&r, blob, n);
	if (dml_reader_expect(&r, KEYFILE_MAGIC) ||
	    dml_reader_sshstr(&r, &kf->kdf, &kf->kdflen) ||
	    dml_reader_sshstr(&r, &kf->kdfopt, &kf->kdfoptlen) ||
	    dml_reader_sshstr(&r, &kf->cipher, &kf->cipherlen) ||
	    dml_reader_sshstr(&r, &kf->nonce, &kf->noncelen) ||
	    dml_reader_sshstr(&r, &kf->pub, &kf->publen))
		return -1;
	kf->adlen = n - r.left;
	if (dml_reader_sshstr(&r, &kf->secret, &kf->secretlen) || r.left != 0)
		return -1;
	if (kf->publen != DML_PUBKEY_LEN)
		return -1;
	if (eq(kf->kdf, kf->kdflen, "none"))
		return kf->kdfoptlen == 0 && eq(kf->cipher, kf->cipherlen, "none") &&
		    kf->noncelen == 0 && kf->secretlen == DML_ED25519_SEED_LEN ? 0 : -1;
	if (eq(kf->kdf, kf->kdflen, "argon2id"))
		return kf->kdfoptlen == DML_PWHASH_SALT_LEN + 16 &&
		    eq(kf->cipher, kf->cipherlen, "xchacha20-poly1305") &&
		    kf->noncelen == DML_AEAD_NONCE_LEN &&
		    kf->secretlen == DML_ED25519_SEED_LEN + DML_AEAD_TAG_LEN ? 0 : -1;
	return -1;
}

/* Encryption flag and public key from a key file's clear header. */
static int
keyfile_header(const char *text, size_t n, struct dml_pubkey *pk)
{
	unsigned char *blob;
	size_t len;
	struct keyfile kf;
	int rc;

	if (dml_armor_decode(&blob, &len, text, n, KEYFILE_LABEL, 0) != 0)
		return -1;
	rc = keyfile_parse(&kf, blob, len) != 0 ? -1 : !eq(kf.kdf, kf.kdflen, "none");
	if (rc >= 0 && pk)
		memcpy(pk->pk, kf.pub, DML_PUBKEY_LEN);
	dml_memzero(blob, len);
	free(blob);
	return rc;
}

int
dml_keyfile_is_encrypted(const char *text, size_t n)
{
	return keyfile_header(text, n, NULL);
}

int
dml_keyfile_public(const char *text, size_t n, struct dml_pubkey *pk)
{
	return keyfile_header(text, n, pk) < 0 ? -1 : 0;
}

const struct dml_error *
dml_keyfile_decode(struct dml_key **out, const char *text, size_t n, const char *pass,
    size_t passlen, const char *what)
{
	unsigned char *blob = NULL, *seed = NULL, *aeadkey = NULL;
	size_t len = 0;
	struct keyfile kf;
	const struct dml_error *err = NULL;
	struct dml_key *k = NULL;

	*out = NULL;
	if ((err = dml_crypto_init()))
		return err;
	if (dml_armor_decode(&blob, &len, text, n, KEYFILE_LABEL, 0) != 0 ||
	    keyfile_parse(&kf, blob, len) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' is not a valid dmlctl secret key file", what);
		goto done;
	}
	if ((seed = dml_secret_alloc(DML_ED25519_SEED_LEN)) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if (eq(kf.kdf, kf.kdflen, "none")) {
		memcpy(seed, kf.secret, DML_ED25519_SEED_LEN);
	} else {
		uint64_t ops = dml_get_be64(kf.kdfopt + DML_PWHASH_SALT_LEN);
		uint64_t mem = dml_get_be64(kf.kdfopt + DML_PWHASH_SALT_LEN + 8);

		if (pass == NULL) {
			err = dml_error_fmt(DML_ERR_PASSPHRASE,
			    "key '%s' is encrypted and no passphrase was given", what);
			goto done;
		}
		if (!dml_pwhash_limits_ok(ops, mem)) {
			err = dml_error_fmt(DML_ERR_PARSE,
			    "'%s' asks for unreasonable argon2id limits", what);
			goto done;
		}
		if ((aeadkey = dml_secret_alloc(DML_AEAD_KEY_LEN)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		if ((err = dml_pwhash(aeadkey, pass, passlen, kf.kdfopt, ops, mem)))
			goto done;
		if (dml_aead_decrypt(seed, kf.secret, kf.secretlen, blob, kf.adlen, kf.nonce,
		    aeadkey) != 0) {
			err = dml_error_fmt(DML_ERR_PASSPHRASE,
			    "wrong passphrase for key '%s' (or the key file is damaged)", what);
			goto done;
		}
	}
	if ((err = dml_key_from_seed(&k, seed)))
		goto done;
	if (dml_memcmp_ct(k->pub.pk, kf.pub, DML_PUBKEY_LEN) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE,
		    "key file '%s' is damaged: its public key does not match its secret key", what);
		goto done;
	}
	*out = k;
	k = NULL;
done:
	dml_key_free(k);
	if (seed)
		dml_secret_free(seed);
	if (aeadkey)
		dml_secret_free(aeadkey);
	if (blob) {
		dml_memzero(blob, len);
		free(blob);
	}
	return err;
}

int
dml_openssh_key_detect(const char *text, size_t n)
{
	static const char begin[] = "-----BEGIN " OPENSSH_LABEL "-----";
	size_t i = 0;

	while (i < n && (text[i] == '\n' || text[i] == '\r'))
		i++;
	return n - i >= sizeof(begin) - 1 && memcmp(text + i, begin, sizeof(begin) - 1) == 0;
}

const struct dml_error *
dml_openssh_key_decode(struct dml_key **out, char **comment, const char *text, size_t n,
    const char *what)
{
	unsigned char *blob = NULL;
	size_t len = 0, i, padlen;
	struct dml_reader r, pr;
	struct dml_buf pw = DML_BUF_INIT;
	const unsigned char *magic, *cipher, *kdf, *kdfopt, *pubw, *priv, *pk, *sk, *cmt, *pad;
	size_t cipherlen, kdflen, kdfoptlen, pubwlen, privlen, pklen, sklen, cmtlen;
	uint32_t nkeys, check1, check2;
	struct dml_key *k = NULL;
	const struct dml_error *err = NULL;

	*out = NULL;
	*comment = NULL;
	if (dml_armor_decode(&blob, &len, text, n, OPENSSH_LABEL, 0) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' is not an OpenSSH private key file", what);
		goto done;
	}
	dml_reader_init(&r, blob, len);
	if (dml_reader_bytes(&r, &magic, sizeof(OPENSSH_MAGIC)) ||
	    memcmp(magic, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0 ||
	    dml_reader_sshstr(&r, &cipher, &cipherlen) ||
	    dml_reader_sshstr(&r, &kdf, &kdflen) ||
	    dml_reader_sshstr(&r, &kdfopt, &kdfoptlen) ||
	    dml_reader_u32(&r, &nkeys)) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s': malformed OpenSSH private key", what);
		goto done;
	}
	if (!eq(cipher, cipherlen, "none") || !eq(kdf, kdflen, "none")) {
		err = dml_error_fmt(DML_ERR_UNSUPPORTED,
		    "'%s' is encrypted; import a decrypted copy (ssh-keygen -p -N '' -f <copy>)",
		    what);
		goto done;
	}
	if (nkeys != 1) {
		err = dml_error_fmt(DML_ERR_UNSUPPORTED, "'%s' holds %u keys; expected exactly one",
		    what, (unsigned)nkeys);
		goto done;
	}
	if (kdfoptlen != 0 || dml_reader_sshstr(&r, &pubw, &pubwlen) ||
	    dml_reader_sshstr(&r, &priv, &privlen) || r.left != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s': malformed OpenSSH private key", what);
		goto done;
	}
	dml_reader_init(&pr, priv, privlen);
	if (dml_reader_u32(&pr, &check1) || dml_reader_u32(&pr, &check2) || check1 != check2) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s': OpenSSH private key check bytes differ",
		    what);
		goto done;
	}
	if (dml_reader_expect(&pr, "ssh-ed25519")) {
		err = dml_error_fmt(DML_ERR_UNSUPPORTED, "'%s' is not an ed25519 key", what);
		goto done;
	}
	if (dml_reader_sshstr(&pr, &pk, &pklen) || pklen != DML_PUBKEY_LEN ||
	    dml_reader_sshstr(&pr, &sk, &sklen) || sklen != DML_ED25519_SK_LEN ||
	    dml_reader_sshstr(&pr, &cmt, &cmtlen) || pr.left >= 8 ||
	    memcmp(sk + 32, pk, DML_PUBKEY_LEN) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s': malformed OpenSSH ed25519 private key",
		    what);
		goto done;
	}
	/* Padding is 1, 2, 3, ... up to the cipher block size (8 for "none"). */
	padlen = pr.left;
	if (dml_reader_bytes(&pr, &pad, padlen) != 0)
		padlen = 0;
	for (i = 0; i < padlen; i++)
		if (pad[i] != (unsigned char)(i + 1)) {
			err = dml_error_fmt(DML_ERR_PARSE, "'%s': bad padding in OpenSSH private key",
			    what);
			goto done;
		}
	if ((err = dml_key_from_seed(&k, sk)))
		goto done;
	dml_buf_reset(&pw);
	if ((err = dml_pubkey_wire(&pw, &k->pub)))
		goto done;
	if (memcmp(k->pub.pk, pk, DML_PUBKEY_LEN) != 0 || pubwlen != pw.len ||
	    memcmp(pubw, pw.data, pw.len) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE,
		    "'%s': OpenSSH private key does not match its public key", what);
		goto done;
	}
	/* A comment becomes part of a .pub line: no control characters in it. */
	for (i = 0; i < cmtlen; i++)
		if (cmt[i] < 0x20 || cmt[i] == 0x7f)
			cmtlen = 0;
	if ((*comment = malloc(cmtlen + 1)) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	memcpy(*comment, cmt, cmtlen);
	(*comment)[cmtlen] = '\0';
	*out = k;
	k = NULL;
done:
	dml_buf_release(&pw);
	dml_key_free(k);
	if (blob) {
		dml_memzero(blob, len);
		free(blob);
	}
	return err;
}
