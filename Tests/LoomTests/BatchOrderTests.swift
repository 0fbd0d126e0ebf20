import XCTest

@testable import Loom

/// An epoch's order, computed batch by batch: every row once, shuffled by the seed, and no
/// memory for any sample count.
final class BatchOrderTests: XCTestCase {
    private func epoch(_ rows: Range<Int>, batch: Int, shuffle: Bool, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        let order = BatchOrder(rows: rows, batchSize: batch, shuffle: shuffle, generator: &generator)
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
}
