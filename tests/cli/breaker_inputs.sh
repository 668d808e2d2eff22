#!/usr/bin/env bash
# A missing or directory input is named as such: a missing texmex base was
# reported as a missing query file, a missing HDF5 file gave no reason, and
# a directory was "not an HDF5 file" or an "empty file".  A ground truth
# whose rows are not sorted nearest first (recall takes neighbors[q][0] as
# the true nearest neighbour) was accepted and scored silently wrong.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/breaker_inputs"
rm -rf "$T" && mkdir -p "$T/dir.hdf5" "$T/x-idx3-ubyte" || fail "tmp"

# expect STATUS MESSAGE-FRAGMENT pqeval-args...
expect() {
    local want=$1 msg=$2 out rc
    shift 2
    out=$("$PQEVAL" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq "$want" ] || fail "pqeval $*: exit $rc, expected $want ($out)"
    grep -qF -- "$msg" <<<"$out" || fail "pqeval $*: message '$out' lacks '$msg'"
}

expect 2 "$T/none.hdf5: cannot open: No such file or directory" info "$T/none.hdf5"
expect 2 "$T/none_base.fvecs: cannot open: No such file or directory" info "$T/none_base.fvecs"
expect 2 "$T/none_base.fvecs: cannot open: No such file or directory" eval "$T/none_base.fvecs"
expect 2 "$T/dir.hdf5: is a directory" info "$T/dir.hdf5"
expect 2 "$T/dir.hdf5: is a directory" eval "$T/dir.hdf5" --methods pq -M 2
expect 2 "$T/x-idx3-ubyte: cannot read: Is a directory" info "$T/x-idx3-ubyte"

/usr/bin/python3 - "$T" <<'PY' || fail "python fixture"
import sys, numpy as np, h5py
rng = np.random.default_rng(6)
base = rng.standard_normal((300, 8)).astype(np.float32)
test = rng.standard_normal((5, 8)).astype(np.float32)
d = np.sqrt(((test[:, None, :] - base[None, :, :]) ** 2).sum(-1))
nbr = np.argsort(d, axis=1, kind='stable')[:, :10]
dist = np.take_along_axis(d, nbr, 1)
nbr[3, [0, 1]] = nbr[3, [1, 0]]  # query 3: ranks 0 and 1 swapped, with their distances
dist[3, [0, 1]] = dist[3, [1, 0]]
with h5py.File(sys.argv[1] + '/swapped.hdf5', 'w') as f:
    f.attrs['distance'] = 'euclidean'
    f['train'] = base
    f['test'] = test
    f['neighbors'] = nbr.astype(np.int32)
    f['distances'] = dist.astype(np.float32)
PY
expect 2 "swapped.hdf5: the stored neighbours of query 3 are not sorted nearest first: rank 1" \
    eval "$T/swapped.hdf5" --methods pq -M 2 --nbits 2 --no-plot --json "$T/r.json" --csv "$T/r.csv"
[ ! -e "$T/r.json" ] || fail "eval wrote results for a misordered ground truth"
expect 1 "not sorted nearest first" info "$T/swapped.hdf5"
echo "breaker_inputs: ok"
