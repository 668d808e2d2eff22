/* sweep_result.c - freeing what a sweep's settings and results own.
 *
 * The sweep (sweep.c) and the results reader (report_json.c) both allocate
 * these structs; this file is the one place that releases them.
 *
 * Depends on: sweep.h, analysis.h.
 */
#include <stdlib.h>
#include <string.h>

#include "pqeval/analysis.h"
#include "pqeval/sweep.h"

void pqe_setting_clear(pqe_setting *self)
{
    if (!self)
        return;
    free(self->faiss_factory);
    free(self->quantizer_path);
    free(self->label);
    free(self->group);
    free(self->key);
    memset(self, 0, sizeof *self);
}

void pqe_setting_result_clear(pqe_setting_result *self)
{
    if (!self)
        return;
    pqe_setting_clear(&self->setting);
    free(self->name);
    free(self->mse_sub);
    free(self->sdc_note);
    free(self->hits_adc);
    free(self->hits_sdc);
    free(self->khits_adc);
    free(self->ids_adc);
    free(self->ids_sdc);
    memset(self, 0, sizeof *self);
}

void pqe_sweep_result_free(pqe_sweep_result *self)
{
    if (!self)
        return;
    free(self->dataset_path);
    free(self->dataset_name);
    free(self->version);
    free(self->machine);
    free(self->started);
    free(self->simd);
    for (size_t i = 0; i < self->n_results && self->results; i++)
        pqe_setting_result_clear(&self->results[i]);
    free(self->results);
    for (size_t i = 0; i < self->n_analyses && self->analyses; i++)
        pqe_analysis_clear(&self->analyses[i]);
    free(self->analyses);
    free(self);
}
