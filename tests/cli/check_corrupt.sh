#!/usr/bin/env bash
# A corrupted, truncated, wrong-schema or missing baseline is a clear error
# naming the file (and the line or JSON path) with exit 2.
set -uo pipefail
source "$(dirname "$0")/lib/results_fixture.bash"
TMPD="$PQEVAL_TEST_TMP/check_corrupt.$$"
rm -rf "$TMPD" && mkdir -p "$TMPD"

write_results "$TMPD/results.json" results "$SUM_A" 100 "$(setting pq4-s1 1 100 30 60 90 10.5 yes)"
cp "$TMPD/results.json" "$TMPD/full.json"

# truncated
head -c 700 "$TMPD/full.json" >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q "pqeval: error: baseline: reading $TMPD/baseline.json: line [0-9]*, column [0-9]*: invalid JSON" <<<"$ERR" ||
    fail "truncated: $ERR"

# corrupted bytes
printf '{"schema_version": 1, "kind": "baseline", \001\002garbage' >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q "reading $TMPD/baseline.json: line 1" <<<"$ERR" || fail "corrupt: $ERR"

# valid JSON, wrong schema: a field of the wrong type, one missing
sed 's/"nbits": 8/"nbits": "eight"/' "$TMPD/full.json" >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'settings\[0\].nbits: expected a non-negative integer, got a string' <<<"$ERR" ||
    fail "wrong type: $ERR"
sed 's/"adc": \[/"adx": [/' "$TMPD/full.json" >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'settings\[0\].recall.adc: missing' <<<"$ERR" || fail "missing field: $ERR"
echo '{"hello": "world"}' >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'schema_version: missing: not a pqeval results file' <<<"$ERR" || fail "not ours: $ERR"
sed 's/"schema_version": 1/"schema_version": 7/' "$TMPD/full.json" >"$TMPD/baseline.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/baseline.json"
grep -q 'version 7 is not one this pqeval reads' <<<"$ERR" || fail "newer schema: $ERR"

# missing file; a bad results file (not the baseline) is reported as such
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/nonexistent.json"
grep -q "reading $TMPD/nonexistent.json: No such file or directory" <<<"$ERR" || fail "missing: $ERR"
head -c 100 "$TMPD/full.json" >"$TMPD/results.json"
run_pqeval 2 check "$TMPD/results.json" --baseline "$TMPD/full.json"
grep -q "pqeval: error: reading $TMPD/results.json: line" <<<"$ERR" || fail "bad results: $ERR"
run_pqeval 2 baseline "$TMPD/results.json" --output "$TMPD/b2.json"
[ ! -e "$TMPD/b2.json" ] || fail "a baseline was written from a bad file"

rm -rf "$TMPD"
echo "check_corrupt: ok"
