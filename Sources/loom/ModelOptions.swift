import ArgumentParser
import Foundation
import Loom
import LoomKeras

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

/// A model from a Keras file: `--model FILE.keras|FILE.h5|FILE.json [--weights W]`.
struct KerasModelOptions: ParsableArguments {
    @Option(help: "Keras model file: .keras (Keras 3), .h5 (Keras 2 whole model) or .json (config; add --weights).")
    var model: String?

    @Option(help: "Weights to load into --model: .weights.h5 (Keras 3), a Keras 2 .h5, or a .keras file's.")
    var weights: String?

    /// The model the options name, or nil when there is no `--model`.
    func load(seed: UInt64 = 0) throws -> Sequential? {
        guard let model else {
            if weights != nil { throw ValidationError("--weights needs --model (the architecture to load them into)") }
            return nil
        }
        return try Sequential(kerasModel: URL(fileURLWithPath: model), weights: weights.map { URL(fileURLWithPath: $0) }, seed: seed)
    }

    /// The model the options name; `--model` is required.
    func loadRequired() throws -> Sequential {
        guard let model = try load() else { throw ValidationError("--model is required (a .keras, .h5 or .json file)") }
        return model
    }
}
