// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Loom",
    products: [
        .library(name: "Loom", targets: ["Loom"]),
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
        .target(
            name: "Loom",
            dependencies: ["CBLAS"]
        ),
        .testTarget(
            name: "LoomTests",
            dependencies: ["Loom"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
