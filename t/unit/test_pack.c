/*
 * test_pack.c - the pieces of packs written without libgit2: zlib's stored
 * form against zlib itself, object names against git's, the index against
 * hand-made offsets (64-bit ones too).  Whole packs in a repository are
 * tested in test_repo.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zlib.h>

#include "dml/buf.h"
#include "dml/pack.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stored_form),
		cmocka_unit_test(test_unstore_refuses),
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_index_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
