/*
 * pack.c - git pack files, written and read without libgit2 (see dml/pack.h).
 *
 * A pack is "PACK", version 2, the object count, the entries, and the SHA-1
 * of all that.  An entry is a header (type, and the object's size in 7-bit
 * groups) and the object as a zlib stream; here always stored blocks of at
 * most 65535 bytes.  The index (version 2) lists the names sorted, behind a
 * 256-entry fan-out table by first byte, then each entry's CRC-32 and
 * offset (31 bits, or a reference to a 64-bit one), then the pack's
 * checksum and its own.  Facts from git's Documentation/gitformat-pack.txt.
 *
 * The writer appends entries as they come and learns the count only at the
 * end, so the count is patched into the header and the file read again for
 * its checksum: a read from the page cache, cheaper than holding the pack.
 *
 * A durable pack (dml_durable) is flushed to disk before it is named.  So
 * that the flush at the end does not wait for the whole pack, the writer
 * starts the disk writing every FLUSH_STEP bytes (sync_file_range, Linux),
 * while the entries that follow are still being made.
 */
#define _GNU_SOURCE		/* sync_file_range */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "crypto.h"
#include "dml/pack.h"
#include "dml/repo.h"

#define STORED_MAX 65535u	/* the most bytes one stored block holds */
#define FLUSH_STEP ((uint64_t)8 << 20)
#define IDX_HEAD (8 + 256 * 4)
#define IDX_MAGIC "\377tOc\0\0\0\2"

/* ---------------------------------------------------------------------------
 * zlib without compression */

static uint32_t
adler32_add(uint32_t a, const unsigned char *p, size_t n)
{
	uint32_t s1 = a & 0xffff, s2 = a >> 16;

	while (n > 0) {
		size_t k = n < 5552 ? n : 5552;	/* the most bytes before a reduction */
		n -= k;
		while (k--) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

static size_t
stored_blocks(size_t n)
{
	return n == 0 ? 1 : (n + STORED_MAX - 1) / STORED_MAX;
}

size_t
dml_zlib_stored_overhead(size_t n)
{
	return 2 + 5 * stored_blocks(n) + 4;
}

/* Append p[0..n) as stored blocks, the last one final when `last`. */
static void
put_blocks(unsigned char **dst, const unsigned char *p, size_t n, int last)
{
	unsigned char *d = *dst;

	do {
		size_t k = n < STORED_MAX ? n : STORED_MAX;
		d[0] = (unsigned char)(last && k == n);
		d[1] = k & 0xff;
		d[2] = (unsigned char)(k >> 8);
		d[3] = ~k & 0xff;
		d[4] = (unsigned char)((~k >> 8) & 0xff);
		memcpy(d + 5, p, k);
		d += 5 + k;
		p += k;
		n -= k;
	} while (n > 0);
	*dst = d;
}

const struct dml_error *
dml_zlib_store(struct dml_buf *out, const void *head, size_t hn, const void *p, size_t n)
{
	size_t need = 2 + hn + n + 5 * (stored_blocks(hn) + stored_blocks(n)) + 4;
	unsigned char *d;
	uint32_t a;
	const struct dml_error *err;

	if ((err = dml_buf_grow(out, need)))
		return err;
	d = out->data + out->len;
	/* CMF: deflate, 32 KiB window; FLG: fastest, no dictionary, check bits. */
	*d++ = 0x78;
	*d++ = 0x01;
	a = adler32_add(1, head, hn);
	a = adler32_add(a, p, n);
	if (hn > 0)
		put_blocks(&d, head, hn, 0);
	put_blocks(&d, p, n, 1);
	dml_put_be32(d, a);
	d += 4;
	out->len = (size_t)(d - out->data);
	out->data[out->len] = '\0';
	return NULL;
}

int
dml_zlib_unstore(unsigned char *p, size_t n, size_t *len)
{
	size_t r = 2, w = 0;
	int last = 0;

	/* CMF: deflate with a window of at most 32 KiB; FLG: no dictionary. */
	if (n < 2 || (p[0] & 0x0f) != 8 || (p[0] >> 4) > 7 || (p[1] & 0x20) ||
	    ((unsigned)p[0] << 8 | p[1]) % 31 != 0)
		return -1;
	while (!last) {
		size_t k;

		/* A stored block's 3 header bits are BFINAL and BTYPE 00, then padding. */
		if (n - r < 5 || p[r] > 1)
			return -1;
		last = p[r];
		k = (size_t)p[r + 1] | (size_t)p[r + 2] << 8;
		if ((size_t)((p[r + 3] | p[r + 4] << 8) ^ 0xffff) != k || n - r - 5 < k)
			return -1;
		memmove(p + w, p + r + 5, k);
		w += k;
		r += 5 + k;
	}
	/* The Adler-32 and nothing after it. */
	if (n - r != 4)
		return -1;
	*len = w;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Entries */

static const char *const type_names[] = { NULL, "commit", "tree", "blob" };

void
dml_object_id(struct dml_oid *out, int type, const void *p, size_t n)
{
	struct dml_sha1_ctx c;
	char h[32];
	int hl = snprintf(h, sizeof(h), "%s %zu", type_names[type], n) + 1;	/* with its NUL */

	dml_sha1_init(&c);
	dml_sha1_update(&c, h, (size_t)hl);
	dml_sha1_update(&c, p, n);
	dml_sha1_final(&c, out->id);
}

const struct dml_error *
dml_pack_entry(struct dml_buf *out, struct dml_pack_obj *o, int type, const void *p, size_t n)
{
	unsigned char h[16];
	size_t hl = 0, start = out->len;
	uint64_t sz = n;
	const struct dml_error *err;

	if (type < DML_OBJ_COMMIT || type > DML_OBJ_BLOB)
		return dml_error_fmt(DML_ERR_INTERNAL, "pack entry of unknown type %d", type);
	h[hl++] = (unsigned char)(type << 4 | (sz & 15));
	for (sz >>= 4; sz; sz >>= 7) {
		h[hl - 1] |= 0x80;
		h[hl++] = sz & 0x7f;
	}
	if ((err = dml_buf_add(out, h, hl)) || (err = dml_zlib_store(out, NULL, 0, p, n)))
		return err;
	dml_object_id(&o->oid, type, p, n);
	o->crc = (uint32_t)crc32_z(0, out->data + start, out->len - start);
	o->offset = 0;
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Writing */

struct dml_packw {
	char *dir;		/* <objdir>pack/ */
	char *tmp;		/* the pack under its temporary name */
	int fd;
	int done;
	int durable;		/* dml_durable() when made */
	uint64_t off;
	uint64_t started;	/* bytes whose writing to disk has begun */
	struct dml_pack_obj *objs;
	size_t n, cap;
};

static const struct dml_error *
write_all(int fd, const void *p, size_t n, const char *what)
{
	const unsigned char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return dml_error_errno(errno, "cannot write '%s'", what);
		q += w;
		n -= (size_t)w;
	}
	return NULL;
}

static const struct dml_error *
pread_all(int fd, void *p, size_t n, uint64_t off, const char *what)
{
	unsigned char *q = p;

	while (n > 0) {
		ssize_t r = pread(fd, q, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? dml_error_errno(errno, "cannot read '%s'", what) :
			    dml_error_fmt(DML_ERR_IO, "cannot read '%s': it is shorter than written", what);
		q += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return NULL;
}

static char *
join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *s = malloc(na + nb + 1);

	if (s != NULL) {
		memcpy(s, a, na);
		memcpy(s + na, b, nb + 1);
	}
	return s;
}

const struct dml_error *
dml_packw_new(struct dml_packw **out, const char *objdir)
{
	static const unsigned char head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0 };
	struct dml_packw *w;
	const struct dml_error *err;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return dml_error_nomem();
	w->fd = -1;
	w->durable = dml_durable();
	if ((w->dir = join(objdir, "pack/")) == NULL ||
	    (w->tmp = join(w->dir, "tmp_pack_XXXXXX")) == NULL) {
		dml_packw_free(w);
		return dml_error_nomem();
	}
	if (mkdir(w->dir, 0777) != 0 && errno != EEXIST) {
		err = dml_error_errno(errno, "cannot create '%s'", w->dir);
		dml_packw_free(w);
		return err;
	}
	if ((w->fd = mkstemp(w->tmp)) < 0) {
		err = dml_error_errno(errno, "cannot create a pack in '%s'", w->dir);
		free(w->tmp);
		w->tmp = NULL;
		dml_packw_free(w);
		return err;
	}
	if ((err = write_all(w->fd, head, sizeof(head), w->tmp))) {
		dml_packw_free(w);
		return err;
	}
	w->off = sizeof(head);
	*out = w;
	return NULL;
}

const struct dml_error *
dml_packw_add(struct dml_packw *w, const struct dml_pack_obj *o, const void *entry, size_t n)
{
	const struct dml_error *err;

	if (w->n == UINT32_MAX)
		return dml_error_fmt(DML_ERR_USAGE, "a pack holds at most %u objects", UINT32_MAX);
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 1024;
		struct dml_pack_obj *v = realloc(w->objs, cap * sizeof(*v));
		if (v == NULL)
			return dml_error_nomem();
		w->objs = v;
		w->cap = cap;
	}
	if ((err = write_all(w->fd, entry, n, w->tmp)))
		return err;
	w->objs[w->n] = *o;
	w->objs[w->n++].offset = w->off;
	w->off += n;
#ifdef SYNC_FILE_RANGE_WRITE
	if (w->durable && w->off - w->started >= FLUSH_STEP) {
		/* Only a head start: the flush at the end reports errors. */
		(void)sync_file_range(w->fd, (off_t)w->started, (off_t)(w->off - w->started),
		    SYNC_FILE_RANGE_WRITE);
		w->started = w->off;
	}
#endif
	return NULL;
}

size_t
dml_packw_count(const struct dml_packw *w)
{
	return w->n;
}

static int
obj_cmp(const void *a, const void *b)
{
	return memcmp(((const struct dml_pack_obj *)a)->oid.id,
	    ((const struct dml_pack_obj *)b)->oid.id, DML_OID_RAWLEN);
}

const struct dml_error *
dml_pack_index_encode(struct dml_buf *out, const struct dml_pack_obj *objs, size_t n,
    const unsigned char packsum[20])
{
	size_t i, nlarge = 0, k;
	unsigned char *d, *names, *crcs, *offs, *large;
	uint32_t fan[256] = { 0 };
	const struct dml_error *err;

	for (i = 0; i < n; i++) {
		fan[objs[i].oid.id[0]]++;
		nlarge += objs[i].offset > 0x7fffffffu;
	}
	if ((err = dml_buf_grow(out, IDX_HEAD + n * 28 + nlarge * 8 + 40)))
		return err;
	d = out->data + out->len;
	memcpy(d, IDX_MAGIC, 8);
	for (i = 0, k = 0; i < 256; i++) {
		k += fan[i];
		dml_put_be32(d + 8 + 4 * i, (uint32_t)k);
	}
	names = d + IDX_HEAD;
	crcs = names + 20 * n;
	offs = crcs + 4 * n;
	large = offs + 4 * n;
	for (i = 0, k = 0; i < n; i++) {
		memcpy(names + 20 * i, objs[i].oid.id, 20);
		dml_put_be32(crcs + 4 * i, objs[i].crc);
		if (objs[i].offset > 0x7fffffffu) {
			dml_put_be32(offs + 4 * i, 0x80000000u | (uint32_t)k);
			dml_put_be64(large + 8 * k++, objs[i].offset);
		} else {
			dml_put_be32(offs + 4 * i, (uint32_t)objs[i].offset);
		}
	}
	memcpy(large + 8 * nlarge, packsum, 20);
	dml_sha1(large + 8 * nlarge + 20, d, (size_t)(large + 8 * nlarge + 20 - d));
	out->len += IDX_HEAD + n * 28 + nlarge * 8 + 40;
	return NULL;
}

/* The file's SHA-1 from its start to w->off, read back from the page cache. */
static const struct dml_error *
pack_checksum(struct dml_packw *w, unsigned char sum[20])
{
	enum { PIECE = 1 << 20 };
	struct dml_sha1_ctx c;
	unsigned char *buf = malloc(PIECE);
	uint64_t at = 0;
	const struct dml_error *err = NULL;

	if (buf == NULL)
		return dml_error_nomem();
	dml_sha1_init(&c);
	while (at < w->off && err == NULL) {
		size_t k = w->off - at < PIECE ? (size_t)(w->off - at) : PIECE;
		if ((err = pread_all(w->fd, buf, k, at, w->tmp)) == NULL)
			dml_sha1_update(&c, buf, k);
		at += k;
	}
	dml_sha1_final(&c, sum);
	free(buf);
	return err;
}

const struct dml_error *
dml_packw_finish(struct dml_packw *w)
{
	struct dml_buf idx = DML_BUF_INIT;
	unsigned char count[4], sum[20];
	char hex[41], name[64], *idxtmp = NULL, *packname = NULL, *idxname = NULL;
	int ifd = -1, durable = w->durable;
	size_t i;
	const struct dml_error *err = NULL;

	if (w->n == 0) {
		/* Nothing new: no pack, and no temporary file left behind. */
		w->done = 1;
		close(w->fd);
		w->fd = -1;
		unlink(w->tmp);
		return NULL;
	}
	dml_put_be32(count, (uint32_t)w->n);
	if (pwrite(w->fd, count, 4, 8) != 4) {
		err = dml_error_errno(errno ? errno : EIO, "cannot write '%s'", w->tmp);
		goto done;
	}
	if ((err = pack_checksum(w, sum)) || (err = write_all(w->fd, sum, 20, w->tmp)))
		goto done;
	qsort(w->objs, w->n, sizeof(*w->objs), obj_cmp);
	for (i = 1; i < w->n; i++)
		if (memcmp(w->objs[i].oid.id, w->objs[i - 1].oid.id, DML_OID_RAWLEN) == 0) {
			err = dml_error_fmt(DML_ERR_INTERNAL, "an object went into a pack twice");
			goto done;
		}
	if ((err = dml_pack_index_encode(&idx, w->objs, w->n, sum)))
		goto done;
	/* Named, as git names packs, by their checksum. */
	dml_hex_encode(hex, sum, 20);
	snprintf(name, sizeof(name), "pack-%s.pack", hex);
	packname = join(w->dir, name);
	snprintf(name, sizeof(name), "pack-%s.idx", hex);
	idxname = join(w->dir, name);
	if ((idxtmp = join(w->dir, "tmp_idx_XXXXXX")) == NULL || packname == NULL ||
	    idxname == NULL) {
		err = dml_error_nomem();
		goto done;
	}
	if ((ifd = mkstemp(idxtmp)) < 0) {
		err = dml_error_errno(errno, "cannot create a pack index in '%s'", w->dir);
		free(idxtmp);
		idxtmp = NULL;
		goto done;
	}
	if ((err = write_all(ifd, idx.data, idx.len, idxtmp)))
		goto done;
	/* On disk before their names say they are there (dml_durable). */
	if (durable && (fsync(w->fd) != 0 || fsync(ifd) != 0)) {
		err = dml_error_errno(errno, "cannot flush a pack in '%s' to disk", w->dir);
		goto done;
	}
	/* Read-only, as git leaves its packs. */
	if (fchmod(w->fd, 0444) != 0 || fchmod(ifd, 0444) != 0 || close(ifd) != 0) {
		ifd = -1;
		err = dml_error_errno(errno, "cannot write a pack in '%s'", w->dir);
		goto done;
	}
	ifd = -1;
	if (close(w->fd) != 0) {
		w->fd = -1;
		err = dml_error_errno(errno, "cannot write '%s'", w->tmp);
		goto done;
	}
	w->fd = -1;
	if (rename(w->tmp, packname) != 0) {
		err = dml_error_errno(errno, "cannot name the pack '%s'", packname);
		goto done;
	}
	/* The pack is in place; its index makes it visible. */
	free(w->tmp);
	w->tmp = packname;
	packname = NULL;
	if (rename(idxtmp, idxname) != 0) {
		err = dml_error_errno(errno, "cannot name the pack index '%s'", idxname);
		goto done;
	}
	w->done = 1;
	if (durable)
		err = dml_fsync_dir(w->dir);
done:
	if (ifd >= 0)
		close(ifd);
	if (idxtmp != NULL && !w->done)
		unlink(idxtmp);
	free(idxtmp);
	free(packname);
	free(idxname);
	dml_buf_release(&idx);
	return err;
}

void
dml_packw_free(struct dml_packw *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->done && w->tmp != NULL)
		unlink(w->tmp);
	free(w->tmp);
	free(w->dir);
	free(w->objs);
	free(w);
}

/* ---------------------------------------------------------------------------
 * Reading */

struct pack {
	const unsigned char *idx;	/* the index, mapped */
	size_t idx_size;
	int fd;				/* the pack */
	uint64_t size;
};

struct dml_packs {
	struct pack *v;
	size_t n;
};

int
dml_pack_index_check(const unsigned char *p, size_t size)
{
	uint32_t n, prev = 0, i;
	size_t fixed;

	if (size < IDX_HEAD + 40 || memcmp(p, IDX_MAGIC, 8) != 0)
		return 0;
	for (i = 0; i < 256; i++) {
		uint32_t f = dml_get_be32(p + 8 + 4 * i);
		if (f < prev)
			return 0;
		prev = f;
	}
	n = prev;
	if (n > (size - IDX_HEAD - 40) / 28)
		return 0;
	fixed = IDX_HEAD + (size_t)n * 28 + 40;
	/* Whatever is left is the table of 64-bit offsets. */
	return (size - fixed) % 8 == 0;
}

int
dml_pack_index_find(const unsigned char *p, size_t size, const struct dml_oid *id,
    uint64_t *offset)
{
	uint32_t n = dml_get_be32(p + 8 + 4 * 255), lo, hi, o;
	unsigned b = id->id[0];
	const unsigned char *names = p + IDX_HEAD;

	lo = b ? dml_get_be32(p + 8 + 4 * (b - 1)) : 0;
	hi = dml_get_be32(p + 8 + 4 * b);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(names + 20 * (size_t)mid, id->id, 20);
		if (c == 0) {
			o = dml_get_be32(names + 24 * (size_t)n + 4 * (size_t)mid);
			if (o & 0x80000000u) {
				size_t at = IDX_HEAD + (size_t)n * 28 + 8 * (size_t)(o & 0x7fffffffu);
				if (at + 8 > size - 40)
					return 0;
				*offset = dml_get_be64(p + at);
			} else {
				*offset = o;
			}
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void
pack_close(struct pack *k)
{
	if (k->idx != NULL)
		munmap((void *)k->idx, k->idx_size);
	if (k->fd >= 0)
		close(k->fd);
}

/* Open <dir><name> (an .idx) and its pack; 0 when both are sound. */
static int
pack_open(struct pack *k, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *path = malloc(dl + nl + 2);
	struct stat st;
	void *m;
	int fd;

	k->idx = NULL;
	k->fd = -1;
	if (path == NULL)
		return -1;
	memcpy(path, dir, dl);
	memcpy(path + dl, name, nl + 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > SIZE_MAX || st.st_size < IDX_HEAD + 40 ||
	    (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	close(fd);
	k->idx = m;
	k->idx_size = (size_t)st.st_size;
	memcpy(path + dl + nl - 4, ".pack", 6);
	if (!dml_pack_index_check(k->idx, k->idx_size) ||
	    (k->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(k->fd, &st) != 0 ||
	    st.st_size < 32) {
		free(path);
		pack_close(k);
		return -1;
	}
	k->size = (uint64_t)st.st_size;
	free(path);
	return 0;
}

/* Add the packs of <objdir>pack/ to ps: 0, or -1 when out of memory. */
static int
packs_add(struct dml_packs *ps, size_t *cap, const char *objdir)
{
	struct dirent *e;
	char *dir;
	DIR *d;
	int rc = 0;

	if ((dir = join(objdir, "pack/")) == NULL)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 9 || strncmp(e->d_name, "pack-", 5) != 0 ||
		    strcmp(e->d_name + nl - 4, ".idx") != 0)
			continue;
		if (ps->n == *cap) {
			struct pack *v = realloc(ps->v, (*cap ? 2 * *cap : 8) * sizeof(*v));
			if (v == NULL) {
				rc = -1;
				break;
			}
			ps->v = v;
			*cap = *cap ? 2 * *cap : 8;
		}
		if (pack_open(&ps->v[ps->n], dir, e->d_name) == 0)
			ps->n++;
	}
	closedir(d);
	free(dir);
	return rc;
}

const struct dml_error *
dml_packs_open(struct dml_packs **out, const char *const *objdirs, size_t ndirs)
{
	struct dml_packs *ps;
	size_t cap = 0, i;

	*out = NULL;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return dml_error_nomem();
	for (i = 0; i < ndirs; i++)
		if (packs_add(ps, &cap, objdirs[i]) != 0) {
			dml_packs_free(ps);
			return dml_error_nomem();
		}
	*out = ps;
	return NULL;
}

void
dml_packs_free(struct dml_packs *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++)
		pack_close(&ps->v[i]);
	free(ps->v);
	free(ps);
}

/*
 * The blob at `off` in k, if it is in the exact form dml_pack_entry
 * writes: 1 with out filled, 0 otherwise.
 */
static int
read_entry(const struct pack *k, uint64_t off, struct dml_buf *out)
{
	unsigned char h[16];
	size_t hl = 0, got, len, total;
	uint64_t size = 0;
	unsigned shift = 4;

	if (off < 12 || off >= k->size - 20 ||
	    pread(k->fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h))
		return 0;
	if (((h[0] >> 4) & 7) != DML_OBJ_BLOB)
		return 0;
	size = h[0] & 15;
	while (h[hl++] & 0x80) {
		if (hl == sizeof(h) || shift > 57)
			return 0;
		size |= (uint64_t)(h[hl] & 0x7f) << shift;
		shift += 7;
	}
	if (size > SIZE_MAX / 2 || size > k->size)
		return 0;
	total = (size_t)size + dml_zlib_stored_overhead((size_t)size);
	if (total > k->size - 20 - off - hl)
		return 0;
	dml_buf_reset(out);
	if (dml_buf_grow(out, total) != NULL)
		return -1;
	for (got = 0; got < total;) {
		ssize_t r = pread(k->fd, out->data + got, total - got, (off_t)(off + hl + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	if (dml_zlib_unstore(out->data, total, &len) != 0 || len != size)
		return 0;
	out->len = len;
	return 1;
}

const struct dml_error *
dml_packs_read_blob(const struct dml_packs *ps, const struct dml_oid *id, struct dml_buf *out,
    int *found)
{
	size_t i;
	uint64_t off;

	*found = 0;
	for (i = 0; i < ps->n; i++) {
		const struct pack *k = &ps->v[i];
		int r;

		if (!dml_pack_index_find(k->idx, k->idx_size, id, &off))
			continue;
		if ((r = read_entry(k, off, out)) < 0)
			return dml_error_nomem();
		*found = r;
		if (!r)
			dml_buf_reset(out);
		return NULL;
	}
	return NULL;
}
