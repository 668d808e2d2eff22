/* io_hdf5.c - the ann-benchmarks HDF5 layout: reading any numeric element
 * type into float32 through HDF5's own conversion, by row ranges
 * (hyperslabs) in blocks, and writing the layout atomically.
 *
 * The layout (ann-benchmarks, datasets.py): 2-D datasets train, test,
 * neighbors, distances, and the file attribute distance; pqeval adds an
 * optional learn.  h5py writes string attributes as variable-length
 * strings; fixed-length ones are read too.
 *
 * HDF5's automatic error printing is switched off: every failure is turned
 * into a pqe_fail message instead, since the library never prints.
 *
 * Depends on: io.h, io_internal.h, atomic_file.h, util.h; libhdf5.
 */
#include "pqeval/io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "io_internal.h"
#include "pqeval/atomic_file.h"
#include "util.h"

/* Elements per H5Dread call: bounds HDF5's conversion work per call. */
enum { BLOCK_ELEMENTS = 1 << 22 };

static void hdf5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Opens path read-only, saying whether it is missing or not HDF5. */
static pqe_status open_file(const char *path, hid_t *fid)
{
    FILE *fp;
    htri_t is;
    struct stat sb;

    hdf5_quiet();
    fp = fopen(path, "rb");
    if (!fp)
        return pqe_fail(PQE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(fp);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return pqe_fail(PQE_ERR_IO, "%s: is a directory, not an HDF5 file", path);
    is = H5Fis_hdf5(path);
    if (is <= 0)
        return pqe_fail(PQE_ERR_FORMAT, "%s: not an HDF5 file", path);
    *fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*fid < 0)
        return pqe_fail(PQE_ERR_FORMAT, "%s: HDF5 cannot open it", path);
    return PQE_OK;
}

/* "float32", "uint8", ... for an HDF5 numeric type; false if not numeric. */
static bool type_name(hid_t type, char name[16])
{
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);

    if (cls == H5T_FLOAT) {
        snprintf(name, 16, "float%zu", 8 * size);
        return true;
    }
    if (cls == H5T_INTEGER) {
        snprintf(name, 16, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
        return true;
    }
    snprintf(name, 16, "class%d", (int)cls);
    return false;
}

static bool has_dataset(hid_t fid, const char *name)
{
    return H5Lexists(fid, name, H5P_DEFAULT) > 0;
}

/* Shape of dataset name in an open file; is_integer tells its class. */
static pqe_status info_open(const char *path, hid_t fid, const char *name, pqe_array_info *out,
                            bool *is_integer)
{
    pqe_status st = PQE_OK;
    hid_t dset = -1, space = -1, type = -1;
    hsize_t dims[H5S_MAX_RANK];
    int rank;

    memset(out, 0, sizeof *out);
    out->format = PQE_FORMAT_HDF5;
    if (!has_dataset(fid, name))
        return pqe_fail(PQE_ERR_FORMAT, "%s: no dataset '%s'", path, name);
    dset = H5Dopen2(fid, name, H5P_DEFAULT);
    if (dset < 0) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: '%s' is not a dataset", path, name);
        goto cleanup;
    }
    space = H5Dget_space(dset);
    type = H5Dget_type(dset);
    if (space < 0 || type < 0) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: cannot read the shape of '%s'", path, name);
        goto cleanup;
    }
    rank = H5Sget_simple_extent_ndims(space);
    if (rank != 2) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: '%s' is %d-D, expected a 2-D array (rows x dimension)",
                      path, name, rank);
        goto cleanup;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (dims[0] > SIZE_MAX || dims[1] > SIZE_MAX) {
        st = pqe_fail(PQE_ERR_OVERFLOW, "%s: '%s' has %llu x %llu elements, too many", path, name,
                      (unsigned long long)dims[0], (unsigned long long)dims[1]);
        goto cleanup;
    }
    out->rows = (size_t)dims[0];
    out->cols = (size_t)dims[1];
    if (!type_name(type, out->element_type)) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: '%s' is not numeric (HDF5 type class %d)", path, name,
                      (int)H5Tget_class(type));
        goto cleanup;
    }
    if (is_integer)
        *is_integer = H5Tget_class(type) == H5T_INTEGER;

cleanup:
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (dset >= 0)
        H5Dclose(dset);
    return st;
}

pqe_status pqe_hdf5_array_info(const char *path, const char *name, pqe_array_info *out)
{
    hid_t fid;
    pqe_status st = open_file(path, &fid);
    if (st != PQE_OK)
        return st;
    st = info_open(path, fid, name, out, NULL);
    H5Fclose(fid);
    return st;
}

/* Reads rows [begin, begin + n) of name into out, converted to mem_type. */
static pqe_status read_rows_open(const char *path, hid_t fid, const char *name, size_t begin,
                                 size_t n, hid_t mem_type, size_t elem_size, void *out)
{
    pqe_status st = PQE_OK;
    pqe_array_info info;
    hid_t dset = -1, fspace = -1, mspace = -1;
    size_t block_rows, end;

    if ((st = info_open(path, fid, name, &info, NULL)) != PQE_OK)
        return st;
    if (__builtin_add_overflow(begin, n, &end) || end > info.rows)
        return pqe_fail(PQE_ERR_PARAM, "%s: rows %zu..%zu of '%s' requested, it has %zu", path,
                        begin, begin + n, name, info.rows);
    if (n == 0 || info.cols == 0)
        return PQE_OK;
    if (!pqe_mul_ok(n, info.cols, &end) || !pqe_mul_ok(end, elem_size, &end))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: %zu x %zu elements of '%s' overflow", path, n,
                        info.cols, name);
    block_rows = BLOCK_ELEMENTS / info.cols;
    if (block_rows == 0)
        block_rows = 1;

    dset = H5Dopen2(fid, name, H5P_DEFAULT);
    fspace = dset >= 0 ? H5Dget_space(dset) : -1;
    if (fspace < 0) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: cannot open '%s'", path, name);
        goto cleanup;
    }
    for (size_t r = 0; r < n; r += block_rows) {
        size_t nr = n - r < block_rows ? n - r : block_rows;
        hsize_t start[2] = {(hsize_t)(begin + r), 0};
        hsize_t count[2] = {(hsize_t)nr, (hsize_t)info.cols};

        mspace = H5Screate_simple(2, count, NULL);
        if (mspace < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: cannot select rows of '%s'", path, name);
            goto cleanup;
        }
        if (H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT,
                    (char *)out + r * info.cols * elem_size) < 0) {
            st = pqe_fail(PQE_ERR_FORMAT,
                          "%s: cannot read rows %zu..%zu of '%s' (damaged file or a filter "
                          "libhdf5 lacks)",
                          path, begin + r, begin + r + nr, name);
            goto cleanup;
        }
        H5Sclose(mspace);
        mspace = -1;
    }

cleanup:
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (dset >= 0)
        H5Dclose(dset);
    return st;
}

pqe_status pqe_hdf5_read_rows(const char *path, const char *name, size_t begin, size_t n,
                              float *out)
{
    hid_t fid;
    pqe_status st = open_file(path, &fid);
    if (st != PQE_OK)
        return st;
    st = read_rows_open(path, fid, name, begin, n, H5T_NATIVE_FLOAT, sizeof(float), out);
    H5Fclose(fid);
    return st;
}

pqe_status pqe_hdf5_read_rows_int32(const char *path, const char *name, size_t begin, size_t n,
                                    int32_t *out)
{
    hid_t fid;
    pqe_status st = open_file(path, &fid);
    if (st != PQE_OK)
        return st;
    st = read_rows_open(path, fid, name, begin, n, H5T_NATIVE_INT32, sizeof(int32_t), out);
    H5Fclose(fid);
    return st;
}

/* Reads a string attribute of the root group into buf; false if absent. */
static pqe_status read_string_attr(const char *path, hid_t fid, const char *attr_name, char *buf,
                                   size_t buf_size, bool *found)
{
    pqe_status st = PQE_OK;
    hid_t attr = -1, type = -1, mem = -1;

    *found = false;
    buf[0] = '\0';
    if (H5Aexists(fid, attr_name) <= 0)
        return PQE_OK;
    attr = H5Aopen(fid, attr_name, H5P_DEFAULT);
    type = attr >= 0 ? H5Aget_type(attr) : -1;
    if (type < 0 || H5Tget_class(type) != H5T_STRING) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: attribute '%s' is not a string", path, attr_name);
        goto cleanup;
    }
    if (H5Tis_variable_str(type) > 0) {
        char *s = NULL;
        mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, H5T_VARIABLE);
        H5Tset_cset(mem, H5Tget_cset(type));
        if (H5Aread(attr, mem, &s) < 0 || !s) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: cannot read attribute '%s'", path, attr_name);
            goto cleanup;
        }
        snprintf(buf, buf_size, "%s", s);
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(type);
        char *s = calloc(size + 1, 1);
        if (!s) {
            st = pqe_fail(PQE_ERR_NOMEM, "%s: attribute '%s'", path, attr_name);
            goto cleanup;
        }
        mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, size + 1);
        H5Tset_strpad(mem, H5T_STR_NULLTERM);
        if (H5Aread(attr, mem, s) < 0) {
            free(s);
            st = pqe_fail(PQE_ERR_FORMAT, "%s: cannot read attribute '%s'", path, attr_name);
            goto cleanup;
        }
        snprintf(buf, buf_size, "%s", s);
        free(s);
    }
    *found = true;

cleanup:
    if (mem >= 0)
        H5Tclose(mem);
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return st;
}

static pqe_status metric_open(const char *path, hid_t fid, pqe_metric *out)
{
    char text[64];
    bool found;
    pqe_status st = read_string_attr(path, fid, "distance", text, sizeof text, &found);
    if (st != PQE_OK)
        return st;
    if (!found)
        return pqe_fail(PQE_ERR_FORMAT,
                        "%s: no 'distance' attribute (euclidean, angular or dot); give the "
                        "metric explicitly",
                        path);
    if (pqe_metric_parse(text, out) != PQE_OK)
        return pqe_fail(PQE_ERR_UNSUPPORTED,
                        "%s: distance '%s' is not supported (euclidean, angular or dot)", path,
                        text);
    return PQE_OK;
}

pqe_status pqe_hdf5_read_metric(const char *path, pqe_metric *out)
{
    hid_t fid;
    pqe_status st = open_file(path, &fid);
    if (st != PQE_OK)
        return st;
    st = metric_open(path, fid, out);
    H5Fclose(fid);
    return st;
}

/* Allocates and reads a whole float part. */
static pqe_status read_part(const char *path, hid_t fid, const char *name,
                            const pqe_array_info *info, float **out)
{
    size_t count;
    if (!pqe_mul_ok(info->rows, info->cols, &count))
        return pqe_fail(PQE_ERR_OVERFLOW, "%s: '%s' has %zu x %zu elements, too many", path, name,
                        info->rows, info->cols);
    *out = pqe_alloc_array(count, sizeof(float), name);
    if (!*out)
        return pqe_fail_context(pqe_alloc_status(), "%s", path);
    return read_rows_open(path, fid, name, 0, info->rows, H5T_NATIVE_FLOAT, sizeof(float), *out);
}

pqe_status pqe_hdf5_load_into(const char *path, const pqe_load_options *opt, pqe_dataset *ds)
{
    pqe_status st = PQE_OK;
    hid_t fid = -1;
    pqe_array_info train, test, learn, nbr, dist;
    bool nbr_integer = false, have_learn, have_nbr, have_dist;
    const char *parts[3] = {"train", "test", "learn"};
    const pqe_array_info *infos[3] = {&train, &test, &learn};

    if ((st = open_file(path, &fid)) != PQE_OK)
        return st;

    /* Shapes first: everything is checked before anything large is read. */
    if (!has_dataset(fid, "train") || !has_dataset(fid, "test")) {
        st = pqe_fail(PQE_ERR_FORMAT,
                      "%s: no dataset '%s' (an ann-benchmarks file has train, test, neighbors, "
                      "distances)",
                      path, has_dataset(fid, "train") ? "test" : "train");
        goto cleanup;
    }
    if ((st = info_open(path, fid, "train", &train, NULL)) != PQE_OK ||
        (st = info_open(path, fid, "test", &test, NULL)) != PQE_OK)
        goto cleanup;
    have_learn = opt->load_learn && has_dataset(fid, "learn");
    if (have_learn && (st = info_open(path, fid, "learn", &learn, NULL)) != PQE_OK)
        goto cleanup;
    for (int p = 0; p < (have_learn ? 3 : 2); p++) {
        if (infos[p]->rows == 0 || infos[p]->cols == 0) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: '%s' is empty (%zu x %zu)", path, parts[p],
                          infos[p]->rows, infos[p]->cols);
            goto cleanup;
        }
        if (infos[p]->cols != train.cols) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: '%s' has dimension %zu but 'train' has %zu", path,
                          parts[p], infos[p]->cols, train.cols);
            goto cleanup;
        }
    }
    if (train.cols > PQE_MAX_DIM) {
        st = pqe_fail(PQE_ERR_FORMAT, "%s: dimension %zu is implausible (more than %d)", path,
                      train.cols, PQE_MAX_DIM);
        goto cleanup;
    }
    have_nbr = has_dataset(fid, "neighbors");
    have_dist = has_dataset(fid, "distances");
    if (have_nbr) {
        if ((st = info_open(path, fid, "neighbors", &nbr, &nbr_integer)) != PQE_OK)
            goto cleanup;
        if (!nbr_integer) {
            st = pqe_fail(PQE_ERR_FORMAT, "%s: 'neighbors' holds %s values, expected integer ids",
                          path, nbr.element_type);
            goto cleanup;
        }
        if (nbr.rows != test.rows || nbr.cols == 0) {
            st = pqe_fail(PQE_ERR_FORMAT,
                          "%s: 'neighbors' is %zu x %zu but 'test' has %zu rows (expected %zu x k, "
                          "k >= 1)",
                          path, nbr.rows, nbr.cols, test.rows, test.rows);
            goto cleanup;
        }
    }
    if (have_dist) {
        if ((st = info_open(path, fid, "distances", &dist, NULL)) != PQE_OK)
            goto cleanup;
        if (!have_nbr) {
            pqe_log(PQE_LOG_WARN, "%s: 'distances' without 'neighbors' is ignored", path);
            have_dist = false;
        } else if (dist.rows != nbr.rows || dist.cols != nbr.cols) {
            st = pqe_fail(PQE_ERR_FORMAT,
                          "%s: 'distances' is %zu x %zu but 'neighbors' is %zu x %zu", path,
                          dist.rows, dist.cols, nbr.rows, nbr.cols);
            goto cleanup;
        }
    }
    if (opt->metric_given) {
        ds->metric = opt->metric;
    } else if ((st = metric_open(path, fid, &ds->metric)) != PQE_OK) {
        goto cleanup;
    }

    /* Element type: said once if it is converted. */
    snprintf(ds->element_type, sizeof ds->element_type, "%s", train.element_type);
    if (strcmp(train.element_type, "float32") != 0)
        pqe_log(PQE_LOG_INFO, "%s: vectors stored as %s, read as float32 through HDF5's conversion",
                path, train.element_type);

    /* The data. */
    ds->dim = train.cols;
    ds->n_train = train.rows;
    ds->n_test = test.rows;
    if ((st = read_part(path, fid, "train", &train, &ds->train)) != PQE_OK ||
        (st = read_part(path, fid, "test", &test, &ds->test)) != PQE_OK)
        goto cleanup;
    if (have_learn) {
        ds->n_learn = learn.rows;
        if ((st = read_part(path, fid, "learn", &learn, &ds->learn)) != PQE_OK)
            goto cleanup;
    }
    if (have_nbr) {
        ds->gt_k = nbr.cols;
        size_t count;
        if (!pqe_mul_ok(nbr.rows, nbr.cols, &count)) {
            st = pqe_fail(PQE_ERR_OVERFLOW, "%s: 'neighbors' is too large", path);
            goto cleanup;
        }
        ds->neighbors = pqe_alloc_array(count, sizeof(int32_t), "neighbors");
        if (!ds->neighbors) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        st = read_rows_open(path, fid, "neighbors", 0, nbr.rows, H5T_NATIVE_INT32, sizeof(int32_t),
                            ds->neighbors);
        if (st != PQE_OK)
            goto cleanup;
    }
    if (have_dist) {
        if ((st = read_part(path, fid, "distances", &dist, &ds->distances)) != PQE_OK)
            goto cleanup;
    }

cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    return st;
}

/* Writes one 2-D dataset of n x cols elements of mem_type. */
static pqe_status write_array(const char *path, hid_t fid, const char *name, hid_t file_type,
                              hid_t mem_type, const void *data, size_t n, size_t cols)
{
    pqe_status st = PQE_OK;
    hsize_t dims[2] = {(hsize_t)n, (hsize_t)cols};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dset = -1;

    /* No modification times in the object headers: the same dataset gives
     * the same bytes, so a prepared file has a reproducible checksum. */
    if (dcpl >= 0)
        H5Pset_obj_track_times(dcpl, 0);
    if (space < 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot describe '%s' (%zu x %zu)", path, name, n, cols);
        goto cleanup;
    }
    dset = H5Dcreate2(fid, name, file_type, space, H5P_DEFAULT, dcpl >= 0 ? dcpl : H5P_DEFAULT,
                      H5P_DEFAULT);
    if (dset < 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: cannot create '%s'", path, name);
        goto cleanup;
    }
    if (n > 0 && cols > 0 && H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = pqe_fail(PQE_ERR_IO, "%s: cannot write '%s' (disk full?)", path, name);

cleanup:
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* A variable-length UTF-8 string attribute, as h5py writes them. */
static pqe_status write_string_attr(const char *path, hid_t fid, const char *name,
                                    const char *value)
{
    pqe_status st = PQE_OK;
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), attr = -1;

    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    attr = H5Acreate2(fid, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, type, &value) < 0)
        st = pqe_fail(PQE_ERR_IO, "%s: cannot write attribute '%s'", path, name);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return st;
}

static pqe_status write_int_attr(const char *path, hid_t fid, const char *name, long long value)
{
    pqe_status st = PQE_OK;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(fid, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, H5T_NATIVE_LLONG, &value) < 0)
        st = pqe_fail(PQE_ERR_IO, "%s: cannot write attribute '%s'", path, name);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return st;
}

pqe_status pqe_hdf5_write(const pqe_dataset *ds, const char *path)
{
    pqe_status st = PQE_OK;
    char *tmp = NULL;
    hid_t fid = -1;

    if (!ds->train || !ds->test || ds->dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "%s: a dataset needs train and test vectors to be written",
                        path);
    hdf5_quiet();
    if ((st = pqe_atomic_temp_name(path, &tmp)) != PQE_OK)
        return st;
    fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (fid < 0) {
        st = pqe_fail(PQE_ERR_IO, "%s: HDF5 cannot create it", tmp);
        goto cleanup;
    }
    if ((st = write_string_attr(path, fid, "distance", pqe_metric_name(ds->metric))) != PQE_OK ||
        (st = write_string_attr(path, fid, "type", "dense")) != PQE_OK ||
        (st = write_string_attr(path, fid, "point_type", "float")) != PQE_OK ||
        (st = write_int_attr(path, fid, "dimension", (long long)ds->dim)) != PQE_OK)
        goto cleanup;
    if ((st = write_array(path, fid, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->train,
                          ds->n_train, ds->dim)) != PQE_OK ||
        (st = write_array(path, fid, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->test, ds->n_test,
                          ds->dim)) != PQE_OK)
        goto cleanup;
    if (ds->learn && (st = write_array(path, fid, "learn", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                       ds->learn, ds->n_learn, ds->dim)) != PQE_OK)
        goto cleanup;
    if (ds->neighbors && (st = write_array(path, fid, "neighbors", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                           ds->neighbors, ds->n_test, ds->gt_k)) != PQE_OK)
        goto cleanup;
    if (ds->neighbors && ds->distances &&
        (st = write_array(path, fid, "distances", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, ds->distances,
                          ds->n_test, ds->gt_k)) != PQE_OK)
        goto cleanup;
    if (H5Fclose(fid) < 0) {
        fid = -1;
        st = pqe_fail(PQE_ERR_IO, "%s: HDF5 cannot finish it (disk full?)", tmp);
        goto cleanup;
    }
    fid = -1;
    st = pqe_atomic_rename(tmp, path);

cleanup:
    if (fid >= 0)
        H5Fclose(fid);
    if (st != PQE_OK && tmp)
        remove(tmp);
    free(tmp);
    return st;
}
