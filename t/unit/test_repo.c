/*
 * test_repo.c - the object store.  Its quarantine: what a transfer writes
 * stays apart until kept, and is gone when dropped.  Packs written without
 * libgit2 (dml/pack.h): read back directly and through libgit2, checked by
 * `git verify-pack`, and nothing left behind when not finished.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dml/buf.h"
#include "dml/pack.h"
#include "dml/repo.h"

struct fixture {
	char dir[64];
	struct dml_repo *repo;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int created;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-repo.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_null(dml_repo_init(&f->repo, f->dir, 1, &created));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dml_repo_free(f->repo);
	assert_int_equal(dml_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

/* How many dmlctl-incoming-* directories the repository holds. */
static int
incoming(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "dmlctl-incoming-", 16) == 0;
	closedir(d);
	return n;
}

/* Whether a fresh handle, which knows nothing of any quarantine, has id. */
static int
stored(const char *dir, const struct dml_oid *id)
{
	struct dml_repo *r;
	int has;

	assert_null(dml_repo_open_path(&r, dir));
	has = dml_repo_has(r, id);
	dml_repo_free(r);
	return has;
}

static void
test_dropped(void **state)
{
	struct fixture *f = *state;
	struct dml_oid a, old;
	struct dml_repo *again;
	struct dml_buf got = DML_BUF_INIT;

	assert_null(dml_repo_blob_write(f->repo, &old, "before", 6));
	assert_null(dml_repo_quarantine_begin(f->repo));
	assert_int_equal(incoming(f->dir), 1);
	/* a second one inside: refused */
	assert_non_null(dml_repo_quarantine_begin(f->repo));
	assert_null(dml_repo_blob_write(f->repo, &a, "quarantined", 11));
	/* this handle and its second handles read it, and the store's own objects */
	assert_true(dml_repo_has(f->repo, &a));
	assert_true(dml_repo_has(f->repo, &old));
	assert_null(dml_repo_open_again(&again, f->repo));
	assert_null(dml_repo_blob_read(again, &a, &got));
	assert_int_equal(got.len, 11);
	assert_memory_equal(got.data, "quarantined", 11);
	assert_true(dml_repo_has(again, &old));
	dml_repo_free(again);
	/* the store itself does not have it */
	assert_false(stored(f->dir, &a));
	assert_null(dml_repo_quarantine_end(f->repo, 0));
	assert_int_equal(incoming(f->dir), 0);
	assert_false(dml_repo_has(f->repo, &a));
	assert_false(stored(f->dir, &a));
	assert_true(stored(f->dir, &old));
	/* ending twice is harmless */
	assert_null(dml_repo_quarantine_end(f->repo, 0));
	dml_buf_release(&got);
}

static void
test_kept(void **state)
{
	struct fixture *f = *state;
	struct dml_oid loose, packed[3];
	char text[32];
	int i;

	assert_null(dml_repo_quarantine_begin(f->repo));
	assert_null(dml_repo_blob_write(f->repo, &loose, "a loose object", 14));
	/* a batch inside the quarantine writes its pack there */
	assert_null(dml_repo_batch_begin(f->repo));
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "packed %d", i);
		assert_null(dml_repo_blob_write(f->repo, &packed[i], text, strlen(text)));
	}
	assert_null(dml_repo_batch_end(f->repo, 1));
	for (i = 0; i < 3; i++) {
		assert_true(dml_repo_has(f->repo, &packed[i]));
		assert_false(stored(f->dir, &packed[i]));
	}
	assert_false(stored(f->dir, &loose));
	assert_null(dml_repo_quarantine_end(f->repo, 1));
	assert_int_equal(incoming(f->dir), 0);
	assert_true(stored(f->dir, &loose));
	assert_true(dml_repo_has(f->repo, &loose));
	for (i = 0; i < 3; i++) {
		assert_true(stored(f->dir, &packed[i]));
		assert_true(dml_repo_has(f->repo, &packed[i]));
	}
	/* writes after the end go to the store again */
	assert_null(dml_repo_blob_write(f->repo, &loose, "after", 5));
	assert_true(stored(f->dir, &loose));
}

/* Files in <objdir>pack/: how many, and how many named tmp_*. */
static int
pack_files(const char *objdir, int *tmp)
{
	char path[256];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%spack", objdir);
	*tmp = 0;
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		*tmp += strncmp(e->d_name, "tmp_", 4) == 0;
	}
	closedir(d);
	return n;
}

/*
 * Three blobs, one of them over a stored block, and a tree: read back
 * directly (blobs only), through libgit2, and by git verify-pack, which
 * checks every CRC-32 and both checksums.
 */
static void
test_pack_write_and_read(void **state)
{
	struct fixture *f = *state;
	const char *objdir = dml_repo_objects_dir(f->repo);
	struct dml_packw *w;
	struct dml_packs *ps;
	struct dml_buf e = DML_BUF_INIT, got = DML_BUF_INIT;
	struct dml_pack_obj o[4];
	static unsigned char big[200000];
	const unsigned char *data[3] = { (const unsigned char *)"one\n", big,
		(const unsigned char *)"" };
	size_t len[3] = { 4, sizeof(big), 0 }, i;
	unsigned char tree[64];
	size_t tl;
	int found, tmp;
	char cmd[512];

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	assert_null(dml_packw_new(&w, objdir));
	assert_int_equal(pack_files(objdir, &tmp), 1);
	assert_int_equal(tmp, 1);
	for (i = 0; i < 3; i++) {
		e.len = 0;
		assert_null(dml_pack_entry(&e, &o[i], DML_OBJ_BLOB, data[i], len[i]));
		assert_null(dml_packw_add(w, &o[i], e.data, e.len));
	}
	/* A tree naming the first blob. */
	memcpy(tree, "100644 a", 9);
	memcpy(tree + 9, o[0].oid.id, 20);
	tl = 29;
	e.len = 0;
	assert_null(dml_pack_entry(&e, &o[3], DML_OBJ_TREE, tree, tl));
	assert_null(dml_packw_add(w, &o[3], e.data, e.len));
	assert_int_equal(dml_packw_count(w), 4);
	assert_null(dml_packw_finish(w));
	dml_packw_free(w);
	assert_int_equal(pack_files(objdir, &tmp), 2);
	assert_int_equal(tmp, 0);

	const char *dirs[1] = { objdir };
	assert_null(dml_packs_open(&ps, dirs, 1));
	for (i = 0; i < 3; i++) {
		assert_null(dml_packs_read_blob(ps, &o[i].oid, &got, &found));
		assert_int_equal(found, 1);
		assert_int_equal(got.len, len[i]);
		if (len[i])
			assert_memory_equal(got.data, data[i], len[i]);
	}
	/* Not a blob: left to libgit2. */
	assert_null(dml_packs_read_blob(ps, &o[3].oid, &got, &found));
	assert_int_equal(found, 0);
	dml_packs_free(ps);

	dml_repo_objects_refresh(f->repo);
	for (i = 0; i < 3; i++) {
		assert_null(dml_repo_blob_read(f->repo, &o[i].oid, &got));
		assert_int_equal(got.len, len[i]);
		if (len[i])
			assert_memory_equal(got.data, data[i], len[i]);
	}
	snprintf(cmd, sizeof(cmd), "git verify-pack %spack/pack-*.idx >/dev/null", objdir);
	assert_int_equal(system(cmd), 0);
	dml_buf_release(&e);
	dml_buf_release(&got);
}

/* A writer in f's repository holding one entry, "x". */
static struct dml_packw *
writer_with_x(struct fixture *f, struct dml_buf *e, struct dml_pack_obj *o)
{
	struct dml_packw *w;

	assert_null(dml_packw_new(&w, dml_repo_objects_dir(f->repo)));
	assert_null(dml_pack_entry(e, o, DML_OBJ_BLOB, "x", 1));
	assert_null(dml_packw_add(w, o, e->data, e->len));
	return w;
}

/* No entries: no pack.  Freed unfinished: no temporary file left. */
static void
test_pack_nothing_left(void **state)
{
	struct fixture *f = *state;
	struct dml_packw *w;
	struct dml_buf e = DML_BUF_INIT;
	struct dml_pack_obj o;
	int tmp;

	assert_null(dml_packw_new(&w, dml_repo_objects_dir(f->repo)));
	assert_null(dml_packw_finish(w));
	dml_packw_free(w);
	assert_int_equal(pack_files(dml_repo_objects_dir(f->repo), &tmp), 0);
	dml_packw_free(writer_with_x(f, &e, &o));
	assert_int_equal(pack_files(dml_repo_objects_dir(f->repo), &tmp), 0);
	dml_buf_release(&e);
}

/* The same object twice is a caller's mistake, refused at the end. */
static void
test_pack_twice_refused(void **state)
{
	struct fixture *f = *state;
	struct dml_buf e = DML_BUF_INIT;
	struct dml_pack_obj o;
	struct dml_packw *w = writer_with_x(f, &e, &o);
	int tmp;

	assert_null(dml_packw_add(w, &o, e.data, e.len));
	assert_non_null(dml_packw_finish(w));
	dml_packw_free(w);
	assert_int_equal(pack_files(dml_repo_objects_dir(f->repo), &tmp), 0);
	dml_buf_release(&e);
}

/*
 * A blob whose pack entry is damaged is not read directly (the caller then
 * asks libgit2): a wrong type, a size past the pack, a zlib header that is
 * not deflate, a compressed block, a block length whose complement is
 * wrong.  The entry of "x" starts at 12: header byte, 78 01, then the block
 * 01 01 00 fe ff and the byte itself.
 */
static void
test_pack_damaged_entries(void **state)
{
	static const struct { long at; const char *bytes; } damage[] = {
		{ 12, "\x21" },			/* a tree */
		{ 12, "\xbf\xff\xff\xff\x0f" },	/* a size past the end of the pack */
		{ 13, "\x79" },			/* CMF: method 9, not deflate */
		{ 15, "\x03" },			/* BTYPE 01: compressed */
		{ 18, "\xfd" },			/* NLEN: not the complement of LEN */
	};
	struct fixture *f = *state;
	const char *objdir = dml_repo_objects_dir(f->repo);
	struct dml_buf e = DML_BUF_INIT, got = DML_BUF_INIT;
	struct dml_pack_obj o;
	struct dml_packw *w;
	struct dml_packs *ps;
	struct dirent *de;
	char path[512];
	unsigned char good[16];
	DIR *d;
	size_t k;
	int fd, found;

	w = writer_with_x(f, &e, &o);
	assert_null(dml_packw_finish(w));
	dml_packw_free(w);
	snprintf(path, sizeof(path), "%spack", objdir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".pack") != NULL)
			snprintf(path, sizeof(path), "%spack/%s", objdir, de->d_name);
	closedir(d);
	assert_int_equal(chmod(path, 0644), 0);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, good, sizeof(good), 12), (ssize_t)sizeof(good));
	assert_memory_equal(good, "\x31\x78\x01\x01\x01\x00\xfe\xff" "x", 9);
	for (k = 0; k < sizeof(damage) / sizeof(damage[0]); k++) {
		const char *dirs[1] = { objdir };
		size_t n = strlen(damage[k].bytes);

		assert_int_equal(pwrite(fd, good, sizeof(good), 12), (ssize_t)sizeof(good));
		assert_int_equal(pwrite(fd, damage[k].bytes, n, damage[k].at), (ssize_t)n);
		assert_null(dml_packs_open(&ps, dirs, 1));
		assert_null(dml_packs_read_blob(ps, &o.oid, &got, &found));
		if (found || got.len)
			fail_msg("damage %zu: read directly all the same", k);
		dml_packs_free(ps);
	}
	close(fd);
	dml_buf_release(&e);
	dml_buf_release(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_write_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_nothing_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_twice_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_damaged_entries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
