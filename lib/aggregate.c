/*
 * aggregate.c - aggregation rules of federated rounds, and the Gaussian
 * mechanism and its accountant (see dml/aggregate.h).
 *
 * Design notes.
 *
 * Determinism comes from giving every output value one fixed recipe.
 * Threads split the work into units (blocks of coordinates, or tiles of
 * pairs for the distance matrix) taken from a shared counter; a unit's
 * result does not depend on which thread runs it or when, so any number of
 * threads gives the bits that one thread gives.  The only sums whose shape
 * depends on a blocking constant are the squared distances (a partial sum
 * per block of DIST_CB coordinates, four interleaved accumulators within a
 * block); DIST_CB is a constant, never derived from the machine.
 *
 * Order statistics are values, not positions: the k-th smallest of a column
 * is the same double whichever algorithm finds it (with -0 read as +0), so
 * median and the trimmed window may use any method, and do: a selection
 * network for small n, introselect or introsort beyond (see the sections
 * below for why each).  No input, however adversarial, costs more than
 * O(n log n) per coordinate.  Sums over a column run over its values sorted,
 * so they depend only on the multiset.
 *
 * Memory traffic and branch mispredictions are what bound fedavg and median
 * at large n * d.  Both walk the updates in blocks of coordinates: fedavg
 * keeps a block's running sums in L1 while it streams each update's slice
 * once; the network copies a block of rows into L1 and works on whole rows;
 * introselect transposes a block into columns that fit in L2.  The inner
 * loops are SSE2 where there is SSE2 (same bits as the scalar loops).
 * Non-finite input is not checked in a separate pass: it poisons the sums
 * (and is caught while a block is copied), and only then is the input
 * scanned again to name the first bad value.
 *
 * The Krum family works from one matrix of squared distances and, per
 * update, its neighbours sorted by (distance, index).  A Krum score is then
 * the sum of the first k entries of that list that are still in play, in
 * ascending order, which makes Bulyan's repeated re-scoring O(n^2) per pick
 * instead of a sort per update per pick.
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

#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif

#include "crypto.h"
#include "dml/aggregate.h"
#include "dml/error.h"

/* Coordinates per fedavg unit: two arrays of this many doubles stay in L1. */
#define FEDAVG_BLOCK 1024
/* Doubles in a transposed block of columns (median, trimmed-mean, bulyan): 256 KiB. */
#define COLUMN_DOUBLES 32768
#define COLUMN_MAX_BLOCK 256
/*
 * Median and trimmed-mean of at most this many updates go through a
 * selection network; more, through introselect (median) or introsort
 * (trimmed-mean) on transposed columns.  Measured, ns a value, median: the
 * network 1 at n = 10, 4.6 at 64, 6.2 at 100, 7.3 at 128; introselect with
 * its transposition 7.5 at 64, 6.4 at 100, 7.0 at 128, 4.4 at 256.
 * Trimmed-mean: the network 7.3 at 100 and 18.5 at 1000, introsort 22.6 and
 * 30.9 (it sorts the whole column, the network only what the window needs).
 */
#define MEDIAN_NETWORK_MAX_N 100
#define TRIMMED_NETWORK_MAX_N 1024
/* Doubles in a network's block of rows: 24 KiB, within L1. */
#define NETWORK_DOUBLES 3072
/* Coordinates per partial sum of a squared distance.  Part of the result: never change. */
#define DIST_CB 512
/* Rows per tile of the distance matrix: a tile's slices stay in L2. */
#define DIST_TILE 32
/* Ranges this short are finished by insertion sort. */
#define SMALL_RANGE 16

static const char *const rule_names[DML_AGG_NRULES] = {
	"fedavg", "median", "trimmed-mean", "krum", "multi-krum", "bulyan"
};

const char *
dml_agg_rule_name(enum dml_agg_rule rule)
{
	return (unsigned)rule < DML_AGG_NRULES ? rule_names[rule] : "unknown";
}

const struct dml_error *
dml_agg_rule_parse(const char *s, enum dml_agg_rule *rule)
{
	unsigned r;

	for (r = 0; r < DML_AGG_NRULES; r++)
		if (strcmp(s, rule_names[r]) == 0) {
			*rule = (enum dml_agg_rule)r;
			return NULL;
		}
	return dml_error_fmt(DML_ERR_USAGE, "unknown aggregation rule '%s' (fedavg, median, "
	    "trimmed-mean, krum, multi-krum or bulyan)", s);
}

void
dml_agg_params_init(struct dml_agg_params *p)
{
	memset(p, 0, sizeof(*p));
	p->beta = 0.2;
}

/* ------------------------------------------------------------------------
 * Parameters */

/* The message for the first condition in `outside`, for strict mode. */
static const struct dml_error *
strict_error(const struct dml_agg_plan *plan, const struct dml_agg_params *p)
{
	const char *name = dml_agg_rule_name(plan->rule);
	unsigned o = plan->outside;

	if (o & DML_AGG_OUT_FEDAVG_F)
		return dml_error_fmt(DML_ERR_USAGE, "fedavg cannot tolerate f = %u byzantine "
		    "updates: any one update can move the average anywhere (strict)", p->f);
	if (o & DML_AGG_OUT_MEDIAN_F)
		return dml_error_fmt(DML_ERR_USAGE, "median of %zu updates cannot tolerate f = %u "
		    "byzantine updates: it needs n > 2f (strict)", plan->n, p->f);
	if (o & DML_AGG_OUT_TRIM_HALF)
		return dml_error_fmt(DML_ERR_USAGE, "trimmed-mean with beta %g: the fraction cut "
		    "from each end must be below 0.5 (strict)", p->beta);
	if (o & DML_AGG_OUT_TRIM_F)
		return dml_error_fmt(DML_ERR_USAGE, "trimmed-mean with beta %g cuts %zu of %zu values "
		    "from each end, fewer than f = %u byzantine updates (strict)", p->beta,
		    plan->trim, plan->n, p->f);
	if (o & DML_AGG_OUT_KRUM_N)
		return dml_error_fmt(DML_ERR_USAGE, "%s of %zu updates cannot tolerate f = %u "
		    "byzantine updates: it needs n > 2f + 2 = %llu (strict)", name, plan->n, p->f,
		    2ULL * p->f + 2);
	if (o & DML_AGG_OUT_SELECT)
		return dml_error_fmt(DML_ERR_USAGE, "multi-krum selecting m = %u of %zu updates with "
		    "f = %u: m must be at most n - f (strict)", p->m, plan->n, p->f);
	return dml_error_fmt(DML_ERR_INTERNAL, "%s: unknown condition %#x", name, o);
}

const struct dml_error *
dml_agg_plan(enum dml_agg_rule rule, const struct dml_agg_params *p, size_t n,
    struct dml_agg_plan *plan)
{
	struct dml_agg_params defaults;
	uint64_t f;
	double cut;

	if (p == NULL) {
		dml_agg_params_init(&defaults);
		p = &defaults;
	}
	memset(plan, 0, sizeof(*plan));
	plan->rule = rule;
	plan->n = n;
	plan->select = n;
	f = p->f;
	if ((unsigned)rule >= DML_AGG_NRULES)
		return dml_error_fmt(DML_ERR_USAGE, "unknown aggregation rule %d", (int)rule);
	if (n == 0)
		return dml_error_fmt(DML_ERR_USAGE, "%s: no updates to aggregate",
		    dml_agg_rule_name(rule));
	switch (rule) {
	case DML_AGG_FEDAVG:
		if (f > 0)
			plan->outside |= DML_AGG_OUT_FEDAVG_F;
		break;
	case DML_AGG_MEDIAN:
		if (f > 0 && 2 * f >= n)
			plan->outside |= DML_AGG_OUT_MEDIAN_F;
		break;
	case DML_AGG_TRIMMED_MEAN:
		if (!isfinite(p->beta) || p->beta < 0)
			return dml_error_fmt(DML_ERR_USAGE, "trimmed-mean: beta %g is not a "
			    "fraction in [0, 0.5)", p->beta);
		/* Python's int(beta * n): the rounded product, truncated. */
		cut = p->beta * (double)n;
		if (cut >= (double)n)
			cut = (double)n;
		plan->trim = (size_t)cut;
		if (plan->trim >= n - plan->trim)
			return dml_error_fmt(DML_ERR_USAGE, "trimmed-mean with beta %g cuts %zu of "
			    "%zu values from each end: nothing is left", p->beta, plan->trim, n);
		plan->select = n;
		if (p->beta >= 0.5)
			plan->outside |= DML_AGG_OUT_TRIM_HALF;
		if (plan->trim < f)
			plan->outside |= DML_AGG_OUT_TRIM_F;
		break;
	case DML_AGG_KRUM:
	case DML_AGG_MULTI_KRUM:
		if (n <= 2 * f + 2)
			plan->outside |= DML_AGG_OUT_KRUM_N;
		/* Flower: max(1, n - f - 2); and there are only n - 1 others. */
		plan->neighbours = n > f + 3 ? n - f - 2 : 1;
		if (plan->neighbours > n - 1)
			plan->neighbours = n - 1;
		if (rule == DML_AGG_KRUM) {
			plan->select = 1;
			break;
		}
		plan->select = p->m ? p->m : (n > f ? n - f : 1);
		if (n <= f || plan->select > n - f)
			plan->outside |= DML_AGG_OUT_SELECT;
		if (plan->select > n)
			plan->select = n;
		break;
	case DML_AGG_BULYAN:
		if (n < 4 * f + 3)
			return dml_error_fmt(DML_ERR_USAGE, "bulyan needs at least 4f + 3 = %llu "
			    "updates to tolerate f = %u byzantine updates, not %zu",
			    (unsigned long long)(4 * f + 3), p->f, n);
		plan->neighbours = n - f - 2;
		plan->select = n - 2 * f;
		plan->closest = n - 4 * f;
		break;
	}
	if (p->strict && plan->outside)
		return strict_error(plan, p);
	return NULL;
}

void
dml_agg_result_release(struct dml_agg_result *res)
{
	free(res->used);
	free(res->score);
	free(res->rank);
	memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------------------
 * Sorting and selection
 *
 * Two flavours: plain doubles (values), and index arrays ordered by a key
 * array with ties broken by index (a strict total order, so every correct
 * algorithm gives the same answer).
 *
 * Values are partitioned without branches on the data (Lomuto's scheme with
 * the swap done unconditionally and the boundary advanced by the comparison's
 * result), because columns of model weights are close to random and a
 * branch on each comparison would be mispredicted half the time: this is 2
 * to 4 times faster than Hoare's scheme at n = 100 to 1000.  Runs of equal
 * values are split off by a second pass with <= whenever a pivot turns out
 * to be the smallest value left, so that duplicates cannot make it
 * quadratic; a heapsort takes over when partitions stop shrinking, so no
 * input costs more than O(n log n).  Index arrays (neighbour lists, Bulyan's
 * closest values) keep median-of-three Hoare partitioning: their keys are
 * distinct and they are not on any hot path.
 */

static void
dswap(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

static void
insertion_sort(double *a, size_t n)
{
	size_t i, j;
	double v;

	for (i = 1; i < n; i++) {
		v = a[i];
		for (j = i; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

static void
sift_down(double *a, size_t root, size_t n)
{
	size_t child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (!(a[child] > a[root]))
			return;
		dswap(&a[root], &a[child]);
		root = child;
	}
}

static void
heap_sort(double *a, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (i = n; i-- > 1;) {
		dswap(&a[0], &a[i]);
		sift_down(a, 0, i);
	}
}

static double
median3(double x, double y, double z)
{
	if (x > y)
		dswap(&x, &y);
	return z <= x ? x : z >= y ? y : z;
}

/* A pivot value: the median of 3 samples, of 3 medians of 3 (Tukey's ninther) from 128 on. */
static double
pivot_of(const double *a, size_t n)
{
	size_t q = n / 8;

	if (n < 128)
		return median3(a[0], a[n / 2], a[n - 1]);
	return median3(median3(a[0], a[q], a[2 * q]), median3(a[n / 2 - q], a[n / 2],
	    a[n / 2 + q]), median3(a[n - 1 - 2 * q], a[n - 1 - q], a[n - 1]));
}

/* Move the values < p to the front of a[0..n); return how many there are. */
static size_t
part_less(double *a, size_t n, double p)
{
	size_t i = 0, j;
	double t;

	for (j = 0; j < n; j++) {
		t = a[j];
		a[j] = a[i];
		a[i] = t;
		i += t < p;
	}
	return i;
}

/* Move the values <= p to the front of a[0..n); return how many there are. */
static size_t
part_less_eq(double *a, size_t n, double p)
{
	size_t i = 0, j;
	double t;

	for (j = 0; j < n; j++) {
		t = a[j];
		a[j] = a[i];
		a[i] = t;
		i += t <= p;
	}
	return i;
}

/* Partitions allowed before falling back to heapsort: 2 log2(n) + 4. */
static unsigned
depth_budget(size_t n)
{
	unsigned b = 4;

	while (n > 1) {
		n >>= 1;
		b += 2;
	}
	return b;
}

/*
 * Split a[0..n) around a pivot value p taken from it: a[0..*lo) < p and
 * a[*lo..n) >= p, *hi = *lo; except when nothing is below p, when the run
 * equal to p is split off: a[0..*hi) == p < a[*hi..n), *lo = 0.  Either way
 * both sides are smaller than n.
 */
static void
split(double *a, size_t n, size_t *lo, size_t *hi)
{
	double p = pivot_of(a, n);

	*lo = *hi = part_less(a, n, p);
	if (*lo == 0)
		*hi = part_less_eq(a, n, p);
}

/* Move the k-th smallest of a[0..n) to a[k], smaller ones before it, larger after. */
static void
select_kth(double *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n, l, h;
	unsigned budget = depth_budget(n);

	while (hi - lo > SMALL_RANGE) {
		if (budget-- == 0) {
			heap_sort(a + lo, hi - lo);
			return;
		}
		split(a + lo, hi - lo, &l, &h);
		if (k < lo + l) {
			hi = lo + l;
		} else if (k < lo + h) {
			return;		/* a[k] is in the run equal to the pivot */
		} else {
			lo += h;
		}
	}
	insertion_sort(a + lo, hi - lo);
}

static void
sort_rec(double *a, size_t n, unsigned budget)
{
	size_t l, h;

	while (n > SMALL_RANGE) {
		if (budget-- == 0) {
			heap_sort(a, n);
			return;
		}
		split(a, n, &l, &h);
		/* Recurse into the smaller side, loop on the larger: O(log n) stack. */
		if (l < n - h) {
			sort_rec(a, l, budget);
			a += h;
			n -= h;
		} else {
			sort_rec(a + h, n - h, budget);
			n = l;
		}
	}
	insertion_sort(a, n);
}

static void
sort_doubles(double *a, size_t n)
{
	sort_rec(a, n, depth_budget(n));
}

/* Index order: key, then index. */
static int
ix_less(const double *key, uint32_t a, uint32_t b)
{
	return key[a] < key[b] || (key[a] == key[b] && a < b);
}

static void
ix_swap(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;

	*a = *b;
	*b = t;
}

static void
ix_insertion_sort(const double *key, uint32_t *ix, size_t n)
{
	size_t i, j;
	uint32_t v;

	for (i = 1; i < n; i++) {
		v = ix[i];
		for (j = i; j > 0 && ix_less(key, v, ix[j - 1]); j--)
			ix[j] = ix[j - 1];
		ix[j] = v;
	}
}

static void
ix_sift_down(const double *key, uint32_t *ix, size_t root, size_t n)
{
	size_t child;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && ix_less(key, ix[child], ix[child + 1]))
			child++;
		if (!ix_less(key, ix[root], ix[child]))
			return;
		ix_swap(&ix[root], &ix[child]);
		root = child;
	}
}

static void
ix_heap_sort(const double *key, uint32_t *ix, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		ix_sift_down(key, ix, i, n);
	for (i = n; i-- > 1;) {
		ix_swap(&ix[0], &ix[i]);
		ix_sift_down(key, ix, 0, i);
	}
}

/* As partition(), in index order (no two elements compare equal). */
static size_t
ix_partition(const double *key, uint32_t *ix, size_t n)
{
	size_t i = 1, j = n - 1;
	uint32_t pivot;

	ix_swap(&ix[n / 2], &ix[1]);
	if (ix_less(key, ix[n - 1], ix[0]))
		ix_swap(&ix[0], &ix[n - 1]);
	if (ix_less(key, ix[n - 1], ix[1]))
		ix_swap(&ix[1], &ix[n - 1]);
	if (ix_less(key, ix[1], ix[0]))
		ix_swap(&ix[0], &ix[1]);
	pivot = ix[1];
	for (;;) {
		do
			i++;
		while (ix_less(key, ix[i], pivot));
		do
			j--;
		while (ix_less(key, pivot, ix[j]));
		if (j < i)
			break;
		ix_swap(&ix[i], &ix[j]);
	}
	ix[1] = ix[j];
	ix[j] = pivot;
	return j;
}

/* Move the k + 1 smallest of ix[0..n) (index order) to ix[0..k], in some order. */
static void
ix_select(const double *key, uint32_t *ix, size_t n, size_t k)
{
	size_t lo = 0, hi = n, p;
	unsigned budget = depth_budget(n);

	while (hi - lo > SMALL_RANGE) {
		if (budget-- == 0) {
			ix_heap_sort(key, ix + lo, hi - lo);
			return;
		}
		p = lo + ix_partition(key, ix + lo, hi - lo);
		if (p == k)
			return;
		if (k < p)
			hi = p;
		else
			lo = p + 1;
	}
	ix_insertion_sort(key, ix + lo, hi - lo);
}

static void
ix_sort_rec(const double *key, uint32_t *ix, size_t n, unsigned budget)
{
	size_t p;

	while (n > SMALL_RANGE) {
		if (budget-- == 0) {
			ix_heap_sort(key, ix, n);
			return;
		}
		p = ix_partition(key, ix, n);
		if (p < n - p - 1) {
			ix_sort_rec(key, ix, p, budget);
			ix += p + 1;
			n -= p + 1;
		} else {
			ix_sort_rec(key, ix + p + 1, n - p - 1, budget);
			n = p;
		}
	}
	ix_insertion_sort(key, ix, n);
}

static void
ix_sort(const double *key, uint32_t *ix, size_t n)
{
	ix_sort_rec(key, ix, n, depth_budget(n));
}

/* Compensated sum of a[0..n) in order (TwoSum, Sum2), then divided by div. */
static double
compensated_mean(const double *a, size_t n, double div)
{
	double s = 0, c = 0, t, z;
	size_t i;

	for (i = 0; i < n; i++) {
		t = s + a[i];
		z = t - s;
		c += (s - (t - z)) + (a[i] - z);
		s = t;
	}
	return (s + c) / div;
}

/* ------------------------------------------------------------------------
 * Vector kernels
 *
 * Each lane of an SSE2 operation is the IEEE operation the scalar loop would
 * do, in the same order, so the vector and scalar paths (the latter for
 * machines without SSE2, and for the tails) give the same bits.  Written with
 * intrinsics because GCC's default -O2 vectorises none of these loops.
 */

/* s[j] + e[j] += w * x[j] for j < len: TwoSum, the rounding error kept in e[j]. */
static void
twosum_row(double *restrict s, double *restrict e, const double *restrict x, double w,
    size_t len)
{
	size_t j = 0;
	double pr, t, z;
#ifdef HAVE_SSE2
	__m128d vw = _mm_set1_pd(w), vp, vs, vt, vz;

	for (; j + 2 <= len; j += 2) {
		vp = _mm_mul_pd(vw, _mm_loadu_pd(x + j));
		vs = _mm_loadu_pd(s + j);
		vt = _mm_add_pd(vs, vp);
		vz = _mm_sub_pd(vt, vs);
		_mm_storeu_pd(e + j, _mm_add_pd(_mm_loadu_pd(e + j),
		    _mm_add_pd(_mm_sub_pd(vs, _mm_sub_pd(vt, vz)), _mm_sub_pd(vp, vz))));
		_mm_storeu_pd(s + j, vt);
	}
#endif
	for (; j < len; j++) {
		pr = w * x[j];
		t = s[j] + pr;
		z = t - s[j];
		e[j] += (s[j] - (t - z)) + (pr - z);
		s[j] = t;
	}
}

/* Compare-exchange two rows of a network block: a[b] = min, c[b] = max; n even. */
static void
minmax_rows(double *restrict a, double *restrict c, size_t n)
{
	size_t b = 0;
	double x, y;
#ifdef HAVE_SSE2
	__m128d vx, vy;

	for (; b < n; b += 2) {
		vx = _mm_load_pd(a + b);
		vy = _mm_load_pd(c + b);
		_mm_store_pd(a + b, _mm_min_pd(vx, vy));
		_mm_store_pd(c + b, _mm_max_pd(vx, vy));
	}
#endif
	for (; b < n; b++) {
		x = a[b];
		y = c[b];
		a[b] = y < x ? y : x;
		c[b] = y < x ? x : y;
	}
}

/*
 * dst[b] = src[b] + 0 for b < len (which turns -0 into +0: order statistics
 * are then values, whatever order the updates came in), zeros up to n;
 * nonzero when a source value is not finite.
 */
static int
copy_canonical(double *restrict dst, const double *restrict src, size_t len, size_t n)
{
	size_t b = 0;
	int bad = 0;
#ifdef HAVE_SSE2
	__m128d v, zero = _mm_setzero_pd(), poison = _mm_setzero_pd();
	double lanes[2];

	for (; b + 2 <= len; b += 2) {
		v = _mm_loadu_pd(src + b);
		poison = _mm_add_pd(poison, _mm_sub_pd(v, v));	/* NaN once anything is not finite */
		_mm_storeu_pd(dst + b, _mm_add_pd(v, zero));
	}
	_mm_storeu_pd(lanes, poison);
	bad = lanes[0] != 0 || lanes[1] != 0;
#endif
	for (; b < len; b++) {
		bad |= !isfinite(src[b]);
		dst[b] = src[b] + 0.0;
	}
	for (; b < n; b++)
		dst[b] = 0;
	return bad;
}

/* ------------------------------------------------------------------------
 * Work split across threads */

struct par;
/* Do one unit of work; nonzero means stop everybody (bad input found). */
typedef int par_fn(struct par *p, size_t unit, void *scratch);

struct par {
	par_fn *fn;
	void *ctx;
	size_t units;
	atomic_size_t next;
	atomic_int stop;
};

struct par_worker {
	struct par *par;
	void *scratch;
};

static void *
par_loop(void *arg)
{
	struct par_worker *w = arg;
	struct par *p = w->par;
	size_t u;

	while (!atomic_load(&p->stop) && (u = atomic_fetch_add(&p->next, 1)) < p->units)
		if (p->fn(p, u, w->scratch))
			atomic_store(&p->stop, 1);
	return NULL;
}

/*
 * Work that pays for starting one more thread: about 50 us of it, counted in
 * simple vector operations on one value (a read, a TwoSum, a compare-exchange
 * of a coordinate: roughly 0.3 to 0.5 ns each).
 */
#define PAR_MIN_WORK 131072

/*
 * Run fn over `units` units on up to `threads` threads (0: one per core), the
 * calling thread included, each with its own `scratch` bytes; `work` (see
 * PAR_MIN_WORK) limits the threads to what it can keep busy.  A thread
 * that cannot be started is no error: the others do its share.  *stopped is
 * set when a unit asked to stop.
 */
static const struct dml_error *
par_run(par_fn *fn, void *ctx, size_t units, unsigned threads, size_t scratch, size_t work,
    int *stopped)
{
	struct par p;
	struct par_worker *w = NULL;
	pthread_t *tids = NULL;
	char *mem = NULL;
	size_t t, nt, started = 0;
	long cores;

	*stopped = 0;
	if (units == 0)
		return NULL;
	if (threads == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cores > 0 && cores < 1024 ? (unsigned)cores : 1;
	}
	nt = threads < units ? threads : units;
	if (nt > 1 + work / PAR_MIN_WORK)
		nt = 1 + work / PAR_MIN_WORK;
	/* Scratch rounded up to keep every thread's area 64-byte aligned. */
	scratch = (scratch + 63) & ~(size_t)63;
	if ((w = calloc(nt, sizeof(*w))) == NULL || (tids = calloc(nt, sizeof(*tids))) == NULL ||
	    (scratch && (mem = aligned_alloc(64, nt * scratch)) == NULL)) {
		free(w);
		free(tids);
		return dml_error_nomem();
	}
	p.fn = fn;
	p.ctx = ctx;
	p.units = units;
	atomic_init(&p.next, 0);
	atomic_init(&p.stop, 0);
	for (t = 0; t < nt; t++) {
		w[t].par = &p;
		w[t].scratch = mem ? mem + t * scratch : NULL;
	}
	for (t = 1; t < nt; t++)
		if (pthread_create(&tids[started], NULL, par_loop, &w[t]) == 0)
			started++;
	par_loop(&w[0]);
	for (t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	*stopped = atomic_load(&p.stop);
	free(mem);
	free(tids);
	free(w);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Input checks */

/* The first non-finite value in index order, as an error; NULL if none. */
static const struct dml_error *
nonfinite_error(const double *const *x, size_t n, size_t d)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			if (!isfinite(x[i][j]))
				return dml_error_fmt(DML_ERR_VERIFY, "update %zu: coordinate %zu is "
				    "not a finite number (%s)", i, j, isnan(x[i][j]) ? "nan" :
				    x[i][j] > 0 ? "inf" : "-inf");
	return NULL;
}

/*
 * After an aggregation whose output may hold a non-finite value: the input's
 * fault if it has one, else an overflow of the result.
 */
static const struct dml_error *
check_output(enum dml_agg_rule rule, const double *const *x, size_t n, size_t d,
    const double *out)
{
	const struct dml_error *err;
	size_t j;

	for (j = 0; j < d; j++)
		if (!isfinite(out[j]))
			break;
	if (j == d)
		return NULL;
	if ((err = nonfinite_error(x, n, d)))
		return err;
	return dml_error_fmt(DML_ERR_VERIFY, "%s: the result overflows at coordinate %zu "
	    "(finite updates, but their sum exceeds the largest double)", dml_agg_rule_name(rule),
	    j);
}

/* ------------------------------------------------------------------------
 * fedavg (and the averaging step of multi-krum) */

struct fedavg_ctx {
	const double *const *x;
	const size_t *sel;	/* the updates averaged, in index order */
	size_t nsel;
	const double *w;	/* weight of update sel[q] (its sample count) */
	double total;
	size_t d;
	double *out;
};

static int
fedavg_unit(struct par *p, size_t unit, void *scratch)
{
	const struct fedavg_ctx *c = p->ctx;
	size_t j0 = unit * FEDAVG_BLOCK, len = c->d - j0, q, j;
	double *s = scratch, *e = s + FEDAVG_BLOCK;

	if (len > FEDAVG_BLOCK)
		len = FEDAVG_BLOCK;
	memset(s, 0, 2 * FEDAVG_BLOCK * sizeof(double));
	for (q = 0; q < c->nsel; q++)
		twosum_row(s, e, c->x[c->sel[q]] + j0, c->w[q], len);
	for (j = 0; j < len; j++)
		c->out[j0 + j] = (s[j] + e[j]) / c->total;
	return 0;
}

/* Weighted mean of the updates sel[0..nsel), by their counts. */
static const struct dml_error *
weighted_mean(enum dml_agg_rule rule, const double *const *x, size_t n, const uint64_t *counts,
    const size_t *sel, size_t nsel, size_t d, unsigned threads, double *out)
{
	struct fedavg_ctx c;
	const struct dml_error *err;
	double *w;
	uint64_t total = 0;
	size_t q;
	int stopped;

	for (q = 0; q < nsel; q++) {
		if (counts[sel[q]] > UINT64_MAX - total)
			return dml_error_fmt(DML_ERR_USAGE, "%s: the sample counts add up to more "
			    "than %llu", dml_agg_rule_name(rule), (unsigned long long)UINT64_MAX);
		total += counts[sel[q]];
	}
	if (total == 0)
		return dml_error_fmt(DML_ERR_USAGE, "%s: every update averaged has sample count "
		    "0: there is nothing to weigh", dml_agg_rule_name(rule));
	if ((w = malloc(nsel * sizeof(*w))) == NULL)
		return dml_error_nomem();
	for (q = 0; q < nsel; q++)
		w[q] = (double)counts[sel[q]];
	c.x = x;
	c.sel = sel;
	c.nsel = nsel;
	c.w = w;
	c.total = (double)total;
	c.d = d;
	c.out = out;
	err = par_run(fedavg_unit, &c, (d + FEDAVG_BLOCK - 1) / FEDAVG_BLOCK, threads,
	    2 * FEDAVG_BLOCK * sizeof(double), nsel * d, &stopped);
	free(w);
	return err ? err : check_output(rule, x, n, d, out);
}

/* ------------------------------------------------------------------------
 * Coordinate-wise rules: median, trimmed-mean, and Bulyan's second phase
 *
 * Two ways through a block of coordinates (a unit):
 *   - a selection network, for median of up to MEDIAN_NETWORK_MAX_N updates
 *     and trimmed-mean of up to TRIMMED_NETWORK_MAX_N: the block's rows are
 *     copied as they are (no
 *     transposition) and every comparator is a min and a max of two whole
 *     rows, SIMD across coordinates and free of branches.  The network is
 *     Batcher's odd-even merge sort on N = 2^p >= n inputs, less the
 *     comparators that touch padding (an input of +infinity would never
 *     move, so they are no-ops) and those that cannot reach the outputs
 *     wanted (the one or two middle rows, or the trimmed window), found by a
 *     backward pass.  For n = 100 that is 898 comparators, about 9 per value.
 *   - otherwise the rows used are transposed into columns, and each column
 *     goes through introselect (median), introsort (trimmed-mean) or
 *     bulyan_coordinate.
 * Both end in the same values: an order statistic is a value, and the
 * trimmed window is summed in ascending order with the same TwoSum either
 * way.
 */

struct column_ctx {
	enum dml_agg_rule rule;
	const double *const *x;
	size_t n;		/* all the updates, for error messages */
	const size_t *rows;	/* the updates used, in index order */
	size_t nrows;
	size_t d, block;
	/*
	 * Doubles from one row (network) or column (transposed) of the block
	 * to the next: kept off multiples of 64 bytes, because rows 4 KiB apart
	 * make loads wait on unrelated stores (4K aliasing) and columns at
	 * power-of-two strides crowd into a few cache sets.  Measured at n = 10,
	 * 2.5 ns a value with 2 KiB rows, 1 ns with padded ones.
	 */
	size_t stride;
	size_t trim;		/* trimmed-mean */
	size_t closest;		/* bulyan */
	const uint32_t *net;	/* comparators (a, c), a < c, in order; NULL: transpose */
	size_t nnet;
	double *out;
};

/* The comparators of the network for n inputs needed for sorted positions first..last. */
static const struct dml_error *
network_build(size_t n, size_t first, size_t last, uint32_t **netp, size_t *countp)
{
	size_t nn = 1, lg = 0, cap, m = 0, w, q, k, j, i;
	uint32_t *net;
	unsigned char *live;

	while (nn < n) {
		nn <<= 1;
		lg++;
	}
	/* Batcher's count for 2^lg inputs: (lg^2 - lg + 4) 2^(lg - 2) - 1. */
	cap = lg < 2 ? 1 : (lg * lg - lg + 4) * (nn / 4);
	if ((net = malloc(2 * cap * sizeof(*net))) == NULL || (live = calloc(n, 1)) == NULL) {
		free(net);
		return dml_error_nomem();
	}
	for (q = 1; q < nn; q <<= 1)
		for (k = q; k >= 1; k >>= 1)
			for (j = k % q; j + k < nn; j += 2 * k)
				for (i = 0; i < k && i + j + k < nn; i++)
					if ((i + j) / (2 * q) == (i + j + k) / (2 * q) && i + j + k < n) {
						net[2 * m] = (uint32_t)(i + j);
						net[2 * m + 1] = (uint32_t)(i + j + k);
						m++;
					}
	/* Backward: keep a comparator when a later one (or the output) reads either end. */
	for (i = first; i <= last; i++)
		live[i] = 1;
	for (q = m, w = m; q-- > 0;)
		if (live[net[2 * q]] || live[net[2 * q + 1]]) {
			live[net[2 * q]] = live[net[2 * q + 1]] = 1;
			w--;
			net[2 * w] = net[2 * q];
			net[2 * w + 1] = net[2 * q + 1];
		}
	memmove(net, net + 2 * w, 2 * (m - w) * sizeof(*net));
	free(live);
	*netp = net;
	*countp = m - w;
	return NULL;
}

/* (lo + hi) / 2, as numpy; lo / 2 + hi / 2 where lo + hi would overflow. */
static double
mid2(double lo, double hi)
{
	double m = (lo + hi) / 2;

	return isfinite(m) ? m : lo / 2 + hi / 2;
}

/*
 * The median of a[0..n), n >= 1, which it reorders: numpy's, the mean of
 * the two middle values for even n.
 */
static double
median_of(double *a, size_t n)
{
	size_t k = n / 2, i;
	double lo;

	select_kth(a, n, k);
	if (n % 2)
		return a[k];
	lo = a[0];
	for (i = 1; i < k; i++)
		if (a[i] > lo)
			lo = a[i];
	return mid2(lo, a[k]);
}

/* Unit scratch in bytes. */
static size_t
column_scratch(const struct column_ctx *c)
{
	size_t s = (c->net ? c->nrows : c->block) * c->stride * sizeof(double);

	if (c->net)
		s += 2 * c->block * sizeof(double);	/* trimmed-mean's sums */
	else if (c->rule == DML_AGG_BULYAN)
		s += c->nrows * (2 * sizeof(double) + sizeof(uint32_t));
	return s;
}

static int
network_unit(struct par *p, size_t unit, void *scratch)
{
	const struct column_ctx *c = p->ctx;
	size_t bl = c->block, st = c->stride, j0 = unit * bl, len = c->d - j0, m = c->nrows;
	size_t k = m / 2, q, b;
	double *w = scratch, *s = w + m * st, *e = s + bl;

	if (len > bl)
		len = bl;
	for (q = 0; q < m; q++)
		if (copy_canonical(w + q * st, c->x[c->rows[q]] + j0, len, bl))
			return 1;
	for (q = 0; q < c->nnet; q++)
		minmax_rows(w + c->net[2 * q] * st, w + c->net[2 * q + 1] * st, bl);
	if (c->rule == DML_AGG_MEDIAN) {
		for (b = 0; b < len; b++)
			c->out[j0 + b] = m % 2 ? w[k * st + b] : mid2(w[(k - 1) * st + b], w[k * st + b]);
		return 0;
	}
	memset(s, 0, 2 * bl * sizeof(double));
	for (q = c->trim; q < m - c->trim; q++)
		twosum_row(s, e, w + q * st, 1, len);
	for (b = 0; b < len; b++)
		c->out[j0 + b] = (s[b] + e[b]) / (double)(m - 2 * c->trim);
	return 0;
}

/*
 * Bulyan, one coordinate: the mean of the `closest` values nearest to the
 * median of v[0..m) (index order; ties to the lower index), summed sorted.
 */
static double
bulyan_coordinate(const double *v, size_t m, size_t closest, double *tmp, double *key,
    uint32_t *ix)
{
	size_t q;
	double med;

	memcpy(tmp, v, m * sizeof(double));
	med = median_of(tmp, m);
	if (closest < m) {
		for (q = 0; q < m; q++) {
			key[q] = fabs(v[q] - med);
			ix[q] = (uint32_t)q;
		}
		ix_select(key, ix, m, closest - 1);
		for (q = 0; q < closest; q++)
			tmp[q] = v[ix[q]];
	} else {
		memcpy(tmp, v, m * sizeof(double));
	}
	sort_doubles(tmp, closest);
	return compensated_mean(tmp, closest, (double)closest);
}

static int
column_unit(struct par *p, size_t unit, void *scratch)
{
	const struct column_ctx *c = p->ctx;
	size_t j0 = unit * c->block, len = c->d - j0, m = c->nrows, st = c->stride, q, b;
	double *col = scratch, *v, *tmp = NULL, *key = NULL;
	const double *row;
	uint32_t *ix = NULL;
	int bad = 0;

	if (len > c->block)
		len = c->block;
	/* Selection on a NaN could run off the end: check before sorting anything. */
	for (q = 0; q < m; q++) {
		row = c->x[c->rows[q]] + j0;
		for (b = 0; b < len; b++) {
			bad |= !isfinite(row[b]);
			col[b * st + q] = row[b] + 0.0;	/* -0 becomes +0, as in copy_canonical */
		}
	}
	if (bad)
		return 1;
	if (c->rule == DML_AGG_BULYAN) {
		tmp = col + st * c->block;
		key = tmp + m;
		ix = (uint32_t *)(key + m);
	}
	for (b = 0; b < len; b++) {
		v = col + b * st;
		switch (c->rule) {
		case DML_AGG_MEDIAN:
			c->out[j0 + b] = median_of(v, m);
			break;
		case DML_AGG_TRIMMED_MEAN:
			sort_doubles(v, m);
			c->out[j0 + b] = compensated_mean(v + c->trim, m - 2 * c->trim,
			    (double)(m - 2 * c->trim));
			break;
		default:
			c->out[j0 + b] = bulyan_coordinate(v, m, c->closest, tmp, key, ix);
			break;
		}
	}
	return 0;
}

static const struct dml_error *
columns(struct column_ctx *c, unsigned threads)
{
	const struct dml_error *err;
	uint32_t *net = NULL;
	size_t m = c->nrows;
	int stopped;

	if ((c->rule == DML_AGG_MEDIAN && m <= MEDIAN_NETWORK_MAX_N) ||
	    (c->rule == DML_AGG_TRIMMED_MEAN && m <= TRIMMED_NETWORK_MAX_N)) {
		if (c->rule == DML_AGG_MEDIAN)
			err = network_build(m, (m - 1) / 2, m / 2, &net, &c->nnet);
		else
			err = network_build(m, c->trim, m - c->trim - 1, &net, &c->nnet);
		if (err)
			return err;
		c->net = net;
		/* Rows of a multiple of 4 doubles: whole SSE2 pairs, 16-byte aligned. */
		c->block = (NETWORK_DOUBLES / m) & ~(size_t)3;
		if (c->block < 4)
			c->block = 4;
		if (c->block > COLUMN_MAX_BLOCK)
			c->block = COLUMN_MAX_BLOCK;
		c->stride = c->block % 8 == 4 ? c->block : c->block + 4;
	} else {
		c->block = COLUMN_DOUBLES / m;
		if (c->block < 1)
			c->block = 1;
		if (c->block > COLUMN_MAX_BLOCK)
			c->block = COLUMN_MAX_BLOCK;
		c->stride = m | 1;
	}
	/* A compare-exchange per comparator and coordinate; about 10 per value to select. */
	err = par_run(net ? network_unit : column_unit, c, (c->d + c->block - 1) / c->block,
	    threads, column_scratch(c), (net ? c->nnet + m : 10 * m) * c->d, &stopped);
	free(net);
	c->net = NULL;
	if (err)
		return err;
	if (stopped && (err = nonfinite_error(c->x, c->n, c->d)))
		return err;
	return check_output(c->rule, c->x, c->n, c->d, c->out);
}

/* ------------------------------------------------------------------------
 * Krum family: distances, neighbour lists, scores */

struct dist_ctx {
	const double *const *x;
	size_t n, d, tiles;
	double *dist;		/* n x n; the upper triangle is filled */
};

/*
 * sum over c < len of (a[c] - b[c])^2, with four accumulators taking
 * c = 0, 1, 2, 3 mod 4 in turn and added as (s0 + s1) + (s2 + s3): a fixed
 * recipe that leaves the processor four independent chains.
 */
static double
block_dist(const double *restrict a, const double *restrict b, size_t len)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0, t1, t2, t3;
	size_t c = 0;
#ifdef HAVE_SSE2
	/* Lanes (s0, s1) and (s2, s3): the same recipe, two operations at a time. */
	__m128d v01 = _mm_setzero_pd(), v23 = _mm_setzero_pd(), d01, d23;
	double lanes[4];

	for (; c + 4 <= len; c += 4) {
		d01 = _mm_sub_pd(_mm_loadu_pd(a + c), _mm_loadu_pd(b + c));
		d23 = _mm_sub_pd(_mm_loadu_pd(a + c + 2), _mm_loadu_pd(b + c + 2));
		v01 = _mm_add_pd(v01, _mm_mul_pd(d01, d01));
		v23 = _mm_add_pd(v23, _mm_mul_pd(d23, d23));
	}
	_mm_storeu_pd(lanes, v01);
	_mm_storeu_pd(lanes + 2, v23);
	s0 = lanes[0];
	s1 = lanes[1];
	s2 = lanes[2];
	s3 = lanes[3];
#endif
	for (; c + 4 <= len; c += 4) {
		t0 = a[c] - b[c];
		t1 = a[c + 1] - b[c + 1];
		t2 = a[c + 2] - b[c + 2];
		t3 = a[c + 3] - b[c + 3];
		s0 += t0 * t0;
		s1 += t1 * t1;
		s2 += t2 * t2;
		s3 += t3 * t3;
	}
	for (; c < len; c++) {
		t0 = a[c] - b[c];
		s0 += t0 * t0;
	}
	return (s0 + s1) + (s2 + s3);
}

/* Unit u is the tile pair (ta, tb), ta <= tb, in row-major order of the upper triangle. */
static int
dist_unit(struct par *p, size_t unit, void *scratch)
{
	const struct dist_ctx *c = p->ctx;
	size_t ta = 0, tb, i, j, i0, i1, j0, j1, c0, len;

	(void)scratch;
	while (unit >= c->tiles - ta) {
		unit -= c->tiles - ta;
		ta++;
	}
	tb = ta + unit;
	i0 = ta * DIST_TILE;
	i1 = i0 + DIST_TILE < c->n ? i0 + DIST_TILE : c->n;
	j0 = tb * DIST_TILE;
	j1 = j0 + DIST_TILE < c->n ? j0 + DIST_TILE : c->n;
	/* Blocks of coordinates outermost, so the two tiles' slices stay in cache. */
	for (c0 = 0; c0 < c->d; c0 += DIST_CB) {
		len = c->d - c0 < DIST_CB ? c->d - c0 : DIST_CB;
		for (j = j0; j < j1; j++)
			for (i = i0; i < i1 && i < j; i++)
				c->dist[i * c->n + j] += block_dist(c->x[i] + c0, c->x[j] + c0, len);
	}
	return 0;
}

/*
 * The squared distances (full, symmetric, zero diagonal) and, for each
 * update i, the other updates sorted by (distance to i, index):
 * nb[i * (n - 1) ..].
 */
static const struct dml_error *
distances(const double *const *x, size_t n, size_t d, unsigned threads, double **distp,
    uint32_t **nbp)
{
	struct dist_ctx c;
	const struct dml_error *err;
	double *dist;
	uint32_t *nb = NULL, *row;
	size_t i, j, r;
	int stopped;

	*distp = NULL;
	*nbp = NULL;
	if (n > UINT32_MAX || n > SIZE_MAX / sizeof(double) / n)
		return dml_error_fmt(DML_ERR_USAGE, "too many updates (%zu) for a distance matrix", n);
	if ((dist = calloc(n * n, sizeof(double))) == NULL ||
	    (n > 1 && (nb = malloc(n * (n - 1) * sizeof(uint32_t))) == NULL)) {
		free(dist);
		return dml_error_nomem();
	}
	c.x = x;
	c.n = n;
	c.d = d;
	c.tiles = (n + DIST_TILE - 1) / DIST_TILE;
	c.dist = dist;
	if ((err = par_run(dist_unit, &c, c.tiles * (c.tiles + 1) / 2, threads, 0,
	    n * n / 2 * d, &stopped))) {
		free(dist);
		free(nb);
		return err;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			dist[j * n + i] = dist[i * n + j];
	for (i = 0; i < n && n > 1; i++) {
		row = nb + i * (n - 1);
		for (j = 0, r = 0; j < n; j++)
			if (j != i)
				row[r++] = (uint32_t)j;
		ix_sort(dist + i * n, row, n - 1);
	}
	*distp = dist;
	*nbp = nb;
	return NULL;
}

/*
 * Krum score of update i among the updates with alive[j] set (all when alive
 * is NULL): the sum of its k nearest, nearest first.
 */
static double
krum_score(const double *dist, const uint32_t *nb, size_t n, size_t i, size_t k,
    const unsigned char *alive)
{
	const uint32_t *row;
	const double *di = dist + i * n;
	double s = 0;
	size_t r, taken = 0;

	if (n < 2)
		return 0;
	row = nb + i * (n - 1);
	for (r = 0; r < n - 1 && taken < k; r++)
		if (alive == NULL || alive[row[r]]) {
			s += di[row[r]];
			taken++;
		}
	return s;
}

/* Bulyan's re-scoring after a pick: units of SCORE_CHUNK updates. */
#define SCORE_CHUNK 32

struct score_ctx {
	const double *dist;
	const uint32_t *nb;
	const unsigned char *alive;
	size_t n, k;
	double *score;
};

static int
score_unit(struct par *p, size_t unit, void *scratch)
{
	const struct score_ctx *c = p->ctx;
	size_t i, end = (unit + 1) * SCORE_CHUNK < c->n ? (unit + 1) * SCORE_CHUNK : c->n;

	(void)scratch;
	for (i = unit * SCORE_CHUNK; i < end; i++)
		if (c->alive[i])
			c->score[i] = krum_score(c->dist, c->nb, c->n, i, c->k, c->alive);
	return 0;
}

static const struct dml_error *
krum_family(enum dml_agg_rule rule, const struct dml_agg_params *p,
    const struct dml_agg_plan *plan, const double *const *x, const uint64_t *counts,
    size_t n, size_t d, double *out, struct dml_agg_result *res)
{
	const struct dml_error *err;
	double *dist = NULL;
	uint32_t *nb = NULL, *ix = NULL;
	size_t *sel = NULL, i, r, nsel = 0;

	if ((err = distances(x, n, d, p->threads, &dist, &nb)))
		return err;
	if ((ix = malloc(n * sizeof(*ix))) == NULL || (sel = malloc(n * sizeof(*sel))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < n; i++) {
		res->score[i] = krum_score(dist, nb, n, i, plan->neighbours, NULL);
		ix[i] = (uint32_t)i;
	}
	ix_sort(res->score, ix, n);
	for (r = 0; r < n; r++) {
		res->rank[ix[r]] = r;
		if (r < plan->select)
			res->used[ix[r]] = 1;
	}
	for (i = 0; i < n; i++)
		if (res->used[i])
			sel[nsel++] = i;
	res->nused = nsel;
	if (rule == DML_AGG_KRUM)
		memcpy(out, x[ix[0]], d * sizeof(double));
	else
		err = weighted_mean(rule, x, n, counts, sel, nsel, d, p->threads, out);
done:
	free(dist);
	free(nb);
	free(ix);
	free(sel);
	return err;
}

static const struct dml_error *
bulyan(const struct dml_agg_params *p, const struct dml_agg_plan *plan,
    const double *const *x, size_t n, size_t d, double *out, struct dml_agg_result *res)
{
	struct column_ctx c;
	struct score_ctx sc;
	const struct dml_error *err;
	double *dist = NULL;
	uint32_t *nb = NULL;
	unsigned char *alive = NULL;
	size_t *sel = NULL, pick, i, bi, k, left, nsel = 0;
	uint64_t f = p->f;
	int stopped;

	if ((err = distances(x, n, d, p->threads, &dist, &nb)))
		return err;
	if ((alive = malloc(n)) == NULL || (sel = malloc(n * sizeof(*sel))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	memset(alive, 1, n);
	for (i = 0; i < n; i++)
		res->rank[i] = DML_AGG_NOT_PICKED;
	/*
	 * Repeated Krum among those left, as Flower's aggregate_bulyan.  The
	 * scores of a round are independent (threads may share them out); the
	 * choice is made here, in index order.
	 */
	sc.dist = dist;
	sc.nb = nb;
	sc.alive = alive;
	sc.n = n;
	sc.score = res->score;
	for (pick = 0, left = n; pick < plan->select; pick++, left--) {
		k = left > f + 3 ? left - f - 2 : 1;
		if (k > left - 1)
			k = left - 1;
		sc.k = k;
		if ((err = par_run(score_unit, &sc, (n + SCORE_CHUNK - 1) / SCORE_CHUNK,
		    p->threads, 0, left * k, &stopped)))
			goto done;
		for (i = 0, bi = n; i < n; i++)
			if (alive[i] && (bi == n || res->score[i] < res->score[bi]))
				bi = i;
		alive[bi] = 0;
		res->rank[bi] = pick;
		res->used[bi] = 1;
	}
	for (i = 0; i < n; i++)
		if (res->used[i])
			sel[nsel++] = i;
	res->nused = nsel;
	free(dist);
	free(nb);
	dist = NULL;
	nb = NULL;
	memset(&c, 0, sizeof(c));
	c.rule = DML_AGG_BULYAN;
	c.x = x;
	c.n = n;
	c.rows = sel;
	c.nrows = nsel;
	c.d = d;
	c.closest = plan->closest;
	c.out = out;
	err = columns(&c, p->threads);
done:
	free(dist);
	free(nb);
	free(alive);
	free(sel);
	return err;
}

/* ------------------------------------------------------------------------
 * The entry point */

const struct dml_error *
dml_aggregate(enum dml_agg_rule rule, const struct dml_agg_params *p,
    const double *const *updates, const uint64_t *counts, size_t n, size_t d, double *out,
    struct dml_agg_result *res)
{
	struct dml_agg_params defaults;
	struct dml_agg_result local;
	struct column_ctx c;
	const struct dml_error *err;
	size_t *all = NULL, i;
	int krumlike = rule == DML_AGG_KRUM || rule == DML_AGG_MULTI_KRUM ||
	    rule == DML_AGG_BULYAN;

	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (p == NULL) {
		dml_agg_params_init(&defaults);
		p = &defaults;
	}
	if ((err = dml_agg_plan(rule, p, n, &res->plan)))
		return err;
	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "%s: updates of 0 values", dml_agg_rule_name(rule));
	for (i = 0; i < n; i++)
		if (updates[i] == NULL)
			return dml_error_fmt(DML_ERR_USAGE, "%s: update %zu is missing",
			    dml_agg_rule_name(rule), i);
	if ((rule == DML_AGG_FEDAVG || rule == DML_AGG_MULTI_KRUM) && counts == NULL)
		return dml_error_fmt(DML_ERR_USAGE, "%s needs the sample counts",
		    dml_agg_rule_name(rule));
	res->n = n;
	if ((res->used = calloc(n, 1)) == NULL || (all = malloc(n * sizeof(*all))) == NULL ||
	    (krumlike && ((res->score = malloc(n * sizeof(double))) == NULL ||
	    (res->rank = malloc(n * sizeof(size_t))) == NULL))) {
		err = dml_error_nomem();
		goto done;
	}
	for (i = 0; i < n; i++)
		all[i] = i;
	/* The distance-based rules read everything n times: check once, first. */
	if (krumlike && (err = nonfinite_error(updates, n, d)))
		goto done;
	switch (rule) {
	case DML_AGG_FEDAVG:
		err = weighted_mean(rule, updates, n, counts, all, n, d, p->threads, out);
		break;
	case DML_AGG_MEDIAN:
	case DML_AGG_TRIMMED_MEAN:
		memset(&c, 0, sizeof(c));
		c.rule = rule;
		c.x = updates;
		c.n = n;
		c.rows = all;
		c.nrows = n;
		c.d = d;
		c.trim = res->plan.trim;
		c.out = out;
		err = columns(&c, p->threads);
		break;
	case DML_AGG_KRUM:
	case DML_AGG_MULTI_KRUM:
		err = krum_family(rule, p, &res->plan, updates, counts, n, d, out, res);
		break;
	case DML_AGG_BULYAN:
		err = bulyan(p, &res->plan, updates, n, d, out, res);
		break;
	}
	if (!err && !krumlike) {
		memset(res->used, 1, n);
		res->nused = n;
	}
done:
	free(all);
	if (err || res == &local)
		dml_agg_result_release(res);
	return err;
}

/* ------------------------------------------------------------------------
 * The generator: the ChaCha20 (RFC 8439) stream keyed by the seed, with
 * libsodium's randombytes_buf_deterministic nonce, so the stream equals
 * that function's output (the unit test checks it byte for byte); blocks
 * come one at a time from lib/crypto.c, the one doorway to libsodium.
 */

struct chacha {
	unsigned char key[DML_DP_SEED_LEN];
	uint32_t counter;
	unsigned char block[64];
	size_t used;		/* bytes of block consumed */
};

static void
chacha_refill(struct chacha *s)
{
	/* libsodium's randombytes_buf_deterministic nonce. */
	static const unsigned char nonce[12] = { 'L', 'i', 'b', 's', 'o', 'd', 'i', 'u', 'm',
		'D', 'R', 'G' };

	dml_chacha20_block(s->block, s->key, nonce, s->counter++);
	s->used = 0;
}

static void
chacha_init(struct chacha *s, const unsigned char seed[DML_DP_SEED_LEN])
{
	memcpy(s->key, seed, DML_DP_SEED_LEN);
	s->counter = 0;
	s->used = sizeof(s->block);
}

static uint64_t
chacha_u64(struct chacha *s)
{
	uint64_t v = 0;
	int i;

	if (s->used == sizeof(s->block))
		chacha_refill(s);
	for (i = 7; i >= 0; i--)
		v = v << 8 | s->block[s->used + i];
	s->used += 8;
	return v;
}

void
dml_dp_stream(unsigned char *buf, size_t len, const unsigned char seed[DML_DP_SEED_LEN])
{
	struct chacha s;
	size_t k;

	chacha_init(&s, seed);
	while (len > 0) {
		if (s.used == sizeof(s.block))
			chacha_refill(&s);
		k = sizeof(s.block) - s.used < len ? sizeof(s.block) - s.used : len;
		memcpy(buf, s.block + s.used, k);
		s.used += k;
		buf += k;
		len -= k;
	}
}

/*
 * ln(x) for finite x > 0 from +, -, *, / and frexp only, so that it is the
 * same bits everywhere (libm's log is not correctly rounded, and differs
 * between libms).  x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m =
 * 2 atanh(t), t = (m - 1) / (m + 1), |t| <= 0.1716, by its series to t^25
 * (the next term is below 2^-60 relative); e ln 2 in two parts (fdlibm's
 * split, whose high part has trailing zeros, so e * LN2_HI is exact).
 * Error within about 2 units in the last place.
 */
static double
det_log(double x)
{
	static const double LN2_HI = 6.93147180369123816490e-01;
	static const double LN2_LO = 1.90821492927058770002e-10;
	double m, t, t2, p;
	int e;

	m = frexp(x, &e);
	if (m < 0.70710678118654752440) {
		m *= 2;
		e--;
	}
	t = (m - 1) / (m + 1);
	t2 = t * t;
	p = 1.0 / 25;
	p = p * t2 + 1.0 / 23;
	p = p * t2 + 1.0 / 21;
	p = p * t2 + 1.0 / 19;
	p = p * t2 + 1.0 / 17;
	p = p * t2 + 1.0 / 15;
	p = p * t2 + 1.0 / 13;
	p = p * t2 + 1.0 / 11;
	p = p * t2 + 1.0 / 9;
	p = p * t2 + 1.0 / 7;
	p = p * t2 + 1.0 / 5;
	p = p * t2 + 1.0 / 3;
	/* 2 atanh(t) = 2t + 2t * t2 * p: the leading term kept apart, exactly. */
	return e * LN2_HI + (e * LN2_LO + (2 * t + 2 * t * (t2 * p)));
}

/* Two standard normal deviates by Marsaglia's polar method. */
static void
normal_pair(struct chacha *s, double *a, double *b)
{
	double u, v, q, r;

	for (;;) {
		u = (double)(chacha_u64(s) >> 11) * 0x1p-52 - 1;
		v = (double)(chacha_u64(s) >> 11) * 0x1p-52 - 1;
		q = u * u + v * v;
		if (q < 1 && q > 0)
			break;
	}
	r = sqrt(-2 * det_log(q) / q);
	*a = u * r;
	*b = v * r;
}

/*
 * |factor * x|_2, with the squares summed in compensated arithmetic on the
 * values scaled by a power of two (exact), so that neither huge nor tiny
 * vectors overflow or underflow; in between the scaling changes no bit.
 */
static double
l2norm(const double *x, size_t d, double factor)
{
	double mx = 0, v, s = 0, c = 0, t, z;
	size_t j;
	int e;

	for (j = 0; j < d; j++)
		if (fabs(x[j] * factor) > mx)
			mx = fabs(x[j] * factor);
	if (mx == 0)
		return 0;
	frexp(mx, &e);
	for (j = 0; j < d; j++) {
		v = ldexp(x[j] * factor, -e);
		v *= v;
		t = s + v;
		z = t - s;
		c += (s - (t - z)) + (v - z);
		s = t;
	}
	return ldexp(sqrt(s + c), e);
}

const struct dml_error *
dml_dp_clip_and_noise(const double *delta, size_t d, double clip, double noise_multiplier,
    const unsigned char seed[DML_DP_SEED_LEN], double *out, struct dml_dp_info *info)
{
	struct chacha s;
	double norm, factor = 1, sigma, a, b;
	size_t j;
	int tries;

	if (d == 0)
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy: no values to protect");
	/* About 10 bytes of stream a deviate; the 32-bit block counter covers 256 GiB. */
	if (d > (size_t)1 << 33)
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy: %zu values are more "
		    "than one noise stream covers", d);
	if (!isfinite(clip) || !(clip > 0))
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy: the clipping norm %g "
		    "must be a positive number", clip);
	if (!isfinite(noise_multiplier) || noise_multiplier < 0)
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy: the noise multiplier "
		    "%g must be a number >= 0", noise_multiplier);
	for (j = 0; j < d; j++)
		if (!isfinite(delta[j]))
			return dml_error_fmt(DML_ERR_VERIFY, "differential privacy: coordinate %zu "
			    "of the change is not a finite number", j);
	norm = l2norm(delta, d, 1);
	if (norm > clip) {
		factor = clip / norm;
		/* C / norm can round up: step down until the clipped norm is within C. */
		for (tries = 0; tries < 64 && l2norm(delta, d, factor) > clip; tries++)
			factor = nextafter(factor, 0);
	}
	sigma = noise_multiplier * clip;
	if (!isfinite(sigma))
		return dml_error_fmt(DML_ERR_USAGE, "differential privacy: noise of standard "
		    "deviation %g * %g overflows", noise_multiplier, clip);
	if (info) {
		info->norm = norm;
		info->factor = factor;
		info->clipped = factor < 1;
		info->sigma = sigma;
	}
	if (factor < 1)
		for (j = 0; j < d; j++)
			out[j] = delta[j] * factor;
	else if (out != delta)
		memcpy(out, delta, d * sizeof(double));
	if (sigma == 0)
		return NULL;
	chacha_init(&s, seed);
	for (j = 0; j < d; j += 2) {
		normal_pair(&s, &a, &b);
		out[j] += sigma * a;
		if (j + 1 < d)
			out[j + 1] += sigma * b;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Accounting */

double
dml_dp_rho(double noise_multiplier)
{
	return 1 / (2 * noise_multiplier * noise_multiplier);
}

const struct dml_error *
dml_dp_epsilon_rho(double rho, double delta, double *epsilon, double *order)
{
	double l, eps;

	if (!isfinite(rho) || rho < 0)
		return dml_error_fmt(DML_ERR_USAGE, "privacy accounting: the RDP cost %g must be a "
		    "number >= 0", rho);
	if (!(delta > 0 && delta < 1))
		return dml_error_fmt(DML_ERR_USAGE, "privacy accounting: delta %g must lie "
		    "strictly between 0 and 1", delta);
	if (rho == 0) {
		*epsilon = 0;
		if (order)
			*order = INFINITY;
		return NULL;
	}
	l = -det_log(delta);
	eps = rho + 2 * sqrt(rho * l);
	if (!isfinite(eps))
		return dml_error_fmt(DML_ERR_USAGE, "privacy accounting: epsilon overflows "
		    "(RDP cost %g)", rho);
	*epsilon = eps;
	if (order)
		*order = 1 + sqrt(l / rho);
	return NULL;
}

const struct dml_error *
dml_dp_epsilon(double noise_multiplier, uint64_t rounds, double delta, double *epsilon,
    double *order)
{
	double z = noise_multiplier;

	if (!isfinite(z) || !(z > 0))
		return dml_error_fmt(DML_ERR_USAGE, "privacy accounting: the noise multiplier %g "
		    "must be positive (no noise has no finite epsilon)", z);
	return dml_dp_epsilon_rho((double)rounds / (2 * z * z), delta, epsilon, order);
}
