import Foundation
import Loom
import XCTest

/// The Keras fixtures, one tree (`Tests/TestSupport/Fixtures`), each generator script beside
/// what it wrote:
/// - `Parity/`: Keras's numbers for Loom to match — layer models (`make_keras_fixtures.py`,
///   their Keras configs in `Configs/`), masks, losses, metrics, optimizers — and
///   `TensorBoard/check_event_files.py`, which reads Loom's event files with TensorBoard.
/// - `Files/`: files Keras saves in each of its formats, with its predictions
///   (`make_keras_models.py`), and compiled models with their training (`Compiled/`).
public enum Fixtures {
    /// The fixture at `path` inside the tree (`"Parity/gru.json"`); fails the test when missing.
    public static func url(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("no fixture \(path)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return url
    }

    /// The JSON fixture at `path`, decoded.
    public static func decode<T: Decodable>(
        _ type: T.Type, _ path: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(path, file: file, line: line)))
    }
}

/// An array in a fixture's JSON: its shape and its values in row-major order (`values`, or
/// `data` in the Keras files' expectations).
public struct FixtureArray: Decodable {
    /// The array's shape.
    public let shape: [Int]
    /// Its values, `shape`'s product of them.
    public let values: [Float]

    private enum CodingKeys: String, CodingKey { case shape, values, data }

    /// Reads `shape` and `values` (or `data`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        shape = try container.decode([Int].self, forKey: .shape)
        values = try container.decodeIfPresent([Float].self, forKey: .values) ?? container.decode([Float].self, forKey: .data)
    }

    /// The array as a tensor (the shape and the values' count agree, or the fixture is broken).
    public var tensor: Tensor { try! Tensor(shape: shape, scalars: values) }
}
