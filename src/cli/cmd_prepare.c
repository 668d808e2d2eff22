/* cmd_prepare.c - 'pqeval prepare fashion-mnist --output PATH': builds
 * ann-benchmarks' fashion-mnist-784-euclidean.hdf5 from the IDX files of
 * the Debian package dataset-fashion-mnist.
 *
 * The layout is ann-benchmarks' (datasets.py, fashion_mnist()): train = the
 * 60000 training images, test = the 10000 test images, each flattened to
 * 784 float32 pixel values 0..255 (not rescaled), exact top-100 neighbours
 * and non-squared Euclidean distances, distance = "euclidean".
 *
 * Depends on: cli.h; io.h (IDX reader, HDF5 writer, validation),
 * groundtruth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/dataset.h"
#include "pqeval/groundtruth.h"
#include "pqeval/io.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static void usage(FILE *out)
{
    fprintf(out, "usage: pqeval prepare fashion-mnist --output PATH [--source DIR] [--k K]\n"
                 "                      [--threads N]\n\n"
                 "Builds ann-benchmarks' fashion-mnist-784-euclidean layout from the IDX files of\n"
                 "the Debian package dataset-fashion-mnist: train = the 60000 training images,\n"
                 "test = the 10000 test images (float32 pixels 0..255), exact top-K neighbours\n"
                 "and non-squared Euclidean distances.  Written atomically.\n\n"
                 "  --output PATH   the HDF5 file to write\n"
                 "  --source DIR    folder of {train,t10k}-images-idx3-ubyte.gz\n"
                 "                  (default " FASHION_MNIST_DIR ")\n"
                 "  --k K           neighbours per query (default 100)\n"
                 "  --threads N     threads for the ground truth (default: all)\n");
}

/* Reads one IDX image file and checks its shape. */
static int read_images(const char *dir, const char *file, size_t want_rows, float **out)
{
    char path[4096];
    pqe_array_info info;
    pqe_status st;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    st = pqe_idx_read(path, &info, out);
    if (st != PQE_OK) {
        if (st == PQE_ERR_IO)
            return pqe_cli_error("prepare: %s (install the Debian package dataset-fashion-mnist, "
                                 "or give --source)",
                                 pqe_last_error());
        return pqe_cli_fail(st);
    }
    if (info.rows != want_rows || info.cols != 784) {
        free(*out);
        *out = NULL;
        return pqe_cli_error("prepare: %s: %zu x %zu values, expected %zu images of 28 x 28", path,
                             info.rows, info.cols, want_rows);
    }
    return PQE_EXIT_OK;
}

int pqe_cmd_prepare(int argc, char **argv)
{
    const char *name = NULL, *output = NULL, *source = FASHION_MNIST_DIR;
    size_t k = PQE_GROUNDTRUTH_K_DEFAULT;
    unsigned threads = 0;
    pqe_dataset *ds = NULL;
    pqe_status st;
    int rc = PQE_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue;
        } else if (!strcmp(a, "--output") || !strcmp(a, "--source") || !strcmp(a, "--k") ||
                   !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                usage(stderr);
                return pqe_cli_error("prepare: %s needs a value", a);
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--output"))
                output = v;
            else if (!strcmp(a, "--source"))
                source = v;
            else if (!strcmp(a, "--k") && !pqe_cli_parse_size("--k", v, &k))
                return PQE_EXIT_USAGE;
            else if (!strcmp(a, "--threads") && !pqe_cli_parse_uint("--threads", v, &threads))
                return PQE_EXIT_USAGE;
        } else if (a[0] == '-') {
            usage(stderr);
            return pqe_cli_error("prepare: unknown option '%s'", a);
        } else if (!name) {
            name = a;
        } else {
            usage(stderr);
            return pqe_cli_error("prepare: unexpected argument '%s'", a);
        }
    }
    if (!name || !output) {
        usage(stderr);
        return pqe_cli_error("prepare: %s", !name ? "no dataset named" : "--output is required");
    }
    if (strcmp(name, "fashion-mnist") != 0 && strcmp(name, "fashion-mnist-784-euclidean") != 0) {
        usage(stderr);
        return pqe_cli_error("prepare: unknown dataset '%s' (this build prepares fashion-mnist; "
                             "datasets/README.md lists where to download the others)",
                             name);
    }
    if (k == 0 || k > 60000)
        return pqe_cli_error("prepare: --k %zu must be in 1..60000", k);
    /* Checked before the minutes of ground-truth computation. */
    if (!pqe_cli_check_output("prepare: --output", output, NULL, 0))
        return PQE_EXIT_USAGE;
    if (pqe_format_from_name(output) != PQE_FORMAT_HDF5)
        return pqe_cli_error("prepare: --output %s: the dataset is written as HDF5; name it "
                             "X.hdf5",
                             output);

    ds = pqe_dataset_new();
    if (!ds)
        return pqe_cli_fail(PQE_ERR_NOMEM);
    ds->metric = PQE_METRIC_EUCLIDEAN;
    ds->dim = 784;
    ds->n_train = 60000;
    ds->n_test = 10000;
    ds->gt_k = k;
    snprintf(ds->element_type, sizeof ds->element_type, "uint8");
    if ((rc = read_images(source, "train-images-idx3-ubyte.gz", 60000, &ds->train)) != 0 ||
        (rc = read_images(source, "t10k-images-idx3-ubyte.gz", 10000, &ds->test)) != 0)
        goto cleanup;

    ds->neighbors = malloc(ds->n_test * k * sizeof *ds->neighbors);
    ds->distances = malloc(ds->n_test * k * sizeof *ds->distances);
    if (!ds->neighbors || !ds->distances) {
        rc = pqe_cli_error("prepare: cannot allocate the ground truth");
        goto cleanup;
    }
    pqe_cli_info("computing the exact top-%zu of 10000 queries among 60000 images", k);
    st = pqe_groundtruth(ds->train, ds->n_train, ds->test, ds->n_test, ds->dim, ds->metric, k,
                         (int)threads, ds->neighbors, ds->distances);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }

    /* A cheap independent check before anything is written. */
    {
        pqe_validate_options vo = pqe_validate_options_default();
        vo.check_groundtruth = true;
        vo.sample_queries = 5;
        if ((st = pqe_dataset_validate(ds, &vo, NULL)) != PQE_OK) {
            rc = pqe_cli_fail(st);
            goto cleanup;
        }
    }
    if ((st = pqe_hdf5_write(ds, output)) != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    pqe_cli_info("wrote %s", output);

cleanup:
    pqe_dataset_free(ds);
    return rc;
}
