#!/usr/bin/env bash
# Comparing against a different dataset is refused (exit 2) unless
# --allow-dataset-change; 'baseline --update' refuses to switch datasets
# the same way.
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_dataset.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

write_results "$TMPD/baseline.json" baseline "$SUM_A" 100 "$(setting pq4-s1 1 100 30 60 90 10.5 yes)"
write_results "$TMPD/results.json" results "$SUM_B" 100 "$(setting pq4-s1 1 100 30 60 90 10.5 yes)"

run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q "pqeval: error: check: different datasets" <<<"$ERR" || fail "message: $ERR"
grep -q "sha256 bbbbbbbbbbbb" <<<"$ERR" || fail "results checksum not named: $ERR"
grep -q "sha256 aaaaaaaaaaaa" <<<"$ERR" || fail "baseline checksum not named: $ERR"
grep -q -- "--allow-dataset-change" <<<"$ERR" || fail "no hint: $ERR"
[ -z "$OUT" ] || fail "a table was printed: $OUT"

run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --allow-dataset-change
grep -q "datasets differ (compared because allowed)" <<<"$OUT" || fail "note: $OUT"

run_pqeval 2 baseline "$TMPD/results.json" --output "$TMPD/baseline.json" --update
grep -q "made on dataset tiny (sha256 aaaaaaaaaaaa)" <<<"$ERR" || fail "update refusal: $ERR"
grep -q '"checksum": "aaaa' "$TMPD/baseline.json" || fail "baseline was replaced"
run_pqeval 0 baseline "$TMPD/results.json" --output "$TMPD/baseline.json" --update \
    --allow-dataset-change
grep -q '"checksum": "bbbb' "$TMPD/baseline.json" || fail "baseline not replaced"

rm -rf "$TMPD"
echo "check_dataset: ok"
