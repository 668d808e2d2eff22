/* faiss_pq_sdc.h - the one IndexPQ setting FAISS 1.7.3's C API lacks.
 *
 * IndexPQ::search_type selects ADC (ST_PQ, the default) or SDC (ST_SDC,
 * query encoded, distances from the centroid-to-centroid table), but the
 * C API exposes neither the field nor SearchParametersPQ, so the bench could
 * not time FAISS's SDC search.  These two functions are the missing
 * setter, in the C API's own style: 0 on success, else non-zero with the
 * exception kept for faiss_get_last_error().  Used by the bench and by
 * tests/test_pq.c (our SDC against FAISS's); the product reaches FAISS
 * through the C API alone.
 */
#ifndef PQEVAL_BENCH_FAISS_PQ_SDC_H
#define PQEVAL_BENCH_FAISS_PQ_SDC_H

#include <faiss/c_api/Index_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Makes index (an IndexPQ, as index_factory("PQ{M}x{nbits}np") gives)
 * search by SDC: computes pq.sdc_table (M K^2 floats) if it is missing and
 * sets search_type = ST_SDC.  FAISS's SDC needs nbits = 8. */
int pqeval_bench_faiss_pq_use_sdc(FaissIndex *index);

/* Back to ADC: search_type = ST_PQ. */
int pqeval_bench_faiss_pq_use_adc(FaissIndex *index);

#ifdef __cplusplus
}
#endif

#endif
