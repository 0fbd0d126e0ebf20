import Foundation

/// The activation functions of Keras that Loom's layers accept, by Keras's names.
///
/// Each is applied in place to a buffer, and each derivative is written in terms of the
/// activation's *output* `y`, so a backward pass needs only what the forward pass kept.
public enum Activation: String, Sendable, CaseIterable {
    case linear
    case relu
    case sigmoid
    case tanh
    /// Keras 3's `hard_sigmoid`: `relu6(x + 3) / 6`.
    case hardSigmoid = "hard_sigmoid"
    /// Keras 2's `hard_sigmoid`: `clip(0.2·x + 0.5, 0, 1)`, as models saved by Keras 2 and
    /// tf.keras compute it (their files say "hard_sigmoid"; the Keras readers map it here).
    case hardSigmoidKeras2 = "hard_sigmoid_keras2"
    /// Over the last axis; only where a whole row is at hand (Dense outputs).
    case softmax

    /// Parses a Keras name (`"tanh"`, `"hard_sigmoid"`, ...).
    public init(kerasName: String) throws {
        guard let activation = Activation(rawValue: kerasName) else {
            throw LoomError.invalidArgument(
                "unknown activation '\(kerasName)'; expected one of "
                    + Activation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = activation
    }

    /// `y = f(x)` over `rows` rows of `width` values each, in place.
    @inlinable
    public func apply(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        switch self {
        case .softmax:
            for row in 0..<rows { Activation.softmaxRow(values + row * width, width: width) }
        default:
            apply(values, count: rows * width)
        }
    }

    /// `y = f(x)` elementwise over `count` values, in place (not for softmax).
    @inlinable
    public func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear: return
        case .relu: VectorMath.map(values, count: count) { VectorMath.relu($0) }
        case .sigmoid: VectorMath.map(values, count: count) { VectorMath.sigmoid($0) }
        case .tanh: VectorMath.map(values, count: count) { VectorMath.tanh($0) }
        case .hardSigmoid:
            VectorMath.map(values, count: count) { VectorMath.hardSigmoid($0) }
        case .hardSigmoidKeras2:
            VectorMath.map(values, count: count) { VectorMath.hardSigmoidKeras2($0) }
        case .softmax:
            preconditionFailure("softmax needs rows; use apply(_:rows:width:)")
        }
    }

    /// f'(x) from y = f(x), 16 values at a time (not for softmax).
    @inlinable @inline(__always)
    public func derivative(fromOutput y: VectorMath.Wide) -> VectorMath.Wide {
        switch self {
        case .linear: return VectorMath.Wide(repeating: 1)
        case .relu: return VectorMath.Wide(repeating: 0).replacing(with: 1, where: y .> 0)
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .hardSigmoid:
            return VectorMath.Wide(repeating: 0).replacing(with: 1 / 6, where: (y .> 0) .& (y .< 1))
        case .hardSigmoidKeras2:
            return VectorMath.Wide(repeating: 0).replacing(with: 0.2, where: (y .> 0) .& (y .< 1))
        case .softmax: preconditionFailure("softmax has no elementwise derivative")
        }
    }

    /// Turns `gradient` (dL/dy) into dL/dx in place, from the outputs `y` of `apply`.
    ///
    /// For softmax, over rows of `width`: `dx = y ⊙ (dy − Σ dy ⊙ y)`.
    @inlinable
    public func backward(
        output y: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>,
        rows: Int, width: Int
    ) {
        switch self {
        case .linear: return
        case .softmax:
            for row in 0..<rows {
                let yRow = y + row * width, gRow = gradient + row * width
                var dot: Float = 0
                for j in 0..<width { dot += yRow[j] * gRow[j] }
                for j in 0..<width { gRow[j] = yRow[j] * (gRow[j] - dot) }
            }
        default:
            let count = rows * width
            var i = 0
            while i < count {
                let n = min(8, count - i)
                let dy = VectorMath.load(gradient + i, count: n)
                VectorMath.store(dy * derivative(fromOutput: VectorMath.load(y + i, count: n)), to: gradient + i, count: n)
                i += n
            }
        }
    }

    /// f'(x) from y = f(x), 8 values at a time (not for softmax): the 16-lane formula's low half.
    @inlinable @inline(__always)
    public func derivative(fromOutput y: VectorMath.Vector) -> VectorMath.Vector {
        derivative(fromOutput: VectorMath.Wide(lowHalf: y, highHalf: VectorMath.Vector())).lowHalf
    }

    /// f'(x) from y = f(x) for one value, through the vector formula (one definition of each).
    @inlinable @inline(__always)
    public func derivative(fromOutput y: Float) -> Float {
        derivative(fromOutput: VectorMath.Vector(repeating: y))[0]
    }

    /// Numerically stable softmax of one row: subtract the max before exponentiating.
    @usableFromInline
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, width: Int) {
        var maximum = -Float.infinity
        for j in 0..<width { maximum = max(maximum, row[j]) }
        var sum: Float = 0
        for j in 0..<width {
            row[j] = Foundation.exp(row[j] - maximum)
            sum += row[j]
        }
        let scale = 1 / sum
        for j in 0..<width { row[j] *= scale }
    }
}
