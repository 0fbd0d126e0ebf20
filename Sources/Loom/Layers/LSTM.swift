/// Long short-term memory, Keras's `LSTM`, with the same weights, gate order and defaults.
///
/// Per-sample input `(timesteps, features)`; output `(units)`, or `(timesteps, units)` with
/// `returnSequences`. Parameters, in Keras's order and layout, with the four gates side by
/// side in the order i, f, c, o:
///
///     kernel            (features, 4·units)
///     recurrent_kernel  (units, 4·units)
///     bias              (4·units)
///
/// The cell, for gates z = x·W + h·U + b split into (z_i, z_f, z_c, z_o):
///
///     i = σ(z_i)   f = σ(z_f)   g = act(z_c)   o = σ(z_o)      (σ = recurrentActivation)
///     c' = f ⊙ c + i ⊙ g        h' = o ⊙ act(c')
///
/// Internally the sequence is processed time-major: the input is transposed once to
/// `(T, B, F)`, every timestep's input projection is one GEMM over all `T·B` rows, and each
/// step then adds `h·U` with one fused 4-gate GEMM into its contiguous `(B, 4·units)` block.
///
/// Stateful: row `i` of a batch starts from the state row `i` of the previous batch of the
/// same size ended with. State is kept per batch size, so predicting with a batch size other
/// than the one trained with acts like a second stateful model sharing these weights (Keras
/// users build one for that): its state starts at zero, carries across its own calls, and
/// leaves the training state untouched. `resetStates()` zeroes all of them.
public final class LSTM: RecurrentLayer, RandomizedLayer, StateCarryingLayer {
    /// Empty until the model names it ("lstm", "lstm_1", ...), unless given to `init`.
    public var name: String
    /// "LSTM", Keras's class name.
    public var typeName: String { "LSTM" }
    /// The size of the hidden and cell states and of each output step.
    public var units: Int { sequence.units }
    /// Applied to the candidate gate and to the cell state (default tanh).
    public let activation: Activation
    /// Applied to the input, forget and output gates (default sigmoid).
    public let recurrentActivation: Activation
    /// Whether to add the bias `(4·units)` (default true).
    public let useBias: Bool
    /// Initialises the forget gate's bias to 1 (default true, as in Keras).
    public let unitForgetBias: Bool
    /// Return the whole output sequence `(timesteps, units)` instead of the last output.
    public var returnSequences: Bool { sequence.returnSequences }
    /// Keep the final `h` and `c` of each forward pass in `lastState` (Keras returns them as
    /// extra outputs; in a `Sequential` model the output stays the sequence or last output).
    public let returnState: Bool
    /// Read the sequence from last to first; the returned sequence is in processing order
    /// (reversed), as in Keras.
    public var goBackwards: Bool { sequence.goBackwards }
    /// Carry each row's final state into the same row of the next batch.
    public var stateful: Bool { sequence.stateful }
    /// Masked steps output zeros instead of the last valid output (Keras's `zero_output_for_mask`).
    public var zeroOutputForMask: Bool {
        get { sequence.zeroOutputForMask }
        set { sequence.zeroOutputForMask = newValue }
    }
    /// Fills the kernel `(features, 4·units)` (default `.glorotUniform`).
    public let kernelInitializer: Initializer
    /// Fills the recurrent kernel `(units, 4·units)` (default `.orthogonal`).
    public let recurrentInitializer: Initializer
    /// Fills the bias `(4·units)` (default `.zeros`, its forget slice then set to 1 when `unitForgetBias`).
    public let biasInitializer: Initializer
    /// While training, the fraction of input features dropped (one mask per sequence).
    public var dropout: Float { dropoutMasks.inputRate }
    /// While training, the fraction of the state fed to the recurrent product dropped.
    public var recurrentDropout: Float { dropoutMasks.recurrentRate }

    /// The final hidden and cell states `(batch, units)` of the last forward pass of this
    /// layer object, kept when `returnState` is true (data-parallel passes run on replicas
    /// and do not update it: read it after a one-worker `predict`).
    public private(set) var lastState: (h: Tensor, c: Tensor)?

    private var sequence: RecurrentSequence
    private var weights = RecurrentWeights()
    private var dropoutMasks: RecurrentDropout
    // Workspaces of the last forward pass, time-major (t outermost); the input and hidden
    // states are the sequence's.
    private let gates = FloatBuffer()  // (T, B, 4U), activated gate values i, f, g, o; backward: dL/dz
    private let cells = FloatBuffer()  // (T+1, B, U), cells[0] is the initial state
    private let cellActivations = FloatBuffer()  // (T, B, U), act(c_t)
    private let maskedHidden = FloatBuffer()  // (T, B, U), h_{t-1} ⊙ r with recurrent dropout
    private let candidates = FloatBuffer()  // (rows, U), a block's g gates, for their activation
    // The rows that computed, packed for the weight gradients, when a pass skips the padding.
    private let packedInputs = FloatBuffer()
    private let packedStates = FloatBuffer()
    private let packedGates = FloatBuffer()
    // Workspaces of backward.
    private let cellGradient = FloatBuffer()  // (B, U)

    /// - Parameters:
    ///   - units: size of the hidden state.
    ///   - activation: default tanh.
    ///   - recurrentActivation: default sigmoid.
    ///   - useBias: default true.
    ///   - unitForgetBias: default true.
    ///   - returnSequences: default false.
    ///   - returnState: default false.
    ///   - goBackwards: default false.
    ///   - stateful: default false; needs a fixed batch size (`Input(shape:batchSize:)`).
    ///   - dropout: fraction of the inputs dropped while training, default 0.
    ///   - recurrentDropout: fraction of the recurrent state dropped while training, default 0.
    ///   - kernelInitializer: default glorot uniform.
    ///   - recurrentInitializer: default orthogonal.
    ///   - biasInitializer: default zeros (then the forget slice set to 1 if `unitForgetBias`).
    ///   - name: defaults to "lstm", "lstm_1", ... in model order.
    public init(
        _ units: Int,
        activation: Activation = .tanh,
        recurrentActivation: Activation = .sigmoid,
        useBias: Bool = true,
        unitForgetBias: Bool = true,
        returnSequences: Bool = false,
        returnState: Bool = false,
        goBackwards: Bool = false,
        stateful: Bool = false,
        dropout: Float = 0,
        recurrentDropout: Float = 0,
        kernelInitializer: Initializer = .glorotUniform,
        recurrentInitializer: Initializer = .orthogonal,
        biasInitializer: Initializer = .zeros,
        name: String = ""
    ) {
        sequence = RecurrentSequence(
            units: units, returnSequences: returnSequences, goBackwards: goBackwards,
            stateful: stateful, stateComponents: 2)
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.useBias = useBias
        self.unitForgetBias = unitForgetBias
        self.returnState = returnState
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
            throw LoomError.invalidArgument("LSTM '\(name)': softmax is not an elementwise activation")
        }
        try dropoutMasks.check(layer: "LSTM '\(name)'")
        return try sequence.build(inputShape: inputShape, layer: "LSTM '\(name)'")
    }

    /// kernel `(features, 4·units)`, recurrent_kernel `(units, 4·units)`, then bias `(4·units)` when `useBias`.
    public var parameterSpecs: [ParameterSpec] {
        RecurrentWeights.specs(
            features: sequence.features, width: 4 * units, units: units, bias: useBias ? [4 * units] : nil,
            kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
            biasInitializer: unitForgetBias && biasInitializer == .zeros ? .unitForgetBias(units: units) : biasInitializer)
    }

    /// Points the kernels and bias at their slots of the model's buffers.
    public func bind(_ binding: ParameterBinding) { weights.bind(binding, specs: parameterSpecs) }
    /// Zeroes the carried state of every batch size.
    public func resetStates() { sequence.stateStore.reset() }
    /// Sets the rows of the whole batch whose state this replica carries (nil: all of them).
    public func assign(rows: ShardRows?) { sequence.shardRows = rows }
    func seed(_ seed: UInt64) { dropoutMasks.seed(seed) }
    var randomState: [UInt64] {
        get { dropoutMasks.generatorState }
        set { dropoutMasks.generatorState = newValue }
    }
    var stateStores: [RecurrentStateStore] { [sequence.stateStore] }
    var carriesState: Bool {
        get { sequence.carriesState }
        set { sequence.carriesState = newValue }
    }
    var keepsLastState: Bool { returnState }

    // MARK: forward

    /// All steps' input projections in one GEMM (at inference, each step's at that step), then per step one
    /// fused 4-gate recurrent GEMM and the cell (with dropout masks while training); returns the states as the
    /// output sequence or the last state.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        forward(x, mask: nil, batch: batch, training: training).output
    }

    /// `forward`, skipping the steps `mask` `(batch, timesteps)` marks 0: the state carries
    /// over them. The output keeps the mask with `returnSequences`.
    public func forward(
        _ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let G = 4 * U
        sequence.setMask(mask, batch: B)
        // Training keeps every step's gates for the backward pass; inference holds one step's,
        // which stay in the caches between the products and the cell.
        let z = gates.reserveDiscarding((training ? T : 1) * B * G)
        let c = cells.reserveDiscarding((T + 1) * B * U)
        // At inference the activated gates and act(c) are not kept: nothing reads them.
        let act = training ? cellActivations.reserveDiscarding(T * B * U) : nil
        let startsFromZero = sequence.begin(x, batch: B, cell: c)
        let h = sequence.hidden.pointer
        let (xT, F) = (sequence.inputByTime.pointer, sequence.features)
        // The states the recurrent products read: h itself, or h ⊙ r under recurrent dropout.
        let states = dropoutMasks.begin(sequence, batch: B, units: U, training: training, maskedStates: maskedHidden) ?? h
        // Training projects all inputs at once: z (T·B, 4U) = xT (T·B, F) · kernel (F, 4U); the
        // bias is added in the cell.
        if training { weights.projectInputs(xT, rows: T * B, features: F, width: G, into: z, addBias: false) }
        for t in 0..<T {
            let zt = training ? z + t * B * G : z, n = sequence.activeRows(t, batch: B)
            if !training { weights.projectInputs(xT + t * B * F, rows: n, features: F, width: G, into: zt, addBias: false) }
            dropoutMasks.maskStates(h, into: states, step: t, rows: n, batch: B, units: U)
            if t > 0 || !startsFromZero {
                // z_t (n, 4U) += h_{t-1} (n, U) · recurrent_kernel (U, 4U): one fused 4-gate GEMM.
                weights.addRecurrent(states + t * B * U, rows: n, units: U, width: G, into: zt)
            }
            cellForward(
                gates: zt, previousCell: c + t * B * U, cell: c + (t + 1) * B * U,
                hidden: h + (t + 1) * B * U, cellActivation: act.map { $0 + t * B * U }, rows: n)
            sequence.carrySkippedRows(step: t, batch: B, cell: c)
        }
        if returnState {
            lastState = (sequence.stateTensor(h + T * B * U, batch: B), sequence.stateTensor(c + T * B * U, batch: B))
        }
        return (sequence.end(batch: B, cell: c + T * B * U), returnSequences ? mask : nil)
    }

    /// One timestep for `rows` rows: activates the gates of `gates (rows, 4U)` in place
    /// (adding the bias first) and writes c_t, act(c_t) and h_t, each `(rows, U)`, in the
    /// kernels' `lstmCellForward` (rows in blocks of about 4096 gate values, which stay in L1).
    /// Without `cellActivation` (inference), writes c_t and h_t alone, the same bits, in
    /// `lstmCellInference`.
    private func cellForward(
        gates z: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        cellActivation: UnsafeMutablePointer<Float>?, rows: Int
    ) {
        let U = units, blockRows = max(1, 4096 / (4 * U))
        guard let cellActivation else {
            Kernels.table.lstmCellInference(
                z, weights.bias, previousCell, cell, hidden, candidates.reserveDiscarding(2 * min(rows, blockRows) * U),
                rows, U, recurrentActivation.kernelKind, activation.kernelKind)
            return
        }
        let scratch = candidates.reserveDiscarding(min(rows, blockRows) * U)
        Kernels.table.lstmCellForward(
            z, weights.bias, previousCell, cell, hidden, cellActivation, scratch, rows, U,
            recurrentActivation.kernelKind, activation.kernelKind)
    }

    // MARK: backward (full backpropagation through time over the batch's timesteps)

    /// Backpropagation through all the batch's timesteps: adds the kernel, recurrent kernel and bias gradients;
    /// returns dx `(batch, timesteps, features)`, or nil when not needed. Overwrites the gate values.
    public func backward(
        _ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool
    ) -> UnsafeMutablePointer<Float>? {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let G = 4 * U
        // Each step's gate gradients replace its gate values, which nothing reads afterwards
        // (in a buffer of their own, every write missed the caches: training ran ~5% slower).
        let dz = gates.pointer
        let (dh, transposed) = sequence.beginBackward(batch: B, weights: weights, width: G)
        let dc = cellGradient.reserveDiscarding(B * U)
        dc.update(repeating: 0, count: B * U)
        sequence.zeroUnkeptOutputs(dy, batch: B)

        for t in stride(from: T - 1, through: 0, by: -1) {
            weights.pollProgress()
            sequence.addOutputGradient(dy, step: t, into: dh, batch: B)
            // A skipped row's step is the identity on (h, c): its gradients pass through (rows
            // past the active ones are not touched; masked rows are kept and put back).
            let n = sequence.activeRows(t, batch: B)
            sequence.keepMaskedGradients(step: t, batch: B, hidden: dh, cell: dc)
            cellBackward(step: t, batch: B, rows: n, hiddenGradient: dh, cellGradient: dc, gateGradients: dz + t * B * G)
            sequence.zeroSkippedGates(step: t, batch: B, gates: dz + t * B * G, width: G)
            sequence.restoreMaskedGradients(step: t, batch: B, into: dc, hidden: false)
            weights.accumulateBiasGradient(inputGates: dz + t * B * G, recurrentGates: dz + t * B * G, rows: n, width: G)
            if t > 0 {
                // dh_{t-1} (n, U) = dz_t (n, 4U) · recurrent_kernelᵀ (4U, U).
                weights.recurrentGradient(dz + t * B * G, rows: n, units: U, width: G, transposed: transposed, into: dh, accumulate: false)
                if let r = dropoutMasks.recurrentMask { for i in 0..<(n * U) { dh[i] *= r[i] } }
                sequence.restoreMaskedGradients(step: t, batch: B, into: dh, hidden: true)
            }
        }
        // Kernel gradients over all the rows that computed at once.
        let states = dropoutMasks.recurrentMask == nil ? sequence.hidden.pointer : maskedHidden.pointer
        let F = sequence.features
        let x = sequence.activeRows(of: sequence.inputByTime.pointer, width: F, batch: B, into: packedInputs)
        let h = sequence.activeRows(of: states, width: U, batch: B, into: packedStates)
        let g = sequence.activeRows(of: dz, width: G, batch: B, into: packedGates)
        weights.accumulateGradients(
            input: x.rows, states: h.rows, inputGates: g.rows, recurrentGates: g.rows, rows: x.count, features: F, units: U,
            width: G)
        guard needsInputGradient else { return nil }
        return sequence.inputGradient(weights: weights, gates: dz, batch: B, width: G, inputMask: dropoutMasks.inputMask)
    }

    /// The cell's backward at step `t`. In: dL/dh_t and dL/dc_t (from step t+1), each (B, U).
    /// Out: dL/dz_t into `gateGradients (B, 4U)`, and dL/dc_{t-1} in place of `cellGradient`.
    /// `gateGradients` is step t's block of the gate values it reads (the kernel reads each
    /// group of units' gate values before it stores their gradients).
    ///
    ///     dc = dc_next + dh ⊙ o ⊙ act'(c)          do = dh ⊙ act(c)
    ///     di = dc ⊙ g    df = dc ⊙ c_{t-1}    dg = dc ⊙ i    dc_{t-1} = dc ⊙ f
    ///     dz = (di ⊙ σ'(i), df ⊙ σ'(f), dg ⊙ act'(g), do ⊙ σ'(o))
    private func cellBackward(
        step t: Int, batch: Int, rows: Int, hiddenGradient dh: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>, gateGradients dz: UnsafeMutablePointer<Float>
    ) {
        let U = units, G = 4 * U
        Kernels.table.lstmCellBackward(
            gates.pointer + t * batch * G, cells.pointer + t * batch * U,
            cellActivations.pointer + t * batch * U, dh, dc, dz, rows, U,
            recurrentActivation.kernelKind, activation.kernelKind)
    }

    // MARK: state

    /// The carried state `(h, c)` for `batch`-row batches, or nil if none was kept yet.
    public func state(forBatchSize batch: Int) -> (h: Tensor, c: Tensor)? {
        guard let state = sequence.stateStore.existing(batchSize: batch) else { return nil }
        return (Tensor(shape: [batch, units], copying: state[0].pointer), Tensor(shape: [batch, units], copying: state[1].pointer))
    }

    /// A new layer of this configuration (no weights, state or masks).
    private func configuredCopy(goBackwards: Bool, returnState: Bool, name: String) -> LSTM {
        let copy = LSTM(
            units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
            unitForgetBias: unitForgetBias, returnSequences: returnSequences, returnState: returnState,
            goBackwards: goBackwards, stateful: stateful, dropout: dropout, recurrentDropout: recurrentDropout,
            kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
            biasInitializer: biasInitializer, name: name)
        copy.zeroOutputForMask = zeroOutputForMask
        return copy
    }

    /// An unbuilt, unnamed copy of the configuration with `goBackwards` flipped and `returnState` off.
    public func reversedCopy() -> any RecurrentLayer {
        configuredCopy(goBackwards: !goBackwards, returnState: false, name: "")
    }

    /// A copy sharing the binding and carried state, with its own workspaces and dropout masks (step products in
    /// `SmallGemm`).
    public func makeRecurrentReplica() -> any RecurrentLayer {
        let copy = configuredCopy(goBackwards: goBackwards, returnState: returnState, name: name)
        copy.sequence = sequence.replica()
        copy.weights = weights
        copy.weights.stepProductsInSmallGemm = true
        copy.dropoutMasks = dropoutMasks.replica()
        return copy
    }
}
