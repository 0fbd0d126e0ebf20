import ArgumentParser
import Dispatch
import Foundation
import Loom
import LoomHDF5

/// `loom time-to-loss`: the figure large-batch users compare. Trains the same model (same
/// seed and data) at each batch size (rows an update, as `--accumulate` micro-batches) and
/// worker count with the optimizer options (the large-batch recipe among them), and reports for each the epochs, updates and wall seconds
/// until the validation loss first reaches `--target-loss`, and the best validation loss
/// reached, as a table and optionally a CSV.
struct TimeToLoss: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time-to-loss",
        abstract: "Train at several batch sizes and worker counts; report the time to a validation loss.")

    @OptionGroup var loggingOptions: LoggingOptions

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var optimizerOptions: OptimizerOptions

    @Option(help: "The validation loss to reach.")
    var targetLoss: Double

    @Option(help: "Comma-separated batch sizes (rows an update).")
    var batchSizes = "32,2048"

    @Option(help: "Comma-separated worker counts.")
    var workers = "1,2"

    @Option(help: "Run each update as this many micro-batches (each batch size must divide by it).")
    var accumulate = 1

    @Option(help: "Epochs of each run (a run goes on past the target to report its best loss).")
    var epochs = 12

    @Option(help: "Fraction of samples, from the end, held out for validation.")
    var validationSplit = 0.2

    @Option(help: "Write the table as CSV here.")
    var csv: String?

    @Option(help: "Write each run's history (epoch, val_loss, learning_rate, seconds) as CSV into this folder.")
    var histories: String?

    func validate() throws {
        try optimizerOptions.checkArguments()
        guard targetLoss.isFinite, targetLoss > 0 else { throw ValidationError("--target-loss must be a positive number") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard (0..<1).contains(validationSplit), validationSplit > 0 else {
            throw ValidationError("--validation-split must be in (0, 1): the target is a validation loss")
        }
        let batches = try counts(batchSizes, "--batch-sizes")
        _ = try counts(workers, "--workers")
        guard accumulate >= 1, batches.allSatisfy({ $0 % accumulate == 0 }) else {
            throw ValidationError("--accumulate \(accumulate) must be at least 1 and divide every batch size (\(batchSizes))")
        }
    }

    private func counts(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= (1 << 24) }) else {
            throw ValidationError("\(name) takes positive whole numbers separated by commas, got \(text)")
        }
        guard Set(values).count == values.count else { throw ValidationError("\(name) names a value twice: \(text)") }
        return values.map { $0! }
    }

    /// The file of one run's history in the `--histories` folder.
    private static func historyName(batch: Int, workers: Int) -> String { "batch\(batch)-workers\(workers).csv" }

    /// The table's column widths.
    private static let widths = [5, 7, 6, 7, 17, 13, 7]

    /// One run's outcome.
    private struct Outcome {
        let batch: Int, workers: Int
        var epochs: Int?, updates: Int?, seconds: Double?
        var best = Double.infinity
        var total = 0.0
    }

    /// Records the time of each epoch's end and when the target was first reached.
    private final class Clock: Callback {
        let start = DispatchTime.now().uptimeNanoseconds
        let target: Double
        var reached: (epoch: Int, updates: Int, seconds: Double)?
        var rows: [(epoch: Int, loss: Double, rate: Double, seconds: Double)] = []
        init(target: Double) { self.target = target }
        func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, loss = logs["val_loss"] ?? .infinity
            rows.append((epoch + 1, loss, logs["learning_rate"] ?? 0, seconds))
            if reached == nil, loss <= target { reached = (epoch + 1, run.step, seconds) }
        }
    }

    func run() throws {
        modelOptions.configureBLAS()
        let path = try dataOptions.path()
        let dataset = try dataOptions.open(path)
        let (batches, workerCounts) = (try counts(batchSizes, "--batch-sizes"), try counts(workers, "--workers"))
        let table = try csv.map { try OutputFile($0, role: "--csv", inputs: [path]) }
        // Every output is checked before the first run trains, not after it.
        var historyFiles: [String: OutputFile] = [:]
        if let histories {
            for batch in batches {
                for workerCount in workerCounts {
                    let name = TimeToLoss.historyName(batch: batch, workers: workerCount)
                    historyFiles[name] = try OutputFile(
                        URL(fileURLWithPath: histories).appendingPathComponent(name).path, role: "--histories", inputs: [path])
                }
            }
        }
        try OutputFile.checkDistinct([table].compactMap { $0 } + historyFiles.values)
        let training = Sequential.trainingSamples(of: dataset.sampleCount, validationSplit: validationSplit)
        var results: [Outcome] = []
        let titles = ["batch", "workers", "epochs", "updates", "seconds to target", "best val_loss", "seconds"]
        print("Target validation loss \(targetLoss); columns to the target, then the best and the whole run's seconds")
        print(zip(titles, TimeToLoss.widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined(separator: "  "))
        for batch in batches {
            for workerCount in workerCounts {
                let model = try modelOptions.makeModel(
                    inputShape: dataset.inputShape, targetShape: dataset.targetShape ?? [], batchSize: batch)
                let steps = max(1, training / batch + (training % batch == 0 ? 0 : 1))
                try model.compile(
                    optimizer: optimizerOptions.makeOptimizer(batchSize: batch, stepsPerEpoch: steps), loss: .meanSquaredError)
                let clock = Clock(target: targetLoss)
                try model.fit(
                    dataset: dataset, epochs: epochs, batchSize: batch / accumulate, validationSplit: validationSplit,
                    verbose: 0, parallelism: Parallelism(workers: workerCount), callbacks: [clock],
                    gradientAccumulationSteps: accumulate)
                var outcome = Outcome(batch: batch, workers: workerCount)
                outcome.epochs = clock.reached?.epoch
                outcome.updates = clock.reached?.updates
                outcome.seconds = clock.reached?.seconds
                outcome.best = clock.rows.map(\.loss).min() ?? .infinity
                outcome.total = clock.rows.last?.seconds ?? 0
                results.append(outcome)
                let columns = [
                    String(batch), String(workerCount), outcome.epochs.map(String.init) ?? "-", outcome.updates.map(String.init) ?? "-",
                    outcome.seconds.map { String(format: "%.1f", $0) } ?? "not reached", String(format: "%.4g", outcome.best),
                    String(format: "%.1f", outcome.total),
                ]
                print(
                    zip(columns, TimeToLoss.widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined(
                        separator: "  "))
                if let file = historyFiles[TimeToLoss.historyName(batch: batch, workers: workerCount)] {
                    let lines =
                        ["epoch,val_loss,learning_rate,seconds"] + clock.rows.map { "\($0.epoch),\($0.loss),\($0.rate),\($0.seconds)" }
                    try file.write(Data((lines.joined(separator: "\n") + "\n").utf8))
                }
            }
        }
        if let output = table {
            let lines =
                ["batch_size,workers,epochs_to_target,updates_to_target,seconds_to_target,best_val_loss,seconds"]
                + results.map { r in
                    "\(r.batch),\(r.workers),\(r.epochs.map(String.init) ?? ""),\(r.updates.map(String.init) ?? ""),"
                        + "\(r.seconds.map { "\($0)" } ?? ""),\(r.best),\(r.total)"
                }
            try output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
    }
}
