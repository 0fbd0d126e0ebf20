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
    private let store: ParameterStore
    private let objective: Objective
    /// The slice of the parameters each worker reduces and updates.
    private let slices: [Range<Int>]
    /// Steps since the replicas' parameters were last averaged (parameter averaging).
    private(set) var localSteps = 0
    private let timings: WorkerTimings
    /// One error slot per worker, written by that worker only (a raw buffer: an array's
    /// copy-on-write check is a shared read-modify-write).
    private let loadErrors: UnsafeMutableBufferPointer<Error?>
    private var stepStart = DispatchTime.now()
    /// Whether a shard whose loss or gradient is not finite stops the step (`NonFiniteStep`).
    private let guardNonFinite: Bool
    private var lastStepFailed = false

    var workers: Int { replicas.workers }

    /// Checks the settings and the batch size against the shards (before any thread starts),
    /// then makes the replicas and starts the workers. The model must be compiled and built.
    init(
        model: Sequential, workers: Int, fixedShards: Int?, averaging: Averaging, batch: Int, guardNonFinite: Bool = true
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
            training: true)
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
    /// store, unless the last step failed (a replica may have stepped alone).
    func finish() {
        if !lastStepFailed { synchronizeParameters() }
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
            runTrainingStep(worker: worker, workspace: workspace, batch: batch, plan: plan, step: update ? step : nil,
                            loadShard: loadShard)
        }
        lastStepFailed = loadErrors.contains { $0 != nil }
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
        return replicas.weightedResults(ranges: plan.ranges, batch: batch, metricCount: objective.metrics.count)
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
        guard averaging == .gradients else { return }
        replicas.pool.barrier.wait()
        // A failed load anywhere skips the update everywhere: the step did not happen.
        for index in 0..<workers where loadErrors[index] != nil { return }
        let arrived = DispatchTime.now()
        let slice = slices[worker]
        let gradients = store.gradients.pointer
        // One shard: its backward passes wrote the store's gradients. Several:
        // grads[slice] = Σ_s (rows_s / batch) · grads_s[slice], in shard order.
        if replicas.shardCount > 1 {
            for k in slice { gradients[k] = 0 }
            for (replica, weight) in zip(replicas.replicas, plan.weights) {
                let source = replica.gradients
                for k in slice { gradients[k] += weight * source[k] }
            }
        }
        let reduced = DispatchTime.now()
        if let step { store.update(range: slice, step: step) }
        timings[worker].pointee.wait += arrived.seconds(since: computed)
        timings[worker].pointee.reduce += reduced.seconds(since: arrived)
        timings[worker].pointee.optimizer += DispatchTime.now().seconds(since: reduced)
    }

    /// Averages the replicas' parameters and optimizer states, slice by slice, into the store
    /// and back into every replica.
    private func averageParameters() {
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

    // MARK: checkpoints

    /// Adds what the replicas hold beyond the store to `snapshot`: when they are copies, each
    /// one's dropout generators, and with parameter averaging its parameters and optimizer
    /// state.
    func save(into snapshot: inout TrainingSnapshot) {
        for (s, replica) in replicas.replicas.enumerated() where replica.isCopy {
            for (index, layer) in replica.layers.enumerated() {
                if let randomized = layer as? any RandomizedLayer {
                    snapshot.words["replica.\(s).random.\(index)"] = randomized.randomState
                }
            }
            if let own = replica.ownParameters, let optimizer = replica.optimizer {
                snapshot.floats["replica.\(s).parameters"] = TrainingRun.array(own.pointer, store.count)
                for (index, buffer) in optimizer.stateBuffers.enumerated() where buffer.capacity >= store.count {
                    snapshot.floats["replica.\(s).optimizer.\(index)"] = TrainingRun.array(buffer.pointer, store.count)
                }
            }
        }
    }

    /// Reads and checks the replicas' part of `snapshot`; returns what applies it (given the
    /// local step count), so that a bad snapshot is refused before anything changes.
    func prepareRestore(from snapshot: TrainingSnapshot) throws -> (Int) -> Void {
        var writes: [(UnsafeMutablePointer<Float>, [Float])] = []
        var randomStates: [(any RandomizedLayer, [UInt64])] = []
        for (s, replica) in replicas.replicas.enumerated() where replica.isCopy {
            for (index, layer) in replica.layers.enumerated() {
                guard let randomized = layer as? any RandomizedLayer else { continue }
                randomStates.append(
                    (randomized, try snapshot.words("replica.\(s).random.\(index)", count: randomized.randomState.count)))
            }
            if let own = replica.ownParameters, let optimizer = replica.optimizer {
                writes.append((own.pointer, try snapshot.floats("replica.\(s).parameters", count: store.count)))
                for (index, buffer) in optimizer.stateBuffers.enumerated() where buffer.capacity >= store.count {
                    writes.append((buffer.pointer, try snapshot.floats("replica.\(s).optimizer.\(index)", count: store.count)))
                }
            }
        }
        return { [self] localSteps in
            for (target, values) in writes {
                values.withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: $0.count) }
            }
            for (layer, state) in randomStates { layer.randomState = state }
            self.localSteps = localSteps
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
