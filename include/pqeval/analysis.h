/* analysis.h - does lower distortion mean higher recall?  The statistics
 * pqeval uses to judge the heuristic across the settings of a sweep.
 *
 * The heuristic (Ge et al., "Optimized product quantization", CVPR 2013 /
 * TPAMI 2014, who minimise distortion at a fixed code length expecting
 * better search) says: among quantizers, the one with the lower distortion
 * has the higher recall.  Given one point per setting (label, code size in
 * bits, distortion, one recall measure and its interval), pqe_analyse
 * reports:
 *
 *  (a) Spearman's rho and Kendall's tau-b between distortion and recall
 *      over all settings (negative if the heuristic holds);
 *  (b) the same within each group of equal code size (the OPQ claim is
 *      about methods at equal code length); groups with fewer than
 *      PQE_ANALYSIS_GROUP_MIN settings are listed but not judged;
 *  (c) every discordant pair: distortion_i < distortion_j but
 *      recall_i < recall_j, with the gaps, marked "within noise" when the
 *      recall gap is below 1.96 * sqrt(se_i^2 + se_j^2) (see below);
 *  (d) a non-increasing fit of recall against distortion by isotonic
 *      regression (pool-adjacent-violators) and its leave-one-out error:
 *      how well distortion alone predicts recall, in recall units;
 *  (e) a verdict, with the numbers it rests on.
 *
 * Definitions (the project's; tests check them):
 *
 * - Ranks: average ranks for ties.  Spearman = Pearson correlation of the
 *   ranks.  Its p-value: two-sided, Student t approximation,
 *   t = rho sqrt((n - 2) / (1 - rho^2)) with n - 2 degrees of freedom (as
 *   scipy.stats.spearmanr); 0 when |rho| = 1; NaN when n < 3.
 * - Kendall tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)), n0 = n(n-1)/2, n1
 *   and n2 the pairs tied in x and in y.  Its p-value: two-sided normal
 *   approximation of C - D with the tie-corrected variance (scipy's
 *   "asymptotic" method, also used by scipy for tied data); NaN when n < 3.
 * - Both coefficients are NaN, never a crash, when n < 2 or one variable is
 *   constant.
 * - Noise of a setting's recall: se^2 = (CI half-width / 1.96)^2, plus
 *   seed_sd^2 / n_seeds when the recall is a mean over n_seeds >= 2 seeds.
 *   A recall gap is within noise if gap < 1.96 * sqrt(se_i^2 + se_j^2).
 *   (This is tighter than "the two 95% intervals overlap", which allows
 *   gaps up to 1.96 * (se_i + se_j).)  If neither setting has an interval
 *   or a seed spread the noise is unknown (NaN) and the pair counts as
 *   outside the noise.
 * - Isotonic fit: least squares, all points weight 1, non-increasing in
 *   distortion; settings with equal distortion get one fitted value (their
 *   mean is pooled first).  A prediction at distortion x interpolates
 *   linearly between the fitted values at the nearest fitted distortions
 *   below and above x, and takes the end value outside their range.
 *   Leave-one-out: each point is predicted from the fit to the others; the
 *   mean absolute error and the root mean squared error of those
 *   predictions are reported (NaN with fewer than 3 points).
 * - Verdict, over all settings:
 *     not enough   fewer than PQE_ANALYSIS_MIN_SETTINGS settings, or
 *                  Spearman undefined (distortion or recall constant);
 *     holds        Spearman <= PQE_ANALYSIS_HOLDS_RHO and no discordant pair
 *                  outside the noise;
 *     partly       otherwise, Spearman <= PQE_ANALYSIS_PARTLY_RHO;
 *     does not hold otherwise.
 *   Groups of equal code size are reported beside it but do not change it.
 *
 * Results are plain structs with owned arrays (free with
 * pqe_analysis_clear), for the report module to print and serialise.
 * Pure arithmetic: no files, no printing.  Depends on: status.h.
 */
#ifndef PQEVAL_ANALYSIS_H
#define PQEVAL_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The verdict's thresholds (see above). */
#define PQE_ANALYSIS_HOLDS_RHO  (-0.8)
#define PQE_ANALYSIS_PARTLY_RHO (-0.5)
enum {
    PQE_ANALYSIS_MIN_SETTINGS = 4, /* fewer: not enough to judge */
    PQE_ANALYSIS_GROUP_MIN = 3     /* fewer in a code-size group: group not judged */
};

/* ---- correlations ---------------------------------------------------- */

/* Average ranks (1-based; tied values share the mean of their ranks) of n
 * values into ranks.  Fails with PQE_ERR_DATA on a NaN, PQE_ERR_NOMEM. */
pqe_status pqe_average_ranks(const double *x, size_t n, double *ranks);

/* Spearman's rho of n pairs and, if p is not NULL, its two-sided p-value
 * (t approximation).  NaN where undefined (see above).  Fails only on a NaN
 * input (PQE_ERR_DATA) or memory. */
pqe_status pqe_spearman(const double *x, const double *y, size_t n, double *rho, double *p);

/* Kendall's tau-b of n pairs, O(n^2), and if p is not NULL its two-sided
 * p-value (normal approximation, tie-corrected variance). */
pqe_status pqe_kendall(const double *x, const double *y, size_t n, double *tau, double *p);

typedef struct pqe_correlation {
    size_t n;          /* pairs */
    double spearman;   /* rho; NaN if undefined */
    double spearman_p; /* two-sided, t approximation with n - 2 df */
    double kendall;    /* tau-b; NaN if undefined */
    double kendall_p;  /* two-sided, normal approximation */
} pqe_correlation;

/* Both coefficients and their p-values. */
pqe_status pqe_correlate(const double *x, const double *y, size_t n, pqe_correlation *out);

/* ---- isotonic regression ---------------------------------------------- */

/* Non-increasing least-squares fit of y against x (pool-adjacent-
 * violators), written in the input order: fit[i] is the fitted value at
 * x[i].  Equal x share one value.  Fails on NaN (PQE_ERR_DATA), n = 0
 * (PQE_ERR_PARAM) or memory. */
pqe_status pqe_isotonic_decreasing(const double *x, const double *y, size_t n, double *fit);

/* The fit to the n points, evaluated at x0 (interpolated, see above). */
pqe_status pqe_isotonic_predict(const double *x, const double *y, size_t n, double x0, double *out);

/* Leave-one-out: pred[i] (may be NULL) is the prediction at x[i] of the
 * fit to the other n - 1 points; mae and rmse summarise pred - y.  NaN
 * (and pred all NaN) if n < 3. */
pqe_status pqe_isotonic_loo(const double *x, const double *y, size_t n, double *pred, double *mae,
                            double *rmse);

/* ---- the analysis over settings -------------------------------------- */

/* One setting, as the caller measured it.  Nothing is kept: label is
 * copied. */
typedef struct pqe_analysis_point {
    const char *label; /* "OPQ-NP16x8"; may be NULL */
    double code_bits;  /* code size in bits: settings with equal values form a group */
    double distortion; /* mean squared reconstruction error (or its relative form) */
    double recall;     /* the recall measure under study, in [0, 1] */
    double recall_lo;  /* its 95% interval over the queries; NaN if unknown */
    double recall_hi;
    size_t n_seeds;        /* repetitions averaged into recall; 0 or 1 = no seed spread */
    double recall_seed_sd; /* sd of recall over the seeds (used if n_seeds >= 2) */
} pqe_analysis_point;

/* One group of equal code size. */
typedef struct pqe_analysis_group {
    double code_bits;
    size_t n;             /* settings in the group */
    bool judged;          /* n >= PQE_ANALYSIS_GROUP_MIN */
    pqe_correlation corr; /* NaN fields if not judged */
} pqe_analysis_group;

/* distortion_i < distortion_j but recall_i < recall_j. */
typedef struct pqe_discordant_pair {
    size_t i, j;               /* indices of the points */
    bool same_group;           /* equal code size */
    double distortion_gap;     /* distortion_j - distortion_i (> 0) */
    double distortion_gap_rel; /* the gap as a fraction of distortion_j */
    double recall_gap;         /* recall_j - recall_i (> 0) */
    double noise;              /* 1.96 sqrt(se_i^2 + se_j^2); NaN if unknown */
    bool within_noise;         /* recall_gap < noise */
} pqe_discordant_pair;

typedef enum pqe_verdict {
    PQE_VERDICT_NOT_ENOUGH = 0,
    PQE_VERDICT_HOLDS = 1,
    PQE_VERDICT_PARTLY = 2,
    PQE_VERDICT_DOES_NOT_HOLD = 3
} pqe_verdict;

/* "not enough", "holds", "partly", "does not hold". */
const char *pqe_verdict_name(pqe_verdict verdict);

typedef struct pqe_analysis {
    char *recall_name; /* "1-recall@10", as given (owned) */
    size_t n_points;
    char **labels; /* n_points copies (owned; an entry is NULL if none was given) */

    pqe_correlation overall; /* (a) */

    pqe_analysis_group *groups; /* (b) ascending code size, n_groups entries (owned) */
    size_t n_groups;
    size_t n_groups_judged;
    double group_rho_min, group_rho_max; /* range of Spearman over judged groups; NaN if none */

    pqe_discordant_pair *pairs; /* (c) ordered by i then j (owned) */
    size_t n_pairs;
    size_t n_pairs_outside_noise;

    double *fit;      /* (d) isotonic fit at each point, n_points (owned) */
    double *loo_pred; /* leave-one-out prediction at each point, n_points (owned) */
    double loo_mae;   /* NaN with fewer than 3 points */
    double loo_rmse;

    pqe_verdict verdict; /* (e) */
    char *verdict_text;  /* one line (owned), as pqe_verdict_format writes it */
} pqe_analysis;

/* Analyses n points for the recall measure named recall_name.  n may be
 * anything, 0 included (the verdict is then "not enough").  Fails with
 * PQE_ERR_DATA naming the setting if a distortion or recall is not finite,
 * PQE_ERR_NOMEM.  out is overwritten; on failure it is left cleared. */
pqe_status pqe_analyse(const pqe_analysis_point *points, size_t n, const char *recall_name,
                       pqe_analysis *out);

/* The verdict line of a finished analysis, e.g.
 *   "distortion predicts 1-recall@10 well: Spearman -0.97 over 12 settings,
 *    1 discordant pair (within noise), leave-one-out error 0.012"
 * (one line), in a new string owned by the caller (free()). */
pqe_status pqe_verdict_format(const pqe_analysis *analysis, char **out);

/* Frees every owned array and zeroes the struct.  Accepts NULL. */
void pqe_analysis_clear(pqe_analysis *self);

#ifdef __cplusplus
}
#endif

#endif
