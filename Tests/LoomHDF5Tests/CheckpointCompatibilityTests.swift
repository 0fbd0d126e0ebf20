import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// A checkpoint written by an earlier Loom (`Fixtures/checkpoint-0000000009.h5`: two workers,
/// dropout and recurrent dropout, Adam, interrupted after step 9) resumes to bitwise the
/// weights of a run never interrupted: changes to the engine, the snapshot or the optimizer
/// state must keep it so. `LOOM_WRITE_FIXTURES=1 swift test --filter
/// CheckpointCompatibilityTests` writes the file anew (only for a deliberate format change).
final class CheckpointCompatibilityTests: XCTestCase {
    let folder = TemporaryFolder()

    private static let name = "checkpoint-0000000009.h5"

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

    private func fit(_ model: Sequential, callbacks: [any Callback]) throws -> [[UInt32]] {
        var generator = SeededGenerator(seed: 17)
        let x = try Tensor(shape: [64, 6, 3], scalars: (0..<(64 * 18)).map { _ in Float(generator.uniform() * 2 - 1) })
        let y = try Tensor(shape: [64, 2], scalars: (0..<128).map { _ in Float(generator.uniform()) })
        try model.fit(x: x, y: y, epochs: 4, batchSize: 8, validationSplit: 0.25, verbose: 0, workers: 2, callbacks: callbacks)
        return try model.weights().map { $0.scalars.map(\.bitPattern) }
    }

    func testACheckpointOfAnEarlierLoomResumesToTheSameBits() throws {
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
        let expected = try fit(try model(), callbacks: [])
        try FileManager.default.createDirectory(at: backup, withIntermediateDirectories: true)
        let bundled = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(CheckpointCompatibilityTests.name)", withExtension: nil))
        try FileManager.default.copyItem(at: bundled, to: backup.appendingPathComponent(CheckpointCompatibilityTests.name))
        try Data((CheckpointCompatibilityTests.name + "\n").utf8).write(to: backup.appendingPathComponent("latest"))
        let restore = try BackupAndRestore(backupDirectory: backup.path)
        XCTAssertEqual(try fit(try model(), callbacks: [restore]), expected)
        XCTAssertEqual(restore.resumedFromStep, 9)
    }
}
