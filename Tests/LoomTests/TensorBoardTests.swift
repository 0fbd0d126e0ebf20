import Foundation
import TestSupport
import XCTest

@testable import Loom
@testable import LoomTensorBoard

/// TensorBoard event files as TensorFlow writes them: TFRecord frames whose masked CRC-32Cs
/// check, a first `file_version` event, then one event per epoch with Keras 3's tags in the
/// `train` and `validation` runs.
final class TensorBoardTests: XCTestCase {
    let folder = TemporaryFolder()

    /// The records of a TFRecord file, each frame's checksums verified.
    private func records(_ url: URL) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var records: [[UInt8]] = [], at = 0
        func word<T: FixedWidthInteger>(_ type: T.Type) -> T {
            defer { at += MemoryLayout<T>.size }
            return bytes[at..<(at + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        while at < bytes.count {
            let lengthBytes = Array(bytes[at..<(at + 8)])
            let length = Int(word(UInt64.self))
            XCTAssertEqual(word(UInt32.self), CRC32C.masked(lengthBytes))
            let record = Array(bytes[at..<(at + length)])
            at += length
            XCTAssertEqual(word(UInt32.self), CRC32C.masked(record))
            records.append(record)
        }
        return records
    }

    /// The (field, value) pairs of a protocol buffer: varints as UInt64, fixed64 and fixed32 as
    /// their bits, length-delimited as bytes.
    private func fields(_ bytes: [UInt8]) -> [(Int, Any)] {
        var at = 0, result: [(Int, Any)] = []
        func varint() -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                let byte = bytes[at]
                at += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        while at < bytes.count {
            let key = varint()
            switch key & 7 {
            case 0: result.append((Int(key >> 3), varint()))
            case 1:
                result.append((Int(key >> 3), bytes[at..<(at + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
                at += 8
            case 5:
                result.append((Int(key >> 3), bytes[at..<(at + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
                at += 4
            default:
                let length = Int(varint())
                result.append((Int(key >> 3), Array(bytes[at..<(at + length)])))
                at += length
            }
        }
        return result
    }

    /// Each event's step and its scalars (tag → value), after the first (version) event and
    /// the second, the session's start at step 0 (field 7, `session_log`, status 1).
    private func scalars(in run: URL) throws -> [(step: Int, values: [String: Float])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1)
        let events = try records(run.appendingPathComponent(files[0])).map(fields)
        XCTAssertEqual(events.first?.first { $0.0 == 3 }.map { String(decoding: $0.1 as! [UInt8], as: UTF8.self) }, "brain.Event:2")
        XCTAssertEqual(events.dropFirst().first?.first { $0.0 == 7 }?.1 as? [UInt8], [0x08, 0x01], "a session start")
        XCTAssertNil(events.dropFirst().first?.first { $0.0 == 2 }, "at step 0")
        return events.dropFirst(2).map { event in
            let step = Int(event.first { $0.0 == 2 }?.1 as? UInt64 ?? 0)
            var values: [String: Float] = [:]
            for case (5, let summary as [UInt8]) in event {
                for case (1, let value as [UInt8]) in fields(summary) {
                    let parts = fields(value)
                    let tag = String(decoding: parts.first { $0.0 == 1 }!.1 as! [UInt8], as: UTF8.self)
                    values[tag] = Float(bitPattern: parts.first { $0.0 == 2 }!.1 as! UInt32)
                }
            }
            return (step, values)
        }
    }

    func testAFitWritesKerasTagsPerEpochInBothRuns() throws {
        let (x, y) = sineData(samples: 20, timesteps: 4, seed: 3)
        let model = Sequential(seed: 2) {
            Input(shape: [4, 1]); LSTM(3); Dense(1)
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError, metrics: [.mae])
        let logs = folder.url.appendingPathComponent("runs/one")
        let history = try model.fit(
            x: x, y: y, epochs: 3, batchSize: 4, validationSplit: 0.2, verbose: 0,
            callbacks: [try TensorBoard(logDir: logs.path, updateFrequency: 2)])
        let train = try scalars(in: logs.appendingPathComponent("train"))
        let epochs = train.filter { $0.values["epoch_loss"] != nil }
        XCTAssertEqual(epochs.map(\.step), [0, 1, 2])
        XCTAssertEqual(epochs.map { $0.values["epoch_loss"]! }, history["loss"].map(Float.init))
        XCTAssertEqual(Set(epochs[0].values.keys), ["epoch_loss", "epoch_mae", "epoch_learning_rate"])
        XCTAssertEqual(train.filter { $0.values["batch_loss"] != nil }.map(\.step), [2, 4, 6, 8, 10, 12])
        let validation = try scalars(in: logs.appendingPathComponent("validation"))
        XCTAssertEqual(validation.map { $0.values["epoch_loss"]! }, history["val_loss"].map(Float.init))
        XCTAssertEqual(Set(validation[0].values.keys), ["epoch_loss", "epoch_mae"])
    }

    /// `histogramFrequency` n writes every n epochs a histogram of each weight: its count, sum,
    /// extremes and buckets (counts adding up to the weight's size) are the weight's.
    func testWeightHistogramsEveryNEpochs() throws {
        let (x, y) = sineData(samples: 12, timesteps: 4, seed: 5)
        let model = Sequential(seed: 4) {
            Input(shape: [4, 1]); LSTM(3, name: "memory"); Dense(1, name: "out")
        }
        try model.compile(optimizer: Adam(), loss: .meanSquaredError)
        let logs = folder.url.appendingPathComponent("runs")
        try model.fit(
            x: x, y: y, epochs: 3, batchSize: 4, verbose: 0, callbacks: [try TensorBoard(logDir: logs.path, histogramFrequency: 2)])
        let run = logs.appendingPathComponent("train")
        let file = try FileManager.default.contentsOfDirectory(atPath: run.path)[0]
        var histograms: [(step: Int, tag: String, fields: [(Int, Any)])] = []
        for event in try records(run.appendingPathComponent(file)).map(fields) {
            let step = Int(event.first { $0.0 == 2 }?.1 as? UInt64 ?? 0)
            for case (5, let summary as [UInt8]) in event {
                for case (1, let value as [UInt8]) in fields(summary) {
                    let parts = fields(value)
                    guard let histo = parts.first(where: { $0.0 == 5 })?.1 as? [UInt8] else { continue }
                    histograms.append((step, String(decoding: parts.first { $0.0 == 1 }!.1 as! [UInt8], as: UTF8.self), fields(histo)))
                }
            }
        }
        let tags = ["memory/kernel", "memory/recurrent_kernel", "memory/bias", "out/kernel", "out/bias"].map { $0 + "/histogram" }
        XCTAssertEqual(histograms.map(\.step), [0, 0, 0, 0, 0, 2, 2, 2, 2, 2])
        XCTAssertEqual(histograms.map(\.tag), tags + tags)
        let weights = try model.weights()
        for (histogram, weight) in zip(histograms.suffix(5), weights) {
            func double(_ field: Int) -> Double { Double(bitPattern: histogram.fields.first { $0.0 == field }?.1 as? UInt64 ?? 0) }
            XCTAssertEqual(double(3), Double(weight.scalars.count), histogram.tag)
            XCTAssertEqual(double(1), Double(weight.scalars.min()!), histogram.tag)
            XCTAssertEqual(double(2), Double(weight.scalars.max()!), histogram.tag)
            XCTAssertEqual(double(4), weight.scalars.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-9, histogram.tag)
            let packed = try XCTUnwrap(histogram.fields.first { $0.0 == 7 }?.1 as? [UInt8])
            let counts = stride(from: 0, to: packed.count, by: 8).map { offset in
                Double(bitPattern: packed[offset..<(offset + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            }
            // Equal values (a Dense(1) bias) make one bucket.
            XCTAssertEqual(counts.count, weight.scalars.min()! < weight.scalars.max()! ? 30 : 1, histogram.tag)
            XCTAssertEqual(counts.reduce(0, +), Double(weight.scalars.count), histogram.tag)
        }
    }

    func testAPathThatIsAFileIsRefusedBeforeTraining() throws {
        let file = folder.url.appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        let model = Sequential {
            Input(shape: [2]); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertThrowsError(
            try model.fit(x: Tensor(shape: [4, 2]), y: Tensor(shape: [4, 1]), verbose: 0, callbacks: [try TensorBoard(logDir: file.path)])
        ) { error in XCTAssertTrue("\(error)".contains("exists and is not a folder"), "\(error)") }
        XCTAssertEqual(model.parameterStore.step, 0)
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283, "the standard check value")
    }
}
