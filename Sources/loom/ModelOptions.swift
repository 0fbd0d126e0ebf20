import ArgumentParser
import Foundation
import Loom
import LoomHDF5

/// The model presets `--arch` names, sized from the data's shapes.
enum Architecture: String, ExpressibleByArgument, CaseIterable {
    /// LSTM(units) -> Dense(outputs).
    case vanilla
    /// LSTM(units, sequences) x3 -> LSTM(units) -> Dense(outputs).
    case stacked
    /// LSTM(units, stateful) -> Dense(outputs), batches in file order.
    case stateful

    /// The model for inputs `(timesteps, features)` and `outputs` values per sample.
    func makeModel(inputShape: [Int], outputs: Int, units: Int, batchSize: Int, seed: UInt64) throws -> Sequential {
        guard inputShape.count == 2 else {
            throw LoomError.shapeMismatch(context: "--arch \(rawValue)", expected: "X of (samples, timesteps, features)",
                                          found: [-1] + inputShape)
        }
        switch self {
        case .vanilla:
            return Sequential(seed: seed) { Input(shape: inputShape); LSTM(units); Dense(outputs) }
        case .stacked:
            return Sequential(seed: seed) {
                Input(shape: inputShape)
                LSTM(units, returnSequences: true)
                LSTM(units, returnSequences: true)
                LSTM(units, returnSequences: true)
                LSTM(units)
                Dense(outputs)
            }
        case .stateful:
            return Sequential(seed: seed) {
                Input(shape: inputShape, batchSize: batchSize)
                LSTM(units, stateful: true)
                Dense(outputs)
            }
        }
    }
}

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

    @Option(help: "OpenBLAS threads per matrix product (0: OpenBLAS's own default). One is best for small models: more make tiny products spin and yield.")
    var blasThreads = 1

    /// Applies `--blas-threads`.
    func configureBLAS() {
        if blasThreads > 0 { BLAS.threadCount = blasThreads }
    }
}

/// What `loom train --save` writes besides the weights, so `evaluate` and `predict` rebuild
/// the same model: file attributes `loom_arch`, `loom_units`, `loom_input_shape`,
/// `loom_outputs`, `loom_batch_size`.
struct SavedModel {
    let architecture: Architecture
    let units: Int
    let inputShape: [Int]
    let outputs: Int
    let batchSize: Int

    func makeModel() throws -> Sequential {
        try architecture.makeModel(inputShape: inputShape, outputs: outputs, units: units, batchSize: batchSize, seed: 0)
    }

    func save(_ model: Sequential, to path: String) throws {
        let file = try HDF5File(path: path, mode: .create)
        try WeightsFile.save(model, to: file)
        try file.setAttribute("loom_arch", architecture.rawValue)
        try file.setAttribute("loom_units", [Double(units)])
        try file.setAttribute("loom_input_shape", inputShape.map(Double.init))
        try file.setAttribute("loom_outputs", [Double(outputs)])
        try file.setAttribute("loom_batch_size", [Double(batchSize)])
    }

    /// The model described by a weights file written by `loom train --save`, with its weights.
    static func load(from path: String) throws -> (SavedModel, Sequential) {
        let file = try HDF5File(path: path)
        guard let name = try file.stringAttribute("loom_arch"), let architecture = Architecture(rawValue: name),
              let units = try file.doubleAttribute("loom_units")?.first,
              let input = try file.doubleAttribute("loom_input_shape"),
              let outputs = try file.doubleAttribute("loom_outputs")?.first,
              let batch = try file.doubleAttribute("loom_batch_size")?.first else {
            throw HDF5Error(file: path, "was not written by `loom train --save` (no loom_arch/loom_units/... attributes)")
        }
        let saved = SavedModel(architecture: architecture, units: Int(units), inputShape: input.map { Int($0) },
                               outputs: Int(outputs), batchSize: Int(batch))
        let model = try saved.makeModel()
        try WeightsFile.load(into: model, from: file)
        return (saved, model)
    }
}
