import TestSupport
import XCTest

@testable import Loom

/// Keras's stateful contract: row i of batch k+1 starts from the state row i of batch k ended
/// with, and `resetStates()` cuts it.
final class StatefulTests: XCTestCase {
    /// (batch, T, F) chunks of one long sequence (batch, 2T, F): the second half of each row.
    private func halves(_ whole: Tensor) -> (Tensor, Tensor) {
        let (b, t2, f) = (whole.shape[0], whole.shape[1], whole.shape[2])
        var first = Tensor(shape: [b, t2 / 2, f]), second = first
        for i in 0..<b {
            for t in 0..<(t2 / 2) {
                for k in 0..<f {
                    first[i, t, k] = whole[i, t, k]
                    second[i, t, k] = whole[i, t + t2 / 2, k]
                }
            }
        }
        return (first, second)
    }

    func testStateFlowsRowToRowAcrossBatchesAndResetCutsIt() throws {
        let stateful = Sequential(seed: 3) {
            Input(shape: [5, 2], batchSize: 3); LSTM(4, stateful: true); Dense(1)
        }
        let whole = Sequential(seed: 3) {
            Input(shape: [10, 2]); LSTM(4); Dense(1)
        }
        try stateful.build()
        try whole.setWeights(try stateful.weights())
        let sequence = randomTensor([3, 10, 2], seed: 1)
        let (first, second) = halves(sequence)

        _ = try stateful.predict(first, batchSize: 3)
        let continued = try stateful.predict(second, batchSize: 3)
        // Batch 2 continuing batch 1's state is the whole 10-step sequence read at once.
        assertClose(continued, try whole.predict(sequence), tolerance: 1e-5, "continued state")

        stateful.resetStates()
        let fresh = Sequential(seed: 3) {
            Input(shape: [5, 2]); LSTM(4); Dense(1)
        }
        try fresh.setWeights(try stateful.weights())
        let afterReset = try stateful.predict(second, batchSize: 3)
        assertClose(afterReset, try fresh.predict(second), tolerance: 1e-6, "after reset")
        XCTAssertGreaterThan(zip(afterReset.scalars, continued.scalars).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testStatelessLayersStartEveryBatchFromZero() throws {
        // The second call reuses the first's buffers; nothing of it may leak into the second.
        let model = Sequential(seed: 6) {
            Input(shape: [4, 2]); LSTM(3, returnSequences: true); LSTM(3); Dense(1)
        }
        let fresh = Sequential(seed: 6) {
            Input(shape: [4, 2]); LSTM(3, returnSequences: true); LSTM(3); Dense(1)
        }
        _ = try model.predict(randomTensor([5, 4, 2], seed: 1, scale: 3), batchSize: 5)
        let second = randomTensor([5, 4, 2], seed: 2)
        XCTAssertEqual(try model.predict(second, batchSize: 5), try fresh.predict(second, batchSize: 5))
    }

    func testRowIContinuesRowINotAnotherRow() throws {
        let model = Sequential(seed: 4) {
            Input(shape: [3, 1], batchSize: 2); LSTM(3, stateful: true); Dense(1)
        }
        var first = Tensor(shape: [2, 3, 1])
        for t in 0..<3 { first[0, t, 0] = 2; first[1, t, 0] = -2 }
        let same = Tensor(shape: [2, 3, 1], repeating: 0.5)
        _ = try model.predict(first, batchSize: 2)
        let output = try model.predict(same, batchSize: 2)
        // Identical inputs in both rows give different outputs only through each row's own state.
        XCTAssertGreaterThan(abs(output[0, 0] - output[1, 0]), 1e-3)
    }

    func testAnotherBatchSizeKeepsItsOwnState() throws {
        let model = Sequential(seed: 5) {
            Input(shape: [5, 2], batchSize: 3); LSTM(4, stateful: true); Dense(1)
        }
        let sequence = randomTensor([3, 10, 2], seed: 2)
        let (first, second) = halves(sequence)
        _ = try model.predict(first, batchSize: 3)
        let lstm = try XCTUnwrap(model.layers[0] as? LSTM)
        let trainingState = try XCTUnwrap(lstm.state(forBatchSize: 3))
        // Predicting one row at a time: its own state, carried across batch-1 calls.
        let oneRow = first.samples(0..<1)
        _ = try model.predict(oneRow, batchSize: 1)
        XCTAssertNotNil(lstm.state(forBatchSize: 1))
        XCTAssertEqual(lstm.state(forBatchSize: 3)!.h, trainingState.h)
        let continued = try model.predict(second, batchSize: 3)
        let whole = Sequential(seed: 5) {
            Input(shape: [10, 2]); LSTM(4); Dense(1)
        }
        try whole.setWeights(try model.weights())
        assertClose(continued, try whole.predict(sequence), tolerance: 1e-5, "training state untouched")
    }

    /// The target of each one-step chunk is the value seen in the previous chunk of the same
    /// row, so only state carried across batches can predict it. With state the loss falls
    /// far below the targets' variance (1/12 for uniform values: the best any stateless model
    /// can do is predict the mean); resetting every batch leaves it near that variance.
    func testEchoOneBatchBackIsLearnedOnlyWithState() throws {
        let rows = 8, steps = 48
        var generator = SeededGenerator(seed: 11)
        let series = (0..<(rows * steps)).map { _ in Float(generator.uniform()) }
        func batch(_ k: Int) -> (Tensor, Tensor) {
            var x = Tensor(shape: [rows, 1, 1]), y = Tensor(shape: [rows, 1])
            for r in 0..<rows {
                x[r, 0, 0] = series[r * steps + k]
                y[r, 0] = k > 0 ? series[r * steps + k - 1] : 0.5
            }
            return (x, y)
        }
        func train(resetEveryBatch: Bool) throws -> Double {
            let model = Sequential(seed: 1) {
                Input(shape: [1, 1], batchSize: rows); LSTM(16, stateful: true); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError)
            var lastEpoch = 0.0
            for _ in 0..<30 {
                model.resetStates()
                lastEpoch = 0
                for k in 0..<steps {
                    if resetEveryBatch { model.resetStates() }
                    let (x, y) = batch(k)
                    lastEpoch += try model.trainOnBatch(x: x, y: y) / Double(steps)
                }
            }
            return lastEpoch
        }
        let withState = try train(resetEveryBatch: false)
        let withoutState = try train(resetEveryBatch: true)
        XCTAssertLessThan(withState, 0.02, "stateful loss")
        XCTAssertGreaterThan(withoutState, 0.06, "loss without state")
    }
}
