import Foundation
import TestSupport
import XCTest

@testable import Loom

/// Loom's one way of writing a file: checked first, replaced whole or not at all.
final class OutputFileTests: XCTestCase {
    private let folder = TemporaryFolder()

    func testAFailedWriteLeavesTheOldFileAndNoTemporary() throws {
        let path = folder.path("out.csv")
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let output = try OutputFile(path, role: "--history")
        struct Interrupted: Error {}
        XCTAssertThrowsError(
            try output.write { temporary in
                try Data("half".utf8).write(to: temporary)
                throw Interrupted()
            })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data("old".utf8))
        try output.write(Data("new".utf8))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data("new".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path), ["out.csv"])
    }

    func testRefusalsComeBeforeAnyWork() throws {
        XCTAssertEqual(
            message { _ = try OutputFile(self.folder.path("no/such/m.keras"), role: "--save") },
            "--save: the folder \(folder.path("no/such")) does not exist (Loom creates no folders)")
        XCTAssertEqual(
            message { _ = try OutputFile(self.folder.url.path, role: "--out") },
            "--out: '\(folder.url.path)' is a folder; give a file name")
        let input = folder.path("data.h5")
        try Data("data".utf8).write(to: URL(fileURLWithPath: input))
        XCTAssertEqual(
            message { _ = try OutputFile(input + "/m.keras", role: "--save") },
            "--save: \(input) is a file, not a folder to write \(input)/m.keras in")
        try FileManager.default.createSymbolicLink(atPath: folder.path("alias.h5"), withDestinationPath: input)
        XCTAssertEqual(
            message { _ = try OutputFile(self.folder.path("alias.h5"), role: "--out", inputs: [input]) },
            "--out: '\(folder.path("alias.h5"))' is also an input ('\(input)'); "
                + "writing it would destroy what the run reads")
    }

    /// A killed run's temporary file is removed by the next write in its folder; one of a
    /// live process is not.
    func testTemporariesOfDeadProcessesAreCleanedUp() throws {
        let output = try OutputFile(folder.path("m.keras"), role: "--save")
        try output.write(Data("first".utf8))
        let host = hostName()
        // Process ids above the kernel's pid_max (4194304 at most) belong to no process.
        let dead = ".m.keras.\(OutputFile.temporaryMarker)99999999-\(host)"
        let live = ".other.keras.\(OutputFile.temporaryMarker)\(getpid())-\(host)"
        for name in [dead, live] { try Data().write(to: folder.url.appendingPathComponent(name)) }
        try output.write(Data("second".utf8))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted()
        XCTAssertFalse(left.contains(dead), "\(left)")
        XCTAssertTrue(left.contains(live), "\(left)")
    }

    private func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .filter { $0.isLetter || $0.isNumber || $0 == "-" }
    }
}
