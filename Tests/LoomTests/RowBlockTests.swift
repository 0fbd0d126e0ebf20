import Foundation
import TestSupport
import XCTest

@testable import Loom

/// Passes in row blocks of `Replica.blockRows`. Inference (`predict`, `evaluate`), with the
/// forward-only LSTM cell, against the training pass's forward outputs for every kind of
/// layer, masks, logits and carried state; training, a shard of several blocks against the
/// same rows cut into fixed shards of one block each (the same mean, summed in another order).
final class RowBlockTests: XCTestCase {
    /// More rows than two inference blocks, with a partial third.
    private let rows = 2 * Replica.blockRows + 44

    /// The training pass's forward outputs of `x` on the model's own layers, in one batch.
    private func trainingForward(_ model: Sequential, _ x: Tensor) throws -> Tensor {
        try model.build()
        let replica = model.primaryReplica
        replica.assign(rows: ShardRows(offset: 0, batchSize: x.sampleCount))
        let outputs = replica.forward(x.scalars, inputMask: nil, batch: x.sampleCount, training: true)
        return Tensor(shape: [x.sampleCount] + model.outputShape!, copying: outputs)
    }

    /// x `(rows, timesteps, features)` with each row zero after a length of its own (1 or more,
    /// longer on average in later blocks).
    private func paddedSequences(timesteps: Int, features: Int, seed: UInt64) -> Tensor {
        var x = randomTensor([rows, timesteps, features], seed: seed)
        for row in 0..<rows {
            let length = 1 + (row / 40 + row % 3) % timesteps
            for step in length..<timesteps {
                for feature in 0..<features { x.scalars[(row * timesteps + step) * features + feature] = 0 }
            }
        }
        return x
    }

    func testPredictEqualsTheTrainingForwardPassForEveryKindOfLayer() throws {
        let sequences = paddedSequences(timesteps: 7, features: 5, seed: 1)
        let cases: [(String, Sequential, Tensor)] = [
            (
                "masked LSTM sequences, softmax head",
                Sequential(seed: 1) {
                    Input(shape: [7, 5]); Masking(); LSTM(32, returnSequences: true)
                    TimeDistributed(Dense(3, activation: .softmax))
                }, sequences
            ),
            (
                "stacked LSTMs of 20 and 48 units",
                Sequential(seed: 2) {
                    Input(shape: [7, 5]); LSTM(20, returnSequences: true); LSTM(48); Dense(2)
                },
                sequences
            ),
            (
                "bidirectional GRU and SimpleRNN",
                Sequential(seed: 3) {
                    Input(shape: [7, 5]); Masking(); Bidirectional(GRU(12, returnSequences: true)); SimpleRNN(9); Dense(1)
                }, sequences
            ),
            (
                "stacked GRUs, unmasked",
                Sequential(seed: 7) {
                    Input(shape: [7, 5]); GRU(10, returnSequences: true); GRU(6); Dense(2)
                }, randomTensor([rows, 7, 5], seed: 8)
            ),
            (
                "CNN-LSTM",
                Sequential(seed: 4) {
                    Input(shape: [3, 8, 8, 1])
                    TimeDistributed(Conv2D(8, kernelSize: (3, 3), activation: .relu))
                    TimeDistributed(MaxPooling2D(poolSize: (2, 2)))
                    TimeDistributed(Flatten())
                    LSTM(16)
                    Dense(1)
                }, randomTensor([rows, 3, 8, 8, 1], seed: 5)
            ),
            (
                "encoder-decoder",
                Sequential(seed: 6) {
                    Input(shape: [7, 5]); LSTM(16); RepeatVector(4); LSTM(16, returnSequences: true)
                    TimeDistributed(Dense(1, activation: .sigmoid))
                }, sequences
            ),
        ]
        for (what, model, x) in cases {
            let expected = try trainingForward(model, x)
            for batchSize in [rows, Replica.blockRows + 1, 50] {
                assertClose(try model.predict(x, batchSize: batchSize), expected, tolerance: 1e-6, "\(what), batch \(batchSize)")
            }
            assertClose(
                try model.predict(x, batchSize: rows, parallelism: Parallelism(workers: 2)), expected, tolerance: 1e-6,
                "\(what), 2 workers")
        }
    }

    /// Dropout drawn block after block from each shard's stream: any worker count gives the
    /// same bits for the same fixed shards of several blocks.
    func testDropoutInBlocksDoesNotDependOnTheWorkers() throws {
        let x = randomTensor([4 * rows, 7, 5], seed: 18), y = randomTensor([4 * rows, 1], seed: 19)
        var weights: [[Tensor]] = []
        for workers in [1, 2] {
            let model = Sequential(seed: 20) {
                Input(shape: [7, 5]); LSTM(16, dropout: 0.2, recurrentDropout: 0.2); Dropout(0.3); Dense(1)
            }
            try model.compile(optimizer: Adam(), loss: .meanSquaredError)
            try model.fit(
                x: x, y: y, epochs: 1, batchSize: 2 * rows, verbose: 0,
                parallelism: Parallelism(workers: workers, fixedShards: 2))
            weights.append(try model.weights())
        }
        XCTAssertEqual(weights[0], weights[1])
    }

    /// A block whose rows are all masked out weighs nothing: its rows' loss and gradient are
    /// not there, as in a fixed shard of such rows.
    func testABlockOfMaskedOutRowsWeighsNothing() throws {
        var x = paddedSequences(timesteps: 7, features: 5, seed: 21)
        for index in (Replica.blockRows * 35)..<(2 * Replica.blockRows * 35) { x.scalars[index] = 0 }
        let doubled = try Tensor(shape: [2 * rows, 7, 5], scalars: x.scalars + x.scalars)
        try assertBlocksTrainLikeShards(
            "a masked-out block",
            model: {
                Sequential(seed: 22) {
                    Input(shape: [7, 5]); Masking(); LSTM(8, returnSequences: true); TimeDistributed(Dense(1))
                }
            }, loss: .meanSquaredError, metrics: [.mae], x: doubled, y: randomTensor([2 * rows, 7, 1], seed: 23))
    }

    func testAKeptLastStateCoversTheWholeBatch() throws {
        let lstm = LSTM(12, returnState: true)
        let model = Sequential(seed: 16) {
            Input(shape: [6, 3]); lstm; Dense(2)
        }
        let x = randomTensor([rows, 6, 3], seed: 17)
        let expected = try trainingForward(model, x)
        let (h, c) = try XCTUnwrap(lstm.lastState)
        assertClose(try model.predict(x, batchSize: rows), expected, tolerance: 1e-6, "predictions")
        let state = try XCTUnwrap(lstm.lastState)
        XCTAssertEqual(state.h.shape, [rows, 12])
        assertClose(state.h, h, tolerance: 1e-6, "h")
        assertClose(state.c, c, tolerance: 1e-6, "c")
    }

    func testAStatefulModelCarriesEachRowsStateAcrossBlocks() throws {
        let model = Sequential(seed: 7) {
            Input(shape: [6, 3], batchSize: rows); LSTM(20, stateful: true); Dense(2)
        }
        let x = randomTensor([2 * rows, 6, 3], seed: 8)
        let batches = [x.samples(0..<rows), x.samples(rows..<(2 * rows))]
        model.resetStates()
        let expected = try batches.map { try trainingForward(model, $0) }
        model.resetStates()
        let predicted = try model.predict(x, batchSize: rows)
        for (index, batch) in expected.enumerated() {
            assertClose(predicted.samples((index * rows)..<((index + 1) * rows)), batch, tolerance: 1e-6, "batch \(index)")
        }
    }

    func testEvaluateScoresEveryBlockWithItsMaskAndLogits() throws {
        let x = paddedSequences(timesteps: 7, features: 5, seed: 9)
        var y = Tensor(shape: [rows, 7, 3])
        for row in 0..<rows {
            for step in 0..<7 { y.scalars[(row * 7 + step) * 3 + (row + step) % 3] = 1 }
        }
        let model = Sequential(seed: 10) {
            Input(shape: [7, 5]); Masking(); LSTM(16, returnSequences: true); TimeDistributed(Dense(3, activation: .softmax))
        }
        try model.compile(optimizer: SGD(), loss: .categoricalCrossentropy, metrics: [.categoricalAccuracy])
        // Three fixed shards of 100 rows run as one block each: the reference for one shard
        // run in three blocks (both weigh their parts by their valid rows).
        let blocks = try model.evaluate(x: x, y: y, batchSize: rows)
        let single = try model.evaluate(x: x, y: y, batchSize: rows, parallelism: Parallelism(fixedShards: 3))
        XCTAssertEqual(blocks["loss"]!, single["loss"]!, accuracy: 1e-6 * single["loss"]!)
        XCTAssertEqual(blocks["categorical_accuracy"]!, single["categorical_accuracy"]!, accuracy: 1e-6)
    }

    /// One shard of `rows` rows (three blocks) against three fixed shards of 100 rows (one block
    /// each): the same weights after two updates and the same losses and metrics, to rounding.
    private func assertBlocksTrainLikeShards(
        _ what: String, model: () -> Sequential, loss: Loss, metrics: [Metric], x: Tensor, y: Tensor,
        sampleWeight: Tensor? = nil, stateful: Bool = false
    ) throws {
        var runs: [(weights: [Tensor], history: History)] = []
        for shards in [nil, 3] {
            let m = model()
            try m.compile(optimizer: SGD(learningRate: 0.1), loss: loss, metrics: metrics)
            let history = try m.fit(
                x: x, y: y, epochs: 1, batchSize: rows, shuffle: false, verbose: 0, allowStatefulShuffle: stateful,
                parallelism: Parallelism(fixedShards: shards), sampleWeight: sampleWeight)
            runs.append((try m.weights(), history))
        }
        for (blocks, shards) in zip(runs[0].weights, runs[1].weights) {
            assertClose(blocks, shards, tolerance: 1e-5, "\(what): weights")
        }
        for name in ["loss"] + metrics.map(\.rawValue) {
            let (blocks, shards) = (runs[0].history[name], runs[1].history[name])
            XCTAssertEqual(blocks.count, 1, "\(what): \(name)")
            XCTAssertEqual(blocks[0], shards[0], accuracy: 1e-5 * max(1, abs(shards[0])), "\(what): \(name)")
        }
    }

    func testAShardOfSeveralBlocksTrainsLikeShardsOfOneBlock() throws {
        let x = paddedSequences(timesteps: 7, features: 5, seed: 11)
        var classes = Tensor(shape: [2 * rows, 7, 3])
        for row in 0..<(2 * rows) {
            for step in 0..<7 { classes.scalars[(row * 7 + step) * 3 + (row + 2 * step) % 3] = 1 }
        }
        let doubled = try Tensor(shape: [2 * rows, 7, 5], scalars: x.scalars + x.scalars.reversed())
        let weights = try Tensor(shape: [2 * rows], scalars: (0..<(2 * rows)).map { Float(1 + $0 % 4) / 2 })
        try assertBlocksTrainLikeShards(
            "masked sequences, softmax, sample weights",
            model: {
                Sequential(seed: 12) {
                    Input(shape: [7, 5]); Masking(); LSTM(16, returnSequences: true)
                    TimeDistributed(Dense(3, activation: .softmax))
                }
            }, loss: .categoricalCrossentropy, metrics: [.categoricalAccuracy], x: doubled, y: classes,
            sampleWeight: weights)
        let targets = randomTensor([2 * rows, 2], seed: 13)
        try assertBlocksTrainLikeShards(
            "stacked LSTM and GRU, R²",
            model: {
                Sequential(seed: 14) {
                    Input(shape: [7, 5]); LSTM(20, returnSequences: true); GRU(8); Dense(2)
                }
            },
            loss: .meanSquaredError, metrics: [.mae, .r2Score], x: doubled, y: targets)
        try assertBlocksTrainLikeShards(
            "stateful LSTM",
            model: {
                Sequential(seed: 15) {
                    Input(shape: [7, 5], batchSize: rows); LSTM(12, stateful: true); Dense(2)
                }
            },
            loss: .meanSquaredError, metrics: [], x: doubled, y: targets, stateful: true)
    }
}
