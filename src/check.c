/* check.c - the regression gate: match settings by key, compare every
 * measure, run the one-sided test each row allows, and write the outcome as
 * a table, JUnit XML and JSON.
 *
 * The rules (tolerances, which test when) are stated in check.h.  Choices:
 * - Tolerances and the test must all agree for a regression: a drop that is
 *   significant but smaller than the tolerance the team set passes, and so
 *   does a large drop on so few queries that it is not significant.
 * - McNemar's exact test rather than its chi-square form: the discordant
 *   counts of a small CI sweep are often a handful, where the chi-square
 *   approximation is poor (McNemar, Psychometrika 1947; the exact binomial
 *   form as in Agresti, Categorical Data Analysis, 2nd ed., 10.1).
 * - Pairing needs the very same queries, which only the dataset checksum
 *   vouches for: with no checksum or a changed dataset the unpaired test
 *   runs instead.
 * - Unpaired successes are recall * n_queries rounded: the files store the
 *   proportions, and the count is an integer by construction.
 *
 * Depends on: check.h, sweep.h, atomic_file.h, util.h; jansson (the JSON
 * report).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/atomic_file.h"
#include "pqeval/check.h"
#include "report_internal.h"
#include "util.h"

/* ---- names ---------------------------------------------------------------- */

const char *pqe_check_test_name(pqe_check_test test)
{
    return test == PQE_CHECK_TEST_NONE ? "none" : "statistical";
}

pqe_status pqe_check_test_parse(const char *name, pqe_check_test *out)
{
    if (name && !strcmp(name, "statistical")) {
        *out = PQE_CHECK_TEST_STATISTICAL;
        return PQE_OK;
    }
    if (name && !strcmp(name, "none")) {
        *out = PQE_CHECK_TEST_NONE;
        return PQE_OK;
    }
    return pqe_fail(PQE_ERR_PARAM, "unknown test '%s' (expected statistical or none)",
                    name ? name : "");
}

const char *pqe_check_verdict_name(pqe_check_verdict verdict)
{
    switch (verdict) {
    case PQE_CHECK_PASS:
        return "pass";
    case PQE_CHECK_NOISE:
        return "noise";
    case PQE_CHECK_REGRESSION:
        return "REGRESSION";
    case PQE_CHECK_MISSING:
        return "missing";
    case PQE_CHECK_NEW:
        return "new";
    }
    return "unknown";
}

pqe_check_options pqe_check_options_default(void)
{
    pqe_check_options o;
    memset(&o, 0, sizeof o);
    o.abs_tol = PQE_CHECK_ABS_TOL_DEFAULT;
    o.rel_tol = PQE_CHECK_REL_TOL_DEFAULT;
    o.distortion_tol = PQE_CHECK_DISTORTION_TOL_DEFAULT;
    o.test = PQE_CHECK_TEST_STATISTICAL;
    o.alpha = PQE_CHECK_ALPHA_DEFAULT;
    return o;
}

/* ---- the tests -------------------------------------------------------------- */

/* Upper tail of the standard normal. */
static double normal_upper(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

double pqe_mcnemar_exact_p(size_t lost, size_t gained)
{
    size_t n = lost + gained;
    double log_half_n, log_n_fact, sum = 0.0, top;

    if (n == 0 || lost == 0)
        return 1.0;
    /* sum over i = lost..n of C(n, i) / 2^n, in logs scaled by the largest
     * term, at i = max(lost, n / 2), so that nothing overflows. */
    size_t mode = lost > n / 2 ? lost : n / 2;
    log_half_n = (double)n * log(0.5);
    log_n_fact = lgamma((double)n + 1.0);
    top = log_n_fact - lgamma((double)mode + 1.0) - lgamma((double)(n - mode) + 1.0);
    for (size_t i = lost; i <= n; i++) {
        double log_c = log_n_fact - lgamma((double)i + 1.0) - lgamma((double)(n - i) + 1.0);
        sum += exp(log_c - top);
    }
    return fmin(1.0, exp(top + log_half_n + log(sum)));
}

double pqe_two_proportion_z_p(double p_base, size_t n_base, double p_cur, size_t n_cur)
{
    double pooled, var, drop = p_base - p_cur;

    if (n_base == 0 || n_cur == 0 || isnan(p_base) || isnan(p_cur))
        return NAN;
    pooled = (p_base * (double)n_base + p_cur * (double)n_cur) / (double)(n_base + n_cur);
    var = pooled * (1.0 - pooled) * (1.0 / (double)n_base + 1.0 / (double)n_cur);
    if (!(var > 0))
        return drop > 0 ? 0.0 : 1.0;
    return normal_upper(drop / sqrt(var));
}

double pqe_paired_z_p(const float *base, const float *cur, size_t n)
{
    double mean = 0.0, ss = 0.0, sd;

    if (n == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        mean += (double)base[i] - (double)cur[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = (double)base[i] - (double)cur[i] - mean;
        ss += d * d;
    }
    sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    if (!(sd > 0))
        return mean > 0 ? 0.0 : 1.0;
    return normal_upper(mean / (sd / sqrt((double)n)));
}

/* ---- building the report --------------------------------------------------- */

/* Appends a zeroed row for a setting; NULL on allocation failure. */
static pqe_check_row *add_row(pqe_check_report *rep, const pqe_setting *s, const char *measure)
{
    pqe_check_row *rows, *row;

    rows = realloc(rep->rows, (rep->n_rows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    rep->rows = rows;
    row = &rows[rep->n_rows];
    memset(row, 0, sizeof *row);
    row->key = strdup(s->key ? s->key : "");
    row->label = strdup(s->label ? s->label : (s->key ? s->key : ""));
    if (!row->key || !row->label) {
        free(row->key);
        free(row->label);
        return NULL;
    }
    rep->n_rows++;
    pqe_text_printf(row->measure, sizeof row->measure, "%s", measure);
    row->baseline = row->current = row->change = row->p_value = NAN;
    row->test = "none";
    return row;
}

static pqe_status add_note(pqe_check_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static pqe_status add_note(pqe_check_report *rep, const char *fmt, ...)
{
    char text[512];
    char **notes;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    notes = realloc(rep->notes, (rep->n_notes + 1) * sizeof *notes);
    if (!notes)
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    rep->notes = notes;
    notes[rep->n_notes] = strdup(text);
    if (!notes[rep->n_notes])
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    rep->n_notes++;
    return PQE_OK;
}

/* Counts a row's verdict and sets failed. */
static void settle(pqe_check_report *rep, pqe_check_row *row)
{
    switch (row->verdict) {
    case PQE_CHECK_PASS:
        break;
    case PQE_CHECK_NOISE:
        rep->n_noise++;
        break;
    case PQE_CHECK_REGRESSION:
        rep->n_regressions++;
        row->failed = true;
        break;
    case PQE_CHECK_MISSING:
        rep->n_missing++;
        row->failed = !rep->options.allow_missing;
        break;
    case PQE_CHECK_NEW:
        rep->n_new++;
        row->failed = !rep->options.allow_missing;
        break;
    }
    if (row->failed)
        rep->n_failed++;
}

/* What both sides share for a paired test. */
typedef struct pairing {
    bool same_queries; /* the same queries in the same order */
} pairing;

/* Decides a recall-type row (higher is better) once its p-value is known. */
static void judge_drop(const pqe_check_options *o, pqe_check_row *row)
{
    double drop = row->baseline - row->current;
    bool beyond = drop > o->abs_tol && drop > o->rel_tol * row->baseline && drop > 0;

    row->change = row->current - row->baseline;
    if (!beyond)
        row->verdict = PQE_CHECK_PASS;
    else if (o->test == PQE_CHECK_TEST_NONE || !(row->p_value >= o->alpha))
        row->verdict = PQE_CHECK_REGRESSION;
    else
        row->verdict = PQE_CHECK_NOISE;
}

/* A measure one side has and the other does not. */
static pqe_status absent_measure(pqe_check_report *rep, const pqe_setting *s, const char *measure,
                                 double base, double cur)
{
    pqe_check_row *row = add_row(rep, s, measure);
    if (!row)
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    row->baseline = base;
    row->current = cur;
    row->test = "none";
    row->verdict = isnan(cur) ? PQE_CHECK_MISSING : PQE_CHECK_NEW;
    settle(rep, row);
    return PQE_OK;
}

/* 1-recall@R of one mode (hits NULL when not saved). */
static pqe_status compare_recall(pqe_check_report *rep, const pqe_setting_result *cur,
                                 const pqe_setting_result *base, const pairing *pr, bool sdc)
{
    const pqe_check_options *o = &rep->options;
    pqe_status st = PQE_OK;

    for (size_t jb = 0; jb < base->n_r && st == PQE_OK; jb++) {
        char measure[32];
        size_t jc = SIZE_MAX;
        double vb = sdc ? base->recall_sdc[jb] : base->recall_adc[jb];
        double vc = NAN;
        const uint8_t *hb = sdc ? base->hits_sdc : base->hits_adc;
        const uint8_t *hc = sdc ? cur->hits_sdc : cur->hits_adc;
        pqe_check_row *row;

        for (size_t j = 0; j < cur->n_r; j++) {
            if (cur->r_values[j] == base->r_values[jb])
                jc = j;
        }
        if (jc != SIZE_MAX)
            vc = sdc ? cur->recall_sdc[jc] : cur->recall_adc[jc];
        pqe_text_printf(measure, sizeof measure, "recall@%zu %s", base->r_values[jb],
                        sdc ? "sdc" : "adc");
        if (isnan(vb) && isnan(vc))
            continue;
        if (isnan(vb) || isnan(vc)) {
            st = absent_measure(rep, &cur->setting, measure, vb, vc);
            continue;
        }

        row = add_row(rep, &cur->setting, measure);
        if (!row)
            return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
        row->baseline = vb;
        row->current = vc;
        if (o->test == PQE_CHECK_TEST_STATISTICAL) {
            if (pr->same_queries && hb && hc) {
                for (size_t q = 0; q < cur->n_queries; q++) {
                    bool b = hb[q * base->n_r + jb] != 0;
                    bool c = hc[q * cur->n_r + jc] != 0;
                    row->lost += b && !c;
                    row->gained += c && !b;
                }
                row->test = "mcnemar-exact";
                row->p_value = pqe_mcnemar_exact_p(row->lost, row->gained);
            } else {
                row->test = "two-proportion-z";
                row->p_value = pqe_two_proportion_z_p(vb, base->n_queries, vc, cur->n_queries);
            }
        }
        judge_drop(o, row);
        settle(rep, row);
    }
    return st;
}

static pqe_status compare_krecall(pqe_check_report *rep, const pqe_setting_result *cur,
                                  const pqe_setting_result *base, const pairing *pr, bool sdc)
{
    const pqe_check_options *o = &rep->options;
    double vb = sdc ? base->krecall_sdc : base->krecall_adc;
    double vc = sdc ? cur->krecall_sdc : cur->krecall_adc;
    char measure[32];
    pqe_check_row *row;

    if (isnan(vb) && isnan(vc))
        return PQE_OK;
    pqe_text_printf(measure, sizeof measure, "k-recall@%zu %s", base->k, sdc ? "sdc" : "adc");
    if (base->k != cur->k) {
        pqe_status st = absent_measure(rep, &cur->setting, measure, vb, NAN);
        if (st == PQE_OK && !isnan(vc)) {
            pqe_text_printf(measure, sizeof measure, "k-recall@%zu %s", cur->k,
                            sdc ? "sdc" : "adc");
            st = absent_measure(rep, &cur->setting, measure, NAN, vc);
        }
        return st;
    }
    if (isnan(vb) || isnan(vc))
        return absent_measure(rep, &cur->setting, measure, vb, vc);

    row = add_row(rep, &cur->setting, measure);
    if (!row)
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    row->baseline = vb;
    row->current = vc;
    if (o->test == PQE_CHECK_TEST_STATISTICAL) {
        if (!sdc && pr->same_queries && base->khits_adc && cur->khits_adc) {
            row->test = "paired-z";
            row->p_value = pqe_paired_z_p(base->khits_adc, cur->khits_adc, cur->n_queries);
        } else {
            row->test = "two-proportion-z";
            row->p_value = pqe_two_proportion_z_p(vb, base->n_queries, vc, cur->n_queries);
        }
    }
    judge_drop(o, row);
    settle(rep, row);
    return PQE_OK;
}

/* Distortion (lower is better): relative rise against the tolerance. */
static pqe_status compare_distortion(pqe_check_report *rep, const pqe_setting_result *cur,
                                     const pqe_setting_result *base, const char *measure, double vb,
                                     double vc)
{
    pqe_check_row *row;

    if (isnan(vb) && isnan(vc))
        return PQE_OK;
    if (isnan(vb) || isnan(vc))
        return absent_measure(rep, &cur->setting, measure, vb, vc);
    (void)base;
    row = add_row(rep, &cur->setting, measure);
    if (!row)
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    row->baseline = vb;
    row->current = vc;
    row->change = vc - vb;
    row->test = "tolerance";
    if (vc - vb > rep->options.distortion_tol * fabs(vb) && vc > vb)
        row->verdict = PQE_CHECK_REGRESSION;
    settle(rep, row);
    return PQE_OK;
}

static pqe_status compare_setting(pqe_check_report *rep, const pqe_setting_result *cur,
                                  const pqe_setting_result *base, const pairing *shared)
{
    pairing pr = *shared;
    pqe_status st;

    pr.same_queries = pr.same_queries && cur->n_queries == base->n_queries;
    st = compare_recall(rep, cur, base, &pr, false);
    if (st == PQE_OK)
        st = compare_recall(rep, cur, base, &pr, true);
    if (st == PQE_OK)
        st = compare_krecall(rep, cur, base, &pr, false);
    if (st == PQE_OK)
        st = compare_krecall(rep, cur, base, &pr, true);
    if (st == PQE_OK)
        st = compare_distortion(rep, cur, base, "distortion", base->mse_base, cur->mse_base);
    if (st == PQE_OK && !isnan(base->mse_heldout) && !isnan(cur->mse_heldout))
        st = compare_distortion(rep, cur, base, "distortion heldout", base->mse_heldout,
                                cur->mse_heldout);
    return st;
}

static const pqe_setting_result *find_key(const pqe_sweep_result *s, const char *key)
{
    for (size_t i = 0; i < s->n_results; i++) {
        if (s->results[i].setting.key && !strcmp(s->results[i].setting.key, key))
            return &s->results[i];
    }
    return NULL;
}

static const char *or_unknown(const char *s)
{
    return s && *s ? s : "unknown";
}

/* Whether the two sweeps ran on the same data; describes the difference. */
static bool same_dataset(const pqe_sweep_result *a, const pqe_sweep_result *b, char *why,
                         size_t size)
{
    if (a->dataset_checksum[0] && b->dataset_checksum[0]) {
        if (strcmp(a->dataset_checksum, b->dataset_checksum) != 0) {
            pqe_text_printf(why, size,
                            "the results' dataset %s (sha256 %.12s) is not the baseline's %s "
                            "(sha256 %.12s)",
                            or_unknown(a->dataset_name), a->dataset_checksum,
                            or_unknown(b->dataset_name), b->dataset_checksum);
            return false;
        }
        return true;
    }
    if (a->dim != b->dim || a->metric != b->metric || a->n_queries != b->n_queries) {
        pqe_text_printf(why, size,
                        "the results' dataset %s (%zu dimensions, %s, %zu queries) is not the "
                        "baseline's %s (%zu dimensions, %s, %zu queries)",
                        or_unknown(a->dataset_name), a->dim, pqe_metric_name(a->metric),
                        a->n_queries, or_unknown(b->dataset_name), b->dim,
                        pqe_metric_name(b->metric), b->n_queries);
        return false;
    }
    return true;
}

static pqe_status check_options(const pqe_check_options *o)
{
    if (!(o->abs_tol >= 0 && o->abs_tol <= 1))
        return pqe_fail(PQE_ERR_PARAM, "check: absolute tolerance %g is outside [0, 1]",
                        o->abs_tol);
    if (!(o->rel_tol >= 0 && o->rel_tol <= 1))
        return pqe_fail(PQE_ERR_PARAM, "check: relative tolerance %g is outside [0, 1]",
                        o->rel_tol);
    if (!(o->distortion_tol >= 0 && isfinite(o->distortion_tol)))
        return pqe_fail(PQE_ERR_PARAM, "check: distortion tolerance %g is negative",
                        o->distortion_tol);
    if (!(o->alpha > 0 && o->alpha < 1))
        return pqe_fail(PQE_ERR_PARAM, "check: alpha %g is outside (0, 1)", o->alpha);
    if (o->test != PQE_CHECK_TEST_STATISTICAL && o->test != PQE_CHECK_TEST_NONE)
        return pqe_fail(PQE_ERR_PARAM, "check: unknown test %d", (int)o->test);
    return PQE_OK;
}

/* Notes on what differs besides the measures. */
static pqe_status add_run_notes(pqe_check_report *rep, const pqe_sweep_result *cur,
                                const pqe_sweep_result *base, bool paired)
{
    pqe_status st = PQE_OK;

    if (rep->dataset_changed)
        st = add_note(rep, "datasets differ (compared because allowed): unpaired tests only");
    else if (!paired && rep->options.test == PQE_CHECK_TEST_STATISTICAL)
        st = add_note(rep, "no dataset checksum on one side: the same queries cannot be "
                           "assumed, unpaired tests only");
    if (st == PQE_OK && (!cur->version || !base->version || strcmp(cur->version, base->version)))
        st = add_note(rep, "pqeval version differs: results %s, baseline %s",
                      or_unknown(cur->version), or_unknown(base->version));
    if (st == PQE_OK && cur->n_threads != base->n_threads)
        st = add_note(rep,
                      "thread count differs (results %d, baseline %d): training is only "
                      "reproduced exactly with the same seed and thread count",
                      cur->n_threads, base->n_threads);
    return st;
}

pqe_status pqe_check_compare(const pqe_sweep_result *current, const pqe_sweep_result *baseline,
                             const pqe_check_options *options, pqe_check_report **out)
{
    pqe_check_report *rep = NULL;
    pqe_check_options defaults = pqe_check_options_default();
    pairing shared = {false};
    char why[512];
    char dataset[160];
    pqe_status st;

    *out = NULL;
    if (!options)
        options = &defaults;
    st = check_options(options);
    if (st != PQE_OK)
        return st;
    rep = calloc(1, sizeof *rep);
    if (!rep)
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    rep->options = *options;

    /* The dataset must be the same unless the caller allows a change. */
    if (!same_dataset(current, baseline, why, sizeof why)) {
        if (!options->allow_dataset_change) {
            st = pqe_fail(PQE_ERR_DATA, "%s", why);
            goto cleanup;
        }
        rep->dataset_changed = true;
    }
    shared.same_queries =
        !rep->dataset_changed && current->dataset_checksum[0] && baseline->dataset_checksum[0];
    pqe_text_printf(dataset, sizeof dataset, "%s (sha256 %.12s), %zu queries",
                    or_unknown(current->dataset_name),
                    current->dataset_checksum[0] ? current->dataset_checksum : "unknown",
                    current->n_queries);
    rep->dataset = strdup(dataset);
    if (!rep->dataset) {
        st = pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
        goto cleanup;
    }
    st = add_run_notes(rep, current, baseline, shared.same_queries);

    /* Every baseline setting, in the baseline's order, then the new ones. */
    for (size_t i = 0; i < baseline->n_results && st == PQE_OK; i++) {
        const pqe_setting_result *b = &baseline->results[i];
        const pqe_setting_result *c = find_key(current, b->setting.key ? b->setting.key : "");
        if (c) {
            rep->n_compared++;
            st = compare_setting(rep, c, b, &shared);
        } else {
            pqe_check_row *row = add_row(rep, &b->setting, "setting");
            if (!row) {
                st = pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
                break;
            }
            row->verdict = PQE_CHECK_MISSING;
            settle(rep, row);
        }
    }
    for (size_t i = 0; i < current->n_results && st == PQE_OK; i++) {
        const pqe_setting_result *c = &current->results[i];
        if (!find_key(baseline, c->setting.key ? c->setting.key : "")) {
            pqe_check_row *row = add_row(rep, &c->setting, "setting");
            if (!row) {
                st = pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
                break;
            }
            row->verdict = PQE_CHECK_NEW;
            settle(rep, row);
        }
    }
    if (st == PQE_OK && baseline->n_results == 0)
        st = add_note(rep, "the baseline has no settings: nothing was compared");
    rep->passed = rep->n_failed == 0;

cleanup:
    if (st != PQE_OK) {
        pqe_check_report_free(rep);
        return st;
    }
    *out = rep;
    return PQE_OK;
}

pqe_status pqe_check_report_set_names(pqe_check_report *self, const char *results_name,
                                      const char *baseline_name)
{
    char *r = strdup(results_name ? results_name : "results");
    char *b = strdup(baseline_name ? baseline_name : "baseline");

    if (!r || !b) {
        free(r);
        free(b);
        return pqe_fail(PQE_ERR_NOMEM, "check: out of memory");
    }
    free(self->results_name);
    free(self->baseline_name);
    self->results_name = r;
    self->baseline_name = b;
    return PQE_OK;
}

void pqe_check_report_free(pqe_check_report *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->n_rows; i++) {
        free(self->rows[i].key);
        free(self->rows[i].label);
    }
    free(self->rows);
    for (size_t i = 0; i < self->n_notes; i++)
        free(self->notes[i]);
    free(self->notes);
    free(self->results_name);
    free(self->baseline_name);
    free(self->dataset);
    free(self);
}

/* ---- the table -------------------------------------------------------------- */

static void print_value(FILE *out, const char *measure, double v)
{
    if (isnan(v))
        fprintf(out, " %8s", "-");
    else if (!strncmp(measure, "distortion", 10))
        fprintf(out, " %8.4g", v);
    else
        fprintf(out, " %8.4f", v);
}

static void print_change(FILE *out, const pqe_check_row *row)
{
    if (isnan(row->change))
        fprintf(out, " %8s", "-");
    else if (!strncmp(row->measure, "distortion", 10))
        fprintf(out, " %+7.2f%%", 100.0 * row->change / fabs(row->baseline));
    else
        fprintf(out, " %+8.4f", row->change);
}

pqe_status pqe_check_report_print(const pqe_check_report *self, bool verbose, FILE *out)
{
    const pqe_check_options *o = &self->options;
    size_t shown = 0;

    fprintf(out, "pqeval check: %s against baseline %s\n",
            self->results_name ? self->results_name : "results",
            self->baseline_name ? self->baseline_name : "baseline");
    fprintf(out, "dataset: %s\n", self->dataset ? self->dataset : "unknown");
    fprintf(out, "rule: recall fails on a drop > %g (absolute) and > %g%% (relative)", o->abs_tol,
            100.0 * o->rel_tol);
    if (o->test == PQE_CHECK_TEST_STATISTICAL)
        fprintf(out, "\n      and significant at alpha %g (the one-sided test named per row)",
                o->alpha);
    fprintf(out, "\n      distortion fails on a rise > %g%%\n", 100.0 * o->distortion_tol);
    fprintf(out, "\n%-20s %-16s %8s %8s %8s %-16s %6s %s\n", "setting", "measure", "baseline",
            "current", "change", "test", "p", "verdict");
    for (size_t i = 0; i < self->n_rows; i++) {
        const pqe_check_row *row = &self->rows[i];
        if (!verbose && row->verdict == PQE_CHECK_PASS)
            continue;
        shown++;
        fprintf(out, "%-20.20s %-16.16s", row->label, row->measure);
        print_value(out, row->measure, row->baseline);
        print_value(out, row->measure, row->current);
        print_change(out, row);
        fprintf(out, " %-16s", row->test);
        if (isnan(row->p_value))
            fprintf(out, " %6s", "-");
        else if (row->p_value < 1e-4)
            fprintf(out, " %6s", "<1e-4");
        else
            fprintf(out, " %6.4f", row->p_value);
        fprintf(out, " %s%s\n", pqe_check_verdict_name(row->verdict),
                (row->verdict == PQE_CHECK_MISSING || row->verdict == PQE_CHECK_NEW) && !row->failed
                    ? " (allowed)"
                    : "");
    }
    if (shown == 0)
        fprintf(out, "(every measure passed; --verbose lists them all)\n");
    for (size_t i = 0; i < self->n_notes; i++)
        fprintf(out, "note: %s\n", self->notes[i]);
    fprintf(out,
            "\n%zu settings compared (%zu rows): %zu regressions, %zu within noise, %zu missing, "
            "%zu new\n",
            self->n_compared, self->n_rows, self->n_regressions, self->n_noise, self->n_missing,
            self->n_new);
    fprintf(out, "%s\n", self->passed ? "PASS" : "FAIL");
    if (ferror(out))
        return pqe_fail(PQE_ERR_IO, "printing the check report: %s", strerror(errno));
    return PQE_OK;
}

/* ---- JUnit XML -------------------------------------------------------------- */

static void xml_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc('?', out);
            else
                fputc(*s, out);
        }
    }
}

/* One sentence about a row, for JUnit messages. */
static void row_sentence(const pqe_check_row *row, char *buf, size_t size)
{
    switch (row->verdict) {
    case PQE_CHECK_MISSING:
        pqe_text_printf(buf, size, "%s of %s is in the baseline but not in the results",
                        row->measure, row->key);
        break;
    case PQE_CHECK_NEW:
        pqe_text_printf(buf, size, "%s of %s is in the results but not in the baseline",
                        row->measure, row->key);
        break;
    default:
        pqe_text_printf(buf, size,
                        "%s: baseline %.6g, current %.6g, change %+.6g, test %s, p %.3g: %s",
                        row->measure, row->baseline, row->current, row->change, row->test,
                        row->p_value, pqe_check_verdict_name(row->verdict));
    }
}

pqe_status pqe_check_report_write_junit(const pqe_check_report *self, const char *path)
{
    pqe_atomic_file f = {0};
    pqe_status st = pqe_atomic_open(path, &f);

    if (st != PQE_OK)
        return st;
    fprintf(f.fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f.fp, "<testsuites name=\"pqeval check\" tests=\"%zu\" failures=\"%zu\">\n",
            self->n_rows, self->n_failed);
    fprintf(f.fp, "  <testsuite name=\"pqeval check ");
    xml_text(f.fp, self->baseline_name ? self->baseline_name : "baseline");
    fprintf(f.fp, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", self->n_rows,
            self->n_failed);
    if (self->n_notes > 0) {
        fprintf(f.fp, "    <properties>\n");
        for (size_t i = 0; i < self->n_notes; i++) {
            fprintf(f.fp, "      <property name=\"note\" value=\"");
            xml_text(f.fp, self->notes[i]);
            fprintf(f.fp, "\"/>\n");
        }
        fprintf(f.fp, "    </properties>\n");
    }
    for (size_t i = 0; i < self->n_rows; i++) {
        const pqe_check_row *row = &self->rows[i];
        char sentence[512];
        row_sentence(row, sentence, sizeof sentence);
        fprintf(f.fp, "    <testcase classname=\"pqeval.check.");
        xml_text(f.fp, row->label);
        fprintf(f.fp, "\" name=\"");
        xml_text(f.fp, row->measure);
        fprintf(f.fp, "\">");
        if (row->failed) {
            fprintf(f.fp, "\n      <failure message=\"");
            xml_text(f.fp, sentence);
            fprintf(f.fp, "\" type=\"%s\">", pqe_check_verdict_name(row->verdict));
            xml_text(f.fp, row->key);
            fprintf(f.fp, "</failure>\n    ");
        } else if (row->verdict != PQE_CHECK_PASS) {
            fprintf(f.fp, "\n      <system-out>");
            xml_text(f.fp, sentence);
            fprintf(f.fp, "</system-out>\n    ");
        }
        fprintf(f.fp, "</testcase>\n");
    }
    fprintf(f.fp, "  </testsuite>\n</testsuites>\n");
    if (ferror(f.fp)) {
        st = pqe_fail(PQE_ERR_IO, "writing %s: %s", path, strerror(errno));
        pqe_atomic_abort(&f);
        return st;
    }
    return pqe_atomic_commit(&f);
}

/* ---- JSON report ------------------------------------------------------------ */

/* Sets obj[key] = v, remembering a failure (v NULL or the set failing). */
static void jset(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *report_json(const pqe_check_report *self)
{
    bool ok = true;
    json_t *root = json_object();
    json_t *opts = json_object();
    json_t *summary = json_object();
    json_t *notes = json_array();
    json_t *rows = json_array();
    const pqe_check_options *o = &self->options;

    if (!root || !opts || !summary || !notes || !rows) {
        json_decref(root);
        json_decref(opts);
        json_decref(summary);
        json_decref(notes);
        json_decref(rows);
        return NULL;
    }
    jset(root, "kind", json_string("pqeval-check"), &ok);
    jset(root, "schema_version", json_integer(1), &ok);
    jset(root, "pqeval_version", json_string(pqe_version()), &ok);
    jset(root, "results", json_string(self->results_name ? self->results_name : ""), &ok);
    jset(root, "baseline", json_string(self->baseline_name ? self->baseline_name : ""), &ok);
    jset(root, "dataset", json_string(self->dataset ? self->dataset : ""), &ok);
    jset(root, "passed", json_boolean(self->passed), &ok);
    jset(opts, "abs_tol", jnum(o->abs_tol), &ok);
    jset(opts, "rel_tol", jnum(o->rel_tol), &ok);
    jset(opts, "distortion_tol", jnum(o->distortion_tol), &ok);
    jset(opts, "test", json_string(pqe_check_test_name(o->test)), &ok);
    jset(opts, "alpha", jnum(o->alpha), &ok);
    jset(opts, "allow_missing", json_boolean(o->allow_missing), &ok);
    jset(opts, "allow_dataset_change", json_boolean(o->allow_dataset_change), &ok);
    jset(root, "options", opts, &ok);
    jset(summary, "compared", json_integer((json_int_t)self->n_compared), &ok);
    jset(summary, "rows", json_integer((json_int_t)self->n_rows), &ok);
    jset(summary, "regressions", json_integer((json_int_t)self->n_regressions), &ok);
    jset(summary, "noise", json_integer((json_int_t)self->n_noise), &ok);
    jset(summary, "missing", json_integer((json_int_t)self->n_missing), &ok);
    jset(summary, "new", json_integer((json_int_t)self->n_new), &ok);
    jset(summary, "failed", json_integer((json_int_t)self->n_failed), &ok);
    jset(summary, "dataset_changed", json_boolean(self->dataset_changed), &ok);
    jset(root, "summary", summary, &ok);
    for (size_t i = 0; i < self->n_notes && ok; i++)
        ok = json_array_append_new(notes, json_string(self->notes[i])) == 0;
    jset(root, "notes", notes, &ok);
    for (size_t i = 0; i < self->n_rows && ok; i++) {
        const pqe_check_row *row = &self->rows[i];
        json_t *r = json_object();
        if (!r) {
            ok = false;
            break;
        }
        jset(r, "key", json_string(row->key), &ok);
        jset(r, "label", json_string(row->label), &ok);
        jset(r, "measure", json_string(row->measure), &ok);
        jset(r, "baseline", jnum(row->baseline), &ok);
        jset(r, "current", jnum(row->current), &ok);
        jset(r, "change", jnum(row->change), &ok);
        jset(r, "test", json_string(row->test), &ok);
        jset(r, "p_value", jnum(row->p_value), &ok);
        if (!strcmp(row->test, "mcnemar-exact")) {
            jset(r, "lost", json_integer((json_int_t)row->lost), &ok);
            jset(r, "gained", json_integer((json_int_t)row->gained), &ok);
        }
        jset(r, "verdict", json_string(pqe_check_verdict_name(row->verdict)), &ok);
        jset(r, "failed", json_boolean(row->failed), &ok);
        if (json_array_append_new(rows, r) != 0)
            ok = false;
    }
    jset(root, "rows", rows, &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

pqe_status pqe_check_report_write_json(const pqe_check_report *self, const char *path)
{
    json_t *root = report_json(self);
    pqe_status st;

    if (!root)
        return pqe_fail(PQE_ERR_NOMEM, "writing %s: out of memory building the JSON", path);
    st = pqe_json_write_atomic(root, path, "writing");
    json_decref(root);
    return st;
}
