/* fastscan.c - 4-bit PQ search with quantised lookup tables in SIMD
 * registers.
 *
 * André, Kermarrec, Le Scouarnec, "Cache locality is not enough:
 * high-performance nearest neighbor search with product quantization fast
 * scan", VLDB 2015, and "Quicker ADC", IEEE TPAMI 2019.  The kernel and the
 * block layout are in simd/ (adc_kernels.h); this file builds the layout,
 * quantises each query's table and keeps the top-k.
 *
 * Choices, and why:
 * 1. Table quantisation: per subspace m the float table T[m][c] is shifted
 *    by its minimum, then all subspaces share one scale s so that the
 *    largest span maps to qmax = min(255, floor(65535 / M)).  A code's
 *    uint16 sum therefore never exceeds 65535 (no saturation logic needed in
 *    the kernel) and the reported distance is sum(min_m) + sum / s.  One
 *    scale for all subspaces keeps the sums comparable; per-subspace scales
 *    would need a multiply per lookup.  Rounding to nearest makes each
 *    lookup wrong by at most half a step (0.5 / s), a code by M of those.
 * 2. Inner products (dot, angular) are scanned as their negation so one
 *    ascending top-k serves every metric (as search.c does), and negated
 *    back on output.
 * 3. No re-ranking with float distances: the result is the exact top-k of
 *    the quantised distances, ties to the smaller id.  pqe_fastscan_error_bound
 *    says how far the reported distances can be from float ADC.
 * 4. The scan runs over chunks of 64 blocks (2048 codes): the kernel writes
 *    their uint16 distances and a bit mask of those not above the current
 *    k-th distance; only the masked codes are offered to the heap, with
 *    the heap's bound read again since it only tightens.
 *
 * Depends on: fastscan.h, pq.h, simd/adc_kernels.h, topk.h, util.h; OpenMP.
 */
#include "pqeval/fastscan.h"

#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "simd/adc_kernels.h"
#include "topk.h"
#include "util.h"

enum {
    CHUNK_BLOCKS = 64, /* blocks per kernel call (2048 codes) */
    FS_MAX_SUB = 4096  /* above this a table entry would get fewer than 16 levels */
};

struct pqe_fastscan {
    size_t dim;         /* d */
    size_t n_sub;       /* M */
    size_t dsub;        /* d / M */
    size_t n_codes;     /* vectors held */
    size_t n_blocks;    /* ceil(n_codes / 32) */
    size_t block_bytes; /* bytes of one block (pqe_fs_block_bytes) */
    float *cbt;         /* codebooks transposed, M x dsub x 16 (pqe_codebooks_transpose), owned */
    uint8_t *blocks;    /* n_blocks x block_bytes, owned */
};

/* The quantised table of one query and how to turn sums back into
 * distances. */
typedef struct fs_query_lut {
    uint8_t *lut; /* padded_sub / 2 * 32 bytes, caller-owned */
    double bias;  /* sum over subspaces of the table minimum */
    double scale; /* steps per unit of distance */
} fs_query_lut;

static bool metric_is_ip(pqe_metric metric)
{
    return metric == PQE_METRIC_DOT || metric == PQE_METRIC_ANGULAR;
}

pqe_status pqe_fastscan_new(const pqe_pq *pq, const uint8_t *codes, size_t n_codes,
                            pqe_fastscan **out)
{
    pqe_status st = PQE_OK;
    pqe_fastscan *self = NULL;
    size_t M, cb_floats, n_blocks;

    *out = NULL;
    if (!pq)
        return pqe_fail(PQE_ERR_PARAM, "fast scan: missing quantizer");
    if (!pqe_pq_is_trained(pq))
        return pqe_fail(PQE_ERR_PARAM, "fast scan: the quantizer is not trained");
    if (pqe_pq_nbits(pq) != 4)
        return pqe_fail(PQE_ERR_UNSUPPORTED,
                        "fast scan needs nbits = 4 (16 centroids per subspace), not %u",
                        pqe_pq_nbits(pq));
    if (n_codes > 0 && !codes)
        return pqe_fail(PQE_ERR_PARAM, "fast scan: missing codes");
    M = pqe_pq_n_sub(pq);
    if (M > FS_MAX_SUB)
        return pqe_fail(PQE_ERR_UNSUPPORTED,
                        "fast scan supports up to %d subspaces (table entries then have %u "
                        "levels), not %zu",
                        FS_MAX_SUB, 65535u / FS_MAX_SUB + 1, M);
    for (size_t i = 0; i < n_codes; i++) {
        for (size_t m = 0; m < M; m++) {
            if (codes[i * M + m] >= PQE_FS_KSUB)
                return pqe_fail(PQE_ERR_DATA,
                                "fast scan: code %zu, subspace %zu is %u, not below 16", i, m,
                                (unsigned)codes[i * M + m]);
        }
    }

    self = calloc(1, sizeof *self);
    if (!self)
        return pqe_fail(PQE_ERR_NOMEM, "fast scan: cannot allocate the index");
    self->dim = pqe_pq_dim(pq);
    self->n_sub = M;
    self->dsub = self->dim / M;
    self->n_codes = n_codes;
    n_blocks = n_codes / PQE_FS_BLOCK + (n_codes % PQE_FS_BLOCK != 0);
    self->n_blocks = n_blocks;
    self->block_bytes = pqe_fs_block_bytes(M);

    cb_floats = M * PQE_FS_KSUB * self->dsub; /* = 16 d, cannot overflow */
    self->cbt = pqe_alloc_array(cb_floats, sizeof *self->cbt, "fast scan codebooks");
    self->blocks = pqe_alloc_array(n_blocks, self->block_bytes, "fast scan codes");
    if (!self->cbt || !self->blocks) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    pqe_codebooks_transpose(pqe_pq_codebooks(pq), M, PQE_FS_KSUB, self->dsub, self->cbt);
    pqe_fs_pack(codes, n_codes, M, self->blocks);
    *out = self;
    self = NULL;

cleanup:
    pqe_fastscan_free(self);
    return st;
}

void pqe_fastscan_free(pqe_fastscan *self)
{
    if (!self)
        return;
    free(self->cbt);
    free(self->blocks);
    free(self);
}

size_t pqe_fastscan_n_codes(const pqe_fastscan *self)
{
    return self->n_codes;
}

size_t pqe_fastscan_bytes(const pqe_fastscan *self)
{
    return self->n_blocks * self->block_bytes +
           self->n_sub * PQE_FS_KSUB * self->dsub * sizeof(float);
}

/* The float table of one query (M x 16): squared L2, or the negated inner
 * product. */
static void float_table(const pqe_fastscan *self, bool ip, const float *query, float *table)
{
    pqe_adc_table(query, self->cbt, self->n_sub, PQE_FS_KSUB, self->dsub, ip, table);
    if (ip) {
        for (size_t i = 0; i < self->n_sub * PQE_FS_KSUB; i++)
            table[i] = -table[i];
    }
}

/* The largest quantised entry, so that M of them fit in uint16. */
static unsigned lut_qmax(size_t n_sub)
{
    size_t q = 65535 / n_sub;
    return q < 255 ? (unsigned)q : 255u;
}

/* Quantises a float table (M x 16) into out->lut (see choice 1). */
static void quantise_table(const pqe_fastscan *self, const float *table, fs_query_lut *out)
{
    size_t M = self->n_sub;
    size_t lut_bytes = pqe_fs_padded_sub(M) / 2 * 32;
    unsigned qmax = lut_qmax(M);
    double bias = 0, max_span = 0, scale;

    for (size_t m = 0; m < M; m++) {
        const float *t = table + m * PQE_FS_KSUB;
        float lo = t[0], hi = t[0];
        for (size_t c = 1; c < PQE_FS_KSUB; c++) {
            lo = t[c] < lo ? t[c] : lo;
            hi = t[c] > hi ? t[c] : hi;
        }
        bias += lo;
        if ((double)hi - lo > max_span)
            max_span = (double)hi - lo;
    }
    scale = max_span > 0 ? qmax / max_span : 1.0;

    memset(out->lut, 0, lut_bytes);
    for (size_t m = 0; m < M; m++) {
        const float *t = table + m * PQE_FS_KSUB;
        uint8_t *row = out->lut + (m / 2) * 32 + (m % 2) * 16;
        float lo = t[0];
        for (size_t c = 1; c < PQE_FS_KSUB; c++)
            lo = t[c] < lo ? t[c] : lo;
        for (size_t c = 0; c < PQE_FS_KSUB; c++) {
            double q = floor(((double)t[c] - lo) * scale + 0.5);
            row[c] = (uint8_t)(q > qmax ? qmax : q);
        }
    }
    out->bias = bias;
    out->scale = scale;
}

/* Scans every block for one query into the heap (distances as uint16
 * sums held in floats, exact below 2^24). */
static void scan_query(const pqe_fastscan *self, const uint8_t *lut, uint16_t *dist, uint32_t *mask,
                       pqe_topk *heap)
{
    float bound = pqe_topk_bound(heap);

    for (size_t b0 = 0; b0 < self->n_blocks; b0 += CHUNK_BLOCKS) {
        size_t nb = self->n_blocks - b0 < CHUNK_BLOCKS ? self->n_blocks - b0 : CHUNK_BLOCKS;
        uint16_t limit;

        /* Only strictly smaller sums can enter a full heap. */
        if (bound == INFINITY)
            limit = UINT16_MAX;
        else if (bound <= 0)
            break;
        else
            limit = (uint16_t)(bound - 1);
        pqe_fs_scan(self->blocks + b0 * self->block_bytes, nb, self->n_sub, lut, limit, dist, mask);

        for (size_t b = 0; b < nb; b++) {
            uint32_t bits = mask[b];
            while (bits) {
                unsigned j = (unsigned)__builtin_ctz(bits);
                size_t id = (b0 + b) * PQE_FS_BLOCK + j;
                float d = dist[b * PQE_FS_BLOCK + j];
                bits &= bits - 1;
                if (id >= self->n_codes)
                    break;
                if (d < bound) {
                    pqe_topk_push(heap, d, (int64_t)id);
                    bound = pqe_topk_bound(heap);
                }
            }
        }
    }
}

pqe_status pqe_fastscan_search(const pqe_fastscan *self, const pqe_search_params *params,
                               const float *queries, size_t n_queries, int64_t *ids,
                               float *distances)
{
    pqe_status st = PQE_OK;
    size_t M, k, lut_bytes, per_thread;
    uint8_t *scratch = NULL;
    bool ip;
    int n_threads;

    if (!self || !params)
        return pqe_fail(PQE_ERR_PARAM, "fast scan search: missing index or parameters");
    if (params->mode != PQE_SEARCH_ADC)
        return pqe_fail(PQE_ERR_UNSUPPORTED, "fast scan search: mode %s is not supported, only adc",
                        pqe_search_mode_name(params->mode));
    if (params->k == 0)
        return pqe_fail(PQE_ERR_PARAM, "fast scan search: k must be at least 1");
    if (params->metric != PQE_METRIC_EUCLIDEAN && !metric_is_ip(params->metric))
        return pqe_fail(PQE_ERR_PARAM, "fast scan search: unknown metric %d", (int)params->metric);
    if (n_queries == 0)
        return PQE_OK;
    if (!queries || !ids || !distances)
        return pqe_fail(PQE_ERR_PARAM, "fast scan search: missing queries or outputs");
    for (size_t i = 0; i < n_queries * self->dim; i++) {
        if (!isfinite(queries[i]))
            return pqe_fail(PQE_ERR_DATA, "fast scan search: query %zu, column %zu is %g",
                            i / self->dim, i % self->dim, (double)queries[i]);
    }

    M = self->n_sub;
    k = params->k;
    ip = metric_is_ip(params->metric);
    n_threads = params->n_threads > 0 ? params->n_threads : omp_get_max_threads();
    lut_bytes = pqe_fs_padded_sub(M) / 2 * 32;

    /* Per thread: float table, quantised table, chunk distances and masks. */
    per_thread = M * PQE_FS_KSUB * sizeof(float) + lut_bytes +
                 CHUNK_BLOCKS * PQE_FS_BLOCK * sizeof(uint16_t) + CHUNK_BLOCKS * sizeof(uint32_t);
    per_thread = (per_thread + 63) / 64 * 64;
    scratch = pqe_alloc_array((size_t)n_threads, per_thread, "fast scan tables");
    if (!scratch)
        return pqe_alloc_status();

#pragma omp parallel num_threads(n_threads)
    {
        uint8_t *mine = scratch + (size_t)omp_get_thread_num() * per_thread;
        float *table = (float *)(void *)mine;
        uint16_t *dist = (uint16_t *)(void *)(mine + M * PQE_FS_KSUB * sizeof(float));
        uint32_t *mask = (uint32_t *)(void *)(dist + CHUNK_BLOCKS * PQE_FS_BLOCK);
        fs_query_lut lut = {(uint8_t *)(mask + CHUNK_BLOCKS), 0, 1};

#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < n_queries; q++) {
            float *row_dist = distances + q * k;
            int64_t *row_ids = ids + q * k;
            pqe_topk heap;

            float_table(self, ip, queries + q * self->dim, table);
            quantise_table(self, table, &lut);
            pqe_topk_init(&heap, k, row_dist, row_ids);
            scan_query(self, lut.lut, dist, mask, &heap);
            pqe_topk_finish(&heap, INFINITY);

            /* Sums back to distances (negated back for inner products). */
            for (size_t j = 0; j < k; j++) {
                double v = row_ids[j] < 0 ? INFINITY : lut.bias + row_dist[j] / lut.scale;
                row_dist[j] = (float)(ip ? -v : v);
            }
        }
    }

    free(scratch);
    return st;
}

pqe_status pqe_fastscan_error_bound(const pqe_fastscan *self, pqe_metric metric, const float *query,
                                    double *bound)
{
    pqe_status st = PQE_OK;
    size_t M, lut_bytes;
    float *table = NULL;
    uint8_t *lut_bytes_buf = NULL;
    fs_query_lut lut;
    double magnitude = 0;

    if (!self || !query || !bound)
        return pqe_fail(PQE_ERR_PARAM, "fast scan error bound: missing argument");
    M = self->n_sub;
    lut_bytes = pqe_fs_padded_sub(M) / 2 * 32;
    table = pqe_alloc_array(M * PQE_FS_KSUB, sizeof *table, "fast scan table");
    lut_bytes_buf = pqe_alloc_array(lut_bytes, 1, "fast scan table");
    if (!table || !lut_bytes_buf) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    lut.lut = lut_bytes_buf;
    float_table(self, metric_is_ip(metric), query, table);
    quantise_table(self, table, &lut);

    /* Half a step per subspace, plus float rounding of sums of this size
     * (the float ADC sum itself and the conversion back). */
    for (size_t i = 0; i < M * PQE_FS_KSUB; i++)
        magnitude = fabs(table[i]) > magnitude ? fabs(table[i]) : magnitude;
    *bound = M * (0.5 / lut.scale) * (1 + 1e-6) + 4 * M * magnitude * 1.2e-7;

cleanup:
    free(table);
    free(lut_bytes_buf);
    return st;
}
