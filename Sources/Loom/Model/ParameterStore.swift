/// A model's trainable state in one flat layout: every parameter's values, their gradients,
/// and the optimizer (whose state buffers share the layout) with the count of its updates.
///
/// Layout: layer by layer, and within a layer in Keras's weight order, each tensor row-major.
/// Layers hold read-only pointers into `values` and write their gradients into `gradients`
/// (or into a replica's own gradient buffer of the same layout). Who writes what:
///
/// - `values`: `Sequential` (initializers, `setWeights`) and `update(range:step:)`, which
///   only the training engine calls, one range per worker, between steps' forward passes.
/// - `gradients`: the backward passes of the model's own layers, or the engine's reduction.
/// - `step`: the engine, once a step has updated every range.
final class ParameterStore {
    let values = FloatBuffer()
    let gradients = FloatBuffer()
    /// Where each parameter tensor lies in the buffers.
    private(set) var layout = ParameterLayout(layers: [])
    /// What `compile` chose; nil until then.
    var optimizer: (any Optimizer)? {
        didSet { refreshLearningRate() }
    }
    /// Optimizer updates applied so far (Adam's bias correction reads the next one's number).
    /// Setting it moves a scheduled optimizer's `learningRate` to the rate of the next update.
    var step = 0 {
        didSet { refreshLearningRate() }
    }

    /// Whether a compiled model file set the optimizer (Keras's loading builds an optimizer's
    /// variables, which its summary then counts, before any update); `compile` clears it.
    var optimizerLoaded = false

    /// The number of scalars in all parameters.
    var count: Int { layout.count }

    /// Sizes the buffers for `layout`; their contents are undefined until written.
    func allocate(_ layout: ParameterLayout) {
        self.layout = layout
        values.reserveDiscarding(count)
        gradients.reserveDiscarding(count)
    }

    /// With a learning-rate schedule, sets the optimizer's rate to the schedule's after `step`
    /// updates (Keras's `optimizer.learning_rate` reads the schedule at `iterations`).
    private func refreshLearningRate() {
        guard let optimizer, let schedule = optimizer.schedule else { return }
        optimizer.learningRate = schedule.rate(afterSteps: step)
    }
}
