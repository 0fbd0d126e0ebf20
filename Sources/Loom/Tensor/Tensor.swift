/// A dense, row-major (C order) array of `Float` with a shape, batch first.
///
/// `Tensor` is what users hand to and get back from a model. The layers themselves work on
/// raw buffers they own (see `Layer`); a tensor is copied into those once per batch.
public struct Tensor: Equatable, Sendable {
    /// The dimensions, outermost first: `[samples, timesteps, features]` for a sequence batch.
    public let shape: [Int]
    /// The values in row-major order; `scalars.count == shape.reduce(1, *)`.
    public internal(set) var scalars: [Float]

    /// A tensor of the given shape and values; throws if the counts differ.
    public init(shape: [Int], scalars: [Float]) throws {
        // Checked: a shape from a file may overflow the count.
        guard shape.allSatisfy({ $0 >= 0 }), Shape.checkedCount(shape) == scalars.count else {
            throw LoomError.shapeMismatch(
                context: "Tensor(shape:scalars:) with \(scalars.count) values",
                expected: "with \(scalars.count) elements", found: shape)
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.scalars = [Float](repeating: value, count: Shape.count(shape))
    }

    /// A tensor of the given shape holding a copy of `shape.reduce(1, *)` values at `source`.
    public init(shape: [Int], copying source: UnsafePointer<Float>) {
        self.shape = shape
        self.scalars = Array(UnsafeBufferPointer(start: source, count: Shape.count(shape)))
    }

    /// Calls `body` with the values' storage, to fill or change them in place.
    public mutating func withUnsafeMutableScalars<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The size of the first dimension (the samples), 0 for a scalar.
    public var sampleCount: Int { shape.first ?? 0 }

    /// The shape of one sample: `shape` without its first dimension.
    public var sampleShape: [Int] { Array(shape.dropFirst()) }

    /// The value at a full index (one entry per dimension).
    public subscript(_ index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, dim) in zip(index, shape) { flat = flat * dim + i }
        return flat
    }

    /// Samples `range` of the first dimension, as a new tensor.
    public func samples(_ range: Range<Int>) -> Tensor {
        let stride = Shape.count(sampleShape)
        var result = Tensor(shape: [range.count] + sampleShape)
        result.scalars = Array(scalars[range.lowerBound * stride..<range.upperBound * stride])
        return result
    }

    /// The index of the first sample holding NaN or Inf, or nil.
    public func firstNonFiniteSample() -> Int? {
        let stride = max(1, Shape.count(sampleShape))
        return scalars.withUnsafeBufferPointer { values in
            for i in values.indices where !values[i].isFinite { return i / stride }
            return nil
        }
    }
}
