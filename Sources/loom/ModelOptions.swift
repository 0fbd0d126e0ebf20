import ArgumentParser
import Foundation
@_spi(Kernels) import Loom
import LoomHDF5
import LoomKeras
import ReferenceModels

extension ModelPreset: ExpressibleByArgument {}

extension Bidirectional.MergeMode: ExpressibleByArgument {}

extension Recurrence.Cell: ExpressibleByArgument {}

/// Where the data is: an HDF5 file and the names of its X and y datasets.
struct DataOptions: ParsableArguments {
    @Option(help: "HDF5 file with the samples (default: the bundled datasets/sunspots.h5).")
    var data: String?

    @Option(name: .customLong("x"), help: "Name of the inputs dataset, (samples, timesteps, features).")
    var inputName = "X"

    @Option(name: .customLong("y"), help: "Name of the targets dataset, (samples, outputs).")
    var targetName = "y"

    @Flag(help: "Let the data's datasets take values from other files (HDF5 external links, virtual datasets).")
    var allowExternalData = false

    @Option(help: "Name of an integer dataset (samples) of each sequence's valid steps, padded: the mask of the inputs.")
    var lengths: String?

    @Option(help: "The side of the sequences --lengths's padding is on: pre or post (default: its padding attribute, else pre).")
    var padding: String?

    @Option(help: "Name of a dataset (samples) or (samples, timesteps) of loss weights, as Keras's sample_weight.")
    var sampleWeights: String?

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

    /// Opens the data at `path` (the `--data` file), with its targets when `targets`; under
    /// `mpirun` every rank learns whether any could not (`Job.failingTogether`).
    func open(_ path: String, targets: Bool = true) throws -> HDF5Dataset {
        if padding != nil && lengths == nil { throw ValidationError("--padding says the side of --lengths's padding: give --lengths") }
        let side = try padding.map { side in
            guard let padding = SequenceLengths.Padding(rawValue: side) else {
                throw ValidationError("--padding must be pre or post, got '\(side)'")
            }
            return padding
        }
        return try Job.failingTogether("open --data \(path)") {
            let dataset = try HDF5Dataset(
                path: path, x: inputName, y: targets ? targetName : nil, followsOtherFiles: allowExternalData,
                lengths: lengths, padding: side, sampleWeights: targets ? sampleWeights : nil)
            guard dataset.sampleCount > 0 else {
                throw LoomError.invalidArgument("\(path): dataset '\(inputName)' holds no samples (its first axis is 0)")
            }
            if let shape = dataset.targetShape, shape.contains(0) {
                throw LoomError.invalidArgument(
                    "\(path): dataset '\(targetName)' has shape \(Shape.describe([dataset.sampleCount] + shape)): no target values")
            }
            return dataset
        }
    }
}

/// The batch size and worker threads of `loom evaluate` and `loom predict`.
struct InferenceOptions: ParsableArguments {
    @Option(help: "Samples per batch (default: the model's fixed batch size, else 32).")
    var batchSize: Int?

    @Option(help: "Worker threads (each batch is cut into one shard per worker, and per rank under mpirun).")
    var workers = 1

    /// The most worker threads (or fixed shards) a process may ask for.
    static let mostWorkers = 4096

    /// Refuses a batch size or worker count out of range before any work.
    func validate() throws {
        guard batchSize ?? 1 > 0 else { throw ValidationError("--batch-size must be positive") }
        guard (1...InferenceOptions.mostWorkers).contains(workers) else {
            throw ValidationError("--workers must be in 1...\(InferenceOptions.mostWorkers), got \(workers)")
        }
    }

    /// The workers, on each of the job's ranks under `mpirun`.
    var parallelism: Parallelism { Parallelism(workers: workers, processGroup: Job.group) }
}

/// How the model is built: a preset and its size.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model preset: \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: ModelPreset = .vanilla

    @Option(help: "Units of each LSTM layer.")
    var units = 32

    @Option(help: "Seed of every random draw (weights, shuffles).")
    var seed: UInt64 = 0

    @Option(help: "How the bidirectional preset merges its two directions: concat, sum, mul or ave.")
    var mergeMode: Bidirectional.MergeMode = .concat

    @Option(help: "Filters of the convolutional presets' Conv2D.")
    var filters = 8

    @Option(help: "The presets' recurrent cell: lstm, gru or simplernn.")
    var cell: Recurrence.Cell = .lstm

    @Option(help: "Recurrent layers stacked in the preset (default: its own, 4 for stacked, else 1; in the encoder and the decoder each).")
    var layers: Int?

    @Option(help: "Fraction of each recurrent layer's inputs dropped while training (Keras's dropout).")
    var dropout: Float = 0

    @Option(help: "Fraction of each recurrent layer's state dropped while training (Keras's recurrent_dropout).")
    var recurrentDropout: Float = 0

    @Option(
        help:
            "The last Dense layer's activation (default: sigmoid with --loss binary_crossentropy, softmax with the categorical ones, else linear)."
    )
    var outputActivation: String?

    @Option(help: "With --loss sparse_categorical_crossentropy: the classes, the width of the preset's last layer.")
    var classes: Int?

    /// The preset and, when not LSTM, its cell: "stacked", "vanilla (gru)".
    var presetTitle: String { arch.rawValue + (cell == .lstm ? "" : " (\(cell.rawValue))") }

    /// The cell, layer count and dropout the options give.
    var recurrence: Recurrence {
        Recurrence(cell: cell, layers: layers, dropout: dropout, recurrentDropout: recurrentDropout)
    }

    /// The preset for data of these per-sample shapes, with an output activation that suits
    /// `loss` unless `--output-activation` names one.
    func makeModel(inputShape: [Int], targetShape: [Int], batchSize: Int, loss: Loss? = nil) throws -> Sequential {
        var targetShape = targetShape
        if loss == .sparseCategoricalCrossentropy {
            // Class indices: one per sample (or step); the model outputs one score per class.
            guard let classes else {
                throw ValidationError("--loss sparse_categorical_crossentropy on a preset needs --classes N (the width of its output)")
            }
            if targetShape.last == 1 { targetShape.removeLast() }
            targetShape.append(classes)
        } else if classes != nil {
            throw ValidationError("--classes sizes the output for class-index targets: give it with --loss sparse_categorical_crossentropy")
        }
        return try arch.makeModel(
            inputShape: inputShape, targetShape: targetShape, units: units, batchSize: batchSize,
            seed: seed, mergeMode: mergeMode, filters: filters, outputActivation: try activation(for: loss),
            maskValue: maskValue, recurrence: recurrence)
    }

    /// `--output-activation`, else the one `loss` expects of its predictions.
    private func activation(for loss: Loss?) throws -> Activation {
        if let outputActivation { return try Activation(kerasName: outputActivation) }
        switch loss {
        case .binaryCrossentropy: return .sigmoid
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy: return .softmax
        default: return .linear
        }
    }

    @Option(
        parsing: .unconditional,
        help: "Put a Masking layer first: a timestep whose every feature is this value is padding (saved models carry it).")
    var maskValue: Float?

    @Option(
        help:
            "OpenBLAS threads per matrix product (0: OpenBLAS's own default). One is best for small models: more make tiny products spin and yield."
    )
    var blasThreads = 1

    /// Refuses sizes out of range before any work (they would overflow a count or a C int).
    func validate() throws {
        guard (1...Int(Int32.max)).contains(units) else { throw ValidationError("--units must be in 1...\(Int32.max), got \(units)") }
        guard (1...Int(Int32.max)).contains(filters) else {
            throw ValidationError("--filters must be in 1...\(Int32.max), got \(filters)")
        }
        if let outputActivation {
            do { _ = try Activation(kerasName: outputActivation) } catch { throw ValidationError("--output-activation: \(error)") }
        }
        if let classes, !(2...Int(Int32.max)).contains(classes) {
            throw ValidationError("--classes must be in 2...\(Int32.max), got \(classes)")
        }
        do { try recurrence.check() } catch { throw ValidationError("--cell, --layers, --dropout: \(error)") }
        if let layers, layers > ModelOptions.mostLayers {
            throw ValidationError("--layers must be in 1...\(ModelOptions.mostLayers), got \(layers)")
        }
        guard (0...ModelOptions.mostBLASThreads).contains(blasThreads) else {
            throw ValidationError("--blas-threads must be in 0...\(ModelOptions.mostBLASThreads), got \(blasThreads)")
        }
    }

    /// The most recurrent layers `--layers` stacks.
    static let mostLayers = 1024

    /// The most OpenBLAS threads `--blas-threads` takes.
    static let mostBLASThreads = 1024

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

    /// The files these options read, which no output may replace.
    var inputPaths: [String] { [model, weights].compactMap { $0 } }

    /// The model the options name, or nil when there is no `--model`; its compile config is
    /// not read. `forPrediction` accepts settings that change training alone (regularizers,
    /// constraints, frozen layers: `Sequential(kerasModel:forPrediction:)`).
    func load(seed: UInt64 = 0, forPrediction: Bool = false) throws -> Sequential? {
        guard let model else {
            if weights != nil { throw ValidationError("--weights needs --model (the architecture to load them into)") }
            return nil
        }
        return try Sequential(
            kerasModel: URL(fileURLWithPath: model), weights: weights.map { URL(fileURLWithPath: $0) }, seed: seed, compile: false,
            forPrediction: forPrediction)
    }

    /// The model compiled as its file says (optimizer state included), for training. A
    /// compile config Loom cannot train whole comes uncompiled, with the parts of it that the
    /// command line does not replace (`replacing`: the optimizer, the loss, the metrics),
    /// read alone; a part that is kept and cannot be trained is refused by name.
    func loadCompiled(
        seed: UInt64, replacing: (optimizer: Bool, loss: Bool, metrics: Bool), forPrediction: Bool = false
    ) throws -> (model: Sequential, kept: KerasCompileConfig.KeptParts?)? {
        guard let model else { return try load(seed: seed, forPrediction: forPrediction).map { ($0, nil) } }
        let url = URL(fileURLWithPath: model)
        do {
            _ = try KerasCompileConfig.read(from: url)
        } catch {
            let uncompiled = try load(seed: seed, forPrediction: forPrediction)!
            // Replaced whole, the compile config is not read at all (as Keras's `compile` replaces it).
            if replacing.optimizer && replacing.loss && replacing.metrics { return (uncompiled, nil) }
            do {
                let kept = try KerasCompileConfig.readKept(
                    from: url, optimizer: !replacing.optimizer, loss: !replacing.loss, metrics: !replacing.metrics)
                return (uncompiled, kept)
            } catch {
                throw LoomError.invalidArgument("\(error); give --optimizer, --loss or --metrics for the part Loom cannot train")
            }
        }
        let compiled = try Sequential(
            kerasModel: url, weights: weights.map { URL(fileURLWithPath: $0) }, seed: seed, compile: true, forPrediction: forPrediction)
        return (compiled, nil)
    }

    /// The model the options name; `--model` is required, and so are weights: a config alone
    /// (JSON) without `--weights` would be scored or run on fresh random weights.
    /// `forPrediction` as `load`'s.
    func loadRequired(forPrediction: Bool) throws -> Sequential {
        if let model, weights == nil, try !Sequential.kerasFileHoldsWeights(URL(fileURLWithPath: model)) {
            throw ValidationError(
                "--model \(model) is a config without weights; pass them with --weights "
                    + "(a .weights.h5, Keras 2 .h5 or .keras file)")
        }
        guard let model = try load(forPrediction: forPrediction) else {
            throw ValidationError("--model is required (a .keras, .h5 or .json file)")
        }
        return model
    }
}
