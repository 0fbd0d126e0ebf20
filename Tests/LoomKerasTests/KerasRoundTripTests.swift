import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest
import ZIPFoundation

@testable import LoomKeras

/// Loom's own Keras files: written, read back by Loom with the layout Keras 3 reads (checked
/// here by reading the files; `Fixtures/check_loom_saved.py` loads them in Keras itself).
final class KerasRoundTripTests: XCTestCase {
    private let folder = TemporaryFolder()

    private func file(_ name: String) -> URL { folder.url.appendingPathComponent(name) }

    /// Every fixture model, saved in each format and read back, predicts exactly as before.
    func testEveryArchitectureSurvivesEveryFormat() throws {
        for name in KerasModelTests.models where name != "hard_sigmoid" {
            let model = try Sequential(kerasModel: fixture("\(name).tf2.h5"))
            let expected = try ExpectedPredictions.named(name)
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
                "LSTM 'lstm' uses Keras 2's hard_sigmoid (0.2·x + 0.5), which Keras 3 does not have"))
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
                "cannot tell the format: name it .keras (model), .weights.h5 (weights) or .json (config)"))
        let missing = folder.url.appendingPathComponent("typo")
        XCTAssertEqual(
            message { try good.save(to: missing.appendingPathComponent("m.keras")) },
            "\(missing.path): cannot write there (check the folder exists and is writable)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path), "saving creates no folders")
    }
}
