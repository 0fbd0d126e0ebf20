import Foundation
@_spi(Kernels) import Loom
import LoomHDF5
import Synchronization
import TestSupport
import XCTest

/// Runs the built `loom` executable on small files: import, train, save, evaluate, predict,
/// summary, and its answers to user mistakes (exit code and one line on stderr).
final class CLITests: XCTestCase {
    /// The working folder of each test's `loom` runs.
    let folder = TemporaryFolder()

    var executable: URL {
        // Test bundles live beside the products in .build/<triple>/debug.
        var directory = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("loom").path),
            directory.pathComponents.count > 1
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("loom")
    }

    @discardableResult
    func loom(
        _ arguments: [String], environment: [String: String] = [:], expect status: Int32 = 0,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (out: String, err: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = folder.url
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let result = (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
        XCTAssertEqual(process.terminationStatus, status, "loom \(arguments.joined(separator: " ")): \(result.1)", file: file, line: line)
        return result
    }

    /// Starts `loom arguments` in the background, its output discarded.
    func background(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = folder.url
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func writeSeries() throws -> String {
        let path = folder.path("series.csv")
        let rows = (0..<120).map { t in "\(t),\(sin(Double(t) * 0.4)),\(cos(Double(t) * 0.4))" }
        try (["t,s,c"] + rows).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `LOOM_KERNEL_LEVEL` caps the kernels' level, which `loom bench` prints; a value that
    /// names no level is refused before any work.
    func testKernelLevelFromTheEnvironment() throws {
        let bench = try loom(
            ["bench", "--steps", "2", "--rounds", "1", "--workers", "1"],
            environment: ["LOOM_KERNEL_LEVEL": "baseline"])
        XCTAssertTrue(bench.out.contains("Loom kernels baseline"), bench.out)
        let refused = try loom(["bench", "--steps", "2"], environment: ["LOOM_KERNEL_LEVEL": "sse4"], expect: 64)
        XCTAssertTrue(refused.err.hasPrefix("Error: LOOM_KERNEL_LEVEL must be baseline, avx2 or avx512"), refused.err)
        XCTAssertEqual(refused.out, "")
    }

    func testImportTrainSaveEvaluatePredictSummary() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        let imported = try loom(["import", "csv", csv, "--window", "8", "--columns", "s,c", "--target", "s", "--out", data])
        XCTAssertTrue(imported.out.contains("X [112, 8, 2]"), imported.out)

        let model = folder.path("model.keras"), history = folder.path("history.csv")
        let trained = try loom([
            "train", "--data", data, "--epochs", "3", "--units", "8", "--batch-size", "16",
            "--save", model, "--history", history,
        ])
        XCTAssertTrue(trained.out.contains("Epoch 3/3"), trained.out)
        XCTAssertTrue(trained.out.contains("for the naive forecast"), trained.out)
        let historyLines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(historyLines.first, "epoch,loss,mae,val_loss,val_mae,learning_rate")
        XCTAssertEqual(historyLines.count, 4)

        let evaluated = try loom(["evaluate", "--model", model, "--data", data])
        XCTAssertTrue(evaluated.out.hasPrefix("loss: "), evaluated.out)

        let predictions = folder.path("p.h5")
        try loom(["predict", "--model", model, "--data", data, "--out", predictions])
        XCTAssertEqual(try HDF5File(path: predictions).read("predictions").shape, [112, 1])

        let summary = try loom(["summary", "--model", model])
        XCTAssertTrue(summary.out.contains("lstm (LSTM)"), summary.out)
        // Loaded compiled, as Keras loads it: Adam's variables (2 a weight, the update count and
        // the rate) counted, and in the total, as Keras's summary counts them.
        XCTAssertTrue(summary.out.contains("Trainable params: 361 "), summary.out)
        XCTAssertTrue(summary.out.contains("Optimizer params: 724 "), summary.out)
        XCTAssertTrue(summary.out.contains("Total params: 1,085 "), summary.out)

        // The saved model trains on from its weights, and converts to a config plus weights and back.
        let json = folder.path("model.json"), weights = folder.path("model.weights.h5"), again = folder.path("again.keras")
        try loom(["train", "--data", data, "--model", model, "--epochs", "1", "--quiet", "--save", again])
        try loom(["convert", model, json])
        try loom(["convert", model, weights])
        let converted = try loom(["convert", json, folder.path("back.keras"), "--weights", weights])
        XCTAssertEqual(converted.out, "wrote \(folder.path("back.keras")): 2 layers, 361 parameters\n")
        let first = try loom(["evaluate", "--model", model, "--data", data]).out
        XCTAssertEqual(try loom(["evaluate", "--model", folder.path("back.keras"), "--data", data]).out, first)
        XCTAssertEqual(try loom(["evaluate", "--model", json, "--weights", weights, "--data", data]).out, first)
        let noModel = try loom(["evaluate", "--weights", weights, "--data", data], expect: 64)
        XCTAssertTrue(noModel.err.contains("--weights needs --model"), noModel.err)
        let badName = try loom(["convert", model, folder.path("model.txt")], expect: 1)
        XCTAssertTrue(badName.err.contains("cannot tell the format"), badName.err)
    }

    func testStackedAndStatefulPresets() throws {
        let data = folder.path("series.h5")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        try loom(["train", "--data", data, "--arch", "stacked", "--epochs", "1", "--units", "4", "--quiet"])
        // 112 samples, validation 0.25 -> 84 training and 28 validation, both multiples of 28.
        try loom([
            "train", "--data", data, "--arch", "stateful", "--epochs", "1", "--units", "4", "--batch-size", "28",
            "--validation-split", "0.25", "--quiet",
        ])
    }

    func testTrainOnTwoWorkersAndBench() throws {
        let data = folder.path("series.h5")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        let trained = try loom(["train", "--data", data, "--epochs", "2", "--units", "4", "--workers", "2"])
        XCTAssertTrue(trained.out.contains("Epoch 2/2"), trained.out)
        try loom([
            "train", "--data", data, "--epochs", "1", "--units", "4", "--workers", "2", "--averaging", "parameters",
            "--every", "2", "--quiet",
        ])

        let csv = folder.path("scaling.csv"), svg = folder.path("scaling.svg")
        let bench = try loom(["bench", "--workers", "1,2", "--steps", "4", "--rounds", "1", "--units", "4", "--csv", csv, "--plot", svg])
        XCTAssertTrue(bench.out.contains("projected speedup"), bench.out)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("workers,samples_per_second,speedup,efficiency"))
        XCTAssertEqual(lines.dropFirst().map { $0.split(separator: ",")[0] }, ["1", "2"], "worker counts as integers")
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).hasPrefix("<svg"))
        let bad = try loom(["bench", "--workers", "0"], expect: 64)
        XCTAssertTrue(bad.err.contains("--workers takes positive counts"), bad.err)
        let reference = try loom(["bench", "--reference", "B7", "--workers", "1,2", "--steps", "2", "--rounds", "1"])
        XCTAssertTrue(reference.out.hasPrefix("loom bench: B7 stateful, batch 32, 2 steps x 1 rounds"), reference.out)
        XCTAssertTrue(
            reference.out.contains("FMA peak (the CPU's \(Kernels.supportedLevel) loop, the threads at once): 1 thread "), reference.out)
        XCTAssertTrue(reference.out.contains("training (3 x forward FLOPs a sample): 1 worker "), reference.out)
        XCTAssertTrue(reference.out.contains("% of the peak), 2 workers "), reference.out)
        let profiled = try loom(["bench", "--reference", "B3", "--workers", "1", "--steps", "2", "--rounds", "1", "--profile"])
        XCTAssertTrue(profiled.out.contains("per layer (1 worker, 2 steps of 128, the median of 1 rounds; "), profiled.out)
        for layer in ["lstm (LSTM) ", "lstm_3 (LSTM) ", "dense (Dense) "] {
            XCTAssertTrue(profiled.out.contains("\n" + layer), "\(layer): \(profiled.out)")
        }
        let unknown = try loom(["bench", "--reference", "B9"], expect: 64)
        XCTAssertTrue(unknown.err.contains("--reference takes B1 ... B8 or vanilla, lstm128, stacked"), unknown.err)
    }

    func testSequencePresetsAndMergeModes() throws {
        let data = folder.path("sequences.h5")
        do {
            // Closed at the end of this block: HDF5 locks a file open for writing.
            let file = try HDF5File(path: data, mode: .create)
            try file.write(try Tensor(shape: [32, 5, 2], scalars: (0..<320).map { Float($0 % 7) / 7 }), as: "X")
            try file.write(try Tensor(shape: [32, 5, 1], scalars: (0..<160).map { Float($0 % 5) / 5 }), as: "y")
            try file.write(try Tensor(shape: [32, 3, 1], scalars: (0..<96).map { Float($0 % 3) / 3 }), as: "y3")
            try file.write(try Tensor(shape: [32, 1], scalars: (0..<32).map { Float($0) / 32 }), as: "y1")
            try file.write(try Tensor(shape: [32, 1, 2], scalars: (0..<64).map { Float($0) / 64 }), as: "x1")
            try file.write(try Tensor(shape: [32, 6, 6, 1], scalars: (0..<1152).map { Float($0 % 11) / 11 }), as: "images")
            try file.write(try Tensor(shape: [32, 3, 6, 6, 1], scalars: (0..<3456).map { Float($0 % 13) / 13 }), as: "clips")
        }
        let common = ["--epochs", "1", "--units", "4", "--batch-size", "8", "--quiet", "--data", data]
        try loom(["train", "--arch", "many-to-many"] + common)
        try loom(["train", "--arch", "encoder-decoder", "--y", "y3"] + common)
        try loom(["train", "--arch", "one-to-one", "--x", "x1", "--y", "y1"] + common)
        try loom(["train", "--arch", "one-to-many", "--x", "images", "--y", "y3", "--filters", "2"] + common)
        try loom(["train", "--arch", "cnn-lstm", "--x", "clips", "--y", "y1", "--filters", "2"] + common)
        let saved = folder.path("bi.keras")
        try loom(["train", "--arch", "bidirectional", "--merge-mode", "sum", "--y", "y1", "--save", saved] + common)
        let summary = try loom(["summary", "--model", saved])
        XCTAssertTrue(summary.out.contains("bidirectional (Bidirectional)"), summary.out)
        let sequenceTargets = try loom(["train", "--y", "y3"] + common, expect: 1)
        XCTAssertTrue(sequenceTargets.err.contains("; y holds a sequence of targets a sample: train it with --arch encoder-decoder"))
        let wrong = try loom(["train", "--arch", "many-to-many", "--y", "y1"] + common, expect: 1)
        XCTAssertEqual(wrong.err, "Error: --arch many-to-many: y: expected shape (samples, steps, outputs), found (None, 1)\n")
    }

    /// Bad options and output paths are refused before the first epoch, and no output may
    /// replace an input: what the run reads, and any old output, stay as they were.
    func testOutputsAndOptionsAreCheckedBeforeAnyWork() throws {
        let csv = try writeSeries()
        let data = folder.path("series.h5")
        try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", data])
        let before = try Data(contentsOf: URL(fileURLWithPath: data))
        let train = ["train", "--data", data, "--epochs", "50", "--units", "4"]
        for lr in ["nan", "inf", "-1", "0"] {
            let refused = try loom(train + ["--lr=\(lr)"], expect: 64)
            XCTAssertTrue(refused.err.hasPrefix("Error: --lr must be a positive finite number"), refused.err)
        }
        let h5 = try loom(train + ["--save", folder.path("model.hdf5")], expect: 64)
        XCTAssertTrue(h5.err.contains("name it .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config)"), h5.err)
        XCTAssertEqual(h5.out, "")
        let missing = try loom(train + ["--save", folder.path("typo/model.keras")], expect: 1)
        XCTAssertEqual(missing.err, "Error: --save: the folder \(folder.path("typo")) does not exist (Loom creates no folders)\n")
        XCTAssertEqual(missing.out, "", "refused before training")
        // The same file by another spelling is still the input.
        let history = try loom(train + ["--history", folder.path("./series.h5")], expect: 1)
        XCTAssertTrue(history.err.contains("--history: '\(folder.path("./series.h5"))' is also an input"), history.err)
        let overwrite = try loom(["import", "csv", csv, "--window", "8", "--columns", "s", "--out", csv], expect: 1)
        XCTAssertTrue(overwrite.err.contains("--out: '\(csv)' is also an input"), overwrite.err)
        let predict = try loom(["predict", "--model", folder.path("absent.keras"), "--data", data, "--out", data], expect: 1)
        XCTAssertTrue(predict.err.contains("--out: '\(data)' is also an input"), predict.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: data)), before)

        // A config alone would be scored on fresh random weights: refused without --weights.
        let config = folder.path("model.json"), weights = folder.path("model.weights.h5")
        try loom(train.prefix(3) + ["--epochs", "1", "--units", "4", "--quiet", "--save", config])
        try loom(train.prefix(3) + ["--epochs", "1", "--units", "4", "--quiet", "--save", weights])
        let bare = try loom(["evaluate", "--model", config, "--data", data], expect: 64)
        XCTAssertTrue(bare.err.hasPrefix("Error: --model \(config) is a config without weights; pass them with --weights"), bare.err)
        try loom(["predict", "--model", config, "--data", data, "--out", folder.path("p.h5")], expect: 64)
        let scored = try loom(["evaluate", "--model", config, "--weights", weights, "--data", data])
        XCTAssertTrue(scored.out.contains("loss: "), scored.out)

        // A failed import leaves the old file whole, and no temporary file behind.
        try loom(["import", "csv", csv, "--window", "8", "--columns", "z", "--out", data], expect: 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: data)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasPrefix(".") }, [])
    }

    /// A streamed run prints nothing of HDF5's own on stderr: the prefetch thread's errors were
    /// printed (HDF5-DIAG) in about half the runs that read the data as one batch, and at exit
    /// in about 30% of shuffled runs. 200 shuffled training runs (half of them as one batch)
    /// and 20 evaluations, two at a time, each exit 0 with an empty stderr.
    func testHDF5PrintsNothingOfItsOwn() throws {
        let data = folder.path("series.h5"), model = folder.path("m.keras")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        let train = ["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet"]
        try loom(train + ["--save", model])
        let before = try folderContents()
        let runs =
            (0..<200).map { train + ($0 % 2 == 0 ? ["--batch-size", "100000"] : ["--batch-size", "16"]) }
            + (0..<20).map { _ in ["evaluate", "--model", model, "--data", data, "--batch-size", "16"] }
        let failures = Mutex<[String]>([])
        let executable = executable, directory = folder.url
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            for arguments in runs[(half * runs.count / 2)..<((half + 1) * runs.count / 2)] {
                let process = Process()
                process.executableURL = executable
                process.arguments = arguments
                process.currentDirectoryURL = directory
                let err = Pipe()
                process.standardOutput = FileHandle.nullDevice
                process.standardError = err
                do { try process.run() } catch {
                    failures.withLock { $0.append("\(error)") }
                    continue
                }
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                if process.terminationStatus != 0 || !text.isEmpty {
                    failures.withLock { $0.append("loom \(arguments.joined(separator: " ")): \(process.terminationStatus) \(text)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try folderContents(), before, "the data and the model are unchanged, nothing is left behind")
    }

    /// A Keras model with a regularizer predicts and summarizes as without it; training and
    /// evaluating it (Keras adds the penalty to the loss) are refused by name.
    func testARegularizedModelPredictsButDoesNotTrain() throws {
        let data = folder.path("series.h5"), model = folder.path("m.keras"), config = folder.path("m.json")
        let weights = folder.path("m.weights.h5"), regularized = folder.path("regularized.json")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        try loom(["train", "--data", data, "--epochs", "1", "--units", "3", "--quiet", "--save", model])
        try loom(["convert", model, config])
        try loom(["convert", model, weights])
        let text = try String(contentsOfFile: config, encoding: .utf8)
        XCTAssertTrue(text.contains("\"name\":\"lstm\","), text)
        try text.replacingOccurrences(
            of: "\"name\":\"lstm\",", with: "\"name\":\"lstm\",\"kernel_regularizer\":{\"class_name\":\"L2\",\"config\":{\"l2\":0.01}},"
        ).write(toFile: regularized, atomically: true, encoding: .utf8)
        let plain = folder.path("plain.h5"), read = folder.path("read.h5")
        try loom(["predict", "--model", model, "--data", data, "--out", plain])
        try loom(["predict", "--model", regularized, "--weights", weights, "--data", data, "--out", read])
        XCTAssertEqual(try HDF5File(path: read).read("predictions"), try HDF5File(path: plain).read("predictions"))
        XCTAssertTrue(try loom(["summary", "--model", regularized]).out.contains("Trainable params: "))
        let trained = try loom(["train", "--model", regularized, "--weights", weights, "--data", data, "--epochs", "1"], expect: 1)
        XCTAssertTrue(trained.err.contains("option 'kernel_regularizer' is not supported (only null)"), trained.err)
        let evaluated = try loom(["evaluate", "--model", regularized, "--weights", weights, "--data", data], expect: 1)
        XCTAssertTrue(evaluated.err.contains("Keras adds the penalties of LSTM 'lstm': kernel_regularizer"), evaluated.err)
    }

    /// A model --save's format cannot hold (a Keras 3 hard_sigmoid in a Keras 2 .h5) is
    /// refused before the first step, not after the last.
    func testASaveTheFormatCannotHoldIsRefusedBeforeTraining() throws {
        let model = try Fixtures.url("Files/hard_sigmoid.keras").path, data = folder.path("d.h5")
        let file = try HDF5File(path: data, mode: .create)
        try file.write(try Tensor(shape: [16, 4, 3], scalars: (0..<192).map { Float($0 % 7) / 7 }), as: "X")
        try file.write(try Tensor(shape: [16, 1], scalars: (0..<16).map { Float($0 % 3) / 3 }), as: "y")
        try file.close()
        let refused = try loom(["train", "--model", model, "--data", data, "--epochs", "1", "--save", folder.path("m.h5")], expect: 1)
        XCTAssertTrue(refused.err.contains("uses Keras 3's hard_sigmoid"), refused.err)
        XCTAssertFalse(refused.out.contains("Epoch"), refused.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path("m.h5")))
    }

    func testUserErrorsExitNonZeroWithOneLine() throws {
        let missing = try loom(["train", "--data", "absent.h5"], expect: 1)
        XCTAssertEqual(missing.err, "Error: absent.h5: no such file\n")
        XCTAssertEqual(
            try loom(["train", "--data", folder.url.path], expect: 1).err, "Error: \(folder.url.path): is a folder, not a file\n")
        XCTAssertEqual(
            try loom(["import", "npy", folder.url.path, "--out", folder.path("n.h5")], expect: 1).err,
            "Error: \(folder.url.path): is a folder, not a file\n")
        let data = folder.path("series.h5")
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s", "--out", data])
        let stateful = try loom(["train", "--data", data, "--arch", "stateful", "--batch-size", "32", "--quiet"], expect: 1)
        XCTAssertTrue(
            stateful.err.hasPrefix("Error: a stateful model needs the samples of --data (112) to be a multiple of the batch size (32)"),
            stateful.err)
        XCTAssertEqual(stateful.err.split(separator: "\n").count, 1)
        let badColumn = try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "z", "--out", data], expect: 1)
        XCTAssertTrue(badColumn.err.hasSuffix("has no column 'z' (columns: t, s, c)\n"), badColumn.err)
    }
}
