/*
 * sshsig.c - SSHSIG signing and verification (see dml/sshsig.h).
 *
 * Parsing is strict: every length is checked, no trailing bytes are allowed,
 * only ssh-ed25519 keys and sha256/sha512 hashes are accepted, and the armor
 * must be in the canonical 70-column form.
 */
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "crypto.h"
#include "dml/sshsig.h"

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define LABEL "SSH SIGNATURE"

static const struct dml_error *
signed_data(struct dml_buf *sd, const char *ns, const char *hashalg, const void *msg, size_t n)
{
	unsigned char h[DML_SHA512_LEN];
	size_t hlen;
	const struct dml_error *err;

	if (strcmp(hashalg, "sha512") == 0) {
		dml_sha512(h, msg, n);
		hlen = DML_SHA512_LEN;
	} else {
		dml_sha256(h, msg, n);
		hlen = DML_SHA256_LEN;
	}
	if ((err = dml_buf_add(sd, MAGIC, MAGIC_LEN)) ||
	    (err = dml_buf_add_sshstr(sd, ns, strlen(ns))) ||
	    (err = dml_buf_add_sshstr(sd, "", 0)) ||
	    (err = dml_buf_add_sshstr(sd, hashalg, strlen(hashalg))) ||
	    (err = dml_buf_add_sshstr(sd, h, hlen)))
		return err;
	return NULL;
}

const struct dml_error *
dml_sshsig_sign(struct dml_buf *out, const struct dml_key *k, const char *ns, const void *msg,
    size_t n)
{
	struct dml_buf sd = DML_BUF_INIT, blob = DML_BUF_INIT, sigwire = DML_BUF_INIT;
	unsigned char sig[DML_ED25519_SIG_LEN];
	const struct dml_error *err;

	if ((err = signed_data(&sd, ns, "sha512", msg, n)))
		goto done;
	dml_key_sign(k, sig, sd.data, sd.len);
	if ((err = dml_buf_add_sshstr(&sigwire, "ssh-ed25519", 11)) ||
	    (err = dml_buf_add_sshstr(&sigwire, sig, sizeof(sig))))
		goto done;
	if ((err = dml_buf_add(&blob, MAGIC, MAGIC_LEN)) ||
	    (err = dml_buf_add_u32(&blob, 1)))
		goto done;
	{
		struct dml_buf pw = DML_BUF_INIT;
		if ((err = dml_pubkey_wire(&pw, &k->pub)) == NULL)
			err = dml_buf_add_sshstr(&blob, pw.data, pw.len);
		dml_buf_release(&pw);
		if (err)
			goto done;
	}
	if ((err = dml_buf_add_sshstr(&blob, ns, strlen(ns))) ||
	    (err = dml_buf_add_sshstr(&blob, "", 0)) ||
	    (err = dml_buf_add_sshstr(&blob, "sha512", 6)) ||
	    (err = dml_buf_add_sshstr(&blob, sigwire.data, sigwire.len)))
		goto done;
	err = dml_armor_encode(out, LABEL, blob.data, blob.len);
done:
	dml_buf_release(&sd);
	dml_buf_release(&blob);
	dml_buf_release(&sigwire);
	return err;
}

/* Parse "string ssh-ed25519, string key[32]" filling pk. */
static int
parse_pubkey_wire(struct dml_pubkey *pk, const unsigned char *p, size_t n)
{
	struct dml_reader r;
	const unsigned char *key;
	size_t klen;

	dml_reader_init(&r, p, n);
	if (dml_reader_expect(&r, "ssh-ed25519") || dml_reader_sshstr(&r, &key, &klen) ||
	    klen != DML_PUBKEY_LEN || r.left != 0)
		return -1;
	memcpy(pk->pk, key, DML_PUBKEY_LEN);
	return 0;
}

const struct dml_error *
dml_sshsig_verify(struct dml_pubkey *signer, const char *armored, size_t armlen, const char *ns,
    const void *msg, size_t n)
{
	unsigned char *blob = NULL;
	size_t bloblen;
	struct dml_reader r, sr;
	const unsigned char *magic, *pkw, *nsp, *res, *hal, *sigw, *sig;
	size_t pkwlen, nslen, reslen, hallen, sigwlen, siglen;
	uint32_t version;
	char hashalg[8];
	struct dml_buf sd = DML_BUF_INIT;
	const struct dml_error *err = NULL;
	struct dml_pubkey pk;

	if (dml_armor_decode(&blob, &bloblen, armored, armlen, LABEL, 1) != 0)
		return dml_error_fmt(DML_ERR_PARSE, "signature is not an armored ssh signature");
	dml_reader_init(&r, blob, bloblen);
	if (dml_reader_bytes(&r, &magic, MAGIC_LEN) || memcmp(magic, MAGIC, MAGIC_LEN) != 0 ||
	    dml_reader_u32(&r, &version) || version != 1 ||
	    dml_reader_sshstr(&r, &pkw, &pkwlen) ||
	    dml_reader_sshstr(&r, &nsp, &nslen) ||
	    dml_reader_sshstr(&r, &res, &reslen) ||
	    dml_reader_sshstr(&r, &hal, &hallen) ||
	    dml_reader_sshstr(&r, &sigw, &sigwlen) || r.left != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "malformed ssh signature");
		goto done;
	}
	if (parse_pubkey_wire(&pk, pkw, pkwlen) != 0) {
		err = dml_error_fmt(DML_ERR_UNSUPPORTED, "ssh signature key is not ssh-ed25519");
		goto done;
	}
	if (hallen == 6 && memcmp(hal, "sha512", 6) == 0)
		memcpy(hashalg, "sha512", 7);
	else if (hallen == 6 && memcmp(hal, "sha256", 6) == 0)
		memcpy(hashalg, "sha256", 7);
	else {
		err = dml_error_fmt(DML_ERR_UNSUPPORTED, "ssh signature hash is not sha256 or sha512");
		goto done;
	}
	dml_reader_init(&sr, sigw, sigwlen);
	if (dml_reader_expect(&sr, "ssh-ed25519") || dml_reader_sshstr(&sr, &sig, &siglen) ||
	    siglen != DML_ED25519_SIG_LEN || sr.left != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "malformed ed25519 signature in ssh signature");
		goto done;
	}
	if (nslen != strlen(ns) || memcmp(nsp, ns, nslen) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "signature namespace is '%.*s', expected '%s'",
		    (int)(nslen > 64 ? 64 : nslen), (const char *)nsp, ns);
		goto done;
	}
	if (reslen != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "ssh signature has a non-empty reserved field");
		goto done;
	}
	if ((err = signed_data(&sd, ns, hashalg, msg, n)))
		goto done;
	if (dml_ed25519_verify(sig, sd.data, sd.len, pk.pk) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "bad signature");
		goto done;
	}
	*signer = pk;
done:
	free(blob);
	dml_buf_release(&sd);
	return err;
}
