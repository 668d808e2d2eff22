/* test_pq.c - product quantization: parameter errors, encode/decode on
 * known codebooks, the packed layout, the quantizer file, and FAISS as an
 * independent reference (same codes and decoded vectors from FAISS's own
 * codebooks; ADC and SDC search results as IndexPQ's; our training's
 * distortion within 1% of FAISS IndexPQ's on SIFT and Fashion-MNIST).
 *
 * Depends on: pq.h, search.h, rng.h, status.h, the FAISS C API (and
 * bench/faiss_pq_sdc.h for IndexPQ's SDC), support/pq_testdata.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h> /* openblas_set_num_threads */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>

#include "faiss_pq_sdc.h"

#include "pqeval/pq.h"
#include "pqeval/search.h"
#include "pqeval/rng.h"
#include "pqeval/status.h"
#include "support/pq_testdata.h"

/* ---- helpers ------------------------------------------------------------ */

static pqe_pq *make_pq(size_t dim, size_t n_sub, unsigned nbits)
{
    pqe_pq_params p = pqe_pq_params_default(dim, n_sub, nbits);
    pqe_pq *pq = NULL;
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
    return pq;
}

static void assert_message_has(const char *needle)
{
    const char *msg = pqe_last_error();
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" does not contain \"%s\"", msg, needle);
}

static float *random_floats(size_t n, uint64_t seed, float scale)
{
    pqe_rng rng;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    pqe_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(pqe_rng_uniform(&rng) * 2 - 1) * scale;
    return x;
}

static char tmp_path_buf[4096];

static const char *tmp_path(const char *name)
{
    const char *dir = getenv("PQEVAL_TEST_TMP");
    snprintf(tmp_path_buf, sizeof tmp_path_buf, "%s/%s", dir && *dir ? dir : "/tmp", name);
    return tmp_path_buf;
}

/* Captures warnings from the library log. */
static int warn_count;
static char warn_last[512];

static void capture_log(pqe_log_level level, const char *message, void *user)
{
    (void)user;
    if (level == PQE_LOG_WARN) {
        warn_count++;
        snprintf(warn_last, sizeof warn_last, "%s", message);
    }
}

/* ---- parameter errors ---------------------------------------------------- */

static void bad_m_lists_divisors(void **state)
{
    (void)state;
    pqe_pq_params p = pqe_pq_params_default(12, 5, 8);
    pqe_pq *pq = (pqe_pq *)&p; /* must be reset to NULL on failure */
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_ERR_PARAM);
    assert_null(pq);
    assert_message_has("M = 5");
    assert_message_has("12");
    assert_message_has("valid M: 1, 2, 3, 4, 6, 12");

    p = pqe_pq_params_default(12, 0, 8);
    assert_int_equal(pqe_pq_new(&p, &pq), PQE_ERR_PARAM);
    assert_message_has("valid M: 1, 2, 3, 4, 6, 12");
}

static void bad_nbits(void **state)
{
    (void)state;
    unsigned bad[] = {0, 17, 32};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pqe_pq_params p = pqe_pq_params_default(16, 4, bad[i]);
        pqe_pq *pq = NULL;
        char want[64];
        assert_int_equal(pqe_pq_new(&p, &pq), PQE_ERR_PARAM);
        assert_null(pq);
        snprintf(want, sizeof want, "nbits %u is outside 1..16", bad[i]);
        assert_message_has(want);
    }
    /* The bounds themselves are fine. */
    pqe_pq_free(make_pq(16, 4, 1));
    pqe_pq_free(make_pq(16, 4, 16));
}

static void too_few_training_points(void **state)
{
    (void)state;
    pqe_pq *pq = make_pq(8, 2, 8);
    float *x = random_floats(100 * 8, 1, 1);

    assert_int_equal(pqe_pq_train(pq, x, 100), PQE_ERR_PARAM);
    assert_message_has("100 training vectors");
    assert_message_has("K = 256");
    assert_message_has("nbits <= 6"); /* 2^6 = 64 <= 100 < 128 */
    assert_false(pqe_pq_is_trained(pq));
    assert_null(pqe_pq_codebooks(pq));
    pqe_pq_free(pq);

    pq = make_pq(8, 2, 4);
    assert_int_equal(pqe_pq_train(pq, x, 1), PQE_ERR_PARAM);
    assert_message_has("1 training vectors");
    pqe_pq_free(pq);
    free(x);
}

static void nan_in_training_data(void **state)
{
    (void)state;
    pqe_pq *pq = make_pq(8, 2, 2);
    float *x = random_floats(50 * 8, 2, 1);
    x[17 * 8 + 5] = NAN;
    assert_int_equal(pqe_pq_train(pq, x, 50), PQE_ERR_DATA);
    assert_message_has("row 17");
    assert_message_has("column 5");
    x[17 * 8 + 5] = INFINITY;
    assert_int_equal(pqe_pq_train(pq, x, 50), PQE_ERR_DATA);
    assert_message_has("row 17, column 5 is inf");
    assert_false(pqe_pq_is_trained(pq));
    pqe_pq_free(pq);
    free(x);
}

/* Subspaces trained in parallel (one k-means per thread) or one after the
 * other (threads inside k-means) give the same codebooks: M = 6 trains per
 * subspace with 1, 2 and 3 threads and one at a time with 4 (6 is neither
 * a multiple of 4 nor twice it). */
static void threads_do_not_change_codebooks(void **state)
{
    (void)state;
    size_t n = 3000, dim = 24, M = 6;
    float *x = random_floats(n * dim, 9, 1);
    float *first = NULL;

    for (int threads = 1; threads <= 4; threads++) {
        pqe_pq_params p = pqe_pq_params_default(dim, M, 5);
        pqe_pq *pq = NULL;
        p.kmeans.n_threads = threads;
        p.kmeans.n_iters = 6;
        assert_int_equal(pqe_pq_new(&p, &pq), PQE_OK);
        assert_int_equal(pqe_pq_train(pq, x, n), PQE_OK);
        if (!first) {
            first = malloc(dim * 32 * sizeof *first);
            memcpy(first, pqe_pq_codebooks(pq), dim * 32 * sizeof *first);
        } else {
            assert_memory_equal(first, pqe_pq_codebooks(pq), dim * 32 * sizeof *first);
        }
        /* A bad value fails the same way on every path. */
        float keep = x[2999 * dim + 23];
        x[2999 * dim + 23] = NAN;
        assert_int_equal(pqe_pq_train(pq, x, n), PQE_ERR_DATA);
        assert_message_has("row 2999, column 23");
        x[2999 * dim + 23] = keep;
        pqe_pq_free(pq);
    }
    free(first);
    free(x);
}

static void identical_training_vectors(void **state)
{
    (void)state;
    size_t n = 300, d = 8;
    pqe_pq *pq = make_pq(d, 4, 4);
    float *x = malloc(n * d * sizeof *x);
    float dec[8];
    uint8_t code[4];

    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = (float)j - 3.5f;
    assert_int_equal(pqe_pq_train(pq, x, n), PQE_OK);
    const float *cb = pqe_pq_codebooks(pq);
    for (size_t i = 0; i < d * 16; i++)
        assert_true(isfinite(cb[i]));
    assert_int_equal(pqe_pq_encode(pq, x, 1, code), PQE_OK);
    assert_int_equal(pqe_pq_decode(pq, code, 1, dec), PQE_OK);
    for (size_t j = 0; j < d; j++)
        assert_float_equal(dec[j], x[j], 1e-2);

    /* All zero, too (the split perturbation is relative: nothing moves). */
    memset(x, 0, n * d * sizeof *x);
    assert_int_equal(pqe_pq_train(pq, x, n), PQE_OK);
    cb = pqe_pq_codebooks(pq);
    for (size_t i = 0; i < d * 16; i++)
        assert_true(cb[i] == 0.0f);
    pqe_pq_free(pq);
    free(x);
}

static void few_points_per_centroid_warns(void **state)
{
    (void)state;
    pqe_pq *pq = make_pq(4, 2, 4); /* K = 16: 39 * 16 = 624 points would be enough */
    float *x = random_floats(600 * 4, 3, 1);

    warn_count = 0;
    pqe_set_log(capture_log, NULL);
    assert_int_equal(pqe_pq_train(pq, x, 600), PQE_OK);
    assert_int_equal(warn_count, 1);
    assert_non_null(strstr(warn_last, "600 training vectors"));
    assert_non_null(strstr(warn_last, "39 per centroid"));
    warn_count = 0;
    free(x);
    x = random_floats(700 * 4, 3, 1);
    assert_int_equal(pqe_pq_train(pq, x, 700), PQE_OK);
    assert_int_equal(warn_count, 0);
    pqe_set_log(NULL, NULL);
    pqe_pq_free(pq);
    free(x);
}

/* ---- encode / decode on known codebooks ---------------------------------- */

static void encode_decode_known_codebooks(void **state)
{
    (void)state;
    /* d = 4, M = 2, nbits = 2: subspace 0 centroids on a line, subspace 1
     * with a duplicated centroid (indices 1 and 3) to check ties. */
    const float cb[2 * 4 * 2] = {
        0, 0, 1, 0, 2,  0, 3, 0, /* subspace 0 */
        0, 0, 5, 5, -5, 5, 5, 5, /* subspace 1: centroid 3 == centroid 1 */
    };
    const float x[3 * 4] = {
        2.2f, 0.1f, 4,  6, /* -> (2, 1): centroids 1 and 3 tie, smaller wins */
        -7,   0,    -4, 4, /* -> (0, 2) */
        0.5f, 0,    0,  0, /* equidistant from 0 and 1 -> (0, 0) */
    };
    const uint8_t want[3 * 2] = {2, 1, 0, 2, 0, 0};
    uint8_t codes[6];
    float dec[12];
    pqe_pq *pq = make_pq(4, 2, 2);

    assert_int_equal(pqe_pq_encode(pq, x, 1, codes), PQE_ERR_PARAM); /* untrained */
    assert_int_equal(pqe_pq_set_codebooks(pq, cb), PQE_OK);
    assert_true(pqe_pq_is_trained(pq));
    assert_int_equal(pqe_pq_code_bytes(pq), 2);
    assert_int_equal(pqe_pq_packed_bytes(pq), 1);
    assert_int_equal(pqe_pq_encode(pq, x, 3, codes), PQE_OK);
    assert_memory_equal(codes, want, sizeof want);
    assert_int_equal(pqe_pq_decode(pq, codes, 3, dec), PQE_OK);
    const float want_dec[12] = {2, 0, 5, 5, 0, 0, -5, 5, 0, 0, 0, 0};
    assert_memory_equal(dec, want_dec, sizeof want_dec);

    /* Per-subspace error: sum over the three vectors. */
    double err[2] = {0, 0};
    assert_int_equal(pqe_pq_subspace_error(pq, x, codes, 3, err), PQE_OK);
    assert_float_equal(err[0], 0.2 * 0.2 + 0.1 * 0.1 + 49 + 0.25, 1e-5);
    assert_float_equal(err[1], 1 + 1 + 1 + 1, 1e-5);

    /* An index >= K is refused by decode. */
    uint8_t bad[2] = {0, 4};
    assert_int_equal(pqe_pq_decode(pq, bad, 1, dec), PQE_ERR_DATA);
    assert_message_has("subspace 1 has index 4");

    /* Non-finite input to encode names the place. */
    float y[4] = {0, 0, NAN, 0};
    assert_int_equal(pqe_pq_encode(pq, y, 1, codes), PQE_ERR_DATA);
    assert_message_has("row 0, column 2");
    pqe_pq_free(pq);
}

static void encode_is_nearest_centroid(void **state)
{
    (void)state;
    /* nbits = 10 (two-byte codes): random codebooks and vectors, checked
     * against a brute-force nearest centroid in double. */
    size_t d = 6, M = 3, dsub = 2, K = 1024, n = 200;
    pqe_pq *pq = make_pq(d, M, 10);
    float *cb = random_floats(M * K * dsub, 4, 1);
    float *x = random_floats(n * d, 5, 1.2f);
    uint8_t *codes = malloc(n * 2 * M);

    assert_int_equal(pqe_pq_set_codebooks(pq, cb), PQE_OK);
    assert_int_equal(pqe_pq_code_bytes(pq), 6);
    assert_int_equal(pqe_pq_encode(pq, x, n, codes), PQE_OK);
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < M; m++) {
            size_t got = codes[i * 6 + 2 * m] | ((size_t)codes[i * 6 + 2 * m + 1] << 8);
            double best = INFINITY, got_d = 0;
            for (size_t c = 0; c < K; c++) {
                double s = 0;
                for (size_t j = 0; j < dsub; j++) {
                    double t = (double)x[i * d + m * dsub + j] - cb[(m * K + c) * dsub + j];
                    s += t * t;
                }
                if (s < best)
                    best = s;
                if (c == got)
                    got_d = s;
            }
            assert_true(got < K);
            assert_true(got_d <= best * (1 + 1e-5) + 1e-9);
        }
    }
    pqe_pq_free(pq);
    free(cb);
    free(x);
    free(codes);
}

/* ---- packing ------------------------------------------------------------- */

static void pack_unpack_round_trip_all_nbits(void **state)
{
    (void)state;
    size_t n = 37;
    pqe_rng rng;
    pqe_rng_seed(&rng, 77);
    for (unsigned nbits = 1; nbits <= 16; nbits++) {
        for (size_t M = 1; M <= 9; M += 4) {
            pqe_pq *pq = make_pq(M * 2, M, nbits);
            size_t cb = pqe_pq_code_bytes(pq), pb = pqe_pq_packed_bytes(pq);
            uint8_t *codes = malloc(n * cb), *back = malloc(n * cb), *packed = malloc(n * pb);
            assert_int_equal(cb, M * (nbits <= 8 ? 1 : 2));
            assert_int_equal(pb, (M * nbits + 7) / 8);
            for (size_t i = 0; i < n * M; i++) {
                uint32_t v = (uint32_t)pqe_rng_below(&rng, (uint64_t)1 << nbits);
                if (i % 11 == 0)
                    v = (1u << nbits) - 1; /* all ones: catches bits spilling over */
                if (nbits <= 8) {
                    codes[i] = (uint8_t)v;
                } else {
                    codes[2 * i] = (uint8_t)v;
                    codes[2 * i + 1] = (uint8_t)(v >> 8);
                }
            }
            assert_int_equal(pqe_pq_pack(pq, codes, n, packed), PQE_OK);
            /* Independent check of the bit order: bit b of index m sits at
             * bit m * nbits + b of the packed string, LSB first. */
            for (size_t i = 0; i < n; i++) {
                for (size_t m = 0; m < M; m++) {
                    size_t idx = nbits <= 8 ? codes[i * cb + m]
                                            : codes[i * cb + 2 * m] |
                                                  ((size_t)codes[i * cb + 2 * m + 1] << 8);
                    for (unsigned b = 0; b < nbits; b++) {
                        size_t pos = m * nbits + b;
                        unsigned bit = (packed[i * pb + pos / 8] >> (pos % 8)) & 1;
                        assert_int_equal(bit, (idx >> b) & 1);
                    }
                }
                /* Unused high bits of the last byte stay zero. */
                for (size_t pos = M * nbits; pos < pb * 8; pos++)
                    assert_int_equal((packed[i * pb + pos / 8] >> (pos % 8)) & 1, 0);
            }
            memset(back, 0xAA, n * cb);
            assert_int_equal(pqe_pq_unpack(pq, packed, n, back), PQE_OK);
            assert_memory_equal(back, codes, n * cb);
            free(codes);
            free(back);
            free(packed);
            pqe_pq_free(pq);
        }
    }
}

static void pack_known_bytes(void **state)
{
    (void)state;
    /* nbits 4, M 2: indices (1, 2) -> 0x21; nbits 12, M 2: (0xABC, 0x123)
     * -> bytes BC 3A 12. */
    pqe_pq *pq4 = make_pq(2, 2, 4), *pq12 = make_pq(2, 2, 12);
    uint8_t c4[2] = {1, 2}, p4[1];
    uint8_t c12[4] = {0xBC, 0x0A, 0x23, 0x01}, p12[3];
    assert_int_equal(pqe_pq_pack(pq4, c4, 1, p4), PQE_OK);
    assert_int_equal(p4[0], 0x21);
    assert_int_equal(pqe_pq_pack(pq12, c12, 1, p12), PQE_OK);
    assert_int_equal(p12[0], 0xBC);
    assert_int_equal(p12[1], 0x3A);
    assert_int_equal(p12[2], 0x12);
    pqe_pq_free(pq4);
    pqe_pq_free(pq12);
}

/* ---- the quantizer file -------------------------------------------------- */

static void save_load_round_trip_and_errors(void **state)
{
    (void)state;
    size_t d = 12, M = 3, n = 400;
    pqe_pq *pq = make_pq(d, M, 5), *back = NULL;
    float *x = random_floats(n * d, 9, 3);
    uint8_t *c1 = malloc(n * M), *c2 = malloc(n * M);
    const char *path = tmp_path("test_pq_saved.pq");
    char path_copy[4096];

    snprintf(path_copy, sizeof path_copy, "%s", path);
    assert_int_equal(pqe_pq_save(pq, path_copy), PQE_ERR_PARAM); /* untrained */
    assert_int_equal(pqe_pq_train(pq, x, n), PQE_OK);
    assert_int_equal(pqe_pq_save(pq, path_copy), PQE_OK);
    assert_int_equal(pqe_pq_load(path_copy, &back), PQE_OK);
    assert_int_equal(pqe_pq_dim(back), d);
    assert_int_equal(pqe_pq_n_sub(back), M);
    assert_int_equal(pqe_pq_nbits(back), 5);
    assert_int_equal(pqe_pq_ksub(back), 32);
    assert_memory_equal(pqe_pq_codebooks(back), pqe_pq_codebooks(pq), d * 32 * sizeof(float));
    assert_int_equal(pqe_pq_encode(pq, x, n, c1), PQE_OK);
    assert_int_equal(pqe_pq_encode(back, x, n, c2), PQE_OK);
    assert_memory_equal(c1, c2, n * M);
    pqe_pq_free(back);
    back = NULL;

    /* Read the file, then write damaged copies of it. */
    FILE *fp = fopen(path_copy, "rb");
    assert_non_null(fp);
    uint8_t *bytes = malloc(1 << 16);
    size_t len = fread(bytes, 1, 1 << 16, fp);
    fclose(fp);
    assert_int_equal(len, 32 + 4 * d * 32 + 4);
    assert_memory_equal(bytes, "PQEVALPQ", 8);

    const char *bad = tmp_path("test_pq_damaged.pq");
    char bad_copy[4096];
    snprintf(bad_copy, sizeof bad_copy, "%s", bad);

    /* Truncated in the codebooks. */
    fp = fopen(bad_copy, "wb");
    fwrite(bytes, 1, len - 100, fp);
    fclose(fp);
    assert_int_equal(pqe_pq_load(bad_copy, &back), PQE_ERR_FORMAT);
    assert_null(back);
    assert_message_has("truncated");
    assert_message_has(bad_copy);

    /* Truncated in the header. */
    fp = fopen(bad_copy, "wb");
    fwrite(bytes, 1, 10, fp);
    fclose(fp);
    assert_int_equal(pqe_pq_load(bad_copy, &back), PQE_ERR_FORMAT);
    assert_message_has("truncated");

    /* One flipped bit in a codebook value: the checksum catches it. */
    bytes[100] ^= 0x10;
    fp = fopen(bad_copy, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    assert_int_equal(pqe_pq_load(bad_copy, &back), PQE_ERR_FORMAT);
    assert_message_has("checksum");
    bytes[100] ^= 0x10;

    /* Wrong magic, and M not dividing d in the header. */
    bytes[0] = 'X';
    fp = fopen(bad_copy, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    assert_int_equal(pqe_pq_load(bad_copy, &back), PQE_ERR_FORMAT);
    assert_message_has("magic");
    bytes[0] = 'P';
    bytes[24] = 5;
    fp = fopen(bad_copy, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    assert_int_equal(pqe_pq_load(bad_copy, &back), PQE_ERR_FORMAT);
    assert_message_has("M 5");

    assert_int_equal(pqe_pq_load(tmp_path("no-such-file.pq"), &back), PQE_ERR_IO);
    remove(bad_copy);
    remove(path_copy);
    free(bytes);
    free(x);
    free(c1);
    free(c2);
    pqe_pq_free(pq);
}

/* ---- FAISS as the reference ---------------------------------------------- */

/* FAISS's code size.  The 1.7.3 C API's faiss_Index_sa_code_size never
 * writes its output, so it is measured: encode two vectors into a buffer
 * filled with a marker and find the last byte written (a written byte may
 * equal one marker by chance, never both). */
static size_t faiss_code_size(FaissIndex *idx, const float *x, size_t d, size_t guess)
{
    size_t cap = 2 * guess + 64, best = 0;
    uint8_t *buf = malloc(cap);
    (void)d;
    for (int marker = 0x55; marker <= 0xAA; marker += 0x55) {
        size_t last = 0;
        memset(buf, marker, cap);
        assert_int_equal(faiss_Index_sa_encode(idx, 2, x, buf), 0);
        for (size_t i = 0; i < cap; i++)
            if (buf[i] != marker)
                last = i + 1;
        if (last > best)
            best = last;
    }
    free(buf);
    return best / 2;
}

/* Trains FAISS's IndexPQ through the C API and reads its codebooks back by
 * decoding the codes (j, j, ..., j): M x K x dsub floats. */
static FaissIndex *faiss_pq_trained(size_t d, size_t M, unsigned nbits, const float *x, size_t n,
                                    float **codebooks_out, pqe_pq *layout)
{
    char factory[64];
    FaissIndex *idx = NULL;
    size_t K = (size_t)1 << nbits, dsub = d / M, cs = 0;

    /* "np": no polysemous training, which only permutes the centroid indices
     * (same distortion) and takes minutes. */
    snprintf(factory, sizeof factory, "PQ%zux%unp", M, nbits);
    assert_int_equal(faiss_index_factory(&idx, (int)d, factory, METRIC_L2), 0);
    assert_int_equal(faiss_Index_train(idx, (idx_t)n, x), 0);
    cs = faiss_code_size(idx, x, d, pqe_pq_packed_bytes(layout));
    assert_int_equal(cs, pqe_pq_packed_bytes(layout));

    size_t cb = pqe_pq_code_bytes(layout);
    uint8_t *codes = calloc(K, cb), *packed = calloc(K, cs);
    float *dec = malloc(K * d * sizeof *dec), *codebooks = malloc(K * d * sizeof *codebooks);
    assert_non_null(codes);
    assert_non_null(dec);
    for (size_t j = 0; j < K; j++) {
        for (size_t m = 0; m < M; m++) {
            if (nbits <= 8) {
                codes[j * cb + m] = (uint8_t)j;
            } else {
                codes[j * cb + 2 * m] = (uint8_t)j;
                codes[j * cb + 2 * m + 1] = (uint8_t)(j >> 8);
            }
        }
    }
    assert_int_equal(pqe_pq_pack(layout, codes, K, packed), PQE_OK);
    assert_int_equal(faiss_Index_sa_decode(idx, (idx_t)K, packed, dec), 0);
    for (size_t m = 0; m < M; m++)
        for (size_t j = 0; j < K; j++)
            memcpy(codebooks + (m * K + j) * dsub, dec + j * d + m * dsub, dsub * sizeof *dec);
    free(codes);
    free(packed);
    free(dec);
    *codebooks_out = codebooks;
    return idx;
}

/* Squared distance in double between sub-vector xs and a centroid. */
static double sub_dist(const float *xs, const float *c, size_t dsub)
{
    double s = 0;
    for (size_t j = 0; j < dsub; j++) {
        double t = (double)xs[j] - c[j];
        s += t * t;
    }
    return s;
}

static void check_same_codes_as_faiss(size_t M, unsigned nbits)
{
    size_t n_train = pqt_sanitized() ? 3000 : 6000, n_enc = pqt_sanitized() ? 1000 : 4000;
    size_t n1, n2, d1, d2;
    float *train = pqt_read_bvecs(pqt_sift_path("siftdeb_learn.bvecs"), 0, n_train, &n1, &d1);
    float *x = pqt_read_bvecs(pqt_sift_path("siftdeb_base.bvecs"), 0, n_enc, &n2, &d2);
    assert_non_null(train);
    assert_non_null(x);
    assert_int_equal(n1, n_train);
    assert_int_equal(n2, n_enc);
    size_t d = d1, K = (size_t)1 << nbits, dsub = d / M;

    pqe_pq *pq = make_pq(d, M, nbits);
    float *fcb = NULL;
    FaissIndex *idx = faiss_pq_trained(d, M, nbits, train, n_train, &fcb, pq);
    assert_int_equal(pqe_pq_set_codebooks(pq, fcb), PQE_OK);

    size_t cb = pqe_pq_code_bytes(pq), pb = pqe_pq_packed_bytes(pq);
    uint8_t *ours = malloc(n_enc * cb), *ours_packed = malloc(n_enc * pb);
    uint8_t *theirs_packed = malloc(n_enc * pb), *theirs = malloc(n_enc * cb);
    float *dec_ours = malloc(n_enc * d * sizeof(float)),
          *dec_theirs = malloc(n_enc * d * sizeof(float));

    assert_int_equal(pqe_pq_encode(pq, x, n_enc, ours), PQE_OK);
    assert_int_equal(pqe_pq_pack(pq, ours, n_enc, ours_packed), PQE_OK);
    assert_int_equal(faiss_Index_sa_encode(idx, (idx_t)n_enc, x, theirs_packed), 0);
    assert_int_equal(pqe_pq_unpack(pq, theirs_packed, n_enc, theirs), PQE_OK);

    /* Same indices, except where two centroids are equally near up to
     * float rounding (FAISS computes |x|^2 - 2x.c + |c|^2 through BLAS for
     * dsub >= 16): those must be genuine near-ties, and rare. */
    size_t near_ties = 0, exact = 0;
    for (size_t i = 0; i < n_enc; i++) {
        for (size_t m = 0; m < M; m++) {
            size_t a = nbits <= 8 ? ours[i * cb + m]
                                  : ours[i * cb + 2 * m] | ((size_t)ours[i * cb + 2 * m + 1] << 8);
            size_t b = nbits <= 8
                           ? theirs[i * cb + m]
                           : theirs[i * cb + 2 * m] | ((size_t)theirs[i * cb + 2 * m + 1] << 8);
            if (a == b) {
                exact++;
                continue;
            }
            const float *xs = x + i * d + m * dsub;
            double da = sub_dist(xs, fcb + (m * K + a) * dsub, dsub);
            double db = sub_dist(xs, fcb + (m * K + b) * dsub, dsub);
            if (fabs(da - db) > 1e-5 * (da + db) + 1e-3)
                fail_msg("vector %zu subspace %zu: ours %zu (%.6f), faiss %zu (%.6f)", i, m, a, da,
                         b, db);
            near_ties++;
        }
    }
    assert_true(near_ties * 1000 <= n_enc * M);
    if (near_ties == 0)
        assert_memory_equal(ours_packed, theirs_packed, n_enc * pb);

    /* Decoding the same codes gives the same vectors, bit for bit. */
    assert_int_equal(pqe_pq_decode(pq, theirs, n_enc, dec_ours), PQE_OK);
    assert_int_equal(faiss_Index_sa_decode(idx, (idx_t)n_enc, theirs_packed, dec_theirs), 0);
    assert_memory_equal(dec_ours, dec_theirs, n_enc * d * sizeof(float));
    print_message("PQ%zux%u: %zu of %zu indices equal, %zu near-ties\n", M, nbits, exact, n_enc * M,
                  near_ties);

    faiss_Index_free(idx);
    pqe_pq_free(pq);
    free(fcb);
    free(train);
    free(x);
    free(ours);
    free(ours_packed);
    free(theirs);
    free(theirs_packed);
    free(dec_ours);
    free(dec_theirs);
}

static void faiss_codebooks_nbits8(void **state)
{
    (void)state;
    check_same_codes_as_faiss(8, 8); /* dsub 16: FAISS encodes through BLAS */
}

static void faiss_codebooks_nbits4(void **state)
{
    (void)state;
    check_same_codes_as_faiss(16, 4); /* dsub 8: FAISS's direct distances */
}

static void faiss_codebooks_nbits6(void **state)
{
    (void)state;
    check_same_codes_as_faiss(16, 6); /* codes straddle byte boundaries */
}

static void faiss_codebooks_nbits10(void **state)
{
    (void)state;
    check_same_codes_as_faiss(8, 10); /* two-byte unpacked codes */
}

/* Our ADC and SDC search from FAISS's codebooks and codes against FAISS's
 * IndexPQ search of the same index (SDC through bench/faiss_pq_sdc.cpp, the
 * setter FAISS's C API lacks): the same distances up to float rounding
 * (FAISS sums its tables in another order), the same ids except where two
 * distances are that close. */
static void check_search_as_faiss(FaissIndex *idx, const pqe_pq *pq, pqe_search_mode mode,
                                  const uint8_t *codes, size_t n, const float *q, size_t nq,
                                  size_t k)
{
    int64_t *ids = malloc(nq * k * sizeof *ids);
    idx_t *fids = malloc(nq * k * sizeof *fids);
    float *dist = malloc(nq * k * sizeof *dist), *fdist = malloc(nq * k * sizeof *fdist);
    pqe_search_params sp = {.mode = mode, .metric = PQE_METRIC_EUCLIDEAN, .k = k, .n_threads = 2};
    size_t swapped = 0;

    assert_int_equal(pqe_pq_search(pq, &sp, codes, n, q, nq, ids, dist), PQE_OK);
    if (mode == PQE_SEARCH_SDC)
        assert_int_equal(pqeval_bench_faiss_pq_use_sdc(idx), 0);
    assert_int_equal(faiss_Index_search(idx, (idx_t)nq, q, (idx_t)k, fdist, fids), 0);
    assert_int_equal(pqeval_bench_faiss_pq_use_adc(idx), 0);
    for (size_t i = 0; i < nq * k; i++) {
        double tol = 1e-5 * fabs((double)fdist[i]) + 1e-3;
        if (fabs((double)dist[i] - fdist[i]) > tol)
            fail_msg("%s query %zu rank %zu: ours id %lld dist %.6f, faiss id %lld dist %.6f",
                     pqe_search_mode_name(mode), i / k, i % k, (long long)ids[i], (double)dist[i],
                     (long long)fids[i], (double)fdist[i]);
        if (ids[i] != (int64_t)fids[i])
            swapped++;
    }
    assert_true(swapped * 100 <= nq * k);
    print_message("%s PQ%zux%u: %zu x %zu results as FAISS's, %zu ids swapped at ties\n",
                  pqe_search_mode_name(mode), pqe_pq_n_sub(pq), pqe_pq_nbits(pq), nq, k, swapped);
    free(ids);
    free(fids);
    free(dist);
    free(fdist);
}

static void search_same_as_faiss(void **state)
{
    (void)state;
    size_t n_train = pqt_sanitized() ? 3000 : 6000, n = pqt_sanitized() ? 2000 : 8000, nq = 50;
    size_t n1, n2, n3, d1, d2, d3, M = 8, k = 20;
    float *train = pqt_read_bvecs(pqt_sift_path("siftdeb_learn.bvecs"), 0, n_train, &n1, &d1);
    float *x = pqt_read_bvecs(pqt_sift_path("siftdeb_base.bvecs"), 0, n, &n2, &d2);
    float *q = pqt_read_bvecs(pqt_sift_path("siftdeb_query.bvecs"), 0, nq, &n3, &d3);
    assert_non_null(train);
    assert_non_null(x);
    assert_non_null(q);
    assert_int_equal(n2, n);
    assert_int_equal(n3, nq);

    pqe_pq *pq = make_pq(d1, M, 8);
    float *fcb = NULL;
    FaissIndex *idx = faiss_pq_trained(d1, M, 8, train, n1, &fcb, pq);
    assert_int_equal(pqe_pq_set_codebooks(pq, fcb), PQE_OK);
    /* FAISS's own codes of the base, searched by both. */
    uint8_t *codes = malloc(n * M);
    assert_int_equal(faiss_Index_add(idx, (idx_t)n, x), 0);
    assert_int_equal(faiss_Index_sa_encode(idx, (idx_t)n, x, codes), 0);

    check_search_as_faiss(idx, pq, PQE_SEARCH_ADC, codes, n, q, nq, k);
    check_search_as_faiss(idx, pq, PQE_SEARCH_SDC, codes, n, q, nq, k);

    faiss_Index_free(idx);
    pqe_pq_free(pq);
    free(fcb);
    free(codes);
    free(train);
    free(x);
    free(q);
}

/* Mean squared reconstruction error of FAISS's codec over n vectors. */
static double faiss_distortion(FaissIndex *idx, const pqe_pq *pq, const float *x, size_t n,
                               size_t d)
{
    size_t cs = pqe_pq_packed_bytes(pq);
    uint8_t *codes = malloc(n * cs);
    float *dec = malloc(n * d * sizeof *dec);
    assert_int_equal(faiss_Index_sa_encode(idx, (idx_t)n, x, codes), 0);
    assert_int_equal(faiss_Index_sa_decode(idx, (idx_t)n, codes, dec), 0);
    double s = 0;
    for (size_t i = 0; i < n * d; i++) {
        double t = (double)x[i] - dec[i];
        s += t * t;
    }
    free(codes);
    free(dec);
    return s / (double)n;
}

/* Ours, measured the same way: encode, decode, squared error. */
static double our_distortion(const pqe_pq *pq, const float *x, size_t n, size_t d)
{
    uint8_t *codes = malloc(n * pqe_pq_code_bytes(pq));
    float *dec = malloc(n * d * sizeof *dec);
    assert_int_equal(pqe_pq_encode(pq, x, n, codes), PQE_OK);
    assert_int_equal(pqe_pq_decode(pq, codes, n, dec), PQE_OK);
    double s = 0;
    for (size_t i = 0; i < n * d; i++) {
        double t = (double)x[i] - dec[i];
        s += t * t;
    }
    /* The per-subspace errors add up to the same total. */
    double *sub = calloc(pqe_pq_n_sub(pq), sizeof *sub), total = 0;
    assert_int_equal(pqe_pq_subspace_error(pq, x, codes, n, sub), PQE_OK);
    for (size_t m = 0; m < pqe_pq_n_sub(pq); m++)
        total += sub[m];
    assert_float_equal(total, s, 1e-6 * s);
    free(sub);
    free(codes);
    free(dec);
    return s / (double)n;
}

static void compare_distortion(const char *name, const float *train, size_t n_train,
                               const float *eval, size_t n_eval, size_t d, size_t M, unsigned nbits)
{
    pqe_pq *pq = make_pq(d, M, nbits);
    float *fcb = NULL;
    FaissIndex *idx = faiss_pq_trained(d, M, nbits, train, n_train, &fcb, pq);
    double theirs = faiss_distortion(idx, pq, eval, n_eval, d);

    assert_int_equal(pqe_pq_train(pq, train, n_train), PQE_OK);
    double ours = our_distortion(pq, eval, n_eval, d);
    double ours_train = our_distortion(pq, train, n_train, d);
    double theirs_train = faiss_distortion(idx, pq, train, n_train, d);
    print_message("%s PQ%zux%u, %zu train: distortion ours %.2f, faiss %.2f (ratio %.4f); on "
                  "train ours %.2f faiss %.2f\n",
                  name, M, nbits, n_train, ours, theirs, ours / theirs, ours_train, theirs_train);
    assert_true(ours <= 1.01 * theirs);

    /* The trace has one energy per iteration, non-increasing. */
    for (size_t m = 0; m < M; m++) {
        const pqe_kmeans_result *tr = pqe_pq_train_trace(pq, m);
        assert_non_null(tr);
        assert_int_equal(tr->n_iters, PQE_KMEANS_ITERS_DEFAULT);
        for (unsigned it = 1; it < tr->n_iters; it++)
            assert_true(tr->energy[it] <= tr->energy[it - 1] * (1 + 1e-4));
    }
    faiss_Index_free(idx);
    pqe_pq_free(pq);
    free(fcb);
}

static void distortion_within_1pct_of_faiss_sift(void **state)
{
    (void)state;
    size_t n_train = pqt_sanitized() ? 6000 : 20000, n_eval = pqt_sanitized() ? 3000 : 10000;
    size_t n1, n2, d1, d2;
    float *train = pqt_read_bvecs(pqt_sift_path("siftdeb_learn.bvecs"), 0, n_train, &n1, &d1);
    float *eval = pqt_read_bvecs(pqt_sift_path("siftdeb_base.bvecs"), 0, n_eval, &n2, &d2);
    assert_non_null(train);
    assert_non_null(eval);
    assert_int_equal(n1, n_train);
    assert_int_equal(d1, 128);
    compare_distortion("sift", train, n_train, eval, n_eval, 128, 8, 8);
    free(train);
    free(eval);
}

static void distortion_within_1pct_of_faiss_fashion(void **state)
{
    (void)state;
    size_t n_train = pqt_sanitized() ? 3000 : 10000, n_eval = pqt_sanitized() ? 2000 : 5000;
    size_t n1, n2, d1, d2;
    float *train = pqt_read_idx_images_gz(PQT_FASHION_TRAIN, 0, n_train, &n1, &d1);
    float *eval = pqt_read_idx_images_gz(PQT_FASHION_TRAIN, 50000, n_eval, &n2, &d2);
    assert_non_null(train);
    assert_non_null(eval);
    assert_int_equal(n1, n_train);
    assert_int_equal(d1, 784);
    compare_distortion("fashion-mnist", train, n_train, eval, n_eval, 784, 16, 8);
    free(train);
    free(eval);
}

int main(void)
{
    /* One thread for FAISS and for us: the test machine has two cores
     * shared with other jobs, where spinning OpenMP and OpenBLAS threads
     * slow FAISS's training several times over.  test_search and
     * test_kmeans exercise the threaded paths. */
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_m_lists_divisors),
        cmocka_unit_test(bad_nbits),
        cmocka_unit_test(too_few_training_points),
        cmocka_unit_test(nan_in_training_data),
        cmocka_unit_test(identical_training_vectors),
        cmocka_unit_test(threads_do_not_change_codebooks),
        cmocka_unit_test(few_points_per_centroid_warns),
        cmocka_unit_test(encode_decode_known_codebooks),
        cmocka_unit_test(encode_is_nearest_centroid),
        cmocka_unit_test(pack_unpack_round_trip_all_nbits),
        cmocka_unit_test(pack_known_bytes),
        cmocka_unit_test(save_load_round_trip_and_errors),
        cmocka_unit_test(faiss_codebooks_nbits8),
        cmocka_unit_test(faiss_codebooks_nbits4),
        cmocka_unit_test(faiss_codebooks_nbits6),
        cmocka_unit_test(faiss_codebooks_nbits10),
        cmocka_unit_test(search_same_as_faiss),
        cmocka_unit_test(distortion_within_1pct_of_faiss_sift),
        cmocka_unit_test(distortion_within_1pct_of_faiss_fashion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
