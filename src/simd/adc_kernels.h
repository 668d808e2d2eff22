/* adc_kernels.h - the SIMD inner loops of PQ search (ADC tables, the
 * batched float ADC scan, the 4-bit fast scan),
 * with a portable C path and SIMD paths (AVX2, AVX-512) chosen at run time.
 *
 * Not installed.  Every kernel exists in portable C, which is the
 * reference: the AVX2 and AVX-512 paths give identical results
 * (tests/test_simd.c checks it).
 * No kernel uses fused multiply-add, so float results do not depend on the
 * path either.  The library is compiled for baseline x86-64; the SIMD kernels are compiled
 * per function with __attribute__((target(...))) and only called after the
 * CPU has been asked (__builtin_cpu_supports) whether it has the extension.
 *
 * The kernel, pqe_fs_scan: codes are laid out in blocks of 32 vectors with
 * two codes per byte (see pqe_fs_pack), lookup tables are quantised to
 * uint8, and one byte shuffle (pshufb) does 32 (AVX2) or 64 (AVX-512) table
 * lookups at once; sums are kept in uint16.  André, Kermarrec, Le
 * Scouarnec, "Cache locality is not enough: high-performance nearest
 * neighbor search with product quantization fast scan", VLDB 2015, and
 * "Quicker ADC", IEEE TPAMI 2019.
 *
 * The batched ADC scan, pqe_adc_scan: float ADC over uint8 codes for a
 * batch of queries at once (4 on the portable path, 8 with AVX2, 16 with
 * AVX-512).  The batch's tables are interleaved, entry (m, c) of every
 * query side by side, so that one vector load fetches the entry of all the
 * queries and one code byte read serves them all.  A scan of one query at
 * a time is bound by loads (two per lookup: the code byte and the entry);
 * here the Q queries of a batch share both loads.  Each lane adds in
 * exactly the order of search.c's one-query loop, groups of four,
 * d += (t0 + t1) + (t2 + t3), then one by one, with no fused operation:
 * every path and the one-query loop give the same bits.
 *
 * Tried and dropped: a one-query ADC scan with AVX2 / AVX-512 gathers
 * (eight or sixteen codes per register).  It gave the same bits as the
 * scalar loop but ran at 0.13 (AVX2) and 0.15 (AVX-512) Gcodes/s per thread
 * against 0.24 for four interleaved scalar sums (M = 16, K = 256, this AMD
 * EPYC, Zen 5): gathers do not reduce the loads.  Four queries per pass
 * with separate (not interleaved) tables gained only 10%: they still cost a
 * load per entry.
 *
 * Depends on: status.h.
 */
#ifndef PQEVAL_SIMD_ADC_KERNELS_H
#define PQEVAL_SIMD_ADC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/status.h"

/* ---- run-time dispatch ---------------------------------------------------- */

typedef enum pqe_simd_level {
    PQE_SIMD_PORTABLE = 0, /* plain C, any x86-64 (and any other CPU) */
    PQE_SIMD_AVX2 = 1,     /* AVX2 */
    PQE_SIMD_AVX512 = 2    /* AVX-512 F + BW */
} pqe_simd_level;

enum { PQE_SIMD_N_LEVELS = 3 };

/* "portable", "avx2", "avx512". */
const char *pqe_simd_level_name(pqe_simd_level level);

/* Parses the names above; PQE_ERR_PARAM for anything else. */
pqe_status pqe_simd_level_parse(const char *name, pqe_simd_level *out);

/* The best level this CPU supports. */
pqe_simd_level pqe_simd_detect(void);

/* Whether this CPU can run the kernels of a level. */
int pqe_simd_supported(pqe_simd_level level);

/* The level the kernels use now: pqe_simd_detect() unless forced. */
pqe_simd_level pqe_simd_active(void);

/* Makes every later kernel call use this level (for tests and the bench).
 * Fails with PQE_ERR_UNSUPPORTED if the CPU lacks it.  Not meant to be
 * called while another thread is inside a kernel. */
pqe_status pqe_simd_force(pqe_simd_level level);

/* ---- ADC tables -------------------------------------------------------------- */

/* Writes the codebooks (n_sub x ksub x dsub floats, subspace-major as in
 * pq.h) transposed per subspace: cbt[(m * dsub + j) * ksub + c] =
 * cb[(m * ksub + c) * dsub + j], so that one load reads coordinate j of
 * many centroids. */
void pqe_codebooks_transpose(const float *cb, size_t n_sub, size_t ksub, size_t dsub, float *cbt);

/* The ADC table of one query from transposed codebooks:
 *   ip == 0: table[m * ksub + c] = sum over j of (q_j - c_j)^2,
 *   ip != 0: table[m * ksub + c] = sum over j of q_j * c_j,
 * q the query's sub-vector m, c centroid c of subspace m, the sum taken in
 * float over j = 0, 1, ..., dsub-1 in that order with a separate multiply
 * and add (no fused multiply-add).  That is exactly what the plain loop
 * `s += t * t` gives, so the table does not depend on the path.  Vectorised
 * across centroids, not along j. */
void pqe_adc_table(const float *query, const float *cbt, size_t n_sub, size_t ksub, size_t dsub,
                   int ip, float *table);

/* ---- 4-bit fast scan --------------------------------------------------------- */

enum {
    PQE_FS_BLOCK = 32, /* vectors per block */
    PQE_FS_KSUB = 16   /* centroids per subspace (nbits = 4) */
};

/* Subspaces after padding: n_sub rounded up to a multiple of 4 (one
 * 64-byte AVX-512 load covers four subspaces of a block).  Padding
 * subspaces have code 0 and an all-zero table. */
size_t pqe_fs_padded_sub(size_t n_sub);

/* Bytes of one block: padded_sub / 2 * 32. */
size_t pqe_fs_block_bytes(size_t n_sub);

/* Re-lays out n codes (unpacked: n_sub bytes per code, each < 16) into
 * ceil(n / 32) blocks of pqe_fs_block_bytes(n_sub) bytes.  Within a block,
 * subspace pair p (subspaces 2p and 2p+1) takes 32 bytes: byte j < 16 holds
 * the code of vector j in subspace 2p in its low nibble and that of vector
 * j + 16 in its high nibble; byte 16 + j the same for subspace 2p + 1.
 * Vectors past n in the last block get code 0. */
void pqe_fs_pack(const uint8_t *codes, size_t n, size_t n_sub, uint8_t *blocks);

/* Code of vector i (< n) in subspace m, read back from the blocks. */
uint8_t pqe_fs_code_at(const uint8_t *blocks, size_t n_sub, size_t i, size_t m);

/* Scans n_blocks blocks: dist[b * 32 + j] = sum over subspaces of
 * lut[pair * 32 + (m odd ? 16 : 0) + code], in uint16 arithmetic.  lut is
 * pqe_fs_padded_sub(n_sub) / 2 * 32 bytes laid out like one block's pairs:
 * the 16 entries of subspace 2p, then the 16 of subspace 2p + 1.  The caller
 * keeps n_sub * max(lut) <= 65535 so that no sum wraps.  mask[b] gets bit j
 * set if dist[b * 32 + j] <= limit. */
void pqe_fs_scan(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                 uint16_t limit, uint16_t *dist, uint32_t *mask);

/* ---- batched ADC scan over uint8 codes ---------------------------------- */

enum { PQE_ADC_LANES_MAX = 16 };

/* Scans n codes (n_sub bytes each, every byte < ksub <= 256) for `lanes`
 * queries at once.  tables holds n_sub * ksub * lanes floats, interleaved:
 * tables[(m * ksub + c) * lanes + q] is entry (m, c) of query q.  For code
 * i and query q, d = sum over m of that entry at c = code[m], added as
 * described above.  Every code whose d is below bounds[q] for at least one
 * q is a candidate: cand[j] = i and cand_dist[j * lanes + q] = d for every
 * q, j = 0, 1, ... in increasing i.  Returns the number of candidates (at
 * most n).  A lane with bound -INFINITY never makes a candidate. */
typedef size_t (*pqe_adc_scan_fn)(const float *tables, size_t n_sub, size_t ksub,
                                  const uint8_t *codes, size_t n, const float *bounds,
                                  uint32_t *cand, float *cand_dist);

/* The scan of the active level and its number of lanes, taken together so
 * that a caller's table layout always matches the kernel it calls. */
typedef struct pqe_adc_scanner {
    size_t lanes;
    pqe_adc_scan_fn scan;
} pqe_adc_scanner;

pqe_adc_scanner pqe_adc_scanner_active(void);

/* The scanner of one level (for tests); the level must be supported. */
pqe_adc_scanner pqe_adc_scanner_of(pqe_simd_level level);

/* ---- per-level entry points (dispatch.c picks one; tests call each) ------- */

size_t pqe_adc_scan_portable(const float *tables, size_t n_sub, size_t ksub, const uint8_t *codes,
                             size_t n, const float *bounds, uint32_t *cand, float *cand_dist);
size_t pqe_adc_scan_avx2(const float *tables, size_t n_sub, size_t ksub, const uint8_t *codes,
                         size_t n, const float *bounds, uint32_t *cand, float *cand_dist);
size_t pqe_adc_scan_avx512(const float *tables, size_t n_sub, size_t ksub, const uint8_t *codes,
                           size_t n, const float *bounds, uint32_t *cand, float *cand_dist);

typedef void (*pqe_adc_table_fn)(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                                 size_t dsub, int ip, float *table);

void pqe_adc_table_portable(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                            size_t dsub, int ip, float *table);
void pqe_adc_table_avx2(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                        size_t dsub, int ip, float *table);
void pqe_adc_table_avx512(const float *query, const float *cbt, size_t n_sub, size_t ksub,
                          size_t dsub, int ip, float *table);

typedef void (*pqe_fs_scan_fn)(const uint8_t *blocks, size_t n_blocks, size_t n_sub,
                               const uint8_t *lut, uint16_t limit, uint16_t *dist, uint32_t *mask);

void pqe_fs_scan_portable(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                          uint16_t limit, uint16_t *dist, uint32_t *mask);
void pqe_fs_scan_avx2(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                      uint16_t limit, uint16_t *dist, uint32_t *mask);
void pqe_fs_scan_avx512(const uint8_t *blocks, size_t n_blocks, size_t n_sub, const uint8_t *lut,
                        uint16_t limit, uint16_t *dist, uint32_t *mask);

#endif
