/// Keras's `TerminateOnNaN`: stops training (without an error) after a batch whose loss is
/// NaN or infinite. Only reached with `fit(..., guardNonFinite: false)`: by default such a
/// step throws `LoomError.diverged` before it changes the weights.
public final class TerminateOnNaN: Callback {
    /// The batch (from 0) and epoch whose loss stopped training, if one did.
    public private(set) var stoppedAt: (epoch: Int, batch: Int)?

    /// A callback with no settings, as Keras's.
    public init() {}

    /// Stops training when `logs["loss"]` is not finite.
    public func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
        guard let loss = logs["loss"], !loss.isFinite else { return }
        stoppedAt = (run.epoch, batch)
        run.stopTraining = true
    }
}
