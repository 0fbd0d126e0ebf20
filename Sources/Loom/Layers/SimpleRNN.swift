/// Keras's `SimpleRNN`: `h_t = activation(x_t · kernel + h_{t−1} · recurrent_kernel + bias)`.
///
/// Per-sample input `(timesteps, features)`; output `(units)`, or `(timesteps, units)` with
/// `returnSequences`. Parameters, in Keras's order: kernel `(features, units)`,
/// recurrent_kernel `(units, units)`, bias `(units)`. `goBackwards` and `stateful` behave as
/// in `LSTM` (time-major computation, state per batch size, shared with replicas).
public final class SimpleRNN: Layer {
    public var name: String
    public var typeName: String { "SimpleRNN" }
    public let units: Int
    public let activation: Activation
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

    private let inputByTime = FloatBuffer()          // (T, B, F)
    private let hidden = FloatBuffer()               // (T+1, B, U); hidden[0] is the initial state
    private let output = FloatBuffer()               // (B, T, U) or (B, U)
    private let preactivationGradients = FloatBuffer() // (T, B, U)
    private let hiddenGradient = FloatBuffer()       // (B, U)
    private let inputGradientByTime = FloatBuffer()  // (T, B, F)
    private let inputGradient = FloatBuffer()        // (B, T, F)

    public init(
        _ units: Int, activation: Activation = .tanh, useBias: Bool = true, returnSequences: Bool = false,
        goBackwards: Bool = false, stateful: Bool = false, kernelInitializer: Initializer = .glorotUniform,
        recurrentInitializer: Initializer = .orthogonal, biasInitializer: Initializer = .zeros, name: String = ""
    ) {
        self.units = units
        self.activation = activation
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
        guard units > 0, activation != .softmax else {
            throw LoomError.invalidArgument("SimpleRNN '\(name)': units must be positive and the activation elementwise")
        }
        guard inputShape.count == 2, inputShape[0] > 0, inputShape[1] > 0 else {
            throw LoomError.shapeMismatch(context: "SimpleRNN '\(name)'", expected: "(batch, timesteps, features)", found: [-1] + inputShape)
        }
        (timesteps, features) = (inputShape[0], inputShape[1])
        return returnSequences ? [timesteps, units] : [units]
    }

    public var parameterSpecs: [ParameterSpec] {
        var specs = [
            ParameterSpec(name: "kernel", shape: [features, units], initializer: kernelInitializer),
            ParameterSpec(name: "recurrent_kernel", shape: [units, units], initializer: recurrentInitializer),
        ]
        if useBias { specs.append(ParameterSpec(name: "bias", shape: [units], initializer: biasInitializer)) }
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

    // MARK: forward: h_t = act(x_t·W + h_{t−1}·U + b), all input projections in one GEMM

    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let xT = inputByTime.reserve(T * B * F)
        let h = hidden.reserve((T + 1) * B * U)
        TimeMajor.transpose(x, into: xT, batch: B, steps: T, width: F, reversed: goBackwards)
        let rows = batchRows ?? BatchRows(offset: 0, batchSize: B)
        if stateful {
            _ = stateStore.load(into: [h], rows: rows, batch: B, units: U)
        } else {
            h.update(repeating: 0, count: B * U)
        }
        // hidden[1...T] (T·B, U) = xT · W (+ b), then each step adds h_{t−1}·U and activates.
        let z = h + B * U
        if let bias { for r in 0..<(T * B) { (z + r * U).update(from: bias, count: U) } }
        BLAS.gemm(m: T * B, n: U, k: F, a: xT, lda: F, b: kernel, ldb: U, beta: bias == nil ? 0 : 1, c: z, ldc: U)
        for t in 0..<T {
            let zt = z + t * B * U
            BLAS.gemm(m: B, n: U, k: U, a: h + t * B * U, lda: U, b: recurrentKernel, ldb: U, beta: 1, c: zt, ldc: U)
            activation.apply(zt, count: B * U)
        }
        let y = output.reserve(B * (returnSequences ? T : 1) * U)
        TimeMajor.output(hidden: h, into: y, batch: B, steps: T, units: U, sequences: returnSequences)
        if stateful { stateStore.keep([h + T * B * U], rows: rows, batch: B, units: U) }
        return UnsafePointer(y)
    }

    // MARK: backward: da_t = (dL/dh_t) ⊙ act'(h_t); dh_{t−1} = da_t · Uᵀ; dW, dU, db over all steps

    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let (T, B, F, U) = (timesteps, batch, features, units)
        let da = preactivationGradients.reserve(T * B * U)
        let dh = hiddenGradient.reserve(B * U)
        let h = hidden.pointer
        dh.update(repeating: 0, count: B * U)
        for t in stride(from: T - 1, through: 0, by: -1) {
            TimeMajor.addOutputGradient(dy, step: t, into: dh, batch: B, steps: T, units: U, sequences: returnSequences)
            let dat = da + t * B * U
            dat.update(from: dh, count: B * U)
            activation.backward(output: h + (t + 1) * B * U, gradient: dat, rows: B, width: U)
            if t > 0 {
                BLAS.gemm(transposeB: true, m: B, n: U, k: U, a: dat, lda: U, b: recurrentKernel, ldb: U, c: dh, ldc: U)
            }
        }
        BLAS.gemm(transposeA: true, m: F, n: U, k: T * B, a: inputByTime.pointer, lda: F, b: da, ldb: U,
                  beta: 1, c: kernelGradient, ldc: U)
        BLAS.gemm(transposeA: true, m: U, n: U, k: T * B, a: h, lda: U, b: da, ldb: U, beta: 1, c: recurrentGradient, ldc: U)
        if let biasGradient { for r in 0..<(T * B) { for j in 0..<U { biasGradient[j] += da[r * U + j] } } }
        guard needsInputGradient else { return nil }
        let dxT = inputGradientByTime.reserve(T * B * F)
        BLAS.gemm(transposeB: true, m: T * B, n: F, k: U, a: da, lda: U, b: kernel, ldb: U, c: dxT, ldc: F)
        let dx = inputGradient.reserve(B * T * F)
        TimeMajor.untranspose(dxT, into: dx, batch: B, steps: T, width: F, reversed: goBackwards)
        return dx
    }

    public func makeReplica() -> any Layer {
        let copy = SimpleRNN(units, activation: activation, useBias: useBias, returnSequences: returnSequences,
                             goBackwards: goBackwards, stateful: stateful, kernelInitializer: kernelInitializer,
                             recurrentInitializer: recurrentInitializer, biasInitializer: biasInitializer, name: name)
        (copy.timesteps, copy.features) = (timesteps, features)
        (copy.kernel, copy.kernelGradient) = (kernel, kernelGradient)
        (copy.recurrentKernel, copy.recurrentGradient) = (recurrentKernel, recurrentGradient)
        (copy.bias, copy.biasGradient) = (bias, biasGradient)
        copy.stateStore = stateStore
        return copy
    }
}
