/* report_json.c - the results JSON: a whole sweep written as one document,
 * and read back into a pqe_sweep_result for 'pqeval check'.
 *
 * The schema is documented in docs/results-schema.md; keep the two in step.
 * Choices:
 * - NaN and infinities are written as null (JSON has no NaN); the reader
 *   turns null back into NaN where a number may be missing.
 * - Numbers are written with 17 significant digits (jansson's default), so
 *   a double survives the round trip bit for bit.
 * - Per-query hits (for paired tests) are one bitmap per R, bit q of the
 *   bitmap being byte q / 8, bit q % 8 (least significant first), in
 *   standard base64 with padding: 10 000 queries take 1 668 characters per
 *   R.  Per-query k-recall is stored as the integer count of the k found
 *   (count / k is the value) when every value is such a fraction, otherwise
 *   as the numbers themselves.
 * - The reader requires every field the checker uses and ignores fields it
 *   does not know (a newer minor writer may add some).  It reads the
 *   analysis section only as far as to skip it: the analysis is recomputed
 *   from the settings, never compared.
 *
 * Depends on: report.h, sweep.h, analysis.h, atomic_file.h, util.h; jansson.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/analysis.h"
#include "pqeval/atomic_file.h"
#include "pqeval/report.h"
#include "report_internal.h"
#include "util.h"

/* ---- names written in the file ------------------------------------------ */

/* The schema's own words for the enums, kept here rather than borrowed from
 * other modules so the file format does not change when they do. */
static const char *const method_names[] = {"pq", "opq-p", "opq-np"};
static const char *const init_names[] = {"random", "plusplus"};
static const char *const opq_start_names[] = {"parametric", "identity"};

static const char *enum_name(const char *const *names, size_t n, unsigned value)
{
    return value < n ? names[value] : "unknown";
}

static bool enum_parse(const char *const *names, size_t n, const char *text, unsigned *out)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], text)) {
            *out = (unsigned)i;
            return true;
        }
    }
    return false;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- base64 --------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes, NUL-terminated, malloc'd; NULL on allocation failure. */
static char *b64_encode(const uint8_t *bytes, size_t n)
{
    size_t len = 4 * ((n + 2) / 3);
    char *out = malloc(len + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < n)
            v |= bytes[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decodes text into exactly n bytes; false if it is not base64 of n bytes. */
static bool b64_decode(const char *text, uint8_t *out, size_t n)
{
    size_t len = strlen(text);
    size_t o = 0;

    if (len != 4 * ((n + 2) / 3))
        return false;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = text[i + (size_t)j] == '=' ? 0 : b64_value(text[i + (size_t)j]);
            if (v[j] < 0)
                return false;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int j = 0; j < 3 && o < n; j++)
            out[o++] = b[j];
    }
    return o == n;
}

/* ---- writing -------------------------------------------------------------- */

/* A builder that remembers whether any jansson call failed (out of memory),
 * so the code below can build the tree without checking every call. */
typedef struct builder {
    bool failed;
} builder;

static json_t *b_num(builder *b, double v)
{
    json_t *j = isfinite(v) ? json_real(v) : json_null();
    if (!j)
        b->failed = true;
    return j;
}

static json_t *b_int(builder *b, long long v)
{
    json_t *j = json_integer((json_int_t)v);
    if (!j)
        b->failed = true;
    return j;
}

static json_t *b_str(builder *b, const char *s)
{
    json_t *j = s ? json_string(s) : json_null();
    if (!j)
        b->failed = true;
    return j;
}

static json_t *b_obj(builder *b)
{
    json_t *j = json_object();
    if (!j)
        b->failed = true;
    return j;
}

static json_t *b_arr(builder *b)
{
    json_t *j = json_array();
    if (!j)
        b->failed = true;
    return j;
}

/* Takes ownership of v (NULL only after a failure already recorded). */
static void b_set(builder *b, json_t *obj, const char *key, json_t *v)
{
    if (!obj || !v || json_object_set_new(obj, key, v) != 0) {
        b->failed = true;
        json_decref(v);
    }
}

static void b_push(builder *b, json_t *arr, json_t *v)
{
    if (!arr || !v || json_array_append_new(arr, v) != 0) {
        b->failed = true;
        json_decref(v);
    }
}

static json_t *b_num_array(builder *b, const double *v, size_t n)
{
    json_t *arr = b_arr(b);
    for (size_t i = 0; i < n; i++)
        b_push(b, arr, b_num(b, v[i]));
    return arr;
}

static json_t *b_size(builder *b, size_t v)
{
    return b_int(b, v > (size_t)INT64_MAX ? INT64_MAX : (long long)v);
}

/* A 64-bit seed: a JSON integer when it fits a signed 64-bit integer
 * (jansson's json_int_t), a decimal string otherwise. */
static json_t *b_seed(builder *b, uint64_t seed)
{
    char text[32];
    if (seed <= (uint64_t)INT64_MAX)
        return b_int(b, (long long)seed);
    pqe_text_printf(text, sizeof text, "%" PRIu64, seed);
    return b_str(b, text);
}

static json_t *distortion_json(builder *b, const pqe_setting_result *r)
{
    json_t *d = b_obj(b);
    b_set(b, d, "mse_base", b_num(b, r->mse_base));
    b_set(b, d, "rel_mse_base", b_num(b, r->rel_mse_base));
    b_set(b, d, "mse_train", b_num(b, r->mse_train));
    b_set(b, d, "rel_mse_train", b_num(b, r->rel_mse_train));
    b_set(b, d, "mse_heldout", b_num(b, r->mse_heldout));
    b_set(b, d, "rel_mse_heldout", b_num(b, r->rel_mse_heldout));
    if (r->mse_sub && r->n_sub > 0)
        b_set(b, d, "per_subspace", b_num_array(b, r->mse_sub, r->n_sub));
    else
        b_set(b, d, "per_subspace", b_str(b, NULL));
    return d;
}

static json_t *interval_array(builder *b, const double (*ci)[2], size_t n)
{
    json_t *arr = b_arr(b);
    for (size_t j = 0; j < n; j++) {
        json_t *pair = b_arr(b);
        b_push(b, pair, b_num(b, ci[j][0]));
        b_push(b, pair, b_num(b, ci[j][1]));
        b_push(b, arr, pair);
    }
    return arr;
}

static bool all_nan(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isnan(v[i]))
            return false;
    }
    return true;
}

static json_t *recall_json(builder *b, const pqe_setting_result *r)
{
    json_t *rec = b_obj(b);
    json_t *rs = b_arr(b);
    bool sdc = r->sdc_supported && !all_nan(r->recall_sdc, r->n_r);

    for (size_t j = 0; j < r->n_r; j++)
        b_push(b, rs, b_size(b, r->r_values[j]));
    b_set(b, rec, "n_queries", b_size(b, r->n_queries));
    b_set(b, rec, "r", rs);
    b_set(b, rec, "adc", b_num_array(b, r->recall_adc, r->n_r));
    b_set(b, rec, "adc_ci", interval_array(b, r->recall_adc_ci, r->n_r));
    b_set(b, rec, "sdc", sdc ? b_num_array(b, r->recall_sdc, r->n_r) : b_str(b, NULL));
    b_set(b, rec, "sdc_ci", sdc ? interval_array(b, r->recall_sdc_ci, r->n_r) : b_str(b, NULL));
    b_set(b, rec, "k", b_size(b, r->k));
    b_set(b, rec, "k_recall_adc", b_num(b, r->krecall_adc));
    b_set(b, rec, "k_recall_sdc", b_num(b, r->krecall_sdc));
    return rec;
}

/* One bitmap per R of hits[q * n_r + j]. */
static json_t *hits_json(builder *b, const uint8_t *hits, size_t n_queries, size_t n_r)
{
    json_t *arr = b_arr(b);
    size_t n_bytes = (n_queries + 7) / 8;
    uint8_t *bitmap = n_bytes ? calloc(n_bytes, 1) : NULL;

    if (n_bytes && !bitmap) {
        b->failed = true;
        return arr;
    }
    for (size_t j = 0; j < n_r; j++) {
        if (n_bytes)
            memset(bitmap, 0, n_bytes);
        for (size_t q = 0; q < n_queries; q++) {
            if (hits[q * n_r + j])
                bitmap[q / 8] |= (uint8_t)(1u << (q % 8));
        }
        char *text = b64_encode(bitmap, n_bytes);
        if (!text)
            b->failed = true;
        else
            b_push(b, arr, b_str(b, text));
        free(text);
    }
    free(bitmap);
    return arr;
}

static json_t *khits_json(builder *b, const float *khits, size_t n_queries, size_t k)
{
    json_t *obj = b_obj(b);
    json_t *arr = b_arr(b);
    bool counts = k > 0;

    for (size_t q = 0; q < n_queries && counts; q++) {
        double c = (double)khits[q] * (double)k;
        if (fabs(c - nearbyint(c)) > 1e-3 || c < 0 || c > (double)k)
            counts = false;
    }
    for (size_t q = 0; q < n_queries; q++) {
        if (counts)
            b_push(b, arr, b_int(b, (long long)nearbyint((double)khits[q] * (double)k)));
        else
            b_push(b, arr, b_num(b, khits[q]));
    }
    b_set(b, obj, "k", b_size(b, k));
    b_set(b, obj, counts ? "counts" : "values", arr);
    return obj;
}

static json_t *per_query_json(builder *b, const pqe_setting_result *r)
{
    json_t *pq;

    if (!r->hits_adc && !r->khits_adc)
        return b_str(b, NULL);
    pq = b_obj(b);
    b_set(b, pq, "encoding", b_str(b, "bitmap-base64-lsb0"));
    b_set(b, pq, "n_queries", b_size(b, r->n_queries));
    b_set(b, pq, "hits_adc",
          r->hits_adc ? hits_json(b, r->hits_adc, r->n_queries, r->n_r) : b_str(b, NULL));
    b_set(b, pq, "hits_sdc",
          r->hits_sdc ? hits_json(b, r->hits_sdc, r->n_queries, r->n_r) : b_str(b, NULL));
    b_set(b, pq, "khits_adc",
          r->khits_adc ? khits_json(b, r->khits_adc, r->n_queries, r->k) : b_str(b, NULL));
    return pq;
}

static json_t *timings_json(builder *b, const pqe_setting_result *r)
{
    json_t *t = b_obj(b);
    b_set(b, t, "train_s", b_num(b, r->train_seconds));
    b_set(b, t, "encode_s", b_num(b, r->encode_seconds));
    b_set(b, t, "adc_s", b_num(b, r->adc_seconds));
    b_set(b, t, "sdc_s", b_num(b, r->sdc_seconds));
    b_set(b, t, "adc_qps", b_num(b, r->adc_qps));
    b_set(b, t, "sdc_qps", b_num(b, r->sdc_qps));
    return t;
}

static json_t *setting_json(builder *b, const pqe_setting_result *r)
{
    const pqe_setting *s = &r->setting;
    const pqe_quantizer_config *c = &s->config;
    json_t *o = b_obj(b);
    const char *method =
        s->faiss_factory ? "faiss" : enum_name(method_names, N_OF(method_names), c->rotation);

    b_set(b, o, "key", b_str(b, s->key));
    b_set(b, o, "label", b_str(b, s->label));
    b_set(b, o, "group", b_str(b, s->group));
    b_set(b, o, "name", b_str(b, r->name));
    b_set(b, o, "method", b_str(b, method));
    b_set(b, o, "faiss_factory", b_str(b, s->faiss_factory));
    b_set(b, o, "M", b_size(b, c->n_sub));
    b_set(b, o, "nbits", b_size(b, c->nbits));
    b_set(b, o, "n_train", b_size(b, s->n_train));
    b_set(b, o, "kmeans_iters", b_size(b, c->kmeans_iters));
    b_set(b, o, "kmeans_init", b_str(b, enum_name(init_names, N_OF(init_names), c->kmeans_init)));
    b_set(b, o, "max_points_per_centroid", b_size(b, c->max_points_per_centroid));
    b_set(b, o, "opq_start",
          b_str(b, enum_name(opq_start_names, N_OF(opq_start_names), c->opq_start)));
    b_set(b, o, "opq_outer_iters", b_size(b, c->opq_outer_iters));
    b_set(b, o, "opq_inner_iters", b_size(b, c->opq_inner_iters));
    b_set(b, o, "seed", b_seed(b, c->seed));
    b_set(b, o, "code_bits", b_num(b, r->code_bits));
    b_set(b, o, "code_bytes", b_size(b, r->code_bytes));
    b_set(b, o, "distortion", distortion_json(b, r));

    json_t *adc = b_obj(b);
    b_set(b, adc, "mean", b_num(b, r->adc_err_mean));
    b_set(b, adc, "sd", b_num(b, r->adc_err_sd));
    b_set(b, adc, "rel_mean", b_num(b, r->adc_err_rel_mean));
    b_set(b, adc, "pairs", b_size(b, r->adc_err_pairs));
    b_set(b, o, "adc_error", adc);

    b_set(b, o, "recall", recall_json(b, r));
    b_set(b, o, "sdc_supported", json_boolean(r->sdc_supported));
    b_set(b, o, "sdc_note", b_str(b, r->sdc_note));
    b_set(b, o, "per_query", per_query_json(b, r));
    b_set(b, o, "timings", timings_json(b, r));
    return o;
}

static json_t *correlation_json(builder *b, const pqe_correlation *c)
{
    json_t *o = b_obj(b);
    b_set(b, o, "n", b_size(b, c->n));
    b_set(b, o, "spearman", b_num(b, c->spearman));
    b_set(b, o, "spearman_p", b_num(b, c->spearman_p));
    b_set(b, o, "kendall", b_num(b, c->kendall));
    b_set(b, o, "kendall_p", b_num(b, c->kendall_p));
    return o;
}

static json_t *analysis_json(builder *b, const pqe_analysis *a)
{
    json_t *o = b_obj(b);
    json_t *labels = b_arr(b), *groups = b_arr(b), *pairs = b_arr(b);

    b_set(b, o, "recall", b_str(b, a->recall_name));
    b_set(b, o, "n_points", b_size(b, a->n_points));
    for (size_t i = 0; i < a->n_points; i++)
        b_push(b, labels, b_str(b, a->labels ? a->labels[i] : NULL));
    b_set(b, o, "labels", labels);
    b_set(b, o, "overall", correlation_json(b, &a->overall));
    for (size_t g = 0; g < a->n_groups; g++) {
        json_t *grp = b_obj(b);
        b_set(b, grp, "code_bits", b_num(b, a->groups[g].code_bits));
        b_set(b, grp, "n", b_size(b, a->groups[g].n));
        b_set(b, grp, "judged", json_boolean(a->groups[g].judged));
        b_set(b, grp, "correlation", correlation_json(b, &a->groups[g].corr));
        b_push(b, groups, grp);
    }
    b_set(b, o, "groups", groups);
    b_set(b, o, "groups_judged", b_size(b, a->n_groups_judged));
    b_set(b, o, "group_spearman_min", b_num(b, a->group_rho_min));
    b_set(b, o, "group_spearman_max", b_num(b, a->group_rho_max));
    for (size_t k = 0; k < a->n_pairs; k++) {
        const pqe_discordant_pair *p = &a->pairs[k];
        json_t *pair = b_obj(b);
        b_set(b, pair, "i", b_size(b, p->i));
        b_set(b, pair, "j", b_size(b, p->j));
        b_set(b, pair, "same_group", json_boolean(p->same_group));
        b_set(b, pair, "distortion_gap", b_num(b, p->distortion_gap));
        b_set(b, pair, "distortion_gap_rel", b_num(b, p->distortion_gap_rel));
        b_set(b, pair, "recall_gap", b_num(b, p->recall_gap));
        b_set(b, pair, "noise", b_num(b, p->noise));
        b_set(b, pair, "within_noise", json_boolean(p->within_noise));
        b_push(b, pairs, pair);
    }
    b_set(b, o, "discordant_pairs", pairs);
    b_set(b, o, "pairs_outside_noise", b_size(b, a->n_pairs_outside_noise));
    b_set(b, o, "isotonic_fit", a->fit ? b_num_array(b, a->fit, a->n_points) : b_str(b, NULL));
    b_set(b, o, "loo_prediction",
          a->loo_pred ? b_num_array(b, a->loo_pred, a->n_points) : b_str(b, NULL));
    b_set(b, o, "loo_mae", b_num(b, a->loo_mae));
    b_set(b, o, "loo_rmse", b_num(b, a->loo_rmse));
    b_set(b, o, "verdict", b_str(b, pqe_verdict_name(a->verdict)));
    b_set(b, o, "verdict_text", b_str(b, a->verdict_text));
    return o;
}

/* One entry per recall measure analysed; null if none was. */
static json_t *analyses_json(builder *b, const pqe_sweep_result *s)
{
    json_t *arr;

    if (!s->analyses || s->n_analyses == 0)
        return b_str(b, NULL);
    arr = b_arr(b);
    for (size_t i = 0; i < s->n_analyses; i++)
        b_push(b, arr, analysis_json(b, &s->analyses[i]));
    return arr;
}

static json_t *dataset_json(builder *b, const pqe_sweep_result *s)
{
    json_t *d = b_obj(b);
    b_set(b, d, "path", b_str(b, s->dataset_path));
    b_set(b, d, "name", b_str(b, s->dataset_name));
    b_set(b, d, "checksum", b_str(b, s->dataset_checksum[0] ? s->dataset_checksum : NULL));
    b_set(b, d, "metric", b_str(b, pqe_metric_name(s->metric)));
    b_set(b, d, "dim", b_size(b, s->dim));
    b_set(b, d, "n_base", b_size(b, s->n_base));
    b_set(b, d, "n_queries", b_size(b, s->n_queries));
    b_set(b, d, "train_source", b_str(b, s->train_source[0] ? s->train_source : NULL));
    b_set(b, d, "n_train_pool", b_size(b, s->n_train_pool));
    b_set(b, d, "n_heldout", b_size(b, s->n_heldout));
    b_set(b, d, "gt_k", b_size(b, s->gt_k));
    return d;
}

static json_t *results_to_json(const pqe_sweep_result *self, pqe_results_kind kind)
{
    builder b = {false};
    json_t *root = b_obj(&b);
    json_t *settings = b_arr(&b);

    b_set(&b, root, "schema_version", b_int(&b, PQE_RESULTS_SCHEMA_VERSION));
    b_set(&b, root, "kind", b_str(&b, kind == PQE_RESULTS_KIND_BASELINE ? "baseline" : "results"));
    b_set(&b, root, "pqeval_version", b_str(&b, self->version ? self->version : pqe_version()));
    b_set(&b, root, "machine", b_str(&b, self->machine));
    b_set(&b, root, "started", b_str(&b, self->started));
    b_set(&b, root, "threads", b_int(&b, self->n_threads));
    b_set(&b, root, "simd", b_str(&b, self->simd));
    b_set(&b, root, "dataset", dataset_json(&b, self));
    for (size_t i = 0; i < self->n_results; i++)
        b_push(&b, settings, setting_json(&b, &self->results[i]));
    b_set(&b, root, "settings", settings);
    b_set(&b, root, "analysis", analyses_json(&b, self));
    if (b.failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

pqe_status pqe_json_write_atomic(const json_t *root, const char *path, const char *what)
{
    pqe_atomic_file file = {0};
    pqe_status st = pqe_atomic_open(path, &file);

    if (st != PQE_OK)
        return st;
    if (json_dumpf(root, file.fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) !=
            0 ||
        fputc('\n', file.fp) == EOF) {
        st = pqe_fail(PQE_ERR_IO, "%s %s: %s", what, path, strerror(errno));
        pqe_atomic_abort(&file);
        return st;
    }
    return pqe_atomic_commit(&file);
}

pqe_status pqe_results_write_json(const pqe_sweep_result *self, pqe_results_kind kind,
                                  const char *path)
{
    json_t *root;
    pqe_status st;

    if (!self || !path)
        return pqe_fail(PQE_ERR_PARAM, "writing results: no results or no path given");
    root = results_to_json(self, kind);
    if (!root)
        return pqe_fail(PQE_ERR_NOMEM, "writing results %s: out of memory building the JSON", path);
    st = pqe_json_write_atomic(root, path, "writing results");
    json_decref(root);
    return st;
}

/* ---- reading -------------------------------------------------------------- */

/* Where the reader is: the file and the JSON path of the current object. */
typedef struct reader {
    const char *file;
} reader;

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static pqe_status bad(const reader *r, const char *where, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "reading x.json: $.settings[2].recall: <what>" as a PQE_ERR_FORMAT. */
static pqe_status bad(const reader *r, const char *where, const char *key, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pqe_fail(PQE_ERR_FORMAT, "reading %s: %s%s%s: %s", r->file, where, key ? "." : "",
                    key ? key : "", what);
}

/* where + "." + key into buf (cut short if it does not fit: it is only
 * used in messages). */
static void sub_path(char *buf, size_t size, const char *where, const char *key)
{
    if (snprintf(buf, size, "%s.%s", where, key) >= (int)size)
        buf[size - 1] = '\0';
}

static pqe_status get(const reader *r, const json_t *obj, const char *where, const char *key,
                      json_t **out)
{
    *out = json_object_get(obj, key);
    if (!*out)
        return bad(r, where, key, "missing");
    return PQE_OK;
}

/* A number; null gives NaN when null_ok. */
static pqe_status rd_num(const reader *r, const json_t *obj, const char *where, const char *key,
                         bool null_ok, double *out)
{
    json_t *j;
    pqe_status st = get(r, obj, where, key, &j);
    if (st != PQE_OK)
        return st;
    if (json_is_null(j) && null_ok) {
        *out = NAN;
        return PQE_OK;
    }
    if (!json_is_number(j))
        return bad(r, where, key, "expected a number%s, got %s", null_ok ? " or null" : "",
                   type_name(j));
    *out = json_number_value(j);
    return PQE_OK;
}

static pqe_status rd_size(const reader *r, const json_t *obj, const char *where, const char *key,
                          size_t *out)
{
    json_t *j;
    pqe_status st = get(r, obj, where, key, &j);
    if (st != PQE_OK)
        return st;
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return bad(r, where, key, "expected a non-negative integer, got %s", type_name(j));
    *out = (size_t)json_integer_value(j);
    return PQE_OK;
}

/* A string, copied; null gives NULL when null_ok. */
static pqe_status rd_str(const reader *r, const json_t *obj, const char *where, const char *key,
                         bool null_ok, char **out)
{
    json_t *j;
    pqe_status st = get(r, obj, where, key, &j);
    if (st != PQE_OK)
        return st;
    *out = NULL;
    if (json_is_null(j) && null_ok)
        return PQE_OK;
    if (!json_is_string(j))
        return bad(r, where, key, "expected a string%s, got %s", null_ok ? " or null" : "",
                   type_name(j));
    *out = strdup(json_string_value(j));
    if (!*out)
        return pqe_fail(PQE_ERR_NOMEM, "reading %s: out of memory", r->file);
    return PQE_OK;
}

/* A string into a fixed buffer; null gives "". */
static pqe_status rd_str_buf(const reader *r, const json_t *obj, const char *where, const char *key,
                             char *buf, size_t size)
{
    json_t *j;
    pqe_status st = get(r, obj, where, key, &j);
    if (st != PQE_OK)
        return st;
    buf[0] = '\0';
    if (json_is_null(j))
        return PQE_OK;
    if (!json_is_string(j))
        return bad(r, where, key, "expected a string or null, got %s", type_name(j));
    if (strlen(json_string_value(j)) >= size)
        return bad(r, where, key, "longer than %zu characters", size - 1);
    strcpy(buf, json_string_value(j));
    return PQE_OK;
}

static pqe_status rd_enum(const reader *r, const json_t *obj, const char *where, const char *key,
                          const char *const *names, size_t n, unsigned *out)
{
    json_t *j;
    pqe_status st = get(r, obj, where, key, &j);
    if (st != PQE_OK)
        return st;
    if (!json_is_string(j))
        return bad(r, where, key, "expected a string, got %s", type_name(j));
    if (!enum_parse(names, n, json_string_value(j), out))
        return bad(r, where, key, "unknown value '%s'", json_string_value(j));
    return PQE_OK;
}

static pqe_status rd_obj(const reader *r, const json_t *obj, const char *where, const char *key,
                         bool null_ok, json_t **out)
{
    pqe_status st = get(r, obj, where, key, out);
    if (st != PQE_OK)
        return st;
    if (json_is_null(*out) && null_ok) {
        *out = NULL;
        return PQE_OK;
    }
    if (!json_is_object(*out))
        return bad(r, where, key, "expected an object%s, got %s", null_ok ? " or null" : "",
                   type_name(*out));
    return PQE_OK;
}

/* An array of exactly n entries (n = SIZE_MAX: any length, returned in
 * *len); null gives *out = NULL when null_ok. */
static pqe_status rd_arr(const reader *r, const json_t *obj, const char *where, const char *key,
                         bool null_ok, size_t n, json_t **out)
{
    pqe_status st = get(r, obj, where, key, out);
    if (st != PQE_OK)
        return st;
    if (json_is_null(*out) && null_ok) {
        *out = NULL;
        return PQE_OK;
    }
    if (!json_is_array(*out))
        return bad(r, where, key, "expected an array%s, got %s", null_ok ? " or null" : "",
                   type_name(*out));
    if (n != SIZE_MAX && json_array_size(*out) != n)
        return bad(r, where, key, "expected %zu entries, got %zu", n, json_array_size(*out));
    return PQE_OK;
}

/* Numbers (or null as NaN) of an array already checked to hold n entries. */
static pqe_status rd_num_entries(const reader *r, const json_t *arr, const char *where,
                                 const char *key, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (json_is_null(v)) {
            out[i] = NAN;
        } else if (json_is_number(v)) {
            out[i] = json_number_value(v);
        } else {
            char at[64];
            pqe_text_printf(at, sizeof at, "%s[%zu]", key, i);
            return bad(r, where, at, "expected a number or null, got %s", type_name(v));
        }
    }
    return PQE_OK;
}

static pqe_status rd_intervals(const reader *r, const json_t *obj, const char *where,
                               const char *key, size_t n, double (*ci)[2])
{
    json_t *arr;
    pqe_status st = rd_arr(r, obj, where, key, true, n, &arr);

    for (size_t j = 0; j < n; j++)
        ci[j][0] = ci[j][1] = NAN;
    if (st != PQE_OK || !arr)
        return st;
    for (size_t j = 0; j < n && st == PQE_OK; j++) {
        char at[64];
        json_t *pair = json_array_get(arr, j);
        pqe_text_printf(at, sizeof at, "%s[%zu]", key, j);
        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return bad(r, where, at, "expected [low, high], got %s", type_name(pair));
        st = rd_num_entries(r, pair, where, at, ci[j], 2);
    }
    return st;
}

static pqe_status rd_seed(const reader *r, const json_t *obj, const char *where, uint64_t *out)
{
    json_t *j;
    char *end;
    pqe_status st = get(r, obj, where, "seed", &j);
    if (st != PQE_OK)
        return st;
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *out = (uint64_t)json_integer_value(j);
        return PQE_OK;
    }
    if (json_is_string(j)) {
        errno = 0;
        *out = strtoull(json_string_value(j), &end, 10);
        if (!errno && *end == '\0' && json_string_value(j)[0] >= '0' &&
            json_string_value(j)[0] <= '9')
            return PQE_OK;
    }
    return bad(r, where, "seed", "expected a non-negative integer, got %s", type_name(j));
}

static pqe_status rd_distortion(const reader *r, const json_t *s, const char *where,
                                pqe_setting_result *res)
{
    char at[96];
    json_t *d, *sub;
    pqe_status st = rd_obj(r, s, where, "distortion", false, &d);

    sub_path(at, sizeof at, where, "distortion");
    if (st == PQE_OK)
        st = rd_num(r, d, at, "mse_base", true, &res->mse_base);
    if (st == PQE_OK)
        st = rd_num(r, d, at, "rel_mse_base", true, &res->rel_mse_base);
    if (st == PQE_OK)
        st = rd_num(r, d, at, "mse_train", true, &res->mse_train);
    if (st == PQE_OK)
        st = rd_num(r, d, at, "rel_mse_train", true, &res->rel_mse_train);
    if (st == PQE_OK)
        st = rd_num(r, d, at, "mse_heldout", true, &res->mse_heldout);
    if (st == PQE_OK)
        st = rd_num(r, d, at, "rel_mse_heldout", true, &res->rel_mse_heldout);
    if (st == PQE_OK)
        st = rd_arr(r, d, at, "per_subspace", true, SIZE_MAX, &sub);
    if (st == PQE_OK && sub && json_array_size(sub) > 0) {
        res->n_sub = json_array_size(sub);
        res->mse_sub = pqe_alloc_array(res->n_sub, sizeof *res->mse_sub, "per-subspace errors");
        if (!res->mse_sub)
            return pqe_alloc_status();
        st = rd_num_entries(r, sub, at, "per_subspace", res->mse_sub, res->n_sub);
    }
    return st;
}

static pqe_status rd_recall(const reader *r, const json_t *s, const char *where,
                            pqe_setting_result *res)
{
    char at[96];
    json_t *rec, *rs, *sdc;
    pqe_status st = rd_obj(r, s, where, "recall", false, &rec);

    sub_path(at, sizeof at, where, "recall");
    if (st == PQE_OK)
        st = rd_size(r, rec, at, "n_queries", &res->n_queries);
    if (st == PQE_OK)
        st = rd_arr(r, rec, at, "r", false, SIZE_MAX, &rs);
    if (st != PQE_OK)
        return st;
    res->n_r = json_array_size(rs);
    if (res->n_r > PQE_MAX_RECALL_R)
        return bad(r, at, "r", "%zu values of R, at most %d are supported", res->n_r,
                   PQE_MAX_RECALL_R);
    for (size_t j = 0; j < res->n_r; j++) {
        json_t *v = json_array_get(rs, j);
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            char key[16];
            pqe_text_printf(key, sizeof key, "r[%zu]", j);
            return bad(r, at, key, "expected a positive integer, got %s", type_name(v));
        }
        res->r_values[j] = (size_t)json_integer_value(v);
    }

    st = rd_arr(r, rec, at, "adc", false, res->n_r, &rs);
    if (st == PQE_OK)
        st = rd_num_entries(r, rs, at, "adc", res->recall_adc, res->n_r);
    if (st == PQE_OK)
        st = rd_intervals(r, rec, at, "adc_ci", res->n_r, res->recall_adc_ci);
    if (st == PQE_OK)
        st = rd_arr(r, rec, at, "sdc", true, res->n_r, &sdc);
    for (size_t j = 0; j < PQE_MAX_RECALL_R; j++)
        res->recall_sdc[j] = NAN;
    if (st == PQE_OK && sdc)
        st = rd_num_entries(r, sdc, at, "sdc", res->recall_sdc, res->n_r);
    if (st == PQE_OK)
        st = rd_intervals(r, rec, at, "sdc_ci", res->n_r, res->recall_sdc_ci);
    if (st == PQE_OK)
        st = rd_size(r, rec, at, "k", &res->k);
    if (st == PQE_OK)
        st = rd_num(r, rec, at, "k_recall_adc", true, &res->krecall_adc);
    if (st == PQE_OK)
        st = rd_num(r, rec, at, "k_recall_sdc", true, &res->krecall_sdc);
    for (size_t j = 0; j < res->n_r && st == PQE_OK; j++) {
        if (!(res->recall_adc[j] >= 0 && res->recall_adc[j] <= 1) && !isnan(res->recall_adc[j]))
            st = bad(r, at, "adc", "recall %g is outside [0, 1]", res->recall_adc[j]);
    }
    return st;
}

static pqe_status rd_hits(const reader *r, const json_t *pq, const char *where, const char *key,
                          size_t n_queries, size_t n_r, uint8_t **out)
{
    json_t *arr;
    uint8_t *bitmap = NULL;
    size_t n_bytes = (n_queries + 7) / 8;
    pqe_status st = rd_arr(r, pq, where, key, true, n_r, &arr);

    *out = NULL;
    if (st != PQE_OK || !arr)
        return st;
    *out = pqe_calloc_array(n_queries * (n_r ? n_r : 1), 1, "per-query hits");
    bitmap = malloc(n_bytes ? n_bytes : 1);
    if (!*out || !bitmap) {
        st = *out ? pqe_fail(PQE_ERR_NOMEM, "reading %s: out of memory", r->file)
                  : pqe_alloc_status();
        goto cleanup;
    }
    for (size_t j = 0; j < n_r; j++) {
        json_t *v = json_array_get(arr, j);
        char at[48];
        pqe_text_printf(at, sizeof at, "%s[%zu]", key, j);
        if (!json_is_string(v)) {
            st = bad(r, where, at, "expected a base64 string, got %s", type_name(v));
            goto cleanup;
        }
        if (!b64_decode(json_string_value(v), bitmap, n_bytes)) {
            st = bad(r, where, at, "not a base64 bitmap of %zu queries", n_queries);
            goto cleanup;
        }
        for (size_t q = 0; q < n_queries; q++)
            (*out)[q * n_r + j] = (uint8_t)((bitmap[q / 8] >> (q % 8)) & 1u);
    }

cleanup:
    free(bitmap);
    if (st != PQE_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static pqe_status rd_khits(const reader *r, const json_t *pq, const char *where, size_t n_queries,
                           size_t k, float **out)
{
    char at[96];
    json_t *kh, *arr;
    size_t kk = 0;
    bool counts;
    pqe_status st = rd_obj(r, pq, where, "khits_adc", true, &kh);

    *out = NULL;
    if (st != PQE_OK || !kh)
        return st;
    sub_path(at, sizeof at, where, "khits_adc");
    st = rd_size(r, kh, at, "k", &kk);
    if (st != PQE_OK)
        return st;
    counts = json_object_get(kh, "counts") != NULL;
    st = rd_arr(r, kh, at, counts ? "counts" : "values", false, n_queries, &arr);
    if (st != PQE_OK)
        return st;
    if (counts && (kk == 0 || kk != k))
        return bad(r, at, "k", "%zu does not match recall.k %zu", kk, k);
    *out = pqe_alloc_array(n_queries, sizeof **out, "per-query k-recall");
    if (!*out)
        return pqe_alloc_status();
    for (size_t q = 0; q < n_queries; q++) {
        json_t *v = json_array_get(arr, q);
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (counts)
            x /= (double)kk;
        if (!(x >= 0 && x <= 1)) {
            char key[48];
            pqe_text_printf(key, sizeof key, "%s[%zu]", counts ? "counts" : "values", q);
            free(*out);
            *out = NULL;
            return bad(r, at, key, "expected a value between 0 and %s, got %s", counts ? "k" : "1",
                       type_name(v));
        }
        (*out)[q] = (float)x;
    }
    return PQE_OK;
}

static pqe_status rd_per_query(const reader *r, const json_t *s, const char *where,
                               pqe_setting_result *res)
{
    char at[96];
    json_t *pq;
    size_t n_queries;
    pqe_status st = rd_obj(r, s, where, "per_query", true, &pq);

    if (st != PQE_OK || !pq)
        return st;
    sub_path(at, sizeof at, where, "per_query");
    st = rd_size(r, pq, at, "n_queries", &n_queries);
    if (st == PQE_OK && n_queries != res->n_queries)
        st = bad(r, at, "n_queries", "%zu, but recall.n_queries is %zu", n_queries, res->n_queries);
    if (st == PQE_OK)
        st = rd_hits(r, pq, at, "hits_adc", n_queries, res->n_r, &res->hits_adc);
    if (st == PQE_OK)
        st = rd_hits(r, pq, at, "hits_sdc", n_queries, res->n_r, &res->hits_sdc);
    if (st == PQE_OK)
        st = rd_khits(r, pq, at, n_queries, res->k, &res->khits_adc);
    return st;
}

static pqe_status rd_setting(const reader *r, const json_t *s, const char *where,
                             const pqe_sweep_result *sweep, pqe_setting_result *res)
{
    pqe_setting *set = &res->setting;
    pqe_quantizer_config *c = &set->config;
    json_t *j;
    unsigned method = 0, init = 0, start = 0;
    size_t m = 0, nbits = 0, kmi = 0, outer = 0, inner = 0;
    pqe_status st;

    if (!json_is_object(s))
        return bad(r, where, NULL, "expected an object, got %s", type_name(s));
    c->dim = sweep->dim;
    c->metric = sweep->metric;
    c->n_threads = sweep->n_threads;

    st = rd_str(r, s, where, "key", false, &set->key);
    if (st == PQE_OK)
        st = rd_str(r, s, where, "label", false, &set->label);
    if (st == PQE_OK)
        st = rd_str(r, s, where, "group", true, &set->group);
    if (st == PQE_OK)
        st = rd_str(r, s, where, "name", true, &res->name);
    if (st == PQE_OK)
        st = rd_str(r, s, where, "faiss_factory", true, &set->faiss_factory);
    if (st == PQE_OK && !set->faiss_factory)
        st = rd_enum(r, s, where, "method", method_names, N_OF(method_names), &method);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "M", &m);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "nbits", &nbits);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "n_train", &set->n_train);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "kmeans_iters", &kmi);
    if (st == PQE_OK)
        st = rd_enum(r, s, where, "kmeans_init", init_names, N_OF(init_names), &init);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "max_points_per_centroid", &c->max_points_per_centroid);
    if (st == PQE_OK)
        st = rd_enum(r, s, where, "opq_start", opq_start_names, N_OF(opq_start_names), &start);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "opq_outer_iters", &outer);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "opq_inner_iters", &inner);
    if (st == PQE_OK)
        st = rd_seed(r, s, where, &c->seed);
    if (st != PQE_OK)
        return st;
    c->n_sub = m;
    c->nbits = (unsigned)nbits;
    c->rotation = (pqe_rotation)method;
    c->kmeans_init = (pqe_kmeans_init)init;
    c->opq_start = (pqe_opq_start)start;
    c->kmeans_iters = (unsigned)kmi;
    c->opq_outer_iters = (unsigned)outer;
    c->opq_inner_iters = (unsigned)inner;

    st = rd_num(r, s, where, "code_bits", true, &res->code_bits);
    if (st == PQE_OK)
        st = rd_size(r, s, where, "code_bytes", &res->code_bytes);
    if (st == PQE_OK)
        st = rd_distortion(r, s, where, res);
    if (st == PQE_OK)
        st = rd_obj(r, s, where, "adc_error", false, &j);
    if (st == PQE_OK) {
        char at[96];
        sub_path(at, sizeof at, where, "adc_error");
        st = rd_num(r, j, at, "mean", true, &res->adc_err_mean);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "sd", true, &res->adc_err_sd);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "rel_mean", true, &res->adc_err_rel_mean);
        if (st == PQE_OK)
            st = rd_size(r, j, at, "pairs", &res->adc_err_pairs);
    }
    if (st == PQE_OK)
        st = rd_recall(r, s, where, res);
    if (st == PQE_OK) {
        j = json_object_get(s, "sdc_supported");
        if (j && !json_is_boolean(j))
            st = bad(r, where, "sdc_supported", "expected a boolean, got %s", type_name(j));
        res->sdc_supported = j ? json_is_true(j) : !isnan(res->recall_sdc[0]);
    }
    if (st == PQE_OK)
        st = rd_str(r, s, where, "sdc_note", true, &res->sdc_note);
    if (st == PQE_OK)
        st = rd_per_query(r, s, where, res);
    if (st == PQE_OK)
        st = rd_obj(r, s, where, "timings", false, &j);
    if (st == PQE_OK) {
        char at[96];
        sub_path(at, sizeof at, where, "timings");
        st = rd_num(r, j, at, "train_s", true, &res->train_seconds);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "encode_s", true, &res->encode_seconds);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "adc_s", true, &res->adc_seconds);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "sdc_s", true, &res->sdc_seconds);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "adc_qps", true, &res->adc_qps);
        if (st == PQE_OK)
            st = rd_num(r, j, at, "sdc_qps", true, &res->sdc_qps);
    }
    return st;
}

static pqe_status rd_dataset(const reader *r, const json_t *root, pqe_sweep_result *out)
{
    const char *at = "$.dataset";
    json_t *d;
    char metric[32];
    pqe_status st = rd_obj(r, root, "$", "dataset", false, &d);

    if (st == PQE_OK)
        st = rd_str(r, d, at, "path", true, &out->dataset_path);
    if (st == PQE_OK)
        st = rd_str(r, d, at, "name", true, &out->dataset_name);
    if (st == PQE_OK)
        st = rd_str_buf(r, d, at, "checksum", out->dataset_checksum, sizeof out->dataset_checksum);
    if (st == PQE_OK)
        st = rd_str_buf(r, d, at, "metric", metric, sizeof metric);
    if (st == PQE_OK && pqe_metric_parse(metric, &out->metric) != PQE_OK)
        st = bad(r, at, "metric", "unknown metric '%s'", metric);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "dim", &out->dim);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "n_base", &out->n_base);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "n_queries", &out->n_queries);
    if (st == PQE_OK)
        st = rd_str_buf(r, d, at, "train_source", out->train_source, sizeof out->train_source);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "n_train_pool", &out->n_train_pool);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "n_heldout", &out->n_heldout);
    if (st == PQE_OK)
        st = rd_size(r, d, at, "gt_k", &out->gt_k);
    return st;
}

static pqe_status rd_root(const reader *r, const json_t *root, pqe_sweep_result *out,
                          pqe_results_kind *kind)
{
    json_t *j, *settings;
    char kind_text[16];
    double threads;
    pqe_status st;

    if (!json_is_object(root))
        return bad(r, "$", NULL, "expected an object, got %s", type_name(root));
    j = json_object_get(root, "schema_version");
    if (!j)
        return bad(r, "$", "schema_version", "missing: not a pqeval results file");
    if (!json_is_integer(j))
        return bad(r, "$", "schema_version", "expected an integer, got %s", type_name(j));
    if (json_integer_value(j) < 1 || json_integer_value(j) > PQE_RESULTS_SCHEMA_VERSION)
        return bad(r, "$", "schema_version", "version %lld is not one this pqeval reads (1..%d)",
                   (long long)json_integer_value(j), PQE_RESULTS_SCHEMA_VERSION);

    st = rd_str_buf(r, root, "$", "kind", kind_text, sizeof kind_text);
    if (st != PQE_OK)
        return st;
    if (!strcmp(kind_text, "baseline"))
        *kind = PQE_RESULTS_KIND_BASELINE;
    else if (!strcmp(kind_text, "results"))
        *kind = PQE_RESULTS_KIND_RESULTS;
    else
        return bad(r, "$", "kind", "expected \"results\" or \"baseline\", got '%s'", kind_text);

    st = rd_str(r, root, "$", "pqeval_version", false, &out->version);
    if (st == PQE_OK)
        st = rd_str(r, root, "$", "machine", true, &out->machine);
    if (st == PQE_OK)
        st = rd_str(r, root, "$", "started", true, &out->started);
    if (st == PQE_OK)
        st = rd_num(r, root, "$", "threads", false, &threads);
    if (st == PQE_OK)
        out->n_threads = (int)threads;
    if (st == PQE_OK && json_object_get(root, "simd"))
        st = rd_str(r, root, "$", "simd", true, &out->simd);
    if (st == PQE_OK)
        st = rd_dataset(r, root, out);
    if (st == PQE_OK)
        st = rd_arr(r, root, "$", "settings", false, SIZE_MAX, &settings);
    if (st != PQE_OK)
        return st;

    out->n_results = json_array_size(settings);
    if (out->n_results > 0) {
        out->results = pqe_calloc_array(out->n_results, sizeof *out->results, "settings");
        if (!out->results) {
            out->n_results = 0;
            return pqe_alloc_status();
        }
    }
    for (size_t i = 0; i < out->n_results && st == PQE_OK; i++) {
        char where[48];
        pqe_text_printf(where, sizeof where, "$.settings[%zu]", i);
        st = rd_setting(r, json_array_get(settings, i), where, out, &out->results[i]);
    }

    /* Keys must be unique: check matches settings by them. */
    for (size_t i = 0; i < out->n_results && st == PQE_OK; i++) {
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(out->results[i].setting.key, out->results[k].setting.key)) {
                char where[48];
                pqe_text_printf(where, sizeof where, "$.settings[%zu]", i);
                st = bad(r, where, "key", "'%s' repeats settings[%zu]", out->results[i].setting.key,
                         k);
                break;
            }
        }
    }
    return st;
}

pqe_status pqe_results_read(const char *path, pqe_sweep_result **out, pqe_results_kind *kind)
{
    json_error_t err;
    json_t *root = NULL;
    pqe_sweep_result *res = NULL;
    pqe_results_kind k = PQE_RESULTS_KIND_RESULTS;
    reader r = {path};
    FILE *fp = NULL;
    pqe_status st = PQE_OK;

    *out = NULL;
    fp = fopen(path, "rb");
    if (!fp) {
        st = pqe_fail(PQE_ERR_IO, "reading %s: %s", path, strerror(errno));
        goto cleanup;
    }
    root = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (ferror(fp))
            st = pqe_fail(PQE_ERR_IO, "reading %s: %s", path, strerror(errno));
        else
            st = pqe_fail(PQE_ERR_FORMAT, "reading %s: line %d, column %d: invalid JSON: %s", path,
                          err.line, err.column, err.text);
        goto cleanup;
    }
    res = calloc(1, sizeof *res);
    if (!res) {
        st = pqe_fail(PQE_ERR_NOMEM, "reading %s: out of memory", path);
        goto cleanup;
    }
    st = rd_root(&r, root, res, &k);
    if (st != PQE_OK)
        goto cleanup;
    *out = res;
    res = NULL;
    if (kind)
        *kind = k;

cleanup:
    if (fp)
        fclose(fp);
    json_decref(root);
    pqe_sweep_result_free(res);
    return st;
}
