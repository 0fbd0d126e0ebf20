import Dispatch
import Foundation

/// The exchange with other processes overlapped with the backward passes (`GradientBuckets`):
/// as the shards' gradients over a bucket become final, the worker that finishes it last sums
/// it over the local shards (in tree order, as `finishAcrossProcesses` sums every slice), and
/// worker 0 begins its sum with the other processes (`ProcessGroup.beginSum`) and moves the sums
/// on between its own layers; the last bucket carries the step's header once every shard is
/// done. Every float gets the additions of the one canonical tree, so the bits are those of
/// the exchange after the backward passes.
extension TrainingEngine {
    /// Has every replica tell `buckets` when its gradients are final, and worker 0's move the
    /// exchange on as it does.
    func listenForFinishedGradients() {
        for (shard, replica) in replicas.replicas.enumerated() {
            let onWorker0 = shard % workers == 0
            replica.gradientsFinished = { [unowned self, unowned replica] offset in
                guard let buckets else { return }
                buckets.shard(shard, finishedFrom: offset, gradients: replica.gradients, checking: guardNonFinite)
                if onWorker0 { driveExchange() }
            }
            if onWorker0 { replica.exchangePoll = { [unowned self] in driveExchange() } }
        }
    }

    /// Before a step's workers start: no bucket final, and how a bucket is summed over the
    /// local shards (weighted by their rows, or their valid loss rows, once every shard's
    /// last block has scored).
    func beginOverlappedStep(_ buckets: GradientBuckets, plan: ReplicaSet.ShardPlan, weighting: LossWeighting) {
        buckets.begin(parameterCount: store.count) { [unowned self] range in
            let weights = shardWeights(plan.weights, ranges: plan.ranges[...], weighting: weighting)
            replicas.localReduction.add(replicas.shardGradients, range: range, weights: weights)
        }
    }

    /// Worker 0: begins the sums of the buckets summed over the local shards, in order (all but
    /// the last, which waits for the header), and moves the sums begun on. A failure is kept
    /// in worker 0's slot and stops the exchange's moves for the step.
    func driveExchange() {
        guard let buckets, stepErrors[0] == nil else { return }
        recordFailure {
            while buckets.begun < buckets.ranges.count - 1 && buckets.isReduced(buckets.begun) {
                try beginBucket(buckets.begun, of: buckets, header: nil)
            }
            _ = try replicas.group.progressSums()
        }
    }

    /// Worker `worker`'s part of an overlapped step once its shards' passes ended (at
    /// `computed`): worker 0 keeps the exchange moving until every bucket is summed over the
    /// local shards; then, all workers past the barrier, worker 0 sums the last bucket and the
    /// header with the other processes and waits for every sum; then, unless a rank failed,
    /// the update of its slice (number `step` at `rate`; none when nil).
    func finishOverlapped(
        _ buckets: GradientBuckets, worker: Int, computed: DispatchTime, batch: Int, plan: ReplicaSet.ShardPlan,
        weighting: LossWeighting, step: Int?, rate: Float
    ) {
        let barrier = replicas.pool.barrier, last = buckets.ranges.count - 1
        if worker == 0 {
            while !buckets.isReduced(last) {
                driveExchange()
                usleep(10)
            }
        }
        barrier.wait()
        let ready = DispatchTime.now()
        var waited = ready.seconds(since: computed)
        if worker == 0 {
            noteOverlap(buckets, computeEnded: ready)
            timeCommunication { try exchangeLastBucket(buckets, plan: plan, batch: batch, weighted: weighting.isWeighted) }
        }
        barrier.wait()
        if worker != 0 { waited += DispatchTime.now().seconds(since: ready) }
        let failed = exchangedHeader[StepSummary.failedRank] != 0 || exchangedHeader[StepSummary.nonFiniteRank] != 0
        if failed || stepErrors.contains(where: { $0 != nil }) { return }
        if weighting.isWeighted { divideGradients(slices[worker], by: exchangedHeader[StepSummary.validRows]) }
        let updating = DispatchTime.now()
        if let step { updateSlice(worker: worker, step: step, rate: rate) }
        timings[worker].pointee.wait += waited
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: updating)
    }

    /// Worker 0, every shard done: the buckets not begun yet, the last with this process's
    /// totals and flags in the header (`exchange`'s), and the wait for every sum.
    private func exchangeLastBucket(_ buckets: GradientBuckets, plan: ReplicaSet.ShardPlan, batch: Int, weighted: Bool) throws {
        try exchangeHeader(plan: plan, batch: batch, weighted: weighted) { header in
            while buckets.begun < buckets.ranges.count - 1 { try beginBucket(buckets.begun, of: buckets, header: nil) }
            try beginBucket(buckets.begun, of: buckets, header: header)
            try replicas.group.finishSums()
        }
    }

    /// Begins the sum of bucket `bucket` (the next) with the other processes: this process's
    /// pieces over its range into the store's gradients, with the pieces' headers into
    /// `header` when given.
    private func beginBucket(_ bucket: Int, of buckets: GradientBuckets, header: UnsafeMutableBufferPointer<Double>?) throws {
        let range = buckets.ranges[bucket]
        buckets.beginTimes.append(DispatchTime.now())
        // Counted as begun even when the call throws after queuing it: never queued twice.
        buckets.begun += 1
        try replicas.group.beginSum(
            ShardSum(
                tree: replicas.tree, shardsPerRank: replicas.shardCount,
                pieceFloats: replicas.pieceGradients.map { $0 + range.lowerBound }, pieceHeaders: replicas.pieceHeaders,
                floats: UnsafeMutableBufferPointer(start: store.gradients.pointer + range.lowerBound, count: range.count),
                header: header ?? UnsafeMutableBufferPointer(start: nil, count: 0), maxima: header == nil ? 0 : StepSummary.flags))
    }

    /// Adds the step's hidden exchange (each sum's time in flight before the compute ended:
    /// from its start, once it was begun and the sum before it had finished, to its end, or to
    /// the end of the compute) and each bucket's lead (how long before the end it was ready)
    /// to worker 0's profile.
    private func noteOverlap(_ buckets: GradientBuckets, computeEnded end: DispatchTime) {
        let finished = replicas.group.sumFinishTimes
        var hidden = 0.0
        for (index, began) in buckets.beginTimes.enumerated() {
            let previous = index == 0 ? began : index - 1 < finished.count ? finished[index - 1] : end
            let start = min(max(began, previous), end)
            let ended = index < finished.count ? min(finished[index], end) : end
            hidden += max(ended, start).seconds(since: start)
        }
        timings[0].pointee.hiddenExchange += hidden
        let readyTimes = buckets.readyTimes
        if timings[0].pointee.exchangeBuckets.count != buckets.ranges.count {
            timings[0].pointee.exchangeBuckets = buckets.ranges.map { ExchangeBucket(floats: $0.count, lead: 0) }
        }
        for index in buckets.ranges.indices {
            timings[0].pointee.exchangeBuckets[index].lead += max(end, readyTimes[index]).seconds(since: readyTimes[index])
        }
    }
}
