/* opq.h - rotations for optimized product quantization (OPQ).
 *
 * Ge, He, Ke, Sun, "Optimized Product Quantization", IEEE TPAMI 36(4), 2014
 * (CVPR 2013 "Optimized Product Quantization for Approximate Nearest
 * Neighbor Search").  An orthogonal matrix R (dim x dim, row-major) is
 * applied before PQ: a vector x is quantized as y = R x, and a
 * reconstruction y^ is mapped back as x^ = R^T y^.  Rows of data are
 * rotated as Y = X R^T.
 *
 * Two ways of finding R:
 *  - parametric (OPQ_P): PCA of the training data and the paper's
 *    "eigenvalue allocation" of the eigen-directions to the M subspaces;
 *  - non-parametric (OPQ_NP): alternating PQ training on rotated data and
 *    an orthogonal Procrustes update of R.
 * src/opq.c states the choices made (no centring, best iterate kept).
 *
 * Depends on: status.h, pq.h, kmeans.h; BLAS and LAPACKE.
 */
#ifndef PQEVAL_OPQ_H
#define PQEVAL_OPQ_H

#include <stddef.h>
#include <stdint.h>

#include "pqeval/kmeans.h"
#include "pqeval/pq.h"
#include "pqeval/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pqe_opq_start {
    PQE_OPQ_START_PARAMETRIC = 0, /* start OPQ_NP from the OPQ_P rotation (the paper's advice) */
    PQE_OPQ_START_IDENTITY = 1    /* start from the identity (as FAISS's OPQMatrix does) */
} pqe_opq_start;

enum {
    PQE_OPQ_OUTER_ITERS_DEFAULT = 25, /* FAISS's OPQMatrix niter */
    PQE_OPQ_INNER_ITERS_DEFAULT = 4   /* k-means iterations per outer step (FAISS: niter_pq 4) */
};

/* The eigenvalue allocation of the paper: eigenvalues are
 * taken in descending order and each goes to the subspace ("bucket") whose
 * product of eigenvalues so far is smallest among those not yet full (ties
 * to the lower bucket); each bucket takes dim / n_sub of them.  Products
 * are compared as sums of 1 + log(lambda / lambda_min), which makes the
 * result independent of the data's scale (see opq.c).  eigenvalues: dim
 * values in any order.  Writes to order[] (dim entries) the index of the
 * eigenvalue placed at each output position: bucket 0's dim/n_sub entries
 * first, each bucket in the order it received them.  Eigenvalues below
 * 1e-12 times the largest are floored there.  Fails with PQE_ERR_PARAM if
 * n_sub does not divide dim. */
pqe_status pqe_opq_eigen_allocation(const double *eigenvalues, size_t dim, size_t n_sub,
                                    size_t *order);

/* The parametric rotation from a covariance matrix (dim x dim, row-major,
 * symmetric; only the upper triangle is read): its eigenvectors, as the
 * rows of rotation (dim x dim, caller-allocated), in the order of
 * pqe_opq_eigen_allocation.  If eigenvalues is not NULL it receives, for
 * each row of rotation, the eigenvalue of that row. */
pqe_status pqe_opq_rotation_from_covariance(const double *covariance, size_t dim, size_t n_sub,
                                            float *rotation, double *eigenvalues);

/* The covariance (around the mean, divided by n) of n vectors, in double:
 * dim x dim, caller-allocated.  Fails with PQE_ERR_PARAM if n < 2. */
pqe_status pqe_opq_covariance(const float *x, size_t n, size_t dim, double *covariance);

/* OPQ_P: the covariance of x, then pqe_opq_rotation_from_covariance. */
pqe_status pqe_opq_parametric(const float *x, size_t n, size_t dim, size_t n_sub, float *rotation);

/* Parameters of OPQ_NP. */
typedef struct pqe_opq_params {
    pqe_pq_params pq;     /* dim, M, nbits and the k-means of the first PQ training */
    pqe_opq_start start;  /* the initial rotation */
    unsigned outer_iters; /* Procrustes updates, >= 0 (0 = the start rotation only) */
    unsigned inner_iters; /* Lloyd iterations on the codebooks after each update, >= 1 */
} pqe_opq_params;

/* What OPQ_NP did: distortion (mean squared error per vector, measured in
 * the original space on the training vectors) after the first PQ training
 * and after each outer iteration, and which iterate was kept. */
typedef struct pqe_opq_trace {
    double *distortion; /* n_iters + 1 entries, owned (free with pqe_opq_trace_clear) */
    unsigned n_iters;
    unsigned best_iter; /* 0 = the start rotation with freshly trained PQ */
} pqe_opq_trace;

void pqe_opq_trace_clear(pqe_opq_trace *trace);

/* OPQ_NP on n training vectors: writes the rotation (dim x dim,
 * caller-allocated) and returns in *pq_out a trained PQ for the rotated
 * space (owned by the caller).  The iterate with the lowest training
 * distortion is returned, so the result is never worse on the training
 * data than the start (with the identity start: than plain PQ with the
 * same parameters).  trace may be NULL. */
pqe_status pqe_opq_nonparametric(const pqe_opq_params *params, const float *x, size_t n,
                                 float *rotation, pqe_pq **pq_out, pqe_opq_trace *trace);

/* Y = X R^T for n rows: out (n x dim) must not overlap x. */
pqe_status pqe_opq_rotate(const float *rotation, size_t dim, const float *x, size_t n, float *out);

/* X = Y R for n rows (the inverse rotation): out must not overlap y. */
pqe_status pqe_opq_unrotate(const float *rotation, size_t dim, const float *y, size_t n,
                            float *out);

#ifdef __cplusplus
}
#endif

#endif
