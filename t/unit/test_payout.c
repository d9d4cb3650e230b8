/*
 * test_payout.c - the largest-remainder split (dml/payout.h).
 *
 * The reference is written here from the rule in the header, with a small
 * schoolbook bignum (32-bit limbs) so that nothing is assumed about 128-bit
 * arithmetic: quotients are found by bisection with multiply-and-compare,
 * remainders by subtraction, and the leftover units by a plain selection.
 * Two references:
 *   - "rule": the header's integer weights W_i = floor(w_i 2^s) (s found
 *     by the reference's own search), then exact big-number arithmetic; the
 *     library must agree on every input, bit for bit;
 *   - "exact": the weights as the exact rationals the doubles are, with no
 *     scaling at all (integers of up to 2200 bits); the library must agree
 *     whenever its integer weights are exact, and be within one unit of it
 *     otherwise (the header's bound: shares move by (n + 1) 2^-63 units).
 * Plus hand-worked cases: pool 1, all weights zero, pools near 2^63 and
 * UINT64_MAX, weights 1e-300 beside 1e300, ties broken by key.
 *
 * Data come from xorshift64 with fixed seeds.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dml/error.h"
#include "dml/payout.h"

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void
ok(const struct dml_error *err)
{
	if (err)
		fail_msg("unexpected error: %s", err->msg);
}

static void
expect_error(const struct dml_error *err, enum dml_error_code code, const char *part)
{
	if (err == NULL)
		fail_msg("expected an error containing \"%s\"", part);
	if (err->code != code || strstr(err->msg, part) == NULL)
		fail_msg("expected code %d containing \"%s\", got %d: %s", (int)code, part,
		    (int)err->code, err->msg);
}

/* ------------------------------------------------------------------------
 * A schoolbook bignum: non-negative, little-endian 32-bit limbs */

#define LIMBS 80	/* 2560 bits: a 64-bit pool times a 2200-bit weight */

struct big {
	uint32_t v[LIMBS];
};

static void
big_set(struct big *a, uint64_t x)
{
	memset(a, 0, sizeof(*a));
	a->v[0] = (uint32_t)x;
	a->v[1] = (uint32_t)(x >> 32);
}

/* a = x * 2^k */
static void
big_shifted(struct big *a, uint64_t x, int k)
{
	int i;

	big_set(a, 0);
	for (i = 0; i < 64; i++)
		if (x >> i & 1) {
			assert_true(i + k < LIMBS * 32);
			a->v[(i + k) / 32] |= (uint32_t)1 << ((i + k) % 32);
		}
}

static void
big_add(struct big *a, const struct big *b)
{
	uint64_t carry = 0;
	int i;

	for (i = 0; i < LIMBS; i++) {
		carry += (uint64_t)a->v[i] + b->v[i];
		a->v[i] = (uint32_t)carry;
		carry >>= 32;
	}
	assert_true(carry == 0);
}

/* a -= b, b <= a */
static void
big_sub(struct big *a, const struct big *b)
{
	int64_t borrow = 0, t;
	int i;

	for (i = 0; i < LIMBS; i++) {
		t = (int64_t)a->v[i] - b->v[i] - borrow;
		borrow = t < 0;
		a->v[i] = (uint32_t)(t + (borrow << 32));
	}
	assert_true(borrow == 0);
}

/* out = a * m, for a 64-bit m, as two 32-bit multiplications. */
static void
big_mul64(struct big *out, const struct big *a, uint64_t m)
{
	struct big lo, hi;
	uint64_t carry;
	uint32_t part[2] = { (uint32_t)m, (uint32_t)(m >> 32) };
	struct big *dst[2] = { &lo, &hi };
	int i, p;

	for (p = 0; p < 2; p++) {
		big_set(dst[p], 0);
		carry = 0;
		for (i = 0; i < LIMBS; i++) {
			carry += (uint64_t)a->v[i] * part[p];
			if (i + p < LIMBS)
				dst[p]->v[i + p] = (uint32_t)carry;
			else
				assert_true((uint32_t)carry == 0);
			carry >>= 32;
		}
		assert_true(carry == 0);
	}
	*out = lo;
	big_add(out, &hi);
}

static int
big_cmp(const struct big *a, const struct big *b)
{
	int i;

	for (i = LIMBS - 1; i >= 0; i--)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * The references */

/*
 * Split pool by the big integer weights num[0..n) (not all zero): q_i =
 * floor(pool num_i / D) by bisection, r_i by subtraction, then the leftover
 * units one each to the largest (r, then lower key, then lower index),
 * found by repeated plain maxima.
 */
static void
ref_split(uint64_t pool, const struct big *num, size_t n, const unsigned char *keys,
    uint64_t *out)
{
	struct big d, prod, t, *r = calloc(n, sizeof(*r));
	unsigned char *given = calloc(n, 1);
	uint64_t lo, hi, mid, paid = 0, left;
	size_t i, j, best;
	int c;

	assert_non_null(r);
	assert_non_null(given);
	big_set(&d, 0);
	for (i = 0; i < n; i++)
		big_add(&d, &num[i]);
	for (i = 0; i < n; i++) {
		big_mul64(&prod, &num[i], pool);
		/* The largest q in [0, pool] with q D <= pool num_i. */
		lo = 0;
		hi = pool;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2 + (hi - lo) % 2;
			big_mul64(&t, &d, mid);
			if (big_cmp(&t, &prod) <= 0)
				lo = mid;
			else
				hi = mid - 1;
		}
		out[i] = lo;
		big_mul64(&t, &d, lo);
		r[i] = prod;
		big_sub(&r[i], &t);
		assert_true(big_cmp(&r[i], &d) < 0);
		paid += lo;
	}
	left = pool - paid;
	assert_true(left < n);
	for (j = 0; j < left; j++) {
		best = n;
		for (i = 0; i < n; i++) {
			if (given[i])
				continue;
			if (best == n) {
				best = i;
				continue;
			}
			c = big_cmp(&r[i], &r[best]);
			if (c == 0 && keys != NULL)
				c = -memcmp(keys + 32 * i, keys + 32 * best, 32);
			if (c > 0)
				best = i;
		}
		given[best] = 1;
		out[best]++;
	}
	free(r);
	free(given);
}

/* The header's rule, with its own search for s. */
static void
ref_rule(uint64_t pool, const double *w, size_t n, const unsigned char *keys, uint64_t *out,
    int *shift)
{
	struct big *num = calloc(n, sizeof(*num)), sum, lim;
	double wmax = 0;
	int any = 0, s, e, k;
	size_t i;

	assert_non_null(num);
	for (i = 0; i < n; i++) {
		any |= w[i] > 0;
		if (w[i] > wmax)
			wmax = w[i];
	}
	if (!any) {
		for (i = 0; i < n; i++)
			big_set(&num[i], 1);
		ref_split(pool, num, n, keys, out);
		*shift = 0;
		free(num);
		return;
	}
	/* lim = 2^128: the sum must be below it. */
	big_set(&lim, 0);
	lim.v[4] = 1;
	/* From above (wmax 2^s >= 2^129 cannot fit) downwards: the first s that fits. */
	frexp(wmax, &e);
	for (s = 130 - e;; s--) {
		big_set(&sum, 0);
		for (i = 0; i < n; i++) {
			big_set(&num[i], 0);
			if (w[i] > 0) {
				double m = frexp(w[i], &e);	/* w = m 2^e, m in [0.5, 1) */
				uint64_t mant = (uint64_t)ldexp(m, 53);	/* w = mant 2^(e - 53) */

				k = e - 53 + s;
				if (k >= 0)
					big_shifted(&num[i], mant, k);
				else if (k > -64)
					big_set(&num[i], mant >> -k);
			}
			big_add(&sum, &num[i]);
		}
		if (big_cmp(&sum, &lim) < 0)
			break;
	}
	*shift = s;
	ref_split(pool, num, n, keys, out);
	free(num);
}

/* The exact rationals: all positive weights as integers over a common 2^E. */
static void
ref_exact(uint64_t pool, const double *w, size_t n, const unsigned char *keys, uint64_t *out)
{
	struct big *num = calloc(n, sizeof(*num));
	int emin = INT32_MAX, e;
	size_t i;

	assert_non_null(num);
	for (i = 0; i < n; i++)
		if (w[i] > 0) {
			frexp(w[i], &e);
			if (e - 53 < emin)
				emin = e - 53;
		}
	for (i = 0; i < n; i++)
		if (w[i] > 0) {
			double m = frexp(w[i], &e);

			big_shifted(&num[i], (uint64_t)ldexp(m, 53), e - 53 - emin);
		}
	ref_split(pool, num, n, keys, out);
	free(num);
}

/* ------------------------------------------------------------------------
 * Tests */

static void
split(uint64_t pool, const double *w, size_t n, const unsigned char *keys, uint64_t *out)
{
	ok(dml_payout_split(pool, w, keys, n, out, NULL));
}

static void
test_hand_cases(void **state)
{
	unsigned char keys[4 * 32];
	uint64_t out[4];
	double w3[3] = { 1, 2, 3 }, eq[3] = { 5, 5, 5 }, zero[3] = { 0, -1, -INFINITY };
	double wide[3] = { 1e300, 1e300, 1e-300 }, tiny[2] = { 1e-300, 2e-300 };
	double big[2] = { 1e-300, 1e300 };
	struct dml_payout_info info;
	size_t i;

	/* Keys in descending order of index: key i is 32 bytes of (200 - i). */
	for (i = 0; i < 4; i++)
		memset(keys + 32 * i, 200 - (int)i, 32);

	/* Pool 1: shares 1/6, 2/6, 3/6; all floors 0; the largest remainder wins. */
	split(1, w3, 3, keys, out);
	assert_true(out[0] == 0 && out[1] == 0 && out[2] == 1);

	/* Equal weights, pool 10: 3 each, the last unit to the lowest key (index 2). */
	ok(dml_payout_split(10, eq, keys, 3, out, &info));
	assert_true(out[0] == 3 && out[1] == 3 && out[2] == 4);
	assert_true(info.leftover == 1 && !info.equal);
	/* Without keys the lowest index. */
	split(10, eq, 3, NULL, out);
	assert_true(out[0] == 4 && out[1] == 3 && out[2] == 3);

	/* No positive weight: equal split, ties by key: pool 11 -> 3, 4, 4. */
	ok(dml_payout_split(11, zero, keys, 3, out, &info));
	assert_true(out[0] == 3 && out[1] == 4 && out[2] == 4);
	assert_true(info.equal && info.total == 3 && info.leftover == 2);

	/* A negative weight gets nothing when others are positive. */
	{
		double mixed[3] = { -5, 1, 3 };

		split(1001, mixed, 3, keys, out);
		assert_true(out[0] == 0 && out[1] == 250 && out[2] == 751);
	}

	/* 1e300 twice beside 1e-300: 500 and 500 and 0. */
	split(1000, wide, 3, keys, out);
	assert_true(out[0] == 500 && out[1] == 500 && out[2] == 0);
	split(1000, big, 2, keys, out);
	assert_true(out[0] == 0 && out[1] == 1000);
	/* Only tiny weights: scaled up, exact: 1 and 2. */
	split(3, tiny, 2, keys, out);
	assert_true(out[0] == 1 && out[1] == 2);

	/*
	 * UINT64_MAX = 3 * 6148914691236517205 exactly; 2^63 over 1:2 is
	 * 3074457345618258602.67 and 6148914691236517205.33: the floors leave one
	 * unit, to the larger remainder (2/3, payee 0).
	 */
	split(UINT64_MAX, eq, 3, keys, out);
	for (i = 0; i < 3; i++)
		assert_true(out[i] == 6148914691236517205ULL);
	{
		double w12[2] = { 1, 2 };

		split((uint64_t)1 << 63, w12, 2, keys, out);
		assert_true(out[0] == 3074457345618258603ULL && out[1] == 6148914691236517205ULL);
	}

	/* Pool 0 and no payees. */
	split(0, w3, 3, keys, out);
	assert_true(out[0] == 0 && out[1] == 0 && out[2] == 0);
	ok(dml_payout_split(0, NULL, NULL, 0, NULL, NULL));
}

static void
test_errors(void **state)
{
	double w[3] = { 1, NAN, 2 }, inf[2] = { 1, INFINITY };
	uint64_t out[3];

	expect_error(dml_payout_split(5, w, NULL, 3, out, NULL), DML_ERR_USAGE,
	    "payee 1 is not a number");
	expect_error(dml_payout_split(5, inf, NULL, 2, out, NULL), DML_ERR_USAGE,
	    "payee 1 is infinite");
	expect_error(dml_payout_split(5, NULL, NULL, 0, out, NULL), DML_ERR_USAGE, "no payees");
}

/* A random weight: zero, negative, or positive with a random exponent in a window. */
static double
random_weight(uint64_t *seed, int spread)
{
	uint64_t r = xorshift64(seed);
	double m = (double)(xorshift64(seed) >> 11) * 0x1p-53;

	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return -m;
	default:
		return ldexp(m, (int)(xorshift64(seed) % (uint64_t)(2 * spread + 1)) - spread);
	}
}

static uint64_t
random_pool(uint64_t *seed)
{
	uint64_t r = xorshift64(seed);

	switch (r % 4) {
	case 0:
		return xorshift64(seed) % 100;
	case 1:
		return UINT64_MAX - xorshift64(seed) % 100;
	case 2:
		return ((uint64_t)1 << 63) + xorshift64(seed) % 200 - 100;
	default:
		return xorshift64(seed) >> (xorshift64(seed) % 64);
	}
}

/*
 * 10^5 random splits: conservation, zero for non-positive weights, and
 * every payout within one unit of its share (checked in long double, so
 * up to its rounding; test_reference checks exactly).
 */
static void
test_conservation(void **state)
{
	uint64_t seed = 2718, out[40], pool, sum;
	unsigned char keys[40 * 32];
	double w[40];
	long double wsum, share;
	size_t rep, n, i;
	int any;

	for (i = 0; i < sizeof(keys); i++)
		keys[i] = (unsigned char)xorshift64(&seed);
	for (rep = 0; rep < 100000; rep++) {
		n = 1 + xorshift64(&seed) % 40;
		pool = random_pool(&seed);
		wsum = 0;
		any = 0;
		for (i = 0; i < n; i++) {
			w[i] = random_weight(&seed, rep % 2 ? 30 : 1000);
			if (w[i] > 0) {
				wsum += w[i];
				any = 1;
			}
		}
		split(pool, w, n, keys, out);
		for (sum = 0, i = 0; i < n; i++) {
			assert_true(out[i] <= pool - sum);
			sum += out[i];
			if (!any)
				continue;
			if (!(w[i] > 0)) {
				assert_true(out[i] == 0);
				continue;
			}
			/* The long double share itself is off by up to about (n + 3) 2^-64 of it. */
			share = (long double)pool * ((long double)w[i] / wsum);
			if (!(fabsl((long double)out[i] - share) <= 1 + (n + 3) * 0x1p-63L * share))
				fail_msg("pool %llu, payee %zu of %zu: %llu units for a share of %.3Lf",
				    (unsigned long long)pool, i, n, (unsigned long long)out[i], share);
		}
		assert_true(sum == pool);
	}
}

/*
 * Against the big-number references: the rule always, bit for bit; the
 * exact rationals whenever every positive weight is a multiple of 2^-s.
 */
static void
test_reference(void **state)
{
	uint64_t seed = 16180, out[12], rule[12], exact[12], pool;
	unsigned char keys[12 * 32];
	double w[12];
	struct dml_payout_info info;
	size_t rep, n, i, lossless_cases = 0, differ = 0;
	int s, lossless;

	for (rep = 0; rep < 3000; rep++) {
		n = 1 + xorshift64(&seed) % 12;
		pool = random_pool(&seed);
		for (i = 0; i < n * 32; i++)
			keys[i] = (unsigned char)(xorshift64(&seed) % 3);	/* many equal keys */
		for (i = 0; i < n; i++) {
			switch (rep % 3) {
			case 0:	/* small integers: many exact ties */
				w[i] = (double)(xorshift64(&seed) % 4);
				break;
			case 1:	/* doubles of nearby magnitude */
				w[i] = random_weight(&seed, 3);
				break;
			default:	/* anything from 2^-1000 to 2^1000 */
				w[i] = random_weight(&seed, 1000);
				break;
			}
		}
		ok(dml_payout_split(pool, w, keys, n, out, &info));
		ref_rule(pool, w, n, keys, rule, &s);
		assert_int_equal(info.shift, s);
		assert_memory_equal(out, rule, n * sizeof(*out));
		lossless = 1;
		for (i = 0; i < n; i++)
			if (w[i] > 0 && floor(ldexp(w[i], s)) != ldexp(w[i], s))
				lossless = 0;
		if (info.equal)
			continue;
		ref_exact(pool, w, n, keys, exact);
		if (lossless) {
			lossless_cases++;
			assert_memory_equal(out, exact, n * sizeof(*out));
		} else {
			for (i = 0; i < n; i++) {
				/* (Differences, not out + 1: out may be UINT64_MAX.) */
				if ((out[i] > exact[i] ? out[i] - exact[i] : exact[i] - out[i]) > 1) {
					size_t j;

					for (j = 0; j < n; j++)
						print_message("w %a out %llu exact %llu rule %llu\n", w[j],
						    (unsigned long long)out[j], (unsigned long long)exact[j],
						    (unsigned long long)rule[j]);
					fail_msg("pool %llu, s %d: payee %zu", (unsigned long long)pool, s, i);
				}
				differ += out[i] != exact[i];
			}
		}
	}
	print_message("reference: %zu lossless cases identical to exact rationals; %zu "
	    "payouts differ by one unit where weights were rounded\n", lossless_cases, differ);
	assert_true(lossless_cases > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_cases),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_conservation),
		cmocka_unit_test(test_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
