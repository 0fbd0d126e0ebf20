import Foundation

/// Adam, with Keras 3's update and defaults (epsilon 1e-7, as Keras, not PyTorch's 1e-8):
///
///     α = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
///     m += (g − m)(1 − β₁)      v += (g² − v)(1 − β₂)      w −= α·m / (√v + ε)
///
/// `AdamW` is Adam with a weight decay by default.
public class Adam: Optimizer {
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
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let firstMoments = FloatBuffer()
    private let secondMoments = FloatBuffer()

    /// Adam with Keras 3's defaults. With a `schedule`, the rate is the schedule's and
    /// `learningRate` is not used.
    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7,
        weightDecay: Float? = nil, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The first and second moments m and v, one value per parameter each.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [firstMoments, secondMoments] }

    /// An Adam with the same settings and fresh moments.
    public func makeCopy() -> any Optimizer {
        Adam(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes both moments for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        firstMoments.reserveDiscarding(parameterCount)
        secondMoments.reserveDiscarding(parameterCount)
        firstMoments.zero()
        secondMoments.zero()
    }

    /// One Adam step on `parameters[range]`, bias-corrected for update number `step` (from 1), in the kernels' `adam`.
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let t = Float(step)
        let alpha = rate * (1 - Float.pow(beta2, t)).squareRoot() / (1 - Float.pow(beta1, t))
        let count = range.count, start = range.lowerBound
        Kernels.table.adam(
            w + start, g + start, firstMoments.pointer + start, secondMoments.pointer + start, count,
            alpha, 1 - beta1, 1 - beta2, epsilon)
    }

    /// "Adam".
    public var kerasClassName: String? { "Adam" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)), "epsilon": .number(Double(epsilon)), "amsgrad": .flag(false)]
    }

    /// m and v (`momentum`, `velocity`), side by side.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: [0, 1]) }

    /// β₁ and β₂ in [0, 1), ε ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkDecay(beta1, "beta_1")
        try checkDecay(beta2, "beta_2")
        try checkEpsilon(epsilon)
    }
}

/// Adam with decoupled weight decay (Keras 3's `AdamW`: its `weight_decay` defaults to 0.004).
public final class AdamW: Adam {
    /// "adamw", Keras's name.
    public override var name: String { "adamw" }

    /// "AdamW".
    public override var kerasClassName: String? { "AdamW" }

    /// AdamW with Keras 3's defaults.
    public init(
        learningRate: Float = 0.001, weightDecay: Float = 0.004, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-7, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        super.init(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// An AdamW with the same settings and fresh moments.
    public override func makeCopy() -> any Optimizer {
        AdamW(
            learningRate: learningRate, weightDecay: weightDecay ?? 0, beta1: beta1, beta2: beta2, epsilon: epsilon,
            clipping: clipping, schedule: schedule)
    }
}

extension Float {
    /// `base` to the power `exponent` in Float, as TensorFlow computes Adam's bias correction.
    static func pow(_ base: Float, _ exponent: Float) -> Float { Foundation.pow(base, exponent) }
}
