import XCTest

@testable import Loom

/// Gradient accumulation: n micro-batches of b rows on S shards give bitwise the update of one
/// batch of n·b rows cut into n·S shards, with workers, shuffled, with dropout, and for a last
/// partial batch; refused where no big batch is equivalent.
final class AccumulationTests: XCTestCase {
    private func model(dropout: Bool) throws -> Sequential {
        let model = Sequential(seed: 11) {
            Input(shape: [5, 3])
            LSTM(6, returnSequences: true, dropout: dropout ? 0.2 : 0, recurrentDropout: dropout ? 0.1 : 0)
            LSTM(4)
            Dropout(dropout ? 0.3 : 0)
            Dense(2)
        }
        try model.compile(optimizer: Adam(learningRate: 0.01, clipping: .globalNorm(1)), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    private func data(samples: Int) throws -> (Tensor, Tensor) {
        var generator = SeededGenerator(seed: 23)
        let x = try Tensor(shape: [samples, 5, 3], scalars: (0..<(samples * 15)).map { _ in Float(generator.uniform() * 2 - 1) })
        let y = try Tensor(shape: [samples, 2], scalars: (0..<(samples * 2)).map { _ in Float(generator.uniform()) })
        return (x, y)
    }

    func testMicroBatchesGiveTheBitsOfTheBigBatch() throws {
        // 61 training samples: every n·b leaves a last partial update.
        let (x, y) = try data(samples: 76)
        for n in [2, 3, 4, 5] {
            for shards in [1, 2, 3] {
                for dropout in [false, true] {
                    let b = 2 * shards + 1, workers = min(shards, 2)
                    let big = try model(dropout: dropout)
                    let expected = try big.fit(
                        x: x, y: y, epochs: 2, batchSize: n * b, validationSplit: 0.2, verbose: 0, workers: workers,
                        fixedShards: n * shards)
                    let small = try model(dropout: dropout)
                    let history = try small.fit(
                        x: x, y: y, epochs: 2, batchSize: b, validationSplit: 0.2, verbose: 0, workers: workers,
                        fixedShards: shards, gradientAccumulationSteps: n)
                    let what = "n \(n), S \(shards), b \(b), dropout \(dropout)"
                    XCTAssertEqual(try small.weights(), try big.weights(), what)
                    XCTAssertEqual(small.parameterStore.step, big.parameterStore.step, what)
                    XCTAssertEqual(history.history["loss"], expected.history["loss"], "\(what): the loss over the same leaves")
                    XCTAssertEqual(history.history["mae"], expected.history["mae"], what)
                }
            }
        }
    }

    /// Leaves of more rows than a pass's block (`Replica.blockRows`): each runs in blocks, the
    /// same way in a micro-batch and in the big batch.
    func testMicroBatchesOfSeveralBlocksGiveTheBitsOfTheBigBatch() throws {
        let (x, y) = try data(samples: 1400)
        let b = 2 * Replica.blockRows + 44
        let big = try model(dropout: true)
        let expected = try big.fit(
            x: x, y: y, epochs: 1, batchSize: 2 * b, validationSplit: 0.2, verbose: 0, workers: 2, fixedShards: 2)
        let small = try model(dropout: true)
        let history = try small.fit(
            x: x, y: y, epochs: 1, batchSize: b, validationSplit: 0.2, verbose: 0, fixedShards: 1,
            gradientAccumulationSteps: 2)
        XCTAssertEqual(try small.weights(), try big.weights())
        XCTAssertEqual(history.history["loss"], expected.history["loss"])
    }

    func testWhatHasNoBigBatchIsRefused() throws {
        let (x, y) = try data(samples: 16)
        let stateful = Sequential(seed: 1) {
            Input(shape: [5, 3], batchSize: 4); LSTM(3, stateful: true); Dense(2)
        }
        try stateful.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(
            try stateful.fit(x: x, y: y, batchSize: 4, shuffle: false, verbose: 0, gradientAccumulationSteps: 2)
        ) { error in XCTAssertTrue("\(error)".contains("refused with a stateful model"), "\(error)") }
        let plain = try model(dropout: false)
        XCTAssertThrowsError(
            try plain.fit(x: x, y: y, batchSize: 4, verbose: 0, workers: 2, averaging: .parameters(every: 2), gradientAccumulationSteps: 2)
        ) { error in XCTAssertTrue("\(error)".contains("needs averaging: .gradients"), "\(error)") }
        XCTAssertThrowsError(try plain.fit(x: x, y: y, verbose: 0, gradientAccumulationSteps: 0))
        XCTAssertEqual(plain.parameterStore.step, 0)
    }
}
