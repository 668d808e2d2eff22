/* cmd_baseline.c - 'pqeval baseline': writes (or, with --update, replaces)
 * the baseline that 'pqeval check' compares against.
 *
 * A baseline is the results file itself, marked "kind": "baseline": it
 * keeps the dataset's checksum, pqeval's version, every setting's full
 * specification and seed, the measures and the per-query hits that make
 * paired tests possible.  It is written atomically.  An existing baseline
 * is only replaced with --update, and not by results from a different
 * dataset unless --allow-dataset-change is given too.
 *
 * Depends on: cli.h, report.h, sweep.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "pqeval/report.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: pqeval baseline RESULTS.json --output BASELINE.json [--update]\n"
                 "                       [--allow-dataset-change]\n\n"
                 "Writes a baseline for 'pqeval check' from a results file (written by\n"
                 "'pqeval eval'), atomically.  The baseline records the dataset's checksum,\n"
                 "pqeval's version, every setting with its seed, and the per-query hits.\n\n"
                 "options:\n"
                 "  --output FILE            the baseline to write\n"
                 "  --update                 replace FILE if it exists (refused otherwise)\n"
                 "  --allow-dataset-change   with --update: accept results from another dataset\n\n"
                 "exit status: 0 written, 2 usage or input error\n");
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static bool has_key(const pqe_sweep_result *s, const char *key)
{
    for (size_t i = 0; i < s->n_results; i++) {
        if (s->results[i].setting.key && key && !strcmp(s->results[i].setting.key, key))
            return true;
    }
    return false;
}

/* What --update changes, on stderr; refuses another dataset unless
 * allowed.  Returns an exit code, or -1 to go on. */
static int compare_with_old(const pqe_sweep_result *res, const char *output, bool allow_change)
{
    pqe_sweep_result *old = NULL;
    size_t added = 0, removed = 0;
    int rc = -1;
    pqe_status st = pqe_results_read(output, &old, NULL);

    if (st != PQE_OK) {
        pqe_cli_warn("replacing %s, which cannot be read: %s", output, pqe_last_error());
        return -1;
    }
    if (old->dataset_checksum[0] && res->dataset_checksum[0] &&
        strcmp(old->dataset_checksum, res->dataset_checksum) != 0 && !allow_change) {
        rc = pqe_cli_error("baseline: %s was made on dataset %s (sha256 %.12s), the results on "
                           "%s (sha256 %.12s); pass --allow-dataset-change to replace it",
                           output, old->dataset_name ? old->dataset_name : "unknown",
                           old->dataset_checksum, res->dataset_name ? res->dataset_name : "unknown",
                           res->dataset_checksum);
        goto cleanup;
    }
    for (size_t i = 0; i < res->n_results; i++)
        added += !has_key(old, res->results[i].setting.key);
    for (size_t i = 0; i < old->n_results; i++)
        removed += !has_key(res, old->results[i].setting.key);
    pqe_cli_info("updating %s: %zu settings kept, %zu added, %zu removed (pqeval %s -> %s)", output,
                 res->n_results - added, added, removed, old->version ? old->version : "?",
                 res->version ? res->version : "?");

cleanup:
    pqe_sweep_result_free(old);
    return rc;
}

int pqe_cmd_baseline(int argc, char **argv)
{
    const char *results_path = NULL, *output = NULL;
    bool update = false, allow_change = false;
    pqe_sweep_result *res = NULL;
    int rc = PQE_EXIT_USAGE;
    pqe_status st;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue; /* read by main */
        } else if (!strcmp(a, "--update")) {
            update = true;
        } else if (!strcmp(a, "--allow-dataset-change")) {
            allow_change = true;
        } else if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
            if (i + 1 >= argc)
                return pqe_cli_error("baseline: %s needs a value", a);
            output = argv[++i];
        } else if (!strncmp(a, "--output=", 9)) {
            output = a + 9;
        } else if (a[0] == '-' && a[1] != '\0') {
            usage(stderr);
            return pqe_cli_error("baseline: unknown option '%s'", a);
        } else if (!results_path) {
            results_path = a;
        } else {
            usage(stderr);
            return pqe_cli_error("baseline: more than one results file ('%s' and '%s')",
                                 results_path, a);
        }
    }
    if (!results_path || !output) {
        usage(stderr);
        return pqe_cli_error("baseline: %s", !results_path ? "no results file given"
                                                           : "no output given (--output FILE)");
    }
    if (!pqe_cli_check_output("baseline: --output", output, NULL, 0))
        return PQE_EXIT_USAGE;

    st = pqe_results_read(results_path, &res, NULL);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    if (res->n_results == 0) {
        rc = pqe_cli_error("baseline: %s has no settings", results_path);
        goto cleanup;
    }
    if (!res->dataset_checksum[0])
        pqe_cli_warn("%s records no dataset checksum: check will not be able to verify the "
                     "dataset or pair the queries",
                     results_path);

    if (file_exists(output)) {
        if (!update) {
            rc = pqe_cli_error("baseline: %s exists; pass --update to replace it", output);
            goto cleanup;
        }
        rc = compare_with_old(res, output, allow_change);
        if (rc >= 0)
            goto cleanup;
    } else if (errno != ENOENT) {
        rc = pqe_cli_error("baseline: %s: %s", output, strerror(errno));
        goto cleanup;
    }

    st = pqe_results_write_json(res, PQE_RESULTS_KIND_BASELINE, output);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    pqe_cli_info("wrote baseline %s: %zu settings, dataset %s (sha256 %.12s), pqeval %s", output,
                 res->n_results, res->dataset_name ? res->dataset_name : "unknown",
                 res->dataset_checksum[0] ? res->dataset_checksum : "none",
                 res->version ? res->version : "?");
    rc = PQE_EXIT_OK;

cleanup:
    pqe_sweep_result_free(res);
    return rc;
}
