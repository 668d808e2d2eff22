# results_fixture.bash - writes small results/baseline JSON files for the
# check_*.sh tests (sourced, not run: CTest runs only tests/cli/*.sh).
#
#   setting KEY SEED NQ HITS1 HITS10 HITS100 MSE PERQUERY
#     one setting's JSON on stdout: 1-recall@{1,10,100} = HITS / NQ; with
#     PERQUERY=yes the per-query hits are saved (queries 0..HITS-1 hit),
#     with PERQUERY=no they are not
#   write_results FILE KIND CHECKSUM NQ SETTING_JSON...
#     the whole file; CHECKSUM is a JSON value ("\"abc...\"" or null)
set -uo pipefail

# Base64 of the bitmap of NQ queries whose first H are hits (bit q of byte
# q / 8, least significant first), as docs/results-schema.md says.
hits_b64() {
    local nq=$1 h=$2 bytes=$(( ($1 + 7) / 8 )) b i q v
    for ((b = 0; b < bytes; b++)); do
        v=0
        for ((i = 0; i < 8; i++)); do
            q=$((b * 8 + i))
            if ((q < h && q < nq)); then v=$((v | (1 << i))); fi
        done
        printf "\\$(printf '%03o' "$v")"
    done | base64 -w0
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.10g", a / b }'; }

setting() {
    local key=$1 seed=$2 nq=$3 h1=$4 h10=$5 h100=$6 mse=$7 perquery=$8 pq=null
    if [ "$perquery" = yes ]; then
        pq="{\"encoding\": \"bitmap-base64-lsb0\", \"n_queries\": $nq,
          \"hits_adc\": [\"$(hits_b64 "$nq" "$h1")\", \"$(hits_b64 "$nq" "$h10")\", \"$(hits_b64 "$nq" "$h100")\"],
          \"hits_sdc\": null, \"khits_adc\": null}"
    fi
    cat <<EOF
{"key": "$key", "label": "$key", "group": "$key", "name": "PQ4x8", "method": "pq",
 "faiss_factory": null, "M": 4, "nbits": 8, "n_train": 0, "kmeans_iters": 25,
 "kmeans_init": "random", "max_points_per_centroid": 256, "opq_start": "parametric",
 "opq_outer_iters": 25, "opq_inner_iters": 4, "seed": $seed, "code_bits": 32, "code_bytes": 4,
 "distortion": {"mse_base": $mse, "rel_mse_base": 0.1, "mse_train": $mse, "rel_mse_train": 0.1,
                "mse_heldout": null, "rel_mse_heldout": null, "per_subspace": null},
 "adc_error": {"mean": -0.5, "sd": 1.0, "rel_mean": -0.01, "pairs": 100},
 "recall": {"n_queries": $nq, "r": [1, 10, 100],
            "adc": [$(ratio "$h1" "$nq"), $(ratio "$h10" "$nq"), $(ratio "$h100" "$nq")],
            "adc_ci": null, "sdc": null, "sdc_ci": null, "k": 10,
            "k_recall_adc": null, "k_recall_sdc": null},
 "sdc_supported": false, "sdc_note": "not run in this test", "per_query": $pq,
 "timings": {"train_s": 1.0, "encode_s": 0.5, "adc_s": 0.1, "sdc_s": null, "adc_qps": 1000.0,
             "sdc_qps": null}}
EOF
}

write_results() {
    local file=$1 kind=$2 checksum=$3 nq=$4 settings
    shift 4
    settings=$(IFS=,; printf '%s' "$*")
    cat >"$file" <<EOF
{
 "schema_version": 1, "kind": "$kind", "pqeval_version": "0.1.0",
 "machine": "x86_64, test, 2 threads", "started": "2026-12-03T18:00:00Z", "threads": 2,
 "simd": null,
 "dataset": {"path": "/data/tiny.hdf5", "name": "tiny", "checksum": $checksum,
             "metric": "euclidean", "dim": 16, "n_base": 1000, "n_queries": $nq,
             "train_source": "base", "n_train_pool": 1000, "n_heldout": 0, "gt_k": 100},
 "settings": [$settings],
 "analysis": null
}
EOF
}

SUM_A='"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"'
SUM_B='"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"'

fail() { echo "FAIL: $*"; exit 1; }

# run_check EXPECTED_EXIT ARGS...: runs 'pqeval check', captures OUT and ERR.
run_pqeval() {
    local want=$1
    shift
    OUT=$("$PQEVAL" "$@" 2>"$TMPD/stderr")
    RC=$?
    ERR=$(cat "$TMPD/stderr")
    [ "$RC" -eq "$want" ] || fail "pqeval $* exited $RC, not $want
stdout: $OUT
stderr: $ERR"
}
