/*
 * dml/version.h - versions of the libraries dmlctl is linked with, for
 * `dmlctl --version` and bug reports.  Each comes from the one lib/ file
 * that wraps that library.
 */
#ifndef DML_VERSION_H
#define DML_VERSION_H

#include <stddef.h>

const char *dml_git_version(void);	/* libgit2, lib/git.c */
const char *dml_sodium_version(void);	/* libsodium, lib/crypto.c */
const char *dml_zstd_version(void);	/* zstd, lib/compress.c */
/* LAPACK's version (from LAPACKE) and the BLAS build, lib/linalg.c. */
void dml_linalg_version(char *lapack, size_t lapacklen, char *blas, size_t blaslen);

#endif
