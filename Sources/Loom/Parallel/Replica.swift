/// One copy of a model's layers with its own workspaces and gradient buffer: the model itself
/// when training on one thread, or one shard's replica in data-parallel training.
///
/// The layers are bound to a parameter buffer (the model's, shared read-only by the replicas
/// during a step, or the replica's own when averaging parameters) and to `gradients`, a
/// buffer of the model's parameter layout.
final class Replica {
    let layers: [any Layer]
    let parameterCount: Int
    let gradients: UnsafeMutablePointer<Float>
    private let ownedGradients: FloatBuffer?
    /// The replica's own parameters and optimizer, when averaging parameters.
    private(set) var ownParameters: FloatBuffer?
    private(set) var optimizer: (any Optimizer)?
    /// dL/dpredictions of the last step, `(rows, outputs)`.
    let outputGradient = FloatBuffer()
    /// The last step's loss and metric values (means over the replica's rows).
    var loss = 0.0
    var metrics: [Double] = []

    /// The model's own layers and gradient buffer (single-thread training).
    init(layers: [any Layer], gradients: UnsafeMutablePointer<Float>, parameterCount: Int) {
        self.layers = layers
        self.gradients = gradients
        self.parameterCount = parameterCount
        ownedGradients = nil
    }

    /// A replica of `model`'s layers with its own gradient buffer, and its own copy of the
    /// parameters and of `optimizer` when given one (parameter averaging).
    init(replicating model: Sequential, optimizer: (any Optimizer)? = nil) {
        parameterCount = model.parameterCount
        let gradientBuffer = FloatBuffer(count: model.parameterCount)
        ownedGradients = gradientBuffer
        gradients = gradientBuffer.pointer
        layers = model.layers.map { $0.makeReplica() }
        var values = model.parameterValues.pointer
        if let optimizer {
            let copy = FloatBuffer(count: model.parameterCount)
            copy.pointer.update(from: values, count: model.parameterCount)
            ownParameters = copy
            values = copy.pointer
            self.optimizer = optimizer.makeCopy()
            self.optimizer?.prepare(parameterCount: model.parameterCount)
        }
        var offset = 0
        for layer in layers {
            layer.bind(ParameterBinding(values: values, gradients: gradients, offset: offset))
            offset += layer.parameterCount
        }
    }

    /// The parameters this replica's layers read.
    func parameters(of model: Sequential) -> UnsafeMutablePointer<Float> {
        ownParameters?.pointer ?? model.parameterValues.pointer
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
        width: Int, setup: Sequential.TrainingSetup
    ) {
        gradients.update(repeating: 0, count: parameterCount)
        let predictions = forward(inputs, batch: batch, training: true)
        score(predictions, targets: targets, batch: batch, outputCount: outputCount, width: width, setup: setup, gradient: true)
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
        width: Int, setup: Sequential.TrainingSetup, gradient: Bool
    ) {
        let count = batch * outputCount
        let logits = (layers.last as? any ProbabilityOutputLayer)?.logits
        loss = setup.loss.compute(
            predictions: predictions, targets: targets, logits: logits, count: count, width: width,
            gradient: gradient ? outputGradient.reserve(count) : nil)
        if metrics.count != setup.metrics.count { metrics = Array(repeating: 0, count: setup.metrics.count) }
        for (index, metric) in setup.metrics.enumerated() {
            metrics[index] = metric.resolved(width: width)
                .compute(predictions: predictions, targets: targets, count: count, width: width)
        }
    }
}
