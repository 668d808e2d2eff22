#!/usr/bin/env bash
# Sizes beyond the machine's memory fail at once with a clear message (and
# exit 2), not by passing them to malloc: under AddressSanitizer such a
# request aborted the program.  An HDF5 file declaring 2^40 rows (chunked,
# so the file itself is small) and an absurd --adc-pairs.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/breaker_huge_alloc"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"

/usr/bin/python3 - "$T" <<'PY' || fail "python fixture"
import sys, numpy as np, h5py
t = sys.argv[1]
rng = np.random.default_rng(5)
base = rng.standard_normal((300, 8)).astype(np.float32)
test = rng.standard_normal((5, 8)).astype(np.float32)
d = np.sqrt(((test[:, None, :] - base[None, :, :]) ** 2).sum(-1))
nbr = np.argsort(d, axis=1, kind='stable')[:, :10]
with h5py.File(f'{t}/small.hdf5', 'w') as f:
    f.attrs['distance'] = 'euclidean'
    f['train'] = base
    f['test'] = test
    f['neighbors'] = nbr.astype(np.int32)
    f['distances'] = np.take_along_axis(d, nbr, 1).astype(np.float32)
with h5py.File(f'{t}/huge.hdf5', 'w') as f:
    f.attrs['distance'] = 'euclidean'
    f.create_dataset('train', shape=(1 << 40, 8), dtype='f4', chunks=(1024, 8))
    f['test'] = test
PY

out=$("$PQEVAL" info "$T/huge.hdf5" 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "info huge.hdf5: exit $rc, wanted 2: $out"
grep -q "huge.hdf5: train: cannot allocate .* more than the machine's memory and swap" <<<"$out" ||
    fail "info huge.hdf5: message: $out"

out=$("$PQEVAL" eval "$T/small.hdf5" --methods pq -M 2 --nbits 2 --queries 5 --recall-at 1,10 \
    -k 5 --no-sdc --adc-pairs 999999999999 --no-plot --json "$T/r.json" --csv "$T/r.csv" 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "eval --adc-pairs 999999999999: exit $rc, wanted 2: $out"
grep -q "more than the machine's memory" <<<"$out" || fail "eval --adc-pairs message: $out"
[ ! -e "$T/r.json" ] || fail "a failed eval left an output"
echo "breaker_huge_alloc: ok"
