/*
 * dml/pack.h - git pack files, written and read without libgit2.
 *
 * dmlctl stores every object whole (no deltas), as a zlib stream of
 * "stored" deflate blocks: zlib's framing without compression.  Dataset
 * chunks are zstd-compressed already and everything else is small, so
 * deflating again would cost more than it saves.  Such an entry costs a
 * copy to write and a copy to read.  The files are git's formats (pack
 * version 2, index version 2), which git and libgit2 read and `git fsck`
 * checks; `git gc` reuses the entries as they are.
 */
#ifndef DML_PACK_H
#define DML_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "dml/buf.h"
#include "dml/error.h"
#include "dml/repo.h"

/* git's object types, as a pack entry names them. */
enum { DML_OBJ_COMMIT = 1, DML_OBJ_TREE = 2, DML_OBJ_BLOB = 3 };

/* Bytes of zlib framing around n bytes in stored blocks. */
size_t dml_zlib_stored_overhead(size_t n);
/*
 * Append a zlib stream holding head[0..hn) then p[0..n) in stored blocks
 * (head may be NULL).
 */
const struct dml_error *dml_zlib_store(struct dml_buf *out, const void *head, size_t hn,
    const void *p, size_t n);
/*
 * Undo dml_zlib_store in place: p[0..n) must be exactly one such stream.
 * Sets *len to the content's length, moved to p[0]; -1 for any other form.
 * The Adler-32 is not checked: callers check a digest of their own.
 */
int dml_zlib_unstore(unsigned char *p, size_t n, size_t *len);

/* git's name for an object: the SHA-1 of "<type> <size>\0" and its bytes. */
void dml_object_id(struct dml_oid *out, int type, const void *p, size_t n);

struct dml_pack_obj {
	struct dml_oid oid;
	uint32_t crc;		/* CRC-32 of the entry's bytes, as the index keeps it */
	uint64_t offset;	/* where the entry starts in its pack */
};

/*
 * An object of `type` as a pack entry, appended to out; o gets the object's
 * name and the entry's CRC-32.  Touches nothing shared: threads may call it
 * at once.
 */
const struct dml_error *dml_pack_entry(struct dml_buf *out, struct dml_pack_obj *o, int type,
    const void *p, size_t n);

/*
 * A pack being written into <objdir>pack/, under a temporary name until
 * dml_packw_finish.  Entries go in the order added; each object once.
 */
struct dml_packw;

const struct dml_error *dml_packw_new(struct dml_packw **out, const char *objdir);
/* Append an entry made by dml_pack_entry; the index gets o with its offset. */
const struct dml_error *dml_packw_add(struct dml_packw *w, const struct dml_pack_obj *o,
    const void *entry, size_t n);
size_t dml_packw_count(const struct dml_packw *w);
/*
 * Write the trailer and the index and give both their names, the index
 * last, so the pack is visible to git only once whole.  With no entries,
 * no pack is made.
 */
const struct dml_error *dml_packw_finish(struct dml_packw *w);
/* Frees; removes the temporary file when dml_packw_finish did not succeed. */
void dml_packw_free(struct dml_packw *w);

/*
 * The index (version 2) of objects sorted by name, for a pack whose
 * checksum is packsum.  Exposed for the unit tests.
 */
const struct dml_error *dml_pack_index_encode(struct dml_buf *out,
    const struct dml_pack_obj *objs, size_t n, const unsigned char packsum[20]);

/*
 * The packs of object directories, their indexes mapped, for reading blobs
 * in the form dml_pack_entry writes them.  Read-only once open: threads may
 * share it.  Packs that are missing or malformed are left out.
 */
struct dml_packs;

/* The packs of each object directory, in the order given. */
const struct dml_error *dml_packs_open(struct dml_packs **out, const char *const *objdirs,
    size_t ndirs);
void dml_packs_free(struct dml_packs *ps);
/*
 * Is index[0..size) framed as an index: header, ordered fan-out, tables
 * that fit?  1 or 0.  Only then may dml_pack_index_find read it.
 */
int dml_pack_index_check(const unsigned char *index, size_t size);
/* Find an object in an index; 1 with *offset set, 0 when it is not there. */
int dml_pack_index_find(const unsigned char *index, size_t size, const struct dml_oid *id,
    uint64_t *offset);
/*
 * Read a blob straight from its pack: *found is 1 when out holds it, 0 when
 * no pack has it in stored form (the caller then asks libgit2, which says
 * what is wrong).  Neither its name nor zlib's checksum is verified: only
 * for data the caller checks against a digest of its own.
 */
const struct dml_error *dml_packs_read_blob(const struct dml_packs *ps,
    const struct dml_oid *id, struct dml_buf *out, int *found);

#endif
