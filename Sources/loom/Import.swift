import ArgumentParser
import Loom
import LoomHDF5

/// `loom import`: turns CSV time series and NumPy arrays into HDF5 training files.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import data into HDF5.", subcommands: [CSV.self, NPY.self])

    struct CSV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv", abstract: "A time series (one row per timestep) into windows X and targets y.")

        @Argument(help: "The CSV file; a header row is detected.")
        var file: String

        @Option(help: "Timesteps per input window.")
        var window: Int

        @Option(help: "Timesteps to predict after each window.")
        var horizon = 1

        @Option(help: "Comma-separated feature columns, by name or 0-based index (default: all numeric).")
        var columns: String?

        @Option(help: "Comma-separated target columns (default: the last feature column).")
        var target: String?

        @Option(help: "Rescale columns: none, minmax or standard (parameters kept as attributes).")
        var scaling = "none"

        @Option(help: "HDF5 file to create.")
        var out: String

        func run() throws {
            guard let scale = CSVImporter.Scaling(rawValue: scaling) else {
                throw ValidationError("--scaling must be none, minmax or standard")
            }
            let importer = CSVImporter(
                window: window, horizon: horizon, columns: columns?.split(separator: ",").map(String.init),
                targets: target?.split(separator: ",").map(String.init), scaling: scale)
            var summary: CSVImporter.Summary?
            try OutputFile(out, role: "--out", inputs: [file]).write { temporary in
                summary = try importer.run(csv: file, output: temporary.path)
            }
            guard let summary else { return }
            print(
                "wrote \(out): X \(summary.inputShape) from \(summary.featureColumns.joined(separator: ",")), "
                    + "y \(summary.targetShape) from \(summary.targetColumns.joined(separator: ","))")
        }
    }

    struct NPY: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "npy", abstract: "NumPy arrays (little-endian float32/float64/int32/int64, C order) into X and y.")

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
