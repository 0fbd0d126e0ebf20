import Foundation
import XCTest

/// What a user watching a run sees: log lines that reach a file as they are printed, a
/// history file that holds every finished epoch of a run that is killed, and a comparison
/// with the naive forecast that says worse when it is worse.
extension CLITests {
    func testLogsStreamAndTheHistoryIsWrittenEveryEpoch() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5"), log = folder.path("train.log"), history = folder.path("history.csv")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["train", "--data", data, "--units", "16", "--epochs", "100000", "--history", history]
        process.currentDirectoryURL = folder.url
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let deadline = Date().addingTimeInterval(60)
        func epochsLogged() -> Int {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: "Epoch ").count - 1
        }
        func epochsInHistory() -> Int {
            max(0, ((try? String(contentsOfFile: history, encoding: .utf8)) ?? "").split(separator: "\n").count - 1)
        }
        while epochsInHistory() < 4, process.isRunning, Date() < deadline { usleep(10_000) }
        // Frozen between two epochs' writes: every epoch the history holds is in the log already
        // (block-buffered, the log would lag by kilobytes).
        kill(process.processIdentifier, SIGSTOP)
        let (logged, recorded) = (epochsLogged(), epochsInHistory())
        XCTAssertGreaterThanOrEqual(recorded, 4)
        XCTAssertGreaterThanOrEqual(logged, recorded, "the log holds each epoch as it ends")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let rows = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "epoch,loss,mae,val_loss,val_mae,learning_rate")
        XCTAssertGreaterThanOrEqual(rows.count, 2, "a killed run leaves the epochs it finished")
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0.split(separator: ",").count == 6 }, "whole rows only")
    }

    func testTheNaiveForecastComparisonSaysWorseWhenItIsWorse() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        let out = try loom(["train", "--data", data, "--units", "2", "--epochs", "1", "--lr", "0.0001"]).out
        let line = try XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix("Validation loss") })
        let numbers = line.split(separator: " ").compactMap { Double($0) }
        XCTAssertEqual(numbers.count, 2, String(line))
        XCTAssertTrue(line.contains(numbers[0] <= numbers[1] ? "x better" : "x worse"), String(line))
    }
}
