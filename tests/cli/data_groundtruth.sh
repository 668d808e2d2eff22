#!/usr/bin/env bash
# 'pqeval groundtruth' on small texmex and HDF5 datasets made here, against
# a numpy brute force with ties broken by the smaller id; every metric.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/data_groundtruth"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"
PY=/usr/bin/python3

"$PQEVAL" groundtruth --help | grep -q 'usage: pqeval groundtruth' || fail "--help"

$PY - "$T" <<'PY' || fail "fixtures"
import sys, numpy as np, h5py
t = sys.argv[1]
rng = np.random.default_rng(3)
# Small integers: many exact ties; a zero vector in each part.
base = rng.integers(0, 4, (2000, 10)).astype(np.float32); base[5] = 0
query = rng.integers(0, 4, (40, 10)).astype(np.float32); query[7] = 0
def fvecs(path, a):
    a = np.asarray(a, np.float32)
    dims = np.full((a.shape[0], 1), a.shape[1], np.int32).view(np.float32)
    np.hstack([dims, a]).tofile(path)
fvecs(f'{t}/s_base.fvecs', base)
fvecs(f'{t}/s_query.fvecs', query)
for metric in ('euclidean', 'angular', 'dot'):
    with h5py.File(f'{t}/{metric}.hdf5', 'w') as f:
        f.attrs['distance'] = metric
        f['train'] = base
        f['test'] = query
np.save(f'{t}/base.npy', base); np.save(f'{t}/query.npy', query)
PY

"$PQEVAL" groundtruth --k 30 "$T/s_base.fvecs" 2>/dev/null || fail "texmex groundtruth"
[ -f "$T/s_groundtruth.ivecs" ] || fail "no s_groundtruth.ivecs"
for m in euclidean angular dot; do
    "$PQEVAL" groundtruth --k 30 --threads 2 "$T/$m.hdf5" 2>/dev/null || fail "$m groundtruth"
done
"$PQEVAL" info --queries 40 "$T/angular.hdf5" >/dev/null 2>&1 || fail "info after groundtruth"

$PY - "$T" <<'PY' || fail "disagrees with the numpy brute force"
import sys, numpy as np, h5py
t = sys.argv[1]
base = np.load(f'{t}/base.npy').astype(np.float64); query = np.load(f'{t}/query.npy').astype(np.float64)
ids = np.arange(len(base))
def ref(metric):
    ip = query @ base.T
    if metric == 'euclidean':
        d = np.sqrt(((query[:, None, :] - base[None]) ** 2).sum(-1)); key = d
    elif metric == 'dot':
        d = ip; key = -ip
    else:
        nq = (query ** 2).sum(1)[:, None]; nb = (base ** 2).sum(1)[None]
        with np.errstate(invalid='ignore', divide='ignore'):
            c2 = np.where((nq > 0) & (nb > 0), ip * ip / (nq * nb), 0.0)
        c = np.sign(ip) * np.sqrt(c2)
        d = 1 - c; key = d
    order = np.array([np.lexsort((ids, k))[:30] for k in key])
    return order, np.take_along_axis(d, order, 1)
g = np.fromfile(f'{t}/s_groundtruth.ivecs', np.int32).reshape(-1, 31)
assert (g[:, 0] == 30).all()
o, _ = ref('euclidean')
assert (g[:, 1:] == o).all(), 'texmex ids'
for m in ('euclidean', 'angular', 'dot'):
    f = h5py.File(f'{t}/{m}.hdf5', 'r')
    assert f.attrs['distance'] == m
    o, d = ref(m)
    assert (f['neighbors'][:] == o).all(), m + ' ids'
    assert np.allclose(f['distances'][:], d, rtol=1e-6, atol=1e-6), m + ' distances'
    assert not np.isnan(f['distances'][:]).any()
    if m == 'angular':
        assert (f['distances'][7] == 1).all() and (f['neighbors'][7] == np.arange(30)).all()
PY

# Errors: k larger than the base, a missing file.
err=$("$PQEVAL" groundtruth --k 5000 "$T/dot.hdf5" 2>&1); [ $? -eq 2 ] || fail "k too large"
grep -q "must be in 1..2000" <<<"$err" || fail "k message: $err"
"$PQEVAL" groundtruth "$T/none.hdf5" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing file"
echo "data_groundtruth: ok"
