#!/usr/bin/env bash
# Builds benchmark products in release: bash Benchmarks/build.sh PRODUCT [PRODUCT ...]
#
# SwiftPM caches this package's build plan and objects without noticing changes to its `..`
# path dependency (new or removed files, changed signatures): the cached description and the
# benchmark targets' objects are dropped first. $RELEASE_FLAGS (default `-c release`) are the
# build's flags, $SCRATCH (default .build, relative to Benchmarks/) its build folder.
set -euo pipefail
cd "$(dirname "$0")"
scratch="${SCRATCH:-.build}"
rm -rf "$scratch/release.yaml" "$scratch/release/description.json" \
    "$scratch"/*/release/ReferenceModels.build "$scratch"/*/release/loom_throughput.build \
    "$scratch"/*/release/loom_hdf5_bench.build "$scratch"/*/release/LoomBenchmarks.build
for product in "$@"; do
    swift build ${RELEASE_FLAGS:--c release} --scratch-path "$scratch" --product "$product"
done
