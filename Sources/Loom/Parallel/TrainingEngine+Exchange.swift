import Dispatch

/// The exchange of a step with other processes (`ProcessGroup`): this process's partial sums,
/// flags, loss and metrics go to the other ranks and the totals come back.
extension TrainingEngine {
    /// With other processes, worker 0's part of a step, once every worker has reduced its
    /// slice of this process's shards' gradients to its pieces: the pieces' headers (this
    /// process's flags, loss and metrics) are reduced too, and `ProcessGroup.sumShards`
    /// completes the tree with the other processes' pieces, into the store's gradients
    /// (averaging gradients) and `exchangedHeader`.
    func exchange(plan: ReplicaSet.ShardPlan, batch: Int, weighted: Bool) throws {
        let rank = Double(replicas.group.rank + 1)
        let nonFinite = stepErrors.contains { $0 is NonFiniteStep }
        let failed = !nonFinite && stepErrors.contains { $0 != nil }
        replicas.reduceHeaders(
            ranges: plan.ranges, batch: batch, metricCount: objective.statisticCount, weighted: weighted,
            failedRank: failed ? rank : 0,
            nonFiniteRank: nonFinite ? rank : 0, stop: TrainingStop.isRequested ? 1 : 0)
        let arrived = markArrival(in: replicas.pieceHeaders)
        let count = StepSummary.width(metrics: objective.statisticCount)
        if exchangedHeader.count != count { exchangedHeader = Array(repeating: 0, count: count) }
        // Parameter averaging sends no gradients: the headers alone.
        let gradients = UnsafeMutableBufferPointer(
            start: averaging == .gradients ? store.gradients.pointer : nil, count: averaging == .gradients ? store.count : 0)
        try exchangedHeader.withUnsafeMutableBufferPointer { header in
            try replicas.group.sumShards(
                ShardSum(
                    tree: replicas.tree, shardsPerRank: replicas.shardCount, pieceFloats: replicas.pieceGradients,
                    pieceHeaders: replicas.pieceHeaders, floats: gradients, header: header, maxima: StepSummary.flags))
        }
        recordRankWait(arrived: arrived)
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
