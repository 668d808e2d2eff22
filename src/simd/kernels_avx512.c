/* kernels_avx512.c - the AVX-512 (F + BW) fast-scan kernel of
 * adc_kernels.h.
 *
 * Compiled per function with target("avx512f,avx512bw,avx2"); only
 * called by dispatch.c after the CPU said it has AVX-512 F and BW.  Results
 * are identical to kernels_portable.c.  The method is that of
 * kernels_avx2.c at twice the width: a 64-byte load holds two subspace pairs of a block (the
 * padding to a multiple of four subspaces in pqe_fs_pack makes the pair
 * count even), so _mm512_shuffle_epi8 does 64 lookups per instruction, each
 * 128-bit lane in the table of its own subspace; the four lanes are summed
 * once per block.
 *
 * Depends on: adc_kernels.h, immintrin.h.
 */
#include "simd/adc_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>
#include <string.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx2")))

AVX512_TARGET
void pqe_adc_table_avx512(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                          size_t dsub, int ip, float *table)
{
    /* Sixteen centroids per register, mul and add kept apart (see the AVX2
     * version); ksub 8 goes the AVX2 way, smaller ones the portable way. */
    if (ksub % 16 != 0) {
        pqe_adc_table_avx2(query, cbt, n_sub, ksub, dsub, ip, table);
        return;
    }
    for (size_t m = 0; m < n_sub; m++) {
        const float *q = query + m * dsub;
        const float *sub = cbt + m * dsub * ksub;
        size_t c = 0;
        /* Four registers of centroids per pass over j: independent chains
         * of adds keep the adder busy. */
        for (; c + 64 <= ksub; c += 64) {
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
            for (size_t j = 0; j < dsub; j++) {
                const float *col = sub + j * ksub + c;
                __m512 qj = _mm512_set1_ps(q[j]);
                __m512 x0 = _mm512_loadu_ps(col), x1 = _mm512_loadu_ps(col + 16);
                __m512 x2 = _mm512_loadu_ps(col + 32), x3 = _mm512_loadu_ps(col + 48);
                if (ip) {
                    acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(qj, x0));
                    acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(qj, x1));
                    acc2 = _mm512_add_ps(acc2, _mm512_mul_ps(qj, x2));
                    acc3 = _mm512_add_ps(acc3, _mm512_mul_ps(qj, x3));
                } else {
                    x0 = _mm512_sub_ps(qj, x0);
                    x1 = _mm512_sub_ps(qj, x1);
                    x2 = _mm512_sub_ps(qj, x2);
                    x3 = _mm512_sub_ps(qj, x3);
                    acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(x0, x0));
                    acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(x1, x1));
                    acc2 = _mm512_add_ps(acc2, _mm512_mul_ps(x2, x2));
                    acc3 = _mm512_add_ps(acc3, _mm512_mul_ps(x3, x3));
                }
            }
            _mm512_storeu_ps(table + m * ksub + c, acc0);
            _mm512_storeu_ps(table + m * ksub + c + 16, acc1);
            _mm512_storeu_ps(table + m * ksub + c + 32, acc2);
            _mm512_storeu_ps(table + m * ksub + c + 48, acc3);
        }
        for (; c < ksub; c += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (size_t j = 0; j < dsub; j++) {
                __m512 qj = _mm512_set1_ps(q[j]);
                __m512 col = _mm512_loadu_ps(sub + j * ksub + c);
                if (ip) {
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(qj, col));
                } else {
                    __m512 diff = _mm512_sub_ps(qj, col);
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(diff, diff));
                }
            }
            _mm512_storeu_ps(table + m * ksub + c, acc);
        }
    }
}

/* Sums the four 128-bit lanes of even/odd accumulators into 16 uint16
 * distances, in vector order. */
AVX512_TARGET
static __m256i fs_combine512(__m512i even, __m512i odd)
{
    __m128i e = _mm_add_epi16(
        _mm_add_epi16(_mm512_extracti32x4_epi32(even, 0), _mm512_extracti32x4_epi32(even, 1)),
        _mm_add_epi16(_mm512_extracti32x4_epi32(even, 2), _mm512_extracti32x4_epi32(even, 3)));
    __m128i o = _mm_add_epi16(
        _mm_add_epi16(_mm512_extracti32x4_epi32(odd, 0), _mm512_extracti32x4_epi32(odd, 1)),
        _mm_add_epi16(_mm512_extracti32x4_epi32(odd, 2), _mm512_extracti32x4_epi32(odd, 3)));
    return _mm256_set_m128i(_mm_unpackhi_epi16(e, o), _mm_unpacklo_epi16(e, o));
}

AVX512_TARGET
void pqe_fs_scan_avx512(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                        uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    size_t n_quads = pqe_fs_padded_sub(n_sub) / 4;
    size_t block_bytes = pqe_fs_block_bytes(n_sub);
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    const __m512i low_byte = _mm512_set1_epi16(0x00ff);
    const __m512i limit_v = _mm512_set1_epi16((short)limit);

    for (size_t b = 0; b < n_blocks; b++) {
        const uint8_t *block = blocks + b * block_bytes;
        __m512i acc_lo_even = _mm512_setzero_si512(), acc_lo_odd = _mm512_setzero_si512();
        __m512i acc_hi_even = _mm512_setzero_si512(), acc_hi_odd = _mm512_setzero_si512();

        for (size_t q = 0; q < n_quads; q++) {
            __m512i codes = _mm512_loadu_si512((const void *)(block + q * 64));
            __m512i table = _mm512_loadu_si512((const void *)(lut + q * 64));
            __m512i lo = _mm512_and_si512(codes, nibble);
            __m512i hi = _mm512_and_si512(_mm512_srli_epi16(codes, 4), nibble);
            __m512i r_lo = _mm512_shuffle_epi8(table, lo); /* vectors 0..15 */
            __m512i r_hi = _mm512_shuffle_epi8(table, hi); /* vectors 16..31 */
            acc_lo_even = _mm512_add_epi16(acc_lo_even, _mm512_and_si512(r_lo, low_byte));
            acc_lo_odd = _mm512_add_epi16(acc_lo_odd, _mm512_srli_epi16(r_lo, 8));
            acc_hi_even = _mm512_add_epi16(acc_hi_even, _mm512_and_si512(r_hi, low_byte));
            acc_hi_odd = _mm512_add_epi16(acc_hi_odd, _mm512_srli_epi16(r_hi, 8));
        }

        __m256i d0 = fs_combine512(acc_lo_even, acc_lo_odd);
        __m256i d1 = fs_combine512(acc_hi_even, acc_hi_odd);
        __m512i d = _mm512_inserti64x4(_mm512_castsi256_si512(d0), d1, 1);
        _mm512_storeu_si512((void *)(dist + b * PQE_FS_BLOCK), d);
        mask[b] = (uint32_t)_mm512_cmple_epu16_mask(d, limit_v);
    }
}

/* ---- batched ADC scan, 16 queries per vector ------------------------- */

typedef __m512 scan_vec;
#define scan_zero()       _mm512_setzero_ps()
#define scan_load(p)      _mm512_loadu_ps(p)
#define scan_add(a, b)    _mm512_add_ps((a), (b))
#define scan_store(p, v)  _mm512_storeu_ps((p), (v))
#define scan_any_lt(a, b) (int)_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ)

#define SCAN_NAME  pqe_adc_scan_avx512
#define SCAN_LANES 16
#define SCAN_ATTR  AVX512_TARGET
#include "simd/adc_scan_body.h"

#else /* not x86: never dispatched to, but the symbols must exist */

void pqe_adc_table_avx512(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                          size_t dsub, int ip, float *table)
{
    pqe_adc_table_portable(query, cbt, n_sub, ksub, dsub, ip, table);
}

void pqe_fs_scan_avx512(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                        uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    pqe_fs_scan_portable(blocks, n_blocks, n_sub, lut, limit, dist, mask);
}

#endif
