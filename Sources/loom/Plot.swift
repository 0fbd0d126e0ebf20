import ArgumentParser
import Foundation
import Loom

/// `loom plot`: draws a history CSV (`loom train --history`, Keras's `CSVLogger`) as SVG.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a training history CSV as SVG curves.",
        discussion: """
            One panel for the loss and one for each metric, training solid and validation (val_...) dashed, \
            against the epoch column (else the row number); one more for learning_rate when it changed.
            """)

    @OptionGroup var loggingOptions: LoggingOptions

    @Argument(help: "The history CSV: a header row, then a row of numbers an epoch.")
    var history: String

    @Option(help: "The SVG file to write.")
    var out: String

    @Option(help: "The plot's title (default: the history file's name).")
    var title: String?

    func run() throws {
        let output = try OutputFile(out, role: "--out", inputs: [history])
        let (epochs, columns) = try Plot.read(history)
        let svg = HistoryPlot.svg(
            epochs: epochs, columns: columns, title: title ?? URL(fileURLWithPath: history).lastPathComponent)
        try output.write(Data(svg.utf8))
        print("wrote \(out): \(epochs.count) epochs of \(columns.keys.sorted().joined(separator: ", "))")
    }

    /// The epochs (the `epoch` column, else 1, 2, ...) and every other column of a history
    /// CSV; a row of another length or a value that is not a number is refused by line.
    static func read(_ path: String) throws -> (epochs: [Double], columns: [String: [Double]]) {
        guard FileManager.default.fileExists(atPath: path) else { throw LoomError.invalidArgument("\(path): no such file") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
            .filter { !$0.isEmpty }
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else {
            throw LoomError.invalidArgument("\(path) is empty; expected a header row and a row an epoch")
        }
        guard lines.count > 1 else { throw LoomError.invalidArgument("\(path) has a header and no epochs") }
        var columns = [[Double]](repeating: [], count: header.count)
        for (index, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw LoomError.invalidArgument(
                    "\(path) line \(index + 2): \(fields.count) values for the header's \(header.count) columns")
            }
            for (column, field) in fields.enumerated() {
                guard let value = Double(field.trimmingCharacters(in: .whitespaces)) else {
                    throw LoomError.invalidArgument("\(path) line \(index + 2): '\(field)' in column \(header[column]) is not a number")
                }
                columns[column].append(value)
            }
        }
        let rows = lines.count - 1
        let epochs = header.firstIndex(of: "epoch").map { columns[$0] } ?? (1...rows).map(Double.init)
        let named = Dictionary(zip(header, columns).filter { $0.0 != "epoch" }) { first, _ in first }
        return (epochs, named)
    }
}
