/* dataset_load.c - opening a whole evaluation dataset (ann-benchmarks HDF5
 * or a texmex family of files) and writing one back.
 *
 * A texmex dataset is named by its base file X_base.fvecs or X_base.bvecs;
 * X_query (same extension) must sit beside it, X_learn and
 * X_groundtruth.ivecs may.  Texmex files carry no metric: euclidean unless
 * the caller says otherwise, and no distances: they are rebuilt from the
 * neighbour ids when asked (ann-benchmarks conventions, groundtruth.h).
 *
 * Depends on: io.h, io_internal.h, groundtruth.h, util.h.
 */
#include "pqeval/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io_internal.h"
#include "pqeval/groundtruth.h"
#include "util.h"

pqe_load_options pqe_load_options_default(void)
{
    pqe_load_options o;
    memset(&o, 0, sizeof o);
    o.load_learn = true;
    o.validate = true;
    o.check_groundtruth = false;
    o.rebuild_distances = true;
    o.checksum = true;
    o.metric_given = false;
    o.metric = PQE_METRIC_EUCLIDEAN;
    o.sample_pairs = 1000;
    o.sample_queries = 20;
    o.seed = 1;
    return o;
}

const char *pqe_format_name(pqe_format format)
{
    switch (format) {
    case PQE_FORMAT_HDF5:
        return "hdf5";
    case PQE_FORMAT_FVECS:
        return "fvecs";
    case PQE_FORMAT_IVECS:
        return "ivecs";
    case PQE_FORMAT_BVECS:
        return "bvecs";
    case PQE_FORMAT_IDX:
        return "idx";
    case PQE_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

bool pqe_has_suffix(const char *path, const char *suffix)
{
    size_t lp = strlen(path), ls = strlen(suffix);
    return lp >= ls && !strcmp(path + lp - ls, suffix);
}

pqe_format pqe_format_from_name(const char *path)
{
    if (pqe_has_suffix(path, ".hdf5") || pqe_has_suffix(path, ".h5"))
        return PQE_FORMAT_HDF5;
    if (pqe_has_suffix(path, ".fvecs"))
        return PQE_FORMAT_FVECS;
    if (pqe_has_suffix(path, ".ivecs"))
        return PQE_FORMAT_IVECS;
    if (pqe_has_suffix(path, ".bvecs"))
        return PQE_FORMAT_BVECS;
    if (pqe_has_suffix(path, "-ubyte") || pqe_has_suffix(path, "-ubyte.gz") ||
        pqe_has_suffix(path, ".idx") || pqe_has_suffix(path, ".idx.gz"))
        return PQE_FORMAT_IDX;
    return PQE_FORMAT_UNKNOWN;
}

pqe_status pqe_file_size(const char *path, uint64_t *out)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return pqe_fail(PQE_ERR_IO, "%s: not a regular file", path);
    *out = (uint64_t)sb.st_size;
    return PQE_OK;
}

char *pqe_replace_suffix(const char *path, const char *old_suffix, const char *new_suffix)
{
    size_t lp = strlen(path), lo = strlen(old_suffix), ln = strlen(new_suffix);
    char *s;
    if (lo > lp)
        lo = 0;
    s = malloc(lp - lo + ln + 1);
    if (!s) {
        pqe_fail(PQE_ERR_NOMEM, "cannot allocate a file name");
        return NULL;
    }
    memcpy(s, path, lp - lo);
    memcpy(s + lp - lo, new_suffix, ln + 1);
    return s;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The file stem: "sift" for ".../sift_base.fvecs", "x" for ".../x.hdf5". */
static char *stem_of(const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t len = strlen(base), ls = strlen(suffix);
    char *s;
    if (ls <= len && !strcmp(base + len - ls, suffix))
        len -= ls;
    s = malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = '\0';
    }
    return s;
}

/* Reads a whole fvecs/bvecs part; checks its dimension against dim (0 = any). */
static pqe_status read_xvecs_part(const char *path, const char *part, size_t *dim, float **out,
                                  size_t *n_out, char element_type[16])
{
    pqe_array_info info;
    pqe_status st = pqe_xvecs_shape(path, &info);
    size_t count;

    if (st != PQE_OK)
        return st;
    if (info.format == PQE_FORMAT_IVECS)
        return pqe_fail(PQE_ERR_FORMAT, "%s: the %s vectors must be .fvecs or .bvecs", path, part);
    if (*dim != 0 && info.cols != *dim)
        return pqe_fail(PQE_ERR_FORMAT, "%s: %s vectors have dimension %zu but the base has %zu",
                        path, part, info.cols, *dim);
    if (!pqe_mul_ok(info.rows, info.cols, &count))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu overflows", path, info.rows, info.cols);
    *out = pqe_alloc_array(count, sizeof(float), part);
    if (!*out)
        return pqe_fail_context(pqe_alloc_status(), "%s", path);
    *n_out = info.rows;
    *dim = info.cols;
    if (element_type)
        snprintf(element_type, 16, "%s", info.element_type);
    return pqe_xvecs_read_rows(path, 0, info.rows, *out);
}

static pqe_status load_texmex(const char *path, const pqe_load_options *opt, pqe_dataset *ds,
                              char **files, size_t *n_files)
{
    pqe_status st = PQE_OK;
    const char *ext = pqe_has_suffix(path, ".bvecs") ? ".bvecs" : ".fvecs";
    char base_suffix[16], query_suffix[16], learn_suffix[16];
    char *query = NULL, *learn = NULL, *gt = NULL;
    size_t dim = 0;

    snprintf(base_suffix, sizeof base_suffix, "_base%s", ext);
    snprintf(query_suffix, sizeof query_suffix, "_query%s", ext);
    snprintf(learn_suffix, sizeof learn_suffix, "_learn%s", ext);
    if (!pqe_has_suffix(path, base_suffix))
        return pqe_fail(PQE_ERR_PARAM,
                        "%s: a texmex dataset is opened by its base file, named X_base.fvecs or "
                        "X_base.bvecs (with X_query beside it)",
                        path);
    query = pqe_replace_suffix(path, base_suffix, query_suffix);
    learn = pqe_replace_suffix(path, base_suffix, learn_suffix);
    gt = pqe_replace_suffix(path, base_suffix, "_groundtruth.ivecs");
    if (!query || !learn || !gt) {
        st = PQE_ERR_NOMEM;
        goto cleanup;
    }
    if (!file_exists(path)) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!file_exists(query)) {
        st = pqe_fail(PQE_ERR_IO, "%s: no query file %s beside it", path, query);
        goto cleanup;
    }

    ds->metric = opt->metric_given ? opt->metric : PQE_METRIC_EUCLIDEAN;
    files[(*n_files)++] = strdup(path);
    if ((st = read_xvecs_part(path, "base", &dim, &ds->train, &ds->n_train, ds->element_type)) !=
        PQE_OK)
        goto cleanup;
    ds->dim = dim;
    files[(*n_files)++] = strdup(query);
    if ((st = read_xvecs_part(query, "query", &dim, &ds->test, &ds->n_test, NULL)) != PQE_OK)
        goto cleanup;
    if (opt->load_learn && file_exists(learn)) {
        files[(*n_files)++] = strdup(learn);
        if ((st = read_xvecs_part(learn, "learn", &dim, &ds->learn, &ds->n_learn, NULL)) != PQE_OK)
            goto cleanup;
    }
    if (file_exists(gt)) {
        pqe_array_info info;
        size_t count;
        files[(*n_files)++] = strdup(gt);
        if ((st = pqe_xvecs_shape(gt, &info)) != PQE_OK)
            goto cleanup;
        if (info.rows != ds->n_test) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: %zu ground-truth rows but %zu queries", gt,
                          info.rows, ds->n_test);
            goto cleanup;
        }
        if (!pqe_mul_ok(info.rows, info.cols, &count)) {
            st = pqe_fail(PQE_ERR_OVERFLOW, "%s: too large", gt);
            goto cleanup;
        }
        ds->neighbors = pqe_alloc_array(count, sizeof(int32_t), "neighbors");
        if (!ds->neighbors) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        ds->gt_k = info.cols;
        if ((st = pqe_ivecs_read_rows(gt, 0, info.rows, ds->neighbors)) != PQE_OK)
            goto cleanup;
    }
    for (size_t i = 0; i < *n_files; i++) {
        if (!files[i]) {
            st = pqe_fail(PQE_ERR_NOMEM, "cannot allocate a file name");
            goto cleanup;
        }
    }

cleanup:
    free(query);
    free(learn);
    free(gt);
    return st;
}

/* Checks neighbour ids before distances are rebuilt from them. */
static pqe_status check_neighbor_range(const pqe_dataset *ds)
{
    for (size_t i = 0; i < ds->n_test; i++) {
        for (size_t j = 0; j < ds->gt_k; j++) {
            int32_t id = ds->neighbors[i * ds->gt_k + j];
            if (id < 0 || (size_t)id >= ds->n_train)
                return pqe_fail(PQE_ERR_DATA,
                                "%s: neighbour id %d of query %zu (rank %zu) is out of range "
                                "(the base has %zu vectors)",
                                ds->path ? ds->path : "dataset", (int)id, i, j, ds->n_train);
        }
    }
    return PQE_OK;
}

pqe_status pqe_dataset_rebuild_distances(pqe_dataset *ds)
{
    size_t count;
    float *d;
    pqe_status st;

    if (!ds->neighbors || ds->gt_k == 0)
        return pqe_fail(PQE_ERR_PARAM, "no neighbours to rebuild distances from");
    if ((st = check_neighbor_range(ds)) != PQE_OK)
        return st;
    if (!pqe_mul_ok(ds->n_test, ds->gt_k, &count))
        return pqe_fail(PQE_ERR_OVERFLOW, "%zu x %zu distances overflow", ds->n_test, ds->gt_k);
    d = pqe_alloc_array(count, sizeof *d, "distances");
    if (!d)
        return pqe_alloc_status();
    for (size_t i = 0; i < ds->n_test; i++) {
        for (size_t j = 0; j < ds->gt_k; j++) {
            size_t id = (size_t)ds->neighbors[i * ds->gt_k + j];
            d[i * ds->gt_k + j] = (float)pqe_metric_distance(
                ds->test + i * ds->dim, ds->train + id * ds->dim, ds->dim, ds->metric);
        }
    }
    free(ds->distances);
    ds->distances = d;
    return PQE_OK;
}

pqe_status pqe_dataset_load(const char *path, const pqe_load_options *opt, pqe_dataset **out)
{
    pqe_status st = PQE_OK;
    pqe_load_options defaults = pqe_load_options_default();
    pqe_dataset *ds = NULL;
    char *files[4] = {NULL, NULL, NULL, NULL};
    size_t n_files = 0;
    pqe_format format;

    *out = NULL;
    if (!opt)
        opt = &defaults;
    if (!path)
        return pqe_fail(PQE_ERR_PARAM, "no dataset path given");
    format = pqe_format_from_name(path);
    ds = pqe_dataset_new();
    if (!ds)
        return PQE_ERR_NOMEM;
    ds->path = strdup(path);
    if (!ds->path) {
        st = pqe_fail(PQE_ERR_NOMEM, "cannot allocate a file name");
        goto cleanup;
    }

    switch (format) {
    case PQE_FORMAT_HDF5:
        ds->name = stem_of(path, pqe_has_suffix(path, ".h5") ? ".h5" : ".hdf5");
        files[n_files++] = strdup(path);
        if (!files[0]) {
            st = pqe_fail(PQE_ERR_NOMEM, "cannot allocate a file name");
            goto cleanup;
        }
        st = pqe_hdf5_load_into(path, opt, ds);
        break;
    case PQE_FORMAT_FVECS:
    case PQE_FORMAT_BVECS:
        ds->name = stem_of(path, pqe_has_suffix(path, ".bvecs") ? "_base.bvecs" : "_base.fvecs");
        st = load_texmex(path, opt, ds, files, &n_files);
        break;
    default:
        st = pqe_fail(PQE_ERR_PARAM,
                      "%s: not a dataset name pqeval can open (an ann-benchmarks .hdf5 file or a "
                      "texmex X_base.fvecs / X_base.bvecs)",
                      path);
        break;
    }
    if (st != PQE_OK)
        goto cleanup;

    /* Missing distances are rebuilt from the neighbour ids. */
    if (ds->neighbors && !ds->distances && opt->rebuild_distances) {
        if ((st = pqe_dataset_rebuild_distances(ds)) != PQE_OK)
            goto cleanup;
        pqe_log(PQE_LOG_INFO, "%s: ground-truth distances rebuilt from the neighbour ids (%s)",
                path, pqe_metric_name(ds->metric));
    }
    if (opt->checksum &&
        (st = pqe_sha256_files((const char *const *)files, n_files, ds->checksum)) != PQE_OK)
        goto cleanup;
    if (opt->validate) {
        pqe_validate_options vo = pqe_validate_options_default();
        vo.check_groundtruth = opt->check_groundtruth;
        vo.sample_pairs = opt->sample_pairs;
        vo.sample_queries = opt->sample_queries;
        vo.seed = opt->seed;
        if ((st = pqe_dataset_validate(ds, &vo, NULL)) != PQE_OK)
            goto cleanup;
    }
    *out = ds;
    ds = NULL;

cleanup:
    for (size_t i = 0; i < n_files; i++)
        free(files[i]);
    pqe_dataset_free(ds);
    return st;
}

pqe_status pqe_dataset_save(const pqe_dataset *ds, const char *path)
{
    pqe_status st = PQE_OK;
    const char *ext;
    char base_suffix[16];
    char *name = NULL;

    if (pqe_format_from_name(path) == PQE_FORMAT_HDF5)
        return pqe_hdf5_write(ds, path);
    ext = pqe_has_suffix(path, ".bvecs") ? ".bvecs" : ".fvecs";
    snprintf(base_suffix, sizeof base_suffix, "_base%s", ext);
    if (!pqe_has_suffix(path, base_suffix))
        return pqe_fail(PQE_ERR_PARAM,
                        "%s: write a dataset to X.hdf5, or to texmex files named by their base "
                        "X_base.fvecs or X_base.bvecs",
                        path);
    if ((st = pqe_xvecs_write(path, ds->train, ds->n_train, ds->dim)) != PQE_OK)
        return st;
    {
        char query_suffix[16];
        snprintf(query_suffix, sizeof query_suffix, "_query%s", ext);
        if (!(name = pqe_replace_suffix(path, base_suffix, query_suffix)))
            return PQE_ERR_NOMEM;
        st = pqe_xvecs_write(name, ds->test, ds->n_test, ds->dim);
        free(name);
        if (st != PQE_OK)
            return st;
    }
    if (ds->learn) {
        char learn_suffix[16];
        snprintf(learn_suffix, sizeof learn_suffix, "_learn%s", ext);
        if (!(name = pqe_replace_suffix(path, base_suffix, learn_suffix)))
            return PQE_ERR_NOMEM;
        st = pqe_xvecs_write(name, ds->learn, ds->n_learn, ds->dim);
        free(name);
        if (st != PQE_OK)
            return st;
    }
    if (ds->neighbors) {
        if (!(name = pqe_replace_suffix(path, base_suffix, "_groundtruth.ivecs")))
            return PQE_ERR_NOMEM;
        st = pqe_ivecs_write(name, ds->neighbors, ds->n_test, ds->gt_k);
        free(name);
    }
    return st;
}
