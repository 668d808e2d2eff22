/* cmd_convert.c - 'pqeval convert IN... OUT': between ann-benchmarks HDF5,
 * texmex and IDX files.
 *
 * Three shapes of conversion, chosen by the names:
 *  1. dataset to dataset: IN is an .hdf5 file or a texmex X_base.fvecs /
 *     X_base.bvecs (its siblings come along), OUT likewise.  The dataset is
 *     validated on the way; missing distances are rebuilt from the ids.
 *  2. parts to dataset: several IN files (texmex or IDX) whose names say
 *     their role (base/train, query/test/t10k, learn, groundtruth) into one
 *     OUT .hdf5.
 *  3. array to array: one IN array (.fvecs, .bvecs, .ivecs, IDX, or one
 *     part of an .hdf5 chosen with --part) into one OUT array file.
 * Texmex -> HDF5 -> texmex gives back the same bytes: uint8 values survive
 * float32 exactly, and .bvecs output refuses values that are not 0..255.
 *
 * Depends on: cli.h; io.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pqeval/io.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pqeval convert [OPTIONS] IN... OUT\n\n"
            "Converts between ann-benchmarks HDF5, texmex (.fvecs .ivecs .bvecs) and IDX files:\n"
            "  pqeval convert sift_base.fvecs sift.hdf5       texmex family -> one HDF5 file\n"
            "  pqeval convert sift.hdf5 out/sift_base.fvecs   HDF5 -> texmex family\n"
            "  pqeval convert a_base.bvecs a_query.bvecs a_groundtruth.ivecs a.hdf5\n"
            "                                                 named parts -> one HDF5 file\n"
            "  pqeval convert --part test x.hdf5 q.fvecs      one array -> another format\n"
            "A texmex dataset is named by its base file X_base.fvecs or X_base.bvecs; its\n"
            "X_query, X_learn and X_groundtruth.ivecs sit beside it.\n\n"
            "  --metric M      metric of texmex/IDX input (default euclidean)\n"
            "  --part NAME     the HDF5 dataset to extract for an array output (default train)\n");
}

enum role { ROLE_BASE, ROLE_QUERY, ROLE_LEARN, ROLE_GT, ROLE_NONE };

static enum role role_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (strstr(name, "groundtruth") || strstr(name, "neighbors"))
        return ROLE_GT;
    if (strstr(name, "learn"))
        return ROLE_LEARN;
    if (strstr(name, "query") || strstr(name, "test") || strstr(name, "t10k"))
        return ROLE_QUERY;
    if (strstr(name, "base") || strstr(name, "train"))
        return ROLE_BASE;
    return ROLE_NONE;
}

static bool is_texmex_base(const char *path)
{
    size_t len = strlen(path);
    return len >= 11 &&
           (!strcmp(path + len - 11, "_base.fvecs") || !strcmp(path + len - 11, "_base.bvecs"));
}

static bool is_dataset_name(const char *path)
{
    return pqe_format_from_name(path) == PQE_FORMAT_HDF5 || is_texmex_base(path);
}

/* Reads a whole float array from an xvecs, IDX or HDF5 (part) file. */
static pqe_status read_floats(const char *path, const char *part, pqe_array_info *info, float **out)
{
    pqe_format f = pqe_format_from_name(path);
    pqe_status st;
    size_t count;

    *out = NULL;
    if (f == PQE_FORMAT_IDX)
        return pqe_idx_read(path, info, out);
    if (f == PQE_FORMAT_HDF5)
        st = pqe_hdf5_array_info(path, part, info);
    else if (f == PQE_FORMAT_FVECS || f == PQE_FORMAT_BVECS)
        st = pqe_xvecs_info(path, info);
    else
        return pqe_fail(PQE_ERR_PARAM, "%s: not a vector file (.fvecs, .bvecs, IDX or .hdf5)",
                        path);
    if (st != PQE_OK)
        return st;
    if (info->cols && (count = info->rows * info->cols) / info->cols != info->rows)
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu overflows", path, info->rows, info->cols);
    count = info->rows * info->cols;
    *out = malloc((count ? count : 1) * sizeof **out);
    if (!*out)
        return pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate %zu values", path, count);
    st = f == PQE_FORMAT_HDF5 ? pqe_hdf5_read_rows(path, part, 0, info->rows, *out)
                              : pqe_xvecs_read_rows(path, 0, info->rows, *out);
    if (st != PQE_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* Writes a float array in the format OUT's name says. */
static pqe_status write_floats(const char *path, const float *x, size_t n, size_t dim)
{
    pqe_format f = pqe_format_from_name(path);
    if (f == PQE_FORMAT_FVECS || f == PQE_FORMAT_BVECS)
        return pqe_xvecs_write(path, x, n, dim);
    if (f == PQE_FORMAT_IDX)
        return pqe_idx_write(path, x, n, dim, strstr(path, "ubyte") == NULL);
    return pqe_fail(PQE_ERR_PARAM,
                    "%s: an array is written as .fvecs, .bvecs or IDX (*-ubyte[.gz], .idx[.gz])",
                    path);
}

/* Shape 3: one array into another format. */
static int convert_array(const char *in, const char *out, const char *part)
{
    pqe_array_info info;
    pqe_status st;
    float *x = NULL;

    if (pqe_format_from_name(out) == PQE_FORMAT_IVECS) {
        /* Integer ids: from an .ivecs file only (HDF5 neighbours via a dataset). */
        if (pqe_format_from_name(in) != PQE_FORMAT_IVECS)
            return pqe_cli_error("convert: %s: .ivecs output needs .ivecs input (ground truth "
                                 "moves with its dataset: convert X.hdf5 X_base.fvecs)",
                                 out);
        int32_t *ids;
        if ((st = pqe_xvecs_info(in, &info)) != PQE_OK)
            return pqe_cli_fail(st);
        ids = malloc((info.rows * info.cols > 0 ? info.rows * info.cols : 1) * sizeof *ids);
        if (!ids)
            return pqe_cli_error("convert: cannot allocate %zu ids", info.rows * info.cols);
        st = pqe_ivecs_read_rows(in, 0, info.rows, ids);
        if (st == PQE_OK)
            st = pqe_ivecs_write(out, ids, info.rows, info.cols);
        free(ids);
        return st == PQE_OK ? PQE_EXIT_OK : pqe_cli_fail(st);
    }
    if ((st = read_floats(in, part, &info, &x)) != PQE_OK)
        return pqe_cli_fail(st);
    st = write_floats(out, x, info.rows, info.cols);
    free(x);
    if (st != PQE_OK)
        return pqe_cli_fail(st);
    pqe_cli_info("wrote %s (%zu x %zu)", out, info.rows, info.cols);
    return PQE_EXIT_OK;
}

/* Shape 2: named parts into one HDF5 file. */
static int convert_parts(char **ins, int n_in, const char *out, const pqe_load_options *lo)
{
    pqe_dataset *ds = pqe_dataset_new();
    const char *seen[ROLE_NONE] = {NULL, NULL, NULL, NULL};
    pqe_status st = PQE_OK;
    size_t gt_rows = 0;
    int rc = PQE_EXIT_OK;

    if (!ds)
        return pqe_cli_fail(PQE_ERR_NOMEM);
    ds->metric = lo->metric;
    for (int i = 0; i < n_in; i++) {
        enum role r = role_of(ins[i]);
        pqe_array_info info;
        if (r == ROLE_NONE) {
            rc = pqe_cli_error("convert: %s: cannot tell its role from the name (base/train, "
                               "query/test, learn, groundtruth)",
                               ins[i]);
            goto cleanup;
        }
        if (seen[r]) {
            rc = pqe_cli_error("convert: %s and %s have the same role", seen[r], ins[i]);
            goto cleanup;
        }
        seen[r] = ins[i];
        if (r == ROLE_GT) {
            size_t count;
            if ((st = pqe_xvecs_info(ins[i], &info)) != PQE_OK)
                break;
            if (info.format != PQE_FORMAT_IVECS) {
                rc = pqe_cli_error("convert: %s: ground truth must be an .ivecs file", ins[i]);
                goto cleanup;
            }
            count = info.rows * info.cols;
            ds->neighbors = malloc((count ? count : 1) * sizeof *ds->neighbors);
            if (!ds->neighbors) {
                st = pqe_fail(PQE_ERR_NOMEM, "%s: cannot allocate %zu ids", ins[i], count);
                break;
            }
            ds->gt_k = info.cols;
            gt_rows = info.rows;
            if ((st = pqe_ivecs_read_rows(ins[i], 0, info.rows, ds->neighbors)) != PQE_OK)
                break;
            continue;
        }
        float **dst = r == ROLE_BASE ? &ds->train : r == ROLE_QUERY ? &ds->test : &ds->learn;
        size_t *n = r == ROLE_BASE ? &ds->n_train : r == ROLE_QUERY ? &ds->n_test : &ds->n_learn;
        if ((st = read_floats(ins[i], "train", &info, dst)) != PQE_OK)
            break;
        if (ds->dim && info.cols != ds->dim) {
            rc = pqe_cli_error("convert: %s has dimension %zu but %s has %zu", ins[i], info.cols,
                               ins[0], ds->dim);
            goto cleanup;
        }
        ds->dim = info.cols;
        *n = info.rows;
        if (r == ROLE_BASE)
            snprintf(ds->element_type, sizeof ds->element_type, "%s", info.element_type);
    }
    if (st != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    if (!seen[ROLE_BASE] || !seen[ROLE_QUERY]) {
        rc = pqe_cli_error("convert: a dataset needs a base and a query file (got %s)",
                           seen[ROLE_BASE] ? "no query" : "no base");
        goto cleanup;
    }
    if (ds->neighbors && gt_rows != ds->n_test) {
        rc = pqe_cli_error("convert: %s has %zu rows but %s has %zu queries", seen[ROLE_GT],
                           gt_rows, seen[ROLE_QUERY], ds->n_test);
        goto cleanup;
    }
    if (ds->neighbors && (st = pqe_dataset_rebuild_distances(ds)) != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    if ((st = pqe_dataset_validate(ds, NULL, NULL)) != PQE_OK ||
        (st = pqe_dataset_save(ds, out)) != PQE_OK) {
        rc = pqe_cli_fail(st);
        goto cleanup;
    }
    pqe_cli_info("wrote %s", out);

cleanup:
    pqe_dataset_free(ds);
    return rc;
}

int pqe_cmd_convert(int argc, char **argv)
{
    pqe_load_options lo = pqe_load_options_default();
    const char *part = "train";
    char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0, rc;

    if (!files)
        return pqe_cli_error("convert: out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(files);
            return PQE_EXIT_OK;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "--verbose")) {
            continue;
        } else if (!strcmp(a, "--metric") || !strcmp(a, "--part")) {
            if (i + 1 >= argc) {
                free(files);
                return pqe_cli_error("convert: %s needs a value", a);
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--part")) {
                part = v;
            } else if (pqe_metric_parse(v, &lo.metric) != PQE_OK) {
                free(files);
                return pqe_cli_error("convert: %s", pqe_last_error());
            } else {
                lo.metric_given = true;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            usage(stderr);
            free(files);
            return pqe_cli_error("convert: unknown option '%s'", a);
        } else {
            files[n_files++] = argv[i];
        }
    }
    if (n_files < 2) {
        usage(stderr);
        free(files);
        return pqe_cli_error("convert: need at least one input and one output");
    }

    const char *out = files[n_files - 1];
    if (!pqe_cli_check_output("convert: output", out, NULL, 0)) {
        free(files);
        return PQE_EXIT_USAGE;
    }
    if (n_files > 2) {
        if (pqe_format_from_name(out) != PQE_FORMAT_HDF5 && !is_texmex_base(out))
            rc = pqe_cli_error("convert: several inputs go into one dataset: name the output "
                               "X.hdf5 or X_base.fvecs/.bvecs, not %s",
                               out);
        else
            rc = convert_parts(files, n_files - 1, out, &lo);
    } else if (is_dataset_name(files[0]) && is_dataset_name(out)) {
        pqe_dataset *ds = NULL;
        pqe_status st = pqe_dataset_load(files[0], &lo, &ds);
        if (st == PQE_OK)
            st = pqe_dataset_save(ds, out);
        rc = st == PQE_OK ? PQE_EXIT_OK : pqe_cli_fail(st);
        if (st == PQE_OK)
            pqe_cli_info("wrote %s", out);
        pqe_dataset_free(ds);
    } else if (is_dataset_name(out)) {
        rc = pqe_cli_error("convert: %s is a dataset name but %s is a single array: give the "
                           "base and query files (and ground truth) together",
                           out, files[0]);
    } else {
        rc = convert_array(files[0], out, part);
    }
    free(files);
    return rc;
}
