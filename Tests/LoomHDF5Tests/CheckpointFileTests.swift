import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// Checkpoint files and folders: a damaged file is a clear error and never a different run;
/// a full disk or a read-only folder leaves the previous checkpoint as it was.
final class CheckpointFileTests: XCTestCase {
    let folder = TemporaryFolder()

    private func snapshot(_ size: Int = 5_000) -> TrainingSnapshot {
        var snapshot = TrainingSnapshot()
        snapshot.floats["parameters"] = (0..<size).map { Float($0) * 0.25 }
        snapshot.words["position"] = [1, 2, 30, 0]
        snapshot.words["generator"] = [1, .max, 3, 4]
        snapshot.reals["history.loss"] = [0.5, 0.25]
        snapshot.texts["setting.batch size"] = "8"
        return snapshot
    }

    func testARoundTripKeepsEveryBit() throws {
        let original = snapshot()
        let output = try OutputFile(folder.path("c.h5"), role: "test")
        try CheckpointFile.write(original, to: output)
        XCTAssertEqual(try CheckpointFile.read(output.path), original)
    }

    /// Cut at every 10% of its length, or with one byte flipped anywhere, a checkpoint is
    /// refused with a message naming it; no cut and no flip gives back a different snapshot.
    func testTruncatedOrFlippedFilesAreRefused() throws {
        let original = snapshot()
        let path = folder.path("c.h5")
        try CheckpointFile.write(original, to: OutputFile(path, role: "test"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let damaged = folder.path("damaged.h5")
        for tenth in 0..<10 {
            try bytes.prefix(bytes.count * tenth / 10).write(to: URL(fileURLWithPath: damaged))
            XCTAssertThrowsError(try CheckpointFile.read(damaged), "cut at \(tenth)0%") { error in
                XCTAssertTrue("\(error)".hasPrefix("checkpoint \(damaged) is damaged or not a Loom checkpoint"), "\(error)")
            }
        }
        var generator = SeededGenerator(seed: 3)
        var refused = 0
        for _ in 0..<200 {
            var flipped = bytes
            let index = Int(generator.next() % UInt64(bytes.count))
            flipped[index] ^= UInt8(1 << (generator.next() % 8))
            try flipped.write(to: URL(fileURLWithPath: damaged))
            if let read = try? CheckpointFile.read(damaged) {
                // A flip in bytes HDF5 never reads (padding, free space) changes nothing.
                XCTAssertEqual(read, original, "byte \(index)")
            } else {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testTheFolderKeepsTheNewestAndPointsAtTheLatest() throws {
        let checkpoints = try CheckpointFolder(folder.path("run"), keep: 2)
        XCTAssertNil(try checkpoints.latest())
        for step in [10, 20, 30] {
            var next = snapshot()
            next.words["position"] = [0, 0, UInt64(step), 0]
            try checkpoints.save(next, step: step)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).sorted()
        XCTAssertEqual(names, ["checkpoint-0000000020.h5", "checkpoint-0000000030.h5", "latest"])
        XCTAssertEqual(try checkpoints.latest()?.words["position"], [0, 0, 30, 0])
    }

    /// Mounts (as root) a filesystem for the test; skips where mounting is not allowed.
    private func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw XCTSkip("cannot mount here (\(arguments.joined(separator: " ")))") }
    }

    private func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = [path]
        try? process.run()
        process.waitUntilExit()
    }

    /// A disk too small for the next checkpoint: a clear error, and `latest` still names the
    /// previous checkpoint, which still reads.
    func testAFullDiskLeavesThePreviousCheckpoint() throws {
        let disk = folder.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: false)
        try mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs", disk])
        defer { unmount(disk) }
        let checkpoints = try CheckpointFolder(disk + "/run")
        let small = snapshot(1_000)
        try checkpoints.save(small, step: 1)
        XCTAssertThrowsError(try checkpoints.save(snapshot(200_000), step: 2)) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot write checkpoint \(disk)/run/checkpoint-0000000002.h5: "), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("the previous checkpoint is unchanged"), "\(error)")
        }
        XCTAssertEqual(try checkpoints.latest(), small)
        let left = try FileManager.default.contentsOfDirectory(atPath: disk + "/run").sorted()
        XCTAssertEqual(left, ["checkpoint-0000000001.h5", "latest"], "no temporary file is left behind")
    }

    /// A folder made read-only (a read-only bind mount: as root, permissions do not stop
    /// writes) while training: a clear error, the previous checkpoint intact.
    func testAReadOnlyFolderLeavesThePreviousCheckpoint() throws {
        let base = folder.path("base"), view = folder.path("view")
        for path in [base, view] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        try mount(["--bind", base, view])
        defer { unmount(view) }
        let checkpoints = try CheckpointFolder(view + "/run")
        let first = snapshot()
        try checkpoints.save(first, step: 1)
        try mount(["-o", "remount,bind,ro", view])
        XCTAssertThrowsError(try checkpoints.save(snapshot(10), step: 2)) { error in
            XCTAssertTrue("\(error)".contains("Read-only file system"), "\(error)")
        }
        XCTAssertEqual(try checkpoints.latest(), first)
        XCTAssertThrowsError(try CheckpointFolder(view + "/run")) { error in
            XCTAssertEqual("\(error)", "the checkpoint folder: cannot write in \(view)/run (Read-only file system)")
        }
    }
}
