import TestSupport
import XCTest

@testable import Loom

/// The data-parallel engine against one thread, and its own guarantees.
final class ParallelTests: XCTestCase {
    private func sineModel(seed: UInt64 = 1) throws -> Sequential {
        let model = Sequential(seed: seed) {
            Input(shape: [8, 1]); LSTM(8); Dense(1)
        }
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    func testOneStepWithSeveralWorkersMatchesOneWorkerForEveryArchitecture() throws {
        for name in KerasParityTests.names {
            let fixture = try KerasFixture.load(name)
            let samples = fixture.x.shape[0]
            var reference: ([Tensor], [Tensor])?
            for workers in [1, 2, 3] where samples >= workers && (name != "stateful" || samples % workers == 0) {
                let model = try KerasParityTests.model(for: name)
                try model.compile(optimizer: SGD(learningRate: 0.1, momentum: 0.9), loss: Loss(kerasName: fixture.loss))
                try model.setWeights(fixture.weights.map(\.tensor))
                try model.fit(
                    x: fixture.x.tensor, y: fixture.y.tensor, epochs: 1, batchSize: samples, shuffle: false,
                    verbose: 0, workers: workers)
                let result = (try model.weights(), model.gradients())
                if let reference {
                    for (i, (mine, theirs)) in zip(result.1, reference.1).enumerated() {
                        assertClose(mine, theirs, "\(name), \(workers) workers, gradient \(i)")
                    }
                    for (i, (mine, theirs)) in zip(result.0, reference.0).enumerated() {
                        assertClose(mine, theirs, "\(name), \(workers) workers, weight \(i)")
                    }
                } else {
                    reference = result
                }
            }
        }
    }

    /// Inputs that cannot be read from one row on, as a damaged file fails mid-epoch.
    private struct FailingDataset: Dataset {
        let base: InMemoryDataset
        let badRow: Int
        var sampleCount: Int { base.sampleCount }
        var inputShape: [Int] { base.inputShape }
        var targetShape: [Int]? { base.targetShape }
        var supportsConcurrentReads: Bool { true }

        func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
            if rows.contains(badRow) { throw LoomError.invalidArgument("row \(badRow) cannot be read") }
            try base.read(rows: rows, inputs: inputs, targets: targets)
        }
    }

    /// A step that throws counts for nothing: the step counter stays at the last step that
    /// updated the weights, so Adam's bias correction stays in step with its moments, and a
    /// later fit continues exactly as one that never failed.
    func testAFitThatThrowsMidEpochKeepsTheStepCountWithTheOptimizer() throws {
        let (x, y) = sineData(samples: 16, timesteps: 8, seed: 5)
        for workers in [1, 2] {
            let model = try sineModel()
            let failing = FailingDataset(base: try InMemoryDataset(x: x, y: y), badRow: 9)
            XCTAssertThrowsError(
                try model.fit(
                    dataset: failing, epochs: 1, batchSize: 4, shuffle: false, verbose: 0,
                    workers: workers))
            XCTAssertEqual(model.parameterStore.step, 2, "\(workers) workers")
            try model.fit(
                x: x.samples(8..<16), y: y.samples(8..<16), epochs: 1, batchSize: 4, shuffle: false, verbose: 0,
                workers: workers)
            XCTAssertEqual(model.parameterStore.step, 4, "\(workers) workers")

            let reference = try sineModel()
            for k in 0..<4 { try reference.trainOnBatch(x: x.samples(4 * k..<4 * k + 4), y: y.samples(4 * k..<4 * k + 4)) }
            for (mine, theirs) in zip(try model.weights(), try reference.weights()) {
                if workers == 1 {
                    XCTAssertEqual(mine, theirs, "one worker takes the same path as trainOnBatch")
                } else {
                    assertClose(mine, theirs, "\(workers) workers")
                }
            }
        }
    }

    func testSameSeedSameWorkersIsBitwiseIdentical() throws {
        let (x, y) = sineData(samples: 96, timesteps: 8, seed: 1)
        func run() throws -> [Tensor] {
            let model = try sineModel()
            try model.fit(x: x, y: y, epochs: 2, batchSize: 16, verbose: 0, workers: 2)
            return try model.weights()
        }
        XCTAssertEqual(try run(), try run())
    }

    /// A parallel predict or evaluate between two fits leaves the dropout masks of the next
    /// fit as they would have been: inference replicas draw nothing from the training streams.
    func testParallelInferenceBetweenFitsChangesNoDropoutMask() throws {
        let (x, y) = sineData(samples: 96, timesteps: 8, seed: 1)
        func run(predicting: Bool) throws -> [Tensor] {
            let model = Sequential(seed: 4) {
                Input(shape: [8, 1]); LSTM(8, dropout: 0.2, recurrentDropout: 0.2); Dropout(0.3); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError)
            try model.fit(x: x, y: y, epochs: 1, batchSize: 16, verbose: 0, workers: 2)
            if predicting {
                _ = try model.predict(x, workers: 2)
                _ = try model.evaluate(x: x, y: y, workers: 3)
            }
            try model.fit(x: x, y: y, epochs: 1, batchSize: 16, verbose: 0, workers: 2)
            return try model.weights()
        }
        XCTAssertEqual(try run(predicting: true), try run(predicting: false))
    }

    func testFixedShardsAreBitwiseIdenticalForAnyWorkerCount() throws {
        let (x, y) = sineData(samples: 90, timesteps: 8, seed: 2)
        var results: [[Tensor]] = []
        for workers in 1...4 {
            let model = try sineModel()
            let history = try model.fit(
                x: x, y: y, epochs: 2, batchSize: 20, validationSplit: 0.2, verbose: 0,
                workers: workers, fixedShards: 4)
            results.append(try model.weights() + [try Tensor(shape: [2], scalars: history["val_loss"].map(Float.init))])
        }
        for workers in 2...4 { XCTAssertEqual(results[workers - 1], results[0], "\(workers) workers") }
    }

    /// `Parallelism` and the settings one by one are the same run; with fixed shards,
    /// evaluate and predict give the same bits for any worker count too.
    func testParallelismValueEqualsItsSettingsOneByOne() throws {
        let (x, y) = sineData(samples: 90, timesteps: 8, seed: 5)
        let byValue = try sineModel(), oneByOne = try sineModel()
        let parallelism = Parallelism(workers: 2, fixedShards: 3)
        let history = try byValue.fit(x: x, y: y, epochs: 2, batchSize: 30, validationSplit: 0.2, verbose: 0, parallelism: parallelism)
        let same = try oneByOne.fit(x: x, y: y, epochs: 2, batchSize: 30, validationSplit: 0.2, verbose: 0, workers: 2, fixedShards: 3)
        XCTAssertEqual(try byValue.weights(), try oneByOne.weights())
        XCTAssertEqual(history["val_loss"], same["val_loss"])
        let losses = try (1...3).map { workers in
            try byValue.evaluate(x: x, y: y, batchSize: 30, parallelism: Parallelism(workers: workers, fixedShards: 3))["loss"]!
        }
        XCTAssertEqual(Set(losses).count, 1, "\(losses)")
        let predictions = try (1...3).map { workers in
            try byValue.predict(x, batchSize: 30, parallelism: Parallelism(workers: workers, fixedShards: 3))
        }
        XCTAssertEqual(predictions[1], predictions[0])
        XCTAssertEqual(predictions[2], predictions[0])
        XCTAssertThrowsError(try byValue.predict(x, batchSize: 30, parallelism: Parallelism(workers: 4, fixedShards: 3))) { error in
            XCTAssertTrue("\(error)".contains("fixedShards (3) must be at least the worker count (4)"), "\(error)")
        }
    }

    /// One and two workers differ only in the order of the shard sums: their validation
    /// losses agree epoch by epoch (to 1% of the loss), not just both end low.
    func testFullFitReachesTheSameValidationLoss() throws {
        let (x, y) = sineData(samples: 256, timesteps: 8, seed: 3)
        var curves: [[Double]] = []
        for workers in [1, 2] {
            let model = try sineModel()
            let history = try model.fit(x: x, y: y, epochs: 12, batchSize: 32, validationSplit: 0.25, verbose: 0, workers: workers)
            curves.append(history["val_loss"])
            if workers == 2 {
                let profile = try XCTUnwrap(model.lastFitProfile)
                XCTAssertEqual(profile.steps, 12 * 6)
                XCTAssertGreaterThan(profile.compute, 0)
            }
        }
        XCTAssertEqual(curves[0].count, 12)
        XCTAssertEqual(curves[1].count, 12)
        for (epoch, (one, two)) in zip(curves[0], curves[1]).enumerated() {
            XCTAssertEqual(two, one, accuracy: 0.01 * one, "epoch \(epoch + 1): 1 worker \(one), 2 workers \(two)")
        }
        XCTAssertLessThan(curves[0].last!, 0.01)
        XCTAssertLessThan(curves[0].last!, curves[0].first! / 2, "the model learned")
    }

    func testParallelPredictAndEvaluateMatchOneWorker() throws {
        let (x, y) = sineData(samples: 50, timesteps: 8, seed: 4)
        let model = try sineModel()
        let one = try model.predict(x, batchSize: 16)
        assertClose(try model.predict(x, batchSize: 16, workers: 3), one, tolerance: 1e-6, "predict")
        let evaluated = try model.evaluate(x: x, y: y, batchSize: 16)
        let parallel = try model.evaluate(x: x, y: y, batchSize: 16, workers: 2)
        XCTAssertEqual(parallel["loss"]!, evaluated["loss"]!, accuracy: 1e-6)
        XCTAssertEqual(parallel["mae"]!, evaluated["mae"]!, accuracy: 1e-6)
    }

    func testParameterAveragingEveryStepWithPlainSGDEqualsGradientAveraging() throws {
        // w − lr·mean(g_s) is the mean of the replicas' w − lr·g_s when shards are equal.
        let (x, y) = sineData(samples: 64, timesteps: 8, seed: 5)
        var results: [[Tensor]] = []
        for averaging in [Averaging.gradients, .parameters(every: 1)] {
            let model = Sequential(seed: 2) {
                Input(shape: [8, 1]); LSTM(6); Dense(1)
            }
            try model.compile(optimizer: SGD(learningRate: 0.05), loss: .meanSquaredError)
            try model.fit(x: x, y: y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0, workers: 2, averaging: averaging)
            results.append(try model.weights())
        }
        for (a, b) in zip(results[0], results[1]) { assertClose(b, a, tolerance: 1e-5, "parameters vs gradients") }
    }

    func testParallelEvaluateOfOneSampleKeepsItsMetrics() throws {
        let (x, y) = sineData(samples: 1, timesteps: 8, seed: 9)
        let model = try sineModel()
        let one = try model.evaluate(x: x, y: y)
        XCTAssertEqual(try model.evaluate(x: x, y: y, workers: 2)["mae"]!, one["mae"]!, accuracy: 1e-6)
    }

    func testParameterAveragingValidatesTheAveragedModel() throws {
        let (x, y) = sineData(samples: 80, timesteps: 8, seed: 10)
        let model = try sineModel()
        let history = try model.fit(
            x: x, y: y, epochs: 1, batchSize: 16, validationSplit: 0.2, verbose: 0,
            workers: 2, averaging: .parameters(every: 100))
        let after = try model.evaluate(x: x.samples(64..<80), y: y.samples(64..<80), batchSize: 16)
        XCTAssertEqual(history["val_loss"][0], after["loss"]!, accuracy: 1e-6)
    }

    func testParameterAveragingLearns() throws {
        let (x, y) = sineData(samples: 256, timesteps: 8, seed: 6)
        let model = try sineModel()
        let history = try model.fit(
            x: x, y: y, epochs: 12, batchSize: 32, validationSplit: 0.25, verbose: 0,
            workers: 2, averaging: .parameters(every: 4))
        XCTAssertLessThan(history["val_loss"].last!, 0.02)
    }

    /// As `StatefulTests.testEchoOneBatchBackIsLearnedOnlyWithState`, trained by `fit` on
    /// several workers: batch k holds chunk k of every row, so the samples are laid out
    /// batch-major and the batches stay in file order.
    func testStatefulEchoIsLearnedWithTwoAndFourWorkersAndNotWithoutState() throws {
        let rows = 8, steps = 48
        let (x, y) = EchoTask.data(rows: rows, steps: steps, seed: 11)
        func model() throws -> Sequential {
            let model = Sequential(seed: 1) {
                Input(shape: [1, 1], batchSize: rows); LSTM(16, stateful: true); Dense(1)
            }
            try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError)
            return model
        }
        for workers in [1, 2, 4] {
            let trained = try model()
            let history = try trained.fit(
                x: x, y: y, epochs: 30, batchSize: rows, shuffle: false, verbose: 0,
                resetStatesEachEpoch: true, workers: workers)
            XCTAssertLessThan(history["loss"].last!, 0.02, "\(workers) workers with state")
        }
        // State reset before every batch: one-batch fits, each starting from zero state.
        let forgetful = try model()
        var lastEpoch = 0.0
        for _ in 0..<30 {
            lastEpoch = 0
            for k in 0..<steps {
                let batch = k * rows..<(k + 1) * rows
                let history = try forgetful.fit(
                    x: x.samples(batch), y: y.samples(batch), batchSize: rows, shuffle: false,
                    verbose: 0, resetStatesEachEpoch: true, workers: 2)
                lastEpoch += history["loss"][0] / Double(steps)
            }
        }
        XCTAssertGreaterThan(lastEpoch, 0.06, "reset every batch")
    }

    func testTheCallerGetsItsCPUAffinityBack() throws {
        let (x, y) = sineData(samples: 64, timesteps: 8, seed: 8)
        let before = CPUAffinity.currentMask()
        try sineModel().fit(x: x, y: y, batchSize: 16, verbose: 0, workers: 2)
        XCTAssertEqual(CPUAffinity.currentMask(), before)
    }

    func testRefusals() throws {
        let (x, y) = sineData(samples: 32, timesteps: 8, seed: 7)
        let model = try sineModel()
        let before = try model.weights()
        XCTAssertEqual(message { try model.fit(x: x, y: y, verbose: 0, workers: 0) }, "workers must be at least 1, got 0")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, batchSize: 3, verbose: 0, workers: 4) },
            "a batch of 3 cannot be cut into 4 shards (one per worker) without empty ones; use at most 3 workers or a larger batch")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, batchSize: 3, verbose: 0, parallelism: Parallelism(fixedShards: 4)) },
            "a batch of 3 cannot be cut into 4 shards (fixedShards 4) without empty ones; use at most 3 shards in all or a larger batch")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, batchSize: 2, verbose: 0, fixedShards: 3, gradientAccumulationSteps: 2) },
            "a batch of 4 cannot be cut into 6 shards (3 for each of 2 micro-batches) without empty ones; "
                + "use at most 4 shards in all or a larger batch")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, verbose: 0, workers: 4, fixedShards: 2) },
            "fixedShards (2) must be at least the worker count (4)")
        XCTAssertEqual(
            message { try model.fit(x: x, y: y, verbose: 0, workers: 2, averaging: .parameters(every: 0)) },
            "parameter averaging needs every >= 1, got 0")
        XCTAssertEqual(try model.weights(), before)
        let stateful = Sequential {
            Input(shape: [8, 1], batchSize: 6); LSTM(4, stateful: true); Dense(1)
        }
        try stateful.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertTrue(
            message { try stateful.fit(x: x.samples(0..<30), y: y.samples(0..<30), shuffle: false, verbose: 0, workers: 4) }
                .hasPrefix("a stateful model's batch (6) must split evenly over the 4 shards"))
        // A short last batch with fewer rows than workers is fine: 33 = 16 + 16 + 1.
        XCTAssertNoThrow(try model.fit(x: Tensor(shape: [33, 8, 1]), y: Tensor(shape: [33, 1]), batchSize: 16, verbose: 0, workers: 2))
    }
}
