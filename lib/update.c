/*
 * update.c - the update file of federated rounds (see dml/update.h).
 *
 * Decoding is strict by construction: the header is parsed, encoded again
 * from what was parsed, and must give back the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/entry.h"
#include "dml/sshsig.h"
#include "dml/update.h"

#define MAGIC "dmlctl-update 1\n"

void
dml_update_init(struct dml_update *u)
{
	memset(u, 0, sizeof(*u));
}

void
dml_update_release(struct dml_update *u)
{
	free(u->weights);
	dml_suffstats_release(&u->stats);
	dml_update_init(u);
}

const char *
dml_update_mode_name(enum dml_update_mode m)
{
	return m == DML_UPDATE_STATS ? "stats" : "weights";
}

int
dml_update_mode_parse(const char *s)
{
	if (strcmp(s, "weights") == 0)
		return DML_UPDATE_WEIGHTS;
	if (strcmp(s, "stats") == 0)
		return DML_UPDATE_STATS;
	return -1;
}

static size_t
payload_values(const struct dml_update *u)
{
	return u->mode == DML_UPDATE_STATS ? u->d * (u->d + 1) / 2 + u->d + 1 : u->d;
}

static void
put_f64(unsigned char *p, double v)
{
	uint64_t b;
	int i;

	memcpy(&b, &v, sizeof(b));
	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(b >> (8 * i));
}

static double
get_f64(const unsigned char *p)
{
	uint64_t b = 0;
	double v;
	int i;

	for (i = 0; i < 8; i++)
		b |= (uint64_t)p[i] << (8 * i);
	memcpy(&v, &b, sizeof(v));
	return v;
}

static const struct dml_error *
payload_encode(const struct dml_update *u, struct dml_buf *out)
{
	size_t nv = payload_values(u), i, j, k = 0;
	const struct dml_error *err;

	if ((err = dml_buf_grow(out, nv * 8)))
		return err;
	if (u->mode == DML_UPDATE_WEIGHTS) {
		for (i = 0; i < u->d; i++)
			put_f64(out->data + out->len + 8 * k++, u->weights[i]);
	} else {
		for (i = 0; i < u->d; i++)
			for (j = i; j < u->d; j++)
				put_f64(out->data + out->len + 8 * k++, u->stats.xtx[i * u->d + j]);
		for (i = 0; i < u->d; i++)
			put_f64(out->data + out->len + 8 * k++, u->stats.xty[i]);
		put_f64(out->data + out->len + 8 * k++, u->stats.yty);
	}
	out->len += nv * 8;
	return NULL;
}

static const struct dml_error *
header_encode(const struct dml_update *u, const unsigned char payload_id[32], size_t nbytes,
    struct dml_buf *out)
{
	char id[DML_ID_LEN + 1], a[64], b[64], hex[65], key[DML_KEY_ID_LEN + 1];
	const struct dml_error *err;

	dml_id_format(id, u->round);
	if ((err = dml_buf_addf(out, "%sround %s\n", MAGIC, id)))
		return err;
	if (u->have_base)
		dml_id_format(id, u->base);
	if ((err = dml_buf_addf(out, "base %s\nmode %s\ndimension %zu\nsamples %llu\n",
	    u->have_base ? id : "none", dml_update_mode_name(u->mode), u->d,
	    (unsigned long long)u->samples)))
		return err;
	if (u->dp) {
		dml_double_format(a, sizeof(a), u->dp_clip);
		dml_double_format(b, sizeof(b), u->dp_noise);
		dml_hex_encode(hex, u->dp_commit, 32);
		if ((err = dml_buf_addf(out, "dp %s %s %s\n", a, b, hex)))
			return err;
	}
	dml_id_format(id, payload_id);
	if ((err = dml_buf_addf(out, "payload %s %zu\n", id, nbytes)))
		return err;
	if (u->is_signed) {
		dml_pubkey_id(key, &u->signer);
		if ((err = dml_buf_addf(out, "signer %s\n", key)))
			return err;
	}
	return dml_buf_adds(out, "\n");
}

/* Rules a well-formed update keeps, for encode and decode alike. */
static const struct dml_error *
check_values(const struct dml_update *u)
{
	size_t i;

	if (u->d == 0 || u->d > DML_UPDATE_MAX_DIM)
		return dml_error_fmt(DML_ERR_PARSE, "update: dimension %zu is not in 1..%d", u->d,
		    DML_UPDATE_MAX_DIM);
	/* the sample count must fit the update.submit entry (and decode reads 19 digits) */
	if (u->samples > INT64_MAX)
		return dml_error_fmt(DML_ERR_PARSE, "update: %llu samples is too many",
		    (unsigned long long)u->samples);
	if (u->dp && (!(u->dp_clip > 0) || !isfinite(u->dp_clip) || !(u->dp_noise >= 0) ||
	    !isfinite(u->dp_noise)))
		return dml_error_fmt(DML_ERR_PARSE, "update: bad privacy parameters");
	if (u->dp && u->mode != DML_UPDATE_WEIGHTS)
		return dml_error_fmt(DML_ERR_PARSE, "update: privacy noise applies to weights only");
	if (u->mode == DML_UPDATE_WEIGHTS) {
		for (i = 0; i < u->d; i++)
			if (!isfinite(u->weights[i]))
				return dml_error_fmt(DML_ERR_VERIFY, "update: weight %zu is not finite",
				    i);
		return NULL;
	}
	if (u->stats.n != u->samples)
		return dml_error_fmt(DML_ERR_PARSE, "update: statistics of %llu rows, samples %llu",
		    (unsigned long long)u->stats.n, (unsigned long long)u->samples);
	return dml_suffstats_validate(&u->stats);
}

static const struct dml_error *
encode(struct dml_update *u, const struct dml_key *k, struct dml_buf *out)
{
	struct dml_buf payload = DML_BUF_INIT, header = DML_BUF_INIT, sig = DML_BUF_INIT;
	unsigned char pid[32];
	size_t start;
	const struct dml_error *err;

	if (k) {
		u->is_signed = 1;
		u->signer = k->pub;
	}
	if ((err = check_values(u)) || (err = payload_encode(u, &payload)))
		goto done;
	dml_sha256(pid, payload.data, payload.len);
	if ((err = header_encode(u, pid, payload.len, &header)))
		goto done;
	if (k && (err = dml_sshsig_sign(&sig, k, DML_NS_UPDATE, header.data, header.len)))
		goto done;
	start = out->len;
	if ((err = dml_buf_add(out, header.data, header.len)) ||
	    (err = dml_buf_add(out, payload.data, payload.len)) ||
	    (k && (err = dml_buf_add(out, sig.data, sig.len))))
		goto done;
	dml_sha256(u->id, out->data + start, out->len - start);
done:
	dml_buf_release(&payload);
	dml_buf_release(&header);
	dml_buf_release(&sig);
	return err;
}

const struct dml_error *
dml_update_encode(struct dml_update *u, const struct dml_key *k, struct dml_buf *out)
{
	if (!k)
		u->is_signed = 0;
	return encode(u, k, out);
}

const struct dml_error *
dml_update_sign(struct dml_update *u, const struct dml_key *k, struct dml_buf *out)
{
	return encode(u, k, out);
}

/* ---- decoding ---- */

struct lines {
	const char *p, *end;
	unsigned line;
};

/* The next line's text after `key ` (without its LF), or NULL. */
static const char *
expect(struct lines *ls, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p)), *v;

	ls->line++;
	if (nl == NULL || (size_t)(nl - ls->p) < kl + 1 || memcmp(ls->p, key, kl) != 0 ||
	    ls->p[kl] != ' ')
		return NULL;
	v = ls->p + kl + 1;
	*len = (size_t)(nl - v);
	ls->p = nl + 1;
	return v;
}

static int
peek(const struct lines *ls, const char *key)
{
	size_t kl = strlen(key);

	return (size_t)(ls->end - ls->p) > kl && memcmp(ls->p, key, kl) == 0 && ls->p[kl] == ' ';
}

static int
parse_uint(const char *p, size_t n, uint64_t *v)
{
	size_t i;

	if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
		return -1;
	for (*v = 0, i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(p[i] - '0');
	}
	return 0;
}

#define BAD(what) do { \
		err = dml_error_fmt(DML_ERR_PARSE, "update line %u: %s", ls.line, what); \
		goto done; \
	} while (0)

static const struct dml_error *
decode(struct dml_update *u, const void *data, size_t n, int header_only)
{
	const char *text = data, *v, *sp, *hend;
	struct lines ls;
	struct dml_buf again = DML_BUF_INIT;
	unsigned char pid[32], got[32];
	uint64_t d, nbytes;
	size_t len, i, j, k, nv;
	const unsigned char *pl;
	const struct dml_error *err = NULL;
	int m;

	dml_update_init(u);
	hend = NULL;
	for (i = 0; i + 1 < n; i++)
		if (text[i] == '\n' && text[i + 1] == '\n') {
			hend = text + i + 2;
			break;
		}
	if (n < strlen(MAGIC) || memcmp(text, MAGIC, strlen(MAGIC)) != 0)
		return dml_error_fmt(DML_ERR_PARSE, "update line 1: not a dmlctl-update 1 file");
	if (hend == NULL)
		return dml_error_fmt(DML_ERR_PARSE, "update: the header does not end");
	ls.p = text + strlen(MAGIC);
	ls.end = hend;
	ls.line = 1;
	if ((v = expect(&ls, "round", &len)) == NULL || dml_id_parse(u->round, v, len))
		BAD("expected round sha256:<64 hex digits>");
	if ((v = expect(&ls, "base", &len)) == NULL)
		BAD("expected base");
	if (len == 4 && memcmp(v, "none", 4) == 0)
		u->have_base = 0;
	else if (dml_id_parse(u->base, v, len) == 0)
		u->have_base = 1;
	else
		BAD("expected base sha256:<64 hex digits> or base none");
	if ((v = expect(&ls, "mode", &len)) == NULL)
		BAD("expected mode");
	if (len == 5 && memcmp(v, "stats", 5) == 0)
		m = DML_UPDATE_STATS;
	else if (len == 7 && memcmp(v, "weights", 7) == 0)
		m = DML_UPDATE_WEIGHTS;
	else
		BAD("expected mode weights or mode stats");
	u->mode = (enum dml_update_mode)m;
	if ((v = expect(&ls, "dimension", &len)) == NULL || parse_uint(v, len, &d) ||
	    d == 0 || d > DML_UPDATE_MAX_DIM)
		BAD("expected dimension 1.." "4096");
	u->d = (size_t)d;
	if ((v = expect(&ls, "samples", &len)) == NULL || parse_uint(v, len, &u->samples))
		BAD("expected samples <count>");
	if (peek(&ls, "dp")) {
		char hex[65];
		v = expect(&ls, "dp", &len);
		if ((sp = memchr(v, ' ', len)) == NULL ||
		    dml_double_parse(v, (size_t)(sp - v), &u->dp_clip))
			BAD("expected dp <clip> <noise> <seed>");
		len -= (size_t)(sp + 1 - v);
		v = sp + 1;
		if ((sp = memchr(v, ' ', len)) == NULL ||
		    dml_double_parse(v, (size_t)(sp - v), &u->dp_noise))
			BAD("expected dp <clip> <noise> <seed>");
		len -= (size_t)(sp + 1 - v);
		v = sp + 1;
		if (len != 64)
			BAD("expected a seed of 64 hex digits");
		memcpy(hex, v, 64);
		hex[64] = '\0';
		if (dml_hex_decode(u->dp_commit, 32, hex, 64))
			BAD("expected a seed of 64 hex digits");
		u->dp = 1;
	}
	if ((v = expect(&ls, "payload", &len)) == NULL || (sp = memchr(v, ' ', len)) == NULL ||
	    dml_id_parse(pid, v, (size_t)(sp - v)) ||
	    parse_uint(sp + 1, len - (size_t)(sp + 1 - v), &nbytes))
		BAD("expected payload sha256:<hex> <bytes>");
	if (peek(&ls, "signer")) {
		v = expect(&ls, "signer", &len);
		if (dml_pubkey_parse_id(&u->signer, v, len))
			BAD("expected signer ed25519:<64 hex digits>");
		u->is_signed = 1;
	}
	if (ls.p + 1 != hend)
		BAD("unexpected line");
	if (header_only)
		goto done;
	/* the payload */
	nv = payload_values(u);
	if (nbytes != nv * 8)
		return dml_error_fmt(DML_ERR_PARSE, "update: payload of %llu bytes, expected %zu",
		    (unsigned long long)nbytes, nv * 8);
	if ((size_t)(text + n - hend) < nbytes)
		return dml_error_fmt(DML_ERR_PARSE, "update: the payload is truncated");
	pl = (const unsigned char *)hend;
	dml_sha256(got, pl, nbytes);
	if (memcmp(got, pid, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "update: the payload does not match its digest");
	if (u->mode == DML_UPDATE_WEIGHTS) {
		if ((u->weights = malloc(u->d * sizeof(double))) == NULL)
			return dml_error_nomem();
		for (i = 0; i < u->d; i++)
			u->weights[i] = get_f64(pl + 8 * i);
	} else {
		if ((err = dml_suffstats_init(&u->stats, u->d)))
			goto done;
		for (k = 0, i = 0; i < u->d; i++)
			for (j = i; j < u->d; j++, k++)
				u->stats.xtx[i * u->d + j] = u->stats.xtx[j * u->d + i] =
				    get_f64(pl + 8 * k);
		for (i = 0; i < u->d; i++, k++)
			u->stats.xty[i] = get_f64(pl + 8 * k);
		u->stats.yty = get_f64(pl + 8 * k);
		u->stats.n = u->samples;
	}
	if ((err = check_values(u)))
		goto done;
	/* one spelling: the header must be what encode writes */
	if ((err = header_encode(u, pid, nbytes, &again)))
		goto done;
	if (again.len != (size_t)(hend - text) || memcmp(again.data, text, again.len) != 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "update: the header is not in canonical form");
		goto done;
	}
	dml_sha256(u->id, data, n);
	/* the signature */
	{
		const char *sig = hend + nbytes;
		size_t siglen = (size_t)(text + n - sig);
		struct dml_pubkey who;

		if (!u->is_signed) {
			if (siglen != 0)
				err = dml_error_fmt(DML_ERR_PARSE, "update: unsigned, but bytes follow "
				    "the payload");
			goto done;
		}
		if (siglen == 0) {
			err = dml_error_fmt(DML_ERR_PARSE, "update: names a signer but has no "
			    "signature");
			goto done;
		}
		if ((err = dml_sshsig_verify(&who, sig, siglen, DML_NS_UPDATE, again.data,
		    again.len))) {
			err = dml_error_fmt(DML_ERR_VERIFY, "update: %s%s", err->code == DML_ERR_VERIFY ?
			    "" : "bad signature: ", err->msg);
			goto done;
		}
		if (memcmp(who.pk, u->signer.pk, DML_PUBKEY_LEN) != 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "update: signed by another key than the "
			    "signer it names");
	}
done:
	dml_buf_release(&again);
	if (err)
		dml_update_release(u);
	return err;
}

const struct dml_error *
dml_update_decode(struct dml_update *u, const void *data, size_t n)
{
	return decode(u, data, n, 0);
}

const struct dml_error *
dml_update_header(struct dml_update *u, const void *data, size_t n)
{
	return decode(u, data, n, 1);
}
