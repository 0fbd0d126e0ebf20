import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest
import ZIPFoundation

@testable import LoomKeras

/// Where Keras 3 weights live: by the order of layer classes, numbered within the model
/// (`layers/lstm`, `layers/lstm_1`), never by layer name; files of another architecture are
/// refused by name, and names Keras refuses are refused when saving.
final class KerasWeightPathTests: XCTestCase {
    private let folder = TemporaryFolder()

    private func file(_ name: String) -> URL { folder.url.appendingPathComponent(name) }

    /// Names that are other classes' defaults: the LSTM called "dense" must still be stored
    /// under `layers/lstm`, the Dense called "lstm" under `layers/dense`.
    private func customNamed(seed: UInt64, names: [String] = ["dense", "drop", "encoder", "lstm", "lstm_1"]) -> Sequential {
        Sequential(seed: seed) {
            Input(shape: [6, 3])
            LSTM(4, returnSequences: true, name: names[0])
            Dropout(0.3, name: names[1])
            LSTM(3, name: names[2])
            Dense(2, activation: .tanh, name: names[3])
            Dense(1, name: names[4])
        }
    }

    /// Each wrapper twice, with a layer between, the second of each named like the other class.
    private func customWrapped(seed: UInt64, mergeMode: Bidirectional.MergeMode) -> Sequential {
        Sequential(seed: seed) {
            Input(shape: [6, 3])
            Bidirectional(LSTM(3, returnSequences: true, name: "fwd"), name: "bi_encoder")
            TimeDistributed(Dense(4, activation: .relu, name: "proj"), name: "per_step")
            Bidirectional(GRU(2, returnSequences: true), mergeMode: mergeMode, name: "time_distributed")
            TimeDistributed(Dense(1, name: "head"), name: "bidirectional")
        }
    }

    func testLoomWritesKerasPathsWhateverTheLayersAreCalled() throws {
        let model = customNamed(seed: 1)
        let url = file("custom.weights.h5")
        try model.save(to: url)
        let weights = try HDF5File(path: url.path)
        XCTAssertEqual(
            try weights.datasetNames(under: "layers"),
            [
                "layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0", "layers/dense_1/vars/1",
                "layers/lstm/cell/vars/0", "layers/lstm/cell/vars/1", "layers/lstm/cell/vars/2",
                "layers/lstm_1/cell/vars/0", "layers/lstm_1/cell/vars/1", "layers/lstm_1/cell/vars/2",
            ])
        XCTAssertEqual(try weights.info(of: "layers/lstm/cell/vars/0").shape, [3, 16])
        XCTAssertEqual(try weights.info(of: "layers/lstm_1/cell/vars/0").shape, [4, 12])
        XCTAssertEqual(try weights.info(of: "layers/dense/vars/0").shape, [3, 2])
        // Each layer's group carries its name, as Keras writes it; layers without weights too.
        XCTAssertEqual(try weights.stringAttribute("name", on: "layers/lstm/vars"), "dense")
        XCTAssertEqual(try weights.stringAttribute("name", on: "layers/dropout/vars"), "drop")
        XCTAssertEqual(try weights.stringAttribute("name", on: "layers/dense_1/vars"), "lstm_1")
        XCTAssertEqual(try weights.stringAttribute("name", on: "layers/lstm_1/cell/vars"), "lstm_cell")
        XCTAssertEqual(try weights.stringAttribute("name", on: "vars"), "sequential")

        // Another model of the same architecture, named otherwise, takes them all.
        let renamed = customNamed(seed: 2, names: ["a", "b", "c", "d", "e"])
        try renamed.loadWeights(from: url)
        XCTAssertEqual(try renamed.weights(), try model.weights())
    }

    func testWrappersNestUnderTheirClassPaths() throws {
        let model = customWrapped(seed: 1, mergeMode: .sum)
        let url = file("wrappers.keras")
        try model.save(to: url)
        try model.save(to: file("wrappers.weights.h5"))
        let weights = try HDF5File(path: file("wrappers.weights.h5").path)
        let stored = try weights.datasetNames(under: "layers")
        for name in [
            "layers/bidirectional/forward_layer/cell/vars/2", "layers/bidirectional/backward_layer/cell/vars/0",
            "layers/bidirectional_1/forward_layer/cell/vars/1", "layers/bidirectional_1/backward_layer/cell/vars/2",
            "layers/time_distributed/layer/vars/0", "layers/time_distributed_1/layer/vars/1",
        ] {
            XCTAssertTrue(stored.contains(name), name)
        }
        XCTAssertEqual(stored.count, 4 * 3 + 2 * 2)
        XCTAssertEqual(try weights.info(of: "layers/time_distributed/layer/vars/0").shape, [6, 4])
        XCTAssertEqual(try weights.info(of: "layers/time_distributed_1/layer/vars/0").shape, [2, 1])
        let loaded = try Sequential(kerasModel: url)
        XCTAssertEqual(loaded.layers.map(\.name), ["bi_encoder", "per_step", "time_distributed", "bidirectional"])
        XCTAssertEqual(try loaded.weights(), try model.weights())
    }

    /// Loom models with names of their own survive `.keras` and `.weights.h5`. With
    /// `LOOM_KERAS_EXPORT=DIR` the files and their predictions are also written to DIR, for
    /// `Fixtures/Files/check_loom_saved.py DIR/NAME.keras DIR/NAME.expected.json DIR/NAME.weights.h5`
    /// to load them in Keras 3.
    func testCustomNamedLoomModelsPredictTheSameAfterSaving() throws {
        let export = ProcessInfo.processInfo.environment["LOOM_KERAS_EXPORT"].map { URL(fileURLWithPath: $0) }
        for (name, model) in [
            ("loom_custom_names", customNamed(seed: 7)), ("loom_custom_wrappers", customWrapped(seed: 3, mergeMode: .ave)),
        ] {
            let x = try Tensor(shape: [3] + (model.inputShape ?? []), scalars: (0..<54).map { Float(($0 * 37) % 19) / 9 - 1 })
            let predicted = try model.predict(x)
            let target = export ?? folder.url
            try model.save(to: target.appendingPathComponent("\(name).keras"))
            try model.save(to: target.appendingPathComponent("\(name).weights.h5"))
            let loaded = try Sequential(kerasModel: target.appendingPathComponent("\(name).keras"))
            XCTAssertEqual(loaded.layers.map(\.name), model.layers.map(\.name), name)
            XCTAssertEqual(try loaded.predict(x).scalars, predicted.scalars, name)
            try loaded.loadWeights(from: target.appendingPathComponent("\(name).weights.h5"))
            XCTAssertEqual(try loaded.weights(), try model.weights(), name)
            let expected: [String: Any] = [
                "inputs": [["shape": x.shape, "data": x.scalars.map(Double.init)]],
                "outputs": [["shape": predicted.shape, "data": predicted.scalars.map(Double.init)]],
            ]
            try JSONSerialization.data(withJSONObject: expected).write(to: target.appendingPathComponent("\(name).expected.json"))
        }
    }

    /// A stacked model's file holds a second LSTM of the same shapes: loading it into a model
    /// with one LSTM would fill every weight and silently drop one layer. It is refused.
    func testAFileWithLayersTheModelLacksIsRefusedByName() throws {
        let stacked = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3, returnSequences: true); LSTM(3); Dense(1)
        }
        let url = file("stacked.weights.h5")
        try stacked.save(to: url)
        let single = Sequential(seed: 2) {
            Input(shape: [4, 3]); LSTM(3, name: "only"); Dense(1)
        }
        let before = try single.weights()
        XCTAssertEqual(
            message { try single.loadWeights(from: url) },
            "\(url.path), dataset 'layers/lstm_1': holds variables that no layer of the model uses; the file's layers are "
                + "layers/dense ('dense'), layers/lstm ('lstm'), layers/lstm_1 ('lstm_1'), "
                + "the model's are layers/lstm, layers/dense")
        XCTAssertEqual(try single.weights(), before)

        // A .keras archive carries the same check, naming the archive.
        try stacked.save(to: file("stacked.keras"))
        let archive = message { try single.loadWeights(from: file("stacked.keras")) }
        XCTAssertTrue(
            archive.hasPrefix("\(file("stacked.keras").path): model.weights.h5, dataset 'layers/lstm_1': holds variables"),
            archive)
        XCTAssertEqual(try single.weights(), before)
    }

    func testAFileOfOtherClassesNamesWhatItHolds() throws {
        let gru = Sequential(seed: 1) {
            Input(shape: [4, 3]); GRU(3, name: "recurrent"); Dense(1, name: "out")
        }
        let url = file("gru.weights.h5")
        try gru.save(to: url)
        let lstm = Sequential(seed: 2) {
            Input(shape: [4, 3]); LSTM(3); Dense(1)
        }
        let before = try lstm.weights()
        XCTAssertEqual(
            message { try lstm.loadWeights(from: url) },
            "\(url.path), dataset 'layers/lstm/cell/vars/0': missing: the model's layer 'lstm' (LSTM) needs its kernel "
                + "here; the file's layers are layers/dense ('out'), layers/gru ('recurrent')")
        XCTAssertEqual(try lstm.weights(), before)
    }

    /// An extra variable inside a group the model uses is named by its own path.
    func testAnExtraVariableInAUsedGroupIsRefused() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3); Dense(1)
        }
        let url = file("extra.weights.h5")
        try model.save(to: url)
        try HDF5File(path: url.path, mode: .readWrite).write(Tensor(shape: [3]), as: "layers/dense/vars/2")
        let before = try model.weights()
        XCTAssertTrue(
            message { try model.loadWeights(from: url) }.hasPrefix(
                "\(url.path), dataset 'layers/dense/vars/2': holds variables that no layer of the model uses"))
        XCTAssertEqual(try model.weights(), before)
    }

    /// A dataset that declares a shape no machine holds is refused by its shape, before any
    /// read or allocation (the file itself is small: HDF5 allocates contiguous data lazily).
    func testAHugeDeclaredWeightIsRefusedBeforeItIsRead() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3); Dense(1)
        }
        let url = file("huge.weights.h5")
        let hostile = try HDF5File(path: url.path, mode: .create)
        for (index, (entry, tensor)) in zip(KerasWeightsFile.entries(model), try model.weights()).enumerated() {
            if index == 0 {
                try hostile.createDataset(entry.path, shape: [1 << 40, 12])
            } else {
                try hostile.write(tensor, as: entry.path)
            }
        }
        let before = try model.weights()
        XCTAssertEqual(
            message { try model.loadWeights(from: url) },
            "\(url.path), dataset 'layers/lstm/cell/vars/0': has shape (1099511627776, 12), but layer 'lstm' kernel is (3, 12)")
        XCTAssertEqual(try model.weights(), before)
    }

    /// An archive entry is refused once it would inflate past its limit (a config's is 64 MiB,
    /// the weights' what the model can need), by its declared size and while inflating.
    func testArchiveEntriesAreCappedBeforeTheyInflate() throws {
        let url = file("bomb.keras")
        let archive = try Archive(url: url, accessMode: .create)
        let config = Data(repeating: UInt8(ascii: " "), count: 100_000)
        try archive.addEntry(
            with: "config.json", type: .file, uncompressedSize: Int64(config.count),
            compressionMethod: .deflate
        ) { position, size in
            config.subdata(in: Int(position)..<(Int(position) + size))
        }
        XCTAssertEqual(
            message { try KerasModelFile.unpack("config.json", of: url, limit: 10_000) { _ in } },
            "\(url.path): config.json inflates to more than 10000 bytes, more than the model can need; "
                + "the file may be damaged")
        var unpacked = 0
        try KerasModelFile.unpack("config.json", of: url, limit: 100_000) { unpacked += $0.count }
        XCTAssertEqual(unpacked, 100_000)
        XCTAssertEqual(KerasModelFile.maximumConfigBytes, 64 << 20)
    }

    /// Keras 2.13's `.keras` files stored the layers under `_layer_checkpoint_dependencies`.
    func testKeras213LayerGroupIsRead() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3); Dense(1)
        }
        let url = file("keras213.weights.h5")
        let old = try HDF5File(path: url.path, mode: .create)
        for (entry, tensor) in zip(KerasWeightsFile.entries(model, under: "_layer_checkpoint_dependencies"), try model.weights()) {
            try old.write(tensor, as: entry.path)
        }
        let copy = Sequential(seed: 5) {
            Input(shape: [4, 3]); LSTM(3); Dense(1)
        }
        try copy.loadWeights(from: url)
        XCTAssertEqual(try copy.weights(), try model.weights())
    }

    func testSavingRefusesNamesKerasCannotLoad() throws {
        let url = file("kept.keras")
        try Data("old".utf8).write(to: url)
        let twice = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3, returnSequences: true, name: "x"); LSTM(2); Dense(1, name: "x")
        }
        for name in ["kept.keras", "kept.json", "kept.weights.h5"] {
            XCTAssertEqual(
                message { try twice.save(to: file(name)) },
                "\(file(name).path): layers 1 and 3 are both named 'x'; Keras needs each layer of a Sequential model "
                    + "to have its own name (rename one)")
        }
        let slash = Sequential(seed: 1) {
            Input(shape: [4, 3]); TimeDistributed(Dense(2, name: "a/b")); LSTM(2)
        }
        XCTAssertEqual(
            message { try slash.save(to: url) },
            "\(url.path): Dense 'a/b': Keras does not allow '/' in a layer name")
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("kept.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("kept.weights.h5").path))
    }

    /// Keras refuses a config whose InputLayer shares a layer's name: Loom names its
    /// InputLayer past the names the model uses.
    func testTheInputLayerNameAvoidsTheModelsNames() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [4, 3]); LSTM(3, name: "input_layer"); Dense(1, name: "input_layer_1")
        }
        let json = try JSONSerialization.jsonObject(with: Data(try model.kerasJSON().utf8)) as? [String: Any]
        let layers = try XCTUnwrap((json?["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        XCTAssertEqual(
            layers.compactMap { ($0["config"] as? [String: Any])?["name"] as? String },
            ["input_layer_2", "input_layer", "input_layer_1"])
    }
}
