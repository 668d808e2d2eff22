#!/usr/bin/env bash
# 'pqeval eval' refuses bad grids and inputs before any work, with a clear
# message and exit status 2.
set -uo pipefail
data="$PQEVAL_SHARED_DATASETS/sift-debian/siftdeb-128-euclidean.hdf5"
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect STATUS PATTERN -- ARGS...
    local want=$1 pattern=$2
    shift 3
    local err rc
    err=$("$PQEVAL" eval "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq "$want" ] || fail "exit $rc (wanted $want) for: $* :: $err"
    grep -q -- "$pattern" <<<"$err" || fail "message for: $* :: $err"
}
expect 2 "M=7 does not divide the dimension 128; valid M: 1, 2, 4, 8, 16, 32, 64, 128" -- "$data" -M 7
expect 2 "nbits=17 is out of range (1 to 16)" -- "$data" --nbits 17
expect 2 "nbits=0 is out of range" -- "$data" --nbits 0
expect 2 "unknown method 'lsh'" -- "$data" --methods lsh
expect 2 "expected a non-negative integer, not 'ten'" -- "$data" --queries ten
expect 2 "no dataset given" -- --nbits 8
expect 2 "/nonexistent/x.hdf5" -- /nonexistent/x.hdf5
expect 2 "unknown option '--frob'" -- "$data" --frob
expect 2 "training size 999999 is larger than the 25000 vectors" -- "$data" --methods pq -M 8 --nbits 4 --train-size 999999 --queries 5 --no-plot --json "$PQEVAL_TEST_TMP/x.json" --csv "$PQEVAL_TEST_TMP/x.csv"
expect 2 "--seeds: a value is repeated (item 1 and 2)" -- "$data" --seeds 1,1
expect 2 "-M: empty item in '4,,8'" -- "$data" -M 4,,8
expect 2 "--faiss: 'PQ4np' is given twice" -- "$data" --faiss PQ4np --faiss PQ4np
expect 2 "writing there would destroy it" -- "$data" --json "$data"
expect 2 "--json and --csv name the same file" -- "$data" --json "$PQEVAL_TEST_TMP/same.json" --csv "$PQEVAL_TEST_TMP/same.json"
expect 2 "setting faiss:PQ3: faiss index_factory(128, \"PQ3\") failed" -- "$data" --methods none --faiss PQ3 --queries 5
expect 2 "200 training vectors are fewer than the 256 centroids of each subspace (nbits 8); use at most nbits 7" -- "$data" --methods pq -M 8 --nbits 8 --train-size 200 --queries 5
expect 2 "--iters: expected 1 to 10000 k-means iterations, not 1000000000" -- "$data" --iters 1000000000
expect 2 "--opq-outer: at most 10000 iterations" -- "$data" --opq-outer 99999
"$PQEVAL" eval --help | grep -q -- '--save-ids' || fail "--help"
echo "eval_errors: ok"
