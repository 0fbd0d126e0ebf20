import Foundation

/// Keras's `CSVLogger`: after every epoch, the file holds a header `epoch,<keys sorted>` and
/// one row per epoch (epochs counted from 0, as Keras writes them). The whole file is
/// replaced each time through `OutputFile`, so a kill never leaves half a row; with
/// `append`, the rows it held before training are kept above the new ones.
public final class CSVLogger: Callback {
    /// Where the rows go.
    public let filename: String
    /// Between values (default ",").
    public let separator: String
    /// Keep what the file held before training (default false).
    public let append: Bool
    private let output: OutputFile
    private var earlier = ""
    private var keys: [String] = []

    /// A logger writing to `filename`; the path is checked now (folder, writable), before
    /// any training.
    public init(_ filename: String, separator: String = ",", append: Bool = false) throws {
        self.filename = filename
        self.separator = separator
        self.append = append
        output = try OutputFile(filename, role: "CSVLogger")
    }

    /// Reads the rows to keep when appending.
    public func onTrainBegin(_ run: TrainingRun) throws {
        keys = []
        earlier = append ? ((try? String(contentsOfFile: filename, encoding: .utf8)) ?? "") : ""
    }

    /// Writes the header and every finished epoch's row (a resumed run's earlier epochs included).
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        if keys.isEmpty { keys = logs.keys.sorted() }
        let history = run.history
        var lines: [String] = []
        if earlier.isEmpty { lines.append((["epoch"] + keys).joined(separator: separator)) }
        for (row, index) in history.epoch.enumerated() {
            lines.append(
                ([String(index)]
                    + keys.map { key in
                        history[key].indices.contains(row) ? String(history[key][row]) : ""
                    }).joined(separator: separator))
        }
        try output.write(Data((earlier + lines.joined(separator: "\n") + "\n").utf8))
    }
}
