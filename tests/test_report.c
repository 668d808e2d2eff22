/* test_report.c - the results JSON (round trip, nulls for NaN, clear errors
 * on corrupt, truncated and wrong-schema files), the CSV, the terminal
 * table and the plot, on sweeps built in memory (tests/support/
 * fake_sweep.c): no real sweep runs here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqeval/analysis.h"
#include "pqeval/report.h"
#include "support/fake_sweep.h"

/* A scratch file name under PQEVAL_TEST_TMP (or /tmp). */
static const char *tmp_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    const char *dir = getenv("PQEVAL_TEST_TMP");
    char *out = buf[next++ % 4];
    snprintf(out, 1024, "%s/test_report_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), name);
    return out;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    long size;
    char *text;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size >= 0);
    rewind(fp);
    text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    return text;
}

static void spit(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Both NaN, or bit-for-bit equal. */
static void same_double(double a, double b, const char *file, int line)
{
    if (!((isnan(a) && isnan(b)) || a == b)) {
        print_error("%.17g != %.17g\n", a, b);
        _fail(file, line);
    }
}
#define assert_same(a, b) same_double((a), (b), __FILE__, __LINE__)

static void assert_same_result(const pqe_setting_result *a, const pqe_setting_result *b)
{
    assert_string_equal(a->setting.key, b->setting.key);
    assert_string_equal(a->setting.label, b->setting.label);
    assert_string_equal(a->setting.group, b->setting.group);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->setting.config.n_sub, b->setting.config.n_sub);
    assert_int_equal(a->setting.config.nbits, b->setting.config.nbits);
    assert_int_equal(a->setting.config.rotation, b->setting.config.rotation);
    assert_int_equal(a->setting.config.kmeans_iters, b->setting.config.kmeans_iters);
    assert_int_equal(a->setting.config.kmeans_init, b->setting.config.kmeans_init);
    assert_int_equal(a->setting.config.opq_outer_iters, b->setting.config.opq_outer_iters);
    assert_int_equal(a->setting.config.opq_inner_iters, b->setting.config.opq_inner_iters);
    assert_true(a->setting.config.seed == b->setting.config.seed);
    assert_int_equal(a->setting.n_train, b->setting.n_train);
    assert_same(a->code_bits, b->code_bits);
    assert_int_equal(a->code_bytes, b->code_bytes);
    assert_same(a->mse_base, b->mse_base);
    assert_same(a->rel_mse_base, b->rel_mse_base);
    assert_same(a->mse_train, b->mse_train);
    assert_same(a->rel_mse_train, b->rel_mse_train);
    assert_same(a->mse_heldout, b->mse_heldout);
    assert_same(a->rel_mse_heldout, b->rel_mse_heldout);
    assert_int_equal(a->n_sub, b->n_sub);
    for (size_t m = 0; m < a->n_sub; m++)
        assert_same(a->mse_sub[m], b->mse_sub[m]);
    assert_same(a->adc_err_mean, b->adc_err_mean);
    assert_same(a->adc_err_sd, b->adc_err_sd);
    assert_same(a->adc_err_rel_mean, b->adc_err_rel_mean);
    assert_int_equal(a->adc_err_pairs, b->adc_err_pairs);
    assert_int_equal(a->n_queries, b->n_queries);
    assert_int_equal(a->n_r, b->n_r);
    for (size_t j = 0; j < a->n_r; j++) {
        assert_int_equal(a->r_values[j], b->r_values[j]);
        assert_same(a->recall_adc[j], b->recall_adc[j]);
        assert_same(a->recall_sdc[j], b->recall_sdc[j]);
        assert_same(a->recall_adc_ci[j][0], b->recall_adc_ci[j][0]);
        assert_same(a->recall_adc_ci[j][1], b->recall_adc_ci[j][1]);
        assert_same(a->recall_sdc_ci[j][1], b->recall_sdc_ci[j][1]);
    }
    assert_int_equal(a->k, b->k);
    assert_same(a->krecall_adc, b->krecall_adc);
    assert_same(a->krecall_sdc, b->krecall_sdc);
    assert_int_equal(a->sdc_supported, b->sdc_supported);
    assert_true((a->hits_adc == NULL) == (b->hits_adc == NULL));
    if (a->hits_adc)
        assert_memory_equal(a->hits_adc, b->hits_adc, a->n_queries * a->n_r);
    assert_true((a->hits_sdc == NULL) == (b->hits_sdc == NULL));
    if (a->hits_sdc)
        assert_memory_equal(a->hits_sdc, b->hits_sdc, a->n_queries * a->n_r);
    assert_true((a->khits_adc == NULL) == (b->khits_adc == NULL));
    for (size_t q = 0; a->khits_adc && q < a->n_queries; q++)
        assert_same(a->khits_adc[q], b->khits_adc[q]);
    assert_same(a->train_seconds, b->train_seconds);
    assert_same(a->encode_seconds, b->encode_seconds);
    assert_same(a->adc_seconds, b->adc_seconds);
    assert_same(a->sdc_seconds, b->sdc_seconds);
    assert_same(a->adc_qps, b->adc_qps);
    assert_same(a->sdc_qps, b->sdc_qps);
}

/* Everything the writer writes comes back, bit for bit. */
static void json_round_trip(void **state)
{
    const char *path = tmp_path("round.json");
    pqe_sweep_result *s = fake_sweep_new(4, 203); /* 203: a partial last bitmap byte */
    pqe_sweep_result *back = NULL;
    pqe_results_kind kind = PQE_RESULTS_KIND_BASELINE;
    (void)state;

    /* odd values: a huge seed (written as a string), a 1/3, an SDC-less
     * setting with a note, a setting without per-query data */
    s->results[0].setting.config.seed = UINT64_MAX - 5;
    s->results[0].mse_base = 1.0 / 3.0;
    s->results[1].sdc_supported = false;
    for (size_t j = 0; j < PQE_MAX_RECALL_R; j++)
        s->results[1].recall_sdc[j] = NAN;
    for (size_t j = 0; j < 3; j++)
        s->results[1].recall_sdc_ci[j][0] = s->results[1].recall_sdc_ci[j][1] = NAN;
    s->results[1].krecall_sdc = NAN;
    free(s->results[1].hits_sdc);
    s->results[1].hits_sdc = NULL;
    s->results[1].sdc_note = strdup("SDC table of 4 GiB over the 256 MiB limit");
    fake_drop_per_query(&s->results[2]);
    s->results[3].mse_heldout = 12.5;
    s->results[3].rel_mse_heldout = 0.0125;
    s->results[3].setting.faiss_factory = strdup("OPQ16,PQ16");

    assert_int_equal(pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, path), PQE_OK);
    assert_int_equal(pqe_results_read(path, &back, &kind), PQE_OK);
    assert_int_equal(kind, PQE_RESULTS_KIND_RESULTS);

    assert_string_equal(back->dataset_path, s->dataset_path);
    assert_string_equal(back->dataset_name, s->dataset_name);
    assert_string_equal(back->dataset_checksum, s->dataset_checksum);
    assert_int_equal(back->metric, s->metric);
    assert_int_equal(back->dim, s->dim);
    assert_int_equal(back->n_base, s->n_base);
    assert_int_equal(back->n_queries, s->n_queries);
    assert_int_equal(back->n_train_pool, s->n_train_pool);
    assert_int_equal(back->n_heldout, s->n_heldout);
    assert_string_equal(back->train_source, s->train_source);
    assert_int_equal(back->gt_k, s->gt_k);
    assert_string_equal(back->version, s->version);
    assert_string_equal(back->machine, s->machine);
    assert_string_equal(back->started, s->started);
    assert_int_equal(back->n_threads, s->n_threads);
    assert_int_equal(back->n_results, s->n_results);
    assert_int_equal(back->n_analyses, 0);
    for (size_t i = 0; i < s->n_results; i++)
        assert_same_result(&s->results[i], &back->results[i]);
    assert_string_equal(back->results[1].sdc_note, s->results[1].sdc_note);
    assert_null(back->results[0].sdc_note);
    assert_string_equal(back->results[3].setting.faiss_factory, "OPQ16,PQ16");
    assert_null(back->results[0].setting.faiss_factory);

    /* the baseline kind */
    assert_int_equal(pqe_results_write_json(back, PQE_RESULTS_KIND_BASELINE, path), PQE_OK);
    pqe_sweep_result_free(back);
    back = NULL;
    assert_int_equal(pqe_results_read(path, &back, &kind), PQE_OK);
    assert_int_equal(kind, PQE_RESULTS_KIND_BASELINE);
    assert_same_result(&s->results[0], &back->results[0]);

    pqe_sweep_result_free(back);
    pqe_sweep_result_free(s);
    unlink(path);
}

/* NaN is written as null and the documented names are there. */
static void json_nan_is_null(void **state)
{
    const char *path = tmp_path("null.json");
    pqe_sweep_result *s = fake_sweep_new(1, 10);
    char *text;
    (void)state;

    s->results[0].adc_err_sd = NAN;
    assert_int_equal(pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, path), PQE_OK);
    text = slurp(path);
    assert_non_null(strstr(text, "\"schema_version\": 1"));
    assert_non_null(strstr(text, "\"kind\": \"results\""));
    assert_non_null(strstr(text, "\"mse_heldout\": null"));
    assert_non_null(strstr(text, "\"sd\": null"));
    assert_non_null(strstr(text, "\"encoding\": \"bitmap-base64-lsb0\""));
    assert_non_null(strstr(text, "\"counts\": ["));
    assert_null(strstr(text, "nan"));
    assert_null(strstr(text, "NaN"));
    free(text);
    pqe_sweep_result_free(s);
    unlink(path);
}

/* Writes a good file, applies one textual edit, and expects the reader to
 * fail with status and a message containing every fragment given. */
static void expect_bad_edit(const char *from, const char *to, pqe_status status,
                            const char *fragment1, const char *fragment2)
{
    const char *path = tmp_path("bad.json");
    pqe_sweep_result *s = fake_sweep_new(2, 20);
    pqe_sweep_result *back = (pqe_sweep_result *)1;
    char *text, *hit, *edited;

    assert_int_equal(pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, path), PQE_OK);
    text = slurp(path);
    hit = strstr(text, from);
    if (!hit) {
        print_error("'%s' is not in the written file\n", from);
        fail();
    }
    edited = calloc(strlen(text) + strlen(to) + 1, 1);
    assert_non_null(edited);
    memcpy(edited, text, (size_t)(hit - text));
    strcat(edited, to);
    strcat(edited, hit + strlen(from));
    spit(path, edited, strlen(edited));

    assert_int_equal(pqe_results_read(path, &back, NULL), status);
    assert_null(back);
    if (!strstr(pqe_last_error(), path) || (fragment1 && !strstr(pqe_last_error(), fragment1)) ||
        (fragment2 && !strstr(pqe_last_error(), fragment2))) {
        print_error("message '%s' lacks '%s' / '%s'\n", pqe_last_error(), fragment1,
                    fragment2 ? fragment2 : "");
        fail();
    }
    free(edited);
    free(text);
    pqe_sweep_result_free(s);
    unlink(path);
}

static void json_errors_name_the_path(void **state)
{
    (void)state;
    expect_bad_edit("\"nbits\": 8", "\"nbits\": \"8\"", PQE_ERR_FORMAT, "$.settings[0].nbits",
                    "expected a non-negative integer");
    expect_bad_edit("\"k_recall_adc\"", "\"k_recall_adx\"", PQE_ERR_FORMAT,
                    "$.settings[0].recall.k_recall_adc", "missing");
    expect_bad_edit("\"schema_version\": 1", "\"schema_version\": 99", PQE_ERR_FORMAT,
                    "schema_version", "99");
    expect_bad_edit("\"schema_version\": 1", "\"schema_versio\": 1", PQE_ERR_FORMAT,
                    "not a pqeval results file", NULL);
    expect_bad_edit("\"kind\": \"results\"", "\"kind\": \"resultz\"", PQE_ERR_FORMAT, "$.kind",
                    "resultz");
    expect_bad_edit("\"metric\": \"euclidean\"", "\"metric\": \"manhattan\"", PQE_ERR_FORMAT,
                    "$.dataset.metric", "manhattan");
    expect_bad_edit("\"hits_adc\": [\n", "\"hits_adc\": [\n\"!!!!\",", PQE_ERR_FORMAT,
                    "$.settings[0].per_query.hits_adc", "expected 3 entries");
    expect_bad_edit("\"adc\": [\n", "\"adc\": [\n1.5, ", PQE_ERR_FORMAT, "$.settings[0].recall.adc",
                    "expected 3 entries");
    expect_bad_edit("\"code_bytes\": 4,", "\"code_bytes\": 4, \"code_bytes\": 5,", PQE_ERR_FORMAT,
                    "line", "duplicate");
    expect_bad_edit("\"key\": \"method=1,M=8,nbits=8,n_train=0,iters=25,seed=2\"",
                    "\"key\": \"method=0,M=4,nbits=8,n_train=0,iters=25,seed=1\"", PQE_ERR_FORMAT,
                    "$.settings[1].key", "repeats settings[0]");
}

/* A truncated or corrupt file gives the line and column; a missing one an
 * I/O error naming it. */
static void json_truncated_and_missing(void **state)
{
    const char *path = tmp_path("trunc.json");
    pqe_sweep_result *s = fake_sweep_new(2, 20);
    pqe_sweep_result *back = NULL;
    char *text;
    (void)state;

    assert_int_equal(pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, path), PQE_OK);
    text = slurp(path);
    spit(path, text, strlen(text) / 2);
    assert_int_equal(pqe_results_read(path, &back, NULL), PQE_ERR_FORMAT);
    assert_null(back);
    assert_non_null(strstr(pqe_last_error(), path));
    assert_non_null(strstr(pqe_last_error(), "line"));
    assert_non_null(strstr(pqe_last_error(), "column"));

    spit(path, "", 0);
    assert_int_equal(pqe_results_read(path, &back, NULL), PQE_ERR_FORMAT);
    spit(path, "[1, 2]", 6);
    assert_int_equal(pqe_results_read(path, &back, NULL), PQE_ERR_FORMAT);
    assert_non_null(strstr(pqe_last_error(), "expected an object"));

    unlink(path);
    assert_int_equal(pqe_results_read(path, &back, NULL), PQE_ERR_IO);
    assert_non_null(strstr(pqe_last_error(), path));
    free(text);
    pqe_sweep_result_free(s);
}

/* A failed write leaves the old file alone (nothing to write into). */
static void json_write_is_atomic(void **state)
{
    pqe_sweep_result *s = fake_sweep_new(1, 5);
    (void)state;
    assert_int_equal(
        pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, "/nonexistent-dir/x/results.json"),
        PQE_ERR_IO);
    pqe_sweep_result_free(s);
}

/* The analyses are written (and skipped by the reader). */
static void json_with_analysis(void **state)
{
    const char *path = tmp_path("analysis.json");
    pqe_sweep_result *s = fake_sweep_new(5, 50);
    pqe_sweep_result *back = NULL;
    pqe_analysis_point pts[5];
    char *text;
    (void)state;

    for (size_t i = 0; i < 5; i++) {
        const pqe_setting_result *r = &s->results[i];
        pqe_analysis_point p = {
            r->setting.label,       r->code_bits,           r->mse_base, r->recall_adc[1],
            r->recall_adc_ci[1][0], r->recall_adc_ci[1][1], 0,           NAN};
        pts[i] = p;
    }
    s->analyses = calloc(1, sizeof *s->analyses);
    assert_non_null(s->analyses);
    s->n_analyses = 1;
    assert_int_equal(pqe_analyse(pts, 5, "1-recall@10", &s->analyses[0]), PQE_OK);

    assert_int_equal(pqe_results_write_json(s, PQE_RESULTS_KIND_RESULTS, path), PQE_OK);
    text = slurp(path);
    assert_non_null(strstr(text, "\"analysis\": ["));
    assert_non_null(strstr(text, "\"recall\": \"1-recall@10\""));
    assert_non_null(strstr(text, "\"verdict\": \""));
    assert_non_null(strstr(text, "\"isotonic_fit\": ["));
    assert_int_equal(pqe_results_read(path, &back, NULL), PQE_OK);
    assert_int_equal(back->n_results, 5);
    assert_int_equal(back->n_analyses, 0);

    /* the table prints the analysis and the verdict, within ~100 columns */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        assert_non_null(mem);
        assert_int_equal(pqe_results_print_table(s, mem), PQE_OK);
        fclose(mem);
        assert_non_null(strstr(buf, "heuristic for 1-recall@10 over 5 settings"));
        assert_non_null(strstr(buf, "verdict: "));
        free(buf);
    }

    free(text);
    pqe_sweep_result_free(back);
    pqe_sweep_result_free(s);
    unlink(path);
}

static void csv_rows(void **state)
{
    const char *path = tmp_path("rows.csv");
    pqe_sweep_result *s = fake_sweep_new(3, 40);
    char *text, *line;
    size_t n_lines = 0;
    (void)state;

    free(s->results[1].setting.label);
    s->results[1].setting.label = strdup("odd, \"quoted\" label");
    s->results[2].krecall_sdc = NAN;
    assert_int_equal(pqe_results_write_csv(s, path), PQE_OK);
    text = slurp(path);
    assert_true(!strncmp(text, "key,label,group,name,method,", 28));
    assert_non_null(strstr(text, ",recall_adc@10,recall_adc@10_lo,recall_adc@10_hi,"));
    assert_non_null(strstr(text, "\"odd, \"\"quoted\"\" label\""));
    for (line = text; (line = strchr(line, '\n')); line++)
        n_lines++;
    assert_int_equal(n_lines, 4);
    /* setting 0: recall@1 = 12/40 = 0.3 */
    assert_non_null(strstr(text, ",0.3,"));
    free(text);
    pqe_sweep_result_free(s);
    unlink(path);
}

static void table_fits(void **state)
{
    pqe_sweep_result *s = fake_sweep_new(4, 100);
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *mem;
    (void)state;

    free(s->results[0].setting.label);
    s->results[0].setting.label = strdup("a-very-long-setting-label-that-is-cut");
    s->results[1].adc_qps = NAN;
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    assert_int_equal(pqe_results_print_table(s, mem), PQE_OK);
    fclose(mem);
    assert_non_null(strstr(buf, "setting"));
    assert_non_null(strstr(buf, "R@10"));
    assert_non_null(strstr(buf, "SDC@10"));
    assert_non_null(strstr(buf, "a-very-long-setting~"));
    assert_non_null(strstr(buf, "PQ32x8-s4"));
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strlen(line) > 100) {
            print_error("line of %zu columns: %s\n", strlen(line), line);
            fail();
        }
    }
    free(buf);
    pqe_sweep_result_free(s);
}

static void plot_png_and_svg(void **state)
{
    const char *png = tmp_path("plot.png");
    const char *svg = tmp_path("plot.svg");
    pqe_sweep_result *s = fake_sweep_new(6, 50);
    pqe_plot_format f;
    char *text;
    (void)state;

    assert_int_equal(pqe_plot_format_from_path("a/b.PNG", &f), PQE_OK);
    assert_int_equal(f, PQE_PLOT_PNG);
    assert_int_equal(pqe_plot_format_from_path("b.svg", &f), PQE_OK);
    assert_int_equal(f, PQE_PLOT_SVG);
    assert_int_equal(pqe_plot_format_from_path("b.pdf", &f), PQE_ERR_PARAM);

    unsetenv("DISPLAY");
    assert_int_equal(pqe_results_plot(s, PQE_PLOT_PNG, png), PQE_OK);
    text = slurp(png);
    assert_true(!memcmp(text, "\x89PNG", 4));
    free(text);
    assert_int_equal(pqe_results_plot(s, PQE_PLOT_SVG, svg), PQE_OK);
    text = slurp(svg);
    assert_non_null(strstr(text, "<svg"));
    free(text);

    /* twice in a row works (a fresh PLplot stream each time) */
    assert_int_equal(pqe_results_plot(s, PQE_PLOT_PNG, png), PQE_OK);

    /* nothing to plot */
    for (size_t i = 0; i < s->n_results; i++)
        s->results[i].n_r = 0;
    assert_int_equal(pqe_results_plot(s, PQE_PLOT_PNG, png), PQE_ERR_PARAM);
    pqe_sweep_result_free(s);
    unlink(png);
    unlink(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(json_nan_is_null),
        cmocka_unit_test(json_errors_name_the_path),
        cmocka_unit_test(json_truncated_and_missing),
        cmocka_unit_test(json_write_is_atomic),
        cmocka_unit_test(json_with_analysis),
        cmocka_unit_test(csv_rows),
        cmocka_unit_test(table_fits),
        cmocka_unit_test(plot_png_and_svg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
