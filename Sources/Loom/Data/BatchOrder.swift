/// Which sample rows form each batch of an epoch.
///
/// Without shuffle, batch k is rows `k·B ..< (k+1)·B` every epoch (the order stateful
/// training needs). With shuffle, the rows are permuted once per epoch by the model's seeded
/// generator (Fisher–Yates), then cut the same way. The last batch may be short.
public struct BatchOrder {
    /// The rows of the epoch, in order; batch k is `rows[k·batchSize ..< min((k+1)·batchSize, count)]`.
    public let rows: [Int]
    /// The rows per batch (the last batch may have fewer).
    public let batchSize: Int

    /// The rows of `rows` in order, or shuffled by `generator` (which advances) when `shuffle`.
    public init(rows: Range<Int>, batchSize: Int, shuffle: Bool, generator: inout SeededGenerator) {
        var order = Array(rows)
        if shuffle {
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(generator.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        self.rows = order
        self.batchSize = batchSize
    }

    /// The number of batches (a batch size past the sample count gives one batch of all).
    public var batchCount: Int { rows.isEmpty ? 0 : (rows.count - 1) / batchSize + 1 }

    /// The rows of batch `k` (0-based, below `batchCount`), in epoch order.
    public func batch(_ k: Int) -> ArraySlice<Int> {
        let start = k * batchSize
        return rows[start..<BatchOrder.end(from: start, batch: batchSize, limit: rows.count)]
    }

    /// The end of the batch that starts at `start`: `batch` rows on, or `limit` when fewer are
    /// left (computed without overflow for a batch size as large as `Int.max`).
    static func end(from start: Int, batch: Int, limit: Int) -> Int {
        limit - start <= batch ? limit : start + batch
    }
}
