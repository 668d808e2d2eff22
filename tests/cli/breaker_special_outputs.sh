#!/usr/bin/env bash
# Outputs are written beside their target and renamed into place; a target
# that is not a regular file must survive that: a character device (as
# /dev/null; replacing it as root broke /dev/null for the whole machine) is
# written directly by array writers and refused by the HDF5 writer, and a
# symbolic link (as /dev/stdout) keeps pointing where it did while the file
# it names is replaced.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/breaker_special_outputs"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"

/usr/bin/python3 - "$T" <<'PY' || fail "python fixture"
import sys, numpy as np, h5py
rng = np.random.default_rng(3)
with h5py.File(sys.argv[1] + '/tiny.hdf5', 'w') as f:
    f.attrs['distance'] = 'euclidean'
    f['train'] = rng.standard_normal((20, 4)).astype(np.float32)
    f['test'] = rng.standard_normal((5, 4)).astype(np.float32)
PY

# A symbolic link: the link stays, the file it points to gets the output.
echo old >"$T/real.fvecs"
ln -s real.fvecs "$T/link.fvecs"
out=$("$PQEVAL" convert --part test "$T/tiny.hdf5" "$T/link.fvecs" 2>&1) || fail "link: $out"
[ -L "$T/link.fvecs" ] || fail "the symbolic link was replaced by a regular file"
[ "$(stat -c %s "$T/real.fvecs")" -eq $((5 * (4 + 4 * 4))) ] || fail "the link's target was not written"

# No temporary files are left behind.
ls "$T" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$T")"

if [ "$(id -u)" -eq 0 ]; then
    # A character device like /dev/null (major 1, minor 3), made here.
    mknod "$T/null.fvecs" c 1 3 || fail "mknod"
    out=$("$PQEVAL" convert --part test "$T/tiny.hdf5" "$T/null.fvecs" 2>&1) ||
        fail "writing into a device failed: $out"
    [ -c "$T/null.fvecs" ] || fail "the device null.fvecs was replaced by a regular file"
    mknod "$T/null.hdf5" c 1 3 || fail "mknod"
    out=$("$PQEVAL" convert "$T/tiny.hdf5" "$T/null.hdf5" 2>&1); rc=$?
    [ "$rc" -eq 2 ] || fail "HDF5 onto a device: exit $rc, wanted 2 ($out)"
    grep -q "null.hdf5: exists and is not a regular file" <<<"$out" || fail "message: $out"
    [ -c "$T/null.hdf5" ] || fail "the device null.hdf5 was replaced by a regular file"
fi

# A directory as the output: refused, the directory stays.
mkdir "$T/dir.fvecs"
out=$("$PQEVAL" convert --part test "$T/tiny.hdf5" "$T/dir.fvecs" 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "directory: exit $rc, wanted 2 ($out)"
grep -q "dir.fvecs:\{0,1\} is a directory" <<<"$out" || fail "message: $out"
[ -d "$T/dir.fvecs" ] || fail "the directory is gone"
ls "$T" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$T")"
echo "breaker_special_outputs: ok"
