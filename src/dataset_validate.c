/* dataset_validate.c - the checks run whenever a dataset is opened for
 * evaluation: parts present, values finite, neighbour ids in range, stored
 * distances in the declared convention and sorted nearest first, and
 * (optionally) the stored top-k equal to a recomputation on sampled queries.
 *
 * Why the distance check diagnoses: the usual ways a ground truth goes
 * wrong are conventions, not noise (squared Euclidean distances where
 * ann-benchmarks stores them non-squared; cosine similarity, angles or
 * distances between normalised vectors where it stores 1 - cos).  When the
 * stored values miss the declared convention, each known alternative is
 * tried on the same sample and the message names the one that fits.
 *
 * Tolerances: stored distances are float32 and may come from float32
 * arithmetic, so a pair agrees if |stored - exact| <= 1e-3 |exact| plus an
 * absolute 1e-4 (angular) or 1e-5 times the vectors' scale (euclidean,
 * dot).  A dataset fails if more than 1% of the sampled pairs disagree.
 *
 * Depends on: io.h, groundtruth.h (exact distances, the reference scan),
 * rng.h, util.h.
 */
#include "pqeval/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/groundtruth.h"
#include "pqeval/rng.h"
#include "util.h"

pqe_validate_options pqe_validate_options_default(void)
{
    pqe_validate_options o;
    memset(&o, 0, sizeof o);
    o.check_groundtruth = false;
    o.sample_pairs = 1000;
    o.sample_queries = 20;
    o.seed = 1;
    o.allow_nonfinite = false;
    return o;
}

static double dot_d(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* One sampled pair, in every quantity a convention may be built from. */
typedef struct pair_sample {
    double stored;
    double l2;    /* non-squared Euclidean distance */
    double ip;    /* inner product */
    double cos;   /* cosine, 0 if either vector is zero */
    double scale; /* |q| |x| (or |q|^2 + |x|^2 for euclidean tolerances) */
} pair_sample;

typedef enum convention {
    CONV_L2,
    CONV_L2_SQUARED,
    CONV_ONE_MINUS_COS,
    CONV_COS,
    CONV_ANGLE,
    CONV_ANGLE_OVER_PI,
    CONV_NORMED_L2,
    CONV_NORMED_L2_SQUARED,
    CONV_IP,
    CONV_NEG_IP,
    CONV_COUNT
} convention;

static const char *convention_text[CONV_COUNT] = {
    "non-squared euclidean distances",
    "squared euclidean distances (ann-benchmarks stores them non-squared)",
    "angular distances 1 - cos",
    "cosine similarities (ann-benchmarks stores 1 - cos)",
    "angles in radians (ann-benchmarks stores 1 - cos)",
    "angles divided by pi (ann-benchmarks stores 1 - cos)",
    "euclidean distances between normalised vectors, sqrt(2 - 2 cos) (ann-benchmarks stores "
    "1 - cos)",
    "squared euclidean distances between normalised vectors, 2 - 2 cos (ann-benchmarks stores "
    "1 - cos)",
    "inner products",
    "negated inner products (ann-benchmarks stores the inner product itself)",
};

static double convention_value(const pair_sample *p, convention c)
{
    switch (c) {
    case CONV_L2:
        return p->l2;
    case CONV_L2_SQUARED:
        return p->l2 * p->l2;
    case CONV_ONE_MINUS_COS:
        return 1 - p->cos;
    case CONV_COS:
        return p->cos;
    case CONV_ANGLE:
        return acos(p->cos);
    case CONV_ANGLE_OVER_PI:
        return acos(p->cos) / M_PI;
    case CONV_NORMED_L2:
        return sqrt(fmax(0, 2 - 2 * p->cos));
    case CONV_NORMED_L2_SQUARED:
        return fmax(0, 2 - 2 * p->cos);
    case CONV_IP:
        return p->ip;
    case CONV_NEG_IP:
        return -p->ip;
    case CONV_COUNT:
        break;
    }
    return NAN;
}

static bool agrees(const pair_sample *p, convention c)
{
    double want = convention_value(p, c), absolute;
    switch (c) {
    case CONV_L2:
    case CONV_L2_SQUARED:
        absolute = 1e-5 * (c == CONV_L2 ? sqrt(p->scale) : p->scale);
        break;
    case CONV_IP:
    case CONV_NEG_IP:
        absolute = 1e-5 * p->scale;
        break;
    default:
        absolute = 1e-4;
        break;
    }
    return fabs(p->stored - want) <= 1e-3 * fabs(want) + absolute;
}

static convention declared_convention(pqe_metric metric)
{
    return metric == PQE_METRIC_EUCLIDEAN ? CONV_L2
           : metric == PQE_METRIC_ANGULAR ? CONV_ONE_MINUS_COS
                                          : CONV_IP;
}

/* Counts non-finite values and zero rows of one part. */
static void scan_part(const float *x, size_t n, size_t dim, const char *part,
                      pqe_validate_report *rep, size_t *zero_rows)
{
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * dim;
        bool zero = true;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(row[j])) {
                if (rep->nonfinite == 0) {
                    rep->nonfinite_part = part;
                    rep->nonfinite_row = i;
                    rep->nonfinite_col = j;
                }
                rep->nonfinite++;
            }
            if (row[j] != 0)
                zero = false;
        }
        if (zero)
            (*zero_rows)++;
    }
}

/* Samples (query, rank) pairs and compares stored with exact distances. */
static pqe_status check_distances(const pqe_dataset *ds, const pqe_validate_options *opt,
                                  pqe_validate_report *rep)
{
    pqe_status st = PQE_OK;
    size_t total = ds->n_test * ds->gt_k;
    size_t n = opt->sample_pairs < total ? opt->sample_pairs : total;
    size_t mismatches = 0, first_bad = 0;
    pair_sample *pairs;
    convention want = declared_convention(ds->metric);
    pqe_rng rng;

    if (n == 0)
        return PQE_OK;
    pairs = pqe_alloc_array(n, sizeof *pairs, "distance sample");
    if (!pairs)
        return pqe_alloc_status();
    pqe_rng_seed(&rng, opt->seed);
    for (size_t s = 0; s < n; s++) {
        size_t cell = n == total ? s : (size_t)pqe_rng_below(&rng, total);
        size_t q = cell / ds->gt_k;
        size_t id = (size_t)ds->neighbors[cell];
        const float *qv = ds->test + q * ds->dim, *xv = ds->train + id * ds->dim;
        double qn2 = dot_d(qv, qv, ds->dim), xn2 = dot_d(xv, xv, ds->dim);
        pair_sample *p = &pairs[s];
        p->stored = ds->distances[cell];
        p->ip = dot_d(qv, xv, ds->dim);
        p->l2 = pqe_metric_distance(qv, xv, ds->dim, PQE_METRIC_EUCLIDEAN);
        p->cos = qn2 > 0 && xn2 > 0 ? p->ip / (sqrt(qn2) * sqrt(xn2)) : 0;
        p->cos = fmax(-1, fmin(1, p->cos));
        p->scale = ds->metric == PQE_METRIC_EUCLIDEAN ? qn2 + xn2 : sqrt(qn2) * sqrt(xn2);
        {
            double exact = convention_value(p, want);
            double err = fabs(p->stored - exact) / fmax(fabs(exact), 1e-12);
            if (err > rep->max_distance_error)
                rep->max_distance_error = err;
        }
        if (!agrees(p, want)) {
            if (mismatches == 0)
                first_bad = s;
            mismatches++;
        }
    }
    rep->pairs_checked = n;
    if (mismatches * 100 > n) {
        /* Which convention do the stored values follow? */
        const char *looks = NULL;
        for (int c = 0; c < CONV_COUNT && !looks; c++) {
            size_t ok = 0;
            if (c == (int)want)
                continue;
            for (size_t s = 0; s < n; s++)
                ok += agrees(&pairs[s], (convention)c);
            if (ok * 100 >= n * 99)
                looks = convention_text[c];
        }
        snprintf(rep->distance_convention, sizeof rep->distance_convention, "%s",
                 looks ? looks : "no known convention");
        st = pqe_fail(PQE_ERR_DATA,
                      "%s: stored distances disagree with a recomputation under the declared "
                      "metric '%s' for %zu of %zu sampled pairs (e.g. stored %g, exact %g); they "
                      "look like %s",
                      ds->path ? ds->path : "dataset", pqe_metric_name(ds->metric), mismatches, n,
                      pairs[first_bad].stored, convention_value(&pairs[first_bad], want),
                      looks ? looks : "no known convention: rebuild them (pqeval groundtruth)");
    }
    free(pairs);
    return st;
}

/* The stored distances of every query in order, nearest first (ascending;
 * descending for dot): recall takes neighbors[q][0] as the true nearest
 * neighbour, so a misordered row would be scored silently wrong.  Rounding
 * to float32 keeps the order, so only inversions beyond the distance check's
 * relative 1e-3 count. */
static pqe_status check_order(const pqe_dataset *ds)
{
    double sign = ds->metric == PQE_METRIC_DOT ? -1.0 : 1.0;
    for (size_t q = 0; q < ds->n_test; q++) {
        const float *d = ds->distances + q * ds->gt_k;
        for (size_t j = 1; j < ds->gt_k; j++) {
            double prev = sign * d[j - 1], cur = sign * d[j];
            if (cur < prev - 1e-3 * fmax(fabs(prev), 1e-6))
                return pqe_fail(PQE_ERR_DATA,
                                "%s: the stored neighbours of query %zu are not sorted nearest "
                                "first: rank %zu has distance %g after %g at rank %zu",
                                ds->path ? ds->path : "dataset", q, j, (double)d[j],
                                (double)d[j - 1], j - 1);
        }
    }
    return PQE_OK;
}

/* Recomputes the top-k of sampled queries and compares, rank by rank, the
 * exact distances of the stored ids with the recomputed ones: two lists
 * that differ only inside ties agree. */
static pqe_status check_topk(const pqe_dataset *ds, const pqe_validate_options *opt,
                             pqe_validate_report *rep)
{
    pqe_status st = PQE_OK;
    size_t nq = opt->sample_queries < ds->n_test ? opt->sample_queries : ds->n_test;
    size_t k = ds->gt_k < ds->n_train ? ds->gt_k : ds->n_train;
    size_t *chosen = NULL, first_q = 0, first_rank = 0;
    int32_t *ids = NULL;
    double *dist = NULL, first_stored = 0, first_exact = 0;
    pqe_rng rng;

    if (nq == 0 || k == 0)
        return PQE_OK;
    chosen = pqe_alloc_array(nq, sizeof *chosen, "query sample");
    ids = pqe_alloc_array(k, sizeof *ids, "neighbour ids");
    dist = pqe_alloc_array(k, sizeof *dist, "distances");
    if (!chosen || !ids || !dist) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    pqe_rng_seed(&rng, pqe_rng_derive(opt->seed, 1));
    pqe_rng_sample(&rng, ds->n_test, nq, chosen);
    for (size_t s = 0; s < nq; s++) {
        size_t q = chosen[s];
        const float *qv = ds->test + q * ds->dim;
        bool bad = false;
        if ((st = pqe_groundtruth_scan(ds->train, ds->n_train, qv, ds->dim, ds->metric, k, ids,
                                       dist)) != PQE_OK)
            goto cleanup;
        for (size_t j = 0; j < k && !bad; j++) {
            size_t id = (size_t)ds->neighbors[q * ds->gt_k + j];
            double have = pqe_metric_distance(qv, ds->train + id * ds->dim, ds->dim, ds->metric);
            double tol = 1e-6 * fmax(fabs(dist[j]), 1.0);
            if (fabs(have - dist[j]) > tol) {
                bad = true;
                if (rep->queries_disagreeing == 0) {
                    first_q = q;
                    first_rank = j;
                    first_stored = have;
                    first_exact = dist[j];
                }
            }
        }
        rep->queries_disagreeing += bad;
    }
    rep->queries_checked = nq;
    if (rep->queries_disagreeing > 0)
        st = pqe_fail(PQE_ERR_DATA,
                      "%s: the stored nearest neighbours disagree with an exact recomputation "
                      "for %zu of %zu sampled queries (first: query %zu, rank %zu: the stored id "
                      "is at distance %.9g, the exact neighbour at %.9g)",
                      ds->path ? ds->path : "dataset", rep->queries_disagreeing, nq, first_q,
                      first_rank, first_stored, first_exact);

cleanup:
    free(chosen);
    free(ids);
    free(dist);
    return st;
}

pqe_status pqe_dataset_validate(const pqe_dataset *ds, const pqe_validate_options *opt,
                                pqe_validate_report *report)
{
    pqe_validate_options defaults = pqe_validate_options_default();
    pqe_validate_report local;
    pqe_validate_report *rep = report ? report : &local;
    const char *name;
    pqe_status st;

    if (!opt)
        opt = &defaults;
    memset(rep, 0, sizeof *rep);
    if (!ds)
        return pqe_fail(PQE_ERR_PARAM, "no dataset to validate");
    name = ds->path ? ds->path : "dataset";

    /* Parts present and of one dimension (the struct holds one). */
    if (ds->dim == 0)
        return pqe_fail(PQE_ERR_DATA, "%s: dimension 0", name);
    if (!ds->train || ds->n_train == 0)
        return pqe_fail(PQE_ERR_DATA, "%s: no train (base) vectors", name);
    if (!ds->test || ds->n_test == 0)
        return pqe_fail(PQE_ERR_DATA, "%s: no test (query) vectors", name);
    if (ds->n_learn > 0 && !ds->learn)
        return pqe_fail(PQE_ERR_DATA, "%s: n_learn = %zu but no learn vectors", name, ds->n_learn);

    /* Finite values, zero rows. */
    scan_part(ds->train, ds->n_train, ds->dim, "train", rep, &rep->zero_rows[0]);
    scan_part(ds->test, ds->n_test, ds->dim, "test", rep, &rep->zero_rows[1]);
    if (ds->learn)
        scan_part(ds->learn, ds->n_learn, ds->dim, "learn", rep, &rep->zero_rows[2]);
    if (rep->nonfinite > 0 && !opt->allow_nonfinite)
        return pqe_fail(PQE_ERR_DATA,
                        "%s: %zu non-finite values (NaN or infinite); the first is in '%s' row "
                        "%zu column %zu: refusing to train or evaluate on them",
                        name, rep->nonfinite, rep->nonfinite_part, rep->nonfinite_row,
                        rep->nonfinite_col);
    if (ds->metric == PQE_METRIC_ANGULAR) {
        static const char *parts[3] = {"train", "test", "learn"};
        for (int p = 0; p < 3; p++) {
            if (rep->zero_rows[p] > 0)
                pqe_log(PQE_LOG_WARN,
                        "%s: %zu zero vectors in '%s' (angular distance 1 to everything)", name,
                        rep->zero_rows[p], parts[p]);
        }
    }

    /* Ground truth. */
    if (!ds->neighbors)
        return PQE_OK;
    if (ds->gt_k == 0)
        return pqe_fail(PQE_ERR_DATA, "%s: neighbours with k = 0", name);
    for (size_t i = 0; i < ds->n_test; i++) {
        for (size_t j = 0; j < ds->gt_k; j++) {
            int32_t id = ds->neighbors[i * ds->gt_k + j];
            if (id < 0 || (size_t)id >= ds->n_train)
                return pqe_fail(PQE_ERR_DATA,
                                "%s: neighbour id %d of query %zu (rank %zu) is out of range: "
                                "the base has %zu vectors (ids 0..%zu)",
                                name, (int)id, i, j, ds->n_train, ds->n_train - 1);
        }
    }
    if (rep->nonfinite > 0)
        return PQE_OK; /* distances to non-finite vectors cannot be checked */
    if (ds->distances && (st = check_distances(ds, opt, rep)) != PQE_OK)
        return st;
    if (ds->distances && (st = check_order(ds)) != PQE_OK)
        return st;
    if (opt->check_groundtruth && (st = check_topk(ds, opt, rep)) != PQE_OK)
        return st;
    return PQE_OK;
}
