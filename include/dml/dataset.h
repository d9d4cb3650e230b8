/*
 * dml/dataset.h - published datasets: chunked, compressed, deduplicated,
 * signed with their terms.
 *
 * Publishing streams a CSV or TSV file once.  Its bytes are cut into chunks
 * by FastCDC (dml/cdc.h), each chunk is named by the SHA-256 of its plain
 * bytes and stored as one zstd frame in a git blob (written uncompressed by
 * git, since zstd has done the work), and a manifest (dml/manifest.h) lists
 * them in order.  The same pass parses the data (dml/csv.h) and infers its
 * schema (dml/schema.h), and hashes the whole file, so the file ID equals
 * `sha256sum` of the file.  A `dataset.publish` entry then records
 *
 *	name, version, previous (the entry ID of the version before),
 *	file, size, format, manifest, schema, rows, columns,
 *	license, price (token units per use), allow (permitted uses),
 *	description
 *
 * and its tree holds the manifest and the schema under objects/ and every
 * chunk the file uses under chunks/<sha256 hex>.  A chunk already stored by
 * an earlier entry is reused: git stores its blob once, so a new version
 * costs only its new chunks.  Version 1 of a name may be published by any
 * member; later versions only by the owner of version 1.
 *
 * `ledger verify` (through the type's verify_store) and `dataset verify`
 * recompute everything: each chunk's digest from its decompressed bytes,
 * the file ID and size from their concatenation, and the schema by parsing
 * the data again, compared with the stored schema text byte for byte.
 */
#ifndef DML_DATASET_H
#define DML_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "dml/error.h"
#include "dml/key.h"
#include "dml/ledger.h"

/* The dataset of this name in the ledger state, or NULL. */
const struct dml_dataset_head *dml_dataset_find(const struct dml_state *st, const char *name);

/* Do the version's terms allow this use (exactly one of its comma-separated uses)? */
int dml_dataset_allows(const struct dml_dataset_version *v, const char *use);

struct dml_publish_opts {
	const char *name;
	char sep;		/* ',' (csv) or '\t' (tsv) */
	const char *license;	/* SPDX identifier, or NULL */
	uint64_t price;
	const char *allow;	/* sorted comma-separated uses, e.g. "evaluate,train" */
	const char *description;	/* or NULL */
	const char *what;	/* the input's name in messages */
	uint64_t time;
	unsigned threads;	/* workers that compress; 0: DMLCTL_THREADS, or one per core */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct dml_publish_result {
	struct dml_stmt *stmt;	/* the new entry (caller frees) */
	uint64_t size;		/* logical bytes */
	uint64_t stored;	/* compressed bytes of chunks not stored before */
	uint64_t nchunks, newchunks;
	uint64_t rows, columns;
};

/*
 * Read fd to its end and publish it.  Nothing is appended unless the whole
 * input parsed, was stored, and did not change while it was read.
 */
const struct dml_error *dml_dataset_publish(struct dml_ledger *l, const struct dml_key *k, int fd,
    const struct dml_publish_opts *o, struct dml_publish_result *res);

/*
 * Write the bytes of the dataset published by entry `seq` to fd, checking
 * every chunk before its bytes are written, and the whole file's digest at
 * the end.  A bad chunk stops it with DML_ERR_VERIFY naming the chunk.
 */
const struct dml_error *dml_dataset_get(struct dml_ledger *l, uint64_t seq, int fd,
    void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

/* Receives a dataset's bytes in file order, each piece already verified. */
typedef const struct dml_error *(*dml_bytes_fn)(void *arg, const unsigned char *p, size_t n);

/*
 * Reading a dataset, possibly several times (training makes one pass per
 * Newton step).  Opening loads and checks the statement, the manifest and
 * the schema against their digests; each stream then hands the bytes to fn
 * in file order, each chunk checked against its digest before fn sees it,
 * and the whole file's digest after the last piece (so a consumer must not
 * act on the data for good before the stream returns NULL).  fn's error
 * stops the stream and is returned.
 */
struct dml_dataset_in;
struct dml_dataset_info {
	struct dml_stmt *stmt;		/* the dataset.publish statement */
	struct dml_schema *schema;	/* its stored schema */
	char name[DML_TOKEN_MAX + 1];
	uint64_t version;
	unsigned char file[32];		/* the file ID */
	uint64_t size;			/* bytes */
	char sep;			/* ',' or '\t' */
	struct dml_oid tree;		/* the entry's tree */
};

/* The dataset published by entry `seq`. */
const struct dml_error *dml_dataset_open(struct dml_dataset_in **out, struct dml_ledger *l,
    uint64_t seq);
/*
 * The same from a dataset entry's tree, as another entry carries it (a
 * model.train entry stores the tree of each dataset it used, so that its
 * data can be recomputed from the entry alone).  If entry is not NULL, the
 * tree's statement must have that ID: the carried copy is then the ledger's
 * own entry, byte for byte, and so are the manifest and schema it names.
 */
const struct dml_error *dml_dataset_open_tree(struct dml_dataset_in **out, struct dml_repo *r,
    const struct dml_oid *tree, const unsigned char entry[32]);
const struct dml_dataset_info *dml_dataset_info(const struct dml_dataset_in *in);
const struct dml_error *dml_dataset_stream(struct dml_dataset_in *in, dml_bytes_fn fn, void *arg,
    void (*progress)(void *arg, uint64_t done, uint64_t total), void *parg);
void dml_dataset_close(struct dml_dataset_in *in);

/* Recompute everything the entry `seq` stores (see above). */
const struct dml_error *dml_dataset_verify(struct dml_ledger *l, uint64_t seq);

/* The stored schema text of entry `seq`, and its manifest text. */
const struct dml_error *dml_dataset_schema_text(struct dml_ledger *l, uint64_t seq,
    struct dml_buf *out);

#endif
