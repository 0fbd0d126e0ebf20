import Foundation

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
public final class LSTM: Layer {
    public var name: String
    public var typeName: String { "LSTM" }
    public let units: Int
    /// Applied to the candidate gate and to the cell state (default tanh).
    public let activation: Activation
    /// Applied to the input, forget and output gates (default sigmoid).
    public let recurrentActivation: Activation
    public let useBias: Bool
    /// Initialises the forget gate's bias to 1 (default true, as in Keras).
    public let unitForgetBias: Bool
    /// Return the whole output sequence `(timesteps, units)` instead of the last output.
    public let returnSequences: Bool
    /// Keep the final `h` and `c` of each forward pass in `lastState` (Keras returns them as
    /// extra outputs; in a `Sequential` model the output stays the sequence or last output).
    public let returnState: Bool
    /// Read the sequence from last to first; the returned sequence is in processing order
    /// (reversed), as in Keras.
    public let goBackwards: Bool
    /// Carry each row's final state into the same row of the next batch.
    public let stateful: Bool
    public let kernelInitializer: Initializer
    public let recurrentInitializer: Initializer
    public let biasInitializer: Initializer

    /// The final hidden and cell states `(batch, units)` of the last forward pass of this
    /// layer object, kept when `returnState` is true (data-parallel passes run on replicas
    /// and do not update it: read it after a one-worker `predict`).
    public private(set) var lastState: (h: Tensor, c: Tensor)?

    public var isStateful: Bool { stateful }

    private var timesteps = 0
    private var features = 0
    private var kernel: UnsafeMutablePointer<Float>!
    private var kernelGradient: UnsafeMutablePointer<Float>!
    private var recurrentKernel: UnsafeMutablePointer<Float>!
    private var recurrentGradient: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>?
    private var biasGradient: UnsafeMutablePointer<Float>?

    // Workspaces of the last forward pass, time-major (t outermost).
    private let inputByTime = FloatBuffer()     // (T, B, F)
    private let gates = FloatBuffer()           // (T, B, 4U), activated gate values i, f, g, o
    private let cells = FloatBuffer()           // (T+1, B, U), cells[0] is the initial state
    private let hidden = FloatBuffer()          // (T+1, B, U), hidden[0] is the initial state
    private let cellActivations = FloatBuffer() // (T, B, U), act(c_t)
    private let output = FloatBuffer()          // (B, T, U) or (B, U)
    // Workspaces of backward.
    private let gateGradients = FloatBuffer()   // (T, B, 4U), dL/dz
    private let hiddenGradient = FloatBuffer()  // (B, U)
    private let cellGradient = FloatBuffer()    // (B, U)
    private let inputGradientByTime = FloatBuffer() // (T, B, F)
    private let inputGradient = FloatBuffer()   // (B, T, F)
    /// Stateful carry (h and c), shared with this layer's replicas.
    private var stateStore = RecurrentStateStore(components: 2)
    /// The rows of the whole batch this layer's batches are (set on data-parallel replicas).
    private var batchRows: BatchRows?

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
        kernelInitializer: Initializer = .glorotUniform,
        recurrentInitializer: Initializer = .orthogonal,
        biasInitializer: Initializer = .zeros,
        name: String = ""
    ) {
        self.units = units
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.useBias = useBias
        self.unitForgetBias = unitForgetBias
        self.returnSequences = returnSequences
        self.returnState = returnState
        self.goBackwards = goBackwards
        self.stateful = stateful
        self.kernelInitializer = kernelInitializer
        self.recurrentInitializer = recurrentInitializer
        self.biasInitializer = biasInitializer
        self.name = name
    }

    public func build(inputShape: [Int]) throws -> [Int] {
        guard units > 0 else { throw LoomError.invalidArgument("LSTM '\(name)': units must be positive, got \(units)") }
        guard activation != .softmax, recurrentActivation != .softmax else {
            throw LoomError.invalidArgument("LSTM '\(name)': softmax is not an elementwise activation")
        }
        guard inputShape.count == 2, inputShape[0] > 0, inputShape[1] > 0 else {
            throw LoomError.shapeMismatch(
                context: "LSTM '\(name)'", expected: "(batch, timesteps, features)", found: [-1] + inputShape)
        }
        timesteps = inputShape[0]
        features = inputShape[1]
        return returnSequences ? [timesteps, units] : [units]
    }

    public var parameterSpecs: [ParameterSpec] {
        var specs = [
            ParameterSpec(name: "kernel", shape: [features, 4 * units], initializer: kernelInitializer),
            ParameterSpec(name: "recurrent_kernel", shape: [units, 4 * units], initializer: recurrentInitializer),
        ]
        if useBias {
            let initializer = unitForgetBias && biasInitializer == .zeros
                ? Initializer.unitForgetBias(units: units) : biasInitializer
            specs.append(ParameterSpec(name: "bias", shape: [4 * units], initializer: initializer))
        }
        return specs
    }

    public func bind(_ binding: ParameterBinding) {
        let specs = parameterSpecs
        (kernel, kernelGradient) = binding.slot(0, of: specs)
        (recurrentKernel, recurrentGradient) = binding.slot(1, of: specs)
        if useBias { (bias, biasGradient) = binding.slot(2, of: specs) }
    }

    public func resetStates() { stateStore.reset() }

    public func assign(rows: BatchRows?) { batchRows = rows }

    // MARK: forward

    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let G = 4 * U
        let xT = inputByTime.reserve(T * B * F)
        let z = gates.reserve(T * B * G)
        let c = cells.reserve((T + 1) * B * U)
        let h = hidden.reserve((T + 1) * B * U)
        let act = cellActivations.reserve(T * B * U)

        TimeMajor.transpose(x, into: xT, batch: B, steps: T, width: F, reversed: goBackwards)
        // All input projections at once: z (T·B, 4U) = xT (T·B, F) · kernel (F, 4U).
        BLAS.gemm(m: T * B, n: G, k: F, a: xT, lda: F, b: kernel, ldb: G, c: z, ldc: G)

        let rows = batchRows ?? BatchRows(offset: 0, batchSize: B)
        var startsFromZero = true
        if stateful {
            startsFromZero = !stateStore.load(into: [h, c], rows: rows, batch: B, units: U)
        } else {
            h.update(repeating: 0, count: B * U)
            c.update(repeating: 0, count: B * U)
        }

        for t in 0..<T {
            let zt = z + t * B * G
            if t > 0 || !startsFromZero {
                // z_t (B, 4U) += h_{t-1} (B, U) · recurrent_kernel (U, 4U): one fused 4-gate GEMM.
                BLAS.gemm(m: B, n: G, k: U, a: h + t * B * U, lda: U, b: recurrentKernel, ldb: G,
                          beta: 1, c: zt, ldc: G)
            }
            cellForward(gates: zt, previousCell: c + t * B * U, cell: c + (t + 1) * B * U,
                        hidden: h + (t + 1) * B * U, cellActivation: act + t * B * U, rows: B)
        }

        let y = output.reserve(B * (returnSequences ? T : 1) * U)
        TimeMajor.output(hidden: h, into: y, batch: B, steps: T, units: U, sequences: returnSequences)
        if stateful { stateStore.keep([h + T * B * U, c + T * B * U], rows: rows, batch: B, units: U) }
        if returnState { recordLastState(hidden: h + T * B * U, cell: c + T * B * U, batch: B) }
        return UnsafePointer(y)
    }

    /// One timestep for `rows` rows: activates the gates of `gates (rows, 4U)` in place
    /// (adding the bias first) and writes c_t, act(c_t) and h_t, each `(rows, U)`.
    private func cellForward(
        gates z: UnsafeMutablePointer<Float>, previousCell: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        cellActivation: UnsafeMutablePointer<Float>, rows: Int
    ) {
        let U = units
        for r in 0..<rows {
            let row = z + r * 4 * U
            if let bias { for j in 0..<(4 * U) { row[j] += bias[j] } }
            recurrentActivation.apply(row, count: 2 * U)          // i, f
            activation.apply(row + 2 * U, count: U)               // g
            recurrentActivation.apply(row + 3 * U, count: U)      // o
            let cPrev = previousCell + r * U, cNew = cell + r * U, a = cellActivation + r * U
            for j in 0..<U {
                cNew[j] = row[U + j] * cPrev[j] + row[j] * row[2 * U + j]
                a[j] = cNew[j]
            }
            activation.apply(a, count: U)
            let hNew = hidden + r * U
            for j in 0..<U { hNew[j] = row[3 * U + j] * a[j] }
        }
    }

    // MARK: backward (full backpropagation through time over the batch's timesteps)

    public func backward(
        _ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool
    ) -> UnsafeMutablePointer<Float>? {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let G = 4 * U
        let dz = gateGradients.reserve(T * B * G)
        let dh = hiddenGradient.reserve(B * U)
        let dc = cellGradient.reserve(B * U)
        dh.update(repeating: 0, count: B * U)
        dc.update(repeating: 0, count: B * U)

        for t in stride(from: T - 1, through: 0, by: -1) {
            TimeMajor.addOutputGradient(dy, step: t, into: dh, batch: B, steps: T, units: U, sequences: returnSequences)
            cellBackward(step: t, rows: B, hiddenGradient: dh, cellGradient: dc,
                         gateGradients: dz + t * B * G)
            if t > 0 {
                // dh_{t-1} (B, U) = dz_t (B, 4U) · recurrent_kernelᵀ (4U, U).
                BLAS.gemm(transposeB: true, m: B, n: U, k: G, a: dz + t * B * G, lda: G,
                          b: recurrentKernel, ldb: G, c: dh, ldc: U)
            }
        }

        // Weight gradients over all T·B rows at once.
        let xT = inputByTime.pointer, h = hidden.pointer
        BLAS.gemm(transposeA: true, m: F, n: G, k: T * B, a: xT, lda: F, b: dz, ldb: G,
                  beta: 1, c: kernelGradient, ldc: G)
        BLAS.gemm(transposeA: true, m: U, n: G, k: T * B, a: h, lda: U, b: dz, ldb: G,
                  beta: 1, c: recurrentGradient, ldc: G)
        if let biasGradient {
            for r in 0..<(T * B) {
                let row = dz + r * G
                for j in 0..<G { biasGradient[j] += row[j] }
            }
        }
        guard needsInputGradient else { return nil }
        // dxT (T·B, F) = dz (T·B, 4U) · kernelᵀ (4U, F), then back to (B, T, F).
        let dxT = inputGradientByTime.reserve(T * B * F)
        BLAS.gemm(transposeB: true, m: T * B, n: F, k: G, a: dz, lda: G, b: kernel, ldb: G,
                  c: dxT, ldc: F)
        let dx = inputGradient.reserve(B * T * F)
        TimeMajor.untranspose(dxT, into: dx, batch: B, steps: T, width: F, reversed: goBackwards)
        return dx
    }

    /// The cell's backward at step `t`. In: dL/dh_t and dL/dc_t (from step t+1), each (B, U).
    /// Out: dL/dz_t into `gateGradients (B, 4U)`, and dL/dc_{t-1} in place of `cellGradient`.
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
        typealias V = VectorMath.Vector
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

    // MARK: state

    private func recordLastState(hidden: UnsafePointer<Float>, cell: UnsafePointer<Float>, batch: Int) {
        lastState = (Tensor(shape: [batch, units], copying: hidden), Tensor(shape: [batch, units], copying: cell))
    }

    /// The carried state `(h, c)` for `batch`-row batches, or nil if none was kept yet.
    public func state(forBatchSize batch: Int) -> (h: Tensor, c: Tensor)? {
        guard let state = stateStore.existing(batchSize: batch) else { return nil }
        return (Tensor(shape: [batch, units], copying: state[0].pointer), Tensor(shape: [batch, units], copying: state[1].pointer))
    }

    public func makeReplica() -> any Layer { makeReplicaLSTM() }

    /// `makeReplica()` with its concrete type (for wrappers that hold LSTMs).
    func makeReplicaLSTM() -> LSTM {
        let copy = LSTM(
            units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
            unitForgetBias: unitForgetBias, returnSequences: returnSequences, returnState: returnState,
            goBackwards: goBackwards, stateful: stateful, kernelInitializer: kernelInitializer,
            recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer, name: name)
        copy.timesteps = timesteps
        copy.features = features
        copy.kernel = kernel
        copy.kernelGradient = kernelGradient
        copy.recurrentKernel = recurrentKernel
        copy.recurrentGradient = recurrentGradient
        copy.bias = bias
        copy.biasGradient = biasGradient
        copy.stateStore = stateStore
        return copy
    }
}

/// The carried state of a stateful recurrent layer (`components` tensors, each
/// `(batchSize, units)`: h, and c for an LSTM), per batch size, shared by the layer and its
/// data-parallel replicas: each replica reads and writes only its own rows, so the state of
/// row i is the same whatever the worker count. Entries are created under a lock; rows are
/// disjoint, so reads and writes need none.
final class RecurrentStateStore: @unchecked Sendable {
    let components: Int
    private var states: [Int: [FloatBuffer]] = [:]
    private let lock = NSLock()

    init(components: Int) { self.components = components }

    /// The state for `batchSize`-row batches, if one was kept.
    func existing(batchSize: Int) -> [FloatBuffer]? {
        lock.withLock { states[batchSize] }
    }

    /// Copies the kept state of `rows` into `targets` (one `(batch, units)` buffer per
    /// component), or zeros when none was kept; returns whether there was one.
    func load(into targets: [UnsafeMutablePointer<Float>], rows: BatchRows, batch: Int, units: Int) -> Bool {
        guard let state = existing(batchSize: rows.batchSize) else {
            for target in targets { target.update(repeating: 0, count: batch * units) }
            return false
        }
        for (target, buffer) in zip(targets, state) {
            target.update(from: buffer.pointer + rows.offset * units, count: batch * units)
        }
        return true
    }

    /// Keeps the final state `sources` (one `(batch, units)` buffer per component) as the state of `rows`.
    func keep(_ sources: [UnsafePointer<Float>], rows: BatchRows, batch: Int, units: Int) {
        let state = lock.withLock {
            if let state = states[rows.batchSize] { return state }
            let state = (0..<components).map { _ in FloatBuffer(count: rows.batchSize * units) }
            states[rows.batchSize] = state
            return state
        }
        for (source, buffer) in zip(sources, state) {
            (buffer.pointer + rows.offset * units).update(from: source, count: batch * units)
        }
    }

    func reset() {
        lock.withLock {
            for state in states.values { for buffer in state { buffer.zero() } }
        }
    }
}
