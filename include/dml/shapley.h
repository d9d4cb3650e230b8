/*
 * dml/shapley.h - contribution values of n players to a cooperative game:
 * exact and sampled Shapley values, leave-one-out, Banzhaf values and
 * proportional shares.  A pure library (lib/shapley.c): no files, no ledger,
 * no globals; `reward compute` is its caller, and `ledger verify` recomputes
 * with it.
 *
 * The game.  A utility u(S) in [0, 1] for every coalition S of the players
 * 0..n-1, u(empty) included.  The library never asks for u(S) by name:
 * it walks coalitions one player at a time through a small vtable (struct
 * dml_game_ops) of "start from the empty coalition, add player i, remove
 * player i, what is the utility now".  Exact Shapley values then visit all
 * 2^n coalitions in Gray-code order, where consecutive coalitions differ by
 * one player, so that a game whose state is summed statistics pays one
 * update and one evaluation per coalition: for linear models in stats mode
 * (the ready-made game below) about one Cholesky solve.
 *
 * Determinism.  Every method splits its work into units fixed by n and the
 * number of samples alone (never by the number of threads or cores), each
 * unit starts its own state from the empty coalition, and partial results
 * are combined in unit order.  So, for a game whose operations are
 * deterministic, every result is the same bits whatever the number of
 * threads.  Sums are compensated (Neumaier: the exact error of every
 * addition is carried along, which is what the branch-free TwoSum also
 * computes, bit for bit), so results are within a few units of rounding
 * of the exact sums of the rounded terms.
 *
 * Accuracy of exact Shapley values.  phi_i = sum over coalitions T of
 * c_i(T) u(T), with c_i(T) = w(|T| - 1) when i is in T and -w(|T|) when it
 * is not, w(k) = k! (n - k - 1)! / n! = 1 / (n C(n - 1, k)) (each weight
 * rounded once).  The sum of |c_i(T)| over all T is 2, so with utilities in
 * [0, 1] the computed phi_i is within about 4 * 2^-53 of the exact weighted
 * sum of the utilities as evaluated: what remains is the error of the
 * utilities themselves (see the linear game).
 */
#ifndef DML_SHAPLEY_H
#define DML_SHAPLEY_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"
#include "dml/linalg.h"

/* Exact methods enumerate all 2^n coalitions; refused above this n. */
#define DML_SHAPLEY_EXACT_MAX_N 25

#define DML_SHAPLEY_SEED_LEN 32

/* ------------------------------------------------------------------------
 * Games */

/*
 * A game's operations.  ctx is shared by every thread and only read during
 * a computation; a state is one thread's current coalition.  Every function
 * returning an error may fail (the computation then stops and returns the
 * error of the lowest-numbered unit of work that failed).
 *
 * For the results to be the values of a game, value() must depend only on
 * the current coalition; for them to be the same bits on any number of
 * threads it suffices that it depend only on the operations applied since
 * state_new or reset (the library replays the same operations whatever the
 * threads).  The linear game meets the stronger condition, bit for bit.
 */
struct dml_game_ops {
	/* A new state, holding the empty coalition. */
	const struct dml_error *(*state_new)(void *ctx, void **state);
	/* Free a state from state_new (state may be NULL). */
	void (*state_free)(void *ctx, void *state);
	/* Make the state the empty coalition. */
	const struct dml_error *(*reset)(void *ctx, void *state);
	/* Add player i, who is not in the coalition. */
	const struct dml_error *(*add)(void *ctx, void *state, size_t i);
	/* Remove player i, who is in the coalition. */
	const struct dml_error *(*remove)(void *ctx, void *state, size_t i);
	/*
	 * The utility of the current coalition, finite and in [0, 1]; anything
	 * else stops the computation with a DML_ERR_VERIFY error.
	 */
	const struct dml_error *(*value)(void *ctx, void *state, double *u);
};

struct dml_game {
	size_t n;	/* players */
	void *ctx;
	const struct dml_game_ops *ops;
};

/*
 * The utility of one coalition, from a fresh state: members[i] nonzero
 * means player i is in.  Players are added in index order.  For audits and
 * tests; the methods below never call it.
 */
const struct dml_error *dml_game_value(const struct dml_game *game,
    const unsigned char *members, double *u);

/* ------------------------------------------------------------------------
 * The linear game: ridge or least-squares models in stats mode
 *
 * Player i brings sufficient statistics S_i (struct dml_suffstats, all of
 * dimension d); a validation set brings its own statistics V.  Coalition
 * S's model is
 *     beta_S = dml_suffstats_solve(sum of S_i over i in S, lambda,
 *                                  intercept, DML_SOLVE_NO_RCOND)
 * when S has at least one row, and the base model beta_0 (given
 * coefficients, or all zeros) when it has none: the empty coalition, and
 * coalitions of players without data.  Its utility is
 *     u(S) = clip(1 - RSS_V(beta_S) / RSS_V(beta_0), 0, 1)
 * i.e. clip(1 - MSE_S / MSE_empty): the share of the base model's
 * validation error that S's model removes, negative gains counted as 0.
 * u(empty) = 0 exactly.  RSS_V(b) = sum over validation rows of
 * (y - x.b)^2, from V alone.
 *
 * Exact sums.  Each statistic of each player (the upper triangle of X^T X,
 * X^T y, y^T y) is split once, at creation, into two doubles hi + lo on
 * grids chosen per entry from the sum M of |entry| over all players: hi
 * on multiples of G = 2^(e - 52) where M < 2^e, lo on multiples of
 * G 2^(c - 53) with c = bitlen(n) + 1 (the bits of n, plus one).  On these
 * grids every sum of his, and every sum of los, is exact in double
 * arithmetic; so a coalition's statistic is the exact sum of its players'
 * parts, rounded once (hi + lo, correctly rounded) to a double.  No drift
 * over millions of add/remove steps, no periodic re-summing, and the same
 * bits for S however it was reached (Gray code, permutation, from
 * scratch).  What the split drops is below 2^(2c - 106) M per coalition
 * (2^-94 of the grand total for n < 32): more than the final rounding only
 * for a coalition whose entry is below 2^(2c - 53) M (2^-41 M for n < 32).
 * Statistics whose entries add up beyond 2^1000 are refused.
 *
 * The RSS.  Evaluating yty - 2 b.xty + b.xtx.b in double-double (as
 * dml_suffstats_rss does) costs 3.8 us at d = 20, one to two solves.  With
 * beta_V the validation set's own least-squares fit (dml_suffstats_solve(V,
 * 0, DML_NO_INTERCEPT, DML_SOLVE_DEFAULT): minimum-norm if rank-deficient),
 * the identity, exact for any beta_V,
 *     RSS_V(b) = RSS_V(beta_V) + t.A.t - 2 t.g,   t = b - beta_V,
 *     A = V's X^T X,  g = V's X^T y - A beta_V,
 * is evaluated with RSS_V(beta_V) (dml_suffstats_rss) and g (double-double)
 * computed once, leaving about d^2 / 2 multiply-adds per coalition.  For
 * beta_V optimal, g is about 0 and every term is non-negative, so nothing
 * cancels however well S fits.  The evaluation error is at most about
 *     (d + 3) 2^-53 (RSS_V(beta_V) + |t|.|A|.|t| + 2 |t|.|g|),
 * where |.| are elementwise absolute values; relative to RSS_V(beta_0) this
 * is the error of u(S) (well below 1e-12 for reasonable data).  RSS_V(beta_0)
 * itself is computed by dml_suffstats_rss.
 *
 * Threads.  The linear game is safe on any number of threads, but with
 * the pthread build of OpenBLAS each solve takes a process-wide lock twice
 * (blas_memory_alloc, in dpotrf and dtrsm), so at small d two threads can
 * be slower than one (d = 20: two threads doing twice the solves take 2.8
 * times as long); t/perf/p0500-rewards.sh shows both.
 */

struct dml_linear_game_params {
	double lambda;		/* ridge penalty, >= 0; prefer > 0 (see DML_SOLVE_NO_RCOND) */
	size_t intercept;	/* unpenalised column, or DML_NO_INTERCEPT */
	const double *base;	/* d coefficients of the empty coalition's model; NULL: zeros */
};

/* Defaults: lambda 1, no intercept, base NULL. */
void dml_linear_game_params_init(struct dml_linear_game_params *p);

struct dml_linear_game;

/*
 * Make the game of n >= 1 players from their statistics (players[i]) and
 * the validation set's (validation), all of one dimension d.  Everything is
 * copied: the arguments may be freed afterwards.  Every input is checked
 * with dml_suffstats_validate (DML_ERR_VERIFY naming the player).
 * DML_ERR_USAGE when dimensions differ, the validation set has no rows, a
 * parameter is out of range, or the base model already fits the
 * validation set exactly (RSS_V(beta_0) = 0: every utility would be 0/0).
 * Memory: about 8 d^2 bytes per player.
 */
const struct dml_error *dml_linear_game_new(struct dml_linear_game **gp,
    const struct dml_suffstats *const *players, size_t n,
    const struct dml_suffstats *validation, const struct dml_linear_game_params *p);

/* Free g (NULL is fine). */
void dml_linear_game_free(struct dml_linear_game *g);

/* Fill game with g's vtable; valid while g lives. */
void dml_linear_game_game(struct dml_linear_game *g, struct dml_game *game);

/* Player i's row count (for DML_SHAPLEY_PROPORTIONAL); n entries. */
const uint64_t *dml_linear_game_rows(const struct dml_linear_game *g);

/* RSS_V(beta_0): the validation RSS of the empty coalition's model. */
double dml_linear_game_base_rss(const struct dml_linear_game *g);

/* ------------------------------------------------------------------------
 * Methods */

enum dml_shapley_method {
	/*
	 * Shapley values over all 2^n coalitions (n <= 25), in Gray-code
	 * order: 2^n evaluations and 2^n - 1 add/remove steps, plus one
	 * re-start per block of 2^10 coalitions.
	 */
	DML_SHAPLEY_EXACT,
	/*
	 * Shapley values by antithetic permutation sampling: each sampled
	 * permutation pi is walked forwards and backwards, and the mean of the
	 * two marginal contributions is one sample (in [-1, 1]).  2n
	 * evaluations per pair.  See "Sampling" below.
	 */
	DML_SHAPLEY_PERMUTATION,
	/* Leave-one-out: u(N) - u(N \ {i}), exactly; n + 1 evaluations. */
	DML_SHAPLEY_LOO,
	/*
	 * Banzhaf values, beta_i = 2^-(n-1) sum over S not containing i of
	 * u(S + i) - u(S) (not efficient: they need not sum to u(N) - u(empty)).
	 * samples = 0: exact over all 2^n coalitions (n <= 25).  Otherwise the
	 * maximum-sample-reuse estimator (Wang and Jia 2023): `samples`
	 * coalitions drawn uniformly (each player in with probability 1/2),
	 * beta_i = mean u(S) over samples containing i - mean over samples
	 * not containing i; one evaluation per sample.
	 */
	DML_SHAPLEY_BANZHAF,
	/*
	 * counts[i] / sum(counts) * (u(N) - u(empty)): a share by sample count,
	 * scaled to be efficient.  All counts 0: every value 0.
	 */
	DML_SHAPLEY_PROPORTIONAL
};

#define DML_SHAPLEY_NMETHODS 5

/* "exact", "permutation", "loo", "banzhaf", "proportional". */
const char *dml_shapley_method_name(enum dml_shapley_method m);

/* The method named s, or a DML_ERR_USAGE error. */
const struct dml_error *dml_shapley_method_parse(const char *s, enum dml_shapley_method *m);

/*
 * Sampling.  All randomness comes from the 32-byte seed through SHA-256
 * in counter mode: random 64-bit word w of sample k is the little-endian
 * word (w mod 4) of
 *     SHA-256(tag || seed || le64(k) || le64(w / 4)),
 * tag = "dmlctl/shapley/permutation/v1" or "dmlctl/shapley/banzhaf/v1"
 * (ASCII, no NUL).  So sample k is the same whoever draws it, in whatever
 * order, and anyone with SHA-256 can re-draw it.
 *   - Permutation pair k: Fisher-Yates from the identity, for j = n - 1
 *     down to 1 swap positions j and floor(word[n - 1 - j] * (j + 1) / 2^64)
 *     (multiply-high: bias below (j + 1) / 2^64, far below sampling error).
 *     Players join in the order pi[0], pi[1], ..., then, from the empty
 *     coalition again, pi[n - 1], ..., pi[0].
 *   - Banzhaf sample k: player i is in when bit (i mod 64) of word i / 64
 *     is set.
 *
 * Number of permutations.  `samples` when given (rounded up to even: m =
 * samples / 2 pairs).  Otherwise from epsilon and delta by Hoeffding's
 * inequality on the pair means, which lie in an interval of length r = 2
 * (utilities are in [0, 1] but games need not be monotone, so marginal
 * contributions lie in [-1, 1]), with a union bound over the n players so
 * that all n estimates are within epsilon at once with probability
 * >= 1 - delta:
 *     m = ceil(r^2 ln(2 n / delta) / (2 epsilon^2)) pairs.
 *
 * Confidence intervals.  For each player separately (not simultaneously),
 * the empirical-Bernstein bound of Maurer and Pontil (2009, Theorem 4),
 * two-sided (delta / 2 per side, hence ln(4 / delta)), scaled from [0, 1]
 * to a range of length r:
 *     half_width = sqrt(2 V ln(4 / delta) / m) + 7 r ln(4 / delta) / (3 (m - 1))
 * with V the unbiased sample variance of the m samples; it contains the
 * true value with probability >= 1 - delta.  For MSR Banzhaf each of the
 * two means (range 1) gets the bound at delta / 2 and the half-widths add.
 * Infinite when a mean has fewer than 2 samples.
 */
struct dml_shapley_params {
	enum dml_shapley_method method;
	unsigned threads;	/* 0: one per core; any number gives the same bits */
	unsigned char seed[DML_SHAPLEY_SEED_LEN];	/* sampled methods */
	uint64_t samples;	/* permutations or banzhaf coalitions; 0: see above */
	double epsilon;		/* permutation with samples = 0: target accuracy, > 0 */
	double delta;		/* failure probability in (0, 1); 0 means 0.05 */
	const uint64_t *counts;	/* proportional: n sample counts */
};

/* Defaults: exact, threads 0, zero seed, samples 0, epsilon 0, delta 0, counts NULL. */
void dml_shapley_params_init(struct dml_shapley_params *p);

struct dml_shapley_result {
	size_t n;
	double *value;		/* n */
	/*
	 * n confidence half-widths at level 1 - delta (sampled methods; see
	 * "Confidence intervals"), 0 for the exact methods.
	 */
	double *half_width;
	double u_empty, u_full;	/* u(empty) and u(N) */
	double delta;		/* the delta used */
	uint64_t samples;	/* permutations (both directions counted) or coalitions drawn; 0 if exact */
	uint64_t evaluations;	/* calls of value() */
};

/* Permutations m (both directions) that Hoeffding asks for: see "Sampling". */
const struct dml_error *dml_shapley_hoeffding(size_t n, double epsilon, double delta,
    uint64_t *permutations);

/*
 * Compute the contribution values of game's players by p->method; res
 * receives them (release with dml_shapley_result_release; on error it is
 * left released).  Errors: DML_ERR_USAGE for parameters (n = 0, exact
 * methods above DML_SHAPLEY_EXACT_MAX_N players, with a hint to sample, a
 * bad epsilon or delta, missing counts), DML_ERR_VERIFY for a utility
 * outside [0, 1], the game's own errors, DML_ERR_NOMEM.
 *
 * Memory: 2n doubles per block of exact methods (2^(n - 10) blocks: 13 MB
 * at n = 25), 3n (permutation) or 6n (banzhaf) doubles per unit of sampled
 * methods (at most 256 units), one game state per thread.
 */
const struct dml_error *dml_shapley_compute(const struct dml_game *game,
    const struct dml_shapley_params *p, struct dml_shapley_result *res);

/* Free res's arrays; res may be zeroed memory or already released. */
void dml_shapley_result_release(struct dml_shapley_result *res);

#endif
