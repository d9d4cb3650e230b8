/*
 * test_cdc.c - content-defined chunking (dml/cdc.h).
 *
 * Cut points are part of the storage format: a dataset published today must
 * chunk the same way in every later version on every machine, or no chunk
 * is ever shared again.  So the first cut offsets of a fixed input are
 * pinned here, and a slow reference chunker written straight from the
 * definition (each candidate's hash summed from its own 64-byte window,
 * gear table from the incremental SHA-256 API) must agree with the fast one
 * on many parameter sets.  The rest checks the properties callers rely on:
 * sizes within (min, max], the same chunks however the data arrives, and
 * local edits changing only local chunks.
 *
 * Inputs come from xorshift64 with fixed seeds, written byte by byte, so
 * they are the same on every machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "dml/cdc.h"

#define GEAR_LABEL "dmlctl fastcdc-v1 gear"

/* ------------------------------------------------------------------------
 * Inputs */

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static unsigned char *
random_bytes(size_t n, uint64_t seed)
{
	unsigned char *b = malloc(n ? n : 1);
	uint64_t s = seed, v = 0;
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = xorshift64(&s);
		b[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
	return b;
}

/*
 * CSV-like text: a header, then rows of an id, a user name, a category,
 * a decimal and a count, some 40 bytes a row.  Integers only, so no
 * locale or floating point can change a byte.
 */
struct text {
	char *p;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		while (t->len + n + 1 > t->cap)
			t->cap = t->cap ? t->cap * 2 : 4096;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
csv_rows(struct text *t, uint64_t *s, unsigned long *id, size_t upto)
{
	static const char *const cat[] = { "alpha", "beta", "gamma", "delta",
	    "epsilon", "zeta" };
	char row[128];
	int n;

	while (t->len < upto) {
		uint64_t a = xorshift64(s), b = xorshift64(s);

		n = snprintf(row, sizeof(row), "%lu,user_%05u,%s,%u.%03u,%u\n", *id,
		    (unsigned)(a % 100000), cat[(a >> 20) % 6], (unsigned)(b % 10000),
		    (unsigned)((b >> 16) % 1000), (unsigned)((b >> 32) % 500));
		assert_true(n > 0 && (size_t)n < sizeof(row));
		text_add(t, row, (size_t)n);
		(*id)++;
	}
}

static struct text
make_csv(size_t size, uint64_t seed)
{
	struct text t = { NULL, 0, 0 };
	uint64_t s = seed;
	unsigned long id = 1;

	text_add(&t, "id,user,category,amount,count\n", 30);
	csv_rows(&t, &s, &id, size);
	return t;
}

/* ------------------------------------------------------------------------
 * Chunk lists */

struct chunks {
	size_t *len;		/* chunk lengths, in order */
	size_t n;
};

static void
chunks_push(struct chunks *c, size_t len)
{
	if ((c->n & (c->n - 1)) == 0) {
		c->len = realloc(c->len, (c->n ? 2 * c->n : 1) * sizeof(*c->len));
		assert_non_null(c->len);
	}
	c->len[c->n++] = len;
}

static void
chunks_free(struct chunks *c)
{
	free(c->len);
	c->len = NULL;
	c->n = 0;
}

/* Chunk a whole buffer at once. */
static struct chunks
chunk_all(const struct dml_cdc_params *p, const unsigned char *b, size_t n)
{
	struct chunks c = { NULL, 0 };
	size_t off = 0, len;

	while (off < n) {
		len = dml_cdc_cut(p, b + off, n - off, 1);
		assert_true(len > 0 && len <= n - off);
		chunks_push(&c, len);
		off += len;
	}
	assert_int_equal(dml_cdc_cut(p, b + n, 0, 1), 0);
	return c;
}

static void
assert_same_chunks(const struct chunks *a, const struct chunks *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		if (a->len[i] != b->len[i])
			fail_msg("chunk %zu: %zu bytes, expected %zu", i, b->len[i], a->len[i]);
}

/* Every chunk but the last within (min, max]; they cover n bytes. */
static void
assert_bounds(const struct dml_cdc_params *p, const struct chunks *c, size_t n)
{
	size_t i, sum = 0;

	for (i = 0; i < c->n; i++) {
		if (i + 1 < c->n && (c->len[i] <= p->min || c->len[i] > p->max))
			fail_msg("chunk %zu of %zu: %zu bytes, outside (%u, %u]", i, c->n,
			    c->len[i], (unsigned)p->min, (unsigned)p->max);
		assert_true(c->len[i] >= 1 && c->len[i] <= p->max);
		sum += c->len[i];
	}
	assert_int_equal(sum, n);
}

static void
params(struct dml_cdc_params *p, uint32_t min, uint32_t avg, uint32_t max)
{
	assert_int_equal(dml_cdc_params_init(p, min, avg, max), 0);
}

static int
popcount64(uint64_t v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* ------------------------------------------------------------------------
 * The reference chunker: slow and literal. */

static uint64_t ref_gear[256];

static void
ref_gear_init(void)
{
	struct dml_sha256_ctx c;
	unsigned char d[DML_SHA256_LEN], b;
	int i, k;

	for (i = 0; i < 256; i++) {
		b = (unsigned char)i;
		dml_sha256_init(&c);
		dml_sha256_update(&c, GEAR_LABEL, strlen(GEAR_LABEL));
		dml_sha256_update(&c, &b, 1);
		dml_sha256_final(&c, d);
		ref_gear[i] = 0;
		for (k = 0; k < 8; k++)
			ref_gear[i] |= (uint64_t)d[k] << (56 - 8 * k);
	}
}

/*
 * A chunk of length L (min < L <= max) ends where the gear hash of the 64
 * bytes before it, sum of gear[b[j]] << (L - 1 - j), has no bit of the
 * mask (mask_s up to avg, mask_l after) set.
 */
static size_t
ref_cut(const struct dml_cdc_params *p, const unsigned char *b, size_t n, int eof)
{
	size_t L, j, top = n < p->max ? n : p->max;
	uint64_t h;

	if (n <= p->min)
		return eof ? n : 0;
	for (L = (size_t)p->min + 1; L <= top; L++) {
		h = 0;
		for (j = L > 64 ? L - 64 : 0; j < L; j++)
			h += ref_gear[b[j]] << (L - 1 - j);
		if ((h & (L <= p->avg ? p->mask_s : p->mask_l)) == 0)
			return L;
	}
	if (n >= p->max)
		return p->max;
	return eof ? n : 0;
}

static void
assert_matches_reference(const struct dml_cdc_params *p, const unsigned char *b, size_t n)
{
	struct chunks c = chunk_all(p, b, n);
	size_t i, off = 0, len;

	for (i = 0; i < c.n; i++) {
		len = ref_cut(p, b + off, n - off, 1);
		if (len != c.len[i])
			fail_msg("params %u/%u/%u, chunk %zu at %zu: %zu bytes, reference %zu",
			    (unsigned)p->min, (unsigned)p->avg, (unsigned)p->max, i, off,
			    c.len[i], len);
		off += len;
	}
	chunks_free(&c);
}

/* ------------------------------------------------------------------------
 * Tests */

/* Argument checks, and the exact masks of the default parameters. */
static void
test_params(void **state)
{
	struct dml_cdc_params p;
	unsigned lg, i, prev, gap, mingap, maxgap;
	uint64_t m;

	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	assert_int_equal(p.min, DML_CDC_MIN);
	assert_int_equal(p.avg, DML_CDC_AVG);
	assert_int_equal(p.max, DML_CDC_MAX);
	assert_int_equal(p.mask_s, UINT64_C(0xa4a4a4a4a4a40000));	/* 18 bits */
	assert_int_equal(p.mask_l, UINT64_C(0x9224489224480000));	/* 14 bits */

	params(&p, 0, 256, 257);
	params(&p, 255, 256, 1u << 30);
	params(&p, (1u << 28) - 1, 1u << 28, 1u << 30);
	assert_int_equal(dml_cdc_params_init(&p, 100, 65535, 200000), -1);
	assert_int_equal(dml_cdc_params_init(&p, 100, 65537, 200000), -1);
	assert_int_equal(dml_cdc_params_init(&p, 0, 128, 1024), -1);
	assert_int_equal(dml_cdc_params_init(&p, 0, 0, 1024), -1);
	assert_int_equal(dml_cdc_params_init(&p, 0, 1u << 29, 1u << 30), -1);
	assert_int_equal(dml_cdc_params_init(&p, 4096, 4096, 8192), -1);
	assert_int_equal(dml_cdc_params_init(&p, 5000, 4096, 8192), -1);
	assert_int_equal(dml_cdc_params_init(&p, 1024, 4096, 4096), -1);
	assert_int_equal(dml_cdc_params_init(&p, 1024, 4096, 2048), -1);
	assert_int_equal(dml_cdc_params_init(&p, 1024, 4096, (1u << 30) + 1), -1);
	assert_int_equal(dml_cdc_params_init(&p, 1024, 4096, UINT32_MAX), -1);

	/*
	 * Every size: log2(avg) +/- 2 one-bits, bit 63 the first, none below
	 * bit 16, spread evenly (neighbouring gaps differ by at most one).
	 */
	for (lg = 8; lg <= 28; lg++) {
		params(&p, 0, 1u << lg, (1u << lg) + 1);
		for (i = 0; i < 2; i++) {
			m = i == 0 ? p.mask_s : p.mask_l;
			assert_int_equal(popcount64(m), i == 0 ? lg + 2 : lg - 2);
			assert_true(m >> 63);
			assert_int_equal(m & 0xffff, 0);
			mingap = 64;
			maxgap = 0;
			for (prev = 63, m &= ~(UINT64_C(1) << 63); m; m &= ~(UINT64_C(1) << prev)) {
				unsigned bit = 63 - (unsigned)__builtin_clzll(m);

				gap = prev - bit;
				prev = bit;
				mingap = gap < mingap ? gap : mingap;
				maxgap = gap > maxgap ? gap : maxgap;
			}
			assert_true(maxgap - mingap <= 1);
		}
	}
}

/*
 * The first cut offsets of 4 MiB of xorshift64 bytes (seed 0x0123456789abcdef),
 * default parameters, and the number of chunks in all.  These numbers are
 * the format: if they change, DML_CDC_NAME must change too.
 */
static const size_t golden_offsets[] = {
	76079, 155326, 229000, 315673, 386622, 457747,
	528141, 622155, 691026, 718344, 795304, 811722,
	880930, 978419, 995611, 1084370, 1156420, 1222683,
	1249331, 1296409, 1363131, 1379962, 1396369, 1466030,
};
#define GOLDEN_CHUNKS 65

static void
test_golden(void **state)
{
	struct dml_cdc_params p;
	size_t n = 4 << 20, off = 0, i;
	unsigned char *b = random_bytes(n, UINT64_C(0x0123456789abcdef));
	struct chunks c;

	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	c = chunk_all(&p, b, n);
	assert_true(c.n >= sizeof(golden_offsets) / sizeof(*golden_offsets));
	for (i = 0; i < sizeof(golden_offsets) / sizeof(*golden_offsets); i++) {
		off += c.len[i];
		if (off != golden_offsets[i])
			fail_msg("cut %zu at %zu, expected %zu", i, off, golden_offsets[i]);
	}
	assert_int_equal(c.n, GOLDEN_CHUNKS);
	chunks_free(&c);
	free(b);
}

/* The fast chunker against the literal definition. */
static void
test_reference(void **state)
{
	static const uint32_t sets[][3] = {
		{ 0, 256, 512 },
		{ 10, 256, 300 },
		{ 200, 256, 4096 },
		{ 1000, 1024, 1025 },
		{ 64, 1024, 8192 },
		{ 65, 1024, 8192 },
		{ 2048, 8192, 32768 },
		{ DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX },
	};
	struct dml_cdc_params p;
	size_t n = 1 << 20, i;
	unsigned char *b = random_bytes(n, 42);
	struct text t = make_csv(n, 7);

	ref_gear_init();
	for (i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		params(&p, sets[i][0], sets[i][1], sets[i][2]);
		assert_matches_reference(&p, b, n);
		assert_matches_reference(&p, (const unsigned char *)t.p, t.len);
	}
	free(b);
	free(t.p);
}

static void
test_edges(void **state)
{
	struct dml_cdc_params p;
	size_t n = 1 << 20, first;
	unsigned char *b = random_bytes(n, UINT64_C(0x0123456789abcdef));

	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	assert_int_equal(dml_cdc_cut(&p, b, 0, 0), 0);
	assert_int_equal(dml_cdc_cut(&p, b, 0, 1), 0);
	assert_int_equal(dml_cdc_cut(&p, b, 1, 1), 1);
	assert_int_equal(dml_cdc_cut(&p, b, 1, 0), 0);
	assert_int_equal(dml_cdc_cut(&p, b, DML_CDC_MIN, 0), 0);
	assert_int_equal(dml_cdc_cut(&p, b, DML_CDC_MIN, 1), DML_CDC_MIN);

	/* Short of the first cut point: more data, or the rest at eof. */
	first = dml_cdc_cut(&p, b, n, 0);
	assert_true(first > DML_CDC_MIN && first <= DML_CDC_MAX);
	assert_int_equal(dml_cdc_cut(&p, b, first - 1, 0), 0);
	assert_int_equal(dml_cdc_cut(&p, b, first - 1, 1), first - 1);
	assert_int_equal(dml_cdc_cut(&p, b, first, 0), first);
	assert_int_equal(dml_cdc_cut(&p, b, first, 1), first);

	/* With this table a run of zeros never cuts: max is forced. */
	memset(b, 0, n);
	assert_int_equal(dml_cdc_cut(&p, b, DML_CDC_MAX - 1, 0), 0);
	assert_int_equal(dml_cdc_cut(&p, b, DML_CDC_MAX, 0), DML_CDC_MAX);
	assert_int_equal(dml_cdc_cut(&p, b, n, 0), DML_CDC_MAX);
	free(b);
}

/* Chunk sizes on random data, text and constant data. */
static void
test_bounds(void **state)
{
	static const uint32_t sets[][3] = {
		{ 0, 256, 512 },
		{ 64, 1024, 8192 },
		{ 1000, 1024, 1025 },
		{ 2048, 8192, 32768 },
		{ 65536, 1u << 20, 1u << 21 },
		{ DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX },
	};
	struct dml_cdc_params p;
	size_t n = 16 << 20, i;
	unsigned char *b = random_bytes(n, UINT64_C(0xfeedface));
	struct text t = make_csv(8 << 20, 11);
	struct chunks c;

	for (i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		params(&p, sets[i][0], sets[i][1], sets[i][2]);
		c = chunk_all(&p, b, n);
		assert_bounds(&p, &c, n);
		printf("# random, %u/%u/%u: %zu chunks, %.0f bytes on average\n",
		    (unsigned)p.min, (unsigned)p.avg, (unsigned)p.max, c.n, (double)n / c.n);
		/* Normalized chunking keeps the mean near avg. */
		assert_true(n / c.n >= p.avg / 2 && n / c.n <= 2 * (size_t)p.avg);
		chunks_free(&c);

		c = chunk_all(&p, (const unsigned char *)t.p, t.len);
		assert_bounds(&p, &c, t.len);
		printf("# csv, %u/%u/%u: %zu chunks, %.0f bytes on average\n",
		    (unsigned)p.min, (unsigned)p.avg, (unsigned)p.max, c.n,
		    (double)t.len / c.n);
		chunks_free(&c);
	}

	/* Constant input: the hash settles, so cuts are all forced or all minimal. */
	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	for (i = 0; i < 3; i++) {
		memset(b, i == 0 ? 0 : i == 1 ? 'a' : 0xff, n);
		c = chunk_all(&p, b, n);
		assert_bounds(&p, &c, n);
		chunks_free(&c);
	}
	free(b);
	free(t.p);
}

/*
 * A streaming caller: data arrives in pieces of random sizes (some tiny);
 * unconsumed bytes stay in a window and dml_cdc_cut() returning 0 asks for
 * another piece.
 */
static struct chunks
chunk_stream(const struct dml_cdc_params *p, const unsigned char *src, size_t n,
    uint64_t seed, size_t maxpiece)
{
	struct chunks c = { NULL, 0 };
	unsigned char *w = malloc(p->max + maxpiece + 16);
	size_t have = 0, got = 0, len, k;
	uint64_t s = seed, r;

	assert_non_null(w);
	for (;;) {
		len = dml_cdc_cut(p, w, have, got == n);
		if (len == 0 && got == n) {
			assert_int_equal(have, 0);
			break;
		}
		if (len == 0) {
			r = xorshift64(&s);
			k = r & 1 ? 1 + (r >> 1) % 16 : 1 + (r >> 1) % maxpiece;
			k = k < n - got ? k : n - got;
			assert_true(have + k <= p->max + maxpiece + 16);
			memcpy(w + have, src + got, k);
			have += k;
			got += k;
			continue;
		}
		assert_true(len <= have);
		chunks_push(&c, len);
		memmove(w, w + len, have - len);
		have -= len;
	}
	free(w);
	return c;
}

static void
test_pieces(void **state)
{
	static const struct {
		uint32_t min, avg, max;
		size_t size, maxpiece;
	} cases[] = {
		{ 64, 256, 1024, 256 << 10, 1 },
		{ 0, 256, 512, 256 << 10, 3 },
		{ 64, 1024, 8192, 4 << 20, 4096 },
		{ 2048, 8192, 32768, 8 << 20, 50000 },
		{ DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX, 16 << 20, 100000 },
		{ DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX, 16 << 20, 1 << 20 },
	};
	struct dml_cdc_params p;
	struct chunks whole, streamed;
	unsigned char *b;
	struct text t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		params(&p, cases[i].min, cases[i].avg, cases[i].max);
		b = random_bytes(cases[i].size, 1000 + i);
		whole = chunk_all(&p, b, cases[i].size);
		streamed = chunk_stream(&p, b, cases[i].size, 77 + i, cases[i].maxpiece);
		assert_same_chunks(&whole, &streamed);
		chunks_free(&whole);
		chunks_free(&streamed);
		free(b);

		t = make_csv(cases[i].size, 2000 + i);
		whole = chunk_all(&p, (const unsigned char *)t.p, t.len);
		streamed = chunk_stream(&p, (const unsigned char *)t.p, t.len, 99 + i,
		    cases[i].maxpiece);
		assert_same_chunks(&whole, &streamed);
		chunks_free(&whole);
		chunks_free(&streamed);
		free(t.p);
	}
}

static int
digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, DML_SHA256_LEN);
}

/* SHA-256 of every chunk, sorted: the set a store would hold. */
static unsigned char *
chunk_digests(const struct dml_cdc_params *p, const char *text, size_t n, size_t *count)
{
	struct chunks c = chunk_all(p, (const unsigned char *)text, n);
	unsigned char *d = malloc(c.n * DML_SHA256_LEN + 1);
	size_t i, off = 0;

	assert_non_null(d);
	for (i = 0; i < c.n; i++) {
		dml_sha256(d + i * DML_SHA256_LEN, text + off, c.len[i]);
		off += c.len[i];
	}
	qsort(d, c.n, DML_SHA256_LEN, digest_cmp);
	*count = c.n;
	chunks_free(&c);
	return d;
}

/* How many of a's digests b lacks, counting repeats (both sorted). */
static size_t
digests_missing(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	size_t i = 0, j = 0, missing = 0;
	int cmp;

	while (i < na) {
		cmp = j < nb ? digest_cmp(a + i * DML_SHA256_LEN, b + j * DML_SHA256_LEN) : -1;
		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0) {
			missing++;
			i++;
		} else {
			j++;
		}
	}
	return missing;
}

/*
 * Edit one line of ~8 MB of CSV (insert a line before it, delete it, change
 * a digit in it) at nine places: only the chunks around the edit may change.
 */
static void
test_stability(void **state)
{
	static const char *const kind[] = { "insert", "delete", "edit" };
	static const char extra[] = "999999,user_00000,omega,0.000,0\n";
	struct dml_cdc_params p;
	struct text t = make_csv(8 << 20, 5);
	char *e = malloc(t.len + sizeof(extra));
	unsigned char *dold, *dnew;
	size_t nold, nnew, ne, ls, le, gone, added, worst = 0, total = 0, edits = 0;
	int f, k;

	assert_non_null(e);
	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	dold = chunk_digests(&p, t.p, t.len, &nold);
	printf("# csv: %zu bytes, %zu chunks, %.0f bytes on average\n", t.len, nold,
	    (double)t.len / nold);
	assert_true(t.len / nold >= p.avg / 2 && t.len / nold <= 2 * (size_t)p.avg);

	for (f = 1; f <= 9; f++) {
		/* The line that starts after f/10 of the text. */
		ls = (size_t)(strchr(t.p + t.len / 10 * f, '\n') - t.p) + 1;
		le = (size_t)(strchr(t.p + ls, '\n') - t.p) + 1;
		for (k = 0; k < 3; k++) {
			memcpy(e, t.p, ls);
			if (k == 0) {
				memcpy(e + ls, extra, sizeof(extra) - 1);
				memcpy(e + ls + sizeof(extra) - 1, t.p + ls, t.len - ls);
				ne = t.len + sizeof(extra) - 1;
			} else if (k == 1) {
				memcpy(e + ls, t.p + le, t.len - le);
				ne = t.len - (le - ls);
			} else {
				memcpy(e + ls, t.p + ls, t.len - ls);
				e[ls + 1] = e[ls + 1] == '7' ? '3' : '7';
				ne = t.len;
			}
			dnew = chunk_digests(&p, e, ne, &nnew);
			gone = digests_missing(dold, nold, dnew, nnew);
			added = digests_missing(dnew, nnew, dold, nold);
			if (gone > 3 || added > 3 || gone == 0 || added == 0)
				fail_msg("%s at %zu: %zu chunks gone, %zu new", kind[k], ls,
				    gone, added);
			worst = gone > worst ? gone : worst;
			worst = added > worst ? added : worst;
			total += added;
			edits++;
			free(dnew);
		}
	}
	printf("# %zu edits: at most %zu chunks changed, %.2f new chunks per edit\n", edits,
	    worst, (double)total / edits);
	free(dold);
	free(e);
	free(t.p);
}

/* Appending rows changes only the last chunk of the old text. */
static void
test_append(void **state)
{
	struct dml_cdc_params p;
	struct text t = make_csv(8 << 20, 3);
	struct chunks a, b;
	size_t f, cut, i;

	params(&p, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX);
	b = chunk_all(&p, (const unsigned char *)t.p, t.len);
	for (f = 1; f <= 9; f++) {
		cut = (size_t)(strchr(t.p + t.len / 10 * f, '\n') - t.p) + 1;
		a = chunk_all(&p, (const unsigned char *)t.p, cut);
		assert_true(a.n >= 2 && a.n <= b.n);
		for (i = 0; i + 1 < a.n; i++)
			if (a.len[i] != b.len[i])
				fail_msg("%zu bytes appended to %zu: chunk %zu of %zu changed",
				    t.len - cut, cut, i, a.n);
		chunks_free(&a);
	}
	chunks_free(&b);
	free(t.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_stability),
		cmocka_unit_test(test_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
