/// Adagrad as in Keras 3: a ← a + g²;  w −= lr·g / √(a + ε), the accumulators starting at
/// `initialAccumulatorValue` (default 0.1).
public final class Adagrad: Optimizer {
    /// "adagrad", Keras's name.
    public var name: String { "adagrad" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// Every accumulator's first value (default 0.1).
    public let initialAccumulatorValue: Float
    /// Added under the square root (default 1e-7).
    public let epsilon: Float
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let accumulators = FloatBuffer()

    /// Adagrad with Keras 3's defaults. With a `schedule`, the rate is the schedule's.
    public init(
        learningRate: Float = 0.001, initialAccumulatorValue: Float = 0.1, epsilon: Float = 1e-7,
        weightDecay: Float? = nil, clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The accumulated squared gradients, one per parameter.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [accumulators] }

    /// An Adagrad with the same settings and fresh accumulators.
    public func makeCopy() -> any Optimizer {
        Adagrad(
            learningRate: learningRate, initialAccumulatorValue: initialAccumulatorValue, epsilon: epsilon,
            weightDecay: weightDecay, clipping: clipping, schedule: schedule)
    }

    /// Sizes the accumulators and fills them with `initialAccumulatorValue`.
    public func prepare(parameterCount: Int) {
        accumulators.reserveDiscarding(parameterCount).update(repeating: initialAccumulatorValue, count: parameterCount)
    }

    /// One Adagrad step on `parameters[range]`, in the kernels' `adagrad`.
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.adagrad(w + start, g + start, accumulators.pointer + start, range.count, rate, epsilon)
    }

    /// "Adagrad".
    public var kerasClassName: String? { "Adagrad" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["initial_accumulator_value": .number(Double(initialAccumulatorValue)), "epsilon": .number(Double(epsilon))]
    }

    /// The accumulators.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: [0]) }

    /// The initial accumulator value and ε finite and ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkEpsilon(epsilon)
        guard initialAccumulatorValue.isFinite, initialAccumulatorValue >= 0 else {
            throw LoomError.invalidArgument(
                "adagrad: initial_accumulator_value must be a finite number >= 0, got \(initialAccumulatorValue)")
        }
    }
}
