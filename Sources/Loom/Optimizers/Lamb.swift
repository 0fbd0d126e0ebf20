/// Lamb (layer-wise adaptive moments) as in Keras 3: Adam's moments, and each variable's
/// step scaled by the ratio of its weights' norm to its Adam direction's norm:
///
///     m += (g − m)(1 − β₁)      v += (g² − v)(1 − β₂)
///     d = (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
///     r = ‖w‖ / ‖d‖ (1 when either is 0)      w −= r·lr·d
///
/// Weight decay, when set, is Keras's decoupled decay applied before (so ‖w‖ is taken after it).
public final class Lamb: LayerwiseOptimizer {
    /// "lamb", Keras's name.
    public var name: String { "lamb" }
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
    /// The step's directions d (scratch between the two phases, not state).
    private let directions = FloatBuffer()

    /// Lamb with Keras 3's defaults. With a `schedule`, the rate is the schedule's.
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

    /// A Lamb with the same settings and fresh moments.
    public func makeCopy() -> any Optimizer {
        Lamb(
            learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
            clipping: clipping, schedule: schedule)
    }

    /// Sizes the moments (zeroed) and the directions for `parameterCount` parameters.
    public func prepare(parameterCount: Int) {
        firstMoments.reserveDiscarding(parameterCount)
        secondMoments.reserveDiscarding(parameterCount)
        directions.reserveDiscarding(parameterCount)
        firstMoments.zero()
        secondMoments.zero()
    }

    /// Updates m and v on `range` and writes the directions d there.
    public func prepareDirections(
        parameters: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, range: Range<Int>, step: Int
    ) -> UnsafePointer<Float> {
        let start = range.lowerBound, t = Float(step)
        Kernels.table.lambDirections(
            g + start, firstMoments.pointer + start, secondMoments.pointer + start, directions.pointer + start,
            range.count, 1 - beta1, 1 - beta2, 1 - Float.pow(beta1, t), 1 - Float.pow(beta2, t), epsilon)
        return UnsafePointer(directions.pointer)
    }

    /// ‖w‖ / ‖d‖, or 1 when either is 0.
    public func trustRatio(weightNorm: Float, directionNorm: Float) -> Float {
        weightNorm > 0 && directionNorm > 0 ? weightNorm / directionNorm : 1
    }

    /// w −= (ratio · lr) · d on `range`.
    public func applyDirections(
        parameters w: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, range: Range<Int>, rate: Float,
        trustRatio: Float
    ) {
        let start = range.lowerBound
        Kernels.table.subtractScaled(w + start, directions.pointer + start, range.count, trustRatio * rate)
    }

    /// "Lamb".
    public var kerasClassName: String? { "Lamb" }

    /// Keras's arguments of this optimizer.
    public var kerasArguments: [String: KerasArgument] {
        ["beta_1": .number(Double(beta1)), "beta_2": .number(Double(beta2)), "epsilon": .number(Double(epsilon))]
    }

    /// m and v side by side.
    public func kerasState(afterSteps step: Int) -> KerasOptimizerState { KerasOptimizerState(buffers: [0, 1]) }

    /// β₁ and β₂ in [0, 1), ε ≥ 0.
    public func check() throws {
        try checkCommonSettings()
        try checkDecay(beta1, "beta_1")
        try checkDecay(beta2, "beta_2")
        try checkEpsilon(epsilon)
    }
}
