import Foundation
import LoomKeras
import TestSupport
import XCTest

@testable import Loom

/// One model's Keras reference numbers, read from `Fixtures/Parity/NAME.json`
/// (written by `make_keras_fixtures.py` there).
struct KerasFixture: Decodable {
    struct LayerInfo: Decodable {
        let name: String
        let `class`: String
        let output_shape: [Int]
        let params: Int
    }

    let name: String
    let loss: String
    let x: FixtureArray
    let y: FixtureArray
    let weights: [FixtureArray]
    let output: FixtureArray
    let loss_value: Double
    let gradients: [FixtureArray]
    let adam: [[FixtureArray]]
    let sgd: [[FixtureArray]]
    let rmsprop: [[FixtureArray]]
    let layers: [LayerInfo]
    let batches: [FixtureArray]?
    let batch_targets: [FixtureArray]?
    let stateful_predictions: [FixtureArray]?
    let prediction_after_reset: FixtureArray?
    let stateful_sgd_losses: [Double]?
    let stateful_sgd_weights: [FixtureArray]?

    /// The Loom model of a Keras config in the parity fixtures (`path` relative to
    /// `Fixtures/Parity`), built by LoomKeras's decoder, uncompiled.
    static func model(config path: String) throws -> Sequential {
        try Sequential(kerasModel: Fixtures.url("Parity/\(path)"), compile: false)
    }

    static func load(_ name: String) throws -> KerasFixture { try Fixtures.decode(KerasFixture.self, "Parity/\(name).json") }
}

/// Asserts two tensors have the same shape and agree to `tolerance` relative to the larger
/// magnitude (with an absolute floor of `tolerance` for values near zero).
func assertClose(
    _ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-5, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    var worst: Float = 0, worstIndex = 0
    for i in actual.scalars.indices {
        let a = actual.scalars[i], e = expected.scalars[i]
        let error = abs(a - e) / max(1, abs(e))
        if !(error <= worst) { worst = error; worstIndex = i }
    }
    XCTAssertLessThanOrEqual(
        worst, tolerance,
        "\(message): worst relative error \(worst) at \(worstIndex): \(actual.scalars[worstIndex]) vs \(expected.scalars[worstIndex])",
        file: file, line: line)
}
