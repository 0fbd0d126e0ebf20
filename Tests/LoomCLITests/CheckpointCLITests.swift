import Foundation
import Loom
import LoomHDF5
import XCTest

/// `loom train --checkpoint-dir`: a real process killed with SIGKILL at a random step, or
/// stopped with SIGTERM, and resumed with `--resume`, saves the same weights, bit for bit, as
/// a run never interrupted; the options a resumption may not change are refused by name.
extension CLITests {
    /// A series of 612 windows of 8 steps, imported by `loom import`.
    func importedData() throws -> String {
        let csv = folder.path("long.csv"), data = folder.path("long.h5")
        let rows = (0..<620).map { t in "\(t),\(sin(Double(t) * 0.3)),\(cos(Double(t) * 0.7))" }
        try (["t,s,c"] + rows).joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s,c", "--target", "s", "--out", data])
        return data
    }

    private func trainArguments(_ data: String, save: String, checkpoints: String, extra: [String] = []) -> [String] {
        [
            "train", "--data", data, "--epochs", "6", "--units", "6", "--batch-size", "16", "--quiet", "--save", save,
            "--checkpoint-dir", checkpoints, "--checkpoint-every", "3",
        ] + extra
    }

    /// Every weight of a `.weights.h5` file, by dataset name.
    func weights(_ path: String) throws -> [String: [UInt32]] {
        let file = try HDF5File(path: path)
        var result: [String: [UInt32]] = [:]
        for name in try file.datasetNames(under: "layers") { result[name] = try file.read(name).scalars.map(\.bitPattern) }
        XCTAssertFalse(result.isEmpty)
        return result
    }

    /// The step of the checkpoint `latest` names in `folder`, 0 when there is none yet.
    private func latestStep(_ folder: String) -> Int {
        let text = (try? String(contentsOfFile: folder + "/latest", encoding: .utf8)) ?? ""
        return Int(text.dropFirst("checkpoint-".count).prefix(10)) ?? 0
    }

    /// Starts `loom train`, waits for a checkpoint at or past `step`, then sends `signal`;
    /// returns the exit status.
    private func interrupt(_ arguments: [String], checkpoints: String, atStep step: Int, signal: Int32) throws -> Int32 {
        let process = try background(arguments)
        let deadline = Date().addingTimeInterval(120)
        while latestStep(checkpoints) < step && process.isRunning && Date() < deadline { usleep(2_000) }
        XCTAssertTrue(process.isRunning, "the run ended before step \(step)")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testAKilledRunResumesToTheSameBits() throws {
        let data = try importedData()
        let reference = folder.path("reference.weights.h5")
        try loom(trainArguments(data, save: reference, checkpoints: folder.path("reference-checkpoints")))
        let expected = try weights(reference)
        var generator = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
        for round in 0..<3 {
            let step = 3 + Int(generator.next() % 150)
            let save = folder.path("resumed-\(round).weights.h5"), checkpoints = folder.path("checkpoints-\(round)")
            let arguments = trainArguments(data, save: save, checkpoints: checkpoints)
            _ = try interrupt(arguments, checkpoints: checkpoints, atStep: step, signal: SIGKILL)
            XCTAssertFalse(FileManager.default.fileExists(atPath: save))
            try loom(arguments + ["--resume"])
            XCTAssertEqual(try weights(save), expected, "killed at step \(step) or later")
        }
    }

    func testSIGTERMCheckpointsAndExitsWithItsOwnStatus() throws {
        let data = try importedData()
        let reference = folder.path("reference.weights.h5")
        try loom(trainArguments(data, save: reference, checkpoints: folder.path("reference-checkpoints")))
        let save = folder.path("stopped.weights.h5"), checkpoints = folder.path("checkpoints")
        let arguments = trainArguments(data, save: save, checkpoints: checkpoints)
        XCTAssertEqual(try interrupt(arguments, checkpoints: checkpoints, atStep: 40, signal: SIGTERM), 75)
        XCTAssertGreaterThanOrEqual(latestStep(checkpoints), 40)
        let resumed = try loom(arguments.filter { $0 != "--quiet" } + ["--resume"])
        XCTAssertTrue(resumed.out.contains("Checkpoints: "), resumed.out)
        XCTAssertEqual(try weights(save), try weights(reference))
    }

    func testResumingRefusesWhatWouldChangeTheBits() throws {
        let data = try importedData()
        let save = folder.path("m.weights.h5"), checkpoints = folder.path("checkpoints")
        let arguments = trainArguments(data, save: save, checkpoints: checkpoints)
        let fresh = try loom(arguments.filter { $0 != "--quiet" } + ["--resume"])
        XCTAssertTrue(fresh.out.contains("No checkpoint in \(checkpoints) yet: starting from the beginning\n"), fresh.out)
        let again = try loom(arguments, expect: 64)
        XCTAssertTrue(again.err.hasPrefix("Error: --checkpoint-dir \(checkpoints) holds a checkpoint of an earlier run"), again.err)
        let changed = try loom(arguments.map { $0 == "16" ? "32" : $0 } + ["--resume"], expect: 1)
        XCTAssertEqual(
            changed.err,
            "Error: cannot resume: the checkpoint was taken with batch size 16, this run has 32 "
                + "(a resume may change only the epochs, the outputs, the logging and the placement)\n")
        let copy = folder.path("copy.h5")
        try FileManager.default.copyItem(atPath: data, toPath: copy)
        let otherData = try loom(arguments.map { $0 == data ? copy : $0 } + ["--resume"], expect: 1)
        XCTAssertEqual(
            otherData.err,
            "Error: cannot resume: the checkpoint was taken with --data \(data), this run has \(copy) "
                + "(a resume may change only the epochs, the outputs, the logging and the placement)\n")
        var longer = arguments
        longer[longer.firstIndex(of: "--epochs")! + 1] = "8"
        XCTAssertEqual(try loom(longer + ["--resume"]).err, "")
        let bad = try loom(["train", "--data", data, "--resume"], expect: 64)
        XCTAssertEqual(bad.err.split(separator: "\n").first, "Error: --resume needs --checkpoint-dir")
    }
}
