#!/usr/bin/env bash
# A setting present on one side only is reported and fails (exit 1) unless
# --allow-missing is given.
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_missing.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

write_results "$TMPD/baseline.json" baseline "$SUM_A" 100 \
    "$(setting pq4-s1 1 100 30 60 90 10.5 yes)" "$(setting pq8-s1 1 100 40 70 95 8.25 yes)"
write_results "$TMPD/results.json" results "$SUM_A" 100 \
    "$(setting pq4-s1 1 100 30 60 90 10.5 yes)" "$(setting pq16-s1 1 100 50 80 99 6.0 yes)"

run_pqeval 1 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --junit "$TMPD/junit.xml"
grep -q 'pq8-s1 .*setting .*missing$' <<<"$OUT" || fail "missing row: $OUT"
grep -q 'pq16-s1 .*setting .*new$' <<<"$OUT" || fail "new row: $OUT"
grep -q '1 missing, 1 new' <<<"$OUT" || fail "summary: $OUT"
grep -q "2 settings or measures on one side only" <<<"$ERR" || fail "stderr: $ERR"
grep -q 'failures="2"' "$TMPD/junit.xml" || fail "junit: $(cat "$TMPD/junit.xml")"

run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --allow-missing
grep -q 'pq8-s1 .*missing (allowed)' <<<"$OUT" || fail "allowed: $OUT"
grep -q '^PASS$' <<<"$OUT" || fail "no PASS: $OUT"

rm -rf "$TMPD"
echo "check_missing: ok"
