import Foundation
import Loom

/// `loom train --history FILE` and `--plot FILE.svg`: the per-epoch losses and metrics as CSV
/// and as curves, written again after every epoch (each file replaced whole, through
/// `OutputFile`), so a run that fails or is killed leaves the epochs it finished.
final class HistoryWriter: Callback {
    let csv: OutputFile?
    let plot: OutputFile?
    /// The plot's title (the model and data).
    let title: String

    init(csv: OutputFile?, plot: OutputFile?, title: String) {
        self.csv = csv
        self.plot = plot
        self.title = title
    }

    /// Writes the history so far.
    func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        try write(run.history)
    }

    /// The CSV (the epoch, training values, then validation values, then the learning rate)
    /// and the SVG.
    func write(_ history: History) throws {
        if let csv {
            func rank(_ key: String) -> Int { key == "learning_rate" ? 2 : key.hasPrefix("val_") ? 1 : 0 }
            let keys = history.history.keys.sorted { (rank($0), $0) < (rank($1), $1) }
            var lines = [(["epoch"] + keys).joined(separator: ",")]
            for (row, epoch) in history.epoch.enumerated() {
                lines.append(([String(epoch + 1)] + keys.map { String(history[$0][row]) }).joined(separator: ","))
            }
            try csv.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        if let plot { try plot.write(Data(HistoryPlot.svg(history, title: title).utf8)) }
    }
}
