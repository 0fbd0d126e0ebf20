import Foundation
import Loom

/// Each imported column's rescaling: a value `v` is stored as `(v − shift) / scale` and
/// mapped back as `stored · scale + shift`. `loom import csv --scaling` fits it to the file's
/// columns and stores it as the HDF5 file's attributes (`scaling`, `feature_columns` and
/// `target_columns` joined by commas, `feature_names` and `target_names` as lists, for names
/// that hold a comma, `feature_shift`, `feature_scale`, `target_shift`, `target_scale`), from
/// which `--scaling-from` scales new data the same way and `loom predict --unscale` maps
/// predictions back to the CSV's units.
public struct ColumnScaling: Sendable, Equatable {
    /// How the parameters were fitted.
    public let kind: CSVImporter.Scaling
    /// The feature columns' names, in X's feature order.
    public let features: [String]
    /// The target columns' names, in y's order.
    public let targets: [String]
    /// Each column's (shift, scale), by name.
    public let parameters: [String: Parameters]

    /// One column's parameters.
    public struct Parameters: Sendable, Equatable {
        /// Subtracted first.
        public let shift: Double
        /// Divided by then (1 for a constant column).
        public let scale: Double
    }

    /// The parameters of `kind` fitted to each of `values`' columns (by index into `table`);
    /// two of them with one name are refused (the parameters are kept by name).
    static func fit(
        _ kind: CSVImporter.Scaling, values: [Int: [Double]], features: [Int], targets: [Int], table: CSVTable, file: String
    ) throws -> ColumnScaling {
        let columns = values.keys.sorted()
        for (index, column) in columns.enumerated() {
            if let twin = columns[..<index].first(where: { table.name(of: $0) == table.name(of: column) }) {
                throw HDF5Error(
                    file: file, "columns \(twin) and \(column) are both named '\(table.name(of: column))'; rename one to import both")
            }
        }
        var parameters: [String: Parameters] = [:]
        for (column, series) in values {
            let (shift, scale) = CSVImporter.statistics(series, scaling: kind)
            parameters[table.name(of: column)] = Parameters(shift: shift, scale: scale)
        }
        return ColumnScaling(
            kind: kind, features: features.map { table.name(of: $0) }, targets: targets.map { table.name(of: $0) },
            parameters: parameters)
    }

    /// The scaling an imported file holds; throws naming what is missing for a file that was
    /// not made by `loom import csv`, or whose attributes disagree.
    public static func read(from path: String) throws -> ColumnScaling {
        let file = try HDF5File(path: path)
        defer { try? file.close() }
        guard let kindName = try file.stringAttribute("scaling"), let kind = CSVImporter.Scaling(rawValue: kindName),
            let featureText = try file.stringAttribute("feature_columns"),
            let targetText = try file.stringAttribute("target_columns")
        else {
            throw HDF5Error(
                file: path, "holds no column scaling (the attributes `loom import csv` writes: scaling, feature_columns, target_columns)")
        }
        let features = try file.stringsAttribute("feature_names") ?? featureText.split(separator: ",").map(String.init)
        let targets = try file.stringsAttribute("target_names") ?? targetText.split(separator: ",").map(String.init)
        var parameters: [String: Parameters] = [:]
        if kind != .none {
            for (names, part) in [(features, "feature"), (targets, "target")] {
                guard let shifts = try file.doubleAttribute("\(part)_shift"), let scales = try file.doubleAttribute("\(part)_scale"),
                    shifts.count == names.count, scales.count == names.count,
                    scales.allSatisfy({ $0.isFinite && $0 != 0 }), shifts.allSatisfy(\.isFinite)
                else {
                    throw HDF5Error(
                        file: path, "says --scaling \(kind.rawValue) but its \(part)_shift and \(part)_scale are missing or malformed")
                }
                for (name, (shift, scale)) in zip(names, zip(shifts, scales)) { parameters[name] = Parameters(shift: shift, scale: scale) }
            }
        }
        return ColumnScaling(kind: kind, features: features, targets: targets, parameters: parameters)
    }

    /// Scales `values` (by column index into `table`) in place, refusing a value that leaves
    /// float32's range, by line; a column without parameters is refused by name.
    func apply(to values: inout [Int: [Double]], table: CSVTable, file: String) throws {
        guard kind != .none else { return }
        for (column, series) in values {
            let name = table.name(of: column)
            guard let parameters = parameters[name] else {
                throw HDF5Error(
                    file: file,
                    "column '\(name)' has no scaling in the file given (it scaled \(self.parameters.keys.sorted().joined(separator: ", ")))"
                )
            }
            values[column] = try series.enumerated().map { row, value in
                let scaled = (value - parameters.shift) / parameters.scale
                guard Float(scaled).isFinite else {
                    throw HDF5Error(
                        file: file,
                        "line \(table.lineNumbers[row]), column '\(name)': \(value) scales to \(scaled) "
                            + "with --scaling \(kind.rawValue), beyond float32's range")
                }
                return scaled
            }
        }
    }

    /// Writes the attributes `read` reads, for the columns an import wrote.
    func write(to file: HDF5File, features: [String], targets: [String]) throws {
        try file.setAttribute("scaling", kind.rawValue)
        try file.setAttribute("feature_columns", features.joined(separator: ","))
        try file.setAttribute("target_columns", targets.joined(separator: ","))
        try file.setAttribute("feature_names", variableLengthStrings: features)
        try file.setAttribute("target_names", variableLengthStrings: targets)
        guard kind != .none else { return }
        for (names, part) in [(features, "feature"), (targets, "target")] {
            try file.setAttribute("\(part)_shift", names.map { parameters[$0]!.shift })
            try file.setAttribute("\(part)_scale", names.map { parameters[$0]!.scale })
        }
    }

    /// Maps predictions of the targets back to the CSV's units, in place: `values` holds rows
    /// whose last axis is the targets (`width` of them), or any values of a single target.
    public func unscale(_ values: UnsafeMutableBufferPointer<Float>, width: Int) throws {
        guard kind != .none else { return }
        let targetParameters = targets.map { parameters[$0]! }
        guard targetParameters.count == 1 || targetParameters.count == width else {
            throw LoomError.shapeMismatch(
                context: "--unscale",
                expected: "predictions whose last axis is the \(targets.count) targets \(targets.joined(separator: ","))",
                found: [values.count / max(width, 1), width])
        }
        for index in values.indices {
            let parameters = targetParameters.count == 1 ? targetParameters[0] : targetParameters[index % width]
            values[index] = Float(Double(values[index]) * parameters.scale + parameters.shift)
        }
    }
}
