import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest
import ZIPFoundation

@testable import LoomKeras

/// Loom's own Keras files: written, read back by Loom with the layout Keras 3 reads (checked
/// here by reading the files; `Fixtures/Files/check_loom_saved.py` loads them in Keras itself).
final class KerasRoundTripTests: XCTestCase {
    private let folder = TemporaryFolder()

    private func file(_ name: String) -> URL { folder.url.appendingPathComponent(name) }

    /// Every fixture model, saved in each format and read back, predicts exactly as before.
    /// With `LOOM_KERAS_EXPORT=DIR` the Keras 2 `.h5` files are also written to DIR, for
    /// `Fixtures/Files/check_loom_saved.py DIR/NAME.h5 Fixtures/Files/NAME.expected.json --tf-keras` to
    /// load them in Keras 3 and tf.keras 2 (hard_sigmoid: `hard_sigmoid.tf2.expected.json`, in
    /// tf.keras 2 only, since Keras 3 reads `hard_sigmoid` as its own).
    func testEveryArchitectureSurvivesEveryFormat() throws {
        let export = ProcessInfo.processInfo.environment["LOOM_KERAS_EXPORT"].map { URL(fileURLWithPath: $0) }
        for name in KerasModelTests.models {
            let model = try Sequential(kerasModel: fixture("\(name).tf2.h5"))
            // The tf2 files compute Keras 2's hard_sigmoid, so Keras 2's outputs.
            let expected = try ExpectedPredictions.named(name == "hard_sigmoid" ? "hard_sigmoid.tf2" : name)
            try model.save(to: file("\(name).h5"))
            if let export { try model.save(to: export.appendingPathComponent("\(name).h5")) }
            let legacy = try Sequential(kerasModel: file("\(name).h5"))
            try assertPredicts(legacy, like: expected, "\(name): Loom's Keras 2 .h5")
            XCTAssertEqual(try legacy.weights(), try model.weights(), name)
            XCTAssertEqual(legacy.layers.map(\.name), model.layers.map(\.name), name)
            // Keras 3 has no hard_sigmoid of Keras 2's definition: that model has only the .h5.
            guard name != "hard_sigmoid" else {
                XCTAssertTrue(message { try model.save(to: file("\(name).keras")) }.contains("which Keras 3 does not have"))
                continue
            }
            try model.save(to: file("\(name).keras"))
            try model.save(to: file("\(name).json"))
            XCTAssertEqual(try model.kerasJSON(), try String(contentsOf: file("\(name).json"), encoding: .utf8), name)
            try model.save(to: file("\(name).weights.h5"))
            try assertPredicts(Sequential(kerasModel: file("\(name).keras")), like: expected, "\(name): Loom's .keras")
            let split = try Sequential(kerasModel: file("\(name).json"), weights: file("\(name).weights.h5"))
            try assertPredicts(split, like: expected, "\(name): Loom's .json + .weights.h5")
            XCTAssertEqual(try split.weights(), try model.weights(), name)
        }
    }

    /// A Keras 2 `.h5` as tf.keras writes it: the config with `batch_input_shape`, every layer
    /// in `layer_names`, each weight named `layer/cell/kernel:0`; Keras 3's hard_sigmoid, which
    /// the format cannot name, is refused.
    func testKeras2FileLayout() throws {
        let model = Sequential(name: "mine", seed: 2) {
            Input(shape: [5, 2]); Bidirectional(LSTM(3, returnSequences: true), name: "both"); GRU(2, name: "gate")
            Dropout(0.1); Dense(1, name: "out")
        }
        try model.build()
        let url = file("m.h5")
        try model.save(to: url)
        let h5 = try HDF5File(path: url.path)
        XCTAssertEqual(try h5.stringsAttribute("layer_names", on: "model_weights"), ["both", "gate", "dropout", "out"])
        XCTAssertEqual(
            try h5.stringsAttribute("weight_names", on: "model_weights/both"),
            ["forward_lstm", "backward_lstm"].flatMap { direction in
                ["kernel", "recurrent_kernel", "bias"].map { "both/\(direction)/lstm_cell/\($0):0" }
            })
        XCTAssertEqual(try h5.stringsAttribute("weight_names", on: "model_weights/dropout"), [])
        XCTAssertEqual(try h5.info(of: "model_weights/gate/gate/gru_cell/bias:0").shape, [2, 6])
        XCTAssertEqual(try h5.stringAttribute("keras_version"), "2.15.0")
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(h5.stringAttribute("model_config")).utf8)) as? [String: Any])
        let layers = try XCTUnwrap((config["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.map { $0["class_name"] as? String }, ["InputLayer", "Bidirectional", "GRU", "Dropout", "Dense"])
        XCTAssertNotNil((layers[0]["config"] as? [String: Any])?["batch_input_shape"])
        XCTAssertNil(layers[2]["module"], "a top-level layer in tf.keras's form")
        let inner = try XCTUnwrap((layers[1]["config"] as? [String: Any])?["layer"] as? [String: Any])
        XCTAssertEqual(inner["module"] as? String, "keras.layers", "Keras 3 reads a wrapped layer by its module")
        try h5.close()
        let loaded = try Sequential(kerasModel: url)
        XCTAssertEqual(loaded.layers.map(\.name), ["both", "gate", "dropout", "out"])
        XCTAssertEqual(try loaded.weights(), try model.weights())

        let keras3 = Sequential {
            Input(shape: [3, 2]); LSTM(2, recurrentActivation: .hardSigmoid)
        }
        try keras3.build()
        XCTAssertTrue(
            message { try keras3.save(to: file("k3.h5")) }.hasSuffix("cannot name (its hard_sigmoid is 0.2·x + 0.5); save it as .keras"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("k3.h5").path))
    }

    /// GRU's and SimpleRNN's `dropout` and `recurrent_dropout` are written and read back in
    /// every format.
    func testRecurrentDropoutOfEveryCellSurvivesSaving() throws {
        let model = Sequential(seed: 3) {
            Input(shape: [4, 2]); GRU(3, returnSequences: true, dropout: 0.25, recurrentDropout: 0.5)
            SimpleRNN(2, dropout: 0.125, recurrentDropout: 0.375); Dense(1)
        }
        try model.build()
        for name in ["d.keras", "d.h5", "d.json"] {
            try model.save(to: file(name))
            let loaded = try Sequential(kerasModel: file(name))
            let gru = try XCTUnwrap(loaded.layers[0] as? GRU), rnn = try XCTUnwrap(loaded.layers[1] as? SimpleRNN)
            XCTAssertEqual([gru.dropout, gru.recurrentDropout, rnn.dropout, rnn.recurrentDropout], [0.25, 0.5, 0.125, 0.375], name)
        }
    }

    func testKerasArchiveLayout() throws {
        let model = try Sequential(kerasModel: fixture("cnn_lstm.keras"))
        let url = file("m.keras")
        try model.save(to: url)
        let archive = try Archive(url: url, accessMode: .read)
        XCTAssertEqual(Set(archive.map(\.path)), ["config.json", "metadata.json", "model.weights.h5"])
        var configData = Data()
        _ = try archive.extract(try XCTUnwrap(archive["config.json"])) { configData.append($0) }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: configData) as? [String: Any])
        XCTAssertEqual(config["class_name"] as? String, "Sequential")
        let layers = try XCTUnwrap((config["config"] as? [String: Any])?["layers"] as? [[String: Any]])
        XCTAssertEqual(
            layers.map { $0["class_name"] as? String },
            ["InputLayer", "TimeDistributed", "TimeDistributed", "TimeDistributed", "LSTM", "Dense"])
        XCTAssertEqual(((layers[0]["config"] as? [String: Any])?["batch_shape"] as? [Any])?.count, 5)
        _ = try archive.extract(try XCTUnwrap(archive["model.weights.h5"]), to: file("w.h5"))
        let weights = try HDF5File(path: file("w.h5").path)
        for name in [
            "layers/time_distributed/layer/vars/0", "layers/time_distributed/layer/vars/1",
            "layers/lstm/cell/vars/2", "layers/dense/vars/1",
        ] {
            XCTAssertTrue(weights.contains(name), name)
        }
    }

    func testWrapperWeightsUseKerasGroups() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [5, 3]); Bidirectional(LSTM(4, returnSequences: true)); TimeDistributed(Dense(2)); GRU(3)
        }
        let url = file("wrappers.weights.h5")
        try model.save(to: url)
        let weights = try HDF5File(path: url.path)
        // The paths Keras 3.15 writes for this model (read off its own save_weights).
        for name in [
            "layers/bidirectional/forward_layer/cell/vars/2", "layers/bidirectional/backward_layer/cell/vars/0",
            "layers/time_distributed/layer/vars/1", "layers/gru/cell/vars/2",
        ] {
            XCTAssertTrue(weights.contains(name), name)
        }
        let copy = Sequential(seed: 9) {
            Input(shape: [5, 3]); Bidirectional(LSTM(4, returnSequences: true)); TimeDistributed(Dense(2)); GRU(3)
        }
        try copy.loadWeights(from: url)
        XCTAssertEqual(try copy.weights(), try model.weights())
    }

    func testWeightsOfAnotherShapeChangeNothing() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [3, 2]); LSTM(4); Dense(1)
        }
        let url = file("model.weights.h5")
        try model.save(to: url)
        let wider = Sequential(seed: 3) {
            Input(shape: [3, 2]); LSTM(5); Dense(1)
        }
        let before = try wider.weights()
        XCTAssertEqual(
            message { try wider.loadWeights(from: url) },
            "\(url.path), dataset 'layers/lstm/cell/vars/0': has shape (2, 16), but layer 'lstm' kernel is (2, 20)")
        XCTAssertEqual(try wider.weights(), before)
    }

    /// A model trained in Loom keeps training where it stopped after a save and a load.
    func testATrainedModelSavedAndLoadedTrainsOnTheSame() throws {
        let x = try Tensor(shape: [8, 4, 2], scalars: (0..<64).map { Float($0 % 9) / 9 })
        let y = try Tensor(shape: [8, 1], scalars: (0..<8).map { Float($0) / 8 })
        let model = Sequential(seed: 4) {
            Input(shape: [4, 2]); LSTM(3, dropout: 0.1); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        try model.fit(x: x, y: y, epochs: 2, batchSize: 4, shuffle: false, verbose: 0)
        try model.save(to: file("trained.keras"))
        let loaded = try Sequential(kerasModel: file("trained.keras"))
        XCTAssertEqual(try loaded.predict(x).scalars, try model.predict(x).scalars)
        XCTAssertEqual((loaded.layers[0] as? LSTM)?.dropout, 0.1)
    }

    /// A model whose weights hold NaN or Inf (a diverged run) is never saved over a file.
    func testNonFiniteWeightsAreNotSaved() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [3, 2]); LSTM(2); Dense(1)
        }
        let url = file("good.keras"), weights = file("good.weights.h5")
        try model.save(to: url)
        try model.save(to: weights)
        let good = try Data(contentsOf: url)
        var values = try model.weights()
        values[3] = try Tensor(shape: values[3].shape, scalars: values[3].scalars.map { _ in .nan })
        try model.setWeights(values)
        XCTAssertEqual(
            message { try model.save(to: url) },
            "\(url.path): not written: the kernel of layer 'dense' holds NaN or Inf "
                + "(training diverged; a lower learning rate may help)")
        XCTAssertTrue(
            message { try model.save(to: weights) }.hasSuffix("holds NaN or Inf (training diverged; a lower learning rate may help)"))
        XCTAssertEqual(try Data(contentsOf: url), good)
        try model.save(to: file("config.json"))  // a config holds no weights
    }

    func testFailedSavesLeaveTheOldFile() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [3, 2]); LSTM(2, recurrentActivation: .hardSigmoidKeras2); Dense(1)
        }
        let url = file("kept.keras")
        try Data("old".utf8).write(to: url)
        XCTAssertTrue(
            message { try model.save(to: url) }.hasSuffix(
                "LSTM 'lstm' uses Keras 2's hard_sigmoid (0.2·x + 0.5), which Keras 3 does not have (a Keras 2 .h5 file keeps it)"))
        XCTAssertEqual(try Data(contentsOf: url), Data("old".utf8))
        let good = Sequential(seed: 1) {
            Input(shape: [3, 2]); LSTM(2); Dense(1)
        }
        try good.save(to: url)
        try good.save(to: url)
        XCTAssertEqual(try Sequential(kerasModel: url).weights(), try good.weights())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { $0.hasPrefix(".") }, [])
        XCTAssertTrue(
            message { try model.save(to: file("m.txt")) }.hasSuffix(
                "cannot tell the format: name it .keras (model), .weights.h5 (weights), .h5 (Keras 2 model) or .json (config)"))
        let missing = folder.url.appendingPathComponent("typo")
        XCTAssertEqual(
            message { try good.save(to: missing.appendingPathComponent("m.keras")) },
            "\(missing.path): cannot write there (check the folder exists and is writable)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path), "saving creates no folders")
    }
}
