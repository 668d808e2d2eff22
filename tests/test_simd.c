/* test_simd.c - the SIMD kernels and their dispatch (src/simd/), the
 * 4-bit fast-scan search built on them (fastscan.h), and the batched ADC
 * scan of pqe_pq_search (every level and batch size equal to one query at
 * a time, to the bit).
 *
 * Every path the CPU can run (portable, AVX2, AVX-512) must give the same
 * sums and masks as a plain loop written here, on sizes that hit the
 * remainders (codes not a multiple of the block, subspaces not a multiple
 * of four), and is also forced through the dispatcher.  The fast scan is checked against float ADC computed here: each
 * reported distance within the quantisation bound of the exact one, no
 * left-out code nearer than the returned ones by more than twice the bound,
 * and the same ids and distances whichever path is forced.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/fastscan.h"
#include "pqeval/pq.h"
#include "pqeval/rng.h"
#include "pqeval/search.h"
#include "simd/adc_kernels.h"

static const pqe_adc_table_fn table_fns[PQE_SIMD_N_LEVELS] = {
    pqe_adc_table_portable, pqe_adc_table_avx2, pqe_adc_table_avx512};
static const pqe_fs_scan_fn fs_fns[PQE_SIMD_N_LEVELS] = {pqe_fs_scan_portable, pqe_fs_scan_avx2,
                                                         pqe_fs_scan_avx512};

static float uniform(pqe_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * (float)pqe_rng_uniform(rng);
}

/* Restores automatic dispatch after a test that forced a level. */
static int restore_level(void **state)
{
    (void)state;
    assert_int_equal(pqe_simd_force(pqe_simd_detect()), PQE_OK);
    return 0;
}

static void dispatch_levels(void **state)
{
    (void)state;
    pqe_simd_level level;

    /* The portable path always exists; the best level is supported. */
    assert_true(pqe_simd_supported(PQE_SIMD_PORTABLE));
    assert_true(pqe_simd_supported(pqe_simd_detect()));
    for (int i = 0; i < PQE_SIMD_N_LEVELS; i++) {
        assert_int_equal(pqe_simd_level_parse(pqe_simd_level_name((pqe_simd_level)i), &level),
                         PQE_OK);
        assert_int_equal((int)level, i);
        if (pqe_simd_supported((pqe_simd_level)i)) {
            assert_int_equal(pqe_simd_force((pqe_simd_level)i), PQE_OK);
            assert_int_equal((int)pqe_simd_active(), i);
        } else {
            assert_int_equal(pqe_simd_force((pqe_simd_level)i), PQE_ERR_UNSUPPORTED);
        }
    }
    assert_int_equal(pqe_simd_level_parse("sse9", &level), PQE_ERR_PARAM);
    assert_non_null(strstr(pqe_last_error(), "sse9"));
    assert_int_equal(pqe_simd_force((pqe_simd_level)7), PQE_ERR_PARAM);
    /* AVX-512 is only claimed with AVX2 (the kernels use both). */
    if (pqe_simd_supported(PQE_SIMD_AVX512))
        assert_true(pqe_simd_supported(PQE_SIMD_AVX2));
}

/* ADC tables: every level, directly and through the dispatcher, gives the
 * bits of the plain loop over the untransposed codebooks (search.c's). */
static void adc_table_all_paths_identical(void **state)
{
    (void)state;
    const size_t ksubs[] = {2, 8, 16, 24, 40, 80, 256};
    const size_t dsubs[] = {1, 3, 8, 49};
    const size_t M = 3;
    pqe_rng rng;

    pqe_rng_seed(&rng, 17);
    for (size_t a = 0; a < sizeof ksubs / sizeof *ksubs; a++) {
        for (size_t b = 0; b < sizeof dsubs / sizeof *dsubs; b++) {
            size_t K = ksubs[a], dsub = dsubs[b];
            float *cb = malloc(M * K * dsub * sizeof *cb),
                  *cbt = malloc(M * K * dsub * sizeof *cbt);
            float *query = malloc(M * dsub * sizeof *query);
            float *want = malloc(M * K * sizeof *want), *got = malloc(M * K * sizeof *got);
            assert_true(cb && cbt && query && want && got);
            for (size_t i = 0; i < M * K * dsub; i++)
                cb[i] = uniform(&rng, -50, 200);
            for (size_t i = 0; i < M * dsub; i++)
                query[i] = uniform(&rng, -50, 200);
            pqe_codebooks_transpose(cb, M, K, dsub, cbt);
            for (int ip = 0; ip < 2; ip++) {
                for (size_t m = 0; m < M; m++) {
                    for (size_t c = 0; c < K; c++) {
                        const float *cent = cb + (m * K + c) * dsub;
                        float s = 0;
                        for (size_t j = 0; j < dsub; j++) {
                            if (ip) {
                                s += query[m * dsub + j] * cent[j];
                            } else {
                                float t = query[m * dsub + j] - cent[j];
                                s += t * t;
                            }
                        }
                        want[m * K + c] = s;
                    }
                }
                for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
                    if (!pqe_simd_supported((pqe_simd_level)level))
                        continue;
                    memset(got, 0, M * K * sizeof *got);
                    table_fns[level](query, cbt, M, K, dsub, ip, got);
                    assert_memory_equal(got, want, M * K * sizeof *got);
                    assert_int_equal(pqe_simd_force((pqe_simd_level)level), PQE_OK);
                    memset(got, 0, M * K * sizeof *got);
                    pqe_adc_table(query, cbt, M, K, dsub, ip, got);
                    assert_memory_equal(got, want, M * K * sizeof *got);
                }
            }
            free(cb);
            free(cbt);
            free(query);
            free(want);
            free(got);
        }
    }
}

/* The block layout: every code read back where pqe_fs_pack put it, and the
 * padding of the last block is code 0. */
static void fs_pack_round_trip(void **state)
{
    (void)state;
    const size_t n = 70, M = 7;
    uint8_t codes[70 * 7];
    pqe_rng rng;

    pqe_rng_seed(&rng, 11);
    for (size_t i = 0; i < n * M; i++)
        codes[i] = (uint8_t)pqe_rng_below(&rng, 16);
    assert_int_equal(pqe_fs_padded_sub(M), 8);
    assert_int_equal(pqe_fs_block_bytes(M), 128);
    assert_int_equal(pqe_fs_padded_sub(8), 8);
    assert_int_equal(pqe_fs_padded_sub(1), 4);

    size_t n_blocks = (n + 31) / 32;
    uint8_t *blocks = malloc(n_blocks * pqe_fs_block_bytes(M));
    assert_non_null(blocks);
    pqe_fs_pack(codes, n, M, blocks);
    for (size_t i = 0; i < n; i++)
        for (size_t m = 0; m < M; m++)
            assert_int_equal(pqe_fs_code_at(blocks, M, i, m), codes[i * M + m]);
    for (size_t i = n; i < n_blocks * 32; i++)
        for (size_t m = 0; m < pqe_fs_padded_sub(M); m++)
            assert_int_equal(pqe_fs_code_at(blocks, M, i, m), 0);
    free(blocks);
}

/* The fast-scan kernel: sums and masks of every level equal the plain
 * integer sum over the codes read back from the layout. */
static void fs_scan_all_paths_identical(void **state)
{
    (void)state;
    const size_t sub_counts[] = {1, 2, 5, 8, 16, 30, 64, 257};
    const size_t n = 101; /* four blocks, the last one partly padding */
    pqe_rng rng;

    pqe_rng_seed(&rng, 13);
    for (size_t a = 0; a < sizeof sub_counts / sizeof *sub_counts; a++) {
        size_t M = sub_counts[a], Mp = pqe_fs_padded_sub(M);
        size_t n_blocks = (n + 31) / 32, lut_bytes = Mp / 2 * 32;
        uint8_t *codes = malloc(n * M), *blocks = malloc(n_blocks * pqe_fs_block_bytes(M));
        uint8_t *lut = calloc(lut_bytes, 1);
        uint16_t *want = malloc(n_blocks * 32 * sizeof *want);
        uint16_t *got = malloc(n_blocks * 32 * sizeof *got);
        uint32_t *got_mask = malloc(n_blocks * sizeof *got_mask);
        /* The largest entry that keeps M of them within uint16. */
        unsigned qmax = 65535 / M < 255 ? (unsigned)(65535 / M) : 255;
        assert_true(codes && blocks && lut && want && got && got_mask);

        for (size_t i = 0; i < n * M; i++)
            codes[i] = (uint8_t)pqe_rng_below(&rng, 16);
        for (size_t m = 0; m < M; m++)
            for (size_t c = 0; c < 16; c++)
                lut[(m / 2) * 32 + (m % 2) * 16 + c] =
                    (uint8_t)(c == 15 ? qmax : pqe_rng_below(&rng, qmax + 1));
        /* One code at the maximum everywhere: the sum reaches M * qmax. */
        memset(codes + 3 * M, 15, M);
        pqe_fs_pack(codes, n, M, blocks);
        for (size_t i = 0; i < n_blocks * 32; i++) {
            unsigned s = 0;
            for (size_t m = 0; m < Mp; m++)
                s += lut[(m / 2) * 32 + (m % 2) * 16 + pqe_fs_code_at(blocks, M, i, m)];
            want[i] = (uint16_t)s;
        }
        assert_int_equal(want[3], M * qmax);

        const uint16_t limits[] = {0, want[0], (uint16_t)(M * qmax / 2), UINT16_MAX};
        for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
            for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
                if (!pqe_simd_supported((pqe_simd_level)level))
                    continue;
                /* Called directly, then through the dispatcher. */
                for (int via_dispatch = 0; via_dispatch < 2; via_dispatch++) {
                    memset(got, 0xAB, n_blocks * 32 * sizeof *got);
                    if (via_dispatch) {
                        assert_int_equal(pqe_simd_force((pqe_simd_level)level), PQE_OK);
                        pqe_fs_scan(blocks, n_blocks, M, lut, limits[l], got, got_mask);
                    } else {
                        fs_fns[level](blocks, n_blocks, M, lut, limits[l], got, got_mask);
                    }
                    assert_memory_equal(got, want, n_blocks * 32 * sizeof *got);
                    for (size_t i = 0; i < n_blocks * 32; i++) {
                        unsigned bit = (got_mask[i / 32] >> (i % 32)) & 1u;
                        assert_int_equal(bit, want[i] <= limits[l]);
                    }
                }
            }
        }
        free(codes);
        free(blocks);
        free(lut);
        free(want);
        free(got);
        free(got_mask);
    }
}

/* A 4-bit quantizer with random codebooks, random codes and queries. */
typedef struct fs_case {
    size_t dim, M, n, nq;
    pqe_pq *pq;
    uint8_t *codes;
    float *queries;
} fs_case;

static void fs_case_make(fs_case *c, size_t dim, size_t M, size_t n, size_t nq, uint64_t seed)
{
    pqe_pq_params params = pqe_pq_params_default(dim, M, 4);
    pqe_rng rng;
    float *cb = malloc(M * 16 * (dim / M) * sizeof *cb);

    c->dim = dim;
    c->M = M;
    c->n = n;
    c->nq = nq;
    c->codes = malloc(n * M);
    c->queries = malloc(nq * dim * sizeof *c->queries);
    assert_true(cb && c->codes && c->queries);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < M * 16 * (dim / M); i++)
        cb[i] = uniform(&rng, -1, 1);
    for (size_t i = 0; i < n * M; i++)
        c->codes[i] = (uint8_t)pqe_rng_below(&rng, 16);
    for (size_t i = 0; i < nq * dim; i++)
        c->queries[i] = uniform(&rng, -1, 1);
    assert_int_equal(pqe_pq_new(&params, &c->pq), PQE_OK);
    assert_int_equal(pqe_pq_set_codebooks(c->pq, cb), PQE_OK);
    free(cb);
}

static void fs_case_free(fs_case *c)
{
    pqe_pq_free(c->pq);
    free(c->codes);
    free(c->queries);
}

/* Float ADC distance of code i for query q, as the test computes it:
 * squared L2 or the inner product. */
static double adc_distance(const fs_case *c, const float *query, size_t i, int ip)
{
    const float *cb = pqe_pq_codebooks(c->pq);
    size_t dsub = c->dim / c->M;
    double s = 0;
    for (size_t m = 0; m < c->M; m++) {
        const float *cent = cb + (m * 16 + c->codes[i * c->M + m]) * dsub;
        for (size_t j = 0; j < dsub; j++) {
            double x = query[m * dsub + j];
            s += ip ? x * cent[j] : (x - cent[j]) * (x - cent[j]);
        }
    }
    return s;
}

/* Runs the fast scan under one metric and checks it against float ADC;
 * returns the mean overlap of the top-k with the ADC top-k. */
static double check_fastscan(const fs_case *c, pqe_metric metric, size_t k, int64_t *ids,
                             float *dist)
{
    pqe_fastscan *fs = NULL;
    pqe_search_params sp = {PQE_SEARCH_ADC, metric, k, 0, 2};
    int ip = metric != PQE_METRIC_EUCLIDEAN;
    double *exact = malloc(c->n * sizeof *exact);
    char *returned = malloc(c->n);
    double overlap = 0;

    assert_true(exact && returned);
    assert_int_equal(pqe_fastscan_new(c->pq, c->codes, c->n, &fs), PQE_OK);
    assert_int_equal(pqe_fastscan_n_codes(fs), c->n);
    assert_int_equal(pqe_fastscan_search(fs, &sp, c->queries, c->nq, ids, dist), PQE_OK);

    for (size_t q = 0; q < c->nq; q++) {
        const float *query = c->queries + q * c->dim;
        const int64_t *row = ids + q * k;
        const float *drow = dist + q * k;
        double bound, worst_in = -INFINITY, best_out = INFINITY;
        size_t n_in = k < c->n ? k : c->n, hits = 0;

        assert_int_equal(pqe_fastscan_error_bound(fs, metric, query, &bound), PQE_OK);
        assert_true(bound > 0);
        memset(returned, 0, c->n);
        for (size_t i = 0; i < c->n; i++)
            exact[i] = ip ? -adc_distance(c, query, i, 1) : adc_distance(c, query, i, 0);
        for (size_t j = 0; j < n_in; j++) {
            assert_true(row[j] >= 0 && (size_t)row[j] < c->n);
            assert_false(returned[row[j]]);
            returned[row[j]] = 1;
            /* Reported distance within the bound of the exact one. */
            double reported = ip ? -(double)drow[j] : (double)drow[j];
            assert_true(fabs(reported - exact[row[j]]) <= bound);
            /* Sorted (with ties allowed), in the metric's direction. */
            if (j > 0)
                assert_true(ip ? drow[j] <= drow[j - 1] : drow[j] >= drow[j - 1]);
            worst_in = exact[row[j]] > worst_in ? exact[row[j]] : worst_in;
        }
        for (size_t j = n_in; j < k; j++)
            assert_int_equal(row[j], -1);
        for (size_t i = 0; i < c->n; i++) {
            if (!returned[i] && exact[i] < best_out)
                best_out = exact[i];
        }
        /* No code left out is nearer than the returned ones by more than
         * the quantisation can explain. */
        if (n_in < c->n)
            assert_true(best_out >= worst_in - 2 * bound);

        /* Overlap with the float-ADC top-k (ties by smaller id). */
        for (size_t i = 0; i < c->n; i++) {
            size_t rank = 0;
            for (size_t j = 0; j < c->n && rank < n_in; j++)
                rank += exact[j] < exact[i] || (exact[j] == exact[i] && j < i);
            hits += rank < n_in && returned[i];
        }
        overlap += (double)hits / (double)n_in;
    }
    pqe_fastscan_free(fs);
    free(exact);
    free(returned);
    return overlap / (double)c->nq;
}

static void fastscan_matches_adc_on_every_path(void **state)
{
    (void)state;
    const struct {
        size_t dim, M, n;
        pqe_metric metric;
    } cases[] = {
        {32, 8, 1000, PQE_METRIC_EUCLIDEAN}, {30, 5, 777, PQE_METRIC_EUCLIDEAN},
        {64, 16, 1200, PQE_METRIC_DOT},      {24, 24, 500, PQE_METRIC_ANGULAR},
        {16, 4, 20, PQE_METRIC_EUCLIDEAN},
    };
    const size_t nq = 12, k = 10;

    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        fs_case c;
        int64_t *ids[PQE_SIMD_N_LEVELS], *ref_ids = malloc(nq * k * sizeof *ref_ids);
        float *dist[PQE_SIMD_N_LEVELS], *ref_dist = malloc(nq * k * sizeof *ref_dist);
        assert_true(ref_ids && ref_dist);
        fs_case_make(&c, cases[t].dim, cases[t].M, cases[t].n, nq, 100 + t);

        for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
            ids[level] = NULL;
            dist[level] = NULL;
            if (!pqe_simd_supported((pqe_simd_level)level))
                continue;
            ids[level] = malloc(nq * k * sizeof **ids);
            dist[level] = malloc(nq * k * sizeof **dist);
            assert_true(ids[level] && dist[level]);
            assert_int_equal(pqe_simd_force((pqe_simd_level)level), PQE_OK);
            double overlap = check_fastscan(&c, cases[t].metric, k, ids[level], dist[level]);
            /* Random codes give many near-ties; most of the top-10 agree. */
            assert_true(overlap >= 0.7);
            if (level == 0) {
                memcpy(ref_ids, ids[0], nq * k * sizeof *ref_ids);
                memcpy(ref_dist, dist[0], nq * k * sizeof *ref_dist);
            } else {
                assert_memory_equal(ids[level], ref_ids, nq * k * sizeof *ref_ids);
                assert_memory_equal(dist[level], ref_dist, nq * k * sizeof *ref_dist);
            }
        }
        for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
            free(ids[level]);
            free(dist[level]);
        }
        free(ref_ids);
        free(ref_dist);
        fs_case_free(&c);
    }
}

/* k larger than the number of codes pads with id -1. */
static void fastscan_pads_short_results(void **state)
{
    (void)state;
    fs_case c;
    int64_t ids[3 * 50];
    float dist[3 * 50];

    fs_case_make(&c, 16, 4, 33, 3, 5);
    check_fastscan(&c, PQE_METRIC_EUCLIDEAN, 50, ids, dist);
    assert_int_equal(ids[33], -1);
    assert_true(isinf(dist[49]));
    fs_case_free(&c);
}

static void fastscan_rejects_bad_input(void **state)
{
    (void)state;
    pqe_fastscan *fs = NULL;
    pqe_pq *pq8 = NULL;
    pqe_pq_params p8 = pqe_pq_params_default(8, 2, 8);
    fs_case c;
    int64_t ids[4];
    float dist[4];
    pqe_search_params sp = {PQE_SEARCH_SDC, PQE_METRIC_EUCLIDEAN, 4, 0, 1};

    /* Untrained, then nbits 8. */
    assert_int_equal(pqe_pq_new(&p8, &pq8), PQE_OK);
    assert_int_equal(pqe_fastscan_new(pq8, NULL, 0, &fs), PQE_ERR_PARAM);
    float *cb = calloc(2 * 256 * 4, sizeof *cb);
    assert_non_null(cb);
    assert_int_equal(pqe_pq_set_codebooks(pq8, cb), PQE_OK);
    assert_int_equal(pqe_fastscan_new(pq8, NULL, 0, &fs), PQE_ERR_UNSUPPORTED);
    assert_non_null(strstr(pqe_last_error(), "nbits"));
    assert_null(fs);
    free(cb);
    pqe_pq_free(pq8);

    /* More than 4096 subspaces would leave too few levels per entry. */
    pqe_pq *wide = NULL;
    pqe_pq_params pw = pqe_pq_params_default(4097, 4097, 4);
    float *wide_cb = calloc(4097 * 16, sizeof *wide_cb);
    assert_non_null(wide_cb);
    assert_int_equal(pqe_pq_new(&pw, &wide), PQE_OK);
    assert_int_equal(pqe_pq_set_codebooks(wide, wide_cb), PQE_OK);
    assert_int_equal(pqe_fastscan_new(wide, NULL, 0, &fs), PQE_ERR_UNSUPPORTED);
    assert_non_null(strstr(pqe_last_error(), "4096"));
    pqe_pq_free(wide);
    free(wide_cb);

    /* A code index of 16 does not fit in 4 bits. */
    fs_case_make(&c, 16, 4, 40, 1, 3);
    c.codes[4 * 7 + 2] = 16;
    assert_int_equal(pqe_fastscan_new(c.pq, c.codes, c.n, &fs), PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "code 7, subspace 2"));
    c.codes[4 * 7 + 2] = 1;

    /* SDC is not a fast-scan mode; a NaN query is refused. */
    assert_int_equal(pqe_fastscan_new(c.pq, c.codes, c.n, &fs), PQE_OK);
    assert_int_equal(pqe_fastscan_search(fs, &sp, c.queries, 1, ids, dist), PQE_ERR_UNSUPPORTED);
    sp.mode = PQE_SEARCH_ADC;
    c.queries[3] = NAN;
    assert_int_equal(pqe_fastscan_search(fs, &sp, c.queries, 1, ids, dist), PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "column 3"));
    pqe_fastscan_free(fs);
    pqe_fastscan_free(NULL);
    fs_case_free(&c);
}

/* ---- batched ADC scan ------------------------------------------------------ */

/* One lane of the batched scan computed here: search.c's order of adds. */
static float ref_code_dist(const float *tables, size_t lanes, size_t q, size_t M, size_t K,
                           const uint8_t *c)
{
    float d = 0;
    size_t m = 0;
    for (; m + 4 <= M; m += 4) {
        float t0 = tables[((m + 0) * K + c[m + 0]) * lanes + q];
        float t1 = tables[((m + 1) * K + c[m + 1]) * lanes + q];
        float t2 = tables[((m + 2) * K + c[m + 2]) * lanes + q];
        float t3 = tables[((m + 3) * K + c[m + 3]) * lanes + q];
        d += (t0 + t1) + (t2 + t3);
    }
    for (; m < M; m++)
        d += tables[(m * K + c[m]) * lanes + q];
    return d;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Each level's kernel, called directly: for random float tables (where the
 * order of the adds shows in the bits), odd code counts, n_sub with and
 * without a remainder of four and the shapes with copies of their own,
 * the candidates are exactly the codes below some lane's bound, in order,
 * with the bits of the reference sum in every lane; a lane with bound
 * -INFINITY never makes a candidate. */
static void adc_scan_all_paths_match_reference(void **state)
{
    (void)state;
    const size_t shapes[][2] = {{16, 256}, {8, 256}, {32, 256}, {6, 256},
                                {16, 16},  {5, 16},  {3, 4},    {1, 2}};
    pqe_rng rng;
    pqe_rng_seed(&rng, 77);

    for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
        if (!pqe_simd_supported((pqe_simd_level)level))
            continue;
        pqe_adc_scanner sc = pqe_adc_scanner_of((pqe_simd_level)level);
        size_t L = sc.lanes;
        assert_true(L >= 4 && L <= PQE_ADC_LANES_MAX);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            size_t M = shapes[si][0], K = shapes[si][1], n = 301;
            float *tables = malloc(M * K * L * sizeof *tables);
            uint8_t *codes = malloc(n * M);
            uint32_t *cand = malloc(n * sizeof *cand);
            float *cand_dist = malloc(n * L * sizeof *cand_dist);
            float bounds[PQE_ADC_LANES_MAX];

            for (size_t i = 0; i < M * K * L; i++)
                tables[i] = uniform(&rng, 0.0f, 1.0f) * uniform(&rng, 0.5f, 3.0f);
            for (size_t i = 0; i < n * M; i++)
                codes[i] = (uint8_t)pqe_rng_below(&rng, K);
            /* Lane 0 bounded halfway between its smallest and largest
             * sum, so some codes pass and some do not; the other lanes switched off
             * (their sums are still checked in the candidates). */
            for (size_t q = 0; q < L; q++) {
                bounds[q] = -INFINITY;
                if (q == 0) {
                    for (size_t i = 0; i < n; i++)
                        cand_dist[i] = ref_code_dist(tables, L, q, M, K, codes + i * M);
                    qsort(cand_dist, n, sizeof *cand_dist, cmp_float);
                    bounds[q] = (cand_dist[0] + cand_dist[n - 1]) / 2;
                }
            }

            size_t nc = sc.scan(tables, M, K, codes, n, bounds, cand, cand_dist);
            size_t j = 0;
            for (size_t i = 0; i < n; i++) {
                float want[PQE_ADC_LANES_MAX];
                int hit = 0;
                for (size_t q = 0; q < L; q++) {
                    want[q] = ref_code_dist(tables, L, q, M, K, codes + i * M);
                    hit |= want[q] < bounds[q];
                }
                if (!hit)
                    continue;
                if (j >= nc || cand[j] != i)
                    fail_msg("level %d M %zu K %zu: code %zu should be candidate %zu", level, M, K,
                             i, j);
                for (size_t q = 0; q < L; q++)
                    if (memcmp(&cand_dist[j * L + q], &want[q], sizeof want[q]) != 0)
                        fail_msg("level %d M %zu K %zu code %zu lane %zu: %.9g, want %.9g", level,
                                 M, K, i, q, (double)cand_dist[j * L + q], (double)want[q]);
                j++;
            }
            assert_int_equal(nc, j);
            if (!(nc > 0 && nc < n))
                fail_msg("level %d M %zu K %zu: %zu candidates of %zu", level, M, K, nc, n);
            free(tables);
            free(codes);
            free(cand);
            free(cand_dist);
        }
    }
}

/* A PQ with random (non-integer) codebooks, where sums in another order
 * would differ in the last bits. */
static pqe_pq *float_pq(size_t d, size_t M, unsigned nbits, uint64_t seed)
{
    pqe_pq_params p = pqe_pq_params_default(d, M, nbits);
    pqe_pq *pq = NULL;
    size_t total = d * ((size_t)1 << nbits);
    float *cb = malloc(total * sizeof *cb);
    pqe_rng rng;

    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < total; i++)
        cb[i] = uniform(&rng, -1.0f, 1.0f);
    assert_int_equal(pqe_pq_set_codebooks(pq, cb), PQE_OK);
    free(cb);
    return pq;
}

/* pqe_pq_search in batches gives, on every level, for every batch size
 * (1 to 37 queries: full and partial batches of 4, 8 and 16) the ids and
 * the distance bits of searching each query alone (which takes the
 * one-query loop); base codes beyond one kernel call (1100 > 512), with
 * duplicates, for ADC and SDC, L2 and inner product, M with and without a
 * remainder of four, and k above the number of codes. */
static void batched_search_equals_one_query_at_a_time(void **state)
{
    (void)state;
    const struct {
        size_t d, M;
        unsigned nbits;
        size_t n, k;
    } cases[] = {{32, 16, 8, 1100, 10}, {24, 6, 8, 1100, 7}, {20, 5, 4, 600, 12}, {16, 8, 3, 5, 9}};
    const size_t nq = 37;

    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        size_t d = cases[ci].d, n = cases[ci].n, k = cases[ci].k;
        pqe_pq *pq = float_pq(d, cases[ci].M, cases[ci].nbits, 100 + ci);
        float *base = malloc(n * d * sizeof *base), *queries = malloc(nq * d * sizeof *queries);
        uint8_t *codes = malloc(n * pqe_pq_code_bytes(pq));
        int64_t *ids = malloc(nq * k * sizeof *ids), *one_ids = malloc(k * sizeof *one_ids);
        float *dist = malloc(nq * k * sizeof *dist), *one_dist = malloc(k * sizeof *one_dist);
        pqe_rng rng;

        pqe_rng_seed(&rng, 200 + ci);
        for (size_t i = 0; i < n * d; i++)
            base[i] = uniform(&rng, -1.5f, 1.5f);
        for (size_t i = 0; i < nq * d; i++)
            queries[i] = uniform(&rng, -1.5f, 1.5f);
        /* Every seventh base vector repeats an earlier one: exact ties. */
        for (size_t i = 7; i < n; i += 7)
            memcpy(base + i * d, base + (i / 3) * d, d * sizeof *base);
        assert_int_equal(pqe_pq_encode(pq, base, n, codes), PQE_OK);

        for (int level = 0; level < PQE_SIMD_N_LEVELS; level++) {
            if (!pqe_simd_supported((pqe_simd_level)level))
                continue;
            assert_int_equal(pqe_simd_force((pqe_simd_level)level), PQE_OK);
            for (int mode = 0; mode < 2; mode++) {
                for (int metric = 0; metric < 2; metric++) {
                    pqe_search_params sp = {.mode = (pqe_search_mode)mode,
                                            .metric =
                                                metric ? PQE_METRIC_DOT : PQE_METRIC_EUCLIDEAN,
                                            .k = k,
                                            .n_threads = 2};
                    for (size_t batch = 1; batch <= nq; batch += batch < 18 ? 1 : 19) {
                        assert_int_equal(
                            pqe_pq_search(pq, &sp, codes, n, queries, batch, ids, dist), PQE_OK);
                        for (size_t q = 0; q < batch; q++) {
                            assert_int_equal(pqe_pq_search(pq, &sp, codes, n, queries + q * d, 1,
                                                           one_ids, one_dist),
                                             PQE_OK);
                            if (memcmp(ids + q * k, one_ids, k * sizeof *ids) != 0 ||
                                memcmp(dist + q * k, one_dist, k * sizeof *dist) != 0)
                                fail_msg("case %zu level %d mode %d metric %d: query %zu of a "
                                         "batch of %zu differs from its search alone",
                                         ci, level, mode, metric, q, batch);
                        }
                    }
                }
            }
        }
        pqe_pq_free(pq);
        free(base);
        free(queries);
        free(codes);
        free(ids);
        free(one_ids);
        free(dist);
        free(one_dist);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(dispatch_levels, restore_level),
        cmocka_unit_test_teardown(adc_table_all_paths_identical, restore_level),
        cmocka_unit_test(fs_pack_round_trip),
        cmocka_unit_test_teardown(fs_scan_all_paths_identical, restore_level),
        cmocka_unit_test_teardown(fastscan_matches_adc_on_every_path, restore_level),
        cmocka_unit_test(fastscan_pads_short_results),
        cmocka_unit_test(fastscan_rejects_bad_input),
        cmocka_unit_test_teardown(adc_scan_all_paths_match_reference, restore_level),
        cmocka_unit_test_teardown(batched_search_equals_one_query_at_a_time, restore_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
