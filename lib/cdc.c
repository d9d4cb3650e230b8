/*
 * cdc.c - FastCDC content-defined chunking (see dml/cdc.h for the contract).
 *
 * The algorithm follows Xia et al. (USENIX ATC 2016; IEEE TPDS 2020):
 *
 *   - Gear hash: h = (h << 1) + gear[byte], 64 bits, wrapping.  A byte's
 *     table entry is shifted out after 64 more bytes, so bit b of h depends
 *     on the last b + 1 bytes only; that is why the masks use high bits.
 *   - Sub-minimum skipping: no cut is judged below `min`.  Hashing starts
 *     64 bytes before `min` (the paper starts at `min` itself), so that every
 *     judged position sees a full 64-byte window and a cut point depends on
 *     the content before it alone, never on where the chunk began.  This
 *     costs 64 extra hash steps per chunk.
 *   - Normalized chunking, level 2: the stricter mask_s (log2(avg) + 2 bits)
 *     for chunk lengths up to avg, the looser mask_l (log2(avg) - 2 bits)
 *     beyond it, a forced cut at max.
 *   - Padded masks: the one-bits are spread evenly over the 48 high bits
 *     (16..63) of the hash, as the paper pads its masks with zero bits to
 *     widen the window that decides a cut.
 *
 * The gear table is not a list of magic numbers: entry i is the first eight
 * bytes (big-endian) of SHA-256("dmlctl fastcdc-v1 gear" || i), computed
 * once per process on first use.  Changing the label, the masks or the loop
 * changes every chunk of every stored dataset, so any such change must come
 * with a new DML_CDC_NAME; t/unit/test_cdc.c pins the cut points.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dml/cdc.h"
#include "crypto.h"

#define GEAR_LABEL "dmlctl fastcdc-v1 gear"
#define WINDOW 64		/* bytes that influence the whole hash */
#define MASK_LOW_BIT 16		/* masks use bits MASK_LOW_BIT..63 */
#define MASK_SPAN (64 - MASK_LOW_BIT)
#define NORMAL_LEVEL 2

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void
gear_init(void)
{
	unsigned char msg[sizeof(GEAR_LABEL)];	/* the label, then byte i */
	unsigned char d[DML_SHA256_LEN];
	size_t len = sizeof(GEAR_LABEL) - 1;
	uint64_t v;
	int i, k;

	memcpy(msg, GEAR_LABEL, len);
	for (i = 0; i < 256; i++) {
		msg[len] = (unsigned char)i;
		dml_sha256(d, msg, len + 1);
		for (v = 0, k = 0; k < 8; k++)
			v = v << 8 | d[k];
		gear[i] = v;
	}
}

/* `bits` one-bits, the first at bit 63, evenly spaced down to bit 16. */
static uint64_t
spread_mask(unsigned bits)
{
	uint64_t m = 0;
	unsigned j;

	for (j = 0; j < bits; j++)
		m |= (uint64_t)1 << (63 - j * MASK_SPAN / bits);
	return m;
}

int
dml_cdc_params_init(struct dml_cdc_params *p, uint32_t min, uint32_t avg, uint32_t max)
{
	unsigned lg = 0;

	if (avg < 256 || avg > (UINT32_C(1) << 28) || (avg & (avg - 1)) != 0)
		return -1;
	if (min >= avg || avg >= max || max > (UINT32_C(1) << 30))
		return -1;
	while ((UINT32_C(1) << lg) < avg)
		lg++;
	p->min = min;
	p->avg = avg;
	p->max = max;
	p->mask_s = spread_mask(lg + NORMAL_LEVEL);
	p->mask_l = spread_mask(lg - NORMAL_LEVEL);
	pthread_once(&gear_once, gear_init);
	return 0;
}

size_t
dml_cdc_cut(const struct dml_cdc_params *p, const unsigned char *buf, size_t n, int eof)
{
	const uint64_t mask_s = p->mask_s, mask_l = p->mask_l;
	size_t i, normal, limit;
	uint64_t h = 0;

	if (n <= p->min)
		return eof ? n : 0;
	pthread_once(&gear_once, gear_init);
	limit = n < p->max ? n : p->max;
	normal = limit < p->avg ? limit : p->avg;

	/*
	 * A cut after buf[i] (a chunk of i + 1 bytes) is judged on the hash
	 * of buf[i - 63..i]: mask_s while i + 1 <= avg, mask_l after.
	 */
	i = p->min > WINDOW ? p->min - WINDOW : 0;
	for (; i < p->min; i++)
		h = (h << 1) + gear[buf[i]];
	for (; i < normal; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask_s))
			return i + 1;
	}
	for (; i < limit; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask_l))
			return i + 1;
	}
	if (limit == p->max)
		return limit;
	return eof ? n : 0;
}
