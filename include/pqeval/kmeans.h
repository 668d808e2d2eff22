/* kmeans.h - seeded k-means (Lloyd) for the codebooks of product quantizers.
 *
 * Depends on: status.h, rng.h; BLAS for the distance products.
 */
#ifndef PQEVAL_KMEANS_H
#define PQEVAL_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_kmeans_init {
    PQE_KMEANS_INIT_RANDOM = 0,  /* k distinct training points chosen at random (FAISS's way) */
    PQE_KMEANS_INIT_PLUSPLUS = 1 /* k-means++ (Arthur and Vassilvitskii) */
} pqe_kmeans_init;

enum {
    PQE_KMEANS_ITERS_DEFAULT = 25,            /* FAISS's default niter */
    PQE_KMEANS_MAX_POINTS_PER_CENTROID = 256, /* FAISS's default subsampling */
    PQE_KMEANS_MIN_POINTS_PER_CENTROID = 39   /* below this FAISS warns */
};

typedef struct pqe_kmeans_params {
    size_t k;                       /* number of centroids, >= 1 */
    unsigned n_iters;               /* Lloyd iterations, >= 1 */
    pqe_kmeans_init init;           /* initialisation */
    uint64_t seed;                  /* every random choice derives from it */
    size_t max_points_per_centroid; /* subsample to k * this many points; 0 = no limit */
    int n_threads;                  /* OpenMP threads; 0 = the OpenMP default */
} pqe_kmeans_params;

/* Defaults: n_iters 25, random init, seed 1234, 256 points per centroid. */
pqe_kmeans_params pqe_kmeans_params_default(size_t k);

typedef struct pqe_kmeans_result {
    double *energy; /* mean squared distance of each point to its assigned
                       centroid in each iteration (before that iteration's
                       update), n_iters entries, owned: free with
                       pqe_kmeans_result_free() */
    unsigned n_iters;
    size_t n_used;        /* points used after subsampling */
    size_t n_empty_fixed; /* empty clusters re-seeded (by splitting the cluster
                             with the largest error) over all iterations */
} pqe_kmeans_result;

/* Clusters n points of dimension dim (row-major x) into params->k
 * centroids written to centroids (k x dim, caller-allocated).  If result is
 * not NULL it receives the energy trace (zeroed on failure).  Fails with
 * PQE_ERR_PARAM if n < k or a parameter is zero/unknown, and PQE_ERR_DATA
 * naming the row and column of the first non-finite input value.  The same
 * seed gives the same centroids whatever n_threads is. */
pqe_status pqe_kmeans(const float *x, size_t n, size_t dim, const pqe_kmeans_params *params,
                      float *centroids, pqe_kmeans_result *result);

/* pqe_kmeans on points that are rows of a wider matrix: point i is the dim
 * floats at x + i * stride (stride >= dim), e.g. one subspace's columns.
 * Only the points k-means uses are copied (the subsample, if any), and
 * with stride > dim only they are checked for non-finite values (the
 * caller checks its matrix once, not once per slice).  The results are
 * those of pqe_kmeans on a contiguous copy of the rows. */
pqe_status pqe_kmeans_strided(const float *x, size_t n, size_t dim, size_t stride,
                              const pqe_kmeans_params *params, float *centroids,
                              pqe_kmeans_result *result);

/* For each of n points, the index of its nearest centroid (and, if dist2 is
 * not NULL, the squared distance, computed as |x|^2 - 2x.c + |c|^2, so
 * rounded by about 1e-7 of the norms).  Ties go to the smaller index. */
pqe_status pqe_kmeans_assign(const float *x, size_t n, size_t dim, const float *centroids, size_t k,
                             int64_t *assign, float *dist2);

void pqe_kmeans_result_free(pqe_kmeans_result *result);

#ifdef __cplusplus
}
#endif

#endif
