/*
 * dml/cdc.h - content-defined chunking with FastCDC.
 *
 * FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking: a rolling
 * "gear" hash, a stricter mask before the average size and a looser one
 * after it, no cut before `min`, a forced cut at `max`.  The gear table is
 * derived from SHA-256 of a fixed label, so cut points are reproducible
 * forever on every machine; DML_CDC_NAME names this exact algorithm and
 * table in manifests.  Editing bytes in one place moves only the cut points
 * near the edit, so versions of a file share most chunks.
 *
 * The exact definition (lib/cdc.c; t/unit/test_cdc.c pins it):
 *   - gear[i] = first 8 bytes, big-endian, of SHA-256("dmlctl fastcdc-v1
 *     gear" || byte i); the hash is h = (h << 1) + gear[byte] mod 2^64, so
 *     bit b of h depends on the last b + 1 bytes only.
 *   - Masks use the high bits, as the paper does with its left-shifting
 *     hash: k one-bits at bits 63 - floor(j * 48 / k), j = 0..k-1, i.e.
 *     spread evenly over bits 16..63; mask_s has log2(avg) + 2 bits, mask_l
 *     log2(avg) - 2 (normalization level 2).  For 64 KiB: mask_s =
 *     0xa4a4a4a4a4a40000, mask_l = 0x9224489224480000.
 *   - A chunk of length L, min < L <= max, ends after byte L - 1 when
 *     h & mask == 0 there, with mask_s while L <= avg and mask_l after; the
 *     first such L wins, else L = max.  No cut is judged at or below min;
 *     hashing starts 64 bytes before min, so each judged hash covers the 64
 *     bytes before the candidate cut and nothing else.
 */
#ifndef DML_CDC_H
#define DML_CDC_H

#include <stddef.h>
#include <stdint.h>

#define DML_CDC_NAME "fastcdc-v1"
#define DML_CDC_MIN 16384
#define DML_CDC_AVG 65536
#define DML_CDC_MAX 262144

struct dml_cdc_params {
	uint32_t min, avg, max;	/* avg a power of two; min < avg < max */
	uint64_t mask_s, mask_l;	/* derived by dml_cdc_params_init */
};

/*
 * Fill in p: 0, or -1 when the sizes are unusable.  avg must be a power of
 * two from 256 to 2^28, min < avg < max, and max <= 2^30.
 */
int dml_cdc_params_init(struct dml_cdc_params *p, uint32_t min, uint32_t avg, uint32_t max);

/*
 * The length of the first chunk of buf[0..n).  When no cut point lies in
 * the data and fewer than p->max bytes are given, returns 0 unless `eof`
 * (then n): the caller must supply more data first.  A cut found in a
 * prefix never moves when more data follows, so data fed in pieces chunks
 * exactly as one buffer.  Chunks are min + 1..max bytes, except the last
 * (1..max); n == 0 returns 0.  p comes from dml_cdc_params_init; the
 * function is thread-safe and allocates nothing.
 */
size_t dml_cdc_cut(const struct dml_cdc_params *p, const unsigned char *buf, size_t n, int eof);

#endif
