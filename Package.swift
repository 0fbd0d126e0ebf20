// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Loom",
    products: [
        .library(name: "Loom", targets: ["Loom"]),
        .library(name: "LoomHDF5", targets: ["LoomHDF5"]),
        .library(name: "LoomKeras", targets: ["LoomKeras"]),
        .library(name: "LoomMPI", targets: ["LoomMPI"]),
        .library(name: "ReferenceModels", targets: ["ReferenceModels"]),
        .library(name: "LoomTensorBoard", targets: ["LoomTensorBoard"]),
        .executable(name: "loom", targets: ["loom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System modules: headers and link flags come from pkg-config.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        // Loom's numeric kernels in C, compiled for each x86-64 level and chosen at run time.
        .target(name: "LoomKernels"),
        .target(
            name: "Loom",
            dependencies: ["CBLAS", "LoomKernels", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "LoomHDF5",
            dependencies: ["Loom", "CHDF5", .product(name: "CSV", package: "CSV.swift"), .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "LoomKeras",
            dependencies: ["Loom", "LoomHDF5", "ZIPFoundation", .product(name: "Logging", package: "swift-log")]),
        // Training across processes and hosts: Open MPI's ranks as a Loom ProcessGroup.
        .target(name: "LoomMPI", dependencies: ["Loom", "CMPI", .product(name: "Logging", package: "swift-log")]),
        // TensorBoard event files (its protocol buffers through swift-protobuf, the generated
        // code committed): a target of its own, so the core does not depend on swift-protobuf.
        .target(
            name: "LoomTensorBoard",
            dependencies: ["Loom", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        // The benchmark models B1-B7, shared by `loom bench --reference` and Benchmarks/.
        .target(name: "ReferenceModels", dependencies: ["Loom"]),
        .executableTarget(
            name: "loom",
            dependencies: [
                "Loom", "LoomHDF5", "LoomKeras", "LoomMPI", "LoomTensorBoard", "ReferenceModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by the test targets (temporary folders, error messages, gradient checks) and the Keras fixtures.
        .target(name: "TestSupport", dependencies: ["Loom"], path: "Tests/TestSupport", resources: [.copy("Fixtures")]),
        .testTarget(
            name: "LoomHDF5Tests",
            dependencies: ["LoomHDF5", "CHDF5", "TestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "LoomKerasTests",
            dependencies: ["LoomKeras", "LoomHDF5", "TestSupport"]
        ),
        .testTarget(name: "ReferenceModelsTests", dependencies: ["ReferenceModels"]),
        .testTarget(
            name: "LoomCLITests",
            dependencies: ["Loom", "LoomHDF5", "LoomKeras", "TestSupport", "ZIPFoundation", "CHDF5"]
        ),
        .testTarget(
            name: "LoomTests",
            dependencies: ["Loom", "LoomKeras", "LoomTensorBoard", "TestSupport"]
        ),
    ]
)
