/// Keras's `GRU` with its default `reset_after=True` (the cuDNN-compatible form).
///
/// Per-sample input `(timesteps, features)`; output `(units)`, or `(timesteps, units)` with
/// `returnSequences`. Parameters, in Keras's order and layout, gates side by side in the order
/// z (update), r (reset), h (candidate):
///
///     kernel            (features, 3·units)
///     recurrent_kernel  (units, 3·units)
///     bias              (2, 3·units): row 0 for the input, row 1 for the recurrent projection
///
/// The cell, with input projection xp = x·W + b₀ and recurrent projection hp = h·U + b₁:
///
///     z = σ(xp_z + hp_z)   r = σ(xp_r + hp_r)   ĥ = act(xp_h + r ⊙ hp_h)
///     h' = z ⊙ h + (1 − z) ⊙ ĥ
///
/// `goBackwards` and `stateful` behave as in `LSTM`. While training, `dropout` masks the
/// inputs and `recurrentDropout` the state where it enters the recurrent projection,
/// hp = (h ⊙ m)·U + b₁ with the state mask m, one mask each a sequence (`RecurrentDropout`);
/// the update z ⊙ h keeps the whole state, as in Keras.
public final class GRU: RecurrentLayer, StateCarryingLayer, RandomizedLayer {
    /// Empty until the model names it ("gru", "gru_1", ...), unless given to `init`.
    public var name: String
    /// "GRU", Keras's class name.
    public var typeName: String { "GRU" }
    /// Applied to the candidate (default tanh).
    public let activation: Activation
    /// Applied to the update and reset gates (default sigmoid).
    public let recurrentActivation: Activation
    /// Whether to add the bias `(2, 3·units)`, a row each for the input and recurrent projections (default true).
    public let useBias: Bool
    /// Fills the kernel `(features, 3·units)` (default `.glorotUniform`).
    public let kernelInitializer: Initializer
    /// Fills the recurrent kernel `(units, 3·units)` (default `.orthogonal`).
    public let recurrentInitializer: Initializer
    /// Fills the bias `(2, 3·units)` (default `.zeros`).
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
    /// While training, the fraction of the state fed to the recurrent projection dropped.
    public var recurrentDropout: Float { dropoutMasks.recurrentRate }

    private var sequence: RecurrentSequence
    private var weights = RecurrentWeights()
    private var dropoutMasks: RecurrentDropout
    private let maskedHidden = FloatBuffer()  // (T, B, U), h_{t-1} ⊙ m with recurrent dropout (m the state mask)
    private let maskedStateGradient = FloatBuffer()  // (B, U), dhp · Uᵀ before the state mask
    private let gates = FloatBuffer()  // (T, B, 3U): xp, then z, r, ĥ in place
    private let recurrentProjections = FloatBuffer()  // (T, B, 3U): hp = h_{t−1}·U + b₁ (at inference (B, 3U))
    private let inputGateGradients = FloatBuffer()  // (T, B, 3U): dL/dxp
    private let recurrentGateGradients = FloatBuffer()  // (T, B, 3U): dL/dhp
    // The rows that computed, packed for the weight gradients, when a pass skips the padding.
    private let packedInputs = FloatBuffer()
    private let packedStates = FloatBuffer()
    private let packedInputGates = FloatBuffer()
    private let packedRecurrentGates = FloatBuffer()

    /// A GRU of `units` with Keras's defaults (`reset_after=True`); `name` defaults to "gru", ... in model order.
    public init(
        _ units: Int, activation: Activation = .tanh, recurrentActivation: Activation = .sigmoid, useBias: Bool = true,
        returnSequences: Bool = false, goBackwards: Bool = false, stateful: Bool = false, dropout: Float = 0,
        recurrentDropout: Float = 0, kernelInitializer: Initializer = .glorotUniform,
        recurrentInitializer: Initializer = .orthogonal, biasInitializer: Initializer = .zeros, name: String = ""
    ) {
        sequence = RecurrentSequence(
            units: units, returnSequences: returnSequences, goBackwards: goBackwards,
            stateful: stateful, stateComponents: 1)
        self.activation = activation
        self.recurrentActivation = recurrentActivation
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
        guard activation != .softmax, recurrentActivation != .softmax else {
            throw LoomError.invalidArgument("GRU '\(name)': softmax is not an elementwise activation")
        }
        try dropoutMasks.check(layer: "GRU '\(name)'")
        return try sequence.build(inputShape: inputShape, layer: "GRU '\(name)'")
    }

    /// kernel `(features, 3·units)`, recurrent_kernel `(units, 3·units)`, then bias `(2, 3·units)` when `useBias`.
    public var parameterSpecs: [ParameterSpec] {
        RecurrentWeights.specs(
            features: sequence.features, width: 3 * units, units: units,
            bias: useBias ? [2, 3 * units] : nil, kernelInitializer: kernelInitializer,
            recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer)
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

    // MARK: forward

    /// All steps' input projections in one GEMM (at inference, each step's at that step), then per step one
    /// fused 3-gate recurrent GEMM and the cell; returns the states as the output sequence or the last state.
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
        let G = 3 * U
        // At inference nothing reads a step's projections after the step: one step's buffers
        // serve every step, and stay in the caches (the backward pass reads all of them).
        let kept = training ? T : 1
        let xp = gates.reserveDiscarding(kept * B * G), hp = recurrentProjections.reserveDiscarding(kept * B * G)
        _ = sequence.begin(x, batch: B)
        let h = sequence.hidden.pointer
        let (xT, F) = (sequence.inputByTime.pointer, sequence.features)
        let states = dropoutMasks.begin(sequence, batch: B, units: U, training: training, maskedStates: maskedHidden) ?? h
        // Training: xp (T·B, 3U) = xT · W + b₀ for every step at once; inference: each step's at that step.
        if training { weights.projectInputs(xT, rows: T * B, features: F, width: G, into: xp, addBias: true) }
        for t in 0..<T {
            let xpt = xp + (training ? t : 0) * B * G, hpt = hp + (training ? t : 0) * B * G, n = sequence.activeRows(t, batch: B)
            if !training { weights.projectInputs(xT + t * B * F, rows: n, features: F, width: G, into: xpt, addBias: true) }
            let hPrev = h + t * B * U, hNew = h + (t + 1) * B * U
            // hp_t (n, 3U) = h_{t−1} · U + b₁: one fused 3-gate GEMM.
            if let bias = weights.bias {
                for r in 0..<n { (hpt + r * G).update(from: bias + G, count: G) }
            } else {
                hpt.update(repeating: 0, count: n * G)
            }
            dropoutMasks.maskStates(h, into: states, step: t, rows: n, batch: B, units: U)
            weights.addRecurrent(states + t * B * U, rows: n, units: U, width: G, into: hpt)
            for r in 0..<n {
                let g = xpt + r * G, p = hpt + r * G
                for j in 0..<(2 * U) { g[j] += p[j] }
                recurrentActivation.apply(g, count: 2 * U)  // z, r
                for j in 0..<U { g[2 * U + j] += g[U + j] * p[2 * U + j] }  // xp_h + r ⊙ hp_h
                activation.apply(g + 2 * U, count: U)  // ĥ
                let previous = hPrev + r * U, next = hNew + r * U
                for j in 0..<U { next[j] = g[j] * previous[j] + (1 - g[j]) * g[2 * U + j] }
            }
            sequence.carrySkippedRows(step: t, batch: B)
        }
        return (sequence.end(batch: B), returnSequences ? mask : nil)
    }

    // MARK: backward
    //
    //     dĥ = dh ⊙ (1 − z)      dz = dh ⊙ (h_{t−1} − ĥ)      dh_{t−1} = dh ⊙ z + (dhp · Uᵀ) ⊙ m
    //     da_h = dĥ ⊙ act'(ĥ)    dr = da_h ⊙ hp_h
    //     dxp = (dz ⊙ σ'(z), dr ⊙ σ'(r), da_h)    dhp = (dz ⊙ σ'(z), dr ⊙ σ'(r), da_h ⊙ r)

    /// Backpropagation through all the batch's timesteps: adds the kernel, recurrent kernel and bias gradients;
    /// returns dx `(batch, timesteps, features)`, or nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let G = 3 * U
        let dxp = inputGateGradients.reserveDiscarding(T * B * G), dhp = recurrentGateGradients.reserveDiscarding(T * B * G)
        let (dh, transposed) = sequence.beginBackward(batch: B, weights: weights, width: G)
        let (g, hp, h) = (gates.pointer, recurrentProjections.pointer, sequence.hidden.pointer)
        sequence.zeroUnkeptOutputs(dy, batch: B)
        let mask = sequence.stepMask
        for t in stride(from: T - 1, through: 0, by: -1) {
            weights.pollProgress()
            sequence.addOutputGradient(dy, step: t, into: dh, batch: B)
            // Rows past the active ones skipped the step: dh passes through, the gates get nothing.
            let n = sequence.activeRows(t, batch: B)
            sequence.zeroSkippedGates(step: t, batch: B, gates: dxp + t * B * G, width: G)
            sequence.zeroSkippedGates(step: t, batch: B, gates: dhp + t * B * G, width: G)
            for r in 0..<n {
                if let mask, mask[t * B + r] == 0 {
                    // A masked step is the identity on h: dh passes through, the gates get nothing.
                    (dxp + (t * B + r) * G).update(repeating: 0, count: G)
                    (dhp + (t * B + r) * G).update(repeating: 0, count: G)
                    continue
                }
                let gate = g + (t * B + r) * G, p = hp + (t * B + r) * G
                let dInput = dxp + (t * B + r) * G, dRecurrent = dhp + (t * B + r) * G
                let previous = h + (t * B + r) * U, dhRow = dh + r * U
                for j in 0..<U {
                    let (z, reset, candidate) = (gate[j], gate[U + j], gate[2 * U + j])
                    let dz = dhRow[j] * (previous[j] - candidate)
                    let daH = dhRow[j] * (1 - z) * activation.derivative(fromOutput: candidate)
                    let daZ = dz * recurrentActivation.derivative(fromOutput: z)
                    let daR = daH * p[2 * U + j] * recurrentActivation.derivative(fromOutput: reset)
                    (dInput[j], dInput[U + j], dInput[2 * U + j]) = (daZ, daR, daH)
                    (dRecurrent[j], dRecurrent[U + j], dRecurrent[2 * U + j]) = (daZ, daR, daH * reset)
                    dhRow[j] *= z
                }
            }
            weights.accumulateBiasGradient(inputGates: dxp + t * B * G, recurrentGates: dhp + t * B * G, rows: n, width: G)
            if t > 0, let stateMask = dropoutMasks.recurrentMask {
                // dh_{t−1} += (dhp · Uᵀ) ⊙ m: the state reached the projection masked, the update whole.
                let product = maskedStateGradient.reserveDiscarding(n * U)
                weights.recurrentGradient(
                    dhp + t * B * G, rows: n, units: U, width: G, transposed: transposed, into: product, accumulate: false)
                for i in 0..<(n * U) { dh[i] += product[i] * stateMask[i] }
            } else if t > 0 {
                weights.recurrentGradient(dhp + t * B * G, rows: n, units: U, width: G, transposed: transposed, into: dh, accumulate: true)
            }
        }
        let F = sequence.features
        let x = sequence.activeRows(of: sequence.inputByTime.pointer, width: F, batch: B, into: packedInputs)
        let fed = dropoutMasks.recurrentMask == nil ? h : maskedHidden.pointer
        let states = sequence.activeRows(of: fed, width: U, batch: B, into: packedStates)
        let inputGates = sequence.activeRows(of: dxp, width: G, batch: B, into: packedInputGates)
        let recurrentGates = sequence.activeRows(of: dhp, width: G, batch: B, into: packedRecurrentGates)
        weights.accumulateGradients(
            input: x.rows, states: states.rows, inputGates: inputGates.rows, recurrentGates: recurrentGates.rows,
            rows: x.count, features: F, units: U, width: G)
        guard needsInputGradient else { return nil }
        return sequence.inputGradient(weights: weights, gates: dxp, batch: B, width: G, inputMask: dropoutMasks.inputMask)
    }

    /// A new layer of this configuration (no weights or state).
    private func configuredCopy(goBackwards: Bool, name: String) -> GRU {
        let copy = GRU(
            units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
            returnSequences: returnSequences, goBackwards: goBackwards, stateful: stateful, dropout: dropout,
            recurrentDropout: recurrentDropout, kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
            biasInitializer: biasInitializer, name: name)
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
