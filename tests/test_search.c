/* test_search.c - ADC and SDC search against brute force over decoded
 * vectors, ties included.
 *
 * The codebooks and queries are small integers, so every distance (a sum of
 * squares or products of small integers) is exact in float whatever the
 * order of the additions: the brute-force ranking and the search ranking
 * must then agree exactly, including the order of equal distances (smaller
 * id first).  Duplicate base codes make such ties certain.
 *
 * Depends on: search.h, pq.h, rng.h, status.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/pq.h"
#include "pqeval/rng.h"
#include "pqeval/search.h"
#include "pqeval/status.h"

static void assert_message_has(const char *needle)
{
    const char *msg = pqe_last_error();
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, needle);
}

/* A quantizer with integer codebooks in [-4, 4]. */
static pqe_pq *integer_pq(size_t d, size_t M, unsigned nbits, uint64_t seed)
{
    pqe_pq_params p = pqe_pq_params_default(d, M, nbits);
    pqe_pq *pq = NULL;
    size_t K = (size_t)1 << nbits, total = d * K;
    float *cb = malloc(total * sizeof *cb);
    pqe_rng rng;

    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < total; i++)
        cb[i] = (float)((int)pqe_rng_below(&rng, 9) - 4);
    assert_int_equal(pqe_pq_set_codebooks(pq, cb), PQE_OK);
    free(cb);
    return pq;
}

/* Random codes, with every fifth one a copy of an earlier one. */
static uint8_t *random_codes(const pqe_pq *pq, size_t n, uint64_t seed)
{
    size_t M = pqe_pq_n_sub(pq), cb = pqe_pq_code_bytes(pq), K = pqe_pq_ksub(pq);
    uint8_t *codes = malloc(n * cb);
    pqe_rng rng;

    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 5 == 0) {
            size_t j = (size_t)pqe_rng_below(&rng, i);
            memcpy(codes + i * cb, codes + j * cb, cb);
            continue;
        }
        for (size_t m = 0; m < M; m++) {
            size_t v = (size_t)pqe_rng_below(&rng, K);
            if (cb == M) {
                codes[i * cb + m] = (uint8_t)v;
            } else {
                codes[i * cb + 2 * m] = (uint8_t)v;
                codes[i * cb + 2 * m + 1] = (uint8_t)(v >> 8);
            }
        }
    }
    return codes;
}

static float *integer_queries(size_t n, size_t d, uint64_t seed)
{
    float *q = malloc(n * d * sizeof *q);
    pqe_rng rng;
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < n * d; i++)
        q[i] = (float)((int)pqe_rng_below(&rng, 11) - 5);
    return q;
}

typedef struct ranked {
    float dist; /* ascending order key (negated inner product for ip) */
    int64_t id;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Brute force over decoded vectors: q against every row of base. */
static void brute_force(const float *q, const float *base, size_t n, size_t d, bool ip, ranked *out)
{
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (size_t j = 0; j < d; j++) {
            if (ip) {
                s += q[j] * base[i * d + j];
            } else {
                float t = q[j] - base[i * d + j];
                s += t * t;
            }
        }
        out[i].dist = ip ? -s : s;
        out[i].id = (int64_t)i;
    }
    qsort(out, n, sizeof *out, cmp_ranked);
}

/* Runs a search and checks every row against brute force; returns the
 * number of adjacent equal-distance pairs seen (ties exercised). */
static size_t check_against_brute_force(const pqe_pq *pq, pqe_search_mode mode, pqe_metric metric,
                                        size_t n, size_t nq, size_t k, int n_threads)
{
    size_t d = pqe_pq_dim(pq);
    uint8_t *codes = random_codes(pq, n, 11);
    float *queries = integer_queries(nq, d, 12);
    float *base = malloc(n * d * sizeof *base), *qdec = malloc(nq * d * sizeof *qdec);
    uint8_t *qcodes = malloc(nq * pqe_pq_code_bytes(pq));
    int64_t *ids = malloc(nq * k * sizeof *ids);
    float *dist = malloc(nq * k * sizeof *dist);
    ranked *want = malloc(n * sizeof *want);
    bool ip = metric != PQE_METRIC_EUCLIDEAN;
    size_t ties = 0;
    pqe_search_params sp = {.mode = mode, .metric = metric, .k = k, .n_threads = n_threads};

    assert_int_equal(pqe_pq_decode(pq, codes, n, base), PQE_OK);
    /* SDC compares the decoded query with the decoded base. */
    assert_int_equal(pqe_pq_encode(pq, queries, nq, qcodes), PQE_OK);
    assert_int_equal(pqe_pq_decode(pq, qcodes, nq, qdec), PQE_OK);
    assert_int_equal(pqe_pq_search(pq, &sp, codes, n, queries, nq, ids, dist), PQE_OK);

    for (size_t q = 0; q < nq; q++) {
        const float *qv = mode == PQE_SEARCH_SDC ? qdec + q * d : queries + q * d;
        brute_force(qv, base, n, d, ip, want);
        for (size_t r = 0; r < k; r++) {
            if (r >= n) {
                assert_int_equal(ids[q * k + r], -1);
                assert_true(isinf(dist[q * k + r]));
                continue;
            }
            float got = ip ? -dist[q * k + r] : dist[q * k + r];
            if (ids[q * k + r] != want[r].id || got != want[r].dist)
                fail_msg("%s %s query %zu rank %zu: got id %lld dist %g, want id %lld dist %g",
                         pqe_search_mode_name(mode), ip ? "ip" : "l2", q, r,
                         (long long)ids[q * k + r], (double)got, (long long)want[r].id,
                         (double)want[r].dist);
            if (r > 0 && want[r].dist == want[r - 1].dist)
                ties++;
        }
    }
    free(codes);
    free(queries);
    free(base);
    free(qdec);
    free(qcodes);
    free(ids);
    free(dist);
    free(want);
    return ties;
}

static void adc_l2_equals_brute_force(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(8, 4, 2, 1);
    assert_true(
        check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, 300, 20, 25, 2) > 0);
    /* k beyond the number of codes pads with id -1. */
    check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, 7, 3, 10, 1);
    pqe_pq_free(pq);
}

static void adc_ip_equals_brute_force(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(12, 3, 3, 2);
    assert_true(check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_DOT, 300, 20, 25, 2) > 0);
    check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_ANGULAR, 50, 5, 60, 1);
    pqe_pq_free(pq);
}

static void sdc_equals_brute_force(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(8, 4, 2, 3);
    assert_true(
        check_against_brute_force(pq, PQE_SEARCH_SDC, PQE_METRIC_EUCLIDEAN, 300, 20, 25, 2) > 0);
    assert_true(check_against_brute_force(pq, PQE_SEARCH_SDC, PQE_METRIC_DOT, 300, 20, 25, 2) > 0);
    pqe_pq_free(pq);
}

static void two_byte_codes_equal_brute_force(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(6, 2, 9, 4); /* K = 512, uint16 codes */
    assert_true(
        check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, 1000, 10, 40, 2) > 0);
    check_against_brute_force(pq, PQE_SEARCH_SDC, PQE_METRIC_EUCLIDEAN, 1000, 10, 40, 2);
    check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_DOT, 1000, 10, 40, 1);
    pqe_pq_free(pq);
}

static void byte_codes_many_subspaces(void **state)
{
    (void)state;
    /* nbits 8 with M 16: the fast path the benchmarks measure. */
    pqe_pq *pq = integer_pq(32, 16, 8, 5);
    check_against_brute_force(pq, PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, 2003, 8, 100, 2);
    check_against_brute_force(pq, PQE_SEARCH_SDC, PQE_METRIC_EUCLIDEAN, 2003, 8, 100, 2);
    pqe_pq_free(pq);
}

static void exact_duplicates_order_by_id(void **state)
{
    (void)state;
    /* Five copies of one code at ids 9, 3, 7, 0, 4 (others far away): the
     * query equal to it gets them as ranks 0..4 in id order. */
    pqe_pq *pq = integer_pq(4, 2, 2, 6);
    const float *cb = pqe_pq_codebooks(pq);
    uint8_t codes[10 * 2];
    float q[4];
    int64_t ids[6];
    float dist[6];
    pqe_search_params sp = {.mode = PQE_SEARCH_ADC, .metric = PQE_METRIC_EUCLIDEAN, .k = 6};

    for (size_t i = 0; i < 10; i++) {
        codes[2 * i] = 1;
        codes[2 * i + 1] = 2;
    }
    memcpy(q, cb + 1 * 2, 2 * sizeof *q);           /* subspace 0, centroid 1 */
    memcpy(q + 2, cb + (4 + 2) * 2, 2 * sizeof *q); /* subspace 1, centroid 2 */
    for (size_t i = 0; i < 10; i++) {
        if (i == 9 || i == 3 || i == 7 || i == 0 || i == 4)
            continue;
        /* Far: shift the query's own decoding away by using other codes
         * whose distance is non-zero (any code differing from (1, 2) whose
         * centroids differ from the query). */
        codes[2 * i] = 0;
        codes[2 * i + 1] = 0;
    }
    float c00[4];
    uint8_t far_code[2] = {0, 0};
    assert_int_equal(pqe_pq_decode(pq, far_code, 1, c00), PQE_OK);
    if (memcmp(c00, q, sizeof q) == 0)
        skip(); /* the seed made the far code equal to the query */
    for (int mode = 0; mode < 2; mode++) {
        sp.mode = (pqe_search_mode)mode;
        assert_int_equal(pqe_pq_search(pq, &sp, codes, 10, q, 1, ids, dist), PQE_OK);
        const int64_t want[5] = {0, 3, 4, 7, 9};
        for (size_t r = 0; r < 5; r++) {
            assert_int_equal(ids[r], want[r]);
            assert_true(dist[r] == 0.0f);
        }
        assert_true(dist[5] > 0);
        assert_int_equal(ids[5], 1);
    }
    pqe_pq_free(pq);
}

static void threads_do_not_change_results(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(16, 8, 4, 7);
    size_t n = 5000, nq = 33, k = 17;
    uint8_t *codes = random_codes(pq, n, 8);
    float *queries = integer_queries(nq, 16, 9);
    int64_t *i1 = malloc(nq * k * sizeof *i1), *i2 = malloc(nq * k * sizeof *i2);
    float *d1 = malloc(nq * k * sizeof *d1), *d2 = malloc(nq * k * sizeof *d2);
    pqe_search_params sp = {.mode = PQE_SEARCH_ADC, .metric = PQE_METRIC_EUCLIDEAN, .k = k};

    sp.n_threads = 1;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, n, queries, nq, i1, d1), PQE_OK);
    sp.n_threads = 3;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, n, queries, nq, i2, d2), PQE_OK);
    assert_memory_equal(i1, i2, nq * k * sizeof *i1);
    assert_memory_equal(d1, d2, nq * k * sizeof *d1);
    free(codes);
    free(queries);
    free(i1);
    free(i2);
    free(d1);
    free(d2);
    pqe_pq_free(pq);
}

static void adc_table_values(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(4, 2, 2, 10);
    const float *cb = pqe_pq_codebooks(pq);
    const float q[4] = {1, -2, 3, 0.5f};
    float t[8];

    assert_int_equal(pqe_pq_adc_table(pq, PQE_METRIC_EUCLIDEAN, q, t), PQE_OK);
    for (size_t m = 0; m < 2; m++) {
        for (size_t c = 0; c < 4; c++) {
            const float *cent = cb + (m * 4 + c) * 2;
            float a = q[2 * m] - cent[0], b = q[2 * m + 1] - cent[1];
            assert_float_equal(t[m * 4 + c], a * a + b * b, 1e-6);
        }
    }
    assert_int_equal(pqe_pq_adc_table(pq, PQE_METRIC_DOT, q, t), PQE_OK);
    for (size_t m = 0; m < 2; m++) {
        for (size_t c = 0; c < 4; c++) {
            const float *cent = cb + (m * 4 + c) * 2;
            assert_float_equal(t[m * 4 + c], q[2 * m] * cent[0] + q[2 * m + 1] * cent[1], 1e-6);
        }
    }
    pqe_pq_free(pq);
}

/* The kernel's order of the sum over subspaces: groups of four,
 * d += (t0 + t1) + (t2 + t3), then one by one (simd/adc_kernels.h). */
static float sum_in_kernel_order(const float *t, size_t M)
{
    float d = 0;
    size_t m = 0;
    for (; m + 4 <= M; m += 4)
        d += (t[m] + t[m + 1]) + (t[m + 2] + t[m + 3]);
    for (; m < M; m++)
        d += t[m];
    return d;
}

/* With float codebooks whose sums round, SDC's distances are still those
 * of the plain definition to the bit: each table entry summed over j in
 * order, the entries summed over m in the kernel's order. */
static void sdc_float_distances_exact(void **state)
{
    (void)state;
    const size_t d = 42, M = 6, dsub = 7, K = 256, n = 60, nq = 5;
    pqe_pq_params p = pqe_pq_params_default(d, M, 8);
    pqe_pq *pq = NULL;
    float *cbk = malloc(d * K * sizeof *cbk), *queries = malloc(nq * d * sizeof *queries);
    uint8_t *codes = malloc(n * M), *qcodes = malloc(nq * M);
    int64_t *ids = malloc(nq * n * sizeof *ids);
    float *dist = malloc(nq * n * sizeof *dist), t[6];
    pqe_rng rng;

    pqe_rng_seed(&rng, 77);
    for (size_t i = 0; i < d * K; i++)
        cbk[i] = (float)pqe_rng_uniform(&rng) * 2.0f - 1.0f;
    for (size_t i = 0; i < nq * d; i++)
        queries[i] = (float)pqe_rng_uniform(&rng) * 2.0f - 1.0f;
    for (size_t i = 0; i < n * M; i++)
        codes[i] = (uint8_t)pqe_rng_below(&rng, K);
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    assert_int_equal(pqe_pq_set_codebooks(pq, cbk), PQE_OK);
    assert_int_equal(pqe_pq_encode(pq, queries, nq, qcodes), PQE_OK);

    for (int ip = 0; ip <= 1; ip++) {
        pqe_search_params sp = {.mode = PQE_SEARCH_SDC,
                                .metric = ip ? PQE_METRIC_DOT : PQE_METRIC_EUCLIDEAN,
                                .k = n,
                                .n_threads = 2};
        assert_int_equal(pqe_pq_search(pq, &sp, codes, n, queries, nq, ids, dist), PQE_OK);
        for (size_t q = 0; q < nq; q++) {
            for (size_t r = 0; r < n; r++) {
                int64_t id = ids[q * n + r];
                assert_true(id >= 0 && (size_t)id < n);
                for (size_t m = 0; m < M; m++) {
                    const float *a = cbk + (m * K + qcodes[q * M + m]) * dsub;
                    const float *b = cbk + (m * K + codes[(size_t)id * M + m]) * dsub;
                    float s = 0;
                    for (size_t j = 0; j < dsub; j++) {
                        if (ip) {
                            s += a[j] * b[j];
                        } else {
                            float e = a[j] - b[j];
                            s += e * e;
                        }
                    }
                    t[m] = ip ? -s : s;
                }
                float want = sum_in_kernel_order(t, M);
                float got = ip ? -dist[q * n + r] : dist[q * n + r];
                if (got != want)
                    fail_msg("sdc %s query %zu rank %zu (id %lld): got %.9g, want %.9g",
                             ip ? "ip" : "l2", q, r, (long long)id, (double)got, (double)want);
            }
        }
    }
    pqe_pq_free(pq);
    free(cbk);
    free(queries);
    free(codes);
    free(qcodes);
    free(ids);
    free(dist);
}

static void sdc_refused_over_memory_limit(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(8, 4, 4, 11); /* 4 * 16 * 16 * 4 = 4096 bytes */
    uint8_t codes[4] = {0, 1, 2, 3};
    float q[8] = {0}, dist[1];
    int64_t ids[1];
    pqe_search_params sp = {.mode = PQE_SEARCH_SDC, .metric = PQE_METRIC_EUCLIDEAN, .k = 1};

    assert_int_equal(pqe_pq_sdc_table_bytes(pq), 4096);
    sp.sdc_memory_limit = 4095;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, 1, q, 1, ids, dist), PQE_ERR_UNSUPPORTED);
    assert_message_has("4096 bytes");
    assert_message_has("4095");
    sp.sdc_memory_limit = 4096;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, 1, q, 1, ids, dist), PQE_OK);
    assert_int_equal(ids[0], 0);
    pqe_pq_free(pq);

    /* nbits 16, M 4: 4 * 2^32 floats, far over the default limit. */
    pqe_pq_params p = pqe_pq_params_default(4, 4, 16);
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    assert_int_equal(pqe_pq_sdc_table_bytes(pq), (size_t)4 * 65536 * 65536 * 4);
    pqe_pq_free(pq);
}

static void bad_search_inputs(void **state)
{
    (void)state;
    pqe_pq *pq = integer_pq(8, 4, 2, 12);
    uint8_t codes[8] = {0, 1, 2, 3, 0, 1, 2, 4}; /* code 1 subspace 3: 4 >= K */
    float q[8] = {0};
    int64_t ids[2];
    float dist[2];
    pqe_search_params sp = {.mode = PQE_SEARCH_ADC, .metric = PQE_METRIC_EUCLIDEAN, .k = 2};

    assert_int_equal(pqe_pq_search(pq, &sp, codes, 2, q, 1, ids, dist), PQE_ERR_DATA);
    assert_message_has("code 1, subspace 3");
    sp.k = 0;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, 1, q, 1, ids, dist), PQE_ERR_PARAM);
    sp.k = 2;
    q[3] = NAN;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, 1, q, 1, ids, dist), PQE_ERR_DATA);
    assert_message_has("query 0, column 3");
    pqe_pq_free(pq);

    pqe_pq_params p = pqe_pq_params_default(8, 4, 2);
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    q[3] = 0;
    assert_int_equal(pqe_pq_search(pq, &sp, codes, 1, q, 1, ids, dist), PQE_ERR_PARAM);
    assert_message_has("not trained");
    pqe_pq_free(pq);

    assert_string_equal(pqe_search_mode_name(PQE_SEARCH_ADC), "adc");
    assert_string_equal(pqe_search_mode_name(PQE_SEARCH_SDC), "sdc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adc_l2_equals_brute_force),
        cmocka_unit_test(adc_ip_equals_brute_force),
        cmocka_unit_test(sdc_equals_brute_force),
        cmocka_unit_test(two_byte_codes_equal_brute_force),
        cmocka_unit_test(byte_codes_many_subspaces),
        cmocka_unit_test(exact_duplicates_order_by_id),
        cmocka_unit_test(threads_do_not_change_results),
        cmocka_unit_test(adc_table_values),
        cmocka_unit_test(sdc_float_distances_exact),
        cmocka_unit_test(sdc_refused_over_memory_limit),
        cmocka_unit_test(bad_search_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
