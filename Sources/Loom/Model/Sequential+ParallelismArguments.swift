/// `fit`, `evaluate` and `predict` with `Parallelism`'s settings given one by one
/// (`workers: 4, fixedShards: 8`), as Loom's first releases took them: each builds the
/// `Parallelism` and calls the form that takes it. A call that names none of them is the
/// other form's (these are disfavoured overloads).
extension Sequential {
    /// `fit(x:y:...parallelism:...)` with `Parallelism(workers:fixedShards:averaging:processGroup:)`.
    @_disfavoredOverload
    @discardableResult
    public func fit(
        x: Tensor, y: Tensor, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true, blockShuffle: BlockShuffle? = nil,
        validationSplit: Double = 0, validationData: (any Dataset)? = nil, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false,
        workers: Int = 1, averaging: Averaging = .gradients, fixedShards: Int? = nil,
        callbacks: [any Callback] = [], guardNonFinite: Bool = true, gradientAccumulationSteps: Int = 1,
        processGroup: (any ProcessGroup)? = nil, sampleWeight: Tensor? = nil, classWeight: [Int: Float]? = nil,
        truncatedBPTT: Int? = nil
    ) throws -> History {
        try fit(
            x: x, y: y, epochs: epochs, batchSize: batchSize, shuffle: shuffle, blockShuffle: blockShuffle,
            validationSplit: validationSplit,
            validationData: validationData, verbose: verbose, allowStatefulShuffle: allowStatefulShuffle,
            resetStatesEachEpoch: resetStatesEachEpoch,
            parallelism: Parallelism(workers: workers, fixedShards: fixedShards, averaging: averaging, processGroup: processGroup),
            callbacks: callbacks, guardNonFinite: guardNonFinite, gradientAccumulationSteps: gradientAccumulationSteps,
            sampleWeight: sampleWeight, classWeight: classWeight, truncatedBPTT: truncatedBPTT)
    }

    /// `fit(dataset:...parallelism:...)` with `Parallelism(workers:fixedShards:averaging:processGroup:)`.
    @_disfavoredOverload
    @discardableResult
    public func fit(
        dataset: any Dataset, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true, blockShuffle: BlockShuffle? = nil,
        validationSplit: Double = 0, validationData: (any Dataset)? = nil, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false,
        workers: Int = 1, averaging: Averaging = .gradients, fixedShards: Int? = nil,
        callbacks: [any Callback] = [], guardNonFinite: Bool = true, gradientAccumulationSteps: Int = 1,
        processGroup: (any ProcessGroup)? = nil, classWeight: [Int: Float]? = nil, truncatedBPTT: Int? = nil
    ) throws -> History {
        try fit(
            dataset: dataset, epochs: epochs, batchSize: batchSize, shuffle: shuffle, blockShuffle: blockShuffle,
            validationSplit: validationSplit,
            validationData: validationData, verbose: verbose, allowStatefulShuffle: allowStatefulShuffle,
            resetStatesEachEpoch: resetStatesEachEpoch,
            parallelism: Parallelism(workers: workers, fixedShards: fixedShards, averaging: averaging, processGroup: processGroup),
            callbacks: callbacks, guardNonFinite: guardNonFinite, gradientAccumulationSteps: gradientAccumulationSteps,
            classWeight: classWeight, truncatedBPTT: truncatedBPTT)
    }

    /// `evaluate(x:y:batchSize:parallelism:sampleWeight:)` with `Parallelism(workers:processGroup:)`.
    @_disfavoredOverload
    public func evaluate(
        x: Tensor, y: Tensor, batchSize: Int? = nil, workers: Int = 1, processGroup: (any ProcessGroup)? = nil,
        sampleWeight: Tensor? = nil
    ) throws -> [String: Double] {
        try evaluate(
            x: x, y: y, batchSize: batchSize, parallelism: Parallelism(workers: workers, processGroup: processGroup),
            sampleWeight: sampleWeight)
    }

    /// `evaluate(dataset:batchSize:parallelism:)` with `Parallelism(workers:processGroup:)`.
    @_disfavoredOverload
    public func evaluate(
        dataset: any Dataset, batchSize: Int? = nil, workers: Int = 1, processGroup: (any ProcessGroup)? = nil
    ) throws -> [String: Double] {
        try evaluate(dataset: dataset, batchSize: batchSize, parallelism: Parallelism(workers: workers, processGroup: processGroup))
    }

    /// `predict(_:batchSize:parallelism:)` with `Parallelism(workers:processGroup:)`.
    @_disfavoredOverload
    public func predict(
        _ x: Tensor, batchSize: Int? = nil, workers: Int = 1, processGroup: (any ProcessGroup)? = nil
    ) throws -> Tensor {
        try predict(x, batchSize: batchSize, parallelism: Parallelism(workers: workers, processGroup: processGroup))
    }

    /// `predict(dataset:batchSize:parallelism:)` with `Parallelism(workers:processGroup:)`.
    @_disfavoredOverload
    public func predict(
        dataset: any Dataset, batchSize: Int? = nil, workers: Int = 1, processGroup: (any ProcessGroup)? = nil
    ) throws -> Tensor {
        try predict(dataset: dataset, batchSize: batchSize, parallelism: Parallelism(workers: workers, processGroup: processGroup))
    }

    /// `predict(dataset:batchSize:parallelism:each:)` with `Parallelism(workers:processGroup:)`.
    @_disfavoredOverload
    public func predict(
        dataset: any Dataset, batchSize: Int? = nil, workers: Int = 1, processGroup: (any ProcessGroup)? = nil,
        each body: (Range<Int>, UnsafeBufferPointer<Float>) throws -> Void
    ) throws {
        try predict(
            dataset: dataset, batchSize: batchSize, parallelism: Parallelism(workers: workers, processGroup: processGroup),
            each: body)
    }
}
