/* cmd_groundtruth.c - 'pqeval groundtruth DATASET': exact k nearest
 * neighbours of the queries among the base, written into the dataset
 * atomically (the HDF5 file is rewritten; for texmex, X_groundtruth.ivecs is
 * written beside the base).
 *
 * Depends on: cli.h; io.h (load, save), groundtruth.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/groundtruth.h"
#include "pqeval/io.h"

/* X_base.fvecs or X_base.bvecs: a texmex dataset named by its base. */
static bool is_texmex_base(const char *path)
{
    static const char *const suffixes[2] = {"_base.fvecs", "_base.bvecs"};
    size_t len = strlen(path);
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(suffixes[i]);
        if (len > n && !strcmp(path + len - n, suffixes[i]))
            return true;
    }
    return false;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval groundtruth [OPTIONS] DATASET\n\n"
            "Computes the exact K nearest neighbours of every query (test) among the base\n"
            "(train) through FAISS's flat indexes, refined in double precision: euclidean as\n"
            "the non-squared distance, angular as 1 - cos (zero vectors at distance 1), dot as\n"
            "the inner product; equal distances ordered by the smaller id.  Writes neighbors\n"
            "and distances into DATASET atomically (an .hdf5 file is rewritten in the\n"
            "ann-benchmarks layout; a texmex X_base.fvecs/.bvecs gets X_groundtruth.ivecs).\n\n"
            "  --k K           neighbours per query (default 100)\n"
            "  --metric M      euclidean, angular or dot (default: the dataset's)\n"
            "  --output PATH   write there instead of into DATASET\n"
            "  --threads N     threads (default: all)\n");
}

int pqe_cmd_groundtruth(int argc, char **argv)
{
    const char *input = NULL, *output = NULL;
    size_t k = PQE_GROUNDTRUTH_K_DEFAULT, count;
    unsigned threads = 0;
    pqe_load_options lo = pqe_load_options_default();
    pqe_dataset *ds = NULL;
    int32_t *nbr = NULL;
    float *dist = NULL;
    pqe_status st;
    int rc = PQE_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue;
        } else if (!strcmp(a, "--k") || !strcmp(a, "--metric") || !strcmp(a, "--output") ||
                   !strcmp(a, "--threads")) {
            if (i + 1 >= argc)
                return pqe_cli_error("groundtruth: %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--k") && !pqe_cli_parse_size(a, v, &k))
                return PQE_EXIT_USAGE;
            if (!strcmp(a, "--threads") && !pqe_cli_parse_uint(a, v, &threads))
                return PQE_EXIT_USAGE;
            if (!strcmp(a, "--output"))
                output = v;
            if (!strcmp(a, "--metric")) {
                if (pqe_metric_parse(v, &lo.metric) != PQE_OK)
                    return pqe_cli_error("groundtruth: %s", pqe_last_error());
                lo.metric_given = true;
            }
        } else if (a[0] == '-') {
            usage(stderr);
            return pqe_cli_error("groundtruth: unknown option '%s'", a);
        } else if (!input) {
            input = a;
        } else {
            usage(stderr);
            return pqe_cli_error("groundtruth: unexpected argument '%s'", a);
        }
    }
    if (!input) {
        usage(stderr);
        return pqe_cli_error("groundtruth: no dataset given");
    }
    if (!output)
        output = input;
    /* Where the result goes is checked before the (long) computation. */
    if (!pqe_cli_check_output("groundtruth: --output", output, NULL, 0))
        return PQE_EXIT_USAGE;
    if (pqe_format_from_name(output) != PQE_FORMAT_HDF5 && !is_texmex_base(output))
        return pqe_cli_error("groundtruth: --output %s: write a dataset to X.hdf5, or to texmex "
                             "files named by their base X_base.fvecs or X_base.bvecs",
                             output);

    /* The old ground truth, if any, is replaced: it is not validated. */
    lo.validate = false;
    lo.rebuild_distances = false;
    lo.checksum = false;
    if ((st = pqe_dataset_load(input, &lo, &ds)) != PQE_OK)
        return pqe_cli_fail(st);
    if (k == 0 || k > ds->n_train) {
        rc =
            pqe_cli_error("groundtruth: --k %zu must be in 1..%zu (the base size)", k, ds->n_train);
        goto cleanup;
    }
    count = ds->n_test * k;
    if (count / k != ds->n_test) {
        rc = pqe_cli_error("groundtruth: %zu x %zu overflows", ds->n_test, k);
        goto cleanup;
    }
    nbr = malloc(count * sizeof *nbr);
    dist = malloc(count * sizeof *dist);
    if (!nbr || !dist) {
        rc = pqe_cli_error("groundtruth: cannot allocate %zu x %zu neighbours", ds->n_test, k);
        goto cleanup;
    }
    pqe_cli_info("exact top-%zu of %zu queries among %zu vectors (%s)", k, ds->n_test, ds->n_train,
                 pqe_metric_name(ds->metric));
    st = pqe_groundtruth(ds->train, ds->n_train, ds->test, ds->n_test, ds->dim, ds->metric, k,
                         (int)threads, nbr, dist);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(pqe_fail_context(st, "%s", input));
        goto cleanup;
    }
    free(ds->neighbors);
    free(ds->distances);
    ds->neighbors = nbr;
    ds->distances = dist;
    ds->gt_k = k;
    nbr = NULL;
    dist = NULL;
    {
        pqe_validate_options vo = pqe_validate_options_default();
        vo.check_groundtruth = true;
        vo.sample_queries = 3;
        if ((st = pqe_dataset_validate(ds, &vo, NULL)) != PQE_OK) {
            rc = pqe_cli_fail(st);
            goto cleanup;
        }
    }
    if (pqe_format_from_name(output) != PQE_FORMAT_HDF5 && !strcmp(output, input)) {
        /* texmex in place: only X_groundtruth.ivecs changes. */
        size_t len = strlen(output);
        char *gt = malloc(len + sizeof "_groundtruth.ivecs");
        if (!gt || len < 11) {
            free(gt);
            rc = pqe_cli_error("groundtruth: %s: not a texmex X_base name", output);
            goto cleanup;
        }
        memcpy(gt, output, len - 11);
        strcpy(gt + len - 11, "_groundtruth.ivecs");
        st = pqe_ivecs_write(gt, ds->neighbors, ds->n_test, ds->gt_k);
        free(gt);
    } else {
        st = pqe_dataset_save(ds, output);
    }
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    pqe_cli_info("wrote the ground truth into %s", output);

cleanup:
    free(nbr);
    free(dist);
    pqe_dataset_free(ds);
    return rc;
}
