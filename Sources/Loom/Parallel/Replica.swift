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
    /// dL/dpredictions of the last step, `(rows, outputs)`.
    let outputGradient = FloatBuffer()
    /// The last step's loss and metric values (means over the replica's rows).
    var loss = 0.0
    var metrics: [Double] = []

    /// The model's own layers, already bound to `store` by the model.
    init(modelLayers layers: [any Layer], store: ParameterStore) {
        self.layers = layers
        parameterCount = store.count
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
        let gradientBuffer = FloatBuffer(count: store.count)
        ownedGradients = gradientBuffer
        gradients = gradientBuffer.pointer
        self.layers = layers.map { $0.makeReplica() }
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
            layer.bind(ParameterBinding(values: values, gradients: gradients, offset: offset))
        }
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

    func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        var current = x
        for layer in layers { current = layer.forward(current, batch: batch, training: training) }
        return current
    }

    /// Forward, loss and backward for `batch` rows: leaves dL/dparameters (a mean over these
    /// rows) in `gradients` and the loss and metrics in `loss` and `metrics`.
    func backpropagate(
        inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, outputCount: Int,
        width: Int, objective: Objective
    ) {
        gradients.update(repeating: 0, count: parameterCount)
        let predictions = forward(inputs, batch: batch, training: true)
        score(
            predictions, targets: targets, batch: batch, outputCount: outputCount, width: width, objective: objective,
            gradient: true)
        var gradient = outputGradient.pointer
        for (index, layer) in layers.enumerated().reversed() {
            guard let next = layer.backward(gradient, batch: batch, needsInputGradient: index > 0) else { break }
            gradient = next
        }
    }

    /// The loss and metrics of `predictions` against `targets`, and with `gradient`, dL/doutput
    /// into `outputGradient`.
    func score(
        _ predictions: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, outputCount: Int,
        width: Int, objective: Objective, gradient: Bool
    ) {
        let count = batch * outputCount
        let logits = (layers.last as? any ProbabilityOutputLayer)?.logits
        loss = objective.loss.compute(
            predictions: predictions, targets: targets, logits: logits, count: count, width: width,
            gradient: gradient ? outputGradient.reserve(count) : nil)
        if metrics.count != objective.metrics.count { metrics = Array(repeating: 0, count: objective.metrics.count) }
        for (index, metric) in objective.metrics.enumerated() {
            metrics[index] = metric.resolved(width: width)
                .compute(predictions: predictions, targets: targets, count: count, width: width)
        }
    }
}
