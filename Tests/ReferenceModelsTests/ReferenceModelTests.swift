import Loom
import ReferenceModels
import XCTest

/// The benchmark models are the ones the comparison scripts build: same shapes, parameter
/// counts and flop counts (Benchmarks/compare/models.py states the same numbers).
final class ReferenceModelTests: XCTestCase {
    func testEachModelBuildsTrainsAndCountsItsFlops() throws {
        // Keras's parameter counts of the seven models, and models.py's forward flops per sample.
        let expected: [String: (parameters: Int, flops: Double)] = [
            "B1": (1_451, 28_000), "B2": (98_945, 6_291_456), "B3": (119_873, 4_751_360), "B4": (51_777, 1_392_640),
            "B5": (41_601, 2_457_600), "B6": (54_513, 1_094_144), "B7": (7_457, 145_920),
        ]
        XCTAssertEqual(ReferenceModel.all.map(\.benchmark), ["B1", "B2", "B3", "B4", "B5", "B6", "B7"])
        for reference in ReferenceModel.all {
            let model = try reference.makeModel()
            XCTAssertEqual(model.parameterCount, expected[reference.benchmark]?.parameters, reference.id)
            XCTAssertEqual(reference.forwardFlopsPerSample, expected[reference.benchmark]?.flops, reference.id)
            let (x, y) = try reference.makeData(samples: reference.batchSize)
            try reference.fitEpoch(model, x: x, y: y, workers: 1)
            XCTAssertEqual(try reference.predict(model, x: x, workers: 1).shape, [reference.batchSize] + reference.targetShape)
        }
        XCTAssertEqual(ReferenceModel.named("b3")?.id, "stacked")
        XCTAssertEqual(ReferenceModel.named("cnnlstm")?.benchmark, "B6")
    }

    /// B8: LSTM(128) on padded sequences, zeros after each length (uniform in 8...64), its
    /// flops counted over the mean valid steps (models.py's 2·64·512·160·72/128).
    func testPaddedSequences() throws {
        let reference = try XCTUnwrap(ReferenceModel.named("B8"))
        XCTAssertEqual(reference.forwardFlopsPerSample, 5_898_240)
        let (x, y) = try reference.makeData(samples: 256)
        let lengths = try XCTUnwrap(try reference.sequenceLengths(samples: 256))
        XCTAssertEqual(lengths.lengths.min(), 8)
        XCTAssertEqual(lengths.lengths.max(), 64)
        for (sample, length) in lengths.lengths.enumerated() {
            XCTAssertNotEqual(x[sample, length - 1, 0], 0)
            if length < 64 { XCTAssertEqual(x[sample, length, 0], 0) }
        }
        let model = try reference.makeModel()
        try reference.fitEpoch(model, x: x, y: y, workers: 2)
        XCTAssertEqual(try reference.predict(model, x: x, workers: 1).shape, [256, 1])
    }
}
