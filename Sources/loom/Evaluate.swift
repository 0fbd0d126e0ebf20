import ArgumentParser
import Foundation
@_spi(Kernels) import Loom
import LoomHDF5
import LoomKeras

/// `loom evaluate`: the loss and metrics of a saved model (`--model`, `--weights`) on a dataset.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a saved model on an HDF5 dataset.")

    @OptionGroup var loggingOptions: LoggingOptions
    @OptionGroup var rankOptions: RankOptions

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var kerasOptions: KerasModelOptions

    @Option(help: "mse, mae, binary_crossentropy or categorical_crossentropy.")
    var loss = "mse"

    @Option(help: "Comma-separated metrics (mae, mse, accuracy).")
    var metrics = "mae"

    @OptionGroup var inferenceOptions: InferenceOptions

    func run() throws {
        BLAS.threadCount = 1
        let model = try kerasOptions.loadRequired()
        let path = try dataOptions.path()
        let dataset = try dataOptions.open(path)
        try model.compile(
            optimizer: SGD(), loss: Loss(kerasName: loss),
            metrics: metrics.split(separator: ",").map { try Metric(kerasName: String($0)) })
        let results = try model.evaluate(
            dataset: dataset, batchSize: inferenceOptions.batchSize, parallelism: inferenceOptions.parallelism)
        guard Job.writesOutput else { return }
        for key in results.keys.sorted(by: { ($0 == "loss" ? 0 : 1, $0) < ($1 == "loss" ? 0 : 1, $1) }) {
            print(String(format: "%@: %.6f", key, results[key]!))
        }
    }
}
