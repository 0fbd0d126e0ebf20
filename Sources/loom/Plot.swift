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
    /// CSV, a value left empty or written NA (Keras's CSVLogger, when validation skipped the
    /// epoch) read as missing (NaN, drawn as a gap); a row of another length or a value that
    /// is not a number is refused by line.
    static func read(_ path: String) throws -> (epochs: [Double], columns: [String: [Double]]) {
        if let problem = InputFile.problem(at: path) { throw LoomError.invalidArgument("\(path): \(problem)") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // (line number, text) of each line that is not blank.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { ($0.offset + 1, String($0.element)) }.filter { !$0.1.trimmingCharacters(in: .whitespaces).isEmpty }
        guard
            let header = lines.first?.1.split(separator: ",", omittingEmptySubsequences: false)
                .map({ $0.trimmingCharacters(in: .whitespaces) })
        else {
            throw LoomError.invalidArgument("\(path) is empty; expected a header row and a row an epoch")
        }
        if let twice = header.enumerated().first(where: { $0.element.isEmpty || header[..<$0.offset].contains($0.element) }) {
            throw LoomError.invalidArgument("\(path): the header names column \(twice.offset + 1) '\(twice.element)' twice or not at all")
        }
        guard lines.count > 1 else { throw LoomError.invalidArgument("\(path) has a header and no epochs") }
        var columns = [[Double]](repeating: [], count: header.count)
        for (number, line) in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw LoomError.invalidArgument("\(path) line \(number): \(fields.count) values for the header's \(header.count) columns")
            }
            for (column, field) in fields.enumerated() {
                let text = field.trimmingCharacters(in: .whitespaces)
                // A value not logged that epoch (CSVLogger writes NA when validation did not run): a gap.
                if text.isEmpty || text == "NA" {
                    columns[column].append(.nan)
                    continue
                }
                guard let value = Double(text) else {
                    throw LoomError.invalidArgument("\(path) line \(number): '\(field)' in column \(header[column]) is not a number")
                }
                columns[column].append(value)
            }
        }
        let rows = lines.count - 1
        let epochs = header.firstIndex(of: "epoch").map { columns[$0] } ?? (1...rows).map(Double.init)
        if let bad = epochs.first(where: { !$0.isFinite }) {
            throw LoomError.invalidArgument("\(path): the epoch column holds \(bad); epochs must be finite numbers")
        }
        let named = Dictionary(zip(header, columns).filter { $0.0 != "epoch" }) { first, _ in first }
        return (epochs, named)
    }
}
