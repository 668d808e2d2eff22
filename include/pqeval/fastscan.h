/* fastscan.h - exhaustive 4-bit PQ search with lookup tables held in SIMD
 * registers ("fast scan").
 *
 * For a quantizer with nbits = 4 (16 centroids per subspace) the codes are
 * re-laid out in blocks of 32 vectors with two codes per byte, and each
 * query's ADC table is quantised to uint8 (per subspace an offset, one scale
 * for all), so that one byte-shuffle instruction does 32 or 64 lookups.
 * André, Kermarrec, Le Scouarnec, "Cache locality is not enough", VLDB 2015;
 * "Quicker ADC", IEEE TPAMI 2019; FAISS's IndexPQFastScan does the same.
 *
 * The result is the exact top-k under the quantised distances, not under
 * the float ADC distances: each reported distance differs from the float
 * ADC distance of the same code by at most pqe_fastscan_error_bound(), so
 * near-ties can come out in another order than pqe_pq_search's ADC, and no
 * re-ranking is done.  Ties of quantised distance go to the smaller id.
 *
 * Memory: the re-laid codes (ceil(n/32) blocks of 16 * ceil(M/4)*4 bytes,
 * i.e. M/2 bytes a code plus padding) and a copy of the codebooks; a search
 * adds per thread one quantised table and a buffer of 2048 uint16
 * distances.
 *
 * Depends on: pq.h, search.h (parameters), dataset.h (metric), status.h.
 */
#ifndef PQEVAL_FASTSCAN_H
#define PQEVAL_FASTSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/pq.h"
#include "pqeval/search.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqe_fastscan pqe_fastscan; /* opaque */

/* Builds the fast-scan form of n_codes codes (unpacked layout, see pq.h)
 * of a trained quantizer with nbits = 4.  Copies what it needs: pq and
 * codes may be freed afterwards.  Fails with PQE_ERR_UNSUPPORTED if nbits
 * is not 4, PQE_ERR_PARAM if pq is untrained, PQE_ERR_DATA naming a code
 * index >= 16. */
pqe_status pqe_fastscan_new(const pqe_pq *pq, const uint8_t *codes, size_t n_codes,
                            pqe_fastscan **out);

void pqe_fastscan_free(pqe_fastscan *self); /* accepts NULL */

size_t pqe_fastscan_n_codes(const pqe_fastscan *self);

/* Bytes held: the re-laid codes plus the codebooks. */
size_t pqe_fastscan_bytes(const pqe_fastscan *self);

/* Top-k of n_queries queries (n_queries x d floats).  params->mode must be
 * PQE_SEARCH_ADC; metric, k and n_threads are used as in pqe_pq_search, and
 * so are the distance conventions (squared L2 ascending; inner product
 * descending) and the padding of rows with id -1.  ids and distances are
 * n_queries x k, caller-allocated. */
pqe_status pqe_fastscan_search(const pqe_fastscan *self, const pqe_search_params *params,
                               const float *queries, size_t n_queries, int64_t *ids,
                               float *distances);

/* For one query: the largest difference between a distance this module
 * reports and the float ADC distance of the same code (the rounding of the
 * quantised table, M * half a step, plus a margin for float rounding). */
pqe_status pqe_fastscan_error_bound(const pqe_fastscan *self, pqe_metric metric, const float *query,
                                    double *bound);

#ifdef __cplusplus
}
#endif

#endif
