/* pq_internal.h - what pq.c shares with search.c beyond the public pq.h.
 *
 * Not installed.  Depends on: pq.h.
 */
#ifndef PQEVAL_PQ_INTERNAL_H
#define PQEVAL_PQ_INTERNAL_H

#include "pqeval/pq.h"

/* The codebooks transposed per subspace (M x dsub x K), the layout the ADC
 * table kernel of simd/adc_kernels.h reads; owned by self, NULL before
 * training. */
const float *pqe_pq_codebooks_t(const pqe_pq *self);

#endif
