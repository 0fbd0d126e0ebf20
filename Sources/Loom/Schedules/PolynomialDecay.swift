/// Keras's `PolynomialDecay`: rate = (initial − end) · (1 − step / decaySteps)^power + end,
/// the step held at `decaySteps` after it, or with `cycle` the decay stretched to the next
/// multiple of `decaySteps` past the step.
public struct PolynomialDecay: LearningRateSchedule {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The updates one decay period lasts.
    public let decaySteps: Int
    /// The rate reached after `decaySteps`.
    public let endLearningRate: Float
    /// The polynomial's power.
    public let power: Float
    /// Whether the decay restarts past `decaySteps`.
    public let cycle: Bool

    /// Keras's arguments and defaults.
    public init(
        initialLearningRate: Float, decaySteps: Int, endLearningRate: Float = 0.0001, power: Float = 1, cycle: Bool = false
    ) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.endLearningRate = endLearningRate
        self.power = power
        self.cycle = cycle
    }

    /// Keras's class name.
    public var kerasClassName: String { "PolynomialDecay" }

    /// The rate of the update that follows `step` updates.
    public func rate(afterSteps step: Int) -> Float {
        var current = float(step), steps = Float(decaySteps)
        if cycle {
            let multiplier = current == 0 ? 1 : (current / Float(decaySteps)).rounded(.up)
            steps *= multiplier
        } else {
            current = min(current, steps)
        }
        let p = current / steps
        return (initialLearningRate - endLearningRate) * Float.pow(1 - p, power) + endLearningRate
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        [
            "initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .integer(decaySteps),
            "end_learning_rate": .number(Double(endLearningRate)), "power": .number(Double(power)), "cycle": .flag(cycle),
        ]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe(
            "polynomial",
            [
                "initial": "\(initialLearningRate)", "decay-steps": "\(decaySteps)", "end": "\(endLearningRate)",
                "power": "\(power)", "cycle": "\(cycle)",
            ])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        try ScheduleCheck.rate(initialLearningRate, "initial_learning_rate", in: kerasClassName)
        try ScheduleCheck.rate(endLearningRate, "end_learning_rate", in: kerasClassName)
        try ScheduleCheck.rate(power, "power", in: kerasClassName)
        try ScheduleCheck.steps(decaySteps, "decay_steps", in: kerasClassName)
    }
}
