import Dispatch

/// Trains a `Sequential` model: the one training step, for one worker and for many.
///
/// A step runs on the shards of a `ReplicaSet`. With gradient averaging: every worker runs
/// its shards' forward and backward passes; barrier; every worker sums all shards'
/// gradients, weighted by their row counts, over its own slice of the parameter store, in
/// the order of the `ShardTree` (so the result never depends on thread timing or on how the
/// shards are split), and updates that slice.
/// With one shard the model's own layers write the store's gradients and the sum is skipped.
/// This file is the step in one process. Beside it: the exchange with other processes that
/// completes the sums (`TrainingEngine+Exchange.swift`), the same exchange overlapped with
/// the backward passes (`TrainingEngine+Overlap.swift`), parameter averaging
/// (`TrainingEngine+Averaging.swift`), gradient accumulation and one shard's passes
/// (`TrainingEngine+Accumulation.swift`), the engine's part of a snapshot
/// (`TrainingEngine+Snapshot.swift`) and the step's timing (`WorkerTimings`).
///
/// The engine holds the model's `ParameterStore`, not the model: it is the only writer of
/// the store's values, gradients and step count while it trains.
final class TrainingEngine {
    let replicas: ReplicaSet
    let averaging: Averaging
    let store: ParameterStore
    let objective: Objective
    /// The update of the store's parameters, cut into the workers' slices.
    let parameterUpdate: ParameterUpdate
    /// The slice of the parameters each worker reduces and updates (whole blocks of the layout).
    let slices: [Range<Int>]
    /// Steps since the replicas' parameters were last averaged (parameter averaging).
    var localSteps = 0
    let timings: WorkerTimings
    /// One error slot per worker, written by that worker only (a raw buffer: an array's
    /// copy-on-write check is a shared read-modify-write): a failed load, a non-finite
    /// shard, or (worker 0) a failed exchange with other processes.
    let stepErrors: UnsafeMutableBufferPointer<Error?>
    var stepStart = DispatchTime.now()
    /// Whether a shard whose loss or gradient is not finite stops the step (`NonFiniteStep`).
    let guardNonFinite: Bool
    /// With gradient accumulation, its plan and pending sums; nil for one batch an update.
    let accumulation: GradientAccumulation?
    /// With other processes, averaging gradients one batch an update: the buckets in which
    /// the gradients leave for the exchange during the backward passes; nil when the exchange
    /// follows them.
    let buckets: GradientBuckets?
    var lastStepFailed = false
    /// Whether the last step ended with a stop request (`TrainingStop`) on any process.
    var lastStepRequestedStop = false
    /// With other processes, the summed `StepSummary` of the last step.
    var exchangedHeader: [Double] = []
    /// The metrics of the last step, refilled in place (a step allocates nothing).
    private var stepMetrics: [Double] = []
    /// How much the last step's metrics weigh in the epoch's: its valid loss rows when
    /// weighted (`StepTotals.validRows`), else 1 (the epoch weighs batches by rows).
    private(set) var lastValidRows = 1.0

    var workers: Int { replicas.workers }

    /// Makes the replicas of `layout` and starts the workers, for a run whose plan checked
    /// the settings (`FitPlan`). The model must be compiled and built. With
    /// `accumulationSteps` n > 1, a batch is an update's rows (n micro-batches). With other
    /// processes, `bucketFloats` > 0 overlaps the exchange with the backward passes
    /// (`Parallelism.exchangeBucketFloats`).
    init(
        model: Sequential, layout: ShardLayout, averaging: Averaging, guardNonFinite: Bool = true, accumulationSteps: Int = 1,
        bucketFloats: Int = 0
    ) throws {
        let randomized = model.layers.compactMap { $0 as? any RandomizedLayer }
        let modelStreams = randomized.map(\.randomState)
        store = model.parameterStore
        objective = model.objective!
        self.guardNonFinite = guardNonFinite
        self.averaging = averaging
        replicas = try ReplicaSet(
            model: model, layout: layout, ownParameters: averaging != .gradients, training: true,
            copies: accumulationSteps > 1)
        accumulation =
            accumulationSteps > 1
            ? GradientAccumulation(
                steps: accumulationSteps, replicas: replicas, randomized: randomized, modelStreams: modelStreams,
                parameterCount: store.count)
            : nil
        buckets =
            replicas.isMultiProcess && averaging == .gradients && accumulationSteps == 1 && bucketFloats > 0 && store.count > 0
            ? GradientBuckets(
                layers: model.layers, layout: store.layout, minimumFloats: bucketFloats, shardCount: replicas.shardCount) : nil
        parameterUpdate = ParameterUpdate(layout: store.layout, workers: layout.workers)
        slices = parameterUpdate.slices.map(\.range)
        timings = WorkerTimings(workers: layout.workers)
        stepErrors = .allocate(capacity: layout.workers)
        stepErrors.initialize(repeating: nil)
        if buckets != nil { listenForFinishedGradients() }
    }

    deinit {
        _ = stepErrors.deinitialize()
        stepErrors.deallocate()
    }

    /// Ends the worker threads; with parameter averaging, first leaves the average in the
    /// store, unless the last step failed (a replica may have stepped alone) or, with other
    /// processes, training did not end normally on every one (the average is collective).
    func finish(completed: Bool) {
        if !lastStepFailed && (completed || !replicas.isMultiProcess) { synchronizeParameters() }
        replicas.finish()
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
        replicas.group.noteUpdatesFinished(store.step)
        let plan = replicas.plan(batch: batch)
        let step = store.step + 1
        let rate = store.optimizer!.learningRate
        guard rate.isFinite, rate >= 0 else {
            throw LoomError.invalidArgument(
                "the learning rate of update \(step) is \(rate)\(store.optimizer!.schedule.map { " (from the schedule \($0))" } ?? "")")
        }
        if update { prepareOptimizers(step: step) }
        for worker in 0..<workers { stepErrors[worker] = nil }
        let weighting = replicas.weighting(workspace)
        // The job's captures are handed to each worker as arguments, not copied into a shared
        // struct: a struct of references copied on every core costs contended refcounting.
        if let accumulation {
            let metricCount = objective.statisticCount
            accumulation.makeHeaders(width: StepSummary.width(metrics: metricCount))
            let leaves = accumulation.plan(batch: batch)
            replicas.pool.run { [self] worker in
                runAccumulatedStep(
                    worker: worker, accumulation: accumulation, workspace: workspace, batch: batch, plan: leaves,
                    weighting: weighting, step: update ? step : nil, rate: rate, metricCount: metricCount,
                    loadShard: loadShard)
            }
        } else {
            if let buckets { beginOverlappedStep(buckets, plan: plan, weighting: weighting) }
            replicas.pool.run { [self] worker in
                runTrainingStep(
                    worker: worker, workspace: workspace, batch: batch, plan: plan, weighting: weighting,
                    step: update ? step : nil, rate: rate, loadShard: loadShard)
            }
        }
        lastStepFailed = stepErrors.contains { $0 != nil }
        if replicas.isMultiProcess {
            try takeExchangedOutcome(step: step)
        } else {
            lastStepRequestedStop = TrainingStop.isRequested
        }
        for case let error? in stepErrors { throw error }
        if update {
            store.step = step
            if case let .parameters(every) = averaging {
                localSteps += 1
                if localSteps % every == 0 {
                    averageParameters()
                    // Across processes the average is an exchange, which can fail.
                    if let error = stepErrors[0] { throw error }
                }
            }
        }
        timings[0].pointee.steps += 1
        timings[0].pointee.total += DispatchTime.now().seconds(since: stepStart)
        if replicas.isMultiProcess { return exchangedResults(weighted: weighting.isWeighted) }
        if let accumulation {
            return results(of: accumulation.slotTotals[accumulation.finalSlots[0]], weighted: weighting.isWeighted)
        }
        let results = try replicas.weightedResults(
            ranges: plan.ranges, batch: batch, metricCount: objective.statisticCount, weighted: weighting.isWeighted)
        lastValidRows = replicas.lastValidRows
        return results
    }

    /// The loss and metrics of a step's summed `totals` (`StepTotals.results`), noting their
    /// valid rows in `lastValidRows`; the metrics array is refilled in place.
    func results(of totals: UnsafePointer<Double>, weighted: Bool) -> (Double, [Double]) {
        if stepMetrics.count != objective.statisticCount { stepMetrics = Array(repeating: 0, count: objective.statisticCount) }
        lastValidRows = weighted ? totals[StepTotals.validRows] : 1
        return (StepTotals.results(totals, weighted: weighted, metrics: &stepMetrics), stepMetrics)
    }

    /// The weights of the shards' gradients in a step's sums: their shares of the rows, or,
    /// weighted, their valid loss rows (the sums then divided by all the valid rows, once).
    func shardWeights(_ shares: [Float], ranges: ArraySlice<Range<Int>>, weighting: LossWeighting) -> [Float] {
        guard weighting.isWeighted else { return shares }
        return zip(replicas.replicas, ranges).map { replica, rows in rows.isEmpty ? 0 : Float(replica.validRows) }
    }

    /// The number of valid loss rows over this process's shards of the last passes (weighted).
    func localValidRows(ranges: ArraySlice<Range<Int>>) -> Double {
        zip(replicas.replicas, ranges).reduce(0) { total, shard in shard.1.isEmpty ? total : total + shard.0.validRows }
    }

    /// Scales the store's gradients over `slice` by 1 / `divisor` (0 when it is 0): the
    /// weighted sums become the mean over the valid loss rows.
    func divideGradients(_ slice: Range<Int>, by divisor: Double) {
        let scale: Float = divisor > 0 ? Float(1 / divisor) : 0
        let gradients = store.gradients.pointer
        for k in slice { gradients[k] *= scale }
    }

    /// Lets every optimizer that will take update number `step` advance its scalar state,
    /// before the workers start.
    private func prepareOptimizers(step: Int) {
        if averaging == .gradients {
            store.optimizer!.willUpdate(step: step)
        } else {
            for replica in replicas.replicas { replica.optimizer?.willUpdate(step: step) }
        }
    }

    /// Worker `worker`'s part of a step: its shards' forward and backward passes, then
    /// (averaging gradients) the reduction and update number `step` at `rate` of its slice of
    /// the parameters (none when `step` is nil).
    private func runTrainingStep(
        worker: Int, workspace: BatchWorkspace, batch: Int, plan: ReplicaSet.ShardPlan, weighting: LossWeighting, step: Int?,
        rate: Float, loadShard: (Range<Int>) throws -> Void
    ) {
        let start = DispatchTime.now()
        var shard = worker
        while shard < replicas.shardCount {
            let replica = replicas.replicas[shard]
            defer { shard += workers }
            var streams: [[UInt64]]? = nil
            guard
                runShard(
                    replica, rows: plan.ranges[shard], streams: &streams, worker: worker, workspace: workspace, batch: batch,
                    weighting: weighting, buckets: buckets.map { ($0, shard) }, loadShard: loadShard)
            else { continue }
            if averaging != .gradients, let step { replica.updateOwnParameters(step: step, rate: rate) }
        }
        let computed = DispatchTime.now()
        timings[worker].pointee.compute += computed.seconds(since: start)
        if let buckets {
            finishOverlapped(
                buckets, worker: worker, computed: computed, batch: batch, plan: plan, weighting: weighting, step: step,
                rate: rate)
            return
        }
        if replicas.isMultiProcess {
            finishAcrossProcesses(
                worker: worker, computed: computed, batch: batch, plan: plan, weighting: weighting, step: step, rate: rate)
            return
        }
        guard averaging == .gradients else { return }
        replicas.pool.barrier.wait()
        let arrived = DispatchTime.now()
        let slice = slices[worker]
        // Each worker sums its slice of the shards' weighted gradients in tree order, to the
        // root's buffer. One shard: its backward passes wrote the store's gradients.
        if replicas.shardCount > 1 {
            let weights = shardWeights(plan.weights, ranges: plan.ranges[...], weighting: weighting)
            replicas.localReduction.add(replicas.shardGradients, range: slice, weights: weights)
        }
        // A failed load anywhere skips the update everywhere: the step did not happen.
        for index in 0..<workers where stepErrors[index] != nil { return }
        if replicas.shardCount > 1 {
            let gradients = store.gradients.pointer, root = replicas.pieceGradients[0]
            for k in slice { gradients[k] = root[k] }
            if weighting.isWeighted { divideGradients(slice, by: localValidRows(ranges: plan.ranges[...])) }
        }
        let updating = DispatchTime.now()
        if let step { updateSlice(worker: worker, step: step, rate: rate) }
        timings[worker].pointee.wait += arrived.seconds(since: computed)
        timings[worker].pointee.reduce += updating.seconds(since: arrived)
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: updating)
    }

    /// Worker `worker`'s part of update number `step` at `rate` of the store, from its
    /// gradients (every worker calls it: clipping by norm waits for all at the barrier).
    func updateSlice(worker: Int, step: Int, rate: Float) {
        parameterUpdate.apply(
            worker: worker, values: store.values.pointer, gradients: store.gradients.pointer, optimizer: store.optimizer!,
            step: step, rate: rate, barrier: workers > 1 ? replicas.pool.barrier : nil)
    }
}
