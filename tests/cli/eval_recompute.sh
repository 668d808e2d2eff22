#!/usr/bin/env bash
# The recall values 'pqeval eval' writes to its JSON are recomputed here
# independently (numpy and h5py, not pqeval's code) from the ids it saved
# with --save-ids and the dataset's own ground truth: 1-recall@R as the PQ
# paper defines it, k-recall@k as ann-benchmarks counts it.
set -euo pipefail
data="$PQEVAL_SHARED_DATASETS/sift-debian/siftdeb-128-euclidean.hdf5"
[ -f "$data" ] || { echo "FAIL: missing $data"; exit 1; }
out=$(mktemp -d "$PQEVAL_TEST_TMP/eval-recompute.XXXXXX")
trap 'rm -rf "$out"' EXIT

queries=300
[ "${PQEVAL_SANITIZED:-0}" = 1 ] && queries=100
"$PQEVAL" --quiet eval "$data" --methods pq,opq-p -M 8 --nbits 6 --train-size 4000 --iters 8 \
    --queries "$queries" --recall-at 1,10,100 -k 10 --no-plot \
    --json "$out/r.json" --csv "$out/r.csv" --save-ids "$out/ids" >"$out/table.txt"

/usr/bin/python3 - "$data" "$out" <<'PY'
import json, sys
import numpy as np, h5py
data, out = sys.argv[1], sys.argv[2]
res = json.load(open(f"{out}/r.json"))
with h5py.File(data, "r") as f:
    train = f["train"][:].astype(np.float64)
    test = f["test"][:].astype(np.float64)
    gt = f["neighbors"][:]
    gtd = f["distances"][:]
nq = res["dataset"]["n_queries"]
assert nq == len(open(f"{out}/r.csv").read().splitlines()) * 0 + nq
def ivecs(path):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:]
checked = 0
for i, s in enumerate(res["settings"]):
    rec = s["recall"]
    for mode in ("adc", "sdc"):
        if rec.get(mode) is None:
            continue
        ids = ivecs(f"{out}/ids/{i:03d}-{mode}.ivecs")
        assert ids.shape[0] == nq, (ids.shape, nq)
        for j, r in enumerate(rec["r"]):
            hits = np.mean([gt[q, 0] in ids[q, :r] for q in range(nq)])
            got = rec[mode][j]
            assert abs(hits - got) < 1e-12, (s["label"], mode, r, hits, got)
            checked += 1
        k = rec["k"]
        vals = []
        for q in range(nq):
            d = np.sqrt(((train[ids[q, :k]] - test[q]) ** 2).sum(axis=1))
            vals.append(np.sum(d <= gtd[q, k - 1] + 1e-3) / k)
        got = rec[f"k_recall_{mode}"]
        assert abs(np.mean(vals) - got) < 1e-9, (s["label"], mode, np.mean(vals), got)
        checked += 1
assert checked >= 8, checked
print(f"eval_recompute: {checked} recall values agree")
PY
