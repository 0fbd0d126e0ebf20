#!/usr/bin/env bash
# Training from an HDF5 file larger than 2 GB in bounded memory (issue target: peak resident
# memory under 500 MB), and the streaming read throughput from page cache (target >= 1 GB/s).
# Writes a generated file (2.1 GB by default) to $FILE, then trains the vanilla model on it
# for one epoch in file order and once shuffled, printing each run's peak resident memory.
#   bash Benchmarks/hdf5-memory-bound.sh            FILE=/path/big.h5 GIGABYTES=3 to change
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file="${FILE:-/tmp/loom-memory-bound.h5}"
bash "$root/Benchmarks/build.sh" loom-hdf5-bench
bench="$root/Benchmarks/.build/release/loom-hdf5-bench"
[ -f "$file" ] || "$bench" generate "$file" --gigabytes "${GIGABYTES:-2.1}"
ls -l "$file"
"$bench" read "$file" --batch 32 --rounds 3
"$bench" train "$file"
"$bench" compare "$file" --samples 200000 --rounds 5
