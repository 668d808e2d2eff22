/* cmd_info.c - 'pqeval info FILE...': what a dataset file holds and what is
 * wrong with it.
 *
 * For a dataset (ann-benchmarks .hdf5, or a texmex X_base.fvecs/.bvecs with
 * its siblings): format, shapes, element type, metric, checksum, a norm
 * summary per part, zero rows, non-finite values, duplicate rows (sampled on
 * large parts), whether stored distances follow the declared metric, and
 * whether the stored top-k agrees with an exact recomputation on sampled
 * queries.  For a single array file (.fvecs, .ivecs, .bvecs, IDX): its shape
 * and the same summary.
 *
 * Exit status: 0 all files fine, 1 a finding (non-finite values, distances
 * or neighbours that disagree), 2 a file that cannot be read.
 *
 * Depends on: cli.h; io.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/io.h"

typedef struct info_options {
    size_t sample_pairs;
    size_t sample_queries;
    size_t dup_sample;
    uint64_t seed;
    bool check_groundtruth;
    bool metric_given;
    pqe_metric metric;
} info_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval info [OPTIONS] FILE...\n\n"
            "Describes dataset files: format, shapes, element type, metric, norms, zero rows,\n"
            "non-finite values, duplicate rows, and whether the stored ground truth agrees\n"
            "with a recomputation on a sample.  FILE is an ann-benchmarks .hdf5 file, a texmex\n"
            "X_base.fvecs/.bvecs (with X_query, X_learn, X_groundtruth.ivecs beside it), or a\n"
            "single .fvecs/.ivecs/.bvecs/IDX file.\n\n"
            "  --pairs N        stored distances checked (default 1000)\n"
            "  --queries N      queries whose top-k is recomputed (default 20; 0 skips)\n"
            "  --dup-sample N   rows examined for duplicates (default 1000000)\n"
            "  --seed S         seed of the samples (default 1)\n"
            "  --metric M       metric of texmex files (default euclidean)\n\n"
            "exit status: 0 fine, 1 a finding (non-finite values, ground truth that\n"
            "disagrees), 2 a file that cannot be read\n");
}

static void print_summary(const char *part, const pqe_part_summary *s)
{
    printf("  %-6s %zu x %zu; norms min %.6g mean %.6g max %.6g; zero rows %zu; non-finite %zu",
           part, s->rows, s->cols, s->norm_min, s->norm_mean, s->norm_max, s->zero_rows,
           s->nonfinite);
    if (s->nonfinite)
        printf(" (first at row %zu column %zu)", s->nonfinite_row, s->nonfinite_col);
    printf("; duplicate rows %zu", s->duplicates);
    if (s->dup_examined < s->rows)
        printf(" (among %zu sampled rows)", s->dup_examined);
    printf("\n");
}

/* Summarises one part; returns 1 if it holds non-finite values. */
static int summarize_part(const char *part, const float *x, size_t n, size_t dim,
                          const info_options *o)
{
    pqe_part_summary s;
    pqe_status st = pqe_summarize(x, n, dim, o->dup_sample, o->seed, &s);
    if (st != PQE_OK)
        return pqe_cli_fail(st);
    print_summary(part, &s);
    return s.nonfinite ? PQE_EXIT_FAIL : PQE_EXIT_OK;
}

static int info_dataset(const char *path, const info_options *o)
{
    pqe_load_options lo = pqe_load_options_default();
    pqe_validate_options vo = pqe_validate_options_default();
    pqe_validate_report rep;
    pqe_dataset *ds = NULL;
    pqe_status st;
    int rc = PQE_EXIT_OK, r;

    lo.validate = false;
    lo.rebuild_distances = false;
    lo.metric_given = o->metric_given;
    lo.metric = o->metric;
    if ((st = pqe_dataset_load(path, &lo, &ds)) != PQE_OK)
        return pqe_cli_fail(st);

    printf("%s\n", path);
    printf("  format %s; metric %s; element type %s; dimension %zu\n",
           pqe_format_name(pqe_format_from_name(path)), pqe_metric_name(ds->metric),
           ds->element_type, ds->dim);
    printf("  sha256 %s\n", ds->checksum);
    if ((r = summarize_part("train", ds->train, ds->n_train, ds->dim, o)) != 0)
        rc = r;
    if ((r = summarize_part("test", ds->test, ds->n_test, ds->dim, o)) != 0)
        rc = r;
    if (ds->learn && (r = summarize_part("learn", ds->learn, ds->n_learn, ds->dim, o)) != 0)
        rc = r;
    if (!ds->neighbors)
        printf("  ground truth: none (pqeval groundtruth computes it)\n");
    else
        printf("  ground truth: top-%zu of %zu queries, distances %s\n", ds->gt_k, ds->n_test,
               ds->distances ? "stored" : "absent (rebuilt when the dataset is opened)");

    vo.allow_nonfinite = true;
    vo.sample_pairs = o->sample_pairs;
    vo.sample_queries = o->sample_queries;
    vo.check_groundtruth = o->check_groundtruth && ds->neighbors && o->sample_queries > 0;
    vo.seed = o->seed;
    st = pqe_dataset_validate(ds, &vo, &rep);
    if (ds->metric == PQE_METRIC_ANGULAR && (rep.zero_rows[0] || rep.zero_rows[1]))
        printf("  zero vectors under the angular metric: distance 1 to everything\n");
    if (st != PQE_OK) {
        printf("  check failed: %s\n", pqe_last_error());
        pqe_cli_error("%s", pqe_last_error());
        rc = st == PQE_ERR_DATA ? PQE_EXIT_FAIL : PQE_EXIT_USAGE;
    } else if (ds->neighbors) {
        if (rep.pairs_checked)
            printf("  distances: agree with a recomputation on %zu sampled pairs (largest "
                   "relative difference %.3g)\n",
                   rep.pairs_checked, rep.max_distance_error);
        if (rep.queries_checked)
            printf("  neighbours: agree with an exact recomputation on %zu sampled queries\n",
                   rep.queries_checked);
        else if (rep.nonfinite)
            printf("  neighbours: not checked (non-finite values)\n");
    }
    if (rep.nonfinite) {
        pqe_cli_error("%s: %zu non-finite values; the first is in '%s' row %zu column %zu", path,
                      rep.nonfinite, rep.nonfinite_part, rep.nonfinite_row, rep.nonfinite_col);
        rc = PQE_EXIT_FAIL;
    }
    pqe_dataset_free(ds);
    return rc;
}

/* A single array file: xvecs (not a texmex base) or IDX. */
static int info_array(const char *path, pqe_format format, const info_options *o)
{
    pqe_array_info info;
    pqe_status st;
    float *x = NULL;
    int rc;

    if (format == PQE_FORMAT_IDX) {
        st = pqe_idx_read(path, &info, &x);
    } else {
        st = pqe_xvecs_info(path, &info);
        if (st == PQE_OK) {
            size_t count = info.rows * info.cols;
            if (info.cols && count / info.cols != info.rows)
                return pqe_cli_error("%s: %zu x %zu overflows", path, info.rows, info.cols);
            if (format == PQE_FORMAT_IVECS) {
                printf("%s\n  format ivecs; element type int32; %zu x %zu\n", path, info.rows,
                       info.cols);
                return PQE_EXIT_OK;
            }
            x = malloc((count ? count : 1) * sizeof *x);
            if (!x)
                return pqe_cli_error("%s: cannot allocate %zu values", path, count);
            st = pqe_xvecs_read_rows(path, 0, info.rows, x);
        }
    }
    if (st != PQE_OK) {
        free(x);
        return pqe_cli_fail(st);
    }
    printf("%s\n  format %s; element type %s; %zu x %zu\n", path, pqe_format_name(format),
           info.element_type, info.rows, info.cols);
    rc = summarize_part("rows", x, info.rows, info.cols, o);
    free(x);
    return rc;
}

static bool is_texmex_base(const char *path)
{
    size_t len = strlen(path);
    return (len >= 11 && !strcmp(path + len - 11, "_base.fvecs")) ||
           (len >= 11 && !strcmp(path + len - 11, "_base.bvecs"));
}

int pqe_cmd_info(int argc, char **argv)
{
    info_options o = {1000, 20, 1000000, 1, true, false, PQE_METRIC_EUCLIDEAN};
    int rc = PQE_EXIT_OK, n_files = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PQE_EXIT_OK;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose"))
            continue;
        if (!strcmp(a, "--pairs") || !strcmp(a, "--queries") || !strcmp(a, "--dup-sample") ||
            !strcmp(a, "--seed") || !strcmp(a, "--metric")) {
            unsigned long long seed;
            if (i + 1 >= argc)
                return pqe_cli_error("info: %s needs a value", a);
            const char *v = argv[++i];
            if ((!strcmp(a, "--pairs") && !pqe_cli_parse_size(a, v, &o.sample_pairs)) ||
                (!strcmp(a, "--queries") && !pqe_cli_parse_size(a, v, &o.sample_queries)) ||
                (!strcmp(a, "--dup-sample") && !pqe_cli_parse_size(a, v, &o.dup_sample)))
                return PQE_EXIT_USAGE;
            if (!strcmp(a, "--seed")) {
                if (!pqe_cli_parse_u64(a, v, &seed))
                    return PQE_EXIT_USAGE;
                o.seed = seed;
            }
            if (!strcmp(a, "--metric")) {
                if (pqe_metric_parse(v, &o.metric) != PQE_OK)
                    return pqe_cli_error("info: %s", pqe_last_error());
                o.metric_given = true;
            }
            continue;
        }
        if (a[0] == '-' && a[1] != '\0') {
            usage(stderr);
            return pqe_cli_error("info: unknown option '%s'", a);
        }
    }
    o.check_groundtruth = o.sample_queries > 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        pqe_format format;
        int r;
        if (a[0] == '-') {
            if (strcmp(a, "--quiet") && strcmp(a, "--verbose") && strcmp(a, "--help"))
                i++; /* an option's value */
            continue;
        }
        n_files++;
        format = pqe_format_from_name(a);
        if (format == PQE_FORMAT_HDF5 || is_texmex_base(a))
            r = info_dataset(a, &o);
        else if (format != PQE_FORMAT_UNKNOWN)
            r = info_array(a, format, &o);
        else
            r = pqe_cli_error("%s: unknown format (expected .hdf5, .fvecs, .ivecs, .bvecs or an "
                              "IDX file such as train-images-idx3-ubyte.gz)",
                              a);
        /* The worst outcome decides: input error (2) over finding (1). */
        if (r > rc)
            rc = r;
        fflush(stdout);
    }
    if (n_files == 0) {
        usage(stderr);
        return pqe_cli_error("info: no file given");
    }
    return rc;
}
