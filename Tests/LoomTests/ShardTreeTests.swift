import XCTest

@_spi(Ranks) @testable import Loom

/// The canonical order of sums over shards: the same expression for every split of the
/// shards between processes, and the left-complete tree it promises.
final class ShardTreeTests: XCTestCase {
    /// The tree's sum of shards `range`, written out: `[i, i + w) + [i + w, ...)` split at
    /// the largest power of two below the count.
    private func expected(_ range: Range<Int>) -> String {
        guard range.count > 1 else { return "s\(range.lowerBound)" }
        var half = 1
        while half * 2 < range.count { half *= 2 }
        let middle = range.lowerBound + half
        return "(\(expected(range.lowerBound..<middle))+\(expected(middle..<range.upperBound)))"
    }

    /// Runs `reduction`'s additions on written-out sums.
    private func apply(_ reduction: ShardTree.Reduction, to nodes: inout [String]) {
        for (into, from) in reduction.additions { nodes[into] = "(\(nodes[into])+\(nodes[from]))" }
    }

    func testEverySplitSumsInTheOneOrder() {
        for shards in 1...40 {
            let tree = ShardTree(shardCount: shards)
            let whole = expected(0..<shards)
            for ranks in 1...shards where shards % ranks == 0 {
                let perRank = shards / ranks
                var nodes: [String] = [], pieces: [Range<Int>] = []
                for rank in 0..<ranks {
                    let own = (rank * perRank)..<((rank + 1) * perRank)
                    let local = tree.reduction(of: own)
                    var leaves = own.map { "s\($0)" }
                    apply(local, to: &leaves)
                    XCTAssertEqual(local.remaining.count, local.pieces.count)
                    for (index, piece) in zip(local.remaining, local.pieces) {
                        XCTAssertEqual(leaves[index], expected(piece), "\(shards) shards, rank \(rank)'s piece \(piece)")
                        nodes.append(leaves[index])
                    }
                    pieces += local.pieces
                    if perRank.nonzeroBitCount == 1 { XCTAssertEqual(local.pieces, [own], "a power of two is one piece") }
                }
                let completion = tree.reduction(of: pieces)
                apply(completion, to: &nodes)
                XCTAssertEqual(completion.remaining.count, 1)
                XCTAssertEqual(nodes[completion.remaining[0]], whole, "\(shards) shards on \(ranks) ranks")
            }
        }
        XCTAssertEqual(expected(0..<6), "(((s0+s1)+(s2+s3))+(s4+s5))")
    }

    func testWeightsScaleTheLeavesBeforeTheyAreAdded() {
        let tree = ShardTree(shardCount: 3)
        let buffers = (0..<3).map { index -> UnsafeMutablePointer<Float> in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 5000)
            buffer.initialize(repeating: Float(index + 1), count: 5000)
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        let reduction = tree.reduction(of: 0..<3)
        reduction.add(buffers, range: 100..<4500, weights: [0.5, 0.25, 0.25])
        XCTAssertEqual(buffers[0][100], (0.5 * 1 + 0.25 * 2) + 0.25 * 3)
        XCTAssertEqual(buffers[0][4499], 1.75)
        XCTAssertEqual(buffers[0][99], 1, "outside the range nothing changes")
        XCTAssertEqual(buffers[0][4500], 1)
    }
}
