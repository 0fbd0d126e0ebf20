import XCTest

@_spi(Kernels) @testable import Loom

/// The reuse of freed workspace memory: which blocks a request may take, the pool's bound,
/// and that a `FloatBuffer` built on reused memory still starts at zero.
final class WorkspacePoolTests: XCTestCase {
    func testTakesTheSmallestFittingBlockWithinAQuarterAndKeepsItsBound() {
        let pool = WorkspacePool(minimumBytes: 64, maximumPooledBytes: 1_000)
        let small = UnsafeMutableRawPointer.allocate(byteCount: 400, alignment: 64)
        let large = UnsafeMutableRawPointer.allocate(byteCount: 500, alignment: 64)
        let extra = UnsafeMutableRawPointer.allocate(byteCount: 200, alignment: 64)
        defer { for block in [small, large, extra] { block.deallocate() } }
        XCTAssertFalse(pool.give(small, bytes: 32), "below the minimum: the caller frees it")
        XCTAssertTrue(pool.give(large, bytes: 500))
        XCTAssertTrue(pool.give(small, bytes: 400))
        XCTAssertFalse(pool.give(extra, bytes: 200), "900 bytes kept: 200 more would pass the bound")
        XCTAssertNil(pool.take(bytes: 300), "400 is more than 5/4 of 300")
        XCTAssertNil(pool.take(bytes: 32), "below the minimum")
        XCTAssertEqual(pool.take(bytes: 400)?.start, small, "the smallest block that fits")
        XCTAssertNil(pool.take(bytes: 390), "500 is more than 5/4 of 390")
        XCTAssertEqual(pool.take(bytes: 400)?.start, large)
        XCTAssertNil(pool.take(bytes: 400), "each block is taken once")
        XCTAssertTrue(pool.give(extra, bytes: 200), "taking made room")
        XCTAssertEqual(pool.take(bytes: 200)?.start, extra)
    }

    func testAFloatBufferOnReusedMemoryStartsAtZero() {
        let count = 700_001  // 2.8 MB: pooled
        // Blocks that earlier tests left in the shared pool could serve either buffer below:
        // freed first, so that `second` can only take what `first` gave back.
        while let leftover = WorkspacePool.shared.take(bytes: count * MemoryLayout<Float>.stride) {
            leftover.start.deallocate()
        }
        var first: FloatBuffer? = FloatBuffer(count: count)
        first!.pointer.update(repeating: 7, count: count)
        let reused = first!.pointer
        first = nil
        let second = FloatBuffer(count: count)
        XCTAssertEqual(second.pointer, reused, "the freed block is taken again")
        XCTAssertTrue((0..<second.capacity).allSatisfy { second.pointer[$0] == 0 })
        let grown = FloatBuffer()
        grown.reserveDiscarding(count)
        XCTAssertTrue((0..<grown.capacity).allSatisfy { grown.pointer[$0] == 0 })
    }
}
