/// Nadam (Adam with Nesterov momentum) as in Keras 3, with its momentum schedule
/// μₜ = β₁(1 − ½·0.96ᵗ) and their running product Πₜ = μ₁⋯μₜ:
///
///     m += (g − m)(1 − β₁)      v += (g² − v)(1 − β₂)
///     m̂ = μₜ₊₁·m / (1 − Πₜ·μₜ₊₁) + (1 − μₜ)·g / (1 − Πₜ)      w −= m̂·lr / (√(v / (1 − β₂ᵗ)) + ε)
///
/// Πₜ is kept as Keras keeps it (a Float product, one factor an update), recomputed from the
/// update count when a run resumes.
public final class Nadam: Optimizer {
    /// "nadam", Keras's name.
    public var name: String { "nadam" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// The first moment's decay rate β₁ (default 0.9).
    public let beta1: Float
    /// The second moment's decay rate β₂ (default 0.999).
    public let beta2: Float
    /// Added to the root in the denominator (default 1e-7).
    public let epsilon: Float
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let firstMoments = FloatBuffer()
    private let secondMoments = FloatBuffer()
    /// Πₜ and its t (Π₀ = 1).
    private var product: (step: Int, value: Float) = (0, 1)
    /// The update's weights of m and of g in m̂, set by `willUpdate`.
    private var weights: (momentum: Float, gradient: Float) = (0, 0)

    /// Nadam with Keras 3's defaults. With a `schedule`, the rate is the schedule's.
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

    /// The moments m and v, one value per parameter each.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [firstMoments, secondMoments] }

    /// A Nadam with the same settings and fresh state.
    public func makeCopy() -> any Optimizer {
        Nadam(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes m and v for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        firstMoments.reserveDiscarding(parameterCount)
        secondMoments.reserveDiscarding(parameterCount)
        firstMoments.zero()
        secondMoments.zero()
        product = (0, 1)
    }

    /// μₜ = β₁(1 − ½·0.96ᵗ), in Float.
    private func momentum(_ t: Int) -> Float { beta1 * (1 - 0.5 * Float.pow(0.96, Float(t))) }

    /// Πₜ after `step` updates, from Π₀ (as `willUpdate` builds it).
    func runningProduct(afterSteps step: Int) -> Float {
        if product.step == step { return product.value }
        var value: Float = 1
        for t in stride(from: 1, through: step, by: 1) { value = value * beta1 * (1 - 0.5 * Float.pow(0.96, Float(t))) }
        return value
    }

    /// Advances Πₜ to `step` (from its last value, or from Π₀ after a resume) and sets the
    /// update's weights of m and g.
    public func willUpdate(step: Int) {
        if product.step != step - 1 { product = (0, 1) }
        while product.step < step {
            product = (product.step + 1, product.value * beta1 * (1 - 0.5 * Float.pow(0.96, Float(product.step + 1))))
        }
        let next = momentum(step + 1)
        weights = (next / (1 - product.value * next), (1 - momentum(step)) / (1 - product.value))
    }

    /// One Nadam step on `parameters[range]` for update number `step` (after `willUpdate(step:)`).
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.nadam(
            w + start, g + start, firstMoments.pointer + start, secondMoments.pointer + start, range.count, rate,
            1 - beta1, 1 - beta2, weights.momentum, weights.gradient, 1 - Float.pow(beta2, Float(step)), epsilon)
    }

    /// "Nadam".
    public var kerasClassName: String? { "Nadam" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)), "epsilon": .number(Double(epsilon))]
    }

    /// m and v side by side, then the running product Πₜ.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState {
        KerasOptimizerState(buffers: [0, 1], scalars: [runningProduct(afterSteps: step)])
    }

    /// β₁ and β₂ in [0, 1), ε ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkDecay(beta1, "beta_1")
        try checkDecay(beta2, "beta_2")
        try checkEpsilon(epsilon)
    }
}
