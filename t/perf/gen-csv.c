/*
 * gen-csv.c - a seeded generator of numeric CSV for the dataset benchmark.
 *
 *	gen-csv <bytes> [<seed>]	write about <bytes> of CSV to stdout
 *
 * Ten columns: a row number, eight floats with six decimals, a small
 * integer label.  The same seed gives the same bytes on every machine
 * (xorshift64*, integer arithmetic only).
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

int
main(int argc, char **argv)
{
	unsigned long long want, written = 0, row = 0;
	static char out[1 << 16];
	int c;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen-csv <bytes> [<seed>]\n");
		return 2;
	}
	want = strtoull(argv[1], NULL, 10);
	state = argc == 3 ? strtoull(argv[2], NULL, 10) : 1;
	if (state == 0)
		state = 1;
	setvbuf(stdout, out, _IOFBF, sizeof(out));
	written += (unsigned long long)printf("id,f1,f2,f3,f4,f5,f6,f7,f8,label\n");
	while (written < want) {
		int n = printf("%llu", row++);
		for (c = 0; c < 8; c++) {
			uint64_t v = next() % 2000000000ULL;
			n += printf(",%s%llu.%06llu", (v & 1) ? "-" : "",
			    (unsigned long long)(v / 1000000 % 1000), (unsigned long long)(v % 1000000));
		}
		n += printf(",%llu\n", (unsigned long long)(next() % 10));
		written += (unsigned long long)n;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
