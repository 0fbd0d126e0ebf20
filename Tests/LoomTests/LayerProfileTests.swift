import TestSupport
import XCTest

@testable import Loom

/// `Sequential.profileLayers`: one profile a layer, in model order, with each layer's
/// products counted and its passes timed while the model trains.
final class LayerProfileTests: XCTestCase {
    func testEveryLayerIsTimedAndItsProductsCounted() throws {
        let model = Sequential(seed: 3) {
            Input(shape: [5, 3]); LSTM(4, returnSequences: true); Dropout(0.1); GRU(2); Dense(2)
        }
        try model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
        let before = try model.weights()
        let profiles = try model.profileLayers(
            x: randomTensor([12, 5, 3], seed: 1), y: randomTensor([12, 2], seed: 2), batchSize: 8, steps: 3)
        XCTAssertEqual(profiles.map(\.typeName), ["LSTM", "Dropout", "GRU", "Dense"])
        XCTAssertEqual(profiles.map(\.name), model.layers.map(\.name))
        // 8 rows: LSTM 2·5·(4·4)·(3 + 4), GRU 2·5·(3·2)·(4 + 2), Dense 2·2·2; Dropout none.
        let lstm: Double = 8 * 1120, gru: Double = 8 * 360, dense: Double = 8 * 8
        XCTAssertEqual(profiles.map(\.forwardFlops), [lstm, 0, gru, dense])
        for profile in profiles {
            XCTAssertGreaterThan(profile.forwardSeconds, 0, profile.name)
            XCTAssertGreaterThan(profile.backwardSeconds, 0, profile.name)
        }
        XCTAssertEqual(profiles[0].forwardGFLOPs, profiles[0].forwardFlops / profiles[0].forwardSeconds / 1e9)
        XCTAssertEqual(profiles[1].forwardGFLOPs, 0)
        // The first layer's input gradient (2·5·16·3 a sample) is not computed; its state's is.
        XCTAssertEqual(profiles.map(\.backwardFlops), [2 * lstm - 8 * 480, 0, 2 * gru, 2 * dense])
        XCTAssertNotEqual(try model.weights(), before, "the profiled steps train the model")
        XCTAssertEqual(model.layers.count, 4)
    }

    func testConvolutionAndWrappersCountTheirProducts() throws {
        let model = Sequential(seed: 4) {
            Input(shape: [2, 6, 6, 1])
            TimeDistributed(Conv2D(3, kernelSize: (3, 3)))
            TimeDistributed(Flatten())
            Bidirectional(SimpleRNN(2))
            Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let profiles = try model.profileLayers(
            x: randomTensor([4, 2, 6, 6, 1], seed: 5), y: randomTensor([4, 1], seed: 6), batchSize: 4, steps: 1)
        // 4 rows: 2 frames of 4·4 positions · 9 · 3 filters; both directions of 2·2·2·(48 + 2); 2·4·1.
        let convolution: Double = 4 * 2 * 2 * 16 * 9 * 3, recurrent: Double = 4 * 2 * 400, dense: Double = 4 * 2 * 4
        XCTAssertEqual(profiles.map(\.forwardFlops), [convolution, 0, recurrent, dense])
    }

    func testStepsAndCompilationAreChecked() throws {
        let model = Sequential {
            Input(shape: [3]); Dense(1)
        }
        let x = randomTensor([4, 3], seed: 1), y = randomTensor([4, 1], seed: 2)
        XCTAssertThrowsError(try model.profileLayers(x: x, y: y, steps: 1)) { error in
            XCTAssertTrue("\(error)".contains("profileLayers"), "\(error)")
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(try model.profileLayers(x: x, y: y, steps: 0)) { error in
            XCTAssertTrue("\(error)".contains("steps must be at least 1, got 0"), "\(error)")
        }
        XCTAssertEqual(try model.profileLayers(x: x, y: y, batchSize: 4, steps: 1).count, 1)
    }
}
