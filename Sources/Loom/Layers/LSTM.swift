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
public final class LSTM: RecurrentLayer, RandomizedLayer {
    public var name: String
    public var typeName: String { "LSTM" }
    public var units: Int { sequence.units }
    /// Applied to the candidate gate and to the cell state (default tanh).
    public let activation: Activation
    /// Applied to the input, forget and output gates (default sigmoid).
    public let recurrentActivation: Activation
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
    public let kernelInitializer: Initializer
    public let recurrentInitializer: Initializer
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
    private let gates = FloatBuffer()           // (T, B, 4U), activated gate values i, f, g, o; backward: dL/dz
    private let cells = FloatBuffer()           // (T+1, B, U), cells[0] is the initial state
    private let cellActivations = FloatBuffer() // (T, B, U), act(c_t)
    private let maskedHidden = FloatBuffer()    // (T, B, U), h_{t-1} ⊙ r with recurrent dropout
    private let candidates = FloatBuffer()      // (rows, U), a block's g gates, for their activation
    // Workspaces of backward.
    private let cellGradient = FloatBuffer()    // (B, U)

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
        sequence = RecurrentSequence(units: units, returnSequences: returnSequences, goBackwards: goBackwards,
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

    public func build(inputShape: [Int]) throws -> [Int] {
        guard activation != .softmax, recurrentActivation != .softmax else {
            throw LoomError.invalidArgument("LSTM '\(name)': softmax is not an elementwise activation")
        }
        try dropoutMasks.check(layer: "LSTM '\(name)'")
        return try sequence.build(inputShape: inputShape, layer: "LSTM '\(name)'")
    }

    public var parameterSpecs: [ParameterSpec] {
        RecurrentWeights.specs(
            features: sequence.features, width: 4 * units, units: units, bias: useBias ? [4 * units] : nil,
            kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
            biasInitializer: unitForgetBias && biasInitializer == .zeros ? .unitForgetBias(units: units) : biasInitializer)
    }

    public func bind(_ binding: ParameterBinding) { weights.bind(binding, specs: parameterSpecs) }
    public func resetStates() { sequence.stateStore.reset() }
    public func assign(rows: BatchRows?) { sequence.batchRows = rows }
    func seed(_ seed: UInt64) { dropoutMasks.seed(seed) }

    // MARK: forward

    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let G = 4 * U
        let z = gates.reserve(T * B * G)
        let c = cells.reserve((T + 1) * B * U)
        let act = cellActivations.reserve(T * B * U)
        let startsFromZero = sequence.begin(x, batch: B, cell: c)
        let h = sequence.hidden.pointer
        dropoutMasks.begin(batch: B, features: sequence.features, units: U, training: training)
        if let m = dropoutMasks.inputMask {
            RecurrentDropout.apply(m, to: sequence.inputByTime.pointer, steps: T, rows: B, width: sequence.features)
        }
        // The states the recurrent products read: h itself, or h ⊙ r under recurrent dropout.
        let states = dropoutMasks.recurrentMask == nil ? h : maskedHidden.reserve(T * B * U)
        // All input projections at once: z (T·B, 4U) = xT (T·B, F) · kernel (F, 4U); the
        // bias is added in the cell.
        weights.projectInputs(sequence.inputByTime.pointer, rows: T * B, features: sequence.features, width: G, into: z,
                              addBias: false)
        for t in 0..<T {
            let zt = z + t * B * G
            if let r = dropoutMasks.recurrentMask {
                for i in 0..<(B * U) { states[t * B * U + i] = h[t * B * U + i] * r[i] }
            }
            if t > 0 || !startsFromZero {
                // z_t (B, 4U) += h_{t-1} (B, U) · recurrent_kernel (U, 4U): one fused 4-gate GEMM.
                weights.addRecurrent(states + t * B * U, rows: B, units: U, width: G, into: zt)
            }
            cellForward(gates: zt, previousCell: c + t * B * U, cell: c + (t + 1) * B * U,
                        hidden: h + (t + 1) * B * U, cellActivation: act + t * B * U, rows: B)
        }
        if returnState { recordLastState(hidden: h + T * B * U, cell: c + T * B * U, batch: B) }
        return sequence.end(batch: B, cell: c + T * B * U)
    }

    /// One timestep for `rows` rows: activates the gates of `gates (rows, 4U)` in place
    /// (adding the bias first) and writes c_t, act(c_t) and h_t, each `(rows, U)`.
    ///
    /// The rows go in blocks of about 4096 gate values (a block stays in L1); act(c) runs once
    /// over a block's cells. When U is a multiple of 16 the gates are activated row by row,
    /// slice by slice, all in whole 16-lane vectors. Otherwise each slice would end in a padded
    /// tail (a layer of 10 units spent most of its time there), so the recurrent activation
    /// runs once over every gate of the block, the g columns are redone from their copy in
    /// `candidates`, and the activation runs once over those copies (B1, 10 units, one thread:
    /// 1.43M samples/s predicted instead of 0.78M, 590k trained instead of 450k).
    ///
    /// With whole vectors, the bias, cell and output loops go 16 units at a time in explicit
    /// vectors: as plain loops over pointers that may alias, they compiled to scalar code (B3,
    /// 64 units, one thread: 10.7k samples/s trained instead of 10.1k). With a tail, the plain loops were
    /// faster than 8-lane vectors with padded tails (B1: 600k against 560k).
    private func cellForward(
        gates z: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        cellActivation: UnsafeMutablePointer<Float>, rows: Int
    ) {
        typealias V = VectorMath
        let U = units, G = 4 * U
        let wholeVectors = U % V.Wide.scalarCount == 0
        let blockRows = max(1, 4096 / G)
        let g = wholeVectors ? nil : candidates.reserve(min(rows, blockRows) * U)
        var r0 = 0
        while r0 < rows {
            let count = min(blockRows, rows - r0)
            let block = z + r0 * G, c = cell + r0 * U, a = cellActivation + r0 * U
            for r in 0..<count {
                let row = block + r * G
                if let bias = weights.bias {
                    if wholeVectors {
                        for j in stride(from: 0, to: G, by: V.Wide.scalarCount) {
                            V.store(V.load(row + j) + V.load(bias + j), to: row + j)
                        }
                    } else {
                        for j in 0..<G { row[j] += bias[j] }
                    }
                }
                if let g {
                    (g + r * U).update(from: row + 2 * U, count: U)
                } else {
                    recurrentActivation.apply(row, count: 2 * U)      // i, f
                    activation.apply(row + 2 * U, count: U)           // g
                    recurrentActivation.apply(row + 3 * U, count: U)  // o
                }
            }
            if let g {
                recurrentActivation.apply(block, count: count * G)    // i, f, o (and g, redone below)
                activation.apply(g, count: count * U)
            }
            for r in 0..<count {
                let row = block + r * G
                // The activated g, copied back for the backward pass.
                if let g { (row + 2 * U).update(from: g + r * U, count: U) }
                let cPrev = previousCell + (r0 + r) * U, cNew = c + r * U, aRow = a + r * U
                if wholeVectors {
                    for j in stride(from: 0, to: U, by: V.Wide.scalarCount) {
                        let cj = V.load(row + U + j) * V.load(cPrev + j) + V.load(row + j) * V.load(row + 2 * U + j)
                        V.store(cj, to: cNew + j)
                        V.store(cj, to: aRow + j)
                    }
                } else {
                    for j in 0..<U {
                        cNew[j] = row[U + j] * cPrev[j] + row[j] * row[2 * U + j]
                        aRow[j] = cNew[j]
                    }
                }
            }
            activation.apply(a, count: count * U)
            for r in 0..<count {
                let row = block + r * G, aRow = a + r * U, hNew = hidden + (r0 + r) * U
                if wholeVectors {
                    for j in stride(from: 0, to: U, by: V.Wide.scalarCount) {
                        V.store(V.load(row + 3 * U + j) * V.load(aRow + j), to: hNew + j)
                    }
                } else {
                    for j in 0..<U { hNew[j] = row[3 * U + j] * aRow[j] }
                }
            }
            r0 += count
        }
    }

    // MARK: backward (full backpropagation through time over the batch's timesteps)

    public func backward(
        _ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool
    ) -> UnsafeMutablePointer<Float>? {
        let (T, B, U) = (sequence.timesteps, batch, units)
        let G = 4 * U
        // Each step's gate gradients replace its gate values, which nothing reads afterwards
        // (in a buffer of their own, every write missed the caches: B3 trained 4–6% slower).
        let dz = gates.pointer
        let (dh, transposed) = sequence.beginBackward(batch: B, weights: weights, width: G)
        let dc = cellGradient.reserve(B * U)
        dc.update(repeating: 0, count: B * U)

        for t in stride(from: T - 1, through: 0, by: -1) {
            TimeMajor.addOutputGradient(dy, step: t, into: dh, batch: B, steps: T, units: U, sequences: returnSequences)
            cellBackward(step: t, rows: B, hiddenGradient: dh, cellGradient: dc,
                         gateGradients: dz + t * B * G)
            weights.accumulateBiasGradient(inputGates: dz + t * B * G, recurrentGates: dz + t * B * G, rows: B, width: G)
            if t > 0 {
                // dh_{t-1} (B, U) = dz_t (B, 4U) · recurrent_kernelᵀ (4U, U).
                weights.recurrentGradient(dz + t * B * G, rows: B, units: U, width: G, transposed: transposed, into: dh, accumulate: false)
                if let r = dropoutMasks.recurrentMask { for i in 0..<(B * U) { dh[i] *= r[i] } }
            }
        }
        // Kernel gradients over all T·B rows at once.
        let states = dropoutMasks.recurrentMask == nil ? sequence.hidden.pointer : maskedHidden.pointer
        weights.accumulateGradients(input: sequence.inputByTime.pointer, states: states, inputGates: dz,
                                    recurrentGates: dz, rows: T * B, features: sequence.features, units: U, width: G)
        guard needsInputGradient else { return nil }
        return sequence.inputGradient(weights: weights, gates: dz, batch: B, width: G, inputMask: dropoutMasks.inputMask)
    }

    /// The cell's backward at step `t`. In: dL/dh_t and dL/dc_t (from step t+1), each (B, U).
    /// Out: dL/dz_t into `gateGradients (B, 4U)`, and dL/dc_{t-1} in place of `cellGradient`.
    /// `gateGradients` is step t's block of the gate values it reads: every group of units
    /// loads its gate values before it stores their gradients, and touches no other columns.
    ///
    ///     dc = dc_next + dh ⊙ o ⊙ act'(c)          do = dh ⊙ act(c)
    ///     di = dc ⊙ g    df = dc ⊙ c_{t-1}    dg = dc ⊙ i    dc_{t-1} = dc ⊙ f
    ///     dz = (di ⊙ σ'(i), df ⊙ σ'(f), dg ⊙ act'(g), do ⊙ σ'(o))
    private func cellBackward(
        step t: Int, rows: Int, hiddenGradient dh: UnsafePointer<Float>,
        cellGradient dc: UnsafeMutablePointer<Float>, gateGradients dz: UnsafeMutablePointer<Float>
    ) {
        let U = units, G = 4 * U
        let z = gates.pointer + t * rows * G
        let previousCell = cells.pointer + t * rows * U
        let cellActivation = cellActivations.pointer + t * rows * U
        let gateActivation = recurrentActivation, candidateActivation = activation
        if U % VectorMath.Wide.scalarCount == 0 {
            if gateActivation == .sigmoid, candidateActivation == .tanh {
                cellBackwardInVectors(gates: z, previousCell: previousCell, cellActivation: cellActivation, rows: rows,
                                      hiddenGradient: dh, cellGradient: dc, gateGradients: dz,
                                      derivatives: SigmoidTanhDerivatives())
            } else {
                cellBackwardInVectors(gates: z, previousCell: previousCell, cellActivation: cellActivation, rows: rows,
                                      hiddenGradient: dh, cellGradient: dc, gateGradients: dz,
                                      derivatives: ActivationDerivatives(gate: gateActivation, candidate: candidateActivation))
            }
            return
        }
        for r in 0..<rows {
            let gate = z + r * G, dGate = dz + r * G
            let cPrev = previousCell + r * U, a = cellActivation + r * U
            let dhRow = dh + r * U, dcRow = dc + r * U
            // 8 units at a time; the last group may be partial (zero-padded lanes are discarded).
            var j = 0
            while j < U {
                let n = min(8, U - j)
                let i = VectorMath.load(gate + j, count: n), f = VectorMath.load(gate + U + j, count: n)
                let g = VectorMath.load(gate + 2 * U + j, count: n), o = VectorMath.load(gate + 3 * U + j, count: n)
                let cellAct = VectorMath.load(a + j, count: n), dhj = VectorMath.load(dhRow + j, count: n)
                let dcj = VectorMath.load(dcRow + j, count: n)
                    + dhj * o * candidateActivation.derivative(fromOutput: cellAct)
                VectorMath.store(dcj * g * gateActivation.derivative(fromOutput: i), to: dGate + j, count: n)
                VectorMath.store(dcj * VectorMath.load(cPrev + j, count: n) * gateActivation.derivative(fromOutput: f),
                                 to: dGate + U + j, count: n)
                VectorMath.store(dcj * i * candidateActivation.derivative(fromOutput: g), to: dGate + 2 * U + j, count: n)
                VectorMath.store(dhj * cellAct * gateActivation.derivative(fromOutput: o), to: dGate + 3 * U + j, count: n)
                VectorMath.store(dcj * f, to: dcRow + j, count: n)
                j += n
            }
        }
    }

    /// `cellBackward` when U is a multiple of 16, 16 units at a time, specialised for the
    /// activations' derivatives (sigmoid and tanh inlined, any others through a switch). The
    /// 8-lane loop above, with a partial last vector, serves other unit counts: as one
    /// function, its derivatives were calls, and B3 (64 units, one thread) trained at 10.7k
    /// samples/s instead of 11.2k. `z` and `dz` are the same memory, as in `cellBackward`.
    private func cellBackwardInVectors<Derivatives: CellDerivatives>(
        gates z: UnsafePointer<Float>, previousCell: UnsafePointer<Float>, cellActivation: UnsafePointer<Float>,
        rows: Int, hiddenGradient dh: UnsafePointer<Float>, cellGradient dc: UnsafeMutablePointer<Float>,
        gateGradients dz: UnsafeMutablePointer<Float>, derivatives d: Derivatives
    ) {
        typealias V = VectorMath
        let U = units, G = 4 * U
        for r in 0..<rows {
            let row = z + r * G, dRow = dz + r * G
            let cPrev = previousCell + r * U, aRow = cellActivation + r * U
            let dhRow = dh + r * U, dcRow = dc + r * U
            var j = 0
            while j < U {
                let i = V.load(row + j), f = V.load(row + U + j), g = V.load(row + 2 * U + j), o = V.load(row + 3 * U + j)
                let a = V.load(aRow + j), dhj = V.load(dhRow + j)
                let dcj = V.load(dcRow + j) + dhj * o * d.candidate(a)
                V.store(dcj * g * d.gate(i), to: dRow + j)
                V.store(dcj * V.load(cPrev + j) * d.gate(f), to: dRow + U + j)
                V.store(dcj * i * d.candidate(g), to: dRow + 2 * U + j)
                V.store(dhj * a * d.gate(o), to: dRow + 3 * U + j)
                V.store(dcj * f, to: dcRow + j)
                j += V.Wide.scalarCount
            }
        }
    }

    // MARK: state

    private func recordLastState(hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>, batch: Int) {
        lastState = (Tensor(shape: [batch, units], copying: hidden), Tensor(shape: [batch, units], copying: cell))
    }

    /// The carried state `(h, c)` for `batch`-row batches, or nil if none was kept yet.
    public func state(forBatchSize batch: Int) -> (h: Tensor, c: Tensor)? {
        guard let state = sequence.stateStore.existing(batchSize: batch) else { return nil }
        return (Tensor(shape: [batch, units], copying: state[0].pointer), Tensor(shape: [batch, units], copying: state[1].pointer))
    }

    /// A new layer of this configuration (no weights, state or masks).
    private func configuredCopy(goBackwards: Bool, returnState: Bool, name: String) -> LSTM {
        LSTM(units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
             unitForgetBias: unitForgetBias, returnSequences: returnSequences, returnState: returnState,
             goBackwards: goBackwards, stateful: stateful, dropout: dropout, recurrentDropout: recurrentDropout,
             kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
             biasInitializer: biasInitializer, name: name)
    }

    public func reversedCopy() -> any RecurrentLayer {
        configuredCopy(goBackwards: !goBackwards, returnState: false, name: "")
    }

    public func makeRecurrentReplica() -> any RecurrentLayer {
        let copy = configuredCopy(goBackwards: goBackwards, returnState: returnState, name: name)
        copy.sequence = sequence.replica()
        copy.weights = weights
        copy.weights.avoidsBLASLock = true
        copy.dropoutMasks = dropoutMasks.replica()
        return copy
    }
}

/// The derivatives of an LSTM's recurrent activation (`gate`) and activation (`candidate`)
/// from their outputs, 16 values at a time.
private protocol CellDerivatives {
    func gate(_ y: VectorMath.Wide) -> VectorMath.Wide
    func candidate(_ y: VectorMath.Wide) -> VectorMath.Wide
}

/// Sigmoid and tanh, the defaults, known when compiled (their switch folds away).
private struct SigmoidTanhDerivatives: CellDerivatives {
    @inline(__always) func gate(_ y: VectorMath.Wide) -> VectorMath.Wide { Activation.sigmoid.derivative(fromOutput: y) }
    @inline(__always) func candidate(_ y: VectorMath.Wide) -> VectorMath.Wide { Activation.tanh.derivative(fromOutput: y) }
}

/// Any pair of activations.
private struct ActivationDerivatives: CellDerivatives {
    let gateActivation: Activation, candidateActivation: Activation
    init(gate: Activation, candidate: Activation) { (gateActivation, candidateActivation) = (gate, candidate) }
    @inline(__always) func gate(_ y: VectorMath.Wide) -> VectorMath.Wide { gateActivation.derivative(fromOutput: y) }
    @inline(__always) func candidate(_ y: VectorMath.Wide) -> VectorMath.Wide { candidateActivation.derivative(fromOutput: y) }
}
