/// Keras's `SimpleRNN`: `h_t = activation(x_t · kernel + h_{t−1} · recurrent_kernel + bias)`.
///
/// Per-sample input `(timesteps, features)`; output `(units)`, or `(timesteps, units)` with
/// `returnSequences`. Parameters, in Keras's order: kernel `(features, units)`,
/// recurrent_kernel `(units, units)`, bias `(units)`. `goBackwards`, `stateful`, `dropout` and
/// `recurrentDropout` behave as in `LSTM` (time-major computation, state per batch size, shared
/// with replicas; while training, one input mask and one state mask a sequence,
/// `RecurrentDropout`, the state mask on `h_{t−1}` where it enters the recurrent product).
public final class SimpleRNN: RecurrentLayer, StateCarryingLayer, RandomizedLayer {
    /// Empty until the model names it ("simple_rnn", "simple_rnn_1", ...), unless given to `init`.
    public var name: String
    /// "SimpleRNN", Keras's class name.
    public var typeName: String { "SimpleRNN" }
    /// Applied to each new state (default tanh; softmax is refused).
    public let activation: Activation
    /// Whether to add a bias `(units)` (default true).
    public let useBias: Bool
    /// Fills the kernel `(features, units)` (default `.glorotUniform`).
    public let kernelInitializer: Initializer
    /// Fills the recurrent kernel `(units, units)` (default `.orthogonal`).
    public let recurrentInitializer: Initializer
    /// Fills the bias `(units)` (default `.zeros`).
    public let biasInitializer: Initializer
    /// The size of the hidden state and of each output step.
    public var units: Int { sequence.units }
    /// Output every step, `(timesteps, units)`, rather than the last, `(units)` (default false).
    public var returnSequences: Bool { sequence.returnSequences }
    /// Read the sequence from last to first (default false).
    public var goBackwards: Bool { sequence.goBackwards }
    /// Carry each row's final state into the same row of the next batch (default false).
    public var stateful: Bool { sequence.stateful }
    /// Masked steps output zeros instead of the last valid output (Keras's `zero_output_for_mask`).
    public var zeroOutputForMask: Bool {
        get { sequence.zeroOutputForMask }
        set { sequence.zeroOutputForMask = newValue }
    }

    /// While training, the fraction of input features dropped (one mask per sequence).
    public var dropout: Float { dropoutMasks.inputRate }
    /// While training, the fraction of the state fed to the recurrent product dropped.
    public var recurrentDropout: Float { dropoutMasks.recurrentRate }

    private var sequence: RecurrentSequence
    private var weights = RecurrentWeights()
    private var dropoutMasks: RecurrentDropout
    private let preactivationGradients = FloatBuffer()  // (T, B, U)
    private let maskedHidden = FloatBuffer()  // (T, B, U), h_{t-1} ⊙ r with recurrent dropout
    // The rows that computed, packed for the weight gradients, when a pass skips the padding.
    private let packedInputs = FloatBuffer()
    private let packedStates = FloatBuffer()
    private let packedGradients = FloatBuffer()

    /// A SimpleRNN of `units` with Keras's defaults; `name` defaults to "simple_rnn", ... in model order.
    public init(
        _ units: Int, activation: Activation = .tanh, useBias: Bool = true, returnSequences: Bool = false,
        goBackwards: Bool = false, stateful: Bool = false, dropout: Float = 0, recurrentDropout: Float = 0,
        kernelInitializer: Initializer = .glorotUniform, recurrentInitializer: Initializer = .orthogonal,
        biasInitializer: Initializer = .zeros, name: String = ""
    ) {
        sequence = RecurrentSequence(
            units: units, returnSequences: returnSequences, goBackwards: goBackwards,
            stateful: stateful, stateComponents: 1)
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.recurrentInitializer = recurrentInitializer
        self.biasInitializer = biasInitializer
        dropoutMasks = RecurrentDropout(inputRate: dropout, recurrentRate: recurrentDropout)
        self.name = name
    }

    /// Takes `(timesteps, features)` and returns `(units)`, or `(timesteps, units)` with `returnSequences`;
    /// throws for a size that is not positive, a softmax activation, or a dropout rate outside [0, 1).
    public func build(inputShape: [Int]) throws -> [Int] {
        guard activation != .softmax else {
            throw LoomError.invalidArgument("SimpleRNN '\(name)': softmax is not an elementwise activation")
        }
        try dropoutMasks.check(layer: "SimpleRNN '\(name)'")
        return try sequence.build(inputShape: inputShape, layer: "SimpleRNN '\(name)'")
    }

    /// kernel `(features, units)`, recurrent_kernel `(units, units)`, then bias `(units)` when `useBias`.
    public var parameterSpecs: [ParameterSpec] {
        RecurrentWeights.specs(
            features: sequence.features, width: units, units: units, bias: useBias ? [units] : nil,
            kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
            biasInitializer: biasInitializer)
    }

    /// Points the kernels and bias at their slots of the model's buffers.
    public func bind(_ binding: ParameterBinding) { weights.bind(binding, specs: parameterSpecs) }
    /// Zeroes the carried state of every batch size.
    public func resetStates() { sequence.stateStore.reset() }
    func seed(_ seed: UInt64) { dropoutMasks.seed(seed) }
    /// The dropout generator's words; none without dropout (nothing is drawn).
    var randomState: [UInt64] {
        get { dropout > 0 || recurrentDropout > 0 ? dropoutMasks.generatorState : [] }
        set { if !newValue.isEmpty { dropoutMasks.generatorState = newValue } }
    }
    var stateStores: [RecurrentStateStore] { [sequence.stateStore] }
    var carriesState: Bool {
        get { sequence.carriesState }
        set { sequence.carriesState = newValue }
    }
    /// Sets the rows of the whole batch whose state this replica carries (nil: all of them).
    public func assign(rows: ShardRows?) { sequence.shardRows = rows }

    // MARK: forward: h_t = act(x_t·W + h_{t−1}·U + b), all input projections in one GEMM

    /// All steps' input projections in one GEMM, then per step the recurrent product and the activation;
    /// returns the states as the output sequence or the last state.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        forward(x, mask: nil, batch: batch, training: training).output
    }

    /// `forward`, skipping the steps `mask` `(batch, timesteps)` marks 0: the state carries
    /// over them. The output keeps the mask with `returnSequences`.
    public func forward(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        let (T, B, U) = (sequence.timesteps, batch, units)
        sequence.setMask(mask, batch: B)
        _ = sequence.begin(x, batch: B)
        let h = sequence.hidden.pointer
        let states = dropoutMasks.begin(sequence, batch: B, units: U, training: training, maskedStates: maskedHidden) ?? h
        // hidden[1...T] (T·B, U) = xT · W + b, then each step adds h_{t−1}·U and activates.
        let z = h + B * U
        weights.projectInputs(sequence.inputByTime.pointer, rows: T * B, features: sequence.features, width: U, into: z, addBias: true)
        for t in 0..<T {
            let zt = z + t * B * U, n = sequence.activeRows(t, batch: B)
            dropoutMasks.maskStates(h, into: states, step: t, rows: n, batch: B, units: U)
            weights.addRecurrent(states + t * B * U, rows: n, units: U, width: U, into: zt)
            activation.apply(zt, count: n * U)
            sequence.carrySkippedRows(step: t, batch: B)
        }
        return (sequence.end(batch: B), returnSequences ? mask : nil)
    }

    // MARK: backward: da_t = (dL/dh_t) ⊙ act'(h_t); dh_{t−1} = da_t · Uᵀ; dW, dU, db over all steps

    /// Backpropagation through all the batch's timesteps: adds the kernel, recurrent kernel and bias gradients;
    /// returns dx `(batch, timesteps, features)`, or nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let da = preactivationGradients.reserveDiscarding(T * B * U)
        let (dh, transposed) = sequence.beginBackward(batch: B, weights: weights, width: U)
        let h = sequence.hidden.pointer
        sequence.zeroUnkeptOutputs(dy, batch: B)
        for t in stride(from: T - 1, through: 0, by: -1) {
            weights.pollProgress()
            sequence.addOutputGradient(dy, step: t, into: dh, batch: B)
            // A skipped row's step is the identity on h: its gradient passes through (rows past
            // the active ones are not touched; masked rows are kept and put back).
            let n = sequence.activeRows(t, batch: B)
            sequence.keepMaskedGradients(step: t, batch: B, hidden: dh)
            let dat = da + t * B * U
            dat.update(from: dh, count: n * U)
            activation.backward(output: h + (t + 1) * B * U, gradient: dat, rows: n, width: U)
            sequence.zeroSkippedGates(step: t, batch: B, gates: dat, width: U)
            weights.accumulateBiasGradient(inputGates: dat, recurrentGates: dat, rows: n, width: U)
            if t > 0 {
                weights.recurrentGradient(dat, rows: n, units: U, width: U, transposed: transposed, into: dh, accumulate: false)
                if let r = dropoutMasks.recurrentMask { for i in 0..<(n * U) { dh[i] *= r[i] } }
                sequence.restoreMaskedGradients(step: t, batch: B, into: dh, hidden: true)
            }
        }
        let F = sequence.features
        let x = sequence.activeRows(of: sequence.inputByTime.pointer, width: F, batch: B, into: packedInputs)
        let fed = dropoutMasks.recurrentMask == nil ? h : maskedHidden.pointer
        let states = sequence.activeRows(of: fed, width: U, batch: B, into: packedStates)
        let gradients = sequence.activeRows(of: da, width: U, batch: B, into: packedGradients)
        weights.accumulateGradients(
            input: x.rows, states: states.rows, inputGates: gradients.rows, recurrentGates: gradients.rows, rows: x.count,
            features: F, units: U, width: U)
        guard needsInputGradient else { return nil }
        return sequence.inputGradient(weights: weights, gates: da, batch: B, width: U, inputMask: dropoutMasks.inputMask)
    }

    /// A new layer of this configuration (no weights or state).
    private func configuredCopy(goBackwards: Bool, name: String) -> SimpleRNN {
        let copy = SimpleRNN(
            units, activation: activation, useBias: useBias, returnSequences: returnSequences,
            goBackwards: goBackwards, stateful: stateful, dropout: dropout, recurrentDropout: recurrentDropout,
            kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer,
            name: name)
        copy.zeroOutputForMask = zeroOutputForMask
        return copy
    }

    /// An unbuilt, unnamed copy of the configuration with `goBackwards` flipped.
    public func reversedCopy() -> any RecurrentLayer { configuredCopy(goBackwards: !goBackwards, name: "") }

    /// A copy sharing the binding and carried state, with its own workspaces and dropout masks
    /// (step products in `SmallGemm`).
    public func makeRecurrentReplica() -> any RecurrentLayer {
        let copy = configuredCopy(goBackwards: goBackwards, name: name)
        copy.sequence = sequence.replica()
        copy.weights = weights
        copy.weights.stepProductsInSmallGemm = true
        copy.dropoutMasks = dropoutMasks.replica()
        return copy
    }
}
