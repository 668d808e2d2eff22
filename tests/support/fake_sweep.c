/* fake_sweep.c - in-memory sweep results for the report and check tests
 * (see fake_sweep.h).
 *
 * Depends on: sweep.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fake_sweep.h"

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "fake_sweep: out of memory\n");
        abort();
    }
    return p;
}

static char *dup_text(const char *s)
{
    return must(strdup(s));
}

static void recount(pqe_setting_result *r, size_t j)
{
    size_t hits = 0;
    for (size_t q = 0; q < r->n_queries; q++)
        hits += r->hits_adc[q * r->n_r + j];
    r->recall_adc[j] = (double)hits / (double)r->n_queries;
    r->recall_sdc[j] = r->recall_adc[j];
    r->recall_adc_ci[j][0] = r->recall_sdc_ci[j][0] = fmax(0.0, r->recall_adc[j] - 0.01);
    r->recall_adc_ci[j][1] = r->recall_sdc_ci[j][1] = fmin(1.0, r->recall_adc[j] + 0.01);
}

void fake_set_hits(pqe_setting_result *r, size_t j, size_t hits)
{
    for (size_t q = 0; q < r->n_queries; q++) {
        r->hits_adc[q * r->n_r + j] = q < hits;
        r->hits_sdc[q * r->n_r + j] = q < hits;
    }
    recount(r, j);
}

void fake_set_query(pqe_setting_result *r, size_t j, size_t q, int hit)
{
    r->hits_adc[q * r->n_r + j] = (uint8_t)(hit != 0);
    r->hits_sdc[q * r->n_r + j] = (uint8_t)(hit != 0);
    recount(r, j);
}

void fake_drop_per_query(pqe_setting_result *r)
{
    free(r->hits_adc);
    free(r->hits_sdc);
    free(r->khits_adc);
    r->hits_adc = r->hits_sdc = NULL;
    r->khits_adc = NULL;
}

pqe_sweep_result *fake_sweep_new(size_t n_settings, size_t n_queries)
{
    static const size_t rs[3] = {1, 10, 100};
    static const double base_recall[3] = {0.3, 0.6, 0.9};
    pqe_sweep_result *s = must(calloc(1, sizeof *s));
    char text[128];

    s->dataset_path = dup_text("/data/fake-8-euclidean.hdf5");
    s->dataset_name = dup_text("fake-8-euclidean");
    memset(s->dataset_checksum, 'a', 64);
    s->dataset_checksum[64] = '\0';
    s->metric = PQE_METRIC_EUCLIDEAN;
    s->dim = 64;
    s->n_base = 1000;
    s->n_queries = n_queries;
    s->n_train_pool = 1000;
    s->n_heldout = 0;
    strcpy(s->train_source, "base");
    s->gt_k = 100;
    s->version = dup_text("0.1.0");
    s->machine = dup_text("x86_64, test cpu, 2 threads");
    s->started = dup_text("2026-12-03T18:00:00Z");
    s->n_threads = 2;
    s->n_results = n_settings;
    s->results = must(calloc(n_settings ? n_settings : 1, sizeof *s->results));

    for (size_t i = 0; i < n_settings; i++) {
        pqe_setting_result *r = &s->results[i];
        size_t m = (size_t)4 << i;
        pqe_quantizer_config c = {0};

        c.dim = 64;
        c.n_sub = m;
        c.nbits = 8;
        c.rotation = (pqe_rotation)(i % 3);
        c.kmeans_iters = 25;
        c.kmeans_init = PQE_KMEANS_INIT_RANDOM;
        c.max_points_per_centroid = 256;
        c.opq_outer_iters = 25;
        c.opq_inner_iters = 4;
        c.seed = 1 + i;
        r->setting.config = c;
        snprintf(text, sizeof text, "PQ%zux8-s%zu", m, i + 1);
        r->setting.label = dup_text(text);
        snprintf(text, sizeof text, "PQ%zux8", m);
        r->setting.group = dup_text(text);
        snprintf(text, sizeof text, "method=%d,M=%zu,nbits=8,n_train=0,iters=25,seed=%zu",
                 (int)(i % 3), m, i + 1);
        r->setting.key = dup_text(text);
        r->name = dup_text(r->setting.group);
        r->code_bits = 8.0 * (double)m;
        r->code_bytes = m;
        r->mse_base = 100.0 / (double)(i + 1);
        r->rel_mse_base = r->mse_base / 1000.0;
        r->mse_train = 0.9 * r->mse_base;
        r->rel_mse_train = r->mse_train / 1000.0;
        r->mse_heldout = NAN;
        r->rel_mse_heldout = NAN;
        r->n_sub = m;
        r->mse_sub = must(calloc(m, sizeof *r->mse_sub));
        for (size_t k = 0; k < m; k++)
            r->mse_sub[k] = r->mse_base / (double)m;
        r->adc_err_mean = -1.5;
        r->adc_err_sd = 2.25;
        r->adc_err_rel_mean = -0.01;
        r->adc_err_pairs = 1000;
        r->n_queries = n_queries;
        r->n_r = 3;
        memcpy(r->r_values, rs, sizeof rs);
        r->k = 10;
        r->sdc_supported = true;
        r->hits_adc = must(calloc(n_queries * 3 + 1, 1));
        r->hits_sdc = must(calloc(n_queries * 3 + 1, 1));
        r->khits_adc = must(calloc(n_queries + 1, sizeof *r->khits_adc));
        for (size_t j = 0; j < 3; j++) {
            double want = fmin(1.0, base_recall[j] + 0.02 * (double)i);
            fake_set_hits(r, j, (size_t)llround(want * (double)n_queries));
        }
        for (size_t j = 3; j < PQE_MAX_RECALL_R; j++)
            r->recall_sdc[j] = NAN;
        double sum = 0;
        for (size_t q = 0; q < n_queries; q++) {
            r->khits_adc[q] = (float)((q + i) % 11) / 10.0f;
            if (r->khits_adc[q] > 1.0f)
                r->khits_adc[q] = 1.0f;
            sum += r->khits_adc[q];
        }
        r->krecall_adc = n_queries ? sum / (double)n_queries : NAN;
        r->krecall_sdc = r->krecall_adc - 0.05;
        r->train_seconds = 1.25 * (double)(i + 1);
        r->encode_seconds = 0.5;
        r->adc_seconds = 0.25;
        r->sdc_seconds = 0.125;
        r->adc_qps = (double)n_queries / 0.25;
        r->sdc_qps = (double)n_queries / 0.125;
    }
    return s;
}
