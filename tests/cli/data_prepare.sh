#!/usr/bin/env bash
# 'pqeval prepare': its usage errors (the full preparation takes ~20 s and
# is run by scripts/test; test_groundtruth checks the file it writes).
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/data_prepare"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"

"$PQEVAL" prepare --help | grep -q 'usage: pqeval prepare fashion-mnist' || fail "--help"
err=$("$PQEVAL" prepare imagenet --output "$T/x.hdf5" 2>&1); [ $? -eq 2 ] || fail "unknown dataset"
grep -q "unknown dataset 'imagenet'" <<<"$err" || fail "message: $err"
err=$("$PQEVAL" prepare fashion-mnist 2>&1); [ $? -eq 2 ] || fail "no --output"
grep -q "output is required" <<<"$err" || fail "message: $err"
err=$("$PQEVAL" prepare fashion-mnist --source "$T/nowhere" --output "$T/x.hdf5" 2>&1)
[ $? -eq 2 ] || fail "missing source"
grep -q "dataset-fashion-mnist" <<<"$err" || fail "message does not name the package: $err"
# A source whose test file is cut short: refused, and nothing is written.
mkdir -p "$T/src"
cp /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz "$T/src/" || fail "copy"
head -c 5000 /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz >"$T/src/t10k-images-idx3-ubyte.gz"
err=$("$PQEVAL" prepare fashion-mnist --source "$T/src" --output "$T/x.hdf5" 2>&1)
[ $? -eq 2 ] || fail "cut-short source accepted"
grep -Eq "cut short|read error" <<<"$err" || fail "message: $err"
[ ! -e "$T/x.hdf5" ] || fail "an output was left behind"
ls "$T" | grep -q tmp && fail "a temporary file was left behind"
echo "data_prepare: ok"
