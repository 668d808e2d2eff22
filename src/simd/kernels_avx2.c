/* kernels_avx2.c - the AVX2 fast-scan kernel of adc_kernels.h.
 *
 * Compiled per function with target("avx2"); only called by
 * dispatch.c after the CPU said it has AVX2.  Results are identical to
 * kernels_portable.c.
 *
 * A 32-byte load holds one subspace pair of a block (see
 * pqe_fs_pack); the low nibbles index the 16-entry tables of vectors 0..15,
 * the high nibbles those of vectors 16..31.  _mm256_shuffle_epi8 looks up
 * 32 entries per instruction: lane 0 in the table of subspace 2p, lane 1 in
 * that of 2p+1.  The uint8 results are widened into uint16 sums by keeping
 * even and odd bytes in separate accumulators (mask and shift, no
 * unpacking); the two 128-bit lanes (two subspaces) and the even/odd halves
 * are put back together once per block.
 *
 * Depends on: adc_kernels.h, immintrin.h.
 */
#include "simd/adc_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#define AVX2_TARGET __attribute__((target("avx2")))

AVX2_TARGET
void pqe_adc_table_avx2(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                        size_t dsub, int ip, float *table)
{
    /* Eight centroids per register; mul and add kept apart (no FMA) so
     * each lane sums exactly like the portable loop.  A ksub below 8 (nbits
     * 1 or 2) goes the portable way. */
    if (ksub % 8 != 0) {
        pqe_adc_table_portable(query, cbt, n_sub, ksub, dsub, ip, table);
        return;
    }
    for (size_t m = 0; m < n_sub; m++) {
        const float *q = query + m * dsub;
        const float *sub = cbt + m * dsub * ksub;
        size_t c = 0;
        /* Four registers of centroids per pass over j: independent chains
         * of adds keep the adder busy. */
        for (; c + 32 <= ksub; c += 32) {
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
            for (size_t j = 0; j < dsub; j++) {
                const float *col = sub + j * ksub + c;
                __m256 qj = _mm256_set1_ps(q[j]);
                __m256 x0 = _mm256_loadu_ps(col), x1 = _mm256_loadu_ps(col + 8);
                __m256 x2 = _mm256_loadu_ps(col + 16), x3 = _mm256_loadu_ps(col + 24);
                if (ip) {
                    acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(qj, x0));
                    acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(qj, x1));
                    acc2 = _mm256_add_ps(acc2, _mm256_mul_ps(qj, x2));
                    acc3 = _mm256_add_ps(acc3, _mm256_mul_ps(qj, x3));
                } else {
                    x0 = _mm256_sub_ps(qj, x0);
                    x1 = _mm256_sub_ps(qj, x1);
                    x2 = _mm256_sub_ps(qj, x2);
                    x3 = _mm256_sub_ps(qj, x3);
                    acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(x0, x0));
                    acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(x1, x1));
                    acc2 = _mm256_add_ps(acc2, _mm256_mul_ps(x2, x2));
                    acc3 = _mm256_add_ps(acc3, _mm256_mul_ps(x3, x3));
                }
            }
            _mm256_storeu_ps(table + m * ksub + c, acc0);
            _mm256_storeu_ps(table + m * ksub + c + 8, acc1);
            _mm256_storeu_ps(table + m * ksub + c + 16, acc2);
            _mm256_storeu_ps(table + m * ksub + c + 24, acc3);
        }
        for (; c < ksub; c += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (size_t j = 0; j < dsub; j++) {
                __m256 qj = _mm256_set1_ps(q[j]);
                __m256 col = _mm256_loadu_ps(sub + j * ksub + c);
                if (ip) {
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(qj, col));
                } else {
                    __m256 diff = _mm256_sub_ps(qj, col);
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(diff, diff));
                }
            }
            _mm256_storeu_ps(table + m * ksub + c, acc);
        }
    }
}

/* Sums the two 128-bit lanes of even/odd accumulators into 16 uint16
 * distances of vectors base..base+15, in order. */
AVX2_TARGET
static __m256i fs_combine(__m256i even, __m256i odd)
{
    __m128i e = _mm_add_epi16(_mm256_castsi256_si128(even), _mm256_extracti128_si256(even, 1));
    __m128i o = _mm_add_epi16(_mm256_castsi256_si128(odd), _mm256_extracti128_si256(odd, 1));
    __m128i lo = _mm_unpacklo_epi16(e, o);
    __m128i hi = _mm_unpackhi_epi16(e, o);
    return _mm256_set_m128i(hi, lo);
}

/* Bit j set where the uint16 d[j] <= limit (unsigned compare via max). */
AVX2_TARGET
static uint32_t fs_mask(__m256i d0, __m256i d1, __m256i limit)
{
    __m256i le0 = _mm256_cmpeq_epi16(_mm256_max_epu16(d0, limit), limit);
    __m256i le1 = _mm256_cmpeq_epi16(_mm256_max_epu16(d1, limit), limit);
    /* packs interleaves by 128-bit lane; the permute restores order. */
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(le0, le1), 0xD8);
    return (uint32_t)_mm256_movemask_epi8(packed);
}

AVX2_TARGET
void pqe_fs_scan_avx2(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                      uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    size_t n_pairs = pqe_fs_padded_sub(n_sub) / 2;
    size_t block_bytes = pqe_fs_block_bytes(n_sub);
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    const __m256i low_byte = _mm256_set1_epi16(0x00ff);
    const __m256i limit_v = _mm256_set1_epi16((short)limit);

    for (size_t b = 0; b < n_blocks; b++) {
        const uint8_t *block = blocks + b * block_bytes;
        __m256i acc_lo_even = _mm256_setzero_si256(), acc_lo_odd = _mm256_setzero_si256();
        __m256i acc_hi_even = _mm256_setzero_si256(), acc_hi_odd = _mm256_setzero_si256();

        for (size_t p = 0; p < n_pairs; p++) {
            __m256i codes = _mm256_loadu_si256((const __m256i *)(const void *)(block + p * 32));
            __m256i table = _mm256_loadu_si256((const __m256i *)(const void *)(lut + p * 32));
            __m256i lo = _mm256_and_si256(codes, nibble);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(codes, 4), nibble);
            __m256i r_lo = _mm256_shuffle_epi8(table, lo); /* vectors 0..15 */
            __m256i r_hi = _mm256_shuffle_epi8(table, hi); /* vectors 16..31 */
            acc_lo_even = _mm256_add_epi16(acc_lo_even, _mm256_and_si256(r_lo, low_byte));
            acc_lo_odd = _mm256_add_epi16(acc_lo_odd, _mm256_srli_epi16(r_lo, 8));
            acc_hi_even = _mm256_add_epi16(acc_hi_even, _mm256_and_si256(r_hi, low_byte));
            acc_hi_odd = _mm256_add_epi16(acc_hi_odd, _mm256_srli_epi16(r_hi, 8));
        }

        __m256i d0 = fs_combine(acc_lo_even, acc_lo_odd);
        __m256i d1 = fs_combine(acc_hi_even, acc_hi_odd);
        _mm256_storeu_si256((__m256i *)(void *)(dist + b * PQE_FS_BLOCK), d0);
        _mm256_storeu_si256((__m256i *)(void *)(dist + b * PQE_FS_BLOCK + 16), d1);
        mask[b] = fs_mask(d0, d1, limit_v);
    }
}

/* ---- batched ADC scan, 8 queries per vector ------------------------- */

typedef __m256 scan_vec;
#define scan_zero()       _mm256_setzero_ps()
#define scan_load(p)      _mm256_loadu_ps(p)
#define scan_add(a, b)    _mm256_add_ps((a), (b))
#define scan_store(p, v)  _mm256_storeu_ps((p), (v))
#define scan_any_lt(a, b) _mm256_movemask_ps(_mm256_cmp_ps((a), (b), _CMP_LT_OQ))

#define SCAN_NAME  pqe_adc_scan_avx2
#define SCAN_LANES 8
#define SCAN_ATTR  AVX2_TARGET
#include "simd/adc_scan_body.h"

#else /* not x86: never dispatched to, but the symbols must exist */

void pqe_adc_table_avx2(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                        size_t dsub, int ip, float *table)
{
    pqe_adc_table_portable(query, cbt, n_sub, ksub, dsub, ip, table);
}

void pqe_fs_scan_avx2(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                      uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    pqe_fs_scan_portable(blocks, n_blocks, n_sub, lut, limit, dist, mask);
}

#endif
