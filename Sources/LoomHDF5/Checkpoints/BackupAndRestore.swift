import Foundation
import Logging
@_spi(Ranks) import Loom

/// Keras's `BackupAndRestore`: checkpoints the whole run into `backupDirectory` and, when
/// `fit` starts with a checkpoint there, continues from it: a resumed run ends with the same
/// weights, bit for bit, as one never interrupted (same settings; only `epochs` may grow).
///
/// Saves after every epoch, or every `saveFrequency` steps, and when the run is interrupted
/// (`TrainingRun.interrupt()`). As Keras's, it deletes its checkpoints when training ends
/// normally unless `deleteCheckpoint` is false; an interrupted run or one that throws keeps
/// them.
///
/// With other processes (`mpirun`), every rank has one: the ranks gather the whole run into
/// each checkpoint, and only rank 0 reads and writes the folder; on resuming, rank 0 sends
/// the checkpoint to every rank (no shared filesystem is assumed).
///
/// The folder belongs to one run at a time: from `claim()` (or the start of `fit`, on rank
/// 0) until training ends, this backup holds its lock (`CheckpointFolderLock`), and another
/// run on the same folder is refused naming it.
public final class BackupAndRestore: Callback {
    /// When checkpoints are written.
    public enum SaveFrequency: Sendable, Equatable {
        /// After every epoch (Keras's "epoch").
        case epoch
        /// After every n optimizer steps (Keras's integer `save_freq`).
        case steps(Int)
    }

    /// The checkpoints.
    public let folder: CheckpointFolder
    /// When checkpoints are written (default `.epoch`).
    public let saveFrequency: SaveFrequency
    /// Whether a normal end of training removes the checkpoints (default true, as Keras).
    public let deleteCheckpoint: Bool
    /// Settings the run must share with its checkpoint besides `fit`'s own (a data file's
    /// name, ...), added to `TrainingRun.settings`.
    public let settings: [String: String]
    /// The step of the checkpoint the last `fit` continued from, nil when it started afresh.
    public private(set) var resumedFromStep: Int?
    /// Seconds spent writing checkpoints in the last `fit`, and how many were written.
    public private(set) var writing: (seconds: Double, count: Int) = (0, 0)
    private var lastSavedStep: Int?
    private var folderLock: CheckpointFolderLock?

    /// Whether a checkpoint of another global shard count is resumed (`TrainingRun.allowsResharding`).
    public let reshard: Bool

    /// A backup into `backupDirectory` (created when missing; checked now), keeping the
    /// newest `keep` checkpoints; `reshard` resumes one of another global shard count.
    public init(
        backupDirectory: String, saveFrequency: SaveFrequency = .epoch, deleteCheckpoint: Bool = true, keep: Int = 2,
        settings: [String: String] = [:], reshard: Bool = false
    ) throws {
        self.reshard = reshard
        if case let .steps(n) = saveFrequency, n < 1 {
            throw LoomError.invalidArgument("BackupAndRestore: save every n steps needs n >= 1, got \(n)")
        }
        folder = try CheckpointFolder(backupDirectory, keep: keep)
        self.saveFrequency = saveFrequency
        self.deleteCheckpoint = deleteCheckpoint
        self.settings = settings
    }

    /// Takes the folder for this backup's runs (see `CheckpointFolderLock`), unless it holds
    /// it already; under `mpirun` only rank 0 calls it, as only rank 0 touches the folder.
    public func claim() throws {
        if folderLock == nil { folderLock = try folder.lock() }
    }

    /// Claims the folder (rank 0) and adds `settings` to the run's.
    public func onTrainBegin(_ run: TrainingRun) throws {
        let group = run.processGroup
        try group.failingTogether("claim --checkpoint-dir \(folder.path)") { if group.rank == 0 { try claim() } }
        run.settings.merge(settings) { _, own in own }
        run.allowsResharding = reshard
        resumedFromStep = nil
        lastSavedStep = nil
        writing = (0, 0)
    }

    /// The newest checkpoint, if the folder holds one (rank 0's, sent to every rank).
    public func snapshotToRestore(_ run: TrainingRun) throws -> TrainingSnapshot? {
        let group = run.processGroup
        let found: TrainingSnapshot?
        if group.size > 1 {
            let bytes = try group.failingTogether("read the checkpoint in \(folder.path)") {
                group.rank == 0 ? (try folder.latest()?.encoded() ?? []) : []
            }
            let sent = try group.allGather(bytes)[0]
            found = sent.isEmpty ? nil : try TrainingSnapshot(encoded: sent)
        } else {
            found = try folder.latest()
        }
        guard let snapshot = found else { return nil }
        resumedFromStep = snapshot.words[SnapshotKey.position].flatMap { $0.count == 4 ? Int(exactly: $0[2]) : nil }
        lastSavedStep = resumedFromStep
        return snapshot
    }

    /// Saves every `saveFrequency` steps, and when the run was interrupted.
    public func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
        if case let .steps(n) = saveFrequency, run.step % n == 0 {
            try save(run)
        } else if run.interrupted {
            try save(run)
        }
    }

    /// Saves after the epoch when saving by epoch.
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
        if saveFrequency == .epoch || run.interrupted { try save(run) }
    }

    /// Removes the checkpoints after a normal end (when asked to), keeps them otherwise;
    /// releases the folder.
    public func onTrainEnd(_ run: TrainingRun) throws {
        defer { folderLock = nil }
        if run.interrupted {
            try save(run)
        } else if deleteCheckpoint && run.processGroup.rank == 0 {
            try folder.removeAll()
        }
    }

    private func save(_ run: TrainingRun) throws {
        guard lastSavedStep != run.step else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let snapshot = try run.snapshot()
        let group = run.processGroup
        try group.failingTogether("write a checkpoint into \(folder.path)") {
            if group.rank == 0 { try folder.save(snapshot, step: run.step) }
        }
        lastSavedStep = run.step
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        writing.seconds += seconds
        writing.count += 1
        Logger.loomHDF5.info("checkpoint of step \(run.step) written into \(folder.path) in \(Int(seconds * 1e3)) ms")
    }
}
