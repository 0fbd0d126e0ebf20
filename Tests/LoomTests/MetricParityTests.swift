import Foundation
import TestSupport
import XCTest

@testable import Loom

/// RMSE, MAPE and R² against Keras 3's `evaluate` (`Fixtures/Parity/Metrics/metrics.json`, from
/// `make_metric_fixtures.py`): whole-epoch statistics over batches of unequal size, the same
/// for any worker count; fit logs them; R² is refused where Keras refuses it.
final class MetricParityTests: XCTestCase {
    private struct Fixture: Decodable {
        let x: [Float]
        let y: [Float]
        let kernel: [Float]
        let bias: [Float]
        let twoOutputs: [String: Double]
        let oneOutput: [String: Double]

        enum CodingKeys: String, CodingKey {
            case x, y, kernel, bias
            case twoOutputs = "two_outputs"
            case oneOutput = "one_output"
        }
    }

    private let metrics: [Metric] = [.rootMeanSquaredError, .meanAbsolutePercentageError, .r2Score]

    private func fixture() throws -> Fixture {
        try Fixtures.decode(Fixture.self, "Parity/Metrics/metrics.json")
    }

    /// The fixture's Dense model with `outputs` of its two columns.
    private func model(_ fixture: Fixture, outputs: Int) throws -> Sequential {
        let model = Sequential {
            Input(shape: [3]); Dense(outputs)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: metrics)
        let kernel = (0..<3).flatMap { row in (0..<outputs).map { fixture.kernel[row * 2 + $0] } }
        try model.setWeights([
            try Tensor(shape: [3, outputs], scalars: kernel), try Tensor(shape: [outputs], scalars: Array(fixture.bias.prefix(outputs))),
        ])
        return model
    }

    func testRMSEMAPEAndR2MatchKerasOverBatches() throws {
        let fixture = try fixture()
        let x = try Tensor(shape: [10, 3], scalars: fixture.x)
        for (outputs, batch, expected) in [(2, 4, fixture.twoOutputs), (1, 3, fixture.oneOutput)] {
            let y = try Tensor(shape: [10, outputs], scalars: (0..<10).flatMap { row in (0..<outputs).map { fixture.y[row * 2 + $0] } })
            let model = try model(fixture, outputs: outputs)
            let one = try model.evaluate(x: x, y: y, batchSize: batch)
            XCTAssertEqual(Set(one.keys), Set(expected.keys))
            for (key, keras) in expected {
                XCTAssertEqual(one[key]!, keras, accuracy: 2e-6 * max(1, abs(keras)), "\(outputs) outputs: \(key)")
            }
            XCTAssertEqual(try model.evaluate(x: x, y: y, batchSize: batch, workers: 2), one, "the same for 2 workers")
        }
    }

    /// An epoch's RMSE is the root of its MSE, not a mean of batch roots; fit logs the
    /// metrics for training and validation.
    func testFitLogsTheEpochsStatistics() throws {
        let fixture = try fixture()
        let x = try Tensor(shape: [10, 3], scalars: fixture.x)
        let y = try Tensor(shape: [10, 2], scalars: fixture.y)
        let model = try model(fixture, outputs: 2)
        try model.compile(optimizer: SGD(learningRate: 0), loss: .meanSquaredError, metrics: metrics + [.mse])
        let history = try model.fit(x: x, y: y, epochs: 1, batchSize: 3, shuffle: false, validationSplit: 0.2, verbose: 0)
        XCTAssertEqual(history["root_mean_squared_error"][0], history["mse"][0].squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(history["val_root_mean_squared_error"][0], history["val_mse"][0].squareRoot(), accuracy: 1e-12)
        let training = try model.evaluate(x: x.samples(0..<8), y: y.samples(0..<8), batchSize: 8)
        XCTAssertEqual(history["r2_score"][0], training["r2_score"]!, accuracy: 1e-9)
        XCTAssertEqual(history["mape"][0], training["mape"]!, accuracy: 1e-6 * training["mape"]!)
        XCTAssertEqual(try Metric(kerasName: "RMSE"), .rootMeanSquaredError)
        XCTAssertEqual(try Metric(kerasName: "mean_absolute_percentage_error"), .meanAbsolutePercentageError)
    }

    func testR2IsRefusedForOutputsWithATimeAxis() throws {
        let (x, y) = sineData(samples: 8, timesteps: 4, seed: 2)
        let model = Sequential {
            Input(shape: [4, 1]); LSTM(3, returnSequences: true); TimeDistributed(Dense(1))
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError, metrics: [.r2Score])
        let steps = try Tensor(shape: [8, 4, 1], scalars: (0..<32).map { Float($0 % 5) })
        XCTAssertThrowsError(try model.fit(x: x, y: steps, verbose: 0)) {
            XCTAssertTrue("\($0)".contains("r2_score scores outputs (batch, outputs), as Keras's R2Score"), "\($0)")
        }
        _ = y
    }
}
