/*
 * gen-model.c - seeded data for the model benchmark.
 *
 *	gen-model <rows> <features> [<seed>]	write CSV to stdout
 *
 * Columns x1..xd (uniform in [-1, 1), six decimals), y = 1 + sum_j b_j x_j
 * + noise with b_j = (j % 7 - 3) / 4 and noise uniform in [-0.5, 0.5), and
 * label = 1 when y plus logistic-ish noise is above 1, else 0.  The same
 * seed gives the same bytes on every machine (xorshift64*, integer
 * arithmetic for the values written).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state;

static uint64_t
next(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 2685821657736338717ULL;
}

/* A value in [-1, 1) with six decimals, as an integer of millionths. */
static long
value(void)
{
	return (long)(next() % 2000000) - 1000000;
}

static int
put_micro(char *p, long v)
{
	return sprintf(p, "%s%ld.%06ld", v < 0 ? "-" : "", labs(v) / 1000000, labs(v) % 1000000);
}

int
main(int argc, char **argv)
{
	unsigned long long rows, r;
	static char out[1 << 16];
	char line[1 << 16];
	long *x;
	int d, j, n;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: gen-model <rows> <features> [<seed>]\n");
		return 2;
	}
	rows = strtoull(argv[1], NULL, 10);
	d = atoi(argv[2]);
	if (d < 1 || d > 1000) {
		fprintf(stderr, "gen-model: 1 to 1000 features\n");
		return 2;
	}
	state = argc == 4 ? strtoull(argv[3], NULL, 10) : 1;
	if (state == 0)
		state = 1;
	if ((x = calloc((size_t)d, sizeof(*x))) == NULL)
		return 1;
	setvbuf(stdout, out, _IOFBF, sizeof(out));
	for (j = 1; j <= d; j++)
		printf("x%d,", j);
	printf("y,label\n");
	for (r = 0; r < rows; r++) {
		long y = 1000000, noise;
		n = 0;
		for (j = 0; j < d; j++) {
			x[j] = value();
			y += x[j] * ((j + 1) % 7 - 3) / 4;
			n += put_micro(line + n, x[j]);
			line[n++] = ',';
		}
		noise = value() / 2;
		y += noise;
		n += put_micro(line + n, y);
		n += sprintf(line + n, ",%d\n", y + value() > 1000000);
		fwrite(line, 1, (size_t)n, stdout);
	}
	free(x);
	return ferror(stdout) || fflush(stdout) ? 1 : 0;
}
