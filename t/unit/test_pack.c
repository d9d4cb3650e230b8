/*
 * test_pack.c - packs written and read without libgit2: zlib's stored form
 * against zlib itself, object names against git's, the index against
 * hand-made offsets (64-bit ones too), and a written pack read back both
 * directly and through libgit2, and checked by `git verify-pack`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zlib.h>

#include "dml/buf.h"
#include "dml/pack.h"
#include "dml/repo.h"

static void
hex_of(char out[41], const struct dml_oid *id)
{
	dml_oid_hex(out, id);
}

/* zlib inflates what dml_zlib_store writes (checking the Adler-32), and
 * dml_zlib_unstore gives the content back, for sizes around a block. */
static void
test_stored_form(void **state)
{
	static const size_t sizes[] = { 0, 1, 65534, 65535, 65536, 3 * 65535 + 7 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], i, len = 0;
		unsigned char *p = malloc(n + 1), *back = malloc(n + 10);
		struct dml_buf z = DML_BUF_INIT;
		uLongf got = n + 10;

		assert_non_null(p);
		assert_non_null(back);
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)(i * 7 + (i >> 9));
		assert_null(dml_zlib_store(&z, "head", 4, p, n));
		assert_int_equal(z.len, 4 + n + 2 + 5 * ((n == 0 ? 1 : (n + 65534) / 65535) + 1) + 4);
		assert_int_equal(uncompress(back, &got, z.data, z.len), Z_OK);
		assert_int_equal(got, n + 4);
		assert_memory_equal(back, "head", 4);
		if (n)
			assert_memory_equal(back + 4, p, n);
		z.len = 0;
		assert_null(dml_zlib_store(&z, NULL, 0, p, n));
		assert_int_equal(z.len, n + dml_zlib_stored_overhead(n));
		assert_int_equal(dml_zlib_unstore(z.data, z.len, &len), 0);
		assert_int_equal(len, n);
		if (n)
			assert_memory_equal(z.data, p, n);
		dml_buf_release(&z);
		free(p);
		free(back);
	}
}

static void
test_unstore_refuses(void **state)
{
	unsigned char good[] = { 0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c',
		0x02, 0x4d, 0x01, 0x27 };
	unsigned char buf[sizeof(good) + 1];
	size_t len;

	(void)state;
	memcpy(buf, good, sizeof(good));
	assert_int_equal(dml_zlib_unstore(buf, sizeof(good), &len), 0);
	assert_int_equal(len, 3);
	/* one byte short, one byte over, a length whose complement is wrong */
	memcpy(buf, good, sizeof(good));
	assert_int_equal(dml_zlib_unstore(buf, sizeof(good) - 1, &len), -1);
	memcpy(buf, good, sizeof(good));
	buf[sizeof(good)] = 0;
	assert_int_equal(dml_zlib_unstore(buf, sizeof(good) + 1, &len), -1);
	memcpy(buf, good, sizeof(good));
	buf[5] = 0xfd;
	assert_int_equal(dml_zlib_unstore(buf, sizeof(good), &len), -1);
	/* a compressed block (BTYPE 01) is not the stored form */
	memcpy(buf, good, sizeof(good));
	buf[2] = 0x03;
	assert_int_equal(dml_zlib_unstore(buf, sizeof(good), &len), -1);
}

/* `printf 'hello\n' | git hash-object --stdin` and the empty tree. */
static void
test_object_names(void **state)
{
	struct dml_oid id;
	char hex[41];

	(void)state;
	dml_object_id(&id, DML_OBJ_BLOB, "hello\n", 6);
	hex_of(hex, &id);
	assert_string_equal(hex, "ce013625030ba8dba906f756967f9e9ca394464a");
	dml_object_id(&id, DML_OBJ_TREE, "", 0);
	hex_of(hex, &id);
	assert_string_equal(hex, "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
}

/* Offsets past 2 GiB go to the 64-bit table, and are found again. */
static void
test_index_offsets(void **state)
{
	struct dml_pack_obj o[4];
	struct dml_buf idx = DML_BUF_INIT;
	unsigned char sum[20] = { 1, 2, 3 };
	uint64_t want[4] = { 12, 0x7fffffffu, 0x80000000u, UINT64_C(5) << 32 }, off;
	struct dml_oid missing;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		char s[8];
		snprintf(s, sizeof(s), "o%zu", i);
		dml_object_id(&o[i].oid, DML_OBJ_BLOB, s, strlen(s));
		o[i].crc = (uint32_t)i;
	}
	/* The encoder wants them sorted, as dml_packw_finish gives them. */
	for (i = 1; i < 4; i++) {
		size_t j = i;
		while (j > 0 && memcmp(o[j - 1].oid.id, o[j].oid.id, 20) > 0) {
			struct dml_pack_obj t = o[j];
			o[j] = o[j - 1];
			o[j - 1] = t;
			j--;
		}
	}
	for (i = 0; i < 4; i++)
		o[i].offset = want[i];
	assert_null(dml_pack_index_encode(&idx, o, 4, sum));
	assert_int_equal(idx.len, 8 + 1024 + 4 * 28 + 2 * 8 + 40);
	assert_int_equal(dml_pack_index_check(idx.data, idx.len), 1);
	for (i = 0; i < 4; i++) {
		assert_int_equal(dml_pack_index_find(idx.data, idx.len, &o[i].oid, &off), 1);
		assert_true(off == want[i]);
	}
	dml_object_id(&missing, DML_OBJ_BLOB, "none", 4);
	assert_int_equal(dml_pack_index_find(idx.data, idx.len, &missing, &off), 0);
	/* The pack's checksum, then the index's own. */
	assert_memory_equal(idx.data + idx.len - 40, sum, 20);
	assert_int_equal(dml_pack_index_check(idx.data, idx.len - 1), 0);
	idx.data[8] = 0xff;	/* a fan-out that goes down */
	assert_int_equal(dml_pack_index_check(idx.data, idx.len), 0);
	dml_buf_release(&idx);
}

struct fixture {
	char dir[64];
	struct dml_repo *repo;
	const char *objdir;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int created;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/dml-unit-pack.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_null(dml_repo_init(&f->repo, f->dir, 1, &created));
	assert_non_null(f->objdir = dml_repo_objects_dir(f->repo));
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
test_write_and_read(void **state)
{
	struct fixture *f = *state;
	struct dml_packw *w;
	struct dml_packs *ps;
	struct dml_buf e = DML_BUF_INIT, got = DML_BUF_INIT;
	struct dml_pack_obj o[4];
	static unsigned char big[200000];
	const char *objdir = f->objdir;
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
	if (system("git --version >/dev/null 2>&1") == 0)
		assert_int_equal(system(cmd), 0);
	dml_buf_release(&e);
	dml_buf_release(&got);
}

/* No entries: no pack.  Freed unfinished: no temporary file left. */
static void
test_nothing_left(void **state)
{
	struct fixture *f = *state;
	struct dml_packw *w;
	struct dml_buf e = DML_BUF_INIT;
	struct dml_pack_obj o;
	int tmp;

	assert_null(dml_packw_new(&w, f->objdir));
	assert_null(dml_packw_finish(w));
	dml_packw_free(w);
	assert_int_equal(pack_files(f->objdir, &tmp), 0);
	assert_null(dml_packw_new(&w, f->objdir));
	assert_null(dml_pack_entry(&e, &o, DML_OBJ_BLOB, "x", 1));
	assert_null(dml_packw_add(w, &o, e.data, e.len));
	dml_packw_free(w);
	assert_int_equal(pack_files(f->objdir, &tmp), 0);
	dml_buf_release(&e);
}

/* The same object twice is a caller's mistake, refused at the end. */
static void
test_twice_refused(void **state)
{
	struct fixture *f = *state;
	struct dml_packw *w;
	struct dml_buf e = DML_BUF_INIT;
	struct dml_pack_obj o;
	int tmp;

	assert_null(dml_packw_new(&w, f->objdir));
	assert_null(dml_pack_entry(&e, &o, DML_OBJ_BLOB, "x", 1));
	assert_null(dml_packw_add(w, &o, e.data, e.len));
	assert_null(dml_packw_add(w, &o, e.data, e.len));
	assert_non_null(dml_packw_finish(w));
	dml_packw_free(w);
	assert_int_equal(pack_files(f->objdir, &tmp), 0);
	dml_buf_release(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored_form),
		cmocka_unit_test(test_unstore_refuses),
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_index_offsets),
		cmocka_unit_test_setup_teardown(test_write_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_left, setup, teardown),
		cmocka_unit_test_setup_teardown(test_twice_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
