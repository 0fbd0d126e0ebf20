import ArgumentParser
import Loom
import LoomHDF5

/// `loom import`: turns CSV time series and NumPy arrays into HDF5 training files.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import data into HDF5.", subcommands: [CSV.self, NPY.self])

    /// Parses `--padding` or `--truncating`.
    static func side(_ value: String, option: String) throws -> SequenceLengths.Padding {
        guard let side = SequenceLengths.Padding(rawValue: value) else {
            throw ValidationError("\(option) must be pre or post, got '\(value)'")
        }
        return side
    }

    struct CSV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "A time series into windows X and targets y (--window), or a long table into padded sequences (--group-by).")

        @OptionGroup var loggingOptions: LoggingOptions

        @Argument(help: "The CSV file (RFC 4180: quoted fields, CRLF or LF, a UTF-8 byte-order mark); a header row is detected.")
        var file: String

        @Option(help: "The character between fields: a single character, or tab.")
        var delimiter = ","

        @Flag(help: "The first row is data, not a header (columns are then named by 0-based index).")
        var noHeader = false

        @Option(help: "Timesteps per input window (a wide series; not with --group-by).")
        var window: Int?

        @Option(help: "Long format: the id column whose rows (in time order) make one padded sequence each, with a lengths dataset.")
        var groupBy: String?

        @Option(help: "With --group-by: the padded length (default: the longest sequence's).")
        var maxLength: Int?

        @Option(help: "With --group-by: where the padding goes, pre or post (default pre, as Keras's pad_sequences).")
        var padding: String?

        @Option(help: "With --group-by: which end of a longer sequence is cut, pre or post (default pre).")
        var truncating: String?

        @Flag(help: "With --group-by: y is each sequence's last target row, not a target a step.")
        var lastTarget = false

        @Option(help: "With --window: timesteps to predict after each window (default 1).")
        var horizon: Int?

        @Option(help: "Comma-separated feature columns, by header name, else 0-based index (default: all numeric).")
        var columns: String?

        @Option(help: "Comma-separated target columns (default: the last feature column).")
        var target: String?

        @Option(help: "Rescale columns: none, minmax or standard (parameters kept as attributes).")
        var scaling = "none"

        @Option(help: "Scale with the parameters of an earlier import (its file) instead, and take its columns and targets by default.")
        var scalingFrom: String?

        @Option(help: "HDF5 file to create.")
        var out: String

        /// `--delimiter` and `--no-header`.
        private func format() throws -> CSVFormat {
            let scalars = delimiter == "tab" ? ["\t"] : Array(delimiter.unicodeScalars)
            guard scalars.count == 1, let scalar = scalars.first, scalar != "\"", scalar != "\n", scalar != "\r" else {
                throw ValidationError("--delimiter must be one character other than a quote or a line end (or tab), got '\(delimiter)'")
            }
            return CSVFormat(delimiter: scalar, header: noHeader ? .absent : .detect)
        }

        func run() throws {
            guard let scale = CSVImporter.Scaling(rawValue: scaling) else {
                throw ValidationError("--scaling must be none, minmax or standard")
            }
            if scalingFrom != nil && scaling != "none" {
                throw ValidationError("--scaling-from takes the earlier import's scaling; --scaling \(scaling) would fit another")
            }
            let format = try format()
            let fitted = try scalingFrom.map { try ColumnScaling.read(from: $0) }
            let (columnList, targetList) = (columns?.split(separator: ",").map(String.init), target?.split(separator: ",").map(String.init))
            let importRun: (String) throws -> CSVImporter.Summary
            switch (window, groupBy) {
            case let (window?, nil):
                let sequenceOptions = [
                    ("--max-length", maxLength != nil), ("--padding", padding != nil), ("--truncating", truncating != nil),
                    ("--last-target", lastTarget),
                ]
                if let given = sequenceOptions.first(where: \.1) { throw ValidationError("\(given.0) goes with --group-by, not --window") }
                let importer = CSVImporter(
                    window: window, horizon: horizon ?? 1, columns: columnList, targets: targetList, scaling: scale,
                    scalingFrom: fitted, format: format)
                importRun = { try importer.run(csv: file, output: $0) }
            case let (nil, group?):
                guard horizon == nil else { throw ValidationError("--horizon goes with --window, not --group-by") }
                let importer = CSVSequenceImporter(
                    groupBy: group, maxLength: maxLength, columns: columnList, targets: targetList,
                    padding: try Import.side(padding ?? "pre", option: "--padding"),
                    truncating: try Import.side(truncating ?? "pre", option: "--truncating"), lastTarget: lastTarget,
                    scaling: scale, scalingFrom: fitted, format: format)
                importRun = { try importer.run(csv: file, output: $0) }
            default:
                throw ValidationError("give --window (windows of a series) or --group-by (one sequence an id), not both")
            }
            var summary: CSVImporter.Summary?
            try OutputFile(out, role: "--out", inputs: [file] + [scalingFrom].compactMap { $0 }).write { temporary in
                summary = try importRun(temporary.path)
            }
            guard let summary else { return }
            print(
                "wrote \(out): X \(summary.inputShape) from \(summary.featureColumns.joined(separator: ",")), "
                    + "y \(summary.targetShape) from \(summary.targetColumns.joined(separator: ","))"
                    + (groupBy == nil ? "" : ", lengths (\(summary.samples))"))
        }
    }

    struct NPY: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "npy", abstract: "NumPy arrays (little-endian float32/float64/int32/int64, C order) into X and y.")

        @OptionGroup var loggingOptions: LoggingOptions

        @Argument(help: "X.npy, (samples, ...).")
        var x: String

        @Argument(help: "y.npy, (samples, ...).")
        var y: String?

        @Option(help: "HDF5 file to create.")
        var out: String

        func run() throws {
            var written: (x: [Int], y: [Int]?)?
            try OutputFile(out, role: "--out", inputs: [x] + [y].compactMap { $0 }).write { temporary in
                written = try NPYImporter.run(x: x, y: y, output: temporary.path)
            }
            guard let shapes = written else { return }
            print("wrote \(out): X \(shapes.x)" + (shapes.y.map { ", y \($0)" } ?? ""))
        }
    }
}
