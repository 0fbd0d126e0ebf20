/// A fully connected layer, Keras's `Dense`: `y = activation(x · kernel + bias)`.
///
/// It acts on the last axis: a per-sample input `(..., inputDim)` gives `(..., units)`, so on
/// a sequence `(timesteps, features)` it is applied to every timestep with shared weights.
/// Parameters, in Keras's order: kernel `(inputDim, units)`, bias `(units)`.
public final class Dense: ProbabilityOutputLayer, MaskPassingLayer {
    /// Empty until the model names it ("dense", "dense_1", ...), unless given to `init`.
    public var name: String
    /// "Dense", Keras's class name.
    public var typeName: String { "Dense" }
    /// The size of the last output axis.
    public let units: Int
    /// Applied to the output (default `.linear`, as in Keras).
    public let activation: Activation
    /// Whether to add a bias vector (default true).
    public let useBias: Bool
    /// Fills the kernel `(inputDim, units)` (default `.glorotUniform`, as in Keras).
    public let kernelInitializer: Initializer
    /// Fills the bias `(units)` (default `.zeros`).
    public let biasInitializer: Initializer

    /// `activation`: a sigmoid or softmax Dense output fuses with a cross-entropy loss.
    public var outputActivation: Activation { activation }
    /// Set by the model on its last layer when the loss fuses with `activation` (default false).
    public var receivesLogitGradient = false
    /// The pre-activation outputs `(rows, units)` of the last forward pass, while `receivesLogitGradient`.
    public var logits: UnsafePointer<Float>? { receivesLogitGradient ? UnsafePointer(logitValues.pointer) : nil }

    private var inputDim = 0
    private var rowsPerSample = 1
    private var parameters = KernelAndBias()
    private var input: UnsafePointer<Float>?
    private let output = FloatBuffer()
    private let logitValues = FloatBuffer()
    private let inputGradient = FloatBuffer()

    /// - Parameters:
    ///   - units: output size of the last axis.
    ///   - activation: applied elementwise (softmax over the last axis).
    ///   - useBias: add a learned bias.
    ///   - kernelInitializer: default glorot uniform.
    ///   - biasInitializer: default zeros.
    ///   - name: defaults to "dense", "dense_1", ... in model order.
    public init(
        _ units: Int, activation: Activation = .linear, useBias: Bool = true,
        kernelInitializer: Initializer = .glorotUniform, biasInitializer: Initializer = .zeros,
        name: String = ""
    ) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.kernelInitializer = kernelInitializer
        self.biasInitializer = biasInitializer
        self.name = name
    }

    /// Takes `(..., inputDim)` and returns `(..., units)`; throws when `units` or the last input axis is not
    /// positive (or the shape is empty).
    public func build(inputShape: [Int]) throws -> [Int] {
        guard units > 0 else { throw LoomError.invalidArgument("Dense '\(name)': units must be positive, got \(units)") }
        guard let last = inputShape.last, last > 0 else {
            throw LoomError.shapeMismatch(context: "Dense '\(name)'", expected: "(batch, ..., features)", found: [-1] + inputShape)
        }
        inputDim = last
        rowsPerSample = Shape.count(Array(inputShape.dropLast()))
        return Array(inputShape.dropLast()) + [units]
    }

    /// kernel `(inputDim, units)`, then bias `(units)` when `useBias`.
    public var parameterSpecs: [ParameterSpec] {
        KernelAndBias.specs(
            kernelShape: [inputDim, units], useBias: useBias,
            kernelInitializer: kernelInitializer, biasInitializer: biasInitializer)
    }

    /// Points the kernel and bias at their slots of the model's buffers.
    public func bind(_ binding: ParameterBinding) { parameters.bind(binding, specs: parameterSpecs) }

    // MARK: forward: x (rows, inputDim) · kernel (inputDim, units) + bias -> y (rows, units)

    /// `activation(x · kernel + bias)` over the batch's `batch · rowsPerSample` rows of `inputDim` values; keeps
    /// `x` (and the logits, while `receivesLogitGradient`) for `backward`.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        let rows = batch * rowsPerSample
        let y = output.reserveDiscarding(rows * units)
        parameters.forward(x, rows: rows, depth: inputDim, width: units, into: y)
        if receivesLogitGradient { logitValues.reserveDiscarding(rows * units).update(from: y, count: rows * units) }
        activation.apply(y, rows: rows, width: units)
        input = x
        return UnsafePointer(y)
    }

    // MARK: backward: dz = dy ⊙ f'(y); dkernel += xᵀ·dz; dbias += Σ_rows dz; dx = dz · kernelᵀ

    /// Adds the kernel and bias gradients and returns dx `(rows, inputDim)`, or nil when not needed; overwrites
    /// `dy` with dL/dz (skipping the activation's derivative while `receivesLogitGradient`).
    public func backward(
        _ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool
    ) -> UnsafeMutablePointer<Float>? {
        let rows = batch * rowsPerSample
        guard let x = input else { preconditionFailure("Dense.backward before forward") }
        if !receivesLogitGradient {
            activation.backward(output: output.pointer, gradient: dy, rows: rows, width: units)
        }
        let dx = needsInputGradient ? inputGradient.reserveDiscarding(rows * inputDim) : nil
        parameters.backward(dy, input: x, rows: rows, depth: inputDim, width: units, inputGradient: dx)
        return dx
    }

    /// A copy with the same configuration and binding, and its own workspaces.
    public func makeReplica() -> any Layer {
        let copy = Dense(
            units, activation: activation, useBias: useBias,
            kernelInitializer: kernelInitializer, biasInitializer: biasInitializer, name: name)
        copy.inputDim = inputDim
        copy.rowsPerSample = rowsPerSample
        copy.parameters = parameters
        copy.receivesLogitGradient = receivesLogitGradient
        return copy
    }
}
