import Foundation
import Loom
import TestSupport
import XCTest

/// Inputs and Keras's predictions for one fixture model (`Fixtures/Files/NAME.expected.json`, written by
/// `make_keras_models.py` there): consecutive `predict` calls, in order (a stateful model
/// carries its state from one to the next).
struct ExpectedPredictions: Decodable {
    let inputs: [FixtureArray]
    let outputs: [FixtureArray]

    static func named(_ name: String) throws -> ExpectedPredictions {
        try JSONDecoder().decode(ExpectedPredictions.self, from: Data(contentsOf: fixture("\(name).expected.json")))
    }
}

/// A file of the Keras files' fixtures (`Fixtures/Files`).
func fixture(_ name: String) throws -> URL { try Fixtures.url("Files/\(name)") }

/// Runs the expected inputs through `model` in order and compares every output with Keras's,
/// to 1e-5 relative (plus 1e-6 absolute for values near zero).
func assertPredicts(
    _ model: Sequential, like expected: ExpectedPredictions, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) throws {
    model.resetStates()
    for (input, output) in zip(expected.inputs, expected.outputs) {
        let predicted = try model.predict(input.tensor, batchSize: input.shape[0])
        XCTAssertEqual(predicted.shape, output.shape, what, file: file, line: line)
        let worst = zip(predicted.scalars, output.values).map { abs($0 - $1) - 1e-5 * max(abs($0), abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-6, "\(what): predictions differ from Keras's", file: file, line: line)
    }
}
