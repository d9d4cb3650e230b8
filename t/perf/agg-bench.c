/*
 * agg-bench.c - helper for t/perf/p0400-aggregate.sh.
 *
 *	agg-bench <n> <d> <threads> <rule>...
 *
 * Generates n updates of d doubles (seed 1: honest updates near a common
 * point, every tenth one far off), then times, in this one process:
 *   - "read": one pass over all the updates, a plain per-coordinate sum
 *     on one thread (the faster of row by row and in blocks of 1024
 *     coordinates), the least any rule must spend;
 *   - each rule given, with f = n / 10, beta 0.2, m = n - f, strict mode,
 *     on 1 thread and on <threads> threads.
 * Each figure is the best of several runs (as many as fit in about half a
 * second, at least one).  Prints "<name> <threads> <seconds>" lines, for the
 * script to compute ratios from, and checks that every thread count gave
 * the same bits.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dml/aggregate.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* Keeps the compiler from dropping the reference pass. */
static volatile double sink;

static void
read_rows(const double *const *x, size_t n, size_t d, double *acc)
{
	size_t i, j;

	memset(acc, 0, d * sizeof(double));
	for (i = 0; i < n; i++)
		for (j = 0; j < d; j++)
			acc[j] += x[i][j];
	sink = acc[d / 2];
}

static void
read_blocks(const double *const *x, size_t n, size_t d, double *acc)
{
	size_t i, j, j0, len;

	memset(acc, 0, d * sizeof(double));
	for (j0 = 0; j0 < d; j0 += 1024) {
		len = d - j0 < 1024 ? d - j0 : 1024;
		for (i = 0; i < n; i++)
			for (j = 0; j < len; j++)
				acc[j0 + j] += x[i][j0 + j];
	}
	sink = acc[d / 2];
}

/* Best time of fn over runs that fit in about budget seconds (at least one). */
#define BEST_OF(best, budget, stmt) do {				\
	double t0_ = now(), t1_, start_ = t0_;				\
	(best) = INFINITY;						\
	do {								\
		t0_ = now();						\
		stmt;							\
		t1_ = now();						\
		if (t1_ - t0_ < (best))					\
			(best) = t1_ - t0_;				\
	} while (t1_ - start_ < (budget));				\
} while (0)

int
main(int argc, char **argv)
{
	struct dml_agg_params p;
	const struct dml_error *err = NULL;
	enum dml_agg_rule rule;
	double *x, *acc, *out1, *outn, t, base;
	const double **rows;
	uint64_t *counts, seed = 1;
	size_t n, d, i, j;
	unsigned threads;
	int a;

	if (argc < 4) {
		fprintf(stderr, "usage: agg-bench <n> <d> <threads> <rule>...\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	d = strtoul(argv[2], NULL, 10);
	threads = (unsigned)strtoul(argv[3], NULL, 10);
	x = malloc(n * d * sizeof(double));
	rows = malloc(n * sizeof(*rows));
	counts = malloc(n * sizeof(*counts));
	acc = malloc(d * sizeof(double));
	out1 = malloc(d * sizeof(double));
	outn = malloc(d * sizeof(double));
	if (!x || !rows || !counts || !acc || !out1 || !outn) {
		fprintf(stderr, "agg-bench: out of memory for %zu x %zu\n", n, d);
		return 1;
	}
	for (i = 0; i < n; i++) {
		rows[i] = x + i * d;
		counts[i] = 100 + xorshift64(&seed) % 900;
		for (j = 0; j < d; j++) {
			base = (double)(j % 97) / 97;
			x[i * d + j] = base + 0.01 * ((double)(xorshift64(&seed) >> 11) * 0x1p-53);
			if (i % 10 == 3)
				x[i * d + j] += 10;
		}
	}
	BEST_OF(t, 0.5, read_rows(rows, n, d, acc));
	BEST_OF(base, 0.5, read_blocks(rows, n, d, acc));
	printf("read 1 %.6f\n", t < base ? t : base);
	for (a = 4; a < argc; a++) {
		if ((err = dml_agg_rule_parse(argv[a], &rule)))
			break;
		dml_agg_params_init(&p);
		p.f = rule == DML_AGG_FEDAVG ? 0 : (unsigned)(n / 10);
		p.strict = 1;
		p.threads = 1;
		BEST_OF(t, 0.5, if ((err = dml_aggregate(rule, &p, rows, counts, n, d, out1, NULL)))
		    break);
		if (err)
			break;
		printf("%s 1 %.6f\n", argv[a], t);
		if (threads > 1) {
			p.threads = threads;
			BEST_OF(t, 0.5, if ((err = dml_aggregate(rule, &p, rows, counts, n, d, outn,
			    NULL))) break);
			if (err)
				break;
			if (memcmp(out1, outn, d * sizeof(double)) != 0) {
				fprintf(stderr, "agg-bench: %s: %u threads gave other bits than 1\n",
				    argv[a], threads);
				return 1;
			}
			printf("%s %u %.6f\n", argv[a], threads, t);
		}
		fflush(stdout);
	}
	if (err) {
		fprintf(stderr, "agg-bench: %s\n", err->msg);
		return 1;
	}
	free(x);
	free(rows);
	free(counts);
	free(acc);
	free(out1);
	free(outn);
	return 0;
}
