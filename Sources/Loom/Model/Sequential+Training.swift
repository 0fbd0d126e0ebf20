import Foundation
import Logging

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
    ///   - blockShuffle: with `shuffle`, permute blocks of rows and the rows within windows of
    ///     blocks instead of every row (`BlockShuffle`): a streamed file is then read in
    ///     whole blocks, at about the speed of an epoch in file order. Nil: every row.
    ///   - validationSplit: the fraction of samples, taken from the end before any shuffle,
    ///     held out and evaluated after every epoch (Keras's rule).
    ///   - validationData: samples of their own evaluated after every epoch instead (Keras's
    ///     `validation_data`; with their sample weights, if they have them); not with a
    ///     `validationSplit`.
    ///   - verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    ///   - resetStatesEachEpoch: zero recurrent state before each epoch (Keras users do this
    ///     by hand in a loop of one-epoch fits).
    ///   - parallelism: the threads and processes each batch is cut over (`Parallelism`):
    ///     workers, fixed shards, averaging of gradients (every step, the same model as the
    ///     whole batch on one thread) or of parameters, and the job's processes. Default: one
    ///     thread, this process alone.
    ///   - callbacks: called at the edges of training, epochs and batches (see `Callback`);
    ///     `BackupAndRestore` among them makes the run resumable.
    ///   - guardNonFinite: stop with `LoomError.diverged` at the first step whose loss or
    ///     gradient is NaN or infinite, before it changes any weight (default true).
    ///   - gradientAccumulationSteps: n > 1 takes one update every n micro-batches of
    ///     `batchSize` rows, on the gradient of their n · batchSize rows: bitwise the update
    ///     of one batch of those rows cut into n × the shards (`GradientAccumulation`), with
    ///     the memory of a micro-batch's passes. Schedules, callbacks and checkpoints count
    ///     updates. Not with stateful models or parameter averaging.
    ///   - sampleWeight: Keras's `sample_weight`: a loss weight a sample `(samples)`, or a
    ///     step `(samples, timesteps)` for a sequence output; finite, not negative. The loss
    ///     is Σ w·loss over the batch's valid rows divided by their count, the metrics the
    ///     weighted means (Keras's reductions; a mask at the output counts too).
    ///   - classWeight: Keras's `class_weight`: each sample weighs its class's weight (the
    ///     largest target's index, or the 0/1 label), 1 for a class not listed; only for an
    ///     output without time axis, and not with `sampleWeight`.
    ///   - truncatedBPTT: k trains each batch's sequences in chunks of k steps, forward and
    ///     backward, the state carried from chunk to chunk, one update a chunk
    ///     (Deeplearning4j's `tBPTTLength`; see `Sequential+TruncatedBPTT.swift`). Only for
    ///     models with an output a timestep whose layers read the sequence forwards
    ///     (Bidirectional, go-backwards and many-to-one layers are refused by name); k larger
    ///     than the timesteps trains whole sequences. Not with gradient accumulation.
    @discardableResult
    public func fit(
        x: Tensor, y: Tensor, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true, blockShuffle: BlockShuffle? = nil,
        validationSplit: Double = 0, validationData: (any Dataset)? = nil, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false, parallelism: Parallelism = Parallelism(),
        callbacks: [any Callback] = [], guardNonFinite: Bool = true, gradientAccumulationSteps: Int = 1,
        sampleWeight: Tensor? = nil, classWeight: [Int: Float]? = nil, truncatedBPTT: Int? = nil
    ) throws -> History {
        try fit(
            dataset: InMemoryDataset(x: x, y: y, sampleWeight: sampleWeight), epochs: epochs, batchSize: batchSize,
            shuffle: shuffle, blockShuffle: blockShuffle, validationSplit: validationSplit, validationData: validationData,
            verbose: verbose, allowStatefulShuffle: allowStatefulShuffle, resetStatesEachEpoch: resetStatesEachEpoch,
            parallelism: parallelism, callbacks: callbacks, guardNonFinite: guardNonFinite,
            gradientAccumulationSteps: gradientAccumulationSteps, classWeight: classWeight, truncatedBPTT: truncatedBPTT)
    }

    /// Trains on any `Dataset` (in memory or streamed; its `sampleWeightShape` says whether it
    /// weighs the loss); see `fit(x:y:...)`.
    @discardableResult
    public func fit(
        dataset: any Dataset, epochs: Int = 1, batchSize: Int? = nil, shuffle: Bool = true, blockShuffle: BlockShuffle? = nil,
        validationSplit: Double = 0, validationData: (any Dataset)? = nil, verbose: Int = 1,
        allowStatefulShuffle: Bool = false, resetStatesEachEpoch: Bool = false, parallelism: Parallelism = Parallelism(),
        callbacks: [any Callback] = [], guardNonFinite: Bool = true, gradientAccumulationSteps: Int = 1,
        classWeight: [Int: Float]? = nil, truncatedBPTT: Int? = nil
    ) throws -> History {
        if !trainingOnlySettings.isEmpty {
            throw LoomError.invalidArgument(
                "the model was read for prediction: Loom would train it without "
                    + trainingOnlySettings.joined(separator: ", ") + " (remove them in Keras to train it here)")
        }
        let (group, workers, averaging) = (parallelism.group, parallelism.workers, parallelism.averaging)
        let plan = try FitPlan(
            model: self, dataset: dataset, epochs: epochs, batchSize: batchSize, shuffle: shuffle, blockShuffle: blockShuffle,
            validationSplit: validationSplit, validationData: validationData, allowStatefulShuffle: allowStatefulShuffle,
            parallelism: parallelism, gradientAccumulationSteps: gradientAccumulationSteps, classWeight: classWeight,
            truncatedBPTT: truncatedBPTT)
        let (batch, updateRows, truncation) = (plan.batch, plan.updateRows, plan.truncation)
        let (trainingRows, validationSet, validationRows) = (plan.trainingRows, plan.validationSet, plan.validationRows)
        let objective = self.objective!
        let workspace = makeWorkspace(dataset, weightsPerSample: plan.trainingWeightsPerSample, classWeights: classWeight)
        let validationWorkspace =
            classWeight == nil && validationData == nil
            ? workspace : makeWorkspace(validationSet, weightsPerSample: plan.validationWeightsPerSample)
        let chunkWorkspace = truncation.map { plan in
            BatchWorkspace(
                firstLayer: layers[0], inputCount: workspace.inputCount / plan.timesteps * plan.length,
                outputCount: workspace.outputCount / plan.timesteps * plan.length, checksBatches: false,
                weightsPerSample: workspace.weightsPerSample == plan.timesteps ? plan.length : workspace.weightsPerSample,
                classes: workspace.classes)
        }
        defer {
            // The model's own shapes, which it was built with before.
            if let truncation { try? rebuild(timesteps: truncation.timesteps, carryingState: false) }
        }
        if let truncation { try rebuild(timesteps: truncation.length, carryingState: true) }
        let engine = try TrainingEngine(
            model: self, layout: plan.layout, averaging: averaging, guardNonFinite: guardNonFinite,
            accumulationSteps: plan.accumulationSteps, bucketFloats: parallelism.exchangeBucketFloats)
        // Each worker reads its own shard's rows where the dataset allows it (not for chunks,
        // which are cut from the whole batch).
        let loader = BatchLoader(
            dataset: dataset, workspace: workspace, targets: true,
            localRows: group.size > 1 ? engine.localRows(batch:) : nil,
            shardReads: group.size == 1 && engine.workers > 1 && dataset.supportsConcurrentReads && truncation == nil)
        let productThreads = engine.replicas.isParallel || engine.accumulation != nil ? 1 : BLAS.threadCount
        Logger.loom.debug(
            """
            fit: \(engine.replicas.shardCount) shards on \(workers) workers a process, \(group.size) processes, \
            kernels \(Kernels.level), OpenBLAS \(productThreads) threads a product
            """)
        let blasThreads = BLAS.threadCount
        // Shards run one product each on one thread (bits independent of OpenBLAS's threads), as the
        // micro-batches of an accumulated update, whose big batch runs as shards.
        if engine.replicas.isParallel || engine.accumulation != nil { BLAS.threadCount = 1 }
        if let blockReads = plan.blockReads { dataset.readInBlocks(blockReads, rows: trainingRows) }
        var completed = false
        defer {
            if plan.blockReads != nil { dataset.readInBlocks(nil, rows: trainingRows) }
            engine.finish(completed: completed)
            BLAS.threadCount = blasThreads
            lastFitProfile = engine.timings.profile(workers: engine.workers)
        }
        let optimizer: any Optimizer = parameterStore.optimizer!
        let schedule: String = optimizer.schedule?.description ?? "none"
        let weightDecay: String = optimizer.weightDecay.map { "\($0)" } ?? "none"
        let layerShapes: String = layers.enumerated().map { "\($1.typeName)\(layerOutputShapes[$0])" }.joined(separator: ",")
        let validationSamples: String = validationData.map { String($0.sampleCount) } ?? "split"
        let shuffleBlocks: String = blockShuffle.map(\.description) ?? "none"
        let settings: [String: String] = [
            "layers": layerShapes,
            "batch size": String(batch), "workers": String(workers), "shards": String(engine.replicas.shardCount),
            TrainingRun.globalShardsSetting: String(engine.replicas.globalShardCount),
            "averaging": "\(averaging)", "samples": String(dataset.sampleCount), "validation split": "\(validationSplit)",
            "validation samples": validationSamples,
            "shuffle": "\(shuffle)", "shuffle blocks": shuffleBlocks, "optimizer": optimizer.name, "loss": objective.loss.rawValue,
            "schedule": schedule,
            "clipping": optimizer.clipping.description, "weight decay": weightDecay,
            "accumulation": String(plan.accumulationSteps), "truncated bptt": truncation.map { String($0.length) } ?? "none",
            "x shape": Shape.describe(dataset.inputShape), "y shape": Shape.describe(dataset.targetShape ?? []),
        ].filter { TrainingRun.unrecordedDefaults[$0.key] != $0.value }
        if group.size > 1 {
            // The buckets' sizes shape the messages (not the bits: a resume may change them).
            let buckets = String(engine.buckets?.ranges.map(\.count).description ?? "none")
            try group.checkSame(settings: settings.merging(["epochs": String(epochs), "exchange buckets": buckets]) { $1 })
            try checkSameWeights(group, when: "start")
        }
        let run = TrainingRun(model: self, epochs: epochs, engine: engine, callbacks: callbacks, settings: settings)
        for callback in callbacks { try callback.onTrainBegin(run) }
        let batches = trainingRows.count / updateRows + (trainingRows.count % updateRows == 0 ? 0 : 1)
        for callback in callbacks {
            guard let snapshot = try callback.snapshotToRestore(run) else { continue }
            try run.restore(snapshot)
            guard run.batch <= batches else {
                throw LoomError.invalidArgument(
                    "the checkpoint's position is batch \(run.batch) of an epoch of \(batches) batches; it is malformed")
            }
            break
        }
        if let schedule = optimizer.schedule {
            // The run's updates at most (a chunk each with truncated BPTT), the first ten million.
            let (perBatch, start) = (truncation?.chunks.count ?? 1, parameterStore.step)
            let left = max(0, Double(epochs - run.epoch) * Double(batches) - Double(run.batch)) * Double(perBatch)
            let updates = Int(min(left, 1e7))
            try schedule.checkRates(after: start..<(start + updates))
        }

        var reporter = ProgressReporter(verbose: group.rank == 0 ? verbose : 0, epochs: epochs)
        let weighted = engine.replicas.weighting(workspace).isWeighted
        while run.epoch < epochs && !run.stopTraining {
            let epoch = run.epoch
            if run.batch == 0 {
                if resetStatesEachEpoch { resetStates() }
                run.totals = RunningTotals(objective: objective)
            }
            // A run resumed mid-epoch draws the epoch's order again from the generator as it was.
            run.epochGenerator = generator
            for callback in callbacks { try callback.onEpochBegin(epoch, run: run) }
            reporter.epochStarted(epoch)
            let start = DispatchTime.now()
            let order = BatchOrder(
                rows: trainingRows, batchSize: updateRows, shuffle: shuffle, blocks: blockShuffle, generator: &generator)
            while run.batch < order.batchCount && !run.stopTraining {
                let k = run.batch
                for callback in callbacks { try callback.onBatchBegin(k, run: run) }
                let rows = order.batch(k)
                let (loss, metricStatistics, validRows): (Double, [Double], Double?)
                do {
                    if let truncation, let chunkWorkspace {
                        (loss, metricStatistics, validRows) = try trainInChunks(
                            engine, plan: truncation, loader: loader, chunk: chunkWorkspace, rows: rows)
                    } else {
                        try loader.prepare(rows, next: k + 1 < order.batchCount ? order.batch(k + 1) : nil)
                        (loss, metricStatistics) = try engine.trainStep(workspace, batch: rows.count) { try loader.loadShard($0) }
                        validRows = weighted ? engine.lastValidRows : nil
                    }
                } catch let failure as NonFiniteStep {
                    throw LoomError.diverged(epoch: epoch, batch: k, step: failure.step, detail: failure.detail)
                }
                run.totals.add(loss: loss, metrics: metricStatistics, samples: rows.count, validRows: validRows)
                run.batch = k + 1
                if engine.lastStepRequestedStop {
                    // Another rank's request is this process's too: it stops as if signalled (its
                    // caller reads `TrainingStop.isRequested` to say so and exit as stopped).
                    TrainingStop.request()
                    run.interrupt()
                }
                reporter.batchEnded(k + 1, of: order.batchCount, seconds: start.secondsElapsed) { run.totals.logs(prefix: "") }
                if !callbacks.isEmpty {
                    let metricValues = objective.metricValues(metricStatistics)
                    let logs = [("loss", loss)] + Array(zip(objective.metricNames, metricValues))
                    let values = Dictionary(uniqueKeysWithValues: logs)
                    for callback in callbacks { try callback.onBatchEnd(k, logs: values, run: run) }
                }
            }
            // Stopped inside the epoch: it is not recorded (a checkpoint continues it).
            guard run.batch == order.batchCount else { break }
            var logs = run.totals.logs(prefix: "")
            if !validationRows.isEmpty {
                engine.synchronizeParameters()
                let validation =
                    if let truncation, let chunkWorkspace {
                        try evaluateInChunks(
                            dataset: validationSet, rows: validationRows, batchSize: batch, plan: truncation,
                            workspace: validationWorkspace, chunk: chunkWorkspace, replicas: engine.replicas, objective: objective)
                    } else {
                        try evaluate(
                            dataset: validationSet, rows: validationRows, batchSize: batch, workspace: validationWorkspace,
                            replicas: engine.replicas, objective: objective)
                    }
                logs += validation.logs(prefix: "val_")
            }
            reporter.epochEnded(epoch, steps: order.batchCount, seconds: start.secondsElapsed, logs: logs)
            logs.append(("learning_rate", Double(run.learningRate)))
            run.history.record(epoch: epoch, logs: logs)
            run.epoch = epoch + 1
            run.batch = 0
            run.epochGenerator = generator
            run.totals = RunningTotals(objective: objective)
            let values = Dictionary(uniqueKeysWithValues: logs)
            for callback in callbacks { try callback.onEpochEnd(epoch, logs: values, run: run) }
        }
        for callback in callbacks { try callback.onTrainEnd(run) }
        completed = true
        if group.size > 1 {
            engine.synchronizeParameters()
            try checkSameWeights(group, when: "end")
        }
        return run.history
    }

    /// The samples `fit` trains on of `samples` with `validationSplit`: the first ⌊samples ·
    /// (1 − split)⌋, Keras's rule (the rest validate).
    public static func trainingSamples(of samples: Int, validationSplit: Double) -> Int {
        Int((Double(samples) * (1 - validationSplit)).rounded(.down))
    }

    /// Throws on every rank unless all hold the same parameters (CRC-32 of their bits).
    private func checkSameWeights(_ group: any ProcessGroup, when: String) throws {
        var snapshot = TrainingSnapshot()
        snapshot.floats[SnapshotKey.parameters] = TrainingRun.array(parameterStore.values.pointer, parameterCount)
        try group.checkSame("the weights at the \(when) of fit (their CRC-32)", String(snapshot.checksum))
    }

    /// One optimizer step on one batch, as Keras's `train_on_batch`; returns the loss before
    /// the step. Stateful layers carry their state as in `fit`.
    @discardableResult
    public func trainOnBatch(x: Tensor, y: Tensor, sampleWeight: Tensor? = nil) throws -> Double {
        try stepOnBatch(x: x, y: y, sampleWeight: sampleWeight, update: true, context: "trainOnBatch")
    }

    /// The loss on one batch and its gradient for every parameter (in `weights()` order),
    /// without updating anything but stateful layers' state, as a `GradientTape` would give.
    public func lossAndGradients(x: Tensor, y: Tensor, sampleWeight: Tensor? = nil) throws -> (loss: Double, gradients: [Tensor]) {
        (try stepOnBatch(x: x, y: y, sampleWeight: sampleWeight, update: false, context: "lossAndGradients"), gradients())
    }

    /// One step of the training path, on one thread, on the whole of `x` as one batch.
    private func stepOnBatch(x: Tensor, y: Tensor, sampleWeight: Tensor?, update: Bool, context: String) throws -> Double {
        guard isCompiled else { throw notCompiled(context) }
        let dataset = try InMemoryDataset(x: x, y: y, sampleWeight: sampleWeight)
        let batch = try checkRun(dataset, batchSize: x.sampleCount, context: context, use: .training, parts: [])
        let layout = try ShardLayout(Parallelism(), batch: batch, stateful: isStateful)
        let workspace = makeWorkspace(dataset, weightsPerSample: try lossWeightsPerSample(of: dataset))
        try workspace.load(dataset, rows: Array(0..<batch)[...])
        let engine = try TrainingEngine(model: self, layout: layout, averaging: .gradients)
        defer { engine.finish(completed: true) }
        return try engine.trainStep(workspace, batch: batch, update: update).0
    }

    // MARK: evaluate

    /// The loss and metrics on `x`, `y` (Keras's `evaluate(..., return_dict=True)`), keyed
    /// "loss", "mae", ...
    /// The batches are cut over `parallelism`'s threads and processes as in `fit` (under a
    /// process group every rank gets the totals). `sampleWeight` weighs the loss and metrics
    /// as in `fit`.
    public func evaluate(
        x: Tensor, y: Tensor, batchSize: Int? = nil, parallelism: Parallelism = Parallelism(), sampleWeight: Tensor? = nil
    ) throws -> [String: Double] {
        try evaluate(
            dataset: InMemoryDataset(x: x, y: y, sampleWeight: sampleWeight), batchSize: batchSize, parallelism: parallelism)
    }

    /// The loss and metrics on a dataset; see `evaluate(x:y:batchSize:parallelism:sampleWeight:)`.
    public func evaluate(
        dataset: any Dataset, batchSize: Int? = nil, parallelism: Parallelism = Parallelism()
    ) throws -> [String: Double] {
        guard self.objective != nil else { throw notCompiled("evaluate") }
        let penalties = trainingOnlySettings.filter { $0.hasSuffix("_regularizer") }
        if !penalties.isEmpty {
            throw LoomError.invalidArgument(
                "the model was read for prediction: Keras adds the penalties of " + penalties.joined(separator: ", ")
                    + " to the loss it evaluates, which Loom does not")
        }
        let batch = try checkRun(
            dataset, batchSize: batchSize, context: "evaluate", use: .evaluation, parts: [("samples", dataset.sampleCount)])
        let layout = try ShardLayout(parallelism, batch: batch, stateful: isStateful)
        let workspace = makeWorkspace(dataset, weightsPerSample: try lossWeightsPerSample(of: dataset))
        // Built now: the objective sized for the output.
        let objective = self.objective!
        let replicas = try ReplicaSet(model: self, layout: layout, ownParameters: false, training: false)
        defer { replicas.finish() }
        let totals = try evaluate(
            dataset: dataset, rows: 0..<dataset.sampleCount, batchSize: batch, workspace: workspace, replicas: replicas,
            objective: objective)
        return Dictionary(uniqueKeysWithValues: totals.logs(prefix: ""))
    }

    /// The loss and metrics of `rows` of `dataset`, by forward passes on `replicas`.
    private func evaluate(
        dataset: any Dataset, rows: Range<Int>, batchSize: Int, workspace: BatchWorkspace, replicas: ReplicaSet,
        objective: Objective
    ) throws -> RunningTotals {
        var totals = RunningTotals(objective: objective)
        let loader = BatchLoader(forwardPassesOf: dataset, into: workspace, targets: true, replicas: replicas)
        try loader.forEachBatch(of: rows, batchSize: batchSize) { _, count in
            let (loss, metrics) = try replicas.forward(workspace, batch: count, objective: objective, output: nil)
            let weighted = replicas.weighting(workspace).isWeighted
            totals.add(loss: loss, metrics: metrics, samples: count, validRows: weighted ? replicas.lastValidRows : nil)
        }
        return totals
    }

    // MARK: predict

    /// The model's outputs for `x`, `(samples, ...output shape)`, computed `batchSize` samples
    /// at a time. A stateful model may predict with another batch size than it trains with:
    /// that batch size keeps its own state (see `LSTM`). The batches are cut over
    /// `parallelism`'s threads and processes as in `fit` (under a process group every rank
    /// gets every row).
    public func predict(_ x: Tensor, batchSize: Int? = nil, parallelism: Parallelism = Parallelism()) throws -> Tensor {
        try predict(dataset: InMemoryDataset(x: x), batchSize: batchSize, parallelism: parallelism)
    }

    /// The model's outputs for every sample of a dataset; see `predict(_:batchSize:parallelism:)`.
    /// The batch size defaults to the model's fixed one (`Input(batchSize:)`), else 32.
    public func predict(
        dataset: any Dataset, batchSize: Int? = nil, parallelism: Parallelism = Parallelism()
    ) throws -> Tensor {
        let batch = try checkRun(
            dataset, batchSize: batchSize, context: "predict", use: .prediction, parts: [("samples", dataset.sampleCount)])
        let outputCount = Shape.count(outputShape!)
        var result = Tensor(shape: [dataset.sampleCount] + outputShape!)
        try result.scalars.withUnsafeMutableBufferPointer { buffer in
            try streamPredictions(dataset, batch: batch, parallelism: parallelism) { rows, outputs in
                (buffer.baseAddress! + rows.lowerBound * outputCount).update(from: outputs.baseAddress!, count: outputs.count)
            }
        }
        return result
    }

    /// The model's outputs for every sample of a dataset, handed to `body` a batch at a time:
    /// the batch's rows and their outputs `(rows, ...output shape)`, valid during the call.
    /// Memory holds one batch's outputs, whatever the sample count (`loom predict --out`
    /// writes them to the file as they come). Under a process group every rank calls `body`
    /// with every row.
    public func predict(
        dataset: any Dataset, batchSize: Int? = nil, parallelism: Parallelism = Parallelism(),
        each body: (Range<Int>, UnsafeBufferPointer<Float>) throws -> Void
    ) throws {
        let batch = try checkRun(
            dataset, batchSize: batchSize, context: "predict", use: .streamedPrediction,
            parts: [("samples", dataset.sampleCount)])
        try streamPredictions(dataset, batch: batch, parallelism: parallelism, body)
    }

    /// The streamed predictions of `dataset`, checked by the caller, in batches of `batch`.
    private func streamPredictions(
        _ dataset: any Dataset, batch: Int, parallelism: Parallelism,
        _ body: (Range<Int>, UnsafeBufferPointer<Float>) throws -> Void
    ) throws {
        let outputCount = Shape.count(outputShape!)
        let layout = try ShardLayout(parallelism, batch: batch, stateful: isStateful)
        // Predictions weigh nothing, but the data's weights and lengths are still checked.
        _ = try lossWeightsPerSample(of: dataset)
        // One batch of outputs; a batch larger than the data is the whole data.
        let (outputValues, overflow) = min(batch, dataset.sampleCount).multipliedReportingOverflow(by: outputCount)
        guard !overflow, UInt64(outputValues) * 4 <= ProcessInfo.processInfo.physicalMemory else {
            throw LoomError.invalidArgument(
                "predict: a batch of \(min(batch, dataset.sampleCount)) outputs of \(outputCount) values does not fit in memory; "
                    + "use a smaller batchSize")
        }
        let replicas = try ReplicaSet(model: self, layout: layout, ownParameters: false, training: false)
        defer { replicas.finish() }
        let workspace = makeWorkspace(dataset, weightsPerSample: 0)
        let outputs = FloatBuffer(count: outputValues)
        let loader = BatchLoader(forwardPassesOf: dataset, into: workspace, targets: false, replicas: replicas)
        try loader.forEachBatch(of: 0..<dataset.sampleCount, batchSize: batch) { start, count in
            _ = try replicas.forward(workspace, batch: count, objective: nil, output: outputs.pointer)
            try body(start..<(start + count), UnsafeBufferPointer(start: outputs.pointer, count: count * outputCount))
        }
    }

    // MARK: data

    /// The buffers of one batch of `dataset` for this model, with `weightsPerSample` loss
    /// weights a sample (`lossWeightsPerSample`; 0: unweighted), those of `classWeights` if given.
    func makeWorkspace(_ dataset: any Dataset, weightsPerSample: Int, classWeights: [Int: Float]? = nil) -> BatchWorkspace {
        let output = outputShape!
        return BatchWorkspace(
            firstLayer: layers[0], inputCount: Shape.count(dataset.inputShape), outputCount: Shape.count(output),
            checksBatches: dataset.streamsRows, weightsPerSample: weightsPerSample,
            classWeights: classWeights, lengths: dataset.sequenceLengths,
            classes: objective?.loss.takesClassIndices == true ? output.last : nil)
    }

    /// The loss weights a sample of `dataset` carries, checked against the output: its sample
    /// weights' (1 a sample, or 1 a step of a sequence output), 1 with `classWeights`, 0 for
    /// none; and its sequence lengths checked against its inputs.
    func lossWeightsPerSample(of dataset: any Dataset, classWeights: [Int: Float]? = nil) throws -> Int {
        let output = outputShape!
        var weightsPerSample = 0
        if let classWeights {
            guard dataset.sampleWeightShape == nil else {
                throw LoomError.invalidArgument("classWeight and sample weights cannot both be given (Keras refuses it too)")
            }
            guard output.count == 1 else {
                throw LoomError.invalidArgument(
                    "classWeight needs an output of classes \(Shape.describe([-1, output.last!])), got \(Shape.describe([-1] + output)); "
                        + "weigh a sequence's steps with sample weights (samples, timesteps)")
            }
            if let bad = classWeights.first(where: { !$0.value.isFinite || $0.value < 0 }) {
                throw LoomError.invalidArgument("classWeight \(bad.value) for class \(bad.key): weights must be finite and not negative")
            }
            weightsPerSample = 1
        } else if let shape = dataset.sampleWeightShape {
            // (samples, 1) is a weight a sample too, and (samples, timesteps, 1) a weight a step, as
            // Keras squeezes them to the loss's shape.
            guard shape.isEmpty || shape == [1] || (output.count >= 2 && (shape == [output[0]] || shape == [output[0], 1])) else {
                throw LoomError.shapeMismatch(
                    context: "sample weights",
                    expected: output.count >= 2
                        ? "(samples) or (samples, 1), a weight a sample, or (samples, \(output[0])), a weight a timestep"
                        : "(samples) or (samples, 1)",
                    found: [dataset.sampleCount] + shape)
            }
            weightsPerSample = shape.first ?? 1
        }
        if let lengths = dataset.sequenceLengths {
            guard !dataset.inputShape.isEmpty, lengths.timesteps == dataset.inputShape[0], lengths.lengths.count == dataset.sampleCount
            else {
                throw LoomError.shapeMismatch(
                    context: "sequence lengths",
                    expected: "\(dataset.sampleCount) lengths of the inputs' \(dataset.inputShape.first ?? 0) timesteps",
                    found: [lengths.lengths.count, lengths.timesteps])
            }
            // A layer that makes a mask of its own (Masking, Embedding's mask_zero) would replace the lengths' mask.
            if let maker = layers.first(where: { ($0 as? any MaskAwareLayer)?.masksOutput(inputMasked: false) == true }) {
                throw LoomError.invalidArgument(
                    "the data gives sequence lengths (a mask), but \(type(of: maker)) '\(maker.name)' makes the model's mask "
                        + "from the values: give the lengths or the layer, not both")
            }
        }
        return weightsPerSample
    }
}
