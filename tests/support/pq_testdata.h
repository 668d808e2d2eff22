/* pq_testdata.h - small readers for the real data the quantizer tests use:
 * texmex .bvecs (the shared SIFT set) and gzipped Fashion-MNIST IDX images,
 * converted to float32.  Test-only; the product reads data through its own
 * dataset module.
 *
 * Depends on: zlib (gzread).
 */
#ifndef PQEVAL_TESTS_PQ_TESTDATA_H
#define PQEVAL_TESTS_PQ_TESTDATA_H

#include <stddef.h>

/* Reads up to max_n vectors, skipping the first skip, from a .bvecs file.
 * Returns a malloc'd n x dim array (n and dim set), or NULL if the file is
 * missing or malformed. */
float *pqt_read_bvecs(const char *path, size_t skip, size_t max_n, size_t *n, size_t *dim);

/* The same for a gzipped IDX3 image file (uint8 images, 16-byte header):
 * each image becomes one vector of rows * cols floats. */
float *pqt_read_idx_images_gz(const char *path, size_t skip, size_t max_n, size_t *n, size_t *dim);

/* $PQEVAL_SHARED_DATASETS/sift-debian/<file> (or the default shared path)
 * in a static buffer. */
const char *pqt_sift_path(const char *file);

/* The Fashion-MNIST training images shipped by Debian. */
#define PQT_FASHION_TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

/* True when the tests run under ASan/UBSan (PQEVAL_SANITIZED=1): smaller
 * sizes then. */
int pqt_sanitized(void);

#endif
