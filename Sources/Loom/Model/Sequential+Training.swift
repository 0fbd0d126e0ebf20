import Foundation

extension Sequential {
    // MARK: fit

    /// Trains the model, as Keras's `fit`, and returns the per-epoch losses and metrics.
    ///
    /// - Parameters:
    ///   - x: inputs `(samples, ...)` matching the model's input shape.
    ///   - y: targets `(samples, ...)` matching the model's output shape.
    ///   - epochs: passes over the training samples.
    ///   - batchSize: samples per step (default 32, or the model's fixed batch size).
    ///   - shuffle: permute the training samples each epoch (default true). A stateful model
    ///     refuses it unless `allowStatefulShuffle` is set, since it would scramble the
    ///     row-to-row state.
    ///   - validationSplit: the fraction of samples, taken from the end before any shuffle,
    ///     held out and evaluated after every epoch (Keras's rule).
    ///   - verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    ///   - resetStatesEachEpoch: zero recurrent state before each epoch (Keras users do this
    ///     by hand in a loop of one-epoch fits).
    ///   - workers: threads training data-parallel: each batch is cut into contiguous shards,
    ///     one replica each, and their gradients averaged (see `DataParallelEngine`). OpenBLAS
    ///     runs one thread per product meanwhile.
    ///   - averaging: `.gradients` (every step, the same model as the whole batch on one
    ///     thread) or `.parameters(every: k)`.
    ///   - fixedShards: cut every batch into this many shards whatever the worker count, so
    ///     the result is bitwise identical for any `workers` up to it.
    @discardableResult
    public func fit(
        x: Tensor, y: Tensor, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true,
        validationSplit: Double = 0, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false,
        workers: Int = 1, averaging: Averaging = .gradients, fixedShards: Int? = nil
    ) throws -> History {
        try fit(dataset: InMemoryDataset(x: x, y: y), epochs: epochs, batchSize: batchSize, shuffle: shuffle,
                validationSplit: validationSplit, verbose: verbose,
                allowStatefulShuffle: allowStatefulShuffle, resetStatesEachEpoch: resetStatesEachEpoch,
                workers: workers, averaging: averaging, fixedShards: fixedShards)
    }

    /// Trains on any `Dataset` (in memory or streamed); see `fit(x:y:...)`.
    @discardableResult
    public func fit(
        dataset: any Dataset, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true,
        validationSplit: Double = 0, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false,
        workers: Int = 1, averaging: Averaging = .gradients, fixedShards: Int? = nil
    ) throws -> History {
        guard var setup = trainingSetup else {
            throw LoomError.notReady("model '\(name)' is not compiled: call compile(optimizer:loss:metrics:) before fit")
        }
        guard epochs >= 0 else { throw LoomError.invalidArgument("fit: epochs must be >= 0, got \(epochs)") }
        guard (0..<1).contains(validationSplit) else {
            throw LoomError.invalidArgument("fit: validationSplit must be in [0, 1), got \(validationSplit)")
        }
        let batch = try checkData(dataset, batchSize: batchSize, requireTargets: true, context: "fit")
        let splitAt = Int((Double(dataset.sampleCount) * (1 - validationSplit)).rounded(.down))
        let trainingRows = 0..<splitAt, validationRows = splitAt..<dataset.sampleCount
        guard !trainingRows.isEmpty else {
            throw LoomError.invalidArgument("fit: no training samples left after validationSplit \(validationSplit)")
        }
        if isStateful {
            if shuffle && !allowStatefulShuffle {
                throw LoomError.statefulBatch(
                    "a stateful model needs shuffle: false so row i of each batch continues row i of the last "
                        + "(pass allowStatefulShuffle: true to shuffle anyway)")
            }
            try checkStatefulRows(trainingRows.count, batch: batch, what: "training samples")
            try checkStatefulRows(validationRows.count, batch: batch, what: "validation samples")
        }

        let engine = try makeEngine(
            workers: workers, fixedShards: fixedShards, averaging: averaging, optimizer: setup.optimizer, batch: batch)
        let blasThreads = BLAS.threadCount
        if engine != nil { BLAS.threadCount = 1 }
        defer {
            engine?.finish()
            BLAS.threadCount = blasThreads
            lastFitProfile = engine?.profile
        }

        var history = History()
        var reporter = ProgressReporter(verbose: verbose, epochs: epochs)
        let workspace = BatchWorkspace(firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: Shape.count(outputShape!))
        for epoch in 0..<epochs {
            if resetStatesEachEpoch { resetStates() }
            reporter.epochStarted(epoch)
            let start = DispatchTime.now()
            let order = BatchOrder(rows: trainingRows, batchSize: batch, shuffle: shuffle, generator: &generator)
            var totals = RunningTotals(metrics: setup.metrics)
            for k in 0..<order.batchCount {
                let rows = order.batch(k)
                // The step's number (Adam's bias correction reads it); counted once the step
                // has updated the parameters, so a step that throws leaves no trace.
                var stepSetup = setup
                stepSetup.step += 1
                let loss: Double, metricValues: [Double]
                if let engine, dataset.supportsConcurrentReads {
                    // Each worker gathers its own shard's rows.
                    workspace.reserve(rows: rows.count)
                    (loss, metricValues) = try engine.trainStep(workspace, batch: rows.count, setup: stepSetup) { shard in
                        try workspace.load(dataset, rows: rows[(rows.startIndex + shard.lowerBound)...].prefix(shard.count),
                                           at: shard.lowerBound)
                    }
                } else {
                    try workspace.load(dataset, rows: rows)
                    if k + 1 < order.batchCount { dataset.prefetch(rows: order.batch(k + 1), targets: true) }
                    (loss, metricValues) = try engine?.trainStep(workspace, batch: rows.count, setup: stepSetup)
                        ?? trainStep(workspace, batch: rows.count, setup: stepSetup)
                }
                setup = stepSetup
                trainingSetup = setup
                totals.add(loss: loss, metrics: metricValues, samples: rows.count)
                reporter.batchEnded(k + 1, of: order.batchCount, seconds: start.secondsElapsed)
            }
            var logs = totals.logs(prefix: "")
            if !validationRows.isEmpty {
                engine?.synchronizeParameters()
                let validation = try evaluate(
                    dataset: dataset, rows: validationRows, batchSize: batch, workspace: workspace, engine: engine)
                logs += validation.logs(prefix: "val_")
            }
            history.record(epoch: epoch, logs: logs)
            reporter.epochEnded(epoch, steps: order.batchCount, seconds: start.secondsElapsed, logs: logs)
        }
        return history
    }

    /// The model's own layers and gradient buffer, as the replica of single-thread training
    /// (made once, so a step allocates nothing).
    var primaryReplica: Replica {
        if let replica = primaryReplicaStorage { return replica }
        let replica = Replica(layers: layers, gradients: parameterGradients.pointer, parameterCount: parameterCount)
        primaryReplicaStorage = replica
        return replica
    }

    /// One optimizer step on one thread on the batch in `workspace`: forward, loss, backward,
    /// update. Returns the batch's loss and metric values.
    func trainStep(_ workspace: BatchWorkspace, batch: Int, setup: TrainingSetup) -> (Double, [Double]) {
        let replica = backpropagate(workspace, batch: batch, setup: setup)
        setup.optimizer.update(
            parameters: parameterValues.pointer, gradients: parameterGradients.pointer,
            range: 0..<parameterCount, step: setup.step)
        return (replica.loss, replica.metrics)
    }

    /// Forward, loss and backward on the batch in `workspace`, leaving dL/dparameters in the
    /// gradient buffer.
    private func backpropagate(_ workspace: BatchWorkspace, batch: Int, setup: TrainingSetup) -> Replica {
        let replica = primaryReplica
        replica.backpropagate(
            inputs: workspace.inputs.pointer, targets: workspace.targets.pointer, batch: batch,
            outputCount: workspace.outputCount, width: outputShape!.last ?? 1, setup: setup)
        return replica
    }

    /// The engine for `workers` workers, or nil for plain single-thread training.
    private func makeEngine(
        workers: Int, fixedShards: Int?, averaging: Averaging, optimizer: any Optimizer, batch: Int
    ) throws -> DataParallelEngine? {
        guard workers != 1 || fixedShards != nil || averaging != .gradients else { return nil }
        return try DataParallelEngine(
            model: self, workers: workers, fixedShards: fixedShards, averaging: averaging, optimizer: optimizer,
            batch: batch, stateful: isStateful)
    }

    /// One optimizer step on one batch, as Keras's `train_on_batch`; returns the loss before
    /// the step. Stateful layers carry their state as in `fit`.
    @discardableResult
    public func trainOnBatch(x: Tensor, y: Tensor) throws -> Double {
        guard var setup = trainingSetup else {
            throw LoomError.notReady("model '\(name)' is not compiled: call compile(optimizer:loss:metrics:) before trainOnBatch")
        }
        let dataset = try InMemoryDataset(x: x, y: y)
        let batch = try checkData(dataset, batchSize: x.sampleCount, requireTargets: true, context: "trainOnBatch")
        let workspace = BatchWorkspace(firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: Shape.count(outputShape!))
        try workspace.load(dataset, rows: Array(0..<batch)[...])
        setup.step += 1
        let loss = trainStep(workspace, batch: batch, setup: setup).0
        trainingSetup = setup
        return loss
    }

    /// The loss on one batch and its gradient for every parameter (in `weights()` order),
    /// without updating anything but stateful layers' state, as a `GradientTape` would give.
    public func lossAndGradients(x: Tensor, y: Tensor) throws -> (loss: Double, gradients: [Tensor]) {
        guard let setup = trainingSetup else {
            throw LoomError.notReady("model '\(name)' is not compiled: call compile(optimizer:loss:metrics:) first")
        }
        let dataset = try InMemoryDataset(x: x, y: y)
        let batch = try checkData(dataset, batchSize: x.sampleCount, requireTargets: true, context: "lossAndGradients")
        let workspace = BatchWorkspace(firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: Shape.count(outputShape!))
        try workspace.load(dataset, rows: Array(0..<batch)[...])
        return (backpropagate(workspace, batch: batch, setup: setup).loss, gradients())
    }

    // MARK: evaluate

    /// The loss and metrics on `x`, `y` (Keras's `evaluate(..., return_dict=True)`), keyed
    /// "loss", "mae", ...
    /// With `workers` > 1 the batches are sharded over that many threads, as in `fit`.
    public func evaluate(x: Tensor, y: Tensor, batchSize: Int? = nil, workers: Int = 1) throws -> [String: Double] {
        try evaluate(dataset: InMemoryDataset(x: x, y: y), batchSize: batchSize, workers: workers)
    }

    /// The loss and metrics on a dataset; see `evaluate(x:y:batchSize:workers:)`.
    public func evaluate(dataset: any Dataset, batchSize: Int? = nil, workers: Int = 1) throws -> [String: Double] {
        guard trainingSetup != nil else {
            throw LoomError.notReady("model '\(name)' is not compiled: call compile(optimizer:loss:metrics:) before evaluate")
        }
        let batch = try checkData(dataset, batchSize: batchSize, requireTargets: true, context: "evaluate")
        if isStateful { try checkStatefulRows(dataset.sampleCount, batch: batch, what: "samples") }
        let workspace = BatchWorkspace(firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: Shape.count(outputShape!))
        let engine = try parallelForward(workers: workers, batch: batch)
        defer { engine?.finish() }
        let totals = try evaluate(dataset: dataset, rows: 0..<dataset.sampleCount, batchSize: batch, workspace: workspace,
                                  engine: engine)
        return Dictionary(uniqueKeysWithValues: totals.logs(prefix: ""))
    }

    private func evaluate(
        dataset: any Dataset, rows: Range<Int>, batchSize: Int, workspace: BatchWorkspace, engine: DataParallelEngine?
    ) throws -> RunningTotals {
        let setup = trainingSetup!
        var totals = RunningTotals(metrics: setup.metrics)
        var start = rows.lowerBound
        let all = Array(rows)
        while start < rows.upperBound {
            let end = BatchOrder.end(from: start, batch: batchSize, limit: rows.upperBound)
            let slice = all[(start - rows.lowerBound)..<(end - rows.lowerBound)]
            try workspace.load(dataset, rows: slice)
            if end < rows.upperBound {
                let next = all[(end - rows.lowerBound)..<(BatchOrder.end(from: end, batch: batchSize, limit: rows.upperBound) - rows.lowerBound)]
                dataset.prefetch(rows: next, targets: true)
            }
            let (loss, metrics): (Double, [Double])
            if let engine {
                (loss, metrics) = engine.forward(workspace, batch: slice.count, setup: setup, output: nil)
            } else {
                let replica = primaryReplica
                let predictions = replica.forward(workspace.inputs.pointer, batch: slice.count, training: false)
                replica.score(predictions, targets: workspace.targets.pointer, batch: slice.count,
                              outputCount: workspace.outputCount, width: outputShape!.last ?? 1, setup: setup, gradient: false)
                (loss, metrics) = (replica.loss, replica.metrics)
            }
            totals.add(loss: loss, metrics: metrics, samples: slice.count)
            start = end
        }
        return totals
    }

    // MARK: predict

    /// The model's outputs for `x`, `(samples, ...output shape)`, computed `batchSize` samples
    /// at a time. A stateful model may predict with another batch size than it trains with:
    /// that batch size keeps its own state (see `LSTM`). With `workers` > 1 the batches are
    /// sharded over that many threads, as in `fit`.
    public func predict(_ x: Tensor, batchSize: Int? = nil, workers: Int = 1) throws -> Tensor {
        try predict(dataset: InMemoryDataset(x: x), batchSize: batchSize, workers: workers)
    }

    /// The model's outputs for every sample of a dataset; see `predict(_:batchSize:workers:)`.
    /// The batch size defaults to the model's fixed one (`Input(batchSize:)`), else 32.
    public func predict(dataset: any Dataset, batchSize: Int? = nil, workers: Int = 1) throws -> Tensor {
        try build(inputShape: dataset.inputShape)
        try checkInMemoryInputs(dataset)
        let batch = try checkBatchSize(batchSize, samples: dataset.sampleCount, fixedAllowed: false)
        if isStateful { try checkStatefulRows(dataset.sampleCount, batch: batch, what: "samples") }
        let outputCount = Shape.count(outputShape!)
        try checkMemory(samples: dataset.sampleCount, outputsPerSample: outputCount, context: "predict")
        var result = Tensor(shape: [dataset.sampleCount] + outputShape!)
        let workspace = BatchWorkspace(firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: outputCount)
        let engine = try parallelForward(workers: workers, batch: batch)
        defer { engine?.finish() }
        let all = Array(0..<dataset.sampleCount)
        var start = 0
        while start < dataset.sampleCount {
            let end = BatchOrder.end(from: start, batch: batch, limit: dataset.sampleCount)
            try workspace.load(dataset, rows: all[start..<end], targets: false)
            if end < dataset.sampleCount {
                dataset.prefetch(rows: all[end..<BatchOrder.end(from: end, batch: batch, limit: dataset.sampleCount)], targets: false)
            }
            result.scalars.withUnsafeMutableBufferPointer { buffer in
                let target = buffer.baseAddress! + start * outputCount
                if let engine {
                    _ = engine.forward(workspace, batch: end - start, setup: nil, output: target)
                } else {
                    target.update(from: primaryReplica.forward(workspace.inputs.pointer, batch: end - start, training: false),
                                  count: (end - start) * outputCount)
                }
            }
            start = end
        }
        return result
    }

    /// An engine for parallel forward passes, or nil for one worker.
    private func parallelForward(workers: Int, batch: Int) throws -> DataParallelEngine? {
        guard workers != 1 else { return nil }
        return try DataParallelEngine(
            model: self, workers: workers, fixedShards: nil, averaging: .gradients, optimizer: SGD(), batch: batch,
            stateful: isStateful)
    }

    // MARK: checks

    /// Builds the model for the data's shape and checks the targets; returns the batch size.
    private func checkData(_ dataset: any Dataset, batchSize: Int?, requireTargets: Bool, context: String) throws -> Int {
        try build(inputShape: dataset.inputShape)
        try checkInMemoryInputs(dataset)
        if requireTargets {
            guard let targetShape = dataset.targetShape else {
                throw LoomError.invalidArgument("\(context): the dataset has no targets (y)")
            }
            let output = outputShape!
            // Keras accepts y (samples,) for an output (samples, 1): compare without trailing 1s.
            func squeezed(_ shape: [Int]) -> [Int] {
                var s = shape
                while s.last == 1 { s.removeLast() }
                return s
            }
            guard squeezed(targetShape) == squeezed(output) else {
                throw LoomError.shapeMismatch(
                    context: "\(context): y does not match the output of layer '\(layers.last!.name)'",
                    expected: Shape.describe(output, batch: nil), found: [dataset.sampleCount] + targetShape)
            }
        }
        try checkMemory(samples: dataset.sampleCount, outputsPerSample: 0, context: context)
        return try checkBatchSize(batchSize, samples: dataset.sampleCount, fixedAllowed: true)
    }

    /// Refuses, before anything is allocated, a run whose lists of rows (8 bytes a sample: an
    /// epoch's order) and kept outputs (`outputsPerSample` floats a sample) would not fit in
    /// this machine's memory: a file may declare more samples than any machine holds.
    private func checkMemory(samples: Int, outputsPerSample: Int, context: String) throws {
        let perSample = 8 + 4 * outputsPerSample
        let (bytes, overflow) = samples.multipliedReportingOverflow(by: perSample)
        let available = ProcessInfo.processInfo.physicalMemory
        guard overflow || UInt64(bytes) > available else { return }
        throw LoomError.invalidArgument(
            "\(context): the data declares \(samples) samples; "
                + (outputsPerSample > 0 ? "their outputs and row list" : "the list of their rows")
                + " alone would need \(overflow ? "more than 2^63 bytes" : "\(bytes / (1 << 30)) GiB"), more than this machine's "
                + "\(available / (1 << 30)) GiB")
    }

    /// Data in memory is checked whole by the first layer before any step, so a bad sample
    /// changes nothing; a streaming dataset is checked batch by batch as it is read.
    private func checkInMemoryInputs(_ dataset: any Dataset) throws {
        guard let memory = dataset as? InMemoryDataset else { return }
        try memory.x.scalars.withUnsafeBufferPointer { x in
            try layers[0].checkInput(x.baseAddress!, rows: ArraySlice(0..<memory.sampleCount))
        }
    }

    private func checkBatchSize(_ requested: Int?, samples: Int, fixedAllowed: Bool) throws -> Int {
        let batch = requested ?? batchSize ?? 32
        guard batch > 0 else { throw LoomError.invalidArgument("batchSize must be positive, got \(batch)") }
        if fixedAllowed, let fixed = batchSize, batch != fixed, isStateful {
            throw LoomError.statefulBatch(
                "the stateful model was built for batches of \(fixed) (Input(batchSize:)), got batchSize \(batch)")
        }
        guard samples > 0 else { throw LoomError.invalidArgument("the data has no samples") }
        return batch
    }

    private func checkStatefulRows(_ count: Int, batch: Int, what: String) throws {
        guard count % batch == 0 else {
            throw LoomError.statefulBatch(
                "a stateful model needs the \(what) (\(count)) to be a multiple of the batch size (\(batch)), "
                    + "so that every row continues the same sequence; drop or pad \(count % batch) samples")
        }
    }
}
