import Foundation
import FuzzInput
@_spi(Kernels) import Loom
import LoomHDF5
import LoomKeras

// Loom's HDF5 readers on well-formed HDF5 files whose names, shapes, sizes, element types,
// attributes and links come from the input (libhdf5 itself is not fuzzed: raw byte mutants
// crash inside it on malformed metadata, which Loom cannot patch). Each file is read as
// training data (`HDF5Dataset`, self-contained only and following other files), as Keras 3
// weights (`loadWeights`) and as a checkpoint.
//
// The input is a recipe: a byte for the number of objects, then per object a byte for its
// name, a byte for its kind (Float32 array, 64-bit words, Float64 vector, attribute, external
// link, virtual dataset, Float32 array only declared), a byte for its rank and two bytes per
// dimension (a dimension byte pair 0xFFFF stands for 2^40, so sizes beyond memory are
// declared). Links and virtual datasets point into a second file, `other.h5`, which holds a
// small X and y when the recipe's last byte is even, or into the file itself.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    var recipe = Recipe(data, size)
    let path = FuzzInput.path("input.weights.h5"), other = FuzzInput.path("other.h5")
    FuzzInput.expectingErrors {
        try? FileManager.default.removeItem(atPath: other)
        guard size == 0 || data[size - 1] % 2 == 0 else { return }
        let file = try HDF5File(path: other, mode: .create)
        try file.write(Tensor(shape: [4, 2, 1], scalars: (0..<8).map { Float($0) / 8 }), as: "X")
        try file.write(Tensor(shape: [4, 1], scalars: [0, 1, 0, 1]), as: "y")
        try file.close()
    }
    let names = [
        "X", "y", "layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0", "floats/parameters",
        "words/position", "words/generator", "reals/totals", "reals/learning_rate", "layers/lstm/cell/vars/0",
    ]
    let attributes = ["format", "version", "checksum", "target_feature_index", "texts"]
    FuzzInput.expectingErrors {
        let file = try HDF5File(path: path, mode: .create)
        for _ in 0..<(recipe.byte() % 8) {
            let name = names[Int(recipe.byte()) % names.count]
            let kind = recipe.byte() % 7
            let rank = Int(recipe.byte() % 4) + 1
            let shape = (0..<rank).map { _ in recipe.dimension() }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
            switch kind {
            case 0 where count <= 4096 && count >= 0:
                try file.write(Tensor(shape: shape, scalars: (0..<count).map { _ in recipe.float() }), as: name)
            case 0:
                try file.createDataset(name, shape: shape)
            case 1:
                try file.write(words: (0..<min(shape[0], 64)).map { _ in UInt64(recipe.byte()) << 40 }, as: name)
            case 2:
                try file.write(reals: (0..<min(shape[0], 64)).map { _ in Double(recipe.float()) }, as: name)
            case 4:
                let target = names[Int(recipe.byte()) % names.count]
                try file.createExternalLink(name, to: "/" + target, in: recipe.byte() % 2 == 0 ? other : path)
            case 5:
                let target = names[Int(recipe.byte()) % names.count]
                try file.createVirtualDataset(name, shape: shape, source: recipe.byte() % 2 == 0 ? other : ".", dataset: "/" + target)
            case 6:
                try file.createDataset(name, shape: shape)
            default:
                let attribute = attributes[Int(recipe.byte()) % attributes.count]
                if recipe.byte() % 2 == 0 {
                    try file.setAttribute(attribute, (0..<min(shape[0], 8)).map { _ in Double(recipe.float()) })
                } else {
                    try file.setAttribute(attribute, String(decoding: (0..<min(shape[0], 16)).map { _ in recipe.byte() }, as: UTF8.self))
                }
            }
        }
    }
    for follows in [false, true] {
        FuzzInput.expectingErrors {
            let dataset = try HDF5Dataset(path: path, x: "X", y: "y", followsOtherFiles: follows)
            let inputs = Shape.count(dataset.inputShape), targets = Shape.count(dataset.targetShape ?? [])
            guard dataset.sampleCount > 0, inputs <= 1 << 20, targets <= 1 << 20 else { return }
            let x = FloatBuffer(count: inputs), y = FloatBuffer(count: max(targets, 1))
            try dataset.read(rows: [dataset.sampleCount - 1][...], inputs: x.pointer, targets: y.pointer)
        }
    }
    FuzzInput.expectingErrors {
        let model = Sequential {
            Input(shape: [3]); Dense(2); Dense(1)
        }
        try model.loadWeights(from: URL(fileURLWithPath: path))
    }
    FuzzInput.expectingErrors { _ = try CheckpointFile.read(path) }
    return 0
}

/// The input read front to back; zeros once it runs out.
struct Recipe {
    private let data: UnsafePointer<UInt8>
    private let size: Int
    private var offset = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        self.data = data
        self.size = size
    }

    mutating func byte() -> UInt8 {
        guard offset < size else { return 0 }
        defer { offset += 1 }
        return data[offset]
    }

    /// Two bytes; 0xFFFF declares 2^40.
    mutating func dimension() -> Int {
        let value = Int(byte()) << 8 | Int(byte())
        return value == 0xFFFF ? 1 << 40 : value % 64
    }

    mutating func float() -> Float { Float(Int8(bitPattern: byte())) / 8 }
}
