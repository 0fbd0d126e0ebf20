/// The workers a model runs on, one replica per shard, and how a batch is cut into shards
/// (`ShardLayout`): what training, evaluation and prediction share.
///
/// Shard `s` always covers the same rows of a batch: contiguous ranges, sizes differing by at
/// most one. With one shard the replica is the model's own layers and the only worker the
/// calling thread (no thread is started); with more, each shard has a copy of the layers (one
/// replica's memory per shard).
final class ReplicaSet {
    /// How a batch is cut into shards over the workers and processes.
    let layout: ShardLayout
    var workers: Int { layout.workers }
    /// The shards this process runs.
    var shardCount: Int { layout.shardCount }
    /// The shards of every process.
    var globalShardCount: Int { layout.globalShardCount }
    /// The global index of this process's first shard.
    var firstShard: Int { layout.firstShard }
    /// The job's processes.
    var group: any ProcessGroup { layout.group }
    let pool: WorkerPool
    /// One per local shard.
    let replicas: [Replica]
    /// The model's last output axis (the loss's and metrics' class width).
    let outputWidth: Int
    /// The output's first axis when it has two or more, else 1 (`LossWeighting.outputSteps`).
    let outputSteps: Int
    /// Whether the model's output carries a mask without and with a mask on its inputs
    /// (`Sequential.masksOutput(inputMasked:)`).
    let masksOutput: (plain: Bool, ofMaskedInputs: Bool)
    /// The canonical order of sums over the job's shards (`ShardTree`).
    let tree: ShardTree
    /// How this process's shards reduce in it: to one piece when their number is a power of
    /// two, a few otherwise, which `ProcessGroup.sumShards` completes.
    let localReduction: ShardTree.Reduction
    /// Each local shard's gradient buffer, in shard order.
    let shardGradients: [UnsafeMutablePointer<Float>]
    /// The shard buffers that hold this process's pieces once `localReduction` has run: the
    /// sums of the largest subtrees of the shard tree its own shards make up
    /// (`ShardTree.Reduction.pieces`; one, the root of the whole tree, in one process), which
    /// `ProcessGroup.sumShards` completes with the other processes' pieces.
    let pieceGradients: [UnsafeMutablePointer<Float>]
    /// Each local shard's `StepSummary` (flags, then totals), reduced in place; (re)made for
    /// a metric count.
    private var headerStorage = UnsafeMutableBufferPointer<Double>(start: nil, count: 0)
    /// Each local shard's `StepTotals`: the totals part of its header.
    private var shardTotals: [UnsafeMutablePointer<Double>] = []
    /// The pieces' headers (after `localReduction`), what an exchange with other processes
    /// sends; valid memory even before a first step (sums without a header pass them).
    private(set) var pieceHeaders: [UnsafeMutablePointer<Double>] = []
    /// The pieces' totals (one piece, the whole batch's, in one process).
    private(set) var pieceTotals: [UnsafeMutablePointer<Double>] = []
    /// The exchanged header of the last batch across processes, reused (see `weightedResults`).
    private var exchangedSums: [Double] = []
    private var metricTotals: [Double] = []
    /// Shard rows and weights per batch size, computed once each.
    private var plans: [Int: ShardPlan] = [:]

    /// How a batch of one size is cut: each local shard's rows (of the whole batch), and its
    /// weight rows / batch.
    struct ShardPlan {
        let ranges: [Range<Int>]
        let weights: [Float]
    }

    /// Makes the replicas of `layout`'s shards and starts its workers. With `ownParameters`
    /// (parameter averaging) every shard gets a copy of the layers, the parameters and the
    /// optimizer; with `copies`, a single shard too (gradient accumulation: the big batch it
    /// stands for runs on copies, whose last bits can differ from the model's own layers').
    /// Copies for inference (`training` false) leave the model's dropout generators as they
    /// were: a parallel predict or evaluate between two fits changes no training mask.
    ///
    /// With other processes every shard is a copy, as with several fixed shards in one
    /// process, and each copy's dropout streams are those that one process would give the
    /// same global shard: each replica takes one draw from every generator of the model's
    /// layers, so this process skips the draws of the shards before its own and after them.
    init(model: Sequential, layout: ShardLayout, ownParameters: Bool, training: Bool, copies: Bool = false) throws {
        self.layout = layout
        let (workers, shardCount, group) = (layout.workers, layout.shardCount, layout.group)
        let (globalShardCount, firstShard) = (layout.globalShardCount, layout.firstShard)
        outputWidth = model.outputShape!.last ?? 1
        outputSteps = model.outputShape!.count >= 2 ? model.outputShape![0] : 1
        masksOutput = (model.masksOutput(inputMasked: false), model.masksOutput(inputMasked: true))
        if globalShardCount == 1 && !ownParameters && !copies {
            replicas = [model.primaryReplica]
        } else {
            let randomized = model.layers.compactMap { $0 as? any RandomizedLayer }
            let streams = randomized.map(\.randomState)
            ReplicaSet.skipDraws(firstShard, of: randomized)
            replicas = (0..<shardCount).map { _ in
                Replica(replicating: model.layers, store: model.parameterStore, ownsParameters: ownParameters)
            }
            ReplicaSet.skipDraws(globalShardCount - firstShard - shardCount, of: randomized)
            if !training { for (layer, state) in zip(randomized, streams) { layer.randomState = state } }
        }
        tree = ShardTree(shardCount: globalShardCount)
        let reduction = tree.reduction(of: firstShard..<(firstShard + shardCount))
        let gradients = replicas.map(\.gradients)
        localReduction = reduction
        shardGradients = gradients
        pieceGradients = reduction.remaining.map { gradients[$0] }
        pool = try WorkerPool(count: workers, firstCPU: group.localRank * workers, sharers: group.localSize)
        makeHeaders(width: StepSummary.width(metrics: 0))
    }

    deinit {
        headerStorage.deallocate()
    }

    /// Advances every generator of `layers` by `count` draws: what making `count` replicas
    /// takes from them.
    static func skipDraws(_ count: Int, of layers: [any RandomizedLayer]) {
        guard count > 0 else { return }
        for layer in layers {
            let words = layer.randomState
            var advanced: [UInt64] = []
            for start in stride(from: 0, to: words.count, by: 4) {
                guard var generator = SeededGenerator(state: Array(words[start..<(start + 4)])) else { return }
                for _ in 0..<count { _ = generator.next() }
                advanced += generator.state
            }
            layer.randomState = advanced
        }
    }

    /// Whether other processes run shards of the same batches (each runs as many: the job has
    /// more shards than this process).
    var isMultiProcess: Bool { layout.globalShardCount > layout.shardCount }

    /// Whether work runs on more than the model's own layers on the calling thread.
    var isParallel: Bool { workers > 1 || replicas.count > 1 || isMultiProcess }

    /// Ends the worker threads.
    func finish() {
        pool.shutdown()
    }

    func plan(batch: Int) -> ShardPlan {
        if let plan = plans[batch] { return plan }
        let ranges = shardRanges(batch: batch)
        let plan = ShardPlan(ranges: ranges, weights: ranges.map { Float($0.count) / Float(batch) })
        plans[batch] = plan
        return plan
    }

    /// The rows of each local shard of a `batch`-row batch: contiguous, sizes differing by at
    /// most one over the global shards.
    func shardRanges(batch: Int) -> [Range<Int>] {
        let count = globalShardCount
        return (firstShard..<(firstShard + shardCount)).map { s in (s * batch / count)..<((s + 1) * batch / count) }
    }

    /// The rows of `batch` that rank `rank`'s shards cover (every rank runs as many shards).
    func rows(ofRank rank: Int, batch: Int) -> Range<Int> {
        let first = rank * shardCount, count = globalShardCount
        return (first * batch / count)..<((first + shardCount) * batch / count)
    }

    /// The rows of `batch` this process runs (all of them alone).
    func localRows(batch: Int) -> Range<Int> {
        let ranges = plan(batch: batch).ranges
        return ranges.first!.lowerBound..<ranges.last!.upperBound
    }

    /// Forward passes (inference, each shard in row blocks: `Replica.infer`) of the batch in
    /// `workspace` on the shards. With `objective`, scores them and returns the row-weighted
    /// loss and metrics (over every process's shards); with `output`, copies the predictions
    /// there, `(batch, outputs)` (every process's rows).
    func forward(
        _ workspace: BatchWorkspace, batch: Int, objective: Objective?, output: UnsafeMutablePointer<Float>?
    ) throws -> (Double, [Double]) {
        let ranges = plan(batch: batch).ranges
        pool.run { [self] worker in
            var shard = worker
            while shard < shardCount {
                let rows = ranges[shard], replica = replicas[shard]
                defer { shard += workers }
                guard !rows.isEmpty else { continue }
                let predictions = replica.infer(rows: rows, batch: batch, workspace: workspace, maskSteps: outputSteps)
                if let objective {
                    replica.score(
                        predictions, targets: workspace.targets.pointer + rows.lowerBound * workspace.targetCount,
                        batch: rows.count, outputCount: workspace.outputCount, width: outputWidth,
                        objective: objective, weighting: weighting(workspace).fromRow(rows.lowerBound), gradient: false)
                }
                output?.advanced(by: rows.lowerBound * workspace.outputCount)
                    .update(from: predictions, count: rows.count * workspace.outputCount)
            }
        }
        if let output, isMultiProcess { try gatherRows(output, batch: batch, width: workspace.outputCount) }
        guard let objective else { return (0, []) }
        return try weightedResults(
            ranges: ranges, batch: batch, metricCount: objective.statisticCount, weighted: weighting(workspace).isWeighted)
    }

    /// How the loss rows of the batch in `workspace` are weighted (its sample weights from its
    /// first row).
    func weighting(_ workspace: BatchWorkspace) -> LossWeighting {
        LossWeighting(
            sampleWeights: workspace.weightsPerSample > 0 ? UnsafePointer(workspace.sampleWeights.pointer) : nil,
            weightsPerSample: workspace.weightsPerSample, outputSteps: outputSteps,
            isWeighted: (workspace.maskSteps > 0 ? masksOutput.ofMaskedInputs : masksOutput.plain)
                || workspace.weightsPerSample > 0)
    }

    /// The valid loss rows of the last `weightedResults` (weighted; 1 unweighted): how much
    /// the batch's metrics weigh in an epoch's (`RunningTotals`).
    private(set) var lastValidRows = 1.0

    /// Every process's rows of `output` (`(batch, width)`) into every process.
    private func gatherRows(_ output: UnsafeMutablePointer<Float>, batch: Int, width: Int) throws {
        let parts = (0..<group.size).map { rank in
            let rows = self.rows(ofRank: rank, batch: batch)
            return (rows.lowerBound * width)..<(rows.upperBound * width)
        }
        try group.allGather(UnsafeMutableBufferPointer(start: output, count: batch * width), parts: parts)
    }

    /// The row-weighted (or, `weighted`, valid-row-weighted) loss and metrics over every
    /// process's shards, summed in tree order. The metrics array is the set's, refilled in
    /// place each batch (the caller has let go of the last one by then).
    func weightedResults(ranges: [Range<Int>], batch: Int, metricCount: Int, weighted: Bool) throws -> (Double, [Double]) {
        sumTotals(ranges: ranges, batch: batch, metricCount: metricCount, weighted: weighted)
        guard isMultiProcess else { return results(of: pieceTotals[0], metricCount: metricCount, weighted: weighted) }
        StepSummary.setFlags(in: pieceHeaders, rank: group.rank, failed: false, nonFinite: false, stop: false)
        for header in pieceHeaders { header[StepSummary.arrival] = 0 }
        try exchangedSums.withUnsafeMutableBufferPointer { header in
            try group.sumShards(
                ShardSum(
                    tree: tree, shardsPerRank: shardCount, pieceFloats: pieceGradients, pieceHeaders: pieceHeaders,
                    floats: .init(start: nil, count: 0), header: header, maxima: StepSummary.flags))
        }
        return exchangedSums.withUnsafeBufferPointer {
            results(of: $0.baseAddress! + StepSummary.totals, metricCount: metricCount, weighted: weighted)
        }
    }

    /// The loss and metrics of the summed `totals` (`StepTotals.results`), noting their valid rows.
    private func results(of totals: UnsafePointer<Double>, metricCount: Int, weighted: Bool) -> (Double, [Double]) {
        if metricTotals.count != metricCount { metricTotals = Array(repeating: 0, count: metricCount) }
        lastValidRows = weighted ? totals[StepTotals.validRows] : 1
        return (StepTotals.results(totals, weighted: weighted, metrics: &metricTotals), metricTotals)
    }

    /// Writes each local shard's `StepTotals` and adds them in tree order into `pieceTotals`.
    func sumTotals(ranges: [Range<Int>], batch: Int, metricCount: Int, weighted: Bool) {
        let totals = writeShardTotals(ranges: ranges, batch: batch, metricCount: metricCount, weighted: weighted)
        localReduction.add(headers: totals, count: StepTotals.width(metrics: metricCount), maxima: 0)
    }

    /// Writes each local shard's `StepTotals` for the rows `ranges` (one a shard) of a
    /// `batch`-row batch (its loss and metrics weighted by its share of the rows, or,
    /// `weighted`, by its valid loss rows; zeros for an empty shard), and returns them, in
    /// shard order.
    func writeShardTotals(
        ranges: some Collection<Range<Int>>, batch: Int, metricCount: Int, weighted: Bool
    ) -> [UnsafeMutablePointer<Double>] {
        let width = StepSummary.width(metrics: metricCount)
        if exchangedSums.count != width { makeHeaders(width: width) }
        for (totals, (replica, rows)) in zip(shardTotals, zip(replicas, ranges)) {
            let share = rows.isEmpty ? 0 : Double(rows.count) / Double(batch)
            let weight = rows.isEmpty ? 0 : weighted ? replica.validRows : share
            totals[StepTotals.validRows] = weight
            totals[StepTotals.loss] = rows.isEmpty ? 0 : weight * replica.loss
            for i in 0..<metricCount { totals[StepTotals.loss + 1 + i] = rows.isEmpty ? 0 : weight * replica.metrics[i] }
        }
        return shardTotals
    }

    /// Makes the shards' headers and the exchanged header `width` doubles.
    private func makeHeaders(width: Int) {
        exchangedSums = Array(repeating: 0, count: width)
        headerStorage.deallocate()
        headerStorage = .allocate(capacity: width * shardCount)
        headerStorage.initialize(repeating: 0)
        let headers = (0..<shardCount).map { headerStorage.baseAddress! + $0 * width }
        shardTotals = headers.map { $0 + StepSummary.totals }
        pieceHeaders = localReduction.remaining.map { headers[$0] }
        pieceTotals = localReduction.remaining.map { shardTotals[$0] }
    }
}
