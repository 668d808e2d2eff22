/* quantizer.h - one interface over every quantizer pqeval evaluates: its own
 * PQ and OPQ, and any FAISS index_factory string through the C API.
 *
 * The sweep drives a quantizer only through these calls, so it does not
 * know whose it is.  The life of one: new -> train -> add (encodes the base
 * and keeps the codes as the database) -> encode/decode (distortion) and
 * search (recall) -> free.
 *
 * Distances returned by search: for euclidean data the estimated squared L2
 * distance, ascending; for dot and angular data the estimated inner product,
 * descending (angular data are normalised by the caller).  Rows with fewer
 * than k results are padded with id -1.
 *
 * Depends on: status.h, dataset.h (metric), kmeans.h (init), opq.h (start),
 * search.h (modes).
 */
#ifndef PQEVAL_QUANTIZER_H
#define PQEVAL_QUANTIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/kmeans.h"
#include "pqeval/opq.h"
#include "pqeval/search.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pqe_quantizer pqe_quantizer; /* opaque */

typedef enum pqe_rotation {
    PQE_ROTATION_NONE = 0,             /* plain PQ */
    PQE_ROTATION_OPQ_PARAMETRIC = 1,   /* OPQ_P: PCA + eigenvalue allocation */
    PQE_ROTATION_OPQ_NONPARAMETRIC = 2 /* OPQ_NP: alternating PQ and Procrustes */
} pqe_rotation;

/* "pq", "opq-p", "opq-np". */
const char *pqe_rotation_name(pqe_rotation rotation);
pqe_status pqe_rotation_parse(const char *name, pqe_rotation *out);

/* Everything that defines one of our quantizers. */
typedef struct pqe_quantizer_config {
    size_t dim;
    size_t n_sub;      /* M */
    unsigned nbits;    /* bits per subspace index */
    pqe_metric metric; /* decides the search tables: L2 for euclidean, IP otherwise */
    pqe_rotation rotation;
    pqe_opq_start opq_start;
    unsigned opq_outer_iters;
    unsigned opq_inner_iters;
    unsigned kmeans_iters;
    pqe_kmeans_init kmeans_init;
    size_t max_points_per_centroid; /* 0 = no subsampling */
    uint64_t seed;
    int n_threads;           /* 0 = OpenMP default */
    size_t sdc_memory_limit; /* bytes for the SDC table; 0 = 256 MiB */
} pqe_quantizer_config;

/* Defaults for a quantizer of dim dimensions, M subspaces and nbits: plain
 * PQ, euclidean, k-means 25 iterations from random points, 256 points per
 * centroid, seed 1234; for OPQ_NP 25 outer and 4 inner iterations started
 * from the IDENTITY.  The paper starts OPQ_NP from OPQ_P, but on
 * Fashion-MNIST and the SIFT set here OPQ_P is worse than plain PQ, and
 * OPQ_NP started from it was still worse than PQ after 8 iterations
 * (Fashion-MNIST, M = 8), while from the identity it is never worse than PQ
 * on its training data (see opq.c). */
pqe_quantizer_config pqe_quantizer_config_default(size_t dim, size_t n_sub, unsigned nbits);

/* Our PQ or OPQ, as the config says.  Fails with PQE_ERR_PARAM naming the
 * bad value. */
pqe_status pqe_quantizer_new(const pqe_quantizer_config *config, pqe_quantizer **out);

/* A FAISS index built by index_factory(dim, factory, metric) through the C
 * API: METRIC_L2 for euclidean, METRIC_INNER_PRODUCT for dot and angular.
 * Search parameters, which factory strings cannot set, may follow a '|'
 * as a ParameterSpace string: "IVF256,PQ16|nprobe=16" (without one, FAISS's
 * defaults hold, e.g. nprobe 1).  Note that FAISS's factory turns on
 * polysemous training for "PQ{M}" and "PQ{M}x{nbits}", which takes minutes
 * and only permutes centroids: "PQ16np" avoids it.  Fails with
 * PQE_ERR_FAISS carrying FAISS's own message. */
pqe_status pqe_quantizer_new_faiss(const char *factory, size_t dim, pqe_metric metric,
                                   int n_threads, pqe_quantizer **out);

void pqe_quantizer_free(pqe_quantizer *self); /* accepts NULL */

/* Trains on n vectors (row-major, dim each). */
pqe_status pqe_quantizer_train(pqe_quantizer *self, const float *x, size_t n);

/* Encodes n vectors and keeps their codes as the database that search scans
 * (ids 0..n-1 in order).  May be called once after training. */
pqe_status pqe_quantizer_add(pqe_quantizer *self, const float *x, size_t n);

/* Bytes of one code as encode writes it. */
size_t pqe_quantizer_code_bytes(const pqe_quantizer *self);

/* Information per vector in bits (M * nbits for PQ; 8 * code bytes for a
 * FAISS codec unless it knows better). */
double pqe_quantizer_code_bits(const pqe_quantizer *self);

/* Encodes n vectors into n * code_bytes bytes; decodes back to n x dim
 * floats in the ORIGINAL space (rotation undone).  For a FAISS index these
 * are its standalone codec (sa_encode/sa_decode); an index without one
 * (code_bytes 0) fails with PQE_ERR_UNSUPPORTED and FAISS's message. */
pqe_status pqe_quantizer_encode(const pqe_quantizer *self, const float *x, size_t n,
                                uint8_t *codes);
pqe_status pqe_quantizer_decode(const pqe_quantizer *self, const uint8_t *codes, size_t n,
                                float *out);

/* Quantizes n vectors and writes their reconstructions (n x dim, original
 * space): decode(encode(x)) where the quantizer has a standalone codec;
 * for a FAISS index without one (fast-scan), by adding x to a copy of the
 * trained index and reconstructing from it.  Fails with
 * PQE_ERR_UNSUPPORTED, carrying FAISS's message, if neither works.  This is
 * the call to measure distortion with. */
pqe_status pqe_quantizer_reconstruct(const pqe_quantizer *self, const float *x, size_t n,
                                     float *out);

/* Top-k of n_queries queries against the added database.  ids and
 * distances are n_queries x k, caller-allocated.  Fails with
 * PQE_ERR_UNSUPPORTED where the mode does not apply (SDC on a FAISS codec,
 * or an SDC table over the memory limit; the message says how much). */
pqe_status pqe_quantizer_search(const pqe_quantizer *self, pqe_search_mode mode,
                                const float *queries, size_t n_queries, size_t k, int64_t *ids,
                                float *distances);

bool pqe_quantizer_supports(const pqe_quantizer *self, pqe_search_mode mode);

/* Number of subspaces whose errors pqe_quantizer_subspace_error reports (M
 * for ours, measured in the rotated space for OPQ, where the rotation is
 * orthogonal so the sum equals the total); 0 if it cannot. */
size_t pqe_quantizer_n_sub(const pqe_quantizer *self);

/* Adds to sub_err[m] the summed squared error of n vectors in subspace m. */
pqe_status pqe_quantizer_subspace_error(const pqe_quantizer *self, const float *x, size_t n,
                                        double *sub_err);

/* The dimension and metric the quantizer was made for. */
size_t pqe_quantizer_dim(const pqe_quantizer *self);
pqe_metric pqe_quantizer_metric(const pqe_quantizer *self);
bool pqe_quantizer_is_trained(const pqe_quantizer *self);

/* A short name: "PQ16x8", "OPQ-P16x8", "OPQ-NP16x8", "faiss:OPQ16,PQ16". */
const char *pqe_quantizer_name(const pqe_quantizer *self);

/* Saves a trained quantizer to a file (atomically), and loads it back.
 * Ours: the small format documented in quantizer_ours.c (configuration,
 * rotation, codebooks, CRC-32; not the added codes).  FAISS indexes: FAISS's
 * own write_index (with any added vectors); load recognises either and
 * names a loaded FAISS index "faiss:<file name>".  Truncated or corrupt
 * files fail with PQE_ERR_FORMAT saying what is wrong. */
pqe_status pqe_quantizer_save(const pqe_quantizer *self, const char *path);
pqe_status pqe_quantizer_load(const char *path, pqe_quantizer **out);

#ifdef __cplusplus
}
#endif

#endif
