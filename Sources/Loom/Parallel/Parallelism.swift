/// How a run spreads its batches over threads and processes: the settings `fit`, `evaluate`
/// and `predict` share, as one value.
///
/// Every batch is cut into contiguous shards, `fixedShards` of them (else one a worker) on
/// each process of `processGroup`; `workers` threads run them, one replica a shard, and the
/// shards' gradients, losses or outputs are combined in one fixed order (`ShardTree`), so a
/// result depends on the shards, never on the threads.
///
///     try model.fit(x: x, y: y, epochs: 5, parallelism: Parallelism(workers: 4, fixedShards: 8))
public struct Parallelism {
    /// Threads running shards at once (at least 1). OpenBLAS runs one thread a product
    /// meanwhile.
    public var workers: Int
    /// Shards each process runs of every batch, whatever `workers` is (at least `workers`; a
    /// batch is cut into this many times the processes): the result is then bitwise the same
    /// for any worker count up to it. Nil: one a worker.
    public var fixedShards: Int?
    /// How training's replicas combine their work; `evaluate` and `predict` only combine
    /// outputs and do not read it.
    public var averaging: Averaging
    /// The processes of a job across processes or hosts (`LoomMPI`'s ranks): every rank calls
    /// with the same model, data and arguments, runs its own shards of each batch, and all end
    /// with the same results, bitwise those of one process with `fixedShards` = ranks ×
    /// shards. Only rank 0 prints progress. Nil: this process alone.
    public var processGroup: (any ProcessGroup)?
    /// With other processes, averaging gradients one batch an update: the gradients leave for
    /// the exchange in buckets of at least this many floats as the backward pass finishes
    /// them (the last layers first; a recurrent layer's recurrent kernel and bias before its
    /// kernel), so that the exchange overlaps the rest of the pass; the bits are the same
    /// either way. 0: the whole exchange follows the backward pass. Default
    /// `defaultExchangeBucketFloats`.
    public var exchangeBucketFloats: Int

    /// The floats of a bucket by default: 32,768 (128 KB), a recurrent layer of 64 units or
    /// more a bucket, smaller layers together.
    public static let defaultExchangeBucketFloats = 32_768

    /// One thread in this process alone by default; see each property.
    public init(
        workers: Int = 1, fixedShards: Int? = nil, averaging: Averaging = .gradients, processGroup: (any ProcessGroup)? = nil,
        exchangeBucketFloats: Int = Parallelism.defaultExchangeBucketFloats
    ) {
        self.workers = workers
        self.fixedShards = fixedShards
        self.averaging = averaging
        self.processGroup = processGroup
        self.exchangeBucketFloats = exchangeBucketFloats
    }

    /// The job's processes: `processGroup`, or this process alone.
    var group: any ProcessGroup { processGroup ?? SingleProcess() }
}
