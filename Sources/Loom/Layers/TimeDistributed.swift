/// Keras's `TimeDistributed(layer)`: applies `layer` to every timestep with shared weights.
///
/// Per-sample input `(timesteps, inner...)` → `(timesteps, innerOutput...)`. A batch of `B`
/// samples is, in row-major memory, a batch of `B·timesteps` inner samples, so the wrapper
/// folds time into the batch and calls the layer once, not once per timestep. The weights are
/// the inner layer's, in its order.
public final class TimeDistributed: ProbabilityOutputLayer, RandomizedLayer, MaskPassingLayer {
    /// Empty until the model names it ("time_distributed", ...), unless given to `init`.
    public var name: String
    /// "TimeDistributed", Keras's class name.
    public var typeName: String { "TimeDistributed" }
    /// The layer applied at every timestep.
    public let layer: any Layer
    private var timesteps = 0

    /// Wraps `layer`, which must not be stateful; `name` defaults to "time_distributed", ... in model order.
    public init(_ layer: any Layer, name: String = "") {
        self.layer = layer
        self.name = name
    }

    /// Takes `(timesteps, inner...)` and returns `(timesteps, innerOutput...)`, naming the inner layer if unnamed;
    /// throws for a rank below 2, a stateful inner layer, or one that needs checked input (`Embedding`).
    public func build(inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= 2 else {
            throw LoomError.shapeMismatch(
                context: "TimeDistributed '\(name)' over \(layer.typeName)", expected: "(batch, timesteps, ...)",
                found: [-1] + inputShape)
        }
        guard !layer.isStateful else {
            throw LoomError.invalidArgument("TimeDistributed '\(name)': the inner \(layer.typeName) cannot be stateful")
        }
        if layer.name.isEmpty { layer.name = Sequential.snakeCase(layer.typeName) }
        // The model checks only its own first layer's input, never a wrapped layer's.
        guard !layer.needsCheckedInput else { throw layer.uncheckedInputError() }
        timesteps = inputShape[0]
        do {
            return [timesteps] + (try layer.build(inputShape: Array(inputShape.dropFirst())))
        } catch let LoomError.shapeMismatch(_, expected, found) {
            throw LoomError.shapeMismatch(
                context: "TimeDistributed '\(name)' over \(layer.typeName) '\(layer.name)' at each timestep",
                expected: expected, found: found)
        }
    }

    /// The inner layer's parameters, in its order.
    public var parameterSpecs: [ParameterSpec] { layer.parameterSpecs }
    /// Binds the inner layer at this layer's offset.
    public func bind(_ binding: ParameterBinding) { layer.bind(binding) }
    func seed(_ seed: UInt64) { (layer as? any RandomizedLayer)?.seed(seed) }
    var randomState: [UInt64] {
        get { (layer as? any RandomizedLayer)?.randomState ?? [] }
        set {
            guard let inner = layer as? any RandomizedLayer else { return }
            inner.randomState = newValue
        }
    }

    /// The inner layer's forward pass over `batch · timesteps` samples.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        layer.forward(x, batch: batch * timesteps, training: training)
    }

    /// The inner layer's backward pass over `batch · timesteps` samples.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        layer.backward(dy, batch: batch * timesteps, needsInputGradient: needsInputGradient)
    }

    /// A wrapper around a replica of the inner layer.
    public func makeReplica() -> any Layer {
        let copy = TimeDistributed(layer.makeReplica(), name: name)
        copy.timesteps = timesteps
        return copy
    }

    // A sigmoid or softmax output under TimeDistributed fuses with cross-entropy like a bare one.
    /// The inner layer's output activation (`.linear` when it is not a `ProbabilityOutputLayer`).
    public var outputActivation: Activation { (layer as? any ProbabilityOutputLayer)?.outputActivation ?? .linear }
    /// The inner layer's flag (always false when it is not a `ProbabilityOutputLayer`).
    public var receivesLogitGradient: Bool {
        get { (layer as? any ProbabilityOutputLayer)?.receivesLogitGradient ?? false }
        set { (layer as? any ProbabilityOutputLayer)?.receivesLogitGradient = newValue }
    }
    /// The inner layer's logits, `(batch·timesteps, ...)`, while it receives the logit gradient.
    public var logits: UnsafePointer<Float>? { (layer as? any ProbabilityOutputLayer)?.logits }
}
