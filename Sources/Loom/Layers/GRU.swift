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
/// `goBackwards` and `stateful` behave as in `LSTM`.
public final class GRU: Layer {
    public var name: String
    public var typeName: String { "GRU" }
    public let units: Int
    /// Applied to the candidate (default tanh).
    public let activation: Activation
    /// Applied to the update and reset gates (default sigmoid).
    public let recurrentActivation: Activation
    public let useBias: Bool
    public let returnSequences: Bool
    public let goBackwards: Bool
    public let stateful: Bool
    public let kernelInitializer: Initializer
    public let recurrentInitializer: Initializer
    public let biasInitializer: Initializer
    public var isStateful: Bool { stateful }

    private var timesteps = 0
    private var features = 0
    private var kernel: UnsafeMutablePointer<Float>!
    private var kernelGradient: UnsafeMutablePointer<Float>!
    private var recurrentKernel: UnsafeMutablePointer<Float>!
    private var recurrentGradient: UnsafeMutablePointer<Float>!
    private var bias: UnsafeMutablePointer<Float>?
    private var biasGradient: UnsafeMutablePointer<Float>?
    private var stateStore = RecurrentStateStore(components: 1)
    private var batchRows: BatchRows?

    private let inputByTime = FloatBuffer()        // (T, B, F)
    private let gates = FloatBuffer()              // (T, B, 3U): xp, then z, r, ĥ in place
    private let recurrentProjections = FloatBuffer() // (T, B, 3U): hp = h_{t−1}·U + b₁
    private let hidden = FloatBuffer()             // (T+1, B, U); hidden[0] is the initial state
    private let output = FloatBuffer()             // (B, T, U) or (B, U)
    private let inputGateGradients = FloatBuffer()  // (T, B, 3U): dL/dxp
    private let recurrentGateGradients = FloatBuffer() // (T, B, 3U): dL/dhp
    private let hiddenGradient = FloatBuffer()     // (B, U)
    private let inputGradientByTime = FloatBuffer() // (T, B, F)
    private let inputGradient = FloatBuffer()      // (B, T, F)

    public init(
        _ units: Int, activation: Activation = .tanh, recurrentActivation: Activation = .sigmoid, useBias: Bool = true,
        returnSequences: Bool = false, goBackwards: Bool = false, stateful: Bool = false,
        kernelInitializer: Initializer = .glorotUniform, recurrentInitializer: Initializer = .orthogonal,
        biasInitializer: Initializer = .zeros, name: String = ""
    ) {
        self.units = units
        self.activation = activation
        self.recurrentActivation = recurrentActivation
        self.useBias = useBias
        self.returnSequences = returnSequences
        self.goBackwards = goBackwards
        self.stateful = stateful
        self.kernelInitializer = kernelInitializer
        self.recurrentInitializer = recurrentInitializer
        self.biasInitializer = biasInitializer
        self.name = name
    }

    public func build(inputShape: [Int]) throws -> [Int] {
        guard units > 0, activation != .softmax, recurrentActivation != .softmax else {
            throw LoomError.invalidArgument("GRU '\(name)': units must be positive and the activations elementwise")
        }
        guard inputShape.count == 2, inputShape[0] > 0, inputShape[1] > 0 else {
            throw LoomError.shapeMismatch(context: "GRU '\(name)'", expected: "(batch, timesteps, features)", found: [-1] + inputShape)
        }
        (timesteps, features) = (inputShape[0], inputShape[1])
        return returnSequences ? [timesteps, units] : [units]
    }

    public var parameterSpecs: [ParameterSpec] {
        var specs = [
            ParameterSpec(name: "kernel", shape: [features, 3 * units], initializer: kernelInitializer),
            ParameterSpec(name: "recurrent_kernel", shape: [units, 3 * units], initializer: recurrentInitializer),
        ]
        if useBias { specs.append(ParameterSpec(name: "bias", shape: [2, 3 * units], initializer: biasInitializer)) }
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
        let G = 3 * U
        let xT = inputByTime.reserve(T * B * F)
        let xp = gates.reserve(T * B * G), hp = recurrentProjections.reserve(T * B * G)
        let h = hidden.reserve((T + 1) * B * U)
        TimeMajor.transpose(x, into: xT, batch: B, steps: T, width: F, reversed: goBackwards)
        let rows = batchRows ?? BatchRows(offset: 0, batchSize: B)
        if stateful {
            _ = stateStore.load(into: [h], rows: rows, batch: B, units: U)
        } else {
            h.update(repeating: 0, count: B * U)
        }
        // xp (T·B, 3U) = xT · W + b₀ for every step at once.
        if let bias { for r in 0..<(T * B) { (xp + r * G).update(from: bias, count: G) } }
        BLAS.gemm(m: T * B, n: G, k: F, a: xT, lda: F, b: kernel, ldb: G, beta: bias == nil ? 0 : 1, c: xp, ldc: G)
        for t in 0..<T {
            let xpt = xp + t * B * G, hpt = hp + t * B * G
            let hPrev = h + t * B * U, hNew = h + (t + 1) * B * U
            // hp_t (B, 3U) = h_{t−1} · U + b₁: one fused 3-gate GEMM.
            if let bias { for r in 0..<B { (hpt + r * G).update(from: bias + G, count: G) } }
            BLAS.gemm(m: B, n: G, k: U, a: hPrev, lda: U, b: recurrentKernel, ldb: G, beta: bias == nil ? 0 : 1, c: hpt, ldc: G)
            for r in 0..<B {
                let g = xpt + r * G, p = hpt + r * G
                for j in 0..<(2 * U) { g[j] += p[j] }
                recurrentActivation.apply(g, count: 2 * U)                  // z, r
                for j in 0..<U { g[2 * U + j] += g[U + j] * p[2 * U + j] }   // xp_h + r ⊙ hp_h
                activation.apply(g + 2 * U, count: U)                        // ĥ
                let previous = hPrev + r * U, next = hNew + r * U
                for j in 0..<U { next[j] = g[j] * previous[j] + (1 - g[j]) * g[2 * U + j] }
            }
        }
        let y = output.reserve(B * (returnSequences ? T : 1) * U)
        TimeMajor.output(hidden: h, into: y, batch: B, steps: T, units: U, sequences: returnSequences)
        if stateful { stateStore.keep([h + T * B * U], rows: rows, batch: B, units: U) }
        return UnsafePointer(y)
    }

    // MARK: backward
    //
    //     dĥ = dh ⊙ (1 − z)      dz = dh ⊙ (h_{t−1} − ĥ)      dh_{t−1} = dh ⊙ z + dhp · Uᵀ
    //     da_h = dĥ ⊙ act'(ĥ)    dr = da_h ⊙ hp_h
    //     dxp = (dz ⊙ σ'(z), dr ⊙ σ'(r), da_h)    dhp = (dz ⊙ σ'(z), dr ⊙ σ'(r), da_h ⊙ r)

    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let G = 3 * U
        let dxp = inputGateGradients.reserve(T * B * G), dhp = recurrentGateGradients.reserve(T * B * G)
        let dh = hiddenGradient.reserve(B * U)
        let (g, hp, h) = (gates.pointer, recurrentProjections.pointer, hidden.pointer)
        dh.update(repeating: 0, count: B * U)
        for t in stride(from: T - 1, through: 0, by: -1) {
            TimeMajor.addOutputGradient(dy, step: t, into: dh, batch: B, steps: T, units: U, sequences: returnSequences)
            for r in 0..<B {
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
            if t > 0 {
                BLAS.gemm(transposeB: true, m: B, n: U, k: G, a: dhp + t * B * G, lda: G, b: recurrentKernel, ldb: G,
                          beta: 1, c: dh, ldc: U)
            }
        }
        BLAS.gemm(transposeA: true, m: F, n: G, k: T * B, a: inputByTime.pointer, lda: F, b: dxp, ldb: G,
                  beta: 1, c: kernelGradient, ldc: G)
        BLAS.gemm(transposeA: true, m: U, n: G, k: T * B, a: h, lda: U, b: dhp, ldb: G, beta: 1, c: recurrentGradient, ldc: G)
        if let biasGradient {
            for r in 0..<(T * B) {
                for j in 0..<G {
                    biasGradient[j] += dxp[r * G + j]
                    biasGradient[G + j] += dhp[r * G + j]
                }
            }
        }
        guard needsInputGradient else { return nil }
        let dxT = inputGradientByTime.reserve(T * B * F)
        BLAS.gemm(transposeB: true, m: T * B, n: F, k: G, a: dxp, lda: G, b: kernel, ldb: G, c: dxT, ldc: F)
        let dx = inputGradient.reserve(B * T * F)
        TimeMajor.untranspose(dxT, into: dx, batch: B, steps: T, width: F, reversed: goBackwards)
        return dx
    }

    public func makeReplica() -> any Layer {
        let copy = GRU(units, activation: activation, recurrentActivation: recurrentActivation, useBias: useBias,
                       returnSequences: returnSequences, goBackwards: goBackwards, stateful: stateful,
                       kernelInitializer: kernelInitializer, recurrentInitializer: recurrentInitializer,
                       biasInitializer: biasInitializer, name: name)
        (copy.timesteps, copy.features) = (timesteps, features)
        (copy.kernel, copy.kernelGradient) = (kernel, kernelGradient)
        (copy.recurrentKernel, copy.recurrentGradient) = (recurrentKernel, recurrentGradient)
        (copy.bias, copy.biasGradient) = (bias, biasGradient)
        copy.stateStore = stateStore
        return copy
    }
}
