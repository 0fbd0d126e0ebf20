import Foundation
import Loom
import Synchronization
import TestSupport
import XCTest

/// A rank that stops answering without dying (SIGSTOP, a host cut off) ends the job within
/// `--rank-timeout` and a grace period: every rank that still runs says which rank did not
/// answer, no `loom` process is left, and the last checkpoint resumes to the bits of a job
/// never interrupted.
extension CLITests {
    /// The pids of the `loom` processes whose command line holds `marker` (from /proc).
    private func loomProcesses(marked marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard isRunning(pid), let line = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
            let arguments = String(decoding: line, as: UTF8.self).split(separator: "\0")
            return arguments.first?.hasSuffix("/loom") == true && arguments.contains { $0.contains(marker) }
        }
    }

    /// The MPI rank of the process `pid` (its `OMPI_COMM_WORLD_RANK`), nil when unreadable.
    private func mpiRank(of pid: Int32) -> Int? {
        guard let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { return nil }
        let prefix = "OMPI_COMM_WORLD_RANK="
        return String(decoding: environment, as: UTF8.self).split(separator: "\0")
            .first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) }
    }

    func testAStoppedRankEndsTheJobNamingItAndTheCheckpointResumes() throws {
        let data = try importedData()
        let common = [
            "train", "--data", data, "--units", "5", "--epochs", "60", "--batch-size", "36", "--quiet", "--checkpoint-every", "5",
        ]
        let (arguments, straight, resumed, checkpoints) = try interruptibleRun(common)
        let (process, pipe) = try startMPIRun(arguments + ["--rank-timeout", "3"])
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 180, execute: watchdog)
        defer { watchdog.cancel() }
        let ranks = self.ranks(of: process, onceWritten: checkpoints + "/checkpoint-0000000100.h5")
        XCTAssertEqual(ranks.count, 2)
        let start = Date()
        let stopped = try XCTUnwrap(ranks.first { mpiRank(of: $0) == 1 }, "rank 1's process")
        kill(stopped, SIGSTOP)
        defer { for rank in ranks where isRunning(rank) && mpiRank(of: rank) != nil { kill(rank, SIGKILL) } }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(start), 3 + 10, "ended within the timeout and 10 s")
        XCTAssertEqual(process.terminationStatus, 124, output)
        XCTAssertTrue(output.contains("rank 0 of 2: Error: rank 1 did not answer within 3 s (waiting for "), output)
        XCTAssertTrue(output.contains("the job ends (a checkpoint it wrote resumes with --resume)"), output)
        for rank in ranks { XCTAssertFalse(isRunning(rank), "rank process \(rank) is gone") }
        let again = try mpirun(arguments + ["--resume"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try weights(resumed), try weights(straight))
    }

    /// A rank stopped as the job starts (inside Open MPI's start-up, or at the first exchange)
    /// does not hold the job: it ends within the limit (5 s at least) and 10 s, status 124,
    /// no process left; and a rank stopped at the run's very end (after its part of
    /// `MPI_Finalize`, while rank 0 prints its last line) neither: rank 0 waits past Finalize
    /// for its host's ranks to exit, and ends the job when one has not.
    func testARankStoppedAtStartUpOrAtTheVeryEndDoesNotHoldTheJob() throws {
        let data = try importedData()
        let run = [
            "-np", "2", executable.path, "train", "--data", data, "--units", "4", "--epochs", "2", "--batch-size", "36",
            "--rank-timeout", "3",
        ]
        for moment in ["start-up", "end"] {
            let (process, pipe) = try startMPIRun(run)
            let pid = process.processIdentifier
            let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: watchdog)
            defer { watchdog.cancel() }
            let printed = Atomic<Bool>(false), redrawn = Atomic<Bool>(false)
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                if text.contains("Validation loss") { printed.store(true, ordering: .relaxed) }
                if text.contains("\r") { redrawn.store(true, ordering: .relaxed) }
            }
            var ranks: [Int32] = []
            while process.isRunning, ranks.count < 2 || ranks.contains(where: { mpiRank(of: $0) == nil }) {
                ranks = children(of: pid)
                usleep(500)
            }
            if moment == "end" { while process.isRunning, !printed.load(ordering: .relaxed) { usleep(500) } }
            let start = Date()
            if let stopped = ranks.first(where: { mpiRank(of: $0) == 1 }) { kill(stopped, SIGSTOP) }
            defer { for rank in ranks where isRunning(rank) && mpiRank(of: rank) != nil { kill(rank, SIGKILL) } }
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
            XCTAssertLessThan(Date().timeIntervalSince(start), 5 + 10, "\(moment): ended within the limit and 10 s")
            // At the end the stopped rank may already have exited whole: then the job ends well.
            XCTAssertTrue(
                process.terminationStatus == 124 || (moment == "end" && process.terminationStatus == 0),
                "\(moment): status \(process.terminationStatus)")
            for rank in ranks { XCTAssertFalse(isRunning(rank), "\(moment): rank process \(rank) is gone") }
            XCTAssertFalse(redrawn.load(ordering: .relaxed), "under mpirun a line an epoch, never the bar's redraws")
        }
    }

    /// A rank stopped once it has sent its part of the run's last barrier (it waits there
    /// while rank 0 writes the model) leaves rank 0 waiting in `MPI_Finalize`, which has no
    /// limit of its own: past `--rank-timeout` (here 5 s, the least) rank 0 ends the job with
    /// the timeout's status, its files written, and `mpirun` ends the stopped rank.
    func testARankStoppedAtTheRunsEndDoesNotHoldTheJob() throws {
        let data = try importedData()
        let outputs = folder.path("end"), save = outputs + "/end.keras"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: false)
        let (process, pipe) = try startMPIRun(
            [
                "-np", "2", executable.path, "train", "--data", data, "--units", "300", "--epochs", "1", "--batch-size", "36",
                "--quiet", "--save", save, "--rank-timeout", "3",
            ])
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        defer { watchdog.cancel() }
        // Rank 0 writes the parts of the .keras file once every rank has given it its state;
        // rank 1 passes on to the last barrier and waits there while rank 0 compresses them.
        func writing() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: outputs)) ?? []).contains { $0.hasPrefix(".parts") }
        }
        while !writing(), process.isRunning { usleep(1_000) }
        usleep(100_000)
        let ranks = children(of: pid)
        defer { for rank in ranks where isRunning(rank) && mpiRank(of: rank) != nil { kill(rank, SIGKILL) } }
        XCTAssertEqual(ranks.count, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: save), "rank 0 still writes the model")
        let stopped = try XCTUnwrap(ranks.first { mpiRank(of: $0) == 1 }, "rank 1's process")
        kill(stopped, SIGSTOP)
        let start = Date()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // The wait for MPI_Finalize is the rank timeout, but never under finishSeconds.
        XCTAssertLessThan(Date().timeIntervalSince(start), 5 + 10, "ended within the timeout and 10 s")
        XCTAssertEqual(process.terminationStatus, 124, output)
        XCTAssertTrue(
            output.contains("rank 0 of 2: Error: another rank did not end within 5 s of the run's end (every rank had reached it"),
            output)
        for rank in ranks { XCTAssertFalse(isRunning(rank), "rank process \(rank) is gone") }
        XCTAssertTrue(try loom(["summary", "--model", save]).out.contains("lstm"), "the model was written whole")
    }

    /// `loom bench` under mpirun splits worker 0's time in messages into waiting for the
    /// slowest rank and the exposed exchange, reports the time the exchange's buckets were in
    /// flight during the backward pass (none with `--bucket-floats 0`) and projects both ways.
    func testBenchUnderMPIRunSeparatesTheSlowestRankFromTheExchange() throws {
        for buckets in ["1", "0"] {
            let run = try mpirun(
                [
                    "-np", "2", executable.path, "bench", "--workers", "1", "--steps", "4", "--rounds", "1", "--units", "4",
                    "--bucket-floats", buckets,
                ], timeout: 60)
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertTrue(run.output.contains("compute  wait  reduce  optimizer  slowest rank  exchange  hidden"), run.output)
            let lines = run.output.split(separator: "\n")
            let measured = try XCTUnwrap(lines.first { $0.hasPrefix("measured: ") })
            XCTAssertTrue(measured.contains("ms of exposed exchange for "), String(measured))
            XCTAssertTrue(measured.contains("ms hidden behind the backward pass"), String(measured))
            XCTAssertTrue(measured.hasSuffix("ms waiting for the slowest rank"), String(measured))
            let bucketLine = try XCTUnwrap(lines.first { $0.hasPrefix("buckets (floats, ms ready before the end") })
            // LSTM(4) on 25 features, then Dense(1): Dense's 5 floats, the LSTM's recurrent kernel and bias, its kernel.
            if buckets == "0" {
                XCTAssertTrue(bucketLine.hasSuffix(": 485 at 0.000"), String(bucketLine))
            } else {
                XCTAssertTrue(
                    bucketLine.contains(": 5 at ") && bucketLine.contains(", 80 at ") && bucketLine.contains(", 400 at "),
                    String(bucketLine))
            }
            if buckets == "0" { XCTAssertTrue(measured.contains("0.000 ms hidden"), String(measured)) }
            XCTAssertTrue(run.output.contains("64 hosts: weak "), run.output)
        }
    }

    /// Two namespace hosts (`Tests/MPI/two-hosts.sh`) whose link goes down once the first
    /// checkpoint is written: rank 0
    /// names rank 1, mpirun ends, and the rank behind the cut ends itself (rank 1's own line
    /// cannot cross the cut to mpirun's output).
    func testACutLinkBetweenTwoHostsEndsTheJob() throws {
        let data = try importedData()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MPI/two-hosts.sh").path
        let marker = folder.path("cut-link-checkpoints")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            script, executable.path, "train", "--data", data, "--units", "5", "--epochs", "100000", "--batch-size", "36", "--quiet",
            "--checkpoint-dir", marker, "--rank-timeout", "3",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["LOOM_CUT_LINK_WHEN": marker + "/latest"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let start = Date()
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        if process.terminationStatus == 77 { throw XCTSkip(output) }
        let cutLine = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("two-hosts.sh: link cut after ") }, output)
        let cutAfter = try XCTUnwrap(Double(cutLine.split(separator: " ")[4]), String(cutLine))
        XCTAssertLessThan(Date().timeIntervalSince(start) - cutAfter, 3 + 10, "ended within the timeout and 10 s of the cut")
        XCTAssertNotEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("rank 0 of 2: Error: rank 1 did not answer within 3 s"), output)
        // The script names a rank it had to kill when it removed the hosts: the one behind the cut ended itself.
        XCTAssertFalse(output.contains("was still running"), output)
        XCTAssertEqual(loomProcesses(marked: marker), [], "no rank left on either host")
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker + "/latest"), "a checkpoint was written before the cut")
    }
}
