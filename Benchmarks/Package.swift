// swift-tools-version: 6.1
// Loom's benchmarks, kept out of the main package so `make test` never builds them.
//   swift build -c release --product loom-throughput    (the side-by-side comparison runner)
//   swift build -c release --product loom-hdf5-bench    (HDF5 streaming: throughput, memory bound)
//   swift package benchmark                              (ordo-one suites: steps and kernels)
import PackageDescription

let package = Package(
    name: "LoomBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Loom", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(name: "loom-throughput", dependencies: [.product(name: "ReferenceModels", package: "Loom")]),
        .executableTarget(
            name: "loom-hdf5-bench",
            dependencies: [.product(name: "ReferenceModels", package: "Loom"), .product(name: "LoomHDF5", package: "Loom")]
        ),
        .executableTarget(
            name: "LoomBenchmarks",
            dependencies: [
                .product(name: "ReferenceModels", package: "Loom"), .product(name: "Loom", package: "Loom"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LoomBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
