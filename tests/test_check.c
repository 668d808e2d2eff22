/* test_check.c - the regression gate on sweeps built in memory: the
 * statistical tests against values computed independently (Python's exact
 * binomial sums and erfc), and every case of the issue: a pass, a real
 * regression, a drop inside the noise, a setting missing on one side, a
 * different dataset; plus tolerances, distortion, JUnit and JSON output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqeval/check.h"
#include "support/fake_sweep.h"

static void near_at(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g is not within %g of %.17g\n", a, tol, b);
        _fail(file, line);
    }
}
#define assert_near(a, b, tol) near_at((a), (b), (tol), __FILE__, __LINE__)

static const char *tmp_path(const char *name)
{
    static char buf[2][1024];
    static int next;
    const char *dir = getenv("PQEVAL_TEST_TMP");
    char *out = buf[next++ % 2];
    snprintf(out, 1024, "%s/test_check_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), name);
    return out;
}

/* The row of a setting (by index into the sweep's results) and measure. */
static const pqe_check_row *row_of(const pqe_check_report *rep, const pqe_sweep_result *s, size_t i,
                                   const char *measure)
{
    for (size_t k = 0; k < rep->n_rows; k++) {
        if (!strcmp(rep->rows[k].key, s->results[i].setting.key) &&
            !strcmp(rep->rows[k].measure, measure))
            return &rep->rows[k];
    }
    print_error("no row '%s' for setting %zu\n", measure, i);
    fail();
    return NULL;
}

/* ---- the tests themselves ------------------------------------------------- */

static void mcnemar_exact(void **state)
{
    (void)state;
    /* sum_{i>=b} C(n, i) / 2^n by hand: (5,0): 1/32; (3,1): 5/16;
     * (8,2): (45 + 10 + 1) / 1024. */
    assert_near(pqe_mcnemar_exact_p(5, 0), 1.0 / 32.0, 1e-12);
    assert_near(pqe_mcnemar_exact_p(3, 1), 0.3125, 1e-12);
    assert_near(pqe_mcnemar_exact_p(8, 2), 56.0 / 1024.0, 1e-12);
    assert_near(pqe_mcnemar_exact_p(30, 10), 0.0011107168866146822, 1e-12);
    assert_near(pqe_mcnemar_exact_p(0, 0), 1.0, 0);
    assert_near(pqe_mcnemar_exact_p(0, 7), 1.0, 0);
    /* large counts do not overflow (Python: exact sum with big integers) */
    assert_near(pqe_mcnemar_exact_p(5100, 4900), 0.0232927638524737, 1e-10);
    assert_true(pqe_mcnemar_exact_p(1, 9000) <= 1.0);
}

static void two_proportion_z(void **state)
{
    (void)state;
    /* pooled p = 0.45, se = sqrt(0.45 * 0.55 * 0.02), z = 0.1 / se */
    assert_near(pqe_two_proportion_z_p(0.5, 100, 0.4, 100), 0.0776092448423421, 1e-12);
    assert_near(pqe_two_proportion_z_p(0.6, 100, 0.58, 100), 0.386849744753422, 1e-12);
    assert_near(pqe_two_proportion_z_p(0.9, 200, 0.6, 200), 2.13109579892181e-12, 1e-20);
    /* an improvement is far from significant */
    assert_true(pqe_two_proportion_z_p(0.4, 100, 0.5, 100) > 0.9);
    /* no variance: equal proportions pass, a drop from 1 to 0 is certain */
    assert_near(pqe_two_proportion_z_p(1.0, 50, 1.0, 50), 1.0, 0);
    assert_true(isnan(pqe_two_proportion_z_p(0.5, 0, 0.5, 10)));
}

static void paired_z(void **state)
{
    const float b[] = {1.0f, 0.8f, 0.9f, 1.0f, 0.7f};
    const float c[] = {0.9f, 0.8f, 0.7f, 1.0f, 0.6f};
    const float same[] = {0.5f, 0.5f};
    const float lower[] = {0.4f, 0.4f};
    (void)state;
    /* differences 0.1, 0, 0.2, 0, 0.1: mean 0.08, sd 0.083666 (n - 1) */
    assert_near(pqe_paired_z_p(b, c, 5), 0.0162547223228598, 1e-6);
    assert_near(pqe_paired_z_p(same, same, 2), 1.0, 0);
    assert_near(pqe_paired_z_p(same, lower, 2), 0.0, 0);
}

/* A sweep compared with itself passes, paired tests everywhere. */
static void identical_passes(void **state)
{
    pqe_sweep_result *a = fake_sweep_new(3, 200), *b = fake_sweep_new(3, 200);
    pqe_check_report *rep = NULL;
    (void)state;

    assert_int_equal(pqe_check_compare(a, b, NULL, &rep), PQE_OK);
    assert_true(rep->passed);
    assert_int_equal(rep->n_compared, 3);
    assert_int_equal(rep->n_failed, 0);
    assert_int_equal(rep->n_regressions, 0);
    /* per setting: 3 ADC + 3 SDC recall rows, 2 k-recall rows, distortion */
    assert_int_equal(rep->n_rows, 3 * 9);
    assert_string_equal(row_of(rep, a, 0, "recall@10 adc")->test, "mcnemar-exact");
    assert_string_equal(row_of(rep, a, 1, "recall@1 sdc")->test, "mcnemar-exact");
    assert_string_equal(row_of(rep, a, 2, "k-recall@10 adc")->test, "paired-z");
    assert_string_equal(row_of(rep, a, 2, "k-recall@10 sdc")->test, "two-proportion-z");
    assert_string_equal(row_of(rep, a, 2, "distortion")->test, "tolerance");
    assert_near(row_of(rep, a, 0, "recall@10 adc")->p_value, 1.0, 0);
    pqe_check_report_free(rep);
    pqe_sweep_result_free(a);
    pqe_sweep_result_free(b);
}

/* A baseline whose recall is well above what is achieved fails. */
static void real_regression_fails(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(2, 200), *base = fake_sweep_new(2, 200);
    pqe_check_report *rep = NULL;
    const pqe_check_row *row;
    (void)state;

    fake_set_hits(&base->results[1], 1, 190); /* baseline 0.95, current 0.62 */
    assert_int_equal(pqe_check_compare(cur, base, NULL, &rep), PQE_OK);
    assert_false(rep->passed);
    row = row_of(rep, cur, 1, "recall@10 adc");
    assert_int_equal(row->verdict, PQE_CHECK_REGRESSION);
    assert_true(row->failed);
    assert_string_equal(row->test, "mcnemar-exact");
    assert_int_equal(row->lost, 190 - 124);
    assert_int_equal(row->gained, 0);
    assert_true(row->p_value < 1e-10);
    assert_near(row->change, 0.62 - 0.95, 1e-12);
    assert_int_equal(row_of(rep, cur, 0, "recall@10 adc")->verdict, PQE_CHECK_PASS);
    /* SDC hits were changed too */
    assert_int_equal(row_of(rep, cur, 1, "recall@10 sdc")->verdict, PQE_CHECK_REGRESSION);
    assert_int_equal(rep->n_regressions, 2);
    pqe_check_report_free(rep);

    /* unpaired (no per-query hits on one side): still a regression */
    fake_drop_per_query(&cur->results[1]);
    assert_int_equal(pqe_check_compare(cur, base, NULL, &rep), PQE_OK);
    assert_false(rep->passed);
    row = row_of(rep, cur, 1, "recall@10 adc");
    assert_string_equal(row->test, "two-proportion-z");
    assert_int_equal(row->verdict, PQE_CHECK_REGRESSION);
    pqe_check_report_free(rep);
    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
}

/* A small drop passes as noise, paired and unpaired; without the test
 * the same drop fails, and a tolerance lets it pass again. */
static void drop_inside_noise_passes(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(1, 100), *base = fake_sweep_new(1, 100);
    pqe_check_options opts = pqe_check_options_default();
    pqe_check_report *rep = NULL;
    const pqe_check_row *row;
    (void)state;

    /* recall@1: baseline hits queries 0..29; current loses 0, 1, 2 and
     * gains 50: 3 lost, 1 gained, McNemar p = 5/16 */
    fake_set_query(&cur->results[0], 0, 0, 0);
    fake_set_query(&cur->results[0], 0, 1, 0);
    fake_set_query(&cur->results[0], 0, 2, 0);
    fake_set_query(&cur->results[0], 0, 50, 1);
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    row = row_of(rep, cur, 0, "recall@1 adc");
    assert_string_equal(row->test, "mcnemar-exact");
    assert_int_equal(row->lost, 3);
    assert_int_equal(row->gained, 1);
    assert_near(row->p_value, 0.3125, 1e-12);
    assert_int_equal(row->verdict, PQE_CHECK_NOISE);
    assert_false(row->failed);
    assert_true(rep->passed);
    assert_int_equal(rep->n_noise, 2); /* ADC and SDC */
    pqe_check_report_free(rep);

    /* unpaired: 0.30 -> 0.28 on 100 queries each */
    fake_drop_per_query(&cur->results[0]);
    fake_drop_per_query(&base->results[0]);
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    row = row_of(rep, cur, 0, "recall@1 adc");
    assert_string_equal(row->test, "two-proportion-z");
    assert_near(row->p_value, pqe_two_proportion_z_p(0.30, 100, 0.28, 100), 1e-15);
    assert_int_equal(row->verdict, PQE_CHECK_NOISE);
    assert_true(rep->passed);
    pqe_check_report_free(rep);

    /* --test none: any drop beyond the (zero) tolerance fails */
    opts.test = PQE_CHECK_TEST_NONE;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    row = row_of(rep, cur, 0, "recall@1 adc");
    assert_string_equal(row->test, "none");
    assert_true(isnan(row->p_value));
    assert_int_equal(row->verdict, PQE_CHECK_REGRESSION);
    assert_false(rep->passed);
    pqe_check_report_free(rep);

    /* ... unless an absolute tolerance covers it (0.02 drop, tolerance 0.03) */
    opts.abs_tol = 0.03;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_int_equal(row_of(rep, cur, 0, "recall@1 adc")->verdict, PQE_CHECK_PASS);
    assert_true(rep->passed);
    pqe_check_report_free(rep);

    /* or a relative one: 0.02 / 0.30 = 6.7% < 10% */
    opts.abs_tol = 0;
    opts.rel_tol = 0.10;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_true(rep->passed);
    pqe_check_report_free(rep);
    opts.rel_tol = 0.05;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_false(rep->passed);
    pqe_check_report_free(rep);

    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
}

/* Settings present on one side only are reported and fail unless allowed. */
static void missing_settings(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(2, 50), *base = fake_sweep_new(3, 50);
    pqe_check_options opts = pqe_check_options_default();
    pqe_check_report *rep = NULL;
    const pqe_check_row *row;
    (void)state;

    /* current: settings 0 and a new one (key changed); baseline: 0, 1, 2 */
    free(cur->results[1].setting.key);
    cur->results[1].setting.key = strdup("method=0,M=8,nbits=8,n_train=0,iters=25,seed=99");
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_false(rep->passed);
    assert_int_equal(rep->n_compared, 1);
    assert_int_equal(rep->n_missing, 2);
    assert_int_equal(rep->n_new, 1);
    assert_int_equal(rep->n_failed, 3);
    row = row_of(rep, base, 2, "setting");
    assert_int_equal(row->verdict, PQE_CHECK_MISSING);
    assert_true(row->failed);
    row = row_of(rep, cur, 1, "setting");
    assert_int_equal(row->verdict, PQE_CHECK_NEW);
    pqe_check_report_free(rep);

    opts.allow_missing = true;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_true(rep->passed);
    assert_int_equal(rep->n_missing, 2);
    assert_false(row_of(rep, base, 2, "setting")->failed);
    pqe_check_report_free(rep);

    /* a measure on one side only (SDC not run now) */
    opts.allow_missing = false;
    free(cur->results[1].setting.key);
    cur->results[1].setting.key = strdup(base->results[1].setting.key);
    for (size_t j = 0; j < 3; j++)
        cur->results[1].recall_sdc[j] = NAN;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    row = row_of(rep, cur, 1, "recall@10 sdc");
    assert_int_equal(row->verdict, PQE_CHECK_MISSING);
    assert_true(row->failed);
    pqe_check_report_free(rep);

    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
}

/* Comparing against a different dataset is refused unless allowed. */
static void different_dataset(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(2, 50), *base = fake_sweep_new(2, 50);
    pqe_check_options opts = pqe_check_options_default();
    pqe_check_report *rep = NULL;
    (void)state;

    cur->dataset_checksum[0] = 'b';
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_ERR_DATA);
    assert_null(rep);
    assert_non_null(strstr(pqe_last_error(), "sha256 baaaaaaaaaaa"));
    assert_non_null(strstr(pqe_last_error(), "sha256 aaaaaaaaaaaa"));

    opts.allow_dataset_change = true;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_true(rep->dataset_changed);
    assert_true(rep->passed);
    /* the queries may differ: no pairing */
    assert_string_equal(row_of(rep, cur, 0, "recall@10 adc")->test, "two-proportion-z");
    assert_true(rep->n_notes >= 1);
    assert_non_null(strstr(rep->notes[0], "datasets differ"));
    pqe_check_report_free(rep);

    /* no checksum: the shape decides */
    cur->dataset_checksum[0] = '\0';
    opts.allow_dataset_change = false;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_OK);
    assert_string_equal(row_of(rep, cur, 0, "recall@10 adc")->test, "two-proportion-z");
    pqe_check_report_free(rep);
    cur->dim = 32;
    assert_int_equal(pqe_check_compare(cur, base, &opts, &rep), PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "32 dimensions"));

    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
}

static void distortion_rise(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(2, 50), *base = fake_sweep_new(2, 50);
    pqe_check_report *rep = NULL;
    (void)state;

    cur->results[0].mse_base *= 1.05;  /* +5%: fails the 1% default */
    cur->results[1].mse_base *= 1.005; /* +0.5%: passes */
    assert_int_equal(pqe_check_compare(cur, base, NULL, &rep), PQE_OK);
    assert_int_equal(row_of(rep, cur, 0, "distortion")->verdict, PQE_CHECK_REGRESSION);
    assert_int_equal(row_of(rep, cur, 1, "distortion")->verdict, PQE_CHECK_PASS);
    assert_false(rep->passed);
    assert_int_equal(rep->n_regressions, 1);
    pqe_check_report_free(rep);
    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
}

static void bad_options(void **state)
{
    pqe_sweep_result *a = fake_sweep_new(1, 10);
    pqe_check_options opts = pqe_check_options_default();
    pqe_check_report *rep = NULL;
    pqe_check_test t;
    (void)state;

    opts.alpha = 0;
    assert_int_equal(pqe_check_compare(a, a, &opts, &rep), PQE_ERR_PARAM);
    opts = pqe_check_options_default();
    opts.abs_tol = -0.1;
    assert_int_equal(pqe_check_compare(a, a, &opts, &rep), PQE_ERR_PARAM);
    assert_int_equal(pqe_check_test_parse("none", &t), PQE_OK);
    assert_int_equal(t, PQE_CHECK_TEST_NONE);
    assert_int_equal(pqe_check_test_parse("bootstrap", &t), PQE_ERR_PARAM);
    pqe_sweep_result_free(a);
}

/* Table, JUnit XML and JSON report of a failing comparison. */
static void outputs(void **state)
{
    pqe_sweep_result *cur = fake_sweep_new(3, 100), *base = fake_sweep_new(3, 100);
    pqe_check_report *rep = NULL;
    const char *junit = tmp_path("junit.xml"), *json = tmp_path("report.json");
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *mem;
    json_error_t err;
    json_t *root;
    (void)state;

    fake_set_hits(&base->results[1], 0, 80);
    cur->n_threads = 4;
    assert_int_equal(pqe_check_compare(cur, base, NULL, &rep), PQE_OK);
    assert_int_equal(pqe_check_report_set_names(rep, "new.json", "base<1>.json"), PQE_OK);

    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    assert_int_equal(pqe_check_report_print(rep, false, mem), PQE_OK);
    fclose(mem);
    assert_non_null(strstr(buf, "REGRESSION"));
    assert_non_null(strstr(buf, "mcnemar-exact"));
    assert_non_null(strstr(buf, "thread count differs"));
    assert_non_null(strstr(buf, "\nFAIL\n"));
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strlen(line) > 100 && strncmp(line, "note:", 5) != 0) {
            print_error("line of %zu columns: %s\n", strlen(line), line);
            fail();
        }
    }
    free(buf);

    assert_int_equal(pqe_check_report_write_junit(rep, junit), PQE_OK);
    root = json_load_file(junit, 0, &err); /* not JSON: just read the text back */
    assert_null(root);
    {
        FILE *fp = fopen(junit, "r");
        char text[65536];
        size_t n;
        assert_non_null(fp);
        n = fread(text, 1, sizeof text - 1, fp);
        text[n] = '\0';
        fclose(fp);
        assert_non_null(strstr(text, "<testsuites"));
        assert_non_null(strstr(text, "failures=\"2\""));
        assert_non_null(strstr(text, "<failure message=\"recall@1 adc"));
        assert_non_null(strstr(text, "base&lt;1&gt;.json"));
    }

    assert_int_equal(pqe_check_report_write_json(rep, json), PQE_OK);
    root = json_load_file(json, 0, &err);
    assert_non_null(root);
    assert_true(json_is_false(json_object_get(root, "passed")));
    assert_int_equal(json_array_size(json_object_get(root, "rows")), rep->n_rows);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(root, "summary"), "regressions")), 2);
    json_decref(root);

    pqe_check_report_free(rep);
    pqe_sweep_result_free(cur);
    pqe_sweep_result_free(base);
    unlink(junit);
    unlink(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mcnemar_exact),
        cmocka_unit_test(two_proportion_z),
        cmocka_unit_test(paired_z),
        cmocka_unit_test(identical_passes),
        cmocka_unit_test(real_regression_fails),
        cmocka_unit_test(drop_inside_noise_passes),
        cmocka_unit_test(missing_settings),
        cmocka_unit_test(different_dataset),
        cmocka_unit_test(distortion_rise),
        cmocka_unit_test(bad_options),
        cmocka_unit_test(outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
