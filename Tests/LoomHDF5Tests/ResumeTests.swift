import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// A run interrupted at a step and resumed from its checkpoint ends with the same weights,
/// bit for bit, as the run never interrupted: with 1 and 2 workers, parameter averaging, a
/// stateful model and dropout, checkpointing by epoch and by steps.
final class ResumeTests: XCTestCase {
    let folder = TemporaryFolder()

    /// Interrupts the run once it has taken `step` optimizer steps.
    final class InterruptAt: Callback {
        let step: Int
        init(step: Int) { self.step = step }
        func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
            if run.step == step { run.interrupt() }
        }
    }

    /// Sequences of 6 steps of 3 features and a target of 2 from a fixed generator.
    private func data(samples: Int, sequenceTargets: Bool = false) throws -> (Tensor, Tensor) {
        var generator = SeededGenerator(seed: 42)
        let x = try Tensor(shape: [samples, 6, 3], scalars: (0..<(samples * 18)).map { _ in Float(generator.uniform() * 2 - 1) })
        let shape = sequenceTargets ? [samples, 6, 2] : [samples, 2]
        let y = try Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in Float(generator.uniform()) })
        return (x, y)
    }

    private struct Setup {
        var stateful = false
        var dropout = false
        var workers = 1
        var averaging = Averaging.gradients
        var frequency = BackupAndRestore.SaveFrequency.epoch
        var epochs = 4
        var optimizer: @Sendable () -> any Optimizer = { Adam(learningRate: 0.01) }
        var accumulation = 1
        /// Truncated BPTT's chunk length (the model then returns sequences).
        var truncation: Int? = nil
        var blocks: BlockShuffle? = nil
    }

    private func model(_ setup: Setup) throws -> Sequential {
        let model = Sequential(seed: 7) {
            Input(shape: [6, 3], batchSize: setup.stateful ? 8 : nil)
            LSTM(
                5, returnSequences: true, stateful: setup.stateful,
                dropout: setup.dropout ? 0.2 : 0, recurrentDropout: setup.dropout ? 0.3 : 0)
            LSTM(4, returnSequences: setup.truncation != nil, stateful: setup.stateful)
            Dropout(setup.dropout ? 0.25 : 0)
            Dense(2)
        }
        try model.compile(optimizer: setup.optimizer(), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    /// Trains `setup`: uninterrupted, then interrupted after `step` and resumed in a new
    /// model (as a new process would); returns both final weights and histories.
    private func trainTwice(_ setup: Setup, interruptAt step: Int) throws -> (History, History, [Tensor], [Tensor]) {
        let (x, y) = try data(samples: 64, sequenceTargets: setup.truncation != nil)
        func fit(_ model: Sequential, _ callbacks: [any Callback]) throws -> History {
            try model.fit(
                x: x, y: y, epochs: setup.epochs, batchSize: 8, shuffle: !setup.stateful, blockShuffle: setup.blocks,
                validationSplit: 0.25,
                verbose: 0, resetStatesEachEpoch: setup.stateful, workers: setup.workers,
                averaging: setup.averaging, callbacks: callbacks, gradientAccumulationSteps: setup.accumulation,
                truncatedBPTT: setup.truncation)
        }
        let straight = try model(setup)
        let expected = try fit(straight, [])
        let directory = folder.path("backup-\(UUID().uuidString)")
        let first = try model(setup)
        let backup = try BackupAndRestore(backupDirectory: directory, saveFrequency: setup.frequency)
        _ = try fit(first, [backup, InterruptAt(step: step)])
        XCTAssertNotNil(try backup.folder.latestPath(), "an interrupted run keeps its checkpoint")
        let resumed = try model(setup)
        let second = try BackupAndRestore(backupDirectory: directory, saveFrequency: setup.frequency)
        let history = try fit(resumed, [second])
        XCTAssertEqual(second.resumedFromStep, step)
        XCTAssertNil(try second.folder.latestPath(), "a finished run deletes its backup, as Keras's")
        return (expected, history, try straight.weights(), try resumed.weights())
    }

    private func assertSameBits(_ setup: Setup, interruptAt step: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let (expected, history, weights, resumed) = try trainTwice(setup, interruptAt: step)
        XCTAssertEqual(weights.count, resumed.count, file: file, line: line)
        for (a, b) in zip(weights, resumed) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "\(setup)", file: file, line: line)
        }
        XCTAssertEqual(expected.history, history.history, "\(setup)", file: file, line: line)
        XCTAssertEqual(expected.epoch, history.epoch, file: file, line: line)
    }

    func testBlockShuffleMidEpoch() throws {
        try assertSameBits(Setup(workers: 2, blocks: try BlockShuffle(blockRows: 5, windowBlocks: 3)), interruptAt: 9)
    }

    func testOneWorkerMidEpochAndAtAnEpochEnd() throws {
        try assertSameBits(Setup(), interruptAt: 11)
        try assertSameBits(Setup(), interruptAt: 12)
        try assertSameBits(Setup(frequency: .steps(5)), interruptAt: 13)
    }

    func testTwoWorkersWithDropout() throws {
        try assertSameBits(Setup(dropout: true, workers: 2), interruptAt: 9)
        try assertSameBits(Setup(dropout: true), interruptAt: 17)
    }

    func testParameterAveraging() throws {
        try assertSameBits(Setup(workers: 2, averaging: .parameters(every: 3)), interruptAt: 7)
        try assertSameBits(Setup(workers: 2, averaging: .parameters(every: 3)), interruptAt: 12)
    }

    func testStatefulModel() throws {
        try assertSameBits(Setup(stateful: true), interruptAt: 10)
        try assertSameBits(Setup(stateful: true, workers: 2, frequency: .steps(3)), interruptAt: 14)
    }

    /// A schedule, clipping, weight decay and a layer-wise optimizer resume to the same bits;
    /// Nadam's running product is rebuilt from the update count.
    func testSchedulesClippingAndLayerwiseOptimizers() throws {
        let warmup = CosineDecay(initialLearningRate: 0, decaySteps: 20, warmupTarget: 0.02, warmupSteps: 6)
        try assertSameBits(
            Setup(workers: 2, optimizer: { Lamb(clipping: .globalNorm(0.5), schedule: warmup) }), interruptAt: 9)
        try assertSameBits(Setup(dropout: true, optimizer: { Nadam(weightDecay: 0.01, clipping: .norm(0.1)) }), interruptAt: 11)
        try assertSameBits(
            Setup(workers: 2, averaging: .parameters(every: 2), optimizer: { LARS(learningRate: 5, clipping: .value(0.05)) }),
            interruptAt: 7)
    }

    /// Accumulated updates resume to the same bits: each leaf's dropout streams are in the
    /// checkpoint, and a run stopped inside an update resumes from the update's start.
    func testGradientAccumulation() throws {
        let warmup = CosineDecay(initialLearningRate: 0, decaySteps: 8, warmupTarget: 0.02, warmupSteps: 2)
        try assertSameBits(
            Setup(dropout: true, workers: 2, optimizer: { Adam(schedule: warmup) }, accumulation: 3), interruptAt: 3)
        try assertSameBits(Setup(dropout: true, frequency: .steps(2), accumulation: 2), interruptAt: 5)
    }

    /// Truncated BPTT (two chunks a batch, the second masked at its end) resumes to the same
    /// bits: checkpoints fall between batches, and a batch starts again from its first chunk.
    func testTruncatedBPTT() throws {
        try assertSameBits(Setup(dropout: true, workers: 2, truncation: 4), interruptAt: 10)
        try assertSameBits(Setup(stateful: true, frequency: .steps(4), truncation: 4), interruptAt: 12)
    }

    /// A run resumed with another schedule, clipping or weight decay is refused by name.
    func testAnotherScheduleOrClippingIsRefused() throws {
        let (x, y) = try data(samples: 64)
        let directory = folder.path("schedule")
        let scheduled = Setup(optimizer: {
            Adam(clipping: .norm(1), schedule: ExponentialDecay(initialLearningRate: 0.01, decaySteps: 4, decayRate: 0.5))
        })
        _ = try model(scheduled).fit(
            x: x, y: y, epochs: 2, batchSize: 8, verbose: 0,
            callbacks: [try BackupAndRestore(backupDirectory: directory), InterruptAt(step: 5)])
        for (setup, taken) in [
            (Setup(optimizer: { Adam(learningRate: 0.01, clipping: .norm(1)) }), "schedule exponential:"),
            (
                Setup(optimizer: { Adam(schedule: ExponentialDecay(initialLearningRate: 0.01, decaySteps: 4, decayRate: 0.5)) }),
                "clipping clipnorm=1.0"
            ),
        ] {
            XCTAssertThrowsError(
                try model(setup).fit(
                    x: x, y: y, epochs: 2, batchSize: 8, verbose: 0, callbacks: [try BackupAndRestore(backupDirectory: directory)])
            ) { error in
                XCTAssertTrue("\(error)".contains("the checkpoint was taken with \(taken)"), "\(error)")
            }
        }
    }

    /// Resuming may raise the epoch count; any setting that changes the bits is refused by
    /// name before anything changes.
    func testOnlyTheEpochCountMayChange() throws {
        let (x, y) = try data(samples: 64)
        let directory = folder.path("settings")
        let first = try model(Setup())
        _ = try first.fit(
            x: x, y: y, epochs: 2, batchSize: 8, verbose: 0,
            callbacks: [try BackupAndRestore(backupDirectory: directory), InterruptAt(step: 10)])
        let other = try model(Setup())
        let before = try other.weights()
        XCTAssertThrowsError(
            try other.fit(
                x: x, y: y, epochs: 2, batchSize: 16, verbose: 0,
                callbacks: [try BackupAndRestore(backupDirectory: directory)])
        ) { error in
            XCTAssertEqual(
                "\(error)",
                "cannot resume: the checkpoint was taken with batch size 8, this run has 16 "
                    + "(a resume may change only the epochs, the outputs, the logging and the placement)")
        }
        XCTAssertEqual(try other.weights().map(\.scalars), before.map(\.scalars), "nothing changed")
        let longer = try other.fit(
            x: x, y: y, epochs: 3, batchSize: 8, verbose: 0,
            callbacks: [try BackupAndRestore(backupDirectory: directory)])
        XCTAssertEqual(longer.epoch, [0, 1, 2])
    }

    /// A checkpoint written before the global shard count was recorded resumes: the count is
    /// inferred from its replicas' keys (here two workers with dropout, replica 1's streams).
    func testACheckpointWithoutTheGlobalShardCountInfersIt() throws {
        let setup = Setup(dropout: true, workers: 2)
        let (x, y) = try data(samples: 64)
        func fit(_ model: Sequential, _ callbacks: [any Callback]) throws -> [Tensor] {
            try model.fit(
                x: x, y: y, epochs: setup.epochs, batchSize: 8, validationSplit: 0.25, verbose: 0, workers: setup.workers,
                callbacks: callbacks)
            return try model.weights()
        }
        let expected = try fit(try model(setup), [])
        let directory = folder.path("older")
        let backup = try BackupAndRestore(backupDirectory: directory)
        _ = try fit(try model(setup), [backup, InterruptAt(step: 9)])
        let path = try XCTUnwrap(try backup.folder.latestPath())
        var older = try CheckpointFile.read(path)
        XCTAssertEqual(older.texts.removeValue(forKey: "setting.global shards"), "2")
        XCTAssertNotNil(older.words["replica.1.random.0"])
        try CheckpointFile.write(older, to: OutputFile(path, role: "the older checkpoint"))
        let resumed = try fit(try model(setup), [try BackupAndRestore(backupDirectory: directory)])
        XCTAssertEqual(resumed.map { $0.scalars.map(\.bitPattern) }, expected.map { $0.scalars.map(\.bitPattern) })
    }
}
