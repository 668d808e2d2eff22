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

#include "pqeval/analysis.h"
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
    char *quantizer_path; /* non-NULL: a quantizer saved by 'pqeval train' (pqe_quantizer_save),
                                    evaluated as it is, without training (owned) */
    size_t n_train;       /* training vectors used; 0 = all available */
    char *label;          /* short, for tables and plots: "OPQ-NP16x8" (owned) */
    char *group;          /* label without the seed: repetitions share it (owned) */
    char *key;            /* the full specification, used to match a baseline (owned) */
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
    double recall_adc[PQE_MAX_RECALL_R];       /* 1-recall@R */
    double recall_sdc[PQE_MAX_RECALL_R];       /* NaN where SDC does not apply */
    double recall_adc_ci[PQE_MAX_RECALL_R][2]; /* 95% interval over the queries */
    double recall_sdc_ci[PQE_MAX_RECALL_R][2];
    size_t k; /* for k-recall@k */
    double krecall_adc, krecall_sdc;
    bool sdc_supported;
    char *sdc_note; /* why SDC did not run (owned), or NULL */

    /* Per-query outcomes, for paired tests in baseline checks:
     * hits_adc[i * n_r + j] = 1 if query i found its nearest neighbour in
     * the first r_values[j] (owned; hits_sdc NULL when SDC did not run). */
    uint8_t *hits_adc;
    uint8_t *hits_sdc;
    float *khits_adc; /* per-query k-recall@k contribution (owned) */

    /* The returned ids themselves, n_queries x ids_k, when the sweep was
     * asked to keep them (pqe_sweep_options.keep_ids; owned, else NULL). */
    int64_t *ids_adc;
    int64_t *ids_sdc;
    size_t ids_k;

    /* Timings in seconds and queries per second. */
    double train_seconds, encode_seconds, adc_seconds, sdc_seconds;
    double adc_qps, sdc_qps;
} pqe_setting_result;

/* Frees what a setting / result owns and zeroes it.  Accept NULL. */
void pqe_setting_clear(pqe_setting *self);
void pqe_setting_result_clear(pqe_setting_result *self);

/* A whole sweep: what was run on what, every result, and the analysis. */
typedef struct pqe_sweep_result {
    /* the dataset */
    char *dataset_path; /* owned */
    char *dataset_name; /* owned */
    char dataset_checksum[65];
    pqe_metric metric;
    size_t dim;
    size_t n_base;         /* vectors encoded and searched */
    size_t n_queries;      /* queries used */
    size_t n_train_pool;   /* vectors training could draw from */
    size_t n_heldout;      /* base vectors held out of training (0 = none) */
    char train_source[16]; /* "learn" or "base" */
    size_t gt_k;

    /* the run */
    char *version; /* pqeval version (owned) */
    char *machine; /* "x86_64, <cpu model>, N threads" (owned) */
    char *started; /* UTC time, ISO 8601 (owned) */
    int n_threads;
    char *simd; /* SIMD path used, e.g. "avx2" (owned), may be NULL */

    size_t n_results;
    pqe_setting_result *results; /* owned */

    /* The heuristic judged once per recall measure studied (analysis.h):
     * n_analyses entries, owned (each freed with pqe_analysis_clear), NULL
     * if none was run. */
    size_t n_analyses;
    pqe_analysis *analyses;
} pqe_sweep_result;

void pqe_sweep_result_free(pqe_sweep_result *self); /* accepts NULL */

/* ---- the grid -------------------------------------------------------- */

enum { PQE_GRID_MAX = 16 }; /* values per axis */

/* The axes of a sweep; every combination of our methods is a setting, and
 * every FAISS factory string is one more (per train size and seed). */
typedef struct pqe_sweep_grid {
    pqe_rotation methods[4];
    size_t n_methods;
    size_t n_sub[PQE_GRID_MAX]; /* M values */
    size_t n_n_sub;
    unsigned nbits[PQE_GRID_MAX];
    size_t n_nbits;
    size_t n_train[PQE_GRID_MAX]; /* 0 = all the training pool */
    size_t n_n_train;
    unsigned kmeans_iters[PQE_GRID_MAX];
    size_t n_kmeans_iters;
    uint64_t seeds[PQE_GRID_MAX];
    size_t n_seeds;
    const char *faiss[PQE_GRID_MAX]; /* index_factory strings (borrowed) */
    size_t n_faiss;
    const char *quantizers[PQE_GRID_MAX]; /* saved quantizers, one setting each (borrowed) */
    size_t n_quantizers;
    pqe_quantizer_config base; /* everything else (init, OPQ iterations, threads) */
} pqe_sweep_grid;

/* An empty grid with the defaults of pqe_quantizer_config_default. */
pqe_sweep_grid pqe_sweep_grid_default(void);

/* Expands the grid for data of dimension dim into settings (owned array;
 * free each with pqe_setting_clear, then the array).  Fails with
 * PQE_ERR_PARAM naming an M that does not divide dim (listing the valid
 * ones) or an nbits out of range, before anything is trained. */
pqe_status pqe_sweep_expand(const pqe_sweep_grid *grid, size_t dim, pqe_metric metric,
                            pqe_setting **settings, size_t *n_settings);

/* ---- running it ------------------------------------------------------- */

/* Progress: called at the start of each stage of each setting, and with
 * done == total at the end. stage is "train", "encode", "distortion",
 * "search-adc", "search-sdc". */
typedef void (*pqe_progress_fn)(size_t setting, size_t n_settings, const char *label,
                                const char *stage, void *user);

typedef struct pqe_sweep_options {
    size_t n_queries; /* queries used, the first ones; 0 = all */
    size_t n_heldout; /* when training on the base: this many base vectors, chosen by
                           seed, are kept out of training to measure held-out distortion */
    size_t r_values[PQE_MAX_RECALL_R]; /* 1-recall@R for these R (default 1, 10, 100) */
    size_t n_r;
    size_t k;             /* k-recall@k (default 10) */
    size_t adc_pairs;     /* (query, base) pairs for the ADC error (default 10000) */
    bool sdc;             /* also search with SDC where it applies (default true) */
    bool train_on_base;   /* ignore a `learn` part and train on the base (ann-benchmarks) */
    uint64_t sample_seed; /* seeds the held-out choice and the pair sample (default 1) */
    int n_threads;        /* 0 = OpenMP default */
    bool keep_ids;        /* keep every setting's returned ids in its result */
    pqe_progress_fn progress;
    void *progress_user;
} pqe_sweep_options;

pqe_sweep_options pqe_sweep_options_default(void);

/* Runs every setting on the dataset (which must have ground truth with
 * gt_k >= the largest R and k) and analyses the results.  On failure of
 * one setting the sweep stops and reports which setting failed. */
pqe_status pqe_sweep_run(const pqe_dataset *ds, const pqe_setting *settings, size_t n_settings,
                         const pqe_sweep_options *options, pqe_sweep_result **out);

/* (Re)computes the analyses of a result from its per-setting metrics:
 * one per ADC 1-recall@R, one for ADC k-recall@k, and one per SDC
 * 1-recall@R when SDC ran on enough settings.  Repetitions over seeds
 * (settings of the same group) are averaged into one point. */
pqe_status pqe_sweep_analyse(pqe_sweep_result *self);

#ifdef __cplusplus
}
#endif

#endif
