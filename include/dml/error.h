/*
 * dml/error.h - errors as values.
 *
 * Every fallible library function returns `const struct dml_error *`: NULL on
 * success, otherwise a description of the first thing that went wrong.  The
 * caller never frees it.  Errors live in a small per-thread ring, so an error
 * stays valid until the same thread has created DML_ERROR_RING more errors;
 * callers that must keep one longer copy it with dml_error_keep().
 *
 * The library never prints and never exits: cmd/ turns an error into one
 * line on stderr and an exit status with dml_error_exit_status().
 */
#ifndef DML_ERROR_H
#define DML_ERROR_H

#include <stddef.h>

enum dml_error_code {
	DML_ERR_OK = 0,
	DML_ERR_NOMEM,		/* out of memory */
	DML_ERR_IO,		/* a file or the repository could not be read or written */
	DML_ERR_USAGE,		/* the caller passed an unusable argument (exit 2) */
	DML_ERR_PARSE,		/* input is malformed or not canonical */
	DML_ERR_VERIFY,		/* a check answered no: bad signature, digest, link (exit 1) */
	DML_ERR_DENIED,		/* the policy does not allow this author to do this (exit 1) */
	DML_ERR_NOTFOUND,	/* a named thing does not exist */
	DML_ERR_EXISTS,		/* a named thing exists already */
	DML_ERR_PASSPHRASE,	/* a secret key could not be decrypted with the passphrase */
	DML_ERR_LOCKED,		/* the ledger ref is locked by another writer (retryable) */
	DML_ERR_MOVED,		/* the ledger ref moved under us: re-read and retry */
	DML_ERR_UNSUPPORTED,	/* a valid but unsupported format or algorithm */
	DML_ERR_INTERNAL	/* a library misbehaved */
};

#define DML_ERROR_MSGLEN 1024
#define DML_ERROR_RING 16

struct dml_error {
	enum dml_error_code code;
	char msg[DML_ERROR_MSGLEN];	/* lowercase, no full stop, subject in quotes */
};

/* Make an error with a printf-style message. */
const struct dml_error *dml_error_fmt(enum dml_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Make an error whose message is "<prefix>: <strerror(errnum)>". */
const struct dml_error *dml_error_errno(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Shorthand for an out-of-memory error. */
const struct dml_error *dml_error_nomem(void);

/* Prepend context ("<context>: <original message>"), keeping the code. */
const struct dml_error *dml_error_wrap(const struct dml_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy an error into caller storage so it survives the ring. */
void dml_error_keep(struct dml_error *dst, const struct dml_error *src);

/* The process exit status that the error stands for: 1, 2 or 128. */
int dml_error_exit_status(const struct dml_error *err);

#endif
