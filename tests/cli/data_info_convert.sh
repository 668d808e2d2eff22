#!/usr/bin/env bash
# 'pqeval info' and 'pqeval convert' on the real data: the SIFT set in both
# of its forms and Fashion-MNIST; texmex -> HDF5 -> texmex gives back the
# same bytes.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
S="$PQEVAL_SHARED_DATASETS/sift-debian"
FM="$PQEVAL_DATA_DIR/fashion-mnist-784-euclidean.hdf5"
T="$PQEVAL_TEST_TMP/data_info_convert"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"
[ -f "$FM" ] || fail "$FM is missing: run 'pqeval prepare fashion-mnist --output $FM' first (scripts/test does)"

"$PQEVAL" info --help | grep -q 'usage: pqeval info' || fail "info --help"
"$PQEVAL" convert --help | grep -q 'usage: pqeval convert' || fail "convert --help"

# info on the SIFT set: texmex family, the HDF5 file, single files.
out=$("$PQEVAL" info --queries 3 "$S/siftdeb_base.bvecs" "$S/siftdeb-128-euclidean.hdf5" \
      "$S/siftdeb_query.bvecs" "$S/siftdeb_groundtruth.ivecs" 2>&1); rc=$?
[ $rc -eq 0 ] || fail "info on SIFT: exit $rc: $out"
for want in "format bvecs; metric euclidean; element type uint8; dimension 128" \
            "train  100000 x 128" "test   10000 x 128" "learn  25000 x 128" \
            "sha256 c9b74ead83cc59a1eccd85d5e5638054f716ba4686c48085955d2e8eda4760f0" \
            "ground truth: top-100 of 10000 queries, distances stored" \
            "neighbours: agree with an exact recomputation on 3 sampled queries" \
            "distances: agree with a recomputation on 1000 sampled pairs" \
            "format ivecs; element type int32; 10000 x 100"; do
    grep -qF "$want" <<<"$out" || fail "info on SIFT lacks '$want': $out"
done

# info on Fashion-MNIST and on its IDX source.
out=$("$PQEVAL" info --queries 2 "$FM" /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz 2>&1); rc=$?
[ $rc -eq 0 ] || fail "info on Fashion-MNIST: exit $rc: $out"
for want in "train  60000 x 784" "test   10000 x 784" "metric euclidean" \
            "format idx; element type uint8; 10000 x 784" "duplicate rows" \
            "neighbours: agree with an exact recomputation on 2 sampled queries"; do
    grep -qF "$want" <<<"$out" || fail "info on Fashion-MNIST lacks '$want': $out"
done

# texmex -> HDF5 -> texmex: byte-identical.
"$PQEVAL" convert "$S/siftdeb_base.bvecs" "$T/sift.hdf5" 2>/dev/null || fail "texmex -> hdf5"
"$PQEVAL" convert "$T/sift.hdf5" "$T/back_base.bvecs" 2>/dev/null || fail "hdf5 -> texmex"
for p in base query learn; do
    cmp -s "$S/siftdeb_$p.bvecs" "$T/back_$p.bvecs" || fail "$p.bvecs differs after the round trip"
done
cmp -s "$S/siftdeb_groundtruth.ivecs" "$T/back_groundtruth.ivecs" || fail "groundtruth.ivecs differs"
# The shared HDF5 form (compressed, scale-offset) converts to the same texmex bytes.
"$PQEVAL" convert "$S/siftdeb-128-euclidean.hdf5" "$T/h_base.bvecs" 2>/dev/null || fail "shared hdf5 -> texmex"
for p in base query learn; do
    cmp -s "$S/siftdeb_$p.bvecs" "$T/h_$p.bvecs" || fail "$p.bvecs differs from the shared hdf5"
done
# Named parts into one HDF5 file; an array into another format.
"$PQEVAL" convert "$S/siftdeb_base.bvecs" "$S/siftdeb_query.bvecs" "$S/siftdeb_groundtruth.ivecs" \
    "$T/parts.hdf5" 2>/dev/null || fail "parts -> hdf5"
"$PQEVAL" info --queries 1 "$T/parts.hdf5" | grep -q "ground truth: top-100" || fail "parts.hdf5"
"$PQEVAL" convert --part test "$T/sift.hdf5" "$T/q.fvecs" 2>/dev/null || fail "hdf5 part -> fvecs"
"$PQEVAL" convert "$T/q.fvecs" "$T/q2.bvecs" 2>/dev/null || fail "fvecs -> bvecs"
cmp -s "$T/q2.bvecs" "$S/siftdeb_query.bvecs" || fail "q2.bvecs differs"
# Fashion-MNIST: HDF5 -> texmex -> HDF5 keeps every value.
"$PQEVAL" convert /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz "$T/t10k.fvecs" 2>/dev/null ||
    fail "idx -> fvecs"
"$PQEVAL" convert --part test "$FM" "$T/fm_test.fvecs" 2>/dev/null || fail "fm test -> fvecs"
cmp -s "$T/t10k.fvecs" "$T/fm_test.fvecs" || fail "the IDX test images differ from the prepared test part"

# Usage errors.
"$PQEVAL" convert "$T/sift.hdf5" >/dev/null 2>&1; [ $? -eq 2 ] || fail "convert with one file"
err=$("$PQEVAL" convert "$T/q.fvecs" "$T/x.hdf5" 2>&1); [ $? -eq 2 ] || fail "array -> dataset"
grep -q "single array" <<<"$err" || fail "array -> dataset message: $err"
"$PQEVAL" info "$T/nothing.hdf5" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing file"
# The catalog: 9 tab-separated columns; the checksums of the files at hand agree.
awk -F'\t' '!/^#/ && NF != 9 { print "line " NR ": " NF " columns"; bad = 1 } END { exit bad }' \
    "$PQEVAL_SOURCE_DIR/datasets/catalog.tsv" || fail "catalog.tsv is malformed"
for entry in "siftdeb	$S/siftdeb_base.bvecs" "siftdeb-128-euclidean	$S/siftdeb-128-euclidean.hdf5"; do
    name=${entry%%	*}; file=${entry#*	}
    want=$(awk -F'\t' -v n="$name" '$1 == n { print $9 }' "$PQEVAL_SOURCE_DIR/datasets/catalog.tsv")
    have=$(sha256sum "$file" | cut -d' ' -f1)
    [ "$want" = "$have" ] || fail "catalog checksum of $name: $want, the file has $have"
done
echo "data_info_convert: ok"
