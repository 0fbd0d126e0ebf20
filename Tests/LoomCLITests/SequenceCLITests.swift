import Foundation
import Loom
import LoomHDF5
import LoomKeras
import XCTest

/// Sequences of different lengths from the command line: `loom import csv --group-by` pads a
/// long table, `loom train --lengths` masks the padding (alone and across `mpirun` ranks, to
/// the bits of one process), `--sample-weights` weighs the loss, `--mask-value` puts a Masking
/// layer in the saved model; each mistake is one line naming it.
extension CLITests {
    /// A long table of 40 sequences of 3 to 12 steps (id, t, two features, a target), imported
    /// padded to 12 steps, with a dataset of per-sample weights added.
    func importedSequences(padding: String = "post") throws -> String {
        let csv = folder.path("long-\(padding).csv"), data = folder.path("sequences-\(padding).h5")
        var rows = ["id,t,a,b,label"]
        for id in 0..<40 {
            let length = 3 + (id * 7) % 10
            for t in 0..<length {
                let a = sin(Double(id) + Double(t) * 0.5), b = cos(Double(id) * 0.3 + Double(t))
                rows.append("s\(id),\(t),\(a),\(b),\(a * 0.5 + b * 0.25)")
            }
        }
        try rows.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let out = try loom([
            "import", "csv", csv, "--group-by", "id", "--columns", "a,b", "--target", "label", "--padding", padding, "--out", data,
        ]).out
        XCTAssertTrue(out.contains("X [40, 12, 2]") && out.contains("y [40, 12, 1]") && out.contains("lengths (40)"), out)
        let mixed = try loom(["import", "csv", csv, "--group-by", "id", "--horizon", "2", "--out", data + ".x"], expect: 64)
        XCTAssertTrue(mixed.err.contains("--horizon goes with --window"), mixed.err)
        let file = try HDF5File(path: data, mode: .readWrite)
        try file.write(try Tensor(shape: [40], scalars: (0..<40).map { Float($0 % 3) * 0.5 }), as: "w")
        try file.close()
        return data
    }

    func testImportedSequencesTrainMaskedAndWeighted() throws {
        let data = try importedSequences()
        let file = try HDF5File(path: data)
        XCTAssertEqual(try file.readWords("lengths").prefix(4), [3, 10, 7, 4])
        XCTAssertEqual(try file.stringAttribute("padding", on: "lengths"), "post")
        try file.close()
        let common = [
            "train", "--data", data, "--arch", "many-to-many", "--units", "4", "--epochs", "2", "--batch-size", "8",
            "--validation-split", "0.25", "--quiet",
        ]
        try loom(common + ["--lengths", "lengths", "--sample-weights", "w", "--save", folder.path("masked.weights.h5")])
        try loom(common + ["--save", folder.path("plain.weights.h5")])
        XCTAssertNotEqual(try weights(folder.path("masked.weights.h5")), try weights(folder.path("plain.weights.h5")))

        // With zeros as padding, --mask-value 0 masks the same steps, and the saved model carries
        // its Masking layer to Keras.
        let saved = folder.path("masking.keras")
        try loom(common + ["--mask-value", "0", "--save", saved])
        let model = try Sequential(kerasModel: URL(fileURLWithPath: saved))
        XCTAssertTrue(model.layers.first is Masking)
        XCTAssertTrue(model.masksOutput)
        // A negative mask value is a value, not an option.
        try loom(common + ["--mask-value", "-1", "--save", saved])
        XCTAssertEqual((try Sequential(kerasModel: URL(fileURLWithPath: saved)).layers.first as? Masking)?.maskValue, -1)

        for (arguments, message) in [
            (["--model", saved, "--mask-value", "0"], "--mask-value shapes a preset model; --model brings its own layers"),
            (["--model", saved, "--lengths", "lengths"], "but Masking 'masking' makes the model's mask from the values"),
            (["--lengths", "nothing"], "nothing"), (["--lengths", "X"], "holds float32 values; lengths must be integers"),
            (["--sample-weights", "X"], "has shape (40, 12, 2); expected (40) or (40, timesteps)"),
            (["--lengths", "lengths", "--padding", "middle"], "--padding must be pre or post"),
            (["--padding", "post"], "give --lengths"),
            (["--lengths", "lengths", "--mask-value", "0"], "use one of them"),
        ] {
            let usage = arguments.contains("--padding") || arguments.contains("--mask-value")
            let refused = try loom(common + arguments, expect: usage ? 64 : 1)
            XCTAssertTrue(refused.err.contains(message), "\(arguments): \(refused.err)")
        }
    }

    /// `--tbptt k` trains in chunks (with the lengths' mask); a chunk the sequences fill is the
    /// ordinary run's, bit for bit; a bad length or model is one line.
    func testTruncatedBPTTFromTheCommandLine() throws {
        let data = try importedSequences()
        let common = [
            "train", "--data", data, "--arch", "many-to-many", "--units", "4", "--epochs", "2", "--batch-size", "8", "--quiet",
        ]
        try loom(common + ["--lengths", "lengths", "--tbptt", "5", "--save", folder.path("chunked.weights.h5")])
        try loom(common + ["--tbptt", "12", "--save", folder.path("whole.weights.h5")])
        try loom(common + ["--save", folder.path("ordinary.weights.h5")])
        XCTAssertEqual(try weights(folder.path("whole.weights.h5")), try weights(folder.path("ordinary.weights.h5")))
        XCTAssertNotEqual(try weights(folder.path("chunked.weights.h5")), try weights(folder.path("ordinary.weights.h5")))
        XCTAssertTrue(try loom(common + ["--tbptt", "0"], expect: 64).err.contains("--tbptt must be at least 1"))
        let bidirectional = Sequential {
            Input(shape: [12, 2]); Bidirectional(LSTM(3, returnSequences: true)); Dense(1)
        }
        let file = folder.path("bidirectional.keras")
        try bidirectional.save(to: URL(fileURLWithPath: file))
        let refused = try loom(
            ["train", "--data", data, "--model", file, "--epochs", "1", "--tbptt", "4", "--quiet"], expect: 1
        ).err
        XCTAssertTrue(refused.contains("truncated BPTT cannot train Bidirectional 'bidirectional'"), refused)
    }

    /// Masked, weighted training across ranks gives the bits of one process with fixed shards,
    /// with and without truncated BPTT.
    func testMaskedTrainingAcrossRanksGivesTheBitsOfOneProcess() throws {
        let data = try importedSequences(padding: "pre")
        let common = [
            "train", "--data", data, "--arch", "many-to-many", "--units", "4", "--epochs", "2", "--batch-size", "10",
            "--validation-split", "0", "--quiet", "--lengths", "lengths", "--sample-weights", "w",
        ]
        for extra in [[], ["--tbptt", "5"]] {
            let spread = folder.path("masked-ranks\(extra.count).weights.h5"), alone = folder.path("masked-alone\(extra.count).weights.h5")
            let run = try mpirun(["-np", "2", executable.path] + common + extra + ["--save", spread])
            XCTAssertEqual(run.status, 0, run.output)
            try loom(common + extra + ["--fixed-shards", "2", "--save", alone])
            XCTAssertEqual(try weights(spread), try weights(alone), "\(extra)")
        }
    }
}
