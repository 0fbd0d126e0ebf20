import Dispatch

/// One copy of a model's layers with its workspaces and a gradient buffer: the model's own
/// layers (one shard), or one shard's copy in data-parallel work.
///
/// The layers read the parameters through read-only pointers into a buffer of the store's
/// layout: the store's values, shared by every replica during a step, or, with parameter
/// averaging, the replica's own copy. Their backward passes add into `gradients`: the
/// store's buffer for the model's own layers, else the replica's own.
final class Replica {
    let layers: [any Layer]
    let parameterCount: Int
    let gradients: UnsafeMutablePointer<Float>
    private let ownedGradients: FloatBuffer?
    /// The replica's own parameters, optimizer and update, when averaging parameters.
    let ownParameters: FloatBuffer?
    let optimizer: (any Optimizer)?
    private let ownUpdate: ParameterUpdate?
    /// dL/dpredictions of the last scored block, `(rows, outputs)` (after a pass of several
    /// blocks, the last block's, scaled by its weight: scratch, not the shard's).
    let outputGradient = FloatBuffer()
    /// The last step's loss and metric statistics (`Objective.statisticRanges`; means over the
    /// replica's rows, or over its valid loss rows when weighted).
    var loss = 0.0
    var metrics: [Double] = []
    /// With a weighted loss, the last pass's valid loss rows (its divisor, `StepTotals.validRows`),
    /// over all its blocks: what the engine weighs the shard's gradient by.
    var validRows = 0.0
    /// The output's mask `(rows, steps)` of the last forward pass, or nil (`MaskAwareLayer`):
    /// of all the rows after `infer`, of the last block after a training pass of several.
    private(set) var outputMask: UnsafePointer<Float>?
    /// The last layer's logits `(rows, outputs)` of the last forward pass, or nil
    /// (`ProbabilityOutputLayer.logits`).
    private var outputLogits: UnsafePointer<Float>?
    /// The predictions, output mask and logits of an inference pass's row blocks, put back
    /// together (`infer`).
    private let inferredPredictions = FloatBuffer()
    private let inferredMask = FloatBuffer()
    private let inferredLogits = FloatBuffer()
    /// A training pass's metric statistics summed over its blocks, weighted (`backpropagate`).
    private var blockMetricSums: [Double] = []
    /// The layers as `MaskAwareLayer`s, nil for the others (which end a mask).
    private let maskAware: [(any MaskAwareLayer)?]
    /// The last layer, when it can keep logits (`ProbabilityOutputLayer`).
    private let probabilityOutput: (any ProbabilityOutputLayer)?
    /// The rows of a pass's blocks (`passBlockRows(_:)`).
    private let passBlockRows: Int
    /// Each loss row's weight of the last score, `(rows · outputs / width)`, when weighted:
    /// its mask value times its sample weight for the loss, its mask value for the metrics.
    private let lossWeights = FloatBuffer()
    private let maskWeights = FloatBuffer()
    /// While a per-layer profile runs (`Sequential.profileLayers`), where each layer's passes'
    /// seconds add up; nil otherwise, and nothing is timed.
    var layerSeconds: LayerSeconds?
    /// Told, on the worker running this replica, each time a training pass's gradients from an
    /// index to the end of the buffer are final (an exchange overlapped with the backward
    /// pass): in the pass's last block, after each layer's backward pass and when a layer
    /// says so from within its own (`GradientProgress`), the indices falling. Nil: nobody.
    var gradientsFinished: ((Int) -> Void)?
    /// Called, on the worker running this replica, at points of a training pass's backward
    /// passes (each layer's end, a recurrent layer's steps; at most every 50 µs) where an
    /// exchange in flight may be moved on. Nil: nothing called.
    var exchangePoll: (() -> Void)? {
        get { progress.pollAction }
        set { progress.pollAction = newValue }
    }
    /// Each layer's first index in the buffers.
    private let layerOffsets: [Int]
    /// What the layers tell (copies only; the model's own layers are bound without it).
    private let progress = GradientProgress()
    /// In a pass's last block, the index from which the gradients are final so far.
    private var finishedFrom = 0
    /// In a pass of several blocks, what its last block scales each finished range by (1 /
    /// the blocks' total weight); nil for a pass of one block.
    private var finishingScale: Float?

    /// The model's own layers, already bound to `store` by the model.
    init(modelLayers layers: [any Layer], store: ParameterStore) {
        self.layers = layers
        maskAware = layers.map { $0 as? any MaskAwareLayer }
        probabilityOutput = layers.last as? any ProbabilityOutputLayer
        passBlockRows = Self.passBlockRows(layers)
        parameterCount = store.count
        layerOffsets = store.layout.layerOffsets
        gradients = store.gradients.pointer
        ownedGradients = nil
        ownParameters = nil
        optimizer = nil
        ownUpdate = nil
    }

    /// A copy of `layers` with its own gradient buffer, reading `store`'s values, or a copy
    /// of them and an optimizer like the store's with fresh state when `ownsParameters`.
    init(replicating layers: [any Layer], store: ParameterStore, ownsParameters: Bool) {
        parameterCount = store.count
        layerOffsets = store.layout.layerOffsets
        let gradientBuffer = FloatBuffer(count: store.count)
        ownedGradients = gradientBuffer
        gradients = gradientBuffer.pointer
        self.layers = layers.map { $0.makeReplica() }
        maskAware = self.layers.map { $0 as? any MaskAwareLayer }
        probabilityOutput = self.layers.last as? any ProbabilityOutputLayer
        passBlockRows = Self.passBlockRows(self.layers)
        var values = UnsafePointer(store.values.pointer)
        if ownsParameters, let storeOptimizer = store.optimizer {
            let copy = FloatBuffer(count: store.count)
            copy.pointer.update(from: values, count: store.count)
            ownParameters = copy
            values = UnsafePointer(copy.pointer)
            let optimizer = storeOptimizer.makeCopy()
            optimizer.prepare(parameterCount: store.count)
            self.optimizer = optimizer
            ownUpdate = ParameterUpdate(layout: store.layout, workers: 1)
        } else {
            ownParameters = nil
            optimizer = nil
            ownUpdate = nil
        }
        for (layer, offset) in zip(self.layers, store.layout.layerOffsets) {
            layer.bind(ParameterBinding(values: values, gradients: gradients, offset: offset, progress: progress))
        }
        progress.report = { [unowned self] offset in finish(from: offset) }
    }

    /// Whether the layers are copies of the model's (not the model's own).
    var isCopy: Bool { ownedGradients != nil }

    /// Update number `step` at `rate` of the replica's own parameters (parameter averaging).
    func updateOwnParameters(step: Int, rate: Float) {
        ownUpdate!.apply(
            worker: 0, values: ownParameters!.pointer, gradients: gradients, optimizer: optimizer!, step: step, rate: rate,
            barrier: nil)
    }

    func assign(rows: ShardRows?) {
        for layer in layers { layer.assign(rows: rows) }
    }

    /// The layers' forward passes, the mask (`MaskAwareLayer`) handed from layer to layer,
    /// starting from the inputs' `inputMask` `(batch, timesteps)` when the data gives one; the
    /// last one's is `outputMask`.
    func forward(
        _ x: UnsafePointer<Float>, inputMask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> UnsafePointer<Float> {
        var current = x
        var mask = inputMask
        for (index, (layer, aware)) in zip(layers, maskAware).enumerated() {
            let start = layerSeconds == nil ? nil : DispatchTime.now()
            if let aware {
                (current, mask) = aware.forward(current, mask: mask, batch: batch, training: training)
            } else {
                current = layer.forward(current, batch: batch, training: training)
                mask = nil
            }
            if let start, let layerSeconds { layerSeconds.forward[index] += DispatchTime.now().seconds(since: start) }
        }
        outputMask = mask
        outputLogits = probabilityOutput?.logits
        return current
    }

    /// Rows a pass (training or inference) runs through the layers at once: a recurrent
    /// layer's gate values for a whole sequence of this many rows stay in the caches (at
    /// 1024 rows they do not, and the pass waits on memory).
    static let blockRows = 128

    /// The rows of the blocks of passes through `layers`: `blockRows`, or all of them when a
    /// layer keeps each pass's final state for the caller (`StateCarryingLayer.keepsLastState`).
    private static func passBlockRows(_ layers: [any Layer]) -> Int {
        layers.contains { ($0 as? any StateCarryingLayer)?.keepsLastState == true } ? Int.max : blockRows
    }

    /// The forward-only pass of the rows `rows` of the `batch`-row batch in `workspace`:
    /// their predictions `(rows.count, outputs)`, run through the layers in blocks
    /// (`passBlockRows(_:)`; each row's outputs do not depend on the others' in a forward
    /// pass, and each block names its own rows to a stateful layer). `outputMask`
    /// (`(rows.count, maskSteps)`) and the logits `score` reads then cover all of `rows`.
    func infer(rows: Range<Int>, batch: Int, workspace: BatchWorkspace, maskSteps: Int) -> UnsafePointer<Float> {
        let blockRows = passBlockRows
        func run(_ block: Range<Int>) -> UnsafePointer<Float> {
            assign(rows: ShardRows(offset: block.lowerBound, batchSize: batch))
            return forward(
                workspace.inputs.pointer + block.lowerBound * workspace.inputCount,
                inputMask: workspace.inputMask(fromRow: block.lowerBound), batch: block.count, training: false)
        }
        guard rows.count > blockRows else { return run(rows) }
        let width = workspace.outputCount
        let predictions = inferredPredictions.reserveDiscarding(rows.count * width)
        var mask: UnsafeMutablePointer<Float>?
        var logits: UnsafeMutablePointer<Float>?
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: blockRows) {
            let block = start..<min(start + blockRows, rows.upperBound), row = start - rows.lowerBound
            (predictions + row * width).update(from: run(block), count: block.count * width)
            if let blockMask = outputMask {
                if mask == nil { mask = inferredMask.reserveDiscarding(rows.count * maskSteps) }
                (mask! + row * maskSteps).update(from: blockMask, count: block.count * maskSteps)
            }
            if let blockLogits = outputLogits {
                if logits == nil { logits = inferredLogits.reserveDiscarding(rows.count * width) }
                (logits! + row * width).update(from: blockLogits, count: block.count * width)
            }
        }
        outputMask = mask.map { UnsafePointer($0) }
        outputLogits = logits.map { UnsafePointer($0) }
        return UnsafePointer(predictions)
    }

    /// Forward, loss and backward for the rows `rows` of the `batch`-row batch in
    /// `workspace`, run through the layers in blocks (`passBlockRows(_:)`; each block names
    /// its own rows to stateful layers): leaves dL/dparameters (a mean over the rows, or over their
    /// valid loss rows when `weighting` weighs them) in `gradients` and the loss and metrics
    /// in `loss` and `metrics`. With several blocks, each block's output gradient is scaled by
    /// its rows (or its valid loss rows) before its backward pass adds it in, and the sum is
    /// divided by all of them as the last block finishes each range (`finish(from:)`); its
    /// loss and metrics are weighed the same way.
    func backpropagate(
        rows: Range<Int>, batch: Int, workspace: BatchWorkspace, width: Int, objective: Objective, weighting: LossWeighting
    ) {
        gradients.update(repeating: 0, count: parameterCount)
        let blockRows = passBlockRows
        guard rows.count > blockRows else {
            backpropagateBlock(
                rows, batch: batch, workspace: workspace, width: width, objective: objective, weighting: weighting,
                earlierWeight: nil, isLast: true)
            return
        }
        var total = 0.0, lossSum = 0.0
        blockMetricSums.removeAll(keepingCapacity: true)
        blockMetricSums.append(contentsOf: repeatElement(0, count: objective.statisticCount))
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: blockRows) {
            let block = start..<min(start + blockRows, rows.upperBound)
            let weight = backpropagateBlock(
                block, batch: batch, workspace: workspace, width: width, objective: objective, weighting: weighting,
                earlierWeight: total, isLast: block.upperBound == rows.upperBound)
            total += weight
            lossSum += loss * weight
            for index in metrics.indices { blockMetricSums[index] += metrics[index] * weight }
        }
        loss = total > 0 ? lossSum / total : 0
        for index in metrics.indices { metrics[index] = total > 0 ? blockMetricSums[index] / total : 0 }
    }

    /// Forward, loss and backward of the block `rows`, adding its gradient into `gradients`
    /// (a mean over its rows, or, in a pass of several blocks, where `earlierWeight` is the
    /// weight of the blocks before it, that mean times its weight: its rows, or its valid loss
    /// rows when `weighting` weighs them); returns the weight. The pass's last block
    /// (`isLast`) finishes each range of the gradients as its layers' backward passes end
    /// (`finish(from:)`) and leaves the pass's total weight in `validRows`.
    @discardableResult
    private func backpropagateBlock(
        _ rows: Range<Int>, batch: Int, workspace: BatchWorkspace, width: Int, objective: Objective,
        weighting: LossWeighting, earlierWeight: Double?, isLast: Bool
    ) -> Double {
        assign(rows: ShardRows(offset: rows.lowerBound, batchSize: batch))
        let predictions = forward(
            workspace.inputs.pointer + rows.lowerBound * workspace.inputCount,
            inputMask: workspace.inputMask(fromRow: rows.lowerBound), batch: rows.count, training: true)
        score(
            predictions, targets: workspace.targets.pointer + rows.lowerBound * workspace.targetCount, batch: rows.count,
            outputCount: workspace.outputCount, width: width, objective: objective, weighting: weighting.fromRow(rows.lowerBound),
            gradient: true)
        let weight = weighting.isWeighted ? validRows : Double(rows.count)
        if let earlierWeight {
            Kernels.table.scaleValues(outputGradient.pointer, rows.count * workspace.outputCount, Float(weight))
            if isLast {
                let total = earlierWeight + weight
                finishingScale = total > 0 ? Float(1 / total) : 0
                validRows = total
            }
        } else {
            finishingScale = nil
        }
        finishedFrom = parameterCount
        progress.isListening = isLast
        defer { progress.isListening = false }
        var gradient = outputGradient.pointer
        for (index, layer) in layers.enumerated().reversed() {
            let start = layerSeconds == nil ? nil : DispatchTime.now()
            let next = layer.backward(gradient, batch: rows.count, needsInputGradient: index > 0)
            if let start, let layerSeconds { layerSeconds.backward[index] += DispatchTime.now().seconds(since: start) }
            if isLast { finish(from: layerOffsets[index]) }
            progress.poll()
            guard let next else { break }
            gradient = next
        }
        if isLast { finish(from: 0) }
        return weight
    }

    /// In a pass's last block: the gradients from `offset` on are final. Scales the newly
    /// final range (a pass of several blocks) and tells `gradientsFinished`.
    private func finish(from offset: Int) {
        guard offset < finishedFrom else { return }
        if let finishingScale { Kernels.table.scaleValues(gradients + offset, finishedFrom - offset, finishingScale) }
        finishedFrom = offset
        gradientsFinished?(offset)
    }

    /// The loss and metrics of `predictions` against `targets`, weighted by the output's mask
    /// and `weighting`'s sample weights when there are any, and with `gradient`, dL/doutput
    /// into `outputGradient`.
    func score(
        _ predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, outputCount: Int,
        width: Int, objective: Objective, weighting: LossWeighting, gradient: Bool
    ) {
        let count = batch * outputCount
        let logits = outputLogits
        let weights = weighRows(batch: batch, rowsPerSample: outputCount / width, weighting: weighting)
        loss = objective.loss.compute(
            predictions: predictions, targets: targets, logits: logits, count: count, width: width,
            gradient: gradient ? outputGradient.reserveDiscarding(count) : nil, weighting: weights.loss.map { ($0, validRows) })
        if metrics.count != objective.statisticCount { metrics = Array(repeating: 0, count: objective.statisticCount) }
        metrics.withUnsafeMutableBufferPointer { statistics in
            for (metric, range) in zip(objective.metrics, objective.statisticRanges) {
                precondition(range.count == metric.statisticCount(width: width), "the objective was sized for another output")
                metric.resolved(width: width, classIndices: objective.loss.takesClassIndices)
                    .statistics(
                        predictions: predictions, targets: targets, count: count, width: width, rowWeights: weights.metrics,
                        weightSum: validRows, into: statistics.baseAddress! + range.lowerBound)
            }
        }
    }

    /// Each loss row's weights, as Keras weighs them: the output mask's value at its step
    /// times its sample's (or step's) weight for the loss, the mask's value alone for the
    /// metrics (Keras's compiled `metrics` see masks, not sample weights); and `validRows`,
    /// the rows the mask leaves. Nil for what nothing weighs.
    private func weighRows(
        batch: Int, rowsPerSample: Int, weighting: LossWeighting
    ) -> (loss: UnsafePointer<Float>?, metrics: UnsafePointer<Float>?) {
        guard outputMask != nil || weighting.sampleWeights != nil else { return (nil, nil) }
        let rows = batch * rowsPerSample
        let m = maskWeights.reserveDiscarding(rows)
        if let mask = outputMask {
            let maskRows = rowsPerSample / weighting.outputSteps
            for b in 0..<batch {
                for i in 0..<rowsPerSample { m[b * rowsPerSample + i] = mask[b * weighting.outputSteps + i / maskRows] }
            }
        } else {
            m.update(repeating: 1, count: rows)
        }
        validRows = (0..<rows).reduce(0) { $0 + Double(m[$1]) }
        let metrics = outputMask == nil ? nil : UnsafePointer(m)
        guard let sampleWeights = weighting.sampleWeights else { return (UnsafePointer(m), metrics) }
        let e = lossWeights.reserveDiscarding(rows), weightRows = rowsPerSample / weighting.weightsPerSample
        for b in 0..<batch {
            for i in 0..<rowsPerSample {
                e[b * rowsPerSample + i] = m[b * rowsPerSample + i] * sampleWeights[b * weighting.weightsPerSample + i / weightRows]
            }
        }
        return (UnsafePointer(e), metrics)
    }
}
