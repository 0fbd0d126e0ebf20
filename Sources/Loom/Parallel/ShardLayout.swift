/// How a run's batches are cut into shards over this process's workers and the job's
/// processes (`ReplicaSet`), checked against the batch size before any thread starts.
///
/// A batch is cut into `globalShardCount` contiguous row ranges; this process runs
/// `shardCount` of them, global shards `firstShard ..< firstShard + shardCount`, and worker
/// `w` runs local shards `w, w + workers, ...`. `shardCount` is the worker count, or a fixed
/// number (`fixedShards`) that makes the result bitwise identical whatever the worker count.
struct ShardLayout {
    /// The job's processes.
    let group: any ProcessGroup
    let workers: Int
    /// The shards this process runs.
    let shardCount: Int
    /// The shards of every process.
    let globalShardCount: Int
    /// The global index of this process's first shard.
    let firstShard: Int

    /// The layout of `parallelism`'s workers (and fixed shards) on each of its processes,
    /// refused unless a `batch`-row batch fills every shard (evenly for a `stateful` model).
    init(_ parallelism: Parallelism, batch: Int, stateful: Bool) throws {
        let (workers, fixedShards, group) = (parallelism.workers, parallelism.fixedShards, parallelism.group)
        guard workers >= 1 else { throw LoomError.invalidArgument("workers must be at least 1, got \(workers)") }
        if let fixedShards, fixedShards < workers {
            throw LoomError.invalidArgument("fixedShards (\(fixedShards)) must be at least the worker count (\(workers))")
        }
        self.group = group
        self.workers = workers
        shardCount = fixedShards ?? workers
        globalShardCount = shardCount * group.size
        firstShard = shardCount * group.rank
        // The batch size asked for must fill every shard; a short last batch may leave some empty.
        func perProcess() -> String { fixedShards.map { "fixedShards \($0)" } ?? "one per worker" }
        try ShardLayout.check(
            batch: batch, shardCount: globalShardCount, stateful: stateful,
            cut: group.size > 1 ? "\(perProcess()) on each of \(group.size) processes" : perProcess(),
            fewer: fixedShards == nil && group.size == 1 ? "workers" : "shards in all")
    }

    /// Checks a batch size against the shards: none empty, and equal for a stateful model.
    /// `cut` says how the shards were counted and `fewer` what to have fewer of, for the refusal.
    static func check(
        batch: Int, shardCount: Int, stateful: Bool, cut: @autoclosure () -> String, fewer: @autoclosure () -> String
    ) throws {
        guard batch >= shardCount else {
            throw LoomError.invalidArgument(
                "a batch of \(batch) cannot be cut into \(shardCount) shards (\(cut())) without empty ones; "
                    + "use at most \(batch) \(fewer()) or a larger batch")
        }
        if stateful, batch % shardCount != 0 {
            throw LoomError.statefulBatch(
                "a stateful model's batch (\(batch)) must split evenly over the \(shardCount) shards, so that every "
                    + "replica carries the same number of rows' state")
        }
    }
}
