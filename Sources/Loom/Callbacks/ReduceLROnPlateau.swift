/// Keras's `ReduceLROnPlateau`: multiplies the learning rate by `factor` once `monitor` has
/// not improved for `patience` epochs, then waits `cooldown` epochs before counting again,
/// never going below `minLR`.
///
/// Keras 3's rule at each epoch's end: during a cooldown the counter falls by one and the
/// wait is 0; a value better than the best by more than `minDelta` becomes the best and
/// resets the wait; otherwise, outside a cooldown, the wait grows, and once it reaches
/// `patience` a rate above `minLR` becomes max(rate · factor, minLR), the cooldown starts
/// and the wait is 0.
public final class ReduceLROnPlateau: Callback {
    /// The log key watched (default "val_loss").
    public let monitor: String
    /// What the rate is multiplied by, below 1 (default 0.1).
    public let factor: Double
    /// Epochs without improvement before a reduction (default 10).
    public let patience: Int
    /// Whether lower or higher is better (default `.auto`).
    public let mode: MonitorMode
    /// The smallest change that counts as an improvement (default 1e-4).
    public let minDelta: Double
    /// Epochs after a reduction during which no wait is counted (default 0).
    public let cooldown: Int
    /// The lowest rate (default 0).
    public let minLR: Double
    private var best = Double.infinity
    private var wait = 0
    private var cooldownCounter = 0

    /// A plateau rule with Keras's arguments and defaults; `factor` must be below 1.
    public init(
        monitor: String = "val_loss", factor: Double = 0.1, patience: Int = 10, mode: MonitorMode = .auto,
        minDelta: Double = 1e-4, cooldown: Int = 0, minLR: Double = 0
    ) throws {
        guard factor < 1 else {
            throw LoomError.invalidArgument("ReduceLROnPlateau does not support a factor >= 1.0, got \(factor)")
        }
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.mode = mode
        self.minDelta = minDelta
        self.cooldown = cooldown
        self.minLR = minLR
    }

    /// Whether the monitored value improves by rising, as `onTrainBegin` found it for the fit's model.
    private var prefersHigher = false

    /// Resets the best value, the wait and the cooldown; refused with an optimizer whose rate
    /// follows a schedule (Keras refuses it when it first sets the rate: here before training).
    public func onTrainBegin(_ run: TrainingRun) throws {
        try run.checkLearningRateIsSettable(by: "ReduceLROnPlateau")
        prefersHigher = mode.prefersHigher(monitor, in: run.model)
        best = prefersHigher ? -.infinity : .infinity
        wait = 0
        cooldownCounter = 0
    }

    /// Applies the rule to the epoch's `monitor` value (a missing key is skipped with a warning, as Keras).
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        guard let current = logs[monitor] else { return MissingMonitor.warn("ReduceLROnPlateau", monitor: monitor, logs: logs) }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            wait = 0
        }
        if prefersHigher ? current > best + minDelta : current < best - minDelta {
            best = current
            wait = 0
        } else if cooldownCounter == 0 {
            wait += 1
            if wait >= patience {
                // In Float64, then stored as the optimizer's Float32, as Keras computes it.
                let rate = Double(run.learningRate)
                if rate > Double(Float(minLR)) {
                    run.learningRate = Float(max(rate * factor, minLR))
                    cooldownCounter = cooldown
                    wait = 0
                }
            }
        }
    }

    /// [best, wait, cooldown counter].
    public var checkpointState: [Double] {
        get { [best, Double(wait), Double(cooldownCounter)] }
        set {
            guard newValue.count == 3, let wait = Int(checkpointCount: newValue[1]),
                let cooldown = Int(checkpointCount: newValue[2])
            else { return }
            (best, self.wait, cooldownCounter) = (newValue[0], wait, cooldown)
        }
    }
}
