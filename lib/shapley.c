/*
 * shapley.c - contribution values of players to a game, and the linear
 * game of stats mode (see dml/shapley.h).
 *
 * Design notes.
 *
 * Exact values need u(S) for all 2^n coalitions, and u(S + i) - u(S) for
 * all n 2^(n-1) pairs: far more pairs than the 2^n - 1 steps of a Gray
 * code, so the marginal contributions are never formed.  Instead each
 * utility is credited to every player once, with the signed weight that
 * coalition carries in that player's formula (c_i(T) in the header): one
 * evaluation and n compensated additions per coalition.
 *
 * Work is cut into units that depend on n and the sample count only:
 * blocks of 2^10 consecutive Gray-code positions for exact methods, runs
 * of consecutive samples for sampled ones.  A unit starts from the empty
 * coalition (adding the members of its first coalition in index order),
 * writes its own partial result, and the partials are combined in unit
 * order once all threads are done.  Which thread ran a unit, and when,
 * cannot change a bit.
 *
 * The linear game keeps each coalition's statistics as exact sums: every
 * entry of every player is split, once, into two doubles on fixed grids
 * where all sums are exact (quantize() below), so a coalition's
 * statistics, and hence its model and utility, depend on the coalition
 * alone.  Running sums of plain doubles would drift by about sqrt(steps) *
 * 2^-53 of the largest statistics over a walk and need re-summing; the
 * pairs cost two exact additions per entry per step and one rounding
 * addition per entry per evaluation (about as cheap as plain doubles; the
 * 128-bit integers tried first cost 20% of a solve in conversions alone),
 * and buy path independence: the null player gets exactly cancelling
 * terms, exact and sampled methods see the same u(S), and a verifier can
 * evaluate any coalition alone.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "dml/error.h"
#include "dml/linalg.h"
#include "dml/shapley.h"

/* Coalitions per unit of exact methods: 2^EXACT_BLOCK_LOG.  Part of the result. */
#define EXACT_BLOCK_LOG 10
/* Sampled methods use at most this many units.  Part of the result. */
#define MAX_SAMPLE_UNITS 256

static const char *const method_names[DML_SHAPLEY_NMETHODS] = {
	"exact", "permutation", "loo", "banzhaf", "proportional"
};

static const char perm_tag[] = "dmlctl/shapley/permutation/v1";
static const char banzhaf_tag[] = "dmlctl/shapley/banzhaf/v1";

const char *
dml_shapley_method_name(enum dml_shapley_method m)
{
	return (unsigned)m < DML_SHAPLEY_NMETHODS ? method_names[m] : "unknown";
}

const struct dml_error *
dml_shapley_method_parse(const char *s, enum dml_shapley_method *m)
{
	unsigned i;

	for (i = 0; i < DML_SHAPLEY_NMETHODS; i++)
		if (strcmp(s, method_names[i]) == 0) {
			*m = (enum dml_shapley_method)i;
			return NULL;
		}
	return dml_error_fmt(DML_ERR_USAGE, "unknown contribution method '%s' (exact, "
	    "permutation, loo, banzhaf or proportional)", s);
}

void
dml_shapley_params_init(struct dml_shapley_params *p)
{
	memset(p, 0, sizeof(*p));
	p->method = DML_SHAPLEY_EXACT;
}

void
dml_shapley_result_release(struct dml_shapley_result *res)
{
	free(res->value);
	free(res->half_width);
	memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------------------
 * Compensated sums and running moments */

/*
 * s + c += x, with c collecting the exact rounding error of each addition
 * (Knuth's TwoSum: branch-free, and the same error Neumaier's branch
 * computes).  The sum is s + c.
 */
static void
csum_add(double *s, double *c, double x)
{
	double t = *s + x, bb = t - *s;

	*c += (*s - (t - bb)) + (x - bb);
	*s = t;
}

/* Welford's running count, mean and sum of squared deviations. */
struct moments {
	double n, mean, m2;
};

static void
moments_add(struct moments *m, double x)
{
	double dx = x - m->mean;

	m->n += 1;
	m->mean += dx / m->n;
	m->m2 += dx * (x - m->mean);
}

/* a += b (Chan, Golub and LeVeque's pairwise update). */
static void
moments_merge(struct moments *a, const struct moments *b)
{
	double n, dx;

	if (b->n == 0)
		return;
	if (a->n == 0) {
		*a = *b;
		return;
	}
	n = a->n + b->n;
	dx = b->mean - a->mean;
	a->mean += dx * (b->n / n);
	a->m2 += b->m2 + dx * dx * (a->n * (b->n / n));
	a->n = n;
}

/*
 * Empirical-Bernstein half-width (Maurer and Pontil 2009, Theorem 4), two
 * sided at total failure probability delta, for values in a range of length
 * r: see "Confidence intervals" in the header.
 */
static double
eb_half_width(const struct moments *m, double r, double delta)
{
	double l = log(4 / delta), var;

	if (m->n < 2)
		return INFINITY;
	var = m->m2 / (m->n - 1);
	if (var < 0)
		var = 0;
	return sqrt(2 * var * l / m->n) + 7 * r * l / (3 * (m->n - 1));
}

/* ------------------------------------------------------------------------
 * Random words: SHA-256 in counter mode (see "Sampling" in the header) */

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* words[0..nw) of sample k. */
static void
sample_words(const char *tag, const unsigned char seed[DML_SHAPLEY_SEED_LEN], uint64_t k,
    uint64_t *words, size_t nw)
{
	unsigned char msg[64 + DML_SHAPLEY_SEED_LEN + 16], h[DML_SHA256_LEN];
	size_t tl = strlen(tag), w, j;

	memcpy(msg, tag, tl);
	memcpy(msg + tl, seed, DML_SHAPLEY_SEED_LEN);
	put_le64(msg + tl + DML_SHAPLEY_SEED_LEN, k);
	for (w = 0; w < nw; w += 4) {
		put_le64(msg + tl + DML_SHAPLEY_SEED_LEN + 8, (uint64_t)(w / 4));
		dml_sha256(h, msg, tl + DML_SHAPLEY_SEED_LEN + 16);
		for (j = 0; j < 4 && w + j < nw; j++)
			words[w + j] = get_le64(h + 8 * j);
	}
}

/* ------------------------------------------------------------------------
 * Running units on threads */

struct run;
typedef const struct dml_error *unit_fn(struct run *r, size_t unit, void *state);

struct run {
	const struct dml_game *game;
	void *ctx;		/* the method's */
	unit_fn *fn;
	size_t units;
	atomic_size_t next;
	atomic_int stop;
};

struct worker {
	struct run *run;
	void *state;
	size_t failed;		/* the unit that failed, or SIZE_MAX */
	struct dml_error err;	/* kept: errors live in the failing thread's ring */
};

static void *
worker_loop(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	const struct dml_error *err;
	size_t u;

	while (!atomic_load(&r->stop) && (u = atomic_fetch_add(&r->next, 1)) < r->units)
		if ((err = r->fn(r, u, w->state)) != NULL) {
			dml_error_keep(&w->err, err);
			w->failed = u;
			atomic_store(&r->stop, 1);
		}
	return NULL;
}

static unsigned
thread_count(unsigned threads)
{
	long cores;

	if (threads == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 0 && cores < 1024 ? (unsigned)cores : 1;
	}
	return threads;
}

/*
 * Run fn over `units` units on up to `threads` threads, the calling one
 * included, each with its own game state.  A thread that cannot be started
 * is no error: the others do its share.  On failure, the error of the
 * lowest-numbered unit that failed.
 */
static const struct dml_error *
run_units(const struct dml_game *game, unit_fn *fn, void *ctx, size_t units,
    unsigned threads)
{
	const struct dml_error *err = NULL;
	struct run r;
	struct worker *w = NULL;
	pthread_t *tids = NULL;
	size_t t, nt, started = 0, best;

	if (units == 0)
		return NULL;
	threads = thread_count(threads);
	nt = threads < units ? threads : units;
	if ((w = calloc(nt, sizeof(*w))) == NULL || (tids = calloc(nt, sizeof(*tids))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	r.game = game;
	r.ctx = ctx;
	r.fn = fn;
	r.units = units;
	atomic_init(&r.next, 0);
	atomic_init(&r.stop, 0);
	for (t = 0; t < nt; t++) {
		w[t].run = &r;
		w[t].failed = SIZE_MAX;
		if ((err = game->ops->state_new(game->ctx, &w[t].state)) != NULL)
			goto done;
	}
	for (t = 1; t < nt; t++)
		if (pthread_create(&tids[started], NULL, worker_loop, &w[t]) == 0)
			started++;
	worker_loop(&w[0]);
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	best = SIZE_MAX;
	for (t = 0; t < nt; t++)
		if (w[t].failed < units && (best == SIZE_MAX || w[t].failed < w[best].failed))
			best = t;
	if (best != SIZE_MAX)
		err = dml_error_fmt(w[best].err.code, "%s", w[best].err.msg);
done:
	if (w != NULL)
		for (t = 0; t < nt; t++)
			if (w[t].state != NULL)
				game->ops->state_free(game->ctx, w[t].state);
	free(w);
	free(tids);
	return err;
}

/* The game's value, checked to be in [0, 1]. */
static const struct dml_error *
game_value(const struct dml_game *game, void *state, double *u)
{
	const struct dml_error *err;

	if ((err = game->ops->value(game->ctx, state, u)) != NULL)
		return err;
	if (!(*u >= 0 && *u <= 1))
		return dml_error_fmt(DML_ERR_VERIFY, "the utility of a coalition is %g, not a "
		    "number in [0, 1]", *u);
	return NULL;
}

const struct dml_error *
dml_game_value(const struct dml_game *game, const unsigned char *members, double *u)
{
	const struct dml_error *err;
	void *state = NULL;
	size_t i;

	*u = 0;
	if ((err = game->ops->state_new(game->ctx, &state)) != NULL)
		return err;
	for (i = 0; i < game->n && err == NULL; i++)
		if (members[i])
			err = game->ops->add(game->ctx, state, i);
	if (err == NULL)
		err = game_value(game, state, u);
	game->ops->state_free(game->ctx, state);
	return err;
}

/* u(empty) and u(N), for the reports of sampled methods. */
static const struct dml_error *
ends(const struct dml_game *game, double u[2])
{
	const struct dml_error *err;
	unsigned char *members;

	if ((members = calloc(game->n, 1)) == NULL)
		return dml_error_nomem();
	err = dml_game_value(game, members, &u[0]);
	memset(members, 1, game->n);
	if (err == NULL)
		err = dml_game_value(game, members, &u[1]);
	free(members);
	return err;
}

/* ------------------------------------------------------------------------
 * Exact methods: Gray-code enumeration */

struct exact_ctx {
	size_t n;
	unsigned log_block;
	const double *win;	/* coefficient of u(T) for members, by |T| */
	const double *wout;	/* and for non-members */
	double *part;		/* per block: n sums, then n corrections */
	double u_empty, u_full;
};

static const struct dml_error *
exact_unit(struct run *r, size_t unit, void *state)
{
	const struct dml_game *game = r->game;
	struct exact_ctx *c = r->ctx;
	const struct dml_error *err;
	size_t n = c->n, i, k = 0;
	uint32_t g, g0 = (uint32_t)unit << c->log_block, g1, t, bit, full;
	double *s = c->part + unit * 2 * n, *e = s + n, u, x;

	full = (uint32_t)((1ull << n) - 1);
	g1 = g0 + ((uint32_t)1 << c->log_block) - 1;	/* inclusive: 2^25 - 1 fits */
	memset(s, 0, 2 * n * sizeof(double));
	if ((err = game->ops->reset(game->ctx, state)) != NULL)
		return err;
	t = g0 ^ (g0 >> 1);
	for (i = 0; i < n; i++)
		if (t >> i & 1) {
			if ((err = game->ops->add(game->ctx, state, i)) != NULL)
				return err;
			k++;
		}
	for (g = g0;; g++) {
		if (g != g0) {
			/* The Gray code flips the lowest set bit of g. */
			i = (size_t)__builtin_ctz(g);
			bit = (uint32_t)1 << i;
			if (t & bit) {
				err = game->ops->remove(game->ctx, state, i);
				k--;
			} else {
				err = game->ops->add(game->ctx, state, i);
				k++;
			}
			if (err != NULL)
				return err;
			t ^= bit;
		}
		if ((err = game_value(game, state, &u)) != NULL)
			return err;
		if (t == 0)
			c->u_empty = u;
		if (t == full)
			c->u_full = u;
		/* Zero credits nothing: skipping it leaves the sums' bits alone. */
		if (u != 0)
			for (i = 0; i < n; i++) {
				x = (t >> i & 1 ? c->win[k] : c->wout[k]) * u;
				csum_add(&s[i], &e[i], x);
			}
		if (g == g1)
			break;
	}
	return NULL;
}

/* Shapley (banzhaf = 0) or Banzhaf values over all coalitions. */
static const struct dml_error *
exact(const struct dml_game *game, const struct dml_shapley_params *p, int banzhaf,
    struct dml_shapley_result *res)
{
	const struct dml_error *err;
	struct exact_ctx c;
	size_t n = game->n, i, k, b, blocks;
	double *w = NULL, binom, s, e;

	if (n > DML_SHAPLEY_EXACT_MAX_N)
		return dml_error_fmt(DML_ERR_USAGE, "%s values of %zu players would take 2^%zu "
		    "coalitions; exact values stop at %d players (use %s sampling)",
		    banzhaf ? "exact banzhaf" : "exact", n, n, DML_SHAPLEY_EXACT_MAX_N,
		    banzhaf ? "banzhaf with a number of samples, or permutation" : "permutation");
	memset(&c, 0, sizeof(c));
	c.n = n;
	c.log_block = n < EXACT_BLOCK_LOG ? (unsigned)n : EXACT_BLOCK_LOG;
	blocks = (size_t)1 << (n - c.log_block);
	w = malloc(2 * (n + 1) * sizeof(double));
	c.part = malloc(blocks * 2 * n * sizeof(double));
	if (w == NULL || c.part == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	c.win = w;
	c.wout = w + n + 1;
	/*
	 * Shapley: T of size k holding i is S + i for |S| = k - 1, weight
	 * w(k - 1); T without i is S itself, weight -w(k); w(k) = 1 / (n
	 * C(n - 1, k)), with the binomials exact in doubles (C(24, 12) < 2^22).
	 */
	binom = 1;	/* C(n - 1, k) */
	for (k = 0; k <= n; k++) {
		if (banzhaf) {
			w[k] = ldexp(1, -(int)(n - 1));
			w[n + 1 + k] = -w[k];
			continue;
		}
		w[n + 1 + k] = k < n ? -1 / ((double)n * binom) : 0;
		if (k < n)
			binom = binom * (double)(n - 1 - k) / (double)(k + 1);
	}
	if (!banzhaf) {
		w[0] = 0;
		for (k = 1; k <= n; k++)
			w[k] = -w[n + 1 + k - 1];
	}
	if ((err = run_units(game, exact_unit, &c, blocks, p->threads)) != NULL)
		goto done;
	for (i = 0; i < n; i++) {
		s = e = 0;
		for (b = 0; b < blocks; b++) {
			csum_add(&s, &e, c.part[b * 2 * n + i]);
			e += c.part[b * 2 * n + n + i];
		}
		res->value[i] = s + e;
		res->half_width[i] = 0;
	}
	res->u_empty = c.u_empty;
	res->u_full = c.u_full;
	res->evaluations = (uint64_t)1 << n;
done:
	free(w);
	free(c.part);
	return err;
}

/* ------------------------------------------------------------------------
 * Sampled methods */

/* Samples [first, first + count) of unit u, for `total` samples in `units` units. */
static void
unit_range(uint64_t total, size_t units, size_t u, uint64_t *first, uint64_t *count)
{
	uint64_t per = (total + units - 1) / units, a = per * u, b = a + per;

	if (b > total)
		b = total;
	*first = a < total ? a : total;
	*count = b > *first ? b - *first : 0;
}

static size_t
unit_count(uint64_t total)
{
	return total < MAX_SAMPLE_UNITS ? (size_t)total : MAX_SAMPLE_UNITS;
}

struct perm_ctx {
	size_t n, units;
	uint64_t pairs;
	const unsigned char *seed;
	struct moments *part;	/* per unit: n moments of the pair means */
	size_t scratch;		/* bytes per thread for the arrays below */
};

/* Walk pi forwards (dir 1) or backwards; mc[pi[j]] receives the marginals. */
static const struct dml_error *
perm_walk(const struct dml_game *game, void *state, const size_t *pi, size_t n, int forward,
    double *mc)
{
	const struct dml_error *err;
	double prev, cur;
	size_t j, i;

	if ((err = game->ops->reset(game->ctx, state)) != NULL)
		return err;
	if ((err = game_value(game, state, &prev)) != NULL)
		return err;
	for (j = 0; j < n; j++) {
		i = forward ? pi[j] : pi[n - 1 - j];
		if ((err = game->ops->add(game->ctx, state, i)) != NULL)
			return err;
		if ((err = game_value(game, state, &cur)) != NULL)
			return err;
		mc[i] = cur - prev;
		prev = cur;
	}
	return NULL;
}

static const struct dml_error *
perm_unit(struct run *r, size_t unit, void *state)
{
	struct perm_ctx *c = r->ctx;
	const struct dml_error *err = NULL;
	struct moments *m = c->part + unit * c->n;
	uint64_t first, count, k, *words = NULL, j64;
	size_t n = c->n, i, j, tmp, *pi = NULL;
	double *fw = NULL, *bw;

	unit_range(c->pairs, c->units, unit, &first, &count);
	memset(m, 0, n * sizeof(*m));
	words = malloc((n > 1 ? n - 1 : 1) * sizeof(*words));
	pi = malloc(n * sizeof(*pi));
	fw = malloc(2 * n * sizeof(*fw));
	if (words == NULL || pi == NULL || fw == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	bw = fw + n;
	for (k = first; k < first + count; k++) {
		sample_words(perm_tag, c->seed, k, words, n - 1);
		for (i = 0; i < n; i++)
			pi[i] = i;
		for (j = n - 1; j >= 1; j--) {
			/* floor(word * (j + 1) / 2^64): multiply-high. */
			j64 = (uint64_t)(((unsigned __int128)words[n - 1 - j] * (j + 1)) >> 64);
			tmp = pi[j];
			pi[j] = pi[j64];
			pi[j64] = tmp;
		}
		if ((err = perm_walk(r->game, state, pi, n, 1, fw)) != NULL ||
		    (err = perm_walk(r->game, state, pi, n, 0, bw)) != NULL)
			goto done;
		for (i = 0; i < n; i++)
			moments_add(&m[i], (fw[i] + bw[i]) / 2);
	}
done:
	free(words);
	free(pi);
	free(fw);
	return err;
}

static const struct dml_error *
permutation(const struct dml_game *game, const struct dml_shapley_params *p, double delta,
    struct dml_shapley_result *res)
{
	const struct dml_error *err;
	struct perm_ctx c;
	struct moments tot;
	uint64_t perms;
	size_t n = game->n, i, u;
	double ends_u[2];

	if (p->samples > 0) {
		if (p->samples > (UINT64_MAX >> 2))
			return dml_error_fmt(DML_ERR_USAGE, "%llu permutations are too many",
			    (unsigned long long)p->samples);
		perms = p->samples + (p->samples & 1);
	} else if ((err = dml_shapley_hoeffding(n, p->epsilon, delta, &perms)) != NULL) {
		return err;
	}
	memset(&c, 0, sizeof(c));
	c.n = n;
	c.pairs = perms / 2;
	c.units = unit_count(c.pairs);
	c.seed = p->seed;
	if ((c.part = calloc(c.units * n, sizeof(*c.part))) == NULL)
		return dml_error_nomem();
	err = run_units(game, perm_unit, &c, c.units, p->threads);
	if (err == NULL)
		err = ends(game, ends_u);
	if (err == NULL) {
		for (i = 0; i < n; i++) {
			memset(&tot, 0, sizeof(tot));
			for (u = 0; u < c.units; u++)
				moments_merge(&tot, &c.part[u * n + i]);
			res->value[i] = tot.mean;
			res->half_width[i] = eb_half_width(&tot, 2, delta);
		}
		res->u_empty = ends_u[0];
		res->u_full = ends_u[1];
		res->samples = perms;
		res->evaluations = c.pairs * 2 * (n + 1) + 2;
	}
	free(c.part);
	return err;
}

const struct dml_error *
dml_shapley_hoeffding(size_t n, double epsilon, double delta, uint64_t *permutations)
{
	double r = 2, m;

	*permutations = 0;
	if (n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no players");
	if (!(epsilon > 0) || !isfinite(epsilon))
		return dml_error_fmt(DML_ERR_USAGE, "permutation sampling needs a number of "
		    "permutations or an accuracy epsilon > 0 (not %g)", epsilon);
	if (!(delta > 0 && delta < 1))
		return dml_error_fmt(DML_ERR_USAGE, "delta must be in (0, 1), not %g", delta);
	m = ceil(r * r * log(2 * (double)n / delta) / (2 * epsilon * epsilon));
	if (!(m <= 0x1p61))
		return dml_error_fmt(DML_ERR_USAGE, "epsilon %g and delta %g need %.3g "
		    "permutations: too many", epsilon, delta, 2 * m);
	*permutations = 2 * (uint64_t)m;
	return NULL;
}

struct banzhaf_ctx {
	size_t n, units, nw;
	uint64_t samples;
	const unsigned char *seed;
	struct moments *part;	/* per unit: n "in" moments, then n "out" */
};

static const struct dml_error *
banzhaf_unit(struct run *r, size_t unit, void *state)
{
	const struct dml_game *game = r->game;
	struct banzhaf_ctx *c = r->ctx;
	const struct dml_error *err = NULL;
	struct moments *in = c->part + unit * 2 * c->n, *out = in + c->n;
	uint64_t first, count, k, *words;
	size_t n = c->n, i;
	double u;

	unit_range(c->samples, c->units, unit, &first, &count);
	memset(in, 0, 2 * n * sizeof(*in));
	if ((words = malloc(c->nw * sizeof(*words))) == NULL)
		return dml_error_nomem();
	for (k = first; k < first + count; k++) {
		sample_words(banzhaf_tag, c->seed, k, words, c->nw);
		if ((err = game->ops->reset(game->ctx, state)) != NULL)
			break;
		for (i = 0; i < n && err == NULL; i++)
			if (words[i / 64] >> (i % 64) & 1)
				err = game->ops->add(game->ctx, state, i);
		if (err != NULL || (err = game_value(game, state, &u)) != NULL)
			break;
		for (i = 0; i < n; i++)
			moments_add(words[i / 64] >> (i % 64) & 1 ? &in[i] : &out[i], u);
	}
	free(words);
	return err;
}

static const struct dml_error *
banzhaf_msr(const struct dml_game *game, const struct dml_shapley_params *p, double delta,
    struct dml_shapley_result *res)
{
	const struct dml_error *err;
	struct banzhaf_ctx c;
	struct moments tin, tout;
	size_t n = game->n, i, u;
	double ends_u[2];

	memset(&c, 0, sizeof(c));
	c.n = n;
	c.nw = (n + 63) / 64;
	c.samples = p->samples;
	c.units = unit_count(c.samples);
	c.seed = p->seed;
	if ((c.part = calloc(c.units * 2 * n, sizeof(*c.part))) == NULL)
		return dml_error_nomem();
	err = run_units(game, banzhaf_unit, &c, c.units, p->threads);
	for (i = 0; i < n && err == NULL; i++) {
		memset(&tin, 0, sizeof(tin));
		memset(&tout, 0, sizeof(tout));
		for (u = 0; u < c.units; u++) {
			moments_merge(&tin, &c.part[u * 2 * n + i]);
			moments_merge(&tout, &c.part[u * 2 * n + n + i]);
		}
		if (tin.n == 0 || tout.n == 0)
			err = dml_error_fmt(DML_ERR_USAGE, "banzhaf: player %zu was %s of all %llu "
			    "sampled coalitions: sample more", i, tin.n == 0 ? "in none" : "in every one",
			    (unsigned long long)c.samples);
		res->value[i] = tin.mean - tout.mean;
		res->half_width[i] = eb_half_width(&tin, 1, delta / 2) +
		    eb_half_width(&tout, 1, delta / 2);
	}
	if (err == NULL)
		err = ends(game, ends_u);
	if (err == NULL) {
		res->u_empty = ends_u[0];
		res->u_full = ends_u[1];
		res->samples = c.samples;
		res->evaluations = c.samples + 2;
	}
	free(c.part);
	return err;
}

/* ------------------------------------------------------------------------
 * Leave-one-out and proportional: a few coalitions */

/*
 * Unit j < n evaluates N \ {j}, unit n evaluates N, unit n + 1 the empty
 * coalition; each from the empty state, players added in index order.
 */
struct few_ctx {
	size_t n;
	int ends_only;		/* proportional: units n and n + 1 only */
	double *u;		/* n + 2 */
};

static const struct dml_error *
few_unit(struct run *r, size_t unit, void *state)
{
	const struct dml_game *game = r->game;
	struct few_ctx *c = r->ctx;
	const struct dml_error *err;
	size_t i, which = c->ends_only ? c->n + unit : unit;

	if ((err = game->ops->reset(game->ctx, state)) != NULL)
		return err;
	if (which <= c->n)
		for (i = 0; i < c->n; i++)
			if (i != which && (err = game->ops->add(game->ctx, state, i)) != NULL)
				return err;
	return game_value(game, state, &c->u[which]);
}

static const struct dml_error *
few(const struct dml_game *game, const struct dml_shapley_params *p,
    struct dml_shapley_result *res)
{
	const struct dml_error *err;
	struct few_ctx c;
	size_t n = game->n, i;
	uint64_t total = 0;
	int prop = p->method == DML_SHAPLEY_PROPORTIONAL;

	if (prop) {
		if (p->counts == NULL)
			return dml_error_fmt(DML_ERR_USAGE, "proportional values need each "
			    "player's sample count");
		for (i = 0; i < n; i++) {
			if (p->counts[i] > UINT64_MAX - total)
				return dml_error_fmt(DML_ERR_USAGE, "the sample counts add up to "
				    "more than %llu", (unsigned long long)UINT64_MAX);
			total += p->counts[i];
		}
	}
	c.n = n;
	c.ends_only = prop;
	if ((c.u = calloc(n + 2, sizeof(*c.u))) == NULL)
		return dml_error_nomem();
	err = run_units(game, few_unit, &c, prop ? 2 : n + 2, p->threads);
	if (err == NULL) {
		res->u_full = c.u[n];
		res->u_empty = c.u[n + 1];
		for (i = 0; i < n; i++) {
			if (!prop)
				res->value[i] = c.u[n] - c.u[i];
			else if (total == 0)
				res->value[i] = 0;
			else
				res->value[i] = (double)p->counts[i] / (double)total *
				    (c.u[n] - c.u[n + 1]);
			res->half_width[i] = 0;
		}
		res->evaluations = prop ? 2 : n + 2;
	}
	free(c.u);
	return err;
}

/* ------------------------------------------------------------------------
 * The entry point */

const struct dml_error *
dml_shapley_compute(const struct dml_game *game, const struct dml_shapley_params *p,
    struct dml_shapley_result *res)
{
	const struct dml_error *err;
	struct dml_shapley_params defaults;
	size_t n = game->n;
	double delta;

	memset(res, 0, sizeof(*res));
	if (p == NULL) {
		dml_shapley_params_init(&defaults);
		p = &defaults;
	}
	if (n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no players to value");
	if ((unsigned)p->method >= DML_SHAPLEY_NMETHODS)
		return dml_error_fmt(DML_ERR_USAGE, "unknown contribution method %d",
		    (int)p->method);
	delta = p->delta == 0 ? 0.05 : p->delta;
	if (!(delta > 0 && delta < 1))
		return dml_error_fmt(DML_ERR_USAGE, "delta must be in (0, 1), not %g", p->delta);
	res->n = n;
	res->delta = delta;
	res->value = calloc(n, sizeof(double));
	res->half_width = calloc(n, sizeof(double));
	if (res->value == NULL || res->half_width == NULL) {
		dml_shapley_result_release(res);
		return dml_error_nomem();
	}
	switch (p->method) {
	case DML_SHAPLEY_EXACT:
		err = exact(game, p, 0, res);
		break;
	case DML_SHAPLEY_PERMUTATION:
		err = permutation(game, p, delta, res);
		break;
	case DML_SHAPLEY_BANZHAF:
		err = p->samples ? banzhaf_msr(game, p, delta, res) : exact(game, p, 1, res);
		break;
	default:
		err = few(game, p, res);
		break;
	}
	if (err != NULL)
		dml_shapley_result_release(res);
	return err;
}

/* ------------------------------------------------------------------------
 * The linear game */

/*
 * Entries of a player's statistics, in this order: the upper triangle of
 * X^T X row by row (j <= k), X^T y, y^T y.  Each entry is held as a pair
 * (hi, lo) of doubles on two fixed grids (see quantize), interleaved, so
 * that adding a player is one packed loop over 2m doubles.
 */
struct dml_linear_game {
	size_t n, d, tri, m;	/* m = tri + d + 1 entries */
	double *q;		/* n * 2m: players' statistics, (hi, lo) per entry */
	uint64_t *rows;		/* n */
	double lambda;
	size_t intercept;
	double *base;		/* d */
	double *aup;		/* tri: the validation set's X^T X, upper triangle packed */
	double *g;		/* d: its X^T y - A beta_V */
	double *beta_v;		/* d */
	double rss_v;		/* RSS_V(beta_V) */
	double rss0;		/* RSS_V(beta_0) */
};

struct lin_state {
	double *acc;		/* 2m: the coalition's (hi, lo) sums, exact */
	uint64_t rows;
	struct dml_suffstats s;
	double *beta, *t;	/* d each */
};

void
dml_linear_game_params_init(struct dml_linear_game_params *p)
{
	memset(p, 0, sizeof(*p));
	p->lambda = 1;
	p->intercept = DML_NO_INTERCEPT;
}

/* Entry k of s in the order above; off maps the triangle to xtx offsets. */
static double
stat_entry(const struct dml_suffstats *s, size_t k, size_t tri, const size_t *off)
{
	if (k < tri)
		return s->xtx[off[k]];
	return k - tri < s->d ? s->xty[k - tri] : s->yty;
}

/* Error-free product: a b = *p + *e exactly (fma is exact by definition). */
static void
two_prod(double a, double b, double *p, double *e)
{
	*p = a * b;
	*e = fma(a, b, -*p);
}

static const struct dml_error *
lin_state_new(void *ctx, void **statep)
{
	struct dml_linear_game *g = ctx;
	const struct dml_error *err;
	struct lin_state *st;

	*statep = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return dml_error_nomem();
	st->acc = calloc(2 * g->m, sizeof(*st->acc));
	st->beta = malloc(2 * g->d * sizeof(double));
	if (st->acc == NULL || st->beta == NULL) {
		free(st->acc);
		free(st->beta);
		free(st);
		return dml_error_nomem();
	}
	st->t = st->beta + g->d;
	if ((err = dml_suffstats_init(&st->s, g->d)) != NULL) {
		free(st->acc);
		free(st->beta);
		free(st);
		return err;
	}
	*statep = st;
	return NULL;
}

static void
lin_state_free(void *ctx, void *state)
{
	struct lin_state *st = state;

	if (st == NULL)
		return;
	dml_suffstats_release(&st->s);
	free(st->acc);
	free(st->beta);
	free(st);
}

static const struct dml_error *
lin_reset(void *ctx, void *state)
{
	struct dml_linear_game *g = ctx;
	struct lin_state *st = state;

	memset(st->acc, 0, 2 * g->m * sizeof(*st->acc));
	st->rows = 0;
	return NULL;
}

/*
 * acc += sign * q over 2m doubles.  Every partial sum lies on its grid and
 * below 2^53 grid units, so each addition is exact; written in pairs so
 * that the compiler packs them (addpd) at -O2.
 */
static void
lin_update(double *restrict acc, const double *restrict q, size_t m2, int add)
{
	size_t k;

	if (add) {
		for (k = 0; k < m2; k += 2) {
			acc[k] += q[k];
			acc[k + 1] += q[k + 1];
		}
	} else {
		for (k = 0; k < m2; k += 2) {
			acc[k] -= q[k];
			acc[k + 1] -= q[k + 1];
		}
	}
}

static const struct dml_error *
lin_add(void *ctx, void *state, size_t i)
{
	struct dml_linear_game *g = ctx;
	struct lin_state *st = state;

	lin_update(st->acc, g->q + i * 2 * g->m, 2 * g->m, 1);
	st->rows += g->rows[i];
	return NULL;
}

static const struct dml_error *
lin_remove(void *ctx, void *state, size_t i)
{
	struct dml_linear_game *g = ctx;
	struct lin_state *st = state;

	lin_update(st->acc, g->q + i * 2 * g->m, 2 * g->m, 0);
	st->rows -= g->rows[i];
	return NULL;
}

/*
 * t.A.t from the packed upper triangle of A: sum_j t_j (A_jj t_j + 2 sum_{k>j}
 * A_jk t_k), the inner sums with two accumulators (a fixed order, so the
 * same bits everywhere; half the work of a full product).
 */
static double
quad_form(const double *aup, const double *t, size_t d)
{
	const double *row = aup;
	double q = 0, s0, s1;
	size_t j, k;

	for (j = 0; j < d; j++) {
		s0 = 0;
		s1 = 0;
		for (k = j + 1; k + 1 < d; k += 2) {
			s0 += row[k - j] * t[k];
			s1 += row[k + 1 - j] * t[k + 1];
		}
		if (k < d)
			s0 += row[k - j] * t[k];
		q += t[j] * (row[0] * t[j] + 2 * (s0 + s1));
		row += d - j;
	}
	return q;
}

static const struct dml_error *
lin_value(void *ctx, void *state, double *u)
{
	struct dml_linear_game *g = ctx;
	struct lin_state *st = state;
	const struct dml_error *err;
	const double *acc = st->acc;
	size_t d = g->d, j, k, p = 0;
	double x, q, l, rss, *xtx = st->s.xtx, *t = st->t;

	*u = 0;
	if (st->rows == 0)
		return NULL;	/* the base model: u = 1 - RSS0 / RSS0 */
	/* Each statistic: its exact sum hi + lo, rounded once. */
	for (j = 0; j < d; j++) {
		for (k = j; k < d; k++, p += 2)
			xtx[j * d + k] = acc[p] + acc[p + 1];
		for (k = 0; k < j; k++)
			xtx[j * d + k] = xtx[k * d + j];
	}
	for (j = 0; j < d; j++, p += 2)
		st->s.xty[j] = acc[p] + acc[p + 1];
	st->s.yty = acc[p] + acc[p + 1];
	st->s.n = st->rows;
	if ((err = dml_suffstats_solve(&st->s, g->lambda, g->intercept, DML_SOLVE_NO_RCOND,
	    st->beta, NULL)) != NULL)
		return dml_error_wrap(err, "the model of a coalition");
	/* RSS_V(beta) = RSS_V(beta_V) + t.A.t - 2 t.g, t = beta - beta_V. */
	l = 0;
	for (j = 0; j < d; j++) {
		t[j] = st->beta[j] - g->beta_v[j];
		l += t[j] * g->g[j];
	}
	q = quad_form(g->aup, t, d);
	rss = g->rss_v + (q - 2 * l);
	if (isnan(rss))
		return dml_error_fmt(DML_ERR_VERIFY, "the validation error of a coalition's "
		    "model is not a number");
	if (rss < 0)
		rss = 0;
	x = 1 - rss / g->rss0;
	*u = x > 0 ? (x < 1 ? x : 1) : 0;
	return NULL;
}

static const struct dml_game_ops lin_ops = {
	lin_state_new, lin_state_free, lin_reset, lin_add, lin_remove, lin_value
};

void
dml_linear_game_free(struct dml_linear_game *g)
{
	if (g == NULL)
		return;
	free(g->q);
	free(g->rows);
	free(g->base);
	free(g->aup);
	free(g->g);
	free(g->beta_v);
	free(g);
}

void
dml_linear_game_game(struct dml_linear_game *g, struct dml_game *game)
{
	game->n = g->n;
	game->ctx = g;
	game->ops = &lin_ops;
}

const uint64_t *
dml_linear_game_rows(const struct dml_linear_game *g)
{
	return g->rows;
}

double
dml_linear_game_base_rss(const struct dml_linear_game *g)
{
	return g->rss0;
}

/* The number of bits of n: n < 2^bitlen(n). */
static int
bitlen(size_t n)
{
	int b = 0;

	while (n) {
		b++;
		n >>= 1;
	}
	return b;
}

/*
 * Put the players' statistics on grids where sums are exact (see "Exact
 * sums" in the header).  For entry k with M = sum_i |v_ik| < 2^ex:
 *   - hi_ik = v_ik rounded to a multiple of G = 2^(ex - 52): every sum of
 *     his is a multiple of G below 2^53 G in magnitude, so exact;
 *   - lo_ik = (v_ik - hi_ik) (exact: Sterbenz) rounded to a multiple of
 *     g = G 2^(c - 53), c = bitlen(n) + 1: |lo_ik| <= G / 2, so every sum of
 *     los is below n G / 2 < 2^53 g, exact too.
 * What is lost is below g / 2 per player, n g / 2 < 2^(2c - 106) M per
 * coalition.
 */
static const struct dml_error *
quantize(struct dml_linear_game *g, const struct dml_suffstats *const *players)
{
	const struct dml_error *err = NULL;
	size_t i, j, r, k, *off;
	double m, v, hi, lo;
	int ex, e, c = bitlen(g->n) + 1;
	uint64_t total = 0;

	for (i = 0; i < g->n; i++) {
		if (players[i]->n > UINT64_MAX - total)
			return dml_error_fmt(DML_ERR_USAGE, "the players' row counts add up to "
			    "more than %llu", (unsigned long long)UINT64_MAX);
		total += players[i]->n;
		g->rows[i] = players[i]->n;
	}
	if ((off = malloc(g->tri * sizeof(*off))) == NULL)
		return dml_error_nomem();
	for (j = 0, k = 0; j < g->d; j++)
		for (r = j; r < g->d; r++)
			off[k++] = j * g->d + r;
	for (k = 0; k < g->m; k++) {
		m = 0;
		for (i = 0; i < g->n; i++)
			m += fabs(stat_entry(players[i], k, g->tri, off));
		if (!isfinite(m) || m > 0x1p1000) {
			err = dml_error_fmt(DML_ERR_VERIFY, "the players' statistics add up to "
			    "more than 2^1000");
			break;
		}
		e = -900;	/* keeps g a normal double */
		if (m > 0) {
			frexp(m, &ex);
			if (ex - 52 > e)
				e = ex - 52;
		}
		for (i = 0; i < g->n; i++) {
			v = stat_entry(players[i], k, g->tri, off);
			hi = ldexp(round(ldexp(v, -e)), e) + 0.0;	/* + 0.0: no -0 */
			lo = ldexp(round(ldexp(v - hi, 53 - c - e)), e + c - 53) + 0.0;
			g->q[(i * g->m + k) * 2] = hi;
			g->q[(i * g->m + k) * 2 + 1] = lo;
		}
	}
	free(off);
	return err;
}

/* beta_V, RSS_V(beta_V), g = xty - A beta_V (double-double), RSS_V(beta_0). */
static const struct dml_error *
validation_terms(struct dml_linear_game *g, const struct dml_suffstats *v)
{
	const struct dml_error *err;
	size_t d = g->d, i, j, k;
	double hi, lo, p, e, s, bb;

	for (i = 0, k = 0; i < d; i++)
		for (j = i; j < d; j++)
			g->aup[k++] = v->xtx[i * d + j];
	if ((err = dml_suffstats_solve(v, 0, DML_NO_INTERCEPT, DML_SOLVE_DEFAULT, g->beta_v,
	    NULL)) != NULL)
		return dml_error_wrap(err, "the validation set's own fit");
	if ((err = dml_suffstats_rss(v, g->beta_v, &g->rss_v)) != NULL)
		return dml_error_wrap(err, "the validation set's own fit");
	for (i = 0; i < d; i++) {
		hi = v->xty[i];
		lo = 0;
		for (j = 0; j < d; j++) {
			two_prod(v->xtx[i * d + j], g->beta_v[j], &p, &e);
			/* (hi, lo) -= p + e: TwoSum on the leading parts. */
			s = hi - p;
			bb = s - hi;
			lo += ((hi - (s - bb)) + (-p - bb)) - e;
			hi = s;
		}
		g->g[i] = hi + lo;
	}
	if ((err = dml_suffstats_rss(v, g->base, &g->rss0)) != NULL)
		return dml_error_wrap(err, "the base model");
	if (!(g->rss0 > 0))
		return dml_error_fmt(DML_ERR_USAGE, "the base model fits the validation set "
		    "exactly (error 0): no coalition can improve on it, utilities are undefined");
	return NULL;
}

const struct dml_error *
dml_linear_game_new(struct dml_linear_game **gp, const struct dml_suffstats *const *players,
    size_t n, const struct dml_suffstats *validation, const struct dml_linear_game_params *p)
{
	const struct dml_error *err = NULL;
	struct dml_linear_game_params defaults;
	struct dml_linear_game *g = NULL;
	size_t d = validation->d, i;

	*gp = NULL;
	if (p == NULL) {
		dml_linear_game_params_init(&defaults);
		p = &defaults;
	}
	if (n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "no players");
	if ((err = dml_suffstats_validate(validation)) != NULL)
		return dml_error_wrap(err, "validation set");
	if (validation->n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "the validation set has no rows");
	if (!(p->lambda >= 0) || !isfinite(p->lambda))
		return dml_error_fmt(DML_ERR_USAGE, "the penalty must be a finite number >= 0, "
		    "not %g", p->lambda);
	if (p->intercept != DML_NO_INTERCEPT && p->intercept >= d)
		return dml_error_fmt(DML_ERR_USAGE, "intercept column %zu is out of range "
		    "(%zu columns)", p->intercept, d);
	for (i = 0; i < n; i++) {
		if (players[i]->d != d)
			return dml_error_fmt(DML_ERR_USAGE, "player %zu has %zu columns, the "
			    "validation set %zu", i, players[i]->d, d);
		if ((err = dml_suffstats_validate(players[i])) != NULL)
			return dml_error_wrap(err, "player %zu", i);
	}
	if (p->base != NULL)
		for (i = 0; i < d; i++)
			if (!isfinite(p->base[i]))
				return dml_error_fmt(DML_ERR_USAGE, "base model coefficient %zu is "
				    "not finite", i);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return dml_error_nomem();
	g->n = n;
	g->d = d;
	g->tri = d * (d + 1) / 2;
	g->m = g->tri + d + 1;
	g->lambda = p->lambda;
	g->intercept = p->intercept;
	if (g->m > SIZE_MAX / (2 * sizeof(double)) / n) {
		err = dml_error_nomem();
		goto done;
	}
	g->q = malloc(n * 2 * g->m * sizeof(*g->q));
	g->rows = malloc(n * sizeof(*g->rows));
	g->base = calloc(d, sizeof(*g->base));
	g->aup = malloc(g->tri * sizeof(*g->aup));
	g->g = malloc(d * sizeof(*g->g));
	g->beta_v = malloc(d * sizeof(*g->beta_v));
	if (g->q == NULL || g->rows == NULL || g->base == NULL || g->aup == NULL ||
	    g->g == NULL || g->beta_v == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if (p->base != NULL)
		memcpy(g->base, p->base, d * sizeof(*g->base));
	if ((err = quantize(g, players)) != NULL)
		goto done;
	if ((err = validation_terms(g, validation)) != NULL)
		goto done;
	*gp = g;
	g = NULL;
done:
	dml_linear_game_free(g);
	return err;
}
