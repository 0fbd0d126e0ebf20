/// RMSprop as in Keras 3 (rho 0.9, epsilon 1e-7, no momentum, not centred by default):
///
///     s = ρ·s + (1 − ρ)·g²;   Δ = lr·g / √(s + ε);   w −= Δ     (momentum μ: u = μ·u + Δ; w −= u)
public final class RMSprop: Optimizer {
    /// "rmsprop", Keras's name.
    public var name: String { "rmsprop" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// The decay ρ of the mean square (default 0.9).
    public let rho: Float
    /// The momentum μ (default 0: none).
    public let momentum: Float
    /// Added to the mean square under the square root (default 1e-7, Keras's).
    public let epsilon: Float
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let meanSquares = FloatBuffer()
    private let momenta = FloatBuffer()

    /// RMSprop with Keras 3's defaults. With a `schedule`, the rate is the schedule's and
    /// `learningRate` is not used.
    public init(
        learningRate: Float = 0.001, rho: Float = 0.9, momentum: Float = 0, epsilon: Float = 1e-7,
        weightDecay: Float? = nil, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The mean squares s and the momenta u (the momenta untouched while `momentum` is 0).
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [meanSquares, momenta] }

    /// An RMSprop with the same settings and fresh state.
    public func makeCopy() -> any Optimizer {
        RMSprop(
            learningRate: learningRate, rho: rho, momentum: momentum, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes the mean squares and momenta for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        meanSquares.reserveDiscarding(parameterCount)
        meanSquares.zero()
        momenta.reserveDiscarding(parameterCount)
        momenta.zero()
    }

    /// One RMSprop step on `parameters[range]`, in the kernels' `rmsprop` (`step` is not used).
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.rmsprop(
            w + start, g + start, meanSquares.pointer + start, momentum == 0 ? nil : momenta.pointer + start,
            range.count, rate, rho, momentum, epsilon)
    }

    /// "RMSprop".
    public var kerasClassName: String? { "RMSprop" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["rho": .number(Double(rho)), "momentum": .number(Double(momentum)), "epsilon": .number(Double(epsilon)), "centered": .flag(false)]
    }

    /// The mean squares (`velocity`) of every variable, then the momenta with momentum.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState {
        KerasOptimizerState(buffers: momentum == 0 ? [0] : [0, 1], interleaved: false)
    }

    /// ρ in [0, 1), momentum in [0, 1], ε ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkDecay(rho, "rho")
        try checkEpsilon(epsilon)
        guard momentum >= 0, momentum <= 1 else {
            throw LoomError.invalidArgument("rmsprop: momentum must be in [0, 1], got \(momentum)")
        }
    }
}
