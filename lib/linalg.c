/*
 * linalg.c - the LAPACKE and OpenBLAS wrapper: the only file that includes
 * <lapacke.h> and <cblas.h>.  Model training's solvers will live here.
 */
#include <stdio.h>

#include <cblas.h>
#include <lapacke.h>

#include "dml/version.h"

void
dml_linalg_version(char *lapack, size_t lapacklen, char *blas, size_t blaslen)
{
	lapack_int major = 0, minor = 0, patch = 0;

	LAPACKE_ilaver(&major, &minor, &patch);
	snprintf(lapack, lapacklen, "%d.%d.%d", (int)major, (int)minor, (int)patch);
	snprintf(blas, blaslen, "%s", openblas_get_config());
}
