/* test_analysis.c - rank correlations, isotonic regression, discordant
 * pairs and the verdict, on small examples with known answers.
 *
 * Where the numbers come from is said at each case.  scipy is not installed
 * on the build machine; the two scipy values below are the examples of
 * scipy's own documentation (spearmanr, kendalltau), re-derived here with a
 * brute-force Python transcription of the formulas (pair counting, and for
 * Spearman's p a numerical integral of the t density), which agreed to
 * 1e-14.  The isotonic leave-one-out values in the verdict strings were
 * computed the same way (a plain Python PAVA, interpolation, and averaging). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pqeval/analysis.h"

/* |a - b| <= tol, printing both values when not (this cmocka has no
 * assert_double_equal). */
static void near_at(double a, double b, double tol, const char *file, int line)
{
    if (!(fabs(a - b) <= tol)) {
        print_error("%.17g is not within %g of %.17g\n", a, tol, b);
        _fail(file, line);
    }
}
#define assert_near(a, b, tol) near_at((a), (b), (tol), __FILE__, __LINE__)

static void average_ranks_share_ties(void **state)
{
    (void)state;
    const double x[] = {10, 20, 20, 30, 20};
    const double expected[] = {1, 3, 3, 5, 3}; /* 20s take ranks 2, 3, 4 */
    double r[5];

    assert_int_equal(pqe_average_ranks(x, 5, r), PQE_OK);
    for (int i = 0; i < 5; i++)
        assert_near(r[i], expected[i], 0.0);
}

static void spearman_with_ties_by_hand(void **state)
{
    (void)state;
    /* Ranks of x: 1, 2.5, 2.5, 4; of y: 1, 3, 2, 4; both means 2.5.
     * Deviations (-1.5, 0, 0, 1.5) and (-1.5, 0.5, -0.5, 1.5): products
     * sum 4.5, squares 4.5 and 5, rho = 4.5 / sqrt(22.5) = sqrt(0.9).
     * With 2 degrees of freedom the two-sided t tail is 1 - t/sqrt(2+t^2),
     * and t^2 / (2 + t^2) = rho^2 here, so p = 1 - rho. */
    const double x[] = {1, 2, 2, 3};
    const double y[] = {1, 3, 2, 4};
    double rho, p;

    assert_int_equal(pqe_spearman(x, y, 4, &rho, &p), PQE_OK);
    assert_near(rho, sqrt(0.9), 1e-14);
    assert_near(p, 1.0 - sqrt(0.9), 1e-12);

    /* scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) in scipy's docs:
     * statistic 0.8207826816681233, pvalue 0.08858700531354381. */
    const double a[] = {1, 2, 3, 4, 5};
    const double b[] = {5, 6, 7, 8, 7};
    assert_int_equal(pqe_spearman(a, b, 5, &rho, &p), PQE_OK);
    assert_near(rho, 0.8207826816681233, 1e-14);
    assert_near(p, 0.08858700531354381, 1e-12);

    /* Twelve points without ties, 10 degrees of freedom, a small and a
     * middling p (Python: ranks, Pearson, Simpson integral of the t
     * density with 400000 steps). */
    const double c[] = {0.31, 0.12, 0.45, 0.52, 0.18, 0.77, 0.64, 0.29, 0.90, 0.83, 0.41, 0.58};
    const double d1[] = {0.70, 0.85, 0.66, 0.60, 0.72, 0.40, 0.62, 0.80, 0.35, 0.41, 0.61, 0.52};
    const double d2[] = {0.70, 0.45, 0.66, 0.60, 0.72, 0.40, 0.62, 0.30, 0.35, 0.41, 0.61, 0.52};
    assert_int_equal(pqe_spearman(c, d1, 12, &rho, &p), PQE_OK);
    assert_near(rho, -0.9300699300699301, 1e-14);
    assert_near(p, 1.1702227878829241e-05, 1e-12);
    assert_int_equal(pqe_spearman(c, d2, 12, &rho, &p), PQE_OK);
    assert_near(rho, -0.38461538461538464, 1e-14);
    assert_near(p, 0.21702022575995716, 1e-10);
}

static void kendall_tau_b_with_ties(void **state)
{
    (void)state;
    /* By hand: of the 6 pairs of [1,2,2,3] vs [1,3,2,4], 5 concordant, 1
     * tied in x only: tau_b = 5 / sqrt((6 - 1) * 6). */
    const double x[] = {1, 2, 2, 3};
    const double y[] = {1, 3, 2, 4};
    double tau, p;

    assert_int_equal(pqe_kendall(x, y, 4, &tau, &p), PQE_OK);
    assert_near(tau, 5.0 / sqrt(30.0), 1e-14);

    /* scipy.stats.kendalltau([12,2,1,12,2], [1,4,7,1,0]) in scipy's docs
     * (ties in both, so scipy uses the asymptotic p): statistic
     * -0.47140452079103173, pvalue 0.2827454599327748.  By hand: C = 2,
     * D = 6, 2 pairs tied in x, 1 in y: tau_b = -4 / sqrt(8 * 9). */
    const double a[] = {12, 2, 1, 12, 2};
    const double b[] = {1, 4, 7, 1, 0};
    assert_int_equal(pqe_kendall(a, b, 5, &tau, &p), PQE_OK);
    assert_near(tau, -4.0 / sqrt(72.0), 1e-14);
    assert_near(tau, -0.47140452079103173, 1e-14);
    assert_near(p, 0.2827454599327748, 1e-12);
}

static void correlations_undefined_are_nan(void **state)
{
    (void)state;
    const double x[] = {1, 2, 3, 4};
    const double flat[] = {5, 5, 5, 5};
    const double with_nan[] = {1, NAN, 3, 4};
    pqe_correlation c;
    double rho, p;

    assert_int_equal(pqe_correlate(x, flat, 4, &c), PQE_OK);
    assert_true(isnan(c.spearman) && isnan(c.kendall));
    assert_true(isnan(c.spearman_p) && isnan(c.kendall_p));
    assert_int_equal(pqe_correlate(x, x, 1, &c), PQE_OK);
    assert_true(isnan(c.spearman) && isnan(c.kendall));
    assert_int_equal(pqe_correlate(x, x, 0, &c), PQE_OK);
    assert_true(isnan(c.spearman));

    /* Two points: the coefficient exists, the p-value does not. */
    assert_int_equal(pqe_spearman(x, x, 2, &rho, &p), PQE_OK);
    assert_near(rho, 1.0, 0.0);
    assert_true(isnan(p));

    /* A perfect correlation has p = 0 by the t rule. */
    assert_int_equal(pqe_spearman(x, x, 4, &rho, &p), PQE_OK);
    assert_near(p, 0.0, 0.0);

    assert_int_equal(pqe_spearman(x, with_nan, 4, &rho, &p), PQE_ERR_DATA);
    assert_int_equal(pqe_kendall(x, with_nan, 4, &rho, &p), PQE_ERR_DATA);
}

static void pava_known_sequences(void **state)
{
    (void)state;
    double fit[6];

    /* Violations (0.9 < 0.95), (0.7 < 0.8), (0.5 < 0.6) pool pairwise. */
    const double x[] = {1, 2, 3, 4, 5, 6};
    const double y[] = {0.9, 0.95, 0.7, 0.8, 0.5, 0.6};
    const double expect[] = {0.925, 0.925, 0.75, 0.75, 0.55, 0.55};
    assert_int_equal(pqe_isotonic_decreasing(x, y, 6, fit), PQE_OK);
    for (int i = 0; i < 6; i++)
        assert_near(fit[i], expect[i], 1e-15);

    /* A pool that must merge backwards: 0.5, 0.6 -> 0.55, then 0.9 pools
     * all three to 2/3.  Input in scrambled order. */
    const double x2[] = {3, 1, 2};
    const double y2[] = {0.9, 0.5, 0.6};
    assert_int_equal(pqe_isotonic_decreasing(x2, y2, 3, fit), PQE_OK);
    for (int i = 0; i < 3; i++)
        assert_near(fit[i], 2.0 / 3.0, 1e-15);

    /* Equal x share a value: x = 1 pools to 0.7 (weight 2), then 0.9 at
     * x = 2 violates, giving (0.8 + 0.6 + 0.9) / 3. */
    const double x3[] = {1, 1, 2};
    const double y3[] = {0.8, 0.6, 0.9};
    assert_int_equal(pqe_isotonic_decreasing(x3, y3, 3, fit), PQE_OK);
    for (int i = 0; i < 3; i++)
        assert_near(fit[i], 2.3 / 3.0, 1e-15);

    /* Prediction interpolates between fitted points, flat outside. */
    double v;
    assert_int_equal(pqe_isotonic_predict(x, y, 6, 2.5, &v), PQE_OK);
    assert_near(v, (0.925 + 0.75) / 2.0, 1e-15);
    assert_int_equal(pqe_isotonic_predict(x, y, 6, 0.0, &v), PQE_OK);
    assert_near(v, 0.925, 1e-15);
    assert_int_equal(pqe_isotonic_predict(x, y, 6, 9.0, &v), PQE_OK);
    assert_near(v, 0.55, 1e-15);
    assert_int_equal(pqe_isotonic_decreasing(x, y, 0, fit), PQE_ERR_PARAM);
}

static void loo_by_hand(void **state)
{
    (void)state;
    /* x = 1..4, y = 0.9, 0.8, 0.85, 0.5.
     * Leave out 1: fit (0.825, 0.825, 0.5) at x 2,3,4; x = 1 is below the
     *   range: 0.825, error -0.075.
     * Leave out 2: (0.9, 0.85, 0.5) at 1,3,4; x = 2 halfway: 0.875, +0.075.
     * Leave out 3: (0.9, 0.8, 0.5) at 1,2,4; x = 3 halfway: 0.65, -0.2.
     * Leave out 4: (0.9, 0.825, 0.825); x = 4 above: 0.825, +0.325.
     * MAE 0.675 / 4; RMSE sqrt(0.156875 / 4). */
    const double x[] = {1, 2, 3, 4};
    const double y[] = {0.9, 0.8, 0.85, 0.5};
    const double pred_expect[] = {0.825, 0.875, 0.65, 0.825};
    double pred[4], mae, rmse;

    assert_int_equal(pqe_isotonic_loo(x, y, 4, pred, &mae, &rmse), PQE_OK);
    for (int i = 0; i < 4; i++)
        assert_near(pred[i], pred_expect[i], 1e-15);
    assert_near(mae, 0.16875, 1e-15);
    assert_near(rmse, sqrt(0.156875 / 4.0), 1e-15);

    assert_int_equal(pqe_isotonic_loo(x, y, 2, pred, &mae, &rmse), PQE_OK);
    assert_true(isnan(mae) && isnan(rmse) && isnan(pred[0]));
}

/* A point with a symmetric 95% interval of half-width ci (NaN = none). */
static pqe_analysis_point point(const char *label, double bits, double dist, double recall,
                                double ci)
{
    pqe_analysis_point p = {label, bits, dist, recall, recall - ci, recall + ci, 0, NAN};
    return p;
}

static void discordant_pairs_and_noise(void **state)
{
    (void)state;
    /* A (d 1, recall 0.80 +- 0.02) and B (d 2, 0.81 +- 0.02): gap 0.01,
     * se 0.02 / 1.96 each, noise 1.96 sqrt(2) 0.02 / 1.96 = 0.0283: within.
     * A and C (d 3, 0.95 +- 0.01): gap 0.15, noise sqrt(0.02^2 + 0.01^2)
     * = 0.0224: outside.  D (d 4, 0.96, no interval) against A: the noise
     * comes from A alone; against nothing-known E it would be unknown. */
    pqe_analysis_point pts[] = {
        point("A", 64, 1.0, 0.80, 0.02), point("B", 64, 2.0, 0.81, 0.02),
        point("C", 64, 3.0, 0.95, 0.01), point("D", 32, 4.0, 0.96, NAN),
        point("E", 32, 5.0, 0.97, NAN),
    };
    pqe_analysis a;

    assert_int_equal(pqe_analyse(pts, 5, "1-recall@1", &a), PQE_OK);
    /* Every pair is discordant here (distortion and recall both rise). */
    assert_int_equal(a.n_pairs, 10);
    const pqe_discordant_pair *ab = &a.pairs[0], *ac = &a.pairs[1], *ad = &a.pairs[2];
    assert_int_equal(ab->i, 0);
    assert_int_equal(ab->j, 1);
    assert_true(ab->same_group);
    assert_near(ab->recall_gap, 0.01, 1e-12);
    assert_near(ab->distortion_gap, 1.0, 0.0);
    assert_near(ab->distortion_gap_rel, 0.5, 0.0);
    assert_near(ab->noise, sqrt(2.0) * 0.02, 1e-12);
    assert_true(ab->within_noise);
    assert_int_equal(ac->j, 2);
    assert_near(ac->noise, sqrt(0.02 * 0.02 + 0.01 * 0.01), 1e-12);
    assert_false(ac->within_noise);
    assert_int_equal(ad->j, 3);
    assert_false(ad->same_group);
    assert_near(ad->noise, 0.02, 1e-12);
    assert_false(ad->within_noise); /* gap 0.16 */
    const pqe_discordant_pair *de = &a.pairs[9];
    assert_int_equal(de->i, 3);
    assert_int_equal(de->j, 4);
    assert_true(isnan(de->noise));
    assert_false(de->within_noise);
    assert_int_equal(a.n_pairs_outside_noise, 9);
    assert_int_equal(a.verdict, PQE_VERDICT_DOES_NOT_HOLD);
    pqe_analysis_clear(&a);

    /* The root-sum-of-squares rule, not "the intervals overlap": with
     * half-widths 0.0196 (se 0.01) a gap of 0.033 is outside the noise
     * 1.96 sqrt(2) 0.01 = 0.0277, though the intervals overlap (0.0392). */
    pqe_analysis_point close[] = {point("F", 64, 1.0, 0.800, 0.0196),
                                  point("G", 64, 2.0, 0.833, 0.0196)};
    assert_int_equal(pqe_analyse(close, 2, "1-recall@1", &a), PQE_OK);
    assert_int_equal(a.n_pairs, 1);
    assert_near(a.pairs[0].noise, 1.96 * sqrt(2.0) * 0.01, 1e-12);
    assert_false(a.pairs[0].within_noise);
    assert_int_equal(a.n_pairs_outside_noise, 1);
    pqe_analysis_clear(&a);

    /* Seeds add to the noise: sd 0.05 over 4 seeds gives se 0.025. */
    pqe_analysis_point seeded[] = {point("A", 64, 1.0, 0.80, NAN), point("B", 64, 2.0, 0.85, NAN)};
    seeded[0].n_seeds = seeded[1].n_seeds = 4;
    seeded[0].recall_seed_sd = seeded[1].recall_seed_sd = 0.05;
    assert_int_equal(pqe_analyse(seeded, 2, "1-recall@1", &a), PQE_OK);
    assert_int_equal(a.n_pairs, 1);
    assert_near(a.pairs[0].noise, 1.96 * sqrt(2.0) * 0.025, 1e-12);
    assert_true(a.pairs[0].within_noise); /* 0.05 < 0.0693 */
    assert_int_equal(a.verdict, PQE_VERDICT_NOT_ENOUGH);
    pqe_analysis_clear(&a);
}

static void groups_of_equal_code_size(void **state)
{
    (void)state;
    /* 64 bits: 4 settings, perfectly ordered; 128 bits: 3 settings, one
     * swap (rho -0.5); 32 bits: 2 settings, not judged. */
    pqe_analysis_point pts[] = {
        point("a", 64, 4, 0.5, NAN),  point("b", 128, 1, 0.9, NAN), point("c", 64, 3, 0.6, NAN),
        point("d", 128, 2, 0.7, NAN), point("e", 32, 9, 0.1, NAN),  point("f", 64, 2, 0.7, NAN),
        point("g", 128, 3, 0.8, NAN), point("h", 64, 1, 0.8, NAN),  point("i", 32, 8, 0.2, NAN),
    };
    pqe_analysis a;

    assert_int_equal(pqe_analyse(pts, 9, "1-recall@10", &a), PQE_OK);
    assert_int_equal(a.n_groups, 3);
    assert_near(a.groups[0].code_bits, 32, 0.0);
    assert_int_equal(a.groups[0].n, 2);
    assert_false(a.groups[0].judged);
    assert_true(isnan(a.groups[0].corr.spearman));
    assert_near(a.groups[1].code_bits, 64, 0.0);
    assert_int_equal(a.groups[1].n, 4);
    assert_true(a.groups[1].judged);
    assert_near(a.groups[1].corr.spearman, -1.0, 1e-15);
    assert_near(a.groups[1].corr.kendall, -1.0, 1e-15);
    /* 128: distortion 1, 2, 3 with recall 0.9, 0.7, 0.8 -> ranks 3, 1, 2:
     * sum d^2 = 4 + 1 + 1 = 6, rho = 1 - 36 / 24 = -0.5; tau (1 - 2) / 3. */
    assert_near(a.groups[2].corr.spearman, -0.5, 1e-15);
    assert_near(a.groups[2].corr.kendall, -1.0 / 3.0, 1e-15);
    assert_int_equal(a.n_groups_judged, 2);
    assert_near(a.group_rho_min, -1.0, 1e-15);
    assert_near(a.group_rho_max, -0.5, 1e-15);
    assert_string_equal(a.labels[4], "e");
    assert_string_equal(a.recall_name, "1-recall@10");
    pqe_analysis_clear(&a);
    assert_null(a.labels);
}

static void verdict_holds(void **state)
{
    (void)state;
    /* Recall falls linearly with distortion: rho -1, no pair; leave-one-out
     * misses only the two ends, by 0.1 each: MAE 0.2 / 5. */
    pqe_analysis_point pts[] = {
        point("a", 64, 1, 0.9, NAN), point("b", 64, 2, 0.8, NAN), point("c", 64, 3, 0.7, NAN),
        point("d", 64, 4, 0.6, NAN), point("e", 64, 5, 0.5, NAN),
    };
    pqe_analysis a;

    assert_int_equal(pqe_analyse(pts, 5, "1-recall@10", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_HOLDS);
    assert_near(a.loo_mae, 0.04, 1e-15);
    assert_string_equal(a.verdict_text,
                        "distortion predicts 1-recall@10 well: Spearman -1.00 over 5 settings "
                        "(-1.00 within equal code size, 1 group), no discordant pair, "
                        "leave-one-out error 0.040");
    pqe_analysis_clear(&a);

    /* One discordant pair, within noise, still holds (rho -0.9 by ranks
     * 4, 5, 3, 2, 1); leave-one-out error 0.07585 (Python, see the top). */
    pqe_analysis_point noisy[] = {
        point("a", 8, 1, 0.90, 0.02),   point("b", 16, 2, 0.913, 0.02),
        point("c", 32, 3, 0.70, 0.02),  point("d", 64, 4, 0.61, 0.02),
        point("e", 128, 5, 0.45, 0.02),
    };
    assert_int_equal(pqe_analyse(noisy, 5, "1-recall@10", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_HOLDS);
    assert_int_equal(a.n_groups_judged, 0);
    assert_near(a.overall.spearman, -0.9, 1e-14);
    assert_string_equal(a.verdict_text,
                        "distortion predicts 1-recall@10 well: Spearman -0.90 over 5 settings, "
                        "1 discordant pair (within noise), leave-one-out error 0.076");
    pqe_analysis_clear(&a);
}

static void verdict_partly_and_not(void **state)
{
    (void)state;
    /* Recall ranks 6, 3, 5, 2, 4, 1 against distortion 1..6: sum d^2 = 60,
     * rho = 1 - 360 / 210 = -0.714; 3 discordant pairs (no intervals, so
     * outside noise); leave-one-out error 0.024208 (Python, see the top). */
    pqe_analysis_point partly[] = {
        point("a", 32, 1, 0.96, NAN), point("b", 32, 2, 0.931, NAN), point("c", 32, 3, 0.95, NAN),
        point("d", 32, 4, 0.91, NAN), point("e", 32, 5, 0.94, NAN),  point("f", 32, 6, 0.907, NAN),
    };
    pqe_analysis a;

    assert_int_equal(pqe_analyse(partly, 6, "1-recall@10", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_PARTLY);
    assert_near(a.overall.spearman, 1.0 - 360.0 / 210.0, 1e-14);
    assert_string_equal(a.verdict_text,
                        "distortion predicts 1-recall@10 only partly: Spearman -0.71 over 6 "
                        "settings (-0.71 within equal code size, 1 group), 3 discordant pairs "
                        "(3 outside noise), leave-one-out error 0.024");
    pqe_analysis_clear(&a);

    /* Strong rank correlation but a real discordance: partly, not holds. */
    partly[1].recall = 0.97; /* b now beats a: ranks 5, 6, 4, 2, 3, 1 */
    assert_int_equal(pqe_analyse(partly, 6, "1-recall@10", &a), PQE_OK);
    assert_true(a.overall.spearman <= PQE_ANALYSIS_HOLDS_RHO);
    assert_true(a.n_pairs_outside_noise > 0);
    assert_int_equal(a.verdict, PQE_VERDICT_PARTLY);
    pqe_analysis_clear(&a);

    /* Recall rises with distortion: rho +1; all 6 pairs discordant; the
     * fit is flat, leave-one-out errors 0.2, 1/15, 1/15, 0.2. */
    pqe_analysis_point against[] = {
        point("a", 16, 1, 0.5, NAN),
        point("b", 16, 2, 0.6, NAN),
        point("c", 32, 3, 0.7, NAN),
        point("d", 32, 4, 0.8, NAN),
    };
    assert_int_equal(pqe_analyse(against, 4, "k-recall@10", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_DOES_NOT_HOLD);
    assert_near(a.loo_mae, (0.4 + 2.0 / 15.0) / 4.0, 1e-14);
    assert_string_equal(a.verdict_text,
                        "distortion does not predict k-recall@10: Spearman 1.00 over 4 settings, "
                        "6 discordant pairs (6 outside noise), leave-one-out error 0.133");
    pqe_analysis_clear(&a);
}

static void verdict_not_enough(void **state)
{
    (void)state;
    pqe_analysis_point pts[] = {
        point("a", 16, 1, 0.5, NAN),
        point("b", 16, 2, 0.5, NAN),
        point("c", 32, 3, 0.5, NAN),
        point("d", 32, 4, 0.5, NAN),
    };
    pqe_analysis a;

    assert_int_equal(pqe_analyse(pts, 3, "1-recall@1", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_NOT_ENOUGH);
    assert_string_equal(a.verdict_text, "not enough settings to judge whether distortion "
                                        "predicts 1-recall@1: 3 settings, 4 needed");
    pqe_analysis_clear(&a);

    assert_int_equal(pqe_analyse(pts, 4, "1-recall@1", &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_NOT_ENOUGH);
    assert_string_equal(a.verdict_text,
                        "not enough variation to judge whether distortion predicts 1-recall@1: "
                        "distortion or recall is the same for all 4 settings");
    pqe_analysis_clear(&a);

    assert_int_equal(pqe_analyse(NULL, 0, NULL, &a), PQE_OK);
    assert_int_equal(a.verdict, PQE_VERDICT_NOT_ENOUGH);
    assert_non_null(strstr(a.verdict_text, "0 settings"));
    pqe_analysis_clear(&a);

    /* A NaN recall is refused, naming the setting. */
    pts[2].recall = NAN;
    assert_int_equal(pqe_analyse(pts, 4, "1-recall@1", &a), PQE_ERR_DATA);
    assert_non_null(strstr(pqe_last_error(), "(c)"));
    assert_null(a.verdict_text);
    assert_string_equal(pqe_verdict_name(PQE_VERDICT_DOES_NOT_HOLD), "does not hold");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(average_ranks_share_ties),
        cmocka_unit_test(spearman_with_ties_by_hand),
        cmocka_unit_test(kendall_tau_b_with_ties),
        cmocka_unit_test(correlations_undefined_are_nan),
        cmocka_unit_test(pava_known_sequences),
        cmocka_unit_test(loo_by_hand),
        cmocka_unit_test(discordant_pairs_and_noise),
        cmocka_unit_test(groups_of_equal_code_size),
        cmocka_unit_test(verdict_holds),
        cmocka_unit_test(verdict_partly_and_not),
        cmocka_unit_test(verdict_not_enough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
