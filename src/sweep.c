/* sweep.c - the main job: train, encode, measure and search each setting of
 * a grid, then judge whether distortion predicts recall.
 *
 * For each setting the steps are:
 *   1. draw the training vectors (the `learn` part if the dataset has one,
 *      else the base minus an optional held-out part, as ann-benchmarks
 *      trains on the base), the first n_train of a permutation seeded by the
 *      setting's seed;
 *   2. train the quantizer and add the base (the encode timing);
 *   3. distortion over the whole base, per subspace, on the training vectors
 *      and on the held-out ones, always in the original space;
 *   4. the error of ADC distance estimates on a fixed sample of (query,
 *      base) pairs: the ADC estimate of ||q - x||^2 is ||q - decode(x)||^2;
 *   5. ADC and SDC search of the queries, 1-recall@R and k-recall@k against
 *      the dataset's exact ground truth, with per-query outcomes kept for
 *      paired tests.
 * Angular data are searched by inner product on unit vectors: base, queries
 * and learn are normalised once (zero vectors stay zero), and distortion is
 * measured on those unit vectors, the space that is quantized.
 *
 * Depends on: quantizer.h, metrics.h, analysis.h, rng.h; OpenMP for the
 * thread count.
 */
#include "pqeval/sweep.h"

#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "pqeval/metrics.h"
#include "pqeval/rng.h"
#include "simd/adc_kernels.h"
#include "util.h"

enum { BLOCK_ROWS = 4096 }; /* vectors decoded at a time for distortion */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;

    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* ---- the grid ---------------------------------------------------------- */

pqe_sweep_grid pqe_sweep_grid_default(void)
{
    pqe_sweep_grid g;
    memset(&g, 0, sizeof g);
    g.base = pqe_quantizer_config_default(0, 0, 0);
    return g;
}

pqe_sweep_options pqe_sweep_options_default(void)
{
    pqe_sweep_options o;
    memset(&o, 0, sizeof o);
    o.r_values[0] = 1;
    o.r_values[1] = 10;
    o.r_values[2] = 100;
    o.n_r = 3;
    o.k = 10;
    o.adc_pairs = 10000;
    o.sdc = true;
    o.sample_seed = 1;
    return o;
}

static const char *method_label(pqe_rotation r)
{
    switch (r) {
    case PQE_ROTATION_NONE:
        return "PQ";
    case PQE_ROTATION_OPQ_PARAMETRIC:
        return "OPQ-P";
    case PQE_ROTATION_OPQ_NONPARAMETRIC:
        return "OPQ-NP";
    }
    return "?";
}

/* The label shows the axes that vary in the grid, so that settings can be
 * told apart in tables and plots; the key spells out everything. */
typedef struct grid_axes {
    bool train, iters, seed;
} grid_axes;

static pqe_status finish_setting(pqe_setting *s, const char *head, const grid_axes *axes)
{
    const pqe_quantizer_config *c = &s->config;
    char train[32] = "", iters[32] = "";

    if (axes->train) {
        if (s->n_train)
            snprintf(train, sizeof train, " n=%zu", s->n_train);
        else
            snprintf(train, sizeof train, " n=all");
    }
    if (axes->iters && !s->faiss_factory)
        snprintf(iters, sizeof iters, " it=%u", c->kmeans_iters);
    s->group = dup_printf("%s%s%s", head, train, iters);
    if (axes->seed)
        s->label = dup_printf("%s s=%llu", s->group ? s->group : "", (unsigned long long)c->seed);
    else
        s->label = dup_printf("%s", s->group ? s->group : "");
    if (s->faiss_factory) {
        s->key = dup_printf("faiss=%s train=%zu seed=%llu", s->faiss_factory, s->n_train,
                            (unsigned long long)c->seed);
    } else {
        s->key = dup_printf("method=%s M=%zu nbits=%u train=%zu iters=%u init=%s mppc=%zu "
                            "opq_outer=%u opq_inner=%u opq_start=%s seed=%llu",
                            pqe_rotation_name(c->rotation), c->n_sub, c->nbits, s->n_train,
                            c->kmeans_iters,
                            c->kmeans_init == PQE_KMEANS_INIT_PLUSPLUS ? "k-means++" : "random",
                            c->max_points_per_centroid,
                            c->rotation == PQE_ROTATION_OPQ_NONPARAMETRIC ? c->opq_outer_iters : 0,
                            c->rotation == PQE_ROTATION_OPQ_NONPARAMETRIC ? c->opq_inner_iters : 0,
                            c->rotation != PQE_ROTATION_OPQ_NONPARAMETRIC ? "-"
                            : c->opq_start == PQE_OPQ_START_IDENTITY      ? "identity"
                                                                          : "parametric",
                            (unsigned long long)c->seed);
    }
    if (!s->group || !s->label || !s->key)
        return pqe_fail(PQE_ERR_NOMEM, "cannot allocate a setting's label");
    return PQE_OK;
}

static pqe_status check_grid(const pqe_sweep_grid *g, size_t dim)
{
    for (size_t i = 0; i < g->n_n_sub; i++) {
        size_t m = g->n_sub[i];
        if (m == 0 || dim % m != 0) {
            char valid[512] = "";
            size_t used = 0;
            for (size_t d = 1; d <= dim && used < sizeof valid - 16; d++) {
                if (dim % d == 0)
                    used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%zu",
                                             used ? ", " : "", d);
            }
            return pqe_fail(PQE_ERR_PARAM, "M=%zu does not divide the dimension %zu; valid M: %s",
                            m, dim, valid);
        }
    }
    for (size_t i = 0; i < g->n_nbits; i++) {
        if (g->nbits[i] < PQE_PQ_NBITS_MIN || g->nbits[i] > PQE_PQ_NBITS_MAX)
            return pqe_fail(PQE_ERR_PARAM, "nbits=%u is out of range (%d to %d)", g->nbits[i],
                            PQE_PQ_NBITS_MIN, PQE_PQ_NBITS_MAX);
    }
    if (g->n_methods && (!g->n_n_sub || !g->n_nbits))
        return pqe_fail(PQE_ERR_PARAM, "the grid names methods but no M or no nbits");
    if (!g->n_methods && !g->n_faiss && !g->n_quantizers)
        return pqe_fail(PQE_ERR_PARAM,
                        "the grid is empty: no method, no FAISS factory, no saved quantizer");
    return PQE_OK;
}

pqe_status pqe_sweep_expand(const pqe_sweep_grid *grid, size_t dim, pqe_metric metric,
                            pqe_setting **settings, size_t *n_settings)
{
    static const size_t all_train[1] = {0};
    static const uint64_t default_seed[1] = {1};
    const size_t *trains = grid->n_n_train ? grid->n_train : all_train;
    size_t n_trains = grid->n_n_train ? grid->n_n_train : 1;
    const uint64_t *seeds = grid->n_seeds ? grid->seeds : default_seed;
    size_t n_seeds = grid->n_seeds ? grid->n_seeds : 1;
    unsigned iters_default[1] = {grid->base.kmeans_iters};
    const unsigned *iters = grid->n_kmeans_iters ? grid->kmeans_iters : iters_default;
    size_t n_iters = grid->n_kmeans_iters ? grid->n_kmeans_iters : 1;
    grid_axes axes = {n_trains > 1, n_iters > 1, n_seeds > 1};
    size_t n_ours, n_total, at = 0;
    pqe_setting *out = NULL;
    pqe_status st;

    *settings = NULL;
    *n_settings = 0;
    st = check_grid(grid, dim);
    if (st != PQE_OK)
        return st;

    n_ours = grid->n_methods * grid->n_n_sub * grid->n_nbits * n_trains * n_iters * n_seeds;
    n_total = n_ours + grid->n_faiss * n_trains * n_seeds + grid->n_quantizers;
    out = pqe_calloc_array(n_total, sizeof *out, "settings");
    if (!out)
        return pqe_alloc_status();

    for (size_t a = 0; a < grid->n_methods; a++)
        for (size_t m = 0; m < grid->n_n_sub; m++)
            for (size_t b = 0; b < grid->n_nbits; b++)
                for (size_t t = 0; t < n_trains; t++)
                    for (size_t it = 0; it < n_iters; it++)
                        for (size_t s = 0; s < n_seeds; s++) {
                            pqe_setting *x = &out[at++];
                            char head[64];
                            x->config = grid->base;
                            x->config.dim = dim;
                            x->config.metric = metric;
                            x->config.rotation = grid->methods[a];
                            x->config.n_sub = grid->n_sub[m];
                            x->config.nbits = grid->nbits[b];
                            x->config.kmeans_iters = iters[it];
                            x->config.seed = seeds[s];
                            x->n_train = trains[t];
                            snprintf(head, sizeof head, "%s%zux%u", method_label(grid->methods[a]),
                                     grid->n_sub[m], grid->nbits[b]);
                            st = finish_setting(x, head, &axes);
                            if (st != PQE_OK)
                                goto fail;
                        }
    for (size_t f = 0; f < grid->n_faiss; f++)
        for (size_t t = 0; t < n_trains; t++)
            for (size_t s = 0; s < n_seeds; s++) {
                pqe_setting *x = &out[at++];
                char head[160];
                x->config = grid->base;
                x->config.dim = dim;
                x->config.metric = metric;
                x->config.seed = seeds[s];
                x->n_train = trains[t];
                x->faiss_factory = strdup(grid->faiss[f]);
                if (!x->faiss_factory) {
                    st = pqe_fail(PQE_ERR_NOMEM, "cannot copy a factory string");
                    goto fail;
                }
                snprintf(head, sizeof head, "faiss:%s", grid->faiss[f]);
                st = finish_setting(x, head, &axes);
                if (st != PQE_OK)
                    goto fail;
            }
    for (size_t f = 0; f < grid->n_quantizers; f++) {
        pqe_setting *x = &out[at++];
        const char *base = strrchr(grid->quantizers[f], '/');
        x->config = grid->base;
        x->config.dim = dim;
        x->config.metric = metric;
        x->quantizer_path = strdup(grid->quantizers[f]);
        x->label = dup_printf("file:%s", base ? base + 1 : grid->quantizers[f]);
        x->group = x->label ? strdup(x->label) : NULL;
        x->key = dup_printf("file=%s", grid->quantizers[f]);
        if (!x->quantizer_path || !x->label || !x->group || !x->key) {
            st = pqe_fail(PQE_ERR_NOMEM, "cannot allocate a setting");
            goto fail;
        }
    }
    *settings = out;
    *n_settings = n_total;
    return PQE_OK;

fail:
    for (size_t i = 0; i < n_total; i++)
        pqe_setting_clear(&out[i]);
    free(out);
    return st;
}

/* ---- running ----------------------------------------------------------- */

/* The vectors one sweep works on, after the metric's preparation. */
typedef struct sweep_data {
    const float *base;
    const float *queries;
    const float *pool; /* training pool */
    size_t n_base, n_queries, n_pool, dim;
    const size_t *pool_rows; /* rows of `base` forming the pool when training on the base */
    const size_t *heldout_rows;
    size_t n_heldout;
    float *owned[3]; /* normalised copies (angular) */
    size_t *owned_rows;
    pqe_metric metric;
} sweep_data;

static float *normalised_copy(const float *x, size_t n, size_t dim)
{
    float *y = pqe_alloc_array(n, dim * sizeof *y, "normalised vectors");
    if (!y)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * dim;
        float *yi = y + i * dim;
        double norm = 0;
        for (size_t j = 0; j < dim; j++)
            norm += (double)xi[j] * xi[j];
        norm = sqrt(norm);
        for (size_t j = 0; j < dim; j++)
            yi[j] = norm > 0 ? (float)(xi[j] / norm) : 0.0f;
    }
    return y;
}

static void sweep_data_clear(sweep_data *d)
{
    for (int i = 0; i < 3; i++)
        free(d->owned[i]);
    free(d->owned_rows);
    memset(d, 0, sizeof *d);
}

static pqe_status sweep_data_init(sweep_data *d, const pqe_dataset *ds,
                                  const pqe_sweep_options *opt)
{
    bool use_learn = ds->learn && ds->n_learn && !opt->train_on_base;

    memset(d, 0, sizeof *d);
    d->metric = ds->metric;
    d->dim = ds->dim;
    d->base = ds->train;
    d->n_base = ds->n_train;
    d->queries = ds->test;
    d->n_queries = opt->n_queries && opt->n_queries < ds->n_test ? opt->n_queries : ds->n_test;
    if (ds->metric == PQE_METRIC_ANGULAR) {
        d->owned[0] = normalised_copy(ds->train, ds->n_train, ds->dim);
        d->owned[1] = normalised_copy(ds->test, d->n_queries, ds->dim);
        if (!d->owned[0] || !d->owned[1])
            return pqe_alloc_status();
        d->base = d->owned[0];
        d->queries = d->owned[1];
    }
    if (use_learn) {
        if (opt->n_heldout)
            pqe_log(PQE_LOG_INFO, "the dataset has a learn part: training on it, so no base "
                                  "vectors are held out and the held-out distortion is that "
                                  "of the base");
        d->pool = ds->learn;
        d->n_pool = ds->n_learn;
        if (ds->metric == PQE_METRIC_ANGULAR) {
            d->owned[2] = normalised_copy(ds->learn, ds->n_learn, ds->dim);
            if (!d->owned[2])
                return pqe_alloc_status();
            d->pool = d->owned[2];
        }
        return PQE_OK;
    }

    /* Training on the base: a seeded choice of held-out rows, the rest is
     * the pool. */
    if (opt->n_heldout >= ds->n_train)
        return pqe_fail(PQE_ERR_PARAM, "cannot hold out %zu of the %zu base vectors",
                        opt->n_heldout, ds->n_train);
    d->owned_rows = pqe_alloc_array(ds->n_train, sizeof *d->owned_rows, "base rows");
    if (!d->owned_rows)
        return pqe_alloc_status();
    if (opt->n_heldout) {
        pqe_rng rng;
        pqe_rng_seed(&rng, pqe_rng_derive(opt->sample_seed, 0x6865u));
        pqe_rng_permutation(&rng, d->owned_rows, ds->n_train);
        d->heldout_rows = d->owned_rows + (ds->n_train - opt->n_heldout);
        d->n_heldout = opt->n_heldout;
    } else {
        for (size_t i = 0; i < ds->n_train; i++)
            d->owned_rows[i] = i;
    }
    d->pool_rows = d->owned_rows;
    d->n_pool = ds->n_train - opt->n_heldout;
    return PQE_OK;
}

/* Copies rows[0..n) of x into a new array. */
static float *gather_rows(const float *x, size_t dim, const size_t *rows, size_t n)
{
    float *y = pqe_alloc_array(n, dim * sizeof *y, "training vectors");
    if (!y)
        return NULL;
    for (size_t i = 0; i < n; i++)
        memcpy(y + i * dim, x + rows[i] * dim, dim * sizeof *y);
    return y;
}

/* The training vectors of a setting: the first n of a permutation of the
 * pool seeded by the setting's seed (the whole pool in order if n is 0 or
 * the pool's size). */
static pqe_status training_set(const sweep_data *d, size_t n_train, uint64_t seed, float **out,
                               size_t *n_out)
{
    size_t n = n_train ? n_train : d->n_pool;
    size_t *rows = NULL;

    *out = NULL;
    if (n > d->n_pool)
        return pqe_fail(PQE_ERR_PARAM,
                        "training size %zu is larger than the %zu vectors "
                        "available for training",
                        n, d->n_pool);
    rows = pqe_alloc_array(n, sizeof *rows, "training rows");
    if (!rows)
        return pqe_alloc_status();
    if (n == d->n_pool) {
        for (size_t i = 0; i < n; i++)
            rows[i] = i;
    } else {
        pqe_rng rng;
        pqe_rng_seed(&rng, pqe_rng_derive(seed, 0x7472u));
        pqe_rng_sample(&rng, d->n_pool, n, rows);
    }
    if (d->pool_rows) {
        for (size_t i = 0; i < n; i++)
            rows[i] = d->pool_rows[rows[i]];
        *out = gather_rows(d->base, d->dim, rows, n);
    } else {
        *out = gather_rows(d->pool, d->dim, rows, n);
    }
    free(rows);
    if (!*out)
        return pqe_alloc_status();
    *n_out = n;
    return PQE_OK;
}

/* Distortion of n vectors (rows of x, or x itself if rows is NULL),
 * encoded and decoded block by block; per-subspace errors when n_sub > 0. */
static pqe_status measure_distortion(const pqe_quantizer *q, const float *x, const size_t *rows,
                                     size_t n, size_t dim, size_t n_sub, pqe_distortion *out,
                                     double *sub_err)
{
    size_t block = n < BLOCK_ROWS ? n : BLOCK_ROWS;
    float *in = NULL, *rec = NULL;
    pqe_distortion_acc acc;
    pqe_status st;

    memset(out, 0, sizeof *out);
    st = pqe_distortion_acc_init(&acc, dim, 0);
    if (st != PQE_OK)
        return st;
    in = pqe_alloc_array(block ? block : 1, dim * sizeof *in, "distortion block");
    rec = pqe_alloc_array(block ? block : 1, dim * sizeof *rec, "distortion block");
    if (!in || !rec) {
        st = pqe_alloc_status();
        goto done;
    }
    for (size_t begin = 0; begin < n; begin += block) {
        size_t m = n - begin < block ? n - begin : block;
        const float *src = x + begin * dim;
        if (rows) {
            for (size_t i = 0; i < m; i++)
                memcpy(in + i * dim, x + rows[begin + i] * dim, dim * sizeof *in);
            src = in;
        }
        st = pqe_quantizer_reconstruct(q, src, m, rec);
        if (st == PQE_OK)
            st = pqe_distortion_acc_add(&acc, src, rec, m);
        if (st == PQE_OK && sub_err && n_sub)
            st = pqe_quantizer_subspace_error(q, src, m, sub_err);
        if (st != PQE_OK)
            goto done;
    }
    st = pqe_distortion_acc_finish(&acc, out);
done:
    pqe_distortion_acc_clear(&acc);
    free(in);
    free(rec);
    return st;
}

/* The ADC estimate of each sampled pair, ||q - decode(x)||^2 (or q . decode(x)
 * for inner-product metrics), against the exact value. */
static pqe_status measure_adc_error(const pqe_quantizer *q, const sweep_data *d, size_t n_pairs,
                                    uint64_t seed, pqe_setting_result *r)
{
    size_t dim = d->dim;
    size_t *qi = NULL, *bi = NULL;
    double *est = NULL, *exact = NULL;
    float *x = NULL, *rec = NULL;
    bool ip = d->metric != PQE_METRIC_EUCLIDEAN;
    pqe_adc_error e;
    pqe_status st = PQE_OK;

    r->adc_err_mean = r->adc_err_sd = r->adc_err_rel_mean = NAN;
    r->adc_err_pairs = 0;
    if (n_pairs == 0 || d->n_queries == 0 || d->n_base == 0)
        return PQE_OK;
    qi = pqe_alloc_array(n_pairs, sizeof *qi, "pair sample");
    bi = pqe_alloc_array(n_pairs, sizeof *bi, "pair sample");
    est = pqe_alloc_array(n_pairs, sizeof *est, "pair estimates");
    exact = pqe_alloc_array(n_pairs, sizeof *exact, "pair distances");
    x = pqe_alloc_array(n_pairs, dim * sizeof *x, "pair vectors");
    rec = pqe_alloc_array(n_pairs, dim * sizeof *rec, "pair vectors");
    if (!qi || !bi || !est || !exact || !x || !rec) {
        st = pqe_alloc_status();
        goto done;
    }
    st = pqe_sample_pairs(d->n_queries, d->n_base, n_pairs, seed, qi, bi);
    if (st != PQE_OK)
        goto done;
    for (size_t p = 0; p < n_pairs; p++)
        memcpy(x + p * dim, d->base + bi[p] * dim, dim * sizeof *x);
    st = pqe_quantizer_reconstruct(q, x, n_pairs, rec);
    if (st != PQE_OK)
        goto done;
    for (size_t p = 0; p < n_pairs; p++) {
        const float *qv = d->queries + qi[p] * dim;
        const float *xv = x + p * dim, *rv = rec + p * dim;
        double a = 0, b = 0;
        for (size_t j = 0; j < dim; j++) {
            if (ip) {
                a += (double)qv[j] * rv[j];
                b += (double)qv[j] * xv[j];
            } else {
                double u = (double)qv[j] - rv[j], v = (double)qv[j] - xv[j];
                a += u * u;
                b += v * v;
            }
        }
        est[p] = a;
        exact[p] = b;
    }
    st = pqe_adc_error_compute(est, exact, n_pairs, &e);
    if (st == PQE_OK) {
        r->adc_err_mean = e.mean;
        r->adc_err_sd = e.sd;
        r->adc_err_rel_mean = e.rel_mean;
        r->adc_err_pairs = e.n_pairs;
    }
done:
    free(qi);
    free(bi);
    free(est);
    free(exact);
    free(x);
    free(rec);
    return st;
}

/* Searches with one mode and turns the ids into recall. */
static pqe_status measure_recall(const pqe_quantizer *q, const pqe_dataset *ds, const sweep_data *d,
                                 const pqe_sweep_options *opt, pqe_search_mode mode,
                                 pqe_setting_result *r)
{
    size_t nq = d->n_queries, n_r = opt->n_r;
    size_t k_search = opt->k;
    int64_t *ids = NULL;
    float *dist = NULL, *exact = NULL, *khits = NULL;
    uint8_t *hits = NULL;
    size_t n_hits[PQE_MAX_RECALL_R];
    double recall[PQE_MAX_RECALL_R], krecall = NAN, t0, seconds;
    pqe_status st;

    for (size_t j = 0; j < n_r; j++)
        if (opt->r_values[j] > k_search)
            k_search = opt->r_values[j];
    ids = pqe_alloc_array(nq, k_search * sizeof *ids, "search results");
    dist = pqe_alloc_array(nq, k_search * sizeof *dist, "search distances");
    exact = pqe_alloc_array(nq, opt->k * sizeof *exact, "exact distances");
    khits = pqe_alloc_array(nq, sizeof *khits, "per-query k-recall");
    hits = pqe_alloc_array(nq, n_r, "per-query hits");
    if (!ids || !dist || !exact || !khits || !hits) {
        st = pqe_alloc_status();
        goto done;
    }

    t0 = now_seconds();
    st = pqe_quantizer_search(q, mode, d->queries, nq, k_search, ids, dist);
    seconds = now_seconds() - t0;
    if (st != PQE_OK)
        goto done;

    st = pqe_recall_at_r(ids, nq, k_search, ds->neighbors, ds->gt_k, opt->r_values, n_r, NULL,
                         recall, hits, n_hits);
    if (st != PQE_OK)
        goto done;

    /* k-recall@k as ann-benchmarks counts it: the exact distances of the
     * first k returned ids (recomputed from the original vectors) against
     * the k-th true distance plus epsilon. */
    {
        int64_t *first_k = pqe_alloc_array(nq, opt->k * sizeof *first_k, "first k ids");
        if (!first_k) {
            st = pqe_alloc_status();
            goto done;
        }
        for (size_t i = 0; i < nq; i++)
            memcpy(first_k + i * opt->k, ids + i * k_search, opt->k * sizeof *first_k);
        st = pqe_exact_distances(ds->metric, ds->test, ds->train, ds->n_train, ds->dim, first_k, nq,
                                 opt->k, exact);
        free(first_k);
        if (st == PQE_OK)
            st = pqe_k_recall(ds->metric, exact, opt->k, ds->distances, ds->gt_k, nq, opt->k,
                              PQE_KRECALL_EPSILON, &krecall, khits);
        if (st != PQE_OK)
            goto done;
    }

    for (size_t j = 0; j < n_r; j++) {
        double *ci = mode == PQE_SEARCH_ADC ? r->recall_adc_ci[j] : r->recall_sdc_ci[j];
        (mode == PQE_SEARCH_ADC ? r->recall_adc : r->recall_sdc)[j] = recall[j];
        st = pqe_wilson_interval(n_hits[j], nq, PQE_Z95, &ci[0], &ci[1]);
        if (st != PQE_OK)
            goto done;
    }
    if (mode == PQE_SEARCH_ADC) {
        r->krecall_adc = krecall;
        r->adc_seconds = seconds;
        r->adc_qps = seconds > 0 ? (double)nq / seconds : NAN;
        r->hits_adc = hits;
        r->khits_adc = khits;
        hits = NULL;
        khits = NULL;
        if (opt->keep_ids) {
            r->ids_adc = ids;
            r->ids_k = k_search;
            ids = NULL;
        }
    } else {
        r->krecall_sdc = krecall;
        r->sdc_seconds = seconds;
        r->sdc_qps = seconds > 0 ? (double)nq / seconds : NAN;
        r->hits_sdc = hits;
        hits = NULL;
        if (opt->keep_ids) {
            r->ids_sdc = ids;
            r->ids_k = k_search;
            ids = NULL;
        }
    }
done:
    free(ids);
    free(dist);
    free(exact);
    free(khits);
    free(hits);
    return st;
}

static void progress(const pqe_sweep_options *opt, size_t i, size_t n, const char *label,
                     const char *stage)
{
    if (opt->progress)
        opt->progress(i, n, label, stage, opt->progress_user);
}

static pqe_status run_setting(const pqe_dataset *ds, const sweep_data *d, const pqe_setting *s,
                              size_t index, size_t n_settings, const pqe_sweep_options *opt,
                              pqe_setting_result *r)
{
    pqe_quantizer *q = NULL;
    float *train = NULL;
    size_t n_train = 0, n_sub;
    pqe_distortion dist;
    double t0;
    pqe_status st;

    memset(&dist, 0, sizeof dist);
    r->n_queries = d->n_queries;
    r->n_r = opt->n_r;
    memcpy(r->r_values, opt->r_values, sizeof r->r_values);
    r->k = opt->k;
    r->mse_heldout = r->rel_mse_heldout = NAN;
    r->krecall_sdc = r->sdc_seconds = r->sdc_qps = NAN;
    for (size_t j = 0; j < PQE_MAX_RECALL_R; j++) {
        r->recall_sdc[j] = r->recall_sdc_ci[j][0] = r->recall_sdc_ci[j][1] = NAN;
        if (j >= opt->n_r)
            r->recall_adc[j] = r->recall_adc_ci[j][0] = r->recall_adc_ci[j][1] = NAN;
    }

    /* 1. training vectors */
    st = training_set(d, s->quantizer_path ? 0 : s->n_train, s->config.seed, &train, &n_train);
    if (st != PQE_OK)
        goto done;

    /* 2. train and add the base */
    progress(opt, index, n_settings, s->label, "train");
    if (s->quantizer_path)
        st = pqe_quantizer_load(s->quantizer_path, &q);
    else if (s->faiss_factory)
        st = pqe_quantizer_new_faiss(s->faiss_factory, d->dim, d->metric, opt->n_threads, &q);
    else
        st = pqe_quantizer_new(&s->config, &q);
    if (st != PQE_OK)
        goto done;
    t0 = now_seconds();
    if (!s->quantizer_path) /* a saved quantizer is evaluated as it is */
        st = pqe_quantizer_train(q, train, n_train);
    r->train_seconds = s->quantizer_path ? 0.0 : now_seconds() - t0;
    if (st != PQE_OK)
        goto done;
    progress(opt, index, n_settings, s->label, "encode");
    t0 = now_seconds();
    st = pqe_quantizer_add(q, d->base, d->n_base);
    r->encode_seconds = now_seconds() - t0;
    if (st != PQE_OK)
        goto done;
    r->name = strdup(pqe_quantizer_name(q));
    r->code_bits = pqe_quantizer_code_bits(q);
    r->code_bytes = pqe_quantizer_code_bytes(q);

    /* 3. distortion: base (per subspace), training set, held out */
    progress(opt, index, n_settings, s->label, "distortion");
    n_sub = pqe_quantizer_n_sub(q);
    if (n_sub) {
        r->mse_sub = pqe_calloc_array(n_sub, sizeof *r->mse_sub, "per-subspace distortion");
        if (!r->mse_sub) {
            st = pqe_alloc_status();
            goto done;
        }
        r->n_sub = n_sub;
    }
    st = measure_distortion(q, d->base, NULL, d->n_base, d->dim, n_sub, &dist, r->mse_sub);
    if (st != PQE_OK)
        goto done;
    r->mse_base = dist.mse;
    r->rel_mse_base = dist.rel;
    for (size_t m = 0; m < n_sub; m++)
        r->mse_sub[m] /= (double)d->n_base;
    pqe_distortion_clear(&dist);
    if (s->quantizer_path) {
        /* A saved quantizer: its training vectors are not known here. */
        r->mse_train = r->rel_mse_train = NAN;
        goto distortion_done;
    }
    st = measure_distortion(q, train, NULL, n_train, d->dim, 0, &dist, NULL);
    if (st != PQE_OK)
        goto done;
    r->mse_train = dist.mse;
    r->rel_mse_train = dist.rel;
    pqe_distortion_clear(&dist);
    if (d->n_heldout) {
        st = measure_distortion(q, d->base, d->heldout_rows, d->n_heldout, d->dim, 0, &dist, NULL);
        if (st != PQE_OK)
            goto done;
        r->mse_heldout = dist.mse;
        r->rel_mse_heldout = dist.rel;
        pqe_distortion_clear(&dist);
    } else if (d->pool_rows == NULL) {
        /* Trained on a separate learn part: the whole base is held out. */
        r->mse_heldout = r->mse_base;
        r->rel_mse_heldout = r->rel_mse_base;
    }
distortion_done:

    /* 4. ADC estimation error on a fixed sample of pairs */
    st = measure_adc_error(q, d, opt->adc_pairs, pqe_rng_derive(opt->sample_seed, 0x6164u), r);
    if (st != PQE_OK)
        goto done;

    /* 5. search and recall */
    progress(opt, index, n_settings, s->label, "search-adc");
    st = measure_recall(q, ds, d, opt, PQE_SEARCH_ADC, r);
    if (st != PQE_OK)
        goto done;
    r->sdc_supported = opt->sdc && pqe_quantizer_supports(q, PQE_SEARCH_SDC);
    if (!opt->sdc) {
        r->sdc_note = strdup("SDC not asked for");
    } else if (!r->sdc_supported) {
        if (s->faiss_factory) {
            r->sdc_note = strdup("FAISS codecs are searched their own way (ADC)");
        } else {
            size_t k = (size_t)1 << s->config.nbits;
            size_t limit = s->config.sdc_memory_limit ? s->config.sdc_memory_limit
                                                      : (size_t)PQE_SDC_MEMORY_LIMIT_DEFAULT;
            r->sdc_note = dup_printf("the SDC table (M x K x K floats) would need %.0f bytes, "
                                     "over the limit of %zu",
                                     (double)s->config.n_sub * (double)k * (double)k * 4.0, limit);
        }
    } else {
        progress(opt, index, n_settings, s->label, "search-sdc");
        st = measure_recall(q, ds, d, opt, PQE_SEARCH_SDC, r);
        if (st == PQE_ERR_UNSUPPORTED) {
            /* e.g. the symmetric table would pass the memory limit */
            r->sdc_supported = false;
            r->sdc_note = strdup(pqe_last_error());
            st = PQE_OK;
        }
    }

done:
    pqe_distortion_clear(&dist);
    pqe_quantizer_free(q);
    free(train);
    if (st != PQE_OK)
        pqe_fail_context(st, "setting %s", s->label ? s->label : "?");
    return st;
}

static char *machine_description(int n_threads)
{
    struct utsname u;
    char model[256] = "unknown cpu";
    FILE *fp = fopen("/proc/cpuinfo", "r");

    if (fp) {
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            if (!strncmp(line, "model name", 10)) {
                char *colon = strchr(line, ':');
                if (colon) {
                    colon += 2;
                    colon[strcspn(colon, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", colon);
                }
                break;
            }
        }
        fclose(fp);
    }
    if (uname(&u) != 0)
        snprintf(u.machine, sizeof u.machine, "unknown");
    return dup_printf("%s, %s, %d threads", u.machine, model, n_threads);
}

static char *utc_now(void)
{
    time_t t = time(NULL);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

static pqe_status check_options(const pqe_dataset *ds, const pqe_sweep_options *opt)
{
    size_t need = opt->k;
    if (opt->n_r == 0 || opt->n_r > PQE_MAX_RECALL_R)
        return pqe_fail(PQE_ERR_PARAM, "between 1 and %d recall cut-offs R are needed, not %zu",
                        PQE_MAX_RECALL_R, opt->n_r);
    for (size_t j = 0; j < opt->n_r; j++) {
        if (opt->r_values[j] == 0)
            return pqe_fail(PQE_ERR_PARAM, "a recall cut-off R must be at least 1");
        if (opt->r_values[j] > ds->n_train)
            return pqe_fail(PQE_ERR_PARAM, "R=%zu is larger than the base (%zu vectors)",
                            opt->r_values[j], ds->n_train);
    }
    if (opt->k == 0)
        return pqe_fail(PQE_ERR_PARAM, "k for k-recall@k must be at least 1");
    if (!ds->neighbors || !ds->distances || ds->gt_k == 0)
        return pqe_fail(PQE_ERR_DATA,
                        "%s: the dataset has no ground truth (neighbors and "
                        "distances); run 'pqeval groundtruth' first",
                        ds->path ? ds->path : "dataset");
    if (ds->gt_k < need)
        return pqe_fail(PQE_ERR_DATA,
                        "%s: the ground truth has %zu neighbours per query, "
                        "k-recall@%zu needs %zu",
                        ds->path ? ds->path : "dataset", ds->gt_k, opt->k, need);
    if (ds->n_test == 0 || ds->n_train == 0)
        return pqe_fail(PQE_ERR_DATA, "%s: the dataset has no queries or no base vectors",
                        ds->path ? ds->path : "dataset");
    return PQE_OK;
}

/* What can be known about each setting before any training: enough
 * training vectors for its codebooks, and a FAISS string FAISS accepts
 * (building the empty index is cheap).  A bad setting found late would
 * throw away the work of every setting before it. */
static pqe_status preflight(const sweep_data *d, const pqe_setting *settings, size_t n_settings,
                            const pqe_sweep_options *opt)
{
    for (size_t i = 0; i < n_settings; i++) {
        const pqe_setting *s = &settings[i];
        size_t n = s->n_train ? s->n_train : d->n_pool;
        if (s->quantizer_path) {
            pqe_quantizer *q = NULL;
            pqe_status st = pqe_quantizer_load(s->quantizer_path, &q);
            if (st == PQE_OK && pqe_quantizer_dim(q) != d->dim)
                st = pqe_fail(PQE_ERR_PARAM, "%s: a quantizer of dimension %zu, the data have %zu",
                              s->quantizer_path, pqe_quantizer_dim(q), d->dim);
            pqe_quantizer_free(q);
            if (st != PQE_OK)
                return pqe_fail_context(st, "setting %s", s->label);
            continue;
        }
        if (n > d->n_pool)
            return pqe_fail(PQE_ERR_PARAM,
                            "setting %s: training size %zu is larger than the %zu vectors "
                            "available for training",
                            s->label, n, d->n_pool);
        if (s->faiss_factory) {
            pqe_quantizer *q = NULL;
            pqe_status st =
                pqe_quantizer_new_faiss(s->faiss_factory, d->dim, d->metric, opt->n_threads, &q);
            pqe_quantizer_free(q);
            if (st != PQE_OK)
                return pqe_fail_context(st, "setting %s", s->label);
        } else if (s->config.nbits < 8 * sizeof(size_t) && n < ((size_t)1 << s->config.nbits)) {
            return pqe_fail(PQE_ERR_PARAM,
                            "setting %s: %zu training vectors are fewer than the %zu centroids "
                            "of each subspace (nbits %u); use at most nbits %u or more vectors",
                            s->label, n, (size_t)1 << s->config.nbits, s->config.nbits,
                            n >= 2 ? (unsigned)floor(log2((double)n)) : 1u);
        }
    }
    return PQE_OK;
}

pqe_status pqe_sweep_run(const pqe_dataset *ds, const pqe_setting *settings, size_t n_settings,
                         const pqe_sweep_options *options, pqe_sweep_result **out)
{
    pqe_sweep_options opt = options ? *options : pqe_sweep_options_default();
    pqe_sweep_result *res = NULL;
    sweep_data d;
    pqe_status st;

    *out = NULL;
    memset(&d, 0, sizeof d);
    st = check_options(ds, &opt);
    if (st != PQE_OK)
        return st;
    if (opt.n_threads > 0)
        omp_set_num_threads(opt.n_threads);

    res = calloc(1, sizeof *res);
    if (!res)
        return pqe_fail(PQE_ERR_NOMEM, "cannot allocate the sweep result");
    st = sweep_data_init(&d, ds, &opt);
    if (st != PQE_OK)
        goto fail;

    res->dataset_path = ds->path ? strdup(ds->path) : NULL;
    res->dataset_name = ds->name ? strdup(ds->name) : NULL;
    memcpy(res->dataset_checksum, ds->checksum, sizeof res->dataset_checksum);
    res->metric = ds->metric;
    res->dim = ds->dim;
    res->n_base = d.n_base;
    res->n_queries = d.n_queries;
    res->n_train_pool = d.n_pool;
    res->n_heldout = d.n_heldout;
    snprintf(res->train_source, sizeof res->train_source, "%s", d.pool_rows ? "base" : "learn");
    res->gt_k = ds->gt_k;
    res->n_threads = omp_get_max_threads();
    res->version = strdup(pqe_version());
    res->machine = machine_description(res->n_threads);
    res->started = utc_now();
    res->simd = strdup(pqe_simd_level_name(pqe_simd_active()));
    if (!res->version || !res->machine || !res->started || !res->simd) {
        st = pqe_fail(PQE_ERR_NOMEM, "cannot allocate the sweep's description");
        goto fail;
    }

    st = preflight(&d, settings, n_settings, &opt);
    if (st != PQE_OK)
        goto fail;

    res->results = pqe_calloc_array(n_settings ? n_settings : 1, sizeof *res->results, "results");
    if (!res->results) {
        st = pqe_alloc_status();
        goto fail;
    }
    for (size_t i = 0; i < n_settings; i++) {
        pqe_setting_result *r = &res->results[i];
        const pqe_setting *s = &settings[i];

        /* The result keeps its own copy of the setting. */
        r->setting = *s;
        r->setting.faiss_factory = s->faiss_factory ? strdup(s->faiss_factory) : NULL;
        r->setting.quantizer_path = s->quantizer_path ? strdup(s->quantizer_path) : NULL;
        r->setting.label = strdup(s->label ? s->label : "");
        r->setting.group = strdup(s->group ? s->group : "");
        r->setting.key = strdup(s->key ? s->key : "");
        res->n_results = i + 1;
        if ((s->faiss_factory && !r->setting.faiss_factory) ||
            (s->quantizer_path && !r->setting.quantizer_path) || !r->setting.label ||
            !r->setting.group || !r->setting.key) {
            st = pqe_fail(PQE_ERR_NOMEM, "cannot copy a setting");
            goto fail;
        }
        st = run_setting(ds, &d, s, i, n_settings, &opt, r);
        if (st != PQE_OK)
            goto fail;
        progress(&opt, i + 1, n_settings, s->label, "done");
    }

    st = pqe_sweep_analyse(res);
    if (st != PQE_OK)
        goto fail;
    sweep_data_clear(&d);
    *out = res;
    return PQE_OK;

fail:
    sweep_data_clear(&d);
    pqe_sweep_result_free(res);
    return st;
}

/* ---- analysis ------------------------------------------------------------ */

/* Which number of a result one analysis studies. */
typedef struct recall_measure {
    bool sdc;
    bool k_recall;
    size_t r_index;
} recall_measure;

static double measure_value(const pqe_setting_result *r, const recall_measure *m, double *lo,
                            double *hi)
{
    if (m->k_recall) {
        /* The normal interval of the mean of the per-query values, where
         * they were kept (ADC); otherwise noise comes from the seeds only. */
        double mean;
        *lo = *hi = NAN;
        if (!m->sdc && r->khits_adc && r->n_queries > 1 &&
            pqe_mean_interval(r->khits_adc, r->n_queries, PQE_Z95, &mean, lo, hi) != PQE_OK)
            *lo = *hi = NAN;
        return m->sdc ? r->krecall_sdc : r->krecall_adc;
    }
    if (m->sdc) {
        *lo = r->recall_sdc_ci[m->r_index][0];
        *hi = r->recall_sdc_ci[m->r_index][1];
        return r->recall_sdc[m->r_index];
    }
    *lo = r->recall_adc_ci[m->r_index][0];
    *hi = r->recall_adc_ci[m->r_index][1];
    return r->recall_adc[m->r_index];
}

/* One analysis: repetitions of a group averaged into one point. */
static pqe_status analyse_measure(const pqe_sweep_result *self, const recall_measure *m,
                                  const char *name, pqe_analysis *out, bool *ran)
{
    size_t n = self->n_results, n_points = 0;
    pqe_analysis_point *points = NULL;
    double *values = NULL;
    bool *used = NULL;
    pqe_status st = PQE_OK;

    *ran = false;
    points = pqe_calloc_array(n ? n : 1, sizeof *points, "analysis points");
    values = pqe_calloc_array(n ? n : 1, sizeof *values, "seed values");
    used = pqe_calloc_array(n ? n : 1, sizeof *used, "analysis flags");
    if (!points || !values || !used) {
        st = pqe_alloc_status();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const pqe_setting_result *ri = &self->results[i];
        double lo, hi, sum_d = 0, sum_lo = 0, sum_hi = 0;
        size_t count = 0;
        pqe_analysis_point *p;

        if (used[i])
            continue;
        for (size_t j = i; j < n; j++) {
            const pqe_setting_result *rj = &self->results[j];
            double v;
            if (used[j] || strcmp(rj->setting.group ? rj->setting.group : "",
                                  ri->setting.group ? ri->setting.group : "") != 0)
                continue;
            used[j] = true;
            v = measure_value(rj, m, &lo, &hi);
            if (isnan(v) || isnan(rj->rel_mse_base))
                continue;
            values[count++] = v;
            sum_d += rj->rel_mse_base;
            sum_lo += lo;
            sum_hi += hi;
        }
        if (count == 0)
            continue;
        p = &points[n_points++];
        p->label = ri->setting.group;
        p->code_bits = ri->code_bits;
        p->distortion = sum_d / (double)count;
        p->n_seeds = count;
        {
            pqe_spread sp;
            st = pqe_spread_compute(values, count, &sp);
            if (st != PQE_OK)
                goto done;
            p->recall = sp.mean;
            p->recall_seed_sd = count >= 2 ? sp.sd : NAN;
        }
        /* The interval of a mean over seeds: the mean of the per-seed
         * intervals, narrowed by sqrt(count) around the mean. */
        p->recall_lo = p->recall - (p->recall - sum_lo / (double)count) / sqrt((double)count);
        p->recall_hi = p->recall + (sum_hi / (double)count - p->recall) / sqrt((double)count);
    }
    if (n_points >= 2) {
        st = pqe_analyse(points, n_points, name, out);
        if (st == PQE_OK)
            *ran = true;
    }
done:
    free(points);
    free(values);
    free(used);
    return st;
}

pqe_status pqe_sweep_analyse(pqe_sweep_result *self)
{
    recall_measure measures[2 * PQE_MAX_RECALL_R + 2];
    char names[2 * PQE_MAX_RECALL_R + 2][48];
    size_t n_measures = 0, n_r = self->n_results ? self->results[0].n_r : 0;
    size_t k = self->n_results ? self->results[0].k : 0;
    pqe_status st = PQE_OK;

    for (size_t i = 0; i < self->n_analyses; i++)
        pqe_analysis_clear(&self->analyses[i]);
    free(self->analyses);
    self->analyses = NULL;
    self->n_analyses = 0;
    if (self->n_results == 0)
        return PQE_OK;

    for (size_t j = 0; j < n_r; j++) {
        measures[n_measures] = (recall_measure){false, false, j};
        snprintf(names[n_measures++], sizeof names[0], "ADC 1-recall@%zu",
                 self->results[0].r_values[j]);
    }
    measures[n_measures] = (recall_measure){false, true, 0};
    snprintf(names[n_measures++], sizeof names[0], "ADC %zu-recall@%zu", k, k);
    for (size_t j = 0; j < n_r; j++) {
        measures[n_measures] = (recall_measure){true, false, j};
        snprintf(names[n_measures++], sizeof names[0], "SDC 1-recall@%zu",
                 self->results[0].r_values[j]);
    }

    self->analyses = pqe_calloc_array(n_measures, sizeof *self->analyses, "analyses");
    if (!self->analyses)
        return pqe_alloc_status();
    for (size_t i = 0; i < n_measures; i++) {
        bool ran;
        st = analyse_measure(self, &measures[i], names[i], &self->analyses[self->n_analyses], &ran);
        if (st != PQE_OK)
            return st;
        if (ran)
            self->n_analyses++;
    }
    return PQE_OK;
}
