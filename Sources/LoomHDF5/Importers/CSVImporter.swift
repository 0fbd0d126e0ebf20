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
    /// The parameters of an earlier import to scale with (`--scaling-from`), instead of
    /// fitting `scaling`'s to this file; its columns are the default columns and targets.
    public var scalingFrom: ColumnScaling?
    /// The file's delimiter and header.
    public var format: CSVFormat

    /// An importer of `window`-step inputs predicting `horizon` steps; nil columns or targets take the defaults.
    public init(
        window: Int, horizon: Int = 1, columns: [String]? = nil, targets: [String]? = nil, scaling: Scaling = .none,
        scalingFrom: ColumnScaling? = nil, format: CSVFormat = CSVFormat()
    ) {
        self.window = window
        self.horizon = horizon
        self.columns = columns ?? scalingFrom?.features
        self.targets = targets ?? scalingFrom?.targets
        self.scaling = scalingFrom?.kind ?? scaling
        self.scalingFrom = scalingFrom
        self.format = format
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
        let table = try CSVTable(path: csv, format: format)
        let featureIndices = try columns.map { try table.columns(named: $0, file: csv, role: "feature columns") } ?? table.numericColumns
        guard !featureIndices.isEmpty else { throw HDF5Error(file: csv, "has no numeric column to use as a feature") }
        let targetIndices = try targets.map { try table.columns(named: $0, file: csv, role: "target columns") } ?? [featureIndices.last!]
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

        let columnScaling =
            try scalingFrom
            ?? ColumnScaling.fit(scaling, values: values, features: featureIndices, targets: targetIndices, table: table, file: csv)
        try columnScaling.apply(to: &values, table: table, file: csv)

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
        try file.setAttribute("window", [Double(window)])
        try file.setAttribute("horizon", [Double(horizon)])
        try columnScaling.write(to: file, features: featureNames, targets: targetNames)
        if let index = featureIndices.firstIndex(of: targetIndices[0]) {
            // Which feature of X holds the (first) target: a naive "last value" forecast uses it.
            try file.setAttribute("target_feature_index", [Double(index)])
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
}
