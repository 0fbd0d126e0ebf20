/// Gradient accumulation: one update from `steps` micro-batches of `shardsPerStep` shards
/// each, with the bits of one batch of all their rows cut into `steps · shardsPerStep` shards
/// (per process).
///
/// The update's rows are cut as the big batch's would be: into `tree.shardCount` leaves over
/// the job (rank r holds leaves `firstLeaf ..< firstLeaf + steps · shardsPerStep`), and
/// micro-batch k runs leaves `k·S ..< (k+1)·S` of the rank on the S replicas. Each leaf's
/// gradient is weighted by its rows over the update's rows and summed in the tree's order:
/// a micro-batch's shards reduce to the subtrees they make up (its pieces), which join the
/// pending nodes kept from the micro-batches before, and every pair of pending nodes that
/// makes up a larger subtree is added at once. After the last micro-batch the pending nodes
/// are this rank's pieces of the update (the root with one process), exchanged once with the
/// other ranks. Which slot holds which node, and every addition, is planned once here, so a
/// step only runs the plan.
///
/// Each leaf keeps its own dropout streams (`leafStreams`), which the replica running it
/// takes on for the micro-batch: the streams a replica of that leaf would have in the big
/// batch.
///
/// Who writes what: during micro-batch k's reduction each worker writes its slice of the
/// slots; worker 0 alone writes the slots' headers.
final class GradientAccumulation {
    /// Micro-batches an update (n).
    let steps: Int
    /// Shards a micro-batch on this process (S).
    let shardsPerStep: Int
    /// The tree over every process's leaves.
    let tree: ShardTree
    /// This process's first leaf.
    let firstLeaf: Int
    /// Micro-batch k's shards, reduced to their pieces.
    let microReductions: [ShardTree.Reduction]
    /// For micro-batch k: the slot each of its pieces is copied into, then the additions
    /// (into, from) among slots that merge pending nodes.
    private(set) var pieceSlots: [[Int]] = []
    private(set) var merges: [[(into: Int, from: Int)]] = []
    /// The slots holding this process's pieces after the last micro-batch, in shard order.
    private(set) var finalSlots: [Int] = []
    /// The pending nodes' floats, one buffer a slot (the parameters' layout).
    let slots: [UnsafeMutablePointer<Float>]
    private let slotBuffers: [FloatBuffer]
    /// Each slot's `StepSummary` (resized for a metric count): the flags an exchange with
    /// other processes sets, then the slot's totals.
    private(set) var slotHeaders: [UnsafeMutablePointer<Double>] = []
    /// Each slot's `StepTotals` (the totals part of its header).
    private(set) var slotTotals: [UnsafeMutablePointer<Double>] = []
    /// The floats and headers of the `finalSlots`: this process's pieces of an update.
    let finalFloats: [UnsafeMutablePointer<Float>]
    private(set) var finalHeaders: [UnsafeMutablePointer<Double>] = []
    private var headerStorage = UnsafeMutableBufferPointer<Double>(start: nil, count: 0)
    /// Each local leaf's dropout streams: per randomized layer of a replica, its words.
    var leafStreams: [[[UInt64]]]
    /// Leaf rows and weights per update size.
    private var plans: [Int: ReplicaSet.ShardPlan] = [:]

    /// The plan for `steps` micro-batches of `shardsPerStep` shards on rank `rank` of
    /// `ranks`, for parameters of `parameterCount` scalars; `leafStreams` as `streams(of:)`
    /// makes them.
    init(steps: Int, shardsPerStep: Int, rank: Int, ranks: Int, parameterCount: Int, leafStreams: [[[UInt64]]]) {
        self.steps = steps
        self.shardsPerStep = shardsPerStep
        let leaves = steps * shardsPerStep
        tree = ShardTree(shardCount: leaves * ranks)
        firstLeaf = rank * leaves
        self.leafStreams = leafStreams
        microReductions = (0..<steps).map { k in
            ShardTree(shardCount: leaves * ranks).reduction(
                of: (rank * leaves + k * shardsPerStep)..<(rank * leaves + (k + 1) * shardsPerStep))
        }
        var pending: [(shards: Range<Int>, slot: Int)] = [], free: [Int] = [], slotCount = 0
        for reduction in microReductions {
            var placed: [Int] = []
            for piece in reduction.pieces {
                let slot = free.popLast() ?? slotCount
                if slot == slotCount { slotCount += 1 }
                placed.append(slot)
                pending.append((piece, slot))
            }
            let joined = tree.reduction(of: pending.map(\.shards))
            merges.append(joined.additions.map { (pending[$0.into].slot, pending[$0.from].slot) })
            free += joined.additions.map { pending[$0.from].slot }
            pending = zip(joined.remaining, joined.pieces).map { ($1, pending[$0].slot) }
            pieceSlots.append(placed)
        }
        finalSlots = pending.map(\.slot)
        slotBuffers = (0..<slotCount).map { _ in FloatBuffer(count: parameterCount) }
        let slots = slotBuffers.map(\.pointer)
        self.slots = slots
        finalFloats = pending.map { slots[$0.slot] }
        makeHeaders(width: StepSummary.width(metrics: 0))
    }

    /// The plan for `steps` micro-batches an update on `replicas`, whose model's `randomized`
    /// layers' generators held `modelStreams` before the replicas were made (the run's plan
    /// checked an update against the job's leaves, `FitPlan`): each leaf's streams are those
    /// of the big batch's replica of that leaf, and the model's generators end where making
    /// every leaf's replica leaves them.
    convenience init(
        steps: Int, replicas: ReplicaSet, randomized: [any RandomizedLayer], modelStreams: [[UInt64]], parameterCount: Int
    ) {
        let group = replicas.group
        let leaves = replicas.shardCount * steps, first = leaves * group.rank
        let streams = GradientAccumulation.streams(of: modelStreams, leaves: first..<(first + leaves))
        for (layer, state) in zip(randomized, modelStreams) { layer.randomState = state }
        ReplicaSet.skipDraws(leaves * group.size, of: randomized)
        self.init(
            steps: steps, shardsPerStep: replicas.shardCount, rank: group.rank, ranks: group.size,
            parameterCount: parameterCount, leafStreams: streams)
    }

    deinit {
        headerStorage.deallocate()
    }

    /// Sizes the slots' headers for `width` doubles.
    func makeHeaders(width: Int) {
        guard slotHeaders.isEmpty || headerStorage.count != width * slots.count else { return }
        headerStorage.deallocate()
        headerStorage = .allocate(capacity: width * slots.count)
        headerStorage.initialize(repeating: 0)
        slotHeaders = (0..<slots.count).map { headerStorage.baseAddress! + $0 * width }
        slotTotals = slotHeaders.map { $0 + StepSummary.totals }
        finalHeaders = finalSlots.map { slotHeaders[$0] }
    }

    /// The rows of each local leaf of an update of `batch` rows (contiguous, sizes differing
    /// by at most one over the job's leaves, as the big batch is cut) and its weight rows / batch.
    func plan(batch: Int) -> ReplicaSet.ShardPlan {
        if let plan = plans[batch] { return plan }
        let count = tree.shardCount
        let ranges = (firstLeaf..<(firstLeaf + steps * shardsPerStep)).map { s in (s * batch / count)..<((s + 1) * batch / count) }
        let plan = ReplicaSet.ShardPlan(ranges: ranges, weights: ranges.map { Float($0.count) / Float(batch) })
        plans[batch] = plan
        return plan
    }

    /// Micro-batch `step`'s part of the sums over `range` of the parameters: its shards'
    /// gradients (`shardGradients`, weighted by `weights`) reduced to its pieces, copied into
    /// their slots, and the pending nodes that now make up larger subtrees added.
    func accumulate(step: Int, shardGradients: [UnsafeMutablePointer<Float>], weights: [Float], range: Range<Int>) {
        let reduction = microReductions[step]
        reduction.add(shardGradients, range: range, weights: weights)
        for (piece, slot) in zip(reduction.remaining, pieceSlots[step]) {
            (slots[slot] + range.lowerBound).update(from: shardGradients[piece] + range.lowerBound, count: range.count)
        }
        for (into, from) in merges[step] {
            let left = slots[into], right = slots[from]
            for k in range { left[k] += right[k] }
        }
    }

    /// Micro-batch `step`'s `StepTotals` (`shardTotals`, already weighted, `width` doubles)
    /// reduced, copied into their slots and merged, as `accumulate` does with the floats.
    func accumulate(step: Int, shardTotals: [UnsafeMutablePointer<Double>], width: Int) {
        let reduction = microReductions[step]
        reduction.add(headers: shardTotals, count: width, maxima: 0)
        for (piece, slot) in zip(reduction.remaining, pieceSlots[step]) {
            slotTotals[slot].update(from: shardTotals[piece], count: width)
        }
        for (into, from) in merges[step] {
            let left = slotTotals[into], right = slotTotals[from]
            for k in 0..<width { left[k] += right[k] }
        }
    }

    /// The dropout streams of leaves `first ..< first + count` (global indices) of a job whose
    /// model layers' generators hold `modelStreams`: what a replica made after `first` others
    /// takes (one draw from each generator, seeding its own), per randomized layer.
    static func streams(of modelStreams: [[UInt64]], leaves: Range<Int>) -> [[[UInt64]]] {
        var generators = modelStreams.map { words in
            stride(from: 0, to: words.count, by: 4).compactMap { SeededGenerator(state: Array(words[$0..<($0 + 4)])) }
        }
        for _ in 0..<leaves.lowerBound {
            for layer in generators.indices { for g in generators[layer].indices { _ = generators[layer][g].next() } }
        }
        return leaves.map { _ in
            generators.indices.map { layer in
                generators[layer].indices.flatMap { g in SeededGenerator(seed: generators[layer][g].next()).state }
            }
        }
    }
}
