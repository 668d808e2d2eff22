/* kmeans.c - seeded Lloyd k-means for PQ codebooks.
 *
 * Algorithm: S. Lloyd, "Least squares quantization in PCM", IEEE Trans.
 * Inf. Theory 28(2), 1982; initialisation by k-means++ from D. Arthur and
 * S. Vassilvitskii, "k-means++: the advantages of careful seeding", SODA
 * 2007, or by k distinct training points drawn at random (FAISS's default).
 *
 * Choices, and why:
 * 1. Assignment computes |x|^2 - 2 x.c + |c|^2 with ONE sgemm per block of
 *    points (alpha = -2; point norms once per run, centroid norms once per
 *    iteration).  Blocks of at most 2^18 / k points (1 MiB of products)
 *    keep memory bounded and the products in cache whatever n and k are.
 *    OpenMP threads take whole blocks, each with a single-threaded sgemm
 *    (OpenBLAS is set to one thread meanwhile and restored after): letting
 *    OpenBLAS thread each small product made its threads and OpenMP's spin
 *    against each other on a shared two-core machine, several times
 *    slower.  The argmin pass is written with SSE (GCC -O2 kept the
 *    running minimum in memory and the pass cost three times the sgemm).
 *    Ties go to the smaller centroid index; distances that round below
 *    zero are clamped to 0.
 * 2. The energy of iteration i is the mean squared distance of the points
 *    to the centroids they were assigned to in that iteration, i.e. before
 *    the update (as FAISS reports it).  Lloyd never increases it, except by
 *    the tiny perturbation of a split (below) and rounding.
 * 3. Block boundaries and the centroid sums (double, sequential) do not
 *    depend on the thread count: a seed fixes the centroids exactly.
 * 4. Empty clusters: after the update, the cluster with the largest
 *    squared error is split -- its centroid is copied into the empty slot
 *    and both are pushed apart by a relative 1/1024 in alternating
 *    directions per coordinate (FAISS's split), where "relative" falls back
 *    to the cluster's RMS spread for coordinates near zero; its count and
 *    error are shared between the two.  There is no division by an empty
 *    count and no NaN: with n >= k some cluster holds two points when one
 *    is empty.  FAISS picks the cluster to split at random with probability
 *    growing with its size; choosing by size alone was tried first and
 *    failed on Fashion-MNIST, whose many all-zero sub-vectors form a huge
 *    cluster that a split cannot divide (0.8% worse distortion than FAISS).
 *    The largest error is deterministic and always divisible when non-zero.
 * 5. Subsampling to max_points_per_centroid * k points uses the seed, as in
 *    FAISS (which draws a random permutation for it).
 * 6. Known limit: openblas_set_num_threads is process-wide, so two k-means
 *    runs on different threads at once could leave OpenBLAS at one thread
 *    (results stay correct).
 *
 * Depends on: status.h, rng.h, util.h; CBLAS (OpenBLAS) and OpenMP.
 */
#include "pqeval/kmeans.h"

#include <cblas.h> /* cblas_sgemm: the dot products of the assignment step */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h> /* the argmin of the assignment step */
#endif

#include "pqeval/rng.h"
#include "util.h"

/* Dot-product buffer size, in floats, for one block of the assignment. */
enum { KMEANS_BLOCK_FLOATS = 1 << 18, KMEANS_BLOCK_MAX_POINTS = 4096 };

/* Relative perturbation of a split centroid (FAISS's EPS). */
#define KMEANS_SPLIT_EPS (1.0f / 1024.0f)

pqe_kmeans_params pqe_kmeans_params_default(size_t k)
{
    pqe_kmeans_params p;
    memset(&p, 0, sizeof p);
    p.k = k;
    p.n_iters = PQE_KMEANS_ITERS_DEFAULT;
    p.init = PQE_KMEANS_INIT_RANDOM;
    p.seed = 1234;
    p.max_points_per_centroid = PQE_KMEANS_MAX_POINTS_PER_CENTROID;
    p.n_threads = 0;
    return p;
}

void pqe_kmeans_result_free(pqe_kmeans_result *result)
{
    if (!result)
        return;
    free(result->energy);
    memset(result, 0, sizeof *result);
}

static int thread_count(int n_threads)
{
    return n_threads > 0 ? n_threads : omp_get_max_threads();
}

/* Squared norms of n rows of dimension dim. */
static void row_norms(const float *x, size_t n, size_t dim, float *norms, int n_threads)
{
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * dim;
        float s = 0;
        for (size_t j = 0; j < dim; j++)
            s += row[j] * row[j];
        norms[i] = s;
    }
}

/* The points per block so that block * k floats stay within the buffer. */
static size_t block_points(size_t n, size_t k)
{
    size_t b = KMEANS_BLOCK_FLOATS / (k ? k : 1);
    if (b < 16)
        b = 16;
    if (b > KMEANS_BLOCK_MAX_POINTS)
        b = KMEANS_BLOCK_MAX_POINTS;
    if (b > n)
        b = n;
    return b ? b : 1;
}

/* The nearest centroid of one point from its row of -2 x.c: |c|^2 - 2 x.c
 * is minimised in one pass, then the first index reaching the minimum is
 * taken (ties to the smaller index).  The row is overwritten.  On x86-64
 * the pass uses SSE with four independent minima (GCC -O2 otherwise keeps
 * the running minimum in memory, which made this loop three times slower
 * than the sgemm feeding it). */
static inline void assign_row(float *row, const float *c_norms, size_t k, float x_norm,
                              int64_t *assign, float *dist2)
{
    float best = INFINITY;
    size_t best_c = 0, c = 0;

#ifdef __SSE2__
    __m128 m0 = _mm_set1_ps(INFINITY), m1 = m0, m2 = m0, m3 = m0;
    for (; c + 16 <= k; c += 16) {
        __m128 v0 = _mm_add_ps(_mm_loadu_ps(row + c), _mm_loadu_ps(c_norms + c));
        __m128 v1 = _mm_add_ps(_mm_loadu_ps(row + c + 4), _mm_loadu_ps(c_norms + c + 4));
        __m128 v2 = _mm_add_ps(_mm_loadu_ps(row + c + 8), _mm_loadu_ps(c_norms + c + 8));
        __m128 v3 = _mm_add_ps(_mm_loadu_ps(row + c + 12), _mm_loadu_ps(c_norms + c + 12));
        _mm_storeu_ps(row + c, v0);
        _mm_storeu_ps(row + c + 4, v1);
        _mm_storeu_ps(row + c + 8, v2);
        _mm_storeu_ps(row + c + 12, v3);
        m0 = _mm_min_ps(m0, v0);
        m1 = _mm_min_ps(m1, v1);
        m2 = _mm_min_ps(m2, v2);
        m3 = _mm_min_ps(m3, v3);
    }
    float lanes[4];
    _mm_storeu_ps(lanes, _mm_min_ps(_mm_min_ps(m0, m1), _mm_min_ps(m2, m3)));
    for (int l = 0; l < 4; l++)
        best = lanes[l] < best ? lanes[l] : best;
#endif
    for (; c < k; c++) {
        float v = row[c] + c_norms[c];
        row[c] = v;
        best = v < best ? v : best;
    }

    /* The first index at the minimum. */
#ifdef __SSE2__
    __m128 target = _mm_set1_ps(best);
    for (; best_c + 4 <= k; best_c += 4) {
        int mask = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(row + best_c), target));
        if (mask) {
            best_c += (size_t)__builtin_ctz((unsigned)mask);
            goto found;
        }
    }
#endif
    while (best_c + 1 < k && row[best_c] != best)
        best_c++;
#ifdef __SSE2__
found:
#endif
    best += x_norm;
    if (!(best > 0)) /* rounding can push a zero distance below zero */
        best = 0;
    *assign = (int64_t)best_c;
    *dist2 = best;
}

/* The assignment step over all points: nearest centroid and its squared
 * distance.  x_norms and c_norms are the squared row norms; dots holds
 * block_points(n, k) * k floats per thread.  Each thread takes whole
 * blocks and runs its own single-threaded sgemm: the block boundaries do
 * not depend on the thread count, so neither do the results.  Returns the
 * summed distance (added up in point order). */
static double assign_blocks(const float *x, const float *x_norms, size_t n, size_t dim,
                            const float *centroids, const float *c_norms, size_t k, float *dots,
                            int64_t *assign, float *dist2, int n_threads)
{
    size_t bs = block_points(n, k), n_blocks = (n + bs - 1) / bs;
    int blas_threads = openblas_get_num_threads();
    double total = 0;

    /* OpenBLAS's own threads would fight OpenMP's for the cores. */
    openblas_set_num_threads(1);
#pragma omp parallel num_threads(n_threads)
    {
        float *mine = dots + (size_t)omp_get_thread_num() * bs * k;
#pragma omp for schedule(dynamic, 1)
        for (size_t blk = 0; blk < n_blocks; blk++) {
            size_t i0 = blk * bs, nb = n - i0 < bs ? n - i0 : bs;

            /* mine = -2 X_block C^T, nb x k */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)k, (int)dim, -2.0f,
                        x + i0 * dim, (int)dim, centroids, (int)dim, 0.0f, mine, (int)k);
            for (size_t i = 0; i < nb; i++)
                assign_row(mine + i * k, c_norms, k, x_norms[i0 + i], &assign[i0 + i],
                           &dist2[i0 + i]);
        }
    }
    openblas_set_num_threads(blas_threads);
    for (size_t i = 0; i < n; i++)
        total += dist2[i];
    return total;
}

/* The dot-product buffers of all threads. */
static float *dot_buffer(size_t n, size_t k, int n_threads)
{
    size_t per_thread;
    if (!pqe_mul_ok(block_points(n, k), k, &per_thread)) {
        pqe_fail(PQE_ERR_OVERFLOW, "k-means: block of %zu x %zu distances overflows",
                 block_points(n, k), k);
        return NULL;
    }
    return pqe_alloc_array((size_t)n_threads, per_thread * sizeof(float), "k-means dot products");
}

/* Checks that every value of n contiguous rows of dim floats is finite,
 * naming the first bad row and column; rows[i], if given, is the number
 * of row i in the caller's input. */
static pqe_status check_finite(const float *x, size_t n, size_t dim, const size_t *rows)
{
    size_t bad = pqe_first_nonfinite(x, n * dim);
    if (bad < n * dim) {
        size_t i = bad / dim;
        return pqe_fail(PQE_ERR_DATA, "k-means input: row %zu, column %zu is %g (not finite)",
                        rows ? rows[i] : i, bad % dim, (double)x[bad]);
    }
    return PQE_OK;
}

/* k-means++ seeding: the first centroid uniformly, each next one with
 * probability proportional to the squared distance to the nearest centroid
 * chosen so far.  If every point coincides with a chosen centroid, the next
 * one is drawn uniformly. */
static pqe_status init_plusplus(const float *x, size_t n, size_t dim, size_t k, pqe_rng *rng,
                                float *centroids, int n_threads)
{
    double *mind = pqe_alloc_array(n, sizeof *mind, "k-means++ distances");
    if (!mind)
        return pqe_alloc_status();

    size_t first = (size_t)pqe_rng_below(rng, n);
    memcpy(centroids, x + first * dim, dim * sizeof *centroids);
    for (size_t c = 1; c <= k; c++) {
        const float *last = centroids + (c - 1) * dim;
        double total = 0;

        /* Fold the newest centroid into the nearest distances. */
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(+ : total)
        for (size_t i = 0; i < n; i++) {
            const float *row = x + i * dim;
            double d = 0;
            for (size_t j = 0; j < dim; j++) {
                double t = (double)row[j] - (double)last[j];
                d += t * t;
            }
            if (c == 1 || d < mind[i])
                mind[i] = d;
            total += mind[i];
        }
        if (c == k)
            break;

        /* Draw the next centroid. */
        size_t pick = n - 1;
        if (total > 0) {
            double r = pqe_rng_uniform(rng) * total, acc = 0;
            for (size_t i = 0; i < n; i++) {
                acc += mind[i];
                if (r < acc && mind[i] > 0) {
                    pick = i;
                    break;
                }
            }
            /* Rounding may leave r beyond the last sum: take the last point
             * with a positive weight. */
            if (!(r < acc)) {
                while (pick > 0 && !(mind[pick] > 0))
                    pick--;
            }
        } else {
            pick = (size_t)pqe_rng_below(rng, n);
        }
        memcpy(centroids + c * dim, x + pick * dim, dim * sizeof *centroids);
    }
    free(mind);
    return PQE_OK;
}

/* s[j] += row[j] in double, j = 0 .. dim-1: the adds of the plain loop,
 * two at a time with SSE2 (GCC -O2 leaves the loop scalar, and it was a
 * third of the time of a 4-bit PQ training). */
static inline void add_row_double(double *s, const float *row, size_t dim)
{
    size_t j = 0;
#ifdef __SSE2__
    for (; j + 4 <= dim; j += 4) {
        __m128 f = _mm_loadu_ps(row + j);
        __m128d lo = _mm_cvtps_pd(f), hi = _mm_cvtps_pd(_mm_movehl_ps(f, f));
        _mm_storeu_pd(s + j, _mm_add_pd(_mm_loadu_pd(s + j), lo));
        _mm_storeu_pd(s + j + 2, _mm_add_pd(_mm_loadu_pd(s + j + 2), hi));
    }
#endif
    for (; j < dim; j++)
        s[j] += row[j];
}

/* The update step: centroids become the means of their points (sums in
 * double, sequential, so the result does not depend on the threads); then
 * empty clusters are re-seeded by splitting the cluster with the largest
 * squared error (sse: k entries of scratch).  Returns the number of
 * clusters re-seeded. */
static size_t update_centroids(const float *x, size_t n, size_t dim, const int64_t *assign,
                               size_t k, double *sums, size_t *counts, double *sse,
                               float *centroids)
{
    size_t n_empty = 0;

    memset(sums, 0, k * dim * sizeof *sums);
    memset(counts, 0, k * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)assign[i];
        counts[c]++;
        add_row_double(sums + c * dim, x + i * dim, dim);
    }
    for (size_t c = 0; c < k; c++) {
        if (counts[c] == 0) {
            n_empty++;
            continue;
        }
        double inv = 1.0 / (double)counts[c];
        for (size_t j = 0; j < dim; j++)
            centroids[c * dim + j] = (float)(sums[c * dim + j] * inv);
    }
    if (n_empty == 0)
        return 0;

    /* Squared error of each cluster around its new centroid. */
    memset(sse, 0, k * sizeof *sse);
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)assign[i];
        const float *row = x + i * dim, *cen = centroids + c * dim;
        double e = 0;
        for (size_t j = 0; j < dim; j++) {
            double t = (double)row[j] - cen[j];
            e += t * t;
        }
        sse[c] += e;
    }

    /* Split the worst cluster into each empty one. */
    for (size_t c = 0; c < k; c++) {
        if (counts[c] != 0)
            continue;
        size_t big = c == 0 ? 1 : 0;
        for (size_t b = 0; b < k; b++) {
            if (counts[b] == 0)
                continue;
            if (sse[b] > sse[big] || (sse[b] == sse[big] && counts[b] > counts[big]))
                big = b;
        }
        float *dst = centroids + c * dim, *src = centroids + big * dim;
        /* Push apart by EPS times the coordinate or, where that is small,
         * the cluster's RMS spread per coordinate (a zero coordinate would
         * not move otherwise). */
        double spread = sqrt(sse[big] / ((double)counts[big] * (double)dim));
        for (size_t j = 0; j < dim; j++) {
            double base = fabs(src[j]) > spread ? fabs(src[j]) : spread;
            float delta = (float)(KMEANS_SPLIT_EPS * base);
            float v = src[j];
            dst[j] = j % 2 == 0 ? v + delta : v - delta;
            src[j] = j % 2 == 0 ? v - delta : v + delta;
        }
        counts[c] = counts[big] / 2;
        counts[big] -= counts[c];
        sse[big] /= 2;
        sse[c] = sse[big];
    }
    return n_empty;
}

pqe_status pqe_kmeans(const float *x, size_t n, size_t dim, const pqe_kmeans_params *params,
                      float *centroids, pqe_kmeans_result *result)
{
    return pqe_kmeans_strided(x, n, dim, dim, params, centroids, result);
}

pqe_status pqe_kmeans_strided(const float *x, size_t n, size_t dim, size_t stride,
                              const pqe_kmeans_params *params, float *centroids,
                              pqe_kmeans_result *result)
{
    pqe_status st = PQE_OK;
    size_t k = params ? params->k : 0;
    float *sub = NULL, *x_norms = NULL, *c_norms = NULL, *dots = NULL, *dist2 = NULL;
    int64_t *assign = NULL;
    double *sums = NULL, *sse = NULL, *energy = NULL;
    size_t *counts = NULL, *pick = NULL;
    size_t n_empty_fixed = 0;
    int n_threads;
    pqe_rng rng;

    if (result)
        memset(result, 0, sizeof *result);
    if (!params || !x || !centroids)
        return pqe_fail(PQE_ERR_PARAM, "k-means: missing input, parameters or output");
    if (dim == 0 || k == 0 || params->n_iters == 0)
        return pqe_fail(PQE_ERR_PARAM,
                        "k-means: dimension %zu, k %zu and iterations %u must all be positive", dim,
                        k, params->n_iters);
    if (n < k)
        return pqe_fail(PQE_ERR_PARAM, "k-means: %zu points are fewer than the k = %zu centroids",
                        n, k);
    if (params->init != PQE_KMEANS_INIT_RANDOM && params->init != PQE_KMEANS_INIT_PLUSPLUS)
        return pqe_fail(PQE_ERR_PARAM, "k-means: unknown initialisation %d", (int)params->init);
    if (k > INT32_MAX || dim > INT32_MAX)
        return pqe_fail(PQE_ERR_PARAM, "k-means: k %zu or dimension %zu too large for BLAS", k,
                        dim);
    if (stride < dim)
        return pqe_fail(PQE_ERR_PARAM, "k-means: row stride %zu is below the dimension %zu", stride,
                        dim);
    if (stride == dim) {
        st = check_finite(x, n, dim, NULL);
        if (st != PQE_OK)
            return st;
    }

    n_threads = thread_count(params->n_threads);
    pqe_rng_seed(&rng, params->seed);

    /* Subsample to max_points_per_centroid * k points, as FAISS does, into
     * a contiguous copy; strided rows are copied whole otherwise (the
     * iterations then read them from cache, not from a wide matrix). */
    size_t limit;
    if (params->max_points_per_centroid > 0 &&
        pqe_mul_ok(params->max_points_per_centroid, k, &limit) && n > limit) {
        pick = pqe_alloc_array(limit, sizeof *pick, "k-means subsample");
        sub = pqe_alloc_array(limit, dim * sizeof *sub, "k-means subsample");
        if (!pick || !sub) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        pqe_rng_sample(&rng, n, limit, pick);
        for (size_t i = 0; i < limit; i++)
            memcpy(sub + i * dim, x + pick[i] * stride, dim * sizeof *sub);
        if (stride != dim) {
            st = check_finite(sub, limit, dim, pick);
            if (st != PQE_OK)
                goto cleanup;
        }
        x = sub;
        n = limit;
    } else if (stride != dim) {
        sub = pqe_alloc_array(n, dim * sizeof *sub, "k-means contiguous copy");
        if (!sub) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++)
            memcpy(sub + i * dim, x + i * stride, dim * sizeof *sub);
        st = check_finite(sub, n, dim, NULL);
        if (st != PQE_OK)
            goto cleanup;
        x = sub;
    }

    x_norms = pqe_alloc_array(n, sizeof *x_norms, "k-means point norms");
    c_norms = pqe_alloc_array(k, sizeof *c_norms, "k-means centroid norms");
    dots = dot_buffer(n, k, n_threads);
    assign = pqe_alloc_array(n, sizeof *assign, "k-means assignment");
    dist2 = pqe_alloc_array(n, sizeof *dist2, "k-means distances");
    sums = pqe_alloc_array(k, dim * sizeof *sums, "k-means sums");
    sse = pqe_alloc_array(k, sizeof *sse, "k-means cluster errors");
    counts = pqe_alloc_array(k, sizeof *counts, "k-means counts");
    energy = pqe_calloc_array(params->n_iters, sizeof *energy, "k-means energy");
    if (!x_norms || !c_norms || !dots || !assign || !dist2 || !sums || !sse || !counts || !energy) {
        st = pqe_alloc_status();
        goto cleanup;
    }

    /* Initialisation. */
    if (params->init == PQE_KMEANS_INIT_PLUSPLUS) {
        st = init_plusplus(x, n, dim, k, &rng, centroids, n_threads);
        if (st != PQE_OK)
            goto cleanup;
    } else {
        if (!pick) {
            pick = pqe_alloc_array(k, sizeof *pick, "k-means initial points");
            if (!pick) {
                st = pqe_alloc_status();
                goto cleanup;
            }
        }
        pqe_rng_sample(&rng, n, k, pick);
        for (size_t c = 0; c < k; c++)
            memcpy(centroids + c * dim, x + pick[c] * dim, dim * sizeof *centroids);
    }

    /* Lloyd iterations. */
    row_norms(x, n, dim, x_norms, n_threads);
    for (unsigned it = 0; it < params->n_iters; it++) {
        row_norms(centroids, k, dim, c_norms, n_threads);
        double total = assign_blocks(x, x_norms, n, dim, centroids, c_norms, k, dots, assign, dist2,
                                     n_threads);
        energy[it] = total / (double)n;
        n_empty_fixed += update_centroids(x, n, dim, assign, k, sums, counts, sse, centroids);
    }

    if (result) {
        result->energy = energy;
        result->n_iters = params->n_iters;
        result->n_used = n;
        result->n_empty_fixed = n_empty_fixed;
        energy = NULL;
    }

cleanup:
    free(sub);
    free(pick);
    free(x_norms);
    free(c_norms);
    free(dots);
    free(assign);
    free(dist2);
    free(sums);
    free(sse);
    free(counts);
    free(energy);
    return st;
}

pqe_status pqe_kmeans_assign(const float *x, size_t n, size_t dim, const float *centroids, size_t k,
                             int64_t *assign, float *dist2)
{
    pqe_status st = PQE_OK;
    float *x_norms = NULL, *c_norms = NULL, *dots = NULL, *scratch = NULL;
    int n_threads = thread_count(0);

    if (n == 0)
        return PQE_OK;
    if (!x || !centroids || !assign || dim == 0 || k == 0)
        return pqe_fail(PQE_ERR_PARAM, "k-means assign: missing input or zero dimension/k");
    if (k > INT32_MAX || dim > INT32_MAX)
        return pqe_fail(PQE_ERR_PARAM, "k-means assign: k %zu or dimension %zu too large for BLAS",
                        k, dim);
    x_norms = pqe_alloc_array(n, sizeof *x_norms, "k-means point norms");
    c_norms = pqe_alloc_array(k, sizeof *c_norms, "k-means centroid norms");
    dots = dot_buffer(n, k, n_threads);
    if (!dist2)
        dist2 = scratch = pqe_alloc_array(n, sizeof *scratch, "k-means distances");
    if (!x_norms || !c_norms || !dots || !dist2) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    row_norms(x, n, dim, x_norms, n_threads);
    row_norms(centroids, k, dim, c_norms, n_threads);
    assign_blocks(x, x_norms, n, dim, centroids, c_norms, k, dots, assign, dist2, n_threads);

cleanup:
    free(x_norms);
    free(c_norms);
    free(dots);
    free(scratch);
    return st;
}
