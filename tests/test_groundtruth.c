/* test_groundtruth.c - exact ground truth: hand-made cases with ties and
 * zero vectors, every metric against an independent brute force written
 * here, the shared SIFT set's published ground truth reproduced id for id,
 * and Fashion-MNIST (prepared by 'pqeval prepare') against a brute force on
 * sampled queries.
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

#include "pqeval/groundtruth.h"
#include "pqeval/io.h"
#include "pqeval/rng.h"

/* The independent reference: every distance in long double, a full sort
 * by (distance, id), nearest first (largest inner product first for dot). */
typedef struct ref_pair {
    long double key;
    int32_t id;
} ref_pair;

static int ref_cmp(const void *pa, const void *pb)
{
    const ref_pair *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static long double ref_distance(const float *q, const float *x, size_t dim, pqe_metric metric)
{
    long double ip = 0, nq = 0, nx = 0, l2 = 0;
    for (size_t j = 0; j < dim; j++) {
        ip += (long double)q[j] * x[j];
        nq += (long double)q[j] * q[j];
        nx += (long double)x[j] * x[j];
        l2 += ((long double)q[j] - x[j]) * ((long double)q[j] - x[j]);
    }
    if (metric == PQE_METRIC_EUCLIDEAN)
        return sqrtl(l2);
    if (metric == PQE_METRIC_DOT)
        return -ip; /* sorted ascending */
    if (nq == 0 || nx == 0)
        return 1;
    /* One rounding (the data are small integers, so ip, nq, nx are exact):
     * equal true cosines give equal keys. */
    return 1 - (ip < 0 ? -1 : 1) * sqrtl(ip * ip / (nq * nx));
}

static void ref_topk(const float *base, size_t n, const float *q, size_t dim, pqe_metric metric,
                     size_t k, int32_t *ids, double *dist)
{
    ref_pair *all = malloc(n * sizeof *all);
    assert_non_null(all);
    for (size_t i = 0; i < n; i++) {
        all[i].key = ref_distance(q, base + i * dim, dim, metric);
        all[i].id = (int32_t)i;
    }
    qsort(all, n, sizeof *all, ref_cmp);
    for (size_t j = 0; j < k; j++) {
        ids[j] = all[j].id;
        dist[j] = (double)(metric == PQE_METRIC_DOT ? -all[j].key : all[j].key);
    }
    free(all);
}

static void hand_made_ties(void **state)
{
    (void)state;
    /* Points on a line at 0, 1, 2, 3, 4 and a duplicate of 1 at id 5; a
     * query at 2: distances 2, 1, 0, 1, 2, 1. */
    const float base[] = {0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 1, 0};
    const float query[] = {2, 0};
    int32_t ids[5];
    float d[5];
    const int32_t want[] = {2, 1, 3, 5, 0};
    const float want_d[] = {0, 1, 1, 1, 2};

    assert_int_equal(pqe_groundtruth(base, 6, query, 1, 2, PQE_METRIC_EUCLIDEAN, 5, 1, ids, d),
                     PQE_OK);
    assert_memory_equal(ids, want, sizeof want);
    assert_memory_equal(d, want_d, sizeof want_d);

    /* Dot: larger is nearer; equal products ordered by id. */
    {
        const float b2[] = {1, 0, 0, 1, 2, 0, 1, 0};
        const float q2[] = {1, 1};
        const int32_t w2[] = {2, 0, 1, 3};
        assert_int_equal(pqe_groundtruth(b2, 4, q2, 1, 2, PQE_METRIC_DOT, 4, 1, ids, d), PQE_OK);
        assert_memory_equal(ids, w2, sizeof w2);
        assert_float_equal(d[0], 2.0f, 0);
        assert_float_equal(d[3], 1.0f, 0);
    }
    /* Angular: scale does not matter; 1 - cos; zero vector at distance 1. */
    {
        const float b3[] = {2, 0, 0, 0, 0, 5, 1, 1, -3, 0};
        const float q3[] = {1, 0};
        const int32_t w3[] = {0, 3, 1, 2, 4};
        assert_int_equal(pqe_groundtruth(b3, 5, q3, 1, 2, PQE_METRIC_ANGULAR, 5, 1, ids, d),
                         PQE_OK);
        assert_memory_equal(ids, w3, sizeof w3);
        assert_float_equal(d[0], 0.0f, 1e-7);
        assert_float_equal(d[1], (float)(1 - 1 / sqrt(2)), 1e-7);
        assert_float_equal(d[2], 1.0f, 0); /* the zero vector, id 1 */
        assert_float_equal(d[3], 1.0f, 1e-7);
        assert_float_equal(d[4], 2.0f, 1e-7);
    }
}

static void bad_parameters(void **state)
{
    (void)state;
    const float base[] = {0, 1, 2, 3};
    float nan_q[] = {NAN, 0};
    int32_t ids[4];
    float d[4];
    assert_int_equal(pqe_groundtruth(base, 2, base, 1, 2, PQE_METRIC_EUCLIDEAN, 3, 1, ids, d),
                     PQE_ERR_PARAM);
    assert_non_null(strstr(pqe_last_error(), "k = 3 must be in 1..2"));
    assert_int_equal(pqe_groundtruth(base, 2, nan_q, 1, 2, PQE_METRIC_EUCLIDEAN, 1, 1, ids, d),
                     PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "query row 0 column 0 is not finite"));
    /* Sizes whose product overflows are refused before anything is read. */
    assert_int_equal(pqe_groundtruth(base, (size_t)1 << 31 >> 1, base, SIZE_MAX / 2, 4,
                                     PQE_METRIC_DOT, 1, 1, ids, d),
                     PQE_ERR_OVERFLOW);
}

/* Random data with many exact ties (small integers): every metric against
 * the reference, many queries so that FAISS's BLAS path is used. */
static void random_data_all_metrics(void **state)
{
    (void)state;
    const size_t n = 3000, nq = 64, dim = 12, k = 50;
    float *base = malloc(n * dim * sizeof *base), *q = malloc(nq * dim * sizeof *q);
    int32_t *ids = malloc(nq * k * sizeof *ids), ref_ids[50];
    float *d = malloc(nq * k * sizeof *d);
    double ref_d[50];
    pqe_rng rng;

    assert_true(base && q && ids && d);
    pqe_rng_seed(&rng, 7);
    for (size_t i = 0; i < n * dim; i++)
        base[i] = (float)pqe_rng_below(&rng, 4);
    for (size_t i = 0; i < nq * dim; i++)
        q[i] = (float)pqe_rng_below(&rng, 4);
    memset(base, 0, dim * sizeof *base); /* a zero vector, id 0 */
    for (int m = 0; m < 3; m++) {
        pqe_metric metric = (pqe_metric)m;
        assert_int_equal(pqe_groundtruth(base, n, q, nq, dim, metric, k, 2, ids, d), PQE_OK);
        for (size_t i = 0; i < nq; i++) {
            ref_topk(base, n, q + i * dim, dim, metric, k, ref_ids, ref_d);
            for (size_t j = 0; j < k; j++) {
                if (ids[i * k + j] != ref_ids[j]) {
                    print_error("metric %s query %zu rank %zu: id %d, reference %d\n",
                                pqe_metric_name(metric), i, j, ids[i * k + j], ref_ids[j]);
                    fail();
                }
                assert_float_equal(d[i * k + j], ref_d[j], 1e-5 * fmax(1, fabs(ref_d[j])));
            }
        }
    }
    free(base);
    free(q);
    free(ids);
    free(d);
}

/* The SIFT set's ground truth (ties by smaller id, made independently with
 * numpy) reproduced exactly on a sample of queries. */
static void sift_published_groundtruth(void **state)
{
    (void)state;
    const char *dir = getenv("PQEVAL_SHARED_DATASETS");
    char path[4096];
    pqe_dataset *ds = NULL;
    pqe_load_options lo = pqe_load_options_default();
    size_t nq = getenv("PQEVAL_SANITIZED") ? 40 : 400, k = 100;
    int32_t *ids;
    float *d;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/sift-debian/siftdeb-128-euclidean.hdf5", dir);
    lo.load_learn = false;
    if (pqe_dataset_load(path, &lo, &ds) != PQE_OK) {
        print_error("%s\n", pqe_last_error());
        fail();
    }
    ids = malloc(nq * k * sizeof *ids);
    d = malloc(nq * k * sizeof *d);
    assert_true(ids && d);
    /* Queries 0..nq-1 (the FAISS blocks are exercised as in a full run). */
    assert_int_equal(
        pqe_groundtruth(ds->train, ds->n_train, ds->test, nq, ds->dim, ds->metric, k, 0, ids, d),
        PQE_OK);
    assert_memory_equal(ids, ds->neighbors, nq * k * sizeof *ids);
    for (size_t i = 0; i < nq * k; i++)
        assert_float_equal(d[i], ds->distances[i], 1e-6 * ds->distances[i]);
    free(ids);
    free(d);
    pqe_dataset_free(ds);
}

/* Fashion-MNIST as 'pqeval prepare' wrote it: the stored top-100 of
 * sampled queries equals an independent brute force. */
static void fashion_mnist_against_brute_force(void **state)
{
    (void)state;
    const char *dir = getenv("PQEVAL_DATA_DIR");
    char path[4096];
    pqe_dataset *ds = NULL;
    pqe_load_options lo = pqe_load_options_default();
    size_t samples = getenv("PQEVAL_SANITIZED") ? 3 : 12, chosen[12];
    int32_t ids[100];
    double dist[100];
    pqe_rng rng;
    FILE *fp;

    assert_non_null(dir);
    snprintf(path, sizeof path, "%s/fashion-mnist-784-euclidean.hdf5", dir);
    fp = fopen(path, "rb");
    if (!fp) {
        print_error("%s is missing: run 'pqeval prepare fashion-mnist --output %s' first "
                    "(scripts/test does)\n",
                    path, path);
        fail();
    }
    fclose(fp);
    lo.validate = false; /* this test is the check */
    if (pqe_dataset_load(path, &lo, &ds) != PQE_OK) {
        print_error("%s\n", pqe_last_error());
        fail();
    }
    assert_int_equal(ds->n_train, 60000);
    assert_int_equal(ds->n_test, 10000);
    assert_int_equal(ds->dim, 784);
    assert_int_equal(ds->gt_k, 100);
    assert_int_equal(ds->metric, PQE_METRIC_EUCLIDEAN);
    assert_non_null(ds->distances);
    /* Pixel values 0..255, not rescaled. */
    {
        float mx = 0;
        for (size_t i = 0; i < 784 * 100; i++)
            mx = ds->train[i] > mx ? ds->train[i] : mx;
        assert_float_equal(mx, 255.0f, 0);
    }
    pqe_rng_seed(&rng, 2024);
    pqe_rng_sample(&rng, ds->n_test, samples, chosen);
    for (size_t s = 0; s < samples; s++) {
        size_t q = chosen[s];
        ref_topk(ds->train, ds->n_train, ds->test + q * 784, 784, PQE_METRIC_EUCLIDEAN, 100, ids,
                 dist);
        for (size_t j = 0; j < 100; j++) {
            if (ds->neighbors[q * 100 + j] != ids[j]) {
                print_error("query %zu rank %zu: stored %d, brute force %d\n", q, j,
                            ds->neighbors[q * 100 + j], ids[j]);
                fail();
            }
            assert_float_equal(ds->distances[q * 100 + j], dist[j], 1e-6 * dist[j]);
        }
    }
    pqe_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_made_ties),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(random_data_all_metrics),
        cmocka_unit_test(sift_published_groundtruth),
        cmocka_unit_test(fashion_mnist_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
