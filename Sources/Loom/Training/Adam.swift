import Foundation

/// Adam, with Keras 3's update and defaults (epsilon 1e-7, as Keras, not PyTorch's 1e-8):
///
///     α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
///     m += (g − m)(1 − β₁)      v += (g² − v)(1 − β₂)      w −= α·m / (√v + ε)
public final class Adam: Optimizer {
    public var name: String { "adam" }
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    private let firstMoments = FloatBuffer()
    private let secondMoments = FloatBuffer()

    public init(learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public var stateBuffers: [FloatBuffer] { [firstMoments, secondMoments] }

    public func makeCopy() -> any Optimizer {
        Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func prepare(parameterCount: Int) {
        firstMoments.reserve(parameterCount)
        secondMoments.reserve(parameterCount)
        firstMoments.zero()
        secondMoments.zero()
    }

    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) {
        let t = Float(step)
        let alpha = learningRate * (1 - Float.pow(beta2, t)).squareRoot() / (1 - Float.pow(beta1, t))
        let m = firstMoments.pointer, v = secondMoments.pointer
        let (oneMinusBeta1, oneMinusBeta2, epsilon) = (1 - beta1, 1 - beta2, self.epsilon)
        // 8 parameters at a time (the compiler cannot vectorise the loop itself, not knowing
        // that the four arrays are apart); each lane does a plain loop's arithmetic.
        var k = range.lowerBound
        while k < range.upperBound {
            let count = min(VectorMath.width, range.upperBound - k)
            let gk = VectorMath.load(g + k, count: count)
            var mk = VectorMath.load(m + k, count: count), vk = VectorMath.load(v + k, count: count)
            mk += (gk - mk) * oneMinusBeta1
            vk += (gk * gk - vk) * oneMinusBeta2
            let wk = VectorMath.load(w + k, count: count) - mk * alpha / (vk.squareRoot() + epsilon)
            VectorMath.store(mk, to: m + k, count: count)
            VectorMath.store(vk, to: v + k, count: count)
            VectorMath.store(wk, to: w + k, count: count)
            k += count
        }
    }
}

extension Float {
    /// `base` to the power `exponent` in Float, as TensorFlow computes Adam's bias correction.
    static func pow(_ base: Float, _ exponent: Float) -> Float { Foundation.pow(base, exponent) }
}
