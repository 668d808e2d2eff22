#!/usr/bin/env bash
# A quantizer saved by 'pqeval train' (a baseline codebook) is evaluated by
# 'pqeval eval --quantizer' as it is: trained with the same settings and
# seed inside the sweep, it gives exactly the same distortion and recall.
# The results then make a baseline that passes its own check.
set -euo pipefail
data="$PQEVAL_SHARED_DATASETS/sift-debian/siftdeb-128-euclidean.hdf5"
out=$(mktemp -d "$PQEVAL_TEST_TMP/saved.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PQEVAL" -q train "$data" --method pq -M 8 --nbits 6 --seed 1234 --kmeans-iters 8 \
    --output "$out/pq.bin" >/dev/null
"$PQEVAL" -q train "$data" --method opq-np -M 8 --nbits 5 --seed 7 --kmeans-iters 4 \
    --opq-outer 2 --opq-inner 2 --output "$out/opq.bin" >/dev/null
"$PQEVAL" -q eval "$data" --methods pq -M 8 --nbits 6 --seeds 1234 --iters 8 \
    --quantizer "$out/pq.bin" --quantizer "$out/opq.bin" --queries 100 --no-plot \
    --json "$out/r.json" --csv "$out/r.csv" >"$out/table.txt"

/usr/bin/python3 - "$out/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = {x["label"]: x for x in r["settings"]}
assert set(s) == {"PQ8x6", "file:pq.bin", "file:opq.bin"}, set(s)
a, b = s["PQ8x6"], s["file:pq.bin"]
assert a["distortion"]["mse_base"] == b["distortion"]["mse_base"], (a["distortion"], b["distortion"])
assert a["recall"]["adc"] == b["recall"]["adc"] and a["recall"]["sdc"] == b["recall"]["sdc"]
assert b["distortion"]["mse_train"] is None          # unknown for a saved quantizer
assert s["file:opq.bin"]["code_bits"] == 40, s["file:opq.bin"]["code_bits"]
print("eval_saved_quantizer: saved and in-sweep quantizers agree")
PY

"$PQEVAL" -q baseline "$out/r.json" --output "$out/base.json"
"$PQEVAL" -q check "$out/r.json" --baseline "$out/base.json" >/dev/null || fail "self-check"

# A missing or foreign file fails before any work, naming the file.
err=$("$PQEVAL" eval "$data" --quantizer "$out/nope.bin" --queries 5 --no-plot \
      --json "$out/x.json" --csv "$out/x.csv" 2>&1 >/dev/null) && fail "accepted a missing file"
grep -q "nope.bin" <<<"$err" || fail "message: $err"
err=$("$PQEVAL" eval "$data" --quantizer "$out/r.csv" --queries 5 --no-plot \
      --json "$out/x.json" --csv "$out/x.csv" 2>&1 >/dev/null) && fail "accepted a CSV file"
grep -q "r.csv" <<<"$err" || fail "message: $err"
[ ! -e "$out/x.json" ] || fail "wrote results after a failure"
echo "eval_saved_quantizer: ok"
