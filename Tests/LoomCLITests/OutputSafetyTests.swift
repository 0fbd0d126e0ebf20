import Foundation
import Loom
import LoomHDF5
import XCTest

/// What `loom` writes, through the real binary: only regular files are replaced (a device, a
/// FIFO or a socket at an output path is refused by name, a link is followed), two outputs
/// never name one file, imports store finite float32 values only, options out of range are
/// refused, and a run stopped by a signal without checkpoints still leaves what it was asked.
extension CLITests {
    /// A FIFO and a character device made in the working folder (never the system's `/dev`).
    private func specialFiles() throws -> [(path: String, kind: String)] {
        let fifo = folder.path("fifo.h5")
        XCTAssertEqual(mkfifo(fifo, 0o644), 0, String(cString: strerror(errno)))
        var files = [(fifo, "a FIFO")]
        let device = folder.path("null.h5")
        // The null device's numbers (1, 3); making a device node needs root, as CI has.
        if mknod(device, S_IFCHR | 0o666, (1 << 8) | 3) == 0 { files.append((device, "a character device")) }
        return files
    }

    func testOutputsThatAreNotRegularFilesAreRefusedByName() throws {
        let (data, model) = try dataAndModel()
        let csv = try writeSeries()
        for (path, kind) in try specialFiles() {
            let refusal = "'\(path)' is \(kind); Loom writes only regular files (it would replace it): give a file name"
            try refused(["predict", "--model", model, "--data", data, "--out", path], status: 1, message: "--out: " + refusal)
            try refused(
                ["train", "--data", data, "--epochs", "1", "--units", "2", "--history", path], status: 1,
                message: "--history: " + refusal)
            try refused(["import", "csv", csv, "--window", "8", "--out", path], status: 1, message: "--out: " + refusal)
            try refused(
                ["bench", "--workers", "1", "--steps", "2", "--rounds", "1", "--units", "2", "--csv", path], status: 1,
                message: "--csv: " + refusal)
            let save = path.replacingOccurrences(of: ".h5", with: ".keras")
            try FileManager.default.moveItem(atPath: path, toPath: save)
            let saveRefusal = "'\(save)' is \(kind); Loom writes only regular files (it would replace it): give a file name"
            try refused(
                ["train", "--data", data, "--epochs", "1", "--units", "2", "--save", save], status: 1,
                message: "--save: " + saveRefusal)
            try refused(["convert", model, save], status: 1, starting: "the model file: " + saveRefusal)
        }
    }

    func testAnOutputThatIsALinkReplacesTheFileItLeadsTo() throws {
        let (data, model) = try dataAndModel()
        let target = folder.path("old-predictions.h5"), link = folder.path("predictions.h5")
        try Data("old predictions".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "old-predictions.h5")
        try loom(["predict", "--model", model, "--data", data, "--out", link])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "old-predictions.h5")
        XCTAssertEqual(try HDF5File(path: target).info(of: "predictions").shape, [112, 1])
    }

    func testTwoOutputsNamingOneFileAreRefused() throws {
        let (data, _) = try dataAndModel()
        try FileManager.default.createDirectory(atPath: folder.path("sub"), withIntermediateDirectories: true)
        let same = folder.path("same.keras"), otherSpelling = folder.path("sub/../same.keras")
        try refused(
            ["train", "--data", data, "--epochs", "1", "--units", "2", "--save", same, "--history", otherSpelling], status: 1,
            message: "--history: '\(otherSpelling)' is the file --save writes ('\(same)'); give each output its own file")
        try refused(
            ["bench", "--workers", "1", "--steps", "2", "--rounds", "1", "--units", "2", "--csv", same, "--plot", otherSpelling],
            status: 1, message: "--plot: '\(otherSpelling)' is the file --csv writes ('\(same)'); give each output its own file")
    }

    func testImportsRefuseValuesThatAreNotFiniteFloat32() throws {
        _ = try dataAndModel()
        let csv = folder.path("big.csv")
        try "t,s\n0,1\n1,2\n2,1e39\n3,4\n4,5\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try refused(
            ["import", "csv", csv, "--window", "2", "--columns", "s", "--out", folder.path("big.h5")], status: 1,
            message: "\(csv): line 4, column 's': '1e39' is beyond float32's range (±3.4e38); Loom stores float32")
        let npy = folder.path("x.npy")
        try npyFloat32([1, 2, .nan, 4, 5, 6], shape: [3, 2]).write(to: URL(fileURLWithPath: npy))
        try refused(
            ["import", "npy", npy, "--out", folder.path("x.h5")], status: 1,
            message: "\(npy): element (1, 0) is nan as float32; Loom imports finite numbers only")
    }

    /// A little-endian float32 `.npy` file (format 1.0) of `values` in C order.
    private func npyFloat32(_ values: [Float], shape: [Int]) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    func testOptionsOutOfRangeAndRepeatedMetricsAreRefused() throws {
        let (data, model) = try dataAndModel()
        try refused(
            ["train", "--data", data, "--units", "2", "--blas-threads", "2147483648", "--save", model], status: 64,
            message: "--blas-threads must be in 0...1024, got 2147483648")
        try refused(
            ["train", "--data", data, "--units", "2", "--workers", "100000", "--save", model], status: 64,
            message: "--workers must be in 1...4096, got 100000")
        try refused(
            ["evaluate", "--model", model, "--data", data, "--workers", "0"], status: 64, message: "--workers must be in 1...4096, got 0")
        try refused(
            ["bench", "--steps", "2", "--timesteps", "4611686018427387904"], status: 64,
            message: "--timesteps must be in 1...2147483647, got 4611686018427387904")
        try refused(
            ["bench", "--steps", "2", "--rounds", "2147483648"], status: 64, message: "--rounds must be in 1...1000, got 2147483648")
        try refused(["bench", "--steps", "2", "--workers", "1,1"], status: 64, message: "--workers names a count twice: 1,1")
        try refused(
            ["summary", "--arch", "stateful", "--data", data, "--batch-size=-1"], status: 64,
            message: "--batch-size must be in 1...2147483647, got -1")
        for metrics in ["mae,mae", "mae,mean_absolute_error"] {
            try refused(
                ["train", "--data", data, "--units", "2", "--metrics", metrics, "--save", model], status: 64,
                message: "--metrics names mae twice; name each metric once")
        }
    }

    func testASignalWithoutCheckpointsSavesWhatWasAskedAndExitsWithItsOwnStatus() throws {
        let (data, _) = try dataAndModel()
        let save = folder.path("stopped.keras"), history = folder.path("history.csv")
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "train", "--data", data, "--epochs", "1000000", "--units", "2", "--quiet", "--save", save, "--history", history,
        ]
        process.currentDirectoryURL = folder.url
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        sleep(3)
        kill(process.processIdentifier, SIGTERM)
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        XCTAssertTrue(printed.hasSuffix(": wrote \(save) and \(history) as of the last finished step\n"), printed)
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 1, "the finished epochs")
        let evaluated = try loom(["evaluate", "--model", save, "--data", data])
        XCTAssertEqual(evaluated.err, "")
    }
}

extension CLITests {
    /// A memory cgroup (v1, as root) limited to `bytes`, removed after the test; nil where
    /// this machine lets no cgroup be made.
    private func memoryCgroup(bytes: Int) -> String? {
        let path = "/sys/fs/cgroup/memory/loom-test-\(UUID().uuidString)"
        guard (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)) != nil else { return nil }
        addTeardownBlock { rmdir(path) }
        guard (try? "\(bytes)".write(toFile: path + "/memory.limit_in_bytes", atomically: false, encoding: .utf8)) != nil
        else { return nil }
        return path
    }

    /// A run that cannot fit in the memory it may use (its cgroup's limit) is refused before
    /// training, by what it would need; one whose parameters alone do not fit, before they
    /// are allocated.
    func testATrainingRunBeyondItsMemoryIsRefusedUpFront() throws {
        let (_, model) = try dataAndModel()
        guard let cgroup = memoryCgroup(bytes: 768 << 20) else { throw XCTSkip("no memory cgroup can be made here") }
        let images = folder.path("images.h5")
        do {
            let file = try HDF5File(path: images, mode: .create)
            try file.write(try Tensor(shape: [8, 2, 4, 4, 1], scalars: (0..<256).map { Float($0 % 7) / 7 }), as: "X")
            try file.write(try Tensor(shape: [8, 1], scalars: (0..<8).map { Float($0) / 8 }), as: "y")
            try file.close()
        }
        let inside = "echo $$ > \(cgroup)/cgroup.procs"
        let train = ["train", "--data", images, "--arch", "cnn-lstm", "--units", "4", "--epochs", "1", "--save", model]
        try refused(
            train + ["--filters", "2500000"], status: 1, starting: "training model 'sequential' needs about ",
            ending: "more than the 0.8 GiB of the memory limit of this process's cgroup (\(cgroup)/memory.limit_in_bytes); "
                + "use a smaller model, batch or fewer workers", shell: inside)
        try refused(
            train + ["--filters", "16777217"], status: 1,
            starting: "model 'sequential' needs about 3.3 GiB (436207727 parameters and their gradients)",
            shell: inside)
    }
}
