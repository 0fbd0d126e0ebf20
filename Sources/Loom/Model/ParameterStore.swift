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
    /// The number of scalars in all parameters.
    private(set) var count = 0
    /// What `compile` chose; nil until then.
    var optimizer: (any Optimizer)?
    /// Optimizer updates applied so far (Adam's bias correction reads the next one's number).
    var step = 0

    /// Sizes the buffers for `count` scalars; their contents are undefined until written.
    func allocate(count: Int) {
        self.count = count
        values.reserve(count)
        gradients.reserve(count)
    }

    /// Applies the optimizer's update number `step` to `values[range]` from `gradients[range]`.
    func update(range: Range<Int>, step: Int) {
        optimizer!.update(parameters: values.pointer, gradients: gradients.pointer, range: range, step: step)
    }
}
