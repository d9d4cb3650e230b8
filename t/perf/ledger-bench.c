/*
 * ledger-bench.c - helper for t/perf/p0100-ledger.sh.
 *
 *	ledger-bench sigrate <seconds>		Ed25519 verifies/s on one core (libsodium)
 *	ledger-bench append <gitdir> <key-file> <count> [<batch>]
 *						append <count> notes through the library,
 *						one ref update per entry, or per <batch>
 *
 * Prints one number per line, for the script to compute ratios from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "dml/keystore.h"
#include "dml/ledger.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
die(const struct dml_error *err)
{
	fprintf(stderr, "ledger-bench: %s\n", err->msg);
	return 1;
}

static int
sigrate(double seconds)
{
	struct dml_key *k;
	unsigned char sig[64], msg[256];
	const struct dml_error *err;
	double t0, t;
	unsigned long n = 0;
	int bad = 0;

	if ((err = dml_key_generate(&k)))
		return die(err);
	memset(msg, 'x', sizeof(msg));
	dml_key_sign(k, sig, msg, sizeof(msg));
	t0 = now();
	do {
		int i;
		for (i = 0; i < 256; i++, n++)
			bad |= dml_ed25519_verify(sig, msg, sizeof(msg), k->pub.pk);
	} while ((t = now()) - t0 < seconds);
	dml_key_free(k);
	if (bad)
		return 1;
	printf("%.0f\n", n / (t - t0));
	return 0;
}

static int
append(const char *gitdir, const char *keyfile, unsigned long count, unsigned long batch)
{
	struct dml_repo *repo;
	struct dml_ledger *l;
	struct dml_key *k;
	const struct dml_error *err;
	unsigned long i;
	double t0;
	char msg[64];

	if ((err = dml_repo_open_path(&repo, gitdir)) || (err = dml_ledger_open(&l, repo, 0)) ||
	    (err = dml_keystore_load(&k, keyfile, NULL, NULL)))
		return die(err);
	t0 = now();
	for (i = 0; i < count; i++) {
		struct dml_stmt_builder b;
		if (batch > 1 && i % batch == 0 && (err = dml_ledger_batch_begin(l)))
			return die(err);
		dml_stmt_builder_init(&b, "note");
		snprintf(msg, sizeof(msg), "bench note %lu", i);
		if ((err = dml_stmt_builder_add(&b, "message", msg)) ||
		    (err = dml_ledger_append(l, k, &b, 1700000000 + i, NULL, 0, NULL)))
			return die(err);
		dml_stmt_builder_release(&b);
		if (batch > 1 && (i % batch == batch - 1 || i == count - 1) &&
		    (err = dml_ledger_batch_commit(l)))
			return die(err);
		if (i % 10000 == 9999)
			fprintf(stderr, "\rappended %lu", i + 1);
	}
	fprintf(stderr, "\n");
	printf("%.1f\n", count / (now() - t0));
	dml_key_free(k);
	dml_ledger_free(l);
	dml_repo_free(repo);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sigrate") == 0)
		return sigrate(atof(argv[2]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "append") == 0)
		return append(argv[2], argv[3], strtoul(argv[4], NULL, 10),
		    argc == 6 ? strtoul(argv[5], NULL, 10) : 1);
	fprintf(stderr, "usage: ledger-bench sigrate <seconds> | append <gitdir> <key> <count>\n");
	return 2;
}
