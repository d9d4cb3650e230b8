/*
 * dml/update.h - a contributor's model update for a federated round.
 *
 * An update file is a canonical text header, a blank line, the payload and,
 * once signed, an SSHSIG signature (namespace DML_NS_UPDATE) over the
 * header:
 *
 *	dmlctl-update 1
 *	round sha256:<ID of the round.open entry>
 *	base sha256:<ID of the base model file> | base none
 *	mode weights | mode stats
 *	dimension <d>
 *	samples <n>
 *	dp <clip> <noise> <commitment: 64 hex digits>	(optional)
 *	payload sha256:<SHA-256 of the payload> <bytes>
 *	signer ed25519:<hex>				(signed files only)
 *	<empty line>
 *	<payload>
 *	-----BEGIN SSH SIGNATURE-----			(signed files only)
 *	...
 *	-----END SSH SIGNATURE-----
 *
 * The payload is little-endian IEEE doubles: in weights mode the d
 * coefficients [intercept, features in the model's order]; in stats mode
 * the upper triangle of X^T X row by row (d(d+1)/2 values), X^T y (d) and
 * y^T y (1).  Numbers are spelled as dml_double_format() spells them, so
 * each header has exactly one spelling.  The signature covers the header,
 * and the header names the payload by digest, so it covers everything: the
 * round, the base model, the payload, the sample count and the privacy
 * parameters.  The update ID is the SHA-256 of the (signed) header; rounds
 * take updates in the order of their IDs.
 *
 * `ssh-keygen -Y verify -n dmlctl-update@dmlctl.org` accepts the signature
 * over the header bytes, so an update can be checked without dmlctl.
 */
#ifndef DML_UPDATE_H
#define DML_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"
#include "dml/key.h"
#include "dml/linalg.h"

#define DML_NS_UPDATE "dmlctl-update@dmlctl.org"
#define DML_UPDATE_MAX_DIM 4096		/* stats payloads are O(d^2) */

enum dml_update_mode { DML_UPDATE_WEIGHTS = 0, DML_UPDATE_STATS = 1 };

struct dml_update {
	unsigned char round[32];	/* the round.open entry's ID */
	int have_base;
	unsigned char base[32];		/* the base model file's ID */
	enum dml_update_mode mode;
	size_t d;
	uint64_t samples;
	int dp;				/* differential privacy applied */
	double dp_clip, dp_noise;
	unsigned char dp_commit[32];	/* SHA-256 of the noise seed, which stays secret */
	int is_signed;
	struct dml_pubkey signer;
	double *weights;		/* weights mode: d values */
	struct dml_suffstats stats;	/* stats mode (stats.n == samples) */
	unsigned char id[32];		/* SHA-256 of the whole file (after encode/decode) */
};

void dml_update_init(struct dml_update *u);
void dml_update_release(struct dml_update *u);
/* "weights" or "stats"; parse returns -1 for anything else. */
const char *dml_update_mode_name(enum dml_update_mode m);
int dml_update_mode_parse(const char *s);

/*
 * Write the update (unsigned unless k is given: then u->signer becomes k's
 * key and the file is signed).  u->id is set.
 */
const struct dml_error *dml_update_encode(struct dml_update *u, const struct dml_key *k,
    struct dml_buf *out);
/*
 * Parse an update file strictly (DML_ERR_PARSE naming the line or part),
 * checking the payload digest and, when the file is signed, the signature
 * against the signer named in the header (DML_ERR_VERIFY).  Every payload
 * value must be finite and statistics plausible (dml_suffstats_validate).
 */
const struct dml_error *dml_update_decode(struct dml_update *u, const void *data, size_t n);
/*
 * Only the header's fields (no payload, no signature checked): what a
 * submission entry must agree with (its contributor is the named signer).
 */
const struct dml_error *dml_update_header(struct dml_update *u, const void *data, size_t n);
/* Sign a decoded update again with k (replacing any signature). */
const struct dml_error *dml_update_sign(struct dml_update *u, const struct dml_key *k,
    struct dml_buf *out);

#endif
