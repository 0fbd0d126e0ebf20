/// What a `fit` will do, decided and checked once, before any thread starts or any file is
/// written: the settings against each other, the data against the model (shapes, targets,
/// sample and class weights, sequence lengths, the validation data), the batch against the
/// shards and a stateful model's rules, truncated BPTT, gradient accumulation and parameter
/// averaging, and the memory the run needs. The run follows it.
struct FitPlan {
    /// The rows of a step's batch (a micro-batch with gradient accumulation).
    let batch: Int
    /// Micro-batches an update (1 without gradient accumulation).
    let accumulationSteps: Int
    /// The block shuffle whose blocks the dataset reads whole (`Dataset.readInBlocks`): one
    /// process reads whole batches; ranks read only their own rows. Nil otherwise.
    let blockReads: BlockShuffle?
    /// The rows of an update: `batch` × `accumulationSteps`.
    let updateRows: Int
    /// The rows of the data trained on.
    let trainingRows: Range<Int>
    /// The dataset validated on (the training data's with a validation split) and its rows.
    let validationSet: any Dataset
    let validationRows: Range<Int>
    /// The loss weights a sample of the training and of the validation data carries
    /// (`Sequential.lossWeightsPerSample`).
    let trainingWeightsPerSample: Int
    let validationWeightsPerSample: Int
    /// The chunks of a truncated-BPTT fit, or nil.
    let truncation: TruncatedBPTTPlan?
    /// How a batch is cut into shards over the workers and processes.
    let layout: ShardLayout

    /// The plan of `model.fit(dataset:...)` with these arguments (see `fit(x:y:...)`); throws
    /// the first thing that would stop the run. Builds the model for the data's shape.
    init(
        model: Sequential, dataset: any Dataset, epochs: Int, batchSize: Int?, shuffle: Bool, blockShuffle: BlockShuffle?,
        validationSplit: Double,
        validationData: (any Dataset)?, allowStatefulShuffle: Bool, parallelism: Parallelism,
        gradientAccumulationSteps accumulation: Int, classWeight: [Int: Float]?, truncatedBPTT: Int?
    ) throws {
        let (averaging, group) = (parallelism.averaging, parallelism.group)
        guard model.objective != nil else { throw model.notCompiled("fit") }
        guard accumulation >= 1 else {
            throw LoomError.invalidArgument("fit: gradientAccumulationSteps must be at least 1, got \(accumulation)")
        }
        if accumulation > 1 && model.isStateful {
            throw LoomError.invalidArgument(
                "fit: gradient accumulation is refused with a stateful model: row i of each micro-batch continues row i of "
                    + "the last, which no single batch of all the rows would do")
        }
        if accumulation > 1 && averaging != .gradients {
            throw LoomError.invalidArgument("fit: gradient accumulation needs averaging: .gradients")
        }
        guard parallelism.exchangeBucketFloats >= 0 else {
            throw LoomError.invalidArgument(
                "fit: exchangeBucketFloats must be at least 0 (0: no overlap), got \(parallelism.exchangeBucketFloats)")
        }
        guard epochs >= 0 else { throw LoomError.invalidArgument("fit: epochs must be >= 0, got \(epochs)") }
        guard (0..<1).contains(validationSplit) else {
            throw LoomError.invalidArgument("fit: validationSplit must be in [0, 1), got \(validationSplit)")
        }
        if validationData != nil && validationSplit > 0 {
            throw LoomError.invalidArgument(
                "fit: validationData and validationSplit \(validationSplit) both name validation samples; give one of them")
        }
        let splitAt = Sequential.trainingSamples(of: dataset.sampleCount, validationSplit: validationSplit)
        trainingRows = 0..<splitAt
        validationSet = validationData ?? dataset
        validationRows = validationData.map { 0..<$0.sampleCount } ?? splitAt..<dataset.sampleCount
        if model.isStateful && shuffle && !allowStatefulShuffle {
            throw LoomError.statefulBatch(
                "a stateful model needs shuffle: false so row i of each batch continues row i of the last "
                    + "(pass allowStatefulShuffle: true to shuffle anyway)")
        }
        blockReads = group.size == 1 ? blockShuffle : nil
        if let blockShuffle { try FitPlan.check(blockShuffle, shuffle: shuffle, rows: trainingRows.count) }
        if let blockReads, dataset.streamsRows { try FitPlan.checkHeldBlocks(blockReads, rows: trainingRows.count, of: dataset) }
        let batch = try model.checkRun(
            dataset, batchSize: batchSize, context: "fit", use: .training,
            parts: [("training samples", trainingRows.count)]
                + (validationData == nil ? [("validation samples", validationRows.count)] : []))
        self.batch = batch
        if let validationData {
            try model.checkValidationData(validationData, of: dataset)
            _ = try model.checkRun(
                validationData, batchSize: batch, context: "fit: validationData", use: .training,
                parts: [("validation samples", validationRows.count)])
        }
        guard !trainingRows.isEmpty else {
            throw LoomError.invalidArgument("fit: no training samples left after validationSplit \(validationSplit)")
        }
        trainingWeightsPerSample = try model.lossWeightsPerSample(of: dataset, classWeights: classWeight)
        // Class weights weigh training only, as in Keras.
        validationWeightsPerSample =
            classWeight == nil && validationData == nil
            ? trainingWeightsPerSample : try model.lossWeightsPerSample(of: validationSet)
        truncation = try truncatedBPTT.map { try model.truncatedBPTT(length: $0) }
        if truncation != nil, let validationData, validationData.sampleWeightShape != dataset.sampleWeightShape {
            throw LoomError.invalidArgument(
                "fit: with truncated BPTT the validation data's sample weights must be shaped as the training data's "
                    + "(\(validationData.sampleWeightShape.map { Shape.describe($0) } ?? "none") against "
                    + "\(dataset.sampleWeightShape.map { Shape.describe($0) } ?? "none"))")
        }
        if truncation != nil && accumulation > 1 {
            throw LoomError.invalidArgument("fit: truncated BPTT and gradient accumulation cannot be combined (an update is a chunk)")
        }
        let (updateRows, overflow) = batch.multipliedReportingOverflow(by: accumulation)
        guard !overflow else {
            throw LoomError.invalidArgument("fit: \(accumulation) micro-batches of \(batch) rows make too large an update")
        }
        self.updateRows = updateRows
        accumulationSteps = accumulation
        try model.checkTrainingMemory(
            batchSize: min(batch, trainingRows.count), workers: parallelism.fixedShards ?? parallelism.workers, averaging: averaging,
            optimizerStates: model.parameterStore.optimizer!.stateBuffers.count, processes: group.size,
            processesOnHost: group.localSize, chunkTimesteps: truncation?.length)
        if case let .parameters(every) = averaging, every < 1 {
            throw LoomError.invalidArgument("parameter averaging needs every >= 1, got \(every)")
        }
        layout = try ShardLayout(parallelism, batch: updateRows, stateful: model.isStateful)
        if accumulation > 1 {
            // Every micro-batch's shards are leaves of the update's tree.
            try ShardLayout.check(
                batch: updateRows, shardCount: layout.globalShardCount * accumulation, stateful: model.isStateful,
                cut: "\(layout.globalShardCount) for each of \(accumulation) micro-batches", fewer: "shards in all")
        }
    }

    /// The blocks of a block shuffle of `rows`.
    private static func blockCount(_ blocks: BlockShuffle, rows: Int) -> Int { rows == 0 ? 0 : (rows - 1) / blocks.blockRows + 1 }

    /// A block shuffle needs `shuffle` and at most 2²⁴ blocks of the `rows` (its order keeps
    /// one entry a block).
    private static func check(_ blocks: BlockShuffle, shuffle: Bool, rows: Int) throws {
        guard shuffle else { throw LoomError.invalidArgument("fit: blockShuffle orders a shuffled epoch; it needs shuffle: true") }
        let count = blockCount(blocks, rows: rows)
        guard count <= 1 << 24 else {
            throw LoomError.invalidArgument(
                "fit: \(rows) rows make \(count) blocks of \(blocks.blockRows) rows; a block shuffle keeps one entry a block, "
                    + "at most 2^24: use blocks of at least \((rows - 1) / (1 << 24) + 1) rows")
        }
    }

    /// The blocks a streaming dataset holds while it reads them (a window's and one more,
    /// `HDF5BlockCache`) must fit in half of `Sequential.memoryLimit`.
    private static func checkHeldBlocks(_ blocks: BlockShuffle, rows: Int, of dataset: any Dataset) throws {
        let count = blockCount(blocks, rows: rows)
        let rowBytes = 4 * Double(Shape.count(dataset.inputShape) + (dataset.targetShape.map(Shape.count) ?? 0))
        let heldBlocks = min(blocks.windowBlocks, count) + 1
        let held = Double(heldBlocks) * Double(min(blocks.blockRows, rows)) * rowBytes
        let (limit, source) = Sequential.memoryLimit
        if held > Double(limit) / 2 {
            throw LoomError.invalidArgument(
                "fit: a block shuffle of \(blocks) holds \(heldBlocks) blocks (\(Int(held / 1e6)) MB) while it reads, more "
                    + "than half of the \(Int(Double(limit) / 1e9)) GB of \(source); use smaller blocks or windows")
        }
    }
}
