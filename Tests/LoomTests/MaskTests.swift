import Foundation
import LoomKeras
import TestSupport
import XCTest

@testable import Loom

/// Masks (`Masking`, `Embedding(maskZero:)`) through the recurrent layers and wrappers, and
/// sample, timestep and class weights: Keras's numbers (`Fixtures/Parity/Masks`, written by
/// `make_mask_fixtures.py`), finite differences, padding against rows at their own length,
/// and the same bits for any split.
final class MaskTests: XCTestCase {
    /// One case's Keras numbers.
    struct Fixture: Decodable {
        let name: String
        let loss: String
        let x: FixtureArray
        let y: FixtureArray
        let weights: [FixtureArray]
        let output: FixtureArray
        let loss_value: Double
        let gradients: [FixtureArray]
        let metric: String
        let evaluate_loss: Double
        let evaluate_metric: Double
        let fit_loss: Double
        let fit_metric: Double
        let fit_weights: [FixtureArray]
        let sample_weight: FixtureArray?
        let class_weight: [String: Float]?

        static let names = [
            "masking_lstm_sequences", "masking_lstm_last", "masking_gru_stacked", "embedding_bidirectional_sequences",
            "embedding_bidirectional_last", "sample_weights", "timestep_weights", "class_weights", "sparse_labels",
            "embedding_sparse_sequences",
        ]

        static func load(_ name: String) throws -> Fixture {
            try Fixtures.decode(Fixture.self, "Parity/Masks/\(name).json")
        }

        var classWeights: [Int: Float]? {
            class_weight.map { Dictionary(uniqueKeysWithValues: $0.map { (Int($0.key)!, $0.value) }) }
        }
    }

    /// The Loom model of a case of `make_mask_fixtures.py`, built from the case's own Keras
    /// config (`Fixtures/Parity/Masks/Configs/NAME.json`) through LoomKeras's decoder.
    static func model(for name: String) throws -> Sequential { try KerasFixture.model(config: "Masks/Configs/\(name).json") }

    private func prepared(_ fixture: Fixture) throws -> Sequential {
        let model = try Self.model(for: fixture.name)
        try model.compile(
            optimizer: SGD(learningRate: 0.1), loss: Loss(kerasName: fixture.loss), metrics: [Metric(kerasName: fixture.metric)])
        try model.setWeights(fixture.weights.map(\.tensor))
        return model
    }

    /// Sample weights as Keras derives them from class weights (for the gradient's loss).
    private func weights(of fixture: Fixture) -> Tensor? {
        if let sample = fixture.sample_weight { return sample.tensor }
        guard let classes = fixture.classWeights else { return nil }
        let y = fixture.y.tensor, width = y.shape[1]
        return try! Tensor(
            shape: [y.shape[0]],
            scalars: (0..<y.shape[0]).map { row in
                let values = Array(y.scalars[(row * width)..<((row + 1) * width)])
                return classes[values.firstIndex(of: values.max()!)!] ?? 1
            })
    }

    func testOutputsLossGradientsMetricsAndAnEpochMatchKeras() throws {
        for name in Fixture.names {
            let fixture = try Fixture.load(name)
            let model = try prepared(fixture)
            let (x, y) = (fixture.x.tensor, fixture.y.tensor)
            XCTAssertEqual(
                model.masksOutput, name.contains("sequences") || name == "masking_gru_stacked" || name == "timestep_weights", name)
            assertClose(try model.predict(x, batchSize: x.sampleCount), fixture.output.tensor, "\(name) output")
            let (loss, gradients) = try model.lossAndGradients(x: x, y: y, sampleWeight: weights(of: fixture))
            XCTAssertEqual(loss, fixture.loss_value, accuracy: 1e-5 * max(1, abs(fixture.loss_value)), "\(name) loss")
            for (i, (mine, theirs)) in zip(gradients, fixture.gradients).enumerated() {
                assertClose(mine, theirs.tensor, "\(name) gradient \(i)")
            }
            let evaluation = try model.evaluate(x: x, y: y, batchSize: x.sampleCount, sampleWeight: weights(of: fixture))
            XCTAssertEqual(evaluation["loss"]!, fixture.evaluate_loss, accuracy: 1e-5, "\(name) evaluate loss")
            XCTAssertEqual(evaluation[fixture.metric]!, fixture.evaluate_metric, accuracy: 1e-5, "\(name) evaluate \(fixture.metric)")

            let trained = try prepared(fixture)
            let history = try trained.fit(
                x: x, y: y, epochs: 1, batchSize: 2, shuffle: false, verbose: 0, sampleWeight: fixture.sample_weight?.tensor,
                classWeight: fixture.classWeights)
            XCTAssertEqual(history.history["loss"]![0], fixture.fit_loss, accuracy: 1e-5, "\(name) fit loss")
            XCTAssertEqual(history.history[fixture.metric]![0], fixture.fit_metric, accuracy: 1e-5, "\(name) fit \(fixture.metric)")
            for (i, (mine, theirs)) in zip(try trained.weights(), fixture.fit_weights).enumerated() {
                assertClose(mine, theirs.tensor, "\(name) weight \(i) after an epoch")
            }
        }
    }

    private func magnitudes(_ tensor: Tensor) -> Tensor {
        try! Tensor(shape: tensor.shape, scalars: tensor.scalars.map(abs))
    }

    /// A batch of rows padded on the right, on the left, with a gap and all padding.
    private func paddedBatch(features: Int, seed: UInt64) -> (x: Tensor, valid: [[Bool]]) {
        let valid: [[Bool]] = [
            [true, true, true, true, true], [true, true, true, false, false], [false, false, true, true, true],
            [false, false, false, false, false], [true, false, true, true, false],
        ]
        var x = randomTensor([valid.count, 5, features], seed: seed)
        for (row, steps) in valid.enumerated() {
            for (t, isValid) in steps.enumerated() where !isValid { for f in 0..<features { x[row, t, f] = 0 } }
        }
        return (x, valid)
    }

    func testFiniteDifferenceGradientsWithMasks() throws {
        // Mixed padding with a gap (every row computed, masked rows carried), and right padding
        // alone (rows sorted, the padding skipped).
        let (mixed, _) = paddedBatch(features: 2, seed: 11)
        var right = randomTensor([5, 5, 2], seed: 15)
        for (row, length) in [5, 3, 1, 0, 4].enumerated() { for t in length..<5 { for f in 0..<2 { right[row, t, f] = 0 } } }
        for x in [mixed, right] { try checkMaskedGradients(x) }
    }

    private func checkMaskedGradients(_ x: Tensor) throws {
        let recurrent: [(String, (Bool) -> any RecurrentLayer)] = [
            ("LSTM", { LSTM(3, returnSequences: $0) }), ("GRU", { GRU(3, returnSequences: $0) }),
            ("SimpleRNN", { SimpleRNN(3, returnSequences: $0, goBackwards: true) }),
        ]
        for (name, make) in recurrent {
            for sequences in [true, false] {
                for bidirectional in [false, true] {
                    let model = Sequential(seed: 3) {
                        Input(shape: [5, 2]); Masking()
                        if bidirectional { Bidirectional(make(sequences)) } else { make(sequences) }
                        Dense(2)
                    }
                    try model.compile(optimizer: SGD(), loss: .meanSquaredError)
                    let y = randomTensor(sequences ? [5, 5, 2] : [5, 2], seed: 12)
                    print("gradient check: \(name), returnSequences \(sequences), bidirectional \(bidirectional)")
                    try checkGradients(model, x: x, y: y)
                }
            }
        }
        let weighted = Sequential(seed: 4) {
            Input(shape: [5, 2]); Masking(); LSTM(3, returnSequences: true); Dense(1)
        }
        try weighted.compile(optimizer: SGD(), loss: .huber)
        try checkGradients(
            weighted, x: x, y: randomTensor([5, 5, 1], seed: 13),
            sampleWeight: magnitudes(randomTensor([5, 5], seed: 14)))
    }

    /// A padded batch gives, at the valid steps, the outputs of each row run alone at its own
    /// length, and the loss and gradients of those rows' runs weighted by their valid steps.
    func testAPaddedBatchIsTheRowsRunAtTheirOwnLengths() throws {
        for left in [false, true] {
            let lengths = [5, 3, 1, 4]
            var x = Tensor(shape: [4, 5, 2]), y = randomTensor([4, 5, 1], seed: 21)
            let values = randomTensor([4, 5, 2], seed: 22)
            func step(_ row: Int, _ t: Int) -> Int { left ? 5 - lengths[row] + t : t }
            for (row, length) in lengths.enumerated() {
                for t in 0..<length { for f in 0..<2 { x[row, step(row, t), f] = values[row, t, f] } }
            }
            func model(_ steps: Int) throws -> Sequential {
                let model = Sequential(seed: 5) {
                    Input(shape: [steps, 2]); Masking(); GRU(3, returnSequences: true); LSTM(2, returnSequences: true); Dense(1)
                }
                try model.compile(optimizer: SGD(), loss: .meanSquaredError)
                return model
            }
            let padded = try model(5)
            let weights = try padded.weights()
            let output = try padded.predict(x)
            let (loss, gradients) = try padded.lossAndGradients(x: x, y: y)
            var expectedLoss = 0.0
            var expectedGradients = weights.map { Tensor(shape: $0.shape) }
            let valid = Double(lengths.reduce(0, +))
            for (row, length) in lengths.enumerated() {
                let alone = try model(length)
                try alone.setWeights(weights)
                var rowX = Tensor(shape: [1, length, 2]), rowY = Tensor(shape: [1, length, 1])
                for t in 0..<length {
                    for f in 0..<2 { rowX[0, t, f] = values[row, t, f] }
                    rowY[0, t, 0] = y[row, step(row, t), 0]
                }
                let rowOutput = try alone.predict(rowX)
                for t in 0..<length {
                    XCTAssertEqual(output[row, step(row, t), 0], rowOutput[0, t, 0], accuracy: 1e-6, "left \(left) row \(row) step \(t)")
                }
                let (rowLoss, rowGradients) = try alone.lossAndGradients(x: rowX, y: rowY)
                let share = Double(length) / valid
                expectedLoss += rowLoss * share
                for (i, gradient) in rowGradients.enumerated() {
                    for k in gradient.scalars.indices { expectedGradients[i].scalars[k] += gradient.scalars[k] * Float(share) }
                }
            }
            XCTAssertEqual(loss, expectedLoss, accuracy: 1e-6)
            for (mine, expected) in zip(gradients, expectedGradients) { assertClose(mine, expected, tolerance: 1e-6, "left \(left)") }
        }
    }

    /// A pass that skips the padding (rows sorted by length, `PaddingOrder`) computes, to
    /// rounding, what the pass over every row computes: outputs, loss, gradients, a stateful
    /// layer's carried state and the masks of dropout, for right and left padding read either
    /// way; masks it cannot sort (both sides, gaps) take the other path.
    func testSkippingThePaddingComputesWhatEveryRowComputes() throws {
        defer { PaddingOrder.isEnabled = true }
        let lengths = [5, 3, 1, 4, 2, 5, 0, 3]
        for padding in ["post", "pre", "both"] {
            var x = Tensor(shape: [8, 5, 2])
            let values = randomTensor([8, 5, 2], seed: 81)
            for (row, length) in lengths.enumerated() {
                let first = padding == "post" || (padding == "both" && row % 2 == 0) ? 0 : 5 - length
                for t in 0..<length { for f in 0..<2 { x[row, first + t, f] = values[row, t, f] } }
            }
            let y = randomTensor([8, 5, 1], seed: 82)
            func run(skipping: Bool) throws -> [[Float]] {
                PaddingOrder.isEnabled = skipping
                let model = Sequential(seed: 9) {
                    Input(shape: [5, 2], batchSize: 8); Masking()
                    LSTM(4, returnSequences: true, stateful: true, dropout: 0.2, recurrentDropout: 0.3)
                    Bidirectional(GRU(3, returnSequences: true))
                    SimpleRNN(3, returnSequences: true, goBackwards: true)
                    Dense(1)
                }
                try model.compile(optimizer: SGD(learningRate: 0.1), loss: .meanSquaredError)
                let (loss, gradients) = try model.lossAndGradients(x: x, y: y)
                try model.fit(x: x, y: y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0)
                let state = (model.layers[1] as! LSTM).state(forBatchSize: 8)!
                return [try model.predict(x, batchSize: 8).scalars, [Float(loss)], state.h.scalars, state.c.scalars]
                    + gradients.map(\.scalars) + (try model.weights().map(\.scalars))
            }
            let skipping = try run(skipping: true), everyRow = try run(skipping: false)
            for (index, (a, b)) in zip(skipping, everyRow).enumerated() {
                for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-5 * max(1, abs(v)), "\(padding), part \(index)") }
            }
        }
    }

    /// Masked, weighted training has the same bits for 1 and 2 workers over fixed shards, and
    /// across an accumulated update and the one batch of its rows.
    func testMaskedTrainingHasTheSameBitsForAnySplit() throws {
        let (x, _) = paddedBatch(features: 2, seed: 31)
        let big = try Tensor(
            shape: [20, 5, 2], scalars: (0..<4).flatMap { _ in x.scalars })
        let y = randomTensor([20, 5, 1], seed: 32), sampleWeight = magnitudes(randomTensor([20], seed: 33))
        func train(workers: Int, batch: Int, accumulate: Int = 1, shards: Int) throws -> [Float] {
            let model = Sequential(seed: 6) {
                Input(shape: [5, 2]); Masking(); LSTM(3, returnSequences: true); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
            try model.fit(
                x: big, y: y, epochs: 2, batchSize: batch, shuffle: false, verbose: 0, workers: workers, fixedShards: shards,
                gradientAccumulationSteps: accumulate, sampleWeight: sampleWeight)
            return try model.weights().flatMap(\.scalars)
        }
        let one = try train(workers: 1, batch: 10, shards: 2)
        XCTAssertEqual(one, try train(workers: 2, batch: 10, shards: 2))
        XCTAssertEqual(one, try train(workers: 1, batch: 5, accumulate: 2, shards: 1))
    }

    /// A stateful model carries each row's state over its padding: the state after a padded
    /// batch is the state after the row's valid steps.
    func testAStatefulLayerCarriesItsStateOverPadding() throws {
        let model = Sequential(seed: 7) {
            Input(shape: [4, 2], batchSize: 2); Masking(); LSTM(3, stateful: true); Dense(1)
        }
        let plain = Sequential(seed: 7) {
            Input(shape: [2, 2], batchSize: 2); LSTM(3, stateful: true); Dense(1)
        }
        try plain.setWeights(try model.weights())
        let values = randomTensor([2, 2, 2], seed: 41)
        var x = Tensor(shape: [2, 4, 2])
        for row in 0..<2 { for t in 0..<2 { for f in 0..<2 { x[row, row == 0 ? t : t + 2, f] = values[row, t, f] } } }
        _ = try model.predict(x, batchSize: 2)
        _ = try plain.predict(values, batchSize: 2)
        let masked = (model.layers[1] as! LSTM).state(forBatchSize: 2)!, alone = (plain.layers[0] as! LSTM).state(forBatchSize: 2)!
        assertClose(masked.h, alone.h, tolerance: 1e-6, "h")
        assertClose(masked.c, alone.c, tolerance: 1e-6, "c")
    }

    /// Class-index targets (sparse categorical cross-entropy) are checked as read: a label out
    /// of range or not whole, targets shaped like the output, and metrics that compare rows.
    func testClassIndexTargetsAreCheckedByName() throws {
        let model = Sequential {
            Input(shape: [5, 2]); LSTM(3); Dense(3, activation: .softmax)
        }
        try model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
        let x = randomTensor([4, 5, 2], seed: 91)
        func refusal(_ labels: Tensor) -> String {
            do {
                try model.fit(x: x, y: labels, verbose: 0)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(
            refusal(try Tensor(shape: [4], scalars: [0, 1, 3, 2]))
                .contains("y holds 3.0 at sample 2, position 0; sparse_categorical_crossentropy takes class indices in 0..<3"))
        XCTAssertTrue(refusal(try Tensor(shape: [4, 1], scalars: [0, 1.5, 2, 2])).contains("y holds 1.5 at sample 1"))
        XCTAssertTrue(refusal(oneHot(samples: 4, classes: 3, seed: 92)).contains("class indices, one a row of its last axis"))
        XCTAssertEqual(refusal(try Tensor(shape: [4], scalars: [0, 1, 2, 2])), "no error")
        XCTAssertThrowsError(try model.compile(optimizer: SGD(), loss: .sparseCategoricalCrossentropy, metrics: [.mae])) {
            XCTAssertTrue("\($0)".contains("compares targets shaped like the output"), "\($0)")
        }
        XCTAssertThrowsError(try model.compile(optimizer: SGD(), loss: .categoricalCrossentropy, metrics: [.sparseCategoricalAccuracy]))
    }

    /// Sequence labelling with class indices under a mask, with timestep weights: the same bits
    /// for 1 and 2 workers over fixed shards, and truncated BPTT over the whole sequence is the
    /// ordinary fit.
    func testClassIndicesWithWorkersAndTruncatedBPTT() throws {
        var tokens = Tensor(shape: [8, 6]), labels = Tensor(shape: [8, 6])
        var generator = SeededGenerator(seed: 93)
        for row in 0..<8 {
            for t in 0..<(2 + row % 5) {
                tokens[row, t] = Float(1 + generator.next() % 8)
                labels[row, t] = Float(generator.next() % 4)
            }
        }
        let weights = magnitudes(randomTensor([8, 6], seed: 94))
        func train(workers: Int, truncation: Int? = nil) throws -> [Float] {
            let model = Sequential(seed: 12) {
                Input(shape: [6]); Embedding(inputDim: 9, outputDim: 3, maskZero: true)
                LSTM(4, returnSequences: true); Dense(4, activation: .softmax)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .sparseCategoricalCrossentropy, metrics: [.accuracy])
            try model.fit(
                x: tokens, y: labels, epochs: 2, batchSize: 4, shuffle: false, verbose: 0, workers: workers, fixedShards: 2,
                sampleWeight: weights, truncatedBPTT: truncation)
            return try model.weights().flatMap(\.scalars)
        }
        let one = try train(workers: 1)
        XCTAssertEqual(one, try train(workers: 2))
        XCTAssertEqual(one, try train(workers: 1, truncation: 6))
        XCTAssertNotEqual(one, try train(workers: 1, truncation: 4))
    }

    /// Sample weights shaped (samples, 1), as a user's column of weights often is, weigh each
    /// sample as (samples) does (Keras squeezes them to the loss's shape), for one output a
    /// sample and for a sequence of them.
    func testAColumnOfSampleWeightsIsAWeightASample() throws {
        let x = randomTensor([6, 5, 2], seed: 54)
        let weights = try Tensor(shape: [6], scalars: [1, 0.5, 2, 0, 1.5, 1])
        let column = try Tensor(shape: [6, 1], scalars: weights.scalars)
        for sequences in [false, true] {
            var trained: [[[Float]]] = []
            for sampleWeight in [weights, column, nil] {
                let model = Sequential(seed: 55) {
                    Input(shape: [5, 2]); LSTM(3, returnSequences: sequences); Dense(1)
                }
                try model.compile(optimizer: SGD(), loss: .meanSquaredError)
                let y = randomTensor(sequences ? [6, 5, 1] : [6, 1], seed: 56)
                try model.fit(x: x, y: y, epochs: 2, batchSize: 4, shuffle: false, verbose: 0, sampleWeight: sampleWeight)
                trained.append(try model.weights().map(\.scalars))
            }
            XCTAssertEqual(trained[0], trained[1], sequences ? "sequence outputs" : "one output a sample")
            XCTAssertNotEqual(trained[0], trained[2], "the weights weigh")
        }
    }

    /// A length of 0 (a row of padding only) trains as a Masking layer trains the same row of
    /// mask values: to the same bits, one output a sample or a sequence.
    func testARowOfPaddingOnlyIsMaskedAsMaskingMasksIt() throws {
        let lengths = [5, 0, 3, 0, 1, 2]
        var x = randomTensor([6, 5, 2], seed: 61)
        for (row, length) in lengths.enumerated() {
            for t in length..<5 { for f in 0..<2 { x[row, t, f] = 0 } }
        }
        for sequences in [false, true] {
            let y = randomTensor(sequences ? [6, 5, 1] : [6, 1], seed: 62)
            var trained: [[[Float]]] = []
            for masking in [true, false] {
                let model = Sequential(seed: 63) {
                    Input(shape: [5, 2])
                    if masking { Masking() }
                    LSTM(3, returnSequences: sequences)
                    Dense(1)
                }
                try model.compile(optimizer: SGD(), loss: .meanSquaredError)
                let steps = try SequenceLengths(lengths: lengths, timesteps: 5, padding: .post)
                let dataset = try InMemoryDataset(x: x, y: y, sequenceLengths: masking ? nil : steps)
                try model.fit(dataset: dataset, epochs: 2, batchSize: 4, shuffle: false, verbose: 0)
                trained.append(try model.weights().map(\.scalars))
            }
            XCTAssertEqual(trained[0], trained[1], sequences ? "sequence outputs" : "one output a sample")
        }
    }

    /// Weights a step shaped (samples, timesteps, 1), as Keras takes them, weigh each step as
    /// (samples, timesteps) does.
    func testStepWeightsWithATrailingOneAreWeightsAStep() throws {
        let x = randomTensor([6, 5, 2], seed: 57), y = randomTensor([6, 5, 1], seed: 58)
        let steps = randomTensor([6, 5], seed: 59).scalars.map { abs($0) }
        var trained: [[[Float]]] = []
        for shape in [[6, 5], [6, 5, 1]] {
            let model = Sequential(seed: 60) {
                Input(shape: [5, 2]); LSTM(3, returnSequences: true); Dense(1)
            }
            try model.compile(optimizer: SGD(), loss: .meanSquaredError)
            let sampleWeight = try Tensor(shape: shape, scalars: steps)
            try model.fit(x: x, y: y, epochs: 2, batchSize: 4, shuffle: false, verbose: 0, sampleWeight: sampleWeight)
            trained.append(try model.weights().map(\.scalars))
        }
        XCTAssertEqual(trained[0], trained[1])
    }

    func testBadWeightsAndMaskUsesAreRefusedByName() throws {
        let model = Sequential {
            Input(shape: [5, 2]); Masking(); LSTM(3, returnSequences: true); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let x = randomTensor([4, 5, 2], seed: 51), y = randomTensor([4, 5, 1], seed: 52)
        let before = try model.weights()
        func refusal(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(
            refusal { try model.fit(x: x, y: y, verbose: 0, sampleWeight: try Tensor(shape: [4], scalars: [1, -1, 1, 1])) }
                .contains("sample weight -1.0 at sample 1"))
        XCTAssertTrue(
            refusal { try model.fit(x: x, y: y, verbose: 0, sampleWeight: try Tensor(shape: [4], scalars: [1, .nan, 1, 1])) }
                .contains("sample weight nan at sample 1"))
        XCTAssertTrue(refusal { try model.fit(x: x, y: y, verbose: 0, sampleWeight: Tensor(shape: [3])) }.contains("sampleWeight"))
        XCTAssertTrue(refusal { try model.fit(x: x, y: y, verbose: 0, sampleWeight: Tensor(shape: [4, 4])) }.contains("sample weights"))
        XCTAssertTrue(
            refusal { try model.fit(x: x, y: y, verbose: 0, classWeight: [0: 1]) }.contains("classWeight needs an output of classes"))
        let classes = Sequential {
            Input(shape: [5, 2]); LSTM(3); Dense(2, activation: .softmax)
        }
        try classes.compile(optimizer: SGD(), loss: .categoricalCrossentropy)
        let labels = oneHot(samples: 4, classes: 2, seed: 53)
        XCTAssertTrue(
            refusal { try classes.fit(x: x, y: labels, verbose: 0, sampleWeight: Tensor(shape: [4]), classWeight: [0: 1]) }
                .contains("cannot both be given"))
        XCTAssertTrue(
            refusal { try classes.fit(x: x, y: labels, verbose: 0, classWeight: [1: -2]) }.contains("classWeight -2.0 for class 1"))
        XCTAssertEqual(try model.weights().map(\.scalars), before.map(\.scalars), "a refused fit changed the weights")
        let flat = Sequential {
            Input(shape: [4]); Masking(); Dense(1)
        }
        XCTAssertTrue(refusal { try flat.build() }.contains("layer 'masking' expects input of shape (batch, timesteps, features)"))
        let tokens = Sequential {
            Input(shape: [3, 2]); Embedding(inputDim: 5, outputDim: 2, maskZero: true)
        }
        XCTAssertTrue(refusal { try tokens.build() }.contains("layer 'embedding' expects input of shape (batch, timesteps)"))
    }
}
