/* io_internal.h - what the readers, the dataset loader and the validator
 * share inside the library.  Not installed.
 *
 * Depends on: io.h, dataset.h.
 */
#ifndef PQEVAL_IO_INTERNAL_H
#define PQEVAL_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/io.h"

/* Fills ds (path, name, metric, parts, ground truth, element_type) from an
 * ann-benchmarks HDF5 file, checking shapes. */
pqe_status pqe_hdf5_load_into(const char *path, const pqe_load_options *opt, pqe_dataset *ds);

/* Reads rows [begin, begin + n) of an integer dataset as int32. */
pqe_status pqe_hdf5_read_rows_int32(const char *path, const char *name, size_t begin, size_t n,
                                    int32_t *out);

/* Shape of an xvecs file from its size and first header only, without
 * scanning the other headers (the row readers check each one they read). */
pqe_status pqe_xvecs_shape(const char *path, pqe_array_info *out);

/* The file attribute `distance` as a metric; PQE_ERR_FORMAT if absent or
 * not one pqeval supports. */
pqe_status pqe_hdf5_read_metric(const char *path, pqe_metric *out);

/* True if the file name ends with suffix. */
bool pqe_has_suffix(const char *path, const char *suffix);

/* The file's size in bytes. */
pqe_status pqe_file_size(const char *path, uint64_t *out);

/* A freshly allocated copy of path with its last `old_suffix` replaced by
 * `new_suffix`, or NULL (PQE_ERR_NOMEM recorded). */
char *pqe_replace_suffix(const char *path, const char *old_suffix, const char *new_suffix);

#endif
