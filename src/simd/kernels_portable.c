/* kernels_portable.c - the reference fast-scan kernel in plain C, and the
 * fast-scan block layout.
 *
 * This defines the results: the SIMD paths (kernels_avx2.c,
 * kernels_avx512.c) must give the same sums and masks.  All arithmetic is
 * on integers (uint16, wrapping exactly like the SIMD adds), so the order
 * of the additions does not matter.
 *
 * Depends on: adc_kernels.h.
 */
#include "simd/adc_kernels.h"

#include <string.h>

size_t pqe_fs_padded_sub(size_t n_sub)
{
    return (n_sub + 3) / 4 * 4;
}

size_t pqe_fs_block_bytes(size_t n_sub)
{
    return pqe_fs_padded_sub(n_sub) / 2 * PQE_FS_BLOCK;
}

/* Where vector j (< 32) of a block keeps its code of subspace m: the byte
 * offset in the block and the shift of its nibble. */
static size_t fs_byte_offset(size_t j, size_t m, unsigned *shift)
{
    *shift = j < 16 ? 0 : 4;
    return (m / 2) * 32 + (m % 2) * 16 + (j % 16);
}

void pqe_fs_pack(const uint8_t *codes, size_t n, size_t n_sub, uint8_t *blocks)
{
    size_t block_bytes = pqe_fs_block_bytes(n_sub);
    size_t n_blocks = (n + PQE_FS_BLOCK - 1) / PQE_FS_BLOCK;

    memset(blocks, 0, n_blocks * block_bytes);
    for (size_t i = 0; i < n; i++) {
        uint8_t *block = blocks + (i / PQE_FS_BLOCK) * block_bytes;
        for (size_t m = 0; m < n_sub; m++) {
            unsigned shift;
            size_t off = fs_byte_offset(i % PQE_FS_BLOCK, m, &shift);
            block[off] |= (uint8_t)((codes[i * n_sub + m] & 15u) << shift);
        }
    }
}

uint8_t pqe_fs_code_at(const uint8_t *blocks, size_t n_sub, size_t i, size_t m)
{
    const uint8_t *block = blocks + (i / PQE_FS_BLOCK) * pqe_fs_block_bytes(n_sub);
    unsigned shift;
    size_t off = fs_byte_offset(i % PQE_FS_BLOCK, m, &shift);
    return (uint8_t)((block[off] >> shift) & 15u);
}

void pqe_codebooks_transpose(const float *cb, size_t n_sub, size_t ksub, size_t dsub, float *cbt)
{
    for (size_t m = 0; m < n_sub; m++)
        for (size_t c = 0; c < ksub; c++)
            for (size_t j = 0; j < dsub; j++)
                cbt[(m * dsub + j) * ksub + c] = cb[(m * ksub + c) * dsub + j];
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Centroids c0 .. c0 + 4 * n_vec - 1 of one subspace (n_vec <= 4 registers
 * of four), their sums kept in registers across j. */
static inline void adc_table_sse2(const float *q, const float *sub, size_t ksub, size_t dsub,
                                  int ip, size_t c0, size_t n_vec, float *t)
{
    __m128 acc[4] = {_mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps()};
    for (size_t j = 0; j < dsub; j++) {
        __m128 qj = _mm_set1_ps(q[j]);
        const float *col = sub + j * ksub + c0;
        for (size_t v = 0; v < n_vec; v++) {
            __m128 x = _mm_loadu_ps(col + 4 * v);
            if (ip) {
                acc[v] = _mm_add_ps(acc[v], _mm_mul_ps(qj, x));
            } else {
                x = _mm_sub_ps(qj, x);
                acc[v] = _mm_add_ps(acc[v], _mm_mul_ps(x, x));
            }
        }
    }
    for (size_t v = 0; v < n_vec; v++)
        _mm_storeu_ps(t + c0 + 4 * v, acc[v]);
}
#endif

void pqe_adc_table_portable(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                            size_t dsub, int ip, float *table)
{
#ifdef __SSE2__
    /* SSE2 is part of every x86-64 CPU: four centroids per register, the
     * same separate multiply and add per lane as the loop below. */
    if (ksub % 4 == 0) {
        for (size_t m = 0; m < n_sub; m++) {
            const float *q = query + m * dsub, *sub = cbt + m * dsub * ksub;
            float *t = table + m * ksub;
            size_t c = 0;
            for (; c + 16 <= ksub; c += 16)
                adc_table_sse2(q, sub, ksub, dsub, ip, c, 4, t);
            if (c < ksub)
                adc_table_sse2(q, sub, ksub, dsub, ip, c, (ksub - c) / 4, t);
        }
        return;
    }
#endif
    for (size_t m = 0; m < n_sub; m++) {
        float *t = table + m * ksub;
        for (size_t c = 0; c < ksub; c++)
            t[c] = 0;
        for (size_t j = 0; j < dsub; j++) {
            const float *col = cbt + (m * dsub + j) * ksub;
            float q = query[m * dsub + j];
            if (ip) {
                for (size_t c = 0; c < ksub; c++)
                    t[c] += q * col[c];
            } else {
                for (size_t c = 0; c < ksub; c++) {
                    float diff = q - col[c];
                    t[c] += diff * diff;
                }
            }
        }
    }
}

void pqe_fs_scan_portable(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                          uint16_t limit, uint16_t *dist, uint32_t *mask)
{
    size_t n_pairs = pqe_fs_padded_sub(n_sub) / 2;
    size_t block_bytes = pqe_fs_block_bytes(n_sub);

    for (size_t b = 0; b < n_blocks; b++) {
        const uint8_t *block = blocks + b * block_bytes;
        uint16_t *d = dist + b * PQE_FS_BLOCK;
        uint32_t bits = 0;
        for (size_t j = 0; j < PQE_FS_BLOCK; j++) {
            unsigned shift = j < 16 ? 0 : 4;
            unsigned sum = 0;
            for (size_t p = 0; p < n_pairs; p++) {
                const uint8_t *pair = block + p * 32;
                const uint8_t *lut_pair = lut + p * 32;
                sum += lut_pair[(pair[j % 16] >> shift) & 15u];
                sum += lut_pair[16 + ((pair[16 + j % 16] >> shift) & 15u)];
            }
            d[j] = (uint16_t)sum;
            if (d[j] <= limit)
                bits |= 1u << j;
        }
        mask[b] = bits;
    }
}

/* ---- batched ADC scan, four queries per vector ---------------------------- */

/* SSE2 belongs to every x86-64 CPU, so the portable path may use it; other
 * CPUs get four plain floats.  Either way each lane is a plain float add. */
#ifdef __SSE2__
#include <emmintrin.h>

typedef __m128 scan_vec;
#define scan_zero()       _mm_setzero_ps()
#define scan_load(p)      _mm_loadu_ps(p)
#define scan_add(a, b)    _mm_add_ps((a), (b))
#define scan_store(p, v)  _mm_storeu_ps((p), (v))
#define scan_any_lt(a, b) _mm_movemask_ps(_mm_cmplt_ps((a), (b)))
#else
typedef struct {
    float f[4];
} scan_vec;

static inline scan_vec scan_zero(void)
{
    scan_vec v = {{0, 0, 0, 0}};
    return v;
}

static inline scan_vec scan_load(const float *p)
{
    scan_vec v;
    memcpy(v.f, p, sizeof v.f);
    return v;
}

static inline scan_vec scan_add(scan_vec a, scan_vec b)
{
    for (int l = 0; l < 4; l++)
        a.f[l] += b.f[l];
    return a;
}

static inline void scan_store(float *p, scan_vec v)
{
    memcpy(p, v.f, sizeof v.f);
}

static inline int scan_any_lt(scan_vec a, scan_vec b)
{
    return (a.f[0] < b.f[0]) | (a.f[1] < b.f[1]) | (a.f[2] < b.f[2]) | (a.f[3] < b.f[3]);
}
#endif

#define SCAN_NAME  pqe_adc_scan_portable
#define SCAN_LANES 4
#define SCAN_ATTR
#include "simd/adc_scan_body.h"
