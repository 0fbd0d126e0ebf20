import Foundation
import Loom
import LoomHDF5
import LoomKeras
import TestSupport
import XCTest

/// `mpirun -np R loom ...` on this machine (ranks oversubscribed): R ranks of W workers give
/// bitwise the weights of one process with R·W fixed shards; a rank killed ends the job; ranks
/// that run different commands, or miss their data, are refused at start-up, by name.
extension CLITests {
    /// Runs `mpirun` (as root where that applies, more ranks than cores allowed, threads not
    /// bound) with `arguments`; returns its status and its stdout and stderr together.
    func mpirun(_ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String) {
        let (process, pipe) = try startMPIRun(arguments)
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        XCTAssertFalse(
            watchdog.isCancelled == false && process.terminationReason == .uncaughtSignal,
            "mpirun \(arguments.joined(separator: " ")) ran past \(timeout) s")
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `mpirun` as `mpirun(_:timeout:)` does, without waiting: its stdout and stderr
    /// together in the pipe returned.
    func startMPIRun(_ arguments: [String]) throws -> (process: Process, output: Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/usr/bin/mpirun"), "make deps installs Open MPI")
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"] + arguments
        process.currentDirectoryURL = folder.url
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    func testRanksGiveTheBitsOfOneProcessWithFixedShards() throws {
        let data = try importedData()
        for arch in ["vanilla", "stacked", "bidirectional", "stateful"] {
            // Recursive halving (2 x 1, 4 x 1) and the direct exchange of several pieces per rank
            // (3 x 2: three ranks; 2 x 3: three shards a rank, two pieces).
            let splits = [(2, 1), (3, 2)] + (["vanilla", "stateful"].contains(arch) ? [(4, 1), (2, 3)] : [])
            for (ranks, workers) in splits {
                let common = [
                    "train", "--data", data, "--arch", arch, "--units", "5", "--epochs", "2", "--batch-size", "36",
                    "--validation-split", "0", "--quiet",
                ]
                let spread = folder.path("\(arch)-\(ranks)x\(workers).weights.h5")
                let run = try mpirun(["-np", String(ranks), executable.path] + common + ["--workers", String(workers), "--save", spread])
                XCTAssertEqual(run.status, 0, run.output)
                let alone = folder.path("\(arch)-fixed-\(ranks * workers).weights.h5")
                try loom(common + ["--fixed-shards", String(ranks * workers), "--save", alone])
                XCTAssertEqual(try weights(spread), try weights(alone), "\(arch) on \(ranks) ranks x \(workers) workers")
            }
        }
        let averaged = [
            "train", "--data", data, "--units", "5", "--epochs", "2", "--batch-size", "36", "--averaging",
            "parameters", "--every", "3", "--quiet",
        ]
        for ranks in [2, 3] {
            let spread = folder.path("averaged-\(ranks).weights.h5"), alone = folder.path("averaged-fixed-\(ranks).weights.h5")
            let run = try mpirun(["-np", String(ranks), executable.path] + averaged + ["--save", spread])
            XCTAssertEqual(run.status, 0, run.output)
            try loom(averaged + ["--fixed-shards", String(ranks), "--save", alone])
            XCTAssertEqual(try weights(spread), try weights(alone), "parameter averaging across \(ranks) ranks")
        }
    }

    /// The exchange overlapped with the backward pass (`--bucket-floats 1`: a bucket at every
    /// layer and recurrent kernel, sent as the pass finishes it) gives the bits of the exchange
    /// after the pass (`--bucket-floats 0`) and of one process with the same shards: recursive
    /// halving (2 × 1, 4 × 1) and the direct exchange (3 × 2, 2 × 3), shards of several row
    /// blocks (batch 600), dropout, a stateful model, masked and weighted sequences; a
    /// diverging run names the same step, layer and weight; a negative bucket is refused.
    func testTheOverlappedExchangeGivesTheBitsOfTheExchangeAfterTheBackwardPass() throws {
        let data = try importedData(), sequences = try importedSequences(padding: "pre")
        let masked = ["--arch", "many-to-many", "--lengths", "lengths", "--sample-weights", "w", "--batch-size", "10"]
        // (Units 1: the top bucket, Dense's 2 floats, leaves some ranks no float of it.)
        let cases: [(String, Int, Int, [String])] = [
            (data, 2, 1, ["--arch", "stacked", "--batch-size", "600"]),
            (data, 4, 1, ["--arch", "vanilla", "--batch-size", "600", "--dropout", "0.2"]),
            (data, 3, 2, ["--arch", "stacked", "--batch-size", "36"]),
            (data, 2, 3, ["--arch", "bidirectional", "--batch-size", "40"]),
            (data, 2, 2, ["--arch", "stateful", "--batch-size", "36"]),
            (data, 3, 1, ["--arch", "vanilla", "--batch-size", "36", "--units", "1"]),
            (data, 4, 1, ["--arch", "vanilla", "--batch-size", "36", "--units", "1"]),
            (sequences, 3, 1, masked),
        ]
        for (index, (file, ranks, workers, extra)) in cases.enumerated() {
            let units = extra.contains("--units") ? [] : ["--units", "5"]
            let common = ["train", "--data", file, "--epochs", "2", "--validation-split", "0", "--quiet"] + units + extra
            var saved: [String] = []
            for buckets in ["1", "0"] {
                let path = folder.path("overlap-\(index)-\(buckets).weights.h5")
                let run = try mpirun(
                    ["-np", String(ranks), executable.path] + common + [
                        "--workers", String(workers), "--bucket-floats", buckets, "--save", path,
                    ])
                XCTAssertEqual(run.status, 0, run.output)
                saved.append(path)
            }
            let alone = folder.path("overlap-\(index)-alone.weights.h5")
            try loom(common + ["--fixed-shards", String(ranks * workers), "--save", alone])
            let what = "\(ranks) x \(workers) \(extra.joined(separator: " "))"
            XCTAssertEqual(try weights(saved[0]), try weights(saved[1]), "overlapped and not, \(what)")
            XCTAssertEqual(try weights(saved[0]), try weights(alone), "overlapped and one process, \(what)")
        }
        // A rate that makes the run diverge is named at the same step, layer and weight either way.
        var messages: [String] = []
        for buckets in ["1", "0"] {
            let run = try mpirun([
                "-np", "2", executable.path, "train", "--data", data, "--arch", "stacked", "--units", "4", "--epochs", "20",
                "--lr", "1e30", "--batch-size", "40", "--quiet", "--bucket-floats", buckets,
            ])
            XCTAssertEqual(run.status, 1, run.output)
            let line = run.output.split(separator: "\n").first { $0.hasPrefix("rank 0 of 2: Error: training diverged at epoch ") }
            messages.append(String(try XCTUnwrap(line, run.output)))
        }
        XCTAssertEqual(messages[0], messages[1])
        XCTAssertTrue(messages[0].contains("the gradient of layer 'lstm' (kernel) holds NaN"), messages[0])
        let refused = try loom(["train", "--data", data, "--bucket-floats=-1"], expect: 64)
        XCTAssertTrue(refused.err.contains("--bucket-floats must be at least 0"), refused.err)
    }

    /// Gradient accumulation across ranks: each rank's micro-batches cover its own leaves and
    /// the ranks exchange once an update, to the bits of one process running the big batch
    /// (n · b rows) on ranks × n × workers fixed shards, shuffled.
    func testAccumulatedUpdatesAcrossRanksGiveTheBitsOfTheBigBatch() throws {
        let data = try importedData()
        for (ranks, workers, steps) in [(2, 1, 2), (2, 2, 3)] {
            let common = ["train", "--data", data, "--arch", "vanilla", "--units", "5", "--epochs", "2", "--quiet"]
            let spread = folder.path("accumulated-\(ranks)x\(workers)x\(steps).weights.h5")
            let run = try mpirun(
                ["-np", String(ranks), executable.path] + common + [
                    "--batch-size", "10", "--accumulate", String(steps), "--workers", String(workers), "--save", spread,
                ])
            XCTAssertEqual(run.status, 0, run.output)
            let alone = folder.path("accumulated-big-\(ranks)x\(workers)x\(steps).weights.h5")
            try loom(
                common + [
                    "--batch-size", String(10 * steps), "--fixed-shards", String(ranks * workers * steps), "--save", alone,
                ])
            XCTAssertEqual(try weights(spread), try weights(alone), "\(ranks) ranks x \(workers) workers x \(steps) micro-batches")
        }
    }

    /// An accumulated run across ranks, with dropout, continued from its checkpoint for more
    /// epochs ends with the bits of one run of them all: rank 0's checkpoint holds every
    /// rank's leaves' dropout streams.
    func testAccumulatedRunsAcrossRanksResumeToTheSameBits() throws {
        let data = try importedData()
        let config = folder.path("dropout-accumulated.json")
        let model = Sequential(seed: 4) {
            Input(shape: [8, 2]); LSTM(4, dropout: 0.2); Dropout(0.3); Dense(1)
        }
        try model.kerasJSON().write(toFile: config, atomically: true, encoding: .utf8)
        let common = [
            "train", "--data", data, "--model", config, "--batch-size", "12", "--accumulate", "3", "--workers", "2", "--quiet",
        ]
        let straight = folder.path("accumulated-straight.weights.h5"), resumed = folder.path("accumulated-resumed.weights.h5")
        let reference = try mpirun(["-np", "2", executable.path] + common + ["--epochs", "3", "--save", straight])
        XCTAssertEqual(reference.status, 0, reference.output)
        let checkpoints = ["--checkpoint-dir", folder.path("accumulated-checkpoints"), "--save", resumed]
        let first = try mpirun(["-np", "2", executable.path] + common + checkpoints + ["--epochs", "2"])
        XCTAssertEqual(first.status, 0, first.output)
        let more = try mpirun(["-np", "2", executable.path] + common + checkpoints + ["--epochs", "3", "--resume"])
        XCTAssertEqual(more.status, 0, more.output)
        XCTAssertEqual(try weights(resumed), try weights(straight))
    }

    func testEvaluateAndPredictAcrossRanksMatchOneProcess() throws {
        let data = try importedData()
        let model = folder.path("m.keras")
        try loom(["train", "--data", data, "--units", "5", "--epochs", "1", "--quiet", "--save", model])
        // The same shards in one process: 3 workers for 3 ranks.
        let alone = try loom(["evaluate", "--model", model, "--data", data, "--batch-size", "36", "--workers", "3"]).out
        let spread = try mpirun(["-np", "3", executable.path, "evaluate", "--model", model, "--data", data, "--batch-size", "36"])
        XCTAssertEqual(spread.status, 0, spread.output)
        XCTAssertEqual(spread.output, alone)
        let out = folder.path("p.h5"), outAlone = folder.path("p1.h5")
        XCTAssertEqual(try mpirun(["-np", "2", executable.path, "predict", "--model", model, "--data", data, "--out", out]).status, 0)
        try loom(["predict", "--model", model, "--data", data, "--out", outAlone, "--workers", "2"])
        let file = try HDF5File(path: out), single = try HDF5File(path: outAlone)
        XCTAssertEqual(try file.read("predictions").scalars, try single.read("predictions").scalars)
    }

    /// The echo task (answer the value of one batch back, row by row) on 2 ranks: learned by a
    /// stateful LSTM, whose rows continue on the rank that owns their shard and are reset each
    /// epoch on every rank; not learned by the same LSTM without state (reset every batch).
    func testStatefulEchoIsLearnedAcrossRanks() throws {
        let rows = 8, steps = 48
        let (x, y) = EchoTask.data(rows: rows, steps: steps, seed: 11)
        let data = folder.path("echo.h5")
        do {
            // Closed at the end of this block: HDF5 locks a file open for writing.
            let file = try HDF5File(path: data, mode: .create)
            try file.write(x, as: "X")
            try file.write(y, as: "y")
        }
        func finalLoss(_ arch: String) throws -> Double {
            let history = folder.path("echo-\(arch).csv")
            let run = try mpirun([
                "-np", "2", executable.path, "train", "--data", data, "--arch", arch, "--units", "16", "--batch-size",
                "8", "--epochs", "30", "--lr", "0.01", "--validation-split", "0", "--no-shuffle", "--quiet",
                "--history", history,
            ])
            XCTAssertEqual(run.status, 0, run.output)
            let last = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").last ?? ""
            return Double(last.split(separator: ",")[1]) ?? .nan
        }
        XCTAssertLessThan(try finalLoss("stateful"), 0.02, "stateful across 2 ranks")
        XCTAssertGreaterThan(try finalLoss("vanilla"), 0.06, "without state")
    }

    /// A rank killed with SIGKILL mid-epoch: mpirun ends the job, non-zero, naming the rank,
    /// and no rank is left running.
    func testAKilledRankEndsTheJob() throws {
        let data = try importedData()
        let (process, pipe) = try startMPIRun([
            "-np", "2", executable.path, "train", "--data", data, "--units", "5", "--epochs", "500", "--quiet",
        ])
        var ranks: [Int32] = []
        for _ in 0..<200 where ranks.count < 2 {
            usleep(50_000)
            ranks = children(of: process.processIdentifier)
        }
        XCTAssertEqual(ranks.count, 2, "the two ranks started")
        usleep(500_000)
        let start = Date()
        kill(ranks[1], SIGKILL)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(output.contains("process rank 1") || output.contains("rank 1"), output)
        for rank in ranks { XCTAssertFalse(isRunning(rank), "rank process \(rank) is gone") }
    }

    /// Whether `pid` is a live process (not gone, not a zombie left for a parent to reap).
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// A job whose rank is killed after a checkpoint, launched again with `--resume`, ends with
    /// the bits of a job never interrupted: rank 0 gathers every rank's state into the
    /// checkpoint and sends it back to all on resuming. A dropout model, so every rank's
    /// dropout streams must come back.
    func testAJobKilledMidRunResumesToTheSameBits() throws {
        let data = try importedData()
        let config = folder.path("dropout.json")
        let model = Sequential(seed: 3) {
            Input(shape: [8, 2])
            LSTM(5, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2)
            Dropout(0.25)
            LSTM(4)
            Dense(1)
        }
        try model.kerasJSON().write(toFile: config, atomically: true, encoding: .utf8)
        let common = [
            "train", "--data", data, "--model", config, "--epochs", "40", "--batch-size", "36", "--quiet",
            "--checkpoint-every", "5",
        ]
        let straight = folder.path("straight.weights.h5"), resumed = folder.path("resumed.weights.h5")
        let reference = try mpirun(
            ["-np", "2", executable.path] + common + [
                "--save", straight, "--checkpoint-dir",
                folder.path("straight"),
            ])
        XCTAssertEqual(reference.status, 0, reference.output)
        let checkpoints = folder.path("checkpoints")
        let arguments = ["-np", "2", executable.path] + common + ["--save", resumed, "--checkpoint-dir", checkpoints]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        process.arguments = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ranks = self.ranks(of: process, onceWritten: checkpoints + "/checkpoint-0000000100.h5")
        XCTAssertEqual(ranks.count, 2)
        if let rank = ranks.last { kill(rank, SIGKILL) }
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        let again = try mpirun(arguments + ["--resume"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try weights(resumed), try weights(straight))
    }

    /// SIGTERM to one rank alone (not rank 0) stops every rank as stopped, not finished: rank
    /// 0 says so, writes no `--save` (the checkpoint holds the run) and ends with 75; the
    /// checkpoint resumes to the bits of the uninterrupted run.
    func testATermSignalToOneRankStopsTheJobAsStopped() throws {
        let data = try importedData()
        let common = [
            "train", "--data", data, "--units", "4", "--epochs", "40", "--batch-size", "36", "--verbose", "2",
            "--checkpoint-every", "5",
        ]
        let (arguments, straight, resumed, checkpoints) = try interruptibleRun(common)
        let (process, pipe) = try startMPIRun(arguments)
        let ranks = self.ranks(of: process, onceWritten: checkpoints + "/checkpoint-0000000100.h5")
        XCTAssertEqual(ranks.count, 2)
        if let rank = ranks.last { kill(rank, SIGTERM) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 75, output)
        XCTAssertTrue(output.contains("Stopped by a signal after epoch"), output)
        XCTAssertFalse(output.contains("Validation loss:"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed), "no --save of a stopped run with a checkpoint")
        let again = try mpirun(arguments + ["--resume"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try weights(resumed), try weights(straight))
    }

    /// A checkpoint resumes on any placement of the same global shards: 4 ranks × 1 worker,
    /// then 2 ranks × 2 workers, then one process of 4 workers (`--global-shards 4`), with
    /// dropout streams, end with the bits of the uninterrupted run; another count is refused.
    func testACheckpointResumesOnAnotherPlacementOfTheSameShards() throws {
        let data = try importedData()
        let config = folder.path("placed.json")
        let model = Sequential(seed: 6) {
            Input(shape: [8, 2]); LSTM(4, dropout: 0.2, recurrentDropout: 0.1); Dropout(0.3); Dense(1)
        }
        try model.kerasJSON().write(toFile: config, atomically: true, encoding: .utf8)
        let common = ["train", "--data", data, "--model", config, "--batch-size", "16", "--quiet", "--global-shards", "4"]
        let straight = folder.path("placed-straight.weights.h5"), resumed = folder.path("placed-resumed.weights.h5")
        try loom(common + ["--workers", "2", "--epochs", "3", "--save", straight])
        let checkpoints = ["--checkpoint-dir", folder.path("placed-checkpoints"), "--save", resumed]
        let first = try mpirun(["-np", "4", executable.path] + common + checkpoints + ["--epochs", "1"])
        XCTAssertEqual(first.status, 0, first.output)
        let second = try mpirun(["-np", "2", executable.path] + common + checkpoints + ["--workers", "2", "--epochs", "2", "--resume"])
        XCTAssertEqual(second.status, 0, second.output)
        try loom(common + checkpoints + ["--workers", "4", "--epochs", "3", "--resume"])
        XCTAssertEqual(try weights(resumed), try weights(straight))
        let other = try loom(
            [
                "train", "--data", data, "--model", config, "--batch-size", "16", "--quiet", "--global-shards", "2", "--epochs", "4",
                "--resume",
            ] + checkpoints, expect: 1)
        XCTAssertTrue(
            other.err.contains(
                "the checkpoint was taken with 4 global shards (processes × shards a process), this run has 2; resume on any "
                    + "processes × shards that make 4 (loom train --global-shards 4)"), other.err)
        let uneven = try mpirun(["-np", "3", executable.path] + common + ["--epochs", "1"])
        XCTAssertNotEqual(uneven.status, 0)
        XCTAssertTrue(uneven.output.contains("--global-shards 4 must be a multiple of the 3 ranks"), uneven.output)
    }

    /// The processes whose parent is `parent` (from /proc).
    /// Runs `common` under `mpirun -np 2` to its end, its model saved in `straight`; returns
    /// the same run's arguments saving to `resumed`, checkpoints in `checkpoints`, for a run
    /// to interrupt and resume to `straight`'s bits.
    func interruptibleRun(_ common: [String]) throws -> (
        arguments: [String], straight: String, resumed: String, checkpoints: String
    ) {
        let straight = folder.path("straight.weights.h5"), resumed = folder.path("resumed.weights.h5")
        let reference = try mpirun(
            ["-np", "2", executable.path] + common + ["--save", straight, "--checkpoint-dir", folder.path("straight-checkpoints")])
        XCTAssertEqual(reference.status, 0, reference.output)
        let checkpoints = folder.path("checkpoints")
        return (
            ["-np", "2", executable.path] + common + ["--save", resumed, "--checkpoint-dir", checkpoints], straight, resumed, checkpoints
        )
    }

    /// The rank processes of the running `mpirun` `process` once `file` exists (or the job
    /// ended, or two minutes passed).
    func ranks(of process: Process, onceWritten file: String) -> [Int32] {
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: file), process.isRunning, Date() < deadline { usleep(5_000) }
        return children(of: process.processIdentifier)
    }

    func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent
        }.sorted()
    }

    /// Two hosts: network namespaces joined by a veth pair, the second reached through a launch
    /// agent instead of ssh, MPI over TCP only (`Tests/MPI/two-hosts.sh`): the same bits as one
    /// process with two fixed shards.
    func testTwoHostsOverTCPGiveTheSameBits() throws {
        let data = try importedData()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MPI/two-hosts.sh").path
        let common = ["train", "--data", data, "--units", "5", "--epochs", "2", "--batch-size", "36", "--quiet"]
        let spread = folder.path("two-hosts.weights.h5"), alone = folder.path("one-host.weights.h5")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, executable.path] + common + ["--save", spread]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 77 { throw XCTSkip(output) }
        XCTAssertEqual(process.terminationStatus, 0, output)
        try loom(common + ["--fixed-shards", "2", "--save", alone])
        XCTAssertEqual(try weights(spread), try weights(alone))
    }

    func testRanksThatDisagreeAreRefusedAtStartUp() throws {
        let data = try importedData()
        let copy = folder.path("copy.h5")
        try FileManager.default.copyItem(atPath: data, toPath: copy)
        let train = ["train", "--units", "5", "--epochs", "1", "--quiet"]
        let mixed = try mpirun(
            ["-np", "1", executable.path] + train + ["--data", data, ":", "-np", "1", executable.path]
                + train + ["--data", copy], timeout: 60)
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertTrue(mixed.output.contains("the ranks disagree on --data: rank 0 has \(data), rank 1 has \(copy)"), mixed.output)
        let seeds = try mpirun(
            ["-np", "1", executable.path] + train + ["--data", data, ":", "-np", "1", executable.path]
                + train + ["--data", data, "--seed", "2"], timeout: 60)
        XCTAssertTrue(seeds.output.contains("the ranks disagree on --seed"), seeds.output)
        // The same relative path, missing in rank 1's folder.
        let here = folder.path("here"), empty = folder.path("empty")
        for path in [here, empty] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        try FileManager.default.copyItem(atPath: data, toPath: here + "/d.h5")
        let missing = try mpirun(
            ["-np", "1", "--wdir", here, executable.path] + train + [
                "--data", "d.h5", ":", "-np", "1",
                "--wdir", empty, executable.path,
            ] + train + ["--data", "d.h5"], timeout: 60)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("rank 1 of 2 could not open --data d.h5"), missing.output)
    }
}
