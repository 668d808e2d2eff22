/* pq.h - product quantization: codebooks per subspace, encode, decode.
 *
 * Jegou, Douze, Schmid, "Product quantization for nearest neighbor search",
 * IEEE TPAMI 33(1), 2011.  The dimension d is split into M contiguous
 * subspaces of d/M dimensions; each has a codebook of K = 2^nbits centroids
 * trained by k-means; a vector's code is the M centroid indices.
 *
 * Code layout (unpacked, what encode writes and decode/search read): each
 * subspace index takes 1 byte if nbits <= 8, else 2 bytes little-endian; a
 * code is M such entries, subspace 0 first.  pqe_pq_pack()/pqe_pq_unpack()
 * convert to the packed form used for storage: the M indices of nbits bits
 * each, least significant bit first, concatenated into ceil(M*nbits/8) bytes
 * (the same bit order as FAISS's PQ codes).
 *
 * Depends on: status.h, kmeans.h, dataset.h (metric).
 */
#ifndef PQEVAL_PQ_H
#define PQEVAL_PQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pqeval/dataset.h"
#include "pqeval/kmeans.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { PQE_PQ_NBITS_MIN = 1, PQE_PQ_NBITS_MAX = 16 };

typedef struct pqe_pq pqe_pq; /* opaque */

typedef struct pqe_pq_params {
    size_t dim;               /* d */
    size_t n_sub;             /* M, must divide d */
    unsigned nbits;           /* bits per subspace index, 1..16 */
    pqe_kmeans_params kmeans; /* k is set from nbits; the rest applies per subspace
                                 (subspace m uses seed pqe_rng_derive(seed, m)) */
} pqe_pq_params;

pqe_pq_params pqe_pq_params_default(size_t dim, size_t n_sub, unsigned nbits);

/* Checks the parameters and creates an untrained quantizer.  Fails with
 * PQE_ERR_PARAM naming the valid values (M not dividing d lists the
 * divisors of d; nbits outside 1..16). */
pqe_status pqe_pq_new(const pqe_pq_params *params, pqe_pq **out);
void pqe_pq_free(pqe_pq *self); /* accepts NULL */

/* Trains the codebooks on n vectors.  Fails if n < 2^nbits (naming n, K and
 * a workable nbits) or on non-finite data; warns through the log if there
 * are fewer than 39 points per centroid. */
pqe_status pqe_pq_train(pqe_pq *self, const float *x, size_t n);

/* Sets the codebooks directly: M x K x (d/M) floats, subspace-major. */
pqe_status pqe_pq_set_codebooks(pqe_pq *self, const float *codebooks);

/* Codebooks, M x K x (d/M), owned by self; NULL before training. */
const float *pqe_pq_codebooks(const pqe_pq *self);

size_t pqe_pq_dim(const pqe_pq *self);
size_t pqe_pq_n_sub(const pqe_pq *self);
unsigned pqe_pq_nbits(const pqe_pq *self);
size_t pqe_pq_ksub(const pqe_pq *self);         /* K = 2^nbits */
size_t pqe_pq_code_bytes(const pqe_pq *self);   /* unpacked: M * (nbits <= 8 ? 1 : 2) */
size_t pqe_pq_packed_bytes(const pqe_pq *self); /* ceil(M * nbits / 8) */
bool pqe_pq_is_trained(const pqe_pq *self);

/* Encodes n vectors to n * code_bytes bytes (nearest centroid per
 * subspace by exact squared distance, ties to the smaller index).  Runs on
 * params.kmeans.n_threads OpenMP threads (0 = default).  PQE_ERR_DATA
 * names the row and column of a non-finite input. */
pqe_status pqe_pq_encode(const pqe_pq *self, const float *x, size_t n, uint8_t *codes);

/* Checks that every index of n unpacked codes is below K (always true for
 * nbits 8 and 16); PQE_ERR_DATA naming the code and subspace otherwise.
 * decode, subspace_error, pack and search call it. */
pqe_status pqe_pq_check_codes(const pqe_pq *self, const uint8_t *codes, size_t n);

/* Decodes n codes to n x d floats. */
pqe_status pqe_pq_decode(const pqe_pq *self, const uint8_t *codes, size_t n, float *x);

/* Per-subspace squared error: for n vectors and their codes, adds to
 * sub_err[m] the sum over vectors of the squared error in subspace m. */
pqe_status pqe_pq_subspace_error(const pqe_pq *self, const float *x, const uint8_t *codes, size_t n,
                                 double *sub_err);

/* Packed form for storage (see the layout above). */
pqe_status pqe_pq_pack(const pqe_pq *self, const uint8_t *codes, size_t n, uint8_t *packed);
pqe_status pqe_pq_unpack(const pqe_pq *self, const uint8_t *packed, size_t n, uint8_t *codes);

/* Energy trace of the last training of each subspace, or NULL. */
const pqe_kmeans_result *pqe_pq_train_trace(const pqe_pq *self, size_t sub);

/* Saves to / loads from a small documented binary file (format at the top
 * of pq.c: magic "PQEVALPQ", version, nbits, d, M, little-endian float32
 * codebooks, CRC-32).  save writes atomically; load checks every field,
 * the length and the checksum, failing with PQE_ERR_FORMAT naming the file
 * ("truncated", "checksum mismatch", ...).  A loaded quantizer has the
 * default k-means parameters. */
pqe_status pqe_pq_save(const pqe_pq *self, const char *path);
pqe_status pqe_pq_load(const char *path, pqe_pq **out);

#ifdef __cplusplus
}
#endif

#endif
