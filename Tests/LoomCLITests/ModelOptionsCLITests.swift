import Foundation
import LoomHDF5
import XCTest

/// What the command line reaches of the library: the presets' cell, layer count, dropout and
/// output activation, validation samples from a file of their own, a stateful model's whole
/// batches, and Keras's `--verbose` levels.
extension CLITests {
    /// Imports the test series as windows of 8 steps into `name`.
    private func importSeries(_ name: String = "series.h5") throws -> String {
        let data = folder.path(name)
        try loom(["import", "csv", try writeSeries(), "--window", "8", "--columns", "s,c", "--target", "s", "--out", data])
        return data
    }

    /// The layers of a saved Keras config, as (class name, config) pairs.
    private func savedLayers(_ config: String) throws -> [(String, [String: Any])] {
        let json = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        let layers = try XCTUnwrap((json["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        return layers.compactMap { layer in
            guard let name = layer["class_name"] as? String, name != "InputLayer" else { return nil }
            return (name, layer["config"] as? [String: Any] ?? [:])
        }
    }

    func testPresetsTakeTheirCellLayerCountDropoutAndOutputActivation() throws {
        let data = try importSeries(), config = folder.path("m.json")
        let common = ["train", "--data", data, "--epochs", "1", "--units", "4", "--quiet", "--save", config]
        try loom(common + ["--arch", "stacked", "--cell", "gru", "--layers", "2"])
        XCTAssertEqual(try savedLayers(config).map(\.0), ["GRU", "GRU", "Dense"])
        XCTAssertEqual(try savedLayers(config).map { $0.1["return_sequences"] as? Bool }, [true, false, nil])
        try loom(common + ["--arch", "bidirectional", "--cell", "simplernn", "--layers", "2"])
        XCTAssertEqual(try savedLayers(config).map(\.0), ["Bidirectional", "Bidirectional", "Dense"])
        try loom(common + ["--dropout", "0.25", "--recurrent-dropout", "0.125", "--layers", "3"])
        let lstms = try savedLayers(config).filter { $0.0 == "LSTM" }
        XCTAssertEqual(lstms.count, 3)
        XCTAssertEqual(lstms.map { $0.1["dropout"] as? Double }, [0.25, 0.25, 0.25])
        XCTAssertEqual(lstms.map { $0.1["recurrent_dropout"] as? Double }, [0.125, 0.125, 0.125])
        try loom(common + ["--cell", "gru", "--dropout", "0.2", "--recurrent-dropout", "0.1"])
        XCTAssertEqual(try savedLayers(config).first?.1["dropout"] as? Double, 0.2)
        XCTAssertEqual(try savedLayers(config).first?.1["recurrent_dropout"] as? Double, 0.1)
        // The output activation follows the loss unless named.
        try loom(common + ["--loss", "binary_crossentropy"])
        XCTAssertEqual(try savedLayers(config).last?.1["activation"] as? String, "sigmoid")
        try loom(common + ["--output-activation", "tanh"])
        XCTAssertEqual(try savedLayers(config).last?.1["activation"] as? String, "tanh")

        for (options, message) in [
            (["--layers", "0"], "the recurrent layers must be at least 1"),
            (["--dropout", "1"], "the dropout must be in [0, 1)"),
            (["--output-activation", "swish"], "unknown activation 'swish'"),
            (["--cell", "rnn"], "The value 'rnn' is invalid for '--cell <cell>'"),
            (["--classes", "3"], "--classes sizes the output for class-index targets"),
        ] {
            let refused = try loom(common + options, expect: 64)
            XCTAssertTrue(refused.err.contains(message), "\(options): \(refused.err)")
        }
    }

    /// `--validation-data FILE` validates on another file's samples: the history's last
    /// val_loss is `loom evaluate`'s loss of the saved model on that file.
    func testValidationSamplesFromAFileOfTheirOwn() throws {
        let data = try importSeries(), validation = try importSeries("validation.h5")
        let model = folder.path("m.keras"), history = folder.path("h.csv")
        try loom([
            "train", "--data", data, "--validation-data", validation, "--epochs", "2", "--units", "4", "--quiet",
            "--save", model, "--history", history,
        ])
        let rows = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "epoch,loss,mae,val_loss,val_mae,learning_rate")
        let lastValidationLoss = try XCTUnwrap(Double(rows.last!.split(separator: ",")[3]))
        let evaluated = try loom(["evaluate", "--model", model, "--data", validation]).out
        let loss = try XCTUnwrap(Double(evaluated.split(separator: " ")[1].split(separator: "\n")[0]))
        XCTAssertEqual(lastValidationLoss, loss, accuracy: 1e-5 * max(1, loss))

        let other = folder.path("other.h5")
        try loom(["import", "csv", try writeSeries(), "--window", "6", "--columns", "s,c", "--target", "s", "--out", other])
        let refused = try loom(["train", "--data", data, "--validation-data", other, "--epochs", "1", "--quiet"], expect: 1)
        XCTAssertTrue(refused.err.hasSuffix("other.h5: its samples are (6, 2), --data's (8, 2)\n"), refused.err)
        try loom(["train", "--data", data, "--validation-data", folder.path("absent.h5"), "--epochs", "1", "--quiet"], expect: 1)
    }

    /// A stateful preset splits in whole batches and says so; a remainder is refused naming
    /// --drop-remainder, which drops it.
    func testTheStatefulPresetValidatesOnWholeBatches() throws {
        let data = try importSeries()  // 112 samples
        let stateful = ["train", "--data", data, "--arch", "stateful", "--epochs", "1", "--units", "4"]
        let refused = try loom(stateful + ["--batch-size", "32", "--quiet"], expect: 1)
        XCTAssertEqual(
            refused.err,
            "Error: a stateful model needs the samples of --data (112) to be a multiple of the batch size (32), so that every row "
                + "continues the same sequence; --drop-remainder drops the last 16\n")
        let dropped = try loom(stateful + ["--batch-size", "32", "--drop-remainder", "--verbose", "2"]).out
        XCTAssertTrue(
            dropped.contains(
                "Stateful model: 2 training and 1 validation batches of 32 (--validation-split 0.2 in whole batches); "
                    + "16 samples past the last whole batch dropped"), dropped)
        XCTAssertTrue(dropped.contains("Epoch 1/1 - 2/2 - "), dropped)
        let whole = try loom(stateful + ["--batch-size", "16", "--verbose", "2"]).out
        XCTAssertTrue(whole.contains("Stateful model: 6 training and 1 validation batches of 16"), whole)
        let notStateful = try loom(["train", "--data", data, "--drop-remainder", "--epochs", "1"], expect: 1)
        XCTAssertTrue(notStateful.err.contains("--drop-remainder keeps a stateful model's batches whole"), notStateful.err)
    }

    /// Between epochs the stateful preset zeroes its state, while a stateful model file keeps
    /// it, as Keras's `fit` does; `--states-between-epochs` chooses.
    func testAStatefulModelFileKeepsItsStateBetweenEpochs() throws {
        let data = try importSeries(), start = folder.path("start.keras")
        let common = ["--data", data, "--batch-size", "16", "--quiet"]
        func trained(_ arguments: [String], _ name: String) throws -> [[Float]] {
            let weights = folder.path(name + ".weights.h5")
            try loom(["train", "--epochs", "2", "--save", weights] + common + arguments)
            let file = try HDF5File(path: weights)
            return try file.datasetNames(under: "layers").sorted().map { try file.read($0).scalars }
        }
        let preset = ["--arch", "stateful", "--units", "4", "--seed", "3"]
        XCTAssertEqual(try trained(preset, "preset"), try trained(preset + ["--states-between-epochs", "reset"], "presetReset"))
        XCTAssertNotEqual(try trained(preset, "preset"), try trained(preset + ["--states-between-epochs", "keep"], "presetKeep"))
        try loom(["train", "--epochs", "1", "--save", start] + common + preset)
        let file = ["--model", start]
        let kept = try trained(file, "kept")
        XCTAssertEqual(kept, try trained(file + ["--states-between-epochs", "keep"], "keptAgain"))
        XCTAssertNotEqual(kept, try trained(file + ["--states-between-epochs", "reset"], "reset"))
        let notStateful = try loom(["train", "--epochs", "1", "--states-between-epochs", "keep"] + common, expect: 64)
        XCTAssertTrue(notStateful.err.contains("--states-between-epochs applies to stateful models"), notStateful.err)
        let unknown = try loom(["train", "--epochs", "1", "--states-between-epochs", "carry"] + common, expect: 64)
        XCTAssertTrue(unknown.err.contains("--states-between-epochs must be reset or keep, got carry"), unknown.err)
    }

    /// Redirected, a run prints one line an epoch (Keras's verbose=2, the epoch in front);
    /// `--verbose 1` the progress bar's lines, `--verbose 0` nothing.
    func testVerboseLevels() throws {
        let data = try importSeries()
        let train = ["train", "--data", data, "--epochs", "2", "--units", "4"]
        let lines = try loom(train).out.split(separator: "\n").filter { $0.hasPrefix("Epoch") }
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[1].hasPrefix("Epoch 2/2 - 3/3 - "), String(lines[1]))
        XCTAssertTrue(lines[1].contains("ms/step - loss: ") || lines[1].contains("us/step - loss: "), String(lines[1]))
        XCTAssertTrue(lines[1].contains(" - val_mae: "), String(lines[1]))
        let bar = try loom(train + ["--verbose", "1"]).out
        XCTAssertTrue(bar.contains("Epoch 2/2\n3/3 ━━━━━━━━━━━━━━━━━━━━ "), bar)
        XCTAssertEqual(try loom(train + ["--verbose", "0"]).out, "")
        XCTAssertTrue(try loom(train + ["--verbose", "3"], expect: 64).err.contains("--verbose must be 0, 1 or 2"))
        XCTAssertTrue(try loom(train + ["--quiet", "--verbose", "2"], expect: 64).err.contains("contradict"))
    }
}
