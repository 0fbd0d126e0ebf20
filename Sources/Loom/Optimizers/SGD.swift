/// Stochastic gradient descent with optional momentum and Nesterov momentum, as in Keras 3:
///
///     no momentum:  w −= lr·g
///     momentum μ:   v = μ·v − lr·g;  w += v           (nesterov: w += μ·v − lr·g)
public final class SGD: Optimizer {
    /// "sgd", Keras's name.
    public var name: String { "sgd" }
    /// The step size (default 0.01, as in Keras).
    public var learningRate: Float
    /// The velocity's decay μ (default 0: plain gradient descent).
    public let momentum: Float
    /// Whether to take the Nesterov step (default false).
    public let nesterov: Bool
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let velocities = FloatBuffer()

    /// SGD with Keras 3's defaults: learning rate 0.01, no momentum. With a `schedule`, the
    /// rate is the schedule's and `learningRate` is not used.
    public init(
        learningRate: Float = 0.01, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float? = nil,
        clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The velocities, one per parameter (untouched while `momentum` is 0).
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [velocities] }

    /// An SGD with the same settings and fresh velocities.
    public func makeCopy() -> any Optimizer {
        SGD(
            learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes the velocities for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        velocities.reserveDiscarding(parameterCount)
        velocities.zero()
    }

    /// One SGD step on `parameters[range]`, in the kernels' `sgd` (`step` is not used).
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.sgd(
            w + start, g + start, momentum == 0 ? nil : velocities.pointer + start, range.count, rate, momentum, nesterov)
    }

    /// "SGD".
    public var kerasClassName: String? { "SGD" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] { ["momentum": .number(Double(momentum)), "nesterov": .flag(nesterov)] }

    /// The velocities (Keras's `momentum`), only with momentum.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: momentum == 0 ? [] : [0]) }

    /// Keras's checks: momentum in [0, 1].
    public func check() throws {
        try checkCommonSettings()
        guard momentum >= 0, momentum <= 1 else {
            throw LoomError.invalidArgument("sgd: momentum must be in [0, 1], got \(momentum)")
        }
    }
}
