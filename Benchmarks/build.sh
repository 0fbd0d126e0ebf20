#!/usr/bin/env bash
# Builds benchmark products in release: bash Benchmarks/build.sh PRODUCT [PRODUCT ...]
#
# SwiftPM plans this package's build once and does not notice files added to or removed from
# its `..` path dependency until the plan is made again, which a newer manifest causes: the
# manifest's time is set to now first. $RELEASE_FLAGS (default `-c release`) are the build's
# flags, $SCRATCH (default .build, relative to Benchmarks/) its build folder.
set -euo pipefail
cd "$(dirname "$0")"
scratch="${SCRATCH:-.build}"
touch Package.swift
for product in "$@"; do
    swift build ${RELEASE_FLAGS:--c release} --scratch-path "$scratch" --product "$product"
done
