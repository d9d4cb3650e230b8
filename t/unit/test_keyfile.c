/*
 * test_keyfile.c - secret key files (dml/key.h): dmlctl's own format and
 * OpenSSH private keys.
 *
 * A key file that is damaged, foreign or opened with the wrong passphrase
 * must give an error and no key: never a different key.  Encrypted files
 * made by dml_keyfile_encode use Argon2id's INTERACTIVE limits (~0.1 s per
 * derivation), so only a handful of tests use them; the exhaustive
 * corruption test crafts its own file with the cheapest limits the decoder
 * accepts, through the same primitives (crypto.h).
 *
 * Fixtures in t/data/sshsig/: test_ed25519 (unencrypted ed25519),
 * encrypted_ed25519 (passphrase "pass") and rsa_1024, all by ssh-keygen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "armor.h"
#include "crypto.h"
#include "dml/key.h"
#include "dml/keystore.h"

#define KEYFILE_LABEL "DMLCTL SECRET KEY"
#define OPENSSH_LABEL "OPENSSH PRIVATE KEY"
#define PASS "correct horse battery staple"

static void
load(struct dml_buf *b, const char *name)
{
	const char *src = getenv("DMLCTL_SOURCE_DIR");
	char path[4096];
	const struct dml_error *err;

	if (src && *src)
		snprintf(path, sizeof(path), "%s/t/data/sshsig/%s", src, name);
	else
		snprintf(path, sizeof(path), "data/sshsig/%s", name);
	if ((err = dml_read_file(path, b, 1 << 20)) != NULL)
		fail_msg("%s", err->msg);
}

static struct dml_key *
seed_key(unsigned char v)
{
	unsigned char seed[32];
	struct dml_key *k = NULL;

	memset(seed, v, sizeof(seed));
	assert_null(dml_key_from_seed(&k, seed));
	return k;
}

static void
assert_same_key(const struct dml_key *a, const struct dml_key *b)
{
	assert_memory_equal(a->pub.pk, b->pub.pk, DML_PUBKEY_LEN);
	assert_memory_equal(a->sk, b->sk, 64);
}

/* Decoding must fail with `code` and leave *out NULL. */
static void
decode_fails(const void *text, size_t n, const char *pass, enum dml_error_code code)
{
	struct dml_key *k = (struct dml_key *)1;
	const struct dml_error *err = dml_keyfile_decode(&k, text, n, pass,
	    pass ? strlen(pass) : 0, "test.key");

	if (err == NULL) {
		dml_key_free(k);
		fail_msg("damaged key file decoded");
	}
	assert_null(k);
	if (err->code != code)
		fail_msg("error code %d, expected %d: %s", err->code, code, err->msg);
}

/*
 * The blob of an encrypted key file with chosen Argon2id limits, laid out
 * as dml/key.h describes.  With sealed_ops/mem different from ops/mem the
 * header claims one cost and the seed is sealed under another.
 */
static void
craft_encrypted(struct dml_buf *blob, const struct dml_key *k, const char *pass, uint64_t ops,
    uint64_t mem)
{
	unsigned char opt[32], nonce[24], key[32], sealed[48];

	memset(opt, 0x5a, 16);
	dml_put_be64(opt + 16, ops);
	dml_put_be64(opt + 24, mem);
	memset(nonce, 0xa5, sizeof(nonce));
	dml_buf_reset(blob);
	assert_null(dml_buf_add_sshstr(blob, "dmlctl-secret-key-v1", 20));
	assert_null(dml_buf_add_sshstr(blob, "argon2id", 8));
	assert_null(dml_buf_add_sshstr(blob, opt, sizeof(opt)));
	assert_null(dml_buf_add_sshstr(blob, "xchacha20-poly1305", 18));
	assert_null(dml_buf_add_sshstr(blob, nonce, sizeof(nonce)));
	assert_null(dml_buf_add_sshstr(blob, k->pub.pk, 32));
	if (dml_pwhash_limits_ok(ops, mem))
		assert_null(dml_pwhash(key, pass, strlen(pass), opt, ops, mem));
	else
		memset(key, 0, sizeof(key));
	dml_aead_encrypt(sealed, k->sk, 32, blob->data, blob->len, nonce, key);
	assert_null(dml_buf_add_sshstr(blob, sealed, sizeof(sealed)));
}

static void
armor(struct dml_buf *out, const char *label, const void *blob, size_t len)
{
	dml_buf_reset(out);
	assert_null(dml_armor_encode(out, label, blob, len));
}

/* The cheapest limits the decoder accepts. */
static void
cheap_limits(uint64_t *ops, uint64_t *mem)
{
	*ops = 1;
	*mem = 8192;
	assert_true(dml_pwhash_limits_ok(*ops, *mem));
	assert_false(dml_pwhash_limits_ok(*ops - 1, *mem));
	assert_false(dml_pwhash_limits_ok(*ops, *mem - 1));
}

/* ---------------------------------------------------------------------------
 * dmlctl key files */

static void
test_unencrypted_round_trip(void **state)
{
	struct dml_key *k = seed_key(7), *back = NULL;
	struct dml_buf text = DML_BUF_INIT, again = DML_BUF_INIT;
	struct dml_pubkey pub;

	(void)state;
	assert_null(dml_keyfile_encode(&text, k, NULL, 0));
	assert_non_null(strstr((const char *)text.data, "-----BEGIN " KEYFILE_LABEL "-----\n"));
	assert_int_equal(dml_keyfile_is_encrypted((const char *)text.data, text.len), 0);
	assert_int_equal(dml_keyfile_public((const char *)text.data, text.len, &pub), 0);
	assert_memory_equal(pub.pk, k->pub.pk, 32);
	assert_null(dml_keyfile_decode(&back, (const char *)text.data, text.len, NULL, 0, "k"));
	assert_same_key(k, back);
	dml_key_free(back);
	/* A passphrase given for an unencrypted file is not needed, and not an error. */
	assert_null(dml_keyfile_decode(&back, (const char *)text.data, text.len, "x", 1, "k"));
	assert_same_key(k, back);
	dml_key_free(back);
	/* Unencrypted encoding is deterministic. */
	assert_null(dml_keyfile_encode(&again, k, NULL, 0));
	assert_int_equal(again.len, text.len);
	assert_memory_equal(again.data, text.data, text.len);
	/* The decoder is lenient about layout, as people's files are: CRLF, blank lines. */
	{
		struct dml_buf crlf = DML_BUF_INIT;
		size_t i;
		assert_null(dml_buf_adds(&crlf, "\n\n"));
		for (i = 0; i < text.len; i++)
			assert_null(text.data[i] == '\n' ? dml_buf_adds(&crlf, "\r\n") :
			    dml_buf_add(&crlf, &text.data[i], 1));
		assert_null(dml_buf_adds(&crlf, "\n"));
		assert_null(dml_keyfile_decode(&back, (const char *)crlf.data, crlf.len, NULL, 0,
		    "k"));
		assert_same_key(k, back);
		dml_key_free(back);
		dml_buf_release(&crlf);
	}
	dml_buf_release(&again);
	dml_buf_release(&text);
	dml_key_free(k);
}

static void
test_encrypted_round_trip(void **state)
{
	struct dml_key *k = seed_key(9), *back = NULL;
	struct dml_buf text = DML_BUF_INIT, text2 = DML_BUF_INIT;
	struct dml_pubkey pub;
	const struct dml_error *err;

	(void)state;
	assert_null(dml_keyfile_encode(&text, k, PASS, strlen(PASS)));
	assert_int_equal(dml_keyfile_is_encrypted((const char *)text.data, text.len), 1);
	/* The public key is readable without the passphrase. */
	assert_int_equal(dml_keyfile_public((const char *)text.data, text.len, &pub), 0);
	assert_memory_equal(pub.pk, k->pub.pk, 32);
	/* The seed does not appear in the file. */
	{
		unsigned char *blob;
		size_t len, i;
		assert_int_equal(dml_armor_decode(&blob, &len, (const char *)text.data, text.len,
		    KEYFILE_LABEL, 1), 0);
		for (i = 0; i + 32 <= len; i++)
			assert_memory_not_equal(blob + i, k->sk, 32);
		free(blob);
	}

	assert_null(dml_keyfile_decode(&back, (const char *)text.data, text.len, PASS,
	    strlen(PASS), "k"));
	assert_same_key(k, back);
	dml_key_free(back);

	/* Wrong passphrase: an error and no key.  So is a missing one. */
	decode_fails(text.data, text.len, "correct horse battery stapler", DML_ERR_PASSPHRASE);
	decode_fails(text.data, text.len, NULL, DML_ERR_PASSPHRASE);
	back = (struct dml_key *)1;
	err = dml_keyfile_decode(&back, (const char *)text.data, text.len, PASS,
	    strlen(PASS) - 1, "k");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_PASSPHRASE);
	assert_null(back);

	/* A fresh salt and nonce each time. */
	assert_null(dml_keyfile_encode(&text2, k, PASS, strlen(PASS)));
	assert_true(text.len != text2.len || memcmp(text.data, text2.data, text.len) != 0);
	dml_buf_release(&text2);
	dml_buf_release(&text);
	dml_key_free(k);
}

static void
test_empty_passphrase(void **state)
{
	struct dml_key *k = seed_key(10), *back = NULL;
	struct dml_buf blob = DML_BUF_INIT, text = DML_BUF_INIT;
	uint64_t ops, mem;

	(void)state;
	/* An empty passphrase is a passphrase: it encrypts, and only it decrypts. */
	cheap_limits(&ops, &mem);
	craft_encrypted(&blob, k, "", ops, mem);
	armor(&text, KEYFILE_LABEL, blob.data, blob.len);
	assert_null(dml_keyfile_decode(&back, (const char *)text.data, text.len, "", 0, "k"));
	assert_same_key(k, back);
	dml_key_free(back);
	decode_fails(text.data, text.len, " ", DML_ERR_PASSPHRASE);
	decode_fails(text.data, text.len, NULL, DML_ERR_PASSPHRASE);
	dml_buf_release(&blob);
	dml_buf_release(&text);
	dml_key_free(k);
}

/* Every single-byte change of the blob, re-armored, fails cleanly. */
static void
corrupt_every_byte(const struct dml_buf *blob, const struct dml_key *k, const char *pass,
    size_t mem_offset)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	struct dml_buf text = DML_BUF_INIT;
	unsigned char *b = malloc(blob->len);
	size_t i, x, tried = 0;

	assert_non_null(b);
	for (i = 0; i < blob->len; i++)
		for (x = 0; x < sizeof(flips); x++) {
			struct dml_key *out = (struct dml_key *)1;
			const struct dml_error *err;

			memcpy(b, blob->data, blob->len);
			b[i] ^= flips[x];
			/*
			 * A memlimit raised to gigabytes but still within the accepted
			 * limits would take seconds: the decoder's bound is tested
			 * apart.  Skip those few.
			 */
			if (mem_offset && dml_get_be64(b + mem_offset) > ((uint64_t)64 << 20) &&
			    dml_get_be64(b + mem_offset) <= ((uint64_t)1 << 30))
				continue;
			armor(&text, KEYFILE_LABEL, b, blob->len);
			err = dml_keyfile_decode(&out, (const char *)text.data, text.len, pass,
			    pass ? strlen(pass) : 0, "k");
			if (err == NULL) {
				/* Success would have to mean the same key; it never happens. */
				assert_same_key(out, k);
				dml_key_free(out);
				fail_msg("byte %zu ^ 0x%02x: damaged key file decoded", i, flips[x]);
			}
			assert_null(out);
			if (err->code != DML_ERR_PARSE && err->code != DML_ERR_PASSPHRASE)
				fail_msg("byte %zu ^ 0x%02x: error code %d: %s", i, flips[x],
				    err->code, err->msg);
			tried++;
		}
	assert_true(tried >= 3 * blob->len - 3);
	free(b);
	dml_buf_release(&text);
}

static void
test_corrupt_encrypted(void **state)
{
	struct dml_key *k = seed_key(11), *back = NULL;
	struct dml_buf blob = DML_BUF_INIT, text = DML_BUF_INIT;
	uint64_t ops, mem;
	size_t mem_offset;

	(void)state;
	cheap_limits(&ops, &mem);
	craft_encrypted(&blob, k, PASS, ops, mem);
	/* The crafted file is a valid key file. */
	armor(&text, KEYFILE_LABEL, blob.data, blob.len);
	assert_null(dml_keyfile_decode(&back, (const char *)text.data, text.len, PASS,
	    strlen(PASS), "k"));
	assert_same_key(k, back);
	dml_key_free(back);
	/* string magic, string kdf, uint32 len, salt[16], ops[8], mem[8] */
	mem_offset = 4 + 20 + 4 + 8 + 4 + 16 + 8;
	assert_true(dml_get_be64(blob.data + mem_offset) == mem);
	corrupt_every_byte(&blob, k, PASS, mem_offset);
	dml_buf_release(&text);
	dml_buf_release(&blob);
	dml_key_free(k);
}

static void
test_corrupt_unencrypted(void **state)
{
	struct dml_key *k = seed_key(12);
	struct dml_buf text = DML_BUF_INIT, blob = DML_BUF_INIT;
	unsigned char *b;
	size_t len;

	(void)state;
	assert_null(dml_keyfile_encode(&text, k, NULL, 0));
	assert_int_equal(dml_armor_decode(&b, &len, (const char *)text.data, text.len,
	    KEYFILE_LABEL, 1), 0);
	assert_null(dml_buf_add(&blob, b, len));
	free(b);
	corrupt_every_byte(&blob, k, NULL, 0);
	dml_buf_release(&blob);
	dml_buf_release(&text);
	dml_key_free(k);
}

static void
test_truncated_and_extended(void **state)
{
	struct dml_key *k = seed_key(13);
	struct dml_buf text = DML_BUF_INIT, blob = DML_BUF_INIT, arm = DML_BUF_INIT;
	uint64_t ops, mem;
	size_t cut;

	(void)state;
	cheap_limits(&ops, &mem);
	craft_encrypted(&blob, k, PASS, ops, mem);
	for (cut = 0; cut < blob.len; cut++) {
		armor(&arm, KEYFILE_LABEL, blob.data, cut);
		decode_fails(arm.data, arm.len, PASS, DML_ERR_PARSE);
		assert_int_equal(dml_keyfile_is_encrypted((const char *)arm.data, arm.len), -1);
	}
	assert_null(dml_buf_add(&blob, "\0", 1));
	armor(&arm, KEYFILE_LABEL, blob.data, blob.len);
	decode_fails(arm.data, arm.len, PASS, DML_ERR_PARSE);
	/* Text after the END line, and a foreign label. */
	assert_null(dml_keyfile_encode(&text, k, NULL, 0));
	assert_null(dml_buf_adds(&text, "garbage\n"));
	decode_fails(text.data, text.len, NULL, DML_ERR_PARSE);
	dml_buf_reset(&text);
	assert_null(dml_keyfile_encode(&text, k, NULL, 0));
	armor(&arm, OPENSSH_LABEL, text.data, text.len);
	decode_fails(arm.data, arm.len, NULL, DML_ERR_PARSE);
	decode_fails("", 0, NULL, DML_ERR_PARSE);
	decode_fails("not a key\n", 10, NULL, DML_ERR_PARSE);
	dml_buf_release(&arm);
	dml_buf_release(&blob);
	dml_buf_release(&text);
	dml_key_free(k);
}

static void
test_unreasonable_limits(void **state)
{
	static const struct {
		uint64_t ops, mem;
	} bad[] = {
		{ 0, 8192 },
		{ 5, 8192 },
		{ 65, 8192 },
		{ 1000000, 8192 },
		{ UINT64_MAX, 8192 },
		{ 1, 0 },
		{ 1, 8191 },
		{ 1, ((uint64_t)1 << 30) + 1 },
		{ 1, ((uint64_t)4 << 30) + 1 },
		{ 1, (uint64_t)1 << 40 },
		{ 2, UINT64_MAX },
		{ UINT64_MAX, UINT64_MAX },
	};
	struct dml_key *k = seed_key(14);
	struct dml_buf blob = DML_BUF_INIT, text = DML_BUF_INIT;
	const struct dml_error *err;
	struct dml_key *out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(dml_pwhash_limits_ok(bad[i].ops, bad[i].mem));
		craft_encrypted(&blob, k, PASS, bad[i].ops, bad[i].mem);
		armor(&text, KEYFILE_LABEL, blob.data, blob.len);
		/* Still recognisably an encrypted key file... */
		assert_int_equal(dml_keyfile_is_encrypted((const char *)text.data, text.len), 1);
		/* ...that is refused before any work is done. */
		out = (struct dml_key *)1;
		err = dml_keyfile_decode(&out, (const char *)text.data, text.len, PASS,
		    strlen(PASS), "greedy.key");
		assert_non_null(err);
		assert_int_equal(err->code, DML_ERR_PARSE);
		assert_non_null(strstr(err->msg, "unreasonable"));
		assert_non_null(strstr(err->msg, "'greedy.key'"));
		assert_null(out);
	}
	/* The largest ops accepted, with the least memory, is still quick. */
	assert_true(dml_pwhash_limits_ok(4, 8192));
	assert_true(dml_pwhash_limits_ok(1, (uint64_t)1 << 30));
	craft_encrypted(&blob, k, PASS, 4, 8192);
	armor(&text, KEYFILE_LABEL, blob.data, blob.len);
	assert_null(dml_keyfile_decode(&out, (const char *)text.data, text.len, PASS,
	    strlen(PASS), "k"));
	assert_same_key(k, out);
	dml_key_free(out);
	dml_buf_release(&blob);
	dml_buf_release(&text);
	dml_key_free(k);
}

static void
test_is_encrypted(void **state)
{
	struct dml_buf ossh = DML_BUF_INIT;

	(void)state;
	load(&ossh, "test_ed25519");
	assert_int_equal(dml_keyfile_is_encrypted("", 0), -1);
	assert_int_equal(dml_keyfile_is_encrypted("hello\n", 6), -1);
	assert_int_equal(dml_keyfile_is_encrypted((const char *)ossh.data, ossh.len), -1);
	assert_int_equal(dml_keyfile_public((const char *)ossh.data, ossh.len,
	    &(struct dml_pubkey){ { 0 } }), -1);
	dml_buf_release(&ossh);
}

/* ---------------------------------------------------------------------------
 * OpenSSH private keys */

/* Where the fields of an unencrypted OpenSSH key blob are. */
struct ossh {
	unsigned char *blob;
	size_t len;
	size_t nkeys;		/* offset of the uint32 key count */
	size_t priv;		/* offset of the private section (after its length) */
	size_t privlen;
	size_t padlen;
};

static void
ossh_open(struct ossh *o, const struct dml_buf *text)
{
	struct dml_reader r;
	const unsigned char *p;
	size_t n;
	uint32_t u;

	assert_int_equal(dml_armor_decode(&o->blob, &o->len, (const char *)text->data, text->len,
	    OPENSSH_LABEL, 0), 0);
	dml_reader_init(&r, o->blob, o->len);
	assert_int_equal(dml_reader_bytes(&r, &p, 15), 0);
	assert_memory_equal(p, "openssh-key-v1", 15);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);	/* cipher */
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);	/* kdf */
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);	/* kdfoptions */
	o->nkeys = o->len - r.left;
	assert_int_equal(dml_reader_u32(&r, &u), 0);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);	/* public key */
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);	/* private section */
	o->priv = (size_t)(p - o->blob);
	o->privlen = n;
	assert_int_equal(r.left, 0);
	/* check1 check2 string type string pk string sk string comment, then padding */
	dml_reader_init(&r, p, n);
	assert_int_equal(dml_reader_u32(&r, &u), 0);
	assert_int_equal(dml_reader_u32(&r, &u), 0);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);
	assert_int_equal(dml_reader_sshstr(&r, &p, &n), 0);
	o->padlen = r.left;
}

static void
openssh_fails(const void *blob, size_t len, enum dml_error_code code, const char *needle)
{
	struct dml_buf text = DML_BUF_INIT;
	struct dml_key *k = (struct dml_key *)1;
	char *comment = (char *)1;
	const struct dml_error *err;

	armor(&text, OPENSSH_LABEL, blob, len);
	err = dml_openssh_key_decode(&k, &comment, (const char *)text.data, text.len, "id_test");
	if (err == NULL) {
		dml_key_free(k);
		free(comment);
		fail_msg("damaged OpenSSH key decoded");
	}
	assert_null(k);
	assert_null(comment);
	if (err->code != code)
		fail_msg("error code %d, expected %d: %s", err->code, code, err->msg);
	if (needle && strstr(err->msg, needle) == NULL)
		fail_msg("message '%s' does not contain '%s'", err->msg, needle);
	dml_buf_release(&text);
}

static void
test_openssh_decode(void **state)
{
	struct dml_buf text = DML_BUF_INIT, pubtext = DML_BUF_INIT;
	struct dml_key *k = NULL;
	struct dml_pubkey pub;
	char *comment = NULL;

	(void)state;
	load(&text, "test_ed25519");
	load(&pubtext, "test_ed25519.pub");
	assert_true(dml_openssh_key_detect((const char *)text.data, text.len));
	assert_null(dml_openssh_key_decode(&k, &comment, (const char *)text.data, text.len,
	    "test_ed25519"));
	assert_string_equal(comment, "test");
	assert_null(dml_pubkey_parse(&pub, (const char *)pubtext.data, pubtext.len));
	assert_memory_equal(k->pub.pk, pub.pk, 32);
	/* The secret key is seed || public key, as libsodium keeps it. */
	assert_memory_equal(k->sk + 32, pub.pk, 32);
	/* Its dmlctl key file decodes to the same key. */
	{
		struct dml_buf kf = DML_BUF_INIT;
		struct dml_key *back = NULL;
		assert_null(dml_keyfile_encode(&kf, k, NULL, 0));
		assert_false(dml_openssh_key_detect((const char *)kf.data, kf.len));
		assert_null(dml_keyfile_decode(&back, (const char *)kf.data, kf.len, NULL, 0, "k"));
		assert_same_key(k, back);
		dml_key_free(back);
		dml_buf_release(&kf);
	}
	dml_key_free(k);
	free(comment);
	dml_buf_release(&pubtext);
	dml_buf_release(&text);
}

static void
test_openssh_unsupported(void **state)
{
	struct dml_buf text = DML_BUF_INIT;
	struct dml_key *k = (struct dml_key *)1;
	char *comment = (char *)1;
	const struct dml_error *err;

	(void)state;
	load(&text, "encrypted_ed25519");
	assert_true(dml_openssh_key_detect((const char *)text.data, text.len));
	err = dml_openssh_key_decode(&k, &comment, (const char *)text.data, text.len,
	    "encrypted_ed25519");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "encrypted"));
	assert_null(k);
	assert_null(comment);

	load(&text, "rsa_1024");
	k = (struct dml_key *)1;
	err = dml_openssh_key_decode(&k, &comment, (const char *)text.data, text.len, "rsa_1024");
	assert_non_null(err);
	assert_int_equal(err->code, DML_ERR_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "ed25519"));
	assert_null(k);
	assert_null(comment);
	dml_buf_release(&text);
}

static void
test_openssh_damaged(void **state)
{
	struct dml_buf text = DML_BUF_INIT;
	struct ossh o;
	unsigned char *b;
	size_t i;

	(void)state;
	load(&text, "test_ed25519");
	ossh_open(&o, &text);
	assert_true(o.padlen >= 1 && o.padlen < 8);
	b = malloc(o.len + 16);
	assert_non_null(b);

	/* Bad padding: each padding byte in turn. */
	for (i = 0; i < o.padlen; i++) {
		memcpy(b, o.blob, o.len);
		b[o.len - o.padlen + i] ^= 0x10;
		openssh_fails(b, o.len, DML_ERR_PARSE, "padding");
	}
	/* Check bytes that differ. */
	memcpy(b, o.blob, o.len);
	b[o.priv + 3] ^= 1;
	openssh_fails(b, o.len, DML_ERR_PARSE, "check");
	memcpy(b, o.blob, o.len);
	b[o.priv + 4] ^= 0x80;
	openssh_fails(b, o.len, DML_ERR_PARSE, "check");
	/* Two keys in one file. */
	memcpy(b, o.blob, o.len);
	b[o.nkeys + 3] = 2;
	openssh_fails(b, o.len, DML_ERR_UNSUPPORTED, NULL);
	/* Trailing bytes after the private section. */
	memcpy(b, o.blob, o.len);
	b[o.len] = 0;
	openssh_fails(b, o.len + 1, DML_ERR_PARSE, NULL);
	/* Eight or more bytes of padding (one whole cipher block too many). */
	{
		struct dml_buf nb = DML_BUF_INIT;
		unsigned char pad[16];
		size_t j;
		for (j = 0; j < sizeof(pad); j++)
			pad[j] = (unsigned char)(j + 1);
		assert_null(dml_buf_add(&nb, o.blob, o.priv - 4));
		assert_null(dml_buf_add_u32(&nb, (uint32_t)(o.privlen + 8)));
		assert_null(dml_buf_add(&nb, o.blob + o.priv, o.privlen));
		assert_null(dml_buf_add(&nb, pad + o.padlen, 8));
		openssh_fails(nb.data, nb.len, DML_ERR_PARSE, NULL);
		dml_buf_release(&nb);
	}
	/* Truncated anywhere. */
	for (i = 0; i < o.len; i++)
		openssh_fails(o.blob, i, DML_ERR_PARSE, NULL);
	/* Not armored as an OpenSSH key. */
	{
		struct dml_key *k = (struct dml_key *)1;
		char *comment = (char *)1;
		assert_non_null(dml_openssh_key_decode(&k, &comment, "", 0, "x"));
		assert_null(k);
		assert_null(comment);
		armor(&text, KEYFILE_LABEL, o.blob, o.len);
		assert_non_null(dml_openssh_key_decode(&k, &comment, (const char *)text.data,
		    text.len, "x"));
		assert_false(dml_openssh_key_detect((const char *)text.data, text.len));
	}
	free(b);
	free(o.blob);
	dml_buf_release(&text);
}

/* Any single-byte change: an error, or (in the comment) the same key. */
static void
test_openssh_corrupt_every_byte(void **state)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	struct dml_buf text = DML_BUF_INIT, arm = DML_BUF_INIT;
	struct dml_key *orig = NULL;
	char *ocomment = NULL;
	struct ossh o;
	unsigned char *b;
	size_t i, x, accepted = 0;

	(void)state;
	load(&text, "test_ed25519");
	assert_null(dml_openssh_key_decode(&orig, &ocomment, (const char *)text.data, text.len,
	    "t"));
	ossh_open(&o, &text);
	b = malloc(o.len);
	assert_non_null(b);
	for (i = 0; i < o.len; i++)
		for (x = 0; x < sizeof(flips); x++) {
			struct dml_key *k = NULL;
			char *comment = NULL;
			const struct dml_error *err;

			memcpy(b, o.blob, o.len);
			b[i] ^= flips[x];
			armor(&arm, OPENSSH_LABEL, b, o.len);
			err = dml_openssh_key_decode(&k, &comment, (const char *)arm.data, arm.len,
			    "t");
			if (err == NULL) {
				/* Only the comment's bytes may change without an error. */
				assert_same_key(k, orig);
				assert_string_not_equal(comment, ocomment);
				accepted++;
				dml_key_free(k);
				free(comment);
				continue;
			}
			assert_null(k);
			assert_null(comment);
			assert_in_set(err->code, ((const uintmax_t[]){ DML_ERR_PARSE,
			    DML_ERR_UNSUPPORTED }), 2);
		}
	/*
	 * Each flip of the comment "test" gives another comment (0xff ^ 't' and
	 * the others are never NUL); so can a longer comment length that takes
	 * in the padding byte 0x01.  Nothing else decodes.
	 */
	assert_true(accepted >= 3 * strlen(ocomment));
	assert_true(accepted <= 3 * strlen(ocomment) + 3);
	free(b);
	free(o.blob);
	free(ocomment);
	dml_key_free(orig);
	dml_buf_release(&arm);
	dml_buf_release(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unencrypted_round_trip),
		cmocka_unit_test(test_encrypted_round_trip),
		cmocka_unit_test(test_empty_passphrase),
		cmocka_unit_test(test_corrupt_encrypted),
		cmocka_unit_test(test_corrupt_unencrypted),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_unreasonable_limits),
		cmocka_unit_test(test_is_encrypted),
		cmocka_unit_test(test_openssh_decode),
		cmocka_unit_test(test_openssh_unsupported),
		cmocka_unit_test(test_openssh_damaged),
		cmocka_unit_test(test_openssh_corrupt_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
