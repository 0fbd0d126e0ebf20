import Foundation
@_spi(Kernels) import Loom
import TestSupport
import XCTest

@testable import LoomHDF5

final class HDF5DatasetTests: XCTestCase {
    let folder = TemporaryFolder()

    private func makeFile(samples: Int = 50, timesteps: Int = 4, features: Int = 3) throws -> (String, Tensor, Tensor) {
        let path = folder.path("data.h5")
        let x = ramp([samples, timesteps, features], scale: 0.01)
        let y = ramp([samples, 2], scale: -0.1, offset: 1)
        let file = try HDF5File(path: path, mode: .create)
        try file.write(x, as: "X", chunkRows: 7, compression: 1)
        try file.write(y, as: "y")
        return (path, x, y)
    }

    /// Reads every batch of an epoch the way `fit` does (prefetching the next one).
    private func epoch(
        _ dataset: any Dataset, shuffle: Bool, blocks: BlockShuffle? = nil, batch: Int, seed: UInt64
    ) throws -> ([Float], [Float]) {
        var generator = SeededGenerator(seed: seed)
        let order = BatchOrder(
            rows: 0..<dataset.sampleCount, batchSize: batch, shuffle: shuffle, blocks: blocks, generator: &generator)
        let inputStride = Shape.count(dataset.inputShape), targetStride = Shape.count(dataset.targetShape!)
        var inputs: [Float] = [], targets: [Float] = []
        for k in 0..<order.batchCount {
            let rows = order.batch(k)
            var x = [Float](repeating: 0, count: rows.count * inputStride)
            var y = [Float](repeating: 0, count: rows.count * targetStride)
            try x.withUnsafeMutableBufferPointer { xb in
                try y.withUnsafeMutableBufferPointer { yb in
                    try dataset.read(rows: rows, inputs: xb.baseAddress!, targets: yb.baseAddress!)
                }
            }
            if k + 1 < order.batchCount { dataset.prefetch(rows: order.batch(k + 1), targets: true) }
            inputs += x
            targets += y
        }
        return (inputs, targets)
    }

    func testStreamedEpochSeesTheSameSamplesInTheSameOrder() throws {
        let (path, x, y) = try makeFile()
        let streamed = try HDF5Dataset(path: path)
        let memory = try InMemoryDataset(x: x, y: y)
        XCTAssertEqual(streamed.sampleCount, 50)
        XCTAssertEqual(streamed.inputShape, [4, 3])
        XCTAssertEqual(streamed.targetShape, [2])
        for shuffle in [false, true] {
            let a = try epoch(streamed, shuffle: shuffle, batch: 8, seed: 3)
            let b = try epoch(memory, shuffle: shuffle, batch: 8, seed: 3)
            XCTAssertEqual(a.0, b.0, "inputs, shuffle \(shuffle)")
            XCTAssertEqual(a.1, b.1, "targets, shuffle \(shuffle)")
        }
        XCTAssertEqual(try epoch(streamed, shuffle: false, batch: 8, seed: 0).0, x.scalars)
    }

    func testSmallBlocksAndAShortLastBatch() throws {
        let (path, x, y) = try makeFile(samples: 53)
        let streamed = try HDF5Dataset(path: path)
        streamed.blockBytes = 3 * 14 * 4 * 8  // three batches of 8 rows (12 inputs + 2 targets each) per block
        let (inputs, targets) = try epoch(streamed, shuffle: false, batch: 8, seed: 0)
        XCTAssertEqual(inputs, x.scalars)
        XCTAssertEqual(targets, y.scalars)
        // Another batch size on the same dataset, and a read with no read-ahead at all.
        XCTAssertEqual(try epoch(streamed, shuffle: false, batch: 5, seed: 0).0, x.scalars)
        var row = [Float](repeating: 0, count: 12)
        try row.withUnsafeMutableBufferPointer { try streamed.read(rows: [40][...], inputs: $0.baseAddress!, targets: nil) }
        XCTAssertEqual(row, Array(x.scalars[(40 * 12)..<(41 * 12)]))
    }

    /// Block-shuffled epochs read through whole blocks (`readInBlocks`) give the rows the
    /// in-memory dataset gives, with and without targets, and a fit the same history, bit
    /// for bit.
    func testBlockShuffledEpochsReadWholeBlocks() throws {
        let (path, x, y) = try makeFile(samples: 53)
        let blocks = try BlockShuffle(blockRows: 7, windowBlocks: 2)
        let streamed = try HDF5Dataset(path: path)
        let memory = try InMemoryDataset(x: x, y: y)
        streamed.readInBlocks(blocks, rows: 0..<53)
        var row = [Float](repeating: 0, count: 24)
        try row.withUnsafeMutableBufferPointer { try streamed.read(rows: [40, 3][...], inputs: $0.baseAddress!, targets: nil) }
        XCTAssertEqual(row, Array(x.scalars[(40 * 12)..<(41 * 12)] + x.scalars[(3 * 12)..<(4 * 12)]))
        for seed: UInt64 in [3, 4] {
            let read = streamed.blocksRead
            let a = try epoch(streamed, shuffle: true, blocks: blocks, batch: 8, seed: seed)
            let b = try epoch(memory, shuffle: true, blocks: blocks, batch: 8, seed: seed)
            XCTAssertEqual(a.0, b.0, "inputs")
            XCTAssertEqual(a.1, b.1, "targets")
            // Every block read once an epoch (the block left from the last epoch may be read again).
            XCTAssertLessThanOrEqual(streamed.blocksRead - read, 8 + 1, "blocks read")
        }
        // Rows 10..<45 as a dataset of their own: its blocks start at its own first row.
        let view = try DatasetRows(streamed, rows: 10..<45)
        view.readInBlocks(blocks, rows: 0..<35)
        let before = streamed.blocksRead
        XCTAssertEqual(
            try epoch(view, shuffle: true, blocks: blocks, batch: 8, seed: 5).0,
            try epoch(DatasetRows(memory, rows: 10..<45), shuffle: true, blocks: blocks, batch: 8, seed: 5).0)
        XCTAssertEqual(streamed.blocksRead - before, 5, "35 rows in 5 blocks of 7, each read once")
        streamed.readInBlocks(nil, rows: 0..<53)
        XCTAssertEqual(
            try epoch(streamed, shuffle: true, blocks: blocks, batch: 8, seed: 3).0,
            try epoch(memory, shuffle: true, blocks: blocks, batch: 8, seed: 3).0)
        func model() throws -> Sequential {
            let model = Sequential(seed: 4) {
                Input(shape: [4, 3]); LSTM(5); Dense(2)
            }
            try model.compile(optimizer: Adam(), loss: .meanSquaredError)
            return model
        }
        let fromFile = try model().fit(
            dataset: HDF5Dataset(path: path), epochs: 3, batchSize: 8, blockShuffle: blocks, validationSplit: 0.2, verbose: 0)
        let fromMemory = try model().fit(x: x, y: y, epochs: 3, batchSize: 8, blockShuffle: blocks, validationSplit: 0.2, verbose: 0)
        let rowShuffled = try model().fit(x: x, y: y, epochs: 3, batchSize: 8, validationSplit: 0.2, verbose: 0)
        XCTAssertEqual(fromFile.history, fromMemory.history)
        XCTAssertNotEqual(fromFile.history, rowShuffled.history)
    }

    func testTrainingFromTheFileEqualsTrainingFromMemory() throws {
        let (path, x, y) = try makeFile()
        func model() throws -> Sequential {
            let model = Sequential(seed: 4) {
                Input(shape: [4, 3]); LSTM(5); Dense(2)
            }
            try model.compile(optimizer: Adam(), loss: .meanSquaredError, metrics: [.mae])
            return model
        }
        let fromFile = try model().fit(dataset: HDF5Dataset(path: path), epochs: 3, batchSize: 8, validationSplit: 0.2, verbose: 0)
        let fromMemory = try model().fit(x: x, y: y, epochs: 3, batchSize: 8, validationSplit: 0.2, verbose: 0)
        XCTAssertEqual(fromFile.history, fromMemory.history)
    }

    /// Files that declare more than any machine holds (HDF5 allocates storage only when
    /// written, so such a file is a few KB): a sample too large to read, a dataset never
    /// written, or predictions too large to keep are refused by name before any allocation;
    /// rows never written are refused by the first read that reaches them.
    func testDeclaredSizesBeyondTheMachineStreamOrAreRefusedBeforeAnyAllocation() throws {
        let samples = folder.path("huge-samples.h5"), wide = folder.path("huge-sample.h5")
        let declared = folder.path("declared.h5"), overflowing = folder.path("overflowing.h5")
        do {
            // 10^12 samples in chunks of 64 rows, the first chunk written.
            let file = try HDF5File(path: samples, mode: .create)
            try file.createDataset("X", shape: [1_000_000_000_000, 24, 3], chunkRows: 64)
            try file.createDataset("y", shape: [1_000_000_000_000, 1], chunkRows: 64)
            let rows = [Float](repeating: 0.5, count: 64 * 72)
            try file.write("X", rows: 0..<64, from: rows)
            try file.write("y", rows: 0..<64, from: rows)
            let other = try HDF5File(path: wide, mode: .create)
            try other.createDataset("X", shape: [2, 1 << 20, 1 << 20, 1 << 10])
            try other.createDataset("y", shape: [2, 1])
            let only = try HDF5File(path: declared, mode: .create)
            try only.createDataset("X", shape: [1_000_000_000_000, 24, 3])
            try only.createDataset("y", shape: [1_000_000_000_000, 1])
            let product = try HDF5File(path: overflowing, mode: .create)
            try product.createDataset("X", shape: [4, 1 << 32, 1 << 32])
            try product.createDataset("y", shape: [4, 1])
        }
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: samples)[.size] as? Int ?? 0, 1 << 20)
        XCTAssertEqual(
            message { _ = try HDF5Dataset(path: wide) },
            "\(wide), dataset 'X': a sample of shape (1048576, 1048576, 1024) holds more than 2^31 - 1 values; "
                + "Loom reads at most that many")
        XCTAssertEqual(
            message { _ = try HDF5Dataset(path: overflowing) },
            "\(overflowing), dataset 'X': a sample of shape (4294967296, 4294967296) holds more than 2^31 - 1 values; "
                + "Loom reads at most that many")
        XCTAssertEqual(
            message { _ = try HDF5Dataset(path: declared) },
            "\(declared), dataset 'X': declares shape (1000000000000, 24, 3) but holds no data: nothing was ever "
                + "written to it, so every value would be its fill value")
        let dataset = try HDF5Dataset(path: samples)
        let model = Sequential(seed: 1) {
            Input(shape: [24, 3]); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        // Training streams such a file: nothing grows with the sample count (the epoch's
        // shuffled order included), so its first read comes at once, and is refused: it
        // reaches rows never written (chunks of fill values), which are never read as data.
        final class StopAfterOneBatch: Callback {
            var batches = 0
            func onBatchEnd(_ batch: Int, logs: [String: Double], run: TrainingRun) throws {
                batches += 1
                run.stopTraining = true
            }
        }
        for shuffle in [false, true] {
            let stop = StopAfterOneBatch()
            XCTAssertTrue(
                message {
                    try model.fit(dataset: dataset, epochs: 1, shuffle: shuffle, validationSplit: 0, verbose: 0, callbacks: [stop])
                }
                .hasSuffix("lie in a chunk that was never written: they would read as the fill value"))
            XCTAssertEqual(stop.batches, 0)
        }
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        XCTAssertEqual(
            message { _ = try model.predict(dataset: dataset) },
            "predict: the data declares 1000000000000 samples; their outputs alone would need "
                + "3725 GiB, more than this machine's \(memory) GiB; stream them with predict(dataset:each:) "
                + "(loom predict --out)")
    }

    /// A batch size past the sample count, even the largest Int, is one batch of all samples,
    /// in training, validation, evaluation and prediction, on one worker or several.
    func testAnEnormousBatchSizeIsOneBatch() throws {
        var generator = SeededGenerator(seed: 1)
        let order = BatchOrder(rows: 0..<10, batchSize: Int.max, shuffle: false, generator: &generator)
        XCTAssertEqual(order.batchCount, 1)
        XCTAssertEqual(Array(order.batch(0)), Array(0..<10))
        let short = BatchOrder(rows: 0..<10, batchSize: 4, shuffle: false, generator: &generator)
        XCTAssertEqual((0..<short.batchCount).map { Array(short.batch($0)) }, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])

        let x = try Tensor(shape: [10, 3, 2], scalars: (0..<60).map { Float($0 % 7) / 7 })
        let y = try Tensor(shape: [10, 1], scalars: (0..<10).map { Float($0) / 10 })
        let model = Sequential(seed: 1) {
            Input(shape: [3, 2]); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        for workers in [1, 2] {
            let history = try model.fit(x: x, y: y, epochs: 1, batchSize: .max, validationSplit: 0.2, verbose: 0, workers: workers)
            XCTAssertEqual(history["val_loss"].count, 1)
            XCTAssertEqual(try model.predict(x, batchSize: .max, workers: workers).shape, [10, 1])
            XCTAssertNotNil(try model.evaluate(x: x, y: y, batchSize: .max, workers: workers)["loss"])
        }
    }

    func testRowsOutsideTheDatasetAreRefused() throws {
        let (path, _, _) = try makeFile(samples: 50)
        let dataset = try HDF5Dataset(path: path)
        var buffer = [Float](repeating: 0, count: 15 * 12)
        for rows in [[100, 101], Array(45..<60)] {
            XCTAssertEqual(
                message {
                    try buffer.withUnsafeMutableBufferPointer {
                        try dataset.read(rows: rows[...], inputs: $0.baseAddress!, targets: nil)
                    }
                }, "\(path), dataset 'X': row \(rows.first! >= 50 ? rows.first! : 50) outside its 50 samples")
        }
    }

    func testSampleCountsThatDiffer() throws {
        let path = folder.path("counts.h5")
        let file = try HDF5File(path: path, mode: .create)
        try file.write(ramp([10, 4, 3]), as: "X")
        try file.write(ramp([9, 1]), as: "y")
        XCTAssertEqual(
            message { _ = try HDF5Dataset(path: path) },
            "\(path), dataset 'y': has 9 samples but 'X' has 10; they must match")
    }

    func testEmbeddingIndicesAreCheckedAsBatchesStream() throws {
        let path = folder.path("tokens.h5")
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.write(try Tensor(shape: [8, 3], scalars: (0..<24).map { $0 == 19 ? 9 : Float($0 % 4) }), as: "X")
            try file.write(ramp([8, 1]), as: "y")
        }
        let model = Sequential(seed: 1) {
            Input(shape: [3]); Embedding(inputDim: 4, outputDim: 2); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        XCTAssertEqual(
            message { try model.fit(dataset: HDF5Dataset(path: path), batchSize: 4, shuffle: false, verbose: 0) },
            "Embedding 'embedding': x holds 9.0 at sample 6, position 1; expected a whole number in 0..<4 (the inputDim)")
    }

    func testRanksNotAllowed() throws {
        let path = folder.path("ranks.h5")
        let file = try HDF5File(path: path, mode: .create)
        try file.write(ramp([10]), as: "X")
        try file.write(ramp([10, 2, 2, 2]), as: "y")
        XCTAssertEqual(
            message { _ = try HDF5Dataset(path: path) },
            "\(path), dataset 'X': has shape (10); expected rank 2 to 5, (samples, timesteps, features) for sequences")
        XCTAssertTrue(message { _ = try HDF5Dataset(path: path, x: "y", y: nil) }.contains("no error"))
    }

    func testNaNIsFoundWhileReadingAndNamesTheSample() throws {
        let path = folder.path("nan.h5")
        var x = ramp([20, 2, 1])
        x[13, 1, 0] = .nan
        let file = try HDF5File(path: path, mode: .create)
        try file.write(x, as: "X")
        try file.write(ramp([20, 1]), as: "y")
        let model = Sequential {
            Input(shape: [2, 1]); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let before = try model.weights()
        XCTAssertEqual(
            message { try model.fit(dataset: HDF5Dataset(path: path), epochs: 1, batchSize: 4, shuffle: false, verbose: 0) },
            "\(path), dataset 'X': holds NaN or Inf at sample 13")
        // The bad value is found when its block is read, before any of its batches trains.
        XCTAssertEqual(try model.weights(), before)
        // Shuffled batches are read one by one and stop at the batch holding sample 13.
        XCTAssertEqual(
            message { try model.fit(dataset: HDF5Dataset(path: path), epochs: 1, batchSize: 4, verbose: 0) },
            "\(path), dataset 'X': holds NaN or Inf at sample 13")
        XCTAssertTrue(try model.weights().allSatisfy { $0.firstNonFiniteSample() == nil })
        // Block-shuffled batches stop at the block holding it.
        XCTAssertEqual(
            message {
                try model.fit(
                    dataset: HDF5Dataset(path: path), epochs: 1, batchSize: 4,
                    blockShuffle: try BlockShuffle(blockRows: 5, windowBlocks: 2), verbose: 0)
            },
            "\(path), dataset 'X': holds NaN or Inf at sample 13")
    }

    /// A chunked dataset written in part: rows in the chunks written read, rows in a chunk
    /// never written (fill values) are refused by name, whichever way they are read.
    func testRowsOfChunksNeverWrittenAreRefused() throws {
        let path = folder.path("partial.h5")
        do {
            let file = try HDF5File(path: path, mode: .create)
            try file.createDataset("X", shape: [256, 4, 1], chunkRows: 64)
            try file.createDataset("y", shape: [256, 1], chunkRows: 64)
            let rows = [Float](repeating: 0.25, count: 64 * 4)
            for start in [0, 128, 192] {
                try file.write("X", rows: start..<(start + 64), from: rows)
                try file.write("y", rows: start..<(start + 64), from: rows)
            }
            try file.close()
        }
        let dataset = try HDF5Dataset(path: path)
        let x = FloatBuffer(count: 64 * 4), y = FloatBuffer(count: 64)
        try dataset.read(rows: Array(128..<192)[...], inputs: x.pointer, targets: y.pointer)
        let refusal = "\(path), dataset 'X': rows 64..<128 lie in a chunk that was never written: they would read as the fill value"
        XCTAssertEqual(message { try dataset.read(rows: [3, 70, 200][...], inputs: x.pointer, targets: y.pointer) }, refusal)
        XCTAssertEqual(message { _ = try HDF5File(path: path).read("X") }, refusal)
    }
}
