/* test_determinism.c - with the same seed and the same thread count, two
 * runs give identical codes and identical metrics: the promise that makes
 * 'pqeval check' against a baseline meaningful.
 *
 * Two levels: a quantizer (PQ, OPQ-P, OPQ-NP) trained twice encodes and
 * searches bit for bit the same; a whole sweep run twice on a small
 * synthetic dataset gives the same measures and per-query hits, and
 * 'check' then finds nothing (every paired p-value is 1).  Timings are
 * the only fields allowed to differ. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/check.h"
#include "pqeval/groundtruth.h"
#include "pqeval/quantizer.h"
#include "pqeval/rng.h"
#include "pqeval/sweep.h"

enum { DIM = 32, N_THREADS = 2 };

static int sanitized(void)
{
    const char *s = getenv("PQEVAL_SANITIZED");
    return s && *s && strcmp(s, "0") != 0;
}

/* n clustered vectors: 20 centres, Gaussian-ish noise (sum of uniforms). */
static float *make_data(size_t n, uint64_t seed)
{
    pqe_rng rng;
    float centres[20][DIM];
    float *x = malloc(n * DIM * sizeof *x);

    assert_non_null(x);
    pqe_rng_seed(&rng, seed);
    for (size_t c = 0; c < 20; c++) {
        for (size_t d = 0; d < DIM; d++)
            centres[c][d] = (float)(10.0 * pqe_rng_uniform(&rng));
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)pqe_rng_below(&rng, 20);
        for (size_t d = 0; d < DIM; d++) {
            double noise = pqe_rng_uniform(&rng) + pqe_rng_uniform(&rng) - 1.0;
            x[i * DIM + d] = centres[c][d] + (float)noise;
        }
    }
    return x;
}

/* Trains one quantizer and returns its codes of x and its ADC top-10 of
 * the queries. */
static void train_encode(const pqe_quantizer_config *c, const float *x, size_t n, const float *q,
                         size_t nq, uint8_t **codes, int64_t *ids, float *dist)
{
    pqe_quantizer *pq = NULL;
    size_t bytes;

    assert_int_equal(pqe_quantizer_new(c, &pq), PQE_OK);
    assert_int_equal(pqe_quantizer_train(pq, x, n), PQE_OK);
    assert_int_equal(pqe_quantizer_add(pq, x, n), PQE_OK);
    bytes = pqe_quantizer_code_bytes(pq);
    *codes = malloc(n * bytes);
    assert_non_null(*codes);
    assert_int_equal(pqe_quantizer_encode(pq, x, n, *codes), PQE_OK);
    assert_int_equal(pqe_quantizer_search(pq, PQE_SEARCH_ADC, q, nq, 10, ids, dist), PQE_OK);
    pqe_quantizer_free(pq);
}

static void quantizer_codes_identical(void **state)
{
    const pqe_rotation rotations[] = {PQE_ROTATION_NONE, PQE_ROTATION_OPQ_PARAMETRIC,
                                      PQE_ROTATION_OPQ_NONPARAMETRIC};
    size_t n = sanitized() ? 1200 : 2000, nq = 50;
    float *x = make_data(n, 11), *q = make_data(nq, 12);
    (void)state;

    for (size_t r = 0; r < 3; r++) {
        pqe_quantizer_config c = pqe_quantizer_config_default(DIM, 8, 6);
        uint8_t *codes_a = NULL, *codes_b = NULL;
        int64_t ids_a[50 * 10], ids_b[50 * 10];
        float dist_a[50 * 10], dist_b[50 * 10];

        c.rotation = rotations[r];
        c.seed = 42;
        c.n_threads = N_THREADS;
        c.kmeans_iters = 8;
        c.opq_outer_iters = 3;
        train_encode(&c, x, n, q, nq, &codes_a, ids_a, dist_a);
        train_encode(&c, x, n, q, nq, &codes_b, ids_b, dist_b);
        assert_memory_equal(codes_a, codes_b, n * 8);
        assert_memory_equal(ids_a, ids_b, sizeof ids_a);
        assert_memory_equal(dist_a, dist_b, sizeof dist_a);
        free(codes_a);
        free(codes_b);
    }
    free(x);
    free(q);
}

/* A small dataset with exact ground truth, owned by the returned struct. */
static pqe_dataset *make_dataset(size_t n_base, size_t nq)
{
    pqe_dataset *ds = pqe_dataset_new();
    size_t k = 100;

    assert_non_null(ds);
    ds->name = strdup("synthetic");
    ds->metric = PQE_METRIC_EUCLIDEAN;
    ds->dim = DIM;
    ds->train = make_data(n_base, 21);
    ds->n_train = n_base;
    ds->test = make_data(nq, 22);
    ds->n_test = nq;
    ds->gt_k = k;
    ds->neighbors = malloc(nq * k * sizeof *ds->neighbors);
    ds->distances = malloc(nq * k * sizeof *ds->distances);
    assert_non_null(ds->neighbors);
    assert_non_null(ds->distances);
    assert_int_equal(pqe_groundtruth(ds->train, n_base, ds->test, nq, DIM, ds->metric, k, N_THREADS,
                                     ds->neighbors, ds->distances),
                     PQE_OK);
    strcpy(ds->checksum, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    return ds;
}

static void same_double(double a, double b, const char *what)
{
    if (!((isnan(a) && isnan(b)) || a == b)) {
        print_error("%s: %.17g != %.17g\n", what, a, b);
        fail();
    }
}

static void assert_same_metrics(const pqe_setting_result *a, const pqe_setting_result *b)
{
    assert_string_equal(a->setting.key, b->setting.key);
    same_double(a->code_bits, b->code_bits, "code_bits");
    same_double(a->mse_base, b->mse_base, "mse_base");
    same_double(a->rel_mse_base, b->rel_mse_base, "rel_mse_base");
    same_double(a->mse_train, b->mse_train, "mse_train");
    same_double(a->mse_heldout, b->mse_heldout, "mse_heldout");
    assert_int_equal(a->n_sub, b->n_sub);
    for (size_t m = 0; m < a->n_sub && a->mse_sub && b->mse_sub; m++)
        same_double(a->mse_sub[m], b->mse_sub[m], "mse_sub");
    same_double(a->adc_err_mean, b->adc_err_mean, "adc_err_mean");
    same_double(a->adc_err_sd, b->adc_err_sd, "adc_err_sd");
    same_double(a->adc_err_rel_mean, b->adc_err_rel_mean, "adc_err_rel_mean");
    assert_int_equal(a->n_r, b->n_r);
    for (size_t j = 0; j < a->n_r; j++) {
        same_double(a->recall_adc[j], b->recall_adc[j], "recall_adc");
        same_double(a->recall_sdc[j], b->recall_sdc[j], "recall_sdc");
    }
    same_double(a->krecall_adc, b->krecall_adc, "krecall_adc");
    same_double(a->krecall_sdc, b->krecall_sdc, "krecall_sdc");
    assert_non_null(a->hits_adc);
    assert_non_null(b->hits_adc);
    assert_memory_equal(a->hits_adc, b->hits_adc, a->n_queries * a->n_r);
    assert_true((a->hits_sdc == NULL) == (b->hits_sdc == NULL));
    if (a->hits_sdc)
        assert_memory_equal(a->hits_sdc, b->hits_sdc, a->n_queries * a->n_r);
    if (a->khits_adc && b->khits_adc)
        assert_memory_equal(a->khits_adc, b->khits_adc, a->n_queries * sizeof *a->khits_adc);
}

static void sweep_metrics_identical(void **state)
{
    size_t n_base = sanitized() ? 1000 : 2000, nq = 60;
    pqe_dataset *ds = make_dataset(n_base, nq);
    pqe_sweep_grid grid = pqe_sweep_grid_default();
    pqe_sweep_options opts = pqe_sweep_options_default();
    pqe_setting *settings = NULL;
    size_t n_settings = 0;
    pqe_sweep_result *a = NULL, *b = NULL;
    pqe_check_report *rep = NULL;
    (void)state;

    grid.methods[0] = PQE_ROTATION_NONE;
    grid.methods[1] = PQE_ROTATION_OPQ_NONPARAMETRIC;
    grid.n_methods = 2;
    grid.n_sub[0] = 4;
    grid.n_sub[1] = 8;
    grid.n_n_sub = 2;
    grid.nbits[0] = 6;
    grid.n_nbits = 1;
    grid.seeds[0] = 7;
    grid.n_seeds = 1;
    grid.kmeans_iters[0] = 8;
    grid.n_kmeans_iters = 1;
    grid.base.opq_outer_iters = 3;
    grid.base.n_threads = N_THREADS;
    assert_int_equal(pqe_sweep_expand(&grid, DIM, ds->metric, &settings, &n_settings), PQE_OK);
    assert_int_equal(n_settings, 4);

    opts.n_threads = N_THREADS;
    opts.train_on_base = true;
    opts.n_heldout = 200;
    opts.adc_pairs = 500;
    assert_int_equal(pqe_sweep_run(ds, settings, n_settings, &opts, &a), PQE_OK);
    assert_int_equal(pqe_sweep_run(ds, settings, n_settings, &opts, &b), PQE_OK);
    assert_int_equal(a->n_results, b->n_results);
    for (size_t i = 0; i < a->n_results; i++)
        assert_same_metrics(&a->results[i], &b->results[i]);

    /* and the gate agrees: nothing changed, every paired p-value is 1 */
    assert_int_equal(pqe_check_compare(b, a, NULL, &rep), PQE_OK);
    assert_true(rep->passed);
    assert_int_equal(rep->n_noise, 0);
    for (size_t r = 0; r < rep->n_rows; r++) {
        if (!strcmp(rep->rows[r].test, "mcnemar-exact")) {
            assert_int_equal(rep->rows[r].lost + rep->rows[r].gained, 0);
            assert_true(rep->rows[r].p_value == 1.0);
        }
    }

    pqe_check_report_free(rep);
    pqe_sweep_result_free(a);
    pqe_sweep_result_free(b);
    for (size_t i = 0; i < n_settings; i++)
        pqe_setting_clear(&settings[i]);
    free(settings);
    pqe_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantizer_codes_identical),
        cmocka_unit_test(sweep_metrics_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
