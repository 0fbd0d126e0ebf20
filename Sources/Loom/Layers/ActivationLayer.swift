/// Keras's `Activation` layer: `y = activation(x)`, elementwise, or softmax over the last
/// axis. Weightless; it passes a mask on.
///
/// As the model's last layer, a sigmoid or softmax fuses with a cross-entropy loss (as a Dense
/// output's does): the loss hands back dL/dx and the layer skips its own derivative.
public final class ActivationLayer: ProbabilityOutputLayer, MaskPassingLayer {
    /// Empty until the model names it ("activation", "activation_1", ...), unless given to `init`.
    public var name: String
    /// "Activation", Keras's class name.
    public var typeName: String { "Activation" }
    /// The function applied.
    public let activation: Activation

    /// `activation`: a sigmoid or softmax output fuses with a cross-entropy loss.
    public var outputActivation: Activation { activation }
    /// Set by the model on its last layer when the loss fuses with `activation` (default false).
    public var receivesLogitGradient = false
    /// The inputs of the last forward pass, while `receivesLogitGradient`.
    public var logits: UnsafePointer<Float>? { receivesLogitGradient ? input : nil }

    /// Values a row: the last axis of the input.
    private var width = 0
    /// Values a sample.
    private var count = 0
    private var input: UnsafePointer<Float>?
    private let output = FloatBuffer()

    /// `activation` applied to the input; `name` defaults to "activation", "activation_1", ... in model order.
    public init(_ activation: Activation, name: String = "") {
        self.activation = activation
        self.name = name
    }

    /// Returns the input shape unchanged; throws for an empty shape.
    public func build(inputShape: [Int]) throws -> [Int] {
        guard let last = inputShape.last, last > 0 else {
            throw LoomError.invalidArgument("Activation '\(name)': the input needs a last axis, got \(inputShape)")
        }
        width = last
        count = Shape.count(inputShape)
        return inputShape
    }

    /// `activation(x)` over the batch's rows of `width` values; keeps `x` for `logits`.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) -> UnsafePointer<Float> {
        input = x
        let y = output.reserveDiscarding(batch * count)
        y.update(from: x, count: batch * count)
        activation.apply(y, rows: batch * count / width, width: width)
        return UnsafePointer(y)
    }

    /// dL/dx in place over `dy` (as it is while `receivesLogitGradient`); nil when not needed.
    public func backward(_ dy: UnsafeMutablePointer<Float>, batch: Int, needsInputGradient: Bool) -> UnsafeMutablePointer<Float>? {
        guard needsInputGradient else { return nil }
        if !receivesLogitGradient {
            activation.backward(output: output.pointer, gradient: dy, rows: batch * count / width, width: width)
        }
        return dy
    }

    /// A copy with its own output buffer.
    public func makeReplica() -> any Layer {
        let copy = ActivationLayer(activation, name: name)
        copy.width = width
        copy.count = count
        copy.receivesLogitGradient = receivesLogitGradient
        return copy
    }
}
