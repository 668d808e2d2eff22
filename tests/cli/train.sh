#!/usr/bin/env bash
# 'pqeval train' through the real binary: our PQ and OPQ and a FAISS codec
# on a small texmex dataset made here, the saved files load back (a second
# train with the same seed writes the same bytes), and bad input gives
# 'pqeval: error:' with exit status 2.
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
T="$PQEVAL_TEST_TMP/cli_train"
rm -rf "$T" && mkdir -p "$T" || fail "tmp"

/usr/bin/python3 - "$T" <<'PY' || fail "python fixtures"
import struct, sys, random
t = sys.argv[1]
rng = random.Random(5)
def fvecs(path, n, d):
    with open(path, 'wb') as f:
        for _ in range(n):
            common = rng.random() * 4
            v = [common * (j % 3) + rng.random() * 8 / (1 + j) for j in range(d)]
            f.write(struct.pack('<i', d) + struct.pack('<%df' % d, *v))
fvecs(f'{t}/toy_base.fvecs', 1500, 16)
fvecs(f'{t}/toy_learn.fvecs', 2000, 16)
fvecs(f'{t}/toy_query.fvecs', 20, 16)
PY

run() { "$PQEVAL" --quiet "$@" >"$T/out" 2>"$T/err"; }

for m in pq opq-p opq-np; do
    run train "$T/toy_base.fvecs" --method $m -M 4 --nbits 4 --seed 3 --kmeans-iters 5 \
        --opq-outer 3 --output "$T/$m.pqeq" || fail "train $m: $(cat "$T/err")"
    [ -s "$T/$m.pqeq" ] || fail "train $m wrote nothing"
    grep -q "^code size 16 bits" "$T/out" || fail "train $m: $(cat "$T/out")"
    grep -q "^training vectors 2000;" "$T/out" || fail "train $m did not use learn: $(cat "$T/out")"
    head -c 8 "$T/$m.pqeq" | grep -q PQEQUANT || fail "train $m: no magic"
done
grep -q "^quantizer OPQ-NP4x4" "$T/out" || fail "name: $(cat "$T/out")"

# Same seed, same bytes.
run train "$T/toy_base.fvecs" --method opq-np -M 4 --nbits 4 --seed 3 --kmeans-iters 5 \
    --opq-outer 3 --output "$T/again.pqeq" || fail "train again: $(cat "$T/err")"
cmp -s "$T/opq-np.pqeq" "$T/again.pqeq" || fail "same seed gave different files"

# --n-train and a FAISS codec.
run train "$T/toy_base.fvecs" --method faiss:PQ4x4np --n-train 500 --output "$T/f.index" ||
    fail "train faiss: $(cat "$T/err")"
grep -q "^training vectors 500;" "$T/out" || fail "n-train: $(cat "$T/out")"
grep -q "^quantizer faiss:PQ4x4np" "$T/out" || fail "faiss name: $(cat "$T/out")"
[ -s "$T/f.index" ] || fail "faiss wrote nothing"

# expect STATUS MESSAGE-FRAGMENT args...
expect() {
    local want=$1 msg=$2 out rc
    shift 2
    out=$("$PQEVAL" "$@" 2>&1 >/dev/null); rc=$?
    [ "$rc" -eq "$want" ] || fail "pqeval $*: exit $rc, expected $want ($out)"
    grep -qF -- "$msg" <<<"$out" || fail "pqeval $*: message '$out' lacks '$msg'"
    grep -q '^pqeval: error: ' <<<"$out" || fail "pqeval $*: no 'pqeval: error:' prefix: $out"
}
B="$T/toy_base.fvecs"
expect 2 "-M is required" train "$B" --method pq --output "$T/x"
expect 2 "unknown method 'opq'" train "$B" --method opq -M 4 --output "$T/x"
expect 2 "--output is required" train "$B" --method pq -M 4
expect 2 "divide" train "$B" --method pq -M 5 --output "$T/x"
expect 2 "could not parse" train "$B" --method faiss:NoSuchIndex --output "$T/x"
expect 2 "missing_base.fvecs" train "$T/missing_base.fvecs" --method pq -M 4 --output "$T/x"
expect 2 "unknown option" train "$B" --method pq -M 4 --output "$T/x" --bogus 1
"$PQEVAL" train --help | grep -q "^usage: pqeval train" || fail "--help"
[ ! -e "$T/x" ] || fail "a failed train left $T/x"
echo "ok"
