/*
 * dml/aggregate.h - the aggregation rules of federated rounds and the
 * differential-privacy mechanism and accountant of updates.  A pure library
 * (lib/aggregate.c): no files, no ledger, no globals; `round aggregate`
 * and `update train` are its callers.
 *
 * Aggregation.  n updates, each a vector of d doubles with a sample count,
 * become one vector of d doubles.  The rules and their edge cases are
 * Flower's (flwr.server.strategy.aggregate: aggregate, aggregate_median,
 * aggregate_trimmed_avg, aggregate_krum, aggregate_bulyan), except where this
 * header says otherwise; the differences are all about ties, which Flower
 * leaves to numpy's unstable sorts, and about rounding.
 *
 * Order.  The caller passes the updates in canonical order (by update ID,
 * never by arrival).  "Ties go to the lowest update ID" is then "ties go to
 * the lowest index", and every result is a function of the inputs in that
 * order alone: the same bits on every IEEE-754 machine, with or without
 * SSE2, whatever the number of threads (each output value is computed by
 * one thread, with the same operations in the same order as on one
 * thread).  Beyond that, median, trimmed-mean and the second phase of Bulyan
 * are symmetric functions of each coordinate's values (order statistics are
 * values, sums run over sorted values, and -0 is read as +0, so that a
 * median of zeros is +0 whichever zero came first), so reordering updates
 * cannot change them at all; the weighted means of fedavg and multi-krum
 * sum in index order, so another order can change their last bit;
 * Krum-family selections change only where scores tie.
 *
 * Accuracy.  Every mean is a compensated sum (Knuth's branch-free TwoSum
 * with a running correction, Ogita-Rump-Oishi "Sum2"), then one division:
 * the sum is as accurate as if it had been computed in twice the precision
 * and then rounded, where Flower's plain numpy sums may lose up to about
 * n * 2^-53 relative.  fedavg's terms n_i x_i are each rounded once, so its
 * error is within about 2^-52 sum(n_i |x_i|) / sum(n_i): a few units in the
 * last place of the result unless the terms cancel.  So results agree with
 * Flower's to about 1e-15 relative, not bit for bit.
 *
 * Squared distances (Krum family) are part of the result, through the
 * scores and their ties, so their recipe is fixed: coordinates in blocks of
 * 512; within a block four running sums of (a_c - b_c)^2 take c = 0, 1, 2, 3
 * mod 4 in turn (a last len % 4 coordinates go to the first), and the block
 * adds (s0 + s1) + (s2 + s3) to the total, blocks in order.
 *
 * Inputs.  Every value must be finite: a NaN or an infinity is a
 * DML_ERR_VERIFY error naming the first offending update and coordinate
 * (in index order).  Finite inputs whose aggregate overflows (a weighted sum
 * beyond DBL_MAX) are a DML_ERR_VERIFY error too, naming the coordinate.
 * Parameter problems are DML_ERR_USAGE errors.
 */
#ifndef DML_AGGREGATE_H
#define DML_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"

enum dml_agg_rule {
	/*
	 * sum(n_i x_i) / sum(n_i), the sample-weighted mean.  A zero count
	 * is allowed (that update has no weight); all counts zero is an error,
	 * and so is a total beyond UINT64_MAX.  Counts above 2^53 are rounded
	 * to the nearest double before they multiply.
	 */
	DML_AGG_FEDAVG,
	/*
	 * Coordinate-wise median, unweighted; for even n the mean of the two
	 * middle values, (a + b) / 2 as numpy computes it (a / 2 + b / 2 when
	 * a + b would overflow, where numpy gives infinity).
	 */
	DML_AGG_MEDIAN,
	/*
	 * Coordinate-wise trimmed mean, unweighted: with lo = (size_t)(beta *
	 * n), the beta * n product rounded to a double and then truncated
	 * exactly as Python's int(beta * n) (so beta = 0.29, n = 100 cuts 28),
	 * the mean of the sorted values at positions [lo, n - lo).  Nothing
	 * left (2 lo >= n) is an error; Flower refuses lo > n - lo and
	 * returns NaN for lo = n - lo.
	 */
	DML_AGG_TRIMMED_MEAN,
	/*
	 * Krum: D_ij = squared Euclidean distance; k = max(1, n - f - 2),
	 * at most n - 1; score_i = the sum of the k smallest D_ij, j != i,
	 * added smallest first; the update with the lowest score is the
	 * result, bit for bit (ties: lowest index).  n = 1: that update, score
	 * 0.
	 */
	DML_AGG_KRUM,
	/*
	 * Multi-Krum: the m updates with the lowest Krum scores (ties: lowest
	 * index), then their fedavg weighted by n_i.  m = 0 means n - f (as in
	 * the Multi-Krum paper; Flower's num_clients_to_keep = 0 means plain
	 * Krum instead, which here is DML_AGG_KRUM).
	 */
	DML_AGG_MULTI_KRUM,
	/*
	 * Bulyan (El Mhamdi et al. 2018), as Flower with Krum as its first
	 * rule: requires n >= 4f + 3, in both modes.  theta = n - 2f updates
	 * are picked one at a time by Krum on the updates not yet picked
	 * (re-scored after each pick, k = max(1, r - f - 2) for r remaining;
	 * ties: lowest index).  Then for each coordinate: the median of the
	 * theta picked values, and the mean of the beta = theta - 2f picked
	 * values closest to it, by |x - median| (ties: lowest update index;
	 * Flower leaves them to np.argpartition).
	 */
	DML_AGG_BULYAN
};

#define DML_AGG_NRULES 6

/* "fedavg", "median", "trimmed-mean", "krum", "multi-krum", "bulyan". */
const char *dml_agg_rule_name(enum dml_agg_rule rule);

/* The rule named s (exactly one of the names above), or a DML_ERR_USAGE error. */
const struct dml_error *dml_agg_rule_parse(const char *s, enum dml_agg_rule *rule);

struct dml_agg_params {
	double beta;		/* trimmed-mean: fraction cut from each end; default 0.2 */
	unsigned f;		/* byzantine updates tolerated (krum family, bulyan, strict checks) */
	unsigned m;		/* multi-krum: updates selected; 0: n - f */
	/*
	 * Nonzero: refuse (DML_ERR_USAGE) any choice outside the rule's
	 * guarantee, i.e. whenever dml_agg_plan reports a nonzero `outside`;
	 * zero: clamp as Flower does and report what was outside.
	 */
	int strict;
	unsigned threads;	/* 0: one per core; any number gives the same bits */
};

/* Defaults: beta 0.2 (Flower's FedTrimmedAvg), f 0, m 0, not strict, threads 0. */
void dml_agg_params_init(struct dml_agg_params *p);

/*
 * Conditions under which a rule runs outside its guarantee: bits of
 * dml_agg_plan.outside.  Strict mode refuses all of them; otherwise the
 * aggregation runs, clamped where noted, and the caller should record them.
 */
#define DML_AGG_OUT_FEDAVG_F	0x01u	/* fedavg with f > 0: no rule-level defence */
#define DML_AGG_OUT_MEDIAN_F	0x02u	/* median with 2f >= n: byzantine majority possible */
#define DML_AGG_OUT_TRIM_HALF	0x04u	/* trimmed-mean with beta >= 0.5 */
#define DML_AGG_OUT_TRIM_F	0x08u	/* trimmed-mean cutting fewer than f values per end */
#define DML_AGG_OUT_KRUM_N	0x10u	/* krum, multi-krum with n <= 2f + 2 (k clamped to >= 1) */
#define DML_AGG_OUT_SELECT	0x20u	/* multi-krum with m > n - f (clamped to n) */

/* What a rule will do with n updates: its parameters after clamping. */
struct dml_agg_plan {
	enum dml_agg_rule rule;
	size_t n;
	size_t trim;		/* trimmed-mean: values cut from each end (lo) */
	size_t neighbours;	/* krum family: k (bulyan: for all n; it shrinks as picks are made) */
	size_t select;		/* updates that enter the result: krum 1, multi-krum m, bulyan theta; else n */
	size_t closest;		/* bulyan: beta = theta - 2f values averaged per coordinate */
	unsigned outside;	/* DML_AGG_OUT_* */
};

/*
 * Check p for rule and n updates and fill plan.  DML_ERR_USAGE when n is 0,
 * beta is negative or not finite, trimmed-mean would keep nothing, bulyan
 * has n < 4f + 3, or (strict) any DML_AGG_OUT_* condition holds; the
 * message names the rule, n and the parameter.  Cheap: call it when a round
 * is opened to refuse a hopeless configuration early.
 */
const struct dml_error *dml_agg_plan(enum dml_agg_rule rule, const struct dml_agg_params *p,
    size_t n, struct dml_agg_plan *plan);

/* dml_agg_result.rank of a bulyan update that was never picked. */
#define DML_AGG_NOT_PICKED SIZE_MAX

/*
 * Which updates the rule used, so that the caller can record every update as
 * accepted or as rejected by the rule, with a reason.  Coordinate-wise rules
 * (median, trimmed-mean) use every update: they cut values, not updates.
 */
struct dml_agg_result {
	struct dml_agg_plan plan;
	size_t n;
	size_t nused;
	unsigned char *used;	/* n flags: 1 when update i entered the result */
	/*
	 * Krum family and bulyan only (else NULL).  krum, multi-krum: score[i]
	 * is update i's Krum score among all n, rank[i] its position when all
	 * are ordered by (score, index), 0 the best; used[i] iff rank[i] <
	 * plan.select.  bulyan: rank[i] is the pick (0 first) or
	 * DML_AGG_NOT_PICKED, and score[i] the Krum score update i had in the
	 * last scoring it took part in (when it was picked, or among the last
	 * 2f + 1 remaining).
	 */
	double *score;
	size_t *rank;
};

/*
 * Aggregate n updates of d values by rule.  updates[i] points to update i's d
 * values (row i of a row-major n x d array works: updates[i] = x + i * d);
 * counts[i] is its sample count, needed by fedavg and multi-krum (counts may
 * be NULL for the other rules).  out receives d values and must not overlap
 * the inputs.  res, unless NULL, receives what was used (dml_agg_result_release
 * frees it; on error it is left released).
 *
 * Memory beyond the inputs: 16 KiB a thread for fedavg; for median and
 * trimmed-mean 32 KiB a thread and up to 200 KiB of network on the selection
 * network path, 256 KiB a thread on the other; 12 n^2 bytes for the
 * distances and neighbour lists of the krum family, plus 256 KiB a thread for
 * bulyan's second phase.  Time: one pass for fedavg; for median up to 100
 * updates and trimmed-mean up to 1024, a pruned Batcher selection network
 * applied to whole rows (O(n log^2 n) compare-exchanges a coordinate,
 * branch-free and SIMD across coordinates), beyond that introselect
 * (expected O(n), O(n log n) at worst) or introsort on transposed columns;
 * O(n^2 d) for the krum family, plus O(n^3) for bulyan's repeated picks.
 *
 * Distances are computed from differences, never as |a|^2 + |b|^2 - 2 a.b:
 * honest updates are close to each other, and that shortcut would cancel
 * away exactly the small distances Krum ranks.  A distance that overflows is
 * +infinity, which ranks last (it never makes an error).
 *
 * Errors: DML_ERR_USAGE for parameters (see dml_agg_plan), n or d of 0, a
 * NULL update, missing or all-zero counts; DML_ERR_VERIFY for non-finite
 * input or an overflowing result; DML_ERR_NOMEM.  On error out is undefined.
 */
const struct dml_error *dml_aggregate(enum dml_agg_rule rule, const struct dml_agg_params *p,
    const double *const *updates, const uint64_t *counts, size_t n, size_t d, double *out,
    struct dml_agg_result *res);

/* Free res's arrays; res may be zeroed memory or already released. */
void dml_agg_result_release(struct dml_agg_result *res);

/* ------------------------------------------------------------------------
 * Differential privacy: the Gaussian mechanism on one update
 *
 * A contributor clips the change of its model from the round's base model to
 * L2 norm C and adds Gaussian noise of standard deviation z * C to every
 * coordinate (DP-FedAvg with fixed clipping on the client side).
 *
 * The seed is a secret.  Whoever knows it can regenerate the noise and
 * subtract it, and then the update is as if no noise had been added.  An
 * update may carry a commitment to the seed (a hash), never the seed itself,
 * and the seed must come from a cryptographic random generator.
 *
 * The generator.  Uniform bits are the ChaCha20 keystream (RFC 8439, 20
 * rounds, 32-byte key = the seed, 96-bit nonce "LibsodiumDRG", block counter
 * from 0): byte for byte what libsodium's randombytes_buf_deterministic(buf,
 * len, seed) produces (the unit test checks it), read as little-endian 64-bit
 * words.  Normal deviates come from Marsaglia's polar method: a word pair
 * gives u, v = (w >> 11) * 2^-52 - 1, exact multiples of 2^-52 in [-1, 1);
 * pairs with s = u^2 + v^2 >= 1 or s = 0 are skipped; otherwise u * r and
 * v * r with r = sqrt(-2 ln(s) / s) are the next two deviates, for
 * coordinates j and j + 1 (an odd d drops the last one).  The logarithm is
 * computed here from +, -, *, / and frexp alone (within 2 units in the last
 * place), never by libm, so the noise is the same bits on every IEEE-754
 * machine.  (A Ziggurat is faster, but needs libm's exp in its rare wedge
 * cases; at one deviate per parameter the polar method costs nothing that
 * shows.)
 *
 * Floating-point caveat: like every floating-point sampler, this one is not
 * hardened against attacks on the low-order bits of noisy values (Mironov,
 * CCS 2012); the accounting below assumes exact Gaussian noise.
 */

#define DML_DP_SEED_LEN 32

struct dml_dp_info {
	double norm;		/* L2 norm of the change before clipping */
	double factor;		/* the change was multiplied by this: 1, or about C / norm */
	int clipped;		/* factor < 1 */
	double sigma;		/* standard deviation of the noise added: z * C */
};

/*
 * out = delta * factor + N(0, (z C)^2 I), factor = min(1, C / |delta|_2).
 * delta is the change from the base model (d values, finite); clip is C > 0,
 * noise_multiplier z >= 0 (0: clip only).  When clipping, factor is C / norm
 * lowered by a few units in the last place if needed so that the clipped
 * vector's norm, as computed here, never exceeds C; when |delta| <= C the
 * change passes unchanged, bit for bit.  The norm is a compensated sum of
 * squares, rescaled when it would overflow or underflow.  out may equal delta.
 * info may be NULL.  DML_ERR_USAGE for bad C, z or d = 0; DML_ERR_VERIFY for
 * a non-finite delta (naming the coordinate).
 */
const struct dml_error *dml_dp_clip_and_noise(const double *delta, size_t d, double clip,
    double noise_multiplier, const unsigned char seed[DML_DP_SEED_LEN], double *out,
    struct dml_dp_info *info);

/* The generator's raw bytes: len bytes of the stream for seed, for audits and tests. */
void dml_dp_stream(unsigned char *buf, size_t len, const unsigned char seed[DML_DP_SEED_LEN]);

/* ------------------------------------------------------------------------
 * Privacy accounting (Renyi differential privacy)
 *
 * One round of the mechanism above has sensitivity C and noise z C, so it is
 * (alpha, alpha / (2 z^2))-RDP for every order alpha > 1 (Mironov 2017, with
 * no amplification by subsampling: each contributor's data are used in
 * every round it takes part in).  RDP composes by adding: T rounds with
 * multipliers z_t are (alpha, alpha * rho)-RDP with rho = sum_t 1 / (2 z_t^2).
 * Conversion to (epsilon, delta)-DP (Mironov 2017, Proposition 3):
 *   epsilon = min over real alpha > 1 of alpha * rho + log(1 / delta) / (alpha - 1),
 * attained at alpha* = 1 + sqrt(log(1 / delta) / rho), which gives the closed
 * form epsilon = rho + 2 sqrt(rho log(1 / delta)) (the zCDP conversion of Bun
 * and Steinke).  For T rounds at one z: rho = T / (2 z^2), alpha* = 1 + z
 * sqrt(2 log(1 / delta) / T), epsilon = T / (2 z^2) + sqrt(2 T log(1 / delta)) / z.
 *
 * This is an upper bound: tighter conversions (Canonne, Kamath and Steinke
 * 2020; the exact Gaussian-DP curve of Dong, Roth and Su) give a smaller
 * epsilon for the same noise, so the figure recorded is conservative.  The
 * logarithm is the library's own (see above), so epsilon has the same bits
 * on every machine.
 */

/*
 * epsilon for T rounds at noise multiplier z (> 0, finite) and delta in
 * (0, 1); rounds = 0 gives epsilon 0 (and alpha* +infinity).  order may be
 * NULL; otherwise it receives alpha*.  DML_ERR_USAGE for a bad z or delta.
 */
const struct dml_error *dml_dp_epsilon(double noise_multiplier, uint64_t rounds, double delta,
    double *epsilon, double *order);

/*
 * The same from rho = sum_t 1 / (2 z_t^2) (>= 0, finite), for rounds with
 * different multipliers: add dml_dp_rho(z_t) over the rounds.
 */
const struct dml_error *dml_dp_epsilon_rho(double rho, double delta, double *epsilon,
    double *order);

/* 1 / (2 z^2): the RDP cost per unit order of one round at multiplier z > 0. */
double dml_dp_rho(double noise_multiplier);

#endif
