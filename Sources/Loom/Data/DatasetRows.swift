/// A contiguous range of another dataset's rows, as a dataset of its own: row `i` is the
/// base's row `range.lowerBound + i`. Nothing is copied; reads go to the base.
///
/// A validation part cut off by hand, or a stateful run's whole batches with the remainder
/// dropped (`loom train --drop-remainder`).
public struct DatasetRows: Dataset {
    /// The dataset the rows are read from.
    public let base: any Dataset
    /// The base's rows this dataset holds.
    public let range: Range<Int>
    /// The base's lengths of `range`, when the base has them.
    public let sequenceLengths: SequenceLengths?

    /// Rows `range` of `base`; throws for a range outside the base's samples.
    public init(_ base: any Dataset, rows range: Range<Int>) throws {
        guard range.lowerBound >= 0, range.upperBound <= base.sampleCount else {
            throw LoomError.invalidArgument("rows \(range) are outside the dataset's \(base.sampleCount) samples")
        }
        self.base = base
        self.range = range
        sequenceLengths = try base.sequenceLengths.map { whole in
            try SequenceLengths(
                lengths: Array(whole.lengths[range]), timesteps: whole.timesteps, padding: whole.padding)
        }
    }

    /// The rows in `range`.
    public var sampleCount: Int { range.count }
    /// The base's input shape.
    public var inputShape: [Int] { base.inputShape }
    /// The base's target shape.
    public var targetShape: [Int]? { base.targetShape }
    /// Whether the base allows concurrent reads.
    public var supportsConcurrentReads: Bool { base.supportsConcurrentReads }
    /// The base's sample weights' shape.
    public var sampleWeightShape: [Int]? { base.sampleWeightShape }

    /// Reads the base's rows for `rows`.
    public func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        try base.read(rows: baseRows(rows), inputs: inputs, targets: targets)
    }

    /// Passes the hint on for the base's rows.
    public func prefetch(rows: ArraySlice<Int>, targets: Bool) { base.prefetch(rows: baseRows(rows), targets: targets) }

    /// Passes the hint on to the base, for the base's rows.
    public func readInBlocks(_ shuffle: BlockShuffle?, rows: Range<Int>) {
        base.readInBlocks(shuffle, rows: (rows.lowerBound + range.lowerBound)..<(rows.upperBound + range.lowerBound))
    }

    /// Reads the base's weights for `rows`.
    public func readSampleWeights(rows: ArraySlice<Int>, into weights: UnsafeMutablePointer<Float>) throws {
        try base.readSampleWeights(rows: baseRows(rows), into: weights)
    }

    /// The base's inputs of `range`, when the base holds them all in memory.
    public func withAllInputs<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T? {
        let stride = Shape.count(inputShape)
        return try base.withAllInputs { all in
            try body(UnsafeBufferPointer(rebasing: all[(range.lowerBound * stride)..<(range.upperBound * stride)]))
        }
    }

    private func baseRows(_ rows: ArraySlice<Int>) -> ArraySlice<Int> {
        range.lowerBound == 0 ? rows : ArraySlice(rows.map { $0 + range.lowerBound })
    }
}
