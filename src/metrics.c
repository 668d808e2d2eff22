/* metrics.c - distortion, ADC error, exact distances of returned ids,
 * 1-recall@R, k-recall@k, Wilson and normal intervals, spreads over seeds.
 *
 * The definitions are stated in include/pqeval/metrics.h.  Choices made here:
 * - Every sum is accumulated in double from float inputs (a float minus a
 *   float is exact in double, so only the additions round).  The total
 *   distortion of a vector is the sum of its per-subspace errors, so the
 *   per-subspace values add up to the total up to the rounding of the final
 *   divisions.
 * - Standard deviations use two passes (mean, then squared deviations),
 *   which does not lose digits when the spread is small beside the mean.
 * - k-recall@k follows ann-benchmarks' get_recall_values (knn_threshold):
 *   exact distances of the returned items against the k-th true distance
 *   plus an absolute epsilon, so items tied with the k-th neighbour count.
 *
 * Depends on: status.h, dataset.h, rng.h, util.h; libm.
 */
#include "pqeval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/rng.h"
#include "util.h"

/* ---- distortion ------------------------------------------------------ */

pqe_status pqe_distortion_acc_init(pqe_distortion_acc *self, size_t dim, size_t n_sub)
{
    memset(self, 0, sizeof *self);
    if (dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "distortion: dimension is 0");
    if (n_sub > 0 && dim % n_sub != 0)
        return pqe_fail(PQE_ERR_PARAM, "distortion: %zu subspaces do not divide the dimension %zu",
                        n_sub, dim);
    self->dim = dim;
    self->n_sub = n_sub;
    if (n_sub > 0) {
        self->sum_sub = pqe_calloc_array(n_sub, sizeof *self->sum_sub, "per-subspace sums");
        if (!self->sum_sub)
            return pqe_alloc_status();
    }
    return PQE_OK;
}

pqe_status pqe_distortion_acc_add(pqe_distortion_acc *self, const float *x, const float *xhat,
                                  size_t n)
{
    size_t dim = self->dim;
    size_t n_sub = self->n_sub ? self->n_sub : 1;
    size_t dsub = dim / n_sub;

    if (dim == 0)
        return pqe_fail(PQE_ERR_PARAM, "distortion: accumulator not initialised");
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * dim;
        const float *yi = xhat + i * dim;
        double err = 0.0, norm = 0.0;

        for (size_t m = 0; m < n_sub; m++) {
            double sub = 0.0;
            for (size_t j = m * dsub; j < (m + 1) * dsub; j++) {
                double diff = (double)xi[j] - (double)yi[j];
                sub += diff * diff;
                norm += (double)xi[j] * (double)xi[j];
            }
            if (self->n_sub)
                self->sum_sub[m] += sub;
            err += sub;
        }
        if (!isfinite(err) || !isfinite(norm))
            return pqe_fail(PQE_ERR_DATA,
                            "distortion: row %zu (of this batch) has a non-finite value", i);
        self->sum_err += err;
        self->sum_norm += norm;
    }
    self->n += n;
    return PQE_OK;
}

pqe_status pqe_distortion_acc_finish(const pqe_distortion_acc *self, pqe_distortion *out)
{
    memset(out, 0, sizeof *out);
    if (self->n == 0)
        return pqe_fail(PQE_ERR_PARAM, "distortion: no vectors to measure (n = 0)");
    out->n = self->n;
    out->mse = self->sum_err / (double)self->n;
    out->mean_sq_norm = self->sum_norm / (double)self->n;
    out->rel = out->mean_sq_norm > 0.0 ? out->mse / out->mean_sq_norm : NAN;
    out->n_sub = self->n_sub;
    if (self->n_sub > 0) {
        out->mse_sub = pqe_alloc_array(self->n_sub, sizeof *out->mse_sub, "per-subspace mse");
        if (!out->mse_sub) {
            out->n_sub = 0;
            return pqe_alloc_status();
        }
        for (size_t m = 0; m < self->n_sub; m++)
            out->mse_sub[m] = self->sum_sub[m] / (double)self->n;
    }
    return PQE_OK;
}

void pqe_distortion_acc_clear(pqe_distortion_acc *self)
{
    if (!self)
        return;
    free(self->sum_sub);
    memset(self, 0, sizeof *self);
}

pqe_status pqe_distortion_compute(const float *x, const float *xhat, size_t n, size_t dim,
                                  size_t n_sub, pqe_distortion *out)
{
    pqe_distortion_acc acc;
    pqe_status st;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return pqe_fail(PQE_ERR_PARAM, "distortion: no vectors to measure (n = 0)");
    st = pqe_distortion_acc_init(&acc, dim, n_sub);
    if (st == PQE_OK)
        st = pqe_distortion_acc_add(&acc, x, xhat, n);
    if (st == PQE_OK)
        st = pqe_distortion_acc_finish(&acc, out);
    pqe_distortion_acc_clear(&acc);
    return st;
}

void pqe_distortion_clear(pqe_distortion *self)
{
    if (!self)
        return;
    free(self->mse_sub);
    memset(self, 0, sizeof *self);
}

/* ---- ADC error ------------------------------------------------------- */

pqe_status pqe_sample_pairs(size_t n_queries, size_t n_base, size_t n_pairs, uint64_t seed,
                            size_t *query_idx, size_t *base_idx)
{
    pqe_rng rng;
    size_t *perm = NULL;

    if (n_queries == 0 || n_base == 0 || n_pairs == 0)
        return pqe_fail(PQE_ERR_PARAM,
                        "pair sample: need queries, base vectors and pairs, got %zu, %zu, %zu",
                        n_queries, n_base, n_pairs);
    perm = pqe_alloc_array(n_queries, sizeof *perm, "query order");
    if (!perm)
        return pqe_alloc_status();
    pqe_rng_seed(&rng, seed);
    pqe_rng_permutation(&rng, perm, n_queries);
    for (size_t p = 0; p < n_pairs; p++) {
        query_idx[p] = perm[p % n_queries];
        base_idx[p] = (size_t)pqe_rng_below(&rng, n_base);
    }
    free(perm);
    return PQE_OK;
}

pqe_status pqe_pair_sq_distances(const float *queries, size_t n_queries, const float *base,
                                 size_t n_base, size_t dim, const size_t *query_idx,
                                 const size_t *base_idx, size_t n_pairs, double *out)
{
    for (size_t p = 0; p < n_pairs; p++) {
        if (query_idx[p] >= n_queries || base_idx[p] >= n_base)
            return pqe_fail(PQE_ERR_PARAM,
                            "pair %zu: query %zu or base %zu out of range (%zu queries, %zu "
                            "base vectors)",
                            p, query_idx[p], base_idx[p], n_queries, n_base);
        const float *q = queries + query_idx[p] * dim;
        const float *b = base + base_idx[p] * dim;
        double s = 0.0;
        for (size_t j = 0; j < dim; j++) {
            double diff = (double)q[j] - (double)b[j];
            s += diff * diff;
        }
        out[p] = s;
    }
    return PQE_OK;
}

pqe_status pqe_adc_error_compute(const double *est, const double *exact, size_t n_pairs,
                                 pqe_adc_error *out)
{
    double sum = 0.0, sum_rel = 0.0, ss = 0.0;
    size_t n_rel = 0;

    memset(out, 0, sizeof *out);
    if (n_pairs == 0)
        return pqe_fail(PQE_ERR_PARAM, "adc error: no pairs (n = 0)");

    /* First pass: the mean and the relative errors. */
    for (size_t p = 0; p < n_pairs; p++) {
        if (!isfinite(est[p]) || !isfinite(exact[p]))
            return pqe_fail(PQE_ERR_DATA, "adc error: pair %zu is not finite (est %g, exact %g)", p,
                            est[p], exact[p]);
        sum += est[p] - exact[p];
        if (exact[p] > 0.0) {
            sum_rel += (est[p] - exact[p]) / exact[p];
            n_rel++;
        }
    }
    out->n_pairs = n_pairs;
    out->mean = sum / (double)n_pairs;
    out->n_rel = n_rel;
    out->rel_mean = n_rel ? sum_rel / (double)n_rel : NAN;

    /* Second pass: squared deviations from the mean. */
    for (size_t p = 0; p < n_pairs; p++) {
        double dev = (est[p] - exact[p]) - out->mean;
        ss += dev * dev;
    }
    out->sd = n_pairs >= 2 ? sqrt(ss / (double)(n_pairs - 1)) : NAN;
    return PQE_OK;
}

/* ---- exact distances ------------------------------------------------- */

/* The distance of a and b under metric, in double (see metrics.h). */
static double exact_distance(pqe_metric metric, const float *a, const float *b, size_t dim)
{
    double s = 0.0, na = 0.0, nb = 0.0;

    switch (metric) {
    case PQE_METRIC_EUCLIDEAN:
        for (size_t j = 0; j < dim; j++) {
            double diff = (double)a[j] - (double)b[j];
            s += diff * diff;
        }
        return sqrt(s);
    case PQE_METRIC_ANGULAR:
        for (size_t j = 0; j < dim; j++) {
            s += (double)a[j] * (double)b[j];
            na += (double)a[j] * (double)a[j];
            nb += (double)b[j] * (double)b[j];
        }
        if (na == 0.0 || nb == 0.0)
            return 1.0;
        return 1.0 - s / (sqrt(na) * sqrt(nb));
    case PQE_METRIC_DOT:
        for (size_t j = 0; j < dim; j++)
            s += (double)a[j] * (double)b[j];
        return s;
    }
    return NAN;
}

pqe_status pqe_exact_distances(pqe_metric metric, const float *queries, const float *base,
                               size_t n_base, size_t dim, const int64_t *ids, size_t nq, size_t k,
                               float *out)
{
    float worst = metric == PQE_METRIC_DOT ? -INFINITY : INFINITY;

    if (metric != PQE_METRIC_EUCLIDEAN && metric != PQE_METRIC_ANGULAR && metric != PQE_METRIC_DOT)
        return pqe_fail(PQE_ERR_PARAM, "exact distances: unknown metric %d", (int)metric);
    for (size_t q = 0; q < nq; q++) {
        for (size_t r = 0; r < k; r++) {
            int64_t id = ids[q * k + r];
            if (id == -1) {
                out[q * k + r] = worst;
                continue;
            }
            if (id < -1 || (uint64_t)id >= (uint64_t)n_base)
                return pqe_fail(PQE_ERR_DATA,
                                "exact distances: query %zu, rank %zu: id %lld is outside "
                                "0..%zu",
                                q, r, (long long)id, n_base - 1);
            out[q * k + r] =
                (float)exact_distance(metric, queries + q * dim, base + (size_t)id * dim, dim);
        }
    }
    return PQE_OK;
}

/* ---- 1-recall@R ------------------------------------------------------ */

pqe_status pqe_recall_at_r(const int64_t *ids, size_t nq, size_t k, const int32_t *gt_neighbors,
                           size_t gt_k, const size_t *r_values, size_t n_r,
                           const pqe_recall_ties *ties, double *recall, uint8_t *hits,
                           size_t *n_hits)
{
    bool tie_aware = ties && ties->tie_aware;
    size_t *count = NULL;
    pqe_status st = PQE_OK;

    if (nq == 0 || k == 0 || gt_k == 0 || n_r == 0)
        return pqe_fail(PQE_ERR_PARAM,
                        "1-recall@R: empty input (queries %zu, k %zu, gt_k %zu, R values %zu)", nq,
                        k, gt_k, n_r);
    for (size_t j = 0; j < n_r; j++) {
        if (r_values[j] == 0 || r_values[j] > k)
            return pqe_fail(PQE_ERR_PARAM,
                            "1-recall@R: R = %zu is outside 1..%zu (the results "
                            "per query)",
                            r_values[j], k);
    }
    if (!gt_neighbors)
        return pqe_fail(PQE_ERR_PARAM, "1-recall@R: the dataset has no ground-truth neighbours");
    if (tie_aware && (!ties->ret_distances || !ties->gt_distances))
        return pqe_fail(PQE_ERR_PARAM, "1-recall@R: tie-aware recall needs the exact distances "
                                       "of the returned ids and the ground-truth distances");
    count = pqe_calloc_array(n_r, sizeof *count, "recall counts");
    if (!count)
        return pqe_alloc_status();

    for (size_t q = 0; q < nq; q++) {
        int32_t nn = gt_neighbors[q * gt_k];
        size_t first = k; /* rank of the first hit, k if none */

        if (nn < 0) {
            st = pqe_fail(PQE_ERR_DATA,
                          "1-recall@R: query %zu has no ground-truth neighbour "
                          "(id %d)",
                          q, (int)nn);
            goto cleanup;
        }

        /* The first rank at which the query counts as found. */
        for (size_t r = 0; r < k && first == k; r++) {
            if (ids[q * k + r] == (int64_t)nn) {
                first = r;
            } else if (tie_aware && ids[q * k + r] >= 0) {
                double d = ties->ret_distances[q * k + r];
                double nn_d = ties->gt_distances[q * gt_k];
                bool tied = ties->metric == PQE_METRIC_DOT ? d >= nn_d - ties->tie_eps
                                                           : d <= nn_d + ties->tie_eps;
                if (tied)
                    first = r;
            }
        }
        for (size_t j = 0; j < n_r; j++) {
            uint8_t hit = first < r_values[j];
            count[j] += hit;
            if (hits)
                hits[q * n_r + j] = hit;
        }
    }
    for (size_t j = 0; j < n_r; j++) {
        recall[j] = (double)count[j] / (double)nq;
        if (n_hits)
            n_hits[j] = count[j];
    }

cleanup:
    free(count);
    return st;
}

/* ---- k-recall@k ------------------------------------------------------ */

pqe_status pqe_k_recall(pqe_metric metric, const float *ret_distances, size_t ret_stride,
                        const float *gt_distances, size_t gt_k, size_t nq, size_t k, double epsilon,
                        double *mean, float *per_query)
{
    double total = 0.0;

    if (!gt_distances)
        return pqe_fail(PQE_ERR_PARAM, "k-recall@k: the dataset has no ground-truth distances");
    if (k == 0 || nq == 0 || k > gt_k || k > ret_stride)
        return pqe_fail(PQE_ERR_PARAM,
                        "k-recall@k: k = %zu must be in 1..min(gt_k %zu, results %zu), queries "
                        "%zu",
                        k, gt_k, ret_stride, nq);
    for (size_t q = 0; q < nq; q++) {
        double kth = gt_distances[q * gt_k + k - 1];
        size_t found = 0;

        if (isnan(kth))
            return pqe_fail(PQE_ERR_DATA,
                            "k-recall@k: query %zu: ground-truth distance %zu is "
                            "NaN",
                            q, k - 1);
        for (size_t r = 0; r < k; r++) {
            double d = ret_distances[q * ret_stride + r];
            if (metric == PQE_METRIC_DOT ? d >= kth - epsilon : d <= kth + epsilon)
                found++;
        }
        if (per_query)
            per_query[q] = (float)((double)found / (double)k);
        total += (double)found / (double)k;
    }
    *mean = total / (double)nq;
    return PQE_OK;
}

/* ---- intervals and spreads ------------------------------------------- */

pqe_status pqe_wilson_interval(size_t successes, size_t n, double z, double *lo, double *hi)
{
    double p, z2n, center, half;

    if (n == 0 || successes > n)
        return pqe_fail(PQE_ERR_PARAM, "wilson interval: %zu successes out of %zu", successes, n);
    p = (double)successes / (double)n;
    z2n = z * z / (double)n;
    center = (p + z2n / 2.0) / (1.0 + z2n);
    half = z / (1.0 + z2n) * sqrt(p * (1.0 - p) / (double)n + z2n / (4.0 * (double)n));
    *lo = fmax(0.0, center - half);
    *hi = fmin(1.0, center + half);
    return PQE_OK;
}

pqe_status pqe_mean_interval(const float *values, size_t n, double z, double *mean, double *lo,
                             double *hi)
{
    double sum = 0.0, ss = 0.0, m, half;

    if (n == 0)
        return pqe_fail(PQE_ERR_PARAM, "mean interval: no values (n = 0)");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return pqe_fail(PQE_ERR_DATA, "mean interval: value %zu is %g", i, values[i]);
        sum += values[i];
    }
    m = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += ((double)values[i] - m) * ((double)values[i] - m);
    half = n >= 2 ? z * sqrt(ss / (double)(n - 1)) / sqrt((double)n) : 0.0;
    *mean = m;
    *lo = m - half;
    *hi = m + half;
    return PQE_OK;
}

pqe_status pqe_spread_compute(const double *values, size_t n, pqe_spread *out)
{
    double sum = 0.0, ss = 0.0;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return pqe_fail(PQE_ERR_PARAM, "spread: no values (n = 0)");
    out->min = INFINITY;
    out->max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(values[i]))
            return pqe_fail(PQE_ERR_DATA, "spread: value %zu is NaN", i);
        sum += values[i];
        out->min = fmin(out->min, values[i]);
        out->max = fmax(out->max, values[i]);
    }
    out->n = n;
    out->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (values[i] - out->mean) * (values[i] - out->mean);
    out->sd = n >= 2 ? sqrt(ss / (double)(n - 1)) : NAN;
    return PQE_OK;
}
