/// The position → row map of a block-shuffled epoch of `count` rows (`BlockShuffle`),
/// evaluated position by position.
///
/// The blocks (rows `b·blockRows ..< (b+1)·blockRows`; the last may be short) are put in the
/// order of a `RowPermutation` of them and cut into windows of `windowBlocks` consecutive
/// blocks of that order, a window's short block (the rows' last block, when short) moved to
/// its end. Window j covers positions `windowStarts[j] ..< windowStarts[j+1]`, and its rows
/// come in the order of a `RowPermutation` keyed by the epoch's key and j. Memory: one
/// entry a block and a window, none a row.
struct BlockPermutation {
    let count: Int
    let shuffle: BlockShuffle
    /// The blocks in epoch order.
    private let blocks: [Int]
    /// The first position of each window, then `count`.
    private let windowStarts: [Int]
    /// Each window's order of its rows.
    private let windowOrders: [RowPermutation]

    /// The blocks of `count` rows (`count` ≥ 0) in the order `key` selects.
    init(count: Int, shuffle: BlockShuffle, key: UInt64) {
        let (size, window) = (shuffle.blockRows, shuffle.windowBlocks)
        let blockCount = count == 0 ? 0 : (count - 1) / size + 1
        let blockOrder = RowPermutation(count: blockCount, key: RowPermutation.mix(key))
        var blocks = (0..<blockCount).map { blockOrder[$0] }
        let short = count % size == 0 ? nil : blockCount - 1
        var starts = [0], orders: [RowPermutation] = []
        for first in stride(from: 0, to: blockCount, by: window) {
            let end = min(first + window, blockCount)
            if let short, let at = blocks[first..<end].firstIndex(of: short) { blocks.swapAt(at, end - 1) }
            let rows = blocks[first..<end].reduce(0) { $0 + min(size, count - $1 * size) }
            let windowKey = RowPermutation.mix(key ^ RowPermutation.mix(UInt64(orders.count) &+ 1))
            orders.append(RowPermutation(count: rows, key: windowKey))
            starts.append(starts.last! + rows)
        }
        self.count = count
        self.shuffle = shuffle
        self.blocks = blocks
        windowStarts = starts
        windowOrders = orders
    }

    /// The row (counted from the epoch's first) at `position` (in `0 ..< count`).
    subscript(position: Int) -> Int {
        var low = 0, high = windowOrders.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if windowStarts[middle] <= position { low = middle } else { high = middle - 1 }
        }
        let offset = windowOrders[low][position - windowStarts[low]]
        return blocks[low * shuffle.windowBlocks + offset / shuffle.blockRows] * shuffle.blockRows + offset % shuffle.blockRows
    }
}
