/// Reads a run's batches of a dataset into its `BatchWorkspace`: the one way fit, evaluate
/// and predict load. With other processes only this process's shards' rows are read;
/// otherwise the whole batch on the calling thread, the next one prefetched meanwhile, unless
/// each worker of a training step reads its own shard's rows (`shardReads`: several workers
/// on a dataset that allows concurrent reads).
///
/// Who writes what: `prepare` (the calling thread) sets the batch's rows before a step; the
/// workers only read them in `loadShard` during it.
final class BatchLoader {
    let dataset: any Dataset
    let workspace: BatchWorkspace
    /// Whether targets (and sample weights) are read.
    let targets: Bool
    /// With other processes, this process's rows of a batch of n rows; nil alone.
    let localRows: ((Int) -> Range<Int>)?
    /// Whether each worker of a step reads its own shard's rows (`loadShard`).
    let shardReads: Bool
    /// The rows of the batch `prepare` made ready, for `loadShard`.
    private var batchRows: ArraySlice<Int> = []

    /// The loader of forward passes on `replicas` (evaluate, predict, validation).
    convenience init(forwardPassesOf dataset: any Dataset, into workspace: BatchWorkspace, targets: Bool, replicas: ReplicaSet) {
        self.init(
            dataset: dataset, workspace: workspace, targets: targets,
            localRows: replicas.isMultiProcess ? replicas.localRows(batch:) : nil, shardReads: false)
    }

    init(
        dataset: any Dataset, workspace: BatchWorkspace, targets: Bool, localRows: ((Int) -> Range<Int>)?, shardReads: Bool
    ) {
        self.dataset = dataset
        self.workspace = workspace
        self.targets = targets
        self.localRows = localRows
        self.shardReads = shardReads
    }

    /// Makes the batch `rows` ready for a step, and alone prefetches `next` (the following
    /// batch's rows) while it runs: reads it here, unless `shardReads` leaves each shard's
    /// rows to `loadShard`.
    func prepare(_ rows: ArraySlice<Int>, next: ArraySlice<Int>?) throws {
        batchRows = rows
        if let localRows {
            try workspace.load(dataset, rows: rows, own: localRows(rows.count), targets: targets)
        } else if shardReads {
            workspace.reserve(rows: rows.count)
        } else {
            try workspace.load(dataset, rows: rows, targets: targets)
            if let next { dataset.prefetch(rows: next, targets: targets) }
        }
    }

    /// A worker's part of loading the prepared batch: with `shardReads`, the rows `shard` of
    /// it (offsets in the batch); otherwise nothing (the batch is in place).
    func loadShard(_ shard: Range<Int>) throws {
        guard shardReads else { return }
        try workspace.load(
            dataset, rows: batchRows[(batchRows.startIndex + shard.lowerBound)...].prefix(shard.count), at: shard.lowerBound,
            targets: targets)
    }

    /// Reads the whole batch `rows` on the calling thread (this process's rows of it under
    /// other processes), and alone prefetches `next`.
    func load(_ rows: ArraySlice<Int>, next: ArraySlice<Int>?) throws {
        try prepare(rows, next: next)
        try loadShard(0..<rows.count)
    }

    /// Reads `rows` a batch of at most `batchSize` at a time, and calls `body` with each
    /// batch's first row (counted from `rows`'s start) and its row count.
    func forEachBatch(of rows: Range<Int>, batchSize: Int, _ body: (Int, Int) throws -> Void) throws {
        let count = rows.count
        /// The rows `from ..< to` of the run, counted from its start.
        func part(_ from: Int, _ to: Int) -> ArraySlice<Int> { ArraySlice((rows.lowerBound + from)..<(rows.lowerBound + to)) }
        var start = 0
        while start < count {
            let end = BatchOrder.end(from: start, batch: batchSize, limit: count)
            let next = end < count ? part(end, BatchOrder.end(from: end, batch: batchSize, limit: count)) : nil
            try load(part(start, end), next: next)
            try body(start, end - start)
            start = end
        }
    }
}
