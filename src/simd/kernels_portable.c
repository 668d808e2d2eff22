/* kernels_portable.c - the reference kernels in plain C, and the fast-scan
 * block layout.
 *
 * These define the results: the SIMD paths (kernels_avx2.c,
 * kernels_avx512.c) must give the same bits.  For the ADC scan that means
 * each code's distance is summed over subspaces 0, 1, ..., M-1 in that
 * order, in float; the SIMD paths keep that order per lane.  For the fast
 * scan all arithmetic is on integers, so any order gives the same sums.
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

void pqe_adc_scan_u8_portable(const float *table, size_t n_sub, size_t ksub,
                              const uint8_t *codes, size_t n, float *out)
{
    size_t i = 0;

    /* Four codes at a time: four independent chains of adds keep the
     * loads in flight; each chain still adds its subspaces in order. */
    for (; i + 4 <= n; i += 4) {
        const uint8_t *c0 = codes + i * n_sub;
        const uint8_t *c1 = c0 + n_sub;
        const uint8_t *c2 = c1 + n_sub;
        const uint8_t *c3 = c2 + n_sub;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const float *t = table;
        for (size_t m = 0; m < n_sub; m++, t += ksub) {
            s0 += t[c0[m]];
            s1 += t[c1[m]];
            s2 += t[c2[m]];
            s3 += t[c3[m]];
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + i * n_sub;
        float s = 0;
        for (size_t m = 0; m < n_sub; m++)
            s += table[m * ksub + c[m]];
        out[i] = s;
    }
}

void pqe_fs_scan_portable(const uint8_t *blocks, size_t n_blocks, size_t n_sub,
                          const uint8_t *lut, uint16_t limit, uint16_t *dist, uint32_t *mask)
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
