/// Keras's `ExponentialDecay`: rate = initial · decayRate^(step / decaySteps), the exponent
/// floored when `staircase`.
public struct ExponentialDecay: LearningRateSchedule {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The updates one decay period lasts.
    public let decaySteps: Int
    /// The decay's rate.
    public let decayRate: Float
    /// Whether the decay falls in steps, once every `decaySteps`.
    public let staircase: Bool

    /// Keras's arguments and defaults.
    public init(initialLearningRate: Float, decaySteps: Int, decayRate: Float, staircase: Bool = false) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.decayRate = decayRate
        self.staircase = staircase
    }

    /// Keras's class name.
    public var kerasClassName: String { "ExponentialDecay" }

    /// The rate of the update that follows `step` updates.
    public func rate(afterSteps step: Int) -> Float {
        var p = float(step) / Float(decaySteps)
        if staircase { p = p.rounded(.down) }
        return initialLearningRate * Float.pow(decayRate, p)
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        [
            "initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .integer(decaySteps),
            "decay_rate": .number(Double(decayRate)), "staircase": .flag(staircase),
        ]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe(
            "exponential",
            [
                "initial": "\(initialLearningRate)", "decay-steps": "\(decaySteps)", "decay-rate": "\(decayRate)",
                "staircase": "\(staircase)",
            ])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        try ScheduleCheck.rate(initialLearningRate, "initial_learning_rate", in: kerasClassName)
        try ScheduleCheck.rate(decayRate, "decay_rate", in: kerasClassName)
        try ScheduleCheck.steps(decaySteps, "decay_steps", in: kerasClassName)
    }
}
