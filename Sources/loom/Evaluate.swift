import ArgumentParser
import Foundation
import Loom
import LoomHDF5

/// `loom evaluate`: the loss and metrics of saved weights on a dataset.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate saved weights on an HDF5 dataset.")

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Weights written by `loom train --save`.")
    var weights: String

    @Option(help: "mse, mae, binary_crossentropy or categorical_crossentropy.")
    var loss = "mse"

    @Option(help: "Comma-separated metrics (mae, mse, accuracy).")
    var metrics = "mae"

    @Option(help: "Samples per batch (default: the batch size trained with).")
    var batchSize: Int?

    func run() throws {
        BLAS.threadCount = 1
        let (saved, model) = try SavedModel.load(from: weights)
        let dataset = try HDF5Dataset(path: try dataOptions.path(), x: dataOptions.inputName, y: dataOptions.targetName)
        try model.compile(optimizer: SGD(), loss: Loss(kerasName: loss),
                          metrics: metrics.split(separator: ",").map { try Metric(kerasName: String($0)) })
        let results = try model.evaluate(dataset: dataset, batchSize: batchSize ?? saved.batchSize)
        for key in results.keys.sorted(by: { ($0 == "loss" ? 0 : 1, $0) < ($1 == "loss" ? 0 : 1, $1) }) {
            print(String(format: "%@: %.6f", key, results[key]!))
        }
    }
}

/// `loom predict`: runs saved weights over a dataset's inputs and writes the outputs.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Predict with saved weights; write the outputs to HDF5.")

    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Weights written by `loom train --save`.")
    var weights: String

    @Option(help: "HDF5 file to create, with dataset 'predictions' (samples, outputs).")
    var out: String

    @Option(help: "Samples per batch (default: the batch size trained with).")
    var batchSize: Int?

    func run() throws {
        BLAS.threadCount = 1
        let (saved, model) = try SavedModel.load(from: weights)
        let dataset = try HDF5Dataset(path: try dataOptions.path(), x: dataOptions.inputName, y: nil)
        let predictions = try model.predict(dataset: dataset, batchSize: batchSize ?? saved.batchSize)
        let file = try HDF5File(path: out, mode: .create)
        try file.write(predictions, as: "predictions")
        print("wrote \(Shape.describe(predictions.shape)) predictions to \(out)")
    }
}

/// `loom summary`: the Keras-style table of a saved model, or of a preset sized for a dataset.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a model's layers, output shapes and parameters.")

    @Option(help: "Weights written by `loom train --save` (else: --arch sized from --data).")
    var weights: String?

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Batch size (shown for the stateful preset).")
    var batchSize = 32

    func run() throws {
        if let weights {
            try SavedModel.load(from: weights).1.summary()
            return
        }
        let dataset = try HDF5Dataset(path: try dataOptions.path(), x: dataOptions.inputName, y: dataOptions.targetName)
        try modelOptions.makeModel(inputShape: dataset.inputShape, targetShape: dataset.targetShape ?? [], batchSize: batchSize)
            .summary()
    }
}
