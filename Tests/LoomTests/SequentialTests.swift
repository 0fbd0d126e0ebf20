import TestSupport
import XCTest

@testable import Loom

final class SequentialTests: XCTestCase {
    func testSameSeedSameWeightsAndLossesRunAfterRun() throws {
        let (x, y) = sineData(samples: 64, timesteps: 8, seed: 1)
        func run(seed: UInt64) throws -> ([Tensor], [Double]) {
            let model = Sequential(seed: seed) {
                Input(shape: [8, 1]); LSTM(6); Dense(1)
            }
            try model.compile(optimizer: Adam(), loss: .meanSquaredError)
            let initial = try model.weights()
            let history = try model.fit(x: x, y: y, epochs: 3, batchSize: 16, verbose: 0)
            return (initial, history["loss"])
        }
        let (a, b, c) = (try run(seed: 7), try run(seed: 7), try run(seed: 8))
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.0, c.0)
        XCTAssertNotEqual(a.1, c.1)
    }

    func testRecurrentDropoutIsOffAtInferenceOnWhileTrainingAndSeeded() throws {
        let (x, y) = sineData(samples: 32, timesteps: 6, seed: 2)
        for cell in ["lstm", "gru", "simple_rnn"] {
            func model(dropout: Float) throws -> Sequential {
                let recurrent: any Layer =
                    switch cell {
                    case "lstm": LSTM(8, dropout: dropout, recurrentDropout: dropout)
                    case "gru": GRU(8, dropout: dropout, recurrentDropout: dropout)
                    default: SimpleRNN(8, dropout: dropout, recurrentDropout: dropout)
                    }
                let model = Sequential(seed: 5) {
                    Input(shape: [6, 1]); recurrent; Dense(1)
                }
                try model.compile(optimizer: Adam(), loss: .meanSquaredError)
                return model
            }
            let (plain, dropped) = (try model(dropout: 0), try model(dropout: 0.5))
            XCTAssertEqual(try dropped.predict(x).scalars, try plain.predict(x).scalars, cell)
            XCTAssertNotEqual(try dropped.lossAndGradients(x: x, y: y).loss, try plain.lossAndGradients(x: x, y: y).loss, cell)
            func trained(workers: Int) throws -> [Tensor] {
                let model = try model(dropout: 0.5)
                try model.fit(x: x, y: y, epochs: 2, batchSize: 8, verbose: 0, workers: workers)
                return try model.weights()
            }
            XCTAssertEqual(try trained(workers: 1), try trained(workers: 1), cell)
            XCTAssertEqual(try trained(workers: 2), try trained(workers: 2), cell)
        }
    }

    func testFitLearnsASineContinuation() throws {
        let (x, y) = sineData(samples: 256, timesteps: 10, seed: 2)
        let model = Sequential {
            Input(shape: [10, 1]); LSTM(16); Dense(1)
        }
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
        let history = try model.fit(x: x, y: y, epochs: 15, batchSize: 32, validationSplit: 0.25, verbose: 0)
        // Predicting the mean scores 0.5 (the variance of sin); a working LSTM gets far below.
        XCTAssertLessThan(history["val_loss"].last!, 0.01)
        XCTAssertEqual(Set(history.history.keys), ["loss", "mae", "val_loss", "val_mae", "learning_rate"])
        XCTAssertEqual(history.epoch, Array(0..<15))
    }

    func testValidationSplitHoldsOutTheLastSamples() throws {
        let (x, y) = sineData(samples: 40, timesteps: 5, seed: 3)
        let model = Sequential {
            Input(shape: [5, 1]); LSTM(4); Dense(1)
        }
        try model.compile(optimizer: SGD(learningRate: 0), loss: .meanSquaredError)
        let history = try model.fit(x: x, y: y, epochs: 1, batchSize: 7, validationSplit: 0.25, verbose: 0)
        let last = try model.evaluate(x: x.samples(30..<40), y: y.samples(30..<40))
        let first = try model.evaluate(x: x.samples(0..<30), y: y.samples(0..<30))
        XCTAssertEqual(history["val_loss"][0], last["loss"]!, accuracy: 1e-6)
        XCTAssertEqual(history["loss"][0], first["loss"]!, accuracy: 1e-6)
    }

    /// Keras's `validation_data`: samples of their own validate each epoch, with the bits of
    /// the same samples held out by `validationSplit`; rows of a dataset (`DatasetRows`) read as
    /// the dataset's own; both ways of naming validation samples at once are refused.
    func testValidationDataValidatesLikeTheSameSamplesSplitOff() throws {
        let (x, y) = sineData(samples: 40, timesteps: 5, seed: 3)
        func trained(_ fit: (Sequential) throws -> History) throws -> (History, [Tensor]) {
            let model = Sequential(seed: 5) {
                Input(shape: [5, 1]); LSTM(4); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
            return (try fit(model), try model.weights())
        }
        let (split, splitWeights) = try trained { model in
            try model.fit(x: x, y: y, epochs: 3, batchSize: 8, validationSplit: 0.25, verbose: 0)
        }
        let all = try InMemoryDataset(x: x, y: y)
        let (separate, separateWeights) = try trained { model in
            try model.fit(
                dataset: DatasetRows(all, rows: 0..<30), epochs: 3, batchSize: 8,
                validationData: DatasetRows(all, rows: 30..<40), verbose: 0)
        }
        XCTAssertEqual(separate.history, split.history)
        XCTAssertEqual(separateWeights, splitWeights)
        let (inMemory, _) = try trained { model in
            try model.fit(
                x: x.samples(0..<30), y: y.samples(0..<30), epochs: 3, batchSize: 8,
                validationData: InMemoryDataset(x: x.samples(30..<40), y: y.samples(30..<40)), verbose: 0)
        }
        XCTAssertEqual(inMemory.history, split.history)

        let model = Sequential {
            Input(shape: [5, 1]); LSTM(4); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(
            try model.fit(x: x, y: y, validationSplit: 0.2, validationData: InMemoryDataset(x: x, y: y), verbose: 0)
        ) { XCTAssertTrue("\($0)".contains("validationData and validationSplit 0.2 both name validation samples"), "\($0)") }
        let (wide, _) = sineData(samples: 8, timesteps: 6, seed: 1)
        XCTAssertThrowsError(
            try model.fit(x: x, y: y, validationData: InMemoryDataset(x: wide, y: y.samples(0..<8)), verbose: 0)
        ) { XCTAssertTrue("\($0)".contains("validationData's x"), "\($0)") }
        XCTAssertThrowsError(try DatasetRows(all, rows: 35..<41)) {
            XCTAssertTrue("\($0)".contains("outside the dataset's 40 samples"), "\($0)")
        }
    }

    func testPredictHandlesAShortLastBatch() throws {
        let (x, _) = sineData(samples: 10, timesteps: 5, seed: 4)
        let model = Sequential {
            Input(shape: [5, 1]); LSTM(4, returnSequences: true); Dense(2)
        }
        let all = try model.predict(x, batchSize: 4)
        XCTAssertEqual(all.shape, [10, 5, 2])
        XCTAssertEqual(try model.predict(x, batchSize: 10), all)
    }

    /// Streamed predictions (a batch at a time, as `loom predict --out` writes them) are the
    /// rows of the whole prediction, in order, in batches of the size asked for.
    func testStreamedPredictionsAreTheRowsInOrder() throws {
        let (x, _) = sineData(samples: 10, timesteps: 5, seed: 4)
        let model = Sequential {
            Input(shape: [5, 1]); LSTM(4, returnSequences: true); Dense(2)
        }
        let all = try model.predict(x, batchSize: 4)
        var streamed: [Float] = []
        var batches: [Range<Int>] = []
        try model.predict(dataset: InMemoryDataset(x: x), batchSize: 4) { rows, outputs in
            batches.append(rows)
            streamed += outputs
        }
        XCTAssertEqual(batches, [0..<4, 4..<8, 8..<10])
        XCTAssertEqual(streamed, all.scalars)
    }

    func testAddBuildsTheSameModelAsTheBuilder() throws {
        let built = Sequential(seed: 9) {
            Input(shape: [3, 2]); LSTM(4); Dense(1)
        }
        let added = Sequential(seed: 9, inputShape: [3, 2])
        added.add(LSTM(4))
        added.add(Dense(1))
        XCTAssertEqual(try built.weights(), try added.weights())
        XCTAssertEqual(try built.summaryText(), try added.summaryText())
    }

    func testInputShapeComesFromTheDataWhenNotDeclared() throws {
        let (x, y) = sineData(samples: 8, timesteps: 5, seed: 5)
        let model = Sequential {
            LSTM(4); Dense(1)
        }
        try model.build(inputShape: x.sampleShape)
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        XCTAssertNoThrow(try model.fit(x: x, y: y, verbose: 0))
        XCTAssertEqual(model.inputShape, [5, 1])
    }

    func testSummaryIsKerasTable() throws {
        let model = Sequential {
            Input(shape: [10, 25]); LSTM(10); Dense(1)
        }
        let expected = """
            Model: "sequential"
            ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
            ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
            ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
            │ lstm (LSTM)                     │ (None, 10)             │         1,440 │
            ├─────────────────────────────────┼────────────────────────┼───────────────┤
            │ dense (Dense)                   │ (None, 1)              │            11 │
            └─────────────────────────────────┴────────────────────────┴───────────────┘
             Total params: 1,451 (5.67 KB)
             Trainable params: 1,451 (5.67 KB)
             Non-trainable params: 0 (0.00 B)
            """
        XCTAssertEqual(try model.summaryText(), expected)
        // A name too long for its column wraps at a space, as Keras's table; a word too long is cut.
        let wide = Sequential {
            Input(shape: [4, 2]); LSTM(3, returnSequences: true); TimeDistributed(Dense(1, name: "a_very_long_dense_head_name_indeed"))
        }
        let lines = try wide.summaryText().split(separator: "\n").map(String.init)
        XCTAssertEqual(
            Array(lines[6...7]),
            [
                "│ time_distributed                │ (None, 4, 1)           │             4 │",
                "│ (TimeDistributed)               │                        │               │",
            ])
        XCTAssertEqual(
            Sequential.wrapped("a_very_long_dense_head_name_indeed (Dense)", width: 31), ["a_very_long_dense_head_name_ind", "eed (Dense)"])
    }

    /// A compiled model's summary ends as Keras 3.15's of the same model once its optimizer is
    /// built (after `fit`, or loaded from a compiled file): the optimizer's variables counted,
    /// and in the total.
    func testSummaryCountsTheOptimizersVariablesAsKeras() throws {
        func tail(_ optimizer: any Optimizer) throws -> [String] {
            let model = Sequential {
                Input(shape: [8, 3]); LSTM(5); Dense(1)
            }
            try model.compile(optimizer: optimizer, loss: .meanSquaredError)
            // As Keras's, before the first update the optimizer has no variables to count.
            XCTAssertFalse(try model.summaryText().contains("Optimizer params"))
            let x = try Tensor(shape: [2, 8, 3], scalars: (0..<48).map { Float($0 % 5) / 5 })
            try model.fit(x: x, y: try Tensor(shape: [2, 1], scalars: [0.5, -0.5]), epochs: 1, verbose: 0)
            return Array(try model.summaryText().split(separator: "\n").map(String.init).suffix(4))
        }
        XCTAssertEqual(
            try tail(SGD(learningRate: 0.01, momentum: 0.9)),
            [
                " Total params: 374 (1.46 KB)", " Trainable params: 186 (744.00 B)", " Non-trainable params: 0 (0.00 B)",
                " Optimizer params: 188 (756.00 B)",
            ])
        let decay = ExponentialDecay(initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5)
        XCTAssertEqual(
            try tail(Adam(schedule: decay)),
            [
                " Total params: 559 (2.19 KB)", " Trainable params: 186 (744.00 B)", " Non-trainable params: 0 (0.00 B)",
                " Optimizer params: 373 (1.46 KB)",
            ])
    }

    func testKerasLayerNames() {
        XCTAssertEqual(Sequential.snakeCase("LSTM"), "lstm")
        XCTAssertEqual(Sequential.snakeCase("MaxPooling2D"), "max_pooling2d")
        XCTAssertEqual(Sequential.snakeCase("TimeDistributed"), "time_distributed")
        XCTAssertEqual(Sequential.snakeCase("SimpleRNN"), "simple_rnn")
    }

    func testInitializersFollowKeras() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [7, 30]); LSTM(20)
        }
        let weights = try model.weights()
        // Glorot uniform bound sqrt(6 / (30 + 80)).
        let bound = Float((6.0 / 110.0).squareRoot())
        XCTAssertLessThanOrEqual(weights[0].scalars.map(abs).max()!, bound)
        XCTAssertGreaterThan(weights[0].scalars.map(abs).max()!, 0.9 * bound)
        // Orthogonal (20, 80): rows orthonormal.
        let u = weights[1]
        for i in 0..<20 {
            for j in 0..<20 {
                var dot: Float = 0
                for k in 0..<80 { dot += u[i, k] * u[j, k] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-5)
            }
        }
        // unit_forget_bias: ones on the forget slice only.
        XCTAssertEqual(
            weights[2].scalars,
            [Float](repeating: 0, count: 20) + [Float](repeating: 1, count: 20)
                + [Float](repeating: 0, count: 40))
    }

    func testAnLSTMRowsOutputDoesNotDependOnItsBatch() throws {
        // The cell works on blocks of rows (341 rows of 3 units, 64 of 16): a batch of 400
        // crosses them, and each row must come out as it does alone.
        for units in [3, 16] {
            let model = Sequential(seed: 21) {
                Input(shape: [3, 2]); LSTM(units, returnSequences: true)
            }
            let x = randomTensor([400, 3, 2], seed: 22)
            let together = try model.predict(x, batchSize: 400).scalars
            let alone = try model.predict(x, batchSize: 1).scalars
            for (a, b) in zip(together, alone) { XCTAssertEqual(a, b, accuracy: 1e-6, "\(units) units") }
        }
    }
}
