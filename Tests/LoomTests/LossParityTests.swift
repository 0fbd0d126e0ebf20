import Foundation
import TestSupport
import XCTest

@testable import Loom

/// Huber and log-cosh against Keras 3 (`Fixtures/Parity/Losses/losses.json`, from
/// `make_loss_fixtures.py`): the value and every gradient to 1e-6, on errors on both sides of
/// Huber's δ and far out for log-cosh; both train a model.
final class LossParityTests: XCTestCase {
    private struct Fixture: Decodable {
        struct Case: Decodable {
            let loss: String
            let value: Double
            let gradient: [Float]
        }
        let shape: [Int]
        let predictions: [Float]
        let targets: [Float]
        let cases: [Case]
    }

    func testHuberAndLogCoshMatchKeras() throws {
        let fixture = try Fixtures.decode(Fixture.self, "Parity/Losses/losses.json")
        XCTAssertEqual(fixture.cases.map(\.loss), ["huber", "log_cosh"])
        for item in fixture.cases {
            let loss = try Loss(kerasName: item.loss)
            var gradient = [Float](repeating: 0, count: fixture.predictions.count)
            let value = loss.compute(
                predictions: fixture.predictions, targets: fixture.targets, logits: nil, count: gradient.count,
                width: fixture.shape[1], gradient: &gradient)
            XCTAssertEqual(value, item.value, accuracy: 1e-6 * max(1, abs(item.value)), item.loss)
            for (k, (mine, keras)) in zip(gradient, item.gradient).enumerated() {
                XCTAssertEqual(mine, keras, accuracy: 1e-6, "\(item.loss) gradient \(k)")
            }
        }
    }

    /// Keras takes a loss by its function's name, a short form or its class's name.
    func testEveryKerasSpellingOfALoss() throws {
        let spellings: [(String, Loss)] = [
            ("MeanSquaredError", .meanSquaredError), ("mean_squared_error", .meanSquaredError), ("mse", .meanSquaredError),
            ("MeanAbsoluteError", .meanAbsoluteError), ("BinaryCrossentropy", .binaryCrossentropy),
            ("CategoricalCrossentropy", .categoricalCrossentropy),
            ("SparseCategoricalCrossentropy", .sparseCategoricalCrossentropy), ("Huber", .huber), ("LogCosh", .logCosh),
        ]
        for (name, loss) in spellings { XCTAssertEqual(try Loss(kerasName: name), loss, name) }
    }

    func testAModelTrainsWithEachLoss() throws {
        let (x, y) = sineData(samples: 16, timesteps: 4, seed: 8)
        for loss in [Loss.huber, .logCosh] {
            let model = Sequential(seed: 3) {
                Input(shape: [4, 1]); LSTM(4); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.02), loss: loss, metrics: [.mae])
            let history = try model.fit(x: x, y: y, epochs: 20, batchSize: 8, verbose: 0)
            XCTAssertLessThan(history["loss"].last!, history["loss"].first!, "\(loss)")
        }
    }
}
