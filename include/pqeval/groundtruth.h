/* groundtruth.h - exact k nearest neighbours of queries among a base, in
 * the conventions of ann-benchmarks.
 *
 * Distances: euclidean as the NON-squared L2 distance, angular as
 * 1 - cos(q, x) (a zero vector on either side gives distance 1, never NaN),
 * dot as the inner product (larger is nearer).  Order: nearest first; equal
 * distances ordered by the smaller base id.
 *
 * Depends on: status.h, dataset.h (metric); FAISS flat indexes (C API).
 */
#ifndef PQEVAL_GROUNDTRUTH_H
#define PQEVAL_GROUNDTRUTH_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { PQE_GROUNDTRUTH_K_DEFAULT = 100 };

/* The exact top-k of each of n_queries queries among n_base base vectors
 * (both row-major, dim columns).  neighbors and distances are n_queries x
 * k, caller-allocated (distances may be NULL).  Candidates come from a
 * FAISS flat index (IndexFlatL2, or IndexFlatIP on normalised vectors for
 * angular); each candidate's distance is then recomputed in double
 * precision and the list re-sorted by (distance, id), and a query whose
 * candidate list cannot be shown to contain the whole exact top-k (float
 * rounding at the k boundary) is redone by a double-precision scan.
 * Requires k <= n_base and n_base <= INT32_MAX.  n_threads 0 = the OpenMP
 * default. */
pqe_status pqe_groundtruth(const float *base, size_t n_base, const float *queries, size_t n_queries,
                           size_t dim, pqe_metric metric, size_t k, int n_threads,
                           int32_t *neighbors, float *distances);

/* The distance of one pair under metric, in double precision and the
 * conventions above. */
double pqe_metric_distance(const float *a, const float *b, size_t dim, pqe_metric metric);

/* True if distance a is nearer than b under metric (smaller, or larger for
 * dot). */
int pqe_metric_nearer(pqe_metric metric, double a, double b);

/* The exact top-k of one query by a plain double-precision scan, without
 * FAISS: the independent reference used by the checks.  Same conventions. */
pqe_status pqe_groundtruth_scan(const float *base, size_t n_base, const float *query, size_t dim,
                                pqe_metric metric, size_t k, int32_t *neighbors, double *distances);

#ifdef __cplusplus
}
#endif

#endif
