/* test_faiss_codec.c - FAISS index_factory strings behind the pqe_quantizer
 * interface: the same distortion and search results as FAISS's C API used
 * directly, the fallback for indexes without a standalone codec, search
 * parameters after "|", FAISS's own messages on errors, SDC refused.
 *
 * Depends on: quantizer.h, rng.h, the FAISS C API; cmocka.
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

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>

#include "pqeval/quantizer.h"
#include "pqeval/rng.h"

enum { DIM = 32, N_TRAIN = 10000, N_BASE = 2000, N_QUERY = 40, K = 5 };

static float *train_x, *base_x, *query_x;

static float *make_data(size_t n, uint64_t seed)
{
    pqe_rng rng;
    float *x = malloc(n * DIM * sizeof *x);
    assert_non_null(x);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        double common = pqe_rng_uniform(&rng) * 4.0;
        for (size_t j = 0; j < DIM; j++)
            x[i * DIM + j] = (float)(common * (j % 3) + pqe_rng_uniform(&rng) * 8.0 / (1 + j));
    }
    return x;
}

static int setup(void **state)
{
    (void)state;
    train_x = make_data(N_TRAIN, 21);
    base_x = make_data(N_BASE, 22);
    query_x = make_data(N_QUERY, 23);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(train_x);
    free(base_x);
    free(query_x);
    return 0;
}

static double mse(const float *a, const float *b, size_t n)
{
    double t = 0;
    for (size_t i = 0; i < n * DIM; i++)
        t += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return t / (double)n;
}

/* PQ8 through the interface = PQ8 through the C API directly.  "np": no
 * polysemous training (FAISS's factory turns it on for "PQ8", and it takes
 * minutes; it only permutes the centroids). */
static void pq8_same_as_direct(void **state)
{
    (void)state;
    pqe_quantizer *q = NULL;
    FaissIndex *index = NULL;
    size_t code_size = 0;
    uint8_t *codes_q = malloc(N_BASE * 8), *codes_f = malloc(N_BASE * 8);
    float *rec_q = malloc(N_BASE * DIM * sizeof(float));
    float *rec_f = malloc(N_BASE * DIM * sizeof(float));
    int64_t ids_q[N_QUERY * K];
    idx_t ids_f[N_QUERY * K];
    float dist_q[N_QUERY * K], dist_f[N_QUERY * K];

    assert_true(codes_q && codes_f && rec_q && rec_f);
    assert_int_equal(pqe_quantizer_new_faiss("PQ8np", DIM, PQE_METRIC_EUCLIDEAN, 0, &q), PQE_OK);
    assert_string_equal(pqe_quantizer_name(q), "faiss:PQ8np");
    assert_int_equal(pqe_quantizer_train(q, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_code_bytes(q), 8);
    assert_true(pqe_quantizer_code_bits(q) == 64.0);
    assert_int_equal(pqe_quantizer_n_sub(q), 0);

    assert_int_equal(faiss_index_factory(&index, DIM, "PQ8np", METRIC_L2), 0);
    assert_int_equal(faiss_Index_train(index, N_TRAIN, train_x), 0);
    /* FAISS 1.7.3's C API checks for a codec here but does not write the
     * size (a bug), so only the status is compared. */
    assert_int_equal(faiss_Index_sa_code_size(index, &code_size), 0);
    assert_int_equal(faiss_Index_sa_encode(index, N_BASE, base_x, codes_f), 0);
    assert_int_equal(faiss_Index_sa_decode(index, N_BASE, codes_f, rec_f), 0);

    assert_int_equal(pqe_quantizer_encode(q, base_x, N_BASE, codes_q), PQE_OK);
    assert_memory_equal(codes_q, codes_f, N_BASE * 8);
    assert_int_equal(pqe_quantizer_reconstruct(q, base_x, N_BASE, rec_q), PQE_OK);
    double e_q = mse(base_x, rec_q, N_BASE), e_f = mse(base_x, rec_f, N_BASE);
    fprintf(stderr, "  faiss:PQ8 mse %.5f, direct %.5f\n", e_q, e_f);
    assert_true(e_q == e_f);
    assert_true(e_q > 0);

    /* Recall path: the same search results as FAISS directly. */
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(faiss_Index_add(index, N_BASE, base_x), 0);
    assert_true(pqe_quantizer_supports(q, PQE_SEARCH_ADC));
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, K, ids_q, dist_q),
                     PQE_OK);
    assert_int_equal(faiss_Index_search(index, N_QUERY, query_x, K, dist_f, ids_f), 0);
    for (size_t i = 0; i < N_QUERY * K; i++) {
        assert_int_equal(ids_q[i], ids_f[i]);
        assert_true(dist_q[i] == dist_f[i]);
    }
    /* The estimate is ||q - x^||^2 for the decoded base vector. */
    float *base_rec = malloc(N_BASE * DIM * sizeof(float));
    assert_non_null(base_rec);
    assert_int_equal(pqe_quantizer_reconstruct(q, base_x, N_BASE, base_rec), PQE_OK);
    double s = 0;
    for (size_t j = 0; j < DIM; j++) {
        double diff = (double)query_x[j] - base_rec[(size_t)ids_q[0] * DIM + j];
        s += diff * diff;
    }
    assert_float_equal(dist_q[0], s, 1e-3 * s + 1e-4);

    /* SDC is refused. */
    assert_false(pqe_quantizer_supports(q, PQE_SEARCH_SDC));
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_SDC, query_x, N_QUERY, K, ids_q, dist_q),
                     PQE_ERR_UNSUPPORTED);
    assert_non_null(strstr(pqe_last_error(), "sdc"));
    assert_int_equal(pqe_quantizer_subspace_error(q, base_x, 1, (double[1]){0}),
                     PQE_ERR_UNSUPPORTED);

    free(base_rec);
    free(codes_q);
    free(codes_f);
    free(rec_q);
    free(rec_f);
    faiss_Index_free(index);
    pqe_quantizer_free(q);
}

/* Fast-scan has no standalone codec in FAISS 1.7.3: encode/decode are
 * refused with FAISS's words; reconstruct still works (through a clone);
 * code bits come from the factory string. */
static void fast_scan_falls_back(void **state)
{
    (void)state;
    pqe_quantizer *q = NULL, *plain = NULL;
    float *rec = malloc(N_BASE * DIM * sizeof(float));
    uint8_t codes[16];

    assert_non_null(rec);
    assert_int_equal(pqe_quantizer_new_faiss("PQ8x4fs", DIM, PQE_METRIC_EUCLIDEAN, 0, &q), PQE_OK);
    assert_int_equal(pqe_quantizer_train(q, train_x, N_TRAIN), PQE_OK);
    assert_true(pqe_quantizer_code_bits(q) == 32.0);
    assert_int_equal(pqe_quantizer_code_bytes(q), 0);
    assert_int_equal(pqe_quantizer_encode(q, base_x, 1, codes), PQE_ERR_UNSUPPORTED);
    assert_non_null(strstr(pqe_last_error(), "standalone"));
    assert_int_equal(pqe_quantizer_decode(q, codes, 1, rec), PQE_ERR_UNSUPPORTED);
    assert_int_equal(pqe_quantizer_reconstruct(q, base_x, N_BASE, rec), PQE_OK);
    double e_fs = mse(base_x, rec, N_BASE);

    /* Same codebooks as the plain 4-bit PQ (same training, same seed). */
    assert_int_equal(pqe_quantizer_new_faiss("PQ8x4np", DIM, PQE_METRIC_EUCLIDEAN, 0, &plain),
                     PQE_OK);
    assert_int_equal(pqe_quantizer_train(plain, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_code_bytes(plain), 4);
    assert_int_equal(pqe_quantizer_reconstruct(plain, base_x, N_BASE, rec), PQE_OK);
    double e_plain = mse(base_x, rec, N_BASE);
    fprintf(stderr, "  PQ8x4fs mse %.5f, PQ8x4 %.5f\n", e_fs, e_plain);
    assert_float_equal(e_fs, e_plain, 1e-4 * e_plain);

    /* Search works after add, and adding did not disturb reconstruct. */
    int64_t ids[N_QUERY * K];
    float dist[N_QUERY * K];
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, K, ids, dist),
                     PQE_OK);
    for (size_t i = 0; i < N_QUERY * K; i++)
        assert_true(ids[i] >= 0 && ids[i] < N_BASE);
    assert_int_equal(pqe_quantizer_reconstruct(q, base_x, 10, rec), PQE_OK);

    free(rec);
    pqe_quantizer_free(plain);
    pqe_quantizer_free(q);
}

/* A factory string FAISS cannot parse: PQE_ERR_FAISS with FAISS's message;
 * a bad search parameter likewise. */
static void bad_factory_string(void **state)
{
    (void)state;
    pqe_quantizer *q = NULL;

    assert_int_equal(pqe_quantizer_new_faiss("NoSuchIndex123", DIM, PQE_METRIC_EUCLIDEAN, 0, &q),
                     PQE_ERR_FAISS);
    assert_null(q);
    fprintf(stderr, "  message: %s\n", pqe_last_error());
    assert_non_null(strstr(pqe_last_error(), "NoSuchIndex123"));
    /* FAISS's own words follow ours. */
    assert_non_null(strstr(pqe_last_error(), "failed: "));
    assert_true(strlen(strstr(pqe_last_error(), "failed: ")) > strlen("failed: ") + 5);

    assert_int_equal(
        pqe_quantizer_new_faiss("PQ8np|nosuchparam=3", DIM, PQE_METRIC_EUCLIDEAN, 0, &q),
        PQE_ERR_FAISS);
    assert_non_null(strstr(pqe_last_error(), "nosuchparam"));
    assert_int_equal(pqe_quantizer_new_faiss("PQ5", DIM, PQE_METRIC_EUCLIDEAN, 0, &q),
                     PQE_ERR_FAISS); /* 5 does not divide 32 */
}

/* IVF with nprobe set through "|": nprobe = all lists gives the same
 * results as the flat PQ residual search would at full probing, i.e. more
 * than nprobe = 1; and codes include the list number. */
static void ivf_with_nprobe(void **state)
{
    (void)state;
    pqe_quantizer *one = NULL, *all = NULL;
    int64_t ids1[N_QUERY * K], ids16[N_QUERY * K];
    float d1[N_QUERY * K], d16[N_QUERY * K];
    size_t padded = 0;

    assert_int_equal(pqe_quantizer_new_faiss("IVF16,PQ8x4np", DIM, PQE_METRIC_EUCLIDEAN, 0, &one),
                     PQE_OK);
    assert_int_equal(
        pqe_quantizer_new_faiss("IVF16,PQ8x4np|nprobe=16", DIM, PQE_METRIC_EUCLIDEAN, 0, &all),
        PQE_OK);
    assert_string_equal(pqe_quantizer_name(all), "faiss:IVF16,PQ8x4np|nprobe=16");
    assert_int_equal(pqe_quantizer_train(one, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_train(all, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_code_bytes(all), 5); /* list number + 4 */
    assert_true(pqe_quantizer_code_bits(all) == 40.0);
    assert_int_equal(pqe_quantizer_add(one, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_add(all, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_search(one, PQE_SEARCH_ADC, query_x, N_QUERY, K, ids1, d1),
                     PQE_OK);
    assert_int_equal(pqe_quantizer_search(all, PQE_SEARCH_ADC, query_x, N_QUERY, K, ids16, d16),
                     PQE_OK);
    /* Probing every list can only find nearer (estimated) neighbours. */
    for (size_t i = 0; i < N_QUERY; i++) {
        if (ids1[i * K] < 0)
            padded++;
        else
            assert_true(d16[i * K] <= d1[i * K] + 1e-4f);
        assert_true(ids16[i * K] >= 0);
    }
    (void)padded;
    pqe_quantizer_free(one);
    pqe_quantizer_free(all);
}

/* Inner-product metric for dot data: distances descending, equal to the
 * exact inner products for a flat index. */
static void flat_inner_product(void **state)
{
    (void)state;
    pqe_quantizer *q = NULL;
    int64_t ids[N_QUERY * K];
    float dist[N_QUERY * K];

    assert_int_equal(pqe_quantizer_new_faiss("Flat", DIM, PQE_METRIC_DOT, 0, &q), PQE_OK);
    assert_int_equal(pqe_quantizer_train(q, train_x, N_TRAIN), PQE_OK);
    assert_true(pqe_quantizer_code_bits(q) == 32.0 * DIM); /* 8 * sa_code_size */
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, K, ids, dist),
                     PQE_OK);
    for (size_t i = 0; i < N_QUERY; i++) {
        double best = -INFINITY;
        for (size_t b = 0; b < N_BASE; b++) {
            double ip = 0;
            for (size_t j = 0; j < DIM; j++)
                ip += (double)query_x[i * DIM + j] * base_x[b * DIM + j];
            best = fmax(best, ip);
        }
        assert_float_equal(dist[i * K], best, 1e-4 * fabs(best));
        for (size_t r = 1; r < K; r++)
            assert_true(dist[i * K + r] <= dist[i * K + r - 1]);
    }
    pqe_quantizer_free(q);
}

/* A FAISS index saves with write_index and loads back through
 * pqe_quantizer_load. */
static void faiss_save_load(void **state)
{
    (void)state;
    pqe_quantizer *q = NULL, *r = NULL;
    char path[1024];
    const char *dir = getenv("PQEVAL_TEST_TMP");
    uint8_t c1[20 * 4], c2[20 * 4];

    snprintf(path, sizeof path, "%s/faiss-pca-pq.index", dir ? dir : "/tmp");
    assert_int_equal(pqe_quantizer_new_faiss("PCA16,PQ8x4np", DIM, PQE_METRIC_EUCLIDEAN, 0, &q),
                     PQE_OK);
    assert_true(pqe_quantizer_code_bits(q) == 32.0);
    assert_int_equal(pqe_quantizer_train(q, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_save(q, path), PQE_OK);
    assert_int_equal(pqe_quantizer_load(path, &r), PQE_OK);
    assert_int_equal(pqe_quantizer_code_bytes(r), 4);
    assert_int_equal(pqe_quantizer_dim(r), DIM);
    assert_int_equal(pqe_quantizer_encode(q, base_x, 20, c1), PQE_OK);
    assert_int_equal(pqe_quantizer_encode(r, base_x, 20, c2), PQE_OK);
    assert_memory_equal(c1, c2, sizeof c1);
    remove(path);
    pqe_quantizer_free(r);
    pqe_quantizer_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pq8_same_as_direct), cmocka_unit_test(fast_scan_falls_back),
        cmocka_unit_test(bad_factory_string), cmocka_unit_test(ivf_with_nprobe),
        cmocka_unit_test(flat_inner_product), cmocka_unit_test(faiss_save_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
