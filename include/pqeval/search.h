/* search.h - exhaustive search over PQ codes: ADC and SDC distance tables
 * and top-k selection.
 *
 * ADC (asymmetric distance computation): per query, a table of the distance
 * from each query sub-vector to each centroid (M x K); a code's distance is
 * the sum of M lookups.  SDC (symmetric): the query is encoded too, and a
 * table of centroid-to-centroid distances (M x K x K) is used.  Jegou et
 * al., TPAMI 2011, section III.
 *
 * Distances: squared L2 for PQE_METRIC_EUCLIDEAN (ascending), inner product
 * for DOT and ANGULAR (descending).  Ties are ordered by smaller id, so
 * results are deterministic.  Rows are padded with id -1 if k > n_codes
 * (distance +INFINITY for L2, -INFINITY for inner products).
 *
 * Depends on: pq.h, dataset.h (metric), status.h; OpenMP over queries.
 */
#ifndef PQEVAL_SEARCH_H
#define PQEVAL_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/pq.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_search_mode {
    PQE_SEARCH_ADC = 0, /* asymmetric: exact query against the centroids */
    PQE_SEARCH_SDC = 1  /* symmetric: encoded query against encoded base */
} pqe_search_mode;

/* "adc", "sdc". */
const char *pqe_search_mode_name(pqe_search_mode mode);

enum { PQE_SDC_MEMORY_LIMIT_DEFAULT = 256 << 20 }; /* bytes of SDC table */

typedef struct pqe_search_params {
    pqe_search_mode mode;
    pqe_metric metric;       /* euclidean -> L2 tables; angular/dot -> inner product */
    size_t k;                /* results per query */
    size_t sdc_memory_limit; /* bytes; 0 = PQE_SDC_MEMORY_LIMIT_DEFAULT */
    int n_threads;           /* 0 = OpenMP default */
} pqe_search_params;

/* Top-k of n_queries queries (n_queries x d floats, in the space the
 * quantizer was trained in) among n_codes codes (unpacked layout, see
 * pq.h).  ids and distances: n_queries x k, caller-allocated.  SDC fails
 * with PQE_ERR_UNSUPPORTED when the table (M * K * K floats) passes the
 * memory limit, saying how many bytes it needs. */
pqe_status pqe_pq_search(const pqe_pq *pq, const pqe_search_params *params, const uint8_t *codes,
                         size_t n_codes, const float *queries, size_t n_queries, int64_t *ids,
                         float *distances);

/* The ADC table of one query: M x K floats (squared L2 or inner product of
 * each query sub-vector with each centroid). */
pqe_status pqe_pq_adc_table(const pqe_pq *pq, pqe_metric metric, const float *query, float *table);

/* The bytes the SDC table of this quantizer needs. */
size_t pqe_pq_sdc_table_bytes(const pqe_pq *pq);

#ifdef __cplusplus
}
#endif

#endif
