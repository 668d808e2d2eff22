#!/usr/bin/env bash
# A real regression: the baseline's recall is well above what the results
# achieve.  Exit 1, the row marked REGRESSION with its test, a JUnit
# failure; the same with the per-query hits gone (unpaired test).
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_regression.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

write_results "$TMPD/results.json" results "$SUM_A" 200 \
    "$(setting pq4-s1 1 200 60 120 180 10.5 yes)" "$(setting pq8-s1 1 200 80 140 190 8.25 yes)"
write_results "$TMPD/baseline.json" baseline "$SUM_A" 200 \
    "$(setting pq4-s1 1 200 60 170 180 10.5 yes)" "$(setting pq8-s1 1 200 80 140 190 8.25 yes)"

run_pqeval 1 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" \
    --junit "$TMPD/junit.xml" --report "$TMPD/report.json"
grep -q 'pq4-s1 .*recall@10 adc .*0.8500 .*0.6000 .*mcnemar-exact .*REGRESSION' <<<"$OUT" ||
    fail "regression row: $OUT"
grep -q '^FAIL$' <<<"$OUT" || fail "no FAIL line: $OUT"
grep -q "check failed: 1 regressions" <<<"$ERR" || fail "stderr: $ERR"
grep -q '<failure message="recall@10 adc' "$TMPD/junit.xml" || fail "junit: $(cat "$TMPD/junit.xml")"
grep -q '"passed": false' "$TMPD/report.json" || fail "report: $(cat "$TMPD/report.json")"
grep -q '"lost": 50' "$TMPD/report.json" || fail "McNemar counts: $(cat "$TMPD/report.json")"

# Without per-query hits the unpaired test finds it too.
write_results "$TMPD/results.json" results "$SUM_A" 200 \
    "$(setting pq4-s1 1 200 60 120 180 10.5 no)" "$(setting pq8-s1 1 200 80 140 190 8.25 no)"
run_pqeval 1 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'recall@10 adc .*two-proportion-z .*REGRESSION' <<<"$OUT" || fail "unpaired: $OUT"

# A distortion rise beyond the tolerance fails; a wider tolerance passes it.
write_results "$TMPD/results.json" results "$SUM_A" 200 \
    "$(setting pq4-s1 1 200 60 170 180 11.0 yes)" "$(setting pq8-s1 1 200 80 140 190 8.25 yes)"
run_pqeval 1 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'pq4-s1 .*distortion .*+4.76% .*REGRESSION' <<<"$OUT" || fail "distortion: $OUT"
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --distortion-tol 0.05

rm -rf "$TMPD"
echo "check_regression: ok"
