/// Keras's `Embedding(inputDim, outputDim)`: each input value is an index into a table of
/// `inputDim` learned vectors of `outputDim` values.
///
/// Per-sample input `(d...)` of whole numbers in `0..<inputDim` held as Float (for a
/// sequence of tokens, `(timesteps)`); output `(d..., outputDim)`. One parameter,
/// `embeddings (inputDim, outputDim)`, row i the vector of index i, initialised uniform in
/// ±0.05 as Keras does. The input is not differentiable: gradients stop here, and a model
/// checks its indices before every batch (`checkInput`) so a bad one is a thrown error.
///
/// With `maskZero`, index 0 is padding: the output carries the mask `(batch, timesteps)`,
/// 0 where the index is 0 (Keras's `mask_zero`; the input must be `(timesteps)`).
public final class Embedding: MaskAwareLayer {
    /// Empty until the model names it ("embedding", "embedding_1", ...), unless given to `init`.
    public var name: String
    /// "Embedding", Keras's class name.
    public var typeName: String { "Embedding" }
    /// The number of indices (vocabulary size).
    public let inputDim: Int
    /// The length of each vector.
    public let outputDim: Int
    /// The table's first values (default uniform in ±0.05, Keras's "uniform").
    public let embeddingsInitializer: Initializer
    /// Whether index 0 marks padding, masked in the layers after (Keras's `mask_zero`).
    public let maskZero: Bool
    private var width = 0  // indices per sample
    private var table: UnsafePointer<Float>?
    private var tableGradient: UnsafeMutablePointer<Float>?
    private var indices: UnsafePointer<Float>?
    private let output = FloatBuffer()
    private let inputGradient = FloatBuffer()
    private let mask = FloatBuffer()  // (B, T) with maskZero

    /// - Parameters:
    ///   - inputDim: the number of indices, `input_dim` in Keras.
    ///   - outputDim: the length of each vector, `output_dim`.
    ///   - embeddingsInitializer: default uniform in ±0.05.
    ///   - maskZero: index 0 is padding, masked downstream (default false).
    ///   - name: defaults to "embedding", "embedding_1", ... in model order.
    public init(
        inputDim: Int, outputDim: Int, embeddingsInitializer: Initializer = .randomUniform(minimum: -0.05, maximum: 0.05),
        maskZero: Bool = false, name: String = ""
    ) {
        self.inputDim = inputDim
        self.outputDim = outputDim
        self.embeddingsInitializer = embeddingsInitializer
        self.maskZero = maskZero
        self.name = name
    }

    /// Returns `inputShape + [outputDim]`; throws when `inputDim` or `outputDim` is not positive.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard inputDim > 0, outputDim > 0 else {
            throw LoomError.invalidArgument(
                "Embedding '\(name)': inputDim and outputDim must be positive, got \(inputDim) and \(outputDim)")
        }
        if maskZero, inputShape.count != 1 {
            throw LoomError.shapeMismatch(
                context: "Embedding '\(name)' with maskZero (a mask a timestep)", expected: "(batch, timesteps)",
                found: [-1] + inputShape)
        }
        width = Shape.count(inputShape)
        return inputShape + [outputDim]
    }

    /// One parameter, `embeddings (inputDim, outputDim)`.
    public var parameterSpecs: [ParameterSpec] {
        [ParameterSpec(name: "embeddings", shape: [inputDim, outputDim], initializer: embeddingsInitializer)]
    }

    /// Points the table and its gradient at their slot of the model's buffers.
    public func bind(_ binding: ParameterBinding) {
        (table, tableGradient) = binding.slot(0, of: parameterSpecs)
    }

    /// True: the indices must be checked, so the layer can only be a model's first layer, unwrapped.
    public var needsCheckedInput: Bool { true }

    /// Throws unless every value is a whole number in `0..<inputDim`, naming the sample and the position.
    public func checkInput(_ input: UnsafePointer<Float>, rows: ArraySlice<Int>) throws {
        if let bad = Indices.firstInvalid(input, rows: rows, width: width, limit: inputDim) {
            throw LoomError.invalidArgument(
                "Embedding '\(name)': x holds \(bad.value) at sample \(bad.row), position \(bad.position); "
                    + "expected a whole number in 0..<\(inputDim) (the inputDim)")
        }
    }

    // forward: y[s, i] = embeddings[x[s, i]]   backward: dEmbeddings[x[s, i]] += dy[s, i]

    /// Whether the output carries a mask: with `maskZero` (an incoming mask ends here).
    public func masksOutput(inputMasked: Bool) -> Bool { maskZero }

    /// Row `x[i]` of the table for every index: `(batch, d..., outputDim)`.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        forward(x, mask: nil, batch: batch, training: training).output
    }

    /// `forward`; with `maskZero` the output's mask is 0 where the index is 0, else the
    /// layer makes none (an incoming mask ends here, as in Keras).
    public func forward(
        _ x: UnsafePointer<Float>, mask _: UnsafePointer<Float>?, batch: Int, training: Bool
    ) -> (output: UnsafePointer<Float>, mask: UnsafePointer<Float>?) {
        let table = table!, count = batch * width
        let y = output.reserveDiscarding(count * outputDim)
        for i in 0..<count {
            (y + i * outputDim).update(from: table + Int(x[i]) * outputDim, count: outputDim)
        }
        indices = x
        guard maskZero else { return (UnsafePointer(y), nil) }
        let m = mask.reserveDiscarding(count)
        for i in 0..<count { m[i] = x[i] == 0 ? 0 : 1 }
        return (UnsafePointer(y), UnsafePointer(m))
    }

    /// Adds each `dy` row into the table row its index picked; dx is zeros (indices have no gradient), or nil.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        let gradient = tableGradient!, x = indices!
        for i in 0..<(batch * width) {
            let row = gradient + Int(x[i]) * outputDim, dyRow = dy + i * outputDim
            for j in 0..<outputDim { row[j] += dyRow[j] }
        }
        guard needsInputGradient else { return nil }
        let dx = inputGradient.reserveDiscarding(batch * width)
        dx.update(repeating: 0, count: batch * width)
        return dx
    }

    /// A copy with the same configuration and binding, and its own buffers.
    public func makeReplica() -> any Layer {
        let copy = Embedding(
            inputDim: inputDim, outputDim: outputDim, embeddingsInitializer: embeddingsInitializer, maskZero: maskZero,
            name: name)
        copy.width = width
        return copy
    }
}
