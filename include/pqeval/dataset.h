/* dataset.h - an evaluation dataset in memory: base and query vectors,
 * optional learn vectors, optional exact ground truth, and the metric.
 *
 * The layout follows ann-benchmarks: `train` is the base that is searched,
 * `test` the queries, `neighbors`/`distances` the exact top-k of each query
 * (Euclidean distances stored NOT squared, angular as 1 - cos, dot as the
 * inner product).  Vectors are float32, row-major.
 *
 * Depends on: status.h.
 */
#ifndef PQEVAL_DATASET_H
#define PQEVAL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_metric {
    PQE_METRIC_EUCLIDEAN = 0, /* L2; ground-truth distances are non-squared */
    PQE_METRIC_ANGULAR = 1,   /* 1 - cos(q, x); zero vectors have distance 1 */
    PQE_METRIC_DOT = 2        /* inner product, larger is nearer */
} pqe_metric;

/* "euclidean", "angular", "dot". */
const char *pqe_metric_name(pqe_metric metric);

/* Parses the names above (and "l2", "ip", "cosine" as synonyms). */
pqe_status pqe_metric_parse(const char *name, pqe_metric *out);

typedef struct pqe_dataset {
    char *path;        /* where it was read from, owned; may be NULL */
    char *name;        /* short name (file stem), owned; may be NULL */
    pqe_metric metric; /* declared metric */
    size_t dim;        /* dimension of every part */

    float *train; /* base vectors, n_train x dim, owned */
    size_t n_train;
    float *test; /* query vectors, n_test x dim, owned */
    size_t n_test;
    float *learn; /* optional training vectors, n_learn x dim, owned; NULL if absent */
    size_t n_learn;

    int32_t *neighbors; /* optional exact neighbours, n_test x gt_k, owned; NULL if absent */
    float *distances;   /* optional, n_test x gt_k, same convention as the metric; may be NULL */
    size_t gt_k;

    char element_type[16]; /* element type as stored in the file: "float32", "uint8", ... */
    char checksum[65];     /* lowercase hex SHA-256 of the file(s) read, "" if not computed */
} pqe_dataset;

/* An empty dataset (all zero).  Returns NULL and records PQE_ERR_NOMEM on
 * failure. */
pqe_dataset *pqe_dataset_new(void);

/* Frees the dataset and every array it owns.  Accepts NULL. */
void pqe_dataset_free(pqe_dataset *self);

#ifdef __cplusplus
}
#endif

#endif
