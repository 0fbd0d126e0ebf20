/// The one order in which sums over a step's shards are taken (gradients, loss and metrics,
/// averaged parameters), whatever the split of the shards between processes and workers: a
/// left-complete binary tree over the global shard indices `0 ..< shardCount`.
///
/// Going up by widths 1, 2, 4, ...: for `i` a multiple of `2w`, node `[i, i + w)` adds node
/// `[i + w, min(i + 2w, shardCount))` when that one is not empty. Six shards sum as
/// ((s0 + s1) + (s2 + s3)) + (s4 + s5). Every aligned run of 2ᵏ shards is a subtree, so
/// with shards per process a power of two each process's run is one subtree; any run of
/// shards is a few (`reduction(of:)`'s `pieces`), which other processes complete.
@_spi(Ranks) public struct ShardTree: Sendable, Equatable {
    /// The number of leaves (the job's shards).
    public let shardCount: Int

    /// The tree over `shardCount` shards (at least 1).
    public init(shardCount: Int) {
        precondition(shardCount >= 1, "a tree needs a shard")
        self.shardCount = shardCount
    }

    /// How consecutive nodes of the tree reduce to the fewest nodes they make up.
    public struct Reduction: Sendable {
        /// Each `(into, from)`: node `from` (an index into the nodes) is added into node `into`,
        /// its left sibling; in the order given, both are whole when added.
        public let additions: [(into: Int, from: Int)]
        /// The indices of the nodes left, which then hold the sums of `pieces`, in shard order.
        public let remaining: [Int]
        /// The shards each remaining node covers.
        public let pieces: [Range<Int>]
    }

    /// The additions that reduce `nodes` (subtrees covering consecutive shards, in order)
    /// to the largest subtrees they make up: the whole tree when they cover every shard.
    public func reduction(of nodes: [Range<Int>]) -> Reduction {
        var current = nodes.indices.map { (index: $0, shards: nodes[$0]) }
        var additions: [(into: Int, from: Int)] = []
        var width = 1
        while width < shardCount {
            var next: [(index: Int, shards: Range<Int>)] = []
            var position = 0
            while position < current.count {
                let left = current[position]
                let start = left.shards.lowerBound, end = min(start + 2 * width, shardCount)
                if position + 1 < current.count, start % (2 * width) == 0, left.shards.count == width,
                    current[position + 1].shards.upperBound == end
                {
                    additions.append((left.index, current[position + 1].index))
                    next.append((left.index, start..<end))
                    position += 2
                } else {
                    next.append(left)
                    position += 1
                }
            }
            current = next
            width *= 2
        }
        return Reduction(additions: additions, remaining: current.map(\.index), pieces: current.map(\.shards))
    }

    /// The reduction of the single shards `shards` (a process's), to the subtrees it can
    /// sum by itself.
    public func reduction(of shards: Range<Int>) -> Reduction {
        reduction(of: shards.map { $0..<($0 + 1) })
    }
}

extension ShardTree.Reduction {
    /// Values per block: the nodes' values over one block stay in cache while every addition runs.
    private static let block = 2_048

    /// Applies the additions to the nodes' floats over `range`; with `weights` (one per node),
    /// each node's values are first multiplied by its weight (a shard's share of the batch).
    public func add(_ nodes: [UnsafeMutablePointer<Float>], range: Range<Int>, weights: [Float]? = nil) {
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.block) {
            let end = min(start + Self.block, range.upperBound)
            if let weights {
                for (node, weight) in zip(nodes, weights) { for k in start..<end { node[k] *= weight } }
            }
            for (into, from) in additions {
                let left = nodes[into], right = nodes[from]
                for k in start..<end { left[k] += right[k] }
            }
        }
    }

    /// Applies the additions to the nodes' headers of `count` doubles: the first `maxima`
    /// combined by maximum, the others added.
    public func add(headers nodes: [UnsafeMutablePointer<Double>], count: Int, maxima: Int) {
        for (into, from) in additions {
            let left = nodes[into], right = nodes[from]
            for k in 0..<count { left[k] = k < maxima ? max(left[k], right[k]) : left[k] + right[k] }
        }
    }
}
