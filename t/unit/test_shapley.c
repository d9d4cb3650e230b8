/*
 * test_shapley.c - contribution values (dml/shapley.h).
 *
 * Evidence, from the definitions up:
 *   - exact Shapley values equal a brute-force average of marginal
 *     contributions over all n! orders (n <= 6), and the subset formula
 *     in long double (n = 12: several blocks of the Gray-code walk), on
 *     random table games; the axioms (efficiency, symmetry, null player)
 *     hold on table games and on the linear game;
 *   - leave-one-out, Banzhaf and proportional values on games worked out
 *     by hand in the comments beside them;
 *   - sampled methods re-drawn here from the documented recipe (SHA-256 in
 *     counter mode), and their intervals covering the exact values at
 *     least at the nominal rate over 200 seeds;
 *   - the linear game against the library's slow path (statistics merged
 *     in double, solved with the condition check, RSS in double-double), a
 *     coalition's utility the same bits however the coalition was reached,
 *     and every method the same bits on 1 and 4 threads;
 *   - a contributor with 30% flipped labels ranks last.
 *
 * Data come from xorshift64 with fixed seeds, so they are the same on every
 * machine.
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

#include "crypto.h"
#include "dml/error.h"
#include "dml/linalg.h"
#include "dml/shapley.h"

/* ------------------------------------------------------------------------
 * Helpers */

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Uniform in [0, 1). */
static double
unit_uniform(uint64_t *s)
{
	return (double)(xorshift64(s) >> 11) * 0x1p-53;
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

static void
ok(const struct dml_error *err)
{
	if (err)
		fail_msg("unexpected error: %s", err->msg);
}

static void
near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g (difference %.3g, tolerance %.3g)", what,
		    got, want, fabs(got - want), tol);
}

static void
compute(const struct dml_game *g, enum dml_shapley_method m, unsigned threads,
    struct dml_shapley_result *res)
{
	struct dml_shapley_params p;

	dml_shapley_params_init(&p);
	p.method = m;
	p.threads = threads;
	ok(dml_shapley_compute(g, &p, res));
}

/* ------------------------------------------------------------------------
 * Table games: u(S) looked up by the bitmask of S */

struct table {
	size_t n;
	double *u;	/* 2^n */
};

static const struct dml_error *
tab_new(void *ctx, void **state)
{
	uint64_t *mask = calloc(1, sizeof(*mask));

	*state = mask;
	return mask ? NULL : dml_error_nomem();
}

static void
tab_free(void *ctx, void *state)
{
	free(state);
}

static const struct dml_error *
tab_reset(void *ctx, void *state)
{
	*(uint64_t *)state = 0;
	return NULL;
}

static const struct dml_error *
tab_add(void *ctx, void *state, size_t i)
{
	uint64_t *mask = state;

	if (*mask >> i & 1)
		return dml_error_fmt(DML_ERR_INTERNAL, "player %zu added twice", i);
	*mask |= (uint64_t)1 << i;
	return NULL;
}

static const struct dml_error *
tab_remove(void *ctx, void *state, size_t i)
{
	uint64_t *mask = state;

	if (!(*mask >> i & 1))
		return dml_error_fmt(DML_ERR_INTERNAL, "player %zu removed but absent", i);
	*mask &= ~((uint64_t)1 << i);
	return NULL;
}

static const struct dml_error *
tab_value(void *ctx, void *state, double *u)
{
	struct table *t = ctx;

	*u = t->u[*(uint64_t *)state];
	return NULL;
}

static const struct dml_game_ops tab_ops = {
	tab_new, tab_free, tab_reset, tab_add, tab_remove, tab_value
};

static void
table_game(struct table *t, struct dml_game *g, size_t n)
{
	t->n = n;
	t->u = calloc((size_t)1 << n, sizeof(double));
	assert_non_null(t->u);
	g->n = n;
	g->ctx = t;
	g->ops = &tab_ops;
}

static void
table_random(struct table *t, struct dml_game *g, size_t n, uint64_t seed)
{
	size_t s;

	table_game(t, g, n);
	for (s = 0; s < (size_t)1 << n; s++)
		t->u[s] = unit_uniform(&seed);
}

/* ------------------------------------------------------------------------
 * References */

/* Shapley values as the mean marginal contribution over all n! orders. */
static void
brute_orders(const struct table *t, long double *phi)
{
	size_t n = t->n, pi[8], c[8], i, k, tmp;
	long double count = 0;
	uint64_t mask;

	memset(phi, 0, n * sizeof(*phi));
	for (i = 0; i < n; i++) {
		pi[i] = i;
		c[i] = 0;
	}
	/* Heap's algorithm, visiting every order once. */
	for (k = 0;;) {
		if (k == 0) {
			mask = 0;
			for (i = 0; i < n; i++) {
				phi[pi[i]] += (long double)t->u[mask | (uint64_t)1 << pi[i]] -
				    t->u[mask];
				mask |= (uint64_t)1 << pi[i];
			}
			count++;
			k = 1;
		}
		if (k >= n)
			break;
		if (c[k] < k) {
			if (k % 2 == 0) {
				tmp = pi[0];
				pi[0] = pi[k];
			} else {
				tmp = pi[c[k]];
				pi[c[k]] = pi[k];
			}
			pi[k] = tmp;
			c[k]++;
			k = 0;
		} else {
			c[k] = 0;
			k++;
		}
	}
	for (i = 0; i < n; i++)
		phi[i] /= count;
}

/* Shapley (or Banzhaf) values by the subset formula, in long double. */
static void
brute_subsets(const struct table *t, int banzhaf, long double *phi)
{
	size_t n = t->n, i, k;
	uint64_t s;
	long double w[64], binom = 1;

	for (k = 0; k < n; k++) {
		w[k] = banzhaf ? 1.0L / (long double)((uint64_t)1 << (n - 1)) :
		    1.0L / ((long double)n * binom);
		binom = binom * (long double)(n - 1 - k) / (long double)(k + 1);
	}
	for (i = 0; i < n; i++) {
		phi[i] = 0;
		for (s = 0; s < (uint64_t)1 << n; s++)
			if (!(s >> i & 1))
				phi[i] += w[__builtin_popcountll(s)] *
				    ((long double)t->u[s | (uint64_t)1 << i] - t->u[s]);
	}
}

/* ------------------------------------------------------------------------
 * Table-game tests */

static void
test_method_names(void **state)
{
	enum dml_shapley_method m;
	unsigned i;

	for (i = 0; i < DML_SHAPLEY_NMETHODS; i++) {
		ok(dml_shapley_method_parse(dml_shapley_method_name(i), &m));
		assert_int_equal(m, i);
	}
	expect_error(dml_shapley_method_parse("owen", &m), DML_ERR_USAGE, "'owen'");
	assert_string_equal(dml_shapley_method_name(99), "unknown");
}

/* Exact values equal the n! brute force for n = 1..6, on 1 and 3 threads alike. */
static void
test_exact_brute_force(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r1, r3;
	long double ref[8];
	size_t n, i, rep;
	uint64_t seed = 11;

	for (n = 1; n <= 6; n++)
		for (rep = 0; rep < 5; rep++) {
			table_random(&t, &g, n, ++seed * 7919);
			brute_orders(&t, ref);
			compute(&g, DML_SHAPLEY_EXACT, 1, &r1);
			compute(&g, DML_SHAPLEY_EXACT, 3, &r3);
			for (i = 0; i < n; i++) {
				near(r1.value[i], (double)ref[i], 1e-15, "exact vs all orders");
				assert_memory_equal(&r1.value[i], &r3.value[i], sizeof(double));
				assert_true(r1.half_width[i] == 0);
			}
			assert_true(r1.u_empty == t.u[0]);
			assert_true(r1.u_full == t.u[((size_t)1 << n) - 1]);
			assert_true(r1.evaluations == (uint64_t)1 << n);
			dml_shapley_result_release(&r1);
			dml_shapley_result_release(&r3);
			free(t.u);
		}
}

/* n = 12: four blocks of the Gray-code walk; Shapley and Banzhaf. */
static void
test_exact_blocks(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r1, r2;
	long double ref[12], sum = 0;
	size_t i;
	int banzhaf;

	table_random(&t, &g, 12, 4242);
	for (banzhaf = 0; banzhaf <= 1; banzhaf++) {
		brute_subsets(&t, banzhaf, ref);
		compute(&g, banzhaf ? DML_SHAPLEY_BANZHAF : DML_SHAPLEY_EXACT, 1, &r1);
		compute(&g, banzhaf ? DML_SHAPLEY_BANZHAF : DML_SHAPLEY_EXACT, 4, &r2);
		for (i = 0; i < 12; i++) {
			near(r1.value[i], (double)ref[i], 1e-15, "exact vs subset formula");
			assert_memory_equal(&r1.value[i], &r2.value[i], sizeof(double));
			if (!banzhaf)
				sum += r1.value[i];
		}
		dml_shapley_result_release(&r1);
		dml_shapley_result_release(&r2);
	}
	/* Efficiency. */
	near((double)sum, t.u[4095] - t.u[0], 1e-14, "efficiency at n = 12");
	free(t.u);
}

static void
test_axioms(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r;
	struct dml_shapley_params p;
	uint64_t s, seed = 99;
	size_t n = 8, i;
	double sum;

	/* Efficiency on random games. */
	table_random(&t, &g, n, 1234);
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	for (sum = 0, i = 0; i < n; i++)
		sum += r.value[i];
	near(sum, t.u[255] - t.u[0], 1e-14, "efficiency");
	dml_shapley_result_release(&r);

	/* Symmetry: players 2 and 5 interchangeable (u(S) = u(S with 2, 5 swapped)). */
	for (s = 0; s < 256; s++) {
		uint64_t sw = s & ~(uint64_t)0x24;

		sw |= (s >> 2 & 1) << 5 | (s >> 5 & 1) << 2;
		t.u[s] = sw < s ? t.u[sw] : unit_uniform(&seed);
	}
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	near(r.value[2], r.value[5], 1e-16, "symmetric players");
	dml_shapley_result_release(&r);

	/* Null player 3: u(S + 3) = u(S). */
	for (s = 0; s < 256; s++)
		if (s & 8)
			t.u[s] = t.u[s & ~(uint64_t)8];
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	near(r.value[3], 0, 1e-16, "null player, exact");
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_BANZHAF, 0, &r);
	near(r.value[3], 0, 1e-16, "null player, banzhaf");
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_LOO, 0, &r);
	assert_true(r.value[3] == 0);
	dml_shapley_result_release(&r);
	/* Every sampled marginal of a null player is exactly 0. */
	dml_shapley_params_init(&p);
	p.method = DML_SHAPLEY_PERMUTATION;
	p.samples = 50;
	ok(dml_shapley_compute(&g, &p, &r));
	assert_true(r.value[3] == 0);
	dml_shapley_result_release(&r);
	free(t.u);
}

/*
 * Hand-worked games.
 *
 * Majority of three: u(S) = 1 when |S| >= 2.  Shapley 1/3 each; Banzhaf:
 * i is pivotal for 2 of the 4 coalitions of the others, 1/2 each; leave one
 * out: 1 - 1 = 0 each.
 *
 * Two players, u = {0: 0.1, {0}: 0.3, {1}: 0.5, {0,1}: 1}: Shapley and
 * Banzhaf agree for n = 2: phi_0 = ((0.3 - 0.1) + (1 - 0.5)) / 2 = 0.35,
 * phi_1 = ((0.5 - 0.1) + (1 - 0.3)) / 2 = 0.55; loo: 1 - 0.5 = 0.5 and
 * 1 - 0.3 = 0.7; proportional with counts 1, 3: (1 - 0.1) / 4 = 0.225 and
 * 0.675.
 */
static void
test_hand_games(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r;
	struct dml_shapley_params p;
	uint64_t counts[2] = { 1, 3 }, zero[2] = { 0, 0 };
	size_t s, i;

	table_game(&t, &g, 3);
	for (s = 0; s < 8; s++)
		t.u[s] = __builtin_popcount((unsigned)s) >= 2;
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	for (i = 0; i < 3; i++)
		near(r.value[i], 1.0 / 3, 1e-16, "majority: shapley");
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_BANZHAF, 0, &r);
	for (i = 0; i < 3; i++)
		assert_true(r.value[i] == 0.5);
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_LOO, 0, &r);
	for (i = 0; i < 3; i++)
		assert_true(r.value[i] == 0);
	assert_true(r.u_full == 1 && r.u_empty == 0 && r.evaluations == 5);
	dml_shapley_result_release(&r);
	free(t.u);

	table_game(&t, &g, 2);
	t.u[0] = 0.1;
	t.u[1] = 0.3;
	t.u[2] = 0.5;
	t.u[3] = 1;
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	near(r.value[0], 0.35, 1e-16, "shapley 0");
	near(r.value[1], 0.55, 1e-16, "shapley 1");
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_BANZHAF, 0, &r);
	near(r.value[0], 0.35, 1e-16, "banzhaf 0");
	near(r.value[1], 0.55, 1e-16, "banzhaf 1");
	dml_shapley_result_release(&r);
	compute(&g, DML_SHAPLEY_LOO, 2, &r);
	near(r.value[0], 0.5, 1e-16, "loo 0");
	near(r.value[1], 0.7, 1e-16, "loo 1");
	dml_shapley_result_release(&r);

	dml_shapley_params_init(&p);
	p.method = DML_SHAPLEY_PROPORTIONAL;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "sample count");
	p.counts = counts;
	ok(dml_shapley_compute(&g, &p, &r));
	near(r.value[0], 0.225, 1e-16, "proportional 0");
	near(r.value[1], 0.675, 1e-16, "proportional 1");
	assert_true(r.evaluations == 2);
	dml_shapley_result_release(&r);
	p.counts = zero;
	ok(dml_shapley_compute(&g, &p, &r));
	assert_true(r.value[0] == 0 && r.value[1] == 0);
	dml_shapley_result_release(&r);
	free(t.u);
}

static void
test_errors(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r;
	struct dml_shapley_params p;
	uint64_t m;

	table_game(&t, &g, 3);
	t.u[5] = 1.5;
	dml_shapley_params_init(&p);
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_VERIFY, "not a number in [0, 1]");
	assert_null(r.value);
	t.u[5] = NAN;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_VERIFY, "nan");
	t.u[5] = 0;
	p.delta = 1;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "delta");
	p.delta = 0;
	p.method = DML_SHAPLEY_PERMUTATION;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "epsilon");
	p.method = 17;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "unknown");
	free(t.u);

	/* 26 players: refused before any coalition is evaluated (t.u is never read). */
	g.n = 26;
	g.ctx = NULL;
	p.method = DML_SHAPLEY_EXACT;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "use permutation");
	p.method = DML_SHAPLEY_BANZHAF;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "samples");
	g.n = 0;
	expect_error(dml_shapley_compute(&g, &p, &r), DML_ERR_USAGE, "no players");

	/*
	 * Hoeffding with range 2: ceil(4 ln(2 * 10 / 0.05) / (2 * 0.1^2)) =
	 * ceil(200 * 5.99146...) = 1199 pairs, 2398 permutations.
	 */
	ok(dml_shapley_hoeffding(10, 0.1, 0.05, &m));
	assert_true(m == 2398);
	/* From epsilon 0.5, delta 0.1, n = 3: ceil(4 ln(60) / 0.5) = 33 pairs. */
	table_random(&t, &g, 3, 5);
	p.method = DML_SHAPLEY_PERMUTATION;
	p.epsilon = 0.5;
	p.delta = 0.1;
	ok(dml_shapley_compute(&g, &p, &r));
	assert_true(r.samples == 66 && r.delta == 0.1);
	assert_true(r.evaluations == 33 * 2 * 4 + 2);
	dml_shapley_result_release(&r);
	free(t.u);
	expect_error(dml_shapley_hoeffding(10, 0, 0.05, &m), DML_ERR_USAGE, "epsilon");
	expect_error(dml_shapley_hoeffding(10, 1e-12, 0.05, &m), DML_ERR_USAGE, "too many");
}

/* ------------------------------------------------------------------------
 * Sampled methods */

/* Word w of sample k, as the header documents. */
static uint64_t
doc_word(const char *tag, const unsigned char *seed, uint64_t k, uint64_t w)
{
	unsigned char msg[128], h[32];
	size_t tl = strlen(tag), i;
	uint64_t v = 0;

	memcpy(msg, tag, tl);
	memcpy(msg + tl, seed, 32);
	for (i = 0; i < 8; i++) {
		msg[tl + 32 + i] = (unsigned char)(k >> (8 * i));
		msg[tl + 40 + i] = (unsigned char)((w / 4) >> (8 * i));
	}
	dml_sha256(h, msg, tl + 48);
	for (i = 0; i < 8; i++)
		v |= (uint64_t)h[8 * (w % 4) + i] << (8 * i);
	return v;
}

/*
 * Both sampled methods re-drawn from the recipe in the header: two
 * permutations (one pair) of a 5-player table game, and 7 banzhaf samples.
 */
static void
test_sampling_recipe(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result r;
	struct dml_shapley_params p;
	size_t n = 5, pi[5], i, j, tmp;
	uint64_t k, mask, sin[5] = { 0 }, sout[5] = { 0 }, x;
	double fw[5], bw[5], in[5] = { 0 }, out[5] = { 0 }, prev;

	table_random(&t, &g, n, 777);
	dml_shapley_params_init(&p);
	for (i = 0; i < 32; i++)
		p.seed[i] = (unsigned char)(i * 7 + 1);

	p.method = DML_SHAPLEY_PERMUTATION;
	p.samples = 1;	/* rounded up to one pair */
	ok(dml_shapley_compute(&g, &p, &r));
	assert_true(r.samples == 2);
	assert_true(r.evaluations == 2 * (n + 1) + 2);
	for (i = 0; i < n; i++)
		pi[i] = i;
	for (j = n - 1; j >= 1; j--) {
		x = doc_word("dmlctl/shapley/permutation/v1", p.seed, 0, n - 1 - j);
		k = (uint64_t)(((unsigned __int128)x * (j + 1)) >> 64);
		tmp = pi[j];
		pi[j] = pi[k];
		pi[k] = tmp;
	}
	for (mask = 0, prev = t.u[0], i = 0; i < n; i++) {
		mask |= (uint64_t)1 << pi[i];
		fw[pi[i]] = t.u[mask] - prev;
		prev = t.u[mask];
	}
	for (mask = 0, prev = t.u[0], i = n; i-- > 0;) {
		mask |= (uint64_t)1 << pi[i];
		bw[pi[i]] = t.u[mask] - prev;
		prev = t.u[mask];
	}
	for (i = 0; i < n; i++) {
		assert_true(r.value[i] == (fw[i] + bw[i]) / 2);
		assert_true(isinf(r.half_width[i]));	/* one sample: no variance */
	}
	dml_shapley_result_release(&r);

	p.method = DML_SHAPLEY_BANZHAF;
	p.samples = 7;
	ok(dml_shapley_compute(&g, &p, &r));
	for (k = 0; k < 7; k++) {
		mask = doc_word("dmlctl/shapley/banzhaf/v1", p.seed, k, 0) & 31;
		for (i = 0; i < n; i++) {
			if (mask >> i & 1) {
				in[i] += t.u[mask];
				sin[i]++;
			} else {
				out[i] += t.u[mask];
				sout[i]++;
			}
		}
	}
	for (i = 0; i < n; i++) {
		assert_true(sin[i] > 0 && sout[i] > 0);
		near(r.value[i], in[i] / (double)sin[i] - out[i] / (double)sout[i], 1e-15,
		    "banzhaf estimator");
	}
	assert_true(r.samples == 7 && r.evaluations == 9);
	dml_shapley_result_release(&r);
	free(t.u);
}

/*
 * Intervals cover the exact values at (at least) the nominal rate: 200
 * seeds x 6 players, 400 permutations each (200 pairs), delta 0.05.  The
 * empirical-Bernstein bound is conservative, so its coverage is near 1,
 * which alone would not catch a variance computed wrongly; so the sample
 * variance V is recovered from each half-width (the header's formula
 * solved for V) and the normal-approximation interval 1.96 sqrt(V / m)
 * must cover at about its nominal 0.95.  Also: the estimates sum to u(N) -
 * u(empty), and banzhaf MSR intervals cover too.
 */
static void
test_coverage(void **state)
{
	struct table t;
	struct dml_game g;
	struct dml_shapley_result ex, exb, r;
	struct dml_shapley_params p;
	size_t n = 6, i, seed, hit = 0, hitn = 0, hitb = 0, total = 0;
	double sum, width = 0, m = 200, l = log(4 / 0.05), root, var;

	table_random(&t, &g, n, 31337);
	compute(&g, DML_SHAPLEY_EXACT, 0, &ex);
	compute(&g, DML_SHAPLEY_BANZHAF, 0, &exb);
	dml_shapley_params_init(&p);
	p.threads = 2;
	for (seed = 0; seed < 200; seed++) {
		memset(p.seed, 0, sizeof(p.seed));
		memcpy(p.seed, &seed, sizeof(seed));
		p.method = DML_SHAPLEY_PERMUTATION;
		p.samples = 2 * (uint64_t)m;
		ok(dml_shapley_compute(&g, &p, &r));
		assert_true(r.delta == 0.05);
		for (sum = 0, i = 0; i < n; i++) {
			hit += fabs(r.value[i] - ex.value[i]) <= r.half_width[i];
			width += r.half_width[i];
			sum += r.value[i];
			root = r.half_width[i] - 7 * 2 * l / (3 * (m - 1));
			var = root * root * m / (2 * l);
			hitn += fabs(r.value[i] - ex.value[i]) <= 1.959964 * sqrt(var / m);
		}
		near(sum, r.u_full - r.u_empty, 1e-14, "sampled efficiency");
		dml_shapley_result_release(&r);
		p.method = DML_SHAPLEY_BANZHAF;
		p.samples = 400;
		ok(dml_shapley_compute(&g, &p, &r));
		for (i = 0; i < n; i++)
			hitb += fabs(r.value[i] - exb.value[i]) <= r.half_width[i];
		dml_shapley_result_release(&r);
		total += n;
	}
	print_message("coverage at delta 0.05: permutation %.3f (mean half-width %.3f; "
	    "normal approximation %.3f), banzhaf %.3f\n", (double)hit / total, width / total,
	    (double)hitn / total, (double)hitb / total);
	assert_true((double)hit / total >= 0.9);
	assert_true((double)hitb / total >= 0.9);
	assert_true((double)hitn / total >= 0.92 && (double)hitn / total <= 0.98);
	dml_shapley_result_release(&ex);
	dml_shapley_result_release(&exb);
	free(t.u);
}

/* ------------------------------------------------------------------------
 * The linear game */

struct players {
	size_t n, d;
	struct dml_suffstats *s;	/* n players, then the validation set */
	const struct dml_suffstats **ptr;
};

/*
 * Rows of d columns: column 0 is 1 (intercept), the rest uniform in
 * [-1, 1); y = 1 when x . w + noise > 0, else 0 (a linear probability
 * model fits this reasonably), with each label flipped with probability
 * `flip`.
 */
static void
add_rows(struct dml_suffstats *s, size_t rows, size_t d, double flip, uint64_t *seed)
{
	double *x = malloc(rows * d * sizeof(double)), *y = malloc(rows * sizeof(double)), z;
	size_t r, j;

	assert_non_null(x);
	assert_non_null(y);
	for (r = 0; r < rows; r++) {
		z = 0.2;
		for (j = 0; j < d; j++) {
			x[r * d + j] = j == 0 ? 1 : 2 * unit_uniform(seed) - 1;
			if (j > 0)
				z += x[r * d + j] * (j % 2 ? 1.0 : -0.5) / (double)j;
		}
		z += 0.3 * (2 * unit_uniform(seed) - 1);
		y[r] = z > 0;
		if (unit_uniform(seed) < flip)
			y[r] = 1 - y[r];
	}
	ok(dml_suffstats_add_rows(s, x, y, rows));
	free(x);
	free(y);
}

/* n players with rows[i] rows each (flip[i] of labels flipped), and 1000 validation rows. */
static void
players_make(struct players *pl, size_t n, size_t d, const size_t *rows, const double *flip,
    uint64_t seed)
{
	size_t i;

	pl->n = n;
	pl->d = d;
	pl->s = calloc(n + 1, sizeof(*pl->s));
	pl->ptr = calloc(n, sizeof(*pl->ptr));
	assert_non_null(pl->s);
	assert_non_null(pl->ptr);
	for (i = 0; i <= n; i++) {
		ok(dml_suffstats_init(&pl->s[i], d));
		if (i < n && rows[i] > 0)
			add_rows(&pl->s[i], rows[i], d, flip ? flip[i] : 0, &seed);
		if (i == n)
			add_rows(&pl->s[i], 1000, d, 0, &seed);
		if (i < n)
			pl->ptr[i] = &pl->s[i];
	}
}

static void
players_free(struct players *pl)
{
	size_t i;

	for (i = 0; i <= pl->n; i++)
		dml_suffstats_release(&pl->s[i]);
	free(pl->s);
	free(pl->ptr);
}

/* The slow path: merge in double, solve with the condition check, RSS in double-double. */
static double
reference_utility(const struct players *pl, const unsigned char *members, double lambda,
    size_t intercept)
{
	struct dml_suffstats sum;
	double *beta = calloc(pl->d, sizeof(double)), rss, rss0, u;
	size_t i;

	assert_non_null(beta);
	ok(dml_suffstats_init(&sum, pl->d));
	for (i = 0; i < pl->n; i++)
		if (members[i])
			ok(dml_suffstats_merge(&sum, &pl->s[i]));
	ok(dml_suffstats_rss(&pl->s[pl->n], beta, &rss0));
	if (sum.n > 0)
		ok(dml_suffstats_solve(&sum, lambda, intercept, DML_SOLVE_DEFAULT, beta, NULL));
	ok(dml_suffstats_rss(&pl->s[pl->n], beta, &rss));
	u = 1 - rss / rss0;
	dml_suffstats_release(&sum);
	free(beta);
	return u < 0 ? 0 : u > 1 ? 1 : u;
}

static void
linear_game(struct players *pl, struct dml_linear_game **lg, struct dml_game *g, double lambda)
{
	struct dml_linear_game_params lp;

	dml_linear_game_params_init(&lp);
	lp.lambda = lambda;
	lp.intercept = 0;
	ok(dml_linear_game_new(lg, pl->ptr, pl->n, &pl->s[pl->n], &lp));
	dml_linear_game_game(*lg, g);
}

/*
 * Utilities against the slow path, on every coalition of 7 players of
 * very different sizes (one holds 10,000 rows, one 3); and the same bits
 * for a coalition reached by a long add/remove walk as from scratch.
 */
static void
test_linear_utility(void **state)
{
	static const size_t rows[7] = { 10000, 3, 50, 200, 0, 400, 30 };
	struct players pl;
	struct dml_linear_game *lg;
	struct dml_game g;
	void *st;
	unsigned char members[7];
	uint64_t s, seed = 5;
	size_t i, step;
	double u, ref, worst = 0, fresh;

	players_make(&pl, 7, 6, rows, NULL, 17);
	linear_game(&pl, &lg, &g, 0.5);
	assert_true(dml_linear_game_rows(lg)[0] == 10000 && dml_linear_game_rows(lg)[4] == 0);
	for (s = 0; s < 128; s++) {
		for (i = 0; i < 7; i++)
			members[i] = s >> i & 1;
		ok(dml_game_value(&g, members, &u));
		ref = reference_utility(&pl, members, 0.5, 0);
		if (fabs(u - ref) > worst)
			worst = fabs(u - ref);
		if (s == 0 || s == 16)
			assert_true(u == 0);	/* no rows: the base model */
	}
	print_message("linear game: largest utility difference from the slow path %.3g\n",
	    worst);
	assert_true(worst <= 1e-12);

	/* A random walk of 5000 steps, then compare with the coalition from scratch. */
	ok(g.ops->state_new(g.ctx, &st));
	memset(members, 0, sizeof(members));
	for (step = 0; step < 5000; step++) {
		i = xorshift64(&seed) % 7;
		ok(members[i] ? g.ops->remove(g.ctx, st, i) : g.ops->add(g.ctx, st, i));
		members[i] ^= 1;
		if (step % 997 == 0 || step == 4999) {
			ok(g.ops->value(g.ctx, st, &u));
			ok(dml_game_value(&g, members, &fresh));
			assert_memory_equal(&u, &fresh, sizeof(u));
		}
	}
	g.ops->state_free(g.ctx, st);
	dml_linear_game_free(lg);
	players_free(&pl);
}

/* Every method, 1 thread and 4: the same bits.  Also efficiency and the null player. */
static void
test_linear_threads(void **state)
{
	static const size_t rows[12] = { 100, 200, 50, 0, 400, 30, 120, 80, 60, 90, 10, 300 };
	static const enum dml_shapley_method methods[] = {
		DML_SHAPLEY_EXACT, DML_SHAPLEY_PERMUTATION, DML_SHAPLEY_LOO, DML_SHAPLEY_BANZHAF,
		DML_SHAPLEY_PROPORTIONAL
	};
	struct players pl;
	struct dml_linear_game *lg;
	struct dml_game g;
	struct dml_shapley_params p;
	struct dml_shapley_result r1, r4;
	size_t m, i;
	double sum;

	players_make(&pl, 12, 5, rows, NULL, 23);
	linear_game(&pl, &lg, &g, 1);
	dml_shapley_params_init(&p);
	p.seed[0] = 9;
	p.counts = dml_linear_game_rows(lg);
	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		p.method = methods[m];
		p.samples = methods[m] == DML_SHAPLEY_PERMUTATION ? 40 :
		    methods[m] == DML_SHAPLEY_BANZHAF ? 300 : 0;
		p.threads = 1;
		ok(dml_shapley_compute(&g, &p, &r1));
		p.threads = 4;
		ok(dml_shapley_compute(&g, &p, &r4));
		assert_memory_equal(r1.value, r4.value, 12 * sizeof(double));
		assert_memory_equal(r1.half_width, r4.half_width, 12 * sizeof(double));
		assert_true(r1.u_empty == 0);
		/* Player 3 has no rows: a null player, exactly for sampled marginals. */
		if (methods[m] == DML_SHAPLEY_EXACT)
			near(r1.value[3], 0, 1e-16, "linear null player");
		else if (methods[m] != DML_SHAPLEY_BANZHAF)
			assert_true(r1.value[3] == 0);
		if (methods[m] == DML_SHAPLEY_EXACT || methods[m] == DML_SHAPLEY_PERMUTATION ||
		    methods[m] == DML_SHAPLEY_PROPORTIONAL) {
			for (sum = 0, i = 0; i < 12; i++)
				sum += r1.value[i];
			near(sum, r1.u_full - r1.u_empty, 1e-13, "linear efficiency");
		}
		dml_shapley_result_release(&r1);
		dml_shapley_result_release(&r4);
	}
	dml_linear_game_free(lg);
	players_free(&pl);
}

/* Two players with the same data get the same value; a base model is honoured. */
static void
test_linear_symmetry_and_base(void **state)
{
	static const size_t rows[5] = { 100, 100, 300, 50, 100 };
	struct players pl;
	struct dml_linear_game *lg;
	struct dml_linear_game_params lp;
	struct dml_game g;
	struct dml_shapley_result r;
	struct dml_suffstats sum;
	unsigned char members[5] = { 1, 1, 1, 1, 1 };
	double *beta, u;
	size_t i;

	players_make(&pl, 5, 4, rows, NULL, 41);
	/* Player 4 gets exactly player 0's statistics. */
	ok(dml_suffstats_copy(&pl.s[4], &pl.s[0]));
	linear_game(&pl, &lg, &g, 1);
	compute(&g, DML_SHAPLEY_EXACT, 0, &r);
	near(r.value[0], r.value[4], 1e-16, "identical players");
	assert_true(r.value[0] > 0);
	dml_shapley_result_release(&r);
	dml_linear_game_free(lg);

	/* Base = the grand coalition's own model: u(N) is then about 0. */
	beta = calloc(4, sizeof(double));
	assert_non_null(beta);
	ok(dml_suffstats_init(&sum, 4));
	for (i = 0; i < 5; i++)
		ok(dml_suffstats_merge(&sum, &pl.s[i]));
	ok(dml_suffstats_solve(&sum, 1, 0, DML_SOLVE_DEFAULT, beta, NULL));
	dml_suffstats_release(&sum);
	dml_linear_game_params_init(&lp);
	lp.intercept = 0;
	lp.base = beta;
	ok(dml_linear_game_new(&lg, pl.ptr, 5, &pl.s[5], &lp));
	dml_linear_game_game(lg, &g);
	ok(dml_game_value(&g, members, &u));
	near(u, 0, 1e-12, "base model equal to the coalition's");
	assert_true(dml_linear_game_base_rss(lg) > 0);
	dml_linear_game_free(lg);
	free(beta);
	players_free(&pl);
}

static void
test_linear_errors(void **state)
{
	static const size_t rows[2] = { 10, 10 };
	struct players pl;
	struct dml_linear_game *lg;
	struct dml_linear_game_params lp;
	struct dml_suffstats other, empty;
	const struct dml_suffstats *ptr[2];

	players_make(&pl, 2, 3, rows, NULL, 3);
	dml_linear_game_params_init(&lp);
	expect_error(dml_linear_game_new(&lg, pl.ptr, 0, &pl.s[2], &lp), DML_ERR_USAGE,
	    "no players");
	lp.lambda = -1;
	expect_error(dml_linear_game_new(&lg, pl.ptr, 2, &pl.s[2], &lp), DML_ERR_USAGE,
	    "penalty");
	lp.lambda = 1;
	lp.intercept = 3;
	expect_error(dml_linear_game_new(&lg, pl.ptr, 2, &pl.s[2], &lp), DML_ERR_USAGE,
	    "intercept column 3");
	lp.intercept = 0;
	ok(dml_suffstats_init(&other, 4));
	ptr[0] = pl.ptr[0];
	ptr[1] = &other;
	expect_error(dml_linear_game_new(&lg, ptr, 2, &pl.s[2], &lp), DML_ERR_USAGE,
	    "player 1 has 4 columns");
	ok(dml_suffstats_init(&empty, 3));
	expect_error(dml_linear_game_new(&lg, pl.ptr, 2, &empty, &lp), DML_ERR_USAGE,
	    "no rows");
	/* Validation targets all zero: the zero base model fits them exactly. */
	{
		double x[3] = { 1, 0.5, -0.5 }, y[1] = { 0 };

		ok(dml_suffstats_add_rows(&empty, x, y, 1));
	}
	expect_error(dml_linear_game_new(&lg, pl.ptr, 2, &empty, &lp), DML_ERR_USAGE,
	    "exactly");
	pl.s[1].xtx[1] = NAN;
	expect_error(dml_linear_game_new(&lg, pl.ptr, 2, &pl.s[2], &lp), DML_ERR_VERIFY,
	    "player 1");
	assert_null(lg);
	dml_suffstats_release(&other);
	dml_suffstats_release(&empty);
	players_free(&pl);
}

/*
 * Six contributors of 300 rows; contributor 2's labels are 30% flipped.
 * Exact Shapley values rank it last, and so do Banzhaf values, 200 sampled
 * permutations and leave-one-out.
 */
static void
test_flipped_labels(void **state)
{
	static const size_t rows[6] = { 300, 300, 300, 300, 300, 300 };
	static const double flip[6] = { 0, 0, 0.3, 0, 0, 0 };
	static const enum dml_shapley_method methods[4] = {
		DML_SHAPLEY_EXACT, DML_SHAPLEY_BANZHAF, DML_SHAPLEY_PERMUTATION, DML_SHAPLEY_LOO
	};
	struct players pl;
	struct dml_linear_game *lg;
	struct dml_game g;
	struct dml_shapley_params p;
	struct dml_shapley_result r;
	size_t i, m;

	players_make(&pl, 6, 6, rows, flip, 2024);
	linear_game(&pl, &lg, &g, 1);
	dml_shapley_params_init(&p);
	for (m = 0; m < 4; m++) {
		p.method = methods[m];
		p.samples = methods[m] == DML_SHAPLEY_PERMUTATION ? 200 : 0;
		ok(dml_shapley_compute(&g, &p, &r));
		print_message("%s:", dml_shapley_method_name(methods[m]));
		for (i = 0; i < 6; i++)
			print_message(" %.5f", r.value[i]);
		print_message("\n");
		for (i = 0; i < 6; i++)
			if (i != 2 && !(r.value[i] > r.value[2]))
				fail_msg("%s: contributor %zu (%g) does not beat the flipped one (%g)",
				    dml_shapley_method_name(methods[m]), i, r.value[i], r.value[2]);
		dml_shapley_result_release(&r);
	}
	dml_linear_game_free(lg);
	players_free(&pl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_exact_brute_force),
		cmocka_unit_test(test_exact_blocks),
		cmocka_unit_test(test_axioms),
		cmocka_unit_test(test_hand_games),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sampling_recipe),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_linear_utility),
		cmocka_unit_test(test_linear_threads),
		cmocka_unit_test(test_linear_symmetry_and_base),
		cmocka_unit_test(test_linear_errors),
		cmocka_unit_test(test_flipped_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
