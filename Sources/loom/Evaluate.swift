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

    @Option(
        help: ArgumentHelp(
            "mse, mae, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, huber or log_cosh "
                + "(default: a compiled --model's, as Keras's evaluate, else mse)."))
    var loss: String?

    @Option(
        help: ArgumentHelp(
            "Comma-separated metrics: mae, mse, rmse, mape, r2_score, accuracy, binary_accuracy, categorical_accuracy, "
                + "sparse_categorical_accuracy (default: a compiled --model's, else accuracy with a cross-entropy "
                + "loss, mae with others)."))
    var metrics: String?

    @OptionGroup var inferenceOptions: InferenceOptions

    func run() throws {
        BLAS.threadCount = 1
        let model = try kerasOptions.loadRequired(forPrediction: true)
        let path = try dataOptions.path()
        let dataset = try dataOptions.open(path)
        // Keras's evaluate reports the loss and metrics the model was compiled with.
        let compiled: (loss: Loss, metrics: [Metric], metricNames: [String])?
        do {
            // --metrics replaces the file's: one Loom does not have is then no obstacle.
            compiled =
                try loss == nil
                ? kerasOptions.model.flatMap {
                    try KerasCompileConfig.readEvaluation(from: URL(fileURLWithPath: $0), readsMetrics: metrics == nil)
                } : nil
        } catch {
            throw LoomError.invalidArgument("\(error); give --loss (and --metrics) to evaluate it with others")
        }
        let lossKind = try loss.map { try Loss(kerasName: $0) } ?? compiled?.loss ?? .meanSquaredError
        // Each metric is reported under its name as given (Keras's), or as the file names it.
        let given = try metrics.map { try MetricList(parsing: $0) }
        let metricKinds = given?.metrics ?? (loss == nil ? compiled?.metrics : nil) ?? [Metric.commandLineDefault(for: lossKind)]
        let metricNames = given?.names ?? (loss == nil ? compiled?.metricNames : nil)
        try model.compile(optimizer: SGD(), loss: lossKind, metrics: metricKinds, metricNames: metricNames)
        let results = try model.evaluate(
            dataset: dataset, batchSize: inferenceOptions.batchSize, parallelism: inferenceOptions.parallelism)
        guard Job.writesOutput else { return }
        for key in results.keys.sorted(by: { ($0 == "loss" ? 0 : 1, $0) < ($1 == "loss" ? 0 : 1, $1) }) {
            print(String(format: "%@: %.6f", key, results[key]!))
        }
    }
}
