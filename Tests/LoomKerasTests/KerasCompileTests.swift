import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

@testable import LoomKeras

/// Compiled Keras models (`Fixtures/Files/Compiled`, from `make_compiled_models.py` with Keras
/// 3.15.1): Loom trains them as Keras compiled them, from the file alone, to Keras's weights
/// after one epoch of `fit`; continues Keras's trained file, optimizer state included, to
/// Keras's second epoch; and saves a compiled model with its state that it continues itself
/// to the bits of an uninterrupted run. Refusals name what Loom does not do.
final class KerasCompileTests: XCTestCase {
    let folder = TemporaryFolder()

    private struct Expected: Decodable {
        let x: [Float]
        let y: [Float]
        let start: [[Float]]
        let first: [[Float]]
        let second: [[Float]]
    }

    private static let names = [
        "sgd_momentum_clipnorm", "adam_cosine_warmup_global_clipnorm", "adamw_clipvalue", "lamb", "nadam_exponential",
        "rmsprop_momentum",
    ]

    private func expected(_ name: String) throws -> (Expected, Tensor, Tensor) {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: try fixture("Compiled/\(name).json")))
        return (expected, try Tensor(shape: [32, 5, 3], scalars: expected.x), try Tensor(shape: [32, 1], scalars: expected.y))
    }

    private func assertWeights(
        _ model: Sequential, _ expected: [[Float]], _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for (index, (mine, keras)) in zip(try model.weights(), expected).enumerated() {
            let worst = zip(mine.scalars, keras).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(what), weight \(index)", file: file, line: line)
        }
    }

    func testACompiledKerasModelTrainsToKerassWeights() throws {
        for name in KerasCompileTests.names {
            let (expected, x, y) = try expected(name)
            let model = try Sequential(kerasModel: try fixture("Compiled/\(name).keras"))
            XCTAssertNotNil(model.optimizer, name)
            XCTAssertEqual(model.loss, .meanSquaredError)
            XCTAssertEqual(model.metrics, [.mae])
            try assertWeights(model, expected.start, "\(name) before training")
            try model.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
            try assertWeights(model, expected.first, "\(name) after Keras's first epoch")
        }
    }

    /// A compiled file's summary counts the optimizer's variables, as Keras 3.15.1's
    /// `load_model(file).summary()` does ("Optimizer params", then in the total), trained or not;
    /// loaded without compiling, it counts the weights alone.
    func testTheSummaryOfACompiledFileCountsItsOptimizerAsKeras() throws {
        let kerasCounts = [
            "sgd_momentum_clipnorm": 135, "adam_cosine_warmup_global_clipnorm": 267, "adamw_clipvalue": 268, "lamb": 268,
            "nadam_exponential": 268, "rmsprop_momentum": 268,
        ]
        for (name, count) in kerasCounts {
            for file in ["\(name).keras", "\(name).trained.keras"] {
                let summary = try Sequential(kerasModel: try fixture("Compiled/\(file)")).summaryText()
                XCTAssertTrue(summary.contains(" Optimizer params: \(count) ("), "\(file): \(summary)")
                XCTAssertTrue(summary.contains(" Total params: \(133 + count) ("), "\(file): \(summary)")
            }
        }
        let named = try Sequential(kerasModel: try fixture("Compiled/named_metrics.keras")).summaryText()
        XCTAssertTrue(named.hasSuffix(" Optimizer params: 2 (12.00 B)"), named)
        let uncompiled = try Sequential(kerasModel: try fixture("Compiled/lamb.trained.keras"), compile: false).summaryText()
        XCTAssertTrue(uncompiled.hasSuffix(" Non-trainable params: 0 (0.00 B)"), uncompiled)
    }

    /// Metrics named as users name them (`named_metrics.keras`) are logged under Keras's keys,
    /// to Keras's values after an epoch, and saved under those names.
    func testMetricsKeepTheNamesKerasLogsThemUnder() throws {
        struct Named: Decodable {
            let x: [Float]
            let y: [Float]
            let history: [String: [Double]]
        }
        let expected = try JSONDecoder().decode(Named.self, from: Data(contentsOf: try fixture("Compiled/named_metrics.json")))
        let (x, y) = (try Tensor(shape: [32, 5, 3], scalars: expected.x), try Tensor(shape: [32, 1], scalars: expected.y))
        let model = try Sequential(kerasModel: try fixture("Compiled/named_metrics.keras"))
        XCTAssertEqual(model.metrics, [.mae, .mse, .rootMeanSquaredError, .r2Score])
        XCTAssertEqual(model.metricNames, ["my_mae", "mean_squared_error", "root_mean_squared_error", "fit"])
        let history = try model.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
        XCTAssertEqual(Set(history.history.keys), Set(expected.history.keys).union(["learning_rate"]))
        for (key, values) in expected.history { XCTAssertEqual(history[key].first ?? .nan, values[0], accuracy: 1e-5, key) }

        // Saved and read again: the names stay; one Keras would not give the metric travels in a metric object.
        let saved = folder.url.appendingPathComponent("named.keras")
        try model.save(to: saved)
        XCTAssertEqual(try KerasCompileConfig.read(from: saved)?.metricNames, model.metricNames)
        let listed = try XCTUnwrap(try KerasModelFile.config(of: saved, kind: .zip).compileConfig?["metrics"] as? [Any])
        XCTAssertEqual(listed.map(KerasConfigReader.loggedName), model.metricNames)
        XCTAssertEqual(listed[1] as? String, "mean_squared_error")
        XCTAssertEqual(listed[2] as? String, "root_mean_squared_error")
        XCTAssertEqual((listed[0] as? [String: Any])?["class_name"] as? String, "MeanAbsoluteError")
        XCTAssertEqual((listed[3] as? [String: Any])?["class_name"] as? String, "R2Score")

        // A model compiled in Loom names its metrics too; accuracy keeps Keras's names for it.
        try model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: [.mae], metricNames: ["error"])
        XCTAssertEqual(
            try model.fit(x: x, y: y, epochs: 1, batchSize: 8, verbose: 0).history.keys.sorted(), ["error", "learning_rate", "loss"])
        for (metrics, names, refusal) in [
            ([Metric.mae], ["val_error"], "starts with 'val_'"), ([.mae, .mse], ["e", "e"], "repeated"),
            ([.accuracy], ["hits"], "accuracy (resolved by the loss) is named accuracy or acc"),
            ([.mae], ["a", "b"], "2 metric names for 1"),
        ] {
            XCTAssertThrowsError(try model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: metrics, metricNames: names)) {
                XCTAssertTrue("\($0)".contains(refusal), "\($0)")
            }
        }
    }

    /// A whole model saved compiled as legacy HDF5 (`training_config`) trains as compiled:
    /// its optimizer and loss, not Loom's defaults; its optimizer starts afresh, as Keras 3's.
    func testACompiledLegacyH5ModelTrainsWithItsOptimizerAndLoss() throws {
        let (expected, x, y) = try expected("sgd_momentum_mae")
        let url = try fixture("Compiled/sgd_momentum_mae.h5")
        let model = try Sequential(kerasModel: url)
        XCTAssertEqual((model.optimizer as? SGD)?.momentum, 0.9)
        XCTAssertEqual(model.loss, .meanAbsoluteError)
        XCTAssertEqual(model.metrics, [])
        XCTAssertEqual(try KerasCompileConfig.read(from: url)?.loss, .meanAbsoluteError)
        try assertWeights(model, expected.start, "before training")
        try model.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
        try assertWeights(model, expected.first, "after Keras's epoch")
        // tf.keras before 2.11 writes its optimizers' `decay`: 0 is no decay, anything else is refused.
        var legacy: [String: Any] = [
            "loss": "mse", "metrics": NSNull(), "loss_weights": NSNull(), "weighted_metrics": NSNull(), "sample_weight_mode": NSNull(),
            "optimizer_config": ["class_name": "Adam", "config": ["name": "Adam", "learning_rate": 0.001, "decay": 0.0] as [String: Any]],
        ]
        let copy = URL(fileURLWithPath: folder.path("legacy.h5"))
        try FileManager.default.copyItem(at: url, to: copy)
        func written(_ config: [String: Any]) throws -> URL {
            let file = try HDF5File(path: copy.path, mode: .readWrite)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            try file.setAttribute("training_config", variableLengthStrings: [text], scalar: true)
            try file.close()
            return copy
        }
        XCTAssertTrue(try Sequential(kerasModel: written(legacy)).optimizer is Adam)
        legacy["optimizer_config"] = ["class_name": "Adam", "config": ["learning_rate": 0.001, "decay": 0.01] as [String: Any]]
        XCTAssertThrowsError(try KerasCompileConfig.read(from: written(legacy))) {
            XCTAssertTrue("\($0)".contains("decay=0.01 (tf.keras's per-update decay) is not supported"), "\($0)")
        }
        legacy["optimizer_config"] = ["class_name": "Ftrl", "config": ["learning_rate": 0.001] as [String: Any]]
        XCTAssertThrowsError(try KerasCompileConfig.read(from: written(legacy))) {
            XCTAssertTrue("\($0)".contains("the optimizer Ftrl is not supported"), "\($0)")
        }
        // tf.keras 2.11+: `Custom>` optimizers, metrics a list an output of MeanMetricWrappers.
        legacy["optimizer_config"] = ["class_name": "Custom>Adam", "config": ["learning_rate": 0.002] as [String: Any]]
        legacy["metrics"] = [
            [["class_name": "MeanMetricWrapper", "config": ["name": "mae", "dtype": "float32", "fn": "mean_absolute_error"]]]
        ]
        let tfKeras = try XCTUnwrap(try KerasCompileConfig.read(from: written(legacy)))
        XCTAssertEqual(tfKeras.optimizer.learningRate, 0.002)
        XCTAssertEqual(tfKeras.metrics, [.mae])
        // What cannot be trained as compiled still loads, uncompiled, for prediction.
        legacy["sample_weight_mode"] = "temporal"
        XCTAssertThrowsError(try KerasCompileConfig.read(from: written(legacy))) {
            XCTAssertTrue("\($0)".contains("sample_weight_mode is not supported"), "\($0)")
        }
        XCTAssertNil(try Sequential(kerasModel: copy).optimizer)
        let file = try HDF5File(path: copy.path, mode: .readWrite)
        try file.setAttribute("training_config", variableLengthStrings: ["{not json"], scalar: true)
        try file.close()
        XCTAssertNil(try Sequential(kerasModel: copy).optimizer)
        XCTAssertNil(try KerasCompileConfig.read(from: copy))
    }

    func testKerassTrainedFileContinuesWithItsOptimizerState() throws {
        for name in KerasCompileTests.names {
            let (expected, x, y) = try expected(name)
            let model = try Sequential(kerasModel: try fixture("Compiled/\(name).trained.keras"))
            XCTAssertEqual(model.kerasOptimizerVariables()?.iterations, 4, "\(name): Keras's iteration count")
            try model.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
            try assertWeights(model, expected.second, "\(name) after Keras's second epoch")
        }
    }

    func testLoomsSavedCompiledModelContinuesToTheBitsOfAnUninterruptedRun() throws {
        for name in KerasCompileTests.names {
            let (_, x, y) = try expected(name)
            let straight = try Sequential(kerasModel: try fixture("Compiled/\(name).keras"))
            try straight.fit(x: x, y: y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0)
            let first = try Sequential(kerasModel: try fixture("Compiled/\(name).keras"))
            try first.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
            let saved = folder.url.appendingPathComponent("\(name).keras")
            try first.save(to: saved)
            // For `make_compiled_models.py --check FILE NAME`: Keras continues Loom's file.
            if let keep = ProcessInfo.processInfo.environment["LOOM_SAVE_COMPILED_TO"] {
                try? FileManager.default.removeItem(atPath: keep + "/\(name).keras")
                try FileManager.default.copyItem(at: saved, to: URL(fileURLWithPath: keep + "/\(name).keras"))
            }
            XCTAssertEqual(try KerasCompileConfig.read(from: saved)?.optimizer.kerasClassName, first.optimizer?.kerasClassName)
            let resumed = try Sequential(kerasModel: saved)
            try resumed.fit(x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0)
            XCTAssertEqual(try resumed.weights(), try straight.weights(), "\(name): saved and continued, bit for bit")
            XCTAssertNil(try Sequential(kerasModel: saved, compile: false).optimizer, "compile: false reads no compile config")
        }
    }

    /// Keras's gradient accumulation averages micro-batches equally and counts each as a step;
    /// with SGD at a constant rate and micro-batches of equal rows both definitions agree, and
    /// Loom's accumulated fit ends at Keras's weights. Loading the compiled file is refused.
    func testAccumulationWithSGDMatchesKerasWhereTheDefinitionsAgree() throws {
        let (expected, x, y) = try expected("accumulation_sgd")
        let url = try fixture("Compiled/accumulation_sgd.keras")
        XCTAssertThrowsError(try KerasCompileConfig.read(from: url)) { error in
            XCTAssertTrue("\(error)".contains("gradient_accumulation_steps=2 is refused: Keras averages micro-batches equally"), "\(error)")
        }
        let model = try Sequential(kerasModel: url)
        XCTAssertNil(model.optimizer, "loaded uncompiled, for prediction")
        try model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
        try assertWeights(model, expected.start, "before training")
        try model.fit(x: x, y: y, epochs: 1, batchSize: 4, shuffle: false, verbose: 0, gradientAccumulationSteps: 2)
        try assertWeights(model, expected.first, "after Keras's epoch of accumulated SGD")
    }

    func testWhatLoomCannotTrainAsKerasIsRefusedByName() throws {
        let adam: [String: Any] = ["class_name": "Adam", "config": ["learning_rate": 0.001, "name": "adam"] as [String: Any]]
        func config(_ changes: [String: Any], optimizer: [String: Any]? = nil) -> [String: Any] {
            ["optimizer": optimizer ?? adam, "loss": "mse", "metrics": ["mae"]].merging(changes) { $1 }
        }
        func optimizer(_ className: String, _ arguments: [String: Any]) -> [String: Any] {
            ["class_name": className, "config": arguments]
        }
        let cases: [([String: Any], String)] = [
            (config([:], optimizer: optimizer("Adam", ["gradient_accumulation_steps": 4])), "gradient_accumulation_steps=4 is refused"),
            (config([:], optimizer: optimizer("Adafactor", [:])), "the optimizer Adafactor is not supported"),
            (config([:], optimizer: optimizer("Adam", ["amsgrad": true])), "option 'amsgrad' = true is not supported"),
            (config([:], optimizer: optimizer("Adam", ["use_ema": true])), "option 'use_ema' = true is not supported"),
            (config([:], optimizer: optimizer("SGD", ["momentum": 0.9, "dampening": 0.1])), "option 'dampening' is not supported"),
            (
                config([:], optimizer: optimizer("Adam", ["clipnorm": 1, "clipvalue": 1])),
                "only one of clipnorm, clipvalue and global_clipnorm"
            ),
            (
                config([:], optimizer: optimizer("Adam", ["learning_rate": ["class_name": "OneCycle", "config": [:] as [String: Any]]])),
                "the learning-rate schedule OneCycle is not supported"
            ),
            (config(["loss_weights": [1.0]]), "loss_weights is not supported"),
            (config(["loss": "poisson"]), "unknown loss 'poisson'"),
            (config(["metrics": ["auc"]]), "unknown metric 'auc'"),
            (config(["loss": ["class_name": "BinaryCrossentropy", "config": ["from_logits": true]]]), "from_logits=true is not supported"),
            (config(["unknown_key": 1]), "'unknown_key' is not supported"),
            (
                config([
                    "loss": ["module": "builtins", "class_name": "function", "config": "my_package>my_loss", "registered_name": "function"]
                ]),
                "unknown loss 'my_package>my_loss'"
            ),
        ]
        for (raw, message) in cases {
            XCTAssertThrowsError(try KerasCompileConfig(json: raw), message) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error) should say \(message)")
            }
        }
        let loss = try KerasCompileConfig(
            json: config(["loss": ["class_name": "MeanSquaredError", "config": ["name": "mse", "reduction": "sum_over_batch_size"]]]))
        XCTAssertEqual(loss.loss, .meanSquaredError)
        // A built-in loss given as a function (`loss=keras.losses.mean_absolute_error`).
        let function = try KerasCompileConfig(
            json: config([
                "loss": ["module": "builtins", "class_name": "function", "config": "mean_absolute_error", "registered_name": "function"]
            ]))
        XCTAssertEqual(function.loss, .meanAbsoluteError)
        let sparse = try KerasCompileConfig(
            json: config([
                "loss": [
                    "class_name": "SparseCategoricalCrossentropy",
                    "config": [
                        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": false,
                        "ignore_class": NSNull(),
                    ] as [String: Any],
                ],
                "metrics": ["sparse_categorical_accuracy"],
            ]))
        XCTAssertEqual(sparse.loss, .sparseCategoricalCrossentropy)
        XCTAssertEqual(sparse.metrics, [.sparseCategoricalAccuracy])
        XCTAssertThrowsError(
            try KerasCompileConfig(
                json: config(["loss": ["class_name": "SparseCategoricalCrossentropy", "config": ["ignore_class": 0]]]))
        ) { XCTAssertTrue("\($0)".contains("ignore_class=0 is not supported"), "\($0)") }
        // A class Loom does not have is named as such, not by one of its options.
        XCTAssertThrowsError(
            try KerasCompileConfig(
                json: config(["metrics": [["class_name": "Precision", "config": ["class_id": NSNull(), "top_k": NSNull()]]]]))
        ) {
            XCTAssertTrue("\($0)".contains("unknown metric 'precision'"), "\($0)")
            XCTAssertFalse("\($0)".contains("class_id"), "\($0)")
        }
        XCTAssertThrowsError(
            try KerasCompileConfig(
                json: config(["loss": ["class_name": "MeanSquaredError", "config": ["name": "mse", "from_logits": true]]]))
        ) { XCTAssertTrue("\($0)".contains("MeanSquaredError's from_logits=true is not supported"), "\($0)") }
    }
}
