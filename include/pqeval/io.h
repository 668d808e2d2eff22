/* io.h - reading and writing the file formats of the field, and loading a
 * whole evaluation dataset.
 *
 * Formats:
 *  - ann-benchmarks HDF5: 2-D datasets `train` (base), `test` (queries),
 *    `neighbors` (int, n_test x k), `distances` (float, n_test x k), an
 *    optional `learn`, and the file attribute `distance` ("euclidean",
 *    "angular" or "dot").  Any numeric element type is read through HDF5's
 *    own conversion into float32 (int32 for neighbors); raw bytes are never
 *    reinterpreted.
 *  - texmex .fvecs / .ivecs / .bvecs: records of a little-endian int32
 *    dimension d followed by d float32 / int32 / uint8 values.
 *  - MNIST-style IDX (raw or gzip, by the .gz name): big-endian magic
 *    0x0000TTNN (T the element type, N the number of dimensions), N
 *    big-endian uint32 sizes, then the values.
 *
 * Every reader works in blocks with 64-bit offsets, checks every size
 * product for overflow, and can read a range of rows without loading the
 * whole file.  Every writer writes atomically (temporary file + rename).
 *
 * Depends on: status.h, dataset.h; libhdf5, zlib, OpenSSL libcrypto.
 */
#ifndef PQEVAL_IO_H
#define PQEVAL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_format {
    PQE_FORMAT_UNKNOWN = 0,
    PQE_FORMAT_HDF5 = 1,  /* .hdf5, .h5 */
    PQE_FORMAT_FVECS = 2, /* .fvecs */
    PQE_FORMAT_IVECS = 3, /* .ivecs */
    PQE_FORMAT_BVECS = 4, /* .bvecs */
    PQE_FORMAT_IDX = 5    /* *-ubyte, .idx, with or without .gz */
} pqe_format;

/* "hdf5", "fvecs", "ivecs", "bvecs", "idx", "unknown". */
const char *pqe_format_name(pqe_format format);

/* The format a file name says (by its extension); PQE_FORMAT_UNKNOWN if none. */
pqe_format pqe_format_from_name(const char *path);

/* The shape of one 2-D array in a file. */
typedef struct pqe_array_info {
    pqe_format format;
    size_t rows;
    size_t cols;
    char element_type[16]; /* as stored: "float32", "uint8", "int32", "float64", ... */
} pqe_array_info;

/* Upper bound on a plausible dimension (vector length) in any file. */
enum { PQE_MAX_DIM = 1 << 20 };

/* ---- texmex .fvecs / .ivecs / .bvecs ----------------------------------- */

/* Shape of an xvecs file (format from its name).  Checks that the size is a
 * whole number of records and that every record's dimension header equals
 * the first (naming the first record that differs).  Recognises
 * big-ann-benchmarks .fbin/.u8bin files given an xvecs name. */
pqe_status pqe_xvecs_info(const char *path, pqe_array_info *out);

/* Reads rows [begin, begin + n) of an .fvecs or .bvecs file as float32 into
 * out (n x dim, caller-allocated), checking each record's header. */
pqe_status pqe_xvecs_read_rows(const char *path, size_t begin, size_t n, float *out);

/* Reads rows [begin, begin + n) of an .ivecs file into out (n x dim). */
pqe_status pqe_ivecs_read_rows(const char *path, size_t begin, size_t n, int32_t *out);

/* Writes n x dim floats as .fvecs, or as .bvecs if the name says so (then
 * every value must be an integer in 0..255: the message names the first
 * that is not).  Atomic. */
pqe_status pqe_xvecs_write(const char *path, const float *x, size_t n, size_t dim);

/* Writes n x dim int32 values as .ivecs.  Atomic. */
pqe_status pqe_ivecs_write(const char *path, const int32_t *x, size_t n, size_t dim);

/* ---- MNIST-style IDX ---------------------------------------------------- */

/* Reads a whole IDX file (gzip if the name ends in .gz) as float32: rows =
 * the first size, cols = the product of the others.  *out is allocated
 * (free()).  Fails on a wrong magic number, a short file, gzip data under a
 * name without .gz, or sizes whose product overflows. */
pqe_status pqe_idx_read(const char *path, pqe_array_info *info, float **out);

/* Writes n x dim values as an IDX file of unsigned bytes (every value must
 * be an integer in 0..255) or, if as_float, float32; gzip if the name ends
 * in .gz.  Atomic. */
pqe_status pqe_idx_write(const char *path, const float *x, size_t n, size_t dim, bool as_float);

/* ---- ann-benchmarks HDF5 ------------------------------------------------ */

/* Shape and stored type of the 2-D dataset `name` in an HDF5 file.  Fails
 * with PQE_ERR_FORMAT if it is missing, not 2-D or not numeric. */
pqe_status pqe_hdf5_array_info(const char *path, const char *name, pqe_array_info *out);

/* Reads rows [begin, begin + n) of dataset `name` as float32 (a hyperslab;
 * HDF5 converts the stored type). */
pqe_status pqe_hdf5_read_rows(const char *path, const char *name, size_t begin, size_t n,
                              float *out);

/* Writes ds in the ann-benchmarks layout (train, test, learn if present,
 * neighbors and distances if present; attributes distance, type="dense",
 * point_type="float", dimension).  Atomic. */
pqe_status pqe_hdf5_write(const pqe_dataset *ds, const char *path);

/* ---- checksums ----------------------------------------------------------- */

/* Lowercase hex SHA-256 of the concatenation of n_paths files (65 bytes with
 * the terminating NUL), through OpenSSL's EVP interface. */
pqe_status pqe_sha256_files(const char *const *paths, size_t n_paths, char hex[65]);

/* ---- whole datasets ------------------------------------------------------- */

typedef struct pqe_load_options {
    bool load_learn;        /* read `learn` / X_learn if present (default true) */
    bool validate;          /* run pqe_dataset_validate after loading (default true) */
    bool check_groundtruth; /* validation also recomputes the top-k of sampled queries
                               (default false: it costs a scan of the base per query) */
    bool rebuild_distances; /* recompute missing distances from the neighbours (default true) */
    bool checksum;          /* compute the SHA-256 of the files (default true) */
    bool metric_given;      /* use `metric` instead of the file's (texmex has none) */
    pqe_metric metric;      /* default euclidean (texmex) */
    size_t sample_pairs;   /* (query, neighbour) pairs whose distances are checked (default 1000) */
    size_t sample_queries; /* queries whose top-k is recomputed (default 20) */
    uint64_t seed;         /* for the samples (default 1) */
} pqe_load_options;

pqe_load_options pqe_load_options_default(void);

/* Loads a dataset: an ann-benchmarks HDF5 file, or a texmex base file
 * X_base.fvecs / X_base.bvecs (siblings X_query, optional X_learn and
 * X_groundtruth.ivecs in the same folder).  Fills element_type and (unless
 * disabled) checksum; validates (unless disabled).  opt may be NULL for the
 * defaults.  On success *out is owned by the caller (pqe_dataset_free). */
pqe_status pqe_dataset_load(const char *path, const pqe_load_options *opt, pqe_dataset **out);

/* Writes a dataset: HDF5 if the name says so, or texmex files named after a
 * base path X_base.{f,b}vecs (X_query, X_learn, X_groundtruth.ivecs beside
 * it).  Atomic per file. */
pqe_status pqe_dataset_save(const pqe_dataset *ds, const char *path);

/* ---- validation ----------------------------------------------------------- */

typedef struct pqe_validate_options {
    bool check_groundtruth; /* recompute the exact top-k of sampled queries */
    size_t sample_pairs;    /* distance pairs checked; 0 = none */
    size_t sample_queries;  /* queries recomputed when check_groundtruth */
    uint64_t seed;
    bool allow_nonfinite; /* report non-finite values without failing */
} pqe_validate_options;

pqe_validate_options pqe_validate_options_default(void);

/* What validation found.  Counts cover every row of each part. */
typedef struct pqe_validate_report {
    size_t nonfinite;           /* non-finite values in train, test and learn */
    const char *nonfinite_part; /* part of the first ("train", "test", "learn"), or NULL */
    size_t nonfinite_row, nonfinite_col;
    size_t zero_rows[3];          /* zero vectors in train, test, learn */
    size_t pairs_checked;         /* stored distances compared with a recomputation */
    double max_distance_error;    /* largest relative difference seen */
    size_t queries_checked;       /* queries whose top-k was recomputed */
    size_t queries_disagreeing;   /* of those, how many disagree beyond ties */
    char distance_convention[96]; /* "" if distances agree; else what they look like */
} pqe_validate_report;

/* Checks a loaded dataset: parts present and non-empty; every value finite
 * (else PQE_ERR_DATA naming the part, first row and column, and the count);
 * neighbour ids in range; stored distances agree with a recomputation of a
 * sample of pairs under the declared metric (else PQE_ERR_DATA saying what
 * they look like: squared Euclidean, cosine similarity, ...); optionally the
 * stored top-k agrees with a recomputation on sampled queries, up to ties.
 * Zero vectors of an angular dataset are counted and logged.  opt may be
 * NULL (defaults); report may be NULL. */
pqe_status pqe_dataset_validate(const pqe_dataset *ds, const pqe_validate_options *opt,
                                pqe_validate_report *report);

/* Fills ds->distances from ds->neighbors by exact recomputation under
 * ds->metric (double precision, stored as float32). */
pqe_status pqe_dataset_rebuild_distances(pqe_dataset *ds);

/* ---- summaries (pqeval info) ------------------------------------------------ */

typedef struct pqe_part_summary {
    size_t rows, cols;
    double norm_min, norm_mean, norm_max; /* L2 norms of the finite rows */
    size_t zero_rows;
    size_t nonfinite;                    /* non-finite values */
    size_t nonfinite_row, nonfinite_col; /* the first one */
    size_t duplicates;                   /* rows equal to another examined row that comes earlier */
    size_t dup_examined;                 /* rows examined for duplicates: all, or a sample */
} pqe_part_summary;

/* Norms, zero rows, non-finite values and duplicate rows of n x dim values.
 * Duplicates are looked for among all rows if n <= dup_sample, else among
 * dup_sample rows chosen with seed. */
pqe_status pqe_summarize(const float *x, size_t n, size_t dim, size_t dup_sample, uint64_t seed,
                         pqe_part_summary *out);

#ifdef __cplusplus
}
#endif

#endif
