/*
 * fuzz_packidx.c - pack indexes and stored zlib streams over arbitrary bytes.
 *
 * dataset get maps every pack index of the repository and searches it, and
 * a repository may come from anyone, so an index that passes
 * dml_pack_index_check must be searchable for any name without reading
 * outside it.  When its names are sorted and agree with the fan-out, as in
 * every index git writes, each must be found at the offset listed for it
 * (a 31-bit one; a 64-bit one when it lies in the table); either way, no
 * name may crash the search.  dml_zlib_unstore, which reads pack
 * entries in place, must refuse or give content no longer than its input.
 * Any breach aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dml/buf.h"
#include "dml/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Are the names strictly increasing, each within its fan-out range? */
static int
well_ordered(const uint8_t *data, size_t n)
{
	const uint8_t *names = data + 8 + 1024;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned b = names[20 * i];
		if (i < (b ? dml_get_be32(data + 8 + 4 * (b - 1)) : 0) ||
		    i >= dml_get_be32(data + 8 + 4 * b))
			return 0;
		if (i > 0 && memcmp(names + 20 * (i - 1), names + 20 * i, 20) >= 0)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;
	size_t len, i, n;
	uint64_t off;

	if (dml_pack_index_check(data, size)) {
		struct dml_oid id;
		int ordered;

		n = dml_get_be32(data + 8 + 4 * 255);
		ordered = well_ordered(data, n);
		for (i = 0; i < n && i < 4096; i++) {
			uint32_t o = dml_get_be32(data + 8 + 1024 + 24 * n + 4 * i);
			memcpy(id.id, data + 8 + 1024 + 20 * i, 20);
			if (dml_pack_index_find(data, size, &id, &off)) {
				if (ordered && !(o & 0x80000000u) && off != o)
					abort();
			} else if (ordered && !(o & 0x80000000u)) {
				abort();
			}
			id.id[19] ^= 1;
			(void)dml_pack_index_find(data, size, &id, &off);
		}
		memset(id.id, 0xff, 20);
		(void)dml_pack_index_find(data, size, &id, &off);
	}
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (dml_zlib_unstore(copy, size, &len) == 0 && len > size)
		abort();
	free(copy);
	return 0;
}
