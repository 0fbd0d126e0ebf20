import Foundation
import Loom
import LoomHDF5
import XCTest

/// `--checkpoint-dir` and `--resume` against what users and hostile files do: a folder
/// belongs to one run at a time, only Loom's own checkpoints are ever removed, a resume is
/// refused by name when any option, the model or the global shard count changed, a crafted
/// checkpoint is an error and never a crash, and a damaged newest checkpoint falls back to
/// the one before.
extension CLITests {
    private func checkpointedRun(_ data: String, checkpoints: String, epochs: Int = 4, extra: [String] = []) -> [String] {
        [
            "train", "--data", data, "--epochs", String(epochs), "--units", "4", "--batch-size", "16", "--quiet", "--checkpoint-dir",
            checkpoints, "--checkpoint-every", "5",
        ] + extra
    }

    /// Waits (up to a minute) until `latest` in `checkpoints` names something other than `old`; returns it.
    @discardableResult
    private func waitForCheckpoint(in checkpoints: String, after old: String? = nil) -> String? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let named = try? String(contentsOfFile: checkpoints + "/latest", encoding: .utf8), named != old { return named }
            usleep(10_000)
        }
        return nil
    }

    func testACheckpointFolderBelongsToOneRunAtATime() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let endless = [
            "train", "--data", data, "--epochs", "100000", "--units", "4", "--quiet", "--checkpoint-dir", checkpoints,
            "--checkpoint-every", "5",
        ]
        let first = try background(endless)
        let written = waitForCheckpoint(in: checkpoints)
        let second = try loom(endless + ["--resume"], expect: 1)
        XCTAssertTrue(
            second.err.hasPrefix("Error: checkpoints: \(checkpoints) is in use by another run (\(first.processIdentifier)@"),
            second.err)
        XCTAssertTrue(
            second.err.hasSuffix("a checkpoint folder belongs to one run at a time: wait for it to end or choose another folder\n"),
            second.err)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // The lock of a dead run is taken over: the resumed run writes checkpoints again.
        let stopped = (try? String(contentsOfFile: checkpoints + "/latest", encoding: .utf8)) ?? written
        let resumed = try background(endless + ["--resume"])
        XCTAssertNotNil(waitForCheckpoint(in: checkpoints, after: stopped), "the resumed run took the folder over")
        kill(resumed.processIdentifier, SIGKILL)
        resumed.waitUntilExit()
    }

    func testOnlyLoomsOwnCheckpointsAreEverRemoved() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        try FileManager.default.createDirectory(atPath: checkpoints + "/checkpoint-9999999999.h5", withIntermediateDirectories: true)
        try Data("a folder's content".utf8).write(to: URL(fileURLWithPath: checkpoints + "/checkpoint-9999999999.h5/inside"))
        try Data("Keras's checkpoint".utf8).write(to: URL(fileURLWithPath: checkpoints + "/checkpoint-01.h5"))
        do {
            let file = try HDF5File(path: checkpoints + "/checkpoint-0000000000.h5", mode: .create)
            try file.write(Tensor(shape: [2], scalars: [1, 2]), as: "weights")
            try file.close()
        }
        let outside = folder.path("elsewhere.h5")
        try Data("someone's file".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: checkpoints + "/checkpoint-0000000001.h5", withDestinationPath: outside)
        let foreign = try folderContents()
        try loom(checkpointedRun(data, checkpoints: checkpoints, extra: ["--keep", "1"]))
        let after = try folderContents()
        for (name, bytes) in foreign { XCTAssertEqual(after[name], bytes, "\(name) was changed") }
        let own = Set(after.keys).subtracting(foreign.keys).filter { $0.hasPrefix("checkpoints/checkpoint-") }
        XCTAssertEqual(own, ["checkpoints/checkpoint-0000000120.h5"], "the newest of Loom's own, alone")
        for name in ["latest", "loom.lock", "checkpoint-0000000125.h5"] {
            try refused(
                checkpointedRun(data, checkpoints: checkpoints, extra: ["--resume", "--history", checkpoints + "/" + name]), status: 1,
                message: "--history: '\(checkpoints)/\(name)' is a file Loom keeps in the checkpoint folder \(checkpoints); "
                    + "write it elsewhere")
        }
    }

    func testAMonitorThatIsNeverLoggedIsRefusedUpFront() throws {
        let (data, model) = try dataAndModel()
        try refused(
            ["train", "--data", data, "--units", "2", "--validation-split", "0", "--save-best", "--save", model], status: 64,
            message: "--monitor val_loss, watched by --save-best, is never logged (--validation-split 0 holds out no validation "
                + "samples); this run logs loss, mae, learning_rate")
        try refused(
            ["train", "--data", data, "--units", "2", "--monitor", "val_los", "--early-stopping", "2", "--save", model], status: 64,
            message:
                "--monitor val_los, watched by --early-stopping, is never logged; this run logs loss, mae, val_loss, val_mae, learning_rate"
        )
        let weights = folder.path("best.weights.h5")
        try loom(["train", "--data", data, "--epochs", "2", "--units", "2", "--quiet", "--save-best", "--save", weights])
        XCTAssertFalse(try HDF5File(path: weights).datasetNames(under: "layers").isEmpty, "--save-best writes .weights.h5 files")
    }

    func testAResumeComparesEveryOptionAndTheModel() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let run = checkpointedRun(data, checkpoints: checkpoints, extra: ["--arch", "bidirectional", "--merge-mode", "ave"])
        try loom(run)
        for (extra, name, saved, now) in [
            (["--merge-mode", "sum"], "--merge-mode", "ave", "sum"), (["--early-stopping", "2"], "--early-stopping", "none", "2"),
            (["--monitor", "val_mae", "--early-stopping", "2"], "--early-stopping", "none", "2"),
            (["--reduce-lr-on-plateau", "0.5,2"], "--reduce-lr-on-plateau", "none", "0.5,2"),
        ] {
            XCTAssertEqual(
                try loom(run + extra + ["--resume"], expect: 1).err,
                "Error: cannot resume: the checkpoint was taken with option \(name) \(saved), this run has \(now) "
                    + "(a resume may change only the epochs, the outputs, the logging and the placement)\n")
        }
        let longer = checkpointedRun(data, checkpoints: checkpoints, epochs: 5, extra: ["--arch", "bidirectional", "--merge-mode", "ave"])
        XCTAssertEqual(
            try loom(longer + ["--resume", "--keep", "3", "--checkpoint-every", "7", "--history", folder.path("h.csv")]).err, "")
    }

    /// `--shuffle-window` trains (the imported file is one chunk, so `--shuffle-block` sizes
    /// the blocks); its bad values are refused in one line, and a resume with another block
    /// shuffle than the checkpoint's is refused by name.
    func testABlockShuffledRunAndItsRefusals() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let run = checkpointedRun(data, checkpoints: checkpoints, extra: ["--shuffle-window", "3", "--shuffle-block", "32"])
        XCTAssertEqual(try loom(run).err, "")
        let other = checkpointedRun(data, checkpoints: checkpoints, extra: ["--shuffle-window", "4", "--shuffle-block", "32"])
        let refused = try loom(other + ["--resume"], expect: 1).err
        XCTAssertTrue(refused.contains("the checkpoint was taken with option --shuffle-window 3, this run has 4"), refused)
        for (extra, message) in [
            (["--shuffle-window", "0"], "--shuffle-window and --shuffle-block must be at least 1"),
            (["--shuffle-window", "2", "--no-shuffle"], "--shuffle-window orders a shuffled epoch; --no-shuffle keeps file order"),
            (["--shuffle-block", "8"], "--shuffle-block sizes the blocks of --shuffle-window: give --shuffle-window"),
            (["--shuffle-window", "2", "--arch", "stateful"], "a stateful model trains in file order; --shuffle-window does not apply"),
        ] {
            let error = try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet"] + extra, expect: 64).err
            XCTAssertTrue(error.contains(message), "\(extra): \(error)")
        }
    }

    /// The checkpoint `latest` names in `checkpoints`.
    private func latestCheckpoint(_ checkpoints: String) throws -> String {
        let name = try String(contentsOfFile: checkpoints + "/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return checkpoints + "/" + name
    }

    func testACraftedCheckpointIsAnErrorNotACrash() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let run = checkpointedRun(data, checkpoints: checkpoints, extra: ["--early-stopping", "3"])
        try loom(checkpointedRun(data, checkpoints: checkpoints, epochs: 2, extra: ["--early-stopping", "3"]))
        let path = try latestCheckpoint(checkpoints)
        let original = try CheckpointFile.read(path)
        var cases: [(TrainingSnapshot, String)] = []
        var position = original
        position.words["position"]![2] = UInt64.max
        cases.append((position, "the checkpoint's position \(position.words["position"]!) holds a number beyond 2^53"))
        var batch = original
        batch.words["position"]![1] = 1000
        cases.append((batch, "the checkpoint's position is batch 1000 of an epoch of 31 batches; it is malformed"))
        var history = original
        history.reals["history.val_loss"]!.append(1)
        let finished = original.words["position"]![0], logged = history.reals["history.val_loss"]!.count
        cases.append(
            (history, "the checkpoint's 'history.val_loss' holds \(logged) values for \(finished) finished epochs; it is malformed"))
        var callback = original
        callback.reals["callback.EarlyStopping.0"]![0] = .nan
        cases.append((callback, "the checkpoint's 'callback.EarlyStopping.0' state is malformed"))
        var rate = original
        rate.reals["learning_rate"] = [-.infinity]
        cases.append((rate, "the checkpoint's learning rate -inf is not a positive finite number"))
        for (crafted, message) in cases {
            try CheckpointFile.write(crafted, to: OutputFile(path, role: "test"))
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(try loom(run + ["--resume"], expect: 1).err, "Error: \(message)\n")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes, "the checkpoint is left as it was")
        }
    }

    func testADamagedNewestCheckpointFallsBackToTheOneBefore() throws {
        let data = try importedData()
        let reference = folder.path("reference.weights.h5"), resumed = folder.path("resumed.weights.h5")
        try loom(checkpointedRun(data, checkpoints: folder.path("reference"), extra: ["--save", reference]))
        let checkpoints = folder.path("checkpoints")
        let run = checkpointedRun(data, checkpoints: checkpoints, extra: ["--save", resumed])
        try loom(checkpointedRun(data, checkpoints: checkpoints, epochs: 2, extra: ["--save", resumed]))
        let newest = try latestCheckpoint(checkpoints)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: newest))
        let continued = try loom(run + ["--resume"])
        XCTAssertTrue(continued.err.hasPrefix("Warning: checkpoint \(newest) is damaged or not a Loom checkpoint"), continued.err)
        XCTAssertTrue(
            continued.err.contains("; moved it to \(newest).damaged and resuming from the earlier checkpoint \(checkpoints)/checkpoint-"),
            continued.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: newest + ".damaged")), bytes.prefix(bytes.count / 2))
        XCTAssertEqual(try weights(resumed), try weights(reference), "the earlier checkpoint continues to the same bits")
    }

    func testACheckpointReachedThroughALinkIsRead() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let run = checkpointedRun(data, checkpoints: checkpoints)
        try loom(checkpointedRun(data, checkpoints: checkpoints, epochs: 2))
        let newest = try latestCheckpoint(checkpoints), moved = folder.path("moved.h5")
        try FileManager.default.moveItem(atPath: newest, toPath: moved)
        try FileManager.default.createSymbolicLink(atPath: newest, withDestinationPath: moved)
        XCTAssertEqual(try loom(run + ["--resume"]).err, "")
    }
}

extension CLITests {
    /// A checkpoint records the global shard count (ranks × shards per rank): one written by
    /// two ranks does not resume in one process of one worker, whose count is 1 (two workers,
    /// or `--global-shards 2`, would).
    func testAResumeWithAnotherGlobalShardCountIsRefused() throws {
        let data = try importedData()
        let checkpoints = folder.path("checkpoints")
        let run = [
            "train", "--data", data, "--epochs", "2", "--units", "4", "--batch-size", "16", "--quiet", "--checkpoint-dir",
            checkpoints,
        ]
        let spread = try mpirun(["-np", "2", executable.path] + run)
        XCTAssertEqual(spread.status, 0, spread.output)
        let alone = try loom(run.map { $0 == "2" ? "3" : $0 } + ["--resume"], expect: 1)
        XCTAssertEqual(
            alone.err,
            "Error: cannot resume: the checkpoint was taken with 2 global shards (processes × shards a process), this run has 1; "
                + "resume on any processes × shards that make 2 (loom train --global-shards 2), or continue on 1 with --reshard (the bits then differ from an uninterrupted run's)\n"
        )
        XCTAssertEqual(try loom(run.map { $0 == "2" ? "3" : $0 } + ["--workers", "2", "--resume"]).err, "")
        // --reshard continues on another count, and says the bits differ.
        let resharded = try loom(run.map { $0 == "2" ? "4" : $0 } + ["--resume", "--reshard"])
        XCTAssertEqual(
            resharded.err,
            "Warning: resharding: the checkpoint's 2 global shards become 1; the run continues, but no longer has the bits of an "
                + "uninterrupted run (each shard's dropout streams start afresh)\n")
        XCTAssertTrue(try loom(run + ["--reshard"], expect: 64).err.contains("--reshard goes with --resume"))
    }
}
