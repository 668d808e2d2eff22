/* sweep.h - the main job: for each codebook setting (and seed), train,
 * encode the base, measure distortion, search the queries, measure recall;
 * then judge across settings whether distortion predicts recall.
 *
 * Depends on: dataset.h, quantizer.h, metrics.h, analysis.h.
 */
#ifndef PQEVAL_SWEEP_H
#define PQEVAL_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/quantizer.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { PQE_MAX_RECALL_R = 8 };

/* One point of the grid. */
typedef struct pqe_setting {
    pqe_quantizer_config config; /* ours: method (rotation), M, nbits, iterations, seed */
    char *faiss_factory;         /* non-NULL: a FAISS index_factory string instead (owned) */
    size_t n_train;              /* training vectors used; 0 = all available */
    char *label;                 /* short, for tables and plots: "OPQ-NP16x8" (owned) */
    char *group;                 /* label without the seed: repetitions share it (owned) */
    char *key;                   /* the full specification, used to match a baseline (owned) */
} pqe_setting;

/* Everything measured for one setting. */
typedef struct pqe_setting_result {
    pqe_setting setting;
    char *name;        /* the quantizer's own name (owned) */
    double code_bits;  /* bits per vector */
    size_t code_bytes; /* bytes per vector as stored */

    /* Distortion: mean squared reconstruction error per vector, in the
     * original space.  *_rel divides by the mean squared norm of the same
     * vectors.  heldout is NaN when nothing was held out. */
    double mse_base, rel_mse_base;
    double mse_train, rel_mse_train;
    double mse_heldout, rel_mse_heldout;
    double *mse_sub; /* per subspace over the base, n_sub entries (owned); NULL if unknown */
    size_t n_sub;

    /* ADC distance estimates on a sample of (query, base) pairs: estimated
     * minus exact squared distance. */
    double adc_err_mean, adc_err_sd, adc_err_rel_mean;
    size_t adc_err_pairs;

    /* Recall against exact ground truth. */
    size_t n_queries;
    size_t n_r;
    size_t r_values[PQE_MAX_RECALL_R];
    double recall_adc[PQE_MAX_RECALL_R]; /* 1-recall@R */
    double recall_sdc[PQE_MAX_RECALL_R]; /* NaN where SDC does not apply */
    double recall_adc_ci[PQE_MAX_RECALL_R][2]; /* 95% interval over the queries */
    double recall_sdc_ci[PQE_MAX_RECALL_R][2];
    size_t k;                  /* for k-recall@k */
    double krecall_adc, krecall_sdc;
    bool sdc_supported;
    char *sdc_note; /* why SDC did not run (owned), or NULL */

    /* Per-query outcomes, for paired tests in baseline checks:
     * hits_adc[i * n_r + j] = 1 if query i found its nearest neighbour in
     * the first r_values[j] (owned; hits_sdc NULL when SDC did not run). */
    uint8_t *hits_adc;
    uint8_t *hits_sdc;
    float *khits_adc; /* per-query k-recall@k contribution (owned) */

    /* Timings in seconds and queries per second. */
    double train_seconds, encode_seconds, adc_seconds, sdc_seconds;
    double adc_qps, sdc_qps;
} pqe_setting_result;

void pqe_setting_result_clear(pqe_setting_result *self);
void pqe_setting_clear(pqe_setting *self);

#ifdef __cplusplus
}
#endif

#endif
