import ArgumentParser
import Foundation
import Loom
import LoomHDF5

/// The model presets `--arch` names, sized from the data's shapes: inputs `(timesteps,
/// features)`, targets `(outputs)` or, for the sequence presets, `(steps, outputs)`.
enum Architecture: String, ExpressibleByArgument, CaseIterable {
    /// LSTM on one timestep (1, features) -> Dense(outputs).
    case oneToOne = "one-to-one"
    /// LSTM(units) -> Dense(outputs).
    case vanilla
    /// The same as vanilla, by the notes' name.
    case manyToOne = "many-to-one"
    /// LSTM(units, sequences) -> TimeDistributed(Dense(outputs)); y (samples, timesteps, outputs).
    case manyToMany = "many-to-many"
    /// LSTM(units) -> RepeatVector(steps) -> LSTM(units, sequences) -> TimeDistributed(Dense(outputs));
    /// y (samples, steps, outputs), any number of steps.
    case encoderDecoder = "encoder-decoder"
    /// LSTM(units, sequences) x3 -> LSTM(units) -> Dense(outputs).
    case stacked
    /// Bidirectional(LSTM(units), merge mode) -> Dense(outputs).
    case bidirectional
    /// LSTM(units, stateful) -> Dense(outputs), batches in file order.
    case stateful
    /// An image (height, width, channels) through Conv2D(filters, 3x3, relu) -> MaxPooling2D(2x2)
    /// -> Flatten -> RepeatVector(steps) -> LSTM(units, sequences) -> TimeDistributed(Dense(outputs)).
    case oneToMany = "one-to-many"
    /// Image sequences (timesteps, height, width, channels) through TimeDistributed Conv2D(filters,
    /// 3x3, relu), MaxPooling2D(2x2) and Flatten -> LSTM(units) -> Dense(outputs).
    case cnnLSTM = "cnn-lstm"

    /// The model for per-sample inputs and targets of these shapes.
    func makeModel(
        inputShape: [Int], targetShape: [Int], units: Int, batchSize: Int, seed: UInt64,
        mergeMode: Bidirectional.MergeMode = .concat, filters: Int = 8
    ) throws -> Sequential {
        let expectedRank = self == .oneToMany ? 3 : self == .cnnLSTM ? 4 : 2
        guard inputShape.count == expectedRank else {
            let expected = ["(samples, timesteps, features)", "(samples, height, width, channels)",
                            "(samples, timesteps, height, width, channels)"][expectedRank - 2]
            throw LoomError.shapeMismatch(context: "--arch \(rawValue)", expected: "X of \(expected)", found: [-1] + inputShape)
        }
        let sequenceTargets = [.manyToMany, .encoderDecoder, .oneToMany].contains(self)
        guard sequenceTargets ? targetShape.count == 2 : targetShape.count <= 1 else {
            throw LoomError.shapeMismatch(
                context: "--arch \(rawValue): y", expected: sequenceTargets ? "(samples, steps, outputs)" : "(samples, outputs)",
                found: [-1] + targetShape)
        }
        if self == .oneToOne, inputShape[0] != 1 {
            throw LoomError.shapeMismatch(context: "--arch one-to-one: X", expected: "(samples, 1, features)", found: [-1] + inputShape)
        }
        if self == .manyToMany, targetShape[0] != inputShape[0] {
            throw LoomError.shapeMismatch(context: "--arch many-to-many: y", expected: "(samples, \(inputShape[0]), outputs)",
                                          found: [-1] + targetShape)
        }
        let outputs = targetShape.last ?? 1
        switch self {
        case .oneToOne, .vanilla, .manyToOne:
            return Sequential(seed: seed) { Input(shape: inputShape); LSTM(units); Dense(outputs) }
        case .manyToMany:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                LSTM(units, returnSequences: true)
                TimeDistributed(Dense(outputs))
            }
        case .encoderDecoder:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                LSTM(units)
                RepeatVector(targetShape[0])
                LSTM(units, returnSequences: true)
                TimeDistributed(Dense(outputs))
            }
        case .stacked:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                LSTM(units, returnSequences: true)
                LSTM(units, returnSequences: true)
                LSTM(units, returnSequences: true)
                LSTM(units)
                Dense(outputs)
            }
        case .bidirectional:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                Bidirectional(LSTM(units), mergeMode: mergeMode)
                Dense(outputs)
            }
        case .stateful:
            return Sequential(seed: seed) {
                Input(shape: inputShape, batchSize: batchSize)
                LSTM(units, stateful: true)
                Dense(outputs)
            }
        case .oneToMany:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                Conv2D(filters, kernelSize: (3, 3), activation: .relu)
                MaxPooling2D(poolSize: (2, 2))
                Flatten()
                RepeatVector(targetShape[0])
                LSTM(units, returnSequences: true)
                TimeDistributed(Dense(outputs))
            }
        case .cnnLSTM:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                TimeDistributed(Conv2D(filters, kernelSize: (3, 3), activation: .relu))
                TimeDistributed(MaxPooling2D(poolSize: (2, 2)))
                TimeDistributed(Flatten())
                LSTM(units)
                Dense(outputs)
            }
        }
    }
}

extension Bidirectional.MergeMode: ExpressibleByArgument {}

/// Where the data is: an HDF5 file and the names of its X and y datasets.
struct DataOptions: ParsableArguments {
    @Option(help: "HDF5 file with the samples (default: the bundled datasets/sunspots.h5).")
    var data: String?

    @Option(name: .customLong("x"), help: "Name of the inputs dataset, (samples, timesteps, features).")
    var inputName = "X"

    @Option(name: .customLong("y"), help: "Name of the targets dataset, (samples, outputs).")
    var targetName = "y"

    /// The data file: `--data`, else the bundled sunspot series, looked for from the current folder
    /// and from the executable's (a release build lives in `.build/release/`).
    func path() throws -> String {
        if let data { return data }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            "datasets/sunspots.h5",
            executable.appendingPathComponent("../../datasets/sunspots.h5").standardized.path,
            executable.appendingPathComponent("../../../datasets/sunspots.h5").standardized.path,
        ]
        guard let found = candidates.first(where: FileManager.default.fileExists) else {
            throw ValidationError("no --data given and the bundled datasets/sunspots.h5 was not found; run from the repository root")
        }
        return found
    }
}

/// How the model is built: a preset and its size.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model preset: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: Architecture = .vanilla

    @Option(help: "Units of each LSTM layer.")
    var units = 32

    @Option(help: "Seed of every random draw (weights, shuffles).")
    var seed: UInt64 = 0

    @Option(help: "How the bidirectional preset merges its two directions: concat, sum, mul or ave.")
    var mergeMode: Bidirectional.MergeMode = .concat

    @Option(help: "Filters of the convolutional presets' Conv2D.")
    var filters = 8

    /// The preset for data of these per-sample shapes.
    func makeModel(inputShape: [Int], targetShape: [Int], batchSize: Int) throws -> Sequential {
        try arch.makeModel(inputShape: inputShape, targetShape: targetShape, units: units, batchSize: batchSize,
                           seed: seed, mergeMode: mergeMode, filters: filters)
    }

    @Option(help: "OpenBLAS threads per matrix product (0: OpenBLAS's own default). One is best for small models: more make tiny products spin and yield.")
    var blasThreads = 1

    /// Applies `--blas-threads`.
    func configureBLAS() {
        if blasThreads > 0 { BLAS.threadCount = blasThreads }
    }
}

/// What `loom train --save` writes besides the weights, so `evaluate` and `predict` rebuild
/// the same model: file attributes `loom_arch`, `loom_units`, `loom_input_shape`,
/// `loom_target_shape`, `loom_batch_size`, `loom_merge_mode`, `loom_filters`.
struct SavedModel {
    let architecture: Architecture
    let units: Int
    let inputShape: [Int]
    let targetShape: [Int]
    let batchSize: Int
    let mergeMode: Bidirectional.MergeMode
    let filters: Int

    func makeModel() throws -> Sequential {
        try architecture.makeModel(inputShape: inputShape, targetShape: targetShape, units: units, batchSize: batchSize,
                                   seed: 0, mergeMode: mergeMode, filters: filters)
    }

    func save(_ model: Sequential, to path: String) throws {
        let file = try HDF5File(path: path, mode: .create)
        try WeightsFile.save(model, to: file)
        try file.setAttribute("loom_arch", architecture.rawValue)
        try file.setAttribute("loom_units", [Double(units)])
        try file.setAttribute("loom_input_shape", inputShape.map(Double.init))
        try file.setAttribute("loom_target_shape", targetShape.map(Double.init))
        try file.setAttribute("loom_batch_size", [Double(batchSize)])
        try file.setAttribute("loom_merge_mode", mergeMode.rawValue)
        try file.setAttribute("loom_filters", [Double(filters)])
    }

    /// The model described by a weights file written by `loom train --save`, with its weights.
    static func load(from path: String) throws -> (SavedModel, Sequential) {
        let file = try HDF5File(path: path)
        guard let name = try file.stringAttribute("loom_arch"), let architecture = Architecture(rawValue: name),
              let units = try file.doubleAttribute("loom_units")?.first,
              let input = try file.doubleAttribute("loom_input_shape"),
              let target = try file.doubleAttribute("loom_target_shape"),
              let batch = try file.doubleAttribute("loom_batch_size")?.first,
              let merge = try file.stringAttribute("loom_merge_mode").flatMap(Bidirectional.MergeMode.init(rawValue:)),
              let filters = try file.doubleAttribute("loom_filters")?.first else {
            throw HDF5Error(file: path, "was not written by `loom train --save` (no loom_arch/loom_units/... attributes)")
        }
        // Whole, positive sizes only: a damaged attribute must not reach Int(_:) as NaN or 1e300.
        func size(_ value: Double) throws -> Int {
            guard let size = Int(exactly: value), size > 0, size < 1 << 31 else {
                throw HDF5Error(file: path, "holds a bad size \(value) in its loom_* attributes")
            }
            return size
        }
        let saved = SavedModel(architecture: architecture, units: try size(units), inputShape: try input.map(size),
                               targetShape: try target.map(size), batchSize: try size(batch), mergeMode: merge,
                               filters: try size(filters))
        let model = try saved.makeModel()
        try WeightsFile.load(into: model, from: file)
        return (saved, model)
    }
}
