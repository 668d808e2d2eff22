#!/usr/bin/env bash
# pqeval_bench on bad options and bad data: exit 2, a message naming the
# option or the file (and the row, column and value where there is one), and
# nothing timed before it: the sgemm peak is the first timing, so its line
# on stdout must not appear.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
sift="$PQEVAL_SHARED_DATASETS/sift-debian"
out=$(mktemp -d "$PQEVAL_TEST_TMP/bench_bad.XXXXXX")
trap 'rm -rf "$out"' EXIT
small=(--max-base 2000 --queries 20 --max-train 1000 --runs 1 --runs-train 1 --quiet)

# expect NEEDLE ARGS...: exit 2, NEEDLE in stderr, nothing measured.
expect() {
    local needle=$1 rc=0
    shift
    "$PQEVAL_BENCH" "$@" >"$out/stdout" 2>"$out/stderr" || rc=$?
    [ "$rc" -eq 2 ] || fail "$* exited $rc, not 2: $(cat "$out/stderr")"
    grep -qF -- "$needle" "$out/stderr" || fail "$*: no \"$needle\" in: $(cat "$out/stderr")"
    if grep -q "sgemm peak" "$out/stdout"; then fail "$*: work was timed before the error"; fi
}

# Options.
expect '--runs: "0"' --runs 0
expect '--runs: " 2"' --runs " 2"
expect '--runs: "+1"' --runs +1
expect '--threads: "abc"' --threads abc
expect '--k: "99999999999999999999"' --k 99999999999999999999
expect '--dataset: "foo"' --dataset foo
expect 'unknown or incomplete option --bogus' --bogus
expect 'unknown or incomplete option --k' --k
expect '--max-train 256' --dataset sift --sift-dir "$sift" --max-train 256
expect '--max-base 256: Fashion-MNIST trains on its base' --max-base 256
expect '--sift-dir: a path of 5000 characters' --sift-dir "$(printf 'a%.0s' $(seq 5000))"
expect '--simd' --simd sse9

# HDF5 files standing in for Fashion-MNIST (d = 64: M = 16 divides it).
/usr/bin/python3 - "$out" <<'PY'
import sys, h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(1)
def make(name, train, test):
    with h5py.File(f"{out}/{name}.h5", "w") as f:
        f["train"] = train.astype(np.float32)
        f["test"] = test.astype(np.float32)
make("testwide", rng.random((3000, 64)), rng.random((50, 128)))
make("testnarrow", rng.random((3000, 64)), rng.random((50, 16)))
make("dim100", rng.random((3000, 100)), rng.random((50, 100)))
make("notest", rng.random((3000, 64)), np.zeros((0, 64)))
t = rng.random((3000, 64)); t[1234, 5] = np.nan
make("nan_train", t, rng.random((50, 64)))
q = rng.random((50, 64)); q[3, 7] = np.inf
make("inf_test", rng.random((3000, 64)), q)
make("ok", rng.random((3000, 64)), rng.random((50, 64)))
PY
# SIFT files.
expect "$out/nowhere/siftdeb_base.bvecs: cannot open" --dataset sift --sift-dir "$out/nowhere"
mkdir "$out/trunc"
for f in base query learn; do ln -s "$sift/siftdeb_$f.bvecs" "$out/trunc/siftdeb_$f.bvecs"; done
rm "$out/trunc/siftdeb_learn.bvecs"
head -c $((132 * 300 + 50)) "$sift/siftdeb_learn.bvecs" >"$out/trunc/siftdeb_learn.bvecs"
expect "$out/trunc/siftdeb_learn.bvecs" --dataset sift --sift-dir "$out/trunc" "${small[@]}"
# A SIFT failure is found before the Fashion-MNIST part is timed.
expect "$out/trunc/siftdeb_learn.bvecs" --sift-dir "$out/trunc" --fmnist-hdf5 "$out/ok.h5" \
    "${small[@]}"
head -c $((132 * 200)) "$sift/siftdeb_learn.bvecs" >"$out/trunc/siftdeb_learn.bvecs"
expect "siftdeb_learn.bvecs: 200 training vectors; PQ16x8 needs more than its 256 centroids" \
    --dataset sift --sift-dir "$out/trunc" "${small[@]}"

fm=(--dataset fashion-mnist "${small[@]}")
expect "the dimensions differ: $out/testwide.h5 'train' has d = 64, $out/testwide.h5 'test' d = 128" \
    "${fm[@]}" --fmnist-hdf5 "$out/testwide.h5"
expect "'test' d = 16" "${fm[@]}" --fmnist-hdf5 "$out/testnarrow.h5"
expect "$out/dim100.h5 'train': d = 100 is not a positive multiple of M = 16" \
    "${fm[@]}" --fmnist-hdf5 "$out/dim100.h5"
expect "$out/notest.h5 'test': no query vectors" "${fm[@]}" --fmnist-hdf5 "$out/notest.h5"
expect "$out/nan_train.h5 'train': row 1234, column 5 is nan" \
    "${fm[@]}" --fmnist-hdf5 "$out/nan_train.h5"
expect "$out/inf_test.h5 'test': row 3, column 7 is inf" "${fm[@]}" --fmnist-hdf5 "$out/inf_test.h5"
expect "$out/ok.h5 'train': 3000 base vectors, fewer than --k 5000" \
    --dataset fashion-mnist --k 5000 --runs 1 --runs-train 1 --fmnist-hdf5 "$out/ok.h5"

# A large k is not quadratic: k = 2000 of 3000 finishes (no time limit is
# asserted; ctest's timeout would catch a hang) and labels its recall.
"$PQEVAL_BENCH" "${fm[@]}" --fmnist-hdf5 "$out/ok.h5" --max-base 3000 --k 2000 \
    >"$out/bigk.md" 2>"$out/bigk.err" || fail "--k 2000 exited $?: $(cat "$out/bigk.err")"
grep -q "R = 2000-recall@2000" "$out/bigk.md" || fail "recall not labelled with k"
echo "bench_bad_input: passed"
