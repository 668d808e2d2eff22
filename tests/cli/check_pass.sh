#!/usr/bin/env bash
# 'pqeval baseline' then 'pqeval check' on the same results: a pass (exit 0)
# with the paired test named, JUnit and JSON reports written, and the
# baseline only replaced with --update, atomically.
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_pass.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

write_results "$TMPD/results.json" results "$SUM_A" 100 \
    "$(setting pq4-s1 1 100 30 60 90 10.5 yes)" "$(setting pq8-s1 1 100 40 70 95 8.25 yes)"

run_pqeval 0 baseline "$TMPD/results.json" --output "$TMPD/baseline.json"
grep -q '"kind": "baseline"' "$TMPD/baseline.json" || fail "baseline not marked as one"
grep -q '"checksum": "aaaa' "$TMPD/baseline.json" || fail "baseline lacks the dataset checksum"
grep -q '"seed": 1' "$TMPD/baseline.json" || fail "baseline lacks the seeds"
grep -q '"pqeval_version": "0.1.0"' "$TMPD/baseline.json" || fail "baseline lacks the version"
grep -q "wrote baseline" <<<"$ERR" || fail "no confirmation: $ERR"

run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --verbose \
    --junit "$TMPD/junit.xml" --report "$TMPD/report.json"
grep -q '^PASS$' <<<"$OUT" || fail "no PASS line: $OUT"
grep -q 'recall@10 adc .*mcnemar-exact .*pass' <<<"$OUT" || fail "paired test not named: $OUT"
grep -q 'failures="0"' "$TMPD/junit.xml" || fail "junit: $(cat "$TMPD/junit.xml")"
grep -q '"passed": true' "$TMPD/report.json" || fail "report: $(cat "$TMPD/report.json")"

# Not verbose: passing rows are not listed.
run_pqeval 0 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'every measure passed' <<<"$OUT" || fail "quiet pass: $OUT"

# An existing baseline is only replaced with --update.
run_pqeval 2 baseline "$TMPD/results.json" --output "$TMPD/baseline.json"
grep -q "exists; pass --update to replace it" <<<"$ERR" || fail "overwrite message: $ERR"
write_results "$TMPD/results2.json" results "$SUM_A" 100 "$(setting pq4-s1 1 100 31 61 91 10.4 yes)"
run_pqeval 0 baseline "$TMPD/results2.json" --output "$TMPD/baseline.json" --update
grep -q "1 settings kept, 0 added, 1 removed" <<<"$ERR" || fail "update summary: $ERR"
grep -q '"rel_mse_base"' "$TMPD/baseline.json" || fail "baseline not rewritten"
[ "$(ls "$TMPD" | grep -c '\.tmp')" -eq 0 ] || fail "temporary files left: $(ls "$TMPD")"

# --help and usage errors.
run_pqeval 0 check --help
grep -q 'exit status: 0 pass, 1 regression' <<<"$OUT" || fail "check --help: $OUT"
run_pqeval 0 baseline --help
run_pqeval 2 check "$TMPD/results.json"
grep -q "no baseline given" <<<"$ERR" || fail "no baseline: $ERR"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --alpha 2
grep -q "alpha 2 is outside" <<<"$ERR" || fail "bad alpha: $ERR"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --frobnicate
grep -q "unknown option '--frobnicate'" <<<"$ERR" || fail "unknown option: $ERR"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json" --test bootstrap
grep -q "unknown test 'bootstrap'" <<<"$ERR" || fail "unknown test: $ERR"

rm -rf "$TMPD"
echo "check_pass: ok"
