/// A linear warmup from 0 to `target` over `warmupSteps` updates, then `decay` (counted from
/// the end of the warmup), or `target` held when there is none: Goyal et al.'s gradual
/// warmup. Keras has no such class (its `CosineDecay` has a warmup of its own); a model whose
/// optimizer has one is not written to Keras files with it.
public struct LinearWarmup: LearningRateSchedule {
    /// The rate the warmup reaches.
    public let target: Float
    /// The updates the warmup lasts.
    public let warmupSteps: Int
    /// What follows the warmup, at its own step count from 0; nil: `target` held.
    public let decay: (any LearningRateSchedule)?

    /// A warmup to `target` over `warmupSteps` updates, then `decay`.
    public init(target: Float, warmupSteps: Int, then decay: (any LearningRateSchedule)? = nil) {
        self.target = target
        self.warmupSteps = warmupSteps
        self.decay = decay
    }

    /// Keras's class name.
    public var kerasClassName: String { "LinearWarmup" }

    /// target · (step + 1) / (warmupSteps + 1) during the warmup (the first update is not at
    /// rate 0), then the decay's rate.
    public func rate(afterSteps step: Int) -> Float {
        if step < warmupSteps { return target * (float(step) + 1) / (Float(warmupSteps) + 1) }
        return decay?.rate(afterSteps: step - warmupSteps) ?? target
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        ["target": .number(Double(target)), "warmup_steps": .integer(warmupSteps)]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe("warmup", ["target": "\(target)", "warmup-steps": "\(warmupSteps)", "then": decay.map { "(\($0))" } ?? "none"])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        try ScheduleCheck.rate(target, "target", in: kerasClassName)
        guard warmupSteps >= 0 else { throw LoomError.invalidArgument("LinearWarmup: warmup_steps must be >= 0, got \(warmupSteps)") }
        try decay?.check()
    }
}
