import Foundation
import Loom

/// Turns a time series in a CSV file (one row per timestep, header optional) into supervised
/// windows in HDF5: `X (samples, window, features)` and `y (samples, horizon)`, or
/// `y (samples, horizon, targets)` for several target columns. Sample `s` reads rows
/// `s ..< s + window` and predicts the target at rows `s + window ..< s + window + horizon`.
public struct CSVImporter {
    /// How values are rescaled, per column, with statistics over the whole series.
    public enum Scaling: String, Sendable, CaseIterable {
        /// Values as they are in the file.
        case none
        /// To [0, 1]: (v − min) / (max − min).
        case minMax = "minmax"
        /// To zero mean, unit variance: (v − mean) / std.
        case standard
    }

    /// The timesteps of each input sample (positive).
    public var window: Int
    /// The number of steps predicted after each window (default 1).
    public var horizon: Int
    /// Feature columns by name (with a header) or 0-based index; nil: every numeric column.
    public var columns: [String]?
    /// Target columns; nil: the last feature column.
    public var targets: [String]?
    /// How the columns are rescaled before windowing (default `.none`).
    public var scaling: Scaling

    /// An importer of `window`-step inputs predicting `horizon` steps; nil columns or targets take the defaults.
    public init(window: Int, horizon: Int = 1, columns: [String]? = nil, targets: [String]? = nil, scaling: Scaling = .none) {
        self.window = window
        self.horizon = horizon
        self.columns = columns
        self.targets = targets
        self.scaling = scaling
    }

    /// What an import wrote.
    public struct Summary: Sendable, Equatable {
        /// The number of samples written: windows (rows − window − horizon + 1), or sequences.
        public let samples: Int
        /// The feature columns' names (header names, or 0-based indices as text), in X's feature order.
        public let featureColumns: [String]
        /// The target columns' names, in y's order.
        public let targetColumns: [String]
        /// X's full shape, `(samples, window, features)` (`window`: the padded length of sequences).
        public let inputShape: [Int]
        /// y's full shape, `(samples, horizon)`, or `(samples, horizon, targets)` for several target columns.
        public let targetShape: [Int]
    }

    /// Reads `csv`, writes `X` and `y` (gzip level 4) to a new HDF5 file at `output`, with the
    /// columns, window, horizon and scaling statistics stored as file attributes.
    @discardableResult
    public func run(csv: String, output: String) throws -> Summary {
        guard window > 0, horizon > 0 else {
            throw HDF5Error(file: csv, "window and horizon must be positive (got \(window) and \(horizon))")
        }
        let table = try CSVTable(path: csv)
        let featureIndices = try resolve(columns, in: table, file: csv) ?? table.numericColumns
        guard !featureIndices.isEmpty else { throw HDF5Error(file: csv, "has no numeric column to use as a feature") }
        let targetIndices = try resolve(targets, in: table, file: csv) ?? [featureIndices.last!]
        var values = try table.numbers(columns: Array(Set(featureIndices + targetIndices)).sorted(), file: csv)
        let rows = table.rows.count
        let samples = window < rows && horizon < rows ? rows - window - horizon + 1 : 0
        guard samples > 0 else {
            // The sum may overflow: the guard above is what keeps window + horizon from being computed.
            let (needed, overflow) = window.addingReportingOverflow(horizon)
            throw HDF5Error(
                file: csv,
                "has \(rows) rows; window \(window) + horizon \(horizon) needs at least "
                    + (overflow ? "more than \(Int.max)" : "\(needed)"))
        }

        let statistics =
            scaling == .none
            ? [:]
            : Dictionary(
                uniqueKeysWithValues: values.map { column, series in
                    (column, CSVImporter.statistics(series, scaling: scaling))
                })
        for (column, (shift, scale)) in statistics {
            values[column] = try values[column]!.enumerated().map { row, value in
                let scaled = (value - shift) / scale
                guard Float(scaled).isFinite else {
                    throw HDF5Error(
                        file: csv,
                        "line \(table.lineNumbers[row]), column '\(table.name(of: column))': \(value) scales to \(scaled) "
                            + "with --scaling \(scaling.rawValue), beyond float32's range")
                }
                return scaled
            }
        }

        let features = featureIndices.count, targetCount = targetIndices.count
        var x = Tensor(shape: [samples, window, features])
        var y = Tensor(shape: targetCount == 1 ? [samples, horizon] : [samples, horizon, targetCount])
        x.withUnsafeMutableScalars { buffer in
            for s in 0..<samples {
                for t in 0..<window {
                    for (f, column) in featureIndices.enumerated() {
                        buffer[(s * window + t) * features + f] = Float(values[column]![s + t])
                    }
                }
            }
        }
        y.withUnsafeMutableScalars { buffer in
            for s in 0..<samples {
                for h in 0..<horizon {
                    for (k, column) in targetIndices.enumerated() {
                        buffer[(s * horizon + h) * targetCount + k] = Float(values[column]![s + window + h])
                    }
                }
            }
        }

        let file = try HDF5File(path: output, mode: .create)
        try file.write(x, as: "X", compression: 4)
        try file.write(y, as: "y", compression: 4)
        let featureNames = featureIndices.map { table.name(of: $0) }, targetNames = targetIndices.map { table.name(of: $0) }
        try file.setAttribute("source", URL(fileURLWithPath: csv).lastPathComponent)
        try file.setAttribute("feature_columns", featureNames.joined(separator: ","))
        try file.setAttribute("target_columns", targetNames.joined(separator: ","))
        try file.setAttribute("window", [Double(window)])
        try file.setAttribute("horizon", [Double(horizon)])
        try file.setAttribute("scaling", scaling.rawValue)
        if let index = featureIndices.firstIndex(of: targetIndices[0]) {
            // Which feature of X holds the (first) target: a naive "last value" forecast uses it.
            try file.setAttribute("target_feature_index", [Double(index)])
        }
        if scaling != .none {
            // Map back with v = scaled · scale + shift.
            try file.setAttribute("feature_shift", featureIndices.map { statistics[$0]!.shift })
            try file.setAttribute("feature_scale", featureIndices.map { statistics[$0]!.scale })
            try file.setAttribute("target_shift", targetIndices.map { statistics[$0]!.shift })
            try file.setAttribute("target_scale", targetIndices.map { statistics[$0]!.scale })
        }
        try file.close()
        return Summary(
            samples: samples, featureColumns: featureNames, targetColumns: targetNames,
            inputShape: x.shape, targetShape: y.shape)
    }

    /// (shift, scale) so that (v − shift) / scale is the scaled value; a constant column keeps scale 1.
    static func statistics(_ series: [Double], scaling: Scaling) -> (shift: Double, scale: Double) {
        switch scaling {
        case .none: return (0, 1)
        case .minMax:
            let low = series.min()!, high = series.max()!
            return (low, high > low ? high - low : 1)
        case .standard:
            let mean = series.reduce(0, +) / Double(series.count)
            let variance = series.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(series.count)
            return (mean, variance > 0 ? variance.squareRoot() : 1)
        }
    }

    private func resolve(_ names: [String]?, in table: CSVTable, file: String) throws -> [Int]? {
        try names?.map { try table.column(named: $0, file: file) }
    }
}

/// A CSV file split into fields: an optional header (detected when the first row has a
/// field that is not a number) and data rows of equal width. Quotes around fields are dropped.
struct CSVTable {
    let header: [String]?
    let rows: [[String]]
    /// The 1-based line number of each data row, for error messages.
    let lineNumbers: [Int]

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw HDF5Error(file: path, "no such file") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw HDF5Error(file: path, "cannot be read as UTF-8 text")
        }
        var lines: [(Int, [String])] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            lines.append(
                (
                    number + 1,
                    trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
                        $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    }
                ))
        }
        guard let first = lines.first else { throw HDF5Error(file: path, "is empty") }
        let hasHeader = first.1.contains { Double($0) == nil }
        header = hasHeader ? first.1 : nil
        let data = hasHeader ? Array(lines.dropFirst()) : lines
        for (number, fields) in data where fields.count != first.1.count {
            throw HDF5Error(file: path, "line \(number) has \(fields.count) fields, expected \(first.1.count)")
        }
        rows = data.map(\.1)
        lineNumbers = data.map(\.0)
    }

    var columnCount: Int { header?.count ?? rows.first?.count ?? 0 }

    func name(of column: Int) -> String { header?[column] ?? String(column) }

    /// The index of the column `name` (a header name, or a 0-based index without a header).
    func column(named name: String, file: String) throws -> Int {
        if let index = header?.firstIndex(of: name) { return index }
        if header == nil, let index = Int(name), (0..<columnCount).contains(index) { return index }
        let known = header.map { "columns: " + $0.joined(separator: ", ") } ?? "\(columnCount) columns, 0-based"
        throw HDF5Error(file: file, "has no column '\(name)' (\(known))")
    }

    /// Columns whose first data row is a number.
    var numericColumns: [Int] {
        guard let first = rows.first else { return [] }
        return first.indices.filter { Double(first[$0]) != nil }
    }

    /// The values of `columns`, refusing a field that is not a finite number or lies beyond
    /// Float32's range (it would be stored as Inf).
    func numbers(columns: [Int], file: String) throws -> [Int: [Double]] {
        var result: [Int: [Double]] = [:]
        for column in columns {
            result[column] = try rows.indices.map { row in
                guard let value = Double(rows[row][column]), value.isFinite else {
                    throw HDF5Error(
                        file: file,
                        "line \(lineNumbers[row]), column '\(name(of: column))': "
                            + "'\(rows[row][column])' is not a finite number")
                }
                guard Float(value).isFinite else {
                    throw HDF5Error(
                        file: file,
                        "line \(lineNumbers[row]), column '\(name(of: column))': "
                            + "\(rows[row][column]) is beyond float32's range (±3.4e38); Loom stores float32")
                }
                return value
            }
        }
        return result
    }
}
