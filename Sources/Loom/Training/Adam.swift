import Foundation

/// Adam, with Keras 3's update and defaults (epsilon 1e-7, as Keras, not PyTorch's 1e-8):
///
///     α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
///     m += (g − m)(1 − β₁)      v += (g² − v)(1 − β₂)      w −= α·m / (√v + ε)
public final class Adam: Optimizer {
    /// "adam", Keras's name.
    public var name: String { "adam" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// The first moment's decay rate β₁ (default 0.9).
    public let beta1: Float
    /// The second moment's decay rate β₂ (default 0.999).
    public let beta2: Float
    /// Added to √v in the denominator (default 1e-7, Keras's; PyTorch's is 1e-8).
    public let epsilon: Float
    private let firstMoments = FloatBuffer()
    private let secondMoments = FloatBuffer()

    /// Adam with Keras 3's defaults.
    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// The first and second moments m and v, one value per parameter each.
    public var stateBuffers: [FloatBuffer] { [firstMoments, secondMoments] }

    /// An Adam with the same settings and fresh moments.
    public func makeCopy() -> any Optimizer {
        Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Sizes both moments for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        firstMoments.reserve(parameterCount)
        secondMoments.reserve(parameterCount)
        firstMoments.zero()
        secondMoments.zero()
    }

    /// One Adam step on `parameters[range]`, bias-corrected for update number `step` (from 1), in the kernels' `adam`.
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) {
        let t = Float(step)
        let alpha = learningRate * (1 - Float.pow(beta2, t)).squareRoot() / (1 - Float.pow(beta1, t))
        let count = range.count, start = range.lowerBound
        Kernels.table.adam(
            w + start, g + start, firstMoments.pointer + start, secondMoments.pointer + start, count,
            alpha, 1 - beta1, 1 - beta2, epsilon)
    }
}

extension Float {
    /// `base` to the power `exponent` in Float, as TensorFlow computes Adam's bias correction.
    static func pow(_ base: Float, _ exponent: Float) -> Float { Foundation.pow(base, exponent) }
}
