import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// A checkpoint written by an earlier Loom (`Fixtures/checkpoint-0000000009.h5`: two workers,
/// dropout and recurrent dropout, Adam, interrupted after step 9) is restored whole: the run's
/// state just before its first step after resuming is the checkpoint, every array bit for bit
/// (whatever this CPU's kernels: the arithmetic after it depends on them), and the run trains
/// to its end from there. Changes to the engine, the snapshot or the optimizer state must keep
/// it so. `LOOM_WRITE_FIXTURES=1 swift test --filter CheckpointCompatibilityTests` writes the
/// file anew (only for a deliberate format change).
final class CheckpointCompatibilityTests: XCTestCase {
    let folder = TemporaryFolder()

    private static let name = "checkpoint-0000000009.h5"

    /// Keeps the run's snapshot before its first step.
    final class SnapshotBeforeTheFirstStep: Callback {
        var snapshot: TrainingSnapshot?
        func onBatchBegin(_ batch: Int, run: TrainingRun) throws {
            if snapshot == nil { snapshot = try run.snapshot() }
        }
    }

    private func model() throws -> Sequential {
        let model = Sequential(seed: 11) {
            Input(shape: [6, 3])
            LSTM(5, returnSequences: true, dropout: 0.2, recurrentDropout: 0.3)
            LSTM(4)
            Dropout(0.25)
            Dense(2)
        }
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    private func fit(_ model: Sequential, callbacks: [any Callback]) throws -> History {
        var generator = SeededGenerator(seed: 17)
        let x = try Tensor(shape: [64, 6, 3], scalars: (0..<(64 * 18)).map { _ in Float(generator.uniform() * 2 - 1) })
        let y = try Tensor(shape: [64, 2], scalars: (0..<128).map { _ in Float(generator.uniform()) })
        return try model.fit(x: x, y: y, epochs: 4, batchSize: 8, validationSplit: 0.25, verbose: 0, workers: 2, callbacks: callbacks)
    }

    func testACheckpointOfAnEarlierLoomIsRestoredWhole() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(CheckpointCompatibilityTests.name)
        let backup = folder.url.appendingPathComponent("backup")
        if ProcessInfo.processInfo.environment["LOOM_WRITE_FIXTURES"] != nil {
            let writer = try BackupAndRestore(backupDirectory: backup.path, saveFrequency: .steps(9))
            _ = try fit(try model(), callbacks: [writer, ResumeTests.InterruptAt(step: 9)])
            try? FileManager.default.removeItem(at: fixture)
            try FileManager.default.copyItem(at: backup.appendingPathComponent(CheckpointCompatibilityTests.name), to: fixture)
            return
        }
        try FileManager.default.createDirectory(at: backup, withIntermediateDirectories: true)
        let bundled = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(CheckpointCompatibilityTests.name)", withExtension: nil))
        let copy = backup.appendingPathComponent(CheckpointCompatibilityTests.name)
        try FileManager.default.copyItem(at: bundled, to: copy)
        try Data((CheckpointCompatibilityTests.name + "\n").utf8).write(to: backup.appendingPathComponent("latest"))
        // The callbacks' own states are those of each run's callbacks (the writer interrupted its run).
        var written = try CheckpointFile.read(copy.path)
        written.reals = written.reals.filter { !$0.key.hasPrefix("callback.") }
        let restore = try BackupAndRestore(backupDirectory: backup.path), before = SnapshotBeforeTheFirstStep()
        let history = try fit(try model(), callbacks: [restore, before])
        XCTAssertEqual(restore.resumedFromStep, 9)
        var restored = try XCTUnwrap(before.snapshot)
        restored.reals = restored.reals.filter { !$0.key.hasPrefix("callback.") }
        XCTAssertEqual(Set(restored.floats.keys), Set(written.floats.keys))
        XCTAssertEqual(Set(restored.words.keys), Set(written.words.keys))
        XCTAssertEqual(Set(restored.reals.keys), Set(written.reals.keys))
        XCTAssertEqual(restored.texts, written.texts)
        XCTAssertEqual(restored.checksum, written.checksum, "every array restored bit for bit")
        XCTAssertEqual(history.epoch, [0, 1, 2, 3])
    }
}
