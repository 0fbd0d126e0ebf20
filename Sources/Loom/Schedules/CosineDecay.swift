import Foundation

/// Keras's `CosineDecay`, with its optional linear warmup: without `warmupTarget`, rate =
/// initial · ((1 − α) · ½(1 + cos(π · min(step, decaySteps) / decaySteps)) + α); with it, the
/// rate rises linearly from `initialLearningRate` to `warmupTarget` over `warmupSteps`, then
/// decays from `warmupTarget` by the same cosine over `decaySteps`.
public struct CosineDecay: LearningRateSchedule {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The updates one decay period lasts.
    public let decaySteps: Int
    /// The floor, as a fraction of the rate decayed from.
    public let alpha: Float
    /// The rate warmup reaches; nil: no warmup.
    public let warmupTarget: Float?
    /// The updates the warmup lasts.
    public let warmupSteps: Int

    /// Keras's arguments and defaults.
    public init(
        initialLearningRate: Float, decaySteps: Int, alpha: Float = 0, warmupTarget: Float? = nil, warmupSteps: Int = 0
    ) {
        self.initialLearningRate = initialLearningRate
        self.decaySteps = decaySteps
        self.alpha = alpha
        self.warmupTarget = warmupTarget
        self.warmupSteps = warmupSteps
    }

    /// Keras's class name.
    public var kerasClassName: String { "CosineDecay" }

    /// The rate of the update that follows `step` updates.
    public func rate(afterSteps step: Int) -> Float {
        let steps = Float(decaySteps)
        guard let warmupTarget else { return decayed(min(float(step), steps), from: initialLearningRate) }
        let warmup = Float(warmupSteps)
        let current = min(float(step), steps + warmup)
        if current < warmup {
            return (warmupTarget - initialLearningRate) * (current / warmup) + initialLearningRate
        }
        return decayed(current - warmup, from: warmupTarget)
    }

    private func decayed(_ step: Float, from rate: Float) -> Float {
        let fraction = step / Float(decaySteps)
        let cosine = 0.5 * (1 + Foundation.cos(Float.pi * fraction))
        return rate * ((1 - alpha) * cosine + alpha)
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        [
            "initial_learning_rate": .number(Double(initialLearningRate)), "decay_steps": .integer(decaySteps),
            "alpha": .number(Double(alpha)), "warmup_target": warmupTarget.map { .number(Double($0)) } ?? .absent,
            "warmup_steps": .integer(warmupSteps),
        ]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe(
            "cosine",
            [
                "initial": "\(initialLearningRate)", "decay-steps": "\(decaySteps)", "alpha": "\(alpha)",
                "warmup-target": warmupTarget.map { "\($0)" } ?? "none", "warmup-steps": "\(warmupSteps)",
            ])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        try ScheduleCheck.rate(initialLearningRate, "initial_learning_rate", in: kerasClassName)
        try ScheduleCheck.rate(alpha, "alpha", in: kerasClassName)
        try ScheduleCheck.steps(decaySteps, "decay_steps", in: kerasClassName)
        if let warmupTarget {
            try ScheduleCheck.rate(warmupTarget, "warmup_target", in: kerasClassName)
            try ScheduleCheck.steps(warmupSteps, "warmup_steps (with a warmup target)", in: kerasClassName)
        } else if warmupSteps < 0 {
            throw LoomError.invalidArgument("CosineDecay: warmup_steps must be >= 0, got \(warmupSteps)")
        }
    }
}
