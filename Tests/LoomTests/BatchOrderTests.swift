import XCTest

@testable import Loom

/// An epoch's order, computed batch by batch: every row once, shuffled by the seed, and no
/// memory for any sample count.
final class BatchOrderTests: XCTestCase {
    private func epoch(_ rows: Range<Int>, batch: Int, shuffle: Bool, blocks: BlockShuffle? = nil, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        let order = BatchOrder(rows: rows, batchSize: batch, shuffle: shuffle, blocks: blocks, generator: &generator)
        return (0..<order.batchCount).flatMap { Array(order.batch($0)) }
    }

    func testEveryRowOnceInEveryEpoch() {
        for count in [0, 1, 2, 3, 5, 16, 17, 100, 1000, 4097] {
            for batch in [1, 7, 32, count + 1] {
                let rows = 10..<(10 + count)
                XCTAssertEqual(epoch(rows, batch: batch, shuffle: false, seed: 1), Array(rows))
                XCTAssertEqual(epoch(rows, batch: batch, shuffle: true, seed: 1).sorted(), Array(rows), "\(count) rows")
            }
        }
    }

    func testShuffledOrdersDependOnTheSeedAndMixTheRows() {
        let first = epoch(0..<1000, batch: 32, shuffle: true, seed: 1)
        XCTAssertEqual(first, epoch(0..<1000, batch: 32, shuffle: true, seed: 1), "the same seed, the same order")
        XCTAssertNotEqual(first, epoch(0..<1000, batch: 32, shuffle: true, seed: 2))
        // Rows move far: the mean displacement of a uniform shuffle of n rows is about n/3.
        let displacement = first.enumerated().map { abs($0.offset - $0.element) }.reduce(0, +) / first.count
        XCTAssertGreaterThan(displacement, 250)
        // The first batch draws rows from the whole range, not one corner.
        XCTAssertGreaterThan(first.prefix(32).max()! - first.prefix(32).min()!, 700)
    }

    func testAnEpochOfAnySampleCountTakesNoMemory() {
        var generator = SeededGenerator(seed: 3)
        let rows = 0..<(Int.max / 2)
        let order = BatchOrder(rows: rows, batchSize: 512, shuffle: true, generator: &generator)
        let last = order.batch(order.batchCount - 1)
        XCTAssertEqual(last.count, rows.count - (order.batchCount - 1) * 512)
        XCTAssertTrue(last.allSatisfy { rows.contains($0) })
        XCTAssertEqual(Set(order.batch(12_345)).count, 512)
    }

    /// A block shuffle: every row once, whatever the rows, block and window sizes (a short
    /// last block, a window past the blocks, a block past the rows); each window's rows come
    /// from its blocks alone; orders differ by seed and epoch and repeat for a seed.
    func testBlockShuffleCoversEveryRowOnceAWindowAtATime() throws {
        for count in [0, 1, 5, 64, 100, 1000, 4097] {
            for (blockRows, window) in [(1, 1), (7, 1), (7, 3), (16, 4), (64, 16), (5000, 2)] {
                let blocks = try BlockShuffle(blockRows: blockRows, windowBlocks: window)
                let rows = 10..<(10 + count)
                let order = epoch(rows, batch: 32, shuffle: true, blocks: blocks, seed: 1)
                XCTAssertEqual(order.sorted(), Array(rows), "\(count) rows, \(blocks)")
                // Window by window: the shortest run of positions holding every row of the blocks it
                // touches is a window, and touches at most `window` blocks.
                var start = 0
                while start < order.count {
                    var touched = Set<Int>(), size = 0, end = start
                    repeat {
                        let block = (order[end] - 10) / blockRows
                        if touched.insert(block).inserted { size += min(blockRows, count - block * blockRows) }
                        end += 1
                    } while end - start < size
                    XCTAssertLessThanOrEqual(touched.count, window, "\(count) rows, \(blocks), from \(start)")
                    start = end
                }
            }
        }
        let blocks = try BlockShuffle(blockRows: 16, windowBlocks: 4)
        let first = epoch(0..<1000, batch: 32, shuffle: true, blocks: blocks, seed: 1)
        XCTAssertEqual(first, epoch(0..<1000, batch: 32, shuffle: true, blocks: blocks, seed: 1), "the same seed, the same order")
        XCTAssertNotEqual(first, epoch(0..<1000, batch: 32, shuffle: true, blocks: blocks, seed: 2))
        XCTAssertNotEqual(first, epoch(0..<1000, batch: 32, shuffle: true, seed: 1), "not the row shuffle")
        var generator = SeededGenerator(seed: 1)
        let epochs = (0..<2).map { _ in
            let order = BatchOrder(rows: 0..<1000, batchSize: 32, shuffle: true, blocks: blocks, generator: &generator)
            return (0..<order.batchCount).flatMap { Array(order.batch($0)) }
        }
        XCTAssertEqual(epochs[0], first)
        XCTAssertNotEqual(epochs[1], epochs[0], "each epoch its own order")
        // The blocks move far, and a window's rows are mixed: the first batch spans its window's blocks.
        XCTAssertGreaterThan(first.prefix(32).max()! - first.prefix(32).min()!, 100)
        XCTAssertThrowsError(try BlockShuffle(blockRows: 0, windowBlocks: 4))
        XCTAssertThrowsError(try BlockShuffle(blockRows: 4, windowBlocks: 0))
    }

    /// A dataset that declares `samples` rows of `inputShape` and is never read (fit refuses first).
    private struct Declared: Dataset {
        let sampleCount: Int
        let inputShape: [Int]
        var targetShape: [Int]? { [1] }
        func read(rows: ArraySlice<Int>, inputs: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>?) throws {
            XCTFail("read")
        }
    }

    /// fit refuses a block shuffle without a shuffle, with more blocks than its order keeps,
    /// or whose held blocks would not fit in memory, before any step.
    func testBlockShuffleRefusals() throws {
        let model = Sequential(seed: 1) {
            Input(shape: [2, 1]); LSTM(2); Dense(1)
        }
        try model.compile(optimizer: SGD(), loss: .meanSquaredError)
        let before = try model.weights()
        func message(_ dataset: any Dataset, _ blocks: BlockShuffle, shuffle: Bool = true) -> String {
            do {
                try model.fit(dataset: dataset, shuffle: shuffle, blockShuffle: blocks, verbose: 0)
                return "trained"
            } catch { return "\(error)" }
        }
        let small = Declared(sampleCount: 64, inputShape: [2, 1])
        XCTAssertTrue(
            message(small, try BlockShuffle(blockRows: 8, windowBlocks: 2), shuffle: false)
                .contains("blockShuffle orders a shuffled epoch; it needs shuffle: true"))
        let many = Declared(sampleCount: (1 << 24) + 1, inputShape: [2, 1])
        XCTAssertTrue(
            message(many, try BlockShuffle(blockRows: 1, windowBlocks: 2))
                .contains(
                    "make 16777217 blocks of 1 rows; a block shuffle keeps one entry a block, at most 2^24: use blocks of at least 2 rows"))
        let wide = Declared(sampleCount: 1 << 40, inputShape: [2, 1])
        XCTAssertTrue(
            message(wide, try BlockShuffle(blockRows: 1 << 34, windowBlocks: 2)).contains("holds 3 blocks"), "memory")
        XCTAssertTrue(
            message(wide, try BlockShuffle(blockRows: 1 << 34, windowBlocks: .max)).contains("holds 65 blocks"), "a window past the blocks")
        XCTAssertEqual(try model.weights(), before)
    }
}
