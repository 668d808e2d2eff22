/* fake_sweep.h - sweep results built in memory for the report and check
 * tests, so that they need no real sweep.
 *
 * Depends on: sweep.h.
 */
#ifndef PQEVAL_TEST_FAKE_SWEEP_H
#define PQEVAL_TEST_FAKE_SWEEP_H

#include <stddef.h>

#include "pqeval/sweep.h"

/* A sweep of n_settings PQ settings ("PQ<M>x8-s1", M = 4, 8, 16, ...) on
 * n_queries queries, R = {1, 10, 100}, k = 10, dataset checksum "aa..a",
 * with per-query hits (ADC and SDC) and per-query k-recall.  Setting i has
 * 1-recall@R = (0.3, 0.6, 0.9) + 0.02 i (capped at 1) and distortion
 * 100 / (i + 1).  Aborts the test on allocation failure. */
pqe_sweep_result *fake_sweep_new(size_t n_settings, size_t n_queries);

/* Sets 1-recall@R (index j, both ADC and SDC) of a result to hits / n:
 * queries 0..hits-1 are hits, the rest misses.  Updates the per-query
 * hits and the Wilson-free interval (recall +/- 0.01). */
void fake_set_hits(pqe_setting_result *r, size_t j, size_t hits);

/* Makes query q a hit (1) or miss (0) at R index j (both modes) and
 * recomputes the recall from the hits. */
void fake_set_query(pqe_setting_result *r, size_t j, size_t q, int hit);

/* Drops the per-query data of a result (as an older or slimmer file). */
void fake_drop_per_query(pqe_setting_result *r);

#endif
