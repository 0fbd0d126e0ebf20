import Foundation
import Loom

/// Keras's `TensorBoard` callback: after every epoch, the training values (`epoch_loss`,
/// `epoch_<metric>`, `epoch_learning_rate`) go to an event file in `<logDir>/train` and the
/// validation values (`epoch_loss`, … of `val_` keys) to one in `<logDir>/validation`, at
/// step = the epoch (from 0), as Keras 3 writes them; with `updateFrequency` n, also
/// `batch_loss` (and metrics) every n updates in `train`; with `histogramFrequency` n, every
/// n epochs a histogram of each weight (`<layer>/<weight>/histogram`, as Keras's
/// `histogram_freq`). Each run's event files start with a session start at the epoch it
/// starts from, so after a resumed run (`BackupAndRestore`) TensorBoard drops what the killed
/// run wrote after its checkpoint (its Python loader purges only at a start that follows
/// another). The validation folder is made with the first validation values, as Keras's.
/// `tensorboard --logdir <logDir>` shows both runs' curves while training goes on.
public final class TensorBoard: Callback {
    /// The folder of the runs (created when missing).
    public let logDir: URL
    /// Updates between two batch-level scalars; nil: epochs only (Keras's default).
    public let updateFrequency: Int?
    /// Epochs between two sets of weight histograms; 0: none (Keras's default).
    public let histogramFrequency: Int
    private var train: EventFileWriter?
    private var validation: EventFileWriter?
    /// The epoch this fit starts from, once its first epoch begins (the session's start).
    private var startEpoch: Int?

    /// A callback writing under `logDir` (refused now when it is a file; made when training
    /// begins).
    public init(logDir: String, updateFrequency: Int? = nil, histogramFrequency: Int = 0) throws {
        if let updateFrequency, updateFrequency < 1 {
            throw LoomError.invalidArgument("TensorBoard: updateFrequency must be at least 1, got \(updateFrequency)")
        }
        guard histogramFrequency >= 0 else {
            throw LoomError.invalidArgument("TensorBoard: histogramFrequency must be 0 or more, got \(histogramFrequency)")
        }
        self.histogramFrequency = histogramFrequency
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: logDir, isDirectory: &isFolder), !isFolder.boolValue {
            throw LoomError.invalidArgument("TensorBoard: '\(logDir)' exists and is not a folder")
        }
        self.logDir = URL(fileURLWithPath: logDir)
        self.updateFrequency = updateFrequency
    }

    /// Opens a new event file in the training run's folder.
    public func onTrainBegin(_ run: TrainingRun) throws {
        train = try EventFileWriter(folder: logDir.appendingPathComponent("train"))
        validation = nil
        startEpoch = nil
    }

    /// Marks the session's start (known once a checkpoint is restored, before the first epoch).
    public func onEpochBegin(_ epoch: Int, run: TrainingRun) throws {
        guard startEpoch == nil else { return }
        startEpoch = run.epoch
        try train?.writeSessionStart(step: run.epoch)
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
        if !validated.isEmpty, train != nil {
            if validation == nil {
                let writer = try EventFileWriter(folder: logDir.appendingPathComponent("validation"))
                try writer.writeSessionStart(step: startEpoch ?? epoch)
                validation = writer
            }
            try validation?.write(scalars: validated, step: epoch)
        }
        if histogramFrequency > 0, epoch % histogramFrequency == 0 {
            let specs = run.model.layers.flatMap { layer in layer.parameterSpecs.map { "\(layer.name)/\($0.name)/histogram" } }
            try train?.write(histograms: zip(specs, try run.model.weights()).map { ($0, $1.scalars) }, step: epoch)
        }
    }

    /// Closes the files.
    public func onTrainEnd(_ run: TrainingRun) throws {
        train = nil
        validation = nil
    }
}
