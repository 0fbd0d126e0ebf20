import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// The NaN guard: the first step whose loss or gradient is NaN or infinite stops training
/// with an error naming the epoch, the step and the layer, before it changes any weight;
/// the last checkpoint is untouched and gives finite predictions.
final class DivergenceTests: XCTestCase {
    let folder = TemporaryFolder()

    /// Keeps the weights after every step, and the step count.
    final class LastWeights: Callback {
        var weights: [Tensor] = []
        var step = 0
        func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
            weights = try run.model.weights()
            step = run.step
        }
    }

    private func data() throws -> (Tensor, Tensor) {
        var generator = SeededGenerator(seed: 5)
        let x = try Tensor(shape: [64, 5, 2], scalars: (0..<640).map { _ in Float(generator.uniform() * 4 - 2) })
        let y = try Tensor(shape: [64, 1], scalars: (0..<64).map { _ in Float(generator.uniform() * 100) })
        return (x, y)
    }

    private func model(learningRate: Float) throws -> Sequential {
        let model = Sequential(seed: 3) {
            Input(shape: [5, 2])
            LSTM(4, name: "encoder")
            Dense(1, name: "head")
        }
        try model.compile(optimizer: SGD(learningRate: learningRate), loss: .meanSquaredError)
        return model
    }

    func testADivergingRunStopsBeforeTheBadStep() throws {
        let (x, y) = try data()
        for (workers, averaging) in [(1, Averaging.gradients), (2, .gradients), (2, .parameters(every: 2))] {
            let model = try model(learningRate: 1e6)
            let last = LastWeights()
            XCTAssertThrowsError(
                try model.fit(
                    x: x, y: y, epochs: 5, batchSize: 16, verbose: 0, workers: workers,
                    averaging: averaging, callbacks: [last])
            ) { error in
                guard case let LoomError.diverged(epoch, batch, step, detail) = error else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(step, last.step + 1)
                XCTAssertEqual(epoch * 4 + batch + 1, step)
                XCTAssertTrue(
                    detail.contains("the gradient of layer 'encoder' (kernel) holds")
                        || detail.contains("the loss is"), detail)
                XCTAssertTrue("\(error)".hasPrefix("training diverged at epoch \(epoch + 1), batch \(batch + 1) (step \(step)): "))
                XCTAssertTrue("\(error)".contains("the weights are those before this step"))
            }
            if averaging == .gradients {
                XCTAssertEqual(try model.weights().map(\.scalars), last.weights.map(\.scalars), "\(workers) workers")
            }
            XCTAssertTrue(try model.weights().allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        }
    }

    /// The checkpoint of the last good step stays, loads, and predicts finite values.
    func testTheLastCheckpointSurvivesAndPredicts() throws {
        let (x, y) = try data()
        let model = try model(learningRate: 1e6)
        let backup = try BackupAndRestore(backupDirectory: folder.path("backup"), saveFrequency: .steps(1))
        XCTAssertThrowsError(try model.fit(x: x, y: y, epochs: 5, batchSize: 16, verbose: 0, callbacks: [backup]))
        let checkpoint = try XCTUnwrap(try backup.folder.latest())
        let restored = try self.model(learningRate: 0.01)
        try restored.loadWeights(from: checkpoint)
        XCTAssertTrue(try restored.predict(x).scalars.allSatisfy(\.isFinite))
        XCTAssertEqual(try restored.weights().map(\.scalars), try model.weights().map(\.scalars))
    }

    /// Turned off, the guard lets TerminateOnNaN stop the run as Keras's does.
    func testTerminateOnNaNWithTheGuardOff() throws {
        let (x, y) = try data()
        let model = try model(learningRate: 1e6)
        let terminate = TerminateOnNaN()
        let history = try model.fit(
            x: x, y: y, epochs: 5, batchSize: 16, verbose: 0, callbacks: [terminate],
            guardNonFinite: false)
        XCTAssertNotNil(terminate.stoppedAt)
        XCTAssertLessThan(history.epoch.count, 5)
    }
}
