/* test_io.c - the dataset readers, writers and validation: round trips,
 * row ranges, HDF5 type conversion, the real SIFT set in both forms, and
 * every bad input of the issue, each checked for its status and message.
 *
 * Bad files are written by the tests themselves into PQEVAL_TEST_TMP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <zlib.h>

#include "pqeval/groundtruth.h"
#include "pqeval/io.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmp_dir[4096];

static const char *tmp_path(const char *name)
{
    static char buf[8][4200];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/io_%s", tmp_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (n)
        assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Asserts a failure with the given status whose message contains want. */
static void expect_fail(pqe_status got, pqe_status want_status, const char *want)
{
    const char *msg = pqe_last_error();
    if (got != want_status || !strstr(msg, want)) {
        print_error("expected status %d with '%s', got %d: %s\n", want_status, want, got, msg);
        fail();
    }
}

static int log_count;
static char last_log[1024];

static void count_log(pqe_log_level level, const char *message, void *user)
{
    (void)user;
    if (level >= PQE_LOG_INFO) {
        log_count++;
        snprintf(last_log, sizeof last_log, "%s", message);
    }
}

/* An xvecs record stream: n records of dim values of esize bytes. */
static unsigned char *make_xvecs(size_t n, int32_t dim, size_t esize, size_t *bytes)
{
    size_t rec = 4 + (size_t)dim * esize;
    unsigned char *b = calloc(n, rec);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        memcpy(b + i * rec, &dim, 4);
        for (int32_t j = 0; j < dim; j++) {
            if (esize == 1) {
                b[i * rec + 4 + (size_t)j] = (unsigned char)(i * 7 + (size_t)j);
            } else {
                float v = (float)(i * 10 + (size_t)j) + 0.5f;
                memcpy(b + i * rec + 4 + (size_t)j * 4, &v, 4);
            }
        }
    }
    *bytes = n * rec;
    return b;
}

/* HDF5 fixture: a 2-D (or rank-1) dataset of the given type. */
static void h5_put(hid_t fid, const char *name, hid_t file_type, hid_t mem_type, int rank,
                   size_t rows, size_t cols, const void *data)
{
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dset = H5Dcreate2(fid, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dset >= 0);
    if (rows * (rank == 2 ? cols : 1) > 0)
        assert_true(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(dset);
    H5Sclose(space);
}

static void h5_attr(hid_t fid, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, strlen(value) + 1);
    hid_t attr = H5Acreate2(fid, "distance", type, space, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(attr >= 0);
    assert_true(H5Awrite(attr, type, value) >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
}

/* A small consistent euclidean dataset: 20 base, 5 queries, dim 4, k 3. */
typedef struct small_ds {
    float train[20 * 4];
    float test[5 * 4];
    int32_t nbr[5 * 3];
    float dist[5 * 3];
} small_ds;

static void small_fill(small_ds *s, pqe_metric metric)
{
    for (size_t i = 0; i < 20 * 4; i++)
        s->train[i] = (float)((i * 37) % 11) - 3.0f;
    for (size_t i = 0; i < 5 * 4; i++)
        s->test[i] = (float)((i * 13) % 7) - 2.0f;
    assert_int_equal(pqe_groundtruth(s->train, 20, s->test, 5, 4, metric, 3, 1, s->nbr, s->dist),
                     PQE_OK);
}

static const char *small_h5(const char *name, const small_ds *s, const char *metric, int with_test,
                            size_t test_dim)
{
    const char *path = tmp_path(name);
    hid_t fid;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(fid >= 0);
    if (metric)
        h5_attr(fid, metric);
    h5_put(fid, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 20, 4, s->train);
    if (with_test)
        h5_put(fid, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 20 / test_dim, test_dim, s->test);
    h5_put(fid, "neighbors", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, 5, 3, s->nbr);
    h5_put(fid, "distances", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 5, 3, s->dist);
    H5Fclose(fid);
    return path;
}

/* ---- texmex -------------------------------------------------------------- */

static void xvecs_round_trip_and_ranges(void **state)
{
    (void)state;
    size_t bytes;
    unsigned char *b = make_xvecs(9, 5, 4, &bytes);
    const char *in = tmp_path("rt_a.fvecs"), *out = tmp_path("rt_b.fvecs");
    pqe_array_info info;
    float x[9 * 5], part[3 * 5];

    write_bytes(in, b, bytes);
    assert_int_equal(pqe_xvecs_info(in, &info), PQE_OK);
    assert_int_equal(info.rows, 9);
    assert_int_equal(info.cols, 5);
    assert_string_equal(info.element_type, "float32");
    assert_int_equal(pqe_xvecs_read_rows(in, 0, 9, x), PQE_OK);
    assert_float_equal(x[2 * 5 + 3], 23.5f, 0);
    /* A range of rows reads the same values as the whole file. */
    assert_int_equal(pqe_xvecs_read_rows(in, 4, 3, part), PQE_OK);
    assert_memory_equal(part, x + 4 * 5, sizeof part);
    expect_fail(pqe_xvecs_read_rows(in, 8, 2, part), PQE_ERR_PARAM, "rows 8..10 requested");
    /* Write back: the same bytes. */
    assert_int_equal(pqe_xvecs_write(out, x, 9, 5), PQE_OK);
    {
        FILE *fp = fopen(out, "rb");
        unsigned char *c = malloc(bytes + 1);
        assert_non_null(fp);
        assert_int_equal(fread(c, 1, bytes + 1, fp), bytes);
        fclose(fp);
        assert_memory_equal(b, c, bytes);
        free(c);
    }
    free(b);

    /* bvecs: uint8 to float and back; a non-integer cannot be written. */
    b = make_xvecs(4, 3, 1, &bytes);
    in = tmp_path("rt_a.bvecs");
    write_bytes(in, b, bytes);
    assert_int_equal(pqe_xvecs_read_rows(in, 0, 4, x), PQE_OK);
    assert_float_equal(x[3 * 3 + 2], 23.0f, 0);
    x[5] = 2.5f;
    expect_fail(pqe_xvecs_write(tmp_path("bad.bvecs"), x, 4, 3), PQE_ERR_DATA,
                "row 1 column 2 is 2.5, not an integer in 0..255");
    free(b);

    /* ivecs. */
    {
        int32_t ids[6] = {1, 2, 3, 4, 5, -6}, back[6];
        assert_int_equal(pqe_ivecs_write(tmp_path("ids.ivecs"), ids, 2, 3), PQE_OK);
        assert_int_equal(pqe_ivecs_read_rows(tmp_path("ids.ivecs"), 0, 2, back), PQE_OK);
        assert_memory_equal(ids, back, sizeof ids);
    }
}

static void xvecs_bad_inputs(void **state)
{
    (void)state;
    size_t bytes;
    unsigned char *b = make_xvecs(5, 4, 4, &bytes);
    pqe_array_info info;
    const char *p = tmp_path("bad.fvecs");
    int32_t v;

    /* Not a whole number of records. */
    write_bytes(p, b, bytes - 3);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT,
                "is not a whole number of 20-byte records (dimension 4): 4 whole records and 17 "
                "bytes left over");

    /* A record whose header differs from the first: named. */
    v = 5;
    memcpy(b + 2 * 20, &v, 4);
    write_bytes(p, b, bytes);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT,
                "record 2 has dimension header 5, but record 0 has 4");
    {
        float x[20];
        expect_fail(pqe_xvecs_read_rows(p, 1, 3, x), PQE_ERR_FORMAT, "record 2 has dimension");
    }

    /* Zero, negative, absurd headers. */
    v = 0;
    memcpy(b, &v, 4);
    write_bytes(p, b, bytes);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT, "record 0 has dimension header 0 (zero");
    v = -7;
    memcpy(b, &v, 4);
    write_bytes(p, b, bytes);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT, "header -7 (negative");
    v = 0x40000000;
    memcpy(b, &v, 4);
    write_bytes(p, b, bytes);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT, "(absurdly large");

    /* Empty. */
    write_bytes(p, b, 0);
    expect_fail(pqe_xvecs_info(p, &info), PQE_ERR_FORMAT, "empty file");
    free(b);

    /* big-ann .u8bin under a .bvecs name, .fbin under an .fvecs name. */
    {
        uint32_t hdr[2] = {100, 16};
        unsigned char *u = calloc(1, 8 + 100 * 16 * 4);
        assert_non_null(u);
        memcpy(u, hdr, 8);
        write_bytes(tmp_path("bigann.bvecs"), u, 8 + 100 * 16);
        expect_fail(pqe_xvecs_info(tmp_path("bigann.bvecs"), &info), PQE_ERR_FORMAT,
                    "looks like a big-ann-benchmarks .u8bin/.i8bin file (header n = 100, d = 16");
        write_bytes(tmp_path("bigann.fvecs"), u, 8 + 100 * 16 * 4);
        expect_fail(pqe_xvecs_info(tmp_path("bigann.fvecs"), &info), PQE_ERR_FORMAT,
                    "looks like a big-ann-benchmarks .fbin/.ibin file");
        free(u);
    }
}

/* ---- IDX ------------------------------------------------------------------ */

static void idx_round_trip_and_bad_inputs(void **state)
{
    (void)state;
    float x[6 * 4], *y = NULL;
    pqe_array_info info;
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    unsigned char raw[16 + 12];

    for (int i = 0; i < 24; i++)
        x[i] = (float)(i * 10);
    /* uint8 gzip and float raw round trips. */
    assert_int_equal(pqe_idx_write(tmp_path("a-ubyte.gz"), x, 6, 4, false), PQE_OK);
    assert_int_equal(pqe_idx_read(tmp_path("a-ubyte.gz"), &info, &y), PQE_OK);
    assert_int_equal(info.rows, 6);
    assert_int_equal(info.cols, 4);
    assert_string_equal(info.element_type, "uint8");
    assert_memory_equal(x, y, sizeof x);
    free(y);
    x[3] = -1.25f;
    assert_int_equal(pqe_idx_write(tmp_path("a.idx"), x, 6, 4, true), PQE_OK);
    assert_int_equal(pqe_idx_read(tmp_path("a.idx"), &info, &y), PQE_OK);
    assert_string_equal(info.element_type, "float32");
    assert_memory_equal(x, y, sizeof x);
    free(y);

    /* A 3-D header (2 x 2 x 3) flattens to 2 rows of 6. */
    memcpy(raw, hdr, 16);
    for (int i = 0; i < 12; i++)
        raw[16 + i] = (unsigned char)i;
    write_bytes(tmp_path("b-ubyte"), raw, sizeof raw);
    assert_int_equal(pqe_idx_read(tmp_path("b-ubyte"), &info, &y), PQE_OK);
    assert_int_equal(info.rows, 2);
    assert_int_equal(info.cols, 6);
    assert_float_equal(y[11], 11.0f, 0);
    free(y);

    /* Wrong magic. */
    raw[2] = 0x42;
    write_bytes(tmp_path("c-ubyte"), raw, sizeof raw);
    expect_fail(pqe_idx_read(tmp_path("c-ubyte"), &info, &y), PQE_ERR_FORMAT,
                "wrong magic number 0x00004203");
    assert_null(y);
    raw[2] = 8;
    raw[0] = 1;
    write_bytes(tmp_path("c-ubyte"), raw, sizeof raw);
    expect_fail(pqe_idx_read(tmp_path("c-ubyte"), &info, &y), PQE_ERR_FORMAT,
                "wrong magic number 0x01000803");
    raw[0] = 0;

    /* Cut short: in the data, and in the header. */
    write_bytes(tmp_path("d-ubyte"), raw, sizeof raw - 5);
    expect_fail(pqe_idx_read(tmp_path("d-ubyte"), &info, &y), PQE_ERR_FORMAT,
                "cut short: the header declares 2 x 6 values, the file holds 7");
    write_bytes(tmp_path("d-ubyte"), raw, 10);
    expect_fail(pqe_idx_read(tmp_path("d-ubyte"), &info, &y), PQE_ERR_FORMAT,
                "cut short inside the header");
    /* Cut short inside gzip data. */
    {
        gzFile gz = gzopen(tmp_path("e-ubyte.gz"), "wb");
        assert_non_null(gz);
        gzwrite(gz, raw, sizeof raw - 4);
        gzclose(gz);
        expect_fail(pqe_idx_read(tmp_path("e-ubyte.gz"), &info, &y), PQE_ERR_FORMAT, "cut short");
    }

    /* gzip data without a .gz name. */
    assert_int_equal(pqe_idx_write(tmp_path("f-ubyte.gz"), x + 4, 5, 4, false), PQE_OK);
    assert_int_equal(rename(tmp_path("f-ubyte.gz"), tmp_path("f-ubyte")), 0);
    expect_fail(pqe_idx_read(tmp_path("f-ubyte"), &info, &y), PQE_ERR_FORMAT,
                "the data are gzip-compressed but the name does not end in .gz");

    /* Empty. */
    write_bytes(tmp_path("g-ubyte"), raw, 0);
    expect_fail(pqe_idx_read(tmp_path("g-ubyte"), &info, &y), PQE_ERR_FORMAT, "empty file");

    /* Sizes whose product overflows: four dimensions of 2^32 - 1. */
    {
        unsigned char big[20] = {0, 0, 8, 4};
        memset(big + 4, 0xff, 16);
        write_bytes(tmp_path("h-ubyte"), big, sizeof big);
        expect_fail(pqe_idx_read(tmp_path("h-ubyte"), &info, &y), PQE_ERR_OVERFLOW, "overflow");
    }
}

/* ---- HDF5 ------------------------------------------------------------------ */

static void hdf5_round_trip_and_ranges(void **state)
{
    (void)state;
    small_ds s;
    pqe_dataset *ds = NULL, *back = NULL;
    float rows[2 * 4];

    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    assert_int_equal(pqe_dataset_load(small_h5("ok.hdf5", &s, "euclidean", 1, 4), NULL, &ds),
                     PQE_OK);
    assert_int_equal(ds->n_train, 20);
    assert_int_equal(ds->n_test, 5);
    assert_int_equal(ds->dim, 4);
    assert_int_equal(ds->gt_k, 3);
    assert_int_equal(ds->metric, PQE_METRIC_EUCLIDEAN);
    assert_string_equal(ds->element_type, "float32");
    assert_int_equal(strlen(ds->checksum), 64);
    assert_string_equal(ds->name, "io_ok");

    /* Written by pqeval, read back identically. */
    assert_int_equal(pqe_hdf5_write(ds, tmp_path("ok2.hdf5")), PQE_OK);
    assert_int_equal(pqe_dataset_load(tmp_path("ok2.hdf5"), NULL, &back), PQE_OK);
    assert_memory_equal(ds->train, back->train, sizeof s.train);
    assert_memory_equal(ds->neighbors, back->neighbors, sizeof s.nbr);
    assert_memory_equal(ds->distances, back->distances, sizeof s.dist);

    /* A hyperslab of rows. */
    assert_int_equal(pqe_hdf5_read_rows(tmp_path("ok2.hdf5"), "train", 7, 2, rows), PQE_OK);
    assert_memory_equal(rows, s.train + 7 * 4, sizeof rows);
    expect_fail(pqe_hdf5_read_rows(tmp_path("ok2.hdf5"), "train", 19, 2, rows), PQE_ERR_PARAM,
                "rows 19..21 of 'train' requested, it has 20");
    pqe_dataset_free(ds);
    pqe_dataset_free(back);
}

static void hdf5_converts_numeric_types_once(void **state)
{
    (void)state;
    uint8_t train[20 * 4];
    double test[5 * 4];
    int64_t nbr[5 * 3];
    small_ds s;
    pqe_dataset *ds = NULL;
    const char *path = tmp_path("types.hdf5");
    hid_t fid;

    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    for (int i = 0; i < 20 * 4; i++)
        train[i] = (uint8_t)(s.train[i] + 3);
    for (int i = 0; i < 5 * 4; i++)
        test[i] = s.test[i] + 3;
    /* Shifting both by 3 keeps the neighbours. */
    for (int i = 0; i < 15; i++)
        nbr[i] = s.nbr[i];
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr(fid, "euclidean");
    h5_put(fid, "train", H5T_STD_U8LE, H5T_NATIVE_UINT8, 2, 20, 4, train);
    h5_put(fid, "test", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 2, 5, 4, test);
    h5_put(fid, "neighbors", H5T_STD_I64BE, H5T_NATIVE_INT64, 2, 5, 3, nbr);
    H5Fclose(fid);

    log_count = 0;
    pqe_set_log(count_log, NULL);
    assert_int_equal(pqe_dataset_load(path, NULL, &ds), PQE_OK);
    pqe_set_log(NULL, NULL);
    assert_string_equal(ds->element_type, "uint8");
    for (int i = 0; i < 20 * 4; i++)
        assert_float_equal(ds->train[i], (float)train[i], 0);
    for (int i = 0; i < 5 * 4; i++)
        assert_float_equal(ds->test[i], (float)test[i], 0);
    for (int i = 0; i < 15; i++)
        assert_int_equal(ds->neighbors[i], nbr[i]);
    /* Distances were rebuilt (logged), and the conversion was said once. */
    assert_non_null(ds->distances);
    assert_float_equal(ds->distances[0], s.dist[0], 1e-5);
    assert_int_equal(log_count, 2);
    pqe_dataset_free(ds);

    /* A string dataset is not numeric: refused, never reinterpreted. */
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr(fid, "euclidean");
    {
        hid_t t = H5Tcopy(H5T_C_S1);
        char text[20 * 4];
        memset(text, 'a', sizeof text);
        H5Tset_size(t, 4);
        h5_put(fid, "train", t, t, 2, 20, 1, text);
        H5Tclose(t);
    }
    h5_put(fid, "test", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 2, 5, 4, test);
    H5Fclose(fid);
    expect_fail(pqe_dataset_load(path, NULL, &ds), PQE_ERR_FORMAT, "'train' is not numeric");
}

static void hdf5_bad_inputs(void **state)
{
    (void)state;
    small_ds s;
    pqe_dataset *ds = NULL;
    const char *path;
    hid_t fid;

    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    /* Without test; without train. */
    expect_fail(pqe_dataset_load(small_h5("notest.hdf5", &s, "euclidean", 0, 4), NULL, &ds),
                PQE_ERR_FORMAT, "no dataset 'test'");
    path = tmp_path("notrain.hdf5");
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr(fid, "euclidean");
    h5_put(fid, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 5, 4, s.test);
    H5Fclose(fid);
    expect_fail(pqe_dataset_load(path, NULL, &ds), PQE_ERR_FORMAT, "no dataset 'train'");

    /* Parts of different dimension (test as 10 x 2). */
    expect_fail(pqe_dataset_load(small_h5("dims.hdf5", &s, "euclidean", 1, 2), NULL, &ds),
                PQE_ERR_FORMAT, "'test' has dimension 2 but 'train' has 4");

    /* 1-D and empty datasets. */
    path = tmp_path("onedim.hdf5");
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr(fid, "euclidean");
    h5_put(fid, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, 80, 0, s.train);
    h5_put(fid, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 5, 4, s.test);
    H5Fclose(fid);
    expect_fail(pqe_dataset_load(path, NULL, &ds), PQE_ERR_FORMAT,
                "'train' is 1-D, expected a 2-D array");
    path = tmp_path("empty.hdf5");
    fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    h5_attr(fid, "euclidean");
    h5_put(fid, "train", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 20, 4, s.train);
    h5_put(fid, "test", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 0, 4, s.test);
    H5Fclose(fid);
    expect_fail(pqe_dataset_load(path, NULL, &ds), PQE_ERR_FORMAT, "'test' is empty (0 x 4)");

    /* Neighbour ids out of range. */
    s.nbr[7] = 20;
    expect_fail(pqe_dataset_load(small_h5("range.hdf5", &s, "euclidean", 1, 4), NULL, &ds),
                PQE_ERR_DATA, "neighbour id 20 of query 2 (rank 1) is out of range");
    s.nbr[7] = -1;
    expect_fail(pqe_dataset_load(small_h5("range.hdf5", &s, "euclidean", 1, 4), NULL, &ds),
                PQE_ERR_DATA, "neighbour id -1 of query 2 (rank 1) is out of range");
    small_fill(&s, PQE_METRIC_EUCLIDEAN);

    /* No metric attribute; an unsupported one; not HDF5 at all. */
    expect_fail(pqe_dataset_load(small_h5("nometric.hdf5", &s, NULL, 1, 4), NULL, &ds),
                PQE_ERR_FORMAT, "no 'distance' attribute");
    expect_fail(pqe_dataset_load(small_h5("jaccard.hdf5", &s, "jaccard", 1, 4), NULL, &ds),
                PQE_ERR_UNSUPPORTED, "distance 'jaccard' is not supported");
    write_bytes(tmp_path("text.hdf5"), "hello", 5);
    expect_fail(pqe_dataset_load(tmp_path("text.hdf5"), NULL, &ds), PQE_ERR_FORMAT,
                "not an HDF5 file");
    assert_null(ds);
}

/* ---- validation ------------------------------------------------------------ */

static void validation_names_distance_conventions(void **state)
{
    (void)state;
    small_ds s;
    pqe_dataset *ds = NULL;

    /* Squared instead of non-squared Euclidean distances. */
    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    for (int i = 0; i < 15; i++)
        s.dist[i] *= s.dist[i];
    expect_fail(pqe_dataset_load(small_h5("sq.hdf5", &s, "euclidean", 1, 4), NULL, &ds),
                PQE_ERR_DATA, "they look like squared euclidean distances");

    /* Angular stored as cosine similarity, as an angle, as 2 - 2 cos. */
    small_fill(&s, PQE_METRIC_ANGULAR);
    {
        small_ds t = s;
        for (int i = 0; i < 15; i++)
            t.dist[i] = 1 - s.dist[i];
        expect_fail(pqe_dataset_load(small_h5("cos.hdf5", &t, "angular", 1, 4), NULL, &ds),
                    PQE_ERR_DATA, "they look like cosine similarities");
        for (int i = 0; i < 15; i++)
            t.dist[i] = (float)acos(1 - (double)s.dist[i]);
        expect_fail(pqe_dataset_load(small_h5("ang.hdf5", &t, "angular", 1, 4), NULL, &ds),
                    PQE_ERR_DATA, "they look like angles in radians");
        for (int i = 0; i < 15; i++)
            t.dist[i] = 2 * s.dist[i];
        expect_fail(pqe_dataset_load(small_h5("n2.hdf5", &t, "angular", 1, 4), NULL, &ds),
                    PQE_ERR_DATA, "2 - 2 cos");
        /* Correct 1 - cos loads. */
        assert_int_equal(pqe_dataset_load(small_h5("ok_ang.hdf5", &s, "angular", 1, 4), NULL, &ds),
                         PQE_OK);
        pqe_dataset_free(ds);
    }

    /* Euclidean distances under an angular attribute. */
    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    expect_fail(pqe_dataset_load(small_h5("l2ang.hdf5", &s, "angular", 1, 4), NULL, &ds),
                PQE_ERR_DATA, "non-squared euclidean distances");
}

static void validation_topk_and_nonfinite(void **state)
{
    (void)state;
    small_ds s;
    pqe_dataset *ds = NULL;
    pqe_load_options lo = pqe_load_options_default();
    pqe_validate_options vo = pqe_validate_options_default();
    pqe_validate_report rep;

    small_fill(&s, PQE_METRIC_EUCLIDEAN);
    lo.check_groundtruth = true;
    assert_int_equal(pqe_dataset_load(small_h5("topk.hdf5", &s, "euclidean", 1, 4), &lo, &ds),
                     PQE_OK);

    /* A wrong neighbour with its own (correct) distance: only the top-k
     * recomputation sees it. */
    {
        int32_t far = 0;
        double worst = -1;
        for (int32_t i = 0; i < 20; i++) {
            double d = pqe_metric_distance(ds->test, ds->train + i * 4, 4, ds->metric);
            if (d > worst) {
                worst = d;
                far = i;
            }
        }
        ds->neighbors[2] = far;
        ds->distances[2] = (float)worst;
    }
    vo.check_groundtruth = true;
    vo.sample_queries = 5;
    expect_fail(pqe_dataset_validate(ds, &vo, &rep), PQE_ERR_DATA,
                "disagree with an exact recomputation for 1 of 5 sampled queries (first: query "
                "0, rank 2");
    assert_int_equal(rep.queries_disagreeing, 1);

    /* Non-finite values: first row and column, count; refused, or reported. */
    ds->train[3 * 4 + 1] = NAN;
    ds->train[9 * 4 + 0] = INFINITY;
    expect_fail(pqe_dataset_validate(ds, NULL, &rep), PQE_ERR_DATA,
                "2 non-finite values (NaN or infinite); the first is in 'train' row 3 column 1: "
                "refusing to train");
    vo.allow_nonfinite = true;
    vo.check_groundtruth = false;
    assert_int_equal(pqe_dataset_validate(ds, &vo, &rep), PQE_OK);
    assert_int_equal(rep.nonfinite, 2);
    assert_int_equal(rep.nonfinite_row, 3);
    assert_int_equal(rep.nonfinite_col, 1);
    pqe_dataset_free(ds);
}

static void zero_vectors_in_angular_data(void **state)
{
    (void)state;
    small_ds s;
    pqe_dataset *ds = NULL;
    pqe_validate_report rep;

    memset(&s, 0, sizeof s);
    small_fill(&s, PQE_METRIC_ANGULAR);
    memset(s.train + 4 * 4, 0, 4 * sizeof(float)); /* base row 4 */
    memset(s.test + 1 * 4, 0, 4 * sizeof(float));  /* query 1 */
    assert_int_equal(
        pqe_groundtruth(s.train, 20, s.test, 5, 4, PQE_METRIC_ANGULAR, 3, 1, s.nbr, s.dist),
        PQE_OK);
    /* The zero query is at distance 1 from everything: ids 0, 1, 2. */
    for (int j = 0; j < 3; j++) {
        assert_int_equal(s.nbr[3 + j], j);
        assert_float_equal(s.dist[3 + j], 1.0f, 0);
    }
    for (int i = 0; i < 15; i++)
        assert_false(isnan(s.dist[i]));
    log_count = 0;
    pqe_set_log(count_log, NULL);
    assert_int_equal(pqe_dataset_load(small_h5("zero.hdf5", &s, "angular", 1, 4), NULL, &ds),
                     PQE_OK);
    pqe_set_log(NULL, NULL);
    assert_int_equal(log_count, 2); /* one warning per part with zero rows */
    assert_non_null(strstr(last_log, "1 zero vectors in 'test'"));
    assert_int_equal(pqe_dataset_validate(ds, NULL, &rep), PQE_OK);
    assert_int_equal(rep.zero_rows[0], 1);
    assert_int_equal(rep.zero_rows[1], 1);
    assert_float_equal(pqe_metric_distance(ds->test + 4, ds->train + 16, 4, PQE_METRIC_ANGULAR),
                       1.0, 0);
    pqe_dataset_free(ds);
}

static void summary_counts_duplicates(void **state)
{
    (void)state;
    float x[6 * 2] = {1, 2, 3, 4, 1, 2, 0, 0, -0.0f, 0, 1, 2};
    pqe_part_summary s;
    assert_int_equal(pqe_summarize(x, 6, 2, 100, 1, &s), PQE_OK);
    assert_int_equal(s.duplicates, 3); /* rows 2 and 5 repeat 0; row 4 (-0, 0) repeats 3 */
    assert_int_equal(s.zero_rows, 2);
    assert_int_equal(s.dup_examined, 6);
    assert_float_equal(s.norm_max, 5.0, 1e-12);
}

/* ---- the shared SIFT set ------------------------------------------------------ */

static void sift_texmex_and_hdf5_agree(void **state)
{
    (void)state;
    const char *dir = getenv("PQEVAL_SHARED_DATASETS");
    char base[4096], h5[4096];
    pqe_dataset *a = NULL, *b = NULL;
    pqe_load_options lo = pqe_load_options_default();

    assert_non_null(dir);
    snprintf(base, sizeof base, "%s/sift-debian/siftdeb_base.bvecs", dir);
    snprintf(h5, sizeof h5, "%s/sift-debian/siftdeb-128-euclidean.hdf5", dir);
    lo.check_groundtruth = true;
    lo.sample_queries = getenv("PQEVAL_SANITIZED") ? 2 : 10;
    if (pqe_dataset_load(base, &lo, &a) != PQE_OK || pqe_dataset_load(h5, &lo, &b) != PQE_OK) {
        print_error("%s\n", pqe_last_error());
        fail();
    }
    assert_int_equal(a->n_train, 100000);
    assert_int_equal(a->n_test, 10000);
    assert_int_equal(a->n_learn, 25000);
    assert_int_equal(a->dim, 128);
    assert_int_equal(b->n_learn, 25000);
    assert_string_equal(a->element_type, "uint8");
    assert_string_equal(b->checksum,
                        "c9b74ead83cc59a1eccd85d5e5638054f716ba4686c48085955d2e8eda4760f0");
    assert_memory_equal(a->train, b->train, a->n_train * a->dim * sizeof(float));
    assert_memory_equal(a->test, b->test, a->n_test * a->dim * sizeof(float));
    assert_memory_equal(a->learn, b->learn, a->n_learn * a->dim * sizeof(float));
    assert_memory_equal(a->neighbors, b->neighbors, a->n_test * 100 * sizeof(int32_t));
    /* Rebuilt distances (texmex) match the stored ones (HDF5). */
    for (size_t i = 0; i < a->n_test * 100; i++)
        assert_float_equal(a->distances[i], b->distances[i], 1e-3);
    pqe_dataset_free(a);
    pqe_dataset_free(b);
}

int main(void)
{
    const char *t = getenv("PQEVAL_TEST_TMP");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xvecs_round_trip_and_ranges),
        cmocka_unit_test(xvecs_bad_inputs),
        cmocka_unit_test(idx_round_trip_and_bad_inputs),
        cmocka_unit_test(hdf5_round_trip_and_ranges),
        cmocka_unit_test(hdf5_converts_numeric_types_once),
        cmocka_unit_test(hdf5_bad_inputs),
        cmocka_unit_test(validation_names_distance_conventions),
        cmocka_unit_test(validation_topk_and_nonfinite),
        cmocka_unit_test(zero_vectors_in_angular_data),
        cmocka_unit_test(summary_counts_duplicates),
        cmocka_unit_test(sift_texmex_and_hdf5_agree),
    };
    snprintf(tmp_dir, sizeof tmp_dir, "%s", t ? t : "/tmp");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
