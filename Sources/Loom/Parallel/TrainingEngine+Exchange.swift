import Dispatch

/// The exchange of a step with other processes (`ProcessGroup`): this process's partial sums,
/// flags, loss and metrics go to the other ranks and the totals come back.
extension TrainingEngine {
    /// With other processes, worker `worker`'s part of a step once its shards' passes ended
    /// (at `computed`): its slice of this process's shards' weighted gradients reduced in tree
    /// order to this process's pieces (averaging gradients); worker 0 completes the sums with
    /// the other processes (`exchange`) while the others wait; then, unless a rank failed,
    /// the update of its slice (number `step` at `rate`; none when nil).
    func finishAcrossProcesses(
        worker: Int, computed: DispatchTime, batch: Int, plan: ReplicaSet.ShardPlan, weighting: LossWeighting, step: Int?,
        rate: Float
    ) {
        let barrier = replicas.pool.barrier
        barrier.wait()
        let arrived = DispatchTime.now()
        var waited = arrived.seconds(since: computed)
        let slice = slices[worker]
        if averaging == .gradients {
            let weights = shardWeights(plan.weights, ranges: plan.ranges[...], weighting: weighting)
            replicas.localReduction.add(replicas.shardGradients, range: slice, weights: weights)
        }
        let reduced = DispatchTime.now()
        barrier.wait()
        let ready = DispatchTime.now()
        waited += ready.seconds(since: reduced)
        if worker == 0 { timeCommunication { try exchange(plan: plan, batch: batch, weighted: weighting.isWeighted) } }
        barrier.wait()
        if worker != 0 { waited += DispatchTime.now().seconds(since: ready) }
        let failed = exchangedHeader[StepSummary.failedRank] != 0 || exchangedHeader[StepSummary.nonFiniteRank] != 0
        if failed || averaging != .gradients || stepErrors.contains(where: { $0 != nil }) { return }
        if weighting.isWeighted { divideGradients(slice, by: exchangedHeader[StepSummary.validRows]) }
        let updating = DispatchTime.now()
        if let step { updateSlice(worker: worker, step: step, rate: rate) }
        timings[worker].pointee.wait += waited
        timings[worker].pointee.reduce += reduced.seconds(since: arrived)
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: updating)
    }

    /// With other processes, worker 0's part of a step, once every worker has reduced its
    /// slice of this process's shards' gradients to its pieces: the pieces' totals are reduced
    /// too and their headers get this process's flags, and `ProcessGroup.sumShards` completes
    /// the tree with the other processes' pieces, into the store's gradients (averaging
    /// gradients) and `exchangedHeader`.
    func exchange(plan: ReplicaSet.ShardPlan, batch: Int, weighted: Bool) throws {
        // Parameter averaging sends no gradients: the headers alone.
        let gradients = UnsafeMutableBufferPointer(
            start: averaging == .gradients ? store.gradients.pointer : nil, count: averaging == .gradients ? store.count : 0)
        try exchangeHeader(plan: plan, batch: batch, weighted: weighted) { header in
            try replicas.group.sumShards(
                ShardSum(
                    tree: replicas.tree, shardsPerRank: replicas.shardCount, pieceFloats: replicas.pieceGradients,
                    pieceHeaders: replicas.pieceHeaders, floats: gradients, header: header, maxima: StepSummary.flags))
        }
    }

    /// The pieces' totals and flags written and their arrival marked, `send` (the sums that
    /// carry the pieces' headers into `header`, `exchangedHeader`'s), then this rank's wait for
    /// the slowest noted.
    func exchangeHeader(
        plan: ReplicaSet.ShardPlan, batch: Int, weighted: Bool, send: (UnsafeMutableBufferPointer<Double>) throws -> Void
    ) throws {
        replicas.sumTotals(ranges: plan.ranges, batch: batch, metricCount: objective.statisticCount, weighted: weighted)
        let arrived = markFlagsAndArrival(in: replicas.pieceHeaders)
        let count = StepSummary.width(metrics: objective.statisticCount)
        if exchangedHeader.count != count { exchangedHeader = Array(repeating: 0, count: count) }
        try exchangedHeader.withUnsafeMutableBufferPointer { try send($0) }
        recordRankWait(arrived: arrived)
    }

    /// Writes this process's flags (a failed load, a non-finite shard, a stop request) and
    /// its arrival (`markArrival`) into the pieces' `headers`; returns the arrival.
    func markFlagsAndArrival(in headers: [UnsafeMutablePointer<Double>]) -> Double {
        let nonFinite = stepErrors.contains { $0 is NonFiniteStep }
        StepSummary.setFlags(
            in: headers, rank: replicas.group.rank, failed: !nonFinite && stepErrors.contains { $0 != nil },
            nonFinite: nonFinite, stop: TrainingStop.isRequested)
        return markArrival(in: headers)
    }

    /// After an exchanged step: whether any rank failed or asked to stop; throws this
    /// process's own error first, else another rank's.
    func takeExchangedOutcome(step: Int) throws {
        lastStepFailed =
            lastStepFailed || exchangedHeader[StepSummary.failedRank] != 0 || exchangedHeader[StepSummary.nonFiniteRank] != 0
        lastStepRequestedStop = exchangedHeader[StepSummary.stop] != 0
        for case let error? in stepErrors { throw error }
        try throwRemoteFailure(step: step)
    }

    /// The loss and metrics of the last exchanged step (every rank's totals).
    func exchangedResults(weighted: Bool) -> (Double, [Double]) {
        exchangedHeader.withUnsafeBufferPointer { results(of: $0.baseAddress! + StepSummary.totals, weighted: weighted) }
    }

    /// Writes the seconds since the step began into `headers`' arrival (the sum across ranks
    /// keeps the slowest rank's) and returns them.
    func markArrival(in headers: [UnsafeMutablePointer<Double>]) -> Double {
        let arrived = DispatchTime.now().seconds(since: stepStart)
        for header in headers { header[StepSummary.arrival] = arrived }
        return arrived
    }

    /// After an exchange: counts the time this rank, arrived `arrived` seconds into the step,
    /// waited for the slowest one (`StepProfile.rankWait`).
    func recordRankWait(arrived: Double) {
        timings[0].pointee.rankWait += max(0, exchangedHeader[StepSummary.arrival] - arrived)
    }

    /// The error of a step another process could not take.
    func throwRemoteFailure(step: Int) throws {
        if exchangedHeader[StepSummary.nonFiniteRank] != 0 {
            throw NonFiniteStep(
                step: step, detail: "on rank \(Int(exchangedHeader[StepSummary.nonFiniteRank]) - 1), a loss or gradient is not finite")
        }
        if exchangedHeader[StepSummary.failedRank] != 0 {
            throw LoomError.invalidArgument(
                "rank \(Int(exchangedHeader[StepSummary.failedRank]) - 1) could not take step \(step) (its own error says why)")
        }
    }

    /// Runs `body` (worker 0's part of an exchange), keeping its error in worker 0's slot.
    func recordFailure(_ body: () throws -> Void) {
        do { try body() } catch { stepErrors[0] = stepErrors[0] ?? error }
    }

    /// `recordFailure(body)`, its time counted as communication.
    func timeCommunication(_ body: () throws -> Void) {
        let start = DispatchTime.now()
        recordFailure(body)
        timings[0].pointee.communicate += DispatchTime.now().seconds(since: start)
    }
}
