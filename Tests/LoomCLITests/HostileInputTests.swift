import Foundation
import Loom
import LoomHDF5
import XCTest
import ZIPFoundation

/// Hostile inputs and faults, one numbered test each, through the `loom` command as a user
/// meets them: the exit status, the one line on stderr,
/// and every file already in the folder (the data, old outputs, old models) unchanged, with
/// no temporary file left behind.
extension CLITests {
    /// Every file below the working folder, hidden ones included: a regular file's bytes, a
    /// link's target, and the kind of anything else (a folder, a FIFO, a device).
    func folderContents() throws -> [String: Data] {
        var contents: [String: Data] = [:]
        let root = folder.url.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return contents }
        for case let name as String in walker {
            let path = (root as NSString).appendingPathComponent(name)
            let type = try FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType
            switch type {
            case .typeRegular?: contents[name] = try Data(contentsOf: URL(fileURLWithPath: path))
            case .typeSymbolicLink?:
                contents[name] = Data(("link to " + (try FileManager.default.destinationOfSymbolicLink(atPath: path))).utf8)
            default: contents[name] = Data((type?.rawValue ?? "unknown").utf8)
            }
        }
        return contents
    }

    /// Runs `loom arguments` (after the shell commands `prefix`, as `ulimit`, within `timeout`
    /// seconds): it must exit with `status`, print nothing on stdout and one line on stderr,
    /// `Error: ` + `message` (or a line that starts with `starting` and ends with `ending`),
    /// followed for a bad option (status 64) by the argument parser's usage hint only, and
    /// leave the folder as it was.
    func refused(
        _ arguments: [String], status: Int32, message: String? = nil, starting: String? = nil, ending: String? = nil,
        shell prefix: String = "", timeout: Int = 120, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let before = try folderContents()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "\(prefix.isEmpty ? ":" : prefix); exec timeout \(timeout) \"$0\" \"$@\"", executable.path] + arguments
        process.currentDirectoryURL = folder.url
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        var error = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let command = "loom \(arguments.joined(separator: " "))"
        if status == 64, let hint = error.range(of: "\nUsage: loom ") {
            XCTAssertTrue(error.hasSuffix("--help' for more information.\n"), error, file: file, line: line)
            error = String(error[..<hint.lowerBound]) + "\n"
        }
        XCTAssertEqual(process.terminationStatus, status, "\(command): \(error)", file: file, line: line)
        XCTAssertEqual(output, "", "\(command) did work before refusing", file: file, line: line)
        XCTAssertTrue(error.hasPrefix("Error: ") && error.hasSuffix("\n"), error, file: file, line: line)
        XCTAssertEqual(error.filter { $0 == "\n" }.count, 1, "one line: \(error)", file: file, line: line)
        if let message { XCTAssertEqual(error, "Error: \(message)\n", file: file, line: line) }
        if let starting { XCTAssertTrue(error.hasPrefix("Error: \(starting)"), error, file: file, line: line) }
        if let ending { XCTAssertTrue(error.hasSuffix("\(ending)\n"), error, file: file, line: line) }
        let after = try folderContents()
        XCTAssertEqual(Set(after.keys), Set(before.keys), "\(command) left or removed files", file: file, line: line)
        for (name, bytes) in before where after[name] != bytes {
            XCTFail("\(command) changed \(name)", file: file, line: line)
        }
    }

    /// Small training data (`series.h5`, 112 windows of 8) and a model trained on it
    /// (`m.keras`), which every case keeps unchanged.
    func dataAndModel() throws -> (data: String, model: String) {
        let data = folder.path("series.h5"), model = folder.path("m.keras")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet", "--save", model])
        return (data, model)
    }

    /// A file of a few KB declaring a dataset no machine holds (storage never written).
    func testCase01ADatasetOfATrillionSamplesIsRefusedByName() throws {
        let (_, model) = try dataAndModel()
        let huge = folder.path("huge.h5")
        do {
            let file = try HDF5File(path: huge, mode: .create)
            try file.createDataset("X", shape: [1_000_000_000_000, 24, 3])
            try file.createDataset("y", shape: [1_000_000_000_000, 1])
        }
        let message =
            "\(huge), dataset 'X': declares shape (1000000000000, 24, 3) but holds no data: nothing was ever written "
            + "to it, so every value would be its fill value"
        try refused(["train", "--data", huge, "--units", "2", "--save", model], status: 1, message: message)
        try refused(["evaluate", "--model", model, "--data", huge], status: 1, message: message)
        try refused(["predict", "--model", model, "--data", huge, "--out", folder.path("p.h5")], status: 1, message: message)
    }

    /// A sample whose value count overflows (2^32 · 2^32).
    func testCase02ASampleSizeThatOverflowsIsRefused() throws {
        let (_, model) = try dataAndModel()
        let path = folder.path("overflow.h5")
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createDataset("X", shape: [4, 1 << 32, 1 << 32])
            try file.createDataset("y", shape: [4, 1])
        }
        try refused(
            ["train", "--data", path, "--save", model], status: 1,
            message: "\(path), dataset 'X': a sample of shape (4294967296, 4294967296) holds more than 2^31 - 1 values; "
                + "Loom reads at most that many")
    }

    /// A `.keras` whose first weight declares (2^40, 1): refused by its shape, never read.
    func testCase03AHugeWeightInAKerasArchiveIsRefusedByItsShape() throws {
        let (data, model) = try dataAndModel()
        let hostile = folder.path("hostile.keras")
        let parts = folder.url.appendingPathComponent("parts")
        try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)
        let source = try Archive(url: URL(fileURLWithPath: model), accessMode: .read, pathEncoding: nil)
        for entry in source { _ = try source.extract(entry, to: parts.appendingPathComponent(entry.path)) }
        let weights = parts.appendingPathComponent("model.weights.h5"), rebuilt = parts.appendingPathComponent("rebuilt.h5")
        do {
            let original = try HDF5File(path: weights.path), copy = try HDF5File(path: rebuilt.path, mode: .create)
            for (index, name) in try original.rootNames().flatMap({ try original.datasetNames(under: $0) }).enumerated() {
                if index == 0 {
                    try copy.createDataset(name, shape: [1 << 40, 1])
                } else {
                    try copy.write(try original.read(name), as: name)
                }
            }
        }
        try FileManager.default.removeItem(at: weights)
        try FileManager.default.moveItem(at: rebuilt, to: weights)
        let archive = try Archive(url: URL(fileURLWithPath: hostile), accessMode: .create, pathEncoding: nil)
        for name in ["config.json", "metadata.json", "model.weights.h5"] {
            try archive.addEntry(with: name, fileURL: parts.appendingPathComponent(name), compressionMethod: .none)
        }
        try FileManager.default.removeItem(at: parts)
        try refused(
            ["evaluate", "--model", hostile, "--data", data], status: 1,
            message: "\(hostile): model.weights.h5, dataset 'layers/dense/vars/0': has shape (1099511627776, 1), "
                + "but layer 'dense' kernel is (4, 1)")
    }

    /// The largest batch size is one batch of every sample, in every command.
    func testCase04TheLargestBatchSizeIsOneBatch() throws {
        let (data, model) = try dataAndModel()
        let before = try folderContents()
        let largest = String(Int.max)
        let trained = try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--batch-size", largest])
        XCTAssertTrue(trained.out.contains("1/1"), trained.out)
        XCTAssertEqual(trained.err, "")
        XCTAssertEqual(try loom(["evaluate", "--model", model, "--data", data, "--batch-size", largest]).err, "")
        try loom(["predict", "--model", model, "--data", data, "--batch-size", largest, "--out", folder.path("p.h5")])
        XCTAssertEqual(try HDF5File(path: folder.path("p.h5")).info(of: "predictions").shape, [112, 1])
        XCTAssertEqual(try folderContents().filter { before[$0.key] != nil }, before)
    }

    /// Worker threads the system cannot create (under a 2 GB address-space limit, 8 MiB of
    /// stack each) are an error naming the worker, within a bounded time, not a hang.
    func testCase05WorkerThreadsThatCannotStartAreAnError() throws {
        let (_, model) = try dataAndModel()
        let data = folder.path("wide.h5")
        do {
            let file = try HDF5File(path: data, mode: .create)
            try file.write(try Tensor(shape: [1300, 4, 1], scalars: (0..<5200).map { Float($0 % 9) / 9 }), as: "X")
            try file.write(try Tensor(shape: [1300, 1], scalars: (0..<1300).map { Float($0 % 5) / 5 }), as: "y")
        }
        try refused(
            [
                "train", "--data", data, "--workers", "600", "--batch-size", "1200", "--epochs", "1", "--units", "2", "--quiet",
                "--save", model,
            ],
            status: 1, starting: "cannot start worker thread ", ending: " of 600 (Resource temporarily unavailable); use fewer workers",
            shell: "ulimit -v 2000000", timeout: 60)
    }

    // HDF5's own printing: `testHDF5PrintsNothingOfItsOwn` (220 runs without a word of it).

    /// An import or a prediction whose output cannot be written whole (here a file size limit:
    /// the disk is full for it) leaves the old output as it was, and nothing else.
    func testCase07AFullDiskLeavesTheOldOutputWhole() throws {
        let (data, model) = try dataAndModel()
        let csv = folder.path("long.csv")
        var generator = SystemRandomNumberGenerator()
        let rows = (0..<200_000).map { t in "\(t),\(Float.random(in: 0..<1, using: &generator))" }
        try (["t,s"] + rows).joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let old = folder.path("old.h5")
        try FileManager.default.copyItem(atPath: data, toPath: old)
        // 300 KB allowed per file; SIGXFSZ ignored, so a write past it fails with EFBIG.
        let full = "trap '' XFSZ; ulimit -f 300"
        try refused(
            ["import", "csv", csv, "--window", "8", "--columns", "s", "--out", old], status: 1,
            message: "--out: cannot write \(old) (dataset 'X': writing rows 0..<199992 failed); the file there is left as it was",
            shell: full)
        let big = folder.path("big.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", big])
        try refused(
            ["predict", "--model", model, "--data", big, "--out", old], status: 1,
            message: "--out: cannot write \(old) (its last changes could not be written; is the disk full?); the file there is "
                + "left as it was", shell: full)
    }

    /// An output that is also an input (by another spelling too) is refused before any work.
    func testCase08AnOutputThatIsAnInputIsRefused() throws {
        let (data, _) = try dataAndModel()
        let csv = folder.path("series.csv")
        let other = folder.path("./series.h5")
        try refused(
            ["train", "--data", data, "--epochs", "1", "--units", "4", "--history", other], status: 1,
            message: "--history: '\(other)' is also an input ('\(data)'); writing it would destroy what the run reads")
        try refused(
            ["import", "csv", csv, "--window", "8", "--columns", "s", "--out", csv], status: 1,
            message: "--out: '\(csv)' is also an input ('\(csv)'); writing it would destroy what the run reads")
    }

    /// A learning rate that is not a positive finite number is refused before any work; one
    /// that makes training diverge stops it with an error, and the old model stays.
    func testCase09BadLearningRatesAndDivergenceLeaveTheModel() throws {
        let (data, model) = try dataAndModel()
        for rate in ["nan", "inf", "-1", "0"] {
            try refused(
                ["train", "--data", data, "--units", "4", "--lr=\(rate)", "--save", model], status: 64,
                message: "--lr must be a positive finite number, got \(Double(rate)!)")
        }
        try refused(
            ["train", "--data", data, "--units", "4", "--epochs", "20", "--lr", "1e30", "--quiet", "--save", model],
            status: 1, starting: "training diverged at epoch ")
    }

    /// An output format Loom cannot write, or a folder that does not exist, is refused before
    /// the first epoch, and no folder is created.
    func testCase10UnwritableSavesAreRefusedBeforeTraining() throws {
        let (data, _) = try dataAndModel()
        let h5 = folder.path("model.hdf5")
        try Data("an old model".utf8).write(to: URL(fileURLWithPath: h5))
        try refused(
            ["train", "--data", data, "--epochs", "50", "--units", "4", "--save", h5], status: 64,
            message: "--save \(h5): name it .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config)")
        try refused(
            ["train", "--data", data, "--epochs", "50", "--units", "4", "--save", folder.path("typo/model.keras")], status: 1,
            message: "--save: the folder \(folder.path("typo")) does not exist (Loom creates no folders)")
    }

    /// A save killed midway leaves its parts under a name that holds its process id and host:
    /// the next run that writes there removes them, and spares those of a live process.
    func testCase11TheLeftoversOfAKilledSaveAreRemovedByTheNextRun() throws {
        let (data, model) = try dataAndModel()
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .filter { $0.isLetter || $0.isNumber || $0 == "-" }
        let dead = folder.url.appendingPathComponent(".parts.m.keras.loom-tmp-2147483646-\(hostName)")
        let live = folder.url.appendingPathComponent(".parts.m.keras.loom-tmp-\(getpid())-\(hostName)")
        for leftover in [dead, live] {
            try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
            try Data(count: 1 << 20).write(to: leftover.appendingPathComponent("model.weights.h5"))
        }
        try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet", "--save", model])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path), "a dead process's parts are removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live process's parts are spared")
    }

    /// A `.keras` whose config inflates to 100 MB (from 100 KB) is refused by the size its zip
    /// directory declares, before anything is inflated (under a 1 GB address-space limit).
    func testCase12AConfigThatInflatesPastItsCapIsRefused() throws {
        _ = try dataAndModel()
        let bomb = folder.path("bomb.keras")
        do {
            let archive = try Archive(url: URL(fileURLWithPath: bomb), accessMode: .create, pathEncoding: nil)
            let size = 100 << 20
            try archive.addEntry(
                with: "config.json", type: .file, uncompressedSize: Int64(size), compressionMethod: .deflate
            ) { _, chunk in Data(repeating: UInt8(ascii: " "), count: chunk) }
        }
        try refused(
            ["summary", "--model", bomb], status: 1,
            message: "\(bomb): config.json inflates to more than 67108864 bytes, more than the model can need; "
                + "the file may be damaged",
            shell: "ulimit -v 1000000")
    }

    /// A config alone would be scored on fresh random weights: refused without --weights.
    func testCase13AConfigWithoutWeightsIsNotScored() throws {
        let (data, _) = try dataAndModel()
        let config = folder.path("model.json"), old = folder.path("p.h5")
        try loom(["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet", "--save", config])
        try Data("old predictions".utf8).write(to: URL(fileURLWithPath: old))
        let message = "--model \(config) is a config without weights; pass them with --weights (a .weights.h5, Keras 2 .h5 or .keras file)"
        try refused(["evaluate", "--model", config, "--data", data], status: 64, message: message)
        try refused(["predict", "--model", config, "--data", data, "--out", old], status: 64, message: message)
    }

    /// Data that cannot train is refused naming the file, the dataset or the option: no
    /// samples, no target values, a split that leaves nothing to train on, validation samples
    /// of another shape.
    func testCase14DataThatCannotTrainIsRefusedNamingWhere() throws {
        let (data, model) = try dataAndModel()
        let empty = folder.path("empty.h5"), noTargets = folder.path("no-targets.h5"), one = folder.path("one.h5")
        let wide = folder.path("wide.h5")
        for (path, x, y) in [
            (empty, try Tensor(shape: [0, 8, 1], scalars: []), try Tensor(shape: [0, 1], scalars: [])),
            (noTargets, Tensor(shape: [4, 8, 1]), Tensor(shape: [4, 0])), (one, Tensor(shape: [1, 8, 1]), Tensor(shape: [1, 1])),
            (wide, Tensor(shape: [6, 8, 2]), Tensor(shape: [6, 1])),
        ] {
            let file = try HDF5File(path: path, mode: .create)
            try file.write(x, as: "X")
            try file.write(y, as: "y")
            try file.close()
        }
        let noSamples = "\(empty): dataset 'X' holds no samples (its first axis is 0)"
        try refused(["train", "--data", empty, "--epochs", "1"], status: 1, message: noSamples)
        try refused(["evaluate", "--model", model, "--data", empty], status: 1, message: noSamples)
        try refused(["train", "--data", data, "--validation-data", empty, "--epochs", "1"], status: 1, message: noSamples)
        try refused(
            ["train", "--data", noTargets, "--epochs", "1"], status: 1,
            message: "\(noTargets): dataset 'y' has shape (4, 0): no target values")
        try refused(
            ["train", "--data", one, "--epochs", "1"], status: 1,
            message: "--validation-split 0.2 leaves none of the 1 samples of --data to train on")
        try refused(
            ["train", "--data", data, "--validation-data", wide, "--epochs", "1"], status: 1,
            message: "--validation-data \(wide): its samples are (8, 2), --data's (8, 1)")
    }
}
