# Shared by scripts/test, scripts/demo and bench/run: dependency setup and
# the CMake build.  Source it; do not run it.
set -euo pipefail

PQEVAL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${PQEVAL_JOBS:-$(nproc)}
# Idle OpenMP threads sleep rather than spin (k-means alternates OpenMP
# loops with OpenBLAS threads; spinning starves them on few cores).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

say() { printf '\n==> %s\n' "$*" >&2; }

# Installs the dependencies (idempotent) and sets FAISS_C_ROOT.
pqeval_deps() {
    local out
    out=$("$PQEVAL_ROOT/scripts/deps")
    FAISS_C_ROOT=$(printf '%s\n' "$out" | sed -n 's/^FAISS_C_ROOT=//p' | tail -n 1)
    export FAISS_C_ROOT
}

# pqeval_build DIR [cmake options...]: configures and builds into DIR.
pqeval_build() {
    local dir=$1
    shift
    cmake -S "$PQEVAL_ROOT" -B "$dir" -DFAISS_C_ROOT="$FAISS_C_ROOT" "$@" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log" >&2; return 1; }
    cmake --build "$dir" -j "$JOBS"
}

# The default dataset: ann-benchmarks' fashion-mnist-784-euclidean split,
# prepared from the Debian package dataset-fashion-mnist when absent.
pqeval_fashion_mnist() {
    local cli=$1
    local out="$PQEVAL_ROOT/datasets/fashion-mnist-784-euclidean.hdf5"
    if [ ! -f "$out" ]; then
        say "preparing $out from /usr/share/datasets/fashion-mnist"
        "$cli" prepare fashion-mnist --output "$out"
    fi
    printf '%s\n' "$out"
}
