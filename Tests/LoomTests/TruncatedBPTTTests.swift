import TestSupport
import XCTest

@testable import Loom

/// `fit(..., truncatedBPTT: k)`: chunks of k steps, the state carried between them, one update
/// a chunk; k at least the timesteps is the ordinary fit, bit for bit; k below them is an
/// explicit loop over the chunks with carried state; masks, workers and stateful models.
final class TruncatedBPTTTests: XCTestCase {
    private func model(steps: Int, stateful: Bool = false, batch: Int? = nil, masking: Bool = false) -> Sequential {
        Sequential(seed: 3) {
            if let batch { Input(shape: [steps, 2], batchSize: batch) } else { Input(shape: [steps, 2]) }
            if masking { Masking() }
            LSTM(4, returnSequences: true, stateful: stateful)
            GRU(3, returnSequences: true, stateful: stateful)
            TimeDistributed(Dense(1))
        }
    }

    private func data(samples: Int, steps: Int) -> (Tensor, Tensor) {
        (randomTensor([samples, steps, 2], seed: 71), randomTensor([samples, steps, 1], seed: 72))
    }

    func testAChunkAsLongAsTheSequencesIsTheOrdinaryFit() throws {
        let (x, y) = data(samples: 12, steps: 6)
        for k in [6, 9] {
            for workers in [1, 2] {
                let plain = model(steps: 6), chunked = model(steps: 6)
                for m in [plain, chunked] { try m.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError) }
                let expected = try plain.fit(x: x, y: y, epochs: 2, batchSize: 4, verbose: 0, workers: workers)
                let history = try chunked.fit(x: x, y: y, epochs: 2, batchSize: 4, verbose: 0, workers: workers, truncatedBPTT: k)
                XCTAssertEqual(try chunked.weights().map(\.scalars), try plain.weights().map(\.scalars), "k \(k), \(workers) workers")
                for (a, b) in zip(history.history["loss"]!, expected.history["loss"]!) { XCTAssertEqual(a, b, accuracy: 1e-12) }
                XCTAssertEqual(chunked.layerOutputShapes.last, [6, 1], "the model ends on its own timesteps")
            }
        }
    }

    /// T = 8 in chunks of 3 (3, 3 and a last chunk of 2) against stateful models of 3 and 2
    /// steps trained chunk by chunk, the state handed on and reset at each batch.
    func testShorterChunksAreAnExplicitLoopWithCarriedState() throws {
        let (x, y) = data(samples: 8, steps: 8)
        let chunked = model(steps: 8)
        try chunked.compile(optimizer: SGD(learningRate: 0.05), loss: .meanSquaredError)
        let three = model(steps: 3, stateful: true, batch: 4), two = model(steps: 2, stateful: true, batch: 4)
        for m in [three, two] {
            try m.compile(optimizer: SGD(learningRate: 0.05), loss: .meanSquaredError)
            try m.setWeights(try chunked.weights())
        }
        try chunked.fit(x: x, y: y, epochs: 1, batchSize: 4, shuffle: false, verbose: 0, truncatedBPTT: 3)
        func slice(_ tensor: Tensor, rows: Range<Int>, steps: Range<Int>) -> Tensor {
            let width = tensor.shape[2]
            var result = Tensor(shape: [rows.count, steps.count, width])
            for (i, row) in rows.enumerated() {
                for (j, t) in steps.enumerated() { for f in 0..<width { result[i, j, f] = tensor[row, t, f] } }
            }
            return result
        }
        for rows in [0..<4, 4..<8] {
            three.resetStates()
            for steps in [0..<3, 3..<6] {
                try three.trainOnBatch(x: slice(x, rows: rows, steps: steps), y: slice(y, rows: rows, steps: steps))
            }
            try two.setWeights(try three.weights())
            for (from, to) in zip(
                three.layers.compactMap { $0 as? any StateCarryingLayer }, two.layers.compactMap { $0 as? any StateCarryingLayer })
            {
                for (source, target) in zip(from.stateStores, to.stateStores) {
                    for entry in source.entries { target.restore(batchSize: entry.batchSize, values: entry.values) }
                }
            }
            try two.trainOnBatch(x: slice(x, rows: rows, steps: 6..<8), y: slice(y, rows: rows, steps: 6..<8))
            try three.setWeights(try two.weights())
        }
        for (mine, expected) in zip(try chunked.weights(), try three.weights()) { assertClose(mine, expected, tolerance: 1e-6) }
    }

    /// Masked chunks, workers and fixed shards, and a stateful model: the same bits for any
    /// split; a chunk the lengths leave empty takes no update.
    func testMasksWorkersAndStatefulModels() throws {
        let (x, y) = data(samples: 12, steps: 6)
        let lengths = try SequenceLengths(lengths: [6, 2, 1, 2, 4, 2, 2, 1, 2, 1, 2, 2], timesteps: 6, padding: .post)
        let dataset = try InMemoryDataset(x: x, y: y, sequenceLengths: lengths)
        func train(workers: Int, stateful: Bool = false) throws -> ([Float], Int) {
            let m = model(steps: 6, stateful: stateful, batch: stateful ? 4 : nil)
            try m.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError)
            try m.fit(
                dataset: dataset, epochs: 1, batchSize: 4, shuffle: false, verbose: 0, workers: workers, fixedShards: 2,
                truncatedBPTT: 2)
            return (try m.weights().flatMap(\.scalars), m.parameterStore.step)
        }
        let (one, steps) = try train(workers: 1)
        XCTAssertEqual(one, try train(workers: 2).0)
        // Batch 1 (rows 0-3) reaches step 5, batch 2 (4-7) step 4, batch 3 (8-11) step 1: 3 + 2 + 1 chunks.
        XCTAssertEqual(steps, 6)
        let (statefulOne, _) = try train(workers: 1, stateful: true)
        XCTAssertEqual(statefulOne, try train(workers: 2, stateful: true).0)
        XCTAssertNotEqual(statefulOne, one)
    }

    /// Masked metrics weigh each batch by its valid steps across the epoch, chunked or not: a
    /// chunk as long as the sequences logs the ordinary fit's metrics, training and validation.
    func testMaskedMetricsAreTheOrdinaryFits() throws {
        let (x, y) = data(samples: 12, steps: 6)
        let lengths = try SequenceLengths(lengths: [6, 2, 1, 2, 4, 2, 2, 1, 2, 1, 2, 2], timesteps: 6, padding: .post)
        let training = try InMemoryDataset(x: x, y: y, sequenceLengths: lengths)
        let validation = try InMemoryDataset(
            x: x, y: y,
            sequenceLengths: try SequenceLengths(
                lengths: [1, 6, 6, 2, 1, 5, 3, 6, 1, 1, 2, 4], timesteps: 6, padding: .pre))
        func history(_ k: Int?) throws -> [String: [Double]] {
            let m = model(steps: 6)
            try m.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
            return try m.fit(
                dataset: training, epochs: 2, batchSize: 4, shuffle: false, validationData: validation, verbose: 0,
                truncatedBPTT: k
            ).history
        }
        let plain = try history(nil)
        for k in [6, 9] {
            let chunked = try history(k)
            for key in ["loss", "mae", "val_loss", "val_mae"] {
                for (a, b) in zip(chunked[key]!, plain[key]!) { XCTAssertEqual(a, b, accuracy: 1e-9 * abs(b), "\(key), k \(k)") }
            }
        }
    }

    /// The batch's loss weighs each chunk by its loss rows: with a rate of 0 (the weights never
    /// move) it is the loss of the whole sequences, a short masked last chunk included; and a
    /// callback may not predict while the layers are built for chunks.
    func testTheBatchLossIsTheSequencesLossAndPredictWaits() throws {
        let (x, y) = data(samples: 8, steps: 10)
        let m = model(steps: 10)
        try m.compile(optimizer: SGD(learningRate: 0), loss: .meanSquaredError)
        let whole = try m.evaluate(x: x, y: y, batchSize: 8)["loss"]!
        final class PredictsAtBatchEnd: Callback {
            var error = ""
            func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
                do { _ = try run.model.predict(Tensor(shape: [1, 10, 2])) } catch { self.error = "\(error)" }
            }
        }
        let callback = PredictsAtBatchEnd()
        let history = try m.fit(
            x: x, y: y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0, callbacks: [callback], truncatedBPTT: 4)
        XCTAssertEqual(history.history["loss"]![0], whole, accuracy: 1e-6)
        XCTAssertTrue(callback.error.contains("truncated-BPTT fit"), callback.error)
        XCTAssertEqual(try m.predict(x).shape, [8, 10, 1], "predict works again after the fit")
    }

    func testModelsItCannotTrainAreRefusedByName() throws {
        let (x, y) = data(samples: 4, steps: 6)
        func refusal(_ model: Sequential, k: Int = 2, accumulate: Int = 1) -> String {
            do {
                try model.compile(optimizer: SGD(), loss: .meanSquaredError)
                try model.fit(
                    x: x, y: model.outputShape?.count == 1 ? Tensor(shape: [4, 1]) : y, verbose: 0, gradientAccumulationSteps: accumulate,
                    truncatedBPTT: k)
                return "no error"
            } catch { return "\(error)" }
        }
        let bidirectional = Sequential {
            Input(shape: [6, 2]); Bidirectional(LSTM(2, returnSequences: true)); Dense(1)
        }
        XCTAssertTrue(refusal(bidirectional).contains("cannot train Bidirectional 'bidirectional'"))
        let manyToOne = Sequential {
            Input(shape: [6, 2]); LSTM(2); Dense(1)
        }
        XCTAssertTrue(refusal(manyToOne).contains("an output a timestep"))
        let backwards = Sequential {
            Input(shape: [6, 2]); LSTM(2, returnSequences: true, goBackwards: true); Dense(1)
        }
        XCTAssertTrue(refusal(backwards).contains("cannot train LSTM 'lstm'"))
        XCTAssertTrue(refusal(model(steps: 6), k: 0).contains("truncatedBPTT must be at least 1"))
        XCTAssertTrue(refusal(model(steps: 6), accumulate: 2).contains("cannot be combined"))
        let embedded = Sequential {
            Input(shape: [6]); Embedding(inputDim: 4, outputDim: 2); LSTM(2, returnSequences: true); Dense(1)
        }
        try embedded.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(
            try embedded.fit(x: Tensor(shape: [4, 6]), y: y, verbose: 0, truncatedBPTT: 4)
        ) { error in
            XCTAssertTrue("\(error)".contains("choose a length that divides 6"), "\(error)")
        }
        let remasked = Sequential {
            Input(shape: [6, 2]); Dense(2); Masking(); LSTM(2, returnSequences: true); Dense(1)
        }
        XCTAssertTrue(refusal(remasked, k: 4).contains("a layer ends or remakes the input's mask"))
    }
}
