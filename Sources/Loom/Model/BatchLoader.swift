/// Reads a run's batches of a dataset into its `BatchWorkspace`: the one way fit, evaluate
/// and predict load. With other processes only this process's shards' rows are read;
/// otherwise the whole batch on the calling thread, the next one prefetched meanwhile, unless
/// each worker of a training step reads its own shard's rows (`shardReads`: several workers
/// on a dataset that allows concurrent reads).
struct BatchLoader {
    let dataset: any Dataset
    let workspace: BatchWorkspace
    /// Whether targets (and sample weights) are read.
    let targets: Bool
    /// With other processes, this process's rows of a batch of n rows; nil alone.
    let localRows: ((Int) -> Range<Int>)?
    /// Whether each worker of a step reads its own shard's rows (`prepare`'s result).
    let shardReads: Bool

    /// The loader of forward passes on `replicas` (evaluate, predict, validation).
    init(forwardPassesOf dataset: any Dataset, into workspace: BatchWorkspace, targets: Bool, replicas: ReplicaSet) {
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
    /// batch's rows) while it runs. Returns what each worker calls with its shard's rows of
    /// the batch: their read with `shardReads`, else nothing (the batch is in place).
    func prepare(_ rows: ArraySlice<Int>, next: ArraySlice<Int>?) throws -> (Range<Int>) throws -> Void {
        if let localRows {
            try workspace.load(dataset, rows: rows, own: localRows(rows.count), targets: targets)
            return { _ in }
        }
        if shardReads {
            workspace.reserve(rows: rows.count)
            return { [dataset, workspace, targets] shard in
                try workspace.load(
                    dataset, rows: rows[(rows.startIndex + shard.lowerBound)...].prefix(shard.count), at: shard.lowerBound,
                    targets: targets)
            }
        }
        try workspace.load(dataset, rows: rows, targets: targets)
        if let next { dataset.prefetch(rows: next, targets: targets) }
        return { _ in }
    }

    /// Reads the whole batch `rows` on the calling thread (this process's rows of it under
    /// other processes), and alone prefetches `next`.
    func load(_ rows: ArraySlice<Int>, next: ArraySlice<Int>?) throws {
        try prepare(rows, next: next)(0..<rows.count)
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
