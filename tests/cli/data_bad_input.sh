#!/usr/bin/env bash
# Every bad input of the dataset issue, through the real binary: the exit
# status and the message.  The files are made here, in PQEVAL_TEST_TMP.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/data_bad_input"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"
PY=/usr/bin/python3

# expect STATUS MESSAGE-FRAGMENT pqeval-args...
expect() {
    local want=$1 msg=$2 out rc
    shift 2
    out=$("$PQEVAL" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq "$want" ] || fail "pqeval $*: exit $rc, expected $want ($out)"
    grep -qF -- "$msg" <<<"$out" || fail "pqeval $*: message '$out' lacks '$msg'"
    grep -q '^pqeval: error: ' <<<"$out" || fail "pqeval $*: no 'pqeval: error:' prefix: $out"
}

# xvecs: 3 records of dimension 4 (4 + 16 bytes each).
$PY - "$T" <<'PY' || fail "python fixtures"
import struct, sys, gzip, os
t = sys.argv[1]
def rec(d, vals, fmt='f'):
    return struct.pack('<i', d) + struct.pack('<%d%s' % (len(vals), fmt), *vals)
good = b''.join(rec(4, [i, i + 1, i + 2, i + 3]) for i in range(3))
open(f'{t}/cut.fvecs', 'wb').write(good[:-3])
open(f'{t}/hdr.fvecs', 'wb').write(good[:40] + struct.pack('<i', 3) + good[44:])
open(f'{t}/zero.fvecs', 'wb').write(struct.pack('<i', 0) + good[4:])
open(f'{t}/neg.fvecs', 'wb').write(struct.pack('<i', -5) + good[4:])
open(f'{t}/huge.fvecs', 'wb').write(struct.pack('<i', 1 << 30) + good[4:])
open(f'{t}/empty.fvecs', 'wb').close()
open(f'{t}/x.u8bin.bvecs', 'wb').write(struct.pack('<II', 50, 16) + bytes(50 * 16))
open(f'{t}/x.fbin.fvecs', 'wb').write(struct.pack('<II', 50, 16) + bytes(50 * 16 * 4))
# IDX: 2 images of 2 x 3.
idx = bytes([0, 0, 8, 3]) + struct.pack('>III', 2, 2, 3) + bytes(range(12))
open(f'{t}/magic-ubyte', 'wb').write(bytes([0, 0, 0x42, 3]) + idx[4:])
open(f'{t}/short-ubyte', 'wb').write(idx[:-5])
open(f'{t}/zipped-ubyte', 'wb').write(gzip.compress(idx))
open(f'{t}/overflow-ubyte', 'wb').write(bytes([0, 0, 8, 4]) + b'\xff' * 16)
PY

expect 2 "is not a whole number of 20-byte records (dimension 4): 2 whole records and 17 bytes left over" info "$T/cut.fvecs"
expect 2 "record 2 has dimension header 3, but record 0 has 4" info "$T/hdr.fvecs"
expect 2 "record 0 has dimension header 0 (zero" info "$T/zero.fvecs"
expect 2 "record 0 has dimension header -5 (negative" info "$T/neg.fvecs"
expect 2 "record 0 has dimension header 1073741824 (absurdly large" info "$T/huge.fvecs"
expect 2 "empty file" info "$T/empty.fvecs"
expect 2 "looks like a big-ann-benchmarks .u8bin/.i8bin file (header n = 50, d = 16" info "$T/x.u8bin.bvecs"
expect 2 "looks like a big-ann-benchmarks .fbin/.ibin file" info "$T/x.fbin.fvecs"
expect 2 "wrong magic number 0x00004203" info "$T/magic-ubyte"
expect 2 "cut short: the header declares 2 x 6 values, the file holds 7" info "$T/short-ubyte"
expect 2 "the data are gzip-compressed but the name does not end in .gz" info "$T/zipped-ubyte"
expect 2 "overflow" info "$T/overflow-ubyte"
# The same checks guard conversion.
expect 2 "record 2 has dimension header 3" convert "$T/hdr.fvecs" "$T/out.bvecs"
[ ! -e "$T/out.bvecs" ] || fail "a failed conversion left an output"

# HDF5 files (h5py, as ann-benchmarks writes them).
$PY - "$T" <<'PY' || fail "python hdf5 fixtures"
import sys, numpy as np, h5py
t = sys.argv[1]
rng = np.random.default_rng(1)
train = rng.integers(0, 5, (30, 4)).astype(np.float32)
test = rng.integers(0, 5, (6, 4)).astype(np.float32)
d = np.sqrt(((test[:, None, :] - train[None, :, :]) ** 2).sum(-1))
nb = np.lexsort((np.broadcast_to(np.arange(30), d.shape), d), axis=1)[:, :5].astype(np.int32)
dist = np.take_along_axis(d, nb, 1).astype(np.float32)
def write(name, parts, metric='euclidean'):
    with h5py.File(f'{t}/{name}.hdf5', 'w') as f:
        f.attrs['distance'] = metric
        for k, v in parts.items():
            f[k] = v
full = dict(train=train, test=test, neighbors=nb, distances=dist)
write('good', full)
write('notrain', {k: v for k, v in full.items() if k != 'train'})
write('notest', {k: v for k, v in full.items() if k != 'test'})
write('onedim', dict(full, train=train.ravel()))
write('emptytest', dict(full, test=np.zeros((0, 4), np.float32)))
write('dims', dict(full, test=np.zeros((6, 3), np.float32)))
bad = nb.copy(); bad[2, 1] = 30
write('range', dict(full, neighbors=bad))
write('squared', dict(full, distances=dist ** 2))
nf = train.copy(); nf[7, 2] = np.nan; nf[9, 0] = np.inf
write('nonfinite', dict(full, train=nf))
z = train.copy(); z[3] = 0
write('zeros', dict(train=z, test=test), 'angular')
PY

"$PQEVAL" info "$T/good.hdf5" >/dev/null 2>&1 || fail "good.hdf5 is refused"
expect 2 "no dataset 'train'" info "$T/notrain.hdf5"
expect 2 "no dataset 'test'" info "$T/notest.hdf5"
expect 2 "'train' is 1-D, expected a 2-D array" info "$T/onedim.hdf5"
expect 2 "'test' is empty (0 x 4)" info "$T/emptytest.hdf5"
expect 2 "'test' has dimension 3 but 'train' has 4" info "$T/dims.hdf5"
# Findings of the validation: exit 1 from info, 2 where the data are used.
expect 1 "neighbour id 30 of query 2 (rank 1) is out of range" info "$T/range.hdf5"
expect 2 "neighbour id 30 of query 2 (rank 1) is out of range" convert "$T/range.hdf5" "$T/r.hdf5"
expect 1 "they look like squared euclidean distances" info "$T/squared.hdf5"
expect 1 "2 non-finite values; the first is in 'train' row 7 column 2" info "$T/nonfinite.hdf5"
expect 2 "refusing to train or evaluate on them" convert "$T/nonfinite.hdf5" "$T/nf.hdf5"

# Zero vectors of an angular dataset: counted, no NaN anywhere.
out=$("$PQEVAL" info "$T/zeros.hdf5" 2>&1); rc=$?
[ $rc -eq 0 ] || fail "zeros.hdf5: exit $rc: $out"
grep -q "zero rows 1" <<<"$out" || fail "zero rows not counted: $out"
grep -q "1 zero vectors in 'train'" <<<"$out" || fail "no warning about zero vectors: $out"
"$PQEVAL" groundtruth --k 5 --output "$T/zeros_gt.hdf5" "$T/zeros.hdf5" 2>/dev/null || fail "groundtruth on zeros"
$PY - "$T/zeros_gt.hdf5" <<'PY' || fail "NaN in angular ground truth"
import sys, numpy as np, h5py
f = h5py.File(sys.argv[1], 'r')
assert not np.isnan(f['distances'][:]).any()
PY
echo "data_bad_input: ok"
