/* analysis.c - rank correlations, isotonic regression and the verdict on
 * "lower distortion means higher recall" across the settings of a sweep.
 *
 * Definitions and thresholds are stated in include/pqeval/analysis.h.
 * Sources and choices:
 * - Spearman's rho as the Pearson correlation of average ranks, which
 *   handles ties exactly (the 1 - 6 sum d^2 / (n^3 - n) shortcut does not).
 *   Its p-value uses the Student t distribution with n - 2 degrees of
 *   freedom, as scipy.stats.spearmanr does; the t tail is the regularized
 *   incomplete beta function I_{df/(df+t^2)}(df/2, 1/2), evaluated by its
 *   continued fraction with the modified Lentz method (Press et al.,
 *   Numerical Recipes, section 6.4, and Lentz 1976).
 * - Kendall's tau-b (Kendall 1945) by counting all n(n-1)/2 pairs: the
 *   sweep has tens of settings, so O(n^2) is nothing, and it is the
 *   definition itself, easy to check.  The p-value is the normal
 *   approximation of S = C - D with the variance corrected for ties in
 *   both variables (Kendall, "Rank correlation methods", 1970).
 * - Isotonic regression by pool-adjacent-violators (Ayer et al. 1955;
 *   Barlow et al. 1972): one pass over the points sorted by distortion,
 *   merging a block into the previous one while the order is violated.
 *   Equal distortions are pooled first so the fit is a function of the
 *   distortion (the "secondary" treatment of ties).
 * - Noise of a recall gap: the root-sum-of-squares rule was chosen over
 *   "the intervals overlap", because overlap of two 95% intervals still
 *   allows differences that are significant at about the 0.6% level, which
 *   would excuse real discordances.
 *
 * Depends on: status.h, metrics.h (PQE_Z95), util.h; libm.
 */
#include "pqeval/analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/metrics.h" /* PQE_Z95 */
#include "util.h"

/* ---- special functions ------------------------------------------------ */

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;

    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));

        /* Even step. */
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        h *= d * c;

        /* Odd step. */
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps)
            break;
    }
    return h;
}

/* The regularized incomplete beta function I_x(a, b), 0 <= x <= 1. */
static double beta_inc(double a, double b, double x)
{
    double front;

    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * beta_cf(a, b, x) / a;
    return 1.0 - front * beta_cf(b, a, 1.0 - x) / b;
}

/* Two-sided tail probability of Student's t with df degrees of freedom. */
static double t_two_sided(double t, double df)
{
    if (isinf(t))
        return 0.0;
    return beta_inc(df / 2.0, 0.5, df / (df + t * t));
}

/* ---- correlations ---------------------------------------------------- */

typedef struct keyed {
    double key;
    double value;
    size_t index;
} keyed;

/* By key, then by original index (so sorting is deterministic). */
static int keyed_cmp(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static pqe_status check_finite(const double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            return pqe_fail(PQE_ERR_DATA, "%s: value %zu is NaN", what, i);
    }
    return PQE_OK;
}

pqe_status pqe_average_ranks(const double *x, size_t n, double *ranks)
{
    keyed *items = NULL;
    pqe_status st;

    if (n == 0)
        return PQE_OK;
    st = check_finite(x, n, "ranks");
    if (st != PQE_OK)
        return st;
    items = pqe_alloc_array(n, sizeof *items, "ranks");
    if (!items)
        return pqe_alloc_status();
    for (size_t i = 0; i < n; i++)
        items[i] = (keyed){x[i], 0.0, i};
    qsort(items, n, sizeof *items, keyed_cmp);

    /* Each run of equal values [i, j) gets the mean of ranks i+1 .. j. */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && items[j].key == items[i].key)
            j++;
        double rank = ((double)(i + 1) + (double)j) / 2.0;
        for (size_t t = i; t < j; t++)
            ranks[items[t].index] = rank;
        i = j;
    }
    free(items);
    return PQE_OK;
}

/* Pearson correlation; NaN if either variable is constant. */
static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0.0, my = 0.0, sxy = 0.0, sxx = 0.0, syy = 0.0;

    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0.0 || syy <= 0.0)
        return NAN;
    return fmax(-1.0, fmin(1.0, sxy / sqrt(sxx * syy)));
}

pqe_status pqe_spearman(const double *x, const double *y, size_t n, double *rho, double *p)
{
    double *rx = NULL, *ry = NULL;
    double r = NAN, pv = NAN;
    pqe_status st = PQE_OK;

    if (n >= 2) {
        rx = pqe_alloc_array(n, sizeof *rx, "ranks");
        ry = pqe_alloc_array(n, sizeof *ry, "ranks");
        if (!rx || !ry) {
            st = pqe_alloc_status();
            goto cleanup;
        }
        st = pqe_average_ranks(x, n, rx);
        if (st == PQE_OK)
            st = pqe_average_ranks(y, n, ry);
        if (st != PQE_OK)
            goto cleanup;
        r = pearson(rx, ry, n);
    }
    if (n >= 3 && !isnan(r)) {
        double df = (double)(n - 2);
        pv = 1.0 - r * r <= 0.0 ? 0.0 : t_two_sided(r * sqrt(df / (1.0 - r * r)), df);
    }

cleanup:
    free(rx);
    free(ry);
    *rho = st == PQE_OK ? r : NAN;
    if (p)
        *p = st == PQE_OK ? pv : NAN;
    return st;
}

/* Sums over the runs of tied values of t(t-1), t(t-1)(t-2) and
 * t(t-1)(2t+5), for the variance of Kendall's S. */
static pqe_status tie_sums(const double *x, size_t n, double sums[3])
{
    keyed *items = pqe_alloc_array(n, sizeof *items, "tie counts");
    pqe_status st = PQE_OK;

    sums[0] = sums[1] = sums[2] = 0.0;
    if (!items) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (keyed){x[i], 0.0, i};
    qsort(items, n, sizeof *items, keyed_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && items[j].key == items[i].key)
            j++;
        double t = (double)(j - i);
        sums[0] += t * (t - 1.0);
        sums[1] += t * (t - 1.0) * (t - 2.0);
        sums[2] += t * (t - 1.0) * (2.0 * t + 5.0);
        i = j;
    }

cleanup:
    free(items);
    return st;
}

pqe_status pqe_kendall(const double *x, const double *y, size_t n, double *tau, double *p)
{
    double concordant = 0.0, discordant = 0.0, tied_x = 0.0, tied_y = 0.0;
    double n0 = (double)n * ((double)n - 1.0) / 2.0;
    double t = NAN, pv = NAN;
    pqe_status st;

    *tau = NAN;
    if (p)
        *p = NAN;
    st = check_finite(x, n, "kendall");
    if (st == PQE_OK)
        st = check_finite(y, n, "kendall");
    if (st != PQE_OK || n < 2)
        return st;

    /* Every pair once. */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            int sx = (x[i] > x[j]) - (x[i] < x[j]);
            int sy = (y[i] > y[j]) - (y[i] < y[j]);
            if (sx == 0)
                tied_x += 1.0;
            if (sy == 0)
                tied_y += 1.0;
            if (sx * sy > 0)
                concordant += 1.0;
            else if (sx * sy < 0)
                discordant += 1.0;
        }
    }
    if (n0 - tied_x > 0.0 && n0 - tied_y > 0.0)
        t = (concordant - discordant) / sqrt((n0 - tied_x) * (n0 - tied_y));

    /* Variance of S = C - D under independence, corrected for ties. */
    if (n >= 3 && !isnan(t)) {
        double tx[3], ty[3];
        double nd = (double)n;
        st = tie_sums(x, n, tx);
        if (st == PQE_OK)
            st = tie_sums(y, n, ty);
        if (st != PQE_OK)
            return st;
        double var = (nd * (nd - 1.0) * (2.0 * nd + 5.0) - tx[2] - ty[2]) / 18.0 +
                     tx[0] * ty[0] / (2.0 * nd * (nd - 1.0)) +
                     tx[1] * ty[1] / (9.0 * nd * (nd - 1.0) * (nd - 2.0));
        if (var > 0.0)
            pv = erfc(fabs(concordant - discordant) / sqrt(var) / sqrt(2.0));
    }
    *tau = t;
    if (p)
        *p = pv;
    return PQE_OK;
}

pqe_status pqe_correlate(const double *x, const double *y, size_t n, pqe_correlation *out)
{
    pqe_status st;

    out->n = n;
    st = pqe_spearman(x, y, n, &out->spearman, &out->spearman_p);
    if (st == PQE_OK)
        st = pqe_kendall(x, y, n, &out->kendall, &out->kendall_p);
    return st;
}

/* ---- isotonic regression ---------------------------------------------- */

/* The fit at the distinct x values in ascending order: ux[0..*n_unique)
 * and uf[...].  items is scratch of n entries. */
static void pava(const double *x, const double *y, size_t n, keyed *items, double *ux, double *uf,
                 double *uw, size_t *n_unique)
{
    size_t nb = 0; /* blocks on the stack */
    size_t nu = 0;

    for (size_t i = 0; i < n; i++)
        items[i] = (keyed){x[i], y[i], i};
    qsort(items, n, sizeof *items, keyed_cmp);

    /* Pool equal x first: ux, uf (mean y), uw (count). */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double sum = 0.0;
        while (j < n && items[j].key == items[i].key)
            sum += items[j++].value;
        ux[nu] = items[i].key;
        uw[nu] = (double)(j - i);
        uf[nu] = sum / uw[nu];
        nu++;
        i = j;
    }

    /* Pool adjacent violators over the unique points, keeping a stack of
     * blocks in items (no longer needed): block b has mean items[b].key,
     * weight items[b].value and ends at unique point items[b].index. */
    for (size_t u = 0; u < nu; u++) {
        double mean = uf[u], w = uw[u];
        /* A non-increasing fit is violated when an earlier block is lower. */
        while (nb > 0 && items[nb - 1].key < mean) {
            double pw = items[nb - 1].value;
            mean = (items[nb - 1].key * pw + mean * w) / (pw + w);
            w += pw;
            nb--;
        }
        items[nb].key = mean;
        items[nb].value = w;
        items[nb].index = u; /* last unique point of the block */
        nb++;
    }

    /* Spread each block's mean over its unique points. */
    size_t start = 0;
    for (size_t b = 0; b < nb; b++) {
        for (size_t u = start; u <= items[b].index; u++)
            uf[u] = items[b].key;
        start = items[b].index + 1;
    }
    *n_unique = nu;
}

/* The step fit evaluated at x0: linear between neighbours, flat outside. */
static double interpolate(const double *ux, const double *uf, size_t nu, double x0)
{
    size_t lo = 0, hi = nu - 1;

    if (x0 <= ux[0])
        return uf[0];
    if (x0 >= ux[nu - 1])
        return uf[nu - 1];
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ux[mid] <= x0)
            lo = mid;
        else
            hi = mid;
    }
    return uf[lo] + (uf[hi] - uf[lo]) * (x0 - ux[lo]) / (ux[hi] - ux[lo]);
}

/* Scratch for pava over up to n points. */
typedef struct pava_work {
    keyed *items;
    double *ux, *uf, *uw;
} pava_work;

static pqe_status pava_work_new(pava_work *w, size_t n)
{
    w->items = pqe_alloc_array(n, sizeof *w->items, "isotonic fit");
    w->ux = pqe_alloc_array(n, sizeof *w->ux, "isotonic fit");
    w->uf = pqe_alloc_array(n, sizeof *w->uf, "isotonic fit");
    w->uw = pqe_alloc_array(n, sizeof *w->uw, "isotonic fit");
    if (!w->items || !w->ux || !w->uf || !w->uw)
        return pqe_alloc_status();
    return PQE_OK;
}

static void pava_work_free(pava_work *w)
{
    free(w->items);
    free(w->ux);
    free(w->uf);
    free(w->uw);
}

static pqe_status check_points(const double *x, const double *y, size_t n, const char *what)
{
    pqe_status st;

    if (n == 0)
        return pqe_fail(PQE_ERR_PARAM, "%s: no points (n = 0)", what);
    st = check_finite(x, n, what);
    if (st == PQE_OK)
        st = check_finite(y, n, what);
    return st;
}

pqe_status pqe_isotonic_decreasing(const double *x, const double *y, size_t n, double *fit)
{
    pava_work w = {0};
    size_t nu;
    pqe_status st = check_points(x, y, n, "isotonic fit");

    if (st == PQE_OK)
        st = pava_work_new(&w, n);
    if (st == PQE_OK) {
        pava(x, y, n, w.items, w.ux, w.uf, w.uw, &nu);
        for (size_t i = 0; i < n; i++)
            fit[i] = interpolate(w.ux, w.uf, nu, x[i]);
    }
    pava_work_free(&w);
    return st;
}

pqe_status pqe_isotonic_predict(const double *x, const double *y, size_t n, double x0, double *out)
{
    pava_work w = {0};
    size_t nu;
    pqe_status st = check_points(x, y, n, "isotonic prediction");

    if (st == PQE_OK)
        st = pava_work_new(&w, n);
    if (st == PQE_OK) {
        pava(x, y, n, w.items, w.ux, w.uf, w.uw, &nu);
        *out = interpolate(w.ux, w.uf, nu, x0);
    }
    pava_work_free(&w);
    return st;
}

pqe_status pqe_isotonic_loo(const double *x, const double *y, size_t n, double *pred, double *mae,
                            double *rmse)
{
    pava_work w = {0};
    double *ox = NULL, *oy = NULL;
    double sum_abs = 0.0, sum_sq = 0.0;
    pqe_status st = check_points(x, y, n, "isotonic leave-one-out");

    *mae = NAN;
    *rmse = NAN;
    if (pred) {
        for (size_t i = 0; i < n; i++)
            pred[i] = NAN;
    }
    if (st != PQE_OK || n < 3)
        return st;
    ox = pqe_alloc_array(n - 1, sizeof *ox, "leave-one-out points");
    oy = pqe_alloc_array(n - 1, sizeof *oy, "leave-one-out points");
    if (!ox || !oy) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    st = pava_work_new(&w, n - 1);
    if (st != PQE_OK)
        goto cleanup;

    /* Fit on all points but i, predict at x[i]. */
    for (size_t i = 0; i < n; i++) {
        size_t m = 0, nu;
        for (size_t j = 0; j < n; j++) {
            if (j != i) {
                ox[m] = x[j];
                oy[m] = y[j];
                m++;
            }
        }
        pava(ox, oy, m, w.items, w.ux, w.uf, w.uw, &nu);
        double p = interpolate(w.ux, w.uf, nu, x[i]);
        if (pred)
            pred[i] = p;
        sum_abs += fabs(p - y[i]);
        sum_sq += (p - y[i]) * (p - y[i]);
    }
    *mae = sum_abs / (double)n;
    *rmse = sqrt(sum_sq / (double)n);

cleanup:
    pava_work_free(&w);
    free(ox);
    free(oy);
    return st;
}

/* ---- the analysis over settings -------------------------------------- */

const char *pqe_verdict_name(pqe_verdict verdict)
{
    switch (verdict) {
    case PQE_VERDICT_NOT_ENOUGH:
        return "not enough";
    case PQE_VERDICT_HOLDS:
        return "holds";
    case PQE_VERDICT_PARTLY:
        return "partly";
    case PQE_VERDICT_DOES_NOT_HOLD:
        return "does not hold";
    }
    return "unknown";
}

/* The squared standard error of a setting's recall; NaN if unknown. */
static double recall_se2(const pqe_analysis_point *pt)
{
    double se2 = NAN;

    if (isfinite(pt->recall_lo) && isfinite(pt->recall_hi)) {
        double se = (pt->recall_hi - pt->recall_lo) / 2.0 / PQE_Z95;
        se2 = se * se;
    }
    if (pt->n_seeds >= 2 && isfinite(pt->recall_seed_sd)) {
        double s2 = pt->recall_seed_sd * pt->recall_seed_sd / (double)pt->n_seeds;
        se2 = isnan(se2) ? s2 : se2 + s2;
    }
    return se2;
}

/* (b): one entry per distinct code size, ascending. */
static pqe_status analyse_groups(const pqe_analysis_point *points, size_t n, const double *dist,
                                 const double *rec, pqe_analysis *out)
{
    double *bits = NULL, *gx = NULL, *gy = NULL;
    size_t ng = 0;
    pqe_status st = PQE_OK;

    out->group_rho_min = NAN;
    out->group_rho_max = NAN;
    if (n == 0)
        return PQE_OK;
    bits = pqe_alloc_array(n, sizeof *bits, "code sizes");
    gx = pqe_alloc_array(n, sizeof *gx, "group points");
    gy = pqe_alloc_array(n, sizeof *gy, "group points");
    if (!bits || !gx || !gy) {
        st = pqe_alloc_status();
        goto cleanup;
    }

    /* Distinct code sizes, sorted (insertion: n is small). */
    for (size_t i = 0; i < n; i++) {
        size_t at = 0;
        while (at < ng && bits[at] < points[i].code_bits)
            at++;
        if (at < ng && bits[at] == points[i].code_bits)
            continue;
        memmove(bits + at + 1, bits + at, (ng - at) * sizeof *bits);
        bits[at] = points[i].code_bits;
        ng++;
    }
    out->groups = pqe_calloc_array(ng, sizeof *out->groups, "groups");
    if (!out->groups) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    out->n_groups = ng;

    for (size_t g = 0; g < ng; g++) {
        pqe_analysis_group *grp = &out->groups[g];
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (points[i].code_bits == bits[g]) {
                gx[m] = dist[i];
                gy[m] = rec[i];
                m++;
            }
        }
        grp->code_bits = bits[g];
        grp->n = m;
        grp->judged = m >= PQE_ANALYSIS_GROUP_MIN;
        grp->corr = (pqe_correlation){m, NAN, NAN, NAN, NAN};
        if (!grp->judged)
            continue;
        st = pqe_correlate(gx, gy, m, &grp->corr);
        if (st != PQE_OK)
            goto cleanup;
        out->n_groups_judged++;
        if (!isnan(grp->corr.spearman)) {
            if (isnan(out->group_rho_min) || grp->corr.spearman < out->group_rho_min)
                out->group_rho_min = grp->corr.spearman;
            if (isnan(out->group_rho_max) || grp->corr.spearman > out->group_rho_max)
                out->group_rho_max = grp->corr.spearman;
        }
    }

cleanup:
    free(bits);
    free(gx);
    free(gy);
    return st;
}

/* (c): every discordant pair, ordered by i then j. */
static pqe_status analyse_pairs(const pqe_analysis_point *points, size_t n, pqe_analysis *out)
{
    size_t count = 0, at = 0;

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (points[i].distortion < points[j].distortion && points[i].recall < points[j].recall)
                count++;
        }
    }
    if (count == 0)
        return PQE_OK;
    out->pairs = pqe_calloc_array(count, sizeof *out->pairs, "discordant pairs");
    if (!out->pairs)
        return pqe_alloc_status();
    out->n_pairs = count;

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            const pqe_analysis_point *a = &points[i], *b = &points[j];
            if (!(a->distortion < b->distortion && a->recall < b->recall))
                continue;
            pqe_discordant_pair *pr = &out->pairs[at++];
            double se2_a = recall_se2(a), se2_b = recall_se2(b);
            pr->i = i;
            pr->j = j;
            pr->same_group = a->code_bits == b->code_bits;
            pr->distortion_gap = b->distortion - a->distortion;
            pr->distortion_gap_rel = pr->distortion_gap / b->distortion;
            pr->recall_gap = b->recall - a->recall;
            if (isnan(se2_a) && isnan(se2_b))
                pr->noise = NAN;
            else
                pr->noise =
                    PQE_Z95 * sqrt((isnan(se2_a) ? 0.0 : se2_a) + (isnan(se2_b) ? 0.0 : se2_b));
            pr->within_noise = !isnan(pr->noise) && pr->recall_gap < pr->noise;
            if (!pr->within_noise)
                out->n_pairs_outside_noise++;
        }
    }
    return PQE_OK;
}

/* (e): the verdict from the numbers above. */
static pqe_verdict decide(const pqe_analysis *a)
{
    double rho = a->overall.spearman;

    if (a->n_points < PQE_ANALYSIS_MIN_SETTINGS || isnan(rho))
        return PQE_VERDICT_NOT_ENOUGH;
    if (rho <= PQE_ANALYSIS_HOLDS_RHO && a->n_pairs_outside_noise == 0)
        return PQE_VERDICT_HOLDS;
    if (rho <= PQE_ANALYSIS_PARTLY_RHO)
        return PQE_VERDICT_PARTLY;
    return PQE_VERDICT_DOES_NOT_HOLD;
}

static char *copy_string(const char *s)
{
    char *c;
    size_t len;

    if (!s)
        return NULL;
    len = strlen(s);
    c = pqe_alloc_array(len + 1, 1, "label");
    if (c)
        memcpy(c, s, len + 1);
    return c;
}

pqe_status pqe_analyse(const pqe_analysis_point *points, size_t n, const char *recall_name,
                       pqe_analysis *out)
{
    double *dist = NULL, *rec = NULL;
    pqe_status st = PQE_OK;

    memset(out, 0, sizeof *out);
    out->overall = (pqe_correlation){n, NAN, NAN, NAN, NAN};
    out->loo_mae = NAN;
    out->loo_rmse = NAN;
    out->group_rho_min = NAN;
    out->group_rho_max = NAN;
    out->n_points = n;

    for (size_t i = 0; i < n; i++) {
        if (!isfinite(points[i].distortion) || !isfinite(points[i].recall)) {
            st = pqe_fail(PQE_ERR_DATA, "analysis: setting %zu (%s) has distortion %g, recall %g",
                          i, points[i].label ? points[i].label : "unlabelled", points[i].distortion,
                          points[i].recall);
            goto cleanup;
        }
    }
    out->recall_name = copy_string(recall_name ? recall_name : "recall");
    if (!out->recall_name) {
        st = pqe_alloc_status();
        goto cleanup;
    }
    if (n > 0) {
        out->labels = pqe_calloc_array(n, sizeof *out->labels, "labels");
        dist = pqe_alloc_array(n, sizeof *dist, "distortions");
        rec = pqe_alloc_array(n, sizeof *rec, "recalls");
        out->fit = pqe_alloc_array(n, sizeof *out->fit, "isotonic fit");
        out->loo_pred = pqe_alloc_array(n, sizeof *out->loo_pred, "leave-one-out");
        if (!out->labels || !dist || !rec || !out->fit || !out->loo_pred) {
            st = pqe_alloc_status();
            goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        dist[i] = points[i].distortion;
        rec[i] = points[i].recall;
        if (points[i].label && !(out->labels[i] = copy_string(points[i].label))) {
            st = pqe_alloc_status();
            goto cleanup;
        }
    }

    /* (a) over all settings, (b) per code size, (c) discordant pairs. */
    st = pqe_correlate(dist, rec, n, &out->overall);
    if (st == PQE_OK)
        st = analyse_groups(points, n, dist, rec, out);
    if (st == PQE_OK)
        st = analyse_pairs(points, n, out);

    /* (d) the monotone fit and how well it predicts left-out settings. */
    if (st == PQE_OK && n > 0)
        st = pqe_isotonic_decreasing(dist, rec, n, out->fit);
    if (st == PQE_OK && n > 0)
        st = pqe_isotonic_loo(dist, rec, n, out->loo_pred, &out->loo_mae, &out->loo_rmse);

    /* (e) */
    if (st == PQE_OK) {
        out->verdict = decide(out);
        st = pqe_verdict_format(out, &out->verdict_text);
    }

cleanup:
    free(dist);
    free(rec);
    if (st != PQE_OK)
        pqe_analysis_clear(out);
    return st;
}

/* A growing string for the verdict line. */
typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    int need;

    if (t->failed)
        return;
    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        t->failed = true;
        return;
    }
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = (t->len + (size_t)need + 1) * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

pqe_status pqe_verdict_format(const pqe_analysis *a, char **out)
{
    text t = {0};
    const char *name = a->recall_name ? a->recall_name : "recall";
    size_t n = a->n_points;

    *out = NULL;
    switch (a->verdict) {
    case PQE_VERDICT_NOT_ENOUGH:
        if (n < PQE_ANALYSIS_MIN_SETTINGS)
            text_add(&t,
                     "not enough settings to judge whether distortion predicts %s: %zu "
                     "setting%s, %d needed",
                     name, n, n == 1 ? "" : "s", PQE_ANALYSIS_MIN_SETTINGS);
        else
            text_add(&t,
                     "not enough variation to judge whether distortion predicts %s: "
                     "distortion or recall is the same for all %zu settings",
                     name, n);
        break;
    case PQE_VERDICT_HOLDS:
        text_add(&t, "distortion predicts %s well", name);
        break;
    case PQE_VERDICT_PARTLY:
        text_add(&t, "distortion predicts %s only partly", name);
        break;
    case PQE_VERDICT_DOES_NOT_HOLD:
        text_add(&t, "distortion does not predict %s", name);
        break;
    }

    /* The numbers the verdict rests on. */
    if (a->verdict != PQE_VERDICT_NOT_ENOUGH) {
        text_add(&t, ": Spearman %.2f over %zu settings", a->overall.spearman, n);
        if (a->n_groups_judged > 0 && !isnan(a->group_rho_min)) {
            if (a->group_rho_min == a->group_rho_max)
                text_add(&t, " (%.2f within equal code size, %zu group%s)", a->group_rho_min,
                         a->n_groups_judged, a->n_groups_judged == 1 ? "" : "s");
            else
                text_add(&t, " (%.2f to %.2f within equal code size, %zu groups)", a->group_rho_min,
                         a->group_rho_max, a->n_groups_judged);
        }
        if (a->n_pairs == 0)
            text_add(&t, ", no discordant pair");
        else if (a->n_pairs == 1 && a->n_pairs_outside_noise == 0)
            text_add(&t, ", 1 discordant pair (within noise)");
        else if (a->n_pairs_outside_noise == 0)
            text_add(&t, ", %zu discordant pairs (all within noise)", a->n_pairs);
        else
            text_add(&t, ", %zu discordant pair%s (%zu outside noise)", a->n_pairs,
                     a->n_pairs == 1 ? "" : "s", a->n_pairs_outside_noise);
        text_add(&t, ", leave-one-out error %.3f", a->loo_mae);
    }
    if (t.failed) {
        free(t.buf);
        return pqe_fail(PQE_ERR_NOMEM, "verdict text: out of memory");
    }
    *out = t.buf;
    return PQE_OK;
}

void pqe_analysis_clear(pqe_analysis *self)
{
    if (!self)
        return;
    free(self->recall_name);
    if (self->labels) {
        for (size_t i = 0; i < self->n_points; i++)
            free(self->labels[i]);
    }
    free(self->labels);
    free(self->groups);
    free(self->pairs);
    free(self->fit);
    free(self->loo_pred);
    free(self->verdict_text);
    memset(self, 0, sizeof *self);
}
