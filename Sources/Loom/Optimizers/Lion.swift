/// Lion (evolved sign momentum) as in Keras 3:
///
///     w −= lr · sign(β₁·m + (1 − β₁)·g);   m = β₂·m + (1 − β₂)·g
///
/// Its steps are ±lr per parameter: Keras suggests a rate 3–10 times below AdamW's.
public final class Lion: Optimizer {
    /// "lion", Keras's name.
    public var name: String { "lion" }
    /// The step size (default 0.001, as in Keras).
    public var learningRate: Float
    /// The interpolation of the step's sign, β₁ (default 0.9).
    public let beta1: Float
    /// The momentum's decay β₂ (default 0.99).
    public let beta2: Float
    /// Decoupled weight decay (Keras's `weight_decay`); nil: none.
    public let weightDecay: Float?
    /// Gradient clipping before the update (Keras's clipnorm, global_clipnorm or clipvalue).
    public let clipping: GradientClipping
    /// The learning-rate schedule; nil: a constant `learningRate`.
    public let schedule: (any LearningRateSchedule)?
    private let momenta = FloatBuffer()

    /// Lion with Keras 3's defaults. With a `schedule`, the rate is the schedule's.
    public init(
        learningRate: Float = 0.001, beta1: Float = 0.9, beta2: Float = 0.99, weightDecay: Float? = nil,
        clipping: GradientClipping = .none, schedule: (any LearningRateSchedule)? = nil
    ) {
        self.learningRate = schedule?.rate(afterSteps: 0) ?? learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
        self.clipping = clipping
        self.schedule = schedule
    }

    /// The momenta m, one per parameter.
    @_spi(Kernels) public var stateBuffers: [FloatBuffer] { [momenta] }

    /// A Lion with the same settings and fresh momenta.
    public func makeCopy() -> any Optimizer {
        Lion(
            learningRate: learningRate, beta1: beta1, beta2: beta2, weightDecay: weightDecay, clipping: clipping,
            schedule: schedule)
    }

    /// Sizes the momenta for `parameterCount` parameters and zeroes them.
    public func prepare(parameterCount: Int) {
        momenta.reserveDiscarding(parameterCount)
        momenta.zero()
    }

    /// One Lion step on `parameters[range]`, in the kernels' `lion`.
    public func update(
        parameters w: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int,
        rate: Float
    ) {
        let start = range.lowerBound
        Kernels.table.lion(w + start, g + start, momenta.pointer + start, range.count, rate, beta1, beta2)
    }

    /// "Lion".
    public var kerasClassName: String? { "Lion" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] { ["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2))] }

    /// The momenta.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: [0]) }

    /// Keras's checks: β₁ in (0, 1]; β₂ in [0, 1).
    public func check() throws {
        try checkCommonSettings()
        guard beta1 > 0, beta1 <= 1 else {
            throw LoomError.invalidArgument("lion: beta_1 must be in (0, 1], got \(beta1)")
        }
        try checkDecay(beta2, "beta_2")
    }
}
