/* kernels_avx512.c - AVX-512 (F + BW) versions of the kernels of
 * adc_kernels.h.
 *
 * Compiled per function with target("avx512f,avx512bw,avx2,fma"); only
 * called by dispatch.c after the CPU said it has AVX-512 F and BW.  Results
 * are bit-identical to kernels_portable.c.  The methods are those of
 * kernels_avx2.c at twice the width:
 *
 * ADC scan: sixteen codes at a time, one per 32-bit lane, subspaces added
 * in order per lane.
 *
 * Fast scan: a 64-byte load holds two subspace pairs of a block (the
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

#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx2,fma")))

AVX512_TARGET
void pqe_adc_scan_u8_avx512(const float *table, size_t n_sub, size_t ksub,
                            const uint8_t *codes, size_t n, float *out)
{
    size_t i = 0;

    if (n_sub % 4 == 0 && n_sub <= (size_t)INT32_MAX / 16) {
        const __m512i byte_mask = _mm512_set1_epi32(0xff);
        const __m512i code_offsets =
            _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                               _mm512_set1_epi32((int)n_sub));
        /* The last gathered word of a group of 16 codes ends at byte
         * (i + 16) * n_sub, inside the array: no overrun. */
        for (; i + 16 <= n; i += 16) {
            const uint8_t *group = codes + i * n_sub;
            const float *t = table;
            __m512 sum = _mm512_setzero_ps();
            for (size_t m = 0; m < n_sub; m += 4, t += 4 * ksub) {
                __m512i words = _mm512_i32gather_epi32(code_offsets, (const void *)(group + m), 1);
                __m512i idx0 = _mm512_and_si512(words, byte_mask);
                __m512i idx1 = _mm512_and_si512(_mm512_srli_epi32(words, 8), byte_mask);
                __m512i idx2 = _mm512_and_si512(_mm512_srli_epi32(words, 16), byte_mask);
                __m512i idx3 = _mm512_srli_epi32(words, 24);
                sum = _mm512_add_ps(sum, _mm512_i32gather_ps(idx0, t, 4));
                sum = _mm512_add_ps(sum, _mm512_i32gather_ps(idx1, t + ksub, 4));
                sum = _mm512_add_ps(sum, _mm512_i32gather_ps(idx2, t + 2 * ksub, 4));
                sum = _mm512_add_ps(sum, _mm512_i32gather_ps(idx3, t + 3 * ksub, 4));
            }
            _mm512_storeu_ps(out + i, sum);
        }
    }
    if (i < n)
        pqe_adc_scan_u8_portable(table, n_sub, ksub, codes + i * n_sub, n - i, out + i);
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
void pqe_fs_scan_avx512(const uint8_t *blocks, size_t n_blocks, size_t n_sub,
                        const uint8_t *lut, uint16_t limit, uint16_t *dist, uint32_t *mask)
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

#else /* not x86: never dispatched to, but the symbols must exist */

void pqe_adc_scan_u8_avx512(const float *table, size_t n_sub, size_t ksub,
                            const uint8_t *codes, size_t n, float *out)
{
    pqe_adc_scan_u8_portable(table, n_sub, ksub, codes, n, out);
}

void pqe_fs_scan_avx512(const uint8_t *blocks, size_t n_blocks, size_t n_sub,
                        const uint8_t *lut, uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    pqe_fs_scan_portable(blocks, n_blocks, n_sub, lut, limit, dist, mask);
}

#endif
