/// LARS (layer-wise adaptive rate scaling; You, Gitman and Ginsburg 2017, "Large Batch
/// Training of Convolutional Networks", Algorithm 1), which Keras does not have. Each
/// variable's rate is scaled by its trust ratio, with momentum and the paper's weight decay
/// β coupled into the gradient:
///
///     λ = η·‖w‖ / (‖g‖ + β‖w‖ + ε)   (1 when ‖w‖ or ‖g‖ is 0)
///     v = μ·v + lr·λ·(g + β·w);      w −= v
///
/// Defaults: lr 1 (the paper's global rate, meant to be scheduled), momentum μ 0.9, trust
/// coefficient η 0.001, β 0, ε 0. `weightDecay` (Keras's decoupled decay) is not used: β is
/// `decay`.
public final class LARS: LayerwiseOptimizer {
    /// "lars".
    public var name: String { "lars" }
    /// The global rate γ (default 1).
    public var learningRate: Float
    /// The momentum μ (default 0.9).
    public let momentum: Float
    /// The trust coefficient η (default 0.001).
    public let trustCoefficient: Float
    /// The paper's weight decay β, in the gradient and the trust ratio (default 0).
    public let decay: Float
    /// Added to the trust ratio's denominator (default 0).
    public let epsilon: Float
    /// Always nil: LARS's weight decay is `decay`.
    public var weightDecay: Float? { nil }
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let velocities = FloatBuffer()

    /// LARS with the paper's defaults. With a `schedule`, the rate is the schedule's.
    public init(
        learningRate: Float = 1, momentum: Float = 0.9, trustCoefficient: Float = 0.001, decay: Float = 0,
        epsilon: Float = 0, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.momentum = momentum
        self.trustCoefficient = trustCoefficient
        self.decay = decay
        self.epsilon = epsilon
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The velocities v, one per parameter.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [velocities] }

    /// A LARS with the same settings and fresh velocities.
    public func makeCopy() -> any Optimizer {
        LARS(
            learningRate: learningRate, momentum: momentum, trustCoefficient: trustCoefficient, decay: decay,
            epsilon: epsilon, clipping: clipping, schedule: schedule)
    }

    /// Sizes the velocities for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        velocities.reserveDiscarding(parameterCount)
        velocities.zero()
    }

    /// Nothing to prepare: the ratio takes the gradient's norm.
    public func prepareDirections(
        parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) -> UnsafePointer<Float> {
        gradients
    }

    /// η‖w‖ / (‖g‖ + β‖w‖ + ε), or 1 when ‖w‖ or ‖g‖ is 0.
    public func trustRatio(weightNorm: Float, directionNorm gradientNorm: Float) -> Float {
        guard weightNorm > 0, gradientNorm > 0 else { return 1 }
        return trustCoefficient * weightNorm / (gradientNorm + decay * weightNorm + epsilon)
    }

    /// v = μv + (lr·λ)(g + βw); w −= v on `range`.
    public func applyDirections(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, rate: Float,
        trustRatio: Float
    ) {
        let start = range.lowerBound
        Kernels.table.lars(w + start, g + start, velocities.pointer + start, range.count, rate * trustRatio, decay, momentum)
    }

    /// Momentum in [0, 1]; η, β and ε finite and ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        guard momentum >= 0, momentum <= 1 else {
            throw LoomError.invalidArgument("lars: momentum must be in [0, 1], got \(momentum)")
        }
        for (value, argument) in [(trustCoefficient, "trust_coefficient"), (decay, "decay"), (epsilon, "epsilon")]
        where !(value.isFinite && value >= 0) {
            throw LoomError.invalidArgument("lars: \(argument) must be a finite number >= 0, got \(value)")
        }
    }
}
