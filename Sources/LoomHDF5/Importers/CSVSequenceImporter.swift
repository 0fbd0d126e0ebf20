import Foundation
import Loom

/// Turns a long-format table (an id column; each id's rows in time order, one row a
/// timestep) into padded sequences in HDF5, as Keras's `pad_sequences` would pad them:
///
///     X        (sequences, maxLength, features)   zeros where padded
///     y        (sequences, maxLength, targets)    a target a step, zeros where padded; or,
///              (sequences, targets)               with `lastTarget`, each sequence's last kept row's
///     lengths  (sequences)                        uint64, each sequence's valid steps, with the
///                                                 attributes `padding` and `truncating`
///
/// Sequences follow the order of their ids' first rows. A sequence longer than `maxLength`
/// loses its first rows (`truncating: .pre`, Keras's default) or its last.
public struct CSVSequenceImporter {
    /// The column whose value names a row's sequence.
    public var groupBy: String
    /// The padded length (positive); nil: the longest sequence's.
    public var maxLength: Int?
    /// Feature columns by name or 0-based index; nil: every numeric column but the id and targets.
    public var columns: [String]?
    /// Target columns; nil: the last numeric column but the id.
    public var targets: [String]?
    /// Where the padding goes (default `.pre`, as `pad_sequences`).
    public var padding: SequenceLengths.Padding
    /// Which end of a longer sequence is cut (default `.pre`, as `pad_sequences`).
    public var truncating: SequenceLengths.Padding
    /// y holds each sequence's last kept row's targets instead of a target a step.
    public var lastTarget: Bool
    /// How the columns are rescaled, with statistics over every row (default `.none`).
    public var scaling: CSVImporter.Scaling
    /// The parameters of an earlier import to scale with (`--scaling-from`), instead of
    /// fitting `scaling`'s to this file; its columns are the default columns and targets.
    public var scalingFrom: ColumnScaling?
    /// The file's delimiter and header.
    public var format: CSVFormat

    /// An importer of the sequences `groupBy` names; nil lengths and columns take the defaults.
    public init(
        groupBy: String, maxLength: Int? = nil, columns: [String]? = nil, targets: [String]? = nil,
        padding: SequenceLengths.Padding = .pre, truncating: SequenceLengths.Padding = .pre, lastTarget: Bool = false,
        scaling: CSVImporter.Scaling = .none, scalingFrom: ColumnScaling? = nil, format: CSVFormat = CSVFormat()
    ) {
        self.groupBy = groupBy
        self.maxLength = maxLength
        self.columns = columns ?? scalingFrom?.features
        self.targets = targets ?? scalingFrom?.targets
        self.padding = padding
        self.truncating = truncating
        self.lastTarget = lastTarget
        self.scaling = scalingFrom?.kind ?? scaling
        self.scalingFrom = scalingFrom
        self.format = format
    }

    /// Reads `csv` and writes X, y and lengths (gzip level 4) to a new HDF5 file at `output`,
    /// the columns and options as file attributes.
    @discardableResult
    public func run(csv: String, output: String) throws -> CSVImporter.Summary {
        let table = try CSVTable(path: csv, format: format)
        let group = try table.column(named: groupBy, file: csv)
        let numeric = table.numericColumns.filter { $0 != group }
        let targetIndices = try targets.map { try table.columns(named: $0, file: csv, role: "target columns") } ?? numeric.suffix(1)
        guard !targetIndices.isEmpty else { throw HDF5Error(file: csv, "has no numeric column to use as a target") }
        let featureIndices =
            try columns.map { try table.columns(named: $0, file: csv, role: "feature columns") }
            ?? numeric.filter { !targetIndices.contains($0) }
        guard !featureIndices.isEmpty else { throw HDF5Error(file: csv, "has no numeric column to use as a feature") }
        var values = try table.numbers(columns: Array(Set(featureIndices + targetIndices)).sorted(), file: csv)
        let columnScaling =
            try scalingFrom
            ?? ColumnScaling.fit(scaling, values: values, features: featureIndices, targets: targetIndices, table: table, file: csv)
        try columnScaling.apply(to: &values, table: table, file: csv)

        var order: [String] = [], rowsOf: [String: [Int]] = [:]
        for (row, fields) in table.rows.enumerated() {
            let id = fields[group]
            if rowsOf[id] == nil { order.append(id) }
            rowsOf[id, default: []].append(row)
        }
        guard !order.isEmpty else { throw HDF5Error(file: csv, "has no data rows") }
        let longest = order.map { rowsOf[$0]!.count }.max()!
        let steps = maxLength ?? longest
        guard steps > 0 else { throw HDF5Error(file: csv, "--max-length must be positive, got \(steps)") }

        let (features, targetCount) = (featureIndices.count, targetIndices.count)
        try Self.checkMemory(sequences: order.count, steps: steps, values: features + (lastTarget ? 0 : targetCount), file: csv)
        var x = Tensor(shape: [order.count, steps, features])
        var y = Tensor(shape: lastTarget ? [order.count, targetCount] : [order.count, steps, targetCount])
        var lengths: [UInt64] = []
        for (s, id) in order.enumerated() {
            let all = rowsOf[id]!
            let kept = all.count <= steps ? all[...] : (truncating == .pre ? all.suffix(steps) : all.prefix(steps))
            let first = padding == .pre ? steps - kept.count : 0
            lengths.append(UInt64(kept.count))
            for (t, row) in kept.enumerated() {
                for (f, column) in featureIndices.enumerated() { x[s, first + t, f] = Float(values[column]![row]) }
                if !lastTarget {
                    for (k, column) in targetIndices.enumerated() { y[s, first + t, k] = Float(values[column]![row]) }
                }
            }
            if lastTarget {
                for (k, column) in targetIndices.enumerated() { y[s, k] = Float(values[column]![kept.last!]) }
            }
        }

        let file = try HDF5File(path: output, mode: .create)
        try file.write(x, as: "X", compression: 4)
        try file.write(y, as: "y", compression: 4)
        try file.write(words: lengths, as: "lengths")
        try file.setAttribute("padding", padding.rawValue, on: "lengths")
        try file.setAttribute("truncating", truncating.rawValue, on: "lengths")
        let featureNames = featureIndices.map { table.name(of: $0) }, targetNames = targetIndices.map { table.name(of: $0) }
        try file.setAttribute("source", URL(fileURLWithPath: csv).lastPathComponent)
        try file.setAttribute("group_by", table.name(of: group))
        try file.setAttribute("max_length", [Double(steps)])
        try columnScaling.write(to: file, features: featureNames, targets: targetNames)
        try file.close()
        return CSVImporter.Summary(
            samples: order.count, featureColumns: featureNames, targetColumns: targetNames, inputShape: x.shape,
            targetShape: y.shape)
    }

    /// Refuses padded sequences that would not fit in this process's memory (twice: the
    /// arrays and their compressed copies) before any is allocated: `--max-length` may be
    /// any number.
    private static func checkMemory(sequences: Int, steps: Int, values: Int, file: String) throws {
        let (perSequence, overflow) = steps.multipliedReportingOverflow(by: values * 4)
        let (bytes, overflowTotal) = sequences.multipliedReportingOverflow(by: perSequence)
        let limit = Sequential.memoryLimit
        guard overflow || overflowTotal || UInt64(bytes) > limit.bytes / 2 else { return }
        throw HDF5Error(
            file: file,
            "\(sequences) sequences padded to \(steps) steps would need "
                + (overflow || overflowTotal ? "more than 2^63 bytes" : "\(bytes >> 20) MiB")
                + ", more than half of \(limit.source) (\(limit.bytes >> 20) MiB); give a smaller --max-length")
    }
}
