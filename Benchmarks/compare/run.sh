#!/usr/bin/env bash
# Loom side by side with Keras 3 (TensorFlow CPU) and PyTorch (CPU), on this machine, in one
# session: each round runs every framework once per model and thread count, one after
# another, so machine noise hits them alike; the table reports medians over the rounds.
#
#   bash Benchmarks/compare/run.sh            (or `make compare` from the repository root)
#   MODELS="vanilla lstm128" THREADS="1" ROUNDS=3 bash Benchmarks/compare/run.sh
#
# Defaults: the seven reference models B1-B7 and B8, padded sequences (models.py), at 1 and 2
# threads, 5 rounds; B8 also runs in Loom with every row at full length (padded-full).
#
# Every process is pinned with taskset to as many cores as it may use threads: TensorFlow's
# oneDNN ignores its thread settings otherwise (measured: "1 thread" ran at 165 GFLOP/s, above
# one core's sgemm peak). Loom's release build is plain (`-c release`, or $RELEASE_FLAGS):
# its kernels pick the CPU's level themselves. OpenBLAS runs whichever kernels the
# environment's OPENBLAS_CORETYPE names, else its own choice; the runner prints both.
#
# The Python frameworks go into a virtual environment outside the repository
# ($LOOM_COMPARE_VENV, default ~/.cache/loom-compare-venv), created on first use.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${LOOM_COMPARE_VENV:-$HOME/.cache/loom-compare-venv}"
models="${MODELS:-vanilla lstm128 stacked seq2seq bidirectional cnnlstm stateful padded}"
threads_list="${THREADS:-1 2}"
rounds="${ROUNDS:-5}"
out="${OUT:-$root/Benchmarks/compare/results.txt}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q tensorflow-cpu torch numpy
fi
bash "$root/Benchmarks/build.sh" loom-throughput
runner="$root/Benchmarks/.build/release/loom-throughput"

: > "$out"
for round in $(seq "$rounds"); do
    for model in $models; do
        for threads in $threads_list; do
            echo "round $round: $model, $threads thread(s)" >&2
            cores="0-$((threads - 1))"
            export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
            taskset -c "$cores" "$runner" "$model" --threads "$threads" --rounds 1 | tee -a "$out"
            if [ "$model" = padded ]; then  # the same batches with every row at full length
                taskset -c "$cores" "$runner" "$model" --threads "$threads" --rounds 1 --unmasked | tee -a "$out"
            fi
            taskset -c "$cores" "$venv/bin/python" "$here/keras_bench.py" "$model" --threads "$threads" --rounds 1 2>/dev/null | tee -a "$out"
            taskset -c "$cores" "$venv/bin/python" "$here/torch_bench.py" "$model" --threads "$threads" --rounds 1 2>/dev/null | tee -a "$out"
        done
    done
done
"$venv/bin/python" "$here/table.py" "$out"
