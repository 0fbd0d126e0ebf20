import ArgumentParser
import Foundation
import Loom
import LoomHDF5
import LoomKeras

/// `loom train`: fits a preset model to an HDF5 dataset. With no arguments it trains the
/// default model on the bundled sunspot series and compares it with a naive forecast.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model on an HDF5 dataset.")

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var kerasOptions: KerasModelOptions

    @Option(help: "Passes over the training samples (the default suits the bundled demo data).")
    var epochs = 60

    @Option(help: "Samples per optimizer step (default: a loaded model's fixed batch size, else 32).")
    var batchSize: Int?

    @Option(help: "adam, sgd or rmsprop.")
    var optimizer = "adam"

    @Option(help: "Learning rate (default: the optimizer's Keras default).")
    var lr: Float?

    @Option(help: "mse, mae, binary_crossentropy or categorical_crossentropy.")
    var loss = "mse"

    @Option(help: "Comma-separated metrics to report (mae, mse, accuracy).")
    var metrics = "mae"

    @Option(help: "Fraction of samples, from the end, held out for validation.")
    var validationSplit = 0.2

    @Flag(help: "Keep batches in file order (stateful models always do).")
    var noShuffle = false

    @Option(help: "Worker threads training data-parallel (each batch is cut into one shard per worker).")
    var workers = 1

    @Option(help: "How workers combine their work: gradients (every step) or parameters (every --every steps).")
    var averaging = "gradients"

    @Option(help: "With --averaging parameters: local steps between two averagings.")
    var every = 4

    @Option(help: "Write the trained model for Keras: .keras (model), .weights.h5 (weights) or .json (config).")
    var save: String?

    @Option(help: "Write the per-epoch losses and metrics to this CSV file.")
    var history: String?

    @Flag(help: "Print nothing while training.")
    var quiet = false

    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more") }
        guard batchSize ?? 1 > 0 else { throw ValidationError("--batch-size must be positive") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard modelOptions.units > 0 else { throw ValidationError("--units must be positive") }
        guard ["gradients", "parameters"].contains(averaging) else {
            throw ValidationError("--averaging must be gradients or parameters")
        }
        if let lr, !(lr.isFinite && lr > 0) { throw ValidationError("--lr must be a positive finite number, got \(lr)") }
        guard (0..<1).contains(validationSplit) else { throw ValidationError("--validation-split must be in [0, 1)") }
        guard every >= 1 else { throw ValidationError("--every must be at least 1") }
        if let save, KerasFileName(URL(fileURLWithPath: save)) == nil {
            throw ValidationError("--save \(save): name it .keras (model), .weights.h5 (weights) or .json (config); "
                                  + "Loom does not write Keras 2 .h5 files")
        }
    }

    func run() throws {
        modelOptions.configureBLAS()
        let path = try dataOptions.path()
        // Outputs are checked before the first step: a typo costs a second, not the run.
        let inputs = [path] + kerasOptions.inputPaths
        let saveTarget = try save.map { try OutputFile($0, role: "--save", inputs: inputs) }
        let historyTarget = try history.map { try OutputFile($0, role: "--history", inputs: inputs + [save].compactMap { $0 }) }
        let dataset = try HDF5Dataset(path: path, x: dataOptions.inputName, y: dataOptions.targetName)
        let targetShape = dataset.targetShape ?? []
        let model = try kerasOptions.load(seed: modelOptions.seed)
            ?? modelOptions.makeModel(inputShape: dataset.inputShape, targetShape: targetShape, batchSize: batchSize ?? 32)
        try model.compile(optimizer: Optimizers.named(optimizer, learningRate: lr), loss: Loss(kerasName: loss),
                          metrics: metrics.split(separator: ",").map { try Metric(kerasName: String($0)) })
        if !quiet {
            let what = kerasOptions.model ?? modelOptions.arch.rawValue
            print("Training \(what) on \(path): X \(Shape.describe([dataset.sampleCount] + dataset.inputShape))")
            try model.summary()
        }
        let statefulRun = model.isStateful
        let result = try model.fit(
            dataset: dataset, epochs: epochs, batchSize: batchSize, shuffle: !(noShuffle || statefulRun),
            validationSplit: validationSplit, verbose: quiet ? 0 : 1, resetStatesEachEpoch: statefulRun,
            workers: workers, averaging: averaging == "parameters" ? .parameters(every: every) : .gradients)
        if let saveTarget { try model.save(to: URL(fileURLWithPath: saveTarget.path)) }
        if let historyTarget { try writeHistory(result, to: historyTarget) }
        if !quiet, let validationLoss = result["val_loss"].last {
            try reportBaseline(dataset: dataset, validationLoss: validationLoss)
        }
    }

    private func writeHistory(_ history: History, to output: OutputFile) throws {
        let keys = history.history.keys.sorted { ($0.hasPrefix("val_") ? 1 : 0, $0) < ($1.hasPrefix("val_") ? 1 : 0, $1) }
        var lines = [(["epoch"] + keys).joined(separator: ",")]
        for (row, epoch) in history.epoch.enumerated() {
            lines.append(([String(epoch + 1)] + keys.map { String(history[$0][row]) }).joined(separator: ","))
        }
        try output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// Prints the validation loss next to a naive forecast's: every output predicted as the
    /// target's value at the window's last timestep (files from `loom import csv` record which
    /// feature that is).
    private func reportBaseline(dataset: HDF5Dataset, validationLoss: Double) throws {
        guard let value = try dataset.file.doubleAttribute("target_feature_index")?.first,
              let index = Int(exactly: value), (0..<(dataset.inputShape.last ?? 0)).contains(index),
              let lossKind = try? Loss(kerasName: loss), [.meanSquaredError, .meanAbsoluteError].contains(lossKind) else {
            print(String(format: "Validation loss: %.5f", validationLoss))
            return
        }
        let splitAt = Int((Double(dataset.sampleCount) * (1 - validationSplit)).rounded(.down))
        let rows = Array(splitAt..<dataset.sampleCount)
        let (timesteps, features) = (dataset.inputShape[0], dataset.inputShape[1])
        guard (dataset.targetShape ?? []).count <= 1, dataset.inputShape.count == 2 else {
            print(String(format: "Validation loss: %.5f", validationLoss))
            return
        }
        let outputs = max(1, Shape.count(dataset.targetShape ?? []))
        let x = FloatBuffer(count: rows.count * timesteps * features), y = FloatBuffer(count: rows.count * outputs)
        try dataset.read(rows: rows[...], inputs: x.pointer, targets: y.pointer)
        var naive = [Float](repeating: 0, count: rows.count * outputs)
        for s in 0..<rows.count {
            for k in 0..<outputs { naive[s * outputs + k] = x.pointer[(s * timesteps + timesteps - 1) * features + index] }
        }
        let baseline = lossKind.compute(predictions: naive, targets: y.pointer, logits: nil, count: naive.count,
                                        width: outputs, gradient: nil)
        print(String(format: "Validation loss %.5f against %.5f for the naive forecast (last value repeated): %.1fx better",
                     validationLoss, baseline, baseline / max(validationLoss, .leastNonzeroMagnitude)))
    }
}
