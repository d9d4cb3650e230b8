/*
 * shapley-bench.c - helper for t/perf/p0500-rewards.sh.
 *
 *	shapley-bench solve <d>
 *	shapley-bench exact <n> <d> <threads>
 *	shapley-bench permutation <n> <d> <threads> <permutations>
 *
 * Statistics are random (seed 1): each of n contributors has 4d rows of
 * uniform features with a column of ones, targets a fixed linear function
 * plus noise; the validation set has 4d rows more.  Ridge, lambda 1,
 * intercept column 0, as `reward compute` runs it in stats mode.
 *   - solve: the time of one dml_suffstats_solve (DML_SOLVE_NO_RCOND) on
 *     the statistics of all contributors (n = 20), the mean of as many
 *     calls as fit in about half a second, best of three such runs;
 *   - exact: exact Shapley values over all 2^n coalitions;
 *   - permutation: that many permutations (antithetic pairs).
 * Prints one line "<what> <wall seconds> <CPU seconds>" (CPU: of the whole
 * process, which on a busy machine is the steadier measure of work) and,
 * for the methods, a checksum of the values, so that runs on different
 * thread counts can be compared.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dml/error.h"
#include "dml/linalg.h"
#include "dml/shapley.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * CPU seconds of the calling thread: none of the time it waited for a core
 * (the machine may be busy), and none of OpenBLAS's idle pool threads.
 */
static double
cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static double
uniform(uint64_t *s)
{
	return (double)(xorshift64(s) >> 11) * 0x1p-52 - 1;
}

static void
check(const struct dml_error *err)
{
	if (err) {
		fprintf(stderr, "shapley-bench: %s\n", err->msg);
		exit(2);
	}
}

/* n contributors and the validation set (s[n]), each of `rows` rows. */
static struct dml_suffstats *
make_stats(size_t n, size_t d)
{
	struct dml_suffstats *s = calloc(n + 1, sizeof(*s));
	size_t rows = 4 * d, i, r, j;
	double *x = malloc(rows * d * sizeof(double)), *y = malloc(rows * sizeof(double));
	uint64_t seed = 1;

	if (s == NULL || x == NULL || y == NULL) {
		fprintf(stderr, "shapley-bench: out of memory\n");
		exit(2);
	}
	for (i = 0; i <= n; i++) {
		check(dml_suffstats_init(&s[i], d));
		for (r = 0; r < rows; r++) {
			y[r] = 0.1 * uniform(&seed);
			for (j = 0; j < d; j++) {
				x[r * d + j] = j == 0 ? 1 : uniform(&seed);
				y[r] += x[r * d + j] / (double)(j + 1);
			}
		}
		check(dml_suffstats_add_rows(&s[i], x, y, rows));
	}
	free(x);
	free(y);
	return s;
}

static void
time_solve(size_t d)
{
	struct dml_suffstats *s = make_stats(20, d), sum;
	double *beta = malloc(d * sizeof(double)), t0, c0, t, c, best = 0, bestc = 0;
	size_t i, calls, run;

	check(dml_suffstats_init(&sum, d));
	for (i = 0; i < 20; i++)
		check(dml_suffstats_merge(&sum, &s[i]));
	for (run = 0; run < 3; run++) {
		t0 = now();
		c0 = cpu();
		calls = 0;
		do {
			check(dml_suffstats_solve(&sum, 1, 0, DML_SOLVE_NO_RCOND, beta, NULL));
			calls++;
		} while ((t = now() - t0) < 0.5);
		c = (cpu() - c0) / (double)calls;
		t /= (double)calls;
		if (run == 0 || t < best)
			best = t;
		if (run == 0 || c < bestc)
			bestc = c;
	}
	printf("solve %.9f %.9f\n", best, bestc);
	for (i = 0; i <= 20; i++)
		dml_suffstats_release(&s[i]);
	dml_suffstats_release(&sum);
	free(s);
	free(beta);
}

static void
run_method(enum dml_shapley_method m, size_t n, size_t d, unsigned threads, uint64_t samples)
{
	struct dml_suffstats *s = make_stats(n, d);
	const struct dml_suffstats **ptr = malloc(n * sizeof(*ptr));
	struct dml_linear_game_params lp;
	struct dml_linear_game *lg;
	struct dml_game g;
	struct dml_shapley_params p;
	struct dml_shapley_result r;
	double t0, c0, t, c, sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		ptr[i] = &s[i];
	dml_linear_game_params_init(&lp);
	lp.lambda = 1;
	lp.intercept = 0;
	check(dml_linear_game_new(&lg, ptr, n, &s[n], &lp));
	dml_linear_game_game(lg, &g);
	dml_shapley_params_init(&p);
	p.method = m;
	p.threads = threads;
	p.samples = samples;
	t0 = now();
	c0 = cpu();
	check(dml_shapley_compute(&g, &p, &r));
	c = cpu() - c0;
	t = now() - t0;
	for (i = 0; i < n; i++)
		sum += r.value[i];
	printf("%s %.6f %.6f u(N)=%.6f sum=%.17g value0=%a\n", dml_shapley_method_name(m), t, c,
	    r.u_full, sum, r.value[0]);
	dml_shapley_result_release(&r);
	dml_linear_game_free(lg);
	for (i = 0; i <= n; i++)
		dml_suffstats_release(&s[i]);
	free(s);
	free(ptr);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "solve") == 0) {
		time_solve(strtoul(argv[2], NULL, 10));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "exact") == 0) {
		run_method(DML_SHAPLEY_EXACT, strtoul(argv[2], NULL, 10),
		    strtoul(argv[3], NULL, 10), (unsigned)strtoul(argv[4], NULL, 10), 0);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "permutation") == 0) {
		run_method(DML_SHAPLEY_PERMUTATION, strtoul(argv[2], NULL, 10),
		    strtoul(argv[3], NULL, 10), (unsigned)strtoul(argv[4], NULL, 10),
		    strtoull(argv[5], NULL, 10));
		return 0;
	}
	fprintf(stderr, "usage: shapley-bench solve <d>\n"
	    "       shapley-bench exact <n> <d> <threads>\n"
	    "       shapley-bench permutation <n> <d> <threads> <permutations>\n");
	return 2;
}
