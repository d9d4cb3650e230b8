/*
 * dml/payout.h - splitting an integer pool of tokens by weights, exactly.
 * A pure library (lib/payout.c): integers in, integers out; `reward pay`
 * computes a split with it and `ledger verify` recomputes it bit for bit.
 *
 * The rule (largest remainder, Hamilton's method).  A pool of P units (any
 * uint64_t, UINT64_MAX included) is split over n payees with weights w_i:
 *   1. Weights become integers.  Negative weights (-infinity included) and
 *      zeros count as 0.  With s the largest integer such that
 *          D = sum_i floor(w_i 2^s) < 2^128,
 *      payee i's weight is the integer W_i = floor(w_i 2^s) (for weights
 *      <= 0, W_i = 0).  This is exact for every weight that is a multiple
 *      of 2^-s: at least every weight within a factor 2^(75 - bitlen(n))
 *      of the largest (bitlen(n): the bits of n; for n = 100, 2^68 = 3e20).
 *      Any other weight loses less than 2^-s < 2^(bitlen(n) - 127) times
 *      the largest weight; one below 2^-s (1e-300 beside 1e300) becomes 0.
 *      If no weight is positive, every W_i = 1: the pool is split equally
 *      (it is always paid out in full).
 *   2. Payee i gets floor(P W_i / D) units, computed exactly in integers
 *      (P W_i has up to 192 bits; the quotient fits in 64), with remainder
 *      r_i = P W_i mod D.
 *   3. The L = P - sum of those floors units left over (L < n) go one each
 *      to the L payees with the largest remainders, compared exactly as
 *      integers; equal remainders go to the lower key (32 bytes compared
 *      as unsigned bytes, memcmp order), then to the lower index.
 * So the payouts sum to P exactly, always; each is P W_i / D rounded down
 * or up, and differs from the exact share P w_i / sum_j w_j of the doubles
 * themselves by less than 1 + (n + 1) 2^-63 units (P (n + 1) / D, with D >=
 * 2^127): the same as the exact rational split except where a share lies
 * within that of an integer.  A payee with W_i = 0 gets 0 unless all
 * weights are zero (a leftover unit only goes to a positive remainder, and
 * at least L + 1 remainders are positive).  The result depends only on the
 * inputs' bits: no floating-point operation but frexp.
 */
#ifndef DML_PAYOUT_H
#define DML_PAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

#define DML_PAYOUT_KEY_LEN 32

/* How a split was made, for the record. */
struct dml_payout_info {
	int equal;		/* no positive weight: split equally (W_i = 1) */
	int shift;		/* s (0 when equal) */
	unsigned __int128 total;	/* D = sum of the integer weights */
	uint64_t leftover;	/* L: units given one each by largest remainder */
};

/*
 * Split `pool` units over n payees: out[i] receives payee i's units.  w has
 * n weights; keys is n * DML_PAYOUT_KEY_LEN bytes (payee i's key at keys +
 * i * DML_PAYOUT_KEY_LEN), or NULL to break ties by index alone.  info may be
 * NULL.  Errors (DML_ERR_USAGE, out then undefined): a NaN or +infinity
 * weight, naming the payee; n = 0 with a pool above 0 (n = 0 with pool 0
 * pays nothing and succeeds).  Time O(n log n), memory O(n).
 */
const struct dml_error *dml_payout_split(uint64_t pool, const double *w,
    const unsigned char *keys, size_t n, uint64_t *out, struct dml_payout_info *info);

#endif
