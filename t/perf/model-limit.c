/*
 * model-limit.c - the compute limit of training a linear model on a stored
 * dataset, for the model benchmark.
 *
 *	model-limit <repo> <dataset> <target>
 *
 * Times, one after the other and on one thread, the three things training a
 * ridge model cannot avoid: (a) decompressing and checking the stored chunks,
 * (b) parsing the CSV bytes (already in memory) into a matrix in memory, and
 * (c) one X^T X (dsyrk) and X^T y over that matrix.  Prints the three times
 * and their sum in seconds, on one line: "a b c total".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dml/buf.h"
#include "dml/csv.h"
#include "dml/dataset.h"
#include "dml/ledger.h"
#include "dml/linalg.h"
#include "dml/schema.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
die(const struct dml_error *err)
{
	fprintf(stderr, "model-limit: %s\n", err->msg);
	exit(1);
}

static const struct dml_error *
keep(void *arg, const unsigned char *p, size_t n)
{
	return dml_buf_add(arg, p, n);
}

struct parse {
	size_t d, target, rows, cap;
	double *x, *y;
};

static const struct dml_error *
record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct parse *p = arg;
	size_t j, k = 0;
	double v;

	if (line == 1)
		return NULL;
	if (p->rows == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1 << 16;
		p->x = realloc(p->x, p->cap * p->d * sizeof(double));
		p->y = realloc(p->y, p->cap * sizeof(double));
		if (p->x == NULL || p->y == NULL)
			return dml_error_nomem();
	}
	p->x[p->rows * p->d + k++] = 1;
	for (j = 0; j < n; j++) {
		if (dml_value_read(f[j].p, f[j].len, &v) < DML_VALUE_BOOLEAN)
			return dml_error_fmt(DML_ERR_PARSE, "line %llu: not a number",
			    (unsigned long long)line);
		if (j == p->target)
			p->y[p->rows] = v;
		else if (k < p->d)
			p->x[p->rows * p->d + k++] = v;
	}
	p->rows++;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct dml_repo *r;
	struct dml_ledger *l;
	struct dml_dataset_in *in;
	const struct dml_dataset_head *h;
	const struct dml_schema *sc;
	struct dml_buf bytes = DML_BUF_INIT;
	struct dml_csv *csv;
	struct dml_suffstats ss;
	struct parse p;
	const struct dml_error *err;
	double t0, t1, t2, t3;
	size_t j;

	if (argc != 4) {
		fprintf(stderr, "usage: model-limit <repo> <dataset> <target>\n");
		return 2;
	}
	if ((err = dml_repo_open_path(&r, argv[1])) || (err = dml_ledger_open(&l, r, 0)))
		die(err);
	if ((h = dml_dataset_find(dml_ledger_state(l), argv[2])) == NULL) {
		fprintf(stderr, "model-limit: no dataset '%s'\n", argv[2]);
		return 1;
	}
	if ((err = dml_dataset_open(&in, l, h->versions[h->nversions - 1].seq)))
		die(err);
	sc = dml_dataset_info(in)->schema;
	memset(&p, 0, sizeof(p));
	p.d = sc->ncols;	/* intercept + every column but the target */
	for (p.target = 0; p.target < sc->ncols && strcmp(sc->cols[p.target].name, argv[3]); p.target++)
		;
	if (p.target == sc->ncols) {
		fprintf(stderr, "model-limit: no column '%s'\n", argv[3]);
		return 1;
	}
	if ((err = dml_buf_grow(&bytes, dml_dataset_info(in)->size + 1)))
		die(err);
	t0 = now();
	if ((err = dml_dataset_stream(in, keep, &bytes, NULL, NULL)))
		die(err);
	t1 = now();
	if ((err = dml_csv_new(&csv, dml_dataset_info(in)->sep, "data")) ||
	    (err = dml_csv_feed(csv, bytes.data, bytes.len, record, &p)) ||
	    (err = dml_csv_finish(csv, record, &p)))
		die(err);
	t2 = now();
	if ((err = dml_suffstats_init(&ss, p.d)) ||
	    (err = dml_suffstats_add_rows(&ss, p.x, p.y, p.rows)))
		die(err);
	t3 = now();
	for (j = 0; j < p.d; j++)
		if (ss.xtx[j * p.d + j] < 0)
			return 1;	/* keep the work observable */
	printf("%.3f %.3f %.3f %.3f\n", t1 - t0, t2 - t1, t3 - t2, t3 - t0);
	dml_suffstats_release(&ss);
	dml_csv_free(csv);
	free(p.x);
	free(p.y);
	dml_buf_release(&bytes);
	dml_dataset_close(in);
	dml_ledger_free(l);
	dml_repo_free(r);
	return 0;
}
