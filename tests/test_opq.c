/* test_opq.c - the OPQ rotations (src/opq.c): the eigenvalue allocation by
 * hand, the parametric rotation on a covariance with known eigenvalues,
 * orthogonality, and on real data (Fashion-MNIST) that both kinds of OPQ
 * quantize with lower distortion than PQ and that OPQ_NP started from the
 * identity is never worse on its training data than PQ with the same seed.
 *
 * Depends on: opq.h, pq.h, quantizer.h, tests/support/pq_testdata.h;
 * LAPACKE for a random orthogonal matrix; cmocka.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/opq.h"
#include "pqeval/quantizer.h"
#include "pqeval/rng.h"
#include "support/pq_testdata.h"

/* Largest |R R^T - I| entry. */
static double orthogonality_error(const float *r, size_t d)
{
    double worst = 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < d; j++) {
            double dot = 0;
            for (size_t k = 0; k < d; k++)
                dot += (double)r[i * d + k] * r[j * d + k];
            worst = fmax(worst, fabs(dot - (i == j ? 1.0 : 0.0)));
        }
    }
    return worst;
}

/* Eigenvalues 8..1 into 2 buckets, worked by hand: 8 -> b0, 7 -> b1 (empty
 * first), 6 -> b1 (7 < 8), 5 -> b0 (8 < 42), 4 -> b0 (40 < 42), 3 -> b1
 * (42 < 160), 2 -> b1 (126 < 160), b1 is full, 1 -> b0.  Products 160 and
 * 252.  Scaling every eigenvalue by 1e-3 must not change it. */
static void eigen_allocation_by_hand(void **state)
{
    (void)state;
    const double values[8] = {3, 8, 1, 6, 4, 7, 2, 5}; /* shuffled: value v at some index */
    size_t order[8];
    double scaled[8];
    size_t order_scaled[8];
    const double expect_b0[4] = {8, 5, 4, 1}, expect_b1[4] = {7, 6, 3, 2};

    assert_int_equal(pqe_opq_eigen_allocation(values, 8, 2, order), PQE_OK);
    for (size_t i = 0; i < 4; i++) {
        assert_true(values[order[i]] == expect_b0[i]);
        assert_true(values[order[4 + i]] == expect_b1[i]);
    }
    for (size_t i = 0; i < 8; i++)
        scaled[i] = values[i] * 1e-3;
    assert_int_equal(pqe_opq_eigen_allocation(scaled, 8, 2, order_scaled), PQE_OK);
    assert_memory_equal(order, order_scaled, sizeof order);

    /* 3 does not divide 8. */
    assert_int_equal(pqe_opq_eigen_allocation(values, 8, 3, order), PQE_ERR_PARAM);
}

/* A random orthogonal matrix (d x d, row-major) from the QR of a Gaussian
 * matrix. */
static void random_orthogonal(size_t d, uint64_t seed, double *q)
{
    pqe_rng rng;
    double *tau = malloc(d * sizeof *tau);
    assert_non_null(tau);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < d * d; i++) {
        double u1 = pqe_rng_uniform(&rng), u2 = pqe_rng_uniform(&rng);
        q[i] = sqrt(-2 * log(1 - u1)) * cos(6.283185307179586 * u2);
    }
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (int)d, (int)d, q, (int)d, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (int)d, (int)d, (int)d, q, (int)d, tau), 0);
    free(tau);
}

/* cov = Q diag(lambda) Q^T with known lambda: the rotation's rows are the
 * columns of Q (up to sign), R cov R^T is diag of the reported eigenvalues,
 * each bucket gets one of the M largest, and the products are more balanced
 * than with plain PCA order. */
static void parametric_on_known_covariance(void **state)
{
    (void)state;
    enum { D = 16, M = 4, DSUB = D / M };
    double q[D * D], cov[D * D], lambda[D], row_eig[D];
    float rot[D * D];
    double logp[M] = {0}, logp_pca[M] = {0};
    double sorted[D];

    for (size_t i = 0; i < D; i++)
        lambda[i] = pow(1.7, (double)((i * 7) % D)); /* distinct, spread over 1.7^0..1.7^15 */
    random_orthogonal(D, 99, q);
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double s = 0;
            for (size_t k = 0; k < D; k++)
                s += q[i * D + k] * lambda[k] * q[j * D + k];
            cov[i * D + j] = s;
        }

    assert_int_equal(pqe_opq_rotation_from_covariance(cov, D, M, rot, row_eig), PQE_OK);
    assert_true(orthogonality_error(rot, D) < 1e-5);

    /* Each row is +-a column of Q, with that column's eigenvalue. */
    for (size_t r = 0; r < D; r++) {
        size_t k;
        for (k = 0; k < D; k++)
            if (fabs(row_eig[r] - lambda[k]) < 1e-6 * lambda[k])
                break;
        assert_true(k < D);
        double dot = 0;
        for (size_t i = 0; i < D; i++)
            dot += rot[r * D + i] * q[i * D + k];
        assert_true(fabs(fabs(dot) - 1.0) < 1e-5);
    }

    /* R cov R^T = diag(row_eig). */
    for (size_t a = 0; a < D; a++)
        for (size_t b = 0; b < D; b++) {
            double s = 0;
            for (size_t i = 0; i < D; i++)
                for (size_t j = 0; j < D; j++)
                    s += rot[a * D + i] * cov[i * D + j] * rot[b * D + j];
            assert_true(fabs(s - (a == b ? row_eig[a] : 0.0)) < 1e-4 * lambda[0] + 1e-3);
        }

    /* Balance: one of the M largest per bucket, and a smaller spread of
     * log-products than PCA order (top D/M eigenvalues in bucket 0...). */
    memcpy(sorted, lambda, sizeof sorted);
    for (size_t i = 0; i < D; i++)
        for (size_t j = i + 1; j < D; j++)
            if (sorted[j] > sorted[i]) {
                double t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
    for (size_t b = 0; b < M; b++) {
        int top = 0;
        for (size_t i = 0; i < DSUB; i++) {
            logp[b] += log(row_eig[b * DSUB + i]);
            logp_pca[b] += log(sorted[b * DSUB + i]);
            top += row_eig[b * DSUB + i] >= sorted[M - 1] * (1 - 1e-9);
        }
        assert_int_equal(top, 1);
    }
    double spread = 0, spread_pca = 0;
    for (size_t a = 0; a < M; a++)
        for (size_t b = 0; b < M; b++) {
            spread = fmax(spread, fabs(logp[a] - logp[b]));
            spread_pca = fmax(spread_pca, fabs(logp_pca[a] - logp_pca[b]));
        }
    /* Greedy allocation of 1.7^0..1.7^15 into 4 buckets of 4: the exponent
     * sums are 30,30,30,30 (15+8+7+0 ...) or nearly; PCA order gives
     * 54,38,22,6. */
    assert_true(spread < 0.2 * spread_pca);
    assert_true(spread <= 2 * log(1.7) + 1e-9);
}

/* Fashion-MNIST: the first n_train images for training, the next n_test
 * held out. */
typedef struct fmnist {
    float *x;
    size_t n_train, n_test, dim;
} fmnist;

static fmnist fm;

static int load_fashion(void **state)
{
    (void)state;
    size_t n;
    fm.n_train = pqt_sanitized() ? 3000 : 10000;
    fm.n_test = pqt_sanitized() ? 500 : 2000;
    fm.x = pqt_read_idx_images_gz(PQT_FASHION_TRAIN, 0, fm.n_train + fm.n_test, &n, &fm.dim);
    if (!fm.x || n != fm.n_train + fm.n_test) {
        fprintf(stderr, "cannot read %s\n", PQT_FASHION_TRAIN);
        return -1;
    }
    return 0;
}

static int free_fashion(void **state)
{
    (void)state;
    free(fm.x);
    return 0;
}

/* Mean squared reconstruction error of n vectors through the interface. */
static double distortion(const pqe_quantizer *q, const float *x, size_t n, size_t dim)
{
    float *xhat = malloc(n * dim * sizeof *xhat);
    double total = 0;
    assert_non_null(xhat);
    assert_int_equal(pqe_quantizer_reconstruct(q, x, n, xhat), PQE_OK);
    for (size_t i = 0; i < n * dim; i++) {
        double diff = (double)x[i] - xhat[i];
        total += diff * diff;
    }
    free(xhat);
    return total / (double)n;
}

static pqe_quantizer_config fashion_config(size_t m, pqe_rotation rotation)
{
    pqe_quantizer_config c = pqe_quantizer_config_default(fm.dim, m, 8);
    c.rotation = rotation;
    c.kmeans_iters = 10;
    c.opq_outer_iters = pqt_sanitized() ? 3 : 8;
    c.opq_inner_iters = 4;
    c.seed = 7;
    return c;
}

static void train_and_measure(size_t m, pqe_rotation rotation, double *train_mse, double *test_mse)
{
    pqe_quantizer_config c = fashion_config(m, rotation);
    pqe_quantizer *q = NULL;

    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_OK);
    if (pqe_quantizer_train(q, fm.x, fm.n_train) != PQE_OK)
        fail_msg("training %s: %s", pqe_quantizer_name(q), pqe_last_error());
    *train_mse = distortion(q, fm.x, fm.n_train, fm.dim);
    *test_mse = distortion(q, fm.x + fm.n_train * fm.dim, fm.n_test, fm.dim);
    fprintf(stderr, "  %-10s train mse %10.1f  held-out mse %10.1f\n", pqe_quantizer_name(q),
            *train_mse, *test_mse);
    pqe_quantizer_free(q);
}

/* The paper's central claim on real data, at M = 8 and 16, 8 bits. */
static void opq_beats_pq_on_fashion(void **state)
{
    (void)state;
    const size_t ms[2] = {8, 16};
    for (size_t i = 0; i < 2; i++) {
        double pq_tr, pq_te, p_tr, p_te, np_tr, np_te;
        train_and_measure(ms[i], PQE_ROTATION_NONE, &pq_tr, &pq_te);
        train_and_measure(ms[i], PQE_ROTATION_OPQ_PARAMETRIC, &p_tr, &p_te);
        train_and_measure(ms[i], PQE_ROTATION_OPQ_NONPARAMETRIC, &np_tr, &np_te);
        assert_true(p_tr < pq_tr);
        assert_true(p_te < pq_te);
        assert_true(np_tr < pq_tr);
        assert_true(np_te < pq_te);
        /* Started from OPQ_P and never worse on training data than its start. */
        assert_true(np_tr <= p_tr * (1 + 1e-6));
    }
}

/* OPQ_NP from the identity: its iterate 0 is plain PQ with the same seed,
 * every later iterate is kept only if better, so its training distortion
 * is at most PQ's (exactly, not up to a tolerance). */
static void opq_np_identity_never_worse_than_pq(void **state)
{
    (void)state;
    pqe_quantizer_config c = fashion_config(8, PQE_ROTATION_NONE);
    pqe_quantizer *pq = NULL;
    pqe_opq_params p;
    pqe_opq_trace trace;
    pqe_pq *opq_pq = NULL;
    float *rot = malloc(fm.dim * fm.dim * sizeof *rot);
    double pq_mse;

    assert_non_null(rot);
    c.n_sub = 8;
    assert_int_equal(pqe_quantizer_new(&c, &pq), PQE_OK);
    assert_int_equal(pqe_quantizer_train(pq, fm.x, fm.n_train), PQE_OK);
    pq_mse = distortion(pq, fm.x, fm.n_train, fm.dim);

    p.pq = pqe_pq_params_default(fm.dim, 8, 8);
    p.pq.kmeans.n_iters = c.kmeans_iters;
    p.pq.kmeans.seed = c.seed;
    p.pq.kmeans.max_points_per_centroid = c.max_points_per_centroid;
    p.start = PQE_OPQ_START_IDENTITY;
    p.outer_iters = pqt_sanitized() ? 2 : 4;
    p.inner_iters = 4;
    assert_int_equal(pqe_opq_nonparametric(&p, fm.x, fm.n_train, rot, &opq_pq, &trace), PQE_OK);
    assert_true(orthogonality_error(rot, fm.dim) < 1e-4);

    /* Iterate 0 is plain PQ, measured the same way. */
    assert_true(trace.distortion[0] == pq_mse);
    for (unsigned i = 0; i <= trace.n_iters; i++) {
        fprintf(stderr, "  OPQ-NP identity start, iterate %u: %.1f\n", i, trace.distortion[i]);
        assert_true(trace.distortion[trace.best_iter] <= trace.distortion[i]);
    }
    assert_true(trace.distortion[trace.best_iter] <= pq_mse);
    /* The alternation does improve on PQ here. */
    assert_true(trace.distortion[trace.best_iter] < pq_mse);

    /* Same through the interface. */
    pqe_quantizer *np = NULL;
    c.rotation = PQE_ROTATION_OPQ_NONPARAMETRIC;
    c.opq_start = PQE_OPQ_START_IDENTITY;
    c.opq_outer_iters = p.outer_iters;
    assert_int_equal(pqe_quantizer_new(&c, &np), PQE_OK);
    assert_int_equal(pqe_quantizer_train(np, fm.x, fm.n_train), PQE_OK);
    assert_true(distortion(np, fm.x, fm.n_train, fm.dim) <= pq_mse);
    assert_float_equal(distortion(np, fm.x, fm.n_train, fm.dim), trace.distortion[trace.best_iter],
                       1e-3 * pq_mse);

    /* With zero outer iterations it IS plain PQ. */
    pqe_quantizer *np0 = NULL;
    c.opq_outer_iters = 0;
    assert_int_equal(pqe_quantizer_new(&c, &np0), PQE_OK);
    assert_int_equal(pqe_quantizer_train(np0, fm.x, fm.n_train), PQE_OK);
    assert_true(distortion(np0, fm.x, fm.n_train, fm.dim) == pq_mse);

    pqe_quantizer_free(np0);
    pqe_quantizer_free(np);
    pqe_quantizer_free(pq);
    pqe_pq_free(opq_pq);
    pqe_opq_trace_clear(&trace);
    free(rot);
}

/* OPQ_P on real data: R is orthogonal. */
static void parametric_rotation_is_orthogonal(void **state)
{
    (void)state;
    float *rot = malloc(fm.dim * fm.dim * sizeof *rot);
    assert_non_null(rot);
    assert_int_equal(pqe_opq_parametric(fm.x, fm.n_train, fm.dim, 16, rot), PQE_OK);
    assert_true(orthogonality_error(rot, fm.dim) < 1e-4);
    /* 5 does not divide 784. */
    assert_int_equal(pqe_opq_parametric(fm.x, fm.n_train, fm.dim, 5, rot), PQE_ERR_PARAM);
    free(rot);
}

/* Rotation and its inverse round-trip. */
static void rotate_unrotate_round_trip(void **state)
{
    (void)state;
    enum { D = 8, N = 5 };
    double q[D * D];
    float r[D * D], x[N * D], y[N * D], back[N * D];

    random_orthogonal(D, 5, q);
    for (size_t i = 0; i < D * D; i++)
        r[i] = (float)q[i];
    for (size_t i = 0; i < N * D; i++)
        x[i] = (float)((i * 37) % 11) - 5.0f;
    assert_int_equal(pqe_opq_rotate(r, D, x, N, y), PQE_OK);
    assert_int_equal(pqe_opq_unrotate(r, D, y, N, back), PQE_OK);
    for (size_t i = 0; i < N * D; i++)
        assert_float_equal(back[i], x[i], 1e-5);
    /* y = R x row by row. */
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < D; a++) {
            double s = 0;
            for (size_t b = 0; b < D; b++)
                s += q[a * D + b] * x[i * D + b];
            assert_float_equal(y[i * D + a], s, 1e-5);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eigen_allocation_by_hand),
        cmocka_unit_test(parametric_on_known_covariance),
        cmocka_unit_test(rotate_unrotate_round_trip),
        cmocka_unit_test(parametric_rotation_is_orthogonal),
        cmocka_unit_test(opq_np_identity_never_worse_than_pq),
        cmocka_unit_test(opq_beats_pq_on_fashion),
    };
    return cmocka_run_group_tests(tests, load_fashion, free_fashion);
}
