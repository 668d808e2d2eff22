/* cmd_check.c - 'pqeval check': the CI regression gate.  Reads a results
 * file and a baseline, compares them setting by setting (check.h), prints
 * a summary table and optionally writes JUnit XML and a JSON report.
 *
 * Exit status: 0 pass, 1 a regression or a setting on one side only, 2
 * usage or input error (unreadable or corrupt file, a different dataset
 * without --allow-dataset-change, an output that cannot be written).
 *
 * Depends on: cli.h, check.h, report.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/check.h"
#include "pqeval/report.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval check RESULTS.json --baseline BASELINE.json [options]\n\n"
            "Compares a results file with a baseline setting by setting (matched by their\n"
            "full specification) and fails when recall drops or distortion rises beyond the\n"
            "tolerances.  A recall drop must exceed --abs-tol, --rel-tol x the baseline AND,\n"
            "unless --test none, be significant: McNemar's exact test when both files hold\n"
            "per-query hits for the same queries, a paired z test on per-query k-recall,\n"
            "else a two-proportion z test (all one-sided).\n\n"
            "options:\n"
            "  --baseline FILE          the baseline (see 'pqeval baseline')\n"
            "  --abs-tol X              a recall drop must exceed X (default %g)\n"
            "  --rel-tol X              ... and X times the baseline's recall (default %g)\n"
            "  --distortion-tol X       a relative distortion rise beyond X fails (default %g)\n"
            "  --test statistical|none  the one-sided test on recall drops (default statistical)\n"
            "  --alpha A                level of the test (default %g)\n"
            "  --allow-missing          settings on one side only are reported, not failed\n"
            "  --allow-dataset-change   compare even if the datasets differ (unpaired tests)\n"
            "  --junit FILE             also write JUnit XML for CI systems\n"
            "  --report FILE            also write the comparison as JSON\n"
            "  --verbose                list every compared measure, not only the changes\n\n"
            "exit status: 0 pass, 1 regression or a setting missing on one side,\n"
            "             2 usage or input error (bad file, different dataset)\n",
            PQE_CHECK_ABS_TOL_DEFAULT, PQE_CHECK_REL_TOL_DEFAULT, PQE_CHECK_DISTORTION_TOL_DEFAULT,
            PQE_CHECK_ALPHA_DEFAULT);
}

/* The value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"), or NULL
 * if argv[*i] is not this option.  *missing is set when the value is
 * absent. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int pqe_cmd_check(int argc, char **argv)
{
    pqe_check_options opts = pqe_check_options_default();
    const char *results_path = NULL, *baseline_path = NULL;
    const char *junit_path = NULL, *report_path = NULL;
    pqe_sweep_result *results = NULL, *baseline = NULL;
    pqe_check_report *report = NULL;
    int rc = PQE_EXIT_USAGE;
    pqe_status st;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue; /* read by main */
        } else if (!strcmp(a, "--allow-missing")) {
            opts.allow_missing = true;
        } else if (!strcmp(a, "--allow-dataset-change")) {
            opts.allow_dataset_change = true;
        } else if ((v = option_value(argc, argv, &i, "--baseline", &missing))) {
            baseline_path = v;
        } else if ((v = option_value(argc, argv, &i, "--junit", &missing))) {
            junit_path = v;
        } else if ((v = option_value(argc, argv, &i, "--report", &missing))) {
            report_path = v;
        } else if ((v = option_value(argc, argv, &i, "--abs-tol", &missing))) {
            if (!pqe_cli_parse_double("--abs-tol", v, &opts.abs_tol))
                return PQE_EXIT_USAGE;
        } else if ((v = option_value(argc, argv, &i, "--rel-tol", &missing))) {
            if (!pqe_cli_parse_double("--rel-tol", v, &opts.rel_tol))
                return PQE_EXIT_USAGE;
        } else if ((v = option_value(argc, argv, &i, "--distortion-tol", &missing))) {
            if (!pqe_cli_parse_double("--distortion-tol", v, &opts.distortion_tol))
                return PQE_EXIT_USAGE;
        } else if ((v = option_value(argc, argv, &i, "--alpha", &missing))) {
            if (!pqe_cli_parse_double("--alpha", v, &opts.alpha))
                return PQE_EXIT_USAGE;
        } else if ((v = option_value(argc, argv, &i, "--test", &missing))) {
            if (pqe_check_test_parse(v, &opts.test) != PQE_OK)
                return pqe_cli_error("check: --test: %s", pqe_last_error());
        } else if (missing) {
            return pqe_cli_error("check: %s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            usage(stderr);
            return pqe_cli_error("check: unknown option '%s'", a);
        } else if (!results_path) {
            results_path = a;
        } else {
            usage(stderr);
            return pqe_cli_error("check: more than one results file ('%s' and '%s')", results_path,
                                 a);
        }
        if (missing)
            return pqe_cli_error("check: %s needs a value", a);
    }
    if (!results_path) {
        usage(stderr);
        return pqe_cli_error("check: no results file given");
    }
    if (!baseline_path) {
        usage(stderr);
        return pqe_cli_error("check: no baseline given (--baseline FILE)");
    }
    /* The outputs may not be the inputs (--report onto the baseline would
     * replace the baseline), and must be writable before the work. */
    {
        const char *inputs[2] = {results_path, baseline_path};
        if ((junit_path && !pqe_cli_check_output("check: --junit", junit_path, inputs, 2)) ||
            (report_path && !pqe_cli_check_output("check: --report", report_path, inputs, 2)))
            return PQE_EXIT_USAGE;
    }

    /* Read both files and compare. */
    st = pqe_results_read(results_path, &results, NULL);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    st = pqe_results_read(baseline_path, &baseline, NULL);
    if (st != PQE_OK) {
        rc = pqe_cli_error("baseline: %s", pqe_last_error());
        goto cleanup;
    }
    st = pqe_check_compare(results, baseline, &opts, &report);
    if (st == PQE_ERR_DATA) {
        rc = pqe_cli_error("check: different datasets: %s; refusing to compare (pass "
                           "--allow-dataset-change to compare anyway, or write a new baseline)",
                           pqe_last_error());
        goto cleanup;
    }
    if (st == PQE_OK)
        st = pqe_check_report_set_names(report, results_path, baseline_path);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }

    /* The outputs. */
    if (pqe_cli_verbosity >= 0) {
        st = pqe_check_report_print(report, pqe_cli_verbosity > 0, stdout);
        fflush(stdout);
    }
    if (st == PQE_OK && junit_path)
        st = pqe_check_report_write_junit(report, junit_path);
    if (st == PQE_OK && report_path)
        st = pqe_check_report_write_json(report, report_path);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    if (!report->passed)
        fprintf(stderr,
                "pqeval: check failed: %zu regressions, %zu settings or measures on one "
                "side only%s\n",
                report->n_regressions, report->n_missing + report->n_new,
                opts.allow_missing ? " (allowed)" : "");
    rc = report->passed ? PQE_EXIT_OK : PQE_EXIT_FAIL;

cleanup:
    pqe_check_report_free(report);
    pqe_sweep_result_free(results);
    pqe_sweep_result_free(baseline);
    return rc;
}
