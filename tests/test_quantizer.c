/* test_quantizer.c - the pqe_quantizer interface over our PQ and OPQ: the
 * same codes as pqe_pq directly, decode in the original space, search
 * consistent with the decoded base, per-subspace errors summing to the
 * total, save/load round trips and clear errors on broken files.
 *
 * Depends on: quantizer.h, pq.h, search.h, opq.h, rng.h; cmocka.
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
#include "pqeval/quantizer.h"
#include "pqeval/rng.h"
#include "pqeval/search.h"

enum { DIM = 32, N_TRAIN = 6000, N_BASE = 3000, N_QUERY = 50 };

static float *train_x, *base_x, *query_x;

/* Correlated Gaussian-ish data: a random linear mix of independent
 * coordinates with decaying scales, so that rotations matter. */
static float *make_data(size_t n, uint64_t seed)
{
    pqe_rng rng;
    float *x = malloc(n * DIM * sizeof *x);
    float mix[DIM * DIM];
    pqe_rng rm;

    assert_non_null(x);
    pqe_rng_seed(&rm, 1);
    for (size_t i = 0; i < DIM * DIM; i++)
        mix[i] = (float)(pqe_rng_uniform(&rm) - 0.5);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        float z[DIM];
        for (size_t j = 0; j < DIM; j++) {
            double u = pqe_rng_uniform(&rng) + pqe_rng_uniform(&rng) + pqe_rng_uniform(&rng) - 1.5;
            z[j] = (float)(u * 10.0 / (1.0 + (double)j));
        }
        for (size_t a = 0; a < DIM; a++) {
            double s = 3.0; /* an offset: nothing is centred */
            for (size_t b = 0; b < DIM; b++)
                s += mix[a * DIM + b] * z[b];
            x[i * DIM + a] = (float)s;
        }
    }
    return x;
}

static int setup(void **state)
{
    (void)state;
    train_x = make_data(N_TRAIN, 11);
    base_x = make_data(N_BASE, 12);
    query_x = make_data(N_QUERY, 13);
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

static pqe_quantizer *trained(pqe_rotation rotation, size_t m, unsigned nbits)
{
    pqe_quantizer_config c = pqe_quantizer_config_default(DIM, m, nbits);
    pqe_quantizer *q = NULL;
    c.rotation = rotation;
    c.kmeans_iters = 8;
    c.opq_outer_iters = 5;
    c.seed = 3;
    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_OK);
    if (pqe_quantizer_train(q, train_x, N_TRAIN) != PQE_OK)
        fail_msg("training: %s", pqe_last_error());
    return q;
}

static double mse(const float *a, const float *b, size_t n)
{
    double t = 0;
    for (size_t i = 0; i < n * DIM; i++)
        t += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return t / (double)n;
}

/* Our PQ through the interface = pqe_pq with the same parameters. */
static void pq_same_as_direct(void **state)
{
    (void)state;
    pqe_quantizer *q = trained(PQE_ROTATION_NONE, 8, 6);
    pqe_pq_params p = pqe_pq_params_default(DIM, 8, 6);
    pqe_pq *pq = NULL;
    size_t cb;
    uint8_t *c1, *c2;
    float *d1, *d2;

    p.kmeans.n_iters = 8;
    p.kmeans.seed = 3;
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    assert_int_equal(pqe_pq_train(pq, train_x, N_TRAIN), PQE_OK);
    cb = pqe_pq_code_bytes(pq);
    assert_int_equal(pqe_quantizer_code_bytes(q), cb);
    assert_true(pqe_quantizer_code_bits(q) == 48.0);
    assert_string_equal(pqe_quantizer_name(q), "PQ8x6");
    assert_int_equal(pqe_quantizer_n_sub(q), 8);

    c1 = malloc(N_BASE * cb);
    c2 = malloc(N_BASE * cb);
    d1 = malloc(N_BASE * DIM * sizeof *d1);
    d2 = malloc(N_BASE * DIM * sizeof *d2);
    assert_true(c1 && c2 && d1 && d2);
    assert_int_equal(pqe_quantizer_encode(q, base_x, N_BASE, c1), PQE_OK);
    assert_int_equal(pqe_pq_encode(pq, base_x, N_BASE, c2), PQE_OK);
    assert_memory_equal(c1, c2, N_BASE * cb);
    assert_int_equal(pqe_quantizer_decode(q, c1, N_BASE, d1), PQE_OK);
    assert_int_equal(pqe_pq_decode(pq, c2, N_BASE, d2), PQE_OK);
    assert_memory_equal(d1, d2, N_BASE * DIM * sizeof *d1);

    /* Search = pqe_pq_search over the same codes. */
    int64_t ids1[N_QUERY * 5], ids2[N_QUERY * 5];
    float dist1[N_QUERY * 5], dist2[N_QUERY * 5];
    pqe_search_params sp = {PQE_SEARCH_ADC, PQE_METRIC_EUCLIDEAN, 5, 0, 0};
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, 5, ids1, dist1),
                     PQE_OK);
    assert_int_equal(pqe_pq_search(pq, &sp, c2, N_BASE, query_x, N_QUERY, ids2, dist2), PQE_OK);
    assert_memory_equal(ids1, ids2, sizeof ids1);
    assert_memory_equal(dist1, dist2, sizeof dist1);
    assert_true(pqe_quantizer_supports(q, PQE_SEARCH_SDC));
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_SDC, query_x, N_QUERY, 5, ids1, dist1),
                     PQE_OK);

    /* A second add is refused. */
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_ERR_PARAM);

    free(c1);
    free(c2);
    free(d1);
    free(d2);
    pqe_pq_free(pq);
    pqe_quantizer_free(q);
}

/* OPQ decodes in the original space: decode(encode(x)) is close to x, far
 * closer than the rotated reconstruction would be, and its error equals
 * the sum of the per-subspace errors (R is orthogonal). */
static void opq_decodes_in_original_space(void **state)
{
    (void)state;
    const pqe_rotation kinds[2] = {PQE_ROTATION_OPQ_PARAMETRIC, PQE_ROTATION_OPQ_NONPARAMETRIC};
    const char *names[2] = {"OPQ-P8x6", "OPQ-NP8x6"};

    for (size_t k = 0; k < 2; k++) {
        pqe_quantizer *q = trained(kinds[k], 8, 6);
        pqe_quantizer *plain = trained(PQE_ROTATION_NONE, 8, 6);
        size_t cb = pqe_quantizer_code_bytes(q);
        uint8_t *codes = malloc(N_BASE * cb);
        float *xhat = malloc(N_BASE * DIM * sizeof *xhat);
        float *xrec = malloc(N_BASE * DIM * sizeof *xrec);
        double sub[8] = {0}, sub_total = 0, var = 0, e, e_plain;

        assert_true(codes && xhat && xrec);
        assert_string_equal(pqe_quantizer_name(q), names[k]);
        assert_int_equal(pqe_quantizer_encode(q, base_x, N_BASE, codes), PQE_OK);
        assert_int_equal(pqe_quantizer_decode(q, codes, N_BASE, xhat), PQE_OK);
        assert_int_equal(pqe_quantizer_reconstruct(q, base_x, N_BASE, xrec), PQE_OK);
        assert_memory_equal(xhat, xrec, N_BASE * DIM * sizeof *xhat);
        e = mse(base_x, xhat, N_BASE);
        for (size_t i = 0; i < N_BASE * DIM; i++)
            var += ((double)base_x[i] - 3.0) * ((double)base_x[i] - 3.0);
        var /= N_BASE;
        assert_true(e < 0.25 * var);

        assert_int_equal(pqe_quantizer_reconstruct(plain, base_x, N_BASE, xrec), PQE_OK);
        e_plain = mse(base_x, xrec, N_BASE);
        fprintf(stderr, "  %s mse %.4f, PQ8x6 %.4f, variance %.2f\n", names[k], e, e_plain, var);
        assert_true(e < e_plain);

        assert_int_equal(pqe_quantizer_n_sub(q), 8);
        assert_int_equal(pqe_quantizer_subspace_error(q, base_x, N_BASE, sub), PQE_OK);
        for (size_t m = 0; m < 8; m++)
            sub_total += sub[m];
        assert_float_equal(sub_total / N_BASE, e, 1e-3 * e);

        free(codes);
        free(xhat);
        free(xrec);
        pqe_quantizer_free(plain);
        pqe_quantizer_free(q);
    }
}

/* OPQ search: the ADC distance of a returned id is ||R q - y^||^2, equal
 * to ||q - x^||^2 in the original space; and the top-1 is the decoded
 * base vector nearest to the query. */
static void opq_search_matches_decoded_base(void **state)
{
    (void)state;
    pqe_quantizer *q = trained(PQE_ROTATION_OPQ_PARAMETRIC, 4, 8);
    size_t cb = pqe_quantizer_code_bytes(q);
    uint8_t *codes = malloc(N_BASE * cb);
    float *xhat = malloc(N_BASE * DIM * sizeof *xhat);
    int64_t ids[N_QUERY * 3];
    float dist[N_QUERY * 3];
    size_t agree = 0;

    assert_true(codes && xhat);
    assert_int_equal(pqe_quantizer_encode(q, base_x, N_BASE, codes), PQE_OK);
    assert_int_equal(pqe_quantizer_decode(q, codes, N_BASE, xhat), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, 3, ids, dist),
                     PQE_ERR_PARAM); /* nothing added yet */
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, 3, ids, dist),
                     PQE_OK);
    for (size_t i = 0; i < N_QUERY; i++) {
        double best = INFINITY;
        size_t arg = 0;
        for (size_t b = 0; b < N_BASE; b++) {
            double s = 0;
            for (size_t j = 0; j < DIM; j++) {
                double diff = (double)query_x[i * DIM + j] - xhat[b * DIM + j];
                s += diff * diff;
            }
            if (s < best) {
                best = s;
                arg = b;
            }
        }
        assert_float_equal(dist[i * 3], best, 1e-3 * best + 1e-3);
        agree += (size_t)ids[i * 3] == arg;
    }
    assert_true(agree >= N_QUERY - 2); /* near-ties may flip in float */
    free(codes);
    free(xhat);
    pqe_quantizer_free(q);
}

static const char *tmp_path(const char *name)
{
    static char buf[1024];
    const char *dir = getenv("PQEVAL_TEST_TMP");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "/tmp", name);
    return buf;
}

static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc(*size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *size, fp), *size);
    fclose(fp);
    return buf;
}

static void write_all(const char *path, const uint8_t *buf, size_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, size, fp), size);
    fclose(fp);
}

/* Save and load give identical codes, search results and name; broken
 * files fail with messages that say what is wrong. */
static void save_load_round_trip(void **state)
{
    (void)state;
    const pqe_rotation kinds[3] = {PQE_ROTATION_NONE, PQE_ROTATION_OPQ_PARAMETRIC,
                                   PQE_ROTATION_OPQ_NONPARAMETRIC};
    const char *path = NULL;
    char saved[1024], broken[1024];

    for (size_t k = 0; k < 3; k++) {
        pqe_quantizer *q = trained(kinds[k], 8, 5), *r = NULL;
        size_t cb = pqe_quantizer_code_bytes(q);
        uint8_t *c1 = malloc(N_BASE * cb), *c2 = malloc(N_BASE * cb);
        int64_t ids1[N_QUERY * 4], ids2[N_QUERY * 4];
        float d1[N_QUERY * 4], d2[N_QUERY * 4];

        assert_true(c1 && c2);
        path = tmp_path("quantizer-roundtrip.pqeq");
        snprintf(saved, sizeof saved, "%s", path);
        assert_int_equal(pqe_quantizer_save(q, saved), PQE_OK);
        assert_int_equal(pqe_quantizer_load(saved, &r), PQE_OK);
        assert_string_equal(pqe_quantizer_name(r), pqe_quantizer_name(q));
        assert_int_equal(pqe_quantizer_code_bytes(r), cb);
        assert_int_equal(pqe_quantizer_encode(q, base_x, N_BASE, c1), PQE_OK);
        assert_int_equal(pqe_quantizer_encode(r, base_x, N_BASE, c2), PQE_OK);
        assert_memory_equal(c1, c2, N_BASE * cb);
        assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
        assert_int_equal(pqe_quantizer_add(r, base_x, N_BASE), PQE_OK);
        assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, 4, ids1, d1),
                         PQE_OK);
        assert_int_equal(pqe_quantizer_search(r, PQE_SEARCH_ADC, query_x, N_QUERY, 4, ids2, d2),
                         PQE_OK);
        assert_memory_equal(ids1, ids2, sizeof ids1);
        assert_memory_equal(d1, d2, sizeof d1);
        free(c1);
        free(c2);
        pqe_quantizer_free(r);
        pqe_quantizer_free(q);
    }

    /* Broken copies of the last file (OPQ-NP). */
    size_t size;
    uint8_t *buf = read_all(saved, &size);
    pqe_quantizer *r = NULL;
    snprintf(broken, sizeof broken, "%s", tmp_path("quantizer-broken.pqeq"));

    buf[size / 2] ^= 0x40; /* one flipped bit in the rotation */
    write_all(broken, buf, size);
    assert_int_equal(pqe_quantizer_load(broken, &r), PQE_ERR_FORMAT);
    assert_null(r);
    assert_non_null(strstr(pqe_last_error(), "corrupt"));
    assert_non_null(strstr(pqe_last_error(), "checksum"));
    buf[size / 2] ^= 0x40;

    write_all(broken, buf, size - 7); /* truncated */
    assert_int_equal(pqe_quantizer_load(broken, &r), PQE_ERR_FORMAT);
    assert_non_null(strstr(pqe_last_error(), "truncated"));

    write_all(broken, buf, 40); /* truncated inside the header */
    assert_int_equal(pqe_quantizer_load(broken, &r), PQE_ERR_FORMAT);
    assert_non_null(strstr(pqe_last_error(), "truncated"));

    buf[8] = 9; /* an unknown version */
    write_all(broken, buf, size);
    assert_int_equal(pqe_quantizer_load(broken, &r), PQE_ERR_FORMAT);
    assert_non_null(strstr(pqe_last_error(), "version 9"));

    write_all(broken, (const uint8_t *)"hello, world", 12); /* not ours, not FAISS */
    assert_int_not_equal(pqe_quantizer_load(broken, &r), PQE_OK);
    assert_non_null(strstr(pqe_last_error(), "not a pqeval quantizer file"));

    assert_int_equal(pqe_quantizer_load(tmp_path("no-such-file.pqeq"), &r), PQE_ERR_IO);
    free(buf);
    remove(broken);
    remove(saved);
}

/* Parameters are checked when the quantizer is made, states when used. */
static void bad_parameters_and_states(void **state)
{
    (void)state;
    pqe_quantizer_config c = pqe_quantizer_config_default(DIM, 5, 8);
    pqe_quantizer *q = NULL;
    pqe_rotation r;
    uint8_t code[8];

    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_ERR_PARAM); /* 5 does not divide 32 */
    assert_null(q);
    c.n_sub = 8;
    c.rotation = PQE_ROTATION_OPQ_NONPARAMETRIC;
    c.opq_inner_iters = 0;
    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_ERR_PARAM);
    c.opq_inner_iters = 4;
    c.nbits = 17;
    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_ERR_PARAM);
    c.nbits = 8;
    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_OK);
    assert_int_equal(pqe_quantizer_encode(q, base_x, 1, code), PQE_ERR_PARAM); /* untrained */
    assert_non_null(strstr(pqe_last_error(), "before training"));
    assert_int_equal(pqe_quantizer_save(q, tmp_path("untrained.pqeq")), PQE_ERR_PARAM);
    pqe_quantizer_free(q);
    pqe_quantizer_free(NULL);

    assert_int_equal(pqe_rotation_parse("opq-np", &r), PQE_OK);
    assert_int_equal(r, PQE_ROTATION_OPQ_NONPARAMETRIC);
    assert_string_equal(pqe_rotation_name(PQE_ROTATION_OPQ_PARAMETRIC), "opq-p");
    assert_int_equal(pqe_rotation_parse("opq", &r), PQE_ERR_PARAM);
}

/* Inner-product search: the rotation preserves inner products, so the
 * returned estimate is <q, x^> in the original space. */
static void opq_inner_product_search(void **state)
{
    (void)state;
    pqe_quantizer_config c = pqe_quantizer_config_default(DIM, 4, 8);
    pqe_quantizer *q = NULL;
    int64_t ids[N_QUERY * 2];
    float dist[N_QUERY * 2];
    float *xhat = malloc(N_BASE * DIM * sizeof *xhat);

    assert_non_null(xhat);
    c.metric = PQE_METRIC_DOT;
    c.rotation = PQE_ROTATION_OPQ_PARAMETRIC;
    c.kmeans_iters = 8;
    assert_int_equal(pqe_quantizer_new(&c, &q), PQE_OK);
    assert_int_equal(pqe_quantizer_train(q, train_x, N_TRAIN), PQE_OK);
    assert_int_equal(pqe_quantizer_add(q, base_x, N_BASE), PQE_OK);
    assert_int_equal(pqe_quantizer_reconstruct(q, base_x, N_BASE, xhat), PQE_OK);
    assert_int_equal(pqe_quantizer_search(q, PQE_SEARCH_ADC, query_x, N_QUERY, 2, ids, dist),
                     PQE_OK);
    for (size_t i = 0; i < N_QUERY; i++) {
        double ip = 0;
        assert_true(ids[i * 2] >= 0);
        for (size_t j = 0; j < DIM; j++)
            ip += (double)query_x[i * DIM + j] * xhat[(size_t)ids[i * 2] * DIM + j];
        assert_float_equal(dist[i * 2], ip, 1e-3 * fabs(ip) + 1e-2);
        assert_true(dist[i * 2] >= dist[i * 2 + 1]);
    }
    free(xhat);
    pqe_quantizer_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pq_same_as_direct),
        cmocka_unit_test(opq_decodes_in_original_space),
        cmocka_unit_test(opq_search_matches_decoded_base),
        cmocka_unit_test(opq_inner_product_search),
        cmocka_unit_test(save_load_round_trip),
        cmocka_unit_test(bad_parameters_and_states),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
