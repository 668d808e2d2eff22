/* opq.c - the rotations of optimized product quantization (OPQ).
 *
 * Ge, He, Ke, Sun, "Optimized Product Quantization", IEEE TPAMI 36(4),
 * 744-755, 2014 (first as "Optimized Product Quantization for Approximate
 * Nearest Neighbor Search", CVPR 2013).
 *
 * Parametric solution (OPQ_P): assuming Gaussian data, the paper's
 * distortion bound is smallest when the subspaces are independent (PCA)
 * and the products of the variances in each subspace are equal.  So: the
 * covariance of the training data (double precision, around the mean),
 * its eigen-decomposition by LAPACKE_dsyevd, then the greedy "eigenvalue
 * allocation": eigenvalues in descending order, each to the subspace with
 * the smallest product so far that is not yet full.
 *
 * Non-parametric solution (OPQ_NP): alternate
 *   (a) with R fixed, k-means on the codebooks of Y = X R^T;
 *   (b) with the codes fixed (reconstructions Y^), the R minimising
 *       ||X R^T - Y^||_F over orthogonal R: orthogonal Procrustes, from the
 *       SVD X^T Y^ = U S V^T, R^T = U V^T, i.e. R = V U^T.
 * Neither step can increase the training distortion for what it fixes.
 *
 * Choices made, and why:
 *  1. No centring.  The mean is used for the covariance only; R is applied
 *     to the raw vectors.  Each subspace's k-means is translation
 *     equivariant, so quantizing R x or R (x - mean) gives the same
 *     distortion; without a mean, inner products are preserved by the
 *     rotation (dot/angular search stays exact up to quantization), nothing
 *     extra has to be stored, and R = I reproduces plain PQ bit for bit.
 *     FAISS's OPQMatrix does not centre either.
 *  2. The first step (a) of OPQ_NP is a full PQ training (pqe_pq_train with
 *     the caller's k-means parameters and seed), as plain PQ would do; the
 *     later steps (a) run inner_iters Lloyd iterations started from the
 *     current codebooks (FAISS: niter_pq = 4).  An empty cluster keeps its
 *     old centroid.
 *  3. Every iterate is measured (mean squared error in the ORIGINAL space,
 *     through pqe_pq_encode/decode, i.e. exactly as the quantizer will
 *     encode) and the best is kept.  The alternation is monotone only in
 *     exact arithmetic and with exact k-means steps; keeping the best makes
 *     "never worse than the start" a guarantee: with the identity start,
 *     never worse than plain PQ trained with the same seed.
 *  4. The identity start copies the data instead of multiplying, so that
 *     iterate 0 is exactly plain PQ.
 *  5. The products are compared as sums of 1 + log(lambda / lambda_min),
 *     i.e. the log-eigenvalues shifted so that the smallest term is 1.
 *     With raw logs the greedy depends on the data's units: eigenvalues
 *     below 1 have negative logs, so a bucket that already holds some
 *     would keep attracting more (scaling the data by 1e-3 changed the
 *     allocation; test_opq checks that it no longer does).  With every
 *     term >= 1 a bucket's product only grows, empty buckets come first
 *     and the M largest eigenvalues go to different subspaces.
 *     Eigenvalues (0 or slightly negative in floating point for constant
 *     coordinates, e.g. border pixels) are floored at 1e-12 times the
 *     largest.
 *  6. Products X^T Y^ and the rotations are single precision (cblas_sgemm);
 *     the covariance, eigenproblem and SVD are double precision.
 *
 * Measured, not assumed: on Fashion-MNIST and on the siftdeb SIFT set OPQ_P
 * quantizes WORSE than plain PQ in the natural coordinate order (Fashion,
 * 10000 training images, 8 bits: +18% mean squared error at M = 8, +6% at
 * M = 16; numpy's eigh with FAISS's ProductQuantizer gives the same), though
 * far better than PQ after a random rotation.  Real data are not Gaussian
 * and the natural order already groups dependent coordinates.  Hence the
 * default start of OPQ_NP is the identity (quantizer.h), and test_opq
 * asserts OPQ_NP < PQ but only OPQ_NP(from OPQ_P) < OPQ_P.
 *
 * TODO(perf): OPQ_NP uses all n training vectors in every outer iteration;
 * FAISS subsamples to 256 * K.  Fine up to ~10^5 vectors.
 *
 * Depends on: pq.h, kmeans.h (pqe_kmeans_assign), status.h, util.h; CBLAS
 * and LAPACKE.
 */
#include "pqeval/opq.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { ROTATE_BLOCK_ROWS = 4096, COVARIANCE_BLOCK_ROWS = 512 };

typedef struct eigen_entry {
    double value;
    size_t index;
} eigen_entry;

/* Descending by value, ties by index, so the allocation is deterministic. */
static int compare_eigen_desc(const void *a, const void *b)
{
    const eigen_entry *ea = a, *eb = b;
    if (ea->value > eb->value)
        return -1;
    if (ea->value < eb->value)
        return 1;
    return (ea->index > eb->index) - (ea->index < eb->index);
}

pqe_status pqe_opq_eigen_allocation(const double *eigenvalues, size_t dim, size_t n_sub,
                                    size_t *order)
{
    pqe_status st = PQE_OK;
    eigen_entry *sorted = NULL;
    size_t *count = NULL;
    double *log_product = NULL;
    size_t dsub;
    double floor_value, log_min;

    if (!eigenvalues || !order || dim == 0 || n_sub == 0 || dim % n_sub != 0)
        return pqe_fail(PQE_ERR_PARAM,
                        "eigenvalue allocation: %zu subspaces do not divide dimension %zu", n_sub,
                        dim);
    dsub = dim / n_sub;
    sorted = pqe_alloc_array(dim, sizeof *sorted, "eigenvalues");
    count = pqe_calloc_array(n_sub, sizeof *count, "bucket sizes");
    log_product = pqe_calloc_array(n_sub, sizeof *log_product, "bucket products");
    if (!sorted || !count || !log_product) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    for (size_t i = 0; i < dim; i++) {
        sorted[i].value = eigenvalues[i];
        sorted[i].index = i;
    }
    qsort(sorted, dim, sizeof *sorted, compare_eigen_desc);
    floor_value = sorted[0].value > 0 ? sorted[0].value * 1e-12 : 1.0;
    log_min = log(fmax(sorted[dim - 1].value, floor_value));

    /* Greedy: each eigenvalue to the non-full bucket of smallest product,
     * products compared as sums of 1 + log(lambda / lambda_min). */
    for (size_t i = 0; i < dim; i++) {
        size_t best = n_sub;
        for (size_t b = 0; b < n_sub; b++) {
            if (count[b] == dsub)
                continue;
            if (best == n_sub || log_product[b] < log_product[best])
                best = b;
        }
        order[best * dsub + count[best]] = sorted[i].index;
        count[best]++;
        log_product[best] += 1.0 + log(fmax(sorted[i].value, floor_value)) - log_min;
    }

cleanup:
    free(sorted);
    free(count);
    free(log_product);
    return st;
}

pqe_status pqe_opq_rotation_from_covariance(const double *covariance, size_t dim, size_t n_sub,
                                            float *rotation, double *eigenvalues)
{
    pqe_status st = PQE_OK;
    double *a = NULL, *w = NULL;
    size_t *order = NULL;
    size_t dd;
    lapack_int info;

    if (!covariance || !rotation || dim == 0 || n_sub == 0 || dim % n_sub != 0)
        return pqe_fail(PQE_ERR_PARAM, "opq: %zu subspaces do not divide dimension %zu", n_sub,
                        dim);
    if (!pqe_mul_ok(dim, dim, &dd) || dim > (size_t)INT32_MAX)
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: dimension %zu is too large", dim);
    a = pqe_alloc_array(dd, sizeof *a, "covariance");
    w = pqe_alloc_array(dim, sizeof *w, "eigenvalues");
    order = pqe_alloc_array(dim, sizeof *order, "eigenvalue order");
    if (!a || !w || !order) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    memcpy(a, covariance, dd * sizeof *a);

    /* Eigenvalues ascending in w, eigenvector j in column j of a. */
    info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)dim, a, (lapack_int)dim, w);
    if (info != 0) {
        st = pqe_fail(PQE_ERR_DATA,
                      "opq: the eigen-decomposition of the %zu x %zu covariance "
                      "failed (LAPACKE_dsyevd info %d)",
                      dim, dim, (int)info);
        goto cleanup;
    }
    st = pqe_opq_eigen_allocation(w, dim, n_sub, order);
    if (st != PQE_OK)
        goto cleanup;
    for (size_t r = 0; r < dim; r++) {
        for (size_t i = 0; i < dim; i++)
            rotation[r * dim + i] = (float)a[i * dim + order[r]];
        if (eigenvalues)
            eigenvalues[r] = w[order[r]];
    }

cleanup:
    free(a);
    free(w);
    free(order);
    return st;
}

pqe_status pqe_opq_covariance(const float *x, size_t n, size_t dim, double *covariance)
{
    pqe_status st = PQE_OK;
    double *mean = NULL, *block = NULL;
    size_t block_len;

    if (!x || !covariance || dim == 0 || n < 2)
        return pqe_fail(PQE_ERR_PARAM, "opq: a covariance needs at least 2 vectors, not %zu", n);
    if (dim > (size_t)INT32_MAX || n > (size_t)INT32_MAX * (size_t)COVARIANCE_BLOCK_ROWS)
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: %zu x %zu is too large for BLAS", n, dim);
    if (!pqe_mul_ok(COVARIANCE_BLOCK_ROWS, dim, &block_len))
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: dimension %zu is too large", dim);
    mean = pqe_calloc_array(dim, sizeof *mean, "mean");
    block = pqe_alloc_array(block_len, sizeof *block, "covariance block");
    if (!mean || !block) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            mean[j] += x[i * dim + j];
    for (size_t j = 0; j < dim; j++)
        mean[j] /= (double)n;

    /* Upper triangle of sum (x - mean)^T (x - mean), block by block. */
    for (size_t start = 0; start < n; start += COVARIANCE_BLOCK_ROWS) {
        size_t rows = n - start < COVARIANCE_BLOCK_ROWS ? n - start : COVARIANCE_BLOCK_ROWS;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < dim; j++)
                block[i * dim + j] = (double)x[(start + i) * dim + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dim, (int)rows, 1.0, block,
                    (int)dim, start == 0 ? 0.0 : 1.0, covariance, (int)dim);
    }
    for (size_t i = 0; i < dim; i++) {
        for (size_t j = i; j < dim; j++) {
            covariance[i * dim + j] /= (double)n;
            covariance[j * dim + i] = covariance[i * dim + j];
        }
    }

cleanup:
    free(mean);
    free(block);
    return st;
}

pqe_status pqe_opq_parametric(const float *x, size_t n, size_t dim, size_t n_sub, float *rotation)
{
    pqe_status st;
    double *covariance = NULL;
    size_t dd;

    if (!pqe_mul_ok(dim, dim, &dd))
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: dimension %zu is too large", dim);
    if (n_sub == 0 || dim == 0 || dim % n_sub != 0)
        return pqe_fail(PQE_ERR_PARAM, "opq: %zu subspaces do not divide dimension %zu", n_sub,
                        dim);
    covariance = pqe_alloc_array(dd, sizeof *covariance, "covariance");
    if (!covariance)
        return pqe_alloc_status();
    st = pqe_opq_covariance(x, n, dim, covariance);
    if (st == PQE_OK)
        st = pqe_opq_rotation_from_covariance(covariance, dim, n_sub, rotation, NULL);
    free(covariance);
    return st;
}

/* out = x R^T (trans_r) or x R (!trans_r), block by block. */
static pqe_status multiply_rows(const float *rotation, size_t dim, const float *x, size_t n,
                                float *out, int trans_r)
{
    if (!rotation || !x || !out || dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "opq: rotation of %zu rows of dimension %zu without data", n,
                        dim);
    if (dim > (size_t)INT32_MAX)
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: dimension %zu is too large for BLAS", dim);
    for (size_t start = 0; start < n; start += ROTATE_BLOCK_ROWS) {
        size_t rows = n - start < ROTATE_BLOCK_ROWS ? n - start : ROTATE_BLOCK_ROWS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_r ? CblasTrans : CblasNoTrans, (int)rows,
                    (int)dim, (int)dim, 1.0f, x + start * dim, (int)dim, rotation, (int)dim, 0.0f,
                    out + start * dim, (int)dim);
    }
    return PQE_OK;
}

pqe_status pqe_opq_rotate(const float *rotation, size_t dim, const float *x, size_t n, float *out)
{
    return multiply_rows(rotation, dim, x, n, out, 1);
}

pqe_status pqe_opq_unrotate(const float *rotation, size_t dim, const float *y, size_t n, float *out)
{
    return multiply_rows(rotation, dim, y, n, out, 0);
}

void pqe_opq_trace_clear(pqe_opq_trace *trace)
{
    if (!trace)
        return;
    free(trace->distortion);
    memset(trace, 0, sizeof *trace);
}

/* Working memory of OPQ_NP. */
typedef struct opq_work {
    size_t n, dim, n_sub, ksub, dsub;
    float *y;         /* X R^T, n x dim */
    float *yhat;      /* decoded codes in the rotated space, n x dim */
    float *xhat;      /* a block of reconstructions in the original space */
    uint8_t *codes;   /* n x code_bytes */
    float *codebooks; /* M x K x dsub, the current ones */
    float *sub;       /* one subspace of y, n x dsub */
    int64_t *assign;  /* n */
    double *sums;     /* K x dsub */
    size_t *counts;   /* K */
    double *cross;    /* X^T Y^ in double for the SVD, dim x dim */
    float *cross_f;   /* the same in float, from sgemm */
    double *u, *vt, *s, *superb, *rot_d;
} opq_work;

static void opq_work_free(opq_work *w)
{
    free(w->y);
    free(w->yhat);
    free(w->xhat);
    free(w->codes);
    free(w->codebooks);
    free(w->sub);
    free(w->assign);
    free(w->sums);
    free(w->counts);
    free(w->cross);
    free(w->cross_f);
    free(w->u);
    free(w->vt);
    free(w->s);
    free(w->superb);
    free(w->rot_d);
}

static pqe_status opq_work_alloc(opq_work *w, const pqe_pq *pq, size_t n)
{
    size_t nd, dd, kd, nc, cb;

    w->n = n;
    w->dim = pqe_pq_dim(pq);
    w->n_sub = pqe_pq_n_sub(pq);
    w->ksub = pqe_pq_ksub(pq);
    w->dsub = w->dim / w->n_sub;
    if (!pqe_mul_ok(n, w->dim, &nd) || !pqe_mul_ok(w->dim, w->dim, &dd) ||
        !pqe_mul_ok(w->ksub, w->dsub, &kd) || !pqe_mul_ok(n, pqe_pq_code_bytes(pq), &nc) ||
        !pqe_mul_ok(kd, w->n_sub, &cb))
        return pqe_fail(PQE_ERR_OVERFLOW, "opq: %zu vectors of dimension %zu are too many", n,
                        w->dim);
    w->y = pqe_alloc_array(nd, sizeof(float), "rotated vectors");
    w->yhat = pqe_alloc_array(nd, sizeof(float), "reconstructions");
    w->xhat = pqe_alloc_array((size_t)ROTATE_BLOCK_ROWS * w->dim, sizeof(float), "block");
    w->codes = pqe_alloc_array(nc, 1, "codes");
    w->codebooks = pqe_alloc_array(cb, sizeof(float), "codebooks");
    w->sub = pqe_alloc_array(n, w->dsub * sizeof(float), "subspace vectors");
    w->assign = pqe_alloc_array(n, sizeof(int64_t), "assignments");
    w->sums = pqe_alloc_array(kd, sizeof(double), "centroid sums");
    w->counts = pqe_alloc_array(w->ksub, sizeof(size_t), "centroid counts");
    w->cross = pqe_alloc_array(dd, sizeof(double), "procrustes matrix");
    w->cross_f = pqe_alloc_array(dd, sizeof(float), "procrustes matrix");
    w->u = pqe_alloc_array(dd, sizeof(double), "svd u");
    w->vt = pqe_alloc_array(dd, sizeof(double), "svd vt");
    w->s = pqe_alloc_array(w->dim, sizeof(double), "singular values");
    w->superb = pqe_alloc_array(w->dim, sizeof(double), "svd work");
    w->rot_d = pqe_alloc_array(dd, sizeof(double), "rotation");
    if (!w->y || !w->yhat || !w->xhat || !w->codes || !w->codebooks || !w->sub || !w->assign ||
        !w->sums || !w->counts || !w->cross || !w->cross_f || !w->u || !w->vt || !w->s ||
        !w->superb || !w->rot_d)
        return pqe_alloc_status();
    return PQE_OK;
}

/* Encodes w->y, decodes into w->yhat and returns in *mse the mean squared
 * error against x in the original space (x^ = y^ R). */
static pqe_status measure(opq_work *w, const pqe_pq *pq, const float *rotation, const float *x,
                          double *mse)
{
    pqe_status st;
    double total = 0;

    st = pqe_pq_encode(pq, w->y, w->n, w->codes);
    if (st == PQE_OK)
        st = pqe_pq_decode(pq, w->codes, w->n, w->yhat);
    for (size_t start = 0; st == PQE_OK && start < w->n; start += ROTATE_BLOCK_ROWS) {
        size_t rows = w->n - start < ROTATE_BLOCK_ROWS ? w->n - start : ROTATE_BLOCK_ROWS;
        st = pqe_opq_unrotate(rotation, w->dim, w->yhat + start * w->dim, rows, w->xhat);
        for (size_t i = 0; st == PQE_OK && i < rows * w->dim; i++) {
            double diff = (double)x[start * w->dim + i] - (double)w->xhat[i];
            total += diff * diff;
        }
    }
    *mse = total / (double)w->n;
    return st;
}

/* The Procrustes step: R = V U^T from X^T Y^ = U S V^T. */
static pqe_status procrustes(opq_work *w, const float *x, float *rotation)
{
    size_t d = w->dim;
    lapack_int info;

    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)w->n, 1.0f, x, (int)d,
                w->yhat, (int)d, 0.0f, w->cross_f, (int)d);
    for (size_t i = 0; i < d * d; i++)
        w->cross[i] = w->cross_f[i];
    info =
        LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'A', (lapack_int)d, (lapack_int)d, w->cross,
                       (lapack_int)d, w->s, w->u, (lapack_int)d, w->vt, (lapack_int)d, w->superb);
    if (info != 0)
        return pqe_fail(PQE_ERR_DATA,
                        "opq: the SVD of the %zu x %zu Procrustes matrix failed "
                        "(LAPACKE_dgesvd info %d)",
                        d, d, (int)info);
    /* R[i][j] = sum_k V[i][k] U[j][k] = sum_k VT[k][i] U[j][k]. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)d, (int)d, (int)d, 1.0, w->vt, (int)d,
                w->u, (int)d, 0.0, w->rot_d, (int)d);
    for (size_t i = 0; i < d * d; i++)
        rotation[i] = (float)w->rot_d[i];
    return PQE_OK;
}

/* One Lloyd iteration of every subspace codebook on w->y, from
 * w->codebooks; an empty cluster keeps its centroid. */
static pqe_status lloyd_step(opq_work *w)
{
    pqe_status st = PQE_OK;
    size_t dsub = w->dsub, ksub = w->ksub;

    for (size_t m = 0; m < w->n_sub && st == PQE_OK; m++) {
        float *centroids = w->codebooks + m * ksub * dsub;
        for (size_t i = 0; i < w->n; i++)
            memcpy(w->sub + i * dsub, w->y + i * w->dim + m * dsub, dsub * sizeof(float));
        st = pqe_kmeans_assign(w->sub, w->n, dsub, centroids, ksub, w->assign, NULL);
        if (st != PQE_OK)
            break;
        memset(w->sums, 0, ksub * dsub * sizeof *w->sums);
        memset(w->counts, 0, ksub * sizeof *w->counts);
        for (size_t i = 0; i < w->n; i++) {
            size_t c = (size_t)w->assign[i];
            w->counts[c]++;
            for (size_t j = 0; j < dsub; j++)
                w->sums[c * dsub + j] += w->sub[i * dsub + j];
        }
        for (size_t c = 0; c < ksub; c++) {
            if (w->counts[c] == 0)
                continue;
            for (size_t j = 0; j < dsub; j++)
                centroids[c * dsub + j] = (float)(w->sums[c * dsub + j] / (double)w->counts[c]);
        }
    }
    return st;
}

pqe_status pqe_opq_nonparametric(const pqe_opq_params *params, const float *x, size_t n,
                                 float *rotation, pqe_pq **pq_out, pqe_opq_trace *trace)
{
    pqe_status st;
    opq_work w;
    pqe_pq *pq = NULL;
    float *best_rotation = NULL, *best_codebooks = NULL;
    double *distortion = NULL;
    double best;
    unsigned best_iter = 0;
    size_t dim, dd, cb_len;

    memset(&w, 0, sizeof w);
    if (trace)
        memset(trace, 0, sizeof *trace);
    if (!params || !x || !rotation || !pq_out)
        return pqe_fail(PQE_ERR_PARAM, "opq: missing argument");
    *pq_out = NULL;
    if (params->inner_iters == 0)
        return pqe_fail(PQE_ERR_PARAM, "opq: inner iterations must be at least 1, not 0");
    if (n > (size_t)INT32_MAX || params->pq.dim > (size_t)INT32_MAX)
        return pqe_fail(PQE_ERR_OVERFLOW,
                        "opq: %zu training vectors of dimension %zu are too "
                        "many for BLAS",
                        n, params->pq.dim);
    if (params->start != PQE_OPQ_START_PARAMETRIC && params->start != PQE_OPQ_START_IDENTITY)
        return pqe_fail(PQE_ERR_PARAM, "opq: unknown start %d", (int)params->start);
    st = pqe_pq_new(&params->pq, &pq);
    if (st != PQE_OK)
        return st;
    dim = params->pq.dim;
    if (!pqe_mul_ok(dim, dim, &dd)) {
        st = pqe_fail(PQE_ERR_OVERFLOW, "opq: dimension %zu is too large", dim);
        goto cleanup;
    }
    st = opq_work_alloc(&w, pq, n);
    if (st != PQE_OK)
        goto cleanup;
    cb_len = w.n_sub * w.ksub * w.dsub;
    best_rotation = pqe_alloc_array(dd, sizeof(float), "rotation");
    best_codebooks = pqe_alloc_array(cb_len, sizeof(float), "codebooks");
    distortion = pqe_alloc_array((size_t)params->outer_iters + 1, sizeof(double), "trace");
    if (!best_rotation || !best_codebooks || !distortion) {
        st = pqe_alloc_status();
        goto cleanup;
    }

    /* Start: R0 and a full PQ training on X R0^T, like plain PQ. */
    if (params->start == PQE_OPQ_START_PARAMETRIC) {
        st = pqe_opq_parametric(x, n, dim, w.n_sub, rotation);
        if (st == PQE_OK)
            st = pqe_opq_rotate(rotation, dim, x, n, w.y);
    } else {
        memset(rotation, 0, dd * sizeof(float));
        for (size_t i = 0; i < dim; i++)
            rotation[i * dim + i] = 1.0f;
        memcpy(w.y, x, n * dim * sizeof(float));
    }
    if (st == PQE_OK)
        st = pqe_pq_train(pq, w.y, n);
    if (st == PQE_OK)
        st = measure(&w, pq, rotation, x, &best);
    if (st != PQE_OK)
        goto cleanup;
    distortion[0] = best;
    memcpy(w.codebooks, pqe_pq_codebooks(pq), cb_len * sizeof(float));
    memcpy(best_codebooks, w.codebooks, cb_len * sizeof(float));
    memcpy(best_rotation, rotation, dd * sizeof(float));

    for (unsigned it = 1; it <= params->outer_iters; it++) {
        double mse;

        /* (b) R from the current reconstructions, then (a) the codebooks. */
        st = procrustes(&w, x, rotation);
        if (st == PQE_OK)
            st = pqe_opq_rotate(rotation, dim, x, n, w.y);
        for (unsigned j = 0; st == PQE_OK && j < params->inner_iters; j++)
            st = lloyd_step(&w);
        if (st == PQE_OK)
            st = pqe_pq_set_codebooks(pq, w.codebooks);
        if (st == PQE_OK)
            st = measure(&w, pq, rotation, x, &mse);
        if (st != PQE_OK)
            goto cleanup;
        distortion[it] = mse;
        pqe_log(PQE_LOG_DEBUG, "opq: outer iteration %u: distortion %.6g", it, mse);
        if (mse < best) {
            best = mse;
            best_iter = it;
            memcpy(best_codebooks, w.codebooks, cb_len * sizeof(float));
            memcpy(best_rotation, rotation, dd * sizeof(float));
        }
    }

    memcpy(rotation, best_rotation, dd * sizeof(float));
    st = pqe_pq_set_codebooks(pq, best_codebooks);
    if (st != PQE_OK)
        goto cleanup;
    if (trace) {
        trace->distortion = distortion;
        trace->n_iters = params->outer_iters;
        trace->best_iter = best_iter;
        distortion = NULL;
    }
    *pq_out = pq;
    pq = NULL;

cleanup:
    opq_work_free(&w);
    pqe_pq_free(pq);
    free(best_rotation);
    free(best_codebooks);
    free(distortion);
    return st;
}
