import Loom
import LoomKeras
import TestSupport
import XCTest

@testable import Loom

/// Forward outputs, losses, gradients and optimizer steps against Keras 3 itself, from the
/// same weights (fixtures by `Fixtures/Parity/make_keras_fixtures.py`), to 1e-5 relative.
final class KerasParityTests: XCTestCase {
    /// The Loom model of a fixture, built from the fixture's own Keras config
    /// (`Fixtures/Parity/Configs/NAME.json`, Keras's `model.to_json()`) through LoomKeras's decoder.
    static func model(for name: String) throws -> Sequential { try KerasFixture.model(config: "Configs/\(name).json") }

    /// Every fixture `make_keras_fixtures.py` wrote (each `.json` in Fixtures/Parity, its config in
    /// `Configs`).
    static let names: [String] = {
        let folder = try! Fixtures.url("Parity")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(".json".count)) }.sorted()
    }()

    private func prepared(_ fixture: KerasFixture, optimizer: any Optimizer = SGD()) throws -> Sequential {
        let model = try Self.model(for: fixture.name)
        try model.compile(optimizer: optimizer, loss: Loss(kerasName: fixture.loss))
        try model.setWeights(fixture.weights.map(\.tensor))
        return model
    }

    func testForwardLossAndGradientsMatchKeras() throws {
        XCTAssertTrue(Self.names.contains("vanilla") && Self.names.count > 10, "fixtures found: \(Self.names)")
        for name in Self.names {
            let fixture = try KerasFixture.load(name)
            let model = try prepared(fixture)
            assertClose(
                try model.predict(fixture.x.tensor, batchSize: fixture.x.shape[0]), fixture.output.tensor,
                "\(name) output")
            model.resetStates()
            let (loss, gradients) = try model.lossAndGradients(x: fixture.x.tensor, y: fixture.y.tensor)
            XCTAssertEqual(loss, fixture.loss_value, accuracy: 1e-5 * max(1, abs(fixture.loss_value)), "\(name) loss")
            XCTAssertEqual(gradients.count, fixture.gradients.count, name)
            for (i, (mine, theirs)) in zip(gradients, fixture.gradients).enumerated() {
                assertClose(mine, theirs.tensor, "\(name) gradient \(i)")
            }
        }
    }

    func testOptimizerStepsMatchKeras() throws {
        let optimizers: [(String, () -> any Optimizer, KeyPath<KerasFixture, [[FixtureArray]]>)] = [
            ("adam", { Adam(learningRate: 0.01) }, \.adam),
            ("sgd", { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true) }, \.sgd),
            ("rmsprop", { RMSprop(learningRate: 0.01) }, \.rmsprop),
        ]
        for name in Self.names {
            let fixture = try KerasFixture.load(name)
            for (optimizerName, make, path) in optimizers {
                let model = try prepared(fixture, optimizer: make())
                // Consecutive steps on one batch; a stateful model carries state between them, as in Keras.
                for (step, expected) in fixture[keyPath: path].enumerated() {
                    try model.trainOnBatch(x: fixture.x.tensor, y: fixture.y.tensor)
                    for (i, (mine, theirs)) in zip(try model.weights(), expected).enumerated() {
                        assertClose(mine, theirs.tensor, "\(name) \(optimizerName) step \(step + 1) weight \(i)")
                    }
                }
            }
        }
    }

    func testStatefulPredictionsCarryStateLikeKeras() throws {
        let fixture = try KerasFixture.load("stateful")
        let model = try prepared(fixture)
        let batches = try XCTUnwrap(fixture.batches)
        for (k, (batch, expected)) in zip(batches, try XCTUnwrap(fixture.stateful_predictions)).enumerated() {
            assertClose(try model.predict(batch.tensor, batchSize: 2), expected.tensor, "stateful batch \(k)")
        }
        model.resetStates()
        assertClose(
            try model.predict(batches[0].tensor, batchSize: 2), try XCTUnwrap(fixture.prediction_after_reset).tensor,
            "after resetStates")
    }

    func testStatefulTrainingCarriesStateLikeKeras() throws {
        let fixture = try KerasFixture.load("stateful")
        let model = try prepared(fixture, optimizer: SGD(learningRate: 0.1))
        let batches = try XCTUnwrap(fixture.batches), targets = try XCTUnwrap(fixture.batch_targets)
        for (k, (batch, target)) in zip(batches, targets).enumerated() {
            let loss = try model.trainOnBatch(x: batch.tensor, y: target.tensor)
            XCTAssertEqual(loss, fixture.stateful_sgd_losses![k], accuracy: 1e-5, "stateful loss of batch \(k)")
        }
        for (i, (mine, theirs)) in zip(try model.weights(), try XCTUnwrap(fixture.stateful_sgd_weights)).enumerated() {
            assertClose(mine, theirs.tensor, "stateful SGD weight \(i)")
        }
    }

    func testSummaryShapesAndParameterCountsMatchKeras() throws {
        for name in Self.names {
            let fixture = try KerasFixture.load(name)
            let model = try Self.model(for: name)
            try model.build()
            if name == "vanilla" {
                // Keras numbers layers per Python session, so only the first model's names are plain.
                XCTAssertEqual(model.layers.map(\.name), fixture.layers.map(\.name), name)
            }
            XCTAssertEqual(model.layers.map(\.typeName), fixture.layers.map(\.class), name)
            XCTAssertEqual(model.layers.map(\.parameterCount), fixture.layers.map(\.params), name)
            let batch = model.batchSize ?? -1
            XCTAssertEqual(model.layerOutputShapes.map { [batch] + $0 }, fixture.layers.map(\.output_shape), name)
        }
    }
}
