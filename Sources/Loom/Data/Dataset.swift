/// Samples that training, evaluation and prediction read by row.
///
/// Shapes are per sample: a dataset of `(samples, timesteps, features)` has
/// `inputShape == [timesteps, features]`. Rows are copied out in the order asked, each
/// sample contiguous, into buffers of `rows.count` samples.
public protocol Dataset {
    /// The number of samples (rows).
    var sampleCount: Int { get }
    /// The shape of one input sample, without the samples axis: `[timesteps, features]`.
    var inputShape: [Int] { get }
    /// nil when the dataset has no targets (prediction input).
    var targetShape: [Int]? { get }
    /// Copies the inputs (and targets, when `targets` is given) of `rows` into the buffers.
    /// Throws for data it cannot read or that is not finite.
    func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws
    /// A hint that `rows` will be read next, so a streaming dataset can start reading them in
    /// the background while the current batch trains. In-memory datasets ignore it.
    func prefetch(rows: ArraySlice<Int>, targets: Bool)
    /// A hint that the coming reads follow `shuffle`'s order of `rows` (nil: they no longer
    /// do): a streaming dataset may read the blocks of `rows` whole and serve a batch's rows
    /// from them (`HDF5Dataset` does). `fit` in one process calls it with its training rows
    /// before its first epoch, and with nil after its last.
    func readInBlocks(_ shuffle: BlockShuffle?, rows: Range<Int>)
    /// Whether several threads may call `read` at once (on disjoint rows and buffers): then
    /// data-parallel workers each load their own shard of a batch.
    var supportsConcurrentReads: Bool { get }
    /// Hands every sample's inputs, `(samples, ...inputShape)` contiguous, to `body` and
    /// returns its result, when the dataset holds them all in memory: the model's first layer
    /// checks them whole before any step, so a bad sample changes nothing. Nil, without
    /// calling `body`, for a dataset that streams its rows: each batch is then checked as it
    /// is read.
    func withAllInputs<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T?
    /// The shape of one sample's loss weights (Keras's `sample_weight`): `[]`, a weight a
    /// sample, or `[timesteps]`, a weight a step of a sequence output; nil without weights.
    var sampleWeightShape: [Int]? { get }
    /// Copies the weights of `rows` into `weights` (`sampleWeightShape`'s count a row). Only
    /// called when `sampleWeightShape` is not nil.
    func readSampleWeights(rows: ArraySlice<Int>, into weights: UnsafeMutablePointer<Float>) throws
    /// Each sample's sequence length, when the inputs are padded sequences whose mask the
    /// dataset knows (`SequenceLengths`); nil otherwise.
    var sequenceLengths: SequenceLengths? { get }
}

extension Dataset {
    /// Does nothing: the default, for datasets with nothing to read ahead.
    public func prefetch(rows: ArraySlice<Int>, targets: Bool) {}
    /// Does nothing: the default, for datasets whose reads cost the same in any order.
    public func readInBlocks(_ shuffle: BlockShuffle?, rows: Range<Int>) {}
    /// False: the default; `read` is then called from one thread at a time.
    public var supportsConcurrentReads: Bool { false }
    /// Nil: the default, for a dataset that streams its rows.
    public func withAllInputs<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T? { nil }
    /// Nil: the default, for a dataset without sample weights.
    public var sampleWeightShape: [Int]? { nil }
    /// Whether the dataset streams its rows (holds no `withAllInputs`): each batch is then
    /// checked as it is read, and a block shuffle's blocks are held while read.
    var streamsRows: Bool { withAllInputs { _ in () } == nil }
    /// Nil: the default, for inputs without a mask.
    public var sequenceLengths: SequenceLengths? { nil }
    /// Throws: the default, for a dataset without sample weights (never asked for them).
    public func readSampleWeights(rows: ArraySlice<Int>, into weights: UnsafeMutablePointer<Float>) throws {
        throw LoomError.invalidArgument("the dataset has no sample weights")
    }
}

/// A dataset held in memory as tensors `x (samples, ...)` and optional `y (samples, ...)`.
public struct InMemoryDataset: Dataset {
    /// The inputs, `(samples, ...)` with rank 2 or more, all finite.
    public let x: Tensor
    /// The targets, `(samples, ...)` with x's sample count, all finite; nil for prediction input.
    public let y: Tensor?
    /// The loss weights, `(samples)` or `(samples, timesteps)`, finite and not negative; nil for none.
    public let sampleWeight: Tensor?
    /// Each sample's valid steps of x's timesteps (the mask of padded sequences); nil for none.
    public let sequenceLengths: SequenceLengths?

    /// Checks that x, y, the sample weights and the lengths have the same sample count, that
    /// they hold no NaN or Inf, that no weight is negative, and that the lengths fit x's
    /// timesteps.
    public init(x: Tensor, y: Tensor? = nil, sampleWeight: Tensor? = nil, sequenceLengths: SequenceLengths? = nil) throws {
        guard x.rank >= 2 else {
            throw LoomError.shapeMismatch(context: "x", expected: "(samples, ...) with rank >= 2", found: x.shape)
        }
        if let bad = x.firstNonFiniteSample() { throw LoomError.nonFinite(name: "x", sample: bad) }
        if let y {
            guard y.rank >= 1, y.sampleCount == x.sampleCount else {
                throw LoomError.shapeMismatch(
                    context: "y", expected: "(\(x.sampleCount), ...) to match the \(x.sampleCount) samples of x",
                    found: y.shape)
            }
            if let bad = y.firstNonFiniteSample() { throw LoomError.nonFinite(name: "y", sample: bad) }
        }
        if let sampleWeight {
            guard (1...2).contains(sampleWeight.rank) || (sampleWeight.rank == 3 && sampleWeight.shape[2] == 1),
                sampleWeight.sampleCount == x.sampleCount
            else {
                throw LoomError.shapeMismatch(
                    context: "sampleWeight", expected: "(\(x.sampleCount)) or (\(x.sampleCount), timesteps)",
                    found: sampleWeight.shape)
            }
            try sampleWeight.scalars.withUnsafeBufferPointer { weights in
                try SampleWeights.check(
                    weights.baseAddress!, rows: ArraySlice(0..<x.sampleCount), perSample: Shape.count(sampleWeight.sampleShape))
            }
        }
        if let sequenceLengths {
            guard x.rank >= 3, sequenceLengths.lengths.count == x.sampleCount, sequenceLengths.timesteps == x.shape[1] else {
                throw LoomError.shapeMismatch(
                    context: "sequenceLengths", expected: "\(x.sampleCount) lengths of x's (samples, timesteps, ...) timesteps",
                    found: [sequenceLengths.lengths.count, sequenceLengths.timesteps])
            }
        }
        self.x = x
        self.y = y
        self.sampleWeight = sampleWeight
        self.sequenceLengths = sequenceLengths
    }

    /// x's first dimension.
    public var sampleCount: Int { x.sampleCount }
    /// True: reads only copy out of immutable tensors.
    public var supportsConcurrentReads: Bool { true }
    /// x's values.
    public func withAllInputs<T>(_ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T? {
        try x.scalars.withUnsafeBufferPointer(body)
    }
    /// x's shape without its samples axis.
    public var inputShape: [Int] { x.sampleShape }
    /// y's shape without its samples axis; nil without y.
    public var targetShape: [Int]? { y?.sampleShape }
    /// The sample weights' shape without its samples axis; nil without them.
    public var sampleWeightShape: [Int]? { sampleWeight?.sampleShape }

    /// Copies `rows` of the sample weights into `weights`.
    public func readSampleWeights(rows: ArraySlice<Int>, into weights: UnsafeMutablePointer<Float>) throws {
        guard let sampleWeight else { throw LoomError.invalidArgument("the dataset has no sample weights") }
        InMemoryDataset.gather(sampleWeight, rows: rows, into: weights)
    }

    /// Copies `rows` of x (and of y, when both it and `targets` are given) into the buffers; never throws.
    public func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
        InMemoryDataset.gather(x, rows: rows, into: inputs)
        if let y, let targets { InMemoryDataset.gather(y, rows: rows, into: targets) }
    }

    private static func gather(_ tensor: Tensor, rows: ArraySlice<Int>, into buffer: UnsafeMutablePointer<Float>) {
        let stride = Shape.count(tensor.sampleShape)
        tensor.scalars.withUnsafeBufferPointer { source in
            for (k, row) in rows.enumerated() {
                (buffer + k * stride).update(from: source.baseAddress! + row * stride, count: stride)
            }
        }
    }
}
