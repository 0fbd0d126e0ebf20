/// A compiled model's optimizer state as Keras 3 keeps it in its variables, for `.keras`
/// files: the update count, the rate (for a constant one), then the optimizer's slots in
/// `Optimizer.kerasState`'s order, each of a weight's shape.
package struct KerasOptimizerVariables {
    /// Updates taken (Keras's `iteration`).
    package var iterations: Int
    /// The constant rate (Keras's `learning_rate` variable); nil with a schedule.
    package var learningRate: Float?
    /// The slots, each of its weight's shape, in Keras's order.
    package var slots: [Tensor]
    /// Scalar state after the slots (Nadam's running product).
    package var scalars: [Float]

    /// Variables as a file holds them.
    package init(iterations: Int, learningRate: Float?, slots: [Tensor], scalars: [Float]) {
        self.iterations = iterations
        self.learningRate = learningRate
        self.slots = slots
        self.scalars = scalars
    }
}

extension Sequential {
    /// For each of Keras's slots in order, the state buffer and the variable it is taken from.
    private func kerasSlots(_ state: KerasOptimizerState) -> [(buffer: Int, variable: ParameterLayout.Variable)] {
        let variables = parameterStore.layout.variables
        if state.interleaved {
            return variables.flatMap { variable in state.buffers.map { ($0, variable) } }
        }
        return state.buffers.flatMap { buffer in variables.map { (buffer, $0) } }
    }

    /// The optimizer's state as Keras 3's variables; nil when the model is not compiled or its
    /// optimizer is not one of Keras's (LARS).
    package func kerasOptimizerVariables() -> KerasOptimizerVariables? {
        guard isBuilt, let optimizer = parameterStore.optimizer, optimizer.kerasClassName != nil else { return nil }
        let state = optimizer.kerasState(afterSteps: parameterStore.step)
        let buffers = optimizer.stateBuffers
        return KerasOptimizerVariables(
            iterations: parameterStore.step, learningRate: optimizer.schedule == nil ? optimizer.learningRate : nil,
            slots: kerasSlots(state).map { Tensor(shape: $1.shape, copying: buffers[$0].pointer + $1.range.lowerBound) },
            scalars: state.scalars)
    }

    /// Marks the optimizer as set by a compiled model file, whose variables Keras's summary
    /// counts from then on (Keras's loading builds them).
    package func markOptimizerLoaded() { parameterStore.optimizerLoaded = parameterStore.optimizer != nil }

    /// How many values Keras's summary counts as the optimizer's ("Optimizer params") once it is
    /// built (after an update, or loaded from a compiled file): the update count, the rate (for
    /// a constant one), the slots and the scalar state; nil before, or when
    /// `kerasOptimizerVariables()` is.
    var kerasOptimizerParameterCount: Int? {
        guard isBuilt, parameterStore.step > 0 || parameterStore.optimizerLoaded else { return nil }
        guard let optimizer = parameterStore.optimizer, optimizer.kerasClassName != nil else { return nil }
        let state = optimizer.kerasState(afterSteps: parameterStore.step)
        let slots = kerasSlots(state).reduce(0) { $0 + $1.variable.shape.reduce(1, *) }
        return 1 + (optimizer.schedule == nil ? 1 : 0) + slots + state.scalars.count
    }

    /// Continues from a Keras optimizer's variables: the update count, the rate and the
    /// slots; refused unless they are those of this model's optimizer (the count and every
    /// shape), before anything changes.
    package func restoreKerasOptimizerVariables(_ variables: KerasOptimizerVariables) throws {
        guard isBuilt, let optimizer = parameterStore.optimizer, let className = optimizer.kerasClassName else {
            throw LoomError.notReady("model '\(name)' has no Keras optimizer to restore (compile it first)")
        }
        let slots = kerasSlots(optimizer.kerasState(afterSteps: variables.iterations))
        guard slots.count == variables.slots.count else {
            throw LoomError.invalidArgument(
                "the optimizer state holds \(variables.slots.count) slot variables; \(className) of this model keeps \(slots.count)")
        }
        for (index, ((_, variable), tensor)) in zip(slots, variables.slots).enumerated() where tensor.shape != variable.shape {
            throw LoomError.shapeMismatch(
                context: "optimizer variable \(index) (\(className) state of '\(layers[variable.layer].name)' \(variable.name))",
                expected: Shape.describe(variable.shape), found: tensor.shape)
        }
        guard variables.iterations >= 0, variables.iterations <= 1 << 53 else {
            throw LoomError.invalidArgument("the optimizer's iteration count \(variables.iterations) is out of range")
        }
        if let rate = variables.learningRate, !(rate.isFinite && rate >= 0) {
            throw LoomError.invalidArgument("the optimizer's learning rate \(rate) is not a finite number >= 0")
        }
        if let bad = variables.slots.first(where: { $0.scalars.contains { !$0.isFinite } }) {
            throw LoomError.invalidArgument("an optimizer slot of shape \(Shape.describe(bad.shape)) holds NaN or Inf")
        }
        let buffers = optimizer.stateBuffers
        for ((buffer, variable), tensor) in zip(slots, variables.slots) {
            tensor.scalars.withUnsafeBufferPointer {
                (buffers[buffer].pointer + variable.range.lowerBound).update(from: $0.baseAddress!, count: $0.count)
            }
        }
        if optimizer.schedule == nil, let rate = variables.learningRate { optimizer.learningRate = rate }
        parameterStore.step = variables.iterations
    }
}
