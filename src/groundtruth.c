/* groundtruth.c - exact k nearest neighbours through FAISS's flat indexes,
 * made exact and deterministic by a double-precision refinement.
 *
 * Choices and why:
 *  1. FAISS (IndexFlatL2, or IndexFlatIP over normalised copies for
 *     angular) finds kc = k + max(k / 2, 16) candidates per query.  Its
 *     float32 distances (through BLAS: |x|^2 + |q|^2 - 2 x.q) are not exact,
 *     and it orders equal distances as its heap happens to.
 *  2. Each candidate's distance is recomputed in double precision (exact
 *     for integer data such as pixels and SIFT) and the candidates are
 *     sorted by (distance, id): ties go to the smaller id, as ann-benchmarks
 *     and the texmex files do.
 *  3. The k boundary: a base vector FAISS did not return has a FAISS
 *     distance no nearer than the last candidate's, so its exact distance
 *     is at least that minus FAISS's rounding error.  The error of a float
 *     dot product of length d is at most about d * FLT_EPSILON * |x| |q|
 *     (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1); we
 *     take (d + 8) * FLT_EPSILON times the largest magnitude involved.  If
 *     the k-th exact distance is not strictly nearer than that bound, the
 *     candidates cannot be proved to hold the whole top-k (a tie or a
 *     near-tie crosses the boundary) and the query is redone by a full
 *     double-precision scan.  Tried and dropped: trusting FAISS with a fixed
 *     margin of extra candidates, which is silently wrong on ties.
 *
 * Depends on: groundtruth.h, util.h; FAISS C API (IndexFlat), OpenMP.
 */
#include "pqeval/groundtruth.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "util.h"

enum { QUERY_BLOCK = 512 };

/* A candidate: sort key (ascending = nearer) and base id. */
typedef struct candidate {
    double key;
    int64_t id;
} candidate;

static int candidate_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->key < b->key)
        return -1;
    if (a->key > b->key)
        return 1;
    return (a->id > b->id) - (a->id < b->id);
}

static double dot_d(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

static double norm2_d(const float *a, size_t dim)
{
    return dot_d(a, a, dim);
}

static double l2sq_d(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++) {
        double t = (double)a[i] - (double)b[i];
        s += t * t;
    }
    return s;
}

/* 1 - cos with zero vectors at distance 1; cos clamped to [-1, 1].  The
 * cosine is taken as sqrt(ip^2 / (|a|^2 |b|^2)) with its sign, in long
 * double: for integer data the operands are exact, so one correctly rounded
 * division and square root give equal results for equal true cosines
 * (parallel vectors of different lengths tie exactly, and then order by
 * id), which ip / (|a| |b|) with its three roundings does not. */
static double angular_d(double ip, double na2, double nb2)
{
    long double c;
    if (na2 <= 0 || nb2 <= 0)
        return 1.0;
    c = sqrtl((long double)ip * ip / ((long double)na2 * nb2));
    if (ip < 0)
        c = -c;
    if (c > 1)
        c = 1;
    if (c < -1)
        c = -1;
    return (double)(1.0L - c);
}

double pqe_metric_distance(const float *a, const float *b, size_t dim, pqe_metric metric)
{
    switch (metric) {
    case PQE_METRIC_EUCLIDEAN:
        return sqrt(l2sq_d(a, b, dim));
    case PQE_METRIC_ANGULAR:
        return angular_d(dot_d(a, b, dim), norm2_d(a, dim), norm2_d(b, dim));
    case PQE_METRIC_DOT:
        return dot_d(a, b, dim);
    }
    return NAN;
}

int pqe_metric_nearer(pqe_metric metric, double a, double b)
{
    return metric == PQE_METRIC_DOT ? a > b : a < b;
}

/* The sort key of a pair: squared L2, 1 - cos, or minus the inner product. */
static double pair_key(const float *q, double q_norm2, const float *x, double x_norm2, size_t dim,
                       pqe_metric metric)
{
    switch (metric) {
    case PQE_METRIC_EUCLIDEAN:
        return l2sq_d(q, x, dim);
    case PQE_METRIC_ANGULAR:
        return angular_d(dot_d(q, x, dim), q_norm2, x_norm2);
    case PQE_METRIC_DOT:
        return -dot_d(q, x, dim);
    }
    return NAN;
}

/* The stored distance of a key (see the header for the conventions). */
static float key_to_distance(double key, pqe_metric metric)
{
    switch (metric) {
    case PQE_METRIC_EUCLIDEAN:
        return (float)sqrt(key);
    case PQE_METRIC_ANGULAR:
        return (float)key;
    case PQE_METRIC_DOT:
        return (float)-key;
    }
    return NAN;
}

static pqe_status check_finite(const float *x, size_t n, size_t dim, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(x[i * dim + j]))
                return pqe_fail(PQE_ERR_DATA, "%s row %zu column %zu is not finite (%g)", what, i,
                                j, (double)x[i * dim + j]);
        }
    }
    return PQE_OK;
}

/* Keeps the k nearest of a stream in a max-heap ordered by candidate_cmp. */
static void heap_push(candidate *heap, size_t *size, size_t k, candidate c)
{
    size_t i;
    if (*size == k) {
        if (candidate_cmp(&c, &heap[0]) >= 0)
            return;
        /* Replace the root and sift down. */
        i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, big = i;
            candidate *cur = big == i ? &c : &heap[big];
            if (l < k && candidate_cmp(&heap[l], cur) > 0) {
                big = l;
                cur = &heap[l];
            }
            if (r < k && candidate_cmp(&heap[r], cur) > 0)
                big = r;
            if (big == i)
                break;
            heap[i] = heap[big];
            i = big;
        }
        heap[i] = c;
        return;
    }
    i = (*size)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (candidate_cmp(&heap[p], &c) >= 0)
            break;
        heap[i] = heap[p];
        i = p;
    }
    heap[i] = c;
}

/* Exact top-k by a scan; heap is scratch of k candidates, sorted on return. */
static void scan_query(const float *base, const double *base_norm2, size_t n_base,
                       const float *query, size_t dim, pqe_metric metric, size_t k, candidate *heap)
{
    size_t size = 0;
    double q_norm2 = metric == PQE_METRIC_ANGULAR ? norm2_d(query, dim) : 0;
    for (size_t i = 0; i < n_base; i++) {
        const float *x = base + i * dim;
        double xn =
            metric == PQE_METRIC_ANGULAR ? (base_norm2 ? base_norm2[i] : norm2_d(x, dim)) : 0;
        candidate c = {pair_key(query, q_norm2, x, xn, dim, metric), (int64_t)i};
        heap_push(heap, &size, k, c);
    }
    qsort(heap, size, sizeof *heap, candidate_cmp);
}

pqe_status pqe_groundtruth_scan(const float *base, size_t n_base, const float *query, size_t dim,
                                pqe_metric metric, size_t k, int32_t *neighbors, double *distances)
{
    candidate *heap;

    if (k == 0 || k > n_base || dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "ground truth: k = %zu must be in 1..%zu (the base size)", k,
                        n_base);
    heap = pqe_alloc_array(k, sizeof *heap, "ground-truth candidates");
    if (!heap)
        return pqe_alloc_status();
    scan_query(base, NULL, n_base, query, dim, metric, k, heap);
    for (size_t j = 0; j < k; j++) {
        neighbors[j] = (int32_t)heap[j].id;
        if (distances) {
            double key = heap[j].key;
            distances[j] = metric == PQE_METRIC_EUCLIDEAN ? sqrt(key)
                           : metric == PQE_METRIC_DOT     ? -key
                                                          : key;
        }
    }
    free(heap);
    return PQE_OK;
}

/* Normalised float copy of n rows (zero rows stay zero). */
static float *normalized_copy(const float *x, size_t n, size_t dim, const char *what)
{
    float *y = pqe_alloc_array(n * dim, sizeof *y, what);
    if (!y)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        double nrm = sqrt(norm2_d(x + i * dim, dim));
        for (size_t j = 0; j < dim; j++)
            y[i * dim + j] = nrm > 0 ? (float)(x[i * dim + j] / nrm) : 0.0f;
    }
    return y;
}

pqe_status pqe_groundtruth(const float *base, size_t n_base, const float *queries, size_t n_queries,
                           size_t dim, pqe_metric metric, size_t k, int n_threads,
                           int32_t *neighbors, float *distances)
{
    pqe_status st = PQE_OK;
    FaissIndexFlat *index = NULL;
    float *normed = NULL, *block_q = NULL, *block_d = NULL;
    idx_t *block_l = NULL;
    double *base_norm2 = NULL;
    candidate *cand = NULL;
    size_t kc, total;
    double max_norm2 = 0;
    int fallbacks = 0;
#ifdef _OPENMP
    int saved_threads = omp_get_max_threads();
#endif

    /* Parameters and sizes. */
    if (dim == 0 || n_base == 0)
        return pqe_fail(PQE_ERR_PARAM, "ground truth: empty base (%zu rows of dimension %zu)",
                        n_base, dim);
    if (k == 0 || k > n_base)
        return pqe_fail(PQE_ERR_PARAM, "ground truth: k = %zu must be in 1..%zu (the base size)", k,
                        n_base);
    if (n_base > INT32_MAX)
        return pqe_fail(PQE_ERR_PARAM,
                        "ground truth: %zu base vectors do not fit int32 neighbour ids", n_base);
    if (!pqe_mul_ok(n_base, dim, &total) || !pqe_mul_ok(n_queries, k, &total) ||
        !pqe_mul_ok(n_queries, dim, &total))
        return pqe_fail(PQE_ERR_OVERFLOW, "ground truth: sizes overflow (%zu x %zu, %zu x %zu)",
                        n_base, dim, n_queries, k);
    if ((st = check_finite(base, n_base, dim, "base")) != PQE_OK ||
        (st = check_finite(queries, n_queries, dim, "query")) != PQE_OK)
        return st;
    if (n_queries == 0)
        return PQE_OK;
    kc = k + (k / 2 > 16 ? k / 2 : 16);
    if (kc > n_base)
        kc = n_base;

    /* Norms: for angular distances and for the rounding bound. */
    base_norm2 = pqe_alloc_array(n_base, sizeof *base_norm2, "base norms");
    if (!base_norm2) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    for (size_t i = 0; i < n_base; i++) {
        base_norm2[i] = norm2_d(base + i * dim, dim);
        if (base_norm2[i] > max_norm2)
            max_norm2 = base_norm2[i];
    }

#ifdef _OPENMP
    if (n_threads > 0)
        omp_set_num_threads(n_threads);
#else
    (void)n_threads;
#endif

    /* The FAISS index. */
    if (metric == PQE_METRIC_EUCLIDEAN) {
        if (faiss_IndexFlatL2_new_with(&index, (idx_t)dim) != 0) {
            st = pqe_fail(PQE_ERR_FAISS, "ground truth: %s", faiss_get_last_error());
            goto cleanup;
        }
    } else if (faiss_IndexFlatIP_new_with(&index, (idx_t)dim) != 0) {
        st = pqe_fail(PQE_ERR_FAISS, "ground truth: %s", faiss_get_last_error());
        goto cleanup;
    }
    if (metric == PQE_METRIC_ANGULAR) {
        normed = normalized_copy(base, n_base, dim, "normalised base");
        if (!normed) {
            st = pqe_alloc_status();
            goto cleanup;
        }
    }
    if (faiss_Index_add((FaissIndex *)index, (idx_t)n_base, normed ? normed : base) != 0) {
        st = pqe_fail(PQE_ERR_FAISS, "ground truth: adding the base: %s", faiss_get_last_error());
        goto cleanup;
    }
    free(normed);
    normed = NULL;

    block_q = pqe_alloc_array((size_t)QUERY_BLOCK * dim, sizeof *block_q, "query block");
    block_d = pqe_alloc_array((size_t)QUERY_BLOCK * kc, sizeof *block_d, "candidate distances");
    block_l = pqe_alloc_array((size_t)QUERY_BLOCK * kc, sizeof *block_l, "candidate ids");
    cand = pqe_alloc_array((size_t)QUERY_BLOCK * kc, sizeof *cand, "candidates");
    if (!block_q || !block_d || !block_l || !cand) {
        st = pqe_alloc_status();
        goto cleanup;
    }

    for (size_t q0 = 0; q0 < n_queries; q0 += QUERY_BLOCK) {
        size_t nb = n_queries - q0 < QUERY_BLOCK ? n_queries - q0 : QUERY_BLOCK;
        const float *qsrc = queries + q0 * dim;
        long long nb_ll = (long long)nb;

        /* Step 1: FAISS candidates. */
        if (metric == PQE_METRIC_ANGULAR) {
            for (size_t i = 0; i < nb; i++) {
                const float *q = qsrc + i * dim;
                double nrm = sqrt(norm2_d(q, dim));
                for (size_t j = 0; j < dim; j++)
                    block_q[i * dim + j] = nrm > 0 ? (float)(q[j] / nrm) : 0.0f;
            }
        } else {
            memcpy(block_q, qsrc, nb * dim * sizeof *block_q);
        }
        if (faiss_Index_search((FaissIndex *)index, (idx_t)nb, block_q, (idx_t)kc, block_d,
                               block_l) != 0) {
            st = pqe_fail(PQE_ERR_FAISS, "ground truth: search: %s", faiss_get_last_error());
            goto cleanup;
        }

        /* Steps 2 and 3: exact refinement, and a full scan where the
         * boundary cannot be proved. */
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : fallbacks)
        for (long long ii = 0; ii < nb_ll; ii++) {
            size_t i = (size_t)ii;
            const float *q = qsrc + i * dim;
            double qn2 = norm2_d(q, dim);
            candidate *c = cand + i * kc;
            size_t nc = 0;
            int safe = 1;

            for (size_t j = 0; j < kc; j++) {
                idx_t id = block_l[i * kc + j];
                if (id < 0 || (size_t)id >= n_base)
                    continue;
                c[nc].id = id;
                c[nc].key = pair_key(q, qn2, base + (size_t)id * dim, base_norm2[id], dim, metric);
                nc++;
            }
            qsort(c, nc, sizeof *c, candidate_cmp);
            if (nc < k) {
                safe = 0;
            } else if (kc < n_base) {
                double last = block_d[i * kc + kc - 1];
                double eps = (double)(dim + 8) * FLT_EPSILON;
                double kth = c[k - 1].key;
                if (metric == PQE_METRIC_EUCLIDEAN)
                    safe = last - eps * (qn2 + max_norm2) > kth;
                else if (metric == PQE_METRIC_DOT)
                    safe = last + eps * sqrt(qn2) * sqrt(max_norm2) < -kth;
                else /* angular: FAISS returned cosines of normalised vectors */
                    safe = last + eps < 1.0 - kth;
            }
            if (!safe) {
                scan_query(base, base_norm2, n_base, q, dim, metric, k, c);
                fallbacks++;
            }
            for (size_t j = 0; j < k; j++) {
                neighbors[(q0 + i) * k + j] = (int32_t)c[j].id;
                if (distances)
                    distances[(q0 + i) * k + j] = key_to_distance(c[j].key, metric);
            }
        }
    }
    if (fallbacks > 0)
        pqe_log(PQE_LOG_DEBUG,
                "ground truth: %d of %zu queries rescanned exactly (a near-tie at rank %zu)",
                fallbacks, n_queries, k);

cleanup:
#ifdef _OPENMP
    omp_set_num_threads(saved_threads);
#endif
    if (index)
        faiss_Index_free((FaissIndex *)index);
    free(normed);
    free(block_q);
    free(block_d);
    free(block_l);
    free(cand);
    free(base_norm2);
    return st;
}
