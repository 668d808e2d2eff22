/* fuzz_hdf5.c - libFuzzer harness for the ann-benchmarks HDF5 loader and
 * the validation behind it.
 *
 * The input does not become the HDF5 file's bytes: libhdf5 itself is not
 * ours to fuzz (and is not instrumented).  It describes a file instead:
 * which of train, test, learn, neighbors, distances exist, their rank,
 * shape and stored type, the metric attribute, and the raw bytes of their
 * values (so NaN, infinities, huge ids and negative ids all occur).  The
 * file is written with libhdf5 and opened with pqe_dataset_load, ground
 * truth recomputation included; a loaded dataset then goes through
 * pqe_groundtruth under every metric.
 *
 * Depends on: io.h, groundtruth.h; libhdf5; fuzz_common.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fuzz_common.h"
#include "pqeval/groundtruth.h"
#include "pqeval/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor;

static uint8_t take(cursor *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

static void quiet(void)
{
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

/* One dataset described by the input. */
static void put(hid_t fid, const char *name, cursor *c)
{
    hid_t type;
    hsize_t dims[3];
    int rank = take(c) % 3 + 1;
    size_t count = 1, esize;
    uint8_t *buf;
    hid_t space, dset;

    /* The native types are run-time values in HDF5, not constants. */
    switch (take(c) % 6) {
    case 0:
        type = H5T_NATIVE_FLOAT;
        break;
    case 1:
        type = H5T_NATIVE_DOUBLE;
        break;
    case 2:
        type = H5T_NATIVE_UINT8;
        break;
    case 3:
        type = H5T_NATIVE_INT32;
        break;
    case 4:
        type = H5T_NATIVE_INT64;
        break;
    default:
        type = H5T_NATIVE_INT16;
        break;
    }
    for (int r = 0; r < rank; r++) {
        dims[r] = take(c) % 7;
        count *= dims[r];
    }
    esize = H5Tget_size(type);
    buf = calloc(count + 1, esize);
    if (!buf)
        return;
    for (size_t i = 0; i < count * esize; i++)
        buf[i] = take(c);
    space = H5Screate_simple(rank, dims, NULL);
    dset = H5Dcreate2(fid, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset >= 0) {
        if (count)
            H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        H5Dclose(dset);
    }
    H5Sclose(space);
    free(buf);
}

static void put_metric(hid_t fid, uint8_t choice)
{
    static const char *names[5] = {"euclidean", "angular", "dot", "hamming", ""};
    const char *value = names[choice % 5];
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), attr;
    H5Tset_size(type, strlen(value) + 1);
    attr = H5Acreate2(fid, "distance", type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0) {
        H5Awrite(attr, type, value);
        H5Aclose(attr);
    }
    H5Sclose(space);
    H5Tclose(type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *parts[5] = {"train", "test", "learn", "neighbors", "distances"};
    cursor c = {data, size};
    uint8_t flags = take(&c), metric = take(&c);
    const char *path = fuzz_path(".hdf5");
    pqe_load_options lo = pqe_load_options_default();
    pqe_dataset *ds = NULL;
    hid_t fid;

    quiet();
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (fid < 0)
        return 0;
    if (flags & 0x20)
        put_metric(fid, metric);
    for (int p = 0; p < 5; p++) {
        if (flags & (1u << p))
            put(fid, parts[p], &c);
    }
    H5Fclose(fid);

    lo.check_groundtruth = (flags & 0x40) != 0;
    lo.metric_given = (flags & 0x80) != 0;
    lo.metric = (pqe_metric)(metric % 3);
    if (pqe_dataset_load(path, &lo, &ds) == PQE_OK) {
        size_t k = ds->n_train < 3 ? ds->n_train : 3;
        int32_t *ids = malloc(ds->n_test * k * sizeof *ids + 1);
        float *dist = malloc(ds->n_test * k * sizeof *dist + 1);
        for (int m = 0; m < 3 && ids && dist; m++)
            (void)pqe_groundtruth(ds->train, ds->n_train, ds->test, ds->n_test, ds->dim,
                                  (pqe_metric)m, k, 1, ids, dist);
        free(ids);
        free(dist);
        pqe_dataset_free(ds);
    }
    remove(path);
    return 0;
}
