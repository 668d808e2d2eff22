#!/usr/bin/env bash
# Output paths are checked before the work, and an output never replaces an
# input: 'check --report' onto the baseline used to overwrite the baseline
# with the comparison; 'train', 'groundtruth' and 'prepare' found an empty,
# folderless or directory output only after training or computing, and
# 'prepare' wrote HDF5 under any name.  Also: 'train' called an unknown last
# option one that "needs a value", and a non-finite value met by
# 'groundtruth' did not name the file.  A plot named with "%n" (PLplot's
# page-number placeholder) came out empty, its drawing left in a stray file.
# The table printed "nan" for statistics undefined with few settings.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/breaker_outputs"
rm -rf "$T" && mkdir -p "$T/dir.hdf5" || fail "tmp"

# expect STATUS MESSAGE-FRAGMENT pqeval-args...
expect() {
    local want=$1 msg=$2 out rc
    shift 2
    out=$("$PQEVAL" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq "$want" ] || fail "pqeval $*: exit $rc, expected $want ($out)"
    grep -qF -- "$msg" <<<"$out" || fail "pqeval $*: message '$out' lacks '$msg'"
}

/usr/bin/python3 - "$T" <<'PY' || fail "python fixture"
import sys, numpy as np, h5py
t = sys.argv[1]
rng = np.random.default_rng(4)
base = rng.standard_normal((300, 8)).astype(np.float32)
test = rng.standard_normal((5, 8)).astype(np.float32)
d = np.sqrt(((test[:, None, :] - base[None, :, :]) ** 2).sum(-1))
nbr = np.argsort(d, axis=1, kind='stable')[:, :10]
for name, b in (('ok', base), ('nan', base.copy())):
    if name == 'nan':
        b[7, 2] = np.nan
    with h5py.File(f'{t}/{name}.hdf5', 'w') as f:
        f.attrs['distance'] = 'euclidean'
        f['train'] = b
        f['test'] = test
        f['neighbors'] = nbr.astype(np.int32)
        f['distances'] = np.take_along_axis(d, nbr, 1).astype(np.float32)
PY
D="$T/ok.hdf5"

# train: bad outputs refused before training; an unknown last option named.
expect 2 "train: --output: empty file name" train "$D" --method pq -M 2 --nbits 2 --output ''
expect 2 "folder $T/nope: No such file or directory" train "$D" --method pq -M 2 --nbits 2 --output "$T/nope/q.bin"
expect 2 "dir.hdf5 is a directory" train "$D" --method pq -M 2 --nbits 2 --output "$T/dir.hdf5"
expect 2 "is the input $D" train "$D" --method pq -M 2 --nbits 2 --output "$D"
expect 2 "train: unknown option '--frob'" train "$D" --frob
expect 2 "train: option --method needs a value" train "$D" --method
out=$("$PQEVAL" train "$D" --method pq -M 2 --nbits 2 --output "$T/nope/q.bin" 2>&1)
grep -q "training" <<<"$out" && fail "train started before refusing its output: $out"

# groundtruth: the output is checked before the computation.
for o in '' "$T/nope/x.hdf5" "$T/dir.hdf5" "$T/gt.ivecs"; do
    out=$("$PQEVAL" groundtruth "$D" --k 5 --output "$o" 2>&1); rc=$?
    [ "$rc" -eq 2 ] || fail "groundtruth --output '$o': exit $rc ($out)"
    grep -q "exact top" <<<"$out" && fail "groundtruth computed before refusing '$o': $out"
done
expect 2 "$T/nan.hdf5: base row 7 column 2 is not finite" groundtruth "$T/nan.hdf5" --k 5 --output "$T/g.hdf5"

# prepare: the output is checked before the ground truth is computed.
for o in '' "$T/nope/x.hdf5" "$T/dir.hdf5" "$T/x.fvecs"; do
    out=$("$PQEVAL" prepare fashion-mnist --output "$o" 2>&1); rc=$?
    [ "$rc" -eq 2 ] || fail "prepare --output '$o': exit $rc ($out)"
    grep -q "computing" <<<"$out" && fail "prepare computed before refusing '$o': $out"
done
[ ! -e "$T/x.fvecs" ] || fail "prepare wrote HDF5 into x.fvecs"

# check: --report / --junit may not replace an input.
"$PQEVAL" eval "$D" --methods pq -M 2 --nbits 2 --queries 5 --recall-at 1,10 -k 5 --no-sdc \
    --no-plot --json "$T/r.json" --csv "$T/r.csv" >/dev/null 2>&1 || fail "eval"
"$PQEVAL" baseline "$T/r.json" --output "$T/b.json" >/dev/null 2>&1 || fail "baseline"
cp "$T/b.json" "$T/b.keep"
expect 2 "check: --report: $T/b.json is the input $T/b.json" check "$T/r.json" --baseline "$T/b.json" --report "$T/b.json"
expect 2 "check: --junit: $T/r.json is the input" check "$T/r.json" --baseline "$T/b.json" --junit "$T/r.json"
expect 2 "check: --junit: empty file name" check "$T/r.json" --baseline "$T/b.json" --junit ''
cmp -s "$T/b.json" "$T/b.keep" || fail "the baseline was changed"
expect 2 "baseline: --output: empty file name" baseline "$T/r.json" --output ''
expect 2 "convert: output: $T/dir.hdf5 is a directory" convert "$D" "$T/dir.hdf5"

# Two settings: p-values, some correlations and leave-one-out errors are
# undefined; the table shows "-", never "nan".
table=$("$PQEVAL" eval "$D" --methods pq,opq-p -M 2 --nbits 2 --queries 5 --recall-at 1,10 -k 5 \
    --no-plot --json "$T/t.json" --csv "$T/t.csv" 2>/dev/null) || fail "eval for the table"
grep -q "other recall measures" <<<"$table" || fail "no analysis in the table: $table"
grep -qi "nan" <<<"$table" && fail "the table prints nan: $table"

# A plot path with "%n": refused, no empty plot, no stray temporary file.
mkdir -p "$T/plots"
out=$("$PQEVAL" eval "$D" --methods pq -M 2 --nbits 2 --queries 5 --recall-at 1,10 -k 5 --no-sdc \
    --json "$T/plots/r.json" --csv "$T/plots/r.csv" --plot "$T/plots/p%n.png" 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "--plot p%n.png: exit $rc, wanted 2 ($out)"
grep -q "PLplot reads '%n' in a file name" <<<"$out" || fail "--plot p%n.png: message: $out"
[ ! -e "$T/plots/p%n.png" ] || fail "an (empty) p%n.png was written"
ls "$T/plots" | grep -q 'tmp' && fail "stray files: $(ls "$T/plots")"
echo "breaker_outputs: ok"
