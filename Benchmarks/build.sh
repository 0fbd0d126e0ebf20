#!/usr/bin/env bash
# Builds benchmark products in release: bash Benchmarks/build.sh PRODUCT [PRODUCT ...]
#
# SwiftPM caches this package's build plan and objects without noticing changes to its `..`
# path dependency (new or removed files, changed signatures): the cached description and the
# benchmark targets' objects are dropped first. $RELEASE_FLAGS (set by the Makefile to tune
# for this CPU) replaces the plain `-c release`.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf .build/release.yaml .build/release/description.json \
    .build/*/release/ReferenceModels.build .build/*/release/loom_throughput.build \
    .build/*/release/loom_hdf5_bench.build .build/*/release/LoomBenchmarks.build
for product in "$@"; do
    swift build ${RELEASE_FLAGS:--c release} --product "$product"
done
