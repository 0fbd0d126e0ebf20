import Foundation

/// Keras's `TensorBoard` callback (scalars, `update_freq="epoch"`): after every epoch, the
/// training values (`epoch_loss`, `epoch_<metric>`, `epoch_learning_rate`) go to an event file
/// in `<logDir>/train` and the validation values (`epoch_loss`, … of `val_` keys) to one in
/// `<logDir>/validation`, at step = the epoch (from 0), as Keras 3 writes them; with
/// `updateFrequency` n, also `batch_loss` (and metrics) every n updates in `train`.
/// `tensorboard --logdir <logDir>` shows both runs' curves while training goes on.
public final class TensorBoard: Callback {
    /// The folder of the runs (created when missing).
    public let logDir: URL
    /// Updates between two batch-level scalars; nil: epochs only (Keras's default).
    public let updateFrequency: Int?
    private var train: EventFileWriter?
    private var validation: EventFileWriter?

    /// A callback writing under `logDir` (refused now when it is a file; made when training
    /// begins).
    public init(logDir: String, updateFrequency: Int? = nil) throws {
        if let updateFrequency, updateFrequency < 1 {
            throw LoomError.invalidArgument("TensorBoard: updateFrequency must be at least 1, got \(updateFrequency)")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: logDir, isDirectory: &isFolder), !isFolder.boolValue {
            throw LoomError.invalidArgument("TensorBoard: '\(logDir)' exists and is not a folder")
        }
        self.logDir = URL(fileURLWithPath: logDir)
        self.updateFrequency = updateFrequency
    }

    /// Opens a new event file in each run's folder.
    public func onTrainBegin(_ run: TrainingRun) throws {
        train = try EventFileWriter(folder: logDir.appendingPathComponent("train"))
        validation = try EventFileWriter(folder: logDir.appendingPathComponent("validation"))
    }

    /// Every `updateFrequency` updates, the batch's loss and metrics.
    public func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
        guard let updateFrequency, run.step % updateFrequency == 0, let train else { return }
        try train.write(scalars: logs.sorted { $0.key < $1.key }.map { ("batch_" + $0.key, $0.value) }, step: run.step)
    }

    /// The epoch's values, split into the two runs.
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        let sorted = logs.sorted { $0.key < $1.key }
        try train?.write(
            scalars: sorted.filter { !$0.key.hasPrefix("val_") }.map { ("epoch_" + $0.key, $0.value) }, step: epoch)
        let validated = sorted.filter { $0.key.hasPrefix("val_") }.map { ("epoch_" + $0.key.dropFirst(4), $0.value) }
        if !validated.isEmpty { try validation?.write(scalars: validated, step: epoch) }
    }

    /// Closes the files.
    public func onTrainEnd(_ run: TrainingRun) throws {
        train = nil
        validation = nil
    }
}
