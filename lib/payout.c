/*
 * payout.c - largest-remainder split of an integer pool (see dml/payout.h).
 *
 * Design notes.  Floating point enters once, in reading each weight's
 * mantissa and exponent with frexp, which is exact; everything after is
 * integer arithmetic, so a verifier on any machine gets the same units.
 *
 * Integer weights have 128 bits, not 64: with 64-bit weights the rounding
 * of the weights alone moves a share of a pool near 2^64 by up to P (n + 1)
 * / 2^63 units, several units, so a payout could miss its exact share
 * rounded either way.  With 128 bits that is below (n + 1) 2^-63 units.
 * The price is a product of up to 192 bits, and a division of it by a
 * 128-bit D; the quotient is at most P, so 64 steps of restoring division
 * (after the top 128 bits, which are below D) give it exactly.
 *
 * The scale s is the largest for which the integer weights still sum to
 * 128 bits, keeping as many bits as the sum allows.  The sum is monotone in
 * s; s = 128 - ex (ex: the binary exponent of the largest weight, which is
 * then below 2^128) is where the search starts, and s = 128 - ex -
 * bitlen(n) always fits, so at most bitlen(n) + 1 trials find it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/error.h"
#include "dml/payout.h"

typedef unsigned __int128 u128;

struct cand {
	u128 r;			/* remainder */
	const unsigned char *key;	/* or NULL */
	size_t i;
};

/* Largest remainder first; then lower key; then lower index. */
static int
cand_cmp(const void *va, const void *vb)
{
	const struct cand *a = va, *b = vb;
	int c;

	if (a->r != b->r)
		return a->r > b->r ? -1 : 1;
	if (a->key != NULL && (c = memcmp(a->key, b->key, DML_PAYOUT_KEY_LEN)) != 0)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* floor(w 2^s) for w > 0 finite, known to be below 2^128: from w's mantissa. */
static u128
scaled(double w, int s)
{
	int e, k;
	uint64_t mant = (uint64_t)ldexp(frexp(w, &e), 53);	/* w = mant 2^(e - 53), exact */

	k = e - 53 + s;
	if (k >= 0)
		return (u128)mant << k;	/* k <= 75 here: mant < 2^53, result < 2^128 */
	return k > -64 ? mant >> -k : 0;
}

/* D = sum of floor(w_i 2^s) over positive weights; 1 if it is below 2^128. */
static int
fits(const double *w, size_t n, int s, u128 *total)
{
	u128 sum = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] > 0) {
			x = scaled(w[i], s);
			if (x > ~(u128)0 - sum)
				return 0;
			sum += x;
		}
	*total = sum;
	return 1;
}

/*
 * q = floor(p w / d), r = p w mod d, for w <= d (so q <= p < 2^64).  The
 * product has three 64-bit limbs x2 x1 x0; its top 128 bits (x2 x1) are
 * below d, and each of x0's bits is brought down in turn.
 */
static uint64_t
muldiv(uint64_t p, u128 w, u128 d, u128 *rem)
{
	u128 a = (u128)p * (uint64_t)w, b = (u128)p * (uint64_t)(w >> 64), t, r;
	uint64_t x0, x1, x2, q = 0;
	int i, carry;

	x0 = (uint64_t)a;
	t = (a >> 64) + (uint64_t)b;
	x1 = (uint64_t)t;
	x2 = (uint64_t)((t >> 64) + (b >> 64));
	r = (u128)x2 << 64 | x1;
	for (i = 63; i >= 0; i--) {
		carry = (int)(r >> 127);
		r = r << 1 | (x0 >> i & 1);
		q <<= 1;
		/* With the carry the true value is 2^128 + r >= d; r - d wraps right. */
		if (carry || r >= d) {
			r -= d;
			q |= 1;
		}
	}
	*rem = r;
	return q;
}

const struct dml_error *
dml_payout_split(uint64_t pool, const double *w, const unsigned char *keys, size_t n,
    uint64_t *out, struct dml_payout_info *info)
{
	struct dml_payout_info dummy;
	struct cand *c = NULL;
	u128 total = 0, num, paid = 0;
	uint64_t left;
	double wmax = 0;
	size_t i;
	int ex, s = 0;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	for (i = 0; i < n; i++) {
		if (isnan(w[i]))
			return dml_error_fmt(DML_ERR_USAGE, "the weight of payee %zu is not a "
			    "number", i);
		if (w[i] == INFINITY)
			return dml_error_fmt(DML_ERR_USAGE, "the weight of payee %zu is infinite",
			    i);
		if (w[i] > wmax)
			wmax = w[i];
	}
	if (n == 0) {
		if (pool > 0)
			return dml_error_fmt(DML_ERR_USAGE, "no payees for a pool of %llu units",
			    (unsigned long long)pool);
		return NULL;
	}
	if ((c = malloc(n * sizeof(*c))) == NULL)
		return dml_error_nomem();
	if (wmax > 0) {
		frexp(wmax, &ex);	/* 2^(ex - 1) <= wmax < 2^ex */
		for (s = 128 - ex; !fits(w, n, s, &total); s--)
			;
	} else {
		info->equal = 1;
		total = n;
	}
	info->shift = s;
	info->total = total;
	for (i = 0; i < n; i++) {
		num = info->equal ? 1 : w[i] > 0 ? scaled(w[i], s) : 0;
		out[i] = muldiv(pool, num, total, &c[i].r);
		c[i].key = keys ? keys + i * DML_PAYOUT_KEY_LEN : NULL;
		c[i].i = i;
		paid += out[i];
	}
	/* sum of remainders = L * total with every remainder < total, so L < n. */
	left = pool - (uint64_t)paid;
	info->leftover = left;
	if (left > 0) {
		qsort(c, n, sizeof(*c), cand_cmp);
		for (i = 0; i < left; i++)
			out[c[i].i]++;
	}
	free(c);
	return NULL;
}
