/// Code that `fit` calls at the edges of training, epochs and batches, as Keras's
/// `keras.callbacks.Callback`. Every method has an empty default: implement the ones needed.
///
/// `logs` hold the values Keras's callbacks see: after a batch, that batch's "loss" and
/// metrics; after an epoch, the epoch's means, "val_..." values when validating, and
/// "learning_rate". A callback stops training by setting `run.stopTraining` and changes the
/// learning rate through `run.learningRate`. An error a callback throws ends `fit` with it.
public protocol Callback: AnyObject {
    /// Before the first epoch (and before a checkpoint is restored).
    func onTrainBegin(_ run: TrainingRun) throws
    /// Before epoch `epoch` (counted from 0).
    func onEpochBegin(_ epoch: Int, run: TrainingRun) throws
    /// Before batch `batch` of the current epoch (counted from 0).
    func onBatchBegin(_ batch: Int, run: TrainingRun) throws
    /// After batch `batch`'s optimizer step.
    func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws
    /// After epoch `epoch`, its validation included.
    func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws
    /// After the last epoch, or once training stopped early.
    func onTrainEnd(_ run: TrainingRun) throws
    /// A checkpoint of the run to continue from, asked once after `onTrainBegin` of every
    /// callback (`BackupAndRestore` answers); nil to start from the beginning.
    func snapshotToRestore(_ run: TrainingRun) throws -> TrainingSnapshot?
    /// The callback's own state that a checkpoint keeps (EarlyStopping's best value and
    /// wait count, ...) so that a resumed run decides as the uninterrupted one would.
    var checkpointState: [Double] { get set }
}

extension Callback {
    /// Does nothing.
    public func onTrainBegin(_ run: TrainingRun) throws {}
    /// Does nothing.
    public func onEpochBegin(_ epoch: Int, run: TrainingRun) throws {}
    /// Does nothing.
    public func onBatchBegin(_ batch: Int, run: TrainingRun) throws {}
    /// Does nothing.
    public func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {}
    /// Does nothing.
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {}
    /// Does nothing.
    public func onTrainEnd(_ run: TrainingRun) throws {}
    /// Nil: nothing to restore.
    public func snapshotToRestore(_ run: TrainingRun) throws -> TrainingSnapshot? { nil }
    /// Empty: no state of its own.
    public var checkpointState: [Double] {
        get { [] }
        set {}
    }
}
