/* cmd_train.c - 'pqeval train': trains one quantizer on a dataset and saves
 * it, so that a baseline codebook can be reused.
 *
 * Training vectors: the dataset's learn part if it has one, else its train
 * part (the base, in ann-benchmarks' naming); --n-train keeps the first N.
 * Angular data are normalised to unit length first (the quantizer
 * interface expects that of its caller).  The result is saved with
 * pqe_quantizer_save (our format for pq/opq-p/opq-np, FAISS's write_index
 * for faiss:STRING) and summarised on stdout: name, code size, training
 * distortion.
 *
 * Depends on: cli.h, io.h (pqe_dataset_load), quantizer.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "pqeval/io.h"
#include "pqeval/quantizer.h"

enum { DISTORTION_BLOCK = 4096 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval train DATASET --method METHOD [-M N] [--nbits B] --output FILE\n"
            "                    [OPTIONS]\n\n"
            "Trains one quantizer on DATASET (its learn vectors if it has them, else its\n"
            "base vectors) and saves it to FILE.\n\n"
            "  --method METHOD    pq, opq-p, opq-np, or faiss:STRING for a FAISS\n"
            "                     index_factory string (e.g. faiss:OPQ16,PQ16np; search\n"
            "                     parameters may follow '|': faiss:IVF256,PQ16np|nprobe=16)\n"
            "  -M N               subspaces (required for pq/opq-*; must divide the dimension)\n"
            "  --nbits B          bits per subspace index, 1..16 (default 8)\n"
            "  --seed S           seed of every random choice (default 1234; FAISS uses its own)\n"
            "  --output FILE      where to save the quantizer (required)\n"
            "  --n-train N        train on the first N vectors only (default all)\n"
            "  --kmeans-iters N   k-means iterations (default 25)\n"
            "  --max-points-per-centroid N  k-means subsampling, 0 = none (default 256)\n"
            "  --opq-outer N      opq-np: Procrustes updates (default 25)\n"
            "  --opq-inner N      opq-np: k-means iterations per update (default 4)\n"
            "  --opq-start S      opq-np: identity (default) or parametric\n"
            "  --threads N        OpenMP threads, 0 = default\n"
            "  --metric M         metric of texmex files (default euclidean)\n\n"
            "exit status: 0 saved, 2 usage or input error\n");
}

typedef struct train_options {
    const char *dataset;
    const char *method;
    const char *output;
    size_t n_sub;
    unsigned nbits;
    unsigned long long seed;
    size_t n_train;
    unsigned kmeans_iters, opq_outer, opq_inner;
    size_t max_points;
    pqe_opq_start opq_start;
    unsigned threads;
    bool metric_given;
    pqe_metric metric;
} train_options;

/* Parses the command line into o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, train_options *o)
{
    memset(o, 0, sizeof *o);
    o->nbits = 8;
    o->seed = 1234;
    o->kmeans_iters = PQE_KMEANS_ITERS_DEFAULT;
    o->opq_outer = PQE_OPQ_OUTER_ITERS_DEFAULT;
    o->opq_inner = PQE_OPQ_INNER_ITERS_DEFAULT;
    o->max_points = PQE_KMEANS_MAX_POINTS_PER_CENTROID;
    o->opq_start = PQE_OPQ_START_IDENTITY;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;

        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose"))
            continue;
        if (a[0] != '-') {
            if (o->dataset)
                return pqe_cli_error("train: more than one dataset given ('%s' and '%s')",
                                     o->dataset, a);
            o->dataset = a;
            continue;
        }
        if (!v) {
            static const char *const known[] = {"--method",
                                                "--output",
                                                "-o",
                                                "-M",
                                                "--n-sub",
                                                "--nbits",
                                                "--seed",
                                                "--n-train",
                                                "--kmeans-iters",
                                                "--max-points-per-centroid",
                                                "--opq-outer",
                                                "--opq-inner",
                                                "--opq-start",
                                                "--threads",
                                                "--metric"};
            for (size_t k = 0; k < sizeof known / sizeof *known; k++)
                if (!strcmp(a, known[k]))
                    return pqe_cli_error("train: option %s needs a value", a);
            usage(stderr);
            return pqe_cli_error("train: unknown option '%s'", a);
        }
        if (!strcmp(a, "--method")) {
            o->method = v;
        } else if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
            o->output = v;
        } else if (!strcmp(a, "-M") || !strcmp(a, "--n-sub")) {
            if (!pqe_cli_parse_size(a, v, &o->n_sub))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--nbits")) {
            if (!pqe_cli_parse_uint(a, v, &o->nbits))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (!pqe_cli_parse_u64(a, v, &o->seed))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--n-train")) {
            if (!pqe_cli_parse_size(a, v, &o->n_train))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--kmeans-iters")) {
            if (!pqe_cli_parse_uint(a, v, &o->kmeans_iters))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--max-points-per-centroid")) {
            if (!pqe_cli_parse_size(a, v, &o->max_points))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--opq-outer")) {
            if (!pqe_cli_parse_uint(a, v, &o->opq_outer))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--opq-inner")) {
            if (!pqe_cli_parse_uint(a, v, &o->opq_inner))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--opq-start")) {
            if (!strcmp(v, "identity"))
                o->opq_start = PQE_OPQ_START_IDENTITY;
            else if (!strcmp(v, "parametric"))
                o->opq_start = PQE_OPQ_START_PARAMETRIC;
            else
                return pqe_cli_error("%s: expected identity or parametric, not '%s'", a, v);
        } else if (!strcmp(a, "--threads")) {
            if (!pqe_cli_parse_uint(a, v, &o->threads))
                return PQE_EXIT_USAGE;
        } else if (!strcmp(a, "--metric")) {
            if (pqe_metric_parse(v, &o->metric) != PQE_OK)
                return pqe_cli_error("%s: %s", a, pqe_last_error());
            o->metric_given = true;
        } else {
            takes_value = false;
        }
        if (!takes_value) {
            usage(stderr);
            return pqe_cli_error("train: unknown option '%s'", a);
        }
        i++;
    }

    if (!o->dataset) {
        usage(stderr);
        return pqe_cli_error("train: no dataset given");
    }
    if (!o->method)
        return pqe_cli_error("train: --method is required (pq, opq-p, opq-np or faiss:STRING)");
    if (!o->output)
        return pqe_cli_error("train: --output is required");
    if (strncmp(o->method, "faiss:", 6) != 0) {
        pqe_rotation r;
        if (pqe_rotation_parse(o->method, &r) != PQE_OK)
            return pqe_cli_error("train: --method: %s, or faiss:STRING", pqe_last_error());
        if (o->n_sub == 0)
            return pqe_cli_error("train: -M is required for --method %s", o->method);
    } else if (o->method[6] == '\0') {
        return pqe_cli_error("train: --method faiss: needs an index_factory string, e.g. "
                             "faiss:PQ16np");
    }
    if (o->threads > 1024)
        return pqe_cli_error("--threads: %u is too many", o->threads);
    return -1;
}

/* Unit length for angular data (zero rows stay zero). */
static void normalise_rows(float *x, size_t n, size_t dim)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < dim; j++)
            s += (double)x[i * dim + j] * x[i * dim + j];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (size_t j = 0; j < dim; j++)
                x[i * dim + j] *= inv;
        }
    }
}

/* Mean squared error per vector of x against its reconstruction, and the
 * mean squared norm. */
static pqe_status training_distortion(const pqe_quantizer *q, const float *x, size_t n, size_t dim,
                                      double *mse, double *mean_sq_norm)
{
    pqe_status st = PQE_OK;
    float *rec = malloc((size_t)DISTORTION_BLOCK * dim * sizeof *rec);
    double err = 0, norm = 0;

    if (!rec)
        return pqe_fail(PQE_ERR_NOMEM, "train: cannot allocate a block of %d vectors",
                        DISTORTION_BLOCK);
    for (size_t start = 0; st == PQE_OK && start < n; start += DISTORTION_BLOCK) {
        size_t rows = n - start < DISTORTION_BLOCK ? n - start : DISTORTION_BLOCK;
        st = pqe_quantizer_reconstruct(q, x + start * dim, rows, rec);
        for (size_t i = 0; st == PQE_OK && i < rows * dim; i++) {
            double v = x[start * dim + i], diff = v - rec[i];
            err += diff * diff;
            norm += v * v;
        }
    }
    free(rec);
    *mse = n ? err / (double)n : 0;
    *mean_sq_norm = n ? norm / (double)n : 0;
    return st;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

int pqe_cmd_train(int argc, char **argv)
{
    train_options o;
    pqe_load_options lo = pqe_load_options_default();
    pqe_dataset *ds = NULL;
    pqe_quantizer *q = NULL;
    pqe_status st;
    float *x = NULL;
    const float *source;
    size_t n, available;
    double mse = 0, norm = 0, secs;
    struct timespec t0;
    int rc = parse_args(argc, argv, &o);

    if (rc >= 0)
        return rc;
    {
        const char *inputs[1] = {o.dataset};
        if (!pqe_cli_check_output("train: --output", o.output, inputs, 1))
            return PQE_EXIT_USAGE;
    }
    lo.validate = false;
    lo.checksum = false;
    lo.metric_given = o.metric_given;
    lo.metric = o.metric;
    st = pqe_dataset_load(o.dataset, &lo, &ds);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }

    /* The training vectors: learn if present, else the base. */
    source = ds->learn ? ds->learn : ds->train;
    available = ds->learn ? ds->n_learn : ds->n_train;
    n = o.n_train && o.n_train < available ? o.n_train : available;
    if (n == 0) {
        rc = pqe_cli_error("%s: no training vectors", o.dataset);
        goto cleanup;
    }
    x = malloc(n * ds->dim * sizeof *x);
    if (!x) {
        rc = pqe_cli_error("train: cannot allocate %zu x %zu training vectors", n, ds->dim);
        goto cleanup;
    }
    memcpy(x, source, n * ds->dim * sizeof *x);
    if (ds->metric == PQE_METRIC_ANGULAR)
        normalise_rows(x, n, ds->dim);

    if (!strncmp(o.method, "faiss:", 6)) {
        st = pqe_quantizer_new_faiss(o.method + 6, ds->dim, ds->metric, (int)o.threads, &q);
    } else {
        pqe_quantizer_config c = pqe_quantizer_config_default(ds->dim, o.n_sub, o.nbits);
        pqe_rotation_parse(o.method, &c.rotation);
        c.metric = ds->metric;
        c.seed = o.seed;
        c.kmeans_iters = o.kmeans_iters;
        c.max_points_per_centroid = o.max_points;
        c.opq_outer_iters = o.opq_outer;
        c.opq_inner_iters = o.opq_inner;
        c.opq_start = o.opq_start;
        c.n_threads = (int)o.threads;
        st = pqe_quantizer_new(&c, &q);
    }
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }

    pqe_cli_info("training %s on %zu %s vectors of %s (dimension %zu)", pqe_quantizer_name(q), n,
                 ds->learn ? "learn" : "base", o.dataset, ds->dim);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = pqe_quantizer_train(q, x, n);
    secs = seconds_since(&t0);
    if (st == PQE_OK)
        st = training_distortion(q, x, n, ds->dim, &mse, &norm);
    if (st == PQE_OK)
        st = pqe_quantizer_save(q, o.output);
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }

    printf("quantizer %s\n", pqe_quantizer_name(q));
    printf("code size %g bits (%zu bytes as encoded)\n", pqe_quantizer_code_bits(q),
           pqe_quantizer_code_bytes(q));
    printf("training vectors %zu; training time %.2f s\n", n, secs);
    printf("training distortion %.6g (relative %.6g)\n", mse, norm > 0 ? mse / norm : 0.0);
    printf("saved to %s\n", o.output);
    rc = PQE_EXIT_OK;

cleanup:
    free(x);
    pqe_quantizer_free(q);
    pqe_dataset_free(ds);
    return rc;
}
