import Foundation
import Loom

/// `loom train --history FILE`: the per-epoch losses and metrics as CSV, written again after
/// every epoch (replacing the file whole, through `OutputFile`), so a run that fails or is
/// killed leaves the epochs it finished.
final class HistoryWriter: Callback {
    let output: OutputFile

    init(_ output: OutputFile) {
        self.output = output
    }

    /// Writes the history so far.
    func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        try write(run.history)
    }

    /// The CSV: the epoch, training values, then validation values, then the learning rate.
    func write(_ history: History) throws {
        func rank(_ key: String) -> Int { key == "learning_rate" ? 2 : key.hasPrefix("val_") ? 1 : 0 }
        let keys = history.history.keys.sorted { (rank($0), $0) < (rank($1), $1) }
        var lines = [(["epoch"] + keys).joined(separator: ",")]
        for (row, epoch) in history.epoch.enumerated() {
            lines.append(([String(epoch + 1)] + keys.map { String(history[$0][row]) }).joined(separator: ","))
        }
        try output.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
