import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

@testable import LoomKeras

/// Keras's own files, every architecture in every format, loaded and matched against Keras's
/// predictions (fixtures from `Fixtures/Files/make_keras_models.py`, Keras 3.15 and tf_keras 2).
final class KerasModelTests: XCTestCase {
    static let models = [
        "vanilla", "lstm_options", "stateful", "encoder_decoder", "bidirectional", "bidirectional_sum_mul",
        "bidirectional_stateful", "cnn_lstm", "conv", "one_to_many", "gru_simple_rnn", "dropout", "embedding", "hard_sigmoid",
        "custom_names", "custom_wrappers", "masking", "embedding_mask_zero",
    ]

    /// A `.keras` read unpacks its weights into a hidden folder named for this process; one
    /// left by a process that was killed while reading is removed by the next read.
    func testAReadKilledMidwayLeavesNothingBehind() throws {
        let temporary = FileManager.default.temporaryDirectory
        let own = OutputFile.temporaryURL(in: temporary, for: "keras-weights-test").lastPathComponent
        var dead: Int32 = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let stale = temporary.appendingPathComponent(own.replacingOccurrences(of: "-\(getpid())-", with: "-\(dead)-"))
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: false)
        try Data(count: 1 << 20).write(to: stale.appendingPathComponent("model.weights.h5"))
        _ = try Sequential(kerasModel: fixture("vanilla.keras"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.contains("keras-weights-") }
        XCTAssertEqual(left, [], "the read's own folder is removed too")
    }

    func testKeras3ModelFiles() throws {
        for name in Self.models {
            try assertPredicts(Sequential(kerasModel: fixture("\(name).keras")), like: .named(name), "\(name).keras")
        }
    }

    func testKeras3ConfigsWithWeightsFiles() throws {
        for name in Self.models {
            let model = try Sequential(kerasModel: fixture("\(name).json"), weights: fixture("\(name).weights.h5"))
            try assertPredicts(model, like: .named(name), "\(name).json + .weights.h5")
        }
    }

    /// tf.keras 2 whole-model files, and their JSON with the same file as weights. The
    /// hard_sigmoid model's tf2 files compute Keras 2's hard_sigmoid, so Keras 2's outputs.
    func testKeras2ModelFilesAndConfigs() throws {
        for name in Self.models {
            let expected = try ExpectedPredictions.named(name == "hard_sigmoid" ? "hard_sigmoid.tf2" : name)
            try assertPredicts(Sequential(kerasModel: fixture("\(name).tf2.h5")), like: expected, "\(name).tf2.h5")
            let model = try Sequential(kerasModel: fixture("\(name).tf2.json"), weights: fixture("\(name).tf2.h5"))
            try assertPredicts(model, like: expected, "\(name).tf2.json + .tf2.h5")
        }
    }

    /// Keras 3's own legacy `.h5` (weights under the layers' names, read by position).
    func testKeras3LegacyModelFiles() throws {
        for name in ["custom_names", "custom_wrappers"] {
            try assertPredicts(Sequential(kerasModel: fixture("\(name).k3.h5")), like: .named(name), "\(name).k3.h5")
        }
    }

    func testKeras2WeightsOnlyFileAndChunkedAttributes() throws {
        let expected = try ExpectedPredictions.named("vanilla")
        let model = try Sequential(kerasModel: fixture("vanilla.json"), weights: fixture("vanilla.tf2.weights.h5"))
        try assertPredicts(model, like: expected, "vanilla.tf2.weights.h5")
        try assertPredicts(Sequential(kerasModel: fixture("chunked.tf2.h5")), like: expected, "chunked.tf2.h5")
    }

    func testConfigsGiveKerasNamesShapesAndOptions() throws {
        let model = try Sequential(kerasModel: fixture("bidirectional_stateful.keras"))
        XCTAssertEqual(model.batchSize, 2)
        XCTAssertEqual(model.inputShape, [4, 3])
        let bidirectional = try XCTUnwrap(model.layers[0] as? Bidirectional)
        XCTAssertTrue(bidirectional.isStateful)
        XCTAssertEqual(bidirectional.forwardLayer.name, "forward_lstm_20")
        XCTAssertEqual(bidirectional.backwardLayer.name, "backward_lstm_20")
        let dropout = try XCTUnwrap(Sequential(kerasModel: fixture("dropout.json")).layers[0] as? LSTM)
        XCTAssertEqual(dropout.dropout, 0.2)
        XCTAssertEqual(dropout.recurrentDropout, 0.2)
        let legacy = try XCTUnwrap(Sequential(kerasModel: fixture("hard_sigmoid.tf2.json")).layers[0] as? LSTM)
        XCTAssertEqual(legacy.recurrentActivation, .hardSigmoidKeras2)
        let keras3 = try XCTUnwrap(Sequential(kerasModel: fixture("hard_sigmoid.json")).layers[0] as? LSTM)
        XCTAssertEqual(keras3.recurrentActivation, .hardSigmoid)
    }

    func testRefusals() throws {
        func refusal(_ name: String) throws -> String { message { _ = try Sequential(kerasModel: fixture(name)) } }
        let functional = try refusal("functional.keras")
        XCTAssertTrue(
            functional.hasSuffix(
                "the model is a functional (non-Sequential) model; Loom reads Sequential models only "
                    + "(rebuild it as keras.Sequential)"), functional)
        let unknown = try refusal("unknown_layer.keras")
        XCTAssertTrue(unknown.contains("layer 'layer_normalization' is a LayerNormalization, which Loom does not have"), unknown)
        XCTAssertTrue(try refusal("truncated.keras").hasSuffix("is not a readable zip archive; it may be truncated or damaged"))
        XCTAssertTrue(try refusal("truncated.tf2.h5").contains("cannot open the HDF5 file: it may be truncated or damaged"))
        XCTAssertTrue(
            try refusal("vanilla.weights.h5").hasSuffix(
                "holds weights only, no model config; load the model from its "
                    + ".keras or .json file and pass this file as its weights"))
        let absent = message { _ = try Sequential(kerasModel: URL(fileURLWithPath: "/nonexistent/m.keras")) }
        XCTAssertEqual(absent, "/nonexistent/m.keras: no such file")
        let folderModel = message { _ = try Sequential(kerasModel: FileManager.default.temporaryDirectory) }
        XCTAssertEqual(folderModel, "\(FileManager.default.temporaryDirectory.path): is a folder, not a file")

        let model = try Sequential(kerasModel: fixture("vanilla.keras"))
        let before = try model.weights()
        let mismatch = message { try model.loadWeights(from: fixture("mismatch.weights.h5")) }
        XCTAssertTrue(
            mismatch.hasSuffix("dataset 'layers/lstm/cell/vars/0': has shape (5, 20), but layer 'lstm' kernel is (5, 16)"),
            mismatch)
        let legacyMismatch = message { try model.loadWeights(from: fixture("bidirectional.tf2.h5")) }
        XCTAssertTrue(legacyMismatch.contains("holds weights for 3 layers"), legacyMismatch)
        XCTAssertEqual(try model.weights(), before)
    }

    /// Read for prediction, a model's regularizers, constraints and frozen layers are accepted
    /// (they change training alone): it predicts as the same model without them, and refuses
    /// to train, to evaluate with a penalty Keras would add, and to save a config without them.
    func testRegularizersConstraintsAndFrozenLayersAreAcceptedForPrediction() throws {
        let folder = TemporaryFolder()
        func model(_ lstmOptions: String, _ denseOptions: String, forPrediction: Bool) throws -> Sequential {
            let json =
                #"{"class_name": "Sequential", "module": "keras", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3]}}, "#
                + #"{"class_name": "LSTM", "config": {"name": "l", "units": 2"# + lstmOptions + "}}, "
                + #"{"class_name": "Dense", "config": {"name": "d", "units": 1"# + denseOptions + "}}]}}"
            let url = folder.url.appendingPathComponent("m\(lstmOptions.count).json")
            try Data(json.utf8).write(to: url)
            return try Sequential(kerasModel: url, seed: 7, forPrediction: forPrediction)
        }
        let regularized =
            #", "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}"#
            + #", "recurrent_constraint": {"class_name": "MaxNorm", "config": {"max_value": 2}}"#
        let frozen = #", "trainable": false"#
        XCTAssertTrue(
            message { _ = try model(regularized, "", forPrediction: false) }.contains("option 'kernel_regularizer' is not supported"))
        let read = try model(regularized, frozen, forPrediction: true)
        XCTAssertEqual(
            read.trainingOnlySettings, ["LSTM 'l': kernel_regularizer", "LSTM 'l': recurrent_constraint", "Dense 'd': trainable=false"])
        XCTAssertTrue(try read.summaryText().hasSuffix(" Trainable params: 48 (192.00 B)\n Non-trainable params: 3 (12.00 B)"))
        let plain = try model("", "", forPrediction: false)
        let x = try Tensor(shape: [5, 4, 3], scalars: (0..<60).map { Float($0 % 9) / 9 })
        XCTAssertEqual(try read.predict(x).scalars, try plain.predict(x).scalars)
        try read.compile(optimizer: Adam(), loss: .meanSquaredError)
        let y = try Tensor(shape: [5, 1], scalars: [0, 1, 0, 1, 0])
        let before = try read.weights()
        XCTAssertTrue(
            message { try read.fit(x: x, y: y, verbose: 0) }.contains(
                "the model was read for prediction: Loom would train it without LSTM 'l': kernel_regularizer"))
        XCTAssertEqual(try read.weights(), before)
        XCTAssertTrue(message { _ = try read.evaluate(x: x, y: y) }.contains("Keras adds the penalties of LSTM 'l': kernel_regularizer"))
        XCTAssertTrue(message { try read.save(to: folder.url.appendingPathComponent("m.keras")) }.contains("(save .weights.h5)"))
        try read.save(to: folder.url.appendingPathComponent("m.weights.h5"))
        let constrained = try model(#", "kernel_constraint": {"class_name": "NonNeg", "config": {}}"#, "", forPrediction: true)
        try constrained.compile(optimizer: Adam(), loss: .meanSquaredError)
        XCTAssertNoThrow(try constrained.evaluate(x: x, y: y), "a constraint changes no loss Keras evaluates")
    }

    func testUnsupportedOptionsAreNamed() throws {
        func refusal(_ layer: String) -> String {
            let json =
                #"{"class_name": "Sequential", "module": "keras", "config": {"name": "s", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 3]}}, "#
                + layer + "]}}"
            let folder = TemporaryFolder()
            let url = folder.url.appendingPathComponent("m.json")
            return message {
                try Data(json.utf8).write(to: url)
                _ = try Sequential(kerasModel: url)
            }.replacingOccurrences(of: url.path + ": ", with: "")
        }
        XCTAssertEqual(
            refusal(#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "time_major": true}}"#),
            "LSTM 'l': option 'time_major' = true is not supported (Loom's sequences are batch first)")
        XCTAssertEqual(
            refusal(#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "kernel_regularizer": {"class_name": "L2"}}}"#),
            "LSTM 'l': option 'kernel_regularizer' is not supported (only null)")
        XCTAssertEqual(
            refusal(#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "activation": "elu"}}"#),
            "LSTM 'l': activation 'elu' in 'activation' is not supported (linear, relu, sigmoid, tanh, hard_sigmoid, softmax)")
        XCTAssertEqual(
            refusal(#"{"class_name": "GRU", "config": {"name": "g", "units": 2, "reset_after": false}}"#),
            "GRU 'g': option 'reset_after' = false is not supported (Loom's GRU is Keras's reset_after=True form)")
        XCTAssertTrue(
            refusal(#"{"class_name": "AveragePooling2D", "config": {"name": "p"}}"#).contains(
                "layer 'p' is an AveragePooling2D, which Loom does not have"))
        XCTAssertEqual(
            refusal(#"{"class_name": "LSTM", "config": {"name": "l", "units": 2, "frobnicate": 3}}"#),
            "LSTM 'l': option 'frobnicate' is not supported")
        XCTAssertEqual(
            refusal(
                #"{"class_name": "Dense", "config": {"name": "d", "units": 2, "dtype": {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}}}"#
            ),
            "Dense 'd': dtype mixed_float16 is not supported (Loom computes in float32)")
        XCTAssertTrue(
            refusal(
                #"{"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": {"class_name": "ReLU", "config": {"name": "relu", "max_value": 6}}}}"#
            )
            .hasPrefix("Dense 'd': option 'activation' is not an activation name: ["))
        XCTAssertEqual(
            refusal(
                #"{"class_name": "Bidirectional", "config": {"name": "b", "layer": {"class_name": "LSTM", "config": {"name": "f", "units": 2}}, "backward_layer": {"class_name": "LSTM", "config": {"name": "r", "units": 2, "go_backwards": true, "activation": "relu"}}}}"#
            ),
            "Bidirectional 'b': a backward_layer that is not the forward layer reading backwards is not supported")
        XCTAssertEqual(
            refusal(#"{"class_name": "LSTM", "config": {"name": "l", "units": 1e12}}"#),
            "LSTM 'l': option 'units' = 1000000000000 is out of range (0 to 16777216)")
        XCTAssertEqual(
            refusal(
                #"{"class_name": "Dense", "config": {"name": "d", "units": 16777216}}, {"class_name": "Dense", "config": {"name": "e", "units": 16777216}}"#
            ),
            "the model does not build in Loom: model 's' needs 281475060596736 parameters; Loom holds at most 2147483647 (8 GiB of Float32)"
        )
        XCTAssertEqual(
            refusal(#"{"class_name": "Dense", "config": {"name": "d", "units": 2, "trainable": false}}"#),
            "Dense 'd': option 'trainable' = false is not supported (Loom trains every layer; unfreeze it in Keras first)")
    }
}
