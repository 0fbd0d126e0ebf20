import Foundation
import XCTest

/// The library's diagnostics through swift-log, on standard error at `--log-level` (or
/// `LOOM_LOG_LEVEL`), never on standard output; one exit-status contract, in `loom --help`.
extension CLITests {
    func testDiagnosticsFollowTheLogLevel() throws {
        let data = folder.path("series.h5"), checkpoints = folder.path("checkpoints")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        let train = ["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet"]
        XCTAssertEqual(try loom(train).err, "", "warnings only, by default")
        let debug = try loom(train + ["--log-level", "debug", "--workers", "2"])
        XCTAssertEqual(debug.out, "")
        XCTAssertTrue(debug.err.contains("[debug loom.hdf5] opened \(data): X (112, 8, 1), y (112, 1)"), debug.err)
        XCTAssertTrue(debug.err.contains("[debug loom] fit: 2 shards on 2 workers a process, 1 processes, kernels "), debug.err)
        let info = try loom(train + ["--checkpoint-dir", checkpoints], environment: ["LOOM_LOG_LEVEL": "info"])
        XCTAssertTrue(info.err.contains("[info loom.hdf5] checkpoint of step 3 written into \(checkpoints)"), info.err)
        XCTAssertFalse(info.err.contains("[debug"), info.err)
        let refused = try loom(train + ["--log-level", "loud"], expect: 64)
        XCTAssertTrue(
            refused.err.contains("--log-level must be one of trace, debug, info, notice, warning, error, critical, got 'loud'"), refused.err
        )
    }

    func testOneExitStatusContractIsListed() throws {
        let help = try loom(["--help"]).out
        for status in [
            "0 success", "1 a user or data error", "64 a command line that cannot run", "69 under mpirun, another rank lost",
            "70 an internal error", "75 stopped by a signal with a checkpoint", "130 stopped by a signal with nothing to resume",
        ] {
            XCTAssertTrue(help.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "  ", with: " ").contains(status), status)
        }
        XCTAssertEqual(
            try loom(["evaluate", "--data", folder.path("absent.h5"), "--model", folder.path("m.keras")], expect: 1).err.count > 0, true)
    }
}
