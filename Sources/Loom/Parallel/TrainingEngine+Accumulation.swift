import Dispatch

/// The step with gradient accumulation (`GradientAccumulation`): the update's micro-batches
/// one after the other on the replicas, their sums kept between them, one update (and one
/// exchange with other processes) at the end.
extension TrainingEngine {
    /// The rows of a `batch`-row update this process runs (all of them alone).
    func localRows(batch: Int) -> Range<Int> {
        guard let accumulation else { return replicas.localRows(batch: batch) }
        let ranges = accumulation.plan(batch: batch).ranges
        return ranges.first!.lowerBound..<ranges.last!.upperBound
    }

    /// Worker `worker`'s part of an accumulated step over the update's `plan` (every local
    /// leaf's rows of the `batch`-row update): each micro-batch's forward and backward passes
    /// on its leaves, then (after the barrier) its sums over the worker's slice, and after the
    /// last one the exchange (worker 0) and update number `step` at `rate` (none when nil).
    func runAccumulatedStep(
        worker: Int, accumulation: GradientAccumulation, workspace: BatchWorkspace, batch: Int,
        plan: ReplicaSet.ShardPlan, weighting: LossWeighting, step: Int?, rate: Float, metricCount: Int,
        loadShard: (Range<Int>) throws -> Void
    ) {
        let barrier = replicas.pool.barrier, slice = slices[worker], shards = accumulation.shardsPerStep
        var computing = 0.0, waiting = 0.0, reducing = 0.0
        for micro in 0..<accumulation.steps {
            let start = DispatchTime.now()
            var shard = worker
            while shard < shards {
                defer { shard += workers }
                let leaf = micro * shards + shard
                var streams: [[UInt64]]? = accumulation.leafStreams[leaf]
                runShard(
                    replicas.replicas[shard], rows: plan.ranges[leaf], streams: &streams, worker: worker, workspace: workspace,
                    batch: batch, weighting: weighting, loadShard: loadShard)
                accumulation.leafStreams[leaf] = streams!
            }
            let computed = DispatchTime.now()
            barrier.wait()
            let arrived = DispatchTime.now()
            let leaves = (micro * shards)..<((micro + 1) * shards)
            let weights = shardWeights(Array(plan.weights[leaves]), ranges: plan.ranges[leaves], weighting: weighting)
            accumulation.accumulate(step: micro, shardGradients: replicas.shardGradients, weights: weights, range: slice)
            if worker == 0 {
                let totals = replicas.writeShardTotals(
                    ranges: plan.ranges[leaves], batch: batch, metricCount: metricCount, weighted: weighting.isWeighted)
                accumulation.accumulate(step: micro, shardTotals: totals, width: StepTotals.width(metrics: metricCount))
            }
            let reduced = DispatchTime.now()
            // The next micro-batch's passes overwrite the replicas' gradients and losses.
            barrier.wait()
            computing += computed.seconds(since: start)
            waiting += arrived.seconds(since: computed) + DispatchTime.now().seconds(since: reduced)
            reducing += reduced.seconds(since: arrived)
        }
        timings[worker].pointee.compute += computing
        timings[worker].pointee.wait += waiting
        timings[worker].pointee.reduce += reducing
        if replicas.isMultiProcess {
            if worker == 0 {
                timeCommunication { try exchangeAccumulated(accumulation, metricCount: metricCount) }
            }
            barrier.wait()
            let failed = exchangedHeader[StepSummary.failedRank] != 0 || exchangedHeader[StepSummary.nonFiniteRank] != 0
            if failed || stepErrors.contains(where: { $0 != nil }) { return }
            if weighting.isWeighted { divideGradients(slice, by: exchangedHeader[StepSummary.validRows]) }
        } else {
            for index in 0..<workers where stepErrors[index] != nil { return }
            let root = accumulation.slots[accumulation.finalSlots[0]]
            (store.gradients.pointer + slice.lowerBound).update(from: root + slice.lowerBound, count: slice.count)
            if weighting.isWeighted {
                divideGradients(slice, by: accumulation.slotTotals[accumulation.finalSlots[0]][StepTotals.validRows])
            }
        }
        let updating = DispatchTime.now()
        if let step { updateSlice(worker: worker, step: step, rate: rate) }
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: updating)
    }

    /// One shard's forward and backward passes on `replica` for `rows` of the batch, with the
    /// dropout `streams` given (taken on for the pass and kept after it; nil: the replica's
    /// own). A failed load or a non-finite result goes to the worker's error slot; an empty
    /// shard (a short last batch) adds nothing. Returns whether the shard's gradient is there.
    /// With `buckets` (an overlapped exchange) the shard is local shard `shard` there, which
    /// checked its gradients for NaN and Inf as they became final, and hears that all are.
    @discardableResult
    func runShard(
        _ replica: Replica, rows: Range<Int>, streams: inout [[UInt64]]?, worker: Int, workspace: BatchWorkspace,
        batch: Int, weighting: LossWeighting, buckets: (GradientBuckets, shard: Int)? = nil,
        loadShard: (Range<Int>) throws -> Void
    ) -> Bool {
        defer { buckets?.0.shard(buckets!.shard, finishedFrom: 0, gradients: replica.gradients, checking: false) }
        do {
            try loadShard(rows)
        } catch {
            stepErrors[worker] = error
        }
        guard !rows.isEmpty, stepErrors[worker] == nil else {
            replica.gradients.update(repeating: 0, count: store.count)
            // A failed shard's totals are still written (the step is not taken).
            if replica.metrics.count != objective.statisticCount { replica.metrics = Array(repeating: 0, count: objective.statisticCount) }
            return false
        }
        let randomized = streams == nil ? [] : replica.layers.compactMap { $0 as? any RandomizedLayer }
        for (layer, words) in zip(randomized, streams ?? []) { layer.randomState = words }
        replica.backpropagate(
            rows: rows, batch: batch, workspace: workspace, width: replicas.outputWidth, objective: objective,
            weighting: weighting)
        if streams != nil { streams = randomized.map(\.randomState) }
        if guardNonFinite,
            let failure = NonFiniteStep(
                replica,
                firstBad: buckets.map { $0.0.firstNonFinite(shard: $0.shard) }
                    ?? NonFiniteStep.firstNonFinite(replica.gradients, count: replica.parameterCount),
                layout: store.layout, step: store.step + 1)
        {
            stepErrors[worker] = failure
            return false
        }
        return true
    }

    /// With other processes, worker 0's exchange of an accumulated update: this process's
    /// pieces (the pending slots) and their headers, flags set, completed with the other ranks'.
    private func exchangeAccumulated(_ accumulation: GradientAccumulation, metricCount: Int) throws {
        let arrived = markFlagsAndArrival(in: accumulation.finalHeaders)
        let count = StepSummary.width(metrics: metricCount)
        if exchangedHeader.count != count { exchangedHeader = Array(repeating: 0, count: count) }
        try exchangedHeader.withUnsafeMutableBufferPointer { header in
            try replicas.group.sumShards(
                ShardSum(
                    tree: accumulation.tree, shardsPerRank: accumulation.steps * accumulation.shardsPerStep,
                    pieceFloats: accumulation.finalFloats, pieceHeaders: accumulation.finalHeaders,
                    floats: UnsafeMutableBufferPointer(start: store.gradients.pointer, count: store.count), header: header,
                    maxima: StepSummary.flags))
        }
        recordRankWait(arrived: arrived)
    }
}
