#!/usr/bin/env bash
# bench/pqeval_bench on a small part of the SIFT set: it exits 0 and prints
# every row of issue #7 with both sides measured (FAISS's SDC included, for
# nbits = 8), a speedup for each, and the list of targets.  Only the shape of
# the table is checked: timings belong to bench/run, never to a test.
# (Bad input: tests/bench/bad_input.sh.)
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
sift="$PQEVAL_SHARED_DATASETS/sift-debian"
out=$(mktemp -d "$PQEVAL_TEST_TMP/bench.XXXXXX")
trap 'rm -rf "$out"' EXIT

"$PQEVAL_BENCH" --dataset sift --sift-dir "$sift" --max-base 3000 --queries 40 \
    --max-train 4096 --runs 1 --runs-train 2 --quiet >"$out/table.md" ||
    fail "pqeval_bench exited $?"

/usr/bin/python3 - "$out/table.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rows = {}
for line in text.splitlines():
    if line.startswith("| sift-debian |"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[re.sub(r" \(FAISS:.*\)$", "", cells[1])] = cells
want = ["exact k-NN (brute force)"] + [
    f"{op} PQ16x{b}" for b in (8, 4) for op in ("train", "encode", "ADC search", "SDC search")
] + ["fast-scan search PQ16x4"]
missing = [w for w in want if w not in rows]
assert not missing, f"rows missing: {missing}\n{text}"
time = re.compile(r"^[0-9.]+ (s|ms)$")
for name in want:
    c = rows[name]
    ours, faiss, speedup = c[2], c[3], c[4]
    assert time.match(ours), (name, ours)
    if name == "SDC search PQ16x4":           # FAISS's SDC needs nbits = 8
        assert faiss == "n/a" and "nbits = 8" in c[1], c
        continue
    assert time.match(faiss), (name, faiss)
    assert re.match(r"^[0-9.]+x$", speedup), (name, speedup)
    if "search" in name:
        assert re.search(r"R=0\.\d+ / R=0\.\d+", c[5]), (name, c[5])
assert "Targets (issue #7)" in text, text
assert re.search(r"sift-debian ADC search PQ16x8 \(ADC nbits=8\): [0-9.]+x", text), text
print("bench_smoke: %d rows, all measured on both sides" % len(want))
PY

echo "bench_smoke: passed"
