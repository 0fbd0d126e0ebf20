// swift-tools-version: 6.1
// libFuzzer targets for Loom's readers of untrusted files, kept out of the main package: the
// fuzzer runtime brings its own `main`, and `make fuzz` builds every module with coverage and
// AddressSanitizer (-sanitize=fuzzer,address). Each target reads one input as a file of its
// kind; Corpus/<name> holds its seeds and every crash input ever found.
import PackageDescription

let package = Package(
    name: "LoomFuzz",
    dependencies: [
        .package(name: "Loom", path: ".."), .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        .target(name: "FuzzInput", dependencies: [.product(name: "Loom", package: "Loom")]),
        .executableTarget(name: "fuzz-npy", dependencies: ["FuzzInput", .product(name: "LoomHDF5", package: "Loom")]),
        .executableTarget(name: "fuzz-csv", dependencies: ["FuzzInput", .product(name: "LoomHDF5", package: "Loom")]),
        .executableTarget(
            name: "fuzz-keras-config", dependencies: ["FuzzInput", .product(name: "LoomKeras", package: "Loom")]),
        .executableTarget(
            name: "fuzz-keras-archive",
            dependencies: [
                "FuzzInput", .product(name: "LoomKeras", package: "Loom"), .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["FuzzInput", .product(name: "LoomHDF5", package: "Loom")]),
        .executableTarget(
            name: "fuzz-hdf5",
            dependencies: ["FuzzInput", .product(name: "LoomHDF5", package: "Loom"), .product(name: "LoomKeras", package: "Loom")]
        ),
    ]
)
