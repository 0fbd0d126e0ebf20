import Foundation
import Loom
import XCTest

/// Inputs and Keras's predictions for one fixture model (`NAME.expected.json`, written by
/// `Fixtures/make_keras_models.py`): consecutive `predict` calls, in order (a stateful model
/// carries its state from one to the next).
struct ExpectedPredictions: Decodable {
    struct Array: Decodable {
        let shape: [Int]
        let data: [Float]
        func tensor() throws -> Tensor { try Tensor(shape: shape, scalars: data) }
    }

    let inputs: [Array]
    let outputs: [Array]

    static func named(_ name: String) throws -> ExpectedPredictions {
        try JSONDecoder().decode(ExpectedPredictions.self, from: Data(contentsOf: fixture("\(name).expected.json")))
    }
}

/// A file of the Fixtures folder.
func fixture(_ name: String) throws -> URL {
    try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "no fixture \(name)")
}

/// Runs the expected inputs through `model` in order and compares every output with Keras's,
/// to 1e-5 relative (plus 1e-6 absolute for values near zero).
func assertPredicts(
    _ model: Sequential, like expected: ExpectedPredictions, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    model.resetStates()
    for (input, output) in zip(expected.inputs, expected.outputs) {
        let predicted = try model.predict(try input.tensor(), batchSize: input.shape[0])
        XCTAssertEqual(predicted.shape, output.shape, what, file: file, line: line)
        let worst = zip(predicted.scalars, output.data).map { abs($0 - $1) - 1e-5 * max(abs($0), abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-6, "\(what): predictions differ from Keras's", file: file, line: line)
    }
}
