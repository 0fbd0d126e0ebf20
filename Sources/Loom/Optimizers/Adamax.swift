/// Adamax (Adam with the infinity norm) as in Keras 3:
///
///     m += (g − m)(1 − β₁);   u = max(β₂·u, |g|);   w −= lr·m / ((1 − β₁ᵗ)(u + ε))
public final class Adamax: Optimizer {
    /// "adamax", Keras's name.
    public var name: String { "adamax" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// The first moment's decay rate β₁ (default 0.9).
    public let beta1: Float
    /// The infinity norm's decay rate β₂ (default 0.999).
    public let beta2: Float
    /// Added to u in the denominator (default 1e-7).
    public let epsilon: Float
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let moments = FloatBuffer()
    private let norms = FloatBuffer()

    /// Adamax with Keras 3's defaults. With a `schedule`, the rate is the schedule's.
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

    /// The moments m and the infinity norms u, one value per parameter each.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [moments, norms] }

    /// An Adamax with the same settings and fresh state.
    public func makeCopy() -> any Optimizer {
        Adamax(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes m and u for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        moments.reserveDiscarding(parameterCount)
        norms.reserveDiscarding(parameterCount)
        moments.zero()
        norms.zero()
    }

    /// One Adamax step on `parameters[range]` for update number `step`, in the kernels' `adamax`.
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.adamax(
            w + start, g + start, moments.pointer + start, norms.pointer + start, range.count, rate, 1 - beta1, beta2,
            epsilon, 1 - Float.pow(beta1, Float(step)))
    }

    /// "Adamax".
    public var kerasClassName: String? { "Adamax" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)), "epsilon": .number(Double(epsilon))]
    }

    /// m and u (`momentum`, `norm`), side by side.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: [0, 1]) }

    /// β₁ and β₂ in [0, 1), ε ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkDecay(beta1, "beta_1")
        try checkDecay(beta2, "beta_2")
        try checkEpsilon(epsilon)
    }
}
