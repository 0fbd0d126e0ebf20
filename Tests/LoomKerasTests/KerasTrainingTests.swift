import Foundation
import Loom
import TestSupport
import XCTest

@testable import LoomKeras

/// One epoch of plain SGD in Loom, from a Keras model file's weights, ends at the weights
/// Keras reached after the same epoch (fixtures `train_NAME.*` by `make_keras_models.py`,
/// every model built in one Python session, so its layer names carry counters). Weights
/// loaded into the wrong layers could not end there.
final class KerasTrainingTests: XCTestCase {
    static let architectures = [
        "many_to_one", "one_to_one", "stacked", "many_to_many", "encoder_decoder", "one_to_many", "cnn_lstm",
        "bidirectional_concat", "bidirectional_sum", "bidirectional_mul", "bidirectional_ave", "stateful",
        "gru", "simple_rnn", "embedding", "go_backwards", "custom_names",
    ]

    /// `train_NAME.data.json`: the epoch's samples and settings.
    struct Epoch: Decodable {
        let x: FixtureArray
        let y: FixtureArray
        let batchSize: Int
        let learningRate: Float

        enum CodingKeys: String, CodingKey {
            case x, y
            case batchSize = "batch_size"
            case learningRate = "learning_rate"
        }
    }

    func testOneSGDEpochEndsAtKerassWeights() throws {
        for name in Self.architectures {
            let epoch = try JSONDecoder().decode(Epoch.self, from: Data(contentsOf: fixture("train_\(name).data.json")))
            let model = try Sequential(kerasModel: fixture("train_\(name).keras"))
            try model.compile(optimizer: SGD(learningRate: epoch.learningRate), loss: .meanSquaredError)
            try model.fit(x: epoch.x.tensor, y: epoch.y.tensor, epochs: 1, batchSize: epoch.batchSize, shuffle: false, verbose: 0)

            let expected = try Sequential(
                kerasModel: fixture("train_\(name).keras"),
                weights: fixture("train_\(name).trained.weights.h5"))
            let before = try Sequential(kerasModel: fixture("train_\(name).keras")).weights()
            for (index, (trained, keras)) in zip(try model.weights(), try expected.weights()).enumerated() {
                XCTAssertEqual(trained.shape, keras.shape, "\(name) weight \(index)")
                let worst = zip(trained.scalars, keras.scalars).map { abs($0 - $1) - 1e-5 * max(abs($0), abs($1)) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-7, "\(name): weight \(index) differs from Keras's after one epoch")
            }
            XCTAssertNotEqual(try expected.weights(), before, "\(name): the epoch moved nothing")
        }
    }
}
