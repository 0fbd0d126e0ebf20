/// Which sample rows form each batch of an epoch, computed batch by batch: an epoch's order
/// takes no memory, whatever the sample count a file declares.
///
/// Without shuffle, batch k is rows `k·B ..< (k+1)·B` every epoch (the order stateful
/// training needs). With shuffle, the epoch's rows are permuted by a pseudo-random
/// permutation keyed by one draw of the model's seeded generator (`RowPermutation`, or
/// `BlockPermutation` with a `BlockShuffle`), then cut the same way. The last batch may be
/// short.
public struct BatchOrder {
    /// The rows the epoch covers.
    public let rows: Range<Int>
    /// The rows per batch (the last batch may have fewer).
    public let batchSize: Int
    /// Position → row offset, when shuffled.
    private let permutation: Permutation?

    /// How a shuffled epoch's positions map to rows.
    private enum Permutation {
        case rows(RowPermutation)
        case blocks(BlockPermutation)

        subscript(position: Int) -> Int {
            switch self {
            case .rows(let permutation): permutation[position]
            case .blocks(let permutation): permutation[position]
            }
        }
    }

    /// The rows of `rows` in order, or shuffled by a permutation drawn from `generator` (which
    /// advances by one draw) when `shuffle`: row by row, or in `blocks` when given.
    public init(rows: Range<Int>, batchSize: Int, shuffle: Bool, blocks: BlockShuffle? = nil, generator: inout SeededGenerator) {
        self.rows = rows
        self.batchSize = batchSize
        guard shuffle else {
            permutation = nil
            return
        }
        let key = generator.next()
        permutation =
            if let blocks {
                .blocks(BlockPermutation(count: rows.count, shuffle: blocks, key: key))
            } else {
                .rows(RowPermutation(count: rows.count, key: key))
            }
    }

    /// The number of batches (a batch size past the sample count gives one batch of all).
    public var batchCount: Int { rows.isEmpty ? 0 : (rows.count - 1) / batchSize + 1 }

    /// The rows of batch `k` (0-based, below `batchCount`), in epoch order.
    public func batch(_ k: Int) -> ArraySlice<Int> {
        let start = k * batchSize
        let positions = start..<BatchOrder.end(from: start, batch: batchSize, limit: rows.count)
        guard let permutation else {
            return ArraySlice((rows.lowerBound + positions.lowerBound)..<(rows.lowerBound + positions.upperBound))
        }
        return ArraySlice(positions.map { rows.lowerBound + permutation[$0] })
    }

    /// The end of the batch that starts at `start`: `batch` rows on, or `limit` when fewer are
    /// left (computed without overflow for a batch size as large as `Int.max`).
    static func end(from start: Int, batch: Int, limit: Int) -> Int {
        limit - start <= batch ? limit : start + batch
    }
}
