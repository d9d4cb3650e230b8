/*
 * test_repo.c - the object store's quarantine: what a transfer writes stays
 * apart until kept, and is gone when dropped.
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

#include "dml/buf.h"
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
