/// The workers a model runs on, one replica per shard, and how a batch is cut into shards:
/// what training, evaluation and prediction share.
///
/// A batch is cut into `shardCount` contiguous row ranges, sizes differing by at most one;
/// shard `s` always covers the same rows, and worker `w` runs shards `w, w + workers, ...`.
/// With one shard the replica is the model's own layers and the only worker the calling
/// thread (no thread is started); with more, each shard has a copy of the layers.
/// `shardCount` is the worker count, or a fixed number (`fixedShards`) that makes the result
/// bitwise identical whatever the worker count, at the price of smaller products per shard
/// and one replica's memory per shard.
final class ReplicaSet {
    let workers: Int
    let shardCount: Int
    let pool: WorkerPool
    let replicas: [Replica]
    /// The model's last output axis (the loss's and metrics' class width).
    let outputWidth: Int
    /// The weighted metrics of the last batch, reused (see `weightedResults`).
    private var metricTotals: [Double] = []
    /// Shard rows and weights per batch size, computed once each.
    private var plans: [Int: ShardPlan] = [:]

    /// How a batch of one size is cut: each shard's rows, and its weight rows / batch.
    struct ShardPlan {
        let ranges: [Range<Int>]
        let weights: [Float]
    }

    /// Checks the worker and shard counts against `batch` (before any thread starts), then
    /// makes the replicas and starts the workers. With `ownParameters` (parameter
    /// averaging) every shard gets a copy of the layers, the parameters and the optimizer.
    /// Copies for inference (`training` false) leave the model's dropout generators as they
    /// were: a parallel predict or evaluate between two fits changes no training mask.
    init(model: Sequential, workers: Int, fixedShards: Int?, ownParameters: Bool, batch: Int, training: Bool) throws {
        guard workers >= 1 else { throw LoomError.invalidArgument("workers must be at least 1, got \(workers)") }
        if let fixedShards, fixedShards < workers {
            throw LoomError.invalidArgument("fixedShards (\(fixedShards)) must be at least the worker count (\(workers))")
        }
        let shardCount = fixedShards ?? workers
        // The batch size asked for must fill every shard; a short last batch may leave some empty.
        try ReplicaSet.check(batch: batch, shardCount: shardCount, stateful: model.isStateful)
        self.workers = workers
        self.shardCount = shardCount
        outputWidth = model.outputShape!.last ?? 1
        if shardCount == 1 && !ownParameters {
            replicas = [model.primaryReplica]
        } else {
            let randomized = model.layers.compactMap { $0 as? any RandomizedLayer }
            let streams = randomized.map(\.randomState)
            replicas = (0..<shardCount).map { _ in
                Replica(replicating: model.layers, store: model.parameterStore, ownsParameters: ownParameters)
            }
            if !training { for (layer, state) in zip(randomized, streams) { layer.randomState = state } }
        }
        pool = try WorkerPool(count: workers)
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

    /// Whether work runs on more than the model's own layers on the calling thread.
    var isParallel: Bool { workers > 1 || replicas.count > 1 }

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

    /// The rows of each shard of a `batch`-row batch: contiguous, sizes differing by at most one.
    func shardRanges(batch: Int) -> [Range<Int>] {
        (0..<shardCount).map { s in (s * batch / shardCount)..<((s + 1) * batch / shardCount) }
    }

    /// Forward passes (inference) of the batch in `workspace` on the shards. With
    /// `objective`, scores them and returns the row-weighted loss and metrics; with `output`,
    /// copies the predictions there, `(batch, outputs)`.
    func forward(
        _ workspace: BatchWorkspace, batch: Int, objective: Objective?, output: UnsafeMutablePointer<Float>?
    ) -> (Double, [Double]) {
        let ranges = plan(batch: batch).ranges
        pool.run { [self] worker in
            var shard = worker
            while shard < shardCount {
                let rows = ranges[shard], replica = replicas[shard]
                defer { shard += workers }
                guard !rows.isEmpty else { continue }
                replica.assign(rows: ShardRows(offset: rows.lowerBound, batchSize: batch))
                let predictions = replica.forward(
                    workspace.inputs.pointer + rows.lowerBound * workspace.inputCount, batch: rows.count, training: false)
                if let objective {
                    replica.score(predictions, targets: workspace.targets.pointer + rows.lowerBound * workspace.outputCount,
                                  batch: rows.count, outputCount: workspace.outputCount, width: outputWidth,
                                  objective: objective, gradient: false)
                }
                output?.advanced(by: rows.lowerBound * workspace.outputCount)
                    .update(from: predictions, count: rows.count * workspace.outputCount)
            }
        }
        return objective.map { weightedResults(ranges: ranges, batch: batch, metricCount: $0.metrics.count) } ?? (0, [])
    }

    /// The row-weighted loss and metrics over the shards. The metrics array is the set's,
    /// refilled in place each batch (the caller has let go of the last one by then).
    func weightedResults(ranges: [Range<Int>], batch: Int, metricCount: Int) -> (Double, [Double]) {
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
}
