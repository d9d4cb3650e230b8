/*
 * test_sshsig.c - SSHSIG known-answer tests against ssh-keygen (dml/sshsig.h).
 *
 * t/data/sshsig/ holds a key made once with
 *	ssh-keygen -t ed25519 -N '' -C test -f test_ed25519
 * a fixed message, and the signatures that `ssh-keygen -Y sign` made of it
 * in the "git" and statement namespaces (message.git.sig,
 * message.statement.sig), plus one by a 1024-bit RSA key (message.rsa.sig).
 * Ed25519 is deterministic, so dml_sshsig_sign must reproduce ssh-keygen's
 * files byte for byte; and every way of damaging or re-spelling a signature
 * must be refused.
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
#include "dml/keystore.h"
#include "dml/sshsig.h"

#define LABEL "SSH SIGNATURE"

struct fixture {
	struct dml_buf key, pub, fp, msg, gitsig, stmtsig, rsasig;
	struct dml_key *k;
	char *comment;
};

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

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const struct dml_error *err;

	if (f == NULL)
		return -1;
	load(&f->key, "test_ed25519");
	load(&f->pub, "test_ed25519.pub");
	load(&f->fp, "test_ed25519.fp");
	load(&f->msg, "message");
	load(&f->gitsig, "message.git.sig");
	load(&f->stmtsig, "message.statement.sig");
	load(&f->rsasig, "message.rsa.sig");
	err = dml_openssh_key_decode(&f->k, &f->comment, (const char *)f->key.data, f->key.len,
	    "test_ed25519");
	if (err != NULL) {
		fprintf(stderr, "%s\n", err->msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dml_key_free(f->k);
	free(f->comment);
	dml_buf_release(&f->key);
	dml_buf_release(&f->pub);
	dml_buf_release(&f->fp);
	dml_buf_release(&f->msg);
	dml_buf_release(&f->gitsig);
	dml_buf_release(&f->stmtsig);
	dml_buf_release(&f->rsasig);
	free(f);
	return 0;
}

/* Verify and expect `code` (DML_ERR_OK for success). */
static void
verify_expect(const struct fixture *f, const void *arm, size_t armlen, const char *ns,
    const void *msg, size_t n, enum dml_error_code code)
{
	struct dml_pubkey signer;
	const struct dml_error *err;

	memset(&signer, 0xee, sizeof(signer));
	err = dml_sshsig_verify(&signer, arm, armlen, ns, msg, n);
	if (code == DML_ERR_OK) {
		if (err != NULL)
			fail_msg("verification failed: %s\n%.*s", err->msg, (int)armlen,
			    (const char *)arm);
		assert_memory_equal(signer.pk, f->k->pub.pk, DML_PUBKEY_LEN);
		return;
	}
	if (err == NULL)
		fail_msg("signature accepted but should fail with code %d:\n%.*s", code,
		    (int)armlen, (const char *)arm);
	if (err->code != code)
		fail_msg("error code %d, expected %d: %s", err->code, code, err->msg);
	/* On failure the signer is not touched. */
	{
		unsigned char ee[DML_PUBKEY_LEN];
		memset(ee, 0xee, sizeof(ee));
		assert_memory_equal(signer.pk, ee, DML_PUBKEY_LEN);
	}
}

static void
verify_buf(const struct fixture *f, const struct dml_buf *arm, const char *ns,
    enum dml_error_code code)
{
	verify_expect(f, arm->data, arm->len, ns, f->msg.data, f->msg.len, code);
}

/* The binary blob inside an armored signature. */
static void
unarmor(const struct dml_buf *arm, unsigned char **blob, size_t *len)
{
	assert_int_equal(dml_armor_decode(blob, len, (const char *)arm->data, arm->len, LABEL, 1),
	    0);
}

static void
rearmor(struct dml_buf *out, const unsigned char *blob, size_t len)
{
	dml_buf_reset(out);
	assert_null(dml_armor_encode(out, LABEL, blob, len));
}

/* The base64 body of a canonical armor, joined. */
static char *
armor_body(const struct dml_buf *arm)
{
	struct dml_buf b = DML_BUF_INIT;
	const char *p = (const char *)arm->data, *end = p + arm->len, *nl;

	p = memchr(p, '\n', (size_t)(end - p)) + 1;	/* skip BEGIN */
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL && *p != '-') {
		assert_null(dml_buf_add(&b, p, (size_t)(nl - p)));
		p = nl + 1;
	}
	return dml_buf_detach(&b, NULL);
}

/* BEGIN, body wrapped at `width`, END, with line ends `eol`. */
static void
wrap(struct dml_buf *out, const char *body, size_t width, const char *eol)
{
	size_t len = strlen(body), i;

	dml_buf_reset(out);
	assert_null(dml_buf_addf(out, "-----BEGIN " LABEL "-----%s", eol));
	for (i = 0; i < len; i += width) {
		assert_null(dml_buf_add(out, body + i, len - i < width ? len - i : width));
		assert_null(dml_buf_adds(out, eol));
	}
	assert_null(dml_buf_addf(out, "-----END " LABEL "-----%s", eol));
}

/* ---------------------------------------------------------------------------
 * Crafting signatures field by field */

struct parts {
	const char *magic;	/* "SSHSIG" */
	uint32_t version;	/* 1 */
	const char *keytype;	/* "ssh-ed25519" */
	size_t keylen;		/* 32 */
	const char *ns;
	const char *reserved;	/* "" */
	const char *hashalg;	/* "sha512" */
	const char *sigtype;	/* "ssh-ed25519" */
	size_t siglen;		/* 64 */
	size_t pk_trailing, sig_trailing, trailing;	/* extra zero bytes */
};

static void
default_parts(struct parts *p, const char *ns)
{
	memset(p, 0, sizeof(*p));
	p->magic = "SSHSIG";
	p->version = 1;
	p->keytype = "ssh-ed25519";
	p->keylen = 32;
	p->ns = ns;
	p->reserved = "";
	p->hashalg = "sha512";
	p->sigtype = "ssh-ed25519";
	p->siglen = 64;
}

static const unsigned char zeros[64];

/* An armored signature of msg by k, made from parts (signed honestly). */
static void
craft(struct dml_buf *out, const struct dml_key *k, const struct parts *p, const void *msg,
    size_t n)
{
	struct dml_buf sd = DML_BUF_INIT, pk = DML_BUF_INIT, sw = DML_BUF_INIT, blob = DML_BUF_INIT;
	unsigned char h[64], sig[64];
	size_t hlen = strcmp(p->hashalg, "sha256") == 0 ? 32 : 64;

	if (hlen == 32)
		dml_sha256(h, msg, n);
	else
		dml_sha512(h, msg, n);
	assert_null(dml_buf_add(&sd, "SSHSIG", 6));
	assert_null(dml_buf_add_sshstr(&sd, p->ns, strlen(p->ns)));
	assert_null(dml_buf_add_sshstr(&sd, p->reserved, strlen(p->reserved)));
	assert_null(dml_buf_add_sshstr(&sd, p->hashalg, strlen(p->hashalg)));
	assert_null(dml_buf_add_sshstr(&sd, h, hlen));
	dml_key_sign(k, sig, sd.data, sd.len);

	assert_null(dml_buf_add_sshstr(&pk, p->keytype, strlen(p->keytype)));
	assert_null(dml_buf_add_sshstr(&pk, k->pub.pk, p->keylen));
	assert_null(dml_buf_add(&pk, zeros, p->pk_trailing));
	assert_null(dml_buf_add_sshstr(&sw, p->sigtype, strlen(p->sigtype)));
	assert_null(dml_buf_add_sshstr(&sw, sig, p->siglen));
	assert_null(dml_buf_add(&sw, zeros, p->sig_trailing));

	assert_null(dml_buf_add(&blob, p->magic, strlen(p->magic)));
	assert_null(dml_buf_add_u32(&blob, p->version));
	assert_null(dml_buf_add_sshstr(&blob, pk.data, pk.len));
	assert_null(dml_buf_add_sshstr(&blob, p->ns, strlen(p->ns)));
	assert_null(dml_buf_add_sshstr(&blob, p->reserved, strlen(p->reserved)));
	assert_null(dml_buf_add_sshstr(&blob, p->hashalg, strlen(p->hashalg)));
	assert_null(dml_buf_add_sshstr(&blob, sw.data, sw.len));
	assert_null(dml_buf_add(&blob, zeros, p->trailing));
	rearmor(out, blob.data, blob.len);
	dml_buf_release(&sd);
	dml_buf_release(&pk);
	dml_buf_release(&sw);
	dml_buf_release(&blob);
}

/* ---------------------------------------------------------------------------
 * Tests */

static void
test_key_matches_ssh_keygen(void **state)
{
	struct fixture *f = *state;
	struct dml_pubkey pub;
	struct dml_buf line = DML_BUF_INIT;
	char fp[DML_KEY_FP_LEN + 1], want[128];

	assert_string_equal(f->comment, "test");
	assert_null(dml_pubkey_parse(&pub, (const char *)f->pub.data, f->pub.len));
	assert_memory_equal(pub.pk, f->k->pub.pk, DML_PUBKEY_LEN);
	/* Our OpenSSH line is ssh-keygen's .pub file. */
	assert_null(dml_pubkey_openssh(&line, &f->k->pub, f->comment));
	assert_null(dml_buf_add(&line, "\n", 1));
	assert_int_equal(line.len, f->pub.len);
	assert_memory_equal(line.data, f->pub.data, line.len);
	dml_buf_release(&line);
	/* And our fingerprint is ssh-keygen -l's ("256 SHA256:... test (ED25519)"). */
	dml_pubkey_fingerprint(fp, &f->k->pub);
	assert_int_equal(sscanf((const char *)f->fp.data, "256 %127s", want), 1);
	assert_string_equal(fp, want);
}

static void
test_sign_known_answer(void **state)
{
	struct fixture *f = *state;
	struct dml_buf out = DML_BUF_INIT;

	assert_null(dml_sshsig_sign(&out, f->k, DML_NS_GIT, f->msg.data, f->msg.len));
	assert_int_equal(out.len, f->gitsig.len);
	assert_memory_equal(out.data, f->gitsig.data, out.len);
	dml_buf_reset(&out);
	assert_null(dml_sshsig_sign(&out, f->k, DML_NS_STATEMENT, f->msg.data, f->msg.len));
	assert_int_equal(out.len, f->stmtsig.len);
	assert_memory_equal(out.data, f->stmtsig.data, out.len);
	dml_buf_release(&out);
}

static void
test_verify_ssh_keygen(void **state)
{
	struct fixture *f = *state;

	verify_buf(f, &f->gitsig, DML_NS_GIT, DML_ERR_OK);
	verify_buf(f, &f->stmtsig, DML_NS_STATEMENT, DML_ERR_OK);
}

static void
test_sign_verify_round_trip(void **state)
{
	struct fixture *f = *state;
	struct dml_buf out = DML_BUF_INIT;
	struct dml_key *other = NULL;
	struct dml_pubkey signer;
	static const char *const msgs[] = { "", "x", "dmlctl-entry 1\n" };
	size_t i;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		dml_buf_reset(&out);
		assert_null(dml_sshsig_sign(&out, f->k, DML_NS_STATEMENT, msgs[i], strlen(msgs[i])));
		verify_expect(f, out.data, out.len, DML_NS_STATEMENT, msgs[i], strlen(msgs[i]),
		    DML_ERR_OK);
	}
	/* The signer is whoever signed: checking it against a policy is the caller's job. */
	assert_null(dml_key_generate(&other));
	dml_buf_reset(&out);
	assert_null(dml_sshsig_sign(&out, other, DML_NS_GIT, "m", 1));
	assert_null(dml_sshsig_verify(&signer, (const char *)out.data, out.len, DML_NS_GIT, "m",
	    1));
	assert_memory_equal(signer.pk, other->pub.pk, DML_PUBKEY_LEN);
	dml_key_free(other);
	dml_buf_release(&out);
}

static void
test_wrong_namespace(void **state)
{
	struct fixture *f = *state;

	verify_buf(f, &f->gitsig, DML_NS_STATEMENT, DML_ERR_VERIFY);
	verify_buf(f, &f->stmtsig, DML_NS_GIT, DML_ERR_VERIFY);
	verify_buf(f, &f->gitsig, "", DML_ERR_VERIFY);
	verify_buf(f, &f->gitsig, "gi", DML_ERR_VERIFY);
	verify_buf(f, &f->gitsig, "git ", DML_ERR_VERIFY);
	verify_buf(f, &f->gitsig, "GIT", DML_ERR_VERIFY);
	verify_buf(f, &f->stmtsig, "dmlctl-statement@dmlctl.org\n", DML_ERR_VERIFY);
}

static void
test_modified_message(void **state)
{
	struct fixture *f = *state;
	unsigned char *m = malloc(f->msg.len + 1);
	size_t i;

	assert_non_null(m);
	/* Every single bit... well, one bit in every byte. */
	for (i = 0; i < f->msg.len; i++) {
		memcpy(m, f->msg.data, f->msg.len);
		m[i] ^= 0x01;
		verify_expect(f, f->gitsig.data, f->gitsig.len, DML_NS_GIT, m, f->msg.len,
		    DML_ERR_VERIFY);
	}
	memcpy(m, f->msg.data, f->msg.len);
	verify_expect(f, f->gitsig.data, f->gitsig.len, DML_NS_GIT, m, f->msg.len - 1,
	    DML_ERR_VERIFY);
	m[f->msg.len] = '\n';
	verify_expect(f, f->gitsig.data, f->gitsig.len, DML_NS_GIT, m, f->msg.len + 1,
	    DML_ERR_VERIFY);
	verify_expect(f, f->gitsig.data, f->gitsig.len, DML_NS_GIT, m, 0, DML_ERR_VERIFY);
	free(m);
}

static void
test_flipped_signature_byte(void **state)
{
	struct fixture *f = *state;
	struct dml_buf arm = DML_BUF_INIT;
	unsigned char *blob;
	size_t len, i, x;
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };

	unarmor(&f->gitsig, &blob, &len);
	/* The last 64 bytes are the Ed25519 signature itself: a flip is a forgery. */
	for (i = len - 64; i < len; i++) {
		blob[i] ^= 0x01;
		rearmor(&arm, blob, len);
		verify_buf(f, &arm, DML_NS_GIT, DML_ERR_VERIFY);
		blob[i] ^= 0x01;
	}
	/* Anywhere else: refused somehow, never accepted. */
	for (i = 0; i < len; i++)
		for (x = 0; x < sizeof(flips); x++) {
			struct dml_pubkey signer;
			const struct dml_error *err;
			blob[i] ^= flips[x];
			rearmor(&arm, blob, len);
			err = dml_sshsig_verify(&signer, (const char *)arm.data, arm.len, DML_NS_GIT,
			    f->msg.data, f->msg.len);
			if (err == NULL)
				fail_msg("byte %zu ^ 0x%02x: damaged signature accepted", i, flips[x]);
			assert_in_set(err->code, ((const uintmax_t[]){ DML_ERR_PARSE, DML_ERR_VERIFY,
			    DML_ERR_UNSUPPORTED }), 3);
			blob[i] ^= flips[x];
		}
	/* Unchanged, it still verifies (the loops restored every byte). */
	rearmor(&arm, blob, len);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_OK);
	free(blob);
	dml_buf_release(&arm);
}

static void
test_noncanonical_armor(void **state)
{
	struct fixture *f = *state;
	struct dml_buf arm = DML_BUF_INIT;
	char *body = armor_body(&f->gitsig), *eq;
	unsigned char *blob;
	size_t bloblen;
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	assert_non_null(body);
	/* The canonical form, rebuilt by hand, verifies: the helpers are right. */
	wrap(&arm, body, 70, "\n");
	assert_int_equal(arm.len, f->gitsig.len);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_OK);

	/* Other wrap widths (and no wrapping). */
	wrap(&arm, body, 64, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* ...which the lenient decoder (for key files) would take. */
	assert_int_equal(dml_armor_decode(&blob, &bloblen, (const char *)arm.data, arm.len, LABEL,
	    0), 0);
	free(blob);
	wrap(&arm, body, 76, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	wrap(&arm, body, 69, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	wrap(&arm, body, 71, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	wrap(&arm, body, 10000, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);

	/* CRLF. */
	wrap(&arm, body, 70, "\r\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* CRLF on one line only. */
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, f->gitsig.data, f->gitsig.len));
	arm.data[strlen("-----BEGIN " LABEL "-----")] = '\r';
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);

	/* Missing final newline. */
	verify_expect(f, f->gitsig.data, f->gitsig.len - 1, DML_NS_GIT, f->msg.data, f->msg.len,
	    DML_ERR_PARSE);
	/* Blank lines around, or inside. */
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, "\n", 1));
	assert_null(dml_buf_add(&arm, f->gitsig.data, f->gitsig.len));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, f->gitsig.data, f->gitsig.len));
	assert_null(dml_buf_add(&arm, "\n", 1));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, f->gitsig.data, 30));	/* BEGIN line */
	assert_null(dml_buf_add(&arm, "\n", 1));
	assert_null(dml_buf_add(&arm, f->gitsig.data + 30, f->gitsig.len - 30));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* Trailing text after the END line, and a trailing space. */
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, f->gitsig.data, f->gitsig.len));
	assert_null(dml_buf_adds(&arm, "x\n"));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	dml_buf_reset(&arm);
	assert_null(dml_buf_add(&arm, f->gitsig.data, f->gitsig.len - 1));
	assert_null(dml_buf_adds(&arm, " \n"));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* Lines indented as in a commit header. */
	dml_buf_reset(&arm);
	{
		const char *p = (const char *)f->gitsig.data, *end = p + f->gitsig.len, *nl;
		int first = 1;
		for (; p < end; p = nl + 1, first = 0) {
			nl = memchr(p, '\n', (size_t)(end - p));
			assert_null(dml_buf_adds(&arm, first ? "" : " "));
			assert_null(dml_buf_add(&arm, p, (size_t)(nl - p) + 1));
		}
	}
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* Another label, or a misspelt one. */
	dml_buf_reset(&arm);
	assert_null(dml_armor_encode(&arm, "SSH SIGNATURES", f->gitsig.data, 0));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	unarmor(&f->gitsig, &blob, &bloblen);
	dml_buf_reset(&arm);
	assert_null(dml_armor_encode(&arm, "ssh signature", blob, bloblen));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	free(blob);
	/* Nothing between BEGIN and END; empty input. */
	dml_buf_reset(&arm);
	assert_null(dml_buf_adds(&arm, "-----BEGIN " LABEL "-----\n-----END " LABEL "-----\n"));
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	verify_expect(f, "", 0, DML_NS_GIT, f->msg.data, f->msg.len, DML_ERR_PARSE);

	/* Base64 whose unused low bits are not zero decodes to the same bytes elsewhere. */
	eq = strchr(body, '=');
	assert_non_null(eq);
	{
		const char *c = strchr(b64, eq[-1]);
		assert_non_null(c);
		eq[-1] = b64[(c - b64) | 1];
		assert_true(eq[-1] != *c);
	}
	wrap(&arm, body, 70, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	/* Missing padding. */
	*eq = '\0';
	wrap(&arm, body, 70, "\n");
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	free(body);
	dml_buf_release(&arm);
}

static void
test_truncated_and_trailing(void **state)
{
	struct fixture *f = *state;
	struct dml_buf arm = DML_BUF_INIT;
	unsigned char *blob, *longer;
	size_t len, cut, extra;

	unarmor(&f->gitsig, &blob, &len);
	for (cut = 1; cut < len; cut++) {
		rearmor(&arm, blob, cut);
		verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	}
	longer = malloc(len + 8);
	assert_non_null(longer);
	memcpy(longer, blob, len);
	for (extra = 1; extra <= 8; extra++) {
		longer[len + extra - 1] = (unsigned char)extra;
		rearmor(&arm, longer, len + extra);
		verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	}
	/* Truncated text: the armor itself cut short. */
	for (cut = 0; cut < f->gitsig.len; cut += 7)
		verify_expect(f, f->gitsig.data, cut, DML_NS_GIT, f->msg.data, f->msg.len,
		    DML_ERR_PARSE);
	free(longer);
	free(blob);
	dml_buf_release(&arm);
}

static void
test_crafted_fields(void **state)
{
	struct fixture *f = *state;
	struct dml_buf arm = DML_BUF_INIT;
	struct parts p;
	const void *m = f->msg.data;
	size_t n = f->msg.len;

	/* The crafting helper, unchanged, makes exactly ssh-keygen's signature. */
	default_parts(&p, DML_NS_GIT);
	craft(&arm, f->k, &p, m, n);
	assert_int_equal(arm.len, f->gitsig.len);
	assert_memory_equal(arm.data, f->gitsig.data, arm.len);

	/* sha256 is allowed by PROTOCOL.sshsig; ssh-keygen accepts it too. */
	p.hashalg = "sha256";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_OK);
	p.hashalg = "sha1";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_UNSUPPORTED);
	p.hashalg = "SHA512";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_UNSUPPORTED);

	default_parts(&p, DML_NS_GIT);
	p.magic = "SSHSIH";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	default_parts(&p, DML_NS_GIT);
	p.version = 2;
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	p.version = 0;
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);

	/* A reserved field, even one that is signed. */
	default_parts(&p, DML_NS_GIT);
	p.reserved = "x";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);

	/* The inner signature: wrong type, wrong length, trailing bytes. */
	default_parts(&p, DML_NS_GIT);
	p.sigtype = "ssh-rsa";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	default_parts(&p, DML_NS_GIT);
	p.siglen = 63;
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	default_parts(&p, DML_NS_GIT);
	p.sig_trailing = 1;
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);
	default_parts(&p, DML_NS_GIT);
	p.trailing = 4;
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_PARSE);

	/* Other key types are unsupported. */
	default_parts(&p, DML_NS_GIT);
	p.keytype = "ecdsa-sha2-nistp256";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_UNSUPPORTED);
	default_parts(&p, DML_NS_GIT);
	p.keytype = "sk-ssh-ed25519@openssh.com";
	craft(&arm, f->k, &p, m, n);
	verify_buf(f, &arm, DML_NS_GIT, DML_ERR_UNSUPPORTED);
	/* A malformed ed25519 key blob is refused too (as unsupported or malformed). */
	default_parts(&p, DML_NS_GIT);
	p.keylen = 31;
	craft(&arm, f->k, &p, m, n);
	assert_non_null(dml_sshsig_verify(&(struct dml_pubkey){ { 0 } }, (const char *)arm.data,
	    arm.len, DML_NS_GIT, m, n));
	default_parts(&p, DML_NS_GIT);
	p.pk_trailing = 1;
	craft(&arm, f->k, &p, m, n);
	assert_non_null(dml_sshsig_verify(&(struct dml_pubkey){ { 0 } }, (const char *)arm.data,
	    arm.len, DML_NS_GIT, m, n));
	dml_buf_release(&arm);
}

static void
test_rsa_unsupported(void **state)
{
	struct fixture *f = *state;

	verify_buf(f, &f->rsasig, DML_NS_GIT, DML_ERR_UNSUPPORTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_matches_ssh_keygen),
		cmocka_unit_test(test_sign_known_answer),
		cmocka_unit_test(test_verify_ssh_keygen),
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_wrong_namespace),
		cmocka_unit_test(test_modified_message),
		cmocka_unit_test(test_flipped_signature_byte),
		cmocka_unit_test(test_noncanonical_armor),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_crafted_fields),
		cmocka_unit_test(test_rsa_unsupported),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
