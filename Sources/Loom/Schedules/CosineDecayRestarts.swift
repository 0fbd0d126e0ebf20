import Foundation

/// Keras's `CosineDecayRestarts` (SGDR): cosine decays from `initialLearningRate` to α of it,
/// the first over `firstDecaySteps`, each next one `tMul` times longer and starting `mMul`
/// times lower.
public struct CosineDecayRestarts: LearningRateSchedule {
    /// The rate at step 0.
    public let initialLearningRate: Float
    /// The updates the first period lasts.
    public let firstDecaySteps: Int
    /// How many times longer each period is than the last.
    public let tMul: Float
    /// How many times lower each period starts than the last.
    public let mMul: Float
    /// The floor, as a fraction of the initial rate.
    public let alpha: Float

    /// Keras's arguments and defaults.
    public init(initialLearningRate: Float, firstDecaySteps: Int, tMul: Float = 2, mMul: Float = 1, alpha: Float = 0) {
        self.initialLearningRate = initialLearningRate
        self.firstDecaySteps = firstDecaySteps
        self.tMul = tMul
        self.mMul = mMul
        self.alpha = alpha
    }

    /// Keras's class name.
    public var kerasClassName: String { "CosineDecayRestarts" }

    /// The rate of the update that follows `step` updates.
    public func rate(afterSteps step: Int) -> Float {
        var fraction = float(step) / Float(firstDecaySteps)
        let restart: Float
        if tMul == 1 {
            restart = fraction.rounded(.down)
            fraction -= restart
        } else {
            restart = (Foundation.log(1 - fraction * (1 - tMul)) / Foundation.log(tMul)).rounded(.down)
            let completed = (1 - Float.pow(tMul, restart)) / (1 - tMul)
            fraction = (fraction - completed) / Float.pow(tMul, restart)
        }
        let cosine = 0.5 * Float.pow(mMul, restart) * (1 + Foundation.cos(Float.pi * fraction))
        return initialLearningRate * ((1 - alpha) * cosine + alpha)
    }

    /// Keras's `get_config()`.
    public var kerasConfig: [String: KerasArgument] {
        [
            "initial_learning_rate": .number(Double(initialLearningRate)),
            "first_decay_steps": .integer(firstDecaySteps), "t_mul": .number(Double(tMul)),
            "m_mul": .number(Double(mMul)), "alpha": .number(Double(alpha)),
        ]
    }

    /// The schedule in `LearningRateSchedules.parse`'s syntax.
    public var description: String {
        describe(
            "cosine-restarts",
            [
                "initial": "\(initialLearningRate)", "first-decay-steps": "\(firstDecaySteps)", "t-mul": "\(tMul)",
                "m-mul": "\(mMul)", "alpha": "\(alpha)",
            ])
    }

    /// Refuses arguments Keras refuses and rates that are not finite.
    public func check() throws {
        try ScheduleCheck.rate(initialLearningRate, "initial_learning_rate", in: kerasClassName)
        try ScheduleCheck.rate(alpha, "alpha", in: kerasClassName)
        try ScheduleCheck.steps(firstDecaySteps, "first_decay_steps", in: kerasClassName)
        guard tMul.isFinite, tMul > 0, mMul.isFinite, mMul >= 0 else {
            throw LoomError.invalidArgument("CosineDecayRestarts: t_mul must be > 0 and m_mul >= 0, got \(tMul) and \(mMul)")
        }
    }
}
