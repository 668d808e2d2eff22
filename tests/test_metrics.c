/* test_metrics.c - distortion, ADC error, exact distances, 1-recall@R,
 * k-recall@k, intervals and spreads on tiny arrays with answers worked out
 * by hand (each case says how). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/metrics.h"
#include "pqeval/rng.h"

#define TOL 1e-12

/* |a - b| <= tol, printing both values when not (this cmocka has no
 * assert_double_equal). */
static void near_at(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g is not within %g of %.17g\n", a, tol, b);
        _fail(file, line);
    }
}
#define assert_near(a, b, tol) near_at((a), (b), (tol), __FILE__, __LINE__)

static void distortion_by_hand(void **state)
{
    (void)state;
    /* Row 0: errors 0,1,0,2 -> 0+1+0+4 = 5, norm 1+4+9+16 = 30.
     * Row 1: errors 1,0,0,1 -> 2, norm 0.
     * mse = 7/2, mean squared norm 15, subspaces {0,1}: (1+1)/2 = 1,
     * {2,3}: (4+1)/2 = 2.5. */
    const float x[] = {1, 2, 3, 4, 0, 0, 0, 0};
    const float xhat[] = {1, 1, 3, 2, 1, 0, 0, 1};
    pqe_distortion d;

    assert_int_equal(pqe_distortion_compute(x, xhat, 2, 4, 2, &d), PQE_OK);
    assert_int_equal(d.n, 2);
    assert_near(d.mse, 3.5, TOL);
    assert_near(d.mean_sq_norm, 15.0, TOL);
    assert_near(d.rel, 3.5 / 15.0, TOL);
    assert_int_equal(d.n_sub, 2);
    assert_near(d.mse_sub[0], 1.0, TOL);
    assert_near(d.mse_sub[1], 2.5, TOL);
    pqe_distortion_clear(&d);
    assert_null(d.mse_sub);

    /* Without subspaces. */
    assert_int_equal(pqe_distortion_compute(x, xhat, 2, 4, 0, &d), PQE_OK);
    assert_null(d.mse_sub);
    assert_near(d.mse, 3.5, TOL);
    pqe_distortion_clear(&d);

    /* Zero norms give a NaN relative value, not a division by zero. */
    assert_int_equal(pqe_distortion_compute(x + 4, xhat + 4, 1, 4, 0, &d), PQE_OK);
    assert_near(d.mse, 2.0, TOL);
    assert_true(isnan(d.rel));
    pqe_distortion_clear(&d);
}

static void distortion_rejects_bad_input(void **state)
{
    (void)state;
    const float x[] = {1, 2, 3, 4};
    const float bad[] = {1, NAN, 3, 4};
    pqe_distortion d;

    assert_int_equal(pqe_distortion_compute(x, x, 0, 4, 0, &d), PQE_ERR_PARAM);
    assert_non_null(strstr(pqe_last_error(), "n = 0"));
    assert_int_equal(pqe_distortion_compute(x, x, 1, 4, 3, &d), PQE_ERR_PARAM);
    assert_non_null(strstr(pqe_last_error(), "3 subspaces"));
    assert_int_equal(pqe_distortion_compute(x, bad, 1, 4, 2, &d), PQE_ERR_DATA);
    pqe_distortion_clear(&d);
}

/* Random data: the subspaces sum to the total, and batches give what one
 * call gives. */
static void distortion_subspaces_sum_and_batches_agree(void **state)
{
    (void)state;
    enum { N = 300, DIM = 24, M = 6 };
    float *x = malloc(N * DIM * sizeof *x);
    float *y = malloc(N * DIM * sizeof *y);
    pqe_rng rng;
    pqe_distortion whole, parts;
    pqe_distortion_acc acc;
    double sum = 0.0;

    assert_non_null(x);
    assert_non_null(y);
    pqe_rng_seed(&rng, 7);
    for (size_t i = 0; i < N * DIM; i++) {
        x[i] = (float)(pqe_rng_uniform(&rng) * 10.0 - 5.0);
        y[i] = x[i] + (float)(pqe_rng_uniform(&rng) - 0.5);
    }
    assert_int_equal(pqe_distortion_compute(x, y, N, DIM, M, &whole), PQE_OK);
    for (size_t m = 0; m < M; m++)
        sum += whole.mse_sub[m];
    assert_near(sum, whole.mse, 1e-12 * whole.mse);
    /* Uniform(-0.5, 0.5) errors: 1/12 per dimension expected. */
    assert_near(whole.mse, DIM / 12.0, 0.2);

    assert_int_equal(pqe_distortion_acc_init(&acc, DIM, M), PQE_OK);
    assert_int_equal(pqe_distortion_acc_finish(&acc, &parts), PQE_ERR_PARAM);
    assert_int_equal(pqe_distortion_acc_add(&acc, x, y, 100), PQE_OK);
    assert_int_equal(pqe_distortion_acc_add(&acc, x + 100 * DIM, y + 100 * DIM, 200), PQE_OK);
    assert_int_equal(pqe_distortion_acc_finish(&acc, &parts), PQE_OK);
    assert_int_equal(parts.n, N);
    assert_near(parts.mse, whole.mse, 1e-12 * whole.mse);
    assert_near(parts.mean_sq_norm, whole.mean_sq_norm, 1e-12 * whole.mean_sq_norm);
    for (size_t m = 0; m < M; m++)
        assert_near(parts.mse_sub[m], whole.mse_sub[m], 1e-12 * whole.mse);

    pqe_distortion_acc_clear(&acc);
    pqe_distortion_clear(&whole);
    pqe_distortion_clear(&parts);
    free(x);
    free(y);
}

static void adc_error_by_hand(void **state)
{
    (void)state;
    /* est - exact = 1, 0, 2, 1: mean 1, deviations 0,-1,1,0 -> sd sqrt(2/3);
     * relative over exact > 0: 1/1, 0/4, 2/4 -> mean 0.5 over 3 pairs. */
    const double est[] = {2, 4, 6, 1};
    const double exact[] = {1, 4, 4, 0};
    const double inf_est[] = {INFINITY};
    pqe_adc_error e;

    assert_int_equal(pqe_adc_error_compute(est, exact, 4, &e), PQE_OK);
    assert_int_equal(e.n_pairs, 4);
    assert_near(e.mean, 1.0, TOL);
    assert_near(e.sd, sqrt(2.0 / 3.0), TOL);
    assert_near(e.rel_mean, 0.5, TOL);
    assert_int_equal(e.n_rel, 3);

    assert_int_equal(pqe_adc_error_compute(est + 3, exact + 3, 1, &e), PQE_OK);
    assert_true(isnan(e.sd));
    assert_true(isnan(e.rel_mean));
    assert_int_equal(pqe_adc_error_compute(est, exact, 0, &e), PQE_ERR_PARAM);
    assert_int_equal(pqe_adc_error_compute(inf_est, exact, 1, &e), PQE_ERR_DATA);
}

static void pair_sample_is_seeded_and_balanced(void **state)
{
    (void)state;
    enum { NQ = 7, NB = 50, NP = 30 };
    size_t qa[NP], ba[NP], qb[NP], bb[NP];
    size_t per_query[NQ] = {0};
    const float queries[] = {0, 0, 1, 1};
    const float base[] = {3, 4, 1, 2};
    const size_t qi[] = {0, 1, 1}, bi[] = {0, 0, 2};
    double d2[3];

    assert_int_equal(pqe_sample_pairs(NQ, NB, NP, 99, qa, ba), PQE_OK);
    assert_int_equal(pqe_sample_pairs(NQ, NB, NP, 99, qb, bb), PQE_OK);
    assert_memory_equal(qa, qb, sizeof qa);
    assert_memory_equal(ba, bb, sizeof ba);
    for (size_t p = 0; p < NP; p++) {
        assert_in_range(qa[p], 0, NQ - 1);
        assert_in_range(ba[p], 0, NB - 1);
        per_query[qa[p]]++;
    }
    for (size_t q = 0; q < NQ; q++) /* 30 = 4 * 7 + 2 */
        assert_in_range(per_query[q], 4, 5);
    assert_int_equal(pqe_sample_pairs(NQ, NB, NP, 100, qb, bb), PQE_OK);
    assert_true(memcmp(ba, bb, sizeof ba) != 0);
    assert_int_equal(pqe_sample_pairs(0, NB, NP, 1, qb, bb), PQE_ERR_PARAM);

    /* (0,0)-(3,4): 25; (1,1)-(3,4): 4+9 = 13; (1,1)-(1,2)... index 2 is
     * out of the 2 base rows. */
    assert_int_equal(pqe_pair_sq_distances(queries, 2, base, 2, 2, qi, bi, 2, d2), PQE_OK);
    assert_near(d2[0], 25.0, TOL);
    assert_near(d2[1], 13.0, TOL);
    assert_int_equal(pqe_pair_sq_distances(queries, 2, base, 2, 2, qi, bi, 3, d2), PQE_ERR_PARAM);
}

static void exact_distances_by_metric(void **state)
{
    (void)state;
    const float q[] = {0, 1};
    const float base[] = {3, 5, 0, 2, 0, 0, 2, 0};
    const int64_t ids[] = {0, 1, 2, 3, -1};
    const int64_t bad[] = {4};
    float out[5];

    /* Euclidean non-squared: (3,4) -> 5; (0,1) -> 1; (0,-1) -> 1; (2,-1) -> sqrt 5. */
    assert_int_equal(pqe_exact_distances(PQE_METRIC_EUCLIDEAN, q, base, 4, 2, ids, 1, 5, out),
                     PQE_OK);
    assert_near(out[0], 5.0f, 1e-6);
    assert_near(out[1], 1.0f, 1e-6);
    assert_near(out[2], 1.0f, 1e-6);
    assert_near(out[3], sqrtf(5.0f), 1e-6);
    assert_true(isinf(out[4]) && out[4] > 0);

    /* Angular 1 - cos: (3,5): 1 - 5/sqrt 34; (0,2): 0; zero vector: 1;
     * (2,0): orthogonal, 1. */
    assert_int_equal(pqe_exact_distances(PQE_METRIC_ANGULAR, q, base, 4, 2, ids, 1, 5, out),
                     PQE_OK);
    assert_near(out[0], (float)(1.0 - 5.0 / sqrt(34.0)), 1e-6);
    assert_near(out[1], 0.0f, 1e-6);
    assert_near(out[2], 1.0f, 1e-6);
    assert_near(out[3], 1.0f, 1e-6);
    assert_true(isinf(out[4]) && out[4] > 0);

    /* Dot: 5, 2, 0, 0, and -inf for a missing result. */
    assert_int_equal(pqe_exact_distances(PQE_METRIC_DOT, q, base, 4, 2, ids, 1, 5, out), PQE_OK);
    assert_near(out[0], 5.0f, 1e-6);
    assert_near(out[1], 2.0f, 1e-6);
    assert_near(out[2], 0.0f, 1e-6);
    assert_true(isinf(out[4]) && out[4] < 0);

    assert_int_equal(pqe_exact_distances(PQE_METRIC_EUCLIDEAN, q, base, 4, 2, bad, 1, 1, out),
                     PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "id 4"));
}

static void one_recall_strict_and_tie_aware(void **state)
{
    (void)state;
    /* Three queries, 3 results each; ground truth 2 deep.
     * q0: true NN 7 found at rank 0.
     * q1: true NN 4 found at rank 2.
     * q2: true NN 5 never returned, but id 6 at rank 1 is exactly as near
     *     (ground truth ties 5 and 6 at distance 2.0). */
    const int64_t ids[] = {7, 1, 2, 9, 8, 4, 3, 6, -1};
    const int32_t gt[] = {7, 1, 4, 3, 5, 6};
    const float gt_d[] = {1.0f, 1.5f, 1.0f, 2.0f, 2.0f, 2.0f};
    const float ret_d[] = {1.0f, 1.5f, 3.0f, 1.2f, 1.3f, 1.0f, 2.5f, 2.0f, INFINITY};
    const size_t rs[] = {1, 2, 3};
    double recall[3];
    uint8_t hits[9];
    size_t n_hits[3];
    pqe_recall_ties ties = {true, PQE_METRIC_EUCLIDEAN, ret_d, gt_d, 1e-6};
    const size_t too_big[] = {4};

    assert_int_equal(pqe_recall_at_r(ids, 3, 3, gt, 2, rs, 3, NULL, recall, hits, n_hits), PQE_OK);
    assert_near(recall[0], 1.0 / 3.0, TOL);
    assert_near(recall[1], 1.0 / 3.0, TOL);
    assert_near(recall[2], 2.0 / 3.0, TOL);
    const uint8_t strict_hits[] = {1, 1, 1, 0, 0, 1, 0, 0, 0};
    assert_memory_equal(hits, strict_hits, sizeof hits);
    assert_int_equal(n_hits[2], 2);

    assert_int_equal(pqe_recall_at_r(ids, 3, 3, gt, 2, rs, 3, &ties, recall, hits, NULL), PQE_OK);
    const uint8_t tie_hits[] = {1, 1, 1, 0, 0, 1, 0, 1, 1};
    assert_memory_equal(hits, tie_hits, sizeof hits);
    assert_near(recall[0], 1.0 / 3.0, TOL);
    assert_near(recall[1], 2.0 / 3.0, TOL);
    assert_near(recall[2], 1.0, TOL);

    assert_int_equal(pqe_recall_at_r(ids, 3, 3, gt, 2, too_big, 1, NULL, recall, NULL, NULL),
                     PQE_ERR_PARAM);
    assert_int_equal(pqe_recall_at_r(ids, 3, 3, NULL, 2, rs, 3, NULL, recall, NULL, NULL),
                     PQE_ERR_PARAM);
}

static void k_recall_counts_ties_at_k(void **state)
{
    (void)state;
    /* k = 3.  Query 0: true distances 1, 2, 3 (k-th 3); returned items at
     * 1, 3.0005 (a tie within epsilon, another id) and 3.01 -> 2/3.
     * Query 1: k-th 2; returned 2, 2, +inf (missing) -> 2/3.
     * Query 2: returned items all within -> 3/3.  Mean 7/9. */
    const float gt_d[] = {1, 2, 3, 9, 1, 2, 2, 9, 0.5f, 0.5f, 0.5f, 9};
    const float ret_d[] = {1, 3.0005f, 3.01f, 2, 2, INFINITY, 0.5f, 0.5f, 0.5f};
    float per_query[3];
    double mean;

    assert_int_equal(pqe_k_recall(PQE_METRIC_EUCLIDEAN, ret_d, 3, gt_d, 4, 3, 3,
                                  PQE_KRECALL_EPSILON, &mean, per_query),
                     PQE_OK);
    assert_near(mean, 7.0 / 9.0, 1e-7);
    assert_near(per_query[0], 2.0f / 3.0f, 1e-7);
    assert_near(per_query[1], 2.0f / 3.0f, 1e-7);
    assert_near(per_query[2], 1.0f, 1e-7);

    /* Dot: larger is nearer; k-th true inner product 5, returned 6, 4.9995
     * (tie within epsilon), 4 and -inf -> 2/3 at k = 3. */
    const float gt_ip[] = {7, 6, 5};
    const float ret_ip[] = {6, 4.9995f, 4, -INFINITY};
    assert_int_equal(
        pqe_k_recall(PQE_METRIC_DOT, ret_ip, 4, gt_ip, 3, 1, 3, PQE_KRECALL_EPSILON, &mean, NULL),
        PQE_OK);
    assert_near(mean, 2.0 / 3.0, 1e-12);

    assert_int_equal(pqe_k_recall(PQE_METRIC_DOT, ret_ip, 4, gt_ip, 3, 1, 4, 1e-3, &mean, NULL),
                     PQE_ERR_PARAM);
    assert_int_equal(pqe_k_recall(PQE_METRIC_DOT, ret_ip, 4, NULL, 3, 1, 3, 1e-3, &mean, NULL),
                     PQE_ERR_PARAM);
}

static void intervals_and_spread(void **state)
{
    (void)state;
    double lo, hi, mean;
    pqe_spread s;
    /* Wilson 95% for 8/10 is the textbook (0.4902, 0.9433); 0/10 gives
     * (0, 0.2775) (values from the closed form, rounded). */
    assert_int_equal(pqe_wilson_interval(8, 10, PQE_Z95, &lo, &hi), PQE_OK);
    assert_near(lo, 0.49015684672, 1e-9);
    assert_near(hi, 0.94331905202, 1e-9);
    assert_int_equal(pqe_wilson_interval(0, 10, PQE_Z95, &lo, &hi), PQE_OK);
    assert_near(lo, 0.0, TOL);
    assert_near(hi, 0.27754016877, 1e-9);
    assert_int_equal(pqe_wilson_interval(11, 10, PQE_Z95, &lo, &hi), PQE_ERR_PARAM);

    /* 0, 0.5, 1, 1: mean 0.625, sd sqrt(0.6875/3), half 1.96 * sd / 2. */
    const float v[] = {0.0f, 0.5f, 1.0f, 1.0f};
    assert_int_equal(pqe_mean_interval(v, 4, PQE_Z95, &mean, &lo, &hi), PQE_OK);
    assert_near(mean, 0.625, TOL);
    assert_near(hi - mean, 1.96 * sqrt(0.6875 / 3.0) / 2.0, TOL);
    assert_near(mean - lo, 1.96 * sqrt(0.6875 / 3.0) / 2.0, TOL);

    const double seeds[] = {0.5, 0.7, 0.6};
    assert_int_equal(pqe_spread_compute(seeds, 3, &s), PQE_OK);
    assert_near(s.mean, 0.6, TOL);
    assert_near(s.sd, 0.1, TOL);
    assert_near(s.min, 0.5, TOL);
    assert_near(s.max, 0.7, TOL);
    assert_int_equal(pqe_spread_compute(seeds, 1, &s), PQE_OK);
    assert_true(isnan(s.sd));
    assert_int_equal(pqe_spread_compute(seeds, 0, &s), PQE_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distortion_by_hand),
        cmocka_unit_test(distortion_rejects_bad_input),
        cmocka_unit_test(distortion_subspaces_sum_and_batches_agree),
        cmocka_unit_test(adc_error_by_hand),
        cmocka_unit_test(pair_sample_is_seeded_and_balanced),
        cmocka_unit_test(exact_distances_by_metric),
        cmocka_unit_test(one_recall_strict_and_tie_aware),
        cmocka_unit_test(k_recall_counts_ties_at_k),
        cmocka_unit_test(intervals_and_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
