/* test_kmeans.c - k-means: energy never increases on real data, both
 * initialisations find well-separated clusters, empty clusters are
 * repaired without NaN, the seed fixes the result, subsampling, the
 * assignment against brute force, and input errors.
 *
 * Depends on: kmeans.h, rng.h, status.h, support/pq_testdata (SIFT).
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

#include "pqeval/kmeans.h"
#include "pqeval/rng.h"
#include "pqeval/status.h"
#include "support/pq_testdata.h"

static void assert_message_has(const char *needle)
{
    const char *msg = pqe_last_error();
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, needle);
}

static void assert_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            fail_msg("value %zu is %g", i, (double)x[i]);
}

/* Columns [col, col + dim) of n SIFT learn vectors, as a contiguous array. */
static float *sift_columns(size_t n, size_t col, size_t dim)
{
    size_t got, d;
    float *all = pqt_read_bvecs(pqt_sift_path("siftdeb_learn.bvecs"), 0, n, &got, &d);
    assert_non_null(all);
    assert_int_equal(got, n);
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * dim, all + i * d + col, dim * sizeof *x);
    free(all);
    return x;
}

/* Mean squared distance of each point to its nearest centroid, by brute
 * force in double. */
static double brute_energy(const float *x, size_t n, size_t dim, const float *c, size_t k)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t t = 0; t < dim; t++) {
                double u = (double)x[i * dim + t] - c[j * dim + t];
                s += u * u;
            }
            if (s < best)
                best = s;
        }
        total += best;
    }
    return total / (double)n;
}

static void energy_non_increasing_on_sift(void **state)
{
    (void)state;
    size_t n = pqt_sanitized() ? 4000 : 10000, dim = 16, k = 128;
    float *x = sift_columns(n, 32, dim);
    float *c = malloc(k * dim * sizeof *c);

    for (int init = 0; init < 2; init++) {
        pqe_kmeans_params p = pqe_kmeans_params_default(k);
        pqe_kmeans_result r;
        p.init = (pqe_kmeans_init)init;
        p.n_iters = 20;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
        assert_int_equal(r.n_iters, 20);
        assert_int_equal(r.n_used, n);
        assert_non_null(r.energy);
        for (unsigned it = 1; it < r.n_iters; it++) {
            if (r.energy[it] > r.energy[it - 1] * (1 + 1e-5))
                fail_msg("init %d: energy rose from %.4f to %.4f at iteration %u", init,
                         r.energy[it - 1], r.energy[it], it);
        }
        /* Real progress, and the first energy is that of the initial
         * centroids. */
        assert_true(r.energy[r.n_iters - 1] < 0.9 * r.energy[0]);
        /* The final centroids are at least as good as the last assignment. */
        double final = brute_energy(x, n, dim, c, k);
        assert_true(final <= r.energy[r.n_iters - 1] * (1 + 1e-4));
        assert_all_finite(c, k * dim);
        print_message("init %s: energy %.1f -> %.1f, final %.1f\n", init ? "k-means++" : "random",
                      r.energy[0], r.energy[r.n_iters - 1], final);
        pqe_kmeans_result_free(&r);
        assert_null(r.energy);
    }
    free(x);
    free(c);
}

/* Eight tight Gaussian-like blobs far apart in 4-D. */
static float *blobs(size_t per_blob, float *centers, uint64_t seed)
{
    pqe_rng rng;
    size_t dim = 4, n = 8 * per_blob;
    float *x = malloc(n * dim * sizeof *x);
    pqe_rng_seed(&rng, seed);
    for (size_t b = 0; b < 8; b++)
        for (size_t j = 0; j < dim; j++)
            centers[b * dim + j] = (float)(((b >> (j % 3)) & 1) * 100.0 + (double)j * b);
    for (size_t i = 0; i < n; i++) {
        size_t b = i % 8;
        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = centers[b * dim + j] + (float)(pqe_rng_uniform(&rng) - 0.5);
    }
    return x;
}

static void both_inits_find_blobs(void **state)
{
    (void)state;
    size_t per = 200, dim = 4, k = 8, n = 8 * per;
    float centers[8 * 4], c[8 * 4];
    float *x = blobs(per, centers, 21);

    for (int init = 0; init < 2; init++) {
        size_t found_all = 0, runs = 5;
        for (uint64_t seed = 1; seed <= runs; seed++) {
            pqe_kmeans_params p = pqe_kmeans_params_default(k);
            pqe_kmeans_result r;
            p.init = (pqe_kmeans_init)init;
            p.seed = seed;
            p.n_iters = 30;
            assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
            assert_all_finite(c, k * dim);
            assert_true(r.energy[r.n_iters - 1] <= r.energy[0]);
            /* Every blob centre has a centroid within 0.2. */
            size_t found = 0;
            for (size_t b = 0; b < 8; b++) {
                for (size_t j = 0; j < k; j++) {
                    double s = 0;
                    for (size_t t = 0; t < dim; t++) {
                        double u = (double)centers[b * dim + t] - c[j * dim + t];
                        s += u * u;
                    }
                    if (s < 0.04) {
                        found++;
                        break;
                    }
                }
            }
            if (found == 8) {
                found_all++;
                /* Uniform noise of width 1 in 4-D: energy 4/12. */
                assert_float_equal(r.energy[r.n_iters - 1], 4.0 / 12.0, 0.05);
            }
            pqe_kmeans_result_free(&r);
        }
        print_message("init %s: all blobs found in %zu of %zu runs\n",
                      init ? "k-means++" : "random", found_all, runs);
        /* k-means++ is near certain to seed every blob.  Random init
         * seeds all eight blobs with probability 8!/8^8 and Lloyd cannot
         * leave such a local minimum, so for it only the energy checks
         * above apply. */
        if (init == PQE_KMEANS_INIT_PLUSPLUS)
            assert_int_equal(found_all, runs);
    }
    free(x);
}

static void empty_clusters_repaired(void **state)
{
    (void)state;
    /* 5 distinct points, each repeated 40 times, and k = 20: most initial
     * centroids coincide, so clusters empty out and must be split. */
    size_t dim = 3, distinct = 5, n = distinct * 40, k = 20;
    float *x = malloc(n * dim * sizeof *x), *c = malloc(k * dim * sizeof *c);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            x[i * dim + j] = (float)((i % distinct) * 10 + j);

    for (int init = 0; init < 2; init++) {
        pqe_kmeans_params p = pqe_kmeans_params_default(k);
        pqe_kmeans_result r;
        p.init = (pqe_kmeans_init)init;
        p.n_iters = 10;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
        assert_true(r.n_empty_fixed > 0);
        assert_all_finite(c, k * dim);
        for (unsigned it = 0; it < r.n_iters; it++)
            assert_true(isfinite(r.energy[it]));
        /* Each distinct point ends up (almost) on a centroid. */
        assert_true(brute_energy(x, n, dim, c, k) < 1e-3);
        pqe_kmeans_result_free(&r);
    }

    /* All points identical: no crash, no NaN, centroids all equal to it. */
    for (size_t i = 0; i < n * dim; i++)
        x[i] = 2.5f;
    for (int init = 0; init < 2; init++) {
        pqe_kmeans_params p = pqe_kmeans_params_default(k);
        pqe_kmeans_result r;
        p.init = (pqe_kmeans_init)init;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
        for (size_t i = 0; i < k * dim; i++)
            assert_float_equal(c[i], 2.5f, 1e-2);
        assert_true(r.energy[r.n_iters - 1] < 1e-4);
        pqe_kmeans_result_free(&r);
    }
    free(x);
    free(c);
}

static void same_seed_same_centroids(void **state)
{
    (void)state;
    size_t n = pqt_sanitized() ? 3000 : 8000, dim = 8, k = 64;
    float *x = sift_columns(n, 64, dim);
    float *a = malloc(k * dim * sizeof *a), *b = malloc(k * dim * sizeof *b);
    pqe_kmeans_params p = pqe_kmeans_params_default(k);
    p.n_iters = 10;

    for (int init = 0; init < 2; init++) {
        p.init = (pqe_kmeans_init)init;
        p.seed = 99;
        p.n_threads = 2;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, a, NULL), PQE_OK);
        assert_int_equal(pqe_kmeans(x, n, dim, &p, b, NULL), PQE_OK);
        assert_memory_equal(a, b, k * dim * sizeof *a);
        /* The thread count does not change the result either. */
        p.n_threads = 1;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, b, NULL), PQE_OK);
        assert_memory_equal(a, b, k * dim * sizeof *a);
        /* Another seed gives other centroids. */
        p.seed = 100;
        assert_int_equal(pqe_kmeans(x, n, dim, &p, b, NULL), PQE_OK);
        assert_true(memcmp(a, b, k * dim * sizeof *a) != 0);
    }
    free(x);
    free(a);
    free(b);
}

/* pqe_kmeans_strided on columns of the SIFT rows gives the bits of
 * pqe_kmeans on a contiguous copy of them, with subsampling and without,
 * with one thread or two; a non-finite value in the rows it uses is named
 * by the caller's row number, and a stride below the dimension is
 * refused. */
static void strided_equals_contiguous(void **state)
{
    (void)state;
    size_t n = pqt_sanitized() ? 2000 : 4000, d = 128, col = 40, dim = 8, k = 32;
    size_t got, dd;
    float *all = pqt_read_bvecs(pqt_sift_path("siftdeb_learn.bvecs"), 0, n, &got, &dd);
    float *x = sift_columns(n, col, dim);
    float *a = malloc(k * dim * sizeof *a), *b = malloc(k * dim * sizeof *b);
    pqe_kmeans_params p = pqe_kmeans_params_default(k);
    pqe_kmeans_result ra, rb;

    assert_non_null(all);
    assert_int_equal(dd, d);
    p.n_iters = 8;
    for (int sub = 0; sub < 2; sub++) {
        p.max_points_per_centroid = sub ? 40 : 0; /* 1280 points, or all */
        for (int threads = 1; threads <= 2; threads++) {
            p.n_threads = threads;
            assert_int_equal(pqe_kmeans(x, n, dim, &p, a, &ra), PQE_OK);
            assert_int_equal(pqe_kmeans_strided(all + col, n, dim, d, &p, b, &rb), PQE_OK);
            assert_memory_equal(a, b, k * dim * sizeof *a);
            assert_int_equal(ra.n_used, rb.n_used);
            assert_memory_equal(ra.energy, rb.energy, p.n_iters * sizeof *ra.energy);
            pqe_kmeans_result_free(&ra);
            pqe_kmeans_result_free(&rb);
        }
    }

    /* Row 1234 used (no subsampling): named as row 1234, column 3. */
    p.max_points_per_centroid = 0;
    all[1234 * d + col + 3] = NAN;
    assert_int_equal(pqe_kmeans_strided(all + col, n, dim, d, &p, b, NULL), PQE_ERR_DATA);
    assert_message_has("row 1234, column 3");
    /* Subsampled: a bad value in every row is found in a used one. */
    p.max_points_per_centroid = 40;
    for (size_t i = 0; i < n; i++)
        all[i * d + col + 5] = INFINITY;
    assert_int_equal(pqe_kmeans_strided(all + col, n, dim, d, &p, b, NULL), PQE_ERR_DATA);
    assert_message_has("column 5 is inf");
    /* Columns outside the slice are not its business. */
    for (size_t i = 0; i < n; i++)
        all[i * d + col + 5] = all[i * d + col + 3] = 1.0f;
    all[7 * d + col + dim] = NAN;
    assert_int_equal(pqe_kmeans_strided(all + col, n, dim, d, &p, b, NULL), PQE_OK);
    assert_int_equal(pqe_kmeans_strided(all + col, n, dim, dim - 1, &p, b, NULL), PQE_ERR_PARAM);
    assert_message_has("stride 7 is below the dimension 8");
    free(all);
    free(x);
    free(a);
    free(b);
}

static void subsampling(void **state)
{
    (void)state;
    size_t n = 5000, dim = 4, k = 10;
    float centers[8 * 4];
    float *x = blobs(n / 8, centers, 5), *c = malloc(k * dim * sizeof *c);
    pqe_kmeans_params p = pqe_kmeans_params_default(k);
    pqe_kmeans_result r;

    p.max_points_per_centroid = 39;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
    assert_int_equal(r.n_used, 390);
    pqe_kmeans_result_free(&r);
    p.max_points_per_centroid = 0; /* no limit */
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
    assert_int_equal(r.n_used, n);
    pqe_kmeans_result_free(&r);
    free(x);
    free(c);
}

static void assign_matches_brute_force(void **state)
{
    (void)state;
    size_t n = 3000, dim = 16, k = 100;
    float *x = sift_columns(n, 0, dim);
    float *c = malloc(k * dim * sizeof *c), *d2 = malloc(n * sizeof *d2);
    int64_t *a = malloc(n * sizeof *a);

    /* Centroids: the first k points, with point 5 duplicated at 7 and 50. */
    memcpy(c, x, k * dim * sizeof *c);
    memcpy(c + 7 * dim, c + 5 * dim, dim * sizeof *c);
    memcpy(c + 50 * dim, c + 5 * dim, dim * sizeof *c);
    assert_int_equal(pqe_kmeans_assign(x, n, dim, c, k, a, d2), PQE_OK);
    /* Exact ties between centroids 5, 7 and 50 go to the smallest. */
    assert_int_equal(a[5], 5);
    for (size_t i = 0; i < n; i++)
        assert_true(a[i] != 7 && a[i] != 50);
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY, got = 0;
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t t = 0; t < dim; t++) {
                double u = (double)x[i * dim + t] - c[j * dim + t];
                s += u * u;
            }
            if (s < best)
                best = s;
            if ((int64_t)j == a[i])
                got = s;
        }
        assert_true(a[i] >= 0 && a[i] < (int64_t)k);
        /* The norm expansion rounds: allow a relative 1e-4 of the norms. */
        assert_true(got <= best + 1e-4 * (best + 1000));
        assert_float_equal(d2[i], got, 1e-3 * (got + 100));
    }
    free(x);
    free(c);
    free(d2);
    free(a);
}

static void input_errors(void **state)
{
    (void)state;
    size_t n = 20, dim = 3;
    float x[20 * 3], c[30 * 3];
    pqe_kmeans_params p = pqe_kmeans_params_default(5);
    pqe_kmeans_result r;

    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)i;
    x[7 * dim + 2] = NAN;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_DATA);
    assert_message_has("row 7, column 2");
    assert_null(r.energy);
    x[7 * dim + 2] = -INFINITY;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_DATA);
    assert_message_has("row 7, column 2 is -inf");
    x[7 * dim + 2] = 0;

    p.k = 30;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_PARAM);
    assert_message_has("20 points are fewer than the k = 30");
    p.k = 0;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_PARAM);
    p.k = 5;
    p.n_iters = 0;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_PARAM);
    p.n_iters = 3;
    p.init = (pqe_kmeans_init)7;
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_ERR_PARAM);
    assert_message_has("initialisation 7");

    /* k == n works: every point its own centroid. */
    p = pqe_kmeans_params_default(n);
    assert_int_equal(pqe_kmeans(x, n, dim, &p, c, &r), PQE_OK);
    assert_float_equal(r.energy[r.n_iters - 1], 0, 1e-3);
    pqe_kmeans_result_free(&r);
    pqe_kmeans_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(energy_non_increasing_on_sift), cmocka_unit_test(both_inits_find_blobs),
        cmocka_unit_test(empty_clusters_repaired),       cmocka_unit_test(same_seed_same_centroids),
        cmocka_unit_test(strided_equals_contiguous),     cmocka_unit_test(subsampling),
        cmocka_unit_test(assign_matches_brute_force),    cmocka_unit_test(input_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
