/*
 * error.c - a per-thread ring of error values.
 *
 * Errors are returned, never printed.  A ring (rather than one static slot)
 * lets a function build a new error from an older one, as dml_error_wrap()
 * does, and lets threads fail independently.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dml/error.h"

static _Thread_local struct dml_error ring[DML_ERROR_RING];
static _Thread_local unsigned ring_next;

static struct dml_error *
next_slot(void)
{
	struct dml_error *e = &ring[ring_next++ % DML_ERROR_RING];
	e->msg[0] = '\0';
	return e;
}

const struct dml_error *
dml_error_fmt(enum dml_error_code code, const char *fmt, ...)
{
	struct dml_error *e = next_slot();
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return e;
}

const struct dml_error *
dml_error_errno(int errnum, const char *fmt, ...)
{
	struct dml_error *e = next_slot();
	char prefix[DML_ERROR_MSGLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	e->code = errnum == ENOMEM ? DML_ERR_NOMEM : DML_ERR_IO;
	snprintf(e->msg, sizeof(e->msg), "%.900s: %s", prefix, strerror(errnum));
	return e;
}

const struct dml_error *
dml_error_nomem(void)
{
	return dml_error_fmt(DML_ERR_NOMEM, "out of memory");
}

const struct dml_error *
dml_error_wrap(const struct dml_error *err, const char *fmt, ...)
{
	struct dml_error *e;
	char prefix[DML_ERROR_MSGLEN];
	va_list ap;

	if (err == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	e = next_slot();
	e->code = err->code;
	snprintf(e->msg, sizeof(e->msg), "%.400s: %.600s", prefix, err->msg);
	return e;
}

void
dml_error_keep(struct dml_error *dst, const struct dml_error *src)
{
	if (src == NULL) {
		dst->code = DML_ERR_OK;
		dst->msg[0] = '\0';
		return;
	}
	memcpy(dst, src, sizeof(*dst));
}

int
dml_error_exit_status(const struct dml_error *err)
{
	if (err == NULL)
		return 0;
	switch (err->code) {
	case DML_ERR_OK:
		return 0;
	case DML_ERR_VERIFY:
	case DML_ERR_DENIED:
		return 1;
	case DML_ERR_USAGE:
		return 2;
	default:
		return 128;
	}
}
