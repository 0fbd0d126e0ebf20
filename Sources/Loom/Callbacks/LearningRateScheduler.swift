/// Keras's `LearningRateScheduler`: before each epoch, sets the learning rate to
/// `schedule(epoch, current rate)` (epochs counted from 0).
public final class LearningRateScheduler: Callback {
    /// The rate for an epoch, from the epoch and the rate so far.
    public let schedule: (Int, Float) -> Float

    /// A scheduler calling `schedule` before every epoch.
    public init(_ schedule: @escaping (Int, Float) -> Float) {
        self.schedule = schedule
    }

    /// Refused with an optimizer whose rate follows a schedule.
    public func onTrainBegin(_ run: TrainingRun) throws {
        try run.checkLearningRateIsSettable(by: "LearningRateScheduler")
    }

    /// Sets the epoch's rate; a rate that is not a positive finite number is an error.
    public func onEpochBegin(_ epoch: Int, run: TrainingRun) throws {
        let rate = schedule(epoch, run.learningRate)
        guard rate.isFinite, rate > 0 else {
            throw LoomError.invalidArgument("LearningRateScheduler: the schedule gave \(rate) for epoch \(epoch)")
        }
        run.learningRate = rate
    }
}
