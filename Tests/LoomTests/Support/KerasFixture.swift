import Foundation
import LoomKeras
import XCTest

@testable import Loom

/// One model's Keras reference numbers, read from `Fixtures/NAME.json`
/// (written by `Fixtures/make_keras_fixtures.py`).
struct KerasFixture: Decodable {
    struct Array: Decodable {
        let shape: [Int]
        let values: [Float]
        var tensor: Tensor { try! Tensor(shape: shape, scalars: values) }
    }

    struct LayerInfo: Decodable {
        let name: String
        let `class`: String
        let output_shape: [Int]
        let params: Int
    }

    let name: String
    let loss: String
    let x: Array
    let y: Array
    let weights: [Array]
    let output: Array
    let loss_value: Double
    let gradients: [Array]
    let adam: [[Array]]
    let sgd: [[Array]]
    let rmsprop: [[Array]]
    let layers: [LayerInfo]
    let batches: [Array]?
    let batch_targets: [Array]?
    let stateful_predictions: [Array]?
    let prediction_after_reset: Array?
    let stateful_sgd_losses: [Double]?
    let stateful_sgd_weights: [Array]?

    /// The Loom model of a Keras config in Fixtures (`path` relative to it), built by
    /// LoomKeras's decoder, uncompiled.
    static func model(config path: String) throws -> Sequential {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        return try Sequential(kerasModel: folder.appendingPathComponent(path), compile: false)
    }

    static func load(_ name: String) throws -> KerasFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(KerasFixture.self, from: Data(contentsOf: url))
    }
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
