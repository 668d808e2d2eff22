/* metrics.h - what pqeval measures about one quantizer: distortion, the
 * error of its ADC distance estimates, 1-recall@R, k-recall@k, and the
 * intervals and spreads reported with them.
 *
 * The definitions are the project's (the words of STYLE.md):
 *
 * - distortion: the mean squared reconstruction error per vector,
 *   (1/n) sum_i ||x_i - xhat_i||^2, in the original space, accumulated in
 *   double; "relative" divides it by the mean squared norm
 *   (1/n) sum_i ||x_i||^2 of the same vectors.  Per subspace m (M contiguous
 *   blocks of d/M dimensions) the same mean over that block only, so the M
 *   values sum to the total.
 * - ADC error: over a sample of (query, base) pairs, est - exact of the
 *   squared distance; its mean (bias), sample standard deviation, and the
 *   mean of (est - exact) / exact over the pairs with exact > 0.  (The
 *   arithmetic does not care what the values are: for inner-product
 *   metrics a caller may pass estimated and exact inner products.)
 * - 1-recall@R (Jegou et al., TPAMI 2011; Ge et al., OPQ, CVPR 2013): the
 *   fraction of queries whose true nearest neighbour, neighbors[q * gt_k],
 *   is among the first R returned ids.  Optional tie-aware variant: a query
 *   also counts when some returned id among the first R is exactly as near
 *   as the true nearest neighbour (up to tie_eps).
 * - k-recall@k as ann-benchmarks counts it (plotting/metrics.py,
 *   get_recall_values with knn_threshold): per query, the threshold is the
 *   k-th true distance + epsilon (1e-3, absolute); the first k returned
 *   items whose EXACT distance (recomputed from the original vectors) is
 *   <= threshold are counted; recall = count / k, averaged over queries.
 *   So a returned item tied with the k-th neighbour is a hit even if its id
 *   differs from the ground truth's.  ann-benchmarks has no inner-product
 *   metric; for PQE_METRIC_DOT pqeval counts items whose inner product is
 *   >= the k-th true inner product - epsilon (the same rule with the sign
 *   of a similarity).
 * - intervals: a proportion over queries (1-recall@R) gets the 95% Wilson
 *   score interval; a mean of per-query values (k-recall@k) gets the
 *   normal interval mean +/- 1.96 sd / sqrt(n) (sd with n - 1), not
 *   clipped, no bootstrap.
 *
 * Distances follow dataset.h: euclidean non-squared, angular 1 - cos (a
 * zero vector is at distance 1 from everything), dot the inner product
 * (larger is nearer).
 *
 * Everything here is pure arithmetic over caller arrays: no files, no
 * printing.  Depends on: status.h, dataset.h (metric), rng.h (sampling).
 */
#ifndef PQEVAL_METRICS_H
#define PQEVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The normal quantile of every 95% interval pqeval reports. */
#define PQE_Z95 1.96

/* ann-benchmarks' epsilon for k-recall@k (an absolute distance). */
#define PQE_KRECALL_EPSILON 1e-3

/* ---- distortion ------------------------------------------------------ */

typedef struct pqe_distortion {
    size_t n;            /* vectors measured */
    double mse;          /* (1/n) sum ||x - xhat||^2 */
    double mean_sq_norm; /* (1/n) sum ||x||^2 */
    double rel;          /* mse / mean_sq_norm; NaN if mean_sq_norm is 0 */
    double *mse_sub;     /* per subspace, n_sub entries summing to mse (owned,
                            free with pqe_distortion_clear); NULL if n_sub is 0 */
    size_t n_sub;        /* M; 0 = per subspace not asked for */
} pqe_distortion;

/* Distortion of n reconstructions xhat of x (both n x dim, row-major).
 * n_sub = 0 skips the per-subspace values; otherwise it must divide dim.
 * Fails with PQE_ERR_PARAM if n is 0, dim is 0 or n_sub does not divide
 * dim, PQE_ERR_DATA on a non-finite value (naming the row).  out is
 * overwritten (not freed first). */
pqe_status pqe_distortion_compute(const float *x, const float *xhat, size_t n, size_t dim,
                                  size_t n_sub, pqe_distortion *out);

/* Frees mse_sub and zeroes the struct.  Accepts NULL. */
void pqe_distortion_clear(pqe_distortion *self);

/* The same measure accumulated over batches (for bases too large to
 * decode at once): init, add each batch, finish.  The result equals
 * pqe_distortion_compute over the concatenated batches.  After a failed
 * add the sums are partial: clear the accumulator and start again. */
typedef struct pqe_distortion_acc {
    size_t dim;
    size_t n_sub;    /* 0 = no per-subspace sums */
    size_t n;        /* vectors added so far */
    double sum_err;  /* sum of ||x - xhat||^2 */
    double sum_norm; /* sum of ||x||^2 */
    double *sum_sub; /* n_sub sums (owned) */
} pqe_distortion_acc;

pqe_status pqe_distortion_acc_init(pqe_distortion_acc *self, size_t dim, size_t n_sub);
pqe_status pqe_distortion_acc_add(pqe_distortion_acc *self, const float *x, const float *xhat,
                                  size_t n);
/* Fails with PQE_ERR_PARAM if nothing was added. */
pqe_status pqe_distortion_acc_finish(const pqe_distortion_acc *self, pqe_distortion *out);
void pqe_distortion_acc_clear(pqe_distortion_acc *self); /* accepts NULL */

/* ---- ADC distance-estimation error ----------------------------------- */

typedef struct pqe_adc_error {
    size_t n_pairs;  /* pairs measured */
    double mean;     /* mean of est - exact (the bias) */
    double sd;       /* sample sd (n - 1) of est - exact; NaN if n_pairs < 2 */
    double rel_mean; /* mean of (est - exact) / exact over pairs with exact > 0;
                        NaN if there are none */
    size_t n_rel;    /* pairs entering rel_mean */
} pqe_adc_error;

/* n_pairs query/base index pairs drawn with the seed: the queries are
 * visited in a random order, cycling, so every query appears
 * floor(n_pairs / n_queries) or one more times; each base index is uniform
 * (with replacement).  Fails with PQE_ERR_PARAM if a count is 0. */
pqe_status pqe_sample_pairs(size_t n_queries, size_t n_base, size_t n_pairs, uint64_t seed,
                            size_t *query_idx, size_t *base_idx);

/* Squared L2 distance, in double, of each pair (queries[query_idx[p]],
 * base[base_idx[p]]), both row-major with dim columns.  Indices are not
 * range-checked here beyond what the caller passes as counts: a pair
 * outside n_queries/n_base fails with PQE_ERR_PARAM. */
pqe_status pqe_pair_sq_distances(const float *queries, size_t n_queries, const float *base,
                                 size_t n_base, size_t dim, const size_t *query_idx,
                                 const size_t *base_idx, size_t n_pairs, double *out);

/* The ADC error over n_pairs estimated and exact squared distances.  Fails
 * with PQE_ERR_PARAM if n_pairs is 0 and PQE_ERR_DATA on a non-finite
 * value. */
pqe_status pqe_adc_error_compute(const double *est, const double *exact, size_t n_pairs,
                                 pqe_adc_error *out);

/* ---- exact distances of returned ids --------------------------------- */

/* For each of nq queries and each of its k returned ids (ids is nq x k,
 * row-major), the exact distance under metric between the query and
 * base[id], in double then stored as float: euclidean non-squared, angular
 * 1 - cos, dot the inner product.  An id of -1 (no result) gives the worst
 * value: +inf, or -inf for dot.  Fails with PQE_ERR_DATA naming the query
 * and the id if an id is outside -1..n_base-1. */
pqe_status pqe_exact_distances(pqe_metric metric, const float *queries, const float *base,
                               size_t n_base, size_t dim, const int64_t *ids, size_t nq, size_t k,
                               float *out);

/* ---- 1-recall@R ------------------------------------------------------ */

/* Options of 1-recall@R.  NULL (or tie_aware false) is the papers' strict
 * definition. */
typedef struct pqe_recall_ties {
    bool tie_aware;
    pqe_metric metric;          /* direction of the distances below */
    const float *ret_distances; /* exact distances of the returned ids, nq x k
                                   (pqe_exact_distances) */
    const float *gt_distances;  /* ground-truth distances, nq x gt_k; column 0 is
                                   the true nearest neighbour's */
    double tie_eps;             /* a returned item at distance <= nn + tie_eps
                                   (>= nn - tie_eps for dot) is a hit */
} pqe_recall_ties;

/* 1-recall@R for n_r values of R at once.  ids: nq x k returned ids;
 * gt_neighbors: nq x gt_k.  recall[j] receives the fraction of queries hit
 * within the first r_values[j]; hits (nq x n_r, may be NULL) receives
 * hits[q * n_r + j] = 1 or 0; n_hits (n_r, may be NULL) the counts.  Fails
 * with PQE_ERR_PARAM if nq, k, gt_k or n_r is 0, an R is 0 or > k, or
 * gt_neighbors is NULL, and with PQE_ERR_DATA if a ground-truth nearest
 * neighbour is negative. */
pqe_status pqe_recall_at_r(const int64_t *ids, size_t nq, size_t k, const int32_t *gt_neighbors,
                           size_t gt_k, const size_t *r_values, size_t n_r,
                           const pqe_recall_ties *ties, double *recall, uint8_t *hits,
                           size_t *n_hits);

/* ---- k-recall@k ------------------------------------------------------ */

/* k-recall@k as ann-benchmarks counts it (see the top of this file).
 * ret_distances: exact distances of the returned items, nq rows of
 * ret_stride (>= k) columns, as pqe_exact_distances gives; gt_distances:
 * nq x gt_k (gt_k >= k) in the metric's convention.  epsilon: usually
 * PQE_KRECALL_EPSILON.  *mean receives the average; per_query (nq, may be
 * NULL) each query's count / k.  Fails with PQE_ERR_PARAM on k = 0, nq = 0,
 * k > gt_k, k > ret_stride or gt_distances NULL, and with PQE_ERR_DATA on a
 * NaN ground-truth distance. */
pqe_status pqe_k_recall(pqe_metric metric, const float *ret_distances, size_t ret_stride,
                        const float *gt_distances, size_t gt_k, size_t nq, size_t k, double epsilon,
                        double *mean, float *per_query);

/* ---- intervals and spreads ------------------------------------------- */

/* Wilson score interval of successes out of n at normal quantile z (use
 * PQE_Z95).  Fails with PQE_ERR_PARAM if n is 0 or successes > n. */
pqe_status pqe_wilson_interval(size_t successes, size_t n, double z, double *lo, double *hi);

/* Mean of n values and the normal interval mean +/- z * sd / sqrt(n), sd
 * with n - 1 (the interval is [mean, mean] if n is 1).  Fails with
 * PQE_ERR_PARAM if n is 0, PQE_ERR_DATA on a non-finite value. */
pqe_status pqe_mean_interval(const float *values, size_t n, double z, double *mean, double *lo,
                             double *hi);

/* Spread of one measure over repetitions (seeds). */
typedef struct pqe_spread {
    size_t n;
    double mean;
    double sd; /* sample sd (n - 1); NaN if n is 1 */
    double min, max;
} pqe_spread;

/* Fails with PQE_ERR_PARAM if n is 0, PQE_ERR_DATA on a NaN. */
pqe_status pqe_spread_compute(const double *values, size_t n, pqe_spread *out);

#ifdef __cplusplus
}
#endif

#endif
