/* pq.c - product quantization: per-subspace codebooks, encode, decode,
 * packing, and the quantizer file.
 *
 * H. Jegou, M. Douze, C. Schmid, "Product quantization for nearest neighbor
 * search", IEEE TPAMI 33(1), 2011: d is cut into M contiguous subspaces of
 * dsub = d/M dimensions, each quantized by its own k-means codebook of
 * K = 2^nbits centroids.
 *
 * Choices, and why:
 * 1. Each subspace is trained by pqe_kmeans_strided on its columns, read
 *    in place (k-means copies only the points it uses), with seed
 *    pqe_rng_derive(seed, m): the subspaces are independent and any one
 *    can be reproduced alone.  With at least two subspaces per thread (or a multiple of the threads) they train in
 *    parallel, one single-threaded k-means per thread; otherwise one after
 *    the other with the threads inside k-means.  The results are the same.
 * 2. The encoder computes every distance directly, sum over the dsub
 *    coordinates in order, against a transposed copy of the codebook
 *    (dsub x K) so the inner loop runs over K contiguous centroids and
 *    vectorises.  Direct sums (rather than |x|^2 - 2x.c + |c|^2 through
 *    BLAS, as FAISS does for dsub >= 16) give exact ties for equal
 *    centroids, so "ties go to the smaller index" holds exactly.
 * 3. Unpacked codes (1 byte per index for nbits <= 8, else 2 bytes
 *    little-endian) are what search reads: aligned loads, no bit twiddling
 *    in the inner loop.  pack/unpack give FAISS's LSB-first bit string.
 *
 * File format (all little-endian), version 1:
 *   offset  size        field
 *   0       8           magic "PQEVALPQ"
 *   8       4           version (uint32) = 1
 *   12      4           nbits (uint32), 1..16
 *   16      8           dim d (uint64)
 *   24      8           n_sub M (uint64), divides d
 *   32      4*M*K*dsub  codebooks, float32, subspace-major (M x K x dsub)
 *   end-4   4           CRC-32 (zlib) of every byte before it
 * A reader checks the magic, version, sizes, the exact file length, the
 * CRC and that every value is finite.
 *
 * Depends on: pq.h, kmeans.h, rng.h, atomic_file.h, util.h (crc32 through zlib);
 * OpenMP; OpenBLAS (its thread count).
 */
#include "pqeval/pq.h"

#include <errno.h>
#include <math.h>
#include <cblas.h> /* openblas_set_num_threads while subspaces train in parallel */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/atomic_file.h"
#include "pqeval/rng.h"
#include "pq_internal.h"
#include "simd/adc_kernels.h"
#include "util.h"

#define PQ_FILE_MAGIC "PQEVALPQ"
enum { PQ_FILE_VERSION = 1, PQ_FILE_HEADER = 32 };

struct pqe_pq {
    size_t dim;                /* d */
    size_t n_sub;              /* M */
    size_t dsub;               /* d / M */
    unsigned nbits;            /* bits per index */
    size_t ksub;               /* K = 2^nbits */
    pqe_kmeans_params kmeans;  /* per-subspace k-means settings (k = K) */
    float *codebooks;          /* M x K x dsub, NULL before training */
    float *codebooks_t;        /* M x dsub x K, the encoder's layout */
    pqe_kmeans_result *traces; /* M energy traces of the last training, or NULL */
};

pqe_pq_params pqe_pq_params_default(size_t dim, size_t n_sub, unsigned nbits)
{
    pqe_pq_params p;
    memset(&p, 0, sizeof p);
    p.dim = dim;
    p.n_sub = n_sub;
    p.nbits = nbits;
    p.kmeans = pqe_kmeans_params_default(nbits >= 1 && nbits <= 16 ? (size_t)1 << nbits : 0);
    return p;
}

/* Writes the divisors of d into buf as "1, 2, 4, ...". */
static void list_divisors(size_t d, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t m = 1; m <= d && used + 1 < cap; m++) {
        if (d % m != 0)
            continue;
        int w = snprintf(buf + used, cap - used, "%s%zu", used ? ", " : "", m);
        if (w < 0 || (size_t)w >= cap - used) {
            buf[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
}

static pqe_status check_shape(size_t dim, size_t n_sub, unsigned nbits)
{
    if (dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "pq: dimension must be positive, not 0");
    if (nbits < PQE_PQ_NBITS_MIN || nbits > PQE_PQ_NBITS_MAX)
        return pqe_fail(PQE_ERR_PARAM, "pq: nbits %u is outside %d..%d", nbits, PQE_PQ_NBITS_MIN,
                        PQE_PQ_NBITS_MAX);
    if (n_sub == 0 || dim % n_sub != 0) {
        char divs[512];
        list_divisors(dim, divs, sizeof divs);
        return pqe_fail(PQE_ERR_PARAM,
                        "pq: M = %zu subspaces do not divide the dimension %zu; valid M: %s", n_sub,
                        dim, divs);
    }
    return PQE_OK;
}

pqe_status pqe_pq_new(const pqe_pq_params *params, pqe_pq **out)
{
    pqe_pq *self;
    pqe_status st;

    if (!out)
        return pqe_fail(PQE_ERR_PARAM, "pq: no output pointer");
    *out = NULL;
    if (!params)
        return pqe_fail(PQE_ERR_PARAM, "pq: no parameters");
    st = check_shape(params->dim, params->n_sub, params->nbits);
    if (st != PQE_OK)
        return st;
    self = calloc(1, sizeof *self);
    if (!self)
        return pqe_fail(PQE_ERR_NOMEM, "pq: cannot allocate the quantizer");
    self->dim = params->dim;
    self->n_sub = params->n_sub;
    self->dsub = params->dim / params->n_sub;
    self->nbits = params->nbits;
    self->ksub = (size_t)1 << params->nbits;
    self->kmeans = params->kmeans;
    self->kmeans.k = self->ksub;
    if (self->kmeans.n_iters == 0)
        self->kmeans.n_iters = PQE_KMEANS_ITERS_DEFAULT;
    *out = self;
    return PQE_OK;
}

static void free_traces(pqe_pq *self)
{
    if (!self->traces)
        return;
    for (size_t m = 0; m < self->n_sub; m++)
        pqe_kmeans_result_free(&self->traces[m]);
    free(self->traces);
    self->traces = NULL;
}

void pqe_pq_free(pqe_pq *self)
{
    if (!self)
        return;
    free(self->codebooks);
    free(self->codebooks_t);
    free_traces(self);
    free(self);
}

size_t pqe_pq_dim(const pqe_pq *self)
{
    return self->dim;
}

size_t pqe_pq_n_sub(const pqe_pq *self)
{
    return self->n_sub;
}

unsigned pqe_pq_nbits(const pqe_pq *self)
{
    return self->nbits;
}

size_t pqe_pq_ksub(const pqe_pq *self)
{
    return self->ksub;
}

size_t pqe_pq_code_bytes(const pqe_pq *self)
{
    return self->n_sub * (self->nbits <= 8 ? 1 : 2);
}

size_t pqe_pq_packed_bytes(const pqe_pq *self)
{
    return (self->n_sub * self->nbits + 7) / 8;
}

bool pqe_pq_is_trained(const pqe_pq *self)
{
    return self->codebooks != NULL;
}

const float *pqe_pq_codebooks(const pqe_pq *self)
{
    return self->codebooks;
}

const pqe_kmeans_result *pqe_pq_train_trace(const pqe_pq *self, size_t sub)
{
    if (!self->traces || sub >= self->n_sub)
        return NULL;
    return &self->traces[sub];
}

/* Installs codebooks (taking ownership) and builds the transposed copy. */
static pqe_status install_codebooks(pqe_pq *self, float *codebooks)
{
    size_t K = self->ksub, dsub = self->dsub;
    float *t = pqe_alloc_array(self->dim, K * sizeof *t, "pq transposed codebooks");
    if (!t) {
        free(codebooks);
        return pqe_alloc_status();
    }
    for (size_t m = 0; m < self->n_sub; m++) {
        const float *cb = codebooks + m * K * dsub;
        float *ct = t + m * dsub * K;
        for (size_t c = 0; c < K; c++)
            for (size_t j = 0; j < dsub; j++)
                ct[j * K + c] = cb[c * dsub + j];
    }
    free(self->codebooks);
    free(self->codebooks_t);
    self->codebooks = codebooks;
    self->codebooks_t = t;
    return PQE_OK;
}

pqe_status pqe_pq_set_codebooks(pqe_pq *self, const float *codebooks)
{
    size_t total = self->dim * self->ksub; /* M * K * dsub */
    float *copy;

    if (!codebooks)
        return pqe_fail(PQE_ERR_PARAM, "pq: no codebooks given");
    for (size_t i = 0; i < total; i++) {
        if (!isfinite(codebooks[i]))
            return pqe_fail(PQE_ERR_DATA,
                            "pq codebooks: subspace %zu, centroid %zu, coordinate %zu is %g",
                            i / (self->ksub * self->dsub), i / self->dsub % self->ksub,
                            i % self->dsub, (double)codebooks[i]);
    }
    copy = pqe_alloc_array(total, sizeof *copy, "pq codebooks");
    if (!copy)
        return pqe_alloc_status();
    memcpy(copy, codebooks, total * sizeof *copy);
    free_traces(self);
    return install_codebooks(self, copy);
}

/* Checks n vectors of dimension dim for non-finite values. */
static pqe_status check_vectors(const float *x, size_t n, size_t dim, const char *what)
{
    size_t total = n * dim, bad = pqe_first_nonfinite(x, total);
    if (bad < total)
        return pqe_fail(PQE_ERR_DATA, "%s: row %zu, column %zu is %g (not finite)", what, bad / dim,
                        bad % dim, (double)x[bad]);
    return PQE_OK;
}

/* k-means of subspace m, read in place from the training vectors, with
 * the subspace's own seed. */
static pqe_status train_subspace(const pqe_pq *self, const float *x, size_t n, size_t m,
                                 int n_threads, float *codebooks, pqe_kmeans_result *traces)
{
    size_t K = self->ksub, dsub = self->dsub;
    pqe_kmeans_params kp = self->kmeans;
    pqe_status st;

    kp.k = K;
    kp.seed = pqe_rng_derive(self->kmeans.seed, m);
    kp.n_threads = n_threads;
    st = pqe_kmeans_strided(x + m * dsub, n, dsub, self->dim, &kp, codebooks + m * K * dsub,
                            &traces[m]);
    if (st != PQE_OK)
        pqe_fail_context(st, "pq train: subspace %zu", m);
    return st;
}

/* Every subspace on its own thread, k-means single-threaded: no hand-over
 * between threads inside an iteration, no idle thread while one finishes a
 * block, and OpenBLAS held at one thread so that its threads do not compete
 * with these.  Each k-means depends only on its seed, so the codebooks are
 * those of the one-at-a-time loop.  An error on a worker thread is carried
 * back with its message (messages are per thread); the first subspace that
 * failed is reported. */
static pqe_status train_per_subspace(const pqe_pq *self, const float *x, size_t n, float *codebooks,
                                     pqe_kmeans_result *traces, int n_threads)
{
    size_t M = self->n_sub, failed_m = SIZE_MAX;
    pqe_status failed = PQE_OK;
    char message[512] = "";
    int blas_threads = openblas_get_num_threads();

    openblas_set_num_threads(1);
#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (size_t m = 0; m < M; m++) {
            pqe_status st = train_subspace(self, x, n, m, 1, codebooks, traces);
            if (st != PQE_OK) {
#pragma omp critical(pq_train_failure)
                if (m < failed_m) {
                    failed_m = m;
                    failed = st;
                    snprintf(message, sizeof message, "%s", pqe_last_error());
                }
            }
        }
    }
    openblas_set_num_threads(blas_threads);
    if (failed != PQE_OK)
        return pqe_fail(failed, "%s", message);
    return PQE_OK;
}

pqe_status pqe_pq_train(pqe_pq *self, const float *x, size_t n)
{
    pqe_status st = PQE_OK;
    size_t M = self->n_sub, K = self->ksub;
    float *codebooks = NULL;
    pqe_kmeans_result *traces = NULL;

    if (!x && n > 0)
        return pqe_fail(PQE_ERR_PARAM, "pq train: no training vectors");
    if (n < K) {
        unsigned workable = 0;
        while (workable < PQE_PQ_NBITS_MAX && ((size_t)2 << workable) <= n)
            workable++;
        if (workable == 0)
            return pqe_fail(PQE_ERR_PARAM,
                            "pq train: %zu training vectors are fewer than the K = %zu centroids "
                            "of nbits %u; at least 2 vectors are needed for nbits 1",
                            n, K, self->nbits);
        return pqe_fail(PQE_ERR_PARAM,
                        "pq train: %zu training vectors are fewer than the K = %zu centroids of "
                        "nbits %u; use nbits <= %u or more training vectors",
                        n, K, self->nbits, workable);
    }
    st = check_vectors(x, n, self->dim, "pq training data");
    if (st != PQE_OK)
        return st;
    if (n < (size_t)PQE_KMEANS_MIN_POINTS_PER_CENTROID * K)
        pqe_log(PQE_LOG_WARN,
                "pq train: %zu training vectors for K = %zu centroids is fewer than %d per "
                "centroid; the codebooks may be poor",
                n, K, PQE_KMEANS_MIN_POINTS_PER_CENTROID);

    /* Subspaces in parallel, one k-means per thread, when there are enough
     * of them to share out evenly; otherwise one at a time, each k-means
     * using every thread on blocks of points. */
    int n_threads = self->kmeans.n_threads > 0 ? self->kmeans.n_threads : omp_get_max_threads();
    int per_sub = M >= 2 * (size_t)n_threads || M % (size_t)n_threads == 0;

    codebooks = pqe_alloc_array(self->dim, K * sizeof *codebooks, "pq codebooks");
    traces = calloc(M, sizeof *traces);
    if (!codebooks) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    if (!traces) {
        st = pqe_fail(PQE_ERR_NOMEM, "pq train: cannot allocate %zu energy traces", M);
        goto cleanup;
    }

    if (per_sub) {
        st = train_per_subspace(self, x, n, codebooks, traces, n_threads);
        if (st != PQE_OK)
            goto cleanup;
    } else {
        for (size_t m = 0; m < M; m++) {
            st = train_subspace(self, x, n, m, self->kmeans.n_threads, codebooks, traces);
            if (st != PQE_OK)
                goto cleanup;
        }
    }

    st = install_codebooks(self, codebooks);
    codebooks = NULL; /* owned by self now, or freed on failure */
    if (st != PQE_OK)
        goto cleanup;
    free_traces(self);
    self->traces = traces;
    traces = NULL;

cleanup:
    if (traces) {
        for (size_t m = 0; m < M; m++)
            pqe_kmeans_result_free(&traces[m]);
        free(traces);
    }
    free(codebooks);
    return st;
}

static pqe_status require_trained(const pqe_pq *self, const char *what)
{
    if (!self->codebooks)
        return pqe_fail(PQE_ERR_PARAM, "pq %s: the quantizer is not trained", what);
    return PQE_OK;
}

/* Encodes one vector; dist is a buffer of K floats. */
static void encode_one(const pqe_pq *self, const float *x, float *dist, uint8_t *code)
{
    size_t K = self->ksub, dsub = self->dsub;

    for (size_t m = 0; m < self->n_sub; m++) {
        const float *xs = x + m * dsub;
        const float *ct = self->codebooks_t + m * dsub * K;

        pqe_adc_table(xs, ct, 1, K, dsub, 0, dist);
        size_t best = 0;
        float best_d = dist[0];
        for (size_t c = 1; c < K; c++) {
            if (dist[c] < best_d) {
                best_d = dist[c];
                best = c;
            }
        }
        if (self->nbits <= 8) {
            code[m] = (uint8_t)best;
        } else {
            code[2 * m] = (uint8_t)(best & 0xff);
            code[2 * m + 1] = (uint8_t)(best >> 8);
        }
    }
}

pqe_status pqe_pq_encode(const pqe_pq *self, const float *x, size_t n, uint8_t *codes)
{
    pqe_status st = require_trained(self, "encode");
    size_t cb = pqe_pq_code_bytes(self);
    float *dist = NULL;
    int n_threads = self->kmeans.n_threads > 0 ? self->kmeans.n_threads : omp_get_max_threads();

    if (st != PQE_OK || n == 0)
        return st;
    st = check_vectors(x, n, self->dim, "pq encode input");
    if (st != PQE_OK)
        return st;
    dist = pqe_alloc_array((size_t)n_threads, self->ksub * sizeof *dist, "pq encode buffers");
    if (!dist)
        return pqe_alloc_status();

#pragma omp parallel num_threads(n_threads)
    {
        float *mine = dist + (size_t)omp_get_thread_num() * self->ksub;
#pragma omp for schedule(dynamic, 256)
        for (size_t i = 0; i < n; i++)
            encode_one(self, x + i * self->dim, mine, codes + i * cb);
    }
    free(dist);
    return PQE_OK;
}

/* Index of subspace m in an unpacked code. */
static inline size_t code_index(const uint8_t *code, size_t m, unsigned nbits)
{
    if (nbits <= 8)
        return code[m];
    return (size_t)code[2 * m] | ((size_t)code[2 * m + 1] << 8);
}

pqe_status pqe_pq_check_codes(const pqe_pq *self, const uint8_t *codes, size_t n)
{
    size_t cb = pqe_pq_code_bytes(self);

    if (self->nbits == 8 || self->nbits == 16)
        return PQE_OK; /* every byte pattern is a valid index */
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < self->n_sub; m++) {
            size_t c = code_index(codes + i * cb, m, self->nbits);
            if (c >= self->ksub)
                return pqe_fail(PQE_ERR_DATA,
                                "pq codes: code %zu, subspace %zu has index %zu, not below K = %zu",
                                i, m, c, self->ksub);
        }
    }
    return PQE_OK;
}

pqe_status pqe_pq_decode(const pqe_pq *self, const uint8_t *codes, size_t n, float *x)
{
    pqe_status st = require_trained(self, "decode");
    size_t cb = pqe_pq_code_bytes(self), dsub = self->dsub, K = self->ksub;

    if (st == PQE_OK)
        st = pqe_pq_check_codes(self, codes, n);
    if (st != PQE_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *code = codes + i * cb;
        float *out = x + i * self->dim;
        for (size_t m = 0; m < self->n_sub; m++) {
            size_t c = code_index(code, m, self->nbits);
            memcpy(out + m * dsub, self->codebooks + (m * K + c) * dsub, dsub * sizeof *out);
        }
    }
    return PQE_OK;
}

/* Chunks of the per-subspace error sums: a fixed number, so the order of
 * the additions (and the result) does not depend on the thread count. */
enum { PQ_ERROR_CHUNKS = 64 };

pqe_status pqe_pq_subspace_error(const pqe_pq *self, const float *x, const uint8_t *codes, size_t n,
                                 double *sub_err)
{
    pqe_status st = require_trained(self, "subspace error");
    size_t M = self->n_sub, dsub = self->dsub, K = self->ksub, cb = pqe_pq_code_bytes(self);
    double *partial = NULL;

    if (st == PQE_OK)
        st = pqe_pq_check_codes(self, codes, n);
    if (st != PQE_OK || n == 0)
        return st;
    partial = pqe_calloc_array(PQ_ERROR_CHUNKS, M * sizeof *partial, "pq error sums");
    if (!partial)
        return pqe_alloc_status();

#pragma omp parallel for schedule(dynamic, 1)
    for (size_t ch = 0; ch < PQ_ERROR_CHUNKS; ch++) {
        size_t i0 = n * ch / PQ_ERROR_CHUNKS, i1 = n * (ch + 1) / PQ_ERROR_CHUNKS;
        double *acc = partial + ch * M;
        for (size_t i = i0; i < i1; i++) {
            const float *row = x + i * self->dim;
            const uint8_t *code = codes + i * cb;
            for (size_t m = 0; m < M; m++) {
                const float *c =
                    self->codebooks + (m * K + code_index(code, m, self->nbits)) * dsub;
                const float *xs = row + m * dsub;
                double s = 0;
                for (size_t j = 0; j < dsub; j++) {
                    double t = (double)xs[j] - (double)c[j];
                    s += t * t;
                }
                acc[m] += s;
            }
        }
    }
    for (size_t ch = 0; ch < PQ_ERROR_CHUNKS; ch++)
        for (size_t m = 0; m < M; m++)
            sub_err[m] += partial[ch * M + m];
    free(partial);
    return PQE_OK;
}

pqe_status pqe_pq_pack(const pqe_pq *self, const uint8_t *codes, size_t n, uint8_t *packed)
{
    size_t cb = pqe_pq_code_bytes(self), pb = pqe_pq_packed_bytes(self);
    unsigned nbits = self->nbits;
    pqe_status st = pqe_pq_check_codes(self, codes, n);

    if (st != PQE_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *code = codes + i * cb;
        uint8_t *out = packed + i * pb;
        size_t bit = 0;
        memset(out, 0, pb);
        for (size_t m = 0; m < self->n_sub; m++, bit += nbits) {
            /* nbits <= 16 plus a shift <= 7 fits in 3 bytes */
            uint32_t w = (uint32_t)code_index(code, m, nbits) << (bit & 7);
            size_t byte = bit >> 3, touched = ((bit & 7) + nbits + 7) / 8;
            for (size_t b = 0; b < touched; b++)
                out[byte + b] |= (uint8_t)(w >> (8 * b));
        }
    }
    return PQE_OK;
}

pqe_status pqe_pq_unpack(const pqe_pq *self, const uint8_t *packed, size_t n, uint8_t *codes)
{
    size_t cb = pqe_pq_code_bytes(self), pb = pqe_pq_packed_bytes(self);
    unsigned nbits = self->nbits;
    uint32_t mask = (uint32_t)self->ksub - 1;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *in = packed + i * pb;
        uint8_t *code = codes + i * cb;
        size_t bit = 0;
        for (size_t m = 0; m < self->n_sub; m++, bit += nbits) {
            size_t byte = bit >> 3, touched = ((bit & 7) + nbits + 7) / 8;
            uint32_t w = 0;
            for (size_t b = 0; b < touched; b++)
                w |= (uint32_t)in[byte + b] << (8 * b);
            uint32_t v = (w >> (bit & 7)) & mask;
            if (nbits <= 8) {
                code[m] = (uint8_t)v;
            } else {
                code[2 * m] = (uint8_t)(v & 0xff);
                code[2 * m + 1] = (uint8_t)(v >> 8);
            }
        }
    }
    return PQE_OK;
}

/* ---- the quantizer file ------------------------------------------------ */

pqe_status pqe_pq_save(const pqe_pq *self, const char *path)
{
    pqe_status st = require_trained(self, "save");
    size_t n_floats = self->dim * self->ksub, bytes;
    uint8_t *buf = NULL;
    pqe_atomic_file af;

    memset(&af, 0, sizeof af);
    if (st != PQE_OK)
        return st;
    if (!pqe_mul_ok(n_floats, 4, &bytes) || bytes > SIZE_MAX - PQ_FILE_HEADER - 4)
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: the codebooks are too large to save", path);
    bytes += PQ_FILE_HEADER + 4;
    buf = pqe_alloc_array(bytes, 1, "pq file buffer");
    if (!buf)
        return pqe_alloc_status();

    memcpy(buf, PQ_FILE_MAGIC, 8);
    pqe_put_u32(buf + 8, PQ_FILE_VERSION);
    pqe_put_u32(buf + 12, self->nbits);
    pqe_put_u64(buf + 16, self->dim);
    pqe_put_u64(buf + 24, self->n_sub);
    for (size_t i = 0; i < n_floats; i++) {
        uint32_t u;
        memcpy(&u, &self->codebooks[i], 4);
        pqe_put_u32(buf + PQ_FILE_HEADER + 4 * i, u);
    }
    pqe_put_u32(buf + bytes - 4, pqe_crc32(buf, bytes - 4));

    st = pqe_atomic_open(path, &af);
    if (st != PQE_OK)
        goto cleanup;
    if (fwrite(buf, 1, bytes, af.fp) != bytes) {
        st = pqe_fail(PQE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        pqe_atomic_abort(&af);
        goto cleanup;
    }
    st = pqe_atomic_commit(&af);

cleanup:
    free(buf);
    return st;
}

pqe_status pqe_pq_load(const char *path, pqe_pq **out)
{
    pqe_status st = PQE_OK;
    FILE *fp = NULL;
    uint8_t header[PQ_FILE_HEADER];
    uint8_t *buf = NULL;
    float *codebooks = NULL;
    pqe_pq *pq = NULL;
    long file_len;
    size_t expect, n_floats;

    *out = NULL;
    fp = fopen(path, "rb");
    if (!fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0 || (file_len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot find the file length: %s", path, strerror(errno));
        goto cleanup;
    }
    if ((size_t)file_len < PQ_FILE_HEADER) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: truncated: %ld bytes, shorter than the %d-byte pq file header", path,
                      file_len, PQ_FILE_HEADER);
        goto cleanup;
    }
    if (fread(header, 1, PQ_FILE_HEADER, fp) != PQ_FILE_HEADER) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot read the header", path);
        goto cleanup;
    }
    if (memcmp(header, PQ_FILE_MAGIC, 8) != 0) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: not a pqeval pq file (magic is not %s)", path,
                      PQ_FILE_MAGIC);
        goto cleanup;
    }
    uint32_t version = pqe_get_u32(header + 8), nbits = pqe_get_u32(header + 12);
    uint64_t dim = pqe_get_u64(header + 16), n_sub = pqe_get_u64(header + 24);
    if (version != PQ_FILE_VERSION) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: pq file version %u, this reader knows only %d", path,
                      version, PQ_FILE_VERSION);
        goto cleanup;
    }
    if (nbits < PQE_PQ_NBITS_MIN || nbits > PQE_PQ_NBITS_MAX || dim == 0 || dim > SIZE_MAX ||
        n_sub == 0 || dim % n_sub != 0) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: bad pq header: dim %llu, M %llu, nbits %u (corrupt file?)", path,
                      (unsigned long long)dim, (unsigned long long)n_sub, nbits);
        goto cleanup;
    }
    if (!pqe_mul_ok((size_t)dim, (size_t)1 << nbits, &n_floats) ||
        !pqe_mul_ok(n_floats, 4, &expect) || expect > SIZE_MAX - PQ_FILE_HEADER - 4) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: pq header sizes overflow: dim %llu, nbits %u", path,
                      (unsigned long long)dim, nbits);
        goto cleanup;
    }
    expect += PQ_FILE_HEADER + 4;
    if ((size_t)file_len != expect) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: %s: %ld bytes, expected %zu for dim %llu, M %llu, "
                      "nbits %u",
                      path, (size_t)file_len < expect ? "truncated" : "trailing bytes", file_len,
                      expect, (unsigned long long)dim, (unsigned long long)n_sub, nbits);
        goto cleanup;
    }
    buf = pqe_alloc_array(expect, 1, "pq file buffer");
    codebooks = pqe_alloc_array(n_floats, sizeof *codebooks, "pq codebooks");
    if (!buf || !codebooks) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    memcpy(buf, header, PQ_FILE_HEADER);
    if (fread(buf + PQ_FILE_HEADER, 1, expect - PQ_FILE_HEADER, fp) != expect - PQ_FILE_HEADER) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot read the codebooks", path);
        goto cleanup;
    }
    uint32_t crc_stored = pqe_get_u32(buf + expect - 4);
    uint32_t crc_actual = pqe_crc32(buf, expect - 4);
    if (crc_stored != crc_actual) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: checksum mismatch (stored %08x, computed %08x): corrupt "
                      "file",
                      path, crc_stored, crc_actual);
        goto cleanup;
    }
    for (size_t i = 0; i < n_floats; i++) {
        uint32_t u = pqe_get_u32(buf + PQ_FILE_HEADER + 4 * i);
        memcpy(&codebooks[i], &u, 4);
    }

    pqe_pq_params params = pqe_pq_params_default((size_t)dim, (size_t)n_sub, nbits);
    st = pqe_pq_new(&params, &pq);
    if (st == PQE_OK)
        st = pqe_pq_set_codebooks(pq, codebooks);
    if (st != PQE_OK) {
        pqe_fail_context(st, "%s", path);
        goto cleanup;
    }
    *out = pq;
    pq = NULL;

cleanup:
    if (fp)
        fclose(fp);
    free(buf);
    free(codebooks);
    pqe_pq_free(pq);
    return st;
}

const float *pqe_pq_codebooks_t(const pqe_pq *self)
{
    return self->codebooks_t;
}
