import Dispatch

/// Trains, evaluates and predicts a `Sequential` model on several worker threads.
///
/// Each batch is cut into `shardCount` contiguous row ranges; shard `s` always covers the
/// same rows, and worker `w` runs shards `w, w + workers, ...` with one replica per shard.
/// With gradient averaging, a step is: every worker runs its shards' forward and backward
/// passes; barrier; every worker sums all shards' gradients, weighted by their row counts,
/// over its own slice of the flat gradient buffer, in shard order (so the result never
/// depends on thread timing), and updates that slice of the parameters.
///
/// `shardCount` is the worker count, or a fixed number (`fixedShards`) that makes the result
/// bitwise identical whatever the worker count, at the price of smaller GEMMs per shard and
/// one replica's memory per shard.
final class DataParallelEngine {
    let workers: Int
    let shardCount: Int
    let averaging: Averaging
    private unowned let model: Sequential
    private let pool: WorkerPool
    private let replicas: [Replica]
    /// The slice of the parameters each worker reduces and updates.
    private let slices: [Range<Int>]
    private var localSteps = 0
    private let timings: WorkerTimings
    /// The weighted metrics of the last step, reused (see `weightedResults`).
    private var metricTotals: [Double] = []
    /// Shard rows and weights per batch size, computed once each.
    private var plans: [Int: ShardPlan] = [:]
    /// One error slot per worker, written by that worker only (a raw buffer: an array's
    /// copy-on-write check is a shared read-modify-write).
    private let loadErrors: UnsafeMutableBufferPointer<Error?>

    /// How a batch of one size is cut: each shard's rows and its weight rows / batch.
    private struct ShardPlan {
        let ranges: [Range<Int>]
        let weights: [Float]
    }
    private var stepStart = DispatchTime.now()

    /// Checks the settings and the batch size against the shards (before any thread starts),
    /// then makes the replicas and starts the workers.
    init(
        model: Sequential, workers: Int, fixedShards: Int?, averaging: Averaging, optimizer: any Optimizer,
        batch: Int, stateful: Bool
    ) throws {
        guard workers >= 1 else { throw LoomError.invalidArgument("workers must be at least 1, got \(workers)") }
        if let fixedShards, fixedShards < workers {
            throw LoomError.invalidArgument("fixedShards (\(fixedShards)) must be at least the worker count (\(workers))")
        }
        if case let .parameters(every) = averaging, every < 1 {
            throw LoomError.invalidArgument("parameter averaging needs every >= 1, got \(every)")
        }
        // The batch size asked for must fill every shard; a short last batch may leave some empty.
        try DataParallelEngine.check(batch: batch, shardCount: fixedShards ?? workers, stateful: stateful)
        self.model = model
        self.workers = workers
        self.averaging = averaging
        shardCount = fixedShards ?? workers
        pool = try WorkerPool(count: workers)
        let ownOptimizer: (any Optimizer)? = averaging == .gradients ? nil : optimizer
        replicas = (0..<shardCount).map { _ in Replica(replicating: model, optimizer: ownOptimizer) }
        let count = model.parameterCount
        slices = (0..<workers).map { w in (w * count / workers)..<((w + 1) * count / workers) }
        timings = WorkerTimings(workers: workers)
        loadErrors = .allocate(capacity: workers)
        loadErrors.initialize(repeating: nil)
    }

    deinit {
        _ = loadErrors.deinitialize()
        loadErrors.deallocate()
    }

    private func plan(batch: Int) -> ShardPlan {
        if let plan = plans[batch] { return plan }
        let ranges = shardRanges(batch: batch)
        let plan = ShardPlan(ranges: ranges, weights: ranges.map { Float($0.count) / Float(batch) })
        plans[batch] = plan
        return plan
    }

    /// Ends the worker threads; with parameter averaging, first leaves the average in the model.
    func finish() {
        synchronizeParameters()
        pool.shutdown()
    }

    /// With parameter averaging, averages the replicas into the model now (before evaluating
    /// it, and at the end), unless nothing was trained since the last average.
    func synchronizeParameters() {
        guard case let .parameters(every) = averaging, localSteps % every != 0 else { return }
        averageParameters()
        localSteps = 0
    }

    /// The rows of each shard of a `batch`-row batch: contiguous, sizes differing by at most one.
    func shardRanges(batch: Int) -> [Range<Int>] {
        (0..<shardCount).map { s in (s * batch / shardCount)..<((s + 1) * batch / shardCount) }
    }

    /// Checks a batch size against the shards: none empty, and equal for a stateful model.
    static func check(batch: Int, shardCount: Int, stateful: Bool) throws {
        guard batch >= shardCount else {
            throw LoomError.invalidArgument(
                "a batch of \(batch) cannot be cut into \(shardCount) shards (one per worker) without empty ones; "
                    + "use at most \(batch) workers or a larger batch")
        }
        if stateful, batch % shardCount != 0 {
            throw LoomError.statefulBatch(
                "a stateful model's batch (\(batch)) must split evenly over the \(shardCount) shards, so that every "
                    + "replica carries the same number of rows' state")
        }
    }

    // MARK: training

    /// One data-parallel training step on the batch in `workspace`; returns the batch's loss
    /// and metrics (row-weighted means over the shards). Each worker first calls `loadShard`
    /// for its shards' rows (which load them into `workspace` when the dataset supports
    /// concurrent reads; by default the batch is already there).
    func trainStep(
        _ workspace: BatchWorkspace, batch: Int, setup: Sequential.TrainingSetup,
        loadShard: (Range<Int>) throws -> Void = { _ in }
    ) throws -> (Double, [Double]) {
        stepStart = DispatchTime.now()
        let plan = plan(batch: batch)
        for worker in 0..<workers { loadErrors[worker] = nil }
        // The job's captures are handed to each worker as arguments, not copied into a shared
        // struct: a struct of references copied on every core costs contended refcounting
        // (measured: the vanilla model's 2-worker step went from 39 to 61 µs).
        pool.run { [self] worker in
            runTrainingStep(worker: worker, workspace: workspace, batch: batch, plan: plan, setup: setup, loadShard: loadShard)
        }
        for case let error? in loadErrors { throw error }
        if case let .parameters(every) = averaging {
            localSteps += 1
            if localSteps % every == 0 { averageParameters() }
        }
        timings[0].pointee.steps += 1
        timings[0].pointee.total += DispatchTime.now().seconds(since: stepStart)
        return weightedResults(ranges: plan.ranges, batch: batch, metricCount: setup.metrics.count)
    }

    /// Worker `worker`'s part of a step: its shards' forward and backward passes, then
    /// (averaging gradients) the reduction and update of its slice of the parameters.
    private func runTrainingStep(
        worker: Int, workspace: BatchWorkspace, batch: Int, plan: ShardPlan, setup: Sequential.TrainingSetup,
        loadShard: (Range<Int>) throws -> Void
    ) {
        let outputWidth = model.outputShape!.last ?? 1
        let start = DispatchTime.now()
        var shard = worker
        while shard < shardCount {
            let rows = plan.ranges[shard], replica = replicas[shard]
            defer { shard += workers }
            do {
                try loadShard(rows)
            } catch {
                loadErrors[worker] = error
            }
            guard !rows.isEmpty, loadErrors[worker] == nil else {
                // A short last batch can leave a shard empty: it adds nothing (weight 0).
                replica.gradients.update(repeating: 0, count: model.parameterCount)
                continue
            }
            replica.assign(rows: ShardRows(offset: rows.lowerBound, batchSize: batch))
            replica.backpropagate(
                inputs: workspace.inputs.pointer + rows.lowerBound * workspace.inputCount,
                targets: workspace.targets.pointer + rows.lowerBound * workspace.outputCount,
                batch: rows.count, outputCount: workspace.outputCount, width: outputWidth, setup: setup)
            if averaging != .gradients {
                replica.optimizer!.update(
                    parameters: replica.parameters(of: model), gradients: replica.gradients,
                    range: 0..<model.parameterCount, step: setup.step)
            }
        }
        let computed = DispatchTime.now()
        timings[worker].pointee.compute += computed.seconds(since: start)
        guard averaging == .gradients else { return }
        pool.barrier.wait()
        // A failed load anywhere skips the update everywhere: the step did not happen.
        for index in 0..<workers where loadErrors[index] != nil { return }
        let arrived = DispatchTime.now()
        let slice = slices[worker]
        let gradients = model.parameterGradients.pointer
        // grads[slice] = Σ_s (rows_s / batch) · grads_s[slice], in shard order.
        for k in slice { gradients[k] = 0 }
        for (replica, weight) in zip(replicas, plan.weights) {
            let source = replica.gradients
            for k in slice { gradients[k] += weight * source[k] }
        }
        let reduced = DispatchTime.now()
        setup.optimizer.update(parameters: model.parameterValues.pointer, gradients: gradients, range: slice, step: setup.step)
        timings[worker].pointee.wait += arrived.seconds(since: computed)
        timings[worker].pointee.reduce += reduced.seconds(since: arrived)
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: reduced)
    }

    /// Averages the replicas' parameters and optimizer states, slice by slice, into the model
    /// and back into every replica.
    private func averageParameters() {
        let count = model.parameterCount
        let model = self.model
        pool.run { [self] worker in
            let start = DispatchTime.now()
            let slice = slices[worker]
            let scale = 1 / Float(shardCount)
            func average(_ buffers: [UnsafeMutablePointer<Float>], into target: UnsafeMutablePointer<Float>?) {
                for k in slice {
                    var sum: Float = 0
                    for buffer in buffers { sum += buffer[k] }
                    let mean = sum * scale
                    target?[k] = mean
                    for buffer in buffers { buffer[k] = mean }
                }
            }
            average(replicas.map { $0.parameters(of: model) }, into: model.parameterValues.pointer)
            let states = replicas.map { $0.optimizer!.stateBuffers }
            for index in states[0].indices where states[0][index].capacity >= count {
                average(states.map { $0[index].pointer }, into: nil)
            }
            timings[worker].pointee.reduce += DispatchTime.now().seconds(since: start)
        }
    }

    // MARK: evaluation and prediction

    /// Forward passes of the batch in `workspace` on the shards. With `setup`, scores them and
    /// returns the row-weighted loss and metrics; with `output`, copies the predictions there.
    func forward(
        _ workspace: BatchWorkspace, batch: Int, setup: Sequential.TrainingSetup?, output: UnsafeMutablePointer<Float>?
    ) -> (Double, [Double]) {
        let ranges = plan(batch: batch).ranges
        let outputWidth = model.outputShape!.last ?? 1
        pool.run { [self] worker in
            var shard = worker
            while shard < shardCount {
                let rows = ranges[shard], replica = replicas[shard]
                defer { shard += workers }
                guard !rows.isEmpty else { continue }
                replica.assign(rows: ShardRows(offset: rows.lowerBound, batchSize: batch))
                let predictions = replica.forward(
                    workspace.inputs.pointer + rows.lowerBound * workspace.inputCount, batch: rows.count, training: false)
                if let setup {
                    replica.score(predictions, targets: workspace.targets.pointer + rows.lowerBound * workspace.outputCount,
                                  batch: rows.count, outputCount: workspace.outputCount, width: outputWidth,
                                  setup: setup, gradient: false)
                }
                output?.advanced(by: rows.lowerBound * workspace.outputCount)
                    .update(from: predictions, count: rows.count * workspace.outputCount)
            }
        }
        return setup.map { weightedResults(ranges: ranges, batch: batch, metricCount: $0.metrics.count) } ?? (0, [])
    }

    /// The row-weighted loss and metrics over the shards. The metrics array is the engine's,
    /// refilled in place each step (the caller has let go of the last one by then).
    private func weightedResults(ranges: [Range<Int>], batch: Int, metricCount: Int) -> (Double, [Double]) {
        var loss = 0.0
        if metricTotals.count != metricCount { metricTotals = Array(repeating: 0, count: metricCount) }
        for i in metricTotals.indices { metricTotals[i] = 0 }
        for (replica, rows) in zip(replicas, ranges) where !rows.isEmpty {
            let weight = Double(rows.count) / Double(batch)
            loss += weight * replica.loss
            for i in metricTotals.indices { metricTotals[i] += weight * replica.metrics[i] }
        }
        return (loss, metricTotals)
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
        return result
    }
}

/// Each worker's running `StepProfile`, in its own cache lines (a Swift array would make
/// every worker's update a modify access of the whole array: a race).
private final class WorkerTimings: @unchecked Sendable {
    /// Slots this many profiles apart, so two workers never share a 64-byte line.
    private static let spacing = (64 + MemoryLayout<StepProfile>.stride - 1) / MemoryLayout<StepProfile>.stride + 1
    private let slots: UnsafeMutablePointer<StepProfile>
    private let count: Int

    init(workers: Int) {
        count = workers * WorkerTimings.spacing
        slots = .allocate(capacity: count)
        slots.initialize(repeating: StepProfile(), count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    subscript(worker: Int) -> UnsafeMutablePointer<StepProfile> { slots + worker * WorkerTimings.spacing }
}
