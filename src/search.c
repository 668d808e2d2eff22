/* search.c - exhaustive ADC and SDC search over PQ codes.
 *
 * Jegou, Douze, Schmid, TPAMI 2011, section III.  ADC: per query, the table
 * T[m][c] of the distance between the query's sub-vector m and centroid c;
 * a code's distance is sum_m T[m][code[m]].  SDC: the query is encoded too
 * and T[m][c] = D_m[qcode[m]][c], a row of the centroid-to-centroid table
 * D (M x K x K), so both modes share one scan.
 *
 * Choices, and why:
 * 1. Inner products (dot, angular) are searched as their negation, so one
 *    ascending top-k serves every metric; negation is exact in floating
 *    point, and results are negated back on output.
 * 2. The scan reads unpacked codes (uint8 for nbits <= 8, else uint16).
 *    Queries are scanned in batches (up to 4, 8 or 16 by SIMD level, fewer
 *    when that would leave threads idle) with the kernel pqe_adc_scan of
 *    simd/adc_kernels.h: the batch's tables are
 *    interleaved so that one code byte and one vector load serve every
 *    query of the batch; one query at a time the scan costs two loads per
 *    lookup and is bound by them (the batched scan ran 4 to 6 times
 *    faster on the test machine).  The kernel returns candidates, codes
 *    below some query's bound; the heaps then take those that beat their
 *    current bound.  A single query (or the last one of an odd count) and
 *    uint16 codes use the one-query loops below.  For uint8 codes every
 *    path adds in the same order, d += (t0 + t1) + (t2 + t3) per group of
 *    four subspaces, then one by one, so a code has the same distance on
 *    every path and equal codes tie exactly.  A candidate is offered to a
 *    heap only if it beats the current k-th distance; ids are scanned in
 *    increasing order, so a candidate equal to the k-th distance is never
 *    better, and ties keep the smaller id.  The uint16 scan is the plain
 *    running sum over m (its own consistent order).
 * 3. Batches run in parallel on OpenMP threads, each thread with its own
 *    tables, candidates and heaps (in the output rows); no allocation per
 *    code or per query.
 * 4. The SDC table is built per call (M * K * K * dsub operations) and
 *    refused above the memory limit with the size it would need.
 *
 * Depends on: search.h, pq.h, topk.h, util.h, simd/adc_kernels.h; OpenMP.
 */
#include "pqeval/search.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "pq_internal.h"
#include "simd/adc_kernels.h"
#include "topk.h"
#include "util.h"

const char *pqe_search_mode_name(pqe_search_mode mode)
{
    switch (mode) {
    case PQE_SEARCH_ADC:
        return "adc";
    case PQE_SEARCH_SDC:
        return "sdc";
    }
    return "unknown";
}

size_t pqe_pq_sdc_table_bytes(const pqe_pq *pq)
{
    size_t K = pqe_pq_ksub(pq), bytes;
    if (!pqe_mul3_ok(pqe_pq_n_sub(pq), K, K, &bytes) || !pqe_mul_ok(bytes, sizeof(float), &bytes))
        return SIZE_MAX;
    return bytes;
}

static bool metric_is_ip(pqe_metric metric)
{
    return metric == PQE_METRIC_DOT || metric == PQE_METRIC_ANGULAR;
}

/* The ADC table, negated for inner products when negate is set: the SIMD
 * kernel of simd/adc_kernels.h, which gives the bits of the plain loop
 * (sum over j in order, no fused multiply-add) on every path. */
static void adc_table(const pqe_pq *pq, bool ip, bool negate, const float *query, float *table)
{
    size_t M = pqe_pq_n_sub(pq), K = pqe_pq_ksub(pq), dsub = pqe_pq_dim(pq) / M;

    pqe_adc_table(query, pqe_pq_codebooks_t(pq), M, K, dsub, ip, table);
    if (ip && negate) {
        for (size_t i = 0; i < M * K; i++)
            table[i] = -table[i];
    }
}

pqe_status pqe_pq_adc_table(const pqe_pq *pq, pqe_metric metric, const float *query, float *table)
{
    if (!pqe_pq_is_trained(pq))
        return pqe_fail(PQE_ERR_PARAM, "adc table: the quantizer is not trained");
    adc_table(pq, metric_is_ip(metric), false, query, table);
    return PQE_OK;
}

/* Offers the distances of four consecutive codes starting at id. */
static inline void offer4(pqe_topk *heap, float *bound, size_t id, float d0, float d1, float d2,
                          float d3)
{
    float b = *bound;
    if (d0 < b || d1 < b || d2 < b || d3 < b) {
        if (d0 < *bound) {
            pqe_topk_push(heap, d0, (int64_t)id);
            *bound = pqe_topk_bound(heap);
        }
        if (d1 < *bound) {
            pqe_topk_push(heap, d1, (int64_t)id + 1);
            *bound = pqe_topk_bound(heap);
        }
        if (d2 < *bound) {
            pqe_topk_push(heap, d2, (int64_t)id + 2);
            *bound = pqe_topk_bound(heap);
        }
        if (d3 < *bound) {
            pqe_topk_push(heap, d3, (int64_t)id + 3);
            *bound = pqe_topk_bound(heap);
        }
    }
}

/* The distance of one code.  The M lookups are added in groups of four,
 * d += (t0 + t1) + (t2 + t3), then one by one for the last M mod 4: the
 * dependency chain is a quarter as long as a plain running sum, which is
 * what limits the scan.  Every path below adds in exactly this order, so a
 * code has the same distance wherever it sits (equal codes tie exactly). */
static inline float code_dist_u8(const float *t, size_t K, const uint8_t *c, size_t M)
{
    size_t m = 0;
    float d = 0;
    for (; m + 4 <= M; m += 4, t += 4 * K)
        d += (t[c[m]] + t[K + c[m + 1]]) + (t[2 * K + c[m + 2]] + t[3 * K + c[m + 3]]);
    for (; m < M; m++, t += K)
        d += t[c[m]];
    return d;
}

/* Four bytes of a code as one little-endian word. */
static inline uint32_t load4(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap32(w);
#endif
    return w;
}

/* One group of four lookups from a 4-byte word, in code_dist_u8's order. */
static inline float group4(const float *t, size_t K, uint32_t w)
{
    return (t[w & 0xff] + t[K + ((w >> 8) & 0xff)]) +
           (t[2 * K + ((w >> 16) & 0xff)] + t[3 * K + (w >> 24)]);
}

/* The scan over uint8 codes (nbits <= 8), four codes at a time.  A group
 * of four indices is read as one 4-byte word: loads, not arithmetic, bound
 * this loop, and this saves three of every eight.  Inlined with constant M
 * and K below, the loop over subspaces unrolls and the table offsets become
 * constants. */
static inline __attribute__((always_inline)) void
scan_u8_body(const float *table, size_t M, size_t K, const uint8_t *codes, size_t n, pqe_topk *heap)
{
    float bound = pqe_topk_bound(heap);
    size_t i = 0, M4 = M & ~(size_t)3;

    for (; i + 4 <= n; i += 4) {
        const uint8_t *c0 = codes + i * M, *c1 = c0 + M, *c2 = c1 + M, *c3 = c2 + M;
        const float *t = table;
        float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        size_t m = 0;
        for (; m < M4; m += 4, t += 4 * K) {
            d0 += group4(t, K, load4(c0 + m));
            d1 += group4(t, K, load4(c1 + m));
            d2 += group4(t, K, load4(c2 + m));
            d3 += group4(t, K, load4(c3 + m));
        }
        for (; m < M; m++, t += K) {
            d0 += t[c0[m]];
            d1 += t[c1[m]];
            d2 += t[c2[m]];
            d3 += t[c3[m]];
        }
        offer4(heap, &bound, i, d0, d1, d2, d3);
    }
    for (; i < n; i++) {
        float d = code_dist_u8(table, K, codes + i * M, M);
        if (d < bound) {
            pqe_topk_push(heap, d, (int64_t)i);
            bound = pqe_topk_bound(heap);
        }
    }
}

/* Copies of the scan for the usual shapes (K = 256 and M a multiple of
 * eight): about a third faster than the generic loop. */
static void scan_u8_m8(const float *table, const uint8_t *codes, size_t n, pqe_topk *heap)
{
    scan_u8_body(table, 8, 256, codes, n, heap);
}

static void scan_u8_m16(const float *table, const uint8_t *codes, size_t n, pqe_topk *heap)
{
    scan_u8_body(table, 16, 256, codes, n, heap);
}

static void scan_u8_m32(const float *table, const uint8_t *codes, size_t n, pqe_topk *heap)
{
    scan_u8_body(table, 32, 256, codes, n, heap);
}

static void scan_u8_m64(const float *table, const uint8_t *codes, size_t n, pqe_topk *heap)
{
    scan_u8_body(table, 64, 256, codes, n, heap);
}

static void scan_u8(const float *table, size_t M, size_t K, const uint8_t *codes, size_t n,
                    pqe_topk *heap)
{
    if (K == 256 && M == 8)
        scan_u8_m8(table, codes, n, heap);
    else if (K == 256 && M == 16)
        scan_u8_m16(table, codes, n, heap);
    else if (K == 256 && M == 32)
        scan_u8_m32(table, codes, n, heap);
    else if (K == 256 && M == 64)
        scan_u8_m64(table, codes, n, heap);
    else
        scan_u8_body(table, M, K, codes, n, heap);
}

/* Index m of a 2-byte little-endian code. */
static inline size_t idx16(const uint8_t *c, size_t m)
{
    return (size_t)c[2 * m] | ((size_t)c[2 * m + 1] << 8);
}

/* The scan over uint16 codes (nbits > 8). */
static void scan_u16(const float *table, size_t M, size_t K, const uint8_t *codes, size_t n,
                     pqe_topk *heap)
{
    float bound = pqe_topk_bound(heap);
    size_t cb = 2 * M, i = 0;

    for (; i + 4 <= n; i += 4) {
        const uint8_t *c0 = codes + i * cb, *c1 = c0 + cb, *c2 = c1 + cb, *c3 = c2 + cb;
        const float *t = table;
        float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        for (size_t m = 0; m < M; m++, t += K) {
            d0 += t[idx16(c0, m)];
            d1 += t[idx16(c1, m)];
            d2 += t[idx16(c2, m)];
            d3 += t[idx16(c3, m)];
        }
        offer4(heap, &bound, i, d0, d1, d2, d3);
    }
    for (; i < n; i++) {
        const uint8_t *c = codes + i * cb;
        const float *t = table;
        float d = 0;
        for (size_t m = 0; m < M; m++, t += K)
            d += t[idx16(c, m)];
        if (d < bound) {
            pqe_topk_push(heap, d, (int64_t)i);
            bound = pqe_topk_bound(heap);
        }
    }
}

/* The SDC table: D[m][a][b] = |c_a - c_b|^2, or -<c_a, c_b> for inner
 * products.  The loop over b reads the pq's transposed codebooks
 * (pqe_pq_codebooks_t: [m][j][b]), adjacent floats, and vectorizes; each
 * entry still sums its dsub terms in the order j = 0, 1, ..., as a plain
 * dot product would (ISO C: no contraction into FMAs), so the table is the
 * same to the bit at every SIMD width. */
static void sdc_table(const pqe_pq *pq, bool ip, float *sdc, int n_threads)
{
    size_t M = pqe_pq_n_sub(pq), K = pqe_pq_ksub(pq), dsub = pqe_pq_dim(pq) / M;
    const float *cb = pqe_pq_codebooks(pq), *cbt = pqe_pq_codebooks_t(pq);

#pragma omp parallel for num_threads(n_threads) schedule(static) collapse(2)
    for (size_t m = 0; m < M; m++) {
        for (size_t a = 0; a < K; a++) {
            const float *ca = cb + (m * K + a) * dsub;
            const float *ct = cbt + m * dsub * K;
            float *row = sdc + (m * K + a) * K;
            for (size_t b = 0; b < K; b++)
                row[b] = 0;
            for (size_t j = 0; j < dsub; j++) {
                const float x = ca[j], *cj = ct + j * K;
                if (ip) {
#pragma omp simd
                    for (size_t b = 0; b < K; b++)
                        row[b] += x * cj[b];
                } else {
#pragma omp simd
                    for (size_t b = 0; b < K; b++) {
                        float t = x - cj[b];
                        row[b] += t * t;
                    }
                }
            }
            if (ip) {
                for (size_t b = 0; b < K; b++)
                    row[b] = -row[b];
            }
        }
    }
}

/* The table of one query: ADC from the vector, SDC from its code (rows of
 * the centroid-to-centroid table). */
static void query_table(const pqe_pq *pq, pqe_search_mode mode, bool ip, const float *query,
                        const uint8_t *qcode, const float *sdc, float *table)
{
    size_t M = pqe_pq_n_sub(pq), K = pqe_pq_ksub(pq);

    if (mode == PQE_SEARCH_ADC) {
        adc_table(pq, ip, true, query, table);
        return;
    }
    for (size_t m = 0; m < M; m++) {
        size_t a = K <= 256 ? qcode[m] : idx16(qcode, m);
        memcpy(table + m * K, sdc + (m * K + a) * K, K * sizeof *table);
    }
}

/* Codes per call of the batched kernel: the bounds it compares against
 * are refreshed between calls, and its candidates fit one buffer. */
enum { SCAN_CHUNK = 512 };

/* What one search shares between its threads. */
typedef struct search_job {
    const pqe_pq *pq;
    pqe_search_mode mode;
    bool ip;
    size_t k, d, cb;
    const uint8_t *codes, *qcodes;
    size_t n_codes;
    const float *queries, *sdc;
    int64_t *ids;
    float *distances;
    pqe_adc_scanner scanner;
} search_job;

/* Turns the heap's order back into distances of the caller's metric. */
static void finish_row(pqe_topk *heap, bool ip, float *row, size_t k)
{
    pqe_topk_finish(heap, INFINITY);
    if (ip) {
        for (size_t r = 0; r < k; r++)
            row[r] = -row[r];
    }
}

/* One query on its own, with the one-query scans above. */
static void search_one(const search_job *job, size_t q, float *table)
{
    size_t M = pqe_pq_n_sub(job->pq), K = pqe_pq_ksub(job->pq);
    float *row = job->distances + q * job->k;
    pqe_topk heap;

    query_table(job->pq, job->mode, job->ip, job->queries + q * job->d,
                job->qcodes ? job->qcodes + q * job->cb : NULL, job->sdc, table);
    pqe_topk_init(&heap, job->k, row, job->ids + q * job->k);
    if (K <= 256)
        scan_u8(table, M, K, job->codes, job->n_codes, &heap);
    else
        scan_u16(table, M, K, job->codes, job->n_codes, &heap);
    finish_row(&heap, job->ip, row, job->k);
}

/* Queries q0 .. q0 + nq - 1 together (uint8 codes, nq <= lanes): their
 * tables interleaved in itable, one pass of the batched kernel over the
 * codes.  Unused lanes get zero tables and a bound of -INFINITY, which the
 * kernel never beats.  A candidate is offered to a query's heap only if it
 * beats that heap's current bound, the test of the one-query scan, in the
 * same increasing order of ids: the results are those of search_one. */
static void search_batch(const search_job *job, size_t q0, size_t nq, float *table, float *itable,
                         uint32_t *cand, float *cand_dist)
{
    size_t M = pqe_pq_n_sub(job->pq), K = pqe_pq_ksub(job->pq), Q = job->scanner.lanes;
    size_t table_floats = M * K;
    pqe_topk heaps[PQE_ADC_LANES_MAX];
    float bounds[PQE_ADC_LANES_MAX];

    for (size_t j = 0; j < Q; j++) {
        if (j < nq) {
            size_t q = q0 + j;
            query_table(job->pq, job->mode, job->ip, job->queries + q * job->d,
                        job->qcodes ? job->qcodes + q * job->cb : NULL, job->sdc, table);
            for (size_t e = 0; e < table_floats; e++)
                itable[e * Q + j] = table[e];
            pqe_topk_init(&heaps[j], job->k, job->distances + q * job->k, job->ids + q * job->k);
            bounds[j] = pqe_topk_bound(&heaps[j]);
        } else {
            for (size_t e = 0; e < table_floats; e++)
                itable[e * Q + j] = 0;
            bounds[j] = -INFINITY;
        }
    }

    for (size_t i0 = 0; i0 < job->n_codes; i0 += SCAN_CHUNK) {
        size_t nb = job->n_codes - i0 < SCAN_CHUNK ? job->n_codes - i0 : SCAN_CHUNK;
        size_t nc =
            job->scanner.scan(itable, M, K, job->codes + i0 * M, nb, bounds, cand, cand_dist);
        for (size_t c = 0; c < nc; c++) {
            const float *dv = cand_dist + c * Q;
            int64_t id = (int64_t)(i0 + cand[c]);
            for (size_t j = 0; j < nq; j++) {
                if (dv[j] < bounds[j]) {
                    pqe_topk_push(&heaps[j], dv[j], id);
                    bounds[j] = pqe_topk_bound(&heaps[j]);
                }
            }
        }
    }
    for (size_t j = 0; j < nq; j++)
        finish_row(&heaps[j], job->ip, job->distances + (q0 + j) * job->k, job->k);
}

pqe_status pqe_pq_search(const pqe_pq *pq, const pqe_search_params *params, const uint8_t *codes,
                         size_t n_codes, const float *queries, size_t n_queries, int64_t *ids,
                         float *distances)
{
    pqe_status st = PQE_OK;
    size_t M, K, d, cb, table_floats;
    float *tables = NULL, *itables = NULL, *cand_dists = NULL, *sdc = NULL;
    uint32_t *cands = NULL;
    uint8_t *qcodes = NULL;
    bool ip;
    int n_threads;

    if (!pq || !params)
        return pqe_fail(PQE_ERR_PARAM, "pq search: missing quantizer or parameters");
    if (!pqe_pq_is_trained(pq))
        return pqe_fail(PQE_ERR_PARAM, "pq search: the quantizer is not trained");
    if (params->k == 0)
        return pqe_fail(PQE_ERR_PARAM, "pq search: k must be at least 1");
    if (params->mode != PQE_SEARCH_ADC && params->mode != PQE_SEARCH_SDC)
        return pqe_fail(PQE_ERR_PARAM, "pq search: unknown mode %d", (int)params->mode);
    if (params->metric != PQE_METRIC_EUCLIDEAN && !metric_is_ip(params->metric))
        return pqe_fail(PQE_ERR_PARAM, "pq search: unknown metric %d", (int)params->metric);
    if (n_queries == 0)
        return PQE_OK;
    if (!queries || !ids || !distances || (n_codes > 0 && !codes))
        return pqe_fail(PQE_ERR_PARAM, "pq search: missing codes, queries or outputs");

    M = pqe_pq_n_sub(pq);
    K = pqe_pq_ksub(pq);
    d = pqe_pq_dim(pq);
    cb = pqe_pq_code_bytes(pq);
    ip = metric_is_ip(params->metric);
    n_threads = params->n_threads > 0 ? params->n_threads : omp_get_max_threads();
    table_floats = M * K;

    for (size_t i = 0; i < n_queries; i++) {
        for (size_t j = 0; j < d; j++) {
            if (!isfinite(queries[i * d + j]))
                return pqe_fail(PQE_ERR_DATA, "pq search: query %zu, column %zu is %g", i, j,
                                (double)queries[i * d + j]);
        }
    }
    st = pqe_pq_check_codes(pq, codes, n_codes);
    if (st != PQE_OK)
        return st;

    if (params->mode == PQE_SEARCH_SDC) {
        size_t limit = params->sdc_memory_limit ? params->sdc_memory_limit
                                                : (size_t)PQE_SDC_MEMORY_LIMIT_DEFAULT;
        size_t need = pqe_pq_sdc_table_bytes(pq);
        if (need > limit) {
            if (need == SIZE_MAX)
                return pqe_fail(PQE_ERR_UNSUPPORTED,
                                "sdc: the table of M = %zu, K = %zu (M*K*K floats) overflows the "
                                "address space; use adc",
                                M, K);
            return pqe_fail(PQE_ERR_UNSUPPORTED,
                            "sdc: the table of M = %zu, K = %zu needs %zu bytes (M*K*K floats), "
                            "over the limit of %zu bytes; use adc or fewer bits",
                            M, K, need, limit);
        }
        sdc = pqe_alloc_array(need / sizeof *sdc, sizeof *sdc, "sdc table");
        qcodes = pqe_alloc_array(n_queries, cb, "sdc query codes");
        if (!sdc || !qcodes) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        sdc_table(pq, ip, sdc, n_threads);
        st = pqe_pq_encode(pq, queries, n_queries, qcodes);
        if (st != PQE_OK)
            goto cleanup;
    }

    /* Batches of up to `lanes` queries for uint8 codes, fewer when that
     * leaves threads without work; one query at a time otherwise. */
    search_job job = {
        pq,     params->mode, ip,      params->k, d,   cb,        codes,
        qcodes, n_codes,      queries, sdc,       ids, distances, pqe_adc_scanner_active()};
    size_t lanes = job.scanner.lanes, per_batch = 1;
    if (K <= 256 && n_codes > 0) {
        per_batch = (n_queries + (size_t)n_threads - 1) / (size_t)n_threads;
        per_batch = per_batch < lanes ? per_batch : lanes;
    }
    tables = pqe_alloc_array((size_t)n_threads, table_floats * sizeof *tables, "adc tables");
    if (!tables) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    if (per_batch > 1) {
        itables = pqe_alloc_array((size_t)n_threads * lanes, table_floats * sizeof *itables,
                                  "interleaved adc tables");
        cands = pqe_alloc_array((size_t)n_threads, SCAN_CHUNK * sizeof *cands, "adc candidates");
        cand_dists = pqe_alloc_array((size_t)n_threads * lanes, SCAN_CHUNK * sizeof *cand_dists,
                                     "adc candidate distances");
        if (!itables || !cands || !cand_dists) {
            st = pqe_alloc_status();
            goto cleanup;
        }
    }

    size_t n_batches = (n_queries + per_batch - 1) / per_batch;
#pragma omp parallel num_threads(n_threads)
    {
        size_t t = (size_t)omp_get_thread_num();
        float *table = tables + t * table_floats;
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < n_batches; b++) {
            size_t q0 = b * per_batch;
            size_t nq = n_queries - q0 < per_batch ? n_queries - q0 : per_batch;
            if (nq == 1)
                search_one(&job, q0, table);
            else
                search_batch(&job, q0, nq, table, itables + t * lanes * table_floats,
                             cands + t * SCAN_CHUNK, cand_dists + t * lanes * SCAN_CHUNK);
        }
    }

cleanup:
    free(tables);
    free(itables);
    free(cands);
    free(cand_dists);
    free(sdc);
    free(qcodes);
    return st;
}
