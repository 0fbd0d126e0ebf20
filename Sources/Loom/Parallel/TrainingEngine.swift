import Dispatch

/// Trains a `Sequential` model: the one training step, for one worker and for many.
///
/// A step runs on the shards of a `ReplicaSet`. With gradient averaging: every worker runs
/// its shards' forward and backward passes; barrier; every worker sums all shards'
/// gradients, weighted by their row counts, over its own slice of the parameter store, in
/// shard order (so the result never depends on thread timing), and updates that slice.
/// With one shard the model's own layers write the store's gradients and the sum is skipped.
/// With parameter averaging each replica steps its own copy, and the copies are averaged
/// every k steps.
///
/// The engine holds the model's `ParameterStore`, not the model: it is the only writer of
/// the store's values, gradients and step count while it trains.
final class TrainingEngine {
    let replicas: ReplicaSet
    let averaging: Averaging
    let store: ParameterStore
    private let objective: Objective
    /// The slice of the parameters each worker reduces and updates.
    private let slices: [Range<Int>]
    /// Steps since the replicas' parameters were last averaged (parameter averaging).
    var localSteps = 0
    private let timings: WorkerTimings
    /// One error slot per worker, written by that worker only (a raw buffer: an array's
    /// copy-on-write check is a shared read-modify-write).
    private let loadErrors: UnsafeMutableBufferPointer<Error?>
    private var stepStart = DispatchTime.now()
    /// Whether a shard whose loss or gradient is not finite stops the step (`NonFiniteStep`).
    private let guardNonFinite: Bool
    private var lastStepFailed = false
    /// Whether the last step ended with a stop request (`TrainingStop`) on any process.
    private(set) var lastStepRequestedStop = false
    /// With other processes, what travels with a step's running sums (see `Exchange`).
    private var exchange: [Double] = []
    /// The exchanged metrics of the last step, refilled in place (a step allocates nothing).
    private var exchangedMetrics: [Double] = []

    var workers: Int { replicas.workers }

    /// Checks the settings and the batch size against the shards (before any thread starts),
    /// then makes the replicas and starts the workers. The model must be compiled and built.
    init(
        model: Sequential, workers: Int, fixedShards: Int?, averaging: Averaging, batch: Int, guardNonFinite: Bool = true,
        group: any ProcessGroup = SingleProcess()
    ) throws {
        if case let .parameters(every) = averaging, every < 1 {
            throw LoomError.invalidArgument("parameter averaging needs every >= 1, got \(every)")
        }
        store = model.parameterStore
        objective = model.objective!
        self.guardNonFinite = guardNonFinite
        self.averaging = averaging
        replicas = try ReplicaSet(
            model: model, workers: workers, fixedShards: fixedShards, ownParameters: averaging != .gradients, batch: batch,
            training: true, group: group)
        let count = store.count
        slices = (0..<workers).map { w in (w * count / workers)..<((w + 1) * count / workers) }
        timings = WorkerTimings(workers: workers)
        loadErrors = .allocate(capacity: workers)
        loadErrors.initialize(repeating: nil)
    }

    deinit {
        _ = loadErrors.deinitialize()
        loadErrors.deallocate()
    }

    /// Ends the worker threads; with parameter averaging, first leaves the average in the
    /// store, unless the last step failed (a replica may have stepped alone) or, with other
    /// processes, training did not end normally on every one (the average is collective).
    func finish(completed: Bool) {
        if !lastStepFailed && (completed || !replicas.isMultiProcess) { synchronizeParameters() }
        replicas.finish()
    }

    /// With parameter averaging, averages the replicas into the store now (before evaluating
    /// the model, and at the end), unless nothing was trained since the last average.
    func synchronizeParameters() {
        guard case let .parameters(every) = averaging, localSteps % every != 0 else { return }
        averageParameters()
        localSteps = 0
    }

    /// One training step on the batch in `workspace`; returns the batch's loss and metrics
    /// (row-weighted means over the shards). Each worker first calls `loadShard` for its
    /// shards' rows (which load them into `workspace` when the dataset supports concurrent
    /// reads; by default the batch is already there). Without `update` the step stops once
    /// the gradients are in the store (nothing else changes but stateful layers' state).
    /// The store's step count grows only when the parameters were updated: a step whose
    /// load failed, or (guarding) whose loss or gradient is not finite on any shard, updates
    /// nothing anywhere and throws (`NonFiniteStep` for the latter).
    func trainStep(
        _ workspace: BatchWorkspace, batch: Int, update: Bool = true, loadShard: (Range<Int>) throws -> Void = { _ in }
    ) throws -> (Double, [Double]) {
        stepStart = DispatchTime.now()
        let plan = replicas.plan(batch: batch)
        let step = store.step + 1
        for worker in 0..<workers { loadErrors[worker] = nil }
        // The job's captures are handed to each worker as arguments, not copied into a shared
        // struct: a struct of references copied on every core costs contended refcounting.
        replicas.pool.run { [self] worker in
            runTrainingStep(
                worker: worker, workspace: workspace, batch: batch, plan: plan, step: update ? step : nil,
                loadShard: loadShard)
        }
        lastStepFailed = loadErrors.contains { $0 != nil }
        if replicas.isMultiProcess {
            lastStepFailed = lastStepFailed || exchange[Exchange.failedRank] != 0 || exchange[Exchange.nonFiniteRank] != 0
            lastStepRequestedStop = exchange[Exchange.stop] != 0
            for case let error? in loadErrors { throw error }
            try throwRemoteFailure(step: step)
        } else {
            lastStepRequestedStop = TrainingStop.isRequested
        }
        for case let error? in loadErrors { throw error }
        if update {
            store.step = step
            if case let .parameters(every) = averaging {
                localSteps += 1
                if localSteps % every == 0 { averageParameters() }
            }
        }
        timings[0].pointee.steps += 1
        timings[0].pointee.total += DispatchTime.now().seconds(since: stepStart)
        if replicas.isMultiProcess {
            if exchangedMetrics.count != objective.metrics.count { exchangedMetrics = Array(repeating: 0, count: objective.metrics.count) }
            for i in exchangedMetrics.indices { exchangedMetrics[i] = exchange[Exchange.loss + 1 + i] }
            return (exchange[Exchange.loss], exchangedMetrics)
        }
        return try replicas.weightedResults(ranges: plan.ranges, batch: batch, metricCount: objective.metrics.count)
    }

    /// The doubles that travel with a step's running sums between processes: flags combined
    /// by maximum, then the loss and metric sums continued in global shard order.
    private enum Exchange {
        /// 1 + the rank whose rows could not be read (0: none).
        static let failedRank = 0
        /// 1 + the rank whose loss or gradient is not finite (0: none).
        static let nonFiniteRank = 1
        /// 1 when any process was asked to stop (`TrainingStop`).
        static let stop = 2
        /// The row-weighted loss, then each metric.
        static let loss = 3
    }

    /// With other processes, worker 0's part of a step: the running sums pass along the ranks
    /// (`ProcessGroup.sumAlongRanks`), this process adding its flags, loss and metrics and,
    /// averaging gradients, its shards' weighted gradients in shard order as each chunk of the
    /// store's gradients passes; every rank ends with the totals.
    private func exchange(plan: ReplicaSet.ShardPlan, batch: Int) throws {
        let count = Exchange.loss + 1 + objective.metrics.count
        if exchange.count != count { exchange = Array(repeating: 0, count: count) }
        let gradients = averaging == .gradients ? store.gradients.pointer : nil
        let rank = Double(replicas.group.rank + 1)
        let nonFinite = loadErrors.contains { $0 is NonFiniteStep }
        let failed = !nonFinite && loadErrors.contains { $0 != nil }
        try exchange.withUnsafeMutableBufferPointer { doubles in
            try replicas.group.sumAlongRanks(
                floats: .init(start: gradients, count: gradients == nil ? 0 : store.count), doubles: doubles,
                addDoubles: {
                    if nonFinite { doubles[Exchange.nonFiniteRank] = max(doubles[Exchange.nonFiniteRank], rank) }
                    if failed { doubles[Exchange.failedRank] = max(doubles[Exchange.failedRank], rank) }
                    if TrainingStop.isRequested { doubles[Exchange.stop] = 1 }
                    replicas.addWeightedResults(
                        into: UnsafeMutableBufferPointer(rebasing: doubles[Exchange.loss...]), ranges: plan.ranges, batch: batch)
                },
                addFloats: { range in
                    if let gradients { addShardGradients(into: gradients, range: range, weights: plan.weights) }
                })
        }
    }

    /// gradients[range] += Σ_s weights[s] · grads_s[range] over this process's shards, in
    /// shard order: the one fold of the canonical sum, in a process and across processes.
    private func addShardGradients(into gradients: UnsafeMutablePointer<Float>, range: Range<Int>, weights: [Float]) {
        for (replica, weight) in zip(replicas.replicas, weights) {
            let source = replica.gradients
            for k in range { gradients[k] += weight * source[k] }
        }
    }

    /// The error of a step another process could not take.
    private func throwRemoteFailure(step: Int) throws {
        if exchange[Exchange.nonFiniteRank] != 0 {
            throw NonFiniteStep(
                step: step, detail: "on rank \(Int(exchange[Exchange.nonFiniteRank]) - 1), a loss or gradient is not finite")
        }
        if exchange[Exchange.failedRank] != 0 {
            throw LoomError.invalidArgument(
                "rank \(Int(exchange[Exchange.failedRank]) - 1) could not take step \(step) (its own error says why)")
        }
    }

    /// Worker `worker`'s part of a step: its shards' forward and backward passes, then
    /// (averaging gradients) the reduction and update number `step` of its slice of the
    /// parameters (none when `step` is nil).
    private func runTrainingStep(
        worker: Int, workspace: BatchWorkspace, batch: Int, plan: ReplicaSet.ShardPlan, step: Int?,
        loadShard: (Range<Int>) throws -> Void
    ) {
        let start = DispatchTime.now()
        var shard = worker
        while shard < replicas.shardCount {
            let rows = plan.ranges[shard], replica = replicas.replicas[shard]
            defer { shard += workers }
            do {
                try loadShard(rows)
            } catch {
                loadErrors[worker] = error
            }
            guard !rows.isEmpty, loadErrors[worker] == nil else {
                // A short last batch can leave a shard empty: it adds nothing (weight 0).
                replica.gradients.update(repeating: 0, count: store.count)
                continue
            }
            replica.assign(rows: ShardRows(offset: rows.lowerBound, batchSize: batch))
            replica.backpropagate(
                inputs: workspace.inputs.pointer + rows.lowerBound * workspace.inputCount,
                targets: workspace.targets.pointer + rows.lowerBound * workspace.outputCount,
                batch: rows.count, outputCount: workspace.outputCount, width: replicas.outputWidth,
                objective: objective)
            if guardNonFinite, let failure = NonFiniteStep(replica, step: store.step + 1) {
                loadErrors[worker] = failure
                continue
            }
            if averaging != .gradients, let step { replica.updateOwnParameters(step: step) }
        }
        let computed = DispatchTime.now()
        timings[worker].pointee.compute += computed.seconds(since: start)
        let multiProcess = replicas.isMultiProcess
        guard averaging == .gradients || multiProcess else { return }
        let barrier = replicas.pool.barrier
        barrier.wait()
        var arrived = DispatchTime.now()
        let slice = slices[worker]
        if multiProcess {
            // Worker 0 sums with the other processes, folding in this one's shards as the sums
            // pass; the others wait for the totals.
            if worker == 0 { timeCommunication { try exchange(plan: plan, batch: batch) } }
            barrier.wait()
            arrived = DispatchTime.now()
            let failed = exchange[Exchange.failedRank] != 0 || exchange[Exchange.nonFiniteRank] != 0
            if failed || averaging != .gradients || loadErrors.contains(where: { $0 != nil }) { return }
        } else {
            // A failed load anywhere skips the update everywhere: the step did not happen.
            for index in 0..<workers where loadErrors[index] != nil { return }
            // One shard: its backward passes wrote the store's gradients. Several:
            // grads[slice] = Σ_s (rows_s / batch) · grads_s[slice], in shard order.
            if replicas.shardCount > 1 {
                let gradients = store.gradients.pointer
                for k in slice { gradients[k] = 0 }
                addShardGradients(into: gradients, range: slice, weights: plan.weights)
            }
        }
        let reduced = DispatchTime.now()
        if let step { store.update(range: slice, step: step) }
        timings[worker].pointee.wait += arrived.seconds(since: computed)
        timings[worker].pointee.reduce += reduced.seconds(since: arrived)
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: reduced)
    }

    /// Runs `body` (worker 0's part of an exchange), keeping its error in worker 0's slot.
    private func recordFailure(_ body: () throws -> Void) {
        do { try body() } catch { loadErrors[0] = loadErrors[0] ?? error }
    }

    /// `recordFailure(body)`, its time counted as communication.
    private func timeCommunication(_ body: () throws -> Void) {
        let start = DispatchTime.now()
        recordFailure(body)
        timings[0].pointee.communicate += DispatchTime.now().seconds(since: start)
    }

    /// Averages the replicas' parameters and optimizer states, slice by slice, into the store
    /// and back into every replica.
    private func averageParameters() {
        if replicas.isMultiProcess {
            recordFailure { try averageAcrossProcesses() }
            return
        }
        let count = store.count
        let target = store.values.pointer
        replicas.pool.run { [self] worker in
            let start = DispatchTime.now()
            let slice = slices[worker]
            let copies = replicas.replicas
            let scale = 1 / Float(copies.count)
            func average(_ buffers: [UnsafeMutablePointer<Float>], into target: UnsafeMutablePointer<Float>?) {
                for k in slice {
                    var sum: Float = 0
                    for buffer in buffers { sum += buffer[k] }
                    let mean = sum * scale
                    target?[k] = mean
                    for buffer in buffers { buffer[k] = mean }
                }
            }
            average(copies.map { $0.ownParameters!.pointer }, into: target)
            let states = copies.map { $0.optimizer!.stateBuffers }
            for index in states[0].indices where states[0][index].capacity >= count {
                average(states.map { $0[index].pointer }, into: nil)
            }
            timings[worker].pointee.reduce += DispatchTime.now().seconds(since: start)
        }
    }

    /// `averageParameters` over every process's replicas, on the calling thread: each buffer
    /// (parameters, then each optimizer state) summed in global shard order along the ranks,
    /// the last rank's totals sent to every rank, then scaled as one process scales them.
    private func averageAcrossProcesses() throws {
        let count = store.count
        let copies = replicas.replicas
        let scale = 1 / Float(replicas.globalShardCount)
        let states = copies.map { $0.optimizer!.stateBuffers }
        var buffers: [([UnsafeMutablePointer<Float>], UnsafeMutablePointer<Float>?)] = [
            (copies.map { $0.ownParameters!.pointer }, store.values.pointer)
        ]
        for index in states[0].indices where states[0][index].capacity >= count {
            buffers.append((states.map { $0[index].pointer }, nil))
        }
        var sums = [Float](repeating: 0, count: count)
        var none: [Double] = []
        for (sources, target) in buffers {
            try sums.withUnsafeMutableBufferPointer { floats in
                try none.withUnsafeMutableBufferPointer { doubles in
                    try replicas.group.sumAlongRanks(floats: floats, doubles: doubles, addDoubles: {}) { range in
                        for source in sources { for k in range { floats[k] += source[k] } }
                    }
                }
            }
            for k in 0..<count {
                let mean = sums[k] * scale
                target?[k] = mean
                for source in sources { source[k] = mean }
            }
        }
    }

    /// Seconds per step of the training so far, averaged over the workers.
    var profile: StepProfile {
        var result = StepProfile()
        let steps = Double(max(timings[0].pointee.steps, 1))
        result.steps = timings[0].pointee.steps
        for worker in 0..<workers {
            let timing = timings[worker].pointee
            result.compute += timing.compute / steps / Double(workers)
            result.wait += timing.wait / steps / Double(workers)
            result.reduce += timing.reduce / steps / Double(workers)
            result.optimizer += timing.optimizer / steps / Double(workers)
        }
        result.total = timings[0].pointee.total / steps
        result.communicate = timings[0].pointee.communicate / steps
        return result
    }
}
