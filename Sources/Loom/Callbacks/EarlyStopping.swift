/// Keras's `EarlyStopping`: stops training once `monitor` has not improved by more than
/// `minDelta` for `patience` epochs, optionally putting back the best epoch's weights.
///
/// Keras 3's rule, epoch by epoch from `startFromEpoch` on: the wait count grows by one;
/// a value better than the best by more than `minDelta` becomes the best and, unless a
/// `baseline` is set and not beaten, resets the wait to 0; otherwise once the wait reaches
/// `patience` (and past the first epoch) training stops. With `restoreBestWeights`, when
/// training ends (stopped or not) the best epoch's weights come back (the first monitored
/// epoch's, if none improved).
public final class EarlyStopping: Callback {
    /// The log key watched (default "val_loss").
    public let monitor: String
    /// The smallest change that counts as an improvement (default 0).
    public let minDelta: Double
    /// Epochs without improvement before stopping (default 0).
    public let patience: Int
    /// Whether lower or higher is better (default `.auto`).
    public let mode: MonitorMode
    /// A value the monitored one must beat for the wait to reset (default none).
    public let baseline: Double?
    /// Whether to put back the best epoch's weights when stopping (default false).
    public let restoreBestWeights: Bool
    /// Epochs not monitored at the start, counted from 0 (default 0).
    public let startFromEpoch: Int
    /// The epoch (from 0) at which training was stopped, 0 when it was not.
    public private(set) var stoppedEpoch = 0
    /// The best value so far, nil before the first monitored epoch.
    public private(set) var best: Double?
    /// Epochs since the last improvement.
    public private(set) var wait = 0
    /// The epoch (from 0) of the best value.
    public private(set) var bestEpoch = 0
    private var bestWeights: [Tensor]?

    /// An early stop with Keras's arguments and defaults.
    public init(
        monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, mode: MonitorMode = .auto,
        baseline: Double? = nil, restoreBestWeights: Bool = false, startFromEpoch: Int = 0
    ) {
        self.monitor = monitor
        self.minDelta = abs(minDelta)
        self.patience = patience
        self.mode = mode
        self.baseline = baseline
        self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch
    }

    /// Forgets the last run's best and wait.
    public func onTrainBegin(_ run: TrainingRun) throws {
        (wait, stoppedEpoch, best, bestWeights, bestEpoch) = (0, 0, nil, nil, 0)
    }

    /// Applies the rule to the epoch's `monitor` value (a missing key is skipped, as Keras
    /// warns and skips).
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        guard let current = logs[monitor] else { return MissingMonitor.warn("EarlyStopping", monitor: monitor, logs: logs) }
        guard epoch >= startFromEpoch else { return }
        if restoreBestWeights && bestWeights == nil {
            bestWeights = try run.model.weights()
            bestEpoch = epoch
        }
        wait += 1
        let rises = mode.prefersHigher(monitor, in: run.model)
        if isImprovement(current, over: best, rises: rises) {
            best = current
            bestEpoch = epoch
            if restoreBestWeights { bestWeights = try run.model.weights() }
            if baseline == nil || isImprovement(current, over: baseline, rises: rises) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            run.stopTraining = true
        }
    }

    /// Puts back the best weights (with `restoreBestWeights`), unless the run was
    /// interrupted (it continues later from its checkpoint).
    public func onTrainEnd(_ run: TrainingRun) throws {
        if restoreBestWeights, !run.interrupted, let bestWeights { try run.model.setWeights(bestWeights) }
    }

    private func isImprovement(_ value: Double, over reference: Double?, rises: Bool) -> Bool {
        guard let reference else { return true }
        return rises ? value - minDelta > reference : value + minDelta < reference
    }

    /// [wait, stopped epoch, best epoch, has best, best, then the kept weights: their count,
    /// each one's rank and dimensions, then all their values].
    public var checkpointState: [Double] {
        get {
            var state = [Double(wait), Double(stoppedEpoch), Double(bestEpoch), best == nil ? 0 : 1, best ?? 0]
            let weights = bestWeights ?? []
            state.append(Double(weights.count))
            for tensor in weights { state += [Double(tensor.shape.count)] + tensor.shape.map(Double.init) }
            for tensor in weights { state += tensor.scalars.map(Double.init) }
            return state
        }
        set {
            guard newValue.count >= 6, let wait = Int(checkpointCount: newValue[0]),
                let stoppedEpoch = Int(checkpointCount: newValue[1]), let bestEpoch = Int(checkpointCount: newValue[2]),
                let tensors = Int(checkpointCount: newValue[5])
            else { return }
            var shapes: [[Int]] = []
            var offset = 6
            for _ in 0..<tensors {
                guard offset < newValue.count, let rank = Int(checkpointCount: newValue[offset]), rank < newValue.count - offset
                else { return }
                let dimensions = newValue[(offset + 1)..<(offset + 1 + rank)].compactMap { Int(checkpointCount: $0) }
                guard dimensions.count == rank else { return }
                shapes.append(dimensions)
                offset += 1 + rank
            }
            var weights: [Tensor] = []
            for shape in shapes {
                guard let count = Shape.checkedCount(shape), count <= newValue.count - offset,
                    let tensor = try? Tensor(shape: shape, scalars: newValue[offset..<(offset + count)].map(Float.init))
                else { return }
                weights.append(tensor)
                offset += count
            }
            (self.wait, self.stoppedEpoch, self.bestEpoch) = (wait, stoppedEpoch, bestEpoch)
            best = newValue[3] != 0 ? newValue[4] : nil
            bestWeights = shapes.isEmpty ? nil : weights
        }
    }
}
