/// One sum over the job's shards, as `ProcessGroup.sumShards` takes it: this rank's pieces
/// (the subtrees of the `ShardTree` its own shards make up, each already summed) and where
/// every rank's totals go.
///
/// A node is `floats.count` floats and `header.count` doubles: the first `maxima` doubles of
/// a header are flags combined by maximum (a failed rank, a stop request); the other doubles
/// (loss, metrics) and the floats (gradients, parameters) are added, left node + right node.
@_spi(Ranks) public struct ShardSum {
    /// The canonical order.
    public let tree: ShardTree
    /// The shards of each rank: rank r has r·shardsPerRank ..< (r+1)·shardsPerRank.
    public let shardsPerRank: Int
    /// This rank's pieces' floats (`floats.count` each), in shard order; overwritten.
    public let pieceFloats: [UnsafeMutablePointer<Float>]
    /// This rank's pieces' headers (`header.count` each), in shard order; overwritten.
    public let pieceHeaders: [UnsafeMutablePointer<Double>]
    /// The totals, on every rank.
    public let floats: UnsafeMutableBufferPointer<Float>
    /// The totals' header, on every rank.
    public let header: UnsafeMutableBufferPointer<Double>
    /// The leading header values combined by maximum.
    public let maxima: Int

    /// A sum of `pieceFloats` and `pieceHeaders` into `floats` and `header`.
    public init(
        tree: ShardTree, shardsPerRank: Int, pieceFloats: [UnsafeMutablePointer<Float>],
        pieceHeaders: [UnsafeMutablePointer<Double>], floats: UnsafeMutableBufferPointer<Float>,
        header: UnsafeMutableBufferPointer<Double>, maxima: Int
    ) {
        self.tree = tree
        self.shardsPerRank = shardsPerRank
        self.pieceFloats = pieceFloats
        self.pieceHeaders = pieceHeaders
        self.floats = floats
        self.header = header
        self.maxima = maxima
    }

    /// The pieces rank `rank` holds: the subtrees its shards make up.
    public func pieces(ofRank rank: Int) -> [Range<Int>] {
        tree.reduction(of: (rank * shardsPerRank)..<((rank + 1) * shardsPerRank)).pieces
    }

    /// Completes the tree from `nodes` (every rank's pieces, in shard order; `reduction` is
    /// theirs) over their first `count` floats, and their headers, into the totals from
    /// `floats[start]` on and the totals' header.
    public func complete(
        _ reduction: ShardTree.Reduction, floats nodes: [UnsafeMutablePointer<Float>],
        headers: [UnsafeMutablePointer<Double>], count: Int, into start: Int
    ) {
        reduction.add(nodes, range: 0..<count)
        reduction.add(headers: headers, count: header.count, maxima: maxima)
        let root = reduction.remaining[0]
        for k in 0..<count { floats[start + k] = nodes[root][k] }
        for k in header.indices { header[k] = headers[root][k] }
    }
}
