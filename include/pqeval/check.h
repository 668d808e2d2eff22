/* check.h - the regression gate: compares a sweep's results with a baseline
 * setting by setting and decides whether recall really dropped or
 * distortion rose.
 *
 * Settings are matched by their key (the full specification, seed
 * included).  For each matched setting every measure both sides have is
 * compared: 1-recall@R (ADC and SDC, each R), k-recall@k (ADC and SDC) and
 * distortion (base, and held-out when both have it).
 *
 * A recall row is a regression when the drop (baseline - current) exceeds
 * the absolute tolerance AND the relative tolerance (a fraction of the
 * baseline's value) AND, with the statistical test on (the default), the
 * one-sided test rejects "no drop" at level alpha.  The test is chosen per
 * row and named in the output:
 * - "mcnemar-exact": both sides saved per-query hits for the same queries
 *   (same dataset checksum and query count): McNemar's exact test, the
 *   binomial tail P(X >= b), X ~ Bin(b + c, 1/2), where b queries were hit
 *   by the baseline only and c by the current run only.
 * - "paired-z": per-query k-recall on both sides: the mean per-query drop
 *   over its standard error, normal tail (the t test's large-sample form).
 * - "two-proportion-z": otherwise: the pooled two-proportion z test on the
 *   two query counts.  For k-recall (a mean of values in [0, 1]) it uses
 *   p(1 - p) / n, the largest variance such a mean can have, so the test
 *   errs on the side of passing.
 * The tests account for the sampling of queries only; two trainings with
 * different seeds differ by more, which is why seeds are part of the key.
 * A distortion row is a regression when the relative rise exceeds its
 * tolerance (no test: distortion is averaged over the whole base).
 *
 * Depends on: status.h, sweep.h.
 */
#ifndef PQEVAL_CHECK_H
#define PQEVAL_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pqeval/status.h"
#include "pqeval/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_check_test {
    PQE_CHECK_TEST_STATISTICAL = 0, /* paired where both sides allow it, else unpaired */
    PQE_CHECK_TEST_NONE = 1         /* tolerances only */
} pqe_check_test;

/* "statistical", "none". */
const char *pqe_check_test_name(pqe_check_test test);
pqe_status pqe_check_test_parse(const char *name, pqe_check_test *out);

#define PQE_CHECK_ABS_TOL_DEFAULT        0.0
#define PQE_CHECK_REL_TOL_DEFAULT        0.0
#define PQE_CHECK_DISTORTION_TOL_DEFAULT 0.01
#define PQE_CHECK_ALPHA_DEFAULT          0.01

typedef struct pqe_check_options {
    double abs_tol;            /* a recall drop must exceed this (0.01 = one point) */
    double rel_tol;            /* ... and this fraction of the baseline's recall */
    double distortion_tol;     /* a distortion rise beyond this fraction fails */
    pqe_check_test test;       /* the statistical test, or none */
    double alpha;              /* level of the one-sided test, in (0, 1) */
    bool allow_missing;        /* settings or measures on one side only pass */
    bool allow_dataset_change; /* compare even if the datasets differ */
} pqe_check_options;

/* The defaults above: statistical test at alpha 0.01, no recall
 * tolerance, 1% distortion tolerance, nothing allowed. */
pqe_check_options pqe_check_options_default(void);

typedef enum pqe_check_verdict {
    PQE_CHECK_PASS = 0,       /* no drop, or a drop within the tolerances */
    PQE_CHECK_NOISE = 1,      /* beyond the tolerances but not significant: passes */
    PQE_CHECK_REGRESSION = 2, /* fails */
    PQE_CHECK_MISSING = 3,    /* in the baseline only: fails unless allowed */
    PQE_CHECK_NEW = 4         /* in the results only: fails unless allowed */
} pqe_check_verdict;

/* "pass", "noise", "REGRESSION", "missing", "new". */
const char *pqe_check_verdict_name(pqe_check_verdict verdict);

/* One compared measure of one setting (or a whole setting present on one
 * side only, with measure "setting"). */
typedef struct pqe_check_row {
    char *key;           /* the setting's key (owned) */
    char *label;         /* its label (owned) */
    char measure[32];    /* "recall@10 adc", "k-recall@10 sdc", "distortion", ... */
    double baseline;     /* the baseline's value; NaN if absent */
    double current;      /* the results' value; NaN if absent */
    double change;       /* current - baseline */
    const char *test;    /* "mcnemar-exact", "paired-z", "two-proportion-z",
                           "tolerance" or "none" (static) */
    double p_value;      /* of the one-sided test; NaN when none ran */
    size_t lost, gained; /* McNemar: queries hit by the baseline only / the current only */
    pqe_check_verdict verdict;
    bool failed; /* counts against the gate */
} pqe_check_row;

typedef struct pqe_check_report {
    pqe_check_options options;
    char *results_name;  /* for the outputs; set with pqe_check_report_set_names (owned) */
    char *baseline_name; /* (owned) */
    char *dataset;       /* "name (sha256 0123...)" of the results (owned) */

    size_t n_rows;
    pqe_check_row *rows; /* owned */

    size_t n_compared;    /* settings on both sides */
    size_t n_regressions; /* rows with verdict REGRESSION */
    size_t n_noise;       /* rows beyond tolerance but not significant */
    size_t n_missing;     /* settings (or measures) in the baseline only */
    size_t n_new;         /* settings in the results only */
    size_t n_failed;      /* rows that fail */
    bool dataset_changed; /* the datasets differ (compared because allowed) */
    bool passed;

    size_t n_notes;
    char **notes; /* things a reader should know: version or thread count differs, ... (owned) */
} pqe_check_report;

/* Compares current with baseline.  Fails with PQE_ERR_PARAM on options out
 * of range, and with PQE_ERR_DATA when the datasets differ (checksum, or
 * dimension, metric and query count when a checksum is missing) and
 * options->allow_dataset_change is false; the message names both.  A
 * regression is not a failure of this call: see report->passed. */
pqe_status pqe_check_compare(const pqe_sweep_result *current, const pqe_sweep_result *baseline,
                             const pqe_check_options *options, pqe_check_report **out);

/* Names printed for the two files (copied). */
pqe_status pqe_check_report_set_names(pqe_check_report *self, const char *results_name,
                                      const char *baseline_name);

void pqe_check_report_free(pqe_check_report *self); /* accepts NULL */

/* A summary table, about 100 columns wide: one line per row that did not
 * simply pass (all rows when verbose), the notes and the verdict. */
pqe_status pqe_check_report_print(const pqe_check_report *self, bool verbose, FILE *out);

/* JUnit XML (one testsuite, one testcase per row, failures for failing
 * rows), written atomically. */
pqe_status pqe_check_report_write_junit(const pqe_check_report *self, const char *path);

/* The comparison as JSON (documented in docs/ci-gate.md), written
 * atomically. */
pqe_status pqe_check_report_write_json(const pqe_check_report *self, const char *path);

/* ---- the tests, for direct use and testing ---------------------------- */

/* One-sided McNemar exact p-value: P(X >= lost), X ~ Bin(lost + gained,
 * 1/2).  1 when there are no discordant queries. */
double pqe_mcnemar_exact_p(size_t lost, size_t gained);

/* One-sided pooled two-proportion z test of "the current proportion is
 * lower": p-value of z = (p_base - p_cur) / sqrt(p (1 - p) (1/n_base +
 * 1/n_cur)), p pooled.  1 when the pooled variance is 0 and there is no
 * drop, 0 when it is 0 and there is one. */
double pqe_two_proportion_z_p(double p_base, size_t n_base, double p_cur, size_t n_cur);

/* One-sided paired z test on per-query values: p-value of mean(base -
 * cur) / (sd / sqrt(n)).  When sd is 0: 0 if the mean drop is positive,
 * else 1. */
double pqe_paired_z_p(const float *base, const float *cur, size_t n);

#ifdef __cplusplus
}
#endif

#endif
