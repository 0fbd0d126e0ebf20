import CHDF5
import Foundation
import Loom
import LoomHDF5
import TestSupport
import XCTest

/// Padded sequences in HDF5: a lengths dataset (the inputs' mask) and sample weights, read
/// with the rows, and each of their mistakes refused by name before any step.
final class SequenceDataTests: XCTestCase {
    let folder = TemporaryFolder()

    /// A file of 6 sequences of 5 steps, padded with zeros on `padding`'s side: X, per-step
    /// targets y, their lengths (int32, with a padding attribute) and per-sample weights.
    private func writeFile(padding: String) throws -> (path: String, x: Tensor, y: Tensor, lengths: [Int]) {
        let path = folder.path("sequences-\(padding).h5")
        let lengths = [5, 2, 4, 1, 3, 5]
        var x = Tensor(shape: [6, 5, 2])
        var generator = SeededGenerator(seed: 9)
        for (row, length) in lengths.enumerated() {
            for t in 0..<length {
                for f in 0..<2 { x[row, padding == "pre" ? 5 - length + t : t, f] = Float(generator.normal()) }
            }
        }
        let y = ramp([6, 5, 1], scale: 0.01)
        writeRaw(path: path, name: "lengths", shape: [6], values: lengths.map(Double.init), type: loom_h5t_native_int32())
        let file = try HDF5File(path: path, mode: .readWrite)
        try file.write(x, as: "X")
        try file.write(y, as: "y")
        try file.write(try Tensor(shape: [6], scalars: [1, 0.5, 2, 1, 0, 1]), as: "w")
        try file.setAttribute("padding", padding, on: "lengths")
        try file.close()
        return (path, x, y, lengths)
    }

    private func model() throws -> Sequential {
        let model = Sequential(seed: 2) {
            Input(shape: [5, 2]); LSTM(3, returnSequences: true); Dense(1)
        }
        try model.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
        return model
    }

    /// Training from the file's lengths and weights is bitwise training in memory with the same
    /// lengths and weights, and, with zeros as padding, training behind a Masking layer.
    func testLengthsAndWeightsFromAFileTrainAsInMemory() throws {
        for padding in ["pre", "post"] {
            let (path, x, y, lengths) = try writeFile(padding: padding)
            let streamed = try HDF5Dataset(path: path, lengths: "lengths", sampleWeights: "w")
            XCTAssertEqual(streamed.sequenceLengths?.padding.rawValue, padding)
            let fromFile = try model()
            let history = try fromFile.fit(dataset: streamed, epochs: 2, batchSize: 4, shuffle: false, verbose: 0)
            let inMemory = try model()
            let dataset = try InMemoryDataset(
                x: x, y: y, sampleWeight: try Tensor(shape: [6], scalars: [1, 0.5, 2, 1, 0, 1]),
                sequenceLengths: SequenceLengths(lengths: lengths, timesteps: 5, padding: padding == "pre" ? .pre : .post))
            let expected = try inMemory.fit(dataset: dataset, epochs: 2, batchSize: 4, shuffle: false, verbose: 0)
            XCTAssertEqual(try fromFile.weights().map(\.scalars), try inMemory.weights().map(\.scalars), padding)
            XCTAssertEqual(history.history["loss"], expected.history["loss"], padding)

            let masked = Sequential(seed: 2) {
                Input(shape: [5, 2]); Masking(); LSTM(3, returnSequences: true); Dense(1)
            }
            try masked.compile(optimizer: Adam(learningRate: 0.01), loss: .meanSquaredError, metrics: [.mae])
            try masked.setWeights(try model().weights())
            try masked.fit(
                x: x, y: y, epochs: 2, batchSize: 4, shuffle: false, verbose: 0,
                sampleWeight: try Tensor(shape: [6], scalars: [1, 0.5, 2, 1, 0, 1]))
            XCTAssertEqual(try masked.weights().map(\.scalars), try inMemory.weights().map(\.scalars), "Masking, \(padding)")
        }
    }

    func testBadLengthsAndWeightsAreRefusedByName() throws {
        let (path, _, _, _) = try writeFile(padding: "post")
        func refusal(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch { return "\(error)" }
        }
        writeRaw(path: path, name: "zero", shape: [6], values: [5, 2, 0, 1, 3, 5], type: loom_h5t_native_int32())
        writeRaw(path: path, name: "minus", shape: [6], values: [5, 2, -1, 1, 3, 5], type: loom_h5t_native_int32())
        writeRaw(path: path, name: "long", shape: [6], values: [5, 2, 6, 1, 3, 5], type: loom_h5t_native_int64())
        writeRaw(path: path, name: "short", shape: [5], values: [5, 2, 4, 1, 3], type: loom_h5t_native_int32())
        writeRaw(path: path, name: "real", shape: [6], values: [5, 2, 4, 1, 3, 5], type: loom_h5t_native_float())
        writeRaw(path: path, name: "negative", shape: [6], values: [1, 1, -1, 1, 1, 1], type: loom_h5t_native_float())
        writeRaw(path: path, name: "nan", shape: [6], values: [1, 1, 1, .nan, 1, 1], type: loom_h5t_native_float())
        writeRaw(path: path, name: "wide", shape: [6, 3], values: Array(repeating: 1, count: 18), type: loom_h5t_native_float())
        writeRaw(path: path, name: "huge", shape: [6], values: [1.8e19, 2, 3, 1, 3, 5], type: loom_h5t_native_uint64())
        writeRaw(path: path, name: "tokens", shape: [6, 5], values: Array(repeating: 1, count: 30), type: loom_h5t_native_float())
        let cases: [(String, () throws -> Void)] = [
            ("'minus' in \(path) holds -1 at sample 2; a length must be in 0...5", { _ = try HDF5Dataset(path: path, lengths: "minus") }),
            ("holds 6 at sample 2; a length must be in 0...5", { _ = try HDF5Dataset(path: path, lengths: "long") }),
            ("has shape (5); expected (6), a length a sample", { _ = try HDF5Dataset(path: path, lengths: "short") }),
            ("holds float32 values; lengths must be integers", { _ = try HDF5Dataset(path: path, lengths: "real") }),
            ("at sample 0; a length must be in 0...5", { _ = try HDF5Dataset(path: path, lengths: "huge") }),
            (
                "gives lengths to inputs of shape (6, 5); lengths mask (samples, timesteps, features) inputs (token ids for an "
                    + "Embedding: pad them with 0 and give it mask_zero=True instead)",
                { _ = try HDF5Dataset(path: path, x: "tokens", lengths: "zero") }
            ),
            ("sample weight -1.0 at sample 2", { _ = try HDF5Dataset(path: path, sampleWeights: "negative") }),
            ("sample weight nan at sample 3", { _ = try HDF5Dataset(path: path, sampleWeights: "nan") }),
        ]
        // A length of 0 is a row of padding only, as a Masking layer masks such a row whole.
        XCTAssertEqual(try HDF5Dataset(path: path, lengths: "zero").sequenceLengths?.lengths, [5, 2, 0, 1, 3, 5])
        for (message, open) in cases {
            let error = refusal(open)
            XCTAssertTrue(error.contains(message), "expected '\(message)', got '\(error)'")
        }
        let wide = try HDF5Dataset(path: path, sampleWeights: "wide")
        let model = try model()
        let before = try model.weights().map(\.scalars)
        XCTAssertTrue(
            refusal { try model.fit(dataset: wide, epochs: 1, verbose: 0) }
                .contains(
                    "sample weights: expected shape (samples) or (samples, 1), a weight a sample, or (samples, 5), a weight a timestep, found (6, 3)"
                ))
        XCTAssertEqual(try model.weights().map(\.scalars), before)
    }
}
