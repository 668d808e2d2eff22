#!/usr/bin/env bash
# A drop inside the noise passes (exit 0) and says which test judged it:
# paired (McNemar on the per-query hits) and unpaired (two-proportion z).
# The same drop fails with --test none, and passes again within --abs-tol.
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_noise.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

# Paired: 0.60 -> 0.58 on 100 queries, 2 lost and none gained: p = 0.25.
write_results "$TMPD/baseline.json" baseline "$SUM_A" 100 "$(setting pq4-s1 7 100 30 60 90 10.5 yes)"
write_results "$TMPD/results.json" results "$SUM_A" 100 "$(setting pq4-s1 7 100 30 58 90 10.5 yes)"
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'recall@10 adc .*-0.0200 mcnemar-exact .*0.2500 noise' <<<"$OUT" || fail "paired noise: $OUT"
grep -q '^PASS$' <<<"$OUT" || fail "no PASS: $OUT"

# Unpaired: the same proportions without per-query hits.
write_results "$TMPD/baseline.json" baseline "$SUM_A" 100 "$(setting pq4-s1 7 100 30 60 90 10.5 no)"
write_results "$TMPD/results.json" results "$SUM_A" 100 "$(setting pq4-s1 7 100 30 58 90 10.5 no)"
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'recall@10 adc .*two-proportion-z .*noise' <<<"$OUT" || fail "unpaired noise: $OUT"

# No test: any drop beyond the tolerance fails ...
run_pqeval 1 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --test none
grep -q 'recall@10 adc .* none .*REGRESSION' <<<"$OUT" || fail "--test none: $OUT"
# ... unless the tolerance covers it.
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --test none --abs-tol 0.03
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --test none --rel-tol=0.05

rm -rf "$TMPD"
echo "check_noise: ok"
