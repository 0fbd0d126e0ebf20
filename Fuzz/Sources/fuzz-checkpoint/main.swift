import Foundation
import FuzzInput
import Loom
import LoomHDF5

// A checkpoint's content is untrusted (its checksum is public): inputs are snapshots as
// `TrainingSnapshot.encoded()` bytes, written as a checkpoint file with a valid checksum and
// resumed by a small run (`BackupAndRestore`, with EarlyStopping and ReduceLROnPlateau
// keeping state in it). Every count, position and array length they hold is checked before
// use: only a crash or a sanitizer report is a finding.
//
// `fuzz-checkpoint --write-seeds FOLDER` writes the seeds: checkpoints of the run interrupted
// at several steps, and copies with fields set out of range.

/// The run every input resumes: 16 sequences of 4 steps of 2 features, LSTM(3), Dense(1).
enum CheckpointRun {
    static func model() throws -> Sequential {
        let model = Sequential(seed: 3) {
            Input(shape: [4, 2])
            LSTM(3, dropout: 0.1)
            Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    static func fit(_ model: Sequential, folder: String, extra: [any Callback] = []) throws {
        var generator = SeededGenerator(seed: 5)
        let x = try Tensor(shape: [16, 4, 2], scalars: (0..<128).map { _ in Float(generator.uniform()) })
        let y = try Tensor(shape: [16, 1], scalars: (0..<16).map { _ in Float(generator.uniform()) })
        let callbacks: [any Callback] = [
            try BackupAndRestore(backupDirectory: folder, saveFrequency: .steps(1)), EarlyStopping(patience: 2),
            try ReduceLROnPlateau(factor: 0.5, patience: 1),
        ]
        try model.fit(x: x, y: y, epochs: 3, batchSize: 4, validationSplit: 0.25, verbose: 0, callbacks: callbacks + extra)
    }
}

/// Interrupts a run once it has taken `step` optimizer steps.
final class InterruptAt: Callback {
    let step: Int
    init(step: Int) { self.step = step }
    func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
        if run.step == step { run.interrupt() }
    }
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
    let seeds = CommandLine.arguments[2]
    for step in [2, 5, 7] {
        let folder = FuzzInput.path("seed-\(step)")
        try? FileManager.default.removeItem(atPath: folder)
        try CheckpointRun.fit(try CheckpointRun.model(), folder: folder, extra: [InterruptAt(step: step)])
        let snapshot = try CheckpointFolder(folder).latest()!
        var variants = [("step-\(step)", snapshot)]
        var position = snapshot
        position.words["position"]![2] = .max
        variants.append(("position-beyond-int-\(step)", position))
        var history = snapshot
        history.reals["history.loss"]?.append(1)
        variants.append(("history-longer-\(step)", history))
        var callback = snapshot
        callback.reals["callback.EarlyStopping.0"] = [.nan, 1e300, -1, 1, 0, 3, 2, 1e10]
        variants.append(("callback-state-\(step)", callback))
        var parameters = snapshot
        parameters.floats["parameters"]?.removeLast()
        variants.append(("parameters-short-\(step)", parameters))
        for (name, variant) in variants {
            try Data(variant.encoded()).write(to: URL(fileURLWithPath: (seeds as NSString).appendingPathComponent(name)))
        }
    }
    exit(0)
}

FuzzInput.run { data, size in
    guard let data else { return 0 }
    let folder = FuzzInput.path("checkpoints")
    FuzzInput.expectingErrors {
        let snapshot = try TrainingSnapshot(encoded: Array(UnsafeBufferPointer(start: data, count: size)))
        try? FileManager.default.removeItem(atPath: folder)
        try CheckpointFolder(folder).save(snapshot, step: 1)
        try CheckpointRun.fit(try CheckpointRun.model(), folder: folder)
    }
    return 0
}
