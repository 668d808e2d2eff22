/* report_table.c - a sweep as an aligned table for a terminal (about 100
 * columns), followed by the analysis of the heuristic and its verdict.
 *
 * Columns: setting, code bits, distortion (MSE per vector) and its relative
 * form, 1-recall@R with ADC for the first three R, SDC at the second R (the
 * first if there is one), k-recall@k with ADC, training seconds and ADC
 * queries per second.  A value that is NaN or does not apply prints "-".
 * Everything else is in the JSON and CSV files.
 *
 * Depends on: report.h, sweep.h, analysis.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pqeval/analysis.h"
#include "pqeval/report.h"
#include "util.h"

enum {
    LABEL_WIDTH = 20, /* longer labels are cut with a '~' */
    MAX_ADC_COLUMNS = 3,
    MAX_PAIRS_SHOWN = 5,
    TABLE_WIDTH = 100
};

static void print_recall(FILE *out, double v)
{
    if (isnan(v))
        fprintf(out, " %6s", "-");
    else
        fprintf(out, " %6.4f", v);
}

static void print_label(FILE *out, const char *label)
{
    size_t len = label ? strlen(label) : 0;
    if (len <= LABEL_WIDTH)
        fprintf(out, "%-*s", LABEL_WIDTH, label ? label : "");
    else
        fprintf(out, "%.*s~", LABEL_WIDTH - 1, label);
}

/* A value in at most 8 characters: seconds or queries per second. */
static void print_amount(FILE *out, int width, double v)
{
    if (isnan(v) || v < 0)
        fprintf(out, " %*s", width, "-");
    else if (v < 100)
        fprintf(out, " %*.2f", width, v);
    else if (v < 1e7)
        fprintf(out, " %*.0f", width, v);
    else
        fprintf(out, " %*.2g", width, v);
}

/* The R of the table's columns, from the first setting that has any. */
static const pqe_setting_result *column_source(const pqe_sweep_result *self)
{
    for (size_t i = 0; i < self->n_results; i++) {
        if (self->results[i].n_r > 0)
            return &self->results[i];
    }
    return NULL;
}

/* Recall of r at R = r_value, or NaN if this setting did not measure it. */
static double recall_at(const pqe_setting_result *r, size_t r_value, bool sdc)
{
    for (size_t j = 0; j < r->n_r; j++) {
        if (r->r_values[j] == r_value)
            return sdc ? r->recall_sdc[j] : r->recall_adc[j];
    }
    return NAN;
}

static void print_header(FILE *out, const pqe_sweep_result *self)
{
    fprintf(out, "pqeval %s: %s", self->version ? self->version : pqe_version(),
            self->dataset_name ? self->dataset_name : "dataset");
    if (self->dataset_checksum[0])
        fprintf(out, " (sha256 %.12s)", self->dataset_checksum);
    fprintf(out, "\n  %s, %zu dims, %zu base, %zu queries", pqe_metric_name(self->metric),
            self->dim, self->n_base, self->n_queries);
    if (self->n_threads > 0)
        fprintf(out, ", %d threads", self->n_threads);
    fprintf(out, "\n");
}

static void print_rows(FILE *out, const pqe_sweep_result *self)
{
    const pqe_setting_result *src = column_source(self);
    size_t n_adc = src ? (src->n_r < MAX_ADC_COLUMNS ? src->n_r : MAX_ADC_COLUMNS) : 0;
    size_t sdc_r = src ? src->r_values[src->n_r > 1 ? 1 : 0] : 0;
    size_t k = self->n_results > 0 ? self->results[0].k : 0;
    char head[16];

    print_label(out, "setting");
    fprintf(out, " %5s %10s %7s", "bits", "distortion", "rel");
    for (size_t j = 0; j < n_adc; j++) {
        pqe_text_printf(head, sizeof head, "R@%zu", src->r_values[j]);
        fprintf(out, " %6s", head);
    }
    if (src) {
        pqe_text_printf(head, sizeof head, "SDC@%zu", sdc_r);
        fprintf(out, " %6s", head);
    }
    pqe_text_printf(head, sizeof head, "%zu-rec", k);
    fprintf(out, " %7s %7s %8s\n", head, "train s", "qps");

    for (size_t i = 0; i < self->n_results; i++) {
        const pqe_setting_result *r = &self->results[i];
        print_label(out, r->setting.label ? r->setting.label : r->setting.key);
        if (isnan(r->code_bits))
            fprintf(out, " %5s", "-");
        else
            fprintf(out, " %5.0f", r->code_bits);
        if (isnan(r->mse_base))
            fprintf(out, " %10s", "-");
        else
            fprintf(out, " %10.4g", r->mse_base);
        if (isnan(r->rel_mse_base))
            fprintf(out, " %7s", "-");
        else
            fprintf(out, " %7.4f", r->rel_mse_base);
        for (size_t j = 0; j < n_adc; j++)
            print_recall(out, recall_at(r, src->r_values[j], false));
        if (src)
            print_recall(out, recall_at(r, sdc_r, true));
        if (isnan(r->krecall_adc))
            fprintf(out, " %7s", "-");
        else
            fprintf(out, " %7.4f", r->krecall_adc);
        print_amount(out, 7, r->train_seconds);
        print_amount(out, 8, r->adc_qps);
        fprintf(out, "\n");
    }
    if (src)
        fprintf(out,
                "R@R: 1-recall@R with ADC; SDC@%zu: with SDC; %zu-rec: k-recall@%zu (ADC); "
                "qps: ADC queries/s\n",
                sdc_r, k, k);
}

/* prefix + text, broken at spaces so that no line passes TABLE_WIDTH
 * columns; continuation lines are indented by indent spaces. */
static void print_wrapped(FILE *out, const char *prefix, int indent, const char *text)
{
    size_t col = strlen(prefix);

    fputs(prefix, out);
    while (*text) {
        size_t spaces = strspn(text, " ");
        size_t word = strcspn(text + spaces, " ");
        if (word == 0)
            break;
        if (col > (size_t)indent && col + spaces + word > TABLE_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = (size_t)indent;
        } else {
            fprintf(out, "%*s", (int)spaces, "");
            col += spaces;
        }
        fwrite(text + spaces, 1, word, out);
        col += word;
        text += spaces + word;
    }
    fputc('\n', out);
}

static const char *point_label(const pqe_analysis *a, size_t i)
{
    return a->labels && i < a->n_points && a->labels[i] ? a->labels[i] : "?";
}

/* v with fmt, or "-" when it is NaN (too few settings for a p-value, a
 * correlation or a leave-one-out error). */
static const char *num_or_dash(char buf[32], const char *fmt, double v)
{
    if (isnan(v))
        return "-";
    snprintf(buf, 32, fmt, v);
    return buf;
}

static void print_analysis(FILE *out, const pqe_analysis *a)
{
    char p1[32], p2[32];
    size_t shown = 0;

    fprintf(out, "\nheuristic for %s over %zu settings: Spearman ",
            a->recall_name ? a->recall_name : "recall", a->n_points);
    if (isnan(a->overall.spearman))
        fprintf(out, "undefined");
    else
        fprintf(out, "%+.3f (p %s)", a->overall.spearman,
                num_or_dash(p1, "%.3g", a->overall.spearman_p));
    if (!isnan(a->overall.kendall))
        fprintf(out, ", Kendall %+.3f (p %s)", a->overall.kendall,
                num_or_dash(p2, "%.3g", a->overall.kendall_p));
    fprintf(out, "\n");

    if (a->n_groups > 0) {
        char groups[2048];
        size_t used = 0;
        for (size_t g = 0; g < a->n_groups && used < sizeof groups; g++) {
            const pqe_analysis_group *grp = &a->groups[g];
            int w;
            if (grp->judged && !isnan(grp->corr.spearman))
                w = snprintf(groups + used, sizeof groups - used, "%s%.0f bits: %+.2f (%zu)",
                             g ? "; " : "", grp->code_bits, grp->corr.spearman, grp->n);
            else
                w = snprintf(groups + used, sizeof groups - used, "%s%.0f bits: - (%zu)",
                             g ? "; " : "", grp->code_bits, grp->n);
            used += w > 0 ? (size_t)w : 0;
        }
        print_wrapped(out, "  Spearman by code size (settings): ", 4, groups);
    }

    fprintf(out, "  discordant pairs: %zu, %zu outside the noise\n", a->n_pairs,
            a->n_pairs_outside_noise);
    for (size_t k = 0; k < a->n_pairs && shown < MAX_PAIRS_SHOWN; k++) {
        const pqe_discordant_pair *p = &a->pairs[k];
        if (p->within_noise && a->n_pairs_outside_noise > 0)
            continue; /* show the ones that matter first */
        fprintf(out, "    %s has %.1f%% less distortion than %s but %.4f less recall%s\n",
                point_label(a, p->i), 100.0 * p->distortion_gap_rel, point_label(a, p->j),
                p->recall_gap, p->within_noise ? " (within noise)" : "");
        shown++;
    }
    if (a->n_pairs > shown)
        fprintf(out, "    ... %zu more in the JSON file\n", a->n_pairs - shown);
    if (!isnan(a->loo_mae))
        fprintf(out, "  isotonic fit: leave-one-out error %.4f (rmse %.4f)\n", a->loo_mae,
                a->loo_rmse);
    print_wrapped(out, "verdict: ", 2,
                  a->verdict_text ? a->verdict_text : pqe_verdict_name(a->verdict));
}

pqe_status pqe_results_print_table(const pqe_sweep_result *self, FILE *out)
{
    if (!self || !out)
        return pqe_fail(PQE_ERR_PARAM, "printing results: nothing to print");
    print_header(out, self);
    print_rows(out, self);
    if (self->n_analyses && self->analyses) {
        /* The measure of the PQ and OPQ papers' plots in full, the others
         * as one line each (all of them are in the JSON file). */
        size_t main = 0;
        for (size_t i = 0; i < self->n_analyses; i++) {
            const char *name = self->analyses[i].recall_name;
            if (name && !strcmp(name, "ADC 1-recall@10")) {
                main = i;
                break;
            }
        }
        print_analysis(out, &self->analyses[main]);
        if (self->n_analyses > 1)
            fprintf(out, "\nthe other recall measures:\n");
        for (size_t i = 0; i < self->n_analyses; i++) {
            const pqe_analysis *a = &self->analyses[i];
            char rho[32], loo[32];
            if (i == main)
                continue;
            fprintf(out,
                    "  %-17s %-13s Spearman %s, discordant pairs %zu (%zu outside "
                    "noise), LOO error %s\n",
                    a->recall_name ? a->recall_name : "recall", pqe_verdict_name(a->verdict),
                    num_or_dash(rho, "%+.2f", a->overall.spearman), a->n_pairs,
                    a->n_pairs_outside_noise, num_or_dash(loo, "%.3f", a->loo_mae));
        }
    }
    if (ferror(out))
        return pqe_fail(PQE_ERR_IO, "printing results: %s", strerror(errno));
    return PQE_OK;
}
