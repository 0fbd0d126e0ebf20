import Foundation
import LoomKernels

/// The activation functions of Keras that Loom's layers accept, by Keras's names.
///
/// Each is applied in place to a buffer, and each derivative is written in terms of the
/// activation's *output* `y`, so a backward pass needs only what the forward pass kept.
public enum Activation: String, Sendable, CaseIterable {
    /// The identity, `f(x) = x` (Keras's default activation).
    case linear
    /// `max(x, 0)`.
    case relu
    /// `1 / (1 + e^−x)`.
    case sigmoid
    /// The hyperbolic tangent (the recurrent layers' default activation).
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

    /// `y = f(x)` elementwise over `count` values, in place (not for softmax), in the
    /// kernels' vectors (`Kernels`).
    public func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        precondition(self != .softmax, "softmax needs rows; use apply(_:rows:width:)")
        Kernels.table.activate(kernelKind, values, count)
    }

    /// f'(x) from y = f(x) (not for softmax).
    @inlinable
    public func derivative(fromOutput y: Float) -> Float {
        switch self {
        case .linear: return 1
        case .relu: return y > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .hardSigmoid: return y > 0 && y < 1 ? 1 / 6 : 0
        case .hardSigmoidKeras2: return y > 0 && y < 1 ? 0.2 : 0
        case .softmax: preconditionFailure("softmax has no elementwise derivative")
        }
    }

    /// Turns `gradient` (dL/dy) into dL/dx in place, from the outputs `y` of `apply`.
    ///
    /// For softmax, over rows of `width`: `dx = y ⊙ (dy − Σ dy ⊙ y)`.
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
            Kernels.table.activationBackward(kernelKind, y, gradient, rows * width)
        }
    }

    /// The kernels' name for this activation (not for softmax, which needs whole rows).
    var kernelKind: LoomActivationKind {
        switch self {
        case .linear: return LoomActivationLinear
        case .relu: return LoomActivationReLU
        case .sigmoid: return LoomActivationSigmoid
        case .tanh: return LoomActivationTanh
        case .hardSigmoid: return LoomActivationHardSigmoid
        case .hardSigmoidKeras2: return LoomActivationHardSigmoidKeras2
        case .softmax: preconditionFailure("softmax has no elementwise kernel")
        }
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
