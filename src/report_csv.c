/* report_csv.c - a sweep as CSV: a header row, then one row per setting
 * with its specification and main measures (RFC 4180 quoting).
 *
 * The recall columns cover every R any setting measured (sorted), so rows
 * line up even if settings differ; a cell is empty where a value is NaN or
 * was not measured.  Numbers are written with 9 significant digits.
 *
 * Depends on: report.h, sweep.h, atomic_file.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pqeval/atomic_file.h"
#include "pqeval/report.h"

/* Sorted distinct R over all settings, at most PQE_MAX_RECALL_R * 4. */
enum { MAX_COLUMNS_R = 4 * PQE_MAX_RECALL_R };

static size_t collect_r(const pqe_sweep_result *self, size_t *rs)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_results; i++) {
        const pqe_setting_result *r = &self->results[i];
        for (size_t j = 0; j < r->n_r; j++) {
            size_t pos = 0;
            while (pos < n && rs[pos] < r->r_values[j])
                pos++;
            if ((pos < n && rs[pos] == r->r_values[j]) || n == MAX_COLUMNS_R)
                continue;
            memmove(rs + pos + 1, rs + pos, (n - pos) * sizeof *rs);
            rs[pos] = r->r_values[j];
            n++;
        }
    }
    return n;
}

/* One text cell, quoted if it must be; nothing for NULL. */
static void csv_cell(FILE *fp, const char *s)
{
    if (!s)
        return;
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', fp);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', fp);
            fputc(*s, fp);
        }
        fputc('"', fp);
    } else {
        fputs(s, fp);
    }
}

/* A further text cell, after its comma. */
static void csv_text(FILE *fp, const char *s)
{
    fputc(',', fp);
    csv_cell(fp, s);
}

static void csv_num(FILE *fp, double v)
{
    if (isfinite(v))
        fprintf(fp, ",%.9g", v);
    else
        fputc(',', fp);
}

static void csv_size(FILE *fp, size_t v)
{
    fprintf(fp, ",%zu", v);
}

static double at_r(const pqe_setting_result *r, size_t r_value, int what)
{
    for (size_t j = 0; j < r->n_r; j++) {
        if (r->r_values[j] != r_value)
            continue;
        switch (what) {
        case 0:
            return r->recall_adc[j];
        case 1:
            return r->recall_adc_ci[j][0];
        case 2:
            return r->recall_adc_ci[j][1];
        default:
            return r->recall_sdc[j];
        }
    }
    return NAN;
}

static void write_header(FILE *fp, const size_t *rs, size_t n_r)
{
    fputs("key,label,group,name,method,faiss_factory,M,nbits,n_train,seed,code_bits,"
          "code_bytes,mse_base,rel_mse_base,mse_train,rel_mse_train,mse_heldout,"
          "rel_mse_heldout,adc_err_mean,adc_err_sd,adc_err_rel_mean",
          fp);
    for (size_t j = 0; j < n_r; j++)
        fprintf(fp, ",recall_adc@%zu,recall_adc@%zu_lo,recall_adc@%zu_hi,recall_sdc@%zu", rs[j],
                rs[j], rs[j], rs[j]);
    fputs(",k,k_recall_adc,k_recall_sdc,train_s,encode_s,adc_s,sdc_s,adc_qps,sdc_qps\n", fp);
}

static void write_row(FILE *fp, const pqe_setting_result *r, const size_t *rs, size_t n_r)
{
    const pqe_setting *s = &r->setting;
    const pqe_quantizer_config *c = &s->config;

    csv_cell(fp, s->key);
    csv_text(fp, s->label);
    csv_text(fp, s->group);
    csv_text(fp, r->name);
    csv_text(fp, s->faiss_factory ? "faiss" : pqe_rotation_name(c->rotation));
    csv_text(fp, s->faiss_factory);
    csv_size(fp, c->n_sub);
    csv_size(fp, c->nbits);
    csv_size(fp, s->n_train);
    fprintf(fp, ",%llu", (unsigned long long)c->seed);
    csv_num(fp, r->code_bits);
    csv_size(fp, r->code_bytes);
    csv_num(fp, r->mse_base);
    csv_num(fp, r->rel_mse_base);
    csv_num(fp, r->mse_train);
    csv_num(fp, r->rel_mse_train);
    csv_num(fp, r->mse_heldout);
    csv_num(fp, r->rel_mse_heldout);
    csv_num(fp, r->adc_err_mean);
    csv_num(fp, r->adc_err_sd);
    csv_num(fp, r->adc_err_rel_mean);
    for (size_t j = 0; j < n_r; j++) {
        for (int what = 0; what < 4; what++)
            csv_num(fp, at_r(r, rs[j], what));
    }
    csv_size(fp, r->k);
    csv_num(fp, r->krecall_adc);
    csv_num(fp, r->krecall_sdc);
    csv_num(fp, r->train_seconds);
    csv_num(fp, r->encode_seconds);
    csv_num(fp, r->adc_seconds);
    csv_num(fp, r->sdc_seconds);
    csv_num(fp, r->adc_qps);
    csv_num(fp, r->sdc_qps);
    fputc('\n', fp);
}

pqe_status pqe_results_write_csv(const pqe_sweep_result *self, const char *path)
{
    pqe_atomic_file file = {0};
    size_t rs[MAX_COLUMNS_R];
    size_t n_r;
    pqe_status st;

    if (!self || !path)
        return pqe_fail(PQE_ERR_PARAM, "writing CSV: no results or no path given");
    n_r = collect_r(self, rs);
    st = pqe_atomic_open(path, &file);
    if (st != PQE_OK)
        return st;
    write_header(file.fp, rs, n_r);
    for (size_t i = 0; i < self->n_results; i++)
        write_row(file.fp, &self->results[i], rs, n_r);
    if (ferror(file.fp)) {
        st = pqe_fail(PQE_ERR_IO, "writing %s: %s", path, strerror(errno));
        pqe_atomic_abort(&file);
        return st;
    }
    return pqe_atomic_commit(&file);
}
