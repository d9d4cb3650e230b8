/*
 * dataset.c - publishing, fetching and verifying datasets (see dml/dataset.h).
 *
 * One pass over the input does everything: SHA-256 of the whole file, CSV
 * parsing and schema inference, FastCDC cutting, and for each chunk its
 * SHA-256, a lookup in the index of chunks already stored, and for a new one
 * zstd compression and a pack entry.  Memory is a few read blocks, the
 * current CSV record, about 170 bytes per chunk for the manifest and the
 * workers' results, and the chunk index.  Reading back is the reverse, with
 * a few chunks per thread in flight.  DMLCTL_THREADS (default: one per
 * core) is the number of threads that compress chunks when publishing and
 * that read and check them when reading back; the results are the same with
 * any number of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "crypto.h"
#include "dml/cdc.h"
#include "dml/csv.h"
#include "dml/dataset.h"
#include "dml/manifest.h"
#include "dml/pack.h"
#include "dml/schema.h"

#define READ_SIZE ((size_t)1 << 20)
#define THREADS_MAX 256
#define CHUNKS_DIR "chunks"

/* ---- the dataset.publish entry type ---- */

static const struct dml_field_spec publish_fields[] = {
	{ "name", { DML_V_TOKEN }, 0 },
	{ "version", { DML_V_UINT }, 0 },
	{ "previous", { DML_V_ID }, DML_F_OPTIONAL },
	{ "file", { DML_V_ID }, 0 },
	{ "size", { DML_V_UINT }, 0 },
	{ "format", { DML_V_TOKEN }, 0 },
	{ "manifest", { DML_V_ID }, DML_F_OBJECT },
	{ "schema", { DML_V_ID }, DML_F_OBJECT },
	{ "rows", { DML_V_UINT }, 0 },
	{ "columns", { DML_V_UINT }, 0 },
	{ "license", { DML_V_TEXT }, DML_F_OPTIONAL },
	{ "price", { DML_V_UINT }, 0 },
	{ "allow", { DML_V_ROLES }, 0 },
	{ "description", { DML_V_TEXT }, DML_F_OPTIONAL },
};

static int
head_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dml_dataset_head *)a)->name,
	    ((const struct dml_dataset_head *)b)->name);
}

const struct dml_dataset_head *
dml_dataset_find(const struct dml_state *st, const char *name)
{
	struct dml_dataset_head key;

	if (st->ndatasets == 0)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, st->datasets, st->ndatasets, sizeof(key), head_cmp);
}

static const struct dml_error *
publish_check(const struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1], fmt[DML_TOKEN_MAX + 1];
	const struct dml_dataset_head *h;

	dml_stmt_str(s, "name", name, sizeof(name));
	dml_stmt_str(s, "format", fmt, sizeof(fmt));
	if (strcmp(fmt, "csv") != 0 && strcmp(fmt, "tsv") != 0)
		return dml_error_fmt(DML_ERR_VERIFY, "dataset format '%s' is not csv or tsv", fmt);
	h = dml_dataset_find(st, name);
	return dml_state_check_version(s, "dataset", name, h ? &h->owner : NULL,
	    h ? h->nversions : 0, h ? h->last : NULL, "publish");
}

static const struct dml_error *
publish_apply(struct dml_state *st, const struct dml_stmt *s)
{
	char name[DML_TOKEN_MAX + 1];
	struct dml_dataset_head *h;
	struct dml_dataset_version *vs, *v;
	const struct dml_field *allow = dml_stmt_field(s, "allow");
	size_t i;

	dml_stmt_str(s, "name", name, sizeof(name));
	h = (struct dml_dataset_head *)dml_dataset_find(st, name);
	if (h == NULL) {
		struct dml_dataset_head nh, *nd;
		memset(&nh, 0, sizeof(nh));
		if ((nh.name = strdup(name)) == NULL)
			return dml_error_nomem();
		nh.owner = s->author;
		if ((nd = realloc(st->datasets, (st->ndatasets + 1) * sizeof(*nd))) == NULL) {
			free(nh.name);
			return dml_error_nomem();
		}
		st->datasets = nd;
		for (i = st->ndatasets; i > 0 && strcmp(nd[i - 1].name, name) > 0; i--)
			nd[i] = nd[i - 1];
		nd[i] = nh;
		st->ndatasets++;
		h = &nd[i];
	}
	if ((vs = realloc(h->versions, (h->nversions + 1) * sizeof(*vs))) == NULL)
		return dml_error_nomem();
	h->versions = vs;
	v = &vs[h->nversions];
	memset(v, 0, sizeof(*v));
	if ((v->allow = strndup(allow->value, allow->len)) == NULL)
		return dml_error_nomem();
	v->seq = s->seq;
	memcpy(v->id, s->id, 32);
	dml_stmt_id(s, "file", 0, v->file);
	v->price = dml_stmt_u64(s, "price");
	h->nversions++;
	memcpy(h->last, s->id, 32);
	return NULL;
}

int
dml_dataset_allows(const struct dml_dataset_version *v, const char *use)
{
	const char *p;
	size_t n = strlen(use);

	for (p = v->allow; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && memcmp(p, use, n) == 0)
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

/* ---- reading what an entry stores ---- */

struct stored {
	struct dml_manifest m;
	struct dml_buf schema;
	struct dml_tree_item *chunks;	/* chunks/ items, sorted by name */
	size_t nchunks;
};

static void
stored_release(struct stored *st)
{
	dml_manifest_release(&st->m);
	dml_buf_release(&st->schema);
	dml_tree_items_free(st->chunks, st->nchunks);
	memset(st, 0, sizeof(*st));
}

static const struct dml_tree_item *
find_chunk(const struct stored *st, const unsigned char id[32])
{
	char hex[65];
	size_t lo = 0, hi = st->nchunks;

	dml_hex_encode(hex, id, 32);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->chunks[mid].name, hex);
		if (c == 0)
			return &st->chunks[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Load manifest, schema text and the chunk list of a dataset entry. */
static const struct dml_error *
stored_load(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n, struct stored *st)
{
	const struct dml_tree_item *objs = dml_tree_find(items, n, "objects", 1);
	const struct dml_tree_item *chunks = dml_tree_find(items, n, CHUNKS_DIR, 1);
	const struct dml_tree_item *o;
	struct dml_tree_item *oi = NULL;
	struct dml_buf text = DML_BUF_INIT;
	unsigned char id[32], got[32];
	char hex[65];
	size_t on = 0;
	const struct dml_error *err;

	memset(st, 0, sizeof(*st));
	dml_manifest_init(&st->m);
	if (objs == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry stores no manifest");
	if ((err = dml_repo_tree_read(r, &objs->oid, &oi, &on)))
		return err;
	dml_stmt_id(s, "manifest", 0, id);
	dml_hex_encode(hex, id, 32);
	if ((o = dml_tree_find(oi, on, hex, 0)) == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the manifest sha256:%s is not stored", hex);
		goto done;
	}
	if ((err = dml_repo_blob_read(r, &o->oid, &text)))
		goto done;
	/* Readers trust nothing the signed statement does not name by digest. */
	dml_sha256(got, text.data, text.len);
	if (memcmp(got, id, 32) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the manifest sha256:%s does not match its digest",
		    hex);
		goto done;
	}
	if ((err = dml_manifest_decode(&st->m, (const char *)text.data, text.len)))
		goto done;
	dml_stmt_id(s, "file", 0, id);
	if (memcmp(id, st->m.file, 32) != 0 || st->m.size != dml_stmt_u64(s, "size")) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the manifest names another file or size");
		goto done;
	}
	dml_stmt_id(s, "schema", 0, id);
	dml_hex_encode(hex, id, 32);
	if ((o = dml_tree_find(oi, on, hex, 0)) == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the schema sha256:%s is not stored", hex);
		goto done;
	}
	if ((err = dml_repo_blob_read(r, &o->oid, &st->schema)))
		goto done;
	dml_sha256(got, st->schema.data, st->schema.len);
	if (memcmp(got, id, 32) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the schema sha256:%s does not match its digest",
		    hex);
		goto done;
	}
	if (chunks && (err = dml_repo_tree_read(r, &chunks->oid, &st->chunks, &st->nchunks)))
		goto done;
done:
	dml_tree_items_free(oi, on);
	dml_buf_release(&text);
	if (err)
		stored_release(st);
	return err;
}

/*
 * The number of threads for work that splits over cores: `asked` when not
 * 0, else DMLCTL_THREADS when set (0 meaning the default), else one per
 * core.
 */
static const struct dml_error *
thread_count(unsigned asked, unsigned *out)
{
	const char *e = getenv("DMLCTL_THREADS"), *c;
	long n = 0;

	if (asked == 0 && e && *e) {
		/* Plain decimal digits only, like DMLCTL_TIME. */
		for (c = e; *c >= '0' && *c <= '9' && n <= THREADS_MAX; c++)
			n = n * 10 + (*c - '0');
		if (*c || n > THREADS_MAX)
			return dml_error_fmt(DML_ERR_USAGE,
			    "DMLCTL_THREADS='%s' is not a number from 0 to %d", e, THREADS_MAX);
		asked = (unsigned)n;
	}
	if (asked == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		asked = n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (unsigned)n;
	}
	*out = asked > THREADS_MAX ? THREADS_MAX : asked;
	return NULL;
}

/*
 * Reading a dataset back.  Each chunk is read, decompressed and checked
 * against its SHA-256 into a slot of a ring; the calling thread hands the
 * slots' bytes to the callback strictly in file order and hashes the whole
 * file.  With n threads, n - 1 workers and the calling thread (whenever
 * it would otherwise wait) do the per-chunk work in parallel, each taking
 * the next chunk in file order, at most `window` chunks ahead of the one
 * being delivered: memory is `window` chunks, plain and compressed,
 * whatever the file size.  Errors are kept in the
 * slot of the chunk they concern and reported when delivery reaches it, so
 * the first bad chunk in file order is named whatever the timing, and
 * nothing after it reaches the callback.
 */
struct rslot {
	size_t idx;		/* the chunk held, when ready */
	int ready;
	struct dml_buf raw, plain;
	struct dml_error err;	/* why chunk idx failed, or DML_ERR_OK */
};

struct reader {
	const struct stored *st;
	const struct dml_repo *parent;	/* workers open it again */
	struct dml_packs *packs;	/* its packs, for direct reads */
	struct rslot *slots;
	size_t window;
	pthread_mutex_t mu;
	pthread_cond_t ready, space;
	size_t next;		/* the next chunk a worker takes */
	size_t delivered;	/* chunks handed on: their slots are free */
	int stop;
};

/* Per thread: a zstd context and a git handle for chunks not read directly. */
struct rworker {
	struct reader *rd;
	struct dml_repo *repo;	/* the caller's, or opened on first need */
	int own_repo;
	struct dml_zstd *z;
	pthread_t thread;
};

/*
 * Chunks are pack entries in stored zlib form (dml/pack.h), as publish
 * writes them and `git gc` keeps them: unless `slow`, read the entry
 * directly, through libgit2 when that fails (a chunk fetched in another
 * form, or damaged).  The direct read checks neither the object's SHA-1
 * nor the Adler-32, because what is read is checked against the chunk's
 * SHA-256 right after: the stronger check, and the one every link from the
 * signed entry rests on.  *fast says which way it went.
 */
static const struct dml_error *
chunk_object(struct rworker *w, const struct dml_oid *oid, struct dml_buf *raw, int slow,
    int *fast)
{
	const struct dml_error *err;

	*fast = 0;
	if (!slow && ((err = dml_packs_read_blob(w->rd->packs, oid, raw, fast)) || *fast))
		return err;
	if (w->repo == NULL) {
		if ((err = dml_repo_open_again(&w->repo, w->rd->parent)))
			return err;
		w->own_repo = 1;
	}
	return dml_repo_blob_read(w->repo, oid, raw);
}

/* Read, decompress and check chunk idx into s. */
static const struct dml_error *
load_chunk(struct rworker *w, size_t idx, struct rslot *s)
{
	const struct stored *st = w->rd->st;
	const struct dml_chunk_ref *c = &st->m.chunks[idx];
	const struct dml_tree_item *it = find_chunk(st, c->id);
	unsigned char got[32];
	char hex[65];
	const struct dml_error *err;
	int slow = 0, fast;

	dml_hex_encode(hex, c->id, 32);
	if (it == NULL || it->is_tree)
		return dml_error_fmt(DML_ERR_VERIFY, "chunk sha256:%s is missing", hex);
	dml_buf_reset(&s->plain);
	if ((err = dml_buf_grow(&s->plain, c->size)))
		return err;
	/*
	 * A chunk read directly that fails is read again through libgit2,
	 * which checks the object against its name first: a damaged object
	 * is then reported as damaged, as it always was, rather than as data
	 * that does not match its digest.  Only failures pay for it.
	 */
again:
	if ((err = chunk_object(w, &it->oid, &s->raw, slow, &fast)) ||
	    (err = dml_zstd_decompress(w->z, s->plain.data, c->size, s->raw.data, s->raw.len))) {
		if (fast && !slow++)
			goto again;
		return dml_error_fmt(DML_ERR_VERIFY, "chunk sha256:%s is damaged: %s", hex,
		    err->msg);
	}
	s->plain.len = c->size;
	dml_sha256(got, s->plain.data, c->size);
	if (memcmp(got, c->id, 32) != 0) {
		if (fast && !slow++)
			goto again;
		return dml_error_fmt(DML_ERR_VERIFY, "chunk sha256:%s does not match its digest",
		    hex);
	}
	return NULL;
}

/* May a chunk be taken now?  With rd->mu held. */
static int
can_take(const struct reader *rd)
{
	return !rd->stop && rd->next < rd->st->m.nchunks &&
	    rd->next < rd->delivered + rd->window;
}

/*
 * Take the next chunk and load it into its slot; rd->mu is held on entry
 * and on return, and released while the chunk loads.
 */
static void
take_chunk(struct rworker *w)
{
	struct reader *rd = w->rd;
	size_t idx = rd->next++;
	struct rslot *s = &rd->slots[idx % rd->window];
	const struct dml_error *err;

	pthread_mutex_unlock(&rd->mu);
	err = load_chunk(w, idx, s);
	pthread_mutex_lock(&rd->mu);
	if (err)
		dml_error_keep(&s->err, err);
	else
		s->err.code = DML_ERR_OK;
	s->idx = idx;
	s->ready = 1;
	pthread_cond_broadcast(&rd->ready);
}

static void *
reader_main(void *arg)
{
	struct rworker *w = arg;
	struct reader *rd = w->rd;

	pthread_mutex_lock(&rd->mu);
	for (;;) {
		while (!rd->stop && rd->next < rd->st->m.nchunks && !can_take(rd))
			pthread_cond_wait(&rd->space, &rd->mu);
		if (!can_take(rd))
			break;
		take_chunk(w);
	}
	pthread_mutex_unlock(&rd->mu);
	return NULL;
}

/*
 * Stream the plain bytes of every chunk in file order, each checked against
 * its SHA-256 before `fn` sees it; then the whole file against its ID.
 */
static const struct dml_error *
stream_chunks(struct dml_repo *r, const struct stored *st, dml_bytes_fn fn, void *arg,
    void (*progress)(void *arg, uint64_t done, uint64_t total), void *parg)
{
	struct reader rd;
	struct rworker *ws = NULL;
	struct dml_sha256_ctx file;
	unsigned char got[32];
	unsigned nthreads = 1, nworkers = 0, started = 0, t;
	uint64_t done = 0;
	const struct dml_error *err;
	size_t i;

	memset(&rd, 0, sizeof(rd));
	rd.st = st;
	if ((err = thread_count(0, &nthreads)))
		return err;
	/*
	 * One thread does it all; more: workers, and this thread delivers
	 * and, while it would wait, loads chunks too.  ws[nworkers] is this
	 * thread's, with the caller's repository handle.
	 */
	if (nthreads > 1 && st->m.nchunks > 1)
		nworkers = nthreads - 1;
	rd.window = nworkers ? 4 * ((size_t)nworkers + 1) : 1;
	rd.parent = r;
	pthread_mutex_init(&rd.mu, NULL);
	pthread_cond_init(&rd.ready, NULL);
	pthread_cond_init(&rd.space, NULL);
	if ((rd.slots = calloc(rd.window, sizeof(*rd.slots))) == NULL ||
	    (ws = calloc(nworkers + 1, sizeof(*ws))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if ((err = dml_repo_packs_open(r, &rd.packs)))
		goto done;
	for (t = 0; t <= nworkers; t++) {
		ws[t].rd = &rd;
		if ((err = dml_zstd_new(&ws[t].z)))
			goto done;
	}
	ws[nworkers].repo = r;
	/* Fewer workers than asked for only means this thread loads more. */
	for (started = 0; started < nworkers; started++)
		if (pthread_create(&ws[started].thread, NULL, reader_main, &ws[started]) != 0)
			break;
	dml_sha256_init(&file);
	for (i = 0; i < st->m.nchunks; i++) {
		struct rslot *s = &rd.slots[i % rd.window];
		size_t n = st->m.chunks[i].size;

		if (nworkers == 0) {
			if ((err = load_chunk(&ws[nworkers], i, s)))
				goto done;
		} else {
			/*
			 * Rather than sleep until a worker has chunk i ready,
			 * load a chunk ahead of it here: on a busy machine
			 * each sleep and wake-up costs more than the wait.
			 */
			pthread_mutex_lock(&rd.mu);
			while (!(s->ready && s->idx == i)) {
				if (can_take(&rd))
					take_chunk(&ws[nworkers]);
				else
					pthread_cond_wait(&rd.ready, &rd.mu);
			}
			pthread_mutex_unlock(&rd.mu);
			if (s->err.code != DML_ERR_OK) {
				err = dml_error_fmt(s->err.code, "%s", s->err.msg);
				goto done;
			}
		}
		dml_sha256_update(&file, s->plain.data, n);
		if (fn && (err = fn(arg, s->plain.data, n)))
			goto done;
		if (nworkers) {
			pthread_mutex_lock(&rd.mu);
			s->ready = 0;
			rd.delivered = i + 1;
			pthread_cond_broadcast(&rd.space);
			pthread_mutex_unlock(&rd.mu);
		}
		done += n;
		if (progress && (i % 64 == 0 || i + 1 == st->m.nchunks))
			progress(parg, done, st->m.size);
	}
	dml_sha256_final(&file, got);
	if (memcmp(got, st->m.file, 32) != 0)
		err = dml_error_fmt(DML_ERR_VERIFY, "the chunks do not add up to the file's digest");
done:
	pthread_mutex_lock(&rd.mu);
	rd.stop = 1;
	pthread_cond_broadcast(&rd.space);
	pthread_mutex_unlock(&rd.mu);
	for (t = 0; t < started; t++)
		pthread_join(ws[t].thread, NULL);
	for (t = 0; ws && t <= nworkers; t++) {
		dml_zstd_free(ws[t].z);
		if (ws[t].own_repo)
			dml_repo_free(ws[t].repo);
	}
	for (i = 0; rd.slots && i < rd.window; i++) {
		dml_buf_release(&rd.slots[i].raw);
		dml_buf_release(&rd.slots[i].plain);
	}
	free(rd.slots);
	free(ws);
	dml_packs_free(rd.packs);
	pthread_cond_destroy(&rd.ready);
	pthread_cond_destroy(&rd.space);
	pthread_mutex_destroy(&rd.mu);
	return err;
}

/* Parsing the data again to recompute its schema. */
struct reparse {
	struct dml_csv *csv;
	struct dml_schema_builder *sb;
	const struct dml_error *err;
	struct dml_error keep;
	const char *what;
};

static const struct dml_error *
record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct reparse *rp = arg;
	const struct dml_error *err;

	if (line == 1 && dml_csv_records(rp->csv) == 1) {
		if ((err = dml_csv_header_check(f, n, rp->what)))
			return err;
		return dml_schema_builder_new(&rp->sb, f, n);
	}
	return dml_schema_builder_add(rp->sb, f, n);
}

static const struct dml_error *
reparse_feed(void *arg, const unsigned char *p, size_t n)
{
	struct reparse *rp = arg;

	return dml_csv_feed(rp->csv, p, n, record, rp);
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * chunks/ must hold exactly the manifest's distinct chunks.  Both sides are
 * sorted (tree names by git, the IDs here), so one merge walk names the
 * first chunk missing or extra.
 */
static const struct dml_error *
check_chunk_set(const struct stored *st)
{
	unsigned char (*ids)[32] = NULL;
	char hex[65];
	size_t i, t = 0;
	const struct dml_error *err = NULL;

	if (st->m.nchunks && (ids = malloc(st->m.nchunks * 32)) == NULL)
		return dml_error_nomem();
	for (i = 0; i < st->m.nchunks; i++)
		memcpy(ids[i], st->m.chunks[i].id, 32);
	if (st->m.nchunks)
		qsort(ids, st->m.nchunks, 32, id_cmp);
	for (i = 0; i < st->m.nchunks && err == NULL; i++) {
		if (i > 0 && memcmp(ids[i], ids[i - 1], 32) == 0)
			continue;
		dml_hex_encode(hex, ids[i], 32);
		if (t < st->nchunks && strcmp(st->chunks[t].name, hex) < 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "chunks/%.64s is not in the manifest",
			    st->chunks[t].name);
		else if (t == st->nchunks || strcmp(st->chunks[t].name, hex) != 0)
			err = dml_error_fmt(DML_ERR_VERIFY, "chunk sha256:%s is missing", hex);
		else
			t++;
	}
	if (err == NULL && t < st->nchunks)
		err = dml_error_fmt(DML_ERR_VERIFY, "chunks/%.64s is not in the manifest",
		    st->chunks[t].name);
	free(ids);
	return err;
}

/* Everything verify_store checks, for one entry. */
static const struct dml_error *
verify_entry(struct dml_repo *r, const struct dml_stmt *s, const struct dml_tree_item *items,
    size_t n)
{
	struct stored st;
	struct reparse rp;
	struct dml_schema *schema = NULL;
	struct dml_buf text = DML_BUF_INIT;
	char fmt[DML_TOKEN_MAX + 1];
	const struct dml_error *err;

	memset(&rp, 0, sizeof(rp));
	rp.what = "the stored data";
	if ((err = stored_load(r, s, items, n, &st)))
		return err;
	if ((err = check_chunk_set(&st)))
		goto done;
	dml_stmt_str(s, "format", fmt, sizeof(fmt));
	if ((err = dml_csv_new(&rp.csv, strcmp(fmt, "tsv") == 0 ? '\t' : ',', rp.what)) ||
	    (err = stream_chunks(r, &st, reparse_feed, &rp, NULL, NULL)) ||
	    (err = dml_csv_finish(rp.csv, record, &rp)))
		goto done;
	if (rp.sb == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the stored data has no header");
		goto done;
	}
	err = dml_schema_builder_finish(rp.sb, &schema);
	rp.sb = NULL;
	if (err || (err = dml_schema_encode(schema, &text)))
		goto done;
	if (text.len != st.schema.len || memcmp(text.data, st.schema.data, text.len) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the stored schema differs from the data's");
		goto done;
	}
	if (schema->rows != dml_stmt_u64(s, "rows") || schema->ncols != dml_stmt_u64(s, "columns"))
		err = dml_error_fmt(DML_ERR_VERIFY, "rows or columns differ from the data's");
done:
	dml_schema_free(schema);
	dml_schema_builder_free(rp.sb);
	dml_csv_free(rp.csv);
	dml_buf_release(&text);
	stored_release(&st);
	return err;
}

static const char *const publish_store[] = { CHUNKS_DIR, NULL };

const struct dml_entry_type dml_type_dataset_publish = {
	.name = "dataset.publish",
	.fields = publish_fields,
	.nfields = sizeof(publish_fields) / sizeof(publish_fields[0]),
	.check = publish_check,
	.apply = publish_apply,
	.store = publish_store,
	.verify_store = verify_entry,
};

static const struct dml_error *
entry_items(struct dml_ledger *l, uint64_t seq, struct dml_stmt **s, struct dml_tree_item **items,
    size_t *n)
{
	const struct dml_error *err;

	*items = NULL;
	*n = 0;
	if ((err = dml_ledger_read(l, seq, s, NULL)))
		return err;
	if (strcmp((*s)->type->name, "dataset.publish") != 0) {
		dml_stmt_free(*s);
		*s = NULL;
		return dml_error_fmt(DML_ERR_NOTFOUND, "entry %llu is not a dataset",
		    (unsigned long long)seq);
	}
	if ((err = dml_ledger_read_tree(l, seq, items, n))) {
		dml_stmt_free(*s);
		*s = NULL;
	}
	return err;
}

const struct dml_error *
dml_dataset_verify(struct dml_ledger *l, uint64_t seq)
{
	struct dml_stmt *s;
	struct dml_tree_item *items;
	size_t n;
	const struct dml_error *err;

	if ((err = entry_items(l, seq, &s, &items, &n)))
		return err;
	err = verify_entry(dml_ledger_repo(l), s, items, n);
	dml_tree_items_free(items, n);
	dml_stmt_free(s);
	return err;
}

const struct dml_error *
dml_dataset_schema_text(struct dml_ledger *l, uint64_t seq, struct dml_buf *out)
{
	struct dml_stmt *s;
	struct dml_tree_item *items;
	struct stored st;
	size_t n;
	const struct dml_error *err;

	if ((err = entry_items(l, seq, &s, &items, &n)))
		return err;
	if ((err = stored_load(dml_ledger_repo(l), s, items, n, &st)) == NULL) {
		dml_buf_reset(out);
		err = dml_buf_add(out, st.schema.data, st.schema.len);
		stored_release(&st);
	}
	dml_tree_items_free(items, n);
	dml_stmt_free(s);
	return err;
}

static const struct dml_error *
write_all(void *arg, const unsigned char *p, size_t n)
{
	int fd = *(int *)arg;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return dml_error_errno(errno, "cannot write the dataset");
		p += w;
		n -= (size_t)w;
	}
	return NULL;
}

struct dml_dataset_in {
	struct dml_dataset_info info;
	struct dml_repo *r;
	struct stored st;
};

void
dml_dataset_close(struct dml_dataset_in *in)
{
	if (in == NULL)
		return;
	stored_release(&in->st);
	dml_schema_free(in->info.schema);
	dml_stmt_free(in->info.stmt);
	free(in);
}

const struct dml_error *
dml_dataset_open_tree(struct dml_dataset_in **out, struct dml_repo *r, const struct dml_oid *tree,
    const unsigned char entry[32])
{
	struct dml_tree_item *items = NULL;
	const struct dml_tree_item *it;
	struct dml_buf text = DML_BUF_INIT;
	struct dml_dataset_in *in;
	char fmt[DML_TOKEN_MAX + 1];
	unsigned char id[32];
	size_t n = 0;
	const struct dml_error *err;

	*out = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return dml_error_nomem();
	in->r = r;
	in->info.tree = *tree;
	dml_manifest_init(&in->st.m);
	if ((err = dml_repo_tree_read(r, tree, &items, &n)))
		goto done;
	if ((it = dml_tree_find(items, n, "statement", 0)) == NULL) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the dataset tree holds no statement");
		goto done;
	}
	if ((err = dml_repo_blob_read(r, &it->oid, &text)) ||
	    (err = dml_stmt_parse(&in->info.stmt, (const char *)text.data, text.len)))
		goto done;
	if (strcmp(in->info.stmt->type->name, "dataset.publish") != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the dataset tree holds a %s statement",
		    in->info.stmt->type->name);
		goto done;
	}
	dml_stmt_id(in->info.stmt, "file", 0, id);
	if (entry && memcmp(in->info.stmt->id, entry, 32) != 0) {
		err = dml_error_fmt(DML_ERR_VERIFY, "the dataset tree holds another entry");
		goto done;
	}
	if ((err = stored_load(r, in->info.stmt, items, n, &in->st)) ||
	    (err = dml_schema_decode(&in->info.schema, (const char *)in->st.schema.data,
	    in->st.schema.len)))
		goto done;
	dml_stmt_str(in->info.stmt, "name", in->info.name, sizeof(in->info.name));
	in->info.version = dml_stmt_u64(in->info.stmt, "version");
	memcpy(in->info.file, id, 32);
	in->info.size = dml_stmt_u64(in->info.stmt, "size");
	dml_stmt_str(in->info.stmt, "format", fmt, sizeof(fmt));
	in->info.sep = strcmp(fmt, "tsv") == 0 ? '\t' : ',';
	*out = in;
	in = NULL;
done:
	dml_dataset_close(in);
	dml_buf_release(&text);
	dml_tree_items_free(items, n);
	return err;
}

const struct dml_error *
dml_dataset_open(struct dml_dataset_in **out, struct dml_ledger *l, uint64_t seq)
{
	struct dml_stmt *s;
	struct dml_oid commit;
	struct dml_commit_info ci;
	const struct dml_error *err;

	*out = NULL;
	if ((err = dml_ledger_read(l, seq, &s, &commit)))
		return err;
	if (strcmp(s->type->name, "dataset.publish") != 0)
		err = dml_error_fmt(DML_ERR_NOTFOUND, "entry %llu is not a dataset",
		    (unsigned long long)seq);
	dml_stmt_free(s);
	if (err || (err = dml_repo_commit_read(dml_ledger_repo(l), &commit, &ci)))
		return err;
	err = dml_dataset_open_tree(out, dml_ledger_repo(l), &ci.tree, NULL);
	dml_commit_info_release(&ci);
	return err;
}

const struct dml_dataset_info *
dml_dataset_info(const struct dml_dataset_in *in)
{
	return &in->info;
}

const struct dml_error *
dml_dataset_stream(struct dml_dataset_in *in, dml_bytes_fn fn, void *arg,
    void (*progress)(void *arg, uint64_t done, uint64_t total), void *parg)
{
	return stream_chunks(in->r, &in->st, fn, arg, progress, parg);
}

const struct dml_error *
dml_dataset_get(struct dml_ledger *l, uint64_t seq, int fd,
    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
	struct dml_dataset_in *in;
	const struct dml_error *err;

	if ((err = dml_dataset_open(&in, l, seq)))
		return err;
	err = dml_dataset_stream(in, write_all, &fd, progress, arg);
	dml_dataset_close(in);
	return err;
}

/* ---- publishing ---- */

/* An open-addressing index: chunk SHA-256 -> the git blob that stores it. */
struct chunk_index {
	struct slot {
		unsigned char id[32];
		struct dml_oid oid;
		int used, listed;	/* listed: already in this publish's chunks/ tree */
		size_t job;		/* this publish's compression job, or SIZE_MAX */
	} *slots;
	size_t cap, n;
};

static uint64_t
slot_hash(const unsigned char id[32])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));	/* a SHA-256 is uniform already */
	return h;
}

static const struct dml_error *
index_grow(struct chunk_index *x)
{
	struct chunk_index nx;
	size_t i;

	nx.cap = x->cap ? x->cap * 2 : 1024;
	nx.n = 0;
	if ((nx.slots = calloc(nx.cap, sizeof(*nx.slots))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < x->cap; i++)
		if (x->slots[i].used) {
			size_t j = slot_hash(x->slots[i].id) & (nx.cap - 1);
			while (nx.slots[j].used)
				j = (j + 1) & (nx.cap - 1);
			nx.slots[j] = x->slots[i];
			nx.n++;
		}
	free(x->slots);
	*x = nx;
	return NULL;
}

/* The slot for id: found (used) or where it would go. */
static struct slot *
index_slot(struct chunk_index *x, const unsigned char id[32])
{
	size_t j = slot_hash(id) & (x->cap - 1);

	while (x->slots[j].used && memcmp(x->slots[j].id, id, 32) != 0)
		j = (j + 1) & (x->cap - 1);
	return &x->slots[j];
}

static const struct dml_error *
index_put(struct chunk_index *x, const unsigned char id[32], const struct dml_oid *oid, size_t job)
{
	const struct dml_error *err;
	struct slot *sl;

	if ((x->n + 1) * 4 > x->cap * 3 && (err = index_grow(x)))
		return err;
	sl = index_slot(x, id);
	if (!sl->used) {
		memcpy(sl->id, id, 32);
		if (oid)
			sl->oid = *oid;
		sl->used = 1;
		sl->job = job;
		x->n++;
	}
	return NULL;
}

/* Every chunk that earlier dataset entries store. */
static const struct dml_error *
index_load(struct dml_ledger *l, struct chunk_index *x)
{
	const struct dml_state *st = dml_ledger_state(l);
	const struct dml_error *err = NULL;
	size_t d, v, i;

	if ((err = index_grow(x)))
		return err;
	for (d = 0; d < st->ndatasets && err == NULL; d++)
		for (v = 0; v < st->datasets[d].nversions && err == NULL; v++) {
			struct dml_tree_item *items = NULL, *chunks = NULL;
			const struct dml_tree_item *c;
			size_t n = 0, nc = 0;

			if ((err = dml_ledger_read_tree(l, st->datasets[d].versions[v].seq, &items, &n)))
				break;
			if ((c = dml_tree_find(items, n, CHUNKS_DIR, 1)) != NULL)
				err = dml_repo_tree_read(dml_ledger_repo(l), &c->oid, &chunks, &nc);
			for (i = 0; i < nc && err == NULL; i++) {
				unsigned char id[32];
				if (dml_hex_decode(id, 32, chunks[i].name, strlen(chunks[i].name)) == 0)
					err = index_put(x, id, &chunks[i].oid, SIZE_MAX);
			}
			dml_tree_items_free(chunks, nc);
			dml_tree_items_free(items, n);
		}
	return err;
}

/*
 * A bounded queue between threads: push blocks while full, pop blocks while
 * empty, and pop returns NULL once the queue is closed and drained.
 */
struct queue {
	pthread_mutex_t mu;
	pthread_cond_t more, less;
	void **items;
	size_t cap, head, n;
	int closed;
};

static int
queue_init(struct queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	if ((q->items = calloc(cap, sizeof(*q->items))) == NULL)
		return -1;
	q->cap = cap;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->less, NULL);
	return 0;
}

static void
queue_destroy(struct queue *q)
{
	if (q->items == NULL)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->less);
	free(q->items);
	q->items = NULL;
}

static void
queue_push(struct queue *q, void *item)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == q->cap)
		pthread_cond_wait(&q->less, &q->mu);
	q->items[(q->head + q->n++) % q->cap] = item;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->mu);
}

static void *
queue_pop(struct queue *q)
{
	void *item = NULL;

	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && !q->closed)
		pthread_cond_wait(&q->more, &q->mu);
	if (q->n > 0) {
		item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		pthread_cond_signal(&q->less);
	}
	pthread_mutex_unlock(&q->mu);
	return item;
}

static void
queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->mu);
}

/*
 * Input is read into blocks: each starts with the bytes of the block before
 * it that no chunk took yet (fewer than cdc.max), then up to READ_SIZE new
 * bytes.  The CSV thread and the chunk workers read a block where it is,
 * each holding a reference; the last to let go puts it on the free list.
 * So the input is never copied whole, and the blocks alive are bounded by
 * the queues: the reader's, one per queued or running job.
 */
struct block {
	atomic_uint refs;
	struct block *next;	/* on the free list */
	unsigned char data[];
};

/* The bytes just read into a block, for the CSV thread. */
struct piece {
	struct block *b;
	const unsigned char *p;
	size_t n;
};

/*
 * One chunk, in file order.  The reading thread hashes it; when no chunk
 * with the same bytes came before it (in this file or an earlier entry),
 * it is fresh, and a worker compresses and stores it.
 */
struct cjob {
	const unsigned char *p;	/* when fresh: its bytes, in a block */
	uint32_t n;
	int fresh;
	size_t seq;		/* its place in the file */
	size_t turn;		/* when fresh: its place in the pack */
	unsigned char id[32];
	struct dml_pack_obj po;	/* when fresh: its object */
	size_t csize;
	/* Done out of order, waiting for its turn to go into the pack: */
	unsigned char *entry;	/* its pack entry when fresh */
	size_t entry_len;
	struct cjob *next_done;
};

/*
 * A batch starts at most this many turns per worker ahead of the pack:
 * about 8 MiB of chunks, twice what a full queue holds (4 batches per
 * worker of about 16 chunks each), so the bound seldom makes anyone wait.
 */
#define WINDOW_PER_WORKER 128

/* Jobs live until the end, in pages that never move. */
#define JOBS_PER_PAGE 1024

/*
 * The fresh chunks cut from one block go to a worker together: one queue
 * item, one wake-up, per block rather than per chunk.
 */
struct batch {
	struct block *b;
	size_t n;
	struct cjob *jobs[];	/* workers never look jobs up by number */
};

/*
 * The publisher.  This thread reads, hashes the whole file, cuts chunks,
 * hashes them and looks them up; one thread parses the CSV and infers the
 * schema; workers (one per core unless asked otherwise) compress the fresh
 * chunks.  That is the shape of zstd -T<n>, whose n workers compress while
 * other threads read and write: with one worker, reading and parsing run
 * beside the compression instead of taking turns with it.  Each queue is
 * bounded, and so is how far workers run ahead of the pack, so memory is
 * too.  New chunks go into one pack (dml/pack.h), in file order whichever
 * worker finished first, so the pack's bytes do not depend on the threads;
 * so is the manifest, assembled from the jobs at the end.
 * One pack rather than a loose object per chunk: a file system creates
 * thousands of small files more slowly than zstd compresses them.
 */
struct publisher {
	struct dml_ledger *l;
	const struct dml_publish_opts *o;
	struct dml_packw *pack;
	pthread_mutex_t packmu;		/* workers append in turn */
	pthread_cond_t packed;		/* pack_next moved, or a thread failed */
	atomic_size_t pack_next;	/* the turn due next in the pack (moved under packmu) */
	struct cjob *done;		/* jobs done before their turn, by turn */
	size_t window;			/* how far ahead of pack_next a batch may start */
	struct dml_csv *csv;
	struct dml_schema_builder *sb;
	struct dml_cdc_params cdc;
	struct chunk_index index;	/* this thread's alone */
	struct dml_manifest m;
	struct dml_sha256_ctx file;
	struct cjob **pages;
	size_t njobs, npages, nfresh;
	size_t block_size;
	pthread_mutex_t blockmu;
	struct block *free_blocks;
	struct queue csvq, zq;
	pthread_t csv_thread, *workers;
	unsigned nworkers;		/* started so far */
	int csv_started;
	atomic_int failed;		/* a thread failed: stop early */
	pthread_mutex_t errmu;
	struct dml_error err;		/* the first failure of a thread */
	uint64_t stored;		/* compressed bytes of the fresh chunks */
};

static struct cjob *
job_at(const struct publisher *p, size_t i)
{
	return &p->pages[i / JOBS_PER_PAGE][i % JOBS_PER_PAGE];
}

static struct block *
block_get(struct publisher *p)
{
	struct block *b;

	pthread_mutex_lock(&p->blockmu);
	if ((b = p->free_blocks) != NULL)
		p->free_blocks = b->next;
	pthread_mutex_unlock(&p->blockmu);
	if (b == NULL && (b = malloc(sizeof(*b) + p->block_size)) == NULL)
		return NULL;
	atomic_store(&b->refs, 1);
	b->next = NULL;
	return b;
}

static void
block_put(struct publisher *p, struct block *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	pthread_mutex_lock(&p->blockmu);
	b->next = p->free_blocks;
	p->free_blocks = b;
	pthread_mutex_unlock(&p->blockmu);
}

static void
set_error(struct publisher *p, const struct dml_error *err)
{
	pthread_mutex_lock(&p->errmu);
	if (p->err.code == DML_ERR_OK)
		dml_error_keep(&p->err, err);
	pthread_mutex_unlock(&p->errmu);
	atomic_store(&p->failed, 1);
	pthread_mutex_lock(&p->packmu);
	pthread_cond_broadcast(&p->packed);	/* the reader may wait there */
	pthread_mutex_unlock(&p->packmu);
}

static const struct dml_error *
pub_record(void *arg, uint64_t line, const struct dml_csv_field *f, size_t n)
{
	struct publisher *p = arg;
	const struct dml_error *err;

	(void)line;
	if (p->sb == NULL) {
		if ((err = dml_csv_header_check(f, n, p->o->what)))
			return err;
		return dml_schema_builder_new(&p->sb, f, n);
	}
	return dml_schema_builder_add(p->sb, f, n);
}

static void *
csv_main(void *arg)
{
	struct publisher *p = arg;
	struct piece *c;
	const struct dml_error *err = NULL;

	while ((c = queue_pop(&p->csvq)) != NULL) {
		if (err == NULL && !atomic_load(&p->failed) &&
		    (err = dml_csv_feed(p->csv, c->p, c->n, pub_record, p)))
			set_error(p, err);
		block_put(p, c->b);
		free(c);
	}
	if (err == NULL && !atomic_load(&p->failed) &&
	    (err = dml_csv_finish(p->csv, pub_record, p)))
		set_error(p, err);
	return NULL;
}

/* Compress a fresh chunk and make its pack entry. */
static const struct dml_error *
chunk_work(struct dml_zstd *z, struct dml_buf *packed, struct dml_buf *entry, struct cjob *j)
{
	const struct dml_error *err;

	if ((err = dml_zstd_compress(z, packed, j->p, j->n, DML_ZSTD_LEVEL)))
		return err;
	j->csize = packed->len;
	entry->len = 0;
	return dml_pack_entry(entry, &j->po, DML_OBJ_BLOB, packed->data, packed->len);
}

/*
 * Fresh job j is done, its entry in `entry`: into the pack if its turn has
 * come, with whatever finished before its turn and now follows it; else it
 * waits in p->done, holding its entry.
 */
static const struct dml_error *
pack_in_turn(struct publisher *p, struct cjob *j, struct dml_buf *entry)
{
	const struct dml_error *err = NULL;
	struct cjob **at;

	pthread_mutex_lock(&p->packmu);
	if (j->turn != atomic_load(&p->pack_next)) {
		if ((j->entry = (unsigned char *)dml_buf_detach(entry, &j->entry_len)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (at = &p->done; *at && (*at)->turn < j->turn; at = &(*at)->next_done)
			;
		j->next_done = *at;
		*at = j;
		goto done;
	}
	err = dml_packw_add(p->pack, &j->po, entry->data, entry->len);
	atomic_fetch_add(&p->pack_next, 1);
	while (err == NULL && p->done && p->done->turn == atomic_load(&p->pack_next)) {
		struct cjob *q = p->done;
		p->done = q->next_done;
		err = dml_packw_add(p->pack, &q->po, q->entry, q->entry_len);
		free(q->entry);
		q->entry = NULL;
		atomic_fetch_add(&p->pack_next, 1);
	}
	pthread_cond_broadcast(&p->packed);
done:
	pthread_mutex_unlock(&p->packmu);
	return err;
}

static void *
worker_main(void *arg)
{
	struct publisher *p = arg;
	struct dml_zstd *z = NULL;
	struct dml_buf packed = DML_BUF_INIT, entry = DML_BUF_INIT;
	const struct dml_error *err = dml_zstd_new(&z);
	struct batch *t;
	size_t i;

	if (err)
		set_error(p, err);
	while ((t = queue_pop(&p->zq)) != NULL) {
		for (i = 0; i < t->n; i++) {
			struct cjob *j = t->jobs[i];
			if (err == NULL && !atomic_load(&p->failed) &&
			    ((err = chunk_work(z, &packed, &entry, j)) ||
			    (err = pack_in_turn(p, j, &entry))))
				set_error(p, err);
		}
		block_put(p, t->b);
		free(t);
	}
	dml_zstd_free(z);
	dml_buf_release(&packed);
	dml_buf_release(&entry);
	return NULL;
}

/* The bytes just read: to the CSV parser. */
static const struct dml_error *
pub_csv(struct publisher *p, struct block *b, const unsigned char *data, size_t n)
{
	struct piece *c;

	if ((c = malloc(sizeof(*c))) == NULL)
		return dml_error_nomem();
	c->b = b;
	c->p = data;
	c->n = n;
	atomic_fetch_add(&b->refs, 1);
	queue_push(&p->csvq, c);
	return NULL;
}

/*
 * A chunk cut: hashed and looked up here, in file order, so that the first
 * of equal chunks is the one stored whatever the threads do; when fresh, a
 * job for pub_batch() to hand to a worker.
 */
static const struct dml_error *
pub_chunk(struct publisher *p, const unsigned char *data, size_t n)
{
	const struct dml_error *err;
	struct cjob *j;

	if (p->njobs == p->npages * JOBS_PER_PAGE) {
		struct cjob **np = realloc(p->pages, (p->npages + 1) * sizeof(*np));
		if (np == NULL)
			return dml_error_nomem();
		p->pages = np;
		if ((np[p->npages] = calloc(JOBS_PER_PAGE, sizeof(**np))) == NULL)
			return dml_error_nomem();
		p->npages++;
	}
	j = job_at(p, p->njobs);
	j->seq = p->njobs++;
	j->n = (uint32_t)n;
	dml_sha256(j->id, data, n);
	/* Stored before, by this or an earlier entry? */
	if (index_slot(&p->index, j->id)->used)
		return NULL;
	if ((err = index_put(&p->index, j->id, NULL, j->seq)))
		return err;
	j->fresh = 1;
	j->turn = p->nfresh++;
	j->p = data;
	return NULL;
}

/*
 * The fresh jobs from `first` on, all cut from b: to a worker.  Jobs done
 * before their turn wait in memory, so a batch waits here while it would
 * start more than p->window turns after the next one due: however slow
 * one worker is, the others get no further ahead than that.
 */
static const struct dml_error *
pub_batch(struct publisher *p, struct block *b, size_t first)
{
	struct batch *t;
	size_t i;

	if (first == p->njobs)
		return NULL;
	if ((t = malloc(sizeof(*t) + (p->njobs - first) * sizeof(t->jobs[0]))) == NULL)
		return dml_error_nomem();
	t->b = b;
	t->n = 0;
	for (i = first; i < p->njobs; i++)
		if (job_at(p, i)->fresh)
			t->jobs[t->n++] = job_at(p, i);
	if (t->n == 0) {
		free(t);
		return NULL;
	}
	/* Seldom true: the lock is taken only to wait. */
	if (t->jobs[0]->turn - atomic_load(&p->pack_next) > p->window) {
		pthread_mutex_lock(&p->packmu);
		while (t->jobs[0]->turn - atomic_load(&p->pack_next) > p->window &&
		    !atomic_load(&p->failed))
			pthread_cond_wait(&p->packed, &p->packmu);
		pthread_mutex_unlock(&p->packmu);
	}
	atomic_fetch_add(&b->refs, 1);
	queue_push(&p->zq, t);
	return NULL;
}

/* Stop the threads; afterwards every job's result is in place. */
static void
pub_join(struct publisher *p)
{
	unsigned i;

	if (p->csv_started) {
		queue_close(&p->csvq);
		pthread_join(p->csv_thread, NULL);
		p->csv_started = 0;
	}
	if (p->workers) {
		queue_close(&p->zq);
		for (i = 0; i < p->nworkers; i++)
			pthread_join(p->workers[i], NULL);
		free(p->workers);
		p->workers = NULL;
	}
}

/* The chunks/ tree: each distinct chunk of this file once. */
static const struct dml_error *
chunk_tree(struct publisher *p, struct dml_oid *out)
{
	struct dml_tree_item *items;
	size_t n = 0, i;
	const struct dml_error *err = NULL;
	char *names;

	if ((items = calloc(p->m.nchunks ? p->m.nchunks : 1, sizeof(*items))) == NULL ||
	    (names = malloc((p->m.nchunks ? p->m.nchunks : 1) * 65)) == NULL) {
		free(items);
		return dml_error_nomem();
	}
	for (i = 0; i < p->m.nchunks; i++) {
		struct slot *sl = index_slot(&p->index, p->m.chunks[i].id);
		char *name = names + n * 65;

		if (sl->listed)
			continue;	/* a file may repeat a chunk: list it once */
		sl->listed = 1;
		if (sl->job != SIZE_MAX)
			sl->oid = job_at(p, sl->job)->po.oid;
		dml_hex_encode(name, p->m.chunks[i].id, 32);
		items[n].name = name;
		items[n].oid = sl->oid;
		items[n].is_tree = 0;
		n++;
	}
	err = dml_repo_tree_write(dml_ledger_repo(p->l), out, items, n);
	free(names);
	free(items);
	return err;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ino == b->st_ino;
}

const struct dml_error *
dml_dataset_publish(struct dml_ledger *l, const struct dml_key *k, int fd,
    const struct dml_publish_opts *o, struct dml_publish_result *res)
{
	struct publisher p;
	struct dml_schema *schema = NULL;
	struct dml_buf mtext = DML_BUF_INIT, stext = DML_BUF_INIT;
	struct dml_attachment att[2];
	struct dml_tree_item extra;
	struct dml_stmt_builder b;
	const struct dml_dataset_head *h;
	struct stat st0, st1;
	struct block *cur = NULL;
	const char *objdir;
	size_t len = 0, cap;
	uint64_t total = 0;
	off_t offset = 0;
	int regular, eof = 0;
	unsigned nthreads;
	size_t i;
	char id[DML_ID_LEN + 1];
	const struct dml_error *err;

	memset(&p, 0, sizeof(p));
	memset(res, 0, sizeof(*res));
	p.l = l;
	p.o = o;
	pthread_mutex_init(&p.errmu, NULL);
	pthread_mutex_init(&p.blockmu, NULL);
	pthread_mutex_init(&p.packmu, NULL);
	pthread_cond_init(&p.packed, NULL);
	atomic_init(&p.failed, 0);
	atomic_init(&p.pack_next, 0);
	dml_manifest_init(&p.m);
	dml_stmt_builder_init(&b, "dataset.publish");
	if (fstat(fd, &st0) != 0) {
		err = dml_error_errno(errno, "cannot read '%s'", o->what);
		goto done;
	}
	regular = S_ISREG(st0.st_mode);
	/* Standard input may start part-way into a file. */
	if (regular && (offset = lseek(fd, 0, SEEK_CUR)) < 0)
		offset = 0;
	/* Refuse a name owned by another key before reading anything. */
	if ((h = dml_dataset_find(dml_ledger_state(l), o->name)) != NULL &&
	    memcmp(h->owner.pk, k->pub.pk, DML_PUBKEY_LEN) != 0) {
		char owner[DML_KEY_ID_LEN + 1];
		dml_pubkey_id(owner, &h->owner);
		err = dml_error_fmt(DML_ERR_DENIED,
		    "dataset '%s' belongs to '%s': only its owner may publish new versions", o->name,
		    owner);
		goto done;
	}
	if (dml_cdc_params_init(&p.cdc, DML_CDC_MIN, DML_CDC_AVG, DML_CDC_MAX) != 0) {
		err = dml_error_fmt(DML_ERR_INTERNAL, "bad chunking parameters");
		goto done;
	}
	cap = p.block_size = READ_SIZE + p.cdc.max;
	if ((err = dml_csv_new(&p.csv, o->sep, o->what)) || (err = index_load(l, &p.index)))
		goto done;
	if ((objdir = dml_repo_objects_dir(dml_ledger_repo(l))) == NULL) {
		err = dml_error_fmt(DML_ERR_IO, "cannot find the object directory");
		goto done;
	}
	if ((err = dml_packw_new(&p.pack, objdir)))
		goto done;
	if ((err = thread_count(o->threads, &nthreads)))
		goto done;
	/* Compression is most of the work: one worker per thread asked for. */
	p.window = WINDOW_PER_WORKER * (size_t)nthreads;
	if (queue_init(&p.csvq, 4) || queue_init(&p.zq, 4 * (size_t)nthreads) ||
	    (p.workers = calloc(nthreads, sizeof(*p.workers))) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if (pthread_create(&p.csv_thread, NULL, csv_main, &p) != 0) {
		err = dml_error_fmt(DML_ERR_INTERNAL, "cannot start a thread");
		goto done;
	}
	p.csv_started = 1;
	/* Fewer workers than asked for still do all the work. */
	for (; p.nworkers < nthreads; p.nworkers++)
		if (pthread_create(&p.workers[p.nworkers], NULL, worker_main, &p) != 0)
			break;
	if (p.nworkers == 0) {
		err = dml_error_fmt(DML_ERR_INTERNAL, "cannot start a thread");
		goto done;
	}
	dml_sha256_init(&p.file);
	if ((cur = block_get(&p)) == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	while (!eof) {
		ssize_t r = read(fd, cur->data + len, cap - len);
		size_t start = 0, first;
		struct block *next;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dml_error_errno(errno, "cannot read '%s'", o->what);
			goto done;
		}
		eof = r == 0;
		if (atomic_load(&p.failed))
			break;
		if (r > 0) {
			dml_sha256_update(&p.file, cur->data + len, (size_t)r);
			if ((err = pub_csv(&p, cur, cur->data + len, (size_t)r)))
				goto done;
			len += (size_t)r;
			total += (size_t)r;
			if (o->progress)
				o->progress(o->arg, total, regular ? (uint64_t)st0.st_size : 0);
			if (len < cap)
				continue;	/* fill the block before cutting */
		}
		first = p.njobs;
		for (;;) {
			size_t c = dml_cdc_cut(&p.cdc, cur->data + start, len - start, eof);
			if (c == 0)
				break;
			if ((err = pub_chunk(&p, cur->data + start, c)))
				goto done;
			start += c;
		}
		if ((err = pub_batch(&p, cur, first)))
			goto done;
		if (eof)
			break;
		/* The uncut tail starts the next block. */
		if ((next = block_get(&p)) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		memcpy(next->data, cur->data + start, len - start);
		len -= start;
		block_put(&p, cur);
		cur = next;
	}
	block_put(&p, cur);
	cur = NULL;
	pub_join(&p);
	if (p.err.code != DML_ERR_OK) {
		err = dml_error_fmt(p.err.code, "%s", p.err.msg);
		goto done;
	}
	if (atomic_load(&p.pack_next) != p.nfresh) {
		err = dml_error_fmt(DML_ERR_INTERNAL, "a chunk was not packed");
		goto done;
	}
	for (i = 0; i < p.njobs; i++) {
		const struct cjob *j = job_at(&p, i);
		if ((err = dml_manifest_add(&p.m, j->id, j->n)))
			goto done;
		if (j->fresh)
			p.stored += j->csize;
	}
	if (p.sb == NULL) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' is empty: expected a header and rows", o->what);
		goto done;
	}
	err = dml_schema_builder_finish(p.sb, &schema);
	p.sb = NULL;
	if (err)
		goto done;
	if (schema->rows == 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' has a header but no rows", o->what);
		goto done;
	}
	if (regular && (fstat(fd, &st1) != 0 || !same_file(&st0, &st1) ||
	    total + (uint64_t)offset != (uint64_t)st0.st_size)) {
		err = dml_error_fmt(DML_ERR_IO, "'%s' changed while it was read", o->what);
		goto done;
	}
	/* The chunks are in place before anything names them. */
	if ((err = dml_packw_finish(p.pack)))
		goto done;
	dml_repo_objects_refresh(dml_ledger_repo(l));
	dml_sha256_final(&p.file, p.m.file);
	p.m.size = total;
	p.m.cdc_min = p.cdc.min;
	p.m.cdc_avg = p.cdc.avg;
	p.m.cdc_max = p.cdc.max;
	p.m.level = DML_ZSTD_LEVEL;
	if ((err = dml_manifest_encode(&p.m, &mtext)) || (err = dml_schema_encode(schema, &stext)))
		goto done;
	att[0] = (struct dml_attachment){ mtext.data, mtext.len, { 0 } };
	att[1] = (struct dml_attachment){ stext.data, stext.len, { 0 } };
	dml_attachment_hash(&att[0]);
	dml_attachment_hash(&att[1]);
	extra.name = (char *)CHUNKS_DIR;
	extra.is_tree = 1;
	if ((err = chunk_tree(&p, &extra.oid)))
		goto done;
	h = dml_dataset_find(dml_ledger_state(l), o->name);
	if ((err = dml_stmt_builder_add(&b, "name", o->name)) ||
	    (err = dml_stmt_builder_addf(&b, "version", "%llu",
	    (unsigned long long)(h ? h->nversions + 1 : 1))))
		goto done;
	if (h) {
		dml_id_format(id, h->last);
		if ((err = dml_stmt_builder_add(&b, "previous", id)))
			goto done;
	}
	dml_id_format(id, p.m.file);
	if ((err = dml_stmt_builder_add(&b, "file", id)) ||
	    (err = dml_stmt_builder_addf(&b, "size", "%llu", (unsigned long long)total)) ||
	    (err = dml_stmt_builder_add(&b, "format", o->sep == '\t' ? "tsv" : "csv")))
		goto done;
	dml_id_format(id, att[0].id);
	if ((err = dml_stmt_builder_add(&b, "manifest", id)))
		goto done;
	dml_id_format(id, att[1].id);
	if ((err = dml_stmt_builder_add(&b, "schema", id)) ||
	    (err = dml_stmt_builder_addf(&b, "rows", "%llu", (unsigned long long)schema->rows)) ||
	    (err = dml_stmt_builder_addf(&b, "columns", "%zu", schema->ncols)) ||
	    (o->license && (err = dml_stmt_builder_add(&b, "license", o->license))) ||
	    (err = dml_stmt_builder_addf(&b, "price", "%llu", (unsigned long long)o->price)) ||
	    (err = dml_stmt_builder_add(&b, "allow", o->allow)) ||
	    (o->description && (err = dml_stmt_builder_add(&b, "description", o->description))))
		goto done;
	if ((err = dml_ledger_append_store(l, k, &b, o->time, att, 2, &extra, 1, &res->stmt)))
		goto done;
	res->size = total;
	res->stored = p.stored;
	res->nchunks = p.m.nchunks;
	res->newchunks = p.nfresh;
	res->rows = schema->rows;
	res->columns = schema->ncols;
done:
	if (err)
		atomic_store(&p.failed, 1);	/* the threads stop early too */
	pub_join(&p);
	block_put(&p, cur);
	while (p.free_blocks) {
		struct block *fb = p.free_blocks;
		p.free_blocks = fb->next;
		free(fb);
	}
	/* Jobs that waited for their turn when a failure stopped the rest. */
	while (p.done) {
		struct cjob *q = p.done;
		p.done = q->next_done;
		free(q->entry);
	}
	for (i = 0; i < p.npages; i++)
		free(p.pages[i]);
	free(p.pages);
	dml_packw_free(p.pack);
	pthread_cond_destroy(&p.packed);
	pthread_mutex_destroy(&p.packmu);
	queue_destroy(&p.csvq);
	queue_destroy(&p.zq);
	pthread_mutex_destroy(&p.errmu);
	pthread_mutex_destroy(&p.blockmu);
	dml_stmt_builder_release(&b);
	dml_schema_free(schema);
	dml_schema_builder_free(p.sb);
	dml_csv_free(p.csv);
	dml_buf_release(&mtext);
	dml_buf_release(&stext);
	dml_manifest_release(&p.m);
	free(p.index.slots);
	return err;
}
