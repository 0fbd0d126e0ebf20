import Foundation
import Loom
import LoomKeras
import TestSupport
import XCTest

/// EarlyStopping, ReduceLROnPlateau and ModelCheckpoint decide as Keras's do on the same
/// scripted epoch values (`Fixtures/Files/callbacks.json`, from `make_callback_fixtures.py` run
/// with Keras 3.15.1): the stop epoch and the weights left, the learning rate after every
/// epoch, the epochs saved.
final class CallbackParityTests: XCTestCase {
    let folder = TemporaryFolder()

    private struct Case: Decodable {
        let callback: String
        let sequence: String
        let monitor: String
        let mode: String
        let arguments: [String: Double]
        let values: [Double]
        let stopped: Int?
        let marker: Double?
        let rates: [Double]?
        let saved: [Int]?
    }

    private struct Fixture: Decodable {
        let keras: String
        let cases: [Case]
    }

    /// Drives `inner` inside a real `fit`, handing it the scripted value of each epoch under
    /// `monitor` and, first, weights that say which epoch they are from (the kernel = epoch).
    private final class Scripted: Callback {
        let inner: any Callback
        let monitor: String
        let values: [Double]
        init(_ inner: any Callback, monitor: String, values: [Double]) {
            self.inner = inner
            self.monitor = monitor
            self.values = values
        }
        func onTrainBegin(_ run: TrainingRun) throws { try inner.onTrainBegin(run) }
        func onTrainEnd(_ run: TrainingRun) throws { try inner.onTrainEnd(run) }
        func onEpochEnd(_ epoch: Int, logs: [String: Double], run: TrainingRun) throws {
            try run.model.setWeights([Tensor(shape: [1, 1], repeating: Float(epoch)), Tensor(shape: [1])])
            try inner.onEpochEnd(epoch, logs: [monitor: values[epoch]], run: run)
        }
    }

    /// Fits a one-weight model for as many epochs as `values`, with `callback` scripted;
    /// returns the model, the epochs run and the learning rate after each.
    private func drive(
        _ callback: any Callback, monitor: String, values: [Double], metrics: [Metric] = [], metricNames: [String]? = nil
    ) throws -> (Sequential, Int, [Double]) {
        let model = Sequential(seed: 1) {
            Input(shape: [1])
            Dense(1)
        }
        try model.compile(optimizer: SGD(learningRate: 1), loss: .meanSquaredError, metrics: metrics, metricNames: metricNames)
        let x = try Tensor(shape: [4, 1], scalars: [0, 0, 0, 0]), y = Tensor(shape: [4, 1])
        let history = try model.fit(
            x: x, y: y, epochs: values.count, batchSize: 4, verbose: 0,
            callbacks: [Scripted(callback, monitor: monitor, values: values)])
        // The rate each epoch trained with is logged; the rate after epoch e is the one epoch e + 1 used.
        let used = history["learning_rate"]
        return (model, history.epoch.count, Array(used.dropFirst()) + [Double(model.optimizer!.learningRate)])
    }

    private func fixture() throws -> Fixture {
        let data = try Data(contentsOf: try LoomKerasTests.fixture("callbacks.json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    func testEarlyStoppingStopsAndRestoresAsKeras() throws {
        for test in try fixture().cases where test.callback == "EarlyStopping" {
            let a = test.arguments
            let callback = EarlyStopping(
                monitor: test.monitor, minDelta: a["min_delta"] ?? 0, patience: Int(a["patience"] ?? 0),
                mode: MonitorMode(rawValue: test.mode)!, baseline: a["baseline"],
                restoreBestWeights: a["restore_best_weights"] == 1, startFromEpoch: Int(a["start_from_epoch"] ?? 0))
            let (model, epochs, _) = try drive(callback, monitor: test.monitor, values: test.values)
            let what = "\(test.sequence) \(a)"
            XCTAssertEqual(epochs, (test.stopped ?? test.values.count - 1) + 1, what)
            XCTAssertEqual(Double(try model.weights()[0].scalars[0]), test.marker, what)
        }
    }

    func testReduceLROnPlateauFollowsKerasRates() throws {
        for test in try fixture().cases where test.callback == "ReduceLROnPlateau" {
            let a = test.arguments
            let callback = try ReduceLROnPlateau(
                monitor: test.monitor, factor: a["factor"] ?? 0.1, patience: Int(a["patience"] ?? 10),
                mode: MonitorMode(rawValue: test.mode)!, minDelta: a["min_delta"] ?? 1e-4,
                cooldown: Int(a["cooldown"] ?? 0), minLR: a["min_lr"] ?? 0)
            let (_, _, rates) = try drive(callback, monitor: test.monitor, values: test.values)
            XCTAssertEqual(rates.map { Float($0) }, test.rates!.map { Float($0) }, "\(test.sequence) \(a)")
        }
    }

    func testModelCheckpointSavesTheEpochsKerasSaves() throws {
        for test in try fixture().cases where test.callback == "ModelCheckpoint" {
            let a = test.arguments
            let pattern = folder.path("\(test.sequence)-{epoch:02d}.weights.h5")
            let callback = try ModelCheckpoint(
                filepath: pattern, monitor: test.monitor, saveBestOnly: a["save_best_only"] == 1, saveWeightsOnly: true,
                mode: MonitorMode(rawValue: test.mode)!, initialValueThreshold: a["initial_value_threshold"])
            _ = try drive(callback, monitor: test.monitor, values: test.values)
            let expected = test.saved!.map { folder.path(String(format: "\(test.sequence)-%02d.weights.h5", $0 + 1)) }
            XCTAssertEqual(callback.saved, expected, "\(test.sequence) \(a)")
        }
    }

    /// `auto` asks the compiled metric logged under the monitored name, as Keras does: R²
    /// named "fit" rises, an error named "my_acc" falls; a threshold keeps the direction.
    func testAutoModeFollowsTheMonitoredMetric() throws {
        let model = Sequential {
            Input(shape: [1])
            Dense(1)
        }
        try model.compile(
            optimizer: SGD(), loss: .meanSquaredError, metrics: [.r2Score, .mae, .binaryAccuracy], metricNames: ["fit", "my_acc", "hits"])
        for (monitor, rises) in [("val_fit", true), ("my_acc", false), ("val_hits", true), ("val_loss", false), ("val_auc_2", true)] {
            XCTAssertEqual(MonitorMode.auto.prefersHigher(monitor, in: model), rises, monitor)
        }
        let stopping = EarlyStopping(monitor: "fit", patience: 1)
        let (_, epochs, _) = try drive(
            stopping, monitor: "fit", values: [0.1, 0.2, 0.3, 0.25, 0.2], metrics: [.r2Score], metricNames: ["fit"])
        XCTAssertEqual(epochs, 4, "rising to 0.3, then one epoch without improvement")
        let checkpoint = try ModelCheckpoint(
            filepath: folder.path("threshold-{epoch:02d}.weights.h5"), monitor: "val_accuracy", saveBestOnly: true,
            saveWeightsOnly: true, initialValueThreshold: 0.5)
        _ = try drive(checkpoint, monitor: "val_accuracy", values: [0.4, 0.6, 0.55, 0.7])
        XCTAssertEqual(checkpoint.saved, [2, 4].map { folder.path(String(format: "threshold-%02d.weights.h5", $0)) })
    }

    func testModelCheckpointRefusesAWrongEndingOrAnUnknownKey() throws {
        XCTAssertThrowsError(try ModelCheckpoint(filepath: folder.path("m.h5"))) { error in
            XCTAssertEqual(
                "\(error)", "ModelCheckpoint: with saveWeightsOnly false the file path must end in .keras, got \(folder.path("m.h5"))")
        }
        let callback = try ModelCheckpoint(filepath: folder.path("m-{val_mae:.2f}.keras"))
        XCTAssertThrowsError(try drive(callback, monitor: "val_loss", values: [1])) { error in
            XCTAssertEqual("\(error)", "ModelCheckpoint: the file path names {val_mae:.2f}, but the logs hold val_loss")
        }
    }
}
